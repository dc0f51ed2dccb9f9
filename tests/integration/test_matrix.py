"""One feature x variant x loss matrix: each row is a tiny run through `ganexp.train.main` with some features switched
on, and each feature brings its own checks of what the run wrote back.

The rows cover every combination the per-feature tests ran before (R1 + G EMA, DiffAugment and packing each with every
variant and the losses they named; trainer=cpu_fast with every variant and loss; the ResNet pair with every variant):
the debug=smoke features share a run per variant or loss, so one run checks each of them."""

import json
import math

import pytest
import torch
from conftest import RESNET, SMOKE, image_models, make_config

from ganexp.train import main as train

# debug=smoke's values (it is a trainer option itself, so it cannot be picked beside cpu_fast)
SMALL = ["trainer.progress=false", "trainer.max_iters=8", "trainer.ckpt_every=4", "model.z_dim=16",
         "model.generator.width=8", "model.discriminator.width=8", "data.source.n=288", "data.batch_size=16",
         "data.holdout=32", "eval.enabled=false", "log.images_every=4"]
FEATURES = {  # what each feature adds to the command
    "r1_ema": [*SMOKE, "reg=r1", "reg.every=2", "g_ema.decay=0.99"],
    "diffaug": [*SMOKE, "augment=diffaug"],
    "pack": [*SMOKE, "model.d_pack=2"],
    "cpu_fast": ["trainer=cpu_fast", *SMALL],
    "resnet": ["debug=smoke", "trainer.max_iters=4", "eval.enabled=false", *RESNET],
}
VARIANTS = [f"model={m}" for m in image_models()]
ROWS = [  # (features, the variant, loss or data of the row)
    *[(("r1_ema", "diffaug", "pack"), (variant,)) for variant in VARIANTS],
    (("r1_ema", "pack"), ("loss=wgan",)),
    (("r1_ema", "diffaug", "pack"), ("loss=gp",)),
    (("r1_ema", "pack"), ("data=toy_ring",)),
    *[(("cpu_fast",), (setting,)) for setting in [*VARIANTS, "loss=gp", "loss=wgan", "loss=lsgan", "loss=hinge",
                                                  "data=toy_ring"]],
    (("resnet",), ("model=dcgan",)),  # loss=gan
    (("resnet",), ("model=cgan", "model.discriminator.cond=projection", "loss=hinge")),  # the reference's cGAN
    (("resnet",), ("model=cgan", "model.discriminator.cond=concat", "model.d_pack=2", "loss=wgan", "sched.d_steps=1")),
    (("resnet",), ("model=acgan", "augment=diffaug", "data.image_size=64")),
    (("resnet",), ("model=infogan", "loss=lsgan", "reg=r1")),
    (("resnet",), ("model=dcgan", "loss=gp", "sched.d_steps=1")),  # one critic step per iteration (not 5): a tiny run
]


def command(features: tuple[str, ...], overrides: tuple[str, ...]) -> list[str]:
    """The row's overrides: each feature's (the shared smoke settings once), then the row's own; acgan needs labels
    with several groups, so it runs on data=cartoon unless the row picks its data."""
    words = [word for feature in features for word in FEATURES[feature]]
    extra = ["data=cartoon"] if "model=acgan" in overrides and "resnet" not in features else []
    return [*dict.fromkeys(words), *overrides, *extra]


@pytest.mark.parametrize(("features", "overrides"), ROWS, ids=lambda v: "+".join(v))
def test_feature_variant_loss_matrix(features, overrides, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(make_config(*command(features, overrides)))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    assert metrics["status"] == "completed"  # every feature: DiffAugment checks no more than this
    if "r1_ema" in features:  # the penalty was applied, and G's average took every G step
        assert metrics["status"] == "completed" and metrics["final"]["reg/r1"] > 0
        assert state["g_ema.n_averaged"] == metrics["g_updates"]
    if "pack" in features or "cpu_fast" in features:
        assert all(torch.isfinite(torch.tensor(v)) for k, v in metrics["final"].items() if k.startswith("loss/"))
    if "cpu_fast" in features:
        assert metrics["status"] == "completed" and metrics["iterations"] == 8
    if "resnet" in features:
        assert json.loads((tmp_path / "status.json").read_text())["status"] == "completed"
        assert metrics["iterations"] == metrics["d_updates"] == metrics["g_updates"] == 4
        final = metrics["final"]
        losses = {k: v for k, v in final.items() if k.startswith(("loss/", "gp", "reg/"))}
        extra = {"model=acgan": "loss/d_cls", "model=infogan": "loss/info", "loss=gp": "gp", "reg=r1": "reg/r1"}
        assert {"loss/d", "loss/g", *(v for k, v in extra.items() if k in overrides)} <= set(losses)
        assert all(math.isfinite(v) for v in losses.values()), losses
        assert any(k.endswith("weight_orig") for k in state)  # the spectrally normalised D is what trained

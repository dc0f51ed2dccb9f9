"""AC-GAN and InfoGAN: their loss terms against hand-computed values, their heads wired to D's optimizer, the codes'
prior and traversal grids, and a smoke job of every variant on every built-in data set.

Its pure tests: tests/unit/test_variant_losses.py."""

import json
import math

import pytest
import torch
from conftest import built_in_data, image_models, make_config
from torch.testing import assert_close

from ganexp.build import build_data, build_module
from ganexp.losses import classification_loss
from ganexp.modules import ACGAN, InfoGAN
from ganexp.train import main as train


def build(*overrides: str):
    cfg = make_config("debug=smoke", *overrides)
    datamodule = build_data(cfg)
    return cfg, datamodule, build_module(cfg, datamodule, max_iters=cfg.trainer.max_iters)


def test_infogan_codes_follow_their_prior():
    _, _, module = build("model=infogan", "model.codes.categorical=[10,3]", "model.codes.continuous=2")
    assert module.z_dim == 16 + 2 + 2
    z = torch.zeros(3, module.z_dim)
    z[1, 16:] = -10.0
    z[2, 16:] = 10.0
    cat, cont = module.codes_of(z)
    assert cat.tolist() == [[5, 1], [0, 0], [9, 2]]  # u = 0.5 -> middle value; u -> 0 / 1 -> first / last
    assert_close(cont, torch.tensor([[0.0, 0.0], [-1.0, -1.0], [1.0, 1.0]]))
    cat, cont = module.codes_of(torch.randn(20000, module.z_dim, generator=torch.Generator().manual_seed(0)))
    counts = torch.bincount(cat[:, 0], minlength=10).float()
    assert (counts / 2000 - 1).abs().max() < 0.1  # uniform over the 10 values
    assert cont.min() >= -1 and cont.max() <= 1 and abs(cont.mean().item()) < 0.02
    assert_close(cont.var(0), torch.full((2,), 1 / 3), atol=0.01, rtol=0)  # uniform on [-1, 1]


def test_infogan_q_head_trains_with_d_and_its_own_lr():
    _, _, module = build("model=infogan", "model.info_lr=0.01")
    _, opt_d = module.configure_optimizers()[0]
    q_params = {id(p) for p in module.q_head.parameters()}
    groups = [{id(p) for p in g["params"]} for g in opt_d.param_groups]
    assert groups[1] == q_params and opt_d.param_groups[1]["lr"] == 0.01
    assert opt_d.param_groups[0]["lr"] == 2e-4 and not groups[0] & q_params


def test_infogan_loss_term_depends_on_the_codes_it_was_given():
    """The Q term scores the codes in z: perfect predictions cost ~0, the same predictions for other codes more."""
    _, _, module = build("model=infogan", "model.codes.categorical=[4]", "model.codes.continuous=1",
                         "model.continuous_weight=1.0")
    z = torch.zeros(2, module.z_dim)
    z[:, 16] = torch.tensor([-10.0, 10.0])  # categories 0 and 3
    z[:, 17] = torch.tensor([10.0, -10.0])  # continuous +1 and -1
    perfect = torch.tensor([[20.0, 0, 0, 0, 1.0], [0, 0, 0, 20.0, -1.0]])
    module.predict_codes = lambda h: ([perfect[:, :4]], perfect[:, 4:])  # a Q that reads the codes exactly
    assert module.info(torch.zeros(2, 1), z).item() < 1e-6
    swapped = torch.flip(z, [0])
    # each wrong category costs ~20 nats; each continuous error is 2 -> 0.5 * 4 = 2
    assert_close(module.info(torch.zeros(2, 1), swapped), torch.tensor(22.0), atol=1e-3, rtol=0)


@pytest.mark.parametrize("size", [32, 64, 128])
def test_acgan_heads_per_attribute_at_every_size(size):
    cfg, datamodule, module = build("model=acgan", "data=cartoon", f"data.image_size={size}", "data.source.n=64",
                                    "data.holdout=16")
    assert isinstance(module, ACGAN) and module.cond_d is None  # D predicts the condition instead of reading it
    assert [head[1].out_features for head in module.heads] == [6, 4, 3, 2]
    real, labels = next(iter(datamodule.train_dataloader()))
    real = real.float() / 127.5 - 1
    z = module.noise(len(real))
    fake = module.generate(z, labels)
    assert fake.shape[-1] == size
    _, h = module.judge(real)
    # the paper's L_C: the real term plus the fake term (here the same features twice)
    expected = cfg.model.cls_weight * 2 * classification_loss(module.classify(h), labels)
    assert_close(module.d_extra(h, labels, h, labels, z), expected)
    _, opt_d = module.configure_optimizers()[0]
    d_params = {id(p) for g in opt_d.param_groups for p in g["params"]}
    assert {id(p) for p in module.heads.parameters()} <= d_params


def test_acgan_trains_its_heads_and_logs_the_classification_terms(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = make_config("debug=smoke", "model=acgan", "data=cartoon")
    datamodule = build_data(cfg)
    before = build_module(cfg, datamodule).heads[0][1].weight.detach().clone()  # same seed, same init
    train(cfg)
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    assert not torch.equal(state["heads.0.1.weight"], before)
    final = json.loads((tmp_path / "metrics.json").read_text())["final"]
    assert final["loss/d_cls"] > 0 and final["loss/g_cls"] > 0
    assert {"acc/cond/hair", "acc/cond/eyes", "acc/cond/face", "acc/cond/glasses"} <= set(final)


def test_infogan_writes_traversal_grids(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = make_config("debug=smoke", "model=infogan", "model.codes.categorical=[5]", "model.codes.continuous=1")
    train(cfg)
    from PIL import Image

    size = cfg.data.image_size + 2  # make_grid pads 2 px
    cat = Image.open(tmp_path / "samples" / "code_cat0.png")
    assert cat.size == (8 * size + 2, 5 * size + 2)  # one row per categorical value, 8 noises
    cont = Image.open(tmp_path / "samples" / "code_cont0.png")
    assert cont.size == (9 * size + 2, 5 * size + 2)  # -2..2 in 9 steps, one row per category
    final = json.loads((tmp_path / "metrics.json").read_text())["final"]
    assert final["loss/info"] > 0
    # how far the code decides each attribute the evaluator sees (the faces' hair and eyes)
    assert {k for k in final if k.startswith("info/code_nmi/")} == {"info/code_nmi/hair", "info/code_nmi/eyes"}
    assert all(0 <= final[f"info/code_nmi/{a}"] <= 1 for a in ("hair", "eyes"))


@pytest.mark.parametrize("data", built_in_data())
@pytest.mark.parametrize("model", image_models())
def test_every_variant_on_every_built_in_data_set(model, data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    metric = train(make_config("debug=smoke", f"model={model}", f"data={data}"))
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["status"] == "completed" and status["iteration"] == 8 and math.isfinite(metric)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert ("acc/cond" in metrics["final"]) == (model in ("cgan", "acgan"))
    if data == "shapes" and model in ("cgan", "acgan"):  # scored on the shipped test files too
        assert 0 <= metrics["final"]["acc/test"] <= 1 and 0 <= metrics["final"]["acc/new_test"] <= 1


def test_infogan_is_unconditional_module():
    _, _, module = build("model=infogan")
    assert isinstance(module, InfoGAN) and not module.conditional and module.cond_g is None


@pytest.mark.parametrize("model", ["acgan", "infogan"])
def test_variants_combine_with_mixed_optimizers_soft_labels_and_lr_drops(model, tmp_path, monkeypatch):
    """The acgan_cartoon recipe: G Adam, D SGD, soft real labels, D's LR divided by 10 at iteration 4."""
    monkeypatch.chdir(tmp_path)
    cfg = make_config("debug=smoke", f"model={model}", "data=cartoon", "optim@optimizer.d=sgd",
                      "loss.real_label=0.9",
                      "lr_sched.d={_target_: torch.optim.lr_scheduler.MultiStepLR, milestones: [4], gamma: 0.1}")
    _, opt_d = build_module(cfg, build_data(cfg)).configure_optimizers()[0][:2]
    assert type(opt_d).__name__ == "SGD"
    train(cfg)
    final = json.loads((tmp_path / "metrics.json").read_text())["final"]
    assert_close(final["lr/d"], cfg.optimizer.d.lr * 0.1)
    assert_close(final["lr/g"], cfg.optimizer.g.lr)

"""The techniques GAN codebases treat as standard, each checked against its maths: R1, generator EMA, truncation."""

import json

import pytest
import torch
from conftest import full_and_resumed, image_models, make_config
from torch import nn
from torch.testing import assert_close

from ganexp.build import build_data, build_module
from ganexp.losses import R1
from ganexp.schema import ConfigError, validate
from ganexp.train import main as train


# ---------------------------------------------------------------------------------------------------------- R1
def test_r1_on_a_critic_with_a_known_gradient():
    """D(x) = <w, x> + 0.5 ||x||^2 has gradient w + x: R1 = gamma / 2 * mean ||w + x||^2."""
    w = torch.tensor([1.0, -2.0, 0.5])
    real = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, -0.5]])  # gradients w + x: (1, -2, 0.5) and (2, 0, 0)

    def critic(x):
        return x @ w + 0.5 * (x**2).sum(1)

    expected = 10.0 / 2 * ((1 + 4 + 0.25) + (4 + 0 + 0)) / 2
    assert_close(R1(gamma=10.0, every=1).penalty(critic, real, d_step=7), torch.tensor(expected))


def test_lazy_r1_applies_every_n_steps_weighted_by_n():
    critic = lambda x: (3 * x).sum(1)  # noqa: E731 - gradient 3 everywhere: ||.||^2 = 9 * dims
    real = torch.zeros(4, 2)
    lazy = R1(gamma=1.0, every=4)
    values = [lazy.penalty(critic, real, step) for step in range(9)]
    assert [v is not None for v in values] == [True, False, False, False, True, False, False, False, True]
    assert_close(values[0], torch.tensor(4 * 1.0 / 2 * 18))  # every x gamma/2 x ||(3, 3)||^2


def test_r1_gradient_reaches_d_weights():
    lin = torch.nn.Linear(3, 1)
    R1(gamma=2.0, every=1).penalty(lambda x: lin(x).flatten(), torch.randn(5, 3), 0).backward()
    # R1 = ||w||^2 for a linear critic: its gradient on w is 2w
    assert_close(lin.weight.grad, 2 * lin.weight.detach())


def test_r1_makes_auto_d_norm_per_sample_and_refuses_batchnorm():
    cfg = make_config("debug=smoke", "reg=r1")
    module = build_module(cfg, build_data(cfg))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in module.discriminator.modules())
    with pytest.raises(ConfigError, match="reg=R1 with model.discriminator.norm=batch"):
        validate(make_config("reg=r1", "model.discriminator.norm=batch"))


@pytest.mark.parametrize("setting", [f"model={m}" for m in image_models()] + ["loss=wgan", "loss=gp", "data=toy_ring"])
def test_r1_and_g_ema_train_with_every_variant_and_loss(setting, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    extra = ["data=cartoon"] if setting == "model=acgan" else []
    train(make_config("debug=smoke", "eval.enabled=false", "reg=r1", "reg.every=2", "g_ema.decay=0.99", setting,
                      *extra))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["final"]["reg/r1"] > 0
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    assert state["g_ema.n_averaged"] == metrics["g_updates"]


# ---------------------------------------------------------------------------------------------------------- EMA
def ema_module(*overrides: str):
    cfg = make_config("debug=smoke", "g_ema.decay=0.9", *overrides)
    return build_module(cfg, build_data(cfg))


def test_ema_copies_g_before_start_then_averages_with_the_decay():
    module = ema_module("g_ema.start=2", "model=cgan", "cond=embed")
    weight = module.generator.net[0].weight
    averaged = module.g_ema.module[0].net[0].weight
    table = module.g_ema.module[1].table.weight  # the condition encoder is averaged with G
    for iteration, value in enumerate([1.0, 2.0, 4.0, 8.0]):
        module.iteration = iteration
        with torch.no_grad():
            weight.fill_(value)
            module.cond_g.table.weight.fill_(value)
        module.update_ema()
    # iterations 0, 1 copy (1, then 2); then 0.9 * 2 + 0.1 * 4 = 2.2; then 0.9 * 2.2 + 0.1 * 8 = 2.78
    assert_close(averaged, torch.full_like(averaged, 2.78))
    assert_close(table, torch.full_like(table, 2.78))


def test_ema_matches_torchs_averaged_model_without_grad_or_device_reads():
    """ganexp.modules.ema.EMA gives swa_utils.AveragedModel's numbers bit for bit (EMA multi-avg fn), frozen, and
    never reads its device counter (that read was a host sync twice a G step on a GPU)."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    from ganexp.modules.ema import EMA

    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    ours, torchs = EMA(net, 0.9), AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    assert not any(p.requires_grad for p in ours.parameters())
    gen = torch.Generator().manual_seed(0)
    for step in range(5):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn(p.shape, generator=gen))
        ours.update(net, copy_weights=step == 0)
        torchs.update_parameters(net)
    for mine, theirs in zip(ours.module.parameters(), torchs.module.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    assert ours.n_averaged.item() == torchs.n_averaged.item() == 5
    assert ours.state_dict().keys() == torchs.state_dict().keys()  # checkpoints load either way


def test_the_average_measures_its_own_batchnorm_statistics():
    """Before it draws, the averaged G's BatchNorm statistics are recomputed for its own weights: reset, then the
    cumulative average over 16 passes of fixed noise (torch's update_bn rule), without touching the global RNG."""
    module = ema_module()
    with torch.no_grad():
        for averaged, trained in zip(module.g_ema.module.parameters(), module.g_parts().parameters(), strict=True):
            averaged.copy_(2 * trained)  # an average unlike G
        module.generator.net[1].running_mean.fill_(3.0)  # G's own statistics: not the average's
    bn = module.g_ema.module[0].net[1]
    seen = []
    hook = bn.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0].detach().clone()))
    module.g_ema.module.eval()  # as evaluation leaves it: the passes run in train mode, then eval comes back
    rng = torch.get_rng_state()
    module.drawing_parts(ema=True)
    hook.remove()
    assert len(seen) == 16 and torch.equal(torch.get_rng_state(), rng)
    dims = [0] + list(range(2, seen[0].dim()))
    assert_close(bn.running_mean, torch.stack([x.mean(dims) for x in seen]).mean(0))
    assert_close(bn.running_var, torch.stack([x.var(dims) for x in seen]).mean(0))  # unbiased, as BatchNorm keeps
    assert bn.momentum == module.generator.net[1].momentum and not module.g_ema.module.training
    module.drawing_parts(ema=True)
    assert len(seen) == 16  # fresh: not measured again until the average moves
    module.update_ema()
    assert module._ema_stale


def test_drawing_uses_the_average_and_training_the_raw_g():
    module = ema_module()
    with torch.no_grad():
        for p in module.g_ema.module.parameters():
            p.zero_()  # an average that draws the same flat image whatever z is
    z = torch.randn(4, module.z_dim)
    module.eval()
    drawn, trained = module.generate(z, ema=True), module.generate(z)
    assert torch.equal(drawn[0], drawn[1]) and not torch.equal(trained[0], trained[1])
    assert {id(p) for p in module.g_parameters()}.isdisjoint({id(p) for p in module.g_ema.parameters()})


def test_ema_is_saved_and_resumed_exactly(tmp_path, monkeypatch):
    full, resumed, saved = full_and_resumed(tmp_path, monkeypatch, "debug=smoke", "eval.enabled=false",
                                            "g_ema.decay=0.9", "g_ema.start=2", "seed=3")
    assert saved == 4 and any(k.startswith("g_ema.") for k in full["state_dict"])
    for key, value in full["state_dict"].items():
        assert_close(resumed["state_dict"][key], value, msg=key)


# ---------------------------------------------------------------------------------------------------- truncation
def test_truncated_noise_lies_within_psi_and_is_reproducible():
    from ganexp.sample import truncated_noise

    z = truncated_noise(2000, 8, 0.5, seed=3)
    assert z.abs().max() <= 0.5 and torch.equal(z, truncated_noise(2000, 8, 0.5, seed=3))
    # resampling keeps the shape of the normal inside the band: mean 0, std well below 1
    assert abs(z.mean().item()) < 0.02 and 0.25 < z.std().item() < 0.3  # std of N(0,1) cut at 0.5: 0.284
    plain = torch.randn(5, 3, generator=torch.Generator().manual_seed(3))
    assert torch.equal(truncated_noise(5, 3, None, seed=3), plain)


def test_sample_cli_truncation_grid(tmp_path, monkeypatch):
    import subprocess
    import sys

    from conftest import ROOT
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    train(make_config("debug=smoke", "eval.enabled=false"))
    out = subprocess.run([sys.executable, "-m", "ganexp.sample", str(tmp_path), "-n", "6", "--truncation", "0.7",
                          "--out", str(tmp_path / "s")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    grid = Image.open(tmp_path / "s" / "truncation.png")
    assert grid.size[1] > grid.size[0] / 6 * 4  # five rows (psi 0.25 ... 2.0) of six images


# ---------------------------------------------------------------------------------------------------- DiffAugment
def test_translation_moves_each_image_by_at_most_an_eighth_and_fills_zeros():
    from ganexp.augment import translation

    torch.manual_seed(0)
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 7, 7] = 1.0  # one lit pixel per image
    moved = translation(x)
    ys, xs = torch.nonzero(moved[:, 0], as_tuple=True)[1:]
    assert moved.sum() == 64 and (ys - 7).abs().max() <= 2 and (xs - 7).abs().max() <= 2  # 16 / 8 = 2
    assert len({(int(a), int(b)) for a, b in zip(ys, xs, strict=True)}) > 10  # drawn per image
    edge = torch.ones(64, 1, 16, 16)
    assert (translation(edge) == 0).any()  # shifted in from outside: zeros


def test_cutout_zeroes_a_square_of_half_the_size_at_most():
    from ganexp.augment import cutout

    torch.manual_seed(0)
    out = cutout(torch.ones(64, 3, 16, 16))
    zeros = (out[:, 0] == 0).flatten(1).sum(1)
    assert zeros.max() == 64 and zeros.min() > 0  # an 8 x 8 square, cut where it leaves the image
    assert torch.equal(out[:, 0], out[:, 2])  # the same square in every channel


def test_color_is_differentiable_and_the_policy_keeps_the_reference_order():
    from ganexp.augment import DiffAugment

    x = torch.rand(4, 3, 8, 8, requires_grad=True)
    DiffAugment(["cutout", "color"])(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert DiffAugment(["cutout", "color", "translation"]).policy == ["color", "translation", "cutout"]
    with pytest.raises(ConfigError, match=r"augment.policy: unknown \['warp'\]"):
        DiffAugment(["warp"])


def test_diffaugment_reaches_every_image_d_sees(monkeypatch):
    """Real, fake and wrong-condition images, in D's step and in G's: every judge call goes through it."""
    cfg = make_config("debug=smoke", "augment=diffaug", "model=cgan", "model.wrong_weight=1")
    module = build_module(cfg, build_data(cfg))
    seen = []
    module.augment = lambda x: seen.append(x.shape) or x
    real, labels = next(iter(build_data(cfg).train_dataloader()))
    real = real.float() / 127.5 - 1
    z = module.noise(len(real))
    fake = module.generate(z, labels)
    module.d_loss(real, labels, fake.detach(), labels, z)
    assert len(seen) == 3  # real, fake, real with wrong conditions
    module.g_loss(fake, labels, z)
    assert len(seen) == 4


@pytest.mark.parametrize("setting", [f"model={m}" for m in image_models()] + ["loss=gp", "reg=r1"])
def test_diffaugment_trains_with_every_variant_and_loss(setting, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    extra = ["data=cartoon"] if setting == "model=acgan" else []
    train(make_config("debug=smoke", "eval.enabled=false", "augment=diffaug", setting, *extra))
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "completed"

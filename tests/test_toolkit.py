"""The techniques GAN codebases treat as standard, each checked against its maths: R1, generator EMA, truncation."""

import json

import pytest
import torch
from conftest import image_models, make_config
from torch.testing import assert_close

from ganexp.losses import R1
from ganexp.schema import ConfigError, validate
from ganexp.train import build_data, build_module
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
    cfg = make_config("trainer=smoke", "reg=r1")
    module = build_module(cfg, build_data(cfg))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in module.discriminator.modules())
    with pytest.raises(ConfigError, match="reg=R1 with model.discriminator.norm=batch"):
        validate(make_config("reg=r1", "model.discriminator.norm=batch"))


@pytest.mark.parametrize("setting", [f"model={m}" for m in image_models()] + ["loss=wgan", "loss=gp", "data=toy_ring"])
def test_r1_trains_with_every_variant_and_loss(setting, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    extra = ["data=cartoon"] if setting == "model=acgan" else []
    train(make_config("trainer=smoke", "eval.enabled=false", "reg=r1", "reg.every=2", setting, *extra))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["final"]["reg/r1"] > 0

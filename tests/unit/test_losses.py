"""Each adversarial loss against values worked out by hand, plus direction, penalty and clipping."""

import math

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from ganexp.losses import BCE, LSGAN, WGAN, WGANGP, Hinge, Minimax, gradient_penalty


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_bce_by_hand():
    # D: mean(-log σ(real)) + mean(-log(1 - σ(fake))) = mean(softplus(-real)) + mean(softplus(fake))
    expected_d = (softplus(0) + softplus(-2)) / 2 + (softplus(0) + softplus(-1)) / 2
    assert_close(BCE(1.0).d_loss(t(0, 2), t(0, -1)), torch.tensor(expected_d))
    # non-saturating G: mean(-log σ(fake))
    assert_close(BCE(1.0).g_loss(t(0, -1)), torch.tensor((softplus(0) + softplus(1)) / 2))


def test_bce_one_sided_label_smoothing_softens_real_targets_only():
    # real target 0.9 at logit 2: 0.9 * softplus(-2) + 0.1 * softplus(2); fake targets stay 0
    expected = 0.9 * softplus(-2) + 0.1 * softplus(2) + softplus(-3)
    assert_close(BCE(real_label=0.9).d_loss(t(2), t(-3)), torch.tensor(expected))
    assert_close(BCE(real_label=0.9).g_loss(t(-3)), BCE(1.0).g_loss(t(-3)))


def test_minimax_g_loss_is_log_one_minus_d_by_hand():
    # logits 0 and log 3: D = 1/2 and 3/4, so G's loss is mean(log(1/2), log(1/4)) = -1.5 log 2, and D's is BCE's
    fake = torch.tensor([0.0, math.log(3.0)])
    assert_close(Minimax(real_label=1.0).g_loss(fake), torch.tensor(-1.5 * math.log(2.0)))
    real = torch.tensor([math.log(3.0)])
    assert_close(Minimax(1.0).d_loss(real, fake), BCE(1.0).d_loss(real, fake))
    # saturating: once D rejects a fake confidently, G's gradient vanishes (the non-saturating loss's does not)
    confident = torch.tensor([-12.0], requires_grad=True)
    (grad,) = torch.autograd.grad(Minimax(1.0).g_loss(confident), confident)
    (ns_grad,) = torch.autograd.grad(BCE(1.0).g_loss(confident), confident)
    assert abs(grad.item()) < 1e-5 and abs(ns_grad.item()) > 0.99


def test_lsgan_by_hand():
    # 0.5 * mean((real-1)^2) + 0.5 * mean(fake^2) = 0.5 * 0.5 + 0.5 * 0.5
    assert_close(LSGAN().d_loss(t(1, 0), t(0, 1)), torch.tensor(0.5))
    assert_close(LSGAN().g_loss(t(0, 1)), torch.tensor(0.25))


def test_wgan_by_hand():
    # mean(fake) - mean(real) = -1 - 2
    assert_close(WGAN(clip=0.01).d_loss(t(1, 3), t(0, -2)), torch.tensor(-3.0))
    assert_close(WGAN(clip=0.01).g_loss(t(0, -2)), torch.tensor(1.0))


def test_hinge_by_hand():
    # mean(relu(1 - [2, .5])) + mean(relu(1 + [-2, 0])) = 0.25 + 0.5
    assert_close(Hinge().d_loss(t(2, 0.5), t(-2, 0)), torch.tensor(0.75))
    assert_close(Hinge().g_loss(t(-2, 0)), torch.tensor(1.0))


@pytest.mark.parametrize("loss", [BCE(1.0), BCE(0.9), LSGAN(), WGAN(clip=0.01), WGANGP(gp_weight=10.0), Hinge()],
                         ids=type)
def test_direction(loss):
    """D's loss is lower when real scores high and fake low; G's is lower when fake scores high."""
    good, bad = t(1.5, 0.8), t(-1.2, -0.4)
    assert loss.d_loss(good, bad) < loss.d_loss(bad, good)
    assert loss.g_loss(good) < loss.g_loss(bad)


def test_gradient_penalty_on_linear_critic():
    # D(x) = <w, x> has ∇D = w everywhere: penalty = (||w|| - 1)^2 = (3 - 1)^2 for ||w|| = 3
    w = torch.zeros(1, 2, 3, 3)
    w[0, 0, 0, 0], w[0, 1, 2, 2] = 3 * 0.6, 3 * 0.8
    w.requires_grad_(True)
    critic = lambda x: (x * w).flatten(1).sum(1)  # noqa: E731
    real, fake = torch.randn(5, 2, 3, 3), torch.randn(5, 2, 3, 3)
    penalty = gradient_penalty(critic, real, fake)
    assert_close(penalty, torch.tensor(4.0))
    # it is differentiable w.r.t. the critic's weights: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    (grad,) = torch.autograd.grad(penalty, w)
    assert_close(grad, 2 * (3 - 1) * w.detach() / 3)
    assert_close(WGANGP(gp_weight=10).penalty(critic, real, fake), torch.tensor(40.0))


def test_gradient_penalty_on_quadratic_critic():
    # D(x) = ||x||^2 / 2 has ∇D(x) = x; with real = fake the interpolate is x itself: norms 2 and 0.5
    x = torch.zeros(2, 4)
    x[0, 0], x[1, 3] = 2.0, 0.5
    penalty = gradient_penalty(lambda v: 0.5 * (v**2).sum(1), x, x.clone())
    assert_close(penalty, torch.tensor(((2 - 1) ** 2 + (0.5 - 1) ** 2) / 2))


def test_wgan_clipping_bounds_every_weight():
    torch.manual_seed(0)
    d = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Linear(4, 1))
    for p in d.parameters():
        p.data.uniform_(-1, 1)
    WGAN(clip=0.05).after_d_step(d.parameters())
    values = torch.cat([p.flatten() for p in d.parameters()])
    assert values.abs().max() <= 0.05
    assert (values.abs() == 0.05).float().mean() > 0.5  # most were outside and sit on the bound now
    before = [p.clone() for p in d.parameters()]
    WGANGP(gp_weight=10.0).after_d_step(d.parameters())  # WGAN-GP does not clip
    assert all(torch.equal(a, b) for a, b in zip(before, d.parameters(), strict=True))


def test_gp_needs_per_sample_norm_in_d():
    assert WGANGP.d_norm == "layer" and WGAN.d_norm == "batch"

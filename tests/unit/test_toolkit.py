"""The techniques GAN codebases treat as standard, each checked against its maths: R1, generator EMA, truncation.

Its in-process runs and builds: tests/integration/test_toolkit_runs.py.
Its tests that start processes: tests/e2e/test_sample_truncation_cli.py."""

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from ganexp.losses import R1
from ganexp.schema import ConfigError


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


# ---------------------------------------------------------------------------------------------------- truncation
def test_truncated_noise_lies_within_psi_and_is_reproducible():
    from ganexp.sample import truncated_noise

    z = truncated_noise(2000, 8, 0.5, seed=3)
    assert z.abs().max() <= 0.5 and torch.equal(z, truncated_noise(2000, 8, 0.5, seed=3))
    # resampling keeps the shape of the normal inside the band: mean 0, std well below 1
    assert abs(z.mean().item()) < 0.02 and 0.25 < z.std().item() < 0.3  # std of N(0,1) cut at 0.5: 0.284
    plain = torch.randn(5, 3, generator=torch.Generator().manual_seed(3))
    assert torch.equal(truncated_noise(5, 3, None, seed=3), plain)


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

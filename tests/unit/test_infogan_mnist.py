"""The small G and D of InfoGAN's MNIST experiments (Lucic et al. 2018's network): layer sizes and parameter counts
against the reference's layers counted by hand, each condition option, and its refusals."""

import pytest
import torch

from ganexp.errors import ConfigError
from ganexp.nets.infogan_mnist import Discriminator, Generator


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_at_the_reference_width_by_hand():
    # G: linear 64->1024 (+ BN 1024), linear 1024->128*8*8 (+ BN), deconv 128->64 4x4 (+ bias, BN 64), deconv 64->3
    g = 64 * 1024 + 1024 + 2 * 1024 + 1024 * 8192 + 8192 + 2 * 8192 + 128 * 64 * 16 + 64 + 2 * 64 + 64 * 3 * 16 + 3
    # D: conv 3->64 4x4, conv 64->128 4x4 (+ BN 128), linear 8192->1024 (+ BN 1024), linear 1024->1
    d = 3 * 64 * 16 + 64 + 64 * 128 * 16 + 128 + 2 * 128 + 8192 * 1024 + 1024 + 2 * 1024 + 1024 + 1
    assert n_params(Generator(z_dim=64, image_size=32, width=64)) == g
    assert n_params(Discriminator(image_size=32, width=64, norm="batch")) == d
    # without normalisation D loses exactly its BatchNorm scales and shifts
    assert n_params(Discriminator(image_size=32, width=64, norm="none")) == d - 2 * 128 - 2 * 1024


def test_shapes_range_and_features():
    g, d = Generator(z_dim=16, image_size=32, width=8), Discriminator(image_size=32, width=8, norm="batch")
    x = g(torch.rand(5, 16) * 2 - 1)
    assert x.shape == (5, 3, 32, 32) and x.abs().max() <= 1
    assert d(x).shape == (5,) and d.features(x).shape == (5, d.feature_size) and d.feature_size == 128


@pytest.mark.parametrize("cond", ["expand", "concat", "projection"])
def test_each_condition_option_changes_the_score(cond):
    torch.manual_seed(0)
    d = Discriminator(image_size=32, width=8, norm="none", cond=cond, cond_dim=4, pack=2).eval()
    x, c = torch.randn(3, 6, 32, 32), torch.eye(4)[:3]
    with torch.no_grad():
        if cond == "projection":  # the projection's embedding starts small (N(0, 0.02)): make it matter
            d.embed.weight.normal_()
        assert d(x, c).shape == (3,)
        assert not torch.allclose(d(x, c), d(x, c.roll(1, 0)))
    g = Generator(z_dim=16, image_size=32, width=8, cond_dim=4)
    assert g(torch.randn(3, 16), c).shape == (3, 3, 32, 32)


def test_spectral_norm_bounds_each_layer():
    d = Discriminator(image_size=32, width=8, norm="spectral")
    for _ in range(20):  # power iterations run in training mode
        d(torch.randn(4, 3, 32, 32))
    d.eval()
    for layer in (d.trunk[0], d.trunk[2], d.trunk[6], d.out):
        w = layer.weight.flatten(1)
        assert torch.linalg.matrix_norm(w, ord=2) <= 1.05


def test_refusals_name_the_key():
    with pytest.raises(ConfigError, match="data.image_size=64"):
        Generator(z_dim=16, image_size=64, width=8)
    with pytest.raises(ConfigError, match="model.discriminator.norm='group'"):
        Discriminator(image_size=32, width=8, norm="group")
    with pytest.raises(ConfigError, match="model.discriminator.cond=None"):
        Discriminator(image_size=32, width=8, norm="none", cond_dim=3)

"""model.z_prior: G's noise is N(0, 1) or U(-1, 1); the uniform one is the normal draw through the normal CDF, so
every caller (training, grids, evaluation, InfoGAN's codes) keeps drawing Gaussian noise.

Its in-process runs and builds: tests/integration/test_prior_build.py."""

import pytest
import torch
from conftest import make_config
from torch.testing import assert_close

from ganexp.errors import ConfigError
from ganexp.modules.base import latent
from ganexp.schema import validate


def test_uniform_prior_maps_normal_quantiles_to_uniform_ones():
    # Phi(0) = 0.5, Phi(0.6745) = 0.75, Phi(-1.6449) = 0.05  ->  2 Phi - 1 = 0, 0.5, -0.9
    z = torch.tensor([0.0, 0.6744897501960817, -1.6448536269514722])
    assert_close(latent(z, "uniform"), torch.tensor([0.0, 0.5, -0.9]))
    assert_close(latent(z, "normal"), z)


def test_uniform_prior_draws_are_uniform_on_minus_one_one():
    u = latent(torch.randn(200_000, generator=torch.Generator().manual_seed(0)), "uniform")
    assert -1 < u.min() and u.max() < 1
    shares = torch.histc(u, bins=10, min=-1, max=1) / len(u)
    assert_close(shares, torch.full((10,), 0.1), atol=0.004, rtol=0)
    assert_close(u.var(), torch.tensor(1 / 3), atol=0.005, rtol=0)


def test_unknown_prior_is_refused_by_name():
    with pytest.raises(ConfigError, match=r"model.z_prior='laplace': not one of normal, uniform"):
        validate(make_config("debug=smoke", "model.z_prior=laplace"))

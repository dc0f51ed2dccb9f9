"""model.z_prior: G's noise is N(0, 1) or U(-1, 1); the uniform one is the normal draw through the normal CDF, so
every caller (training, grids, evaluation, InfoGAN's codes) keeps drawing Gaussian noise.

The in-process runs and builds of this subject; the others are in tests/unit/test_prior.py."""

import pytest
import torch
from conftest import make_config
from torch.testing import assert_close

from ganexp.build import build_data, build_module


@pytest.mark.parametrize("model", ["dcgan", "infogan"])
def test_configured_prior_is_what_g_receives(model):
    seen = []
    for prior in ("normal", "uniform"):
        cfg = make_config("debug=smoke", f"model={model}", f"model.z_prior={prior}")
        module = build_module(cfg, build_data(cfg))
        hook = module.generator.register_forward_hook(lambda m, args, out: seen.append(args[0].detach().clone()))
        z = torch.randn(64, module.z_dim, generator=torch.Generator().manual_seed(1))
        module.generate(z)
        hook.remove()
    normal, uniform = seen
    noise = normal.shape[1] if model == "dcgan" else module.noise_dim  # InfoGAN's G also takes the codes
    assert_close(uniform[:, :noise], torch.erf(normal[:, :noise] / 2 ** 0.5))
    assert normal.abs().max() > 1 and uniform[:, :noise].abs().max() < 1

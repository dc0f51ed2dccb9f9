"""Every network keeps the contract GANModule relies on (ganexp.nets.Generator / Discriminator), as built from the
config for each network option, so a new network that breaks it fails here rather than inside a variant."""

import inspect

import pytest
import torch
from conftest import make_config

from ganexp.build import build_data, build_module
from ganexp.nets import DISCRIMINATOR_ARGS, GENERATOR_ARGS, Discriminator, Generator

NETWORKS = [("model=dcgan",), ("model=cgan", "model.discriminator.cond=projection"),
            ("model=cgan", "model/generator=resnet", "model/discriminator=resnet", "model.generator.width=8",
             "model.discriminator.width=8"),
            ("model=cgan", "model/generator=infogan_mnist", "model/discriminator=infogan_mnist",
             "model.discriminator.cond=projection"),
            ("model=toy", "data=toy_ring")]


@pytest.mark.parametrize("overrides", NETWORKS, ids=["dcgan", "cgan-projection", "resnet", "infogan_mnist", "mlp"])
def test_each_network_keeps_the_generator_and_discriminator_contract(overrides):
    cfg = make_config("debug=smoke", *overrides)
    module = build_module(cfg, build_data(cfg))
    g, d = module.generator, module.discriminator
    assert isinstance(g, Generator) and isinstance(d, Discriminator)
    assert set(GENERATOR_ARGS) <= set(inspect.signature(type(g)).parameters)
    assert set(DISCRIMINATOR_ARGS) <= set(inspect.signature(type(d)).parameters)
    assert g.samples == build_data(cfg).samples
    z = torch.randn(4, module.z_dim)
    labels = module.conditions[:4] if module.conditional else None
    x = module.generate(z, labels)
    scores, h = module.judge(x, labels)
    assert h.flatten(1).shape == (4, d.feature_size) and scores.numel() == 4  # heads read feature_size values

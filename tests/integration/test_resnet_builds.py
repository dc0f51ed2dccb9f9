"""The residual G and D of SNGAN / cGAN with projection (ganexp/nets/resnet.py): shapes, parameter counts against the
reference architecture, spectral normalisation, conditional BatchNorm, selection by config, and tiny runs of every
variant with them (tests/integration/test_matrix.py).

The in-process runs and builds of this subject; the others are in tests/unit/test_resnet.py."""

import torch
from conftest import RESNET, make_config
from torch import nn
from torch.testing import assert_close

from ganexp.build import build_data, build_module
from ganexp.nets.resnet import ConditionalBatchNorm2d


def test_conditional_g_draws_the_class_it_is_given():
    cfg = make_config("debug=smoke", "model=cgan", *RESNET, "model.discriminator.cond=projection")
    module = build_module(cfg, build_data(cfg))
    z = torch.randn(1, module.z_dim).repeat(3, 1)
    labels = module.conditions[:2][[0, 1, 0]]  # two different conditions of the data, the first one twice
    assert not torch.equal(labels[0], labels[1])
    module.generator.train()
    same = module.generate(z, labels)
    assert_close(same[0], same[1])  # at the reference's start (gain 1, bias 0 for every class) the class is unseen
    with torch.no_grad():
        for m in module.generator.modules():
            if isinstance(m, ConditionalBatchNorm2d):
                nn.init.normal_(m.to_gain.weight, 0, 0.5)
                nn.init.normal_(m.to_bias.weight, 0, 0.5)
    out = module.generate(z, labels)
    assert_close(out[0], out[2])  # same z, same class: same image
    assert (out[0] - out[1]).abs().max() > 1e-2  # same z, another class: another image


# ---- packing, and tiny runs through the real entry point -----------------------------------------------------------
def test_a_packed_resnet_d_reads_packs_of_images_and_conditions():
    cfg = make_config("debug=smoke", "model=cgan", *RESNET, "model.discriminator.cond=expand", "model.d_pack=2")
    module = build_module(cfg, build_data(cfg))
    first = module.discriminator.blocks[0].c1
    assert first.in_channels == 2 * 3 + 2 * module.cond_d.out_dim  # two images and their two conditions

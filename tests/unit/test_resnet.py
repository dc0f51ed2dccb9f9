"""The residual G and D of SNGAN / cGAN with projection (ganexp/nets/resnet.py): shapes, parameter counts against the
reference architecture, spectral normalisation, conditional BatchNorm, selection by config, and tiny runs of every
variant with them (tests/integration/test_matrix.py).

Its in-process runs and builds: tests/integration/test_resnet_builds.py."""

import importlib
import inspect

import pytest
import torch
import torch.nn.functional as F
from conftest import CONF, RESNET, make_config
from omegaconf import OmegaConf
from torch import nn
from torch.nn.utils.spectral_norm import SpectralNorm
from torch.testing import assert_close

from ganexp.errors import ConfigError
from ganexp.nets.resnet import ConditionalBatchNorm2d, Discriminator, Generator
from ganexp.ranges import range_of, strip
from ganexp.schema import validate


# ---- shapes and the D contract (features, feature_size, score) ---------------------------------------------------
@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("d_cond", [None, "expand", "concat", "projection"])
def test_shapes_and_the_d_contract(size, d_cond):
    torch.manual_seed(0)
    cond_dim, pack, n = (0, 1, 4) if d_cond is None else (5, 2, 4)
    g = Generator(z_dim=16, image_size=size, width=4, cond_dim=cond_dim)
    d = Discriminator(size, 4, "spectral", mbstd=True, cond=d_cond, cond_dim=cond_dim * pack, pack=pack)
    cond = torch.randn(n, cond_dim) if cond_dim else None
    x = g(torch.randn(n, 16), cond)
    assert x.shape == (n, 3, size, size) and x.abs().max() <= 1
    packed = x.reshape(n // pack, 3 * pack, size, size)  # as GANModule.pack
    packed_cond = None if cond is None else cond.reshape(n // pack, cond_dim * pack)
    h = d.features(packed, packed_cond)
    assert h.shape == (n // pack, d.feature_size) == (n // pack, 4 if size == 32 else 64)
    scores = d.score(h, packed_cond)
    assert scores.shape == (n // pack,)
    d.eval()  # no power iteration: the same normalised weights in both passes
    assert_close(d(packed, packed_cond), d.score(d.features(packed, packed_cond), packed_cond))


def test_a_conditional_d_refuses_a_missing_way_in_and_other_sizes_are_refused():
    with pytest.raises(ConfigError, match="model.discriminator.cond=None"):
        Discriminator(32, 4, "spectral", False, cond=None, cond_dim=3)
    with pytest.raises(ConfigError, match="data.image_size=128"):
        Generator(16, 128, 4)
    with pytest.raises(ConfigError, match="model.discriminator.norm='batch'"):
        Discriminator(32, 4, "batch", False)


# ---- parameter counts: the reference's layers (pfnet-research/sngan_projection), counted here by hand --------------
def conv(c_in, c_out, k, bias=True):
    return c_in * c_out * k * k + c_out * bias


def bn(c, classes=0):
    return 2 * c * max(classes, 1)  # gamma and beta; per class with CategoricalConditionalBatchNormalization


def g_block(c_in, c_out, classes):  # gen_models/resblocks.py Block(upsample=True): b1 c1 b2 c2 c_sc
    return bn(c_in, classes) + conv(c_in, c_out, 3) + bn(c_out, classes) + conv(c_out, c_out, 3) + conv(c_in, c_out, 1)


def d_block(c_in, c_out, down):  # dis_models/resblocks.py Block: hidden = in; c_sc if the width changes or it pools
    return conv(c_in, c_in, 3) + conv(c_in, c_out, 3) + (conv(c_in, c_out, 1) if down or c_in != c_out else 0)


def d_optimized(c_in, c_out):  # dis_models/resblocks.py OptimizedBlock
    return conv(c_in, c_out, 3) + conv(c_out, c_out, 3) + conv(c_in, c_out, 1)


def reference_g(size, ch, classes, z=128):
    """gen_models/resnet_32.py (l1, block2-4, b5, c5) and resnet_64.py (l1, block2-5, b6, l6)."""
    widths = [ch] * 4 if size == 32 else [16 * ch, 8 * ch, 4 * ch, 2 * ch, ch]
    blocks = sum(g_block(a, b, classes) for a, b in zip(widths, widths[1:], strict=False))
    return z * 16 * widths[0] + 16 * widths[0] + blocks + bn(widths[-1]) + conv(widths[-1], 3, 3)


def reference_d(size, ch, classes):
    """dis_models/snresnet_32.py (block1-4, l5 without bias, l_y) and snresnet_64.py (block1-5, l6 with bias, l_y)."""
    if size == 32:
        return d_optimized(3, ch) + d_block(ch, ch, True) + 2 * d_block(ch, ch, False) + ch + classes * ch
    widths = [ch, 2 * ch, 4 * ch, 8 * ch, 16 * ch]
    blocks = sum(d_block(a, b, True) for a, b in zip(widths, widths[1:], strict=False))
    return d_optimized(3, ch) + blocks + 16 * ch + 1 + classes * 16 * ch


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    ("size", "classes", "g_params", "d_params"),
    [
        # configs/sn_cifar10_unconditional.yml and sn_cifar10_conditional.yml: G ch 256, D ch 128, 10 classes.
        # (kwotsin/mimicry's SNGANGenerator32 / CGANPDGenerator32 have the same G counts; its D adds a bias to l5: +1)
        (32, 0, 4_276_739, 1_053_824),
        (32, 10, 4_304_387, 1_055_104),
        # configs/sn_projection_64.yml: G and D ch 64 (ImageNet, 1000 classes); unconditional as mimicry's SNGAN 64
        (64, 0, 12_220_675, 10_141_441),
        (64, 1000, 17_974_915, 11_165_441),
    ],
)
def test_parameter_counts_match_the_reference(size, classes, g_params, d_params):
    assert (reference_g(size, 256 if size == 32 else 64, classes), reference_d(size, 128 if size == 32 else 64,
                                                                               classes)) == (g_params, d_params)
    # width=None: the reference's widths; a one-hot condition of `classes` values
    cond = "projection" if classes else None
    assert count(Generator(128, size, None, cond_dim=classes)) == g_params
    assert count(Discriminator(size, None, "spectral", False, cond=cond, cond_dim=classes)) == d_params


# ---- spectral normalisation --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("size", "d_cond"), [(32, "projection"), (64, "concat")])
def test_spectral_norm_bounds_every_layer_of_d(size, d_cond):
    torch.manual_seed(0)
    d = Discriminator(size, 4, "spectral", mbstd=True, cond=d_cond, cond_dim=5)
    layers = [m for m in d.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    hooks = [h for m in layers for h in m._forward_pre_hooks.values() if isinstance(h, SpectralNorm)]
    assert len(hooks) == len(layers) == (12 if size == 32 else 17)  # every conv and linear layer, one hook each
    raw = [torch.linalg.matrix_norm(m.weight_orig.detach().flatten(1), ord=2) for m in layers]
    assert max(raw) > 1.5  # unnormalised, the layers would not be bounded
    for hook in hooks:
        hook.n_power_iterations = 1000  # torch's own power iteration, run longer than the one per training forward
    d(torch.randn(2, 3, size, size), torch.randn(2, 5))  # training mode: each layer iterates, then normalises
    sigmas = torch.stack([torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2) for m in layers])
    assert (sigmas <= 1 + 1e-3).all() and (sigmas >= 1 - 1e-3).all(), sigmas  # bounded by 1, and normalised to it


def test_norm_none_leaves_d_unnormalised():
    d = Discriminator(32, 4, "none", mbstd=False)
    assert not any(hasattr(m, "weight_orig") for m in d.modules())


# ---- conditional BatchNorm -----------------------------------------------------------------------------------------
def test_conditional_bn_of_a_one_hot_condition_is_the_categorical_lookup():
    """gain = 1 + W_g c and bias = W_b c: a one-hot c reads column k, as the reference's EmbedID of gains (started at
    1) and biases (started at 0); two attribute groups add their columns."""
    torch.manual_seed(0)
    norm = ConditionalBatchNorm2d(4, cond_dim=5)
    assert count(norm) == 2 * 5 * 4  # one gain and one bias per class and channel, as two EmbedID(5, 4)
    nn.init.normal_(norm.to_gain.weight)
    nn.init.normal_(norm.to_bias.weight)
    x, k = torch.randn(6, 4, 3, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    normalised = F.batch_norm(x, None, None, training=True, eps=2e-5)
    gain, bias = 1 + norm.to_gain.weight.T[k], norm.to_bias.weight.T[k]  # a lookup table of the class
    expected = normalised * gain[:, :, None, None] + bias[:, :, None, None]
    assert_close(norm(x, F.one_hot(k, 5).float()), expected)
    both = torch.cat([F.one_hot(k % 2, 2), F.one_hot(k % 3, 3)], 1).float()  # two groups: 2 and 3 values
    gain = 1 + norm.to_gain.weight.T[k % 2] + norm.to_gain.weight.T[2 + k % 3]
    bias = norm.to_bias.weight.T[k % 2] + norm.to_bias.weight.T[2 + k % 3]
    assert_close(norm(x, both), normalised * gain[:, :, None, None] + bias[:, :, None, None])


# ---- selection by config -------------------------------------------------------------------------------------------
def test_one_override_picks_each_network_and_the_default_stays_dcgan():
    cfg = make_config(*RESNET)
    assert cfg.model.generator._target_ == "ganexp.nets.resnet.Generator"
    assert cfg.model.discriminator._target_ == "ganexp.nets.resnet.Discriminator"
    assert cfg.model.generator.z_dim == cfg.model.z_dim and cfg.model.discriminator.image_size == cfg.data.image_size
    mixed = make_config("model=acgan", "model/discriminator=resnet")  # one network alone
    assert mixed.model.generator._target_ == "ganexp.nets.dcgan.Generator"
    assert mixed.model.discriminator._target_ == "ganexp.nets.resnet.Discriminator"
    default = make_config()
    assert default.model.generator._target_ == "ganexp.nets.dcgan.Generator"
    assert OmegaConf.to_container(default.model.discriminator) == {
        "_target_": "ganexp.nets.dcgan.Discriminator", "image_size": "${data.image_size}", "width": 32, "norm": "auto",
        "mbstd": False}


@pytest.mark.parametrize(("override", "message"), [
    ("data.image_size=128", "model.generator.image_size=128: not one of 32, 64"),
    ("model.discriminator.norm=auto", "model.discriminator.norm='auto': not one of spectral, none"),
])
def test_what_the_resnet_pair_cannot_take_is_one_error_line(override, message):
    with pytest.raises(ConfigError, match=message):
        validate(make_config("debug=smoke", *RESNET, override))


def test_network_options_set_no_class_default_and_declare_ranges():
    """What tests/integration/test_config.py checks for conf/*/*.yaml, for the network groups
    conf/model/{generator,discriminator}: a value set in an option file is not also a default of its class; every
    numeric parameter declares its range."""
    for path in sorted([*CONF.glob("model/generator/*.yaml"), *CONF.glob("model/discriminator/*.yaml")]):
        node = OmegaConf.to_container(OmegaConf.load(path))
        module, _, name = node["_target_"].rpartition(".")
        target = getattr(importlib.import_module(module), name)
        params = inspect.signature(target.__init__).parameters
        assert set(node) - {"_target_"} <= set(params), path
        assert not [k for k in node if k in params and params[k].default not in (inspect.Parameter.empty, None)], path
        hints = inspect.get_annotations(target.__init__)
        assert all(range_of(hints[p]) is not None for p in params if p in hints and _numeric(hints[p])), path


def _numeric(annotation) -> bool:
    return strip(annotation) in (int, float, int | None, float | None)

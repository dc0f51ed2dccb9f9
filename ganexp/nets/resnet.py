"""Residual G and D of SNGAN (Miyato et al. 2018) and of the cGAN with projection D (Miyato & Koyama 2018), 32 and
64 pixel images. Picked by `model/generator=resnet model/discriminator=resnet` for any image model.

Followed: the authors' code, github pfnet-research/sngan_projection (commit e84b1a5): gen_models/resnet_32.py,
gen_models/resnet_64.py and gen_models/resblocks.py (G); dis_models/snresnet_32.py, dis_models/snresnet_64.py and
dis_models/resblocks.py (D); source/links/categorical_conditional_batch_normalization.py (G's conditional BN);
source/links/sn_embed_id.py (the projection). The same nets in PyTorch: kwotsin/mimicry,
torch_mimicry/nets/sngan/sngan_{32,64}.py and nets/cgan_pd/cgan_pd_32.py.

  32 px  G: z -> linear -> 4x4 x w -> 3 up-blocks (w) -> BN, ReLU, 3x3 conv, tanh            reference w = 256
         D: optimised down-block (w) -> down-block (w) -> 2 blocks (w) at 8x8                 reference w = 128
  64 px  G: z -> 4x4 x 16w -> up-blocks 8w, 4w, 2w, w -> BN, ReLU, 3x3 conv, tanh           reference w = 64
         D: optimised down-block (w) -> down-blocks 2w, 4w, 8w, 16w (2x2)                      reference w = 64
D ends with ReLU and a global sum pool (its `features`, (N, C)), then a linear score. Every conv and linear layer
of D is spectrally normalised (one power iteration per training forward, as the reference). `width: null` gives
the reference widths. Layers, initialisation (Glorot uniform, gain sqrt 2 in the residual convs, 1 elsewhere;
biases 0) and BN constants (eps 2e-5, momentum 0.1 = chainer's decay 0.9) are the reference's; so are its last
linear layers: no bias at 32 px (snresnet_32.py, nobias=True), a bias at 64 px.

Departures, each for ganexp's contract (the same as the DCGAN pair's, ganexp/nets/dcgan.py):
- The condition arrives as an encoded vector c (ganexp/nets/cond.py), not a class index. G's conditional BN (both
  BNs of every residual block; the last BN stays plain, as in the reference) takes gain = 1 + W_g c and bias = W_b c,
  linear maps without bias initialised to 0: for a one-hot c this *is* the reference's categorical lookup (EmbedID
  initialised to 1 and 0) with the same parameters, several attribute groups add their rows, and a learned
  embedding, a sentence vector or InfoGAN's codes go through the same map. z alone feeds the first layer.
- D takes the condition as `cond` says: `projection` is the reference (<SN-embed(c), features> added to the score;
  SNEmbedID is a bias-free SN linear map of a one-hot c); `concat` joins c to the pooled features before an SN
  linear + ReLU; `expand` tiles c as extra input channels. PacGAN packs (`pack`) widen D's input.
- `norm`: spectral (the reference) or none (an ablation); BatchNorm/LayerNorm D are not offered (`auto` is
  refused at start-up: SN already suits every loss and penalty). `mbstd` appends the batch's feature spread to the
  pooled features before the score.
"""

from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import spectral_norm

from ganexp.errors import ConfigError
from ganexp.nets.dcgan import NOT_DENSE, DCond, minibatch_stddev
from ganexp.ranges import Count, ZeroOrMore

ImageSize = Literal[32, 64]
SIZES = get_args(ImageSize)
REFERENCE_WIDTH = {32: (256, 128), 64: (64, 64)}  # (G's ch, D's ch) of the reference configs at each size
BN_EPS = 2e-5  # chainer's BatchNormalization default, which the reference uses


def check_size(image_size: int) -> None:
    if image_size not in SIZES:
        raise ConfigError(f"data.image_size={image_size} is not supported by the ResNet networks; choose one of "
                          f"{SIZES}")


def conv(c_in: int, c_out: int, kernel: int, gain: float = 1.0) -> nn.Conv2d:
    """A 'same' conv initialised as the reference's GlorotUniform(gain), bias 0."""
    layer = nn.Conv2d(c_in, c_out, kernel, 1, kernel // 2)
    nn.init.xavier_uniform_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


def linear(c_in: int, c_out: int, bias: bool = True) -> nn.Linear:
    layer = nn.Linear(c_in, c_out, bias=bias)
    nn.init.xavier_uniform_(layer.weight)
    if bias:
        nn.init.zeros_(layer.bias)
    return layer


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose gain and bias are linear in the condition vector: gain = 1 + W_g c, bias = W_b c (a one-hot c
    picks a row per class: categorical conditional BN). Without a condition (`cond_dim=0`), plain BatchNorm."""

    def __init__(self, channels: int, cond_dim: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, eps=BN_EPS, affine=not cond_dim)
        self.cond_dim = cond_dim
        if cond_dim:
            self.to_gain = nn.Linear(cond_dim, channels, bias=False)
            self.to_bias = nn.Linear(cond_dim, channels, bias=False)
            nn.init.zeros_(self.to_gain.weight)  # gain 1 and bias 0 for every class, as the reference starts
            nn.init.zeros_(self.to_bias.weight)

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        h = self.bn(x)
        if not self.cond_dim:
            return h
        return h * (1 + self.to_gain(cond))[:, :, None, None] + self.to_bias(cond)[:, :, None, None]


class GBlock(nn.Module):
    """BN, ReLU, 2x nearest upsampling, 3x3 conv, BN, ReLU, 3x3 conv; shortcut: upsampling and a 1x1 conv."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int):
        super().__init__()
        self.b1, self.b2 = ConditionalBatchNorm2d(c_in, cond_dim), ConditionalBatchNorm2d(c_out, cond_dim)
        self.c1, self.c2 = conv(c_in, c_out, 3, 2**0.5), conv(c_out, c_out, 3, 2**0.5)
        self.c_sc = conv(c_in, c_out, 1)

    def forward(self, x: Tensor, cond: Tensor | None) -> Tensor:
        h = self.c1(F.interpolate(F.relu(self.b1(x, cond)), scale_factor=2))
        h = self.c2(F.relu(self.b2(h, cond)))
        return h + self.c_sc(F.interpolate(x, scale_factor=2))


class Generator(nn.Module):
    """z -> image in [-1, 1]; the condition (`cond_dim` > 0) sets the residual blocks' BN gains and biases."""

    samples = "images"  # what it makes: the data set must serve the same (checked at start-up)

    def __init__(self, z_dim: Count, image_size: ImageSize, width: Count | None, channels: Count = 3,
                 cond_dim: ZeroOrMore = 0):
        super().__init__()
        check_size(image_size)
        w = width or REFERENCE_WIDTH[image_size][0]
        widths = [w] * 4 if image_size == 32 else [16 * w, 8 * w, 4 * w, 2 * w, w]
        self.z_dim, self.bottom = z_dim, widths[0]
        self.l1 = linear(z_dim, 4 * 4 * widths[0])
        self.blocks = nn.ModuleList(GBlock(a, b, cond_dim) for a, b in zip(widths, widths[1:], strict=False))
        self.b_out = nn.BatchNorm2d(widths[-1], eps=BN_EPS)
        self.c_out = conv(widths[-1], channels, 3)

    def forward(self, z: Tensor, cond: Tensor | None = None) -> Tensor:
        h = self.l1(z).view(len(z), self.bottom, 4, 4)
        for block in self.blocks:
            h = block(h, cond)
        return torch.tanh(self.c_out(F.relu(self.b_out(h))))


class DBlock(nn.Module):
    """ReLU, 3x3 conv, ReLU, 3x3 conv (hidden width: the input's), then 2x2 average pooling when `down`; shortcut:
    a 1x1 conv (when the width changes or it pools), then the pooling. `first`: the reference's OptimizedBlock on the
    image (no leading ReLU, the first conv widens; the shortcut pools before its conv)."""

    def __init__(self, c_in: int, c_out: int, down: bool, sn, first: bool = False):
        super().__init__()
        self.down, self.first = down, first
        hidden = c_out if first else c_in
        self.c1, self.c2 = sn(conv(c_in, hidden, 3, 2**0.5)), sn(conv(hidden, c_out, 3, 2**0.5))
        self.c_sc = sn(conv(c_in, c_out, 1)) if first or down or c_in != c_out else None

    def forward(self, x: Tensor) -> Tensor:
        h = self.c2(F.relu(self.c1(x if self.first else F.relu(x))))
        if self.first:
            return F.avg_pool2d(h, 2) + self.c_sc(F.avg_pool2d(x, 2))
        shortcut = x if self.c_sc is None else self.c_sc(x)
        if self.down:
            h, shortcut = F.avg_pool2d(h, 2), F.avg_pool2d(shortcut, 2)
        return h + shortcut


class Discriminator(nn.Module):
    """image (+ condition) -> score per sample (N,). `features` gives the pooled features that extra heads share."""

    def __init__(
        self,
        image_size: ImageSize,
        width: Count | None,
        norm: Literal["spectral", "none"],
        mbstd: bool,
        cond: DCond | None = None,
        channels: Count = 3,
        cond_dim: ZeroOrMore = 0,
        pack: Count = 1,
    ):
        """As the DCGAN D (ganexp.nets.dcgan.Discriminator): `cond` says how a condition of `cond_dim` enters, `pack`
        images (with their conditions, `cond_dim` being the packed size) are judged together."""
        super().__init__()
        check_size(image_size)
        if norm not in ("spectral", "none"):
            raise ConfigError(f"model.discriminator.norm={norm!r}: the ResNet D takes spectral or none")
        if cond_dim and cond not in NOT_DENSE:
            raise ConfigError(f"model.discriminator.cond={cond!r}: this conditional D takes one of {NOT_DENSE} "
                              "(dense: the DCGAN D only)")
        self.cond_dim, self.d_cond, self.mbstd = cond_dim, cond, mbstd
        sn = spectral_norm if norm == "spectral" else (lambda m: m)
        w = width or REFERENCE_WIDTH[image_size][1]
        widths = [w] * 4 if image_size == 32 else [w, 2 * w, 4 * w, 8 * w, 16 * w]
        c_in = channels * pack + (cond_dim if cond == "expand" else 0)
        blocks = [DBlock(c_in, widths[0], True, sn, first=True)]
        blocks += [DBlock(a, b, image_size == 64 or i == 0, sn) for i, (a, b) in enumerate(zip(widths, widths[1:],
                                                                                             strict=False))]
        self.blocks = nn.Sequential(*blocks)
        c = self.features_dim = widths[-1]
        if cond_dim and cond == "concat":
            self.joint = nn.Sequential(sn(linear(c + cond_dim, c)), nn.ReLU())
        if cond_dim and cond == "projection":
            self.embed = sn(linear(cond_dim, c, bias=False))
        self.out = sn(linear(c + int(mbstd), 1, bias=image_size != 32))

    @property
    def feature_size(self) -> int:
        """Size of `features(x)`: what an extra head on D's features (AC-GAN, InfoGAN) takes."""
        return self.features_dim

    def features(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        """The globally sum-pooled features (N, C), the condition already joined for `expand`/`concat`."""
        if cond is not None and self.d_cond == "expand":
            x = torch.cat([x, cond[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
        h = F.relu(self.blocks(x)).sum((2, 3))
        if cond is not None and self.d_cond == "concat":
            h = self.joint(torch.cat([h, cond], 1))
        return h

    def score(self, h: Tensor, cond: Tensor | None = None) -> Tensor:
        s = self.out(minibatch_stddev(h) if self.mbstd else h).flatten()
        if cond is not None and self.d_cond == "projection":
            s = s + (self.embed(cond) * h).sum(1)
        return s

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        return self.score(self.features(x, cond), cond)

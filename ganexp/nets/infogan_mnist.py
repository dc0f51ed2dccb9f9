"""The small G and D of InfoGAN's MNIST experiments (Chen et al. 2016), the network of Lucic et al. 2018 ("Are GANs
Created Equal?") for MNIST and Fashion-MNIST, after google/compare_gan compare_gan/src/gans/abstract_gan.py (commit
49495fd, "Discriminator architecture based on InfoGAN"):

    D: conv 64 (4x4, stride 2) - lrelu - conv 128 (4x4, stride 2) - [BN] - lrelu - linear 1024 - [BN] - lrelu - linear 1
    G: z - linear 1024 - BN - lrelu - linear 128 x s x s - BN - lrelu - deconv 64 (4x4, stride 2) - BN - lrelu
       - deconv c (4x4, stride 2) - output

lrelu is LeakyReLU(0.2) in both, as there. `width` (64 in the reference) scales every layer: convs of width and 2 x
width channels, a linear layer of 16 x width. Departures, each for ganexp's data and modules: 32 px images (s = 8;
the reference takes 28 px, s = 7), the output is tanh on [-1, 1] (the reference: sigmoid on [0, 1], the same up to
an affine map) with 3 channels (ganexp's grey data repeat the channel), BatchNorm with torch's defaults (the
reference: TF decay 0.999, epsilon 0.001), and the condition options of every ganexp D: `expand` tiles it over the
input, `concat` joins it to the 1024 features before the last layer, `projection` adds <embed(c), features> to the
score.
"""

from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.utils import spectral_norm

from ganexp.errors import ConfigError
from ganexp.nets.dcgan import D_NORMS, NOT_DENSE, DCond, normal_init
from ganexp.ranges import Count, ZeroOrMore


def _side(image_size: int) -> int:
    if image_size != 32:
        raise ConfigError(f"data.image_size={image_size}: model/generator=infogan_mnist and "
                          "model/discriminator=infogan_mnist take 32 px images")
    return image_size // 4


class Generator(nn.Module):
    samples = "images"

    def __init__(self, z_dim: Count, image_size: Literal[32], width: Count, channels: Count = 3,
                 cond_dim: ZeroOrMore = 0):
        super().__init__()
        self.side = s = _side(image_size)
        self.z_dim, self.width = z_dim, width
        hidden, c = 16 * width, 2 * width
        self.dense = nn.Sequential(
            nn.Linear(z_dim + cond_dim, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.2, True),
            nn.Linear(hidden, c * s * s), nn.BatchNorm1d(c * s * s), nn.LeakyReLU(0.2, True),
        )
        self.up = nn.Sequential(
            nn.ConvTranspose2d(c, width, 4, 2, 1), nn.BatchNorm2d(width), nn.LeakyReLU(0.2, True),
            nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh(),
        )
        self.apply(normal_init)  # the reference's N(0, 0.02) weights, zero biases; norms at torch's

    def forward(self, z: Tensor, cond: Tensor | None = None) -> Tensor:
        h = z if cond is None else torch.cat([z, cond], 1)
        return self.up(self.dense(h).view(-1, 2 * self.width, self.side, self.side))


def _norm2d(kind: str, c: int) -> nn.Module:
    return {"batch": nn.BatchNorm2d(c), "layer": nn.GroupNorm(1, c)}.get(kind, nn.Identity())


def _norm1d(kind: str, c: int) -> nn.Module:
    return {"batch": nn.BatchNorm1d(c), "layer": nn.LayerNorm(c)}.get(kind, nn.Identity())


class Discriminator(nn.Module):
    """image (+ condition) -> score (N,); `features` are the 16 x width values before the last layer."""

    def __init__(self, image_size: Literal[32], width: Count,
                 norm: Literal["auto", "batch", "layer", "none", "spectral"], cond: DCond | None = None,
                 channels: Count = 3, cond_dim: ZeroOrMore = 0, pack: Count = 1):
        super().__init__()
        if norm not in D_NORMS:
            raise ConfigError(f"model.discriminator.norm={norm!r} is not one of {D_NORMS}")
        if cond_dim and cond not in NOT_DENSE:
            raise ConfigError(f"model.discriminator.cond={cond!r}: this conditional D takes one of {NOT_DENSE} "
                              "(dense: the DCGAN D only)")
        s = _side(image_size)
        self.feature_size = hidden = 16 * width
        self.cond_dim, self.d_cond = cond_dim, cond
        sn = spectral_norm if norm == "spectral" else (lambda m: m)
        c_in = channels * pack + (cond_dim if cond == "expand" else 0)
        self.trunk = nn.Sequential(
            sn(nn.Conv2d(c_in, width, 4, 2, 1)), nn.LeakyReLU(0.2, True),
            sn(nn.Conv2d(width, 2 * width, 4, 2, 1)), _norm2d(norm, 2 * width), nn.LeakyReLU(0.2, True),
            nn.Flatten(), sn(nn.Linear(2 * width * s * s, hidden)), _norm1d(norm, hidden), nn.LeakyReLU(0.2, True),
        )
        joined = hidden + (cond_dim if cond_dim and cond == "concat" else 0)
        self.out = sn(nn.Linear(joined, 1))
        if cond_dim and cond == "projection":
            self.embed = sn(nn.Linear(cond_dim, hidden, bias=False))
        self.apply(normal_init)  # the reference's N(0, 0.02) weights, zero biases; norms at torch's

    def features(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        if cond is not None and self.d_cond == "expand":
            x = torch.cat([x, cond[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
        return self.trunk(x)

    def score(self, h: Tensor, cond: Tensor | None = None) -> Tensor:
        if cond is not None and self.d_cond == "concat":
            return self.out(torch.cat([h, cond], 1)).flatten()
        s = self.out(h).flatten()
        if cond is not None and self.d_cond == "projection":
            s = s + (self.embed(cond) * h).sum(1)
        return s

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        return self.score(self.features(x, cond), cond)

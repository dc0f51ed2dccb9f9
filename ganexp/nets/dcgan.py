"""DCGAN generator and discriminator (Radford et al. 2016) for 32, 64 and 128 pixel images.

Both take an optional condition vector (already encoded, see `ganexp.nets.cond`). G joins it to z. D takes it in one
of four ways (`d_cond`): `expand` tiles it as extra input channels, `concat` tiles it over the 4x4 conv features and
adds a 1x1 conv before the last layer (as in text-to-image GAN-CLS, and what report 001 calls "tag expand"), `dense`
joins the untiled vector to the flattened features before two dense layers (report 001's "tag concat": "直接跟通過
convolution 的 image concat 再過 dense"), `projection` adds <embed(c), pooled features> to the score
(Miyato & Koyama 2018). `mbstd` gives D's last layer the batch's feature spread (a mode-collapse remedy).
"""

import math
from typing import Literal, get_args

import torch
from torch import Tensor, nn
from torch.nn.utils import spectral_norm

from ganexp.errors import ConfigError
from ganexp.ranges import Count, ZeroOrMore

ImageSize = Literal[32, 64, 128]
DNorm = Literal["batch", "layer", "none", "spectral"]
# tiled over D's input | tiled over its features | joined untiled before dense layers | projected
DCond = Literal["expand", "concat", "dense", "projection"]
SIZES, D_NORMS, D_CONDS = get_args(ImageSize), get_args(DNorm), get_args(DCond)
NOT_DENSE = tuple(c for c in D_CONDS if c != "dense")  # the other networks' D (ResNet, InfoGAN's MNIST D)


def n_blocks(image_size: int) -> int:
    """Number of stride-2 layers between 4x4 and `image_size`."""
    if image_size not in SIZES:
        raise ConfigError(f"data.image_size={image_size} is not supported; choose one of {SIZES}")
    return int(math.log2(image_size // 4))


class Generator(nn.Module):
    """z (+ condition) -> 4x4 -> ... -> image in [-1, 1]; channels halve at each doubling, `width` at the last."""

    samples = "images"  # what it makes: the data set must serve the same (checked at start-up)

    def __init__(self, z_dim: Count, image_size: ImageSize, width: Count, channels: Count = 3,
                 cond_dim: ZeroOrMore = 0):
        super().__init__()
        blocks = n_blocks(image_size)
        c = width * 2 ** (blocks - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim + cond_dim, c, 4, 1, 0, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(True),
        ]
        for _ in range(blocks - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.z_dim = z_dim
        self.apply(dcgan_init)

    def forward(self, z: Tensor, cond: Tensor | None = None) -> Tensor:
        h = z if cond is None else torch.cat([z, cond], 1)
        return self.net(h[:, :, None, None])


def _norm(kind: str, c: int) -> nn.Module:
    # "layer" normalises each sample over (C, H, W): per-sample, as the gradient penalty requires.
    return {"batch": nn.BatchNorm2d(c), "layer": nn.GroupNorm(1, c)}.get(kind, nn.Identity())


class Discriminator(nn.Module):
    """image (+ condition) -> score per sample (N,). `trunk` gives the 4x4 features that extra heads can share."""

    def __init__(
        self,
        image_size: ImageSize,
        width: Count,
        norm: Literal["auto", "batch", "layer", "none", "spectral"],
        mbstd: bool,
        cond: DCond | None = None,
        channels: Count = 3,
        cond_dim: ZeroOrMore = 0,
        pack: Count = 1,
    ):
        """`cond` says how a condition of `cond_dim` (> 0: a conditional D) enters; `norm="auto"` must have been
        replaced by the loss's choice (ganexp.build.build_module does). `pack` > 1: D judges packs of that many
        images joined along channels (PacGAN; `model.d_pack`), `cond_dim` then being the packed conditions' size."""
        super().__init__()
        if norm not in D_NORMS:
            raise ConfigError(f"model.discriminator.norm={norm!r} is not one of {D_NORMS}")
        if cond_dim and cond not in D_CONDS:
            raise ConfigError(f"model.discriminator.cond={cond!r}: a conditional D takes one of {D_CONDS}")
        self.cond_dim, self.d_cond = cond_dim, cond
        d_cond = cond
        sn = spectral_norm if norm == "spectral" else (lambda m: m)
        c_in = channels * pack + (cond_dim if d_cond == "expand" else 0)
        layers: list[nn.Module] = [sn(nn.Conv2d(c_in, width, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        c = width
        for _ in range(n_blocks(image_size) - 1):
            layers += [sn(nn.Conv2d(c, c * 2, 4, 2, 1, bias=False)), _norm(norm, c * 2), nn.LeakyReLU(0.2, True)]
            c *= 2
        self.trunk = nn.Sequential(*layers)
        self.features_dim = c  # channels of the 4x4 feature map
        if cond_dim and d_cond == "concat":
            self.joint = nn.Sequential(sn(nn.Conv2d(c + cond_dim, c, 1)), nn.LeakyReLU(0.2, True))
        if cond_dim and d_cond == "projection":
            self.embed = sn(nn.Linear(cond_dim, c, bias=False))
        self.mbstd = mbstd
        if cond_dim and d_cond == "dense":  # the 4x4 conv's place: (features, condition) -> c -> score
            self.dense = nn.Sequential(sn(nn.Linear((c + int(mbstd)) * 16 + cond_dim, c)), nn.LeakyReLU(0.2, True),
                                       sn(nn.Linear(c, 1)))
        else:
            self.out = sn(nn.Conv2d(c + int(mbstd), 1, 4, 1, 0))
        self.apply(dcgan_init)

    @property
    def feature_size(self) -> int:
        """Size of `features(x)` flattened: what an extra head on D's features (AC-GAN, InfoGAN) takes."""
        return self.features_dim * 16

    def features(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        """The 4x4 feature map, the condition already joined for `expand`/`concat`."""
        if cond is not None and self.d_cond == "expand":
            x = torch.cat([x, cond[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
        h = self.trunk(x)
        if cond is not None and self.d_cond == "concat":
            h = self.joint(torch.cat([h, cond[:, :, None, None].expand(-1, -1, *h.shape[2:])], 1))
        return h

    def score(self, h: Tensor, cond: Tensor | None = None) -> Tensor:
        h_out = minibatch_stddev(h) if self.mbstd else h
        if cond is not None and self.d_cond == "dense":
            return self.dense(torch.cat([h_out.flatten(1), cond.to(h_out.dtype)], 1)).flatten()
        s = self.out(h_out).flatten()
        if cond is not None and self.d_cond == "projection":
            s = s + (self.embed(cond) * h.sum((2, 3))).sum(1)
        return s

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        return self.score(self.features(x, cond), cond)


def minibatch_stddev(h: Tensor) -> Tensor:
    """Append one channel holding the batch's mean feature std (Karras et al. 2018): D sees how varied the batch
    is, so a collapsed G (every sample alike) is easy to tell from data. A remedy for mode collapse."""
    std = h.float().std(0, unbiased=False).mean().to(h.dtype)
    return torch.cat([h, std.expand(h.shape[0], 1, *h.shape[2:])], 1)


def normal_init(m: nn.Module) -> None:
    """N(0, 0.02) weights and zero biases of conv, deconv and linear layers (spectral-normed layers kept)."""
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear) and not hasattr(m, "weight_orig"):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def dcgan_init(m: nn.Module) -> None:
    """N(0, 0.02) conv weights and N(1, 0.02) norm scales, as in the DCGAN paper (spectral-normed layers kept)."""
    if hasattr(m, "weight_orig"):
        return
    normal_init(m)
    if isinstance(m, nn.BatchNorm2d | nn.GroupNorm):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)

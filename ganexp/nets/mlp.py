"""MLP generator and discriminator for the 2-D toy mixtures (the shape used in the mode-collapse literature:
a few fully connected layers of a few hundred units). Same interface as the DCGAN nets: D has features/score."""

from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.utils import spectral_norm


def _mlp(sizes: list[int], wrap=lambda m: m) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [wrap(nn.Linear(a, b)), nn.ReLU(True)]
    return layers


class MLPGenerator(nn.Module):
    """z (+ condition) -> `depth` ReLU layers of `width` units -> a point in `out_dim` dimensions."""

    samples = "points"  # what it makes: the data set must serve the same (checked at start-up)

    def __init__(self, z_dim: int, width: int, depth: int, out_dim: int = 2, cond_dim: int = 0):
        super().__init__()
        self.net = nn.Sequential(*_mlp([z_dim + cond_dim] + [width] * depth), nn.Linear(width, out_dim))
        self.z_dim = z_dim

    def forward(self, z: Tensor, cond: Tensor | None = None) -> Tensor:
        return self.net(z if cond is None else torch.cat([z, cond], 1))


class MLPDiscriminator(nn.Module):
    """`norm=spectral` wraps every layer in spectral normalisation; batch and layer norms are not used on 2-D points."""

    def __init__(self, width: int, depth: int, norm: Literal["none", "spectral"], in_dim: int = 2, cond_dim: int = 0,
                 pack: int = 1):
        """`pack` > 1: D reads packs of that many points joined along features (PacGAN; `model.d_pack`)."""
        super().__init__()
        wrap = spectral_norm if norm == "spectral" else (lambda m: m)
        self.trunk = nn.Sequential(*_mlp([in_dim * pack + cond_dim] + [width] * depth, wrap))
        self.out = wrap(nn.Linear(width, 1))
        self.feature_size = width

    def features(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        return self.trunk(x if cond is None else torch.cat([x, cond], 1))

    def score(self, h: Tensor, cond: Tensor | None = None) -> Tensor:
        return self.out(h).flatten()

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        return self.score(self.features(x, cond), cond)

"""MLP generator and discriminator for the 2-D toy mixtures, with the options that the mode-collapse benchmark's
reference code uses (github fjxmlzn/PacGAN, synthetic_data_experiments/2DRing_GAN&PacGAN/pacgan_task.py,
`create_model_brick`; the sizes are in conf/model/toy.yaml): BatchNorm + ReLU hidden layers in G, maxout units in
D, weights drawn from N(0, init_std) with zero biases. Same interface as the DCGAN nets: D has features/score."""

from typing import Annotated, Literal

import torch
from torch import Tensor, nn
from torch.nn.utils import spectral_norm

from ganexp.ranges import POSITIVE, Count, ZeroOrMore

InitStd = Annotated[float, POSITIVE] | None  # N(0, init_std) weights; None: torch's default initialisation

# The reference's Blocks BatchNormalization: epsilon 1e-4, and population statistics that move 5% of the way to each
# batch's (its `bn_updates`). Blocks averages the standard deviation where torch averages the variance.
BN_EPS, BN_MOMENTUM = 1e-4, 0.05


def _same(module: nn.Module) -> nn.Module:
    return module


def linear(in_dim: int, out_dim: int, init_std: float | None, bias: bool = True, wrap=_same) -> nn.Module:
    """nn.Linear, initialised from N(0, init_std) with zero bias when `init_std` is set (else torch's default),
    then wrapped (spectral norm reparametrises the initialised weight)."""
    layer = nn.Linear(in_dim, out_dim, bias=bias)
    if init_std is not None:
        nn.init.normal_(layer.weight, 0.0, init_std)
        if bias:
            nn.init.zeros_(layer.bias)
    return wrap(layer)


class Maxout(nn.Module):
    """Maxout units (Goodfellow et al. 2013): `linear` gives `pieces` values per unit, consecutive ones (the grouping
    of Blocks' LinearMaxout, which the reference D uses), and each unit outputs the largest."""

    def __init__(self, linear: nn.Module, pieces: int):
        super().__init__()
        self.linear, self.pieces = linear, pieces

    def forward(self, x: Tensor) -> Tensor:
        h = self.linear(x)
        return h.unflatten(-1, (h.shape[-1] // self.pieces, self.pieces)).amax(-1)


class MLPGenerator(nn.Module):
    """z (+ condition) -> `depth` layers of `width` ReLU units -> a point in `out_dim` dimensions. `batch_norm`:
    each hidden layer is Linear (no bias: BatchNorm's shift replaces it) -> BatchNorm -> ReLU, as in the reference."""

    samples = "points"  # what it makes: the data set must serve the same (checked at start-up)

    def __init__(self, z_dim: Count, width: Count, depth: ZeroOrMore, batch_norm: bool, out_dim: Count = 2,
                 cond_dim: ZeroOrMore = 0, init_std: InitStd = None):
        super().__init__()
        layers: list[nn.Module] = []
        size = z_dim + cond_dim
        for _ in range(depth):
            layers.append(linear(size, width, init_std, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(width, eps=BN_EPS, momentum=BN_MOMENTUM))
            layers.append(nn.ReLU(True))
            size = width
        self.net = nn.Sequential(*layers, linear(size, out_dim, init_std))
        self.z_dim = z_dim

    def forward(self, z: Tensor, cond: Tensor | None = None) -> Tensor:
        return self.net(z if cond is None else torch.cat([z, cond], 1))


class MLPDiscriminator(nn.Module):
    """`depth` hidden layers of `width` units, ReLU or (`maxout` > 0) maxout units of that many pieces, then a linear
    score. `pack` > 1: D reads that many points joined (PacGAN; `model.d_pack`), `cond_dim` being the packed
    conditions' size. `norm=spectral` wraps every layer in spectral normalisation; batch and layer norms are not used
    on 2-D points."""

    def __init__(self, width: Count, depth: ZeroOrMore, norm: Literal["none", "spectral"], maxout: ZeroOrMore,
                 in_dim: Count = 2, cond_dim: ZeroOrMore = 0, pack: Count = 1, init_std: InitStd = None):
        super().__init__()
        wrap = spectral_norm if norm == "spectral" else _same
        layers: list[nn.Module] = []
        size = in_dim * pack + cond_dim
        for _ in range(depth):
            if maxout:
                layers.append(Maxout(linear(size, width * maxout, init_std, wrap=wrap), maxout))
            else:
                layers += [linear(size, width, init_std, wrap=wrap), nn.ReLU(True)]
            size = width
        self.trunk = nn.Sequential(*layers)
        self.out = linear(size, 1, init_std, wrap=wrap)
        self.feature_size = size

    def features(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        return self.trunk(x if cond is None else torch.cat([x, cond], 1))

    def score(self, h: Tensor, cond: Tensor | None = None) -> Tensor:
        return self.out(h).flatten()

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        return self.score(self.features(x, cond), cond)

"""2-D mixtures of Gaussians, the mode-collapse benchmark (Metz et al. 2017; VEEGAN; PacGAN): `ring` is 8 modes on
a circle of radius 2, `grid` is 25 modes at {-4, -2, 0, 2, 4}^2, each with standard deviation 0.02.

A sample is *high quality* when it lies within 3 std of its nearest mode; a mode is *captured* when at least
`min_count` of the samples are high-quality samples of it (PacGAN's rule, 20 of 2,500 samples).
"""

import math
from dataclasses import asdict, dataclass
from typing import Literal

import torch
from torch import Tensor

from ganexp.data.module import ImageData, LabelledImages
from ganexp.errors import ConfigError

KINDS = ("ring", "grid")


def mixture_centers(kind: str) -> Tensor:
    if kind == "ring":
        angles = torch.arange(8) * (2 * math.pi / 8)
        return 2.0 * torch.stack([angles.cos(), angles.sin()], 1)
    if kind == "grid":
        axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
        return torch.cartesian_prod(axis, axis)
    raise ConfigError(f"data.source.kind={kind!r} is not one of {KINDS}")


def sample_mixture(kind: str, n: int, std: float, seed: int) -> tuple[Tensor, Tensor]:
    """(points (n, 2), mode index (n,)): modes drawn uniformly, then Gaussian noise of `std`."""
    gen = torch.Generator().manual_seed(seed)
    centers = mixture_centers(kind)
    modes = torch.randint(len(centers), (n,), generator=gen)
    return centers[modes] + std * torch.randn(n, 2, generator=gen), modes


def mode_scores(points: Tensor, centers: Tensor, std: float, min_count: int = 20) -> dict[str, float]:
    """`modes`: modes captured; `high_quality`: share of samples within 3 std of their nearest mode;
    `mode_kl`: KL(captured distribution of high-quality samples || uniform), 0 when they spread evenly."""
    distance, nearest = torch.cdist(points.float(), centers.float()).min(1)
    good = distance <= 3 * std
    counts = torch.bincount(nearest[good], minlength=len(centers)).float()
    p = counts / counts.sum().clamp(min=1)
    kl = (p[p > 0] * (p[p > 0] * len(centers)).log()).sum().item() if counts.sum() > 0 else math.nan
    return {"modes": int((counts >= min_count).sum()), "high_quality": good.float().mean().item(), "mode_kl": kl}


@dataclass
class Mixture:
    """The source for `data=toy_ring` / `data=toy_grid`: points as the "images" (float (N, 2)), the mode as label."""

    kind: Literal["ring", "grid"]
    n: int
    std: float
    seed: int

    def key(self) -> str:
        return f"mixture:{asdict(self)}"

    def build(self) -> LabelledImages:
        points, modes = sample_mixture(self.kind, self.n, self.std, self.seed)
        names = [f"mode{i}" for i in range(len(mixture_centers(self.kind)))]
        return LabelledImages(images=points, labels=modes[:, None], attributes=[("mode", names)])


class PointData(ImageData):
    """ImageData for 2-D points: the same endless, resumable batches, without the uint8 -> [-1, 1] conversion."""

    samples = "points"

    def on_after_batch_transfer(self, batch: tuple[Tensor, Tensor], dataloader_idx: int) -> tuple[Tensor, Tensor]:
        return batch

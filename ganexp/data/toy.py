"""2-D mixtures of Gaussians, the mode-collapse benchmark of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al.
2018), with the modes of PacGAN's reference code (github fjxmlzn/PacGAN, synthetic_data_experiments/
2DRing_GAN&PacGAN/config.py and 2DGrid_GAN&PacGAN/config.py): `ring` is 8 modes at (cos 2πk/8, sin 2πk/8), a circle
of radius 1; `grid` is 25 modes at {-4, -2, 0, 2, 4}^2. The standard deviations (0.01 and 0.05) are in
conf/data/toy_ring.yaml and toy_grid.yaml.

The scores follow the reference's MetricLogger (synthetic_data_experiments/PacGAN/pacgan/extensions.py) and VEEGAN's
definitions (akashgit/VEEGAN, index.md): a sample is *high quality* when it lies less than 3 std from its nearest
mode; a mode is *captured* when at least one high-quality sample is nearest to it; the reverse KL compares the
high-quality samples' histogram over the modes with the uniform one.
"""

import math
from dataclasses import asdict, dataclass
from typing import Annotated, Literal

import torch
from torch import Tensor

from ganexp.data.module import ImageData, LabelledImages
from ganexp.errors import ConfigError
from ganexp.ranges import POSITIVE, Count, Seed

KINDS = ("ring", "grid")


def mixture_centers(kind: str) -> Tensor:
    if kind == "ring":
        angles = torch.arange(8) * (2 * math.pi / 8)
        return torch.stack([angles.cos(), angles.sin()], 1)
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


def mode_scores(points: Tensor, centers: Tensor, std: float) -> dict[str, float]:
    """`modes`: modes captured; `high_quality`: share of all samples that are high quality; `reverse_kl`:
    KL(p || uniform) for p the high-quality samples' histogram over their nearest modes (NaN when there are none).

    Samples that are not high quality count in no mode (the reference bins only those), so reverse_kl judges how
    evenly G spreads over the modes and high_quality how much of G lands on them. It equals log(#modes) minus the
    reference's "entropy of coverage" column; the reference code writes no reverse KL itself, so this reading of
    the paper's "reverse KL" is ours."""
    distance, nearest = (points.float()[:, None] - centers.float()[None]).norm(dim=-1).min(1)
    good = distance < 3 * std  # strictly, as the reference's `min_dis < dis_thre`
    counts = torch.bincount(nearest[good], minlength=len(centers)).double()
    p = counts[counts > 0] / counts.sum()
    reverse_kl = (p * (p * len(centers)).log()).sum().item() if len(p) else math.nan
    return {"modes": int((counts > 0).sum()), "high_quality": good.double().mean().item(), "reverse_kl": reverse_kl}


@dataclass
class Mixture:
    """The source for `data=toy_ring` / `data=toy_grid`: points as the "images" (float (N, 2)), the mode as label."""

    kind: Literal["ring", "grid"]
    n: Count
    std: Annotated[float, POSITIVE]
    seed: Seed

    def key(self) -> str:
        # the centres are part of the key: a cache built when the ring had radius 2 is not reused
        return f"mixture:{asdict(self)}:{mixture_centers(self.kind).tolist()}"

    def build(self) -> LabelledImages:
        points, modes = sample_mixture(self.kind, self.n, self.std, self.seed)
        names = [f"mode{i}" for i in range(len(mixture_centers(self.kind)))]
        return LabelledImages(images=points, labels=modes[:, None], attributes=[("mode", names)])


class PointData(ImageData):
    """ImageData for 2-D points: the same endless, resumable batches, without the uint8 -> [-1, 1] conversion."""

    samples = "points"

    def on_after_batch_transfer(self, batch: tuple[Tensor, Tensor], dataloader_idx: int) -> tuple[Tensor, Tensor]:
        return batch

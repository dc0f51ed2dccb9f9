"""Measuring a GAN on the 2-D mixtures while it trains: modes captured, share of high-quality samples, reverse KL."""

import torch

from ganexp.data.toy import mixture_centers, mode_scores
from ganexp.eval.measure import Measurement
from ganexp.viz import generate


class PointEvaluation(Measurement):
    """`toy/modes`, `toy/high_quality`, `toy/mode_kl` of `n` fixed-noise samples (PacGAN's protocol: 2,500 samples,
    a mode captured with at least `min_count` high-quality samples)."""

    def __init__(self, datamodule, run_dir, every: int, monitor: str, seed: int = 4321, n: int = 2500,
                 min_count: int = 20):
        super().__init__(run_dir, every, monitor)
        source = datamodule.source
        self.centers, self.std, self.n, self.min_count = mixture_centers(source.kind), source.std, n, min_count
        self.seed = seed

    def describe(self) -> dict:
        return {"samples": self.n, "noise_seed": self.seed, "modes": len(self.centers), "std": self.std,
                "high_quality": "within 3 std of the nearest mode",
                "captured": f"at least {self.min_count} high-quality samples"}

    @torch.no_grad()
    def measure(self, module) -> dict[str, float]:
        z = torch.randn(self.n, module.z_dim, generator=torch.Generator().manual_seed(self.seed))
        points = generate(module, z, None).cpu()
        return {f"toy/{k}": float(v) for k, v in mode_scores(points, self.centers, self.std, self.min_count).items()}

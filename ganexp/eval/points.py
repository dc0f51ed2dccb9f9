"""Measuring a GAN on the 2-D mixtures while it trains: modes captured, share of high-quality samples, reverse KL."""

import torch

from ganexp.data.toy import mixture_centers, mode_scores
from ganexp.eval.measure import Measurement
from ganexp.schema import EvalConf
from ganexp.viz import generate


class PointEvaluation(Measurement):
    """`toy/modes`, `toy/high_quality`, `toy/reverse_kl` (`ganexp.data.toy.mode_scores`) of `n` fixed-noise samples:
    2,500 as in VEEGAN and PacGAN (github fjxmlzn/PacGAN, synthetic_data_experiments/2DRing_GAN&PacGAN/config.py,
    `num_log_figure_sample`), drawn with G in eval mode like the reference's GraphLogger."""

    def __init__(self, datamodule, run_dir, every: int, monitor: str, seed: int = EvalConf.seed, n: int = 2500):
        super().__init__(run_dir, every, monitor)
        source = datamodule.source
        self.centers, self.std, self.n, self.seed = mixture_centers(source.kind), source.std, n, seed

    def describe(self) -> dict:
        return {"samples": self.n, "noise_seed": self.seed, "modes": len(self.centers), "std": self.std,
                "high_quality": "less than 3 std from the nearest mode",
                "captured": "at least one high-quality sample",
                "reverse_kl": "KL(high-quality samples' histogram over the modes || uniform)"}

    def metric_names(self, module) -> list[str]:
        """What `measure` returns: the keys of `mode_scores`, read off a call on the centres themselves."""
        return [f"toy/{k}" for k in mode_scores(self.centers, self.centers, self.std)]

    @torch.no_grad()
    def measure(self, module) -> dict[str, float]:
        z = torch.randn(self.n, module.z_dim, generator=torch.Generator().manual_seed(self.seed))
        points = generate(module, z, None).cpu()
        return {f"toy/{k}": float(v) for k, v in mode_scores(points, self.centers, self.std).items()}

"""A fixed list of random hyper-parameter draws, the same for every loss: the random search of Lucic et al. 2018
("Are GANs Created Equal?") as `+experiment=created_equal` runs it.

The ranges are compare_gan's wide range (google/compare_gan compare_gan/src/params.py, GetDefaultWideRange and the
per-model entries, commit 49495fd): learning rate 10^U[-5, -2] (the same for G and D), Adam's beta1 U[0, 1] (beta2
left at 0.999), disc_iters in {1, 5}, D's normalisation on or off, WGAN's clip 10^U[-3, 0] and WGAN-GP's lambda
10^U[-1, 2]. Draw i comes from its own generator (seeded by (SEED, i)), so the first k draws never depend on how
many are asked for, and every loss sees the same draws: clip and lambda come from one uniform u (clip = 10^(3u - 3),
lambda = 10^(3u - 1)), so a draw's penalty sits at the same place in each loss's range.

Departures: compare_gan draws with Python's `random` (seed 123) and makes sample 0 each model's default settings;
here all draws are random (numpy's PCG64). D's "normalisation on" is BatchNorm except for WGAN-GP, where ganexp
refuses BatchNorm under a per-sample penalty and uses LayerNorm (compare_gan allowed BatchNorm there).
"""

import math
from functools import cache

import numpy as np

SEED = 20180000  # the draws' seed; changing it changes every draw of the experiment
KEYS = ("lr", "beta1", "disc_iters", "d_norm", "penalty_u", "clip", "gp_weight")


@cache
def draw(index: int) -> dict[str, float | int | bool]:
    """Draw `index` (0-based) of the fixed list: each key's value, the penalty's u already mapped per loss."""
    if index < 0:
        raise ValueError(f"draw={index}: a draw is numbered from 0")
    rng = np.random.default_rng([SEED, index])
    u = float(rng.uniform())
    return {
        "lr": float(10 ** rng.uniform(-5, -2)),
        "beta1": float(rng.uniform(0, 1)),
        "disc_iters": int(rng.choice([1, 5])),
        "d_norm": bool(rng.integers(2)),  # True: D normalised (BatchNorm; LayerNorm under a per-sample penalty)
        "penalty_u": u,
        "clip": 10 ** (3 * u - 3),
        "gp_weight": 10 ** (3 * u - 1),
    }


def value(key: str, index: int) -> float | int | str:
    """One value for the config (the `ganexp_draw` resolver): `d_norm` as the norm option ganexp takes."""
    if key not in KEYS:
        raise ValueError(f"ganexp_draw: no draw key {key!r}; the keys are {', '.join(KEYS)}")
    v = draw(int(index))[key]
    if key == "d_norm":
        return "auto" if v else "none"
    return v


def table(n: int) -> list[dict[str, float | int | bool]]:
    """The first `n` draws, for reports and docs."""
    return [{"draw": i, **draw(i)} for i in range(n)]


def budget_curve(scores: list[float]) -> list[dict[str, float]]:
    """The best score over k configurations drawn at random without replacement from the `scores` tried, for
    k = 1..n: its mean and its 10 % / 90 % quantiles, computed exactly (not resampled): with the scores sorted
    ascending, the best of k is the i-th smallest with probability C(n-i, k-1) / C(n, k). Lucic et al. 2018 plot
    this kind of curve (their Figure 4: the minimum FID reached against the number of configurations tried). A
    failed run's score (NaN) counts as worse than every number; a mean that includes one is NaN."""
    ordered = sorted(scores, key=lambda s: (not math.isfinite(s), s))
    n = len(ordered)
    curve = []
    for k in range(1, n + 1):
        p = [math.comb(n - i, k - 1) / math.comb(n, k) for i in range(1, n + 1)]
        mean = sum(pi * s for pi, s in zip(p, ordered, strict=True) if pi) if all(
            math.isfinite(s) for pi, s in zip(p, ordered, strict=True) if pi) else math.nan
        cdf = np.cumsum(p)
        q10 = ordered[int(np.searchsorted(cdf, 0.1 - 1e-12))]
        q90 = ordered[int(np.searchsorted(cdf, 0.9 - 1e-12))]
        curve.append({"k": k, "mean": mean, "q10": q10, "q90": q90})
    return curve

"""Which way each metric points, without importing torch (the report and the config resolvers use it).

Most metrics are lower-is-better (FID, KID, losses). `HIGHER_IS_BETTER` prefixes name the others.
`collapse/diversity_ratio` is best at 1 (below: G repeats itself; above: noise), and so is `pr/density` (above 1:
fakes crowd where reals are dense), so runs are ranked by |value - 1| and these cannot steer an Optuna study, whose
directions are only "maximize" and "minimize".
"""

import math

HIGHER_IS_BETTER = ("acc/", "collapse/class_coverage", "toy/modes", "toy/high_quality", "pr/precision", "pr/recall",
                    "pr/coverage", "info/")  # info/cat_acc, info/code_nmi/*: how much of its codes G keeps
BEST_AT_ONE = ("collapse/diversity_ratio", "pr/density")


def badness(metric: str, value: float) -> float:
    """A number that is smaller for a better `value` of `metric` (inf for NaN)."""
    if value is None or math.isnan(value):
        return math.inf
    if metric.startswith(BEST_AT_ONE):
        return abs(value - 1)
    return -value if metric.startswith(HIGHER_IS_BETTER) else value


def better(metric: str, new: float, old: float | None) -> bool:
    """Whether `new` beats `old` (any number beats None or NaN)."""
    if old is None or math.isnan(old):
        return not math.isnan(new)
    return badness(metric, new) < badness(metric, old)


def describe(metric: str) -> str:
    if metric.startswith(BEST_AT_ONE):
        return "closest to 1"
    return "higher" if metric.startswith(HIGHER_IS_BETTER) else "lower"

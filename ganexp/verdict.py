"""The one rule every finding is judged by (the findings page, docs/findings.md; `python -m ganexp.report --baseline`).

Two settings, each run over several seeds, are compared on one metric by the difference of their means and that
difference's standard error, SE = sqrt(s_a^2 / n_a + s_b^2 / n_b) (s: the seeds' sample standard deviation). A
setting is **better** when the difference in its favour exceeds 2 SE (about a 95 % two-sided level for a normal
difference; with 3 seeds a side this is a rough screen, not a test). Anything less is **inconclusive**. A claim
"A beats B" is then *confirmed* when A is better, *refuted* when B is better, *inconclusive* otherwise. Metrics best
at 1 (`collapse/diversity_ratio`, `pr/density`) are compared by |value - 1|, as the ranking does.

A claim of *no* difference ("pixel pre-training gains nothing") names a margin, the largest difference it still
calls none, in the metric's units; the same interval, difference ± 2 SE, then decides it (an equivalence test, as
TOST): *confirmed* when the interval lies inside ±margin, *refuted* when it lies wholly outside, else inconclusive.
"""

import math
import statistics
from dataclasses import dataclass

from ganexp.metrics import HIGHER, TARGET_1, direction

Z = 2.0  # a difference counts when it exceeds Z standard errors


@dataclass(frozen=True)
class Comparison:
    diff: float  # mean(a) - mean(b), in the metric's units (for best-at-1 metrics: of |value - 1|)
    se: float  # its standard error (NaN with fewer than 2 seeds on a side)
    better: str | None  # "a", "b", or None: inconclusive

    def text(self, a: str = "a", b: str = "b") -> str:
        if math.isnan(self.se):
            return f"{self.diff:+.4g} (one seed on a side: no standard error) -> inconclusive"
        winner = {"a": a, "b": b, None: "inconclusive"}[self.better]
        return f"{self.diff:+.4g} ± {self.se:.2g} (SE) -> {winner if self.better is None else winner + ' better'}"


def compare(a: list[float], b: list[float], metric: str) -> Comparison:
    """Seeds of setting `a` against seeds of setting `b` on `metric` (NaNs dropped)."""
    towards = direction(metric)  # the registry's (ganexp/metrics.py); an unknown name is one line
    if towards == TARGET_1:
        a, b = [abs(v - 1) for v in a], [abs(v - 1) for v in b]
    a, b = [v for v in a if not math.isnan(v)], [v for v in b if not math.isnan(v)]
    if not a or not b:
        return Comparison(math.nan, math.nan, None)
    diff = statistics.mean(a) - statistics.mean(b)
    if len(a) < 2 or len(b) < 2:
        return Comparison(diff, math.nan, None)
    se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    higher = towards == HIGHER
    if abs(diff) <= Z * se:
        return Comparison(diff, se, None)
    return Comparison(diff, se, "a" if (diff > 0) == higher else "b")


def judged(c: Comparison, margin: float | None = None) -> str:
    """confirmed, refuted or inconclusive: for "the claimed setting (a) beats the other (b)" when `margin` is None,
    else for "they differ by less than `margin`"."""
    if margin is None:
        return {"a": "confirmed", "b": "refuted", None: "inconclusive"}[c.better]
    if math.isnan(c.se):
        return "inconclusive"
    if abs(c.diff) + Z * c.se <= margin:
        return "confirmed"
    return "refuted" if abs(c.diff) - Z * c.se > margin else "inconclusive"


def verdict(claimed: list[float], other: list[float], metric: str, margin: float | None = None) -> str:
    """The claim "the `claimed` setting beats the `other` on `metric`" (or, with `margin`, "they differ by less
    than `margin`"): confirmed, refuted or inconclusive."""
    return judged(compare(claimed, other, metric), margin)

"""The one rule every finding is judged by (the findings page, docs/findings.md; `python -m ganexp.report --baseline`).

Two settings, each run over several seeds, are compared on one metric by Welch's t-test (unequal variances): the
difference of their means, its standard error SE = sqrt(s_a^2 / n_a + s_b^2 / n_b) (s: the seeds' sample standard
deviation) and the Welch-Satterthwaite degrees of freedom df. A setting is **better** when the two-sided p-value is
below ALPHA = 5 % and the difference is in its favour; anything else is **inconclusive**. A claim "A beats B" is then
*confirmed* when A is better, *refuted* when B is better, *inconclusive* otherwise. Metrics best at 1
(`collapse/diversity_ratio`, `pr/density`) are compared by |value - 1|, as the ranking does.

A claim of *no* difference ("pixel pre-training gains nothing") names a margin, the largest difference it still
calls none, in the metric's units, and is judged with the same df: *confirmed* by two one-sided tests (TOST: the
difference is above -margin, and below +margin, each at ALPHA), i.e. when the 90 % interval diff ± t(0.95, df)·SE
lies inside ±margin; *refuted* when the 95 % interval diff ± t(0.975, df)·SE lies wholly outside ±margin (a
two-sided test against the nearer edge of the margin, at ALPHA); inconclusive otherwise.

For an inconclusive comparison, `seeds_to_detect` says how many seeds a side a two-sided Welch test at ALPHA would
need to detect the observed difference with 80 % power, given the two observed standard deviations.

Two metrics of the *same* jobs (acc/new_test against acc/test, say) are compared by `compare_paired`: both numbers
come from one job, so what is shared between them (the seed, the run's luck) cancels in their difference, and the
per-job differences are the sample. Their mean, SE = sd / sqrt(n) over the n jobs and the paired t-test (df = n - 1)
take Welch's place, with the same verdict words (and the same TOST for a margin); `seeds_to_detect` then counts jobs,
by the one-sample noncentral t (noncentrality mean / (sd / sqrt(n)), df n - 1).

One setting against a stated level ("G's loss passes 5 by epoch 20") is `compare_level`: the one-sample t-test of
its seeds against the level (SE = sd / sqrt(n), df = n - 1), which is the paired test against a constant; the claim
says which side of the level it expects, whatever the metric's direction.
"""

import math
import statistics
import warnings
from dataclasses import dataclass

from scipy import stats

from ganexp.metrics import HIGHER, LOWER, TARGET_1, direction

ALPHA = 0.05  # two-sided level of every test
POWER = 0.8  # the power `seeds_to_detect` asks for
MOST_SEEDS = 1000  # `seeds_to_detect` looks no further


@dataclass(frozen=True)
class Comparison:
    diff: float  # mean(a) - mean(b), in the metric's units (for best-at-1 metrics: of |value - 1|)
    se: float  # its standard error (NaN with fewer than 2 seeds on a side)
    better: str | None  # "a", "b", or None: inconclusive
    p: float = math.nan  # Welch's two-sided p-value (NaN with fewer than 2 seeds on a side); paired: the paired t's
    df: float = math.nan  # Welch-Satterthwaite degrees of freedom (NaN there too, and with no spread on either side)
    sd_a: float = math.nan  # the seeds' sample standard deviations (on the compared scale), for `seeds_to_detect`
    sd_b: float = math.nan
    paired: bool = False  # by `compare_paired`: diff is the mean per-job difference, df = n - 1
    sd_diff: float = math.nan  # paired: the per-job differences' sample standard deviation

    def text(self, a: str = "a", b: str = "b") -> str:
        if math.isnan(self.se):
            return f"{self.diff:+.4g} ({'one job' if self.paired else 'one seed on a side'}: no standard error) -> " \
                   "inconclusive"
        winner = {"a": a, "b": b, None: "inconclusive"}[self.better]
        return (f"{self.diff:+.4g} ± {self.se:.2g} (SE{', paired' if self.paired else ''}), {p_text(self.p)}, "
                f"df = {self.df:.3g} -> {winner if self.better is None else winner + ' better'}")


def p_text(p: float, name: str = "p") -> str:
    """A p-value as the pages print it: "p = 0.021" (two digits), "p < 0.001" below that."""
    return f"{name} < 0.001" if p < 0.001 else f"{name} = {p:.2g}"


def compare(a: list[float], b: list[float], metric: str, towards: str | None = None) -> Comparison:
    """Seeds of setting `a` against seeds of setting `b` on `metric` (NaNs dropped), by Welch's t-test; `towards`
    (HIGHER or LOWER) says which way is better in place of the registry."""
    towards = towards or direction(metric)  # the registry's (ganexp/metrics.py); an unknown name is one line
    if towards == TARGET_1:
        a, b = [abs(v - 1) for v in a], [abs(v - 1) for v in b]
    a, b = [v for v in a if not math.isnan(v)], [v for v in b if not math.isnan(v)]
    if not a or not b:
        return Comparison(math.nan, math.nan, None)
    diff = statistics.mean(a) - statistics.mean(b)
    if len(a) < 2 or len(b) < 2:
        return Comparison(diff, math.nan, None)
    sd_a, sd_b = statistics.stdev(a), statistics.stdev(b)
    se = math.sqrt(sd_a**2 / len(a) + sd_b**2 / len(b))
    if se == 0:  # every seed the same on both sides: no test needed (Welch's df is 0/0 here)
        p, df = (0.0 if diff else 1.0), math.nan
    else:
        # scipy warns of "precision loss" when one side's seeds are all equal; its variance 0 is exact all the same
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
            # scipy >= 1.11: the result carries .pvalue (two-sided) and .df (Welch-Satterthwaite with equal_var=False)
            test = stats.ttest_ind(a, b, equal_var=False)
        p, df = float(test.pvalue), float(test.df)
    return Comparison(diff, se, winner(diff, p, towards), p, df, sd_a, sd_b)


def winner(diff: float, p: float, towards: str) -> str | None:
    """"a" or "b", the side a difference `diff` (a - b) with two-sided p-value `p` favours; None: inconclusive."""
    if not p < ALPHA:
        return None
    return "a" if (diff > 0) == (towards == HIGHER) else "b"


def compare_paired(a: list[float], b: list[float], metric: str, towards: str | None = None) -> Comparison:
    """Two metrics of the same jobs, a[i] and b[i] from job i (a pair with a NaN dropped), by the paired t-test on
    the per-job differences a[i] - b[i]; `metric` (a's; b's points the same way) says which way is better, unless
    `towards` (HIGHER or LOWER) does."""
    if len(a) != len(b):
        raise ValueError(f"paired values come one of each per job: {len(a)} against {len(b)}")
    towards = towards or direction(metric)
    if towards == TARGET_1:
        a, b = [abs(v - 1) for v in a], [abs(v - 1) for v in b]
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if not (math.isnan(x) or math.isnan(y))]
    if not pairs:
        return Comparison(math.nan, math.nan, None, paired=True)
    diffs = [x - y for x, y in pairs]
    diff = statistics.mean(diffs)
    if len(pairs) < 2:
        return Comparison(diff, math.nan, None, paired=True)
    sd = statistics.stdev(diffs)
    se, df = sd / math.sqrt(len(pairs)), float(len(pairs) - 1)
    if se == 0:  # every job's difference the same: the mean decides (the t statistic is 0/0 or infinite)
        p = 0.0 if diff else 1.0
    else:  # scipy's ttest_rel is the one-sample t-test of the differences: t = mean / (sd / sqrt(n)), n - 1 df
        p = float(stats.ttest_rel([x for x, _ in pairs], [y for _, y in pairs]).pvalue)
    return Comparison(diff, se, winner(diff, p, towards), p, df, paired=True, sd_diff=sd)


def compare_level(values: list[float], level: float, above: bool) -> Comparison:
    """One setting's seeds against a stated `level` by the one-sample t-test (NaNs dropped): "a" (the claim) is
    better when the mean lies significantly `above` the level (or below it, with above=False)."""
    return compare_paired(values, [level] * len(values), "", towards=HIGHER if above else LOWER)


def tost_p(c: Comparison, margin: float) -> float:
    """Two one-sided tests that the true difference lies within ±margin: the larger of their p-values (below ALPHA
    exactly when diff ± t(1 - ALPHA, df)·SE lies inside ±margin)."""
    if c.se == 0:
        return 0.0 if abs(c.diff) < margin else 1.0
    above = stats.t.sf((c.diff + margin) / c.se, c.df)  # H0: difference <= -margin
    below = stats.t.cdf((c.diff - margin) / c.se, c.df)  # H0: difference >= +margin
    return float(max(above, below))


def beyond_p(c: Comparison, margin: float) -> float:
    """The two-sided test that the true difference is the nearer edge of ±margin, for a difference beyond it: below
    ALPHA exactly when diff ± t(1 - ALPHA/2, df)·SE lies wholly outside ±margin (1 for a difference within it)."""
    if abs(c.diff) <= margin:
        return 1.0
    if c.se == 0:
        return 0.0
    return float(min(1.0, 2 * stats.t.sf((abs(c.diff) - margin) / c.se, c.df)))


def claim_p(c: Comparison, margin: float | None = None) -> float:
    """The p-value the verdict rests on (below ALPHA: confirmed or refuted): Welch's for "a beats b"; for a margin
    claim, TOST's for a difference within the margin, the beyond-margin test's for one outside it."""
    if margin is None:
        return c.p
    return tost_p(c, margin) if abs(c.diff) <= margin else beyond_p(c, margin)


def judged(c: Comparison, margin: float | None = None) -> str:
    """confirmed, refuted or inconclusive: for "the claimed setting (a) beats the other (b)" when `margin` is None,
    else for "they differ by less than `margin`"."""
    if margin is None:
        return {"a": "confirmed", "b": "refuted", None: "inconclusive"}[c.better]
    if math.isnan(c.se) or not claim_p(c, margin) < ALPHA:
        return "inconclusive"
    return "confirmed" if abs(c.diff) <= margin else "refuted"


def verdict(claimed: list[float], other: list[float], metric: str, margin: float | None = None) -> str:
    """The claim "the `claimed` setting beats the `other` on `metric`" (or, with `margin`, "they differ by less
    than `margin`"): confirmed, refuted or inconclusive."""
    return judged(compare(claimed, other, metric), margin)


def power(diff: float, sd_a: float, sd_b: float, n: int) -> float:
    """The chance that a two-sided Welch test at ALPHA with `n` seeds a side finds a true difference `diff` between
    settings whose seeds spread by `sd_a` and `sd_b`: P(|T'| > t(1 - ALPHA/2, df_n)), T' noncentral t with
    noncentrality diff / sqrt((sd_a² + sd_b²) / n) and Welch's df for n a side."""
    var = sd_a**2 + sd_b**2
    df = (n - 1) * var**2 / (sd_a**4 + sd_b**4)  # Welch-Satterthwaite with n_a = n_b = n
    return two_sided_power(abs(diff) / math.sqrt(var / n), df)


def power_paired(diff: float, sd: float, n: int) -> float:
    """The chance that a two-sided paired t-test at ALPHA over `n` jobs finds a true mean difference `diff` whose
    per-job differences spread by `sd`: P(|T'| > t(1 - ALPHA/2, n - 1)), noncentrality diff / (sd / sqrt(n))."""
    return two_sided_power(abs(diff) / (sd / math.sqrt(n)), n - 1)


def two_sided_power(noncentrality: float, df: float) -> float:
    """P(|T'| > t(1 - ALPHA/2, df)) for T' noncentral t with `noncentrality` and `df`."""
    critical = stats.t.ppf(1 - ALPHA / 2, df)
    # the far tail P(T' < -critical) as P(T'' > critical) with the noncentrality negated (the same by symmetry):
    # scipy 1.17's nct.cdf gives NaN there once the noncentrality is large (e.g. 250 seeds, diff = 1 SD)
    return float(stats.nct.sf(critical, df, noncentrality) + stats.nct.sf(critical, df, -noncentrality))


def seeds_to_detect(c: Comparison) -> int | None:
    """The fewest seeds a side (from 2; paired: jobs) with which a two-sided Welch test (paired: the paired t-test)
    at ALPHA detects the observed difference with POWER, taking the observed standard deviations as the true ones;
    None: more than MOST_SEEDS (or no difference, or no spread to judge by)."""
    if math.isnan(c.se) or c.se == 0 or c.diff == 0:
        return None

    def chance(n: int) -> float:
        return power_paired(c.diff, c.sd_diff, n) if c.paired else power(c.diff, c.sd_a, c.sd_b, n)

    if chance(MOST_SEEDS) < POWER:
        return None
    low, high = 1, MOST_SEEDS  # power grows with n (noncentrality and df both do): bisect for the first n reaching it
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if chance(mid) >= POWER else (mid, high)
    return high


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjustment of `pvalues`, in their order: the i-th smallest of m is multiplied by m - i + 1,
    each kept at least as large as the one before it, capped at 1. NaNs (comparisons that tested nothing) stay NaN
    and do not count in m."""
    order = sorted((p, i) for i, p in enumerate(pvalues) if not math.isnan(p))
    adjusted, running = [math.nan] * len(pvalues), 0.0
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p))
        adjusted[i] = running
    return adjusted

"""The findings' rule: Welch's t-test, the paired t-test for two metrics of the same jobs, TOST for claims of no
difference and the seeds a side that would detect a difference, against numbers computed by hand (the t distributions
with 2 and 4 degrees of freedom have closed forms)."""

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from ganexp.verdict import (
    Comparison,
    beyond_p,
    claim_p,
    compare,
    compare_level,
    compare_paired,
    holm,
    judged,
    power,
    power_paired,
    seeds_to_detect,
    tost_p,
    verdict,
)


def t4_cdf(t: float) -> float:
    """Student's t CDF with 4 degrees of freedom in closed form: 1/2 + 3/8 x (1 - x²/12), x = t / sqrt(1 + t²/4)."""
    x = t / math.sqrt(1 + t * t / 4)
    return 0.5 + 3 / 8 * x * (1 - x * x / 12)


def t2_two_sided(t: float) -> float:
    """Student's t with 2 degrees of freedom, two-sided p in closed form: CDF 1/2 + t / (2 sqrt(2 + t²)), so
    P(|T| > t) = 1 - t / sqrt(2 + t²)."""
    return 1 - abs(t) / math.sqrt(2 + t * t)


def test_welch_on_a_hand_example():
    # a = 1, 2, 3 and b = 4, 5, 6: diff -3, variances 1 and 1, SE = sqrt(1/3 + 1/3); t = -3 / 0.8165 = -3.674;
    # Welch df = (2/3)² / ((1/3)²/2 + (1/3)²/2) = 4; two-sided p = 2 F4(-3.674) = 0.02131
    c = compare([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], "fid_eval")
    assert c.diff == pytest.approx(-3.0) and c.se == pytest.approx(math.sqrt(2 / 3)) and c.df == pytest.approx(4.0)
    assert c.diff / c.se == pytest.approx(-3.674, abs=1e-3)
    assert c.p == pytest.approx(2 * t4_cdf(-3 / math.sqrt(2 / 3)), rel=1e-9) and c.p == pytest.approx(0.02131, abs=1e-5)
    assert c.better == "a"  # p < 5 % and lower FID is better
    assert "-3 ± 0.82 (SE), p = 0.021, df = 4 -> a better" == c.text()


def test_welch_degrees_of_freedom_follow_the_two_spreads():
    # variances 1 and 16 over 3 seeds each: df = (17/3)² / ((1/3)²/2 + (16/3)²/2) = 578/257 = 2.249, not the pooled 4
    c = compare([9.0, 10.0, 11.0], [16.0, 20.0, 24.0], "fid_eval")
    assert c.df == pytest.approx(578 / 257) and c.se == pytest.approx(math.sqrt(17 / 3))
    assert c.p == pytest.approx(2 * stats.t.sf(10 / math.sqrt(17 / 3), 578 / 257))


def test_a_clear_difference_on_a_lower_is_better_metric():
    # means 10 and 20, variances 1 and 1, n = 3 each: SE = sqrt(1/3 + 1/3) = 0.8165, t = -12.25, df 4
    c = compare([9.0, 10.0, 11.0], [19.0, 20.0, 21.0], "fid_eval")
    assert c.diff == pytest.approx(-10.0) and c.se == pytest.approx(math.sqrt(2 / 3))
    assert c.p == pytest.approx(2 * t4_cdf(-10 / math.sqrt(2 / 3)), rel=1e-6) and c.p < 0.001
    assert c.better == "a"
    assert verdict([9.0, 10.0, 11.0], [19.0, 20.0, 21.0], "fid_eval") == "confirmed"
    assert verdict([19.0, 20.0, 21.0], [9.0, 10.0, 11.0], "fid_eval") == "refuted"


def test_higher_is_better_metrics_flip_the_direction():
    assert compare([7.0, 8.0, 8.0], [3.0, 4.0, 5.0], "toy/modes").better == "a"
    assert compare([7.0, 8.0, 8.0], [3.0, 4.0, 5.0], "fid_eval").better == "b"


def test_a_difference_the_test_cannot_tell_from_none_is_inconclusive():
    # means 10 and 11.5, variances 4 and 4, n = 3: SE = 1.633, t = -0.9186, df 4: p = 2 F4(-0.9186) = 0.41
    c = compare([8.0, 10.0, 12.0], [9.5, 11.5, 13.5], "fid_eval")
    assert c.se == pytest.approx(math.sqrt(8 / 3)) and c.better is None
    assert c.p == pytest.approx(2 * t4_cdf(-1.5 / math.sqrt(8 / 3)), rel=1e-9)
    assert c.p == pytest.approx(0.4103, abs=1e-4)
    assert verdict([8.0, 10.0, 12.0], [9.5, 11.5, 13.5], "fid_eval") == "inconclusive"
    assert "inconclusive" in c.text()
    # the same difference over twice the SE's share of it: t = 2.6 with df 4 (p 0.06) is not yet 5 %, 2.8 is
    assert compare([9.0, 10.0, 11.0], [11.12, 12.12, 13.12], "fid_eval").better is None  # t = -2.6
    assert compare([9.0, 10.0, 11.0], [11.29, 12.29, 13.29], "fid_eval").better == "a"  # t = -2.80 > 2.776


def test_best_at_one_metrics_compare_distances_to_one():
    # |v - 1|: a = (0.02, 0.01, 0.03) mean 0.02; b = (0.5, 0.6, 0.4) mean 0.5: a is closer to 1
    assert compare([1.02, 0.99, 1.03], [0.5, 0.4, 1.6], "collapse/diversity_ratio").better == "a"


def test_one_seed_has_no_standard_error():
    c = compare([10.0], [20.0, 21.0], "fid_eval")
    assert math.isnan(c.se) and math.isnan(c.p) and math.isnan(c.df) and c.better is None and "one seed" in c.text()
    assert seeds_to_detect(c) is None


def test_seeds_without_spread():
    """Every seed equal on both sides decides by the means alone; on one side only, Welch's df is the other's n - 1
    (and scipy's warning about the constant side's moments, whose variance 0 is exact, is not passed on)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compare([8.0, 8.0, 8.0], [7.0, 7.0, 7.0], "toy/modes").better == "a"
        level = compare([8.0, 8.0, 8.0], [8.0, 8.0, 8.0], "toy/modes")
        assert level.p == 1.0 and level.better is None
        one = compare([8.0, 8.0, 8.0], [5.0, 6.0, 7.0], "toy/modes")
    # SE = sqrt(0 + 1/3), t = 2 / 0.577 = 3.464, df = 2: p = 1 - 3.464 / sqrt(2 + 3.464²) (the t2 closed form) = 0.0742
    assert one.df == pytest.approx(2.0) and one.p == pytest.approx(1 - 2 / math.sqrt(1 / 3) / math.sqrt(2 + 12))


def test_a_claim_of_no_difference_is_judged_by_two_one_sided_tests():
    # means 10 and 11, variances 1 and 1, n = 3: diff -1, SE = sqrt(2/3), df 4. TOST against ±3: t = (-1 + 3) / SE
    # = 2.449 (H0: diff <= -3) and (-1 - 3) / SE = -4.899 (H0: diff >= 3); TOST p the larger one-sided p
    a, b = [9.0, 10.0, 11.0], [10.0, 11.0, 12.0]
    c = compare(a, b, "fid_eval")
    hand = max(1 - t4_cdf(2 / math.sqrt(2 / 3)), t4_cdf(-4 / math.sqrt(2 / 3)))
    assert tost_p(c, 3.0) == pytest.approx(hand, rel=1e-9) and hand == pytest.approx(0.0352, abs=1e-4)
    assert claim_p(c, 3.0) == tost_p(c, 3.0)
    # the 90 % interval -1 ± t(0.95, 4) SE = -1 ± 2.1318 x 0.8165 = [-2.741, 0.741] decides: inside ±2.75, not ±2.73
    assert verdict(a, b, "fid_eval", margin=3.0) == "confirmed"
    assert verdict(a, b, "fid_eval", margin=2.75) == "confirmed"
    assert verdict(a, b, "fid_eval", margin=2.73) == "inconclusive"  # the old difference ± 2 SE rule confirmed this
    assert verdict(a, b, "fid_eval", margin=2.0) == "inconclusive"
    # means 10 and 20: the 95 % interval 10 ± t(0.975, 4) SE = 10 ± 2.7764 x 0.8165 = [7.733, 12.267]: wholly
    # outside ±7.7, not outside ±7.75 (or ±8, which the old rule refuted)
    far = [19.0, 20.0, 21.0]
    assert verdict(a, far, "fid_eval", margin=7.7) == "refuted"
    assert verdict(a, far, "fid_eval", margin=7.75) == "inconclusive"
    assert verdict(a, far, "fid_eval", margin=8.0) == "inconclusive"
    # the beyond-margin test against the nearer edge, 7: t = (10 - 7) / SE = 3.674, as a = 1, 2, 3 against 4, 5, 6
    assert beyond_p(compare(a, far, "fid_eval"), 7.0) == pytest.approx(0.02131, abs=1e-5)
    assert beyond_p(c, 3.0) == 1.0  # a difference inside the margin is no evidence of one beyond it
    # direction does not matter for such a claim, and one seed decides nothing
    assert verdict(far, a, "toy/modes", margin=7.7) == "refuted"
    assert verdict([10.0], [10.0, 10.5], "fid_eval", margin=100.0) == "inconclusive"
    assert judged(Comparison(0.0, 0.0, None, 1.0, math.nan), margin=1.0) == "confirmed"  # no spread: the means decide


def test_seeds_a_side_that_would_detect_the_difference():
    """Equal SDs 1 and a difference of 1 need 17 seeds a side for 80 % power (two-sided 5 %): the noncentral t gives
    0.781 at 16 and 0.807 at 17 (Cohen's table for d = 1 says 17 too), and a seeded simulation of the Welch test
    agrees within its own error (checked by hand with 200,000 draws: 0.780 and 0.804)."""
    assert power(1.0, 1.0, 1.0, 16) == pytest.approx(0.781, abs=1e-3)
    assert power(1.0, 1.0, 1.0, 17) == pytest.approx(0.807, abs=1e-3)
    rng = np.random.default_rng(0)
    for n in (16, 17):
        draws = stats.ttest_ind(rng.normal(1, 1, (20_000, n)), rng.normal(0, 1, (20_000, n)), axis=1, equal_var=False)
        assert (draws.pvalue < 0.05).mean() == pytest.approx(power(1.0, 1.0, 1.0, n), abs=0.012)
    # 1, 2, 3 against 2, 3, 4: a difference of 1 with SDs 1 and 1 is inconclusive over 3 seeds; 17 would detect it
    c = compare([1.0, 2.0, 3.0], [2.0, 3.0, 4.0], "fid_eval")
    assert c.better is None and seeds_to_detect(c) == 17
    # a twentieth of an SD is beyond 1,000 seeds a side; no difference is never detected
    assert seeds_to_detect(compare([1.0, 2.0, 3.0], [1.05, 2.05, 3.05], "fid_eval")) is None
    assert seeds_to_detect(compare([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], "fid_eval")) is None
    # large seed counts stay finite (scipy's lower tail of the noncentral t is NaN there; the rule avoids it)
    assert power(1.0, 1.0, 1.0, 1000) == pytest.approx(1.0) and seeds_to_detect(
        Comparison(0.2, 1.0, None, 0.9, 4.0, 1.0, 1.0)) == 394  # normal approximation: 2 (1.96 + 0.84)² / 0.04 = 392


def test_holm_adjusts_step_down_by_hand():
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1 = 0.03, 0.06, 0.04; each at least the one before: 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.04, 0.01, 0.03]) == pytest.approx([0.06, 0.03, 0.06])
    assert holm([0.5, 0.6]) == [1.0, 1.0]  # 0.5 x 2 = 1 and 0.6 x 1 kept at 1: capped, never above 1
    # a row that tested nothing (NaN) is no member of the family: m is 2 here
    adjusted = holm([0.01, math.nan, 0.04])
    assert adjusted[0] == pytest.approx(0.02) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.04)
    assert holm([]) == [] and holm([0.2]) == [0.2]


def test_paired_on_a_hand_example():
    """Two metrics of the same three jobs: the per-job differences are the sample. a = 2, 4, 6 and b = 1, 2, 3 differ
    by 1, 2, 3: mean 2, sd 1, SE = 1 / sqrt(3); t = 2 sqrt(3) = 3.464 with df = n - 1 = 2: two-sided p = 1 - 3.464 /
    sqrt(2 + 12) = 0.0742, inconclusive. Welch on the same numbers (as if six independent seeds) is further off:
    SE sqrt(4/3 + 1/3) = 1.29."""
    c = compare_paired([2.0, 4.0, 6.0], [1.0, 2.0, 3.0], "toy/modes")
    assert c.paired and c.diff == pytest.approx(2.0) and c.sd_diff == pytest.approx(1.0)
    assert c.se == pytest.approx(1 / math.sqrt(3)) and c.df == 2.0
    assert c.p == pytest.approx(t2_two_sided(2 * math.sqrt(3)), rel=1e-9) and c.p == pytest.approx(0.07418, abs=1e-5)
    assert c.better is None and judged(c) == "inconclusive"
    assert c.text() == "+2 ± 0.58 (SE, paired), p = 0.074, df = 2 -> inconclusive"
    assert compare([2.0, 4.0, 6.0], [1.0, 2.0, 3.0], "toy/modes").se == pytest.approx(math.sqrt(5 / 3))
    # differences 2, 3, 4: mean 3, sd 1, t = 3 sqrt(3) = 5.196: p = 1 - 5.196 / sqrt(29) = 0.0351, confirmed; the
    # pairing is by position: the same values matched otherwise (b reversed) differ by 0, 3, 6 (sd 3, t = sqrt(3),
    # p = 1 - sqrt(3) / sqrt(5) = 0.225)
    a, b = [3.0, 5.0, 7.0], [1.0, 2.0, 3.0]
    c = compare_paired(a, b, "toy/modes")
    assert c.p == pytest.approx(t2_two_sided(3 * math.sqrt(3)), rel=1e-9) and c.p == pytest.approx(0.0351, abs=1e-4)
    assert c.better == "a" and judged(c) == "confirmed"
    assert compare_paired(a, b[::-1], "toy/modes").p == pytest.approx(t2_two_sided(math.sqrt(3)), rel=1e-9)
    # lower is better: a's larger FID makes b the better; best at 1: the distances |v - 1| are differenced
    assert compare_paired(a, b, "fid_eval").better == "b"
    near = compare_paired([1.1, 0.9, 1.0], [1.5, 0.4, 1.6], "collapse/diversity_ratio")  # 0.1-0.5, 0.1-0.6, 0-0.6
    assert near.diff == pytest.approx(-0.5) and near.better == "a"


def test_level_is_the_one_sample_t_test_on_a_hand_example():
    """One setting against a stated level: loss/g of 4, 6, 8 against 5 differs by -1, 1, 3 (mean 1, sd 2, SE 2 /
    sqrt(3), t = sqrt(3) / 2 with df 2: p = 1 - 0.866 / sqrt(2.75) = 0.4778), inconclusive; 6, 7, 8 against 5 (mean 2,
    sd 1, t = 2 sqrt(3)): p = 0.0742. The claim says which side it expects, whatever the metric's direction
    (loss/g ranks lower as better): 7, 8, 9 above 5 (mean 3, t = 3 sqrt(3), p = 0.0351) is confirmed, and the same
    seeds under a claim "below 5" refuted."""
    c = compare_level([4.0, 6.0, 8.0], 5.0, above=True)
    assert c.diff == pytest.approx(1.0) and c.se == pytest.approx(2 / math.sqrt(3)) and c.df == 2.0
    assert c.p == pytest.approx(t2_two_sided(math.sqrt(3) / 2), rel=1e-9) and c.p == pytest.approx(0.4778, abs=1e-4)
    assert judged(c) == "inconclusive"
    assert compare_level([6.0, 7.0, 8.0], 5.0, above=True).p == pytest.approx(t2_two_sided(2 * math.sqrt(3)))
    above = compare_level([7.0, 8.0, 9.0], 5.0, above=True)
    assert above.p == pytest.approx(0.0351, abs=1e-4) and judged(above) == "confirmed"
    assert judged(compare_level([7.0, 8.0, 9.0], 5.0, above=False)) == "refuted"
    assert judged(compare_level([1.0, 2.0, 3.0], 5.0, above=False)) == "confirmed"  # 3 below, t = -3 sqrt(3)
    assert seeds_to_detect(c) is not None and seeds_to_detect(c) > 3  # paired power: seeds of the one setting


def test_paired_edge_cases():
    # a job with a NaN on either side is dropped with its partner; the differences 1, 2, 3 remain
    c = compare_paired([2.0, math.nan, 4.0, 6.0], [1.0, 7.0, 2.0, 3.0], "toy/modes")
    assert c.diff == pytest.approx(2.0) and c.df == 2.0
    one = compare_paired([2.0], [1.0], "toy/modes")
    assert one.diff == 1.0 and math.isnan(one.se) and one.better is None and "one job" in one.text()
    with warnings.catch_warnings():  # every job's difference the same: the mean decides, and scipy is not asked
        warnings.simplefilter("error")
        same = compare_paired([2.0, 3.0, 4.0], [1.0, 2.0, 3.0], "toy/modes")
    assert same.se == 0 and same.p == 0.0 and same.better == "a"
    assert compare_paired([1.0, 2.0], [1.0, 2.0], "toy/modes").p == 1.0
    with pytest.raises(ValueError, match="one of each per job: 3 against 2"):
        compare_paired([1.0, 2.0, 3.0], [1.0, 2.0], "toy/modes")


def test_jobs_that_would_detect_a_paired_difference():
    """A mean difference of 1 SD of the differences needs 10 jobs for 80 % power (one-sample t, two-sided 5 %: the
    noncentral t gives 0.748 at 9 and 0.803 at 10, as G*Power's one-sample table for d = 1), and a seeded simulation
    of the paired test agrees within its error (checked by hand with 20,000 draws: 0.743 and 0.803)."""
    assert power_paired(1.0, 1.0, 9) == pytest.approx(0.748, abs=1e-3)
    assert power_paired(1.0, 1.0, 10) == pytest.approx(0.803, abs=1e-3)
    rng = np.random.default_rng(0)
    for n in (9, 10):
        b = rng.normal(0, 1, (20_000, n))
        draws = stats.ttest_rel(b + rng.normal(1, 1, (20_000, n)), b, axis=1)
        assert (draws.pvalue < 0.05).mean() == pytest.approx(power_paired(1.0, 1.0, n), abs=0.012)
    # differences 0, 1, 2 (mean 1, sd 1): t = sqrt(3), p = 1 - sqrt(3) / sqrt(5) = 0.225 over 3 jobs; 10 would do
    c = compare_paired([1.0, 3.0, 5.0], [1.0, 2.0, 3.0], "toy/modes")
    assert c.p == pytest.approx(t2_two_sided(math.sqrt(3))) and c.better is None and seeds_to_detect(c) == 10
    # the same numbers as two settings' seeds: Welch with SDs 2 and 1 needs many more a side
    assert seeds_to_detect(compare([1.0, 3.0, 5.0], [1.0, 2.0, 3.0], "toy/modes")) > 10

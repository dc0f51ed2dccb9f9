"""The findings' rule: difference of means against twice its standard error, computed by hand here."""

import math

import pytest

from ganexp.verdict import compare, verdict


def test_a_clear_difference_on_a_lower_is_better_metric():
    # means 10 and 20, variances 1 and 1, n = 3 each: SE = sqrt(1/3 + 1/3) = 0.8165; |diff| = 10 > 2 SE
    c = compare([9.0, 10.0, 11.0], [19.0, 20.0, 21.0], "fid_eval")
    assert c.diff == pytest.approx(-10.0) and c.se == pytest.approx(math.sqrt(2 / 3))
    assert c.better == "a"
    assert verdict([9.0, 10.0, 11.0], [19.0, 20.0, 21.0], "fid_eval") == "confirmed"
    assert verdict([19.0, 20.0, 21.0], [9.0, 10.0, 11.0], "fid_eval") == "refuted"


def test_higher_is_better_metrics_flip_the_direction():
    assert compare([7.0, 8.0, 8.0], [3.0, 4.0, 5.0], "toy/modes").better == "a"
    assert compare([7.0, 8.0, 8.0], [3.0, 4.0, 5.0], "fid_eval").better == "b"


def test_within_two_standard_errors_is_inconclusive():
    # means 10 and 11.5, variances 4 and 4, n = 3: SE = 1.633, 2 SE = 3.27 > 1.5
    c = compare([8.0, 10.0, 12.0], [9.5, 11.5, 13.5], "fid_eval")
    assert c.se == pytest.approx(math.sqrt(8 / 3)) and c.better is None
    assert verdict([8.0, 10.0, 12.0], [9.5, 11.5, 13.5], "fid_eval") == "inconclusive"
    assert "inconclusive" in c.text()


def test_best_at_one_metrics_compare_distances_to_one():
    # |v - 1|: a = (0.02, 0.01, 0.03) mean 0.02; b = (0.5, 0.6, 0.4) mean 0.5: a is closer to 1
    assert compare([1.02, 0.99, 1.03], [0.5, 0.4, 1.6], "collapse/diversity_ratio").better == "a"


def test_one_seed_has_no_standard_error():
    c = compare([10.0], [20.0, 21.0], "fid_eval")
    assert math.isnan(c.se) and c.better is None and "one seed" in c.text()


def test_a_claim_of_no_difference_is_judged_against_its_margin():
    # means 10 and 11, variances 1 and 1, n = 3: SE = sqrt(2/3) = 0.816, interval 1 ± 1.63 = [-0.63, 2.63]
    a, b = [9.0, 10.0, 11.0], [10.0, 11.0, 12.0]
    assert verdict(a, b, "fid_eval", margin=3.0) == "confirmed"  # the interval lies inside ±3
    assert verdict(a, b, "fid_eval", margin=2.0) == "inconclusive"  # it reaches past 2
    # means 10 and 20: interval 10 ± 1.63 = [8.37, 11.63]: wholly outside ±8, not outside ±9
    far = [19.0, 20.0, 21.0]
    assert verdict(a, far, "fid_eval", margin=8.0) == "refuted"
    assert verdict(a, far, "fid_eval", margin=9.0) == "inconclusive"
    # direction does not matter for such a claim, and one seed decides nothing
    assert verdict(far, a, "toy/modes", margin=8.0) == "refuted"
    assert verdict([10.0], [10.0, 10.5], "fid_eval", margin=100.0) == "inconclusive"

"""The fixed random-search draws of +experiment=created_equal (ganexp/draws.py): reproducible, independent of how
many are asked for, inside compare_gan's wide range, one penalty draw for every loss; and the exact budget curve."""

import math

import pytest

from ganexp import draws


def test_draws_are_fixed_and_do_not_depend_on_how_many_are_asked_for():
    first = draws.table(5)
    draws.draw.cache_clear()
    assert draws.table(20)[:5] == first
    assert len({d["lr"] for d in draws.table(20)}) == 20


def test_draws_stay_in_the_wide_range_and_share_the_penalty_draw():
    table = draws.table(200)
    assert all(1e-5 <= d["lr"] <= 1e-2 and 0 <= d["beta1"] <= 1 for d in table)
    assert {d["disc_iters"] for d in table} == {1, 5} and {d["d_norm"] for d in table} == {True, False}
    for d in table:  # clip and lambda sit at the same place of their log ranges
        assert math.log10(d["clip"]) == pytest.approx(-3 + 3 * d["penalty_u"])
        assert math.log10(d["gp_weight"]) == pytest.approx(math.log10(d["clip"]) + 2)
    # a log-uniform learning rate: about a third of the draws in each decade
    decades = [sum(-5 + k <= math.log10(d["lr"]) < -4 + k for d in table) for k in range(3)]
    assert all(45 <= n <= 90 for n in decades)


def test_values_for_the_config():
    d = draws.draw(3)
    assert draws.value("d_norm", 3) == ("auto" if d["d_norm"] else "none")
    assert draws.value("lr", "3") == d["lr"]  # the resolver passes the index as written
    with pytest.raises(ValueError, match="no draw key 'momentum'"):
        draws.value("momentum", 0)
    with pytest.raises(ValueError, match="numbered from 0"):
        draws.draw(-1)


def test_budget_curve_by_hand():
    # scores 3, 1, 2: one config: mean 2; two of three: min over {3,1},{3,2},{1,2} = 1, 2, 1 -> 4/3; all three: 1
    curve = draws.budget_curve([3.0, 1.0, 2.0])
    assert [c["k"] for c in curve] == [1, 2, 3]
    assert [c["mean"] for c in curve] == pytest.approx([2.0, 4 / 3, 1.0])
    assert (curve[0]["q10"], curve[0]["q90"]) == (1.0, 3.0) and (curve[1]["q10"], curve[1]["q90"]) == (1.0, 2.0)


def test_budget_curve_counts_a_failed_run_as_the_worst():
    curve = draws.budget_curve([float("nan"), 5.0, 7.0])
    assert math.isnan(curve[0]["mean"]) and curve[0]["q10"] == 5.0
    assert curve[2]["mean"] == 5.0  # all three tried: the best finite one
    assert curve[1]["mean"] == pytest.approx((5 + 5 + 7) / 3)  # {nan,5}->5, {nan,7}->7, {5,7}->5

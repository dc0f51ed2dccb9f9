"""The update schedule counted step by step over 40 iterations."""

from ganexp.schedule import count_updates, settings_at


def sched(**kw):
    return {"d_every": 1, "g_every": 1, "d_steps": 1, "g_steps": 1, "milestones": [], **kw}


def positions(counts):
    return [i for i, c in enumerate(counts) if c]


def test_default_is_one_to_one():
    d, g = count_updates(40, sched())
    assert d == [1] * 40 and g == [1] * 40


def test_d_every_5():
    d, g = count_updates(40, sched(d_every=5))
    assert positions(d) == [0, 5, 10, 15, 20, 25, 30, 35]
    assert sum(d) == 8 and sum(g) == 40


def test_wgan_five_critic_steps_per_g_step():
    d, g = count_updates(40, sched(d_steps=5))
    assert d == [5] * 40 and sum(g) == 40


def test_g_twice_per_d():  # the reports' G:D = 2:1
    d, g = count_updates(40, sched(g_steps=2))
    assert sum(d) == 40 and sum(g) == 80


def test_g_every_and_d_every_combined():
    d, g = count_updates(40, sched(d_every=2, g_every=3, d_steps=4))
    assert positions(d) == list(range(0, 40, 2)) and set(d[::2]) == {4}
    assert positions(g) == list(range(0, 40, 3)) and sum(g) == 14


def test_milestones_change_d_every():
    # D every batch until 10, every 5th until 25, every 10th after (the report's 5000/10000 plan, scaled down)
    s = sched(milestones=[{"at": 25, "d_every": 10}, {"at": 10, "d_every": 5}])  # order of the list does not matter
    d, g = count_updates(40, s)
    assert positions(d) == list(range(10)) + [10, 15, 20] + [30]
    assert sum(g) == 40
    assert settings_at(9, s)["d_every"] == 1 and settings_at(10, s)["d_every"] == 5
    assert settings_at(39, s)["d_every"] == 10


def test_milestone_keeps_unset_keys():
    s = sched(d_steps=5, milestones=[{"at": 20, "g_steps": 2, "d_every": None}])
    d, g = count_updates(40, s)
    assert d == [5] * 40
    assert g == [1] * 20 + [2] * 20

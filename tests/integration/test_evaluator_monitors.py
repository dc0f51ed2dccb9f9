"""The evaluator learns real attributes, is seeded, caches itself, and refuses to judge below its floor.

The in-process runs and builds of this subject; the others are in tests/unit/test_evaluator.py."""

import pytest
from helpers.one_thread import one_thread  # noqa: F401 (an autouse fixture)


@pytest.mark.parametrize("overrides", [["model=cgan"], ["model=infogan"], ["model=cgan", "data=shapes"],
                                       ["model=toy", "data=toy_ring"]])
def test_the_monitor_list_is_what_an_evaluation_measures(tmp_path, overrides):
    """`metric_names` (what `monitor` may name) equals the keys `measure` returns, for attribute, multi-label and
    point data and for the conditional and InfoGAN variants."""
    from types import SimpleNamespace

    from conftest import make_config

    from ganexp.build import build_data, build_module, build_watchers

    cfg = make_config("debug=smoke", "eval.enabled=true", *overrides)
    datamodule = build_data(cfg)
    module = build_module(cfg, datamodule, 8)
    evaluation, _ = build_watchers(cfg, datamodule, tmp_path, 8)
    evaluation.load("cpu")
    evaluation.prepare(SimpleNamespace(logger=None), module)
    assert sorted(evaluation.measure(module)) == sorted(evaluation.metric_names(module))

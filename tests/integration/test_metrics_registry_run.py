"""The metric registry: which way each metric points, and everything that ranks by it asks the registry.

The in-process runs and builds of this subject; the others are in tests/unit/test_metrics_registry.py."""

import pytest
from conftest import make_config

from ganexp import metrics
from ganexp.metrics import UnknownMetric


def test_a_metric_without_its_registry_entry_stops_the_run_at_start_up(tmp_path, monkeypatch):
    """An evaluation that logs kid_eval while the registry lacks it: one error line before anything is written."""
    from ganexp.train import main as train

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(metrics, "REGISTRY", tuple(m for m in metrics.REGISTRY if m.name != "kid_eval"))
    with pytest.raises(UnknownMetric, match="this run's evaluation logs 'kid_eval': not a metric ganexp knows"):
        train(make_config("debug=smoke"))
    with pytest.raises(UnknownMetric, match="^monitor 'fid_evl': not a metric ganexp knows"):
        train(make_config("debug=smoke", "eval.enabled=false", "monitor=fid_evl"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock"]  # nothing of the run was written

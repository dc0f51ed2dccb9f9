"""Runs that fail well: divergence, failing jobs in a sweep, exact resume after a kill, extension, determinism
(Ctrl-C: tests/e2e/test_faults.py).

Its pure tests: tests/unit/test_run_records.py.
Its tests that start processes: tests/e2e/test_run_processes.py."""

import json
import os

import pytest
import torch
from conftest import SMOKE, make_config
from helpers.run_folders import status, weights
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ganexp.losses import WGANGP
from ganexp.report import read_events
from ganexp.train import main as train


def test_nan_loss_ends_the_run_as_diverged_before_a_bad_step(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # checkpoints every 4 iterations; 5 critic steps per iteration; the penalty turns NaN in iteration 5
    cfg = make_config(*SMOKE, "loss=gp", "trainer.max_iters=8")
    original, calls = WGANGP.penalty, {"n": 0}

    def poisoned(self, critic, real, fake):
        calls["n"] += 1
        value = original(self, critic, real, fake)
        return value * float("nan") if calls["n"] > 5 * 5 else value

    monkeypatch.setattr(WGANGP, "penalty", poisoned)
    result = train(cfg)
    assert result != result  # NaN: no metric from a diverged run
    s = status(tmp_path)
    assert s["status"] == "diverged" and s["diverged"]["iteration"] == 5 and s["diverged"]["loss"] == "loss/d"
    assert s["diverged"]["value"] == "nan"  # strict JSON: no bare NaN
    assert json.loads((tmp_path / "status.json").read_text(), parse_constant=lambda c: 1 / 0)["metric"] is None
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["ganexp_counters"]["iteration"] == 4  # the last good checkpoint, not a NaN state
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point())
    tb = EventAccumulator(str(tmp_path / "tb"))
    tb.Reload()
    assert "status/text_summary" in tb.Tags()["tensors"]


def test_loss_above_max_for_patience_checks_diverges(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # BCE losses are ~1.4 (D) and ~0.7 (G): with max_loss 1.0, D exceeds it on every check. Patience is counted per
    # loss, so G's checks below the limit do not reset D's count: patience 1 stops at D's first check (iteration 0),
    # patience 2 at its second (iteration 1).
    train(make_config(*SMOKE, "guard.max_loss=1.0", "guard.patience=1"))
    assert status(tmp_path)["status"] == "diverged" and status(tmp_path)["diverged"]["iteration"] == 0
    os.chdir(tmp_path.parent)
    other = tmp_path.parent / "patience2"
    other.mkdir()
    os.chdir(other)
    train(make_config(*SMOKE, "guard.max_loss=1.0", "guard.patience=2"))
    assert status(other)["status"] == "diverged" and status(other)["diverged"]["iteration"] == 1
    assert status(other)["diverged"]["loss"] == "loss/d"


def test_same_seed_same_results(tmp_path, monkeypatch):
    results = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        train(make_config("debug=smoke", "model=cgan", "trainer.max_iters=12", "seed=7"))
        metrics = json.loads((tmp_path / name / "metrics.json").read_text())
        results.append((metrics["final"], metrics["evals"], weights(tmp_path / name)))
    (final_a, evals_a, w_a), (final_b, evals_b, w_b) = results
    drop = {"eval/seconds"}
    assert {k: v for k, v in final_a.items() if k not in drop} == {k: v for k, v in final_b.items() if k not in drop}
    assert [{k: v for k, v in e.items() if k not in drop} for e in evals_a] == \
        [{k: v for k, v in e.items() if k not in drop} for e in evals_b]
    for key in w_a:
        assert torch.equal(w_a[key], w_b[key]), key


def test_extend_from_a_shorter_run_is_the_longer_run(tmp_path, monkeypatch):
    """12 iterations made as 8 and then 4 more (extend_from) end where 12 in one go do, weights and counters."""
    for name, extra in (("full", ["trainer.max_iters=12"]), ("short", ["trainer.max_iters=8"]),
                        ("long", ["trainer.max_iters=12", f"extend_from={tmp_path / 'short'}"])):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        train(make_config(*SMOKE, "loss=gp", "seed=5", *extra))
    full, long = (torch.load(tmp_path / n / "checkpoints" / "last.ckpt", weights_only=False) for n in ("full", "long"))
    assert full["ganexp_counters"] == long["ganexp_counters"] and long["ganexp_counters"]["iteration"] == 12
    for key, value in full["state_dict"].items():
        torch.testing.assert_close(long["state_dict"][key], value, msg=key)
    assert torch.load(tmp_path / "short" / "checkpoints" / "last.ckpt", weights_only=False)[
        "ganexp_counters"]["iteration"] == 8  # copied, not moved
    assert [s for s, _ in read_events(tmp_path / "long" / "tb")["loss/g"]] == [2, 4, 6, 8, 10, 12]
    assert json.loads((tmp_path / "long" / "metrics.json").read_text())["iterations"] == 12
    # extend_from a missing folder, a run of other settings or one as long: rows "state: extend_from ..." of the
    # hostile table (tests/helpers/hostile_runs.py)

    # a shorter run from before checkpoints carried their training seconds: its metrics.json's count carries on
    import shutil

    shutil.copytree(tmp_path / "short", tmp_path / "old")
    ckpt = torch.load(tmp_path / "old" / "checkpoints" / "last.ckpt", weights_only=False)
    del ckpt["ganexp_seconds"]
    torch.save(ckpt, tmp_path / "old" / "checkpoints" / "last.ckpt")
    metrics = json.loads((tmp_path / "old" / "metrics.json").read_text())
    (tmp_path / "old" / "metrics.json").write_text(json.dumps({**metrics, "total_wall_time_s": 1000.0}))
    (tmp_path / "longer").mkdir()
    monkeypatch.chdir(tmp_path / "longer")
    train(make_config(*SMOKE, "loss=gp", "seed=5", "trainer.max_iters=12", f"extend_from={tmp_path / 'old'}"))
    metrics = json.loads((tmp_path / "longer" / "metrics.json").read_text())
    assert metrics["total_wall_time_s"] - metrics["wall_time_s"] == pytest.approx(1000.0, abs=0.02)

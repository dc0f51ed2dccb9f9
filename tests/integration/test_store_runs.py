"""ganexp's own metrics store: metrics.jsonl written by every run, read back by the report, exact across a resume.

The in-process runs and builds of this subject; the others are in tests/unit/test_store.py."""

import json

from conftest import full_and_resumed, make_config
from helpers.run_folders import lines

from ganexp.store import read_metrics


def test_a_tiny_run_stores_its_losses_and_evaluations_at_their_iterations(tmp_path, monkeypatch):
    from ganexp.train import main as train

    monkeypatch.chdir(tmp_path)
    train(make_config("debug=smoke", "logger=[]"))  # no other logger: the store is kept all the same
    assert not (tmp_path / "tb").exists()
    curves = read_metrics(tmp_path)
    assert [s for s, _ in curves["loss/d"]] == [2, 4, 6, 8]  # log.every=2
    summary = json.loads((tmp_path / "metrics.json").read_text())
    assert curves["fid_eval"] == [(e["iteration"], e["fid_eval"]) for e in summary["evals"]]
    assert [s for s, _ in curves["fid_eval"]] == [4, 8]  # eval.every_n_steps=4
    assert curves["loss/g"][-1][1] == summary["final"]["loss/g"]
    assert summary["best"]["value"] == min(v for _, v in curves["fid_eval"])  # best.ckpt's value, from the store


def test_after_a_crash_and_resume_the_store_holds_each_iteration_once_as_an_uninterrupted_run(tmp_path, monkeypatch):
    """Crashed at iteration 6 (checkpoint at 4): the lines for 6 are dropped on resume and written again, with the
    uninterrupted run's values (exact resume)."""
    full, resumed, saved = full_and_resumed(tmp_path, monkeypatch, "debug=smoke", "eval.every_n_steps=2")
    assert saved == 4
    crashed = tmp_path / "crashed"
    steps = [r["step"] for r in lines(crashed) if "loss/d" in r["metrics"]]
    assert steps == [2, 4, 6, 8]  # no duplicate
    clock = ("speed/", "eval/seconds")  # wall-clock timings differ between any two runs
    resumed_curves, full_curves = ({k: v for k, v in read_metrics(run).items() if not k.startswith(clock)}
                                   for run in (crashed, tmp_path / "full"))
    assert resumed_curves == full_curves and [s for s, _ in full_curves["fid_eval"]] == [2, 4, 6, 8]


def test_a_fresh_start_sets_the_store_aside_and_an_extension_goes_on_from_a_copy(tmp_path, monkeypatch):
    from ganexp.train import main as train

    smoke = ("debug=smoke", "eval.enabled=false", "logger=[]", "seed=3")
    for name, extra in (("short", ["trainer.max_iters=8"]), ("long", ["trainer.max_iters=12",
                                                                       f"extend_from={tmp_path / 'short'}"])):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        train(make_config(*smoke, *extra))
    short, long = read_metrics(tmp_path / "short"), read_metrics(tmp_path / "long")
    assert [s for s, _ in long["loss/g"]] == [2, 4, 6, 8, 10, 12] and long["loss/g"][:4] == short["loss/g"]
    assert [s for s, _ in short["loss/g"]] == [2, 4, 6, 8]  # copied, not moved
    monkeypatch.chdir(tmp_path / "short")
    train(make_config(*smoke, "trainer.max_iters=8"))  # the same command again, without resume=true
    (previous,) = (tmp_path / "short" / "previous").iterdir()
    assert read_metrics(previous)["loss/g"] == short["loss/g"]  # the earlier run's store set aside whole
    assert [s for s, _ in read_metrics(tmp_path / "short")["loss/g"]] == [2, 4, 6, 8]  # the new one: once each

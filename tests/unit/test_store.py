"""ganexp's own metrics store: metrics.jsonl written by every run, read back by the report, exact across a resume."""

import json
import math

import pytest
from conftest import full_and_resumed, make_config

from ganexp.errors import StateFileError
from ganexp.store import STORE, Store, read_metrics


def lines(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / STORE).read_text().splitlines()]


def test_the_store_appends_one_line_per_call_and_reads_back_curves(tmp_path):
    import torch

    store = Store(tmp_path)
    store.append({"loss/d": torch.tensor(0.5), "loss/g": 2, "note": "text"}, step=2)
    store.append({"loss/d": math.inf, "fid_eval": math.nan}, step=4)
    store.append({"loss/d": 0.25}, step=4)  # the same step again: the later value wins
    store.close()
    assert [(r["step"], r["metrics"]) for r in lines(tmp_path)] == [
        (2, {"loss/d": 0.5, "loss/g": 2.0}), (4, {"loss/d": "inf", "fid_eval": "nan"}), (4, {"loss/d": 0.25})]
    curves = read_metrics(tmp_path)
    assert curves["loss/d"] == [(2, 0.5), (4, 0.25)] and curves["loss/g"] == [(2, 2.0)]
    assert curves["fid_eval"][0][0] == 4 and math.isnan(curves["fid_eval"][0][1])


def test_a_line_cut_short_is_skipped_and_rewind_drops_what_comes_after_the_checkpoint(tmp_path):
    store = Store(tmp_path)
    for step in (2, 4, 6):
        store.append({"loss/d": step / 10}, step=step)
    store.close()
    with open(tmp_path / STORE, "a") as f:
        f.write('{"step": 8, "time": 1.0, "metr')  # a kill mid-write
    assert read_metrics(tmp_path)["loss/d"] == [(2, 0.2), (4, 0.4), (6, 0.6)]
    Store(tmp_path).rewind(4)  # the checkpoint a resumed run continues from
    assert [r["step"] for r in lines(tmp_path)] == [2, 4]
    again = Store(tmp_path)
    again.append({"loss/d": 0.66}, step=6)
    again.close()
    assert read_metrics(tmp_path)["loss/d"] == [(2, 0.2), (4, 0.4), (6, 0.66)]


def test_a_damaged_line_in_the_middle_names_the_file_and_line(tmp_path):
    (tmp_path / STORE).write_text('{"step": 2, "metrics": {"loss/d": 1.0}}\nnot json\n'
                                  '{"step": 4, "metrics": {"loss/d": 1.0}}\n')
    with pytest.raises(StateFileError, match=rf"{STORE} line 2 is damaged"):
        read_metrics(tmp_path)


def test_a_run_from_before_the_store_is_read_from_its_tensorboard_events(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(tmp_path / "tb") as writer:
        for step, value in ((4, 3.0), (8, 2.0)):
            writer.add_scalar("fid_eval", value, step)
    assert read_metrics(tmp_path) == {"fid_eval": [(4, 3.0), (8, 2.0)]}


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

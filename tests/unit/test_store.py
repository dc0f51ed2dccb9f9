"""ganexp's own metrics store: metrics.jsonl written by every run, read back by the report, exact across a resume.

Its in-process runs and builds: tests/integration/test_store_runs.py."""

import math

import pytest
from helpers.run_folders import lines

from ganexp.errors import StateFileError
from ganexp.store import STORE, Store, read_metrics


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

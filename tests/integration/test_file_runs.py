"""The user-file data options run end to end: `python run.py data=<format> data.root=<folder>` trains on a small
fixture of each real format. A broken file or a missing data.root stops the run at start-up naming the file and line
or the key: rows of the hostile table (tests/helpers/hostile_data.py).

Its tests that start processes: tests/e2e/test_file_runs_cli.py."""

import json

import pytest
from conftest import make_config
from helpers.format_folders import anime, cartoon_set, folder, iclevr

from ganexp.train import main as train

FORMATS = {"anime": anime, "cartoon_set": cartoon_set, "iclevr": iclevr, "folder": folder}


@pytest.mark.parametrize("data", sorted(FORMATS))
def test_smoke_run_on_each_user_file_format(data, tmp_path, monkeypatch):
    root = tmp_path / "data"
    FORMATS[data](root)
    monkeypatch.chdir(tmp_path)
    model = "model=dcgan" if data == "folder" else "model=cgan"
    cfg = make_config("debug=smoke", model, f"data={data}", f"data.root={root}", "data.holdout=8")
    train(cfg)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["iterations"] == 8
    if data == "iclevr":
        assert {"acc/cond", "acc/test"} <= set(metrics["final"])  # the multi-label rule, on train and test.json

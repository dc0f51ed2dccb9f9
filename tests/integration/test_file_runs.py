"""The user-file data options run end to end: `python run.py data=<format> data.root=<folder>` trains on a small
fixture of each real format. A broken file or a missing data.root stops the run at start-up naming the file and line
or the key: rows of the hostile table (tests/helpers/hostile_data.py)."""

import json

import pytest
from conftest import make_config
from helpers.format_folders import anime, cartoon_set, folder, iclevr
from helpers.in_process import run_py

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


def test_a_broken_tag_file_stops_the_run_naming_file_and_line(tmp_path, monkeypatch, capfd):
    """`python run.py ...`'s code path in this process (its exit status and one error line; a data error in a fresh
    interpreter: the hostile suite's "data: missing data folder, in a real process")."""
    root = tmp_path / "data"
    anime(root)
    lines = (root / "tags_clean.csv").read_text().splitlines()
    lines[6] = "6 blue hair red eyes"  # no comma after the id
    (root / "tags_clean.csv").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    out = run_py(["debug=smoke", "model=cgan", "data=anime", f"data.root={root}", f"hydra.run.dir={tmp_path / 'run'}"],
                 monkeypatch, capfd)
    assert out.code == 2
    assert out.err.strip().splitlines()[-1].startswith(f"error: {root / 'tags_clean.csv'} line 7")
    assert not (tmp_path / "run" / "status.json").exists()  # stopped before the run folder was touched

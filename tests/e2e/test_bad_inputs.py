"""Every mistake a user can make in the config or the data: exit status 2, one line naming the culprit, no
traceback, and the job's earlier results left where they were.

The table runs `run.py`'s own entry point in this process (same code path as the command, a fraction of the start-up
cost); three cases also run as real processes to check the exit status the shell sees."""

import importlib
import json
import subprocess
import sys

import pytest
from conftest import ROOT
from helpers.bad_inputs import SMOKE, assert_left_alone, earlier_results, run_entry

from ganexp.errors import tool_main


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=env)


def test_the_shell_sees_status_2_and_one_line(tmp_path):
    for args, culprit in ((["trainer.max_iters=abc"], "trainer.max_iters"),
                          (["data.image_size=48"], "data.image_size=48"),
                          (["data=anime", f"data.root={tmp_path / 'none'}"], "tags_clean.csv")):
        job = tmp_path / args[0].replace("=", "_")
        job.mkdir()
        earlier_results(job)
        out = cli(*SMOKE, *args, f"hydra.run.dir={job}")
        assert out.returncode == 2, out.stderr[-2000:]
        assert out.stderr.strip().splitlines()[-1].startswith("error: ") and culprit in out.stderr
        assert sum(line.startswith("error: ") for line in out.stderr.splitlines()) == 1
        assert "Traceback" not in out.stderr
        assert_left_alone(job)


def test_hydra_full_error_shows_the_traceback(tmp_path):
    import os

    out = cli(*SMOKE, "data.image_size=48", f"hydra.run.dir={tmp_path}", env={**os.environ, "HYDRA_FULL_ERROR": "1"})
    assert out.returncode != 0 and "Traceback" in out.stderr and "data.image_size=48" in out.stderr


def test_a_sweep_records_a_bad_job_as_failed_and_runs_the_others(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "run.py"), "-m", *SMOKE, "data.image_size=32,48"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1  # the sweep ran; one of its jobs did not complete
    lines = out.stdout.splitlines()
    assert any("completed" in ln and "data.image_size=32" in ln for ln in lines)
    assert any("failed" in ln and "data.image_size=48: not one of 32, 64, 128" in ln for ln in lines)
    sweep = next((tmp_path / "outputs" / "multirun").iterdir())
    # the bad job's folder was new and empty: its failure is recorded there (a report rebuilt later lists it)
    assert json.loads((sweep / "1" / "status.json").read_text())["status"] == "failed"
    assert "data.image_size=48" in (sweep / "1" / ".hydra" / "overrides.yaml").read_text()
    assert not (sweep / ".ledger").exists() and not (sweep / "1" / "config.yaml").exists()
    assert json.loads((sweep / "0" / "status.json").read_text())["status"] == "completed"


def test_a_sweep_over_null_for_a_group_names_the_none_option(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    code = run_entry(["-m", *SMOKE, "augment=null,diffaug", f"hydra.sweep.dir={tmp_path / 'sweep'}"], monkeypatch)
    err = capfd.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2 and len(errors) == 1 and "augment=none,diffaug" in errors[0], err[-2000:]
    assert "Traceback" not in err


def test_the_none_options_switch_the_regulariser_and_augmentation_off():
    from conftest import make_config

    from ganexp.build import build_data, build_module

    cfg = make_config("debug=smoke", "augment=none", "reg=none")
    module = build_module(cfg, build_data(cfg))
    assert module.augment is None and module.regularizer is None


@pytest.mark.parametrize("tool", ["report", "sample"])
def test_the_tools_answer_a_wrong_path_with_one_line(tool, tmp_path, capsys):
    module = importlib.import_module(f"ganexp.{tool}")
    with pytest.raises(SystemExit) as stop:
        tool_main(lambda: module.main([str(tmp_path / "nowhere")]))
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nowhere'}: no such " + (
        "sweep folder" if tool == "report" else "run folder or checkpoint file")

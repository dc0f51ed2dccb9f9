"""A run folder belongs to one resolved configuration: its name (cut names end in a hash of the configuration), the
identity check before resume, extend and a reused sweep folder, and strict, whole state files.

The in-process runs and builds of this subject; the others are in tests/unit/test_identity.py."""

import csv
import json
import sys

import pytest
from conftest import make_config
from helpers.hostile import SMOKE
from helpers.in_process import entry
from hydra.core.global_hydra import GlobalHydra

from ganexp.errors import report_errors


def run(argv: list[str], monkeypatch) -> int:
    monkeypatch.setattr(sys, "argv", ["run.py", *argv])
    monkeypatch.setenv("HYDRA_MAIN_MODULE", "__main__")
    GlobalHydra.instance().clear()
    try:
        return report_errors(entry().main)
    except SystemExit as stop:
        return stop.code
    finally:
        GlobalHydra.instance().clear()


def test_two_long_commands_that_differ_past_the_cut_get_two_folders(tmp_path, monkeypatch):
    """The issue's case: two runs with a long lr_sched override, differing only in trainer.max_iters, used to share
    one folder (the name was cut at 200 characters) and the second was 'already completed, skipped'."""
    monkeypatch.chdir(tmp_path)
    step = "{_target_:torch.optim.lr_scheduler.StepLR,step_size:1000000,gamma:0.99999999999999}"
    for n in (6, 8):
        assert run([*SMOKE, f"lr_sched.g={step}", f"lr_sched.d={step}", f"trainer.max_iters={n}", "resume=true"],
                   monkeypatch) == 0
    folders = sorted((tmp_path / "outputs" / "runs").iterdir())
    assert len(folders) == 2
    assert sorted(json.loads((f / "metrics.json").read_text())["iterations"] for f in folders) == [6, 8]


def test_a_reused_sweep_folder_with_other_settings_stops_each_job_and_mislabels_nothing(tmp_path, monkeypatch, capfd):
    """The issue's case: `hydra.sweep.dir=X seed=1,2`, then `loss=lsgan,hinge resume=true` in the same folder used to
    skip both jobs as completed and label the BCE runs `loss=lsgan` and `loss=hinge` in report.csv."""
    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "sweep"
    assert run(["-m", *SMOKE, "seed=1,2", f"hydra.sweep.dir={sweep}"], monkeypatch) == 0
    before = {p: p.read_bytes() for p in sweep.rglob("*") if p.is_file() and "report" not in p.name
              and p.suffix != ".png" and p.name != ".lock" and p.parent.name != sweep.name}
    capfd.readouterr()
    code = run(["-m", *SMOKE, "loss=lsgan,hinge", "resume=true", f"hydra.sweep.dir={sweep}"], monkeypatch)
    out = capfd.readouterr().out
    assert code != 0
    assert out.count("holds a run of other settings: data.seed") == 4, out  # logged, and listed in the table
    assert "failed      debug=smoke,eval.enabled=False,loss=lsgan  (" in out and ",loss=hinge  (" in out, out
    assert {p: p.read_bytes() for p in before} == before  # neither job's folder changed
    rows = list(csv.DictReader((sweep / "report.csv").open()))
    labels = {row["job"]: row for row in rows}
    assert {row["status"] for row in rows} == {"failed"}
    assert "loss=lsgan" in str(labels["0"]) and "seed=1" not in str(labels["0"])  # the failed job, not the BCE run
    for job in ("0", "1"):
        assert "loss=" not in (sweep / job / ".hydra" / "overrides.yaml").read_text()  # still the BCE runs' record


def test_resume_with_changed_settings_stops_before_touching_the_run(tmp_path, monkeypatch):
    from ganexp.errors import RunMismatch
    from ganexp.train import main as train

    monkeypatch.chdir(tmp_path)
    train(make_config(*SMOKE))
    files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != ".lock"}
    with pytest.raises(RunMismatch, match=r"loss._target_ \(ganexp.losses.LSGAN here, ganexp.losses.BCE there\), "
                                          r"loss.real_label \(<unset> here, 1.0 there\), "
                                          r"optimizer.g.lr \(0.5 here, 0.0002 there\)"):
        train(make_config(*SMOKE, "loss=lsgan", "optimizer.g.lr=0.5", "resume=true"))
    assert {p: p.read_bytes() for p in files} == files

"""A run folder belongs to one resolved configuration: its name (cut names end in a hash of the configuration), the
identity check before resume, extend and a reused sweep folder, and strict, whole state files."""

import csv
import errno
import json
import sys
from pathlib import Path

import pytest
from conftest import make_config
from hostile import SMOKE, entry
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from ganexp.atomic import atomic_write, write_json
from ganexp.errors import report_errors
from ganexp.rundir import differences, digest, identity
from ganexp.schema import NAME_MAX, folder_name


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


def test_a_long_name_keeps_its_start_and_ends_in_a_hash_of_the_configuration():
    head = "lr_sched.g={_target_:torch.optim.lr_scheduler.LinearLR,start_factor:1.0,end_factor:0.1,total_iters:5000}"
    a, b = (f"{head},lr_sched.d={head[11:]},trainer.max_iters={n}" for n in (4000, 8000))
    assert len(a) > NAME_MAX and a[:NAME_MAX] == b[:NAME_MAX]
    na, nb = folder_name(a), folder_name(b)
    assert na != nb and len(na) == len(nb) == NAME_MAX and na[:NAME_MAX - 11] == b[:NAME_MAX - 11].replace(
        "{", "_").replace("}", "_").replace(":", "_")
    # under Hydra the hash is of the whole resolved configuration, less the keys that say how a job runs
    root = OmegaConf.create({"seed": 1, "trainer": {"max_iters": 8, "progress": True}, "resume": False,
                             "hydra": {"anything": 1}})
    same = OmegaConf.create({"seed": 1, "trainer": {"max_iters": 8, "progress": False}, "resume": True})
    other = OmegaConf.create({"seed": 2, "trainer": {"max_iters": 8, "progress": True}, "resume": False})
    assert folder_name(a, _root_=root) == folder_name(a, _root_=same) != folder_name(a, _root_=other)
    assert folder_name(a, _root_=root).endswith(digest({"seed": 1, "trainer": {"max_iters": 8}}))
    assert folder_name("loss=wgan,seed=1") == "loss=wgan,seed=1" and folder_name("") == "default"


def test_identity_leaves_out_only_how_a_job_runs():
    config = {"seed": 1, "resume": True, "extend_from": "x", "trainer": {"progress": False, "max_iters": 8}}
    assert identity(config) == {"seed": 1, "trainer.max_iters": 8}
    assert differences({"a": {"b": 1}, "c": 2}, {"a": {"b": 2}}, ignore=()) == ["a.b", "c"]


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


def test_state_files_are_strict_json(tmp_path):
    write_json(tmp_path / "s.json", {"metric": float("nan"), "best": {"v": float("inf")}, "list": [1.0, -float("inf")]})
    strict = json.loads((tmp_path / "s.json").read_text(), parse_constant=lambda c: pytest.fail(f"bare {c}"))
    assert strict == {"metric": None, "best": {"v": None}, "list": [1.0, None]}


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("old")

    def full_disk(file):
        file.write("{partial")
        raise OSError(errno.ENOSPC, "No space left on device")  # as a write on a full disk: no file name

    with pytest.raises(OSError) as err:
        atomic_write(path, full_disk)
    assert err.value.filename == str(path) and err.value.errno == errno.ENOSPC
    assert path.read_text() == "old" and sorted(p.name for p in Path(tmp_path).iterdir()) == ["metrics.json"]


def test_the_loggers_say_how_a_run_is_watched_not_what_it_is():
    """`logger=...` names no other run: same folder name, same identity; a resume may watch it with other loggers."""
    from ganexp.sweep import HOW_NOT_WHAT, how_left_out

    run = {"loss": {"_target_": "ganexp.losses.BCE"}, "logger": {"tensorboard": {"_target_": "TB"}}}
    watched = {"loss": {"_target_": "ganexp.losses.BCE"}, "logger": {"csv": {"_target_": "CSV", "name": ""}}}
    assert differences(run, watched, ignore=HOW_NOT_WHAT) == [] and identity(run) == identity(watched)
    assert differences(run, {**watched, "loss": {"_target_": "ganexp.losses.LSGAN"}},
                       ignore=HOW_NOT_WHAT) == ["loss._target_"]
    assert how_left_out(["logger=[tensorboard,csv]", "logger.csv.name=x", "loss=gan"]) == ["loss=gan"]

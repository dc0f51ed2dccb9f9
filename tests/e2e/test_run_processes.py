"""Runs that fail well: divergence, failing jobs in a sweep, exact resume after a kill, extension, determinism
(Ctrl-C: tests/e2e/test_faults.py).

The tests that start processes of this subject; the others are in tests/integration/test_runs.py."""

import json
import logging
import os
import signal
import subprocess
import time

import pytest
import torch
from conftest import ROOT, SMOKE, make_config
from helpers.in_process import Forked, run_py
from helpers.run_folders import status, weights

from ganexp.errors import RunMismatch
from ganexp.report import read_events
from ganexp.train import main as train


def run_cli(*args, timeout=300):
    """`python run.py args` in a process of its own, forked from this one (its exit status, streams and signals its
    own, without a second start-up); a sweep in a fresh interpreter is test_faults' submitit test."""
    proc = Forked(list(args), ROOT)
    out, err = proc.communicate(timeout)
    return subprocess.CompletedProcess(["run.py", *args], proc.returncode, out, err)


def test_sweep_survives_a_failing_and_a_diverging_job(tmp_path, monkeypatch, capfd):
    # guard.max_loss=1e5,1 with patience 1: the second setting diverges at D's first check (BCE's loss is ~1.4)
    proc = run_cli("-m", *SMOKE, "data.batch_size=16,100000", "guard.max_loss=1e5,1", "guard.patience=1",
                   f"hydra.sweep.dir={tmp_path}")
    assert proc.returncode != 0  # a job failed, so the sweep says so
    statuses = {p.name: status(p) for p in tmp_path.iterdir() if (p / "status.json").exists()}
    assert sorted(s["status"] for s in statuses.values()) == ["completed", "diverged", "failed", "failed"]
    # the two jobs with an impossible batch stopped before touching their folders; the sweep's verdict names them
    failed = [line for line in proc.stdout.splitlines() if " failed " in line]
    assert len(failed) == 2 and all("data.batch_size=100000: the data has 288 images" in f for f in failed)
    assert "did not complete" in proc.stderr and "diverged" in proc.stdout

    monkeypatch.chdir(tmp_path)  # the second sweep in this process: the same code path, without a second start-up
    ok = run_py(["-m", *SMOKE, "guard.max_loss=1e5,1", "guard.patience=1", f"hydra.sweep.dir={tmp_path / 'ok'}"],
                monkeypatch, capfd)
    assert ok.code == 0, ok.err[-2000:]  # diverged is an outcome, not a failure


def wait_for(path, timeout=120):
    deadline = time.time() + timeout
    while not path.exists():
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_resume_after_kill_matches_an_uninterrupted_run(tmp_path, monkeypatch, caplog):
    """Killed (kill -9, in a process of its own) and resumed, a run ends where an uninterrupted one does. The runs
    that are not killed train in this process (the same `ganexp.train.main`, without a second start-up), all on one
    thread so that their arithmetic is the same. The kill follows the first checkpoint (iteration 20) at once: 80 more
    iterations (~2 s) leave it room."""
    length = 100
    args = [*SMOKE, f"trainer.max_iters={length}", "trainer.ckpt_every=20", "log.images_every=50", "seed=3",
            "trainer.num_threads=1"]
    for name in ("full", "killed"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path / "full")
    train(make_config(*args))

    job = tmp_path / "killed"
    proc = Forked([*args, f"hydra.run.dir={job}"], ROOT)
    wait_for(job / "checkpoints" / "last.ckpt")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = torch.load(job / "checkpoints" / "last.ckpt", weights_only=False)["ganexp_counters"]["iteration"]
    assert 20 <= killed_at < length and status(job)["status"] == "running"

    monkeypatch.chdir(job)
    caplog.set_level(logging.INFO, logger="ganexp.train")
    train(make_config(*args, "resume=true"))
    assert "resuming from" in caplog.text
    assert status(job)["status"] == "completed"
    a, b = weights(tmp_path / "full"), weights(job)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], msg=key)
    full_metrics = json.loads((tmp_path / "full" / "metrics.json").read_text())
    resumed_metrics = json.loads((job / "metrics.json").read_text())
    assert (resumed_metrics["d_updates"], resumed_metrics["g_updates"]) == (full_metrics["d_updates"], length)

    # the same command again with resume=true skips the completed job
    mtime = (job / "metrics.json").stat().st_mtime
    caplog.clear()
    train(make_config(*args, "resume=true"))
    assert "already completed" in caplog.text and (job / "metrics.json").stat().st_mtime == mtime
    # and without resume it starts over, keeping the earlier results aside
    train(make_config(*args))
    assert len(list((job / "previous").glob("*/metrics.json"))) == 1
    # but the folder belongs to one configuration: other settings stop before anything is touched
    before = sorted(p for p in job.rglob("*") if p.name != ".lock")
    other = rf"holds a run of other settings: trainer.max_iters \(8 here, {length} there\)"
    with pytest.raises(RunMismatch, match=other):
        train(make_config(*args, "trainer.max_iters=8"))
    assert sorted(p for p in job.rglob("*") if p.name != ".lock") == before


def test_condition_options_on_an_unconditional_model_fail_at_start(tmp_path):
    proc = run_cli("debug=smoke", "model=dcgan", "model.discriminator.cond=projection", f"hydra.run.dir={tmp_path}")
    assert proc.returncode != 0 and "model.discriminator.cond" in proc.stderr


def test_sweep_folder_is_named_by_its_command_and_relaunch_skips_completed_jobs(tmp_path, monkeypatch, capfd):
    """The sweep in a process of its own (forked from this one); its relaunch and its extension in this process (the
    same command's code path, Hydra's main included, without more start-ups). A sweep in a fresh interpreter:
    test_faults.py's test_a_requeued_submitit_job_continues_with_resume."""
    def sweep(*extra):
        return run_py(["-m", "loss=wgan,lsgan", *SMOKE, *extra], monkeypatch, capfd)

    proc = Forked(["-m", "loss=wgan,lsgan", *SMOKE], tmp_path)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "outputs" / "multirun" / "loss=wgan,lsgan,debug=smoke,eval.enabled=false"
    assert sorted(p.name for p in folder.iterdir() if p.name.isdigit()) == ["0", "1"]
    assert sorted(p.name for p in (folder / "tb").iterdir()) == ["debug=smoke,eval.enabled=False,loss=lsgan",
                                                                 "debug=smoke,eval.enabled=False,loss=wgan"]
    assert ": 2 jobs" in out and out.count("  completed   ") == 2
    again = sweep("resume=true")
    assert again.code == 0 and (again.out + again.err).count("already completed, skipped") == 2

    # the sweep taken from 8 to 12 iterations: each job finds its own shorter run by its settings, and its
    # TensorBoard curve goes on from the copied events
    longer = sweep("trainer.max_iters=12", f"extend_from='{folder}'")  # quoted: the folder's name has = and ,
    assert longer.code == 0, longer.err[-2000:]
    extended = folder.parent / "loss=wgan,lsgan,debug=smoke,eval.enabled=false,trainer.max_iters=12"
    for job, loss in (("0", "wgan"), ("1", "lsgan")):
        metrics = json.loads((extended / job / "metrics.json").read_text())
        assert (metrics["iterations"], metrics["extended_from"]) == (12, str(folder / job))
        assert metrics["total_wall_time_s"] > metrics["wall_time_s"]
        curve = read_events(extended / "tb" / f"debug=smoke,eval.enabled=False,loss={loss},trainer.max_iters=12")
        assert [step for step, _ in curve["loss/d"]] == [2, 4, 6, 8, 10, 12]  # log.every=2
        short = read_events(folder / "tb" / f"debug=smoke,eval.enabled=False,loss={loss}")
        assert curve["loss/d"][:4] == short["loss/d"]
        assert json.loads((folder / job / "metrics.json").read_text())["iterations"] == 8  # the short run is kept

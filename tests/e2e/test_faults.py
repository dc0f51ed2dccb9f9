"""Faults a long experiment meets: the same command started twice, Ctrl-C, a kill -9 in the middle of a checkpoint
write.

The run that is signalled, killed or locked out is a process of its own, forked from the test's
(`helpers.in_process.Forked`: its own pid, signals and exit status, without a second interpreter's start-up); the
runs it is compared with train in this process."""

import json
import os
import random
import signal
import time

import pytest
import torch
from conftest import ROOT, SMOKE, make_config
from helpers.in_process import Forked, Started, run_py
from helpers.run_status import wait_for_status

from ganexp.errors import RunMismatch
from ganexp.rundir import RunLock, set_aside
from ganexp.train import main as train


def start(*args: str) -> Started:
    return Forked(list(args), ROOT)


def test_the_same_command_twice_at_once_the_second_stops_at_the_lock(tmp_path, monkeypatch, capfd):
    """The second start of a live run's command (here, in this process) stops at the lock; the first (a process of
    its own, with SIGINT at its default, as a terminal's Ctrl-C finds it) goes on untouched, and Ctrl-C then saves
    it (a checkpoint, status `interrupted`)."""
    job = tmp_path / "job"
    args = [*SMOKE, "trainer.max_iters=100000", "trainer.ckpt_every=50", f"hydra.run.dir={job}"]
    first = start(*args)
    try:
        wait_for_status(job, "running", first)
        monkeypatch.chdir(tmp_path)
        second = run_py(args, monkeypatch, capfd)
        assert first.poll() is None, "the first run ended before the second tried: the test proves nothing"
        assert second.code == 2
        error = second.err.strip().splitlines()[-1]
        assert error.startswith("error: run folder") and str(job) in error and f"pid {first.pid}" in error
        while not (job / "checkpoints" / "last.ckpt").exists():
            assert first.poll() is None
            time.sleep(0.02)
        first.send_signal(signal.SIGINT)
        out, err = first.communicate(timeout=120)
    finally:
        first.kill()  # never leave a 100,000-iteration run behind
    status = json.loads((job / "status.json").read_text())
    assert status["status"] == "interrupted" and status["iteration"] >= 50, err[-2000:]
    ckpt = torch.load(job / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["ganexp_counters"]["iteration"] == status["iteration"]  # saved at the moment of Ctrl-C
    assert not (job / "previous").exists()  # the second never set the first's results aside
    writers = {path.name.split(".")[-2] for path in (job / "tb").glob("events.out.tfevents.*")}
    assert writers == {str(first.pid)}  # nor wrote events beside them (the file names end in .<pid>.<n>)
    # afterwards the folder still belongs to the first run's settings: a short run (8 iterations) there stops before
    # touching it, and a fresh start of the same settings sets the interrupted run aside
    monkeypatch.chdir(job)
    with pytest.raises(RunMismatch, match=r"trainer.max_iters \(8 here, 100000 there\)"):
        train(make_config(*SMOKE))  # in this process: no third start-up
    assert status == json.loads((job / "status.json").read_text())
    set_aside(job)
    assert [json.loads(p.read_text())["status"] for p in (job / "previous").glob("*/status.json")] == ["interrupted"]


def test_kill_9_during_checkpoint_writes_then_resume_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    """A checkpoint every iteration, killed at random moments three times: each resume starts from a whole
    checkpoint, and the end state equals that of a run never interrupted."""
    args = [*SMOKE, "trainer.max_iters=120", "trainer.ckpt_every=1", "log.images_every=1000", "seed=11",
            "trainer.num_threads=1"]  # one thread in every process: the same arithmetic in- and out of this one
    (tmp_path / "full").mkdir()
    monkeypatch.chdir(tmp_path / "full")
    train(make_config(*args))  # the uninterrupted run, in this process

    job, rng, reached = tmp_path / "killed", random.Random(0), []
    for attempt in range(3):
        proc = start(*args, *(["resume=true"] if attempt else []), f"hydra.run.dir={job}")
        wait_for_status(job, "running", proc)
        while not (job / "checkpoints" / "last.ckpt").exists():  # the first attempt's first save (iteration 1)
            assert proc.poll() is None
            time.sleep(0.01)
        time.sleep(rng.uniform(0.1, 0.8))
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        ckpt = torch.load(job / "checkpoints" / "last.ckpt", weights_only=False)  # whole, whatever the timing
        reached.append(ckpt["ganexp_counters"]["iteration"])
    assert reached == sorted(reached) and reached[-1] < 120, reached

    monkeypatch.chdir(job)
    train(make_config(*args, "resume=true"))
    a = torch.load(tmp_path / "full" / "checkpoints" / "last.ckpt", weights_only=False)
    b = torch.load(job / "checkpoints" / "last.ckpt", weights_only=False)
    assert a["ganexp_counters"] == b["ganexp_counters"]
    for key, value in a["state_dict"].items():
        torch.testing.assert_close(b["state_dict"][key], value, msg=key)


def test_a_locked_job_of_a_sweep_fails_and_the_others_go_on(tmp_path):
    sweep = tmp_path / "outputs" / "multirun" / "debug=smoke,eval.enabled=false,loss=gan,lsgan"
    with RunLock(sweep / "0"):  # another process's job (this one's) in the folder of the sweep's job 0
        proc = Forked(["-m", *SMOKE, "loss=gan,lsgan"], tmp_path)
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err[-2000:]
    rows = [line for line in out.splitlines() if line.strip().startswith(("0 ", "1 "))]
    assert "failed" in rows[0] and f"in use by pid {os.getpid()}" in rows[0]
    assert "completed" in rows[1]
    assert not (sweep / "0" / "status.json").exists()  # the locked folder was not touched


def test_a_requeued_submitit_job_continues_with_resume(tmp_path):
    """submitit's pre-emption signal (USR2, what SLURM sends before a time limit; submitit_local, the SLURM launcher's
    twin on this machine, is the same code) to a running job: submitit calls the launcher's checkpoint hook, requeues
    the job and ends its process; the requeued job runs with resume=true and continues from last.ckpt to exactly
    max_iters, in the same folder (nothing set aside). The signal follows the first checkpoint (iteration 20) at
    once (caught 0.8 s into training, measured): 180 more iterations (~2.5 s) leave it room, and are what the
    requeued job trains. It is also the test that a sweep runs through submitit_local at all (its .submitit logs)."""
    sweep, length = tmp_path / "s", 200
    proc = start("-m", "hydra/launcher=local_procs", *SMOKE, f"trainer.max_iters={length}", "trainer.ckpt_every=20",
                 "log.images_every=1000", "trainer.num_threads=1", f"hydra.sweep.dir={sweep}")
    job = sweep / "0"
    try:
        wait_for_status(job, "running", proc)
        while not (job / "checkpoints" / "last.ckpt").exists():
            assert proc.poll() is None
            time.sleep(0.02)
        pid = int((job / ".lock").read_text().split()[1])  # the job's own process (RunLock writes "pid N ...")
        os.kill(pid, signal.SIGUSR2)
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-3000:]
    logs = "".join(p.read_text() for p in (sweep / ".submitit").rglob("*.err"))
    assert "Caught signal SIGUSR2" in logs and "preempted" in logs, logs[-3000:]  # submitit's handler had it
    metrics = json.loads((job / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["iterations"] == length
    assert "resuming from" in (job / "run.log").read_text()  # the command had no resume=true: the requeue added it
    assert not (job / "previous").exists()  # continued, not started afresh

"""Faults a long experiment meets: the same command started twice, a kill -9 in the middle of a checkpoint write."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import torch
from conftest import ROOT

from ganexp.rundir import RunLock

SMOKE = ["trainer=smoke", "eval.enabled=false"]


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "run.py", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_status(job, wanted: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if json.loads((job / "status.json").read_text())["status"] == wanted:
                return
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise TimeoutError(f"{job} never reached {wanted}")


def test_the_same_command_twice_at_once_the_second_stops_at_the_lock(tmp_path):
    job = tmp_path / "job"
    args = [*SMOKE, "trainer.max_iters=500", "trainer.ckpt_every=50", f"hydra.run.dir={job}"]
    first = start(*args)
    wait_for_status(job, "running", first)
    second = subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert first.poll() is None, "the first run ended before the second tried: the test proves nothing"
    assert second.returncode == 2
    error = second.stderr.strip().splitlines()[-1]
    assert error.startswith("error: run folder") and str(job) in error and f"pid {first.pid}" in error

    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    metrics = json.loads((job / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["iterations"] == 500
    assert json.loads((job / "status.json").read_text())["status"] == "completed"
    assert not (job / "previous").exists()  # the second never set the first's results aside
    writers = {path.name.split(".")[-2] for path in (job / "tb").glob("events.out.tfevents.*")}
    assert writers == {str(first.pid)}  # nor wrote events beside them (the file names end in .<pid>.<n>)
    # afterwards a run in the same folder goes ahead (a short one: 8 iterations) and keeps the first run's results aside
    again = subprocess.run([sys.executable, "run.py", *SMOKE, f"hydra.run.dir={job}"], cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert len(list((job / "previous").glob("*/metrics.json"))) == 1


def test_kill_9_during_checkpoint_writes_then_resume_matches_an_uninterrupted_run(tmp_path):
    """A checkpoint every iteration, killed at random moments three times: each resume starts from a whole
    checkpoint, and the end state equals that of a run never interrupted."""
    args = [*SMOKE, "trainer.max_iters=120", "trainer.ckpt_every=1", "log.images_every=1000", "seed=11"]
    full = subprocess.run([sys.executable, "run.py", *args, f"hydra.run.dir={tmp_path / 'full'}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert full.returncode == 0, full.stderr[-2000:]

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

    resumed = subprocess.run([sys.executable, "run.py", *args, "resume=true", f"hydra.run.dir={job}"], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a = torch.load(tmp_path / "full" / "checkpoints" / "last.ckpt", weights_only=False)
    b = torch.load(job / "checkpoints" / "last.ckpt", weights_only=False)
    assert a["ganexp_counters"] == b["ganexp_counters"]
    for key, value in a["state_dict"].items():
        torch.testing.assert_close(b["state_dict"][key], value, msg=key)


def test_a_locked_job_of_a_sweep_fails_and_the_others_go_on(tmp_path):
    sweep = tmp_path / "outputs" / "multirun" / "trainer=smoke,eval.enabled=false,loss=gan,lsgan"
    with RunLock(sweep / "0"):  # another process's job in the folder of this sweep's job 0
        out = subprocess.run([sys.executable, str(ROOT / "run.py"), "-m", *SMOKE, "loss=gan,lsgan"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stderr[-2000:]
    rows = [line for line in out.stdout.splitlines() if line.strip().startswith(("0 ", "1 "))]
    assert "failed" in rows[0] and f"in use by pid {os.getpid()}" in rows[0]
    assert "completed" in rows[1]
    assert not (sweep / "0" / "status.json").exists()  # the locked folder was not touched

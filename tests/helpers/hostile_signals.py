"""Hostile-suite rows: signals (SIGTERM, SIGINT) and kill -9 sent to real processes at points of a run.

The run that is signalled or killed is a process of its own, forked from the test's (`helpers.in_process.Forked`:
its own pid, signal handlers and exit status, without a second interpreter's start-up); a signal during start-up
(imports, checks) needs a fresh interpreter, and gets one."""

import json
import signal
import subprocess
import sys
import time

import torch
from conftest import ROOT, make_config

from helpers.hostile import SMOKE, Case, Ctx, Outcome, run_in_process
from helpers.hostile_runs import trained
from helpers.in_process import Forked, Started
from helpers.run_status import wait_for_status

# The signal is sent once the run is `running` and lands in its first iterations (iteration 1, measured): 100
# iterations (~2.5 s of training) leave it room, and cost the resumed and the reference run little.
LENGTH = 100
LONG = (f"trainer.max_iters={LENGTH}", "trainer.ckpt_every=1000", "log.images_every=1000", "log.every=1000",
        "trainer.num_threads=1")  # the same arithmetic in the test process and in the signalled one


def start(args: list[str], cwd) -> subprocess.Popen:
    """A fresh `python run.py args` with the default SIGINT disposition (a shell that starts the tests in the
    background makes it ignored, and children inherit that; a terminal's Ctrl-C finds the default)."""
    return subprocess.Popen([sys.executable, str(ROOT / "run.py"), *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def signalled(signum: int, *extra: str, when: str = "running"):
    """Start a run in a fresh folder, send `signum` once its status is `when`, return how it ended."""
    def act(ctx: Ctx) -> Outcome:
        folder = ctx.tmp / "run"
        return signal_once(Forked([*SMOKE, *LONG, *extra, f"hydra.run.dir={folder}"], ctx.tmp), folder, when, signum)
    return act


def signal_once(proc: Started, folder, when: str, signum: int) -> Outcome:
    """Send `signum` to `proc` once `folder`'s status is `when`; how the process ended."""
    try:
        wait_for_status(folder, when, proc)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return Outcome(proc.returncode, err, out)


def saved_and_resumes_exactly(signame: str):
    def check(ctx: Ctx, outcome: Outcome) -> None:
        folder = ctx.tmp / "run"
        status = json.loads((folder / "status.json").read_text())
        assert status["status"] == "interrupted" and status["signal"] == signame, status
        ckpt = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=False)
        assert ckpt["ganexp_counters"]["iteration"] == status["iteration"] < LENGTH
        assert not (folder / "metrics.json").exists() and not list(folder.rglob("*.tmp"))
        # resumed in this process, it ends where a run never interrupted ends (trained once per test process, for
        # the SIGTERM and the SIGINT row): all its iterations, the same weights
        from ganexp.train import main as train

        ctx.monkeypatch.chdir(folder)
        train(make_config(*SMOKE, *LONG, "resume=true"))
        assert json.loads((folder / "metrics.json").read_text())["iterations"] == LENGTH
        full, resumed = (torch.load(f / "checkpoints" / "last.ckpt", weights_only=False)
                         for f in (trained(*LONG), folder))
        assert resumed["ganexp_counters"] == full["ganexp_counters"], (resumed["ganexp_counters"], status)
        torch.testing.assert_close(resumed["state_dict"], full["state_dict"], rtol=0, atol=0)
    return check


def sweep_signalled(signum: int):
    def act(ctx: Ctx) -> Outcome:
        sweep = ctx.tmp / "sweep"
        proc = Forked(["-m", *SMOKE, *LONG, "trainer.max_iters=100000", "seed=1,2,3", f"hydra.sweep.dir={sweep}"],
                      ctx.tmp)
        return signal_once(proc, sweep / "0", "running", signum)
    return act


def sweep_lists_interrupted(ctx: Ctx, outcome: Outcome) -> None:
    sweep = ctx.tmp / "sweep"
    rows = [line.split() for line in outcome.out.splitlines() if line.strip()[:1].isdigit()]
    assert [r[:2] for r in rows] == [["0", "interrupted"], ["1", "not"], ["2", "not"]], outcome.out
    assert "resume=true continues the sweep" in outcome.out
    assert (sweep / "report.md").exists() and (sweep / "0" / "checkpoints" / "last.ckpt").exists()
    assert json.loads((sweep / "1" / "status.json").read_text())["status"] == "not started"


def killed_9(ckpt_every: int, after_checkpoint: int | None):
    """kill -9 mid-training, once status.json records the checkpoint of iteration `after_checkpoint` (None: as soon
    as the run is `running`, before any checkpoint); then resume=true in this process (the command's code path and
    exit status, without a second start-up: the kill is what needs a process of its own)."""
    def act(ctx: Ctx) -> Outcome:
        folder = ctx.tmp / "run"
        args = [*killed_args(ckpt_every), f"hydra.run.dir={folder}"]
        ctx.extra["args"] = killed_args(ckpt_every)
        proc = Forked(args, ctx.tmp)
        try:
            wait_for_status(folder, "running", proc)
            while after_checkpoint is not None and read_status(folder).get("checkpoint", 0) < after_checkpoint:
                assert proc.poll() is None
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=60)
        finally:
            proc.kill()
        status = read_status(folder)
        assert status["status"] == "running", status  # what a kill -9 leaves
        ckpt = folder / "checkpoints" / "last.ckpt"
        assert ckpt.exists() == (after_checkpoint is not None)
        if ckpt.exists():
            ctx.extra["killed_at"] = torch.load(ckpt, weights_only=False)["ganexp_counters"]["iteration"]
            assert ctx.extra["killed_at"] < 60 and ctx.extra["killed_at"] % ckpt_every == 0
        ctx.capfd.readouterr()
        return run_in_process(ctx, [*args, "resume=true"])
    return act


def killed_args(ckpt_every: int) -> list[str]:
    return [*SMOKE, "trainer.max_iters=60", f"trainer.ckpt_every={ckpt_every}", "log.images_every=1000",
            "log.every=1000", "trainer.num_threads=1"]


def read_status(folder) -> dict:
    try:
        return json.loads((folder / "status.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):  # between the atomic writes' rename: read again
        return {}


def resumed_to_length(ctx: Ctx, outcome: Outcome) -> None:
    folder = ctx.tmp / "run"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["iterations"] == 60
    resumed = "resuming from" in (folder / "run.log").read_text()
    assert resumed == ("killed_at" in ctx.extra)  # from the checkpoint when there was one, else afresh
    # the same weights as a run never killed (in this process, the same one thread)
    from ganexp.train import main as train

    (ctx.tmp / "full").mkdir()
    ctx.monkeypatch.chdir(ctx.tmp / "full")
    train(make_config(*ctx.extra["args"]))
    full, killed = (torch.load(f / "checkpoints" / "last.ckpt", weights_only=False) for f in (ctx.tmp / "full", folder))
    assert killed["ganexp_counters"] == full["ganexp_counters"]
    torch.testing.assert_close(killed["state_dict"], full["state_dict"], rtol=0, atol=0)


def killed_at_start_up(signum: int):
    """A signal during start-up (imports, checks), before the run folder is touched: the job's earlier results stay
    byte for byte (the suite's snapshot check)."""
    def act(ctx: Ctx) -> Outcome:
        proc = start([*SMOKE, f"hydra.run.dir={ctx.job}"], ctx.tmp)
        time.sleep(0.3)  # importing torch alone takes longer
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
        return Outcome(proc.returncode, err, out)
    return act


CASES = [
    Case("signal: SIGTERM mid-training", "signal", signalled(signal.SIGTERM), None, exit=143, untouched=False,
         check=saved_and_resumes_exactly("SIGTERM")),
    Case("signal: SIGINT mid-training", "signal", signalled(signal.SIGINT), None, exit=130, untouched=False,
         check=saved_and_resumes_exactly("SIGINT")),
    Case("signal: SIGTERM to a sweep", "signal", sweep_signalled(signal.SIGTERM), None, exit=143, untouched=False,
         check=sweep_lists_interrupted),
    Case("signal: SIGINT to a sweep", "signal", sweep_signalled(signal.SIGINT), None, exit=130, untouched=False,
         check=sweep_lists_interrupted),
    Case("signal: SIGTERM during start-up", "signal", killed_at_start_up(signal.SIGTERM), None, exit=-15),
    Case("signal: SIGINT during start-up", "signal", killed_at_start_up(signal.SIGINT), None, exit=-2),
    Case("kill: kill -9 mid-training, resumed", "kill", killed_9(1, 1), None, exit=0, untouched=False,
         check=resumed_to_length),
    Case("kill: kill -9 between checkpoints, resumed", "kill", killed_9(25, 25), None, exit=0, untouched=False,
         check=resumed_to_length),
    Case("kill: kill -9 before the first checkpoint, resumed", "kill", killed_9(1000, None), None, exit=0,
         untouched=False, check=resumed_to_length),
]

"""A sweep as data: its job folders, each job's overrides, and the ledger of jobs that failed outside their folder.

A job that cannot run because its folder belongs to another live process (the same sweep started twice) must not
touch that folder, so it records its failure in the sweep's ledger, `<sweep>/.ledger/<token>/<job>.json`, where
<token> names this launch of the sweep (set in the environment before any job starts, inherited by launcher
workers). torch-free.
"""

import contextlib
import fcntl
import json
import os
import signal
import sys
from pathlib import Path

from omegaconf import OmegaConf

from ganexp.atomic import atomic_write, write_json

TOKEN = "GANEXP_SWEEP_TOKEN"
INTERRUPTED = "GANEXP_SWEEP_INTERRUPTED"  # set by the job a signal stopped: 128 + the signal's number
# overrides that say how a job runs, not what (a run extended from a shorter one is the longer run)
# (a key and everything under it: `logger` covers logger.mlflow.tracking_uri)
HOW_NOT_WHAT = ("resume", "extend_from", "trainer.progress", "hydra.verbose", "logger")


def under(key: str, keys: tuple[str, ...]) -> bool:
    """Whether dotted `key` is one of `keys` or lies under one of them."""
    return any(key == k or key.startswith(f"{k}.") for k in keys)


def resume_when_requeued() -> None:
    """hydra-submitit (hydra/launcher=slurm, local_procs) requeues a pre-empted or timed-out job through its
    launcher's `checkpoint` hook with the overrides the job was first given; a requeued ganexp job must continue from
    its last.ckpt, not set its folder aside and start afresh, so the hook adds resume=true. Called in the job's own
    process, where submitit's signal handler holds the job (its launcher may be a by-value copy of the plugin's
    class, so the class patched is the job's own); a no-op under the other launchers."""
    if "submitit" not in sys.modules:
        return
    from submitit.core.job_environment import JobEnvironment

    handler = signal.getsignal(JobEnvironment._usr_sig())
    launcher = getattr(getattr(getattr(handler, "__self__", None), "_delayed", None), "function", None)
    kind = type(launcher)
    if not hasattr(kind, "checkpoint") or hasattr(kind.checkpoint, "resumes"):
        return
    original = kind.checkpoint

    def checkpoint(self, sweep_overrides: list[str], *args, **kwargs):
        return original(self, with_resume(sweep_overrides), *args, **kwargs)

    checkpoint.resumes = True
    kind.checkpoint = checkpoint


def with_resume(overrides: list[str]) -> list[str]:
    """The overrides with resume=true in place of any resume setting of their own."""
    return [o for o in overrides if o.split("=", 1)[0].lstrip("+~") != "resume"] + ["resume=true"]


def job_folders(sweep: Path) -> list[Path]:
    """The sweep's job folders in job order (0, 1, ..., 10)."""
    return sorted((p for p in Path(sweep).iterdir() if (p / ".hydra").is_dir()), key=lambda p: (len(p.name), p.name))


def how_left_out(overrides: list[str]) -> list[str]:
    """Overrides without those that only say how a job runs."""
    return [o for o in overrides if not under(o.split("=", 1)[0].lstrip("+~"), HOW_NOT_WHAT)]


def job_overrides(job: Path) -> list[str]:
    """The job's own command-line overrides, without those that only say how it runs."""
    path = Path(job) / ".hydra" / "overrides.yaml"
    if not path.exists():
        return []
    return how_left_out(list(OmegaConf.load(path)))


def record_outside(run_dir: Path, error: str, status: str = "failed") -> None:
    """Record a job that stopped at a check (its one error line) without touching anything earlier: in its own
    folder when that is new and empty (`status.json` failed and `.hydra/overrides.yaml`, so a report rebuilt later
    still lists it), else in the sweep's ledger (the folder holds another run's results, or belongs to another live
    process). Either record keeps the job's own overrides, so the sweep's table names the job that failed."""
    from hydra.core.hydra_config import HydraConfig

    from ganexp.rundir import write_status  # here: rundir imports this module

    run_dir = Path(run_dir)
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    entry = {"status": status, "error": error, "overrides": how_left_out(overrides)}
    with contextlib.suppress(OSError):  # a folder that cannot be written (the error may be just that)
        if run_dir.is_dir() and not [p for p in run_dir.iterdir() if p.name != ".lock"] and not held(run_dir):
            atomic_write(run_dir / ".hydra" / "overrides.yaml", lambda f: f.write(OmegaConf.to_yaml(overrides)))
            write_status(run_dir, status, error=error)
            return
    token = os.environ.get(TOKEN)
    if token:
        with contextlib.suppress(OSError):
            write_json(run_dir.parent / ".ledger" / token / f"{run_dir.name}.json", entry)


def held(run_dir: Path) -> bool:
    """Whether another live process holds the run folder's lock (ganexp.rundir.RunLock)."""
    lock = Path(run_dir) / ".lock"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock taken here


def ledger(sweep: Path, token: str) -> dict[str, dict]:
    """The sweep's ledger for one launch: {job folder name: entry}."""
    folder = Path(sweep) / ".ledger" / token
    if not folder.is_dir():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def sweep_jobs(sweep: Path, outside: dict[str, dict]) -> list[Path]:
    """The sweep's job folders in job order: those that ran (`job_folders`) and those that stopped at a check
    (named in the ledger entries `outside`, their folders left as they were)."""
    ran = job_folders(sweep)
    stopped = [Path(sweep) / name for name in outside if Path(sweep) / name not in ran]
    return sorted([*ran, *stopped], key=lambda p: (len(p.name), p.name))

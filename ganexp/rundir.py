"""A job's run folder: one owner at a time, its `status.json`, and earlier results set aside.

A job's folder is named after its command (its overrides), so re-launching the same command finds it again: with
`resume=true` a completed job is skipped and an unfinished one continues from `checkpoints/last.ckpt`; without it,
earlier results are moved to `previous/<time>/` rather than overwritten. The same command started twice would put
two live processes in one folder, so a job holds an OS lock on `<run>/.lock` (fcntl.flock) from before it touches
anything until it ends. The kernel drops the lock when the process dies, even by kill -9: nothing to clean up.
torch-free: the report reads statuses without importing it.
"""

import fcntl
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from ganexp.atomic import write_json
from ganexp.errors import RunLocked

log = logging.getLogger(__name__)
STATUS = "status.json"
LOCK = ".lock"
RESULTS = ("checkpoints", "samples", "tb", "metrics.json", STATUS)


def read_status(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / STATUS
    return json.loads(path.read_text()) if path.exists() else {}


def write_status(run_dir: Path, status: str, **details: Any) -> None:
    write_json(Path(run_dir) / STATUS, {"status": status, "time": time.strftime("%Y-%m-%d %H:%M:%S"), **details})


def set_aside(run_dir: Path, *more: Path) -> None:
    """Move an earlier run's results to `previous/<time>/` (a fresh start must not mix with or destroy them)."""
    candidates = [*(Path(run_dir) / name for name in RESULTS), *more]
    found = list(dict.fromkeys(p for p in candidates if p.exists() and p != Path(run_dir)))
    if not found:
        return
    dest = Path(run_dir) / "previous" / time.strftime("%Y%m%d-%H%M%S")
    dest.mkdir(parents=True, exist_ok=True)
    for path in found:
        shutil.move(str(path), dest / path.name)
    log.info("earlier results of this job moved to %s (resume=true continues a run instead)", dest)


class RunLock:
    """Exclusive ownership of a run folder for a `with` block; raises RunLocked naming the folder and the holder.

    The lock file stays (an unlocked file is no lock); it holds the owner's pid and start time for the message.
    """

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK
        self.fd: int | None = None

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise RunLocked(f"run folder {self.path.parent} is in use by {holder}; wait for it to end, or give this "
                            "run another folder (other overrides, or hydra.run.dir=...)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} (since {time.strftime('%Y-%m-%d %H:%M:%S')})".encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the lock
            self.fd = None

"""A job's run folder: one owner at a time, its `status.json`, and earlier results set aside.

A job's folder is named after its command (its overrides), so re-launching the same command finds it again: with
`resume=true` a completed job is skipped and an unfinished one continues from `checkpoints/last.ckpt`; without it,
earlier results are moved to `previous/<time>/` rather than overwritten. `extend_from=<run or sweep folder>` starts a
job from a copy of a finished shorter run of the same settings (`extension_source`) instead of from scratch.
The same command started twice would put
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

from omegaconf import OmegaConf

from ganexp.atomic import write_json
from ganexp.errors import ConfigError, RunLocked

log = logging.getLogger(__name__)
STATUS = "status.json"
LOCK = ".lock"
RESULTS = ("checkpoints", "samples", "tb", "metrics.json", STATUS)
# Keys a run may change when it extends a shorter one: its length, and how it runs (not what it computes).
EXTENDABLE = ("trainer.max_iters", "trainer.max_epochs", "trainer.num_threads", "trainer.progress", "resume",
              "extend_from")


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


def flat(config: dict, prefix: str = "") -> dict[str, Any]:
    """A nested config as {"dotted.key": value}."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict) and value:
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def differences(a: dict, b: dict) -> list[str]:
    """The dotted keys whose values differ between two resolved configs, ignoring `EXTENDABLE`."""
    fa, fb = flat(a), flat(b)
    return sorted(k for k in fa.keys() | fb.keys()
                  if k not in EXTENDABLE and fa.get(k, "<unset>") != fb.get(k, "<unset>"))


def extension_source(config: dict, where: Path) -> Path:
    """The run folder that `extend_from=where` names for a job of resolved settings `config`: `where` itself, or the
    one job of the sweep folder `where` whose `config.yaml` differs from `config` only in `EXTENDABLE` keys.
    Raises ConfigError naming the folder and, when nothing matches, the nearest job's differing keys."""
    where = Path(where)
    if not where.is_dir():
        raise ConfigError(f"extend_from={where}: no such folder")
    candidates = [where] if (where / "config.yaml").exists() else sorted(
        (p for p in where.iterdir() if (p / "config.yaml").exists()), key=lambda p: (len(p.name), p.name))
    if not candidates:
        raise ConfigError(f"extend_from={where}: neither a run folder nor a sweep folder (no config.yaml in it or its "
                          "job folders)")
    configs = {p: OmegaConf.to_container(OmegaConf.load(p / "config.yaml")) for p in candidates}
    diffs = {p: differences(config, c) for p, c in configs.items()}
    matches = [p for p, d in diffs.items() if not d]
    if len(matches) > 1:
        raise ConfigError(f"extend_from={where}: {len(matches)} runs have this job's settings "
                          f"({', '.join(p.name for p in matches)}); name one run folder")
    if not matches:
        nearest = min(diffs, key=lambda p: len(diffs[p]))
        here, there = flat(config), flat(configs[nearest])
        shown = ", ".join(f"{k} ({here.get(k, '<unset>')} here, {there.get(k, '<unset>')} there)"
                          for k in diffs[nearest][:3])
        more = f" and {len(diffs[nearest]) - 3} more" if len(diffs[nearest]) > 3 else ""
        raise ConfigError(f"extend_from={where}: no run there has this job's settings; the nearest, {nearest}, "
                          f"differs in {shown}{more}")
    return matches[0]


def tensorboard_dir(run_dir: Path) -> Path:
    """Where a run's TensorBoard events are: `<run>/tb`, or for a sweep's job `<sweep>/tb/<its overrides>`."""
    hydra_file = Path(run_dir) / ".hydra" / "hydra.yaml"
    if hydra_file.exists():
        hydra = OmegaConf.load(hydra_file).hydra
        if hydra.mode == "MULTIRUN":
            return Path(run_dir).parent / "tb" / (hydra.job.override_dirname or "default")
    return Path(run_dir) / "tb"


def copy_run(source: Path, run_dir: Path, tb_dir: Path) -> None:
    """Copy a run's pictures, TensorBoard events and checkpoints into another run's (empty) folders. The
    checkpoints come last and whole (copied beside, then renamed), so a copy cut short leaves no `last.ckpt`:
    `resume=true` then makes the extension again rather than continuing from half a file."""
    if (Path(source) / "samples").is_dir():
        shutil.copytree(Path(source) / "samples", Path(run_dir) / "samples", dirs_exist_ok=True)
    events = tensorboard_dir(source)
    if events.is_dir():
        shutil.copytree(events, tb_dir, dirs_exist_ok=True)
    partial = Path(run_dir) / "checkpoints.partial"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(Path(source) / "checkpoints", partial)
    partial.rename(Path(run_dir) / "checkpoints")

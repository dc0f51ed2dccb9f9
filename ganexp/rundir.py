"""A job's run folder: one owner at a time, its `status.json`, and earlier results set aside.

A job's folder is named after its command (its overrides; a name that would be too long keeps its start and gets a
short hash of the whole configuration, `digest`), and belongs to one resolved configuration, which it records in
`config.yaml`: a later job in the same folder (resume, extend_from, a reused sweep folder, hydra.run.dir=...) whose
settings differ in anything but how it runs (`HOW_NOT_WHAT`) stops with the differing keys (`check_identity`) before
it touches anything. Re-launching the same command finds its folder again: with
`resume=true` a completed job is skipped and an unfinished one continues from `checkpoints/last.ckpt`; without it,
earlier results are moved to `previous/<time>/` rather than overwritten. `extend_from=<run or sweep folder>` starts a
job from a copy of a finished shorter run of the same settings (`extension_source`) instead of from scratch.
The same command started twice would put
two live processes in one folder, so a job holds an OS lock on `<run>/.lock` (fcntl.flock) from before it touches
anything until it ends. The kernel drops the lock when the process dies, even by kill -9: nothing to clean up.
torch-free: the report reads statuses without importing it.
"""

import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from ganexp.atomic import atomic_write, write_json
from ganexp.errors import ConfigError, RunFolderMoved, RunLocked, RunMismatch, StateFileError
from ganexp.sweep import HOW_NOT_WHAT, under

log = logging.getLogger(__name__)
STATUS = "status.json"
LOCK = ".lock"
CONFIG = "config.yaml"
LOG = "run.log"
# what a fresh start moves to previous/<time>/: the earlier run's results with the record of its settings
RESULTS = ("checkpoints", "samples", "tb", "metrics.json", STATUS, CONFIG, ".hydra", LOG,
           "metrics.jsonl", "csv", "mlflow", "wandb")  # ganexp.store's file, the loggers' folders (conf/logger/)
# Keys a run may change when it extends a shorter one: its length, and how it runs (not what it computes).
EXTENDABLE = ("trainer.max_iters", "trainer.max_epochs", "trainer.num_threads", "trainer.progress", "resume",
              "extend_from", "logger")


def read_json(path: Path, fix: str) -> dict[str, Any] | None:
    """A JSON object file ganexp wrote; None when it does not exist. Empty, cut short or not an object: a
    StateFileError naming the file and `fix` (what the user can do)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        why = "is empty" if path.stat().st_size == 0 else f"is not valid JSON ({err})"
        raise StateFileError(f"{path} {why}: {fix}") from None
    if not isinstance(data, dict):
        raise StateFileError(f"{path} is not a JSON object: {fix}")
    return data


def read_status(run_dir: Path) -> dict[str, Any]:
    """The run's status.json ({} when it has none); a damaged one is a StateFileError saying what to do."""
    fix = ("delete it to resume from checkpoints/last.ckpt (resume=true), or run without resume=true to start "
           "afresh (the earlier results are moved to previous/)")
    return read_json(Path(run_dir) / STATUS, fix) or {}


def write_status(run_dir: Path, status: str, **details: Any) -> None:
    """The one writer of `status.json`, whole or not at all: the run's life (ganexp.train) and a job that stopped at
    a check before its run began (ganexp.sweep.record_outside) both call it, so every status has one format. A
    folder this process locked that has since moved is not written (`check_owned`)."""
    check_owned(Path(run_dir) / STATUS)
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


class RunLog:
    """The job's log file, `<run>/run.log`, for a `with` block: records are held in memory until `start(run_dir)`
    (called once the job's checks have passed), then written there, the held ones first. A job that stops at a
    check writes no log file (its one error line goes to the terminal)."""

    FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"

    def __enter__(self) -> "RunLog":
        self.held: list[logging.LogRecord] = []
        self.handler: logging.Handler = _Holder(self.held)
        logging.getLogger().addHandler(self.handler)
        return self

    def start(self, run_dir: Path) -> None:
        file = logging.FileHandler(Path(run_dir) / LOG)
        file.setFormatter(logging.Formatter(self.FORMAT))
        for record in self.held:
            file.handle(record)
        logging.getLogger().removeHandler(self.handler)
        self.handler = file
        logging.getLogger().addHandler(file)

    def __exit__(self, *exc: Any) -> None:
        logging.getLogger().removeHandler(self.handler)
        self.handler.close()


class _Holder(logging.Handler):
    def __init__(self, held: list[logging.LogRecord]):
        super().__init__()
        self.held = held

    def emit(self, record: logging.LogRecord) -> None:
        self.held.append(record)


_HELD: dict[Path, "RunLock"] = {}  # run folder -> this process's lock on it


def check_owned(path: Path) -> None:
    """Before a run's state file (status.json, a checkpoint) is written at `path`: the run folder above it that this
    process locked must still be where it was locked. A folder moved (or removed) mid-run would otherwise have its
    state written where it used to be, perhaps into another job's folder: RunFolderMoved instead."""
    path = Path(path).absolute()
    for run_dir, lock in _HELD.items():
        if (run_dir == path or run_dir in path.parents) and lock.moved():
            raise RunFolderMoved(f"run folder {run_dir} was moved or removed while its run was going (its lock file "
                                 f"is no longer there): stopped without writing {path.relative_to(run_dir)} there; "
                                 "the run's files are where the folder went (resume=true continues it from there)")


class RunLock:
    """Exclusive ownership of a run folder for a `with` block; raises RunLocked naming the folder and the holder.

    The lock file stays (an unlocked file is no lock); it holds the owner's pid and start time for the message.
    """

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK
        self.fd: int | None = None

    def moved(self) -> bool:
        """Whether the lock file at the folder's path is no longer the one this lock holds (the folder moved)."""
        try:
            here, held = os.stat(self.path), os.fstat(self.fd)
        except FileNotFoundError:
            return True
        return (here.st_dev, here.st_ino) != (held.st_dev, held.st_ino)

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
        _HELD[self.path.parent.absolute()] = self
        return self

    def __exit__(self, *exc: Any) -> None:
        _HELD.pop(self.path.parent.absolute(), None)
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


def differences(a: dict, b: dict, ignore: tuple[str, ...] = EXTENDABLE) -> list[str]:
    """The dotted keys whose values differ between two resolved configs, ignoring `ignore` (default
    `EXTENDABLE`)."""
    fa, fb = flat(a), flat(b)
    return sorted(k for k in fa.keys() | fb.keys()
                  if not under(k, ignore) and fa.get(k, "<unset>") != fb.get(k, "<unset>"))


def shown(keys: list[str], here: dict, there: dict, at_most: int = 3) -> str:
    """'key (value here, value there), ...' for the first `at_most` keys, and how many more."""
    here, there = flat(here), flat(there)
    text = ", ".join(f"{k} ({here.get(k, '<unset>')} here, {there.get(k, '<unset>')} there)" for k in keys[:at_most])
    return text + (f" and {len(keys) - at_most} more" if len(keys) > at_most else "")


def identity(config: dict) -> dict[str, Any]:
    """What makes a run this run: the resolved config, flat, less the keys that say how it runs."""
    return {k: v for k, v in flat(config).items() if not under(k, HOW_NOT_WHAT)}


def digest(config: dict) -> str:
    """A short hash of `identity(config)` (10 hex digits), the same for the same settings on any machine."""
    text = json.dumps(identity(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def recorded_config(run_dir: Path) -> dict | None:
    """The resolved settings a run folder records (config.yaml); None when it records none; damaged: StateFileError."""
    path = Path(run_dir) / CONFIG
    if not path.exists():
        return None
    try:
        config = OmegaConf.to_container(OmegaConf.load(path))
    except Exception as err:  # OmegaConf/YAML raise many types for a damaged file
        raise StateFileError(f"{path} is damaged ({str(err).splitlines()[0] if str(err) else type(err).__name__}): "
                             "it records this folder's settings; move the folder away to start afresh") from None
    if not isinstance(config, dict):
        raise StateFileError(f"{path} is damaged (not a mapping of settings): move the folder away to start afresh")
    return config


def check_identity(run_dir: Path, config: dict, resume: bool) -> None:
    """A run folder belongs to one resolved configuration: a job whose settings differ from those the folder records
    (in anything but `HOW_NOT_WHAT`) stops here, naming the keys, before anything is touched. A damaged record
    stops a resumed job; a fresh start sets it aside with the rest."""
    try:
        recorded = recorded_config(run_dir)
    except StateFileError:
        if resume:
            raise
        return
    if recorded is None:
        return
    keys = differences(config, recorded, ignore=HOW_NOT_WHAT)
    if keys:
        raise RunMismatch(f"{run_dir} holds a run of other settings: {shown(keys, config, recorded)}; give this job "
                          "its own folder (hydra.run.dir=..., or hydra.sweep.dir=... for a sweep) or move that one "
                          "away")


def write_record(run_dir: Path, task_config: Any, hydra_config: Any | None) -> None:
    """The folder's record of its job: `config.yaml` (resolved) and, under Hydra, `.hydra/` (config.yaml,
    hydra.yaml, overrides.yaml, as Hydra writes them), written once the job's checks have passed (conf/config.yaml
    turns Hydra's own early writing off, so a job that stops at a check leaves the folder as it was)."""
    run_dir = Path(run_dir)
    atomic_write(run_dir / CONFIG, lambda f: f.write(OmegaConf.to_yaml(task_config, resolve=True)))
    if hydra_config is None:
        return
    files = {"config.yaml": task_config, "hydra.yaml": hydra_config,
             "overrides.yaml": hydra_config.hydra.overrides.task}
    for name, node in files.items():
        atomic_write(run_dir / ".hydra" / name, lambda f, node=node: f.write(OmegaConf.to_yaml(node)))


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
    configs = {p: recorded_config(p) for p in candidates}
    diffs = {p: differences(config, c) for p, c in configs.items()}
    matches = [p for p, d in diffs.items() if not d]
    if len(matches) > 1:
        raise ConfigError(f"extend_from={where}: {len(matches)} runs have this job's settings "
                          f"({', '.join(p.name for p in matches)}); name one run folder")
    if not matches:
        nearest = min(diffs, key=lambda p: len(diffs[p]))
        raise ConfigError(f"extend_from={where}: no run there has this job's settings; the nearest, {nearest}, "
                          f"differs in {shown(diffs[nearest], config, configs[nearest])}")
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
    """Copy a run's pictures, metrics.jsonl, TensorBoard events and checkpoints into another run's (empty) folders. The
    checkpoints come last and whole (copied beside, then renamed), so a copy cut short leaves no `last.ckpt`:
    `resume=true` then makes the extension again rather than continuing from half a file."""
    if (Path(source) / "samples").is_dir():
        shutil.copytree(Path(source) / "samples", Path(run_dir) / "samples", dirs_exist_ok=True)
    if (Path(source) / "metrics.jsonl").is_file():  # ganexp.store: the extended run's curves go on from it
        shutil.copy2(Path(source) / "metrics.jsonl", Path(run_dir) / "metrics.jsonl")
    events = tensorboard_dir(source)
    if events.is_dir():
        shutil.copytree(events, tb_dir, dirs_exist_ok=True)
    partial = Path(run_dir) / "checkpoints.partial"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(Path(source) / "checkpoints", partial)
    partial.rename(Path(run_dir) / "checkpoints")

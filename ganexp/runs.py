"""Runs that fail well: `status.json`, checkpoints that can be resumed exactly, and the sweep's verdict.

A job's folder is named after its command (its overrides), so re-launching the same command finds it again:
with `resume=true` a completed job is skipped and an unfinished one continues from `checkpoints/last.ckpt`
(weights, optimizers, schedulers, ganexp's counters and every RNG state); without it, earlier results are moved
to `previous/<time>/` rather than overwritten.
"""

import json
import logging
import os
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)
STATUS = "status.json"
RESULTS = ("checkpoints", "samples", "tb", "metrics.json", STATUS)


def write_json(path: Path, data: dict) -> None:
    """Atomic write: a reader (the sweep report, a resumed job) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as tmp:
        json.dump(data, tmp, indent=2)
    os.replace(tmp.name, path)


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


def rng_states() -> dict[str, Any]:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    # plain lists, not arrays: checkpoints stay loadable with torch.load(weights_only=True)
    states = {"torch": torch.get_rng_state(), "python": random.getstate(),
              "numpy": [kind, keys.tolist(), pos, has_gauss, cached]}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    random.setstate(states["python"])
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class Checkpointer(pl.Callback):
    """`last.ckpt` every `every` iterations and at the end (atomically), `status.json` as the run goes; on Ctrl-C
    a last checkpoint and the status `interrupted`. A diverged run keeps its last good checkpoint."""

    def __init__(self, run_dir: Path, every: int):
        self.run_dir, self.every = Path(run_dir), every
        self.path = self.run_dir / "checkpoints" / "last.ckpt"

    def save(self, trainer: pl.Trainer) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        trainer.save_checkpoint(tmp)  # collective under DDP; only rank 0 writes
        if trainer.is_global_zero:
            os.replace(tmp, self.path)

    def on_train_start(self, trainer, module) -> None:
        if trainer.is_global_zero:
            write_status(self.run_dir, "running", iteration=module.iteration)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if module.iteration % self.every == 0:
            self.save(trainer)
            if trainer.is_global_zero:
                write_status(self.run_dir, "running", iteration=module.iteration, checkpoint=module.iteration)

    def on_train_end(self, trainer, module) -> None:
        self.save(trainer)

    def on_exception(self, trainer, module, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt):
            self.save(trainer)
            write_status(self.run_dir, "interrupted", iteration=module.iteration, checkpoint=module.iteration)
            log.warning("interrupted at iteration %d: saved %s; resume=true continues", module.iteration, self.path)


class SweepStatus(Callback):
    """At the end of a multirun: one line per job with its status, the sweep report (`ganexp.report`), and a
    non-zero exit if any job failed."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep = Path(config.hydra.sweep.dir)
        jobs = sorted((p for p in sweep.iterdir() if (p / ".hydra").is_dir()), key=lambda p: (len(p.name), p.name))
        rows = []
        for job in jobs:
            status = read_status(job)
            overrides = (job / ".hydra" / "overrides.yaml")
            name = ",".join(line[2:].strip() for line in overrides.read_text().splitlines()) if overrides.exists() \
                else job.name
            rows.append((job.name, status.get("status", "no status"), name, status.get("error", "")))
        print(f"\nsweep {sweep}: {len(rows)} jobs")
        for num, status, name, error in rows:
            print(f"  {num:>3}  {status:<11} {name}" + (f"  ({error.splitlines()[0][:120]})" if error else ""))
        try:
            from ganexp.report import write_report

            write_report(sweep, config.get("monitor", "fid_eval"))
            print(f"report: {sweep / 'report.md'}")
        except Exception:  # the report must never hide the jobs' own outcome
            log.exception("writing the sweep report failed")
        failed = [r for r in rows if r[1] not in ("completed", "diverged")]
        if failed:
            raise SystemExit(f"{len(failed)} of {len(rows)} jobs did not complete")

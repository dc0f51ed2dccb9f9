"""Checkpoints that resume exactly: `last.ckpt` written atomically by iteration, with every RNG state.

Lightning keeps weights, optimizers and schedulers; the module adds ganexp's counters and the RNG states
(`rng_states`), so a resumed run draws the same numbers an uninterrupted one would.
"""

import logging
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch

from ganexp.rundir import write_status

log = logging.getLogger(__name__)


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


def save_atomic(trainer: pl.Trainer, path: Path) -> None:
    """trainer.save_checkpoint through a temporary file and a rename: a kill mid-write leaves the old file whole.
    Collective under DDP (every rank calls it); only rank 0 writes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        trainer.save_checkpoint(tmp)
        if trainer.is_global_zero:
            os.replace(tmp, path)
    except BaseException as err:  # a full disk, a kill's KeyboardInterrupt: no half file stays behind
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and not err.filename:  # ENOSPC from a write names no file: name it
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise


class Checkpointer(pl.Callback):
    """`last.ckpt` every `every` iterations and at the end, `status.json` as the run goes; on Ctrl-C a last
    checkpoint and the status `interrupted`. A diverged run keeps its last good checkpoint."""

    def __init__(self, run_dir: Path, every: int):
        self.run_dir, self.every = Path(run_dir), every
        self.path = self.run_dir / "checkpoints" / "last.ckpt"

    def save(self, trainer: pl.Trainer) -> None:
        save_atomic(trainer, self.path)

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

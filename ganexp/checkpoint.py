"""Checkpoints that resume exactly: `last.ckpt` written atomically by iteration, with every RNG state.

Lightning keeps weights, optimizers and schedulers; the module adds ganexp's counters and the RNG states
(`rng_states`), so a resumed run draws the same numbers an uninterrupted one would.
"""

import logging
import math
import os
import random
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch

from ganexp.guard import Diverged, first_nonfinite
from ganexp.rundir import check_owned

log = logging.getLogger(__name__)


def rng_states(device: torch.device | str = "cpu") -> dict[str, Any]:
    """The process's random states: torch's CPU generator, Python's, NumPy's, and the CUDA generator of the device
    this process trains on (not every visible GPU's: under DDP each rank has its own device and its own state)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    # plain lists, not arrays: checkpoints stay loadable with torch.load(weights_only=True)
    states = {"torch": torch.get_rng_state(), "python": random.getstate(),
              "numpy": [kind, keys.tolist(), pos, has_gauss, cached]}
    device = torch.device(device)
    if device.type == "cuda":
        states["cuda_device"] = torch.cuda.get_rng_state(device)
    return states


def set_rng_states(states: dict[str, Any], device: torch.device | str = "cpu") -> None:
    torch.set_rng_state(states["torch"])
    random.setstate(states["python"])
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    device = torch.device(device)
    if device.type != "cuda":
        return
    if "cuda_device" in states:
        torch.cuda.set_rng_state(states["cuda_device"], device)
    elif "cuda" in states:  # checkpoints before: every visible GPU's state, by index
        index = device.index if device.index is not None else torch.cuda.current_device()
        if index < len(states["cuda"]):
            torch.cuda.set_rng_state(states["cuda"][index], device)


def save_atomic(trainer: pl.Trainer, path: Path) -> None:
    """trainer.save_checkpoint through a temporary file and a rename: a kill mid-write leaves the old file whole.
    Collective under DDP (every rank calls it); only rank 0 writes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        trainer.save_checkpoint(tmp)  # collective under DDP: every rank takes part before rank 0 checks
        if trainer.is_global_zero:
            check_owned(path)  # the run folder still where this run locked it (else RunFolderMoved)
            os.replace(tmp, path)
    except BaseException as err:  # a full disk, a kill's KeyboardInterrupt: no half file stays behind
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and not err.filename:  # ENOSPC from a write names no file: name it
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise


class Checkpointer(pl.Callback):
    """`last.ckpt` every `every` iterations and at the end; on SIGTERM or Ctrl-C a last checkpoint (`saved`,
    `interrupted`: what `ganexp.train.StatusWriter` writes to status.json). Never a state that is not finite: a
    diverged run keeps its last good checkpoint (`saved` is its iteration; None when there is none)."""

    def __init__(self, run_dir: Path, every: int):
        self.run_dir, self.every = Path(run_dir), every
        self.interrupted: int | None = None  # the signal that stopped the run
        self.requested: int | None = None  # a Ctrl-C waiting for the end of the iteration
        self.path = self.run_dir / "checkpoints" / "last.ckpt"
        self.saved: int | None = None  # the iteration last.ckpt holds

    def save(self, trainer: pl.Trainer, stop: bool = True) -> bool:
        """Refresh last.ckpt, unless a weight, optimizer state or latest loss is not finite (with guard.every > 1 a
        bad step can come between two checks): then the last good checkpoint stays and, with `stop`, the run ends
        as diverged here. Whether it saved."""
        module = trainer.lightning_module
        bad = first_nonfinite(state_tensors(trainer))
        # Under DDP the ranks decide together (saving is collective): one rank's non-finite loss stops them all
        if trainer.world_size > 1 and trainer.strategy.reduce_boolean_decision(bad is not None, all=False):
            bad = bad or ("a state of another rank", math.nan)
        if bad:
            kept = f"iteration {self.saved}" if self.saved is not None else "none saved"
            log.warning("not saving %s at iteration %d: %s is not finite; the last good checkpoint stays (%s)",
                        self.path, module.iteration, bad[0], kept)
            if stop:
                raise Diverged(module.iteration, bad[0], bad[1])
            return False
        save_atomic(trainer, self.path)
        self.saved = module.iteration
        return True

    def request_stop(self, trainer: pl.Trainer, signum: int, frame: Any) -> None:
        """SIGINT's handler during training: stop at the end of the iteration, as Lightning does for SIGTERM, so the
        saved checkpoint is a whole iteration (a KeyboardInterrupt could land between D's and G's steps). A second
        Ctrl-C stops at once, unsaved."""
        if self.requested:
            raise KeyboardInterrupt
        self.requested = signum
        trainer._signal_connector.received_sigterm = True  # Lightning's own flag (no public setter): checked per batch

    def on_train_start(self, trainer, module) -> None:
        self.saved = module.iteration if self.path.exists() else None  # a resumed run's checkpoint

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if module.iteration % self.every == 0:
            self.save(trainer)

    def on_train_end(self, trainer, module) -> None:
        self.save(trainer)

    def on_exception(self, trainer, module, exception: BaseException) -> None:
        """Ctrl-C (SIGINT, a KeyboardInterrupt) or SIGTERM (what SLURM, Kubernetes and systemd send; Lightning raises
        SIGTERMException at the end of the iteration it arrives in): save a whole-iteration `last.ckpt`, mark the
        job `interrupted` with the signal (`ganexp.train.StatusWriter`); `ganexp.train.fit` then ends the process with
        status 128 + signal."""
        signum = self.requested or signal_of(exception)
        if signum is None:
            return
        self.interrupted = signum
        self.save(trainer, stop=False)
        log.warning("%s at iteration %d: %s holds iteration %s; resume=true continues", signal.Signals(signum).name,
                    module.iteration, self.path, self.saved)


def state_tensors(trainer: pl.Trainer) -> Iterator[tuple[str, Any]]:
    """What a checkpoint keeps of the run's numbers, by name: the module's parameters and buffers (G's average
    too), the optimizers' state, the latest losses."""
    module = trainer.lightning_module
    yield from module.named_parameters()
    yield from module.named_buffers()
    for i, optimizer in enumerate(trainer.optimizers):
        for state in optimizer.state.values():
            yield from ((f"optimizer {i} {key}", value) for key, value in state.items())
    yield from getattr(module, "_last", {}).items()


def signal_of(exception: BaseException) -> int | None:
    """The signal an exception stands for: SIGINT for a KeyboardInterrupt, SIGTERM for Lightning's SIGTERMException."""
    from pytorch_lightning.utilities.exceptions import SIGTERMException

    if isinstance(exception, SIGTERMException):
        return signal.SIGTERM
    if isinstance(exception, KeyboardInterrupt):
        return signal.SIGINT
    return None


class Interrupted(BaseException):
    """A run stopped by a signal after saving itself; the process exits with 128 + the signal's number (130 for
    SIGINT, 143 for SIGTERM), as a shell reports a process ended by that signal. Not an Exception, so no handler
    records it as `failed`."""

    def __init__(self, signum: int, iteration: int):
        super().__init__(f"{signal.Signals(signum).name} at iteration {iteration}")
        self.signum, self.iteration = signum, iteration

    @property
    def exit_status(self) -> int:
        return 128 + self.signum

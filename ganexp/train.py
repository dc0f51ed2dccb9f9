"""The run's life: one job from its checks to its end. It owns the run folder (lock, identity, resume, extend) and
writes `status.json` (`StatusWriter` during training) through `rundir.write_status`, its one writer (also used by
`sweep.record_outside` for a sweep's job stopped at a check); `ganexp.build` makes what it trains,
`ganexp.runtime` says how it computes.

Run folder: `config.yaml`, `checkpoints/last.ckpt`, `samples/iter_*.png`, `metrics.json`, `metrics.jsonl` (every
logged scalar, `ganexp.store`), and what the chosen loggers write (`logger=`, conf/logger/): TensorBoard events by
default (under the sweep's shared `tb/<overrides>/` in a multirun, so all jobs overlay in one TensorBoard).
"""

import contextlib
import json
import logging
import math
import signal
import time
import traceback
from functools import partial
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from ganexp.atomic import write_json
from ganexp.build import Job, build, serves_images
from ganexp.checkpoint import Checkpointer, Interrupted
from ganexp.errors import ConfigError, RunFolderMoved, StateFileError
from ganexp.gpus import pin_gpu
from ganexp.loggers import finish, log_hparams, log_text
from ganexp.modules.base import Diverged
from ganexp.ranks import launched_worker
from ganexp.rundir import (
    RunLock,
    RunLog,
    check_identity,
    check_owned,
    copy_run,
    extension_source,
    read_status,
    set_aside,
    write_record,
    write_status,
)
from ganexp.runtime import arithmetic, provenance, resolve_arithmetic
from ganexp.schema import validate

log = logging.getLogger(__name__)


class StatusWriter(pl.Callback):
    """`status.json` during training, on rank 0, after the Checkpointer's hook of the same event: `running` (with the
    iteration `last.ckpt` holds once it is saved), `interrupted` (with the signal and the checkpoint)."""

    def __init__(self, run_dir: Path, checkpointer: Checkpointer):
        self.run_dir, self.checkpointer = run_dir, checkpointer

    def on_train_start(self, trainer, module) -> None:
        if trainer.is_global_zero:
            write_status(self.run_dir, "running", iteration=module.iteration)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        saved = self.checkpointer.saved == module.iteration and module.iteration % self.checkpointer.every == 0
        if saved and trainer.is_global_zero:
            write_status(self.run_dir, "running", iteration=module.iteration, checkpoint=module.iteration)

    def on_exception(self, trainer, module, exception: BaseException) -> None:
        signum = self.checkpointer.interrupted
        if signum is not None and trainer.is_global_zero:
            write_status(self.run_dir, "interrupted", iteration=module.iteration, checkpoint=self.checkpointer.saved,
                         signal=signal.Signals(signum).name)


def run_paths() -> tuple[Path, Path, str]:
    """(run folder, TensorBoard root, run name). In a multirun all jobs share `<sweep>/tb`, named by overrides."""
    if not HydraConfig.initialized():
        return Path.cwd(), Path.cwd() / "tb", ""
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    if hc.mode.name == "MULTIRUN":
        return run_dir, Path(hc.sweep.dir) / "tb", hc.job.override_dirname or "default"
    return run_dir, run_dir / "tb", ""


def main(cfg: DictConfig, imports_s: float = 0.0) -> float:
    """Train one job; returns the best value of `cfg.monitor` over its evaluations (NaN if it has none).

    Order matters: every check that can fail runs before anything in the run folder changes: the config's values,
    the folder's owner (lock) and the settings it records (identity), the state a resume continues (status and
    checkpoint read in full), the data, networks, evaluator and trainer (built). A mistake (an `InputError`) thus
    leaves the folder byte for byte as it was. Then the folder's record and `status.json` are written throughout: a
    diverged run ends normally (status `diverged`); any other error is recorded as `failed` with its text (where
    the disk still takes it) and raised again.
    """
    pin_gpu(cfg)  # a parallel sweep's worker sees only its own GPU (ganexp.gpus); before anything starts CUDA
    run_dir, tb_root, name = run_paths()
    if launched_worker():
        # A DDP rank above 0 (Lightning's re-run of the command, srun's other tasks): rank 0 owns the folder and its
        # files, and has already set it up (the ranks start together in fit): resume from what rank 0 resumes from.
        resolve_arithmetic(cfg.trainer, serves_images(cfg))
        last = run_dir / "checkpoints" / "last.ckpt"
        return fit(build(cfg, run_dir, tb_root, name), last if (cfg.resume or cfg.extend_from) and last.exists()
                   else None)
    validate(cfg)
    resolve_arithmetic(cfg.trainer, serves_images(cfg))
    config = OmegaConf.to_container(cfg, resolve=True)
    with RunLog() as run_log, RunLock(run_dir):
        check_identity(run_dir, config, cfg.resume)
        resume_from = None
        if cfg.resume:
            previous = read_status(run_dir)
            if previous.get("status") == "completed":
                log.info("already completed, skipped (resume=true): %s", run_dir)
                metric = previous.get("metric")
                return math.nan if metric is None else float(metric)
            last = run_dir / "checkpoints" / "last.ckpt"
            if last.exists():
                checkpoint_iteration(last, "resume=true")
                resume_from = last
        source = extension_source(config, Path(cfg.extend_from)) if cfg.extend_from and resume_from is None else None
        job = build(cfg, run_dir, tb_root, name, imports_s)
        done = check_extendable(source, job.module.loop.max_iters) if source is not None else 0
        try:
            if resume_from is None:
                set_aside(run_dir, tb_root / name)
            if source is not None:
                copy_run(source, run_dir, tb_root / name)
                job.module.seconds_before = source_seconds(source)  # the copied checkpoint's own count wins
                resume_from, job.extended_from = run_dir / "checkpoints" / "last.ckpt", source
            write_record(run_dir, cfg, HydraConfig.instance().cfg if HydraConfig.initialized() else None)
            run_log.start(run_dir)
            if source is not None:
                log.info("extending %s (%d iterations) to %d iterations", source, done, job.module.loop.max_iters)
            write_status(run_dir, "starting")
            return fit(job, resume_from)
        except Exception as err:
            try:  # a folder moved mid-run is the error to report, whatever failed first (a logger's file, say)
                check_owned(run_dir)
            except RunFolderMoved as moved:
                raise moved from err
            with contextlib.suppress(OSError):  # a full disk may refuse this too: the error is raised either way
                write_status(run_dir, "failed", error="".join(traceback.format_exception_only(err)).strip(),
                             traceback=traceback.format_exc())
            raise


def checkpoint_iteration(path: Path, why: str) -> int:
    """The iteration a checkpoint holds, read in full before anything is touched; a damaged one (empty, cut short,
    not a checkpoint) is a StateFileError naming it and what to do."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
        return int(checkpoint["ganexp_counters"]["iteration"])
    except Exception as err:  # torch raises EOFError, RuntimeError, UnpicklingError, ... for a damaged file
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise StateFileError(f"{path} is damaged ({reason}), so {why} cannot continue from it: run without "
                             "resume=true to start afresh (the earlier results are moved to previous/), or put a "
                             "whole copy in its place") from None


def check_extendable(source: Path, max_iters: int) -> int:
    """`extend_from`'s run must have ended normally, with a checkpoint, short of this run's length; returns the
    iterations it ran."""
    status = read_status(source)
    if status.get("status") not in ("completed", "interrupted") or not (source / "checkpoints" / "last.ckpt").exists():
        raise ConfigError(f"extend_from: {source} is {status.get('status', 'without status')}, not a finished run "
                          "with checkpoints/last.ckpt")
    done = checkpoint_iteration(source / "checkpoints" / "last.ckpt", "extend_from")
    if done >= max_iters:
        raise ConfigError(f"extend_from: {source} already ran {done} iterations; trainer.max_iters={max_iters} "
                          "must be more")
    return done


def source_seconds(source: Path) -> float:
    """The training seconds `extend_from`'s run reported (all its processes) in metrics.json, for checkpoints made
    before they carried their own count (`ganexp_seconds`); 0 without metrics.json."""
    path = Path(source) / "metrics.json"
    if not path.exists():
        return 0.0
    metrics = json.loads(path.read_text())
    return float(metrics.get("total_wall_time_s", metrics.get("wall_time_s", 0.0)))


def fit(job: Job, resume_from: Path | None) -> float:
    log.info("start-up: imports %.2fs, data %.2fs, networks and trainer %.2fs", *job.startup.values())
    log.info("arithmetic: %s", arithmetic(job.cfg.trainer, job.trainer.strategy.root_device, serves_images(job.cfg)))
    if resume_from:
        log.info("resuming from %s", resume_from)
    start, started_at = time.perf_counter(), time.time()
    diverged = None
    checkpointer = next(c for c in job.trainer.callbacks if isinstance(c, Checkpointer))
    job.trainer.callbacks.append(StatusWriter(job.run_dir, checkpointer))  # after it: its hooks see what it saved
    previous = signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_DFL, signal.default_int_handler):  # not where the shell made Ctrl-C ignored
        signal.signal(signal.SIGINT, partial(checkpointer.request_stop, job.trainer))
    try:
        job.trainer.fit(job.module, datamodule=job.datamodule, ckpt_path=resume_from)
    except (SystemExit, KeyboardInterrupt) as err:  # Lightning's SIGTERMException, or its sys.exit(1) after Ctrl-C
        if checkpointer.interrupted is None:
            raise
        raise Interrupted(checkpointer.interrupted, job.module.iteration) from err
    except Diverged as err:
        # a non-finite value as text ("nan", "inf"): status.json and metrics.json are strict JSON
        value = err.value if math.isfinite(err.value) else str(err.value)
        diverged = {"iteration": err.iteration, "loss": err.name, "value": value, "checkpoint": checkpointer.saved}
        kept = "no checkpoint was saved" if checkpointer.saved is None else \
            f"last.ckpt keeps iteration {checkpointer.saved}, the last good one"
        log_text(job.logger, "status", f"diverged: {err} ({kept})", err.iteration)
        log.error("diverged: %s; %s", err, kept)
    finally:
        signal.signal(signal.SIGINT, previous)
    return summarise(job, time.perf_counter() - start, started_at, diverged)


def summarise(job: Job, wall: float, started_at: float, diverged: dict | None) -> float:
    """Write `metrics.json` and the final status; return the sweep's metric."""
    cfg, module, datamodule, evaluation = job.cfg, job.module, job.datamodule, job.evaluation
    final = module.scalars()
    if evaluation is not None and evaluation.history:
        final.update({k: v for k, v in evaluation.history[-1].items() if k != "iteration"})
    best = evaluation.best if evaluation is not None else None
    metric = float(best["value"]) if best else float(final.get(cfg.monitor, math.nan))
    status = "diverged" if diverged else "completed"
    drawn = module.real_images - module.real_images_at_start  # in this process (a resumed run counts from there)
    metrics = {
        "status": status,
        "iterations": module.iteration,
        "d_updates": module.d_updates,
        "g_updates": module.g_updates,
        "wall_time_s": round(wall, 2),  # this process's
        "total_wall_time_s": round(module.seconds_before + wall, 2),  # with the earlier processes' (resume, extend)
        "started_at": round(started_at, 3),  # Unix times of the training loop (parallel jobs overlap)
        "ended_at": round(started_at + wall, 3),
        "startup": job.startup,
        "extended_from": str(job.extended_from) if job.extended_from else None,
        # real images drawn from the data: one batch per D step (see schedule.real_batches_at); an epoch is one
        # pass over the training images, however many iterations that takes (5x fewer with sched=critic5)
        "real_images": module.real_images,
        "images_per_s": round(drawn / max(wall, 1e-9), 1),
        "epoch_seconds": round(wall * datamodule.batches_per_epoch * datamodule.batch_size / max(drawn, 1), 2),
        "final": final,
        "best": best,
        "diverged": diverged,
        "evals": evaluation.history if evaluation is not None else [],
        "measured_with": evaluation.describe() if evaluation is not None else None,
        # what the numbers were computed with beyond the settings: arithmetic, device, torch, ganexp's commit
        "provenance": provenance(cfg.trainer, job.trainer.strategy.root_device),
        # first evaluated iteration at which acc/cond reached eval.threshold (null: never, or unconditional)
        "steps_to_acc": evaluation.steps_to_acc if evaluation is not None else None,
    }
    if job.trainer.is_global_zero:
        write_json(job.run_dir / "metrics.json", metrics)
        write_status(job.run_dir, status, iteration=module.iteration, metric=metric, diverged=diverged)
    log_hparams(job.logger, hparams(cfg), metrics={f"final/{k}": v for k, v in final.items()})
    finish(job.logger, status)
    log.info("%s: %d iterations in %.1fs -> %s", status, module.iteration, wall, job.run_dir)
    return metric


def hparams(cfg: DictConfig) -> dict[str, Any]:
    """The run's settings as flat scalars for TensorBoard's HParams tab."""
    flat: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}{key}." if key != "_target_" else prefix)
                if key == "_target_":
                    flat[prefix.rstrip(".") or "target"] = value.rsplit(".", 1)[-1]
        elif isinstance(node, list):
            flat[prefix.rstrip(".")] = str(node)
        else:
            flat[prefix.rstrip(".")] = node

    walk(OmegaConf.to_container(cfg, resolve=True), "")
    return {k: v for k, v in flat.items() if isinstance(v, int | float | str | bool)}

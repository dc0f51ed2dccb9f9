"""Build everything from the config, train, write the run's files, return the sweep's metric.

Every `hydra.utils.instantiate` of ganexp lives here (one place to adapt when Hydra changes its rules).
Run folder: `config.yaml`, `checkpoints/last.ckpt`, `samples/iter_*.png`, `metrics.json`, and TensorBoard events
(under the sweep's shared `tb/<overrides>/` in a multirun, so all jobs overlay in one TensorBoard).
"""

import contextlib
import json
import logging
import math
import os
import signal
import time
import traceback
import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import get_class, instantiate
from lightning_fabric.utilities.exceptions import MisconfigurationException
from omegaconf import DictConfig, OmegaConf, open_dict
from pytorch_lightning.loggers import TensorBoardLogger

from ganexp.atomic import write_json
from ganexp.checkpoint import Checkpointer, Interrupted
from ganexp.data.module import ImageData
from ganexp.errors import ConfigError, StateFileError
from ganexp.eval.images import ImageEvaluation
from ganexp.eval.measure import Measurement
from ganexp.eval.points import PointEvaluation
from ganexp.gpus import pin_gpu
from ganexp.modules.base import Diverged, GANModule, Loop
from ganexp.modules.ema import GeneratorEMA
from ganexp.ranks import launched_worker
from ganexp.rundir import (
    RunLock,
    RunLog,
    check_identity,
    copy_run,
    extension_source,
    read_status,
    set_aside,
    write_record,
    write_status,
)
from ganexp.schedule import iterations_for_batches
from ganexp.schema import validate
from ganexp.viz import IterationBar, PointPlots, SampleGrids

log = logging.getLogger(__name__)

def quiet_lightning() -> None:
    """Silence Lightning's advice that does not apply here (ganexp steps optimizers itself and logs on its own
    x-axis). Called by the entry points (run.py, the benchmark), not at import."""
    for message in (".*no pre-optimization state was saved.*", ".*smaller than the logging interval.*",
                    ".*does not have many workers.*", ".*LeafSpec.*"):
        warnings.filterwarnings("ignore", message=message)
    logging.getLogger("pytorch_lightning.utilities.rank_zero").addFilter(
        lambda rec: "litlogger" not in rec.getMessage())
    logging.getLogger("pytorch_lightning.trainer.connectors.checkpoint_connector").setLevel(logging.WARNING)


def build_data(cfg: DictConfig) -> ImageData:
    return instantiate(cfg.data)


def build_module(cfg: DictConfig, datamodule: ImageData, max_iters: int = 0) -> GANModule:
    """The LightningModule of `cfg.model` with its networks (built from `model.generator`/`model.discriminator`,
    completed with the condition sizes), condition encoders, loss, optimizers and schedule."""
    labels = datamodule.load().label_space()
    variant = get_class(cfg.model._target_)
    loss = instantiate(cfg.loss)
    regularizer = instantiate(cfg.reg) if cfg.get("reg") else None
    # Each network owns its condition encoder, so a learned one trains with that network's optimizer.
    make_cond = partial(instantiate, cfg.cond, groups=labels.groups, multilabel=labels.multilabel,
                        attributes=labels.attributes, conditions=labels.conditions)
    cond_g = make_cond() if variant.conditional else None
    cond_d = make_cond() if variant.conditional and variant.d_conditional else None
    g_cond, d_cond = variant.condition_sizes(cond_g.out_dim if cond_g is not None else 0, cfg.model)
    generator = instantiate(cfg.model.generator, cond_dim=g_cond)
    pack = check_pack(cfg.model.d_pack, datamodule.batch_size)
    norm = cfg.model.discriminator.get("norm")
    # auto: the loss's choice, and no batch-mixing norm under a per-sample penalty (gradient penalty, R1)
    per_sample = getattr(regularizer, "per_sample_penalty", False)
    auto = "layer" if per_sample and loss.d_norm == "batch" else loss.d_norm
    # a packed D reads d_pack samples and their d_pack conditions at once
    packed = {"pack": pack, "cond_dim": d_cond * pack} if pack > 1 else {"cond_dim": d_cond}
    discriminator = instantiate(cfg.model.discriminator, **packed, **({"norm": auto} if norm == "auto" else {}))
    settings = OmegaConf.create({k: v for k, v in cfg.model.items() if k not in ("generator", "discriminator")})
    # built objects go to the constructor as they are (instantiate would read a dataclass kwarg as config)
    return instantiate(settings, _partial_=True)(
        generator=generator,
        discriminator=discriminator,
        cond_g=cond_g,
        cond_d=cond_d,
        labels=labels,
        loss=loss,
        regularizer=regularizer,
        augment=instantiate(cfg.augment, _convert_="object") if cfg.get("augment") else None,
        g_ema=GeneratorEMA(decay=cfg.g_ema.decay, start=cfg.g_ema.start),
        optimizer_g=instantiate(cfg.optimizer.g, _partial_=True),
        optimizer_d=instantiate(cfg.optimizer.d, _partial_=True),
        scheduler_g=instantiate(cfg.lr_sched.g, _partial_=True) if cfg.lr_sched.g else None,
        scheduler_d=instantiate(cfg.lr_sched.d, _partial_=True) if cfg.lr_sched.d else None,
        sched=OmegaConf.to_container(cfg.sched, resolve=True),
        loop=Loop(max_iters=max_iters, batches_per_epoch=datamodule.batches_per_epoch, log_every=cfg.log.every,
                  guard_max_loss=cfg.guard.max_loss, guard_patience=cfg.guard.patience, guard_every=cfg.guard.every),
    )


def check_pack(d_pack: int, batch_size: int) -> int:
    """`model.d_pack`, checked against the batch it splits into packs."""
    if d_pack < 1:
        raise ConfigError(f"model.d_pack={d_pack}: the number of samples per pack must be at least 1")
    if batch_size % d_pack:
        raise ConfigError(f"model.d_pack={d_pack} does not divide data.batch_size={batch_size}: D judges the batch "
                          f"in packs of d_pack samples (try data.batch_size={batch_size // d_pack * d_pack})")
    return d_pack


def build_watchers(cfg: DictConfig, datamodule: ImageData, run_dir: Path, max_iters: int
                   ) -> tuple[Measurement | None, pl.Callback]:
    """(evaluation, pictures) callbacks: image metrics and sample grids, or for 2-D points modes and scatter plots."""
    e, every = cfg.eval, images_every(cfg, max_iters)
    if datamodule.samples == "points":
        evaluation = PointEvaluation(datamodule, run_dir, e.every_n_steps, cfg.monitor, e.seed)
        pictures = PointPlots(run_dir / "samples", every, datamodule.source.kind, cfg.log.bank_seed)
    else:
        features = e.features if e.enabled else "evaluator"  # a disabled evaluation needs no Inception weights
        evaluation = ImageEvaluation(datamodule, run_dir, every=e.every_n_steps, monitor=cfg.monitor, seed=e.seed,
                                     floor=e.floor, threshold=e.threshold, features=features,
                                     inception_weights=e.inception_weights, epochs=e.epochs, width=e.width)
        pictures = SampleGrids(run_dir / "samples", every, cfg.log.grid, cfg.log.bank_seed,
                               datamodule.load().attributes)
    return evaluation if e.enabled else None, pictures


def cpu_has_bf16() -> bool:
    """Whether the CPU computes bf16 in hardware (AMX or AVX-512-BF16, from /proc/cpuinfo's flags; False where
    that file does not exist). Elsewhere torch emulates bf16, which is slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def serves_images(cfg: DictConfig) -> bool:
    """Whether the data set serves images (not the 2-D points of data=toy_*)."""
    return getattr(get_class(cfg.data._target_), "samples", "images") == "images"


def resolve_arithmetic(trainer_cfg: DictConfig, images: bool = True) -> None:
    """`trainer.precision=auto` and `trainer.channels_last=auto`, made concrete in place before anything is built or
    saved: bf16 autocast with channels_last (the CPU fast path) for image GANs on a CPU with bf16 hardware, where it
    was measured faster at equal quality (README); fp32 NCHW elsewhere: on a GPU (its fast path is trainer=gpu_fast),
    on CPUs that would emulate bf16, and for the 2-D point data (`images=False`), whose tiny MLPs gain nothing and
    whose modes (std 0.01 at radius 1) are finer than bf16's 8-bit mantissa resolves well. An explicit precision
    (trainer.precision=32-true) turns both off."""
    on_cpu = trainer_cfg.accelerator == "cpu" or (trainer_cfg.accelerator == "auto" and not torch.cuda.is_available())
    with open_dict(trainer_cfg):
        if trainer_cfg.precision == "auto":
            trainer_cfg.precision = "bf16-mixed" if on_cpu and images and cpu_has_bf16() else "32-true"
        if trainer_cfg.channels_last == "auto":
            trainer_cfg.channels_last = on_cpu and str(trainer_cfg.precision).startswith("bf16")


def arithmetic(trainer_cfg: DictConfig, device: torch.device, images: bool = True) -> str:
    """The start-up line's account of the arithmetic: precision and memory layout, and the fast path's advice."""
    line = f"precision {trainer_cfg.precision}, {'channels_last' if trainer_cfg.channels_last else 'NCHW'} on {device}"
    if device.type == "cpu":
        bf16 = cpu_has_bf16()
        line += f"; this CPU {'has' if bf16 else 'lacks'} bf16 hardware"
        if bf16 and images and not str(trainer_cfg.precision).startswith("bf16"):
            line += " (trainer=cpu_fast: bf16 autocast + channels_last, about 2x faster; see README)"
    return line


def run_paths() -> tuple[Path, Path, str]:
    """(run folder, TensorBoard root, run name). In a multirun all jobs share `<sweep>/tb`, named by overrides."""
    if not HydraConfig.initialized():
        return Path.cwd(), Path.cwd() / "tb", ""
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    if hc.mode.name == "MULTIRUN":
        return run_dir, Path(hc.sweep.dir) / "tb", hc.job.override_dirname or "default"
    return run_dir, run_dir / "tb", ""


def run_length(cfg: DictConfig, batches_per_epoch: int) -> int:
    """`trainer.max_iters`, or the iterations that make `trainer.max_epochs` passes over the training images."""
    if cfg.trainer.max_iters:
        return cfg.trainer.max_iters
    return iterations_for_batches(cfg.trainer.max_epochs * batches_per_epoch,
                                  OmegaConf.to_container(cfg.sched, resolve=True))


def images_every(cfg: DictConfig, max_iters: int) -> int:
    """`log.images_every`, or (when null) a tenth of the run, so progress shows as 10 pictures."""
    return cfg.log.images_every or max(1, max_iters // 10)


class StopAtLength(pl.Callback):
    """A run resumed from a checkpoint of its full length (killed after its final checkpoint, before it was marked
    completed) trains no further iteration: it only finishes (final pictures, metrics.json, status)."""

    def on_train_start(self, trainer: pl.Trainer, module: GANModule) -> None:
        if module.loop.max_iters and module.iteration >= module.loop.max_iters:
            trainer.should_stop = True


def build_trainer(cfg: DictConfig, run_dir: Path, logger: TensorBoardLogger, callbacks: list[pl.Callback],
                  max_iters: int) -> pl.Trainer:
    t = cfg.trainer
    callbacks = [StopAtLength(), *callbacks, Checkpointer(run_dir, t.ckpt_every)]
    if t.progress:
        callbacks.append(IterationBar(max_iters))
    return pl.Trainer(
        accelerator=t.accelerator,
        strategy=t.strategy,
        use_distributed_sampler=False,  # ganexp's sampler is endless and resumable; under DDP each rank seeds its own
        devices=t.devices,
        precision=t.precision,
        max_epochs=-1,  # the sampler is endless; the module stops at max_iters
        logger=logger,
        callbacks=callbacks,
        enable_progress_bar=t.progress,
        enable_checkpointing=False,  # ganexp's Checkpointer: atomic, by iteration, RNG included
        enable_model_summary=False,
        deterministic=t.deterministic,
        benchmark=t.benchmark,
        num_sanity_val_steps=0,
        default_root_dir=run_dir,
    )


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


@dataclass
class Job:
    """Everything one training run needs, built and checked, nothing written yet."""

    cfg: DictConfig
    run_dir: Path
    datamodule: ImageData
    module: GANModule
    trainer: pl.Trainer
    logger: TensorBoardLogger
    evaluation: Measurement | None
    startup: dict[str, float]
    extended_from: Path | None = None  # the shorter run this one continues (extend_from)


def shared_threads(launcher: dict, cores: int) -> int | None:
    """Threads for one job of a sweep whose launcher runs `n_jobs` at once in processes on this machine (joblib):
    the cores shared out, cores // n_jobs, at least 1. None (torch's default: every core) for any other launcher
    or one job at a time. Measured on 2 cores: two jobs with a thread each beat one job with two (README)."""
    if "joblib" not in str(launcher.get("_target_", "")):
        return None
    n_jobs = launcher.get("n_jobs") or 1
    if n_jobs < 0:  # joblib's convention: -1 every CPU, -2 all but one, ...
        n_jobs = max(1, cores + 1 + n_jobs)
    return max(1, cores // n_jobs) if n_jobs > 1 else None


def job_threads(cfg: DictConfig) -> int | None:
    """`trainer.num_threads`, or when it is unset, the launcher's share of the cores (`shared_threads`)."""
    if cfg.trainer.num_threads or not HydraConfig.initialized():
        return cfg.trainer.num_threads
    launcher = OmegaConf.to_container(HydraConfig.get().launcher, resolve=True)
    cores = len(os.sched_getaffinity(0))
    threads = shared_threads(launcher, cores)
    if threads:
        log.info("threads: %d per job (%d cores, %s jobs at once; trainer.num_threads overrides)",
                 threads, cores, launcher.get("n_jobs"))
    return threads


def check_optimizers(cfg: DictConfig) -> None:
    """Build each optimizer and lr scheduler once on a stand-in parameter, so that torch's own checks of their
    settings (betas, eps, momentum, ...) stop the run at start-up naming the key, not at the first step."""
    for net in ("g", "d"):
        key = f"optimizer.{net}"
        try:
            optimizer = instantiate(cfg.optimizer[net], _partial_=True)([torch.nn.Parameter(torch.zeros(1))])
            if cfg.lr_sched[net]:
                key = f"lr_sched.{net}"
                instantiate(cfg.lr_sched[net], _partial_=True)(optimizer)
        except (ValueError, TypeError) as err:
            raise ConfigError(f"{key}: {str(err).splitlines()[0]}") from None


def build(cfg: DictConfig, run_dir: Path, tb_root: Path, name: str, imports_s: float = 0.0) -> Job:
    """Everything the run needs, built and checked (data, networks, optimizers, evaluator held to its floor,
    trainer), before anything in the run folder changes."""
    threads = job_threads(cfg)
    if threads:
        torch.set_num_threads(threads)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    clock = time.perf_counter()
    datamodule = build_data(cfg)
    datamodule.load()
    startup = {"imports_s": round(imports_s, 3), "data_s": round(time.perf_counter() - clock, 3)}
    clock = time.perf_counter()
    max_iters = run_length(cfg, datamodule.batches_per_epoch)
    module = build_module(cfg, datamodule, max_iters)
    module.speed_up(cfg.trainer.channels_last, cfg.trainer.compile)
    check_optimizers(cfg)
    evaluation, pictures = build_watchers(cfg, datamodule, run_dir, max_iters)
    if evaluation is not None:
        evaluation.check_monitor(module)
    logger = TensorBoardLogger(save_dir=tb_root, name=name, version="", default_hp_metric=False)
    try:
        trainer = build_trainer(cfg, run_dir, logger, [c for c in (evaluation, pictures) if c], max_iters)
    except (MisconfigurationException, ValueError, TypeError, ImportError) as err:  # Lightning's, on trainer.*
        raise ConfigError(f"trainer: {str(err).splitlines()[0]}") from None
    if evaluation is not None:
        evaluation.load(trainer.strategy.root_device)  # trains or loads the evaluator; below eval.floor it stops here
    startup["build_s"] = round(time.perf_counter() - clock, 3)
    return Job(cfg, run_dir, datamodule, module, trainer, logger, evaluation, startup)


def fit(job: Job, resume_from: Path | None) -> float:
    log.info("start-up: imports %.2fs, data %.2fs, networks and trainer %.2fs", *job.startup.values())
    log.info("arithmetic: %s", arithmetic(job.cfg.trainer, job.trainer.strategy.root_device, serves_images(job.cfg)))
    if resume_from:
        log.info("resuming from %s", resume_from)
    start, started_at = time.perf_counter(), time.time()
    diverged = None
    checkpointer = next(c for c in job.trainer.callbacks if isinstance(c, Checkpointer))
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
        job.logger.experiment.add_text("status", f"diverged: {err} ({kept})", err.iteration)
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
        # first evaluated iteration at which acc/cond reached eval.threshold (null: never, or unconditional)
        "steps_to_acc": evaluation.steps_to_acc if evaluation is not None else None,
    }
    if job.trainer.is_global_zero:
        write_json(job.run_dir / "metrics.json", metrics)
        write_status(job.run_dir, status, iteration=module.iteration, metric=metric, diverged=diverged)
    job.logger.log_hyperparams(hparams(cfg), metrics={f"final/{k}": v for k, v in final.items()})
    job.logger.finalize(status)
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

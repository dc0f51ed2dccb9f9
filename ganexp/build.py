"""The builder: the config in, the data, networks, module, evaluation, loggers and trainer out, checked, with nothing
written. Every `hydra.utils.instantiate` of ganexp lives here (one place to adapt when Hydra changes its rules).
"""

import inspect
import logging
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra.utils import get_class, instantiate
from lightning_fabric.utilities.exceptions import MisconfigurationException
from omegaconf import DictConfig, OmegaConf

from ganexp.checkpoint import Checkpointer
from ganexp.data.module import ImageData
from ganexp.errors import ConfigError
from ganexp.eval.images import ImageEvaluation
from ganexp.eval.measure import Measurement
from ganexp.eval.points import PointEvaluation
from ganexp.loggers import AllLoggers, MetricsStore, StartLoggers, check_logger, deferred, placement
from ganexp.metrics import check_known
from ganexp.modules.base import GANModule, Loop, Optimizers
from ganexp.modules.ema import GeneratorEMA
from ganexp.regularisers import requirements
from ganexp.runtime import job_threads
from ganexp.schedule import iterations_for_batches
from ganexp.viz import IterationBar, PointPlots, SampleGrids

log = logging.getLogger(__name__)


def build_data(cfg: DictConfig) -> ImageData:
    """The data module, told the run's update schedule (its sampler draws one real batch per D step)."""
    datamodule = instantiate(cfg.data)
    datamodule.sched = OmegaConf.to_container(cfg.sched, resolve=True)
    return datamodule


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
    per_sample = bool(requirements(loss, regularizer).per_sample)
    auto = "layer" if per_sample and loss.d_norm == "batch" else loss.d_norm
    # a packed D reads d_pack samples and their d_pack conditions at once
    packed = {"pack": pack, "cond_dim": d_cond * pack} if pack > 1 else {"cond_dim": d_cond}
    discriminator = instantiate(cfg.model.discriminator, **packed, **({"norm": auto} if norm == "auto" else {}))
    settings = OmegaConf.create({k: v for k, v in cfg.model.items() if k not in ("generator", "discriminator")})
    # built objects go to the constructor as they are (instantiate would read a dataclass kwarg as config)
    return instantiate(settings, _partial_=True)(
        generator=generator,
        discriminator=discriminator,
        cond=(cond_g, cond_d),
        labels=labels,
        loss=loss,
        regularizer=regularizer,
        augment=instantiate(cfg.augment, _convert_="object") if cfg.get("augment") else None,
        g_ema=GeneratorEMA(decay=cfg.g_ema.decay, start=cfg.g_ema.start),
        optimizers=Optimizers(g=instantiate(cfg.optimizer.g, _partial_=True),
                              d=instantiate(cfg.optimizer.d, _partial_=True),
                              scheduler_g=instantiate(cfg.lr_sched.g, _partial_=True) if cfg.lr_sched.g else None,
                              scheduler_d=instantiate(cfg.lr_sched.d, _partial_=True) if cfg.lr_sched.d else None),
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
                                     inception_weights=e.inception_weights,
                                     inception_samples=e.inception_samples, epochs=e.epochs, width=e.width)
        pictures = SampleGrids(run_dir / "samples", every, cfg.log.grid, cfg.log.bank_seed,
                               datamodule.load().attributes)
    return evaluation if e.enabled else None, pictures


def serves_images(cfg: DictConfig) -> bool:
    """Whether the data set serves images (not the 2-D points of data=toy_*)."""
    return getattr(get_class(cfg.data._target_), "samples", "images") == "images"


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


def build_trainer(cfg: DictConfig, run_dir: Path, logger: AllLoggers, callbacks: list[pl.Callback],
                  max_iters: int) -> pl.Trainer:
    t = cfg.trainer
    callbacks = [StopAtLength(), *callbacks, Checkpointer(run_dir, t.ckpt_every)]
    if t.progress:
        callbacks.append(IterationBar(max_iters))
    return pl.Trainer(**trainer_settings(t, run_dir), logger=logger, callbacks=callbacks)


def trainer_settings(t: DictConfig, run_dir: Path) -> dict:
    """Lightning Trainer's arguments: ganexp's own, then `trainer.lightning` (any other argument, checked by name)."""
    own = dict(
        accelerator=t.accelerator,
        strategy=t.strategy,
        use_distributed_sampler=False,  # ganexp's sampler is endless and resumable; under DDP each rank seeds its own
        devices=t.devices,
        precision=t.precision,
        max_epochs=-1,  # the sampler is endless; the module stops at max_iters
        enable_progress_bar=t.progress,
        enable_checkpointing=False,  # ganexp's Checkpointer: atomic, by iteration, RNG included
        enable_model_summary=False,
        deterministic=t.deterministic,
        benchmark=t.benchmark,
        num_sanity_val_steps=0,
        default_root_dir=run_dir,
    )
    extra = OmegaConf.to_container(t.lightning, resolve=True) if t.get("lightning") else {}
    accepted = set(inspect.signature(pl.Trainer.__init__).parameters) - {"self"}
    for key in extra:
        if key not in accepted:
            raise ConfigError(f"trainer.lightning.{key}: not an argument of Lightning's Trainer")
        if key in own or key in ("logger", "callbacks"):
            raise ConfigError(f"trainer.lightning.{key}: ganexp sets it itself"
                              + (f" (use trainer.{key})" if key in t else ""))
    return {**own, **extra}


@dataclass
class Job:
    """Everything one training run needs, built and checked, nothing written yet."""

    cfg: DictConfig
    run_dir: Path
    datamodule: ImageData
    module: GANModule
    trainer: pl.Trainer
    logger: AllLoggers  # ganexp.store's metrics.jsonl and the loggers `logger=` chose
    evaluation: Measurement | None
    startup: dict[str, float]
    extended_from: Path | None = None  # the shorter run this one continues (extend_from)


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


def build_loggers(cfg: DictConfig, run_dir: Path, tb_root: Path, name: str) -> AllLoggers:
    """ganexp's store (metrics.jsonl) and each logger of `cfg.logger` (conf/logger/), placed in the run folder
    where its config leaves a path null (`ganexp.loggers.placement`); nothing is written until training starts."""
    built, pending = [MetricsStore(run_dir)], []
    for key, node in (cfg.get("logger") or {}).items():
        target = get_class(node._target_)
        check_logger(key, target)
        make = instantiate(node, _partial_=True, _convert_="all",
                           **placement(target, node, run_dir, tb_root, name, cfg.resume))
        if deferred(target):
            pending.append(make)
            continue
        try:
            built.append(make())
        except (TypeError, ValueError, MisconfigurationException) as err:
            raise ConfigError(f"logger.{key}: {str(err).splitlines()[0]}") from None
    return AllLoggers(built, pending)


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
        check_known(evaluation.logged(module), "this run's evaluation logs")  # every metric has its registry entry
    check_known([cfg.monitor], "monitor")
    logger = build_loggers(cfg, run_dir, tb_root, name)
    try:
        trainer = build_trainer(cfg, run_dir, logger, [StartLoggers(logger), *(c for c in (evaluation, pictures) if c)],
                                max_iters)
    except ConfigError:
        raise
    except (MisconfigurationException, ValueError, TypeError, ImportError) as err:  # Lightning's, on trainer.*
        raise ConfigError(f"trainer: {str(err).splitlines()[0]}") from None
    if evaluation is not None:
        evaluation.load(trainer.strategy.root_device)  # trains or loads the evaluator; below eval.floor it stops here
    startup["build_s"] = round(time.perf_counter() - clock, 3)
    return Job(cfg, run_dir, datamodule, module, trainer, logger, evaluation, startup)

"""Build everything from the config, train, write the run's files, return the sweep's metric.

Every `hydra.utils.instantiate` of ganexp lives here (one place to adapt when Hydra changes its rules).
Run folder: `config.yaml`, `checkpoints/last.ckpt`, `samples/iter_*.png`, `metrics.json`, and TensorBoard events
(under the sweep's shared `tb/<overrides>/` in a multirun, so all jobs overlay in one TensorBoard).
"""

import json
import logging
import math
import time
import warnings
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import TensorBoardLogger

from ganexp.data.module import ImageData
from ganexp.eval.callback import Evaluation
from ganexp.modules.base import GANModule
from ganexp.schema import validate
from ganexp.viz import IterationBar, SampleGrids

log = logging.getLogger(__name__)

# Lightning's advice that does not apply here: ganexp steps optimizers itself and logs on its own x-axis.
for message in (".*no pre-optimization state was saved.*", ".*smaller than the logging interval.*",
                ".*does not have many workers.*", ".*LeafSpec.*"):
    warnings.filterwarnings("ignore", message=message)
logging.getLogger("pytorch_lightning.utilities.rank_zero").addFilter(lambda rec: "litlogger" not in rec.getMessage())


def build_data(cfg: DictConfig) -> ImageData:
    return instantiate(cfg.data)


def build_module(cfg: DictConfig, datamodule: ImageData) -> GANModule:
    """The LightningModule of `cfg.model`, wired to the loss, optimizers, schedule and the data's labels."""
    data = datamodule.load()
    return instantiate(
        cfg.model,
        loss=instantiate(cfg.loss),
        optimizer_g=instantiate(cfg.optimizer.g, _partial_=True),
        optimizer_d=instantiate(cfg.optimizer.d, _partial_=True),
        scheduler_g=instantiate(cfg.sched.lr_g, _partial_=True) if cfg.sched.lr_g else None,
        scheduler_d=instantiate(cfg.sched.lr_d, _partial_=True) if cfg.sched.lr_d else None,
        sched=schedule_settings(cfg),
        cond=instantiate(cfg.cond, _partial_=True),
        groups=data.groups,
        multilabel=data.multilabel,
        conditions=data.conditions(),
        max_iters=cfg.trainer.max_iters,
        log_every=cfg.log.every,
    )


def schedule_settings(cfg: DictConfig) -> dict[str, Any]:
    """The update schedule as plain data (the LR schedulers are built separately, not passed to the module)."""
    sched = OmegaConf.to_container(cfg.sched, resolve=True)
    return {k: v for k, v in sched.items() if k not in ("lr_g", "lr_d")}


def build_evaluation(cfg: DictConfig, datamodule: ImageData, run_dir: Path) -> Evaluation | None:
    e = cfg.eval
    if not e.enabled:
        return None
    return Evaluation(datamodule, run_dir, every=e.every_n_steps, monitor=cfg.monitor, seed=e.seed, floor=e.floor,
                      epochs=e.epochs, width=e.width)


def run_paths() -> tuple[Path, Path, str]:
    """(run folder, TensorBoard root, run name). In a multirun all jobs share `<sweep>/tb`, named by overrides."""
    if not HydraConfig.initialized():
        return Path.cwd(), Path.cwd() / "tb", ""
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    if hc.mode.name == "MULTIRUN":
        return run_dir, Path(hc.sweep.dir) / "tb", hc.job.override_dirname or "default"
    return run_dir, run_dir / "tb", ""


def images_every(cfg: DictConfig) -> int:
    """`log.images_every`, or (when null) a tenth of the run, so progress shows as 10 pictures."""
    if cfg.log.images_every:
        return cfg.log.images_every
    return max(1, cfg.trainer.max_iters // 10) if cfg.trainer.max_iters > 0 else 500


def build_trainer(cfg: DictConfig, run_dir: Path, logger: TensorBoardLogger, evaluation: Evaluation | None,
                  attributes: list) -> pl.Trainer:
    t = cfg.trainer
    callbacks = [*([evaluation] if evaluation else []),
        # every_n_train_steps counts Lightning's optimizer steps (D and G together), hence the conversion.
        ModelCheckpoint(dirpath=run_dir / "checkpoints", save_last=True, save_top_k=0,
                        every_n_train_steps=t.ckpt_every * 2),
        SampleGrids(run_dir / "samples", images_every(cfg), cfg.log.grid, cfg.log.bank_seed, attributes),
    ]
    if t.progress and t.max_iters > 0:
        callbacks.append(IterationBar(t.max_iters))
    return pl.Trainer(
        accelerator=t.accelerator,
        devices=t.devices,
        precision=t.precision,
        max_epochs=t.max_epochs if t.max_iters <= 0 else -1,
        logger=logger,
        callbacks=callbacks,
        enable_progress_bar=t.progress,
        enable_model_summary=False,
        deterministic=t.deterministic,
        benchmark=t.benchmark,
        num_sanity_val_steps=0,
        default_root_dir=run_dir,
    )


def main(cfg: DictConfig) -> float:
    """Train one job; returns the best value of `cfg.monitor` over its evaluations (NaN if it has none)."""
    validate(cfg)
    if cfg.trainer.num_threads:
        torch.set_num_threads(cfg.trainer.num_threads)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    run_dir, tb_root, name = run_paths()
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))

    datamodule = build_data(cfg)
    module = build_module(cfg, datamodule)
    logger = TensorBoardLogger(save_dir=tb_root, name=name, version="", default_hp_metric=False)
    evaluation = build_evaluation(cfg, datamodule, run_dir)
    trainer = build_trainer(cfg, run_dir, logger, evaluation, datamodule.load().attributes)

    start = time.perf_counter()
    trainer.fit(module, datamodule=datamodule)
    wall = time.perf_counter() - start

    final = module.scalars()
    if evaluation is not None and evaluation.history:
        final.update({k: v for k, v in evaluation.history[-1].items() if k != "iteration"})
    best = evaluation.best if evaluation is not None else None
    metrics = {
        "status": "completed",
        "iterations": module.iteration,
        "d_updates": module.d_updates,
        "g_updates": module.g_updates,
        "wall_time_s": round(wall, 2),
        "images_per_s": round(module.iteration * datamodule.batch_size / max(wall, 1e-9), 1),
        "final": final,
        "best": best,
        "evals": evaluation.history if evaluation is not None else [],
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    logger.log_hyperparams(hparams(cfg), metrics={f"final/{k}": v for k, v in final.items()})
    logger.finalize("success")
    log.info("done: %d iterations in %.1fs -> %s", module.iteration, wall, run_dir)
    return float(best["value"]) if best else float(final.get(cfg.monitor, math.nan))


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

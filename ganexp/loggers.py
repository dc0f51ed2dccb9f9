"""The run's loggers: ganexp's own store, always, plus those `logger=` chose; and one way to send each of them
pictures, text notes and settings.

`conf/logger/*.yaml` name Lightning's loggers by `_target_` (`logger=tensorboard` by default, `csv`, `mlflow`,
`wandb`, or several: `logger=[tensorboard,mlflow]`); `ganexp.build.build_loggers` instantiates them, filling
what a file leaves null with a place in the run folder (`placement`), so that a run's files stay together and
its recorded settings hold no path. Lightning is handed one logger, `AllLoggers`: every scalar anyone logs
(`module.logger.log_metrics`, an evaluation's `trainer.logger.log_metrics`) reaches the store and every chosen
logger alike. Pictures, text and settings go through `log_image`, `log_text` and `log_hparams`, which give each
logger what it supports: TensorBoard images, text and its HParams tab; MLflow images and text as artifacts of the
run and settings as params; W&B images, a text table and the run's config; CSV only the settings (hparams.yaml: its
pictures are the run's samples/*.png). `finish` ends them all with the run's status.
"""

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from lightning_utilities.core.rank_zero import rank_zero_only
from pytorch_lightning.loggers import CSVLogger, MLFlowLogger, TensorBoardLogger, WandbLogger
from pytorch_lightning.loggers.logger import Logger

from ganexp.errors import ConfigError
from ganexp.store import Store

PACKAGES = {MLFlowLogger: "mlflow", WandbLogger: "wandb"}  # logger class -> the package it needs (an extra of ganexp)
MLFLOW_DIR = "mlflow"  # <run>/mlflow/: the local MLflow store (mlflow.db) and its artifacts
RUN_TAG = "ganexp.run_dir"  # MLflow tag naming the run folder: a resumed run finds its MLflow run by it


class MetricsStore(Logger):
    """The Lightning logger of `<run>/metrics.jsonl` (`ganexp.store`): each `log_metrics` call one line, rank 0 only."""

    def __init__(self, run_dir: str | Path):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.store = Store(self.run_dir)

    @property
    def name(self) -> str:
        return "ganexp"

    @property
    def version(self) -> str:
        return ""

    @property
    def save_dir(self) -> str:
        return str(self.run_dir)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        self.store.append(metrics, step)

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """Nothing: the run's settings are its config.yaml."""

    @rank_zero_only
    def rewind(self, step: int) -> None:
        self.store.rewind(step)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self.store.close()


class AllLoggers(Logger):
    """The one logger Lightning is given: every call goes to each of `loggers` (the store first)."""

    def __init__(self, loggers: Iterable[Logger], pending: Iterable[Callable[..., Logger]] = ()):
        super().__init__()
        self.loggers = list(loggers)
        # loggers whose construction writes (MLflow's client creates its store): built by `StartLoggers` once the
        # run folder is the run's, so that a run stopped by a start-up check leaves its folder as it was
        self.pending = list(pending)

    @property
    def name(self) -> str:
        return "ganexp"

    @property
    def version(self) -> str:
        return ""

    @property
    def save_dir(self) -> str | None:
        return self.loggers[0].save_dir if self.loggers else None

    @property
    def experiment(self) -> list[Any]:
        return [logger.experiment for logger in self.loggers]

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        for logger in self.loggers:
            logger.log_metrics(dict(metrics), step)

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        for logger in self.loggers:
            logger.log_hyperparams(params)

    def log_graph(self, model: torch.nn.Module, input_array: torch.Tensor | None = None) -> None:
        for logger in self.loggers:
            logger.log_graph(model, input_array)

    def save(self) -> None:
        for logger in self.loggers:
            logger.save()

    def finalize(self, status: str) -> None:
        for logger in self.loggers:
            logger.finalize(status)

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        for logger in self.loggers:
            logger.after_save_checkpoint(checkpoint_callback)


def members(loggers: Logger | Iterable[Logger] | None) -> list[Logger]:
    """The loggers behind `loggers` (an AllLoggers, one logger, a list of them, or None)."""
    if loggers is None:
        return []
    if isinstance(loggers, AllLoggers):
        return [m for logger in loggers.loggers for m in members(logger)]
    if isinstance(loggers, Logger):
        return [loggers]
    return [m for logger in loggers for m in members(logger)]


def check_logger(key: str, target: type) -> None:
    """`logger.<key>` names a Lightning logger whose package is installed (else one ConfigError line)."""
    if not (isinstance(target, type) and issubclass(target, Logger)):
        raise ConfigError(f"logger.{key}: {getattr(target, '__name__', target)} is not a Lightning logger "
                          "(pytorch_lightning.loggers.Logger)")
    package = next((p for kind, p in PACKAGES.items() if issubclass(target, kind)), None)
    if package is not None:
        import importlib.util

        if importlib.util.find_spec(package) is None:
            raise ConfigError(f"logger={key}: the {package} package is not installed (pip install "
                              f"'ganexp[{package}]', or choose another logger)")


def placement(target: type, node: Mapping[str, Any], run_dir: Path, tb_root: Path, name: str,
              resume: bool) -> dict[str, Any]:
    """What a logger of class `target` gets where its config (`node`) leaves a key null: a place in the run folder
    (TensorBoard's in `tb_root`, the sweep's shared folder in a multirun), the job's name, and on `resume` the W&B
    run to continue."""
    run_dir = Path(run_dir).resolve()
    label = name or run_dir.name
    if issubclass(target, TensorBoardLogger):
        defaults: dict[str, Any] = {"save_dir": str(tb_root), "name": name, "version": ""}
    elif issubclass(target, CSVLogger):
        defaults = {"save_dir": str(run_dir), "name": "csv", "version": ""}  # <run>/csv/metrics.csv
    elif issubclass(target, MLFlowLogger):
        defaults = {"run_name": label, "tags": {RUN_TAG: str(run_dir)}}
        if node.get("tracking_uri") is None:  # a local store in the run folder (works offline)
            defaults["tracking_uri"] = f"sqlite:///{run_dir / MLFLOW_DIR / 'mlflow.db'}"
            defaults["artifact_location"] = (run_dir / MLFLOW_DIR / "artifacts").as_uri()
    elif issubclass(target, WandbLogger):
        defaults = {"save_dir": str(run_dir), "name": label}  # <run>/wandb/
        previous = wandb_run_id(run_dir) if resume else None
        if previous:  # WandbLogger resumes a run of that id ("allow")
            defaults["id"] = previous
    else:
        defaults = {}
    return {k: v for k, v in defaults.items() if node.get(k) is None}


def wandb_run_id(run_dir: Path) -> str | None:
    """The id of the run folder's latest W&B run (its folder `wandb/[offline-]run-<time>-<id>`), or None."""
    runs = sorted(Path(run_dir).glob("wandb/*run-*-*"), key=lambda p: p.name.split("run-", 1)[1])
    return runs[-1].name.rsplit("-", 1)[1] if runs else None


class StartLoggers(pl.Callback):
    """What the loggers need once the run folder is the run's (after every start-up check): the pending loggers are
    built (a local MLflow store gets its folder; a resumed run continues its MLflow run), and the store keeps only
    what was logged up to the iteration the run starts from (a resumed run redoes the rest)."""

    def __init__(self, loggers: AllLoggers):
        self.loggers = loggers

    def on_fit_start(self, trainer: pl.Trainer, module) -> None:
        if trainer.is_global_zero:  # other ranks log nothing: their loggers stay unbuilt
            for make in self.loggers.pending:
                self.loggers.loggers.append(make(**mlflow_start(make.keywords, resumed=module.iteration > 0)))
            if any(isinstance(logger, WandbLogger) for logger in members(self.loggers)):
                import wandb

                if wandb.run is not None:  # left open by an earlier job of this process that failed: not this one's
                    wandb.finish(exit_code=1)
        self.loggers.pending = []

    def on_train_start(self, trainer: pl.Trainer, module) -> None:
        for logger in members(self.loggers):
            if isinstance(logger, MetricsStore):
                logger.rewind(module.iteration)


def mlflow_start(settings: Mapping[str, Any], resumed: bool) -> dict[str, Any]:
    """For an MLflow logger of `settings` about to be built: the folder of a local sqlite store; on a resumed run,
    the MLflow run of the same run folder (the latest one tagged with it) as `run_id`, which it then continues."""
    uri = settings.get("tracking_uri") or ""
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    run_dir = (settings.get("tags") or {}).get(RUN_TAG)
    if not resumed or settings.get("run_id") is not None or run_dir is None:
        return {}
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri or None)
    experiment = client.get_experiment_by_name(settings.get("experiment_name") or "lightning_logs")
    if experiment is None:
        return {}
    runs = client.search_runs([experiment.experiment_id], filter_string=f"tags.`{RUN_TAG}` = '{run_dir}'",
                              order_by=["attributes.start_time DESC"], max_results=1)
    return {"run_id": runs[0].info.run_id} if runs else {}


def deferred(target: type) -> bool:
    """Whether building a logger of class `target` writes (MLflow's client opens, and creates, its store)."""
    return issubclass(target, MLFlowLogger)


def as_hwc_uint8(image: torch.Tensor | np.ndarray) -> np.ndarray:
    """A [0, 1] (C, H, W) picture as (H, W, C) bytes, what MLflow and W&B take."""
    if isinstance(image, torch.Tensor):
        image = image.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return image


def log_image(loggers: Logger | Iterable[Logger] | None, tag: str, image: torch.Tensor, step: int) -> None:
    """A picture ([0, 1], (C, H, W)) to every logger that shows pictures."""
    for logger in members(loggers):
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(tag, image, step)
        elif isinstance(logger, MLFlowLogger):
            logger.experiment.log_image(logger.run_id, as_hwc_uint8(image), key=tag, step=step)
        elif isinstance(logger, WandbLogger):
            logger.log_image(key=tag, images=[as_hwc_uint8(image)], step=step)


def log_text(loggers: Logger | Iterable[Logger] | None, tag: str, text: str, step: int) -> None:
    """A note (a diverged run's reason) to every logger that keeps text."""
    for logger in members(loggers):
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_text(tag, text, step)
        elif isinstance(logger, MLFlowLogger):
            logger.experiment.log_text(logger.run_id, text, f"{tag}/{step:06d}.txt")
        elif isinstance(logger, WandbLogger):
            logger.log_text(key=tag, columns=["iteration", "text"], data=[[step, text]])


def log_hparams(loggers: Logger | Iterable[Logger] | None, params: dict[str, Any],
                metrics: dict[str, float] | None = None) -> None:
    """The run's settings (flat scalars) to every logger; TensorBoard also gets `metrics` for its HParams tab."""
    for logger in members(loggers):
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(params, metrics=metrics or {})
        else:
            logger.log_hyperparams(params)


def finish(loggers: Logger | Iterable[Logger] | None, status: str) -> None:
    """End every logger with the run's status (completed: Lightning's "success", anything else "failed"); a W&B run
    is finished, so that the next job in this process starts its own."""
    for logger in members(loggers):
        logger.finalize("success" if status == "completed" else "failed")
        if isinstance(logger, WandbLogger) and logger._experiment is not None:
            logger._experiment.finish(exit_code=0 if status == "completed" else 1)

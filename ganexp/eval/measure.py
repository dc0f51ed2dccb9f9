"""What every evaluation during training shares: when it runs (`Periodic`), its history, the best value of
`monitor` with `best.ckpt`, and the state a resumed run carries on with. Images and 2-D points measure differently
(`images.py`, `points.py`); both are siblings of this base."""

import logging
import time
from pathlib import Path

import pytorch_lightning as pl

from ganexp.checkpoint import save_atomic
from ganexp.errors import ConfigError
from ganexp.metrics import better
from ganexp.periodic import Periodic
from ganexp.ranks import agree
from ganexp.schema import EvalConf

log = logging.getLogger(__name__)


class Measurement(Periodic):
    """Every `every` iterations and at the end: `measure(module)` -> metrics, logged at the iteration, kept in
    `history`; the best value of `monitor` keeps `best.ckpt`. `steps_to_acc` is the first measured iteration with
    `acc/cond` >= `threshold` ("how fast the conditions are learned", as one number)."""

    def __init__(self, run_dir: Path, every: int, monitor: str, threshold: float = EvalConf.threshold):
        super().__init__(every)
        self.monitor, self.threshold = monitor, threshold
        self.best_path = Path(run_dir) / "checkpoints" / "best.ckpt"
        self.history: list[dict[str, float]] = []
        self.best: dict[str, float] | None = None
        self.steps_to_acc: int | None = None

    def load(self, device) -> None:
        """At build, before the run folder is touched: whatever can fail (the evaluator, held to its floor)."""

    def prepare(self, trainer: pl.Trainer, module) -> None:
        """Once, before training (e.g. move the evaluator and the reference set to the module's device)."""

    def measure(self, module) -> dict[str, float]:
        raise NotImplementedError

    def metric_names(self, module) -> list[str]:
        """The keys `measure` returns for this data and `module` (tests hold the two together)."""
        raise NotImplementedError

    def logged(self, module) -> list[str]:
        """Every metric an evaluation logs: `measure`'s, and what `run` adds."""
        names = self.metric_names(module)
        return [*names, "eval/seconds", *(["steps_to_acc"] if "acc/cond" in names else [])]

    def check_monitor(self, module) -> None:
        """`monitor` (which keeps best.ckpt) must be a metric this evaluation logs; the error lists them."""
        names = self.logged(module)
        if self.monitor not in names:
            raise ConfigError(f"monitor={self.monitor}: not a metric this run logs; it logs: {', '.join(names)}")

    def describe(self) -> dict:
        """How the metrics were computed (feature space, sample counts, reference set), kept in metrics.json so
        that runs are compared only like with like."""
        return {}

    def on_fit_start(self, trainer: pl.Trainer, module) -> None:
        self.prepare(trainer, module)

    def run(self, trainer: pl.Trainer, module) -> None:
        start = time.perf_counter()
        metrics = self.measure(module)
        metrics["eval/seconds"] = time.perf_counter() - start
        if self.steps_to_acc is None and metrics.get("acc/cond", -1.0) >= self.threshold:
            self.steps_to_acc = module.iteration
            metrics["steps_to_acc"] = float(module.iteration)
        if trainer.logger is not None:
            trainer.logger.log_metrics(metrics, step=module.iteration)
        self.history.append({"iteration": module.iteration, **metrics})
        value = metrics.get(self.monitor)
        # Rank 0 decides and every rank follows: saving is collective under DDP, and the ranks' values may differ
        improved = value is not None and better(self.monitor, value, self.best and self.best["value"])
        improved, value = agree(trainer, (improved, value))
        if improved:
            self.best = {"metric": self.monitor, "value": value, "iteration": module.iteration}
            save_atomic(trainer, self.best_path)
        log.info("eval at %d: %s (%.1fs)", module.iteration,
                 ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k != "eval/seconds"), metrics["eval/seconds"])

    # Saved in checkpoints, so a resumed run keeps its evaluation history and best value.
    def state_dict(self) -> dict:
        return {"history": self.history, "best": self.best, "last_iteration": self.last_iteration,
                "steps_to_acc": self.steps_to_acc}

    def load_state_dict(self, state: dict) -> None:
        self.history, self.best, self.last_iteration = state["history"], state["best"], state["last_iteration"]
        self.steps_to_acc = state.get("steps_to_acc")

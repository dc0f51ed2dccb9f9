"""Measure a run while it trains: every `eval.every_n_steps` iterations and at the end.

Generated images are compared with a fixed held-out real set of the same size; the noise (and, for conditional
models, the requested labels: those of the held-out images) are the same at every evaluation and in every job.
"""

import logging
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch import Tensor

from ganexp.checkpoint import save_atomic
from ganexp.data.module import SPLIT, ImageData, to_float
from ganexp.eval.evaluator import Evaluator, load_or_train
from ganexp.eval.metrics import collapse_scores, condition_accuracy, feature_distances
from ganexp.eval.ranking import better

log = logging.getLogger(__name__)
TEST_REPEATS = 4  # samples per label set of a test file (32 sets -> 128 images)


def load_evaluator(datamodule: ImageData, floor: float, device: str | torch.device = "cpu",
                   **train_kwargs) -> Evaluator:
    """The evaluator of this data set, trained on its training part (cached under the data cache)."""
    data = datamodule.load()
    images, labels = datamodule.train_images
    key = f"{datamodule.source.key()}|holdout={datamodule.holdout}|{SPLIT}"
    # Building (or training) it must not move the global RNG: a run's results may not depend on whether the
    # evaluator came from the cache.
    with torch.random.fork_rng(devices=[]):
        return load_or_train(datamodule.cache_dir, key, images, labels, data.groups, data.multilabel, floor=floor,
                             device=device, **train_kwargs)


class Evaluation(pl.Callback):
    def __init__(self, datamodule: ImageData, run_dir: Path, every: int, monitor: str, seed: int = 4321,
                 floor: float = 0.9, batch_size: int = 250, threshold: float = 0.8, **train_kwargs):
        self.datamodule, self.every, self.monitor, self.seed = datamodule, every, monitor, seed
        self.threshold, self.steps_to_acc = threshold, None  # first evaluated iteration with acc/cond >= threshold
        self.floor, self.batch_size, self.train_kwargs = floor, batch_size, train_kwargs
        self.best_path = Path(run_dir) / "checkpoints" / "best.ckpt"
        self.evaluator: Evaluator | None = None
        self.history: list[dict[str, float]] = []
        self.best: dict[str, float] | None = None
        self.last_iteration = -1

    def on_fit_start(self, trainer: pl.Trainer, module) -> None:
        self.evaluator = load_evaluator(self.datamodule, self.floor, module.device, **self.train_kwargs)
        if trainer.logger is not None:
            trainer.logger.log_metrics({"eval/evaluator_accuracy": self.evaluator.accuracy_heldout}, step=0)
        real, real_labels = self.datamodule.heldout_images
        if len(real) < 2:
            raise ValueError("eval needs held-out real images: set eval.n_samples >= 2")
        self.real, self.real_labels = to_float(real).to(module.device), real_labels.to(module.device)
        self.real_classes = self.classes(self.evaluator.predict(self.real))
        # Held-out condition files (iCLEVR's test.json / new_test.json): each label set asked for `TEST_REPEATS` times
        sets = getattr(self.datamodule.source, "test_sets", lambda: {})() if module.conditional else {}
        self.test_sets = {name: labels.repeat(TEST_REPEATS, 1).to(module.device) for name, labels in sets.items()}

    def classes(self, logits: list[Tensor]) -> Tensor:
        """What the evaluator sees: the joint class (one index per group), or the set of present labels."""
        if self.evaluator.multilabel:
            return (logits[0] > 0).long()
        return torch.stack([lg.argmax(1) for lg in logits], 1)

    @torch.no_grad()
    def generate(self, module, labels: Tensor | None = None, n: int | None = None) -> Tensor:
        """Fixed-noise samples: `n` of them (default: as many as held-out reals) for `labels` (default: the
        held-out reals' labels, for a conditional model)."""
        if labels is None and module.conditional:
            labels = self.real_labels
        gen = torch.Generator().manual_seed(self.seed)
        z = torch.randn(n or (len(labels) if labels is not None else len(self.real)), module.z_dim,
                        generator=gen).to(module.device)
        was_training = module.training
        module.eval()
        fakes = [module.generate(zc, None if labels is None else labels[i * self.batch_size:][:len(zc)])
                 for i, zc in enumerate(z.split(self.batch_size))]
        module.train(was_training)
        return torch.cat(fakes).clamp(-1, 1)

    @torch.no_grad()
    def evaluate(self, module) -> dict[str, float]:
        start = time.perf_counter()
        fake = self.generate(module)
        logits = self.evaluator.predict(fake)
        distances = feature_distances(self.evaluator, self.real, fake, self.batch_size)
        metrics = {"fid_eval": distances["fid"], "kid_eval": distances["kid"], "kid_eval_std": distances["kid_std"]}
        # coverage counts the classes the evaluator sees among the held-out reals, not every possible combination
        collapse = collapse_scores(self.evaluator.features(fake), self.evaluator.features(self.real),
                                   self.classes(logits), self.real_classes)
        metrics.update({f"collapse/{k}": v for k, v in collapse.items()})
        if module.conditional:
            names = [name for name, _ in self.datamodule.load().attributes]
            acc = condition_accuracy(logits, self.real_labels, self.evaluator.multilabel, names)
            metrics["acc/cond"] = acc.pop("overall")
            metrics.update({f"acc/cond/{k}": v for k, v in acc.items()})
        for name, labels in self.test_sets.items():
            logits = self.evaluator.predict(self.generate(module, labels))
            metrics[f"acc/{name}"] = condition_accuracy(logits, labels, self.evaluator.multilabel)["overall"]
        metrics["eval/seconds"] = time.perf_counter() - start
        return metrics

    def run(self, trainer: pl.Trainer, module) -> None:
        if module.iteration == self.last_iteration:
            return
        self.last_iteration = module.iteration
        metrics = self.evaluate(module)
        if self.steps_to_acc is None and metrics.get("acc/cond", -1.0) >= self.threshold:
            self.steps_to_acc = module.iteration  # "how fast the conditions are learned", as one number
            metrics["steps_to_acc"] = float(module.iteration)
        if trainer.logger is not None:
            trainer.logger.log_metrics(metrics, step=module.iteration)
        self.history.append({"iteration": module.iteration, **metrics})
        value = metrics.get(self.monitor)
        if value is not None and better(self.monitor, value, self.best and self.best["value"]):
            self.best = {"metric": self.monitor, "value": value, "iteration": module.iteration}
            save_atomic(trainer, self.best_path)
        log.info("eval at %d: %s (%.1fs)", module.iteration,
                 ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k != "eval/seconds"), metrics["eval/seconds"])

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if module.iteration % self.every == 0:
            self.run(trainer, module)

    # Saved in checkpoints, so a resumed run keeps its evaluation history and best value.
    def state_dict(self) -> dict:
        return {"history": self.history, "best": self.best, "last_iteration": self.last_iteration,
                "steps_to_acc": self.steps_to_acc}

    def load_state_dict(self, state: dict) -> None:
        self.history, self.best, self.last_iteration = state["history"], state["best"], state["last_iteration"]
        self.steps_to_acc = state.get("steps_to_acc")

    def on_train_end(self, trainer, module) -> None:
        self.run(trainer, module)

"""The one rule for work done while a run trains: every `every` iterations, and once more at the end."""

import pytorch_lightning as pl


class Periodic(pl.Callback):
    """Calls `run(trainer, module)` on every `every`-th iteration and at the end of training (once per iteration:
    not twice when the run ends on a multiple of `every`), then `finish(trainer, module)`."""

    def __init__(self, every: int):
        self.every = every
        self.last_iteration = -1

    def run(self, trainer: pl.Trainer, module) -> None:
        raise NotImplementedError

    def finish(self, trainer: pl.Trainer, module) -> None:
        """At the end, after the last `run`."""

    def _maybe_run(self, trainer: pl.Trainer, module) -> None:
        if module.iteration != self.last_iteration:
            self.last_iteration = module.iteration
            self.run(trainer, module)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if module.iteration % self.every == 0:
            self._maybe_run(trainer, module)

    def on_train_end(self, trainer, module) -> None:
        self._maybe_run(trainer, module)
        self.finish(trainer, module)

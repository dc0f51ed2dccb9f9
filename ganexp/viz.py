"""What the user watches: fixed-noise sample grids (PNG files and TensorBoard images) and the progress bar."""

from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import TQDMProgressBar
from torch import Tensor
from torchvision.utils import make_grid, save_image


def sample_bank(n: int, z_dim: int, seed: int, conditions: Tensor | None, per_row: int) -> tuple[Tensor, Tensor | None]:
    """Noise and labels for a grid, derived from `seed` alone: identical for every job of a sweep.

    Each row shares one condition (drawn from the data's distinct conditions), so a row reads as "this condition".
    """
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, z_dim, generator=gen)
    if conditions is None or len(conditions) == 0:
        return z, None
    rows = -(-n // per_row)
    picks = torch.randint(len(conditions), (rows,), generator=gen).repeat_interleave(per_row)[:n]
    return z, conditions.cpu()[picks]


def to_grid(images: Tensor, per_row: int) -> Tensor:
    """[-1, 1] images -> one [0, 1] grid image (C, H, W)."""
    return make_grid(images.detach().float().cpu(), nrow=per_row, normalize=True, value_range=(-1, 1), pad_value=1)


class SampleGrids(pl.Callback):
    """Every `every` iterations (and at the end) draws the fixed bank and saves `samples/iter_XXXXXX.png`."""

    def __init__(self, out_dir: Path, every: int, n: int, seed: int):
        self.out_dir, self.every, self.n, self.seed = Path(out_dir), every, n, seed
        self.per_row = max(1, int(n**0.5))
        self.bank: tuple[Tensor, Tensor | None] | None = None

    def draw(self, module) -> Tensor:
        if self.bank is None:
            conditions = module.conditions if module.conditional else None
            self.bank = sample_bank(self.n, module.z_dim, self.seed, conditions, self.per_row)
        z, labels = self.bank
        was_training = module.training
        module.eval()
        with torch.no_grad():
            images = module.generate(z.to(module.device), labels.to(module.device) if labels is not None else None)
        module.train(was_training)
        return to_grid(images, self.per_row)

    def save(self, trainer: pl.Trainer, module) -> None:
        grid = self.draw(module)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        save_image(grid, self.out_dir / f"iter_{module.iteration:06d}.png")
        if trainer.logger is not None and hasattr(trainer.logger.experiment, "add_image"):
            trainer.logger.experiment.add_image("samples", grid, module.iteration)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if module.iteration % self.every == 0:
            self.save(trainer, module)

    def on_train_end(self, trainer, module) -> None:
        if module.iteration % self.every != 0:
            self.save(trainer, module)


class IterationBar(TQDMProgressBar):
    """One bar over the whole run counted in ganexp iterations (Lightning's own bar restarts every epoch)."""

    def __init__(self, max_iters: int, refresh_rate: int = 10):
        super().__init__(refresh_rate=refresh_rate)
        self.max_iters = max_iters

    def on_train_epoch_start(self, trainer: pl.Trainer, *_) -> None:
        bar = self.train_progress_bar
        if bar.total != self.max_iters:
            bar.reset(total=self.max_iters)
        bar.set_description(f"epoch {trainer.current_epoch}")

    def on_train_batch_end(self, trainer: pl.Trainer, module, outputs, batch, batch_idx: int) -> None:
        bar = self.train_progress_bar
        if module.iteration % self.refresh_rate == 0 or module.iteration >= self.max_iters:
            bar.n = module.iteration
            bar.set_postfix(self.get_metrics(trainer, module))
            bar.refresh()

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


@torch.no_grad()
def generate(module, z: Tensor, labels: Tensor | None) -> Tensor:
    """G's images in eval mode (BatchNorm running statistics), leaving the module's mode as it was."""
    was_training = module.training
    module.eval()
    images = module.generate(z.to(module.device), labels.to(module.device) if labels is not None else None)
    module.train(was_training)
    return images


def slerp(a: Tensor, b: Tensor, steps: int) -> Tensor:
    """Spherical interpolation between two noise vectors (stays on the Gaussian's typical shell)."""
    omega = torch.arccos((a / a.norm() * b / b.norm()).sum().clamp(-1, 1))
    t = torch.linspace(0, 1, steps)[:, None]
    if omega.abs() < 1e-6:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def condition_pictures(module, attributes: list[tuple[str, list[str]]], seed: int, rows: int = 4,
                       steps: int = 10) -> dict[str, Tensor]:
    """Grids for a model: `interpolation` (rows: pairs of z, columns: slerp between them) and, for conditional
    models, `cond_<group>` (rows: one z each, columns: every value of that attribute group, the rest fixed)."""
    gen = torch.Generator().manual_seed(seed)
    conditional = module.conditional and len(module.conditions) > 0
    base = module.conditions.cpu()[torch.randint(len(module.conditions), (rows,), generator=gen)] if conditional \
        else None
    ends = torch.randn(rows, 2, module.z_dim, generator=gen)
    z = torch.cat([slerp(a, b, steps) for a, b in ends])
    labels = base.repeat_interleave(steps, 0) if base is not None else None
    pictures = {"interpolation": to_grid(generate(module, z, labels), steps)}
    if conditional and not module.multilabel:
        for group, (name, values) in enumerate(attributes):
            labels = base.repeat_interleave(len(values), 0)
            labels[:, group] = torch.arange(len(values)).repeat(rows)
            z = torch.randn(rows, module.z_dim, generator=gen).repeat_interleave(len(values), 0)
            pictures[f"cond_{name}"] = to_grid(generate(module, z, labels), len(values))
    was_training = module.training
    module.eval()
    with torch.no_grad():
        pictures.update(module.pictures(seed))
    module.train(was_training)
    return pictures


class SampleGrids(pl.Callback):
    """Every `every` iterations (and at the end) draws the fixed bank and saves `samples/iter_XXXXXX.png`; for a
    conditional model each row of that grid shares one condition ("same condition, different noise").
    At the end: `progress.png` (one row per saved grid, same noise: how training went) and `condition_pictures`."""

    def __init__(self, out_dir: Path, every: int, n: int, seed: int, attributes: list[tuple[str, list[str]]]):
        self.out_dir, self.every, self.n, self.seed = Path(out_dir), every, n, seed
        self.attributes = attributes
        self.per_row = max(1, int(n**0.5))
        self.bank: tuple[Tensor, Tensor | None] | None = None
        self.progress: list[Tensor] = []

    def draw(self, module) -> Tensor:
        if self.bank is None:
            conditions = module.conditions if module.conditional else None
            self.bank = sample_bank(self.n, module.z_dim, self.seed, conditions, self.per_row)
        images = generate(module, *self.bank)
        self.progress.append(images[: self.per_row].cpu())
        return to_grid(images, self.per_row)

    def save(self, trainer: pl.Trainer, module, name: str, grid: Tensor, step: int) -> None:
        if not trainer.is_global_zero:  # under DDP every rank draws (same weights), rank 0 writes
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        save_image(grid, self.out_dir / f"{name}.png")
        if trainer.logger is not None and hasattr(trainer.logger.experiment, "add_image"):
            trainer.logger.experiment.add_image("samples" if name.startswith("iter_") else name, grid, step)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if module.iteration % self.every == 0:
            self.save(trainer, module, f"iter_{module.iteration:06d}", self.draw(module), module.iteration)

    def state_dict(self) -> dict:  # the progress rows drawn so far survive a resume
        return {"progress": self.progress}

    def load_state_dict(self, state: dict) -> None:
        self.progress = state["progress"]

    def on_train_end(self, trainer, module) -> None:
        if module.iteration % self.every != 0:
            self.save(trainer, module, f"iter_{module.iteration:06d}", self.draw(module), module.iteration)
        self.save(trainer, module, "progress", to_grid(torch.cat(self.progress), self.per_row), module.iteration)
        for name, grid in condition_pictures(module, self.attributes, self.seed).items():
            self.save(trainer, module, name, grid, module.iteration)


class IterationBar(TQDMProgressBar):
    """One bar over the whole run counted in ganexp iterations (Lightning's own bar restarts every epoch)."""

    def __init__(self, max_iters: int, refresh_rate: int = 10):
        super().__init__(refresh_rate=refresh_rate)
        self.max_iters = max_iters

    def on_train_epoch_start(self, trainer: pl.Trainer, module) -> None:
        bar = self.train_progress_bar
        bar.reset(total=self.max_iters)
        bar.n = module.iteration  # a resumed run starts part-way
        bar.set_description("iterations")

    def on_train_batch_end(self, trainer: pl.Trainer, module, outputs, batch, batch_idx: int) -> None:
        bar = self.train_progress_bar
        if module.iteration % self.refresh_rate == 0 or module.iteration >= self.max_iters:
            bar.n = module.iteration
            bar.set_postfix(self.get_metrics(trainer, module))
            bar.refresh()

"""What the user watches: fixed-noise sample grids (PNG files, and images in the loggers that show them), scatter
plots of 2-D samples, and the progress bar."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402
from pytorch_lightning.callbacks import TQDMProgressBar  # noqa: E402
from torch import Tensor  # noqa: E402
from torchvision.utils import make_grid, save_image  # noqa: E402

from ganexp.data.toy import mixture_centers  # noqa: E402
from ganexp.loggers import log_image  # noqa: E402
from ganexp.nets import eval_mode  # noqa: E402
from ganexp.periodic import Periodic  # noqa: E402


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


def generate(module, z: Tensor, labels: Tensor | None) -> Tensor:
    """G's images in eval mode (BatchNorm running statistics), with G's moving average when it is on, leaving the
    module's mode as it was."""
    with eval_mode(module):
        return module.generate(z.to(module.device), labels.to(module.device) if labels is not None else None, ema=True)


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
    with eval_mode(module):
        pictures.update(module.pictures(seed))
    return pictures


class SampleGrids(Periodic):
    """Every `every` iterations (and at the end) draws the fixed bank and saves `samples/iter_XXXXXX.png`; for a
    conditional model each row of that grid shares one condition ("same condition, different noise").
    At the end: `progress.png` (one row per saved grid, same noise: how training went) and `condition_pictures`."""

    def __init__(self, out_dir: Path, every: int, n: int, seed: int, attributes: list[tuple[str, list[str]]]):
        super().__init__(every)
        self.out_dir, self.n, self.seed = Path(out_dir), n, seed
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
        log_image(trainer.logger, "samples" if name.startswith("iter_") else name, grid, step)

    def run(self, trainer, module) -> None:
        self.save(trainer, module, f"iter_{module.iteration:06d}", self.draw(module), module.iteration)

    def state_dict(self) -> dict:  # the progress rows drawn so far survive a resume
        return {"progress": self.progress}

    def load_state_dict(self, state: dict) -> None:
        self.progress = state["progress"]

    def finish(self, trainer, module) -> None:
        self.save(trainer, module, "progress", to_grid(torch.cat(self.progress), self.per_row), module.iteration)
        for name, grid in condition_pictures(module, self.attributes, self.seed).items():
            self.save(trainer, module, name, grid, module.iteration)


def scatter(panels: list[tuple[str, Tensor]], centers: Tensor, path: Path, limit: float) -> None:
    """One square panel per (title, points), the mixture's modes as red crosses."""
    fig, axes = plt.subplots(1, len(panels), figsize=(2.2 * len(panels), 2.4), squeeze=False)
    for ax, (title, points) in zip(axes[0], panels, strict=True):
        ax.scatter(points[:, 0], points[:, 1], s=1, alpha=0.4, c="tab:blue", linewidths=0)
        ax.scatter(centers[:, 0], centers[:, 1], s=12, c="red", marker="x", linewidths=1)
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


class PointPlots(Periodic):
    """Every `every` iterations: `samples/iter_XXXXXX.png`, 1,000 fixed-noise samples over the modes; at the end
    `progress.png`, those plots side by side (how the modes were found, or lost)."""

    def __init__(self, out_dir: Path, every: int, kind: str, seed: int = 1234, n: int = 1000):
        super().__init__(every)
        self.out_dir, self.seed, self.n = Path(out_dir), seed, n
        self.centers = mixture_centers(kind)
        self.limit = float(self.centers.abs().max()) * 1.5
        self.panels: list[tuple[str, Tensor]] = []

    def run(self, trainer, module) -> None:
        z = torch.randn(self.n, module.z_dim, generator=torch.Generator().manual_seed(self.seed))
        points = generate(module, z, None).cpu()
        self.panels.append((f"iteration {module.iteration}", points))
        scatter(self.panels[-1:], self.centers, self.out_dir / f"iter_{module.iteration:06d}.png", self.limit)

    def finish(self, trainer, module) -> None:
        step = max(1, len(self.panels) // 6)  # at most ~6 panels in the strip, the last one always
        chosen = self.panels[::step][:5] + self.panels[-1:] if len(self.panels) > 6 else self.panels
        scatter(chosen, self.centers, self.out_dir / "progress.png", self.limit)

    def state_dict(self) -> dict:
        return {"panels": self.panels}

    def load_state_dict(self, state: dict) -> None:
        self.panels = state["panels"]


class IterationBar(TQDMProgressBar):
    """One bar over the whole run counted in ganexp iterations (Lightning's own bar restarts every epoch)."""

    def __init__(self, max_iters: int, refresh_rate: int = 10):
        super().__init__(refresh_rate=refresh_rate)
        self.max_iters = max_iters

    def on_train_start(self, trainer: pl.Trainer, module) -> None:
        # here, not at each epoch's start: Lightning skips that hook when it resumes part-way through an epoch
        super().on_train_start(trainer, module)
        bar = self.train_progress_bar
        bar.reset(total=self.max_iters)
        # a resumed or extended run starts part-way: its rate and time left count this process's iterations only
        bar.n = bar.last_print_n = bar.initial = module.iteration
        bar.set_description("iterations")

    def on_train_epoch_start(self, trainer: pl.Trainer, module) -> None:
        pass  # one bar over the whole run (Lightning's restarts every epoch)

    def on_train_batch_end(self, trainer: pl.Trainer, module, outputs, batch, batch_idx: int) -> None:
        bar = self.train_progress_bar
        if module.iteration % self.refresh_rate == 0 or module.iteration >= self.max_iters:
            bar.n = module.iteration
            bar.set_postfix(self.get_metrics(trainer, module))
            bar.refresh()

"""Evaluation and pictures for the 2-D toy mixtures: modes captured, share of high-quality samples, scatter plots."""

import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402

from ganexp.data.toy import mixture_centers, mode_scores  # noqa: E402
from ganexp.eval.callback import Evaluation  # noqa: E402
from ganexp.viz import generate  # noqa: E402


class ToyEvaluation(Evaluation):
    """`toy/modes`, `toy/high_quality`, `toy/mode_kl` of `n` fixed-noise samples, at the same times as image runs
    are evaluated; best.ckpt and the history work as for images (monitor e.g. `toy/high_quality`)."""

    def __init__(self, datamodule, run_dir: Path, every: int, monitor: str, seed: int = 4321, n: int = 2500,
                 min_count: int = 20):
        super().__init__(datamodule, run_dir, every, monitor, seed)
        source = datamodule.source
        self.centers, self.std, self.n, self.min_count = mixture_centers(source.kind), source.std, n, min_count

    def on_fit_start(self, trainer: pl.Trainer, module) -> None:
        pass  # no evaluator to train

    @torch.no_grad()
    def evaluate(self, module) -> dict[str, float]:
        start = time.perf_counter()
        z = torch.randn(self.n, module.z_dim, generator=torch.Generator().manual_seed(self.seed))
        points = generate(module, z, None).cpu()
        metrics = {f"toy/{k}": float(v) for k, v in mode_scores(points, self.centers, self.std, self.min_count).items()}
        return {**metrics, "eval/seconds": time.perf_counter() - start}


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


class ToyPlots(pl.Callback):
    """Every `every` iterations: `samples/iter_XXXXXX.png`, 1,000 fixed-noise samples over the modes; at the end
    `progress.png`, those plots side by side (how the modes were found, or lost)."""

    def __init__(self, out_dir: Path, every: int, kind: str, seed: int = 1234, n: int = 1000):
        self.out_dir, self.every, self.seed, self.n = Path(out_dir), every, seed, n
        self.centers = mixture_centers(kind)
        self.limit = float(self.centers.abs().max()) * 1.5
        self.panels: list[tuple[str, Tensor]] = []

    def draw(self, module) -> None:
        z = torch.randn(self.n, module.z_dim, generator=torch.Generator().manual_seed(self.seed))
        points = generate(module, z, None).cpu()
        self.panels.append((f"iteration {module.iteration}", points))
        scatter(self.panels[-1:], self.centers, self.out_dir / f"iter_{module.iteration:06d}.png", self.limit)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if module.iteration % self.every == 0:
            self.draw(module)

    def on_train_end(self, trainer, module) -> None:
        if module.iteration % self.every != 0:
            self.draw(module)
        step = max(1, len(self.panels) // 6)  # at most ~6 panels in the strip, the last one always
        chosen = self.panels[::step][:5] + self.panels[-1:] if len(self.panels) > 6 else self.panels
        scatter(chosen, self.centers, self.out_dir / "progress.png", self.limit)

    def state_dict(self) -> dict:
        return {"panels": self.panels}

    def load_state_dict(self, state: dict) -> None:
        self.panels = state["panels"]

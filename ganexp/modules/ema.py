"""G's exponential moving average, updated without a host sync.

torch.optim.swa_utils.AveragedModel asks its device counter `n_averaged == 0` on every update (a host sync, twice a
G step on a GPU) and deep-copies G with `requires_grad` on (under DDP its parameters would join every gradient
all-reduce). `EMA` keeps AveragedModel's state (`module.*`, `n_averaged`), so checkpoints load either way, and its
numbers: the same `torch._foreach_lerp_` as `get_ema_multi_avg_fn` (torch/optim/swa_utils.py), a copy when told to.
`Averaging` is the part of GANModule that keeps the average and draws with it.
"""

import copy
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class GeneratorEMA:
    """`g_ema`: the decay of G's exponential moving average (0: off) and the iteration before which it copies G."""

    decay: float
    start: int


class EMA(nn.Module):
    """A frozen copy of `model` whose parameters move towards the model's: p <- p + (1 - decay) (q - p)."""

    def __init__(self, model: nn.Module, decay: float):
        super().__init__()
        self.module = copy.deepcopy(model).requires_grad_(False)
        self.decay = decay
        self.register_buffer("n_averaged", torch.tensor(0, dtype=torch.long, device=next(model.parameters()).device))

    @torch.no_grad()
    def update(self, model: nn.Module, copy_weights: bool) -> None:
        """One step towards `model`'s parameters; `copy_weights` copies them instead (the first update, and every
        update before `g_ema.start`). The caller says which from counters it keeps on the host."""
        mine = [p.detach() for p in self.module.parameters()]
        theirs = [p.detach() for p in model.parameters()]
        if copy_weights:
            torch._foreach_copy_(mine, theirs)
        else:
            torch._foreach_lerp_(mine, theirs, 1 - self.decay)
        self.n_averaged.add_(1)


class Averaging:
    """The moving average of G (and of its condition encoder) as the part of GANModule that keeps it: evaluation,
    grids and sampling draw with it, the raw G trains (GANModule sets `g_ema`, `ema_start`, `ema_updates`,
    `_ema_stale`, and provides `generator`, `cond_g`, `generate`, `conditions`)."""

    g_ema: EMA | None
    ema_start: int
    ema_updates: int
    _ema_stale: bool
    generator: nn.Module
    cond_g: nn.Module | None
    conditional: bool
    iteration: int
    z_dim: int
    conditions: torch.Tensor
    device: Any

    def g_parts(self) -> nn.ModuleList:
        """G and its condition encoder, as one module (what the EMA averages)."""
        return nn.ModuleList([self.generator] + ([self.cond_g] if self.cond_g is not None else []))

    def drawing_parts(self, ema: bool) -> tuple[nn.Module, nn.Module | None]:
        """(G, its condition encoder): the averaged ones when `ema` and the EMA is on, else the trained ones."""
        if ema and self.g_ema is not None:
            if self._ema_stale:
                self.refresh_ema_statistics()
            parts = self.g_ema.module
            return parts[0], parts[1] if len(parts) > 1 else None
        return self.generator, self.cond_g

    @torch.no_grad()
    def update_ema(self) -> None:
        """After each G step: the average moves towards G (before `g_ema.start` it just copies G)."""
        if self.g_ema is None:
            return
        self.g_ema.update(self.g_parts(), copy_weights=self.ema_updates == 0 or self.iteration < self.ema_start)
        self.ema_updates += 1
        self._ema_stale = True

    @torch.no_grad()
    def refresh_ema_statistics(self, batches: int = 16, size: int = 64, seed: int = 0) -> None:
        """BatchNorm's running statistics of the averaged G, recomputed for the averaged weights before it draws:
        reset, then a cumulative average over `batches` forward passes in train mode on fixed noise (and
        conditions drawn from the data's), the rule of torch.optim.swa_utils.update_bn. Copying the trained G's
        statistics instead (NVlabs/stylegan2-ada-pytorch's training_loop.py, whose G has no BatchNorm) pairs them
        with weights they were not measured on; on the DCGAN default job that copy made the average far worse than
        the raw G (docs/configuration.md, Generator EMA). Own RNG: the global one, and so the run, is untouched."""
        self._ema_stale = False
        parts = self.g_ema.module
        norms = [m for m in parts.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not norms:
            return
        momenta = [bn.momentum for bn in norms]
        for bn in norms:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the passes
        was_training = parts.training
        parts.train()
        gen = torch.Generator().manual_seed(seed)
        for _ in range(batches):
            z = torch.randn(size, self.z_dim, generator=gen).to(self.device)
            labels = None
            if self.conditional and len(self.conditions):
                labels = self.conditions[torch.randint(len(self.conditions), (size,), generator=gen).to(self.device)]
            self.generate(z, labels, ema=True)
        for bn, momentum in zip(norms, momenta, strict=True):
            bn.momentum = momentum
        parts.train(was_training)

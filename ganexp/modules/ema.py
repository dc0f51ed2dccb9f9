"""G's exponential moving average, updated without a host sync.

torch.optim.swa_utils.AveragedModel asks its device counter `n_averaged == 0` on every update (a host sync, twice a
G step on a GPU) and deep-copies G with `requires_grad` on (under DDP its parameters would join every gradient
all-reduce). `EMA` keeps AveragedModel's state (`module.*`, `n_averaged`), so checkpoints load either way, and its
numbers: the same `torch._foreach_lerp_` as `get_ema_multi_avg_fn` (torch/optim/swa_utils.py), a copy when told to.
"""

import copy
from dataclasses import dataclass

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

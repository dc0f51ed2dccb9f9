"""The divergence guard: a run ends as `diverged` when a loss is not finite, or when one loss stays above
`guard.max_loss` for `guard.patience` consecutive checks; and a state that is not finite is never checkpointed.

Patience is counted per checked loss (D's, G's, G's pixel pre-training), so one network's loss stuck above the
limit trips the guard however well the other's behaves. torch-free but for `first_nonfinite`.
"""

import math
from collections.abc import Iterable
from typing import Any


class Diverged(RuntimeError):
    """A loss went non-finite, or stayed above `guard.max_loss` for `guard.patience` checks; or, at a checkpoint,
    a weight, optimizer state or latest loss is not finite."""

    def __init__(self, iteration: int, name: str, value: float):
        super().__init__(f"{name}={value:.6g} at iteration {iteration}")
        self.iteration, self.name, self.value = iteration, name, value


def check_loss(over: dict[str, int], iteration: int, name: str, value: float, max_loss: float,
               patience: int) -> None:
    """One check of loss `name`: raise Diverged if `value` is not finite, or if |value| has now been above
    `max_loss` for `patience` consecutive checks of that loss. `over` holds the counts per loss (updated here)."""
    if not math.isfinite(value):
        raise Diverged(iteration, name, value)
    over[name] = over.get(name, 0) + 1 if abs(value) > max_loss else 0
    if over[name] >= patience:
        raise Diverged(iteration, name, value)


def first_nonfinite(named: Iterable[tuple[str, Any]]) -> tuple[str, float] | None:
    """(name, a bad value) of the first floating-point tensor in `named` that holds a NaN or an infinity; None when
    all are finite. One host sync per tensor: for checkpoints, not for every step."""
    import torch

    for name, tensor in named:
        if torch.is_tensor(tensor) and tensor.is_floating_point():
            finite = torch.isfinite(tensor.detach())
            if not bool(finite.all()):
                return name, float(tensor.detach()[~finite].flatten()[0])
    return None

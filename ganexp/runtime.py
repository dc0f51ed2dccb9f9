"""The runtime's choices that change no result's meaning, only its speed: which optimizer kernel runs.

(Precision, threads and the accelerator are still resolved in ganexp.train: `resolve_arithmetic`, `shared_threads`.)
"""

import inspect
from collections.abc import Callable
from typing import Any

import torch


def optimizer_kernel(make: Callable[..., torch.optim.Optimizer], device: torch.device) -> dict[str, Any]:
    """Keyword arguments for the optimizer `make` builds (a functools.partial from the config): on a GPU, torch's
    fused kernel (one launch for all parameters: Adam, AdamW, SGD) where the optimizer has one, else its foreach
    kernel (RMSprop); nothing on the CPU, and nothing the config sets itself (`optimizer.g.fused=false` wins)."""
    if torch.device(device).type != "cuda":
        return {}
    target = getattr(make, "func", make)
    given = getattr(make, "keywords", {}) or {}
    accepted = inspect.signature(target).parameters
    for kernel in ("fused", "foreach"):
        if kernel in accepted:
            return {} if {"fused", "foreach"} & set(given) else {kernel: True}
    return {}

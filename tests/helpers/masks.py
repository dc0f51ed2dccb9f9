"""The share of a batch that a boolean mask picks."""

import torch


def share(mask: torch.Tensor) -> float:
    return mask.float().mean().item()

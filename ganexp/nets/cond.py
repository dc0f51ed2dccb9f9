"""Condition encoders: turn a batch of labels into the vector that G and D consume (the `cond` config group).

Labels are either attribute-group indices, long (N, A), or multi-hot float (N, L) for multi-label data.
Each network owns its own encoder instance, so a learned encoder is trained by that network's optimizer.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class OneHot(nn.Module):
    """Concatenated one-hot vector per attribute group; multi-hot labels pass through unchanged."""

    def __init__(self, groups: list[int], multilabel: bool = False):
        super().__init__()
        self.groups, self.multilabel = list(groups), multilabel
        self.out_dim = sum(self.groups)

    def forward(self, labels: Tensor) -> Tensor:
        if self.multilabel:
            return labels.float()
        return torch.cat([F.one_hot(labels[:, a], n).float() for a, n in enumerate(self.groups)], 1)

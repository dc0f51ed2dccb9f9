"""Condition encoders: turn a batch of labels into the vector that G and D consume (the `cond` config group).

Labels are either attribute-group indices, long (N, A), or multi-hot float (N, L) for multi-label data.
Each network owns its own encoder instance, so a learned encoder is trained by that network's optimizer.
Every encoder takes (groups, multilabel, attributes, conditions) and says its `out_dim`.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganexp.errors import ConfigError
from ganexp.nets.text import encode_sentences, label_keys, sentences
from ganexp.ranges import Count


class OneHot(nn.Module):
    """Concatenated one-hot vector per attribute group; multi-hot labels pass through unchanged."""

    def __init__(self, groups: list[int], multilabel: bool = False, attributes=None, conditions=None):
        super().__init__()
        self.groups, self.multilabel = list(groups), multilabel
        self.out_dim = sum(self.groups)

    def forward(self, labels: Tensor) -> Tensor:
        if self.multilabel:
            return labels.float()
        return torch.cat([F.one_hot(labels[:, a], n).float() for a, n in enumerate(self.groups)], 1)


class Embed(nn.Module):
    """A learned `embed_dim` vector per attribute value (per label for multi-label data); an image's condition is
    the sum over its attributes (labels), so the size is `embed_dim` whatever the number of attributes."""

    def __init__(self, groups: list[int], multilabel: bool = False, attributes=None, conditions=None, *,
                 embed_dim: Count):
        super().__init__()
        self.groups, self.multilabel, self.out_dim = list(groups), multilabel, embed_dim
        self.table = nn.Embedding(sum(self.groups), embed_dim)
        nn.init.normal_(self.table.weight, 0.0, 1.0)
        self.register_buffer("offsets", torch.tensor([0, *self.groups[:-1]]).cumsum(0), persistent=False)

    def forward(self, labels: Tensor) -> Tensor:
        if self.multilabel:
            return labels.float() @ self.table.weight
        return self.table(labels + self.offsets).sum(1)


class Text(nn.Module):
    """The reports' text conditioning: labels -> a sentence ("blue hair red eyes") -> a frozen sentence encoder
    (384-d, offline) -> a trainable linear layer + ReLU to `embed_dim`.

    The encoder never runs in the training loop: the vectors of the data's conditions are computed at start-up
    (once per distinct sentence, kept in a disk cache) into a lookup table; a label row that is not in it yet (a test
    file, a user's request) is encoded when first seen outside training.
    """

    def __init__(self, groups: list[int], multilabel: bool = False, attributes=None, conditions=None,
                 *, embed_dim: Count, encoder: str, cache_dir: str | None = None):
        super().__init__()
        if attributes is None:
            raise ConfigError("cond=text needs the data's attribute names to write sentences")
        self.groups, self.multilabel, self.attributes = list(groups), multilabel, attributes
        self.encoder, self.cache_dir, self.out_dim = encoder, cache_dir, embed_dim
        conditions = conditions if conditions is not None and len(conditions) else torch.empty(0, len(groups))
        vectors = encode_sentences(sentences(conditions, attributes, multilabel), encoder, cache_dir)
        keys = label_keys(conditions, self.groups, multilabel)
        if len(torch.unique(keys)) != len(torch.unique(conditions, dim=0)):  # every condition its own sentence
            raise RuntimeError(f"cond=text: {len(torch.unique(conditions, dim=0))} conditions got "
                               f"{len(torch.unique(keys))} distinct keys (groups {self.groups})")
        order = keys.argsort()
        self.register_buffer("keys", keys[order], persistent=False)
        self.register_buffer("vectors", vectors[order], persistent=False)
        self.project = nn.Sequential(nn.Linear(vectors.shape[1], embed_dim), nn.ReLU())

    def lookup(self, labels: Tensor) -> Tensor:
        keys = label_keys(labels, self.groups, self.multilabel)
        pos = torch.searchsorted(self.keys, keys).clamp(max=max(len(self.keys) - 1, 0))
        if not self.training and (len(self.keys) == 0 or not bool((self.keys[pos] == keys).all())):
            self.add(labels)  # outside training only: a host sync to check for unseen conditions
            return self.lookup(labels)
        return self.vectors[pos]

    def add(self, labels: Tensor) -> None:
        rows = torch.unique(labels, dim=0)
        keys = label_keys(rows, self.groups, self.multilabel)
        new = ~torch.isin(keys, self.keys)
        vectors = encode_sentences(sentences(rows[new], self.attributes, self.multilabel), self.encoder,
                                   self.cache_dir).to(self.vectors.device)
        keys = torch.cat([self.keys, keys[new]])
        order = keys.argsort()
        self.keys, self.vectors = keys[order], torch.cat([self.vectors, vectors])[order]

    def forward(self, labels: Tensor) -> Tensor:
        return self.project(self.lookup(labels))

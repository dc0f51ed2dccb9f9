"""Conditional GAN: the condition joins z in G and enters D as the discriminator's `cond` says (expand, concat,
projection).

Matching-aware D (Reed et al. 2016, GAN-CLS): real images paired with a wrong condition are extra negatives.
D's adversarial term becomes (L(real, fake) + w * L(real, wrong)) / (1 + w), which at w = 1 is GAN-CLS's
real + (fake + wrong) / 2 for any loss whose D term splits into a real part and a fake part.

Where the wrong conditions come from (`wrong_sampling`) matters when many images are untagged (a "none" value, see
`data.source.untagged`): `shift` draws them from the data, so about that share of them is "none", and D learns to
spot untagged pairs more than mismatched colours; `colours` draws each group's value from its real colours only
(one report's fix); `uniform` draws among the data's fully tagged conditions. "none" fits any image, so a pair with
it is never wrong: `colours` and `uniform` never offer it.
"""

import math
from typing import Annotated, Literal

import torch
from torch import Tensor

from ganexp.data.module import fully_tagged
from ganexp.errors import ConfigError
from ganexp.modules.base import GANModule
from ganexp.ranges import NON_NEGATIVE, Weight
from ganexp.schedule import iterations_for_batches


class CGAN(GANModule):
    conditional = True

    def __init__(self, *args, wrong_weight: Weight, wrong_sampling: Literal["uniform", "shift", "colours", "none"],
                 uncond_epochs: Annotated[float, NON_NEGATIVE], **kwargs):
        super().__init__(*args, **kwargs)
        self.wrong_weight, self.wrong_sampling = wrong_weight, wrong_sampling
        untagged = self.labels.untagged
        self.register_buffer("tagged_conditions", self.conditions[fully_tagged(self.conditions, untagged)],
                             persistent=False)
        if wrong_weight > 0 and wrong_sampling == "uniform" and len(self.tagged_conditions) < 2:
            raise ConfigError(f"model.wrong_weight={wrong_weight} with wrong_sampling=uniform needs at least two "
                              f"distinct tagged conditions in the data; it has {len(self.tagged_conditions)}")
        if wrong_sampling == "colours":
            if self.multilabel:
                raise ConfigError("model.wrong_sampling=colours needs attribute groups (hair colour, eye colour, "
                                  "...); multi-label data has one set of labels: use uniform or shift")
            values, self.colour_counts = real_values(self.conditions, untagged)
            self.register_buffer("colour_values", values, persistent=False)
            if wrong_weight > 0 and math.prod(self.colour_counts) < 2:
                raise ConfigError(f"model.wrong_weight={wrong_weight} with wrong_sampling=colours needs at least two "
                                  f"combinations of tagged values in the data; it has {math.prod(self.colour_counts)}")
        # uncond_epochs: the wrong-condition term waits until that many passes over the training images
        self.uncond_iters = iterations_for_batches(round(uncond_epochs * self.loop.batches_per_epoch), self.sched)

    def d_adversarial(self, real: Tensor, labels: Tensor, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        loss = self.loss.d_loss(real_scores, fake_scores)
        if self.wrong_weight == 0 or self.wrong_sampling == "none" or self.iteration < self.uncond_iters:
            return loss
        wrong_scores = self.critic(real, self.wrong_labels(labels))
        self.track(**{"d/wrong": wrong_scores.mean()})
        return (loss + self.wrong_weight * self.loss.d_loss(real_scores, wrong_scores)) / (1 + self.wrong_weight)

    def wrong_labels(self, labels: Tensor) -> Tensor:
        """A wrong condition for each sample of the batch, as `wrong_sampling` says."""
        if self.wrong_sampling == "shift":
            return shifted_labels(labels)
        if self.wrong_sampling == "colours":
            return other_combination(labels, self.colour_values, self.colour_counts)
        return other_condition(labels, self.tagged_conditions)


def shifted_labels(labels: Tensor) -> Tensor:
    """`shift`: the batch's own labels rolled by a random offset (1..N-1): image i meets image i+k's condition,
    which may equal its own (as in the report that did this). Wrong tags drawn from the data's own distribution,
    "none" included: the other report's baseline ("sample the wrong tags from the data")."""
    offset = int(torch.randint(1, max(len(labels), 2), ()))
    return labels.roll(offset, 0)


def other_condition(own: Tensor, pool: Tensor) -> Tensor:
    """`uniform`: per row of `own`, a row of `pool` (the data's fully tagged distinct conditions) other than it,
    uniformly. Conditions with a "none" are not in the pool: "none" fits any image, so such a pair is no negative."""
    pool = pool.to(own.dtype)
    pick = torch.randint(len(pool), (len(own),), device=own.device)
    same = (pool[pick] == own).all(1)
    # A draw equal to the sample's own condition moves to a uniformly chosen different one.
    shift = torch.randint(1, len(pool), (len(own),), device=own.device)
    pick = torch.where(same, (pick + shift) % len(pool), pick)
    return pool[pick]


def real_values(conditions: Tensor, untagged: list[int | None]) -> tuple[Tensor, list[int]]:
    """Each group's values present in `conditions` (N, A), "none" left out: long (A, M) padded with -1, and the
    count per group."""
    columns = [torch.unique(conditions[:, a]) for a in range(len(untagged))]
    values = [v[v != (-1 if none is None else none)] for v, none in zip(columns, untagged, strict=True)]
    padded = torch.full((len(values), max(map(len, values), default=1)), -1, dtype=torch.long)
    for a, v in enumerate(values):
        padded[a, :len(v)] = v.long()
    return padded, [len(v) for v in values]


def other_combination(own: Tensor, values: Tensor, counts: list[int]) -> Tensor:
    """`colours`: per row of `own` (N, A), each group's value uniform over its real values (never "none"), the whole
    condition other than that row: the report's "a random colour of those present, then one-hot". Group a's values
    are values[a, :counts[a]]; a row with a "none" may get any combination. The same law as redrawing until the
    condition differs, without a loop or a host sync."""
    strides = [math.prod(counts[a + 1:]) for a in range(len(counts))]  # Python ints: no host-to-device copy
    match = own.long()[:, :, None] == values[None]  # (N, A, M): where each own value sits among its group's values
    inside = match.any(2).all(1)
    own_index = sum(match[:, a].long().argmax(1) * stride for a, stride in enumerate(strides))
    # uniform over the combinations other than own: draw among total - 1 and step over own's index
    # (a 62-bit draw taken modulo the count: its bias is below 1e-15 for any count a condition can have)
    draw = torch.randint(2**62, (len(own),), device=own.device) % (math.prod(counts) - inside.long())
    draw = draw + (inside & (draw >= own_index)).long()
    digits = torch.stack([draw // stride % size for stride, size in zip(strides, counts, strict=True)], 1)  # (N, A)
    return values.gather(1, digits.T).T.to(own.dtype)

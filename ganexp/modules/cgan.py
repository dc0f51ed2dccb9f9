"""Conditional GAN: the condition joins z in G and enters D as the discriminator's `cond` says (expand, concat,
projection).

Matching-aware D (Reed et al. 2016, GAN-CLS): real images paired with a wrong condition are extra negatives, drawn
uniformly from the data's other conditions (`wrong_sampling=uniform`) or by shifting the batch (`shift`).
D's adversarial term becomes (L(real, fake) + w * L(real, wrong)) / (1 + w), which at w = 1 is GAN-CLS's
real + (fake + wrong) / 2 for any loss whose D term splits into a real part and a fake part.
"""

from typing import Literal

import torch
from torch import Tensor

from ganexp.errors import ConfigError
from ganexp.modules.base import GANModule
from ganexp.schedule import iterations_for_batches


class CGAN(GANModule):
    conditional = True

    def __init__(self, *args, wrong_weight: float, wrong_sampling: Literal["uniform", "shift", "none"],
                 uncond_epochs: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.wrong_weight, self.wrong_sampling = wrong_weight, wrong_sampling
        if wrong_weight > 0 and wrong_sampling == "uniform" and len(self.conditions) < 2:
            raise ConfigError(f"model.wrong_weight={wrong_weight} with wrong_sampling=uniform needs at least two "
                              f"distinct conditions in the data; it has {len(self.conditions)}")
        # uncond_epochs: the wrong-condition term waits until that many passes over the training images
        self.uncond_iters = iterations_for_batches(round(uncond_epochs * self.loop.batches_per_epoch), self.sched)

    def d_adversarial(self, real: Tensor, labels: Tensor, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        loss = self.loss.d_loss(real_scores, fake_scores)
        if self.wrong_weight == 0 or self.wrong_sampling == "none" or self.iteration < self.uncond_iters:
            return loss
        wrong = self.wrong_labels(labels) if self.wrong_sampling == "uniform" else self.shifted_labels(labels)
        wrong_scores = self.critic(real, wrong)
        self.track(**{"d/wrong": wrong_scores.mean()})
        return (loss + self.wrong_weight * self.loss.d_loss(real_scores, wrong_scores)) / (1 + self.wrong_weight)

    @staticmethod
    def shifted_labels(labels: Tensor) -> Tensor:
        """The batch's own labels rolled by a random offset (1..N-1): image i meets image i+k's condition, which may
        equal its own (as in the report that did this)."""
        offset = int(torch.randint(1, max(len(labels), 2), ()))
        return labels.roll(offset, 0)

    def wrong_labels(self, labels: Tensor) -> Tensor:
        """For each sample, a condition from the data other than its own, uniformly."""
        pool = self.conditions.to(labels.dtype)
        pick = torch.randint(len(pool), (len(labels),), device=labels.device)
        same = (pool[pick] == labels).all(1)
        # A draw equal to the sample's own condition moves to a uniformly chosen different one.
        shift = torch.randint(1, len(pool), (len(labels),), device=labels.device)
        pick = torch.where(same, (pick + shift) % len(pool), pick)
        return pool[pick]

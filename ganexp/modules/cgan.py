"""Conditional DCGAN: the condition joins z in G and enters D as `d_cond` says (expand, concat, projection).

Matching-aware D (Reed et al. 2016, GAN-CLS): real images paired with a wrong condition are extra negatives.
D's adversarial term becomes (L(real, fake) + w * L(real, wrong)) / (1 + w), which at w = 1 is GAN-CLS's
real + (fake + wrong) / 2 for any loss whose D term splits into a real part and a fake part.
"""

import torch
from torch import Tensor

from ganexp.modules.base import GANModule


class CGAN(GANModule):
    conditional = True

    def __init__(self, *args, wrong_weight: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.wrong_weight = wrong_weight

    def d_adversarial(self, real: Tensor, labels: Tensor, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        loss = self.loss.d_loss(real_scores, fake_scores)
        if self.wrong_weight == 0:
            return loss
        wrong_scores = self.critic(real, self.wrong_labels(labels))
        self.track(**{"d/wrong": wrong_scores.mean()})
        return (loss + self.wrong_weight * self.loss.d_loss(real_scores, wrong_scores)) / (1 + self.wrong_weight)

    def wrong_labels(self, labels: Tensor) -> Tensor:
        """For each sample, a condition from the data other than its own, uniformly."""
        pool = self.conditions.to(labels.dtype)
        if len(pool) < 2:
            raise ValueError("model.wrong_weight > 0 needs at least two distinct conditions in the data")
        pick = torch.randint(len(pool), (len(labels),), device=labels.device)
        same = (pool[pick] == labels).all(1)
        # A draw equal to the sample's own condition moves to a uniformly chosen different one.
        shift = torch.randint(1, len(pool), (len(labels),), device=labels.device)
        pick = torch.where(same, (pick + shift) % len(pool), pick)
        return pool[pick]

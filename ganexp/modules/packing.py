"""PacGAN's packing (Lin et al. 2018), as the part of GANModule that shapes what D judges.

D judges packs of `d_pack` samples, all real or all fake, joined along channels (images) or features (points,
conditions): sample j of pack p is sample p * d_pack + j of the batch. The batch of B samples makes B / d_pack
packs, so the images per step, the optimizer and the number of steps stay as they are. The reference code
(fjxmlzn/PacGAN, stacked_MNIST_experiments/VEEGAN_experiment/model.py: `tf.concat(self.G_sep, 3)`) draws
d_pack x batch samples instead, so that D sees `batch` packs: `data.batch_size=m*B` does the same here.
"""

from collections.abc import Callable

import torch
from torch import Tensor


class Packing:
    """D judges packs of `d_pack` samples (GANModule sets `d_pack` and `channels_last`)."""

    d_pack: int
    channels_last: bool

    def pack(self, x: Tensor) -> Tensor:
        """(B, C, ...) -> (B / d_pack, d_pack * C, ...)."""
        if self.d_pack == 1:
            return x
        packed = x.reshape(len(x) // self.d_pack, self.d_pack * x.shape[1], *x.shape[2:])
        return packed.contiguous(memory_format=torch.channels_last) if self.channels_last and x.dim() == 4 \
            else packed

    def unpack(self, x: Tensor) -> Tensor:
        """The inverse of `pack`: (B / d_pack, d_pack * C, ...) -> (B, C, ...)."""
        if self.d_pack == 1:
            return x
        return x.reshape(len(x) * self.d_pack, x.shape[1] // self.d_pack, *x.shape[2:])

    def per_sample(self, out: Tensor) -> Tensor:
        """A head's output for each pack, (B / d_pack, d_pack * K) -> (B, K): the head of a packed D predicts every
        member's label or code (AC-GAN's classifier, InfoGAN's Q), member j in the j-th block of K outputs."""
        return out.reshape(len(out) * self.d_pack, out.shape[1] // self.d_pack)

    def packed_critic(self, labels: Tensor | None) -> Callable[[Tensor], Tensor]:
        """D's score as a function of packed images: what a penalty differentiates, so that the gradient penalty
        and R1 take the norm of each pack's gradient (the pack is D's input) and mix real and fake packs whole."""
        return lambda packed: self.critic(self.unpack(packed), labels)

"""Unconditional DCGAN: the base loop as it is; labels in the batch are ignored."""

from ganexp.modules.base import GANModule


class DCGAN(GANModule):
    conditional = False

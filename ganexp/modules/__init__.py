"""GAN LightningModules: the shared loop (`base.GANModule`) and one small subclass per variant."""

from ganexp.modules.base import GANModule
from ganexp.modules.cgan import CGAN
from ganexp.modules.dcgan import DCGAN

__all__ = ["GANModule", "DCGAN", "CGAN"]

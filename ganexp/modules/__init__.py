"""GAN LightningModules: the shared loop (`base.GANModule`, itself the unconditional GAN) and one small subclass
per variant that says how the condition enters and which loss terms it adds."""

from ganexp.modules.acgan import ACGAN
from ganexp.modules.base import GANModule, Loop
from ganexp.modules.cgan import CGAN
from ganexp.modules.infogan import InfoGAN

__all__ = ["GANModule", "Loop", "CGAN", "ACGAN", "InfoGAN"]

"""GAN LightningModules: the shared loop (`base.GANModule`) and one small subclass per variant."""

from ganexp.modules.acgan import ACGAN
from ganexp.modules.base import GANModule
from ganexp.modules.cgan import CGAN
from ganexp.modules.dcgan import DCGAN
from ganexp.modules.infogan import InfoGAN
from ganexp.modules.toy import ToyGAN

__all__ = ["GANModule", "DCGAN", "CGAN", "ACGAN", "InfoGAN", "ToyGAN"]

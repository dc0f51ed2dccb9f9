"""The unconditional GAN on 2-D points: the base loop with MLP networks (`model=toy`, `data=toy_ring|toy_grid`)."""

from torch import nn

from ganexp.modules.base import GANModule
from ganexp.nets.mlp import MLPDiscriminator, MLPGenerator


class ToyGAN(GANModule):
    conditional = False
    samples = "points"

    def __init__(self, *args, hidden: int = 256, depth: int = 3, **kwargs):
        self.hidden, self.depth = hidden, depth  # read by the build_* hooks that the base __init__ calls
        super().__init__(*args, **kwargs)

    def build_generator(self, z_dim: int, image_size: int, channels: int, width: int) -> nn.Module:
        return MLPGenerator(z_dim, self.hidden, self.depth, out_dim=2)

    def build_discriminator(self, image_size: int, channels: int, width: int, norm: str, d_cond: str) -> nn.Module:
        return MLPDiscriminator(2, self.hidden, self.depth, norm if norm == "spectral" else "none")

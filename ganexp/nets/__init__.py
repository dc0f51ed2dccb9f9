"""Networks: DCGAN G/D (`dcgan`), ResNet G/D of SNGAN (`resnet`), MLP G/D for 2-D points (`mlp`), condition
encoders (`cond`). What GANModule needs of a G and a D is `Generator` and `Discriminator` below; a new network is a
class that keeps them and takes the constructor arguments `ganexp.build.build_module` completes it with."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor, nn


@runtime_checkable
class Generator(Protocol):
    """z (N, z_dim) and an encoded condition (N, cond_dim) or None -> samples. Built with `z_dim` from the model and
    `cond_dim` (0 unconditional) from `build_module`. `samples` ("images" or "points") must be what the data serves."""

    samples: str

    def __call__(self, z: Tensor, cond: Tensor | None = None) -> Tensor: ...


@runtime_checkable
class Discriminator(Protocol):
    """`features(x, cond)` -> (N, ...) of `feature_size` values a sample (DCGAN's 4x4 maps, ResNet's pooled vector),
    `score(h, cond)` -> (N,) or (N, 1); extra heads (AC-GAN's classes, InfoGAN's Q) read those features. Built with
    `cond_dim` (the condition's size times the pack), `pack` (PacGAN: inputs of pack x channels) and `norm` (the
    loss's choice when the config says auto)."""

    feature_size: int

    def features(self, x: Tensor, cond: Tensor | None = None) -> Tensor: ...

    def score(self, h: Tensor, cond: Tensor | None = None) -> Tensor: ...


GENERATOR_ARGS = ("cond_dim",)  # what build_module passes every G
DISCRIMINATOR_ARGS = ("cond_dim", "pack", "norm")  # ... and every D


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """`module` in eval mode (BatchNorm running statistics) without gradients, its mode restored afterwards."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield module
    finally:
        module.train(was_training)

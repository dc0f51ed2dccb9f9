"""DiffAugment (Zhao et al. 2020): differentiable augmentations applied to every image D sees, real and fake, in D's
and G's steps, so G's gradient passes through them. Follows mit-han-lab/data-efficient-gans
DiffAugment-biggan-cifar/DiffAugment_pytorch.py: `color` (brightness +-0.5, saturation x[0, 2], contrast
x[0.5, 1.5]), `translation` (up to 1/8 of the size, zero fill), `cutout` (a zeroed square of half the size), each
drawn per image."""

import torch
import torch.nn.functional as F
from torch import Tensor

from ganexp.errors import ConfigError


def _per_image(x: Tensor) -> Tensor:
    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device)


def color(x: Tensor) -> Tensor:
    x = x + (_per_image(x) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_per_image(x) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_per_image(x) + 0.5) + mean


def translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    n, _, h, w = x.shape
    shift_h, shift_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-shift_h, shift_h + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-shift_w, shift_w + 1, (n, 1, 1), device=x.device)
    # indices into the image padded by one zero pixel: a shift past the edge reads the zero border
    rows = (torch.arange(h, device=x.device)[None, :, None] + dy + 1).clamp(0, h + 1)
    cols = (torch.arange(w, device=x.device)[None, None, :] + dx + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
    return padded[torch.arange(n, device=x.device)[:, None, None], rows, cols].permute(0, 3, 1, 2).contiguous()


def cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    n, _, h, w = x.shape
    size_h, size_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    centre_h = torch.randint(0, h + (1 - size_h % 2), (n, 1, 1), device=x.device)
    centre_w = torch.randint(0, w + (1 - size_w % 2), (n, 1, 1), device=x.device)
    top, left = centre_h - size_h // 2, centre_w - size_w // 2
    rows, cols = torch.arange(h, device=x.device)[None, :, None], torch.arange(w, device=x.device)[None, None, :]
    inside = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)
    return x * (~inside).to(x.dtype)[:, None]


AUGMENTS = {"color": color, "translation": translation, "cutout": cutout}


class DiffAugment:
    """`augment=diffaug`: the policy's augmentations in the reference's order (color, translation, cutout)."""

    def __init__(self, policy: list[str]):
        unknown = [p for p in policy if p not in AUGMENTS]
        if unknown:
            raise ConfigError(f"augment.policy: unknown {unknown}; choose from {', '.join(AUGMENTS)}")
        self.policy = [p for p in AUGMENTS if p in policy]

    def __call__(self, x: Tensor) -> Tensor:
        for name in self.policy:
            x = AUGMENTS[name](x)
        return x

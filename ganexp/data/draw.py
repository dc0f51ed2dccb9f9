"""What the procedural renderers (faces, shapes) share: rendering in cache-sized chunks, and a box's signed
distance. Every shape is a signed distance on a pixel grid whose edge is anti-aliased analytically."""

from collections.abc import Callable

import torch
from torch import Tensor

_CHUNK_PIXELS = 1 << 18  # images per chunk = this / pixels per image: keeps the working set in cache


def render_chunks(labels: Tensor, nuisance: dict[str, Tensor], image_size: int,
                  draw: Callable[[Tensor, dict[str, Tensor], int], Tensor]) -> Tensor:
    """uint8 (N, 3, S, S) from `draw(labels, nuisance, size)` applied to chunks of images that fit in cache."""
    out = torch.empty(len(labels), 3, image_size, image_size, dtype=torch.uint8)
    step = max(1, _CHUNK_PIXELS // image_size**2)
    threads = torch.get_num_threads()
    # Hundreds of small elementwise ops: a second thread gains little, and while another process keeps the cores
    # busy, thread hand-offs made rendering 10-60x slower (measured on the 2-core dev machine).
    torch.set_num_threads(1)
    try:
        for start in range(0, len(labels), step):
            part = slice(start, start + step)
            out[part] = draw(labels[part], {k: v[part] for k, v in nuisance.items()}, image_size)
    finally:
        torch.set_num_threads(threads)
    return out


def box(x: Tensor, y: Tensor, x0: float | Tensor, y0: float | Tensor, half_w: float | Tensor,
        half_h: float | Tensor) -> Tensor:
    """Signed distance to an axis-aligned box, exact outside along the axes (enough for a one-pixel edge ramp)."""
    return torch.maximum((x - x0).abs() - half_w, (y - y0).abs() - half_h)

"""Procedural anime-style faces: the built-in stand-in for the anime-faces data with hair/eye colour tags.

Hair and eye colours are the attributes; position, scale, hair style, skin jitter and background are nuisance
variation, so a generator has to learn both colour and shape. Drawn on coordinate grids for a whole chunk of
images at once (no per-pixel Python), at 2x resolution then average-pooled for smooth edges. Deterministic in
(labels, image_size, seed). `python -m ganexp.data.faces --out faces.png` saves a grid to look at.
"""

import argparse

import torch
import torch.nn.functional as F
from torch import Tensor

HAIR_COLOURS = ("orange", "white", "aqua", "gray", "green", "red", "purple", "pink", "blue", "black", "brown", "blonde")
EYE_COLOURS = ("black", "orange", "pink", "yellow", "aqua", "purple", "green", "brown", "red", "blue")
FACE_COLOURS = ("light", "tan", "dark")
GLASSES = ("none", "glasses")

HAIR_RGB = torch.tensor([
    (245, 135, 25), (245, 245, 245), (50, 215, 215), (135, 135, 140), (45, 165, 55), (215, 25, 35),
    (125, 45, 180), (250, 135, 190), (35, 75, 220), (25, 25, 30), (115, 65, 25), (245, 220, 110),
], dtype=torch.float32)
EYE_RGB = torch.tensor([
    (40, 30, 30), (240, 130, 20), (245, 110, 175), (240, 220, 30), (40, 210, 210), (140, 55, 205),
    (35, 170, 55), (125, 70, 30), (215, 20, 30), (35, 85, 235),
], dtype=torch.float32)
SKIN_RGB = torch.tensor([(255, 224, 200), (222, 176, 136), (148, 98, 68)], dtype=torch.float32)
# Muted backgrounds, far from every hair colour in hue or lightness, so hair stays the dominant attribute.
BACKGROUND_RGB = torch.tensor([(190, 205, 225), (215, 200, 170), (180, 210, 185), (205, 185, 205), (105, 115, 135)],
                              dtype=torch.float32)
HAIR_STYLES = 4  # short, long, twin tails, bob
CHUNK = 1024


def sample_labels(n: int, seed: int, hair: int = 12, eyes: int = 10, face: int = 3, glasses: int = 2) -> Tensor:
    """long (N, 4) of (hair, eye, face colour, glasses), uniform over the first k values of each (k=1: constant)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(k, (n,), generator=gen) for k in (hair, eyes, face, glasses)], 1)


def render_faces(labels: Tensor, image_size: int, seed: int) -> Tensor:
    """uint8 (N, 3, S, S) faces for labels (N, 4) = (hair, eye, face colour, glasses)."""
    gen = torch.Generator().manual_seed(seed + 7919)
    chunks = [_render(chunk, image_size, gen) for chunk in labels.split(CHUNK)]
    return torch.cat(chunks) if chunks else torch.empty(0, 3, image_size, image_size, dtype=torch.uint8)


def _ellipse(u: Tensor, v: Tensor, cx: Tensor, cy: Tensor, rx: Tensor, ry: Tensor) -> Tensor:
    return ((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2 <= 1


def _paint(image: Tensor, mask: Tensor, rgb: Tensor) -> Tensor:
    """Set the pixels of `mask` (N, H, W) to `rgb` (N, 3) or an (N, 3, H, W) field."""
    colour = rgb[:, :, None, None] if rgb.dim() == 2 else rgb
    return torch.where(mask[:, None], colour, image)


def _render(labels: Tensor, image_size: int, gen: Tensor) -> Tensor:
    n, size = len(labels), 2 * image_size  # supersampled

    def uniform(lo: float, hi: float, *shape: int) -> Tensor:
        return lo + (hi - lo) * torch.rand(n, *shape, generator=gen)

    coords = (torch.arange(size, dtype=torch.float32) + 0.5) / size * 2 - 1
    v, u = coords[None, :, None], coords[None, None, :]  # v down, u right, both in [-1, 1]
    s = uniform(0.78, 0.95)[:, None, None]  # face scale
    cx, cy = uniform(-0.08, 0.08)[:, None, None], uniform(-0.12, 0.02)[:, None, None]
    style = torch.randint(HAIR_STYLES, (n,), generator=gen)[:, None, None]
    hair_rgb = HAIR_RGB[labels[:, 0]] * uniform(0.92, 1.06, 1)
    skin_rgb = (SKIN_RGB[labels[:, 2]] + uniform(-8, 8, 1)).clamp(0, 255)
    background = BACKGROUND_RGB[torch.randint(len(BACKGROUND_RGB), (n,), generator=gen)] + uniform(-12, 12, 3)

    image = background[:, :, None, None].expand(n, 3, size, size).clone()
    # Hair behind the face, by style.
    long_back = _ellipse(u, v, cx, cy + 0.25 * s, 0.74 * s, 0.9 * s) & (style == 1)
    tails = (_ellipse(u, v, cx - 0.78 * s, cy + 0.35 * s, 0.2 * s, 0.5 * s)
             | _ellipse(u, v, cx + 0.78 * s, cy + 0.35 * s, 0.2 * s, 0.5 * s)) & (style == 2)
    bob = _ellipse(u, v, cx, cy + 0.1 * s, 0.72 * s, 0.66 * s) & (v < cy + 0.42 * s) & (style == 3)
    back = long_back | tails | bob
    # A little shading from top to bottom, so hair is not a flat patch.
    shade = (1.08 - 0.18 * (v - cy + 0.6 * s) / (1.6 * s)).clamp(0.85, 1.1)[:, None]
    hair_field = (hair_rgb[:, :, None, None] * shade).clamp(0, 255)
    image = _paint(image, back, hair_field)

    face = _ellipse(u, v, cx, cy + 0.12 * s, 0.52 * s, 0.6 * s)
    image = _paint(image, face, skin_rgb)
    # Front hair: a cap over the head whose lower edge is jagged bangs (straight for the bob).
    cap = _ellipse(u, v, cx, cy - 0.1 * s, 0.64 * s, 0.56 * s)
    jag = 0.06 * s * torch.cos(9 * (u - cx) / s).abs()
    bang_line = torch.where(style == 3, cy - 0.1 * s, cy - 0.05 * s - jag)
    side_locks = ((u - cx).abs() > 0.42 * s) & (v < cy + 0.3 * s) & _ellipse(u, v, cx, cy, 0.6 * s, 0.9 * s)
    front = (cap & (v < bang_line)) | (side_locks & (style != 0))
    image = _paint(image, front, hair_field)
    figure = back | face | front
    # Dark line art around the figure (dilated mask minus mask).
    outline = (F.max_pool2d(figure[:, None].float(), 3, 1, 1)[:, 0] > 0) & ~figure
    image = _paint(image, outline, torch.full((n, 3), 40.0))

    # Large anime eyes: white, coloured iris, dark pupil, white highlight.
    eye_y = cy + 0.16 * s
    iris_rgb = EYE_RGB[labels[:, 1]]
    for side in (-1, 1):
        ex = cx + side * 0.22 * s
        image = _paint(image, _ellipse(u, v, ex, eye_y, 0.15 * s, 0.19 * s), torch.full((n, 3), 250.0))
        image = _paint(image, _ellipse(u, v, ex, eye_y + 0.02 * s, 0.12 * s, 0.16 * s), iris_rgb)
        image = _paint(image, _ellipse(u, v, ex, eye_y + 0.04 * s, 0.05 * s, 0.07 * s), torch.full((n, 3), 15.0))
        image = _paint(image, _ellipse(u, v, ex - 0.05 * s, eye_y - 0.06 * s, 0.035 * s, 0.035 * s),
                       torch.full((n, 3), 255.0))
        rim = (_ellipse(u, v, ex, eye_y, 0.21 * s, 0.24 * s) & ~_ellipse(u, v, ex, eye_y, 0.17 * s, 0.2 * s))
        image = _paint(image, rim & (labels[:, 3] == 1)[:, None, None], torch.full((n, 3), 20.0))
    bridge = ((u - cx).abs() < 0.05 * s) & ((v - eye_y).abs() < 0.02 * s) & (labels[:, 3] == 1)[:, None, None]
    image = _paint(image, bridge, torch.full((n, 3), 20.0))
    mouth = _ellipse(u, v, cx, cy + 0.48 * s, 0.08 * s, 0.03 * s)
    image = _paint(image, mouth, torch.tensor([170.0, 40, 50]).expand(n, 3))

    return F.avg_pool2d(image, 2).round().clamp(0, 255).to(torch.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description="Save a grid of faces: one row per hair colour.")
    parser.add_argument("--out", default="faces.png")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from torchvision.utils import save_image

    labels = sample_labels(12 * 10, args.seed)
    labels[:, 0] = torch.arange(12).repeat_interleave(10)
    labels[:, 1] = torch.arange(10).repeat(12)
    save_image(render_faces(labels, args.size, args.seed).float() / 255, args.out, nrow=10, padding=1)
    print(f"rows: {', '.join(HAIR_COLOURS)} hair; columns: {', '.join(EYE_COLOURS)} eyes -> {args.out}")


if __name__ == "__main__":
    main()

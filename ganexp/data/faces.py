"""Procedural cartoon anime-style faces: the built-in stand-in for the anime-faces data with hair/eye colour tags.

Hair and eye colour (plus Cartoon-Set-style face colour and glasses) are the attributes; position, scale, hair
style, bangs, background and skin jitter are nuisances, so a generator has to learn both colour and shape.
Every shape is a signed distance on a pixel grid, broadcast over a chunk of images, and its edge is anti-aliased
analytically (coverage = distance clamped to one pixel), which costs 4x less than supersampling.
Nuisances depend only on (seed, image index), never on labels: two batches that differ in one label differ only
where that attribute is drawn. Hair style and bangs are also the data's *looks* (`sample_looks`): labels the
evaluator learns, so that it sees hair shapes collapse, but never a condition of G or D.
`python -m ganexp.data.faces --out faces.png` saves a grid to look at.
"""

import argparse

import torch
from torch import Tensor

from ganexp.data.draw import box, render_chunks

HAIR_COLOURS = ("orange", "white", "aqua", "gray", "green", "red", "purple", "pink", "blue", "black", "brown", "blonde")
EYE_COLOURS = ("black", "orange", "pink", "yellow", "aqua", "purple", "green", "brown", "red", "blue")
FACE_COLOURS = ("light", "tan", "dark")
GLASSES = ("none", "glasses")

# Palettes chosen to be far apart pairwise (white/gray/blonde/orange differ in lightness or blue), and far from
# the skin tones and the muted backgrounds, so the attribute reads at a glance even at 32 px.
HAIR_RGB = torch.tensor([
    (245, 130, 25), (246, 246, 250), (40, 215, 215), (128, 128, 136), (45, 165, 55), (215, 25, 35),
    (130, 50, 190), (250, 135, 195), (35, 75, 220), (28, 26, 34), (110, 60, 25), (248, 222, 100),
], dtype=torch.float32)
EYE_RGB = torch.tensor([
    (40, 32, 38), (245, 130, 20), (245, 105, 175), (240, 215, 30), (30, 205, 215), (145, 55, 210),
    (35, 170, 55), (130, 72, 30), (215, 20, 30), (35, 80, 235),
], dtype=torch.float32)
SKIN_RGB = torch.tensor([(255, 226, 206), (226, 172, 128), (150, 98, 66)], dtype=torch.float32)
LINE_RGB = torch.tensor([32.0, 24, 32])  # eyelashes and glasses frames
MOUTH_RGB = torch.tensor([180.0, 60, 70])
STYLES = ("short cap", "long with side locks", "spiky", "twin tails")  # hair style, a nuisance and a look
BANGS = ("arched", "jagged", "parted")
_DRAWS = 32  # uniforms per image; 28 used, new nuisances go at the end so existing data sets stay the same


def sample_labels(n: int, seed: int, hair: int = 12, eyes: int = 10, face: int = 3, glasses: int = 2) -> Tensor:
    """long (N, 4) of (hair, eye, face colour, glasses), uniform over the first k values of each (k=1: constant)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(k, (n,), generator=gen) for k in (hair, eyes, face, glasses)], 1)


def sample_looks(n: int, seed: int) -> Tensor:
    """long (N, 2) of (hair style, bangs): what `render_faces(labels, size, seed)` draws for images 0..N-1."""
    nuisance = _nuisance(n, seed)
    return torch.cat([nuisance["style"], nuisance["bangs"]], 1).view(n, 2)


def render_faces(labels: Tensor, image_size: int, seed: int) -> Tensor:
    """uint8 (N, 3, S, S) faces for long labels (N, 4) = (hair, eye, face colour, glasses); deterministic."""
    labels = labels.long().cpu()
    return render_chunks(labels, _nuisance(len(labels), seed), image_size, _draw)


def _nuisance(n: int, seed: int) -> dict[str, Tensor]:
    """Per-image random pose, style and colour jitter, (N, 1, 1, 1) or (N, 3, 1, 1), in face units (1 = width/2).

    One row of uniforms per image, so image i is the same whatever N is (a larger data set extends a smaller one).
    """
    # Not the stream sample_labels(seed) uses: the data set passes one seed to both, and labels must not track pose.
    gen = torch.Generator().manual_seed((seed * 0x9E3779B1 + 0x7F4A7C15) % 2**32)  # torch seeds use 32 bits
    draws = iter(torch.rand(n, _DRAWS, generator=gen).T[:, :, None, None, None])

    def uniform(lo: float, hi: float, channels: int = 1) -> Tensor:
        return lo + (hi - lo) * torch.cat([next(draws) for _ in range(channels)], 1)

    def choice(k: int) -> Tensor:
        return (next(draws) * k).long()

    return {
        "cx": uniform(-0.07, 0.07), "cy": uniform(0.0, 0.1), "scale": uniform(0.85, 1.0),
        "style": choice(len(STYLES)), "bangs": choice(len(BANGS)), "bang_phase": uniform(0, 1),
        "part": uniform(-0.3, 0.3), "cut": uniform(0.12, 0.42), "tail_y": uniform(0.1, 0.4),
        "eye_x": uniform(0.22, 0.255), "eye_y": uniform(0.1, 0.15), "eye_size": uniform(0.95, 1.08),
        "mouth_y": uniform(0.44, 0.5), "mouth_w": uniform(0.05, 0.08),
        "bg_hue": uniform(0, 1), "bg_sat": uniform(0.12, 0.32), "bg_val": uniform(0.62, 0.88),
        "skin_gain": uniform(0.95, 1.04), "skin_shift": uniform(-6, 6, 3),
        "hair_gain": uniform(0.93, 1.05), "hair_shift": uniform(-8, 8, 3), "eye_shift": uniform(-8, 8, 3),
    }


def _hsv_to_rgb(h: Tensor, s: Tensor, v: Tensor) -> Tensor:
    """(N, 1, 1, 1) each in [0, 1] -> (N, 3, 1, 1) in [0, 255]."""
    k = (torch.tensor([5.0, 3, 1]).view(1, 3, 1, 1) + 6 * h) % 6
    return 255 * (v - v * s * (torch.minimum(k, 4 - k)).clamp(0, 1))


def _ellipse(x: Tensor, y: Tensor, x0: float | Tensor, y0: float | Tensor, a: float | Tensor,
             b: float | Tensor) -> Tensor:
    """Approximate signed distance (face units, negative inside); the x and y terms are broadcast only once."""
    q = ((x - x0) / a) ** 2 + ((y - y0) / b) ** 2
    return (q.sqrt_() - 1) * torch.minimum(torch.as_tensor(a), torch.as_tensor(b))


def _tri(t: Tensor) -> Tensor:
    """Triangle wave in [0, 1] with period 1: 0 at integers (spike tips)."""
    return 2 * (t - t.floor() - 0.5).abs()


def _draw(labels: Tensor, p: dict[str, Tensor], size: int) -> Tensor:
    n = len(labels)
    grid = (torch.arange(size, dtype=torch.float32) + 0.5) * (2 / size) - 1
    x = (grid.view(1, 1, 1, size) - p["cx"]) / p["scale"]  # face units, x right, (n, 1, 1, S)
    y = (grid.view(1, 1, size, 1) - p["cy"]) / p["scale"]  # face units, y down, (n, 1, S, 1)
    px = p["scale"] * size / 2  # pixels per face unit
    line = (0.022 * px).clamp(min=0.6)  # outline width in pixels: about one pixel at 32 px, thicker when larger
    background = _hsv_to_rgb(p["bg_hue"], p["bg_sat"], p["bg_val"])
    image = (background * (1.06 - 0.12 * (grid.view(1, 1, size, 1) + 1) / 2)).expand(n, 3, size, size).contiguous()

    def cover(dist: Tensor, grow: Tensor | float = 0.0) -> Tensor:
        return (0.5 + grow - dist * px).clamp_(0, 1)

    def paint(dist: Tensor, colour: Tensor, outline: Tensor | None = None) -> None:
        if outline is not None:  # a darker rim just outside the shape, like anime line art
            image.lerp_(outline, cover(dist, line))
        image.lerp_(colour, cover(dist))

    style, bangs = p["style"], p["bangs"]
    hair = (HAIR_RGB[labels[:, 0]].view(n, 3, 1, 1) * p["hair_gain"] + p["hair_shift"]).clamp(0, 255)
    # Shading: slightly darker towards the ends, plus a light "angel ring" band, added so black hair shows it too.
    hair_field = hair * (1.04 - 0.12 * ((y + 0.6) / 1.5).clamp(0, 1)) + 40 * torch.exp(-(((y + 0.5) / 0.05) ** 2))
    hair_line = hair * 0.45
    skin = (SKIN_RGB[labels[:, 2]].view(n, 3, 1, 1) * p["skin_gain"] + p["skin_shift"]).clamp(0, 255)

    # Hair behind the head: long (flaring a little downwards) or twin tails; the far-away distance hides the rest.
    ax = x.abs()
    long_back = torch.maximum(ax - 0.64 - 0.1 * y.clamp(0, 1), (y - 0.55).abs() - 0.85)  # top hides under the cap
    tails = _ellipse(ax, y, 0.74, p["tail_y"], 0.2, 0.55)
    back = torch.where(style == 1, long_back, torch.where(style == 3, tails, torch.full_like(long_back, 9.0)))
    paint(back, hair_field, hair_line)
    paint(box(x, y, 0, 0.75, 0.15, 0.3), skin * 0.85, skin * 0.6)  # neck
    # Face: an ellipse whose lower half narrows towards a soft anime chin.
    face_y = 0.12
    face = _ellipse(x / (1 - 0.28 * ((y - face_y) / 0.6).clamp(0, 1)), y, 0, face_y, 0.5, 0.6)
    paint(face, skin, skin * 0.6)

    # Front hair: a cap over the head, cut at `cut`, leaving the face below the bangs line uncovered.
    spikes = 0.12 * (1 - _tri(torch.atan2(y + 0.1, x) * (7 / torch.pi) + p["bang_phase"])) * (y < -0.2)
    cap = _ellipse(x, y, 0, -0.1, 0.68, 0.66) - spikes * (style == 2)
    bang_line = torch.where(bangs == 0, -0.14 + 0.2 * x**2,
                            torch.where(bangs == 1, -0.05 - 0.14 * _tri(4 * x + p["bang_phase"]),
                                        -0.1 - 0.5 * (0.25 - (x - p["part"]).abs()).clamp(min=0)))
    open_face = torch.maximum(face, bang_line - y)
    front = torch.maximum(torch.maximum(cap, -open_face), y - p["cut"])
    locks = box(ax, y, 0.5, 0.3, 0.1 - 0.07 * ((y - 0.1) / 0.7).clamp(0, 1), 0.5)  # tapering towards the tips
    front = torch.minimum(front, torch.where((style == 1) | (style == 3), locks, torch.full_like(locks, 9.0)))
    paint(front, hair_field, hair_line)

    # Eyes: a lash line thicker on top, white, iris darker at the top, pupil, highlight on the same side in both.
    ex = x - torch.sign(x) * p["eye_x"]  # x from the nearer eye's centre: both eyes in one pass
    ey = y - p["eye_y"]
    k = p["eye_size"]
    iris = (EYE_RGB[labels[:, 1]].view(n, 3, 1, 1) + p["eye_shift"]).clamp(0, 255)
    white = _ellipse(ex, ey, 0, 0, 0.16 * k, 0.18 * k)
    paint(_ellipse(ex, ey, 0, -0.025 * k, 0.185 * k, 0.19 * k), LINE_RGB.view(1, 3, 1, 1))
    paint(white, torch.full((1, 3, 1, 1), 250.0))
    iris_field = iris * (0.62 + 0.5 * ((ey + 0.12 * k) / (0.3 * k)).clamp(0, 0.76))
    paint(torch.maximum(_ellipse(ex, ey, 0, 0.02 * k, 0.125 * k, 0.16 * k), white), iris_field)
    paint(_ellipse(ex, ey, 0, 0.03 * k, 0.055 * k, 0.075 * k), iris * 0.22)
    paint(_ellipse(ex, ey, 0.045 * k, -0.05 * k, 0.04 * k, 0.045 * k), torch.full((1, 3, 1, 1), 255.0))
    paint(_ellipse(x, y, 0, p["mouth_y"], p["mouth_w"], 0.035), MOUTH_RGB.view(1, 3, 1, 1))

    # Glasses: rounded-rectangle lenses with a faint shine, a dark frame and a bridge; absent ones are moved away.
    away = 9.0 * (labels[:, 3] == 0).view(n, 1, 1, 1)
    lens = ((ex / 0.215) ** 4 + ((ey + 0.015) / 0.235) ** 4).pow_(0.25).sub_(1).mul_(0.215).add_(away)
    image.lerp_(torch.full((1, 3, 1, 1), 255.0), 0.15 * cover(lens))
    frame_width = (0.02 * px).clamp(min=0.6) / px  # at least about a pixel wide at 32 px
    bridge = box(x, y, 0, p["eye_y"] - 0.03, 0.05, 0.0)
    paint(torch.minimum(lens.abs(), bridge + away) - frame_width, LINE_RGB.view(1, 3, 1, 1))
    return image.round_().clamp_(0, 255).to(torch.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description="Save a grid of faces: one row per hair colour, named on the left.")
    parser.add_argument("--out", default="faces.png")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--extras", action="store_true", help="random face colour and glasses (data=faces has neither)")
    args = parser.parse_args()
    import numpy as np
    from PIL import Image, ImageDraw
    from torchvision.utils import make_grid, save_image

    cols = len(EYE_COLOURS)
    labels = sample_labels(len(HAIR_COLOURS) * cols, args.seed)
    labels[:, 0] = torch.arange(len(HAIR_COLOURS)).repeat_interleave(cols)
    labels[:, 1] = torch.arange(cols).repeat(len(HAIR_COLOURS))
    if not args.extras:
        labels[:, 2:] = 0
    grid = make_grid(render_faces(labels, args.size, args.seed).float() / 255, nrow=cols, padding=1)
    names = Image.new("RGB", (48, grid.shape[1]), "white")
    for row, name in enumerate(HAIR_COLOURS):
        ImageDraw.Draw(names).text((2, row * (args.size + 1) + args.size // 2 - 4), name, fill="black")
    names_tensor = torch.from_numpy(np.asarray(names).copy()).permute(2, 0, 1).float() / 255
    save_image(torch.cat([names_tensor, grid], 2), args.out)
    print(f"rows: hair colours; columns: {', '.join(EYE_COLOURS)} eyes -> {args.out}")

if __name__ == "__main__":
    main()

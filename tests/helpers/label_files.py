"""Small label files and images of each user file format, with known colours and labels."""

import json
from pathlib import Path

import torch
from PIL import Image

from ganexp.data.faces import EYE_COLOURS, HAIR_COLOURS
from ganexp.data.files import AnimeTags

COLOURS = [(220, 30, 30), (30, 200, 40), (40, 60, 230), (240, 220, 40), (150, 40, 190), (20, 200, 200)]
EDGE = (0, 0, 0)  # the left and right columns of a 12x10 image: centre-cropping to 10x10 must cut them off


def save_image(path: Path, rgb: tuple[int, int, int]) -> None:
    """A 12 wide x 10 high image of `rgb`; lossless ones get EDGE first and last columns, so only a centre crop is
    solid (JPEG would smear the edges into the middle)."""
    img = Image.new("RGB", (12, 10), rgb)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jpg":
        img.save(path, quality=100)
        return
    for y in range(10):
        img.putpixel((0, y), EDGE)
        img.putpixel((11, y), EDGE)
    img.save(path)


def assert_colour(image: torch.Tensor, rgb: tuple[int, int, int], atol: int = 0) -> None:
    """Every pixel of a uint8 (3, S, S) image is `rgb` (JPEG fixtures get a small tolerance)."""
    expected = torch.tensor(rgb, dtype=torch.float32).view(3, 1, 1).expand_as(image)
    torch.testing.assert_close(image.float(), expected, atol=atol, rtol=0)


def hair(name: str) -> int:
    return HAIR_COLOURS.index(name)


def eyes(name: str) -> int:
    return EYE_COLOURS.index(name)


# Hand-worked: "long hair" (count 500), "multicolored hair", "bicolored eyes", "short hair", "twintails" never count.
TAGS_CLEAN = [
    "0,blue hair:100\tlong hair:500\tred eyes:20\t",  # exact: kept; top: kept (long hair is not a colour)
    "1,blue hair:10\tpink hair:30\tgreen eyes:5",  # exact: two hair colours, dropped; top: pink, green
    "2,blonde hair:7\tshort hair:9",  # no eye colour: dropped by both
    "3,multicolored hair:50\taqua hair:3\tbicolored eyes:9\tyellow eyes:4\t",  # both: aqua, yellow
    "4,red hair:5\tblack hair:5\tblue eyes:2\tbrown eyes:2",  # exact: dropped; top: ties go first -> red, blue
    "5,twintails:3\tsmile:2",  # nothing: dropped by both
]


def anime_tags(root: str, **settings) -> AnimeTags:
    """The loader with conf/data/anime.yaml's settings at 8 px, changed by `settings`."""
    return AnimeTags(root, **{"image_size": 8, "format": "tags_clean", "policy": "exact", **settings})


def write_anime(root: Path, lines: list[str], ids: range = range(6)) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "tags_clean.csv").write_text("\n".join(lines) + "\n")
    for i in ids:
        save_image(root / "faces" / f"{i}.jpg", COLOURS[i])


# -------------------------------------------------------------------------------------------------------- cartoon
ATTR_HEADER = ["3", "hair_0 hair_1 hair_2 eye_0 eye_1 glasses_0 glasses_1"]
ATTR_ROWS = ["a.png 0 0 1 1 0 0 1", "b.png 1 0 0 0 1 1 0", "c.png  0 1 0\t0 1 1 0"]


def write_cartoon(root: Path, rows: list[str] = ATTR_ROWS, header: list[str] = ATTR_HEADER) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cartoon_attr.txt").write_text("\n".join(header + rows) + "\n")
    save_image(root / "a.png", COLOURS[0])
    save_image(root / "images" / "b.png", COLOURS[1])  # not at the root: found in images/
    save_image(root / "c.png", COLOURS[2])


# --------------------------------------------------------------------------------------------------------- iCLEVR
OBJECTS = {"gray cube": 0, "red sphere": 1, "blue cylinder": 2}


def write_iclevr(root: Path, train: dict[str, list[str]]) -> None:
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "objects.json").write_text(json.dumps(OBJECTS))
    (root / "train.json").write_text(json.dumps(train))
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))  # top half transparent
    for y in range(5, 10):
        for x in range(10):
            rgba.putpixel((x, y), (200, 0, 0, 255) if y > 5 else (0, 0, 0, 128))
    rgba.save(root / "images" / "a.png")
    Image.new("RGBA", (10, 10), (0, 150, 0, 255)).save(root / "b.png")  # not in images/: found at the root

"""Whole data folders in each user file format (anime tags, Cartoon Set, i-CLEVR, a plain folder), big enough for a
smoke run."""

import json
from pathlib import Path

import torch
from PIL import Image

N = 40  # smoke runs: batches of 16 after 8 held out
HAIR = ["blue", "red", "green", "blonde"]
EYES = ["red", "blue", "aqua"]


def image(path: Path, i: int, mode: str = "RGB") -> None:
    """A 20x20 picture whose colour depends on i, with a darker square that moves with i."""
    gen = torch.Generator().manual_seed(i)
    colour = tuple(int(c) for c in torch.randint(40, 255, (3,), generator=gen))
    img = Image.new(mode, (20, 20), colour + ((255,) if mode == "RGBA" else ()))
    for x in range(4 + i % 8, 10 + i % 8):
        for y in range(6, 12):
            img.putpixel((x, y), tuple(c // 3 for c in colour) + ((255,) if mode == "RGBA" else ()))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def anime(root: Path) -> None:
    lines = []
    for i in range(N):
        lines.append(f"{i},{HAIR[i % 4]} hair:{i + 1}\tlong hair:9\t{EYES[i % 3]} eyes:3\t")
        image(root / "faces" / f"{i}.jpg", i)
    (root / "tags_clean.csv").write_text("\n".join(lines) + "\n")


def cartoon_set(root: Path) -> None:
    names = "hair_0 hair_1 glasses_0 glasses_1".split()
    rows = [f"c{i}.png " + " ".join(["1 0", "0 1"][i % 2] + " " + ["1 0", "0 1"][i // 2 % 2]) for i in range(N)]
    (root).mkdir(parents=True, exist_ok=True)
    (root / "cartoon_attr.txt").write_text(f"{N}\n{' '.join(names)}\n" + "\n".join(rows) + "\n")
    for i in range(N):
        image(root / f"c{i}.png", i)


def iclevr(root: Path) -> None:
    objects = {f"{c} {s}": 3 * k + j for k, c in enumerate(["red", "blue"]) for j, s in enumerate(["cube", "sphere",
                                                                                                    "cylinder"])}
    names = sorted(objects, key=objects.get)
    train_sets = {f"i{i}.png": [names[i % 6], names[(i + 1) % 6]][: 1 + i % 2] for i in range(N)}
    root.mkdir(parents=True, exist_ok=True)
    (root / "objects.json").write_text(json.dumps(objects))
    (root / "train.json").write_text(json.dumps(train_sets))
    (root / "test.json").write_text(json.dumps([[names[0]], [names[1], names[2]]]))
    for i in range(N):
        image(root / "images" / f"i{i}.png", i, "RGBA")


def folder(root: Path) -> None:
    for i in range(N):
        image(root / ("a" if i % 2 else "b") / f"{i}.png", i)

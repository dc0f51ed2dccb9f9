"""The user-file data options run end to end: `python run.py data=<format> data.root=<folder>` trains on a small
fixture of each real format, and a broken file stops the run at start-up naming the file and line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import ROOT, make_config
from PIL import Image

from ganexp.train import main as train

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


FORMATS = {"anime": anime, "cartoon_set": cartoon_set, "iclevr": iclevr, "folder": folder}


@pytest.mark.parametrize("data", sorted(FORMATS))
def test_smoke_run_on_each_user_file_format(data, tmp_path, monkeypatch):
    root = tmp_path / "data"
    FORMATS[data](root)
    monkeypatch.chdir(tmp_path)
    model = "model=dcgan" if data == "folder" else "model=cgan"
    cfg = make_config("debug=smoke", model, f"data={data}", f"data.root={root}", "data.holdout=8")
    train(cfg)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["iterations"] == 8
    if data == "iclevr":
        assert {"acc/cond", "acc/test"} <= set(metrics["final"])  # the multi-label rule, on train and test.json


def test_a_broken_tag_file_stops_the_run_naming_file_and_line(tmp_path):
    root = tmp_path / "data"
    anime(root)
    lines = (root / "tags_clean.csv").read_text().splitlines()
    lines[6] = "6 blue hair red eyes"  # no comma after the id
    (root / "tags_clean.csv").write_text("\n".join(lines) + "\n")
    out = subprocess.run([sys.executable, str(ROOT / "run.py"), "debug=smoke", "model=cgan", "data=anime",
                          f"data.root={root}", f"hydra.run.dir={tmp_path / 'run'}"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith(f"error: {root / 'tags_clean.csv'} line 7")
    assert not (tmp_path / "run" / "status.json").exists()  # stopped before the run folder was touched


def test_missing_root_is_a_config_error():
    with pytest.raises(Exception, match="root"):
        from ganexp.build import build_data

        build_data(make_config("debug=smoke", "data=folder"))

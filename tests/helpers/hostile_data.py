"""Hostile-suite rows: the user's own data files (anime, cartoon_set, iclevr, folder, fashion_mnist): missing, empty,
malformed, odd encodings and images, nesting. Each stops before the run folder is touched, naming the file (and line).

The one table of bad inputs (see tests/helpers/hostile.py); the readers' own function-level checks stay in
tests/unit/test_files.py and tests/unit/test_fashion_mnist_files.py. What is accepted instead (a UTF-8 or UTF-16
byte-order mark, CRLF or CR line ends, blank lines, trailing blanks, grey, palette, CMYK, 16-bit and 1x1 images,
hidden files) is tested in tests/unit/test_files.py and tests/unit/test_files_accepted.py.
"""

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from helpers.fashion_files import N_TEST, write_fashion
from helpers.format_folders import anime, cartoon_set, folder, iclevr
from helpers.hostile import Ctx, process_case, run_case

ANIME = ("model=cgan", "data=anime", "data.root={root}", "data.holdout=8")
EXTRA = (*ANIME, "data.source.format=extra")
CARTOON = ("model=cgan", "data=cartoon_set", "data.root={root}", "data.holdout=8")
ICLEVR = ("model=cgan", "data=iclevr", "data.root={root}", "data.holdout=8")
FOLDER = ("data=folder", "data.root={root}", "data.holdout=8")
Setup = Callable[[Ctx], None]


def written(make: Callable[[Path], None] | None, name: str, content: str | bytes) -> Setup:
    """Setup: the fixture `make` (None: an empty data folder), then `name` under it holding `content`."""
    def setup(ctx: Ctx) -> None:
        make(ctx.root) if make else ctx.root.mkdir(parents=True)
        path = ctx.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return setup


def lines_changed(make: Callable[[Path], None], name: str, change: Callable[[list[str]], None]) -> Setup:
    """Setup: the fixture `make`, then the lines of text file `name` changed in place by `change`."""
    def setup(ctx: Ctx) -> None:
        make(ctx.root)
        path = ctx.root / name
        lines = path.read_text().splitlines()
        change(lines)
        path.write_text("\n".join(lines) + "\n")
    return setup


def recoded(make: Callable[[Path], None], name: str, encoding: str) -> Setup:
    """Setup: the fixture `make`, then text file `name` saved again in `encoding`."""
    def setup(ctx: Ctx) -> None:
        make(ctx.root)
        path = ctx.root / name
        path.write_bytes(path.read_text().encode(encoding))
    return setup


def moved(make: Callable[[Path], None], old: str, new: str | None) -> Setup:
    """Setup: the fixture `make`, then file `old` moved to `new` (None: deleted)."""
    def setup(ctx: Ctx) -> None:
        make(ctx.root)
        if new is None:
            (ctx.root / old).unlink()
            return
        (ctx.root / new).parent.mkdir(parents=True, exist_ok=True)
        (ctx.root / old).rename(ctx.root / new)
    return setup


def latin1_tags(ctx: Ctx) -> None:
    anime(ctx.root)
    path = ctx.root / "tags_clean.csv"
    lines = path.read_text().splitlines()
    lines[2] += "\tcaf\xe9 au lait:1"  # a Latin-1 é: one byte that is not UTF-8
    path.write_bytes("\n".join(lines).encode("latin-1"))


def folder_for_file(make: Callable[[Path], None], name: str) -> Setup:
    """Setup: the fixture `make`, then file `name` replaced by an empty folder of that name."""
    def setup(ctx: Ctx) -> None:
        make(ctx.root)
        (ctx.root / name).unlink()
        (ctx.root / name).mkdir()
    return setup


def unreadable_tags(ctx: Ctx) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads a chmod 000 file (the 'label file is a folder' row covers an unreadable file)")
    anime(ctx.root)
    (ctx.root / "tags_clean.csv").chmod(0)


def truncated_jpeg(ctx: Ctx) -> None:
    folder(ctx.root)
    path = ctx.root / "a" / "3.jpg"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(path, quality=90)
    path.write_bytes(path.read_bytes()[:300])  # headers, then the scan cut short


def too_deep(ctx: Ctx) -> None:
    folder(ctx.root)
    (ctx.root / "a" / "b" / "c" / "d" / "e").mkdir(parents=True)
    (ctx.root / "a" / "1.png").rename(ctx.root / "a" / "b" / "c" / "d" / "e" / "1.png")


def link_loop(ctx: Ctx) -> None:
    folder(ctx.root)
    (ctx.root / "a" / "loop").symlink_to(ctx.root, target_is_directory=True)


def root_is_a_file(ctx: Ctx) -> None:
    ctx.root.write_bytes(b"\x89PNG")


def train_with_a_repeated_key(ctx: Ctx) -> None:
    iclevr(ctx.root)
    text = (ctx.root / "train.json").read_text()
    (ctx.root / "train.json").write_text(text[:-1] + ',\n"i3.png": ["red cube"]}')  # json keeps the last silently


def set_line(index: int, line: str) -> Callable[[list[str]], None]:
    """A `lines_changed` change: line `index` (from 0) becomes `line`."""
    def change(lines: list[str]) -> None:
        lines[index] = line
    return change


def copy_line(source: int, index: int) -> Callable[[list[str]], None]:
    """A `lines_changed` change: line `index` (from 0) becomes a copy of line `source`."""
    def change(lines: list[str]) -> None:
        lines[index] = lines[source]
    return change


def truncated_image(ctx: Ctx) -> None:
    folder(ctx.root)
    path = ctx.root / "a" / "1.png"
    path.write_bytes(path.read_bytes()[:40])  # a download cut short


def empty_label_file(ctx: Ctx) -> None:
    cartoon_set(ctx.root)
    (ctx.root / "cartoon_attr.txt").write_text("")


def broken_json(ctx: Ctx) -> None:
    iclevr(ctx.root)
    (ctx.root / "train.json").write_text('{"i0.png": ["red cube"],\n "i1.png": ["blue cube"]\n')  # no closing brace


def unknown_colour(ctx: Ctx) -> None:
    Path(ctx.root).mkdir(parents=True)
    (ctx.root / "tags.csv").write_text("0,aqua hair aqua eyes\n1,purplish hair blue eyes\n")


def csv_bytes(ctx: Ctx) -> None:
    anime(ctx.root)
    (ctx.root / "tags_clean.csv").write_bytes(b"0,blue hair:3\tred eyes:1\n\x89PNG\r\n\x1a\n\xff\xfe\x00binary")


def empty_folder(ctx: Ctx) -> None:
    Path(ctx.root).mkdir(parents=True)


CASES = [
    run_case("data: missing data folder", "data", ["data=anime", "data.root=/nonexistent/anime"],
             "/nonexistent/anime/tags_clean.csv"),
    process_case("data: missing data folder, in a real process", "data", ["data=anime", "data.root={tmp}/none"],
                 "label file not found: {tmp}/none/tags_clean.csv"),
    run_case("data: no data.root", "data", ["data=folder"], "Missing mandatory value: data.root"),
    run_case("data: fashion_mnist, a holdout above its test split", "data",
             ["data=fashion_mnist", "data.root={root}", "data.cache_dir={tmp}/cache", f"data.holdout={N_TEST + 1}"],
             f"data.holdout={N_TEST + 1}: the data's official test split, which the held-out images come from, has "
             f"{N_TEST} images", setup=lambda ctx: write_fashion(ctx.root)),
    run_case("data: empty image folder", "data", ["data=folder", "data.root={root}"], "no image files",
             setup=empty_folder),
    run_case("data: truncated image", "data", ["data=folder", "data.root={root}", "data.holdout=8"], "{root}/a/1.png",
             setup=truncated_image),
    run_case("data: empty label file", "data", ["model=cgan", "data=cartoon_set", "data.root={root}"],
             "cartoon_attr.txt", setup=empty_label_file),
    run_case("data: malformed JSON", "data", ["model=cgan", "data=iclevr", "data.root={root}"], "train.json line 3",
             setup=broken_json),
    run_case("data: unknown colour", "data", ["model=cgan", "data=anime", "data.root={root}",
                                              "data.source.format=extra"], "purplish", setup=unknown_colour),
    run_case("data: binary junk in a CSV", "data", ["model=cgan", "data=anime", "data.root={root}"],
             "{root}/tags_clean.csv line 2: not UTF-8 text (byte 0x89 at column 1)",
             setup=csv_bytes),
    run_case("data: one condition, wrong tags", "data", ["model=cgan", "model.wrong_weight=1", "data=folder",
                                                         "data.root={root}", "data.holdout=8"],
             "model.wrong_weight=1", setup=lambda ctx: folder(ctx.root)),
]

ROWS = [
    # anime: tags_clean.csv + faces/<id>.jpg, or (format=extra) tags.csv
    ("anime: a Latin-1 byte", ANIME, "{root}/tags_clean.csv line 3: not UTF-8", latin1_tags),
    ("anime: UTF-16 without a byte-order mark", ANIME, "{root}/tags_clean.csv line 1: not UTF-8 text (a NUL byte",
     recoded(anime, "tags_clean.csv", "utf-16-le")),
    ("anime: empty tags.csv", EXTRA, "{root}/tags.csv: empty file", written(None, "tags.csv", "")),
    ("anime: a file of only CR line ends", ANIME, "{root}/tags_clean.csv: empty file",
     written(None, "tags_clean.csv", "\r\r\r")),
    ("anime: only a header line", ANIME, "{root}/tags_clean.csv line 1: expected",
     written(None, "tags_clean.csv", "id,tags\n")),
    ("anime: an id listed twice", ANIME, "tags_clean.csv line 5: id '2' is listed again (first on line 3)",
     lines_changed(anime, "tags_clean.csv", copy_line(2, 4))),
    ("anime: a missing column", EXTRA, "{root}/tags.csv line 2: expected",
     written(None, "tags.csv", "0,red hair blue eyes\n1,red hair\n")),
    ("anime: an extra column", EXTRA, "{root}/tags.csv line 1: expected",
     written(None, "tags.csv", "0,red hair blue eyes smile\n")),
    ("anime: an id with no image", ANIME, "tags_clean.csv line 8: image file not found: {root}/faces/7.jpg",
     moved(anime, "faces/7.jpg", None)),
    ("anime: an image in a sub-folder", ANIME, "there is one at {root}/faces/part1/3.jpg",
     moved(anime, "faces/3.jpg", "faces/part1/3.jpg")),
    ("anime: an id outside the data folder", ANIME, "line 1: '../../x' is not a file name inside",
     lines_changed(anime, "tags_clean.csv", set_line(0, "../../x,blue hair:1\tred eyes:1"))),
    ("anime: a text file named .jpg", ANIME, "cannot read image {root}/faces/5.jpg",
     written(anime, "faces/5.jpg", "not a picture\n")),
    ("anime: the label file is a folder", ANIME, "{root}/tags_clean.csv: is a folder",
     folder_for_file(anime, "tags_clean.csv")),
    ("anime: an unreadable label file", ANIME, "{root}/tags_clean.csv: cannot read it", unreadable_tags),
    # cartoon_set: cartoon_attr.txt (count, names, then 'file v v v v') + images
    ("cartoon: only the header lines", CARTOON, "line 1 says 40 images but 0 data lines follow",
     written(None, "cartoon_attr.txt", "40\nhair_0 hair_1\n")),
    ("cartoon: only the count line", CARTOON, "{root}/cartoon_attr.txt: only 1 line",
     written(None, "cartoon_attr.txt", "40\n")),
    ("cartoon: a missing column", CARTOON, "cartoon_attr.txt line 5: expected a file name and 4 values, got 3",
     lines_changed(cartoon_set, "cartoon_attr.txt", set_line(4, "c2.png 1 0 1"))),
    ("cartoon: an extra column", CARTOON, "cartoon_attr.txt line 3: expected a file name and 4 values, got 5",
     lines_changed(cartoon_set, "cartoon_attr.txt", set_line(2, "c0.png 1 0 1 0 1"))),
    ("cartoon: a file listed twice", CARTOON, "line 4: file 'c0.png' is listed again (first on line 3)",
     lines_changed(cartoon_set, "cartoon_attr.txt", copy_line(2, 3))),
    ("cartoon: a value that is not 0 or 1", CARTOON, "cartoon_attr.txt line 6: values must be 0 or 1",
     lines_changed(cartoon_set, "cartoon_attr.txt", set_line(5, "c3.png 0 1 -1 1"))),
    ("cartoon: a zero-byte .png", CARTOON, "cannot read image {root}/c4.png", written(cartoon_set, "c4.png", b"")),
    ("cartoon: an image in a sub-folder", CARTOON, "there is one at {root}/images/old/c1.png",
     moved(cartoon_set, "c1.png", "images/old/c1.png")),
    ("cartoon: an absolute file name", CARTOON, "line 3: '/etc/hostname' is not a file name inside",
     lines_changed(cartoon_set, "cartoon_attr.txt", set_line(2, "/etc/hostname 1 0 1 0"))),
    # iclevr: objects.json, train.json, test.json (+ new_test.json), images/
    ("iclevr: an unknown object in test.json", ICLEVR, "{root}/test.json entry 1: unknown object 'green torus'",
     written(iclevr, "test.json", json.dumps([["red cube"], ["green torus"]]))),
    ("iclevr: malformed test.json", ICLEVR, "{root}/test.json line 2: invalid JSON",
     written(iclevr, "test.json", '[["red cube"],\n oops]')),
    ("iclevr: new_test.json is an object", ICLEVR, "{root}/new_test.json: expected a JSON list",
     written(iclevr, "new_test.json", json.dumps({"0": ["red cube"]}))),
    ("iclevr: an empty test.json list", ICLEVR, "{root}/test.json: no label sets", written(iclevr, "test.json", "[]")),
    ("iclevr: a test entry that is not a list", ICLEVR, "{root}/test.json entry 0: expected a list",
     written(iclevr, "test.json", json.dumps(["red cube"]))),
    ("iclevr: test.json is a folder", ICLEVR, "{root}/test.json: is a folder", folder_for_file(iclevr, "test.json")),
    ("iclevr: train.json is a list", ICLEVR, "{root}/train.json: expected a JSON object",
     written(iclevr, "train.json", json.dumps([["red cube"]]))),
    ("iclevr: a key given twice in train.json", ICLEVR, "{root}/train.json line 2: key 'i3.png' appears twice",
     train_with_a_repeated_key),
    ("iclevr: an unknown object in train.json", ICLEVR, "train.json entry 'i5.png': unknown object 'purple torus'",
     written(iclevr, "train.json", json.dumps({"i4.png": ["red cube"], "i5.png": ["purple torus"]}))),
    ("iclevr: an empty objects.json", ICLEVR, "{root}/objects.json: no objects listed",
     written(iclevr, "objects.json", "{}")),
    ("iclevr: a Latin-1 objects.json", ICLEVR, "{root}/objects.json line 1: not UTF-8",
     written(iclevr, "objects.json", '{"rouge cub\xe9": 0}'.encode("latin-1"))),
    ("iclevr: a zero-byte train.json", ICLEVR, "{root}/train.json: empty file", written(iclevr, "train.json", b"")),
    ("iclevr: a train entry with no image", ICLEVR, "train.json entry 'i5.png': image file not found",
     moved(iclevr, "images/i5.png", None)),
    # folder: every image under data.root
    ("folder: a zero-byte .png", FOLDER, "cannot read image {root}/b/0.png", written(folder, "b/0.png", b"")),
    ("folder: a text file named .jpg", FOLDER, "cannot read image {root}/a/notes.jpg",
     written(folder, "a/notes.jpg", "shopping list\n")),
    ("folder: a truncated JPEG", FOLDER, "cannot read image {root}/a/3.jpg", truncated_jpeg),
    ("folder: sub-folders too deep", FOLDER, "{root}/a/b/c/d/e: a folder 5 levels below", too_deep),
    ("folder: a linked folder loop", FOLDER, "{root}/a/loop: the same folder as {root}", link_loop),
    ("folder: data.root is a file", FOLDER, "{root}: is a file, expected the folder of images", root_is_a_file),
]
CASES += [run_case(f"data: {id}", "data", list(args), names, setup=setup) for id, args, names, setup in ROWS]

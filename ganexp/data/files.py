"""Loaders for users' own copies of GAN data sets: tagged anime faces, Cartoon Set attributes, iCLEVR, folders.

Each loader is a *source* (see `module.py`): `key()` names every setting plus a cheap fingerprint of the input files
(label file size and mtime, number of images), so editing a label file or adding images builds the cache again.
Real files are hand-edited and half-downloaded, so every problem is a `DataFileError` naming the file and line.
"""

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ganexp.data.faces import EYE_COLOURS, HAIR_COLOURS
from ganexp.data.module import LabelledImages
from ganexp.errors import ConfigError, DataFileError

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
LOG_EVERY = 5000  # real sets have 30k+ images: a line now and then shows the load is alive
TAGS_CLEAN_FORM = '"id,tag:count<TAB>tag:count<TAB>..."'
EXTRA_FORM = '"id,<colour> hair <colour> eyes"'


def _check_options(image_size: int, n: int | None) -> None:
    if image_size < 1:
        raise ConfigError(f"data.source.image_size={image_size}: must be >= 1")
    if n is not None and n < 1:
        raise ConfigError(f"data.source.n={n}: must be >= 1 or null (all images)")


def _stamp(path: Path) -> str:
    """size:mtime_ns of a label file: cheap, and changes whenever the file is rewritten."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DataFileError(f"label file not found: {path}") from None
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _count_files(*folders: Path) -> int:
    return sum(sum(1 for entry in os.scandir(folder) if entry.is_file()) for folder in folders if folder.is_dir())


def _read_lines(path: Path) -> list[str]:
    _stamp(path)  # a clear "not found" error
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as err:
        raise DataFileError(f"{path}: not UTF-8 text ({err})") from None


def _read_json(path: Path) -> object:
    _stamp(path)
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as err:
        raise DataFileError(f"{path} line {err.lineno}: invalid JSON ({err.msg})") from None


def _find(where: str, *candidates: Path) -> Path:
    """The first candidate that exists; the error names every place looked in and what referred to the image."""
    for path in candidates:
        if path.is_file():
            return path
    tried = " or ".join(str(path) for path in candidates)
    raise DataFileError(f"{where}: image file not found: {tried}")


def _square_rgb(img: Image.Image) -> Image.Image:
    """RGB with transparency composited on white (iCLEVR is RGBA), centre-cropped to a square."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    img = img.convert("RGB")
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    return img.crop((left, top, left + side, top + side))


def _read_image(path: Path, where: str, image_size: int) -> Tensor:
    try:
        with Image.open(path) as img:
            img.load()
            square = _square_rgb(img)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise DataFileError(f"{where}: cannot read image {path}: {err}") from None
    if square.size != (image_size, image_size):
        square = square.resize((image_size, image_size), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.array(square)).permute(2, 0, 1)


def _load_images(entries: list[tuple[Path, str]], image_size: int) -> Tensor:
    """uint8 (N, 3, S, S) from (path, what refers to it) pairs, read one by one (simple, and fine for 30k)."""
    out = torch.empty(len(entries), 3, image_size, image_size, dtype=torch.uint8)
    log.info("data: reading %d images (%s)", len(entries), entries[0][0].parent if entries else "none")
    for index, (path, where) in enumerate(entries):
        out[index] = _read_image(path, where, image_size)
        if (index + 1) % LOG_EVERY == 0:
            log.info("data: read %d/%d images (%s)", index + 1, len(entries), path.parent)
    return out


def _first(rows: list, n: int | None) -> list:
    return rows if n is None else rows[:n]


def parse_tags_clean_line(line: str, where: str) -> tuple[str, list[tuple[str, int]]]:
    """`id,tag:count<TAB>...` -> (id, [(tag, count), ...]) in line order; a trailing tab is allowed."""
    image_id, comma, rest = line.partition(",")
    if not comma or not image_id.strip():
        raise DataFileError(f"{where}: expected {TAGS_CLEAN_FORM} got {line!r}")
    tags = []
    for field in rest.split("\t"):
        if not field.strip():
            continue
        tag, colon, count = field.rpartition(":")
        if not colon or not tag.strip() or not count.strip().isdigit():
            raise DataFileError(f"{where}: expected {TAGS_CLEAN_FORM} got {line!r} (bad field {field!r})")
        tags.append((tag.strip(), int(count)))
    return image_id.strip(), tags


def colour_tags(tags: list[tuple[str, int]], kind: str, vocab: tuple[str, ...]) -> list[tuple[int, int]]:
    """(colour index, count) of tags `<colour> ... <kind>` whose first word is in `vocab` ("long hair" is not)."""
    found = []
    for tag, count in tags:
        words = tag.split()
        if len(words) >= 2 and words[-1] == kind and words[0] in vocab:
            found.append((vocab.index(words[0]), count))
    return found


def pick_colour(found: list[tuple[int, int]], policy: str) -> int | None:
    """The colour to label with, or None to drop the image: "exact" needs one colour, "top" takes the top count."""
    if not found:
        return None
    if policy == "exact":
        return found[0][0] if len({colour for colour, _ in found}) == 1 else None
    return max(found, key=lambda item: item[1])[0]  # max keeps the first of equal counts: ties go to line order


def _parse_extra_line(line: str, where: str) -> tuple[str, int, int]:
    image_id, comma, rest = line.partition(",")
    words = rest.split()
    if not comma or not image_id.strip() or len(words) != 4 or words[1] != "hair" or words[3] != "eyes":
        raise DataFileError(f"{where}: expected {EXTRA_FORM} got {line!r}")
    for colour, vocab, kind in ((words[0], HAIR_COLOURS, "hair"), (words[2], EYE_COLOURS, "eye")):
        if colour not in vocab:
            raise DataFileError(f"{where}: unknown {kind} colour {colour!r} (known: {', '.join(vocab)})")
    return image_id.strip(), HAIR_COLOURS.index(words[0]), EYE_COLOURS.index(words[2])


@dataclass
class AnimeTags:
    """Anime faces labelled (hair colour, eye colour), from `tags_clean.csv` + `faces/` or `tags.csv` + `images/`.

    format "tags_clean": colour tags are `<colour> hair` / `<colour> eyes` with the colour in the vocabulary; policy
    "exact" keeps faces with exactly one hair and one eye colour, "top" takes each kind's highest-count colour.
    format "extra": each line already says `id,<colour> hair <colour> eyes`. `n` keeps the first kept
    lines in file order.
    """

    root: str
    image_size: int
    format: Literal["tags_clean", "extra"]
    policy: Literal["exact", "top"]
    n: int | None = None

    def __post_init__(self) -> None:
        _check_options(self.image_size, self.n)

    def _files(self) -> tuple[Path, Path]:
        root = Path(self.root).expanduser()
        if self.format == "extra":
            return root / "tags.csv", root / "images"
        return root / "tags_clean.csv", root / "faces"

    def key(self) -> str:
        label_file, image_dir = self._files()
        return f"files.anime:{asdict(self)}:{_stamp(label_file)}:{_count_files(image_dir)}"

    def build(self) -> LabelledImages:
        label_file, image_dir = self._files()
        lines = _read_lines(label_file)
        rows = []  # (image id, hair, eyes, where)
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{label_file} line {number}"
            if self.format == "extra":
                rows.append((*_parse_extra_line(line, where), where))
                continue
            image_id, tags = parse_tags_clean_line(line, where)
            hair = pick_colour(colour_tags(tags, "hair", HAIR_COLOURS), self.policy)
            eyes = pick_colour(colour_tags(tags, "eyes", EYE_COLOURS), self.policy)
            if hair is not None and eyes is not None:
                rows.append((image_id, hair, eyes, where))
        if not rows:
            if self.format == "extra":
                raise DataFileError(f"{label_file}: no images listed ({len(lines)} lines read)")
            raise DataFileError(
                f"{label_file}: no images left after the {self.policy!r} hair/eye colour-tag filter "
                f"({len(lines)} lines read)"
            )
        rows = _first(rows, self.n)
        entries = [(_find(where, image_dir / f"{image_id}.jpg"), where) for image_id, _, _, where in rows]
        return LabelledImages(
            images=_load_images(entries, self.image_size),
            labels=torch.tensor([[hair, eyes] for _, hair, eyes, _ in rows], dtype=torch.long),
            attributes=[("hair", list(HAIR_COLOURS)), ("eyes", list(EYE_COLOURS))],
        )


def group_attribute_names(names: list[str], where: str) -> list[tuple[str, list[str]]]:
    """`hair_0 hair_1 eye_0` -> [("hair", ["0", "1"]), ("eye", ["0"])]: prefix before the last `_`, file order."""
    groups: dict[str, list[str]] = {}
    for name in names:
        group, underscore, value = name.rpartition("_")
        if not underscore or not group or not value:
            raise DataFileError(f"{where}: attribute name {name!r} is not <group>_<value>")
        groups.setdefault(group, []).append(value)
    return list(groups.items())


@dataclass
class CartoonAttr:
    """Cartoon Set style attributes: line 1 the image count, line 2 `<group>_<value>` names, then `file v1 v2 ...`.

    Each group (hair, eye, face, glasses, ...) must have exactly one 1 per image; the label is its position.
    An image is `<root>/<file>`, or `<root>/images/<file>` when not at the root.
    """

    root: str
    image_size: int
    attr_file: str = "cartoon_attr.txt"
    n: int | None = None

    def __post_init__(self) -> None:
        _check_options(self.image_size, self.n)

    def key(self) -> str:
        root = Path(self.root).expanduser()
        return f"files.cartoon:{asdict(self)}:{_stamp(root / self.attr_file)}:{_count_files(root, root / 'images')}"

    def build(self) -> LabelledImages:
        root = Path(self.root).expanduser()
        path = root / self.attr_file
        lines = _read_lines(path)
        if len(lines) < 2 or not lines[0].strip().isdigit():
            got = repr(lines[0]) if lines else "an empty file"
            raise DataFileError(f"{path} line 1: expected the image count, got {got}")
        names = lines[1].split()
        if not names:
            raise DataFileError(f"{path} line 2: expected space-separated attribute names, got {lines[1]!r}")
        groups = group_attribute_names(names, f"{path} line 2")
        columns = [[i for i, name in enumerate(names) if name.rpartition("_")[0] == group] for group, _ in groups]
        data = [(number, line.split()) for number, line in enumerate(lines[2:], 3) if line.strip()]
        if len(data) != int(lines[0]):
            raise DataFileError(f"{path}: line 1 says {int(lines[0])} images but {len(data)} data lines follow")
        rows = []  # (file, labels, where)
        for number, (file, *values) in data:
            where = f"{path} line {number}"
            if len(values) != len(names):
                raise DataFileError(f"{where}: expected a file name and {len(names)} values, got {len(values)} values")
            if any(value not in ("0", "1") for value in values):
                raise DataFileError(f"{where}: values must be 0 or 1, got {' '.join(values)!r}")
            labels = []
            for (group, _), cols in zip(groups, columns, strict=True):
                ones = [position for position, col in enumerate(cols) if values[col] == "1"]
                if len(ones) != 1:
                    raise DataFileError(f"{where}: group {group!r} needs exactly one 1, got {len(ones)}")
                labels.append(ones[0])
            rows.append((file, labels, where))
        if not rows:
            raise DataFileError(f"{path}: no images listed ({len(lines)} lines read)")
        rows = _first(rows, self.n)
        entries = [(_find(where, root / file, root / "images" / file), where) for file, _, where in rows]
        return LabelledImages(
            images=_load_images(entries, self.image_size),
            labels=torch.tensor([labels for _, labels, _ in rows], dtype=torch.long),
            attributes=groups,
        )


def load_objects(path: str | Path) -> dict[str, int]:
    """objects.json: object name -> label column; the columns must be 0..L-1 with none repeated."""
    path = Path(path).expanduser()
    objects = _read_json(path)
    if not isinstance(objects, dict) or not all(isinstance(v, int) for v in objects.values()):
        raise DataFileError(f"{path}: expected a JSON object of name -> index")
    if sorted(objects.values()) != list(range(len(objects))):
        raise DataFileError(f"{path}: indices must be 0..{len(objects) - 1} with none repeated")
    return objects


def _multi_hot(sets: list[tuple[str, object]], objects: dict[str, int], path: Path) -> Tensor:
    """float (M, L) from (what to call the entry, list of names) pairs; an unknown name names the entry."""
    out = torch.zeros(len(sets), len(objects))
    for row, (entry, names) in enumerate(sets):
        if not isinstance(names, list):
            raise DataFileError(f"{path} {entry}: expected a list of object names, got {names!r}")
        for name in names:
            if name not in objects:
                raise DataFileError(f"{path} {entry}: unknown object {name!r} (not in objects.json)")
            out[row, objects[name]] = 1.0
    return out


def load_label_sets(path: str, objects: dict[str, int]) -> Tensor:
    """test.json / new_test.json (a JSON list of lists of names) -> float multi-hot (M, L) to condition samples on."""
    file = Path(path).expanduser()
    sets = _read_json(file)
    if not isinstance(sets, list):
        raise DataFileError(f"{file}: expected a JSON list of lists of object names")
    return _multi_hot([(f"entry {i}", names) for i, names in enumerate(sets)], objects, file)


@dataclass
class ICLEVR:
    """iCLEVR: `objects.json` (name -> column), `train.json` (file -> names), RGBA images composited on white.

    Images are `<root>/images/<file>`, or `<root>/<file>` when not there; `n` keeps the first file names
    in sorted order.
    """

    root: str
    image_size: int
    n: int | None = None

    def __post_init__(self) -> None:
        _check_options(self.image_size, self.n)

    def key(self) -> str:
        root = Path(self.root).expanduser()
        stamps = f"{_stamp(root / 'objects.json')}:{_stamp(root / 'train.json')}"
        return f"files.iclevr:{asdict(self)}:{stamps}:{_count_files(root, root / 'images')}"

    def build(self) -> LabelledImages:
        root = Path(self.root).expanduser()
        objects = load_objects(root / "objects.json")
        train_file = root / "train.json"
        train = _read_json(train_file)
        if not isinstance(train, dict):
            raise DataFileError(f"{train_file}: expected a JSON object of image file -> list of object names")
        if not train:
            raise DataFileError(f"{train_file}: no images listed (0 entries read)")
        files = _first(sorted(train), self.n)
        labels = _multi_hot([(f"entry {file!r}", train[file]) for file in files], objects, train_file)
        entries = []
        for file in files:
            where = f"{train_file} entry {file!r}"
            entries.append((_find(where, root / "images" / file, root / file), where))
        return LabelledImages(
            images=_load_images(entries, self.image_size),
            labels=labels,
            attributes=[("objects", sorted(objects, key=objects.__getitem__))],
            multilabel=True,
        )

    def test_sets(self) -> dict[str, Tensor]:
        """The evaluation label sets ({"test": ..., "new_test": ...}) of those files present in `root`."""
        root = Path(self.root).expanduser()
        objects = load_objects(root / "objects.json")
        names = [name for name in ("test", "new_test") if (root / f"{name}.json").is_file()]
        return {name: load_label_sets(str(root / f"{name}.json"), objects) for name in names}


@dataclass
class Folder:
    """Every image under `root` (recursive, sorted), unconditional, e.g. Crypko faces.

    Labels are one constant attribute ("image" = "any", long zeros (N, 1)): an (N, 0) label tensor would crash
    `torch.unique(labels, dim=0)`, which conditional sampling calls.
    """

    root: str
    image_size: int
    n: int | None = None

    def __post_init__(self) -> None:
        _check_options(self.image_size, self.n)

    def _paths(self) -> list[Path]:
        root = Path(self.root).expanduser()
        if not root.is_dir():
            raise DataFileError(f"image folder not found: {root}")
        paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not paths:
            raise DataFileError(f"{root}: no image files ({', '.join(IMAGE_SUFFIXES)}) found, searched recursively")
        return paths

    def key(self) -> str:
        stats = [path.stat() for path in self._paths()]
        newest = max(stat.st_mtime_ns for stat in stats)
        return f"files.folder:{asdict(self)}:{len(stats)}:{sum(stat.st_size for stat in stats)}:{newest}"

    def build(self) -> LabelledImages:
        paths = _first(self._paths(), self.n)
        images = _load_images([(path, f"folder {self.root}") for path in paths], self.image_size)
        return LabelledImages(
            images=images,
            labels=torch.zeros(len(paths), 1, dtype=torch.long),
            attributes=[("image", ["any"])],
        )

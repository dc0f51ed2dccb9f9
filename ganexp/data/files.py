"""Loaders for users' own copies of GAN data sets: tagged anime faces, Cartoon Set attributes, iCLEVR, folders.

Each loader is a *source* (see `module.py`): `key()` names every setting plus a cheap fingerprint of the input files
(label file size and mtime, number of images), so editing a label file or adding images builds the cache again.
Real files are hand-edited and half-downloaded, so every problem is a `DataFileError` naming the file and line.
"""

from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor

from ganexp.data.faces import EYE_COLOURS, HAIR_COLOURS
from ganexp.data.module import LabelledImages
from ganexp.data.reading import (
    IMAGE_SUFFIXES,
    MAX_DEPTH,
    count_files,
    find_image,
    image_paths,
    inside,
    load_images,
    read_json,
    read_lines,
    show,
    stamp,
)
from ganexp.errors import DataFileError
from ganexp.ranges import Count

TAGS_CLEAN_FORM = '"id,tag:count<TAB>tag:count<TAB>..."'
EXTRA_FORM = '"id,<colour> hair <colour> eyes"'


def _first(rows: list, n: int | None) -> list:
    return rows if n is None else rows[:n]


def listed_once(seen: dict[str, int], name: str, what: str, where: str, number: int) -> None:
    """Record that line `number` lists `name`; a name an earlier line listed too is a DataFileError."""
    if name in seen:
        raise DataFileError(f"{where}: {what} {name!r} is listed again (first on line {seen[name]})")
    seen[name] = number


def parse_tags_clean_line(line: str, where: str) -> tuple[str, list[tuple[str, int]]]:
    """`id,tag:count<TAB>...` -> (id, [(tag, count), ...]) in line order; a trailing tab is allowed."""
    image_id, comma, rest = line.partition(",")
    if not comma or not image_id.strip():
        raise DataFileError(f"{where}: expected {TAGS_CLEAN_FORM} got {show(line)}")
    tags = []
    for field in rest.split("\t"):
        if not field.strip():
            continue
        tag, colon, count = field.rpartition(":")
        if not colon or not tag.strip() or not count.strip().isdigit():
            raise DataFileError(f"{where}: expected {TAGS_CLEAN_FORM} got {show(line)} (bad field {show(field)})")
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
        raise DataFileError(f"{where}: expected {EXTRA_FORM} got {show(line)}")
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
    image_size: Count
    format: Literal["tags_clean", "extra"]
    policy: Literal["exact", "top"]
    n: Count | None = None

    def _files(self) -> tuple[Path, Path]:
        root = Path(self.root).expanduser()
        if self.format == "extra":
            return root / "tags.csv", root / "images"
        return root / "tags_clean.csv", root / "faces"

    def key(self) -> str:
        label_file, image_dir = self._files()
        return f"files.anime:{asdict(self)}:{stamp(label_file)}:{count_files(image_dir)}"

    def _rows(self, label_file: Path, lines: list[str]) -> list[tuple[str, int, int, str]]:
        """(image id, hair, eyes, where) of each line the policy keeps; every line is parsed, kept or not."""
        rows, seen = [], {}
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{label_file} line {number}"
            if self.format == "extra":
                image_id, hair, eyes = _parse_extra_line(line, where)
            else:
                image_id, tags = parse_tags_clean_line(line, where)
                hair = pick_colour(colour_tags(tags, "hair", HAIR_COLOURS), self.policy)
                eyes = pick_colour(colour_tags(tags, "eyes", EYE_COLOURS), self.policy)
            listed_once(seen, inside(image_id, where), "id", where, number)
            if hair is not None and eyes is not None:
                rows.append((image_id, hair, eyes, where))
        return rows

    def build(self) -> LabelledImages:
        label_file, image_dir = self._files()
        lines = read_lines(label_file)
        rows = self._rows(label_file, lines)
        if not rows:
            if self.format == "extra":
                raise DataFileError(f"{label_file}: no images listed ({len(lines)} lines read)")
            raise DataFileError(
                f"{label_file}: no images left after the {self.policy!r} hair/eye colour-tag filter "
                f"({len(lines)} lines read)"
            )
        rows = _first(rows, self.n)
        entries = [(find_image(where, image_dir / f"{image_id}.jpg"), where) for image_id, _, _, where in rows]
        return LabelledImages(
            images=load_images(entries, self.image_size),
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


def _attr_header(path: Path, lines: list[str]) -> tuple[list[tuple[str, list[str]]], list[list[int]]]:
    """Lines 1-2 of a Cartoon Set attribute file -> (groups, each group's value columns)."""
    if len(lines) < 2:
        raise DataFileError(f"{path}: only 1 line: expected the image count, the attribute names, then one line per "
                            "image")
    if not lines[0].strip().isdigit():
        raise DataFileError(f"{path} line 1: expected the image count, got {show(lines[0])}")
    names = lines[1].split()
    if not names:
        raise DataFileError(f"{path} line 2: expected space-separated attribute names, got {show(lines[1])}")
    groups = group_attribute_names(names, f"{path} line 2")
    columns = [[i for i, name in enumerate(names) if name.rpartition("_")[0] == group] for group, _ in groups]
    return groups, columns


def _attr_labels(values: list[str], groups: list[tuple[str, list[str]]], columns: list[list[int]],
                 where: str) -> list[int]:
    """The 0/1 values after a file name -> each group's label (the position of its one 1)."""
    n_values = sum(map(len, columns))
    if len(values) != n_values:
        raise DataFileError(f"{where}: expected a file name and {n_values} values, got {len(values)} values")
    if any(value not in ("0", "1") for value in values):
        raise DataFileError(f"{where}: values must be 0 or 1, got {show(' '.join(values))}")
    labels = []
    for (group, _), cols in zip(groups, columns, strict=True):
        ones = [position for position, col in enumerate(cols) if values[col] == "1"]
        if len(ones) != 1:
            raise DataFileError(f"{where}: group {group!r} needs exactly one 1, got {len(ones)}")
        labels.append(ones[0])
    return labels


@dataclass
class CartoonAttr:
    """Cartoon Set style attributes: line 1 the image count, line 2 `<group>_<value>` names, then `file v1 v2 ...`.

    Each group (hair, eye, face, glasses, ...) must have exactly one 1 per image; the label is its position.
    An image is `<root>/<file>`, or `<root>/images/<file>` when not at the root.
    """

    root: str
    image_size: Count
    attr_file: str = "cartoon_attr.txt"
    n: Count | None = None

    def key(self) -> str:
        root = Path(self.root).expanduser()
        return f"files.cartoon:{asdict(self)}:{stamp(root / self.attr_file)}:{count_files(root, root / 'images')}"

    def build(self) -> LabelledImages:
        root = Path(self.root).expanduser()
        path = root / self.attr_file
        lines = read_lines(path)
        groups, columns = _attr_header(path, lines)
        data = [(number, line.split()) for number, line in enumerate(lines[2:], 3) if line.strip()]
        if len(data) != int(lines[0]):
            raise DataFileError(f"{path}: line 1 says {int(lines[0])} images but {len(data)} data lines follow")
        rows, seen = [], {}  # (file, labels, where)
        for number, (file, *values) in data:
            where = f"{path} line {number}"
            listed_once(seen, inside(file, where), "file", where, number)
            rows.append((file, _attr_labels(values, groups, columns, where), where))
        if not rows:
            raise DataFileError(f"{path}: no images listed ({len(lines)} lines read)")
        rows = _first(rows, self.n)
        entries = [(find_image(where, root / file, root / "images" / file), where) for file, _, where in rows]
        return LabelledImages(
            images=load_images(entries, self.image_size),
            labels=torch.tensor([labels for _, labels, _ in rows], dtype=torch.long),
            attributes=groups,
        )


def load_objects(path: str | Path) -> dict[str, int]:
    """objects.json: object name -> label column; the columns must be 0..L-1 with none repeated."""
    path = Path(path).expanduser()
    objects = read_json(path)
    if not isinstance(objects, dict) or not all(type(v) is int for v in objects.values()):
        raise DataFileError(f"{path}: expected a JSON object of name -> index, got {show(objects)}")
    if not objects:
        raise DataFileError(f"{path}: no objects listed")
    if sorted(objects.values()) != list(range(len(objects))):
        raise DataFileError(f"{path}: indices must be 0..{len(objects) - 1} with none repeated")
    return objects


def _multi_hot(sets: list[tuple[str, object]], objects: dict[str, int], path: Path) -> Tensor:
    """float (M, L) from (what to call the entry, list of names) pairs; an unknown name names the entry."""
    out = torch.zeros(len(sets), len(objects))
    for row, (entry, names) in enumerate(sets):
        if not isinstance(names, list):
            raise DataFileError(f"{path} {entry}: expected a list of object names, got {show(names)}")
        for name in names:
            if not isinstance(name, str) or name not in objects:
                raise DataFileError(f"{path} {entry}: unknown object {show(name)} (not in objects.json)")
            out[row, objects[name]] = 1.0
    return out


def load_label_sets(path: str, objects: dict[str, int]) -> Tensor:
    """test.json / new_test.json (a JSON list of lists of names) -> float multi-hot (M, L) to condition samples on."""
    file = Path(path).expanduser()
    sets = read_json(file)
    if not isinstance(sets, list):
        raise DataFileError(f"{file}: expected a JSON list of lists of object names, got {type(sets).__name__}")
    if not sets:
        raise DataFileError(f"{file}: no label sets listed (an empty list)")
    return _multi_hot([(f"entry {i}", names) for i, names in enumerate(sets)], objects, file)


def _train_sets(path: Path) -> dict[str, object]:
    """train.json: image file -> list of object names (checked against objects.json by `_multi_hot`)."""
    train = read_json(path)
    if not isinstance(train, dict):
        raise DataFileError(f"{path}: expected a JSON object of image file -> list of object names, "
                            f"got {type(train).__name__}")
    if not train:
        raise DataFileError(f"{path}: no images listed (0 entries read)")
    for file in train:
        inside(file, f"{path} entry {file!r}")
    return train


@dataclass
class ICLEVR:
    """iCLEVR: `objects.json` (name -> column), `train.json` (file -> names), RGBA images composited on white.

    Images are `<root>/images/<file>`, or `<root>/<file>` when not there; `n` keeps the first file names
    in sorted order. `test.json` / `new_test.json`, when present, are parsed with the data (`ImageData.load`).
    """

    root: str
    image_size: Count
    n: Count | None = None

    def key(self) -> str:
        root = Path(self.root).expanduser()
        stamps = f"{stamp(root / 'objects.json')}:{stamp(root / 'train.json')}"
        return f"files.iclevr:{asdict(self)}:{stamps}:{count_files(root, root / 'images')}"

    def build(self) -> LabelledImages:
        root = Path(self.root).expanduser()
        objects = load_objects(root / "objects.json")
        train_file = root / "train.json"
        train = _train_sets(train_file)
        every = _multi_hot([(f"entry {file!r}", train[file]) for file in sorted(train)], objects, train_file)
        files = _first(sorted(train), self.n)
        entries = []
        for file in files:
            where = f"{train_file} entry {file!r}"
            entries.append((find_image(where, root / "images" / file, root / file), where))
        return LabelledImages(
            images=load_images(entries, self.image_size),
            labels=every[:len(files)],
            attributes=[("objects", sorted(objects, key=objects.__getitem__))],
            multilabel=True,
        )

    @cached_property
    def _test_sets(self) -> dict[str, Tensor]:
        """test.json / new_test.json as multi-hot label sets, parsed in full the first time they are asked for."""
        root = Path(self.root).expanduser()
        names = [name for name in ("test", "new_test") if (root / f"{name}.json").exists()]
        if not names:
            return {}
        objects = load_objects(root / "objects.json")
        return {name: load_label_sets(str(root / f"{name}.json"), objects) for name in names}

    def test_sets(self) -> dict[str, Tensor]:
        """The evaluation label sets ({"test": ..., "new_test": ...}) of those files present in `root`, read once."""
        return self._test_sets


@dataclass
class Folder:
    """Every image under `root` (sub-folders too, see `reading.image_paths`), sorted, unconditional, e.g. Crypko.

    Labels are one constant attribute ("image" = "any", long zeros (N, 1)): an (N, 0) label tensor would crash
    `torch.unique(labels, dim=0)`, which conditional sampling calls.
    """

    root: str
    image_size: Count
    n: Count | None = None

    def _paths(self) -> list[Path]:
        root = Path(self.root).expanduser()
        if not root.exists():
            raise DataFileError(f"image folder not found: {root}")
        if not root.is_dir():
            raise DataFileError(f"{root}: is a file, expected the folder of images")
        paths = image_paths(root)
        if not paths:
            raise DataFileError(f"{root}: no image files ({', '.join(IMAGE_SUFFIXES)}) found, searched "
                                f"{MAX_DEPTH} folders down")
        return paths

    def key(self) -> str:
        stats = [path.stat() for path in self._paths()]
        newest = max(stat.st_mtime_ns for stat in stats)
        return f"files.folder:{asdict(self)}:{len(stats)}:{sum(stat.st_size for stat in stats)}:{newest}"

    def build(self) -> LabelledImages:
        paths = _first(self._paths(), self.n)
        images = load_images([(path, f"folder {self.root}") for path in paths], self.image_size)
        return LabelledImages(
            images=images,
            labels=torch.zeros(len(paths), 1, dtype=torch.long),
            attributes=[("image", ["any"])],
        )

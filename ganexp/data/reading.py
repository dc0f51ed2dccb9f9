"""Reading users' files for the loaders in `files.py`: text, JSON, images and image folders, every mistake one line.

Real files come from Excel, Notepad, half-finished downloads and copied folders. What is unambiguous is accepted: a
UTF-8 byte-order mark (Excel), UTF-16 with its byte-order mark (Notepad's "Unicode"), CRLF or lone-CR line ends,
grey, palette, CMYK, 16-bit and transparent images (made RGB on white). Anything else is a `DataFileError` naming
the file, the line where there is one, and what is wrong.
"""

import codecs
import json
import logging
import os
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ganexp.errors import DataFileError

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
LOG_EVERY = 5000  # real sets have 30k+ images: a line now and then shows the load is alive
MAX_DEPTH = 4  # sub-folder levels below data.root that data=folder reads (a wrong data.root=~ stops, not crawls)
SHOWN = 80  # characters of a bad line or entry quoted in an error (binary junk can be one huge line)


def show(value: object) -> str:
    """A value (a bad line, a JSON entry) quoted for an error message, cut to SHOWN characters."""
    text = repr(value)
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}... ({len(text)} characters)"


def stamp(path: Path) -> str:
    """size:mtime_ns of a label file: cheap, and changes whenever the file is rewritten."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DataFileError(f"label file not found: {path}") from None
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def read_bytes(path: Path) -> bytes:
    """The file's bytes; a missing file, a folder or an unreadable file is a DataFileError naming it."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataFileError(f"label file not found: {path}") from None
    except IsADirectoryError:
        raise DataFileError(f"{path}: is a folder, expected a file") from None
    except OSError as err:
        raise DataFileError(f"{path}: cannot read it ({err.strerror})") from None


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """(line, column) of a byte offset, counting CRLF, CR and LF as line ends, both from 1."""
    before = data[:offset].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return before.count(b"\n") + 1, len(before) - before.rfind(b"\n")


def decode(data: bytes, path: Path) -> str:
    """UTF-8 (a leading BOM dropped) or UTF-16 with a BOM, line ends made "\\n"; else a DataFileError with the line."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise DataFileError(f"{path}: starts as UTF-16 but is not valid UTF-16 ({err.reason}); "
                                "save it as UTF-8 text") from None
    else:
        data = data.removeprefix(codecs.BOM_UTF8)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            line, column = _position(data, err.start)
            raise DataFileError(f"{path} line {line}: not UTF-8 text (byte 0x{data[err.start]:02x} at column "
                                f"{column}); save it as UTF-8") from None
        if "\x00" in text:
            line, _ = _position(data, data.index(b"\x00"))
            raise DataFileError(f"{path} line {line}: not UTF-8 text (a NUL byte: binary data, or UTF-16 without a "
                                "byte-order mark); save it as UTF-8")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_lines(path: Path) -> list[str]:
    """The lines of a text file (see `decode`); an empty or all-blank file is a DataFileError."""
    text = decode(read_bytes(path), path)
    if not text.strip():
        raise DataFileError(f"{path}: empty file")
    return text.removesuffix("\n").split("\n")


def _unique_keys(path: Path, text: str, pairs: list[tuple[str, object]]) -> dict:
    """json's object_pairs_hook: a key given twice (json would keep the last silently) is a DataFileError."""
    out: dict = {}
    for key, value in pairs:
        if key in out:
            quoted = json.dumps(key, ensure_ascii=False)
            second = text.find(quoted, text.find(quoted) + 1)
            where = f" line {text.count(chr(10), 0, second) + 1}" if second >= 0 else ""
            raise DataFileError(f"{path}{where}: key {key!r} appears twice")
        out[key] = value
    return out


def read_json(path: Path) -> object:
    """A JSON file (text as `decode` accepts); invalid JSON or a repeated key names the line."""
    text = decode(read_bytes(path), path)
    if not text.strip():
        raise DataFileError(f"{path}: empty file")
    try:
        return json.loads(text, object_pairs_hook=partial(_unique_keys, path, text))
    except json.JSONDecodeError as err:
        raise DataFileError(f"{path} line {err.lineno}: invalid JSON ({err.msg})") from None


def inside(name: str, where: str) -> str:
    """`name` if it is a relative path that stays inside the data folder, else a DataFileError."""
    if not name or Path(name).is_absolute() or ".." in Path(name).parts:
        raise DataFileError(f"{where}: {name!r} is not a file name inside the data folder")
    return name


def find_image(where: str, *candidates: Path) -> Path:
    """The first candidate that exists; the error names every place looked in, what referred to the image, and a
    file of that name in a sub-folder, where the loader does not look."""
    for path in candidates:
        if path.is_file():
            return path
    tried = " or ".join(str(path) for path in candidates)
    top = candidates[-1].parent
    elsewhere = next((p for p in top.rglob(candidates[-1].name) if p.is_file()), None) if top.is_dir() else None
    hint = f" (there is one at {elsewhere}, a sub-folder not searched)" if elsewhere else ""
    raise DataFileError(f"{where}: image file not found: {tried}{hint}")


def _eight_bit(img: Image.Image) -> Image.Image:
    """A 16-bit grey image ("I;16", "I") as 8-bit grey; Pillow's own convert would clip 0..65535 to 0..255."""
    levels = np.asarray(img, dtype=np.int64)
    return Image.fromarray(((levels.clip(0, 65535) + 128) // 257).astype(np.uint8), "L")


def square_rgb(img: Image.Image) -> Image.Image:
    """RGB with transparency composited on white (iCLEVR is RGBA), centre-cropped to a square."""
    if img.mode == "I" or img.mode.startswith("I;16"):
        img = _eight_bit(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    img = img.convert("RGB")
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    return img.crop((left, top, left + side, top + side))


def read_image(path: Path, where: str, image_size: int) -> Tensor:
    """uint8 (3, S, S): the image made RGB, centre-cropped and resized; any failure names the file and `where`."""
    try:
        with Image.open(path) as img:
            img.load()
            square = square_rgb(img)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise DataFileError(f"{where}: cannot read image {path}: {err}") from None
    if square.size != (image_size, image_size):
        square = square.resize((image_size, image_size), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.array(square)).permute(2, 0, 1)


def load_images(entries: list[tuple[Path, str]], image_size: int) -> Tensor:
    """uint8 (N, 3, S, S) from (path, what refers to it) pairs, read one by one (simple, and fine for 30k)."""
    out = torch.empty(len(entries), 3, image_size, image_size, dtype=torch.uint8)
    log.info("data: reading %d images (%s)", len(entries), entries[0][0].parent if entries else "none")
    for index, (path, where) in enumerate(entries):
        out[index] = read_image(path, where, image_size)
        if (index + 1) % LOG_EVERY == 0:
            log.info("data: read %d/%d images (%s)", index + 1, len(entries), path.parent)
    return out


def count_files(*folders: Path) -> int:
    """Files directly in `folders` (those that exist): part of a cache key, so added images rebuild the cache."""
    return sum(sum(1 for entry in os.scandir(folder) if entry.is_file()) for folder in folders if folder.is_dir())


def _walk_error(err: OSError) -> None:
    """os.walk's onerror: a folder it cannot list is named, not skipped silently."""
    raise DataFileError(f"{err.filename}: cannot list it ({err.strerror})")


def image_paths(root: Path) -> list[Path]:
    """Every image file under `root` at most MAX_DEPTH folders down, sorted. Hidden files and folders (`.git`,
    macOS's `._x.png`) are skipped; linked folders are followed, and one reached twice (a loop) is an error."""
    seen: dict[tuple[int, int], Path] = {}
    found = []
    for folder, dirs, files in os.walk(root, onerror=_walk_error, followlinks=True):
        here = Path(folder)
        stat = here.stat()
        if (stat.st_dev, stat.st_ino) in seen:
            raise DataFileError(f"{here}: the same folder as {seen[stat.st_dev, stat.st_ino]} (a linked folder "
                                "loop, or a second link to it): its images would be read again")
        seen[stat.st_dev, stat.st_ino] = here
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        depth = len(here.relative_to(root).parts)
        if dirs and depth >= MAX_DEPTH:
            raise DataFileError(f"{here / dirs[0]}: a folder {depth + 1} levels below {root}; data=folder reads "
                                f"images at most {MAX_DEPTH} folders down (is data.root the data's own folder?)")
        found += [here / name for name in files if not name.startswith(".")
                  and Path(name).suffix.lower() in IMAGE_SUFFIXES and (here / name).is_file()]
    return sorted(found)

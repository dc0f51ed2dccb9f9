"""Odd but unambiguous user files that the loaders accept, checked against hand-known labels and pixels: byte-order
marks, CRLF and CR line ends, blank lines, trailing blanks, grey/palette/CMYK/16-bit/1x1 images, hidden files,
linked folders. (The hostile ones, each an error line, are rows of tests/helpers/hostile_data.py.)"""

import codecs
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.label_files import (
    ATTR_HEADER,
    ATTR_ROWS,
    COLOURS,
    OBJECTS,
    TAGS_CLEAN,
    anime_tags,
    assert_colour,
    eyes,
    hair,
    save_image,
    write_anime,
    write_cartoon,
    write_iclevr,
)
from PIL import Image

from ganexp.data.files import ICLEVR, CartoonAttr, Folder
from ganexp.data.module import ImageData
from ganexp.data.reading import MAX_DEPTH, read_image
from ganexp.errors import DataFileError

CARTOON_LABELS = [[2, 0, 1], [0, 1, 0], [1, 1, 0]]  # ATTR_ROWS: hair, eye, glasses positions of the one 1
ANIME_LABELS = [[hair("blue"), eyes("red")], [hair("aqua"), eyes("yellow")]]  # TAGS_CLEAN, policy exact


def rewrite(path: Path, encode) -> None:
    """`path` saved again as `encode(text)` bytes."""
    path.write_bytes(encode(path.read_text()))


@pytest.mark.parametrize("encode", [
    lambda text: b"\xef\xbb\xbf" + text.encode(),  # Excel's "CSV UTF-8": a BOM first
    lambda text: text.replace("\n", "\r\n").encode(),  # Windows line ends
    lambda text: codecs.BOM_UTF16_LE + text.replace("\n", "\r\n").encode("utf-16-le"),  # Notepad's "Unicode"
])
def test_anime_tags_with_a_bom_crlf_or_utf16_read_as_plain_utf8(tmp_path, encode):
    write_anime(tmp_path, TAGS_CLEAN)
    rewrite(tmp_path / "tags_clean.csv", encode)
    data = anime_tags(str(tmp_path)).build()
    assert data.labels.tolist() == ANIME_LABELS
    assert_colour(data.images[1], COLOURS[3], atol=4)


def test_cartoon_attr_with_cr_line_ends_and_utf16_be(tmp_path):
    write_cartoon(tmp_path)
    rewrite(tmp_path / "cartoon_attr.txt", lambda text: text.replace("\n", "\r").encode())  # classic Mac OS
    assert CartoonAttr(str(tmp_path), image_size=8).build().labels.tolist() == CARTOON_LABELS
    rewrite(tmp_path / "cartoon_attr.txt", lambda text: text.encode("utf-16"))  # with its BOM, either byte order
    assert CartoonAttr(str(tmp_path), image_size=8).build().labels.tolist() == CARTOON_LABELS


def test_cr_line_ends_keep_line_numbers_right(tmp_path):
    write_cartoon(tmp_path, [*ATTR_ROWS[:2], "c.png 1 1 0 0 1 1 0"])
    rewrite(tmp_path / "cartoon_attr.txt", lambda text: text.replace("\n", "\r").encode())
    with pytest.raises(DataFileError, match=r"cartoon_attr\.txt line 5: group 'hair' needs exactly one 1"):
        CartoonAttr(str(tmp_path), image_size=8).build()


def test_blank_lines_and_trailing_blanks_are_ignored_and_line_numbers_kept(tmp_path):
    padded = [ATTR_HEADER[0] + "  ", ATTR_HEADER[1] + " \t", "", ATTR_ROWS[0] + "   ", "  ", ATTR_ROWS[1], "",
              ATTR_ROWS[2] + "\t"]
    write_cartoon(tmp_path, padded[2:], header=padded[:2])
    assert CartoonAttr(str(tmp_path), image_size=8).build().labels.tolist() == CARTOON_LABELS
    write_anime(tmp_path, [TAGS_CLEAN[0] + "  ", "", "   ", *TAGS_CLEAN[1:4], "", "7,blue hair:oops"])
    with pytest.raises(DataFileError, match=r"tags_clean\.csv line 8: expected"):
        anime_tags(str(tmp_path)).build()


def test_iclevr_json_with_a_bom_crlf_or_utf16(tmp_path):
    write_iclevr(tmp_path, {"b.png": ["red sphere"], "a.png": ["gray cube", "blue cylinder"]})
    train = json.dumps({"b.png": ["red sphere"], "a.png": ["gray cube", "blue cylinder"]}, indent=1)
    (tmp_path / "train.json").write_bytes(b"\xef\xbb\xbf" + train.replace("\n", "\r\n").encode())
    (tmp_path / "objects.json").write_bytes(json.dumps(OBJECTS).encode("utf-16"))
    (tmp_path / "test.json").write_bytes(b"\xef\xbb\xbf" + b'[["red sphere"],\r\n ["gray cube"]]')
    source = ICLEVR(str(tmp_path), image_size=10)
    torch.testing.assert_close(source.build().labels, torch.tensor([[1.0, 0, 1], [0, 1, 0]]))
    torch.testing.assert_close(source.test_sets()["test"], torch.tensor([[0.0, 1, 0], [1, 0, 0]]))


def test_iclevr_test_files_are_read_when_the_data_is_loaded_even_from_the_cache(tmp_path):
    write_iclevr(tmp_path, {"a.png": ["gray cube"], "b.png": ["red sphere"]})
    (tmp_path / "test.json").write_text(json.dumps([["gray cube"]]))

    def load() -> None:
        ImageData(ICLEVR(str(tmp_path), image_size=8), batch_size=1, cache_dir=str(tmp_path / "cache"), holdout=0,
                  seed=0).load()

    load()  # builds the cache
    (tmp_path / "test.json").write_text(json.dumps([["gray cube"], ["gold cone"]]))
    with pytest.raises(DataFileError, match=r"test\.json entry 1: unknown object 'gold cone'"):
        load()


def one_image(tmp_path: Path, img: Image.Image, name: str = "x.png", **save) -> torch.Tensor:
    """`img` saved as `name` and read back as the loaders read images, at 4 px."""
    img.save(tmp_path / name, **save)
    return read_image(tmp_path / name, "test", 4)


def test_grey_palette_and_one_pixel_images_become_rgb(tmp_path):
    assert_colour(one_image(tmp_path, Image.new("L", (6, 6), 90)), (90, 90, 90))
    assert_colour(one_image(tmp_path, Image.new("1", (6, 6), 1)), (255, 255, 255))
    assert_colour(one_image(tmp_path, Image.new("RGB", (1, 1), COLOURS[4])), COLOURS[4])  # upscaled, one colour
    palette = Image.new("P", (6, 6), 1)
    palette.putpalette([10, 20, 30, *COLOURS[2]] + [0] * 762)
    assert_colour(one_image(tmp_path, palette), COLOURS[2])
    assert_colour(one_image(tmp_path, palette, transparency=1), (255, 255, 255))  # see-through: white, as iCLEVR
    grey_alpha = Image.new("LA", (6, 6), (40, 0))
    assert_colour(one_image(tmp_path, grey_alpha), (255, 255, 255))


def test_sixteen_bit_grey_keeps_its_levels(tmp_path):
    levels = np.full((6, 6), 257 * 77, dtype=np.uint16)  # 16-bit 19789 is 8-bit 77; Pillow's convert gives 255
    assert_colour(one_image(tmp_path, Image.fromarray(levels)), (77, 77, 77))


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    cmyk = Image.new("CMYK", (6, 6), (0, 255, 255, 0))  # no cyan, full magenta and yellow: red
    assert_colour(one_image(tmp_path, cmyk, "x.jpg", quality=100), (255, 0, 0), atol=3)


def test_folder_skips_hidden_files_and_follows_linked_folders(tmp_path):
    root = tmp_path / "root"
    save_image(root / "a.png", COLOURS[0])
    (root / "._a.png").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")  # what Finder leaves on a USB stick
    save_image(root / ".ipynb_checkpoints" / "a-checkpoint.png", COLOURS[5])
    save_image(tmp_path / "elsewhere" / "b.png", COLOURS[1])
    (root / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    deep = root.joinpath(*"cdef"[:MAX_DEPTH])  # as deep as data=folder reads
    save_image(deep / "c.png", COLOURS[2])
    data = Folder(str(root), image_size=8).build()
    assert len(data) == 3
    for row, colour in enumerate([COLOURS[0], COLOURS[2], COLOURS[1]]):  # sorted: a.png, c/d/e/f/c.png, linked/b
        assert_colour(data.images[row], colour)

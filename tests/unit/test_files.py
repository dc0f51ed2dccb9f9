"""Loaders for users' own data files: tiny hand-written fixtures of each format, good and broken."""

import json
import os
import re

import pytest
import torch
from conftest import make_config
from helpers.label_files import (
    ATTR_HEADER,
    ATTR_ROWS,
    COLOURS,
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

from ganexp.data.faces import EYE_COLOURS, HAIR_COLOURS
from ganexp.data.files import ICLEVR, CartoonAttr, Folder, load_label_sets, load_objects
from ganexp.errors import ConfigError, DataFileError
from ganexp.schema import validate


def test_tags_clean_exact_keeps_one_hair_and_one_eye_colour(tmp_path):
    write_anime(tmp_path, TAGS_CLEAN)
    data = anime_tags(str(tmp_path), image_size=8).build()
    assert data.images.shape == (2, 3, 8, 8) and data.images.dtype == torch.uint8
    assert data.labels.dtype == torch.long
    assert data.labels.tolist() == [[hair("blue"), eyes("red")], [hair("aqua"), eyes("yellow")]]
    assert data.attributes == [("hair", list(HAIR_COLOURS)), ("eyes", list(EYE_COLOURS))]
    assert not data.multilabel
    assert_colour(data.images[0], COLOURS[0], atol=4)
    assert_colour(data.images[1], COLOURS[3], atol=4)  # the (aqua, yellow) row is face 3


def test_tags_clean_top_takes_the_highest_count_and_first_of_ties(tmp_path):
    write_anime(tmp_path, TAGS_CLEAN)
    data = anime_tags(str(tmp_path), image_size=8, policy="top").build()
    assert data.labels.tolist() == [
        [hair("blue"), eyes("red")],
        [hair("pink"), eyes("green")],
        [hair("aqua"), eyes("yellow")],
        [hair("red"), eyes("blue")],
    ]
    for row, face in enumerate([0, 1, 3, 4]):
        assert_colour(data.images[row], COLOURS[face], atol=4)
    assert len(anime_tags(str(tmp_path), image_size=8, policy="top", n=2).build()) == 2


@pytest.mark.parametrize("bad", ["abc", "7,blue hair:many\tred eyes:2", ",blue hair:1"])
def test_tags_clean_malformed_line_names_file_and_line(tmp_path, bad):
    write_anime(tmp_path, TAGS_CLEAN[:2] + [bad] + TAGS_CLEAN[2:])
    with pytest.raises(DataFileError, match=r"tags_clean\.csv line 3: expected \"id,tag:count<TAB>"):
        anime_tags(str(tmp_path)).build()


def test_tags_clean_no_images_left_says_which_filter_and_lines_read(tmp_path):
    write_anime(tmp_path, [TAGS_CLEAN[1], TAGS_CLEAN[2], TAGS_CLEAN[5]])
    with pytest.raises(DataFileError, match=r"tags_clean\.csv: no images left after the 'exact' .*3 lines read"):
        anime_tags(str(tmp_path)).build()


def test_missing_image_names_it_and_the_line(tmp_path):
    write_anime(tmp_path, TAGS_CLEAN, ids=range(3))  # face 3 (kept, line 4) is missing
    with pytest.raises(DataFileError, match=r"tags_clean\.csv line 4: image file not found: .*faces[/\\]3\.jpg"):
        anime_tags(str(tmp_path), image_size=8).build()


def test_missing_label_file_names_the_expected_path(tmp_path):
    with pytest.raises(DataFileError, match=r"label file not found: .*tags_clean\.csv"):
        anime_tags(str(tmp_path)).key()
    with pytest.raises(DataFileError, match=r"label file not found: .*tags\.csv"):
        anime_tags(str(tmp_path), format="extra").build()


def test_unknown_options_are_rejected():
    with pytest.raises(ConfigError, match=r"data.source.policy='most': not one of exact, top"):
        validate(make_config("data=anime", "data.root=x", "data.source.policy=most"))
    with pytest.raises(ConfigError, match=r"data.source.format='csv': not one of tags_clean, extra"):
        validate(make_config("data=anime", "data.root=x", "data.source.format=csv"))


@pytest.mark.parametrize("overrides", ["data=shapes data.source.n=0",
                                       "data=toy_ring data.source.n=0", "data=folder data.root=x data.source.n=0",
                                       "data=iclevr data.root=x data.source.n=-1"])
def test_data_counts_have_a_range(overrides):
    n = overrides.rpartition("=")[2]
    with pytest.raises(ConfigError, match=rf"data\.source\.n={n}: must be >= 1"):
        validate(make_config(*overrides.split()))


def test_key_changes_with_the_label_file_images_and_settings(tmp_path):
    write_anime(tmp_path, TAGS_CLEAN)
    source = anime_tags(str(tmp_path), image_size=8)
    first = source.key()
    assert source.key() == first
    assert anime_tags(str(tmp_path), image_size=8, policy="top").key() != first
    (tmp_path / "tags_clean.csv").write_text("\n".join(TAGS_CLEAN[:4]) + "\n")
    second = source.key()
    assert second != first
    save_image(tmp_path / "faces" / "9.jpg", COLOURS[0])
    assert source.key() != second


def test_extra_tags(tmp_path):
    (tmp_path / "tags.csv").write_text("0,aqua hair aqua eyes\n1,blonde hair red eyes\n\n")
    save_image(tmp_path / "images" / "0.jpg", COLOURS[5])
    save_image(tmp_path / "images" / "1.jpg", COLOURS[3])
    data = anime_tags(str(tmp_path), image_size=8, format="extra").build()
    assert data.labels.tolist() == [[hair("aqua"), eyes("aqua")], [hair("blonde"), eyes("red")]]
    assert_colour(data.images[1], COLOURS[3], atol=4)


@pytest.mark.parametrize(
    ("bad", "message"),
    [("2,silver hair red eyes", "unknown hair colour 'silver'"), ("2,red hair", 'expected "id,<colour> hair')],
)
def test_extra_tags_bad_line(tmp_path, bad, message):
    (tmp_path / "tags.csv").write_text(f"0,aqua hair aqua eyes\n1,blonde hair red eyes\n{bad}\n")
    with pytest.raises(DataFileError, match=r"tags\.csv line 3: " + re.escape(message)):
        anime_tags(str(tmp_path), format="extra").build()


def test_cartoon_attr_groups_and_labels(tmp_path):
    write_cartoon(tmp_path)
    data = CartoonAttr(str(tmp_path), image_size=8).build()
    assert data.images.shape == (3, 3, 8, 8)
    assert data.labels.dtype == torch.long
    assert data.labels.tolist() == [[2, 0, 1], [0, 1, 0], [1, 1, 0]]
    assert data.attributes == [("hair", ["0", "1", "2"]), ("eye", ["0", "1"]), ("glasses", ["0", "1"])]
    for row in range(3):
        assert_colour(data.images[row], COLOURS[row])  # PNG: exact, and the black edge columns were cropped off


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["a.png 0 0 1 1 0 0 1", "b.png 1 0 0 0 1 1", ATTR_ROWS[2]], r" line 4: expected a file name and 7 values"),
        (["a.png 0 0 1 1 0 0 1", ATTR_ROWS[1], "c.png 1 1 0 0 1 1 0"], r" line 5: group 'hair' needs exactly one 1"),
        (["a.png 0 0 1 1 0 0 1", ATTR_ROWS[1], "c.png 0 1 0 0 0 1 0"], r" line 5: group 'eye' needs exactly one 1"),
        (["a.png 0 0 1 1 0 0 2", ATTR_ROWS[1], ATTR_ROWS[2]], r" line 3: values must be 0 or 1"),
        (ATTR_ROWS[:2], r": line 1 says 3 images but 2 data lines follow"),
    ],
)
def test_cartoon_attr_rejects_bad_lines(tmp_path, rows, message):
    write_cartoon(tmp_path, rows)
    with pytest.raises(DataFileError, match=r"cartoon_attr\.txt" + message):
        CartoonAttr(str(tmp_path), image_size=8).build()


def test_cartoon_attr_bad_header(tmp_path):
    write_cartoon(tmp_path, header=["three", ATTR_HEADER[1]])
    with pytest.raises(DataFileError, match=r"cartoon_attr\.txt line 1: expected the image count"):
        CartoonAttr(str(tmp_path), image_size=8).build()
    write_cartoon(tmp_path, header=["3", "hair_0 hair_1 glasses"])
    with pytest.raises(DataFileError, match=r"cartoon_attr\.txt line 2: attribute name 'glasses'"):
        CartoonAttr(str(tmp_path), image_size=8).build()


def test_corrupt_image_names_it_and_pil_reason(tmp_path):
    write_cartoon(tmp_path)
    (tmp_path / "c.png").write_bytes(b"\x89PNG not really an image")
    with pytest.raises(DataFileError, match=r"cartoon_attr\.txt line 5: cannot read image .*c\.png: cannot identify"):
        CartoonAttr(str(tmp_path), image_size=8).build()


def test_cartoon_missing_image_names_both_places_looked(tmp_path):
    write_cartoon(tmp_path)
    (tmp_path / "images" / "b.png").unlink()
    with pytest.raises(DataFileError, match=r" line 4: image file not found: .*b\.png or .*images[/\\]b\.png"):
        CartoonAttr(str(tmp_path), image_size=8).build()


def test_iclevr_multi_hot_and_rgba_on_white(tmp_path):
    write_iclevr(tmp_path, {"b.png": ["red sphere"], "a.png": ["gray cube", "blue cylinder"]})
    data = ICLEVR(str(tmp_path), image_size=10).build()
    assert data.multilabel
    assert data.attributes == [("objects", ["gray cube", "red sphere", "blue cylinder"])]
    assert data.labels.dtype == torch.float32
    torch.testing.assert_close(data.labels, torch.tensor([[1.0, 0, 1], [0, 1, 0]]))  # a.png first: sorted names
    assert data.images.shape == (2, 3, 10, 10)
    assert data.images[0, :, 0].eq(255).all()  # transparent -> white
    assert data.images[0, :, 9].tolist() == [[200] * 10, [0] * 10, [0] * 10]
    torch.testing.assert_close(data.images[0, :, 5, 0].float(), torch.full((3,), 127.0), atol=1, rtol=0)  # half
    assert_colour(data.images[1], (0, 150, 0))
    assert ICLEVR(str(tmp_path), image_size=4).build().images.shape == (2, 3, 4, 4)


def test_iclevr_unknown_object_names_file_and_key(tmp_path):
    write_iclevr(tmp_path, {"a.png": ["gray cube"], "b.png": ["purple torus"]})
    with pytest.raises(DataFileError, match=re.escape("train.json entry 'b.png': unknown object 'purple torus'")):
        ICLEVR(str(tmp_path), image_size=8).build()


def test_iclevr_missing_image_names_the_entry(tmp_path):
    write_iclevr(tmp_path, {"a.png": ["gray cube"], "z.png": ["red sphere"]})
    with pytest.raises(DataFileError, match=r"train\.json entry 'z\.png': image file not found: .*z\.png"):
        ICLEVR(str(tmp_path), image_size=8).build()


def test_iclevr_test_sets(tmp_path):
    write_iclevr(tmp_path, {"a.png": ["gray cube"]})
    (tmp_path / "test.json").write_text(json.dumps([["gray cube"], ["red sphere", "blue cylinder"]]))
    sets = ICLEVR(str(tmp_path), image_size=8).test_sets()
    assert list(sets) == ["test"]  # new_test.json is absent
    torch.testing.assert_close(sets["test"], torch.tensor([[1.0, 0, 0], [0, 1, 1]]))
    (tmp_path / "new_test.json").write_text(json.dumps([["gray cube"], ["green torus"]]))
    with pytest.raises(DataFileError, match=r"new_test\.json entry 1: unknown object 'green torus'"):
        ICLEVR(str(tmp_path), image_size=8).test_sets()
    (tmp_path / "bad.json").write_text('[["gray cube"],\n oops]')
    with pytest.raises(DataFileError, match=r"bad\.json line 2: invalid JSON"):
        load_label_sets(str(tmp_path / "bad.json"), load_objects(tmp_path / "objects.json"))


def test_iclevr_key_changes_with_train_json(tmp_path):
    write_iclevr(tmp_path, {"a.png": ["gray cube"]})
    first = ICLEVR(str(tmp_path), image_size=8).key()
    (tmp_path / "train.json").write_text(json.dumps({"a.png": ["gray cube"], "b.png": ["red sphere"]}))
    assert ICLEVR(str(tmp_path), image_size=8).key() != first


# --------------------------------------------------------------------------------------------------------- folder
def test_folder_loads_every_image_recursively_sorted(tmp_path):
    save_image(tmp_path / "b.PNG", COLOURS[1])
    save_image(tmp_path / "a.png", COLOURS[0])
    save_image(tmp_path / "sub" / "c.bmp", COLOURS[2])
    (tmp_path / "notes.txt").write_text("not an image")
    data = Folder(str(tmp_path), image_size=8).build()
    assert data.images.shape == (3, 3, 8, 8)
    for row in range(3):
        assert_colour(data.images[row], COLOURS[row])
    assert data.labels.tolist() == [[0], [0], [0]] and data.labels.dtype == torch.long
    assert data.attributes == [("image", ["any"])]
    assert data.conditions().tolist() == [[0]]  # torch.unique(dim=0) works on the constant label
    assert len(Folder(str(tmp_path), image_size=8, n=2).build()) == 2
    first = Folder(str(tmp_path), image_size=8).key()
    save_image(tmp_path / "d.jpg", COLOURS[3])
    assert Folder(str(tmp_path), image_size=8).key() != first


def test_folder_errors_name_the_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFileError, match=r"empty: no image files"):
        Folder(str(tmp_path / "empty"), image_size=8).build()
    with pytest.raises(DataFileError, match=r"image folder not found: .*nowhere"):
        Folder(str(tmp_path / "nowhere"), image_size=8).key()
    (tmp_path / "empty" / "x.png").write_bytes(b"garbage")
    with pytest.raises(DataFileError, match=r"cannot read image .*x\.png"):
        Folder(str(tmp_path / "empty"), image_size=8).build()


def test_root_expands_user(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    save_image(tmp_path / "data" / "a.png", COLOURS[0])
    assert len(Folder(os.path.join("~", "data"), image_size=8).build()) == 1

"""The procedural iCLEVR-like scenes: label sets, determinism, each label drawn in its colour and shape, and the
shipped evaluation files. Renders of one seed share their nuisance (positions, sizes, floor), so labels isolate."""

import json
from pathlib import Path

import pytest
import torch

from ganexp.data import shapes
from ganexp.data.shapes import COLOURS, OBJECTS, SHAPES, multi_hot, render_shapes, sample_label_sets

DATA = Path(shapes.__file__).parent


def _single(name: str, n: int = 8, size: int = 64, seed: int = 7) -> torch.Tensor:
    """float (n, 3, S, S): n scenes holding only `name`, or nothing for name=None."""
    label = OBJECTS.index(name) if name else -1
    return render_shapes(torch.full((n, 1), label), size, seed).float()


def _object_mask(shape: str) -> torch.Tensor:
    """bool (n, S, S): the pixels a red and a blue object of `shape` colour differently, i.e. the object itself
    (its shadow is the same whatever the colour)."""
    return (_single(f"red {shape}") - _single(f"blue {shape}")).abs().sum(1) > 0


def _box_stats(masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(fill ratio of the bounding box, height / width) per mask."""
    fill, aspect = [], []
    for mask in masks:
        rows, cols = mask.any(1).nonzero()[:, 0], mask.any(0).nonzero()[:, 0]
        height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        fill.append(mask.sum() / (height * width))
        aspect.append(height / width)
    return torch.stack(fill), torch.stack(aspect)


def test_label_sets_hold_one_to_three_distinct_objects():
    sets = sample_label_sets(3000, seed=0)
    assert sets.shape == (3000, 3) and sets.dtype == torch.long
    present = sets >= 0
    assert (sets[~present] == -1).all() and sets.max() < len(OBJECTS)
    count = present.sum(1)
    assert (present[:, 0]).all() and torch.equal(present, torch.arange(3) < count[:, None])  # padding at the end
    assert torch.bincount(count, minlength=4)[1:].min() > 3000 / 3 * 0.9  # roughly uniform in 1..3
    assert all(len(set(row)) == len(row) for row in (s[s >= 0].tolist() for s in sets))
    assert torch.bincount(sets[present]).min() > 0  # every object is used
    assert (sample_label_sets(200, seed=1, max_objects=1)[:, 1:] == -1).all()
    assert torch.equal(sample_label_sets(50, seed=4), sample_label_sets(50, seed=4))
    assert not torch.equal(sample_label_sets(50, seed=4), sample_label_sets(50, seed=5))
    with pytest.raises(ValueError):
        sample_label_sets(5, seed=0, max_objects=4)


def test_multi_hot_marks_each_object_once():
    sets = sample_label_sets(500, seed=2)
    hot = multi_hot(sets)
    assert hot.shape == (500, 24) and hot.dtype == torch.float32
    torch.testing.assert_close(hot.sum(1), (sets >= 0).sum(1).float())
    assert multi_hot(torch.tensor([[3, -1, -1], [0, 23, 5]])).nonzero().tolist() == [[0, 3], [1, 0], [1, 5], [1, 23]]


def test_deterministic_and_image_i_independent_of_n():
    sets = sample_label_sets(8, seed=1)
    first = render_shapes(sets, 32, seed=5)
    assert torch.equal(first, render_shapes(sets, 32, seed=5))
    assert not torch.equal(first, render_shapes(sets, 32, seed=6))
    assert torch.equal(first[:4], render_shapes(sets[:4], 32, seed=5))  # image i depends on (seed, i) only
    many = sample_label_sets(20, seed=1)
    big = render_shapes(many, 128, seed=5)  # 128 px: 16 images a chunk, so this crosses a chunk boundary
    assert torch.equal(big[16:], render_shapes(many, 128, seed=5)[16:])
    assert torch.equal(big[:3], render_shapes(many[:3], 128, seed=5))
    assert (first[1:].float() - first[0].float()).abs().mean((1, 2, 3)).min() > 2  # no two scenes alike


@pytest.mark.parametrize("size", [32, 64])
def test_shape_and_dtype(size):
    images = render_shapes(sample_label_sets(3, seed=0), size, seed=0)
    assert images.shape == (3, 3, size, size) and images.dtype == torch.uint8
    assert render_shapes(torch.zeros(0, 3, dtype=torch.long), size, seed=0).shape == (0, 3, size, size)


def test_colour_label_recolours_only_the_object():
    red, blue, empty = _single("red sphere", size=32), _single("blue sphere", size=32), _single(None, size=32)
    changed = (red - blue).abs().sum(1) > 0
    drawn = (red - empty).abs().sum(1) > 0  # the object and its shadow
    assert (changed & ~drawn).sum() == 0  # the colour changes nothing outside the object
    area = changed.float().mean((1, 2))
    assert area.min() > 0.02 and area.max() < 0.2  # a small object, in every image
    for image, mask, reddish in [(red, changed, True), (blue, changed, False)]:
        r, b = (image.movedim(1, -1)[mask].mean(0)[[0, 2]]).tolist()
        assert (r > b + 40) if reddish else (b > r + 40)


@pytest.mark.parametrize("colour", range(len(COLOURS)))
def test_each_colour_is_drawn_near_its_palette_value(colour):
    name = COLOURS[colour]
    other = "yellow" if name != "yellow" else "blue"
    image, other_image = _single(f"{name} cube", size=32), _single(f"{other} cube", size=32)
    mask = (image - other_image).abs().sum(1) > 0
    mean = image.movedim(1, -1)[mask].mean(0)
    nearest = (shapes.COLOUR_RGB - mean).norm(dim=1).argmin()
    assert nearest == colour  # shading keeps the hue: the mean object colour is nearest its own palette entry


def test_shapes_have_their_own_silhouettes():
    fill, aspect = {}, {}
    for shape in SHAPES:
        fill[shape], aspect[shape] = _box_stats(_object_mask(shape))
    # Same positions and sizes: a cube fills the corners of its bounding box, a sphere is round (pi / 4 = 0.79),
    # a cylinder is taller than wide.
    assert fill["cube"].min() > fill["sphere"].max()
    assert fill["sphere"].mean() == pytest.approx(torch.pi / 4, abs=0.05)
    assert aspect["cylinder"].min() > max(aspect["cube"].max(), aspect["sphere"].max())
    cube, sphere = _object_mask("cube"), _object_mask("sphere")
    assert ((cube ^ sphere).sum((1, 2)) > 0.2 * sphere.sum((1, 2))).all()


def test_objects_of_one_scene_sit_apart():
    sets = torch.tensor([[OBJECTS.index("red cube"), OBJECTS.index("blue sphere"), OBJECTS.index("green cylinder")]])
    sets = sets.repeat(16, 1)
    changed = []
    for slot in range(3):  # recolour one object at a time: where it is drawn (after occlusion)
        other = sets.clone()
        other[:, slot] = OBJECTS.index("yellow " + OBJECTS[sets[0, slot]].split()[1])
        changed.append((render_shapes(sets, 32, 3).float() - render_shapes(other, 32, 3).float()).abs().sum(1) > 0)
    centres = torch.stack([(m * torch.arange(32.0)).sum((1, 2)) / m.sum((1, 2)) for m in changed], 1)  # mean x
    gaps = (centres[:, :, None] - centres[:, None, :]).abs() + 99 * torch.eye(3)
    assert (gaps.amin((1, 2)) > 4).all()  # distinct horizontal slots, even after jitter
    assert all((m.sum((1, 2)) > 8).all() for m in changed)  # none hidden behind another


def test_shipped_files_are_the_documented_label_sets(tmp_path):
    loaded = {name: json.loads((DATA / file).read_text()) for name, file in shapes.TEST_FILES.items()}
    for sets in loaded.values():
        assert len(sets) == 32
        assert all(1 <= len(names) <= 3 and len(set(names)) == len(names) for names in sets)
        assert all(name in OBJECTS for names in sets for name in names)
    assert {len(names) for names in loaded["test"]} == {1, 2, 3}
    for names in loaded["new_test"]:
        shape_of = {name.split()[1] for name in names}
        colour_of = {name.split()[0] for name in names}
        assert len(names) == 3 and (len(shape_of) == 1 or len(colour_of) == 1)  # what makes it harder

    shapes.write_test_files(tmp_path)
    for file in shapes.TEST_FILES.values():
        assert (tmp_path / file).read_bytes() == (DATA / file).read_bytes()

    hot = shapes.test_sets()
    assert set(hot) == {"test", "new_test"}
    for name, sets in loaded.items():
        assert hot[name].shape == (32, 24) and hot[name].dtype == torch.float32
        assert hot[name].sum(1).tolist() == [len(names) for names in sets]
        assert hot[name][0, [OBJECTS.index(n) for n in sets[0]]].eq(1).all()

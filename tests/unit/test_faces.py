"""The procedural faces: deterministic, the right shapes, and each attribute changes the pixels it should, to the
colour it names. Variants of one batch share their nuisance (pose, style, background), so label effects isolate."""

import pytest
import torch
import torch.nn.functional as F

from ganexp.data.faces import EYE_RGB, HAIR_COLOURS, HAIR_RGB, render_faces, sample_labels

N = 16  # faces per variant


def _variants(attribute: int, values: int, size: int = 32) -> torch.Tensor:
    """float (values, N, 3, S, S): the same N faces with `attribute` set to 0, 1, ... (no glasses unless varied)."""
    base = sample_labels(N, seed=3)
    base[:, 3] = 0
    stack = []
    for value in range(values):
        labels = base.clone()
        labels[:, attribute] = value
        stack.append(render_faces(labels, size, seed=11).float())
    return torch.stack(stack)


def _changed(variants: torch.Tensor) -> torch.Tensor:
    """bool (N, S, S): pixels that differ between any two variants."""
    return (variants - variants[:1]).abs().sum(2).amax(0) > 0


def _pixels(images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(..., N, 3, S, S) and bool (N, S, S) -> (..., P, 3) RGB of the masked pixels."""
    return images.movedim(-3, -1)[..., mask, :]


def test_deterministic_and_seeded():
    labels = sample_labels(40, seed=1)
    first = render_faces(labels, 32, seed=5)
    assert torch.equal(first, render_faces(labels, 32, seed=5))
    assert not torch.equal(first, render_faces(labels, 32, seed=6))
    assert torch.equal(first[:7], render_faces(labels[:7], 32, seed=5))  # image i depends on (seed, i) only
    big = render_faces(labels[:20], 128, seed=5)  # 128 px crosses a chunk boundary
    assert torch.equal(big, render_faces(labels[:20], 128, seed=5))


@pytest.mark.parametrize("size", [32, 64, 128])
def test_shape_and_dtype(size):
    images = render_faces(sample_labels(3, seed=0), size, seed=0)
    assert images.shape == (3, 3, size, size) and images.dtype == torch.uint8
    assert render_faces(torch.zeros(0, 4, dtype=torch.long), size, seed=0).shape == (0, 3, size, size)


def test_sample_labels_ranges_and_constant_attributes():
    labels = sample_labels(3000, seed=0)
    assert labels.shape == (3000, 4) and labels.dtype == torch.long
    for column, k in enumerate((12, 10, 3, 2)):
        assert labels[:, column].unique().tolist() == list(range(k))
    counts = torch.bincount(labels[:, 0])
    assert counts.min() > 3000 / 12 * 0.7  # roughly uniform
    few = sample_labels(500, seed=0, hair=3, eyes=2, face=1, glasses=1)
    assert few[:, 0].max() == 2 and few[:, 1].max() == 1 and (few[:, 2:] == 0).all()
    assert torch.equal(sample_labels(50, seed=4), sample_labels(50, seed=4))
    assert not torch.equal(sample_labels(50, seed=4), sample_labels(50, seed=5))


def test_nuisance_varies_across_images_with_the_same_labels():
    labels = sample_labels(1, seed=0).repeat(N, 1)
    images = render_faces(labels, 32, seed=0).float()
    assert (images[1:] - images[0]).abs().mean((1, 2, 3)).min() > 5  # no two faces alike
    hair = _changed(torch.stack([render_faces(labels.index_fill(1, torch.tensor([0]), h), 32, 0) for h in (0, 6)]))
    areas = hair.float().mean((1, 2))
    assert areas.max() - areas.min() > 0.1  # hair styles differ in size, not only in position
    lowest_row = (hair.any(2) * torch.arange(32)).amax(1)
    assert (lowest_row == 31).any() and (lowest_row < 26).any()  # long hair or tails in some, short cuts in others


def test_hair_label_recolours_a_hair_region_to_its_palette_colour():
    images = _variants(0, len(HAIR_COLOURS))
    hair = _changed(images)
    area = hair.float().mean((1, 2))
    assert area.min() > 0.12 and area.max() < 0.6  # a region around the head, not the whole image
    medians = _pixels(images, hair).median(1).values
    torch.testing.assert_close(medians, HAIR_RGB, atol=32, rtol=0)
    assert torch.cdist(medians, HAIR_RGB).argmin(1).tolist() == list(range(len(HAIR_COLOURS)))


def test_hair_colours_pairwise_distinguishable_over_a_batch():
    """Per-class mean RGB of the hair pixels (found by re-rendering with another hair colour) over a random batch."""
    labels = sample_labels(360, seed=0)
    images = render_faces(labels, 32, seed=0).float()
    other = labels.clone()
    other[:, 0] = (labels[:, 0] + 6) % 12
    hair = (images - render_faces(other, 32, seed=0).float()).abs().sum(1) > 0
    means = torch.stack([_pixels(images[labels[:, 0] == h], hair[labels[:, 0] == h]).mean(0) for h in range(12)])
    distance = torch.cdist(means, means) + torch.eye(12) * 1e9
    assert distance.min() > 50, distance.min()


def test_eye_colour_changes_two_small_regions_to_its_palette_colour():
    images = _variants(1, len(EYE_RGB))
    eyes = _changed(images)
    area = eyes.float().mean((1, 2))
    assert area.min() > 0.015 and area.max() < 0.08  # two eyes of about 4x5 px at 32 px
    columns = torch.arange(32.0)
    for mask in eyes:  # as many changed pixels left as right of their centre: two eyes, not one blob off-centre
        cols = columns.expand(32, 32)[mask]
        left = (cols < cols.mean()).sum()
        assert 0.6 < left / (len(cols) - left) < 1.6
    core = (images[3] - images[9]).abs().sum(1) > 200  # yellow vs blue: the iris proper, not its blended rim
    medians = _pixels(images, core).median(1).values
    assert torch.cdist(medians, EYE_RGB).argmin(1).tolist() == list(range(len(EYE_RGB)))


def test_glasses_draw_dark_frames_around_the_eyes():
    plain, glasses = _variants(3, 2)
    frame = (plain - glasses).abs().sum(1) > 0
    area = frame.float().mean((1, 2))
    assert area.min() > 0.05 and area.max() < 0.25
    dark = glasses.sum(1) < 3 * 80
    assert (dark & frame).sum() > 0.3 * frame.sum()  # a good part of what changed became the dark frame
    eyes = _changed(_variants(1, 2))
    rows = torch.arange(32.0).view(1, 32, 1).expand_as(frame)
    torch.testing.assert_close(rows[frame].mean(), rows[eyes].mean(), atol=2.0, rtol=0)  # frames sit on the eyes


def test_face_colour_changes_the_skin_from_light_to_dark():
    images = _variants(2, 3)
    skin = _changed(images)
    assert 0.1 < skin.float().mean() < 0.45
    brightness = _pixels(images, skin).mean((1, 2))
    assert brightness[0] > brightness[1] + 20 and brightness[1] > brightness[2] + 20


def test_sizes_draw_the_same_faces_with_smooth_sharp_edges():
    """Geometry is in face units and edges are anti-aliased: a 128 px render pooled 4x is close to the 32 px one
    (about 5 levels; hard-edged drawing measured about 10); at 128 px edges stay sharp (a few px of blur fails)."""
    labels = sample_labels(N, seed=2)
    small = render_faces(labels, 32, seed=1).float()
    large = render_faces(labels, 128, seed=1).float()
    assert (small - F.avg_pool2d(large, 4)).abs().mean() < 7.5
    assert (small - render_faces(labels, 32, seed=2).float()).abs().mean() > 20  # other faces are far from it
    sharpest_step = (large[..., 1:] - large[..., :-1]).abs().sum(1).amax((1, 2))  # per image, summed over RGB
    assert sharpest_step.median() > 400

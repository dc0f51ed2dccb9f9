"""The procedural faces: deterministic, the right shapes, and each attribute changes the pixels it should."""

import pytest
import torch

from ganexp.data.faces import EYE_RGB, HAIR_COLOURS, HAIR_RGB, render_faces, sample_labels


def test_deterministic_and_seeded():
    labels = sample_labels(16, seed=1)
    a, b = render_faces(labels, 32, seed=5), render_faces(labels, 32, seed=5)
    assert torch.equal(a, b)
    assert not torch.equal(a, render_faces(labels, 32, seed=6))


@pytest.mark.parametrize("size", [32, 64, 128])
def test_shape_and_dtype(size):
    images = render_faces(sample_labels(3, seed=0), size, seed=0)
    assert images.shape == (3, 3, size, size) and images.dtype == torch.uint8


def test_sample_labels_ranges_and_constant_attributes():
    labels = sample_labels(2000, seed=0, face=1, glasses=1)
    assert labels[:, 0].unique().tolist() == list(range(12)) and labels[:, 1].unique().tolist() == list(range(10))
    assert (labels[:, 2:] == 0).all()


def _one_by_one(labels: torch.Tensor, size: int, seed: int) -> torch.Tensor:
    """Each row rendered alone with the same seed: identical nuisance (pose, style, background), other labels."""
    return torch.cat([render_faces(row[None], size, seed) for row in labels]).float()


def _nearest(colours: torch.Tensor, palette: torch.Tensor) -> torch.Tensor:
    return torch.cdist(colours, palette).argmin(1)


def test_hair_label_changes_hair_pixels_to_its_colour():
    """Same nuisance seed, every hair colour: the pixels that change take the requested palette colour."""
    base = sample_labels(1, seed=3).repeat(12, 1)
    base[:, 0] = torch.arange(12)
    images = _one_by_one(base, 64, seed=11)
    changed = (images - images[:1]).abs().sum(1).amax(0) > 0  # pixels that differ between hair colours
    assert 0.1 < changed.float().mean() < 0.7  # hair is a region, not the whole image
    hair_pixels = images.permute(0, 2, 3, 1)[:, changed]  # (12, P, 3)
    # the median colour over the changed region is the palette entry (up to shading)
    medians = hair_pixels.median(1).values
    assert _nearest(medians, HAIR_RGB).tolist() == list(range(12))


def test_hair_colours_pairwise_distinguishable_over_a_batch():
    labels = sample_labels(600, seed=0)
    images = render_faces(labels, 32, seed=0).float()
    means = torch.stack([images[labels[:, 0] == h].mean((0, 2, 3)) for h in range(len(HAIR_COLOURS))])
    dist = torch.cdist(means, means) + torch.eye(12) * 1e9
    assert dist.min() > 8  # mean RGB of any two hair classes differs by more than 8 levels


def test_eye_colour_changes_only_the_eyes():
    base = sample_labels(1, seed=4).repeat(10, 1)
    base[:, 1], base[:, 3] = torch.arange(10), 0
    images = _one_by_one(base, 64, seed=2)
    changed = (images - images[:1]).abs().sum(1).amax(0) > 0
    assert 0.005 < changed.float().mean() < 0.08  # two small regions
    medians = images.permute(0, 2, 3, 1)[:, changed].median(1).values
    assert _nearest(medians, EYE_RGB).tolist() == list(range(10))


def test_glasses_add_dark_frames():
    base = sample_labels(1, seed=5).repeat(2, 1)
    base[:, 3] = torch.tensor([0, 1])
    plain, glasses = _one_by_one(base, 64, seed=1)
    changed = (plain - glasses).abs().sum(0) > 0
    assert changed.any()
    assert glasses[:, changed].mean() < plain[:, changed].mean() - 50  # the changed pixels became dark frames

"""The faces' looks (hair style, bangs): evaluator-only labels. The data draws them as before and carries them beside
its labels, G's and D's label space stays as it was, and a second evaluator learns them (a cache key of its own).

Its pure metric (`collapse/style_entropy`): tests/unit/test_eval_metrics.py; its run: tests/integration/
test_looks_runs.py."""

import hashlib

import pytest
import torch
from helpers.one_thread import one_thread  # noqa: F401 (an autouse fixture)

from ganexp.data.faces import BANGS, STYLES, _nuisance, sample_looks
from ganexp.data.module import ImageData, holdout_last
from ganexp.data.sources import Faces
from ganexp.eval import evaluator as ev
from ganexp.eval.images import load_evaluator, load_look_evaluator


def sha256(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.contiguous().numpy().tobytes()).hexdigest()


def test_the_looks_are_what_the_nuisance_drew():
    data = Faces(n=40, image_size=32, seed=7, untagged=0.0).build()
    drawn = _nuisance(40, 7)
    assert data.looks.dtype == torch.long and data.looks.shape == (40, 2)
    assert torch.equal(data.looks[:, 0], drawn["style"].flatten()) and torch.equal(data.looks[:, 1],
                                                                                    drawn["bangs"].flatten())
    assert data.look_attributes == [("style", list(STYLES)), ("bangs", list(BANGS))] and data.look_groups == [4, 3]
    assert set(data.looks[:, 0].tolist()) == {0, 1, 2, 3} and set(data.looks[:, 1].tolist()) == {0, 1, 2}
    assert torch.equal(sample_looks(9, 7), data.looks[:9])  # image i's looks depend on (seed, i) only
    # no condition: G and D see the hair and eye colours alone, as before
    space = data.label_space()
    assert space.groups == [12, 10] and [name for name, _ in space.attributes] == ["hair", "eyes"]
    assert torch.equal(space.conditions, torch.unique(data.labels, dim=0))


def test_the_looks_follow_their_images():
    """Held out (reordered) or untagged, an image keeps its own looks."""
    data = Faces(n=40, image_size=32, seed=7, untagged=0.0).build()
    moved = holdout_last(data, 10)
    flat = data.images.flatten(1)
    source = [int((flat == image).all(1).nonzero()) for image in moved.images.flatten(1)]  # each image's old index
    assert sorted(source) == list(range(40)) and source != list(range(40))
    assert torch.equal(moved.looks, data.looks[source]) and torch.equal(moved.labels, data.labels[source])
    untagged = Faces(n=40, image_size=32, seed=7, untagged=0.5).build()
    assert torch.equal(untagged.looks, data.looks) and untagged.look_attributes == data.look_attributes


@pytest.mark.parametrize(("settings", "images", "labels"), [
    ({"n": 48, "image_size": 32, "seed": 7, "untagged": 0.0},
     "d0ccbd1812abb6b6fa0770810f6198cbd31dcb0a296b4b639c445e2d90fc18e2",
     "8b3cfaf76dde52f997a364dba03be89a11665f4ef202ce275252bcf930505f07"),
    ({"n": 12, "image_size": 64, "seed": 3, "untagged": 0.25},
     "9854fc5aecfa2153d40204a4e33a7711cec725ca08322807b8d7ee7df3442deb",
     "b4916002aa28b9f9c9638d8b1b78c9dc0978d214b741a7e1500d745642bf1ae6"),
])
def test_the_images_and_labels_are_those_drawn_before_looks(settings, images, labels):
    """sha256 of the pixels and labels, computed with the code of commit 87f0dd0 (before looks existed): the same
    seed gives the same data set (a CPU that rounds a float differently could move an edge pixel by 1)."""
    data = Faces(**settings).build()
    assert sha256(data.images) == images and sha256(data.labels) == labels


def squares(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Grey 16 px images with a coloured square: colour (3 values) and quadrant (4 values) as labels."""
    gen = torch.Generator().manual_seed(0)
    labels = torch.stack([torch.randint(3, (n,), generator=gen), torch.randint(4, (n,), generator=gen)], 1)
    images = torch.full((n, 3, 16, 16), 128, dtype=torch.uint8)
    palette = torch.tensor([[230, 30, 30], [30, 200, 30], [30, 30, 230]], dtype=torch.uint8)
    for image, (colour, quadrant) in zip(images, labels.tolist(), strict=True):
        y, x = 8 * (quadrant // 2) + 1, 8 * (quadrant % 2) + 1
        image[:, y:y + 6, x:x + 6] = palette[colour][:, None, None]
    return images, labels


def test_the_look_evaluator_is_a_network_of_its_own(tmp_path):
    """Faces get two evaluators: the first, whose features every distance reads, under the cache file it had before
    looks existed (a key of commit 87f0dd0's), and a second one for style and bangs under another."""
    images, labels = squares(96)
    settings = {"epochs": 1, "batch_size": 32, "width": 4, "feature_dim": 8, "seed": 3}
    ev.load_or_train(tmp_path, "squares", images, labels, [3, 4], False, floor=0.0, **settings)
    assert [p.name for p in tmp_path.glob("*.pt")] == ["evaluator-56587f5b330b5c8a.pt"]
    data = ImageData(Faces(n=240, image_size=32, seed=7, untagged=0.0), 16, str(tmp_path / "faces"), holdout=40,
                     seed=0)
    kwargs = {"epochs": 1, "batch_size": 32, "width": 4, "feature_dim": 8}
    first, looks = load_evaluator(data, 0.0, **kwargs), load_look_evaluator(data, **kwargs)
    assert first.groups == [12, 10] and looks.groups == [4, 3]  # hair, eyes | style, bangs
    assert len(list((tmp_path / "faces").glob("evaluator-*.pt"))) == 2
    assert ev.digest(load_look_evaluator(data, **kwargs)) == ev.digest(looks)  # loaded back from its cache
    plain = ImageData(Faces(n=240, image_size=32, seed=7, untagged=0.0), 16, str(tmp_path / "faces"), holdout=40,
                      seed=0)
    plain.load().looks = None  # data without looks: no look evaluator
    assert load_look_evaluator(plain, **kwargs) is None


def test_the_look_evaluator_learns_style_and_bangs():
    """A short training on 2,400 faces at 32 px (4 epochs, 240 steps): held-out accuracy over style and bangs 0.958
    on the dev CPU in ~4 s, against chance (1/4 + 1/3) / 2 = 0.29. Faces of seeds 1-5: 0.958 (these), 0.978, 0.946,
    0.955, 0.955 (6 epochs: 0.98-1.0; 4 epochs on 1,600 faces: 0.80-0.93, too close to 0.85)."""
    data = Faces(n=2400, image_size=32, seed=1, untagged=0.0, hair=2, eyes=2).build()
    _, acc = ev.train_evaluator(data.images, data.looks, data.look_groups, False, epochs=4, batch_size=32, lr=4e-3,
                                width=12, feature_dim=32, holdout_fraction=0.2)
    assert acc >= 0.85

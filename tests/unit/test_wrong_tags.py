"""Untagged images (`data.source.untagged`, a "none" value per attribute group) and where a matching-aware D's
wrong tags come from (`model.wrong_sampling`): the report's claim that drawing them from the data (half "none")
teaches D to spot untagged images, and that drawing the colours uniformly fixes it. Also: acc/cond skips "none".

Its in-process runs and builds: tests/integration/test_wrong_tags_runs.py."""

import math

import torch
from helpers.masks import share
from torch.testing import assert_close

from ganexp.data.module import ImageData, fully_tagged, untagged_values
from ganexp.data.sources import Faces
from ganexp.eval import images as eval_images
from ganexp.eval.metrics import condition_accuracy
from ganexp.modules.cgan import other_combination, other_condition, real_values, shifted_labels
from ganexp.nets.text import sentences

ATTRIBUTES = [("hair", ["blue", "red", "green", "none"]), ("eyes", ["red", "aqua", "none"])]
NONE = torch.tensor([3, 2])
DRAWS = 20_000


def half_untagged(n: int = DRAWS, seed: int = 0) -> torch.Tensor:
    """long (n, 2): half the rows (hair, eyes) uniform over 3 x 2 colours, half ("none", "none"), shuffled."""
    gen = torch.Generator().manual_seed(seed)
    tagged = torch.stack([torch.randint(3, (n // 2,), generator=gen), torch.randint(2, (n // 2,), generator=gen)], 1)
    labels = torch.cat([tagged, NONE.expand(n - n // 2, 2)])
    return labels[torch.randperm(n, generator=gen)]


def test_untagged_faces_get_a_none_value_and_keep_their_images():
    plain = Faces(n=64, image_size=32, seed=3, untagged=0.0, hair=6, eyes=4, face=3, glasses=2).build()
    half = Faces(n=64, image_size=32, seed=3, untagged=0.5, hair=6, eyes=4, face=3, glasses=2).build()
    assert [values[-1] for _, values in half.attributes] == ["none"] * 4
    assert [values[:-1] for _, values in half.attributes] == [values for _, values in plain.attributes]
    assert half.groups == [7, 5, 4, 3] and half.untagged == [6, 4, 3, 2]
    assert plain.untagged == [None] * 4  # glasses' own "none" (no glasses) comes first: a real value
    untagged = (half.labels == torch.tensor([6, 4, 3, 2])).all(1)
    assert int(untagged.sum()) == 32  # exactly that share, and all groups at once
    assert torch.equal(half.labels[~untagged], plain.labels[~untagged])
    assert not (half.labels[~untagged] == torch.tensor([6, 4, 3, 2])).any()
    assert torch.equal(half.images, plain.images)  # still drawn in their true colours
    again = Faces(n=64, image_size=32, seed=3, untagged=0.5, hair=6, eyes=4, face=3, glasses=2).build()
    assert torch.equal(again.labels, half.labels)  # a fixed choice
    # part of the cache key, except at 0 (data and evaluators cached before the option existed stay valid)
    assert "untagged" not in Faces(n=64, image_size=32, seed=3, untagged=0.0).key()
    assert "'untagged': 0.5" in Faces(n=64, image_size=32, seed=3, untagged=0.5).key()


def test_the_none_value_is_the_last_one_named_none():
    assert untagged_values(ATTRIBUTES) == [3, 2]
    assert untagged_values([("glasses", ["none", "glasses"])]) == [None]
    assert untagged_values([("objects", ["red cube", "none"])], multilabel=True) == [None]
    labels = torch.tensor([[0, 1], [3, 1], [3, 2], [2, 0]])
    assert fully_tagged(labels, [3, 2]).tolist() == [True, False, False, True]
    assert sentences(labels, ATTRIBUTES, False) == ["blue hair aqua eyes", "aqua eyes", "", "green hair red eyes"]


def test_shift_draws_wrong_tags_from_the_data_so_half_are_none():
    labels = half_untagged()
    torch.manual_seed(0)
    wrong = shifted_labels(labels)
    tagged = fully_tagged(labels, [3, 2])
    assert abs(share((wrong == NONE).all(1)) - 0.5) < 0.02
    assert abs(share((wrong[tagged] == NONE).all(1)) - 0.5) < 0.02  # half of the tagged images meet "none"


def test_colours_draws_real_colours_uniformly_never_none_never_the_own_condition():
    labels = half_untagged()
    values, counts = real_values(torch.unique(labels, dim=0), [3, 2])
    assert counts == [3, 2] and values.tolist() == [[0, 1, 2], [0, 1, -1]]
    torch.manual_seed(0)
    wrong = other_combination(labels, values, counts)
    assert not (wrong == NONE).any()
    assert not (wrong == labels).all(1).any()
    for a, k in enumerate(counts):
        shares = torch.bincount(wrong[:, a], minlength=k).float() / DRAWS
        assert_close(shares, torch.full((k,), 1 / k), atol=0.02, rtol=0)
    # given its own condition, a tagged image gets each of the 5 other combinations; an untagged one any of 6
    own = torch.tensor([1, 0])
    mine = wrong[(labels == own).all(1)]
    combos = torch.bincount(mine[:, 0] * 2 + mine[:, 1], minlength=6).float() / len(mine)
    assert combos[2] == 0 and all(abs(combos[c] - 1 / 5) < 0.03 for c in (0, 1, 3, 4, 5))
    theirs = wrong[(labels == NONE).all(1)]
    combos = torch.bincount(theirs[:, 0] * 2 + theirs[:, 1], minlength=6).float() / len(theirs)
    assert_close(combos, torch.full((6,), 1 / 6), atol=0.02, rtol=0)


def test_uniform_draws_among_tagged_conditions_other_than_the_own():
    labels = half_untagged()
    pool = torch.unique(labels, dim=0)
    pool = pool[fully_tagged(pool, [3, 2])]
    assert len(pool) == 6
    torch.manual_seed(0)
    wrong = other_condition(labels, pool)
    assert not (wrong == NONE).any() and not (wrong == labels).all(1).any()
    combos = torch.bincount(wrong[:, 0] * 2 + wrong[:, 1], minlength=6).float() / DRAWS
    assert_close(combos, torch.full((6,), 1 / 6), atol=0.02, rtol=0)


def test_colours_without_none_and_with_three_groups_covers_the_product_of_the_values():
    # data with 3 of the 2 x 2 x 3 combinations and no "none": colours reaches combinations the data lacks
    # (uniform could not), each of the 11 others equally often, never the own condition
    conditions = torch.tensor([[0, 0, 0], [1, 1, 1], [0, 1, 2]])
    values, counts = real_values(conditions, [None, None, None])
    assert counts == [2, 2, 3]
    labels = conditions.repeat(DRAWS // 3, 1)
    torch.manual_seed(0)
    wrong = other_combination(labels, values, counts)
    assert not (wrong == labels).all(1).any()
    index = wrong[:, 0] * 6 + wrong[:, 1] * 3 + wrong[:, 2]
    mine = index[(labels == conditions[1]).all(1)]
    combos = torch.bincount(mine, minlength=12).float() / len(mine)
    assert combos[1 * 6 + 1 * 3 + 1] == 0
    assert_close(combos[combos > 0], torch.full((11,), 1 / 11), atol=0.02, rtol=0)
    assert math.prod(counts) == 12


def test_condition_accuracy_does_not_score_none_requests():
    # 4 requests of (hair, eyes); "none" is hair 3, eyes 2. The evaluator knows real values only (3 and 2 outputs).
    labels = torch.tensor([[0, 1], [3, 0], [2, 2], [3, 2]])
    hair = torch.tensor([0, 1, 1, 0])  # predicted: right, (none asked), wrong, (none asked)
    eyes = torch.tensor([1, 1, 0, 0])  # predicted: right, wrong, (none asked), (none asked)
    logits = [torch.nn.functional.one_hot(hair, 3).float(), torch.nn.functional.one_hot(eyes, 2).float()]
    acc = condition_accuracy(logits, labels, False, ["hair", "eyes"], [3, 2])
    assert acc == {"hair": 0.5, "eyes": 0.5, "overall": 0.5}  # 2 of 4 real requests
    logits[1] = torch.nn.functional.one_hot(torch.tensor([1, 0, 0, 0]), 2).float()
    acc = condition_accuracy(logits, labels, False, ["hair", "eyes"], [3, 2])
    assert acc == {"hair": 0.5, "eyes": 1.0, "overall": 0.75}
    everything = condition_accuracy(logits, labels, False, ["hair", "eyes"])  # without untagged: all counted
    assert everything["overall"] == 3 / 8
    assert math.isnan(condition_accuracy(logits, labels[3:].expand(4, 2), False, None, [3, 2])["overall"])


def test_the_evaluator_learns_tagged_images_and_real_values_only(tmp_path, monkeypatch):
    seen = {}

    def capture(cache_dir, key, images, labels, groups, multilabel, **kwargs):
        seen.update(images=images, labels=labels, groups=groups)

    monkeypatch.setattr(eval_images, "load_or_train", capture)
    data = ImageData(Faces(n=96, image_size=32, seed=0, untagged=0.5), batch_size=16, cache_dir=str(tmp_path),
                     holdout=16, seed=0)
    eval_images.load_evaluator(data, floor=0.0)
    train_labels = data.train_images[1]
    tagged = fully_tagged(train_labels, [12, 10])
    assert seen["groups"] == [12, 10] and 0 < len(seen["labels"]) == int(tagged.sum()) < len(train_labels)
    assert torch.equal(seen["labels"], train_labels[tagged]) and int(seen["labels"].max()) < 12

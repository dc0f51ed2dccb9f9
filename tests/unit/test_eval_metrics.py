"""Evaluation metrics against hand-computed values and known feature spaces."""

import math

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from ganexp.eval.metrics import (
    attribute_accuracy,
    class_entropy,
    code_dependence,
    collapse_scores,
    entropy_ratio,
    feature_distances,
    look_agreement,
    multilabel_topk_accuracy,
    precision_recall_density_coverage,
)


def test_attribute_accuracy_by_hand():
    # group 0 (3 classes): argmax 2, 0, 1 vs labels 2, 1, 1 -> hits 1, 0, 1 -> 2/3
    # group 1 (2 classes): argmax 1, 1, 0 vs labels 1, 1, 1 -> hits 1, 1, 0 -> 2/3;  overall: 4 of 6 pairs
    g0 = torch.tensor([[0.1, 0.2, 0.9], [0.8, 0.1, 0.1], [0.0, 1.0, 0.5]])
    g1 = torch.tensor([[0.0, 1.0], [0.2, 0.3], [0.9, 0.1]])
    labels = torch.tensor([[2, 1], [1, 1], [1, 1]])
    acc = attribute_accuracy([g0, g1], labels, ["hair", "eyes"])
    assert acc.keys() == {"hair", "eyes", "overall"}
    assert_close(torch.tensor([acc["hair"], acc["eyes"], acc["overall"]]), torch.tensor([2 / 3, 2 / 3, 4 / 6]))
    labels[1, 0] = 0  # image 1's group 0 is now right: group 0 3/3, overall 5/6; default names
    acc = attribute_accuracy([g0, g1], labels)
    assert_close(torch.tensor([acc["attr0"], acc["attr1"], acc["overall"]]), torch.tensor([1.0, 2 / 3, 5 / 6]))


def test_overall_counts_pairs_not_groups():
    # 2 images, 2 groups: group 0 all right, group 1 all wrong -> 2 of 4 pairs = 0.5 (the mean of 1.0 and 0.0 too)
    right = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([[0, 1], [1, 0]])
    acc = attribute_accuracy([right, right], labels)
    assert (acc["attr0"], acc["attr1"], acc["overall"]) == (1.0, 0.0, 0.5)


def test_multilabel_topk_rule_by_hand():
    logits = torch.tensor([
        [5.0, 1.0, 0.0, 0.0],  # k=1, requested {0}: top-1 = {0} -> 1 hit
        [0.0, 4.0, 3.0, 5.0],  # k=2, requested {1, 2}: top-2 = {3, 1} -> 1 hit
        [1.0, 2.0, 3.0, 0.5],  # k=3, requested {0, 1, 3}: top-3 = {2, 1, 0} -> 2 hits
    ])
    requested = torch.tensor([[1, 0, 0, 0], [0, 1, 1, 0], [1, 1, 0, 1]], dtype=torch.float32)
    # (1 + 1 + 2) hits / (1 + 2 + 3) requested = 4/6, not the mean of per-image rates (1 + 1/2 + 2/3) / 3 = 0.722
    assert_close(multilabel_topk_accuracy(logits, requested), 4 / 6)
    assert multilabel_topk_accuracy(requested * 10, requested) == 1.0  # logits ranking the requested first
    # ranking them last: rows 1 and 2 miss all, but row 3 asks for 3 of 4, so 2 of any top 3 are requested -> 2/6
    assert_close(multilabel_topk_accuracy(-requested, requested), 2 / 6)


class ChannelStats(nn.Module):
    """A known feature space: per-channel mean and standard deviation of the image (6 features)."""

    def features(self, x):
        return torch.cat([x.mean((2, 3)), x.std((2, 3))], 1)


def noise_images(n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, 8, 8, generator=gen) * 1.6 - 0.8  # room to shift without clamping


def test_fid_kid_are_zero_for_the_same_set_and_grow_with_shift():
    real = noise_images(200, 0)
    same = feature_distances(ChannelStats(), real, real.clone())
    assert_close(same["fid"], 0.0, atol=1e-4, rtol=0)
    assert_close(same["kid"], 0.0, atol=1e-4, rtol=0)
    # A shift by c moves every mean feature by c and leaves the stds alone: FID ~ 3 c^2 (0.03 and 0.12 here).
    small = feature_distances(ChannelStats(), real, real + 0.1)
    large = feature_distances(ChannelStats(), real, real + 0.2)
    assert_close(small["fid"], 3 * 0.1**2, atol=2e-3, rtol=0)
    assert_close(large["fid"], 3 * 0.2**2, atol=2e-3, rtol=0)
    assert 1e-4 < small["kid"] < large["kid"]
    assert set(same) == {"fid", "kid", "kid_std", "kid_subset_size"} and same["kid_subset_size"] == 100


def test_fid_kid_of_two_samples_of_one_distribution_are_small():
    real, other = noise_images(200, 0), noise_images(200, 1)
    between = feature_distances(ChannelStats(), real, other)
    shifted = feature_distances(ChannelStats(), real, other + 0.1)
    assert between["fid"] < shifted["fid"] / 10 and between["kid"] < shifted["kid"] / 10


def test_kid_works_for_small_sets_and_is_repeatable():
    real, fake = noise_images(30, 0), noise_images(20, 1) + 0.2  # fewer images than the default subset size
    first = feature_distances(ChannelStats(), real, fake, batch_size=7)
    again = feature_distances(ChannelStats(), real, fake, batch_size=64)
    assert_close(torch.tensor(list(first.values())), torch.tensor(list(again.values())))  # same subsets each call
    assert first["kid"] > 0 and first["kid_std"] > 0
    with pytest.raises(ValueError, match="at least 2"):
        feature_distances(ChannelStats(), real, fake[:1])


def test_feature_net_is_measured_in_eval_mode_and_left_as_it_was():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten())
    net.features = net.forward
    running_mean = net[1].running_mean.clone()
    net.train()
    feature_distances(net, noise_images(10, 0), noise_images(10, 1))
    assert net.training and torch.equal(net[1].running_mean, running_mean)  # no BatchNorm statistics updated


def test_collapse_separates_a_repeating_generator_from_real_data():
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(300, 16, generator=gen)
    another_real_sample = torch.randn(300, 16, generator=gen)
    classes = torch.randint(10, (300,), generator=gen)
    healthy = collapse_scores(another_real_sample, real, classes, torch.arange(10))
    assert_close(healthy["diversity_ratio"], 1.0, atol=0.05, rtol=0)
    assert healthy["class_coverage"] == 1.0  # 300 draws of 10 classes: all appear

    one_image = real[:1].repeat(300, 1)  # a generator that outputs one image over and over
    collapsed = collapse_scores(one_image, real, torch.full((300,), 3), torch.arange(10))
    assert collapsed["diversity_ratio"] == 0.0 and collapsed["class_coverage"] == 0.1


def test_collapse_counts_joint_attribute_classes():
    feats = torch.eye(4)
    # rows (0, 0), (0, 1), (0, 0), (1, 1): 3 of the 2 x 2 = 4 combinations the real images have
    attributes = torch.tensor([[0, 0], [0, 1], [0, 0], [1, 1]])
    scores = collapse_scores(feats, feats, attributes, torch.cartesian_prod(torch.arange(2), torch.arange(2)))
    assert scores == {"diversity_ratio": 1.0, "class_coverage": 0.75}
    assert collapse_scores(feats, feats).keys() == {"diversity_ratio"}
    with pytest.raises(ValueError, match="both"):
        collapse_scores(feats, feats, attributes)


def test_style_entropy_ratio_by_hand():
    """collapse/style_entropy on hand-made (style, bangs) predictions: 4 x 3 = 12 joint classes."""
    every = torch.cartesian_prod(torch.arange(4), torch.arange(3))  # the 12 classes, one row each
    real = every.repeat(2, 1)  # each class twice: H = ln 12 = 2.4849 nats
    assert_close(class_entropy(real), 2.484907, atol=1e-6, rtol=0)
    assert entropy_ratio(every, real) == 1.0  # uniform over the 12 classes, as varied as the data
    assert entropy_ratio(every[[5]].repeat(24, 1), real) == 0.0  # every fake the same style and bangs: H = 0
    # two classes, 12 fakes each: H = ln 2 = 0.6931, / ln 12 = 0.27894
    two = torch.tensor([[0, 1]] * 12 + [[1, 0]] * 12)  # joint rows: (0, 1) and (1, 0) are two classes, not one
    assert_close(entropy_ratio(two, real), 0.278943, atol=1e-6, rtol=0)
    # the same two classes 1:3: H = -(3/4 ln 3/4 + 1/4 ln 1/4) = 0.56234, / ln 12 = 0.22630
    assert_close(entropy_ratio(two[8:], real), 0.226300, atol=1e-6, rtol=0)  # 4 of (0, 1), 12 of (1, 0)
    assert math.isnan(entropy_ratio(every, every[[0, 0]]))  # the reals all one class: no value


def test_look_agreement_counts_pairs_by_hand():
    """cond/looks_*: B=1 condition, R=2 noise vectors, H=3 hair values, one look group (a style index).
    Same noise: row 0 draws styles 0, 0, 1 (1 of its 3 pairs agree), row 1 draws 2, 2, 2 (3 of 3): 4/6. Same tags:
    the columns hold (0, 2), (0, 2), (1, 2): no pair agrees."""
    classes = torch.tensor([[0, 0, 1], [2, 2, 2]]).view(1, 2, 3, 1)
    assert look_agreement(classes) == {"same_noise": 4 / 6, "same_tags": 0.0}
    # a second look group (bangs) that differs in row 1's last image: two images agree only if both groups do,
    # so row 1 keeps 1 of its 3 pairs (2/6 in all); same tags: still none
    bangs = torch.tensor([[0, 0, 0], [0, 0, 1]]).view(1, 2, 3, 1)
    assert look_agreement(torch.cat([classes, bangs], -1)) == {"same_noise": 2 / 6, "same_tags": 0.0}
    # G ignores the noise and the tag: every pair agrees; a second condition (B=2) with all pairs differing halves it
    same = torch.zeros(1, 2, 3, 1, dtype=torch.long)
    differ = torch.arange(6).view(1, 2, 3, 1)
    assert look_agreement(same) == {"same_noise": 1.0, "same_tags": 1.0}
    assert look_agreement(torch.cat([same, differ])) == {"same_noise": 0.5, "same_tags": 0.5}


def test_code_dependence_is_normalised_mutual_information_by_hand():
    code = torch.tensor([0, 0, 1, 1])
    # attribute "hair" copies the code: NMI 1; "eyes" takes every value once per code value: independent, NMI 0;
    # "face" is 0, 0 | 0, 1: H(face) = -(3/4 ln 3/4 + 1/4 ln 1/4) = 0.5623, H(face | code) = (0 + ln 2) / 2 = 0.3466,
    # MI = 0.2158 nats, over the mean of the entropies (ln 2 + 0.5623) / 2 = 0.6277: 0.3438
    classes = torch.tensor([[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 1]])
    scores = code_dependence(code, classes, ["hair", "eyes", "face"])
    assert scores.keys() == {"hair", "eyes", "face"}
    assert_close(scores["hair"], 1.0) and assert_close(scores["eyes"], 0.0, atol=1e-12, rtol=0)
    assert_close(scores["face"], 0.3438, atol=1e-4, rtol=0)


def clusters(centres: list[tuple[float, float]], per: int, seed: int) -> torch.Tensor:
    """`per` jittered points around each centre (no two distances tie)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.cat([torch.tensor(c) + 0.1 * torch.randn(per, 2, generator=gen) for c in centres])


def test_prdc_of_a_fake_set_equal_to_the_real_one():
    real = clusters([(0, 0), (10, 0), (0, 10), (10, 10)], 25, seed=0)
    scores = precision_recall_density_coverage(real, real.clone())
    # every fake sits on a real point (inside its ball) and vice versa; each point lies in exactly the k balls of
    # itself and its k - 1 nearest others, so density is k / k = 1 exactly
    assert scores == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}


def test_prdc_of_a_fake_set_covering_half_the_real_modes():
    real = clusters([(0, 0), (10, 0), (0, 10), (10, 10)], 25, seed=0)
    fake = real[:50].clone()  # copies of the reals of the first two modes
    scores = precision_recall_density_coverage(real, fake)
    assert scores["precision"] == 1.0 and scores["coverage"] == 0.5 and scores["recall"] == 0.5
    assert_close(scores["density"], 1.0)
    far = real[:50] + 100.0  # fakes nowhere near the data
    assert precision_recall_density_coverage(real, far) == {"precision": 0.0, "recall": 0.0, "density": 0.0,
                                                              "coverage": 0.0}


class Float(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float() / 255


def test_evaluation_seeds_only_the_cpu_generator_and_restores_it(monkeypatch):
    """torch.manual_seed would also seed every CUDA device (and nothing restores it): a GPU run's noise would restart
    from the evaluation's seed after each evaluation. Seeding any accelerator here is a failure."""
    from ganexp.eval.evaluator import train_evaluator
    from ganexp.eval.inception import FEATURES, InceptionDistances

    seeded = []
    for backend in ("cuda", "mps", "xpu"):
        module = getattr(torch, backend, None)
        for name in ("manual_seed", "manual_seed_all"):
            if module is not None and hasattr(module, name):
                monkeypatch.setattr(module, name, lambda seed, _b=f"{backend}.{name}": seeded.append(_b))
    before = torch.random.get_rng_state()
    feature_distances(ChannelStats(), noise_images(30, 0), noise_images(20, 1), seed=7)
    images = (torch.arange(40 * 3 * 16 * 16) % 251).to(torch.uint8).reshape(40, 3, 16, 16)
    train_evaluator(images, torch.arange(40)[:, None] % 2, [2], False, epochs=1, batch_size=8, width=4,
                    feature_dim=4, seed=3)
    inception = InceptionDistances.__new__(InceptionDistances)  # a stand-in net: no Inception weights here
    inception.net = nn.Sequential(Float(), nn.Flatten(), nn.Linear(3 * 32 * 32, FEATURES))  # uint8 in, 2048 out
    inception.kid_subsets, inception.seed = 5, 11
    inception.set_reals(torch.rand(12, 3, 32, 32) * 2 - 1)
    before = torch.random.get_rng_state()
    inception(torch.rand(12, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1)
    assert seeded == []
    assert torch.equal(torch.random.get_rng_state(), before)


def test_kid_subsets_hold_half_the_smaller_set_at_most_a_thousand():
    from ganexp.eval.metrics import KID_SUBSET, distances

    gen = torch.Generator().manual_seed(0)
    big, small = torch.randn(2600, 4, generator=gen), torch.randn(300, 4, generator=gen)
    assert KID_SUBSET == 1000
    assert distances(big, big + 0.5, kid_subsets=2)["kid_subset_size"] == 1000
    assert distances(big, small, kid_subsets=2)["kid_subset_size"] == 150
    # features handed over as they are: a shift by 0.5 in each of 4 dimensions, the covariances equal, is FID
    # |mean difference|^2 = 4 x 0.25
    assert distances(small, small + 0.5)["fid"] == pytest.approx(1.0, rel=1e-4)

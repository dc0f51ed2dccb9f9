"""The recipes as their papers run them (a real batch per critic step, clipping of the whole critic, AC-GAN's fake
class term, no gradient penalty on a BatchNorm critic) and metrics that cannot mislead (coverage in [0, 1], a KID
spread, the adversarial term logged alone, a random held-out split).

The pure tests (no training run, no subprocess) of this subject; the others are in tests/integration/test_recipes.py."""

import pytest
import torch
from conftest import make_config
from PIL import Image
from torch.testing import assert_close

from ganexp.data.files import Folder
from ganexp.data.module import ImageData, IterationBatches
from ganexp.eval.metrics import collapse_scores, feature_distances
from ganexp.metrics import better
from ganexp.schema import ConfigError, validate


# ---------------------------------------------------------------------------------------- a real batch per D step
def test_sampler_hands_each_iteration_its_own_consecutive_real_batches():
    """4 images a batch, 12 per epoch (3 batches); iteration i draws 1 + (i % 2) batches: positions 0 | 1,2 | 3 |
    4,5 | ... so every position appears once and an epoch's 3 batches partition the images."""
    sampler = IterationBatches(12, 4, seed=0, batches_at=lambda i: 1 + i % 2, position=lambda i: i + i // 2)
    stream = iter(sampler)
    drawn = [next(stream) for _ in range(4)]
    assert [len(d) for d in drawn] == [4, 8, 4, 8]
    flat = torch.cat(drawn)  # positions 0..5: two full epochs
    assert sorted(flat[:12].tolist()) == list(range(12)) and sorted(flat[12:].tolist()) == list(range(12))
    assert_close(flat[:12], sampler.order(0)) and assert_close(flat[12:], sampler.order(1))
    # started at iteration 3 (a resumed run), it continues at position 3 + 1 = 4
    resumed = iter(IterationBatches(12, 4, seed=0, start=lambda: 3, batches_at=lambda i: 1 + i % 2,
                                    position=lambda i: i + i // 2))
    assert_close(next(resumed), drawn[3])


def test_gradient_penalty_on_a_batchnorm_critic_is_refused_naming_both_keys():
    with pytest.raises(ConfigError, match=r"loss=WGANGP with model.discriminator.norm=batch"):
        validate(make_config("loss=gp", "model.discriminator.norm=batch"))
    validate(make_config("loss=gp"))  # auto: LayerNorm


# ---------------------------------------------------------------------------------------- metrics
def test_class_coverage_counts_only_classes_the_real_images_have():
    feats = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    real = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 0]])  # 3 distinct real classes
    # the fakes hit (0, 0) and (1, 0), plus two classes no real image has
    fake = torch.tensor([[0, 0], [0, 0], [1, 0], [5, 5], [6, 6], [7, 7]])
    scores = collapse_scores(feats, feats[:4], fake, real)
    assert_close(scores["class_coverage"], 2 / 3)  # the old rule said 5 / 3
    noisy = torch.arange(10, 22).reshape(6, 2)  # only invented classes
    assert collapse_scores(feats, feats[:4], noisy, real)["class_coverage"] == 0.0


def test_kid_has_a_spread_on_two_different_sets():
    class Identity(torch.nn.Module):
        def features(self, x):
            return x.flatten(1)

    gen = torch.Generator().manual_seed(0)
    real, fake = torch.rand(200, 1, 4, 4, generator=gen) * 2 - 1, torch.rand(200, 1, 4, 4, generator=gen) * 1.5 - 1
    result = feature_distances(Identity(), real, fake)
    assert result["kid_subset_size"] == 100 and result["kid_std"] > 0


def test_diversity_ratio_ranks_by_closeness_to_one():
    assert better("collapse/diversity_ratio", 1.1, 0.5) and not better("collapse/diversity_ratio", 1.6, 0.9)
    assert better("collapse/class_coverage", 0.9, 0.5)


def save_colour(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), rgb).save(path)


def test_held_out_images_of_a_folder_come_from_every_sub_folder(tmp_path):
    for i in range(20):
        save_colour(tmp_path / "a" / f"{i:02d}.png", (200, 10, 10))
        save_colour(tmp_path / "b" / f"{i:02d}.png", (10, 10, 200))
    data = ImageData(Folder(str(tmp_path), image_size=8), batch_size=4,
                     cache_dir=str(tmp_path / "cache"), holdout=10, seed=0)
    held, _ = data.heldout_images
    red = (held[:, 0, 0, 0] > 100).sum().item()
    assert 0 < red < 10  # the file-order tail would be all of b/
    train_images, _ = data.train_images
    assert len(train_images) == 30 and len(torch.unique(torch.cat([held, train_images]).flatten(1), dim=0)) == 2

"""Condition encoders (onehot, embed, text) and the reports' training tricks: wrong-condition sampling,
unconditional warm-up, pixel pre-training, time per epoch and the step at which the conditions are learned.

The in-process runs and builds of this subject; the others are in tests/unit/test_cond.py."""

import json

import pytest
import torch
from conftest import make_config
from helpers.text_encoder import FakeEncoder
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.testing import assert_close

from ganexp.build import build_data, build_module
from ganexp.nets import text
from ganexp.train import main as train


def test_built_text_condition_gives_each_condition_its_own_sentence_vector(fake_encoder, tmp_path):
    """Through the real build path (groups from the config): every training condition looks up the vector of its
    own sentence, so G and D can tell the 120 hair x eye conditions apart."""
    # the fake vectors go to a cache of their own: in the session's shared one, later tests would read them as real
    cfg = make_config("debug=smoke", "model=cgan", "cond=text", "model.discriminator.cond=projection",
                      f"cond.cache_dir={tmp_path}")
    module = build_module(cfg, datamodule := build_data(cfg))
    labels = datamodule.train_images[1]
    conditions = torch.unique(labels, dim=0)
    enc = module.cond_g
    assert len(torch.unique(enc.keys)) == len(enc.keys) >= len(conditions) > 50  # the data's conditions, all distinct
    expected = torch.as_tensor(FakeEncoder().encode(text.sentences(conditions, datamodule.load().attributes, False)))
    assert_close(enc.lookup(conditions), expected.float())
    assert_close(module.cond_d.lookup(conditions), expected.float())


def events(path):
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0})
    acc.Reload()
    return acc


def test_unconditional_warm_up_switches_the_wrong_term_on_at_its_step(tmp_path, monkeypatch):
    """288 images, 32 held out, batches of 16: 16 iterations per epoch, so 0.25 epochs = 4 iterations."""
    monkeypatch.chdir(tmp_path)
    cfg = make_config("debug=smoke", "model=cgan", "model.wrong_weight=1", "model.uncond_epochs=0.25",
                      "log.every=1")
    assert build_data(cfg).batches_per_epoch == 16
    train(cfg)
    tb = events(tmp_path / "tb")
    assert [e.step for e in tb.Scalars("loss/d")] == list(range(1, 9))
    # iterations 0-3 have no wrong term; iteration 4 is the first (written after it, at step 5)
    assert [e.step for e in tb.Scalars("d/wrong")] == [5, 6, 7, 8]


@pytest.mark.parametrize("sampling", ["uniform", "shift"])
def test_wrong_sampling_options_train(sampling, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(make_config("debug=smoke", "model=cgan", "model.wrong_weight=1", f"model.wrong_sampling={sampling}"))
    assert "d/wrong" in json.loads((tmp_path / "metrics.json").read_text())["final"]


def test_pixel_pretraining_trains_g_alone_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = make_config("debug=smoke", "sched.pixel_pretrain_steps=3", "log.every=1")
    train(cfg)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert (metrics["d_updates"], metrics["g_updates"]) == (5, 8)  # D waits 3 iterations; G steps on all 8
    tb = events(tmp_path / "tb")
    assert [e.step for e in tb.Scalars("loss/pixel")][:3] == [1, 2, 3]
    assert [e.step for e in tb.Scalars("loss/d")][0] == 4


def test_time_per_epoch_images_per_second_and_steps_to_accuracy_are_logged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(make_config("debug=smoke", "model=cgan", "eval.threshold=0.0"))  # crossed at the first evaluation
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["epoch_seconds"] > 0 and metrics["images_per_s"] > 0
    assert set(metrics["startup"]) == {"imports_s", "data_s", "build_s"}  # start-up cost, printed and kept
    assert metrics["steps_to_acc"] == 4
    tb = events(tmp_path / "tb")
    assert {"speed/images_per_s", "speed/epoch_seconds", "steps_to_acc"} <= set(tb.Tags()["scalars"])
    assert [e.value for e in tb.Scalars("steps_to_acc")] == [4.0]
    (tmp_path / "never").mkdir()  # a folder belongs to one configuration
    monkeypatch.chdir(tmp_path / "never")
    train(make_config("debug=smoke", "model=cgan", "eval.threshold=1.0"))  # not crossed by a smoke run
    assert json.loads((tmp_path / "never" / "metrics.json").read_text())["steps_to_acc"] is None

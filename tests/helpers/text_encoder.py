"""A stand-in for the sentence encoder of text conditions (the fixture `fake_encoder`)."""

import pytest
import torch


class FakeEncoder:
    """Stands in for the sentence model: a deterministic 8-d vector per sentence, and a log of what it encoded."""

    def __init__(self):
        self.seen: list[str] = []

    def encode(self, sentences, convert_to_numpy=True, batch_size=256):
        self.seen += list(sentences)
        return torch.stack([torch.tensor([float(len(s)), float(sum(map(ord, s)) % 97)] + [float(i) for i in
                            range(6)]) for s in sentences]).numpy()


@pytest.fixture
def fake_encoder(monkeypatch):
    from ganexp.nets import text  # here, not above: pytest-xdist's controller loads this plugin and runs no test

    encoder = FakeEncoder()
    monkeypatch.setattr(text, "_load_encoder", lambda name: encoder)
    monkeypatch.setattr(text, "VECTORS", text.SentenceVectors())
    return encoder

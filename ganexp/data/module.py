"""The Lightning data module shared by every data set, and the on-disk cache of generated data.

A *source* builds a `LabelledImages` (uint8 images, labels, attribute names) and has a `key()` naming its settings;
`ImageData` caches what the source built under `cache_dir`, so a data set is generated once and loaded fast after.
Images stay uint8 in memory (4x smaller, and 4x less to copy to a GPU) and become floats in [-1, 1] after transfer.
"""

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Annotated, Literal, Protocol

import pytorch_lightning as pl
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from ganexp.atomic import atomic_write
from ganexp.errors import ConfigError
from ganexp.ranges import NON_NEGATIVE, Count, Seed
from ganexp.schedule import real_batches_at, real_batches_before

log = logging.getLogger(__name__)
CACHE_VERSION = 3  # bump when a generator's output changes for the same settings (3: the faces' looks)
SPLIT_SEED = 20_240_917  # the held-out choice: fixed, so every job of every sweep is scored against the same reals
SPLIT = "split=perm1"  # names the held-out rule in the evaluator's cache key (a changed rule retrains it)
UNTAGGED = "none"  # the last value of an attribute group whose tag some images lack (`data.source.untagged`)


def untagged_values(attributes: list[tuple[str, list[str]]], multilabel: bool = False) -> list[int | None]:
    """Per attribute group, the index of its no-tag value (the last one, when named "none"), or None.

    "none" asks for nothing: any value fits, so wrong-condition sampling never offers it as a wrong tag and
    condition accuracy does not score it. A "none" that is not last (glasses: "none", "glasses") is a real value.
    """
    if multilabel:
        return [None for _ in attributes]
    return [len(values) - 1 if values and values[-1] == UNTAGGED else None for _, values in attributes]


def fully_tagged(labels: Tensor, untagged: list[int | None]) -> Tensor:
    """bool (N,): the label rows with a real value (not "none") in every group."""
    keep = torch.ones(len(labels), dtype=torch.bool, device=labels.device)
    for a, none in enumerate(untagged):
        if none is not None:
            keep &= labels[:, a] != none
    return keep


@dataclass
class LabelledImages:
    images: Tensor  # uint8 (N, C, H, W)
    labels: Tensor  # long (N, A) attribute indices, or float (N, L) multi-hot when `multilabel`
    attributes: list[tuple[str, list[str]]]  # (group name, value names); one group of label names if multilabel
    multilabel: bool = False
    test_split: int = 0  # the last test_split images are an official test split: never trained on (`holdout_last`)
    # Evaluator-only labels ("looks", long (N, K)): what the evaluator learns to see besides `labels`, never a
    # condition of G or D (not in `label_space`); the faces' hair style and bangs. None: the data has none.
    looks: Tensor | None = None
    look_attributes: list[tuple[str, list[str]]] = field(default_factory=list)  # (name, values) per looks column

    @property
    def groups(self) -> list[int]:
        return [len(values) for _, values in self.attributes]

    @property
    def look_groups(self) -> list[int]:
        return [len(values) for _, values in self.look_attributes]

    def rows(self, index: Tensor) -> "LabelledImages":
        """The images (with their labels and looks) at `index`, in that order; everything else as it is."""
        return replace(self, images=self.images[index], labels=self.labels[index],
                       looks=None if self.looks is None else self.looks[index])

    def __len__(self) -> int:
        return len(self.images)

    def conditions(self) -> Tensor:
        """The distinct label rows present in the data (what wrong-condition sampling draws from)."""
        return torch.unique(self.labels, dim=0)

    @property
    def untagged(self) -> list[int | None]:
        return untagged_values(self.attributes, self.multilabel)

    def label_space(self) -> "LabelSpace":
        return LabelSpace(self.groups, self.multilabel, self.attributes, self.conditions())


@dataclass
class LabelSpace:
    """What a model needs to know about the data's labels: the attribute groups and their sizes (or one group of
    labels when `multilabel`), their names, and the distinct label rows present in the data."""

    groups: list[int]
    multilabel: bool
    attributes: list[tuple[str, list[str]]]
    conditions: Tensor

    @property
    def untagged(self) -> list[int | None]:
        """Per group, the index of its "none" (no tag) value, or None (see `untagged_values`)."""
        return untagged_values(self.attributes, self.multilabel)


class Source(Protocol):
    def key(self) -> str: ...
    def build(self) -> LabelledImages: ...


def load_cached(source: Source, cache_dir: str | Path) -> LabelledImages:
    """Build `source` once and keep it under `cache_dir`; later calls load the file (written atomically)."""
    key = f"v{CACHE_VERSION}:{source.key()}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    path = Path(cache_dir).expanduser() / f"{type(source).__name__.lower()}-{digest}.pt"
    if path.exists():
        start = time.perf_counter()
        try:
            data = LabelledImages(**torch.load(path, weights_only=False))
            log.info("data: loaded %d images from %s in %.2fs", len(data), path, time.perf_counter() - start)
            return data
        except Exception as err:  # a truncated or foreign file: the cache is derived data, so build it again
            log.warning("data: cache file %s is unreadable (%s); building it again", path, err)
    start = time.perf_counter()
    data = source.build()
    log.info("data: built %d images (%s) in %.1fs -> %s", len(data), key, time.perf_counter() - start, path)
    atomic_write(path, lambda f: torch.save(vars(data), f), "wb")
    return data


class IterationBatches(torch.utils.data.Sampler):
    """Index batches as a pure function of the position in the data stream: real batch p is slice p % B of epoch
    p // B's permutation. Iteration i draws `batches_at(i)` consecutive real batches (one per D step, see
    `ganexp.schedule.real_batches_at`) as one index tensor, starting at stream position `position(i)`.

    It starts at `start()` (the module's iteration, restored from a checkpoint) and never ends, so a resumed run
    sees exactly the batches an uninterrupted one would; the run length is ganexp's `max_iters`.
    """

    def __init__(self, n: int, batch_size: int, seed: int, start: Callable[[], int] = lambda: 0,
                 batches_at: Callable[[int], int] = lambda i: 1, position: Callable[[int], int] = lambda i: i,
                 device: str | torch.device = "cpu"):
        self.n, self.batch_size, self.seed, self.start = n, batch_size, seed, start
        self.device = torch.device(device)  # where the images are: the permutation is drawn there, never copied
        self.batches_at, self.position = batches_at, position
        self.per_epoch = n // batch_size

    def order(self, epoch: int) -> Tensor:
        generator = torch.Generator(self.device).manual_seed(self.seed * 100_003 + epoch)
        return torch.randperm(self.n, generator=generator, device=self.device)

    def __iter__(self) -> Iterator[Tensor]:
        iteration = self.start()
        position = self.position(iteration)
        epoch, order = None, None
        while True:
            parts = []
            for _ in range(self.batches_at(iteration)):
                if position // self.per_epoch != epoch:
                    epoch = position // self.per_epoch
                    order = self.order(epoch)
                i = position % self.per_epoch
                parts.append(order[i * self.batch_size:(i + 1) * self.batch_size])
                position += 1
            yield parts[0] if len(parts) == 1 else torch.cat(parts)
            iteration += 1


class _Batches(torch.utils.data.Dataset):
    """Indexed by a tensor of indices: one gather per batch instead of a Python-level collate of single items."""

    def __init__(self, images: Tensor, labels: Tensor):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: Tensor) -> tuple[Tensor, Tensor]:
        return self.images[index], self.labels[index]  # `index` is where the images are (IterationBatches.device)


class ImageData(pl.LightningDataModule):
    """Serves batches of (images in [-1, 1], labels) from a cached source; `holdout` images are kept for evaluation."""

    samples = "images"  # what a model trained on it must generate (checked against the model's at start-up)

    def __init__(
        self,
        source: Source,
        batch_size: Count,
        cache_dir: str,
        holdout: Annotated[int, NON_NEGATIVE],
        seed: Seed,
        on_device: bool = False,
        root: str | None = None,  # the user's data folder, for the file loaders' `source.root: ${..root}`
        image_size: Literal[32, 64, 128] | None = None,  # for the source and the networks (`${data.image_size}`)
        download: bool | None = None,  # for a source that can fetch its files (`source.download: ${..download}`)
    ):
        super().__init__()
        self.root, self.image_size, self.download = root, image_size, download
        self.source, self.batch_size, self.cache_dir = source, batch_size, cache_dir
        self.holdout, self.on_device, self.seed = holdout, on_device, seed
        self.data: LabelledImages | None = None
        self.sched: dict | None = None  # the run's update schedule (ganexp.build sets it): batches per iteration

    def load(self) -> LabelledImages:
        """The data set, reordered once so that the held-out images (a fixed-seed random choice, the same for every
        job, whatever order the source or the user's files list them in) form its tail."""
        if self.data is None:
            data = load_cached(self.source, self.cache_dir)
            getattr(self.source, "test_sets", dict)()  # iCLEVR's test files: read now, not at the first evaluation
            data = holdout_last(data, self.holdout)
            if len(data) - self.holdout < self.batch_size:
                raise ConfigError(f"data.batch_size={self.batch_size}: the data has {len(data)} images "
                                  f"({self.holdout} held out), fewer than one batch")
            self.data = data
        return self.data

    @property
    def train_images(self) -> tuple[Tensor, Tensor]:
        data = self.load()
        end = len(data) - self.holdout
        return data.images[:end], data.labels[:end]

    @property
    def heldout_images(self) -> tuple[Tensor, Tensor]:
        data = self.load()
        end = len(data) - self.holdout
        return data.images[end:], data.labels[end:]

    @property
    def train_looks(self) -> Tensor | None:
        """The training images' looks (evaluator-only labels), or None when the data has none."""
        data = self.load()
        return None if data.looks is None else data.looks[:len(data) - self.holdout]

    def train_dataloader(self) -> DataLoader:
        images, labels = self.train_images
        if self.on_device and self.trainer is not None:
            images, labels = images.to(self.trainer.strategy.root_device), labels.to(self.trainer.strategy.root_device)
        module = self.trainer.lightning_module if self.trainer is not None else None
        rank = self.trainer.global_rank if self.trainer is not None else 0
        # the run's schedule (ganexp.build gives it): one real batch per D step; without one, one per iteration
        batches_at, position = ((partial(real_batches_at, sched=self.sched), partial(real_batches_before,
                                                                                     sched=self.sched))
                                if self.sched else (lambda i: 1, lambda i: i))
        sampler = IterationBatches(len(images), self.batch_size, self.seed + 7919 * rank,
                                   start=lambda: getattr(module, "iteration", 0),  # where a resumed run restarts
                                   batches_at=batches_at, position=position, device=images.device)
        return DataLoader(_Batches(images, labels), sampler=sampler, batch_size=None)

    @property
    def batches_per_epoch(self) -> int:
        return (len(self.load()) - self.holdout) // self.batch_size

    def on_after_batch_transfer(self, batch: tuple[Tensor, Tensor], dataloader_idx: int) -> tuple[Tensor, Tensor]:
        images, labels = batch
        return to_float(images), labels


def holdout_last(data: LabelledImages, holdout: int) -> LabelledImages:
    """`data` with `holdout` images chosen by a fixed-seed permutation moved to the end (both parts keep their
    original order). A file-order tail would hold out, say, the last sub-folder of `data=folder` entirely.
    Data with an official test split (`test_split`) holds out `holdout` of its test images (all of them by default,
    else a fixed-seed choice) and drops the rest: test images are never trained on."""
    if data.test_split:
        return holdout_from_test_split(data, holdout)
    if holdout <= 0:
        return data
    held = torch.zeros(len(data), dtype=torch.bool)
    held[torch.randperm(len(data), generator=torch.Generator().manual_seed(SPLIT_SEED))[:holdout]] = True
    order = torch.cat([(~held).nonzero().flatten(), held.nonzero().flatten()])
    return data.rows(order)


def holdout_from_test_split(data: LabelledImages, holdout: int) -> LabelledImages:
    """The training images, then `holdout` of the `test_split` images at the tail (`test_split` becomes `holdout`)."""
    if holdout > data.test_split:
        raise ConfigError(f"data.holdout={holdout}: the data's official test split, which the held-out images come "
                          f"from, has {data.test_split} images")
    if holdout == data.test_split:
        return data
    start = len(data) - data.test_split
    chosen = torch.randperm(data.test_split, generator=torch.Generator().manual_seed(SPLIT_SEED))[:holdout]
    order = torch.cat([torch.arange(start), start + chosen.sort().values])
    return replace(data.rows(order), test_split=holdout)


def to_float(images_u8: Tensor) -> Tensor:
    return images_u8.float().div_(127.5).sub_(1.0)


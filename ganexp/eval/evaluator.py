"""The evaluator: a small CNN classifier trained on a data set's real images, cached by data and settings.

One softmax head per attribute group (or one sigmoid head over all labels for multi-label data) sits on a shared
trunk whose penultimate features also serve FID/KID and the collapse score. `load_or_train` refuses an evaluator
below `floor` held-out accuracy: a weak judge makes every run look alike. Its cache is a cache: a damaged file is
trained again, and parallel jobs train it once (a lock beside the file).
"""

import contextlib
import fcntl
import hashlib
import inspect
import json
import logging
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganexp.atomic import atomic_write
from ganexp.data.module import to_float
from ganexp.errors import ConfigError, filesystem_error
from ganexp.eval.metrics import condition_accuracy, cpu_seeded
from ganexp.schema import EvalConf  # the evaluator's defaults live there (eval.*)

log = logging.getLogger(__name__)
ARCH_VERSION = 1  # part of the cache key: bump when Evaluator or training changes what a cached file means


class Evaluator(nn.Module):
    """Conv-BN-ReLU blocks, each halving the image, then global average pooling: the same weights take 32, 64 or
    128 px. For multi-label data pass `groups=[number of labels]`."""

    def __init__(self, groups: list[int], multilabel: bool = False, width: int = 32, feature_dim: int = 128):
        super().__init__()
        if multilabel and len(groups) != 1:
            raise ValueError(f"multi-label evaluator takes groups=[n_labels], got {groups}")
        self.groups, self.multilabel, self.feature_dim = list(groups), multilabel, feature_dim
        self.accuracy_heldout: float | None = None  # set by train_evaluator / load_or_train

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                    nn.MaxPool2d(2)]

        channels = [3, width, 2 * width, 4 * width, 4 * width]
        self.trunk = nn.Sequential(
            *(layer for c_in, c_out in pairwise(channels) for layer in block(c_in, c_out)),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels[-1], feature_dim), nn.ReLU(inplace=True),
        )
        self.heads = nn.ModuleList(nn.Linear(feature_dim, n) for n in self.groups)

    def features(self, x: Tensor) -> Tensor:
        """Penultimate features (N, feature_dim) of [-1, 1] images: the space of FID/KID and the collapse score."""
        return self.trunk(x)

    def forward(self, x: Tensor) -> list[Tensor]:
        return self.logits(self.trunk(x))

    def logits(self, features: Tensor) -> list[Tensor]:
        """Each group's logits from `features(x)`: the same as `self(x)`, without running the trunk again."""
        return [head(features) for head in self.heads]

    @torch.no_grad()
    def predict(self, x: Tensor, batch_size: int = 512) -> list[Tensor]:
        """Logits of many images, in batches; call in eval mode (BatchNorm running statistics)."""
        outs = [self(chunk) for chunk in x.split(batch_size)]
        return [torch.cat(parts) for parts in zip(*outs, strict=True)]

    def loss(self, x: Tensor, labels: Tensor) -> Tensor:
        logits = self(x)
        if self.multilabel:
            return F.binary_cross_entropy_with_logits(logits[0], labels.float())
        return sum(F.cross_entropy(lg, labels[:, a]) for a, lg in enumerate(logits))


def accuracy(model: Evaluator, images: Tensor, labels: Tensor) -> float:
    """Overall attribute accuracy, or the top-k rule for multi-label data, of [-1, 1] images."""
    return condition_accuracy(model.predict(images), labels, model.multilabel)["overall"]


def shift(images: Tensor, max_shift: int, gen: torch.Generator) -> Tensor:
    """Translate each image by up to `max_shift` pixels, repeating the border. Nearest-pixel sampling keeps every
    colour exact, because colours are labels here (no flips either: they could change a positional attribute)."""
    n, _, size, _ = images.shape
    offsets = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=gen).float() * (2 / size)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, :, 2] = offsets
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="nearest", padding_mode="border", align_corners=False)


def train_evaluator(images_u8: Tensor, labels: Tensor, groups: list[int], multilabel: bool, *,
                    epochs: int = EvalConf.epochs, batch_size: int = 64, lr: float = 2e-3, seed: int = 0,
                    holdout_fraction: float = 0.1,
                    width: int = EvalConf.width, feature_dim: int = 128, device: str | torch.device = "cpu",
                    test: tuple[Tensor, Tensor] | None = None) -> tuple[Evaluator, float]:
    """Train on uint8 images (N, 3, S, S) with long (N, A) attribute labels or float (N, L) multi-hot labels.

    Returns the model in eval mode and its accuracy on a held-out `holdout_fraction` of the images, or, given `test`
    (uint8 images, labels: a data set's official test split), on those, having trained on all the images. Everything
    random comes from `seed` (the global torch RNG is left as it was); images move to `device` a batch at a time.
    """
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(images_u8), generator=gen)
    n_val = 0 if test is not None else max(1, int(len(images_u8) * holdout_fraction))
    val, train = order[:n_val], order[n_val:]
    with cpu_seeded(seed):  # weight init draws from the global RNG
        model = Evaluator(groups, multilabel, width, feature_dim).to(device)
    steps_per_epoch = max(1, len(train) // batch_size)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * steps_per_epoch)
    max_shift = images_u8.shape[-1] // 16
    val_u8, val_labels = (images_u8[val], labels[val]) if test is None else test
    val_images, val_labels = to_float(val_u8.to(device)), val_labels.to(device)
    acc = 0.0
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        total = torch.zeros((), device=device)
        perm = train[torch.randperm(len(train), generator=gen)]
        for batch in perm[: steps_per_epoch * batch_size].split(batch_size):  # equal batches: BatchNorm likes them
            x = shift(to_float(images_u8[batch]), max_shift, gen)  # on the CPU: the shifts come from `gen`
            loss = model.loss(x.to(device), labels[batch].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.detach()
        model.eval()
        acc = accuracy(model, val_images, val_labels)
        log.info("evaluator epoch %d/%d: loss %.4f, held-out accuracy %.4f (%.1fs)", epoch + 1, epochs,
                 total.item() / steps_per_epoch, acc, time.perf_counter() - start)
    model.accuracy_heldout = acc
    return model.eval(), acc


# where it trains is not what it is; the test images (not a setting) enter the cache key as their count
TRAIN_DEFAULTS = {name: p.default for name, p in inspect.signature(train_evaluator).parameters.items()
                  if p.kind is p.KEYWORD_ONLY and name not in ("device", "test")}


def train_settings(**train_kwargs) -> dict:
    """`train_evaluator`'s keyword settings with defaults filled in, so that the cache key sees a default passed
    explicitly as the same setting, and a default changed in the code as a new one."""
    unknown = set(train_kwargs) - set(TRAIN_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown evaluator training settings: {sorted(unknown)}")
    return {**TRAIN_DEFAULTS, **train_kwargs}


def load_or_train(cache_dir: str | Path, data_key: str, images_u8: Tensor, labels: Tensor, groups: list[int],
                  multilabel: bool, *, floor: float = EvalConf.floor, device: str | torch.device = "cpu",
                  test: tuple[Tensor, Tensor] | None = None, **train_kwargs) -> Evaluator:
    """The evaluator for this data and these settings, from `cache_dir/evaluator-<hash>.pt` or trained (and cached)
    on first use, on the CPU (a GPU's kernels are not deterministic, and the cache key does not name a device).
    `data_key` describes the data (the caller's config string); the hash also covers the training settings, groups
    and image shape. `test`: the official test split its accuracy is measured on (see `train_evaluator`). A held-out
    accuracy below `floor` is a ConfigError naming eval.floor. The model comes back on `device`, in eval mode, with
    `accuracy_heldout` set."""
    settings = train_settings(**train_kwargs)
    key = json.dumps({"version": ARCH_VERSION, "data": data_key, "groups": list(groups), "multilabel": multilabel,
                      "shape": list(images_u8.shape), **settings,
                      **({"test": len(test[0])} if test is not None else {})}, sort_keys=True)
    path = Path(cache_dir).expanduser() / f"evaluator-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pt"
    with cache_lock(path):  # a parallel job of the same sweep waits here, then loads what this one trained
        model = load_cached(path, groups, multilabel, settings)
        if model is None:
            # Trained on the CPU wherever the run trains: deterministic, and the same weights for the same key
            model, acc = train_evaluator(images_u8, labels, groups, multilabel, device="cpu", test=test, **settings)
            # Cached even when below the floor: the same settings would only fail again after the same training.
            atomic_write(path, lambda f: torch.save({"state_dict": model.state_dict(), "accuracy": acc, "key": key},
                                                    f), "wb")
            model.accuracy_heldout = acc
            log.info("evaluator: held-out accuracy %.4f, saved to %s", acc, path)
    acc = model.accuracy_heldout
    if acc < floor:
        raise ConfigError(
            f"eval.floor={floor}: the evaluator reaches held-out accuracy {acc:.4f}, below the floor, so its metrics "
            f"would mislead; train it longer (eval.epochs={settings['epochs']}), give it more images, or lower "
            f"eval.floor knowingly (cached evaluator: {path})"
        )
    return model.to(device).eval()


def digest(model: nn.Module) -> str:
    """The first 12 hex digits of the sha256 of `model`'s weights (every tensor of its state_dict, in order, as
    bytes): two runs scored by evaluators with the same digest were scored by the same network."""
    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:12]


@contextlib.contextmanager
def cache_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on `<path>.lock` (fcntl.flock, released when the process ends however it ends); none in a
    read-only cache folder, where a cached evaluator can still be loaded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = open(path.with_name(f"{path.name}.lock"), "a")  # noqa: SIM115 (closed below)
    except PermissionError:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def load_cached(path: Path, groups: list[int], multilabel: bool, settings: dict) -> Evaluator | None:
    """The evaluator cached at `path` (on the CPU, `accuracy_heldout` set), or None when there is none or the file is
    damaged (cut short, not a checkpoint, other weights): a cache, so the caller trains it again."""
    if not path.exists():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model = Evaluator(groups, multilabel, settings["width"], settings["feature_dim"])
        model.load_state_dict(saved["state_dict"])
        model.accuracy_heldout = float(saved["accuracy"])
    except Exception as err:  # torch raises EOFError, OSError, RuntimeError, UnpicklingError ... for a bad file
        if filesystem_error(err):  # unreadable (a folder in its place, no permission): one line naming it
            raise
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        log.warning("evaluator: cache %s is damaged (%s); training it again", path, reason)
        return None
    log.info("evaluator: loaded %s, held-out accuracy %.4f", path, model.accuracy_heldout)
    return model

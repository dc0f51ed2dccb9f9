"""Counting host synchronisations in a training loop: the calls that make the host wait for the device.

On a GPU the host queues kernels ahead of the device until something reads a result: `.item()`, `float(t)`,
`bool(t)` (an `if` on a tensor), `.tolist()`, `.cpu()`, `.numpy()`, a blocking copy between host and device
(`.to(device)`, `torch.tensor(..., device=...)`), an op whose output size depends on the data (`nonzero`, `unique`),
`torch.cuda.synchronize`. `count_syncs` patches those calls and records each with the line that made it, so a run on
the CPU counts what the same run would wait for on a GPU, and names where; `SyncWindow` confines the count to the
iterations [start, stop) of a training run, and `count_training_syncs` runs a job under it
(tests/integration/test_host_syncs.py, the `syncs` check of `python -m ganexp.gpu_check`).

What the CPU cannot tell: whether a tensor would live on the host or the device. A read of any tensor is counted, and
every `.to(<device>)` / `.cuda()` made by ganexp's own code counts as a blocking copy (on the GPU it is one whenever
the tensor is on the host): the hot loop should make neither. On a GPU, `cuda_sync_warnings` adds torch's own
account (`torch.cuda.set_sync_debug_mode`), which sees exactly what synchronised.
"""

import contextlib
import os
import sys
import tempfile
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytorch_lightning as pl
import torch

THIS = __file__
PACKAGE = str(Path(__file__).resolve().parent) + os.sep
ROOT = Path(__file__).resolve().parents[1]
TORCH = str(Path(torch.__file__).resolve().parent) + os.sep
OPTIM = TORCH + "optim" + os.sep
# Tensor methods that read a value on the host (every call on a device tensor waits for the device)
READS = ("item", "tolist", "numpy", "cpu", "__bool__", "__float__", "__int__", "__index__", "nonzero", "unique",
         "masked_select", "is_nonzero")
# torch functions that do the same
FUNCTIONS = ("equal", "allclose", "nonzero", "unique", "masked_select")
_MISSING = object()
# The budget (issue 42): no host sync in an iteration, except next to the multiples of BUDGET_EVERY of the iteration
# counter (the iteration that starts on one, and the one before it: the counter moves on at the end of the training
# step), where the every-N work (the guard's check of D's and G's loss, one batched read of the scalars, a progress
# bar refresh) may read at most EVERY_N_READS times.
BUDGET_EVERY, EVERY_N_READS = 10, 4


@dataclass
class Sync:
    kind: str  # "item", "__bool__", "to(device)", "torch.tensor(device=)", ...
    site: str  # file:line that made the call (see _site)
    iteration: int  # the counted span it fell in (see SyncWindow)


@dataclass
class SyncLog:
    """Every counted call while counting was on."""

    events: list[Sync] = field(default_factory=list)
    on: bool = False
    span: int = -1  # the iteration whose span is being counted

    def by_site(self) -> Counter:
        return Counter(f"{e.site} {e.kind}" for e in self.events)

    def by_iteration(self) -> Counter:
        return Counter(e.iteration for e in self.events)


_guard = threading.local()


def _caller_frames() -> Iterator:
    """The frames above the counted call, innermost first (this module's own left out)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename != THIS:
            yield frame
        frame = frame.f_back


def _site() -> str:
    """Where the counted call came from, as `file:line`: the innermost caller outside torch; when that is not
    ganexp's own code (Lightning's), `... via` the innermost ganexp line that led to it."""
    direct = None
    for frame in _caller_frames():
        name = frame.f_code.co_filename
        if name.startswith(PACKAGE):
            here = f"{os.path.relpath(name, ROOT)}:{frame.f_lineno}"
            return here if direct is None else f"{direct} via {here}"
        if direct is None and not name.startswith(TORCH):
            direct = f"{_short(name)}:{frame.f_lineno}"
    return direct or "?"


def _short(name: str) -> str:
    parts = Path(name).parts
    for anchor in ("site-packages", "tests"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) + (anchor == "site-packages"):])
    return name


def _direct_caller() -> str:
    """The file of the code that made the counted call."""
    return next(_caller_frames()).f_code.co_filename


def _explicit_device(args: tuple, kwargs: dict) -> bool:
    """Whether a `.to(...)` call names a device (not only a dtype or memory format)."""
    if "device" in kwargs:
        return kwargs["device"] is not None
    return bool(args) and isinstance(args[0], str | torch.device | int)


def _not_a_host_counter(*args, **kwargs) -> bool:
    """torch.optim keeps its step counters on the host (unless `capturable` or `fused`) and reads them there: not a
    sync. (swa_utils' AveragedModel is not an optimizer: its `n_averaged` lives with the model, on the device.)"""
    caller = _direct_caller()
    return not (caller.startswith(OPTIM) and not caller.endswith("swa_utils.py"))


@contextlib.contextmanager
def count_syncs(log: SyncLog) -> Iterator[SyncLog]:
    """Patch the synchronising calls for the duration; each call made while `log.on` is recorded in `log` (calls made
    inside a counted call are not counted again)."""

    def record(kind: str) -> None:
        log.events.append(Sync(kind, _site(), log.span))

    def wrap(original: Callable, kind: str, counts: Callable[..., bool] = lambda *a, **k: True) -> Callable:
        def counted(*args, **kwargs):
            if not log.on or getattr(_guard, "depth", 0):
                return original(*args, **kwargs)
            _guard.depth = 1
            try:
                if counts(*args, **kwargs):
                    record(kind)
                return original(*args, **kwargs)
            finally:
                _guard.depth = 0

        return counted

    def copy_to_device(tensor, *args, **kwargs) -> bool:
        """A copy the host waits for: to the host from a device, or a blocking copy ganexp's code asks for."""
        target = kwargs.get("device", args[0] if args and isinstance(args[0], str | torch.device | int) else None)
        if target is not None and torch.device(target).type == "cpu" and tensor.device.type != "cpu":
            return True
        return _explicit_device(args, kwargs) and not kwargs.get("non_blocking", False) and by_ganexp()

    def created_on_device(*args, **kwargs) -> bool:
        return kwargs.get("device") is not None and not _direct_caller().startswith(TORCH)

    def by_ganexp(*args, **kwargs) -> bool:
        return _direct_caller().startswith(PACKAGE)

    patches: list[tuple[object, str, Callable]] = []
    for name in READS:
        patches.append((torch.Tensor, name, wrap(getattr(torch.Tensor, name), name, _not_a_host_counter)))
    patches.append((torch.Tensor, "to", wrap(torch.Tensor.to, "to(device)", copy_to_device)))
    patches.append((torch.Tensor, "cuda", wrap(torch.Tensor.cuda, "cuda()", by_ganexp)))
    for name in FUNCTIONS:
        patches.append((torch, name, wrap(getattr(torch, name), f"torch.{name}")))
    for name in ("tensor", "as_tensor"):
        patches.append((torch, name, wrap(getattr(torch, name), f"torch.{name}(device=)", created_on_device)))
    patches.append((torch.cuda, "synchronize", wrap(torch.cuda.synchronize, "torch.cuda.synchronize")))
    saved = [(owner, name, owner.__dict__.get(name, _MISSING)) for owner, name, _ in patches]
    try:
        for owner, name, replacement in patches:
            setattr(owner, name, replacement)
        yield log
    finally:
        for owner, name, original in saved:
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def over_budget(counts: Counter, start: int, stop: int) -> list[str]:
    """The iterations of [start, stop) whose count of synchronising calls (`counts`, by iteration) breaks the
    budget, as `iteration i: n`."""
    return [f"iteration {i}: {counts[i]}" for i in range(start, stop)
            if counts[i] > (EVERY_N_READS if i % BUDGET_EVERY in (0, BUDGET_EVERY - 1) else 0)]


class SyncWindow(pl.Callback):
    """Counts from the start of iteration `start` to the start of iteration `stop`. Each span, from one iteration's
    start to the next, is one whole iteration: its training step, the callbacks after it, the loading of the next
    batch; an event is recorded with its span's iteration (the module's counter moves on in the middle of the span,
    at the end of the training step). On a GPU it also records torch's sync debug warnings (`cuda_warnings`)."""

    def __init__(self, log: SyncLog, start: int, stop: int):
        self.counts, self.start, self.stop = log, start, stop
        self.cuda_by_span: Counter | None = None  # torch's own count per iteration, once counted on a GPU
        self._caught: contextlib.ExitStack | None = None
        self._records: list = []
        self._seen = 0

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.note_cuda()
        self.counts.span = module.iteration
        if module.iteration == self.start:
            self.counts.on = True
            if module.device.type == "cuda":
                self.cuda_by_span = Counter()
                self._caught = contextlib.ExitStack()
                self._records = self._caught.enter_context(cuda_sync_warnings())
        elif module.iteration == self.stop:
            self.finish()

    def on_train_end(self, trainer, module) -> None:
        self.note_cuda()
        self.finish()

    def note_cuda(self) -> None:
        """torch's sync warnings since the last note, to the span that made them."""
        if self._caught is not None:
            new = self._records[self._seen:]
            self._seen = len(self._records)
            self.cuda_by_span[self.counts.span] += sum("synchroniz" in str(w.message) for w in new)

    def finish(self) -> None:
        self.counts.on = False
        if self._caught is not None:
            self._caught.close()
            self._caught = None


@contextlib.contextmanager
def cuda_sync_warnings() -> Iterator[list]:
    """torch's sync debug mode for the duration: the warnings caught, as they come (those about a synchronising CUDA
    call say "synchroniz...")."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            yield caught
        finally:
            torch.cuda.set_sync_debug_mode("default")


@dataclass
class SyncReport:
    start: int
    stop: int  # iterations [start, stop) were counted
    log: SyncLog
    cuda_by_span: Counter | None  # torch's own count per iteration on a GPU; None elsewhere

    @property
    def iterations(self) -> int:
        return self.stop - self.start

    @property
    def per_iteration(self) -> float:
        return len(self.log.events) / self.iterations

    @property
    def cuda_per_iteration(self) -> float | None:
        return None if self.cuda_by_span is None else sum(self.cuda_by_span.values()) / self.iterations

    def over_budget(self) -> list[str]:
        """The iterations over budget, by torch's own count on a GPU, else by the patched calls."""
        counts = self.cuda_by_span if self.cuda_by_span is not None else self.log.by_iteration()
        return over_budget(counts, self.start, self.stop)

    def table(self) -> str:
        """One line per call site: count per iteration, total, site and kind."""
        return "\n".join(f"{n / self.iterations:8.3f}/iter {n:6d}  {site}"
                         for site, n in self.log.by_site().most_common())


def count_training_syncs(cfg, start: int, stop: int, folder: Path | None = None) -> SyncReport:
    """Train `cfg` (its `trainer.max_iters` must exceed `stop`) with ganexp's own entry point in `folder` (a temporary
    one by default), counting the synchronising calls of iterations [start, stop)."""
    from ganexp.train import main as train

    if cfg.trainer.max_iters <= stop:
        raise ValueError(f"trainer.max_iters={cfg.trainer.max_iters} must exceed the window's stop={stop}")
    log = SyncLog()
    window = SyncWindow(log, start, stop)
    original = pl.Trainer.__init__

    def with_window(self, *args, **kwargs):
        kwargs["callbacks"] = [window, *(kwargs.get("callbacks") or [])]
        original(self, *args, **kwargs)

    here = Path.cwd()
    with contextlib.ExitStack() as stack:
        if folder is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ganexp-syncs-")))
        Path(folder).mkdir(parents=True, exist_ok=True)
        os.chdir(folder)
        stack.callback(os.chdir, here)
        pl.Trainer.__init__ = with_window
        stack.callback(setattr, pl.Trainer, "__init__", original)
        with count_syncs(log):
            train(cfg)
    return SyncReport(start, stop, log, window.cuda_by_span)

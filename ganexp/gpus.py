"""One GPU per worker of a sweep that runs several jobs at once (`hydra/launcher=gpu_parallel`).

Small GANs leave a modern GPU mostly idle, so a sweep runs `n_jobs` jobs at once in joblib's worker processes. Each
worker claims the lowest free *slot* on this host (a lock file held while the process lives, so two workers never
share one, and a dead worker's slot is free again) and takes the visible GPU `slot % GPUs`: 4 workers on one GPU
all share it, 8 workers on 4 GPUs put two on each, and two sweeps on one host fill the GPUs between them. The choice
is made through `CUDA_VISIBLE_DEVICES`, before anything starts CUDA in the process, so the job itself still asks
for `trainer.devices=1`; a worker keeps its slot, and so its GPU, for all the jobs it runs.
"""

import fcntl
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
VISIBLE = "CUDA_VISIBLE_DEVICES"
_held: dict[Path, tuple[int, int]] = {}  # slot folder -> (slot, open lock file) claimed by this process


def visible_gpus(env: Mapping[str, str], count: int) -> list[str]:
    """The GPUs a process may use: those `CUDA_VISIBLE_DEVICES` lists (indices or UUIDs, as given; an empty value
    hides them all), else all `count` GPUs of the host by index."""
    if VISIBLE in env:
        return [g.strip() for g in env[VISIBLE].split(",") if g.strip()]
    return [str(i) for i in range(count)]


def gpu_for_slot(slot: int, gpus: list[str]) -> str:
    """Worker slot k's GPU: the k-th of `gpus`, round the list again past its end."""
    return gpus[slot % len(gpus)]


def parallel_jobs(launcher: Mapping[str, Any], cores: int) -> int:
    """How many jobs the launcher runs at once in processes on this host: joblib's `n_jobs` (with joblib's negative
    convention: -1 every core, -2 all but one, ...), 1 for any other launcher."""
    if "joblib" not in str(launcher.get("_target_", "")):
        return 1
    n_jobs = launcher.get("n_jobs") or 1
    return max(1, cores + 1 + n_jobs) if n_jobs < 0 else n_jobs


def wants_one_gpu(trainer: Mapping[str, Any]) -> bool:
    """Whether the job trains on one GPU that ganexp may choose: a GPU accelerator (or auto), one device, no DDP."""
    return (str(trainer.get("accelerator", "auto")) in ("gpu", "cuda", "auto") and trainer.get("devices", 1) in (1, "1")
            and "ddp" not in str(trainer.get("strategy", "auto")))


def choose_gpu(launcher: Mapping[str, Any], trainer: Mapping[str, Any], env: Mapping[str, str], count: int,
               cores: int, claim: Callable[[], int]) -> str | None:
    """The GPU this worker should see, or None to leave things as they are: one job at a time, a job that is not
    on one GPU, or fewer than two GPUs to choose from. `claim()` gives the worker's slot (`claim_slot`)."""
    if parallel_jobs(launcher, cores) < 2 or not wants_one_gpu(trainer):
        return None
    gpus = visible_gpus(env, count)
    if len(gpus) < 2:
        return None
    return gpu_for_slot(claim(), gpus)


def slot_folder() -> Path:
    """Where this host's workers claim their slots (one folder per user, shared by all sweeps)."""
    return Path(tempfile.gettempdir()) / f"ganexp-gpu-slots-{os.getuid()}"


def claim_slot(folder: Path | None = None) -> int:
    """The lowest slot number no other live process holds, claimed for the life of this process (the same number
    on every call). A lock file per slot: the OS frees it when the process ends, however it ends."""
    folder = Path(folder or slot_folder())
    if folder in _held:
        return _held[folder][0]
    folder.mkdir(parents=True, exist_ok=True)
    slot = 0
    while True:
        fd = os.open(folder / f"slot-{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            slot += 1
            continue
        _held[folder] = (slot, fd)  # kept open: closing it would free the slot
        return slot


def pin_gpu(cfg) -> str | None:
    """For a job of a sweep running several jobs at once: make this worker process see only its GPU. Must run
    before anything starts CUDA in the process (the first line of `ganexp.train.main`); the GPU count comes from
    NVML (`torch.cuda.device_count`), which does not start CUDA. Returns the GPU chosen (None: none was)."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    if not HydraConfig.initialized():
        return None
    launcher = OmegaConf.to_container(HydraConfig.get().launcher, resolve=True)
    trainer = OmegaConf.to_container(cfg.trainer, resolve=True)
    cores = len(os.sched_getaffinity(0))
    if parallel_jobs(launcher, cores) < 2 or not wants_one_gpu(trainer):
        return None  # before torch: the common case imports nothing
    import torch

    gpu = choose_gpu(launcher, trainer, os.environ, torch.cuda.device_count(), cores, claim_slot)
    if gpu is not None:
        if torch.cuda.is_initialized():  # too late for this process: it keeps the GPUs it started with
            log.warning("CUDA started before ganexp.gpus.pin_gpu: this worker's job is not pinned to GPU %s", gpu)
            return None
        os.environ[VISIBLE] = gpu
        log.info("GPU %s for this worker (slot %d of the host's parallel jobs)", gpu, claim_slot())
    return gpu

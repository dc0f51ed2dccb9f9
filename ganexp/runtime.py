"""The runtime: how a job computes, not what. Precision and memory layout (`resolve_arithmetic`), threads
(`job_threads`), the optimizer kernel (`optimizer_kernel`), Lightning's advice that does not apply; the GPU a
parallel worker sees is `ganexp.gpus.pin_gpu`. None of these changes what a run is (its identity), only its speed.
"""

import inspect
import logging
import os
import platform
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

log = logging.getLogger(__name__)


def quiet_lightning() -> None:
    """Silence Lightning's advice that does not apply here (ganexp steps optimizers itself and logs on its own
    x-axis). Called by the entry points (run.py, the benchmark), not at import."""
    for message in (".*no pre-optimization state was saved.*", ".*smaller than the logging interval.*",
                    ".*does not have many workers.*", ".*LeafSpec.*"):
        warnings.filterwarnings("ignore", message=message)
    logging.getLogger("pytorch_lightning.utilities.rank_zero").addFilter(
        lambda rec: "litlogger" not in rec.getMessage())
    logging.getLogger("pytorch_lightning.trainer.connectors.checkpoint_connector").setLevel(logging.WARNING)


def cpu_has_bf16() -> bool:
    """Whether the CPU computes bf16 in hardware (AMX or AVX-512-BF16, from /proc/cpuinfo's flags; False where
    that file does not exist). Elsewhere torch emulates bf16, which is slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_arithmetic(trainer_cfg: DictConfig, images: bool = True) -> None:
    """`trainer.precision=auto` and `trainer.channels_last=auto`, made concrete in place before anything is built or
    saved: bf16 autocast with channels_last (the CPU fast path) for image GANs on a CPU with bf16 hardware, where it
    was measured faster at equal quality (docs/performance.md); fp32 NCHW elsewhere: on a GPU (its fast path is
    trainer=gpu_fast), on CPUs that would emulate bf16, and for the 2-D point data (`images=False`), whose tiny MLPs
    gain nothing and whose modes (std 0.01 at radius 1) are finer than bf16's 8-bit mantissa resolves well. An
    explicit precision (trainer.precision=32-true) turns both off."""
    on_cpu = trainer_cfg.accelerator == "cpu" or (trainer_cfg.accelerator == "auto" and not torch.cuda.is_available())
    with open_dict(trainer_cfg):
        if trainer_cfg.precision == "auto":
            trainer_cfg.precision = "bf16-mixed" if on_cpu and images and cpu_has_bf16() else "32-true"
        if trainer_cfg.channels_last == "auto":
            trainer_cfg.channels_last = on_cpu and str(trainer_cfg.precision).startswith("bf16")


def arithmetic(trainer_cfg: DictConfig, device: torch.device, images: bool = True) -> str:
    """The start-up line's account of the arithmetic: precision and memory layout, and the fast path's advice."""
    line = f"precision {trainer_cfg.precision}, {'channels_last' if trainer_cfg.channels_last else 'NCHW'} on {device}"
    if device.type == "cpu":
        bf16 = cpu_has_bf16()
        line += f"; this CPU {'has' if bf16 else 'lacks'} bf16 hardware"
        if bf16 and images and not str(trainer_cfg.precision).startswith("bf16"):
            line += " (trainer=cpu_fast: bf16 autocast + channels_last, about 2x faster; see README)"
    return line


def device_model(device: torch.device) -> str:
    """The accelerator's name (CUDA) or the CPU's model name (/proc/cpuinfo; the platform's words elsewhere)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


PACKAGE = Path(__file__).resolve().parent


def source_commit(folder: Path = PACKAGE) -> str | None:
    """The git commit of the ganexp source that runs (`folder`: the package; 12 hex digits, "+dirty" when tracked
    files of it or of conf/ beside it differ from the commit); None outside a git checkout (an installed wheel) or
    without git."""
    try:
        head = subprocess.run(["git", "-C", str(folder), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no", "--",
                                str(folder), str(folder.parent / "conf")], capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty else "")


def provenance(trainer_cfg: DictConfig, device: torch.device) -> dict[str, Any]:
    """What a run's numbers were computed with, beyond its settings: the resolved arithmetic, the device and its
    model, torch's version and ganexp's commit (metrics.json's `provenance`; a report.csv column each)."""
    return {"precision": str(trainer_cfg.precision), "channels_last": bool(trainer_cfg.channels_last),
            "device": device.type, "device_model": device_model(device), "torch": torch.__version__,
            "commit": source_commit()}


def shared_threads(launcher: dict, cores: int) -> int | None:
    """Threads for one job of a sweep whose launcher runs `n_jobs` at once in processes on this machine (joblib):
    the cores shared out, cores // n_jobs, at least 1. None (torch's default: every core) for any other launcher
    or one job at a time. Measured on 2 cores: two jobs with a thread each beat one job with two
    (docs/performance.md, Parallel jobs on one machine)."""
    if "joblib" not in str(launcher.get("_target_", "")):
        return None
    n_jobs = launcher.get("n_jobs") or 1
    if n_jobs < 0:  # joblib's convention: -1 every CPU, -2 all but one, ...
        n_jobs = max(1, cores + 1 + n_jobs)
    return max(1, cores // n_jobs) if n_jobs > 1 else None


def job_threads(cfg: DictConfig) -> int | None:
    """`trainer.num_threads`, or when it is unset, the launcher's share of the cores (`shared_threads`)."""
    if cfg.trainer.num_threads or not HydraConfig.initialized():
        return cfg.trainer.num_threads
    launcher = OmegaConf.to_container(HydraConfig.get().launcher, resolve=True)
    cores = len(os.sched_getaffinity(0))
    threads = shared_threads(launcher, cores)
    if threads:
        log.info("threads: %d per job (%d cores, %s jobs at once; trainer.num_threads overrides)",
                 threads, cores, launcher.get("n_jobs"))
    return threads


def optimizer_kernel(make: Callable[..., torch.optim.Optimizer], device: torch.device) -> dict[str, Any]:
    """Keyword arguments for the optimizer `make` builds (a functools.partial from the config): on a GPU, torch's
    fused kernel (one launch for all parameters: Adam, AdamW, SGD) where the optimizer has one, else its foreach
    kernel (RMSprop); nothing on the CPU, and nothing the config sets itself (`optimizer.g.fused=false` wins)."""
    if torch.device(device).type != "cuda":
        return {}
    target = getattr(make, "func", make)
    given = getattr(make, "keywords", {}) or {}
    accepted = inspect.signature(target).parameters
    for kernel in ("fused", "foreach"):
        if kernel in accepted:
            return {} if {"fused", "foreach"} & set(given) else {kernel: True}
    return {}

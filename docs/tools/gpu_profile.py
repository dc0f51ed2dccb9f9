"""GPU diagnosis (docs/performance.md, Measured on an H200): ganexp's step against the plain loop, under torch's
profiler.

On a GPU machine, from the repository root: `python docs/tools/gpu_profile.py gpu:64:32 gpu_fast:512:32` (each
argument preset:batch:image size). For each case and each loop (ganexp's through Lightning, `ganexp.bench`'s plain
one) it prints the wall time of an iteration without and with the profiler, and per iteration the CUDA kernels, the
launch calls, the copies, the synchronisations and the GPU's busy time; $OUT/prof.json (default /tmp) adds the top
host-time table of each. Without CUDA it runs the first case small on the CPU (a check that the script works).
"""

import copy
import json
import os
import sys
import time
import traceback

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from torch.profiler import ProfilerActivity, profile

from ganexp import bench
from ganexp.build import build_module
from ganexp.data.module import ImageData, to_float
from ganexp.runtime import quiet_lightning, resolve_arithmetic
from ganexp.schema import register

CUDA = torch.cuda.is_available()
ACTIVITIES = [ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if CUDA else [])]
LAUNCHES = ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernelEx")
START, TIMED, PROFILED = 30, 20, 20  # warm-up iterations, then timed ones, then profiled ones
ON_CPU = ["trainer.accelerator=cpu", "trainer.precision=32-true", "trainer.compile=false", "model.generator.width=4",
          "model.discriminator.width=4"]
SHOWN = ("wall_ms_unprofiled", "wall_ms", "kernels_per_iter", "launch_calls_per_iter", "memcpy_per_iter",
         "sync_calls_per_iter", "gpu_busy_ms_per_iter")


def sync() -> None:
    if CUDA:
        torch.cuda.synchronize()


def summarize(prof, n: int) -> dict:
    events = prof.key_averages()
    on_gpu = [e for e in events if e.device_type == torch.autograd.DeviceType.CUDA]
    return {"kernels_per_iter": sum(e.count for e in on_gpu) / n,
            "launch_calls_per_iter": sum(e.count for e in events if e.key in LAUNCHES) / n,
            "memcpy_per_iter": sum(e.count for e in events if "memcpy" in e.key.lower()) / n,
            "sync_calls_per_iter": sum(e.count for e in events if "Synchronize" in e.key) / n,
            "gpu_busy_ms_per_iter": sum(e.self_device_time_total for e in on_gpu) / n / 1000,
            "table": events.table(sort_by="self_cpu_time_total", row_limit=30, max_name_column_width=60)}


class Window(pl.Callback):
    """Times iterations [START, START + TIMED), then profiles the next PROFILED."""

    def __init__(self):
        self.found, self.prof, self.t0 = {}, None, 0.0

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        it = module.iteration
        if it in (START, START + TIMED, START + TIMED + PROFILED):
            sync()
            now = time.perf_counter()
            if it == START + TIMED:
                self.found["wall_ms_unprofiled"] = (now - self.t0) / TIMED * 1000
                self.prof = profile(activities=ACTIVITIES)
                self.prof.__enter__()
            if it == START + TIMED + PROFILED:
                self.prof.__exit__(None, None, None)
                self.found.update(wall_ms=(now - self.t0) / PROFILED * 1000, **summarize(self.prof, PROFILED))
            self.t0 = time.perf_counter()


def ganexp_loop(cfg, data: ImageData) -> dict:
    module = build_module(cfg, data, max_iters=START + TIMED + PROFILED + 1)
    module.speed_up(cfg.trainer.channels_last, cfg.trainer.compile)
    window, t = Window(), cfg.trainer
    trainer = pl.Trainer(accelerator=t.accelerator, devices=1, max_epochs=-1, logger=False, precision=t.precision,
                         benchmark=t.benchmark, callbacks=[window], enable_progress_bar=False,
                         enable_checkpointing=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, datamodule=data)
    return window.found


def plain_loop(cfg, data: ImageData, batch: int) -> dict:
    module = build_module(cfg, data)
    device = torch.device("cuda" if CUDA else "cpu")
    real = to_float(data.train_images[0][:batch].to(device))
    g, d = copy.deepcopy(module.generator).to(device), copy.deepcopy(module.discriminator).to(device)
    opt_g, opt_d = module.optimizer_g(params=g.parameters()), module.optimizer_d(params=d.parameters())
    args = (g, d, module.loss, opt_g, opt_d, [real], module.z_dim)
    for _ in range(START):
        bench.plain_step(*args)
    sync()
    t0 = time.perf_counter()
    for _ in range(TIMED):
        bench.plain_step(*args)
    sync()
    unprofiled = (time.perf_counter() - t0) / TIMED * 1000
    with profile(activities=ACTIVITIES) as prof:
        t0 = time.perf_counter()
        for _ in range(PROFILED):
            bench.plain_step(*args)
        sync()
        wall = (time.perf_counter() - t0) / PROFILED * 1000
    return {"wall_ms_unprofiled": unprofiled, "wall_ms": wall, **summarize(prof, PROFILED)}


def case(preset: str, batch: int, size: int) -> dict:
    overrides = [f"data.image_size={size}", "eval.enabled=false", f"trainer={preset}", f"data.batch_size={batch}",
                 *([] if CUDA else ON_CPU)]
    with initialize_config_dir(str(bench.CONF), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    resolve_arithmetic(cfg.trainer)
    data = ImageData(bench.RandomImages(batch * 8, size), batch, "/tmp/ganexp-profile-cache", holdout=0, seed=0,
                     on_device=cfg.data.get("on_device", False))
    return {"ganexp": ganexp_loop(cfg, data), "plain": plain_loop(cfg, data, batch)}


def main() -> None:
    register()
    quiet_lightning()
    out = os.environ.get("OUT", "/tmp")
    specs = [arg.split(":") for arg in sys.argv[1:]] or [["gpu", "64", "32"]]
    results = []
    for preset, batch, size in specs if CUDA else specs[:1]:
        result = {"preset": preset, "batch": int(batch), "size": int(size)}
        try:
            result.update(case(preset, int(batch), int(size)))
        except Exception:
            result["error"] = traceback.format_exc()[-2000:]
        results.append(result)
        ours, plain = result.get("ganexp", {}), result.get("plain", {})
        numbers = {k: (round(ours.get(k, 0), 2), round(plain.get(k, 0), 2)) for k in SHOWN}
        print(preset, batch, size, "(ganexp, plain):", numbers, result.get("error", "")[-300:], flush=True)
        with open(f"{out}/prof.json", "w") as f:
            json.dump(results, f, indent=1, default=str)


if __name__ == "__main__":
    main()

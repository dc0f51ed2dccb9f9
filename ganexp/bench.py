"""ganexp's training step against a plain PyTorch loop: `python -m ganexp.bench [--iters 30 --repeats 3]`.

For each case (DCGAN at 32 and 64 px with the BCE loss, and WGAN-GP at 32 px) it builds ganexp's module from the real
configs, and a plain loop in the shape of pytorch/examples' DCGAN (D on real, D on the detached fake, D step, G step
reusing the fake) over copies of the same networks, loss, optimizers, batch and device. The two run in alternation
in this process, `repeats` times; it prints the median images/s of each, their ratio, and the achieved FLOP/s from
a FLOP count of one plain iteration. Evaluation, sample grids and checkpoints are off: this times the step.
The plain loop is always eager fp32: `python -m ganexp.bench trainer=gpu_fast` measures what gpu_fast buys.
"""

import argparse
import copy
import logging
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from torch.utils.flop_counter import FlopCounterMode

from ganexp.build import build_module
from ganexp.data.module import ImageData, LabelledImages, to_float
from ganexp.runtime import quiet_lightning, resolve_arithmetic
from ganexp.schema import register

CONF = Path(__file__).resolve().parents[1] / "conf"
CASES = {"dcgan32": ["data.image_size=32"], "dcgan64": ["data.image_size=64"],
         "gp32": ["data.image_size=32", "loss=gp"]}


@dataclass
class RandomImages:
    """Timing does not depend on what the images show."""

    n: int
    image_size: int

    def key(self) -> str:
        return f"bench:{self.n}:{self.image_size}"

    def build(self) -> LabelledImages:
        gen = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (self.n, 3, self.image_size, self.image_size), generator=gen, dtype=torch.uint8)
        return LabelledImages(images, torch.zeros(self.n, 1, dtype=torch.long), [("none", ["x"])])


class _Clock(pl.Callback):
    """Wall time of the iterations after `warmup`, measured inside fit (start-up excluded)."""

    def __init__(self, warmup: int):
        self.warmup, self.start, self.seconds = warmup, None, None

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if module.iteration == self.warmup:
            _sync(module.device)
            self.start = time.perf_counter()

    def on_train_end(self, trainer, module) -> None:
        _sync(module.device)
        self.seconds = time.perf_counter() - self.start


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ganexp(cfg, datamodule: ImageData, iters: int, warmup: int) -> float:
    module = build_module(cfg, datamodule, max_iters=warmup + iters)
    module.speed_up(cfg.trainer.channels_last, cfg.trainer.compile)
    clock = _Clock(warmup)
    t = cfg.trainer
    trainer = pl.Trainer(accelerator=t.accelerator, devices=1, max_epochs=-1, logger=False, precision=t.precision,
                         benchmark=t.benchmark, callbacks=[clock], enable_progress_bar=False,
                         enable_checkpointing=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, datamodule=datamodule)
    return clock.seconds / iters


def plain_step(g, d, loss, opt_g, opt_d, reals, z_dim):
    """pytorch/examples' DCGAN iteration, with WGAN-style extra critic steps (one real batch each) when there are
    several real batches."""
    n = len(reals[0])
    fake = g(torch.randn(n, z_dim, device=reals[0].device))
    for step, real in enumerate(reals):
        d_fake = fake.detach() if step == 0 else g(torch.randn(n, z_dim, device=real.device)).detach()
        d_loss = loss.d_loss(d(real), d(d_fake))
        penalty = loss.penalty(d, real, d_fake)
        if penalty is not None:
            d_loss = d_loss + penalty
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        loss.after_d_step(d.parameters())
    g_loss = loss.g_loss(d(fake))
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()


def time_plain(module, cfg, reals: list[torch.Tensor], iters: int, warmup: int) -> tuple[float, float]:
    """Seconds per iteration of the plain loop, and FLOPs of one iteration."""
    device = reals[0].device
    g, d = copy.deepcopy(module.generator).to(device), copy.deepcopy(module.discriminator).to(device)
    opt_g, opt_d = module.optimizer_g(params=g.parameters()), module.optimizer_d(params=d.parameters())
    args = (g, d, module.loss, opt_g, opt_d, reals, module.z_dim)
    for _ in range(warmup):
        plain_step(*args)
    _sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        plain_step(*args)
    _sync(device)
    seconds = (time.perf_counter() - start) / iters
    try:
        with FlopCounterMode(display=False) as counter:
            plain_step(*args)
        flops = counter.get_total_flops()
    except RuntimeError:  # torch's FLOP counter cannot follow autograd.grad (the gradient penalty)
        flops = float("nan")
    return seconds, flops


def run_case(name: str, overrides: list[str], iters: int, warmup: int, repeats: int, extra: list[str]) -> dict:
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[*overrides, "eval.enabled=false", *extra])
    resolve_arithmetic(cfg.trainer)  # what a run with these settings would use
    cache = tempfile.mkdtemp(prefix="ganexp-bench-")
    datamodule = ImageData(RandomImages(cfg.data.batch_size * 8, cfg.data.image_size), cfg.data.batch_size, cache,
                           holdout=0, seed=0, on_device=cfg.data.get("on_device", False))
    ours, plain = [], []
    flops = 0.0
    for _ in range(repeats):
        ours.append(time_ganexp(cfg, datamodule, iters, warmup))
        module = build_module(cfg, datamodule)
        device = torch.device("cuda" if torch.cuda.is_available() and cfg.trainer.accelerator != "cpu" else "cpu")
        d_steps = max(cfg.sched.d_steps, 1)
        real = to_float(datamodule.train_images[0][: cfg.data.batch_size * d_steps].to(device))
        seconds, flops = time_plain(module, cfg, list(real.split(cfg.data.batch_size)), iters, warmup)
        plain.append(seconds)
    batch = cfg.data.batch_size * max(cfg.sched.d_steps, 1)  # real images per iteration
    ours_s, plain_s = statistics.median(ours), statistics.median(plain)
    return {"case": name, "ganexp img/s": batch / ours_s, "plain img/s": batch / plain_s,
            "ganexp/plain time": ours_s / plain_s, "plain GFLOP/s": flops / plain_s / 1e9}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ganexp.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("overrides", nargs="*", help="extra config overrides, e.g. trainer=gpu data.batch_size=128")
    args = parser.parse_args(argv)
    register()
    quiet_lightning()
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({torch.get_num_threads()} threads)"
    print(f"device: {device}; {args.iters} timed iterations after {args.warmup} warm-up, median of {args.repeats}")
    print(f"{'case':<10} {'ganexp img/s':>13} {'plain img/s':>12} {'time ratio':>11} {'plain GFLOP/s':>14}")
    for name in args.cases:
        r = run_case(name, CASES[name], args.iters, args.warmup, args.repeats, args.overrides)
        print(f"{r['case']:<10} {r['ganexp img/s']:>13.1f} {r['plain img/s']:>12.1f} "
              f"{r['ganexp/plain time']:>11.3f} {r['plain GFLOP/s']:>14.2f}")


if __name__ == "__main__":
    main()

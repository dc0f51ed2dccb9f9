"""The checks of `python -m ganexp.gpu_check`, one function each: `check_NAME(ctx) -> Result`, at smoke size on the
CPU (`ctx.cuda` False) and at a size that measures something on a GPU. A check that raises is a FAIL with its error."""

import contextlib
import json
import math
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
RECOMPILES = re.compile(r"Recompiling function|hit config\.(cache_size_limit|recompile_limit)")
ON_CPU = ["trainer.accelerator=cpu", "trainer.precision=32-true", "trainer.compile=false", "trainer.benchmark=false",
          "trainer.num_threads=1"]
SMOKE = ["model.z_dim=16", "model.generator.width=8", "model.discriminator.width=8", "data.source.n=288",
         "data.batch_size=16", "data.holdout=32", "eval.floor=0", "eval.epochs=1", "trainer.progress=false"]
ON_GPU = ["data.source.n=4096", "data.holdout=512", "eval.floor=0", "eval.epochs=1", "trainer.progress=false"]


@dataclass
class Result:
    status: str
    numbers: dict = field(default_factory=dict)
    note: str = ""
    seconds: float = 0.0


@dataclass
class Context:
    device: str  # "cuda" or "cpu"
    work: Path  # every check's files (runs, logs), kept for a look afterwards
    cache: Path  # the generated data and the evaluators (GANEXP_CACHE)
    timeout: float = 600.0  # for the subprocesses a check starts itself

    @property
    def cuda(self) -> bool:
        return self.device == "cuda"

    def sizes(self, iters: int) -> list[str]:
        """Overrides for a short run of `iters` iterations: smoke size on the CPU, small data on the GPU."""
        return [*(ON_GPU if self.cuda else [*ON_CPU, *SMOKE]), f"trainer.max_iters={iters}"]

    def settings(self) -> dict[str, str]:
        """The environment every check runs in (cuBLAS's workspace setting: deterministic mode needs it)."""
        return {"GANEXP_CACHE": str(self.cache),
                "CUBLAS_WORKSPACE_CONFIG": os.environ.get("CUBLAS_WORKSPACE_CONFIG", ":4096:8")}

    def env(self) -> dict[str, str]:
        """For the processes a check starts: the settings, and ganexp importable from the source tree."""
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        return {**os.environ, **self.settings(), "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}

    @contextlib.contextmanager
    def scoped(self) -> Iterator[None]:
        """The settings in this process's environment while a check runs here, as they were after."""
        saved = {k: os.environ.get(k) for k in self.settings()}
        os.environ.update(self.settings())
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


# ---- helpers -------------------------------------------------------------------------------------------------------
def compose(overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from ganexp.schema import register

    register()
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides))


@contextlib.contextmanager
def inside(folder: Path) -> Iterator[Path]:
    here = Path.cwd()
    folder.mkdir(parents=True, exist_ok=True)
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(here)


def train_in(folder: Path, overrides: list[str]) -> dict:
    """One job through ganexp's entry point, in this process, in `folder`; its metrics.json."""
    from ganexp.train import main as train

    with inside(folder):
        train(compose(overrides))
    return json.loads((folder / "metrics.json").read_text())


def run_py(ctx: Context, args: list[str], log: Path) -> subprocess.CompletedProcess:
    """`python run.py ARGS` in its own process, its output in `log`."""
    out = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=ctx.work, env=ctx.env(),
                         capture_output=True, text=True, timeout=ctx.timeout)
    log.write_text(out.stdout + out.stderr)
    if out.returncode:
        raise RuntimeError(f"run.py exited {out.returncode}: {last_line(out.stderr)} (log: {log})")
    return out


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][-300:] if lines else ""


def nonfinite(metrics: dict) -> list[str]:
    """The metrics of a run's metrics.json (final values and every evaluation) that are not finite numbers."""
    values = [(f"final/{k}", v) for k, v in metrics.get("final", {}).items()]
    values += [(f"eval@{e.get('iteration')}/{k}", v) for e in metrics.get("evals", []) for k, v in e.items()]
    return [name for name, v in values if isinstance(v, int | float) and not math.isfinite(v)]


def finished(metrics: dict, evals: int = 0) -> Result:
    """A run that should have completed with finite metrics and at least `evals` evaluations."""
    bad = nonfinite(metrics)
    numbers = {"iterations": metrics["iterations"], "images_per_s": metrics["images_per_s"],
               "evals": len(metrics.get("evals", [])), "final": {k: v for k, v in metrics["final"].items()
                                                                  if not k.startswith(("lr/", "count/"))}}
    ok = metrics["status"] == "completed" and not bad and numbers["evals"] >= evals
    note = f"{metrics['status']}, {metrics['iterations']} iterations, {metrics['images_per_s']} img/s, " \
           f"{numbers['evals']} evaluations" + (f"; not finite: {', '.join(bad[:4])}" if bad else "")
    return Result(PASS if ok else FAIL, numbers, note)


# ---- the checks ----------------------------------------------------------------------------------------------------
def check_cuda(ctx: Context) -> Result:
    import torch

    if not torch.cuda.is_available():
        return Result(FAIL, {"torch": torch.__version__}, f"no CUDA device visible (torch {torch.__version__})")
    name, bf16 = torch.cuda.get_device_name(), torch.cuda.is_bf16_supported()
    x = torch.randn(512, 512, device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        y = x @ x
    ok = bf16 and y.dtype == torch.bfloat16 and bool(torch.isfinite(y).all())
    numbers = {"gpu": name, "capability": ".".join(map(str, torch.cuda.get_device_capability())), "bf16": bf16,
               "memory_gib": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1),
               "torch": torch.__version__, "cuda": torch.version.cuda, "python": sys.version.split()[0]}
    return Result(PASS if ok else FAIL, numbers, f"{name}, bf16 {'yes' if bf16 else 'NO'}, torch {torch.__version__}")


def rng_snapshot(cuda: bool) -> dict:
    import numpy as np
    import torch

    states = {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()[1].copy()}
    if cuda:
        states["cuda"] = torch.cuda.get_rng_state()
    return states


def same_state(a, b) -> bool:
    import numpy as np
    import torch

    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    return bool(np.array_equal(a, b)) if isinstance(a, np.ndarray) else a == b


def check_rng(ctx: Context) -> Result:
    """Every evaluation of a short run (and the evaluator's loading or training before it) is wrapped: the RNG states
    after it must equal those before."""
    from ganexp.eval.measure import Measurement

    changed, calls = [], []

    def watched(method: Callable, what: str) -> Callable:
        def call(self, trainer, module):
            before = rng_snapshot(ctx.cuda)
            method(self, trainer, module)
            after = rng_snapshot(ctx.cuda)
            calls.append(f"{what}@{module.iteration}")
            changed.extend(f"{k} by {what} at iteration {module.iteration}" for k in before
                           if not same_state(before[k], after[k]))
        return call

    originals = Measurement.run, Measurement.on_fit_start
    Measurement.run, Measurement.on_fit_start = watched(originals[0], "evaluation"), watched(originals[1], "evaluator")
    try:
        iters = 8 if ctx.cuda else 4
        train_in(ctx.work / "rng", ["trainer=gpu", *ctx.sizes(iters), f"eval.every_n_steps={iters // 2}", "seed=2"])
    finally:
        Measurement.run, Measurement.on_fit_start = originals
    kinds = "CPU, Python, NumPy" + (", CUDA" if ctx.cuda else "; no CUDA RNG on this device")
    ok = not changed and len(calls) >= 3
    note = f"{len(calls)} calls watched ({kinds})" + (f"; moved: {'; '.join(changed[:3])}" if changed else "")
    return Result(PASS if ok else FAIL, {"calls": calls, "changed": changed}, note)


def check_resume(ctx: Context) -> Result:
    """conftest.full_and_resumed on this device: crash at iteration 6 (last.ckpt at 4), resume, compare last.ckpt."""
    import torch

    from ganexp.modules.base import GANModule

    overrides = ["trainer=gpu", *ctx.sizes(12 if ctx.cuda else 8), "trainer.deterministic=true",
                 "trainer.benchmark=false", "trainer.ckpt_every=4", "eval.every_n_steps=4", "g_ema.decay=0.999",
                 "seed=3"]
    train_in(ctx.work / "resume" / "full", overrides)
    original = GANModule.training_step

    def crash(self, batch, batch_idx):
        if self.iteration == 6:
            raise RuntimeError("simulated crash")
        return original(self, batch, batch_idx)

    GANModule.training_step = crash
    try:
        train_in(ctx.work / "resume" / "crashed", overrides)
        return Result(FAIL, {}, "the simulated crash did not happen")
    except RuntimeError as err:
        if "simulated crash" not in str(err):
            raise
    finally:
        GANModule.training_step = original
    train_in(ctx.work / "resume" / "crashed", [*overrides, "resume=true"])
    full, resumed = (torch.load(ctx.work / "resume" / name / "checkpoints" / "last.ckpt", map_location="cpu",
                                weights_only=False) for name in ("full", "crashed"))
    differ = [k for k, v in full["state_dict"].items() if not torch.equal(v, resumed["state_dict"][k])]
    gap = max((float((v.double() - resumed["state_dict"][k].double()).abs().max()) for k, v in
               full["state_dict"].items() if k in differ and v.is_floating_point()), default=0.0)
    counters = full["ganexp_counters"] == resumed["ganexp_counters"]
    ok = not differ and counters
    note = f"{len(full['state_dict'])} tensors " + ("bit for bit equal" if ok else
                                                    f"differ: {len(differ)} (largest gap {gap:.3g}), counters "
                                                    f"{'equal' if counters else 'differ'}: {', '.join(differ[:3])}")
    return Result(PASS if ok else FAIL, {"tensors": len(full["state_dict"]), "differ": differ, "largest_gap": gap,
                                         "counters_equal": counters}, note)


def check_gpu_fast(ctx: Context) -> Result:
    iters = 300 if ctx.cuda else 12
    metrics = train_in(ctx.work / "gpu_fast", ["trainer=gpu_fast", *ctx.sizes(iters), f"trainer.ckpt_every={iters}",
                                               f"eval.every_n_steps={iters // 2}", f"log.images_every={iters // 2}",
                                               "g_ema.decay=0.999"])
    return finished(metrics, evals=2)


def check_ddp(ctx: Context) -> Result:
    folder = ctx.work / "ddp"
    iters = 20 if ctx.cuda else 2
    out = run_py(ctx, ["trainer=ddp", "trainer.devices=1", "loss=gp", *ctx.sizes(iters),
                       f"eval.every_n_steps={iters // 2}", f"hydra.run.dir={folder}"], ctx.work / "ddp.log")
    result = finished(json.loads((folder / "metrics.json").read_text()), evals=1)
    backend = re.search(r"distributed_backend=(\w+)", out.stdout + out.stderr)
    result.numbers["backend"] = backend.group(1) if backend else None
    result.note += f", backend {result.numbers['backend']}"
    return result


def check_syncs(ctx: Context) -> Result:
    """trainer=gpu_fast's loop without compile (the counter patches Python calls), iterations [20, 120): guard.every
    and log.every as the preset has them, evaluation, grids and checkpoints past the window."""
    from ganexp.syncs import count_training_syncs

    cfg = compose(["trainer=gpu_fast", *ctx.sizes(130), "trainer.compile=false", "eval.enabled=false",
                   "trainer.ckpt_every=1000", "log.images_every=1000", "g_ema.decay=0.999", "trainer.progress=true"])
    report = count_training_syncs(cfg, 20, 120, ctx.work / "syncs")
    bad = report.over_budget()
    numbers = {"per_iteration_cuda": report.cuda_per_iteration, "per_iteration_counted": report.per_iteration,
               "over_budget": bad[:10], "sites": dict(report.log.by_site().most_common(12))}
    cuda = "no CUDA count here" if report.cuda_per_iteration is None else \
        f"{report.cuda_per_iteration:.2f} per iteration by torch's sync debug mode"
    note = f"{cuda}, {report.per_iteration:.2f} counted calls; top: {', '.join(list(numbers['sites'])[:3]) or 'none'}"
    return Result(FAIL if bad else PASS, numbers, note)


def parse_bench(stdout: str) -> dict[str, dict[str, float]]:
    """`python -m ganexp.bench`'s table: case -> its numbers (ganexp and plain images/s, time ratio)."""
    rows = {}
    for line in stdout.splitlines():
        words = line.split()
        if len(words) == 5 and not line.startswith(("case", "device")):
            with contextlib.suppress(ValueError):
                ours, plain, ratio, gflops = map(float, words[1:])
                rows[words[0]] = {"ganexp_img_s": ours, "plain_img_s": plain, "time_ratio": ratio,
                                  "plain_gflop_s": gflops}
    return rows


def bench(ctx: Context, preset: str, target: float, iters: int, warmup: int, repeats: int) -> Result:
    """DCGAN at 32 px through the benchmark, with torch's recompilation log on."""
    cmd = [sys.executable, "-m", "ganexp.bench", "--cases", "dcgan32", "--iters", str(iters), "--warmup", str(warmup),
           "--repeats", str(repeats), f"trainer={preset}"]
    out = subprocess.run(cmd, cwd=ctx.work, env={**ctx.env(), "TORCH_LOGS": "recompiles"}, capture_output=True,
                         text=True, timeout=ctx.timeout)
    (ctx.work / f"bench_{preset}.log").write_text(out.stdout + out.stderr)
    if out.returncode:
        raise RuntimeError(f"ganexp.bench exited {out.returncode}: {last_line(out.stderr)}")
    row = parse_bench(out.stdout)["dcgan32"]
    speed = 1 / row["time_ratio"]
    recompiles = len(RECOMPILES.findall(out.stdout + out.stderr))
    numbers = {**row, "speed_vs_plain": round(speed, 3), "target": target, "recompiles": recompiles}
    note = f"{speed:.2f}x the plain loop ({row['ganexp_img_s']:.0f} vs {row['plain_img_s']:.0f} img/s; target " \
           f">= {target}x), {recompiles} recompilations"
    return Result(PASS if speed >= target and not recompiles else FAIL, numbers, note)


def check_bench_gpu(ctx: Context) -> Result:
    return bench(ctx, "gpu", 0.95, iters=60, warmup=10, repeats=3)


def check_bench_gpu_fast(ctx: Context) -> Result:
    # one repeat: each repeat builds (and compiles) new networks, and the compile is most of the time
    return bench(ctx, "gpu_fast", 2.0, iters=200, warmup=30, repeats=1)


def throughput(jobs: list[dict]) -> dict[str, float]:
    """Images per second of jobs that ran at once, from their metrics.json: all the real images drawn over the span
    from the first loop's start to the last one's end (the conservative figure), and the sum of each job's own."""
    span = max(j["ended_at"] for j in jobs) - min(j["started_at"] for j in jobs)
    overlap = min(j["ended_at"] for j in jobs) - max(j["started_at"] for j in jobs)
    return {"images_per_s": sum(j["real_images"] for j in jobs) / span,
            "sum_of_jobs_images_per_s": sum(j["images_per_s"] for j in jobs), "overlap_share": max(0.0, overlap) / span}


def check_four_jobs(ctx: Context) -> Result:
    settings = ["trainer=gpu", *ctx.sizes(2000), "eval.enabled=false", "trainer.ckpt_every=100000",
                "log.images_every=100000"]
    # the jobs' folders (and TensorBoard's) named by their seed alone: all of these would pass a file name's limit
    short = f"hydra.job.config.override_dirname.exclude_keys=[{','.join(o.split('=')[0] for o in settings)}]"
    base = ["-m", *settings, short]
    run_py(ctx, [*base, "seed=1", f"hydra.sweep.dir={ctx.work / 'one'}"], ctx.work / "one.log")
    run_py(ctx, [*base, "seed=1,2,3,4", "hydra/launcher=gpu_parallel", f"hydra.sweep.dir={ctx.work / 'four'}"],
           ctx.work / "four.log")
    one = json.loads((ctx.work / "one" / "0" / "metrics.json").read_text())
    four = [json.loads((ctx.work / "four" / str(k) / "metrics.json").read_text()) for k in range(4)]
    together, alone = throughput(four), throughput([one])["images_per_s"]
    ratio = together["images_per_s"] / alone
    numbers = {"one_job_images_per_s": alone, **{f"four_jobs_{k}": v for k, v in together.items()},
               "ratio": round(ratio, 3), "target": 1.5}
    note = f"{ratio:.2f}x ({together['images_per_s']:.0f} img/s in all vs {alone:.0f}; target >= 1.5x), loops " \
           f"overlapping {together['overlap_share']:.0%} of the span"
    return Result(PASS if ratio >= 1.5 else FAIL, numbers, note)

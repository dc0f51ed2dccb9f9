"""Running the checks: each in a process of its own under a time limit, inside one overall budget; the lines, the
summary, the JSON of the measured numbers."""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import ganexp.gpu_check
from ganexp.gpu_check.checks import (
    FAIL,
    PASS,
    RECOMPILES,
    SKIP,
    Context,
    Result,
    check_bench_gpu,
    check_bench_gpu_fast,
    check_cuda,
    check_ddp,
    check_four_jobs,
    check_gpu_fast,
    check_resume,
    check_rng,
    check_syncs,
    last_line,
)


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[Context], Result]
    limit_s: int  # its time limit (less when the overall budget runs short)
    cuda_only: bool = False


CHECKS = [Check("cuda", check_cuda, 45, cuda_only=True), Check("rng", check_rng, 60),
          Check("resume", check_resume, 90), Check("gpu_fast", check_gpu_fast, 150), Check("ddp", check_ddp, 90),
          Check("syncs", check_syncs, 60, cuda_only=True), Check("bench_gpu", check_bench_gpu, 75, cuda_only=True),
          Check("bench_gpu_fast", check_bench_gpu_fast, 150, cuda_only=True),
          Check("four_jobs", check_four_jobs, 150, cuda_only=True)]
MIN_S = 20  # held back for each check still to come


# ---- running them --------------------------------------------------------------------------------------------------
def run_here(check: Check, ctx: Context) -> Result:
    try:
        with ctx.scoped():
            return check.run(ctx)
    except Exception as err:
        return Result(FAIL, {"error": traceback.format_exc()[-3000:]}, f"{type(err).__name__}: {str(err)[:300]}")


def run_child(check: Check, ctx: Context, limit: float) -> Result:
    """The check in its own process (killed, with everything it started, at `limit` seconds)."""
    result, log = ctx.work / f"{check.name}.json", ctx.work / f"{check.name}.log"
    cmd = [sys.executable, "-m", "ganexp.gpu_check", "--child", check.name, "--device", ctx.device,
           "--work", str(ctx.work), "--cache", str(ctx.cache)]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ctx.work, env={**ctx.env(), "TORCH_LOGS": "recompiles"}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return Result(FAIL, {}, f"timed out after {limit:.0f}s (log: {log})")
    if not result.exists():
        return Result(FAIL, {}, f"exited {proc.returncode} without a result: {last_line(log.read_text())} (log: {log})")
    found = Result(**json.loads(result.read_text()))
    found.numbers.setdefault("recompiles", len(RECOMPILES.findall(log.read_text())))
    return found


def run_checks(ctx: Context, names: list[str], budget_s: float, in_process: bool,
               echo: Callable[[str], None] = print) -> dict[str, Result]:
    deadline, results = time.monotonic() + budget_s, {}
    chosen = [c for c in CHECKS if c.name in names]
    for i, check in enumerate(chosen):
        start = time.monotonic()
        limit = min(check.limit_s, deadline - start - MIN_S * (len(chosen) - i - 1))
        if check.cuda_only and not ctx.cuda:
            on_cpu = " (on the CPU: tests/integration/test_host_syncs.py)" if check.name == "syncs" else ""
            result = Result(SKIP, {}, "CUDA only" + on_cpu)
        elif limit < MIN_S / 2:
            result = Result(FAIL, {}, f"not run: {budget_s:.0f}s budget spent")
        else:
            result = run_here(check, ctx) if in_process else run_child(check, ctx, limit)
        result.seconds = round(time.monotonic() - start, 1)
        results[check.name] = result
        echo(f"{result.status} {check.name:<15} {result.seconds:6.1f}s  {result.note}")
    return results


def summary(results: dict[str, Result], seconds: float, device: str) -> str:
    counts = {s: sum(r.status == s for r in results.values()) for s in (PASS, FAIL, SKIP)}
    failed = [n for n, r in results.items() if r.status == FAIL]
    return (f"gpu-check: {counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped in {seconds:.0f}s on "
            f"{device}" + (f"; FAILED: {', '.join(failed)}" if failed else ""))


def device_name(device: str) -> str:
    import torch

    if device == "cuda" and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} (torch {torch.__version__}, CUDA {torch.version.cuda})"
    return f"{device} (torch {torch.__version__}{', no CUDA device visible' if device == 'cuda' else ''})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganexp.gpu_check",
                                     description=ganexp.gpu_check.__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--out", type=Path, help="write the results and measured numbers here (JSON)")
    parser.add_argument("--work", type=Path, help="the checks' files (default: a new temporary folder)")
    parser.add_argument("--cache", type=Path, help="the data and evaluator cache (default: WORK/cache)")
    parser.add_argument("--checks", nargs="*", default=[c.name for c in CHECKS], choices=[c.name for c in CHECKS])
    parser.add_argument("--budget", type=float, default=450.0, help="seconds for all the checks (under 8 minutes)")
    parser.add_argument("--in-process", action="store_true", help="no process per check, no time limits (tests)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="ganexp-gpu-check-"))
    work.mkdir(parents=True, exist_ok=True)
    ctx = Context(args.device, work.resolve(), (args.cache or work / "cache").resolve())
    if args.child:  # one check, in a process of its own (run_child)
        result = run_here(next(c for c in CHECKS if c.name == args.child), ctx)
        (work / f"{args.child}.json").write_text(json.dumps(asdict(result), default=str))
        return 0
    start = time.monotonic()
    results = run_checks(ctx, args.checks, args.budget, args.in_process)
    device = device_name(args.device)
    line = summary(results, time.monotonic() - start, device)
    print(line)
    print(f"files: {work}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report = {"device": device, "summary": line, "seconds": round(time.monotonic() - start, 1),
                  "checks": {name: asdict(r) for name, r in results.items()}}
        args.out.write_text(json.dumps(report, indent=1, default=str))
    return 1 if any(r.status == FAIL for r in results.values()) else 0

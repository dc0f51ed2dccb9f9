"""`make gpu-check` on the CPU: `python -m ganexp.gpu_check --device cpu` runs the checks that make sense without a GPU
at smoke size and skips the CUDA-only ones; its helpers are checked on hand-made numbers. No test needs a GPU.

Its pure tests: tests/unit/test_gpu_check_tables.py."""

import json
import re
import subprocess
import sys
from types import SimpleNamespace

from conftest import ROOT
from helpers.in_process import Forked

from ganexp.gpu_check.runner import main

ON_CPU = {"cuda": "SKIP", "rng": "PASS", "resume": "PASS", "gpu_fast": "PASS", "ddp": "PASS", "syncs": "SKIP",
          "bench_gpu": "SKIP", "bench_gpu_fast": "SKIP", "four_jobs": "SKIP"}


def lines(out: str) -> dict[str, str]:
    """check name -> PASS/FAIL/SKIP, from the printed lines."""
    return {m[2]: m[1] for m in re.finditer(r"^(PASS|FAIL|SKIP) (\w+) ", out, re.MULTILINE)}


def run_forked(cmd: list[str], *, cwd, env, capture_output: bool, text: bool, timeout: float):
    """`subprocess.run` for the `python run.py ...` that a check starts (checks.run_py: ddp's run): the same command in
    a process of its own, forked from this one (`Forked`) rather than a fresh interpreter, whose start-up (importing
    torch and Lightning again, ~7 s of a core) would be most of the check's time."""
    assert cmd[:2] == [sys.executable, str(ROOT / "run.py")] and capture_output and text, cmd
    proc = Forked(cmd[2:], cwd, env=env)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def test_cpu_mode_runs_every_check_that_makes_sense_without_a_gpu(tmp_path, data_cache, capsys, monkeypatch):
    monkeypatch.setattr("ganexp.gpu_check.checks.subprocess", SimpleNamespace(run=run_forked))
    status = main(["--device", "cpu", "--in-process", "--work", str(tmp_path / "work"), "--cache", str(data_cache),
                   "--out", str(tmp_path / "gpu_check.json")])
    out = capsys.readouterr().out
    assert lines(out) == ON_CPU, out
    assert status == 0 and "gpu-check: 4 passed, 0 failed, 5 skipped" in out
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    checks = report["checks"]
    assert {name: c["status"] for name, c in checks.items()} == ON_CPU and report["device"].startswith("cpu")
    assert checks["rng"]["numbers"]["changed"] == [] and len(checks["rng"]["numbers"]["calls"]) == 3
    assert checks["resume"]["numbers"]["differ"] == [] and checks["resume"]["numbers"]["tensors"] > 20
    assert checks["gpu_fast"]["numbers"]["evals"] == 2 and checks["gpu_fast"]["numbers"]["images_per_s"] > 0
    assert checks["ddp"]["numbers"]["backend"] == "gloo"


def test_each_check_runs_in_a_process_of_its_own(tmp_path, data_cache, capsys):
    """The way a GPU machine runs them: a process per check, under a time limit, its result read back."""
    status = main(["--device", "cpu", "--checks", "gpu_fast", "--work", str(tmp_path), "--cache", str(data_cache),
                   "--out", str(tmp_path / "out.json")])
    out = capsys.readouterr().out
    assert status == 0 and lines(out) == {"gpu_fast": "PASS"}, out
    numbers = json.loads((tmp_path / "out.json").read_text())["checks"]["gpu_fast"]["numbers"]
    assert numbers["iterations"] == 12 and numbers["recompiles"] == 0  # counted from the process's own log


def test_asking_for_cuda_without_a_gpu_fails(tmp_path, capsys):
    assert main(["--device", "cuda", "--checks", "cuda", "--in-process", "--work", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert lines(out) == {"cuda": "FAIL"} and "no CUDA device visible" in out


def test_make_gpu_check_installs_the_wheels_offline_and_never_torch():
    dry = subprocess.run(["make", "-n", "gpu-check", "WHEELS=.whl"], cwd=ROOT, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    install = next(line for line in dry.stdout.splitlines() if "pip install" in line)
    assert "--no-index" in install and "--no-deps" in install and ".whl/*.whl" in install and "torch" not in install
    assert "-m ganexp.gpu_check --out gpu_check.json" in dry.stdout

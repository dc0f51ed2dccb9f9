"""`make gpu-check` on the CPU: `python -m ganexp.gpu_check --device cpu` runs the checks that make sense without a GPU
at smoke size and skips the CUDA-only ones; its helpers are checked on hand-made numbers. No test needs a GPU."""

import json
import re
import subprocess
from importlib.metadata import version

from conftest import ROOT

from ganexp.gpu_check.checks import parse_bench, throughput
from ganexp.gpu_check.runner import main

ON_CPU = {"cuda": "SKIP", "rng": "PASS", "resume": "PASS", "gpu_fast": "PASS", "ddp": "PASS", "syncs": "SKIP",
          "bench_gpu": "SKIP", "bench_gpu_fast": "SKIP", "four_jobs": "SKIP"}


def lines(out: str) -> dict[str, str]:
    """check name -> PASS/FAIL/SKIP, from the printed lines."""
    return {m[2]: m[1] for m in re.finditer(r"^(PASS|FAIL|SKIP) (\w+) ", out, re.MULTILINE)}


def test_cpu_mode_runs_every_check_that_makes_sense_without_a_gpu(tmp_path, data_cache, capsys):
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


def test_benchmark_table_is_read_and_throughput_counts_the_span():
    stdout = ("device: NVIDIA H200; 60 timed iterations after 10 warm-up, median of 3\n"
              "case        ganexp img/s  plain img/s  time ratio  plain GFLOP/s\n"
              "dcgan32          12000.0      10000.0       0.833        1234.50\n")
    assert parse_bench(stdout) == {"dcgan32": {"ganexp_img_s": 12000.0, "plain_img_s": 10000.0, "time_ratio": 0.833,
                                               "plain_gflop_s": 1234.5}}
    jobs = [{"started_at": 100.0, "ended_at": 110.0, "real_images": 6000, "images_per_s": 600.0},
            {"started_at": 102.0, "ended_at": 114.0, "real_images": 6000, "images_per_s": 500.0}]
    # 12000 images over 100 .. 114 s; the loops overlap from 102 to 110, 8 of the 14 s
    assert throughput(jobs) == {"images_per_s": 12000 / 14, "sum_of_jobs_images_per_s": 1100.0,
                                "overlap_share": 8 / 14}


def test_gpu_wheels_are_the_versions_the_tests_run_with():
    pins = [line.split("==") for line in (ROOT / "requirements" / "gpu-wheels.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    assert {name for name, _ in pins} == {"hydra-core", "omegaconf", "antlr4-python3-runtime", "hydra-joblib-launcher"}
    assert {name: pinned for name, pinned in pins} == {name: version(name) for name, _ in pins}


def test_make_gpu_check_installs_the_wheels_offline_and_never_torch():
    dry = subprocess.run(["make", "-n", "gpu-check", "WHEELS=.whl"], cwd=ROOT, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    install = next(line for line in dry.stdout.splitlines() if "pip install" in line)
    assert "--no-index" in install and "--no-deps" in install and ".whl/*.whl" in install and "torch" not in install
    assert "-m ganexp.gpu_check --out gpu_check.json" in dry.stdout

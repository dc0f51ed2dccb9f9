"""`make gpu-check` on the CPU: `python -m ganexp.gpu_check --device cpu` runs the checks that make sense without a GPU
at smoke size and skips the CUDA-only ones; its helpers are checked on hand-made numbers. No test needs a GPU.

The pure tests (no training run, no subprocess) of this subject; the others are in tests/e2e/test_gpu_check.py."""

from importlib.metadata import version

from conftest import ROOT

from ganexp.gpu_check.checks import parse_bench, throughput


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

"""Spreading a sweep's parallel jobs over a host's GPUs (ganexp.gpus), checked on the CPU with hand-made hosts.

Its tests that start processes: tests/e2e/test_gpu_slots.py."""

import pytest
from conftest import compose_hydra

from ganexp.gpus import choose_gpu, gpu_for_slot, parallel_jobs, visible_gpus

JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
ONE_GPU = {"accelerator": "gpu", "devices": 1, "strategy": "auto"}


def test_visible_gpus_follow_cuda_visible_devices():
    assert visible_gpus({}, 4) == ["0", "1", "2", "3"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "2,3"}, 4) == ["2", "3"]  # SLURM or the user chose already
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "GPU-a1, GPU-b2"}, 8) == ["GPU-a1", "GPU-b2"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}, 4) == []  # hidden (the test suite's own setting)


def test_slots_go_round_the_gpus():
    # 8 workers on 4 GPUs: two per GPU; 4 workers on 1 GPU: all on it; 3 workers on GPUs 2 and 3
    assert [gpu_for_slot(k, ["0", "1", "2", "3"]) for k in range(8)] == ["0", "1", "2", "3", "0", "1", "2", "3"]
    assert [gpu_for_slot(k, ["0"]) for k in range(4)] == ["0", "0", "0", "0"]
    assert [gpu_for_slot(k, ["2", "3"]) for k in range(3)] == ["2", "3", "2"]


def test_parallel_jobs_read_joblibs_n_jobs():
    assert parallel_jobs({"_target_": JOBLIB, "n_jobs": 4}, cores=16) == 4
    assert parallel_jobs({"_target_": JOBLIB, "n_jobs": -1}, cores=16) == 16
    assert parallel_jobs({"_target_": JOBLIB, "n_jobs": -4}, cores=16) == 13
    assert parallel_jobs({"_target_": JOBLIB, "n_jobs": None}, cores=16) == 1
    assert parallel_jobs({"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}, cores=16) == 1


@pytest.mark.parametrize(("launcher", "trainer", "env", "count", "slot", "expected"), [
    ({"_target_": JOBLIB, "n_jobs": 4}, ONE_GPU, {}, 4, 2, "2"),  # 4 workers, 4 GPUs: one each
    ({"_target_": JOBLIB, "n_jobs": 8}, ONE_GPU, {}, 4, 5, "1"),  # 8 workers, 4 GPUs: slot 5 -> GPU 1
    ({"_target_": JOBLIB, "n_jobs": 4}, ONE_GPU, {"CUDA_VISIBLE_DEVICES": "4,5,6,7"}, 8, 3, "7"),
    ({"_target_": JOBLIB, "n_jobs": 4}, {**ONE_GPU, "accelerator": "auto"}, {}, 2, 3, "1"),
    ({"_target_": JOBLIB, "n_jobs": 4}, ONE_GPU, {}, 1, 3, None),  # one GPU: every worker shares it, nothing to set
    ({"_target_": JOBLIB, "n_jobs": 1}, ONE_GPU, {}, 4, 0, None),  # one job at a time: Lightning's choice
    ({"_target_": "BasicLauncher"}, ONE_GPU, {}, 4, 0, None),
    ({"_target_": JOBLIB, "n_jobs": 4}, {**ONE_GPU, "accelerator": "cpu"}, {}, 4, 1, None),
    ({"_target_": JOBLIB, "n_jobs": 2}, {**ONE_GPU, "devices": -1, "strategy": "ddp"}, {}, 4, 1, None),
    ({"_target_": JOBLIB, "n_jobs": 4}, ONE_GPU, {"CUDA_VISIBLE_DEVICES": ""}, 4, 1, None),
])
def test_choose_gpu(launcher, trainer, env, count, slot, expected):
    assert choose_gpu(launcher, trainer, env, count, cores=16, claim=lambda: slot) == expected


def test_gpu_parallel_preset_is_joblib_with_four_jobs():
    launcher = compose_hydra("hydra/launcher=gpu_parallel").hydra.launcher
    assert launcher._target_ == JOBLIB and launcher.n_jobs == 4

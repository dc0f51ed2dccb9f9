"""Running sweeps other ways: jobs in parallel (joblib), through submitit (the SLURM launcher's local twin), one run
over two processes with DDP, and an Optuna study in which a failed trial does not stop the study.

The pure tests (no training run, no subprocess) of this subject; the others are in tests/e2e/test_launchers.py."""

from conftest import compose_hydra

from ganexp.runtime import shared_threads


def test_threads_shared_out_only_for_jobs_in_parallel_processes():
    joblib = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
    assert shared_threads({"_target_": joblib, "n_jobs": 2}, cores=2) == 1
    assert shared_threads({"_target_": joblib, "n_jobs": 3}, cores=16) == 5
    assert shared_threads({"_target_": joblib, "n_jobs": 4}, cores=2) == 1  # never below one
    assert shared_threads({"_target_": joblib, "n_jobs": -1}, cores=8) == 1  # joblib's -1: one job per CPU
    assert shared_threads({"_target_": joblib, "n_jobs": -5}, cores=8) == 2  # -5: 8 + 1 - 5 = 4 jobs
    assert shared_threads({"_target_": joblib, "n_jobs": 1}, cores=8) is None  # one at a time: torch's default
    assert shared_threads({"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}, cores=8) is None


def test_slurm_launcher_and_ddp_trainer_compose():
    cfg = compose_hydra("hydra/launcher=slurm", "trainer=ddp", "hydra.launcher.partition=gpu")
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher") and launcher.gpus_per_node == 1
    assert launcher.partition == "gpu" and launcher.max_num_timeout == 3
    assert cfg.trainer.strategy.startswith("ddp") and cfg.trainer.devices == -1


def test_optuna_direction_follows_the_monitor():
    assert compose_hydra("hparams_search=optuna").hydra.sweeper.direction == "minimize"
    assert compose_hydra("hparams_search=optuna", "monitor=acc/cond").hydra.sweeper.direction == "maximize"

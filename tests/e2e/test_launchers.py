"""Running sweeps other ways: jobs in parallel (joblib), one run over two processes with DDP, and an Optuna study in
which a failed trial does not stop the study. A sweep through submitit (the SLURM launcher's local twin) is
tests/e2e/test_faults.py's requeue test.

The processes a launcher starts (joblib's workers, DDP's second rank) are real ones, started as the
launcher starts them; the command that starts them runs in this process (`run_py`), or for DDP's first rank, forked
from it (`Forked`: a rank of its own, with its own environment and process group): neither pays a second
interpreter's start-up (importing torch, Lightning and Hydra again).

Its pure tests: tests/unit/test_launcher_configs.py."""

import json
import os
import sys
import time
from pathlib import Path

import torch
import yaml
from conftest import ROOT, make_config
from helpers.in_process import Forked, Started, run_py
from helpers.one_thread import one_thread  # noqa: F401 (an autouse fixture: jobs run here give back the thread count)
from joblib.externals.loky import get_reusable_executor

from ganexp.build import build_data
from ganexp.eval.images import load_evaluator, load_look_evaluator

SMALL = ["debug=smoke", "trainer.num_threads=1"]


def metrics(job: Path) -> dict:
    return json.loads((job / "metrics.json").read_text())


def ddp_run(monkeypatch, *args: str) -> tuple[Started, str]:
    """`python run.py trainer=ddp ... args` from the repository, as the shell would start it: rank 0 forked from this
    process; Lightning starts rank 1 by re-running the command (`python <abs path of run.py> ...` from the original
    cwd: `__main__` is run.py, whose spec is None, in a real run; here it is pytest's). Returns rank 0 and its stderr,
    once both ranks have ended (rank 1's teardown may outlast rank 0's exit)."""
    monkeypatch.setattr(sys.modules["__main__"], "__spec__", None)
    proc = Forked(["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", *args], ROOT)
    _, err = proc.communicate(timeout=600)
    run_dir = next(a for a in args if a.startswith("hydra.run.dir=")).partition("=")[2]
    deadline = time.monotonic() + 60
    while ranks := [p for p in Path("/proc").glob("[0-9]*/cmdline") if rank_of(p, run_dir)]:
        assert time.monotonic() < deadline, f"DDP rank still running: {ranks}"
        time.sleep(0.05)
    return proc, err


def rank_of(cmdline: Path, run_dir: str) -> bool:
    """Whether /proc/PID/cmdline is a rank Lightning started for the run in `run_dir` (a zombie's is empty)."""
    try:
        words = cmdline.read_bytes().split(b"\0")
    except OSError:  # ended meanwhile
        return False
    return b"hydra.job.name=train_ddp_process_1" in words and any(run_dir.encode() in w for w in words)


def test_joblib_runs_two_jobs_at_once_sharing_the_cores(tmp_path, monkeypatch, capfd):
    # the preset: joblib, two jobs at a time, trainer.num_threads left unset so each job takes half the cores
    monkeypatch.chdir(tmp_path)
    # the evaluators in the cache first: else one job trains them under the cache's lock while the other waits, and
    # 40 iterations may end before the waiting job starts (the two would not overlap for a reason not the launcher's)
    cfg = make_config("debug=smoke")
    data = build_data(cfg)
    load_evaluator(data, cfg.eval.floor, epochs=cfg.eval.epochs, width=cfg.eval.width)
    load_look_evaluator(data, epochs=cfg.eval.epochs, width=cfg.eval.width)
    try:
        out = run_py(["-m", "hydra/launcher=cpu_parallel", "loss=gan,lsgan", "debug=smoke", "trainer.max_iters=40",
                      "eval.every_n_steps=40", f"hydra.sweep.dir={tmp_path / 'sweep'}"], monkeypatch, capfd)
    finally:  # joblib's workers end with the command, as they do when its process exits
        get_reusable_executor().shutdown(wait=True, kill_workers=True)
    assert out.code == 0, out.err[-3000:]
    first, second = (metrics(tmp_path / "sweep" / str(i)) for i in (0, 1))
    assert first["status"] == second["status"] == "completed"
    # the two training loops overlapped in time: they ran side by side, not one after the other
    assert first["started_at"] < second["ended_at"] and second["started_at"] < first["ended_at"]
    assert "loss=gan" in (tmp_path / "sweep" / "report.md").read_text()
    share = max(1, len(os.sched_getaffinity(0)) // 2)
    for job in ("0", "1"):
        assert f"threads: {share} per job" in (tmp_path / "sweep" / job / "run.log").read_text()


def test_ddp_over_two_cpu_processes(tmp_path, monkeypatch):
    """trainer=ddp's code path on CPU (gloo): two ranks, one folder written by rank 0."""
    smoke = ["trainer.max_iters=8", "trainer.num_threads=1", "trainer.progress=false", "model.generator.width=8",
             "model.discriminator.width=8", "data.source.n=288", "data.batch_size=16", "data.holdout=32",
             "eval.floor=0", "eval.every_n_steps=4"]  # debug=smoke's values (it is a trainer option itself)
    proc, err = ddp_run(monkeypatch, *smoke, f"hydra.run.dir={tmp_path / 'run'}")
    assert proc.returncode == 0, err[-3000:]
    result = metrics(tmp_path / "run")
    assert result["status"] == "completed" and result["iterations"] == 8
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").exists()
    assert not (tmp_path / "run" / "previous").exists()  # rank 1 did not set rank 0's files aside
    # each rank drew its own noise (seeded by its rank) and kept its own random state in the checkpoint
    saved = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    ranks = saved["ganexp_rng_ranks"]
    assert len(ranks) == 2 and not torch.equal(ranks[0]["torch"], ranks[1]["torch"])
    assert torch.equal(saved["ganexp_rng"]["torch"], ranks[0]["torch"])
    # extended on both ranks from that checkpoint (rank 1 passes last.ckpt only once it exists), each its own state
    proc, err = ddp_run(monkeypatch, *smoke, "trainer.max_iters=12", f"extend_from={tmp_path / 'run'}",
                        f"hydra.run.dir={tmp_path / 'longer'}")
    assert proc.returncode == 0, err[-3000:]
    assert metrics(tmp_path / "longer")["iterations"] == 12
    assert "resuming from" in err or "extending" in (tmp_path / "longer" / "run.log").read_text()


def test_optuna_study_survives_a_failed_trial(tmp_path, monkeypatch, capfd):
    # A negative learning rate is a config error: with sampler seed 1 trial 1 draws it and fails; 0 and 2 complete.
    monkeypatch.chdir(tmp_path)
    study = tmp_path / "study"
    out = run_py(["hparams_search=optuna", *SMALL, "hydra.sweeper.n_trials=3", "hydra.sweeper.sampler.seed=1",
                  "hydra.sweeper.params={optimizer.g.lr: 'choice(-1.0, 1e-4)'}", f"hydra.sweep.dir={study}"],
                 monkeypatch, capfd)
    statuses = [json.loads((study / str(i) / "status.json").read_text())["status"] for i in (0, 2)]
    assert statuses == ["completed", "completed"]
    # trial 1 stopped at the config check; its new, empty folder records just that; the sweep's verdict lists it
    assert json.loads((study / "1" / "status.json").read_text())["status"] == "failed"
    rows = out.out.splitlines()
    assert any(line.strip().startswith("1  failed") and "optimizer.g.lr=-1.0" in line for line in rows)
    assert out.code not in (0, None)  # the sweep's exit status reports the failed trial...
    results = yaml.safe_load((study / "optimization_results.yaml").read_text())  # ...after the study finished
    assert results["best_params"]["optimizer.g.lr"] == 1e-4
    assert results["best_value"] == min(metrics(study / str(i))["best"]["value"] for i in (0, 2))
    assert (study / "report.md").exists()

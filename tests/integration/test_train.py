"""Tiny real trainings: files written, TensorBoard events read back, counters, and the card's sweep."""

import json
from pathlib import Path

import pytest
import torch
from conftest import group_options, make_config
from helpers.in_process import run_py
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ganexp.train import main as train


def events(log_dir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


@pytest.mark.parametrize("loss", group_options("loss"))
def test_smoke_run_of_each_loss_writes_events_images_and_metrics(loss, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = make_config("debug=smoke", f"loss={loss}")
    train(cfg)
    tb = events(tmp_path / "tb")
    scalars = set(tb.Tags()["scalars"])
    assert {"loss/d", "loss/g", "d/real", "d/fake", "lr/g", "lr/d", "count/d_updates"} <= scalars
    if loss in ("wgan", "gp"):
        assert "wasserstein" in scalars
    if loss == "gp":
        assert "gp" in scalars
    steps = [e.step for e in tb.Scalars("loss/d")]
    assert steps == list(range(cfg.log.every, cfg.trainer.max_iters + 1, cfg.log.every))  # x-axis = iterations
    assert [e.step for e in tb.Images("samples")] == [4, 8]
    assert sorted(p.name for p in (tmp_path / "samples").glob("iter_*.png")) == ["iter_000004.png", "iter_000008.png"]
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    d_steps = cfg.sched.d_steps
    assert (metrics["iterations"], metrics["d_updates"], metrics["g_updates"]) == (8, 8 * d_steps, 8)
    final_d = [e.value for e in tb.Scalars("count/d_updates")][-1]
    assert final_d == 8 * d_steps


def test_schedule_drives_the_real_loop(tmp_path, monkeypatch):
    """d_every=3, g_steps=2 over 8 iterations: D on 0,3,6 (3 updates), G twice per iteration (16)."""
    monkeypatch.chdir(tmp_path)
    train(make_config("debug=smoke", "sched.d_every=3", "sched.g_steps=2"))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert (metrics["d_updates"], metrics["g_updates"]) == (3, 16)


def test_wgan_weights_stay_clipped_after_training(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(make_config("debug=smoke", "loss=wgan", "loss.clip=0.02", "optim@optimizer.g=adam",
                      "optim@optimizer.d=adam"))
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    d_params = [v for k, v in state.items() if k.startswith("discriminator.") and "running" not in k
                and "num_batches" not in k]
    assert max(v.abs().max().item() for v in d_params) <= 0.02 + 1e-7


def test_lr_drop_at_an_iteration(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(make_config("debug=smoke", "log.every=1",
                      "lr_sched.d={_target_: torch.optim.lr_scheduler.MultiStepLR, milestones: [5], gamma: 0.1}"))
    lrs = [round(e.value, 8) for e in events(tmp_path / "tb").Scalars("lr/d")]
    assert lrs == [2e-4] * 4 + [2e-5] * 4  # logged after iterations 1..8; the drop takes effect after 5 steps


def test_cgan_with_matching_aware_loss_trains(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(make_config("debug=smoke", "model=cgan", "model.wrong_weight=1.0", "model.discriminator.cond=projection"))
    assert "d/wrong" in events(tmp_path / "tb").Tags()["scalars"]


def test_card_sweep_makes_six_jobs_in_one_tensorboard(tmp_path, monkeypatch, capfd):
    """`python run.py -m ...` run in this process (Hydra's main and its launcher, without a second start-up)."""
    monkeypatch.chdir(tmp_path)
    proc = run_py(["-m", "loss=wgan,lsgan,gp", "sched.d_every=1,5", "debug=smoke", f"hydra.sweep.dir={tmp_path}"],
                  monkeypatch, capfd)
    assert proc.code == 0, proc.err[-3000:]
    jobs = sorted(p for p in tmp_path.iterdir() if p.name.isdigit())
    assert len(jobs) == 6
    assert all((job / "metrics.json").exists() and (job / "checkpoints" / "last.ckpt").exists() for job in jobs)
    runs = sorted(p.name for p in (tmp_path / "tb").iterdir())
    expected = [f"debug=smoke,loss={loss},sched.d_every={d}" for loss in ("gp", "lsgan", "wgan") for d in (1, 5)]
    assert runs == sorted(expected)
    for run in runs:
        assert "loss/d" in events(tmp_path / "tb" / run).Tags()["scalars"]


def test_any_other_lightning_trainer_argument_passes_through(tmp_path, monkeypatch):
    """trainer.lightning: what ganexp's schema does not name goes to Lightning's Trainer as it is."""
    from pytorch_lightning.profilers import SimpleProfiler

    from ganexp.build import build

    cfg = make_config("debug=smoke", "eval.enabled=false", "+trainer.lightning.profiler=simple",
                      "+trainer.lightning.detect_anomaly=true")
    job = build(cfg, tmp_path / "run", tmp_path / "tb", "run")
    assert isinstance(job.trainer.profiler, SimpleProfiler)
    assert job.trainer._detect_anomaly is True

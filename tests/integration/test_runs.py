"""Runs that fail well: divergence, failing jobs in a sweep, exact resume after a kill, extension, determinism
(Ctrl-C: tests/test_faults.py)."""

import json
import logging
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import ROOT, make_config
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ganexp.errors import ConfigError, RunMismatch
from ganexp.losses import WGANGP
from ganexp.report import read_events
from ganexp.train import main as train

SMOKE = ["debug=smoke", "eval.enabled=false"]


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def status(run_dir):
    return json.loads((run_dir / "status.json").read_text())


def weights(run_dir):
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]


def test_nan_loss_ends_the_run_as_diverged_before_a_bad_step(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # checkpoints every 4 iterations; 5 critic steps per iteration; the penalty turns NaN in iteration 5
    cfg = make_config(*SMOKE, "loss=gp", "trainer.max_iters=8")
    original, calls = WGANGP.penalty, {"n": 0}

    def poisoned(self, critic, real, fake):
        calls["n"] += 1
        value = original(self, critic, real, fake)
        return value * float("nan") if calls["n"] > 5 * 5 else value

    monkeypatch.setattr(WGANGP, "penalty", poisoned)
    result = train(cfg)
    assert result != result  # NaN: no metric from a diverged run
    s = status(tmp_path)
    assert s["status"] == "diverged" and s["diverged"]["iteration"] == 5 and s["diverged"]["loss"] == "loss/d"
    assert s["diverged"]["value"] == "nan"  # strict JSON: no bare NaN
    assert json.loads((tmp_path / "status.json").read_text(), parse_constant=lambda c: 1 / 0)["metric"] is None
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["ganexp_counters"]["iteration"] == 4  # the last good checkpoint, not a NaN state
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point())
    tb = EventAccumulator(str(tmp_path / "tb"))
    tb.Reload()
    assert "status/text_summary" in tb.Tags()["tensors"]


def test_loss_above_max_for_patience_checks_diverges(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # BCE losses are ~1.4 (D) and ~0.7 (G): with max_loss 1.0, D exceeds it on every check. Patience is counted per
    # loss, so G's checks below the limit do not reset D's count: patience 1 stops at D's first check (iteration 0),
    # patience 2 at its second (iteration 1).
    train(make_config(*SMOKE, "guard.max_loss=1.0", "guard.patience=1"))
    assert status(tmp_path)["status"] == "diverged" and status(tmp_path)["diverged"]["iteration"] == 0
    os.chdir(tmp_path.parent)
    other = tmp_path.parent / "patience2"
    other.mkdir()
    os.chdir(other)
    train(make_config(*SMOKE, "guard.max_loss=1.0", "guard.patience=2"))
    assert status(other)["status"] == "diverged" and status(other)["diverged"]["iteration"] == 1
    assert status(other)["diverged"]["loss"] == "loss/d"


def test_sweep_survives_a_failing_and_a_diverging_job(tmp_path):
    # guard.max_loss=1e5,1 with patience 1: the second setting diverges at D's first check (BCE's loss is ~1.4)
    proc = run_cli("-m", *SMOKE, "data.batch_size=16,100000", "guard.max_loss=1e5,1", "guard.patience=1",
                   f"hydra.sweep.dir={tmp_path}")
    assert proc.returncode != 0  # a job failed, so the sweep says so
    statuses = {p.name: status(p) for p in tmp_path.iterdir() if (p / "status.json").exists()}
    assert sorted(s["status"] for s in statuses.values()) == ["completed", "diverged", "failed", "failed"]
    # the two jobs with an impossible batch stopped before touching their folders; the sweep's verdict names them
    failed = [line for line in proc.stdout.splitlines() if " failed " in line]
    assert len(failed) == 2 and all("data.batch_size=100000: the data has 288 images" in f for f in failed)
    assert "did not complete" in proc.stderr and "diverged" in proc.stdout

    ok = run_cli("-m", *SMOKE, "guard.max_loss=1e5,1", "guard.patience=1", f"hydra.sweep.dir={tmp_path / 'ok'}")
    assert ok.returncode == 0, ok.stderr[-2000:]  # diverged is an outcome, not a failure


def test_a_job_stopped_at_a_check_writes_status_through_the_runs_one_writer(tmp_path, monkeypatch):
    """sweep.record_outside writes `failed` with rundir.write_status, the function the run's life uses: one format
    (status, time, details) and one atomic write for every status.json."""
    from ganexp import rundir
    from ganexp.sweep import record_outside

    real, calls = rundir.write_status, []
    monkeypatch.setattr(rundir, "write_status", lambda *a, **kw: calls.append((a, kw)) or real(*a, **kw))
    job = tmp_path / "1"
    job.mkdir()
    record_outside(job, "data.image_size=48: not one of 32, 64, 128")
    assert calls == [((job, "failed"), {"error": "data.image_size=48: not one of 32, 64, 128"})]
    written = status(job)
    assert written["status"] == "failed" and written["error"] == "data.image_size=48: not one of 32, 64, 128"
    real(tmp_path / "2", "running", iteration=3)  # what the run's life writes has the same keys besides its details
    assert set(written) - {"error"} == set(status(tmp_path / "2")) - {"iteration"} == {"status", "time"}
    # a folder that holds another run's results is left alone: no second write
    record_outside(tmp_path / "2", "another error")
    assert len(calls) == 1 and status(tmp_path / "2")["status"] == "running"


def wait_for(path, timeout=120):
    deadline = time.time() + timeout
    while not path.exists():
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_resume_after_kill_matches_an_uninterrupted_run(tmp_path, monkeypatch, caplog):
    """Killed (kill -9, in a process of its own) and resumed, a run ends where an uninterrupted one does. The runs
    that are not killed train in this process (the same `ganexp.train.main`, without a second start-up), all on one
    thread so that their arithmetic is the same."""
    args = [*SMOKE, "trainer.max_iters=160", "trainer.ckpt_every=20", "log.images_every=80", "seed=3",
            "trainer.num_threads=1"]
    for name in ("full", "killed"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path / "full")
    train(make_config(*args))

    job = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "run.py", *args, f"hydra.run.dir={job}"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(job / "checkpoints" / "last.ckpt")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = torch.load(job / "checkpoints" / "last.ckpt", weights_only=False)["ganexp_counters"]["iteration"]
    assert 20 <= killed_at < 160 and status(job)["status"] == "running"

    monkeypatch.chdir(job)
    caplog.set_level(logging.INFO, logger="ganexp.train")
    train(make_config(*args, "resume=true"))
    assert "resuming from" in caplog.text
    assert status(job)["status"] == "completed"
    a, b = weights(tmp_path / "full"), weights(job)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], msg=key)
    full_metrics = json.loads((tmp_path / "full" / "metrics.json").read_text())
    resumed_metrics = json.loads((job / "metrics.json").read_text())
    assert (resumed_metrics["d_updates"], resumed_metrics["g_updates"]) == (full_metrics["d_updates"], 160)

    # the same command again with resume=true skips the completed job
    mtime = (job / "metrics.json").stat().st_mtime
    caplog.clear()
    train(make_config(*args, "resume=true"))
    assert "already completed" in caplog.text and (job / "metrics.json").stat().st_mtime == mtime
    # and without resume it starts over, keeping the earlier results aside
    train(make_config(*args))
    assert len(list((job / "previous").glob("*/metrics.json"))) == 1
    # but the folder belongs to one configuration: other settings stop before anything is touched
    before = sorted(p for p in job.rglob("*") if p.name != ".lock")
    with pytest.raises(RunMismatch, match=r"holds a run of other settings: trainer.max_iters \(8 here, 160 there\)"):
        train(make_config(*args, "trainer.max_iters=8"))
    assert sorted(p for p in job.rglob("*") if p.name != ".lock") == before


def test_same_seed_same_results(tmp_path, monkeypatch):
    results = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        train(make_config("debug=smoke", "model=cgan", "trainer.max_iters=12", "seed=7"))
        metrics = json.loads((tmp_path / name / "metrics.json").read_text())
        results.append((metrics["final"], metrics["evals"], weights(tmp_path / name)))
    (final_a, evals_a, w_a), (final_b, evals_b, w_b) = results
    drop = {"eval/seconds"}
    assert {k: v for k, v in final_a.items() if k not in drop} == {k: v for k, v in final_b.items() if k not in drop}
    assert [{k: v for k, v in e.items() if k not in drop} for e in evals_a] == \
        [{k: v for k, v in e.items() if k not in drop} for e in evals_b]
    for key in w_a:
        assert torch.equal(w_a[key], w_b[key]), key


def test_condition_options_on_an_unconditional_model_fail_at_start(tmp_path):
    proc = run_cli("debug=smoke", "model=dcgan", "model.discriminator.cond=projection", f"hydra.run.dir={tmp_path}")
    assert proc.returncode != 0 and "model.discriminator.cond" in proc.stderr


def test_corrupted_data_cache_is_named_and_rebuilt(tmp_path, caplog):
    from ganexp.data.module import load_cached
    from ganexp.data.sources import Faces

    source = Faces(n=40, image_size=32, seed=1, untagged=0.0)
    first = load_cached(source, tmp_path)
    (cache_file,) = tmp_path.glob("faces-*.pt")
    cache_file.write_bytes(cache_file.read_bytes()[:100])  # truncated, as after a crash mid-copy
    again = load_cached(source, tmp_path)
    assert str(cache_file) in caplog.text and "unreadable" in caplog.text
    assert torch.equal(first.images, again.images)


def test_empty_data_set_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"data.source.n=0: must be >= 1"):
        train(make_config(*SMOKE, "data.source.n=0"))
    assert not (tmp_path / "status.json").exists()  # found before the run folder was touched


def test_sweep_folder_is_named_by_its_command_and_relaunch_skips_completed_jobs(tmp_path):
    def sweep(*extra):
        return subprocess.run([sys.executable, str(ROOT / "run.py"), "-m", "loss=wgan,lsgan", *SMOKE, *extra],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)

    first = sweep()
    assert first.returncode == 0, first.stderr[-2000:]
    folder = tmp_path / "outputs" / "multirun" / "loss=wgan,lsgan,debug=smoke,eval.enabled=false"
    assert sorted(p.name for p in folder.iterdir() if p.name.isdigit()) == ["0", "1"]
    assert sorted(p.name for p in (folder / "tb").iterdir()) == ["debug=smoke,eval.enabled=False,loss=lsgan",
                                                                 "debug=smoke,eval.enabled=False,loss=wgan"]
    assert ": 2 jobs" in first.stdout and first.stdout.count("  completed   ") == 2
    again = sweep("resume=true")
    assert again.returncode == 0 and (again.stdout + again.stderr).count("already completed, skipped") == 2

    # the sweep taken from 8 to 12 iterations: each job finds its own shorter run by its settings, and its
    # TensorBoard curve goes on from the copied events
    longer = sweep("trainer.max_iters=12", f"extend_from='{folder}'")  # quoted: the folder's name has = and ,
    assert longer.returncode == 0, longer.stderr[-2000:]
    extended = folder.parent / "loss=wgan,lsgan,debug=smoke,eval.enabled=false,trainer.max_iters=12"
    for job, loss in (("0", "wgan"), ("1", "lsgan")):
        metrics = json.loads((extended / job / "metrics.json").read_text())
        assert (metrics["iterations"], metrics["extended_from"]) == (12, str(folder / job))
        assert metrics["total_wall_time_s"] > metrics["wall_time_s"]
        curve = read_events(extended / "tb" / f"debug=smoke,eval.enabled=False,loss={loss},trainer.max_iters=12")
        assert [step for step, _ in curve["loss/d"]] == [2, 4, 6, 8, 10, 12]  # log.every=2
        short = read_events(folder / "tb" / f"debug=smoke,eval.enabled=False,loss={loss}")
        assert curve["loss/d"][:4] == short["loss/d"]
        assert json.loads((folder / job / "metrics.json").read_text())["iterations"] == 8  # the short run is kept


def test_extend_from_a_shorter_run_is_the_longer_run(tmp_path, monkeypatch):
    """12 iterations made as 8 and then 4 more (extend_from) end where 12 in one go do, weights and counters."""
    for name, extra in (("full", ["trainer.max_iters=12"]), ("short", ["trainer.max_iters=8"]),
                        ("long", ["trainer.max_iters=12", f"extend_from={tmp_path / 'short'}"])):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        train(make_config(*SMOKE, "loss=gp", "seed=5", *extra))
    full, long = (torch.load(tmp_path / n / "checkpoints" / "last.ckpt", weights_only=False) for n in ("full", "long"))
    assert full["ganexp_counters"] == long["ganexp_counters"] and long["ganexp_counters"]["iteration"] == 12
    for key, value in full["state_dict"].items():
        torch.testing.assert_close(long["state_dict"][key], value, msg=key)
    assert torch.load(tmp_path / "short" / "checkpoints" / "last.ckpt", weights_only=False)[
        "ganexp_counters"]["iteration"] == 8  # copied, not moved
    assert [s for s, _ in read_events(tmp_path / "long" / "tb")["loss/g"]] == [2, 4, 6, 8, 10, 12]

    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path / "other")
    with pytest.raises(ConfigError, match=r"extend_from=.*short: no run there has this job's settings; the nearest, "
                                          r".*short, differs in loss.gp_weight \(1 here, 10.0 there\)"):
        train(make_config(*SMOKE, "loss=gp", "seed=5", "loss.gp_weight=1", "trainer.max_iters=12",
                          f"extend_from={tmp_path / 'short'}"))
    with pytest.raises(ConfigError, match=r"short already ran 8 iterations; trainer.max_iters=6 must be more"):
        train(make_config(*SMOKE, "loss=gp", "seed=5", "trainer.max_iters=6", f"extend_from={tmp_path / 'short'}"))
    with pytest.raises(ConfigError, match=r"extend_from=.*nowhere: no such folder"):
        train(make_config(*SMOKE, "trainer.max_iters=12", f"extend_from={tmp_path / 'nowhere'}"))
    assert json.loads((tmp_path / "long" / "metrics.json").read_text())["iterations"] == 12  # untouched by the errors

    # a shorter run from before checkpoints carried their training seconds: its metrics.json's count carries on
    import shutil

    shutil.copytree(tmp_path / "short", tmp_path / "old")
    ckpt = torch.load(tmp_path / "old" / "checkpoints" / "last.ckpt", weights_only=False)
    del ckpt["ganexp_seconds"]
    torch.save(ckpt, tmp_path / "old" / "checkpoints" / "last.ckpt")
    metrics = json.loads((tmp_path / "old" / "metrics.json").read_text())
    (tmp_path / "old" / "metrics.json").write_text(json.dumps({**metrics, "total_wall_time_s": 1000.0}))
    (tmp_path / "longer").mkdir()
    monkeypatch.chdir(tmp_path / "longer")
    train(make_config(*SMOKE, "loss=gp", "seed=5", "trainer.max_iters=12", f"extend_from={tmp_path / 'old'}"))
    metrics = json.loads((tmp_path / "longer" / "metrics.json").read_text())
    assert metrics["total_wall_time_s"] - metrics["wall_time_s"] == pytest.approx(1000.0, abs=0.02)


def test_import_time_is_counted_once_per_process(monkeypatch):
    """A process's first job reports its imports; later jobs (a joblib worker's next ones) report 0, not the time
    since the sweep began."""
    import time

    import ganexp

    monkeypatch.setattr(ganexp, "_reported", False)
    first = ganexp.imports_seconds(time.perf_counter() - 5.0)
    assert 5.0 <= first < 6.0
    assert ganexp.imports_seconds(time.perf_counter() - 100.0) == 0.0


def test_progress_bar_of_a_resumed_run_times_its_own_iterations_only(monkeypatch):
    """A run resumed at 3,000 of 5,000 that does 10 iterations in 2 s shows 5 it/s and 1,990 / 5 = 398 s left,
    not a rate that counts the 3,000 iterations of the earlier process as done in no time."""
    import io
    from types import SimpleNamespace

    from tqdm import tqdm

    from ganexp.viz import IterationBar

    clock = [100.0]
    progress = IterationBar(max_iters=5000, refresh_rate=10)
    progress.init_train_tqdm = lambda: tqdm(total=1, file=io.StringIO())
    monkeypatch.setattr("tqdm.std.time", lambda: clock[0])  # the clock every new bar reads
    progress.get_metrics = lambda trainer, module: {}
    module = SimpleNamespace(iteration=3000)
    progress.on_train_start(None, module)  # resumed mid-epoch, Lightning calls this and not on_train_epoch_start
    clock[0] += 2.0
    module.iteration = 3010
    progress.on_train_batch_end(None, module, None, None, 0)
    shown = str(progress.train_progress_bar)
    assert "3010/5000" in shown and "5.00it/s" in shown and "00:02<06:38" in shown, shown
    progress.on_train_epoch_start(None, module)  # the next epoch goes on counting the run's iterations
    assert "iterations:" in str(progress.train_progress_bar) and "3010/5000" in str(progress.train_progress_bar)


def test_an_extension_copy_cut_short_leaves_no_checkpoint_and_copies_again_whole(tmp_path, monkeypatch):
    """copy_run stopped while it copies the checkpoints (here: an error on last.ckpt, as a full disk or a kill
    would leave it) leaves no `checkpoints/last.ckpt` that `resume=true` could mistake for a run; the next copy
    replaces the half folder and brings every byte."""
    import shutil

    from ganexp.rundir import copy_run

    source, run_dir = tmp_path / "short", tmp_path / "long"
    (source / "checkpoints").mkdir(parents=True)
    (source / "samples").mkdir()
    (source / "tb").mkdir()
    payload = os.urandom(1 << 16)
    (source / "checkpoints" / "last.ckpt").write_bytes(payload)
    (source / "checkpoints" / "iter_000004.ckpt").write_bytes(b"older")
    (source / "samples" / "iter_000004.png").write_bytes(b"png")
    (source / "tb" / "events.out").write_bytes(b"events")
    run_dir.mkdir()
    copyfile = shutil.copyfile  # what shutil.copytree's copy2 calls for each file's bytes

    def cut(src, dst, **kwargs):
        if os.fspath(src).endswith("last.ckpt"):
            with open(dst, "wb") as half:
                half.write(payload[: len(payload) // 2])
            raise OSError("no space left on device")
        return copyfile(src, dst, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", cut)
    with pytest.raises(OSError, match="no space"):
        copy_run(source, run_dir, run_dir / "tb")
    assert not (run_dir / "checkpoints").exists()
    assert (run_dir / "samples" / "iter_000004.png").exists()  # pictures and events come first
    monkeypatch.setattr(shutil, "copyfile", copyfile)
    copy_run(source, run_dir, run_dir / "tb")
    assert (run_dir / "checkpoints" / "last.ckpt").read_bytes() == payload
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoints", "samples", "tb"]  # no checkpoints.partial

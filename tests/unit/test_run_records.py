"""Runs that fail well: divergence, failing jobs in a sweep, exact resume after a kill, extension, determinism
(Ctrl-C: tests/e2e/test_faults.py).

The pure tests (no training run, no subprocess) of this subject; the others are in tests/integration/test_runs.py."""

import os

import pytest
import torch
from helpers.run_folders import status


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


def test_a_locked_folder_that_moves_is_not_written_where_it_was(tmp_path):
    """rundir.check_owned: while this process holds a folder's lock, a state file may be written under it only while
    the lock file at the folder's path is the one held; moved (or removed), every path under it is refused, and
    paths elsewhere, or after the lock is let go, are not this lock's business."""
    from ganexp.errors import RunFolderMoved
    from ganexp.rundir import RunLock, check_owned, write_status

    job = tmp_path / "job"
    with RunLock(job) as lock:
        check_owned(job / "checkpoints" / "last.ckpt")  # in place: nothing to say
        job.rename(tmp_path / "moved")
        assert lock.moved()
        with pytest.raises(RunFolderMoved, match=rf"run folder {job} was moved or removed while its run was going "
                                                 r".*stopped without writing checkpoints/last.ckpt there"):
            check_owned(job / "checkpoints" / "last.ckpt")
        with pytest.raises(RunFolderMoved, match="without writing status.json there"):
            write_status(job, "running")
        assert not job.exists()  # nothing made where it was
        check_owned(tmp_path / "other" / "status.json")
        job.mkdir()  # a new folder of the old name, with a lock file of its own: still not the one held
        (job / ".lock").write_text("")
        with pytest.raises(RunFolderMoved):
            check_owned(job / "status.json")
    check_owned(job / "status.json")  # the lock let go: no longer this process's run
    write_status(tmp_path / "moved", "interrupted")  # where the folder went, unlocked: an ordinary folder

"""Hostile-suite rows: a run folder's identity and damaged state files (status, config, checkpoints), the kill -9
points whose state can be laid down exactly, and filesystem faults (a full disk, a file where a folder should be,
a folder nothing can be written to).

The one table of bad inputs (see tests/helpers/hostile.py); a reader's own function-level checks (the metrics
store's line numbers: tests/unit/test_store.py) stay in tests/unit."""

import errno
import json
import shutil
import tempfile
from pathlib import Path

import torch
from conftest import make_config
from omegaconf import OmegaConf

from ganexp.build import serves_images
from ganexp.runtime import resolve_arithmetic
from helpers.hostile import SMOKE, Case, Ctx, Outcome, run_case, run_in_process

LAST = "checkpoints/last.ckpt"
_TRAINED: dict[str, Path] = {}


def recorded(*overrides: str) -> str:
    """config.yaml as a job of `SMOKE + overrides` records it (resolved, its arithmetic made concrete)."""
    cfg = make_config(*SMOKE, *overrides)
    resolve_arithmetic(cfg.trainer, serves_images(cfg))
    return OmegaConf.to_yaml(cfg, resolve=True)


def trained(*overrides: str) -> Path:
    """A finished smoke run of `SMOKE + overrides` (trained once per test process, then copied by each case)."""
    key = " ".join(overrides)
    if key not in _TRAINED:
        from ganexp.train import main as train

        folder = Path(tempfile.mkdtemp(prefix="ganexp-trained-"))
        cwd = Path.cwd()
        try:
            import os

            os.chdir(folder)
            train(make_config(*SMOKE, *overrides))
        finally:
            os.chdir(cwd)
        _TRAINED[key] = folder
    return _TRAINED[key]


def lay_trained(ctx: Ctx, *overrides: str) -> None:
    shutil.rmtree(ctx.job)
    shutil.copytree(trained(*overrides), ctx.job)


def write(name: str, content: str | bytes, status: str | None = "running"):
    """A setup that writes one file of the job's folder (and marks the run unfinished, so resume=true reads it)."""
    def setup(ctx: Ctx) -> None:
        if status:
            (ctx.job / "status.json").write_text(json.dumps({"status": status}))
        path = ctx.job / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return setup


def cut_checkpoint(ctx: Ctx) -> None:
    """A real checkpoint of this job's settings, cut to half its length (a copy or a disk that gave out)."""
    lay_trained(ctx)
    path = ctx.job / LAST
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    (ctx.job / "status.json").write_text(json.dumps({"status": "running"}))


def other_settings(ctx: Ctx) -> None:
    (ctx.job / "config.yaml").write_text(recorded("loss=gan"))
    (ctx.job / "status.json").write_text(json.dumps({"status": "running"}))


def same_settings_completed(ctx: Ctx) -> None:
    (ctx.job / "config.yaml").write_text(recorded())


def killed_after_final_checkpoint(ctx: Ctx) -> None:
    """The state a kill -9 leaves between the final checkpoint and `completed`: status `running`, no metrics.json."""
    lay_trained(ctx)
    (ctx.job / "status.json").write_text(json.dumps({"status": "running"}))
    (ctx.job / "metrics.json").unlink()


def resumed_exactly(ctx: Ctx, outcome: Outcome) -> None:
    metrics = json.loads((ctx.job / "metrics.json").read_text())
    length = make_config(*SMOKE).trainer.max_iters
    assert metrics["status"] == "completed" and metrics["iterations"] == length
    full = torch.load(trained() / LAST, weights_only=False)
    resumed = torch.load(ctx.job / LAST, weights_only=False)
    assert resumed["ganexp_counters"] == full["ganexp_counters"]
    torch.testing.assert_close(resumed["state_dict"], full["state_dict"], rtol=0, atol=0)


def a_file_at(relative: str):
    def setup(ctx: Ctx) -> None:
        (ctx.tmp / relative).write_text("a file, not a folder\n")
    return setup


def full_disk_at(name: str):
    """A fault-injecting act: the write of file `name` fails as on a full disk (ENOSPC from the write, with no file
    name in the error, after part of the data went to the temporary file)."""
    def act(ctx: Ctx) -> Outcome:
        import lightning_fabric.plugins.io.torch_io as torch_io

        import ganexp.atomic

        atomic_write, atomic_save = ganexp.atomic.atomic_write, torch_io._atomic_save

        def failing_write(path, write, mode="w"):
            if Path(path).name != name:
                return atomic_write(path, write, mode)

            def half(file):
                file.write(b"\x00" if "b" in mode else "{")
                raise OSError(errno.ENOSPC, "No space left on device")
            return atomic_write(path, half, mode)

        def failing_save(checkpoint, filepath):
            if not Path(filepath).name.startswith(f".{name}"):
                return atomic_save(checkpoint, filepath)
            Path(filepath).write_bytes(b"PK\x03\x04 half a checkpoint")
            raise OSError(errno.ENOSPC, "No space left on device")

        ctx.monkeypatch.setattr(ganexp.atomic, "atomic_write", failing_write)
        ctx.monkeypatch.setattr(torch_io, "_atomic_save", failing_save)
        return run_in_process(ctx, [*SMOKE, f"hydra.run.dir={ctx.job}"])
    return act


def earlier_kept_and_failed(ctx: Ctx, outcome: Outcome) -> None:
    """After a fault mid-run: the earlier results are whole under previous/, no temporary file is left, and the
    status says `failed` with the reason where the disk still took it."""
    earlier = next((ctx.job / "previous").iterdir())
    assert json.loads((earlier / "status.json").read_text())["status"] == "completed"
    assert (earlier / LAST).read_text() == "weights"
    assert not [p for p in ctx.job.rglob("*.tmp")], "a temporary file was left behind"
    status = json.loads((ctx.job / "status.json").read_text())
    assert status["status"] == "failed" and "No space left on device" in status["error"]


def moved_before_the_last_checkpoint(logger_first: bool = False):
    """A fault-injecting act: the run folder is renamed to {tmp}/moved between the run's two checkpoints (debug=smoke:
    iterations 4 and 8), as a user tidying outputs/ while a sweep runs would. With `logger_first`, a logger's write
    to its file in the old place fails before the checkpoint is reached (TensorBoard's writer does, by timing)."""
    def act(ctx: Ctx) -> Outcome:
        import ganexp.checkpoint

        save, calls = ganexp.checkpoint.save_atomic, []

        def moving_save(trainer, path):
            calls.append(path)
            if len(calls) == 2:
                ctx.job.rename(ctx.tmp / "moved")
                if logger_first:
                    raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(ctx.job / "tb" / "events"))
            return save(trainer, path)

        ctx.monkeypatch.setattr(ganexp.checkpoint, "save_atomic", moving_save)
        return run_in_process(ctx, [*SMOKE, f"hydra.run.dir={ctx.job}"])
    return act


def nothing_written_where_it_was(ctx: Ctx, outcome: Outcome) -> None:
    """The moved run stopped without writing its state where its folder had been; where the folder went it holds
    the run as of its first checkpoint, and resume=true continues it there to the end."""
    assert not [p for p in ctx.job.rglob("*") if p.is_file()], sorted(ctx.job.rglob("*"))
    moved = ctx.tmp / "moved"
    assert json.loads((moved / "status.json").read_text())["status"] == "running"
    assert torch.load(moved / LAST, weights_only=False)["ganexp_counters"]["iteration"] == 4
    resumed = run_in_process(ctx, [*SMOKE, "resume=true", f"hydra.run.dir={moved}"])
    assert resumed.code == 0, resumed.err[-2000:]
    assert json.loads((moved / "metrics.json").read_text())["iterations"] == 8


RESUME = ("resume=true",)
CASES = [
    # damaged state files
    run_case("state: empty status.json, resumed", "state", RESUME, "status.json is empty", setup=write(
        "status.json", "", status=None)),
    run_case("state: status.json cut short, resumed", "state", RESUME, "status.json is not valid JSON",
             setup=write("status.json", '{"status": "runn', status=None)),
    run_case("state: status.json a list, resumed", "state", RESUME, "status.json is not a JSON object",
             setup=write("status.json", '["running"]', status=None)),
    run_case("state: status.json in Latin-1 bytes, resumed", "state", RESUME, "status.json",
             setup=write("status.json", b'{"status": "r\xe9sum\xe9"', status=None)),
    run_case("state: zero-byte last.ckpt, resumed", "state", RESUME, "last.ckpt is damaged",
             setup=write(LAST, b"")),
    run_case("state: text in last.ckpt, resumed", "state", RESUME, "last.ckpt is damaged",
             setup=write(LAST, "weights")),
    run_case("state: last.ckpt cut in half, resumed", "state", RESUME, "last.ckpt is damaged",
             setup=cut_checkpoint),
    run_case("state: damaged config.yaml, resumed", "state", RESUME, "config.yaml is damaged",
             setup=write("config.yaml", "model: [unclosed\n")),
    run_case("state: config.yaml not a mapping, resumed", "state", RESUME, "config.yaml is damaged",
             setup=write("config.yaml", "- a\n- list\n")),
    # identity: a folder belongs to one resolved configuration
    run_case("state: resume with other settings", "state", ("resume=true", "loss=lsgan", "optimizer.g.lr=0.5"),
             "holds a run of other settings: loss._target_", setup=other_settings),
    run_case("state: fresh start over other settings", "state", ("loss=hinge",), "holds a run of other settings",
             setup=other_settings),
    run_case("state: other seed in a reused folder", "state", ("seed=7", "resume=true"),
             "seed (7 here, 0 there)", setup=same_settings_completed),
    Case("state: same settings, completed, resumed", "state",
         lambda ctx: run_in_process(ctx, [*SMOKE, "resume=true", f"hydra.run.dir={ctx.job}"]), None, exit=0,
         setup=same_settings_completed),
    run_case("state: extend_from a missing folder", "state", ("extend_from={tmp}/nowhere",),
             "extend_from={tmp}/nowhere: no such folder"),
    run_case("state: extend_from a run as long", "state", ("extend_from={tmp}/short", "trainer.max_iters=6"),
             "{tmp}/short already ran 8 iterations; trainer.max_iters=6 must be more",
             setup=lambda ctx: shutil.copytree(trained(), ctx.tmp / "short")),
    run_case("state: extend_from a damaged status", "state", ("extend_from={tmp}/short", "trainer.max_iters=12"),
             "status.json is not valid JSON", setup=lambda ctx: (ctx.tmp / "short").mkdir() or write(
                 "status.json", "{", status=None)(Ctx(ctx.tmp, ctx.tmp / "short", ctx.root, None, None)) or (
                 ctx.tmp / "short" / "config.yaml").write_text(recorded("trainer.max_iters=12"))),
    run_case("state: extend_from a run of other settings", "state",
             ("extend_from={tmp}/short", "trainer.max_iters=12", "loss=lsgan"),
             "extend_from={tmp}/short: no run there has this job's settings; the nearest, {tmp}/short, differs in "
             "loss._target_ (ganexp.losses.LSGAN here, ganexp.losses.BCE there)",
             setup=lambda ctx: shutil.copytree(trained(), ctx.tmp / "short")),
    run_case("state: extend_from a damaged checkpoint", "state", ("extend_from={tmp}/short", "trainer.max_iters=12"),
             "last.ckpt is damaged", setup=lambda ctx: shutil.copytree(trained(), ctx.tmp / "short") and (
                 ctx.tmp / "short" / LAST).write_bytes(b"PK\x03\x04")),
    # kill -9 points whose state is laid down as the kill leaves it
    Case("kill: after the final checkpoint, before completed; resumed", "kill",
         lambda ctx: run_in_process(ctx, [*SMOKE, "resume=true", f"hydra.run.dir={ctx.job}"]), None, exit=0,
         untouched=False, setup=killed_after_final_checkpoint, check=resumed_exactly),
    # filesystem
    run_case("filesystem: run folder below a regular file", "filesystem", ("hydra.run.dir={tmp}/afile/job",),
             "afile", setup=a_file_at("afile")),
    run_case("filesystem: run folder is a regular file", "filesystem", ("hydra.run.dir={tmp}/afile",),
             "afile", setup=a_file_at("afile")),
    run_case("filesystem: run folder where nothing can be written", "filesystem",
             ("hydra.run.dir=/sys/ganexp-hostile/job",), "/sys/ganexp-hostile"),
    run_case("filesystem: sweep folder below a regular file", "filesystem",
             ("-m", "seed=1,2", "hydra.sweep.dir={tmp}/afile/sweep"), "afile", setup=a_file_at("afile")),
    Case("filesystem: full disk at a checkpoint", "filesystem", full_disk_at("last.ckpt"),
         "No space left on device", untouched=False, check=earlier_kept_and_failed),
    Case("filesystem: full disk at metrics.json", "filesystem", full_disk_at("metrics.json"),
         "metrics.json: No space left on device", untouched=False, check=earlier_kept_and_failed),
    Case("filesystem: run folder moved mid-run", "filesystem", moved_before_the_last_checkpoint(),
         "was moved or removed while its run was going", untouched=False, check=nothing_written_where_it_was),
    Case("filesystem: run folder moved mid-run, a logger fails first", "filesystem",
         moved_before_the_last_checkpoint(logger_first=True), "was moved or removed while its run was going",
         untouched=False, check=nothing_written_where_it_was),
]

"""A run folder belongs to one resolved configuration: its name (cut names end in a hash of the configuration), the
identity check before resume, extend and a reused sweep folder, and strict, whole state files.

Its in-process runs and builds: tests/integration/test_identity_runs.py."""

import errno
import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ganexp.atomic import atomic_write, write_json
from ganexp.rundir import differences, digest, identity
from ganexp.schema import NAME_MAX, folder_name


def test_a_long_name_keeps_its_start_and_ends_in_a_hash_of_the_configuration():
    head = "lr_sched.g={_target_:torch.optim.lr_scheduler.LinearLR,start_factor:1.0,end_factor:0.1,total_iters:5000}"
    a, b = (f"{head},lr_sched.d={head[11:]},trainer.max_iters={n}" for n in (4000, 8000))
    assert len(a) > NAME_MAX and a[:NAME_MAX] == b[:NAME_MAX]
    na, nb = folder_name(a), folder_name(b)
    assert na != nb and len(na) == len(nb) == NAME_MAX and na[:NAME_MAX - 11] == b[:NAME_MAX - 11].replace(
        "{", "_").replace("}", "_").replace(":", "_")
    # under Hydra the hash is of the whole resolved configuration, less the keys that say how a job runs
    root = OmegaConf.create({"seed": 1, "trainer": {"max_iters": 8, "progress": True}, "resume": False,
                             "hydra": {"anything": 1}})
    same = OmegaConf.create({"seed": 1, "trainer": {"max_iters": 8, "progress": False}, "resume": True})
    other = OmegaConf.create({"seed": 2, "trainer": {"max_iters": 8, "progress": True}, "resume": False})
    assert folder_name(a, _root_=root) == folder_name(a, _root_=same) != folder_name(a, _root_=other)
    assert folder_name(a, _root_=root).endswith(digest({"seed": 1, "trainer": {"max_iters": 8}}))
    assert folder_name("loss=wgan,seed=1") == "loss=wgan,seed=1" and folder_name("") == "default"


def test_identity_leaves_out_only_how_a_job_runs():
    config = {"seed": 1, "resume": True, "extend_from": "x", "trainer": {"progress": False, "max_iters": 8}}
    assert identity(config) == {"seed": 1, "trainer.max_iters": 8}
    assert differences({"a": {"b": 1}, "c": 2}, {"a": {"b": 2}}, ignore=()) == ["a.b", "c"]


def test_state_files_are_strict_json(tmp_path):
    write_json(tmp_path / "s.json", {"metric": float("nan"), "best": {"v": float("inf")}, "list": [1.0, -float("inf")]})
    strict = json.loads((tmp_path / "s.json").read_text(), parse_constant=lambda c: pytest.fail(f"bare {c}"))
    assert strict == {"metric": None, "best": {"v": None}, "list": [1.0, None]}


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("old")

    def full_disk(file):
        file.write("{partial")
        raise OSError(errno.ENOSPC, "No space left on device")  # as a write on a full disk: no file name

    with pytest.raises(OSError) as err:
        atomic_write(path, full_disk)
    assert err.value.filename == str(path) and err.value.errno == errno.ENOSPC
    assert path.read_text() == "old" and sorted(p.name for p in Path(tmp_path).iterdir()) == ["metrics.json"]


def test_the_loggers_say_how_a_run_is_watched_not_what_it_is():
    """`logger=...` names no other run: same folder name, same identity; a resume may watch it with other loggers."""
    from ganexp.sweep import HOW_NOT_WHAT, how_left_out

    run = {"loss": {"_target_": "ganexp.losses.BCE"}, "logger": {"tensorboard": {"_target_": "TB"}}}
    watched = {"loss": {"_target_": "ganexp.losses.BCE"}, "logger": {"csv": {"_target_": "CSV", "name": ""}}}
    assert differences(run, watched, ignore=HOW_NOT_WHAT) == [] and identity(run) == identity(watched)
    assert differences(run, {**watched, "loss": {"_target_": "ganexp.losses.LSGAN"}},
                       ignore=HOW_NOT_WHAT) == ["loss._target_"]
    assert how_left_out(["logger=[tensorboard,csv]", "logger.csv.name=x", "loss=gan"]) == ["loss=gan"]

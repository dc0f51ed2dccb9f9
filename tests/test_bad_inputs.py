"""Every mistake a user can make in the config or the data: exit status 2, one line naming the culprit, no
traceback, and the job's earlier results left where they were.

The table runs `run.py`'s own entry point in this process (same code path as the command, a fraction of the start-up
cost); three cases also run as real processes to check the exit status the shell sees."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from hydra.core.global_hydra import GlobalHydra
from test_file_runs import anime, cartoon_set, folder, iclevr

from ganexp.errors import report_errors, tool_main

SMOKE = ["trainer=smoke", "eval.enabled=false"]
EARLIER = {"metrics.json": '{"earlier": true}', "status.json": '{"status": "completed", "metric": 1.5}',
           "checkpoints/last.ckpt": "weights", "tb/events.out.tfevents.1": "events", "samples/iter_000008.png": "png"}


def _run_module():
    spec = importlib.util.spec_from_file_location("ganexp_run_entry", ROOT / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ENTRY = _run_module()


def broken_truncated_image(root: Path) -> str:
    folder(root)
    path = root / "a" / "1.png"
    path.write_bytes(path.read_bytes()[:40])  # a download cut short
    return str(path)


def broken_empty_label_file(root: Path) -> str:
    cartoon_set(root)
    (root / "cartoon_attr.txt").write_text("")
    return "cartoon_attr.txt"


def broken_json(root: Path) -> str:
    iclevr(root)
    (root / "train.json").write_text('{"i0.png": ["red cube"],\n "i1.png": ["blue cube"]\n')  # no closing brace
    return "train.json line 3"


def broken_colour(root: Path) -> str:
    root.mkdir(parents=True)
    (root / "tags.csv").write_text("0,aqua hair aqua eyes\n1,purplish hair blue eyes\n")
    return "purplish"


def broken_csv_bytes(root: Path) -> str:
    anime(root)
    (root / "tags_clean.csv").write_bytes(b"0,blue hair:3\tred eyes:1\n\x89PNG\r\n\x1a\n\xff\xfe\x00binary")
    return "not UTF-8"


def empty_folder(root: Path) -> str:
    root.mkdir(parents=True)
    return "no image files"


# (overrides, a fixture that writes data under root and returns what the message must name, or None), culprit
CASES = {
    "image size": (["data.image_size=48"], "data.image_size=48"),
    "negative length": (["trainer.max_iters=-5"], "trainer.max_iters=-5"),
    "zero batch": (["data.batch_size=0"], "data.batch_size=0"),
    "unknown norm": (["model.discriminator.norm=group"], "model.discriminator.norm='group'"),
    "unknown d_cond": (["model=cgan", "model.discriminator.cond=sideways"], "model.discriminator.cond='sideways'"),
    "unknown wrong_sampling": (["model=cgan", "model.wrong_sampling=sometimes"], "model.wrong_sampling"),
    "negative lr": (["optimizer.d.lr=-1"], "optimizer.d.lr=-1"),
    "gp on batchnorm": (["loss=gp", "model.discriminator.norm=batch"], "model.discriminator.norm=batch"),
    "wrong type": (["trainer.max_iters=abc"], "trainer.max_iters"),
    "unknown key": (["model.nosuch=1"], "model.nosuch"),
    "unknown option": (["model=nosuch"], "model/nosuch"),
    "d_every zero": (["sched.d_every=0"], "sched.d_every=0"),
    "pack size not dividing the batch": (["model.d_pack=3"], "model.d_pack=3 does not divide data.batch_size"),
    "clip not a number": (["loss=wgan", "loss.clip=abc"], "loss.clip"),
    "toy model, image data": (["model=toy"], "model.generator=MLPGenerator"),
    "image model, toy data": (["data=toy_ring", "model=dcgan"], "data=PointData"),
    "too few eval samples": (["eval.enabled=true", "data.holdout=1"], "data.holdout=1"),
    "unknown eval features": (["eval.features=clip"], "eval.features=clip"),
    "missing Inception weights": (["eval.enabled=true", "eval.features=inception",
                                   "eval.inception_weights=/nonexistent/inception.pth"],
                                  "eval.inception_weights=/nonexistent/inception.pth: no such file"),
    "colour count": (["data=cartoon", "data.source.hair=99"], "data.source.hair=99: must be between 1 and 12"),
    "untagged share": (["data=cartoon", "data.source.untagged=1.0"], "data.source.untagged=1.0"),
    "colour wrong tags, multi-label data": (["model=cgan", "data=shapes", "model.wrong_sampling=colours"],
                                            "model.wrong_sampling=colours"),
    "infogan code size": (["model=infogan", "model.codes.categorical=[1]"], "model.codes"),
    "fewer images than a batch": (["data.source.n=40"], "data.batch_size=16"),
    "missing data folder": (["data=anime", "data.root=/nonexistent/anime"], "/nonexistent/anime/tags_clean.csv"),
    "empty image folder": (["data=folder", "data.root={root}"], empty_folder),
    "truncated image": (["data=folder", "data.root={root}", "data.holdout=8"], broken_truncated_image),
    "empty label file": (["model=cgan", "data=cartoon_set", "data.root={root}"], broken_empty_label_file),
    "malformed JSON": (["model=cgan", "data=iclevr", "data.root={root}"], broken_json),
    "unknown colour": (["model=cgan", "data=anime", "data.root={root}", "data.source.format=extra"], broken_colour),
    "binary junk in a CSV": (["model=cgan", "data=anime", "data.root={root}"], broken_csv_bytes),
    "one condition, wrong tags": (["model=cgan", "model.wrong_weight=1", "data=folder", "data.root={root}",
                                   "data.holdout=8"], lambda root: folder(root) or "model.wrong_weight=1"),
}


def earlier_results(job: Path) -> None:
    for name, text in EARLIER.items():
        (job / name).parent.mkdir(parents=True, exist_ok=True)
        (job / name).write_text(text)


def assert_left_alone(job: Path) -> None:
    for name, text in EARLIER.items():
        assert (job / name).read_text() == text, name
    assert not (job / "previous").exists() and not (job / "config.yaml").exists()


def run_entry(argv: list[str], monkeypatch) -> int:
    monkeypatch.setattr(sys, "argv", ["run.py", *argv])
    monkeypatch.setenv("HYDRA_MAIN_MODULE", "__main__")  # Hydra finds conf/ beside run.py, as for `python run.py`
    GlobalHydra.instance().clear()
    try:
        return report_errors(ENTRY.main)
    except SystemExit as stop:
        return stop.code
    finally:
        GlobalHydra.instance().clear()


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_and_status_2(case, tmp_path, monkeypatch, capfd):
    overrides, culprit = CASES[case]
    root = tmp_path / "data"
    if callable(culprit):
        culprit = culprit(root)
    job = tmp_path / "job"
    earlier_results(job)
    monkeypatch.chdir(tmp_path)
    argv = [*SMOKE, *(o.format(root=root) for o in overrides), f"hydra.run.dir={job}"]
    assert len(CASES) >= 20
    code = run_entry(argv, monkeypatch)
    err = capfd.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2, err[-2000:]
    assert len(errors) == 1 and culprit in errors[0], err[-2000:]
    assert "Traceback" not in err and "Error executing job" not in err
    assert_left_alone(job)


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=env)


def test_the_shell_sees_status_2_and_one_line(tmp_path):
    for args, culprit in ((["trainer.max_iters=abc"], "trainer.max_iters"),
                          (["data.image_size=48"], "data.image_size=48"),
                          (["data=anime", f"data.root={tmp_path / 'none'}"], "tags_clean.csv")):
        job = tmp_path / args[0].replace("=", "_")
        job.mkdir()
        earlier_results(job)
        out = cli(*SMOKE, *args, f"hydra.run.dir={job}")
        assert out.returncode == 2, out.stderr[-2000:]
        assert out.stderr.strip().splitlines()[-1].startswith("error: ") and culprit in out.stderr
        assert sum(line.startswith("error: ") for line in out.stderr.splitlines()) == 1
        assert "Traceback" not in out.stderr
        assert_left_alone(job)


def test_hydra_full_error_shows_the_traceback(tmp_path):
    import os

    out = cli(*SMOKE, "data.image_size=48", f"hydra.run.dir={tmp_path}", env={**os.environ, "HYDRA_FULL_ERROR": "1"})
    assert out.returncode != 0 and "Traceback" in out.stderr and "data.image_size=48" in out.stderr


def test_a_sweep_records_a_bad_job_as_failed_and_runs_the_others(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "run.py"), "-m", *SMOKE, "data.image_size=32,48"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1  # the sweep ran; one of its jobs did not complete
    lines = out.stdout.splitlines()
    assert any("completed" in ln and "data.image_size=32" in ln for ln in lines)
    assert any("failed" in ln and "data.image_size=48: not one of 32, 64, 128" in ln for ln in lines)
    sweep = next((tmp_path / "outputs" / "multirun").iterdir())
    assert not (sweep / "1" / "status.json").exists() and not (sweep / ".ledger").exists()
    assert json.loads((sweep / "0" / "status.json").read_text())["status"] == "completed"


def test_a_sweep_over_null_for_a_group_names_the_none_option(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    code = run_entry(["-m", *SMOKE, "augment=null,diffaug", f"hydra.sweep.dir={tmp_path / 'sweep'}"], monkeypatch)
    err = capfd.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2 and len(errors) == 1 and "augment=none,diffaug" in errors[0], err[-2000:]
    assert "Traceback" not in err


def test_the_none_options_switch_the_regulariser_and_augmentation_off():
    from conftest import make_config

    from ganexp.train import build_data, build_module

    cfg = make_config("trainer=smoke", "augment=none", "reg=none")
    module = build_module(cfg, build_data(cfg))
    assert module.augment is None and module.regularizer is None


@pytest.mark.parametrize("tool", ["report", "sample"])
def test_the_tools_answer_a_wrong_path_with_one_line(tool, tmp_path, capsys):
    module = importlib.import_module(f"ganexp.{tool}")
    with pytest.raises(SystemExit) as stop:
        tool_main(lambda: module.main([str(tmp_path / "nowhere")]))
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nowhere'}: no such " + (
        "sweep folder" if tool == "report" else "run folder or checkpoint file")

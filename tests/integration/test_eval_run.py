"""Evaluation inside real (smoke) runs: metrics, best checkpoint, pictures, and the sample CLI."""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, make_config
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ganexp.metrics import better
from ganexp.train import main as train


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("cgan")
    cfg = make_config("debug=smoke", "model=cgan", "trainer.max_iters=12", f"hydra.run.dir={run}")
    cwd = os.getcwd()
    os.chdir(run)
    try:
        best = train(cfg)
    finally:
        os.chdir(cwd)
    return run, best


def test_metrics_best_and_final(cgan_run):
    run, returned = cgan_run
    metrics = json.loads((run / "metrics.json").read_text())
    evals = metrics["evals"]
    assert [e["iteration"] for e in evals] == [4, 8, 12]  # every_n_steps=4 and the end (12 is both: once)
    for key in ("fid_eval", "kid_eval", "kid_eval_std", "collapse/diversity_ratio", "collapse/class_coverage",
                "acc/cond", "acc/cond/hair", "acc/cond/eyes", "pr/precision", "pr/recall", "pr/density",
                "pr/coverage", "eval/seconds"):
        assert key in evals[-1], key
        assert key in metrics["final"]
    assert all(0 <= evals[-1][f"pr/{k}"] <= 1 for k in ("precision", "recall", "coverage"))
    # how they were measured, so that runs compare only like with like
    assert metrics["measured_with"]["reference"] == "32 held-out real images (data.holdout, split=perm1)"
    assert metrics["measured_with"]["fakes"] == 32 and metrics["measured_with"]["kid"] == "50 subsets of 16"
    fids = [e["fid_eval"] for e in evals]
    assert metrics["best"]["value"] == min(fids) == returned
    assert metrics["best"]["iteration"] == evals[fids.index(min(fids))]["iteration"]
    assert (run / "checkpoints" / "best.ckpt").exists() and (run / "checkpoints" / "last.ckpt").exists()
    assert max(e["eval/seconds"] for e in evals) < 10  # bounded on CPU at smoke settings
    tb = EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0, "images": 0})
    tb.Reload()
    assert [e.step for e in tb.Scalars("fid_eval")] == [4, 8, 12]
    assert {"samples", "progress", "cond_hair", "cond_eyes", "interpolation"} <= set(tb.Tags()["images"])


def test_pictures_written(cgan_run):
    from PIL import Image

    run, _ = cgan_run
    names = {p.name for p in (run / "samples").glob("*.png")}
    assert {"iter_000004.png", "iter_000012.png", "progress.png", "cond_hair.png", "cond_eyes.png",
            "interpolation.png"} <= names
    # cond_hair: 4 rows of 12 hair colours (32 px cells + 2 px padding)
    width, height = Image.open(run / "samples" / "cond_hair.png").size
    assert (width, height) == (2 + 12 * 34, 2 + 4 * 34)
    assert Image.open(run / "samples" / "progress.png").size[1] == 2 + 3 * 34  # 3 saved grids -> 3 rows


def test_better_knows_direction():
    assert better("fid_eval", 1.0, 2.0) and not better("fid_eval", 3.0, 2.0)
    assert better("acc/cond", 0.9, 0.5) and better("collapse/class_coverage", 1.0, None)


def sample(*args):
    return subprocess.run([sys.executable, "-m", "ganexp.sample", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_sample_cli_writes_requested_images(cgan_run, tmp_path):
    run, _ = cgan_run
    proc = sample(run, "--cond", "blue hair red eyes", "-n", 5, "--out", tmp_path / "one")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == [f"{i:03d}.png" for i in range(5)] + ["grid.png"]

    (tmp_path / "test.json").write_text(json.dumps([["red hair", "blue eyes"], ["black hair", "green eyes"],
                                                    ["pink hair", "aqua eyes"]]))
    proc = sample(run / "checkpoints" / "last.ckpt", "--cond-file", tmp_path / "test.json", "--out", tmp_path / "f")
    assert proc.returncode == 0, proc.stderr[-2000:]
    written = {p.name for p in (tmp_path / "f").iterdir()}
    assert {"000.png", "001.png", "002.png", "grid.png", "accuracy.json"} <= written
    accuracy = json.loads((tmp_path / "f" / "accuracy.json").read_text())
    assert 0 <= accuracy["accuracy"] <= 1 and "hair" in accuracy

    proc = sample(run, "--cond", "blue hair", "--out", tmp_path / "bad")
    assert proc.returncode != 0 and "must name exactly one eyes value" in proc.stderr

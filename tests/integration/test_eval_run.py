"""Evaluation inside real (smoke) runs: metrics, best checkpoint, pictures, and the sample CLI.

Its pure tests: tests/unit/test_eval_run_rules.py.
Its tests that start processes: tests/e2e/test_sample_cli.py."""

import json

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


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

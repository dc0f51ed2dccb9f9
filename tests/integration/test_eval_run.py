"""Evaluation inside real (smoke) runs: metrics, best checkpoint, pictures, and the sample CLI.

Its pure tests: tests/unit/test_eval_run_rules.py.
Its tests that start processes: tests/e2e/test_sample_cli.py."""

import json

import torch
from conftest import make_config
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ganexp.build import build_data, build_module
from ganexp.eval.images import LOOK_BANK, ImageEvaluation


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


def test_look_agreement_is_measured_on_its_bank(cgan_run):
    """cond/looks_* (report 001's "same noise keeps the face" and "other noise, another face") at every
    evaluation, from a bank in which each block of 12 images shares one noise vector and one held-out condition
    and runs through the 12 hair colours."""
    run, _ = cgan_run
    evals = json.loads((run / "metrics.json").read_text())["evals"]
    for e in evals:
        assert 0 <= e["cond/looks_same_noise"] <= 1 and 0 <= e["cond/looks_same_tags"] <= 1
    cfg = make_config("debug=smoke", "model=cgan")
    data = build_data(cfg)
    evaluation = ImageEvaluation(data, run, 4, "fid_eval")
    module = build_module(cfg, data)
    evaluation.real_labels = data.heldout_images[1]
    assert evaluation.look_bank_of(module) is None  # no look evaluator: not data with looks
    evaluation.look_evaluator = object()
    z, labels, (b, r) = evaluation.look_bank_of(module)
    assert (b, r) == (2, 2)  # the smoke run's 32 held-out images: 2 x 2 x 12 = 48 images, not 8 x 8 x 12
    z, labels = z.view(b, r, 12, -1), labels.view(b, r, 12, -1)
    assert (z == z[:, :, :1]).all() and not (z[:, :1] == z[:, 1:2]).all(-1).any()  # one noise a row, rows differ
    assert (labels[..., 0] == torch.arange(12)).all()  # every hair colour in each row
    assert (labels[..., 1:] == evaluation.real_labels[:b, None, None, 1:]).all()  # the rest: the block's condition
    evaluation.real_labels = torch.zeros(1000, 2, dtype=torch.long)  # the faces' default 1,000: 8 x 8 (768 images)
    assert evaluation.look_bank_of(module)[2] == (LOOK_BANK, LOOK_BANK) == (8, 8)

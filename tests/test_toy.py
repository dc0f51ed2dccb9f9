"""The 2-D mixture benchmark: centres, the mode scores against hand-counted samples, and a real toy run."""

import json
import math

import torch
from conftest import make_config
from torch.testing import assert_close

from ganexp.data.toy import mixture_centers, mode_scores, sample_mixture
from ganexp.train import main as train


def test_centres():
    ring = mixture_centers("ring")
    assert ring.shape == (8, 2)
    assert_close(ring.norm(dim=1), torch.full((8,), 2.0))
    assert_close(ring[2], torch.tensor([0.0, 2.0]), atol=1e-6, rtol=0)
    grid = mixture_centers("grid")
    assert grid.shape == (25, 2) and set(grid[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}


def test_mode_scores_hand_counted():
    centres = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]])
    std = 0.1  # high quality: within 0.3 of the nearest centre
    points = torch.tensor([[0.1, 0.0]] * 3 + [[2.0, 0.25]] * 1 + [[1.0, 1.0]] * 4)  # 3 + 1 good, 4 bad
    scores = mode_scores(points, centres, std, min_count=2)
    assert scores["modes"] == 1  # mode 0 has 3 >= 2 good samples, mode 1 only one, mode 2 none
    assert scores["high_quality"] == 0.5
    # good samples spread 3/4, 1/4, 0 over 3 modes: KL to uniform = 3/4 ln(9/4) + 1/4 ln(3/4)
    assert math.isclose(scores["mode_kl"], 0.75 * math.log(9 / 4) + 0.25 * math.log(3 / 4), rel_tol=1e-6)


def test_real_data_scores_perfectly():
    for kind, n_modes in (("ring", 8), ("grid", 25)):
        points, modes = sample_mixture(kind, 2500, 0.02, seed=0)
        scores = mode_scores(points, mixture_centers(kind), 0.02)
        assert scores["modes"] == n_modes and scores["high_quality"] > 0.98 and scores["mode_kl"] < 0.01
        assert torch.equal(torch.cdist(points, mixture_centers(kind)).argmin(1), modes)


def test_toy_run_learns_some_modes_and_writes_scatter_plots(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(make_config("model=toy", "data=toy_ring", "trainer.max_iters=1500", "eval.every_n_steps=500",
                      "monitor=toy/high_quality", "trainer.progress=false"))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert [e["iteration"] for e in metrics["evals"]] == [500, 1000, 1500]
    # from a blob far from the ring to samples on it (seed 0 reaches 3 modes and ~half high quality by 1,500)
    assert metrics["final"]["toy/modes"] >= 2 and metrics["final"]["toy/high_quality"] > 0.2
    assert metrics["best"]["metric"] == "toy/high_quality"
    assert (tmp_path / "samples" / "progress.png").exists() and (tmp_path / "samples" / "iter_001500.png").exists()

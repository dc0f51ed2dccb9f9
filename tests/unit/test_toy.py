"""The 2-D mixture benchmark: the protocol's modes, data and networks (PacGAN's reference code), the scores against
hand-counted samples, and a real toy run.

Its in-process runs and builds: tests/integration/test_toy_runs.py."""

import math

import pytest
import torch
from conftest import CONF
from hydra import compose, initialize_config_dir
from torch import nn
from torch.testing import assert_close

from ganexp.data.toy import mixture_centers, mode_scores, sample_mixture
from ganexp.nets.mlp import Maxout, MLPDiscriminator, MLPGenerator, linear
from ganexp.schema import register

RING = mixture_centers("ring")


def test_centres():
    assert RING.shape == (8, 2)
    assert_close(RING.norm(dim=1), torch.ones(8))  # radius 1
    assert_close(RING[0], torch.tensor([1.0, 0.0]))
    assert_close(RING[2], torch.tensor([0.0, 1.0]), atol=1e-6, rtol=0)
    assert_close(RING[1], torch.tensor([0.5, 0.5]).sqrt())
    grid = mixture_centers("grid")
    assert grid.shape == (25, 2) and set(grid[:, 0].tolist()) == set(grid[:, 1].tolist()) == {-4, -2, 0, 2, 4}
    assert len(set(map(tuple, grid.tolist()))) == 25


# ---------------------------------------------------------------------------------------------------------- scores
def test_half_the_modes_evenly_and_far_points():
    on_modes = RING[[0, 2, 4, 6]].repeat_interleave(25, 0)  # 4 of 8 modes, 25 samples each
    scores = mode_scores(on_modes, RING, std=0.01)
    assert scores["modes"] == 4 and scores["high_quality"] == 1.0
    assert math.isclose(scores["reverse_kl"], math.log(2), rel_tol=1e-9)  # sum 1/4 log((1/4) / (1/8)) over 4 modes
    # as many samples at the centre (100 std from every mode): half the samples are not high quality, and they
    # count in no mode, so the modes and the reverse KL stay the same
    scores = mode_scores(torch.cat([on_modes, torch.zeros(100, 2)]), RING, std=0.01)
    assert scores["modes"] == 4 and scores["high_quality"] == 0.5
    assert math.isclose(scores["reverse_kl"], math.log(2), rel_tol=1e-9)


def test_even_spread_has_zero_reverse_kl_and_uneven_the_hand_computed_one():
    scores = mode_scores(RING.repeat(10, 1) + 0.005, RING, std=0.01)  # 10 on each mode, 0.71 std off
    assert scores["modes"] == 8 and scores["high_quality"] == 1.0 and abs(scores["reverse_kl"]) < 1e-12
    centres = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]])
    points = torch.tensor([[0.1, 0.0]] * 3 + [[2.0, 0.25]] + [[1.0, 1.0]] * 4)  # 3 + 1 good (std 0.1), 4 bad
    scores = mode_scores(points, centres, std=0.1)
    assert scores["modes"] == 2 and scores["high_quality"] == 0.5  # one high-quality sample captures a mode
    # the good samples spread 3/4, 1/4, 0 over 3 modes: 3/4 ln(9/4) + 1/4 ln(3/4)
    assert math.isclose(scores["reverse_kl"], 0.75 * math.log(9 / 4) + 0.25 * math.log(3 / 4), rel_tol=1e-9)


def test_high_quality_is_strictly_within_three_std():
    centre = torch.zeros(1, 2)
    assert mode_scores(torch.tensor([[1.5, 0.0]]), centre, std=0.5)["modes"] == 0  # exactly 3 std: not
    assert mode_scores(torch.tensor([[1.49, 0.0]]), centre, std=0.5)["modes"] == 1
    assert mode_scores(torch.tensor([[0.0, -1.49]]), centre, std=0.5)["high_quality"] == 1.0
    none = mode_scores(torch.tensor([[9.0, 9.0]]), centre, std=0.5)
    assert none["modes"] == 0 and none["high_quality"] == 0 and math.isnan(none["reverse_kl"])


@pytest.mark.parametrize(("kind", "std"), [("ring", 0.01), ("grid", 0.05)])
def test_real_data_scores_as_its_gaussians_say(kind, std):
    points, modes = sample_mixture(kind, 2500, std, seed=0)
    scores = mode_scores(points, mixture_centers(kind), std)
    assert scores["modes"] == len(mixture_centers(kind)) and scores["reverse_kl"] < 0.01
    # a 2-D Gaussian puts 1 - exp(-9/2) = 98.9% of its mass within 3 std (one std of that share: 0.2%)
    assert abs(scores["high_quality"] - (1 - math.exp(-4.5))) < 0.007
    assert torch.equal(torch.cdist(points, mixture_centers(kind)).argmin(1), modes)


# ---------------------------------------------------------------------------------------------- the networks
def test_maxout_takes_the_largest_of_consecutive_pieces():
    layer = nn.Linear(2, 4)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]))
        layer.bias.zero_()
    out = Maxout(layer, pieces=2)(torch.tensor([[3.0, -2.0], [-1.0, 0.5]]))
    # pieces (3, -2 | -3, 2) and (-1, 0.5 | 1, -0.5)
    assert_close(out, torch.tensor([[3.0, 2.0], [0.5, 1.0]]))


def test_maxout_discriminator_sizes_and_gradients():
    d = MLPDiscriminator(width=200, depth=3, norm="none", maxout=5, init_std=0.02)
    assert [m.linear.out_features for m in d.trunk] == [1000, 1000, 1000] and d.feature_size == 200
    assert sum(p.numel() for p in d.parameters()) == (2 * 1000 + 1000) + 2 * (200 * 1000 + 1000) + 201
    x = torch.randn(7, 2, requires_grad=True)
    assert d(x).shape == (7,) and d.features(x).shape == (7, 200)
    d(x).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in d.parameters())
    packed = MLPDiscriminator(width=200, depth=3, norm="spectral", maxout=5, pack=3)
    assert packed.trunk[0].linear.in_features == 6 and packed(torch.randn(4, 6)).shape == (4,)
    relu = MLPDiscriminator(width=16, depth=2, norm="none", maxout=0)  # ReLU units
    assert any(isinstance(m, nn.ReLU) for m in relu.trunk) and relu(torch.randn(3, 2)).shape == (3,)


def test_generator_batch_norm_and_initialisation():
    g = MLPGenerator(z_dim=2, width=400, depth=4, batch_norm=True, init_std=0.02)
    linears = [m for m in g.net if isinstance(m, nn.Linear)]
    norms = [m for m in g.net if isinstance(m, nn.BatchNorm1d)]
    assert [m.bias is None for m in linears] == [True] * 4 + [False]  # BatchNorm's shift replaces the bias
    assert len(norms) == 4 and all(n.eps == 1e-4 and n.momentum == 0.05 for n in norms)
    assert abs(linears[1].weight.std().item() - 0.02) < 0.001 and torch.count_nonzero(linears[-1].bias) == 0
    assert g(torch.randn(5, 2)).shape == (5, 2)
    plain = linear(400, 400, init_std=None)  # torch's default: uniform within 1/sqrt(400)
    assert plain.weight.abs().max() <= 0.05 and torch.count_nonzero(plain.bias) > 0


def test_toy_modes_experiment_sweeps_every_loss_and_five_seeds():
    register()
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("config", ["+experiment=toy_modes"], return_hydra_config=True)
    params = cfg.hydra.sweeper.params
    assert set(params.data.split(",")) == {"toy_ring", "toy_grid"}
    assert set(params.loss.split(",")) == {"gan", "lsgan", "hinge", "wgan", "gp"}
    assert len(set(params.seed.split(","))) >= 5
    # the protocol as the data and model files set it, run as long as the reference (400 epochs of 1,000 batches)
    assert cfg.model.generator.width == 400 and cfg.data.batch_size == 100 and cfg.trainer.max_iters == 400_000

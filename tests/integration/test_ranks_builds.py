"""What the ranks of a DDP run agree on, checked on one CPU process with the collective calls replaced by what they
return on two ranks (the real two-process run: tests/e2e/test_launchers.py::test_ddp_over_two_cpu_processes).

The in-process runs and builds of this subject; the others are in tests/unit/test_ranks.py."""

import math
from types import SimpleNamespace

import pytest
import torch
from conftest import make_config

from ganexp.build import build_data, build_module
from ganexp.guard import Diverged
from ganexp.ranks import worst_over_ranks


class TwoRanks:
    """A module's view of a 2-rank run: all_gather returns the two ranks' values."""

    def __init__(self, *values: float):
        self._trainer = SimpleNamespace(world_size=len(values))
        self.values = torch.tensor(values)

    @property
    def trainer(self):
        return self._trainer

    def all_gather(self, value):
        return self.values


def test_the_guard_sees_the_worst_rank_so_every_rank_stops_together():
    assert worst_over_ranks(TwoRanks(0.5, -3.0), torch.tensor(0.5)) == -3.0  # the largest in magnitude
    assert math.isnan(worst_over_ranks(TwoRanks(0.5, math.nan), torch.tensor(0.5)))  # rank 1's NaN stops rank 0
    assert worst_over_ranks(TwoRanks(2.0), torch.tensor(2.0)) == 2.0
    module = build_module(*(lambda cfg: (cfg, build_data(cfg)))(make_config("debug=smoke")))
    module._trainer = SimpleNamespace(world_size=2)  # what all_gather would return on the two ranks
    module.all_gather = lambda value: torch.stack([value, torch.tensor(math.inf)])
    with pytest.raises(Diverged, match="loss/d=inf at iteration 0"):
        module.check("loss/d", torch.tensor(0.7))


def test_bf16_autocast_scores_and_losses_are_logged_in_fp32():
    cfg = make_config("debug=smoke", "loss=wgan")
    module = build_module(cfg, build_data(cfg))
    real, fake = torch.rand(8, 3, 32, 32) * 2 - 1, torch.rand(8, 3, 32, 32) * 2 - 1
    with torch.autocast("cpu", dtype=torch.bfloat16):
        scores, _ = module.judge(real)
        module.d_loss(real, torch.zeros(8, 2, dtype=torch.long), fake, torch.zeros(8, 2, dtype=torch.long),
                      torch.randn(8, module.z_dim))
    assert scores.dtype == torch.float32
    for name in ("d/real", "d/fake", "wasserstein", "loss/d"):
        assert module._last[name].dtype == torch.float32, name

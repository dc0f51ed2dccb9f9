"""What the ranks of a DDP run agree on, checked on one CPU process with the collective calls replaced by what they
return on two ranks (the real two-process run: tests/test_launchers.py::test_ddp_over_two_cpu_processes)."""

import math
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from conftest import ROOT, make_config

from ganexp.build import build_data, build_module
from ganexp.checkpoint import Checkpointer
from ganexp.guard import Diverged
from ganexp.ranks import agree, rank_rng_state, worst_over_ranks


@pytest.mark.parametrize(("variable", "worker"), [("SLURM_PROCID", True), ("RANK", True), ("LOCAL_RANK", True),
                                                  ("NODE_RANK", True), ("SLURM_PROCID=0", False)])
def test_a_rank_above_0_is_recognised_however_it_was_started(variable, worker):
    """srun sets SLURM_PROCID only: its tasks above 0 used to take rank 0's path (lock, checks, status.json)."""
    name, _, value = variable.partition("=")
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "NODE_RANK")}
    env[name] = value or "1"
    out = subprocess.run([sys.executable, "-c", "from ganexp.ranks import launched_worker; print(launched_worker())"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.stdout.strip() == str(worker), out.stderr[-2000:]


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


def test_rank_0_decides_for_all():
    broadcast = []
    trainer = SimpleNamespace(world_size=2, strategy=SimpleNamespace(
        broadcast=lambda obj, src: broadcast.append((obj, src)) or "rank 0's"))
    assert agree(trainer, "mine") == "rank 0's" and broadcast == [("mine", 0)]
    assert agree(SimpleNamespace(world_size=1), "mine") == "mine" and agree(None, 3) == 3


def test_a_checkpoint_is_refused_on_every_rank_when_one_rank_holds_a_non_finite_value(tmp_path):
    """Saving is collective: rank 0 (finite) must stop with rank 1 (a NaN), not wait for it."""
    decisions = []
    module = SimpleNamespace(iteration=6, named_parameters=lambda: iter([("w", torch.ones(2))]),
                             named_buffers=lambda: iter([]), _last={})
    trainer = SimpleNamespace(world_size=2, lightning_module=module, optimizers=[], strategy=SimpleNamespace(
        reduce_boolean_decision=lambda decision, all: decisions.append((decision, all)) or True))
    with pytest.raises(Diverged, match="a state of another rank=nan at iteration 6"):
        Checkpointer(tmp_path, every=2).save(trainer)
    assert decisions == [(False, False)]  # this rank's verdict, joined with "any rank"
    assert not (tmp_path / "checkpoints").exists()


def test_each_rank_resumes_its_own_random_states():
    one, two = {"torch": "rank 0"}, {"torch": "rank 1"}
    ddp = {"ganexp_rng": one, "ganexp_rng_ranks": [one, two]}
    assert rank_rng_state(ddp, 1, 2) is two and rank_rng_state(ddp, 0, 2) is one
    assert rank_rng_state(ddp, 0, 1) is one  # a DDP checkpoint resumed on one process: rank 0's
    single = {"ganexp_rng": one}
    assert rank_rng_state(single, 0, 2) is one
    assert rank_rng_state(single, 1, 2) is None  # no state of its own: rank 1 keeps its per-rank seed


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


def test_a_gpu_gets_torchs_fused_or_foreach_optimizer_kernel_unless_the_config_says():
    from functools import partial

    from ganexp.runtime import optimizer_kernel

    gpu = torch.device("cuda", 0)
    assert optimizer_kernel(partial(torch.optim.Adam, lr=1e-3), gpu) == {"fused": True}
    assert optimizer_kernel(partial(torch.optim.SGD, lr=1e-3), gpu) == {"fused": True}
    assert optimizer_kernel(partial(torch.optim.RMSprop, lr=1e-3), gpu) == {"foreach": True}  # no fused RMSprop
    assert optimizer_kernel(partial(torch.optim.Adam, lr=1e-3, fused=False), gpu) == {}  # the config wins
    assert optimizer_kernel(partial(torch.optim.Adam, lr=1e-3), torch.device("cpu")) == {}


def test_weight_clipping_clamps_every_critic_parameter_into_the_box():
    from ganexp.losses import WGAN

    params = [torch.nn.Parameter(torch.tensor([-0.5, 0.003, 0.2])), torch.nn.Parameter(torch.tensor([[0.02, -0.011]]))]
    WGAN(clip=0.01).after_d_step(params)
    assert torch.equal(params[0].data, torch.tensor([-0.01, 0.003, 0.01]))
    assert torch.equal(params[1].data, torch.tensor([[0.01, -0.01]]))

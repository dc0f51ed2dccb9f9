"""What the ranks of a DDP run agree on, checked on one CPU process with the collective calls replaced by what they
return on two ranks (the real two-process run: tests/e2e/test_launchers.py::test_ddp_over_two_cpu_processes).

Its in-process runs and builds: tests/integration/test_ranks_builds.py.
Its tests that start processes: tests/e2e/test_rank_processes.py."""

from types import SimpleNamespace

import pytest
import torch

from ganexp.checkpoint import Checkpointer
from ganexp.guard import Diverged
from ganexp.ranks import agree, rank_rng_state


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

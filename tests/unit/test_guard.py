"""The divergence guard: patience counted per loss, driven step by step with hand-built losses; and no checkpoint
with a state that is not finite, in tiny runs with a NaN injected between two checks.

Its in-process runs and builds: tests/integration/test_guard_runs.py."""

import math
from types import SimpleNamespace

import pytest
import torch

from ganexp.checkpoint import state_tensors
from ganexp.guard import Diverged, check_loss, first_nonfinite


def drive(checks: list[tuple[str, float]], max_loss: float = 1.0, patience: int = 3):
    """Run `checks` (loss name, value) through the guard in order: the counts after each, and where it tripped
    (the check's index and the Diverged) or None."""
    over, counts = {}, []
    for i, (name, value) in enumerate(checks):
        try:
            check_loss(over, i, name, value, max_loss, patience)
        except Diverged as err:
            return counts, (i, err)
        counts.append(dict(over))
    return counts, None


def test_d_stuck_above_the_limit_trips_however_well_g_behaves():
    # D at 2.0 (above 1.0) on every check, G at 0.5: one shared counter was reset by every G check and never tripped
    checks = [("loss/d", 2.0), ("loss/g", 0.5)] * 3
    counts, tripped = drive(checks)
    assert counts == [{"loss/d": 1}, {"loss/d": 1, "loss/g": 0}, {"loss/d": 2, "loss/g": 0},
                      {"loss/d": 2, "loss/g": 0}]
    index, err = tripped
    assert index == 4 and (err.name, err.value, err.iteration) == ("loss/d", 2.0, 4)  # D's third check


def test_a_check_below_the_limit_resets_that_loss_only():
    checks = [("loss/d", 5.0), ("loss/g", 5.0), ("loss/d", 0.1), ("loss/g", 5.0), ("loss/d", 5.0), ("loss/g", 5.0)]
    counts, tripped = drive(checks)
    assert [c.get("loss/d") for c in counts] == [1, 1, 0, 0, 1]
    assert [c.get("loss/g") for c in counts] == [None, 1, 1, 2, 2]
    assert tripped[0] == 5 and tripped[1].name == "loss/g"  # G's third check in a row above the limit


def test_the_limit_is_on_the_magnitude_and_is_strict():
    # a WGAN critic's loss is negative: -2 is as far off as 2; a loss at the limit exactly is not above it
    counts, tripped = drive([("loss/d", -2.0), ("loss/d", 1.0), ("loss/d", -2.0), ("loss/d", -2.0)], patience=2)
    assert counts == [{"loss/d": 1}, {"loss/d": 0}, {"loss/d": 1}]
    assert tripped[0] == 3


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_loss_trips_at_once_whatever_the_patience(bad):
    counts, tripped = drive([("loss/g", 0.5), ("loss/d", bad)], patience=100)
    assert counts == [{"loss/g": 0}] and tripped[0] == 1 and tripped[1].name == "loss/d"
    assert str(tripped[1]) == f"loss/d={bad:.6g} at iteration 1"


def test_patience_one_trips_at_the_first_check_above():
    assert drive([("loss/pixel", 1.5)], patience=1)[1][0] == 0


def test_state_tensors_cover_weights_optimizer_state_and_losses():
    net = torch.nn.Linear(2, 1)
    optimizer = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    module = SimpleNamespace(named_parameters=net.named_parameters, named_buffers=net.named_buffers,
                             _last={"loss/d": torch.tensor(0.7)})
    trainer = SimpleNamespace(lightning_module=module, optimizers=[optimizer])
    assert first_nonfinite(state_tensors(trainer)) is None
    optimizer.state[net.bias]["exp_avg_sq"].fill_(math.inf)
    assert first_nonfinite(state_tensors(trainer)) == ("optimizer 0 exp_avg_sq", math.inf)
    optimizer.state[net.bias]["exp_avg_sq"].fill_(1.0)
    module._last["loss/g"] = torch.tensor(math.nan)
    name, value = first_nonfinite(state_tensors(trainer))
    assert name == "loss/g" and math.isnan(value)
    net.weight.data[0, 1] = -math.inf
    assert first_nonfinite(state_tensors(trainer)) == ("weight", -math.inf)

"""The divergence guard: patience counted per loss, driven step by step with hand-built losses; and no checkpoint
with a state that is not finite, in tiny runs with a NaN injected between two checks."""

import json
import math
from types import SimpleNamespace

import pytest
import torch
from conftest import make_config

from ganexp.checkpoint import state_tensors
from ganexp.guard import Diverged, check_loss, first_nonfinite
from ganexp.train import main as train

SMOKE = ["debug=smoke", "eval.enabled=false"]


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


@pytest.mark.parametrize("max_iters, poisoned_at, stopped_at, kept", [
    (12, 6, 8, 4),  # caught by the periodic save of iteration 8 (ckpt_every=4)
    (10, 9, 10, 8),  # caught by the save at the end of the run
])
def test_a_nan_between_checks_is_never_saved(tmp_path, monkeypatch, max_iters, poisoned_at, stopped_at, kept):
    """guard.every=5 checks the losses of iterations 0, 5, 10 only: G's loss turned NaN in an iteration between
    (its step makes G's weights NaN) must not reach last.ckpt. The next save refuses it and ends the run as
    diverged; last.ckpt keeps the last good checkpoint, with only finite numbers."""
    from ganexp.modules.base import GANModule

    monkeypatch.chdir(tmp_path)
    original = GANModule.g_loss

    def poisoned(self, fake, fake_labels, z):
        loss = original(self, fake, fake_labels, z)
        return loss * math.nan if self.iteration == poisoned_at else loss

    monkeypatch.setattr(GANModule, "g_loss", poisoned)
    metric = train(make_config(*SMOKE, "guard.every=5", f"trainer.max_iters={max_iters}"))
    assert math.isnan(metric)
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["status"] == "diverged", status
    assert status["diverged"]["iteration"] == stopped_at and status["diverged"]["checkpoint"] == kept
    assert status["diverged"]["loss"].startswith("generator.") and status["diverged"]["value"] == "nan"
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["ganexp_counters"]["iteration"] == kept
    tensors = [*ckpt["state_dict"].values(),
               *(v for opt in ckpt["optimizer_states"] for s in opt["state"].values() for v in s.values())]
    assert tensors and all(torch.isfinite(t).all() for t in tensors if torch.is_tensor(t) and t.is_floating_point())
    assert f"last.ckpt keeps iteration {kept}, the last good one" in (tmp_path / "run.log").read_text()


def test_a_run_diverged_before_its_first_checkpoint_says_none_was_saved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(make_config(*SMOKE, "guard.max_loss=1.0", "guard.patience=1"))  # D's BCE loss ~1.4 at its first check
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["diverged"]["iteration"] == 0 and status["diverged"]["checkpoint"] is None
    assert not (tmp_path / "checkpoints" / "last.ckpt").exists()
    assert "no checkpoint was saved" in (tmp_path / "run.log").read_text()

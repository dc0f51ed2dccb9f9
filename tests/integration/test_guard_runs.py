"""The divergence guard: patience counted per loss, driven step by step with hand-built losses; and no checkpoint
with a state that is not finite, in tiny runs with a NaN injected between two checks.

The in-process runs and builds of this subject; the others are in tests/unit/test_guard.py."""

import json
import math

import pytest
import torch
from conftest import SMOKE, make_config

from ganexp.train import main as train


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

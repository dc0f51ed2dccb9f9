"""Evaluation inside real (smoke) runs: metrics, best checkpoint, pictures, and the sample CLI.

The pure tests (no training run, no subprocess) of this subject; the others are in
tests/integration/test_eval_run.py."""

from ganexp.metrics import better


def test_better_knows_direction():
    assert better("fid_eval", 1.0, 2.0) and not better("fid_eval", 3.0, 2.0)
    assert better("acc/cond", 0.9, 0.5) and better("collapse/class_coverage", 1.0, None)

"""Evaluation inside real (smoke) runs: metrics, best checkpoint, pictures, and the sample CLI.

The tests that start processes of this subject; the others are in tests/integration/test_eval_run.py."""

import json

from conftest import ROOT
from helpers.in_process import Forked, run_tool


def sample(*args) -> tuple[int, str]:
    """`python -m ganexp.sample args` as a process of its own (forked: without a second interpreter's start-up)."""
    proc = Forked([str(a) for a in args], ROOT, module="ganexp.sample")
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def test_sample_cli_writes_requested_images(cgan_run, tmp_path, capfd):
    """The first command in a process of its own (`python -m`: the module's `__main__` block); the others in this
    process (the tool's own code path and its one error line)."""
    run, _ = cgan_run
    code, err = sample(run, "--cond", "blue hair red eyes", "-n", 5, "--out", tmp_path / "one")
    assert code == 0, err[-2000:]
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == [f"{i:03d}.png" for i in range(5)] + ["grid.png"]

    (tmp_path / "test.json").write_text(json.dumps([["red hair", "blue eyes"], ["black hair", "green eyes"],
                                                    ["pink hair", "aqua eyes"]]))
    proc = run_tool("sample", [str(run / "checkpoints" / "last.ckpt"), "--cond-file", str(tmp_path / "test.json"),
                               "--out", str(tmp_path / "f")], capfd)
    assert proc.code == 0, proc.err[-2000:]
    written = {p.name for p in (tmp_path / "f").iterdir()}
    assert {"000.png", "001.png", "002.png", "grid.png", "accuracy.json"} <= written
    accuracy = json.loads((tmp_path / "f" / "accuracy.json").read_text())
    assert 0 <= accuracy["accuracy"] <= 1 and "hair" in accuracy

    proc = run_tool("sample", [str(run), "--cond", "blue hair", "--out", str(tmp_path / "bad")], capfd)
    assert proc.code != 0 and "must name exactly one eyes value" in proc.err

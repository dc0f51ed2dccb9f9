"""The techniques GAN codebases treat as standard, each checked against its maths: R1, generator EMA, truncation.

The sample CLI's truncation grid, run in this process (the tool's own code path; the CLI as a process of its own:
tests/e2e/test_sample_cli.py); the others are in tests/unit/test_toolkit.py."""

from conftest import make_config
from helpers.in_process import run_tool
from PIL import Image

from ganexp.train import main as train


def test_sample_cli_truncation_grid(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    train(make_config("debug=smoke", "eval.enabled=false"))
    out = run_tool("sample", [str(tmp_path), "-n", "6", "--truncation", "0.7", "--out", str(tmp_path / "s")], capfd)
    assert out.code == 0, out.err[-2000:]
    grid = Image.open(tmp_path / "s" / "truncation.png")
    assert grid.size[1] > grid.size[0] / 6 * 4  # five rows (psi 0.25 ... 2.0) of six images

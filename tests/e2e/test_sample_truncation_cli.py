"""The techniques GAN codebases treat as standard, each checked against its maths: R1, generator EMA, truncation.

The tests that start processes of this subject; the others are in tests/unit/test_toolkit.py."""

from conftest import make_config

from ganexp.train import main as train


def test_sample_cli_truncation_grid(tmp_path, monkeypatch):
    import subprocess
    import sys

    from conftest import ROOT
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    train(make_config("debug=smoke", "eval.enabled=false"))
    out = subprocess.run([sys.executable, "-m", "ganexp.sample", str(tmp_path), "-n", "6", "--truncation", "0.7",
                          "--out", str(tmp_path / "s")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    grid = Image.open(tmp_path / "s" / "truncation.png")
    assert grid.size[1] > grid.size[0] / 6 * 4  # five rows (psi 0.25 ... 2.0) of six images

"""The user-file data options run end to end: `python run.py data=<format> data.root=<folder>` trains on a small
fixture of each real format, and a broken file stops the run at start-up naming the file and line.

The tests that start processes of this subject; the others are in tests/integration/test_file_runs.py."""

import subprocess
import sys

from conftest import ROOT
from helpers.format_folders import anime


def test_a_broken_tag_file_stops_the_run_naming_file_and_line(tmp_path):
    root = tmp_path / "data"
    anime(root)
    lines = (root / "tags_clean.csv").read_text().splitlines()
    lines[6] = "6 blue hair red eyes"  # no comma after the id
    (root / "tags_clean.csv").write_text("\n".join(lines) + "\n")
    out = subprocess.run([sys.executable, str(ROOT / "run.py"), "debug=smoke", "model=cgan", "data=anime",
                          f"data.root={root}", f"hydra.run.dir={tmp_path / 'run'}"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith(f"error: {root / 'tags_clean.csv'} line 7")
    assert not (tmp_path / "run" / "status.json").exists()  # stopped before the run folder was touched

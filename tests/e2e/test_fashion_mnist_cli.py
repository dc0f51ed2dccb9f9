"""data=fashion_mnist on small IDX files written here (never the installed package): what loading gives, where the
files are looked for, one line per bad file, the held-out reals and the evaluator's test set being the test split,
and a tiny run of every image model.

The tests that start processes of this subject; the others are in tests/integration/test_fashion_mnist.py."""

import subprocess
import sys

from conftest import ROOT
from helpers.fashion_files import N_TEST, write_fashion


def test_a_damaged_gzip_file_stops_the_run_with_one_line_before_the_run_folder(tmp_path):
    folder = write_fashion(tmp_path / "fm", gz=True)
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    out = subprocess.run([sys.executable, str(ROOT / "run.py"), "debug=smoke", "model=cgan", "data=fashion_mnist",
                          f"data.root={folder}", f"data.holdout={N_TEST}", f"data.cache_dir={tmp_path / 'cache'}",
                          f"hydra.run.dir={tmp_path / 'run'}"], capture_output=True, text=True, cwd=tmp_path,
                         timeout=300)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith(f"error: {path}: damaged gzip file")
    assert not (tmp_path / "run" / "status.json").exists()

"""data=fashion_mnist on small IDX files written here (never the installed package): what loading gives, where the
files are looked for, one line per bad file, the held-out reals and the evaluator's test set being the test split,
and a tiny run of every image model.

Its pure tests: tests/unit/test_fashion_mnist_files.py."""

import json
import math
from pathlib import Path

import pytest
import torch
from conftest import image_models, make_config
from helpers.fashion_files import N_TEST, N_TRAIN, pattern, write_fashion
from helpers.in_process import run_py
from torch.testing import assert_close

from ganexp.build import build_data
from ganexp.data import fashion_mnist as fm
from ganexp.data.module import to_float
from ganexp.train import main as train


def config(root: Path, *overrides: str, cache: Path | None = None):
    extra = [f"data.cache_dir={cache}"] if cache else []
    return make_config("debug=smoke", "data=fashion_mnist", f"data.root={root}", f"data.holdout={N_TEST}", *extra,
                       *overrides)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzipped"])
def test_loading_pads_to_32_scales_to_minus_one_one_and_keeps_the_split(gz, tmp_path):
    datamodule = build_data(config(write_fashion(tmp_path / "fm", gz=gz), cache=tmp_path / "cache"))
    data = datamodule.load()
    assert data.images.shape == (N_TRAIN + N_TEST, 3, 32, 32) and data.images.dtype == torch.uint8
    assert data.test_split == N_TEST
    assert data.attributes == [("class", ["t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                                          "sneaker", "bag", "ankle boot"])]
    train_images, train_labels = datamodule.train_images
    held_images, held_labels = datamodule.heldout_images
    # trained on the training file in its order, held out the test file (all 20 images) in its order
    assert train_labels[:, 0].tolist() == [i % 10 for i in range(N_TRAIN)]
    assert held_labels[:, 0].tolist() == [(j + 3) % 10 for j in range(N_TEST)]
    assert torch.equal(train_images[:, 0, 2:30, 2:30], pattern(N_TRAIN, 0))
    assert torch.equal(held_images[:, 0, 2:30, 2:30], pattern(N_TEST, 1000))
    assert torch.equal(data.images[:, 1], data.images[:, 0]) and torch.equal(data.images[:, 2], data.images[:, 0])
    x = to_float(train_images)
    # 2 px of background (0 -> -1) on every side; training image 3's pixel (row 5, column 7) = 7*3 + 3*5 + 7 = 43
    assert (x[:, :, :2] == -1).all() and (x[:, :, 30:] == -1).all()
    assert (x[:, :, :, :2] == -1).all() and (x[:, :, :, 30:] == -1).all()
    assert_close(x[3, :, 2 + 5, 2 + 7], torch.full((3,), 43 / 127.5 - 1))
    assert x.min().item() == -1.0 and x.max().item() == 1.0  # the pattern reaches 255


def test_a_smaller_holdout_is_a_fixed_part_of_the_test_split_and_never_trained_on(tmp_path):
    folder = write_fashion(tmp_path / "fm")
    datamodule = build_data(config(folder, "data.holdout=8", cache=tmp_path / "cache"))
    train_images, _ = datamodule.train_images
    held_images, _ = datamodule.heldout_images
    assert len(train_images) == N_TRAIN and len(held_images) == 8 and datamodule.load().test_split == 8
    assert torch.equal(train_images[:, 0, 2:30, 2:30], pattern(N_TRAIN, 0))  # no test image among them
    tests = pattern(N_TEST, 1000)
    picked = [next(j for j in range(N_TEST) if torch.equal(tests[j], image[0, 2:30, 2:30])) for image in held_images]
    assert picked == sorted(set(picked))  # distinct test images, in file order
    again = build_data(config(folder, "data.holdout=8", cache=tmp_path / "cache")).heldout_images[0]
    assert torch.equal(again, held_images)  # the same choice every time
    # more than the test split's 20: the hostile table's row "data: fashion_mnist, a holdout above its test split"


def test_cgan_run_trains_on_the_training_files_and_judges_with_the_test_split(tmp_path, monkeypatch):
    folder, cache = write_fashion(tmp_path / "fm", gz=True), tmp_path / "cache"
    monkeypatch.chdir(tmp_path)
    metric = train(config(folder, "model=cgan", cache=cache))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["iterations"] == 8 and math.isfinite(metric)
    assert {"acc/cond", "acc/cond/class", "fid_eval"} <= set(metrics["final"])
    official = f"{N_TEST} held-out real images (data.holdout, of the official test split)"
    assert metrics["measured_with"]["reference"] == official
    # the evaluator: trained on the 40 training images, its accuracy measured on the 20 test images
    (saved,) = [torch.load(p, weights_only=True) for p in cache.glob("evaluator-*.pt")]
    key = json.loads(saved["key"])
    assert key["test"] == N_TEST and key["shape"] == [N_TRAIN, 3, 32, 32]
    from ganexp.eval.evaluator import Evaluator, accuracy

    model = Evaluator([10], False, key["width"], key["feature_dim"])
    model.load_state_dict(saved["state_dict"])
    test_images = fm.to_size(pattern(N_TEST, 1000), 32)
    test_labels = ((torch.arange(N_TEST) + 3) % 10)[:, None]
    assert saved["accuracy"] == accuracy(model.eval(), to_float(test_images), test_labels)
    assert metrics["measured_with"]["evaluator_accuracy"] == saved["accuracy"]  # in the run's own record


@pytest.mark.parametrize("model", [m for m in image_models() if m != "cgan"])  # ~7 s each on the CPU
def test_every_other_image_model_runs_on_it(model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(config(write_fashion(tmp_path / "fm"), f"model={model}"))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["iterations"] == 8
    assert ("acc/cond" in metrics["final"]) == (model == "acgan")  # dcgan and infogan ignore the labels


def test_a_damaged_gzip_file_stops_the_run_with_one_line_before_the_run_folder(tmp_path, monkeypatch, capfd):
    """`python run.py ...`'s code path in this process (its exit status and one error line; a data error in a fresh
    interpreter: the hostile suite's "data: missing data folder, in a real process")."""
    folder = write_fashion(tmp_path / "fm", gz=True)
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    monkeypatch.chdir(tmp_path)
    out = run_py(["debug=smoke", "model=cgan", "data=fashion_mnist", f"data.root={folder}", f"data.holdout={N_TEST}",
                  f"data.cache_dir={tmp_path / 'cache'}", f"hydra.run.dir={tmp_path / 'run'}"], monkeypatch, capfd)
    assert out.code == 2, out.err
    assert out.err.strip().splitlines()[-1].startswith(f"error: {path}: damaged gzip file")
    assert not (tmp_path / "run" / "status.json").exists()

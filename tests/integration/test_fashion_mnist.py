"""data=fashion_mnist on small IDX files written here (never the installed package): what loading gives, where the
files are looked for, one line per bad file, the held-out reals and the evaluator's test set being the test split,
and a tiny run of every image model."""

import gzip
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import ROOT, image_models, make_config
from torch.testing import assert_close
from torchvision.datasets.mnist import read_image_file, read_label_file

from ganexp.build import build_data
from ganexp.data import fashion_mnist as fm
from ganexp.data.module import to_float
from ganexp.errors import ConfigError, DataFileError
from ganexp.train import main as train

N_TRAIN, N_TEST = 40, 20


def pattern(n: int, first: int) -> torch.Tensor:
    """uint8 (n, 28, 28): image i (counted from `first`) has pixel (r, c) = (7 i + 3 r + c) mod 256."""
    i = torch.arange(first, first + n)[:, None, None]
    r, c = torch.arange(28)[None, :, None], torch.arange(28)[None, None, :]
    return ((7 * i + 3 * r + c) % 256).to(torch.uint8)


def idx_bytes(values: torch.Tensor) -> bytes:
    """An unsigned-byte IDX file: magic (0, 0, 0x08, dimensions), each size as a big-endian int32, then the data."""
    header = bytes([0, 0, 8, values.dim()]) + b"".join(n.to_bytes(4, "big") for n in values.shape)
    return header + values.contiguous().numpy().tobytes()


def write_idx(path: Path, values: torch.Tensor) -> Path:
    data = idx_bytes(values)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def write_fashion(folder: Path, gz: bool = False, n_train: int = N_TRAIN, n_test: int = N_TEST) -> Path:
    """The four files: training image i of class i % 10, test image j of class (j + 3) % 10."""
    folder.mkdir(parents=True, exist_ok=True)
    end = ".gz" if gz else ""
    write_idx(folder / f"train-images-idx3-ubyte{end}", pattern(n_train, 0))
    write_idx(folder / f"train-labels-idx1-ubyte{end}", (torch.arange(n_train) % 10).to(torch.uint8))
    write_idx(folder / f"t10k-images-idx3-ubyte{end}", pattern(n_test, 1000))
    write_idx(folder / f"t10k-labels-idx1-ubyte{end}", ((torch.arange(n_test) + 3) % 10).to(torch.uint8))
    return folder


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


def test_reader_agrees_with_torchvision_and_larger_sizes_upscale_the_padded_image(tmp_path):
    folder = write_fashion(tmp_path / "fm")
    images = fm.read_idx(folder / "t10k-images-idx3-ubyte", fm.IMAGES_MAGIC)
    labels = fm.read_idx(folder / "t10k-labels-idx1-ubyte", fm.LABELS_MAGIC)
    assert torch.equal(images, read_image_file(str(folder / "t10k-images-idx3-ubyte")))
    assert torch.equal(labels.long(), read_label_file(str(folder / "t10k-labels-idx1-ubyte")))
    big = fm.to_size(images, 64)
    # 4 px of background at 64 px; bilinear blends the inner one with the image: 3 stay 0
    assert big.shape == (N_TEST, 3, 64, 64) and (big[:, :, :3] == 0).all() and (big[:, :, :, -3:] == 0).all()
    assert (big[:, :, 3] > 0).any()


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
    with pytest.raises(ConfigError, match=r"data.holdout=21: .*test split.* has 20 images"):
        build_data(config(folder, "data.holdout=21", cache=tmp_path / "cache")).load()


def test_files_are_found_in_root_then_debian_then_the_cache_download(tmp_path, monkeypatch):
    debian, cache, mine = tmp_path / "debian", tmp_path / "cache", tmp_path / "mine"
    monkeypatch.setattr(fm, "DEBIAN_FOLDER", debian)
    with pytest.raises(DataFileError) as missing:
        fm.find_folder(None, cache)
    message = str(missing.value)
    assert "\n" not in message and "apt-get install dataset-fashion-mnist" in message
    assert "data.download=true" in message and str(debian) in message
    write_fashion(fm.download_folder(cache), gz=True)
    assert fm.find_folder(None, cache) == cache / "fashion_mnist" / "FashionMNIST" / "raw"
    write_fashion(debian, gz=True)
    assert fm.find_folder(None, cache) == debian
    write_fashion(mine)
    assert fm.find_folder(str(mine), cache) == mine
    write_fashion(tmp_path / "tv" / "FashionMNIST" / "raw")  # torchvision's own layout under data.root
    assert fm.find_folder(str(tmp_path / "tv"), cache) == tmp_path / "tv" / "FashionMNIST" / "raw"
    # a data.root given but wrong is an error naming it, not a silent fall-back to the installed copy
    (tmp_path / "half").mkdir()
    write_idx(tmp_path / "half" / "train-images-idx3-ubyte", pattern(2, 0))
    with pytest.raises(DataFileError, match=r"^data.root=.*half: missing train-labels-idx1-ubyte\[.gz\], t10k"):
        fm.find_folder(str(tmp_path / "half"), cache)
    with pytest.raises(DataFileError, match=r"^data.root=.*nowhere: no such folder"):
        fm.find_folder(str(tmp_path / "nowhere"), cache)


def test_download_puts_the_files_where_the_cache_is_looked_in(tmp_path, monkeypatch):
    """data.download=true calls torchvision's FashionMNIST(root=<cache>/fashion_mnist, download=True); here a
    stand-in writes what it writes (FashionMNIST/raw/*.gz) or fails as it fails without a network."""
    import torchvision.datasets

    monkeypatch.setattr(fm, "DEBIAN_FOLDER", tmp_path / "debian")
    calls = []

    class Offline:
        def __init__(self, root: str, train: bool, download: bool):
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried https://example/, got:\n"
                               "<urlopen error [Errno -3] Temporary failure in name resolution>")

    class Online:
        def __init__(self, root: str, train: bool, download: bool):
            calls.append((root, download))
            write_fashion(Path(root) / "FashionMNIST" / "raw", gz=True)

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", Offline)
    with pytest.raises(DataFileError, match=r"^data.download=true: .*\(<urlopen error .*name resolution>\)"):
        fm.find_folder(None, tmp_path / "cache", fetch=True)
    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", Online)
    folder = fm.find_folder(None, tmp_path / "cache", fetch=True)
    assert calls == [(str(tmp_path / "cache" / "fashion_mnist"), True)]
    assert folder == fm.download_folder(tmp_path / "cache") and fm.find_folder(None, tmp_path / "cache") == folder


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-100])


def lengthen(path: Path) -> None:
    path.write_bytes(path.read_bytes() + b"\0\0\0")


def wrong_magic(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[3] = 1  # a labels file's magic number (0x00000801) in an images file
    path.write_bytes(bytes(data))


BAD_FILES = {  # file, how it is spoiled, what the error says after naming it
    "wrong magic": ("train-images-idx3-ubyte", wrong_magic, r"not an IDX images file \(magic number 0x00000801, "
                                                            r"expected 0x00000803\)"),
    "truncated": ("train-images-idx3-ubyte", truncate, r"truncated \(31276 bytes; its header says 40 images"),
    "too long": ("t10k-images-idx3-ubyte", lengthen, r"3 bytes too long"),
    "empty": ("t10k-labels-idx1-ubyte", lambda p: p.write_bytes(b""), r"truncated \(0 bytes: not even"),
    "fewer labels": ("train-labels-idx1-ubyte", lambda p: write_idx(p, torch.zeros(39, dtype=torch.uint8)),
                     r"39 labels, but .*train-images-idx3-ubyte holds 40 images"),
    "label 10": ("t10k-labels-idx1-ubyte", lambda p: write_idx(p, torch.tensor([1] * 5 + [10] * 15, dtype=torch.uint8)),
                 r"label 10 at item 5 \(labels are 0-9\)"),
    "27 px": ("t10k-images-idx3-ubyte", lambda p: write_idx(p, pattern(N_TEST, 0)[:, :27, :27]),
              r"images of 27x27 pixels"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_each_bad_file_is_one_line_naming_it(case, tmp_path):
    name, spoil, says = BAD_FILES[case]
    folder = write_fashion(tmp_path / "fm")
    spoil(folder / name)
    with pytest.raises(DataFileError) as err:
        fm.FashionMNIST(image_size=32, cache_dir=str(tmp_path / "cache"), download=False, root=str(folder)).build()
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{folder / name}: ")
    assert re.search(says, message), message


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

"""data=fashion_mnist on small IDX files written here (never the installed package): what loading gives, where the
files are looked for, one line per bad file, the held-out reals and the evaluator's test set being the test split,
and a tiny run of every image model.

The pure tests (no training run, no subprocess) of this subject; the others are in
tests/integration/test_fashion_mnist.py."""

import re
from pathlib import Path

import pytest
import torch
from helpers.fashion_files import N_TEST, pattern, write_fashion, write_idx
from torchvision.datasets.mnist import read_image_file, read_label_file

from ganexp.data import fashion_mnist as fm
from ganexp.errors import DataFileError


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

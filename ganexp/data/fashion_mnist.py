"""Fashion-MNIST (Xiao et al. 2017): 70,000 real 28x28 grey images of 10 clothing classes in four IDX files, the
official split being 60,000 training and 10,000 test images. `data=fashion_mnist` trains on the training images only;
the test images are the held-out reals that FID/KID compare with and that the evaluator's accuracy is measured on.

Where the files are (`find_folder`): `data.root` when set, else Debian's `dataset-fashion-mnist` package
(/usr/share/datasets/fashion-mnist, gzipped), else torchvision's download in ganexp's cache folder, fetched there
first with `data.download=true`; otherwise one line says how to get them.

At 32 px each image is padded by 2 pixels of the background value 0 on every side (what GAN papers do for 32 px
MNIST-like data: nothing is resampled); 64 and 128 px upscale that bilinearly. The grey channel is repeated to 3, as
for `data=digits`, so the networks, the evaluator and Inception take it unchanged.
"""

import gzip
import logging
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from ganexp.data.module import LabelledImages
from ganexp.data.reading import read_bytes
from ganexp.errors import DataFileError
from ganexp.ranges import Count

log = logging.getLogger(__name__)
DEBIAN_FOLDER = Path("/usr/share/datasets/fashion-mnist")  # `apt-get install dataset-fashion-mnist`
DOWNLOADS = "fashion_mnist"  # torchvision's root inside the cache folder; it adds FashionMNIST/raw
TORCHVISION_LAYOUT = Path("FashionMNIST", "raw")
SPLITS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
CLASSES = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")
SIDE = 28  # the files' image side; padded to PADDED
PADDED = 32
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801  # IDX: 0, 0, type 0x08 (unsigned byte), dimensions 3 or 1
HOW_TO_GET = ("install it (`apt-get install dataset-fashion-mnist`, into /usr/share/datasets/fashion-mnist), set "
              "data.download=true on a machine with internet (torchvision fetches it into the cache folder), or "
              "point data.root at a folder holding the four IDX files")


def idx_file(folder: Path, name: str) -> Path | None:
    """`name` in `folder`, uncompressed or gzipped (`name.gz`), or None."""
    return next((path for path in (folder / name, folder / f"{name}.gz") if path.is_file()), None)


def holds_files(folder: Path) -> bool:
    return all(idx_file(folder, name) for pair in SPLITS.values() for name in pair)


def download_folder(cache_dir: str | Path) -> Path:
    """Where torchvision's `FashionMNIST(root=..., download=True)` puts the files inside ganexp's cache folder."""
    return Path(cache_dir).expanduser() / DOWNLOADS / TORCHVISION_LAYOUT


def download(cache_dir: str | Path) -> Path:
    """Fetch the four files with torchvision into `download_folder(cache_dir)`; a failure is one line."""
    from torchvision.datasets import FashionMNIST

    root = Path(cache_dir).expanduser() / DOWNLOADS
    log.info("data: downloading Fashion-MNIST with torchvision into %s", root)
    try:
        FashionMNIST(root=str(root), train=False, download=True)  # fetches all four files (and reads the test set)
    except (RuntimeError, OSError) as err:
        reason = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        raise DataFileError(f"data.download=true: torchvision could not download Fashion-MNIST into {root} "
                            f"({reason}); {HOW_TO_GET}") from None
    return download_folder(cache_dir)


def find_folder(root: str | None, cache_dir: str | Path, fetch: bool = False) -> Path:
    """The folder of the four IDX files: `root` (it, or torchvision's FashionMNIST/raw inside it), else the Debian
    package's, else an earlier torchvision download in the cache folder, else (`fetch`) a download there now."""
    if root is not None:
        folder = Path(root).expanduser()
        if not folder.is_dir():
            raise DataFileError(f"data.root={folder}: no such folder (Fashion-MNIST's four IDX files are looked for "
                                "there); or leave data.root unset to use the installed copy")
        for candidate in (folder, folder / TORCHVISION_LAYOUT):
            if holds_files(candidate):
                return candidate
        missing = [name for pair in SPLITS.values() for name in pair if not idx_file(folder, name)]
        raise DataFileError(f"data.root={folder}: missing {', '.join(f'{name}[.gz]' for name in missing)} "
                            "(Fashion-MNIST's IDX files, as in /usr/share/datasets/fashion-mnist)")
    for candidate in (DEBIAN_FOLDER, download_folder(cache_dir)):
        if holds_files(candidate):
            return candidate
    if fetch:
        return download(cache_dir)
    raise DataFileError(f"Fashion-MNIST not found (data.root unset; not in {DEBIAN_FOLDER} nor in "
                        f"{download_folder(cache_dir)}): {HOW_TO_GET}")


def read_idx(path: Path, magic: int) -> Tensor:
    """A uint8 IDX file (gzipped when its name ends in .gz) as a tensor of its header's shape. A wrong magic number,
    a header that does not match the file's length (cut short, or bytes too many) or a damaged gzip stream is a
    DataFileError naming the file."""
    data = read_bytes(path)
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise DataFileError(f"{path}: damaged gzip file ({err}); download or install it again") from None
    kind = "images" if magic == IMAGES_MAGIC else "labels"
    if len(data) < 4:
        raise DataFileError(f"{path}: truncated ({len(data)} bytes: not even an IDX magic number)")
    if int.from_bytes(data[:4], "big") != magic:
        raise DataFileError(f"{path}: not an IDX {kind} file (magic number 0x{int.from_bytes(data[:4], 'big'):08x}, "
                            f"expected 0x{magic:08x})")
    dims = magic & 0xFF
    header = 4 + 4 * dims
    if len(data) < header:
        raise DataFileError(f"{path}: truncated ({len(data)} bytes, its header alone takes {header})")
    shape = [int.from_bytes(data[4 + 4 * d: 8 + 4 * d], "big") for d in range(dims)]
    expected = header + torch.Size(shape).numel()
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else f"{len(data) - expected} bytes too long"
        raise DataFileError(f"{path}: {problem} ({len(data)} bytes; its header says {shape[0]} {kind} "
                            f"of shape {shape[1:]}, {expected} bytes)")
    return torch.frombuffer(bytearray(data), dtype=torch.uint8, offset=header).view(shape)


def read_split(folder: Path, split: str) -> tuple[Tensor, Tensor]:
    """(uint8 images (N, 28, 28), long labels (N,)) of one split, with its files checked against each other."""
    image_path, label_path = (idx_file(folder, name) for name in SPLITS[split])
    images, labels = read_idx(image_path, IMAGES_MAGIC), read_idx(label_path, LABELS_MAGIC)
    if tuple(images.shape[1:]) != (SIDE, SIDE):
        raise DataFileError(f"{image_path}: images of {images.shape[1]}x{images.shape[2]} pixels, Fashion-MNIST's "
                            f"are {SIDE}x{SIDE}")
    if len(images) != len(labels):
        raise DataFileError(f"{label_path}: {len(labels)} labels, but {image_path} holds {len(images)} images")
    if len(labels) and labels.max() >= len(CLASSES):
        index = int((labels >= len(CLASSES)).nonzero()[0])
        raise DataFileError(f"{label_path}: label {int(labels[index])} at item {index} (labels are 0-9)")
    return images, labels.long()


def to_size(images: Tensor, image_size: int) -> Tensor:
    """uint8 (N, 28, 28) -> uint8 (N, 3, S, S): padded to 32 px with 2 background (0) pixels a side, then for
    S > 32 upscaled bilinearly; the grey channel repeated to 3."""
    pad = (PADDED - SIDE) // 2
    x = F.pad(images[:, None], (pad, pad, pad, pad), value=0)
    if image_size != PADDED:
        x = F.interpolate(x.float(), size=image_size, mode="bilinear", align_corners=False).round().clamp(0, 255)
        x = x.to(torch.uint8)
    return x.repeat(1, 3, 1, 1)


@dataclass
class FashionMNIST:
    """Fashion-MNIST's training images then its test images (`LabelledImages.test_split` of them, at the tail), one
    attribute "class" of 10 values. `n` keeps the first n training images; the test split is always whole."""

    image_size: Literal[32, 64, 128]
    cache_dir: str
    download: bool  # conf/data/fashion_mnist.yaml's `data.download` (its one home)
    root: str | None = None
    n: Count | None = None

    @cached_property
    def folder(self) -> Path:
        return find_folder(self.root, self.cache_dir, self.download)

    def key(self) -> str:
        """The settings that change the images, the folder read and each file's size and mtime (a replaced file
        builds the cache again)."""
        stamps = []
        for name in (name for pair in SPLITS.values() for name in pair):
            stat = idx_file(self.folder, name).stat()
            stamps.append(f"{stat.st_size}:{stat.st_mtime_ns}")
        return f"fashion_mnist:{self.image_size}:{self.n}:{self.folder}:{','.join(stamps)}"

    def build(self) -> LabelledImages:
        train_images, train_labels = read_split(self.folder, "train")
        test_images, test_labels = read_split(self.folder, "test")
        train_images, train_labels = train_images[:self.n], train_labels[:self.n]
        return LabelledImages(images=to_size(torch.cat([train_images, test_images]), self.image_size),
                              labels=torch.cat([train_labels, test_labels])[:, None],
                              attributes=[("class", list(CLASSES))], test_split=len(test_images))

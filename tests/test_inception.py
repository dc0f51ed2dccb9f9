"""Standard Inception FID/KID (`eval.features=inception`) without a network: a weights file of torch-fidelity's
format (its InceptionV3 architecture, seeded random weights, saved as the state_dict it `torch.load`s), the
errors when no weights can be found, and one tiny run that logs `fid` and says how it was measured."""

import json
import os
from unittest import mock
from urllib.error import URLError

import pytest
import torch
from conftest import make_config
from torch import nn

import ganexp.eval.inception as inception
from ganexp.data.module import to_float
from ganexp.errors import ConfigError
from ganexp.eval.inception import WEIGHTS_FILE, InceptionDistances, cached_weights, to_uint8, weights_file


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """torch-fidelity's FeatureExtractorInceptionV3 with random weights (its constructor always loads a file or
    downloads, so loading is stubbed out), saved the way torch-fidelity reads its weights: a plain state_dict."""
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


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network, and an empty torch hub cache."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def refuse(url, dst, *args, **kwargs):
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(inception, "download_url_to_file", refuse)


def test_local_weights_give_fid_zero_for_the_same_set_and_more_for_a_shifted_one(weights, offline):
    distances = InceptionDistances(str(weights))
    assert str(weights) in distances.describe() and "pool3 2048" in distances.describe()
    real = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    distances.set_reals(real)  # Inception at 299 px: a second an image on a busy CPU, so few images
    shifted = distances((real + 0.5).clamp(-1, 1))
    same = distances(real)  # after a reset that kept the reals' features and dropped the shifted fakes
    assert shifted["fid"] > 1.0 and shifted["kid"] > 0.01
    assert abs(same["fid"]) < 1e-4 * shifted["fid"]
    assert abs(same["kid"]) < 0.01 * shifted["kid"]


def test_images_reach_inception_as_the_bytes_they_were_read_from():
    u8 = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16).expand(1, 3, 16, 16)
    torch.testing.assert_close(to_uint8(to_float(u8)), u8, rtol=0, atol=0)
    assert to_uint8(torch.tensor([-1.5, -1.0, 0.0, 1.0, 1.5])).tolist() == [0, 0, 128, 255, 255]


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


def test_no_weights_and_no_network_says_what_to_do(offline):
    with pytest.raises(ConfigError) as err:
        InceptionDistances(None)
    message = str(err.value)
    assert "\n" not in message
    for part in ("set eval.inception_weights=PATH", WEIGHTS_FILE, str(cached_weights().parent),
                 "Name or service not known", "or use eval.features=evaluator"):
        assert part in message, part


def test_a_run_without_weights_stops_at_start_up_with_that_line(offline, tmp_path, monkeypatch, capfd):
    from test_bad_inputs import SMOKE, assert_left_alone, earlier_results, run_entry

    job = tmp_path / "job"
    earlier_results(job)
    monkeypatch.chdir(tmp_path)
    code = run_entry([*SMOKE, "eval.enabled=true", "eval.features=inception", f"hydra.run.dir={job}"], monkeypatch)
    err = capfd.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 2 and len(errors) == 1, err[-2000:]
    assert "set eval.inception_weights=PATH" in errors[0] and "Traceback" not in err
    assert_left_alone(job)  # nothing trained, nothing of the earlier run moved


def test_weights_downloaded_once_are_used_from_the_cache(offline):
    cached = cached_weights()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights")
    assert cached.parent == (cached.parents[2] / "hub" / "checkpoints") and str(cached).startswith(
        os.environ["TORCH_HOME"])
    assert weights_file(None) == cached  # no download attempted (it would raise)


# a smoke job with eval.features=inception (~15 s on an idle 2-core CPU: evaluator, 4 iterations, Inception)
def test_a_run_logs_inception_fid_and_how_it_was_measured(weights, offline, tmp_path):
    from ganexp.train import main as train

    run = tmp_path / "run"
    run.mkdir()
    cfg = make_config("trainer=smoke", "trainer.max_iters=4", "data.holdout=8", "eval.features=inception",
                      f"eval.inception_weights={weights}", f"hydra.run.dir={run}")
    cwd = os.getcwd()
    os.chdir(run)
    try:
        train(cfg)
    finally:
        os.chdir(cwd)
    metrics = json.loads((run / "metrics.json").read_text())
    assert [e["iteration"] for e in metrics["evals"]] == [4]
    for key in ("fid", "kid", "kid_std", "fid_eval", "kid_eval"):
        assert key in metrics["final"], key
    assert metrics["final"]["fid"] > 0
    described = metrics["measured_with"]["inception"]
    assert described["feature_space"] == f"Inception-v3 pool3 2048 (torch-fidelity FID weights: {weights})"
    assert described["reference"] == "8 held-out real images (data.holdout, split=perm1)"
    assert described["fakes"] == 8 and described["kid"] == "50 subsets of 4"
    assert "not Inception" in metrics["measured_with"]["feature_space"]  # fid_eval's own space, unchanged

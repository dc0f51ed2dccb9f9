"""Untagged images (`data.source.untagged`, a "none" value per attribute group) and where a matching-aware D's
wrong tags come from (`model.wrong_sampling`): the report's claim that drawing them from the data (half "none")
teaches D to spot untagged images, and that drawing the colours uniformly fixes it. Also: acc/cond skips "none".

The in-process runs and builds of this subject; the others are in tests/unit/test_wrong_tags.py."""

import json

import pytest
import torch
from conftest import make_config
from helpers.masks import share

from ganexp.build import build_data, build_module
from ganexp.train import main as train


@pytest.mark.parametrize("sampling", ["uniform", "colours"])
def test_a_built_cgan_never_offers_none_as_a_wrong_tag(sampling):
    cfg = make_config("debug=smoke", "model=cgan", "model.wrong_weight=1", f"model.wrong_sampling={sampling}",
                      "data.source.untagged=0.5")
    data = build_data(cfg)
    module = build_module(cfg, data)
    labels = data.train_images[1].repeat(10, 1)
    assert share((labels == torch.tensor([12, 10])).all(1)) == pytest.approx(0.5, abs=0.1)
    torch.manual_seed(0)
    wrong = module.wrong_labels(labels)
    assert (wrong[:, 0] < 12).all() and (wrong[:, 1] < 10).all() and not (wrong == labels).all(1).any()


@pytest.mark.parametrize("sampling", ["uniform", "shift", "colours", "none"])
def test_each_wrong_sampling_trains_on_half_untagged_faces(sampling, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(make_config("debug=smoke", "model=cgan", "model.wrong_weight=1", f"model.wrong_sampling={sampling}",
                      "data.source.untagged=0.5"))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    final = metrics["final"]
    assert ("d/wrong" in final) == (sampling != "none")
    assert 0 <= final["acc/cond"] <= 1 and 0 <= final["acc/cond/hair"] <= 1
    assert '"none"' in metrics["measured_with"]["acc"]

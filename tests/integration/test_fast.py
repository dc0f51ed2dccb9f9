"""trainer=gpu_fast's pieces, checked on the CPU: bf16 autocast, channels_last, data on the device, compile (slow).

Its pure tests: tests/unit/test_gpu_fast_settings.py."""

import json

import pytest
import torch
from conftest import make_config

from ganexp.build import build_data, build_module
from ganexp.train import main as train

SMALL = ["trainer.accelerator=cpu", "trainer.progress=false", "trainer.max_iters=8", "model.generator.width=8",
         "model.discriminator.width=8", "data.source.n=288", "data.batch_size=16", "data.holdout=32", "eval.floor=0",
         "eval.every_n_steps=4"]


@pytest.mark.parametrize("loss", ["gan", "gp"])
def test_speed_up_compiles_what_it_can(loss):
    cfg = make_config("debug=smoke", f"loss={loss}")
    module = build_module(cfg, build_data(cfg))
    keys = set(module.state_dict())
    module.speed_up(channels_last=True, compile=True)
    assert set(module.state_dict()) == keys  # checkpoints keep their parameter names
    d_compiled = not hasattr(module.discriminator.features, "__self__")  # a bound method when left eager
    assert d_compiled == (loss == "gan")  # the gradient penalty's double backward keeps D eager
    net = module.generator.net
    assert net[0].weight.is_contiguous()  # z -> 4x4 reads a 1x1 map: kept NCHW (ganexp.modules.base.speed_up)
    assert not net[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert net[3].weight.is_contiguous(memory_format=torch.channels_last)  # the next one, 4x4 -> 8x8
    assert not net[3].weight.is_contiguous()


def test_gpu_fast_without_compile_trains_on_cpu(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(make_config("trainer=gpu_fast", *SMALL, "trainer.compile=false"))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["iterations"] == 8


@pytest.mark.slow
def test_gpu_fast_with_compile_trains_on_cpu(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(make_config("trainer=gpu_fast", *SMALL))
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "completed"

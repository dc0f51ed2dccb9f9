"""Loggers as a config group: `logger=tensorboard|csv|mlflow|wandb` or several, each read back with its own reader.

The pure tests (no training run, no subprocess) of this subject; the others are in tests/integration/test_loggers.py."""

import importlib.util

import pytest
from conftest import make_config

from ganexp.errors import ConfigError
from ganexp.loggers import check_logger
from ganexp.schema import validate


def test_the_group_selects_one_logger_several_or_none():
    assert list(make_config().logger) == ["tensorboard"]  # the default
    assert list(make_config("logger=[tensorboard,mlflow]").logger) == ["tensorboard", "mlflow"]
    assert list(make_config("logger=[]").logger) == []
    cfg = make_config("logger=wandb")
    assert cfg.logger.wandb._target_ == "pytorch_lightning.loggers.WandbLogger" and cfg.logger.wandb.offline


def test_a_loggers_settings_are_checked_at_start_up():
    with pytest.raises(ConfigError, match=r"logger.csv.flush_every: not a parameter of .*CSVLogger"):
        validate(make_config("debug=smoke", "logger=csv", "+logger.csv.flush_every=1"))
    with pytest.raises(ConfigError, match=r"^logger.mine: dict is not a Lightning logger"):
        check_logger("mine", dict)


def test_a_logger_whose_package_is_missing_is_one_line(monkeypatch):
    from pytorch_lightning.loggers import MLFlowLogger, WandbLogger

    find = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else find(name, *a))
    with pytest.raises(ConfigError, match=r"^logger=wandb: the wandb package is not installed \(pip install "
                                          r"'ganexp\[wandb\]', or choose another logger\)$"):
        check_logger("wandb", WandbLogger)
    check_logger("mlflow", MLFlowLogger)  # installed: no error

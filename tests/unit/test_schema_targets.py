"""ganexp.schema.check_target: a `_target_` node's keys and plain types against the target's signature, which is read
once per target object (a target defined anew, or an unhashable callable object, is read as it is now)."""

import sys
import types

import pytest
from omegaconf import OmegaConf

from ganexp.errors import ConfigError
from ganexp.schema import check_target


def node(**values):
    return OmegaConf.create({"_target_": "ganexp_test_targets.Thing", **values})


@pytest.fixture
def module(monkeypatch):
    mod = types.ModuleType("ganexp_test_targets")
    monkeypatch.setitem(sys.modules, "ganexp_test_targets", mod)
    return mod


def test_a_target_defined_anew_is_checked_against_its_new_signature(module):
    class Thing:
        def __init__(self, width: int = 8):
            self.width = width

    module.Thing = Thing
    check_target(node(width=4), "model")
    check_target(node(width=4), "model")  # the second read comes from the cache, the same answer
    with pytest.raises(ConfigError, match=r"^model.width: Value 'wide' of type 'str' could not be converted"):
        check_target(node(width="wide"), "model")

    class Thing:  # noqa: F811 (the same name, another signature: what a reloaded module gives)
        def __init__(self, depth: int = 2):
            self.depth = depth

    module.Thing = Thing
    with pytest.raises(ConfigError, match=r"^model.width: not a parameter of ganexp_test_targets.Thing "
                                          r"\(it takes: depth\)$"):
        check_target(node(width=4), "model")


def test_an_unhashable_callable_object_is_checked_too(module):
    class Factory:
        __hash__ = None  # as a class that defines __eq__ alone

        def __eq__(self, other):
            return isinstance(other, Factory)

        def __call__(self, size: int = 1):
            return size

    module.Thing = Factory()
    check_target(node(size=3), "data")
    with pytest.raises(ConfigError, match=r"^data.colour: not a parameter of ganexp_test_targets.Thing"):
        check_target(node(colour=3), "data")

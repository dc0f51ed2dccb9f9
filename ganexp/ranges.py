"""Allowed ranges of numeric settings, declared once next to the type: `typing.Annotated[int, Range(1)]` on a field
of a schema dataclass (ganexp/schema.py) or on a constructor parameter of a class a config builds by `_target_`.

`ganexp.schema.validate` reads them at start-up (`range_of`), so a value out of range stops the run with one line
naming the key, the value and the range (`guard.max_loss=-1: must be > 0`). torch-free and Hydra-free (OmegaConf
only), so that the networks and losses can import it.
"""

import dataclasses
import math
import re
import typing
from dataclasses import dataclass
from typing import Annotated, Any

from omegaconf import DictConfig, ListConfig

from ganexp.errors import ConfigError

SEED_MAX = 2**32 - 1  # numpy's and Lightning's largest seed


@dataclass(frozen=True)
class Range:
    """low <= value <= high (strict with `low_open`/`high_open`); None leaves that side open. NaN is never inside."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        if isinstance(value, float) and math.isnan(value):
            return False
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def describe(self) -> str:
        """The rule as the error line states it: "must be >= 1", "must be in (0, 1]"."""
        low, high = _number(self.low), _number(self.high)
        if self.low is not None and self.high is not None:
            return f"must be in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"must be {'>' if self.low_open else '>='} {low}"
        if self.high is not None:
            return f"must be {'<' if self.high_open else '<='} {high}"
        return "any number"


def _number(x: float | None) -> str:
    """A bound as written in a config: 4294967295, not 4.29497e+09; 0.5 as 0.5."""
    return str(int(x)) if x is not None and float(x).is_integer() else str(x)


# The common ranges, named for what they are.
POSITIVE = Range(0, low_open=True)  # a size or weight that must not vanish: > 0
NON_NEGATIVE = Range(0)  # a weight or count where 0 means "off": >= 0
AT_LEAST_ONE = Range(1)  # a count or interval: >= 1
SEED = Range(0, SEED_MAX)
FRACTION = Range(0, 1)

Count = Annotated[int, AT_LEAST_ONE]  # a size, count or interval
ZeroOrMore = Annotated[int, NON_NEGATIVE]  # a count where 0 means none
Seed = Annotated[int, SEED]
Fraction = Annotated[float, FRACTION]
Weight = Annotated[float, NON_NEGATIVE]  # a loss term's weight (0: off)


def range_of(annotation: Any) -> Range | None:
    """The Range in `annotation` (`Annotated[int, Range(..)]`, also inside `| None`), else None."""
    if typing.get_origin(annotation) is Annotated:
        return next((m for m in annotation.__metadata__ if isinstance(m, Range)), None)
    for arg in typing.get_args(annotation):
        found = range_of(arg) if typing.get_origin(arg) is Annotated else None
        if found is not None:
            return found
    return None


def strip(annotation: Any) -> Any:
    """`annotation` without its Annotated wrapper (also inside `| None`): the plain type OmegaConf can enforce."""
    if typing.get_origin(annotation) is Annotated:
        return annotation.__origin__
    args = typing.get_args(annotation)
    if len(args) == 2 and type(None) in args and any(typing.get_origin(a) is Annotated for a in args):
        inner = next(a for a in args if a is not type(None))
        return strip(inner) | None
    return annotation


def check_range(key: str, value: Any, annotation: Any) -> None:
    """Raise ConfigError `key=value: must be ...` when a number is outside the range `annotation` declares."""
    allowed = range_of(annotation)
    if allowed is None or value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return
    if value not in allowed:
        raise ConfigError(f"{key}={value}: {allowed.describe()}")


def source_key(node: DictConfig, key: str, path: str) -> str:
    """The key a user sets for `path.key`: where its interpolation points (`model.generator.z_dim: ${..z_dim}`
    is set as `model.z_dim`), else `path.key` itself."""
    raw = node._get_node(key)._value()
    match = re.fullmatch(r"\$\{(\.*)([\w.]+)\}", raw) if isinstance(raw, str) else None
    if match is None:
        return f"{path}.{key}"
    dots, name = match.groups()
    if not dots:
        return name
    parts = path.split(".")[:len(path.split(".")) - (len(dots) - 1)]
    return ".".join([*parts, name])


def check_fields(node: DictConfig, schema: type, path: str = "") -> None:
    """Every value of a schema dataclass's node (nested ones and lists of them too) against its declared Range."""
    for name, annotation in typing.get_type_hints(schema, include_extras=True).items():
        value, key = node.get(name), f"{path}{name}"
        inner = strip(annotation)
        if dataclasses.is_dataclass(inner) and isinstance(value, DictConfig):
            check_fields(value, inner, f"{key}.")
        elif typing.get_origin(inner) is list and isinstance(value, ListConfig):
            item = typing.get_args(inner)[0]
            for i, entry in enumerate(value if dataclasses.is_dataclass(item) else []):
                check_fields(entry, item, f"{key}[{i}].")
        else:
            check_range(key, value, annotation)

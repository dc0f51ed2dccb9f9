"""Which way each metric points: the registry's answer (`ganexp.metrics`), under the names older callers import.

`HIGHER_IS_BETTER` and `BEST_AT_ONE` are name prefixes derived from the registry (a family `acc/cond/*` as the
prefix `acc/cond/`), for callers that test `metric.startswith(...)`; new code asks `ganexp.metrics` directly.
"""

from ganexp.metrics import HIGHER, REGISTRY, TARGET_1, badness, better, describe  # noqa: F401 (re-exported)


def _prefixes(direction: str) -> tuple[str, ...]:
    return tuple(m.name[:-1] if m.family else m.name for m in REGISTRY if m.direction == direction)


HIGHER_IS_BETTER = _prefixes(HIGHER)
BEST_AT_ONE = _prefixes(TARGET_1)

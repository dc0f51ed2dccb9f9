"""The update schedule as a pure function: which D and G updates happen on a given iteration.

An *iteration* is one batch of real data (0-based). On its turn a network is updated `*_steps` times in a row;
`milestones` change the settings from a given iteration on (they are applied in order of `at`).
"""

from collections.abc import Mapping
from dataclasses import dataclass

KEYS = ("d_every", "g_every", "d_steps", "g_steps")


@dataclass(frozen=True)
class Updates:
    d: int  # D optimizer steps on this iteration
    g: int  # G optimizer steps on this iteration


def settings_at(iteration: int, sched: Mapping) -> dict[str, int]:
    """The d_every/g_every/d_steps/g_steps in force at `iteration` after applying the milestones reached."""
    current = {k: int(sched[k]) for k in KEYS}
    for milestone in sorted(sched.get("milestones") or [], key=lambda m: m["at"]):
        if iteration < milestone["at"]:
            break
        current.update({k: int(milestone[k]) for k in KEYS if milestone.get(k) is not None})
    return current


def updates_at(iteration: int, sched: Mapping) -> Updates:
    s = settings_at(iteration, sched)
    return Updates(
        d=s["d_steps"] if iteration % s["d_every"] == 0 else 0,
        g=s["g_steps"] if iteration % s["g_every"] == 0 else 0,
    )


def count_updates(iterations: int, sched: Mapping) -> tuple[list[int], list[int]]:
    """Per-iteration D and G update counts for iterations 0..iterations-1 (for docs, tests and planning)."""
    plan = [updates_at(i, sched) for i in range(iterations)]
    return [u.d for u in plan], [u.g for u in plan]


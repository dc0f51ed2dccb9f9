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



def real_batches_at(iteration: int, sched: Mapping) -> int:
    """Real batches drawn on `iteration`: one per D step, as in Algorithm 1 of both WGAN papers (each critic step
    sees a fresh real batch), and one on an iteration without a D step (G's labels come from it)."""
    if iteration < int(sched.get("pixel_pretrain_steps", 0) or 0):
        return 1
    return max(updates_at(iteration, sched).d, 1)


def real_batches_before(iteration: int, sched: Mapping) -> int:
    """Real batches drawn on iterations 0..iteration-1: the data stream's position at `iteration`, in closed form
    (summed per stretch of constant settings), so a resumed run finds its place without replaying the schedule."""
    pretrain = min(int(sched.get("pixel_pretrain_steps", 0) or 0), iteration)
    cuts = sorted({pretrain, iteration, *(m["at"] for m in sched.get("milestones") or []
                                          if pretrain < m["at"] < iteration)})
    total = pretrain
    for start, end in zip(cuts, cuts[1:], strict=False):
        s = settings_at(start, sched)
        turns = -(-end // s["d_every"]) - -(-start // s["d_every"])  # multiples of d_every in [start, end)
        total += (end - start) + (max(s["d_steps"], 1) - 1) * turns
    return total


def iterations_for_batches(batches: int, sched: Mapping) -> int:
    """The fewest iterations that draw at least `batches` real batches (`trainer.max_epochs` in data passes)."""
    low, high = 0, max(batches, 0)  # every iteration draws at least one batch
    while low < high:
        mid = (low + high) // 2
        if real_batches_before(mid, sched) >= batches:
            high = mid
        else:
            low = mid + 1
    return low

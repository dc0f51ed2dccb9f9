"""The gates a findings row passes before the rule of `ganexp.verdict` judges it (issue 44). Each is fixed before the
runs are read, and a row that does not pass one reads *not testable*, with the reason, instead of a verdict:

- **length**: a claim about late training (`length_needed` in docs/findings.yaml: the report's length in this data's
  iterations) measured on shorter runs reads *not testable at this length*, with what the full length would cost at
  the measured speed;
- **premise**: a claim that presupposes something of one side (a collapse to remedy, a stall to escape: `premise`)
  where that side's seeds do not show it reads *not testable here*;
- **failed side**: a side whose seeds did not learn the data (the stated bounds of `FAILED`, by data set) reads *not
  testable here*: a difference between a working setting and a broken one says nothing about the claim. A side is
  never judged on the row's own metric, nor on its premise's metric (that is what the claim is about).

Every bound reads the mean of a side's final values over its seeds (report.csv's columns)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

# data set -> report.csv column -> (failed when the side's mean is "above" / "below" this, what that means).
# faces (set from the committed runs, docs/experiments, 2026-12-04): final fid_eval is 66-271 between its 10th and
# 90th percentiles and 500-820 for runs whose grids show no faces; acc/cond's chance level is about 0.09 (12 hair and
# 11 eye colours; a D that ignores the condition gives 0.089-0.111); class coverage of working runs is 0.75-0.99.
# shapes (2026-12-05, from the committed runs before any row was read against them): runs that draw objects end at
# fid_eval 82-267, the only runs without objects (D's rate 100 times G's, docs/experiments/shapes_wgan_dlr100/
# samples.png: a texture) at 459-479; under the top-k rule a random ranking of the 24 labels scores 0.125 on
# new_test (32 sets of 3 objects), with a standard deviation of about 0.034 for one job's 96 labels.
# toy (2026-12-05, likewise): the high-quality share (samples within 3 std of a mode) of runs that find the modes is
# 0.25-0.91; gp at penalty 10, whose samples lie in arcs and sheets off the modes, has 0.006 (ring) and 0.025 (grid).
# fashion: 10 classes, so acc/cond's chance level is 0.10; no committed runs to set an FID bound from yet.
FAILED: dict[str, dict[str, tuple[str, float, str]]] = {
    "faces": {"fid_eval": ("above", 400.0, "its images are not faces yet"),
              "acc/cond": ("below", 0.15, "G ignores the condition (chance is about 0.09)"),
              "collapse/class_coverage": ("below", 0.5, "G draws fewer than half of the 120 hair x eye classes")},
    "shapes": {"fid_eval": ("above", 350.0, "its images show no objects"),
               "acc/new_test": ("below", 0.16, "G ignores the condition (chance is 0.125)")},
    "toy": {"toy/high_quality": ("below", 0.1, "fewer than one sample in ten lies near a mode")},
    "fashion": {"acc/cond": ("below", 0.15, "G ignores the class (chance is 0.10)")},
}
PARALLEL = 2  # jobs at a time on the 2-core machine: wall hours are about job-hours / PARALLEL


@dataclass(frozen=True)
class Gate:
    kind: str  # "length", "premise" or "failed"
    reason: str  # in full, for the row's details
    short: str  # for the table

    @property
    def verdict(self) -> str:
        return "not testable at this length" if self.kind == "length" else "not testable here"


def crosses(mean: float, below: float | None, above: float | None) -> bool:
    """Whether `mean` lies beyond the bound (strictly below `below` / strictly above `above`)."""
    return mean < below if below is not None else mean > above


def length_gate(needed: int, why: str, iterations: list[float], seconds: list[float], jobs: int) -> Gate | None:
    """`iterations` and `seconds` (wall time) of each job the row read; None when the longest reached `needed`."""
    done = max(iterations)
    if done >= needed:
        return None
    per_it = statistics.mean(s / i for s, i in zip(seconds, iterations, strict=True) if i > 0)
    hours = per_it * needed * jobs / 3600
    short = f"runs of {done:,.0f} of the {needed:,} iterations the claim needs; ~{hours_text(hours)} job-hours to run"
    return Gate("length", f"the claim is about training to {needed:,} iterations ({why}); these runs stop at "
                          f"{done:,.0f}. The full length: {jobs} jobs x {needed:,} iterations at the measured "
                          f"{per_it:.2g} s an iteration, about {hours_text(hours)} job-hours "
                          f"({hours_text(hours / PARALLEL)} h two at a time)", short)


def hours_text(hours: float) -> str:
    return f"{hours:,.1f}" if hours < 10 else f"{hours:,.0f}"


def premise_gate(side: str, metric: str, below: float | None, above: float | None, why: str,
                 values: list[float]) -> Gate | None:
    """The premise holds when the side's mean crosses its bound; None then."""
    mean = statistics.mean(values)
    if crosses(mean, below, above):
        return None
    bound = f"below {below:g}" if below is not None else f"above {above:g}"
    return Gate("premise", f"the claim presupposes {metric} {bound} on the {side} side ({why}); its seeds' mean is "
                           f"{mean:.3g}", f"premise absent: {side} side's {metric} {mean:.3g}, not {bound}")


def failed_gate(data: str, sides: dict[str, dict[str, list[float]]], exempt: dict[str, set[str]]) -> Gate | None:
    """`sides`: "claimed"/"other" -> column -> the side's final values; `exempt`: side -> columns not to judge it on.
    The first bound a side crosses, or None."""
    reasons, short = [], []
    for side, columns in sides.items():
        for column, (way, bound, meaning) in FAILED[data].items():
            values = columns.get(column, [])
            if column in exempt.get(side, set()) or not values:
                continue
            mean = statistics.mean(values)
            if crosses(mean, bound if way == "below" else None, bound if way == "above" else None):
                reasons.append(f"the {side} side failed: {column} {mean:.3g}, {way} {bound:g} ({meaning})")
                short.append(f"{side} side failed ({column} {mean:.3g})")
    return Gate("failed", "; ".join(reasons), "; ".join(short)) if reasons else None

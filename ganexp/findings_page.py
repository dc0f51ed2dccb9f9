"""The findings page (docs/findings.md and docs/findings/<row>.png) from the measured rows of `ganexp.findings`:
each row's verdict by the one rule of `ganexp.verdict`, its p-values (Holm's beside the raw ones, over the table),
how many evaluations (looks) its verdict held for, and a picture of both settings over iterations. A paired row (two
metrics of the same jobs) says so wherever it names its metric, and its test is the paired t-test; a level row
(one setting against a number the claim states) shows the level where the other setting would be, and its test is
the one-sample t-test."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING

from ganexp.claims import RELAPSE
from ganexp.gates import FAILED
from ganexp.jobs import PROVENANCE
from ganexp.verdict import (
    ALPHA,
    MOST_SEEDS,
    POWER,
    Comparison,
    claim_p,
    holm,
    judged,
    p_text,
    seeds_to_detect,
    tost_p,
)

if TYPE_CHECKING:
    from ganexp.findings import Row


def _stats(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.4g} (1 seed)"
    return f"{statistics.mean(values):.4g} ± {statistics.stdev(values):.2g} ({len(values)} seeds)"


WORDS = {"confirmed": "**confirmed**", "refuted": "**refuted**", "inconclusive": "inconclusive"}


def percent(share: float) -> str:
    """0.05 as "5 %" (the pages' style: a space before the sign)."""
    return f"{share * 100:g} %"


def final(row: Row) -> Comparison:
    """The rule applied to the row's seeds (their final or best value, as the row's metric says); a paired row's
    values are two metrics of the same jobs, in the same order, and are compared job by job; a level row's seeds
    are tested against its level."""
    return row.rule(row.claimed, row.other)


def rule_name(c) -> str:
    """The test a row's verdict comes from, as the page names it."""
    return "one-sample t" if c.level is not None else "paired t" if c.paired else "Welch"


def judgeable(row: Row) -> bool:
    """Measured and through every gate (ganexp.gates): the rows the rule gives a verdict."""
    return row.measured and row.gate is None


def holm_by_row(rows: list[Row]) -> list[float]:
    """Each row's Holm-adjusted p, over every row of the table with a verdict (NaN for the others)."""
    return holm([claim_p(final(row), row.claim.margin) if judgeable(row) else math.nan for row in rows])


def verdict_text(row: Row, holm_p: float = math.nan) -> str:
    """The verdict, the difference ± SE, the p-values (Holm's `holm_p` beside the raw one where given) and, for an
    inconclusive row, the seeds a side that would detect its difference."""
    if not row.measured:
        return "not measured"
    if row.gate is not None:
        return f"**{row.gate.verdict}** ({row.gate.reason})"
    c, margin = final(row), row.claim.margin
    if math.isnan(c.se):
        return f"{WORDS['inconclusive']} ({c.diff:+.3g}; {'one job' if c.paired else 'one seed on a side'}: no test)"
    # the difference to the SE's precision (a hundredth of it): equal means print +0, not their float residue
    digits = 2 - math.floor(math.log10(c.se)) if c.se > 0 else 6
    parts = [f"{round(c.diff, digits) + 0.0:+.3g} ± {c.se:.2g} SE"]
    if margin is not None:
        parts.append(f"no difference means within ±{margin:g}")
    parts.append(f"{rule_name(row.claim)} {p_text(c.p)}, df = {c.df:.3g}")
    if margin is not None:
        parts.append(p_text(tost_p(c, margin), "TOST p") if abs(c.diff) <= margin
                     else p_text(claim_p(c, margin), "beyond-margin p"))
    if not math.isnan(holm_p):
        parts.append(p_text(holm_p, "Holm p"))
    word = judged(c, margin)
    if word == "inconclusive" and margin is None:
        n = seeds_to_detect(c)
        unit = "seeds" if row.claim.level is not None else "jobs (each giving both values)" if c.paired \
            else "seeds a side"
        count = f"{n or f'> {MOST_SEEDS}'} {unit}"
        parts.append(f"{count} would detect this difference ({percent(POWER)} power)")
    return f"{WORDS[word]} ({'; '.join(parts)})"


def standing(row: Row) -> str:
    """For how many of the evaluations (looks), counted back from the last, the final verdict has held ("" without
    curves): a verdict that changed at the last evaluation has not settled, and a longer run could change it again."""
    looks = len(row.by_length)
    if looks < 2 or row.gate is not None or row.claim.at is not None:  # a claim about one point has one look
        return ""
    words = [judged(cmp, row.claim.margin) for _, cmp in row.by_length]
    held = 1
    while held < looks and words[-held - 1] == words[-1]:
        held += 1
    last = row.by_length[-1][0]
    if held == looks:
        return f"held at all {looks} of {looks} evaluations (looks)"
    if held == 1:
        return f"changed at the last of {looks} evaluations (looks; iteration {last:,}): not settled"
    return (f"held at the last {held} of {looks} evaluations (looks), since iteration "
            f"{row.by_length[-held][0]:,} of {last:,}")


def looks_unsaid(row: Row) -> str:
    """Why a row with curves counts no looks."""
    if row.gate is not None:
        return f"no verdict to count looks of ({row.gate.verdict})"
    return f"a claim about iteration {row.claim.at:,}: one look" if row.claim.at is not None else "one evaluation"


def metric_text(c) -> str:
    """The row's metric as the table shows it: "fid_eval", "best fid_eval", "acc/cond at 500", for a paired row
    "acc/new_test against acc/test, paired"."""
    names = f"{c.metric} against {c.other.metric}" if c.paired else c.metric
    return names + (f" at {c.at:,}" if c.at is not None else "") + (", paired" if c.paired else "")


def compared_text(row: Row) -> str:
    """The table's "compared with" cell: the other setting with its seeds' values, or the level."""
    c = row.claim
    return c.level.text if c.level is not None else f"{side_text(c, 'other')}: {_stats(row.other)}"


def side_text(c, side: str) -> str:
    """A side as the page names it: its overrides, and for a paired row its metric ("`loss=wgan` acc/test")."""
    if side == "other" and c.level is not None:
        return c.level.text
    s = c.claimed if side == "claimed" else c.other
    return f"`{s.where}`" + (f" {c.metric if side == 'claimed' else c.other.metric}" if c.paired else "")


def table(rows: list[Row], scope: str) -> list[str]:
    """The table of the rows of one scope ("report" or "beyond"), numbered as in the whole file."""
    lines = ["| # | claim | metric | claimed setting | compared with | verdict |", "|---|---|---|---|---|---|"]
    for num, (row, holm_p) in enumerate(zip(rows, holm_by_row(rows), strict=True), 1):
        c = row.claim
        if c.scope != scope:
            continue
        if row.gate is not None:
            lines.append(f"| {num} | {c.claim} | {metric_text(c)} | {side_text(c, 'claimed')}: {_stats(row.claimed)} "
                         f"| {compared_text(row)} | **{row.gate.verdict}**: {row.gate.short} |")
        elif row.measured:
            held = standing(row)
            lines.append(f"| {num} | {c.claim} | {metric_text(c)} | {side_text(c, 'claimed')}: {_stats(row.claimed)} "
                         f"| {compared_text(row)} | {verdict_text(row, holm_p)}"
                         f"{'; ' + held if held else ''} |")
        else:
            lines.append(f"| {num} | {c.claim} | {metric_text(c) if c.metric else '–'} | – | – | not measured |")
    return lines


RULE = (f"Verdict rule (`ganexp/verdict.py`, the same for every row): the claimed setting's mean minus the other's, "
        f"with its standard error SE = sqrt(s1²/n1 + s2²/n2) over seeds, tested by Welch's t-test (which does not "
        f"assume the two settings spread alike; its degrees of freedom, df, come from the two spreads); **confirmed** "
        f"when the two-sided p-value is below {percent(ALPHA)} and the difference favours the claim, **refuted** when "
        f"it is below {percent(ALPHA)} and favours the other setting, *inconclusive* otherwise. A few seeds a side see "
        f"only large effects: *inconclusive* means \"no difference this size of experiment can see\", not \"no "
        f"difference\", and such a row says how many seeds a side would detect the difference it saw with "
        f"{percent(POWER)} power (taking the seeds' spreads as they came out). A claim of no difference states a "
        f"margin and is tested by two one-sided tests (TOST) with the same df: **confirmed** when both find the "
        f"difference inside ±margin at {percent(ALPHA)} (the {percent(1 - 2 * ALPHA)} interval lies within "
        f"±margin), **refuted** when the {percent(1 - ALPHA)} interval lies wholly outside ±margin. The Holm-adjusted "
        f"p beside each raw one is for reading the table as a whole: counting only the rows whose Holm p is below "
        f"{percent(ALPHA)} keeps the chance that even one of them is a false alarm under {percent(ALPHA)}. Every "
        f"evaluation of the runs is a look at the data, and the verdict is judged again at each; a row says at how "
        f"many of the last looks its verdict held. The {percent(ALPHA)} holds for the final look alone: with several "
        f"looks, a verdict picked at whichever look showed it is wrong more often than that. A *paired* row compares "
        f"two metrics of the same jobs (acc/new_test against acc/test, say): each job's difference between them is "
        f"the sample, tested by the paired t-test (SE = sd/sqrt(n) over the n jobs, df = n - 1), with the same "
        f"verdict words. A *level* row compares one setting with a number the claim states (\"past 5\"): its seeds "
        f"are tested against it by the one-sample t-test (SE = sd/sqrt(n), df = n - 1), confirmed when the mean lies "
        f"significantly on the claimed side of the level.")


def bounds_text() -> str:
    """Each data set's failed-side bounds, as ganexp.gates.FAILED states them."""
    return "; ".join(f"{data}: " + ", ".join(f"{column} {way} {bound:g} ({meaning})"
                                            for column, (way, bound, meaning) in columns.items())
                     for data, columns in FAILED.items() if columns)


GATES = ("Gates, fixed before the runs are read and applied by `ganexp/gates.py` before the rule: a claim about late "
         "training measured on shorter runs reads **not testable at this length**, with what the report's length "
         "would cost; a claim whose premise one side does not show (a collapse to remedy, say), or one side of which "
         f"did not learn the data (the mean of its final values beyond a bound of its data set: {bounds_text()}; "
         "never judged on the row's own metric, nor a side whose failure is what the claim says), reads **not "
         "testable here**. Such a row has no verdict and no Holm p.")
FINAL = ("Which value of a run a row compares, one rule for every row: the value at the **final** evaluation, the "
         "state the run ends in; the **best** over the evaluations (the metric reads \"best X\") only where the "
         "claim is about a peak; the value **at** one evaluation (the row says which) where the claim is about "
         "how soon, at the report's epoch in this data's iterations; the **slope** (\"slope X\": the "
         "least-squares rise of X per 1,000 iterations over the evaluations of the run's second half) where the "
         "claim is about a trajectory, a score that keeps rising or never does; the **relapses** (\"relapses "
         f"X\": at how many evaluations X, lower-is-better, was more than {RELAPSE:g} times its lowest value before) "
         "where it is about falling back; and the **seconds** (\"seconds X\": X, an iteration count such as "
         "steps_to_acc, times the job's own wall seconds an iteration, wall_time_s / iterations) where it is about "
         "time, each iteration's cost counted.")


def findings_md(rows: list[Row]) -> str:
    lines = ["# Findings", "", "Written by `python -m ganexp.findings` from `docs/findings.yaml` and the committed "
             "sweep reports it names; edit those, not this file.", "", RULE, "", GATES, "", FINAL, "",
             "## What the reports said", "", "Each row's claim is a report's own words (the quote and its translation "
             "are in the details), fixed before it was measured.", "", *table(rows, "report"), "",
             "## Beyond the reports", "", "ganexp's own or the literature's ideas, and remedies a report asked for.",
             "", *table(rows, "beyond"), "", "## Details", ""]
    for num, (row, holm_p) in enumerate(zip(rows, holm_by_row(rows), strict=True), 1):
        c = row.claim
        lines += [f"### {num}. {c.claim}", "", f"- Source: {c.source}"]
        if c.quote is not None:
            lines.append(f"- The report's words (`shared/reports/{c.quote.file}`): “{c.quote.original}”"
                         + (f" — in English: “{c.quote.translation}”" if c.quote.translation else ""))
        if c.premise is not None:
            p = c.premise
            bound = f"below {p.below:g}" if p.below is not None else f"above {p.above:g}"
            lines.append(f"- Premise: the {p.side} side's {p.metric} {bound} ({p.why})")
        if c.fails is not None:
            lines.append(f"- The {c.fails.side} side's failure is what the claim says ({c.fails.why}): the failed-side "
                         "gate does not judge it")
        if c.length_needed is not None:
            lines.append(f"- Length the claim needs: {c.length_needed.iterations:,} iterations "
                         f"({c.length_needed.why})")
        lines.append(f"- Command: `{c.command}`")
        if c.length:
            lines.append(f"- Length: {c.length}")
        if row.measured:
            lines += [f"- Claimed {side_text(c, 'claimed')} ({', '.join(c.claimed.reports)}): "
                      + ", ".join(f"{v:.4g}" for v in row.claimed),
                      (f"- Against the {c.level.text} ({c.level.why}), by the one-sample t-test (df = n - 1)"
                       if c.level is not None else f"- Other {side_text(c, 'other')} ({', '.join(c.other.reports)}): "
                       + ", ".join(f"{v:.4g}" for v in row.other)),
                      *([f"- Paired: the same {len(row.claimed)} jobs on both sides, in the order above; the test "
                         f"(paired t, df = n - 1) is on each job's {c.metric} minus its {c.other.metric}: "
                         + ", ".join(f"{a - b:+.3g}" for a, b in zip(row.claimed, row.other, strict=True))]
                        if c.paired else []),
                      f"- Verdict on {metric_text(c)}: "
                      f"{verdict_text(row, holm_p)}"]
            apart = differences(row)
            if apart:
                lines.append(f"- Computed differently (report.csv's provenance columns): {'; '.join(apart)}")
            if row.by_length:
                looks = "; ".join(f"{it:,}: {judged(cmp, c.margin)} ({cmp.diff:+.3g} ± {cmp.se:.2g}, "
                                  f"{p_text(claim_p(cmp, c.margin))})" for it, cmp in row.by_length)
                lines.append("- By length (the rule at each evaluation, from the reports' curves.csv): "
                             f"{looks}; {standing(row) or looks_unsaid(row)}.")
                lines.append(f"- ![row {num}: {c.metric} over iterations](findings/{num}.png)")
            elif c.metric.startswith("seconds "):
                lines.append("- By length: a time to get somewhere has one value a job, not one an evaluation.")
            else:
                lines.append("- By length: no curves.csv beside the reports (their runs predate it), so only the final "
                             "evaluation is compared.")
        else:
            lines.append("- Not measured yet: the command above, then add its report.csv under docs/experiments.")
        if c.note:
            lines.append(f"- {c.note}")
        lines += [f"- ![{Path(p).parent.name}: {Path(p).stem}]({p.removeprefix('docs/')})" for p in c.pictures]
        lines.append("")
    return "\n".join(lines)


def plot(row: Row, num: int, path: Path) -> None:
    """Both settings' mean ± SE of the row's metric at every evaluation, the verdict at each written under it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ganexp.report import save_small

    fig, ax = plt.subplots(figsize=(6, 3.4))
    for side, curve in (("claimed", row.claimed_curve), ("other", row.other_curve)):
        its = list(curve)
        means = [statistics.mean(v) for v in curve.values()]
        ses = [statistics.stdev(v) / len(v) ** 0.5 if len(v) > 1 else 0.0 for v in curve.values()]
        label = side_text(row.claim, side).replace("`", "")
        if side == "other" and row.claim.level is not None:
            ax.plot(its, means, linestyle="--", color="grey", label=label)
            continue
        ax.plot(its, means, marker=".", label=f"{label} ({len(next(iter(curve.values())))} seeds)")
        ax.fill_between(its, [m - e for m, e in zip(means, ses, strict=True)],
                        [m + e for m, e in zip(means, ses, strict=True)], alpha=0.2)
    for it, cmp in row.by_length:
        mark = {"confirmed": "C", "refuted": "R", "inconclusive": "·"}[judged(cmp, row.claim.margin)]
        ax.annotate(mark, (it, 0), xycoords=("data", "axes fraction"), xytext=(0, 3), textcoords="offset points",
                    ha="center", fontsize=8)
    shown = metric_text(row.claim) if row.claim.paired else row.claim.metric
    ax.set_title(f"{num}. {shown} (mean ± SE; C confirmed, R refuted, · inconclusive)", fontsize=9)
    ax.set_xlabel("iteration")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_small(fig, path)
    plt.close(fig)


def differences(row: Row) -> list[str]:
    """How the row's seeds differ in what they were computed with: within a side, or between the sides (a column
    recorded on both sides with other values), e.g. "precision: bf16-mixed (claimed) vs 32-true (other)"."""
    out = []
    for key in PROVENANCE:
        mine, theirs = row.claimed_made.get(key, set()), row.other_made.get(key, set())
        for name, values in (("claimed", mine), ("other", theirs)):
            if len(values) > 1:
                out.append(f"{key}: the {name} setting's seeds differ among themselves ({', '.join(sorted(values))})")
        if len(mine) == len(theirs) == 1 and mine != theirs:
            out.append(f"{key}: {next(iter(mine))} (claimed) vs {next(iter(theirs))} (other)")
    return out

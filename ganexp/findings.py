"""The findings table: every claim, its measurement over seeds and its verdict, built from committed sweep reports.

`docs/findings.yaml` lists the claims (one entry each: the claim in a sentence, where it comes from, the command,
the length, the metric, and which jobs of which committed `report.csv` are the claimed setting and the setting it is
compared with; a *paired* row compares two metrics of the same jobs instead, the other side naming its own metric,
and a *level* row one setting with a number the claim states). `python -m ganexp.findings` reads the seeds' values
from those files, applies the one rule of `ganexp.verdict` to every row, and writes `docs/findings.md`, the one home
of the results (README links to it). A claim whose runs are not committed yet is listed as *not measured*, with its
command, so the table is also the list of what is left to run. Where both reports have their `curves.csv` (every
evaluation of every job, written by `ganexp.report`), the rule is applied again at every evaluated length, so each
row says since when its verdict has stood, and `docs/findings/<row>.png` draws both settings' mean ± SE over
iterations. `--check` only says whether the written text is current (a test runs it). `--root DIR` reads and writes
DIR's files instead of this repository's. A mistake in findings.yaml (its YAML, a claim's missing key, a report.csv
it names that is missing or malformed) is one `error:` line naming the file (and line or key), exit status 2, and
nothing is written.
"""

import argparse
import csv
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ganexp.atomic import atomic_write
from ganexp.claims import FROM_CURVES, RELAPSE, Claim, Side, base, load
from ganexp.errors import InputError, tool_main
from ganexp.findings_page import findings_md, plot
from ganexp.gates import FAILED, Gate, failed_gate, length_gate, premise_gate
from ganexp.jobs import PROVENANCE
from ganexp.metrics import better
from ganexp.verdict import Comparison, compare, compare_level, compare_paired

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    claim: Claim
    claimed: list[float] = field(default_factory=list)
    other: list[float] = field(default_factory=list)
    # from the reports' curves.csv: iteration -> each seed's value there, and the rule applied at each iteration
    claimed_curve: dict[int, list[float]] = field(default_factory=dict)
    other_curve: dict[int, list[float]] = field(default_factory=dict)
    by_length: list[tuple[int, Comparison]] = field(default_factory=list)
    # what each side's seeds were computed with (report.csv's provenance columns): column -> the values recorded
    claimed_made: dict[str, set[str]] = field(default_factory=dict)
    other_made: dict[str, set[str]] = field(default_factory=dict)
    gate: Gate | None = None  # the first gate (ganexp.gates) the row did not pass: it then has no verdict

    @property
    def measured(self) -> bool:
        return bool(self.claimed and self.other)

    def rule(self, claimed: list[float], other: list[float]) -> Comparison:
        """The rule for this row's kind: Welch's test of two settings, the paired test of two metrics of the same
        jobs, or the one-sample test against the claim's level."""
        c = self.claim
        if c.level is not None:
            return compare_level(claimed, c.level.value, c.level.above is not None)
        if c.paired:
            return compare_paired(claimed, other, base(c.metric), towards=c.direction or None)
        return compare(claimed, other, base(c.metric), towards=c.direction or None)


def split_overrides(text: str) -> set[str]:
    """The overrides of a report's `overrides` cell (or a side's `where`), joined there by commas: commas inside
    brackets or quotes belong to a value (`lr_sched.g={_target_:...StepLR,step_size:500,gamma:1.1}` is one)."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "{[(":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return {o.strip() for o in parts if o.strip()}


def seeds(side: Side, metric: str, root: Path) -> dict[tuple[str, str], float]:
    """The metric's value for every completed job of the side's reports whose overrides include all of
    `side.where`, by job: (report, its job column, or its row where there is none); each report must hold one."""
    values, wanted = {}, split_overrides(side.where)
    for report in side.reports:
        path = root / report
        if not path.is_file():
            raise InputError(f"{report}: no such report (commit the sweep's report.csv under docs/experiments)")
        rows = read_rows(path, report, ("status", "overrides", metric))
        found = {(report, r.get("job") or f"row {n}"): number(r[metric], report, metric) for n, r in enumerate(rows)
                 if r["status"] == "completed" and wanted <= split_overrides(r["overrides"] or "") and r[metric] != ""}
        if not found:
            raise InputError(f"{report}: no completed job with {side.where!r} and a value of {metric!r}")
        values |= found
    return values


def matched(c: Claim, shown: str, mine: dict, theirs: dict) -> dict:
    """For a paired row, `theirs` (job -> value) in the order of `mine`, so that the k-th values of both sides come
    from one job; an InputError naming the row (`shown`) when the sides hold other jobs. Other rows: `theirs`."""
    if not c.paired:
        return theirs
    only = sorted(mine.keys() - theirs.keys()), sorted(theirs.keys() - mine.keys())
    if only[0] or only[1]:
        side, (report, job) = ("claimed", only[0][0]) if only[0] else ("other", only[1][0])
        raise InputError(f"{shown}: a paired row (other.metric {c.other.metric!r}) compares the same jobs, but job "
                         f"{job} of {report} is on the {side} side only (both sides need the same where and reports)")
    return {job: theirs[job] for job in mine}


def finals(side: Side, columns: list[str], root: Path) -> dict[str, list[float]]:
    """Each column's final values over the side's completed jobs (empty cells and absent columns skipped)."""
    out: dict[str, list[float]] = {column: [] for column in columns}
    wanted = split_overrides(side.where)
    for report in side.reports:
        for r in read_rows(root / report, report, ("status", "overrides")):
            if r["status"] == "completed" and wanted <= split_overrides(r["overrides"] or ""):
                for column in columns:
                    if r.get(column):
                        out[column].append(number(r[column], report, column))
    return out


def gate(c: Claim, root: Path) -> Gate | None:
    """The first gate of ganexp.gates the measured row does not pass: length, then premise, then failed side."""
    sides = {"claimed": c.claimed, "other": c.other} if c.other is not None else {"claimed": c.claimed}
    if c.length_needed is not None:  # the jobs the row read (a paired row's sides read the same ones: count them once)
        read = [c.claimed] if c.paired or c.level is not None else [c.claimed, c.other]
        runs = [finals(side, ["iterations", "wall_time_s"], root) for side in read]
        iterations = [v for r in runs for v in r["iterations"]]
        seconds = [v for r in runs for v in r["wall_time_s"]]
        found = length_gate(c.length_needed.iterations, c.length_needed.why, iterations, seconds, len(iterations))
        if found:
            return found
    p = c.premise
    if p is not None:
        values = finals(sides[p.side], [p.metric], root)[p.metric]
        if not values:
            raise InputError(f"{sides[p.side].report}: no value of {p.metric!r} for the premise of {c.claim[:40]!r}")
        found = premise_gate(p.side, p.metric, p.below, p.above, p.why, values)
        if found:
            return found
    own = {base(c.metric), base(c.other_metric)}  # a paired row has two
    exempt = {name: own | ({p.metric} if p is not None and p.side == name else set()) for name in sides}
    judged = {name: side for name, side in sides.items() if c.fails is None or c.fails.side != name}
    return failed_gate(c.data, {name: finals(side, list(FAILED[c.data]), root) for name, side in judged.items()},
                       exempt)


def made_with(side: Side, root: Path) -> dict[str, set[str]]:
    """What the side's completed jobs were computed with: each provenance column of their report.csv rows (jobs
    that predate the columns, or did not record one, add nothing) -> the values recorded."""
    made: dict[str, set[str]] = {key: set() for key in PROVENANCE}
    wanted = split_overrides(side.where)
    for report in side.reports:
        for r in read_rows(root / report, report, ("status", "overrides")):
            if r["status"] == "completed" and wanted <= split_overrides(r["overrides"] or ""):
                for key in PROVENANCE:
                    made[key] |= {r[key]} if r.get(key) else set()
    return made


def read_rows(path: Path, shown: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """A committed CSV file's rows (`shown`: its name in messages), checked for the columns the findings read."""
    try:
        rows = list(csv.DictReader(path.read_text().splitlines()))
    except UnicodeDecodeError:
        raise InputError(f"{shown}: not UTF-8 text (a CSV file written by ganexp.report)") from None
    except csv.Error as err:
        raise InputError(f"{shown}: not a CSV file ({err})") from None
    missing = [c for c in columns if rows and c not in rows[0]]
    if missing:
        raise InputError(f"{shown}: no column {missing[0]!r} (columns: {', '.join(rows[0])})")
    return rows


def number(text: str, shown: str, column: str) -> float:
    """A CSV cell as a number; anything else is an InputError naming the file and column."""
    try:
        return float(text)
    except (TypeError, ValueError):
        raise InputError(f"{shown}: {column} {text!r} is not a number") from None


def history(side: Side, metric: str, root: Path) -> dict[tuple[str, str], dict[int, float]]:
    """(report, job) -> iteration -> the value of `metric` there ("best X": the best so far; "slope X": `slope` of
    the evaluations up to there; "relapses X": `relapses` up to there), for each completed job of `side`, read from
    the curves.csv beside each of its reports. Empty where a report has no curves.csv (a curve of some seeds only
    would not be the side's)."""
    paths = {report: (root / report).with_name("curves.csv") for report in side.reports}
    if not all(path.exists() for path in paths.values()) or metric.startswith("seconds "):
        return {}  # "seconds X" is a time, which no evaluation of curves.csv holds
    name, wanted = base(metric), split_overrides(side.where)
    jobs: dict[tuple[str, str], dict[int, float]] = {}
    for report, path in paths.items():
        shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        for r in read_rows(path, shown, ("job", "overrides", "status", "metric", "iteration", "value")):
            if r["metric"] == name and r["status"] == "completed" and wanted <= split_overrides(r["overrides"] or ""):
                it = int(number(r["iteration"], shown, "iteration"))
                jobs.setdefault((report, r["job"]), {})[it] = number(r["value"], shown, "value")
    for points in jobs.values() if metric.startswith("best ") else ():
        best = None
        for it in sorted(points):  # each value replaced by the best so far
            best = points[it] = points[it] if better(name, points[it], best) else best
    if metric.startswith("slope "):  # from the second evaluation on, where there is a slope
        jobs = {job: {it: slope(points, it) for it in sorted(points)[1:]} for job, points in jobs.items()}
    if metric.startswith("relapses "):
        jobs = {job: relapses(points) for job, points in jobs.items()}
    return jobs


def relapses(points: dict[int, float]) -> dict[int, float]:
    """iteration -> how many evaluations up to there had a value above RELAPSE times the lowest before them (report
    002's "clear images turn blurry again", on a metric where lower is better)."""
    counts, best, count = {}, None, 0
    for it in sorted(points):
        if best is not None and points[it] > RELAPSE * best:
            count += 1
        best = points[it] if best is None else min(best, points[it])
        counts[it] = float(count)
    return counts


def slope(points: dict[int, float], end: int) -> float:
    """The least-squares slope, per 1,000 iterations, of the values at the evaluations from end / 2 to `end` (the
    run's second half, up to `end`); from the last two evaluations up to `end` where the half holds only one."""
    its = [it for it in sorted(points) if it <= end]
    half = [it for it in its if it >= end / 2]
    its = half if len(half) >= 2 else its[-2:]
    return statistics.linear_regression([it / 1000 for it in its], [points[it] for it in its]).slope


def finals_of(side: Side, metric: str, root: Path) -> dict[tuple[str, str], float]:
    """The side's value of the row's metric by job: report.csv's column, or for "slope X" the slope over each job's
    whole second half and for "relapses X" the count over the whole run (from its curves.csv, which it then needs)."""
    if metric.startswith("seconds "):
        return seconds(side, base(metric), root)
    if not metric.startswith(FROM_CURVES):
        return seeds(side, metric, root)
    jobs = history(side, metric, root)
    if not jobs:
        raise InputError(f"{side.report}: {metric!r} needs the curves.csv beside each of the side's reports")
    return {job: points[max(points)] for job, points in jobs.items() if points}


def seconds(side: Side, count: str, root: Path) -> dict[tuple[str, str], float]:
    """By job: `count` (an iteration count such as steps_to_acc) times the job's own wall seconds an iteration. A
    completed job without a count (it never got there) is an InputError: a time it never reached has no value to
    average, and leaving it out would flatter the side."""
    walls, iterations = seeds(side, "wall_time_s", root), seeds(side, "iterations", root)
    counts = seeds(side, count, root)
    never = sorted(walls.keys() - counts.keys())
    if never:
        report, job = never[0]
        raise InputError(f"{report}: job {job} ({side.where}) has no {count}: it never got there, so the side has "
                         f"no time to reach it (a row on 'seconds {count}' needs every job of both sides to arrive)")
    return {job: counts[job] * walls[job] / iterations[job] for job in counts}


def common(jobs: dict[tuple[str, str], dict[int, float]]) -> dict[int, list[float]]:
    """iteration -> each job's value there (in the jobs' order), at the iterations every job evaluated."""
    its = sorted(set.intersection(*(set(points) for points in jobs.values()))) if jobs else []
    return {it: [points[it] for points in jobs.values()] for it in its}


def measure(claims: list[Claim], root: Path = ROOT) -> list[Row]:
    rows = []
    for num, c in enumerate(claims):
        row, shown = Row(c), f"findings.yaml: claim {num} ({c.claim[:40]!r})"
        if c.measured:
            mine = finals_of(c.claimed, c.metric, root)
            row.claimed, row.claimed_made = list(mine.values()), made_with(c.claimed, root)
            curves = history(c.claimed, c.metric, root)
            row.claimed_curve = common(curves)
            if c.level is not None:  # the level once per job, so the page shows and plots it like a side
                row.other = [c.level.value] * len(row.claimed)
                row.other_curve = {it: [c.level.value] * len(v) for it, v in row.claimed_curve.items()}
            else:
                theirs = matched(c, shown, mine, finals_of(c.other, c.other_metric, root))
                row.other, row.other_made = list(theirs.values()), made_with(c.other, root)
                row.other_curve = common(matched(c, shown, curves, history(c.other, c.other_metric, root)))
            row.by_length = [(it, row.rule(row.claimed_curve[it], row.other_curve[it]))
                             for it in row.claimed_curve if it in row.other_curve]
            if c.at is not None:
                if c.at not in row.claimed_curve or c.at not in row.other_curve:
                    raise InputError(f"{c.claimed.report}: claim {c.claim[:40]!r}: at {c.at} is not an iteration "
                                     "every job of the row evaluated (their curves.csv)")
                row.claimed, row.other = row.claimed_curve[c.at], row.other_curve[c.at]
            row.gate = gate(c, root)
        rows.append(row)
    return rows


def render(root: Path = ROOT, rows: list[Row] | None = None) -> str:
    """docs/findings.md as it should read."""
    return findings_md(measure(load(root / "docs" / "findings.yaml"), root) if rows is None else rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ganexp.findings", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether docs/findings.md is current")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the repository whose docs/findings.yaml is read and whose docs/findings.md and "
                             "docs/findings/ are written (default: ganexp's own)")
    args = parser.parse_args(argv)
    root = args.root
    if not root.is_dir():
        raise InputError(f"--root {root}: no such folder")
    rows = measure(load(root / "docs" / "findings.yaml"), root)  # every mistake found before anything is written
    md, page = render(root, rows), root / "docs" / "findings.md"
    if args.check:
        if not page.exists() or page.read_text() != md:
            sys.exit("out of date: docs/findings.md (run python -m ganexp.findings)")
        print("findings: current")
        return
    atomic_write(page, lambda f: f.write(md))
    for num, row in enumerate(rows, 1):
        if row.by_length:
            plot(row, num, root / "docs" / "findings" / f"{num}.png")
    print(f"wrote docs/findings.md ({len(md.splitlines())} lines)")


if __name__ == "__main__":
    tool_main(main)

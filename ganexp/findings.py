"""The findings table: every claim, its measurement over seeds and its verdict, built from committed sweep reports.

`docs/findings.yaml` lists the claims (one entry each: the claim in a sentence, where it comes from, the command,
the length, the metric, and which jobs of which committed `report.csv` are the claimed setting and the setting it is
compared with). `python -m ganexp.findings` reads the seeds' values from those files, applies the one rule of
`ganexp.verdict` to every row, and writes `docs/findings.md`, the one home of the results (README links to it).
A claim whose runs are not committed yet is listed as *not measured*, with its command, so the table is also the
list of what is left to run. Where both reports have their `curves.csv` (every evaluation of every job, written
by `ganexp.report`), the rule is applied again at every evaluated length, so each row says since when its verdict
has stood, and `docs/findings/<row>.png` draws both settings' mean ± SE over iterations. `--check` only says
whether the written text is current (a test runs it). `--root DIR` reads and writes DIR's files instead of this
repository's. A mistake in findings.yaml (its YAML, a claim's missing key, a report.csv it names that is missing or
malformed) is one `error:` line naming the file (and line or key), exit status 2, and nothing is written.
"""

import argparse
import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from omegaconf import ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from ganexp.atomic import atomic_write
from ganexp.errors import InputError, tool_main
from ganexp.findings_page import findings_md, plot
from ganexp.gates import FAILED, Gate, failed_gate, length_gate, premise_gate
from ganexp.jobs import PROVENANCE
from ganexp.metrics import UnknownMetric, better, lookup
from ganexp.verdict import Comparison, compare

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Side:
    report: str  # a committed report.csv, relative to the repository root
    where: str  # comma-separated overrides every job of this setting has (e.g. "model.d_pack=2")
    # further committed report.csv files whose jobs with `where` join this side: seeds run later as a sweep of their
    # own, where the first sweep's folder is gone (a report of several folders needs them all: ganexp.report --out)
    more: list[str] = field(default_factory=list)

    @property
    def reports(self) -> list[str]:
        return [self.report, *self.more]


@dataclass
class Quote:
    file: str  # the report's file in the shared reports folder (../shared/reports/ beside the repository)
    original: str  # its words, verbatim up to whitespace; " … " joins passages of the one file
    translation: str = ""  # English ("" where the original is)


@dataclass
class Premise:
    """What the claim presupposes of one side, fixed before its runs are read (ganexp.gates.premise_gate)."""

    side: str  # "claimed" or "other"
    metric: str  # a report.csv column ("best X": its best over the evaluations), read as the side's mean
    why: str
    below: float | None = None  # the premise holds when the mean is below this (or above `above`)
    above: float | None = None


@dataclass
class LengthNeeded:
    iterations: int  # the report's length (of a claim about late training) in this data's iterations
    why: str  # how: its epochs x its data set's size / its batch size, each from where


@dataclass
class Claim:
    claim: str  # the claim, as the report (or ganexp) makes it: "A beats B on ..."
    source: str  # which report or paper says it
    command: str  # the command that measures it
    # a report.csv column: "best fid_eval" (best over the evaluations, the report's ranking) or "fid_eval" (final);
    # the metric must be in the registry (ganexp/metrics.py), which says which way is better
    metric: str = ""
    margin: float | None = None  # a claim of no difference: the largest difference it still calls none
    # a claim about the state at one point of training (the report's epoch, in this data's iterations): the row
    # compares the metric's values at that evaluation (from the reports' curves.csv), not at the end
    at: int | None = None
    length: str = ""  # iterations, seeds, arithmetic, machine, wall time
    claimed: Side | None = None  # the setting the claim says is better; None: not measured yet
    other: Side | None = None
    note: str = ""
    pictures: list[str] = field(default_factory=list)  # committed images under docs/, e.g. a sweep's grid_*.png
    quote: Quote | None = None  # the report's own words (every row of scope "report" has them)
    scope: str = "report"  # "report": a report's claim; "beyond": ganexp's or the literature's (a second table)
    data: str = "faces"  # the data set whose failed-side bounds apply (ganexp.gates.FAILED)
    premise: Premise | None = None
    length_needed: LengthNeeded | None = None


@dataclass
class Findings:
    claims: list[Claim] = field(default_factory=list)


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


def load(path: Path) -> list[Claim]:
    """The claims of a findings.yaml, every mistake in it an InputError naming the file (and line or key)."""
    try:
        raw = OmegaConf.load(path)
        if not isinstance(raw, ListConfig) or not raw:
            raise InputError(f"{path}: must be a YAML list of claims (- claim: ..., source: ..., command: ...)")
        merged = OmegaConf.merge(OmegaConf.structured(Findings), {"claims": raw})
        claims = [OmegaConf.to_object(c) for c in merged.claims]
    except FileNotFoundError as err:
        raise InputError(f"{path}: no such file") from err
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not UTF-8 text") from err
    except MissingMandatoryValue as err:  # full_key "claims[3].source": say which claim, where it starts
        raise InputError(f"{path}{claim_line(path, err.full_key)}: {claim_key(err.full_key)} is missing "
                         "(every claim needs claim, source and command; a measured one claimed, other and metric, "
                         "each side report and where)") from err
    except OmegaConfBaseException as err:
        raise InputError(f"{path}{claim_line(path, err.full_key)}: {str(err).splitlines()[0]} (key {err.full_key})") \
            from err
    except yaml.YAMLError as err:  # a syntax mistake: say where (PyYAML's marks count from 0)
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"{path}:{where}: not valid YAML ({getattr(err, 'problem', None) or err}); quote a value "
                         "that holds ': ' or write it as a block (command: >-)") from err
    for num, c in enumerate(claims):
        if (c.claimed is None) != (c.other is None) or (c.claimed is not None and not c.metric):
            raise InputError(f"{path}: claim {num} ({c.claim[:40]!r}) needs claimed, other and metric together")
        if c.metric:
            try:
                lookup(c.metric.removeprefix("best "))
            except UnknownMetric as err:
                raise InputError(f"{path}: claim {num} ({c.claim[:40]!r}): {err}") from None
        check_gates(c, f"{path}: claim {num} ({c.claim[:40]!r})")
        for picture in c.pictures:
            if not picture.startswith("docs/") or not (path.parent.parent / picture).is_file():
                raise InputError(f"{path}: claim {num} ({c.claim[:40]!r}): picture {picture!r} is not a file under "
                                 "docs/ (commit it there, e.g. python -m ganexp.report SWEEP --grid progress)")
    return claims


def check_gates(c: Claim, shown: str) -> None:
    """The row's scope, data set and premise make sense (InputError naming `shown` otherwise). That every report
    row quotes its report, and truly, is a test of the committed file (tests/unit/test_findings.py)."""
    if c.scope not in ("report", "beyond"):
        raise InputError(f"{shown}: scope {c.scope!r} is not report or beyond")
    if c.data not in FAILED:
        raise InputError(f"{shown}: data {c.data!r} is not one of {', '.join(FAILED)} (ganexp.gates.FAILED)")
    p = c.premise
    if p is not None:
        if p.side not in ("claimed", "other"):
            raise InputError(f"{shown}: premise.side {p.side!r} is not claimed or other")
        if (p.below is None) == (p.above is None):
            raise InputError(f"{shown}: premise needs one of below and above")
        try:
            lookup(p.metric.removeprefix("best "))
        except UnknownMetric as err:
            raise InputError(f"{shown}: premise: {err}") from None


def claim_key(key: str) -> str:
    """OmegaConf's "claims[3].claimed.where" as "claim 3's claimed.where"."""
    num, _, rest = key.removeprefix("claims[").partition("].")
    return f"claim {num}'s {rest}" if num.isdigit() else key


def claim_line(path: Path, key: str | None) -> str:
    """ " line N" where the claim that `key` (e.g. "claims[3].source") belongs to starts in `path`, or ""."""
    num = key[len("claims["):].split("]")[0] if key and key.startswith("claims[") else ""
    try:
        node = yaml.compose(path.read_text())
        return f" line {node.value[int(num)].start_mark.line + 1}" if num.isdigit() else ""
    except (yaml.YAMLError, AttributeError, IndexError, TypeError):
        return ""


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


def seeds(side: Side, metric: str, root: Path) -> list[float]:
    """The metric's value for every completed job of the side's reports whose overrides include all of
    `side.where`; each report must hold at least one."""
    values, wanted = [], split_overrides(side.where)
    for report in side.reports:
        path = root / report
        if not path.is_file():
            raise InputError(f"{report}: no such report (commit the sweep's report.csv under docs/experiments)")
        rows = read_rows(path, report, ("status", "overrides", metric))
        found = [number(r[metric], report, metric) for r in rows
                 if r["status"] == "completed" and wanted <= split_overrides(r["overrides"] or "") and r[metric] != ""]
        if not found:
            raise InputError(f"{report}: no completed job with {side.where!r} and a value of {metric!r}")
        values += found
    return values


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
    sides = {"claimed": c.claimed, "other": c.other}
    if c.length_needed is not None:
        runs = [finals(side, ["iterations", "wall_time_s"], root) for side in sides.values()]
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
    own = c.metric.removeprefix("best ")
    exempt = {name: {own} | ({p.metric} if p is not None and p.side == name else set()) for name in sides}
    return failed_gate(c.data, {name: finals(side, list(FAILED[c.data]), root) for name, side in sides.items()},
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


def history(side: Side, metric: str, root: Path) -> dict[int, list[float]]:
    """iteration -> the value of `metric` there for each completed job of `side` ("best X": the best so far), read
    from the curves.csv beside each of its reports; only iterations every such job evaluated. Empty where a report
    has no curves.csv (a curve of some seeds only would not be the side's)."""
    paths = [(root / report).with_name("curves.csv") for report in side.reports]
    if not all(path.exists() for path in paths):
        return {}
    name, wanted = metric.removeprefix("best "), split_overrides(side.where)
    jobs: dict[tuple[Path, str], dict[int, float]] = {}
    for path in paths:
        shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        for r in read_rows(path, shown, ("job", "overrides", "status", "metric", "iteration", "value")):
            if r["metric"] == name and r["status"] == "completed" and wanted <= split_overrides(r["overrides"] or ""):
                it = int(number(r["iteration"], shown, "iteration"))
                jobs.setdefault((path, r["job"]), {})[it] = number(r["value"], shown, "value")
    curve: dict[int, list[float]] = {}
    for points in jobs.values():
        best = None
        for it in sorted(points):
            if metric.startswith("best "):
                best = points[it] if better(name, points[it], best) else best
            curve.setdefault(it, []).append(best if metric.startswith("best ") else points[it])
    return {it: values for it, values in sorted(curve.items()) if len(values) == len(jobs)}


def measure(claims: list[Claim], root: Path = ROOT) -> list[Row]:
    rows = []
    for c in claims:
        row = Row(c)
        if c.claimed is not None and c.other is not None:
            row.claimed, row.other = seeds(c.claimed, c.metric, root), seeds(c.other, c.metric, root)
            row.claimed_made, row.other_made = made_with(c.claimed, root), made_with(c.other, root)
            row.claimed_curve, row.other_curve = history(c.claimed, c.metric, root), history(c.other, c.metric, root)
            row.by_length = [(it, compare(row.claimed_curve[it], row.other_curve[it], c.metric.removeprefix("best ")))
                             for it in row.claimed_curve if it in row.other_curve]
            if c.at is not None:
                if c.at not in row.claimed_curve or c.at not in row.other_curve:
                    raise InputError(f"{c.claimed.report}: claim {c.claim[:40]!r}: at {c.at} is not an iteration "
                                     "every job of both sides evaluated (their curves.csv)")
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

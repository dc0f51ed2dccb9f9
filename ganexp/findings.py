"""The findings table: every claim, its measurement over seeds and its verdict, built from committed sweep reports.

`docs/findings.yaml` lists the claims (one entry each: the claim in a sentence, where it comes from, the command,
the length, the metric, and which jobs of which committed `report.csv` are the claimed setting and the setting it is
compared with). `python -m ganexp.findings` reads the seeds' values from those files, applies the one rule of
`ganexp.verdict` to every row, and writes `docs/findings.md` and the table between README's findings markers.
A claim whose runs are not committed yet is listed as *not measured*, with its command, so the table is also the
list of what is left to run. `--check` only says whether the written files are current (a test runs it).
"""

import argparse
import csv
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ganexp.errors import InputError, tool_main
from ganexp.verdict import Z, compare

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- findings:start -->", "<!-- findings:end -->"


@dataclass
class Side:
    report: str  # a committed report.csv, relative to the repository root
    where: str  # comma-separated overrides every job of this setting has (e.g. "model.d_pack=2")


@dataclass
class Claim:
    claim: str  # the claim, as the report (or ganexp) makes it: "A beats B on ..."
    source: str  # which report or paper says it
    command: str  # the command that measures it
    metric: str = ""  # a report.csv column: "best fid_eval" (best over the evaluations) or "fid_eval" (final)
    length: str = ""  # iterations, seeds, arithmetic, machine, wall time
    claimed: Side | None = None  # the setting the claim says is better; None: not measured yet
    other: Side | None = None
    note: str = ""


@dataclass
class Findings:
    claims: list[Claim] = field(default_factory=list)


@dataclass
class Row:
    claim: Claim
    claimed: list[float] = field(default_factory=list)
    other: list[float] = field(default_factory=list)

    @property
    def measured(self) -> bool:
        return bool(self.claimed and self.other)


def load(path: Path) -> list[Claim]:
    try:
        raw = OmegaConf.load(path)
        merged = OmegaConf.merge(OmegaConf.structured(Findings), {"claims": raw})
    except FileNotFoundError as err:
        raise InputError(f"{path}: no such file") from err
    except OmegaConfBaseException as err:
        raise InputError(f"{path}: {str(err).splitlines()[0]} (key {err.full_key})") from err
    claims = [OmegaConf.to_object(c) for c in merged.claims]
    for num, c in enumerate(claims):
        if (c.claimed is None) != (c.other is None) or (c.claimed is not None and not c.metric):
            raise InputError(f"{path}: claim {num} ({c.claim[:40]!r}) needs claimed, other and metric together")
    return claims


def seeds(side: Side, metric: str, root: Path) -> list[float]:
    """The metric's value for every completed job of the report whose overrides include all of `side.where`."""
    path = root / side.report
    if not path.exists():
        raise InputError(f"{side.report}: no such report (commit the sweep's report.csv under docs/experiments)")
    rows = list(csv.DictReader(path.read_text().splitlines()))
    if rows and metric not in rows[0]:
        raise InputError(f"{side.report}: no column {metric!r} (columns: {', '.join(rows[0])})")
    wanted = {o.strip() for o in side.where.split(",") if o.strip()}
    values = [float(r[metric]) for r in rows
              if r["status"] == "completed" and wanted <= set(r["overrides"].split(",")) and r[metric] != ""]
    if not values:
        raise InputError(f"{side.report}: no completed job with {side.where!r} and a value of {metric!r}")
    return values


def measure(claims: list[Claim], root: Path = ROOT) -> list[Row]:
    rows = []
    for c in claims:
        row = Row(c)
        if c.claimed is not None and c.other is not None:
            row.claimed, row.other = seeds(c.claimed, c.metric, root), seeds(c.other, c.metric, root)
        rows.append(row)
    return rows


def _stats(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.4g} (1 seed)"
    return f"{statistics.mean(values):.4g} ± {statistics.stdev(values):.2g} ({len(values)} seeds)"


def verdict_text(row: Row) -> str:
    if not row.measured:
        return "not measured"
    metric = row.claim.metric.removeprefix("best ")
    c = compare(row.claimed, row.other, metric)
    word = {"a": "**confirmed**", "b": "**refuted**", None: "inconclusive"}[c.better]
    return f"{word} ({c.diff:+.3g} ± {c.se:.2g} SE)"


def table(rows: list[Row]) -> list[str]:
    lines = ["| # | claim | metric | claimed setting | compared with | verdict |", "|---|---|---|---|---|---|"]
    for num, row in enumerate(rows, 1):
        c = row.claim
        if row.measured:
            lines.append(f"| {num} | {c.claim} | {c.metric} | `{c.claimed.where}`: {_stats(row.claimed)} | "
                         f"`{c.other.where}`: {_stats(row.other)} | {verdict_text(row)} |")
        else:
            lines.append(f"| {num} | {c.claim} | {c.metric or '–'} | – | – | not measured |")
    return lines


RULE = (f"Verdict rule (`ganexp/verdict.py`, the same for every row): the claimed setting's mean minus the other's, "
        f"against its standard error SE = sqrt(s1²/n1 + s2²/n2) over seeds; **confirmed** when the difference favours "
        f"the claim by more than {Z:g} SE, **refuted** when it favours the other setting by more than {Z:g} SE, "
        f"*inconclusive* otherwise. Three seeds see only large effects: *inconclusive* means \"no difference this "
        f"size of experiment can see\", not \"no difference\".")


def findings_md(rows: list[Row]) -> str:
    lines = ["# Findings", "", "Written by `python -m ganexp.findings` from `docs/findings.yaml` and the committed "
             "sweep reports it names; edit those, not this file.", "", RULE, "", *table(rows), "", "## Details", ""]
    for num, row in enumerate(rows, 1):
        c = row.claim
        lines += [f"### {num}. {c.claim}", "", f"- Source: {c.source}", f"- Command: `{c.command}`"]
        if c.length:
            lines.append(f"- Length: {c.length}")
        if row.measured:
            lines += [f"- Claimed `{c.claimed.where}` ({c.claimed.report}): "
                      + ", ".join(f"{v:.4g}" for v in row.claimed),
                      f"- Other `{c.other.where}` ({c.other.report}): " + ", ".join(f"{v:.4g}" for v in row.other),
                      f"- Verdict on {c.metric}: {verdict_text(row)}"]
        else:
            lines.append("- Not measured yet: the command above, then add its report.csv under docs/experiments.")
        if c.note:
            lines.append(f"- {c.note}")
        lines.append("")
    return "\n".join(lines)


def readme_block(rows: list[Row]) -> str:
    return "\n".join([START, RULE, "", *table(rows), "", "Details, per-seed values and lengths: "
                      "[docs/findings.md](docs/findings.md).", END])


def render(root: Path = ROOT) -> tuple[str, str]:
    """(docs/findings.md, README.md) as they should read."""
    rows = measure(load(root / "docs" / "findings.yaml"), root)
    readme = (root / "README.md").read_text()
    if START not in readme or END not in readme:
        raise InputError(f"README.md: no {START} ... {END} block to write the findings table into")
    head, rest = readme.split(START, 1)
    return findings_md(rows), head + readme_block(rows) + rest.split(END, 1)[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ganexp.findings", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether docs/findings.md and README are current")
    args = parser.parse_args(argv)
    md, readme = render()
    targets = {ROOT / "docs" / "findings.md": md, ROOT / "README.md": readme}
    stale = [p.name for p, text in targets.items() if not p.exists() or p.read_text() != text]
    if args.check:
        if stale:
            sys.exit(f"out of date: {', '.join(stale)} (run python -m ganexp.findings)")
        print("findings: current")
        return
    for path, text in targets.items():
        path.write_text(text)
    print(f"wrote docs/findings.md and README's findings table ({len(md.splitlines())} lines)")


if __name__ == "__main__":
    tool_main(main)

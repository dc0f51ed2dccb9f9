"""The claims file, `docs/findings.yaml`: its schema (one entry a claim: its words and source, the command, the
length, the metric, the two sides and the gates' settings) and its loading, every mistake one InputError naming the
file and the line or key. What is measured of it and how: ganexp.findings."""

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from omegaconf import ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from ganexp.errors import InputError
from ganexp.gates import FAILED
from ganexp.metrics import LOWER, UnknownMetric, lookup

# "best X": the best over the evaluations; "slope X": its rise over the run's second half; "relapses X": how often it
# fell back (ganexp.findings); the last two are read from curves.csv. "seconds X": X, an iteration count
# (steps_to_acc), times the job's own wall seconds an iteration (report.csv's wall_time_s / iterations)
DERIVED = ("best ", "slope ", "relapses ", "seconds ")
COUNTS = ("steps_to_acc",)  # the registry's metrics that count iterations: what "seconds X" can turn into a time
FROM_CURVES = ("slope ", "relapses ")
RELAPSE = 1.5  # "relapses X": an evaluation more than this many times the lowest value before it (fixed 2026-12-04)


def base(metric: str) -> str:
    """The registry's metric a row's metric reads: "fid_eval" of "best fid_eval" or "slope fid_eval"."""
    for prefix in DERIVED:
        if metric.startswith(prefix):
            return metric[len(prefix):]
    return metric


@dataclass
class Side:
    report: str  # a committed report.csv, relative to the repository root
    where: str  # comma-separated overrides every job of this setting has (e.g. "model.d_pack=2")
    # further committed report.csv files whose jobs with `where` join this side: seeds run later as a sweep of their
    # own, where the first sweep's folder is gone (a report of several folders needs them all: ganexp.report --out)
    more: list[str] = field(default_factory=list)
    # the other side of a paired row only: its metric, read from the same jobs as the claimed side's (the row's metric)
    metric: str = ""

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
class Fails:
    """A side whose failure is what the claim says ("or one of them learns nothing", "never produces faces"): the
    failed-side gate (ganexp.gates.failed_gate) does not judge it, since its failing is the claim, not a defect."""

    side: str  # "claimed" or "other"
    why: str  # the claim's words that predict it


@dataclass
class Level:
    """A claim about one setting against a stated number ("G's loss passes 5"), judged by the one-sample t-test
    (ganexp.verdict.compare_level) in place of a second setting."""

    why: str  # where the number comes from: the report's words
    above: float | None = None  # the claim: the mean lies above this (or below `below`)
    below: float | None = None

    @property
    def value(self) -> float:
        return self.above if self.above is not None else self.below

    @property
    def text(self) -> str:
        """As the page shows it: "level: above 5"."""
        return f"level: {'above' if self.above is not None else 'below'} {self.value:g}"


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
    # "slope acc/new_test": its least-squares rise per 1,000 iterations over the evaluations of the run's second half
    # (from curves.csv), for a claim about a trajectory; "relapses fid_eval": at how many evaluations it was more than
    # RELAPSE times its best before (ganexp.findings); the metric must be in the registry (ganexp/metrics.py), which
    # says which way is better
    metric: str = ""
    margin: float | None = None  # a claim of no difference: the largest difference it still calls none
    # a claim about the state at one point of training (the report's epoch, in this data's iterations): the row
    # compares the metric's values at that evaluation (from the reports' curves.csv), not at the end
    at: int | None = None
    length: str = ""  # iterations, seeds, arithmetic, machine, wall time
    claimed: Side | None = None  # the setting the claim says is better; None: not measured yet
    other: Side | None = None  # the setting it is compared with; None for a claim against a `level`
    level: Level | None = None
    # "higher" or "lower": which way the row's difference favours the claim, where the registry's directions of a
    # paired row's two metrics differ but the claim still reads one way (two shares on one scale, say)
    direction: str = ""
    note: str = ""
    pictures: list[str] = field(default_factory=list)  # committed images under docs/, e.g. a sweep's grid_*.png
    quote: Quote | None = None  # the report's own words (every row of scope "report" has them)
    scope: str = "report"  # "report": a report's claim; "beyond": ganexp's or the literature's (a second table)
    data: str = "faces"  # the data set whose failed-side bounds apply (ganexp.gates.FAILED)
    premise: Premise | None = None
    fails: Fails | None = None
    length_needed: LengthNeeded | None = None

    @property
    def paired(self) -> bool:
        """Two metrics of the same jobs (the other side names its own): judged by the paired t-test."""
        return self.other is not None and bool(self.other.metric)

    @property
    def other_metric(self) -> str:
        return self.other.metric if self.paired else self.metric

    @property
    def measured(self) -> bool:
        """Its runs are named: the claimed side and the other side, or the claimed side and a level."""
        return self.claimed is not None and (self.other is not None or self.level is not None)


@dataclass
class Findings:
    claims: list[Claim] = field(default_factory=list)


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
        if c.level is not None:
            if c.other is not None or (c.level.above is None) == (c.level.below is None):
                raise InputError(f"{path}: claim {num} ({c.claim[:40]!r}): level needs one of above and below, and "
                                 "no other side (a level takes its place)")
            if c.premise is not None:
                raise InputError(f"{path}: claim {num} ({c.claim[:40]!r}): a level row has no premise (it judges "
                                 "one setting)")
        if (c.claimed is None) != (c.other is None and c.level is None) or (c.claimed is not None and not c.metric):
            raise InputError(f"{path}: claim {num} ({c.claim[:40]!r}) needs claimed, metric and other (or a "
                             "level) together")
        if c.claimed is not None and c.claimed.metric:
            raise InputError(f"{path}: claim {num} ({c.claim[:40]!r}): claimed.metric: the claimed side's metric is "
                             "the row's metric (only other names its own, for a paired row)")
        try:
            found = [lookup(base(m)) for m in dict.fromkeys((c.metric, c.other_metric)) if m]
        except UnknownMetric as err:
            raise InputError(f"{path}: claim {num} ({c.claim[:40]!r}): {err}") from None
        if c.metric.startswith("relapses ") and found[0].direction != LOWER:
            raise InputError(f"{path}: claim {num} ({c.claim[:40]!r}): {c.metric!r}: relapses are counted of a metric "
                             f"where lower is better (fid_eval, kid_eval), not of {found[0].name} "
                             f"({found[0].direction})")
        if c.metric.startswith("seconds ") and base(c.metric) not in COUNTS:
            raise InputError(f"{path}: claim {num} ({c.claim[:40]!r}): {c.metric!r}: seconds are counted of an "
                             f"iteration count ({', '.join(COUNTS)}), not of {base(c.metric)}")
        if c.direction not in ("", "higher", "lower"):
            raise InputError(f"{path}: claim {num} ({c.claim[:40]!r}): direction {c.direction!r} is not higher or "
                             "lower")
        if len({m.direction for m in found}) > 1 and not c.direction:
            ways = ", ".join(f"{m.name} {m.direction}" for m in found)
            raise InputError(f"{path}: claim {num} ({c.claim[:40]!r}): a paired row's metrics must point the same "
                             f"way ({ways}), or the row says which way is better (direction: higher or lower)")
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
    if c.fails is not None and c.fails.side not in ("claimed", "other"):
        raise InputError(f"{shown}: fails.side {c.fails.side!r} is not claimed or other")
    p = c.premise
    if p is not None:
        if p.side not in ("claimed", "other"):
            raise InputError(f"{shown}: premise.side {p.side!r} is not claimed or other")
        if (p.below is None) == (p.above is None):
            raise InputError(f"{shown}: premise needs one of below and above")
        try:
            lookup(base(p.metric))
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

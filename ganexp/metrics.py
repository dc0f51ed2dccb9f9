"""The metric registry: every metric ganexp ranks by, with its direction and what it means. torch-free.

One entry per metric (or per family of metrics named by the data, `acc/cond/*`): its name, its direction (`lower`,
`higher`, or `target 1`: best at 1, ranked by |value - 1|), a one-line description, whether evaluations measure it
(then `curves.csv` keeps every evaluation of it and a run is ranked by its best value over them), whether the report
shows it as a column and whether the sweep's `curves.png` draws it over iterations. This table is the only place
that says which way a metric points: the report's columns and ranking (`ganexp.report`), the panels of `curves.png`
and the findings' "best X" (`ganexp.findings`), `best.ckpt` (`ganexp.eval.measure`), Optuna's direction
(`conf/hparams_search/optuna.yaml`) and the list of metrics in the README all read it. A new metric is the
function that computes it plus one entry here: a run whose evaluation logs a name this table does not know stops
at start-up (`check_known`).

Training diagnostics that no one ranks by (learning rates, update counts, D's mean scores, speed) are recorded in
the run's `metrics.jsonl` like every other scalar, but are not metrics here.
"""

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ganexp.errors import ConfigError

LOWER, HIGHER, TARGET_1 = "lower", "higher", "target 1"
DIRECTIONS = (LOWER, HIGHER, TARGET_1)


class UnknownMetric(ConfigError):
    """A metric name the registry does not know (one line naming it and where the registry is)."""


@dataclass(frozen=True)
class Metric:
    name: str  # the logged name, or a family "prefix/*" (one metric per attribute or file, named by the data)
    direction: str  # LOWER, HIGHER or TARGET_1
    description: str  # one line, for the README's list
    evaluation: bool = True  # measured at evaluations: every value in curves.csv, a run ranked by its best one
    # a column of report.csv and report.md, headed by the metric's name (findings.yaml names report.csv's columns,
    # so the header is the name itself)
    column: bool = True
    # a panel of the sweep's curves.png (when a job logged it): off for a value measured once, an uncertainty of
    # another metric's value, and diagnostics
    curve: bool = True

    @property
    def family(self) -> bool:
        return self.name.endswith("/*")

    def matches(self, name: str) -> bool:
        return name.startswith(self.name[:-1]) if self.family else name == self.name

    def badness(self, value: float | None) -> float:
        """A number that is smaller for a better `value` (inf for a missing or NaN value)."""
        if value is None or math.isnan(value):
            return math.inf
        if self.direction == TARGET_1:
            return abs(value - 1)
        return -value if self.direction == HIGHER else value

    @property
    def words(self) -> str:
        """How the report says which way is better."""
        return {LOWER: "lower", HIGHER: "higher", TARGET_1: "closest to 1"}[self.direction]


# In report column order.
REGISTRY: tuple[Metric, ...] = (
    Metric("fid_eval", LOWER, "Fréchet distance of fakes to the held-out reals in the feature space of ganexp's own "
                              "evaluator of the data set (compare only runs on the same data)"),
    Metric("kid_eval", LOWER, "kernel (MMD) distance in the same space: unbiased at small sample sizes"),
    Metric("kid_eval_std", LOWER, "standard deviation of kid_eval over its 50 subsets (its uncertainty)",
           curve=False),
    Metric("fid", LOWER, "FID in the FID Inception-v3's pool features (eval.features=inception), once at the end on "
           "eval.inception_samples images; few images: biased upwards", curve=False),
    Metric("kid", LOWER, "KID in the same Inception features, at the same time", curve=False),
    Metric("kid_std", LOWER, "standard deviation of kid over its subsets", curve=False),
    Metric("acc/cond", HIGHER, "conditional models: how often the evaluator sees the condition G was asked for"),
    Metric("acc/test", HIGHER, "the same for the held-out condition file test.json (iCLEVR)"),
    Metric("acc/new_test", HIGHER, "the same for the held-out condition file new_test.json (iCLEVR)"),
    Metric("steps_to_acc", LOWER, "first evaluated iteration at which acc/cond reached eval.threshold",
           evaluation=False, curve=False),
    Metric("collapse/diversity_ratio", TARGET_1, "mean pairwise feature distance of fakes over that of reals: "
                                                 "below 1 G repeats itself, above 1 it scatters"),
    Metric("collapse/class_coverage", HIGHER, "share of the held-out reals' classes that occur among the fakes"),
    Metric("collapse/style_entropy", TARGET_1, "data with looks (faces): entropy of the look evaluator's hair style x "
                                               "bangs classes among fakes over that among reals: below 1 the hair "
                                               "shapes look alike"),
    Metric("cond/looks_same_noise", HIGHER, "conditional models on data with looks: share of pairs with the same "
                                            "noise, one tag changed (hair colour), that the look evaluator sees with "
                                            "the same hair style and bangs (1: the tag changes only colours)"),
    Metric("cond/looks_same_tags", LOWER, "the same for pairs with the same tags and other noise (1: G ignores "
                                          "the noise)"),
    Metric("pr/precision", HIGHER, "share of fakes inside the reals' k-NN balls (fidelity; Kynkäänniemi 2019)"),
    Metric("pr/recall", HIGHER, "share of reals inside the fakes' k-NN balls (diversity)"),
    Metric("pr/density", TARGET_1, "real balls holding a fake, over k, per fake (Naeem 2020): about 1 when "
                                   "fakes are spread like reals"),
    Metric("pr/coverage", HIGHER, "share of reals whose ball holds a fake (diversity, robust to outliers)"),
    Metric("toy/modes", HIGHER, "2-D mixtures: modes with at least one high-quality sample"),
    Metric("toy/high_quality", HIGHER, "2-D mixtures: share of samples within 3 std of a mode"),
    Metric("toy/reverse_kl", LOWER, "2-D mixtures: KL of the high-quality samples' mode histogram to uniform"),
    Metric("epoch_seconds", LOWER, "seconds per pass over the training images (metrics.json)", evaluation=False,
           curve=False),
    Metric("loss/d", LOWER, "D's loss (training scalar)", evaluation=False),
    Metric("loss/g", LOWER, "G's loss (training scalar)", evaluation=False),
    Metric("acc/cond/*", HIGHER, "acc/cond for one attribute group (one column per attribute)"),
    Metric("info/code_nmi/*", HIGHER, "InfoGAN: how far its first categorical code decides each attribute (NMI)"),
    Metric("info/cat_acc", HIGHER, "InfoGAN: how often Q recovers the categorical code (training scalar)",
           evaluation=False, column=False, curve=False),
    Metric("loss/*", LOWER, "the other loss terms (d_adv, pixel, info, d_cls, g_cls; training scalars)",
           evaluation=False, column=False, curve=False),
    Metric("eval/seconds", LOWER, "seconds one evaluation took", evaluation=False, column=False, curve=False),
    Metric("eval/inception_seconds", LOWER, "seconds the Inception FID/KID took (eval.features=inception)",
           evaluation=False, column=False, curve=False),
    Metric("eval/evaluator_accuracy", HIGHER, "held-out accuracy of the evaluator itself (logged at step 0)",
           evaluation=False, column=False, curve=False),
    Metric("eval/evaluator_accuracy/looks", HIGHER, "held-out accuracy of the look evaluator (faces: hair style "
                                                    "and bangs, labels G never sees; logged at step 0)",
           evaluation=False, column=False, curve=False),
)


def find(name: str) -> Metric | None:
    """The entry of `name`: its own, else the family with the longest matching prefix; None if none."""
    exact = [m for m in REGISTRY if not m.family and m.name == name]
    if exact:
        return exact[0]
    families = [m for m in REGISTRY if m.family and m.matches(name)]
    return max(families, key=lambda m: len(m.name)) if families else None


def lookup(name: str, what: str = "metric") -> Metric:
    """The entry of `name`; an unknown name is one UnknownMetric line (`what` says where the name came from)."""
    metric = find(name)
    if metric is None:
        raise UnknownMetric(f"{what} {name!r}: not a metric ganexp knows (the registry in ganexp/metrics.py lists "
                            f"them: {', '.join(m.name for m in REGISTRY)})")
    return metric


def check_known(names: Iterable[str], what: str) -> None:
    """Every name is in the registry: a metric logged without its entry stops the run at start-up."""
    for name in names:
        lookup(name, what)


def known(name: str) -> bool:
    return find(name) is not None


def direction(name: str) -> str:
    return lookup(name).direction


def badness(name: str, value: float | None) -> float:
    """Smaller for a better `value` of `name` (inf for a missing or NaN value)."""
    return lookup(name).badness(value)


def better(name: str, new: float | None, old: float | None) -> bool:
    """Whether `new` beats `old` (any number beats None or NaN; nothing beats a number)."""
    metric = lookup(name)
    return metric.badness(new) < metric.badness(old)


def best_of(name: str, values: Iterable[float | None]) -> float:
    """The best of `values` (NaNs and None skipped; NaN when none is left); the first of equal ones."""
    metric = lookup(name)
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return min(kept, key=metric.badness) if kept else math.nan


def optuna_direction(name: str) -> str:
    """`minimize` or `maximize` for Optuna; a metric best at 1 has neither (a ConfigError saying so)."""
    metric = lookup(name, "monitor")
    if metric.direction == TARGET_1:
        raise ConfigError(f"monitor={name}: best at 1, so it has no direction for hparams_search; "
                          "use collapse/class_coverage or fid_eval")
    return "maximize" if metric.direction == HIGHER else "minimize"


def describe(name: str) -> str:
    """'lower', 'higher' or 'closest to 1': which way `name` is better, as the report says it."""
    return lookup(name).words


def in_order(present: Iterable[str], keep: Callable[[Metric], bool]) -> list[str]:
    """The metric names `present` whose entry `keep`s, in the registry's order, a family as each of its present
    names, sorted (names the registry does not know are left out)."""
    present = set(present)
    out: list[str] = []
    for metric in REGISTRY:
        if not keep(metric):
            continue
        if metric.family:
            out += sorted(n for n in present if find(n) is metric)
        elif metric.name in present:
            out.append(metric.name)
    return out


def columns(present: Iterable[str]) -> list[str]:
    """The report's columns for the metric names `present` in any job."""
    return in_order(present, lambda m: m.column)


def plotted(present: Iterable[str]) -> list[str]:
    """The panels of a sweep's curves.png for the metric names its jobs logged over iterations."""
    return in_order(present, lambda m: m.curve)


def evaluated(name: str) -> bool:
    """Whether `name` is a registered metric that evaluations measure (curves.csv keeps every value of it)."""
    metric = find(name)
    return metric is not None and metric.evaluation


def markdown() -> str:
    """The registry as a markdown table (docs/evaluation.md's list of metrics, between its `metrics` markers)."""
    rows = ["| metric | better | measured | meaning |", "|---|---|---|---|"]
    rows += [f"| `{m.name}` | {m.words} | {'each evaluation' if m.evaluation else 'training'} | {m.description} |"
             for m in REGISTRY]
    return "\n".join(rows)


START, END = "<!-- metrics:start -->", "<!-- metrics:end -->"


def with_table(page: str) -> str:
    """`page` with the registry's table between its markers (a page without them is an error)."""
    if START not in page or END not in page:
        raise ValueError(f"the page has no {START} ... {END} markers")
    head, rest = page.split(START, 1)
    return f"{head}{START}\n{markdown()}\n{END}{rest.split(END, 1)[1]}"


if __name__ == "__main__":  # python -m ganexp.metrics [PAGE]: the table, or PAGE's table rewritten from the registry
    import sys
    from pathlib import Path

    if len(sys.argv) > 1:
        page = Path(sys.argv[1])
        page.write_text(with_table(page.read_text()))
    else:
        print(markdown())

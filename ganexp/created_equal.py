"""The report of `+experiment=created_equal`: "Are GANs Created Equal?" (Lucic et al. 2018) on Fashion-MNIST at CPU
scale, from the committed report.csv files of its sweeps (the search, and the repeats of each loss's best draw).

    python -m ganexp.created_equal docs/experiments/created_equal  [REPORT_CSV ...]

reads every report.csv under the folder (and any given), writes `study.md`, `box.png` (each loss's FID over the
draws) and `budget.png` (the best FID expected from k draws, `ganexp.draws.budget_curve`) into the folder, and
prints the command that repeats each loss's best draw with fresh seeds.

A job's score is its best `fid_eval` over its evaluations (the paper keeps the best of 5 checkpoints); a job that
did not complete scores NaN (a failed configuration, as the paper's NaN runs: worse than any FID). The repeats use
seeds other than the search's (seed 0): the search's best is the minimum of many noisy draws, so its own value is
biased low (the winner's curse); the paper likewise reruns its best configuration with 50 fresh seeds.
"""

import argparse
import csv
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from ganexp.draws import budget_curve, draw
from ganexp.verdict import ALPHA, compare, holm

LOSSES = ("minimax", "gan", "lsgan", "wgan", "gp")
NAMES = {"minimax": "MM GAN", "gan": "NS GAN", "lsgan": "LSGAN", "wgan": "WGAN", "gp": "WGAN GP"}
# Lucic et al. 2018's best FID on Fashion-MNIST (mean ± std over 50 seeds of the best wide-range configuration,
# Inception FID on 10,000 test vs 10,000 generated images). Quoted from the two papers that reprint the table (the
# paper's own table could not be read here): Zhang & Khoreva, ICLR 2019 (PA-GAN), Table 2, and Dai & Wipf, ICLR
# 2019 ("Diagnosing and enhancing VAE models"), Table 1; both give the same Fashion-MNIST numbers.
PAPER = {"minimax": (29.6, 1.6), "gan": (26.5, 1.6), "lsgan": (30.7, 2.2), "wgan": (21.5, 1.6), "gp": (24.5, 2.1)}
SEARCH_SEED = 0
FINISHED = ("completed", "diverged", "failed")  # a tried configuration; running or interrupted jobs are not yet
# The repeats also measure the standard Inception FID at their end, on this many test images and as many samples (the
# paper: 10,000; 1,000 costs ~5 CPU-minutes a job here). FID grows as the count falls: Fashion-MNIST's own training
# images score 23.3 against its test images at 1,000 (docs/evaluation.md), so these values sit above the paper's.
INCEPTION_SAMPLES = 1000


@dataclass(frozen=True)
class Run:
    loss: str
    draw: int
    seed: int
    status: str
    fid_eval: float  # best over the job's evaluations; NaN unless completed
    fid: float  # standard Inception FID at the end, NaN when not measured


def parse(overrides: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in overrides.split(",") if "=" in item)


def read_runs(paths: list[Path]) -> list[Run]:
    """The finished created_equal jobs of these report.csv files (other rows, and jobs still running or
    interrupted, are left out; a job listed twice, e.g. in a report of reports, is kept once)."""
    runs: dict[tuple[str, int, int], Run] = {}
    for path in paths:
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                o = parse(row["overrides"])
                loss = o.get("+experiment/created_equal")
                if loss is None or "draw" not in o or row["status"] not in FINISHED:
                    continue
                done = row["status"] == "completed"
                value = float(row.get("best fid_eval") or "nan") if done else math.nan
                inception = float(row.get("fid") or "nan") if done else math.nan
                key = (loss, int(o["draw"]), int(o.get("seed", SEARCH_SEED)))
                runs[key] = Run(*key, row["status"], value, inception)
    return sorted(runs.values(), key=lambda r: (LOSSES.index(r.loss) if r.loss in LOSSES else 99, r.draw, r.seed))


def search(runs: list[Run], loss: str) -> list[Run]:
    return [r for r in runs if r.loss == loss and r.seed == SEARCH_SEED]


def best_draw(runs: list[Run], loss: str) -> Run | None:
    scored = [r for r in search(runs, loss) if math.isfinite(r.fid_eval)]
    return min(scored, key=lambda r: r.fid_eval) if scored else None


def repeats(runs: list[Run], loss: str) -> list[Run]:
    """Fresh seeds of the loss's best draw (not the search's own run of it)."""
    best = best_draw(runs, loss)
    return [r for r in runs if best and r.loss == loss and r.draw == best.draw and r.seed != SEARCH_SEED]


def fmt(values: list[float]) -> str:
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f} (n={len(values)})"


def table(runs: list[Run]) -> list[str]:
    lines = ["| loss | draws (failed) | best draw: fid_eval | its settings | median over draws | best draw, fresh "
             "seeds: fid_eval | Inception FID | paper (Inception FID, 50 seeds) |",
             "|---|---|---|---|---|---|---|---|"]
    for loss in LOSSES:
        tried = search(runs, loss)
        if not tried:
            continue
        failed = sum(not math.isfinite(r.fid_eval) for r in tried)
        best = best_draw(runs, loss)
        cells = ["–"] * 5  # best, its settings, median, fresh seeds, Inception FID: none without a finished run
        if best:
            d = draw(best.draw)
            extra = {"wgan": f", clip {d['clip']:.3g}", "gp": f", λ {d['gp_weight']:.3g}"}.get(loss, "")
            again = repeats(runs, loss)
            cells = [f"{best.fid_eval:.1f}",
                     f"draw {best.draw}: lr {d['lr']:.2g}, β1 {d['beta1']:.2f}, {d['disc_iters']} D step(s), "
                     f"D norm {'on' if d['d_norm'] else 'off'}{extra}",
                     f"{statistics.median(r.fid_eval for r in tried if math.isfinite(r.fid_eval)):.1f}",
                     fmt([r.fid_eval for r in again]), fmt([r.fid for r in again or [best]])]
        paper = PAPER[loss]
        lines.append(f"| {NAMES[loss]} | {len(tried)} ({failed}) | {' | '.join(cells)} | {paper[0]} ± {paper[1]} |")
    return lines


def statements(runs: list[Run]) -> list[str]:
    """The paper's statement that no loss consistently beats the non-saturating GAN, tested at this scale by the
    findings' rule (`ganexp.verdict`): each loss's fresh seeds of its best draw against NS GAN's, Welch's t-test
    (two-sided, 5 %), in the evaluator's FID and in Inception's, with Holm's adjustment over the rows measured; then
    one sentence on whether the statement holds here, read from the Holm-adjusted p (the statement is about the
    table as a whole)."""
    lines = ["| loss vs NS GAN | metric | difference (lower is better) | Welch p | df | Holm p | at 5 % |",
             "|---|---|---|---|---|---|---|"]
    rows = []  # (loss, metric name, Comparison) for each measured row
    for metric, name in (("fid_eval", "fid_eval"), ("fid", f"Inception FID ({INCEPTION_SAMPLES:,} images)")):
        ns = [getattr(r, metric) for r in repeats(runs, "gan") if math.isfinite(getattr(r, metric))]
        for loss in LOSSES[:1] + LOSSES[2:]:
            other = [getattr(r, metric) for r in repeats(runs, loss) if math.isfinite(getattr(r, metric))]
            if len(other) < 2 or len(ns) < 2:
                lines.append(f"| {NAMES[loss]} | {name} | – | – | – | – | not measured (fewer than 2 fresh seeds a "
                             "side) |")
                continue
            rows.append((loss, name, compare(other, ns, metric)))
    adjusted = holm([c.p for _, _, c in rows])
    for (loss, name, c), holm_p in zip(rows, adjusted, strict=True):
        word = {"a": f"{NAMES[loss]} better", "b": "NS GAN better", None: "inconclusive"}[c.better]
        p, adjusted_p = (f"{v:.3f}" if v >= 0.001 else "< 0.001" for v in (c.p, holm_p))
        lines.append(f"| {NAMES[loss]} | {name} | {c.diff:+.1f} | {p} | {c.df:.1f} | {adjusted_p} | {word} |")
    better = [f"{NAMES[loss]} in {name}" for (loss, name, c), holm_p in zip(rows, adjusted, strict=True)
              if c.better == "a" and holm_p < ALPHA]
    if not rows:
        verdict = "Not tested yet: no loss has 2 fresh seeds beside NS GAN's."
    elif better:
        verdict = f"Against the statement at this scale: {', '.join(better)} beats NS GAN (Holm p below 5 %)."
    else:
        verdict = ("The statement holds at this scale: no loss beats NS GAN with a Holm-adjusted p below 5 % in the "
                   "rows measured (absence of evidence with 3 seeds a side, not evidence that the losses are equal).")
    return [*lines, "", verdict]


def draw_pictures(runs: list[Run], folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ganexp.report import save_small

    present = [loss for loss in LOSSES if search(runs, loss)]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    data = [[r.fid_eval for r in search(runs, loss) if math.isfinite(r.fid_eval)] for loss in present]
    ax.boxplot(data, showfliers=True)
    ax.set_xticks(range(1, len(present) + 1), [
        f"{NAMES[loss]}\n({sum(not math.isfinite(r.fid_eval) for r in search(runs, loss))} failed)"
        for loss in present])
    ax.set_yscale("log")
    ax.set_ylabel("best fid_eval of a draw (log)")
    ax.set_title("FID over the random search, one box per loss")
    save_small(fig, folder / "box.png")
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for loss in present:
        curve = budget_curve([r.fid_eval for r in search(runs, loss)])
        ks = [c["k"] for c in curve]
        ax.plot(ks, [c["mean"] for c in curve], marker="o", label=NAMES[loss])
        ax.fill_between(ks, [c["q10"] for c in curve], [c["q90"] for c in curve], alpha=0.15)
    ax.set_yscale("log")
    ax.set_xlabel("configurations tried (k)")
    ax.set_ylabel("best fid_eval of k draws (log)")
    ax.set_title("Budget: the best FID expected from k random draws (10-90 % band)")
    ax.legend(fontsize=7)
    save_small(fig, folder / "budget.png")


def repeat_commands(runs: list[Run], seeds: str = "1,2,3") -> list[str]:
    return [f"python run.py -m +experiment=created_equal +experiment/created_equal={loss} draw={best.draw} "
            f"seed={seeds} eval.features=inception eval.inception_samples={INCEPTION_SAMPLES} "
            "hydra/launcher=cpu_parallel"
            for loss in LOSSES if (best := best_draw(runs, loss)) is not None]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ganexp.created_equal", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where study.md, box.png and budget.png go; its report.csv "
                                                  "files (any depth) are read")
    parser.add_argument("reports", nargs="*", type=Path, help="more report.csv files")
    args = parser.parse_args(argv)
    paths = sorted(args.folder.rglob("report.csv")) + args.reports
    runs = read_runs(paths)
    if not runs:
        parser.error(f"no +experiment=created_equal jobs in {', '.join(map(str, paths)) or args.folder}")
    draw_pictures(runs, args.folder)
    text = ["# Are GANs Created Equal? on Fashion-MNIST, at CPU scale", "",
            f"Generated by `python -m ganexp.created_equal {args.folder}` from "
            + ", ".join(f"`{p}`" for p in paths) + ".", "", *table(runs), "",
            "![FID over the search](box.png)", "", "![budget curves](budget.png)", "",
            "## The paper's statement, tested on fresh seeds of each loss's best draw", "", *statements(runs), "",
            "## Commands that repeat each loss's best draw with fresh seeds", "",
            *(f"    {c}" for c in repeat_commands(runs)), ""]
    (args.folder / "study.md").write_text("\n".join(text))
    print("\n".join(repeat_commands(runs)))


if __name__ == "__main__":
    main()

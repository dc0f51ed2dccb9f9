"""The sweep as one comparison: `python -m ganexp.report SWEEP_DIR [MORE_SWEEP_DIRS --out DIR] [--metric NAME]`.

Writes into the sweep folder `report.md` and `report.csv` (one row per job: overrides, status, iterations, wall
time, images/s, `best <metric>`, the final value of every metric of the registry the jobs logged; sorted by
`best <metric>`, the value the column shows), `curves.csv` (every evaluation of every job), `curves.png` (each
metric of the registry the jobs logged over iterations, one line per job) and `samples.png` (each job's latest grid,
labelled by its overrides; `--grid NAME` adds `grid_NAME.png`, every job's samples/NAME.png side by side). Several
sweep folders (more seeds run later, or the two sides of a claim run as two commands) make one report of all their
jobs, in `--out`. Jobs that differ only by `seed` are grouped in report.md as mean ± std, with the best value of the
monitored metric over each job's evaluations; with `--baseline SETTING` each other setting is compared with it by
the rule in `ganexp.verdict`. It reads what jobs wrote (status.json, metrics.json, metrics.jsonl; TensorBoard events
for runs from before metrics.jsonl), so it works on a sweep that is still running or partly failed. At the end of
every multirun `SweepStatus` prints each job's status and writes the report.

A run folder (one `python run.py` job, or one job of a sweep) is read as a sweep of that one job: its report goes
into it, or into `--out`. A job whose status.json or metrics.json is damaged is shown as `damaged` (the others are
still reported) with a warning naming the file and what to do; when every job is damaged there is nothing to report.
Mistakes are one `error:` line, exit status 2, nothing written: a folder that is neither a sweep nor a run, nothing
readable to report, a damaged `.hydra/` record (the job's settings are unknown), `--metric` naming a metric no job
logged (the line lists those they did) or the metric registry (`ganexp/metrics.py`) does not know, an unknown
`--baseline` or `--grid`.
"""

import argparse
import csv
import logging
import math
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from ganexp.errors import InputError, StateFileError, tool_main
from ganexp.jobs import PROVENANCE, Job, collect, is_run, read_events, sweep_monitor  # noqa: F401 (callers import read_events here)
from ganexp.metrics import badness, columns, describe, evaluated, lookup, plotted
from ganexp.rundir import read_status
from ganexp.sweep import INTERRUPTED, TOKEN, job_folders, job_overrides, ledger, sweep_jobs
from ganexp.verdict import compare, p_text

log = logging.getLogger(__name__)


def warn(text: str) -> None:
    """A warning the user should read, one line on standard error (the report goes on)."""
    print(f"warning: {text}", file=sys.stderr)


def sort_key(metric: str):
    """Best first by `job.best_of(metric)`: the value report.csv's `best <metric>` column shows."""
    def key(job: Job) -> float:
        return badness(metric, job.best_of(metric))

    return key


def fmt(values: list[float]) -> str:
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{statistics.mean(values):.4g} ± {statistics.stdev(values):.2g}"


def write_curves(jobs: list[Job], sweep: Path) -> None:
    """curves.csv: every evaluation of every job (one row per job, metric and iteration) for the metrics the
    registry says evaluations measure, so a comparison can be redone at each length (`ganexp.findings`)."""
    with open(sweep / "curves.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["job", "overrides", "status", "metric", "iteration", "value"])
        for j in jobs:
            for tag in sorted(t for t in j.curves if evaluated(t)):
                writer.writerows([j.id, ",".join(j.overrides), j.status, tag, step, value]
                                 for step, value in j.curves[tag])


def write_tables(jobs: list[Job], sweep: Path, metric: str, baseline: str | None = None,
                 title: str | None = None) -> None:
    shown = columns({k for j in jobs for k in j.final})
    best = f"best {metric}"
    with open(sweep / "report.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["job", "overrides", "status", "iterations", "wall_time_s", "images_per_s", best, *shown,
                         *PROVENANCE])
        for j in jobs:
            best_value = j.best_of(metric)
            writer.writerow([j.id, ",".join(j.overrides), j.status, j.iterations, j.wall_time_s, j.images_per_s,
                             "" if math.isnan(best_value) else best_value, *(j.final.get(c, "") for c in shown),
                             *(j.provenance.get(key, "") for key in PROVENANCE)])
    groups = settings(jobs)
    lines = [f"# Sweep report: {title or sweep}", "",
             f"{len(jobs)} jobs, sorted by {best} over the evaluations ({describe(metric)} is better; the other "
             "columns are final values); repeats that differ only by `seed` are shown as mean ± std.", "",
             *([f"Every job: `{','.join(sorted(jobs[0].common))}`", ""] if jobs and jobs[0].common else []),
             f"| setting | seeds | status | iterations | wall s | images/s | {best} | " + " | ".join(shown) + " |",
             "|---" * (7 + len(shown)) + "|"]
    ordered = sorted(groups.values(), key=lambda g: badness(metric, mean_best(g, metric)))
    for group in ordered:
        statuses = ", ".join(sorted({j.status for j in group}))
        cells = [group[0].setting, str(len(group)), statuses, fmt([j.iterations for j in group]),
                 fmt([j.wall_time_s for j in group]), fmt([j.images_per_s for j in group]),
                 fmt([j.best_of(metric) for j in group]),
                 *(fmt([j.final.get(c, math.nan) for j in group]) for c in shown)]
        lines.append("| " + " | ".join(cells) + " |")
    if baseline is not None:
        lines += comparisons(groups, metric, baseline)
    lines += ["", "![curves](curves.png)", "", "![samples](samples.png)", ""]
    (sweep / "report.md").write_text("\n".join(lines))


def comparisons(groups: dict[str, list[Job]], metric: str, baseline: str) -> list[str]:
    """report.md's section comparing each setting's best `metric` over its seeds with the baseline setting's."""
    if baseline not in groups:
        raise InputError(f"--baseline {baseline!r} is not a setting of this sweep (settings: {', '.join(groups)})")
    seeds = {name: [j.best_of(metric) for j in group] for name, group in groups.items()}
    lines = ["", f"## Against `{baseline}` (best `{metric}`; the rule: ganexp/verdict.py, Welch's t-test, two-sided "
                 "5 %)", "", "| setting | difference of means | Welch p (df) | verdict |", "|---|---|---|---|"]
    for name, values in seeds.items():
        if name != baseline:
            c = compare(values, seeds[baseline], metric)
            test = "one seed on a side: no test" if math.isnan(c.se) else f"{p_text(c.p)} (df = {c.df:.3g})"
            lines.append(f"| {name} | {c.diff:+.4g} ± {c.se:.2g} | {test} | "
                         f"{ {'a': name, 'b': baseline, None: 'inconclusive'}[c.better] }"
                         f"{'' if c.better is None else ' better'} |")
    return lines


def mean_best(group: list[Job], metric: str) -> float:
    """The mean of the group's `best_of(metric)` (NaN left out): what report.md shows in its `best` column."""
    values = [v for v in (j.best_of(metric) for j in group) if not math.isnan(v)]
    return statistics.mean(values) if values else math.nan


def write_pictures(jobs: list[Job], sweep: Path) -> None:
    draw_curves(jobs, sweep / "curves.png")
    grids = [(j, sorted((j.path / "samples").glob("iter_*.png"))) for j in jobs]
    montage([(j, files[-1]) for j, files in grids if files], sweep / "samples.png")


def draw_curves(jobs: list[Job], path: Path, per_row: int = 4) -> list[str]:
    """One panel per metric the jobs logged that the registry draws (`Metric.curve`, in its order: a new entry gets
    its panel here unasked), one line per job, `per_row` panels a row. Returns the titles of the panels as drawn;
    none (and no file) when the jobs logged none of them."""
    tags = plotted(t for j in jobs for t in j.curves if j.curves[t])
    if not tags:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(per_row, len(tags))
    rows = -(-len(tags) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.6 * rows), squeeze=False)
    for ax, tag in zip(axes.flat, tags, strict=False):  # the last row may have spare axes
        for j in jobs:
            if j.curves.get(tag):
                steps, values = zip(*j.curves[tag], strict=True)
                ax.plot(steps, values, label=j.name, marker="." if len(steps) < 20 else None)
        ax.set_title(tag)
        ax.set_xlabel("iteration")
    for ax in axes.flat[len(tags):]:
        ax.remove()
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    titles = [ax.get_title() for ax in fig.axes]
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return titles


def montage(grids: list[tuple[Job, Path]], path: Path) -> None:
    """The jobs' pictures side by side, each titled by its overrides (all drawn from the same noise bank,
    `log.bank_seed`, so they differ only by the setting)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pictures = []
    for j, file in sorted(grids, key=lambda g: g[0].name):  # seeds side by side
        try:
            pictures.append((j, file, plt.imread(file)))
        except (OSError, SyntaxError, ValueError) as err:  # a damaged picture must not cost the whole report
            warn(f"{file} is not a readable picture ({err}): left out of {path.name}")
    if not pictures:
        return
    cols = min(4, len(pictures))
    rows = -(-len(pictures) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (j, file, picture) in zip(axes.flat, pictures, strict=False):
        ax.imshow(picture)
        ax.set_title(f"{j.name}\n{j.status}, {file.stem}", fontsize=7)
    fig.tight_layout()
    save_small(fig, path)
    plt.close(fig)


def save_small(fig, path: Path) -> None:
    """Save a figure of sample grids as a PNG with a 256-colour palette: a third of the size of matplotlib's RGBA
    (a 12-job 64 px montage: 2.3 MB -> 0.7 MB), so a sweep's pictures can be committed under docs/."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    buffer.seek(0)
    Image.open(buffer).convert("RGB").quantize(256).save(path, optimize=True)


def write_grids(jobs: list[Job], sweep: Path, names: list[str]) -> list[Path]:
    """`grid_<name>.png` for each `name`: every job's `samples/<name>.png` side by side (e.g. cond_hair,
    code_cat0, progress), for the claims one sees rather than reads."""
    written = []
    for name in names:
        montage(grid_files(jobs, name), sweep / f"grid_{name}.png")
        written.append(sweep / f"grid_{name}.png")
    return written


def grid_files(jobs: list[Job], name: str) -> list[tuple[Job, Path]]:
    """Every job's samples/<name>.png; none is an InputError listing the names the jobs have."""
    grids = [(j, j.path / "samples" / f"{name}.png") for j in jobs if (j.path / "samples" / f"{name}.png").is_file()]
    if not grids:
        have = sorted({f.stem for j in jobs for f in (j.path / "samples").glob("*.png")
                       if not f.stem.startswith("iter_")})
        raise InputError(f"--grid {name}: no job has samples/{name}.png (they have: {', '.join(have) or 'none'})")
    return grids


def settings(jobs: list[Job]) -> dict[str, list[Job]]:
    """The jobs grouped by setting (their overrides less the seed): the repeats of each."""
    groups: dict[str, list[Job]] = {}
    for j in jobs:
        groups.setdefault(j.setting, []).append(j)
    return groups


def check_baseline(jobs: list[Job], baseline: str | None) -> None:
    if baseline is not None and baseline not in settings(jobs):
        raise InputError(f"--baseline {baseline!r} is not a setting of this sweep (settings: "
                         f"{', '.join(settings(jobs))})")


def write_jobs(jobs: list[Job], out: Path, metric: str, baseline: str | None, title: str) -> None:
    """report.md, report.csv, curves.csv and the pictures of `jobs` into `out`, best first."""
    jobs.sort(key=sort_key(metric))
    out.mkdir(parents=True, exist_ok=True)
    write_tables(jobs, out, metric, baseline, title=title)
    write_curves(jobs, out)
    write_pictures(jobs, out)


def write_report(sweep: str | Path, metric: str = "fid_eval", statuses: dict[str, dict] | None = None,
                 baseline: str | None = None, more: tuple[Path, ...] = (), out: Path | None = None) -> list[Job]:
    """The report of `sweep`'s jobs and those of the sweep folders `more`, written into `out` (default: `sweep`).
    `statuses`: job folder name -> status known to the caller but not in the folder (a job that stopped before
    touching its folder, see `ganexp.sweep`). A damaged job is logged as a warning and shown as damaged."""
    sweeps = [Path(sweep), *map(Path, more)]
    jobs = collect(sweeps, statuses or {})
    check_baseline(jobs, baseline)
    for job in jobs:
        if job.damaged:
            warn(f"{job.damaged} (the job is shown as damaged in the report)")
    write_jobs(jobs, Path(out or sweep), metric, baseline, ", ".join(map(str, sweeps)))
    return jobs


class SweepStatus(Callback):
    """At the end of a multirun: one line per job with its status (from its folder, or the sweep's ledger), the
    sweep report, and a non-zero exit if any job failed. (conf/config.yaml installs it as a Hydra callback.)"""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        os.environ[TOKEN] = f"{os.getpid()}-{time.time_ns()}"

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep = Path(config.hydra.sweep.dir)
        token = os.environ.get(TOKEN, "none")
        outside, rows = ledger(sweep, token), []
        for job in sweep_jobs(sweep, outside):
            try:
                status = outside.get(job.name) or read_status(job)
            except StateFileError as err:  # the table still lists every job
                status = {"status": "damaged", "error": str(err)}
            # a job stopped at a check is named by its own overrides, not by those of the run its folder holds
            overrides = status["overrides"] if "overrides" in status else job_overrides(job)
            rows.append((job.name, status.get("status", "no status"), ",".join(overrides) or job.name,
                         status.get("error", "")))
        ledger_dir = sweep / ".ledger" / token
        shutil.rmtree(ledger_dir, ignore_errors=True)
        if ledger_dir.parent.is_dir() and not any(ledger_dir.parent.iterdir()):
            ledger_dir.parent.rmdir()
        print(f"\nsweep {sweep}: {len(rows)} jobs")
        for num, status, name, error in rows:
            print(f"  {num:>3}  {status:<11} {name}" + (f"  ({error.splitlines()[0]})" if error else ""))
        try:
            write_report(sweep, config.get("monitor", "fid_eval"), outside)
            print(f"report: {sweep / 'report.md'}")
        except Exception:  # the report must never hide the jobs' own outcome
            log.exception("writing the sweep report failed")
        stopped = os.environ.pop(INTERRUPTED, None)
        if stopped:
            print(f"interrupted: {sum(r[1] == 'interrupted' for r in rows)} job(s) saved as interrupted, "
                  f"{sum(r[1] == 'not started' for r in rows)} not started; the same command with resume=true "
                  "continues the sweep")
            raise SystemExit(int(stopped))
        failed = [r for r in rows if r[1] not in ("completed", "diverged")]
        if failed:
            raise SystemExit(f"{len(failed)} of {len(rows)} jobs did not complete")


def check_folders(folders: list[Path], out: Path | None) -> None:
    """Each argument is a sweep folder or a run folder; several need --out, a folder."""
    for folder in folders:
        if not folder.is_dir():
            raise InputError(f"{folder}: no such sweep folder" if not folder.exists() else
                             f"{folder}: a file, not a sweep folder or run folder")
        if not job_folders(folder) and not is_run(folder):
            raise InputError(f"{folder}: no jobs here (expected a sweep folder, whose job folders each hold .hydra/, "
                             "or a run folder, with config.yaml or status.json)")
    if len(folders) > 1 and out is None:
        raise InputError(f"{len(folders)} sweep folders: name the folder for their one report with --out")
    if out is not None and out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: is a file; name a folder for the report")


def check_jobs(jobs: list[Job], args: argparse.Namespace) -> None:
    """The jobs hold something to report, and the options name what they have."""
    if all(j.damaged for j in jobs):
        raise StateFileError(next(j.damaged for j in jobs))
    logged = sorted({m for j in jobs for m in (*j.final, *j.curves, *j.best)})
    if args.metric is not None:
        lookup(args.metric, "--metric")
    if args.metric is not None and args.metric not in logged:
        raise InputError(f"--metric {args.metric!r}: no job logged it (they logged: {', '.join(logged) or 'nothing'})")
    check_baseline(jobs, args.baseline)
    for name in args.grid:
        grid_files(jobs, name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ganexp.report", description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, nargs="+",
                        help="a sweep folder, or a run folder (a report of its one job); several: one report of all "
                             "their jobs (then --out is needed)")
    parser.add_argument("--out", type=Path, help="the folder to write the report into (default: the one folder given)")
    parser.add_argument("--metric", help="the metric to sort and compare by (default: the jobs' `monitor`)")
    parser.add_argument("--baseline", help="a setting (the overrides without seed, as report.md names it) to compare "
                                           "every other setting with, by the rule in ganexp/verdict.py")
    parser.add_argument("--grid", action="append", default=[], metavar="NAME",
                        help="also lay every job's samples/NAME.png side by side in grid_NAME.png (repeatable; e.g. "
                             "cond_hair, code_cat0, progress)")
    args = parser.parse_args(argv)
    check_folders(args.sweep, args.out)
    first, out = args.sweep[0], args.out or args.sweep[0]
    metric = args.metric or sweep_monitor(first)
    jobs = collect(args.sweep, {})
    check_jobs(jobs, args)
    for job in jobs:
        if job.damaged:
            warn(f"{job.damaged} (the job is shown as damaged in the report)")
    write_jobs(jobs, out, metric, args.baseline, ", ".join(map(str, args.sweep)))
    extra = "".join(f", {p.name}" for p in write_grids(jobs, out, args.grid))
    print(f"{len(jobs)} jobs -> {out / 'report.md'}, report.csv, curves.csv, curves.png, samples.png{extra}")


if __name__ == "__main__":
    tool_main(main)

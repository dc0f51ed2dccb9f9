"""A sweep's jobs as the report reads them: each job folder's overrides, status, metrics.json and curves (its
metrics.jsonl, `ganexp.store`; a run from before that file: its TensorBoard events).

A run folder (one `python run.py` job) is its own one job. A job whose status.json or metrics.json is damaged is kept
as a `damaged` job (`Job.damaged` names the file and what to do), so that a report can still show the others; a
damaged record of its settings (.hydra/) is a StateFileError, since the job could not be placed in a table.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ganexp.errors import StateFileError
from ganexp.metrics import best_of
from ganexp.rundir import STATUS, read_json, read_status, tensorboard_dir
from ganexp.store import STORE, read_events, read_metrics  # noqa: F401 (read_events: callers import it here)
from ganexp.sweep import job_folders, job_overrides, sweep_jobs


@dataclass
class Job:
    path: Path
    overrides: list[str]
    status: str
    iterations: int | None = None
    wall_time_s: float | None = None
    images_per_s: float | None = None
    final: dict[str, float] = field(default_factory=dict)
    best: dict[str, float] = field(default_factory=dict)  # monitored metric -> its best value (metrics.json)
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    common: frozenset[str] = frozenset()  # overrides every job of the sweep shares: left out of its label
    id: str = ""  # report.csv's and curves.csv's `job`: its folder's name, `<sweep>/<folder>` in a report of sweeps
    damaged: str = ""  # why its status.json or metrics.json cannot be read, and what to do
    provenance: dict[str, str] = field(default_factory=dict)  # PROVENANCE's values (metrics.json), "" when unknown

    def __post_init__(self) -> None:
        self.id = self.id or self.path.name

    def best_of(self, metric: str) -> float:
        """The job's value of `metric` as the report ranks, shows ("best <metric>") and compares it: its best over
        the evaluations, by the metric registry's direction (the run's own record for its monitored metric, the one
        best.ckpt holds, else the best point of its curve); a metric with no curve (epoch_seconds, from
        metrics.json) its final value; NaN when it has neither."""
        if metric in self.best:
            return self.best[metric]
        if self.curves.get(metric):
            return best_of(metric, [v for _, v in self.curves[metric]])
        return best_of(metric, [self.final.get(metric, math.nan)])

    @property
    def name(self) -> str:
        return ",".join(o for o in self.overrides if o not in self.common) or "default"

    @property
    def setting(self) -> str:
        """The overrides without the seed: jobs with the same setting are repeats."""
        return ",".join(o for o in self.overrides if not o.startswith("seed=") and o not in self.common) or "default"


def is_run(folder: Path) -> bool:
    """Whether `folder` is one job's run folder (a `python run.py` run, or one job of a sweep)."""
    return any((folder / name).exists() for name in (".hydra", "config.yaml", STATUS, "metrics.json"))


def job_paths(sweeps: list[Path], statuses: dict[str, dict]) -> list[Path]:
    """The job folders of the sweep folders in order (a run folder is its own one job)."""
    if len(sweeps) == 1:
        return sweep_jobs(sweeps[0], statuses) or ([sweeps[0]] if is_run(sweeps[0]) else [])
    return [p for s in sweeps for p in (job_folders(s) or ([s] if is_run(s) else []))]


def state_file(path: Path, read: Callable[[], Any]) -> Any:
    """`read()`, which parses the YAML record `path` of a job; a damaged one is a StateFileError naming it."""
    try:
        return read()
    except (yaml.YAMLError, OmegaConfBaseException, UnicodeDecodeError, ValueError, TypeError, AttributeError) as err:
        raise StateFileError(f"{path} is damaged ({str(err).splitlines()[0]}): restore it, or move the job's folder "
                             "out of the sweep folder to report the other jobs") from None


# report.csv's provenance columns: what a job's numbers were computed with, beyond its settings
PROVENANCE = ("precision", "device", "device_model", "commit", "evaluator")
METRICS_FIX = "delete it to report the job from its metrics.jsonl (or TensorBoard events), or run the job again"
NUMBER = (int, float, type(None))
METRICS_KEYS = {"iterations": int, "images_per_s": NUMBER, "wall_time_s": NUMBER, "final": dict}


def read_summary(path: Path) -> dict[str, Any] | None:
    """A job's metrics.json (None when it has none); damaged or lacking what the report reads: StateFileError."""
    metrics = read_json(path, METRICS_FIX)
    if metrics is None:
        return None
    for key, kind in METRICS_KEYS.items():
        if key not in metrics or not isinstance(metrics[key], kind):
            raise StateFileError(f"{path} has no {key} of the right type (not a run's metrics): {METRICS_FIX}")
    if not all(isinstance(v, NUMBER) for v in metrics["final"].values()):
        raise StateFileError(f"{path}: a final metric is not a number: {METRICS_FIX}")
    return metrics


def apply_summary(job: Job, metrics: dict[str, Any]) -> None:
    """What a job's metrics.json says into `job` (a null, written for a non-finite value, reads as NaN)."""
    # every process of a resumed or extended run (older metrics.json: the last process only)
    job.iterations, job.wall_time_s = metrics["iterations"], metrics.get("total_wall_time_s", metrics["wall_time_s"])
    job.images_per_s = metrics["images_per_s"]
    job.final.update({k: math.nan if v is None else v for k, v in metrics["final"].items()})
    job.final.update({k: metrics[k] for k in ("epoch_seconds", "steps_to_acc") if metrics.get(k) is not None})
    recorded = metrics.get("provenance") if isinstance(metrics.get("provenance"), dict) else {}
    measured = metrics.get("measured_with") if isinstance(metrics.get("measured_with"), dict) else {}
    found = {**recorded, "evaluator": measured.get("evaluator_sha256")}
    job.provenance = {key: "" if found.get(key) is None else str(found[key]) for key in PROVENANCE}
    best = metrics.get("best") or {}
    if isinstance(best, dict) and isinstance(best.get("value"), int | float) and isinstance(best.get("metric"), str):
        job.best = {best["metric"]: best["value"]}


def read_job(path: Path, id: str, known: dict | None) -> Job:
    """One job as its folder holds it (`known`: its status from the sweep's ledger). A damaged status.json,
    metrics.json or metrics.jsonl makes it a `damaged` job with what it still has; a damaged record of its settings
    (.hydra/) is a StateFileError, since the job could not be placed in the table."""
    overrides = state_file(path / ".hydra" / "overrides.yaml", lambda: job_overrides(path))
    job = Job(path, overrides, "no status", id=id)
    # a run from before metrics.jsonl: its TensorBoard events, where its (readable) record of settings puts them
    events = None if (path / STORE).exists() else \
        state_file(path / ".hydra" / "hydra.yaml", lambda: tensorboard_dir(path))
    try:
        job.curves = read_metrics(path, events)
    except StateFileError as err:
        job.status, job.damaged = "damaged", str(err)
    job.final = {tag: points[-1][1] for tag, points in job.curves.items() if points}
    try:
        job.status = (known or read_status(path)).get("status", "no status") if not job.damaged else "damaged"
        metrics = read_summary(path / "metrics.json")
    except StateFileError as err:
        job.status, job.damaged, metrics = "damaged", job.damaged or str(err), None
    if metrics is not None:
        apply_summary(job, metrics)
    elif job.curves:
        job.iterations = max(step for points in job.curves.values() for step, _ in points)
    return job


def collect(sweeps: list[Path], statuses: dict[str, dict]) -> list[Job]:
    """Every job of the sweep folders (`statuses`: the sweep's ledger, jobs that stopped outside their folder)."""
    jobs = []
    for path in job_paths(sweeps, statuses):
        id = f"{path.parent.name}/{path.name}" if len(sweeps) > 1 else path.name
        if "overrides" in statuses.get(path.name, {}):  # stopped at a check: its folder holds nothing of it
            jobs.append(Job(path, statuses[path.name]["overrides"], statuses[path.name]["status"], id=id))
        else:
            jobs.append(read_job(path, id, statuses.get(path.name)))
    if len(jobs) > 1:
        common = frozenset.intersection(*(frozenset(j.overrides) for j in jobs))
        for job in jobs:
            job.common = common
    return jobs


def sweep_monitor(sweep: Path) -> str:
    """The metric the sweep's jobs (or the run folder's job) monitored (their `monitor`), which the report ranks by
    unless told otherwise."""
    for path in job_folders(sweep) or [Path(sweep)]:
        config = next((c for c in (path / ".hydra" / "config.yaml", path / "config.yaml") if c.is_file()), None)
        if config is not None:
            monitor = state_file(config, lambda c=config: OmegaConf.load(c).get("monitor"))
            return monitor if isinstance(monitor, str) and monitor else "fid_eval"
    return "fid_eval"

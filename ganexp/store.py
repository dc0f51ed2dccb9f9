"""ganexp's own record of a run's numbers: `<run>/metrics.jsonl`, one JSON line per log call, and its reader.

Every run writes it, whatever loggers `logger=` chose (TensorBoard, CSV, MLflow, W&B are views for people; this
file is what `ganexp.report`, `ganexp.jobs` and `extend_from` read). A line is

    {"step": 120, "time": 1733300000.123, "metrics": {"loss/d": 0.69, "loss/g": 0.71, ...}}

`step` is ganexp's iteration (the x-axis of every logger), `time` the Unix time of the write; a value that is not
a finite number is written as the text "nan", "inf" or "-inf" (the file stays strict JSON and keeps which one it
was). Each line is flushed as it is written, so a killed run keeps everything it logged; a line cut short by the
kill is dropped when the run resumes (and skipped by the reader). A resumed run first drops the lines after the
iteration its checkpoint holds (`rewind`): that work is redone, so the file holds each iteration once, as an
uninterrupted run's would. `ganexp.loggers.MetricsStore` is the Lightning logger that writes it (rank 0 only).

`read_metrics(run)` gives the run's curves, {name: [(step, value), ...]}; for a run from before this file it
reads the run's TensorBoard events instead. torch-free.
"""

import json
import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf.errors import OmegaConfBaseException
from yaml import YAMLError

from ganexp.atomic import atomic_write
from ganexp.errors import StateFileError

STORE = "metrics.jsonl"
Curves = dict[str, list[tuple[int, float]]]


def encode(value: float) -> float | str:
    """A value as the file holds it: a finite number as itself, NaN and infinities as text."""
    return value if math.isfinite(value) else str(value)


def decode(value: Any) -> float:
    """The inverse of `encode` (a null, written by older tools for a non-finite value, reads as NaN)."""
    return math.nan if value is None else float(value)


def scalar(value: Any) -> float | None:
    """A logged value as a float (a 0-d tensor or numpy number too); None for what is not a number."""
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError, RuntimeError):
        return None


class Store:
    """The writing side of `<run_dir>/metrics.jsonl`: `append` one log call, `rewind` to a resumed iteration."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / STORE
        self._file = None

    def append(self, metrics: Mapping[str, Any], step: int | None) -> None:
        """One line for one log call (values that are not numbers are left out), flushed at once."""
        values = {k: scalar(v) for k, v in metrics.items()}
        record = {"step": step, "time": round(time.time(), 3),
                  "metrics": {k: encode(v) for k, v in values.items() if v is not None}}
        if not record["metrics"]:
            return
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a")  # noqa: SIM115 (kept open for the run; closed by close())
        self._file.write(json.dumps(record, allow_nan=False) + "\n")
        self._file.flush()

    def rewind(self, step: int) -> None:
        """Keep the lines up to `step` (the iteration a resumed run continues from), drop those after it and a line
        cut short by a kill; the file is rewritten whole (atomically) only when something is dropped."""
        self.close()
        if not self.path.exists():
            return
        lines = self.path.read_text().splitlines(keepends=True)
        kept = [line for line, record in zip(lines, parse_lines(lines, self.path), strict=True)
                if record is not None and (record["step"] is None or record["step"] <= step)]
        if kept and not kept[-1].endswith("\n"):  # a kill between a line and its newline
            kept[-1] += "\n"
        if kept != lines:
            atomic_write(self.path, lambda f: f.writelines(kept))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def parse_lines(lines: list[str], path: Path) -> list[dict | None]:
    """Each line's record; None for a last line cut short (a kill mid-write). Any other line that is not a record
    is a StateFileError naming the file and line."""
    records: list[dict | None] = []
    for num, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("metrics"), dict) \
                    or not isinstance(record.get("step"), int | None):
                raise ValueError("not a {step, metrics} record")
            records.append(record)
        except ValueError as err:  # json.JSONDecodeError is one
            if num == len(lines) and not line.endswith("\n"):
                records.append(None)
                continue
            raise StateFileError(f"{path} line {num} is damaged ({str(err).splitlines()[0]}): delete that line, or "
                                 "the file to report the run from its TensorBoard events") from None
    return records


def read_store(path: Path) -> Curves:
    """{name: [(step, value), ...]} from a metrics.jsonl, sorted by step; a step logged twice keeps its last value."""
    lines = Path(path).read_text().splitlines(keepends=True)
    points: dict[str, dict[int, float]] = {}
    for record in parse_lines(lines, Path(path)):
        if record is None or record["step"] is None:
            continue
        for name, value in record["metrics"].items():
            try:
                points.setdefault(name, {})[record["step"]] = decode(value)
            except (TypeError, ValueError):
                raise StateFileError(f"{path}: {name} at step {record['step']} is {value!r}, not a number: delete "
                                     "that line") from None
    return {name: sorted(by_step.items()) for name, by_step in points.items()}


def read_events(log_dir: Path) -> Curves:
    """{tag: [(step, value), ...]} of a TensorBoard events folder ({} when there is none)."""
    if not Path(log_dir).is_dir():
        return {}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logging.getLogger("tensorboard").setLevel(logging.WARNING)  # its directory watcher narrates every file
    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def read_metrics(run_dir: str | Path, events: Path | None = None) -> Curves:
    """A run's curves, {name: [(step, value), ...]}: from its metrics.jsonl, or for a run written before ganexp kept
    one, from its TensorBoard events (`events`, by default where the run's record puts them: `<run>/tb`, or a
    sweep's `<sweep>/tb/<job>`). A damaged file is a StateFileError naming it."""
    run_dir = Path(run_dir)
    if (run_dir / STORE).exists():
        return read_store(run_dir / STORE)
    if events is None:
        from ganexp.rundir import tensorboard_dir

        try:
            events = tensorboard_dir(run_dir)
        except (YAMLError, OmegaConfBaseException, UnicodeDecodeError, ValueError, AttributeError) as err:
            raise StateFileError(f"{run_dir / '.hydra' / 'hydra.yaml'} is damaged ({str(err).splitlines()[0]}): "
                                 "restore it, or move the job's folder out of the sweep folder to report the other "
                                 "jobs") from None
    return read_events(events)

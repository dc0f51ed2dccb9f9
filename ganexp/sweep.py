"""A sweep as a whole: its job folders, each job's overrides, and the verdict printed at the end of a multirun.

A job that cannot run because its folder belongs to another live process (the same sweep started twice) must not
touch that folder, so it records its failure in the sweep's ledger, `<sweep>/.ledger/<token>/<job>.json`, where
<token> names this launch of the sweep (set in the environment before any job starts, inherited by launcher
workers). torch-free.
"""

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from ganexp.atomic import write_json
from ganexp.rundir import read_status

log = logging.getLogger(__name__)
TOKEN = "GANEXP_SWEEP_TOKEN"
HOW_NOT_WHAT = ("resume", "trainer.progress", "hydra.verbose")  # overrides that say how a job runs, not what


def job_folders(sweep: Path) -> list[Path]:
    """The sweep's job folders in job order (0, 1, ..., 10)."""
    return sorted((p for p in Path(sweep).iterdir() if (p / ".hydra").is_dir()), key=lambda p: (len(p.name), p.name))


def job_overrides(job: Path) -> list[str]:
    """The job's own command-line overrides, without those that only say how it runs."""
    path = Path(job) / ".hydra" / "overrides.yaml"
    if not path.exists():
        return []
    return [o for o in OmegaConf.load(path) if o.split("=", 1)[0].lstrip("+~") not in HOW_NOT_WHAT]


def record_outside(run_dir: Path, error: str) -> None:
    """Note a job's failure in the sweep's ledger instead of in its (someone else's) folder."""
    token = os.environ.get(TOKEN)
    if token:
        write_json(Path(run_dir).parent / ".ledger" / token / f"{Path(run_dir).name}.json",
                   {"status": "failed", "error": error})


class SweepStatus(Callback):
    """At the end of a multirun: one line per job with its status, the sweep report (`ganexp.report`), and a
    non-zero exit if any job failed."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        os.environ[TOKEN] = f"{os.getpid()}-{time.time_ns()}"

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep = Path(config.hydra.sweep.dir)
        ledger = sweep / ".ledger" / os.environ.get(TOKEN, "none")
        rows, outside = [], {}
        for job in job_folders(sweep):
            entry = ledger / f"{job.name}.json"
            if entry.exists():
                outside[job.name] = json.loads(entry.read_text())
            status = outside.get(job.name) or read_status(job)
            rows.append((job.name, status.get("status", "no status"), ",".join(job_overrides(job)) or job.name,
                         status.get("error", "")))
        shutil.rmtree(ledger, ignore_errors=True)
        if ledger.parent.is_dir() and not any(ledger.parent.iterdir()):
            ledger.parent.rmdir()
        print(f"\nsweep {sweep}: {len(rows)} jobs")
        for num, status, name, error in rows:
            print(f"  {num:>3}  {status:<11} {name}" + (f"  ({error.splitlines()[0]})" if error else ""))
        try:
            from ganexp.report import write_report

            write_report(sweep, config.get("monitor", "fid_eval"), outside)
            print(f"report: {sweep / 'report.md'}")
        except Exception:  # the report must never hide the jobs' own outcome
            log.exception("writing the sweep report failed")
        failed = [r for r in rows if r[1] not in ("completed", "diverged")]
        if failed:
            raise SystemExit(f"{len(failed)} of {len(rows)} jobs did not complete")

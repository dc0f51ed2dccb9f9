"""A sweep as data: its job folders, each job's overrides, and the ledger of jobs that failed outside their folder.

A job that cannot run because its folder belongs to another live process (the same sweep started twice) must not
touch that folder, so it records its failure in the sweep's ledger, `<sweep>/.ledger/<token>/<job>.json`, where
<token> names this launch of the sweep (set in the environment before any job starts, inherited by launcher
workers). torch-free.
"""

import json
import os
from pathlib import Path

from omegaconf import OmegaConf

from ganexp.atomic import write_json

TOKEN = "GANEXP_SWEEP_TOKEN"
# overrides that say how a job runs, not what (a run extended from a shorter one is the longer run)
HOW_NOT_WHAT = ("resume", "extend_from", "trainer.progress", "hydra.verbose")


def job_folders(sweep: Path) -> list[Path]:
    """The sweep's job folders in job order (0, 1, ..., 10)."""
    return sorted((p for p in Path(sweep).iterdir() if (p / ".hydra").is_dir()), key=lambda p: (len(p.name), p.name))


def how_left_out(overrides: list[str]) -> list[str]:
    """Overrides without those that only say how a job runs."""
    return [o for o in overrides if o.split("=", 1)[0].lstrip("+~") not in HOW_NOT_WHAT]


def job_overrides(job: Path) -> list[str]:
    """The job's own command-line overrides, without those that only say how it runs."""
    path = Path(job) / ".hydra" / "overrides.yaml"
    if not path.exists():
        return []
    return how_left_out(list(OmegaConf.load(path)))


def record_outside(run_dir: Path, error: str) -> None:
    """Note a job's failure in the sweep's ledger instead of in its folder: a job that stops at a check leaves its
    folder as it was (it may hold another run's results, or belong to another live process). The entry keeps the
    job's overrides, so the sweep's table names the job that failed."""
    from hydra.core.hydra_config import HydraConfig

    token = os.environ.get(TOKEN)
    overrides = how_left_out(list(HydraConfig.get().overrides.task)) if HydraConfig.initialized() else []
    if token:
        write_json(Path(run_dir).parent / ".ledger" / token / f"{Path(run_dir).name}.json",
                   {"status": "failed", "error": error, "overrides": overrides})


def ledger(sweep: Path, token: str) -> dict[str, dict]:
    """The sweep's ledger for one launch: {job folder name: entry}."""
    folder = Path(sweep) / ".ledger" / token
    if not folder.is_dir():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def sweep_jobs(sweep: Path, outside: dict[str, dict]) -> list[Path]:
    """The sweep's job folders in job order: those that ran (`job_folders`) and those that stopped at a check
    (named in the ledger entries `outside`, their folders left as they were)."""
    ran = job_folders(sweep)
    stopped = [Path(sweep) / name for name in outside if Path(sweep) / name not in ran]
    return sorted([*ran, *stopped], key=lambda p: (len(p.name), p.name))

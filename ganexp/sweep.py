"""A sweep as data: its job folders, each job's overrides, and the ledger of jobs that failed outside their folder.

A job that cannot run because its folder belongs to another live process (the same sweep started twice) must not
touch that folder, so it records its failure in the sweep's ledger, `<sweep>/.ledger/<token>/<job>.json`, where
<token> names this launch of the sweep (set in the environment before any job starts, inherited by launcher
workers). torch-free.
"""

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

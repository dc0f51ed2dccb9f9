"""What the ranks of a DDP run agree on, checked on one CPU process with the collective calls replaced by what they
return on two ranks (the real two-process run: tests/e2e/test_launchers.py::test_ddp_over_two_cpu_processes).

The tests that start processes of this subject; the others are in tests/unit/test_ranks.py."""

import os
import subprocess
import sys

import pytest
from conftest import ROOT
from lightning_fabric.utilities.rank_zero import _get_rank
from pytorch_lightning.utilities.rank_zero import rank_zero_only

from ganexp.ranks import launched_worker

RANK_VARIABLES = ("RANK", "LOCAL_RANK", "SLURM_PROCID", "NODE_RANK")


def test_a_task_srun_started_above_0_is_a_worker_from_its_first_import():
    """srun sets SLURM_PROCID only: its tasks above 0 used to take rank 0's path (lock, checks, status.json). A fresh
    process, since Lightning reads the rank once, as it is imported."""
    env = {k: v for k, v in os.environ.items() if k not in RANK_VARIABLES}
    env["SLURM_PROCID"] = "1"
    out = subprocess.run([sys.executable, "-c", "from ganexp.ranks import launched_worker; print(launched_worker())"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.stdout.strip() == "True", out.stderr[-2000:]


@pytest.mark.parametrize(("variable", "worker"), [("SLURM_PROCID", True), ("RANK", True), ("LOCAL_RANK", True),
                                                  ("NODE_RANK", True), ("SLURM_PROCID=0", False), ("", False)])
def test_a_rank_above_0_is_recognised_however_it_was_started(variable, worker, monkeypatch):
    """Each launcher's variable, with the rank Lightning's import takes from it (`rank_zero_only.rank =
    _get_rank() or 0`, lightning_fabric/utilities/rank_zero.py) set as a fresh process would have it."""
    for name in RANK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if variable:
        name, _, value = variable.partition("=")
        monkeypatch.setenv(name, value or "1")
    monkeypatch.setattr(rank_zero_only, "rank", _get_rank() or 0)
    assert launched_worker() is worker

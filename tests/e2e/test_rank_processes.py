"""What the ranks of a DDP run agree on, checked on one CPU process with the collective calls replaced by what they
return on two ranks (the real two-process run: tests/e2e/test_launchers.py::test_ddp_over_two_cpu_processes).

The tests that start processes of this subject; the others are in tests/unit/test_ranks.py."""

import os
import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.parametrize(("variable", "worker"), [("SLURM_PROCID", True), ("RANK", True), ("LOCAL_RANK", True),
                                                  ("NODE_RANK", True), ("SLURM_PROCID=0", False)])
def test_a_rank_above_0_is_recognised_however_it_was_started(variable, worker):
    """srun sets SLURM_PROCID only: its tasks above 0 used to take rank 0's path (lock, checks, status.json)."""
    name, _, value = variable.partition("=")
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "NODE_RANK")}
    env[name] = value or "1"
    out = subprocess.run([sys.executable, "-c", "from ganexp.ranks import launched_worker; print(launched_worker())"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.stdout.strip() == str(worker), out.stderr[-2000:]

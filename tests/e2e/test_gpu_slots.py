"""Spreading a sweep's parallel jobs over a host's GPUs (ganexp.gpus), checked on the CPU with hand-made hosts.

The tests that start processes of this subject; the others are in tests/unit/test_gpus.py."""

import subprocess
import sys

from conftest import ROOT

from ganexp.gpus import claim_slot


def test_each_live_process_holds_its_own_slot(tmp_path):
    """This process claims slot 0 (and keeps it on a second call); a second process meanwhile gets slot 1; once it
    has ended, its slot is free again."""
    claim = f"from ganexp.gpus import claim_slot; print(claim_slot({str(tmp_path)!r}))"
    assert claim_slot(tmp_path) == 0 and claim_slot(tmp_path) == 0
    other = subprocess.run([sys.executable, "-c", claim], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert other.stdout.strip() == "1", other.stderr
    again = subprocess.run([sys.executable, "-c", claim], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert again.stdout.strip() == "1"  # the first one's slot 1 was freed when it ended; 0 is still ours

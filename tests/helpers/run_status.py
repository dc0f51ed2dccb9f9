"""Waiting on a live `run.py` process for the status its run folder reports."""

import json
import time


def wait_for_status(job, wanted: str, proc, timeout: float = 120) -> None:
    """Wait until `job`'s status.json says `wanted`; `proc` (a `subprocess.Popen` or a `helpers.in_process.Forked`)
    must stay alive meanwhile."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if json.loads((job / "status.json").read_text())["status"] == wanted:
                return
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise TimeoutError(f"{job} never reached {wanted}")

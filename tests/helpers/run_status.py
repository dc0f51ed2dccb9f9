"""Waiting on a live `run.py` process for the status its run folder reports."""

import json
import subprocess
import time


def wait_for_status(job, wanted: str, proc: subprocess.Popen, timeout: float = 120) -> None:
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

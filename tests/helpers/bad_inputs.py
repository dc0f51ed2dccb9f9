"""Running `run.py`'s entry point in this process and checking that a refused job left its earlier results alone:
what the bad-input tests (e2e/test_bad_inputs.py, integration/test_inception_runs.py) share."""

import importlib.util
import sys
from pathlib import Path

from conftest import ROOT
from hydra.core.global_hydra import GlobalHydra

from ganexp.errors import report_errors

SMOKE = ["debug=smoke", "eval.enabled=false"]
EARLIER = {"metrics.json": '{"earlier": true}', "status.json": '{"status": "completed", "metric": 1.5}',
           "checkpoints/last.ckpt": "weights", "tb/events.out.tfevents.1": "events", "samples/iter_000008.png": "png"}


def _run_module():
    spec = importlib.util.spec_from_file_location("ganexp_run_entry", ROOT / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ENTRY = _run_module()


def earlier_results(job: Path) -> None:
    for name, text in EARLIER.items():
        (job / name).parent.mkdir(parents=True, exist_ok=True)
        (job / name).write_text(text)


def assert_left_alone(job: Path) -> None:
    for name, text in EARLIER.items():
        assert (job / name).read_text() == text, name
    assert not (job / "previous").exists() and not (job / "config.yaml").exists()


def run_entry(argv: list[str], monkeypatch) -> int:
    monkeypatch.setattr(sys, "argv", ["run.py", *argv])
    monkeypatch.setenv("HYDRA_MAIN_MODULE", "__main__")  # Hydra finds conf/ beside run.py, as for `python run.py`
    GlobalHydra.instance().clear()
    try:
        return report_errors(ENTRY.main)
    except SystemExit as stop:
        return stop.code
    finally:
        GlobalHydra.instance().clear()

"""The hostile-input suite: one table of what a hostile user or a failing machine does to ganexp, and one test.

Each row (tests/helpers/hostile.py's `Case`) asserts the exit status, one `error:` line naming the culprit, no
traceback, and that the run folder is byte-identical afterwards (or, for faults in the middle of a run, that nothing
earlier was lost). The rows are kept by area in tests/helpers/hostile_*.py; TABLE below is all of them.

This is the one place where a bad input a user can give (a config value or key, a data file, a state file, a tool
argument) is tested end to end: a new one is a row, not a test elsewhere. Rows run in this process (the command's own
code path) except a few processes (the exit status the shell sees). tests/unit keeps a reader's or validator's
own function-level checks; tests/integration/test_config.py the values accepted at a range's boundary. The one bad
input that is wanted with its traceback, HYDRA_FULL_ERROR=1, is the plain test at the end.
"""

import logging
import os

import pytest
from helpers.hostile import SMOKE, Ctx, earlier_results, snapshot
from helpers.hostile_config import CASES as CONFIG
from helpers.hostile_data import CASES as DATA
from helpers.hostile_entry import CASES as ENTRY
from helpers.hostile_runs import CASES as RUNS
from helpers.hostile_signals import CASES as SIGNALS
from helpers.in_process import Forked, run_py

from ganexp.errors import ConfigError

TABLE = [*CONFIG, *DATA, *RUNS, *SIGNALS, *ENTRY]
AREAS = ("config", "data", "state", "signal", "kill", "filesystem", "entry")


def test_the_table_is_whole():
    ids = [case.id for case in TABLE]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(TABLE) >= 100
    assert {case.area for case in TABLE} == set(AREAS)


@pytest.mark.parametrize("case", TABLE, ids=[case.id for case in TABLE])
def test_hostile(case, tmp_path, monkeypatch, capfd):
    # Hydra's in-process runs configure the root logger with a console handler on the stream of the moment; restored
    # after the case, so a later case never logs to a stream pytest has closed
    handlers = [h for h in logging.getLogger().handlers
                if not (isinstance(h, logging.StreamHandler) and getattr(h.stream, "closed", False))]
    monkeypatch.setattr(logging.getLogger(), "handlers", handlers)
    ctx = Ctx(tmp=tmp_path, job=tmp_path / "job", root=tmp_path / "data", monkeypatch=monkeypatch, capfd=capfd)
    earlier_results(ctx.job)
    monkeypatch.chdir(tmp_path)
    if case.setup:
        case.setup(ctx)
    capfd.readouterr()
    before = snapshot(ctx.job)
    outcome = case.act(ctx)
    err = outcome.err
    assert outcome.code == case.exit, f"exit {outcome.code}, wanted {case.exit}:\n{err[-3000:]}"
    assert "Traceback" not in err and "Error executing job" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    if case.names is None:
        assert not errors, err[-3000:]
    else:
        assert len(errors) == 1, err[-3000:]
        names = ctx.words((case.names,))[0]
        assert names in errors[0], f"{names!r} not in {errors[0]!r}"
    if case.untouched:
        assert snapshot(ctx.job) == before, "the run folder changed"
    if case.check:
        case.check(ctx, outcome)


def test_hydra_full_error_shows_the_traceback(tmp_path, monkeypatch, capfd):
    """In a process of its own (forked: the table's fresh interpreter is "data: missing data folder, in a real
    process"), and in this one, where the variable is set after ganexp was imported: it is read when a command runs."""
    proc = Forked([*SMOKE, "data.image_size=48", f"hydra.run.dir={tmp_path / 'job'}"], tmp_path,
                  env={"HYDRA_FULL_ERROR": "1"})
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1 and "Traceback" in err and "data.image_size=48" in err
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(ConfigError, match="data.image_size=48"):
        run_py([*SMOKE, "data.image_size=48", f"hydra.run.dir={tmp_path / 'again'}"], monkeypatch, capfd)
    assert os.environ["HYDRA_FULL_ERROR"] == "1"  # the user's, left as it was

"""The hostile-input suite's case type and the ways a case runs (tests/e2e/test_hostile.py holds the one table).

A case is one thing a hostile user or a failing machine does to ganexp: a bad config value or key, a broken data file,
a damaged state file, a signal, a kill -9, a filesystem fault, a wrong argument to a tool. Each case asserts the exit
status, exactly one `error: ...` line naming the culprit (when an error is expected), no traceback, and that the
run folder is byte-identical afterwards (`untouched`) or, for faults in the middle of a run, its own `check`.

This table is the one place where a bad input a user can give is tested end to end: a new one is a row here, not a
test elsewhere. What stays in tests/unit is a reader's or validator's own function-level checks (the line and column
a parser reports, a range's boundaries) and the misuse of an internal API by code.
"""

import hashlib
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from conftest import ROOT, SMOKE

from helpers.in_process import Forked, Outcome, run_py, run_tool

# What an earlier run of the job left in its folder: every case checks that it is still there, byte for byte.
EARLIER = {"metrics.json": '{"earlier": true}', "status.json": '{"status": "completed", "metric": 1.5}',
           "checkpoints/last.ckpt": "weights", "tb/events.out.tfevents.1": "events", "samples/iter_000008.png": "png"}


@dataclass
class Ctx:
    """Where a case runs: `tmp` (the test's folder, the working directory), `job` (the run folder the command
    writes to, holding EARLIER unless the case's setup replaces it) and `root` (a data folder the setup may fill)."""

    tmp: Path
    job: Path
    root: Path
    monkeypatch: object
    capfd: object
    extra: dict = field(default_factory=dict)

    def words(self, args: tuple[str, ...]) -> list[str]:
        return [a.format(root=self.root, job=self.job, tmp=self.tmp) for a in args]


@dataclass(frozen=True)
class Case:
    """One row of the table. `act(ctx)` does the hostile thing and returns its Outcome; `names` is what the one
    error line must contain (None: no error line is expected, e.g. a clean interruption); `exit` the status;
    `untouched`: the job folder must be byte-identical afterwards; `check(ctx, outcome)`: further assertions."""

    id: str
    area: str  # config | data | state | signal | kill | filesystem | entry
    act: Callable[[Ctx], Outcome]
    names: str | None
    exit: int = 2
    untouched: bool = True
    setup: Callable[[Ctx], None] | None = None
    check: Callable[[Ctx, Outcome], None] | None = None


def earlier_results(job: Path) -> None:
    for name, text in EARLIER.items():
        (job / name).parent.mkdir(parents=True, exist_ok=True)
        (job / name).write_text(text)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (hidden ones too) as {relative path: sha256}; a folder as '<dir>'."""
    if not folder.exists():
        return {}
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_dir():
            out[rel] = "<dir>"
        elif path.name != ".lock":  # the OS lock file is rewritten with the owner's pid by design
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def run_in_process(ctx: Ctx, argv: list[str]) -> Outcome:
    """`python run.py argv` in this process (the command's own code path, without the start-up cost)."""
    return run_py(argv, ctx.monkeypatch, ctx.capfd)


def tool_in_process(ctx: Ctx, tool: str, argv: list[str]) -> Outcome:
    """`python -m ganexp.<tool> argv` in this process."""
    return run_tool(tool, argv, ctx.capfd)


def process(args: list[str], cwd: Path, timeout: float = 300, env: dict | None = None) -> Outcome:
    """A real process: `args` after the interpreter (e.g. ["run.py", ...] or ["-m", "ganexp.report", ...])."""
    script = [str(ROOT / args[0]), *args[1:]] if args[0].endswith(".py") else args
    done = subprocess.run([sys.executable, *script], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)
    return Outcome(done.returncode, done.stderr, done.stdout)


# Row makers for the common shapes of a case.

def run_case(id: str, area: str, args: tuple[str, ...] | list[str], names: str | None, *, smoke: bool = True,
             setup: Callable[[Ctx], None] | None = None, exit: int = 2,
             check: Callable[[Ctx, Outcome], None] | None = None) -> Case:
    """`python run.py [debug=smoke eval.enabled=false] args hydra.run.dir=<job>`, in this process (args that name
    their own hydra.run.dir or hydra.sweep.dir keep it)."""
    flags = tuple(a for a in args if a.startswith("-"))  # -m goes before the overrides
    words = (*flags, *(SMOKE if smoke else ()), *(a for a in args if not a.startswith("-")))
    own = any(a.startswith(("hydra.run.dir=", "hydra.sweep.dir=")) for a in args)  # else the job folder
    return Case(id, area, lambda ctx: run_in_process(ctx, [*ctx.words(words), *([] if own else
                                                                                 [f"hydra.run.dir={ctx.job}"])]),
                names, exit=exit, setup=setup, check=check)


def process_case(id: str, area: str, args: tuple[str, ...] | list[str], names: str, *,
                 setup: Callable[[Ctx], None] | None = None, exit: int = 2) -> Case:
    """`python run.py debug=smoke eval.enabled=false args hydra.run.dir=<job>` as a real process: the exit status the
    shell sees, and the one error line as the last line of stderr. A process costs ~8 s of start-up: keep these few."""
    def act(ctx: Ctx) -> Outcome:
        return process(["run.py", *SMOKE, *ctx.words(tuple(args)), f"hydra.run.dir={ctx.job}"], cwd=ctx.tmp)
    return Case(id, area, act, names, exit=exit, setup=setup, check=error_last)


def forked_case(id: str, area: str, args: tuple[str, ...] | list[str], names: str, *, exit: int = 2) -> Case:
    """`python run.py debug=smoke eval.enabled=false args hydra.run.dir=<job>` in a process of its own forked from
    this one (`Forked`): the exit status and the one error line as the last line of stderr, as a process ends,
    without a fresh interpreter's start-up (process_case keeps one of those)."""
    def act(ctx: Ctx) -> Outcome:
        proc = Forked([*SMOKE, *ctx.words(tuple(args)), f"hydra.run.dir={ctx.job}"], ctx.tmp)
        out, err = proc.communicate(timeout=300)
        return Outcome(proc.returncode, err, out)
    return Case(id, area, act, names, exit=exit, check=error_last)


def error_last(ctx: Ctx, outcome: Outcome) -> None:
    """A check: the one error line is the last line of standard error, as a process ends."""
    assert outcome.err.strip().splitlines()[-1].startswith("error: "), outcome.err[-2000:]


def only_line(line: str) -> Callable[[Ctx, Outcome], None]:
    """A check: standard error is `line` and nothing else ({tmp}, {job}, {root} filled in)."""
    def check(ctx: Ctx, outcome: Outcome) -> None:
        assert outcome.err.strip() == ctx.words((line,))[0], outcome.err[-2000:]
    return check


def tool_case(id: str, tool: str, args: tuple[str, ...] | list[str], names: str, *,
              setup: Callable[[Ctx], None] | None = None, exit: int = 2,
              check: Callable[[Ctx, Outcome], None] | None = None) -> Case:
    """`python -m ganexp.<tool> args`, in this process ({job}, {root}, {tmp} in args are filled in)."""
    return Case(id, "entry", lambda ctx: tool_in_process(ctx, tool, ctx.words(tuple(args))), names, exit=exit,
                setup=setup, check=check)

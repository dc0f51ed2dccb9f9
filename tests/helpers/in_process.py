"""`python run.py ...` and `python -m ganexp.<tool> ...` run in the test's own process: the command's own code path
(Hydra's main, its launcher, a sweep's table, report and exit status; a tool's one error line), without the start-up
of a second interpreter (importing torch, Lightning and Hydra: ~8 s of a core, more than a smoke run's training).

A test whose subject is the process itself (the exit status the shell sees, a signal, a lock held by another pid, a
launcher's own worker processes) starts a real one: `Forked` (below) where the interpreter's own start-up is not
the subject, a fresh `python run.py` where it is; a test that runs several commands in a row may start the first as
a real process and run the others here."""

import importlib
import importlib.util
import logging
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass

from conftest import ROOT, THREADS
from hydra.core.global_hydra import GlobalHydra

from ganexp.errors import report_errors, tool_main


@dataclass
class Outcome:
    code: int | None
    err: str  # standard error (the one error line goes there)
    out: str = ""


_ENTRY = None


def exit_status(stop: SystemExit) -> int:
    """The status the interpreter ends with on `stop`: its code; 0 for None; 1 for a message (printed to stderr)."""
    if stop.code is None:
        return 0
    if not isinstance(stop.code, int):
        print(stop.code, file=sys.stderr)
        return 1
    return stop.code


def entry():
    """run.py as a module (imported once per test process)."""
    global _ENTRY
    if _ENTRY is None:
        spec = importlib.util.spec_from_file_location("ganexp_run_entry", ROOT / "run.py")
        _ENTRY = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_ENTRY)
    return _ENTRY


def run_py(argv: list[str], monkeypatch, capfd) -> Outcome:
    """`python run.py argv` in this process, from the current working directory: its exit status and what it wrote
    (read from `capfd`, pytest's capture of the test)."""
    monkeypatch.setattr(sys, "argv", ["run.py", *argv])
    monkeypatch.setenv("HYDRA_MAIN_MODULE", "__main__")  # Hydra finds conf/ beside run.py
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    GlobalHydra.instance().clear()
    try:
        code = report_errors(entry().main)
    except SystemExit as stop:
        code = exit_status(stop)
    finally:
        GlobalHydra.instance().clear()
        # Hydra's job logging put a console handler on the stream of the moment, which pytest closes after the test:
        # the root logger is given back as it was, so no later test logs to a closed stream
        root.handlers[:] = handlers
        root.setLevel(level)
    captured = capfd.readouterr()
    return Outcome(code, captured.err, captured.out)


def run_tool(tool: str, argv: list[str], capfd) -> Outcome:
    """`python -m ganexp.<tool> argv` in this process."""
    module = importlib.import_module(f"ganexp.{tool}")
    try:
        tool_main(lambda: module.main(argv))
        code = 0
    except SystemExit as stop:
        code = exit_status(stop)
    captured = capfd.readouterr()
    return Outcome(code, captured.err, captured.out)


def Forked(argv: list[str], cwd, env: dict[str, str] | None = None,  # noqa: N802 (named as a class)
           module: str | None = None) -> "Started":
    """`python run.py argv` (or `python -m module argv`) as a process of its own (`Fork`), or, where this process
    has run torch on more than one thread, a fresh interpreter: GNU OpenMP's thread pool does not survive fork, so a
    forked child that runs two threads waits forever at its first parallel operation for pool threads that stayed in
    the parent. pytest-xdist's workers run one thread (conftest.THREADS), so `make test` forks; a single pytest
    process (make test-full) has two and pays the start-up instead. Either has the interface of `subprocess.Popen`
    the tests use; `env` is added to this process's environment."""
    if THREADS == 1:  # the count this process has run with from its start, not the moment's (one_thread lowers it)
        return Fork(argv, cwd, env, module)
    command = ["-m", module] if module else [str(ROOT / "run.py")]
    return subprocess.Popen([sys.executable, *command, *argv], cwd=cwd, env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Fork:
    """`python run.py argv` (or `python -m module argv`, run as `-m` runs it: runpy with `__name__ == "__main__"`) as
    a process of its own, forked from this one: its own pid, signals, locks and exit
    status, without a fresh interpreter's start-up (importing torch, Lightning and Hydra again: ~6 s of a core). The
    child runs what `python run.py` runs from its first line of `main` on, with SIGINT and SIGTERM at their defaults
    (as run.py sets SIGINT during its start-up), and ends with the exit status the interpreter would give: the
    `sys.exit` code, 1 after a traceback, or death by a signal (a negative `returncode`, as `subprocess` reports it).
    Only the start-up itself (a signal during imports) needs `subprocess`. The interface is the part of
    `subprocess.Popen` the tests use."""

    def __init__(self, argv: list[str], cwd, env: dict[str, str] | None = None, module: str | None = None):
        self._files = [tempfile.TemporaryFile(mode="w+") for _ in range(2)]
        self.returncode: int | None = None
        entry()  # run.py imported before the fork, once per test process
        sys.stdout.flush()
        sys.stderr.flush()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns into the test process's code
            os._exit(self._child(argv, cwd, env, module))

    def _child(self, argv, cwd, env, module) -> int:
        code = 1
        try:
            for fd, file in zip((1, 2), self._files, strict=True):
                os.dup2(file.fileno(), fd)
            sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 (the child's own streams)
            sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            logging.getLogger().handlers[:] = []  # the test's capture handlers stay with the test
            # Lightning's loggers as in a fresh `python run.py` (imported after Hydra set up the root logger, they
            # pass their lines to it); imported in the test process before any root handler, they have their own
            for name in ("lightning_fabric", "pytorch_lightning"):
                logging.getLogger(name).handlers[:] = []
                logging.getLogger(name).propagate = True
            os.chdir(cwd)
            os.environ.update(env or {})
            if module:
                sys.argv = [module, *argv]
                sys.modules.pop(module, None)  # imported by an earlier test: run afresh as __main__, as -m does
                runpy.run_module(module, run_name="__main__", alter_sys=True)
                code = 0
            else:
                os.environ["HYDRA_MAIN_MODULE"] = "__main__"
                sys.argv = ["run.py", *argv]
                GlobalHydra.instance().clear()
                code = report_errors(entry().main)
        except SystemExit as stop:
            code = exit_status(stop)
        except BaseException:  # noqa: BLE001 (what the interpreter does with an uncaught exception)
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        return code

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"run.py (forked, pid {self.pid})", timeout)
            time.sleep(0.01)
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self.wait(timeout)
        out = []
        for file in self._files:
            file.seek(0)
            out.append(file.read())
        return out[0], out[1]

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
        self.wait()


Started = Fork | subprocess.Popen  # what Forked returns

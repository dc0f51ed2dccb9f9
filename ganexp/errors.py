"""The errors a user can cause, and how they reach the user: one line, exit status 2 (1 stays for bugs).

`InputError` is any mistake in the config or the data (a key, a value, a file, a line); its message names the
culprit. `one_line` turns it, or one of Hydra's composition errors, into that single line. torch-free, so that
`run.py` can report errors without importing it.
"""

import os
import sys
from collections.abc import Callable
from typing import Any

EXIT_INPUT = 2  # a mistake in the config or the data: fix the input and run again


class InputError(ValueError):
    """A mistake in the user's config or data; the message is one line naming the key, file or line."""


class ConfigError(InputError):
    """A bad config value; the message names the key."""


class DataFileError(InputError):
    """A data file is missing or malformed; the message names the file (and line) so the user can fix it."""


class RunLocked(InputError):
    """The run folder is in use by another live process (the same command started twice)."""


class RunFolderMoved(InputError):
    """The run folder was moved or removed while its run was going: the run stops rather than write its state where
    the folder was (another job's folder, perhaps)."""


class StateFileError(InputError):
    """A state file ganexp wrote (status.json, metrics.json, a checkpoint) is damaged and is not a cache that can be
    rebuilt; the message names the file and says what to do."""


class RunMismatch(InputError):
    """A run folder already holds a run of other settings (resume, extend_from, a reused sweep folder); the message
    names the differing keys."""


def filesystem_error(err: BaseException) -> bool:
    """An OSError about a named path (permission, full disk, a file where a folder should be): the machine's
    fault or the user's, not ganexp's; one line naming the path."""
    return isinstance(err, OSError) and bool(getattr(err, "filename", None)) and err.errno is not None


def is_input_error(err: BaseException) -> bool:
    """Ours, or Hydra's own complaints about the command line (unknown key, wrong type, missing option)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    return (isinstance(err, InputError | HydraException | OmegaConfBaseException) or _null_group_sweep(err)
            or filesystem_error(err))


def _null_group_sweep(err: BaseException) -> bool:
    """Hydra's ValueError for a sweep over a config group that lists null (`augment=null,diffaug`)."""
    return isinstance(err, ValueError) and str(err).startswith("Config group override must be a string or a list")


def one_line(err: BaseException) -> str:
    """The error and its cause as one line, without OmegaConf's `full_key:`/`object_type=` detail lines; one of ours
    wrapped by Hydra (an error raised while `instantiate` built an object) speaks for itself."""
    if isinstance(err.__cause__, InputError) and not isinstance(err, InputError):
        return one_line(err.__cause__)
    if filesystem_error(err):
        return f"{err.filename}: {err.strerror}" + (f" (and {err.filename2})" if err.filename2 else "")
    if _null_group_sweep(err):
        return ("a sweep cannot list null for a config group (e.g. augment=null,diffaug): use the group's `none` "
                "option instead (augment=none,diffaug; reg=none,r1)")
    parts = []
    for e in (err, err.__cause__):
        if e is None:
            continue
        text = str(e).split("Config search path:")[0]  # Hydra's list of search paths says nothing about the mistake
        lines = [ln.strip() for ln in text.splitlines()
                 if ln.strip() and not ln.strip().startswith(("full_key:", "object_type=", "reference_type="))]
        text = " ".join(lines)
        if text and text not in parts:
            parts.append(text)
    return " — ".join(parts) or type(err).__name__


_set_here = False  # report_errors has set HYDRA_FULL_ERROR=1 itself, for Hydra: not the user's asking


def full_error() -> bool:
    """Whether the user asked for tracebacks (HYDRA_FULL_ERROR=1), read when asked (not when ganexp was imported)."""
    return os.environ.get("HYDRA_FULL_ERROR") == "1" and not _set_here


def exit_on_input_error(err: BaseException) -> int:
    """Print the one line and return the exit status for it."""
    print(f"error: {one_line(err)}", file=sys.stderr)
    return EXIT_INPUT


def tool_main(main: Callable[[], Any]) -> None:
    """For the `python -m ganexp.X` tools: an input error ends them with one line and exit status 2."""
    try:
        main()
    except Exception as err:
        if full_error() or not (isinstance(err, InputError) or filesystem_error(err)):
            raise
        sys.exit(exit_on_input_error(err))


def report_errors(entry: Callable[[], Any]) -> int:
    """Run a `@hydra.main` entry point; an input mistake (ours, or Hydra's about the command line) becomes one line
    on stderr and exit status 2, a bug keeps its traceback. HYDRA_FULL_ERROR=1 shows every traceback."""
    global _set_here
    if full_error():
        entry()
        return 0
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra raises instead of printing a stripped traceback; we choose below
    _set_here = True
    try:
        entry()
    except Exception as err:
        if not is_input_error(err):
            raise
        return exit_on_input_error(err)
    finally:
        os.environ.pop("HYDRA_FULL_ERROR", None)
        _set_here = False
    return 0

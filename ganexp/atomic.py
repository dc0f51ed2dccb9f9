"""Files written whole or not at all: through a temporary file in the same folder and a rename. A reader (the sweep
report, a resumed job, a parallel job loading a cache) never sees half a file, and a crash mid-write leaves the old
one. torch-free."""

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def atomic_write(path: str | Path, write: Callable[[IO], Any], mode: str = "w") -> None:
    """`write(file)` fills a temporary file that then replaces `path` (binary with mode="wb"). On any failure (a
    full disk shows at write, flush or close) the temporary file is removed and `path` is left as it was; an
    OSError without a file name (ENOSPC from a write) is raised again naming `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as file:
            write(file)
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError) and not err.filename:
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise


def finite(data: Any) -> Any:
    """`data` with every NaN or infinity replaced by None, so that the file is strict JSON (a bare `NaN` is
    Python's extension, which strict readers such as jq and JavaScript reject)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [finite(v) for v in data]
    return data


def write_json(path: str | Path, data: dict) -> None:
    """Strict JSON, written whole: a value that is not a finite number is written as null."""
    atomic_write(path, lambda f: json.dump(finite(data), f, indent=2, allow_nan=False))

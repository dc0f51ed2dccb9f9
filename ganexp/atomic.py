"""Files written whole or not at all: through a temporary file in the same folder and a rename. A reader (the sweep
report, a resumed job, a parallel job loading a cache) never sees half a file, and a crash mid-write leaves the old
one. torch-free."""

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def atomic_write(path: str | Path, write: Callable[[IO], Any], mode: str = "w") -> None:
    """`write(file)` fills a temporary file that then replaces `path` (binary with mode="wb")."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(mode, dir=path.parent, prefix=f".{path.name}.", suffix=".tmp",
                                     delete=False) as tmp:
        try:
            write(tmp)
        except BaseException:
            tmp.close()
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)


def write_json(path: str | Path, data: dict) -> None:
    atomic_write(path, lambda f: json.dump(data, f, indent=2))

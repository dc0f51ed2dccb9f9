"""pytest's folders of earlier sessions, deleted while this one runs instead of after it.

pytest keeps the newest `tmp_path_retention_count` (3) of its numbered folders (/tmp/pytest-of-USER/pytest-N) and
deletes the older ones when a session ends, one file at a time. A session of this suite leaves ~11,000 files, and on
a disk mounted with `discard` (the 2-core dev machine's) each unlink waits ~3 ms for the device: ~35 s added to every
`make test` after the third, with the cores idle. Unlinks from 8 threads overlap those waits (2,000 files: 6.2 s one
at a time, 0.2 s from 8 threads, measured there), so the same folders are deleted here, from threads, during the
session; pytest's own cleanup at the end then finds nothing left to do. A folder whose session still holds its
`.lock` (pytest removes it at exit) is left to pytest."""

import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

THREADS = 8


def stale(root: Path, keep: int) -> list[Path]:
    """pytest's numbered folders under `root` beyond the newest `keep` (the current session's among them), oldest
    first, without those still locked by a live session."""
    numbered = sorted((p for p in root.glob("pytest-*") if p.name[len("pytest-"):].isdigit()),
                      key=lambda p: int(p.name[len("pytest-"):]))
    old = numbered[:-keep] if keep > 0 else numbered
    return [p for p in old if not (p / ".lock").exists()]


def remove(folder: Path) -> None:
    """`folder` and everything in it: renamed first (to pytest's own `garbage-*` name, which a later session also
    cleans up), so no one sees it half deleted; then its files unlinked from THREADS threads, its folders last."""
    garbage = folder.with_name(f"garbage-{uuid.uuid4()}")
    try:
        folder.rename(garbage)
    except OSError:  # gone already, or another session is deleting it
        return
    files, folders = [], []
    for top, dirs, names in os.walk(garbage):
        files += [os.path.join(top, n) for n in names]
        files += [os.path.join(top, d) for d in dirs if os.path.islink(os.path.join(top, d))]
        folders.append(top)
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(_unlink, files))
    for top in reversed(folders):  # os.walk lists a folder before what it holds
        try:
            os.rmdir(top)
        except OSError:
            pass


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def remove_in_background(root: Path, keep: int) -> threading.Thread:
    """A started thread removing stale(root, keep); join it before the session ends."""
    folders = stale(root, keep)
    thread = threading.Thread(target=lambda: [remove(f) for f in folders], name="old-pytest-folders", daemon=True)
    thread.start()
    return thread

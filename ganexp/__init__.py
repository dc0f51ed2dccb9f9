"""ganexp: a Hydra-driven experiment sweep runner for GANs."""

import time

_IMPORTED = time.perf_counter()  # when this process first imported ganexp
_reported = False


def imports_seconds(started: float | None = None) -> float:
    """Start-up seconds this process spent importing before its first job, from `started` (the entry point's own
    clock, when it ran in this process) or else from the first import of ganexp; 0 for the process's later jobs.

    It lives in a module, not in run.py's globals: a launcher that ships the task function to worker processes
    (joblib's loky pickles `__main__`'s functions by value, globals included) would otherwise hand every job the
    parent's clock, and later jobs would count the whole sweep so far as their imports."""
    global _reported
    if _reported:
        return 0.0
    _reported = True
    return time.perf_counter() - (_IMPORTED if started is None else started)

"""Hostile-suite rows: signals (SIGTERM, SIGINT) and kill -9 at each point of a run, sent to real processes."""

CASES = []

"""Hostile-suite rows: damaged state files, signals, kill -9 points and filesystem faults."""

CASES = []

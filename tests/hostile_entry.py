"""Hostile-suite rows: the other entry points, `python -m ganexp.sample|report|findings`."""

from hostile import tool_case

CASES = [
    tool_case("entry: report of a missing folder", "report", ["{tmp}/nowhere"], "nowhere: no such sweep folder"),
    tool_case("entry: sample of a missing folder", "sample", ["{tmp}/nowhere"],
              "nowhere: no such run folder or checkpoint file"),
]

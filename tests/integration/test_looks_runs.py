"""The faces' looks in a run: a smoke run on faces logs `collapse/style_entropy` at every evaluation and the look
evaluator's held-out accuracy once, and the report carries the metric.

Its pure tests: tests/unit/test_looks.py, tests/unit/test_eval_metrics.py."""

import csv
import json
import math
import os

from conftest import make_config
from helpers.one_thread import one_thread  # noqa: F401 (an autouse fixture)

from ganexp.report import write_report
from ganexp.store import read_metrics
from ganexp.train import main as train


def test_a_faces_run_measures_style_entropy_and_reports_it(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    cwd = os.getcwd()
    os.chdir(run)
    try:
        train(make_config("debug=smoke", "eval.epochs=4", f"hydra.run.dir={run}"))
    finally:
        os.chdir(cwd)
    metrics = json.loads((run / "metrics.json").read_text())
    entropies = [e["collapse/style_entropy"] for e in metrics["evals"]]
    assert [e["iteration"] for e in metrics["evals"]] == [4, 8] and len(entropies) == 2
    # a value (not NaN: eval.epochs=4 lets the smoke evaluator see more than one class among the 32 reals); after
    # 8 iterations G draws one hair shape, so 0 is what the dev CPU measured
    assert all(h >= 0 for h in entropies)
    assert metrics["final"]["collapse/style_entropy"] == entropies[-1]
    looks = metrics["measured_with"]["evaluator_accuracy_looks"]  # the look evaluator's, a network of its own
    assert 0 <= looks <= 1 and metrics["measured_with"]["look_evaluator_sha256"] != \
        metrics["measured_with"]["evaluator_sha256"]
    logged = read_metrics(run)  # metrics.jsonl: once, at step 0, beside the evaluator's overall accuracy
    assert logged["eval/evaluator_accuracy/looks"] == [(0, looks)]

    write_report(run, "fid_eval")
    (row,) = csv.DictReader(open(run / "report.csv"))
    assert math.isclose(float(row["collapse/style_entropy"]), entropies[-1], rel_tol=1e-6)
    curve = [r for r in csv.DictReader(open(run / "curves.csv")) if r["metric"] == "collapse/style_entropy"]
    assert [(int(r["iteration"]), float(r["value"])) for r in curve] == list(zip([4, 8], entropies, strict=True))
    assert not any(r["metric"].startswith("eval/evaluator_accuracy") for r in csv.DictReader(open(run / "curves.csv")))

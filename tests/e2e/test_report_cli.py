"""The sweep report: one row per setting (seeds grouped), sorted by the metric, written at the end of a multirun.

The test that runs `python run.py -m` (in this process: Hydra's main, its launcher and the report it writes, without
a second interpreter's start-up); the others are in tests/unit/test_report.py."""

import csv
import subprocess

import pytest
from conftest import ROOT
from helpers.in_process import run_py
from helpers.one_thread import one_thread  # noqa: F401 (an autouse fixture: the jobs train on one torch thread)

from ganexp.errors import InputError
from ganexp.report import write_grids, write_report
from ganexp.verdict import compare


def test_report_of_a_seed_sweep_with_a_failing_setting(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    proc = run_py(["-m", "loss=gan,lsgan", "seed=1,2", "data.batch_size=16,100000", "debug=smoke",
                   f"hydra.sweep.dir={tmp_path}"], monkeypatch, capfd)
    assert proc.code not in (0, None), proc.err[-3000:]  # the batch_size=100000 jobs fail
    for name in ("report.md", "report.csv", "curves.png", "samples.png"):
        assert (tmp_path / name).exists(), name

    rows = list(csv.DictReader(open(tmp_path / "report.csv")))
    assert len(rows) == 8
    completed = [r for r in rows if r["status"] == "completed"]
    assert len(completed) == 4 and all(r["iterations"] == "8" for r in completed)
    bests = [float(r["best fid_eval"]) for r in completed]
    assert bests == sorted(bests) and rows[:4] == completed  # best first, failed jobs last
    # every metric of the registry a run logged has its column (kid_eval_std, pr/density, pr/coverage too)
    assert {"kid_eval_std", "pr/density", "pr/coverage", "collapse/diversity_ratio"} <= set(rows[0])
    # what each job's numbers were computed with: the resolved arithmetic, the device, ganexp's commit, the evaluator
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    for r in completed:
        assert r["precision"] in ("bf16-mixed", "32-true") and r["device"] == "cpu" and r["device_model"]
        assert r["commit"].removesuffix("+dirty") == head.stdout.strip() or head.returncode != 0
        assert len(r["evaluator"]) == 12 and r["evaluator"] == completed[0]["evaluator"]  # one evaluator, one data
    assert all(r[key] == "" for r in rows if r["status"] == "failed" for key in ("precision", "evaluator"))
    # curves.csv: every evaluation of every job (not the training losses); its last fid_eval is the report's
    curves = list(csv.DictReader(open(tmp_path / "curves.csv")))
    assert "fid_eval" in {c["metric"] for c in curves} and not any(c["metric"].startswith("loss/") for c in curves)
    for r in completed:
        last = max((c for c in curves if c["job"] == r["job"] and c["metric"] == "fid_eval"),
                   key=lambda c: int(c["iteration"]))
        assert last["iteration"] == "8" and float(last["value"]) == float(r["fid_eval"])

    report = (tmp_path / "report.md").read_text()
    assert "Every job: `debug=smoke`" in report  # what all jobs share is said once, not in every label
    table = [line for line in report.splitlines() if line.startswith("| ")][1:]
    assert all(line.startswith("| loss=") for line in table[1:])
    assert len(table) == 4  # 2 losses x 2 batch sizes, the two seeds of each grouped
    assert all(" | 2 | " in line for line in table)
    assert sum("failed" in line for line in table) == 2
    assert all("±" in line for line in table if "completed" in line)

    # the report reads what jobs wrote, so it can be rebuilt (or built while a sweep runs) from the command line
    (tmp_path / "report.md").unlink()
    assert len(write_report(tmp_path, "loss/d")) == 8 and (tmp_path / "report.md").exists()

    # --baseline: every other setting's best fid_eval against the baseline's, by ganexp/verdict.py's rule
    write_report(tmp_path, "fid_eval", baseline="loss=gan,data.batch_size=16")
    section = (tmp_path / "report.md").read_text().split("## Against `loss=gan,data.batch_size=16`")[1]
    lsgan = next(line for line in section.splitlines() if line.startswith("| loss=lsgan,data.batch_size=16 |"))
    gan = [float(r["best fid_eval"]) for r in completed if "loss=gan," in r["overrides"]]
    other = [float(r["best fid_eval"]) for r in completed if "loss=lsgan," in r["overrides"]]
    c = compare(other, gan, "fid_eval")
    assert f"{c.diff:+.4g} ± {c.se:.2g}" in lsgan
    assert lsgan.rstrip(" |").endswith({"a": "loss=lsgan,data.batch_size=16 better", "b": "loss=gan,data.batch_size=16 "
                                        "better", None: "inconclusive"}[c.better])
    with pytest.raises(InputError, match="--baseline 'loss=hinge' is not a setting"):
        write_report(tmp_path, "fid_eval", baseline="loss=hinge")

    # --grid: one named picture of every job that drew it, side by side (the failed jobs drew none)
    jobs = write_report(tmp_path, "fid_eval")
    assert write_grids(jobs, tmp_path, ["progress"]) == [tmp_path / "grid_progress.png"]
    assert (tmp_path / "grid_progress.png").stat().st_size > 0
    with pytest.raises(InputError, match=r"--grid cond_hair: no job has samples/cond_hair.png \(they have: .*progress"):
        write_grids(jobs, tmp_path, ["cond_hair"])

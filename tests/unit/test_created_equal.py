"""The report of +experiment=created_equal (ganexp/created_equal.py) from a report.csv written here: which jobs are
read, each loss's best draw and its fresh seeds, the Welch test by hand, and the files it writes."""

import csv
import math

import pytest

from ganexp import created_equal as ce

COLUMNS = ["job", "overrides", "status", "best fid_eval", "fid"]


def row(loss: str, draw: int, fid: float | None, seed: int | None = None, status: str = "completed",
        inception: str = "") -> dict:
    overrides = [f"draw={draw}", f"+experiment/created_equal={loss}", "+experiment=created_equal"]
    overrides += [f"seed={seed}"] if seed is not None else []
    return {"job": "0", "overrides": ",".join(overrides), "status": status,
            "best fid_eval": "" if fid is None else str(fid), "fid": inception}


def write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


SEARCH = [row("gan", 0, 50.0), row("gan", 1, 30.0), row("gan", 2, None, status="diverged"),
          row("gp", 0, 40.0), row("gp", 1, 60.0), row("gp", 2, 45.0)]
REPEATS = [row("gan", 1, v, seed=s, inception="70.5" if s == 1 else "")
           for s, v in zip((1, 2, 3), (4.0, 5.0, 6.0), strict=True)]
REPEATS += [row("gp", 0, v, seed=s) for s, v in zip((1, 2, 3), (1.0, 2.0, 3.0), strict=True)]


def test_best_draw_and_its_fresh_seeds(tmp_path):
    other = {"job": "9", "overrides": "loss=gan,seed=1", "status": "completed", "best fid_eval": "1", "fid": ""}
    running = row("gan", 7, 1.0, status="running")  # not finished: not a tried configuration yet
    runs = ce.read_runs([write(tmp_path / "search" / "report.csv", [*SEARCH, other, running]),
                         write(tmp_path / "repeats" / "report.csv", REPEATS)])
    assert len(runs) == 12  # neither the unrelated job nor the running one is read
    assert ce.best_draw(runs, "gan").draw == 1 and ce.best_draw(runs, "gp").draw == 0
    assert math.isnan(next(r for r in runs if r.loss == "gan" and r.draw == 2).fid_eval)  # diverged: failed
    assert [r.seed for r in ce.repeats(runs, "gan")] == [1, 2, 3]  # the search's own run (seed 0) left out
    rows = {line.split(" | ")[0]: line for line in ce.table(runs)[2:]}
    assert rows["| NS GAN"].startswith("| NS GAN | 3 (1) | 30.0 | draw 1: ")
    assert "| 40.0 | 5.0 ± 1.0 (n=3) | 70.5 | 26.5 ± 1.6 |" in rows["| NS GAN"]  # median of 50, 30 = 40
    assert "λ " in rows["| WGAN GP"] and "| 45.0 | 2.0 ± 1.0 (n=3) |" in rows["| WGAN GP"]


def test_statement_rows(tmp_path):
    runs = ce.read_runs([write(tmp_path / "r.csv", SEARCH + REPEATS)])
    text = ce.statements(runs)
    lines = {" | ".join(line.split(" | ")[:2]): line for line in text[2:-2]}
    # a = 1, 2, 3 against NS GAN's 4, 5, 6: t = -3.674 with 4 df, p = 0.021 (tests/unit/test_verdict.py by hand);
    # the one row measured is a family of one, so its Holm p is its own
    assert lines["| WGAN GP | fid_eval"] == "| WGAN GP | fid_eval | -3.0 | 0.021 | 4.0 | 0.021 | WGAN GP better |"
    assert lines["| LSGAN | fid_eval"].endswith("not measured (fewer than 2 fresh seeds a side) |")
    # one Inception FID a side (NS GAN's seed 1 only): not measured in that metric
    assert lines["| WGAN GP | Inception FID (1,000 images)"].endswith("not measured (fewer than 2 fresh seeds a "
                                                                      "side) |")
    assert text[-1] == "Against the statement at this scale: WGAN GP in fid_eval beats NS GAN (Holm p below 5 %)."
    worse = [row("gp", 0, v, seed=s) for s, v in zip((1, 2, 3), (7.0, 8.0, 9.0), strict=True)]
    assert ce.statements(ce.read_runs([write(tmp_path / "w.csv", SEARCH + REPEATS[:3] + worse)]))[-1].startswith(
        "The statement holds at this scale")  # NS GAN better is not against it
    assert ce.statements(ce.read_runs([write(tmp_path / "s.csv", SEARCH)]))[-1].startswith("Not tested yet")
    # three losses each at p = 0.021 against NS GAN: Holm multiplies the smallest of 3 by 3 (0.064), so as a table
    # none of them beats NS GAN at 5 %, though each row alone says "better"
    three = [row(loss, 0, 10.0) for loss in ("lsgan", "minimax")]
    three += [row(loss, 0, v, seed=s) for loss in ("lsgan", "minimax") for s, v in zip((1, 2, 3), (1.0, 2.0, 3.0),
                                                                                         strict=True)]
    text = ce.statements(ce.read_runs([write(tmp_path / "h.csv", SEARCH + REPEATS + three)]))
    measured = [line for line in text if "| fid_eval | -3.0 | 0.021 | 4.0 | 0.064 |" in line]
    assert len(measured) == 3 and all(line.endswith("better |") for line in measured)
    assert text[-1].startswith("The statement holds at this scale: no loss beats NS GAN with a Holm-adjusted p")


def test_main_writes_the_study_and_prints_the_repeat_commands(tmp_path, capsys):
    write(tmp_path / "search" / "report.csv", SEARCH)
    ce.main([str(tmp_path)])
    text = (tmp_path / "study.md").read_text()
    assert "| NS GAN | 3 (1) | 30.0 |" in text and "![budget curves](budget.png)" in text
    assert (tmp_path / "box.png").stat().st_size > 0 and (tmp_path / "budget.png").stat().st_size > 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"python run.py -m +experiment=created_equal +experiment/created_equal={loss} draw={d} seed=1,2,3 "
                   "eval.features=inception eval.inception_samples=1000 hydra/launcher=cpu_parallel"
                   for loss, d in (("gan", 1), ("gp", 0))]


def test_no_jobs_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        ce.main([str(tmp_path)])
    assert "no +experiment=created_equal jobs" in capsys.readouterr().err

"""The sweep report: one row per setting (seeds grouped), sorted by the metric, written at the end of a multirun.

Its tests that start processes: tests/e2e/test_report_cli.py."""

import csv
import math

import pytest
from helpers.fake_jobs import fake_job

from ganexp.errors import InputError
from ganexp.report import Job, comparisons, sweep_monitor, write_report, write_tables


def test_best_of_a_metric_the_run_did_not_monitor_comes_from_its_curve(tmp_path):
    job = Job(tmp_path, ["seed=0"], "completed", best={"toy/modes": 21.0},
              curves={"toy/modes": [(1000, 18.0), (2000, 20.0)],
                      "toy/reverse_kl": [(1000, 0.9), (2000, 0.4), (3000, 0.6)],
                      "toy/high_quality": [(1000, 0.1), (2000, float("nan")), (3000, 0.3)]})
    assert job.best_of("toy/modes") == 21.0  # the run's own record of its monitor wins over the logged points
    assert job.best_of("toy/reverse_kl") == 0.4  # lower is better
    assert job.best_of("toy/high_quality") == 0.3  # higher is better, NaN skipped
    assert math.isnan(job.best_of("fid_eval"))


def test_the_report_ranks_by_the_jobs_monitor_unless_told(tmp_path):
    assert sweep_monitor(tmp_path) == "fid_eval"  # no jobs yet
    for num, monitor in ((0, "toy/modes"), (1, "toy/modes")):
        (tmp_path / str(num) / ".hydra").mkdir(parents=True)
        (tmp_path / str(num) / ".hydra" / "config.yaml").write_text(f"monitor: {monitor}\nseed: {num}\n")
    assert sweep_monitor(tmp_path) == "toy/modes"


def test_the_tables_carry_one_column_per_attribute_of_a_metric_family(tmp_path):
    jobs = [Job(tmp_path / str(i), [f"model.info_weight={w}", f"seed={i}"], "completed",
                final={"fid_eval": 100.0 + i, "pr/precision": 0.5, "info/code_nmi/hair": w / 2,
                       "info/code_nmi/eyes": 0.01 * i, "acc/cond/eyes": 0.25}) for i, w in enumerate((0.0, 1.0))]
    write_tables(jobs, tmp_path, "fid_eval")
    rows = {r["job"]: r for r in csv.DictReader(open(tmp_path / "report.csv"))}
    assert [(r["info/code_nmi/hair"], r["info/code_nmi/eyes"], r["pr/precision"]) for r in rows.values()] == [
        ("0.0", "0.0", "0.5"), ("0.5", "0.01", "0.5")]
    assert "| acc/cond/eyes | info/code_nmi/eyes | info/code_nmi/hair |" in (tmp_path / "report.md").read_text()


def test_montages_are_saved_with_a_palette_close_to_the_full_colour_picture(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image
    from torchvision.utils import make_grid

    from ganexp.data.module import load_cached
    from ganexp.data.sources import Faces
    from ganexp.report import save_small

    faces = Faces(n=16, image_size=32, seed=0, untagged=0.0)
    grid = make_grid(load_cached(faces, tmp_path).images.float() / 255, nrow=4)
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.imshow(grid.permute(1, 2, 0).numpy())  # a sample grid of the built-in faces
    fig.savefig(tmp_path / "full.png", dpi=110, bbox_inches="tight")
    save_small(fig, tmp_path / "small.png")
    full, small = Image.open(tmp_path / "full.png"), Image.open(tmp_path / "small.png")
    assert (full.mode, small.mode, small.size) == ("RGBA", "P", full.size)
    # within 3 of 255 levels on average (measured 2.1 here, 1.4 on a committed 64 px montage): not visible
    error = np.abs(np.asarray(full.convert("RGB"), float) - np.asarray(small.convert("RGB"), float))
    assert error.mean() < 3 and (tmp_path / "small.png").stat().st_size < (tmp_path / "full.png").stat().st_size


def test_curves_png_has_a_panel_for_every_registry_metric_the_jobs_logged(tmp_path, monkeypatch):
    """The panels come from the registry, in its order: toy/modes and pr/recall (which a fixed list of panels had
    left out) and a metric registered after the report was written get theirs; kid_eval_std (an uncertainty),
    loss/d_adv (a diagnostic) and lr/g (not a metric) get none."""
    from ganexp import metrics
    from ganexp.report import draw_curves
    from ganexp.store import Store

    monkeypatch.setattr(metrics, "REGISTRY", (*metrics.REGISTRY, metrics.Metric("toy/new_score", "higher", "new")))
    for seed in (0, 1):
        fake_job(tmp_path / str(seed), [f"seed={seed}"], {500: 150.0 - seed, 1000: 100.0 - seed})
        store = Store(tmp_path / str(seed))  # metrics.jsonl: what the report reads, as runs write it now
        for step in (500, 1000):
            store.append({"fid_eval": 100.0, "toy/modes": 20 + seed, "pr/recall": 0.5, "toy/new_score": 0.1 * step,
                          "kid_eval_std": 0.01, "loss/d": 1.2, "loss/g": 0.7, "loss/d_adv": 1.1, "lr/g": 2e-4}, step)
        store.close()
    jobs = write_report(tmp_path, "fid_eval")
    assert (tmp_path / "curves.png").stat().st_size > 0
    assert draw_curves(jobs, tmp_path / "again.png") == ["fid_eval", "pr/recall", "toy/modes", "loss/d", "loss/g",
                                                          "toy/new_score"]
    assert draw_curves([Job(tmp_path / "x", [], "completed", curves={"lr/g": [(1, 0.1)]})], tmp_path / "no.png") == []
    assert not (tmp_path / "no.png").exists()


def test_several_sweeps_make_one_report_of_all_their_jobs(tmp_path):
    """The two sides of a claim run as two commands (here: a plain sweep and one with model.d_pack=2, seeds 0 and 1
    each) read as one comparison: each side's seeds grouped, every job named by its sweep and folder."""
    from ganexp.report import main

    plain, packed, out = tmp_path / "plain", tmp_path / "packed", tmp_path / "both"
    for seed, (first, last) in enumerate(((150.0, 100.0), (160.0, 110.0))):
        fake_job(plain / str(seed), ["+experiment=x", f"seed={seed}"], {500: first, 1000: last})
    for seed, (first, last) in enumerate(((120.0, 80.0), (130.0, 90.0))):
        fake_job(packed / str(seed), ["+experiment=x", "model.d_pack=2", f"seed={seed}"], {500: first, 1000: last})
    with pytest.raises(InputError, match="2 sweep folders: name the folder for their one report with --out"):
        main([str(plain), str(packed)])
    main([str(plain), str(packed), "--out", str(out), "--metric", "fid_eval"])
    rows = list(csv.DictReader(open(out / "report.csv")))
    assert [(r["job"], float(r["fid_eval"])) for r in rows] == [
        ("packed/0", 80.0), ("packed/1", 90.0), ("plain/0", 100.0), ("plain/1", 110.0)]
    curves = list(csv.DictReader(open(out / "curves.csv")))
    assert {(c["job"], c["iteration"], float(c["value"])) for c in curves} == {
        ("plain/0", "500", 150.0), ("plain/0", "1000", 100.0), ("plain/1", "500", 160.0), ("plain/1", "1000", 110.0),
        ("packed/0", "500", 120.0), ("packed/0", "1000", 80.0), ("packed/1", "500", 130.0),
        ("packed/1", "1000", 90.0)}
    report = (out / "report.md").read_text()
    assert "Every job: `+experiment=x`" in report
    assert "| model.d_pack=2 | 2 | completed | 1000 ± 0 | 10 ± 0 | 5 ± 0 | 85 ± 7.1 | 85 ± 7.1 |" in report
    assert "| default | 2 | completed | 1000 ± 0 | 10 ± 0 | 5 ± 0 | 105 ± 7.1 | 105 ± 7.1 |" in report
    assert not (plain / "report.md").exists() and not (packed / "report.md").exists()  # the sweeps stay as they were


def test_a_run_folder_is_reported_as_its_one_job(tmp_path, capsys):
    """`python -m ganexp.report RUN`: a run folder (not a sweep) is a report of its one job, written into it."""
    from ganexp.report import main

    run = tmp_path / "run"
    fake_job(run, ["loss=lsgan", "seed=0"], {500: 80.0, 1000: 60.0})
    main([str(run)])
    assert "1 jobs ->" in capsys.readouterr().out
    rows = list(csv.DictReader(open(run / "report.csv")))
    assert [(r["job"], r["overrides"], r["status"], r["iterations"], r["best fid_eval"]) for r in rows] == [
        ("run", "loss=lsgan,seed=0", "completed", "1000", "60.0")]
    assert "| loss=lsgan | 1 | completed | 1000 |" in (run / "report.md").read_text()


def test_a_non_finite_metric_written_as_null_reads_as_missing(tmp_path):
    """status.json and metrics.json are strict JSON: a diverged run's NaN is written as null."""
    import json

    for num, fid in enumerate((None, 50.0)):
        fake_job(tmp_path / str(num), [f"seed={num}"], {8: math.nan if fid is None else fid})
        (tmp_path / str(num) / "metrics.json").write_text(json.dumps(
            {"iterations": 8, "wall_time_s": None, "images_per_s": None, "final": {"fid_eval": fid, "loss/d": None},
             "best": {"metric": "fid_eval", "value": fid}}))
    jobs = write_report(tmp_path, "fid_eval")
    assert [j.id for j in jobs] == ["1", "0"] and math.isnan(jobs[1].final["fid_eval"])
    assert "| default | 2 | completed | 8 ± 0 | – | – | 50 | 50 | – |" in (tmp_path / "report.md").read_text()


def stored_job(folder, overrides, fid_by_iteration, best=None):
    """A finished job's folder as a run leaves it now: overrides, status, metrics.json (with the run's record of
    its best monitored value when given) and its curve in metrics.jsonl (ganexp.store)."""
    import json

    from ganexp.store import Store

    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (folder / "status.json").write_text(json.dumps({"status": "completed"}))
    last = max(fid_by_iteration)
    (folder / "metrics.json").write_text(json.dumps(
        {"iterations": last, "wall_time_s": 10.0, "images_per_s": 5.0, "final": {"fid_eval": fid_by_iteration[last]},
         "best": None if best is None else {"metric": "fid_eval", "value": best}}))
    store = Store(folder)
    for step, fid in fid_by_iteration.items():
        store.append({"fid_eval": fid, "loss/d": 1.0}, step)
    store.close()


@pytest.mark.parametrize("recorded", [False, True])
def test_the_report_ranks_by_the_best_value_its_column_shows_not_the_final_one(tmp_path, recorded):
    """Job a: fid 100 -> 40 -> 90 (best 40, final 90); job b: 60 -> 50 -> 50 (best 50, final 50). By the final value
    b would lead; by the best, which the `best fid_eval` column shows and findings compare, a leads. The best comes
    from the run's own record (metrics.json, best.ckpt's value) or from its curve in metrics.jsonl: the same."""
    stored_job(tmp_path / "a", ["loss=wgan"], {500: 100.0, 1000: 40.0, 1500: 90.0}, 40.0 if recorded else None)
    stored_job(tmp_path / "b", ["loss=lsgan"], {500: 60.0, 1000: 50.0, 1500: 50.0}, 50.0 if recorded else None)
    jobs = write_report(tmp_path, "fid_eval")
    assert [j.id for j in jobs] == ["a", "b"]
    rows = list(csv.DictReader(open(tmp_path / "report.csv")))
    assert [(r["job"], float(r["best fid_eval"]), float(r["fid_eval"])) for r in rows] == [
        ("a", 40.0, 90.0), ("b", 50.0, 50.0)]
    table = [line for line in (tmp_path / "report.md").read_text().splitlines() if line.startswith("| loss=")]
    assert [line.split(" | ")[:1] + line.split(" | ")[6:8] for line in table] == [
        ["| loss=wgan", "40", "90"], ["| loss=lsgan", "50", "50"]]
    curves = list(csv.DictReader(open(tmp_path / "curves.csv")))
    assert [(c["job"], c["iteration"], c["value"]) for c in curves] == [
        ("a", "500", "100.0"), ("a", "1000", "40.0"), ("a", "1500", "90.0"),
        ("b", "500", "60.0"), ("b", "1000", "50.0"), ("b", "1500", "50.0")]  # evaluations only, not loss/d


def test_the_columns_are_every_registry_metric_a_run_has(tmp_path):
    """Inception's fid/kid, pr/density, pr/coverage and kid_eval_std have columns like the rest, in the registry's
    order; diagnostics (lr/g) have none; the provenance columns come last (empty for a job that recorded none)."""
    final = {"fid": 12.0, "kid": 0.01, "kid_std": 0.001, "kid_eval_std": 0.002, "pr/density": 0.9,
             "pr/coverage": 0.7, "fid_eval": 3.0, "kid_eval": 0.02, "lr/g": 0.0002, "loss/d": 1.2}
    made = {"precision": "bf16-mixed", "device": "cpu", "device_model": "AMD EPYC", "commit": "abc", "evaluator": "e1"}
    write_tables([Job(tmp_path / "0", ["seed=0"], "completed", final=final, provenance=made),
                  Job(tmp_path / "1", ["seed=1"], "completed", final=final)], tmp_path, "fid")
    header, first, second = list(csv.reader(open(tmp_path / "report.csv")))
    assert header[6:] == ["best fid", "fid_eval", "kid_eval", "kid_eval_std", "fid", "kid", "kid_std", "pr/density",
                          "pr/coverage", "loss/d", "precision", "device", "device_model", "commit", "evaluator"]
    assert first[-5:] == ["bf16-mixed", "cpu", "AMD EPYC", "abc", "e1"] and second[-5:] == [""] * 5


def test_the_baseline_section_shows_welch_p_and_df(tmp_path):
    """--baseline's rows by ganexp/verdict.py: lsgan's best FID 1, 2, 3 against gan's 4, 5, 6 is -3 ± sqrt(2/3) with
    Welch df 4 and p 0.021 (t = -3.674) by hand: lsgan better at 5 %; one seed on a side is tested by nothing."""
    def jobs(name: str, values: list[float]) -> list[Job]:
        return [Job(tmp_path / f"{name}{i}", [name, f"seed={i}"], "completed", best={"fid_eval": v})
                for i, v in enumerate(values)]

    groups = {"loss=gan": jobs("loss=gan", [4.0, 5.0, 6.0]), "loss=lsgan": jobs("loss=lsgan", [1.0, 2.0, 3.0]),
              "loss=wgan": jobs("loss=wgan", [10.0])}
    lines = comparisons(groups, "fid_eval", "loss=gan")
    assert "Welch's t-test, two-sided 5 %" in lines[1]
    assert "| loss=lsgan | -3 ± 0.82 | p = 0.021 (df = 4) | loss=lsgan better |" in lines
    wgan = next(line for line in lines if line.startswith("| loss=wgan | +5 "))
    assert wgan.endswith(" | one seed on a side: no test | inconclusive |")

"""Every experiment file composes for every job of its sweep and builds; one runs end to end as a multirun whose
report compares its jobs.

The test that runs `python run.py -m` (in this process: Hydra's main, its launcher and the report, without a second
interpreter's start-up); the others are in tests/integration/test_experiments.py."""

from helpers.in_process import run_py
from helpers.one_thread import one_thread  # noqa: F401 (an autouse fixture: the jobs train on one torch thread)


def test_d_condition_experiment_runs_as_one_comparison(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    out = run_py(["-m", "+experiment=d_condition", "seed=0", "trainer.max_iters=8", "eval.every_n_steps=4",
                  "data.source.n=288", "data.batch_size=16", "data.holdout=32", "eval.floor=0",
                  "model.generator.width=8", "model.discriminator.width=8", "trainer.progress=false",
                  f"hydra.sweep.dir={tmp_path}"], monkeypatch, capfd)
    assert out.code == 0, out.err[-3000:]
    report = (tmp_path / "report.md").read_text()
    for d_cond in ("expand", "concat", "projection"):
        assert f"model.discriminator.cond={d_cond}" in report
    assert "acc/cond" in report and (tmp_path / "curves.png").exists() and (tmp_path / "samples.png").exists()

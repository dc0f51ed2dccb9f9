"""`python -m ganexp.sample`: a conditional run sampled without --cond draws its conditions from the training labels.

The in-process runs and builds of this subject; the others are in tests/unit/test_sample.py."""

import json

from helpers.hostile_runs import trained

from ganexp.sample import load_run, main, parse_condition


def test_a_conditional_run_sampled_without_cond_draws_its_conditions(tmp_path, capsys):
    run = trained("model=cgan")
    main([str(run), "-n", "5", "--out", str(tmp_path / "out")])
    said = capsys.readouterr().out
    assert "no --cond: 5 conditions drawn from the training labels" in said
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [f"{i:03d}.png" for i in range(5)] + ["conditions.json", "grid.png"]
    listed = json.loads((tmp_path / "out" / "conditions.json").read_text())
    _, datamodule, _ = load_run(run)
    data = datamodule.load()
    training = {tuple(row) for row in data.labels.tolist()}
    assert len(listed) == 5 and all(tuple(parse_condition(c, data).tolist()) in training for c in listed)
    # the listed conditions are a --cond-file that draws the same images again
    main([str(run), "--cond-file", str(tmp_path / "out" / "conditions.json"), "--out", str(tmp_path / "again")])
    for i in range(5):
        assert (tmp_path / "again" / f"{i:03d}.png").read_bytes() == (tmp_path / "out" / f"{i:03d}.png").read_bytes()
    assert not list((tmp_path / "out").glob(".sample-*")), "the staging folder is left behind"

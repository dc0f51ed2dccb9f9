"""`python -m ganexp.sample`: a conditional run sampled without --cond draws its conditions from the training labels."""

import json

import torch
from hostile_runs import trained

from ganexp.data.module import LabelledImages
from ganexp.sample import describe_condition, drawn_conditions, load_run, main, parse_condition

HAIR = ("hair", ["red", "blue", "none"])
EYES = ("eyes", ["green", "brown"])


def labelled(labels: list[list[int]]) -> LabelledImages:
    return LabelledImages(torch.zeros(len(labels), 3, 4, 4, dtype=torch.uint8), torch.tensor(labels), [HAIR, EYES])


def test_drawn_conditions_follow_the_training_labels_and_skip_untagged_ones():
    # blue/brown three times as common as red/green; "none" hair (index 2) asks for nothing and is never drawn
    data = labelled([[1, 1]] * 30 + [[0, 0]] * 10 + [[2, 0]] * 40)
    rows = drawn_conditions(data, 2000, seed=0)
    assert rows.shape == (2000, 2) and not (rows[:, 0] == 2).any()
    share = (rows == torch.tensor([1, 1])).all(1).float().mean().item()
    assert 0.72 < share < 0.78  # 30 of the 40 tagged rows
    assert torch.equal(rows, drawn_conditions(data, 2000, seed=0))  # seeded
    assert not torch.equal(rows, drawn_conditions(data, 2000, seed=1))


def test_a_drawn_condition_reads_back_as_the_same_label_row():
    data = labelled([[0, 1], [1, 0]])
    for row in ([0, 1], [1, 0], [2, 1]):
        words = describe_condition(torch.tensor(row), data)
        assert torch.equal(parse_condition(words, data), torch.tensor(row)), words
    multi = LabelledImages(torch.zeros(1, 3, 4, 4, dtype=torch.uint8), torch.tensor([[1.0, 0.0, 1.0]]),
                           [("objects", ["red cube", "blue sphere", "gray cylinder"])], multilabel=True)
    assert describe_condition(multi.labels[0], multi) == ["red cube", "gray cylinder"]
    assert torch.equal(parse_condition(["red cube", "gray cylinder"], multi), multi.labels[0])


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

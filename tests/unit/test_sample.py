"""`python -m ganexp.sample`: a conditional run sampled without --cond draws its conditions from the training labels.

Its in-process runs and builds: tests/integration/test_sample_runs.py."""

import torch

from ganexp.data.module import LabelledImages
from ganexp.sample import describe_condition, drawn_conditions, parse_condition

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

"""AC-GAN and InfoGAN: their loss terms against hand-computed values, their heads wired to D's optimizer, the codes'
prior and traversal grids, and a smoke job of every variant on every built-in data set.

The pure tests (no training run, no subprocess) of this subject; the others are in
tests/integration/test_variants.py."""

import math

import torch
from torch.testing import assert_close

from ganexp.losses import classification_loss, info_loss

LN3 = math.log(3)


def test_classification_loss_is_the_mean_cross_entropy_over_groups():
    # group 0: p(label 1) = 3/4 -> log(4/3); group 1: uniform over 3 -> log 3; mean = log(4)/2 = log 2
    logits = [torch.tensor([[0.0, LN3]]), torch.zeros(1, 3)]
    assert_close(classification_loss(logits, torch.tensor([[1, 0]])), torch.tensor(math.log(2)))
    # a confident right answer costs less than a confident wrong one
    right = classification_loss([torch.tensor([[0.0, 5.0]])], torch.tensor([[1]]))
    wrong = classification_loss([torch.tensor([[0.0, 5.0]])], torch.tensor([[0]]))
    assert right < 0.01 < 4.9 < wrong


def test_classification_loss_multilabel_is_binary_cross_entropy_per_label():
    # logit 0 costs log 2 whatever the target; logit ln 3 with target 1 costs log(4/3), with target 0 log 4
    logits = [torch.tensor([[0.0, LN3, LN3]])]
    expected = (math.log(2) + math.log(4 / 3) + math.log(4)) / 3
    assert_close(classification_loss(logits, torch.tensor([[1.0, 1.0, 0.0]]), multilabel=True),
                 torch.tensor(expected))


def test_info_loss_adds_cross_entropy_and_weighted_squared_error():
    cat_logits = [torch.tensor([[0.0, LN3]]), torch.zeros(1, 4)]
    cont_pred, cont = torch.tensor([[0.5, 0.0]]), torch.tensor([[1.0, -1.0]])
    loss = info_loss(cat_logits, torch.tensor([[1, 2]]), cont_pred, cont, continuous_weight=0.1)
    # log(4/3) + log 4 + 0.1 * 0.5 * (0.25 + 1)
    assert_close(loss, torch.tensor(math.log(4 / 3) + math.log(4) + 0.0625))
    assert_close(info_loss([], torch.zeros(2, 0, dtype=torch.long), cont, cont), torch.tensor(0.0))


def test_minibatch_stddev_channel_sees_a_collapsed_batch():
    from ganexp.nets.dcgan import minibatch_stddev

    h = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2)  # the two samples differ by 12
    out = minibatch_stddev(h)
    assert out.shape == (2, 4, 2, 2) and torch.equal(out[:, :3], h)
    assert_close(out[:, 3], torch.full((2, 2, 2), 6.0))  # population std of {x, x + 12} is 6 everywhere
    assert_close(minibatch_stddev(h[:1].repeat(5, 1, 1, 1))[:, 3], torch.zeros(5, 2, 2))  # collapsed: 0

"""How the condition enters the DCGAN D (`model.discriminator.cond`): each way reads a sample's own condition, and
`dense` (report 001's "tag concat") joins the untiled vector before two dense layers."""

import pytest
import torch

from ganexp.errors import ConfigError
from ganexp.nets import dcgan, resnet


@pytest.mark.parametrize("d_cond", dcgan.D_CONDS)
def test_each_score_reads_its_own_condition(d_cond):
    torch.manual_seed(0)
    d = dcgan.Discriminator(32, 8, "batch", mbstd=False, cond=d_cond, cond_dim=5).eval()
    x, cond = torch.randn(4, 3, 32, 32), torch.eye(5)[:4]
    changed = cond.clone()
    changed[0] = torch.eye(5)[4]
    moved = (d(x, changed) - d(x, cond)).abs()
    assert moved[0] > 1e-6 and torch.equal(moved[1:], torch.zeros(3))


def test_dense_joins_the_vector_to_the_flat_features():
    width, cond_dim = 8, 5
    d = dcgan.Discriminator(32, width, "batch", mbstd=True, cond="dense", cond_dim=cond_dim)
    c = width * 4  # channels of the 4x4 map at 32 px (8 -> 16 -> 32)
    first, second = d.dense[0], d.dense[2]
    assert first.in_features == (c + 1) * 16 + cond_dim and first.out_features == c  # +1: the mbstd channel
    assert second.in_features == c and second.out_features == 1
    assert not hasattr(d, "out") and not hasattr(d, "joint")
    assert d(torch.randn(6, 3, 32, 32), torch.eye(5)[torch.arange(6) % 5]).shape == (6,)


def test_other_networks_refuse_dense():
    with pytest.raises(ConfigError, match="model.discriminator.cond='dense'.*DCGAN D only"):
        resnet.Discriminator(32, 4, "spectral", mbstd=False, cond="dense", cond_dim=5)

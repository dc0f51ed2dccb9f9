"""Packing (PacGAN, `model.d_pack`): D judges packs of m samples, all real or all fake; checked on hand-made
tensors, on a critic whose gradient is known, and in smoke runs of every variant and loss
(tests/integration/test_matrix.py).

Its in-process runs and builds: tests/integration/test_packing_builds.py."""

import torch
from torch import nn
from torch.testing import assert_close

from ganexp.losses import R1, WGANGP
from ganexp.modules.base import GANModule, Loop, Optimizers


class LinearCritic(nn.Module):
    """D(x) = <w, x> on the flattened (packed) input: its gradient is w for every input."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w)

    def features(self, x, cond=None):
        return x.flatten(1)

    def score(self, h, cond=None):
        return h @ self.w


def bare_module(discriminator: nn.Module, d_pack: int, loss=None) -> GANModule:
    return GANModule(generator=nn.Identity(), discriminator=discriminator, loss=loss or WGANGP(gp_weight=1.0),
                     optimizers=Optimizers(g=torch.optim.SGD, d=torch.optim.SGD), sched={}, z_dim=2, z_prior="normal",
                     d_pack=d_pack,
                     loop=Loop(max_iters=1, batches_per_epoch=1, log_every=1, guard_max_loss=1e5, guard_patience=3,
                               guard_every=1))


def test_pack_joins_neighbours_along_channels_and_unpack_inverts_it():
    module = bare_module(LinearCritic(torch.zeros(1)), d_pack=2)
    x = torch.arange(4 * 3 * 2 * 2, dtype=torch.float).reshape(4, 3, 2, 2)
    packed = module.pack(x)
    assert packed.shape == (2, 6, 2, 2)
    # pack p holds samples 2p (channels 0-2) and 2p+1 (channels 3-5)
    assert torch.equal(packed[1, :3], x[2]) and torch.equal(packed[1, 3:], x[3])
    assert torch.equal(module.unpack(packed), x)
    points = torch.arange(12, dtype=torch.float).reshape(6, 2)
    assert module.pack(points).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


def test_a_packed_head_predicts_every_member():
    """(B/m, m*K) -> (B, K): member j of pack p is sample p*m + j, its outputs the j-th block of K."""
    module = bare_module(LinearCritic(torch.zeros(1)), d_pack=3)
    out = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])  # one pack of 3 members, K = 2
    assert module.per_sample(out).tolist() == [[1, 2], [3, 4], [5, 6]]


def test_gradient_penalty_takes_the_norm_of_each_packs_gradient():
    """A linear critic on packs of 2 samples of 2 features: the gradient w.r.t. a pack is w (norm 5), so the
    penalty is (5 - 1)^2 = 16. Per sample it would be ((3 - 1)^2 + (4 - 1)^2) / 2 = 6.5."""
    w = torch.tensor([3.0, 0.0, 0.0, 4.0])  # block of sample 0: (3, 0), norm 3; sample 1: (0, 4), norm 4
    module = bare_module(LinearCritic(w), d_pack=2)
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    penalty = module.loss.penalty(module.packed_critic(None), module.pack(real), module.pack(fake))
    assert_close(penalty, torch.tensor(16.0))
    assert module.critic(real).shape == (3,)


def test_r1_on_packs_uses_the_whole_packs_gradient():
    w = torch.tensor([3.0, 0.0, 0.0, 4.0])
    module = bare_module(LinearCritic(w), d_pack=2)
    r1 = R1(gamma=2.0, every=1).penalty(module.packed_critic(None), module.pack(torch.randn(4, 2)), 0)
    assert_close(r1, torch.tensor(25.0))  # gamma / 2 * ||w||^2

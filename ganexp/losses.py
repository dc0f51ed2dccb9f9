"""Adversarial losses: small objects with `d_loss`/`g_loss`, chosen by the `loss` config group.

Scores are D's raw outputs (logits for BCE, unbounded critic values for the Wasserstein losses). Two optional hooks
let a loss act beyond the two formulas without the training loop knowing which loss it runs:
`penalty` (an extra D term that needs D itself, e.g. the gradient penalty; what it asks of D is `penalty_needs`) and
`after_d_step` (e.g. weight clipping), which receives every parameter that shapes the critic's score. Terms that go
with any loss (R1, path length) are regularisers: ganexp/regularisers.py.
"""

from collections.abc import Callable, Iterable
from typing import Annotated

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganexp.ranges import POSITIVE, Range, Weight
from ganexp.regularisers import R1, Needs  # noqa: F401 (R1: tests/unit/test_toolkit.py, test_packing.py import it here)


class AdversarialLoss:
    """Base class. `d_norm` is the D normalisation this loss needs when `model.discriminator.norm=auto`."""

    d_norm: str = "batch"
    wasserstein: bool = False  # scores estimate a Wasserstein distance: log E[D(real)] - E[D(fake)]
    penalty_needs: Needs = Needs()  # what `penalty` asks of D, read through ganexp.regularisers.requirements

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        raise NotImplementedError

    def g_loss(self, fake: Tensor) -> Tensor:
        raise NotImplementedError

    def penalty(self, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor | None:
        """Extra term added to D's loss (already weighted); None when the loss has none."""
        return None

    @torch.no_grad()
    def after_d_step(self, critic: Iterable[nn.Parameter]) -> None:
        """Called after every D optimizer step (and once before the first) with the critic's parameters."""


class BCE(AdversarialLoss):
    """Original GAN (Goodfellow et al. 2014), non-saturating G loss, optional one-sided label smoothing.

    `real_label` < 1 is one-sided smoothing (Salimans et al. 2016): only D's real targets are softened.
    """

    def __init__(self, real_label: Annotated[float, Range(0, 1, low_open=True)]):
        self.real_label = real_label

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            real, torch.full_like(real, self.real_label)
        ) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))

    def g_loss(self, fake: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


class Minimax(BCE):
    """Original GAN with the minimax (saturating) G loss of Goodfellow et al. 2014, eq. 1: G minimises
    E[log(1 - D(G(z)))] = -E[softplus(logit)], as google/compare_gan's GAN_MINMAX (compare_gan/src/gans/GAN.py,
    commit 49495fd: `g_loss = -d_loss_fake`). D's loss is BCE's. Its gradient vanishes when D rejects the fakes
    confidently, the reason the non-saturating form (`loss=gan`) is the usual one."""

    def g_loss(self, fake: Tensor) -> Tensor:
        return -F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))


class LSGAN(AdversarialLoss):
    """Least squares GAN (Mao et al. 2017): D pushes real to 1 and fake to 0; G pushes fake to 1."""

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean()

    def g_loss(self, fake: Tensor) -> Tensor:
        return 0.5 * ((fake - 1) ** 2).mean()


class WGAN(AdversarialLoss):
    """Wasserstein GAN (Arjovsky et al. 2017): critic maximises E[D(real)] - E[D(fake)], weights clipped to ±clip."""

    wasserstein = True

    def __init__(self, clip: Annotated[float, POSITIVE]):
        self.clip = clip

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return fake.mean() - real.mean()

    def g_loss(self, fake: Tensor) -> Tensor:
        return -fake.mean()

    @torch.no_grad()
    def after_d_step(self, critic: Iterable[nn.Parameter]) -> None:
        """Clamp after every critic step, as igul222/improved_wgan_training gan_cifar.py (clip_disc_weights after
        disc_train_op), and once before the first, as martinarjovsky/WassersteinGAN main.py (which clamps at the
        start of each critic step): the critic steps see the same weights as in that reference, and G always
        trains against a clipped critic."""
        params = list(critic)
        if params:  # one kernel launch for all of them (torch's foreach ops), the same numbers as clamp_
            torch._foreach_clamp_min_(params, -self.clip)
            torch._foreach_clamp_max_(params, self.clip)


class WGANGP(WGAN):
    """WGAN with gradient penalty (Gulrajani et al. 2017): no clipping; gp_weight * (||∇D(x̂)|| - 1)² on interpolates.

    The penalty is per sample, so D must not use BatchNorm (it mixes samples): `d_norm = "layer"`.
    """

    d_norm = "layer"
    penalty_needs = Needs(double_backward=True, per_sample=True)

    def __init__(self, gp_weight: Weight):
        self.gp_weight = gp_weight

    def penalty(self, critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
        return self.gp_weight * gradient_penalty(critic, real, fake)

    def after_d_step(self, critic: Iterable[nn.Parameter]) -> None:
        pass


class Hinge(AdversarialLoss):
    """Hinge loss (Lim & Ye 2017; SAGAN/BigGAN): D: relu(1 - real) + relu(1 + fake); G: -fake."""

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def g_loss(self, fake: Tensor) -> Tensor:
        return -fake.mean()


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """E[(||∇x D(x̂)||₂ - 1)²] at x̂ = εx + (1-ε)x̃, ε ~ U[0,1] per sample; differentiable w.r.t. D's weights."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    mixed = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    scores = critic(mixed)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def classification_loss(logits: list[Tensor], labels: Tensor, multilabel: bool = False) -> Tensor:
    """AC-GAN's auxiliary term: the mean over attribute groups of each group's cross-entropy (long labels (N, A)),
    or for multi-label data one binary cross-entropy over all labels (float multi-hot (N, L), `logits` = [one])."""
    if multilabel:
        return F.binary_cross_entropy_with_logits(logits[0], labels.float())
    return torch.stack([F.cross_entropy(lg, labels[:, a]) for a, lg in enumerate(logits)]).mean()


def info_loss(cat_logits: list[Tensor], cat: Tensor, cont_pred: Tensor, cont: Tensor,
              continuous_weight: float = 1.0) -> Tensor:
    """InfoGAN's mutual-information bound, negated: cross-entropy per categorical code (summed) plus
    `continuous_weight` x the squared error of the continuous codes summed over codes, averaged over the batch
    (the Gaussian log-likelihood with unit variance, up to a constant)."""
    loss = cont_pred.new_zeros(())
    for j, lg in enumerate(cat_logits):
        loss = loss + F.cross_entropy(lg, cat[:, j])
    if cont.shape[1]:
        loss = loss + continuous_weight * 0.5 * ((cont_pred - cont) ** 2).sum(1).mean()
    return loss

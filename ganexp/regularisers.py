"""Regularisers: one extra term of D's or G's loss, with any adversarial loss, chosen by the `reg` config group.

A regulariser says whose loss its term joins (`side`), what the term asks of that network (`needs`), and returns the
term, already weighted, for one step (`term`), or None on the steps a lazy form skips. What it keeps between steps
(path length's running mean) it hands over through `state_dict`/`load_state_dict`: GANModule stores that in the
checkpoint, so a resumed run continues it exactly. The start-up checks, D's `norm=auto` and the torch.compile choice
ask `requirements(loss, regulariser)`, never the classes' attributes themselves.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from ganexp.ranges import Count, Fraction, Weight


@dataclass(frozen=True)
class Needs:
    """What an extra loss term asks of the network whose loss it joins."""

    double_backward: bool = False  # it differentiates a gradient of that network: no torch.compile, no fp16 scaling
    per_sample: bool = False  # it takes each sample's gradient of D's input: a batch-mixing D (BatchNorm) breaks it


@dataclass(frozen=True)
class StepInputs:
    """What a term may read at one step. `step`: 0-based count of its side's updates before this one. D side:
    `critic` (D's score of packed images) and the step's packed `real` and `fake` batches. G side: the step's
    `batch_size` and `run_g(n)`, a fresh G pass on its first n latents and conditions: (G's input, requiring grad;
    the images)."""

    step: int
    batch_size: int = 0
    critic: Callable[[Tensor], Tensor] | None = None
    real: Tensor | None = None
    fake: Tensor | None = None
    run_g: Callable[[int], tuple[Tensor, Tensor]] | None = None


class Regulariser:
    """Base class: a term added to D's (`side = "d"`) or G's (`side = "g"`) loss, logged as `reg/<name>`."""

    side: Literal["d", "g"] = "d"
    name: str = ""
    needs: Needs = Needs()

    def term(self, inputs: StepInputs) -> Tensor | None:
        """The weighted term for this step, or None on a step the lazy form skips."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """What an exact resume needs besides the config (GANModule saves it in the checkpoint)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""


@dataclass(frozen=True)
class Requirements:
    """What a run's extra terms ask, each need with the config keys of the terms that bring it ("loss": the loss's
    own penalty, a D-side term; "reg": the regulariser)."""

    eager: frozenset[str]  # networks ("d", "g") whose gradient a term differentiates: torch.compile leaves them eager
    double_backward: tuple[str, ...]  # keys of terms that differentiate a gradient: fp16's scaling would miss them
    per_sample: tuple[str, ...]  # keys of terms that take per-sample gradients of D: D must not use BatchNorm


def requirements(loss: Any, regulariser: Any = None) -> Requirements:
    """The requirements of `loss` (its `penalty_needs`) and `regulariser` (its `side` and `needs`; None: none),
    classes or instances, so that the start-up checks can ask before anything is built."""
    terms = [("loss", "d", getattr(loss, "penalty_needs", Needs()))]
    if regulariser is not None:
        terms.append(("reg", regulariser.side, regulariser.needs))
    return Requirements(
        eager=frozenset(side for _, side, needs in terms if needs.double_backward),
        double_backward=tuple(key for key, _, needs in terms if needs.double_backward),
        per_sample=tuple(key for key, side, needs in terms if needs.per_sample and side == "d"),
    )


class R1(Regulariser):
    """R1 (Mescheder et al. 2018): gamma / 2 * E ||grad_x D(x_real)||^2 added to D's loss, whatever the adversarial
    loss (`reg=r1`). `every` > 1 is StyleGAN2's lazy form: the term on every `every`-th D step only, weighted by
    `every` so its average strength is unchanged (NVlabs/stylegan2-ada-pytorch training/loss.py scales its Dreg
    phase by the phase interval). StyleGAN2 runs that phase as a separate optimizer step with adjusted Adam
    settings; here the term joins that D step's loss, with the optimizer as configured."""

    side = "d"
    name = "r1"
    needs = Needs(double_backward=True, per_sample=True)

    def __init__(self, gamma: Weight, every: Count):
        self.gamma, self.every = gamma, every

    def term(self, inputs: StepInputs) -> Tensor | None:
        return self.penalty(inputs.critic, inputs.real, inputs.step)

    def penalty(self, critic: Callable[[Tensor], Tensor], real: Tensor, d_step: int) -> Tensor | None:
        """The term for D step number `d_step` (0-based), or None on the steps the lazy form skips."""
        if d_step % self.every:
            return None
        x = real.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        return self.every * self.gamma / 2 * grad.flatten(1).pow(2).sum(1).mean()


class PathLength(Regulariser):
    """StyleGAN2's path length regularisation (Karras et al. 2020), added to G's loss (`reg=path_length`), as the
    Gpl phase of NVlabs/stylegan2-ada-pytorch training/loss.py (commit 375a436): on the first N / `batch_shrink`
    latents of the G step, y ~ N(0, 1) / sqrt(H * W) of the images' shape, the length |J^T y| of the gradient of
    sum(G(z) * y) with respect to the latent, `pl_mean` its running mean (lerp towards the batch mean by `decay`,
    kept detached; the penalty uses the lerped value with its graph, as there), and the term
    weight * mean (length - pl_mean)^2 on every `every`-th G step, scaled by `every` (training_loop.py runs the
    Greg phase every G_reg_interval = 4 steps with gain = that interval).

    Departures: ganexp's G has no mapping network, so the gradient is taken with respect to the latent z the module
    draws (G's input under the normal prior; under z_prior=uniform, before its map; InfoGAN's z holds its codes)
    instead of w, and the length sums over that one vector instead of averaging over StyleGAN's w copies; the term
    joins that G step's loss rather than a separate optimizer step; 2-D points count as H * W = 1.
    DCGAN's G uses BatchNorm, which couples the samples of the shortened batch (each length then includes the
    paths through the batch statistics; StyleGAN2's G has no BatchNorm), and the extra G pass moves its running
    statistics. The reference keeps pl_mean out of its snapshots; here it is in the checkpoint."""

    side = "g"
    name = "path_length"
    needs = Needs(double_backward=True)  # the term's backward differentiates G's input gradient

    def __init__(self, weight: Weight, decay: Fraction, batch_shrink: Count, every: Count):
        self.weight, self.decay, self.batch_shrink, self.every = weight, decay, batch_shrink, every
        self.pl_mean = torch.zeros(())

    def term(self, inputs: StepInputs) -> Tensor | None:
        if inputs.step % self.every:
            return None
        return self.penalty(*inputs.run_g(max(1, inputs.batch_size // self.batch_shrink)))

    def penalty(self, g_input: Tensor, images: Tensor) -> Tensor:
        """weight * every * mean (|J^T y| - pl_mean)^2 for G's images of `g_input` (which requires grad); updates
        pl_mean."""
        noise = torch.randn_like(images) / math.sqrt(math.prod(images.shape[2:]))
        (grad,) = torch.autograd.grad((images * noise).sum(), g_input, create_graph=True)
        lengths = grad.float().flatten(1).square().sum(1).sqrt()
        pl_mean = self.pl_mean.to(lengths.device).lerp(lengths.mean(), self.decay)
        self.pl_mean = pl_mean.detach()
        return self.every * self.weight * (lengths - pl_mean).square().mean()

    def state_dict(self) -> dict[str, Any]:
        return {"pl_mean": self.pl_mean.detach().cpu()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pl_mean = state["pl_mean"].detach().clone()

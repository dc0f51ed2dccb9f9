"""GANModule: the one alternation loop every GAN variant shares.

Per *iteration* the schedule says how many D and G updates happen (`ganexp.schedule`). D steps come first, each
on a real batch of its own (Algorithm 1 of both WGAN papers; martinarjovsky/WassersteinGAN main.py and
igul222/improved_wgan_training gan_cifar.py draw one per critic step), then G steps; G's first step reuses the fake
batch D's first step saw (as the pytorch/examples DCGAN loop does), so a 1:1 schedule costs one G forward per
iteration. The data loader hands over all of an iteration's real batches at once (`schedule.real_batches_at`).
Variants override the hooks at the bottom: how labels become the condition of G and D, and which extra loss terms
they add. Clipping and penalties come from the loss object; a regulariser (`reg=`) adds its term to D's or G's loss.

Counters: `iteration`, `d_updates`, `g_updates`, `real_images` (real images drawn from the data). Lightning's
`global_step` counts every optimizer step (D and G together), so ganexp's schedule, milestones, run length and
TensorBoard x-axis use `iteration`.
"""

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from ganexp.checkpoint import set_rng_states
from ganexp.data.module import LabelSpace
from ganexp.guard import Diverged, check_loss  # noqa: F401 (Diverged: ganexp.train imports it from here)
from ganexp.losses import AdversarialLoss
from ganexp.modules.bookkeeping import Bookkeeping
from ganexp.modules.ema import EMA, Averaging, GeneratorEMA
from ganexp.modules.packing import Packing
from ganexp.nets import Discriminator, Generator
from ganexp.ranks import worst_over_ranks
from ganexp.regularisers import Regulariser, StepInputs, requirements
from ganexp.runtime import optimizer_kernel
from ganexp.schedule import updates_at


@dataclass(frozen=True)
class Loop:
    """How long the loop runs and how it logs and guards itself (from `trainer`, `log` and `guard`)."""

    max_iters: int  # stop after this many iterations
    batches_per_epoch: int  # real batches in one pass over the training images
    log_every: int  # iterations between scalar writes
    guard_max_loss: float  # |loss| above this for guard_patience checks ends the run as diverged
    guard_patience: int
    guard_every: int  # iterations between checks (one host sync each)


@dataclass(frozen=True)
class Optimizers:
    """How each network trains: its optimizer (a partial taking `params`) and learning-rate scheduler (a partial
    taking the optimizer, stepped once per iteration; None for a constant rate)."""

    g: Callable[..., torch.optim.Optimizer]
    d: Callable[..., torch.optim.Optimizer]
    scheduler_g: Callable[..., Any] | None = None
    scheduler_d: Callable[..., Any] | None = None


def latent(z: Tensor, prior: str) -> Tensor:
    """G's input from a standard normal draw `z`: `z` itself, or U(-1, 1) through the normal CDF (2 Phi(z) - 1 =
    erf(z / sqrt 2)). Every caller draws Gaussian noise, so one fixed noise bank serves both priors."""
    return torch.erf(z / math.sqrt(2)) if prior == "uniform" else z


class GANModule(Averaging, Packing, Bookkeeping, pl.LightningModule):
    """The unconditional GAN (DCGAN with `model=dcgan`, the MLP pair with `model=toy`): labels are ignored.

    It receives its networks built (`conf/model/*.yaml` names them; `ganexp.build.build_module` completes them with
    the condition sizes that `condition_sizes` gives) and owns the loop around them.
    """

    conditional = False  # whether G draws what the labels ask for (and so is scored on it)
    d_conditional = True  # whether the condition is also an input of D (AC-GAN's D predicts it instead)

    def __init__(
        self,
        generator: Generator,
        discriminator: Discriminator,
        loss: AdversarialLoss,
        optimizers: Optimizers,
        sched: Mapping,
        loop: Loop,
        z_dim: int,
        z_prior: Literal["normal", "uniform"],
        d_pack: int,
        cond: tuple[nn.Module | None, nn.Module | None] = (None, None),  # (G's, D's) condition encoder
        labels: LabelSpace | None = None,
        regularizer: Regulariser | None = None,
        g_ema: GeneratorEMA | None = None,
        augment: Callable[[Tensor], Tensor] | None = None,
    ):
        super().__init__()
        self.automatic_optimization = False
        self.loss, self.sched, self.loop, self.regularizer = loss, sched, loop, regularizer
        self.augment = augment  # applied to every image D judges (DiffAugment), in D's and G's steps
        self.d_pack = d_pack  # PacGAN: D judges packs of this many samples (see `pack`)
        self.optimizer_g, self.optimizer_d = optimizers.g, optimizers.d
        self.scheduler_g, self.scheduler_d = optimizers.scheduler_g, optimizers.scheduler_d
        self.labels = labels or LabelSpace([], False, [], torch.empty(0))
        self.z_dim, self.z_prior = z_dim, z_prior
        self._over_max: dict[str, int] = {}  # consecutive checks above guard_max_loss, per checked loss
        self._rng_to_restore: dict | None = None
        # Each network owns its condition encoder, so a learned one trains with that network's optimizer.
        self.cond_g, self.cond_d = cond
        self.generator, self.discriminator = generator, discriminator
        # The moving average of G (and of its condition encoder) that evaluation, grids and sampling use; the raw G
        # trains. A submodule, so checkpoints keep it and a resumed run continues it exactly.
        self.ema_start = g_ema.start if g_ema is not None else 0
        self.g_ema = EMA(self.g_parts(), g_ema.decay) if g_ema is not None and g_ema.decay > 0 else None
        self.ema_updates = 0  # on the host: whether the next update copies needs no read of the device
        self._ema_stale = True  # the average's BatchNorm statistics need recomputing before it draws
        # The distinct conditions present in the data (sample grids and wrong-condition sampling draw from them).
        self.register_buffer("conditions", self.labels.conditions, persistent=False)
        self.iteration = self.d_updates = self.g_updates = self.real_images = self.real_images_at_start = 0
        # training seconds of the earlier processes of this run (a resumed or extended run), kept in checkpoints
        self.seconds_before, self._started = 0.0, time.perf_counter()
        self.channels_last = False  # set by speed_up()
        self._last: dict[str, Tensor] = {}

    @classmethod
    def condition_sizes(cls, cond_dim: int, settings: Mapping) -> tuple[int, int]:
        """(G's, D's) condition input sizes for a condition encoder of `cond_dim`, given the model's settings."""
        if not cls.conditional:
            return 0, 0
        return cond_dim, cond_dim if cls.d_conditional else 0

    @property
    def groups(self) -> list[int]:
        return self.labels.groups

    @property
    def multilabel(self) -> bool:
        return self.labels.multilabel

    def generate(self, z: Tensor, labels: Tensor | None = None, ema: bool = False) -> Tensor:
        """G's images; `ema=True` (evaluation, grids, sampling) draws with the moving average of G when it is on."""
        generator, cond = self.drawing_parts(ema)
        return generator(latent(z, self.z_prior), cond(labels) if cond is not None else None)

    def critic(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.judge(x, labels)[0]

    def judge(self, x: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(scores (N / d_pack,), D's features): D sees each image augmented, then packed with its neighbours
        (with d_pack > 1); extra heads (AC-GAN, InfoGAN) share the features of the same pass."""
        cond = self.cond_d(labels) if self.cond_d is not None else None
        if self.augment is not None:
            x = self.augment(x)
        x, cond = self.pack(x), None if cond is None else self.pack(cond)
        h = self.discriminator.features(x, cond)
        # fp32 scores: under bf16 autocast the losses, d/real, d/fake and the Wasserstein estimate would keep ~3 digits
        return self.discriminator.score(h, cond).float(), h

    def speed_up(self, channels_last: bool = False, compile: bool = False) -> None:
        """trainer=gpu_fast: NHWC memory layout, and torch.compile of G and of D's forward (not of a network whose
        gradient a penalty or regulariser differentiates: compiled graphs do not support double backward). Parameter
        names stay the same, so checkpoints load either way."""
        if channels_last:
            self.channels_last = True
            self.to(memory_format=torch.channels_last)
            first = next((m for m in self.generator.modules() if isinstance(m, nn.ConvTranspose2d)), None)
            if first is not None and first.stride == (1, 1) and first.padding == (0, 0):
                # DCGAN's z -> 4x4 layer reads a 1x1 map, where NHWC buys nothing; kept NCHW because torch 2.11's
                # compiled backward on CUDA mispredicts its weight gradient's strides at batch 512 (an assertion in
                # convolution_backward; H200, gpu-check diagnosis of 2026-12-04, docs/performance.md)
                first.weight.data = first.weight.data.contiguous()
        if compile:
            eager = requirements(self.loss, self.regularizer).eager
            if "g" not in eager:
                self.generator.compile()
            if "d" not in eager:
                self.discriminator.features = torch.compile(self.discriminator.features)

    # ---- the loop ------------------------------------------------------------------------------------------------
    def configure_optimizers(self):
        opt_g = self.optimizer_g(params=self.g_parameters(), **optimizer_kernel(self.optimizer_g, self.device))
        opt_d = self.optimizer_d(params=self.d_parameters(), **optimizer_kernel(self.optimizer_d, self.device))
        schedulers = [make(opt) for make, opt in ((self.scheduler_g, opt_g), (self.scheduler_d, opt_d)) if make]
        return [opt_g, opt_d], schedulers

    def g_parameters(self) -> list:
        """What G's optimizer trains: parameters, or param groups (dicts) with settings of their own."""
        return list(self.generator.parameters()) + _params(self.cond_g)

    def d_parameters(self) -> list:
        """What D's optimizer trains: the critic, plus what variants add (AC-GAN's heads, InfoGAN's Q)."""
        return self.critic_parameters()

    def noise(self, n: int) -> Tensor:
        return torch.randn(n, self.z_dim, device=self.device)

    def critic_parameters(self) -> list[nn.Parameter]:
        """Every parameter that shapes the critic's score: D and its condition encoder (projection, concat), not the
        extra heads (AC-GAN's classifier, InfoGAN's Q). Weight clipping keeps all of them in the box."""
        return list(self.discriminator.parameters()) + _params(self.cond_d)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        real, labels = batch
        self.real_images += len(real)
        if self.channels_last and real.dim() == 4:  # images, not 2-D points
            real = real.contiguous(memory_format=torch.channels_last)
        opt_g, opt_d = self.optimizers()
        if self.iteration < self.sched.get("pixel_pretrain_steps", 0):
            self.pixel_step(real, labels, opt_g)
            self.end_iteration()
            return
        todo = updates_at(self.iteration, self.sched)
        size = len(real) // max(todo.d, 1)
        reals, real_labels = real.split(size), labels.split(size)  # D step j trains on real batch j
        fake_labels = self.fake_labels(real_labels[0])
        # One G forward feeds D's first step (detached) and G's first step (with graph), when G trains this batch.
        with torch.set_grad_enabled(todo.g > 0):
            z = self.noise(size)
            fake = self.generate(z, fake_labels)

        for step in range(todo.d):
            d_fake, d_z, d_fake_labels = fake.detach(), z, fake_labels
            if step > 0:  # further critic steps see fresh fakes; `fake` keeps its graph for G's step
                d_fake_labels = self.fake_labels(real_labels[step])
                with torch.no_grad():
                    d_z = self.noise(size)
                    d_fake = self.generate(d_z, d_fake_labels)
            with self.toggled_optimizer(opt_d):
                d_loss = self.d_loss(reals[step], real_labels[step], d_fake, d_fake_labels, d_z)
                self.check("loss/d", d_loss)
                opt_d.zero_grad(set_to_none=True)
                self.manual_backward(d_loss)
                opt_d.step()
            self.loss.after_d_step(self.critic_parameters())
            self.d_updates += 1

        for step in range(todo.g):
            if step > 0:
                z = self.noise(size)
                fake = self.generate(z, fake_labels)
            with self.toggled_optimizer(opt_g):
                g_loss = self.g_loss(fake, fake_labels, z)
                self.check("loss/g", g_loss)
                opt_g.zero_grad(set_to_none=True)
                self.manual_backward(g_loss)
                opt_g.step()
            self.update_ema()
            self.g_updates += 1

        self.end_iteration()

    def pixel_step(self, real: Tensor, labels: Tensor, opt_g: torch.optim.Optimizer) -> None:
        """G pre-training (`sched.pixel_pretrain_steps`): the mean squared error between G's images and the real
        batch they stand for (same labels, arbitrary noise); D does not train."""
        with self.toggled_optimizer(opt_g):
            loss = ((self.generate(self.noise(len(real)), self.fake_labels(labels)) - real) ** 2).mean()
            self.check("loss/pixel", loss)
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            opt_g.step()
        self.track(**{"loss/pixel": loss})
        self.g_updates += 1

    def end_iteration(self) -> None:
        schedulers = self.lr_schedulers() or []
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            scheduler.step()
        self.iteration += 1
        self.on_iteration_end()

    def d_loss(self, real: Tensor, labels: Tensor, fake: Tensor, fake_labels: Tensor, z: Tensor) -> Tensor:
        real_scores, real_h = self.judge(real, labels)
        fake_scores, fake_h = self.judge(fake, fake_labels)
        adversarial = self.d_adversarial(real, labels, real_scores, fake_scores)
        self.track(**{"loss/d_adv": adversarial, "d/real": real_scores.mean(), "d/fake": fake_scores.mean()})
        loss = adversarial + self.d_extra(real_h, labels, fake_h, fake_labels, z)
        penalty = self.loss.penalty(self.packed_critic(labels), self.pack(real), self.pack(fake))
        if self.loss.wasserstein:
            self.track(wasserstein=real_scores.mean() - fake_scores.mean())
        if penalty is not None:
            self.track(gp=penalty)
            loss = loss + penalty
        if self.regularizer is not None and self.regularizer.side == "d":
            loss = self.regularised(loss, StepInputs(self.d_updates, critic=self.packed_critic(labels),
                                                     real=self.pack(real), fake=self.pack(fake)))
        self.track(**{"loss/d": loss})
        return loss

    def g_loss(self, fake: Tensor, fake_labels: Tensor, z: Tensor) -> Tensor:
        scores, h = self.judge(fake, fake_labels)
        loss = self.loss.g_loss(scores) + self.g_extra(h, fake_labels, z)
        if self.regularizer is not None and self.regularizer.side == "g":
            loss = self.regularised(loss, StepInputs(self.g_updates, batch_size=len(z),
                                                     run_g=lambda n: self.g_pass(z[:n], fake_labels[:n])))
        self.track(**{"loss/g": loss})
        return loss

    def g_pass(self, z: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """(the latents, requiring grad; the trained G's images of them): what a G-side regulariser differentiates.
        The latent is the module's noise draw, whatever the variant builds G's input from (prior, codes)."""
        z = z.detach().requires_grad_(True)
        return z, self.generate(z, labels)

    def regularised(self, loss: Tensor, inputs: StepInputs) -> Tensor:
        """`loss` plus the regulariser's term for this step (tracked as reg/<name>); `loss` on a step it skips."""
        term = self.regularizer.term(inputs)
        if term is None:
            return loss
        self.track(**{f"reg/{self.regularizer.name}": term})
        return loss + term

    def check(self, name: str, loss: Tensor) -> None:
        """Stop before a bad optimizer step: raises Diverged (one host sync per check, every `guard_every`). Under
        DDP every rank checks the same value, the worst of all ranks' (a non-finite one first, else the largest in
        magnitude), so they stop together: a rank that stopped alone would leave the others waiting."""
        if self.iteration % self.loop.guard_every == 0:  # patience per loss: ganexp.guard
            check_loss(self._over_max, self.iteration, name, worst_over_ranks(self, loss.detach().float()),
                       self.loop.guard_max_loss, self.loop.guard_patience)

    # ---- hooks for variants --------------------------------------------------------------------------------------
    def fake_labels(self, labels: Tensor) -> Tensor:
        """The labels G is asked to draw for this batch (default: the real batch's own)."""
        return labels

    def d_adversarial(self, real: Tensor, labels: Tensor, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        """D's adversarial term; the conditional GAN adds real images with wrong conditions as negatives."""
        return self.loss.d_loss(real_scores, fake_scores)

    def d_extra(self, real_h: Tensor, labels: Tensor, fake_h: Tensor, fake_labels: Tensor, z: Tensor
                ) -> Tensor | float:
        """Extra terms of D's loss from D's features of the real and fake batch (auxiliary classifier, Q head)."""
        return 0.0

    def g_extra(self, fake_h: Tensor, fake_labels: Tensor, z: Tensor) -> Tensor | float:
        """Extra terms of G's loss from D's features of G's batch."""
        return 0.0

    def evaluation_metric_names(self, attributes: list[str]) -> list[str]:
        """The names `evaluation_metrics` returns, for data with these attribute groups (checked at start-up)."""
        return []

    def evaluation_metrics(self, z: Tensor, classes: Tensor, attributes: list[str]) -> dict[str, float]:
        """The variant's own metrics at each evaluation: `z` the fixed noise the fakes came from, `classes` (N, A) the
        evaluator's attribute classes of those fakes (single-label data only)."""
        return {}

    def pictures(self, seed: int) -> dict[str, Tensor]:
        """Variant-specific grids (name -> [0, 1] image) saved at the end of training, e.g. code traversals."""
        return {}

    def setup(self, stage: str) -> None:
        """Under DDP each rank draws its own noise: ranks above 0 reseed from the run's seed and their rank (rank 0
        keeps the run's seed, so a one-GPU run and rank 0 of a DDP run start alike). Each rank's batches are its
        own already (`ImageData.train_dataloader`)."""
        if self.trainer.world_size > 1 and self.global_rank > 0:
            pl.seed_everything((torch.initial_seed() + 7919 * self.global_rank) % 2**32, verbose=False)

    def on_train_start(self) -> None:
        self._started = time.perf_counter()
        self._clock = (self._started, self.real_images)
        self.real_images_at_start = self.real_images
        # Weight clipping holds from the first critic step on (the reference clamps before each critic step); a
        # no-op on a resumed run, whose weights were clamped after its last D step.
        self.loss.after_d_step(self.critic_parameters())
        # Restored here, after everything that runs between loading and training has drawn its random numbers.
        if self._rng_to_restore is not None:
            set_rng_states(self._rng_to_restore, self.device)
            self._rng_to_restore = None


def _params(module: nn.Module | None) -> list[nn.Parameter]:
    return list(module.parameters()) if module is not None else []

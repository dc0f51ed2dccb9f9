"""What GANModule records beside training: the latest scalars (read from the device every `log.every` iterations
only), the speed, and what a checkpoint must carry for an exact resume (counters, seconds, every random state, per
rank under DDP; the regulariser's running state)."""

import time

import torch
from torch import Tensor

from ganexp.checkpoint import rng_states
from ganexp.ranks import gather_objects, rank_rng_state


class Bookkeeping:
    """Scalars, speed and checkpoint state of a GANModule (a pl.LightningModule)."""

    def track(self, **values: Tensor) -> None:
        """Keep the latest value of each scalar; written at `log_every` iterations, not synced every step."""
        self._last.update({k: v.detach() for k, v in values.items()})

    def on_iteration_end(self) -> None:
        if self.iteration % self.loop.log_every == 0 or self.iteration == self.loop.max_iters:
            self.write_scalars()
        if self.loop.max_iters and self.iteration >= self.loop.max_iters:
            self.trainer.should_stop = True

    def scalars(self) -> dict[str, float]:
        opt_g, opt_d = self.optimizers()
        names = list(self._last)  # one read of all of them (one host sync on a GPU), in fp32
        values = dict(zip(names, torch.stack([self._last[k].float() for k in names]).tolist() if names else [],
                          strict=True))
        values.update({
            "lr/g": opt_g.param_groups[0]["lr"], "lr/d": opt_d.param_groups[0]["lr"],
            "count/d_updates": self.d_updates, "count/g_updates": self.g_updates,
            "count/real_images": self.real_images,
        })
        values.update(self.speed())
        return values

    def speed(self) -> dict[str, float]:
        """Real images drawn per second, and seconds per epoch (one pass over the training images, however many
        iterations that takes), since the previous call (wall clock, evaluation time included)."""
        now = time.perf_counter()
        last = getattr(self, "_clock", None)
        self._clock = (now, self.real_images)
        if last is None or self.real_images == last[1]:
            return {}
        per_image = (now - last[0]) / (self.real_images - last[1])
        values = {"speed/images_per_s": 1 / per_image}
        if self.loop.batches_per_epoch and self._trainer is not None and self.trainer.datamodule is not None:
            values["speed/epoch_seconds"] = per_image * self.loop.batches_per_epoch * self.trainer.datamodule.batch_size
        return values

    def write_scalars(self) -> None:
        """The scalars to the loggers, and D's and G's loss to the progress bar (as numbers: a tensor there would be
        read at every refresh), every `log_every` iterations."""
        values = self.scalars()
        for name in ("loss/d", "loss/g"):
            if name in values:
                self.log(name.split("/")[1], values[name], prog_bar=True, logger=False)
        if self.logger is not None:
            self.logger.log_metrics(values, step=self.iteration)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # Lightning keeps neither these counters nor the RNG states; an exact resume needs both.
        checkpoint["ganexp_counters"] = {"iteration": self.iteration, "d_updates": self.d_updates,
                                         "g_updates": self.g_updates, "real_images": self.real_images,
                                         "ema_updates": self.ema_updates, "_over_max": self._over_max}
        checkpoint["ganexp_seconds"] = self.seconds_so_far()  # apart from the counters: no resume repeats it
        checkpoint["ganexp_rng"] = rng_states(self.device)
        if self.regularizer is not None:  # e.g. path length's running mean
            checkpoint["ganexp_reg"] = self.regularizer.state_dict()
        if self._trainer is not None and self.trainer.world_size > 1:  # every rank calls this hook: gather theirs
            checkpoint["ganexp_rng_ranks"] = gather_objects(checkpoint["ganexp_rng"])

    def seconds_so_far(self) -> float:
        """Training seconds of this run in all its processes: the earlier ones' (from the checkpoint) and this one's
        since its training started; the work after a lost process's last checkpoint is not counted (it is redone)."""
        return self.seconds_before + time.perf_counter() - self._started

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self._ema_stale = True
        for name, value in checkpoint.get("ganexp_counters", {}).items():
            setattr(self, name, value)
        if not isinstance(self._over_max, dict):  # checkpoints before the count was per loss
            self._over_max = {}
        if "ema_updates" not in checkpoint.get("ganexp_counters", {}):  # checkpoints before the host-side count
            self.ema_updates = int(checkpoint.get("state_dict", {}).get("g_ema.n_averaged", 0))
        if self.regularizer is not None and "ganexp_reg" in checkpoint:
            self.regularizer.load_state_dict(checkpoint["ganexp_reg"])
        self.seconds_before = checkpoint.get("ganexp_seconds", self.seconds_before)  # older checkpoints: as set
        self._rng_to_restore = rank_rng_state(checkpoint, self.global_rank, self.trainer.world_size
                                              if self._trainer is not None else 1)

"""Which process this is, and what the ranks of a DDP run must agree on.

Lightning's rank detection (`rank_zero_only.rank`: RANK, LOCAL_RANK, SLURM_PROCID, JSM_NAMESPACE_RANK) names the
process before the trainer exists; under DDP the ranks then share the divergence guard's verdict, the decision to
keep `best.ckpt`, and each keeps its own random states in the checkpoint.
"""

import os
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities.rank_zero import rank_zero_only
from torch import Tensor


def launched_worker() -> bool:
    """Whether this process is a DDP rank other than the first, however it was started: Lightning's re-run of the
    command (LOCAL_RANK), torchrun (RANK), SLURM's srun (SLURM_PROCID), a second node (NODE_RANK). Rank 0 alone owns
    the run folder: its lock, its checks and its status."""
    return rank_zero_only.rank > 0 or int(os.environ.get("NODE_RANK", 0) or 0) > 0


def agree(trainer: pl.Trainer | None, decision: Any) -> Any:
    """Rank 0's `decision` on every rank (itself without DDP): for choices that lead to collective calls."""
    if trainer is None or trainer.world_size == 1:
        return decision
    return trainer.strategy.broadcast(decision, src=0)


def worst_over_ranks(module: pl.LightningModule, value: Tensor) -> float:
    """`value` (a scalar) as the divergence guard should see it: under DDP the worst over all ranks, the same on
    every rank (a non-finite one first, else the largest in magnitude); this rank's otherwise."""
    if module._trainer is None or module.trainer.world_size == 1:
        return float(value)
    values = module.all_gather(value).flatten()
    bad = ~torch.isfinite(values)
    return float(values[bad][0]) if bool(bad.any()) else float(values[values.abs().argmax()])


def gather_objects(obj: Any) -> list[Any]:
    """`obj` of every rank, by rank (collective: every rank must call it)."""
    gathered: list[Any] = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(gathered, obj)
    return gathered


def rank_rng_state(checkpoint: dict, rank: int, world_size: int) -> dict | None:
    """The random states this rank resumes with: its own from a DDP checkpoint of as many ranks; rank 0's from a
    one-process checkpoint. None (keep the per-rank seeds of `setup`) where the ranks changed in number."""
    ranks = checkpoint.get("ganexp_rng_ranks")
    if ranks is not None and len(ranks) == world_size:
        return ranks[rank]
    return checkpoint.get("ganexp_rng") if rank == 0 else None

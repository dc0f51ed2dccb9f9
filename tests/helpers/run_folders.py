"""What a run folder holds, read back: its status, its last checkpoint's weights, its metric store's lines."""

import json

import torch

from ganexp.store import STORE


def status(run_dir):
    return json.loads((run_dir / "status.json").read_text())


def weights(run_dir):
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]


def lines(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / STORE).read_text().splitlines()]

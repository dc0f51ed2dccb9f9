"""How far does fid_eval move when the evaluator's training is perturbed? The same generators, scored with several
evaluators of the same data: the cached one (as the runs used), seed 0 retrained, seed 0 retrained with oneDNN off
(other convolution kernels, so other rounding: a stand-in for another CPU's kernels), and seed 1.

    PYTHONPATH=. .venv/bin/python docs/experiments/evaluator_check/evalcheck.py RUN [RUN ...]

RUN: run folders of one data setting (their checkpoints/last.ckpt is scored, with the runs' own evaluation noise).
Prints one line per evaluator (held-out accuracy, seconds), whether the retrained seed-0 evaluator is bit-identical
to the cached one, and one line per run with fid_eval under each evaluator.
"""

import sys
import time
from pathlib import Path

import torch

from ganexp.data.module import to_float
from ganexp.eval.evaluator import train_evaluator
from ganexp.eval.images import load_evaluator
from ganexp.eval.metrics import feature_distances
from ganexp.nets import eval_mode
from ganexp.sample import load_run

BATCH = 250
runs = [load_run(Path(p) / "checkpoints" / "last.ckpt") for p in sys.argv[1:]]
_, dm, cfg = runs[0]
torch.set_num_threads(1)
evaluators = {"cached": load_evaluator(dm, cfg.eval.floor, epochs=cfg.eval.epochs, width=cfg.eval.width)}
data, (images, labels) = dm.load(), dm.train_images
groups = [k - (none is not None) for k, none in zip(data.groups, data.untagged, strict=True)]
for name, seed, onednn in [("seed0", 0, True), ("seed0_no_onednn", 0, False), ("seed1", 1, True)]:
    torch.backends.mkldnn.enabled, start = onednn, time.time()
    with torch.random.fork_rng(devices=[]):
        model, acc = train_evaluator(images, labels, groups, data.multilabel, epochs=cfg.eval.epochs,
                                     width=cfg.eval.width, seed=seed)
    print(f"evaluator {name}: held-out accuracy {acc:.4f}, {time.time() - start:.0f} s", flush=True)
    evaluators[name] = model.eval()
torch.backends.mkldnn.enabled = True
same = all(torch.equal(a, b) for a, b in zip(evaluators["cached"].state_dict().values(),
                                             evaluators["seed0"].state_dict().values(), strict=True))
print("cached == seed0 retrained, bit for bit:", same)
real, real_labels = dm.heldout_images
real = to_float(real)
for path, (module, _, run_cfg) in zip(sys.argv[1:], runs, strict=True):
    z = torch.randn(len(real), module.z_dim, generator=torch.Generator().manual_seed(run_cfg.eval.seed))
    labels = real_labels if module.conditional else None
    with torch.no_grad(), eval_mode(module):
        fake = torch.cat([module.generate(zc, None if labels is None else labels[i * BATCH:][:len(zc)], ema=True)
                          for i, zc in enumerate(z.split(BATCH))]).clamp(-1, 1)
        fids = {name: feature_distances(e, real, fake, BATCH)["fid"] for name, e in evaluators.items()}
    print(path, " ".join(f"{name}={fid:.1f}" for name, fid in fids.items()), flush=True)

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
from types import SimpleNamespace

import torch

from ganexp.eval.evaluator import train_evaluator
from ganexp.eval.images import ImageEvaluation, evaluator_training_set
from ganexp.eval.metrics import feature_distances
from ganexp.sample import load_run

runs = [load_run(Path(p) / "checkpoints" / "last.ckpt") for p in sys.argv[1:]]
module, dm, cfg = runs[0]
torch.set_num_threads(1)
# the runs' own evaluation: their cached evaluator, held-out reals and fixed noise (no trainer: nothing is logged)
evaluation = ImageEvaluation(dm, Path("."), every=1, monitor="fid_eval", seed=cfg.eval.seed, floor=cfg.eval.floor,
                             epochs=cfg.eval.epochs, width=cfg.eval.width)
evaluation.prepare(SimpleNamespace(logger=None), module)
evaluators = {"cached": evaluation.evaluator}
images, labels, groups, multilabel = evaluator_training_set(dm)
for name, seed, onednn in [("seed0", 0, True), ("seed0_no_onednn", 0, False), ("seed1", 1, True)]:
    torch.backends.mkldnn.enabled, start = onednn, time.time()
    with torch.random.fork_rng(devices=[]):
        model, acc = train_evaluator(images, labels, groups, multilabel, epochs=cfg.eval.epochs,
                                     width=cfg.eval.width, seed=seed)
    print(f"evaluator {name}: held-out accuracy {acc:.4f}, {time.time() - start:.0f} s", flush=True)
    evaluators[name] = model.eval()
torch.backends.mkldnn.enabled = True
same = all(torch.equal(a, b) for a, b in zip(evaluators["cached"].state_dict().values(),
                                             evaluators["seed0"].state_dict().values(), strict=True))
print("cached == seed0 retrained, bit for bit:", same)
for path, (run_module, _, _) in zip(sys.argv[1:], runs, strict=True):
    with torch.no_grad():
        fake = evaluation.generate(run_module)
        fids = {name: feature_distances(e, evaluation.real, fake, evaluation.batch_size)["fid"]
                for name, e in evaluators.items()}
    print(path, " ".join(f"{name}={fid:.1f}" for name, fid in fids.items()), flush=True)

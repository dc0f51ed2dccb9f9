"""The GPU check: `python -m ganexp.gpu_check [--out FILE]` (`make gpu-check`), under 8 minutes on one GPU.

Prints one PASS/FAIL/SKIP line per check and a summary; exits 1 on any FAIL; `--out` writes the measured numbers as
JSON (for docs/performance.md, On a GPU). Each check runs in its own process with a time limit, inside one overall
budget. `--device cpu` runs the same checks at smoke size on the CPU and skips the CUDA-only ones
(tests/e2e/test_gpu_check.py runs it that way, in this process: `--in-process`). Checks, in order (issue 42):

  cuda            CUDA and bf16 visible
  rng             evaluation leaves every RNG of the training as it found it (the CUDA one too)
  resume          a run killed at an iteration and resumed (resume=true) equals the uninterrupted one, deterministic
  gpu_fast        a trainer=gpu_fast run with G's EMA and evaluation completes with finite metrics
  ddp             trainer=ddp on one process (NCCL on a GPU) with the gradient penalty completes
  syncs           host syncs per training iteration, by torch's sync debug mode (budget: ganexp.syncs.over_budget)
  bench_gpu       python -m ganexp.bench trainer=gpu: >= 0.95x the plain loop's images/s
  bench_gpu_fast  python -m ganexp.bench trainer=gpu_fast: >= 2x the plain loop's, no recompilation
  four_jobs       four jobs at once on the GPU (hydra/launcher=gpu_parallel) against one: >= 1.5x the images/s in all
"""


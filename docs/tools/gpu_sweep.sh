#!/usr/bin/env bash
# One sweep on an offline GPU machine within a fixed time, in two stages, so that a stage cut short loses nothing of
# the stage before it (docs/results.md names the runs made this way).
#
#   SHORT=6000 LONG=29688 BUDGET=540 docs/tools/gpu_sweep.sh NAME "COMMON OVERRIDES" "SWEEP OVERRIDES" ["SWEEP2"]
#
# 1. the wheels of `make gpu-wheels` (in .whl/) installed offline, as `make gpu-check` does;
# 2. one 2-iteration job of COMMON: renders the data and trains the evaluator into the shared cache once, before
#    the parallel jobs would race for them;
# 3. the sweep to SHORT iterations (hydra/launcher=gpu_parallel, JOBS jobs at once on the one GPU), and its report;
# 4. the same sweep extended to LONG iterations (extend_from: each job continues its SHORT run exactly) until
#    BUDGET seconds after the start; cut short, its jobs get SIGTERM (each saves and reads `interrupted`), and the
#    report says how far each got.
# The reports, the curves, the grids and each job's small files (status, metrics, run.log, samples) go to
# $OUT/NAME_SHORT and $OUT/NAME_LONG; checkpoints stay on the machine. On a machine without a GPU,
# CPU=1 runs the same stages on the CPU (a check of this script, with tiny settings in COMMON).
set -u
name=$1 common=$2 sweep=$3 sweep2=${4:-$3}  # SWEEP2: stage 2's sweep (fewer seeds, say), default the same
short=${SHORT:-6000} long=${LONG:-0} budget=${BUDGET:-540} jobs=${JOBS:-10}
out=${OUT:-/tmp/gpu_sweep_out} work=${WORK:-/tmp/gpu_sweep}
start=$(date +%s)
left() { echo $(( budget - ($(date +%s) - start) )); }
log() { echo "[$(( $(date +%s) - start ))s] $*"; }

mkdir -p "$out" "$work"
if [ -z "${CPU:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/ganexp-site .whl/*.whl
  export PYTHONPATH=$PWD:/tmp/ganexp-site${PYTHONPATH:+:$PYTHONPATH}
  py=python3 device="trainer=gpu hydra/launcher=gpu_parallel hydra.launcher.n_jobs=$jobs"
else
  py=${PY:-.venv/bin/python} device="hydra/launcher=cpu_parallel"
fi
export GANEXP_CACHE=$work/cache
nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv,noheader 2>/dev/null

copy() {  # the small files of a sweep folder
  local from=$1 to=$2
  mkdir -p "$to"
  (cd "$from" && find . \( -name checkpoints -o -name tb -o -name previous \) -prune -o -type f \
     \( -name '*.md' -o -name '*.csv' -o -name '*.json' -o -name '*.jsonl' -o -name '*.png' -o -name '*.log' -o -name '*.yaml' \) -print \
     | grep -v '/samples/iter_' | tar -cf - -T - ) | (cd "$to" && tar -xf -)
}

log "warm-up: data and evaluator"
$py run.py $common $device trainer.max_iters=2 eval.every_n_steps=2 hydra.run.dir=$work/warm > "$out/warm.log" 2>&1 \
  || { tail -30 "$out/warm.log"; exit 1; }

log "stage 1: $short iterations"
$py run.py -m $common $sweep $device trainer.max_iters=$short hydra.sweep.dir=$work/short > "$out/short.log" 2>&1
log "stage 1 ended ($?)"
tail -25 "$out/short.log"
$py -m ganexp.report $work/short --grid progress --grid cond_hair >> "$out/short.log" 2>&1
copy $work/short "$out/${name}_$short"

if [ "$long" -gt "$short" ] && [ "$(left)" -gt 60 ]; then
  log "stage 2: on to $long iterations, until ${budget}s"
  setsid $py run.py -m $common $sweep2 $device trainer.max_iters=$long "extend_from='$work/short'" \
    hydra.sweep.dir=$work/long > "$out/long.log" 2>&1 &
  pid=$!
  while kill -0 $pid 2>/dev/null && [ "$(left)" -gt 45 ]; do sleep 5; done
  if kill -0 $pid 2>/dev/null; then
    log "time is up: SIGTERM to the sweep"
    kill -TERM -- -$pid; sleep 25; kill -KILL -- -$pid 2>/dev/null
  fi
  wait $pid; log "stage 2 ended ($?)"
  tail -25 "$out/long.log"
  $py -m ganexp.report $work/long --grid progress --grid cond_hair >> "$out/long.log" 2>&1
  copy $work/long "$out/${name}_$long"
fi
log "done"

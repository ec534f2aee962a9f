#!/usr/bin/env bash
# Runs both sides of `make bench-step` in alternation and prints the summary
# line, whose ratio is PyTorch's step time / simlearn's (> 1: simlearn faster).
# The machine may be shared, so each side runs ROUNDS times, interleaved, and
# the best (lowest) per-run median counts for each side. Both sides run the
# same step on THREADS threads.
#   bench/step_run.sh BENCH_BINARY [steps] [rounds] [threads]
# STEP_TORCH names the PyTorch side (default bench/step_torch.py), STEP_NAME
# the summary line's first word (default step), and STEP_SPEC, when set, is
# passed to both sides as their last argument (bench-vit's encoder spec).
# simlearn runs with OMP_WAIT_POLICY=passive and OPENBLAS_THREAD_TIMEOUT=4, so
# its OpenMP and OpenBLAS thread pools do not spin against each other; PyTorch
# runs both with its default environment and with OMP_WAIT_POLICY=passive, and
# its faster result counts.
set -euo pipefail
bin=$1
steps=${2:-20}
rounds=${3:-3}
threads=${4:-2}
torch=${STEP_TORCH:-"$(dirname "$0")/step_torch.py"}
name=${STEP_NAME:-step}
extra=()
if [ -n "${STEP_SPEC:-}" ]; then extra=("$STEP_SPEC"); fi
best_sl=""; best_pt=""
min() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b + 0 < a + 0) print b; else print a }'; }
for r in $(seq "$rounds"); do
  out=$(OMP_WAIT_POLICY=passive OPENBLAS_THREAD_TIMEOUT=4 "$bin" "$steps" "$threads" "${extra[@]}")
  echo "$out" | grep -v '^SIMLEARN_MS'
  best_sl=$(min "$best_sl" "$(echo "$out" | sed -n 's/^SIMLEARN_MS //p')")
  for envs in "" "OMP_WAIT_POLICY=passive"; do
    out=$(env $envs /usr/bin/python3 "$torch" "$steps" "$threads" "${extra[@]}")
    echo "$out" | grep -v '^PYTORCH_MS' | sed "s/^/${envs:-default env}: /"
    best_pt=$(min "$best_pt" "$(echo "$out" | sed -n 's/^PYTORCH_MS //p')")
  done
done
[ -n "$best_sl" ] && [ -n "$best_pt" ] || { echo "step_run.sh: a side printed no time" >&2; exit 1; }
awk -v n="$name" -v a="$best_sl" -v b="$best_pt" 'BEGIN { printf "%s: simlearn %.1f ms, pytorch %.1f ms, ratio %.2f\n", n, a, b, b / a }'

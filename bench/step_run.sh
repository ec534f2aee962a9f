#!/usr/bin/env bash
# Runs both sides of `make bench-step` and prints the summary line.
#   bench/step_run.sh BENCH_BINARY [steps]
set -euo pipefail
bin=$1
steps=${2:-20}
sl=$(OMP_PROC_BIND=false "$bin" "$steps" 2)
echo "$sl"
pt=$(/usr/bin/python3 "$(dirname "$0")/step_torch.py" "$steps" 2)
echo "$pt"
a=$(echo "$sl" | sed -n 's/^SIMLEARN_MS //p')
b=$(echo "$pt" | sed -n 's/^PYTORCH_MS //p')
awk -v a="$a" -v b="$b" 'BEGIN { printf "step: simlearn %.1f ms, pytorch %.1f ms, ratio %.2f\n", a, b, a / b }'

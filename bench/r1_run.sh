#!/usr/bin/env bash
# bench-r1: the R1 workload (docs/BENCHMARKS.md, "Reference workloads") on Fashion-MNIST,
# simlearn against PyTorch (bench/simclr_torch.py) in the same run.
#  1. parity: the same recipe on both sides (NT-Xent tau 0.5, batch 256, Adam 1e-3
#     constant, crop(0.6,1.0)+flip, R1_THREADS threads) for R1_EPOCHS epochs, or
#     R1_STEPS steps when R1_STEPS > 0 (quick runs); the ratio is simlearn's training
#     images per second over PyTorch's, both counted over the whole training loop;
#  2. quality (R1_QUALITY=1): simlearn's recommended recipe (its defaults) in an
#     R1_MINUTES budget, evaluated once on the test split.
# Both sides' 128-d encoder outputs are scored by the same script, bench/r1_eval.py.
#   bench/r1_run.sh     (env: R1_EPOCHS=8 R1_STEPS=0 R1_MINUTES=15 R1_THREADS=2 R1_QUALITY=1)
set -euo pipefail
E=${R1_EPOCHS:-8}; M=${R1_MINUTES:-15}; T=${R1_THREADS:-2}; STEPS=${R1_STEPS:-0}; Q=${R1_QUALITY:-1}
export R1_THREADS=$T
out=build/bench/r1; mkdir -p "$out"
sl=./simlearn
export OMP_PROC_BIND=false
source bench/fmnist_eval.sh
len="--epochs $E"; [ "$STEPS" != 0 ] && len="--steps $STEPS"
echo "== simlearn, R1 parity recipe ($len): NT-Xent tau 0.5, batch 256, Adam 1e-3, crop(0.6,1.0)+flip, $T threads"
$sl train --data fashion-mnist $len --batch 256 --objective infonce --tau 0.5 --aug 'crop(0.6,1.0),flip' \
  --projector 'linear(128),relu,linear(64)' --optim adam --lr 1e-3 --schedule constant --warmup 0 --threads "$T" \
  --seed 0 -o "$out/parity.safetensors" --log "$out/parity.jsonl" 2> "$out/parity.err" || { cat "$out/parity.err"; exit 1; }
grep -v '^train ' "$out/parity.err" | tail -n 3
sl_ips=$(sed -n 's/.*s, \([0-9.]*\) images\/s.*/\1/p' "$out/parity.err" | tail -n1)
ev=$(evaluate "$out/parity.safetensors"); echo "$ev"
sl_knn=$(field "KNN weighted" "$ev"); sl_probe=$(field PROBE "$ev")
echo "== PyTorch, R1 parity recipe ($len)"
/usr/bin/python3 bench/simclr_torch.py "$out" $len --threads "$T" > "$out/torch.txt" 2>&1 || { cat "$out/torch.txt"; exit 1; }
grep -E '^(pytorch|PYTORCH_TRAIN)' "$out/torch.txt"
pt_ips=$(sed -n 's/^PYTORCH_TRAIN .*images_per_s=\([0-9.]*\).*/\1/p' "$out/torch.txt")
evt=$(/usr/bin/python3 bench/r1_eval.py "$out/torch_train.npy" "$out/torch_train.labels.npy" "$out/torch_test.npy" \
  "$out/torch_test.labels.npy"); echo "$evt"
pt_knn=$(field "KNN weighted" "$evt"); pt_probe=$(field PROBE "$evt")
for v in sl_ips sl_knn sl_probe pt_ips pt_knn pt_probe; do
  [ -n "${!v}" ] || { echo "r1_run.sh: no figure for $v" >&2; exit 1; }
done
echo "parity: simlearn kNN $sl_knn probe $sl_probe at $sl_ips img/s; pytorch kNN $pt_knn probe $pt_probe at $pt_ips img/s (whole training loops)"
if [ "$Q" = 1 ]; then
  # The recommended recipe is simlearn's default on IDX images (docs/training.md): the mono
  # augmentation (crop(0.3,1.0),flip,jitter(0.4,0.4)@0.8), NT-Xent tau 0.1, projector
  # linear(512),bn,relu,linear(128), Adam 2e-3, cosine schedule with 5% warm-up. A 40-step
  # calibration run measures its speed; the step count then fills what is left of the budget.
  t0=$(date +%s.%N)
  $sl train --data fashion-mnist --steps 40 --threads "$T" --seed 0 -q -o "$out/calib.safetensors" --log "$out/calib.jsonl"
  ips=$(tail -n 1 "$out/calib.jsonl" | sed 's/.*"images_per_s":\([0-9.]*\).*/\1/')
  left=$(awk -v t0="$t0" -v t1="$(date +%s.%N)" -v m="$M" 'BEGIN { printf "%.0f", m * 60 - (t1 - t0) }')
  steps=$(awk -v ips="$ips" -v s="$left" 'BEGIN { n = int(s * ips / 256 * 0.97); print (n < 1 ? 1 : n) }')
  echo "== simlearn, recommended recipe (the defaults), $M minutes: $steps steps at the calibrated $ips img/s in the ${left} s left"
  $sl train --data fashion-mnist --steps "$steps" --time-limit "$left" --threads "$T" --seed 0 \
    -o "$out/quality.safetensors" --log "$out/quality.jsonl" 2> "$out/quality.err" || { cat "$out/quality.err"; exit 1; }
  grep -v '^train ' "$out/quality.err" | tail -n 1
  evq=$(evaluate "$out/quality.safetensors"); echo "$evq"
  q_knn=$(field "KNN weighted" "$evq"); q_probe=$(field PROBE "$evq")
  raw=$(/usr/bin/python3 - <<'PY'
import sys
sys.path.insert(0, 'bench')
import numpy as np
import fmnist_idx
import r1_eval
tr = fmnist_idx.images('train').reshape(60000, -1).astype(np.float64) / 255
te = fmnist_idx.images('test').reshape(10000, -1).astype(np.float64) / 255
w, _ = r1_eval.knn(tr, fmnist_idx.labels('train'), te, fmnist_idx.labels('test'))
print(f'{w * 100:.2f}')
PY
)
  echo "quality: simlearn ($M min) kNN $q_knn probe $q_probe; raw pixels kNN $raw (same kNN, this run)"
fi
q=""; [ "$Q" = 1 ] && q=$(printf ' (%s min recipe: probe %.2f%% kNN %.2f%%)' "$M" "$q_probe" "$q_knn")
awk -v a="$sl_probe" -v b="$pt_probe" -v k="$sl_knn" -v l="$pt_knn" -v x="$sl_ips" -v y="$pt_ips" -v q="$q" \
  'BEGIN { printf "r1: simlearn probe %.2f%% kNN %.2f%% %.0f img/s%s, pytorch probe %.2f%% kNN %.2f%% %.0f img/s, ratio %.2f\n", a, k, x, q, b, l, y, x / y }'

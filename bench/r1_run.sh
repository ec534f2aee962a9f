#!/usr/bin/env bash
# bench-r1: R1 (DESIGN.md §6) on Fashion-MNIST, simlearn against the PyTorch anchor in
# the same run. Parity: the anchor's recipe for R1_EPOCHS epochs on both sides; quality:
# simlearn's recommended recipe in an R1_MINUTES budget. Features are the 128-d encoder
# output, evaluated by bench/r1_eval.py exactly as the anchor evaluates its own.
#   bench/r1_run.sh SHARED      (env: R1_EPOCHS=8 R1_MINUTES=15 R1_THREADS=2 R1_STEPS=0 R1_QUALITY=1)
# R1_STEPS > 0 replaces simlearn's epochs by a step count (smoke runs only: parity then
# compares different amounts of training).
set -euo pipefail
shared=$1
E=${R1_EPOCHS:-8}; M=${R1_MINUTES:-15}; T=${R1_THREADS:-2}; STEPS=${R1_STEPS:-0}; Q=${R1_QUALITY:-1}
out=build/bench/r1; mkdir -p "$out"
sl=./simlearn
export OMP_PROC_BIND=false
evaluate() { # model -> eval output
  $sl embed --model "$1" --data fashion-mnist --split train --threads "$T" -q -o "$out/tr.npy"
  $sl embed --model "$1" --data fashion-mnist --split test --threads "$T" -q -o "$out/te.npy"
  /usr/bin/python3 bench/r1_eval.py "$out/tr.npy" "$out/tr.labels.npy" "$out/te.npy" "$out/te.labels.npy"
}
len="--epochs $E"; [ "$STEPS" != 0 ] && len="--steps $STEPS"
echo "== simlearn, anchor recipe ($len): NT-Xent tau 0.5, batch 256, Adam 1e-3, crop(0.6,1.0)+flip, $T threads"
$sl train --data fashion-mnist $len --batch 256 --objective infonce --tau 0.5 --aug 'crop(0.6,1.0),flip' \
  --projector 'linear(128),relu,linear(64)' --optim adam --lr 1e-3 --schedule constant --warmup 0 --threads "$T" --seed 0 -o "$out/parity.safetensors" \
  --log "$out/parity.jsonl" 2> "$out/parity.err" || { cat "$out/parity.err"; exit 1; }
grep -v '^train ' "$out/parity.err" | tail -n 3
sl_ips=$(sed -n 's/.*s, \([0-9.]*\) images\/s.*/\1/p' "$out/parity.err" | tail -n1)
ev=$(evaluate "$out/parity.safetensors"); echo "$ev"
sl_knn=$(echo "$ev" | sed -n 's/^KNN weighted \([0-9.]*\).*/\1/p'); sl_probe=$(echo "$ev" | sed -n 's/^PROBE \([0-9.]*\).*/\1/p')
echo "== PyTorch anchor ($E epochs)"
/usr/bin/python3 "$shared/anchors/simclr_torch.py" --max-epochs "$E" --minutes 100000 > "$out/torch.txt" 2>&1 || { cat "$out/torch.txt"; exit 1; }
grep -E 'THROUGHPUT|TRAINED|RESULT|BASELINE' "$out/torch.txt"
pt_ips=$(sed -n 's/^THROUGHPUT.* = \([0-9.]*\) source img\/s.*/\1/p' "$out/torch.txt")
pt_knn=$(sed -n 's/^RESULT SimCLR.*weighted \([0-9.]*\)%.*/\1/p' "$out/torch.txt")
pt_probe=$(sed -n 's/^RESULT linear probe.*test acc \([0-9.]*\)%.*/\1/p' "$out/torch.txt")
echo "parity: simlearn kNN $sl_knn probe $sl_probe at $sl_ips img/s; pytorch kNN $pt_knn probe $pt_probe at $pt_ips img/s (steady state)"
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
  q_knn=$(echo "$evq" | sed -n 's/^KNN weighted \([0-9.]*\).*/\1/p'); q_probe=$(echo "$evq" | sed -n 's/^PROBE \([0-9.]*\).*/\1/p')
  echo "quality: simlearn ($M min) kNN $q_knn probe $q_probe; targets kNN >= 85, probe >= 86; raw pixels 84.59 / 84.33"
fi
q=""; [ "$Q" = 1 ] && q=$(printf ' (%s min recipe: probe %.2f%% kNN %.2f%%)' "$M" "$q_probe" "$q_knn")
awk -v a="$sl_probe" -v b="$pt_probe" -v k="$sl_knn" -v l="$pt_knn" -v x="$sl_ips" -v y="$pt_ips" -v q="$q" \
  'BEGIN { printf "r1: simlearn probe %.2f%% kNN %.2f%% %.0f img/s%s, pytorch probe %.2f%% kNN %.2f%% %.0f img/s, ratio %.2f\n", a, k, x, q, b, l, y, x / y }'

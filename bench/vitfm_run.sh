#!/usr/bin/env bash
# bench-vitfm: a ViT encoder on Fashion-MNIST, VITFM_MINUTES of training per row on
# VITFM_THREADS threads: (1) InfoNCE with simlearn's defaults for IDX images (mono views,
# tau 0.1, projector linear(512),bn,relu,linear(128), Adam 2e-3, cosine); (2) masked-image
# modelling (--objective mae, mask ratio 0.75); (3) supervised fine-tuning (softmax on the
# class) starting from (2)'s encoder (--init), with crop(0.7,1.0)+flip views. Each row's
# step count is calibrated so the cosine schedule ends at the time budget (as bench-r1).
# Every encoder's output is scored on the test split by bench/r1_eval.py (weighted kNN,
# k = 20, and a linear probe), the evaluator of bench-r1's CNN, and so are raw pixels in
# the same run, the reference: ratio = the fine-tuned row's probe / raw pixels' probe.
#   bench/vitfm_run.sh   (env: VITFM_MINUTES=10 VITFM_THREADS=2 VITFM_SPEC=...)
set -euo pipefail
M=${VITFM_MINUTES:-10}; T=${VITFM_THREADS:-2}
VIT=${VITFM_SPEC:-"vit(patch=4,dim=64,depth=4,heads=4,mlp=2)"}
export R1_THREADS=$T
out=build/bench/vitfm; mkdir -p "$out"
sl=./simlearn
export OMP_PROC_BIND=false
source bench/fmnist_eval.sh
row() { # name batch args... : calibrate, train for the budget, evaluate; prints "ROW name knn probe steps"
  local name=$1 B=$2; shift 2
  local t0 ips left steps
  t0=$(date +%s.%N)
  $sl train --data fashion-mnist --steps 20 --batch "$B" --threads "$T" --seed 0 "$@" -q \
    -o "$out/$name-calib.safetensors" --log "$out/$name-calib.jsonl"
  ips=$(tail -n 1 "$out/$name-calib.jsonl" | sed 's/.*"images_per_s":\([0-9.]*\).*/\1/')
  left=$(awk -v t0="$t0" -v t1="$(date +%s.%N)" -v m="$M" 'BEGIN { l = m * 60 - (t1 - t0); printf "%.0f", l < 10 ? 10 : l }')
  steps=$(awk -v ips="$ips" -v s="$left" -v b="$B" 'BEGIN { n = int(s * ips / b * 0.97); print (n < 1 ? 1 : n) }')
  echo "== $name: $steps steps of $B at the calibrated $ips img/s in the $left s left"
  $sl train --data fashion-mnist --steps "$steps" --batch "$B" --time-limit "$left" --threads "$T" --seed 0 "$@" \
    -o "$out/$name.safetensors" 2> "$out/$name.err" || { cat "$out/$name.err"; exit 1; }
  grep -v '^train ' "$out/$name.err" | grep -E '^(encoder|objective|init|trained)' || true
  local ev; ev=$(evaluate "$out/$name.safetensors"); echo "$ev"
  echo "ROW $name $(field "KNN weighted" "$ev") $(field PROBE "$ev") $steps" >> "$out/rows.txt"
}
rm -f "$out/rows.txt"
echo "ViT $VIT, $M minutes per row, $T threads"
row infonce 256 --encoder "$VIT" --objective infonce
row mae 256 --encoder "$VIT" --objective mae
row mae-finetune 256 --init "$out/mae.safetensors" --init-towers encoder --objective softmax \
  --aug 'crop(0.7,1.0),flip'
raw_pixels_row "0"
printf '%-14s %8s %8s %8s\n' row kNN probe steps
awk '{ printf "%-14s %7.2f%% %7.2f%% %8s\n", $2, $3, $4, $5 }' "$out/rows.txt"
awk '$2 == "mae-finetune" { f = $4 } $2 == "raw-pixels" { p = $4 }
  END { printf "vitfm: simlearn fine-tuned ViT probe %.2f%%, raw pixels probe %.2f%%, ratio %.3f\n", f, p, f / p }' "$out/rows.txt"

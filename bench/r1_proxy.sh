#!/usr/bin/env bash
# A short R1 run for comparing recipes: trains on Fashion-MNIST for STEPS steps (batch 256,
# 2 threads, seed 0) with the given train options, embeds train and test, and prints one
# line with the weighted kNN (k=20, cosine, tau 0.07) and linear-probe test accuracies
# from simlearn's own knn and probe commands. The recipe table of docs/BENCHMARKS.md#bench-r1
# comes from runs like:
#   bench/r1_proxy.sh a7 1000 --tau 0.1 --aug 'crop(0.3,1.0),flip,jitter(0.4,0.4)@0.8' \
#     --lr 2e-3 --schedule cosine --warmup 50 --projector 'linear(512),bn,relu,linear(128)'
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: bench/r1_proxy.sh NAME STEPS [train options...]" >&2; exit 2; }
name=$1; steps=$2; shift 2
sl=./simlearn; o=build/bench/r1proxy/$name; mkdir -p "$o"
export OMP_PROC_BIND=false OMP_WAIT_POLICY=passive
t0=$(date +%s)
$sl train --data fashion-mnist --steps "$steps" --batch 256 --threads 2 --seed 0 -q -o "$o/m.safetensors" \
  --log "$o/log.jsonl" "$@"
t1=$(date +%s)
for s in train test; do $sl embed --model "$o/m.safetensors" --data fashion-mnist --split $s --threads 2 -q -o "$o/$s.npy"; done
knn=$($sl knn --base "$o/train.npy" --queries "$o/test.npy" --metric cosine -k 20 --labels "$o/train.labels.npy" \
  --query-labels "$o/test.labels.npy" --vote weighted --tau 0.07 --threads 2 -q | sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p')
probe=$($sl probe --train "$o/train.npy" --train-labels "$o/train.labels.npy" --test "$o/test.npy" \
  --test-labels "$o/test.labels.npy" --no-confusion --plateau 0 --max-iter 300 --threads 2 2> /dev/null |
  sed -n 's/^accuracy:.*test \([0-9.]*\)%.*/\1/p')
loss=$(tail -n 1 "$o/log.jsonl" | sed 's/.*"loss":\([0-9.e-]*\).*/\1/')
echo "$name: $steps steps in $((t1 - t0)) s, last loss $loss, kNN $knn%, probe $probe% | $*"

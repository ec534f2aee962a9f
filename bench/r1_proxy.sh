#!/usr/bin/env bash
# A short R1 run for comparing recipes without looking at the test images: trains on the
# first 50,000 Fashion-MNIST training images for STEPS steps (batch 256, 2 threads, seed 0)
# with the given train options, embeds those 50,000 and the last 10,000 training images
# (the validation split), and prints one line with the weighted kNN (k=20, cosine, tau
# 0.07) and linear-probe validation accuracies from simlearn's own knn and probe commands.
# The test split is left for the final, once-only report of bench-r1.
#
# The split: `--val-fraction 0.16666667` holds out the last 10,000 of the 60,000
# training images as the validation split (the checkpoint remembers it, so embed finds
# the same rows); the input is standardised as in every fashion-mnist run.
#   bench/r1_proxy.sh NAME STEPS [train options...]
# e.g.
#   bench/r1_proxy.sh a7 1000 --tau 0.1 --aug 'crop(0.3,1.0),flip,jitter(0.4,0.4)@0.8' \
#     --lr 2e-3 --schedule cosine --warmup 50 --projector 'linear(512),bn,relu,linear(128)'
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: bench/r1_proxy.sh NAME STEPS [train options...]" >&2; exit 2; }
name=$1; steps=$2; shift 2
sl=./simlearn; o=build/bench/r1proxy/$name; mkdir -p "$o"
export OMP_PROC_BIND=false OMP_WAIT_POLICY=passive
t0=$(date +%s)
$sl train --data fashion-mnist --val-fraction 0.16666667 --split train --steps "$steps" --batch 256 --threads 2 --seed 0 -q -o "$o/m.safetensors" \
  --log "$o/log.jsonl" "$@"
t1=$(date +%s)
$sl embed --model "$o/m.safetensors" --split train --threads 2 -q -o "$o/train.npy"
$sl embed --model "$o/m.safetensors" --split val --threads 2 -q -o "$o/val.npy"
ntr=$(/usr/bin/python3 -c "import numpy as np; print(len(np.load('$o/train.npy')))")
nval=$(/usr/bin/python3 -c "import numpy as np; print(len(np.load('$o/val.npy')))")
[ "$ntr" = 50000 ] && [ "$nval" = 10000 ] || { echo "r1_proxy.sh: $ntr training and $nval validation rows" >&2; exit 1; }
knn=$($sl knn --base "$o/train.npy" --queries "$o/val.npy" --metric cosine -k 20 --labels "$o/train.labels.npy" \
  --query-labels "$o/val.labels.npy" --vote weighted --tau 0.07 --threads 2 -q | sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p')
probe=$($sl probe --train "$o/train.npy" --train-labels "$o/train.labels.npy" --test "$o/val.npy" \
  --test-labels "$o/val.labels.npy" --no-confusion --plateau 0 --max-iter 300 --threads 2 -q |
  sed -n 's/^accuracy:.*test \([0-9.]*\)%.*/\1/p')
[ -n "$knn" ] && [ -n "$probe" ] || { echo "r1_proxy.sh: no kNN or probe accuracy" >&2; exit 1; }
loss=$(tail -n 1 "$o/log.jsonl" | sed 's/.*"loss":\([0-9.e-]*\).*/\1/')
echo "$name: $steps steps in $((t1 - t0)) s, last loss $loss, validation kNN $knn%, probe $probe% | $*"

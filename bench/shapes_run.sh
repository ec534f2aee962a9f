#!/usr/bin/env bash
# bench-shapes: which invariances each attribute preset teaches. For every preset, an
# InfoNCE encoder is trained on the shapes world; its validation embeddings are scored by
# leave-one-out kNN accuracy on every attribute, next to raw pixels and chance.
# The summary line compares the colour accuracy left in the `color` preset's embedding
# (whose two views differ only in colour, so lower is better) with the raw pixels':
# ratio = raw-pixel colour accuracy / simlearn's (> 1: the preset removed colour).
#   bench/shapes_run.sh     (env: SHAPES_STEPS=600 SHAPES_THREADS=2 SHAPES_VAL=2000)
set -euo pipefail
S=${SHAPES_STEPS:-600}; T=${SHAPES_THREADS:-2}; V=${SHAPES_VAL:-2000}
out=build/bench/shapes; mkdir -p "$out"
sl=./simlearn
export OMP_PROC_BIND=false
echo "InfoNCE tau 0.1, $S steps of 128 items (256 views), default shapes encoder, cosine schedule; kNN k=10 leave-one-out on $V validation items"
$sl embed --raw --data shapes --split val --count "$V" --threads "$T" -q -o "$out/pixels.npy"
printf '%-28s%9s%9s%9s%9s\n' representation shape color size location
/usr/bin/python3 - "$out/pixels" <<'PY'
import sys, numpy as np
line = "chance (most common class)".ljust(28)
for a in ('shape', 'color', 'size', 'location'):
    y = np.load(f"{sys.argv[1]}.{a}.npy"); line += f"{100 * np.bincount(y).max() / len(y):9.1f}"
print(line)
PY
/usr/bin/python3 bench/shapes_knn.py "raw pixels" "$out/pixels.npy" | tee "$out/pixels.txt"
for p in color location shape+location simclr; do
  $sl train --data shapes --aug "$p" --steps "$S" --batch 128 --lr 2e-3 --tau 0.1 --schedule cosine --warmup 30 \
    --threads "$T" -q -o "$out/$p.safetensors" --log "$out/$p.jsonl"
  $sl embed --model "$out/$p.safetensors" --split val --count "$V" --threads "$T" -q -o "$out/$p.npy"
  /usr/bin/python3 bench/shapes_knn.py "preset $p" "$out/$p.npy" | tee "$out/$p.txt"
done
echo "(each preset names what its two views differ in: color keeps shape+size+location, location keeps shape+color+size, shape+location keeps color+size; simclr is crop/flip/jitter/gray)"
c=$(awk '{print $(NF-2)}' "$out/color.txt"); r=$(awk '{print $(NF-2)}' "$out/pixels.txt")
awk -v c="$c" -v r="$r" 'BEGIN { printf "shapes: simlearn color-acc %.1f%%, raw-pixels color-acc %.1f%%, ratio %.2f\n", c, r, r / c }'

#!/usr/bin/env bash
# bench-clip: CLIP (image encoder + word-level embedding-bag text tower) on the shapes
# captions; zero-shot shape and colour classification from prompts ("a photo of a {shape}",
# "a photo of a {color} shape", by simlearn zeroshot) and image->text recall@1/5 on the
# validation split (bench/clip_eval.py). The summary ratio is zero-shot shape accuracy /
# chance (the only reference here).
#   bench/clip_run.sh     (env: CLIP_STEPS=1000 CLIP_THREADS=2 CLIP_VAL=2000)
set -euo pipefail
S=${CLIP_STEPS:-1000}; T=${CLIP_THREADS:-2}; V=${CLIP_VAL:-2000}
out=build/bench/clip; mkdir -p "$out"
sl=./simlearn
export OMP_PROC_BIND=false
echo "CLIP, $S steps of 256 pairs, learnable temperature, cosine schedule, $T threads"
$sl train --data shapes --objective clip --steps "$S" --batch 256 --lr 2e-3 --schedule cosine --warmup 50 \
  --threads "$T" -o "$out/clip.safetensors" --log "$out/clip.jsonl" 2> "$out/train.err" || { cat "$out/train.err"; exit 1; }
grep -v '^train ' "$out/train.err" | tail -n 1
$sl zeroshot --model "$out/clip.safetensors" --split val --count "$V" --attribute shape --prompt "a photo of a {}" \
  --threads "$T" -q > "$out/zeroshot_shape.txt"
$sl zeroshot --model "$out/clip.safetensors" --split val --count "$V" --attribute color --prompt "a photo of a {} shape" \
  --threads "$T" -q > "$out/zeroshot_color.txt"
$sl embed --model "$out/clip.safetensors" --split val --count "$V" --projector --threads "$T" -q -o "$out/img.npy"
$sl embed --model "$out/clip.safetensors" --split val --count "$V" --captions --threads "$T" -q -o "$out/cap.npy"
# "accuracy A% (CORRECT of N); chance C% (1 of K), ..." -> CORRECT N K
counts() { sed -n 's/^accuracy [0-9.]*% (\([0-9]*\) of \([0-9]*\)); chance [0-9.]*% (1 of \([0-9]*\)).*/\1 \2 \3/p' "$1"; }
ev=$(awk -v s="$(counts "$out/zeroshot_shape.txt")" -v c="$(counts "$out/zeroshot_color.txt")" 'BEGIN {
  split(s, a, " "); split(c, b, " ")
  printf "ZEROSHOT shape %.1f (chance %.1f) color %.1f (chance %.1f)\n", a[1] / a[2] * 100, 100 / a[3], b[1] / b[2] * 100, 100 / b[3] }'
  /usr/bin/python3 bench/clip_eval.py "$out/img.npy" "$out/cap.npy")
echo "$ev"
zs=$(echo "$ev" | sed -n 's/^ZEROSHOT shape \([0-9.]*\) .*/\1/p')
zc=$(echo "$ev" | sed -n 's/^ZEROSHOT .* color \([0-9.]*\) .*/\1/p')
r1=$(echo "$ev" | sed -n 's/^RECALL r1 \([0-9.]*\) .*/\1/p')
r5=$(echo "$ev" | sed -n 's/^RECALL r1 [0-9.]* r5 \([0-9.]*\) .*/\1/p')
awk -v s="$zs" -v c="$zc" -v a="$r1" -v b="$r5" 'BEGIN { printf "clip: simlearn zero-shot shape %.1f%% color %.1f%% recall@1 %.1f%% recall@5 %.1f%%, chance shape %.1f%% color %.1f%%, ratio %.2f\n", s, c, a, b, 100/7, 100/8, s / (100/7) }'

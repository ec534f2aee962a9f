#!/usr/bin/env bash
# bench-towers: CLIP on the shapes captions with each pair of towers — image tower a CNN
# (the shapes default, strided and ending in flatten + linear, or one ending in global
# average pooling like the demo's) or a ViT, text tower a bag of words (the default) or a text
# transformer — and the ViT image towers once more after masked-image pre-training (MAE on
# the same training images, then CLIP from that encoder with --init). Each row: zero-shot
# accuracy of shape, colour, size and location on the test split, from prompts, by
# simlearn zeroshot. The reference is chance, as in bench-clip; the summary ratio is the
# best row's zero-shot shape accuracy / chance.
#   bench/towers_run.sh   (env: TOWERS_STEPS=1000 TOWERS_MAE_STEPS=1000 TOWERS_THREADS=2
#                          TOWERS_TEST=2000 TOWERS_ROWS="cnn-bow cnn-txt gap-bow gap-txt vit-bow vit-txt
#                          mae-vit-bow mae-vit-txt")
set -euo pipefail
S=${TOWERS_STEPS:-1000}; M=${TOWERS_MAE_STEPS:-1000}; T=${TOWERS_THREADS:-2}; V=${TOWERS_TEST:-2000}
ROWS=${TOWERS_ROWS:-"cnn-bow cnn-txt gap-bow gap-txt vit-bow vit-txt mae-vit-bow mae-vit-txt"}
GAP=${TOWERS_GAP:-"conv(32,3,pad=1,bias=0),bn,relu,maxpool(2),conv(64,3,pad=1,bias=0),bn,relu,maxpool(2),conv(64,3,pad=1,bias=0),bn,relu,gap,linear(128)"}
VIT=${TOWERS_VIT:-"vit(patch=4,dim=64,depth=4,heads=4,mlp=2)"}
TXT=${TOWERS_TXT:-"txt(dim=64,depth=2,heads=2),linear(D)"}
out=build/bench/towers; mkdir -p "$out"
sl=./simlearn
export OMP_PROC_BIND=false
echo "CLIP on shapes, $S steps of 256 pairs (lr 2e-3, cosine, 50 warm-up), $T threads; MAE $M steps of 256;"
echo "pooled CNN image tower $GAP"
echo "ViT image tower $VIT, text transformer $TXT; zero-shot on $V test images"
train_clip() { # name image-encoder text-encoder [init]
  local name=$1 enc=$2 txt=$3 init=${4:-} t0 t1
  local args=(--data shapes --objective clip --steps "$S" --batch 256 --lr 2e-3 --schedule cosine --warmup 50
    --threads "$T" -o "$out/$name.safetensors")
  [ "$enc" != default ] && args+=(--encoder "$enc")
  [ "$txt" != default ] && args+=(--text-encoder "$txt")
  [ -n "$init" ] && args+=(--init "$init" --init-towers encoder)
  t0=$(date +%s)
  $sl train "${args[@]}" 2> "$out/$name.err" || { cat "$out/$name.err"; exit 1; }
  t1=$(date +%s)
  echo $((t1 - t0)) > "$out/$name.secs"
}
acc() { # model attribute prompt
  $sl zeroshot --model "$1" --split test --count "$V" --attribute "$2" --prompt "$3" --threads "$T" -q |
    sed -n 's/^accuracy \([0-9.]*\)%.*/\1/p'
}
if [[ " $ROWS " == *" mae-"* ]]; then
  t0=$(date +%s)
  $sl train --data shapes --objective mae --encoder "$VIT" --steps "$M" --batch 256 --lr 2e-3 --schedule cosine \
    --warmup 50 --threads "$T" -o "$out/mae.safetensors" 2> "$out/mae.err" || { cat "$out/mae.err"; exit 1; }
  echo "MAE pre-training: $(( $(date +%s) - t0 )) s, $(grep -v '^train ' "$out/mae.err" | tail -n 1)"
fi
printf '%-12s %7s %7s %7s %9s %8s\n' row shape color size location train_s
best=0; bestrow=
for row in $ROWS; do
  case $row in
    cnn-bow) train_clip "$row" default default ;;
    cnn-txt) train_clip "$row" default "$TXT" ;;
    gap-bow) train_clip "$row" "$GAP" default ;;
    gap-txt) train_clip "$row" "$GAP" "$TXT" ;;
    vit-bow) train_clip "$row" "$VIT" default ;;
    vit-txt) train_clip "$row" "$VIT" "$TXT" ;;
    mae-vit-bow) train_clip "$row" "$VIT" default "$out/mae.safetensors" ;;
    mae-vit-txt) train_clip "$row" "$VIT" "$TXT" "$out/mae.safetensors" ;;
    *) echo "towers_run.sh: unknown row $row" >&2; exit 2 ;;
  esac
  m="$out/$row.safetensors"
  s=$(acc "$m" shape "a photo of a {}"); c=$(acc "$m" color "a photo of a {} shape")
  z=$(acc "$m" size "a photo of a {} shape"); l=$(acc "$m" location "a photo of a shape in the {}")
  printf '%-12s %6.1f%% %6.1f%% %6.1f%% %8.1f%% %8s\n' "$row" "$s" "$c" "$z" "$l" "$(cat "$out/$row.secs")"
  if awk -v a="$s" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$s; bestrow=$row; fi
done
echo "chance: shape 14.3% (1 of 7), color 12.5% (1 of 8), size 50.0% (1 of 2), location 11.1% (1 of 9)"
awk -v s="$best" -v r="$bestrow" 'BEGIN { printf "towers: simlearn zero-shot shape %.1f%% (%s), chance 14.3%%, ratio %.2f\n", s, r, s / (100/7) }'

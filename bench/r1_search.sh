#!/usr/bin/env bash
# The recipe search behind simlearn's defaults on IDX images (docs/BENCHMARKS.md#bench-r1):
# nine bench/r1_proxy.sh runs of STEPS steps (1,000 by default; about 4 minutes of training
# each on 2 cores, then the scoring), scored on the validation split carved from the training images. Prints one
# line per run, then the run with the best validation kNN and the one with the best probe.
#   bench/r1_search.sh [STEPS]
set -euo pipefail
S=${1:-1000}
small='linear(128),relu,linear(64)'; wide='linear(512),bn,relu,linear(128)'
a0='crop(0.6,1.0),flip'; a1='crop(0.4,1.0),flip'
j1='crop(0.3,1.0),flip,jitter(0.4,0.4)@0.8'; j2='crop(0.2,1.0),flip,jitter(0.6,0.6)@0.8'
cos='--lr 2e-3 --schedule cosine --warmup 50'
out=build/bench/r1proxy/search.txt; mkdir -p "$(dirname "$out")"; : > "$out"
run() { bench/r1_proxy.sh "$@" | tee -a "$out"; }
run a1 "$S" --tau 0.5 --aug "$a0" --projector "$small" --lr 1e-3 --schedule constant --warmup 0
run a2 "$S" --tau 0.2 --aug "$a1" --projector "$small" $cos
run a3 "$S" --tau 0.1 --aug "$a1" --projector "$small" $cos
run a4 "$S" --tau 0.2 --aug "$j1" --projector "$small" $cos
run a5 "$S" --tau 0.1 --aug "$j1" --projector "$small" $cos
run a6 "$S" --tau 0.2 --aug "$j2" --projector "$small" $cos
run a7 "$S" --tau 0.1 --aug "$j1" --projector "$wide" $cos
run a8 "$S" --tau 0.1 --aug "$j1" --projector "$small" --lr 1e-3 --schedule cosine --warmup 0
run a9 "$S" --tau 0.1 --aug "$j2" --projector "$wide" $cos
for what in kNN probe; do
  best=$(sed -n "s/^\([a-z0-9]*\):.* $what \([0-9.]*\)%.*/\2 \1/p" "$out" | sort -rn | head -n 1)
  echo "best validation $what: ${best#* } (${best%% *}%)"
done

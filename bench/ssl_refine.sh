#!/usr/bin/env bash
# A second round of bench-ssl's recipe search, for the objective that came closest to
# InfoNCE's probe in the 15-minute table (VICReg): its current recipe and one change each
# of learning rate, expander width and depth, augmentation strength, covariance weight and
# optimizer, and InfoNCE's recipe at the same steps for reference, each as a
# bench/r1_proxy.sh run of STEPS steps (1000 by default, about 3.5 minutes of training on 2
# cores) on the first 50,000 training images, scored on the last 10,000 (the validation
# split). The test split is not touched. Prints one line per run, then the candidate with
# the best validation probe (ties: the current recipe) among every run recorded in
# build/bench/r1proxy/ssl-refine.txt, which each invocation appends to (so the candidates
# can be run in several goes; delete the file to start afresh).
#   bench/ssl_refine.sh [STEPS] [CANDIDATE...]
set -euo pipefail
S=${1:-1000}; shift || true
ALL="defaults lr1e-3 lr4e-3 hidden2048 crop0.2 lars deep crop0.4 cov4 infonce"
CANDS=${*:-$ALL}
out=build/bench/r1proxy/ssl-refine.txt; mkdir -p "$(dirname "$out")"; touch "$out"
opts() { # candidate -> its train options
  case $1 in
    defaults) echo "" ;;
    lr1e-3) echo "--lr 1e-3" ;;
    lr4e-3) echo "--lr 4e-3" ;;
    hidden2048) echo "--projector linear(2048),bn,relu,linear(128)" ;;
    crop0.2) echo "--aug crop(0.2,1.0),flip,jitter(0.4,0.4)@0.8" ;;
    lars) echo "--optim lars" ;;
    deep) echo "--projector linear(512),bn,relu,linear(512),bn,relu,linear(128)" ;;
    crop0.4) echo "--aug crop(0.4,1.0),flip,jitter(0.4,0.4)@0.8" ;;
    cov4) echo "--vicreg-cov 4" ;;
    *) echo "ssl_refine.sh: unknown candidate $1" >&2; return 2 ;;
  esac
}
for c in $CANDS; do
  if [ "$c" = infonce ]; then # the reference, not a candidate: InfoNCE's recipe at the same steps
    bench/r1_proxy.sh infonce-reference "$S" --objective infonce | tee -a "$out"; continue
  fi
  o=$(opts "$c"); read -ra a <<< "$o"
  bench/r1_proxy.sh "vicreg-$c" "$S" --objective vicreg ${a[@]+"${a[@]}"} | tee -a "$out"
done
best=$(sed -n "s/^vicreg-\([a-z0-9.-]*\):.* probe \([0-9.]*\)%.*| \(.*\)$/\2 \1 \3/p" "$out" | sort -s -k1,1rn | head -n 1)
echo "best validation probe, vicreg: $best"

#!/usr/bin/env bash
# The recipe search behind bench-ssl's rows: for each objective other than InfoNCE (whose
# recipe is the one bench/r1_search.sh chose), its documented defaults and one change of
# the knob its paper names as the one that matters, each as a bench/r1_proxy.sh run of
# STEPS steps (400 by default: 1.5 to 2 minutes of training each on 2 cores, then the
# scoring) on the first 50,000 training images, scored on the last 10,000 (the validation
# split). The test split is not touched. Prints one line per run, then, per objective, the
# candidate with the best validation probe (ties: the defaults).
#   bench/ssl_search.sh [STEPS] [OBJECTIVE...]
set -euo pipefail
S=${1:-400}; shift || true
OBJS=${*:-"barlow vicreg simsiam byol moco memory-bank"}
wide512='linear(512),bn,relu,linear(512)'
out=build/bench/r1proxy/ssl-search.txt; mkdir -p "$(dirname "$out")"; : > "$out"
run() { bench/r1_proxy.sh "$@" | tee -a "$out"; }
for o in $OBJS; do
  run "$o-defaults" "$S" --objective "$o"
  case $o in
    barlow | vicreg) run "$o-out512" "$S" --objective "$o" --projector "$wide512" ;;
    simsiam) run "$o-lr4e-3" "$S" --objective "$o" --lr 4e-3 ;;
    byol) run "$o-ema0.99" "$S" --objective "$o" --ema 0.99 ;;
    moco | memory-bank) run "$o-tau0.1" "$S" --objective "$o" --tau 0.1 ;;
    *) echo "ssl_search.sh: no candidates for $o" >&2; exit 2 ;;
  esac
done
for o in $OBJS; do
  best=$(sed -n "s/^\($o-[a-z0-9.-]*\):.* probe \([0-9.]*\)%.*| \(.*\)$/\2 \1 \3/p" "$out" | sort -s -k1,1rn | head -n 1)
  echo "best validation probe, $o: $best"
done

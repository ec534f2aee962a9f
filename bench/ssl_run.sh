#!/usr/bin/env bash
# bench-ssl: one row per objective on Fashion-MNIST, SSL_MINUTES of training each on
# SSL_THREADS threads, with simlearn's defaults for IDX images throughout (the R1 CNN
# encoder, mono views, projector linear(512),bn,relu,linear(128), Adam 2e-3 with a cosine
# schedule, batch 256, seed SSL_SEED, 0 by default) and each objective's documented defaults, except where
# bench/ssl_search.sh, or a later round on the validation split, chose a change (recipe() below;
# InfoNCE's recipe is the one bench/r1_search.sh chose for these defaults; InfoNCE and VICReg
# train on batches of 128 since the third round, with AdamW since the fourth). Each row's step count
# is calibrated so the cosine schedule ends at the time budget (as bench-r1). Every
# encoder's output is scored on the test split by bench/r1_eval.py (weighted kNN, k = 20,
# and a linear probe), and so are raw pixels in the same run.
# Summary: the best row's probe against InfoNCE's (ratio best / infonce).
#   bench/ssl_run.sh   (env: SSL_MINUTES=15 SSL_THREADS=2 SSL_SEED=0 SSL_PIXELS=1 SSL_METHODS="infonce barlow ...";
#   SSL_PIXELS=0 leaves out the raw-pixels row, which does not depend on the seed;
#   SSL_ENCODER=SPEC trains that encoder instead of the R1 CNN, with the same recipes)
set -euo pipefail
M=${SSL_MINUTES:-15}; T=${SSL_THREADS:-2}; SEED=${SSL_SEED:-0}
METHODS=${SSL_METHODS:-"infonce barlow vicreg simsiam byol moco memory-bank"}
ENC=()
[ -z "${SSL_ENCODER:-}" ] || ENC=(--encoder "$SSL_ENCODER")
export R1_THREADS=$T
out=build/bench/ssl; mkdir -p "$out"
sl=./simlearn
export OMP_PROC_BIND=false
source bench/fmnist_eval.sh
recipe() { # objective -> its train options beyond the defaults: bench/ssl_search.sh's choices
  case $1 in # (400 steps, validation probe: the change against the defaults, in points)
    barlow) echo "--projector linear(512),bn,relu,linear(512)" ;; # 86.57 against 85.98
    simsiam) echo "--lr 4e-3" ;;                                  # 85.17 against 85.15
    byol) echo "--ema 0.99" ;;                                    # 85.38 against 85.37
    moco | memory-bank) echo "--tau 0.1" ;;                       # 86.71 / 83.53 against 86.47 / 82.55
    # the third round (same images): batches of 128, 87.59 / 87.82 against 87.32 / 87.45; the fourth,
    # seeds 0 and 1: AdamW, weight decay 0.05, means 87.80 / 87.81 against 87.45 / 87.70
    infonce | vicreg) echo "--batch 128 --optim adamw --wd 0.05" ;;
  esac
}
row() { # objective: calibrate, train for the budget, evaluate; appends "ROW name knn probe steps secs img/s"
  local name=$1 B=256
  local t0 ips left steps opts i
  read -ra opts <<< "$(recipe "$name")"
  for ((i = 0; i + 1 < ${#opts[@]}; i++)); do # a recipe's --batch replaces the default 256
    [ "${opts[i]}" != --batch ] || B=${opts[i + 1]}
  done
  opts=(${ENC[@]+"${ENC[@]}"} ${opts[@]+"${opts[@]}"})
  t0=$(date +%s.%N)
  # calibration: 80 steps, the median of the rates of its 10-step log intervals after the first
  $sl train --data fashion-mnist --objective "$name" ${opts[@]+"${opts[@]}"} --steps 80 --batch "$B" --threads "$T" --seed "$SEED" -q \
    -o "$out/$name-calib.safetensors" --log "$out/$name-calib.jsonl" --log-every 10
  ips=$(sed -n 's/^{"step":\([0-9]*\),.*"images_per_s":\([0-9.]*\).*/\1 \2/p' "$out/$name-calib.jsonl" |
    awk '$1 > 10 { print $2 }' | sort -g | awk '{ r[NR] = $1 } END { print (NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2) }')
  left=$(awk -v t0="$t0" -v t1="$(date +%s.%N)" -v m="$M" 'BEGIN { l = m * 60 - (t1 - t0); printf "%.0f", l < 10 ? 10 : l }')
  steps=$(awk -v ips="$ips" -v s="$left" -v b="$B" 'BEGIN { n = int(s * ips / b * 0.97); print (n < 1 ? 1 : n) }')
  echo "== $name${opts[*]+ ${opts[*]}}: $steps steps of $B at the calibrated $ips img/s in the $left s left"
  $sl train --data fashion-mnist --objective "$name" ${opts[@]+"${opts[@]}"} --steps "$steps" --batch "$B" --time-limit "$left" \
    --threads "$T" --seed "$SEED" -o "$out/$name.safetensors" 2> "$out/$name.err" || { cat "$out/$name.err"; exit 1; }
  grep -v '^train ' "$out/$name.err" | grep -E '^(objective|trained|simlearn: warning)' || true
  local tr; tr=$(grep '^trained' "$out/$name.err")
  steps=$(echo "$tr" | sed -n 's/^trained \([0-9]*\) steps.*/\1/p') # the steps done (the time limit may end it early)
  local secs; secs=$(echo "$tr" | sed -n 's/.*(\([0-9.]*\) s, \([0-9.]*\) images\/s).*/\1/p')
  local rate; rate=$(echo "$tr" | sed -n 's/.*(\([0-9.]*\) s, \([0-9.]*\) images\/s).*/\2/p')
  local ev; ev=$(evaluate "$out/$name.safetensors"); echo "$ev"
  echo "ROW $name $(field "KNN weighted" "$ev") $(field PROBE "$ev") $steps $secs $rate" >> "$out/rows.txt"
}
rm -f "$out/rows.txt"
echo "${SSL_ENCODER:-R1 CNN} on Fashion-MNIST, $M minutes per objective, $T threads, seed $SEED"
for m in $METHODS; do row "$m"; done
[ "${SSL_PIXELS:-1}" = 0 ] || raw_pixels_row "0 0 0"
printf '%-12s %8s %8s %7s %8s %9s\n' objective kNN probe steps seconds images/s
awk '{ printf "%-12s %7.2f%% %7.2f%% %7s %8s %9s\n", $2, $3, $4, $5, $6, $7 }' "$out/rows.txt"
awk '$2 == "infonce" { i = $4 } $2 != "raw-pixels" && $2 != "infonce" && $4 > b { b = $4; n = $2 }
  END { if (i == "") i = 0; printf "ssl: simlearn best other objective (%s) probe %.2f%%, infonce probe %.2f%%, ratio %.3f\n", n, b, i, (i > 0 ? b / i : 0) }' "$out/rows.txt"

#!/bin/sh
# bench-sent: builds the GCIDE/WordNet retrieval task (bench/sent_task.py),
# embeds its texts with `simlearn words embed` (the average, and SIF for each
# a of the grid: the component computed on the base and reused for the
# queries), trains a sent2vec sentence model on CORPUS (`words train --model
# sent2vec` with S2V_OPTS) and embeds the texts with it, then scores them
# against gensim (bench/sent_eval.py), which ends with the summary line.
# Usage: bench/sent_run.sh VECTORS.npy CORPUS OUTDIR THREADS WORDS A_GRID "S2V_OPTS"
set -eu
VEC=$1 CORPUS=$2 OUT=$3 THREADS=$4 N=$5 GRID=$6 S2V=$7
SL=${SIMLEARN:-./simlearn}
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
mkdir -p "$OUT"
/usr/bin/python3 bench/sent_task.py "$OUT" "$N" 1
t0=$(date +%s.%N)
for p in base val test; do
  "$SL" words embed --vectors "$VEC" --text "$OUT/$p.txt" -o "$OUT/sl_avg_$p.npy" > "$OUT/sl_avg_$p.log"
done
echo "simlearn avg: $(sed -n 1p "$OUT/sl_avg_base.log" | sed 's/^/base: /')"
for a in $(echo "$GRID" | tr , ' '); do
  a=$(/usr/bin/python3 -c "print('%g' % float('$a'))")
  "$SL" words embed --vectors "$VEC" --text "$OUT/base.txt" -o "$OUT/sl_sif_${a}_base.npy" --method sif \
    --sif-a "$a" --component-out "$OUT/sl_sif_${a}_pc.npy" > "$OUT/sl_sif_${a}_base.log"
  for p in val test; do
    "$SL" words embed --vectors "$VEC" --text "$OUT/$p.txt" -o "$OUT/sl_sif_${a}_$p.npy" --method sif \
      --sif-a "$a" --component-in "$OUT/sl_sif_${a}_pc.npy" > "$OUT/sl_sif_${a}_$p.log"
  done
done
t1=$(date +%s.%N)
echo "simlearn words embed: $(echo "$GRID" | tr , '\n' | wc -l) SIF runs and the average over base, validation and test in $(printf "%.1f" "$(echo "$t1 - $t0" | bc)") s"
# shellcheck disable=SC2086  # S2V holds several options
"$SL" words train "$CORPUS" -o "$OUT/s2v.bin" --model sent2vec --threads "$THREADS" $S2V -q > "$OUT/s2v_train.log"
echo "simlearn sent2vec ($S2V): $(grep '^trained' "$OUT/s2v_train.log")"
for p in base val test; do
  "$SL" words embed --vectors "$OUT/s2v.slsw" --text "$OUT/$p.txt" -o "$OUT/sl_s2v_$p.npy" --method sent2vec \
    > "$OUT/sl_s2v_$p.log"
done
/usr/bin/python3 bench/sent_eval.py "$OUT" "$VEC" "$CORPUS" "$THREADS" "$GRID"

#!/usr/bin/env bash
# bench-poincare: Poincaré embeddings of WordNet's mammal closure, simlearn
# against gensim's PoincareModel in the same run, the same edges and the same
# settings (gensim's defaults: dim 50, 10 negatives, lr 0.1, 10 burn-in epochs
# at 0.01; then EPOCHS epochs), both on one thread; both embeddings ranked by
# simlearn's evaluator (reconstruction mean rank and MAP; gensim 4.2's own
# ReconstructionEvaluation stops with numpy's AxisError on Debian 12's numpy).
# Ratio: gensim's training time / simlearn's.
#   bench/poincare_run.sh SIMLEARN OUTDIR EPOCHS DIM SEED
set -euo pipefail
SL=$1; OUT=$2; EPOCHS=$3; DIM=$4; SEED=$5
PY=/usr/bin/python3
mkdir -p "$OUT"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p')"
echo "== closures of WordNet's nouns (data.noun of wordnet-base)"
bench/wordnet_closure.py "$OUT"
E=$OUT/mammals.tsv
ARGS="--dim $DIM --epochs $EPOCHS --negative 10 --lr 0.1 --burn-in 10 --burn-in-lr 0.01"
echo "== simlearn: $ARGS --threads 1 --seed $SEED"
$SL words poincare "$E" -o "$OUT/simlearn.txt" --format text $ARGS --threads 1 --seed "$SEED" -q | tee "$OUT/simlearn.log"
echo "== gensim PoincareModel: $ARGS (one thread: OMP/OpenBLAS held to 1)"
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $PY bench/poincare_gensim.py "$E" "$OUT/gensim.txt" $ARGS --seed "$SEED" \
  | tee "$OUT/gensim.log"
echo "== reconstruction, simlearn's evaluator (the node itself is not a candidate)"
$SL words poincare-eval "$OUT/simlearn.txt" --edges "$E" --threads 2 | tee "$OUT/simlearn.eval"
$SL words poincare-eval "$OUT/gensim.txt" --edges "$E" --threads 2 | tee "$OUT/gensim.eval"
echo "== link prediction, simlearn only: 10% of the edges held out (every node kept), the rest trained"
$SL words poincare "$E" -o "$OUT/linkpred.npy" $ARGS --holdout 0.1 --threads 1 --seed "$SEED" -q
st=$(sed -n 's/^trained .* in \([0-9.]*\) s:.*/\1/p' "$OUT/simlearn.log")
gt=$(sed -n 's/^gensim: trained in \([0-9.]*\) s$/\1/p' "$OUT/gensim.log")
sm=$(sed -n 's/.*MAP \([0-9.]*\).*/\1/p' "$OUT/simlearn.eval")
gm=$(sed -n 's/.*MAP \([0-9.]*\).*/\1/p' "$OUT/gensim.eval")
[ -n "$st" ] && [ -n "$gt" ] && [ -n "$sm" ] && [ -n "$gm" ] || { echo "bench-poincare: a figure is missing" >&2; exit 1; }
ratio=$(awk -v a="$gt" -v b="$st" 'BEGIN { printf "%.2f", a / b }')
echo "poincare: simlearn MAP $sm in $st s, gensim MAP $gm in $gt s, ratio $ratio"

#!/usr/bin/env bash
# R2 word-vector benchmark: skip-gram with negative sampling on the GCIDE
# corpus (dim 100, window 5, 5 negatives, subsampling 1e-4, min-count 5),
# simlearn, gensim and fastText on the same corpus, threads and epochs, in one
# run; every vector set is scored by simlearn's evaluators on the sets shipped
# in data/ and on the report half of their split (bench/words_split.sh).
#
# The speed comparisons are between the same algorithm: simlearn's per-pair
# negatives (word2vec's update) with gensim's learning-rate schedule against
# gensim, and with fastText's schedule against fastText. simlearn's default,
# the shared-negatives fast path (a different algorithm), is reported on its
# own line with its quality.
# usage: bench/words_bench.sh CORPUS OUTDIR [THREADS] [EPOCHS]
set -euo pipefail
CORPUS=$1 OUT=$2 T=${3:-2} E=${4:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SL=$ROOT/simlearn
Q=$ROOT/data/questions-words.txt
mkdir -p "$OUT"
[ -s "$CORPUS" ] || "$ROOT/scripts/corpus-gcide.sh" /usr/share/dictd/gcide.dict.dz "$CORPUS"
"$ROOT/bench/words_split.sh" "$OUT/split"
echo "== corpus $CORPUS: $(wc -c < "$CORPUS") bytes; CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores;" \
  "threads $T, epochs $E; load average $(cut -d' ' -f1-3 /proc/loadavg)"

R2=(--dim 100 --window 5 --negative 5 --sample 1e-4 --min-count 5 --epochs "$E" --seed 1 --threads "$T" --quiet)
speed() { sed -n 's/.* s: \([0-9]*\) words\/s.*/\1/p' "$1"; }
declare -A W F
train() { # name, then the options that differ
  local name=$1; shift
  echo "== simlearn $name: words train ${R2[*]} $*"
  "$SL" words train "$CORPUS" -o "$OUT/$name.bin" "${R2[@]}" "$@" | tee "$OUT/$name.log"
  W[$name]=$(speed "$OUT/$name.log"); F[$name]=$OUT/$name.bin
}
# gensim's schedule as documented: 0.025 falling linearly to 0.0001 over all
# epochs (its corpus_file training falls more slowly; see below).
train simlearn-pp-gensim --negatives per-pair --lr 0.025 --min-lr 0.0001
# fastText's schedule: 0.05 falling linearly to 0 (simlearn stops at
# 0.05·1e-4 for the last 0.01% of the words).
train simlearn-pp-fasttext --negatives per-pair --lr 0.05 --min-lr 0
# simlearn's defaults: shared negatives, 0.055 falling linearly to 0.055·1e-4.
train simlearn-shared --negatives shared

echo "== gensim (alpha 0.025, min_alpha 0.0001)"
echo "   its rate schedule differs: with corpus_file and $T workers each worker measures its progress against"
echo "   the whole corpus, so within an epoch the rate falls only 1/$T of that epoch's share, then steps down"
echo "   at the next epoch's start; over $E epochs its mean rate is higher than the linear schedule simlearn"
echo "   runs ($(awk -v t="$T" -v e="$E" 'BEGIN{p=(e-1)/2+1/(2*t); printf "%.4f against %.4f", 0.025-0.0249*p/e, 0.025-0.0249*0.5}'))"
/usr/bin/python3 "$ROOT/bench/words_gensim.py" "$CORPUS" "$OUT/gensim.txt" "$T" "$E" 2>"$OUT/gensim.err" | tee "$OUT/gensim.log"
W[gensim]=$(sed -n 's/.*raw_words_per_sec \([0-9]*\).*/\1/p' "$OUT/gensim.log"); F[gensim]=$OUT/gensim.txt

echo "== fastText (lr 0.05, falling linearly to 0)"
fasttext skipgram -input "$CORPUS" -output "$OUT/fasttext" -dim 100 -ws 5 -neg 5 -epoch "$E" -minCount 5 -t 1e-4 \
  -thread "$T" -minn 0 -maxn 0 -loss ns -lr 0.05 > "$OUT/fasttext.log" 2>&1
# The last progress report carries the whole run's words/sec/thread.
ftt=$(tr '\r' '\n' < "$OUT/fasttext.log" | sed -n 's/.*words\/sec\/thread: *\([0-9]*\).*/\1/p' | tail -n1)
W[fasttext]=$((ftt * T)); F[fasttext]=$OUT/fasttext.vec
echo "fastText: $ftt words/sec/thread x $T threads = ${W[fasttext]} words/s"

echo "== quality (simlearn's evaluators: analogy 3CosAdd over the top 30000 words, Spearman rho)"
echo "   all: the sets in data/; report half: bench/words_split.sh's report half"
printf '%-21s %9s | %-7s %6s %6s | %-7s %6s %6s\n' system words/s 'analogy' ws353 simlex 'analogy' ws353 simlex
printf '%-21s %9s | %-21s | %-21s\n' '' '' 'all' 'report half'
declare -A QA QW QS
for sys in simlearn-pp-gensim gensim simlearn-pp-fasttext fasttext simlearn-shared; do
  read -r _ a _ _ w _ s <<< "$("$ROOT/bench/words_quality.sh" "${F[$sys]}" "$ROOT/data")"
  read -r _ ra _ _ rw _ rs <<< "$("$ROOT/bench/words_quality.sh" "${F[$sys]}" "$OUT/split/report")"
  QA[$sys]=$a; QW[$sys]=$w; QS[$sys]=$s
  printf '%-21s %9s | %-7s %6s %6s | %-7s %6s %6s\n' "$sys" "${W[$sys]}" "$a" "$w" "$s" "$ra" "$rw" "$rs"
done
echo "== cross-check: simlearn's analogy evaluator vs gensim's on the same (simlearn) vectors"
"$SL" words analogy "${F[simlearn-shared]}" --questions "$Q" --restrict 30000 | head -n1
/usr/bin/python3 "$ROOT/bench/words_gensim_eval.py" "${F[simlearn-shared]}" "$Q" binary

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
sh=${W[simlearn-shared]}
echo "words shared negatives (simlearn's default, not gensim's algorithm): simlearn $sh words/s" \
  "(ratio $(ratio "$sh" "${W[gensim]}") to gensim), analogy ${QA[simlearn-shared]}," \
  "WordSim353 ${QW[simlearn-shared]}, SimLex-999 ${QS[simlearn-shared]}"
echo "fasttext: simlearn ${W[simlearn-pp-fasttext]} words/s, fastText ${W[fasttext]} words/s," \
  "ratio $(ratio "${W[simlearn-pp-fasttext]}" "${W[fasttext]}")"
echo "words: simlearn ${W[simlearn-pp-gensim]} words/s, gensim ${W[gensim]} words/s," \
  "ratio $(ratio "${W[simlearn-pp-gensim]}" "${W[gensim]}")"

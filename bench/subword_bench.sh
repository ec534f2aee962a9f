#!/usr/bin/env bash
# Subword vectors against fastText: skip-gram with character n-grams
# (minn 3, maxn 6, the same bucket count) on the GCIDE corpus with the R2
# settings of bench-words (dim 100, window 5, 5 negatives, subsampling 1e-4,
# min-count 5, 5 epochs, 2 threads). simlearn runs fastText's algorithm
# (per-pair negatives, fastText's rate 0.05 falling linearly to 0, the
# input rows saved) and, on its own line, its shared-negatives default. Reported: words/s, analogy,
# WordSim353, SimLex-999 (simlearn's evaluators, in-vocabulary vectors), and
# rare words: the pairs of both similarity sets with a word seen fewer than
# 5 times in the corpus (out of the vocabulary of every run here), and a
# second split with the threshold at 50, for which both systems are trained
# again with --min-count 50 so those words are out of their vocabularies.
# Every system's vectors for the pairs' words come from its own n-grams
# (`simlearn words vector` on the .slsw model, `fasttext print-word-vectors`
# on its .bin), scored by the same evaluator.
# usage: bench/subword_bench.sh CORPUS OUTDIR [THREADS] [EPOCHS] [BUCKET]
set -euo pipefail
CORPUS=$1 OUT=$2 T=${3:-2} E=${4:-5} B=${5:-2000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SL=$ROOT/simlearn
mkdir -p "$OUT"
[ -s "$CORPUS" ] || "$ROOT/scripts/corpus-gcide.sh" /usr/share/dictd/gcide.dict.dz "$CORPUS"
echo "== corpus $CORPUS: $(wc -c < "$CORPUS") bytes; CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores;" \
  "threads $T, epochs $E, bucket $B; load average $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 "$ROOT/bench/subword_split.py" "$CORPUS" "$ROOT/data" "$OUT" 5 50

R2=(--dim 100 --window 5 --negative 5 --sample 1e-4 --epochs "$E" --seed 1 --threads "$T" --quiet
    --minn 3 --maxn 6 --bucket "$B")
declare -A W F M
# name, min-count, then the options that differ
train() {
  local name=$1 mc=$2; shift 2
  echo "== simlearn $name: words train ${R2[*]} --min-count $mc $*"
  /usr/bin/time -f "peak memory %M KiB" "$SL" words train "$CORPUS" -o "$OUT/$name.bin" "${R2[@]}" --min-count "$mc" \
    "$@" 2>&1 | tee "$OUT/$name.log"
  W[$name]=$(sed -n 's/.* s: \([0-9]*\) words\/s.*/\1/p' "$OUT/$name.log"); F[$name]=$OUT/$name.bin; M[$name]=$OUT/$name.slsw
}
fasttext_train() { # name, min-count
  echo "== fastText $1: skipgram -minn 3 -maxn 6 -bucket $B -minCount $2 (lr 0.05 falling linearly to 0)"
  /usr/bin/time -f "peak memory %M KiB" fasttext skipgram -input "$CORPUS" -output "$OUT/$1" -dim 100 -ws 5 -neg 5 \
    -epoch "$E" -minCount "$2" -t 1e-4 -thread "$T" -minn 3 -maxn 6 -bucket "$B" -loss ns -lr 0.05 > "$OUT/$1.log" 2>&1
  local ftt
  ftt=$(tr '\r' '\n' < "$OUT/$1.log" | sed -n 's/.*words\/sec\/thread: *\([0-9]*\).*/\1/p' | tail -n1)
  W[$1]=$((ftt * T)); F[$1]=$OUT/$1.vec; M[$1]=$OUT/$1.bin
  echo "fastText: $ftt words/sec/thread x $T threads = ${W[$1]} words/s; $(grep 'peak memory' "$OUT/$1.log")"
}
train simlearn-pp 5 --negatives per-pair --lr 0.05 --min-lr 0 --context-weight 0
fasttext_train fasttext 5
train simlearn-shared 5 --negatives shared
train simlearn-pp-mc50 50 --negatives per-pair --lr 0.05 --min-lr 0 --context-weight 0
fasttext_train fasttext-mc50 50

# The vectors of the pairs' words from a system's subword model, as a .vec.
pair_vectors() { # system, output
  if [[ ${M[$1]} == *.slsw ]]; then "$SL" words vector "${M[$1]}" < "$OUT/pairwords.txt" > "$2.body"
  else fasttext print-word-vectors "${M[$1]}" < "$OUT/pairwords.txt" > "$2.body"; fi
  { echo "$(wc -l < "$2.body") 100"; cat "$2.body"; } > "$2"
}
spearman() { "$SL" words similarity "$1" --pairs "$2" | sed -n 's/.*Spearman \([0-9.-]*\).*pairs \([0-9]*\/[0-9]*\).*/\1 (\2)/p'; }
echo "== quality (simlearn's evaluators: analogy 3CosAdd over the top 30000 words, Spearman rho; in-vocabulary vectors)"
echo "   rare<5, rare<50: Spearman rho (pairs scored) over the pairs of WordSim353 and SimLex-999 with a word seen fewer"
echo "   than 5 / 50 times; every word's vector from the system's n-grams (rare<50 from the --min-count 50 runs);"
echo "   coverage: pairs of the two sets scored by the .bin/.vec vectors alone, and with the n-gram vectors"
printf '%-16s %9s | %-20s %6s %6s | %-14s | %-15s | %s\n' system words/s analogy ws353 simlex 'rare<5' 'rare<50' coverage
declare -A R5 R50 QA QW QS
for sys in simlearn-pp fasttext simlearn-shared; do
  read -r _ a _ _ w _ s <<< "$("$ROOT/bench/words_quality.sh" "${F[$sys]}" "$ROOT/data")"
  QA[$sys]=$a; QW[$sys]=$w; QS[$sys]=$s
  pair_vectors "$sys" "$OUT/$sys.pairs.vec"
  R5[$sys]=$(spearman "$OUT/$sys.pairs.vec" "$OUT/rare5.txt")
  big=$sys-mc50; [ "$sys" = simlearn-shared ] && big=
  R50[$sys]=-
  if [ -n "$big" ]; then pair_vectors "$big" "$OUT/$big.pairs.vec"; R50[$sys]=$(spearman "$OUT/$big.pairs.vec" "$OUT/rare50.txt"); fi
  plain=$("$SL" words similarity "${F[$sys]}" --pairs "$OUT/allpairs.txt" | sed -n 's/.*pairs \([0-9]*\)\/\([0-9]*\).*/\1/p')
  full=$("$SL" words similarity "$OUT/$sys.pairs.vec" --pairs "$OUT/allpairs.txt" | sed -n 's/.*pairs \([0-9]*\/[0-9]*\).*/\1/p')
  printf '%-16s %9s | %-20s %6s %6s | %-14s | %-15s | %s alone, %s with n-grams\n' "$sys" "${W[$sys]}" "$a" "$w" "$s" \
    "${R5[$sys]}" "${R50[$sys]}" "$plain" "$full"
done
echo "== simlearn's model files: $(ls -l "$OUT/simlearn-pp.slsw" | awk '{print $5}') bytes (.slsw), fastText's .bin $(ls -l "$OUT/fasttext.bin" | awk '{print $5}') bytes"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
first() { echo "${1%% *}"; }
echo "subword: simlearn ${W[simlearn-pp]} words/s, fastText ${W[fasttext]} words/s, ratio $(ratio "${W[simlearn-pp]}" "${W[fasttext]}")"
echo "subword rare words (rho, pairs with a word seen < 50 times, n-gram vectors): simlearn $(first "${R50[simlearn-pp]}")," \
  "fastText $(first "${R50[fasttext]}"), ratio $(ratio "$(first "${R50[simlearn-pp]}")" "$(first "${R50[fasttext]}")")"
echo "subword shared negatives (simlearn's default, not fastText's algorithm): simlearn ${W[simlearn-shared]} words/s" \
  "(ratio $(ratio "${W[simlearn-shared]}" "${W[fasttext]}") to fastText), analogy ${QA[simlearn-shared]}," \
  "WordSim353 ${QW[simlearn-shared]}, SimLex-999 ${QS[simlearn-shared]}"

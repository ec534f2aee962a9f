#!/usr/bin/env bash
# R2 word-vector benchmark: skip-gram with negative sampling on the GCIDE
# corpus (dim 100, window 5, 5 negatives, subsampling 1e-4, min-count 5),
# simlearn, gensim and fastText on the same corpus, threads and epochs, in one
# run; every vector set is scored by simlearn's evaluators on the sets shipped
# in data/ and on the report half of their split (bench/words_split.sh).
#
# Quality: simlearn with its defaults against fastText without subwords, and
# both with fastText's default subwords (minn 3, maxn 6, 2,000,000 buckets),
# SEEDS seeds each, mean and spread. Speed: simlearn's per-pair negatives (word2vec's update, with
# word2vec's negative exponent and vectors) against gensim with gensim's
# learning-rate schedule, and against fastText with fastText's schedule and
# exponent; simlearn's defaults against gensim.
# usage: bench/words_bench.sh CORPUS OUTDIR [THREADS] [EPOCHS] [SEEDS]
set -euo pipefail
CORPUS=$1 OUT=$2 T=${3:-2} E=${4:-5} SEEDS=${5:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SL=$ROOT/simlearn
Q=$ROOT/data/questions-words.txt
mkdir -p "$OUT"
[ -s "$CORPUS" ] || "$ROOT/scripts/corpus-gcide.sh" /usr/share/dictd/gcide.dict.dz "$CORPUS"
"$ROOT/bench/words_split.sh" "$OUT/split"
echo "== corpus $CORPUS: $(wc -c < "$CORPUS") bytes; CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores;" \
  "threads $T, epochs $E, seeds $SEEDS; load average $(cut -d' ' -f1-3 /proc/loadavg)"

R2=(--dim 100 --window 5 --negative 5 --sample 1e-4 --min-count 5 --epochs "$E" --threads "$T" --quiet)
speed() { sed -n 's/.* s: \([0-9]*\) words\/s.*/\1/p' "$1"; }
declare -A W F
train() { # name, then the options that differ
  local name=$1; shift
  echo "== simlearn $name: words train ${R2[*]} $*"
  "$SL" words train "$CORPUS" -o "$OUT/$name.bin" "${R2[@]}" "$@" | tee "$OUT/$name.log"
  W[$name]=$(speed "$OUT/$name.log"); F[$name]=$OUT/$name.bin
}
fasttext_run() { # name, seed, then the options that differ
  local name=$1 seed=$2; shift 2
  fasttext skipgram -input "$CORPUS" -output "$OUT/$name" -dim 100 -ws 5 -neg 5 -epoch "$E" -minCount 5 -t 1e-4 \
    -thread "$T" -loss ns -lr 0.05 -seed "$seed" "$@" > "$OUT/$name.log" 2>&1
  rm -f "$OUT/$name.bin"
  # The last progress report carries the whole run's words/sec/thread.
  local ftt
  ftt=$(tr '\r' '\n' < "$OUT/$name.log" | sed -n 's/.*words\/sec\/thread: *\([0-9]*\).*/\1/p' | tail -n1)
  W[$name]=$((ftt * T)); F[$name]=$OUT/$name.vec
  echo "fastText $name (seed $seed, $*): $ftt words/sec/thread x $T threads = ${W[$name]} words/s"
}

# Same algorithm as gensim: per-pair negatives, negatives by count^0.75, the
# input vectors saved, gensim's schedule as documented (0.025 falling linearly
# to 0.0001; its corpus_file training falls more slowly, see below).
train simlearn-pp-gensim --seed 1 --negatives per-pair --lr 0.025 --min-lr 0.0001 --ns-exponent 0.75 \
  --context-weight 0
# Same algorithm as fastText: per-pair, count^0.5, input vectors, 0.05 falling
# linearly to 0 (simlearn stops at 0.05·1e-4 for the last 0.01% of the words).
train simlearn-pp-fasttext --seed 1 --negatives per-pair --lr 0.05 --min-lr 0 --ns-exponent 0.5 --context-weight 0
# simlearn's defaults (shared negatives, count^0.5, input + 0.25 x output).
for s in $(seq 1 "$SEEDS"); do train "simlearn-$s" --seed "$s"; done
# The same with fastText's default subwords: simlearn's defaults with subwords
# (rate 0.045, input rows' mean + 0.25 x output; the .slsw model is not needed).
for s in $(seq 1 "$SEEDS"); do
  train "simlearn-sub-$s" --seed "$s" --minn 3 --maxn 6 --bucket 2000000; rm -f "$OUT/simlearn-sub-$s.slsw"
done

echo "== gensim (alpha 0.025, min_alpha 0.0001)"
echo "   its rate schedule differs: with corpus_file and $T workers each worker measures its progress against"
echo "   the whole corpus, so within an epoch the rate falls only 1/$T of that epoch's share, then steps down"
echo "   at the next epoch's start; over $E epochs its mean rate is higher than the linear schedule simlearn"
echo "   runs ($(awk -v t="$T" -v e="$E" 'BEGIN{p=(e-1)/2+1/(2*t); printf "%.4f against %.4f", 0.025-0.0249*p/e, 0.025-0.0249*0.5}'))"
/usr/bin/python3 "$ROOT/bench/words_gensim.py" "$CORPUS" "$OUT/gensim.txt" "$T" "$E" 2>"$OUT/gensim.err" | tee "$OUT/gensim.log"
W[gensim]=$(sed -n 's/.*raw_words_per_sec \([0-9]*\).*/\1/p' "$OUT/gensim.log"); F[gensim]=$OUT/gensim.txt

echo "== fastText (lr 0.05, falling linearly to 0): without subwords, and with its default subwords"
for s in $(seq 1 "$SEEDS"); do fasttext_run "fasttext-$s" "$s" -minn 0 -maxn 0; done
for s in $(seq 1 "$SEEDS"); do fasttext_run "fasttext-sub-$s" "$s" -minn 3 -maxn 6; done

echo "== quality (simlearn's evaluators: analogy 3CosAdd over the top 30000 words, Spearman rho)"
echo "   all: the sets in data/; report half: bench/words_split.sh's report half"
printf '%-21s %9s | %-7s %6s %6s | %-7s %6s %6s\n' system words/s 'analogy' ws353 simlex 'analogy' ws353 simlex
printf '%-21s %9s | %-21s | %-21s\n' '' '' 'all' 'report half'
declare -A QL
systems=(simlearn-pp-gensim gensim simlearn-pp-fasttext)
for g in simlearn fasttext simlearn-sub fasttext-sub; do for s in $(seq 1 "$SEEDS"); do systems+=("$g-$s"); done; done
for sys in "${systems[@]}"; do
  read -r _ a _ _ w _ s <<< "$("$ROOT/bench/words_quality.sh" "${F[$sys]}" "$ROOT/data")"
  read -r _ ra _ _ rw _ rs <<< "$("$ROOT/bench/words_quality.sh" "${F[$sys]}" "$OUT/split/report")"
  QL[$sys]="${a%\%} $w $s ${ra%\%} $rw $rs"
  printf '%-21s %9s | %-7s %6s %6s | %-7s %6s %6s\n' "$sys" "${W[$sys]}" "$a" "$w" "$s" "$ra" "$rw" "$rs"
done

echo "== mean over seeds 1-$SEEDS [min, max]"
declare -A MEAN
for g in simlearn fasttext simlearn-sub fasttext-sub; do
  lines=""; for s in $(seq 1 "$SEEDS"); do lines+="${W[$g-$s]} ${QL[$g-$s]}"$'\n'; done
  MEAN[$g]=$(printf '%s' "$lines" | awk '{for(i=1;i<=NF;i++){s[i]+=$i; if(NR==1||$i<lo[i])lo[i]=$i; if(NR==1||$i>hi[i])hi[i]=$i}}
    END{printf "%d", s[1]/NR; for(i=2;i<=NF;i++) printf " %.4f", s[i]/NR; for(i=2;i<=NF;i++) printf " [%g,%g]", lo[i], hi[i]}')
  read -r ws a w s ra rw rs r1 r2 r3 r4 r5 r6 <<< "${MEAN[$g]}"
  printf '%-21s %9s | %-7s %6s %6s | %-7s %6s %6s\n' "$g (mean)" "$ws" "$(printf %.2f%% "$a")" "$w" "$s" \
    "$(printf %.2f%% "$ra")" "$rw" "$rs"
  printf '%-21s %9s | %s %s %s | %s %s %s\n' '' '' "$r1" "$r2" "$r3" "$r4" "$r5" "$r6"
done

echo "== cross-check: simlearn's analogy evaluator vs gensim's on the same (simlearn) vectors"
"$SL" words analogy "${F[simlearn-1]}" --questions "$Q" --restrict 30000 | head -n1
/usr/bin/python3 "$ROOT/bench/words_gensim_eval.py" "${F[simlearn-1]}" "$Q" binary

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
for pair in simlearn:fasttext simlearn:fasttext-sub simlearn-sub:fasttext-sub; do
  read -r sw sa swv ssx sra srw srs _ <<< "${MEAN[${pair%%:*}]}"
  read -r _ fa fwv fsx fra frw frs _ <<< "${MEAN[${pair#*:}]}"
  echo "words-quality ${pair%%:*} vs ${pair#*:} (means, report half): analogy $(printf %.2f "$sra")% against $(printf %.2f "$fra")%," \
    "WordSim353 $srw against $frw, SimLex-999 $srs against $frs; all sets: analogy $(printf %.2f "$sa")% against" \
    "$(printf %.2f "$fa")%, WordSim353 $swv against $fwv, SimLex-999 $ssx against $fsx"
done
read -r sw _ <<< "${MEAN[simlearn]}"
echo "words defaults: simlearn $sw words/s (mean of $SEEDS), gensim ${W[gensim]} words/s, ratio $(ratio "$sw" "${W[gensim]}")"
echo "fasttext: simlearn ${W[simlearn-pp-fasttext]} words/s, fastText ${W[fasttext-1]} words/s," \
  "ratio $(ratio "${W[simlearn-pp-fasttext]}" "${W[fasttext-1]}")"
echo "words: simlearn ${W[simlearn-pp-gensim]} words/s, gensim ${W[gensim]} words/s," \
  "ratio $(ratio "${W[simlearn-pp-gensim]}" "${W[gensim]}")"

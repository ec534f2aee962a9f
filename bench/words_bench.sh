#!/usr/bin/env bash
# R2 word-vector benchmark: simlearn, gensim and fastText train skip-gram with
# negative sampling on the GCIDE corpus with the same settings and threads, in
# one run; all three vector sets are scored by simlearn's evaluators.
# usage: bench/words_bench.sh SHARED CORPUS OUTDIR [THREADS]
set -euo pipefail
SHARED=$1 CORPUS=$2 OUT=$3 T=${4:-2}
Q=$SHARED/data/questions-words.txt
PAIRS=$SHARED/data/wordsim353.tsv,$SHARED/data/simlex999.txt
mkdir -p "$OUT"
[ -s "$CORPUS" ] || scripts/corpus-gcide.sh /usr/share/dictd/gcide.dict.dz "$CORPUS"
echo "== corpus $CORPUS: $(wc -c < "$CORPUS") bytes; CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; threads $T"

echo "== simlearn"
./simlearn words train "$CORPUS" -o "$OUT/simlearn.bin" --threads "$T" --dim 100 --window 5 --negative 5 \
  --sample 1e-4 --min-count 5 --epochs 5 --seed 1 --quiet | tee "$OUT/simlearn.log"
sl=$(sed -n 's/.* s: \([0-9]*\) words\/s.*/\1/p' "$OUT/simlearn.log")

echo "== gensim"
/usr/bin/python3 bench/words_gensim.py "$CORPUS" "$OUT/gensim.txt" "$T" 2>"$OUT/gensim.err" | tee "$OUT/gensim.log"
gs=$(sed -n 's/.*raw_words_per_sec \([0-9]*\).*/\1/p' "$OUT/gensim.log")

echo "== fastText"
fasttext skipgram -input "$CORPUS" -output "$OUT/fasttext" -dim 100 -ws 5 -neg 5 -epoch 5 -minCount 5 -t 1e-4 \
  -thread "$T" -minn 0 -maxn 0 -loss ns -lr 0.05 > "$OUT/fasttext.log" 2>&1
# The last progress report carries the whole run's words/sec/thread.
ftt=$(tr '\r' '\n' < "$OUT/fasttext.log" | sed -n 's/.*words\/sec\/thread: *\([0-9]*\).*/\1/p' | tail -n1)
ft=$((ftt * T))
echo "fastText: $ftt words/sec/thread x $T threads = $ft words/s"

echo "== quality (simlearn's evaluators; analogy 3CosAdd over the top 30000 words)"
printf '%-9s %-6s %10s %10s %10s %12s %12s\n' system abtt words/s analogy '(3CosMul)' WordSim353 SimLex999
for sys in simlearn gensim fasttext; do
  case $sys in simlearn) f=$OUT/simlearn.bin; w=$sl ;; gensim) f=$OUT/gensim.txt; w=$gs ;; fasttext) f=$OUT/fasttext.vec; w=$ft ;; esac
  for ab in 0 1; do
    an=$(./simlearn words analogy "$f" --questions "$Q" --restrict 30000 --method both --abtt $ab)
    add=$(echo "$an" | sed -n 's/^3CosAdd: \([0-9.]*%\).*/\1/p')
    mul=$(echo "$an" | sed -n 's/^3CosMul: \([0-9.]*%\).*/\1/p')
    si=$(./simlearn words similarity "$f" --pairs "$PAIRS" --abtt $ab)
    ws=$(echo "$si" | sed -n 's/^wordsim353.tsv *Spearman \([0-9.-]*\).*/\1/p')
    sx=$(echo "$si" | sed -n 's/^simlex999.txt *Spearman \([0-9.-]*\).*/\1/p')
    printf '%-9s %-6s %10s %10s %10s %12s %12s\n' $sys $ab $w $add "($mul)" $ws $sx
  done
done
echo "== cross-check: simlearn's analogy evaluator vs gensim's on the same (simlearn) vectors"
./simlearn words analogy "$OUT/simlearn.bin" --questions "$Q" --restrict 30000 | head -n1
/usr/bin/python3 bench/words_gensim_eval.py "$OUT/simlearn.bin" "$Q" binary

echo "fasttext: simlearn $sl words/s, fastText $ft words/s, ratio $(awk -v a="$sl" -v b="$ft" 'BEGIN{printf "%.2f", a/b}')"
echo "words: simlearn $sl words/s, gensim $gs words/s, ratio $(awk -v a="$sl" -v b="$gs" 'BEGIN{printf "%.2f", a/b}')"

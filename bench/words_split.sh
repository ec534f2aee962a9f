#!/usr/bin/env bash
# Splits the evaluation sets shipped in data/ into a validation half (for
# choosing settings) and a report half (for the figures that are reported),
# deterministically:
#   questions-words.txt: within every ": section", the 1st, 3rd, 5th ...
#     question go to val/, the 2nd, 4th, 6th ... to report/ (both halves keep
#     every section header);
#   wordsim353.tsv, simlex999.txt: the same alternation over the pair lines
#     ('#' comment lines are copied to both halves).
# usage: bench/words_split.sh OUTDIR   (writes OUTDIR/val/ and OUTDIR/report/)
set -euo pipefail
OUT=${1:?usage: bench/words_split.sh OUTDIR}
DATA=$(cd "$(dirname "$0")/../data" && pwd)
mkdir -p "$OUT/val" "$OUT/report"
for f in questions-words.txt wordsim353.tsv simlex999.txt; do
  [ -r "$DATA/$f" ] || { echo "words_split.sh: $DATA/$f not found" >&2; exit 1; }
  awk -v val="$OUT/val/$f" -v rep="$OUT/report/$f" '
    /^#/ || /^:/ { print > val; print > rep; if (/^:/) n = 0; next }
    { if (n++ % 2 == 0) print > val; else print > rep }
  ' "$DATA/$f"
done

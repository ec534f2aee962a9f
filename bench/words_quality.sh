#!/usr/bin/env bash
# One line of quality figures for a vectors file on one half of the split
# evaluation sets (bench/words_split.sh): analogy accuracy (3CosAdd over the
# top 30,000 words), then Spearman's rho on WordSim353 and SimLex-999.
# usage: bench/words_quality.sh VECTORS HALFDIR [ABTT]
#   prints: analogy 21.59% (683/3164) ws353 0.6409 simlex 0.4121
set -euo pipefail
V=$1 H=$2 AB=${3:-0}
SL=${SIMLEARN:-$(dirname "$0")/../simlearn}
an=$("$SL" words analogy "$V" --questions "$H/questions-words.txt" --restrict 30000 --abtt "$AB" | head -n1)
si=$("$SL" words similarity "$V" --pairs "$H/wordsim353.tsv,$H/simlex999.txt" --abtt "$AB")
acc=$(echo "$an" | sed -n 's/^3CosAdd: \([0-9.]*%\) (\([0-9]*\/[0-9]*\)).*/\1 (\2)/p')
ws=$(echo "$si" | sed -n 's/^wordsim353.tsv *Spearman \([0-9.-]*\).*/\1/p')
sx=$(echo "$si" | sed -n 's/^simlex999.txt *Spearman \([0-9.-]*\).*/\1/p')
echo "analogy $acc ws353 $ws simlex $sx"

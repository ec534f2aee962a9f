#!/usr/bin/env bash
# Pairs the lines of the two sides of `make bench-augment` by spec, prints one
# comparison per pipeline and the summary line for the first pipeline.
#   bench/augment_report.sh SIMLEARN_OUTPUT PYTORCH_OUTPUT
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: bench/augment_report.sh SIMLEARN_OUTPUT PYTORCH_OUTPUT" >&2; exit 2; }
awk '
  FNR == 1 { side++ }
  { r = ""; s = ""; b = ""
    for (i = 2; i <= NF; i++) {
      split($i, kv, "=")
      if (kv[1] == "views_per_s") r = kv[2]
      else if (kv[1] == "batches") b = kv[2]
      else if (kv[1] == "spec") s = substr($i, 6)
    }
    if (r == "" || s == "") { printf "augment_report.sh: cannot read line %d of %s\n", FNR, FILENAME > "/dev/stderr"; exit 1 }
    if (side == 1) { order[++n] = s; sl[s] = r; nb = b } else pt[s] = r
  }
  END {
    if (n == 0) { print "augment_report.sh: no simlearn figures" > "/dev/stderr"; exit 1 }
    for (i = 1; i <= n; i++) {
      s = order[i]
      if (!(s in pt)) { printf "augment_report.sh: no PyTorch figure for %s\n", s > "/dev/stderr"; exit 1 }
      printf "%-44s simlearn %8d views/s, pytorch %8d views/s, ratio %.2f (%d batches of 2 x 256 views, 1 thread)\n", s, sl[s], pt[s], sl[s] / pt[s], nb
    }
    s = order[1]
    printf "augment: simlearn %d views/s, pytorch %d views/s, ratio %.2f\n", sl[s], pt[s], sl[s] / pt[s]
  }' "$1" "$2"

# Sourced by the Fashion-MNIST benchmarks (bench/r1_run.sh, bench/vitfm_run.sh,
# bench/ssl_run.sh): scores a simlearn model's encoder, or the raw pixels, on the test split
# with bench/r1_eval.py (weighted kNN, k = 20, and a linear probe). Needs $sl (the simlearn
# binary), $out (a folder) and $T (threads).
evaluate() { # model -> r1_eval output
  $sl embed --model "$1" --data fashion-mnist --split train --threads "$T" -q -o "$out/tr.npy"
  $sl embed --model "$1" --data fashion-mnist --split test --threads "$T" -q -o "$out/te.npy"
  /usr/bin/python3 bench/r1_eval.py "$out/tr.npy" "$out/tr.labels.npy" "$out/te.npy" "$out/te.labels.npy"
}
field() { # KEY TEXT -> the number after "KEY "
  echo "$2" | sed -n "s/^$1 \([0-9.]*\).*/\1/p"
}
raw_pixels_row() { # EXTRA -> appends "ROW raw-pixels KNN PROBE EXTRA" to $out/rows.txt (pixels / 255)
  local raw evp
  raw=$(OUT="$out" /usr/bin/python3 - <<'PY'
import os
import sys
sys.path.insert(0, 'bench')
import numpy as np
import fmnist_idx
import r1_eval
out = os.environ['OUT']
tr = fmnist_idx.images('train').reshape(60000, -1).astype(np.float32) / 255
te = fmnist_idx.images('test').reshape(10000, -1).astype(np.float32) / 255
ytr, yte = fmnist_idx.labels('train'), fmnist_idx.labels('test')
w, _ = r1_eval.knn(tr, ytr, te, yte)
np.save(f'{out}/px_tr.npy', tr); np.save(f'{out}/px_te.npy', te)
np.save(f'{out}/px_tr.labels.npy', ytr); np.save(f'{out}/px_te.labels.npy', yte)
print(f'{w * 100:.2f}')
PY
)
  evp=$(/usr/bin/python3 bench/r1_eval.py "$out/px_tr.npy" "$out/px_tr.labels.npy" "$out/px_te.npy" "$out/px_te.labels.npy")
  echo "$evp"
  echo "ROW raw-pixels $raw $(field PROBE "$evp") $1" >> "$out/rows.txt"
}

# Sourced by the Fashion-MNIST benchmarks (bench/r1_run.sh, bench/vitfm_run.sh): scores a
# simlearn model's encoder on the test split with bench/r1_eval.py (weighted kNN, k = 20,
# and a linear probe). Needs $sl (the simlearn binary), $out (a folder) and $T (threads).
evaluate() { # model -> r1_eval output
  $sl embed --model "$1" --data fashion-mnist --split train --threads "$T" -q -o "$out/tr.npy"
  $sl embed --model "$1" --data fashion-mnist --split test --threads "$T" -q -o "$out/te.npy"
  /usr/bin/python3 bench/r1_eval.py "$out/tr.npy" "$out/tr.labels.npy" "$out/te.npy" "$out/te.labels.npy"
}
field() { # KEY TEXT -> the number after "KEY "
  echo "$2" | sed -n "s/^$1 \([0-9.]*\).*/\1/p"
}

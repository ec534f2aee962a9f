#!/usr/bin/env bash
# bench-svm: a linear SVM on frozen features, simlearn against scikit-learn's LinearSVC
# (liblinear) in the same run: one-vs-rest, squared hinge, bias as a regularised constant
# feature 1 on both sides, features standardised with the training mean and deviation.
# The features: the 128-d output of the R1 CNN encoder trained by simlearn with its
# defaults for Fashion-MNIST for SVM_TRAIN_STEPS steps (seed 0), for the 60,000 training
# and 10,000 test images. C is chosen by simlearn's protocol on a validation split carved
# from the training rows (10% of each class; the test rows are not looked at); then both
# sides fit all 60,000 training rows with that C, the same tolerance and pass limit, and
# are scored on the test rows. Both must converge. The figure is the fit's wall time
# (simlearn's "refit" line; LinearSVC.fit). liblinear runs on one thread; simlearn on
# SVM_THREADS, and on one thread as well for the record.
# Ends with "svm: simlearn <s> s (<acc>%), sklearn <s> s (<acc>%), ratio <sklearn s / simlearn s>".
#   bench/svm_run.sh   (env: SVM_THREADS=2 SVM_TRAIN_STEPS=400 SVM_TOL=0.1 SVM_MAX_ITER=1000
#                       SVM_C=<a C: skip the choice>)
set -euo pipefail
T=${SVM_THREADS:-2}; S=${SVM_TRAIN_STEPS:-400}; TOL=${SVM_TOL:-0.1}; MAXIT=${SVM_MAX_ITER:-1000}
out=build/bench/svm; sl=./simlearn; mkdir -p "$out"
export OMP_PROC_BIND=false
echo "== features: the R1 CNN encoder, $S steps of 256 images, $T threads, seed 0"
$sl train --data fashion-mnist --steps "$S" --batch 256 --threads "$T" --seed 0 -q -o "$out/enc.safetensors"
for split in train test; do
  $sl embed --model "$out/enc.safetensors" --data fashion-mnist --split "$split" --threads "$T" -q -o "$out/$split.npy"
done
tr=("$out/train.npy" "$out/train.labels.npy"); te=("$out/test.npy" "$out/test.labels.npy")
common=(--model svm --tol "$TOL" --max-iter "$MAXIT" --no-confusion -q)
C=${SVM_C:-}
if [ -z "$C" ]; then
  echo "== choosing C on the validation split ($T threads)"
  sel=$($sl probe "${common[@]}" --train "${tr[0]}" --train-labels "${tr[1]}" --threads "$T")
  echo "$sel"
  C=$(echo "$sel" | sed -n 's/^\([0-9.e+-]*\) .*<- chosen$/\1/p')
  [ -n "$C" ] || { echo "svm_run.sh: no chosen C" >&2; exit 1; }
fi
fit() { # threads -> the probe's output
  $sl probe "${common[@]}" --c "$C" --train "${tr[0]}" --train-labels "${tr[1]}" --test "${te[0]}" \
    --test-labels "${te[1]}" --threads "$1"
}
echo "== simlearn, C $C, $T threads"
res=$(fit "$T"); echo "$res"
echo "== simlearn, C $C, 1 thread"
res1=$(fit 1); echo "$res1"
echo "== scikit-learn LinearSVC, C $C"
sk=$(/usr/bin/python3 bench/svm_sklearn.py "${tr[@]}" "${te[@]}" "$C" "$TOL" "$MAXIT"); echo "$sk"
secs() { echo "$1" | sed -n 's/^refit on .* passes, \([0-9.]*\) s (.*$/\1/p'; }
acc() { echo "$1" | sed -n 's/^accuracy:.*test \([0-9.]*\)%.*/\1/p'; }
kv() { echo "$sk" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
for r in "$res" "$res1"; do
  echo "$r" | grep -q '(converged)$' || { echo "svm_run.sh: simlearn stopped at the pass limit" >&2; exit 1; }
done
[ "$(kv converged)" = 1 ] || { echo "svm_run.sh: LinearSVC stopped at the pass limit" >&2; exit 1; }
s=$(secs "$res"); s1=$(secs "$res1"); a=$(acc "$res")
echo "simlearn on 1 thread: $s1 s ($(acc "$res1")%), ratio to scikit-learn $(awk -v a="$(kv fit_s)" -v b="$s1" 'BEGIN { printf "%.2f", a / b }')"
awk -v s="$s" -v a="$a" -v ks="$(kv fit_s)" -v ka="$(kv test_acc)" \
  'BEGIN { printf "svm: simlearn %.2f s (%.2f%%), sklearn %.2f s (%.2f%%), ratio %.2f\n", s, a, ks, ka, ks / s }'

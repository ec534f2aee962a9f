#!/usr/bin/python3
"""Frozen-feature evaluation shared by both sides of `make bench-r1`, so that simlearn's
and PyTorch's encoders are scored by the same code:
  kNN    cosine similarity, the k = 20 most similar training rows vote for their
         label, each with weight exp(similarity / 0.07) (the weighted figure) or
         one vote each (the majority figure);
  probe  features standardised with the training mean and deviation
         (StandardScaler), then scikit-learn LogisticRegression (lbfgs,
         multinomial, C = 1, max_iter 1000); the iteration count is printed
         and a probe that stopped at the limit is flagged.
Train -> test. BLAS and OpenMP run on THREADS threads (R1_THREADS, default 2).
usage: r1_eval.py TRAIN.npy TRAIN_LABELS.npy TEST.npy TEST_LABELS.npy [--no-probe]"""
import os
import sys

THREADS = os.environ.get('R1_THREADS', '2')
for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ[v] = THREADS

import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

MAX_ITER = 1000


def knn(ftr, ytr, fte, yte, k=20, tau=0.07):
    classes = int(max(ytr.max(), yte.max())) + 1
    ftr = ftr / np.maximum(np.linalg.norm(ftr, axis=1, keepdims=True), 1e-12)
    fte = fte / np.maximum(np.linalg.norm(fte, axis=1, keepdims=True), 1e-12)
    right_w = right_m = 0
    for i in range(0, fte.shape[0], 1000):
        sim = fte[i:i + 1000] @ ftr.T
        top = np.argpartition(-sim, k, axis=1)[:, :k]
        s = np.take_along_axis(sim, top, 1)
        lab = ytr[top]
        rows = np.repeat(np.arange(sim.shape[0]), k)
        weighted = np.zeros((sim.shape[0], classes))
        counted = np.zeros((sim.shape[0], classes))
        np.add.at(weighted, (rows, lab.ravel()), np.exp(s / tau).ravel())
        np.add.at(counted, (rows, lab.ravel()), 1.0)
        right_w += (weighted.argmax(1) == yte[i:i + 1000]).sum()
        right_m += (counted.argmax(1) == yte[i:i + 1000]).sum()
    return right_w / fte.shape[0], right_m / fte.shape[0]


def probe(ftr, ytr, fte, yte):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    sc = StandardScaler().fit(ftr)
    t = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        clf = LogisticRegression(multi_class='multinomial', solver='lbfgs', C=1.0, max_iter=MAX_ITER)
        clf.fit(sc.transform(ftr), ytr)
    return clf.score(sc.transform(fte), yte), time.time() - t, int(np.max(clf.n_iter_))


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__.rsplit('usage: ', 1)[1])
    ftr, ytr, fte, yte = (np.load(p) for p in sys.argv[1:5])
    if len(ftr) != len(ytr) or len(fte) != len(yte) or ftr.shape[1] != fte.shape[1]:
        sys.exit(f'r1_eval.py: shapes do not match: {ftr.shape} / {ytr.shape}, {fte.shape} / {yte.shape}')
    ftr, fte = ftr.astype(np.float64), fte.astype(np.float64)
    w, m = knn(ftr, ytr, fte, yte)
    print(f"KNN weighted {w * 100:.2f} majority {m * 100:.2f}", flush=True)
    if '--no-probe' not in sys.argv:
        acc, secs, iters = probe(ftr, ytr, fte, yte)
        flag = '' if iters < MAX_ITER else ', NOT CONVERGED: stopped at the iteration limit'
        print(f"PROBE {acc * 100:.2f} (fit {secs:.1f}s, {iters} iterations{flag})", flush=True)


if __name__ == '__main__':
    main()

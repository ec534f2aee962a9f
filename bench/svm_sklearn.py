#!/usr/bin/python3
"""scikit-learn's side of `make bench-svm`: LinearSVC (liblinear's dual coordinate
descent, one-vs-rest, squared hinge, bias as a constant feature 1 that is regularised:
intercept_scaling 1) on features standardised with StandardScaler (training mean and
population standard deviation), as `simlearn probe --model svm` standardises. Same C,
same tolerance, same pass limit as simlearn's run. liblinear has no threads. Prints one
line of key=value; converged=0 when liblinear warned that it stopped at the limit.
usage: svm_sklearn.py TRAIN.npy TRAIN_LABELS.npy TEST.npy TEST_LABELS.npy C TOL MAX_ITER"""
import os
import sys

if len(sys.argv) != 8:
    sys.exit(__doc__.rsplit('usage: ', 1)[1])
ftr, fytr, fte, fyte = sys.argv[1:5]
C, tol, max_iter = float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ[v] = '1'

import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

xtr, ytr, xte, yte = np.load(ftr), np.load(fytr), np.load(fte), np.load(fyte)
sc = StandardScaler().fit(xtr.astype(np.float64))
xs, xts = sc.transform(xtr.astype(np.float64)), sc.transform(xte.astype(np.float64))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    t0, c0 = time.perf_counter(), time.process_time()
    clf = LinearSVC(C=C, loss='squared_hinge', dual=True, tol=tol, max_iter=max_iter, multi_class='ovr',
                    intercept_scaling=1.0, random_state=0)
    clf.fit(xs, ytr)
    fit, cpu = time.perf_counter() - t0, time.process_time() - c0
warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
print(f'SKLEARN version={sklearn.__version__} fit_s={fit:.4f} cpu_s={cpu:.4f} passes={int(clf.n_iter_)} '
      f'converged={int(not warned)} C={C:.6g} tol={tol:.6g} train_acc={clf.score(xs, ytr) * 100:.4f} '
      f'test_acc={clf.score(xts, yte) * 100:.4f} rows={len(xtr)} features={xtr.shape[1]}')

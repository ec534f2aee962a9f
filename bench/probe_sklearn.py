#!/usr/bin/python3
"""scikit-learn's side of `make bench-probe`: the same fit as bench/probe_bench.c.

simlearn's probe minimises   mean_i CE_i + (lambda / 2) ||W||^2   (bias not penalised);
LogisticRegression(lbfgs, multinomial) minimises   sum_i CE_i + 1 / (2C) ||W||^2
(intercept not penalised), i.e. n times the same function when C = 1 / (lambda n). Its
`tol` bounds the largest gradient entry of that sum, so tol = TOL * n stops at the same
gradient of the mean loss as simlearn's TOL. Features are standardised with
StandardScaler (training mean and population standard deviation), as simlearn does.
BLAS and OpenMP are held to THREADS threads (environment and threadpoolctl).
Prints one line of key=value and writes PREFIX.{W,b,mean,scale}.npy.
usage: probe_sklearn.py DATADIR N LAMBDA TOL MAX_ITER THREADS PREFIX"""
import os
import sys

if len(sys.argv) != 8:
    sys.exit(__doc__.rsplit('usage: ', 1)[1])
data, nwant, lam, tol, max_iter, threads, prefix = sys.argv[1:]
nwant, lam, tol, max_iter, threads = int(nwant), float(lam), float(tol), int(max_iter), int(threads)
for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ[v] = str(threads)

import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

xtr = np.load(os.path.join(data, 'train_x.npy'))
ytr = np.load(os.path.join(data, 'train_y.npy'))
xte = np.load(os.path.join(data, 'test_x.npy'))
yte = np.load(os.path.join(data, 'test_y.npy'))
if nwant and nwant < len(xtr):
    xtr, ytr = xtr[:nwant], ytr[:nwant]
n = len(xtr)
C = 1.0 / (lam * n)
with threadpool_limits(limits=threads), warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    c0, t0 = time.process_time(), time.perf_counter()
    sc = StandardScaler().fit(xtr.astype(np.float64))
    xs = sc.transform(xtr.astype(np.float64))
    t1 = time.perf_counter()
    clf = LogisticRegression(multi_class='multinomial', solver='lbfgs', C=C, tol=tol * n, max_iter=max_iter)
    clf.fit(xs, ytr)
    t2 = time.perf_counter()
    train_acc = clf.score(xs, ytr)
    test_acc = clf.score(sc.transform(xte.astype(np.float64)), yte)
    whole, cpu = time.perf_counter() - t0, time.process_time() - c0
warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
iters = int(np.max(clf.n_iter_))
for name, a in (('W', clf.coef_), ('b', clf.intercept_), ('mean', sc.mean_), ('scale', sc.scale_)):
    np.save(f'{prefix}.{name}.npy', np.asarray(a, dtype=np.float64))
import sklearn  # noqa: E402
print(f'SKLEARN version={sklearn.__version__} fit_s={t2 - t1:.4f} whole_s={whole:.4f} cpu_s={cpu:.4f} '
      f'iterations={iters} converged={int(not warned and iters < max_iter)} C={C:.6g} tol={tol * n:.6g} '
      f'train_acc={train_acc * 100:.4f} test_acc={test_acc * 100:.4f} rows={n} features={xtr.shape[1]}')

#!/usr/bin/python3
"""Reference for the probe benchmark: scikit-learn LogisticRegression (lbfgs,
multinomial, max_iter=200, C=1.0) on the same .npy files (pixels/255), as in
shared/anchors/logreg_fmnist.py, 2 OpenBLAS threads. Prints one line of key=value."""
import os, sys, time, warnings
os.environ.setdefault('OPENBLAS_NUM_THREADS', '2')
os.environ.setdefault('OMP_NUM_THREADS', '2')
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.exceptions import ConvergenceWarning

d = sys.argv[1]
Xtr = np.load(os.path.join(d, 'x_train.npy')).astype(np.float64)
ytr = np.load(os.path.join(d, 'y_train.npy'))
Xte = np.load(os.path.join(d, 'x_test.npy')).astype(np.float64)
yte = np.load(os.path.join(d, 'y_test.npy'))
clf = LogisticRegression(multi_class='multinomial', solver='lbfgs', max_iter=200, C=1.0)
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter('always')
    t, c = time.time(), time.process_time()
    clf.fit(Xtr, ytr)
    tf, cf = time.time() - t, time.process_time() - c
    conv = any(issubclass(x.category, ConvergenceWarning) for x in w)
print(f"fit={tf:.3f} cpu={cf:.3f} iters={int(clf.n_iter_[0])} train={clf.score(Xtr, ytr) * 100:.2f} "
      f"test={clf.score(Xte, yte) * 100:.2f} not_converged={int(conv)}")

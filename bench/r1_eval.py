#!/usr/bin/python3
"""Evaluate frozen Fashion-MNIST features the way ../shared/anchors/simclr_torch.py does:
weighted kNN (k=20, cosine, votes exp(sim/0.07)) and a linear probe (StandardScaler +
LogisticRegression lbfgs, max_iter 1000, C=1), train -> test.
usage: r1_eval.py TRAIN.npy TRAIN_LABELS.npy TEST.npy TEST_LABELS.npy [--no-probe]"""
import sys, time
import numpy as np

def knn(ftr, ytr, fte, yte, k=20, tau=0.07, classes=10):
    ftr = ftr / np.maximum(np.linalg.norm(ftr, axis=1, keepdims=True), 1e-12)
    fte = fte / np.maximum(np.linalg.norm(fte, axis=1, keepdims=True), 1e-12)
    cw = cm = 0
    for i in range(0, fte.shape[0], 1000):
        s = fte[i:i + 1000] @ ftr.T
        idx = np.argpartition(-s, k, axis=1)[:, :k]
        sv = np.take_along_axis(s, idx, 1)
        lab = ytr[idx]
        vw = np.zeros((s.shape[0], classes)); vm = np.zeros((s.shape[0], classes))
        rows = np.repeat(np.arange(s.shape[0]), k)
        np.add.at(vw, (rows, lab.ravel()), np.exp(sv / tau).ravel())
        np.add.at(vm, (rows, lab.ravel()), 1.0)
        cw += (vw.argmax(1) == yte[i:i + 1000]).sum()
        cm += (vm.argmax(1) == yte[i:i + 1000]).sum()
    return cw / fte.shape[0], cm / fte.shape[0]

def probe(ftr, ytr, fte, yte):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    import warnings
    warnings.filterwarnings('ignore')
    sc = StandardScaler().fit(ftr)
    t = time.time()
    clf = LogisticRegression(max_iter=1000).fit(sc.transform(ftr), ytr)
    return clf.score(sc.transform(fte), yte), time.time() - t

ftr, ytr, fte, yte = (np.load(p) for p in sys.argv[1:5])
ftr = ftr.astype(np.float64); fte = fte.astype(np.float64)
w, m = knn(ftr, ytr, fte, yte)
print(f"KNN weighted {w * 100:.2f} majority {m * 100:.2f}", flush=True)
if '--no-probe' not in sys.argv:
    acc, tp = probe(ftr, ytr, fte, yte)
    print(f"PROBE {acc * 100:.2f} (fit {tp:.1f}s)", flush=True)

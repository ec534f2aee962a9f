#!/usr/bin/python3
"""Leave-one-out kNN accuracy (k=10, cosine, majority vote) of every shapes attribute for
an embedding written by `simlearn embed` (EMB.npy + EMB.{shape,color,size,location}.npy).
usage: shapes_knn.py NAME EMB.npy   -> one line: NAME shape color size location (percent)"""
import sys
import numpy as np
name, path = sys.argv[1], sys.argv[2]
x = np.load(path).astype(np.float64)
x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
s = x @ x.T
np.fill_diagonal(s, -np.inf)
k = 10
idx = np.argsort(-s, axis=1, kind='stable')[:, :k]
stem = path[:-4]
out = []
for a in ('shape', 'color', 'size', 'location'):
    y = np.load(f"{stem}.{a}.npy")
    right = 0
    for i in range(len(y)):
        votes = {}
        best = None
        for j in idx[i]:
            l = y[j]
            votes[l] = votes.get(l, 0) + 1
            if best is None or votes[l] > votes[best]:
                best = l
        right += best == y[i]
    out.append(100.0 * right / len(y))
print(name.ljust(28) + ''.join(f"{v:9.1f}" for v in out), flush=True)

#!/usr/bin/python3
"""Leave-one-out kNN accuracy (k=10, cosine, majority vote, ties to the smallest label) of every shapes attribute for
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
    # Majority vote; ties go to the smallest label, as in simlearn's kNN classifier.
    nc = int(y.max()) + 1
    votes = np.zeros((len(y), nc), dtype=np.int64)
    np.add.at(votes, (np.repeat(np.arange(len(y)), k), y[idx].ravel()), 1)
    right = int((votes.argmax(1) == y).sum())
    out.append(100.0 * right / len(y))
print(name.ljust(28) + ''.join(f"{v:9.1f}" for v in out), flush=True)

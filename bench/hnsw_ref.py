#!/usr/bin/python3
"""R4 reference: hnswlib with M=16, ef_construction=200, batch queries on
THREADS threads; recall@10 against exact ground truth (the simlearn exact
search ids, GT.npy), best of REPEATS passes per ef. Then the summary line
comparing with the simlearn figures in SIMLEARN_LOG.
usage: hnsw_ref.py BASE.npy QUERIES.npy GT.npy THREADS REPEATS SIMLEARN_LOG"""
import sys, time
import numpy as np
import hnswlib
base, queries, gt_path, threads, reps, log = sys.argv[1:7]
threads, reps = int(threads), int(reps)
xb, xq = np.load(base), np.load(queries)
k = 10
gt = np.load(gt_path).reshape(xq.shape[0], k)
p = hnswlib.Index(space='l2', dim=xb.shape[1])
p.init_index(max_elements=xb.shape[0], M=16, ef_construction=200, random_seed=100)
p.set_num_threads(threads)
t = time.time()
p.add_items(xb, np.arange(xb.shape[0]), num_threads=threads)
build = time.time() - t
print(f'hnswlib build M=16 efC=200 threads={threads}: {build:.2f} s', flush=True)
ref = []
for ef in (10, 20, 40, 80, 160):
    p.set_ef(ef)
    best = 1e30
    for r in range(reps):
        t = time.time()
        L, _ = p.knn_query(xq, k=k, num_threads=threads)
        best = min(best, time.time() - t)
    rec = np.mean([len(set(a) & set(b)) for a, b in zip(L, gt)]) / k
    ref.append((ef, rec, xq.shape[0] / best))
    print(f'hnswlib  ef={ef:4d} recall@10={rec:.4f}  batch-{threads}thr {xq.shape[0] / best:8.0f} q/s (best of {reps})', flush=True)
sl, sl_build = [], None
for line in open(log):
    w = line.split()
    if w and w[0] == 'SIMLEARN_EF':
        sl.append((int(w[1]), float(w[2]), float(w[3])))
    elif w and w[0] == 'SIMLEARN_BUILD':
        sl_build = float(w[1])
def at95(rows):
    """q/s and recall of the fastest setting with recall >= 0.95."""
    ok = [r for r in rows if r[1] >= 0.95]
    return max(ok, key=lambda r: r[2]) if ok else (None, 0.0, 0.0)
_, sr, sq = at95(sl)
_, hr, hq = at95(ref)
print(f'hnsw build time: simlearn {sl_build:.2f} s, hnswlib {build:.2f} s, ratio {sl_build / build:.2f}')
print(f'hnsw: simlearn {sq:.0f} q/s at recall {sr:.4f}, hnswlib {hq:.0f} q/s at recall {hr:.4f}, ratio {sq / hq if hq else 0:.2f}')

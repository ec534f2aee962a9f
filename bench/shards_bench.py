#!/usr/bin/python3
"""Search an HNSW index or a sharded one (its manifest; under mpirun one shard per rank)
for every query row, k 10, at each ef: recall@10 against the exact ids and queries per
second (the best of 3 timed searches; under mpirun the time of rank 0, which waits for
every rank). Rank 0 prints one line per ef.
usage: shards_bench.py QUERIES.npy EXACT_IDS.npy INDEX THREADS LABEL EF..."""
import sys
import time

import numpy as np

import simlearn

q, gt = np.load(sys.argv[1]), np.load(sys.argv[2])
index, threads, label = simlearn.Index.load(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rank = simlearn.rank()[0]
for ef in map(int, sys.argv[6:]):
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        _, ids = index.search(q, 10, ef=ef, threads=threads)
        best = min(best, time.perf_counter() - t)
    recall = np.mean([len(set(a) & set(b)) for a, b in zip(ids.tolist(), gt.tolist())]) / 10
    if rank == 0:
        print(f"{label}: ef {ef:3d}  recall@10 {recall:.4f}  {len(q) / best:8.0f} queries/s", flush=True)

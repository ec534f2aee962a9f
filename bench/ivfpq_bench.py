#!/usr/bin/python3
"""bench-ivfpq: simlearn's IVF-PQ index against faiss's IndexIVFPQ (Debian
python3-faiss) on the same rows, in one process, THREADS threads on both
sides, the same nlist, M sub-quantisers of 8 bits and nprobe:

  - build: training (k-means of the coarse centroids on at most 256 rows per
    centroid, and of each sub-space's 256 codewords on the residuals of at
    most 65,536 rows, 25 iterations: faiss's defaults) plus adding every row;
  - search: for each nprobe the queries in one batch, timed alternately (best
    of REPEATS) so both see the same load; recall@10 against exact search;
  - size: bytes per vector in the lists (an M-byte code and an 8-byte id on
    both sides) and the index's memory: simlearn's own count (lists,
    centroids, codebooks, L2 tables), faiss's serialised index plus its
    precomputed L2 table.

Two sets: Fashion-MNIST (60,000 training rows of 784 pixels / 255 as the base,
the 10,000 test rows as queries, L2), and word vectors (100-d, trained on the
GCIDE corpus by simlearn, unit length, so L2 ranks as cosine does; every
tenth word is a query, the others the base). Ratios are simlearn's speed over
faiss's (> 1: simlearn faster). The last line is the summary, at the
headline nprobe on Fashion-MNIST.
usage: ivfpq_bench.py FMNIST_DIR WORDS.npy THREADS REPEATS FM_NLIST FM_M WORDS_NLIST WORDS_M NPROBES HEADLINE"""
import sys, time
import numpy as np
import faiss
from threadpoolctl import threadpool_limits

import simlearn

fm_dir, words_npy = sys.argv[1], sys.argv[2]
threads, reps = int(sys.argv[3]), int(sys.argv[4])
fm_nlist, fm_m, w_nlist, w_m = (int(v) for v in sys.argv[5:9])
nprobes = [int(v) for v in sys.argv[9].split(',')]
headline = int(sys.argv[10])
k = 10
threadpool_limits(limits=threads)
faiss.omp_set_num_threads(threads)
print(f'simlearn {simlearn.__version__}, faiss {faiss.__version__}; {threads} threads, best of {reps}', flush=True)


def once(f):
    s = time.perf_counter()
    out = f()
    return time.perf_counter() - s, out


def recall(ids, gt):
    return np.mean([len(set(a) & set(b)) for a, b in zip(ids, gt)]) / k


def run(name, xb, xq, nlist, M):
    n, d = xb.shape
    print(f'== {name}: {n} base rows of {d}, {xq.shape[0]} queries, nlist {nlist}, M {M} x 8 bits', flush=True)
    _, gt = simlearn.knn(xb, xq, k, threads=threads)
    t = time.perf_counter()
    sl = simlearn.IVFPQIndex(d, nlist=nlist, M=M, seed=1)
    sl.train(xb, threads=threads)
    sl.add(xb, threads=threads)
    sl_build = time.perf_counter() - t
    t = time.perf_counter()
    fa = faiss.IndexIVFPQ(faiss.IndexFlatL2(d), d, nlist, M, 8)
    fa.train(xb)
    fa.add(xb)
    fa_build = time.perf_counter() - t
    info = sl.info()
    fa_mem = faiss.serialize_index(fa).nbytes + fa.precomputed_table.size() * 4
    print(f'build (train + add): simlearn {sl_build:.2f} s, faiss {fa_build:.2f} s, ratio {fa_build / sl_build:.2f}')
    print(f'bytes per vector in the lists: simlearn {info["code_bytes"]}, faiss {fa.code_size + 8}; '
          f'index memory: simlearn {info["bytes"] / 2**20:.1f} MiB ({info["bytes"]} bytes), '
          f'faiss {fa_mem / 2**20:.1f} MiB ({fa_mem} bytes) '
          f'(serialised {faiss.serialize_index(fa).nbytes / 2**20:.1f} + L2 table '
          f'{fa.precomputed_table.size() * 4 / 2**20:.1f}), float32 vectors {n * d * 4 / 2**20:.1f} MiB')
    rows = {}
    print(f'{"nprobe":>6} {"simlearn q/s":>13} {"recall":>7} {"faiss q/s":>10} {"recall":>7} {"ratio":>6}')
    for p in nprobes:
        fa.nprobe = p
        ts = tf = 1e30
        for _ in range(reps):  # alternately, so both see the same load
            a, (_, si) = once(lambda: sl.search(xq, k, nprobe=p, threads=threads))
            b, (_, fi) = once(lambda: fa.search(xq, k))
            ts, tf = min(ts, a), min(tf, b)
        rs, rf = recall(si, gt), recall(fi, gt)
        qs, qf = xq.shape[0] / ts, xq.shape[0] / tf
        rows[p] = (qs, rs, qf, rf)
        print(f'{p:6d} {qs:13.0f} {rs:7.4f} {qf:10.0f} {rf:7.4f} {qs / qf:6.2f}', flush=True)
    return rows


fm = run('Fashion-MNIST',
         np.ascontiguousarray(np.load(f'{fm_dir}/train_x.npy'), dtype=np.float32),
         np.ascontiguousarray(np.load(f'{fm_dir}/test_x.npy'), dtype=np.float32), fm_nlist, fm_m)
w = np.load(words_npy).astype(np.float32)
w /= np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)
q = np.arange(len(w)) % 10 == 0
run('GCIDE word vectors', np.ascontiguousarray(w[~q]), np.ascontiguousarray(w[q]), w_nlist, w_m)
qs, rs, qf, rf = fm[headline]
print(f'ivfpq: simlearn {qs:.0f} q/s at recall {rs:.4f}, faiss {qf:.0f} q/s at recall {rf:.4f}, '
      f'ratio {qs / qf:.2f}')

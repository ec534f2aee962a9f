#!/usr/bin/python3
"""R4: HNSW on Fashion-MNIST, M=16, ef_construction=200, THREADS threads on both
sides. simlearn's index (built and saved by hnsw_bench, which printed its build
time) is loaded through ctypes from libsimlearn.so; hnswlib is built here from
the same rows. For each ef the two are timed alternately on the same batch of
queries (best of REPEATS), so both see the same machine load. Recall@10 is
against exact search (GT.npy). Ratios are simlearn's speed over hnswlib's:
queries per second simlearn / hnswlib, build time hnswlib / simlearn (> 1:
simlearn faster). N and Q keep the first rows of the base and queries (0: all);
METRIC is l2 or cosine (hnswlib's space of that name), NAME the summary line's
label.
usage: hnsw_ref.py LIBSIMLEARN.so INDEX BASE.npy QUERIES.npy GT.npy SIMLEARN_LOG [REPEATS [N [Q [THREADS [METRIC [NAME]]]]]]"""
import ctypes, os, sys, time
import numpy as np
import hnswlib
from threadpoolctl import threadpool_info, threadpool_limits

lib_path, index_path, base, queries, gt_path, log = sys.argv[1:7]
reps = int(sys.argv[7]) if len(sys.argv) > 7 else 3
nbase = int(sys.argv[8]) if len(sys.argv) > 8 else 0
nquery = int(sys.argv[9]) if len(sys.argv) > 9 else 0
threads = int(sys.argv[10]) if len(sys.argv) > 10 else 2
metric = sys.argv[11] if len(sys.argv) > 11 else 'l2'
name = sys.argv[12] if len(sys.argv) > 12 else 'hnsw'
k = 10
lib = ctypes.CDLL(lib_path)
c_f = ctypes.POINTER(ctypes.c_float)
c_i64 = ctypes.POINTER(ctypes.c_int64)
lib.sl_hnsw_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
lib.sl_hnsw_search.argtypes = [ctypes.c_void_p, c_f, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t,
                               ctypes.c_void_p, c_i64, c_f]
lib.sl_hnsw_destroy.argtypes = [ctypes.c_void_p]
lib.sl_error_message.restype = ctypes.c_char_p
lib.sl_threads_set(threads)
threadpool_limits(limits=threads)
print('thread pools: ' + ', '.join(f"{p['internal_api']} {os.path.basename(p['filepath'])} {p['num_threads']}"
                                   for p in threadpool_info()), flush=True)

xb, xq = np.load(base), np.load(queries)
xb = np.ascontiguousarray(xb[:nbase] if nbase > 0 else xb, dtype=np.float32)
xq = np.ascontiguousarray(xq[:nquery] if nquery > 0 else xq, dtype=np.float32)
nq = xq.shape[0]
gt = np.load(gt_path).reshape(nq, k)
h = ctypes.c_void_p()
if lib.sl_hnsw_load(index_path.encode(), ctypes.byref(h)) != 0:
    sys.exit('simlearn: ' + lib.sl_error_message().decode())
S = np.zeros((nq, k), dtype=np.int64)
SD = np.zeros((nq, k), dtype=np.float32)

p = hnswlib.Index(space=metric, dim=xb.shape[1])
p.init_index(max_elements=xb.shape[0], M=16, ef_construction=200, random_seed=100)
p.set_num_threads(threads)
t = time.time()
p.add_items(xb, np.arange(xb.shape[0]), num_threads=threads)
build = time.time() - t
print(f'hnswlib {getattr(hnswlib, "__version__", "")} build of {xb.shape[0]} vectors, M=16 efC=200 '
      f'threads={threads}: {build:.2f} s', flush=True)

recall = lambda L: np.mean([len(set(a) & set(b)) for a, b in zip(L, gt)]) / k
sl, ref = [], []
for ef in (10, 20, 40, 80, 160):
    p.set_ef(ef)
    bs = bh = 1e30
    for r in range(reps):
        t = time.time()
        if lib.sl_hnsw_search(h, xq.ctypes.data_as(c_f), nq, k, ef, None, S.ctypes.data_as(c_i64),
                              SD.ctypes.data_as(c_f)) != 0:
            sys.exit('simlearn: ' + lib.sl_error_message().decode())
        bs = min(bs, time.time() - t)
        t = time.time()
        L, _ = p.knn_query(xq, k=k, num_threads=threads)
        bh = min(bh, time.time() - t)
    sl.append((ef, recall(S), nq / bs))
    ref.append((ef, recall(L), nq / bh))
    print(f'ef={ef:4d}  simlearn recall@10={sl[-1][1]:.4f} {sl[-1][2]:8.0f} q/s   '
          f'hnswlib recall@10={ref[-1][1]:.4f} {ref[-1][2]:8.0f} q/s   (batch, {threads} threads, best of {reps})',
          flush=True)
lib.sl_hnsw_destroy(h)
sl_build = None
for line in open(log):
    w = line.split()
    if w and w[0] == 'SIMLEARN_BUILD':
        sl_build = float(w[1])
if sl_build is None:
    sys.exit(f'hnsw_ref.py: no SIMLEARN_BUILD line in {log}')


def at95(rows):
    """The fastest setting with recall >= 0.95: (ef, recall, q/s)."""
    ok = [r for r in rows if r[1] >= 0.95]
    return max(ok, key=lambda r: r[2]) if ok else (None, 0.0, 0.0)


es, sr, sq = at95(sl)
eh, hr, hq = at95(ref)
print(f'{name} build time: simlearn {sl_build:.2f} s, hnswlib {build:.2f} s, ratio {build / sl_build:.2f}')
if es is None or eh is None:
    sys.exit('hnsw_ref.py: no ef reached recall 0.95 for ' + ' and '.join(
        name for name, e in (('simlearn', es), ('hnswlib', eh)) if e is None))
print(f'(fastest setting with recall >= 0.95: simlearn ef={es}, hnswlib ef={eh})')
print(f'{name}: simlearn {sq:.0f} q/s at recall {sr:.4f}, hnswlib {hq:.0f} q/s at recall {hr:.4f}, '
      f'ratio {sq / hq:.2f}')

#!/usr/bin/python3
"""R3: exact k=10 search of the Fashion-MNIST test images against the train
images: simlearn's sl_flat_search (through ctypes, from libsimlearn.so) and
faiss IndexFlatL2 on the same number of threads, timed alternately in one
process, so both see the same machine load; simlearn runs with its default
screen (bf16 products where the CPU has them) and, as a check, with float32
products: the two must return the same ids and scores to the bit. Then the
agreement of the neighbour ids with faiss, the sgemm peak (sl_gemm, 256 x d *
d x N) and the summary line, whose ratio is faiss's best time / simlearn's
best time (> 1: simlearn faster).
N and Q take the first rows of the base and the queries (0: all).
usage: knn_faiss.py LIBSIMLEARN.so DATADIR [REPEATS [N [Q [THREADS]]]]"""
import ctypes, os, sys, time
import numpy as np
import faiss
from threadpoolctl import threadpool_info, threadpool_limits

lib_path, data = sys.argv[1], sys.argv[2]
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
nbase = int(sys.argv[4]) if len(sys.argv) > 4 else 0
nquery = int(sys.argv[5]) if len(sys.argv) > 5 else 0
threads = int(sys.argv[6]) if len(sys.argv) > 6 else 2
lib = ctypes.CDLL(lib_path)
c_f = ctypes.POINTER(ctypes.c_float)
c_i64 = ctypes.POINTER(ctypes.c_int64)


class FlatConfig(ctypes.Structure):
    _fields_ = [('metric', ctypes.c_int), ('k', ctypes.c_size_t), ('exclude_self', ctypes.c_bool),
                ('query_offset', ctypes.c_size_t), ('max_block_bytes', ctypes.c_size_t),
                ('progress', ctypes.c_void_p), ('screen', ctypes.c_int)]


lib.sl_flat_search.argtypes = [c_f, ctypes.c_size_t, ctypes.c_size_t, c_f, ctypes.c_size_t, ctypes.c_size_t,
                               ctypes.POINTER(FlatConfig), c_i64, c_f]
lib.sl_error_message.restype = ctypes.c_char_p
lib.sl_flat_bf16_available.restype = ctypes.c_bool
lib.sl_gemm.argtypes = [ctypes.c_bool, ctypes.c_bool, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t,
                        ctypes.c_float, c_f, ctypes.c_size_t, c_f, ctypes.c_size_t, ctypes.c_float, c_f,
                        ctypes.c_size_t]
lib.sl_threads_set(threads)
faiss.omp_set_num_threads(threads)
# Every BLAS and OpenMP pool in the process (simlearn's and faiss's) held to the same count.
threadpool_limits(limits=threads)
print('thread pools: ' + ', '.join(f"{p['internal_api']} {os.path.basename(p['filepath'])} {p['num_threads']}"
                                   for p in threadpool_info()), flush=True)

xb = np.load(data + '/train_x.npy')
xq = np.load(data + '/test_x.npy')
xb = np.ascontiguousarray(xb[:nbase] if nbase > 0 else xb, dtype=np.float32)
xq = np.ascontiguousarray(xq[:nquery] if nquery > 0 else xq, dtype=np.float32)
n, d = xb.shape
nq, k = xq.shape[0], 10
S = np.zeros((nq, k), dtype=np.int64)
SD = np.zeros((nq, k), dtype=np.float32)
S32 = np.zeros((nq, k), dtype=np.int64)
SD32 = np.zeros((nq, k), dtype=np.float32)
cfg = FlatConfig(0, k, False, 0, 0, None, 0)      # screen auto
cfg32 = FlatConfig(0, k, False, 0, 0, None, 1)    # screen fp32
P = lambda a, t: a.ctypes.data_as(t)
print(f'bf16 products available: {lib.sl_flat_bf16_available()}', flush=True)


def simlearn_search(c=cfg, ids=S, dist=SD):
    if lib.sl_flat_search(P(xb, c_f), n, d, P(xq, c_f), nq, d, ctypes.byref(c), P(ids, c_i64), P(dist, c_f)) != 0:
        sys.exit('simlearn: ' + lib.sl_error_message().decode())


def sgemm_peak():
    M, K, N = 256, d, n
    rng = np.random.default_rng(1)
    A = rng.random((M, K), dtype=np.float32) - 0.5
    B = rng.random((K, N), dtype=np.float32) - 0.5
    C = np.zeros((M, N), dtype=np.float32)
    g = lambda: lib.sl_gemm(False, False, M, N, K, 1.0, P(A, c_f), K, P(B, c_f), N, 0.0, P(C, c_f), N)
    g()
    best, tot, r = 1e30, 0.0, 0
    while tot < 2.0 or r < 3:
        t = time.time(); g(); t = time.time() - t
        best, tot, r = min(best, t), tot + t, r + 1
    return 2.0 * M * N * K / best / 1e9


peak = sgemm_peak()
index = faiss.IndexFlatL2(d)
index.add(xb)
index.search(xq[:100], k)
ts, tf, t32 = [], [], []
for r in range(reps):
    t = time.time(); simlearn_search(); ts.append(time.time() - t)
    t = time.time(); D, I = index.search(xq, k); tf.append(time.time() - t)
    t = time.time(); simlearn_search(cfg32, S32, SD32); t32.append(time.time() - t)
    print(f'run {r + 1}: simlearn {ts[-1]:.3f} s, faiss {tf[-1]:.3f} s, simlearn float32 screen {t32[-1]:.3f} s '
          f'(search {nq}x{n}, d={d}, k={k}, {threads} threads)', flush=True)
    if not (np.array_equal(S, S32) and np.array_equal(SD.view(np.uint32), SD32.view(np.uint32))):
        sys.exit(f'simlearn: the default and float32 screens differ on {np.sum(np.any(S != S32, axis=1))} queries')
peak = max(peak, sgemm_peak())
gflop = 2.0 * nq * n * d / 1e9
print(f'faiss {faiss.__version__}; best: simlearn {min(ts):.3f} s = {nq / min(ts):.0f} q/s, faiss {min(tf):.3f} s, '
      f'simlearn float32 screen {min(t32):.3f} s; ids and scores of the two screens identical in every run')
print(f'simlearn {gflop / min(ts):.1f} GFLOP/s; sgemm peak {peak:.1f} GFLOP/s (sl_gemm 256x{d} * {d}x{n}, '
      f'best of before and after); fraction of peak {gflop / min(ts) / peak:.2f}')
same_list = np.mean(np.all(S == I, axis=1))
same_set = np.mean([set(a) == set(b) for a, b in zip(S, I)])
print(f'agreement with faiss: identical ordered lists {same_list * 100:.2f}% of queries, '
      f'identical sets {same_set * 100:.2f}%')
bad = np.where(np.any(S != I, axis=1))[0]
# A difference that is a tie (equal exact distances, ordered by id here) is
# not an error on either side; anything else is printed.
ties = 0
for i in bad:
    q = xq[i].astype(np.float64)
    ds = ((xb[S[i]].astype(np.float64) - q) ** 2).sum(1)
    df = ((xb[I[i]].astype(np.float64) - q) ** 2).sum(1)
    if np.allclose(np.sort(ds), np.sort(df), rtol=0, atol=1e-9):
        ties += 1
    else:
        print(f'  query {i}: simlearn {S[i].tolist()} d={np.round(ds, 6).tolist()}')
        print(f'  query {i}: faiss    {I[i].tolist()} d={np.round(df, 6).tolist()}')
print(f'differing queries: {len(bad)}, of which exact-distance ties (same distances, order differs): {ties}')
print(f'knn: simlearn {min(ts):.2f} s, faiss {min(tf):.2f} s, ratio {min(tf) / min(ts):.2f}')

/* Benchmark driver for HNSW (R4): builds the index over BASE.npy with M=16,
 * ef_construction=200 on THREADS threads, prints the build time, saves the
 * index for the query comparison (bench/hnsw_ref.py), and writes the exact
 * top-10 ids of the queries as ground truth. N and Q (optional, 0 = all)
 * keep the first rows of the base and of the queries; METRIC is l2 (the
 * default) or cosine.
 * usage: hnsw_bench BASE.npy QUERIES.npy THREADS INDEX_OUT GT_OUT.npy [N [Q [METRIC]]] */
#include "simlearn.h"

#include <stdio.h>
#include <stdlib.h>

static int fail(void) {
    fprintf(stderr, "hnsw_bench: %s\n", sl_error_message());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 6 || argc > 9) {
        fprintf(stderr, "usage: %s BASE.npy QUERIES.npy THREADS INDEX_OUT GT_OUT.npy [N [Q [METRIC]]]\n", argv[0]);
        return 2;
    }
    sl_metric metric = SL_METRIC_L2;
    if (argc > 8 && sl_metric_parse(argv[8], &metric)) return fail();
    int threads = atoi(argv[3]);
    sl_threads_set(threads);
    float *b, *q;
    size_t n, d, nq, dq, k = 10;
    if (sl_npy_read_matrix(argv[1], &b, &n, &d) || sl_npy_read_matrix(argv[2], &q, &nq, &dq)) return fail();
    size_t nwant = argc > 6 ? strtoull(argv[6], NULL, 10) : 0, qwant = argc > 7 ? strtoull(argv[7], NULL, 10) : 0;
    if (nwant && nwant < n) n = nwant;
    if (qwant && qwant < nq) nq = qwant;
    int64_t *gt = malloc(nq * k * sizeof *gt);
    float *sc = malloc(nq * k * sizeof *sc);
    if (!gt || !sc) {
        fprintf(stderr, "hnsw_bench: out of memory\n");
        return 1;
    }
    sl_flat_config fc = {.metric = metric, .k = k};
    if (sl_flat_search(b, n, d, q, nq, dq, &fc, gt, sc) || sl_npy_write_labels(argv[5], gt, nq * k)) return fail();
    sl_hnsw_config cfg = {.dim = d, .metric = metric, .M = 16, .ef_construction = 200, .seed = 100};
    sl_hnsw *h;
    double t = sl_time_now();
    if (sl_hnsw_create(&cfg, &h) || sl_hnsw_add(h, b, n, NULL, NULL, NULL, NULL)) return fail();
    t = sl_time_now() - t;
    printf("simlearn hnsw build of %zu vectors (%zu-d, %s), M=16 efC=200 threads=%d: %.2f s\n", n, d,
           sl_metric_name(metric), threads, t);
    printf("SIMLEARN_BUILD %.3f\n", t);
    if (sl_hnsw_save(h, argv[4])) return fail();
    sl_hnsw_destroy(h);
    free(b), free(q), free(gt), free(sc);
    return 0;
}

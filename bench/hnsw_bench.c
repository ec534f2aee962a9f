/* Benchmark driver for HNSW (R4): build time with M and ef_construction,
 * then recall@10 against exact search and batch queries/second for each ef.
 * usage: hnsw_bench BASE.npy QUERIES.npy THREADS REPEATS [GT_OUT.npy]
 * (GT_OUT receives the exact top-10 ids, the ground truth for the reference.)
 * Prints "SIMLEARN_BUILD <s>" and "SIMLEARN_EF <ef> <recall> <q/s>" lines. */
#include "simlearn.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s BASE.npy QUERIES.npy THREADS [REPEATS]\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[3]), reps = argc > 4 ? atoi(argv[4]) : 3;
    sl_set_threads(threads);
    float *b, *q;
    size_t n, d, nq, dq, k = 10;
    if (sl_npy_read_matrix(argv[1], &b, &n, &d) || sl_npy_read_matrix(argv[2], &q, &nq, &dq)) {
        fprintf(stderr, "hnsw_bench: %s\n", sl_last_error());
        return 1;
    }
    int64_t *gt = malloc(nq * k * sizeof *gt), *ids = malloc(nq * k * sizeof *ids);
    float *sc = malloc(nq * k * sizeof *sc);
    sl_flat_config fc = {.metric = SL_METRIC_L2, .k = k};
    if (sl_flat_search(b, n, d, q, nq, dq, &fc, gt, sc)) {
        fprintf(stderr, "hnsw_bench: %s\n", sl_last_error());
        return 1;
    }
    if (argc > 5 && sl_npy_write_labels(argv[5], gt, nq * k)) {
        fprintf(stderr, "hnsw_bench: %s\n", sl_last_error());
        return 1;
    }
    sl_hnsw_config cfg = {.dim = d, .metric = SL_METRIC_L2, .M = 16, .ef_construction = 200, .seed = 100};
    sl_hnsw *h;
    double t = sl_time_now();
    if (sl_hnsw_create(&cfg, &h) || sl_hnsw_add(h, b, n, NULL, NULL, NULL)) {
        fprintf(stderr, "hnsw_bench: %s\n", sl_last_error());
        return 1;
    }
    t = sl_time_now() - t;
    printf("simlearn hnsw build M=16 efC=200 threads=%d: %.2f s\n", threads, t);
    printf("SIMLEARN_BUILD %.3f\n", t);
    fflush(stdout);
    static const size_t efs[] = {10, 20, 40, 80, 160};
    for (size_t e = 0; e < sizeof efs / sizeof efs[0]; e++) {
        double best = 1e30;
        for (int r = 0; r < reps; r++) {
            double t0 = sl_time_now();
            if (sl_hnsw_search(h, q, nq, k, efs[e], NULL, ids, sc)) {
                fprintf(stderr, "hnsw_bench: %s\n", sl_last_error());
                return 1;
            }
            t0 = sl_time_now() - t0;
            if (t0 < best) best = t0;
        }
        size_t hit = 0;
        for (size_t i = 0; i < nq; i++)
            for (size_t a = 0; a < k; a++)
                for (size_t c = 0; c < k; c++) hit += ids[i * k + a] == gt[i * k + c];
        double rec = (double)hit / (double)(nq * k);
        printf("simlearn ef=%4zu recall@10=%.4f  batch-%dthr %8.0f q/s (best of %d)\n", efs[e], rec, threads,
               (double)nq / best, reps);
        printf("SIMLEARN_EF %zu %.4f %.1f\n", efs[e], rec, (double)nq / best);
        fflush(stdout);
    }
    sl_hnsw_destroy(h);
    free(b), free(q), free(gt), free(ids), free(sc);
    return 0;
}

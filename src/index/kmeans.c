/* k-means by Lloyd's iterations, the trainer of the IVF-PQ index's coarse
 * centroids and product-quantiser codebooks, in one process or over the
 * ranks of a distributed run (each holding some of the rows; the sums are
 * added over the ranks, so every rank gets the same centroids). Assignments
 * go through sl_flat_search (exact re-scoring, so they do not depend on BLAS
 * rounding or threads); the means are summed in double in row order, column
 * blocks in parallel, so the centroids are the same for every thread count. */
#include "index_internal.h"

#include <math.h>
#include <string.h>

/* An empty cluster takes half of the largest one: a copy of its centroid,
 * the two pushed apart by a relative 1/1024 in alternating directions. */
#define KMEANS_EPS (1.0f / 1024.0f)

static void split_largest(float *cent, double *count, size_t k, size_t d, size_t e) {
    size_t big = 0;
    for (size_t j = 1; j < k; j++)
        if (count[j] > count[big]) big = j;
    float *ce = cent + e * d, *cb = cent + big * d;
    for (size_t t = 0; t < d; t++) {
        float s = (t % 2 == 0) ? KMEANS_EPS : -KMEANS_EPS, v = cb[t], step = s * (fabsf(v) + 1e-6f);
        ce[t] = v + step;
        cb[t] = v - step;
    }
    count[e] = floor(count[big] / 2);
    count[big] -= count[e];
}

/* Per-cluster sums (k x d, double) and counts of the rows. */
static void local_sums(const float *x, size_t n, size_t d, size_t k, const int64_t *a, double *sum, double *count) {
    memset(count, 0, k * sizeof *count);
    for (size_t i = 0; i < n; i++) count[a[i]] += 1;
    const size_t cb = 32, nblk = (d + cb - 1) / cb;
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nblk; b++) {
        size_t t0 = b * cb, t1 = SL__MIN(d, t0 + cb);
        for (size_t j = 0; j < k; j++) memset(sum + j * d + t0, 0, (t1 - t0) * sizeof *sum);
        for (size_t i = 0; i < n; i++) {
            double *s = sum + (size_t)a[i] * d;
            const float *r = x + i * d;
            for (size_t t = t0; t < t1; t++) s[t] += r[t];
        }
    }
}

/* Centroids as the means of their rows; with split, empty clusters take
 * halves of the largest (otherwise they stay where they are). */
static void set_means(float *cent, const double *sum, double *count, size_t k, size_t d, bool split) {
    for (size_t j = 0; j < k; j++)
        if (count[j] > 0)
            for (size_t t = 0; t < d; t++) cent[j * d + t] = (float)(sum[j * d + t] / count[j]);
    for (size_t j = 0; j < k && split; j++)
        if (count[j] == 0) split_largest(cent, count, k, d, j);
}

/* The starting centroids: k distinct rows of the whole drawn with seed,
 * each copied by the rank that holds it (then summed over the ranks). */
static sl_status start(const float *x, size_t n, size_t d, size_t k, uint64_t seed, const sl__part *p, float *cent,
                       size_t *pick) {
    sl_rng r;
    sl_rng_seed(&r, seed, 0x6b6d65616e73ULL);
    sl_status st = sl_rng_sample(&r, p->total, k, false, pick);
    for (size_t j = 0; j < k && st == SL_OK; j++) {
        if (pick[j] >= p->first && pick[j] - p->first < n)
            memcpy(cent + j * d, x + (pick[j] - p->first) * d, d * sizeof *cent);
        else
            memset(cent + j * d, 0, d * sizeof *cent);
    }
    if (!p->dist) return st;
    st = sl__index_agree(st, "k-means");
    return st ? st : sl_dist_sum_f32(cent, k * d);
}

/* One iteration's assignment and sums (this rank's rows), flags[0] the rows
 * whose cluster changed, flags[1] a failure, flags[2] a stop. */
static sl_status assign(const float *x, size_t n, size_t d, size_t k, const float *cent, const volatile sig_atomic_t *stop,
                        int64_t *a, const int64_t *prev, float *sc, double *sum, double *flags) {
    double *count = sum + k * d;
    memset(sum, 0, (k * d + k) * sizeof *sum);
    flags[0] = flags[1] = flags[2] = 0;
    if (stop && *stop) return flags[2] = 1, SL_OK;
    if (n == 0) return SL_OK;
    sl_flat_config fc;
    sl_flat_config_default(&fc);
    fc.k = 1;
    fc.max_block_bytes = SL__KMEANS_BLOCK; /* called every iteration: a block that stays in the heap */
    sl_status s = sl_flat_search(cent, k, d, x, n, d, &fc, a, sc);
    if (s) return flags[1] = 1, s;
    for (size_t i = 0; i < n; i++) flags[0] += a[i] != prev[i];
    local_sums(x, n, d, k, a, sum, count);
    return SL_OK;
}

sl_status sl__kmeans(const float *x, size_t n, size_t d, size_t k, size_t iters, uint64_t seed,
                     const volatile sig_atomic_t *stop, float *cent, const char *what, const sl__part *part) {
    const sl__part one = {0, n, false}, *p = part ? part : &one;
    if (k == 0 || p->total < k)
        return sl__fail(SL_ERR_ARG, "%s: k-means needs at least as many rows as centroids (%zu rows, %zu centroids)",
                        what, p->total, k);
    size_t *pick = sl__malloc_array(p->total, sizeof *pick, what);
    int64_t *a = sl__malloc_array(n ? n : 1, sizeof *a, what), *prev = sl__malloc_array(n ? n : 1, sizeof *prev, what);
    float *sc = sl__malloc_array(n ? n : 1, sizeof *sc, what);
    double *sum = sl__malloc_array(k * d + k + 3, sizeof *sum, what);
    sl_status st = pick && a && prev && sc && sum ? SL_OK : SL_ERR_NOMEM;
    if (p->dist) st = sl__index_agree(st, what);
    if (st == SL_OK) st = start(x, n, d, k, seed, p, cent, pick);
    for (size_t i = 0; st == SL_OK && i < n; i++) prev[i] = -1;
    double *count = sum + k * d, *flags = count + k;
    for (size_t it = 0; it < iters && st == SL_OK; it++) {
        sl_status mine = assign(x, n, d, k, cent, stop, a, prev, sc, sum, flags);
        if (p->dist && (st = sl_dist_sum_f64(sum, k * d + k + 3))) break;
        if (flags[1] > 0) {
            st = mine ? mine : sl__fail(SL_ERR_STATE, "%s: k-means failed on another rank (see its message)", what);
            break;
        }
        if (flags[2] > 0) {
            st = sl__fail(SL_ERR_INTERRUPTED, "%s: k-means interrupted", what);
            break;
        }
        /* Converged, or the last iteration: the means without splitting, so
         * that no centroid is left pushed off its rows' mean. */
        bool same = it > 0 && flags[0] == 0;
        set_means(cent, sum, count, k, d, !same && it + 1 < iters);
        if (same) break;
        memcpy(prev, a, n * sizeof *a);
    }
    sl__free(pick), sl__free(a), sl__free(prev), sl__free(sc), sl__free(sum);
    return st;
}

/* Exact nearest neighbours by blocked sl_gemm distance rows, and the map
 * quality measures built on them: trustworthiness and kNN label purity.
 * index's sl_flat_search also finds exact top-k lists, but it re-scores its
 * candidates in double, so its distances differ in the last bits from these
 * float ones; t-SNE's perplexity calibration starts from these, and its maps
 * would change, so the map code keeps its own selection. */
#include "viz/viz_internal.h"

#include <math.h>
#include <string.h>

/* Rows per block: enough to keep BLAS busy, few enough that a block of
 * distances (rows x n floats) stays around 64 MB. */
static size_t block_rows(size_t n) {
    size_t b = ((size_t)16 << 20) / (n ? n : 1);
    return SL__MAX((size_t)16, SL__MIN((size_t)1024, b));
}

/* Distances from rows [i0, i0+m) to all n rows into D (m x n). */
static void dist_block(const float *x, const float *sq, size_t n, size_t d, size_t i0, size_t m, float *D) {
    sl_gemm(false, true, m, n, d, -2.0f, x + i0 * d, d, x, d, 0.0f, D, n);
#pragma omp parallel for schedule(static) if (m * n >= ((size_t)1 << 20))
    for (size_t r = 0; r < m; r++) {
        float *row = D + r * n, si = sq[i0 + r];
        for (size_t j = 0; j < n; j++) {
            float v = row[j] + si + sq[j];
            row[j] = v > 0 ? v : 0;
        }
    }
}

/* Is (da, ia) before (db, ib) in neighbour order? */
static inline bool before(float da, uint32_t ia, float db, uint32_t ib) { return da < db || (da == db && ia < ib); }

/* Put (v, vi) at the root of the max-heap hd/hi of `size` entries and sift
 * it down to its place. */
static void sift_down(float *hd, uint32_t *hi, int size, float v, uint32_t vi) {
    int c = 0;
    for (;;) {
        int l = 2 * c + 1, r = l + 1, big = c;
        float bd = v;
        uint32_t bi = vi;
        if (l < size && before(bd, bi, hd[l], hi[l])) big = l, bd = hd[l], bi = hi[l];
        if (r < size && before(bd, bi, hd[r], hi[r])) big = r;
        if (big == c) break;
        hd[c] = hd[big], hi[c] = hi[big];
        c = big;
    }
    hd[c] = v, hi[c] = vi;
}

/* Keep the k smallest of a distance row in a max-heap, then sort ascending. */
static void select_row(const float *row, size_t n, size_t self, int k, uint32_t *hi, float *hd) {
    int sz = 0;
    for (size_t j = 0; j < n; j++) {
        if (j == self) continue;
        float v = row[j];
        uint32_t jj = (uint32_t)j;
        if (sz < k) {
            int c = sz++;
            while (c > 0) {
                int p = (c - 1) / 2;
                if (!before(hd[p], hi[p], v, jj)) break;
                hd[c] = hd[p], hi[c] = hi[p];
                c = p;
            }
            hd[c] = v, hi[c] = jj;
        } else if (before(v, jj, hd[0], hi[0])) {
            sift_down(hd, hi, k, v, jj);
        }
    }
    /* Heap sort in place: repeatedly move the maximum to the end. */
    for (int end = k - 1; end > 0; end--) {
        float v = hd[end];
        uint32_t vi = hi[end];
        hd[end] = hd[0], hi[end] = hi[0];
        sift_down(hd, hi, end, v, vi);
    }
}

sl_status sl__knn_exact(const float *x, size_t n, size_t d, int k, uint32_t *idx, float *dist2) {
    return sl__knn_exact_stop(x, n, d, k, idx, dist2, NULL);
}

sl_status sl__knn_exact_stop(const float *x, size_t n, size_t d, int k, uint32_t *idx, float *dist2,
                             const volatile sig_atomic_t *stop) {
    if (k <= 0 || (size_t)k >= n) return sl__fail(SL_ERR_ARG, "knn: k = %d needs 1 <= k < n = %zu", k, n);
    if (n > UINT32_MAX) return sl__fail(SL_ERR_RANGE, "knn: %zu points is more than supported", n);
    size_t B = block_rows(n);
    float *sq = sl__malloc_array(n, sizeof *sq, "knn norms");
    float *D = sl__malloc_array(SL__MIN(B, n) * n, sizeof *D, "knn distance block");
    if (!sq || !D) {
        sl__free(sq), sl__free(D);
        return SL_ERR_NOMEM;
    }
    sl_rows_sqnorms(x, n, d, sq);
    for (size_t i0 = 0; i0 < n; i0 += B) {
        if (stop && *stop) {
            sl__free(sq), sl__free(D);
            return sl__fail(SL_ERR_INTERRUPTED, "nearest neighbours: interrupted after %zu of %zu rows", i0, n);
        }
        size_t m = SL__MIN(B, n - i0);
        dist_block(x, sq, n, d, i0, m, D);
#pragma omp parallel for schedule(dynamic, 8) if (m * n >= ((size_t)1 << 20))
        for (size_t r = 0; r < m; r++)
            select_row(D + r * n, n, i0 + r, k, idx + (i0 + r) * (size_t)k, dist2 + (i0 + r) * (size_t)k);
    }
    sl__free(sq), sl__free(D);
    return SL_OK;
}

sl_status sl_map_trustworthiness(const float *x, size_t n, size_t dx, const float *y, size_t dy, int k, double *out) {
    if (k <= 0 || (double)k >= (double)n / 2)
        return sl__fail(SL_ERR_ARG, "trustworthiness: k = %d needs 1 <= k < n/2 = %g", k, (double)n / 2);
    if (dx == 0 || dy == 0) return sl__fail(SL_ERR_ARG, "trustworthiness: zero dimensions");
    size_t nk = n * (size_t)k;
    uint32_t *yi = sl__malloc_array(nk, sizeof *yi, "trustworthiness neighbours");
    float *yd = sl__malloc_array(nk, sizeof *yd, "trustworthiness distances");
    size_t B = block_rows(n);
    float *sq = sl__malloc_array(n, sizeof *sq, "trustworthiness norms");
    float *D = sl__malloc_array(SL__MIN(B, n) * n, sizeof *D, "trustworthiness block");
    double *pen = sl__calloc(n, sizeof *pen);
    sl_status st = SL_OK;
    if (!yi || !yd || !sq || !D || !pen) {
        st = sl__fail(SL_ERR_NOMEM, "trustworthiness: out of memory");
        goto done;
    }
    st = sl__knn_exact(y, n, dy, k, yi, yd);
    if (st) goto done;
    sl_rows_sqnorms(x, n, dx, sq);
    for (size_t i0 = 0; i0 < n; i0 += B) {
        size_t m = SL__MIN(B, n - i0);
        dist_block(x, sq, n, dx, i0, m, D);
#pragma omp parallel for schedule(dynamic, 8) if (m * n >= ((size_t)1 << 20))
        for (size_t r = 0; r < m; r++) {
            size_t i = i0 + r;
            const float *row = D + r * n;
            const uint32_t *emb = yi + i * (size_t)k;
            double s = 0;
            for (int t = 0; t < k; t++) {
                size_t j = emb[t];
                float dj = row[j];
                /* Rank of j among i's neighbours in x (1 = nearest), counting
                 * points strictly closer or equally close with a lower index. */
                size_t rank = 1;
                for (size_t l = 0; l < n; l++) {
                    if (l == i || l == j) continue;
                    if (row[l] < dj || (row[l] == dj && l < j)) rank++;
                }
                if (rank > (size_t)k) s += (double)(rank - (size_t)k);
            }
            pen[i] = s;
        }
    }
    double tot = 0;
    for (size_t i = 0; i < n; i++) tot += pen[i];
    double nn = (double)n, kk = (double)k;
    *out = 1.0 - 2.0 / (nn * kk * (2.0 * nn - 3.0 * kk - 1.0)) * tot;
done:
    sl__free(yi), sl__free(yd), sl__free(sq), sl__free(D), sl__free(pen);
    return st;
}

sl_status sl_map_purity(const float *y, size_t n, size_t dy, const int64_t *labels, int k, double *out) {
    if (k <= 0 || (size_t)k >= n) return sl__fail(SL_ERR_ARG, "knn purity: k = %d needs 1 <= k < n = %zu", k, n);
    size_t nk = n * (size_t)k;
    uint32_t *idx = sl__malloc_array(nk, sizeof *idx, "purity neighbours");
    float *dist = sl__malloc_array(nk, sizeof *dist, "purity distances");
    sl_status st = SL_ERR_NOMEM;
    if (idx && dist) st = sl__knn_exact(y, n, dy, k, idx, dist);
    if (st == SL_OK) {
        size_t same = 0;
        for (size_t i = 0; i < n; i++)
            for (int t = 0; t < k; t++) same += labels[idx[i * (size_t)k + t]] == labels[i];
        *out = (double)same / (double)nk;
    }
    sl__free(idx), sl__free(dist);
    return st;
}

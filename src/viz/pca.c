/* Principal component analysis: the covariance (sl_covariance, accumulated in
 * double from float sl_gemm products of row blocks) decomposed with sl_eigh. */
#include "viz/viz_internal.h"

#include <math.h>
#include <string.h>

void sl_pca_destroy(sl_pca *p) {
    if (!p) return;
    sl__free(p->mean);
    sl__free(p->components);
    sl__free(p->variance);
    sl__free(p);
}

sl_status sl_pca_fit(const float *x, size_t n, size_t d, size_t k, sl_pca **out) {
    if (n < 2) return sl__fail(SL_ERR_ARG, "pca: need at least 2 points, got %zu", n);
    if (d == 0 || k == 0 || k > d)
        return sl__fail(SL_ERR_ARG, "pca: asked for %zu components of %zu-dimensional data (expected 1..%zu)", k, d, d);
    size_t nd, dd;
    if (!sl_size_mul(n, d, &nd) || !sl_size_mul(d, d, &dd))
        return sl__fail(SL_ERR_RANGE, "pca: %zu x %zu overflows", n, d);
    sl_pca *p = sl__calloc(1, sizeof *p);
    double *mean = sl__malloc_array(d, sizeof *mean, "pca mean");
    double *cov = sl__malloc_array(dd, sizeof *cov, "pca covariance");
    double *w = sl__malloc_array(d, sizeof *w, "pca eigenvalues");
    double *v = sl__malloc_array(dd, sizeof *v, "pca eigenvectors");
    sl_status st = SL_OK;
    if (p) {
        p->mean = sl__malloc_array(d, sizeof *p->mean, "pca mean");
        p->components = sl__malloc_array(k * d, sizeof *p->components, "pca components");
        p->variance = sl__malloc_array(k, sizeof *p->variance, "pca variances");
    }
    if (!p || !mean || !cov || !w || !v || !p->mean || !p->components || !p->variance) {
        st = sl__fail(SL_ERR_NOMEM, "pca: cannot allocate work space for %zu x %zu data", n, d);
        goto fail;
    }
    /* The unbiased covariance (divided by n - 1), then its eigenvectors. */
    st = sl_covariance(x, n, d, 1, mean, cov);
    if (!st) st = sl_eigh(cov, d, w, v);
    if (st) {
        sl__fail_prefix(st, "pca");
        goto fail;
    }
    double total = 0;
    for (size_t j = 0; j < d; j++) total += cov[j * d + j], p->mean[j] = (float)mean[j];
    p->d = d;
    p->k = k;
    p->total_variance = total;
    for (size_t c = 0; c < k; c++) {
        p->variance[c] = w[c] > 0 ? w[c] : 0;
        for (size_t j = 0; j < d; j++) p->components[c * d + j] = (float)v[c * d + j];
    }
    *out = p;
    p = NULL;
fail:
    sl_pca_destroy(p);
    sl__free(mean), sl__free(cov), sl__free(w), sl__free(v);
    return st;
}

void sl_pca_transform(const sl_pca *p, const float *x, size_t n, float *out) {
    const size_t B = 1024, d = p->d;
    float *blk = sl__malloc_array(SL__MIN(n, B) * d, sizeof *blk, "pca transform block");
    for (size_t i0 = 0; i0 < n; i0 += B) {
        size_t m = SL__MIN(B, n - i0);
        if (blk) {
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < d; j++) blk[i * d + j] = x[(i0 + i) * d + j] - p->mean[j];
            sl_gemm(false, true, m, p->k, d, 1.0f, blk, d, p->components, d, 0.0f, out + i0 * p->k, p->k);
        } else {
            /* Without memory for a block, fall back to the direct loop. */
            for (size_t i = 0; i < m; i++)
                for (size_t c = 0; c < p->k; c++) {
                    double s = 0;
                    for (size_t j = 0; j < d; j++)
                        s += (double)(x[(i0 + i) * d + j] - p->mean[j]) * p->components[c * d + j];
                    out[(i0 + i) * p->k + c] = (float)s;
                }
        }
    }
    sl__free(blk);
}

/* Gram-Schmidt on two d-vectors stored one after the other; a vector that
 * vanishes becomes the unit vector of its index. */
static void orthonormalise2(double *v, size_t d) {
    for (int c = 0; c < 2; c++) {
        double *vc = v + (size_t)c * d;
        if (c == 1) {
            double dot = 0;
            for (size_t j = 0; j < d; j++) dot += v[j] * vc[j];
            for (size_t j = 0; j < d; j++) vc[j] -= dot * v[j];
        }
        double nn = 0;
        for (size_t j = 0; j < d; j++) nn += vc[j] * vc[j];
        nn = sqrt(nn);
        for (size_t j = 0; j < d; j++) vc[j] = nn > 0 ? vc[j] / nn : (double)(j == (size_t)c);
    }
}

sl_status sl__pca2_axes(const float *x, size_t n, size_t d, uint64_t seed, uint64_t stream, int max_it, double tol,
                        double *mean, double *axes, double lam[2]) {
    double *v = sl__malloc_array(2 * d, sizeof *v, "PCA axes"), *w = sl__malloc_array(2 * d, sizeof *w, "PCA axes");
    if (!v || !w) {
        sl__free(v), sl__free(w);
        return SL_ERR_NOMEM;
    }
    memset(mean, 0, d * sizeof *mean);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) mean[j] += x[i * d + j];
    for (size_t j = 0; j < d; j++) mean[j] /= (double)n;
    sl_rng r;
    sl_rng_seed(&r, seed, stream);
    for (size_t j = 0; j < 2 * d; j++) v[j] = sl_rng_normal(&r);
    lam[0] = lam[1] = 0;
    for (int it = 0; it < max_it; it++) {
        orthonormalise2(v, d);
        if (it > 0 && tol > 0) {
            double change = 0;
            for (size_t j = 0; j < 2 * d; j++) change = fmax(change, fabs(w[j] - v[j]));
            if (change < tol) break;
        }
        /* w = X_c^T (X_c v): one pass over the rows. */
        memset(w, 0, 2 * d * sizeof *w);
        lam[0] = lam[1] = 0;
        for (size_t i = 0; i < n; i++) {
            const float *row = x + i * d;
            double t0 = 0, t1 = 0;
            for (size_t j = 0; j < d; j++) {
                double c = row[j] - mean[j];
                t0 += c * v[j], t1 += c * v[d + j];
            }
            lam[0] += t0 * t0, lam[1] += t1 * t1;
            for (size_t j = 0; j < d; j++) {
                double c = row[j] - mean[j];
                w[j] += c * t0, w[d + j] += c * t1;
            }
        }
        /* Keep the previous v in w for the convergence test after the swap. */
        double *t = v;
        v = w, w = t;
    }
    orthonormalise2(v, d);
    memcpy(axes, v, 2 * d * sizeof *axes);
    sl__free(v), sl__free(w);
    return SL_OK;
}

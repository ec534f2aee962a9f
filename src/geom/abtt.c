/* All-but-the-top post-processing (Mu & Viswanath, 2018): remove the common
 * mean vector and the few dominant principal directions, which carry mostly
 * frequency information, from a set of embeddings. */
#include "internal.h"

#include <math.h>
#include <string.h>

/* Rows projected per block in apply(), which bounds the scratch memory. */
#define ABTT_BLOCK 4096

size_t sl_geom_abtt_default_D(size_t d) { return d / 100 > 1 ? d / 100 : 1; }

void sl_geom_abtt_destroy(sl_geom_abtt_model *m) {
    if (!m) return;
    sl__free(m->mean);
    sl__free(m->dirs);
    sl__free(m->var);
    sl__free(m);
}

sl_status sl_geom_abtt_fit(const float *x, size_t n, size_t d, size_t D, sl_geom_abtt_model **out) {
    if (D == 0) D = sl_geom_abtt_default_D(d);
    if (n < 2) return sl__fail(SL_ERR_ARG, "all-but-the-top: need at least 2 rows, got %zu", n);
    if (d < 2 || D >= d)
        return sl__fail(SL_ERR_ARG, "all-but-the-top: cannot remove %zu directions from width %zu (must be < width)", D,
                        d);
    size_t dd;
    if (!sl_size_mul(d, d, &dd)) return sl__fail(SL_ERR_RANGE, "all-but-the-top: width %zu is too large", d);
    double *mean = sl__malloc_array(d, sizeof *mean, "mean");
    double *cov = sl__malloc_array(dd, sizeof *cov, "covariance");
    double *w = sl__malloc_array(d, sizeof *w, "eigenvalues");
    double *vec = sl__malloc_array(dd, sizeof *vec, "eigenvectors");
    sl_geom_abtt_model *m = sl__calloc(1, sizeof *m);
    sl_status s = SL_ERR_NOMEM;
    if (!mean || !cov || !w || !vec || !m) goto fail;
    m->d = d;
    m->D = D;
    m->mean = sl__malloc_array(d, sizeof *m->mean, "mean");
    m->dirs = sl__malloc_array(D * d, sizeof *m->dirs, "directions");
    m->var = sl__malloc_array(D, sizeof *m->var, "variances");
    if (!m->mean || !m->dirs || !m->var) goto fail;
    if ((s = sl_covariance(x, n, d, 0, mean, cov)) != SL_OK) goto fail;
    if ((s = sl_eigh(cov, d, w, vec)) != SL_OK) goto fail;
    m->total_var = 0;
    for (size_t j = 0; j < d; j++) {
        m->mean[j] = (float)mean[j];
        m->total_var += w[j] > 0 ? w[j] : 0;
    }
    for (size_t i = 0; i < D; i++) {
        m->var[i] = w[i];
        for (size_t j = 0; j < d; j++) m->dirs[i * d + j] = (float)vec[i * d + j];
    }
    sl__free(mean), sl__free(cov), sl__free(w), sl__free(vec);
    *out = m;
    return SL_OK;
fail:
    sl__free(mean), sl__free(cov), sl__free(w), sl__free(vec);
    sl_geom_abtt_destroy(m);
    if (s == SL_ERR_NOMEM) return sl__fail(SL_ERR_NOMEM, "all-but-the-top: out of memory (width %zu)", d);
    return s;
}

sl_status sl_geom_abtt_apply(const sl_geom_abtt_model *m, float *x, size_t n, size_t d) {
    if (d != m->d) return sl__fail(SL_ERR_ARG, "all-but-the-top: model fitted on width %zu, matrix has width %zu", m->d, d);
    if (n == 0) return SL_OK;
    size_t D = m->D, nb = SL__MIN((size_t)ABTT_BLOCK, n);
    float *proj = sl__malloc_array(nb * D, sizeof *proj, "projections");
    if (!proj) return SL_ERR_NOMEM;
    for (size_t r0 = 0; r0 < n; r0 += nb) {
        size_t rows = SL__MIN(nb, n - r0);
        float *xb = x + r0 * d;
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < d; j++) xb[i * d + j] -= m->mean[j];
        /* P = Xc U^T (rows x D), then Xc <- Xc - P U. */
        sl_gemm(false, true, rows, D, d, 1.0f, xb, d, m->dirs, d, 0.0f, proj, D);
        sl_gemm(false, false, rows, d, D, -1.0f, proj, D, m->dirs, d, 1.0f, xb, d);
    }
    sl__free(proj);
    return SL_OK;
}

sl_status sl_geom_abtt(float *x, size_t n, size_t d, size_t D) {
    sl_geom_abtt_model *m;
    SL__TRY(sl_geom_abtt_fit(x, n, d, D, &m));
    sl_status s = sl_geom_abtt_apply(m, x, n, d);
    sl_geom_abtt_destroy(m);
    return s;
}

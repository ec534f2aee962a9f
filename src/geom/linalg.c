/* Dense symmetric linear algebra for the geometry module: the covariance of a
 * set of rows (float products through sl_gemm, accumulated in double) and a
 * symmetric eigen-solver (Householder tridiagonalisation + implicit QL). */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Rows per covariance block: large enough for an efficient sgemm, small enough
 * that the block stays in the last-level cache. */
#define COV_BLOCK 1024

sl_status sl_geom_covariance(const float *x, size_t n, size_t d, double *mean, double *cov) {
    if (n == 0 || d == 0) return sl__fail(SL_ERR_ARG, "covariance: empty matrix (%zu x %zu)", n, d);
    size_t dd, bd;
    if (!sl_mul_size(d, d, &dd) || !sl_mul_size(COV_BLOCK, d, &bd))
        return sl__fail(SL_ERR_RANGE, "covariance: width %zu is too large", d);
    double *mu = sl__calloc(d, sizeof *mu);
    float *blk = sl__malloc_array(bd, sizeof *blk, "covariance block");
    float *gram = sl__malloc_array(dd, sizeof *gram, "covariance block product");
    if (!mu || !blk || !gram) {
        sl__free(mu), sl__free(blk), sl__free(gram);
        return sl__fail(SL_ERR_NOMEM, "covariance: out of memory for a %zu x %zu matrix", d, d);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) mu[j] += x[i * d + j];
    for (size_t j = 0; j < d; j++) mu[j] /= (double)n;
    memset(cov, 0, dd * sizeof *cov);
    /* Centring before the product avoids the cancellation of E[xx^T] - mm^T;
     * each block's float product is small enough to be accurate, and the sum
     * over blocks is kept in double. */
    for (size_t r0 = 0; r0 < n; r0 += COV_BLOCK) {
        size_t nb = SL__MIN((size_t)COV_BLOCK, n - r0);
        for (size_t i = 0; i < nb; i++)
            for (size_t j = 0; j < d; j++) blk[i * d + j] = (float)((double)x[(r0 + i) * d + j] - mu[j]);
        sl_gemm(true, false, d, d, nb, 1.0f, blk, d, blk, d, 0.0f, gram, d);
        for (size_t k = 0; k < dd; k++) cov[k] += gram[k];
    }
    /* Symmetrise exactly and normalise. */
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j <= i; j++) {
            double v = 0.5 * (cov[i * d + j] + cov[j * d + i]) / (double)n;
            cov[i * d + j] = cov[j * d + i] = v;
        }
    if (mean) memcpy(mean, mu, d * sizeof *mu);
    sl__free(mu), sl__free(blk), sl__free(gram);
    return SL_OK;
}

/* Reduce the symmetric matrix a (n x n) to tridiagonal form T = Q^T a Q with
 * Householder reflections H_k = I - beta_k v_k v_k^T. diag/off receive T's
 * diagonal and the off-diagonal (off[i] couples i and i+1). If m is not NULL it
 * receives Q^T (row-major), so that row i of (Z^T Q^T) is an eigenvector when
 * T = Z L Z^T. a is destroyed (row k keeps reflection k). work: 2n doubles. */
static void tridiagonalize(double *a, size_t n, double *diag, double *off, double *m, double *work) {
    double *vb = work, *wv = work + n; /* the betas, and one scratch vector */
    for (size_t k = 0; k + 2 < n; k++) {
        double *row = a + k * n; /* by symmetry, row k holds column k */
        double *v = row + k + 1;
        size_t len = n - k - 1;
        double tail = 0;
        for (size_t i = 1; i < len; i++) tail += v[i] * v[i];
        diag[k] = row[k];
        if (tail == 0) {
            /* Already tridiagonal in this column: the reflection is the identity. */
            off[k] = v[0];
            vb[k] = 0;
            continue;
        }
        double norm = sqrt(v[0] * v[0] + tail);
        double alpha = v[0] > 0 ? -norm : norm;
        v[0] -= alpha;
        double beta = 2.0 / (v[0] * v[0] + tail);
        off[k] = alpha;
        vb[k] = beta;
        /* Trailing block S <- H S H through p = beta S v, w = p - (beta/2)(p.v) v,
         * S <- S - v w^T - w v^T (a rank-2 update keeps S symmetric). */
        double pv = 0;
        for (size_t i = 0; i < len; i++) {
            const double *si = a + (k + 1 + i) * n + k + 1;
            double s = 0;
            for (size_t j = 0; j < len; j++) s += si[j] * v[j];
            s *= beta;
            wv[i] = s;
            pv += s * v[i];
        }
        double kk = 0.5 * beta * pv;
        for (size_t i = 0; i < len; i++) wv[i] -= kk * v[i];
        for (size_t i = 0; i < len; i++) {
            double *si = a + (k + 1 + i) * n + k + 1;
            double vi = v[i], wi = wv[i];
            for (size_t j = 0; j < len; j++) si[j] -= vi * wv[j] + wi * v[j];
        }
    }
    if (n >= 2) {
        diag[n - 2] = a[(n - 2) * n + n - 2];
        off[n - 2] = a[(n - 2) * n + n - 1];
    }
    diag[n - 1] = a[(n - 1) * n + n - 1];
    off[n - 1] = 0;
    if (!m) return;
    /* Q^T = H_{n-3} ... H_0: apply the reflections in order to the identity. */
    memset(m, 0, n * n * sizeof *m);
    for (size_t i = 0; i < n; i++) m[i * n + i] = 1;
    double *u = off + n; /* caller gives off room for 2n: the second half is scratch */
    for (size_t k = 0; k + 2 < n; k++) {
        if (vb[k] == 0) continue;
        const double *v = a + k * n + k + 1;
        size_t len = n - k - 1;
        memset(u, 0, n * sizeof *u);
        for (size_t i = 0; i < len; i++) {
            const double *mi = m + (k + 1 + i) * n;
            for (size_t j = 0; j < n; j++) u[j] += v[i] * mi[j];
        }
        for (size_t i = 0; i < len; i++) {
            double *mi = m + (k + 1 + i) * n;
            double f = vb[k] * v[i];
            for (size_t j = 0; j < n; j++) mi[j] -= f * u[j];
        }
    }
}

/* Implicit-shift QL on the tridiagonal (diag, off); rotations are applied to
 * the rows of m (n x n) when m is not NULL. Returns false if an eigenvalue
 * does not converge. */
static bool tridiag_ql(double *diag, double *off, size_t n, double *m) {
    for (size_t l = 0; l < n; l++) {
        int iter = 0;
        for (;;) {
            size_t mm;
            for (mm = l; mm + 1 < n; mm++) {
                double dd = fabs(diag[mm]) + fabs(diag[mm + 1]);
                if (fabs(off[mm]) <= DBL_EPSILON * dd || fabs(off[mm]) < DBL_MIN) break;
            }
            if (mm == l) break;
            if (++iter > 200) return false;
            /* Wilkinson-type shift from the leading 2 x 2 block. */
            double g = (diag[l + 1] - diag[l]) / (2.0 * off[l]);
            double r = hypot(g, 1.0);
            g = diag[mm] - diag[l] + off[l] / (g + copysign(r, g));
            double s = 1, c = 1, p = 0;
            bool split = false;
            for (size_t i = mm; i-- > l;) {
                double f = s * off[i], b = c * off[i];
                r = hypot(f, g);
                off[i + 1] = r;
                if (r == 0) {
                    /* Exact deflation in the middle of the sweep: restart. */
                    diag[i + 1] -= p;
                    off[mm] = 0;
                    split = true;
                    break;
                }
                s = f / r;
                c = g / r;
                g = diag[i + 1] - p;
                r = (diag[i] - g) * s + 2.0 * c * b;
                p = s * r;
                diag[i + 1] = g + p;
                g = c * r - b;
                if (m) {
                    double *mi = m + i * n, *mj = m + (i + 1) * n;
                    for (size_t k = 0; k < n; k++) {
                        double t = mj[k];
                        mj[k] = s * mi[k] + c * t;
                        mi[k] = c * mi[k] - s * t;
                    }
                }
            }
            if (split) continue;
            diag[l] -= p;
            off[l] = g;
            off[mm] = 0;
        }
    }
    return true;
}

sl_status sl_geom_sym_eig(double *a, size_t n, double *w, bool vectors) {
    if (n == 0) return sl__fail(SL_ERR_ARG, "eigen-decomposition: empty matrix");
    size_t nn;
    if (!sl_mul_size(n, n, &nn)) return sl__fail(SL_ERR_RANGE, "eigen-decomposition: size %zu is too large", n);
    for (size_t i = 0; i < nn; i++)
        if (!isfinite(a[i]))
            return sl__fail(SL_ERR_NUMERIC, "eigen-decomposition: element (%zu, %zu) is %g", i / n, i % n, a[i]);
    if (n == 1) {
        w[0] = a[0];
        if (vectors) a[0] = 1;
        return SL_OK;
    }
    double *off = sl__malloc_array(2 * n, sizeof *off, "eigen-decomposition");
    double *work = sl__malloc_array(2 * n, sizeof *work, "eigen-decomposition");
    double *m = vectors ? sl__malloc_array(nn, sizeof *m, "eigenvectors") : NULL;
    if (!off || !work || (vectors && !m)) {
        sl__free(off), sl__free(work), sl__free(m);
        return SL_ERR_NOMEM;
    }
    tridiagonalize(a, n, w, off, m, work);
    bool ok = tridiag_ql(w, off, n, m);
    if (!ok) {
        sl__free(off), sl__free(work), sl__free(m);
        return sl__fail(SL_ERR_NUMERIC, "eigen-decomposition: no convergence for a %zu x %zu matrix", n, n);
    }
    /* Sort descending (selection sort: n swaps of rows, O(n^2) moves). */
    for (size_t i = 0; i + 1 < n; i++) {
        size_t best = i;
        for (size_t j = i + 1; j < n; j++)
            if (w[j] > w[best]) best = j;
        if (best != i) {
            double t = w[i];
            w[i] = w[best];
            w[best] = t;
            if (m)
                for (size_t k = 0; k < n; k++) {
                    double u = m[i * n + k];
                    m[i * n + k] = m[best * n + k];
                    m[best * n + k] = u;
                }
        }
    }
    if (m) memcpy(a, m, nn * sizeof *a);
    sl__free(off), sl__free(work), sl__free(m);
    return SL_OK;
}

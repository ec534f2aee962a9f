/* Dense symmetric linear algebra shared by PCA, the geometry statistics and
 * the probe's preconditioner: the covariance of a set of rows (float products
 * through sl_gemm, accumulated in double) and a symmetric eigen-solver
 * (Householder tridiagonalisation + implicit QL) with a cyclic Jacobi twin. */
#include "internal.h"
#include "testing.h"

#include <math.h>
#include <string.h>

/* Rows per covariance block: large enough for an efficient sgemm, small enough
 * that the block stays in the last-level cache. */
#define COV_BLOCK 1024

sl_status sl_covariance(const float *x, size_t n, size_t d, size_t ddof, double *mean, double *cov) {
    if (n == 0 || d == 0) return sl__fail(SL_ERR_ARG, "covariance: empty matrix (%zu x %zu)", n, d);
    if (n <= ddof) return sl__fail(SL_ERR_ARG, "covariance: %zu rows, need more than %zu", n, ddof);
    size_t dd, bd;
    if (!sl_size_mul(d, d, &dd) || !sl_size_mul(COV_BLOCK, d, &bd))
        return sl__fail(SL_ERR_RANGE, "covariance: width %zu is too large", d);
    double *mu = sl__calloc(d, sizeof *mu);
    float *blk = sl__malloc_array(SL__MIN(n, (size_t)COV_BLOCK) * d, sizeof *blk, "covariance block");
    float *gram = sl__malloc_array(dd, sizeof *gram, "covariance block product");
    if (!mu || !blk || !gram) {
        sl__free(mu), sl__free(blk), sl__free(gram);
        return sl__fail(SL_ERR_NOMEM, "covariance: out of memory for a %zu x %zu matrix", d, d);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            float v = x[i * d + j];
            if (!isfinite(v)) {
                sl__free(mu), sl__free(blk), sl__free(gram);
                return sl__fail(SL_ERR_NUMERIC, "covariance: row %zu, column %zu is %g", i, j, (double)v);
            }
            mu[j] += v;
        }
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
    /* Symmetrise exactly (the blocked float products can differ in the last
     * bit) and normalise. */
    double div = (double)(n - ddof);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j <= i; j++) {
            double v = 0.5 * (cov[i * d + j] + cov[j * d + i]) / div;
            cov[i * d + j] = cov[j * d + i] = v;
        }
    if (mean) memcpy(mean, mu, d * sizeof *mu);
    sl__free(mu), sl__free(blk), sl__free(gram);
    return SL_OK;
}

/* Sort eigenpairs by descending eigenvalue (rows of v move with them) and make
 * each vector's largest-magnitude coordinate positive. Selection sort: n is at
 * most a few thousand and this is O(n^2) row swaps at worst, dwarfed by O(n^3). */
static void sort_and_sign(double *w, double *v, size_t n) {
    /* v may be NULL (eigenvalues only). */
    for (size_t i = 0; i < n; i++) {
        size_t best = i;
        for (size_t j = i + 1; j < n; j++)
            if (w[j] > w[best]) best = j;
        if (best != i) {
            double t = w[i];
            w[i] = w[best];
            w[best] = t;
            for (size_t c = 0; v && c < n; c++) {
                t = v[i * n + c];
                v[i * n + c] = v[best * n + c];
                v[best * n + c] = t;
            }
        }
    }
    for (size_t i = 0; v && i < n; i++) {
        double *r = v + i * n, big = 0;
        size_t at = 0;
        for (size_t c = 0; c < n; c++)
            if (fabs(r[c]) > big) big = fabs(r[c]), at = c;
        if (r[at] < 0)
            for (size_t c = 0; c < n; c++) r[c] = -r[c];
    }
}

static sl_status check_input(const double *a, size_t n, const char *who) {
    if (n == 0) return sl__fail(SL_ERR_ARG, "%s: empty matrix", who);
    size_t nn;
    if (!sl_size_mul(n, n, &nn)) return sl__fail(SL_ERR_RANGE, "%s: %zu x %zu overflows", who, n, n);
    for (size_t i = 0; i < nn; i++)
        if (!isfinite(a[i])) return sl__fail(SL_ERR_NUMERIC, "%s: entry (%zu, %zu) is %g", who, i / n, i % n, a[i]);
    return SL_OK;
}

/* Householder tridiagonalisation of a (n x n, overwritten) into the diagonal
 * d and off-diagonal e. For column k, reflect rows/cols k+1.. so that column
 * k has zeros below the sub-diagonal: A' = A - v w^T - w v^T with
 * w = 2p - 2(v.p)v, p = A v, for the unit reflector v. z (NULL when not
 * wanted) accumulates Q^T: row j is column j of the orthogonal matrix, so
 * that both the reflections and the later QL rotations touch contiguous
 * rows. hv and u: n doubles of scratch. */
static void tridiagonalize(double *a, double *z, size_t n, double *hv, double *u, double *d, double *e) {
    for (size_t k = 0; k + 2 < n; k++) {
        size_t m = n - k - 1;
        double norm = 0;
        for (size_t i = 0; i < m; i++) norm += a[(k + 1 + i) * n + k] * a[(k + 1 + i) * n + k];
        norm = sqrt(norm);
        if (norm == 0) continue;
        double x0 = a[(k + 1) * n + k];
        double alpha = x0 > 0 ? -norm : norm;
        for (size_t i = 0; i < m; i++) hv[i] = a[(k + 1 + i) * n + k];
        hv[0] -= alpha;
        double vn = 0;
        for (size_t i = 0; i < m; i++) vn += hv[i] * hv[i];
        vn = sqrt(vn);
        if (vn == 0) continue;
        for (size_t i = 0; i < m; i++) hv[i] /= vn;
        double K = 0;
        for (size_t i = 0; i < m; i++) {
            const double *row = a + (k + 1 + i) * n + k + 1;
            double s = 0;
            for (size_t j = 0; j < m; j++) s += row[j] * hv[j];
            u[i] = s;
            K += hv[i] * s;
        }
        for (size_t i = 0; i < m; i++) u[i] = 2 * u[i] - 2 * K * hv[i];
        for (size_t i = 0; i < m; i++) {
            double *row = a + (k + 1 + i) * n + k + 1;
            double vi = hv[i], ui = u[i];
            for (size_t j = 0; j < m; j++) row[j] -= vi * u[j] + ui * hv[j];
        }
        a[(k + 1) * n + k] = a[k * n + k + 1] = alpha;
        for (size_t i = 1; i < m; i++) a[(k + 1 + i) * n + k] = a[k * n + k + 1 + i] = 0;
        /* Q^T <- H Q^T: rows k+1.. of z change by -2 v (v^T z). */
        if (!z) continue;
        for (size_t c = 0; c < n; c++) u[c] = 0;
        for (size_t i = 0; i < m; i++) {
            const double *row = z + (k + 1 + i) * n;
            for (size_t c = 0; c < n; c++) u[c] += hv[i] * row[c];
        }
        for (size_t i = 0; i < m; i++) {
            double *row = z + (k + 1 + i) * n, f = 2 * hv[i];
            for (size_t c = 0; c < n; c++) row[c] -= f * u[c];
        }
    }
    for (size_t i = 0; i < n; i++) {
        d[i] = a[i * n + i];
        e[i] = i + 1 < n ? a[i * n + i + 1] : 0;
    }
}

/* One implicit QL sweep over the block l..m of the tridiagonal (d, e): a
 * shifted rotation chased from row m up to row l, applied to the rows of z
 * (when not NULL). */
static void ql_sweep(double *d, double *e, double *z, size_t n, size_t l, size_t m) {
    double g = (d[l + 1] - d[l]) / (2 * e[l]);
    double r = hypot(g, 1.0);
    g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
    double s = 1, c = 1, p = 0;
    for (size_t ii = m; ii-- > l;) {
        double f = s * e[ii], b = c * e[ii];
        r = hypot(f, g);
        e[ii + 1] = r;
        if (r == 0) {
            d[ii + 1] -= p;
            e[m] = 0;
            return;
        }
        s = f / r;
        c = g / r;
        g = d[ii + 1] - p;
        r = (d[ii] - g) * s + 2 * c * b;
        p = s * r;
        d[ii + 1] = g + p;
        g = c * r - b;
        if (!z) continue;
        double *z0 = z + ii * n, *z1 = z + (ii + 1) * n;
        for (size_t k = 0; k < n; k++) {
            double t = z1[k];
            z1[k] = s * z0[k] + c * t;
            z0[k] = c * z0[k] - s * t;
        }
    }
    d[l] -= p;
    e[l] = g;
    e[m] = 0;
}

/* Implicit QL on the tridiagonal (d, e): sweep each unreduced block from
 * its bottom up to row l until e[l] vanishes. */
static sl_status ql_implicit(double *d, double *e, double *z, size_t n) {
    for (size_t l = 0; l < n; l++) {
        int iter = 0;
        size_t m;
        do {
            for (m = l; m + 1 < n; m++) {
                double dd = fabs(d[m]) + fabs(d[m + 1]);
                if (fabs(e[m]) <= 1e-15 * dd || e[m] == 0) break;
            }
            if (m != l) {
                if (iter++ == 100)
                    return sl__fail(SL_ERR_NUMERIC, "eigh: QL iteration did not converge for eigenvalue %zu", l);
                ql_sweep(d, e, z, n, l, m);
            }
        } while (m != l);
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(d[i])) return sl__fail(SL_ERR_NUMERIC, "eigh: eigenvalue %zu is not finite", i);
    return SL_OK;
}

sl_status sl_eigh(const double *a_in, size_t n, double *w, double *v_out) {
    SL__TRY(check_input(a_in, n, "eigh"));
    double *a = sl__malloc_array(n * n, sizeof *a, "eigh matrix");
    /* Without v_out only the eigenvalues are wanted: the orthogonal factor,
     * a third of the work, is not accumulated. */
    double *z = v_out ? sl__malloc_array(n * n, sizeof *z, "eigh vectors") : NULL;
    double *hv = sl__malloc_array(n, sizeof *hv, "eigh work");
    double *u = sl__malloc_array(n, sizeof *u, "eigh work");
    double *d = sl__malloc_array(n, sizeof *d, "eigh work");
    double *e = sl__malloc_array(n, sizeof *e, "eigh work");
    sl_status st = SL_OK;
    if (!a || (v_out && !z) || !hv || !u || !d || !e) {
        st = sl__fail(SL_ERR_NOMEM, "eigh: cannot allocate work space for a %zu x %zu matrix", n, n);
    } else {
        memcpy(a, a_in, n * n * sizeof *a);
        if (z) {
            memset(z, 0, n * n * sizeof *z);
            for (size_t i = 0; i < n; i++) z[i * n + i] = 1;
        }
        tridiagonalize(a, z, n, hv, u, d, e);
        st = ql_implicit(d, e, z, n);
    }
    if (st == SL_OK) {
        sort_and_sign(d, z, n);
        memcpy(w, d, n * sizeof *w);
        if (v_out) memcpy(v_out, z, n * n * sizeof *v_out);
    }
    sl__free(a), sl__free(z), sl__free(hv), sl__free(u), sl__free(d), sl__free(e);
    return st;
}

sl_status sl__eigh_ref(const double *a_in, size_t n, double *w, double *v_out) {
    SL__TRY(check_input(a_in, n, "eigh_ref"));
    double *a = sl__malloc_array(n * n, sizeof *a, "eigh_ref matrix");
    double *v = sl__malloc_array(n * n, sizeof *v, "eigh_ref vectors");
    if (!a || !v) {
        sl__free(a), sl__free(v);
        return SL_ERR_NOMEM;
    }
    memcpy(a, a_in, n * n * sizeof *a);
    memset(v, 0, n * n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i * n + i] = 1;
    double total = 0;
    for (size_t i = 0; i < n * n; i++) total += a[i] * a[i];
    int sweep;
    for (sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) off += 2 * a[p * n + q] * a[p * n + q];
        if (off <= 1e-30 * total || off == 0) break;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++) {
                double apq = a[p * n + q];
                if (apq == 0) continue;
                double th = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                double t = (th >= 0 ? 1.0 : -1.0) / (fabs(th) + sqrt(th * th + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (size_t k = 0; k < n; k++) { /* A <- A J */
                    double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (size_t k = 0; k < n; k++) { /* A <- J^T A */
                    double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for (size_t k = 0; k < n; k++) { /* V <- V J, kept as rows of V^T */
                    double vp = v[p * n + k], vq = v[q * n + k];
                    v[p * n + k] = c * vp - s * vq;
                    v[q * n + k] = s * vp + c * vq;
                }
            }
    }
    if (sweep == 100) {
        sl__free(a), sl__free(v);
        return sl__fail(SL_ERR_NUMERIC, "eigh_ref: Jacobi sweeps did not converge");
    }
    for (size_t i = 0; i < n; i++) w[i] = a[i * n + i];
    sort_and_sign(w, v, n);
    memcpy(v_out, v, n * n * sizeof *v);
    sl__free(a), sl__free(v);
    return SL_OK;
}

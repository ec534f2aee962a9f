/* The objectives without negatives that work on the statistics of the batch:
 * Barlow Twins (Zbontar et al. 2021: the cross-correlation of the two views'
 * standardised embeddings pulled to the identity) and VICReg (Bardes et al.
 * 2022: invariance, variance and covariance terms). Both take the two views
 * as InfoNCE does, z = [view 1 of items 0..N-1; view 2 of items 0..N-1].
 * The D x D products (cross-correlation, covariance, and their backward) go
 * through sl_gemm, or plain double loops in exact mode; everything else runs
 * in double on the calling thread. */
#include "loss_impl.h"

#include <math.h>
#include <string.h>

/* Barlow Twins standardises each column as BatchNorm1d(affine=False) does in
 * training (biased variance, eps inside the root); VICReg's standard
 * deviation is sqrt(unbiased variance + eps). */
#define BARLOW_EPS 1e-5
#define VICREG_EPS 1e-4

/* C (D x D) = X^T Y, X and Y N x D in double (float copies in fast mode). */
static sl_status xt_y(const double *X, const double *Y, size_t N, size_t D, bool exact, sl_loss_workspace *ws,
                      double *C) {
    if (exact) {
        memset(C, 0, D * D * sizeof *C);
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < D; j++) {
                double x = X[i * D + j];
                const double *yi = Y + i * D;
                double *cj = C + j * D;
                for (size_t k = 0; k < D; k++) cj[k] += x * yi[k];
            }
        return SL_OK;
    }
    sl__ws_mark mk = sl__ws_get_mark(ws);
    float *Xf = sl__ws_alloc(ws, N * D, sizeof(float), "loss: standardised embeddings");
    float *Yf = X == Y ? Xf : sl__ws_alloc(ws, N * D, sizeof(float), "loss: standardised embeddings");
    float *Cf = sl__ws_alloc(ws, D * D, sizeof(float), "loss: correlation matrix");
    if (!Xf || !Yf || !Cf) return SL_ERR_NOMEM;
    for (size_t k = 0; k < N * D; k++) Xf[k] = (float)X[k];
    if (Yf != Xf)
        for (size_t k = 0; k < N * D; k++) Yf[k] = (float)Y[k];
    sl_gemm(true, false, D, D, N, 1.0f, Xf, D, Yf, D, 0.0f, Cf, D);
    for (size_t k = 0; k < D * D; k++) C[k] = Cf[k];
    sl__ws_pop(ws, mk);
    return SL_OK;
}

/* P (N x D) = c * X op(G), op(G) = G or G^T (D x D). */
static sl_status x_g(const double *X, const double *G, bool trans, double c, size_t N, size_t D, bool exact,
                     sl_loss_workspace *ws, double *P) {
    if (exact) {
        for (size_t i = 0; i < N; i++) {
            const double *xi = X + i * D;
            for (size_t k = 0; k < D; k++) {
                double s = 0;
                for (size_t j = 0; j < D; j++) s += xi[j] * (trans ? G[k * D + j] : G[j * D + k]);
                P[i * D + k] = c * s;
            }
        }
        return SL_OK;
    }
    sl__ws_mark mk = sl__ws_get_mark(ws);
    float *Xf = sl__ws_alloc(ws, N * D, sizeof(float), "loss: gradient");
    float *Gf = sl__ws_alloc(ws, D * D, sizeof(float), "loss: gradient");
    float *Pf = sl__ws_alloc(ws, N * D, sizeof(float), "loss: gradient");
    if (!Xf || !Gf || !Pf) return SL_ERR_NOMEM;
    for (size_t k = 0; k < N * D; k++) Xf[k] = (float)X[k];
    for (size_t k = 0; k < D * D; k++) Gf[k] = (float)G[k];
    sl_gemm(false, trans, N, D, D, (float)c, Xf, D, Gf, D, 0.0f, Pf, D);
    for (size_t k = 0; k < N * D; k++) P[k] = Pf[k];
    sl__ws_pop(ws, mk);
    return SL_OK;
}

/* Centre the columns of x (N x D) into X (double); with s non-NULL also
 * compute each column's standard deviation sqrt(sum x^2 / div + eps). */
static void centre(const float *x, size_t N, size_t D, double div, double eps, double *X, double *s) {
    for (size_t j = 0; j < D; j++) {
        double m = 0;
        for (size_t i = 0; i < N; i++) m += x[i * D + j];
        m /= (double)N;
        double v = 0;
        for (size_t i = 0; i < N; i++) {
            double c = (double)x[i * D + j] - m;
            X[i * D + j] = c;
            v += c * c;
        }
        if (s) s[j] = sqrt(v / div + eps);
    }
}

/* Subtract each column's mean from P (N x D): the backward of centring. */
static void uncentre(double *P, size_t N, size_t D) {
    for (size_t j = 0; j < D; j++) {
        double m = 0;
        for (size_t i = 0; i < N; i++) m += P[i * D + j];
        m /= (double)N;
        for (size_t i = 0; i < N; i++) P[i * D + j] -= m;
    }
}

static void add_grad(float *dz, const double *P, size_t nd) {
    for (size_t k = 0; k < nd; k++) dz[k] = (float)(dz[k] + P[k]);
}

/* The diagnostics every two-view objective reports: the share of rows whose
 * twin is the most cosine-similar of the other 2N - 1, and the mean cosine of
 * twins and of the other pairs. */
static sl_status twin_stats(const float *z, size_t n, size_t d, sl_loss_workspace *ws, sl_loss_result *r) {
    sl_loss_config cc;
    sl_loss_config_default(&cc, SL_OBJ_INFONCE);
    sl__ws_mark mk = sl__ws_get_mark(ws);
    sl__emb e;
    SL__TRY(sl__emb_init(&e, z, n, d, &cc, ws));
    double *S = sl__ws_alloc(ws, n * n, sizeof(double), "loss: similarity matrix");
    if (!S) return SL_ERR_NOMEM;
    SL__TRY(sl__sim_forward(&e, &e, S));
    size_t half = n / 2, correct = 0;
    double pos = 0, neg = 0;
    for (size_t i = 0; i < n; i++) {
        size_t t = (i + half) % n;
        double best = -INFINITY;
        for (size_t j = 0; j < n; j++)
            if (j != i && j != t) {
                neg += S[i * n + j];
                if (S[i * n + j] > best) best = S[i * n + j];
            }
        pos += S[i * n + t];
        correct += S[i * n + t] > best;
    }
    r->accuracy = (double)correct / (double)n;
    r->pos_sim = pos / (double)n;
    r->neg_sim = n > 2 ? neg / ((double)n * (double)(n - 2)) : 0.0;
    sl__ws_pop(ws, mk);
    return SL_OK;
}

static sl_status check_two_views(const char *fn, const float *z, size_t n, size_t d, sl_loss_result *out) {
    if (!out) return sl__fail(SL_ERR_ARG, "%s: no result pointer", fn);
    if (!z) return sl__fail(SL_ERR_ARG, "%s: the embeddings are NULL", fn);
    size_t nd;
    if (d == 0 || !sl_size_mul(n, d, &nd) || !sl_size_mul(d, d, &nd))
        return sl__fail(SL_ERR_ARG, "%s: %zu x %zu embeddings (expected d >= 1 and no overflow)", fn, n, d);
    if (n < 4 || n % 2)
        return sl__fail(SL_ERR_ARG, "%s: %zu rows; expected an even number >= 4 (two views of at least 2 items)", fn, n);
    return sl__loss_check_finite(z, n, d, fn);
}

/* Barlow Twins' gradient with respect to one view's standardised rows A
 * (dA = c * other op(G)) back through the standardisation into dz. */
static void barlow_side(const double *A, const double *dA, const double *s, size_t N, size_t D, float *dz) {
    for (size_t j = 0; j < D; j++) {
        double m1 = 0, m2 = 0;
        for (size_t i = 0; i < N; i++) {
            m1 += dA[i * D + j];
            m2 += dA[i * D + j] * A[i * D + j];
        }
        m1 /= (double)N, m2 /= (double)N;
        for (size_t i = 0; i < N; i++) {
            size_t k = i * D + j;
            dz[k] = (float)(dz[k] + (dA[k] - m1 - A[k] * m2) / s[j]);
        }
    }
}

sl_status sl__barlow(const sl_loss_config *cfg, const float *z, size_t n, size_t d, float *dz, sl_loss_result *out,
                     sl_loss_workspace *ws) {
    const char *fn = "barlow loss";
    if (!cfg) return sl__fail(SL_ERR_ARG, "%s: no configuration given", fn);
    if (!(cfg->barlow_lambda >= 0 && isfinite(cfg->barlow_lambda)))
        return sl__fail(SL_ERR_ARG, "%s: lambda %g must be finite and >= 0", fn, cfg->barlow_lambda);
    SL__TRY(check_two_views(fn, z, n, d, out));
    size_t N = n / 2, D = d;
    sl__ws_begin(ws);
    double *A = sl__ws_alloc(ws, n * D, sizeof(double), "loss: standardised embeddings");
    double *s = sl__ws_alloc(ws, 2 * D, sizeof(double), "loss: standard deviations");
    double *C = sl__ws_alloc(ws, D * D, sizeof(double), "loss: correlation matrix");
    double *P = sl__ws_alloc(ws, N * D, sizeof(double), "loss: gradient");
    if (!A || !s || !C || !P) return sl__fail_prefix(SL_ERR_NOMEM, "%s", fn);
    double *B = A + N * D;
    for (int v = 0; v < 2; v++) {
        double *X = v ? B : A, *sv = s + (size_t)v * D;
        centre(z + (size_t)v * N * D, N, D, (double)N, BARLOW_EPS, X, sv);
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < D; j++) X[i * D + j] /= sv[j];
    }
    SL__TRY(xt_y(A, B, N, D, cfg->exact, ws, C));
    double on = 0, off = 0, lam = cfg->barlow_lambda;
    for (size_t j = 0; j < D; j++)
        for (size_t k = 0; k < D; k++) {
            double c = C[j * D + k] / (double)N;
            /* C becomes G = d loss / d c (c = A^T B / N). */
            if (j == k) {
                on += (1 - c) * (1 - c);
                C[j * D + k] = -2 * (1 - c);
            } else {
                off += c * c;
                C[j * D + k] = 2 * lam * c;
            }
        }
    sl_loss_result r;
    memset(&r, 0, sizeof r);
    r.loss = on + lam * off;
    r.scale = 1;
    r.n_terms = N;
    SL__TRY(twin_stats(z, n, d, ws, &r));
    if (dz) {
        /* d loss / d A = B G^T / N, d loss / d B = A G / N. */
        SL__TRY(x_g(B, C, true, 1.0 / (double)N, N, D, cfg->exact, ws, P));
        barlow_side(A, P, s, N, D, dz);
        SL__TRY(x_g(A, C, false, 1.0 / (double)N, N, D, cfg->exact, ws, P));
        barlow_side(B, P, s + D, N, D, dz + N * D);
    }
    *out = r;
    return SL_OK;
}

/* VICReg's variance and covariance terms of one centred view X (N x D, with
 * its standard deviations s) and, with P non-NULL, their gradient with
 * respect to X into P. K is D x D scratch. Returns wv * var + wc * cov. */
static sl_status vicreg_side(const double *X, const double *s, size_t N, size_t D, double wv, double wc, bool exact,
                             sl_loss_workspace *ws, double *K, double *P, double *value) {
    double var = 0, cov = 0, nm1 = (double)(N - 1);
    for (size_t j = 0; j < D; j++)
        if (s[j] < 1) var += (1 - s[j]) / (2.0 * (double)D);
    SL__TRY(xt_y(X, X, N, D, exact, ws, K));
    for (size_t j = 0; j < D; j++)
        for (size_t k = 0; k < D; k++) {
            double c = K[j * D + k] / nm1;
            if (j == k) {
                K[j * D + k] = 0;
            } else {
                cov += c * c / (double)D;
                K[j * D + k] = 2 * c / (double)D; /* d cov / d c */
            }
        }
    *value = wv * var + wc * cov;
    if (!P) return SL_OK;
    /* d cov / d X = X (G + G^T) / (N - 1) = 2 X G / (N - 1), G symmetric. */
    SL__TRY(x_g(X, K, false, 2.0 * wc / nm1, N, D, exact, ws, P));
    for (size_t j = 0; j < D; j++) {
        if (!(s[j] < 1)) continue;
        /* d var / d X_ij = -1 / (2D) * d s_j / d X_ij = -X_ij / (2D (N - 1) s_j). */
        double f = -wv / (2.0 * (double)D * nm1 * s[j]);
        for (size_t i = 0; i < N; i++) P[i * D + j] += f * X[i * D + j];
    }
    uncentre(P, N, D);
    return SL_OK;
}

sl_status sl__vicreg(const sl_loss_config *cfg, const float *z, size_t n, size_t d, float *dz, sl_loss_result *out,
                     sl_loss_workspace *ws) {
    const char *fn = "vicreg loss";
    if (!cfg) return sl__fail(SL_ERR_ARG, "%s: no configuration given", fn);
    double wi = cfg->vicreg_inv, wv = cfg->vicreg_var, wc = cfg->vicreg_cov;
    if (!(wi >= 0 && isfinite(wi) && wv >= 0 && isfinite(wv) && wc >= 0 && isfinite(wc)))
        return sl__fail(SL_ERR_ARG, "%s: coefficients %g, %g, %g must be finite and >= 0", fn, wi, wv, wc);
    SL__TRY(check_two_views(fn, z, n, d, out));
    size_t N = n / 2, D = d;
    sl__ws_begin(ws);
    double *X = sl__ws_alloc(ws, n * D, sizeof(double), "loss: centred embeddings");
    double *s = sl__ws_alloc(ws, 2 * D, sizeof(double), "loss: standard deviations");
    double *K = sl__ws_alloc(ws, D * D, sizeof(double), "loss: covariance matrix");
    double *P = dz ? sl__ws_alloc(ws, N * D, sizeof(double), "loss: gradient") : NULL;
    double *dX = dz ? sl__ws_alloc(ws, n * D, sizeof(double), "loss: gradient") : NULL;
    if (!X || !s || !K || (dz && (!P || !dX))) return sl__fail_prefix(SL_ERR_NOMEM, "%s", fn);
    sl_loss_result r;
    memset(&r, 0, sizeof r);
    SL__TRY(twin_stats(z, n, d, ws, &r));
    /* Invariance: the mean squared difference of the twins. The gradient is
     * summed in double (dX) and added to dz once. */
    double inv = 0, side[2];
    const float *a = z, *b = z + N * D;
    double c = 2.0 * wi / (double)(N * D);
    for (size_t k = 0; k < N * D; k++) {
        double e = (double)a[k] - b[k];
        inv += e * e;
        if (dX) dX[k] = c * e, dX[N * D + k] = -c * e;
    }
    inv /= (double)(N * D);
    for (int v = 0; v < 2; v++) {
        double *Xv = X + (size_t)v * N * D, *sv = s + (size_t)v * D;
        centre(z + (size_t)v * N * D, N, D, (double)(N - 1), VICREG_EPS, Xv, sv);
        SL__TRY(vicreg_side(Xv, sv, N, D, wv, wc, cfg->exact, ws, K, P, &side[v]));
        if (dX)
            for (size_t k = 0; k < N * D; k++) dX[(size_t)v * N * D + k] += P[k];
    }
    if (dz) add_grad(dz, dX, n * D);
    r.loss = wi * inv + side[0] + side[1];
    r.scale = 1;
    r.n_terms = N;
    *out = r;
    return SL_OK;
}

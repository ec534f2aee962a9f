/* Linear SVMs trained in the dual by coordinate descent: one-vs-rest with the
 * hinge or squared hinge loss (Hsieh et al. 2008, with the shrinking of
 * inactive rows) and Crammer-Singer (Keerthi et al. 2008, one row's k
 * variables at a time). The bias is the weight of a constant feature. */
#include "simlearn/eval.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "testing.h"

void sl_svm_config_default(sl_svm_config *c) {
    memset(c, 0, sizeof *c);
    c->c = 1;
    c->loss = SL_SVM_SQUARED_HINGE;
    c->multi = SL_SVM_OVR;
    c->tol = 0.1;
    c->max_iter = 1000;
    c->bias = 1;
}

sl_status sl_svm_loss_parse(const char *name, sl_svm_loss *out) {
    if (name && strcmp(name, "squared-hinge") == 0) return *out = SL_SVM_SQUARED_HINGE, SL_OK;
    if (name && strcmp(name, "hinge") == 0) return *out = SL_SVM_HINGE, SL_OK;
    return sl__fail(SL_ERR_ARG, "unknown SVM loss '%s' (expected squared-hinge or hinge)", name ? name : "");
}

sl_status sl_svm_multi_parse(const char *name, sl_svm_multi *out) {
    if (name && strcmp(name, "ovr") == 0) return *out = SL_SVM_OVR, SL_OK;
    if (name && strcmp(name, "crammer-singer") == 0) return *out = SL_SVM_CRAMMER_SINGER, SL_OK;
    return sl__fail(SL_ERR_ARG, "unknown multi-class SVM '%s' (expected ovr or crammer-singer)", name ? name : "");
}

/* Four doubles, and four floats read from anywhere (GNU vector extensions:
 * element-wise operations, so every lane's sum is the same whatever the
 * vector width the compiler picks). */
typedef double v4d __attribute__((vector_size(32), aligned(8), may_alias));
typedef float v4f __attribute__((vector_size(16), aligned(4), may_alias));

/* A macro, not a function: a 32-byte vector may not cross a call in builds
 * without AVX (-Wpsabi). */
#define WIDEN(x) __builtin_convertvector(*(const v4f *)(x), v4d)

/* out[b] = w[b] . (x_i, bias) for m weight rows. Each row keeps four partial
 * sums in a fixed order, so its value does not depend on the rows computed
 * beside it (one-vs-rest problems give the same bits in any grouping). */
static void dots(double *const *w, size_t m, const float *xi, size_t d, double bias, double *out) {
    const size_t d4 = d & ~(size_t)3;
    for (size_t c0 = 0; c0 < m; c0 += 4) {
        const size_t mb = m - c0 < 4 ? m - c0 : 4;
        v4d p[4] = {{0}};
        for (size_t j = 0; j < d4; j += 4) {
            const v4d xv = WIDEN(xi + j);
            for (size_t b = 0; b < mb; b++) p[b] += *(const v4d *)(w[c0 + b] + j) * xv;
        }
        for (size_t b = 0; b < mb; b++) {
            const double *wb = w[c0 + b];
            double s = (p[b][0] + p[b][1]) + (p[b][2] + p[b][3]);
            for (size_t j = d4; j < d; j++) s += wb[j] * (double)xi[j];
            out[c0 + b] = s + wb[d] * bias;
        }
    }
}

/* w += a * (x_i, bias). */
static void axpy_row(double *w, double a, const float *xi, size_t d, double bias) {
    const size_t d4 = d & ~(size_t)3;
    const v4d av = {a, a, a, a};
    for (size_t j = 0; j < d4; j += 4) *(v4d *)(w + j) += av * WIDEN(xi + j);
    for (size_t j = d4; j < d; j++) w[j] += a * (double)xi[j];
    w[d] += a * bias;
}

/* |(x_i, bias)|^2 for every row. */
static void row_norms(const float *x, size_t n, size_t d, double bias, double *qd) {
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * d;
        double s = 0;
        for (size_t j = 0; j < d; j++) s += (double)xi[j] * (double)xi[j];
        qd[i] = s + bias * bias;
    }
}

/* One one-vs-rest problem's progress. Threads update different problems'
 * states at every row: the padding keeps two states' fields (the first 56
 * bytes) off a shared cache line. */
typedef struct ovr_state {
    size_t active, iters;                     /* rows not shrunk; passes made */
    double pgmax_old, pgmin_old, pgmax, pgmin; /* projected-gradient bounds: last pass's, this pass's */
    bool done, converged;
    char pad[128 - 2 * sizeof(size_t) - 4 * sizeof(double) - 2 * sizeof(bool)];
} ovr_state;

/* Row i of problem q (label yi, dual variable *a, w . x_i = dv): shrinks it
 * (Hsieh et al. 2008) or takes its coordinate step, updating w. */
static void ovr_row(ovr_state *q, uint8_t *act, double *a, double yi, double dv, double qdi, double diag,
                    double upper, double *w, const float *xi, size_t d, double bias) {
    double g = yi * dv - 1 + *a * diag, pg = 0;
    if (*a == 0) {
        if (g > q->pgmax_old) { /* at its bound and likely to stay there */
            *act = 0, q->active--;
            return;
        }
        if (g < 0) pg = g;
    } else if (*a == upper) {
        if (g < q->pgmin_old) {
            *act = 0, q->active--;
            return;
        }
        if (g > 0) pg = g;
    } else {
        pg = g;
    }
    q->pgmax = fmax(q->pgmax, pg), q->pgmin = fmin(q->pgmin, pg);
    if (fabs(pg) > 1e-12) {
        double old = *a, h = qdi + diag;
        *a = h > 0 ? fmin(fmax(old - g / h, 0), upper) : old;
        if (*a != old) axpy_row(w, (*a - old) * yi, xi, d, bias);
    }
}

/* After a pass (act: the problem's n flags): stop when the bounds meet the
 * tolerance over every row; when they meet it over the active rows only,
 * bring every row back. */
static void ovr_end_pass(ovr_state *q, uint8_t *act, size_t n, double tol) {
    q->iters++;
    if (q->pgmax - q->pgmin <= tol || q->active == 0) {
        if (q->active == n) {
            q->done = q->converged = true;
            return;
        }
        memset(act, 1, n);
        q->active = n, q->pgmax_old = INFINITY, q->pgmin_old = -INFINITY;
        return;
    }
    q->pgmax_old = q->pgmax > 0 ? q->pgmax : INFINITY;
    q->pgmin_old = q->pgmin < 0 ? q->pgmin : -INFINITY;
}

/* The rows come in random order, so the hardware cannot guess the next one:
 * ask for row i (its features, flags and dual variables) SVM_AHEAD rows
 * before it is needed. */
#define SVM_AHEAD 6
static inline void prefetch_row(const float *x, size_t d, size_t i, const uint8_t *act, const double *alpha,
                                size_t n, const size_t *live, size_t nlive, size_t t, size_t nt) {
    const char *p = (const char *)(x + i * d), *end = (const char *)(x + i * d + d);
    for (; p < end; p += 64) __builtin_prefetch(p);
    __builtin_prefetch(end - 1);
    for (size_t q = t; q < nlive; q += nt) __builtin_prefetch(act + live[q] * n + i), __builtin_prefetch(alpha + live[q] * n + i);
}

/* One pass over the rows in perm for the problems live[t], live[t + nt], ...
 * (a thread's share): each row is read once for all of them that still use
 * it. w: problem j's weights at w + j * stride. on, wl, dv: this thread's
 * workspace (nc each). */
static void ovr_pass(const sl_svm_config *c, const float *x, const int32_t *y, const double *qd, size_t n, size_t d,
                     const size_t *cls, size_t stride, const size_t *live, size_t nlive, size_t t, size_t nt, double *w,
                     double *alpha, uint8_t *act, ovr_state *s, const size_t *perm, size_t *on, double **wl,
                     double *dv) {
    const double diag = c->loss == SL_SVM_SQUARED_HINGE ? 0.5 / c->c : 0;
    const double upper = c->loss == SL_SVM_SQUARED_HINGE ? INFINITY : c->c;
    for (size_t r = 0; r < n; r++) {
        size_t i = perm[r], m = 0;
        if (r + SVM_AHEAD < n) prefetch_row(x, d, perm[r + SVM_AHEAD], act, alpha, n, live, nlive, t, nt);
        for (size_t q = t; q < nlive; q += nt)
            if (act[live[q] * n + i]) on[m] = live[q], wl[m++] = w + live[q] * stride;
        if (m == 0) continue;
        const float *xi = x + i * d;
        dots(wl, m, xi, d, c->bias, dv);
        for (size_t b = 0; b < m; b++) {
            size_t j = on[b];
            ovr_row(&s[j], &act[j * n + i], &alpha[j * n + i], (size_t)y[i] == cls[j] ? 1 : -1, dv[b], qd[i], diag,
                    upper, wl[b], xi, d, c->bias);
        }
    }
}

/* The one-vs-rest problems of classes cls (nc of them; class cls[j] against
 * the rest): wk's rows cls[j] (d + 1 each) and alpha (nc x n) out, with each
 * problem's passes and convergence. Each pass deals the problems still
 * running round-robin to the threads. Every problem visits the rows in the
 * same seeded order each pass, so its result does not depend on the problems
 * solved beside it or on the thread count. */
sl_status sl__svm_ovr(const sl_svm_config *c, const float *x, const int32_t *y, const double *qd, size_t n, size_t d,
                      const size_t *cls, size_t nc, double *wk, double *alpha, size_t *iters, bool *converged) {
    size_t nt = (size_t)omp_get_max_threads();
    if (nt > nc) nt = nc;
    uint8_t *act = sl__malloc_array(nc, n, "SVM");
    size_t *perm = sl__malloc_array(n, sizeof *perm, "SVM"), *on = sl__malloc_array(nt * nc, sizeof *on, "SVM");
    size_t *live = sl__malloc_array(nc, sizeof *live, "SVM");
    ovr_state *s = sl__calloc(nc, sizeof *s);
    double **wl = sl__malloc_array(nt * nc, sizeof *wl, "SVM"), *dv = sl__malloc_array(nt * nc, sizeof *dv, "SVM");
    /* Each problem's weights in a stretch of whole cache lines with a spare
     * line after it: threads write different problems' weights (the bias
     * weight at every step), never on a line they share. */
    const size_t stride = ((d + 1 + 7) & ~(size_t)7) + 8;
    double *ws = sl__calloc(nc * stride + 8, sizeof *ws);
    sl_status st = act && perm && on && live && s && wl && dv && ws ? SL_OK : SL_ERR_NOMEM;
    double *w0 = ws ? ws + (8 - ((uintptr_t)ws / sizeof *ws) % 8) % 8 : NULL; /* 64-byte aligned */
    if (st == SL_OK) {
        memset(act, 1, nc * n);
        memset(alpha, 0, nc * n * sizeof *alpha);
        for (size_t j = 0; j < nc; j++) s[j] = (ovr_state){.active = n, .pgmax_old = INFINITY, .pgmin_old = -INFINITY};
        for (size_t i = 0; i < n; i++) perm[i] = i;
        sl_rng rng;
        sl_rng_seed(&rng, c->seed, 0);
        for (size_t pass = 0; pass < c->max_iter; pass++) {
            if (c->stop && *c->stop) {
                st = SL_ERR_INTERRUPTED;
                break;
            }
            size_t nlive = 0;
            for (size_t j = 0; j < nc; j++)
                if (!s[j].done) live[nlive++] = j, s[j].pgmax = -INFINITY, s[j].pgmin = INFINITY;
            if (nlive == 0) break;
            sl_rng_shuffle(&rng, perm, n, sizeof *perm);
            const size_t use = nlive < nt ? nlive : nt;
#pragma omp parallel for num_threads((int)use) schedule(static, 1)
            for (size_t t = 0; t < use; t++)
                ovr_pass(c, x, y, qd, n, d, cls, stride, live, nlive, t, use, w0, alpha, act, s, perm, on + t * nc,
                         wl + t * nc, dv + t * nc);
            for (size_t q = 0; q < nlive; q++) ovr_end_pass(&s[live[q]], act + live[q] * n, n, c->tol);
        }
        for (size_t j = 0; j < nc; j++) {
            iters[j] = s[j].iters, converged[j] = s[j].converged;
            memcpy(wk + cls[j] * (d + 1), w0 + j * stride, (d + 1) * sizeof *wk);
        }
    }
    sl__free(act), sl__free(perm), sl__free(on), sl__free(live), sl__free(s), sl__free(wl), sl__free(dv), sl__free(ws);
    return st;
}

/* The k variables of one row (Keerthi et al. 2008): minimise
 * 1/2 a sum_m t_m^2 + sum_m b_m t_m subject to t_m <= cap_m and sum_m t_m = 0,
 * where cap is C for the row's class and 0 otherwise. dsort: k of workspace. */
static void cs_subproblem(double a, const double *b, size_t k, size_t yi, double cap, double *t, double *dsort) {
    for (size_t m = 0; m < k; m++) dsort[m] = b[m];
    dsort[yi] += a * cap;
    /* Descending insertion sort: k is the number of classes. */
    for (size_t m = 1; m < k; m++) {
        double v = dsort[m];
        size_t j = m;
        while (j > 0 && dsort[j - 1] < v) dsort[j] = dsort[j - 1], j--;
        dsort[j] = v;
    }
    double beta = dsort[0] - a * cap;
    size_t r = 1;
    while (r < k && beta < (double)r * dsort[r]) beta += dsort[r++];
    beta /= (double)r;
    for (size_t m = 0; m < k; m++) t[m] = fmin(m == yi ? cap : 0, (beta - b[m]) / a);
}

/* Crammer-Singer: theta (k x (d + 1), each class's weights then its bias
 * weight) and alpha (n x k) out. */
sl_status sl__svm_cs(const sl_svm_config *c, const float *x, const int32_t *y, const double *qd, size_t n, size_t d,
                     size_t k, double *wk, double *alpha, size_t *idx, size_t *iters, bool *converged) {
    const size_t dp = d + 1;
    double *g = sl__malloc_array(4 * k, sizeof *g, "SVM"), **wl = sl__malloc_array(k, sizeof *wl, "SVM");
    if (!g || !wl) return sl__free(g), sl__free(wl), SL_ERR_NOMEM;
    double *b = g + k, *t = b + k, *ds = t + k;
    for (size_t m = 0; m < k; m++) wl[m] = wk + m * dp;
    sl_rng rng;
    sl_rng_seed(&rng, c->seed, 0);
    memset(wk, 0, k * dp * sizeof *wk);
    memset(alpha, 0, n * k * sizeof *alpha);
    for (size_t i = 0; i < n; i++) idx[i] = i;
    size_t it = 0;
    *converged = false;
    sl_status st = SL_OK;
    while (it < c->max_iter) {
        if (c->stop && *c->stop) {
            st = SL_ERR_INTERRUPTED;
            break;
        }
        sl_rng_shuffle(&rng, idx, n, sizeof *idx);
        double worst = 0;
        for (size_t s = 0; s < n; s++) {
            size_t i = idx[s], yi = (size_t)y[i];
            const float *xi = x + i * d;
            double *ai = alpha + i * k, a = qd[i];
            if (!(a > 0)) continue;
            double gmax = -INFINITY, gmin = INFINITY;
            dots(wl, k, xi, d, c->bias, g);
            for (size_t m = 0; m < k; m++) {
                g[m] += m == yi ? 0 : 1;
                gmax = fmax(gmax, g[m]);
                if (ai[m] < (m == yi ? c->c : 0)) gmin = fmin(gmin, g[m]);
            }
            if (gmax - gmin <= 1e-12) continue;
            worst = fmax(worst, gmax - gmin);
            for (size_t m = 0; m < k; m++) b[m] = g[m] - a * ai[m];
            cs_subproblem(a, b, k, yi, c->c, t, ds);
            for (size_t m = 0; m < k; m++)
                if (t[m] != ai[m]) {
                    axpy_row(wk + m * dp, t[m] - ai[m], xi, d, c->bias);
                    ai[m] = t[m];
                }
        }
        it++;
        if (worst <= c->tol) {
            *converged = true;
            break;
        }
    }
    sl__free(g), sl__free(wl);
    *iters = it;
    return st;
}

static sl_status check_svm_args(const sl_svm_config *c, const float *x, const int32_t *y, size_t n, size_t d,
                                size_t k) {
    if (!x || !y || n == 0 || d == 0) return sl__fail(SL_ERR_ARG, "svm: no rows or no features");
    if (k < 2) return sl__fail(SL_ERR_ARG, "svm: needs at least 2 classes, got %zu", k);
    if (!(c->c > 0) || !isfinite(c->c)) return sl__fail(SL_ERR_ARG, "svm: C must be a finite number > 0, got %g", c->c);
    if (!(c->tol > 0) || !isfinite(c->tol))
        return sl__fail(SL_ERR_ARG, "svm: the tolerance must be a finite number > 0, got %g", c->tol);
    if (!isfinite(c->bias) || c->bias < 0) return sl__fail(SL_ERR_ARG, "svm: the bias feature must be >= 0, got %g", c->bias);
    if (c->max_iter == 0) return sl__fail(SL_ERR_ARG, "svm: max_iter must be at least 1");
    if ((unsigned)c->loss > SL_SVM_HINGE || (unsigned)c->multi > SL_SVM_CRAMMER_SINGER)
        return sl__fail(SL_ERR_ARG, "svm: unknown loss or multi-class scheme");
    for (size_t i = 0; i < n; i++) {
        if (y[i] < 0 || (size_t)y[i] >= k)
            return sl__fail(SL_ERR_ARG, "svm: row %zu has class id %d, outside [0, %zu)", i, (int)y[i], k);
        for (size_t j = 0; j < d; j++)
            if (!isfinite(x[i * d + j]))
                return sl__fail(SL_ERR_NUMERIC, "svm: row %zu, column %zu is not a finite number", i, j);
    }
    return SL_OK;
}

/* W (k x d) then b (k) from per-class rows of d + 1 weights. */
static void unpack(const double *wk, size_t k, size_t d, double bias, double *theta) {
    for (size_t m = 0; m < k; m++) {
        memcpy(theta + m * d, wk + m * (d + 1), d * sizeof *theta);
        theta[k * d + m] = wk[m * (d + 1) + d] * bias;
    }
}

/* One-vs-rest (two classes: one problem: class 1 against class 0). */
static sl_status fit_ovr(const sl_svm_config *c, const float *x, const int32_t *y, const double *qd, size_t n,
                         size_t d, size_t k, double *wk, sl_svm_report *rep) {
    const size_t np = k == 2 ? 1 : k;
    size_t *cls = sl__malloc_array(np, sizeof *cls, "SVM"), *iters = sl__calloc(np, sizeof *iters);
    bool *conv = sl__calloc(np, sizeof *conv);
    double *alpha = sl__malloc_array(np, n * sizeof *alpha, "SVM");
    sl_status st = cls && iters && conv && alpha ? SL_OK : SL_ERR_NOMEM;
    for (size_t p = 0; st == SL_OK && p < np; p++) cls[p] = k == 2 ? 1 : p;
    if (st == SL_OK) st = sl__svm_ovr(c, x, y, qd, n, d, cls, np, wk, alpha, iters, conv);
    if (st == SL_OK && k == 2)
        for (size_t j = 0; j <= d; j++) wk[j] = -wk[(d + 1) + j];
    if (st == SL_OK && rep) {
        rep->iterations = rep->unconverged = 0;
        for (size_t p = 0; p < np; p++) {
            if (iters[p] > rep->iterations) rep->iterations = iters[p];
            rep->unconverged += !conv[p];
        }
    }
    sl__free(cls), sl__free(iters), sl__free(conv), sl__free(alpha);
    return st;
}

sl_status sl_svm_fit(const sl_svm_config *cfg, const float *x, const int32_t *y, size_t n, size_t d, size_t k,
                     double *theta, sl_svm_report *rep) {
    sl_svm_config defc;
    if (!cfg) sl_svm_config_default(&defc), cfg = &defc;
    SL__TRY(check_svm_args(cfg, x, y, n, d, k));
    size_t nk;
    if (!sl_size_mul(n, k, &nk) || !sl_size_mul(k, d + 1, &(size_t){0}))
        return sl__fail(SL_ERR_RANGE, "svm: %zu rows x %zu classes is too large", n, k);
    double *qd = sl__malloc_array(n, sizeof *qd, "SVM");
    double *wk = sl__malloc_array(k * (d + 1), sizeof *wk, "SVM");
    sl_status st = qd && wk ? SL_OK : SL_ERR_NOMEM;
    if (st == SL_OK) row_norms(x, n, d, cfg->bias, qd);
    if (st == SL_OK && cfg->multi == SL_SVM_OVR) {
        st = fit_ovr(cfg, x, y, qd, n, d, k, wk, rep);
    } else if (st == SL_OK) {
        double *alpha = sl__malloc_array(nk, sizeof *alpha, "SVM");
        size_t *idx = sl__malloc_array(n, sizeof *idx, "SVM");
        size_t it = 0;
        bool conv = false;
        st = alpha && idx ? sl__svm_cs(cfg, x, y, qd, n, d, k, wk, alpha, idx, &it, &conv) : SL_ERR_NOMEM;
        if (st == SL_OK && rep) rep->iterations = it, rep->unconverged = !conv;
        sl__free(alpha), sl__free(idx);
    }
    if (st == SL_OK) unpack(wk, k, d, cfg->bias, theta);
    sl__free(qd), sl__free(wk);
    if (st == SL_ERR_NOMEM && !sl_error_message()[0]) sl__fail(SL_ERR_NOMEM, "svm: out of memory");
    if (st == SL_ERR_INTERRUPTED) sl__fail(st, "svm: interrupted");
    return st;
}

/* ---- the naive twin ------------------------------------------------------ */

static double ref_dot(const double *w, const float *xi, size_t d, double bias) {
    double s = 0;
    for (size_t j = 0; j < d; j++) s += w[j] * (double)xi[j];
    return s + w[d] * bias;
}

static void ref_axpy(double *w, double a, const float *xi, size_t d, double bias) {
    for (size_t j = 0; j < d; j++) w[j] += a * (double)xi[j];
    w[d] += a * bias;
}

/* One-vs-rest problem `cls` (two classes: class 1), every row every pass. */
static void ref_binary(const sl_svm_config *c, const float *x, const int32_t *y, size_t n, size_t d, size_t cls,
                       double *w, double *alpha, size_t *idx) {
    const double diag = c->loss == SL_SVM_SQUARED_HINGE ? 0.5 / c->c : 0;
    const double upper = c->loss == SL_SVM_SQUARED_HINGE ? INFINITY : c->c;
    sl_rng rng;
    sl_rng_seed(&rng, c->seed, cls);
    for (size_t i = 0; i < n; i++) idx[i] = i, alpha[i] = 0;
    for (size_t it = 0; it < c->max_iter; it++) {
        sl_rng_shuffle(&rng, idx, n, sizeof *idx);
        double pgmax = -INFINITY, pgmin = INFINITY;
        for (size_t s = 0; s < n; s++) {
            size_t i = idx[s];
            const float *xi = x + i * d;
            double yi = (size_t)y[i] == cls ? 1 : -1;
            double g = yi * ref_dot(w, xi, d, c->bias) - 1 + alpha[i] * diag;
            double pg = alpha[i] == 0 ? fmin(g, 0) : alpha[i] == upper ? fmax(g, 0) : g;
            pgmax = fmax(pgmax, pg), pgmin = fmin(pgmin, pg);
            double q = diag + c->bias * c->bias;
            for (size_t j = 0; j < d; j++) q += (double)xi[j] * (double)xi[j];
            double old = alpha[i];
            if (pg != 0 && q > 0) alpha[i] = fmin(fmax(old - g / q, 0), upper);
            ref_axpy(w, (alpha[i] - old) * yi, xi, d, c->bias);
        }
        if (pgmax - pgmin <= c->tol) break;
    }
}

sl_status sl__svm_fit_ref(const sl_svm_config *c, const float *x, const int32_t *y, size_t n, size_t d, size_t k,
                          double *theta) {
    SL__TRY(check_svm_args(c, x, y, n, d, k));
    if (c->multi != SL_SVM_OVR) return sl__fail(SL_ERR_ARG, "svm ref: one-vs-rest only");
    double *wk = sl__calloc(k * (d + 1), sizeof *wk), *alpha = sl__calloc(n, sizeof *alpha);
    size_t *idx = sl__calloc(n, sizeof *idx);
    sl_status st = wk && alpha && idx ? SL_OK : SL_ERR_NOMEM;
    if (st == SL_OK) {
        for (size_t m = k == 2 ? 1 : 0; m < k; m++) ref_binary(c, x, y, n, d, m, wk + m * (d + 1), alpha, idx);
        if (k == 2)
            for (size_t j = 0; j <= d; j++) wk[j] = -wk[d + 1 + j];
        unpack(wk, k, d, c->bias, theta);
    }
    sl__free(wk), sl__free(alpha), sl__free(idx);
    return st;
}

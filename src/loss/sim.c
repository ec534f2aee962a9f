/* Similarity matrices between two sets of embeddings (dot, cosine, negative
 * squared L2) and their backward pass. The O(n m d) products go through
 * sl_gemm; everything around them runs in double. */
#include "loss_impl.h"

#include <math.h>
#include <string.h>

sl_status sl__loss_check_finite(const float *x, size_t n, size_t d, const char *what) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            if (!isfinite(x[i * d + j]))
                return sl__fail(SL_ERR_NUMERIC, "%s: row %zu, column %zu is %g (expected a finite value)", what, i,
                                j, (double)x[i * d + j]);
    return SL_OK;
}

sl_status sl__emb_init(sl__emb *e, const float *x, size_t n, size_t d, const sl_loss_config *cfg,
                       sl_loss_workspace *ws) {
    memset(e, 0, sizeof *e);
    e->n = n;
    e->d = d;
    e->sim = cfg->sim;
    e->exact = cfg->exact;
    e->x = x;
    e->ws = ws;
    size_t nd;
    if (!sl_size_mul(n, d, &nd)) return sl__fail(SL_ERR_ARG, "loss: %zu x %zu embeddings overflow", n, d);
    e->u = sl__ws_alloc(ws, n * d, sizeof(double), "loss: embeddings");
    if (!e->u) return SL_ERR_NOMEM;
    if (cfg->sim != SL_SIM_DOT) {
        e->nrm = sl__ws_alloc(ws, n, sizeof(double), "loss: norms");
        e->tiny = sl__ws_calloc(ws, n, sizeof(bool), "loss: norms");
        if (!e->nrm || !e->tiny) return SL_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * d;
        double *ui = e->u + i * d, s = 0;
        for (size_t k = 0; k < d; k++) s += (double)xi[k] * xi[k];
        if (cfg->sim == SL_SIM_COSINE) {
            /* Clamping the norm from below keeps zero vectors finite: they map
             * to the zero vector, whose similarity to everything is 0. */
            double r = sqrt(s);
            if (r < cfg->eps) {
                r = cfg->eps;
                e->tiny[i] = true;
            }
            e->nrm[i] = r;
            for (size_t k = 0; k < d; k++) ui[k] = xi[k] / r;
        } else {
            if (e->nrm) e->nrm[i] = s;
            for (size_t k = 0; k < d; k++) ui[k] = xi[k];
        }
    }
    if (!cfg->exact) {
        if (cfg->sim == SL_SIM_COSINE) {
            float *uf = sl__ws_alloc(ws, n * d, sizeof(float), "loss: normalised embeddings");
            if (!uf) return SL_ERR_NOMEM;
            for (size_t k = 0; k < n * d; k++) uf[k] = (float)e->u[k];
            e->uf = uf;
        } else {
            e->uf = x;
        }
    }
    return SL_OK;
}

/* P (rows x d) = op(G) * U, op(G) = G (rows x cols, stride ldg) or its
 * transpose (G is then cols x rows). In fast mode the product is one float
 * sl_gemm on a float copy of G; in exact mode plain double loops. */
static sl_status product(const double *G, size_t ldg, bool trans, size_t rows, size_t cols, const sl__emb *o,
                         double *P) {
    size_t d = o->d;
    if (o->exact) {
        memset(P, 0, rows * d * sizeof *P);
        for (size_t i = 0; i < rows; i++) {
            double *pi = P + i * d;
            for (size_t j = 0; j < cols; j++) {
                double g = trans ? G[j * ldg + i] : G[i * ldg + j];
                if (g == 0) continue;
                const double *uj = o->u + j * d;
                for (size_t k = 0; k < d; k++) pi[k] += g * uj[k];
            }
        }
        return SL_OK;
    }
    size_t gsz = trans ? cols * ldg : rows * ldg;
    sl__ws_mark mk = sl__ws_get_mark(o->ws);
    float *Gf = sl__ws_alloc(o->ws, gsz, sizeof(float), "loss: gradient matrix");
    float *Pf = sl__ws_alloc(o->ws, rows * d, sizeof(float), "loss: gradient product");
    if (!Gf || !Pf) return SL_ERR_NOMEM;
    for (size_t k = 0; k < gsz; k++) Gf[k] = (float)G[k];
    sl_gemm(trans, false, rows, d, cols, 1.0f, Gf, ldg, o->uf, d, 0.0f, Pf, d);
    for (size_t k = 0; k < rows * d; k++) P[k] = Pf[k];
    sl__ws_pop(o->ws, mk);
    return SL_OK;
}

sl_status sl__sim_forward(const sl__emb *a, const sl__emb *b, double *S) {
    size_t n = a->n, m = b->n, d = a->d;
    if (a->exact) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) {
                const double *ui = a->u + i * d, *vj = b->u + j * d;
                double s = 0;
                for (size_t k = 0; k < d; k++) s += ui[k] * vj[k];
                S[i * m + j] = s;
            }
    } else {
        sl__ws_mark mk = sl__ws_get_mark(a->ws);
        float *Sf = sl__ws_alloc(a->ws, n * m, sizeof(float), "loss: similarity matrix");
        if (!Sf) return SL_ERR_NOMEM;
        sl_gemm(false, true, n, m, d, 1.0f, a->uf, d, b->uf, d, 0.0f, Sf, m);
        for (size_t k = 0; k < n * m; k++) S[k] = Sf[k];
        sl__ws_pop(a->ws, mk);
    }
    if (a->sim == SL_SIM_L2) {
        /* -|a-b|^2 = 2 a.b - |a|^2 - |b|^2; the norms are exact doubles. */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) S[i * m + j] = 2 * S[i * m + j] - a->nrm[i] - b->nrm[j];
        if (a == b)
            for (size_t i = 0; i < n; i++) S[i * m + i] = 0;
    }
    return SL_OK;
}

/* Add d loss / d x for one side, given P = op(G) * U_other (d loss / d u) and
 * the row sums of op(G) (needed by l2). */
static void side_finish(const sl__emb *e, const double *P, const double *rowsum, float *dx) {
    size_t d = e->d;
    for (size_t i = 0; i < e->n; i++) {
        const double *pi = P + i * d, *ui = e->u + i * d;
        float *gi = dx + i * d;
        if (e->sim == SL_SIM_DOT) {
            for (size_t k = 0; k < d; k++) gi[k] = (float)(gi[k] + pi[k]);
        } else if (e->sim == SL_SIM_L2) {
            for (size_t k = 0; k < d; k++) gi[k] = (float)(gi[k] + 2 * pi[k] - 2 * rowsum[i] * ui[k]);
        } else {
            /* u = x / r: du/dx = (I - u u^T) / r while |x| >= eps; below eps
             * r is the constant eps and du/dx = I / eps. */
            double r = e->nrm[i], proj = 0;
            if (!e->tiny[i])
                for (size_t k = 0; k < d; k++) proj += ui[k] * pi[k];
            for (size_t k = 0; k < d; k++) gi[k] = (float)(gi[k] + (pi[k] - proj * ui[k]) / r);
        }
    }
}

static sl_status side_backward(const sl__emb *e, const sl__emb *o, const double *G, size_t ldg, bool trans,
                               float *dx) {
    size_t rows = e->n, cols = o->n;
    sl__ws_mark mk = sl__ws_get_mark(e->ws);
    double *P = sl__ws_alloc(e->ws, rows * e->d, sizeof(double), "loss: gradient");
    double *rs = sl__ws_calloc(e->ws, rows, sizeof(double), "loss: gradient");
    if (!P || !rs) return SL_ERR_NOMEM;
    sl_status st = product(G, ldg, trans, rows, cols, o, P);
    if (st == SL_OK) {
        if (e->sim == SL_SIM_L2)
            for (size_t i = 0; i < rows; i++)
                for (size_t j = 0; j < cols; j++) rs[i] += trans ? G[j * ldg + i] : G[i * ldg + j];
        side_finish(e, P, rs, dx);
    }
    sl__ws_pop(e->ws, mk);
    return st;
}

sl_status sl__sim_backward(const sl__emb *a, const sl__emb *b, double *G, float *da, float *db) {
    size_t n = a->n, m = b->n;
    if (a == b) {
        if (!da) return SL_OK;
        /* S is a function of the rows twice over (as left and right factor),
         * so d loss / d u = (G + G^T) U; G is symmetrised in place. */
        for (size_t i = 0; i < n; i++) {
            G[i * n + i] *= 2;
            for (size_t j = i + 1; j < n; j++) G[i * n + j] = G[j * n + i] = G[i * n + j] + G[j * n + i];
        }
        return side_backward(a, a, G, n, false, da);
    }
    if (da) SL__TRY(side_backward(a, b, G, m, false, da));
    if (db) SL__TRY(side_backward(b, a, G, m, true, db));
    return SL_OK;
}

double sl__softmax_row(const double *l, size_t m, size_t skip, double w, double *g) {
    double mx = -INFINITY;
    for (size_t j = 0; j < m; j++)
        if (j != skip && l[j] > mx) mx = l[j];
    double s = 0;
    for (size_t j = 0; j < m; j++) {
        if (j == skip) {
            g[j] = 0;
            continue;
        }
        g[j] = exp(l[j] - mx);
        s += g[j];
    }
    double inv = w / s;
    for (size_t j = 0; j < m; j++) g[j] *= inv;
    return mx + log(s);
}

double sl__ce_row(const double *l, size_t m, size_t skip, size_t t, double w, double *g) {
    double mx = -INFINITY;
    for (size_t j = 0; j < m; j++)
        if (j != skip && l[j] > mx) mx = l[j];
    double others = 0, et = exp(l[t] - mx);
    for (size_t j = 0; j < m; j++) {
        if (j == skip) {
            g[j] = 0;
            continue;
        }
        g[j] = j == t ? et : exp(l[j] - mx);
        if (j != t) others += g[j];
    }
    double s = et + others, inv = w / s;
    for (size_t j = 0; j < m; j++) g[j] *= inv;
    g[t] -= w;
    /* -log(et / s) = log1p(others / et) keeps a loss of 1e-30 from rounding
     * to 0 when the target dominates; when it is far below the maximum the
     * plain form is exact enough and avoids overflowing others / et. */
    if (l[t] - mx > -600) return log1p(others / et);
    return (mx - l[t]) + log(s);
}

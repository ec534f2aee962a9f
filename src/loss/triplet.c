/* The triplet family on a labelled batch: hinge over all valid triplets,
 * batch-hard (hardest positive and negative per anchor) and the smooth
 * soft-plus version. Distances come from the configured similarity. */
#include "loss_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Distance from similarity: dot -> -s, cosine -> 1 - s, l2 -> -s (the squared
 * Euclidean distance). In all three d D / d S = -1. */
static double dist_of(sl_similarity sim, double s) { return sim == SL_SIM_COSINE ? 1.0 - s : -s; }

typedef struct {
    sl__emb e;
    double *S;  /* n x n similarities */
    double *D;  /* n x n distances */
    double *GD; /* n x n: d loss / d D, turned into d loss / d S at the end */
} tri_work;

static void tri_free(tri_work *w) {
    sl__emb_free(&w->e);
    sl__free(w->S);
    sl__free(w->D);
    sl__free(w->GD);
}

static sl_status tri_init(tri_work *w, const sl_loss_config *cfg, const char *fn, const float *z,
                          const int32_t *labels, size_t n, size_t d, sl_loss_result *out, bool uses_tau) {
    memset(w, 0, sizeof *w);
    SL__TRY(sl__check_config(cfg, fn, uses_tau));
    if (!out || !labels || !z) return sl__fail(SL_ERR_ARG, "%s: NULL embeddings, labels or result", fn);
    if (n == 0 || d == 0) return sl__fail(SL_ERR_ARG, "%s: empty batch (%zu x %zu)", fn, n, d);
    size_t nn, nd;
    if (!sl_mul_size(n, n, &nn) || !sl_mul_size(nn, sizeof(double), &nd) || !sl_mul_size(n, d, &nd))
        return sl__fail(SL_ERR_ARG, "%s: a batch of %zu rows is too large", fn, n);
    SL__TRY(sl__check_finite(z, n, d, fn));
    SL__TRY(sl__emb_init(&w->e, z, n, d, cfg));
    w->S = sl__malloc_array(nn, sizeof(double), "loss: similarity matrix");
    w->D = sl__malloc_array(nn, sizeof(double), "loss: distance matrix");
    w->GD = sl__calloc(nn, sizeof(double));
    if (!w->S || !w->D || !w->GD) {
        tri_free(w);
        return sl__fail(SL_ERR_NOMEM, "%s: cannot allocate the %zu x %zu distance scratch", fn, n, n);
    }
    sl_status st = sl__sim_forward(&w->e, &w->e, w->S);
    if (st != SL_OK) {
        tri_free(w);
        return st;
    }
    for (size_t k = 0; k < nn; k++) w->D[k] = dist_of(cfg->sim, w->S[k]);
    return SL_OK;
}

/* Diagnostics shared by the three: mean similarity of positive and negative
 * pairs, and the share of anchors (with both kinds) whose nearest other row
 * is a positive. */
static void tri_diag(const tri_work *w, const int32_t *labels, size_t n, sl_loss_result *r) {
    double pos = 0, neg = 0;
    size_t npos = 0, nneg = 0, anchors = 0, correct = 0;
    for (size_t a = 0; a < n; a++) {
        double bp = -INFINITY, bn = -INFINITY;
        bool hp = false, hn = false;
        for (size_t j = 0; j < n; j++) {
            if (j == a) continue;
            double s = w->S[a * n + j];
            if (labels[j] == labels[a]) {
                pos += s;
                npos++;
                hp = true;
                if (s > bp) bp = s;
            } else {
                neg += s;
                nneg++;
                hn = true;
                if (s > bn) bn = s;
            }
        }
        if (hp && hn) {
            anchors++;
            correct += bp > bn;
        }
    }
    r->pos_sim = npos ? pos / (double)npos : 0.0;
    r->neg_sim = nneg ? neg / (double)nneg : 0.0;
    r->accuracy = anchors ? (double)correct / (double)anchors : 0.0;
}

/* Send d loss / d D back: d loss / d S = -d loss / d D. */
static sl_status tri_backward(tri_work *w, size_t n, float *dz) {
    for (size_t k = 0; k < n * n; k++) w->GD[k] = -w->GD[k];
    return sl__sim_backward(&w->e, &w->e, w->GD, dz, NULL);
}

typedef struct {
    double v;
    size_t i;
} vi;

static int vi_cmp(const void *pa, const void *pb) {
    const vi *a = pa, *b = pb;
    if (a->v < b->v) return -1;
    if (a->v > b->v) return 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* First index in sorted v[0..m) whose value is >= x (strict: > x). */
static size_t lower(const double *v, size_t m, double x, bool strict) {
    size_t lo = 0, hi = m;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strict ? v[mid] <= x : v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

sl_status sl_loss_triplet(const sl_loss_config *cfg, const float *z, const int32_t *labels, size_t n, size_t d,
                          float *dz, sl_loss_result *out) {
    const char *fn = "triplet loss";
    tri_work w;
    SL__TRY(tri_init(&w, cfg, fn, z, labels, n, d, out, false));
    sl_status st = SL_OK;
    /* The sum over negatives is done in O(n log n) per anchor: with the
     * negative distances sorted, the active negatives of a positive p are a
     * prefix (D_an < D_ap + m) whose size and sum come from prefix sums, and
     * the positives that activate a negative are a suffix of the sorted
     * thresholds t_p = D_ap + m. Both use the same comparison Q < t, so value
     * and gradient agree exactly on which terms are active. */
    vi *P = sl__malloc_array(n, sizeof(vi), "loss: positives");
    vi *Q = sl__malloc_array(n, sizeof(vi), "loss: negatives");
    double *t = sl__malloc_array(n, sizeof(double), "loss: thresholds");
    double *q = sl__malloc_array(n, sizeof(double), "loss: negative distances");
    double *pre = sl__malloc_array(n + 1, sizeof(double), "loss: prefix sums");
    if (!P || !Q || !t || !q || !pre) {
        st = sl__fail(SL_ERR_NOMEM, "%s: cannot allocate the sort scratch", fn);
        goto done;
    }
    double total = 0; /* number of valid triplets */
    for (size_t a = 0; a < n; a++) {
        size_t np = 0;
        for (size_t j = 0; j < n; j++) np += j != a && labels[j] == labels[a];
        size_t nq = 0;
        for (size_t j = 0; j < n; j++) nq += labels[j] != labels[a];
        total += (double)np * (double)nq;
    }
    double loss = 0;
    size_t active = 0;
    for (size_t a = 0; a < n && total > 0; a++) {
        size_t np = 0, nq = 0;
        const double *Da = w.D + a * n;
        for (size_t j = 0; j < n; j++) {
            if (j == a) continue;
            if (labels[j] == labels[a])
                P[np++] = (vi){Da[j], j};
            else
                Q[nq++] = (vi){Da[j], j};
        }
        if (np == 0 || nq == 0) continue;
        qsort(P, np, sizeof *P, vi_cmp);
        qsort(Q, nq, sizeof *Q, vi_cmp);
        pre[0] = 0;
        for (size_t k = 0; k < nq; k++) {
            q[k] = Q[k].v;
            pre[k + 1] = pre[k] + q[k];
        }
        for (size_t k = 0; k < np; k++) t[k] = P[k].v + cfg->margin;
        double *Ga = w.GD + a * n;
        for (size_t k = 0; k < np; k++) {
            size_t c = lower(q, nq, t[k], false); /* negatives with q < t */
            loss += (double)c * t[k] - pre[c];
            active += c;
            Ga[P[k].i] += (double)c / total;
        }
        for (size_t k = 0; k < nq; k++) {
            size_t c = np - lower(t, np, q[k], true); /* thresholds t > q */
            Ga[Q[k].i] -= (double)c / total;
        }
    }
    sl_loss_result r;
    memset(&r, 0, sizeof r);
    r.scale = 1;
    r.loss = total > 0 ? loss / total : 0.0;
    r.n_terms = (size_t)total;
    r.n_active = active;
    tri_diag(&w, labels, n, &r);
    if (dz && active) st = tri_backward(&w, n, dz);
    if (st == SL_OK) *out = r;
done:
    sl__free(P);
    sl__free(Q);
    sl__free(t);
    sl__free(q);
    sl__free(pre);
    tri_free(&w);
    return st;
}

sl_status sl_loss_triplet_hard(const sl_loss_config *cfg, const float *z, const int32_t *labels, size_t n,
                               size_t d, float *dz, sl_loss_result *out) {
    const char *fn = "triplet-hard loss";
    tri_work w;
    SL__TRY(tri_init(&w, cfg, fn, z, labels, n, d, out, false));
    sl_status st = SL_OK;
    size_t anchors = 0, active = 0;
    for (size_t a = 0; a < n; a++) {
        bool hp = false, hn = false;
        for (size_t j = 0; j < n; j++) {
            if (j != a && labels[j] == labels[a]) hp = true;
            if (labels[j] != labels[a]) hn = true;
        }
        anchors += hp && hn;
    }
    double loss = 0;
    for (size_t a = 0; a < n && anchors; a++) {
        const double *Da = w.D + a * n;
        size_t ip = SIZE_MAX, in = SIZE_MAX;
        /* Ties go to the lowest index, so the choice is deterministic. */
        for (size_t j = 0; j < n; j++) {
            if (j == a) continue;
            if (labels[j] == labels[a]) {
                if (ip == SIZE_MAX || Da[j] > Da[ip]) ip = j;
            } else if (in == SIZE_MAX || Da[j] < Da[in]) {
                in = j;
            }
        }
        if (ip == SIZE_MAX || in == SIZE_MAX) continue;
        double x = (Da[ip] + cfg->margin) - Da[in];
        if (x > 0) {
            loss += x;
            active++;
            w.GD[a * n + ip] += 1.0 / (double)anchors;
            w.GD[a * n + in] -= 1.0 / (double)anchors;
        }
    }
    sl_loss_result r;
    memset(&r, 0, sizeof r);
    r.scale = 1;
    r.loss = anchors ? loss / (double)anchors : 0.0;
    r.n_terms = anchors;
    r.n_active = active;
    tri_diag(&w, labels, n, &r);
    if (dz && active) st = tri_backward(&w, n, dz);
    if (st == SL_OK) *out = r;
    tri_free(&w);
    return st;
}

sl_status sl_loss_triplet_smooth(const sl_loss_config *cfg, const float *z, const int32_t *labels, size_t n,
                                 size_t d, float *dz, sl_loss_result *out) {
    const char *fn = "triplet-smooth loss";
    tri_work w;
    SL__TRY(tri_init(&w, cfg, fn, z, labels, n, d, out, true));
    sl_status st = SL_OK;
    double scale = sl_loss_scale(cfg);
    double *x = sl__malloc_array(n, sizeof(double), "loss: margins");
    double *g = sl__malloc_array(n, sizeof(double), "loss: softmax");
    size_t *neg = sl__malloc_array(n, sizeof(size_t), "loss: negatives");
    if (!x || !g || !neg) {
        st = sl__fail(SL_ERR_NOMEM, "%s: cannot allocate scratch", fn);
        goto done;
    }
    size_t pairs = 0;
    for (size_t a = 0; a < n; a++) {
        size_t np = 0, nq = 0;
        for (size_t j = 0; j < n; j++) {
            np += j != a && labels[j] == labels[a];
            nq += labels[j] != labels[a];
        }
        if (nq) pairs += np;
    }
    /* f = softplus(L) / scale with L = logsumexp_n(scale * x_n) and
     * x_n = D_ap - D_an + m; df/dx_n = sigmoid(L) softmax_n, and
     * d f / d log_scale = sigmoid(L) sum_n softmax_n x_n - f. */
    double loss = 0, dlog = 0;
    for (size_t a = 0; a < n && pairs; a++) {
        const double *Da = w.D + a * n;
        size_t nq = 0;
        for (size_t j = 0; j < n; j++)
            if (labels[j] != labels[a]) neg[nq++] = j;
        if (nq == 0) continue;
        for (size_t p = 0; p < n; p++) {
            if (p == a || labels[p] != labels[a]) continue;
            for (size_t k = 0; k < nq; k++) x[k] = scale * (Da[p] - Da[neg[k]] + cfg->margin);
            double L = sl__softmax_row(x, nq, SIZE_MAX, 1.0, g);
            double f = sl__softplus(L) / scale, sg = sl__sigmoid(L), ex = 0;
            loss += f;
            double c = sg / (double)pairs;
            for (size_t k = 0; k < nq; k++) {
                ex += g[k] * x[k] / scale;
                w.GD[a * n + neg[k]] -= c * g[k];
            }
            w.GD[a * n + p] += c;
            dlog += sg * ex - f;
        }
    }
    sl_loss_result r;
    memset(&r, 0, sizeof r);
    r.scale = scale;
    r.loss = pairs ? loss / (double)pairs : 0.0;
    r.n_terms = pairs;
    if (pairs && cfg->learnable_tau && !sl__scale_clamped(cfg)) r.dlog_scale = dlog / (double)pairs;
    tri_diag(&w, labels, n, &r);
    if (dz && pairs) st = tri_backward(&w, n, dz);
    if (st == SL_OK) *out = r;
done:
    sl__free(x);
    sl__free(g);
    sl__free(neg);
    tri_free(&w);
    return st;
}

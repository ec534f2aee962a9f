/* The triplet family on a labelled batch: hinge over all valid triplets,
 * batch-hard (hardest positive and negative per anchor) and the smooth
 * soft-plus version. Distances come from the configured similarity. */
#include "loss_impl.h"

#include <math.h>
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

static sl_status tri_init(tri_work *w, const sl_loss_config *cfg, const char *fn, const float *z,
                          const int32_t *labels, size_t n, size_t d, sl_loss_result *out, bool uses_tau,
                          sl_loss_workspace *ws) {
    memset(w, 0, sizeof *w);
    SL__TRY(sl__check_config(cfg, fn, uses_tau));
    if (!out || !labels || !z) return sl__fail(SL_ERR_ARG, "%s: NULL embeddings, labels or result", fn);
    if (n == 0 || d == 0) return sl__fail(SL_ERR_ARG, "%s: empty batch (%zu x %zu)", fn, n, d);
    size_t nn, nd;
    if (!sl_size_mul(n, n, &nn) || !sl_size_mul(nn, sizeof(double), &nd) || !sl_size_mul(n, d, &nd))
        return sl__fail(SL_ERR_ARG, "%s: a batch of %zu rows is too large", fn, n);
    SL__TRY(sl__loss_check_finite(z, n, d, fn));
    sl__ws_begin(ws);
    SL__TRY(sl__emb_init(&w->e, z, n, d, cfg, ws));
    w->S = sl__ws_alloc(ws, nn, sizeof(double), "loss: similarity matrix");
    w->D = sl__ws_alloc(ws, nn, sizeof(double), "loss: distance matrix");
    w->GD = sl__ws_calloc(ws, nn, sizeof(double), "loss: distance gradient");
    if (!w->S || !w->D || !w->GD) return sl__fail_prefix(SL_ERR_NOMEM, "%s", fn);
    SL__TRY(sl__sim_forward(&w->e, &w->e, w->S));
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

/* The common end of the three variants: diagnostics, then d(embeddings) when
 * asked for and any term is active; the result is published only on success. */
static sl_status tri_finish(tri_work *w, const int32_t *labels, size_t n, sl_loss_result *r, bool any, float *dz,
                            sl_loss_result *out) {
    tri_diag(w, labels, n, r);
    sl_status st = dz && any ? tri_backward(w, n, dz) : SL_OK;
    if (st == SL_OK) *out = *r;
    return st;
}

/* Ascending sort of doubles (finite values): quicksort with a median-of-three
 * pivot, insertion sort below 16 elements, recursion on the smaller side.
 * Only values are sorted, so ties cannot make the result depend on the
 * algorithm. */
static void sort_doubles(double *v, size_t n) {
    while (n > 16) {
        size_t mid = n / 2;
        double a = v[0], b = v[mid], c = v[n - 1];
        double piv = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t i = 0, j = n - 1;
        for (;;) {
            while (v[i] < piv) i++;
            while (v[j] > piv) j--;
            if (i >= j) break;
            double tmp = v[i];
            v[i] = v[j];
            v[j] = tmp;
            i++;
            j--;
        }
        /* v[0..j] <= piv <= v[j+1..n) */
        size_t left = j + 1;
        if (left < n - left) {
            sort_doubles(v, left);
            v += left;
            n -= left;
        } else {
            sort_doubles(v + left, n - left);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++) {
        double x = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
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

static sl_status triplet_all(const sl_loss_config *cfg, const float *z, const int32_t *labels, size_t n, size_t d,
                             float *dz, sl_loss_result *out, sl_loss_workspace *ws) {
    const char *fn = "triplet loss";
    tri_work w;
    SL__TRY(tri_init(&w, cfg, fn, z, labels, n, d, out, false, ws));
    /* The sum over negatives is done in O(n log n) per anchor: with the
     * negative distances sorted, the active negatives of a positive p are a
     * prefix (D_an < D_ap + m) whose size and sum come from prefix sums, and
     * the positives that activate a negative are a suffix of the sorted
     * thresholds t_p = D_ap + m. Both use the same comparison Q < t, so value
     * and gradient agree exactly on which terms are active. */
    size_t *pidx = sl__ws_alloc(ws, n, sizeof(size_t), "loss: positives");
    size_t *nidx = sl__ws_alloc(ws, n, sizeof(size_t), "loss: negatives");
    double *t = sl__ws_alloc(ws, n, sizeof(double), "loss: thresholds");
    double *ts = sl__ws_alloc(ws, n, sizeof(double), "loss: sorted thresholds");
    double *qv = sl__ws_alloc(ws, n, sizeof(double), "loss: negative distances");
    double *qs = sl__ws_alloc(ws, n, sizeof(double), "loss: sorted negative distances");
    double *pre = sl__ws_alloc(ws, n + 1, sizeof(double), "loss: prefix sums");
    if (!pidx || !nidx || !t || !ts || !qv || !qs || !pre) return sl__fail_prefix(SL_ERR_NOMEM, "%s", fn);
    double total = 0; /* number of valid triplets */
    for (size_t a = 0; a < n; a++) {
        size_t np = 0, nq = 0;
        for (size_t j = 0; j < n; j++) {
            np += j != a && labels[j] == labels[a];
            nq += labels[j] != labels[a];
        }
        total += (double)np * (double)nq;
    }
    double loss = 0;
    size_t active = 0;
    for (size_t a = 0; a < n && total > 0; a++) {
        size_t np = 0, nq = 0;
        const double *Da = w.D + a * n;
        for (size_t j = 0; j < n; j++) {
            if (j == a) continue;
            if (labels[j] == labels[a]) {
                pidx[np] = j;
                t[np] = ts[np] = Da[j] + cfg->margin;
                np++;
            } else {
                nidx[nq] = j;
                qv[nq] = qs[nq] = Da[j];
                nq++;
            }
        }
        if (np == 0 || nq == 0) continue;
        sort_doubles(ts, np);
        sort_doubles(qs, nq);
        pre[0] = 0;
        for (size_t k = 0; k < nq; k++) pre[k + 1] = pre[k] + qs[k];
        double *Ga = w.GD + a * n;
        for (size_t k = 0; k < np; k++) {
            size_t c = lower(qs, nq, t[k], false); /* negatives with q < t */
            loss += (double)c * t[k] - pre[c];
            active += c;
            Ga[pidx[k]] += (double)c / total;
        }
        for (size_t k = 0; k < nq; k++) {
            size_t c = np - lower(ts, np, qv[k], true); /* thresholds t > q */
            Ga[nidx[k]] -= (double)c / total;
        }
    }
    sl_loss_result r;
    memset(&r, 0, sizeof r);
    r.scale = 1;
    r.loss = total > 0 ? loss / total : 0.0;
    r.n_terms = (size_t)total;
    r.n_active = active;
    return tri_finish(&w, labels, n, &r, active > 0, dz, out);
}

static sl_status triplet_hard(const sl_loss_config *cfg, const float *z, const int32_t *labels, size_t n, size_t d,
                              float *dz, sl_loss_result *out, sl_loss_workspace *ws) {
    const char *fn = "triplet-hard loss";
    tri_work w;
    SL__TRY(tri_init(&w, cfg, fn, z, labels, n, d, out, false, ws));
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
    return tri_finish(&w, labels, n, &r, active > 0, dz, out);
}

static sl_status triplet_smooth(const sl_loss_config *cfg, const float *z, const int32_t *labels, size_t n, size_t d,
                                float *dz, sl_loss_result *out, sl_loss_workspace *ws) {
    const char *fn = "triplet-smooth loss";
    tri_work w;
    SL__TRY(tri_init(&w, cfg, fn, z, labels, n, d, out, true, ws));
    double scale = sl_loss_scale(cfg);
    double *x = sl__ws_alloc(ws, n, sizeof(double), "loss: negative logits");
    double *g = sl__ws_alloc(ws, n, sizeof(double), "loss: softmax");
    size_t *neg = sl__ws_alloc(ws, n, sizeof(size_t), "loss: negatives");
    if (!x || !g || !neg) return sl__fail_prefix(SL_ERR_NOMEM, "%s", fn);
    size_t pairs = 0;
    for (size_t a = 0; a < n; a++) {
        size_t np = 0, nq = 0;
        for (size_t j = 0; j < n; j++) {
            np += j != a && labels[j] == labels[a];
            nq += labels[j] != labels[a];
        }
        if (nq) pairs += np;
    }
    /* Per (a, p): f = softplus(L) / scale, L = logsumexp_n(scale * x_n),
     * x_n = D_ap - D_an + m. Since x_n splits into a part of p and a part of
     * n, L = scale (D_ap + m) + C_a with C_a = logsumexp_n(-scale D_an), and
     * the softmax over negatives is the same for every p: the anchor costs
     * O(n), not O(n^2). Derivatives: df/dD_ap = sigmoid(L), df/dD_an =
     * -sigmoid(L) softmax_n, and d f / d log_scale = sigmoid(L) (D_ap + m -
     * E_softmax[D_an]) - f. */
    double loss = 0, dlog = 0;
    for (size_t a = 0; a < n && pairs; a++) {
        const double *Da = w.D + a * n;
        size_t nq = 0;
        for (size_t j = 0; j < n; j++)
            if (labels[j] != labels[a]) {
                x[nq] = -scale * Da[j];
                neg[nq++] = j;
            }
        if (nq == 0) continue;
        double C = sl__softmax_row(x, nq, SIZE_MAX, 1.0, g), mean_neg = 0, sig_sum = 0;
        for (size_t k = 0; k < nq; k++) mean_neg += g[k] * Da[neg[k]];
        for (size_t p = 0; p < n; p++) {
            if (p == a || labels[p] != labels[a]) continue;
            double L = scale * (Da[p] + cfg->margin) + C;
            double f = sl__softplus(L) / scale, sg = sl__sigmoid(L);
            loss += f;
            sig_sum += sg;
            w.GD[a * n + p] += sg / (double)pairs;
            dlog += sg * (Da[p] + cfg->margin - mean_neg) - f;
        }
        for (size_t k = 0; k < nq; k++) w.GD[a * n + neg[k]] -= sig_sum * g[k] / (double)pairs;
    }
    sl_loss_result r;
    memset(&r, 0, sizeof r);
    r.scale = scale;
    r.loss = pairs ? loss / (double)pairs : 0.0;
    r.n_terms = pairs;
    if (pairs && cfg->learnable_tau && !sl__scale_clamped(cfg)) r.dlog_scale = dlog / (double)pairs;
    return tri_finish(&w, labels, n, &r, pairs > 0, dz, out);
}

sl_status sl__triplet(const sl_loss_config *cfg, sl_objective variant, const float *z, const int32_t *labels,
                      size_t n, size_t d, float *dz, sl_loss_result *out, sl_loss_workspace *ws) {
    if (variant == SL_OBJ_TRIPLET_HARD) return triplet_hard(cfg, z, labels, n, d, dz, out, ws);
    if (variant == SL_OBJ_TRIPLET_SMOOTH) return triplet_smooth(cfg, z, labels, n, d, dz, out, ws);
    return triplet_all(cfg, z, labels, n, d, dz, out, ws);
}

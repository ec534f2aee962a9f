/* The objectives whose targets come from elsewhere and get no gradient:
 * SimSiam and BYOL (a prediction pulled to a target embedding by cosine
 * similarity; Chen & He 2021, Grill et al. 2020) and the queue objectives,
 * MoCo and the memory bank (each query against its own key and a set of
 * negatives held outside the batch; He et al. 2020, Wu et al. 2018). */
#include "loss_impl.h"

#include <math.h>
#include <string.h>

static sl_status check_rows(const char *fn, const char *what, const float *x, size_t n, size_t d) {
    if (!x) return sl__fail(SL_ERR_ARG, "%s: %s are NULL", fn, what);
    size_t nd;
    if (n == 0 || d == 0 || !sl_size_mul(n, d, &nd))
        return sl__fail(SL_ERR_ARG, "%s: %s: %zu x %zu (expected non-empty, no overflow)", fn, what, n, d);
    char w[96];
    snprintf(w, sizeof w, "%s: %s", fn, what);
    return sl__loss_check_finite(x, n, d, w);
}

/* SimSiam: loss = mean_i -cos(p_i, t_i); BYOL: mean_i (2 - 2 cos(p_i, t_i)).
 * Only p gets a gradient. */
sl_status sl__predict(const sl_loss_config *cfg, const float *p, const float *tg, size_t n, size_t d, float *dp,
                      sl_loss_result *out) {
    const char *fn = cfg && cfg->objective == SL_OBJ_BYOL ? "byol loss" : "simsiam loss";
    if (!cfg || !out) return sl__fail(SL_ERR_ARG, "%s: no configuration or result", fn);
    SL__TRY(check_rows(fn, "predictions", p, n, d));
    SL__TRY(check_rows(fn, "targets", tg, n, d));
    double a = cfg->objective == SL_OBJ_BYOL ? 2.0 : 0.0, b = cfg->objective == SL_OBJ_BYOL ? -2.0 : -1.0;
    double sum = 0, eps = cfg->eps > 0 ? cfg->eps : 1e-8;
    for (size_t i = 0; i < n; i++) {
        const float *pi = p + i * d, *ti = tg + i * d;
        double pp = 0, tt = 0, pt = 0;
        for (size_t k = 0; k < d; k++) {
            pp += (double)pi[k] * pi[k];
            tt += (double)ti[k] * ti[k];
            pt += (double)pi[k] * ti[k];
        }
        /* Norms clamped from below as everywhere: cos = p.t / (max(|p|, eps) max(|t|, eps)). */
        double np = fmax(sqrt(pp), eps), nt = fmax(sqrt(tt), eps), c = pt / (np * nt);
        sum += c;
        if (!dp) continue;
        /* d cos / d p = (t / nt - cos p / np) / np while |p| >= eps, else t / (nt eps). */
        double w = b / (double)n, pr = sqrt(pp) >= eps ? c / np : 0.0;
        float *gi = dp + i * d;
        for (size_t k = 0; k < d; k++) gi[k] = (float)(gi[k] + w * ((double)ti[k] / nt - pr * pi[k]) / np);
    }
    sl_loss_result r;
    memset(&r, 0, sizeof r);
    r.loss = a + b * sum / (double)n;
    r.scale = 1;
    r.pos_sim = sum / (double)n;
    r.n_terms = n;
    *out = r;
    return SL_OK;
}

/* MoCo, memory bank: q (n x d) queries; b (n + m rows): row i the key of
 * query i, then the m negatives every query shares. logits_i = scale *
 * [s(q_i, b_i), s(q_i, b_{n+j})]; loss = mean_i CE(logits_i, 0). The other
 * queries' keys are not candidates. Only q gets a gradient. */
sl_status sl__queue_loss(const sl_loss_config *cfg, const float *q, const float *b, size_t n, size_t m, size_t d,
                         float *dq, sl_loss_result *out, sl_loss_workspace *ws) {
    const char *fn = cfg && cfg->objective == SL_OBJ_MEMORY_BANK ? "memory-bank loss" : "moco loss";
    SL__TRY(sl__check_config(cfg, fn, true));
    if (!out) return sl__fail(SL_ERR_ARG, "%s: no result pointer", fn);
    SL__TRY(check_rows(fn, "queries", q, n, d));
    SL__TRY(check_rows(fn, "keys and negatives", b, n + m, d));
    size_t cols = n + m, nm;
    if (!sl_size_mul(n, cols, &nm) || !sl_size_mul(nm, sizeof(double), &nm))
        return sl__fail(SL_ERR_ARG, "%s: a %zu x %zu similarity matrix is too large", fn, n, cols);
    sl__ws_begin(ws);
    sl__emb eq, eb;
    SL__TRY(sl__emb_init(&eq, q, n, d, cfg, ws));
    SL__TRY(sl__emb_init(&eb, b, cols, d, cfg, ws));
    double *S = sl__ws_alloc(ws, n * cols, sizeof(double), "loss: similarity matrix");
    double *G = sl__ws_calloc(ws, n * cols, sizeof(double), "loss: gradient matrix");
    double *row = sl__ws_alloc(ws, cols, sizeof(double), "loss: logits row");
    if (!S || !G || !row) return sl__fail_prefix(SL_ERR_NOMEM, "%s", fn);
    SL__TRY(sl__sim_forward(&eq, &eb, S));
    double scale = sl_loss_scale(cfg), loss = 0, pos = 0, neg = 0, dlog = 0;
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) {
        const double *si = S + i * cols;
        double best = -INFINITY;
        for (size_t j = 0; j < cols; j++) {
            bool cand = j == i || j >= n;
            row[j] = cand ? scale * si[j] : -INFINITY;
            if (j >= n) {
                neg += si[j];
                if (si[j] > best) best = si[j];
            }
        }
        pos += si[i];
        correct += si[i] > best;
        double *gi = G + i * cols;
        loss += sl__ce_row(row, cols, SIZE_MAX, i, 1.0 / (double)n, gi);
        for (size_t j = 0; j < cols; j++)
            if (gi[j] != 0) dlog += gi[j] * scale * si[j], gi[j] *= scale;
    }
    sl_loss_result r;
    memset(&r, 0, sizeof r);
    r.loss = loss / (double)n;
    r.scale = scale;
    r.accuracy = (double)correct / (double)n;
    r.pos_sim = pos / (double)n;
    r.neg_sim = m ? neg / ((double)n * (double)m) : 0.0;
    r.n_terms = n;
    r.dlog_scale = cfg->learnable_tau && !sl__scale_clamped(cfg) ? dlog : 0.0;
    if (dq) SL__TRY(sl__sim_backward(&eq, &eb, G, dq, NULL));
    *out = r;
    return SL_OK;
}

/* The softmax-shaped objectives: InfoNCE / NT-Xent, supervised contrastive,
 * CLIP's symmetric cross-entropy and softmax classification against class
 * embeddings. Each builds a similarity matrix, turns it into logits with the
 * temperature, and sends d loss / d logits back through the similarity. */
#include "loss_impl.h"

#include <math.h>
#include <string.h>

/* Scratch for one call: the embeddings, the similarity matrix S, the
 * gradient G = d loss / d S, and a row of logits. */
typedef struct {
    sl__emb ea, eb;
    double *S, *G, *row;
} work;

/* Prepare a (n x d) and, unless b is NULL, b (m x d); allocate S and G as
 * n x m and a row buffer of max(n, m). */
static sl_status work_init(work *w, const sl_loss_config *cfg, const char *fn, const float *a, size_t n,
                           const float *b, size_t m, size_t d, sl_loss_workspace *ws) {
    memset(w, 0, sizeof *w);
    size_t nm;
    if (!sl_size_mul(n, m, &nm) || !sl_size_mul(nm, sizeof(double), &nm))
        return sl__fail(SL_ERR_ARG, "%s: a %zu x %zu similarity matrix is too large", fn, n, m);
    sl__ws_begin(ws);
    SL__TRY(sl__emb_init(&w->ea, a, n, d, cfg, ws));
    if (b) SL__TRY(sl__emb_init(&w->eb, b, m, d, cfg, ws));
    size_t r = SL__MAX(n, m);
    w->S = sl__ws_alloc(ws, n * m, sizeof(double), "loss: similarity matrix");
    w->G = sl__ws_calloc(ws, n * m, sizeof(double), "loss: gradient matrix");
    w->row = sl__ws_alloc(ws, r, sizeof(double), "loss: logits row");
    if (!w->S || !w->G || !w->row) return sl__fail_prefix(SL_ERR_NOMEM, "%s", fn);
    return SL_OK;
}

static sl_status check_emb(const float *x, size_t n, size_t d, const char *what) {
    if (!x) return sl__fail(SL_ERR_ARG, "%s is NULL", what);
    if (n == 0 || d == 0) return sl__fail(SL_ERR_ARG, "%s: empty (%zu x %zu)", what, n, d);
    size_t nd;
    if (!sl_size_mul(n, d, &nd)) return sl__fail(SL_ERR_ARG, "%s: %zu x %zu overflows", what, n, d);
    return sl__loss_check_finite(x, n, d, what);
}

/* A result with its figures set and the rest zero. */
static sl_loss_result result_of(double loss, double scale, double accuracy, double pos_sim, double neg_sim,
                                size_t n_terms) {
    sl_loss_result r;
    memset(&r, 0, sizeof r);
    r.loss = loss;
    r.scale = scale;
    r.accuracy = accuracy;
    r.pos_sim = pos_sim;
    r.neg_sim = neg_sim;
    r.n_terms = n_terms;
    return r;
}

/* Turn G from d loss / d logits into d loss / d S (logits = scale * S) and
 * return d loss / d log_scale = sum_ij G_ij * logit_ij. */
static double to_sim_grad(const sl_loss_config *cfg, double scale, const double *S, double *G, size_t nm) {
    double dlog = 0;
    for (size_t k = 0; k < nm; k++) {
        if (G[k] == 0) continue;
        dlog += G[k] * scale * S[k];
        G[k] *= scale;
    }
    return cfg->learnable_tau && !sl__scale_clamped(cfg) ? dlog : 0.0;
}

sl_status sl__infonce(const sl_loss_config *cfg, const float *z, size_t n, size_t d, float *dz, sl_loss_result *out,
                      sl_loss_workspace *ws) {
    const char *fn = "infonce loss";
    SL__TRY(sl__check_config(cfg, fn, true));
    if (!out) return sl__fail(SL_ERR_ARG, "%s: no result pointer", fn);
    SL__TRY(check_emb(z, n, d, "infonce loss: embeddings"));
    if (n < 2 || n % 2)
        return sl__fail(SL_ERR_ARG, "%s: %zu rows; expected an even number >= 2 (two views of each item)", fn, n);
    work w;
    SL__TRY(work_init(&w, cfg, fn, z, n, NULL, n, d, ws));
    sl_status st = sl__sim_forward(&w.ea, &w.ea, w.S);
    if (st != SL_OK) goto done;
    double scale = sl_loss_scale(cfg), loss = 0, pos = 0, neg = 0;
    size_t half = n / 2, correct = 0;
    for (size_t i = 0; i < n; i++) {
        const double *si = w.S + i * n;
        size_t t = (i + half) % n;
        double best_neg = -INFINITY;
        for (size_t j = 0; j < n; j++) {
            w.row[j] = scale * si[j];
            if (j != i && j != t) {
                neg += si[j];
                if (si[j] > best_neg) best_neg = si[j];
            }
        }
        pos += si[t];
        correct += si[t] > best_neg;
        double *gi = w.G + i * n;
        loss += sl__ce_row(w.row, n, i, t, 1.0 / (double)n, gi);
    }
    sl_loss_result r = result_of(loss / (double)n, scale, (double)correct / (double)n, pos / (double)n,
                                 n > 2 ? neg / ((double)n * (double)(n - 2)) : 0.0, n);
    r.dlog_scale = to_sim_grad(cfg, scale, w.S, w.G, n * n);
    if (dz) st = sl__sim_backward(&w.ea, &w.ea, w.G, dz, NULL);
    if (st == SL_OK) *out = r;
done:
    return st;
}

sl_status sl__supcon(const sl_loss_config *cfg, const float *z, const int32_t *labels, size_t n, size_t d, float *dz,
                     sl_loss_result *out, sl_loss_workspace *ws) {
    const char *fn = "supcon loss";
    SL__TRY(sl__check_config(cfg, fn, true));
    if (!out || !labels) return sl__fail(SL_ERR_ARG, "%s: no result pointer or no labels", fn);
    SL__TRY(check_emb(z, n, d, "supcon loss: embeddings"));
    work w;
    SL__TRY(work_init(&w, cfg, fn, z, n, NULL, n, d, ws));
    sl_status st = sl__sim_forward(&w.ea, &w.ea, w.S);
    if (st != SL_OK) goto done;
    /* Anchors without a positive have no term; the mean runs over the rest. */
    size_t anchors = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (j != i && labels[j] == labels[i]) {
                anchors++;
                break;
            }
    double scale = sl_loss_scale(cfg), loss = 0, pos = 0, neg = 0;
    size_t npos = 0, nneg = 0, correct = 0;
    for (size_t i = 0; i < n; i++) {
        const double *si = w.S + i * n;
        size_t cnt = 0;
        double best_pos = -INFINITY, best_neg = -INFINITY, lpos = 0;
        for (size_t j = 0; j < n; j++) {
            w.row[j] = scale * si[j];
            if (j == i) continue;
            if (labels[j] == labels[i]) {
                cnt++;
                pos += si[j];
                lpos += w.row[j];
                if (si[j] > best_pos) best_pos = si[j];
            } else {
                neg += si[j];
                nneg++;
                if (si[j] > best_neg) best_neg = si[j];
            }
        }
        npos += cnt;
        if (cnt == 0 || n < 2) continue;
        correct += best_pos > best_neg;
        double wi = 1.0 / (double)anchors;
        double *gi = w.G + i * n;
        double lse = sl__softmax_row(w.row, n, i, wi, gi);
        for (size_t j = 0; j < n; j++)
            if (j != i && labels[j] == labels[i]) gi[j] -= wi / (double)cnt;
        loss += lse - lpos / (double)cnt;
    }
    sl_loss_result r = result_of(anchors ? loss / (double)anchors : 0.0, scale,
                                 anchors ? (double)correct / (double)anchors : 0.0, npos ? pos / (double)npos : 0.0,
                                 nneg ? neg / (double)nneg : 0.0, anchors);
    r.dlog_scale = to_sim_grad(cfg, scale, w.S, w.G, n * n);
    if (dz && anchors) st = sl__sim_backward(&w.ea, &w.ea, w.G, dz, NULL);
    if (st == SL_OK) *out = r;
done:
    return st;
}

/* One row s of C similarities whose target is column y: row gets the
 * logits scale * s and g the row's cross-entropy gradient (weight wgt),
 * returned as its loss term; s[y] is added to *pos and the others to *neg,
 * and *correct counts the row when s[y] is above every other entry. */
static double target_row(const double *s, size_t C, size_t y, double scale, double wgt, double *row, double *g,
                         double *pos, double *neg, size_t *correct) {
    double best = -INFINITY;
    for (size_t c = 0; c < C; c++) {
        row[c] = scale * s[c];
        if (c != y) {
            *neg += s[c];
            if (s[c] > best) best = s[c];
        }
    }
    *pos += s[y];
    *correct += s[y] > best;
    return sl__ce_row(row, C, SIZE_MAX, y, wgt, g);
}

sl_status sl__clip(const sl_loss_config *cfg, const float *img, const float *txt, size_t n, size_t d, float *dimg,
                   float *dtxt, sl_loss_result *out, sl_loss_workspace *ws) {
    const char *fn = "clip loss";
    SL__TRY(sl__check_config(cfg, fn, true));
    if (!out) return sl__fail(SL_ERR_ARG, "%s: no result pointer", fn);
    SL__TRY(check_emb(img, n, d, "clip loss: image embeddings"));
    SL__TRY(check_emb(txt, n, d, "clip loss: text embeddings"));
    work w;
    SL__TRY(work_init(&w, cfg, fn, img, n, txt, n, d, ws));
    sl_status st = sl__sim_forward(&w.ea, &w.eb, w.S);
    if (st != SL_OK) goto done;
    double scale = sl_loss_scale(cfg), loss = 0, pos = 0, neg = 0, wgt = 1.0 / (2.0 * (double)n);
    size_t correct = 0;
    /* Image -> text: rows of the logits. */
    for (size_t i = 0; i < n; i++)
        loss += target_row(w.S + i * n, n, i, scale, wgt, w.row, w.G + i * n, &pos, &neg, &correct);
    /* Text -> image: columns of the logits, read from a transposed copy so
     * the inner loops run along memory. */
    double *St = sl__ws_alloc(ws, n * n, sizeof(double), "loss: transposed similarities");
    double *Gt = sl__ws_alloc(ws, n * n, sizeof(double), "loss: transposed gradient");
    if (!St || !Gt) return sl__fail_prefix(SL_ERR_NOMEM, "%s", fn);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) St[j * n + i] = w.S[i * n + j];
    double pos_t = 0, neg_t = 0; /* not reported: the same sums as the rows' */
    for (size_t j = 0; j < n; j++)
        loss += target_row(St + j * n, n, j, scale, wgt, w.row, Gt + j * n, &pos_t, &neg_t, &correct);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) w.G[i * n + j] += Gt[j * n + i];
    sl_loss_result r = result_of(loss * wgt, scale, (double)correct / (2.0 * (double)n), pos / (double)n,
                                 n > 1 ? neg / ((double)n * (double)(n - 1)) : 0.0, n);
    r.dlog_scale = to_sim_grad(cfg, scale, w.S, w.G, n * n);
    if (dimg || dtxt) st = sl__sim_backward(&w.ea, &w.eb, w.G, dimg, dtxt);
    if (st == SL_OK) *out = r;
done:
    return st;
}

sl_status sl__softmax(const sl_loss_config *cfg, const float *z, const float *wc, const int32_t *labels, size_t n,
                      size_t n_classes, size_t d, float *dz, float *dw, sl_loss_result *out, sl_loss_workspace *ws) {
    const char *fn = "softmax loss";
    SL__TRY(sl__check_config(cfg, fn, true));
    if (!out || !labels) return sl__fail(SL_ERR_ARG, "%s: no result pointer or no labels", fn);
    SL__TRY(check_emb(z, n, d, "softmax loss: embeddings"));
    SL__TRY(check_emb(wc, n_classes, d, "softmax loss: class embeddings"));
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= n_classes)
            return sl__fail(SL_ERR_RANGE, "%s: label %d of row %zu is outside [0, %zu)", fn, (int)labels[i], i,
                            n_classes);
    work w;
    SL__TRY(work_init(&w, cfg, fn, z, n, wc, n_classes, d, ws));
    sl_status st = sl__sim_forward(&w.ea, &w.eb, w.S);
    if (st != SL_OK) goto done;
    size_t C = n_classes, correct = 0;
    double scale = sl_loss_scale(cfg), loss = 0, pos = 0, neg = 0, wgt = 1.0 / (double)n;
    for (size_t i = 0; i < n; i++)
        loss += target_row(w.S + i * C, C, (size_t)labels[i], scale, wgt, w.row, w.G + i * C, &pos, &neg, &correct);
    sl_loss_result r = result_of(loss * wgt, scale, (double)correct / (double)n, pos / (double)n,
                                 C > 1 ? neg / ((double)n * (double)(C - 1)) : 0.0, n);
    r.dlog_scale = to_sim_grad(cfg, scale, w.S, w.G, n * C);
    if (dz || dw) st = sl__sim_backward(&w.ea, &w.eb, w.G, dz, dw);
    if (st == SL_OK) *out = r;
done:
    return st;
}

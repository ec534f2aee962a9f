/* The loss module's front: objective and similarity names, default
 * configurations, the temperature clamp, input checks, the one dispatching
 * entry point, and the autoencoder's reconstruction error. */
#include "loss_impl.h"

#include <math.h>
#include <string.h>

static const char *const obj_names[SL_OBJ_COUNT] = {
    "infonce", "supcon", "triplet", "triplet-hard", "triplet-smooth", "clip", "autoencoder", "softmax", "mae",
    "barlow", "vicreg", "simsiam", "byol", "moco", "memory-bank",
};
static const char *const sim_names[SL_SIM_COUNT] = {"dot", "cosine", "l2"};

const char *sl_loss_objective_name(sl_objective obj) {
    return (unsigned)obj < SL_OBJ_COUNT ? obj_names[obj] : "?";
}

const char *sl_loss_sim_name(sl_similarity sim) { return (unsigned)sim < SL_SIM_COUNT ? sim_names[sim] : "?"; }

sl_status sl_loss_objective_parse(const char *name, sl_objective *out) {
    for (int i = 0; i < SL_OBJ_COUNT; i++)
        if (name && strcmp(name, obj_names[i]) == 0) {
            *out = (sl_objective)i;
            return SL_OK;
        }
    return sl__fail(SL_ERR_ARG,
                    "unknown objective '%s' (expected infonce, supcon, triplet, triplet-hard, triplet-smooth, "
                    "clip, autoencoder, softmax, mae, barlow, vicreg, simsiam, byol, moco or memory-bank)",
                    name ? name : "(null)");
}

sl_status sl_loss_sim_parse(const char *name, sl_similarity *out) {
    for (int i = 0; i < SL_SIM_COUNT; i++)
        if (name && strcmp(name, sim_names[i]) == 0) {
            *out = (sl_similarity)i;
            return SL_OK;
        }
    return sl__fail(SL_ERR_ARG, "unknown similarity '%s' (expected dot, cosine or l2)", name ? name : "(null)");
}

void sl_loss_config_default(sl_loss_config *out, sl_objective obj) {
    sl_loss_config c;
    memset(&c, 0, sizeof c);
    c.objective = obj;
    c.sim = SL_SIM_COSINE;
    c.tau = 1.0;
    c.log_scale_min = 0.0;
    c.log_scale_max = log(100.0);
    c.eps = 1e-8;
    c.barlow_lambda = 0.0051;
    c.vicreg_inv = 25;
    c.vicreg_var = 25;
    c.vicreg_cov = 1;
    switch (obj) {
    case SL_OBJ_INFONCE: c.tau = 0.1; break;
    case SL_OBJ_SUPCON: c.tau = 0.1; break;
    case SL_OBJ_TRIPLET:
    case SL_OBJ_TRIPLET_HARD: c.margin = 0.2; break;
    case SL_OBJ_TRIPLET_SMOOTH: c.tau = 0.1; break;
    case SL_OBJ_CLIP:
        c.tau = 0.07;
        c.learnable_tau = true;
        break;
    case SL_OBJ_SOFTMAX: c.sim = SL_SIM_DOT; break;
    case SL_OBJ_MOCO: c.tau = 0.2; break;
    case SL_OBJ_MEMORY_BANK: c.tau = 0.07; break;
    default: break;
    }
    c.log_scale = -log(c.tau);
    *out = c;
}

double sl_loss_clamp_log_scale(const sl_loss_config *cfg, double log_scale) {
    if (log_scale < cfg->log_scale_min) return cfg->log_scale_min;
    if (log_scale > cfg->log_scale_max) return cfg->log_scale_max;
    return log_scale;
}

double sl_loss_scale(const sl_loss_config *cfg) {
    if (cfg->learnable_tau) return exp(sl_loss_clamp_log_scale(cfg, cfg->log_scale));
    return 1.0 / cfg->tau;
}

bool sl__scale_clamped(const sl_loss_config *cfg) {
    return cfg->learnable_tau && (cfg->log_scale < cfg->log_scale_min || cfg->log_scale > cfg->log_scale_max);
}

sl_status sl__check_config(const sl_loss_config *cfg, const char *fn, bool uses_tau) {
    if (!cfg) return sl__fail(SL_ERR_ARG, "%s: no configuration given", fn);
    if ((unsigned)cfg->sim >= SL_SIM_COUNT)
        return sl__fail(SL_ERR_ARG, "%s: similarity %d is not dot, cosine or l2", fn, (int)cfg->sim);
    if (cfg->sim == SL_SIM_COSINE && !(cfg->eps > 0 && isfinite(cfg->eps)))
        return sl__fail(SL_ERR_ARG, "%s: eps %g must be finite and > 0", fn, cfg->eps);
    if (!isfinite(cfg->margin)) return sl__fail(SL_ERR_ARG, "%s: margin %g is not finite", fn, cfg->margin);
    if (!uses_tau) return SL_OK;
    if (cfg->learnable_tau) {
        if (!isfinite(cfg->log_scale))
            return sl__fail(SL_ERR_ARG, "%s: log_scale %g is not finite", fn, cfg->log_scale);
        if (!(isfinite(cfg->log_scale_min) && isfinite(cfg->log_scale_max) &&
              cfg->log_scale_min <= cfg->log_scale_max))
            return sl__fail(SL_ERR_ARG, "%s: log-scale clamp [%g, %g] must be finite with min <= max", fn,
                            cfg->log_scale_min, cfg->log_scale_max);
    } else if (!(cfg->tau > 0 && isfinite(cfg->tau) && isfinite(1.0 / cfg->tau))) {
        return sl__fail(SL_ERR_ARG, "%s: tau %g must be finite and > 0", fn, cfg->tau);
    }
    return SL_OK;
}

sl_status sl_loss_autoencoder(const float *recon, const float *target, size_t n, size_t d, float *drecon,
                              sl_loss_result *out) {
    size_t nd;
    if (!recon || !target || !out) return sl__fail(SL_ERR_ARG, "autoencoder loss: NULL reconstruction or target");
    if (n == 0 || d == 0) return sl__fail(SL_ERR_ARG, "autoencoder loss: empty batch (%zu x %zu)", n, d);
    if (!sl_size_mul(n, d, &nd)) return sl__fail(SL_ERR_ARG, "autoencoder loss: %zu x %zu overflows", n, d);
    SL__TRY(sl__loss_check_finite(recon, n, d, "autoencoder loss: reconstruction"));
    SL__TRY(sl__loss_check_finite(target, n, d, "autoencoder loss: target"));
    double s = 0, c = 2.0 / (double)nd;
    for (size_t k = 0; k < nd; k++) {
        double e = (double)recon[k] - target[k];
        s += e * e;
    }
    if (drecon)
        for (size_t k = 0; k < nd; k++) drecon[k] = (float)(drecon[k] + c * ((double)recon[k] - target[k]));
    sl_loss_result r;
    memset(&r, 0, sizeof r);
    r.loss = s / (double)nd;
    r.scale = 1;
    r.n_terms = nd;
    *out = r;
    return SL_OK;
}

/* The public objectives: each runs on a temporary workspace. */
sl_status sl_loss_infonce(const sl_loss_config *cfg, const float *z, size_t n, size_t d, float *dz,
                          sl_loss_result *out) {
    sl_loss_workspace ws = {0};
    sl_status st = sl__infonce(cfg, z, n, d, dz, out, &ws);
    sl__ws_release(&ws);
    return st;
}

sl_status sl_loss_barlow(const sl_loss_config *cfg, const float *z, size_t n, size_t d, float *dz,
                         sl_loss_result *out) {
    sl_loss_workspace ws = {0};
    sl_status st = sl__barlow(cfg, z, n, d, dz, out, &ws);
    sl__ws_release(&ws);
    return st;
}

sl_status sl_loss_vicreg(const sl_loss_config *cfg, const float *z, size_t n, size_t d, float *dz,
                         sl_loss_result *out) {
    sl_loss_workspace ws = {0};
    sl_status st = sl__vicreg(cfg, z, n, d, dz, out, &ws);
    sl__ws_release(&ws);
    return st;
}

sl_status sl_loss_predictive(const sl_loss_config *cfg, const float *p, const float *t, size_t n, size_t d, float *dp,
                             sl_loss_result *out) {
    return sl__predict(cfg, p, t, n, d, dp, out);
}

sl_status sl_loss_queue(const sl_loss_config *cfg, const float *q, const float *b, size_t n, size_t m, size_t d,
                        float *dq, sl_loss_result *out) {
    sl_loss_workspace ws = {0};
    sl_status st = sl__queue_loss(cfg, q, b, n, m, d, dq, out, &ws);
    sl__ws_release(&ws);
    return st;
}

sl_status sl_loss_supcon(const sl_loss_config *cfg, const float *z, const int32_t *labels, size_t n, size_t d,
                         float *dz, sl_loss_result *out) {
    sl_loss_workspace ws = {0};
    sl_status st = sl__supcon(cfg, z, labels, n, d, dz, out, &ws);
    sl__ws_release(&ws);
    return st;
}

static sl_status triplet_tmp(sl_objective v, const sl_loss_config *cfg, const float *z, const int32_t *labels,
                             size_t n, size_t d, float *dz, sl_loss_result *out) {
    sl_loss_workspace ws = {0};
    sl_status st = sl__triplet(cfg, v, z, labels, n, d, dz, out, &ws);
    sl__ws_release(&ws);
    return st;
}

sl_status sl_loss_triplet(const sl_loss_config *cfg, const float *z, const int32_t *labels, size_t n, size_t d,
                          float *dz, sl_loss_result *out) {
    return triplet_tmp(SL_OBJ_TRIPLET, cfg, z, labels, n, d, dz, out);
}

sl_status sl_loss_triplet_hard(const sl_loss_config *cfg, const float *z, const int32_t *labels, size_t n,
                               size_t d, float *dz, sl_loss_result *out) {
    return triplet_tmp(SL_OBJ_TRIPLET_HARD, cfg, z, labels, n, d, dz, out);
}

sl_status sl_loss_triplet_smooth(const sl_loss_config *cfg, const float *z, const int32_t *labels, size_t n,
                                 size_t d, float *dz, sl_loss_result *out) {
    return triplet_tmp(SL_OBJ_TRIPLET_SMOOTH, cfg, z, labels, n, d, dz, out);
}

sl_status sl_loss_clip(const sl_loss_config *cfg, const float *img, const float *txt, size_t n, size_t d,
                       float *dimg, float *dtxt, sl_loss_result *out) {
    sl_loss_workspace ws = {0};
    sl_status st = sl__clip(cfg, img, txt, n, d, dimg, dtxt, out, &ws);
    sl__ws_release(&ws);
    return st;
}

sl_status sl_loss_softmax(const sl_loss_config *cfg, const float *z, const float *w, const int32_t *labels,
                          size_t n, size_t n_classes, size_t d, float *dz, float *dw, sl_loss_result *out) {
    sl_loss_workspace ws = {0};
    sl_status st = sl__softmax(cfg, z, w, labels, n, n_classes, d, dz, dw, out, &ws);
    sl__ws_release(&ws);
    return st;
}

static sl_status dispatch(const sl_loss_config *cfg, const sl_loss_batch *b, sl_loss_result *out,
                          sl_loss_workspace *ws) {
    switch (cfg->objective) {
    case SL_OBJ_INFONCE: return sl__infonce(cfg, b->a, b->n, b->d, b->grad_a, out, ws);
    case SL_OBJ_SUPCON: return sl__supcon(cfg, b->a, b->labels, b->n, b->d, b->grad_a, out, ws);
    case SL_OBJ_BARLOW: return sl__barlow(cfg, b->a, b->n, b->d, b->grad_a, out, ws);
    case SL_OBJ_VICREG: return sl__vicreg(cfg, b->a, b->n, b->d, b->grad_a, out, ws);
    case SL_OBJ_SIMSIAM:
    case SL_OBJ_BYOL: return sl__predict(cfg, b->a, b->b, b->n, b->d, b->grad_a, out);
    case SL_OBJ_MOCO:
    case SL_OBJ_MEMORY_BANK: return sl__queue_loss(cfg, b->a, b->b, b->n, b->nb, b->d, b->grad_a, out, ws);
    case SL_OBJ_TRIPLET:
    case SL_OBJ_TRIPLET_HARD:
    case SL_OBJ_TRIPLET_SMOOTH:
        return sl__triplet(cfg, cfg->objective, b->a, b->labels, b->n, b->d, b->grad_a, out, ws);
    case SL_OBJ_CLIP: return sl__clip(cfg, b->a, b->b, b->n, b->d, b->grad_a, b->grad_b, out, ws);
    case SL_OBJ_AUTOENCODER:
    case SL_OBJ_MAE: return sl_loss_autoencoder(b->a, b->b, b->n, b->d, b->grad_a, out);
    case SL_OBJ_SOFTMAX:
        return sl__softmax(cfg, b->a, b->b, b->labels, b->n, b->nb, b->d, b->grad_a, b->grad_b, out, ws);
    default: break;
    }
    return sl__fail(SL_ERR_ARG, "loss: unknown objective");
}

sl_status sl_loss_compute(const sl_loss_config *cfg, const sl_loss_batch *b, sl_loss_result *out) {
    if (!cfg || !b || !out) return sl__fail(SL_ERR_ARG, "loss: NULL configuration, batch or result");
    const char *name = sl_loss_objective_name(cfg->objective);
    bool need_labels = cfg->objective == SL_OBJ_SUPCON || cfg->objective == SL_OBJ_TRIPLET ||
                       cfg->objective == SL_OBJ_TRIPLET_HARD || cfg->objective == SL_OBJ_TRIPLET_SMOOTH ||
                       cfg->objective == SL_OBJ_SOFTMAX;
    bool need_b = cfg->objective == SL_OBJ_CLIP || cfg->objective == SL_OBJ_AUTOENCODER ||
                  cfg->objective == SL_OBJ_SOFTMAX || cfg->objective == SL_OBJ_MAE ||
                  cfg->objective == SL_OBJ_SIMSIAM || cfg->objective == SL_OBJ_BYOL || cfg->objective == SL_OBJ_MOCO ||
                  cfg->objective == SL_OBJ_MEMORY_BANK;
    if ((unsigned)cfg->objective >= SL_OBJ_COUNT)
        return sl__fail(SL_ERR_ARG, "loss: objective %d is not one of infonce, supcon, triplet, triplet-hard, "
                                    "triplet-smooth, clip, autoencoder, softmax, mae, barlow, vicreg, simsiam, byol, moco, "
                                    "memory-bank", (int)cfg->objective);
    if (!b->a) return sl__fail(SL_ERR_ARG, "%s loss: the batch has no embeddings (a is NULL)", name);
    if (need_labels && !b->labels) return sl__fail(SL_ERR_ARG, "%s loss: the batch has no labels", name);
    if (need_b && !b->b)
        return sl__fail(SL_ERR_ARG, "%s loss: the batch lacks its second matrix b (%s)", name,
                        cfg->objective == SL_OBJ_CLIP ? "text embeddings"
                        : cfg->objective == SL_OBJ_SOFTMAX ? "class embeddings"
                        : cfg->objective == SL_OBJ_SIMSIAM || cfg->objective == SL_OBJ_BYOL ? "targets"
                        : cfg->objective == SL_OBJ_MOCO || cfg->objective == SL_OBJ_MEMORY_BANK ? "keys and negatives"
                                                           : "reconstruction target");
    if (b->ws) return dispatch(cfg, b, out, b->ws);
    sl_loss_workspace tmp = {0};
    sl_status st = dispatch(cfg, b, out, &tmp);
    sl__ws_release(&tmp);
    return st;
}

/* Optimizers (SGD with momentum/Nesterov, Adam, AdamW, LARS) updating a
 * model's parameters from its gradients, with their state in the model's
 * single allocation; global-norm gradient clipping; learning-rate schedules. */
#include "nn/model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sl_optim {
    sl_model *m;
    sl_optim_config c;
    uint64_t t;
};

void sl_optim_config_default(sl_optim_config *out, sl_optim_kind kind) {
    sl_optim_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.beta1 = 0.9f;
    c.beta2 = 0.999f;
    c.eps = 1e-8f;
    c.trust = 0.001f;
    c.momentum = kind == SL_OPT_LARS ? 0.9f : 0.0f;
    c.weight_decay = kind == SL_OPT_ADAMW ? 0.01f : 0.0f;
    *out = c;
}

sl_status sl_optim_kind_parse(const char *name, sl_optim_kind *out) {
    static const char *names[] = {"sgd", "adam", "adamw", "lars"};
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, names[i]) == 0) {
            *out = (sl_optim_kind)i;
            return SL_OK;
        }
    return sl__fail(SL_ERR_ARG, "optimizer '%s': expected sgd, adam, adamw or lars", name ? name : "(null)");
}

sl_status sl_optim_create(sl_model *m, const sl_optim_config *c, sl_optim **out) {
    if (!m || !c) return sl__fail(SL_ERR_ARG, "optimizer: model and config are required");
    if (!(c->momentum >= 0 && c->momentum < 1) || !(c->weight_decay >= 0) || !(c->beta1 >= 0 && c->beta1 < 1) ||
        !(c->beta2 >= 0 && c->beta2 < 1) || !(c->eps > 0) || !(c->trust > 0) || (unsigned)c->kind > SL_OPT_LARS)
        return sl__fail(SL_ERR_ARG, "optimizer: momentum and betas must be in [0, 1), eps and trust > 0, "
                                    "weight decay >= 0");
    if (c->nesterov && (c->kind != SL_OPT_SGD || c->momentum <= 0))
        return sl__fail(SL_ERR_ARG, "optimizer: nesterov needs SGD with momentum > 0");
    sl_optim *o = sl__calloc(1, sizeof *o);
    if (!o) return sl__fail(SL_ERR_NOMEM, "optimizer: out of memory");
    o->m = m;
    o->c = *c;
    memset(m->state1, 0, 2 * m->nparams * sizeof(float));
    *out = o;
    return SL_OK;
}

void sl_optim_destroy(sl_optim *o) { sl__free(o); }
uint64_t sl_optim_steps(const sl_optim *o) { return o->t; }

static double sqnorm(const float *x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

sl_status sl_optim_step(sl_optim *o, float lr) {
    sl_model *m = o->m;
    const sl_optim_config *c = &o->c;
    for (size_t i = 0; i < m->nparams; i++)
        if (!isfinite(m->grads[i])) {
            for (size_t k = 0; k < m->ntensors; k++) {
                const sl__tensor *t = &m->tensors[k];
                if (t->is_param && i >= t->offset && i < t->offset + t->info.count)
                    return sl__fail(SL_ERR_NUMERIC, "optimizer: gradient of '%s' element %zu is not finite",
                                    t->name, i - t->offset);
            }
            return sl__fail(SL_ERR_NUMERIC, "optimizer: gradient %zu is not finite", i);
        }
    o->t++;
    const double bc1 = 1.0 - pow(c->beta1, (double)o->t), bc2 = 1.0 - pow(c->beta2, (double)o->t);
    for (size_t k = 0; k < m->ntensors; k++) {
        const sl__tensor *t = &m->tensors[k];
        if (!t->is_param) continue;
        const size_t n = t->info.count;
        float *w = m->params + t->offset, *g = m->grads + t->offset;
        float *s1 = m->state1 + t->offset, *s2 = m->state2 + t->offset;
        const float wd = (t->info.decay || c->decay_all) ? c->weight_decay : 0.0f;
        switch (c->kind) {
        case SL_OPT_SGD:
            for (size_t i = 0; i < n; i++) {
                float d = g[i] + wd * w[i];
                if (c->momentum > 0) {
                    s1[i] = c->momentum * s1[i] + d;
                    d = c->nesterov ? d + c->momentum * s1[i] : s1[i];
                }
                w[i] -= lr * d;
            }
            break;
        case SL_OPT_ADAM:
        case SL_OPT_ADAMW: {
            const bool decoupled = c->kind == SL_OPT_ADAMW;
            const float step = (float)(lr / bc1), isb2 = (float)(1.0 / sqrt(bc2));
            const float b1 = c->beta1, b2 = c->beta2;
#pragma omp parallel for schedule(static) if (n > 65536)
            for (size_t i = 0; i < n; i++) {
                float d = g[i];
                if (decoupled) w[i] *= 1.0f - lr * wd;
                else d += wd * w[i];
                s1[i] = b1 * s1[i] + (1.0f - b1) * d;
                s2[i] = b2 * s2[i] + (1.0f - b2) * d * d;
                w[i] -= step * s1[i] / (sqrtf(s2[i]) * isb2 + c->eps);
            }
            break;
        }
        case SL_OPT_LARS: {
            /* Layer-wise trust ratio on weights; biases and norm parameters
             * (not decayed) take plain momentum SGD, as in SimCLR. */
            double local = lr;
            if (t->info.decay || c->decay_all) {
                double wn = sqrt(sqnorm(w, n)), gn = sqrt(sqnorm(g, n));
                double dn = gn + wd * wn;
                if (wn > 0 && dn > 0) local = lr * c->trust * wn / dn;
            }
            for (size_t i = 0; i < n; i++) {
                float d = g[i] + wd * w[i];
                s1[i] = c->momentum * s1[i] + (float)local * d;
                w[i] -= s1[i];
            }
            break;
        }
        }
    }
    return SL_OK;
}

void sl_model_clip_grad_norm(sl_model *const *models, size_t n, double max_norm, double *norm) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += sl_model_grad_sqnorm(models[i]);
    double total = sqrt(s);
    if (norm) *norm = total;
    if (max_norm > 0 && total > max_norm) {
        float scale = (float)(max_norm / (total + 1e-6));
        for (size_t i = 0; i < n; i++) sl_model_scale_grads(models[i], scale);
    }
}

double sl_schedule_lr(const sl_schedule *s, uint64_t t) {
    if (s->warmup && t < s->warmup) return s->lr * (double)(t + 1) / (double)s->warmup;
    switch (s->kind) {
    case SL_SCHED_STEP:
        return s->step_size ? s->lr * pow(s->gamma, (double)((t - s->warmup) / s->step_size)) : s->lr;
    case SL_SCHED_COSINE: {
        if (s->total <= s->warmup) return s->lr;
        double p = (double)(t - s->warmup) / (double)(s->total - s->warmup);
        if (p > 1) p = 1;
        return s->min_lr + (s->lr - s->min_lr) * 0.5 * (1.0 + cos(3.14159265358979323846 * p));
    }
    default: return s->lr;
    }
}

sl_status sl_schedule_parse(const char *text, sl_schedule *out) {
    sl_schedule s;
    memset(&s, 0, sizeof s);
    s.gamma = 0.1;
    if (text && strcmp(text, "constant") == 0) s.kind = SL_SCHED_CONSTANT;
    else if (text && strcmp(text, "cosine") == 0) s.kind = SL_SCHED_COSINE;
    else if (text && strncmp(text, "step:", 5) == 0) {
        char *end;
        unsigned long long size = strtoull(text + 5, &end, 10);
        if (end == text + 5 || *end != ':' || size == 0)
            return sl__fail(SL_ERR_ARG, "schedule '%s': expected step:SIZE:GAMMA with SIZE > 0", text);
        const char *g = end + 1;
        double gamma = strtod(g, &end);
        if (end == g || *end || !(gamma > 0 && gamma <= 1))
            return sl__fail(SL_ERR_ARG, "schedule '%s': GAMMA must be in (0, 1]", text);
        s.kind = SL_SCHED_STEP;
        s.step_size = size;
        s.gamma = gamma;
    } else
        return sl__fail(SL_ERR_ARG, "schedule '%s': expected constant, cosine or step:SIZE:GAMMA",
                        text ? text : "(null)");
    *out = s;
    return SL_OK;
}

const sl_optim_config *sl__optim_config(const sl_optim *o) { return &o->c; }
sl_model *sl__optim_model(sl_optim *o) { return o->m; }
void sl__optim_set_steps(sl_optim *o, uint64_t t) { o->t = t; }

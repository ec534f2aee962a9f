/* Checkpoints: a model's tensors under PyTorch's state_dict names and layouts,
 * its spec and input shape as metadata, and optionally the optimizer state and
 * step count, in a safetensors collection (see sl_tensors in io.h). */
#include "nn/model_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Returns false if the composed name does not fit. */
static bool join(char *buf, size_t cap, const char *a, const char *b, const char *c) {
    int k = snprintf(buf, cap, "%s%s%s", a, b, c);
    return k >= 0 && (size_t)k < cap;
}

#define NAMECAP 256

sl_status sl_model_export(const sl_model *m, const sl_optim *opt, const char *prefix, sl_tensors *t) {
    char key[2 * NAMECAP], val[256];
    if (!prefix) prefix = "";
    if (strlen(prefix) > 128) return sl__fail(SL_ERR_ARG, "checkpoint: prefix too long");
    for (size_t i = 0; i < m->ntensors; i++) {
        const sl__tensor *x = &m->tensors[i];
        join(key, sizeof key, prefix, x->name, "");
        SL__TRY(sl_tensors_add(t, key, SL_F32, x->info.ndim, x->info.shape, x->info.data));
        if (x->is_param) continue;
        /* PyTorch's BatchNorm also keeps a batch counter after its running
         * variance; strict load_state_dict wants it. */
        for (size_t l = 0; l < m->nl; l++) {
            const sl__layer *L = &m->layers[l];
            snprintf(val, sizeof val, "%d.running_var", L->torch_index);
            if (!L->ops->tracks_batches || strcmp(x->name, val) != 0) continue;
            int64_t v = (int64_t)L->batches_tracked;
            snprintf(val, sizeof val, "%d.num_batches_tracked", L->torch_index);
            join(key, sizeof key, prefix, val, "");
            SL__TRY(sl_tensors_add(t, key, SL_I64, 0, NULL, &v));
        }
    }
    join(key, sizeof key, prefix, "spec", "");
    SL__TRY(sl_tensors_set_meta(t, key, m->spec));
    sl_shape_format(&m->input, val, sizeof val);
    join(key, sizeof key, prefix, "input", "");
    SL__TRY(sl_tensors_set_meta(t, key, val));
    snprintf(val, sizeof val, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, m->rng.s[0], m->rng.s[1],
             m->rng.s[2], m->rng.s[3]);
    join(key, sizeof key, prefix, "rng", "");
    SL__TRY(sl_tensors_set_meta(t, key, val));
    if (!opt) return SL_OK;
    static const char *kinds[] = {"sgd", "adam", "adamw", "lars"};
    const sl_optim_config *c = sl__optim_config(opt);
    join(key, sizeof key, "optim.", prefix, "kind");
    SL__TRY(sl_tensors_set_meta(t, key, kinds[c->kind]));
    snprintf(val, sizeof val, "%" PRIu64, sl_optim_steps(opt));
    join(key, sizeof key, "optim.", prefix, "step");
    SL__TRY(sl_tensors_set_meta(t, key, val));
    snprintf(val, sizeof val, "momentum=%.9g nesterov=%d weight_decay=%.9g beta1=%.9g beta2=%.9g eps=%.9g trust=%.9g decay_all=%d",
             (double)c->momentum, (int)c->nesterov, (double)c->weight_decay, (double)c->beta1, (double)c->beta2,
             (double)c->eps, (double)c->trust, (int)c->decay_all);
    join(key, sizeof key, "optim.", prefix, "config");
    SL__TRY(sl_tensors_set_meta(t, key, val));
    for (size_t i = 0; i < m->ntensors; i++) {
        const sl__tensor *x = &m->tensors[i];
        if (!x->is_param) continue;
        char nm[NAMECAP];
        join(nm, sizeof nm, prefix, x->name, ".m");
        join(key, sizeof key, "optim.", nm, "");
        SL__TRY(sl_tensors_add(t, key, SL_F32, x->info.ndim, x->info.shape, m->state1 + x->offset));
        join(nm, sizeof nm, prefix, x->name, ".v");
        join(key, sizeof key, "optim.", nm, "");
        SL__TRY(sl_tensors_add(t, key, SL_F32, x->info.ndim, x->info.shape, m->state2 + x->offset));
    }
    return SL_OK;
}

/* Copy tensor `key` into dst after checking dtype, shape and values. */
static sl_status load_one(const sl_tensors *t, const char *key, const sl_param_info *info, float *dst) {
    const sl_array *a = sl_tensors_get(t, key);
    const char *where = sl__tensors_where(t);
    if (!a) return sl__fail(SL_ERR_NOTFOUND, "%s: tensor '%s' is missing", where, key);
    if (a->dtype != SL_F32)
        return sl__fail(SL_ERR_FORMAT, "%s: tensor '%s' is %s, expected float32", where, key, sl_dtype_name(a->dtype));
    bool same = a->ndim == info->ndim;
    for (int k = 0; same && k < a->ndim; k++) same = a->shape[k] == info->shape[k];
    if (!same) {
        char want[64] = "", got[64] = "";
        for (int k = 0; k < info->ndim; k++) snprintf(want + strlen(want), sizeof want - strlen(want), k ? ",%zu" : "%zu", info->shape[k]);
        for (int k = 0; k < a->ndim && k < 8; k++) snprintf(got + strlen(got), sizeof got - strlen(got), k ? ",%zu" : "%zu", a->shape[k]);
        return sl__fail(SL_ERR_FORMAT, "%s: tensor '%s' has shape [%s], the model needs [%s]", where, key, got, want);
    }
    const float *src = a->data;
    for (size_t i = 0; i < info->count; i++)
        if (!isfinite(src[i]))
            return sl__fail(SL_ERR_FORMAT, "%s: tensor '%s' element %zu is not finite", where, key, i);
    memcpy(dst, src, info->count * sizeof(float));
    return SL_OK;
}

/* The generator state "rng" as written by sl_model_export: 64 hexadecimal
 * digits, four 64-bit words, not all zero (xoshiro's one stuck state).
 * Optional: a model without it keeps the state it was created with. */
static sl_status rng_from_meta(const sl_tensors *t, const char *key, sl_rng *out) {
    const char *r = sl_tensors_get_meta(t, key);
    if (!r) return SL_OK;
    sl_rng g;
    bool ok = strlen(r) == 64, nonzero = false;
    for (int k = 0; ok && k < 4; k++) {
        uint64_t w = 0;
        for (int j = 0; ok && j < 16; j++) {
            char c = r[16 * k + j];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            ok = d >= 0;
            w = w << 4 | (uint64_t)(d & 15);
        }
        g.s[k] = w;
        nonzero |= w != 0;
    }
    if (!ok || !nonzero) return sl__meta_fail(t, key, "64 hexadecimal digits, not all zero (a generator state)");
    *out = g;
    return SL_OK;
}

sl_status sl_model_load_tensors(sl_model *m, const sl_tensors *t, const char *prefix) {
    char key[NAMECAP];
    if (!prefix) prefix = "";
    if (strlen(prefix) > 128) return sl__fail(SL_ERR_ARG, "checkpoint: prefix too long");
    for (size_t i = 0; i < m->ntensors; i++) {
        const sl__tensor *x = &m->tensors[i];
        join(key, sizeof key, prefix, x->name, "");
        SL__TRY(load_one(t, key, &x->info, x->info.data));
    }
    for (size_t l = 0; l < m->nl; l++) {
        sl__layer *L = &m->layers[l];
        if (!L->ops->tracks_batches) continue;
        char nm[64];
        snprintf(nm, sizeof nm, "%d.num_batches_tracked", L->torch_index);
        join(key, sizeof key, prefix, nm, "");
        const sl_array *a = sl_tensors_get(t, key);
        if (!a) continue; /* optional: files written elsewhere may leave it out */
        if (a->dtype != SL_I64 || sl_array_count(a) != 1 || ((const int64_t *)a->data)[0] < 0)
            return sl__fail(SL_ERR_FORMAT, "%s: tensor '%s' must be one int64 count >= 0", sl__tensors_where(t), key);
        L->batches_tracked = (uint64_t)((const int64_t *)a->data)[0];
    }
    join(key, sizeof key, prefix, "rng", "");
    return rng_from_meta(t, key, &m->rng);
}

sl_status sl_model_import(const sl_tensors *t, const char *prefix, uint64_t seed, sl_model **out) {
    char key[NAMECAP];
    if (!prefix) prefix = "";
    if (strlen(prefix) > 128) return sl__fail(SL_ERR_ARG, "checkpoint: prefix too long");
    join(key, sizeof key, prefix, "spec", "");
    const char *spec = sl_tensors_get_meta(t, key);
    if (!spec) return sl__fail(SL_ERR_NOTFOUND, "%s: metadata '%s' (the model spec) is missing", sl__tensors_where(t), key);
    join(key, sizeof key, prefix, "input", "");
    const char *inp = sl_tensors_get_meta(t, key);
    if (!inp)
        return sl__fail(SL_ERR_NOTFOUND, "%s: metadata '%s' (the input shape) is missing", sl__tensors_where(t), key);
    sl_shape shape;
    sl_status s = sl_shape_parse(inp, &shape);
    if (s) return sl__fail_prefix(s, "%s", sl__tensors_where(t));
    sl_model *m;
    s = sl_model_create(spec, &shape, seed, &m);
    if (s) return sl__fail_prefix(s, "%s", sl__tensors_where(t));
    s = sl_model_load_tensors(m, t, prefix);
    if (s) {
        sl_model_destroy(m);
        return s;
    }
    *out = m;
    return SL_OK;
}

sl_status sl_optim_import(sl_optim *o, const sl_tensors *t, const char *prefix) {
    char key[2 * NAMECAP], nm[NAMECAP];
    static const char *kinds[] = {"sgd", "adam", "adamw", "lars"};
    if (!prefix) prefix = "";
    if (strlen(prefix) > 128) return sl__fail(SL_ERR_ARG, "checkpoint: prefix too long");
    sl_model *m = sl__optim_model(o);
    join(key, sizeof key, "optim.", prefix, "kind");
    size_t kind = 0;
    SL__TRY(sl__meta_name(t, key, kinds, 4, SL__META_REQUIRED, &kind));
    if (kind != (size_t)sl__optim_config(o)->kind)
        return sl__fail(SL_ERR_ARG, "%s: optimizer is %s, but %s was asked for", sl__tensors_where(t), kinds[kind],
                        kinds[sl__optim_config(o)->kind]);
    join(key, sizeof key, "optim.", prefix, "step");
    uint64_t st = 0;
    SL__TRY(sl__meta_uint(t, key, 0, UINT64_MAX, SL__META_REQUIRED, &st));
    for (size_t i = 0; i < m->ntensors; i++) {
        const sl__tensor *x = &m->tensors[i];
        if (!x->is_param) continue;
        join(nm, sizeof nm, prefix, x->name, ".m");
        join(key, sizeof key, "optim.", nm, "");
        SL__TRY(load_one(t, key, &x->info, m->state1 + x->offset));
        join(nm, sizeof nm, prefix, x->name, ".v");
        join(key, sizeof key, "optim.", nm, "");
        SL__TRY(load_one(t, key, &x->info, m->state2 + x->offset));
    }
    sl__optim_set_steps(o, st);
    return SL_OK;
}

sl_status sl_model_save(const sl_model *m, const sl_optim *opt, const char *path, const char *const *meta) {
    sl_tensors *t;
    SL__TRY(sl_tensors_create(&t));
    sl_status s = sl_model_export(m, opt, "", t);
    for (size_t i = 0; s == SL_OK && meta && meta[i] && meta[i + 1]; i += 2) s = sl_tensors_set_meta(t, meta[i], meta[i + 1]);
    if (s == SL_OK) s = sl_safetensors_write(path, t);
    sl_tensors_destroy(t);
    return s;
}

sl_status sl_model_load(const char *path, sl_model **out) {
    sl_tensors *t;
    SL__TRY(sl_safetensors_read(path, &t));
    /* Every message of the import names the file already. */
    sl_status s = sl_model_import(t, "", 0, out);
    sl_tensors_destroy(t);
    return s;
}

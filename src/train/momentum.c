/* The state the self-supervised objectives keep beside the models: momentum
 * (EMA) copies of the encoder and projector (BYOL's target, MoCo's key
 * encoder), MoCo's queue of past keys and the memory bank of every item's
 * embedding (Wu et al. 2018), with their checkpoint form. */
#include "train/train_internal.h"

#include <math.h>
#include <string.h>

double sl__ema_momentum(double base, bool cosine, uint64_t step, uint64_t total) {
    if (!cosine || total == 0) return base;
    /* BYOL: from base at the first step to 1 at the last. */
    double f = (double)SL__MIN(step, total) / (double)total;
    return 1.0 - (1.0 - base) * (cos(M_PI * f) + 1.0) / 2.0;
}

sl_status sl__ema_update(sl_model *target, sl_model *online, double m) {
    size_t n = sl_model_param_count(online);
    if (sl_model_param_count(target) != n)
        return sl__fail(SL_ERR_ARG, "train: the momentum copy has %zu parameters, the model %zu",
                        sl_model_param_count(target), n);
    float *t = sl_model_params(target);
    const float *o = sl_model_params(online);
    float a = (float)m, b = (float)(1.0 - m);
    for (size_t i = 0; i < n; i++) t[i] = a * t[i] + b * o[i];
    return SL_OK;
}

sl_status sl__keyqueue_init(sl__keyqueue *q, size_t cap, size_t d) {
    memset(q, 0, sizeof *q);
    size_t bytes;
    if (!sl_size_mul(cap, d * sizeof(float), &bytes)) return sl__fail(SL_ERR_NOMEM, "train: key queue: size overflows");
    q->k = sl__calloc(cap, d * sizeof(float)); /* the unused rows are saved too */
    if (!q->k) return sl__fail(SL_ERR_NOMEM, "train: out of memory for the key queue (%zu bytes)", bytes);
    q->cap = cap, q->d = d;
    return SL_OK;
}

void sl__keyqueue_push(sl__keyqueue *q, const float *keys, size_t n) {
    /* More keys than room: the last cap of them. */
    if (n > q->cap) keys += (n - q->cap) * q->d, n = q->cap;
    for (size_t i = 0; i < n; i++) {
        float *row = q->k + q->pos * q->d;
        memcpy(row, keys + i * q->d, q->d * sizeof(float));
        sl_rows_normalize(row, 1, q->d);
        q->pos = (q->pos + 1) % q->cap;
    }
    q->fill = SL__MIN(q->fill + n, q->cap);
}

void sl__keyqueue_free(sl__keyqueue *q) {
    sl__free(q->k);
    memset(q, 0, sizeof *q);
}

sl_status sl__bank_init(sl__bank *b, size_t n, size_t d, uint64_t seed) {
    memset(b, 0, sizeof *b);
    b->v = sl__malloc_array(n, d * sizeof(float), "memory bank");
    if (!b->v) return SL_ERR_NOMEM;
    b->n = n, b->d = d;
    /* Random unit vectors, as the bank starts in Wu et al.'s code. */
    sl_rng r;
    sl_rng_seed(&r, seed, 0xba4c);
    for (size_t i = 0; i < n * d; i++) b->v[i] = (float)sl_rng_normal(&r);
    sl_rows_normalize(b->v, n, d);
    return SL_OK;
}

void sl__bank_update(sl__bank *b, const size_t *items, const float *z, size_t n, double m) {
    float *u = b->v; /* each row: normalise(m * row + (1 - m) * normalise(z_i)) */
    for (size_t i = 0; i < n; i++) {
        float *row = u + items[i] * b->d;
        const float *zi = z + i * b->d;
        double s = 0;
        for (size_t k = 0; k < b->d; k++) s += (double)zi[k] * zi[k];
        double r = s > 0 ? 1.0 / sqrt(s) : 0.0;
        for (size_t k = 0; k < b->d; k++) row[k] = (float)(m * row[k] + (1.0 - m) * zi[k] * r);
        sl_rows_normalize(row, 1, b->d);
    }
}

void sl__bank_free(sl__bank *b) {
    sl__free(b->v);
    memset(b, 0, sizeof *b);
}

sl_status sl__keyqueue_save(const sl__keyqueue *q, sl_tensors *x) {
    size_t shape[2] = {q->cap, q->d};
    SL__TRY(sl_tensors_add(x, "queue.keys", SL_F32, 2, shape, q->k));
    SL__TRY(sl__train_meta(x, "train.queue_pos", "%zu", q->pos));
    return sl__train_meta(x, "train.queue_fill", "%zu", q->fill);
}

/* The float32 rows x cols tensor `name` of a checkpoint, every value finite. */
static sl_status finite_matrix(const sl_tensors *x, const char *name, size_t rows, size_t cols, const char *dims,
                               const char *path, const float **out) {
    const sl_array *a = sl_tensors_get(x, name);
    if (!a || a->dtype != SL_F32 || a->ndim != 2 || a->shape[0] != rows || a->shape[1] != cols)
        return sl__fail(SL_ERR_FORMAT, "%s: tensor '%s' must be float32 %zu x %zu (%s)", path, name, rows, cols, dims);
    const float *v = a->data;
    for (size_t i = 0; i < rows * cols; i++)
        if (!isfinite(v[i])) return sl__fail(SL_ERR_FORMAT, "%s: tensor '%s': value %zu is not finite", path, name, i);
    *out = v;
    return SL_OK;
}

sl_status sl__keyqueue_load(sl__keyqueue *q, const sl_tensors *x, const char *path) {
    const float *k = NULL;
    SL__TRY(finite_matrix(x, "queue.keys", q->cap, q->d, "the queue and the embedding width", path, &k));
    uint64_t pos = 0, fill = 0;
    SL__TRY(sl__meta_uint(x, "train.queue_pos", 0, q->cap - 1, SL__META_REQUIRED, &pos));
    SL__TRY(sl__meta_uint(x, "train.queue_fill", 0, q->cap, SL__META_REQUIRED, &fill));
    memcpy(q->k, k, q->cap * q->d * sizeof(float));
    q->pos = (size_t)pos, q->fill = (size_t)fill;
    return SL_OK;
}

sl_status sl__bank_save(const sl__bank *b, sl_tensors *x) {
    size_t shape[2] = {b->n, b->d};
    return sl_tensors_add(x, "bank", SL_F32, 2, shape, b->v);
}

sl_status sl__bank_load(sl__bank *b, const sl_tensors *x, const char *path) {
    const float *v = NULL;
    SL__TRY(finite_matrix(x, "bank", b->n, b->d, "the items and the embedding width", path, &v));
    memcpy(b->v, v, b->n * b->d * sizeof(float));
    return SL_OK;
}

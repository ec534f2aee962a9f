/* Helpers shared by the training tests: a tiny training configuration on
 * shapes, reading a checkpoint, and rewriting one metadata key or one tensor
 * of it. */
#ifndef SIMLEARN_TESTS_TRAIN_HELPERS_H
#define SIMLEARN_TESTS_TRAIN_HELPERS_H

#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A small CNN on 96 shapes of 16x16, batch 16, one thread, seed 7. */
static inline void tiny(sl_train_config *c, const char *out) {
    sl_train_config_default(c);
    c->data = "shapes";
    c->data_count = 96;
    c->image_size = 16;
    c->encoder = "conv(4,3,stride=2,pad=1),bn,relu,flatten,linear(16)";
    c->projector = "linear(8)";
    c->batch = 16;
    c->threads = 1;
    c->seed = 7;
    c->out = out;
}

/* Create a trainer from c, run it to the end, destroy it. */
static inline sl_status train(const sl_train_config *c, sl_train_result *r) {
    sl_trainer *t;
    sl_status s = sl_trainer_create(c, &t);
    if (s) return s;
    s = sl_trainer_run(t, r);
    sl_trainer_destroy(t);
    return s;
}

static inline sl_tensors *load(const char *path) {
    sl_tensors *t;
    ASSERT_OK(sl_safetensors_read(path, &t));
    return t;
}

/* Copy the checkpoint src to dst with metadata key set to value (NULL:
 * removed), through the library's safetensors writer. */
static inline void rewrite_meta(const char *src, const char *dst, const char *key, const char *value) {
    sl_tensors *a = load(src), *b;
    ASSERT_OK(sl_tensors_create(&b));
    for (size_t i = 0; i < sl_tensors_meta_count(a); i++) {
        const char *k = sl_tensors_meta_key(a, i);
        if (strcmp(k, key) != 0) ASSERT_OK(sl_tensors_set_meta(b, k, sl_tensors_get_meta(a, k)));
    }
    if (value) ASSERT_OK(sl_tensors_set_meta(b, key, value));
    for (size_t i = 0; i < sl_tensors_count(a); i++) {
        const char *n = sl_tensors_name(a, i);
        const sl_array *x = sl_tensors_get(a, n);
        ASSERT_OK(sl_tensors_add(b, n, x->dtype, x->ndim, x->shape, x->data));
    }
    ASSERT_OK(sl_safetensors_write(dst, b));
    sl_tensors_destroy(a);
    sl_tensors_destroy(b);
}

/* Copies the checkpoint src to dst with tensor `name` dropped (nan_at < 0) or
 * with its element nan_at set to NaN. */
static inline void rewrite_tensor(const char *src, const char *dst, const char *name, long nan_at) {
    sl_tensors *a = load(src), *b;
    ASSERT_OK(sl_tensors_create(&b));
    for (size_t i = 0; i < sl_tensors_meta_count(a); i++) {
        const char *k = sl_tensors_meta_key(a, i);
        ASSERT_OK(sl_tensors_set_meta(b, k, sl_tensors_get_meta(a, k)));
    }
    for (size_t i = 0; i < sl_tensors_count(a); i++) {
        const char *n = sl_tensors_name(a, i);
        const sl_array *x = sl_tensors_get(a, n);
        if (strcmp(n, name) != 0) {
            ASSERT_OK(sl_tensors_add(b, n, x->dtype, x->ndim, x->shape, x->data));
            continue;
        }
        if (nan_at < 0) continue;
        size_t count = 1;
        for (int d = 0; d < x->ndim; d++) count *= x->shape[d];
        ASSERT_TRUE(x->dtype == SL_F32 && (size_t)nan_at < count);
        float *v = malloc(count * sizeof *v);
        ASSERT_TRUE(v != NULL);
        memcpy(v, x->data, count * sizeof *v);
        v[nan_at] = NAN;
        ASSERT_OK(sl_tensors_add(b, n, x->dtype, x->ndim, x->shape, v));
        free(v);
    }
    ASSERT_OK(sl_safetensors_write(dst, b));
    sl_tensors_destroy(a);
    sl_tensors_destroy(b);
}

#endif

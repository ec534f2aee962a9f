/* The dataset settings of training and embedding in one place: between
 * sl_data_config and the train and embed configurations, into and out of a
 * checkpoint's metadata, and how an embedding fills what its caller leaves
 * unset from the model's training data. */
#include "train/train_internal.h"

#include <inttypes.h>
#include <string.h>

static const char *const split_names[] = {"train", "val", "test", "all"};

/* The data fields of sl_train_config and sl_embed_config, each with the
 * sl_data_config field it holds. */
#define DATA_FIELDS(X)                                                                                       \
    X(data, source) X(split, split) X(data_seed, seed) X(data_count, shapes_count) X(val_fraction, val_fraction) \
    X(test_fraction, test_fraction) X(image_size, size) X(channels, channels) X(labels, labels)                  \
    X(image_dir, image_dir) X(shapes_rotate, shapes_rotate) X(shapes_noise, shapes_noise)
#define FROM_DATA(field, dfield) c->field = dc->dfield;
#define TO_DATA(field, dfield) dc->dfield = c->field;

void sl__train_data_config(const sl_train_config *c, sl_data_config *dc) {
    sl_data_config_default(dc);
    DATA_FIELDS(TO_DATA)
    if (!dc->source) dc->source = "shapes";
}

void sl_train_config_set_data(sl_train_config *c, const sl_data_config *dc) { DATA_FIELDS(FROM_DATA) }

void sl_embed_config_set_data(sl_embed_config *c, const sl_data_config *dc) { DATA_FIELDS(FROM_DATA) }

/* ---- checkpoint metadata ----------------------------------------------------
 * The keys written before the other settings: train.data, train.split,
 * train.data_seed, train.data_count, train.val_fraction and train.image_size
 * always; the rest only when they differ from the sources' defaults, so a
 * checkpoint of a run that does not use them is what it was before they
 * existed, and one without them reads as the defaults. */

sl_status sl__train_meta(sl_tensors *x, const char *key, const char *fmt, ...) {
    char v[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    return sl_tensors_set_meta(x, key, v);
}

sl_status sl__train_ckpt_data_write(sl_tensors *x, const sl_train_config *c) {
    SL__TRY(sl_tensors_set_meta(x, "train.data", c->data ? c->data : "shapes"));
    SL__TRY(sl_tensors_set_meta(x, "train.split", sl_split_name(c->split)));
    SL__TRY(sl__train_meta(x, "train.data_seed", "%" PRIu64, c->data_seed));
    SL__TRY(sl__train_meta(x, "train.data_count", "%zu", c->data_count));
    SL__TRY(sl__train_meta(x, "train.val_fraction", "%.17g", c->val_fraction < 0 ? -1.0 : c->val_fraction));
    SL__TRY(sl__train_meta(x, "train.image_size", "%d", c->image_size));
    if (c->test_fraction >= 0) SL__TRY(sl__train_meta(x, "train.test_fraction", "%.17g", c->test_fraction));
    if (c->channels) SL__TRY(sl__train_meta(x, "train.channels", "%d", c->channels));
    if (c->labels) SL__TRY(sl_tensors_set_meta(x, "train.labels", c->labels));
    if (c->image_dir) SL__TRY(sl_tensors_set_meta(x, "train.image_dir", c->image_dir));
    if (c->shapes_rotate) SL__TRY(sl_tensors_set_meta(x, "train.shapes_rotate", "1"));
    if (c->shapes_noise > 0) SL__TRY(sl__train_meta(x, "train.shapes_noise", "%.17g", (double)c->shapes_noise));
    return SL_OK;
}

sl_status sl__train_ckpt_data(const sl_tensors *ck, bool resume, sl_data_config *dc) {
    const unsigned R = resume ? SL__META_REQUIRED : 0;
    uint64_t u = (uint64_t)dc->size;
    size_t k = (size_t)dc->split;
    SL__TRY(sl__meta_str(ck, "train.data", "a dataset source", R, &dc->source));
    SL__TRY(sl__meta_name(ck, "train.split", split_names, 4, R, &k));
    dc->split = (sl_split)k;
    SL__TRY(sl__meta_uint(ck, "train.data_seed", 0, UINT64_MAX, R, &dc->seed));
    uint64_t cnt = dc->shapes_count;
    SL__TRY(sl__meta_uint(ck, "train.data_count", 0, SIZE_MAX, R, &cnt));
    dc->shapes_count = (size_t)cnt;
    /* Absent in checkpoints written before the option existed: the source's default. */
    SL__TRY(sl__meta_double(ck, "train.val_fraction", -1, 0.99, 0, &dc->val_fraction));
    SL__TRY(sl__meta_uint(ck, "train.image_size", 0, 4096, R, &u));
    dc->size = (int)u;
    SL__TRY(sl__meta_double(ck, "train.test_fraction", 0, 0.99, 0, &dc->test_fraction));
    u = (uint64_t)dc->channels;
    SL__TRY(sl__meta_uint(ck, "train.channels", 1, 3, 0, &u));
    if (u == 2) return sl__meta_fail(ck, "train.channels", "1 or 3");
    dc->channels = (int)u;
    SL__TRY(sl__meta_str(ck, "train.labels", "a labels file", 0, &dc->labels));
    SL__TRY(sl__meta_str(ck, "train.image_dir", "a folder", 0, &dc->image_dir));
    u = dc->shapes_rotate;
    SL__TRY(sl__meta_uint(ck, "train.shapes_rotate", 1, 1, 0, &u));
    dc->shapes_rotate = u != 0;
    double noise = dc->shapes_noise;
    SL__TRY(sl__meta_double(ck, "train.shapes_noise", 0, 1, SL__META_ABOVE_LO, &noise));
    dc->shapes_noise = (float)noise;
    return SL_OK;
}

/* Copy the strings of dc that point into a checkpoint into buf (cap bytes),
 * one after the other, and point dc at the copies. */
static sl_status keep_strings(const char *path, sl_data_config *dc, char *buf, size_t cap) {
    const char **strs[] = {&dc->source, &dc->labels, &dc->image_dir};
    size_t used = 0;
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        if (!*strs[i]) continue;
        size_t n = strlen(*strs[i]) + 1;
        if (n > cap - used)
            return sl__fail(SL_ERR_RANGE, "%s: the dataset settings' paths are longer than %zu bytes", path,
                            cap ? cap - 1 : 0);
        memcpy(buf + used, *strs[i], n);
        *strs[i] = buf + used;
        used += n;
    }
    return SL_OK;
}

sl_status sl_train_checkpoint_data(const char *path, sl_data_config *dc, char *source, size_t cap) {
    sl_tensors *ck;
    SL__TRY(sl_safetensors_read(path, &ck));
    sl_data_config d = *dc;
    d.source = d.labels = d.image_dir = NULL;
    sl_status s = sl__train_ckpt_data(ck, false, &d);
    if (!s) s = keep_strings(path, &d, source, cap);
    if (!s) {
        if (!d.source) d.source = dc->source;
        if (!d.labels) d.labels = dc->labels;
        if (!d.image_dir) d.image_dir = dc->image_dir;
        *dc = d;
    }
    sl_tensors_destroy(ck);
    return s;
}

/* ---- the data of an embedding ------------------------------------------------ */

void sl__embed_data_merge(const sl_embed_config *c, const sl_data_config *md, sl_data_config *dc) {
    sl_data_config_default(dc);
    /* Paths that belong to a source come with the model's source only. */
    bool same = !c->data || (md->source && strcmp(c->data, md->source) == 0);
    dc->source = c->data ? c->data : md->source;
    dc->split = c->split;
    dc->seed = c->data_seed ? c->data_seed : md->seed;
    dc->shapes_count = c->data_count;
    dc->val_fraction = c->val_fraction >= 0 ? c->val_fraction : md->val_fraction;
    dc->test_fraction = c->test_fraction >= 0 ? c->test_fraction : md->test_fraction;
    dc->size = c->image_size ? c->image_size : md->size;
    dc->channels = c->channels ? c->channels : md->channels;
    dc->labels = c->labels ? c->labels : same ? md->labels : NULL;
    dc->image_dir = c->image_dir ? c->image_dir : same ? md->image_dir : NULL;
    dc->shapes_rotate = c->shapes_rotate || md->shapes_rotate;
    dc->shapes_noise = c->shapes_noise >= 0 ? c->shapes_noise : md->shapes_noise;
}

sl_status sl_embed_data_config(const sl_embed_config *c, sl_data_config *dc, char *buf, size_t cap) {
    sl_data_config md;
    sl_data_config_default(&md);
    if (c->model) SL__TRY(sl_train_checkpoint_data(c->model, &md, buf, cap));
    sl__embed_data_merge(c, &md, dc);
    return SL_OK;
}

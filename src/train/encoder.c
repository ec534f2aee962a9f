/* A trained encoder held in memory: the models of a checkpoint loaded once,
 * then images (or, for CLIP models, lines of text) embedded batch by batch in
 * eval mode. sl_embed_run embeds datasets through the same code
 * (sl__encoder_from, sl__encoder_batch). */
#include "train/train_internal.h"

#include <math.h>
#include <string.h>

struct sl_encoder {
    sl_model *m[2];      /* encoder, projector (or NULL) */
    sl_model *text;      /* CLIP text tower, or NULL */
    sl__vocab *voc;      /* its tokenizer */
    float sc, sh;        /* input normalisation: (x - sh) * sc */
    size_t item, dim;    /* values per image, embedding width */
    float *xin;          /* a normalised or tokenised batch */
    size_t cap;          /* floats xin holds */
};

void sl_encoder_config_default(sl_encoder_config *c) {
    memset(c, 0, sizeof *c);
}

void sl_encoder_destroy(sl_encoder *e) {
    if (!e) return;
    sl_model_destroy(e->m[0]);
    sl_model_destroy(e->m[1]);
    sl_model_destroy(e->text);
    sl__vocab_destroy(e->voc);
    sl__free(e->xin);
    sl__free(e);
}

static sl_status encoder_models(const sl_tensors *ck, const sl__encoder_parts *p, sl_encoder *e) {
    if (p->image) {
        double mean = 0, std = 1;
        SL__TRY(sl__train_ckpt_norm(ck, false, &mean, &std));
        e->sc = (float)(1 / std), e->sh = (float)mean;
        SL__TRY(sl_model_import(ck, "encoder.", 0, &e->m[0]));
        if (p->projector) {
            if (!sl_tensors_get_meta(ck, "projector.spec"))
                return sl__fail(SL_ERR_ARG, "%s: %s: the model has no projector", p->path, p->projector_option);
            SL__TRY(sl_model_import(ck, "projector.", 0, &e->m[1]));
        }
        sl_shape in = sl_model_input_shape(e->m[0]), os = sl_model_output_shape(e->m[1] ? e->m[1] : e->m[0]);
        e->item = sl_shape_count(&in);
        e->dim = sl_shape_count(&os);
    }
    if (p->text == 2 || (p->text == 1 && sl_tensors_get_meta(ck, "text.vocab"))) {
        SL__TRY(sl__vocab_from(ck, &e->voc));
        SL__TRY(sl_model_import(ck, "text.", 0, &e->text));
    }
    return SL_OK;
}

sl_status sl__encoder_from(const sl_tensors *ck, const sl__encoder_parts *p, sl_encoder **out) {
    sl_encoder *e = sl__calloc(1, sizeof *e);
    sl_status s = e ? encoder_models(ck, p, e) : sl__fail(SL_ERR_NOMEM, "encoder: out of memory");
    if (s) {
        sl_encoder_destroy(e);
        return s;
    }
    *out = e;
    return SL_OK;
}

sl_status sl_encoder_load(const char *path, bool projector, sl_encoder **out) {
    if (!path || !out) return sl__fail(SL_ERR_ARG, "encoder: no checkpoint path");
    sl_tensors *ck = NULL;
    sl_error_clear();
    SL__TRY(sl__embed_checkpoint(path, &ck));
    sl__encoder_parts p = {.path = path, .image = true, .projector = projector, .projector_option = "projector", .text = 1};
    sl_status s = sl__encoder_from(ck, &p, out);
    sl_tensors_destroy(ck);
    return s;
}

sl_shape sl_encoder_input_shape(const sl_encoder *e) { return sl_model_input_shape(e->m[0]); }
size_t sl_encoder_dim(const sl_encoder *e) { return e->dim; }
bool sl_encoder_has_text(const sl_encoder *e) { return e->text != NULL; }

size_t sl_encoder_text_dim(const sl_encoder *e) {
    if (!e->text) return 0;
    sl_shape os = sl_model_output_shape(e->text);
    return sl_shape_count(&os);
}

/* The input buffer for B items of `item` floats. */
static sl_status reserve(sl_encoder *e, size_t B, size_t item) {
    if (B * item <= e->cap) return SL_OK;
    float *x = sl__malloc_array(B, item * sizeof(float), "encoder: input batch");
    if (!x) return SL_ERR_NOMEM;
    sl__free(e->xin);
    e->xin = x, e->cap = B * item;
    return SL_OK;
}

static sl_status check_finite(const float *x, size_t n, size_t item) {
    for (size_t i = 0; i < n * item; i++)
        if (!isfinite(x[i]))
            return sl__fail(SL_ERR_NUMERIC, "encoder: image %zu, value %zu: %g is not finite", i / item, i % item,
                            (double)x[i]);
    return SL_OK;
}

static sl_status interrupted(const sl_encoder_config *c, size_t done, size_t n) {
    if (c->stop && *c->stop) return sl__fail(SL_ERR_INTERRUPTED, "encoder: interrupted after %zu of %zu", done, n);
    return SL_OK;
}

sl_status sl__encoder_batch(sl_encoder *e, const float *x, size_t n, const float **y) {
    SL__TRY(reserve(e, n, e->item));
    for (size_t i = 0; i < n * e->item; i++) e->xin[i] = (x[i] - e->sh) * e->sc;
    SL__TRY(sl_model_forward(e->m[0], e->xin, n, false, y));
    if (e->m[1]) SL__TRY(sl_model_forward(e->m[1], *y, n, false, y));
    return SL_OK;
}

sl_status sl_encoder_embed(sl_encoder *e, const float *x, size_t n, const sl_encoder_config *c, float *out) {
    sl_encoder_config def;
    if (!c) sl_encoder_config_default(&def), c = &def;
    if (n == 0) return sl__fail(SL_ERR_ARG, "encoder: no images");
    SL__TRY(check_finite(x, n, e->item));
    size_t B = c->batch ? c->batch : 256;
    if (B > n) B = n;
    sl_threads_set(c->threads);
    for (size_t done = 0; done < n;) {
        SL__TRY(interrupted(c, done, n));
        size_t b = n - done < B ? n - done : B;
        const float *y;
        SL__TRY(sl__encoder_batch(e, x + done * e->item, b, &y));
        memcpy(out + done * e->dim, y, b * e->dim * sizeof(float));
        done += b;
    }
    if (c->normalize) sl_rows_normalize(out, n, e->dim);
    return SL_OK;
}

sl_status sl_encoder_embed_text(sl_encoder *e, const char *const *lines, size_t n, const sl_encoder_config *c,
                                float *out) {
    sl_encoder_config def;
    if (!c) sl_encoder_config_default(&def), c = &def;
    if (!e->text) return sl__fail(SL_ERR_ARG, "encoder: the model has no text tower (not a CLIP model)");
    if (n == 0) return sl__fail(SL_ERR_ARG, "encoder: no lines of text");
    for (size_t i = 0; i < n; i++)
        if (!lines[i]) return sl__fail(SL_ERR_ARG, "encoder: line %zu is NULL", i);
    size_t B = c->batch ? c->batch : 256, T = e->voc->max_tokens, d = sl_encoder_text_dim(e);
    if (B > n) B = n;
    SL__TRY(reserve(e, B, T));
    sl_threads_set(c->threads);
    for (size_t done = 0; done < n;) {
        SL__TRY(interrupted(c, done, n));
        size_t b = n - done < B ? n - done : B;
        for (size_t i = 0; i < b; i++) sl__vocab_encode(e->voc, lines[done + i], e->xin + i * T);
        const float *y;
        SL__TRY(sl_model_forward(e->text, e->xin, b, false, &y));
        memcpy(out + done * d, y, b * d * sizeof(float));
        done += b;
    }
    if (c->normalize) sl_rows_normalize(out, n, d);
    return SL_OK;
}

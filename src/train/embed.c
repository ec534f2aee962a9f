/* Embedding a dataset with a trained model (encoder or projector output, or
 * the CLIP text tower on lines of text), batch by batch in eval mode, with
 * every label of every item; and a leave-one-out kNN accuracy for quick
 * checks of what an embedding keeps. */
#include "train/train_internal.h"

#include "simlearn/eval.h"
#include "simlearn/index.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sl_embed_config_default(sl_embed_config *c) {
    memset(c, 0, sizeof *c);
    c->split = SL_SPLIT_TRAIN;
    c->val_fraction = -1;
    c->test_fraction = -1;
    c->shapes_noise = -1;
}

void sl_embedding_destroy(sl_embedding *e) {
    if (!e) return;
    for (int k = 0; e->attr_names && k < e->n_attrs; k++) sl__free(e->attr_names[k]);
    sl__free(e->attr_names);
    sl__free(e->attr_classes);
    sl__free(e->x);
    sl__free(e->labels);
    sl__free(e);
}

/* Lines of a text file, without newlines, empty lines dropped. */
static sl_status read_lines(const char *path, char ***lines, size_t *n) {
    FILE *f = fopen(path, "r");
    if (!f) return sl__fail(SL_ERR_NOTFOUND, "%s: cannot open", path);
    size_t cap = 0, k = 0;
    char **v = NULL, buf[SL_CAPTION_MAX];
    sl_status s = SL_OK;
    while (!s && fgets(buf, sizeof buf, f)) {
        size_t len = strcspn(buf, "\r\n");
        buf[len] = 0;
        if (!len) continue;
        if (k == cap) {
            cap = cap ? 2 * cap : 64;
            char **nv = sl__realloc(v, cap * sizeof *nv);
            if (!nv) {
                s = sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            v = nv;
        }
        if (!(v[k] = sl__strdup(buf))) s = sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
        else k++;
    }
    fclose(f);
    if (!s && k == 0) s = sl__fail(SL_ERR_FORMAT, "%s: no lines of text", path);
    if (s) {
        for (size_t i = 0; i < k; i++) sl__free(v[i]);
        sl__free(v);
        return s;
    }
    *lines = v;
    *n = k;
    return SL_OK;
}

sl_status sl__train_ckpt_norm(const sl_tensors *ck, bool required, double *mean, double *std) {
    unsigned f = required ? SL__META_REQUIRED : 0;
    SL__TRY(sl__meta_double(ck, "train.input_mean", -INFINITY, INFINITY, f, mean));
    return sl__meta_double(ck, "train.input_std", 0, INFINITY, f | SL__META_ABOVE_LO, std);
}

/* A CLIP checkpoint's vocabulary; what names the option that needs it. */
static sl_status text_vocab(const sl_embed_config *c, const sl_tensors *ck, const char *what, sl__vocab **v) {
    if (!sl_tensors_get_meta(ck, "text.vocab"))
        return sl__fail(SL_ERR_ARG, "%s: %s needs a CLIP model (no text tower)", c->model, what);
    return sl__vocab_from(ck, v);
}

sl_status sl__embed_lines(const sl_tensors *ck, const char *const *lines, size_t n, sl_embedding *e) {
    sl_encoder *enc = NULL;
    sl__encoder_parts p = {.text = 2};
    sl_status s = sl__encoder_from(ck, &p, &enc);
    if (!s) {
        e->n = n;
        e->d = sl_encoder_text_dim(enc);
        if (!(e->x = sl__malloc_array(n, e->d * sizeof(float), "embeddings"))) s = SL_ERR_NOMEM;
    }
    if (!s) {
        /* One pass over all lines, on the caller's threads. */
        sl_encoder_config c;
        sl_encoder_config_default(&c);
        c.batch = n, c.threads = sl_threads_get();
        s = sl_encoder_embed_text(enc, lines, n, &c, e->x);
    }
    sl_encoder_destroy(enc);
    if (s == SL_ERR_NOMEM && !*sl_error_message()) sl__fail(s, "embed: out of memory");
    return s;
}

static sl_status embed_text(const sl_embed_config *c, const sl_tensors *ck, sl_embedding *e) {
    if (!sl_tensors_get_meta(ck, "text.vocab"))
        return sl__fail(SL_ERR_ARG, "%s: --text needs a CLIP model (no text tower)", c->model);
    char **lines = NULL;
    size_t n = 0;
    SL__TRY(read_lines(c->text_file, &lines, &n));
    sl_status s = sl__embed_lines(ck, (const char *const *)lines, n, e);
    if (!s && c->progress) sl_progress_update(c->progress, n, NULL);
    for (size_t i = 0; i < n; i++) sl__free(lines[i]);
    sl__free(lines);
    return s;
}

/* What embedding a dataset works with. */
typedef struct {
    const sl_dataset *d;
    sl_encoder *enc;    /* images: encoder (and projector); none for raw pixels */
    sl_model *text;     /* captions: the text tower */
    sl__vocab *voc;     /* and its vocabulary */
    sl_batcher *bt;
    float *xin;         /* captions: B x item token ids */
    size_t B, item, dim;
} embed_run;

/* The models of the checkpoint that embedding needs, checked against d. */
static sl_status open_models(const sl_embed_config *c, const sl_tensors *ck, embed_run *r) {
    if (c->captions) {
        SL__TRY(text_vocab(c, ck, "--captions", &r->voc));
        SL__TRY(sl_model_import(ck, "text.", 0, &r->text));
        if (!sl_data_has_captions(r->d)) return sl__fail(SL_ERR_ARG, "%s has no captions", sl_data_name(r->d));
        return SL_OK;
    }
    if (!ck) return SL_OK;
    sl__encoder_parts p = {.path = c->model, .image = true, .projector = c->projector, .projector_option = "--projector"};
    SL__TRY(sl__encoder_from(ck, &p, &r->enc));
    sl_shape in = sl_encoder_input_shape(r->enc);
    if (sl_shape_count(&in) != sl_data_item_size(r->d))
        return sl__fail(SL_ERR_ARG, "%s: the model takes %zu values per item, %s gives %dx%dx%d", c->model,
                        sl_shape_count(&in), sl_data_name(r->d), sl_data_channels(r->d), sl_data_height(r->d),
                        sl_data_width(r->d));
    return SL_OK;
}

/* The batch producer (in order, every item once), the input buffer and the
 * embedding's arrays. */
static sl_status prepare(const sl_embed_config *c, embed_run *r, sl_embedding *e) {
    r->B = c->batch ? c->batch : 256;
    r->item = r->voc ? r->voc->max_tokens : sl_data_item_size(r->d);
    sl_batch_config bc;
    sl_batch_config_default(&bc);
    bc.data = r->d;
    bc.mode = r->voc ? SL_BATCH_CAPTION : SL_BATCH_ONE_VIEW;
    bc.batch_size = r->B < sl_data_count(r->d) ? r->B : sl_data_count(r->d);
    bc.shuffle = false;
    bc.drop_last = false;
    bc.epochs = 1;
    bc.seed = 0;
    SL__TRY(sl_batcher_create(&bc, &r->bt));
    size_t n = sl_data_count(r->d);
    r->dim = r->item;
    if (r->enc) {
        r->dim = sl_encoder_dim(r->enc);
    } else if (r->text) {
        sl_shape os = sl_model_output_shape(r->text);
        r->dim = sl_shape_count(&os);
    }
    int na = sl_data_num_attrs(r->d);
    e->n = n;
    e->d = r->dim;
    e->n_attrs = na;
    e->x = sl__malloc_array(n, r->dim * sizeof(float), "embeddings");
    e->labels = sl__malloc_array(n, (size_t)(na ? na : 1) * sizeof(int32_t), "labels");
    e->attr_names = sl__calloc((size_t)(na ? na : 1), sizeof(char *));
    e->attr_classes = sl__calloc((size_t)(na ? na : 1), sizeof(int));
    if (r->voc && !(r->xin = sl__malloc_array(r->B, r->item * sizeof(float), "input batch"))) return SL_ERR_NOMEM;
    if (!e->x || !e->labels || !e->attr_names || !e->attr_classes) return SL_ERR_NOMEM;
    for (int k = 0; k < na; k++) {
        e->attr_classes[k] = sl_data_attr(r->d, k)->n_classes;
        if (!(e->attr_names[k] = sl__strdup(sl_data_attr(r->d, k)->name))) return SL_ERR_NOMEM;
    }
    return SL_OK;
}

/* Every batch through the models (or as it is, for raw pixels) into e. */
static sl_status run_batches(const sl_embed_config *c, embed_run *r, sl_embedding *e) {
    size_t done = 0, na = (size_t)e->n_attrs, item = r->item;
    while (done < e->n) {
        if (c->stop && *c->stop)
            return sl__fail(SL_ERR_INTERRUPTED, "embed: interrupted after %zu of %zu items", done, e->n);
        const sl_batch *b;
        SL__TRY(sl_batcher_next(r->bt, &b));
        const float *y = b->x;
        if (r->voc) {
            for (size_t i = 0; i < b->n; i++) sl__vocab_encode(r->voc, b->captions[i], r->xin + i * item);
            SL__TRY(sl_model_forward(r->text, r->xin, b->n, false, &y));
        } else if (r->enc) {
            SL__TRY(sl__encoder_batch(r->enc, b->x, b->n, &y));
        }
        memcpy(e->x + done * r->dim, y, b->n * r->dim * sizeof(float));
        if (na) memcpy(e->labels + done * na, b->labels, b->n * na * sizeof(int32_t));
        done += b->n;
        if (c->progress) sl_progress_update(c->progress, done, NULL);
    }
    return SL_OK;
}

sl_status sl__embed_open_data(const sl_embed_config *c, const sl_tensors *ck, sl_dataset **out) {
    /* The model's data settings fill what the caller left unset. */
    sl_data_config dc, md;
    sl_data_config_default(&md);
    if (ck) SL__TRY(sl__train_ckpt_data(ck, false, &md));
    sl__embed_data_merge(c, &md, &dc);
    return sl_data_open(&dc, out);
}

sl_status sl__embed_dataset(const sl_embed_config *c, const sl_tensors *ck, const sl_dataset *d, sl_embedding *e) {
    embed_run r = {.d = d};
    sl_status s = open_models(c, ck, &r);
    if (!s) s = prepare(c, &r, e);
    if (!s) s = run_batches(c, &r, e);
    sl__free(r.xin);
    sl__vocab_destroy(r.voc);
    sl_batcher_destroy(r.bt);
    sl_encoder_destroy(r.enc);
    sl_model_destroy(r.text);
    if (s == SL_ERR_NOMEM && !*sl_error_message()) sl__fail(s, "embed: out of memory");
    return s;
}

static sl_status embed_data(const sl_embed_config *c, const sl_tensors *ck, sl_embedding *e) {
    sl_dataset *d = NULL;
    sl_status s = sl__embed_open_data(c, ck, &d);
    if (!s) s = sl__embed_dataset(c, ck, d, e);
    sl_data_destroy(d);
    return s;
}

sl_status sl__embed_checkpoint(const char *path, sl_tensors **out) {
    sl_tensors *ck;
    SL__TRY(sl_safetensors_read(path, &ck));
    if (!sl_tensors_get_meta(ck, "encoder.spec")) {
        sl_tensors_destroy(ck);
        return sl__fail(SL_ERR_FORMAT, "%s: not a simlearn training checkpoint (no encoder.spec)", path);
    }
    *out = ck;
    return SL_OK;
}

sl_status sl_embed_run(const sl_embed_config *c, sl_embedding **out) {
    if (!c || !out) return sl__fail(SL_ERR_ARG, "embed: no configuration");
    if ((c->text_file || c->captions) && !c->model) return sl__fail(SL_ERR_ARG, "embed: --text and --captions need --model");
    sl_threads_set(c->threads);
    sl_tensors *ck = NULL;
    sl_error_clear();
    if (c->model) SL__TRY(sl__embed_checkpoint(c->model, &ck));
    sl_embedding *e = sl__calloc(1, sizeof *e);
    sl_status s = e ? SL_OK : sl__fail(SL_ERR_NOMEM, "embed: out of memory");
    if (!s) s = c->text_file ? embed_text(c, ck, e) : embed_data(c, ck, e);
    sl_tensors_destroy(ck);
    if (!s && c->normalize) sl_rows_normalize(e->x, e->n, e->d);
    if (s) {
        sl_embedding_destroy(e);
        return s;
    }
    *out = e;
    return SL_OK;
}

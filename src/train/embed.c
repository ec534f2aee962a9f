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

sl_status sl__train_ckpt_data(const sl_tensors *ck, sl_data_config *dc) {
    uint64_t u = (uint64_t)dc->size;
    SL__TRY(sl__meta_str(ck, "train.data", "a dataset source", 0, &dc->source));
    SL__TRY(sl__meta_uint(ck, "train.data_seed", 0, UINT64_MAX, 0, &dc->seed));
    SL__TRY(sl__meta_double(ck, "train.val_fraction", -1, 0.99, 0, &dc->val_fraction));
    SL__TRY(sl__meta_uint(ck, "train.image_size", 0, 4096, 0, &u));
    dc->size = (int)u;
    return SL_OK;
}

sl_status sl__train_ckpt_norm(const sl_tensors *ck, bool required, double *mean, double *std) {
    unsigned f = required ? SL__META_REQUIRED : 0;
    SL__TRY(sl__meta_double(ck, "train.input_mean", -INFINITY, INFINITY, f, mean));
    return sl__meta_double(ck, "train.input_std", 0, INFINITY, f | SL__META_ABOVE_LO, std);
}

sl_status sl_train_checkpoint_data(const char *path, sl_data_config *dc, char *source, size_t cap) {
    sl_tensors *ck;
    SL__TRY(sl_safetensors_read(path, &ck));
    sl_data_config d = *dc;
    d.source = NULL;
    sl_status s = sl__train_ckpt_data(ck, &d);
    if (!s && d.source) {
        if (strlen(d.source) >= cap)
            s = sl__fail(SL_ERR_RANGE, "%s: metadata 'train.data' is longer than %zu bytes", path, cap ? cap - 1 : 0);
        else
            memcpy(source, d.source, strlen(d.source) + 1), d.source = source;
    }
    if (!s) {
        if (!d.source) d.source = dc->source;
        *dc = d;
    }
    sl_tensors_destroy(ck);
    return s;
}

/* A CLIP checkpoint's vocabulary; what names the option that needs it. */
static sl_status text_vocab(const sl_embed_config *c, const sl_tensors *ck, const char *what, sl__vocab **v) {
    if (!sl_tensors_get_meta(ck, "text.vocab"))
        return sl__fail(SL_ERR_ARG, "%s: %s needs a CLIP model (no text tower)", c->model, what);
    return sl__vocab_from(ck, v);
}

static sl_status embed_text(const sl_embed_config *c, const sl_tensors *ck, sl_embedding *e) {
    sl__vocab *v = NULL;
    sl_model *m = NULL;
    char **lines = NULL;
    size_t n = 0;
    float *ids = NULL;
    sl_status s = text_vocab(c, ck, "--text", &v);
    if (!s) s = sl_model_import(ck, "text.", 0, &m);
    if (!s) s = read_lines(c->text_file, &lines, &n);
    if (!s && !(ids = sl__malloc_array(n, v->max_tokens * sizeof(float), "token ids"))) s = SL_ERR_NOMEM;
    const float *y;
    if (!s) {
        for (size_t i = 0; i < n; i++) sl__vocab_encode(v, lines[i], ids + i * v->max_tokens);
        s = sl_model_forward(m, ids, n, false, &y);
    }
    if (!s) {
        sl_shape os = sl_model_output_shape(m);
        e->n = n;
        e->d = sl_shape_count(&os);
        if (!(e->x = sl__malloc_array(n, e->d * sizeof(float), "embeddings"))) s = SL_ERR_NOMEM;
        else memcpy(e->x, y, n * e->d * sizeof(float));
    }
    if (!s && c->progress) sl_progress_update(c->progress, n, NULL);
    for (size_t i = 0; lines && i < n; i++) sl__free(lines[i]);
    sl__free(lines);
    sl__free(ids);
    sl_model_destroy(m);
    sl__vocab_destroy(v);
    if (s == SL_ERR_NOMEM && !*sl_error_message()) sl__fail(s, "embed: out of memory");
    return s;
}

static sl_status embed_data(const sl_embed_config *c, const sl_tensors *ck, sl_embedding *e) {
    /* The model's data settings fill what the caller left at 0. */
    sl_data_config dc, md;
    sl_data_config_default(&dc);
    md = dc;
    md.source = "shapes";
    double mean = 0, std = 1;
    if (ck) {
        SL__TRY(sl__train_ckpt_data(ck, &md));
        if (!c->captions) SL__TRY(sl__train_ckpt_norm(ck, false, &mean, &std));
    }
    dc.source = c->data ? c->data : md.source;
    dc.split = c->split;
    dc.seed = c->data_seed ? c->data_seed : md.seed;
    dc.shapes_count = c->data_count;
    dc.val_fraction = c->val_fraction >= 0 ? c->val_fraction : md.val_fraction;
    dc.size = c->image_size ? c->image_size : md.size;
    sl_model *m[2] = {NULL, NULL};
    sl_dataset *d = NULL;
    sl_batcher *bt = NULL;
    float *xin = NULL;
    sl_status s = sl_data_open(&dc, &d);
    sl__vocab *voc = NULL;
    if (!s && c->captions) {
        s = text_vocab(c, ck, "--captions", &voc);
        if (!s) s = sl_model_import(ck, "text.", 0, &m[0]);
        if (!s && !sl_data_has_captions(d)) s = sl__fail(SL_ERR_ARG, "%s has no captions", sl_data_name(d));
    } else if (!s && ck) {
        s = sl_model_import(ck, "encoder.", 0, &m[0]);
        if (!s && c->projector) {
            if (!sl_tensors_get_meta(ck, "projector.spec"))
                s = sl__fail(SL_ERR_ARG, "%s: --projector: the model has no projector", c->model);
            else
                s = sl_model_import(ck, "projector.", 0, &m[1]);
        }
        if (!s) {
            sl_shape in = sl_model_input_shape(m[0]);
            if (sl_shape_count(&in) != sl_data_item_size(d))
                s = sl__fail(SL_ERR_ARG, "%s: the model takes %zu values per item, %s gives %dx%dx%d", c->model,
                             sl_shape_count(&in), sl_data_name(d), sl_data_channels(d), sl_data_height(d),
                             sl_data_width(d));
        }
    }
    size_t B = c->batch ? c->batch : 256, item = d ? sl_data_item_size(d) : 0;
    if (voc) item = voc->max_tokens;
    if (!s) {
        sl_batch_config bc;
        sl_batch_config_default(&bc);
        bc.data = d;
        bc.mode = voc ? SL_BATCH_CAPTION : SL_BATCH_ONE_VIEW;
        bc.batch_size = B < sl_data_count(d) ? B : sl_data_count(d);
        bc.shuffle = false;
        bc.drop_last = false;
        bc.epochs = 1;
        bc.seed = 0;
        s = sl_batcher_create(&bc, &bt);
    }
    size_t n = d ? sl_data_count(d) : 0, dim = item;
    if (!s && m[0]) {
        sl_shape os = sl_model_output_shape(m[1] ? m[1] : m[0]);
        dim = sl_shape_count(&os);
    }
    int na = d ? sl_data_num_attrs(d) : 0;
    if (!s) {
        e->n = n;
        e->d = dim;
        e->n_attrs = na;
        e->x = sl__malloc_array(n, dim * sizeof(float), "embeddings");
        e->labels = sl__malloc_array(n, (size_t)(na ? na : 1) * sizeof(int32_t), "labels");
        e->attr_names = sl__calloc((size_t)(na ? na : 1), sizeof(char *));
        e->attr_classes = sl__calloc((size_t)(na ? na : 1), sizeof(int));
        xin = sl__malloc_array(B, item * sizeof(float), "input batch");
        if (!e->x || !e->labels || !e->attr_names || !e->attr_classes || !xin) s = SL_ERR_NOMEM;
        for (int k = 0; !s && k < na; k++) {
            e->attr_classes[k] = sl_data_attr(d, k)->n_classes;
            if (!(e->attr_names[k] = sl__strdup(sl_data_attr(d, k)->name))) s = SL_ERR_NOMEM;
        }
    }
    size_t done = 0;
    while (!s && done < n) {
        if (c->stop && *c->stop) {
            s = sl__fail(SL_ERR_INTERRUPTED, "embed: interrupted after %zu of %zu items", done, n);
            break;
        }
        const sl_batch *b;
        s = sl_batcher_next(bt, &b);
        if (s) break;
        const float *y = b->x;
        if (voc) {
            for (size_t i = 0; i < b->n; i++) sl__vocab_encode(voc, b->captions[i], xin + i * item);
            s = sl_model_forward(m[0], xin, b->n, false, &y);
            if (s) break;
        } else if (m[0]) {
            float sc = (float)(1 / std), sh = (float)mean;
            for (size_t i = 0; i < b->n * item; i++) xin[i] = (b->x[i] - sh) * sc;
            s = sl_model_forward(m[0], xin, b->n, false, &y);
            if (!s && m[1]) s = sl_model_forward(m[1], y, b->n, false, &y);
            if (s) break;
        }
        memcpy(e->x + done * dim, y, b->n * dim * sizeof(float));
        if (na) memcpy(e->labels + done * (size_t)na, b->labels, b->n * (size_t)na * sizeof(int32_t));
        done += b->n;
        if (c->progress) sl_progress_update(c->progress, done, NULL);
    }
    sl__free(xin);
    sl__vocab_destroy(voc);
    sl_batcher_destroy(bt);
    sl_model_destroy(m[0]);
    sl_model_destroy(m[1]);
    sl_data_destroy(d);
    if (s == SL_ERR_NOMEM && !*sl_error_message()) sl__fail(s, "embed: out of memory");
    return s;
}

sl_status sl_embed_run(const sl_embed_config *c, sl_embedding **out) {
    if (!c || !out) return sl__fail(SL_ERR_ARG, "embed: no configuration");
    if ((c->text_file || c->captions) && !c->model) return sl__fail(SL_ERR_ARG, "embed: --text and --captions need --model");
    sl_threads_set(c->threads);
    sl_tensors *ck = NULL;
    sl_error_clear();
    if (c->model) {
        SL__TRY(sl_safetensors_read(c->model, &ck));
        if (!sl_tensors_get_meta(ck, "encoder.spec")) {
            sl_tensors_destroy(ck);
            return sl__fail(SL_ERR_FORMAT, "%s: not a simlearn training checkpoint (no encoder.spec)", c->model);
        }
    }
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

sl_status sl_train_knn_accuracy(const float *x, size_t n, size_t d, const int32_t *labels, int n_classes, size_t k,
                                double *acc) {
    if (n < 2 || k == 0 || n_classes < 1) return sl__fail(SL_ERR_ARG, "knn: needs n >= 2, k >= 1 and classes");
    if (k > n - 1) k = n - 1;
    int64_t *ids = sl__malloc_array(n, k * sizeof(int64_t), "knn ids");
    float *sc = sl__malloc_array(n, k * sizeof(float), "knn scores");
    int64_t *lab = sl__malloc_array(n, 2 * sizeof(int64_t), "knn labels");
    sl_status s = (ids && sc && lab) ? SL_OK : sl__fail(SL_ERR_NOMEM, "knn: out of memory");
    sl_flat_config fc;
    memset(&fc, 0, sizeof fc);
    fc.metric = SL_METRIC_COSINE;
    fc.k = k;
    fc.exclude_self = true;
    if (!s) s = sl_flat_search(x, n, d, x, n, d, &fc, ids, sc);
    sl_knn_config kc;
    memset(&kc, 0, sizeof kc);
    kc.k = k;
    kc.vote = SL_VOTE_MAJORITY;
    kc.metric = SL_METRIC_COSINE;
    int64_t *pred = lab ? lab + n : NULL;
    if (!s) {
        for (size_t i = 0; i < n; i++) lab[i] = labels[i];
        s = sl_knn_classify(ids, sc, n, k, lab, n, &kc, pred);
    }
    if (!s) {
        size_t right = 0, counted = 0;
        for (size_t i = 0; i < n; i++)
            if (labels[i] >= 0) counted++, right += pred[i] == labels[i];
        *acc = counted ? (double)right / (double)counted : 0;
    }
    sl__free(ids);
    sl__free(sc);
    sl__free(lab);
    return s;
}

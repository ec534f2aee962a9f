/* Zero-shot classification with a CLIP model: one prompt per class of an
 * attribute (a template filled with the class name) through the text tower,
 * the images through the encoder and the projector, each image given the
 * class of its most similar prompt by cosine, and the accuracy overall, per
 * class and as a confusion matrix. */
#include "train/train_internal.h"

#include "simlearn/index.h"

#include <math.h>
#include <string.h>

#define DEFAULT_PROMPT "a photo of a {}"

void sl_zeroshot_config_default(sl_zeroshot_config *c) {
    memset(c, 0, sizeof *c);
    sl_embed_config_default(&c->embed);
    c->embed.split = SL_SPLIT_VAL;
    c->attribute = NULL;
    c->prompt = DEFAULT_PROMPT;
    c->classes = NULL;
    c->n_classes = 0;
    c->stop = NULL;
}

void sl_zeroshot_result_destroy(sl_zeroshot_result *r) {
    if (!r) return;
    for (size_t i = 0; i < r->k; i++) {
        if (r->classes) sl__free(r->classes[i]);
        if (r->prompts) sl__free(r->prompts[i]);
    }
    sl__free(r->attribute);
    sl__free(r->classes);
    sl__free(r->prompts);
    sl__free(r->predicted);
    sl__free(r->labels);
    sl__free(r->counts);
    sl__free(r->class_accuracy);
    sl__free(r->confusion);
    sl__free(r);
}

/* The template with every "{}" replaced by word (NULL when out of memory). */
static char *fill(const char *tpl, const char *word) {
    size_t len = 0, lw = strlen(word);
    for (const char *p = tpl; *p;) {
        bool slot = p[0] == '{' && p[1] == '}';
        len += slot ? lw : 1;
        p += slot ? 2 : 1;
    }
    char *s = sl__malloc(len + 1), *q = s;
    if (!s) return NULL;
    for (const char *p = tpl; *p;) {
        if (p[0] == '{' && p[1] == '}') {
            memcpy(q, word, lw);
            q += lw;
            p += 2;
        } else {
            *q++ = *p++;
        }
    }
    *q = 0;
    return s;
}

/* The index of the attribute c names in d (the first when it names none). */
static sl_status find_attr(const sl_zeroshot_config *c, const sl_dataset *d, int *attr) {
    int na = sl_data_num_attrs(d);
    if (na == 0) return sl__fail(SL_ERR_ARG, "zeroshot: %s has no labels to classify", sl_data_name(d));
    *attr = c->attribute ? sl_data_find_attr(d, c->attribute) : 0;
    if (*attr >= 0) return SL_OK;
    char list[1024] = "";
    size_t at = 0;
    for (int k = 0; k < na && at < sizeof list; k++) {
        int w = snprintf(list + at, sizeof list - at, "%s%s", k ? ", " : "", sl_data_attr(d, k)->name);
        at += w > 0 ? (size_t)w : 0;
    }
    return sl__fail(SL_ERR_ARG, "zeroshot: %s has no attribute '%s' (its attributes: %s)", sl_data_name(d),
                    c->attribute, list);
}

/* The attribute's name, the class words and the prompts into r. */
static sl_status make_prompts(const sl_zeroshot_config *c, const sl_dataset *d, int attr, const char *tpl,
                              sl_zeroshot_result *r) {
    const sl_attr *a = sl_data_attr(d, attr);
    if (c->classes && c->n_classes != (size_t)a->n_classes)
        return sl__fail(SL_ERR_ARG, "zeroshot: %zu class names given, but attribute '%s' of %s has %d classes",
                        c->n_classes, a->name, sl_data_name(d), a->n_classes);
    size_t k = (size_t)a->n_classes;
    if (k == 0) return sl__fail(SL_ERR_ARG, "zeroshot: attribute '%s' of %s has no classes", a->name, sl_data_name(d));
    if (!(r->attribute = sl__strdup(a->name))) return SL_ERR_NOMEM;
    r->classes = sl__calloc(k, sizeof(char *));
    r->prompts = sl__calloc(k, sizeof(char *));
    if (!r->classes || !r->prompts) return SL_ERR_NOMEM;
    r->k = k;
    for (size_t i = 0; i < k; i++) {
        const char *w = c->classes ? c->classes[i] : a->class_names ? a->class_names[i] : NULL;
        if (!w || !*w)
            return sl__fail(SL_ERR_ARG, "zeroshot: class %zu of attribute '%s' has no name to put in the prompt", i,
                            a->name);
        if (!(r->classes[i] = sl__strdup(w)) || !(r->prompts[i] = fill(tpl, w))) return SL_ERR_NOMEM;
    }
    return SL_OK;
}

/* The result's arrays for n images. */
static sl_status alloc_counts(sl_zeroshot_result *r, size_t n) {
    size_t k = r->k, m = n ? n : 1;
    r->n_items = n;
    r->predicted = sl__malloc_array(m, sizeof(int32_t), "zeroshot: predictions");
    r->labels = sl__malloc_array(m, sizeof(int32_t), "zeroshot: labels");
    r->counts = sl__calloc(k, sizeof(size_t));
    r->class_accuracy = sl__malloc_array(k, sizeof(double), "zeroshot: accuracies");
    r->confusion = sl__calloc(k, k * sizeof(size_t));
    if (!r->predicted || !r->labels || !r->counts || !r->class_accuracy || !r->confusion) return SL_ERR_NOMEM;
    return SL_OK;
}

/* Each image's most similar prompt, and the tallies. */
static sl_status classify(const sl_embedding *te, const sl_embedding *ie, int attr, sl_zeroshot_result *r) {
    if (te->d != ie->d)
        return sl__fail(SL_ERR_ARG, "zeroshot: the text tower gives %zu dimensions but the projector %zu", te->d,
                        ie->d);
    size_t n = ie->n, k = r->k, na = (size_t)ie->n_attrs;
    SL__TRY(alloc_counts(r, n));
    int64_t *ids = sl__malloc_array(n ? n : 1, sizeof(int64_t), "zeroshot: predictions");
    float *sc = sl__malloc_array(n ? n : 1, sizeof(float), "zeroshot: scores");
    sl_status s = ids && sc ? SL_OK : SL_ERR_NOMEM;
    sl_flat_config fc;
    sl_flat_config_default(&fc);
    fc.metric = SL_METRIC_COSINE;
    fc.k = 1;
    if (!s && n) s = sl_flat_search(te->x, k, te->d, ie->x, n, ie->d, &fc, ids, sc);
    for (size_t i = 0; !s && i < n; i++) {
        int32_t l = ie->labels[i * na + (size_t)attr], p = (int32_t)ids[i];
        r->predicted[i] = p;
        r->labels[i] = l;
        if (l < 0) continue;
        if ((size_t)l >= k)
            s = sl__fail(SL_ERR_RANGE, "zeroshot: item %zu has class %d of '%s', which has %zu classes", i, (int)l,
                         r->attribute, k);
        else {
            r->counts[l]++;
            r->confusion[(size_t)l * k + (size_t)p]++;
            r->n++;
            r->correct += l == p;
        }
    }
    sl__free(ids);
    sl__free(sc);
    if (s) return s;
    size_t most = 0;
    for (size_t j = 0; j < k; j++) {
        r->class_accuracy[j] = r->counts[j] ? (double)r->confusion[j * k + j] / (double)r->counts[j] : NAN;
        most = SL__MAX(most, r->counts[j]);
    }
    r->accuracy = r->n ? (double)r->correct / (double)r->n : NAN;
    r->majority = r->n ? (double)most / (double)r->n : NAN;
    r->chance = 1.0 / (double)k;
    return SL_OK;
}

/* The checkpoint, the dataset, the prompts and both embeddings, then the scores. */
static sl_status zeroshot(const sl_zeroshot_config *c, const char *tpl, sl_zeroshot_result *r) {
    sl_embed_config ec = c->embed;
    ec.projector = true;
    ec.normalize = false;
    ec.text_file = NULL;
    ec.captions = false;
    ec.stop = c->stop;
    sl_tensors *ck = NULL;
    sl_dataset *d = NULL;
    sl_embedding *te = sl__calloc(1, sizeof *te), *ie = sl__calloc(1, sizeof *ie);
    int attr = 0;
    sl_status s = te && ie ? SL_OK : SL_ERR_NOMEM;
    if (!s) s = sl__embed_checkpoint(ec.model, &ck);
    if (!s && !sl_tensors_get_meta(ck, "text.vocab"))
        s = sl__fail(SL_ERR_ARG, "%s: not a CLIP model (no text tower); zero-shot classification needs a model "
                     "trained with --objective clip", ec.model);
    if (!s) s = sl__embed_open_data(&ec, ck, &d);
    if (!s) s = find_attr(c, d, &attr);
    if (!s) s = make_prompts(c, d, attr, tpl, r);
    if (!s && c->stop && *c->stop) s = sl__fail(SL_ERR_INTERRUPTED, "zeroshot: interrupted before the prompts");
    if (!s) s = sl__embed_lines(ck, (const char *const *)r->prompts, r->k, te);
    if (!s) s = sl__embed_dataset(&ec, ck, d, ie);
    if (!s) s = classify(te, ie, attr, r);
    sl_embedding_destroy(te);
    sl_embedding_destroy(ie);
    sl_data_destroy(d);
    sl_tensors_destroy(ck);
    return s;
}

sl_status sl_zeroshot_run(const sl_zeroshot_config *c, sl_zeroshot_result **out) {
    if (!c || !out) return sl__fail(SL_ERR_ARG, "zeroshot: no configuration");
    const char *tpl = c->prompt ? c->prompt : DEFAULT_PROMPT;
    if (!c->embed.model) return sl__fail(SL_ERR_ARG, "zeroshot: no model (give a CLIP checkpoint)");
    if (!strstr(tpl, "{}"))
        return sl__fail(SL_ERR_ARG, "zeroshot: the prompt template \"%s\" has no {} for the class name", tpl);
    sl_threads_set(c->embed.threads);
    sl_error_clear();
    sl_zeroshot_result *r = sl__calloc(1, sizeof *r);
    sl_status s = r ? zeroshot(c, tpl, r) : SL_ERR_NOMEM;
    if (s == SL_ERR_NOMEM && !*sl_error_message()) sl__fail(s, "zeroshot: out of memory");
    if (s) {
        sl_zeroshot_result_destroy(r);
        return s;
    }
    *out = r;
    return SL_OK;
}

/* Fine-tuning: the models of a new run start from the tensors of another
 * run's checkpoint. A tensor is taken when the checkpoint has it under the
 * same name (the tower's prefix and PyTorch's name, "encoder.0.weight") with
 * the same shape; the summary says what was taken, what is new and what of
 * the checkpoint is left unused, grouped by tower. */
#include "train/train_internal.h"

#include <math.h>
#include <string.h>

sl_status sl__train_init_open(const char *path, sl_tensors **out) {
    sl_tensors *ck;
    sl_status s = sl_safetensors_read(path, &ck);
    if (s) return sl__fail_prefix(s, "train: --init takes a checkpoint of simlearn train");
    const char *v = sl_tensors_get_meta(ck, "simlearn");
    if (!v || strcmp(v, "train-checkpoint 1") != 0) {
        s = sl__meta_fail(ck, "simlearn", "'train-checkpoint 1': --init takes a checkpoint written by simlearn train");
        sl_tensors_destroy(ck);
        return s;
    }
    *out = ck;
    return SL_OK;
}

sl_status sl__train_init_select(const char *list, const char *const *prefix, size_t n, bool *sel) {
    for (size_t k = 0; k < n; k++) sel[k] = list == NULL;
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        size_t k = 0;
        while (k < n && !(len + 1 == strlen(prefix[k]) && strncmp(p, prefix[k], len) == 0)) k++;
        if (k == n) {
            char known[256] = "";
            for (size_t j = 0; j < n; j++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%.*s", j ? ", " : "",
                         (int)strlen(prefix[j]) - 1, prefix[j]);
            return sl__fail(SL_ERR_ARG, "train: --init-towers: '%.*s' is not a tower (%s)", (int)len, p, known);
        }
        sel[k] = true;
        p += len + (p[len] == ',');
    }
    if (list && !*list) return sl__fail(SL_ERR_ARG, "train: --init-towers: no tower named");
    return SL_OK;
}

/* ---- lists of tensor names ------------------------------------------------ */

typedef struct names {
    char **v;
    size_t n, cap;
} names;

static sl_status names_add(names *l, const char *a, const char *b) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = sl__realloc(l->v, cap * sizeof *v);
        if (!v) return sl__fail(SL_ERR_NOMEM, "train: --init: out of memory");
        l->v = v, l->cap = cap;
    }
    size_t na = strlen(a), nb = strlen(b);
    char *s = sl__malloc(na + nb + 1);
    if (!s) return sl__fail(SL_ERR_NOMEM, "train: --init: out of memory");
    memcpy(s, a, na);
    memcpy(s + na, b, nb + 1);
    l->v[l->n++] = s;
    return SL_OK;
}

static bool names_has(const names *l, const char *s) {
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0) return true;
    return false;
}

static void names_free(names *l) {
    for (size_t i = 0; i < l->n; i++) sl__free(l->v[i]);
    sl__free(l->v);
}

/* The group of a name: up to and including its first dot (its tower). */
static size_t group_len(const char *s) {
    const char *d = strchr(s, '.');
    return d ? (size_t)(d - s) + 1 : strlen(s);
}

static size_t group_count(const names *l, const char *s, size_t g) {
    size_t c = 0;
    for (size_t i = 0; i < l->n; i++) c += group_len(l->v[i]) == g && strncmp(l->v[i], s, g) == 0;
    return c;
}

static void append(char *out, size_t cap, const char *fmt, ...) SL__PRINTF(3, 4);
static void append(char *out, size_t cap, const char *fmt, ...) {
    size_t used = strlen(out);
    va_list ap;
    va_start(ap, fmt);
    if (used < cap) vsnprintf(out + used, cap - used, fmt, ap);
    va_end(ap);
}

/* The names of cat, "tower.* (N)" for a tower whose every name in all is in
 * cat; at most 6 entries, then how many more. */
static void append_grouped(char *out, size_t cap, const names *cat, const names *all) {
    size_t shown = 0, more = 0;
    for (size_t i = 0; i < cat->n; i++) {
        const char *s = cat->v[i];
        size_t g = group_len(s);
        size_t in_cat = group_count(cat, s, g);
        bool whole = in_cat > 1 && in_cat == group_count(all, s, g) && s[g - 1] == '.';
        bool first = true;
        for (size_t j = 0; j < i && first; j++) first = !(group_len(cat->v[j]) == g && strncmp(cat->v[j], s, g) == 0);
        if (whole && !first) continue;
        if (shown == 6) {
            more += whole ? in_cat : 1;
            continue;
        }
        if (whole)
            append(out, cap, "%s%.*s* (%zu)", shown ? ", " : "", (int)g, s, in_cat);
        else
            append(out, cap, "%s%s", shown ? ", " : "", s);
        shown++;
    }
    if (more) append(out, cap, " and %zu more", more);
}

/* ---- taking the tensors ----------------------------------------------------- */

typedef struct init_ctx {
    const sl_tensors *ck;
    const char *path;
    bool partial;
    names taken, fresh, model_all, skipped, ck_all;
    char skip_text[512];
} init_ctx;

static void shape_text(int ndim, const size_t *shape, char *buf, size_t cap) {
    buf[0] = 0;
    append(buf, cap, "[");
    for (int k = 0; k < ndim; k++) append(buf, cap, k ? ",%zu" : "%zu", shape[k]);
    append(buf, cap, "]");
}

/* Whether tensor key of the checkpoint (a, may be NULL) goes into the
 * model's tensor p: *use is set to it, or NULL (new, or skipped). */
static sl_status match_one(init_ctx *x, const char *key, const sl_array *a, const sl_param_info *p, const sl_array **use) {
    *use = NULL;
    if (!a) return names_add(&x->fresh, key, "");
    bool same = a->ndim == p->ndim;
    for (int k = 0; same && k < a->ndim; k++) same = a->shape[k] == p->shape[k];
    if (!same) {
        char mine[96], theirs[96];
        shape_text(p->ndim, p->shape, mine, sizeof mine);
        shape_text(a->ndim, a->shape, theirs, sizeof theirs);
        if (!x->partial)
            return sl__fail(SL_ERR_ARG,
                            "train: --init %s: tensor '%s' has shape %s there, the new model's is %s; choose the towers "
                            "with --init-towers, or skip such tensors with --init-partial",
                            x->path, key, theirs, mine);
        append(x->skip_text, sizeof x->skip_text, "%s%s %s there, %s here", x->skipped.n ? ", " : "", key, theirs, mine);
        return names_add(&x->skipped, key, "");
    }
    if (a->dtype != SL_F32)
        return sl__fail(SL_ERR_FORMAT, "%s: tensor '%s' is %s, expected float32", x->path, key, sl_dtype_name(a->dtype));
    const float *v = a->data;
    for (size_t i = 0; i < p->count; i++)
        if (!isfinite(v[i])) return sl__fail(SL_ERR_FORMAT, "%s: tensor '%s' element %zu is not finite", x->path, key, i);
    *use = a;
    return names_add(&x->taken, key, "");
}

/* A BatchNorm layer's batch counter goes with its running variance:
 * "<prefix>N.running_var" taken brings "<prefix>N.num_batches_tracked". */
static sl_status add_counter(init_ctx *x, sl_tensors *tmp, const char *key) {
    static const char rv[] = "running_var", nbt[] = "num_batches_tracked";
    size_t len = strlen(key), lr = sizeof rv - 1;
    if (len < lr || strcmp(key + len - lr, rv) != 0) return SL_OK;
    char ck[512];
    snprintf(ck, sizeof ck, "%.*s%s", (int)(len - lr), key, nbt);
    const sl_array *a = sl_tensors_get(x->ck, ck);
    if (!a) return SL_OK;
    if (a->dtype != SL_I64 || sl_array_count(a) != 1 || ((const int64_t *)a->data)[0] < 0)
        return sl__fail(SL_ERR_FORMAT, "%s: tensor '%s' must be one int64 count >= 0", x->path, ck);
    return sl_tensors_add(tmp, ck, SL_I64, a->ndim, a->shape, a->data);
}

/* Tower m (prefix) takes what the checkpoint has for it (sel) and keeps its
 * own values for the rest: both go into one collection that the model then
 * loads, so the batch counters come along. *count: tensors taken. */
static sl_status load_tower(init_ctx *x, sl_model *m, const char *prefix, bool sel, size_t *count) {
    sl_tensors *tmp;
    SL__TRY(sl_tensors_create(&tmp));
    sl_status s = SL_OK;
    size_t before = x->taken.n;
    for (size_t i = 0; !s && i < sl_model_tensor_count(m); i++) {
        sl_param_info p;
        sl_model_tensor(m, i, &p);
        char key[512];
        snprintf(key, sizeof key, "%s%s", prefix, p.name);
        const sl_array *use = NULL;
        s = names_add(&x->model_all, key, "");
        if (!s) s = match_one(x, key, sel ? sl_tensors_get(x->ck, key) : NULL, &p, &use);
        if (!s) s = sl_tensors_add(tmp, key, SL_F32, p.ndim, p.shape, use ? use->data : p.data);
        if (!s && use) s = add_counter(x, tmp, key);
    }
    if (!s) s = sl_model_load_tensors(m, tmp, prefix);
    sl_tensors_destroy(tmp);
    *count = x->taken.n - before;
    return s;
}

/* Every model tensor of the checkpoint (not the optimizer's or the
 * temperature's, not the batch counters) into ck_all; the ones neither taken
 * nor skipped into *unused. */
static sl_status list_unused(init_ctx *x, names *unused) {
    static const char nbt[] = ".num_batches_tracked";
    for (size_t i = 0; i < sl_tensors_count(x->ck); i++) {
        const char *n = sl_tensors_name(x->ck, i);
        size_t len = strlen(n);
        if (strncmp(n, "optim.", 6) == 0 || strncmp(n, "train.", 6) == 0) continue;
        if (len >= sizeof nbt - 1 && strcmp(n + len - (sizeof nbt - 1), nbt) == 0) continue;
        SL__TRY(names_add(&x->ck_all, n, ""));
        if (!names_has(&x->taken, n) && !names_has(&x->skipped, n)) SL__TRY(names_add(unused, n, ""));
    }
    return SL_OK;
}

/* A tower named in --init-towers must be in the run and in the checkpoint. */
static sl_status check_named(const init_ctx *x, const sl__init_models *im, size_t k) {
    int g = (int)strlen(im->prefix[k]) - 1;
    if (!im->m[k]) return sl__fail(SL_ERR_ARG, "train: --init-towers: the run has no %.*s", g, im->prefix[k]);
    for (size_t i = 0; i < sl_tensors_count(x->ck); i++)
        if (strncmp(sl_tensors_name(x->ck, i), im->prefix[k], (size_t)g + 1) == 0) return SL_OK;
    return sl__fail(SL_ERR_ARG, "train: --init-towers: %s has no %.*s", x->path, g, im->prefix[k]);
}

/* The summary line and the counts. */
static void summarise(const init_ctx *x, const sl__init_models *im, const names *unused, sl__init_done *out) {
    char *o = out->summary;
    size_t cap = sizeof out->summary;
    o[0] = out->towers[0] = 0;
    append(o, cap, "from %s: loaded %zu tensor%s", x->path, x->taken.n, x->taken.n == 1 ? "" : "s");
    bool first = true;
    for (size_t k = 0; k < im->n; k++)
        if (out->taken[k]) {
            int g = (int)strlen(im->prefix[k]) - 1;
            append(o, cap, "%s%.*s %zu", first ? " (" : ", ", g, im->prefix[k], out->taken[k]);
            append(out->towers, sizeof out->towers, "%s%.*s", first ? "" : ",", g, im->prefix[k]);
            first = false;
        }
    if (!first) append(o, cap, ")");
    if (x->fresh.n) append(o, cap, "; new: "), append_grouped(o, cap, &x->fresh, &x->model_all);
    if (x->skipped.n) append(o, cap, "; skipped (other shape): %s", x->skip_text);
    if (unused->n) append(o, cap, "; unused: "), append_grouped(o, cap, unused, &x->ck_all);
    out->rep.loaded = x->taken.n;
    out->rep.fresh = x->fresh.n;
    out->rep.skipped = x->skipped.n;
    out->rep.unused = unused->n;
    out->rep.summary = out->summary;
}

sl_status sl__train_init_load(const sl_tensors *ck, const char *path, const sl__init_models *im, double *mean,
                              double *std, sl__init_done *out) {
    init_ctx x;
    memset(&x, 0, sizeof x);
    memset(out, 0, sizeof *out);
    x.ck = ck, x.path = path, x.partial = im->partial;
    names unused = {0};
    sl_status s = im->n <= sizeof out->taken / sizeof *out->taken ? SL_OK : sl__fail(SL_ERR_ARG, "train: too many towers");
    for (size_t k = 0; !s && k < im->n; k++) {
        if (im->named && im->sel[k]) s = check_named(&x, im, k);
        if (!s && im->m[k]) s = load_tower(&x, im->m[k], im->prefix[k], im->sel[k], &out->taken[k]);
    }
    if (!s) s = list_unused(&x, &unused);
    if (!s) summarise(&x, im, &unused, out);
    if (!s && x.taken.n == 0) {
        size_t at = strlen("from : ") + strlen(path);
        s = sl__fail(SL_ERR_ARG, "train: --init: nothing in %s fits the new models (%s)", path,
                     at < strlen(out->summary) ? out->summary + at : "");
    }
    if (!s && out->taken[0]) {
        double m0 = *mean, s0 = *std;
        s = sl__train_ckpt_norm(ck, true, mean, std);
        out->rep.input_norm = !s;
        if (!s && (*mean != m0 || *std != s0))
            append(out->summary, sizeof out->summary, "; input normalisation from it (mean %g, std %g)", *mean, *std);
    }
    names_free(&x.taken);
    names_free(&x.fresh);
    names_free(&x.model_all);
    names_free(&x.skipped);
    names_free(&x.ck_all);
    names_free(&unused);
    return s;
}

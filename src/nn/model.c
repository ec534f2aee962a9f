/* Models: parsing a spec string into layers with shape inference, the single
 * allocation for parameters/gradients/optimizer state, initialisation, the
 * per-batch memory, the forward and backward passes over a batch, and the
 * summary table. Everything that depends on a layer's kind goes through its
 * entry in the table of kinds (layers.c). */
#include "nn/nn_internal.h"
#include "nn/model_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ---- shapes -------------------------------------------------------------*/
size_t sl_shape_count(const sl_shape *s) {
    size_t c = 1;
    for (int i = 0; i < s->ndim; i++) c *= s->dims[i];
    return c;
}

sl_status sl_shape_parse(const char *text, sl_shape *out) {
    sl_shape s = {0, {0, 0, 0}};
    const char *p = text;
    if (!text || !*text) return sl__fail(SL_ERR_FORMAT, "shape: empty; expected CxHxW (like 1x28x28), TxD or D");
    for (;;) {
        if (!isdigit((unsigned char)*p))
            return sl__fail(SL_ERR_FORMAT, "shape '%s': column %zu: expected a positive integer", text,
                            (size_t)(p - text) + 1);
        errno = 0;
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno || v == 0 || v > ((size_t)1 << 24))
            return sl__fail(SL_ERR_FORMAT, "shape '%s': column %zu: dimension must be in 1..16777216", text,
                            (size_t)(p - text) + 1);
        if (s.ndim == 3) return sl__fail(SL_ERR_FORMAT, "shape '%s': more than 3 dimensions", text);
        s.dims[s.ndim++] = (size_t)v;
        p = end;
        if (*p == '\0') break;
        if (*p != 'x' && *p != 'X')
            return sl__fail(SL_ERR_FORMAT, "shape '%s': column %zu: expected 'x' between dimensions", text,
                            (size_t)(p - text) + 1);
        p++;
    }
    *out = s;
    return SL_OK;
}

void sl_shape_format(const sl_shape *s, char *buf, size_t cap) {
    if (!cap) return;
    buf[0] = '\0';
    size_t len = 0;
    for (int i = 0; i < s->ndim && len < cap; i++) {
        int k = snprintf(buf + len, cap - len, i ? "x%zu" : "%zu", s->dims[i]);
        if (k < 0) break;
        len += (size_t)k;
    }
}

/* ---- spec parsing -------------------------------------------------------*/
sl_status sl__layer_fail(const sl__layer *L, sl_status st, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (L->preset[0])
        return sl__fail(st, "spec: token %zu '%s' (column %zu): layer '%s': %s", L->pos, L->preset, L->col, L->token,
                        msg);
    return sl__fail(st, "spec: token %zu '%s' (column %zu): %s", L->pos, L->token, L->col, msg);
}

/* Index of the word p[0..len) in words ("cls|mean"), or -1. */
static int word_index(const char *words, const char *p, size_t len) {
    int i = 0;
    for (const char *w = words;; i++) {
        const char *bar = strchr(w, '|');
        size_t wl = bar ? (size_t)(bar - w) : strlen(w);
        if (wl == len && strncmp(w, p, len) == 0) return i;
        if (!bar) return -1;
        w = bar + 1;
    }
}

/* The value of argument `slot` at p: a number, or one of its kind's words
 * for it (the word's index); *end is where it stopped. */
static sl_status parse_value(const sl__layer *L, int slot, const char *p, double *v, const char **end) {
    const char *name = L->ops->args[slot], *words = L->ops->words[slot];
    if (words) {
        size_t len = 0;
        while (isalnum((unsigned char)p[len]) || p[len] == '_') len++;
        int w = word_index(words, p, len);
        if (w < 0) {
            char list[128];
            snprintf(list, sizeof list, "%s", words);
            for (char *c = list; *c; c++) *c = *c == '|' ? '/' : *c;
            return sl__layer_fail(L, SL_ERR_FORMAT, "argument '%s' must be one of %s, got '%.*s'", name, list,
                                  (int)(len ? len : strcspn(p, ",)")), p);
        }
        *v = w;
        *end = p + len;
        return SL_OK;
    }
    char *e;
    errno = 0;
    *v = strtod(p, &e);
    if (e == p || errno || !isfinite(*v))
        return sl__layer_fail(L, SL_ERR_FORMAT, "argument '%s': expected a number at '%.12s'", name, p);
    *end = e;
    return SL_OK;
}

/* The argument list of token L (after its name, at p) into a, by position
 * or by name: "(8,3,pad=1)". */
static sl_status parse_args(const sl__layer *L, const char *p, sl__layer_args *a) {
    const sl__layer_ops *k = L->ops;
    int nargs = 0;
    while (nargs < SL__LAYER_ARGS && k->args[nargs]) nargs++;
    if (*p == '(') {
        p++;
        int pos = 0;
        bool named_seen = false;
        while (*p && *p != ')') {
            while (*p == ' ') p++;
            int slot = -1;
            const char *eq = p;
            while (isalpha((unsigned char)*eq) || *eq == '_') eq++;
            if (eq > p && *eq == '=') {
                for (int i = 0; i < nargs; i++)
                    if (strlen(k->args[i]) == (size_t)(eq - p) && strncmp(k->args[i], p, (size_t)(eq - p)) == 0)
                        slot = i;
                if (slot < 0)
                    return sl__layer_fail(L, SL_ERR_FORMAT, "unknown argument '%.*s' for %s", (int)(eq - p), p,
                                          k->name);
                p = eq + 1;
                named_seen = true;
            } else {
                if (named_seen) return sl__layer_fail(L, SL_ERR_FORMAT, "positional argument after a named one");
                if (pos >= nargs)
                    return sl__layer_fail(L, SL_ERR_FORMAT, "too many arguments (%s takes %d)", k->name, nargs);
                slot = pos++;
            }
            if (a->have[slot]) return sl__layer_fail(L, SL_ERR_FORMAT, "argument '%s' given twice", k->args[slot]);
            SL__TRY(parse_value(L, slot, p, &a->val[slot], &p));
            a->have[slot] = true;
            while (*p == ' ') p++;
            if (*p == ',') p++;
            else if (*p != ')') return sl__layer_fail(L, SL_ERR_FORMAT, "expected ',' or ')' at '%.12s'", p);
        }
        if (*p != ')') return sl__layer_fail(L, SL_ERR_FORMAT, "missing ')'");
        p++;
    }
    if (*p) return sl__layer_fail(L, SL_ERR_FORMAT, "unexpected text '%s' after the layer", p);
    for (int i = 0; i < k->nreq; i++)
        if (!a->have[i]) return sl__layer_fail(L, SL_ERR_FORMAT, "missing required argument '%s'", k->args[i]);
    return SL_OK;
}

/* Length of the name at the start of a token. */
static size_t name_length(const char *t) {
    size_t nl = 0;
    while (isalnum((unsigned char)t[nl]) || t[nl] == '_') nl++;
    return nl;
}

/* The entry of table (count entries) named t[0..nl), or NULL. */
static const sl__layer_ops *find_named(const sl__layer_ops *table, size_t count, const char *t, size_t nl) {
    for (size_t i = 0; i < count; i++)
        if (strlen(table[i].name) == nl && strncmp(table[i].name, t, nl) == 0) return &table[i];
    return NULL;
}

/* The kind of token L by its name, then its arguments and settings. */
static sl_status parse_token(sl__layer *L) {
    const char *t = L->token;
    size_t nl = name_length(t);
    L->ops = find_named(sl__layer_kinds, sl__layer_kind_count, t, nl);
    if (!L->ops) {
        char names[512] = "";
        for (size_t i = 0; i < sl__layer_kind_count; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                     sl__layer_kinds[i].name);
        for (size_t i = 0; i < sl__layer_preset_count; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "; or the preset ",
                     sl__layer_presets[i].name);
        return sl__layer_fail(L, SL_ERR_FORMAT, "unknown layer; expected one of %s", names);
    }
    sl__layer_args a = {{0}, {false}};
    SL__TRY(parse_args(L, t + nl, &a));
    return L->ops->configure ? L->ops->configure(L, &a) : SL_OK;
}

/* Output shape of layer L given its input shape. */
static sl_status infer(sl__layer *L) {
    if (L->ops->shape) SL__TRY(L->ops->shape(L));
    else L->out = L->in;
    L->in_count = sl_shape_count(&L->in);
    L->out_count = sl_shape_count(&L->out);
    if (L->out_count > ((size_t)1 << 28))
        return sl__layer_fail(L, SL_ERR_ARG, "output of %zu floats per example is too large", L->out_count);
    return SL_OK;
}

/* ---- creation -----------------------------------------------------------*/
/* Layer L's tensors into the model's table, at the next offsets of the
 * parameter region (*P) or the buffer region (*B). */
static void add_tensors(sl_model *m, sl__layer *L, size_t *P, size_t *B) {
    sl__tensor_spec spec[SL__LAYER_TENSORS];
    L->t0 = m->ntensors;
    L->nt = L->ops->tensors ? L->ops->tensors(L, spec) : 0;
    L->nparams = 0;
    for (size_t j = 0; j < L->nt; j++) {
        sl__tensor *t = &m->tensors[m->ntensors++];
        snprintf(t->name, sizeof t->name, "%d.%s", L->torch_index, spec[j].name);
        memset(&t->info, 0, sizeof t->info);
        t->info.name = t->name;
        t->info.role = spec[j].role;
        t->info.ndim = spec[j].ndim;
        t->info.count = 1;
        for (int d = 0; d < spec[j].ndim; d++) {
            t->info.shape[d] = spec[j].shape[d];
            t->info.count *= spec[j].shape[d];
        }
        t->info.decay = spec[j].role == SL_TENSOR_WEIGHT;
        t->is_param = spec[j].role != SL_TENSOR_BUFFER;
        size_t *region = t->is_param ? P : B;
        t->offset = *region;
        *region += t->info.count;
        if (t->is_param) L->nparams += t->info.count;
    }
}

static void bind_tensors(sl_model *m) {
    for (size_t i = 0; i < m->ntensors; i++) {
        sl__tensor *t = &m->tensors[i];
        if (t->is_param) {
            t->info.data = m->params + t->offset;
            t->info.grad = m->grads + t->offset;
        } else {
            t->info.data = m->bufs + t->offset;
            t->info.grad = NULL;
        }
    }
}

/* Where layer L's tensors and their gradients are, in its kind's order;
 * NULL past the last. */
static void layer_tensors(const sl_model *m, const sl__layer *L, float *data[SL__LAYER_TENSORS],
                          float *grad[SL__LAYER_TENSORS]) {
    for (size_t j = 0; j < SL__LAYER_TENSORS; j++) {
        data[j] = j < L->nt ? m->tensors[L->t0 + j].info.data : NULL;
        grad[j] = j < L->nt ? m->tensors[L->t0 + j].info.grad : NULL;
    }
}

/* Each layer's initial values from its own stream of the seed. */
static void init_params(sl_model *m, uint64_t seed) {
    for (size_t i = 0; i < m->nl; i++) {
        sl__layer *L = &m->layers[i];
        sl_rng r;
        sl_rng_seed(&r, seed, 1000 + i);
        float *data[SL__LAYER_TENSORS], *grad[SL__LAYER_TENSORS];
        layer_tensors(m, L, data, grad);
        if (L->ops->init) L->ops->init(L, data, &r);
    }
}

/* The end of the token at p: the next comma outside parentheses, or the end
 * of the text; *depth is the bracket depth there (0 when balanced). */
static const char *token_end(const char *p, int *depth) {
    *depth = 0;
    while (*p && !(*p == ',' && *depth == 0)) {
        if (*p == '(') (*depth)++;
        if (*p == ')') (*depth)--;
        p++;
    }
    return p;
}

/* Token number pos of spec, from start to end, into t: trimmed, spaces
 * inside dropped (so "conv(32, 3)" is accepted), with its column. */
static sl_status read_token(sl__layer *t, const char *spec, const char *start, const char *end, size_t pos) {
    while (start < end && isspace((unsigned char)*start)) start++;
    while (end > start && isspace((unsigned char)end[-1])) end--;
    t->pos = pos;
    t->col = (size_t)(start - spec) + 1;
    size_t len = (size_t)(end - start);
    if (len >= sizeof t->token) {
        memcpy(t->token, start, sizeof t->token - 4);
        strcpy(t->token + sizeof t->token - 4, "...");
        return sl__layer_fail(t, SL_ERR_FORMAT, "token too long");
    }
    memcpy(t->token, start, len);
    t->token[len] = '\0';
    size_t w = 0;
    for (size_t r = 0; t->token[r]; r++)
        if (!isspace((unsigned char)t->token[r])) t->token[w++] = t->token[r];
    t->token[w] = '\0';
    if (!t->token[0]) return sl__layer_fail(t, SL_ERR_FORMAT, "empty layer (two commas in a row, or a trailing comma?)");
    return SL_OK;
}

/* What split_spec has built so far: m->layers (layer_cap entries) and the
 * normalised spec text m->spec (len bytes of cap). */
typedef struct spec_builder {
    size_t layer_cap, len, cap;
} spec_builder;

/* A new zeroed layer at the end of m->layers; NULL when out of memory. */
static sl__layer *new_layer(sl_model *m, spec_builder *b) {
    if (m->nl == b->layer_cap) {
        size_t cap = 2 * b->layer_cap + 8;
        sl__layer *g = sl__realloc(m->layers, cap * sizeof *g);
        if (!g) return NULL;
        memset(g + b->layer_cap, 0, (cap - b->layer_cap) * sizeof *g);
        m->layers = g;
        b->layer_cap = cap;
    }
    return &m->layers[m->nl++];
}

/* Token text appended to the normalised spec, after a comma. */
static sl_status spec_append(sl_model *m, spec_builder *b, const char *text) {
    size_t n = strlen(text), need = b->len + n + 2;
    if (need > b->cap) {
        char *g = sl__realloc(m->spec, 2 * need);
        if (!g) return sl__fail(SL_ERR_NOMEM, "model: out of memory");
        m->spec = g;
        b->cap = 2 * need;
    }
    if (b->len) m->spec[b->len++] = ',';
    memcpy(m->spec + b->len, text, n + 1);
    b->len += n;
    return SL_OK;
}

/* The layers preset token t stands for, each keeping t's position, column
 * and text for its errors; the spec keeps the preset's normalised token. */
static sl_status add_preset(sl_model *m, spec_builder *b, const sl__layer *t, const sl__layer_ops *preset) {
    sl__layer P = *t;
    P.ops = preset;
    sl__layer_args a = {{0}, {false}};
    SL__TRY(parse_args(&P, P.token + name_length(P.token), &a));
    char text[2048], norm[sizeof P.token];
    SL__TRY(preset->expand(&P, &a, text, sizeof text, norm, sizeof norm));
    SL__TRY(spec_append(m, b, norm));
    for (const char *p = text;;) {
        int depth;
        const char *e = token_end(p, &depth);
        sl__layer *L = new_layer(m, b);
        if (!L) return sl__fail(SL_ERR_NOMEM, "model: out of memory");
        L->pos = t->pos;
        L->col = t->col;
        memcpy(L->preset, t->token, sizeof L->preset);
        snprintf(L->token, sizeof L->token, "%.*s", (int)(e - p), p);
        SL__TRY(parse_token(L));
        if (!*e) return SL_OK;
        p = e + 1;
    }
}

/* Split the spec into tokens and parse each into m->layers (m->nl of
 * them, more than the tokens where a preset stands for several), building
 * the normalised spec m->spec on the way. */
static sl_status split_spec(sl_model *m, const char *spec) {
    spec_builder b = {0, 0, 0};
    size_t ntok = 0;
    for (const char *p = spec, *e;; p = e + 1) {
        int depth;
        e = token_end(p, &depth);
        sl__layer t;
        memset(&t, 0, sizeof t);
        SL__TRY(read_token(&t, spec, p, e, ++ntok));
        const sl__layer_ops *preset =
            find_named(sl__layer_presets, sl__layer_preset_count, t.token, name_length(t.token));
        if (preset) {
            SL__TRY(add_preset(m, &b, &t, preset));
        } else {
            sl__layer *L = new_layer(m, &b);
            if (!L) return sl__fail(SL_ERR_NOMEM, "model: out of memory");
            *L = t;
            SL__TRY(spec_append(m, &b, L->token));
            SL__TRY(parse_token(L));
        }
        if (!*e) return depth != 0 ? sl__fail(SL_ERR_FORMAT, "spec: unbalanced parentheses") : SL_OK;
    }
}

/* The layers that get the pad mask of the input ids: after a first layer
 * whose input is token ids and whose output is tokens (tokemb), every layer
 * whose input is those T tokens, up to the first that pools them into a
 * flat vector. A layer that changes the number of tokens in between (cls)
 * would leave them out of step with the ids, and is refused. */
static sl_status mark_padded(sl_model *m) {
    const sl__layer *L0 = &m->layers[0];
    if (!L0->ops->token_input || L0->out.ndim != 2) return SL_OK;
    const size_t T = L0->in_count;
    m->pad_t = T;
    for (size_t i = 1; i < m->nl; i++) {
        sl__layer *L = &m->layers[i];
        if (L->in.ndim != 2) break;
        L->padded = true;
        if (L->out.ndim == 2 && L->out.dims[0] != T)
            return sl__layer_fail(L, SL_ERR_ARG, "changes the number of tokens (%zu to %zu) after '%s', whose "
                                  "tokens stand for the input ids and carry their padding", T, L->out.dims[0],
                                  L0->token);
    }
    return SL_OK;
}

/* A tokfirst whose input comes from a block through ln layers only: that
 * block and those layers compute the first token of each example alone
 * (first_only), the rest of their outputs being of no use. */
static void mark_first_only(sl_model *m) {
    for (size_t i = 1; i < m->nl; i++) {
        if (strcmp(m->layers[i].ops->name, "tokfirst") != 0) continue;
        size_t j = i;
        while (j > 0 && strcmp(m->layers[j - 1].ops->name, "ln") == 0) j--;
        if (j == 0 || strcmp(m->layers[j - 1].ops->name, "block") != 0) continue;
        for (size_t k = j - 1; k < i; k++) m->layers[k].first_only = true;
    }
}

/* Sizes of the model's storage that layout_layers counts. */
typedef struct model_sizes {
    size_t P, B; /* parameter floats, buffer floats */
} model_sizes;

/* Shapes, torch indices and tensors of the layers in order, and the layers
 * that run inside the one before them. */
static sl_status layout_layers(sl_model *m, model_sizes *z) {
    size_t P = 0, B = 0;
    int tidx = 0;
    sl_shape cur = m->input;
    m->tensors = sl__calloc(m->nl * SL__LAYER_TENSORS, sizeof *m->tensors);
    if (!m->tensors) return sl__fail(SL_ERR_NOMEM, "model: out of memory");
    for (size_t i = 0; i < m->nl; i++) {
        sl__layer *L = &m->layers[i];
        L->in = cur;
        SL__TRY(infer(L));
        cur = L->out;
        L->torch_index = tidx;
        tidx += L->ops->torch_modules ? L->ops->torch_modules : 1;
        add_tensors(m, L, &P, &B);
        /* A layer of the kind the one before fuses (a relu after a bn) runs
         * inside that one's forward. */
        const sl__layer_ops *prev = i > 0 ? m->layers[i - 1].ops : NULL;
        if (prev && prev->fuses && strcmp(prev->fuses, L->ops->name) == 0) {
            m->layers[i - 1].fused_next = true;
            L->passthrough = true;
        }
    }
    m->output = cur;
    m->nparams = P;
    m->nbufs = B;
    *z = (model_sizes){P, B};
    return SL_OK;
}

/* The single block (params | grads | state1 | state2 | buffers, zeroed). */
static sl_status alloc_storage(sl_model *m, const model_sizes *z) {
    size_t total, P = z->P, B = z->B;
    if (!sl_size_mul(P, 4, &total) || total + B < total) return sl__fail(SL_ERR_NOMEM, "model: too many parameters");
    m->block = sl__malloc_array(total + B, sizeof(float), "model parameters");
    if (!m->block) return sl__fail(SL_ERR_NOMEM, "model: out of memory");
    memset(m->block, 0, (4 * P + B) * sizeof(float));
    m->params = m->block;
    m->grads = m->block + P;
    m->state1 = m->block + 2 * P;
    m->state2 = m->block + 3 * P;
    m->bufs = m->block + 4 * P;
    return SL_OK;
}

/* What layers keep for the model's life. */
static sl_status finish_layers(sl_model *m) {
    sl_status st = SL_OK;
    for (size_t i = 0; i < m->nl; i++) {
        sl__layer *L = &m->layers[i];
        size_t nstats = L->ops->stats_floats ? L->ops->stats_floats(L) : 0;
        if (nstats && !(L->stats = sl__malloc_array(nstats, sizeof(float), "layer statistics"))) st = SL_ERR_NOMEM;
    }
    return st;
}

sl_status sl_model_create(const char *spec, const sl_shape *input, uint64_t seed, sl_model **out) {
    if (!spec || !input) return sl__fail(SL_ERR_ARG, "model: spec and input shape are required");
    if (input->ndim < 1 || input->ndim > 3)
        return sl__fail(SL_ERR_ARG, "model: input shape must be CxHxW, TxD or D");
    for (int i = 0; i < input->ndim; i++)
        if (input->dims[i] == 0 || input->dims[i] > ((size_t)1 << 24))
            return sl__fail(SL_ERR_ARG, "model: input dimension %d is %zu", i, input->dims[i]);
    sl_model *m = sl__calloc(1, sizeof *m);
    if (!m) return sl__fail(SL_ERR_NOMEM, "model: out of memory");
    m->input = *input;
    model_sizes z = {0, 0};
    sl_status st = split_spec(m, spec);
    if (st == SL_OK) st = layout_layers(m, &z);
    if (st == SL_OK) st = mark_padded(m);
    if (st == SL_OK) mark_first_only(m);
    if (st == SL_OK) st = alloc_storage(m, &z);
    if (st == SL_OK) {
        st = finish_layers(m);
        bind_tensors(m);
        init_params(m, seed);
        sl_rng_seed(&m->rng, seed, 7);
    }
    if (st != SL_OK) {
        sl_model_destroy(m);
        return st;
    }
    *out = m;
    return SL_OK;
}

static void free_batch(sl_model *m) {
    sl__free(m->actmem);
    sl__free(m->gmem);
    sl__free(m->scratch);
    sl__free(m->acts);
    sl__free(m->pad);
    m->actmem = m->gmem = m->scratch = NULL;
    m->acts = NULL;
    m->pad = NULL;
    for (size_t i = 0; i < m->nl; i++) {
        sl__layer *L = &m->layers[i];
        sl__free(L->cache);
        sl__free(L->idx);
        sl__free(L->mask);
        L->cache = NULL;
        L->idx = NULL;
        L->mask = NULL;
    }
    m->cap = 0;
}

void sl_model_destroy(sl_model *m) {
    if (!m) return;
    free_batch(m);
    for (size_t i = 0; i < m->nl; i++) sl__free(m->layers[i].stats);
    sl__free(m->layers);
    sl__free(m->block);
    sl__free(m->tensors);
    sl__free(m->spec);
    sl__free(m);
}

/* ---- batch memory plan --------------------------------------------------
 * One function decides every per-batch size, so sl_model_memory and the
 * allocation agree. */
typedef struct plan {
    size_t act, grad, scratch, cache, idx, mask; /* floats, floats, floats, floats, int32s, bytes */
} plan;

/* What layer L's kind needs for a batch of n with `threads` workers. */
static sl__layer_mem layer_memory(const sl__layer *L, size_t n, size_t threads) {
    sl__layer_mem mem = {0, 0, 0, 0};
    if (L->ops->memory) L->ops->memory(L, n, threads, &mem);
    return mem;
}

size_t sl__mul_sat(size_t a, size_t b) {
    size_t r;
    return sl_size_mul(a, b, &r) ? r : SIZE_MAX;
}

static size_t add_sat(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

/* Every size saturates at SIZE_MAX instead of wrapping; a plan with a
 * saturated size cannot be allocated and is refused. */
static bool make_plan(const sl_model *m, size_t n, size_t threads, plan *pl) {
    memset(pl, 0, sizeof *pl);
    size_t mx = sl_shape_count(&m->input);
    pl->act = sl__mul_sat(mx, n);
    for (size_t i = 0; i < m->nl; i++) {
        const sl__layer *L = &m->layers[i];
        if (!L->passthrough) pl->act = add_sat(pl->act, sl__mul_sat(L->out_count, n));
        mx = SL__MAX(mx, L->out_count);
        sl__layer_mem mem = layer_memory(L, n, threads);
        pl->scratch = SL__MAX(pl->scratch, mem.scratch);
        pl->cache = add_sat(pl->cache, mem.cache);
        pl->idx = add_sat(pl->idx, mem.idx);
        pl->mask = add_sat(pl->mask, mem.mask);
    }
    if (m->output.ndim == 3) pl->act = add_sat(pl->act, sl__mul_sat(sl_shape_count(&m->output), n));
    pl->mask = add_sat(pl->mask, sl__mul_sat(m->pad_t, n));
    pl->grad = sl__mul_sat(mx, sl__mul_sat(2, n));
    const size_t sizes[] = {pl->act, pl->grad, pl->scratch, pl->cache, pl->idx, pl->mask};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        if (sizes[k] == SIZE_MAX) return false;
    return true;
}

size_t sl_model_memory(const sl_model *m, size_t n) {
    plan pl;
    if (!make_plan(m, n, (size_t)omp_get_max_threads(), &pl)) return SIZE_MAX;
    size_t total = sl__mul_sat(add_sat(sl__mul_sat(4, m->nparams), m->nbufs), sizeof(float));
    size_t floats = add_sat(add_sat(pl.act, pl.grad), add_sat(pl.scratch, pl.cache));
    total = add_sat(total, sl__mul_sat(floats, sizeof(float)));
    total = add_sat(total, sl__mul_sat(pl.idx, sizeof(int32_t)));
    return add_sat(total, pl.mask);
}

/* Each layer's per-batch memory of its plan. */
static bool alloc_layer_batch(sl__layer *L, size_t n, size_t threads) {
    sl__layer_mem mem = layer_memory(L, n, threads);
    if (mem.idx && !(L->idx = sl__malloc_array(mem.idx, sizeof(int32_t), "layer indices"))) return false;
    if (mem.mask && !(L->mask = sl__calloc(mem.mask, 1))) return false;
    if (mem.cache && !(L->cache = sl__malloc_array(mem.cache, sizeof(float), "layer cache"))) return false;
    return true;
}

static sl_status ensure_capacity(sl_model *m, size_t n) {
    if (n <= m->cap) return SL_OK;
    free_batch(m);
    plan pl;
    size_t threads = (size_t)omp_get_max_threads();
    if (!make_plan(m, n, threads, &pl)) return sl__fail(SL_ERR_NOMEM, "model: batch of %zu is too large", n);
    m->team = threads;
    m->actmem = sl__malloc_array(pl.act, sizeof(float), "activations");
    m->gmem = sl__malloc_array(pl.grad, sizeof(float), "activation gradients");
    m->scratch = pl.scratch ? sl__malloc_array(pl.scratch, sizeof(float), "layer scratch") : NULL;
    m->acts = sl__calloc(m->nl + 1, sizeof *m->acts);
    m->pad = m->pad_t ? sl__malloc_array(n, m->pad_t, "pad mask") : NULL;
    if (!m->actmem || !m->gmem || (pl.scratch && !m->scratch) || !m->acts || (m->pad_t && !m->pad)) {
        free_batch(m);
        return sl__fail(SL_ERR_NOMEM, "model: cannot allocate buffers for a batch of %zu", n);
    }
    float *p = m->actmem;
    m->acts[0] = p;
    p += sl_shape_count(&m->input) * n;
    for (size_t i = 0; i < m->nl; i++) {
        sl__layer *L = &m->layers[i];
        if (L->passthrough) {
            m->acts[i + 1] = m->acts[i];
        } else {
            m->acts[i + 1] = p;
            p += L->out_count * n;
        }
        if (!alloc_layer_batch(L, n, threads)) {
            free_batch(m);
            return sl__fail(SL_ERR_NOMEM, "model: cannot allocate buffers for a batch of %zu", n);
        }
    }
    m->yout = m->output.ndim == 3 ? p : NULL;
    m->g0 = m->gmem;
    m->g1 = m->gmem + pl.grad / 2;
    m->cap = n;
    return SL_OK;
}

sl_status sl__model_reserve(sl_model *m, size_t n) { return ensure_capacity(m, n); }

/* The pass of layer i over the current batch: its input, output and
 * tensors, the shared scratch and the model's random stream. */
static sl__pass layer_pass(sl_model *m, size_t i, bool train) {
    sl__pass p = {.n = m->n, .train = train, .in = m->acts[i], .out = m->acts[i + 1], .scratch = m->scratch,
                  .team = m->team, .rng = &m->rng, .pad = m->layers[i].padded ? m->pad : NULL};
    layer_tensors(m, &m->layers[i], p.data, p.grad);
    return p;
}

sl_status sl_model_forward(sl_model *m, const float *x, size_t n, bool train, const float **y) {
    if (n == 0) return sl__fail(SL_ERR_ARG, "model forward: empty batch");
    SL__TRY(ensure_capacity(m, n));
    m->can_backward = false;
    if (m->input.ndim == 3)
        sl__to_cnhw(m->acts[0], x, n, m->input.dims[0], m->input.dims[1] * m->input.dims[2]);
    else
        memcpy(m->acts[0], x, n * sl_shape_count(&m->input) * sizeof(float));
    m->n = n;
    for (size_t j = 0; j < n * m->pad_t; j++) m->pad[j] = x[j] < 0;
    for (size_t i = 0; i < m->nl; i++) {
        sl__layer *L = &m->layers[i];
        if (L->passthrough) continue;
        sl__pass p = layer_pass(m, i, train);
        SL__TRY(L->ops->forward(L, &p));
    }
    if (m->output.ndim == 3) {
        sl__to_nchw(m->yout, m->acts[m->nl], n, m->output.dims[0], m->output.dims[1] * m->output.dims[2]);
        *y = m->yout;
    } else {
        *y = m->acts[m->nl];
    }
    m->can_backward = train;
    return SL_OK;
}

sl_status sl_model_backward(sl_model *m, const float *dy, float *din) {
    if (!m->can_backward)
        return sl__fail(SL_ERR_STATE, "model backward: no train-mode forward pass to go back through");
    size_t n = m->n;
    float *cur = m->g0;
    if (m->output.ndim == 3)
        sl__to_cnhw(cur, dy, n, m->output.dims[0], m->output.dims[1] * m->output.dims[2]);
    else
        memcpy(cur, dy, n * sl_shape_count(&m->output) * sizeof(float));
    sl_status status = SL_OK;
    for (size_t i = m->nl; i-- > 0;) {
        sl__layer *L = &m->layers[i];
        if (L->passthrough) continue;
        bool need = (i > 0 || din != NULL) && !L->ops->token_input;
        float *next = cur == m->g0 ? m->g1 : m->g0;
        /* Without parameters, a layer whose din nobody needs has nothing to do. */
        if (need || L->nparams) {
            sl__pass p = layer_pass(m, i, true);
            p.dout = cur;
            p.din = need ? next : NULL;
            p.status = &status;
            L->ops->backward(L, &p);
        }
        if (need) cur = next;
    }
    if (status) {
        m->can_backward = false;
        return status;
    }
    if (din) {
        if (m->layers[0].ops->token_input) memset(din, 0, n * sl_shape_count(&m->input) * sizeof(float));
        else if (m->input.ndim == 3)
            sl__to_nchw(din, cur, n, m->input.dims[0], m->input.dims[1] * m->input.dims[2]);
        else
            memcpy(din, cur, n * sl_shape_count(&m->input) * sizeof(float));
    }
    return SL_OK;
}

/* ---- accessors ----------------------------------------------------------*/
const char *sl_model_spec(const sl_model *m) { return m->spec; }
sl_shape sl_model_input_shape(const sl_model *m) { return m->input; }
sl_shape sl_model_output_shape(const sl_model *m) { return m->output; }
size_t sl_model_layer_count(const sl_model *m) { return m->nl; }
size_t sl_model_param_count(const sl_model *m) { return m->nparams; }
size_t sl_model_tensor_count(const sl_model *m) { return m->ntensors; }
float *sl_model_params(sl_model *m) { return m->params; }
float *sl_model_grads(sl_model *m) { return m->grads; }
void sl_model_zero_grad(sl_model *m) { memset(m->grads, 0, m->nparams * sizeof(float)); }
void sl_model_set_rng(sl_model *m, uint64_t seed) { sl_rng_seed(&m->rng, seed, 7); }

size_t sl_model_set_sync_bn(sl_model *m, bool on) {
    size_t k = 0;
    for (size_t i = 0; i < m->nl; i++)
        if (strcmp(m->layers[i].ops->name, "bn") == 0) m->layers[i].sync = on, k++;
    return k;
}

bool sl_model_tensor(const sl_model *m, size_t i, sl_param_info *out) {
    if (i >= m->ntensors) return false;
    *out = m->tensors[i].info;
    return true;
}

double sl_model_grad_sqnorm(const sl_model *m) {
    double s = 0;
    for (size_t i = 0; i < m->nparams; i++) s += (double)m->grads[i] * m->grads[i];
    return s;
}

void sl_model_scale_grads(sl_model *m, float s) {
    for (size_t i = 0; i < m->nparams; i++) m->grads[i] *= s;
}

size_t sl_model_summary(const sl_model *m, char *buf, size_t cap) {
    size_t len = 0;
#define EMIT(...)                                                                      \
    do {                                                                               \
        int k_ = snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, __VA_ARGS__); \
        if (k_ > 0) len += (size_t)k_;                                                 \
    } while (0)
    if (cap) buf[0] = '\0';
    char sh[64];
    sl_shape_format(&m->input, sh, sizeof sh);
    EMIT("%-4s %-6s %-28s %-14s %10s\n", "#", "torch", "layer", "output", "params");
    EMIT("%-4s %-6s %-28s %-14s %10s\n", "", "", "input", sh, "");
    for (size_t i = 0; i < m->nl; i++) {
        const sl__layer *L = &m->layers[i];
        sl_shape_format(&L->out, sh, sizeof sh);
        char ti[16];
        int mods = L->ops->torch_modules;
        if (mods > 1) snprintf(ti, sizeof ti, "%d-%d", L->torch_index, L->torch_index + mods - 1);
        else snprintf(ti, sizeof ti, "%d", L->torch_index);
        EMIT("%-4zu %-6s %-28s %-14s %10zu\n", i, ti, L->token, sh, L->nparams);
    }
    EMIT("parameters: %zu (%.1f KiB as float32)\n", m->nparams, (double)m->nparams * 4.0 / 1024.0);
#undef EMIT
    return len;
}

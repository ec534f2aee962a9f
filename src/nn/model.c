/* Models: parsing a spec string into layers with shape inference, the single
 * allocation for parameters/gradients/optimizer state, PyTorch-default
 * initialisation, the forward and backward passes over a batch, and the
 * summary table. */
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
    if (!text || !*text) return sl__fail(SL_ERR_FORMAT, "shape: empty; expected CxHxW (like 1x28x28) or D");
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
    if (s.ndim == 2) return sl__fail(SL_ERR_FORMAT, "shape '%s': expected CxHxW or D, not 2 dimensions", text);
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
typedef struct layer_def {
    const char *name;
    sl__layer_kind kind;
    const char *args[5];
    int nreq;
} layer_def;

static const layer_def defs[] = {
    {"linear", SL__L_LINEAR, {"out", "bias"}, 1},
    {"conv", SL__L_CONV, {"out", "k", "stride", "pad", "bias"}, 2},
    {"bn", SL__L_BN, {"eps", "momentum"}, 0},
    {"ln", SL__L_LN, {"eps"}, 0},
    {"relu", SL__L_RELU, {NULL}, 0},
    {"gelu", SL__L_GELU, {NULL}, 0},
    {"tanh", SL__L_TANH, {NULL}, 0},
    {"maxpool", SL__L_MAXPOOL, {"k", "stride", "pad"}, 1},
    {"avgpool", SL__L_AVGPOOL, {"k", "stride", "pad"}, 1},
    {"upsample", SL__L_UPSAMPLE, {"scale"}, 1},
    {"gap", SL__L_GAP, {NULL}, 0},
    {"flatten", SL__L_FLATTEN, {NULL}, 0},
    {"unflatten", SL__L_UNFLATTEN, {"c", "h", "w"}, 3},
    {"dropout", SL__L_DROPOUT, {"p"}, 0},
    {"l2norm", SL__L_L2NORM, {NULL}, 0},
    {"embbag", SL__L_EMBBAG, {"vocab", "dim"}, 2},
};

#define TOKFAIL(st, ...) tokfail(st, L, tokno, __VA_ARGS__)
static sl_status tokfail(sl_status st, const sl__layer *L, size_t tokno, const char *fmt, ...) SL__PRINTF(4, 5);
static sl_status tokfail(sl_status st, const sl__layer *L, size_t tokno, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sl__fail(st, "spec: token %zu '%s' (column %zu): %s", tokno, L->token, L->col, msg);
}

/* Integer argument check: value v must be integral and within [lo, hi]. */
static sl_status int_arg(const sl__layer *L, size_t tokno, const char *name, double v, double lo, double hi,
                         size_t *out) {
    if (!(v == floor(v)) || v < lo || v > hi)
        return TOKFAIL(SL_ERR_FORMAT, "argument '%s' must be an integer in %.0f..%.0f, got %g", name, lo, hi, v);
    *out = (size_t)v;
    return SL_OK;
}

static sl_status parse_token(sl__layer *L, size_t tokno) {
    const char *t = L->token;
    size_t nl = 0;
    while (isalnum((unsigned char)t[nl]) || t[nl] == '_') nl++;
    const layer_def *def = NULL;
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        if (strlen(defs[i].name) == nl && strncmp(defs[i].name, t, nl) == 0) def = &defs[i];
    if (!def)
        return TOKFAIL(SL_ERR_FORMAT, "unknown layer; expected one of linear, conv, bn, ln, relu, gelu, tanh, "
                                      "maxpool, avgpool, upsample, gap, flatten, unflatten, dropout, l2norm, embbag");
    L->kind = def->kind;
    double val[5] = {0, 0, 0, 0, 0};
    bool have[5] = {false, false, false, false, false};
    int nargs = 0;
    while (nargs < 5 && def->args[nargs]) nargs++;
    const char *p = t + nl;
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
                for (int a = 0; a < nargs; a++)
                    if (strlen(def->args[a]) == (size_t)(eq - p) && strncmp(def->args[a], p, (size_t)(eq - p)) == 0)
                        slot = a;
                if (slot < 0) return TOKFAIL(SL_ERR_FORMAT, "unknown argument '%.*s' for %s", (int)(eq - p), p, def->name);
                p = eq + 1;
                named_seen = true;
            } else {
                if (named_seen) return TOKFAIL(SL_ERR_FORMAT, "positional argument after a named one");
                if (pos >= nargs) return TOKFAIL(SL_ERR_FORMAT, "too many arguments (%s takes %d)", def->name, nargs);
                slot = pos++;
            }
            if (have[slot]) return TOKFAIL(SL_ERR_FORMAT, "argument '%s' given twice", def->args[slot]);
            char *end;
            errno = 0;
            double v = strtod(p, &end);
            if (end == p || errno || !isfinite(v))
                return TOKFAIL(SL_ERR_FORMAT, "argument '%s': expected a number at '%.12s'", def->args[slot], p);
            val[slot] = v;
            have[slot] = true;
            p = end;
            while (*p == ' ') p++;
            if (*p == ',') p++;
            else if (*p != ')') return TOKFAIL(SL_ERR_FORMAT, "expected ',' or ')' at '%.12s'", p);
        }
        if (*p != ')') return TOKFAIL(SL_ERR_FORMAT, "missing ')'");
        p++;
    }
    if (*p) return TOKFAIL(SL_ERR_FORMAT, "unexpected text '%s' after the layer", p);
    for (int a = 0; a < def->nreq; a++)
        if (!have[a]) return TOKFAIL(SL_ERR_FORMAT, "missing required argument '%s'", def->args[a]);

    const double big = (double)((size_t)1 << 24);
    /* Defaults are PyTorch's. */
    L->stride = 1;
    L->bias = true;
    L->eps = 1e-5;
    L->momentum = 0.1;
    L->p = 0.5;
    size_t b = 1;
    switch (L->kind) {
    case SL__L_LINEAR:
        SL__TRY(int_arg(L, tokno, "out", val[0], 1, big, &L->nout));
        if (have[1]) {
            SL__TRY(int_arg(L, tokno, "bias", val[1], 0, 1, &b));
            L->bias = b != 0;
        }
        break;
    case SL__L_CONV:
        SL__TRY(int_arg(L, tokno, "out", val[0], 1, big, &L->nout));
        SL__TRY(int_arg(L, tokno, "k", val[1], 1, 64, &L->k));
        if (have[2]) SL__TRY(int_arg(L, tokno, "stride", val[2], 1, 64, &L->stride));
        if (have[3]) SL__TRY(int_arg(L, tokno, "pad", val[3], 0, 64, &L->pad));
        if (have[4]) {
            SL__TRY(int_arg(L, tokno, "bias", val[4], 0, 1, &b));
            L->bias = b != 0;
        }
        break;
    case SL__L_BN:
    case SL__L_LN:
        if (have[0]) {
            if (!(val[0] > 0 && val[0] < 1)) return TOKFAIL(SL_ERR_FORMAT, "eps must be in (0, 1), got %g", val[0]);
            L->eps = val[0];
        }
        if (L->kind == SL__L_BN && have[1]) {
            if (!(val[1] >= 0 && val[1] <= 1))
                return TOKFAIL(SL_ERR_FORMAT, "momentum must be in [0, 1], got %g", val[1]);
            L->momentum = val[1];
        }
        break;
    case SL__L_MAXPOOL:
    case SL__L_AVGPOOL:
        SL__TRY(int_arg(L, tokno, "k", val[0], 1, 64, &L->k));
        L->stride = L->k;
        if (have[1]) SL__TRY(int_arg(L, tokno, "stride", val[1], 1, 64, &L->stride));
        if (have[2]) SL__TRY(int_arg(L, tokno, "pad", val[2], 0, 32, &L->pad));
        if (2 * L->pad > L->k) return TOKFAIL(SL_ERR_FORMAT, "pad must be at most half the kernel size");
        break;
    case SL__L_UPSAMPLE: SL__TRY(int_arg(L, tokno, "scale", val[0], 1, 64, &L->scale)); break;
    case SL__L_UNFLATTEN:
        SL__TRY(int_arg(L, tokno, "c", val[0], 1, big, &L->nout));
        SL__TRY(int_arg(L, tokno, "h", val[1], 1, big, &L->k));
        SL__TRY(int_arg(L, tokno, "w", val[2], 1, big, &L->stride));
        break;
    case SL__L_DROPOUT:
        if (have[0]) {
            if (!(val[0] >= 0 && val[0] < 1)) return TOKFAIL(SL_ERR_FORMAT, "p must be in [0, 1), got %g", val[0]);
            L->p = val[0];
        }
        break;
    case SL__L_EMBBAG:
        SL__TRY(int_arg(L, tokno, "vocab", val[0], 1, 1e8, &L->vocab));
        SL__TRY(int_arg(L, tokno, "dim", val[1], 1, big, &L->nout));
        break;
    default: break;
    }
    return SL_OK;
}

static sl_shape flat(size_t d) { return (sl_shape){1, {d, 0, 0}}; }
static sl_shape img(size_t c, size_t h, size_t w) { return (sl_shape){3, {c, h, w}}; }

/* Output shape and parameter counts of layer L given its input shape. */
static sl_status infer(sl__layer *L, size_t tokno, size_t index) {
    const sl_shape in = L->in;
    char sh[64];
    sl_shape_format(&in, sh, sizeof sh);
    bool is_img = in.ndim == 3;
    size_t C = in.dims[0];
    L->w_count = L->b_count = 0;
    switch (L->kind) {
    case SL__L_LINEAR:
        if (is_img) return TOKFAIL(SL_ERR_ARG, "needs a flat input, got %s; insert flatten or gap before it", sh);
        L->out = flat(L->nout);
        L->w_count = L->nout * C;
        L->b_count = L->bias ? L->nout : 0;
        break;
    case SL__L_CONV: {
        if (!is_img) return TOKFAIL(SL_ERR_ARG, "needs an image input (CxHxW), got %s", sh);
        size_t hp = in.dims[1] + 2 * L->pad, wp = in.dims[2] + 2 * L->pad;
        if (hp < L->k || wp < L->k)
            return TOKFAIL(SL_ERR_ARG, "kernel %zu is larger than the padded input %zux%zu", L->k, hp, wp);
        L->out = img(L->nout, (hp - L->k) / L->stride + 1, (wp - L->k) / L->stride + 1);
        L->w_count = L->nout * C * L->k * L->k;
        L->b_count = L->bias ? L->nout : 0;
        break;
    }
    case SL__L_BN:
        L->out = in;
        L->w_count = L->b_count = C;
        break;
    case SL__L_LN:
        if (is_img) return TOKFAIL(SL_ERR_ARG, "needs a flat input, got %s", sh);
        L->out = in;
        L->w_count = L->b_count = C;
        break;
    case SL__L_MAXPOOL:
    case SL__L_AVGPOOL: {
        if (!is_img) return TOKFAIL(SL_ERR_ARG, "needs an image input (CxHxW), got %s", sh);
        size_t hp = in.dims[1] + 2 * L->pad, wp = in.dims[2] + 2 * L->pad;
        if (hp < L->k || wp < L->k)
            return TOKFAIL(SL_ERR_ARG, "window %zu is larger than the input %zux%zu", L->k, hp, wp);
        L->out = img(C, (hp - L->k) / L->stride + 1, (wp - L->k) / L->stride + 1);
        break;
    }
    case SL__L_UPSAMPLE:
        if (!is_img) return TOKFAIL(SL_ERR_ARG, "needs an image input (CxHxW), got %s", sh);
        if (in.dims[1] * L->scale > ((size_t)1 << 20) || in.dims[2] * L->scale > ((size_t)1 << 20))
            return TOKFAIL(SL_ERR_ARG, "output would be too large");
        L->out = img(C, in.dims[1] * L->scale, in.dims[2] * L->scale);
        break;
    case SL__L_GAP:
        if (!is_img) return TOKFAIL(SL_ERR_ARG, "needs an image input (CxHxW), got %s", sh);
        L->out = flat(C);
        break;
    case SL__L_FLATTEN: L->out = flat(sl_shape_count(&in)); break;
    case SL__L_UNFLATTEN:
        if (is_img) return TOKFAIL(SL_ERR_ARG, "needs a flat input, got %s", sh);
        if (L->nout * L->k * L->stride != C)
            return TOKFAIL(SL_ERR_ARG, "%zux%zux%zu does not match the input size %zu", L->nout, L->k, L->stride, C);
        L->out = img(L->nout, L->k, L->stride);
        break;
    case SL__L_L2NORM:
        if (is_img) return TOKFAIL(SL_ERR_ARG, "needs a flat input, got %s", sh);
        L->out = in;
        break;
    case SL__L_EMBBAG:
        if (index != 0) return TOKFAIL(SL_ERR_ARG, "must be the first layer (its input is token ids)");
        if (is_img) return TOKFAIL(SL_ERR_ARG, "needs a flat input of token ids, got %s", sh);
        L->out = flat(L->nout);
        L->w_count = L->vocab * L->nout;
        break;
    default: L->out = in; break;
    }
    L->in_count = sl_shape_count(&L->in);
    L->out_count = sl_shape_count(&L->out);
    if (L->out_count > ((size_t)1 << 28)) return TOKFAIL(SL_ERR_ARG, "output of %zu floats per example is too large", L->out_count);
    return SL_OK;
}

/* ---- creation -----------------------------------------------------------*/
static sl_status add_tensor(sl_model *m, const sl__layer *L, const char *what, sl_tensor_role role, size_t off,
                            bool is_param, size_t count) {
    sl__tensor *t = &m->tensors[m->ntensors++];
    snprintf(t->name, sizeof t->name, "%d.%s", L->torch_index, what);
    memset(&t->info, 0, sizeof t->info);
    t->info.name = t->name;
    t->info.role = role;
    t->info.count = count;
    t->offset = off;
    t->is_param = is_param;
    if (role == SL_TENSOR_WEIGHT && L->kind == SL__L_CONV) {
        t->info.ndim = 4;
        t->info.shape[0] = L->nout;
        t->info.shape[1] = L->in.dims[0];
        t->info.shape[2] = t->info.shape[3] = L->k;
    } else if (role == SL_TENSOR_WEIGHT && L->kind == SL__L_LINEAR) {
        t->info.ndim = 2;
        t->info.shape[0] = L->nout;
        t->info.shape[1] = L->in.dims[0];
    } else if (role == SL_TENSOR_WEIGHT && L->kind == SL__L_EMBBAG) {
        t->info.ndim = 2;
        t->info.shape[0] = L->vocab;
        t->info.shape[1] = L->nout;
    } else {
        t->info.ndim = 1;
        t->info.shape[0] = count;
    }
    t->info.decay = role == SL_TENSOR_WEIGHT;
    return SL_OK;
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

static void init_params(sl_model *m, uint64_t seed) {
    for (size_t i = 0; i < m->nl; i++) {
        sl__layer *L = &m->layers[i];
        sl_rng r;
        sl_rng_seed(&r, seed, 1000 + i);
        float *w = m->params + L->w_off, *b = m->params + L->b_off;
        switch (L->kind) {
        case SL__L_LINEAR:
        case SL__L_CONV: {
            /* PyTorch: kaiming_uniform_(a=sqrt(5)) gives bound 1/sqrt(fan_in);
             * the bias uses the same bound. */
            size_t fan_in = L->w_count / L->nout;
            float bound = (float)(1.0 / sqrt((double)fan_in));
            for (size_t j = 0; j < L->w_count; j++) w[j] = sl_rng_range(&r, -bound, bound);
            for (size_t j = 0; j < L->b_count; j++) b[j] = sl_rng_range(&r, -bound, bound);
            break;
        }
        case SL__L_BN:
        case SL__L_LN:
            for (size_t j = 0; j < L->w_count; j++) w[j] = 1.0f, b[j] = 0.0f;
            if (L->kind == SL__L_BN)
                for (size_t j = 0; j < L->w_count; j++) m->bufs[L->buf_off + j] = 0.0f,
                                                       m->bufs[L->buf_off + L->w_count + j] = 1.0f;
            break;
        case SL__L_EMBBAG:
            for (size_t j = 0; j < L->w_count; j++) w[j] = (float)sl_rng_normal(&r);
            break;
        default: break;
        }
    }
}

sl_status sl_model_create(const char *spec, const sl_shape *input, uint64_t seed, sl_model **out) {
    if (!spec || !input) return sl__fail(SL_ERR_ARG, "model: spec and input shape are required");
    if (input->ndim != 1 && input->ndim != 3) return sl__fail(SL_ERR_ARG, "model: input shape must be CxHxW or D");
    for (int i = 0; i < input->ndim; i++)
        if (input->dims[i] == 0 || input->dims[i] > ((size_t)1 << 24))
            return sl__fail(SL_ERR_ARG, "model: input dimension %d is %zu", i, input->dims[i]);
    /* Count tokens: commas outside parentheses separate layers. */
    size_t ntok = 1;
    int depth = 0;
    for (const char *p = spec; *p; p++) {
        if (*p == '(') depth++;
        else if (*p == ')') depth--;
        else if (*p == ',' && depth == 0) ntok++;
    }
    sl_model *m = sl__calloc(1, sizeof *m);
    if (!m) return sl__fail(SL_ERR_NOMEM, "model: out of memory");
    m->layers = sl__calloc(ntok, sizeof *m->layers);
    m->input = *input;
    if (!m->layers) {
        sl_model_destroy(m);
        return sl__fail(SL_ERR_NOMEM, "model: out of memory");
    }
    sl_status st = SL_OK;
    /* Split and parse. */
    const char *p = spec;
    size_t nl = 0;
    while (st == SL_OK) {
        const char *start = p;
        depth = 0;
        while (*p && !(*p == ',' && depth == 0)) {
            if (*p == '(') depth++;
            if (*p == ')') depth--;
            p++;
        }
        const char *a = start, *e = p;
        while (a < e && isspace((unsigned char)*a)) a++;
        while (e > a && isspace((unsigned char)e[-1])) e--;
        sl__layer *L = &m->layers[nl];
        L->col = (size_t)(a - spec) + 1;
        size_t len = (size_t)(e - a);
        if (len >= sizeof L->token) {
            memcpy(L->token, a, sizeof L->token - 4);
            strcpy(L->token + sizeof L->token - 4, "...");
            st = tokfail(SL_ERR_FORMAT, L, nl + 1, "token too long");
            break;
        }
        memcpy(L->token, a, len);
        L->token[len] = '\0';
        /* Spaces inside a token are dropped so "conv(32, 3)" is accepted. */
        size_t w = 0;
        for (size_t r = 0; L->token[r]; r++)
            if (!isspace((unsigned char)L->token[r])) L->token[w++] = L->token[r];
        L->token[w] = '\0';
        if (!L->token[0]) {
            st = tokfail(SL_ERR_FORMAT, L, nl + 1, "empty layer (two commas in a row, or a trailing comma?)");
            break;
        }
        st = parse_token(L, nl + 1);
        nl++;
        if (!*p) break;
        p++;
    }
    m->nl = nl;
    if (st == SL_OK && depth != 0) st = sl__fail(SL_ERR_FORMAT, "spec: unbalanced parentheses");
    /* Shapes, torch indices, parameter offsets. */
    size_t P = 0, B = 0, nt = 0, speclen = 1;
    int tidx = 0;
    sl_shape cur = *input;
    for (size_t i = 0; st == SL_OK && i < nl; i++) {
        sl__layer *L = &m->layers[i];
        L->in = cur;
        st = infer(L, i + 1, i);
        if (st) break;
        cur = L->out;
        L->torch_index = tidx;
        tidx += L->kind == SL__L_GAP ? 2 : 1;
        L->w_off = P;
        P += L->w_count;
        L->b_off = P;
        P += L->b_count;
        nt += (L->w_count > 0) + (L->b_count > 0);
        if (L->kind == SL__L_BN) {
            L->buf_off = B;
            B += 2 * L->w_count;
            nt += 2;
        }
        speclen += strlen(L->token) + 1;
        /* A ReLU right after a batch norm is applied inside the BN kernel. */
        if (L->kind == SL__L_RELU && i > 0 && m->layers[i - 1].kind == SL__L_BN) {
            m->layers[i - 1].fused_relu = true;
            L->passthrough = true;
        }
    }
    if (st == SL_OK) {
        m->output = cur;
        m->nparams = P;
        m->nbufs = B;
        size_t total;
        if (!sl_size_mul(P, 4, &total) || total + B < total) st = sl__fail(SL_ERR_NOMEM, "model: too many parameters");
        else {
            m->block = sl__malloc_array(total + B, sizeof(float), "model parameters");
            m->tensors = sl__calloc(nt ? nt : 1, sizeof *m->tensors);
            m->spec = sl__malloc(speclen);
            if (!m->block || !m->tensors || !m->spec) st = sl__fail(SL_ERR_NOMEM, "model: out of memory");
        }
    }
    if (st == SL_OK) {
        memset(m->block, 0, (4 * P + B) * sizeof(float));
        m->params = m->block;
        m->grads = m->block + P;
        m->state1 = m->block + 2 * P;
        m->state2 = m->block + 3 * P;
        m->bufs = m->block + 4 * P;
        m->spec[0] = '\0';
        for (size_t i = 0; i < nl; i++) {
            sl__layer *L = &m->layers[i];
            if (i) strcat(m->spec, ",");
            strcat(m->spec, L->token);
            sl_tensor_role wr = (L->kind == SL__L_BN || L->kind == SL__L_LN) ? SL_TENSOR_NORM : SL_TENSOR_WEIGHT;
            sl_tensor_role br = wr == SL_TENSOR_NORM ? SL_TENSOR_NORM : SL_TENSOR_BIAS;
            if (L->w_count) add_tensor(m, L, "weight", wr, L->w_off, true, L->w_count);
            if (L->b_count) add_tensor(m, L, "bias", br, L->b_off, true, L->b_count);
            if (L->kind == SL__L_BN) {
                add_tensor(m, L, "running_mean", SL_TENSOR_BUFFER, L->buf_off, false, L->w_count);
                add_tensor(m, L, "running_var", SL_TENSOR_BUFFER, L->buf_off + L->w_count, false, L->w_count);
                m->layers[i].cache = sl__malloc_array(4 * L->w_count, sizeof(float), "bn cache");
                if (!m->layers[i].cache) st = SL_ERR_NOMEM;
            }
        }
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
    m->actmem = m->gmem = m->scratch = NULL;
    m->acts = NULL;
    for (size_t i = 0; i < m->nl; i++) {
        sl__layer *L = &m->layers[i];
        if (L->kind != SL__L_BN) {
            sl__free(L->cache);
            L->cache = NULL;
        }
        sl__free(L->idx);
        sl__free(L->mask);
        L->idx = NULL;
        L->mask = NULL;
    }
    m->cap = 0;
}

void sl_model_destroy(sl_model *m) {
    if (!m) return;
    free_batch(m);
    for (size_t i = 0; i < m->nl; i++) sl__free(m->layers[i].cache);
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

/* The convolution scratch is sized for the OpenMP thread count at
 * allocation; a later, larger count uses only that many workers. */
static sl__conv_dims conv_dims(const sl__layer *L, size_t n, size_t threads) {
    sl__conv_dims d = {n, L->in.dims[0], L->in.dims[1], L->in.dims[2], L->out.dims[0], L->out.dims[1],
                       L->out.dims[2], L->k, L->stride, L->pad, 0, threads};
    return d;
}

static bool make_plan(const sl_model *m, size_t n, size_t threads, plan *pl) {
    memset(pl, 0, sizeof *pl);
    size_t in0 = sl_shape_count(&m->input), mx = in0, t;
    pl->act = in0 * n;
    for (size_t i = 0; i < m->nl; i++) {
        const sl__layer *L = &m->layers[i];
        if (!sl_size_mul(L->out_count, n, &t)) return false;
        if (!L->passthrough) pl->act += t;
        mx = SL__MAX(mx, L->out_count);
        if (L->kind == SL__L_CONV) {
            sl__conv_dims d = conv_dims(L, n, threads);
            pl->scratch = SL__MAX(pl->scratch, sl__conv_scratch_floats(&d));
        }
        if (L->kind == SL__L_MAXPOOL) pl->idx += t;
        if (L->kind == SL__L_DROPOUT) pl->mask += t;
        if (L->kind == SL__L_LN || L->kind == SL__L_L2NORM || L->kind == SL__L_EMBBAG) pl->cache += 2 * n;
    }
    if (m->output.ndim == 3) pl->act += sl_shape_count(&m->output) * n;
    if (!sl_size_mul(mx, 2 * n, &pl->grad)) return false;
    return true;
}

size_t sl_model_memory(const sl_model *m, size_t n) {
    plan pl;
    if (!make_plan(m, n, (size_t)omp_get_max_threads(), &pl)) return SIZE_MAX;
    size_t fixed = (4 * m->nparams + m->nbufs) * sizeof(float);
    return fixed + (pl.act + pl.grad + pl.scratch + pl.cache) * sizeof(float) + pl.idx * sizeof(int32_t) + pl.mask;
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
    m->scratch = pl.scratch ? sl__malloc_array(pl.scratch, sizeof(float), "convolution scratch") : NULL;
    m->acts = sl__calloc(m->nl + 1, sizeof *m->acts);
    if (!m->actmem || !m->gmem || (pl.scratch && !m->scratch) || !m->acts) {
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
        size_t t = L->out_count * n;
        if (L->kind == SL__L_MAXPOOL && !(L->idx = sl__malloc_array(t, sizeof(int32_t), "pool indices"))) goto oom;
        if (L->kind == SL__L_DROPOUT && !(L->mask = sl__malloc_array(t, 1, "dropout mask"))) goto oom;
        if ((L->kind == SL__L_LN || L->kind == SL__L_L2NORM || L->kind == SL__L_EMBBAG) &&
            !(L->cache = sl__malloc_array(2 * n, sizeof(float), "layer cache")))
            goto oom;
    }
    m->yout = m->output.ndim == 3 ? p : NULL;
    m->g0 = m->gmem;
    m->g1 = m->gmem + pl.grad / 2;
    m->cap = n;
    return SL_OK;
oom:
    free_batch(m);
    return sl__fail(SL_ERR_NOMEM, "model: cannot allocate buffers for a batch of %zu", n);
}

/* NCHW <-> CNHW for a batch of n images of c channels with hw pixels. */
static void to_cnhw(float *dst, const float *src, size_t n, size_t c, size_t hw) {
    if (c == 1 || n == 1) {
        memcpy(dst, src, n * c * hw * sizeof(float));
        return;
    }
#pragma omp parallel for collapse(2) schedule(static)
    for (size_t ci = 0; ci < c; ci++)
        for (size_t s = 0; s < n; s++) memcpy(dst + (ci * n + s) * hw, src + (s * c + ci) * hw, hw * sizeof(float));
}

static void to_nchw(float *dst, const float *src, size_t n, size_t c, size_t hw) {
    if (c == 1 || n == 1) {
        memcpy(dst, src, n * c * hw * sizeof(float));
        return;
    }
#pragma omp parallel for collapse(2) schedule(static)
    for (size_t s = 0; s < n; s++)
        for (size_t ci = 0; ci < c; ci++) memcpy(dst + (s * c + ci) * hw, src + (ci * n + s) * hw, hw * sizeof(float));
}

static inline float gelu_f(float x) { return (float)(0.5 * x * (1.0 + erf(x * 0.70710678118654752))); }
static inline float gelu_d(float x) {
    double cdf = 0.5 * (1.0 + erf(x * 0.70710678118654752));
    return (float)(cdf + x * 0.39894228040143268 * exp(-0.5 * (double)x * x));
}

static sl_status layer_forward(sl_model *m, sl__layer *L, const float *in, float *out, size_t n, bool train) {
    const size_t ti = n * L->in_count, to = n * L->out_count;
    float *w = m->params + L->w_off, *b = L->b_count ? m->params + L->b_off : NULL;
    switch (L->kind) {
    case SL__L_LINEAR: sl__linear_forward(out, in, w, b, n, L->in.dims[0], L->nout); break;
    case SL__L_CONV: {
        sl__conv_dims d = conv_dims(L, n, m->team);
        sl__conv_forward(out, in, w, b, &d, m->scratch);
        break;
    }
    case SL__L_BN: {
        size_t hw = L->in.ndim == 3 ? L->in.dims[1] * L->in.dims[2] : 1;
        sl__bn_dims d = {L->in.dims[0], n * hw, L->in.ndim == 1, L->fused_relu, L->eps, L->momentum};
        if (train && d.m < 2)
            return sl__fail(SL_ERR_ARG, "layer '%s': train mode needs more than one value per channel (batch %zu)",
                            L->token, n);
        sl__bn_forward(out, L->cache, m->bufs + L->buf_off, m->bufs + L->buf_off + d.c, in, w, b, &d, train);
        if (train) L->batches_tracked++;
        break;
    }
    case SL__L_LN: {
        size_t D = L->in.dims[0];
        for (size_t s = 0; s < n; s++) {
            const float *x = in + s * D;
            float *y = out + s * D;
            double mu = 0, var = 0;
            for (size_t j = 0; j < D; j++) mu += x[j];
            mu /= (double)D;
            for (size_t j = 0; j < D; j++) var += (x[j] - mu) * (x[j] - mu);
            var /= (double)D;
            double inv = 1.0 / sqrt(var + L->eps);
            for (size_t j = 0; j < D; j++) y[j] = (float)((x[j] - mu) * inv) * w[j] + b[j];
            L->cache[2 * s] = (float)mu;
            L->cache[2 * s + 1] = (float)inv;
        }
        break;
    }
    case SL__L_RELU:
        if (L->passthrough) break;
#pragma omp parallel for schedule(static)
        for (size_t j = 0; j < ti; j++) out[j] = in[j] > 0.0f ? in[j] : 0.0f;
        break;
    case SL__L_GELU:
#pragma omp parallel for schedule(static)
        for (size_t j = 0; j < ti; j++) out[j] = gelu_f(in[j]);
        break;
    case SL__L_TANH:
#pragma omp parallel for schedule(static)
        for (size_t j = 0; j < ti; j++) out[j] = tanhf(in[j]);
        break;
    case SL__L_MAXPOOL: {
        sl__conv_dims d = conv_dims(L, n, 0);
        sl__maxpool_forward(out, L->idx, in, &d);
        break;
    }
    case SL__L_AVGPOOL: {
        sl__conv_dims d = conv_dims(L, n, 0);
        sl__avgpool_forward(out, in, &d);
        break;
    }
    case SL__L_UPSAMPLE: {
        size_t C = L->in.dims[0], H = L->in.dims[1], W = L->in.dims[2], s = L->scale, Wo = W * s;
#pragma omp parallel for schedule(static)
        for (size_t pl = 0; pl < C * n; pl++)
            for (size_t oh = 0; oh < H * s; oh++)
                for (size_t ow = 0; ow < Wo; ow++) out[(pl * H * s + oh) * Wo + ow] = in[(pl * H + oh / s) * W + ow / s];
        break;
    }
    case SL__L_GAP: {
        size_t C = L->in.dims[0], hw = L->in.dims[1] * L->in.dims[2];
#pragma omp parallel for collapse(2) schedule(static)
        for (size_t c = 0; c < C; c++)
            for (size_t s = 0; s < n; s++) {
                const float *x = in + (c * n + s) * hw;
                double acc = 0;
                for (size_t j = 0; j < hw; j++) acc += x[j];
                out[s * C + c] = (float)(acc / (double)hw);
            }
        break;
    }
    case SL__L_FLATTEN:
        if (L->in.ndim == 3) to_nchw(out, in, n, L->in.dims[0], L->in.dims[1] * L->in.dims[2]);
        else memcpy(out, in, ti * sizeof(float));
        break;
    case SL__L_UNFLATTEN: to_cnhw(out, in, n, L->out.dims[0], L->out.dims[1] * L->out.dims[2]); break;
    case SL__L_DROPOUT:
        if (!train || L->p == 0.0) {
            memcpy(out, in, ti * sizeof(float));
            if (train) memset(L->mask, 1, ti);
            break;
        } else {
            float scale = (float)(1.0 / (1.0 - L->p));
            for (size_t j = 0; j < ti; j++) {
                L->mask[j] = sl_rng_uniform_d(&m->rng) >= L->p;
                out[j] = L->mask[j] ? in[j] * scale : 0.0f;
            }
        }
        break;
    case SL__L_L2NORM: {
        size_t D = L->in.dims[0];
        for (size_t s = 0; s < n; s++) {
            double ss = 0;
            for (size_t j = 0; j < D; j++) ss += (double)in[s * D + j] * in[s * D + j];
            double nr = sqrt(ss);
            if (nr < 1e-12) nr = 1e-12; /* F.normalize's eps */
            L->cache[s] = (float)nr;
            for (size_t j = 0; j < D; j++) out[s * D + j] = (float)(in[s * D + j] / nr);
        }
        break;
    }
    case SL__L_EMBBAG: {
        size_t Lt = L->in.dims[0], D = L->nout;
        for (size_t s = 0; s < n; s++) {
            float *y = out + s * D;
            double acc_n = 0;
            memset(y, 0, D * sizeof(float));
            for (size_t j = 0; j < Lt; j++) {
                float id = in[s * Lt + j];
                if (id < 0) continue;
                if (!(id == floorf(id)) || id >= (float)L->vocab)
                    return sl__fail(SL_ERR_RANGE, "layer '%s': example %zu position %zu: token id %g outside 0..%zu",
                                    L->token, s, j, (double)id, L->vocab - 1);
                const float *e = w + (size_t)id * D;
                for (size_t k = 0; k < D; k++) y[k] += e[k];
                acc_n += 1;
            }
            if (acc_n > 0)
                for (size_t k = 0; k < D; k++) y[k] = (float)(y[k] / acc_n);
            L->cache[s] = (float)acc_n;
        }
        break;
    }
    }
    (void)to;
    return SL_OK;
}

sl_status sl_model_forward(sl_model *m, const float *x, size_t n, bool train, const float **y) {
    if (n == 0) return sl__fail(SL_ERR_ARG, "model forward: empty batch");
    SL__TRY(ensure_capacity(m, n));
    m->can_backward = false;
    if (m->input.ndim == 3)
        to_cnhw(m->acts[0], x, n, m->input.dims[0], m->input.dims[1] * m->input.dims[2]);
    else
        memcpy(m->acts[0], x, n * m->input.dims[0] * sizeof(float));
    m->n = n;
    for (size_t i = 0; i < m->nl; i++) SL__TRY(layer_forward(m, &m->layers[i], m->acts[i], m->acts[i + 1], n, train));
    if (m->output.ndim == 3) {
        to_nchw(m->yout, m->acts[m->nl], n, m->output.dims[0], m->output.dims[1] * m->output.dims[2]);
        *y = m->yout;
    } else {
        *y = m->acts[m->nl];
    }
    m->can_backward = train;
    return SL_OK;
}

/* din may be NULL when nothing upstream needs it. */
static void layer_backward(sl_model *m, sl__layer *L, const float *dout, float *din, const float *in,
                           const float *out, size_t n) {
    const size_t ti = n * L->in_count;
    float *w = m->params + L->w_off, *gw = m->grads + L->w_off;
    float *gb = L->b_count ? m->grads + L->b_off : NULL;
    switch (L->kind) {
    case SL__L_LINEAR: sl__linear_backward(din, gw, gb, dout, in, w, n, L->in.dims[0], L->nout); break;
    case SL__L_CONV: {
        sl__conv_dims d = conv_dims(L, n, m->team);
        sl__conv_backward(din, gw, gb, dout, in, w, &d, m->scratch);
        break;
    }
    case SL__L_BN: {
        size_t hw = L->in.ndim == 3 ? L->in.dims[1] * L->in.dims[2] : 1;
        sl__bn_dims d = {L->in.dims[0], n * hw, L->in.ndim == 1, L->fused_relu, L->eps, L->momentum};
        sl__bn_backward(din, gw, gb, dout, out, in, L->cache, w, &d);
        break;
    }
    case SL__L_LN: {
        size_t D = L->in.dims[0];
        for (size_t s = 0; s < n; s++) {
            const float *x = in + s * D, *g = dout + s * D;
            double mu = L->cache[2 * s], inv = L->cache[2 * s + 1], a1 = 0, a2 = 0;
            for (size_t j = 0; j < D; j++) {
                double xh = (x[j] - mu) * inv, gx = (double)g[j] * w[j];
                gw[j] += (float)(g[j] * xh);
                gb[j] += g[j];
                a1 += gx;
                a2 += gx * xh;
            }
            if (!din) continue;
            a1 /= (double)D;
            a2 /= (double)D;
            for (size_t j = 0; j < D; j++) {
                double xh = (x[j] - mu) * inv;
                din[s * D + j] = (float)(inv * ((double)g[j] * w[j] - a1 - xh * a2));
            }
        }
        break;
    }
    case SL__L_RELU:
        if (!din) break;
#pragma omp parallel for schedule(static)
        for (size_t j = 0; j < ti; j++) din[j] = out[j] > 0.0f ? dout[j] : 0.0f;
        break;
    case SL__L_GELU:
        if (!din) break;
#pragma omp parallel for schedule(static)
        for (size_t j = 0; j < ti; j++) din[j] = dout[j] * gelu_d(in[j]);
        break;
    case SL__L_TANH:
        if (!din) break;
#pragma omp parallel for schedule(static)
        for (size_t j = 0; j < ti; j++) din[j] = dout[j] * (1.0f - out[j] * out[j]);
        break;
    case SL__L_MAXPOOL: {
        if (!din) break;
        sl__conv_dims d = conv_dims(L, n, 0);
        sl__maxpool_backward(din, dout, L->idx, &d);
        break;
    }
    case SL__L_AVGPOOL: {
        if (!din) break;
        sl__conv_dims d = conv_dims(L, n, 0);
        sl__avgpool_backward(din, dout, &d);
        break;
    }
    case SL__L_UPSAMPLE: {
        if (!din) break;
        size_t C = L->in.dims[0], H = L->in.dims[1], W = L->in.dims[2], s = L->scale, Wo = W * s;
#pragma omp parallel for schedule(static)
        for (size_t pl = 0; pl < C * n; pl++)
            for (size_t ih = 0; ih < H; ih++)
                for (size_t iw = 0; iw < W; iw++) {
                    float acc = 0.0f;
                    for (size_t a = 0; a < s; a++)
                        for (size_t b = 0; b < s; b++) acc += dout[(pl * H * s + ih * s + a) * Wo + iw * s + b];
                    din[(pl * H + ih) * W + iw] = acc;
                }
        break;
    }
    case SL__L_GAP: {
        if (!din) break;
        size_t C = L->in.dims[0], hw = L->in.dims[1] * L->in.dims[2];
#pragma omp parallel for collapse(2) schedule(static)
        for (size_t c = 0; c < C; c++)
            for (size_t s = 0; s < n; s++) {
                float v = dout[s * C + c] / (float)hw;
                float *g = din + (c * n + s) * hw;
                for (size_t j = 0; j < hw; j++) g[j] = v;
            }
        break;
    }
    case SL__L_FLATTEN:
        if (!din) break;
        if (L->in.ndim == 3) to_cnhw(din, dout, n, L->in.dims[0], L->in.dims[1] * L->in.dims[2]);
        else memcpy(din, dout, ti * sizeof(float));
        break;
    case SL__L_UNFLATTEN:
        if (din) to_nchw(din, dout, n, L->out.dims[0], L->out.dims[1] * L->out.dims[2]);
        break;
    case SL__L_DROPOUT: {
        if (!din) break;
        float scale = (float)(1.0 / (1.0 - L->p));
        for (size_t j = 0; j < ti; j++) din[j] = L->mask[j] ? dout[j] * scale : 0.0f;
        break;
    }
    case SL__L_L2NORM: {
        if (!din) break;
        size_t D = L->in.dims[0];
        for (size_t s = 0; s < n; s++) {
            const float *y = out + s * D, *g = dout + s * D;
            double nr = L->cache[s], dot = 0;
            /* Below eps the map is x/eps, whose Jacobian is I/eps. */
            bool clamped = nr <= 1e-12;
            for (size_t j = 0; j < D; j++) dot += (double)y[j] * g[j];
            for (size_t j = 0; j < D; j++) din[s * D + j] = (float)((g[j] - (clamped ? 0.0 : y[j] * dot)) / nr);
        }
        break;
    }
    case SL__L_EMBBAG: {
        size_t Lt = L->in.dims[0], D = L->nout;
        /* Only the rows of tokens present get gradient (a sparse update). */
        for (size_t s = 0; s < n; s++) {
            if (L->cache[s] == 0) continue;
            float inv = 1.0f / L->cache[s];
            for (size_t j = 0; j < Lt; j++) {
                float id = in[s * Lt + j];
                if (id < 0) continue;
                float *ge = gw + (size_t)id * D;
                for (size_t k = 0; k < D; k++) ge[k] += dout[s * D + k] * inv;
            }
        }
        break;
    }
    }
}

sl_status sl_model_backward(sl_model *m, const float *dy, float *din) {
    if (!m->can_backward)
        return sl__fail(SL_ERR_STATE, "model backward: no train-mode forward pass to go back through");
    size_t n = m->n;
    float *cur = m->g0;
    if (m->output.ndim == 3)
        to_cnhw(cur, dy, n, m->output.dims[0], m->output.dims[1] * m->output.dims[2]);
    else
        memcpy(cur, dy, n * m->output.dims[0] * sizeof(float));
    for (size_t i = m->nl; i-- > 0;) {
        sl__layer *L = &m->layers[i];
        if (L->passthrough) continue;
        bool need = i > 0 || din != NULL;
        if (L->kind == SL__L_EMBBAG) need = false;
        float *next = cur == m->g0 ? m->g1 : m->g0;
        layer_backward(m, L, cur, need ? next : NULL, m->acts[i], m->acts[i + 1], n);
        if (need) cur = next;
    }
    if (din) {
        if (m->layers[0].kind == SL__L_EMBBAG) memset(din, 0, n * sl_shape_count(&m->input) * sizeof(float));
        else if (m->input.ndim == 3)
            to_nchw(din, cur, n, m->input.dims[0], m->input.dims[1] * m->input.dims[2]);
        else
            memcpy(din, cur, n * m->input.dims[0] * sizeof(float));
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
        if (L->kind == SL__L_GAP) snprintf(ti, sizeof ti, "%d-%d", L->torch_index, L->torch_index + 1);
        else snprintf(ti, sizeof ti, "%d", L->torch_index);
        EMIT("%-4zu %-6s %-28s %-14s %10zu\n", i, ti, L->token, sh, L->w_count + L->b_count);
    }
    EMIT("parameters: %zu (%.1f KiB as float32)\n", m->nparams, (double)m->nparams * 4.0 / 1024.0);
#undef EMIT
    return len;
}

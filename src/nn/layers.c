/* The layer kinds: for each, its arguments, shape rule, tensors,
 * initialisation, memory needs and forward and backward passes, gathered in
 * the table sl__layer_kinds at the end, and the presets that stand for
 * several layers (sl__layer_presets). The heavy kernels (convolution, linear,
 * batch norm, pooling, layer norm, GELU) are in kernels.c, the transformer
 * kernels in transformer.c; the rest are here.
 *
 * A pass works on a batch of n examples in the internal layout (images as
 * C x N x H x W, tokens as (n*T) x D rows); a backward adds into the
 * parameter gradients and writes din, which may be NULL when nothing
 * upstream needs it. */
#include "nn/nn_internal.h"
#include "nn/transformer.h"

#include <math.h>
#include <string.h>

/* ---- helpers the kinds share --------------------------------------------*/
static const double big = (double)((size_t)1 << 24); /* largest size argument */

static sl_shape flat(size_t d) { return (sl_shape){1, {d, 0, 0}}; }
static sl_shape img(size_t c, size_t h, size_t w) { return (sl_shape){3, {c, h, w}}; }
static sl_shape tok(size_t t, size_t d) { return (sl_shape){2, {t, d, 0}}; }

/* Features of a flat or token input (its last dimension), and the rows of a
 * batch of n: n for flat, n*T for tokens. */
static size_t width(const sl_shape *s) { return s->dims[s->ndim - 1]; }
static size_t rows_of(const sl__layer *L, size_t n) { return n * (L->in_count / width(&L->in)); }

/* Argument `slot` of L's kind, when given: an integer in lo..hi. */
static sl_status arg_int(const sl__layer *L, const sl__layer_args *a, int slot, double lo, double hi, size_t *out) {
    if (!a->have[slot]) return SL_OK;
    double v = a->val[slot];
    if (!(v == floor(v)) || v < lo || v > hi)
        return sl__layer_fail(L, SL_ERR_FORMAT, "argument '%s' must be an integer in %.0f..%.0f, got %g",
                              L->ops->args[slot], lo, hi, v);
    *out = (size_t)v;
    return SL_OK;
}

/* Argument `slot`, when given: 0 or 1. */
static sl_status arg_flag(const sl__layer *L, const sl__layer_args *a, int slot, bool *out) {
    size_t b = *out;
    SL__TRY(arg_int(L, a, slot, 0, 1, &b));
    *out = b != 0;
    return SL_OK;
}

/* Fails unless L's input is flat; what completes the message, and hint
 * follows it for an image input. */
static sl_status need_flat(const sl__layer *L, const char *what, const char *hint) {
    if (L->in.ndim == 1) return SL_OK;
    char sh[64];
    sl_shape_format(&L->in, sh, sizeof sh);
    if (L->in.ndim == 2)
        return sl__layer_fail(L, SL_ERR_ARG, "needs a flat input%s, got %s tokens; insert tokfirst or tokmean before it",
                              what, sh);
    return sl__layer_fail(L, SL_ERR_ARG, "needs a flat input%s, got %s%s", what, sh, hint);
}

/* Fails unless L's input is flat or tokens (a kind that works on rows); an
 * image gets the message of need_flat. */
static sl_status need_rows(const sl__layer *L) {
    if (L->in.ndim != 3) return SL_OK;
    char sh[64];
    sl_shape_format(&L->in, sh, sizeof sh);
    return sl__layer_fail(L, SL_ERR_ARG, "needs a flat input, got %s; insert flatten or gap before it", sh);
}

/* The shape rule of a kind that keeps a flat input's shape. */
static sl_status same_flat_shape(sl__layer *L) {
    SL__TRY(need_flat(L, "", ""));
    L->out = L->in;
    return SL_OK;
}

/* The shape rule of a kind that keeps a flat or token input's shape. */
static sl_status same_rows_shape(sl__layer *L) {
    SL__TRY(need_rows(L));
    L->out = L->in;
    return SL_OK;
}

static sl_status need_tokens(const sl__layer *L) {
    if (L->in.ndim == 2) return SL_OK;
    char sh[64];
    sl_shape_format(&L->in, sh, sizeof sh);
    return sl__layer_fail(L, SL_ERR_ARG, "needs a token input (TxD), got %s%s", sh,
                          L->in.ndim == 3 ? "; insert patch(p,dim) before it" : "");
}

static sl_status need_image(const sl__layer *L) {
    if (L->in.ndim == 3) return SL_OK;
    char sh[64];
    sl_shape_format(&L->in, sh, sizeof sh);
    return sl__layer_fail(L, SL_ERR_ARG, "needs an image input (CxHxW), got %s%s", sh, L->in.ndim == 2 ? " tokens" : "");
}

/* Image output of c channels of a k x k window sliding by stride over the
 * input padded by pad; what and input name the window and the input in the
 * error. */
static sl_status window_shape(sl__layer *L, size_t c, const char *what, const char *input) {
    SL__TRY(need_image(L));
    size_t hp = L->in.dims[1] + 2 * L->pad, wp = L->in.dims[2] + 2 * L->pad;
    if (hp < L->k || wp < L->k)
        return sl__layer_fail(L, SL_ERR_ARG, "%s %zu is larger than the %s %zux%zu", what, L->k, input, hp, wp);
    L->out = img(c, (hp - L->k) / L->stride + 1, (wp - L->k) / L->stride + 1);
    return SL_OK;
}

/* The convolution scratch is sized for the OpenMP thread count at
 * allocation; a later, larger count uses only that many workers. */
static sl__conv_dims conv_dims(const sl__layer *L, size_t n, size_t threads) {
    sl__conv_dims d = {n, L->in.dims[0], L->in.dims[1], L->in.dims[2], L->out.dims[0], L->out.dims[1],
                       L->out.dims[2], L->k, L->stride, L->pad, 0, threads};
    return d;
}

/* A weight of the given shape and, with L->bias, a bias of L->nout. */
static size_t weight_and_bias(const sl__layer *L, sl__tensor_spec t[], sl__tensor_spec weight) {
    t[0] = weight;
    t[1] = (sl__tensor_spec){"bias", SL_TENSOR_BIAS, 1, {L->nout}};
    return L->bias ? 2 : 1;
}

/* PyTorch: kaiming_uniform_(a=sqrt(5)) gives bound 1/sqrt(fan_in); the bias
 * uses the same bound. */
static void uniform_init(float *x, size_t count, double bound, sl_rng *r) {
    for (size_t j = 0; j < count; j++) x[j] = sl_rng_range(r, (float)-bound, (float)bound);
}

static void fan_in_init(const sl__layer *L, float *const data[], sl_rng *r, size_t fan_in) {
    double bound = 1.0 / sqrt((double)fan_in);
    uniform_init(data[0], L->nout * fan_in, bound, r);
    if (L->bias) uniform_init(data[1], L->nout, bound, r);
}

/* Normal(0, 0.02) truncated at two standard deviations (values beyond are
 * drawn again), as common ViT code (timm, DeiT) initialises class tokens and
 * position embeddings: nn.init.trunc_normal_(x, std=0.02, a=-0.04, b=0.04). */
static void trunc_normal_init(float *x, size_t count, sl_rng *r) {
    for (size_t j = 0; j < count; j++) {
        double v;
        do v = sl_rng_normal(r);
        while (fabs(v) > 2.0);
        x[j] = (float)(0.02 * v);
    }
}

/* Two floats of cache per example (l2norm and embbag use one). */
static void per_example_cache(const sl__layer *L, size_t n, size_t threads, sl__layer_mem *mem) {
    (void)L;
    (void)threads;
    mem->cache = 2 * n;
}

/* Two floats of cache per row (ln keeps mean and 1/sd): n*T of them for tokens. */
static void per_row_cache(const sl__layer *L, size_t n, size_t threads, sl__layer_mem *mem) {
    (void)threads;
    mem->cache = sl__mul_sat(2, sl__mul_sat(n, L->in_count / width(&L->in)));
}

/* ---- linear --------------------------------------------------------------*/
static sl_status linear_configure(sl__layer *L, const sl__layer_args *a) {
    L->bias = true;
    SL__TRY(arg_int(L, a, 0, 1, big, &L->nout));
    return arg_flag(L, a, 1, &L->bias);
}

/* On tokens it maps each token, as nn.Linear does on the last dimension. */
static sl_status linear_shape(sl__layer *L) {
    SL__TRY(need_rows(L));
    L->out = L->in.ndim == 2 ? tok(L->in.dims[0], L->nout) : flat(L->nout);
    return SL_OK;
}

static size_t linear_tensors(const sl__layer *L, sl__tensor_spec t[]) {
    return weight_and_bias(L, t, (sl__tensor_spec){"weight", SL_TENSOR_WEIGHT, 2, {L->nout, width(&L->in)}});
}

static void linear_init(const sl__layer *L, float *const data[], sl_rng *r) { fan_in_init(L, data, r, width(&L->in)); }

static sl_status linear_forward(sl__layer *L, const sl__pass *p) {
    sl__linear_forward(p->out, p->in, p->data[0], p->data[1], rows_of(L, p->n), width(&L->in), L->nout);
    return SL_OK;
}

static void linear_backward(const sl__layer *L, const sl__pass *p) {
    sl__linear_backward(p->din, p->grad[0], p->grad[1], p->dout, p->in, p->data[0], rows_of(L, p->n),
                        width(&L->in), L->nout);
}

/* ---- conv ----------------------------------------------------------------*/
static sl_status conv_configure(sl__layer *L, const sl__layer_args *a) {
    L->stride = 1;
    L->bias = true;
    SL__TRY(arg_int(L, a, 0, 1, big, &L->nout));
    SL__TRY(arg_int(L, a, 1, 1, 64, &L->k));
    SL__TRY(arg_int(L, a, 2, 1, 64, &L->stride));
    SL__TRY(arg_int(L, a, 3, 0, 64, &L->pad));
    return arg_flag(L, a, 4, &L->bias);
}

static sl_status conv_shape(sl__layer *L) { return window_shape(L, L->nout, "kernel", "padded input"); }

static size_t conv_tensors(const sl__layer *L, sl__tensor_spec t[]) {
    return weight_and_bias(L, t,
                           (sl__tensor_spec){"weight", SL_TENSOR_WEIGHT, 4, {L->nout, L->in.dims[0], L->k, L->k}});
}

static void conv_init(const sl__layer *L, float *const data[], sl_rng *r) {
    fan_in_init(L, data, r, L->in.dims[0] * L->k * L->k);
}

static void conv_memory(const sl__layer *L, size_t n, size_t threads, sl__layer_mem *mem) {
    sl__conv_dims d = conv_dims(L, n, threads);
    mem->scratch = sl__conv_scratch_floats(&d);
}

static sl_status conv_forward(sl__layer *L, const sl__pass *p) {
    sl__conv_dims d = conv_dims(L, p->n, p->team);
    sl__conv_forward(p->out, p->in, p->data[0], p->data[1], &d, p->scratch);
    return SL_OK;
}

static void conv_backward(const sl__layer *L, const sl__pass *p) {
    sl__conv_dims d = conv_dims(L, p->n, p->team);
    sl__conv_backward(p->din, p->grad[0], p->grad[1], p->dout, p->in, p->data[0], &d, p->scratch);
}

/* ---- bn and ln: per-channel weight and bias ("NORM" tensors) -------------*/
static sl_status ln_configure(sl__layer *L, const sl__layer_args *a) {
    L->eps = 1e-5;
    if (a->have[0]) {
        if (!(a->val[0] > 0 && a->val[0] < 1))
            return sl__layer_fail(L, SL_ERR_FORMAT, "eps must be in (0, 1), got %g", a->val[0]);
        L->eps = a->val[0];
    }
    return SL_OK;
}

static sl_status bn_configure(sl__layer *L, const sl__layer_args *a) {
    SL__TRY(ln_configure(L, a));
    L->momentum = 0.1;
    if (a->have[1]) {
        if (!(a->val[1] >= 0 && a->val[1] <= 1))
            return sl__layer_fail(L, SL_ERR_FORMAT, "momentum must be in [0, 1], got %g", a->val[1]);
        L->momentum = a->val[1];
    }
    return SL_OK;
}

/* bn normalises channels (the first dimension), ln the features of each
 * row (the last). */
static sl_status bn_shape(sl__layer *L) {
    if (L->in.ndim == 2)
        return sl__layer_fail(L, SL_ERR_ARG, "needs an image or flat input, got tokens; use ln on tokens");
    L->out = L->in;
    return SL_OK;
}

static size_t norm_tensors(sl__tensor_spec t[], size_t C) {
    t[0] = (sl__tensor_spec){"weight", SL_TENSOR_NORM, 1, {C}};
    t[1] = (sl__tensor_spec){"bias", SL_TENSOR_NORM, 1, {C}};
    return 2;
}

static size_t ln_tensors(const sl__layer *L, sl__tensor_spec t[]) { return norm_tensors(t, width(&L->in)); }

static size_t bn_tensors(const sl__layer *L, sl__tensor_spec t[]) {
    size_t C = L->in.dims[0];
    norm_tensors(t, C);
    t[2] = (sl__tensor_spec){"running_mean", SL_TENSOR_BUFFER, 1, {C}};
    t[3] = (sl__tensor_spec){"running_var", SL_TENSOR_BUFFER, 1, {C}};
    return 4;
}

/* Weight 1, bias 0 (the bias is already 0). */
static void norm_init(float *w, size_t C) {
    for (size_t j = 0; j < C; j++) w[j] = 1.0f;
}

static void ln_init(const sl__layer *L, float *const data[], sl_rng *r) {
    (void)r;
    norm_init(data[0], width(&L->in));
}

static void bn_init(const sl__layer *L, float *const data[], sl_rng *r) {
    (void)r;
    norm_init(data[0], L->in.dims[0]);
    norm_init(data[3], L->in.dims[0]);
}

/* The statistics of the last train forward: mean, 1/sd, scale, shift. */
static size_t bn_stats_floats(const sl__layer *L) { return 4 * L->in.dims[0]; }

static sl__bn_dims bn_dims(const sl__layer *L, size_t n) {
    size_t hw = L->in.ndim == 3 ? L->in.dims[1] * L->in.dims[2] : 1;
    return (sl__bn_dims){L->in.dims[0], n * hw, L->in.ndim == 1, L->fused_next, L->eps, L->momentum};
}

static sl_status bn_forward(sl__layer *L, const sl__pass *p) {
    sl__bn_dims d = bn_dims(L, p->n);
    if (p->train && d.m < 2)
        return sl__fail(SL_ERR_ARG, "layer '%s': train mode needs more than one value per channel (batch %zu)",
                        L->token, p->n);
    if (p->train && L->sync && sl_dist_size() > 1) {
        SL__TRY(sl__bn_forward_sync(p->out, L->stats, p->data[2], p->data[3], p->in, p->data[0], p->data[1], &d,
                                    &L->sync_count));
    } else {
        sl__bn_forward(p->out, L->stats, p->data[2], p->data[3], p->in, p->data[0], p->data[1], &d, p->train);
        L->sync_count = 0;
    }
    if (p->train) L->batches_tracked++;
    return SL_OK;
}

static void bn_backward(const sl__layer *L, const sl__pass *p) {
    sl__bn_dims d = bn_dims(L, p->n);
    if (L->sync_count > 0) {
        sl_status s = sl__bn_backward_sync(p->din, p->grad[0], p->grad[1], p->dout, p->out, p->in, L->stats,
                                           p->data[0], &d, L->sync_count);
        if (s && p->status && !*p->status) *p->status = s;
        return;
    }
    sl__bn_backward(p->din, p->grad[0], p->grad[1], p->dout, p->out, p->in, L->stats, p->data[0], &d);
}

/* Layer norm over each row's D features (each token's, on tokens); the
 * cache keeps (mean, 1/sd) per row. */
/* With first_only (tokens), row s*T of each example alone, in example order. */
static sl_status ln_forward(sl__layer *L, const sl__pass *p) {
    const size_t d = width(&L->in);
    if (!L->first_only) {
        sl__ln_forward(p->out, L->cache, p->in, p->data[0], p->data[1], rows_of(L, p->n), d, L->eps);
        return SL_OK;
    }
    for (size_t s = 0, T = L->in.dims[0]; s < p->n; s++)
        sl__ln_forward(p->out + s * T * d, L->cache + 2 * s * T, p->in + s * T * d, p->data[0], p->data[1], 1, d,
                       L->eps);
    return SL_OK;
}

static void ln_backward(const sl__layer *L, const sl__pass *p) {
    const size_t d = width(&L->in);
    if (!L->first_only) {
        sl__ln_backward(p->din, p->grad[0], p->grad[1], p->dout, p->in, L->cache, p->data[0], rows_of(L, p->n), d);
        return;
    }
    for (size_t s = 0, T = L->in.dims[0]; s < p->n; s++)
        sl__ln_backward(p->din ? p->din + s * T * d : NULL, p->grad[0], p->grad[1], p->dout + s * T * d,
                        p->in + s * T * d, L->cache + 2 * s * T, p->data[0], 1, d);
}

/* ---- relu, gelu, tanh: elementwise ---------------------------------------*/
static sl_status relu_forward(sl__layer *L, const sl__pass *p) {
    const size_t ti = p->n * L->in_count;
    const float *in = p->in;
    float *out = p->out;
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < ti; j++) out[j] = in[j] > 0.0f ? in[j] : 0.0f;
    return SL_OK;
}

static void relu_backward(const sl__layer *L, const sl__pass *p) {
    const size_t ti = p->n * L->in_count;
    const float *out = p->out, *dout = p->dout;
    float *din = p->din;
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < ti; j++) din[j] = out[j] > 0.0f ? dout[j] : 0.0f;
}

static sl_status gelu_forward(sl__layer *L, const sl__pass *p) {
    sl__gelu_forward(p->out, p->in, p->n * L->in_count);
    return SL_OK;
}

static void gelu_backward(const sl__layer *L, const sl__pass *p) {
    sl__gelu_backward(p->din, p->dout, p->in, p->n * L->in_count);
}

static sl_status tanh_forward(sl__layer *L, const sl__pass *p) {
    const size_t ti = p->n * L->in_count;
    const float *in = p->in;
    float *out = p->out;
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < ti; j++) out[j] = tanhf(in[j]);
    return SL_OK;
}

static void tanh_backward(const sl__layer *L, const sl__pass *p) {
    const size_t ti = p->n * L->in_count;
    const float *out = p->out, *dout = p->dout;
    float *din = p->din;
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < ti; j++) din[j] = dout[j] * (1.0f - out[j] * out[j]);
}

/* ---- maxpool, avgpool ----------------------------------------------------*/
static sl_status pool_configure(sl__layer *L, const sl__layer_args *a) {
    SL__TRY(arg_int(L, a, 0, 1, 64, &L->k));
    L->stride = L->k;
    SL__TRY(arg_int(L, a, 1, 1, 64, &L->stride));
    SL__TRY(arg_int(L, a, 2, 0, 32, &L->pad));
    if (2 * L->pad > L->k) return sl__layer_fail(L, SL_ERR_FORMAT, "pad must be at most half the kernel size");
    return SL_OK;
}

static sl_status pool_shape(sl__layer *L) { return window_shape(L, L->in.dims[0], "window", "input"); }

/* One index per output: the offset of the max inside its input plane. */
static void maxpool_memory(const sl__layer *L, size_t n, size_t threads, sl__layer_mem *mem) {
    (void)threads;
    mem->idx = L->out_count * n;
}

static sl_status maxpool_forward(sl__layer *L, const sl__pass *p) {
    sl__conv_dims d = conv_dims(L, p->n, 0);
    sl__maxpool_forward(p->out, L->idx, p->in, &d);
    return SL_OK;
}

static void maxpool_backward(const sl__layer *L, const sl__pass *p) {
    sl__conv_dims d = conv_dims(L, p->n, 0);
    sl__maxpool_backward(p->din, p->dout, L->idx, &d);
}

static sl_status avgpool_forward(sl__layer *L, const sl__pass *p) {
    sl__conv_dims d = conv_dims(L, p->n, 0);
    sl__avgpool_forward(p->out, p->in, &d);
    return SL_OK;
}

static void avgpool_backward(const sl__layer *L, const sl__pass *p) {
    sl__conv_dims d = conv_dims(L, p->n, 0);
    sl__avgpool_backward(p->din, p->dout, &d);
}

/* ---- upsample: nearest neighbour by an integer factor --------------------*/
static sl_status upsample_configure(sl__layer *L, const sl__layer_args *a) {
    return arg_int(L, a, 0, 1, 64, &L->scale);
}

static sl_status upsample_shape(sl__layer *L) {
    SL__TRY(need_image(L));
    const sl_shape in = L->in;
    if (in.dims[1] * L->scale > ((size_t)1 << 20) || in.dims[2] * L->scale > ((size_t)1 << 20))
        return sl__layer_fail(L, SL_ERR_ARG, "output would be too large");
    L->out = img(in.dims[0], in.dims[1] * L->scale, in.dims[2] * L->scale);
    return SL_OK;
}

static sl_status upsample_forward(sl__layer *L, const sl__pass *p) {
    size_t C = L->in.dims[0], H = L->in.dims[1], W = L->in.dims[2], s = L->scale, Wo = W * s, n = p->n;
    const float *in = p->in;
    float *out = p->out;
#pragma omp parallel for schedule(static)
    for (size_t pl = 0; pl < C * n; pl++)
        for (size_t oh = 0; oh < H * s; oh++)
            for (size_t ow = 0; ow < Wo; ow++) out[(pl * H * s + oh) * Wo + ow] = in[(pl * H + oh / s) * W + ow / s];
    return SL_OK;
}

static void upsample_backward(const sl__layer *L, const sl__pass *p) {
    size_t C = L->in.dims[0], H = L->in.dims[1], W = L->in.dims[2], s = L->scale, Wo = W * s, n = p->n;
    const float *dout = p->dout;
    float *din = p->din;
#pragma omp parallel for schedule(static)
    for (size_t pl = 0; pl < C * n; pl++)
        for (size_t ih = 0; ih < H; ih++)
            for (size_t iw = 0; iw < W; iw++) {
                float acc = 0.0f;
                for (size_t a = 0; a < s; a++)
                    for (size_t b = 0; b < s; b++) acc += dout[(pl * H * s + ih * s + a) * Wo + iw * s + b];
                din[(pl * H + ih) * W + iw] = acc;
            }
}

/* ---- gap: global average pooling, C x N x H x W to N x C -----------------*/
static sl_status gap_shape(sl__layer *L) {
    SL__TRY(need_image(L));
    L->out = flat(L->in.dims[0]);
    return SL_OK;
}

static sl_status gap_forward(sl__layer *L, const sl__pass *p) {
    size_t C = L->in.dims[0], hw = L->in.dims[1] * L->in.dims[2], n = p->n;
    const float *in = p->in;
    float *out = p->out;
#pragma omp parallel for collapse(2) schedule(static)
    for (size_t c = 0; c < C; c++)
        for (size_t s = 0; s < n; s++) {
            const float *x = in + (c * n + s) * hw;
            double acc = 0;
            for (size_t j = 0; j < hw; j++) acc += x[j];
            out[s * C + c] = (float)(acc / (double)hw);
        }
    return SL_OK;
}

static void gap_backward(const sl__layer *L, const sl__pass *p) {
    size_t C = L->in.dims[0], hw = L->in.dims[1] * L->in.dims[2], n = p->n;
    const float *dout = p->dout;
    float *din = p->din;
#pragma omp parallel for collapse(2) schedule(static)
    for (size_t c = 0; c < C; c++)
        for (size_t s = 0; s < n; s++) {
            float v = dout[s * C + c] / (float)hw;
            float *g = din + (c * n + s) * hw;
            for (size_t j = 0; j < hw; j++) g[j] = v;
        }
}

/* ---- flatten, unflatten: layout changes ----------------------------------*/
void sl__to_cnhw(float *dst, const float *src, size_t n, size_t c, size_t hw) {
    if (c == 1 || n == 1) {
        memcpy(dst, src, n * c * hw * sizeof(float));
        return;
    }
#pragma omp parallel for collapse(2) schedule(static)
    for (size_t ci = 0; ci < c; ci++)
        for (size_t s = 0; s < n; s++) memcpy(dst + (ci * n + s) * hw, src + (s * c + ci) * hw, hw * sizeof(float));
}

void sl__to_nchw(float *dst, const float *src, size_t n, size_t c, size_t hw) {
    if (c == 1 || n == 1) {
        memcpy(dst, src, n * c * hw * sizeof(float));
        return;
    }
#pragma omp parallel for collapse(2) schedule(static)
    for (size_t s = 0; s < n; s++)
        for (size_t ci = 0; ci < c; ci++) memcpy(dst + (s * c + ci) * hw, src + (ci * n + s) * hw, hw * sizeof(float));
}

/* Tokens flatten to T*D features, the same floats in the same order. */
static sl_status flatten_shape(sl__layer *L) {
    L->out = flat(sl_shape_count(&L->in));
    return SL_OK;
}

static sl_status flatten_forward(sl__layer *L, const sl__pass *p) {
    if (L->in.ndim == 3) sl__to_nchw(p->out, p->in, p->n, L->in.dims[0], L->in.dims[1] * L->in.dims[2]);
    else memcpy(p->out, p->in, p->n * L->in_count * sizeof(float));
    return SL_OK;
}

static void flatten_backward(const sl__layer *L, const sl__pass *p) {
    if (L->in.ndim == 3) sl__to_cnhw(p->din, p->dout, p->n, L->in.dims[0], L->in.dims[1] * L->in.dims[2]);
    else memcpy(p->din, p->dout, p->n * L->in_count * sizeof(float));
}

static sl_status unflatten_configure(sl__layer *L, const sl__layer_args *a) {
    SL__TRY(arg_int(L, a, 0, 1, big, &L->nout));
    SL__TRY(arg_int(L, a, 1, 1, big, &L->k));
    return arg_int(L, a, 2, 1, big, &L->stride);
}

static sl_status unflatten_shape(sl__layer *L) {
    SL__TRY(need_flat(L, "", ""));
    if (L->nout * L->k * L->stride != L->in.dims[0])
        return sl__layer_fail(L, SL_ERR_ARG, "%zux%zux%zu does not match the input size %zu", L->nout, L->k,
                              L->stride, L->in.dims[0]);
    L->out = img(L->nout, L->k, L->stride);
    return SL_OK;
}

static sl_status unflatten_forward(sl__layer *L, const sl__pass *p) {
    sl__to_cnhw(p->out, p->in, p->n, L->out.dims[0], L->out.dims[1] * L->out.dims[2]);
    return SL_OK;
}

static void unflatten_backward(const sl__layer *L, const sl__pass *p) {
    sl__to_nchw(p->din, p->dout, p->n, L->out.dims[0], L->out.dims[1] * L->out.dims[2]);
}

/* ---- dropout ---------------------------------------------------------------
 * In train mode a mask drawn from the model's stream keeps each value with
 * probability 1 - p and scales it by 1 / (1 - p). */
static sl_status dropout_configure(sl__layer *L, const sl__layer_args *a) {
    L->p = 0.5;
    if (a->have[0]) {
        if (!(a->val[0] >= 0 && a->val[0] < 1))
            return sl__layer_fail(L, SL_ERR_FORMAT, "p must be in [0, 1), got %g", a->val[0]);
        L->p = a->val[0];
    }
    return SL_OK;
}

/* One byte per output: kept or not. */
static void dropout_memory(const sl__layer *L, size_t n, size_t threads, sl__layer_mem *mem) {
    (void)threads;
    mem->mask = L->out_count * n;
}

static sl_status dropout_forward(sl__layer *L, const sl__pass *p) {
    const size_t ti = p->n * L->in_count;
    if (!p->train || L->p == 0.0) {
        memcpy(p->out, p->in, ti * sizeof(float));
        if (p->train) memset(L->mask, 1, ti);
        return SL_OK;
    }
    float scale = (float)(1.0 / (1.0 - L->p));
    for (size_t j = 0; j < ti; j++) {
        L->mask[j] = sl_rng_uniform_d(p->rng) >= L->p;
        p->out[j] = L->mask[j] ? p->in[j] * scale : 0.0f;
    }
    return SL_OK;
}

static void dropout_backward(const sl__layer *L, const sl__pass *p) {
    const size_t ti = p->n * L->in_count;
    float scale = (float)(1.0 / (1.0 - L->p));
    for (size_t j = 0; j < ti; j++) p->din[j] = L->mask[j] ? p->dout[j] * scale : 0.0f;
}

/* ---- l2norm: each example scaled to unit L2 norm; the cache keeps the norms */
static sl_status l2norm_forward(sl__layer *L, const sl__pass *p) {
    size_t D = L->in.dims[0];
    const float *in = p->in;
    float *out = p->out;
    for (size_t s = 0; s < p->n; s++) {
        double ss = 0;
        for (size_t j = 0; j < D; j++) ss += (double)in[s * D + j] * in[s * D + j];
        double nr = sqrt(ss);
        if (nr < 1e-12) nr = 1e-12; /* F.normalize's eps */
        L->cache[s] = (float)nr;
        for (size_t j = 0; j < D; j++) out[s * D + j] = (float)(in[s * D + j] / nr);
    }
    return SL_OK;
}

static void l2norm_backward(const sl__layer *L, const sl__pass *p) {
    size_t D = L->in.dims[0];
    for (size_t s = 0; s < p->n; s++) {
        const float *y = p->out + s * D, *g = p->dout + s * D;
        double nr = L->cache[s], dot = 0;
        /* Below eps the map is x/eps, whose Jacobian is I/eps. */
        bool clamped = nr <= 1e-12;
        for (size_t j = 0; j < D; j++) dot += (double)y[j] * g[j];
        for (size_t j = 0; j < D; j++) p->din[s * D + j] = (float)((g[j] - (clamped ? 0.0 : y[j] * dot)) / nr);
    }
}

/* ---- embbag ----------------------------------------------------------------
 * Bag of embeddings: the mean of the rows of the token ids (negative ids are
 * padding); the cache keeps each example's token count. */
static sl_status embbag_configure(sl__layer *L, const sl__layer_args *a) {
    SL__TRY(arg_int(L, a, 0, 1, 1e8, &L->vocab));
    return arg_int(L, a, 1, 1, big, &L->nout);
}

static sl_status embbag_shape(sl__layer *L) {
    if (L->pos != 1) return sl__layer_fail(L, SL_ERR_ARG, "must be the first layer (its input is token ids)");
    SL__TRY(need_flat(L, " of token ids", ""));
    L->out = flat(L->nout);
    return SL_OK;
}

static size_t embbag_tensors(const sl__layer *L, sl__tensor_spec t[]) {
    t[0] = (sl__tensor_spec){"weight", SL_TENSOR_WEIGHT, 2, {L->vocab, L->nout}};
    return 1;
}

static void embbag_init(const sl__layer *L, float *const data[], sl_rng *r) {
    for (size_t j = 0; j < L->vocab * L->nout; j++) data[0][j] = (float)sl_rng_normal(r);
}

static sl_status embbag_forward(sl__layer *L, const sl__pass *p) {
    size_t Lt = L->in.dims[0], D = L->nout;
    const float *w = p->data[0];
    for (size_t s = 0; s < p->n; s++) {
        float *y = p->out + s * D;
        double acc_n = 0;
        memset(y, 0, D * sizeof(float));
        for (size_t j = 0; j < Lt; j++) {
            float id = p->in[s * Lt + j];
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
    return SL_OK;
}

/* Only the rows of tokens present get gradient (a sparse update); token ids
 * have no gradient. */
static void embbag_backward(const sl__layer *L, const sl__pass *p) {
    size_t Lt = L->in.dims[0], D = L->nout;
    for (size_t s = 0; s < p->n; s++) {
        if (L->cache[s] == 0) continue;
        float inv = 1.0f / L->cache[s];
        for (size_t j = 0; j < Lt; j++) {
            float id = p->in[s * Lt + j];
            if (id < 0) continue;
            float *ge = p->grad[0] + (size_t)id * D;
            for (size_t k = 0; k < D; k++) ge[k] += p->dout[s * D + k] * inv;
        }
    }
}

/* ---- tokemb(vocab,dim): nn.Embedding(vocab, dim) (tensor weight) on a row
 * of T token ids stored as floats, giving T x dim tokens. A negative id is
 * padding: its token is 0, it gets no gradient, and the model passes the pad
 * mask of the ids to the layers after (sl__pass.pad). */
static sl_status tokemb_shape(sl__layer *L) {
    if (L->pos != 1) return sl__layer_fail(L, SL_ERR_ARG, "must be the first layer (its input is token ids)");
    SL__TRY(need_flat(L, " of token ids", ""));
    L->out = tok(L->in.dims[0], L->nout);
    return SL_OK;
}

/* nn.Embedding initialises its weight from Normal(0, 1). */
static void tokemb_init(const sl__layer *L, float *const data[], sl_rng *r) {
    for (size_t j = 0; j < L->vocab * L->nout; j++) data[0][j] = (float)sl_rng_normal(r);
}

static sl_status tokemb_forward(sl__layer *L, const sl__pass *p) {
    const size_t rows = p->n * L->in.dims[0], D = L->nout;
    for (size_t r = 0; r < rows; r++) {
        const float id = p->in[r];
        float *y = p->out + r * D;
        if (id < 0) {
            memset(y, 0, D * sizeof(float));
            continue;
        }
        if (!(id == floorf(id)) || id >= (float)L->vocab)
            return sl__fail(SL_ERR_RANGE, "layer '%s': example %zu position %zu: token id %g outside 0..%zu",
                            L->token, r / L->in.dims[0], r % L->in.dims[0], (double)id, L->vocab - 1);
        memcpy(y, p->data[0] + (size_t)id * D, D * sizeof(float));
    }
    return SL_OK;
}

/* Each token's gradient into the row of its id, in token order (one thread,
 * so the sums do not depend on the thread count); ids have no gradient. */
static void tokemb_backward(const sl__layer *L, const sl__pass *p) {
    const size_t rows = p->n * L->in.dims[0], D = L->nout;
    for (size_t r = 0; r < rows; r++) {
        if (p->in[r] < 0) continue;
        float *g = p->grad[0] + (size_t)p->in[r] * D;
        const float *d = p->dout + r * D;
        for (size_t k = 0; k < D; k++) g[k] += d[k];
    }
}

/* ---- tokens: patch, cls, pos, block, tokmean, tokfirst ---------------------
 * A token batch is (n*T) x D rows. Each kind stands for one module of the
 * equivalent torch.nn.Sequential: small classes (tests/fixtures/nn_torch.py
 * has them) whose state_dict names its tensors carry. */

/* ---- patch(p,dim): Conv2d(C, dim, p, stride=p), then flatten(2).transpose(1,2)
 * (tensors weight and bias of the Conv2d). Rows and columns that fill no
 * patch are dropped, as the strided convolution drops them. */
static sl_status patch_configure(sl__layer *L, const sl__layer_args *a) {
    L->bias = true;
    SL__TRY(arg_int(L, a, 0, 1, 64, &L->k));
    return arg_int(L, a, 1, 1, big, &L->nout);
}

static sl_status patch_shape(sl__layer *L) {
    SL__TRY(need_image(L));
    size_t gh = L->in.dims[1] / L->k, gw = L->in.dims[2] / L->k;
    if (!gh || !gw)
        return sl__layer_fail(L, SL_ERR_ARG, "patch %zu is larger than the input %zux%zu", L->k, L->in.dims[1],
                              L->in.dims[2]);
    L->out = tok(gh * gw, L->nout);
    return SL_OK;
}

static size_t patch_tensors(const sl__layer *L, sl__tensor_spec t[]) {
    return weight_and_bias(L, t,
                           (sl__tensor_spec){"weight", SL_TENSOR_WEIGHT, 4, {L->nout, L->in.dims[0], L->k, L->k}});
}

static void patch_init(const sl__layer *L, float *const data[], sl_rng *r) {
    fan_in_init(L, data, r, L->in.dims[0] * L->k * L->k);
}

static sl__patch_dims patch_dims(const sl__layer *L, size_t n) {
    return (sl__patch_dims){n, L->in.dims[0], L->in.dims[1], L->in.dims[2], L->k, L->nout};
}

/* The patch matrix, n*T x C*p*p. */
static void patch_memory(const sl__layer *L, size_t n, size_t threads, sl__layer_mem *mem) {
    (void)threads;
    mem->scratch = sl__mul_sat(sl__mul_sat(n, L->out.dims[0]), L->in.dims[0] * L->k * L->k);
}

static sl_status patch_forward(sl__layer *L, const sl__pass *p) {
    sl__patch_dims d = patch_dims(L, p->n);
    sl__patch_forward(p->out, p->in, p->data[0], p->data[1], &d, p->scratch);
    return SL_OK;
}

static void patch_backward(const sl__layer *L, const sl__pass *p) {
    sl__patch_dims d = patch_dims(L, p->n);
    sl__patch_backward(p->din, p->grad[0], p->grad[1], p->dout, p->in, p->data[0], &d, p->scratch);
}

/* ---- cls: a learned class token (cls_token, 1 x 1 x D) before the tokens */
static sl_status cls_shape(sl__layer *L) {
    SL__TRY(need_tokens(L));
    L->out = tok(L->in.dims[0] + 1, L->in.dims[1]);
    return SL_OK;
}

/* Class token and position embedding are additive, like a bias: no weight
 * decay (common ViT code exempts them too). */
static size_t cls_tensors(const sl__layer *L, sl__tensor_spec t[]) {
    t[0] = (sl__tensor_spec){"cls_token", SL_TENSOR_BIAS, 3, {1, 1, L->in.dims[1]}};
    return 1;
}

static void cls_init(const sl__layer *L, float *const data[], sl_rng *r) {
    trunc_normal_init(data[0], L->in.dims[1], r);
}

static sl_status cls_forward(sl__layer *L, const sl__pass *p) {
    sl__cls_prepend_forward(p->out, p->in, p->data[0], p->n, L->in.dims[0], L->in.dims[1]);
    return SL_OK;
}

static void cls_backward(const sl__layer *L, const sl__pass *p) {
    sl__cls_prepend_backward(p->din, p->grad[0], p->dout, p->n, L->in.dims[0], L->in.dims[1]);
}

/* ---- pos: a learned position embedding (pos_embed, 1 x T x D) added ------*/
static sl_status pos_shape(sl__layer *L) {
    SL__TRY(need_tokens(L));
    L->out = L->in;
    return SL_OK;
}

static size_t pos_tensors(const sl__layer *L, sl__tensor_spec t[]) {
    t[0] = (sl__tensor_spec){"pos_embed", SL_TENSOR_BIAS, 3, {1, L->in.dims[0], L->in.dims[1]}};
    return 1;
}

static void pos_init(const sl__layer *L, float *const data[], sl_rng *r) {
    trunc_normal_init(data[0], L->in_count, r);
}

static sl_status pos_forward(sl__layer *L, const sl__pass *p) {
    sl__pos_add_forward(p->out, p->in, p->data[0], p->n, L->in.dims[0], L->in.dims[1]);
    return SL_OK;
}

static void pos_backward(const sl__layer *L, const sl__pass *p) {
    sl__pos_add_backward(p->din, p->grad[0], p->dout, p->n, L->in.dims[0], L->in.dims[1]);
}

/* ---- masktok: MAE's shared mask token (mask_token, 1 x 1 x D). The tokens
 * marked in L->mask (one byte per token, n x T, nonzero = masked) are
 * replaced by the token; the others pass unchanged. The marks are written
 * by the masked-autoencoder pass (mae.c) before the forward; a layer with no
 * marks (all zero, as the model allocates them) is the identity. */
static size_t masktok_tensors(const sl__layer *L, sl__tensor_spec t[]) {
    t[0] = (sl__tensor_spec){"mask_token", SL_TENSOR_BIAS, 3, {1, 1, L->in.dims[1]}};
    return 1;
}

static void masktok_memory(const sl__layer *L, size_t n, size_t threads, sl__layer_mem *mem) {
    (void)threads;
    mem->mask = sl__mul_sat(n, L->in.dims[0]);
}

static sl_status masktok_forward(sl__layer *L, const sl__pass *p) {
    size_t rows = p->n * L->in.dims[0], d = L->in.dims[1];
    for (size_t r = 0; r < rows; r++)
        memcpy(p->out + r * d, L->mask[r] ? p->data[0] : p->in + r * d, d * sizeof(float));
    return SL_OK;
}

static void masktok_backward(const sl__layer *L, const sl__pass *p) {
    size_t rows = p->n * L->in.dims[0], d = L->in.dims[1];
    for (size_t r = 0; r < rows; r++) {
        const float *g = p->dout + r * d;
        if (L->mask[r])
            for (size_t j = 0; j < d; j++) p->grad[0][j] += g[j];
        if (p->din) {
            if (L->mask[r]) memset(p->din + r * d, 0, d * sizeof(float));
            else memcpy(p->din + r * d, g, d * sizeof(float));
        }
    }
}

/* ---- block(heads[,mlp=4,hidden,causal=0]): a pre-LN transformer block
 * (transformer.h) with an MLP of hidden features, mlp*D unless hidden is
 * given (L->nout); causal=1 lets each token attend to itself and the tokens
 * before it only. On tokens of padded ids the pad mask keeps the padded
 * tokens out of every token's attention. */
static sl_status block_configure(sl__layer *L, const sl__layer_args *a) {
    L->scale = 4;
    L->eps = 1e-5; /* nn.LayerNorm's default */
    SL__TRY(arg_int(L, a, 0, 1, 4096, &L->heads));
    SL__TRY(arg_int(L, a, 1, 1, 64, &L->scale));
    SL__TRY(arg_int(L, a, 2, 1, big, &L->hidden));
    return arg_flag(L, a, 3, &L->causal);
}

static sl_status block_shape(sl__layer *L) {
    SL__TRY(need_tokens(L));
    size_t D = L->in.dims[1];
    if (D % L->heads)
        return sl__layer_fail(L, SL_ERR_ARG, "%zu heads do not divide the token width %zu", L->heads, D);
    L->nout = L->hidden ? L->hidden : L->scale * D;
    if (L->nout > big) return sl__layer_fail(L, SL_ERR_ARG, "MLP width %zu is too large", L->nout);
    L->out = L->in;
    return SL_OK;
}

static size_t block_tensors(const sl__layer *L, sl__tensor_spec t[]) {
    size_t D = L->in.dims[1], M = L->nout;
    t[SL__BLOCK_NORM1_W] = (sl__tensor_spec){"norm1.weight", SL_TENSOR_NORM, 1, {D}};
    t[SL__BLOCK_NORM1_B] = (sl__tensor_spec){"norm1.bias", SL_TENSOR_NORM, 1, {D}};
    t[SL__BLOCK_IN_W] = (sl__tensor_spec){"attn.in_proj_weight", SL_TENSOR_WEIGHT, 2, {3 * D, D}};
    t[SL__BLOCK_IN_B] = (sl__tensor_spec){"attn.in_proj_bias", SL_TENSOR_BIAS, 1, {3 * D}};
    t[SL__BLOCK_OUT_W] = (sl__tensor_spec){"attn.out_proj.weight", SL_TENSOR_WEIGHT, 2, {D, D}};
    t[SL__BLOCK_OUT_B] = (sl__tensor_spec){"attn.out_proj.bias", SL_TENSOR_BIAS, 1, {D}};
    t[SL__BLOCK_NORM2_W] = (sl__tensor_spec){"norm2.weight", SL_TENSOR_NORM, 1, {D}};
    t[SL__BLOCK_NORM2_B] = (sl__tensor_spec){"norm2.bias", SL_TENSOR_NORM, 1, {D}};
    t[SL__BLOCK_FC1_W] = (sl__tensor_spec){"mlp.0.weight", SL_TENSOR_WEIGHT, 2, {M, D}};
    t[SL__BLOCK_FC1_B] = (sl__tensor_spec){"mlp.0.bias", SL_TENSOR_BIAS, 1, {M}};
    t[SL__BLOCK_FC2_W] = (sl__tensor_spec){"mlp.2.weight", SL_TENSOR_WEIGHT, 2, {D, M}};
    t[SL__BLOCK_FC2_B] = (sl__tensor_spec){"mlp.2.bias", SL_TENSOR_BIAS, 1, {D}};
    return SL__BLOCK_TENSORS;
}

/* As PyTorch initialises the modules: LayerNorm weight 1, bias 0;
 * MultiheadAttention's in_proj_weight Xavier-uniform (fan_in D, fan_out 3D),
 * its out_proj.weight Kaiming-uniform (bound 1/sqrt(D)), both its biases 0;
 * each Linear of the MLP Kaiming-uniform with its bias under the same bound. */
static void block_init(const sl__layer *L, float *const data[], sl_rng *r) {
    size_t D = L->in.dims[1], M = L->nout;
    norm_init(data[SL__BLOCK_NORM1_W], D);
    norm_init(data[SL__BLOCK_NORM2_W], D);
    uniform_init(data[SL__BLOCK_IN_W], 3 * D * D, sqrt(6.0 / (double)(4 * D)), r);
    uniform_init(data[SL__BLOCK_OUT_W], D * D, 1.0 / sqrt((double)D), r);
    uniform_init(data[SL__BLOCK_FC1_W], M * D, 1.0 / sqrt((double)D), r);
    uniform_init(data[SL__BLOCK_FC1_B], M, 1.0 / sqrt((double)D), r);
    uniform_init(data[SL__BLOCK_FC2_W], D * M, 1.0 / sqrt((double)M), r);
    uniform_init(data[SL__BLOCK_FC2_B], D, 1.0 / sqrt((double)M), r);
}

static sl__block_dims block_dims(const sl__layer *L, size_t n, size_t threads, const uint8_t *pad) {
    return (sl__block_dims){n,     L->in.dims[0], L->in.dims[1], L->heads, L->nout, L->eps, threads, L->causal, pad,
                            L->first_only};
}

static void block_memory(const sl__layer *L, size_t n, size_t threads, sl__layer_mem *mem) {
    sl__block_dims d = block_dims(L, n, threads, NULL);
    mem->cache = sl__block_cache_floats(&d);
    mem->scratch = sl__block_scratch_floats(&d);
}

static sl_status block_forward(sl__layer *L, const sl__pass *p) {
    sl__block_dims d = block_dims(L, p->n, p->team, p->pad);
    sl__block_forward(p->out, L->cache, p->in, (const float *const *)p->data, &d);
    return SL_OK;
}

static void block_backward(const sl__layer *L, const sl__pass *p) {
    sl__block_dims d = block_dims(L, p->n, p->team, p->pad);
    sl__block_backward(p->din, p->grad, p->dout, p->in, L->cache, (const float *const *)p->data, &d, p->scratch);
}

/* ---- tokmean, tokfirst: tokens to one flat vector (the mean of the tokens,
 * or the first token: the class token after cls). On tokens of padded ids
 * tokmean averages the unpadded tokens only. ---------------------------------*/
static sl_status tokpool_shape(sl__layer *L) {
    SL__TRY(need_tokens(L));
    L->out = flat(L->in.dims[1]);
    return SL_OK;
}

static sl_status tokmean_forward(sl__layer *L, const sl__pass *p) {
    sl__tok_mean_forward(p->out, p->in, p->pad, p->n, L->in.dims[0], L->in.dims[1]);
    return SL_OK;
}

static void tokmean_backward(const sl__layer *L, const sl__pass *p) {
    sl__tok_mean_backward(p->din, p->dout, p->pad, p->n, L->in.dims[0], L->in.dims[1]);
}

static sl_status tokfirst_forward(sl__layer *L, const sl__pass *p) {
    sl__tok_first_forward(p->out, p->in, p->n, L->in.dims[0], L->in.dims[1]);
    return SL_OK;
}

static void tokfirst_backward(const sl__layer *L, const sl__pass *p) {
    sl__tok_first_backward(p->din, p->dout, p->n, L->in.dims[0], L->in.dims[1]);
}

/* ---- the vit preset ---------------------------------------------------------
 * vit(patch=4,dim=96,depth=6,heads=4,mlp=4,pool=cls) stands for
 *   patch(4,96),cls,pos,block(4,4) (6 times),ln,tokfirst
 * and pool=mean for patch(4,96),pos,block(4,4) (6 times),ln,tokmean (no class
 * token). */
enum { VIT_PATCH, VIT_DIM, VIT_DEPTH, VIT_HEADS, VIT_MLP, VIT_POOL };

/* The arguments the transformer presets share, at positions 1 to 4 of their
 * lists: dim, depth, heads (dividing dim) and mlp. */
static sl_status tower_args(const sl__layer *L, const sl__layer_args *a, size_t *dim, size_t *depth, size_t *heads,
                            size_t *mlp) {
    SL__TRY(arg_int(L, a, 1, 1, big, dim));
    SL__TRY(arg_int(L, a, 2, 1, 64, depth));
    SL__TRY(arg_int(L, a, 3, 1, 4096, heads));
    SL__TRY(arg_int(L, a, 4, 1, 64, mlp));
    if (*dim % *heads) return sl__layer_fail(L, SL_ERR_FORMAT, "heads (%zu) must divide dim (%zu)", *heads, *dim);
    return SL_OK;
}

/* Append depth ",block(heads,mlp[,causal=1])" to out (len used of cap);
 * returns the new length, cap or more when it did not fit. */
static size_t add_blocks(char *out, size_t cap, size_t len, size_t depth, size_t heads, size_t mlp, bool causal) {
    for (size_t i = 0; i < depth && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, ",block(%zu,%zu%s)", heads, mlp, causal ? ",causal=1" : "");
    return len;
}

static sl_status vit_expand(const sl__layer *L, const sl__layer_args *a, char *out, size_t cap, char *norm,
                            size_t ncap) {
    size_t patch = 4, dim = 96, depth = 6, heads = 4, mlp = 4, pool = 0;
    SL__TRY(arg_int(L, a, VIT_PATCH, 1, 64, &patch));
    SL__TRY(tower_args(L, a, &dim, &depth, &heads, &mlp));
    SL__TRY(arg_int(L, a, VIT_POOL, 0, 1, &pool));
    size_t len = (size_t)snprintf(out, cap, "patch(%zu,%zu)%s,pos", patch, dim, pool ? "" : ",cls");
    len = add_blocks(out, cap, len, depth, heads, mlp, false);
    if (len < cap) len += (size_t)snprintf(out + len, cap - len, ",ln,%s", pool ? "tokmean" : "tokfirst");
    size_t nlen = (size_t)snprintf(norm, ncap, "vit(patch=%zu,dim=%zu,depth=%zu,heads=%zu,mlp=%zu,pool=%s)", patch,
                                   dim, depth, heads, mlp, pool ? "mean" : "cls");
    if (len >= cap || nlen >= ncap) return sl__layer_fail(L, SL_ERR_FORMAT, "the preset's layers are too long");
    return SL_OK;
}

/* ---- the txt preset ---------------------------------------------------------
 * txt(vocab=V,dim=64,depth=2,heads=2,mlp=4,causal=0), a text transformer on
 * rows of token ids, stands for
 *   tokemb(V,64),pos,block(2,4) (2 times),ln,tokmean
 * with block(2,4,causal=1) for causal=1. */
enum { TXT_VOCAB, TXT_DIM, TXT_DEPTH, TXT_HEADS, TXT_MLP, TXT_CAUSAL };

static sl_status txt_expand(const sl__layer *L, const sl__layer_args *a, char *out, size_t cap, char *norm,
                            size_t ncap) {
    size_t vocab = 1, dim = 64, depth = 2, heads = 2, mlp = 4, causal = 0;
    SL__TRY(arg_int(L, a, TXT_VOCAB, 1, 1e8, &vocab));
    SL__TRY(tower_args(L, a, &dim, &depth, &heads, &mlp));
    SL__TRY(arg_int(L, a, TXT_CAUSAL, 0, 1, &causal));
    size_t len = (size_t)snprintf(out, cap, "tokemb(%zu,%zu),pos", vocab, dim);
    len = add_blocks(out, cap, len, depth, heads, mlp, causal);
    if (len < cap) len += (size_t)snprintf(out + len, cap - len, ",ln,tokmean");
    size_t nlen = (size_t)snprintf(norm, ncap, "txt(vocab=%zu,dim=%zu,depth=%zu,heads=%zu,mlp=%zu,causal=%zu)",
                                   vocab, dim, depth, heads, mlp, causal);
    if (len >= cap || nlen >= ncap) return sl__layer_fail(L, SL_ERR_FORMAT, "the preset's layers are too long");
    return SL_OK;
}

/* ---- the table -------------------------------------------------------------
 * In the order the "unknown layer" message lists them. */
const sl__layer_ops sl__layer_kinds[] = {
    {.name = "linear", .args = {"out", "bias"}, .nreq = 1, .configure = linear_configure, .shape = linear_shape,
     .tensors = linear_tensors, .init = linear_init, .forward = linear_forward, .backward = linear_backward},
    {.name = "conv", .args = {"out", "k", "stride", "pad", "bias"}, .nreq = 2, .configure = conv_configure,
     .shape = conv_shape, .tensors = conv_tensors, .init = conv_init, .memory = conv_memory,
     .forward = conv_forward, .backward = conv_backward},
    {.name = "bn", .args = {"eps", "momentum"}, .fuses = "relu", .tracks_batches = true, .configure = bn_configure,
     .shape = bn_shape, .tensors = bn_tensors, .init = bn_init, .stats_floats = bn_stats_floats, .forward = bn_forward,
     .backward = bn_backward},
    {.name = "ln", .args = {"eps"}, .configure = ln_configure, .shape = same_rows_shape, .tensors = ln_tensors,
     .init = ln_init, .memory = per_row_cache, .forward = ln_forward, .backward = ln_backward},
    {.name = "relu", .forward = relu_forward, .backward = relu_backward},
    {.name = "gelu", .forward = gelu_forward, .backward = gelu_backward},
    {.name = "tanh", .forward = tanh_forward, .backward = tanh_backward},
    {.name = "maxpool", .args = {"k", "stride", "pad"}, .nreq = 1, .configure = pool_configure, .shape = pool_shape,
     .memory = maxpool_memory, .forward = maxpool_forward, .backward = maxpool_backward},
    {.name = "avgpool", .args = {"k", "stride", "pad"}, .nreq = 1, .configure = pool_configure, .shape = pool_shape,
     .forward = avgpool_forward, .backward = avgpool_backward},
    {.name = "upsample", .args = {"scale"}, .nreq = 1, .configure = upsample_configure, .shape = upsample_shape,
     .forward = upsample_forward, .backward = upsample_backward},
    {.name = "gap", .torch_modules = 2, .shape = gap_shape, .forward = gap_forward, .backward = gap_backward},
    {.name = "flatten", .shape = flatten_shape, .forward = flatten_forward, .backward = flatten_backward},
    {.name = "unflatten", .args = {"c", "h", "w"}, .nreq = 3, .configure = unflatten_configure,
     .shape = unflatten_shape, .forward = unflatten_forward, .backward = unflatten_backward},
    {.name = "dropout", .args = {"p"}, .configure = dropout_configure, .memory = dropout_memory,
     .forward = dropout_forward, .backward = dropout_backward},
    {.name = "l2norm", .shape = same_flat_shape, .memory = per_example_cache, .forward = l2norm_forward,
     .backward = l2norm_backward},
    {.name = "embbag", .args = {"vocab", "dim"}, .nreq = 2, .token_input = true, .configure = embbag_configure,
     .shape = embbag_shape, .tensors = embbag_tensors, .init = embbag_init, .memory = per_example_cache,
     .forward = embbag_forward, .backward = embbag_backward},
    {.name = "tokemb", .args = {"vocab", "dim"}, .nreq = 2, .token_input = true, .configure = embbag_configure,
     .shape = tokemb_shape, .tensors = embbag_tensors, .init = tokemb_init, .forward = tokemb_forward,
     .backward = tokemb_backward},
    {.name = "patch", .args = {"p", "dim"}, .nreq = 2, .configure = patch_configure, .shape = patch_shape,
     .tensors = patch_tensors, .init = patch_init, .memory = patch_memory, .forward = patch_forward,
     .backward = patch_backward},
    {.name = "cls", .shape = cls_shape, .tensors = cls_tensors, .init = cls_init, .forward = cls_forward,
     .backward = cls_backward},
    {.name = "pos", .shape = pos_shape, .tensors = pos_tensors, .init = pos_init, .forward = pos_forward,
     .backward = pos_backward},
    {.name = "block", .args = {"heads", "mlp", "hidden", "causal"}, .nreq = 1, .configure = block_configure,
     .shape = block_shape, .tensors = block_tensors, .init = block_init, .memory = block_memory,
     .forward = block_forward, .backward = block_backward},
    {.name = "tokmean", .shape = tokpool_shape, .forward = tokmean_forward, .backward = tokmean_backward},
    {.name = "tokfirst", .shape = tokpool_shape, .forward = tokfirst_forward, .backward = tokfirst_backward},
    {.name = "masktok", .shape = pos_shape, .tensors = masktok_tensors, .init = cls_init, .memory = masktok_memory,
     .forward = masktok_forward, .backward = masktok_backward},
};
const size_t sl__layer_kind_count = sizeof sl__layer_kinds / sizeof sl__layer_kinds[0];

const sl__layer_ops sl__layer_presets[] = {
    {.name = "vit", .args = {"patch", "dim", "depth", "heads", "mlp", "pool"}, .words = {[VIT_POOL] = "cls|mean"},
     .expand = vit_expand},
    {.name = "txt", .args = {"vocab", "dim", "depth", "heads", "mlp", "causal"}, .nreq = 1, .expand = txt_expand},
};
const size_t sl__layer_preset_count = sizeof sl__layer_presets / sizeof sl__layer_presets[0];

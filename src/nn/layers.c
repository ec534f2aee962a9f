/* The layer kinds: for each, its arguments, shape rule, tensors,
 * initialisation, memory needs and forward and backward passes, gathered in
 * the table sl__layer_kinds at the end. The heavy kernels (convolution,
 * linear, batch norm, pooling) are in kernels.c; the rest are here.
 *
 * A pass works on a batch of n examples in the internal layout (images as
 * C x N x H x W); a backward adds into the parameter gradients and writes
 * din, which may be NULL when nothing upstream needs it. */
#include "nn/nn_internal.h"

#include <math.h>
#include <string.h>

/* ---- helpers the kinds share --------------------------------------------*/
static const double big = (double)((size_t)1 << 24); /* largest size argument */

static sl_shape flat(size_t d) { return (sl_shape){1, {d, 0, 0}}; }
static sl_shape img(size_t c, size_t h, size_t w) { return (sl_shape){3, {c, h, w}}; }

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

/* Fails unless L's input is flat; what and hint complete the message. */
static sl_status need_flat(const sl__layer *L, const char *what, const char *hint) {
    if (L->in.ndim != 3) return SL_OK;
    char sh[64];
    sl_shape_format(&L->in, sh, sizeof sh);
    return sl__layer_fail(L, SL_ERR_ARG, "needs a flat input%s, got %s%s", what, sh, hint);
}

/* The shape rule of a kind that keeps a flat input's shape. */
static sl_status same_flat_shape(sl__layer *L) {
    SL__TRY(need_flat(L, "", ""));
    L->out = L->in;
    return SL_OK;
}

static sl_status need_image(const sl__layer *L) {
    if (L->in.ndim == 3) return SL_OK;
    char sh[64];
    sl_shape_format(&L->in, sh, sizeof sh);
    return sl__layer_fail(L, SL_ERR_ARG, "needs an image input (CxHxW), got %s", sh);
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
static void fan_in_init(const sl__layer *L, float *const data[], sl_rng *r, size_t fan_in) {
    float bound = (float)(1.0 / sqrt((double)fan_in));
    for (size_t j = 0; j < L->nout * fan_in; j++) data[0][j] = sl_rng_range(r, -bound, bound);
    if (L->bias)
        for (size_t j = 0; j < L->nout; j++) data[1][j] = sl_rng_range(r, -bound, bound);
}

/* Two floats of cache per example (ln keeps mean and 1/sd; l2norm and embbag
 * use one). */
static void per_example_cache(const sl__layer *L, size_t n, size_t threads, sl__layer_mem *mem) {
    (void)L;
    (void)threads;
    mem->cache = 2 * n;
}

/* ---- linear --------------------------------------------------------------*/
static sl_status linear_configure(sl__layer *L, const sl__layer_args *a) {
    L->bias = true;
    SL__TRY(arg_int(L, a, 0, 1, big, &L->nout));
    return arg_flag(L, a, 1, &L->bias);
}

static sl_status linear_shape(sl__layer *L) {
    SL__TRY(need_flat(L, "", "; insert flatten or gap before it"));
    L->out = flat(L->nout);
    return SL_OK;
}

static size_t linear_tensors(const sl__layer *L, sl__tensor_spec t[]) {
    return weight_and_bias(L, t, (sl__tensor_spec){"weight", SL_TENSOR_WEIGHT, 2, {L->nout, L->in.dims[0]}});
}

static void linear_init(const sl__layer *L, float *const data[], sl_rng *r) { fan_in_init(L, data, r, L->in.dims[0]); }

static sl_status linear_forward(sl__layer *L, const sl__pass *p) {
    sl__linear_forward(p->out, p->in, p->data[0], p->data[1], p->n, L->in.dims[0], L->nout);
    return SL_OK;
}

static void linear_backward(const sl__layer *L, const sl__pass *p) {
    sl__linear_backward(p->din, p->grad[0], p->grad[1], p->dout, p->in, p->data[0], p->n, L->in.dims[0], L->nout);
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

static size_t ln_tensors(const sl__layer *L, sl__tensor_spec t[]) {
    size_t C = L->in.dims[0];
    t[0] = (sl__tensor_spec){"weight", SL_TENSOR_NORM, 1, {C}};
    t[1] = (sl__tensor_spec){"bias", SL_TENSOR_NORM, 1, {C}};
    return 2;
}

static size_t bn_tensors(const sl__layer *L, sl__tensor_spec t[]) {
    size_t C = L->in.dims[0];
    ln_tensors(L, t);
    t[2] = (sl__tensor_spec){"running_mean", SL_TENSOR_BUFFER, 1, {C}};
    t[3] = (sl__tensor_spec){"running_var", SL_TENSOR_BUFFER, 1, {C}};
    return 4;
}

static void ln_init(const sl__layer *L, float *const data[], sl_rng *r) {
    (void)r;
    for (size_t j = 0; j < L->in.dims[0]; j++) data[0][j] = 1.0f, data[1][j] = 0.0f;
}

static void bn_init(const sl__layer *L, float *const data[], sl_rng *r) {
    ln_init(L, data, r);
    for (size_t j = 0; j < L->in.dims[0]; j++) data[2][j] = 0.0f, data[3][j] = 1.0f;
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
    sl__bn_forward(p->out, L->stats, p->data[2], p->data[3], p->in, p->data[0], p->data[1], &d, p->train);
    if (p->train) L->batches_tracked++;
    return SL_OK;
}

static void bn_backward(const sl__layer *L, const sl__pass *p) {
    sl__bn_dims d = bn_dims(L, p->n);
    sl__bn_backward(p->din, p->grad[0], p->grad[1], p->dout, p->out, p->in, L->stats, p->data[0], &d);
}

/* Layer norm over each example's D features; the cache keeps (mean, 1/sd). */
static sl_status ln_forward(sl__layer *L, const sl__pass *p) {
    size_t D = L->in.dims[0];
    const float *w = p->data[0], *b = p->data[1];
    for (size_t s = 0; s < p->n; s++) {
        const float *x = p->in + s * D;
        float *y = p->out + s * D;
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
    return SL_OK;
}

static void ln_backward(const sl__layer *L, const sl__pass *p) {
    size_t D = L->in.dims[0];
    const float *w = p->data[0];
    float *gw = p->grad[0], *gb = p->grad[1], *din = p->din;
    for (size_t s = 0; s < p->n; s++) {
        const float *x = p->in + s * D, *g = p->dout + s * D;
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

static inline float gelu_f(float x) { return (float)(0.5 * x * (1.0 + erf(x * 0.70710678118654752))); }
static inline float gelu_d(float x) {
    double cdf = 0.5 * (1.0 + erf(x * 0.70710678118654752));
    return (float)(cdf + x * 0.39894228040143268 * exp(-0.5 * (double)x * x));
}

static sl_status gelu_forward(sl__layer *L, const sl__pass *p) {
    const size_t ti = p->n * L->in_count;
    const float *in = p->in;
    float *out = p->out;
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < ti; j++) out[j] = gelu_f(in[j]);
    return SL_OK;
}

static void gelu_backward(const sl__layer *L, const sl__pass *p) {
    const size_t ti = p->n * L->in_count;
    const float *in = p->in, *dout = p->dout;
    float *din = p->din;
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < ti; j++) din[j] = dout[j] * gelu_d(in[j]);
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

/* ---- the table -------------------------------------------------------------
 * In the order the "unknown layer" message lists them. */
const sl__layer_ops sl__layer_kinds[] = {
    {.name = "linear", .args = {"out", "bias"}, .nreq = 1, .configure = linear_configure, .shape = linear_shape,
     .tensors = linear_tensors, .init = linear_init, .forward = linear_forward, .backward = linear_backward},
    {.name = "conv", .args = {"out", "k", "stride", "pad", "bias"}, .nreq = 2, .configure = conv_configure,
     .shape = conv_shape, .tensors = conv_tensors, .init = conv_init, .memory = conv_memory,
     .forward = conv_forward, .backward = conv_backward},
    {.name = "bn", .args = {"eps", "momentum"}, .fuses = "relu", .tracks_batches = true, .configure = bn_configure,
     .tensors = bn_tensors, .init = bn_init, .stats_floats = bn_stats_floats, .forward = bn_forward,
     .backward = bn_backward},
    {.name = "ln", .args = {"eps"}, .configure = ln_configure, .shape = same_flat_shape, .tensors = ln_tensors,
     .init = ln_init, .memory = per_example_cache, .forward = ln_forward, .backward = ln_backward},
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
};
const size_t sl__layer_kind_count = sizeof sl__layer_kinds / sizeof sl__layer_kinds[0];

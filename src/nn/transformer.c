/* Transformer kernels on token rows ((n*T) x D, see transformer.h):
 * multi-head self-attention, patch embedding, class token, position
 * embedding and token pooling, each with its naive `_ref` twin; and the
 * pre-LN transformer block composed of them and the layer-norm, GELU and
 * linear kernels (no twin of its own: its parts have theirs, and the block
 * is checked by finite differences and against PyTorch). */
#include "nn/transformer.h"
#include "nn/fastmath.h"

#include <math.h>
#include <omp.h>
#include <string.h>

/* ---- multi-head self-attention -------------------------------------------
 * The projections are the linear kernels over all n*T rows at once. The
 * n*H (sequence, head) blocks in between are independent: each is a few
 * small products on its own columns of qkv and ctx and its own T x T block
 * of probabilities, so the blocks are shared among the threads whole, and
 * what each computes does not depend on which thread runs it. */

static size_t attn_pairs(const sl__attn_dims *d) { return d->n * d->h; }

/* Workers the backward scratch is sized for, and workers that run now. */
static size_t attn_max_workers(const sl__attn_dims *d) {
    return SL__MAX(SL__MIN(d->threads ? d->threads : (size_t)1, attn_pairs(d)), (size_t)1);
}
static size_t attn_team(size_t cap) {
    int t = omp_in_parallel() ? 1 : omp_get_max_threads();
    return SL__MIN(cap, (size_t)(t > 0 ? t : 1));
}

size_t sl__attn_cache_floats(const sl__attn_dims *d) {
    return 4 * d->n * d->t * d->d + attn_pairs(d) * d->t * d->t;
}

size_t sl__attn_scratch_floats(const sl__attn_dims *d) {
    return 4 * d->n * d->t * d->d + attn_max_workers(d) * d->t * d->t;
}

void sl__attn_pad_from_lengths(uint8_t *pad, const size_t *len, size_t n, size_t t) {
    for (size_t s = 0; s < n; s++)
        for (size_t i = 0; i < t; i++) pad[s * t + i] = i >= len[s];
}

/* exp(x) for x <= 0 in float (exp_f), 0 below -87 where exp(x) is under
 * 1.7e-38, NaN for NaN, in a form the compiler vectorises. */
static inline float exp_nonpos(float x) {
    const float a = fabsf(x);
    return below_or_zero(exp_f(-min_pos(a, 87.0f)), a, 87.0f) + 0.0f * x;
}

/* The largest of row[0..end) over the keys that are not padding, the lanes
 * of fastmath.h in max form; false when every key is padding. */
static bool row_max(float *mx, const float *row, size_t end, const uint8_t *pad) {
    float m[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    size_t j = 0;
    bool any = !pad && end > 0;
    if (pad) {
        for (; j < end; j++) {
            const float v = pad[j] ? -INFINITY : row[j];
            m[j % 8] = v > m[j % 8] ? v : m[j % 8];
            any = any || !pad[j];
        }
    } else {
        for (; j + 8 <= end; j += 8)
            for (size_t k = 0; k < 8; k++) m[k] = row[j + k] > m[k] ? row[j + k] : m[k];
        for (size_t k = 0; j < end; j++, k++) m[k] = row[j] > m[k] ? row[j] : m[k];
    }
    float r = m[0];
    for (size_t k = 1; k < 8; k++) r = m[k] > r ? m[k] : r;
    *mx = r;
    return any;
}

/* Softmax of row i of a block of scaled scores, in place, over the keys that
 * query i sees (j <= i when causal; unpadded ones); the others get 0, as does
 * every entry of a row that sees no key. A NaN score makes the row NaN. */
static void softmax_row(float *row, size_t t, size_t i, bool causal, const uint8_t *pad) {
    const size_t end = causal ? i + 1 : t;
    float mx;
    if (!row_max(&mx, row, end, pad)) {
        memset(row, 0, t * sizeof(float));
        return;
    }
    for (size_t j = 0; j < end; j++) row[j] = exp_nonpos(row[j] - mx);
    if (pad)
        for (size_t j = 0; j < end; j++) row[j] = pad[j] ? 0.0f : row[j];
    for (size_t j = end; j < t; j++) row[j] = 0.0f;
    const float inv = (float)(1.0 / lane_sum(row, end));
    for (size_t j = 0; j < end; j++) row[j] *= inv;
}

/* Block (s, h): P = softmax(Q K^T / sqrt(dh)), ctx columns of head h = P V. */
static void attn_block_forward(float *ctx, float *P, const float *qkv, const uint8_t *pad, const sl__attn_dims *d,
                               size_t s, size_t h) {
    const size_t T = d->t, D = d->d, dh = D / d->h, ld = 3 * D;
    const float *q = qkv + s * T * ld + h * dh, *k = q + D, *v = q + 2 * D;
    sl_gemm(false, true, T, T, dh, (float)(1.0 / sqrt((double)dh)), q, ld, k, ld, 0.0f, P, T);
    for (size_t i = 0; i < T; i++) softmax_row(P + i * T, T, i, d->causal, pad ? pad + s * T : NULL);
    sl_gemm(false, false, T, dh, T, 1.0f, P, T, v, ld, 0.0f, ctx + s * T * D + h * dh, D);
}

void sl__attn_forward(float *out, float *cache, const float *x, const sl__attn_params *p, const uint8_t *pad,
                      const sl__attn_dims *d) {
    sl__attn_forward_res(out, cache, x, NULL, p, pad, d);
}

/* Where the attention's cache keeps a batch's qkv, ctx and P (see
 * transformer.h); a transformer block runs the attention on views of them,
 * sequences s0.. of a batch of n. */
typedef struct attn_view {
    float *qkv, *ctx, *P;
} attn_view;

static attn_view attn_view_of(float *cache, const sl__attn_dims *d, size_t n, size_t s0) {
    const size_t R = n * d->t, D = d->d, r0 = s0 * d->t;
    const attn_view v = {cache + r0 * 3 * D, cache + 3 * R * D + r0 * D, cache + 4 * R * D + s0 * d->h * d->t * d->t};
    return v;
}

/* The attention over d->n sequences at v (pad at their first, or NULL). */
static void attn_forward_view(float *out, const attn_view *v, const float *x, const float *res,
                              const sl__attn_params *p, const uint8_t *pad, const sl__attn_dims *d) {
    const size_t nt = d->n * d->t, D = d->d, pairs = attn_pairs(d), T2 = d->t * d->t;
    sl__linear_forward(v->qkv, x, p->in_w, p->in_b, nt, D, 3 * D);
    const size_t W = attn_team(pairs);
#pragma omp parallel for schedule(static) num_threads((int)W) if (W > 1)
    for (size_t b = 0; b < pairs; b++) attn_block_forward(v->ctx, v->P + b * T2, v->qkv, pad, d, b / d->h, b % d->h);
    sl__linear_forward_res(out, v->ctx, p->out_w, p->out_b, res, nt, D, D);
}

void sl__attn_forward_res(float *out, float *cache, const float *x, const float *res, const sl__attn_params *p,
                          const uint8_t *pad, const sl__attn_dims *d) {
    const attn_view v = attn_view_of(cache, d, d->n, 0);
    attn_forward_view(out, &v, x, res, p, pad, d);
}

/* Block (s, h) of the backward: from d(ctx) to the Q, K, V columns of
 * d(qkv). dS = P * (dP - rowsum(P * dP)) is zero wherever P is (masked). */
static void attn_block_backward(float *dqkv, const float *dctx, const float *P, const float *qkv,
                                const sl__attn_dims *d, size_t s, size_t h, float *dP) {
    const size_t T = d->t, D = d->d, dh = D / d->h, ld = 3 * D, off = s * T * ld + h * dh;
    const float *q = qkv + off, *k = q + D, *v = q + 2 * D, *dc = dctx + s * T * D + h * dh;
    float *dq = dqkv + off, *dk = dq + D, *dv = dq + 2 * D;
    const float scale = (float)(1.0 / sqrt((double)dh));
    sl_gemm(true, false, T, dh, T, 1.0f, P, T, dc, D, 0.0f, dv, ld);
    sl_gemm(false, true, T, T, dh, 1.0f, dc, D, v, ld, 0.0f, dP, T);
    for (size_t i = 0; i < T; i++) {
        const float *pr = P + i * T;
        float *g = dP + i * T;
        const float c = (float)lane_dot(pr, g, T);
        for (size_t j = 0; j < T; j++) g[j] = pr[j] * (g[j] - c);
    }
    sl_gemm(false, false, T, dh, T, scale, dP, T, k, ld, 0.0f, dq, ld);
    sl_gemm(true, false, T, dh, T, scale, dP, T, q, ld, 0.0f, dk, ld);
}

/* The backward over d->n sequences at v: d(ctx) and d(qkv) into dctx and
 * dqkv (their rows), one T x T block per worker at blocks. */
static void attn_backward_view(float *dx, const sl__attn_grads *g, const float *dout, const float *x,
                               const attn_view *v, const sl__attn_params *p, const sl__attn_dims *d, float *dctx,
                               float *dqkv, float *blocks) {
    const size_t nt = d->n * d->t, D = d->d, pairs = attn_pairs(d), T2 = d->t * d->t;
    sl__linear_backward(dctx, g->out_w, g->out_b, dout, v->ctx, p->out_w, nt, D, D);
    const size_t W = attn_team(attn_max_workers(d));
#pragma omp parallel num_threads((int)W) if (W > 1)
    {
        /* The team may be smaller than asked for (or absent without OpenMP). */
        const size_t t = (size_t)omp_get_thread_num(), team = (size_t)omp_get_num_threads();
        for (size_t b = t; b < pairs; b += team)
            attn_block_backward(dqkv, dctx, v->P + b * T2, v->qkv, d, b / d->h, b % d->h, blocks + t * T2);
    }
    sl__linear_backward(dx, g->in_w, g->in_b, dqkv, x, p->in_w, nt, D, 3 * D);
}

void sl__attn_backward(float *dx, const sl__attn_grads *g, const float *dout, const float *x, const float *cache,
                       const sl__attn_params *p, const sl__attn_dims *d, float *scratch) {
    const size_t nt = d->n * d->t, D = d->d;
    const attn_view v = attn_view_of((float *)cache, d, d->n, 0);
    attn_backward_view(dx, g, dout, x, &v, p, d, scratch, scratch + nt * D, scratch + 4 * nt * D);
}

/* ---- the attention twin: everything in double, in plain loops ----------- */

/* y (rows x no) = x (rows x ni) w^T + b (b may be NULL). */
static void ref_linear(double *y, const double *x, const double *w, const double *b, size_t rows, size_t ni,
                       size_t no) {
    for (size_t r = 0; r < rows; r++)
        for (size_t o = 0; o < no; o++) {
            double acc = b ? b[o] : 0.0;
            for (size_t j = 0; j < ni; j++) acc += x[r * ni + j] * w[o * ni + j];
            y[r * no + o] = acc;
        }
}

/* dw = dy^T x, db = column sums of dy, dx = dy w. */
static void ref_linear_back(double *dx, double *dw, double *db, const double *dy, const double *x, const double *w,
                            size_t rows, size_t ni, size_t no) {
    for (size_t o = 0; o < no; o++) {
        double sb = 0;
        for (size_t r = 0; r < rows; r++) sb += dy[r * no + o];
        db[o] = sb;
        for (size_t j = 0; j < ni; j++) {
            double acc = 0;
            for (size_t r = 0; r < rows; r++) acc += dy[r * no + o] * x[r * ni + j];
            dw[o * ni + j] = acc;
        }
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < ni; j++) {
            double acc = 0;
            for (size_t o = 0; o < no; o++) acc += dy[r * no + o] * w[o * ni + j];
            dx[r * ni + j] = acc;
        }
}

/* The twin's arrays, all double, in one allocation. */
typedef struct attn_ref {
    double *x, *in_w, *in_b, *out_w, *out_b;   /* the inputs */
    double *qkv, *ctx, *P, *y;                 /* the forward */
    double *dy, *dctx, *dqkv, *dP, *dx;        /* the backward */
    double *g_in_w, *g_in_b, *g_out_w, *g_out_b;
    double *mem;
} attn_ref;

static void widen(double *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = src ? (double)src[i] : 0.0;
}

static sl_status attn_ref_alloc(attn_ref *r, const float *x, const sl__attn_params *p, const sl__attn_dims *d) {
    const size_t nt = d->n * d->t, D = d->d, T2 = d->t * d->t;
    const size_t sizes[18] = {nt * D, 3 * D * D, 3 * D,  D * D,  D,         3 * nt * D, nt * D,    attn_pairs(d) * T2,
                              nt * D, nt * D,    nt * D, 3 * nt * D, T2, nt * D,     3 * D * D, 3 * D, D * D, D};
    double **slots[18] = {&r->x,  &r->in_w, &r->in_b, &r->out_w, &r->out_b, &r->qkv,    &r->ctx,    &r->P,
                          &r->y,  &r->dy,   &r->dctx, &r->dqkv,  &r->dP,    &r->dx,     &r->g_in_w, &r->g_in_b,
                          &r->g_out_w, &r->g_out_b};
    size_t total = 0;
    for (size_t i = 0; i < 18; i++) total += sizes[i];
    if (!(r->mem = sl__malloc_array(total ? total : 1, sizeof(double), "attention reference"))) return SL_ERR_NOMEM;
    double *at = r->mem;
    for (size_t i = 0; i < 18; i++) {
        *slots[i] = at;
        at += sizes[i];
    }
    widen(r->x, x, nt * D), widen(r->in_w, p->in_w, 3 * D * D), widen(r->in_b, p->in_b, 3 * D);
    widen(r->out_w, p->out_w, D * D), widen(r->out_b, p->out_b, D);
    return SL_OK;
}

/* qkv, P, ctx and y = the output, from the inputs. */
static void attn_ref_forward(attn_ref *r, const uint8_t *pad, const sl__attn_dims *d) {
    const size_t T = d->t, D = d->d, H = d->h, dh = D / H, ld = 3 * D;
    ref_linear(r->qkv, r->x, r->in_w, r->in_b, d->n * T, D, 3 * D);
    for (size_t s = 0; s < d->n; s++)
        for (size_t h = 0; h < H; h++)
            for (size_t i = 0; i < T; i++) {
                const double *q = r->qkv + (s * T + i) * ld + h * dh;
                double *pr = r->P + ((s * H + h) * T + i) * T, mx = -INFINITY, sum = 0;
                for (size_t j = 0; j < T; j++) {
                    bool seen = (!d->causal || j <= i) && !(pad && pad[s * T + j]);
                    double acc = 0;
                    for (size_t c = 0; c < dh; c++) acc += q[c] * r->qkv[(s * T + j) * ld + D + h * dh + c];
                    pr[j] = seen ? acc / sqrt((double)dh) : -INFINITY;
                    if (pr[j] > mx) mx = pr[j];
                }
                for (size_t j = 0; j < T; j++) sum += pr[j] = mx == -INFINITY ? 0.0 : exp(pr[j] - mx);
                for (size_t j = 0; j < T; j++) pr[j] = sum > 0 ? pr[j] / sum : 0.0;
                for (size_t c = 0; c < dh; c++) {
                    double acc = 0;
                    for (size_t j = 0; j < T; j++) acc += pr[j] * r->qkv[(s * T + j) * ld + 2 * D + h * dh + c];
                    r->ctx[(s * T + i) * D + h * dh + c] = acc;
                }
            }
    ref_linear(r->y, r->ctx, r->out_w, r->out_b, d->n * T, D, D);
}

sl_status sl__attn_forward_ref(float *out, const float *x, const sl__attn_params *p, const uint8_t *pad,
                               const sl__attn_dims *d) {
    attn_ref r;
    SL__TRY(attn_ref_alloc(&r, x, p, d));
    attn_ref_forward(&r, pad, d);
    for (size_t i = 0; i < d->n * d->t * d->d; i++) out[i] = (float)r.y[i];
    sl__free(r.mem);
    return SL_OK;
}

/* d(qkv) of block (s, h) from d(ctx). */
static void attn_ref_block_back(attn_ref *r, const sl__attn_dims *d, size_t s, size_t h) {
    const size_t T = d->t, D = d->d, dh = D / d->h, ld = 3 * D, row0 = s * T;
    const double *P = r->P + (s * d->h + h) * T * T, scale = 1.0 / sqrt((double)dh);
#define Q(i, c) r->qkv[(row0 + (i)) * ld + h * dh + (c)]
#define K(i, c) r->qkv[(row0 + (i)) * ld + D + h * dh + (c)]
#define V(i, c) r->qkv[(row0 + (i)) * ld + 2 * D + h * dh + (c)]
#define DC(i, c) r->dctx[(row0 + (i)) * D + h * dh + (c)]
#define DQKV(i, part, c) r->dqkv[(row0 + (i)) * ld + (part) * D + h * dh + (c)]
    for (size_t i = 0; i < T; i++) {
        double dot = 0;
        for (size_t j = 0; j < T; j++) {
            double acc = 0;
            for (size_t c = 0; c < dh; c++) acc += DC(i, c) * V(j, c);
            r->dP[i * T + j] = acc;
            dot += P[i * T + j] * acc;
        }
        for (size_t j = 0; j < T; j++) r->dP[i * T + j] = P[i * T + j] * (r->dP[i * T + j] - dot);
    }
    for (size_t j = 0; j < T; j++)
        for (size_t c = 0; c < dh; c++) {
            double dq = 0, dk = 0, dv = 0;
            for (size_t i = 0; i < T; i++) {
                dq += r->dP[j * T + i] * K(i, c);
                dk += r->dP[i * T + j] * Q(i, c);
                dv += P[i * T + j] * DC(i, c);
            }
            DQKV(j, 0, c) = dq * scale, DQKV(j, 1, c) = dk * scale, DQKV(j, 2, c) = dv;
        }
#undef Q
#undef K
#undef V
#undef DC
#undef DQKV
}

static void accumulate(float *dst, const double *src, size_t n) {
    if (dst)
        for (size_t i = 0; i < n; i++) dst[i] += (float)src[i];
}

sl_status sl__attn_backward_ref(float *dx, const sl__attn_grads *g, const float *dout, const float *x,
                                const sl__attn_params *p, const uint8_t *pad, const sl__attn_dims *d) {
    const size_t nt = d->n * d->t, D = d->d;
    attn_ref r;
    SL__TRY(attn_ref_alloc(&r, x, p, d));
    attn_ref_forward(&r, pad, d);
    widen(r.dy, dout, nt * D);
    ref_linear_back(r.dctx, r.g_out_w, r.g_out_b, r.dy, r.ctx, r.out_w, nt, D, D);
    for (size_t s = 0; s < d->n; s++)
        for (size_t h = 0; h < d->h; h++) attn_ref_block_back(&r, d, s, h);
    ref_linear_back(r.dx, r.g_in_w, r.g_in_b, r.dqkv, r.x, r.in_w, nt, D, 3 * D);
    accumulate(g->in_w, r.g_in_w, 3 * D * D), accumulate(g->in_b, r.g_in_b, 3 * D);
    accumulate(g->out_w, r.g_out_w, D * D), accumulate(g->out_b, r.g_out_b, D);
    if (dx)
        for (size_t i = 0; i < nt * D; i++) dx[i] = (float)r.dx[i];
    sl__free(r.mem);
    return SL_OK;
}

/* ---- patch embedding ------------------------------------------------------
 * Patches do not overlap, so the patch matrix is a permutation of (part of)
 * the input: the gather copies rows of p floats, and its adjoint writes each
 * input pixel once, with no sums. */

size_t sl__patch_tokens(const sl__patch_dims *d) { return d->p ? (d->h / d->p) * (d->w / d->p) : 0; }

size_t sl__patch_scratch_floats(const sl__patch_dims *d) { return d->n * sl__patch_tokens(d) * d->c * d->p * d->p; }

/* Row r of col (c*p*p floats) is token r: image r / L, patch (r % L) / gw,
 * (r % L) % gw; column (ci*p + kh)*p + kw. */
static void patch_gather(float *col, const float *in, const sl__patch_dims *d) {
    const size_t p = d->p, gw = d->w / p, L = sl__patch_tokens(d), cpp = d->c * p * p, rows = d->n * L;
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (size_t r = 0; r < rows; r++) {
        const size_t s = r / L, i = r % L / gw, j = r % L % gw;
        for (size_t ci = 0; ci < d->c; ci++)
            for (size_t kh = 0; kh < p; kh++)
                memcpy(col + r * cpp + (ci * p + kh) * p, in + ((ci * d->n + s) * d->h + i * p + kh) * d->w + j * p,
                       p * sizeof(float));
    }
}

/* The adjoint of patch_gather: every input plane written whole, 0 where no
 * patch reaches. */
static void patch_scatter(float *din, const float *col, const sl__patch_dims *d) {
    const size_t p = d->p, gh = d->h / p, gw = d->w / p, L = gh * gw, cpp = d->c * p * p;
#pragma omp parallel for collapse(2) schedule(static) if (!omp_in_parallel())
    for (size_t ci = 0; ci < d->c; ci++)
        for (size_t s = 0; s < d->n; s++)
            for (size_t y = 0; y < d->h; y++) {
                float *row = din + ((ci * d->n + s) * d->h + y) * d->w;
                size_t x0 = 0;
                if (y < gh * p) {
                    const size_t i = y / p, kh = y % p;
                    for (size_t j = 0; j < gw; j++)
                        memcpy(row + j * p, col + (s * L + i * gw + j) * cpp + (ci * p + kh) * p, p * sizeof(float));
                    x0 = gw * p;
                }
                memset(row + x0, 0, (d->w - x0) * sizeof(float));
            }
}

void sl__patch_forward(float *out, const float *in, const float *wt, const float *bias, const sl__patch_dims *d,
                       float *scratch) {
    const size_t rows = d->n * sl__patch_tokens(d), cpp = d->c * d->p * d->p;
    if (!rows) return;
    patch_gather(scratch, in, d);
    sl__linear_forward(out, scratch, wt, bias, rows, cpp, d->d);
}

void sl__patch_backward(float *din, float *dwt, float *dbias, const float *dout, const float *in, const float *wt,
                        const sl__patch_dims *d, float *scratch) {
    const size_t rows = d->n * sl__patch_tokens(d), cpp = d->c * d->p * d->p;
    if (rows) {
        patch_gather(scratch, in, d);
        sl__linear_backward(NULL, dwt, dbias, dout, scratch, wt, rows, cpp, d->d);
    }
    if (!din) return;
    /* The patch matrix is not needed again: d(patch matrix) replaces it. */
    if (rows) sl_gemm(false, false, rows, cpp, d->d, 1.0f, dout, d->d, wt, cpp, 0.0f, scratch, cpp);
    patch_scatter(din, scratch, d);
}

/* Input pixel of token r's patch-matrix column k, as a CNHW offset. */
static size_t patch_pixel(const sl__patch_dims *d, size_t r, size_t k) {
    const size_t p = d->p, gw = d->w / p, L = sl__patch_tokens(d);
    const size_t s = r / L, i = r % L / gw, j = r % L % gw, ci = k / (p * p), kh = k / p % p, kw = k % p;
    return ((ci * d->n + s) * d->h + i * p + kh) * d->w + j * p + kw;
}

void sl__patch_forward_ref(float *out, const float *in, const float *wt, const float *bias, const sl__patch_dims *d) {
    const size_t rows = d->n * sl__patch_tokens(d), cpp = d->c * d->p * d->p;
    for (size_t r = 0; r < rows; r++)
        for (size_t o = 0; o < d->d; o++) {
            double acc = bias ? bias[o] : 0.0;
            for (size_t k = 0; k < cpp; k++) acc += (double)in[patch_pixel(d, r, k)] * wt[o * cpp + k];
            out[r * d->d + o] = (float)acc;
        }
}

void sl__patch_backward_ref(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                            const float *wt, const sl__patch_dims *d) {
    const size_t rows = d->n * sl__patch_tokens(d), cpp = d->c * d->p * d->p;
    for (size_t o = 0; o < d->d; o++) {
        double db = 0;
        for (size_t r = 0; r < rows; r++) db += dout[r * d->d + o];
        if (dbias) dbias[o] += (float)db;
        for (size_t k = 0; k < cpp; k++) {
            double acc = 0;
            for (size_t r = 0; r < rows; r++) acc += (double)dout[r * d->d + o] * in[patch_pixel(d, r, k)];
            dwt[o * cpp + k] += (float)acc;
        }
    }
    if (!din) return;
    memset(din, 0, d->c * d->n * d->h * d->w * sizeof(float));
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < cpp; k++) {
            double acc = 0;
            for (size_t o = 0; o < d->d; o++) acc += (double)dout[r * d->d + o] * wt[o * cpp + k];
            din[patch_pixel(d, r, k)] = (float)acc;
        }
}

/* ---- class token, position embedding, pooling -----------------------------
 * The fast versions move whole rows (memcpy, or loops over a row's D features
 * that the compiler vectorises); sums over sequences run in sequence order
 * within one thread. The twins go element by element, summing in double. */

void sl__cls_prepend_forward(float *out, const float *in, const float *cls, size_t n, size_t t, size_t d) {
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (size_t s = 0; s < n; s++) {
        memcpy(out + s * (t + 1) * d, cls, d * sizeof(float));
        memcpy(out + (s * (t + 1) + 1) * d, in + s * t * d, t * d * sizeof(float));
    }
}

void sl__cls_prepend_backward(float *din, float *dcls, const float *dout, size_t n, size_t t, size_t d) {
    for (size_t s = 0; s < n; s++) {
        const float *g = dout + s * (t + 1) * d;
        for (size_t j = 0; j < d; j++) dcls[j] += g[j];
    }
    if (din)
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
        for (size_t s = 0; s < n; s++) memcpy(din + s * t * d, dout + (s * (t + 1) + 1) * d, t * d * sizeof(float));
}

void sl__cls_prepend_forward_ref(float *out, const float *in, const float *cls, size_t n, size_t t, size_t d) {
    for (size_t s = 0; s < n; s++)
        for (size_t i = 0; i <= t; i++)
            for (size_t j = 0; j < d; j++) out[(s * (t + 1) + i) * d + j] = i ? in[(s * t + i - 1) * d + j] : cls[j];
}

void sl__cls_prepend_backward_ref(float *din, float *dcls, const float *dout, size_t n, size_t t, size_t d) {
    for (size_t j = 0; j < d; j++) {
        double acc = 0;
        for (size_t s = 0; s < n; s++) acc += dout[s * (t + 1) * d + j];
        dcls[j] += (float)acc;
    }
    if (din)
        for (size_t s = 0; s < n; s++)
            for (size_t i = 0; i < t; i++)
                for (size_t j = 0; j < d; j++) din[(s * t + i) * d + j] = dout[(s * (t + 1) + i + 1) * d + j];
}

void sl__pos_add_forward(float *out, const float *in, const float *pos, size_t n, size_t t, size_t d) {
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (size_t r = 0; r < n * t; r++) {
        const float *x = in + r * d, *e = pos + r % t * d;
        float *y = out + r * d;
        for (size_t j = 0; j < d; j++) y[j] = x[j] + e[j];
    }
}

void sl__pos_add_backward(float *din, float *dpos, const float *dout, size_t n, size_t t, size_t d) {
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (size_t i = 0; i < t; i++)
        for (size_t s = 0; s < n; s++) {
            const float *g = dout + (s * t + i) * d;
            float *e = dpos + i * d;
            for (size_t j = 0; j < d; j++) e[j] += g[j];
        }
    if (din && din != dout) memcpy(din, dout, n * t * d * sizeof(float));
}

void sl__pos_add_forward_ref(float *out, const float *in, const float *pos, size_t n, size_t t, size_t d) {
    for (size_t s = 0; s < n; s++)
        for (size_t i = 0; i < t; i++)
            for (size_t j = 0; j < d; j++)
                out[(s * t + i) * d + j] = (float)((double)in[(s * t + i) * d + j] + pos[i * d + j]);
}

void sl__pos_add_backward_ref(float *din, float *dpos, const float *dout, size_t n, size_t t, size_t d) {
    for (size_t i = 0; i < t; i++)
        for (size_t j = 0; j < d; j++) {
            double acc = 0;
            for (size_t s = 0; s < n; s++) acc += dout[(s * t + i) * d + j];
            dpos[i * d + j] += (float)acc;
        }
    if (din)
        for (size_t k = 0; k < n * t * d; k++) din[k] = dout[k];
}

/* Unpadded tokens of sequence s. */
static size_t tok_count(const uint8_t *pad, size_t s, size_t t) {
    size_t c = 0;
    for (size_t i = 0; i < t; i++) c += !(pad && pad[s * t + i]);
    return c;
}

void sl__tok_mean_forward(float *out, const float *in, const uint8_t *pad, size_t n, size_t t, size_t d) {
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (size_t s = 0; s < n; s++) {
        float *y = out + s * d;
        const size_t c = tok_count(pad, s, t);
        memset(y, 0, d * sizeof(float));
        for (size_t i = 0; i < t; i++) {
            if (pad && pad[s * t + i]) continue;
            const float *x = in + (s * t + i) * d;
            for (size_t j = 0; j < d; j++) y[j] += x[j];
        }
        const float inv = c ? 1.0f / (float)c : 0.0f;
        for (size_t j = 0; j < d; j++) y[j] *= inv;
    }
}

void sl__tok_mean_backward(float *din, const float *dout, const uint8_t *pad, size_t n, size_t t, size_t d) {
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (size_t s = 0; s < n; s++) {
        const size_t c = tok_count(pad, s, t);
        const float inv = c ? 1.0f / (float)c : 0.0f, *g = dout + s * d;
        for (size_t i = 0; i < t; i++) {
            float *x = din + (s * t + i) * d;
            const float k = (pad && pad[s * t + i]) ? 0.0f : inv;
            for (size_t j = 0; j < d; j++) x[j] = g[j] * k;
        }
    }
}

void sl__tok_mean_forward_ref(float *out, const float *in, const uint8_t *pad, size_t n, size_t t, size_t d) {
    for (size_t s = 0; s < n; s++)
        for (size_t j = 0; j < d; j++) {
            double acc = 0;
            size_t c = 0;
            for (size_t i = 0; i < t; i++)
                if (!pad || !pad[s * t + i]) acc += in[(s * t + i) * d + j], c++;
            out[s * d + j] = c ? (float)(acc / (double)c) : 0.0f;
        }
}

void sl__tok_mean_backward_ref(float *din, const float *dout, const uint8_t *pad, size_t n, size_t t, size_t d) {
    for (size_t s = 0; s < n; s++) {
        size_t c = 0;
        for (size_t i = 0; i < t; i++) c += !pad || !pad[s * t + i];
        for (size_t i = 0; i < t; i++)
            for (size_t j = 0; j < d; j++)
                din[(s * t + i) * d + j] =
                    (pad && pad[s * t + i]) || !c ? 0.0f : (float)((double)dout[s * d + j] / (double)c);
    }
}

void sl__tok_first_forward(float *out, const float *in, size_t n, size_t t, size_t d) {
    for (size_t s = 0; s < n; s++) memcpy(out + s * d, in + s * t * d, d * sizeof(float));
}

void sl__tok_first_backward(float *din, const float *dout, size_t n, size_t t, size_t d) {
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
    for (size_t s = 0; s < n; s++) {
        memcpy(din + s * t * d, dout + s * d, d * sizeof(float));
        memset(din + (s * t + 1) * d, 0, (t - 1) * d * sizeof(float));
    }
}

void sl__tok_first_forward_ref(float *out, const float *in, size_t n, size_t t, size_t d) {
    for (size_t s = 0; s < n; s++)
        for (size_t j = 0; j < d; j++) out[s * d + j] = in[(s * t) * d + j];
}

void sl__tok_first_backward_ref(float *din, const float *dout, size_t n, size_t t, size_t d) {
    for (size_t s = 0; s < n; s++)
        for (size_t i = 0; i < t; i++)
            for (size_t j = 0; j < d; j++) din[(s * t + i) * d + j] = i ? 0.0f : dout[s * d + j];
}

/* ---- pre-LN transformer block ----------------------------------------------
 * The attention kernel, the linear kernels and the row loops of layer norm
 * and GELU in sequence, with elementwise residual sums: every step is
 * independent of the thread count, so the block is too. */

static size_t add_sat(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

static sl__attn_dims block_attn_dims(const sl__block_dims *d) {
    return (sl__attn_dims){d->n, d->t, d->d, d->h, d->causal, d->threads};
}

/* Where each part of the cache starts, in floats. */
typedef struct block_offsets {
    size_t st1, h1, attn, x1, st2, h2, a, g;
} block_offsets;

static block_offsets block_offsets_of(const sl__block_dims *d) {
    const size_t R = d->n * d->t, RD = R * d->d, RM = R * d->m;
    const sl__attn_dims ad = block_attn_dims(d);
    block_offsets o;
    o.st1 = 0;
    o.h1 = o.st1 + 2 * R;
    o.attn = o.h1 + RD;
    o.x1 = o.attn + sl__attn_cache_floats(&ad);
    o.st2 = o.x1 + RD;
    o.h2 = o.st2 + 2 * R;
    o.a = o.h2 + RD;
    o.g = o.a + RM;
    return o;
}

size_t sl__block_cache_floats(const sl__block_dims *d) {
    const size_t R = sl__mul_sat(d->n, d->t), RD = sl__mul_sat(R, d->d), RM = sl__mul_sat(R, d->m);
    /* The attention's cache, 4RD + nH T^2, computed with saturation. */
    const size_t attn = add_sat(sl__mul_sat(4, RD), sl__mul_sat(sl__mul_sat(d->n, d->h), sl__mul_sat(d->t, d->t)));
    return add_sat(add_sat(sl__mul_sat(4, R), sl__mul_sat(3, RD)), add_sat(attn, sl__mul_sat(2, RM)));
}

/* ---- slices of the batch ---------------------------------------------------
 * Apart from the attention within a sequence, a block works row by row, so
 * the whole block runs on slices of whole sequences: the batch is cut into
 * block_slices() slices of consecutive sequences, a number that depends on
 * the shapes alone (at most BLOCK_SLICES, and at least BLOCK_SLICE_ROWS rows
 * each where the batch has that many), and the threads take whole slices.
 * Each slice's steps run one after another on one thread (every kernel runs
 * single-threaded inside the slices' parallel region), so a slice's
 * activations are still in the core's cache when its next step reads them,
 * and no step waits for the other threads. Each slice's parameter gradients
 * are summed separately (the first slice's straight into the gradients) and
 * the partial sums are added in slice order afterwards, as the convolution
 * does: results do not depend on the thread count. A batch of one slice runs
 * each step on all the threads instead. */
#define BLOCK_SLICES 16
#define BLOCK_SLICE_ROWS 256

static size_t block_slices(const sl__block_dims *d) {
    const size_t by_rows = SL__MAX(d->n * d->t / BLOCK_SLICE_ROWS, (size_t)1);
    return SL__MAX(SL__MIN(SL__MIN((size_t)BLOCK_SLICES, d->n), by_rows), (size_t)1);
}

static size_t block_slice_begin(const sl__block_dims *d, size_t k) { return k * d->n / block_slices(d); }

/* Floats of the block's tensor k (the order of transformer.h). */
static size_t block_tensor_floats(const sl__block_dims *d, size_t k) {
    const size_t D = d->d, M = d->m;
    const size_t f[SL__BLOCK_TENSORS] = {D, D, 3 * D * D, 3 * D, D * D, D, D, D, M * D, M, D * M, D};
    return f[k];
}

static size_t block_param_floats(const sl__block_dims *d) {
    size_t t = 0;
    for (size_t k = 0; k < SL__BLOCK_TENSORS; k++) t += block_tensor_floats(d, k);
    return t;
}

size_t sl__block_scratch_floats(const sl__block_dims *d) {
    /* The attention's scratch is at most its cache, which must fit. */
    if (sl__block_cache_floats(d) == SIZE_MAX) return SIZE_MAX;
    const size_t R = d->n * d->t, S = block_slices(d);
    const sl__attn_dims ad = block_attn_dims(d);
    const size_t whole = add_sat(add_sat(sl__mul_sat(R, d->m), sl__mul_sat(2 * R, d->d)), sl__attn_scratch_floats(&ad));
    /* then a T x T block per slice, the partial gradients of slices 1.. and,
     * for the first-token block, d(ln2 out) of the n first rows */
    const size_t slices = add_sat(sl__mul_sat(S, sl__mul_sat(d->t, d->t)), sl__mul_sat(S - 1, block_param_floats(d)));
    return add_sat(add_sat(whole, slices), d->first ? sl__mul_sat(d->n, d->d) : 0);
}

static void add_into(float *y, const float *x, size_t count) {
#pragma omp parallel for schedule(static) if (count >= SL__PAR_MIN && !omp_in_parallel())
    for (size_t j = 0; j < count; j++) y[j] += x[j];
}

/* ---- the block for the first token only (sl__block_dims.first) -------------
 * Layer norm 1 and the qkv projection run on all R rows, as the first query
 * attends to every key; everything after the attention runs on the n first
 * rows, kept compact (n x D, n x M) in the parts of the cache and scratch
 * that the whole block would use for R rows. */

/* y (n rows of stride ly) = (y + bias) + res (n rows of stride lr). */
static void add_bias_res(float *y, size_t ly, const float *bias, const float *res, size_t lr, size_t n, size_t D) {
    for (size_t i = 0; i < n; i++) {
        float *o = y + i * ly;
        const float *r = res + i * lr;
        for (size_t j = 0; j < D; j++) o[j] = (o[j] + (bias ? bias[j] : 0.0f)) + r[j];
    }
}

/* Pair (s, h): P (1 x T) = softmax(q_0 K^T / sqrt(dh)), ctxc row s, head h's
 * columns = P V. */
static void attn_first_forward(float *ctxc, float *P, const float *qkv, const uint8_t *pad, const sl__attn_dims *d,
                               size_t s, size_t h) {
    const size_t T = d->t, D = d->d, dh = D / d->h, ld = 3 * D;
    const float *q = qkv + s * T * ld + h * dh, *k = q + D, *v = q + 2 * D;
    sl_gemm(false, true, 1, T, dh, (float)(1.0 / sqrt((double)dh)), q, ld, k, ld, 0.0f, P, T);
    softmax_row(P, T, 0, d->causal, pad ? pad + s * T : NULL);
    sl_gemm(false, false, 1, dh, T, 1.0f, P, T, v, ld, 0.0f, ctxc + s * D + h * dh, D);
}

/* Pair (s, h) of the backward: d(V) and d(K) of every token, d(Q) of the
 * first (the other rows of d(qkv) are left as they are: zero). */
static void attn_first_backward(float *dqkv, const float *dctxc, const float *P, const float *qkv,
                                const sl__attn_dims *d, size_t s, size_t h, float *dP) {
    const size_t T = d->t, D = d->d, dh = D / d->h, ld = 3 * D, off = s * T * ld + h * dh;
    const float *q = qkv + off, *k = q + D, *v = q + 2 * D, *dc = dctxc + s * D + h * dh;
    float *dq = dqkv + off, *dk = dq + D, *dv = dq + 2 * D;
    const float scale = (float)(1.0 / sqrt((double)dh));
    sl_gemm(true, false, T, dh, 1, 1.0f, P, T, dc, D, 0.0f, dv, ld);
    sl_gemm(false, true, 1, T, dh, 1.0f, dc, D, v, ld, 0.0f, dP, T);
    const float c = (float)lane_dot(P, dP, T);
    for (size_t j = 0; j < T; j++) dP[j] = P[j] * (dP[j] - c);
    sl_gemm(false, false, 1, dh, T, scale, dP, T, k, ld, 0.0f, dq, ld);
    sl_gemm(true, false, T, dh, 1, scale, dP, T, q, ld, 0.0f, dk, ld);
}

/* Where the compact arrays live: the first rows of the parts the whole
 * block uses (block_offsets_of), so the sizes of the whole block hold them. */
typedef struct first_parts {
    float *h1, *qkv, *ctxc, *P, *x1c, *st2, *h2c, *a, *g;
} first_parts;

static first_parts first_parts_of(float *cache, const sl__block_dims *d) {
    const block_offsets o = block_offsets_of(d);
    const size_t RD = d->n * d->t * d->d;
    first_parts f = {cache + o.h1, cache + o.attn, cache + o.attn + 3 * RD, cache + o.attn + 4 * RD,
                     cache + o.x1, cache + o.st2, cache + o.h2, cache + o.a, cache + o.g};
    return f;
}

/* The forward of sequences [s0, s1) (see the slices below). */
static void block_first_forward(float *out, float *cache, const float *x, const float *const *w,
                                const sl__block_dims *d, size_t s0, size_t s1) {
    const size_t T = d->t, D = d->d, M = d->m, r0 = s0 * T, ns = s1 - s0, rows = ns * T;
    const sl__attn_dims ad = block_attn_dims(d);
    const first_parts f = first_parts_of(cache, d);
    float *x1c = f.x1c + s0 * D, *h2c = f.h2c + s0 * D, *a = f.a + s0 * M, *g = f.g + s0 * M;
    x += r0 * D, out += r0 * D;
    sl__ln_forward(f.h1 + r0 * D, cache + 2 * r0, x, w[SL__BLOCK_NORM1_W], w[SL__BLOCK_NORM1_B], rows, D, d->eps);
    sl__linear_forward(f.qkv + r0 * 3 * D, f.h1 + r0 * D, w[SL__BLOCK_IN_W], w[SL__BLOCK_IN_B], rows, D, 3 * D);
    const size_t W = attn_team(ns * d->h);
#pragma omp parallel for schedule(static) num_threads((int)W) if (W > 1)
    for (size_t b = s0 * d->h; b < s1 * d->h; b++)
        attn_first_forward(f.ctxc, f.P + b * T, f.qkv, d->pad, &ad, b / d->h, b % d->h);
    sl__linear_forward(x1c, f.ctxc + s0 * D, w[SL__BLOCK_OUT_W], NULL, ns, D, D);
    add_bias_res(x1c, D, w[SL__BLOCK_OUT_B], x, T * D, ns, D);
    sl__ln_forward(h2c, f.st2 + 2 * s0, x1c, w[SL__BLOCK_NORM2_W], w[SL__BLOCK_NORM2_B], ns, D, d->eps);
    sl__linear_forward(a, h2c, w[SL__BLOCK_FC1_W], NULL, ns, D, M);
    sl__bias_gelu_forward(g, a, w[SL__BLOCK_FC1_B], ns, M); /* a becomes GELU's slope */
    sl_gemm(false, true, ns, D, M, 1.0f, g, M, w[SL__BLOCK_FC2_W], M, 0.0f, out, T * D);
    add_bias_res(out, T * D, w[SL__BLOCK_FC2_B], x1c, D, ns, D);
}

/* The backward of sequences [s0, s1), into g (the gradients or a slice's
 * partial sums). The compact n-row arrays live in parts of the whole
 * block's scratch, dm (RM) | dh (RD) | dx1 (RD) | the attention's: dctx (RD) |
 * dqkv (3RD) | blocks, that no slice uses for whole rows: d(fc1 out) in dm,
 * the first rows of dout and then d(ctxc) in dx1, d(x1c) in dctx; d(ln2 out)
 * goes to dh2c (n x D, at the end of the scratch). Whole rows: d(qkv) in
 * dqkv and d(h1) in dh. */
static void block_first_backward(float *dx, float *const *g, const float *dout, const float *x, const float *cache,
                                 const float *const *w, const sl__block_dims *d, float *scratch, float *blocks,
                                 float *dh2c, size_t s0, size_t s1) {
    const size_t T = d->t, R = d->n * T, D = d->d, M = d->m, ns = s1 - s0, r0 = s0 * T, rows = ns * T;
    const sl__attn_dims ad = block_attn_dims(d);
    const first_parts f = first_parts_of((float *)cache, d);
    const sl__attn_grads ag = {g[SL__BLOCK_IN_W], g[SL__BLOCK_IN_B], g[SL__BLOCK_OUT_W], g[SL__BLOCK_OUT_B]};
    float *dm = scratch + s0 * M, *dh = scratch + R * M + r0 * D, *doc = scratch + R * (M + D) + s0 * D;
    float *dctxc = doc, *dx1c = scratch + R * (M + 2 * D) + s0 * D, *dqkv = scratch + R * (M + 3 * D);
    dh2c += s0 * D;
    for (size_t s = 0; s < ns; s++) memcpy(doc + s * D, dout + (r0 + s * T) * D, D * sizeof(float));
    sl__linear_backward(dm, g[SL__BLOCK_FC2_W], g[SL__BLOCK_FC2_B], doc, f.g + s0 * M, w[SL__BLOCK_FC2_W], ns, M, D);
    sl__scale_bias_grad(dm, dm, f.a + s0 * M, g[SL__BLOCK_FC1_B], ns, M);
    sl__linear_backward(dh2c, g[SL__BLOCK_FC1_W], NULL, dm, f.h2c + s0 * D, w[SL__BLOCK_FC1_W], ns, D, M);
    sl__ln_backward(dx1c, g[SL__BLOCK_NORM2_W], g[SL__BLOCK_NORM2_B], dh2c, f.x1c + s0 * D, f.st2 + 2 * s0,
                    w[SL__BLOCK_NORM2_W], ns, D);
    for (size_t j = 0; j < ns * D; j++) dx1c[j] += doc[j];
    sl__linear_backward(dctxc, ag.out_w, ag.out_b, dx1c, f.ctxc + s0 * D, w[SL__BLOCK_OUT_W], ns, D, D);
    /* the attention, from d(ctxc) through the first queries and every key
     * and value to d(h1); the rows of d(qkv) it does not write stay 0 */
    memset(dqkv + r0 * 3 * D, 0, rows * 3 * D * sizeof(float));
    const size_t W = attn_team(SL__MIN(attn_max_workers(&ad), ns * d->h));
    const float *dctx_all = dctxc - s0 * D; /* attn_first_backward indexes by sequence */
#pragma omp parallel num_threads((int)W) if (W > 1)
    {
        const size_t t = (size_t)omp_get_thread_num(), team = (size_t)omp_get_num_threads();
        for (size_t b = s0 * d->h + t; b < s1 * d->h; b += team)
            attn_first_backward(dqkv, dctx_all, f.P + b * T, f.qkv, &ad, b / d->h, b % d->h, blocks + t * T * T);
    }
    sl__linear_backward(dh, ag.in_w, ag.in_b, dqkv + r0 * 3 * D, f.h1 + r0 * D, w[SL__BLOCK_IN_W], rows, D, 3 * D);
    sl__ln_backward(dx ? dx + r0 * D : NULL, g[SL__BLOCK_NORM1_W], g[SL__BLOCK_NORM1_B], dh, x + r0 * D,
                    cache + 2 * r0, w[SL__BLOCK_NORM1_W], rows, D);
    if (dx)
        for (size_t s = 0; s < ns; s++)
            for (size_t j = 0; j < D; j++) dx[(r0 + s * T) * D + j] += dx1c[s * D + j];
}

/* The forward of sequences [s0, s1): their rows of x, out and the cache. */
static void block_forward_rows(float *out, float *cache, const float *x, const float *const *w,
                               const sl__block_dims *d, size_t s0, size_t s1) {
    const size_t T = d->t, D = d->d, M = d->m, r0 = s0 * T, rows = (s1 - s0) * T;
    const block_offsets o = block_offsets_of(d);
    sl__attn_dims ad = block_attn_dims(d);
    const attn_view v = attn_view_of(cache + o.attn, &ad, d->n, s0);
    ad.n = s1 - s0;
    const sl__attn_params ap = {w[SL__BLOCK_IN_W], w[SL__BLOCK_IN_B], w[SL__BLOCK_OUT_W], w[SL__BLOCK_OUT_B]};
    float *h1 = cache + o.h1 + r0 * D, *x1 = cache + o.x1 + r0 * D, *h2 = cache + o.h2 + r0 * D;
    float *a = cache + o.a + r0 * M, *g = cache + o.g + r0 * M;
    x += r0 * D;
    sl__ln_forward(h1, cache + o.st1 + 2 * r0, x, w[SL__BLOCK_NORM1_W], w[SL__BLOCK_NORM1_B], rows, D, d->eps);
    attn_forward_view(x1, &v, h1, x, &ap, d->pad ? d->pad + r0 : NULL, &ad);
    sl__ln_forward(h2, cache + o.st2 + 2 * r0, x1, w[SL__BLOCK_NORM2_W], w[SL__BLOCK_NORM2_B], rows, D, d->eps);
    sl__linear_forward(a, h2, w[SL__BLOCK_FC1_W], NULL, rows, D, M);
    sl__bias_gelu_forward(g, a, w[SL__BLOCK_FC1_B], rows, M); /* a becomes GELU's slope */
    sl__linear_forward_res(out + r0 * D, g, w[SL__BLOCK_FC2_W], w[SL__BLOCK_FC2_B], x1, rows, M, D);
}

/* Workers for the slices: the threads, at most one per slice. */
static size_t slice_team(const sl__block_dims *d) { return attn_team(block_slices(d)); }

void sl__block_forward(float *out, float *cache, const float *x, const float *const *w, const sl__block_dims *d) {
    const size_t S = block_slices(d), W = slice_team(d);
#pragma omp parallel for schedule(dynamic, 1) num_threads((int)W) if (W > 1)
    for (size_t k = 0; k < S; k++) {
        const size_t s0 = block_slice_begin(d, k), s1 = block_slice_begin(d, k + 1);
        if (d->first)
            block_first_forward(out, cache, x, w, d, s0, s1);
        else
            block_forward_rows(out, cache, x, w, d, s0, s1);
    }
}

/* The backward of sequences [s0, s1) into the gradients g (the gradients
 * themselves for the first slice, a partial sum for the others), with the
 * slice's T x T block at blocks and the rows of the whole batch's scratch:
 * d(gelu out) then d(fc1 out) | d(ln out) | d(x1) | d(ctx) | d(qkv). */
static void block_backward_rows(float *dx, float *const *g, const float *dout, const float *x, const float *cache,
                                const float *const *w, const sl__block_dims *d, float *scratch, float *blocks,
                                size_t s0, size_t s1) {
    const size_t T = d->t, D = d->d, M = d->m, R = d->n * T, r0 = s0 * T, rows = (s1 - s0) * T;
    const block_offsets o = block_offsets_of(d);
    sl__attn_dims ad = block_attn_dims(d);
    const attn_view v = attn_view_of((float *)cache + o.attn, &ad, d->n, s0);
    ad.n = s1 - s0;
    const sl__attn_params ap = {w[SL__BLOCK_IN_W], w[SL__BLOCK_IN_B], w[SL__BLOCK_OUT_W], w[SL__BLOCK_OUT_B]};
    const sl__attn_grads ag = {g[SL__BLOCK_IN_W], g[SL__BLOCK_IN_B], g[SL__BLOCK_OUT_W], g[SL__BLOCK_OUT_B]};
    float *dm = scratch + r0 * M, *dh = scratch + R * M + r0 * D, *dx1 = scratch + R * (M + D) + r0 * D;
    float *dctx = scratch + R * (M + 2 * D) + r0 * D, *dqkv = scratch + R * (M + 3 * D) + r0 * 3 * D;
    const float *x1 = cache + o.x1 + r0 * D;
    dout += r0 * D, x += r0 * D;
    sl__linear_backward(dm, g[SL__BLOCK_FC2_W], g[SL__BLOCK_FC2_B], dout, cache + o.g + r0 * M, w[SL__BLOCK_FC2_W],
                        rows, M, D);
    sl__scale_bias_grad(dm, dm, cache + o.a + r0 * M, g[SL__BLOCK_FC1_B], rows, M);
    sl__linear_backward(dh, g[SL__BLOCK_FC1_W], NULL, dm, cache + o.h2 + r0 * D, w[SL__BLOCK_FC1_W], rows, D, M);
    sl__ln_backward(dx1, g[SL__BLOCK_NORM2_W], g[SL__BLOCK_NORM2_B], dh, x1, cache + o.st2 + 2 * r0,
                    w[SL__BLOCK_NORM2_W], rows, D);
    add_into(dx1, dout, rows * D);
    attn_backward_view(dh, &ag, dx1, cache + o.h1 + r0 * D, &v, &ap, &ad, dctx, dqkv, blocks);
    sl__ln_backward(dx ? dx + r0 * D : NULL, g[SL__BLOCK_NORM1_W], g[SL__BLOCK_NORM1_B], dh, x,
                    cache + o.st1 + 2 * r0, w[SL__BLOCK_NORM1_W], rows, D);
    if (dx) add_into(dx + r0 * D, dx1, rows * D);
}

/* g += the partial sums of slices 1 .. S-1, in slice order. */
static void add_slice_grads(float *const *g, const float *parts, const sl__block_dims *d) {
    const size_t S = block_slices(d), np = block_param_floats(d);
    for (size_t k = 0, off = 0; k < SL__BLOCK_TENSORS; off += block_tensor_floats(d, k), k++) {
        if (!g[k]) continue;
        const size_t len = block_tensor_floats(d, k);
#pragma omp parallel for schedule(static) if (len * S >= SL__PAR_MIN && !omp_in_parallel())
        for (size_t i = 0; i < len; i++) {
            float acc = g[k][i];
            for (size_t s = 1; s < S; s++) acc += parts[(s - 1) * np + off + i];
            g[k][i] = acc;
        }
    }
}

void sl__block_backward(float *dx, float *const *g, const float *dout, const float *x, const float *cache,
                        const float *const *w, const sl__block_dims *d, float *scratch) {
    const size_t R = d->n * d->t, S = block_slices(d), W = slice_team(d), np = block_param_floats(d);
    const sl__attn_dims ad = block_attn_dims(d);
    /* The whole block's layout (sl__block_scratch_floats) ends with the
     * attention's T x T blocks, one per worker, which a single slice uses;
     * after it, one block per slice and the partial sums of slices 1.. */
    const size_t T2 = d->t * d->t, whole = R * (d->m + 2 * d->d) + sl__attn_scratch_floats(&ad);
    float *ablocks = scratch + R * (d->m + 6 * d->d), *blocks = scratch + whole, *parts = blocks + S * T2;
#pragma omp parallel for schedule(dynamic, 1) num_threads((int)W) if (W > 1)
    for (size_t k = 0; k < S; k++) {
        float *gk[SL__BLOCK_TENSORS];
        if (k) memset(parts + (k - 1) * np, 0, np * sizeof(float));
        for (size_t j = 0, off = 0; j < SL__BLOCK_TENSORS; off += block_tensor_floats(d, j), j++)
            gk[j] = k == 0 || !g[j] ? g[j] : parts + (k - 1) * np + off;
        const size_t s0 = block_slice_begin(d, k), s1 = block_slice_begin(d, k + 1);
        float *bk = S > 1 ? blocks + k * T2 : ablocks;
        if (d->first)
            block_first_backward(dx, gk, dout, x, cache, w, d, scratch, bk, parts + (S - 1) * np, s0, s1);
        else
            block_backward_rows(dx, gk, dout, x, cache, w, d, scratch, bk, s0, s1);
    }
    if (S > 1) add_slice_grads(g, parts, d);
}

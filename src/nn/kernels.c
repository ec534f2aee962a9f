/* The heavy layer kernels: convolution (batched im2col + one sgemm per chunk
 * of examples), linear, batch normalisation with fused ReLU, and pooling, each
 * with a naive `_ref` twin that the tests compare against; and the plain row
 * loops of layer norm and GELU, which layers and transformer blocks share.
 * Layouts are the internal ones of nn_internal.h (images CNHW, flat n x D,
 * tokens (n*T) x D). */
#include "nn/nn_internal.h"
#include "nn/fastmath.h"

#include <math.h>
#include <stdint.h>
#include <omp.h>
#include <string.h>

/* ---- convolution ---------------------------------------------------------
 * The whole batch's output co x (n*ho*wo) is the product W (co x ci*k*k) times
 * the column matrix (ci*k*k x n*ho*wo). The column matrix is built for a chunk
 * of examples at a time, small enough to stay in the last-level cache but
 * wide enough for an efficient sgemm; the product writes straight into the
 * CNHW output through the row stride. */

/* Target size of one chunk's column matrix, in floats (2 MiB): small enough
 * to stay in cache between im2col and the product that reads it. */
#ifndef SL__COL_TARGET
#define SL__COL_TARGET ((size_t)1 << 19)
#endif

static bool conv_is_pointwise(const sl__conv_dims *d) { return d->k == 1 && d->stride == 1 && d->pad == 0; }

static size_t conv_chunk(const sl__conv_dims *d) {
    if (d->chunk) return SL__MIN(d->chunk, d->n);
    const size_t target = SL__COL_TARGET;
    size_t per = d->ci * d->k * d->k * d->ho * d->wo;
    size_t nb = per ? target / per : d->n;
    if (nb < 1) nb = 1;
    if (nb > d->n) nb = d->n;
    return nb;
}

static bool conv_is_same(const sl__conv_dims *d) { return d->stride == 1 && d->ho == d->h && d->wo == d->w; }

/* The batch is cut into SL__CONV_SLICES fixed slices of examples, whatever
 * the thread count: each slice's d(weight) is summed separately and the
 * partial sums are added in slice order, so results do not depend on how
 * many threads ran the slices. Up to that many workers each take whole
 * slices. With two slices or more, each product is one single-threaded
 * sgemm (sl__gemm_one), whichever worker runs it; a batch of one example is
 * one slice, and its products go through sl_gemm, whose tiles share the
 * threads. Which of the two depends on the batch size alone, so the bits do
 * not depend on the thread count either way. */
#ifndef SL__CONV_SLICES
#define SL__CONV_SLICES 8
#endif

static size_t conv_slices(const sl__conv_dims *d) { return SL__MIN((size_t)SL__CONV_SLICES, SL__MAX(d->n, (size_t)1)); }

static size_t slice_begin(const sl__conv_dims *d, size_t s) { return s * d->n / conv_slices(d); }

/* The product of one chunk (see the slices above). */
static void conv_gemm(const sl__conv_dims *d, bool ta, bool tb, size_t M, size_t N, size_t K, const float *A,
                      size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc) {
    if (conv_slices(d) > 1)
        sl__gemm_one(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
    else
        sl_gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}

/* Workers the scratch is sized for, and workers that run now. */
static size_t conv_max_workers(const sl__conv_dims *d) {
    return SL__MIN(d->threads ? d->threads : (size_t)1, conv_slices(d));
}
static size_t conv_workers(const sl__conv_dims *d) {
    int t = omp_in_parallel() ? 1 : omp_get_max_threads();
    return SL__MIN(conv_max_workers(d), (size_t)(t > 0 ? t : 1));
}

/* Per worker: the column chunk, plus (for stride-1 "same" convolutions) k
 * column masks of one plane each for col2im. */
static size_t conv_worker_floats(const sl__conv_dims *d) {
    return conv_chunk(d) * d->ci * d->k * d->k * d->ho * d->wo + (conv_is_same(d) ? d->k * d->h * d->w : 0);
}

/* Worker areas, then one d(weight) partial sum per slice after the first. */
size_t sl__conv_scratch_floats(const sl__conv_dims *d) {
    size_t part = (conv_slices(d) - 1) * d->co * d->ci * d->k * d->k;
    if (conv_is_pointwise(d)) return part;
    return conv_max_workers(d) * conv_worker_floats(d) + part;
}

/* One row segment of im2col or col2im: short (a few dozen floats), so a
 * loop the compiler vectorises beats a library call; restrict tells it the
 * buffers do not overlap. */
static inline void copy_seg(float *restrict dst, const float *restrict src, long n) {
    for (long i = 0; i < n; i++) dst[i] = src[i];
}
static inline void zero_seg(float *restrict dst, long n) {
    for (long i = 0; i < n; i++) dst[i] = 0.0f;
}
static inline void add_seg(float *restrict dst, const float *restrict src, long n) {
    for (long i = 0; i < n; i++) dst[i] += src[i];
}

/* Columns for examples [s0, s0+nb): row r = (ci*k+kh)*k+kw, column
 * s*ho*wo + oh*wo + ow. Every entry is written, so no memset is needed. */
static void im2col(float *col, const float *in, const sl__conv_dims *d, size_t s0, size_t nb) {
    const size_t K = d->k, rows = d->ci * K * K, howo = d->ho * d->wo, cols = nb * howo, hw = d->h * d->w;
    const long H = (long)d->h, W = (long)d->w, st = (long)d->stride, pad = (long)d->pad;
    /* A stride-1 "same" convolution: each column row is the input plane
     * shifted by (kh-pad, kw-pad), one contiguous copy plus zeroed edges. */
    const bool same = conv_is_same(d);
#pragma omp parallel for collapse(2) schedule(static) if (!omp_in_parallel())
    for (size_t r = 0; r < rows; r++)
        for (size_t s = 0; s < nb; s++) {
            const size_t ci = r / (K * K), kh = (r / K) % K, kw = r % K;
            const float *plane = in + (ci * d->n + s0 + s) * hw;
            float *dst = col + r * cols + s * howo;
            if (same) {
                const long dh = (long)kh - pad, dw = (long)kw - pad, off = dh * W + dw, n = H * W;
                long r0 = dh < 0 ? -dh : 0, r1 = dh > 0 ? H - dh : H; /* valid output rows */
                if (r1 < r0) r1 = r0;
                long i0 = r0 * W, i1 = r1 * W;
                if (i0 + off < 0) i0 = -off;
                if (i1 + off > n) i1 = n - off;
                zero_seg(dst, i0);
                if (i1 > i0) copy_seg(dst + i0, plane + i0 + off, i1 - i0);
                zero_seg(dst + (i1 > i0 ? i1 : i0), n - (i1 > i0 ? i1 : i0));
                /* Columns whose source fell off the left or right edge read
                 * the neighbouring row: zero them. */
                if (dw != 0)
                    for (long oh = r0; oh < r1; oh++) {
                        float *row = dst + oh * W;
                        if (dw < 0)
                            for (long ow = 0; ow < -dw && ow < W; ow++) row[ow] = 0.0f;
                        else
                            for (long ow = W - dw < 0 ? 0 : W - dw; ow < W; ow++) row[ow] = 0.0f;
                    }
                continue;
            }
            for (size_t oh = 0; oh < d->ho; oh++) {
                long ih = (long)oh * st - pad + (long)kh;
                float *drow = dst + oh * d->wo;
                if (ih < 0 || ih >= H) {
                    zero_seg(drow, (long)d->wo);
                    continue;
                }
                const float *srow = plane + ih * W;
                if (st == 1) {
                    /* iw = ow - pad + kw must lie in [0, W). */
                    long lo = pad - (long)kw, hi = W + pad - (long)kw;
                    if (lo < 0) lo = 0;
                    if (hi > (long)d->wo) hi = (long)d->wo;
                    if (hi < lo) hi = lo;
                    zero_seg(drow, lo);
                    copy_seg(drow + lo, srow + lo - pad + (long)kw, hi - lo);
                    zero_seg(drow + hi, (long)d->wo - hi);
                } else {
                    for (size_t ow = 0; ow < d->wo; ow++) {
                        long iw = (long)ow * st - pad + (long)kw;
                        drow[ow] = (iw >= 0 && iw < W) ? srow[iw] : 0.0f;
                    }
                }
            }
        }
}

/* The adjoint of im2col for examples [s0, s0+nb): each din plane is written
 * whole (zeroed, then accumulated), one plane per iteration, so there are no
 * races and no separate memset of din. For a stride-1 "same" convolution each
 * (kh, kw) adds a whole shifted plane, with mask[kw] (1 where the column
 * stays inside the row, else 0) cancelling the entries that wrap around. */
static void col2im(float *din, const float *col, const sl__conv_dims *d, size_t s0, size_t nb, float *masks) {
    const size_t K = d->k, howo = d->ho * d->wo, cols = nb * howo, hw = d->h * d->w;
    const long H = (long)d->h, W = (long)d->w, st = (long)d->stride, pad = (long)d->pad;
    const bool same = conv_is_same(d);
    if (same)
        for (size_t kw = 0; kw < K; kw++)
            for (long i = 0; i < H * W; i++) {
                long iw = i % W + (long)kw - pad;
                masks[kw * hw + (size_t)i] = (iw >= 0 && iw < W) ? 1.0f : 0.0f;
            }
#pragma omp parallel for collapse(2) schedule(static) if (!omp_in_parallel())
    for (size_t ci = 0; ci < d->ci; ci++)
        for (size_t s = 0; s < nb; s++) {
            float *plane = din + (ci * d->n + s0 + s) * hw;
            zero_seg(plane, (long)hw);
            for (size_t kh = 0; kh < K; kh++)
                for (size_t kw = 0; kw < K; kw++) {
                    const float *src = col + ((ci * K + kh) * K + kw) * cols + s * howo;
                    if (same) {
                        const long dh = (long)kh - pad, dw = (long)kw - pad, off = dh * W + dw, n = H * W;
                        long r0 = dh < 0 ? -dh : 0, r1 = dh > 0 ? H - dh : H;
                        if (r1 < r0) r1 = r0;
                        long i0 = r0 * W, i1 = r1 * W;
                        if (i0 + off < 0) i0 = -off;
                        if (i1 + off > n) i1 = n - off;
                        float *restrict dst = plane + off;
                        const float *restrict mk = masks + kw * hw;
                        for (long i = i0; i < i1; i++) dst[i] += src[i] * mk[i];
                        continue;
                    }
                    for (size_t oh = 0; oh < d->ho; oh++) {
                        long ih = (long)oh * st - pad + (long)kh;
                        if (ih < 0 || ih >= H) continue;
                        float *prow = plane + ih * W;
                        const float *srow = src + oh * d->wo;
                        if (st == 1) {
                            long lo = pad - (long)kw, hi = W + pad - (long)kw;
                            if (lo < 0) lo = 0;
                            if (hi > (long)d->wo) hi = (long)d->wo;
                            if (hi > lo) add_seg(prow - pad + (long)kw + lo, srow + lo, hi - lo);
                        } else {
                            for (size_t ow = 0; ow < d->wo; ow++) {
                                long iw = (long)ow * st - pad + (long)kw;
                                if (iw >= 0 && iw < W) prow[iw] += srow[ow];
                            }
                        }
                    }
                }
        }
}

/* Forward product for examples [s0, s1), in chunks. */
static void conv_forward_range(float *out, const float *in, const float *wt, const sl__conv_dims *d, float *col,
                               size_t s0, size_t s1) {
    const size_t ckk = d->ci * d->k * d->k, howo = d->ho * d->wo, ncols = d->n * howo;
    const size_t nb = conv_chunk(d);
    for (; s0 < s1; s0 += nb) {
        size_t b = SL__MIN(nb, s1 - s0);
        if (conv_is_pointwise(d)) {
            conv_gemm(d, false, false, d->co, b * howo, ckk, wt, ckk, in + s0 * howo, d->n * howo, 0.0f,
                      out + s0 * howo, ncols);
        } else {
            im2col(col, in, d, s0, b);
            conv_gemm(d, false, false, d->co, b * howo, ckk, wt, ckk, col, b * howo, 0.0f, out + s0 * howo, ncols);
        }
    }
}

void sl__conv_forward(float *out, const float *in, const float *wt, const float *bias, const sl__conv_dims *d,
                      float *scratch) {
    const size_t howo = d->ho * d->wo, ncols = d->n * howo, S = conv_slices(d), W = conv_workers(d);
    const size_t area = conv_is_pointwise(d) ? 0 : conv_worker_floats(d);
#pragma omp parallel num_threads((int)W) if (W > 1)
    {
        /* The team may be smaller than asked for (or absent without OpenMP). */
        size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
        for (size_t s = t; s < S; s += nt)
            conv_forward_range(out, in, wt, d, scratch + t * area, slice_begin(d, s), slice_begin(d, s + 1));
    }
    if (bias) {
#pragma omp parallel for schedule(static)
        for (size_t c = 0; c < d->co; c++) {
            float *row = out + c * ncols, b = bias[c];
            for (size_t j = 0; j < ncols; j++) row[j] += b;
        }
    }
}

/* d(weight) (accumulated into dw) and d(input) for examples [s0, s1). */
static void conv_backward_range(float *din, float *dw, const float *dout, const float *in, const float *wt,
                                const sl__conv_dims *d, float *col, size_t s0, size_t s1) {
    const size_t ckk = d->ci * d->k * d->k, howo = d->ho * d->wo, ncols = d->n * howo, hw = d->h * d->w;
    const size_t nb = conv_chunk(d);
    for (; s0 < s1; s0 += nb) {
        size_t b = SL__MIN(nb, s1 - s0), cols = b * howo;
        const float *g = dout + s0 * howo;
        if (conv_is_pointwise(d)) {
            conv_gemm(d, false, true, d->co, ckk, cols, g, ncols, in + s0 * hw, d->n * hw, 1.0f, dw, ckk);
            if (din)
                conv_gemm(d, true, false, ckk, cols, d->co, wt, ckk, g, ncols, 0.0f, din + s0 * hw, d->n * hw);
            continue;
        }
        im2col(col, in, d, s0, b);
        conv_gemm(d, false, true, d->co, ckk, cols, g, ncols, col, cols, 1.0f, dw, ckk);
        if (din) {
            /* The column buffer is free again: reuse it for d(columns). */
            conv_gemm(d, true, false, ckk, cols, d->co, wt, ckk, g, ncols, 0.0f, col, cols);
            col2im(din, col, d, s0, b, col + nb * ckk * howo);
        }
    }
}

void sl__conv_backward(float *din, float *dwt, float *dbias, const float *dout, const float *in, const float *wt,
                       const sl__conv_dims *d, float *scratch) {
    const size_t nw = d->co * d->ci * d->k * d->k, ncols = d->n * d->ho * d->wo;
    const size_t S = conv_slices(d), W = conv_workers(d);
    const size_t area = conv_is_pointwise(d) ? 0 : conv_worker_floats(d);
    float *parts = scratch + conv_max_workers(d) * area; /* slice s >= 1 sums into parts + (s-1)*nw */
    if (dbias) {
#pragma omp parallel for schedule(static)
        for (size_t c = 0; c < d->co; c++) {
            const float *row = dout + c * ncols;
            double acc = 0;
            for (size_t j = 0; j < ncols; j++) acc += row[j];
            dbias[c] += (float)acc;
        }
    }
    if (S > 1) memset(parts, 0, (S - 1) * nw * sizeof(float));
#pragma omp parallel num_threads((int)W) if (W > 1)
    {
        size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
        for (size_t s = t; s < S; s += nt)
            conv_backward_range(din, s ? parts + (s - 1) * nw : dwt, dout, in, wt, d, scratch + t * area,
                                slice_begin(d, s), slice_begin(d, s + 1));
    }
    /* Slice order, whatever the thread count. */
    if (S > 1) {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < nw; i++) {
            float acc = dwt[i];
            for (size_t s = 1; s < S; s++) acc += parts[(s - 1) * nw + i];
            dwt[i] = acc;
        }
    }
}

/* Index of element (c, s, y, x) of a CNHW batch with n examples. */
#define CNHW(c, s, y, x, n, h, w) ((((c) * (n) + (s)) * (h) + (y)) * (w) + (x))

void sl__conv_forward_ref(float *out, const float *in, const float *wt, const float *bias, const sl__conv_dims *d) {
    const size_t K = d->k;
    for (size_t co = 0; co < d->co; co++)
        for (size_t s = 0; s < d->n; s++)
            for (size_t oh = 0; oh < d->ho; oh++)
                for (size_t ow = 0; ow < d->wo; ow++) {
                    double acc = bias ? bias[co] : 0.0;
                    for (size_t ci = 0; ci < d->ci; ci++)
                        for (size_t kh = 0; kh < K; kh++)
                            for (size_t kw = 0; kw < K; kw++) {
                                long ih = (long)(oh * d->stride + kh) - (long)d->pad;
                                long iw = (long)(ow * d->stride + kw) - (long)d->pad;
                                if (ih < 0 || iw < 0 || ih >= (long)d->h || iw >= (long)d->w) continue;
                                acc += (double)in[CNHW(ci, s, (size_t)ih, (size_t)iw, d->n, d->h, d->w)] *
                                       wt[((co * d->ci + ci) * K + kh) * K + kw];
                            }
                    out[CNHW(co, s, oh, ow, d->n, d->ho, d->wo)] = (float)acc;
                }
}

void sl__conv_backward_ref(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                           const float *wt, const sl__conv_dims *d) {
    const size_t K = d->k;
    if (din) memset(din, 0, d->ci * d->n * d->h * d->w * sizeof(float));
    for (size_t co = 0; co < d->co; co++) {
        double db = 0;
        for (size_t s = 0; s < d->n; s++)
            for (size_t oh = 0; oh < d->ho; oh++)
                for (size_t ow = 0; ow < d->wo; ow++) {
                    float g = dout[CNHW(co, s, oh, ow, d->n, d->ho, d->wo)];
                    db += g;
                    for (size_t ci = 0; ci < d->ci; ci++)
                        for (size_t kh = 0; kh < K; kh++)
                            for (size_t kw = 0; kw < K; kw++) {
                                long ih = (long)(oh * d->stride + kh) - (long)d->pad;
                                long iw = (long)(ow * d->stride + kw) - (long)d->pad;
                                if (ih < 0 || iw < 0 || ih >= (long)d->h || iw >= (long)d->w) continue;
                                size_t ii = CNHW(ci, s, (size_t)ih, (size_t)iw, d->n, d->h, d->w);
                                size_t wi = ((co * d->ci + ci) * K + kh) * K + kw;
                                dwt[wi] += g * in[ii];
                                if (din) din[ii] += g * wt[wi];
                            }
                }
        if (dbias) dbias[co] += (float)db;
    }
}

/* ---- linear -------------------------------------------------------------*/
/* dbias += the column sums of dout (n x no), each summed in double in row
 * order; the columns go in blocks of LIN_BLOCK, one block per task, reading
 * the rows' contiguous pieces, so the sums do not depend on the threads.
 * sl__scale_bias_grad first scales each piece by factor's, in a pass that
 * writes the product and sums it. */
#define LIN_BLOCK 32

static void bias_block(float *dbias, const float *dout, size_t n, size_t no, size_t j0, size_t w) {
    double acc[LIN_BLOCK] = {0};
    for (size_t i = 0; i < n; i++) {
        const float *row = dout + i * no + j0;
        for (size_t j = 0; j < w; j++) acc[j] += row[j];
    }
    for (size_t j = 0; j < w; j++) dbias[j0 + j] += (float)acc[j];
}

static void scale_bias_block(float *dbias, float *out, const float *in, const float *factor, size_t n, size_t no,
                             size_t j0, size_t w) {
    double acc[LIN_BLOCK] = {0};
    for (size_t i = 0; i < n; i++) {
        const size_t at = i * no + j0;
        for (size_t j = 0; j < w; j++) {
            out[at + j] = in[at + j] * factor[at + j];
            acc[j] += out[at + j];
        }
    }
    for (size_t j = 0; j < w; j++) dbias[j0 + j] += (float)acc[j];
}

static void bias_grad_blocks(float *dbias, float *out, const float *in, const float *factor, size_t n, size_t no) {
    const size_t nb = (no + LIN_BLOCK - 1) / LIN_BLOCK;
#pragma omp parallel for schedule(static) if (n * no >= SL__PAR_MIN && nb > 1 && !omp_in_parallel())
    for (size_t blk = 0; blk < nb; blk++) {
        const size_t j0 = blk * LIN_BLOCK, w = SL__MIN(no, j0 + LIN_BLOCK) - j0;
        if (factor)
            scale_bias_block(dbias, out, in, factor, n, no, j0, w);
        else
            bias_block(dbias, in, n, no, j0, w);
    }
}

static void bias_grad(float *dbias, const float *dout, size_t n, size_t no) {
    bias_grad_blocks(dbias, NULL, dout, NULL, n, no);
}

void sl__scale_bias_grad(float *out, const float *in, const float *factor, float *dbias, size_t n, size_t no) {
    bias_grad_blocks(dbias, out, in, factor, n, no);
}

void sl__linear_forward(float *out, const float *in, const float *wt, const float *bias, size_t n, size_t di,
                        size_t no) {
    sl__linear_forward_res(out, in, wt, bias, NULL, n, di, no);
}

void sl__linear_forward_res(float *out, const float *in, const float *wt, const float *bias, const float *res,
                            size_t n, size_t di, size_t no) {
    sl_gemm(false, true, n, no, di, 1.0f, in, di, wt, di, 0.0f, out, no);
    if (!res && !bias) return;
#pragma omp parallel for schedule(static) if (n * no >= SL__PAR_MIN && !omp_in_parallel())
    for (size_t i = 0; i < n; i++) {
        float *o = out + i * no;
        const float *r = res ? res + i * no : NULL;
        if (r && bias)
            for (size_t j = 0; j < no; j++) o[j] = (o[j] + bias[j]) + r[j];
        else if (r)
            for (size_t j = 0; j < no; j++) o[j] += r[j];
        else
            for (size_t j = 0; j < no; j++) o[j] += bias[j];
    }
}

void sl__linear_backward(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                         const float *wt, size_t n, size_t di, size_t no) {
    sl_gemm(true, false, no, di, n, 1.0f, dout, no, in, di, 1.0f, dwt, di);
    if (dbias) bias_grad(dbias, dout, n, no);
    if (din) sl_gemm(false, false, n, di, no, 1.0f, dout, no, wt, di, 0.0f, din, di);
}

void sl__linear_forward_ref(float *out, const float *in, const float *wt, const float *bias, size_t n, size_t di,
                            size_t no) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < no; j++) {
            double acc = bias ? bias[j] : 0.0;
            for (size_t k = 0; k < di; k++) acc += (double)in[i * di + k] * wt[j * di + k];
            out[i * no + j] = (float)acc;
        }
}

void sl__linear_backward_ref(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                             const float *wt, size_t n, size_t di, size_t no) {
    for (size_t j = 0; j < no; j++)
        for (size_t k = 0; k < di; k++) {
            double acc = 0;
            for (size_t i = 0; i < n; i++) acc += (double)dout[i * no + j] * in[i * di + k];
            dwt[j * di + k] += (float)acc;
        }
    if (dbias)
        for (size_t j = 0; j < no; j++) {
            double acc = 0;
            for (size_t i = 0; i < n; i++) acc += dout[i * no + j];
            dbias[j] += (float)acc;
        }
    if (din)
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < di; k++) {
                double acc = 0;
                for (size_t j = 0; j < no; j++) acc += (double)dout[i * no + j] * wt[j * di + k];
                din[i * di + k] = (float)acc;
            }
}

/* ---- layer norm over rows -------------------------------------------------
 * Each row's mean and variance, and the two sums of its input gradient, are
 * summed in double in eight fixed lanes (fastmath.h). The
 * backward's input gradient is per row; the weight and bias gradients of
 * each feature are summed over the rows in row order, in float: each thread
 * takes a contiguous range of features and sweeps the rows once, LN_CHUNK
 * features at a time, so every sum has the same order whatever the thread
 * count. */
#define LN_CHUNK 128

void sl__ln_forward(float *out, float *stats, const float *in, const float *w, const float *b, size_t rows, size_t d,
                    double eps) {
#pragma omp parallel for schedule(static) if (rows * d >= SL__PAR_MIN && !omp_in_parallel())
    for (size_t s = 0; s < rows; s++) {
        const float *x = in + s * d;
        float *y = out + s * d;
        const double mu = lane_sum(x, d) / (double)d, var = lane_sqdev(x, mu, d) / (double)d;
        const double inv = 1.0 / sqrt(var + eps);
        for (size_t j = 0; j < d; j++) y[j] = (float)((x[j] - mu) * inv) * w[j] + b[j];
        stats[2 * s] = (float)mu;
        stats[2 * s + 1] = (float)inv;
    }
}

/* A row's two sums for the input gradient, over the features: a1 the mean of
 * g w, a2 the mean of g w xhat, in eight fixed lanes. */
static void ln_row_sums(double *a1, double *a2, const float *g, const float *w, const float *x, double mu, double inv,
                        size_t d) {
    sl__d4 s1[2] = {{0, 0, 0, 0}, {0, 0, 0, 0}}, s2[2] = {{0, 0, 0, 0}, {0, 0, 0, 0}}, gv, wv, xv;
    for (size_t j = 0; j < d; j += 8)
        for (size_t h = 0; h < 2; h++) { /* past d, g is 0 and adds nothing */
            const size_t at = j + 4 * h;
            lanes_load(&gv, g, at, d, 0.0f);
            lanes_load(&wv, w, at, d, 0.0f);
            lanes_load(&xv, x, at, d, 0.0f);
            gv *= wv;
            s1[h] += gv;
            s2[h] += gv * ((xv - mu) * inv);
        }
    *a1 = lanes_total(&s1[0], &s1[1]) / (double)d;
    *a2 = lanes_total(&s2[0], &s2[1]) / (double)d;
}

void sl__ln_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *stats,
                     const float *w, size_t rows, size_t d) {
    const bool par = rows * d >= SL__PAR_MIN && !omp_in_parallel();
#pragma omp parallel if (par)
    {
        const size_t team = (size_t)omp_get_num_threads(), t = (size_t)omp_get_thread_num();
        for (size_t c0 = d * t / team, end = d * (t + 1) / team; c0 < end; c0 += LN_CHUNK) {
            const size_t cw = SL__MIN(end - c0, (size_t)LN_CHUNK);
            float aw[LN_CHUNK], ab[LN_CHUNK];
            memcpy(aw, dw + c0, cw * sizeof(float));
            memcpy(ab, db + c0, cw * sizeof(float));
            for (size_t s = 0; s < rows; s++) {
                const float *x = in + s * d + c0, *g = dout + s * d + c0;
                const double mu = stats[2 * s], inv = stats[2 * s + 1];
                for (size_t j = 0; j < cw; j++) {
                    aw[j] += (float)(g[j] * ((x[j] - mu) * inv));
                    ab[j] += g[j];
                }
            }
            memcpy(dw + c0, aw, cw * sizeof(float));
            memcpy(db + c0, ab, cw * sizeof(float));
        }
    }
    if (!din) return;
#pragma omp parallel for schedule(static) if (par)
    for (size_t s = 0; s < rows; s++) {
        const float *x = in + s * d, *g = dout + s * d;
        const double mu = stats[2 * s], inv = stats[2 * s + 1];
        double a1, a2;
        ln_row_sums(&a1, &a2, g, w, x, mu, inv, d);
        for (size_t j = 0; j < d; j++) {
            double xh = (x[j] - mu) * inv;
            din[s * d + j] = (float)(inv * ((double)g[j] * w[j] - a1 - xh * a2));
        }
    }
}

/* ---- GELU -----------------------------------------------------------------
 * The exact GELU, x Phi(x) with Phi(x) = erfc(-x / sqrt 2) / 2, in float and
 * in a form the compiler vectorises (no calls): erfc(z) for z >= 0 from the
 * Chebyshev fit of Numerical Recipes' erfcc, t exp(-z^2 + P(t)) with
 * t = 1 / (1 + z/2) (fractional error below 1.2e-7), and exp from a Cephes-
 * style reduction by ln 2 and a degree-5 polynomial. The `_ref` twins use
 * double erf and exp; tests/test_nn_transformer.c holds them within 3e-7. */

/* Phi(x), the standard normal CDF. exp's argument stays above -87: |x| / sqrt 2
 * is capped at 9, and beyond it erfc (below 4.2e-37) is taken as 0. */
static inline float phi_f(float x) {
    const float z0 = fabsf(x) * 0.70710678118654752f, z = min_pos(z0, 9.0f), t = 1.0f / (1.0f + 0.5f * z);
    float p = 0.17087277f;
    p = SL__FMA(p, t, -0.82215223f);
    p = SL__FMA(p, t, 1.48851587f);
    p = SL__FMA(p, t, -1.13520398f);
    p = SL__FMA(p, t, 0.27886807f);
    p = SL__FMA(p, t, -0.18628806f);
    p = SL__FMA(p, t, 0.09678418f);
    p = SL__FMA(p, t, 0.37409196f);
    p = SL__FMA(p, t, 1.00002368f);
    p = SL__FMA(p, t, -1.26551223f);
    const float half_erfc = below_or_zero(0.5f * t * exp_f(SL__FMA(-z, z, p)), z0, 9.0f);
    return x < 0.0f ? half_erfc : 1.0f - half_erfc;
}

void sl__gelu_forward(float *out, const float *in, size_t count) {
#pragma omp parallel for schedule(static) if (count >= SL__PAR_MIN && !omp_in_parallel())
    for (size_t j = 0; j < count; j++) out[j] = in[j] * phi_f(in[j]);
}

/* d/dx x Phi(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi);
 * beyond |x| = 12, where |x phi(x)| is below 3e-31, it is taken as 0. */
static inline float gelu_slope_phi(float x, float phi) { /* phi: phi_f(x) */
    const float a = min_pos(fabsf(x), 12.0f);
    const float xpdf = below_or_zero(x * 0.39894228040143268f * exp_f(-0.5f * a * a), fabsf(x), 12.0f);
    return phi + xpdf + 0.0f * x; /* 0 x: NaN stays NaN */
}

static inline float gelu_slope(float x) { return gelu_slope_phi(x, phi_f(x)); }

void sl__gelu_backward(float *din, const float *dout, const float *in, size_t count) {
#pragma omp parallel for schedule(static) if (count >= SL__PAR_MIN && !omp_in_parallel())
    for (size_t j = 0; j < count; j++) din[j] = dout[j] * gelu_slope(in[j]);
}

/* x = xs + bias (rows x cols, bias per column); out = GELU(x) and xs = the
 * slope GELU'(x), each as sl__gelu_forward and sl__gelu_backward compute it,
 * so that sl__scale_bias_grad(din, dout, xs, ...) gives sl__gelu_backward's
 * bits. One pass in place of three (bias, GELU, and the slope in the
 * backward). */
void sl__bias_gelu_forward(float *out, float *xs, const float *bias, size_t rows, size_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols >= SL__PAR_MIN && !omp_in_parallel())
    for (size_t i = 0; i < rows; i++) {
        float *x = xs + i * cols, *y = out + i * cols;
        for (size_t j = 0; j < cols; j++) {
            const float v = bias ? x[j] + bias[j] : x[j], phi = phi_f(v);
            y[j] = v * phi;
            x[j] = gelu_slope_phi(v, phi);
        }
    }
}

void sl__gelu_forward_ref(float *out, const float *in, size_t count) {
    for (size_t j = 0; j < count; j++) out[j] = (float)(0.5 * in[j] * (1.0 + erf(in[j] * 0.70710678118654752)));
}

void sl__gelu_backward_ref(float *din, const float *dout, const float *in, size_t count) {
    for (size_t j = 0; j < count; j++) {
        const double x = in[j], cdf = 0.5 * (1.0 + erf(x * 0.70710678118654752));
        din[j] = (float)(dout[j] * (cdf + x * 0.39894228040143268 * exp(-0.5 * x * x)));
    }
}

/* ---- batch normalisation ------------------------------------------------
 * Channel c's elements: CNHW keeps them contiguous (c*m + j); a flat n x C
 * batch strides them (j*C + c). */
static inline size_t bn_at(const sl__bn_dims *d, size_t c, size_t j) { return d->flat ? j * d->c + c : c * d->m + j; }

/* Vectorised reductions: float partial sums over blocks of at most 4096
 * elements (`omp simd` permits the reassociation that SIMD needs, without
 * -ffast-math), each block's sum added into a double, so the rounding error
 * stays small while the loops run at vector speed. */
#define SL__BLOCK 4096

static double sum_f(const float *x, size_t n) {
    double total = 0;
    for (size_t b0 = 0; b0 < n; b0 += SL__BLOCK) {
        size_t e = SL__MIN(n, b0 + SL__BLOCK);
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (size_t j = b0; j < e; j++) acc += x[j];
        total += acc;
    }
    return total;
}

/* Sum of (x - c)^2. */
static double sumsq_f(const float *x, size_t n, float c) {
    double total = 0;
    for (size_t b0 = 0; b0 < n; b0 += SL__BLOCK) {
        size_t e = SL__MIN(n, b0 + SL__BLOCK);
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (size_t j = b0; j < e; j++) acc += (x[j] - c) * (x[j] - c);
        total += acc;
    }
    return total;
}

/* For BN backward: sum of g and of g*(x - c), where g = dout masked by y > 0
 * when relu is set. */
static void sums_gx(const float *g, const float *x, bool relu, float scale, float shift, float c, size_t n,
                    double *sg, double *sgx) {
    double t1 = 0, t2 = 0;
    for (size_t b0 = 0; b0 < n; b0 += SL__BLOCK) {
        size_t e = SL__MIN(n, b0 + SL__BLOCK);
        float a1 = 0.0f, a2 = 0.0f;
        if (relu) {
#pragma omp simd reduction(+ : a1, a2)
            for (size_t j = b0; j < e; j++) {
                float gg = x[j] * scale + shift > 0.0f ? g[j] : 0.0f;
                a1 += gg;
                a2 += gg * (x[j] - c);
            }
        } else {
#pragma omp simd reduction(+ : a1, a2)
            for (size_t j = b0; j < e; j++) {
                a1 += g[j];
                a2 += g[j] * (x[j] - c);
            }
        }
        t1 += a1;
        t2 += a2;
    }
    *sg = t1;
    *sgx = t2;
}

/* One channel's output from its mean and 1/std: y = x * scale + shift (then
 * ReLU when fused); scale and shift are cached for backward. */
static void bn_apply_channel(float *out, float *cache, const float *in, const float *gamma, const float *beta,
                             const sl__bn_dims *d, size_t c, double mean, double invstd) {
    const size_t m = d->m;
    const float scale = (float)(gamma[c] * invstd), shift = (float)(beta[c] - mean * gamma[c] * invstd);
    /* Backward recomputes the ReLU mask from the input with these exact
     * values, so it need not read the output. */
    cache[2 * d->c + c] = scale;
    cache[3 * d->c + c] = shift;
    if (!d->flat) {
        const float *x = in + c * m;
        float *y = out + c * m;
        if (d->relu)
            for (size_t j = 0; j < m; j++) {
                float v = x[j] * scale + shift;
                y[j] = v > 0.0f ? v : 0.0f;
            }
        else
            for (size_t j = 0; j < m; j++) y[j] = x[j] * scale + shift;
    } else {
        for (size_t j = 0; j < m; j++) {
            size_t a = bn_at(d, c, j);
            float v = in[a] * scale + shift;
            out[a] = (d->relu && !(v > 0.0f)) ? 0.0f : v;
        }
    }
}

/* Train mode: the batch statistics (mean, the sum of squared deviations ss
 * over count elements) into the running statistics and the cache. */
static double bn_train_stats(float *cache, float *run_mean, float *run_var, const sl__bn_dims *d, size_t c,
                             double mean, double ss, double count) {
    double var = ss / count;
    double invstd = 1.0 / sqrt(var + d->eps);
    /* Running variance uses the unbiased estimate, as PyTorch does. */
    double unb = count > 1 ? ss / (count - 1) : var;
    run_mean[c] = (float)((1.0 - d->momentum) * run_mean[c] + d->momentum * mean);
    run_var[c] = (float)((1.0 - d->momentum) * run_var[c] + d->momentum * unb);
    cache[c] = (float)mean;
    cache[d->c + c] = (float)invstd;
    return invstd;
}

void sl__bn_forward(float *out, float *cache, float *run_mean, float *run_var, const float *in, const float *gamma,
                    const float *beta, const sl__bn_dims *d, bool train) {
    const size_t m = d->m;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t c = 0; c < d->c; c++) {
        double mean, invstd;
        if (train) {
            double s = 0, ss = 0;
            if (!d->flat) {
                const float *x = in + c * m;
                mean = sum_f(x, m) / (double)m;
                /* Sum of squares about the float-rounded mean, corrected to
                 * the exact mean: sum (x-mu)^2 = sum (x-f)^2 - m (mu-f)^2. */
                double r = mean - (double)(float)mean;
                ss = sumsq_f(x, m, (float)mean) - (double)m * r * r;
                if (ss < 0) ss = 0;
            } else {
                for (size_t j = 0; j < m; j++) s += in[bn_at(d, c, j)];
                mean = s / (double)m;
                for (size_t j = 0; j < m; j++) {
                    double t = in[bn_at(d, c, j)] - mean;
                    ss += t * t;
                }
            }
            invstd = bn_train_stats(cache, run_mean, run_var, d, c, mean, ss, (double)m);
        } else {
            mean = run_mean[c];
            invstd = 1.0 / sqrt((double)run_var[c] + d->eps);
        }
        bn_apply_channel(out, cache, in, gamma, beta, d, c, mean, invstd);
    }
}

/* One channel's input gradient from the sums of g and of g * xhat over
 * count elements: din = k * (g - sg/count - xhat * sgx/count). */
static void bn_din_channel(float *din, const float *dout, const float *out, const float *in, const float *cache,
                           const float *gamma, const sl__bn_dims *d, size_t c, double sg, double sgx,
                           double count) {
    const size_t m = d->m;
    const float mean = cache[c], invstd = cache[d->c + c];
    const float k = gamma[c] * invstd;
    const float a1 = (float)(sg / count), a2 = (float)(sgx / count);
    if (!d->flat) {
        const float *g = dout + c * m, *x = in + c * m;
        const float scale = cache[2 * d->c + c], shift = cache[3 * d->c + c];
        float *dx = din + c * m;
        const float ka2 = k * a2 * invstd, k0 = k * a1 - ka2 * mean;
        /* din = k*(g - a1 - (x-mean)*invstd*a2) = k*g - ka2*x - k0 */
        if (d->relu)
            for (size_t j = 0; j < m; j++) dx[j] = (x[j] * scale + shift > 0.0f ? k * g[j] : 0.0f) - ka2 * x[j] - k0;
        else
            for (size_t j = 0; j < m; j++) dx[j] = k * g[j] - ka2 * x[j] - k0;
    } else {
        for (size_t j = 0; j < m; j++) {
            size_t a = bn_at(d, c, j);
            float g = (d->relu && !(out[a] > 0.0f)) ? 0.0f : dout[a];
            float xh = (in[a] - mean) * invstd;
            din[a] = k * (g - a1 - xh * a2);
        }
    }
}

/* One channel's sums of g and of g * xhat (g: dout, masked by the fused
 * ReLU). */
static void bn_grad_sums(const float *dout, const float *out, const float *in, const float *cache,
                         const sl__bn_dims *d, size_t c, double *sg, double *sgx) {
    const size_t m = d->m;
    const float mean = cache[c], invstd = cache[d->c + c];
    *sg = 0, *sgx = 0;
    if (!d->flat) {
        sums_gx(dout + c * m, in + c * m, d->relu, cache[2 * d->c + c], cache[3 * d->c + c], mean, m, sg, sgx);
        *sgx *= invstd;
    } else {
        for (size_t j = 0; j < m; j++) {
            size_t a = bn_at(d, c, j);
            float g = (d->relu && !(out[a] > 0.0f)) ? 0.0f : dout[a];
            *sg += g;
            *sgx += (double)g * ((in[a] - mean) * invstd);
        }
    }
}

void sl__bn_backward(float *din, float *dgamma, float *dbeta, const float *dout, const float *out, const float *in,
                     const float *cache, const float *gamma, const sl__bn_dims *d) {
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t c = 0; c < d->c; c++) {
        double sg, sgx;
        bn_grad_sums(dout, out, in, cache, d, c, &sg, &sgx);
        dgamma[c] += (float)sgx;
        dbeta[c] += (float)sg;
        if (din) bn_din_channel(din, dout, out, in, cache, gamma, d, c, sg, sgx, (double)d->m);
    }
}

/* ---- batch norm over the ranks of a distributed run ------------------------
 * The statistics of every rank's batch: each rank's sums are added over the
 * ranks (sl_dist) before they are used. The parameter gradients keep this
 * rank's share (the trainer adds the ranks' gradients up); the input
 * gradient uses the sums of every rank. */
static double bn_local_sum(const float *in, const sl__bn_dims *d, size_t c) {
    if (!d->flat) return sum_f(in + c * d->m, d->m);
    double s = 0;
    for (size_t j = 0; j < d->m; j++) s += in[bn_at(d, c, j)];
    return s;
}

/* sum (x - mean)^2 over this rank's elements, for the global mean (with the
 * float-rounded center f: sum (x-f)^2 - 2 r sum (x-f) + m r^2, r = mean - f). */
static double bn_local_ss(const float *in, const sl__bn_dims *d, size_t c, double mean, double local_sum) {
    const size_t m = d->m;
    if (!d->flat) {
        float f = (float)mean;
        double r = mean - (double)f, sxf = local_sum - (double)m * f;
        double ss = sumsq_f(in + c * m, m, f) - 2 * r * sxf + (double)m * r * r;
        return ss < 0 ? 0 : ss;
    }
    double ss = 0;
    for (size_t j = 0; j < m; j++) {
        double t = in[bn_at(d, c, j)] - mean;
        ss += t * t;
    }
    return ss;
}

sl_status sl__bn_forward_sync(float *out, float *cache, float *run_mean, float *run_var, const float *in,
                              const float *gamma, const float *beta, const sl__bn_dims *d, double *count) {
    const size_t C = d->c;
    /* acc: the sums of the C channels and the element count (one exchange),
     * then the C sums of squared deviations (a second). */
    double *acc = sl__malloc_array(3 * C + 1, sizeof(double), "batch norm: sums");
    if (!acc) return SL_ERR_NOMEM;
    double *ss = acc + C + 1, *local = ss + C;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t c = 0; c < C; c++) acc[c] = local[c] = bn_local_sum(in, d, c);
    acc[C] = (double)d->m;
    sl_status s = sl_dist_sum_f64(acc, C + 1);
    const double M = acc[C];
    if (!s) {
#pragma omp parallel for schedule(dynamic, 1)
        for (size_t c = 0; c < C; c++) ss[c] = bn_local_ss(in, d, c, acc[c] / M, local[c]);
        s = sl_dist_sum_f64(ss, C);
    }
    if (!s) {
#pragma omp parallel for schedule(dynamic, 1)
        for (size_t c = 0; c < C; c++) {
            double mean = acc[c] / M;
            double invstd = bn_train_stats(cache, run_mean, run_var, d, c, mean, ss[c], M);
            bn_apply_channel(out, cache, in, gamma, beta, d, c, mean, invstd);
        }
        *count = M;
    }
    sl__free(acc);
    return s;
}

sl_status sl__bn_backward_sync(float *din, float *dgamma, float *dbeta, const float *dout, const float *out,
                               const float *in, const float *cache, const float *gamma, const sl__bn_dims *d,
                               double count) {
    const size_t C = d->c;
    double *acc = sl__malloc_array(2 * C, sizeof(double), "batch norm: gradient sums");
    if (!acc) return SL_ERR_NOMEM;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t c = 0; c < C; c++) {
        bn_grad_sums(dout, out, in, cache, d, c, &acc[c], &acc[C + c]);
        dgamma[c] += (float)acc[C + c];
        dbeta[c] += (float)acc[c];
    }
    sl_status s = din ? sl_dist_sum_f64(acc, 2 * C) : SL_OK;
    if (!s && din) {
#pragma omp parallel for schedule(dynamic, 1)
        for (size_t c = 0; c < C; c++) bn_din_channel(din, dout, out, in, cache, gamma, d, c, acc[c], acc[C + c], count);
    }
    sl__free(acc);
    return s;
}

void sl__bn_forward_ref(float *out, float *cache, float *run_mean, float *run_var, const float *in,
                        const float *gamma, const float *beta, const sl__bn_dims *d, bool train) {
    for (size_t c = 0; c < d->c; c++) {
        double mean, var;
        if (train) {
            double s = 0, ss = 0;
            for (size_t j = 0; j < d->m; j++) s += in[bn_at(d, c, j)];
            mean = s / (double)d->m;
            for (size_t j = 0; j < d->m; j++) ss += (in[bn_at(d, c, j)] - mean) * (in[bn_at(d, c, j)] - mean);
            var = ss / (double)d->m;
            double unb = d->m > 1 ? ss / (double)(d->m - 1) : var;
            run_mean[c] = (float)((1.0 - d->momentum) * run_mean[c] + d->momentum * mean);
            run_var[c] = (float)((1.0 - d->momentum) * run_var[c] + d->momentum * unb);
            cache[c] = (float)mean;
            cache[d->c + c] = (float)(1.0 / sqrt(var + d->eps));
            cache[2 * d->c + c] = (float)(gamma[c] / sqrt(var + d->eps));
            cache[3 * d->c + c] = (float)(beta[c] - mean * gamma[c] / sqrt(var + d->eps));
        } else {
            mean = run_mean[c];
            var = run_var[c];
        }
        for (size_t j = 0; j < d->m; j++) {
            size_t a = bn_at(d, c, j);
            double y = (in[a] - mean) / sqrt(var + d->eps) * gamma[c] + beta[c];
            if (d->relu && y < 0) y = 0;
            out[a] = (float)y;
        }
    }
}

void sl__bn_backward_ref(float *din, float *dgamma, float *dbeta, const float *dout, const float *out,
                         const float *in, const float *cache, const float *gamma, const sl__bn_dims *d) {
    for (size_t c = 0; c < d->c; c++) {
        double mean = cache[c], invstd = cache[d->c + c], sg = 0, sgx = 0;
        for (size_t j = 0; j < d->m; j++) {
            size_t a = bn_at(d, c, j);
            double g = (d->relu && out[a] <= 0) ? 0 : dout[a];
            sg += g;
            sgx += g * (in[a] - mean) * invstd;
        }
        dgamma[c] += (float)sgx;
        dbeta[c] += (float)sg;
        if (!din) continue;
        for (size_t j = 0; j < d->m; j++) {
            size_t a = bn_at(d, c, j);
            double g = (d->relu && out[a] <= 0) ? 0 : dout[a];
            double xh = (in[a] - mean) * invstd;
            din[a] = (float)(gamma[c] * invstd * (g - sg / (double)d->m - xh * sgx / (double)d->m));
        }
    }
}

/* ---- pooling ------------------------------------------------------------
 * Planes are (channel, example) pairs; CNHW keeps each plane contiguous. The
 * dims' ci is the number of channels (co == ci). Padding never wins a max
 * (PyTorch pads with -inf) and counts as zeros in an average
 * (count_include_pad=True). */
void sl__maxpool_forward(float *out, int32_t *idx, const float *in, const sl__conv_dims *d) {
    const size_t planes = d->ci * d->n, hw = d->h * d->w, howo = d->ho * d->wo;
    const bool simple2 = d->k == 2 && d->stride == 2 && d->pad == 0;
#pragma omp parallel for schedule(static)
    for (size_t p = 0; p < planes; p++) {
        const float *x = in + p * hw;
        float *y = out + p * howo;
        int32_t *ix = idx + p * howo;
        for (size_t oh = 0; oh < d->ho; oh++)
            for (size_t ow = 0; ow < d->wo; ow++) {
                if (simple2) {
                    size_t a = 2 * oh * d->w + 2 * ow, b = a + 1, c = a + d->w, e = c + 1;
                    size_t m1 = x[b] > x[a] ? b : a, m2 = x[e] > x[c] ? e : c;
                    size_t mm = x[m2] > x[m1] ? m2 : m1;
                    y[oh * d->wo + ow] = x[mm];
                    ix[oh * d->wo + ow] = (int32_t)mm;
                    continue;
                }
                float best = -INFINITY;
                long bi = -1;
                for (size_t kh = 0; kh < d->k; kh++) {
                    long ih = (long)(oh * d->stride + kh) - (long)d->pad;
                    if (ih < 0 || ih >= (long)d->h) continue;
                    for (size_t kw = 0; kw < d->k; kw++) {
                        long iw = (long)(ow * d->stride + kw) - (long)d->pad;
                        if (iw < 0 || iw >= (long)d->w) continue;
                        float v = x[ih * (long)d->w + iw];
                        if (bi < 0 || v > best || isnan(v)) {
                            best = v;
                            bi = ih * (long)d->w + iw;
                        }
                    }
                }
                y[oh * d->wo + ow] = best;
                ix[oh * d->wo + ow] = (int32_t)(bi < 0 ? 0 : bi);
            }
    }
}

void sl__maxpool_forward_ref(float *out, int32_t *idx, const float *in, const sl__conv_dims *d) {
    for (size_t c = 0; c < d->ci; c++)
        for (size_t s = 0; s < d->n; s++)
            for (size_t oh = 0; oh < d->ho; oh++)
                for (size_t ow = 0; ow < d->wo; ow++) {
                    float best = -INFINITY;
                    long bi = 0;
                    bool any = false;
                    for (size_t kh = 0; kh < d->k; kh++)
                        for (size_t kw = 0; kw < d->k; kw++) {
                            long ih = (long)(oh * d->stride + kh) - (long)d->pad;
                            long iw = (long)(ow * d->stride + kw) - (long)d->pad;
                            if (ih < 0 || iw < 0 || ih >= (long)d->h || iw >= (long)d->w) continue;
                            float v = in[CNHW(c, s, (size_t)ih, (size_t)iw, d->n, d->h, d->w)];
                            if (!any || v > best) {
                                best = v;
                                bi = ih * (long)d->w + iw;
                                any = true;
                            }
                        }
                    size_t o = CNHW(c, s, oh, ow, d->n, d->ho, d->wo);
                    out[o] = best;
                    idx[o] = (int32_t)bi;
                }
}

void sl__maxpool_backward(float *din, const float *dout, const int32_t *idx, const sl__conv_dims *d) {
    const size_t planes = d->ci * d->n, hw = d->h * d->w, howo = d->ho * d->wo;
#pragma omp parallel for schedule(static)
    for (size_t p = 0; p < planes; p++) {
        float *g = din + p * hw;
        memset(g, 0, hw * sizeof(float));
        const float *go = dout + p * howo;
        const int32_t *ix = idx + p * howo;
        for (size_t o = 0; o < howo; o++) g[ix[o]] += go[o];
    }
}

void sl__avgpool_forward(float *out, const float *in, const sl__conv_dims *d) {
    const size_t planes = d->ci * d->n, hw = d->h * d->w, howo = d->ho * d->wo;
    const float inv = 1.0f / (float)(d->k * d->k);
#pragma omp parallel for schedule(static)
    for (size_t p = 0; p < planes; p++) {
        const float *x = in + p * hw;
        for (size_t oh = 0; oh < d->ho; oh++)
            for (size_t ow = 0; ow < d->wo; ow++) {
                float acc = 0.0f;
                for (size_t kh = 0; kh < d->k; kh++) {
                    long ih = (long)(oh * d->stride + kh) - (long)d->pad;
                    if (ih < 0 || ih >= (long)d->h) continue;
                    for (size_t kw = 0; kw < d->k; kw++) {
                        long iw = (long)(ow * d->stride + kw) - (long)d->pad;
                        if (iw >= 0 && iw < (long)d->w) acc += x[ih * (long)d->w + iw];
                    }
                }
                out[p * howo + oh * d->wo + ow] = acc * inv;
            }
    }
}

void sl__avgpool_backward(float *din, const float *dout, const sl__conv_dims *d) {
    const size_t planes = d->ci * d->n, hw = d->h * d->w, howo = d->ho * d->wo;
    const float inv = 1.0f / (float)(d->k * d->k);
#pragma omp parallel for schedule(static)
    for (size_t p = 0; p < planes; p++) {
        float *g = din + p * hw;
        memset(g, 0, hw * sizeof(float));
        for (size_t oh = 0; oh < d->ho; oh++)
            for (size_t ow = 0; ow < d->wo; ow++) {
                float v = dout[p * howo + oh * d->wo + ow] * inv;
                for (size_t kh = 0; kh < d->k; kh++) {
                    long ih = (long)(oh * d->stride + kh) - (long)d->pad;
                    if (ih < 0 || ih >= (long)d->h) continue;
                    for (size_t kw = 0; kw < d->k; kw++) {
                        long iw = (long)(ow * d->stride + kw) - (long)d->pad;
                        if (iw >= 0 && iw < (long)d->w) g[ih * (long)d->w + iw] += v;
                    }
                }
            }
    }
}

/* The single BLAS entry point (row-major sgemm) and its naive twin, plus
 * small row kernels shared by several modules. */
#include "internal.h"
#include "testing.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <omp.h>
#include <pthread.h>

/* ---- tiles ---------------------------------------------------------------
 * A threaded OpenBLAS sgemm splits C between its threads, and an element's
 * value can depend on which part of the split it falls in (seen with the
 * SkylakeX, Cooperlake, Haswell and Zen kernels of OpenBLAS 0.3.21), so the
 * bits would change with the thread count. sl_gemm therefore runs OpenBLAS
 * single-threaded and does the splitting itself: C is cut into tiles whose
 * shapes depend only on (M, N, K), each tile is one single-threaded sgemm
 * over the full K, and the tiles are shared among the OpenMP threads. Every
 * element is then computed by the same call whatever the thread count.
 *
 * Tile shapes: a tile should hold at least 2^22 multiply-adds (50-90 us on
 * one core here), so a product is split into the largest power of two of
 * tiles, at most TILE_MAX, that leaves each that much work (with 2^25, the
 * products of 8-32 million multiply-adds of a small layer or of the probe
 * stayed on one thread and ran at 0.55-0.75 times a threaded OpenBLAS's
 * speed; with 2^22 they ran at 0.8-1.9 times).
 * The longer side of the tile is halved each time, and never below
 * TILE_MIN: every tile re-packs its panels of A and B, and on the products
 * simlearn makes (measured with OpenBLAS's AVX-512 kernels) 256 x 256 tiles
 * ran 15-20% slower on one core than the whole product, 512 x 512 tiles
 * 5-13% (with the AVX2 kernels, tiles of 256 and more stayed within about
 * 5%). A product that would stay one tile by that rule (M and N under
 * 2 TILE_MIN) but has a long K (LONG_K and more: the weight gradients of
 * layers on token rows or large batches, K the rows) spends a small share of
 * its work packing, and its sides go down to TILE_MIN_LONG_K:
 * a 384 x 96 x 12800 product ran at 102 GFLOP/s on two threads as one
 * tile, at 207 as two of 192 x 96. Sides are rounded up to a multiple of 16,
 * the widest register block of OpenBLAS's x86-64 sgemm kernels. */
#define TILE_WORK ((double)((size_t)1 << 22))
#define TILE_MIN ((size_t)256)
#define TILE_MIN_LONG_K ((size_t)128)
#define LONG_K ((size_t)4096)
#define TILE_MAX ((size_t)32)
#define TILE_ALIGN ((size_t)16)

static size_t tile_side(size_t len, size_t parts) {
    size_t s = (len + parts - 1) / parts;
    s = (s + TILE_ALIGN - 1) / TILE_ALIGN * TILE_ALIGN;
    return s < len ? s : len;
}

void sl__gemm_tiles(size_t M, size_t N, size_t K, size_t *mt, size_t *nt) {
    double work = (double)M * (double)N * (double)K;
    size_t want = 1;
    while (want < TILE_MAX && 2.0 * (double)want * TILE_WORK <= work) want *= 2;
    size_t rows = 1, cols = 1, a = M, b = N;
    const size_t tmin = K >= LONG_K && M < 2 * TILE_MIN && N < 2 * TILE_MIN ? TILE_MIN_LONG_K : TILE_MIN;
    while (rows * cols < want && SL__MAX(a, b) >= 2 * tmin) {
        if (b >= a)
            cols *= 2;
        else
            rows *= 2;
        a = tile_side(M, rows), b = tile_side(N, cols);
    }
    *mt = a, *nt = b;
}

/* ---- OpenBLAS's threads -----------------------------------------------
 * This file is the only code that touches them, and only while a product
 * runs. The pthread build of OpenBLAS threads a call according to one
 * process-wide count: it is set to 1 while any sl_gemm call is in progress
 * and put back when the last one ends, so other users of OpenBLAS in the
 * same process keep their setting between simlearn's products. The OpenMP
 * build runs single-threaded inside a parallel region and otherwise takes
 * omp_get_max_threads() threads (its own count is ignored there), so each
 * call outside a region lowers the calling thread's OpenMP count to 1 for
 * its duration; nothing process-wide changes. */
static pthread_mutex_t blas_lock = PTHREAD_MUTEX_INITIALIZER;
static int blas_users, blas_saved;

/* openblas_get_parallel: 0 sequential, 1 pthreads, 2 OpenMP. */
static bool blas_pthread_build(void) { return openblas_get_parallel() == 1; }

static void blas_enter(void) {
    if (!blas_pthread_build()) return;
    pthread_mutex_lock(&blas_lock);
    if (blas_users++ == 0) {
        blas_saved = openblas_get_num_threads();
        if (blas_saved != 1) openblas_set_num_threads(1);
    }
    pthread_mutex_unlock(&blas_lock);
}

static void blas_leave(void) {
    if (!blas_pthread_build()) return;
    pthread_mutex_lock(&blas_lock);
    if (--blas_users == 0 && blas_saved != 1) openblas_set_num_threads(blas_saved);
    pthread_mutex_unlock(&blas_lock);
}

/* One single-threaded sgemm (see above for the OpenMP build). */
static void sgemm1(CBLAS_TRANSPOSE opa, CBLAS_TRANSPOSE opb, size_t m, size_t n, size_t K, float alpha,
                   const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    int saved = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (saved > 1) omp_set_num_threads(1);
    cblas_sgemm(CblasRowMajor, opa, opb, (blasint)m, (blasint)n, (blasint)K, alpha, a, (blasint)lda, b,
                (blasint)ldb, beta, c, (blasint)ldc);
    if (saved > 1) omp_set_num_threads(saved);
}

/* ---- the limits of one BLAS call ----------------------------------------
 * cblas_sgemm takes its sizes and strides as blasint, 32 bits in the OpenBLAS
 * builds Debian ships, and a cast of a larger size_t would pass a wrong
 * (negative or wrapped) size. A tile is one call while each of its sizes and
 * strides fits under the limit (blas_limit(), or a smaller one the tests
 * choose); otherwise it is done in pieces that each fit:
 *  - rows of C in blocks of the limit, or one at a time when a stride that
 *    steps from row to row (lda of an untransposed A, ldc) is over it;
 *  - columns in blocks, or one at a time when ldb of a transposed B is over;
 *  - K in blocks, or one at a time when a stride that steps along K (lda of a
 *    transposed A, ldb of an untransposed B) is over, added into C in order
 *    (beta on the first block, 1 on the others).
 * A piece one row, column or K step long never uses the stride that steps
 * over that dimension, so it passes the least stride BLAS accepts instead.
 * The pieces depend only on the shapes and strides, so the result is still
 * the same for every thread count; cutting K rounds differently from one call
 * over the whole of K, a call no 32-bit BLAS can make. Products within the
 * limit, all that fit in memory but for strides or sizes over 2^31 - 1, are
 * the single call they always were. */
static size_t blas_limit(void) {
    return sizeof(blasint) >= sizeof(size_t) ? SIZE_MAX : ((size_t)1 << (8 * sizeof(blasint) - 1)) - 1;
}

typedef struct {
    bool ta, tb;
    float alpha, beta;
    const float *A, *B;
    float *C;
    size_t K, lda, ldb, ldc;
} gemm_args;

/* The stride to pass for a piece: ld when it fits, else (the piece is one
 * step long in the dimension ld steps over) the length of one of its rows. */
static size_t fit_ld(size_t ld, size_t row, size_t lim) { return ld <= lim ? ld : SL__MAX(row, 1); }

/* C[i0 .. i0+m, j0 .. j0+n) over the whole of K, in pieces under lim. */
static void tile_product(const gemm_args *g, size_t i0, size_t j0, size_t m, size_t n, size_t lim) {
    const CBLAS_TRANSPOSE opa = g->ta ? CblasTrans : CblasNoTrans, opb = g->tb ? CblasTrans : CblasNoTrans;
    const size_t K = g->K, lda = g->lda, ldb = g->ldb, ldc = g->ldc;
    const size_t ms = (!g->ta && lda > lim) || ldc > lim ? 1 : lim, ns = g->tb && ldb > lim ? 1 : lim;
    const size_t ks = (g->ta && lda > lim) || (!g->tb && ldb > lim) ? 1 : lim;
    for (size_t i = 0; i < m; i += ms)
        for (size_t j = 0; j < n; j += ns)
            for (size_t k = 0; k < K; k += ks) {
                size_t mi = SL__MIN(ms, m - i), nj = SL__MIN(ns, n - j), kk = SL__MIN(ks, K - k);
                size_t r = i0 + i, c = j0 + j;
                const float *a = g->ta ? g->A + k * lda + r : g->A + r * lda + k;
                const float *b = g->tb ? g->B + c * ldb + k : g->B + k * ldb + c;
                sgemm1(opa, opb, mi, nj, kk, g->alpha, a, fit_ld(lda, g->ta ? mi : kk, lim), b,
                       fit_ld(ldb, g->tb ? kk : nj, lim), k ? 1.0f : g->beta, g->C + r * ldc + c, fit_ld(ldc, nj, lim));
            }
}

/* Tile t of an M x N product cut into tiles of mt x nt, cols to a row. */
static void run_tile(const gemm_args *g, size_t t, size_t cols, size_t mt, size_t nt, size_t M, size_t N, size_t lim) {
    const size_t i0 = t / cols * mt, j0 = t % cols * nt;
    tile_product(g, i0, j0, SL__MIN(mt, M - i0), SL__MIN(nt, N - j0), lim);
}

/* C = beta * C for an empty product (BLAS rejects lda = 0). */
static void scale_c(size_t M, size_t N, float beta, float *C, size_t ldc) {
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
}

void sl__gemm_limited(size_t lim, bool ta, bool tb, size_t M, size_t N, size_t K, float alpha, const float *A,
                      size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    size_t mt, nt;
    sl__gemm_tiles(M, N, K, &mt, &nt);
    const size_t rows = (M + mt - 1) / mt, cols = (N + nt - 1) / nt, tiles = rows * cols;
    const gemm_args g = {ta, tb, alpha, beta, A, B, C, K, lda, ldb, ldc};
    blas_enter();
    /* Inside a parallel region (a caller's worker) the tiles run in order on
     * the calling thread; they are the same tiles. A single tile, or a
     * caller's worker, skips the OpenMP construct: even an inactive one
     * costs about half a microsecond, a quarter of a 50 x 50 x 24 product. */
    if (tiles == 1 || omp_in_parallel()) {
        for (size_t t = 0; t < tiles; t++) run_tile(&g, t, cols, mt, nt, M, N, lim);
    } else {
#pragma omp parallel for schedule(dynamic, 1)
        for (size_t t = 0; t < tiles; t++) run_tile(&g, t, cols, mt, nt, M, N, lim);
    }
    blas_leave();
}

void sl_gemm(bool ta, bool tb, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
             const float *B, size_t ldb, float beta, float *C, size_t ldc) {
    sl__gemm_limited(blas_limit(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sl__gemm_one(bool ta, bool tb, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
                  const float *B, size_t ldb, float beta, float *C, size_t ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    const gemm_args g = {ta, tb, alpha, beta, A, B, C, K, lda, ldb, ldc};
    blas_enter();
    tile_product(&g, 0, 0, M, N, blas_limit());
    blas_leave();
}

void sl__gemm_ref(bool ta, bool tb, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
                 const float *B, size_t ldb, float beta, float *C, size_t ldc) {
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double acc = 0;
            for (size_t k = 0; k < K; k++) {
                float a = ta ? A[k * lda + i] : A[i * lda + k];
                float b = tb ? B[j * ldb + k] : B[k * ldb + j];
                acc += (double)a * (double)b;
            }
            /* beta == 0 overwrites, as BLAS does, so NaN garbage in C is ignored. */
            double c = beta == 0.0f ? 0.0 : (double)beta * C[i * ldc + j];
            C[i * ldc + j] = (float)(alpha * acc + c);
        }
}

void sl_rows_gather(void *dst, const void *src, size_t row_bytes, const size_t *idx, size_t m) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < m; i++) memmove(d + i * row_bytes, s + idx[i] * row_bytes, row_bytes);
}

void sl_rows_sqnorms(const float *a, size_t n, size_t d, float *out) {
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        const float *r = a + i * d;
        for (size_t j = 0; j < d; j++) s += (double)r[j] * r[j];
        out[i] = (float)s;
    }
}

void sl_rows_normalize(float *a, size_t n, size_t d) {
    for (size_t i = 0; i < n; i++) {
        float *r = a + i * d;
        double s = 0;
        for (size_t j = 0; j < d; j++) s += (double)r[j] * r[j];
        if (s > 0) {
            float inv = (float)(1.0 / sqrt(s));
            for (size_t j = 0; j < d; j++) r[j] *= inv;
        }
    }
}

/* The single BLAS entry point (row-major sgemm) and its naive twin, plus
 * small row kernels shared by several modules. */
#include "internal.h"
#include "testing.h"

#include <cblas.h>
#include <math.h>
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
 * 5%). Sides are rounded up to a multiple of 16, the widest register block
 * of OpenBLAS's x86-64 sgemm kernels. */
#define TILE_WORK ((double)((size_t)1 << 22))
#define TILE_MIN ((size_t)256)
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
    while (rows * cols < want && SL__MAX(a, b) >= 2 * TILE_MIN) {
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

void sl_gemm(bool ta, bool tb, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
             const float *B, size_t ldb, float beta, float *C, size_t ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        /* BLAS rejects lda = 0; the product is empty, so C = beta * C. */
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        return;
    }
    size_t mt, nt;
    sl__gemm_tiles(M, N, K, &mt, &nt);
    const size_t rows = (M + mt - 1) / mt, cols = (N + nt - 1) / nt, tiles = rows * cols;
    const CBLAS_TRANSPOSE opa = ta ? CblasTrans : CblasNoTrans, opb = tb ? CblasTrans : CblasNoTrans;
    blas_enter();
    /* Inside a parallel region (a caller's worker) the tiles run in order on
     * the calling thread; they are the same tiles. */
#pragma omp parallel for schedule(dynamic, 1) if (tiles > 1 && !omp_in_parallel())
    for (size_t t = 0; t < tiles; t++) {
        size_t i0 = t / cols * mt, j0 = t % cols * nt;
        size_t m = SL__MIN(mt, M - i0), n = SL__MIN(nt, N - j0);
        const float *a = ta ? A + i0 : A + i0 * lda;
        const float *b = tb ? B + j0 * ldb : B + j0;
        sgemm1(opa, opb, m, n, K, alpha, a, lda, b, ldb, beta, C + i0 * ldc + j0, ldc);
    }
    blas_leave();
}

void sl__gemm_one(bool ta, bool tb, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
                  const float *B, size_t ldb, float beta, float *C, size_t ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        sl_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    blas_enter();
    sgemm1(ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C,
           ldc);
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

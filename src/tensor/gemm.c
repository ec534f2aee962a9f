/* The single BLAS entry point (row-major sgemm) and its naive twin, plus
 * small row kernels shared by several modules. */
#include "internal.h"

#include <cblas.h>
#include <math.h>

void sl_gemm(bool ta, bool tb, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
             const float *B, size_t ldb, float beta, float *C, size_t ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        /* BLAS rejects lda = 0; the product is empty, so C = beta * C. */
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)M,
                (blasint)N, (blasint)K, alpha, A, (blasint)lda, B, (blasint)ldb, beta, C, (blasint)ldc);
}

void sl_gemm_ref(bool ta, bool tb, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
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

void sl_row_sqnorms(const float *a, size_t n, size_t d, float *out) {
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

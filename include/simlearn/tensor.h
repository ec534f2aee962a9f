/* simlearn tensor: the one matrix-product entry point (OpenBLAS sgemm) and a
 * few dense float kernels used across modules. */
#ifndef SIMLEARN_TENSOR_H
#define SIMLEARN_TENSOR_H

#include "simlearn/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* C = alpha * op(A) * op(B) + beta * C, row-major, op(X) = X or X^T.
 * op(A) is M x K, op(B) is K x N, C is M x N; lda/ldb/ldc are row strides.
 * Thread count is whatever sl_set_threads last set. */
void sl_gemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
             const float *B, size_t ldb, float beta, float *C, size_t ldc);
/* The naive triple loop (double accumulation) that tests compare sl_gemm to. */
void sl_gemm_ref(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha, const float *A,
                 size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc);

/* Squared L2 norm of each of n rows of a (n x d) into out (n). */
void sl_row_sqnorms(const float *a, size_t n, size_t d, float *out);
/* Scale each row to unit L2 norm (rows of norm 0 are left as they are). */
void sl_rows_normalize(float *a, size_t n, size_t d);

#ifdef __cplusplus
}
#endif
#endif

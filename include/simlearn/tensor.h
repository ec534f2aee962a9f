/* simlearn tensor: the one matrix-product entry point (OpenBLAS sgemm), a
 * few dense float kernels used across modules, and the dense symmetric linear
 * algebra (covariance, eigen-decomposition) they share.
 * Threads: nothing here keeps state; every function may run in several
 * threads at once on distinct outputs (sl_covariance not inside an OpenMP
 * parallel region).
 * Process-wide effect: with the pthread build of OpenBLAS, sl_gemm sets
 * OpenBLAS's process-wide thread count to 1 while it runs (below). */
#ifndef SIMLEARN_TENSOR_H
#define SIMLEARN_TENSOR_H

#include "simlearn/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* C = alpha * op(A) * op(B) + beta * C, row-major, op(X) = X or X^T.
 * op(A) is M x K, op(B) is K x N, C is M x N; lda/ldb/ldc are row strides.
 * C is cut into tiles whose shapes depend only on (M, N, K); each tile is one
 * single-threaded OpenBLAS sgemm over the whole of K, and the tiles are shared
 * among the sl_threads_set threads (called inside a parallel region, they run
 * in order on the calling thread). Every element is computed by the same call
 * whatever the thread count, so the result is bit-identical for any thread
 * count. (Different OpenBLAS kernels, OPENBLAS_CORETYPE, round differently.)
 * OpenBLAS's own thread setting: with the pthread build, OpenBLAS has one
 * process-wide thread count; sl_gemm sets it to 1 when the first of any
 * concurrent sl_gemm calls starts and puts the previous value back when the
 * last one ends, so between products the program's setting holds, but while
 * a product runs every OpenBLAS call in the process, simlearn's or not, is
 * single-threaded (a program must not change the count during one). With the
 * OpenMP build nothing process-wide changes: each BLAS call outside a
 * parallel region lowers the calling thread's OpenMP count to 1 for its
 * duration only.
 * A size or stride over what one BLAS call takes (2^31 - 1 with OpenBLAS's
 * 32-bit integers) is handled by cutting a tile into several calls, each within
 * the limit; a product cut along K (K over the limit, or a stride along K over
 * it) adds its parts in a fixed order, so it rounds differently from a single
 * call but stays the same for every thread count. */
void sl_gemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
             const float *B, size_t ldb, float beta, float *C, size_t ldc);

/* Copy rows idx[0..m) of src (rows of row_bytes bytes each) to rows 0..m-1
 * of dst. dst may be src itself when idx is increasing (idx[i] >= i, as a
 * sorted sl_rng_sample is), which gathers the rows in place. */
void sl_rows_gather(void *dst, const void *src, size_t row_bytes, const size_t *idx, size_t m);
/* Squared L2 norm of each of n rows of a (n x d) into out (n). */
void sl_rows_sqnorms(const float *a, size_t n, size_t d, float *out);
/* Scale each row to unit L2 norm (rows of norm 0 are left as they are). */
void sl_rows_normalize(float *a, size_t n, size_t d);

/* ---- covariance and symmetric eigen-decomposition ------------------------ */

/* Mean (d, may be NULL) and covariance (d x d, row-major, divided by n - ddof:
 * 0 for the maximum-likelihood estimate, 1 for the unbiased one) of the n rows
 * of x, accumulated in double over float sl_gemm products of centred row
 * blocks, and symmetrised exactly. Not for use inside a parallel region.
 * Errors: SL_ERR_ARG (n or d is 0, n <= ddof), SL_ERR_RANGE, SL_ERR_NOMEM,
 * SL_ERR_NUMERIC (a non-finite entry, named by row and column). */
sl_status sl_covariance(const float *x, size_t n, size_t d, size_t ddof, double *mean, double *cov);

/* a: n x n symmetric, row-major, double; only read. On success w (n) holds the
 * eigenvalues in descending order and v (n x n, row-major) the matching unit
 * eigenvectors as ROWS (v[i*n + j] is coordinate j of vector i). Each vector's
 * largest-magnitude coordinate is made positive (the first one on ties), so the
 * result does not depend on the solver's arbitrary signs.
 * sl_eigh uses Householder tridiagonalisation and the implicit QL method; v may
 * be NULL when only the eigenvalues are wanted (the vectors are then not
 * accumulated). The tests compare it with a cyclic Jacobi twin.
 * Errors: SL_ERR_ARG (n is 0), SL_ERR_RANGE, SL_ERR_NOMEM, SL_ERR_NUMERIC
 * (non-finite input or no convergence). */
sl_status sl_eigh(const double *a, size_t n, double *w, double *v);

#ifdef __cplusplus
}
#endif
#endif

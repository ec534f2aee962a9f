/* Naive twins of public functions, for the tests only: each is the plain,
 * slow version that a test compares the fast one with. The library defines
 * them (the tests link the static library, and tests/test.h includes this
 * header), but they are not part of the API: no public header declares them
 * and `make install` does not install this file. Twins of private kernels
 * sit beside those kernels in their module's private header. */
#ifndef SIMLEARN_TESTING_H
#define SIMLEARN_TESTING_H

#include "simlearn.h"

/* sl_gemm as the naive triple loop with double accumulation (same arguments). */
void sl__gemm_ref(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha, const float *A,
                  size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc);

/* sl_eigh by the cyclic Jacobi method (same arguments and sign convention;
 * v is required). */
sl_status sl__eigh_ref(const double *a, size_t n, double *w, double *v);

/* The bf16 product's naive twin: float sums in index order of exact
 * products. sl__bf16_use_ref(true) makes sl__gemm_bf16_nt run it and report
 * bf16 products available (also in builds that never open oneDNN), so that
 * the bf16 screen is tested everywhere; false returns to oneDNN. */
void sl__gemm_bf16_nt_ref(size_t M, size_t N, size_t K, const uint16_t *A, size_t lda, const uint16_t *B, size_t ldb,
                          float *C, size_t ldc);
void sl__bf16_use_ref(bool on);

/* sl_flat_search by scoring every pair with the exact key (sl__exact_key:
 * L2 as sl__l2sq, inner products in double) and a full sort per query by
 * (key, id). Same arguments and results, to the bit (single-threaded, slow). */
sl_status sl__flat_search_ref(const float *base, size_t n, size_t d, const float *queries, size_t nq, size_t dq,
                              const sl_flat_config *cfg, int64_t *ids, float *scores);

/* sl_ivfpq_search by decoding: every code of the probed lists (ranked by
 * sl__flat_search_ref) decoded to centroid + codewords and scored against
 * the query in double, a full sort, then the same re-ranking and output.
 * Same arguments and results up to float rounding of the approximate scores
 * (single-threaded, slow). */
sl_status sl__ivfpq_search_ref(const sl_ivfpq *q, const float *queries, size_t nq, const sl_ivfpq_search_config *c,
                               int64_t *ids, float *scores);

/* sl_logreg_loss in plain double-precision loops. */
sl_status sl__logreg_loss_ref(const sl_logreg_problem *p, const double *theta, double *grad, double *f);

/* sl_tsne_run by the exact O(n^2) method (dense P over all points, exact
 * gradient) with the same schedule, for small n (at most 20,000 points). */
sl_status sl__tsne_run_ref(const sl_tsne_config *c, const float *x, size_t n, size_t d, float *y);
/* KL(P || Q) of a finished map y (n x 2) for input x, exactly (O(n^2)), to
 * compare maps of small data sets. */
sl_status sl__tsne_kl_ref(const sl_tsne_config *c, const float *x, size_t n, size_t d, const float *y,
                          double *kl);

/* sl_svm_fit one-vs-rest in plain scalar loops: the same coordinate descent
 * without shrinking, one problem after another (same arguments; the results
 * agree up to the tolerance, the optimum being unique). Crammer-Singer has no
 * twin: the tests check its optimality by the duality gap. */
sl_status sl__svm_fit_ref(const sl_svm_config *c, const float *x, const int32_t *y, size_t n, size_t d, size_t k,
                          double *theta);
/* The solvers behind sl_svm_fit, with their dual variables, for the
 * duality-gap tests (qd: the rows' squared norms with the bias feature).
 * One-vs-rest: the problems of classes cls (nc), wk's rows cls[j] (d + 1
 * each) and alpha (nc x n) out, with each problem's passes and convergence.
 * Crammer-Singer: wk (k x (d + 1)) and alpha (n x k) out; idx: n of
 * workspace. */
sl_status sl__svm_ovr(const sl_svm_config *c, const float *x, const int32_t *y, const double *qd, size_t n, size_t d,
                      const size_t *cls, size_t nc, double *wk, double *alpha, size_t *iters, bool *converged);
sl_status sl__svm_cs(const sl_svm_config *c, const float *x, const int32_t *y, const double *qd, size_t n, size_t d,
                     size_t k, double *wk, double *alpha, size_t *idx, size_t *iters, bool *converged);

#endif

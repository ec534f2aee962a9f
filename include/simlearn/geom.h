/* simlearn geom: numbers that describe the geometry of a set of embeddings —
 * covariance spectrum and effective rank, all-but-the-top post-processing,
 * anisotropy, alignment and uniformity, per-class diameter and margin, norm
 * statistics. Inputs are row-major n x d float32 matrices (one row per item). */
#ifndef SIMLEARN_GEOM_H
#define SIMLEARN_GEOM_H

#include "simlearn/base.h"
#include "simlearn/io.h"
#include "simlearn/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- covariance and eigen-decomposition --------------------------------- */

/* Mean (d, may be NULL) and covariance (d x d, row-major, divided by n) of the
 * n rows of x, accumulated in double. Errors: SL_ERR_ARG (n or d is 0),
 * SL_ERR_NOMEM. Uses sl_gemm on blocks of rows; not for use inside a parallel
 * region. */
sl_status sl_geom_covariance(const float *x, size_t n, size_t d, double *mean, double *cov);

/* Eigen-decomposition of the symmetric n x n matrix a (row-major; only its
 * values are read, both triangles must agree). On success w holds the
 * eigenvalues in descending order and, when vectors is true, row i of a is the
 * unit eigenvector of w[i]; otherwise a is clobbered. Householder
 * tridiagonalisation followed by implicit-shift QL iterations, in double.
 * Errors: SL_ERR_NOMEM, SL_ERR_NUMERIC (non-finite input or no convergence). */
sl_status sl_geom_sym_eig(double *a, size_t n, double *w, bool vectors);

/* ---- all-but-the-top (Mu & Viswanath, 2018) ------------------------------
 * Subtract the mean and remove the projections on the top D principal
 * directions. A fitted model can be applied to other matrices of the same
 * width (fit on a vocabulary, apply to new words). */
typedef struct sl_geom_abtt_model {
    size_t d;         /* width */
    size_t D;         /* number of directions removed */
    float *mean;      /* d */
    float *dirs;      /* D x d, unit rows, largest variance first */
    double *var;      /* D, variance along each removed direction */
    double total_var; /* trace of the covariance */
} sl_geom_abtt_model;

/* The default number of directions for width d: max(1, d / 100). */
size_t sl_geom_abtt_default_D(size_t d);
/* Fit on the n x d matrix x. D == 0 means the default; D must be < d.
 * Errors: SL_ERR_ARG (n < 2, d < 2, D >= d), SL_ERR_NOMEM, SL_ERR_NUMERIC. */
sl_status sl_geom_abtt_fit(const float *x, size_t n, size_t d, size_t D, sl_geom_abtt_model **out);
/* x (n x d) <- (x - mean) with the components along the model's directions
 * removed. Errors: SL_ERR_ARG (d differs from the model's), SL_ERR_NOMEM. */
sl_status sl_geom_abtt_apply(const sl_geom_abtt_model *m, float *x, size_t n, size_t d);
void sl_geom_abtt_destroy(sl_geom_abtt_model *m); /* NULL-safe */
/* Fit and apply in place in one call (D == 0: the default). */
sl_status sl_geom_abtt(float *x, size_t n, size_t d, size_t D);

#ifdef __cplusplus
}
#endif
#endif

/* Private pieces of the viz module that the tests reach directly: exact
 * nearest neighbours, the perplexity calibration, the sparse joint
 * probabilities and the two t-SNE gradients. Not installed. */
#ifndef SIMLEARN_VIZ_INTERNAL_H
#define SIMLEARN_VIZ_INTERNAL_H

#include "internal.h"

/* Exact k nearest neighbours of every row of x (n x d) among the other rows,
 * by squared L2 distance, nearest first (ties by index). idx and dist2 are
 * n x k. Distances come from blocked sl_gemm products (|a|^2 + |b|^2 - 2 a.b,
 * clamped at 0). Needs k < n. */
sl_status sl__knn_exact(const float *x, size_t n, size_t d, int k, uint32_t *idx, float *dist2);
/* The same, polling *stop (may be NULL) before each block of rows: once it
 * is non-zero, SL_ERR_INTERRUPTED. */
sl_status sl__knn_exact_stop(const float *x, size_t n, size_t d, int k, uint32_t *idx, float *dist2,
                             const volatile sig_atomic_t *stop);

/* The top two principal axes of x (n x d) by subspace iteration in double
 * with plain loops, from a random start drawn from (seed, stream): at most
 * max_it iterations, fewer when no coordinate of the axes moves by tol or
 * more (tol 0: all of them). Writes the column means (d), the two orthonormal
 * axes (2 x d) and lam, the squared norms of the centred data's projections
 * on the axes of the last iteration. The same start whatever the thread
 * count, which t-SNE needs (a threaded BLAS may sum in another order). */
sl_status sl__pca2_axes(const float *x, size_t n, size_t d, uint64_t seed, uint64_t stream, int max_it, double tol,
                        double *mean, double *axes, double lam[2]);

/* For each of n rows of k squared distances (nearest first), find the
 * Gaussian precision beta so that the entropy of p_j ~ exp(-beta d_j) is
 * log(perplexity); write the row-normalised p (n x k) and, if entropy is not
 * NULL, the entropy reached (natural log) per row. */
void sl__tsne_calibrate(const float *dist2, size_t n, int k, double perplexity, double *p, double *entropy);

/* Symmetric sparse joint probabilities in CSR form (sum of all values 1). */
typedef struct sl__csr {
    size_t n;
    size_t *row; /* n + 1 */
    uint32_t *col;
    double *val;
} sl__csr;
/* P = (C + C^T) / (2n) from the conditional rows C (n x k over idx). */
sl_status sl__tsne_joint(const uint32_t *idx, const double *cond, size_t n, int k, sl__csr *out);
void sl__csr_free(sl__csr *m);

/* Gradient of KL(exag * P || Q) for the map y (n x 2, double) into grad
 * (n x 2): Barnes-Hut with the quadtree and opening angle theta, and the exact
 * O(n^2) sum over a dense P (n x n). */
sl_status sl__tsne_grad_bh(const double *y, size_t n, const sl__csr *P, double exag, double theta, double *grad);
void sl__tsne_grad_exact(const double *y, size_t n, const double *P, double exag, double *grad);

/* A growable text buffer (src/viz/textbuf.c). Zero-initialise; appends set
 * `failed` on the first allocation failure and do nothing after it. */
typedef struct sl__tbuf {
    char *s;
    size_t len, cap;
    bool failed;
} sl__tbuf;
void sl__tb_grow(sl__tbuf *b, size_t more);
void sl__tb_put(sl__tbuf *b, const char *s, size_t n);
void sl__tb_str(sl__tbuf *b, const char *s);
void sl__tb_printf(sl__tbuf *b, const char *fmt, ...) SL__PRINTF(2, 3);
void sl__tb_text(sl__tbuf *b, const char *s); /* XML/HTML-escaped */
void sl__tb_base64(sl__tbuf *b, const uint8_t *p, size_t n);

/* Base64 (RFC 4648, with padding) of n bytes into out, which must hold
 * 4 * ceil(n / 3) characters; returns the number written (no NUL). */
size_t sl__base64_encode(const uint8_t *p, size_t n, char *out);

#endif

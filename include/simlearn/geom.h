/* simlearn geom: numbers that describe the geometry of a set of embeddings —
 * covariance spectrum and effective rank, all-but-the-top post-processing,
 * anisotropy, alignment and uniformity, per-class diameter and margin, norm
 * statistics. Inputs are row-major n x d float32 matrices (one row per item).
 * Threads: nothing here keeps state; calls may run in several threads at once
 * on distinct outputs, and a fitted sl_geom_abtt_model is only read by
 * sl_geom_abtt_apply. */
#ifndef SIMLEARN_GEOM_H
#define SIMLEARN_GEOM_H

#include "simlearn/base.h"
#include "simlearn/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/* ---- spectrum and effective rank ----------------------------------------- */

/* Effective rank (Roy & Vetterli, 2007) of a spectrum: exp of the Shannon
 * entropy of p_i = max(eig_i, 0) / sum. 0 when the spectrum is all zero. */
double sl_geom_effective_rank(const double *eig, size_t d);
/* Eigenvalues of the covariance of x's rows (eig: d values, descending) and
 * the effective rank. Errors: as sl_covariance and sl_eigh (simlearn/tensor.h). */
sl_status sl_geom_spectrum(const float *x, size_t n, size_t d, double *eig, double *erank);

/* ---- norms --------------------------------------------------------------- */

typedef struct sl_geom_norms {
    double mean, std, min, median, max; /* of the rows' L2 norms */
    size_t zero;                        /* rows of norm 0 */
} sl_geom_norms;
/* Errors: SL_ERR_ARG (an empty matrix), SL_ERR_NOMEM. */
sl_status sl_geom_norm_stats(const float *x, size_t n, size_t d, sl_geom_norms *out);
/* The same for a float64 matrix (norms accumulated in double either way). */
sl_status sl_geom_norm_stats_f64(const double *x, size_t n, size_t d, sl_geom_norms *out);

/* ---- anisotropy ---------------------------------------------------------- */

typedef struct sl_geom_anisotropy {
    double mean_cos, std_cos; /* cosine over random pairs of distinct rows */
    size_t pairs;             /* pairs used */
    double mean_cos_to_mean;  /* mean cosine between a row and the mean vector */
} sl_geom_aniso;
/* npairs random pairs (i != j) drawn with the seed; rows of norm 0 are
 * skipped. Errors: SL_ERR_ARG (fewer than 2 rows of nonzero norm). */
sl_status sl_geom_anisotropy(const float *x, size_t n, size_t d, size_t npairs, uint64_t seed,
                             sl_geom_aniso *out);

/* ---- alignment and uniformity (Wang & Isola, 2020) -------------------------
 * Both are computed on L2-normalised rows: alignment = E ||f(x) - f(y)||^2
 * over positive pairs (lower is better), uniformity = log E exp(-t ||f(x) -
 * f(y)||^2) over all pairs (lower is more uniform; t = 2 in the paper). */

/* A batch of two views: row i of a and row i of b are a positive pair.
 * Uniformity is the mean of the two views' uniformities over all pairs
 * i < j in the view (exact, O(n^2 d) through sl_gemm). For the training log.
 * Errors: SL_ERR_ARG (n < 2), SL_ERR_NOMEM. */
sl_status sl_geom_align_uniform(const float *a, const float *b, size_t n, size_t d, double t, double *align,
                                double *uniform);
/* Alignment over explicit pairs of row indices (pairs: npairs x 2).
 * Errors: SL_ERR_ARG (no pairs), SL_ERR_RANGE (an index >= n). */
sl_status sl_geom_alignment_pairs(const float *x, size_t n, size_t d, const int64_t *pairs, size_t npairs,
                                  double *align);
/* Alignment over pairs of distinct rows with the same label: all of them
 * when there are at most max_pairs, else max_pairs drawn at random.
 * Errors: SL_ERR_ARG (no label occurs twice). */
sl_status sl_geom_alignment_labels(const float *x, size_t n, size_t d, const int64_t *labels, size_t max_pairs,
                                   uint64_t seed, double *align, size_t *pairs_used);
/* Uniformity of one set: exact over all pairs when n(n-1)/2 <= max_pairs,
 * else over max_pairs random pairs. Errors: SL_ERR_ARG (n < 2). */
sl_status sl_geom_uniformity(const float *x, size_t n, size_t d, double t, size_t max_pairs, uint64_t seed,
                             double *uniform, size_t *pairs_used);

/* ---- class diameter and margin -------------------------------------------- */

typedef struct sl_geom_class {
    int64_t label;
    size_t count;
    double diameter;       /* largest distance between two members (0 for one member) */
    double margin;         /* smallest distance from a member to a non-member */
    int64_t nearest_label; /* the label of that closest non-member */
    bool separated;        /* margin > diameter: a ball of radius diameter around any
                              member holds exactly the class */
} sl_geom_class;
/* Exact Euclidean diameters and margins over all pairs (blocked sl_gemm,
 * the extreme pairs recomputed in double). *classes (k entries, ascending
 * labels) is freed with sl_allocator_free. Errors: SL_ERR_ARG (fewer than 2 classes),
 * SL_ERR_NOMEM. */
sl_status sl_geom_class_geometry(const float *x, size_t n, size_t d, const int64_t *labels, sl_geom_class **classes,
                                 size_t *k);

#ifdef __cplusplus
}
#endif
#endif

/* simlearn loss: the training objectives. Each takes embeddings (float32,
 * row-major), returns the loss (double) and adds its gradient with respect to
 * the embeddings into caller-owned float32 buffers. Formulas: docs/objectives.md.
 * Threads: the objectives share no state: calls may run in several threads at
 * once when their gradient buffers and workspaces are distinct (a workspace
 * is used by one thread at a time). */
#ifndef SIMLEARN_LOSS_H
#define SIMLEARN_LOSS_H

#include "simlearn/base.h"
#include "simlearn/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- names ---------------------------------------------------------------
 * Objective names as the command line spells them: infonce supcon triplet
 * triplet-hard triplet-smooth clip autoencoder softmax mae barlow vicreg
 * simsiam byol moco memory-bank. */
typedef enum {
    SL_OBJ_INFONCE,        /* NT-Xent over 2N views, each view's twin is its positive */
    SL_OBJ_SUPCON,         /* supervised contrastive (Khosla et al. 2020, L_out) */
    SL_OBJ_TRIPLET,        /* hinge over all valid (anchor, positive, negative) triplets */
    SL_OBJ_TRIPLET_HARD,   /* hinge on the hardest positive and hardest negative per anchor */
    SL_OBJ_TRIPLET_SMOOTH, /* tau * log(1 + sum_n exp((D_p - D_n + m) / tau)) per (anchor, positive) */
    SL_OBJ_CLIP,           /* symmetric cross-entropy over the N x N image-text matrix */
    SL_OBJ_AUTOENCODER,    /* mean squared reconstruction error */
    SL_OBJ_SOFTMAX,        /* cross-entropy against a learned class-embedding matrix */
    SL_OBJ_MAE,            /* masked autoencoding: mean squared error over the masked patches */
    SL_OBJ_BARLOW,         /* Barlow Twins: cross-correlation of the two views pulled to the identity */
    SL_OBJ_VICREG,         /* VICReg: invariance, variance and covariance terms of the two views */
    SL_OBJ_SIMSIAM,        /* SimSiam: -cos(prediction, stop-gradient target) */
    SL_OBJ_BYOL,           /* BYOL: 2 - 2 cos(prediction, momentum-encoder target) */
    SL_OBJ_MOCO,           /* MoCo: each query against its momentum key and a queue of past keys */
    SL_OBJ_MEMORY_BANK,    /* instance discrimination against a memory bank of every item's embedding */
    SL_OBJ_COUNT
} sl_objective;

/* Similarity between two embeddings; the triplet objectives turn it into a
 * distance (dot: -s, cosine: 1 - s, l2: -s = squared Euclidean distance). */
typedef enum {
    SL_SIM_DOT,    /* "dot":    a . b */
    SL_SIM_COSINE, /* "cosine": a . b / (max(|a|, eps) max(|b|, eps)) */
    SL_SIM_L2,     /* "l2":     -|a - b|^2 (negative squared Euclidean distance) */
    SL_SIM_COUNT
} sl_similarity;

/* Name of an objective or similarity ("infonce", "cosine"); "?" when out of range. */
const char *sl_loss_objective_name(sl_objective obj);
const char *sl_loss_sim_name(sl_similarity sim);
/* Parse a name. SL_ERR_ARG (message lists the valid names) when unknown. */
sl_status sl_loss_objective_parse(const char *name, sl_objective *out);
sl_status sl_loss_sim_parse(const char *name, sl_similarity *out);

/* ---- configuration -------------------------------------------------------
 * The temperature: logits are scale * similarity with scale = 1/tau. With
 * learnable_tau the scale is exp(log_scale), log_scale clamped to
 * [log_scale_min, log_scale_max] (CLIP's parametrisation), and the result
 * carries d loss / d log_scale. log_scale is the caller's parameter (the
 * training loop owns and updates it); tau is then ignored. */
typedef struct sl_loss_config {
    sl_objective objective;
    sl_similarity sim;
    double tau;           /* fixed temperature, > 0 (ignored when learnable_tau) */
    bool learnable_tau;   /* use and differentiate log_scale */
    double log_scale;     /* current learnable log-scale, ln(1/tau) */
    double log_scale_min; /* clamp of log_scale; default 0 (tau <= 1) */
    double log_scale_max; /* default ln(100) (tau >= 0.01) */
    double margin;        /* triplet margin m (distance units) */
    double eps;           /* cosine: norms are clamped to at least eps; default 1e-8 */
    double barlow_lambda; /* barlow: weight of the off-diagonal terms; default 0.0051 */
    double vicreg_inv, vicreg_var, vicreg_cov; /* vicreg: weights of its three terms; default 25, 25, 1 */
    /* Compute the similarity products in double precision with plain loops
     * instead of float32 sl_gemm: exact to double rounding, several times
     * slower. Used by gradient checks; off by default. */
    bool exact;
} sl_loss_config;

/* Fill c with the documented defaults of an objective (docs/objectives.md,
 * "Defaults"). */
void sl_loss_config_default(sl_loss_config *c, sl_objective obj);
/* The scale (1/tau) the configuration gives, after clamping. */
double sl_loss_scale(const sl_loss_config *cfg);
/* Clamp a learnable log-scale into [log_scale_min, log_scale_max]; the
 * training loop calls this after each optimizer step, as CLIP does. */
double sl_loss_clamp_log_scale(const sl_loss_config *cfg, double log_scale);

/* ---- results -------------------------------------------------------------
 * The loss and the per-batch diagnostics the training log shows. Diagnostics
 * that an objective does not define are 0 (autoencoder: all of them). */
typedef struct sl_loss_result {
    double loss;       /* the objective's value (mean as documented per objective) */
    double dlog_scale; /* d loss / d log_scale; 0 unless learnable_tau and inside the clamp */
    double scale;      /* the scale 1/tau that was used (1 when the objective has none) */
    /* Top-1 accuracy: infonce: the twin is the most similar of the 2N-1
     * candidates; supcon and triplets: the most similar other view has the
     * anchor's label; clip: the matching caption/image is the most similar
     * (mean of both directions); softmax: classification accuracy. Ties count
     * as misses. */
    double accuracy;
    double pos_sim; /* mean raw similarity over positive pairs (softmax: to the true class) */
    double neg_sim; /* mean raw similarity over negative pairs */
    /* How many terms the loss averages: anchors (infonce, supcon, triplet-hard),
     * valid triplets (triplet), (anchor, positive) pairs (triplet-smooth), pairs
     * (clip), rows (softmax), elements (autoencoder). 0 means the loss and
     * gradient are 0 because the batch has nothing to learn from. */
    size_t n_terms;
    size_t n_active; /* triplet, triplet-hard: terms with positive hinge; others 0 */
} sl_loss_result;

/* ---- the objectives ------------------------------------------------------
 * Common rules:
 * - Inputs are borrowed float32 row-major matrices; every value must be
 *   finite (SL_ERR_NUMERIC names the row and column otherwise).
 * - Gradient buffers are ACCUMULATED (+=), like every backward in simlearn,
 *   so the caller zeroes them; a NULL gradient pointer skips that gradient
 *   (with all of them NULL only the value and diagnostics are computed).
 * - Sums run in double; softmaxes use log-sum-exp, so tiny tau stays finite.
 * - Scratch (a few n x n doubles) comes from a workspace (see below); SL_ERR_NOMEM
 *   when it cannot be allocated.
 * - Deterministic: the same inputs give the same bits whatever the thread
 *   count (the products are sl_gemm's; everything else runs on the calling
 *   thread).
 * - Calls share no state: concurrent calls are safe when their gradient
 *   buffers are distinct.
 * - On failure *out is left unchanged, and so are the gradients unless the
 *   failure is running out of memory in the middle of the backward pass. */

/* InfoNCE / NT-Xent. z: n x d with n = 2N rows laid out [view 1 of items
 * 0..N-1; view 2 of items 0..N-1], so row i's positive is row (i + N) mod n;
 * the other n - 2 rows are its negatives and self-similarity is masked.
 * loss = mean over the n rows of -log softmax(scale * s_i.)[twin]. n even, >= 2. */
sl_status sl_loss_infonce(const sl_loss_config *cfg, const float *z, size_t n, size_t d, float *dz,
                          sl_loss_result *out);

/* Supervised contrastive (L_out). z: n x d, labels: n. Every other row with
 * the same label is a positive. Anchors without a positive are skipped; the
 * loss is the mean over the anchors that have one (0 if none). */
sl_status sl_loss_supcon(const sl_loss_config *cfg, const float *z, const int32_t *labels, size_t n, size_t d,
                         float *dz, sl_loss_result *out);

/* Triplet family on a labelled batch (z: n x d, labels: n); D is the distance
 * made from cfg->sim. A batch without a valid triplet gives loss 0, zero
 * gradient and n_terms 0.
 * triplet:        mean over all valid (a, p, n) of max(0, D_ap - D_an + m).
 * triplet_hard:   mean over anchors of max(0, max_p D_ap - min_n D_an + m).
 * triplet_smooth: mean over (a, p) of tau * log(1 + sum_n exp((D_ap - D_an + m) / tau)). */
sl_status sl_loss_triplet(const sl_loss_config *cfg, const float *z, const int32_t *labels, size_t n, size_t d,
                          float *dz, sl_loss_result *out);
sl_status sl_loss_triplet_hard(const sl_loss_config *cfg, const float *z, const int32_t *labels, size_t n,
                               size_t d, float *dz, sl_loss_result *out);
sl_status sl_loss_triplet_smooth(const sl_loss_config *cfg, const float *z, const int32_t *labels, size_t n,
                                 size_t d, float *dz, sl_loss_result *out);

/* CLIP: img and txt are n x d, row i of each is a matching pair.
 * loss = (CE over rows + CE over columns) / 2 of scale * sim(img_i, txt_j). */
sl_status sl_loss_clip(const sl_loss_config *cfg, const float *img, const float *txt, size_t n, size_t d,
                       float *dimg, float *dtxt, sl_loss_result *out);

/* Barlow Twins and VICReg: z as for InfoNCE (n = 2N rows, view 1 then view
 * 2), N >= 2; the similarity and temperature are not used. With A, B the two
 * views' columns standardised over the batch (BatchNorm1d's training form:
 * biased variance, eps 1e-5) and c = A^T B / N (D x D):
 *   barlow: loss = sum_j (1 - c_jj)^2 + barlow_lambda * sum_{j != k} c_jk^2.
 * With X, Y the two views (N x D), s(X)_j = sqrt(unbiased variance of column
 * j + 1e-4) and K(X) the unbiased covariance of the columns:
 *   vicreg: loss = vicreg_inv * mean((X - Y)^2)
 *                + vicreg_var * (mean_j relu(1 - s(X)_j) + mean_j relu(1 - s(Y)_j)) / 2
 *                + vicreg_cov * (sum_{j != k} K(X)_jk^2 + sum_{j != k} K(Y)_jk^2) / D.
 * Both report accuracy, pos_sim and neg_sim as InfoNCE does, by cosine
 * similarity; n_terms is N. */
sl_status sl_loss_barlow(const sl_loss_config *cfg, const float *z, size_t n, size_t d, float *dz,
                         sl_loss_result *out);
sl_status sl_loss_vicreg(const sl_loss_config *cfg, const float *z, size_t n, size_t d, float *dz,
                         sl_loss_result *out);

/* SimSiam and BYOL (cfg->objective picks): p the predictions, t their
 * targets (both n x d; the targets get no gradient):
 *   simsiam: loss = mean_i -cos(p_i, t_i)        (in [-1, 1])
 *   byol:    loss = mean_i (2 - 2 cos(p_i, t_i))  (in [0, 4])
 * cos clamps both norms below at cfg->eps. pos_sim is the mean cosine. */
sl_status sl_loss_predictive(const sl_loss_config *cfg, const float *p, const float *t, size_t n, size_t d, float *dp,
                             sl_loss_result *out);

/* MoCo and the memory bank (cfg->objective picks the names in messages): q
 * the n queries; b holds n + m rows, row i the key of query i, then the m
 * negatives all queries share. logits_i = scale * [sim(q_i, b_i),
 * sim(q_i, b_{n+j}) for j < m]; loss = mean_i -log softmax(logits_i)[0].
 * Other queries' keys are not candidates; only q gets a gradient; accuracy:
 * the key beats every negative. m may be 0 (an empty queue). */
sl_status sl_loss_queue(const sl_loss_config *cfg, const float *q, const float *b, size_t n, size_t m, size_t d,
                        float *dq, sl_loss_result *out);

/* Autoencoder: loss = mean over the n*d elements of (recon - target)^2; the
 * gradient goes to recon only. */
sl_status sl_loss_autoencoder(const float *recon, const float *target, size_t n, size_t d, float *drecon,
                              sl_loss_result *out);

/* Softmax classification with a class-embedding matrix w (n_classes x d):
 * logits_ic = scale * sim(z_i, w_c) (with sim dot and tau 1: z W^T), loss =
 * mean cross-entropy; labels in [0, n_classes) (SL_ERR_RANGE otherwise). */
sl_status sl_loss_softmax(const sl_loss_config *cfg, const float *z, const float *w, const int32_t *labels,
                          size_t n, size_t n_classes, size_t d, float *dz, float *dw, sl_loss_result *out);

/* ---- workspace -----------------------------------------------------------
 * Scratch memory a caller keeps across steps (one per thread): with it,
 * sl_loss_compute allocates nothing once the batch shape has been seen. The
 * individual functions above use a temporary one per call. */
typedef struct sl_loss_workspace sl_loss_workspace;
sl_status sl_loss_workspace_create(sl_loss_workspace **out);
void sl_loss_workspace_destroy(sl_loss_workspace *ws); /* NULL-safe */
/* Bytes the workspace currently holds. */
size_t sl_loss_workspace_bytes(const sl_loss_workspace *ws);

/* ---- one entry point -----------------------------------------------------
 * What each objective reads from the batch:
 *   infonce, barlow, vicreg:       a (n x d, n = 2N), grad_a
 *   simsiam, byol:                 a = predictions, b = targets (n x d), grad_a
 *   moco, memory-bank:             a = queries (n x d), b = their n keys then nb negatives, grad_a
 *   supcon, triplet*:              a, labels, grad_a
 *   clip:                          a = images, b = texts (both n x d), grad_a, grad_b
 *   autoencoder:                   a = reconstruction, b = target (n x d), grad_a
 *   mae:                           a = predictions of the n masked patches, b = their targets
 *                                  (n x d, d pixels per patch), grad_a: the autoencoder's error on
 *                                  them, which is what sl_mae_forward (nn.h) computes itself
 *   softmax:                       a = z (n x d), b = W (nb x d classes), labels, grad_a, grad_b */
typedef struct sl_loss_batch {
    size_t n;               /* rows of a */
    size_t d;               /* embedding width */
    const float *a;         /* n x d */
    const float *b;         /* see above; rows: n, or nb for softmax */
    size_t nb;              /* softmax: number of classes */
    const int32_t *labels;  /* n, or NULL when the objective has none */
    float *grad_a;          /* accumulated; may be NULL */
    float *grad_b;          /* accumulated; may be NULL */
    sl_loss_workspace *ws;  /* reused scratch, or NULL for a temporary one */
} sl_loss_batch;

/* Run cfg->objective on the batch. SL_ERR_ARG names a missing input. */
sl_status sl_loss_compute(const sl_loss_config *cfg, const sl_loss_batch *batch, sl_loss_result *out);

#ifdef __cplusplus
}
#endif
#endif

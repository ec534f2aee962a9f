/* simlearn eval: how well embeddings serve a task — the linear probe
 * (multinomial logistic regression fitted with L-BFGS), the kNN classifier and
 * retrieval metrics. Module order: docs/design.md.
 * Threads: nothing here keeps state; calls may run in several threads at once
 * on distinct outputs, and a preconditioner is only read once made (the probe
 * functions not inside an OpenMP parallel region, below). */
#ifndef SIMLEARN_EVAL_H
#define SIMLEARN_EVAL_H

#include <signal.h>

#include "simlearn/base.h"
#include "simlearn/tensor.h"

#include "simlearn/index.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- linear probe ----------------------------------------------------------
 * Multinomial logistic regression with L2 regularisation on frozen features,
 * solved with L-BFGS; the standard frozen-feature evaluation of an embedding.
 * Features are standardised with the training mean and standard deviation,
 * the regularisation strength is chosen on a validation split carved from the
 * training set, and the model is then refitted on the whole training set.
 * Nothing here keeps global state; the functions call sl_gemm, so they must
 * not be called from inside an OpenMP parallel region. */

/* ---- L-BFGS (used by the probe, usable for any smooth objective) ---- */

/* Objective: returns f(x) and writes its gradient into grad (n). A non-finite
 * return value is treated as "outside the domain" by the line search. */
typedef double (*sl_lbfgs_fn)(const double *x, double *grad, void *ctx);

typedef struct sl_lbfgs_config {
    size_t history;        /* number of (s, y) pairs kept; default 10 */
    size_t max_iter;       /* iteration limit; default 500 */
    double gtol;           /* stop when max |grad| <= gtol; default 1e-5 */
    double ftol;           /* stop when (f_old - f_new) <= ftol * max(|f_old|, |f_new|, 1); default 1e-10 */
    size_t past;           /* with delta: stop when (f_{k-past} - f_k) <= delta * |f_k|; 0 = off (default) */
    double delta;
    double c1, c2;         /* strong Wolfe constants; default 1e-4 and 0.9 */
    size_t max_linesearch; /* evaluations per line-search phase; default 25 */
    /* Optional preconditioner: v <- M^{-1} v for a fixed symmetric positive
     * definite M approximating the Hessian (NULL: identity). */
    void (*precond)(double *v, void *ctx);
    void *precond_ctx;
    /* Called after each iteration (may be NULL). */
    void (*callback)(size_t iter, double f, double gnorm, void *ctx);
    void *callback_ctx;
    /* Polled before each iteration (may be NULL): once it is non-zero the
     * minimisation returns SL_ERR_INTERRUPTED; x holds the last iterate and
     * the report is not written. */
    const volatile sig_atomic_t *stop;
} sl_lbfgs_config;

typedef enum { SL_LBFGS_GTOL, SL_LBFGS_FTOL, SL_LBFGS_MAXITER, SL_LBFGS_LINESEARCH, SL_LBFGS_PAST } sl_lbfgs_stop;

typedef struct sl_lbfgs_report {
    size_t iterations, evaluations;
    double f, gnorm; /* final value and max |grad| */
    sl_lbfgs_stop stop;
} sl_lbfgs_report;

void sl_lbfgs_config_default(sl_lbfgs_config *o);
const char *sl_lbfgs_stop_str(sl_lbfgs_stop s);
/* Minimise fn from x (n); x receives the final point (also when the iteration
 * limit is reached, which is not an error: see rep->stop). opt may be NULL
 * for the defaults. Errors: SL_ERR_ARG, SL_ERR_NOMEM, SL_ERR_NUMERIC (f is
 * not finite at the start), SL_ERR_INTERRUPTED (opt->stop). */
sl_status sl_lbfgs_minimize(sl_lbfgs_fn fn, void *ctx, double *x, size_t n, const sl_lbfgs_config *opt,
                            sl_lbfgs_report *rep);

/* ---- the logistic-regression objective ---- */

/* f(W, b) = (1/n) sum_i [logsumexp(W x_i + b) - (W x_i + b)_{y_i}] + (lambda/2) ||W||^2.
 * theta holds W (k x d, row-major) followed by b (k), k * (d + 1) doubles. */
typedef struct sl_logreg_problem {
    const float *x;   /* n x d, row-major */
    const int32_t *y; /* n class ids in [0, k) */
    size_t n, d, k;
    double lambda;    /* L2 strength on W (the bias is not penalised) */
} sl_logreg_problem;

/* Value and gradient (grad may be NULL). Logits and the gradient's data term
 * are float32 sl_gemm products over blocks of rows; sums are in double.
 * The same bits whatever the thread count, and so are the fit, the
 * preconditioner and the probe. Errors: SL_ERR_ARG, SL_ERR_NOMEM. */
sl_status sl_logreg_loss(const sl_logreg_problem *p, const double *theta, double *grad, double *f);
/* A preconditioner for the fit: the eigen-decomposition of the feature
 * covariance (estimated on at most max_rows evenly spaced rows, 0 = all).
 * With it, L-BFGS starts from the inverse of a * Cov + lambda * I, a = 0.5 / k,
 * an approximation of the Hessian, which on correlated features (pixels)
 * cuts the iteration count several times. One preconditioner serves every
 * lambda and every subset of the same rows. */
typedef struct sl_logreg_precond sl_logreg_precond;
sl_status sl_logreg_precond_create(const float *x, size_t n, size_t d, size_t max_rows, sl_logreg_precond **out);
void sl_logreg_precond_destroy(sl_logreg_precond *pc); /* NULL-safe */
/* Fit theta (in: starting point, e.g. zeros; out: solution). pc may be NULL;
 * opt->precond is set from pc. */
sl_status sl_logreg_fit(const sl_logreg_problem *p, const sl_logreg_precond *pc, const sl_lbfgs_config *opt,
                        double *theta, sl_lbfgs_report *rep);
/* Most probable class of each row (ties: the lowest class id). */
sl_status sl_logreg_predict(const float *x, size_t n, size_t d, size_t k, const double *theta, int32_t *pred);

/* ---- linear SVM -------------------------------------------------------------
 * L2-regularised linear support vector machines trained in the dual by
 * coordinate descent (Hsieh et al. 2008, "A dual coordinate descent method
 * for large-scale linear SVM"; Keerthi et al. 2008 for Crammer-Singer), the
 * method of liblinear and of scikit-learn's LinearSVC. The bias is the weight
 * of a constant feature of value `bias` appended to every row, regularised
 * like the others (liblinear's convention; 0: no bias).
 *   one-vs-rest: for each class c, min_w 1/2 |w|^2 + C sum_i loss(y_i w.x_i),
 *     y_i = +1 for class c and -1 otherwise, loss(m) = max(0, 1 - m) (hinge)
 *     or max(0, 1 - m)^2 (squared hinge); two classes train one such problem
 *     (class 1 against class 0) and class 0 gets its negation;
 *   Crammer-Singer: min_W 1/2 sum_m |w_m|^2
 *     + C sum_i max_m (w_m.x_i + [m != y_i]) - w_{y_i}.x_i.
 * A row's class is the argmax of W x + b (ties: the lowest id). Threads: the
 * one-vs-rest problems run in parallel, each on its own seeded order of rows,
 * so the result is the same for every thread count. */

typedef enum { SL_SVM_SQUARED_HINGE = 0, SL_SVM_HINGE = 1 } sl_svm_loss;
typedef enum { SL_SVM_OVR = 0, SL_SVM_CRAMMER_SINGER = 1 } sl_svm_multi;

typedef struct sl_svm_config {
    double c;            /* C > 0; default 1 */
    sl_svm_loss loss;    /* one-vs-rest only; default squared hinge (LinearSVC's) */
    sl_svm_multi multi;  /* default one-vs-rest */
    double tol;          /* stop when the projected gradient's spread (one-vs-rest) or the
                            largest violation of a row (Crammer-Singer) is <= tol; default 0.1,
                            liblinear's (scikit-learn's LinearSVC passes 1e-4) */
    size_t max_iter;     /* passes over the rows per problem; default 1000 */
    double bias;         /* the constant feature; default 1 (0: no bias) */
    uint64_t seed;       /* the order of the rows in each pass; default 0 */
    const volatile sig_atomic_t *stop; /* polled once per pass (may be NULL) */
} sl_svm_config;

void sl_svm_config_default(sl_svm_config *c);

typedef struct sl_svm_report {
    size_t iterations;   /* passes: the largest over the one-vs-rest problems */
    size_t unconverged;  /* problems that stopped at max_iter */
} sl_svm_report;

/* Fit on x (n x d, row-major) with class ids y in [0, k), k >= 2. theta
 * receives W (k x d, row-major) then b (k), k * (d + 1) doubles, the layout of
 * sl_logreg_predict, which predicts with it. rep may be NULL. Errors:
 * SL_ERR_ARG (sizes, a class id outside [0, k), bad config), SL_ERR_NUMERIC
 * (a non-finite feature, naming the row), SL_ERR_NOMEM, SL_ERR_INTERRUPTED
 * (c->stop; theta is not written). */
sl_status sl_svm_fit(const sl_svm_config *c, const float *x, const int32_t *y, size_t n, size_t d, size_t k,
                     double *theta, sl_svm_report *rep);

/* Names for the CLI: "squared-hinge", "hinge"; "ovr", "crammer-singer". */
sl_status sl_svm_loss_parse(const char *name, sl_svm_loss *out);
sl_status sl_svm_multi_parse(const char *name, sl_svm_multi *out);

/* ---- the probe protocol ---- */

/* The classifier of the probe: multinomial logistic regression (the default)
 * or a linear SVM (sl_svm_fit, with cfg.svm's loss and scheme). */
typedef enum { SL_PROBE_LOGREG = 0, SL_PROBE_SVM = 1 } sl_probe_model;

typedef struct sl_probe_config {
    sl_probe_model model;  /* default SL_PROBE_LOGREG */
    const double *lambdas; /* the grid: L2 strengths (logistic regression) or C values
                              (SVM); NULL = the model's default grid */
    size_t n_lambdas;
    double val_fraction;   /* share of each class held out for selection; default 0.1 */
    bool standardize;      /* default true */
    uint64_t seed;         /* for the validation split; default 1 */
    sl_lbfgs_config lbfgs; /* logistic regression's solver */
    sl_svm_config svm;     /* the SVM's settings; its c is the grid's value */
    size_t precond_rows;   /* rows used to estimate the preconditioner; 0 = none; default 8192 */
    FILE *progress_stream; /* progress output (NULL: none) */
    sl_progress_mode progress_mode;
    /* Polled before every L-BFGS iteration of every fit (may be NULL; it
     * takes the place of lbfgs.stop): once it is non-zero sl_probe_run
     * returns SL_ERR_INTERRUPTED and no result. */
    const volatile sig_atomic_t *stop;
} sl_probe_config;

/* The default grids: lambda from 1e-1 down to 1e-5 (the loss is a mean over
 * rows); C from 1e-4 up to 1 (the SVM's loss is a sum over rows). */
#define SL_PROBE_DEFAULT_LAMBDAS {1e-1, 1e-2, 1e-3, 1e-4, 1e-5}
#define SL_PROBE_DEFAULT_CS {1e-4, 1e-3, 1e-2, 1e-1, 1}
void sl_probe_config_default(sl_probe_config *c);

typedef struct sl_probe_result {
    sl_probe_model model;
    size_t d, k;              /* feature width and number of classes */
    int64_t *classes;         /* k label values, ascending; class id i means classes[i] */
    size_t n_train, n_fit, n_val, n_test;
    size_t n_grid;            /* grid size (1 and no validation when a single lambda is given) */
    double *grid_lambda;      /* n_grid */
    double *grid_val_acc;     /* n_grid, validation accuracy per lambda */
    size_t *grid_iters;       /* n_grid, L-BFGS iterations (SVM: passes) per value */
    double lambda;            /* the chosen value: lambda, or C for the SVM */
    double train_acc, val_acc, test_acc; /* val: the selection fit's; test NaN when no test set */
    size_t *confusion;        /* k x k test counts, [true][predicted]; NULL when no test set */
    double *theta;            /* k * (d + 1): the final model on standardised features */
    float *mean, *scale;      /* d: x_std = (x - mean) / scale */
    sl_lbfgs_report fit;      /* the final refit (logistic regression) */
    sl_svm_report svm_fit;    /* the final refit (SVM) */
    double select_seconds, fit_seconds;
} sl_probe_result;

/* Run the protocol. Labels may be any integers; train must hold at least two
 * classes, and every test label must occur in train. xte may be NULL (nte 0).
 * Errors: SL_ERR_ARG (empty or mismatched inputs, one class, unseen test label,
 * bad config), SL_ERR_NUMERIC (a non-finite feature, naming the row),
 * SL_ERR_NOMEM, SL_ERR_INTERRUPTED (c->stop; *out is not written). */
sl_status sl_probe_run(const sl_probe_config *c, const float *xtr, const int64_t *ytr, size_t ntr, const float *xte,
                       const int64_t *yte, size_t nte, size_t d, sl_probe_result **out);
void sl_probe_result_destroy(sl_probe_result *r); /* NULL-safe */

/* ---- end of linear probe ---- */


/* ---- kNN classifier and retrieval metrics ---- */

/* How neighbours vote: one vote each, or exp(s / tau) each where s is the
 * neighbour's similarity (Wu et al. 2018, "Unsupervised feature learning via
 * non-parametric instance discrimination"). */
typedef enum { SL_VOTE_MAJORITY = 0, SL_VOTE_WEIGHTED = 1 } sl_vote;

typedef struct sl_knn_config {
    size_t k;         /* neighbours that vote: the first k columns of ids (0 = all) */
    sl_vote vote;
    double tau;       /* temperature of weighted votes; 0 = 0.07 */
    sl_metric metric; /* what the scores are: similarities for ip/cosine; for l2 a
                         squared distance, whose similarity is -distance */
} sl_knn_config;
/* Fill c with the defaults: every column votes (k = 0), majority vote, tau
 * 0.07, L2 scores. */
void sl_knn_config_default(sl_knn_config *c);

/* Predict a label for each of nq queries from its neighbours (ids/scores: nq
 * x kcols, as sl_flat_search or sl_hnsw_search return them; id -1 entries are
 * skipped) and the base labels (n). The label with the most votes (or the
 * largest total weight) wins; ties go to the smallest label. A query with no
 * valid neighbour gets -1. Errors: SL_ERR_ARG (k > kcols), SL_ERR_RANGE (an id
 * outside the base), SL_ERR_NOMEM. */
sl_status sl_knn_classify(const int64_t *ids, const float *scores, size_t nq, size_t kcols,
                          const int64_t *base_labels, size_t n, const sl_knn_config *cfg, int64_t *pred);

/* Fraction of pred[i] == truth[i] (0 for n = 0). */
double sl_knn_accuracy(const int64_t *pred, const int64_t *truth, size_t n);
/* The same over the rows whose true label is known (truth[i] >= 0); NaN when
 * there is none. */
double sl_knn_accuracy_labelled(const int64_t *pred, const int64_t *truth, size_t n);
/* Leave-one-out kNN accuracy of labelled rows x (n x d): each row's
 * cfg->k nearest other rows (sl_flat_search with cfg->metric; k is lowered to
 * n - 1 when larger) vote on its label (sl_knn_classify with cfg), and the
 * accuracy is sl_knn_accuracy_labelled's. A row labelled < 0 is not scored,
 * though its label takes part in its neighbours' votes. Errors: SL_ERR_ARG
 * (n < 2, k = 0), those of sl_flat_search, SL_ERR_NOMEM. */
sl_status sl_knn_loo_accuracy(const float *x, size_t n, size_t d, const int64_t *labels, const sl_knn_config *cfg,
                              double *acc);

/* Names for the CLI: "majority", "weighted". */
sl_status sl_vote_parse(const char *name, sl_vote *out);

/* Retrieval quality of labelled embeddings: each query retrieves from the
 * base by exact search; an item is relevant when its label equals the
 * query's. For each K in Ks:
 *   recall@K    = fraction of queries with at least one relevant item in the
 *                 top K (the metric-learning convention);
 *   precision@K = mean fraction of relevant items in the top K.
 * mAP@R (Musgrave et al. 2020): R = number of relevant base items, and
 * AP@R = (1/R) sum_{i<=R} P@i * rel(i), averaged over the queries.
 * Queries with no relevant base item are left out of all three (counted in
 * *n_used). exclude_self: the queries are the base itself (queries == base,
 * nq == n, query_labels == base_labels) and a query never retrieves itself.
 * skip_unlabelled: a negative label means unknown; such queries are left out
 * (and, their label matching no known one, their items are never relevant).
 * Memory is bounded by working through the queries in chunks.
 * recall_at, precision_at: nK each, caller-allocated; map_at_r and n_used may
 * be NULL. Errors: as sl_flat_search, plus SL_ERR_ARG for a K of 0 or more
 * than the base can return. */
typedef struct sl_retrieval_config {
    sl_metric metric;
    bool exclude_self;
    const size_t *Ks;
    size_t nK;
    sl_progress *progress; /* queries done, may be NULL */
    bool skip_unlabelled;
} sl_retrieval_config;
/* Fill c with the defaults: L2, no self-exclusion, K in {1, 5, 10} (a static
 * array), no progress. */
void sl_retrieval_config_default(sl_retrieval_config *c);
sl_status sl_retrieval_labelled(const float *base, size_t n, const int64_t *base_labels, const float *queries,
                                size_t nq, const int64_t *query_labels, size_t d, const sl_retrieval_config *cfg,
                                double *recall_at, double *precision_at, double *map_at_r, size_t *n_used);

/* Paired embeddings (row i of a matches row i of b, e.g. an image and its
 * caption): recall@K from a to b (the fraction of rows i whose partner b_i is
 * among the K nearest rows of b to a_i) and from b to a. */
sl_status sl_retrieval_paired(const float *a, const float *b, size_t n, size_t d, sl_metric metric, const size_t *Ks,
                              size_t nK, double *a_to_b, double *b_to_a);

/* ---- end of kNN classifier and retrieval metrics ---- */

#ifdef __cplusplus
}
#endif
#endif

/* simlearn eval module (see DESIGN.md §2). */
#ifndef SIMLEARN_EVAL_H
#define SIMLEARN_EVAL_H

#include "simlearn/base.h"
#include "simlearn/io.h"
#include "simlearn/tensor.h"

#include "simlearn/index.h"

#ifdef __cplusplus
extern "C" {
#endif

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
} sl_retrieval_config;
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

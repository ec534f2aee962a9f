/* Private pieces shared by the loss module's files: prepared embeddings,
 * similarity matrices with their backward, temperature handling and the
 * row-softmax kernel. Not installed. */
#ifndef SIMLEARN_LOSS_IMPL_H
#define SIMLEARN_LOSS_IMPL_H

#include "internal.h"

#include <math.h>

/* Embeddings prepared for one similarity: u holds the vectors that enter the
 * products (the input itself, or the input divided by its clamped norm for
 * cosine) in double; uf is the float32 copy sl_gemm reads. */
typedef struct sl__emb {
    size_t n, d;
    sl_similarity sim;
    bool exact;
    const float *x; /* n x d, borrowed */
    double *u;      /* n x d */
    const float *uf; /* n x d: x itself, or uf_own; NULL in exact mode */
    float *uf_own;
    double *nrm; /* n: cosine: max(|x|, eps); l2: |x|^2; dot: unused (NULL) */
} sl__emb;

sl_status sl__emb_init(sl__emb *e, const float *x, size_t n, size_t d, const sl_loss_config *cfg);
void sl__emb_free(sl__emb *e);

/* S (a->n x b->n, row stride b->n) = sim(a_i, b_j). b may equal a. */
sl_status sl__sim_forward(const sl__emb *a, const sl__emb *b, double *S);
/* Given G = d loss / d S (a->n x b->n), add d loss / d a into da and
 * d loss / d b into db (either may be NULL). When b == a the two
 * contributions are summed into da (db is ignored). */
sl_status sl__sim_backward(const sl__emb *a, const sl__emb *b, const double *G, float *da, float *db);

/* Check that every value is finite; names `what`, row and column otherwise. */
sl_status sl__check_finite(const float *x, size_t n, size_t d, const char *what);
/* Validate the parts of the configuration every similarity-based loss uses. */
sl_status sl__check_config(const sl_loss_config *cfg, const char *fn, bool uses_tau);
/* True when the learnable log-scale is strictly outside its clamp, so the
 * loss does not depend on it there. */
bool sl__scale_clamped(const sl_loss_config *cfg);

/* g[j] = w * softmax(l)[j] over j != skip (g[skip] = 0); returns the
 * log-sum-exp of l over j != skip. skip = SIZE_MAX masks nothing. m >= 1
 * entries must remain. */
double sl__softmax_row(const double *l, size_t m, size_t skip, double w, double *g);

/* Cross-entropy of one row: returns -log softmax(l)[t] over j != skip (t must
 * not be skip) and writes g = w * (softmax - onehot(t)), g[skip] = 0. */
double sl__ce_row(const double *l, size_t m, size_t skip, size_t t, double w, double *g);

static inline double sl__softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static inline double sl__sigmoid(double x) {
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

#endif

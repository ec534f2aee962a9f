/* Private pieces shared by the loss module's files: prepared embeddings,
 * similarity matrices with their backward, temperature handling and the
 * row-softmax kernel. Not installed. */
#ifndef SIMLEARN_LOSS_IMPL_H
#define SIMLEARN_LOSS_IMPL_H

#include "internal.h"

#include <math.h>

/* The workspace (public as an opaque type): a chain of blocks handed out by
 * bumping a pointer; sl__ws_begin at the start of every call. */
#define SL__WS_MAX_BLOCKS 48
struct sl_loss_workspace {
    char *blocks[SL__WS_MAX_BLOCKS];
    size_t sizes[SL__WS_MAX_BLOCKS];
    size_t nblocks;
    size_t used;  /* bytes used in the last block */
    size_t total; /* bytes handed out since sl__ws_begin */
    size_t peak;  /* the most that was out at once (for folding blocks) */
};
typedef struct {
    size_t nblocks, used, total;
} sl__ws_mark;
void sl__ws_begin(sl_loss_workspace *ws);
void sl__ws_release(sl_loss_workspace *ws);
/* Overflow-checked, 64-byte-rounded; NULL with an SL_ERR_NOMEM message. */
void *sl__ws_alloc(sl_loss_workspace *ws, size_t n, size_t size, const char *what);
void *sl__ws_calloc(sl_loss_workspace *ws, size_t n, size_t size, const char *what);
sl__ws_mark sl__ws_get_mark(const sl_loss_workspace *ws);
void sl__ws_pop(sl_loss_workspace *ws, sl__ws_mark m);

/* Embeddings prepared for one similarity: u holds the vectors that enter the
 * products (the input itself, or the input divided by its clamped norm for
 * cosine) in double; uf is the float32 copy sl_gemm reads. */
typedef struct sl__emb {
    size_t n, d;
    sl_similarity sim;
    bool exact;
    const float *x; /* n x d, borrowed */
    double *u;      /* n x d */
    const float *uf; /* n x d: x itself or its normalised copy; NULL in exact mode */
    double *nrm; /* n: cosine: max(|x|, eps); l2: |x|^2; dot: unused (NULL) */
    bool *tiny;  /* n: cosine: |x| < eps, so the norm is the constant eps */
    sl_loss_workspace *ws; /* where this call's scratch comes from */
} sl__emb;

sl_status sl__emb_init(sl__emb *e, const float *x, size_t n, size_t d, const sl_loss_config *cfg,
                       sl_loss_workspace *ws);

/* S (a->n x b->n, row stride b->n) = sim(a_i, b_j). b may equal a. */
sl_status sl__sim_forward(const sl__emb *a, const sl__emb *b, double *S);
/* Given G = d loss / d S (a->n x b->n), add d loss / d a into da and
 * d loss / d b into db (either may be NULL). When b == a the two
 * contributions are summed into da (db is ignored) and G is overwritten. */
sl_status sl__sim_backward(const sl__emb *a, const sl__emb *b, double *G, float *da, float *db);

/* Check that every value is finite; names `what`, row and column otherwise. */
sl_status sl__loss_check_finite(const float *x, size_t n, size_t d, const char *what);
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

/* The objectives on a given workspace (sl__ws_begin is called inside); the
 * public functions wrap them with a temporary one. */
sl_status sl__infonce(const sl_loss_config *cfg, const float *z, size_t n, size_t d, float *dz, sl_loss_result *out,
                      sl_loss_workspace *ws);
sl_status sl__supcon(const sl_loss_config *cfg, const float *z, const int32_t *labels, size_t n, size_t d, float *dz,
                     sl_loss_result *out, sl_loss_workspace *ws);
sl_status sl__clip(const sl_loss_config *cfg, const float *img, const float *txt, size_t n, size_t d, float *dimg,
                   float *dtxt, sl_loss_result *out, sl_loss_workspace *ws);
sl_status sl__softmax(const sl_loss_config *cfg, const float *z, const float *w, const int32_t *labels, size_t n,
                      size_t n_classes, size_t d, float *dz, float *dw, sl_loss_result *out, sl_loss_workspace *ws);
sl_status sl__triplet(const sl_loss_config *cfg, sl_objective variant, const float *z, const int32_t *labels,
                      size_t n, size_t d, float *dz, sl_loss_result *out, sl_loss_workspace *ws);
sl_status sl__barlow(const sl_loss_config *cfg, const float *z, size_t n, size_t d, float *dz, sl_loss_result *out,
                     sl_loss_workspace *ws);
sl_status sl__vicreg(const sl_loss_config *cfg, const float *z, size_t n, size_t d, float *dz, sl_loss_result *out,
                     sl_loss_workspace *ws);
sl_status sl__predict(const sl_loss_config *cfg, const float *p, const float *tg, size_t n, size_t d, float *dp,
                      sl_loss_result *out);
sl_status sl__queue_loss(const sl_loss_config *cfg, const float *q, const float *b, size_t n, size_t m, size_t d,
                         float *dq, sl_loss_result *out, sl_loss_workspace *ws);

#endif

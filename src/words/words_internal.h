/* Private pieces of the words module shared by its files: the streaming
 * corpus reader, the vocabulary layout and the small dense kernels that the
 * trainer batches its updates into. */
#ifndef SIMLEARN_WORDS_INTERNAL_H
#define SIMLEARN_WORDS_INTERNAL_H

#include "internal.h"

/* ---- streaming corpus reader ----------------------------------------------
 * Reads the words whose first byte lies in [start, end) of a file through a
 * fixed buffer, so files of any size and lines of any length are fine. */
typedef struct sl__corpus {
    FILE *f;
    const char *path;
    unsigned char *buf;
    size_t cap, len, pos;  /* buffer capacity, bytes held, read position */
    uint64_t buf_off;      /* file offset of buf[0] */
    uint64_t end;          /* stop before a word starting at or after this */
    bool lowercase, eof;
} sl__corpus;

/* Open a reader over [start, end) (end = UINT64_MAX: to the end of file). */
sl_status sl__corpus_open(sl__corpus *c, const char *path, uint64_t start, uint64_t end, bool lowercase);
void sl__corpus_close(sl__corpus *c);
/* Next word into w (SL_WORDS_MAX_WORD+1 bytes): returns its length, 0 at the
 * end of the range, or -1 on a read error (message set). *newline tells
 * whether a line break came before the word (since the previous one). */
int sl__corpus_next(sl__corpus *c, char *w, bool *newline);
/* Size of a file in bytes. */
sl_status sl__file_size(const char *path, uint64_t *out);

/* ---- vocabulary -------------------------------------------------------------*/
struct sl_vocab {
    size_t n;
    char **word;      /* n, each in its own allocation */
    uint32_t *len;    /* n byte lengths */
    uint64_t *count;  /* n, decreasing */
    uint64_t total;
    uint32_t *table;  /* open addressing: index+1, 0 = empty */
    size_t mask;
};
uint64_t sl__hash_bytes(const char *s, size_t n);
/* sl_vocab_build that also stops with SL_ERR_INTERRUPTED when *intr (may be
 * NULL) becomes non-zero; it looks every 65,536 words. */
sl_status sl__vocab_scan(const char *corpus, const sl_vocab_config *cfg, const volatile sig_atomic_t *intr,
                         sl_vocab **out);
long sl__vocab_find_n(const sl_vocab *v, const char *w, size_t n);

/* ---- word lookup -------------------------------------------------------------
 * The rows of the first n word vectors by ASCII-lowercased word (the first,
 * most frequent, row of a folded word wins) and, when built with exact, by
 * the exact word. Read-only once built. */
typedef struct sl__wlookup {
    const sl_wordvecs *w;
    size_t n;
    uint32_t *table; /* folded: row+1, 0 = empty */
    uint32_t *exact; /* exact: row+1, 0 = empty; NULL unless asked for */
    size_t mask;
} sl__wlookup;
sl_status sl__wlookup_build(sl__wlookup *L, const sl_wordvecs *w, size_t n, bool exact);
void sl__wlookup_free(sl__wlookup *L);
/* Row of a word ignoring ASCII case, or -1. */
long sl__wlookup_fold(const sl__wlookup *L, const char *word);
/* Row of the exact word, or -1 (always -1 when not built with exact). */
long sl__wlookup_exact(const sl__wlookup *L, const char *word);
/* Row of a word, the exact word first (when built with exact), then ignoring
 * ASCII case (as sl_words_lookup), or -1. */
long sl__wlookup_find(const sl__wlookup *L, const char *word);

/* NAME.vocab for NAME.npy (a path not ending in .npy gets .vocab added);
 * malloc'ed, NULL when out of memory. */
char *sl__words_vocab_path(const char *npy);

/* ---- subwords (subword.c) ----------------------------------------------------
 * fastText's character n-grams: the word wrapped as "<word>", every run of
 * minn..maxn UTF-8 characters starting at a byte that is not a continuation
 * byte (0x80..0xBF), except the 1-grams "<" and ">", hashed by fastText's
 * FNV-1a variant (each byte sign-extended before the xor) modulo bucket. */
uint32_t sl__ngram_hash(const char *s, size_t n);
/* The most n-grams a word of at most SL_WORDS_MAX_WORD bytes can have. */
size_t sl__ngram_cap(int minn, int maxn);
/* The n-grams of word (len <= SL_WORDS_MAX_WORD bytes) in fastText's order
 * (by start, then length): their buckets (hash % bucket) into ids, and, when
 * start and bytes are not NULL, each one's first byte and byte length in the
 * wrapped "<word>". Writes at most cap; returns how many there are. */
size_t sl__subwords(const char *word, size_t len, int minn, int maxn, uint32_t bucket, uint32_t *ids, uint8_t *start,
                    uint8_t *bytes, size_t cap);
/* Every vocabulary word's n-gram rows (V + bucket index), CSR: word i's are
 * row[first[i] .. first[i+1]); max is the most any word has. */
typedef struct sl__subtab {
    uint32_t *first, *row;
    size_t max;
} sl__subtab;
sl_status sl__subtab_build(const char *const *words, size_t V, int minn, int maxn, uint32_t bucket, sl__subtab *t);
void sl__subtab_free(sl__subtab *t);
/* out (d floats) = the mean of word w's own row and its n-gram rows (rows of
 * `stride` floats in `in`), summed in double and rounded once (finite for
 * finite rows). The own row is `own` where that is set (it may be `out`
 * itself: column c is read before it is written), else row w of `in`.
 * Training composes its inputs in float (mean_rows, train.c). */
void sl__subtab_mean(const sl__subtab *t, const float *in, size_t stride, size_t d, uint32_t w, const float *own,
                     float *out);
/* A subword model's rows, `stride` floats apart: the V word rows, then the
 * bucket rows, all in `rows`, or the word rows in `word` where that is set
 * (with the bucket rows still after the first V rows of `rows`). */
typedef struct sl__subrows {
    const float *rows, *word;
    size_t stride;
} sl__subrows;
/* sl_words_subword_create from a trained model's rows. */
sl_status sl__subword_create(const char *const *words, const uint64_t *counts, size_t V, size_t dim, int minn, int maxn,
                             uint32_t bucket, bool lowercase, sl__subrows rows, sl_words_subword **out);
/* Write a .slsw file from its parts. */
sl_status sl__subword_write(const char *path, const char *const *words, const uint64_t *counts, size_t V, size_t dim,
                            int minn, int maxn, uint32_t bucket, bool lowercase, sl__subrows rows);
/* The bucket row of the word bigram (a, b), vocabulary indices (sl_words_arch's
 * sent2vec): (a·116049371 + b) mod bucket. */
static inline uint32_t sl__bigram_bucket(uint32_t a, uint32_t b, uint32_t bucket) {
    return (uint32_t)(((uint64_t)a * 116049371u + b) % bucket);
}
/* Whether a model from sl_words_subword_* is a sentence model (bucket rows of
 * word bigrams, minn = maxn = 0), and the row of the bigram (a, b) of one
 * (dim floats). */
bool sl__subword_sentence(const sl_words_subword *s);
const float *sl__subword_bigram(const sl_words_subword *s, uint32_t a, uint32_t b);
/* Take the vocabulary vectors out of a subword model (then only fit for
 * sl_words_subword_destroy). */
sl_wordvecs *sl__subword_take_vecs(sl_words_subword *s);
/* A subword model's word vector (the mean of its rows) into out (dim
 * floats); false, leaving out alone, for a model without subwords. */
bool sl__words_model_compose(const sl_words_model *m, size_t word, float *out);
/* Cut a word to SL_WORDS_MAX_WORD bytes at a UTF-8 boundary, as the corpus
 * reader does: the length kept. */
size_t sl__word_cut(const char *word, size_t len);

/* ---- dense kernels ------------------------------------------------------------
 * Rows are given as pointer arrays (the rows of a window are scattered through
 * the embedding tables); every row has `d` floats, d a multiple of
 * SL__WALIGN, rows 32-byte aligned. */
#define SL__WALIGN 16

/* S (m x n, row stride n) = A·Bᵀ where A has rows a[0..m) and B rows b[0..n). */
void sl__w_dots(float *S, const float *const *a, size_t m, const float *const *b, size_t n, size_t d);
void sl__w_dots_ref(float *S, const float *const *a, size_t m, const float *const *b, size_t n, size_t d);
/* D (m x d, contiguous) = G·B: D[j] = Σ_k G[j][k]·b[k]. */
void sl__w_gb(float *D, const float *G, size_t m, const float *const *b, size_t n, size_t d);
void sl__w_gb_ref(float *D, const float *G, size_t m, const float *const *b, size_t n, size_t d);
/* b[k] += Σ_j G[j][k]·a[j] for every k (Gᵀ·A added into B's rows). */
void sl__w_gta_add(float *const *b, const float *G, size_t m, const float *const *a, size_t n, size_t d);
void sl__w_gta_add_ref(float *const *b, const float *G, size_t m, const float *const *a, size_t n, size_t d);
/* y += x over d floats. */
void sl__w_add(float *y, const float *x, size_t d);

/* ---- training steps (exposed for the gradient checks) ----------------------
 * Tables of σ and log σ over [-SL__SIG_MAX, SL__SIG_MAX]. */
#define SL__SIG_MAX 8.0f
#define SL__SIG_N 2048
typedef struct sl__wtab {
    float sig[SL__SIG_N + 1], logsig[SL__SIG_N + 1];
} sl__wtab;
void sl__wtab_init(sl__wtab *t);
/* (NaN, from vectors that diverged, takes the lowest entry of σ and stays
 * NaN for log σ, so that the loss shows it: see the trainer's round end.) */
static inline float tab_sig(const sl__wtab *t, float x) {
    if (x >= SL__SIG_MAX) return t->sig[SL__SIG_N];
    if (!(x > -SL__SIG_MAX)) return t->sig[0];
    return t->sig[(int)((x + SL__SIG_MAX) * (SL__SIG_N / (2 * SL__SIG_MAX)))];
}
/* log σ(x); outside the table log σ(x) ≈ min(x, 0) within 3.4e-4. */
static inline float tab_logsig(const sl__wtab *t, float x) {
    if (x >= SL__SIG_MAX) return 0.0f;
    if (!(x > -SL__SIG_MAX)) return x;
    return t->logsig[(int)((x + SL__SIG_MAX) * (SL__SIG_N / (2 * SL__SIG_MAX)))];
}
/* One batched step: input rows a[0..m) against output rows b[0..n) where
 * b[0] is the positive and the rest are negatives (tab NULL: exact σ), or
 * against all V rows with target y (full softmax). Output rows are updated
 * by -lr·∂L/∂b; D (m x d) receives -lr·∂L/∂a. Returns L (summed over rows);
 * S is scratch of m x n (m x V) floats. lr = 0 just evaluates L. */
double sl__words_ns_step(const sl__wtab *tab, const float *const *a, size_t m, const float *const *b, size_t n,
                         size_t d, float lr, float *S, float *D);
/* word2vec's update of one prediction: input row a against output rows b[0]
 * (the target) and b[1..n) (negatives), in order: each output row moves by
 * lr·(y − σ(a·b))·a right after its dot product, and e (d floats,
 * overwritten) receives the input row's step Σ lr·(y − σ)·b from the rows as
 * they were before their own step, for the caller to add to a (a is not
 * changed here). Returns L = −log σ(a·b0) − Σ log σ(−a·bk); tab NULL: exact
 * σ. A row listed twice sees its first step, as in word2vec. */
double sl__w_pair(const sl__wtab *tab, const float *a, float *const *b, size_t n, size_t d, float lr, float *e);
double sl__w_pair_ref(const sl__wtab *tab, const float *a, float *const *b, size_t n, size_t d, float lr, float *e);
/* A subword input: a (d floats, overwritten) = the mean of rows[0..k), the
 * prediction sl__w_pair makes from it, then e (its step) added to every one
 * of the k rows (fastText's update). Returns the loss; lr = 0 evaluates. */
double sl__w_sub_pair(const sl__wtab *tab, float *const *rows, size_t k, float *const *b, size_t n, size_t d, float lr,
                      float *a, float *e);
/* Sent2Vec's training of one line of len word ids (sl_words_arch), as
 * sequential SGD in O(len·d): each word i with pred[i] set, in order, is
 * predicted by sl__w_pair from the mean of the line's other words' input
 * rows and the rows of the bigrams that do not contain it (bucket row
 * rows + sl__bigram_bucket) and are not among its dropped ones (drop[i·ndrop
 * ..], bigram positions j for (sent[j], sent[j+1]), UINT32_MAX ending the list
 * early), against its K negatives neg[i·K ..] (those equal to the word left
 * out); the step is divided among those c rows (each moves by 1/c of it,
 * which makes it the gradient of the mean). The rows are written once, after
 * the last prediction, to what the steps in order give them; an occurrence
 * sees the steps of another occurrence of the same row (a word twice in the
 * line, two bigrams in one bucket) only then. Rows of d floats (d a multiple
 * of SL__WALIGN). Scratch: E len x d floats, M len x d floats (with drops),
 * P and h d floats, acc and ctx d doubles, big len, b K + 1. Returns the
 * summed loss; lr = 0 evaluates. The _ref twin writes every step at once
 * (and needs the rows of a line to be distinct for the two to agree); it
 * allocates its own list of a context's rows (NaN when it cannot). */
typedef struct sl__s2v_input {
    const uint32_t *sent;
    size_t len;
    const uint8_t *pred;
    const uint32_t *neg;
    size_t K;
    const uint32_t *drop;
    size_t ndrop;
} sl__s2v_input;
typedef struct sl__s2v_scratch {
    float *E, *M, *P, *h;
    double *acc, *ctx;
    uint32_t *big;
    const float **b;
} sl__s2v_scratch;
double sl__s2v_line(const sl__wtab *tab, float *in, float *out, size_t d, uint32_t rows, uint32_t bucket,
                    const sl__s2v_input *x, float lr, const sl__s2v_scratch *s);
double sl__s2v_line_ref(const sl__wtab *tab, float *in, float *out, size_t d, uint32_t rows, uint32_t bucket,
                        const sl__s2v_input *x, float lr, const sl__s2v_scratch *s);
double sl__words_softmax_step(const float *const *a, size_t m, const float *const *b, size_t V, uint32_t y,
                              size_t d, float lr, float *S, float *D);


/* ---- Poincaré embeddings (exposed for the gradient checks) -----------------
 * The loss of one edge, rows[0] = the child u, rows[1] = its parent v,
 * rows[2..n) the negatives: L = d(u,v) + log Σ_{j>=1} exp(-d(u,rows[j])).
 * With grad (n x dim doubles, may be NULL) it writes ∂L/∂rows[j] (Euclidean);
 * scratch holds 2n doubles. Returns L. */
double sl__poincare_loss(const float *const *rows, size_t n, size_t dim, double *grad, double *scratch);
/* One Riemannian SGD step: θ -= lr·(1-|θ|²)²/4·grad, then θ is scaled back to
 * norm 1 - eps if it reached it. */
void sl__poincare_step(float *theta, const double *grad, size_t dim, double lr, double eps);

/* The weight of the output row in the vectors a model exports: its
 * context_weight, or 0 for a multi-sense model (its rows are saved as
 * trained) and for a sent2vec model. With subwords a vocabulary word's
 * vector is the mean of its input rows plus this × its output row
 * (sl__words_model_compose); out-of-vocabulary words have no output row. */
float sl__words_context_weight(const sl_words_model *m);

/* Vose's alias table for drawing i with probability ∝ count[i]^exponent:
 * draw a uniform column i and a uniform coin u; the outcome is i when u <
 * aprob[i], else alias[i]. aprob and alias hold V entries. Errors:
 * SL_ERR_NOMEM. */
sl_status sl__words_alias_build(const uint64_t *count, size_t V, double exponent, float *aprob, uint32_t *alias);

#endif

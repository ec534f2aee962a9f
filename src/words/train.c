/* Skip-gram and CBOW training with negative sampling or the full softmax, and
 * multi-sense skip-gram, Hogwild-style over OpenMP threads. Negatives are
 * drawn per prediction with word2vec's sequential update, or shared by a
 * centre word's window with its updates batched into small matrix products
 * (the window's rows times the output rows of the positive and the shared
 * negatives, as in Ji et al. 2016). Checkpoints capture the whole state, down
 * to how far each piece of the current round got, so a resumed run continues
 * exactly where it stopped. */
#include "words/words_internal.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SENT 10000   /* longer lines are cut into pieces of this many words */
#define LR_CHUNK 10000   /* raw words between updates of the shared counter */
#define ROUNDS SL_WORDS_ROUNDS /* synchronisation points (checkpoint chances) per epoch */
#define CHUNKS_PER_THREAD 16 /* pieces of a round that threads take in turn */
#define MAX_SENSES 64
#define CHUNK_DONE UINT64_MAX
#define MAX_LANES 4096  /* ranks x threads */
/* Distributed runs: each rank trains its own lanes on its own copy of the
 * model; the ranks add up their changes (MAX_GROWTH: merge_changes) to the
 * frequent words' rows (the first HOT_WORDS) after every one of a round's
 * WAVES waves of chunks, and to every row after every FULL_EVERY rounds and
 * before every checkpoint and stop. How these were chosen, and what
 * averaging the models instead does: docs/scaling.md. */
#define HOT_WORDS 4096
#define WAVES 4
#define MAX_GROWTH 1.5f
#define FULL_EVERY 4

struct sl_words_model {
    sl_words_config cfg; /* settings used (pointer fields cleared) */
    int threads;         /* lanes the corpus is cut into: ranks x threads of the
                            run (it fixes the partition; rng and pos hold them all) */
    sl_vocab *vocab;
    size_t V, rows, dim, stride;
    float *in, *out;     /* rows x stride and V x stride, 64-byte aligned */
    void *in_raw, *out_raw;
    uint32_t *first;     /* V: first row of each word */
    sl__subtab sub;      /* subwords: each word's n-gram rows (rows + bucket index); first NULL when off */
    size_t in_rows;      /* rows of `in`: rows, plus bucket with subwords */
    uint8_t *nsense;     /* V: number of senses */
    double *sense_cnt;   /* rows: soft occurrence counts per sense */
    /* training state */
    uint64_t words_done; /* raw words counted towards the lr schedule */
    uint32_t epoch, round;
    uint64_t *pos;       /* threads x CHUNKS_PER_THREAD: tokens of each chunk of
                            the current round already trained, CHUNK_DONE when
                            finished (all 0 at a round boundary) */
    sl_rng *rng;         /* threads */
    uint64_t corpus_size;
};

/* ---- model layout -----------------------------------------------------------*/
static float *aligned_floats(size_t n, void **raw) {
    size_t bytes;
    if (!sl_size_mul(n, sizeof(float), &bytes) || bytes > SIZE_MAX - 64) return NULL;
    unsigned char *p = sl__malloc(bytes + 64);
    if (!p) return NULL;
    *raw = p;
    uintptr_t a = ((uintptr_t)p + 63) & ~(uintptr_t)63;
    memset((void *)a, 0, bytes);
    return (float *)a;
}

void sl_words_model_destroy(sl_words_model *m) {
    if (!m) return;
    sl_vocab_destroy(m->vocab);
    sl__free(m->in_raw);
    sl__free(m->out_raw);
    sl__free(m->first);
    sl__subtab_free(&m->sub);
    sl__free(m->nsense);
    sl__free(m->sense_cnt);
    sl__free(m->rng);
    sl__free(m->pos);
    sl__free(m);
}

/* Whether the input table keeps bucket rows after the word rows (subwords'
 * n-grams or sent2vec's word bigrams), and how many. */
static bool uses_buckets(const sl_words_config *c) { return c->maxn > 0 || c->arch == SL_WORDS_SENT2VEC; }
static size_t bucket_rows(const sl_words_config *c) { return uses_buckets(c) ? c->bucket : 0; }
static bool is_sentence(const sl_words_model *m) { return m->cfg.arch == SL_WORDS_SENT2VEC; }

/* Allocate tables for a vocabulary; nsense_in (V, may be NULL) gives each
 * word's number of senses, otherwise they follow cfg. Takes the vocabulary. */
static sl_status model_alloc(sl_vocab *v, const sl_words_config *cfg, int threads, const uint8_t *nsense_in,
                             sl_words_model **out) {
    const size_t words = v->n; /* for the message: m owns v, and freeing m frees it */
    sl_words_model *m = sl__calloc(1, sizeof *m);
    if (!m) {
        sl_vocab_destroy(v);
        return sl__fail(SL_ERR_NOMEM, "word vectors: out of memory");
    }
    m->cfg = *cfg;
    m->cfg.checkpoint = NULL;
    m->cfg.stop = NULL;
    m->cfg.progress = NULL;
    m->threads = threads;
    m->vocab = v;
    m->V = v->n;
    m->dim = (size_t)cfg->dim;
    m->stride = (m->dim + SL__WALIGN - 1) / SL__WALIGN * SL__WALIGN;
    m->first = sl__malloc_array(m->V, sizeof *m->first, "word vectors");
    m->nsense = sl__malloc_array(m->V, sizeof *m->nsense, "word vectors");
    m->rng = sl__calloc((size_t)threads, sizeof *m->rng);
    m->pos = sl__calloc((size_t)threads * CHUNKS_PER_THREAD, sizeof *m->pos);
    if (!m->first || !m->nsense || !m->rng || !m->pos) goto nomem;
    size_t rows = 0;
    for (size_t i = 0; i < m->V; i++) {
        int k = 1;
        if (nsense_in)
            k = nsense_in[i];
        else if (cfg->senses > 1 && v->count[i] >= cfg->sense_min_count)
            k = cfg->senses;
        m->first[i] = (uint32_t)rows;
        m->nsense[i] = (uint8_t)k;
        rows += (size_t)k;
    }
    if (rows > UINT32_MAX) {
        sl_words_model_destroy(m);
        return sl__fail(SL_ERR_RANGE, "word vectors: %zu sense rows is too many", rows);
    }
    m->rows = rows;
    m->in_rows = rows + bucket_rows(cfg);
    if (cfg->maxn > 0) {
        sl_status s = sl__subtab_build((const char *const *)v->word, m->V, cfg->minn, cfg->maxn, cfg->bucket, &m->sub);
        if (s == SL_ERR_NOMEM) goto nomem;
        if (s) {
            sl_words_model_destroy(m);
            return s;
        }
    }
    size_t nin, nout;
    if (!sl_size_mul(m->in_rows, m->stride, &nin) || !sl_size_mul(m->V, m->stride, &nout)) goto nomem;
    m->in = aligned_floats(nin, &m->in_raw);
    m->out = aligned_floats(nout, &m->out_raw);
    m->sense_cnt = sl__calloc(rows, sizeof *m->sense_cnt);
    if (!m->in || !m->out || !m->sense_cnt) goto nomem;
    *out = m;
    return SL_OK;
nomem:
    sl_words_model_destroy(m);
    return sl__fail(SL_ERR_NOMEM, "word vectors: out of memory for %zu words x %d dims", words, cfg->dim);
}

const sl_vocab *sl_words_model_vocab(const sl_words_model *m) { return m->vocab; }
uint32_t sl_words_model_bucket(const sl_words_model *m) { return (uint32_t)bucket_rows(&m->cfg); }
void sl_words_model_ngrams(const sl_words_model *m, int *minn, int *maxn) {
    *minn = m->sub.first ? m->cfg.minn : 0;
    *maxn = m->sub.first ? m->cfg.maxn : 0;
}
const float *sl_words_model_bucket_row(const sl_words_model *m, size_t b) {
    return b < bucket_rows(&m->cfg) ? m->in + (m->rows + b) * m->stride : NULL;
}

/* With subwords and a context weight w, a vocabulary word's vector is the
 * mean of its n input rows (its own and its n-grams') plus w x its output
 * row. The model file keeps it in the word's own row, as row + n·w·output:
 * the mean over the same rows then gives it, and out-of-vocabulary words
 * (n-gram rows alone) are untouched. dst = that row of word `word`. */
static void fold_row(const sl_words_model *m, size_t word, float cw, float *dst) {
    const float *r = m->in + word * m->stride, *o = m->out + word * m->stride;
    float k = (float)((double)(m->sub.first[word + 1] - m->sub.first[word] + 1) * cw);
    for (size_t c = 0; c < m->dim; c++) dst[c] = r[c] + k * o[c];
}

/* The word rows of the model file and its in-memory twin: the input rows
 * (*fold NULL) or, with a context weight, their folded copy (V x stride,
 * the caller frees it). */
static sl_status folded_rows(const sl_words_model *m, float **fold) {
    *fold = NULL;
    float cw = sl__words_context_weight(m);
    if (cw == 0 || !m->sub.first) return SL_OK;
    *fold = sl__malloc_array(m->V * m->stride, sizeof **fold, "subword model");
    if (!*fold) return sl__fail(SL_ERR_NOMEM, "subword model: out of memory for %zu word rows", m->V);
    for (size_t w = 0; w < m->V; w++) fold_row(m, w, cw, *fold + w * m->stride);
    return SL_OK;
}

bool sl__words_model_compose(const sl_words_model *m, size_t word, float *out) {
    if (!m->sub.first) return false;
    float cw = sl__words_context_weight(m);
    if (cw != 0) fold_row(m, word, cw, out); /* read before written: see sl__subtab_mean */
    sl__subtab_mean(&m->sub, m->in, m->stride, m->dim, (uint32_t)word, cw != 0 ? out : NULL, out);
    return true;
}

/* The n-gram lengths the model file records: a sentence model's are 0. */
static sl_status model_ngrams(const sl_words_model *m, int *minn, int *maxn) {
    if (!m->sub.first && !is_sentence(m))
        return sl__fail(SL_ERR_ARG, "subword model: the model was trained without subwords (maxn 0) or sent2vec");
    sl_words_model_ngrams(m, minn, maxn);
    return SL_OK;
}

sl_status sl_words_model_save_subword(const sl_words_model *m, const char *path) {
    int minn = 0, maxn = 0;
    SL__TRY(model_ngrams(m, &minn, &maxn));
    const sl_words_config *c = &m->cfg;
    float *fold;
    SL__TRY(folded_rows(m, &fold));
    sl_status s = sl__subword_write(path, (const char *const *)m->vocab->word, m->vocab->count, m->V, m->dim, minn,
                                    maxn, c->bucket, c->vocab.lowercase, (sl__subrows){m->in, fold, m->stride});
    sl__free(fold);
    return s;
}

sl_status sl_words_subword_from_model(const sl_words_model *m, sl_words_subword **out) {
    int minn = 0, maxn = 0;
    SL__TRY(model_ngrams(m, &minn, &maxn));
    const sl_words_config *c = &m->cfg;
    float *fold;
    SL__TRY(folded_rows(m, &fold));
    sl_status s = sl__subword_create((const char *const *)m->vocab->word, m->vocab->count, m->V, m->dim, minn, maxn,
                                     c->bucket, c->vocab.lowercase, (sl__subrows){m->in, fold, m->stride}, out);
    sl__free(fold);
    return s;
}
int sl_words_model_dim(const sl_words_model *m) { return (int)m->dim; }
float sl__words_context_weight(const sl_words_model *m) {
    return m->cfg.senses > 1 || is_sentence(m) ? 0.0f : (float)m->cfg.context_weight;
}
size_t sl_words_model_rows(const sl_words_model *m) { return m->rows; }
const float *sl_words_model_row(const sl_words_model *m, size_t row) {
    return row < m->rows ? m->in + row * m->stride : NULL;
}
const float *sl_words_model_output_row(const sl_words_model *m, size_t word) {
    return word < m->V ? m->out + word * m->stride : NULL;
}

void sl_words_model_senses(const sl_words_model *m, size_t word, size_t *first, int *k, float *prior) {
    *first = m->first[word];
    *k = m->nsense[word];
    if (!prior) return;
    double sum = 0;
    for (int z = 0; z < *k; z++) sum += m->sense_cnt[*first + (size_t)z] + 1.0;
    for (int z = 0; z < *k; z++) prior[z] = (float)((m->sense_cnt[*first + (size_t)z] + 1.0) / sum);
}

void sl_words_config_default(sl_words_config *c) {
    memset(c, 0, sizeof *c);
    c->arch = SL_WORDS_SKIPGRAM;
    c->loss = SL_WORDS_NEG;
    c->negatives = SL_WORDS_SHARED;
    c->dim = 100;
    c->window = 5;
    c->negative = 5;
    c->sample = 1e-4;
    c->lr = 0.055;
    c->min_lr = 0;
    c->min_lr_frac = 1e-4;
    c->ns_exponent = 0.5;
    c->context_weight = 0.25;
    c->epochs = 5;
    c->threads = 0;
    c->seed = 1;
    c->vocab.min_count = 5;
    c->vocab.max_size = 0;
    c->vocab.lowercase = false;
    c->senses = 1;
    c->sense_min_count = 100;
    c->progress_mode = SL_PROGRESS_AUTO;
    c->cache_mb = 2048;
    c->minn = 3;
    c->maxn = 0;
    c->bucket = 2000000;
    c->drop_bigrams = 4;
}

static sl_status check_config(const sl_words_config *c) {
    if (c->dim < 1 || c->dim > 10000) return sl__fail(SL_ERR_ARG, "word vectors: dim %d, expected 1..10000", c->dim);
    if (c->window < 1 || c->window > 1000)
        return sl__fail(SL_ERR_ARG, "word vectors: window %d, expected 1..1000", c->window);
    if (c->loss == SL_WORDS_NEG && (c->negative < 1 || c->negative > 1000))
        return sl__fail(SL_ERR_ARG, "word vectors: negative %d, expected 1..1000", c->negative);
    if (!(c->sample >= 0 && c->sample < 1))
        return sl__fail(SL_ERR_ARG, "word vectors: sample %g, expected 0 <= sample < 1", c->sample);
    if (!(c->lr > 0 && c->lr <= 10)) return sl__fail(SL_ERR_ARG, "word vectors: lr %g, expected 0 < lr <= 10", c->lr);
    if (!(c->min_lr >= 0 && c->min_lr <= c->lr))
        return sl__fail(SL_ERR_ARG, "word vectors: min_lr %g, expected 0 <= min_lr <= lr (%g)", c->min_lr, c->lr);
    if (!(c->min_lr_frac >= 0 && c->min_lr_frac <= 1))
        return sl__fail(SL_ERR_ARG, "word vectors: min_lr_frac %g, expected 0..1", c->min_lr_frac);
    if (!(c->ns_exponent >= 0 && c->ns_exponent <= 2))
        return sl__fail(SL_ERR_ARG, "word vectors: ns_exponent %g, expected 0..2", c->ns_exponent);
    if (!(c->context_weight >= 0 && c->context_weight <= 10))
        return sl__fail(SL_ERR_ARG, "word vectors: context_weight %g, expected 0..10", c->context_weight);
    if (c->epochs < 1 || c->epochs > 100000)
        return sl__fail(SL_ERR_ARG, "word vectors: epochs %d, expected >= 1", c->epochs);
    if (c->senses < 1 || c->senses > MAX_SENSES)
        return sl__fail(SL_ERR_ARG, "word vectors: senses %d, expected 1..%d", c->senses, MAX_SENSES);
    if (c->senses > 1 && (c->arch != SL_WORDS_SKIPGRAM || c->loss != SL_WORDS_NEG))
        return sl__fail(SL_ERR_ARG, "word vectors: multi-sense vectors need skip-gram with negative sampling");
    if (c->maxn != 0) {
        if (c->maxn < 0 || c->maxn > SL_WORDS_MAX_NGRAM || c->minn < 1 || c->minn > c->maxn)
            return sl__fail(SL_ERR_ARG, "word vectors: minn %d, maxn %d, expected 1 <= minn <= maxn <= %d (maxn 0: no subwords)",
                            c->minn, c->maxn, SL_WORDS_MAX_NGRAM);
        if (c->senses > 1)
            return sl__fail(SL_ERR_ARG, "word vectors: subwords (maxn %d) do not combine with multi-sense vectors "
                            "(senses %d)", c->maxn, c->senses);
    }
    if (c->arch != SL_WORDS_SKIPGRAM && c->arch != SL_WORDS_CBOW && c->arch != SL_WORDS_SENT2VEC)
        return sl__fail(SL_ERR_ARG, "word vectors: unknown architecture %d", (int)c->arch);
    if (c->arch == SL_WORDS_SENT2VEC && (c->loss != SL_WORDS_NEG || c->senses > 1 || c->maxn > 0))
        return sl__fail(SL_ERR_ARG, "word vectors: sent2vec needs negative sampling, one sense per word and no "
                        "subwords (maxn %d)", c->maxn);
    if (uses_buckets(c) && (c->bucket < 1 || c->bucket > INT32_MAX))
        return sl__fail(SL_ERR_ARG, "word vectors: bucket %u, expected 1..%d", c->bucket, INT32_MAX);
    if (c->drop_bigrams < 0 || c->drop_bigrams > 100)
        return sl__fail(SL_ERR_ARG, "word vectors: drop_bigrams %d, expected 0..100", c->drop_bigrams);
    if (c->loss != SL_WORDS_NEG && c->loss != SL_WORDS_SOFTMAX)
        return sl__fail(SL_ERR_ARG, "word vectors: unknown loss %d", (int)c->loss);
    if (c->negatives != SL_WORDS_PER_PAIR && c->negatives != SL_WORDS_SHARED)
        return sl__fail(SL_ERR_ARG, "word vectors: unknown negatives mode %d", (int)c->negatives);
    return SL_OK;
}

/* ---- training context -------------------------------------------------------*/
typedef struct slice_cache {
    uint32_t *ids;
    size_t n, cap;
    bool ok, off; /* complete / given up (over the memory budget) */
} slice_cache;
typedef struct {
    /* written only by the owning thread; read by thread 0 after a barrier */
    double loss, npred;
    uint64_t raw, kept;
    sl_status status;
    char msg[256];
    double *sense_delta; /* rows: this thread's sense counts not yet merged */
    char pad[64];
} thread_state;

typedef struct {
    sl_words_model *m;
    const char *corpus;
    float *keep;         /* V: subsampling keep probability (sent2vec: of predicting the word) */
    float *aprob;        /* V: alias table for unigram^ns_exponent negatives */
    uint32_t *alias;
    sl__wtab tab;
    _Atomic uint64_t words_done;
    uint64_t total_words; /* epochs x in-vocabulary words */
    uint64_t start_words; /* words_done when this run started (progress counts from here) */
    const float **outp;   /* V output-row pointers (full softmax) */
    slice_cache *cache;   /* ROUNDS x chunks */
    _Atomic uint32_t next_chunk;
    uint32_t chunks;      /* per round */
    _Atomic uint64_t cache_bytes;
    uint64_t cache_budget;
    thread_state *ts;
    int T;                /* this process's threads */
    /* distributed runs: R ranks, each with T threads and lanes lane0 ..
     * lane0 + T - 1 of the model's R x T (see HOT_WORDS). round_base is the
     * ranks' word count at the round's start. */
    int R, rank, lane0;
    uint64_t round_base;
    double *sense_sum;    /* rows (R > 1, senses): the round's sense counts */
    float *base_in, *base_out; /* (R > 1) the model as every rank last held it */
    double exchange_secs;      /* time in sync_ranks and merge_words */
    float *row_len;            /* (R > 1) rows: the longest change of each row */
    void *base_raw[2];
    /* stop requests, polled by every thread at sentence ends */
    const volatile sig_atomic_t *intr;
    uint64_t stop_words;
    _Atomic bool halt;
} trainer;

/* Inline copies of the base generator's steps, so the hot loop has no calls;
 * they advance the same sl_rng state, which checkpoints store. */
static inline uint64_t rnd(sl_rng *r) {
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}
static inline float rnd_unit(sl_rng *r) { return (float)(rnd(r) >> 40) * 0x1.0p-24f; }
static inline uint32_t rnd_below(sl_rng *r, uint32_t n) { return (uint32_t)(((rnd(r) >> 32) * n) >> 32); }

static inline uint32_t sample_neg(const trainer *t, sl_rng *r) {
    uint64_t x = rnd(r);
    uint32_t i = (uint32_t)(((x >> 32) * (uint64_t)t->m->V) >> 32);
    float u = (float)(x & 0xffffff) * 0x1.0p-24f;
    return u < t->aprob[i] ? i : t->alias[i];
}

static inline float sigm(const trainer *t, float x) { return tab_sig(&t->tab, x); }
static inline float logsigm(const trainer *t, float x) { return tab_logsig(&t->tab, x); }

/* Vose's alias method for p(i) ∝ count[i]^exponent: an outcome is one
 * uniform column i plus one coin, i if the coin is below aprob[i], else
 * alias[i]. */
sl_status sl__words_alias_build(const uint64_t *count, size_t V, double exponent, float *aprob, uint32_t *alias) {
    double *w = sl__malloc_array(V, sizeof *w, "negative sampling table");
    uint32_t *small = sl__malloc_array(V, sizeof *small, "negative sampling table");
    uint32_t *large = sl__malloc_array(V, sizeof *large, "negative sampling table");
    if (!w || !small || !large) {
        sl__free(w);
        sl__free(small);
        sl__free(large);
        return SL_ERR_NOMEM;
    }
    double sum = 0;
    for (size_t i = 0; i < V; i++) {
        w[i] = pow((double)count[i], exponent);
        sum += w[i];
    }
    size_t ns = 0, nl = 0;
    for (size_t i = 0; i < V; i++) {
        w[i] = w[i] * (double)V / sum;
        if (w[i] < 1.0)
            small[ns++] = (uint32_t)i;
        else
            large[nl++] = (uint32_t)i;
    }
    while (ns && nl) {
        uint32_t s = small[--ns], l = large[nl - 1];
        aprob[s] = (float)w[s];
        alias[s] = l;
        w[l] -= 1.0 - w[s];
        if (w[l] < 1.0) {
            nl--;
            small[ns++] = l;
        }
    }
    while (nl) {
        uint32_t l = large[--nl];
        aprob[l] = 1.0f;
        alias[l] = l;
    }
    while (ns) {
        uint32_t s = small[--ns];
        aprob[s] = 1.0f;
        alias[s] = s;
    }
    sl__free(w);
    sl__free(small);
    sl__free(large);
    return SL_OK;
}

static sl_status build_tables(trainer *t) {
    sl_words_model *m = t->m;
    size_t V = m->V;
    sl__wtab_init(&t->tab);
    t->keep = sl__malloc_array(V, sizeof *t->keep, "subsampling table");
    t->aprob = sl__malloc_array(V, sizeof *t->aprob, "negative sampling table");
    t->alias = sl__malloc_array(V, sizeof *t->alias, "negative sampling table");
    if (!t->keep || !t->aprob || !t->alias) return SL_ERR_NOMEM;
    for (size_t i = 0; i < V; i++) t->keep[i] = (float)sl_vocab_keep_prob(m->vocab, i, m->cfg.sample);
    SL__TRY(sl__words_alias_build(m->vocab->count, V, m->cfg.ns_exponent, t->aprob, t->alias));
    if (m->cfg.loss == SL_WORDS_SOFTMAX) {
        t->outp = sl__malloc_array(V, sizeof *t->outp, "softmax rows");
        if (!t->outp) return SL_ERR_NOMEM;
        for (size_t i = 0; i < V; i++) t->outp[i] = m->out + i * m->stride;
    }
    return SL_OK;
}

static void free_tables(trainer *t) {
    sl__free(t->keep);
    sl__free(t->aprob);
    sl__free(t->alias);
    sl__free(t->outp);
    if (t->ts)
        for (int i = 0; i < t->T; i++) sl__free(t->ts[i].sense_delta);
    sl__free(t->sense_sum);
    sl__free(t->base_raw[0]);
    sl__free(t->base_raw[1]);
    sl__free(t->row_len);
    if (t->cache)
        for (size_t i = 0; i < (size_t)t->chunks * ROUNDS; i++) sl__free(t->cache[i].ids);
    sl__free(t->cache);
    sl__free(t->ts);
}

void sl__wtab_init(sl__wtab *t) {
    for (int i = 0; i <= SL__SIG_N; i++) {
        /* Entry i stands for the middle of its bin. */
        double x = ((double)i + 0.5) / SL__SIG_N * 2 * SL__SIG_MAX - SL__SIG_MAX;
        t->sig[i] = (float)(1.0 / (1.0 + exp(-x)));
        t->logsig[i] = (float)-log1p(exp(-x));
    }
}

/* ---- per-thread scratch -----------------------------------------------------*/
typedef struct {
    const float **a;  /* rows of the batch's left matrix */
    const float **b;  /* rows of the right matrix */
    float *S;         /* logits / gradients, left rows x right rows */
    float *D;         /* left rows x stride */
    float *h;         /* stride (CBOW mean) */
    float *H;         /* subwords: left rows x stride, the context words' composed vectors */
    uint32_t *cw;     /* subwords: the word of each left row */
    const float **rows; /* subwords: one word's rows (per-pair skip-gram) */
    uint32_t *neg;    /* 2 x negative: this prediction's and the next one's */
    uint32_t *sent;   /* MAX_SENT: the sentence being built */
    double *lq;       /* senses */
    float *E;         /* sent2vec: MAX_SENT x stride, each prediction's input step */
    float *M;         /* sent2vec with dropped bigrams: MAX_SENT x stride, the steps each bigram missed */
    double *ctx;      /* sent2vec: stride, a context's sum */
    uint32_t *drop;   /* sent2vec with dropped bigrams: MAX_SENT x dropped, each prediction's */
    float *P;         /* sent2vec: stride, the sum of the steps so far */
    double *acc;      /* sent2vec: stride, the sum of the sentence's rows */
    uint32_t *big;    /* sent2vec: MAX_SENT, the rows of the sentence's bigrams */
    uint8_t *pred;    /* sent2vec: MAX_SENT, whether each word is predicted */
    uint32_t *negs;   /* sent2vec: MAX_SENT x negative, their negatives */
    size_t max_left, max_right;
    void *D_raw, *h_raw, *H_raw, *E_raw, *P_raw, *M_raw;
} scratch;

static void scratch_free(scratch *s) {
    sl__free(s->a);
    sl__free(s->b);
    sl__free(s->S);
    sl__free(s->D_raw);
    sl__free(s->h_raw);
    sl__free(s->H_raw);
    sl__free(s->cw);
    sl__free(s->rows);
    sl__free(s->neg);
    sl__free(s->sent);
    sl__free(s->lq);
    sl__free(s->E_raw);
    sl__free(s->P_raw);
    sl__free(s->acc);
    sl__free(s->big);
    sl__free(s->pred);
    sl__free(s->negs);
    sl__free(s->M_raw);
    sl__free(s->ctx);
    sl__free(s->drop);
    memset(s, 0, sizeof *s); /* freeing again (after a failed scratch_alloc) is a no-op */
}

/* The bigrams dropped from each sent2vec context. */
static int s2v_drops(const sl_words_model *m) { return m->cfg.arch == SL_WORDS_SENT2VEC ? m->cfg.drop_bigrams : 0; }

static bool scratch_alloc(scratch *s, const sl_words_model *m) {
    memset(s, 0, sizeof *s);
    size_t W = 2 * (size_t)m->cfg.window;
    size_t K = (size_t)m->cfg.negative;
    s->max_left = SL__MAX(W, (size_t)m->cfg.senses);
    s->max_right = m->cfg.loss == SL_WORDS_SOFTMAX ? m->V : W + K + 1;
    /* With subwords a CBOW window's rows are its words' own and n-gram rows. */
    size_t per_word = 1 + m->sub.max;
    s->a = sl__calloc(s->max_left * per_word + 1, sizeof *s->a);
    if (m->sub.first) {
        s->H = aligned_floats((s->max_left + 1) * m->stride, &s->H_raw);
        s->cw = sl__calloc(s->max_left + 1, sizeof *s->cw);
        s->rows = sl__calloc(per_word, sizeof *s->rows);
        if (!s->H || !s->cw || !s->rows) {
            scratch_free(s);
            return false;
        }
    }
    if (m->cfg.arch == SL_WORDS_SENT2VEC) {
        s->E = aligned_floats((size_t)MAX_SENT * m->stride, &s->E_raw);
        s->P = aligned_floats(m->stride, &s->P_raw);
        s->acc = sl__calloc(m->stride, sizeof *s->acc);
        s->big = sl__calloc(MAX_SENT, sizeof *s->big);
        s->pred = sl__calloc(MAX_SENT, sizeof *s->pred);
        s->negs = sl__calloc((size_t)MAX_SENT * K, sizeof *s->negs);
        s->ctx = sl__calloc(m->stride, sizeof *s->ctx);
        size_t nd = (size_t)s2v_drops(m);
        if (nd) {
            s->M = aligned_floats((size_t)MAX_SENT * m->stride, &s->M_raw);
            s->drop = sl__calloc((size_t)MAX_SENT * nd, sizeof *s->drop);
        }
        if (!s->E || !s->P || !s->acc || !s->big || !s->pred || !s->negs || !s->ctx || (nd && (!s->M || !s->drop))) {
            scratch_free(s);
            return false;
        }
    }
    s->b = sl__calloc(SL__MAX(s->max_right, W) + 1, sizeof *s->b);
    s->S = sl__calloc((s->max_left + 1) * (s->max_right + 1), sizeof *s->S);
    s->D = aligned_floats((s->max_left + 1) * m->stride, &s->D_raw);
    s->h = aligned_floats(m->stride, &s->h_raw);
    s->neg = sl__calloc(2 * K + 1, sizeof *s->neg);
    s->lq = sl__calloc(MAX_SENSES, sizeof *s->lq);
    s->sent = sl__calloc(MAX_SENT, sizeof *s->sent);
    if (!s->a || !s->sent || !s->b || !s->S || !s->D || !s->h || !s->neg || !s->lq) {
        scratch_free(s);
        return false;
    }
    return true;
}

/* ---- one centre word ----------------------------------------------------------*/
/* Negative sampling with shared negatives: rows a[0..m) (input vectors)
 * against b = [positive, negatives] (output rows). The output rows move at
 * once; D receives the input rows' steps for the caller to add. With exact
 * set, σ and log σ are computed, not looked up (gradient checks). */
static inline double ns_core(const sl__wtab *tab, bool exact, const float *const *a, size_t m,
                             const float *const *b, size_t n, size_t d, float lr, float *S, float *D) {
    sl__w_dots(S, a, m, b, n, d);
    double loss = 0;
    for (size_t j = 0; j < m; j++) {
        float *g = S + j * n;
        for (size_t k = 0; k < n; k++) {
            float x = g[k], y = k == 0 ? 1.0f : 0.0f, sx;
            if (exact) {
                sx = (float)(1.0 / (1.0 + exp(-(double)x)));
                loss += y > 0 ? log1p(exp(-(double)x)) : log1p(exp((double)x));
            } else {
                sx = tab_sig(tab, x);
                loss -= tab_logsig(tab, y > 0 ? x : -x);
            }
            g[k] = (y - sx) * lr;
        }
    }
    /* D = G·B uses the old output rows; B += Gᵀ·A uses the old input rows;
     * only then do the input rows move (done by the caller). */
    sl__w_gb(D, S, m, b, n, d);
    sl__w_gta_add((float *const *)b, S, m, a, n, d);
    return loss;
}

double sl__words_ns_step(const sl__wtab *tab, const float *const *a, size_t m, const float *const *b, size_t n,
                         size_t d, float lr, float *S, float *D) {
    return tab ? ns_core(tab, false, a, m, b, n, d, lr, S, D) : ns_core(NULL, true, a, m, b, n, d, lr, S, D);
}

static void mean_rows(float *h, const float *const *a, size_t m, size_t d);

double sl__w_sub_pair(const sl__wtab *tab, float *const *rows, size_t k, float *const *b, size_t n, size_t d, float lr,
                      float *a, float *e) {
    mean_rows(a, (const float *const *)rows, k, d);
    double loss = tab ? sl__w_pair(tab, a, b, n, d, lr, e) : sl__w_pair(NULL, a, b, n, d, lr, e);
    if (lr != 0)
        for (size_t j = 0; j < k; j++) sl__w_add(rows[j], e, d);
    return loss;
}

/* Full softmax over all V output rows for rows a[0..m), target y. */
double sl__words_softmax_step(const float *const *a, size_t m, const float *const *b, size_t V, uint32_t y,
                              size_t d, float lr, float *S, float *D) {
    sl__w_dots(S, a, m, b, V, d);
    double loss = 0;
    for (size_t j = 0; j < m; j++) {
        float *g = S + j * V;
        float mx = g[0];
        for (size_t k = 1; k < V; k++) mx = g[k] > mx ? g[k] : mx;
        double z = 0;
        for (size_t k = 0; k < V; k++) z += exp((double)g[k] - mx);
        double lz = log(z) + mx;
        loss += lz - g[y];
        for (size_t k = 0; k < V; k++) g[k] = (float)(-exp((double)g[k] - lz)) * lr;
        g[y] += lr;
    }
    sl__w_gb(D, S, m, b, V, d);
    sl__w_gta_add((float *const *)b, S, m, a, V, d);
    return loss;
}

static inline double ns_batch(const trainer *t, scratch *s, size_t m, size_t n, float lr) {
    return ns_core(&t->tab, false, s->a, m, s->b, n, t->m->stride, lr, s->S, s->D);
}
static double softmax_batch(const trainer *t, scratch *s, size_t m, uint32_t y, float lr) {
    return sl__words_softmax_step(s->a, m, t->outp, t->m->V, y, t->m->stride, lr, s->S, s->D);
}

static inline void prefetch_row(const float *p, size_t d) {
    for (size_t c = 0; c < d; c += 16) __builtin_prefetch(p + c, 1, 3);
}

/* Draw the negatives of the next centre word now and prefetch the rows it
 * will touch, so their cache misses overlap with this word's arithmetic. */
static inline void prefetch_next(const trainer *t, sl_rng *rng, scratch *s, const uint32_t *sent, size_t len,
                                 size_t i) {
    const sl_words_model *M = t->m;
    size_t d = M->stride, K = (size_t)M->cfg.negative, W = (size_t)M->cfg.window;
    for (size_t k = 0; k < K; k++) {
        s->neg[k] = sample_neg(t, rng);
        prefetch_row(M->out + (size_t)s->neg[k] * d, d);
    }
    if (i + 1 < len) prefetch_row(M->out + (size_t)sent[i + 1] * d, d);
    if (i + 1 + W < len) prefetch_row(M->in + (size_t)M->first[sent[i + 1 + W]] * d, d);
}

static void mean_rows(float *h, const float *const *a, size_t m, size_t d) {
    float inv = 1.0f / (float)m;
    for (size_t k = 0; k < d; k++) {
        float acc = 0;
        for (size_t j = 0; j < m; j++) acc += a[j][k];
        h[k] = acc * inv;
    }
}

/* ---- subwords ---------------------------------------------------------------------*/
/* The input rows of word w into r: its own row, then (subwords on) its
 * n-grams'. Returns their number. */
static inline size_t word_rows(const sl_words_model *M, uint32_t w, const float **r) {
    size_t d = M->stride, n = 0;
    r[n++] = M->in + (size_t)w * d;
    if (M->sub.first)
        for (uint32_t k = M->sub.first[w]; k < M->sub.first[w + 1]; k++) r[n++] = M->in + (size_t)M->sub.row[k] * d;
    return n;
}

/* The input rows of a window (positions lo..hi but i) into a: the words'
 * own rows, with their n-gram rows when subwords are on. */
static inline size_t window_rows(const sl_words_model *M, const uint32_t *sent, size_t lo, size_t hi, size_t i,
                                 const float **a) {
    size_t m = 0;
    for (size_t j = lo; j < hi; j++)
        if (j != i) m += word_rows(M, sent[j], a + m);
    return m;
}

/* Add a step to every input row of word w (fastText's update of a mean). */
static inline void scatter(const sl_words_model *M, uint32_t w, const float *D) {
    size_t d = M->stride;
    sl__w_add(M->in + (size_t)w * d, D, d);
    for (uint32_t k = M->sub.first[w]; k < M->sub.first[w + 1]; k++) sl__w_add(M->in + (size_t)M->sub.row[k] * d, D, d);
}

/* ---- per-pair negatives ---------------------------------------------------------*/
/* Draw the negatives of the next prediction and prefetch their output rows,
 * so their cache misses overlap with this prediction's arithmetic. */
static inline void draw_negatives(const trainer *t, sl_rng *rng, uint32_t *neg) {
    const sl_words_model *M = t->m;
    size_t d = M->stride, K = (size_t)M->cfg.negative;
    for (size_t k = 0; k < K; k++) {
        neg[k] = sample_neg(t, rng);
        prefetch_row(M->out + (size_t)neg[k] * d, d);
    }
}

static inline void swap_ptr(uint32_t **a, uint32_t **b) {
    uint32_t *x = *a;
    *a = *b;
    *b = x;
}

/* Output rows (of `out`, d floats apart) of one prediction: the target w,
 * then the K negatives that are not w (word2vec and gensim skip those).
 * Returns their number. */
static inline size_t out_targets(const float **b, const float *out, size_t d, uint32_t w, const uint32_t *neg,
                                 size_t K) {
    size_t n = 0;
    b[n++] = out + (size_t)w * d;
    for (size_t k = 0; k < K; k++)
        if (neg[k] != w) b[n++] = out + (size_t)neg[k] * d;
    return n;
}
static inline size_t pair_targets(const sl_words_model *M, const float **b, uint32_t w, const uint32_t *neg) {
    return out_targets(b, M->out, M->stride, w, neg, (size_t)M->cfg.negative);
}

/* word2vec's training of one sentence: in skip-gram each context word's input
 * row predicts the centre word against its own negatives; in CBOW the mean of
 * the context rows does, and its step is added to every context row. The
 * negatives of the next prediction are drawn one prediction ahead. */
static double pair_sentence(trainer *t, scratch *s, thread_state *ts, sl_rng *rng, const uint32_t *sent,
                            size_t len, float lr) {
    sl_words_model *M = t->m;
    const sl_words_config *c = &M->cfg;
    size_t d = M->stride, K = (size_t)c->negative;
    uint32_t *cur = s->neg, *next = s->neg + K;
    float *const *b = (float *const *)s->b;
    double loss = 0;
    draw_negatives(t, rng, next);
    for (size_t i = 0; i < len; i++) {
        uint32_t w = sent[i];
        size_t win = 1 + rnd_below(rng, (uint32_t)c->window);
        size_t lo = i >= win ? i - win : 0, hi = SL__MIN(len, i + win + 1);
        if (i + 1 < len) prefetch_row(M->out + (size_t)sent[i + 1] * d, d);
        if (c->arch == SL_WORDS_CBOW) {
            size_t m = window_rows(M, sent, lo, hi, i, s->a);
            if (m == 0) continue;
            mean_rows(s->h, s->a, m, d);
            swap_ptr(&cur, &next);
            draw_negatives(t, rng, next);
            size_t n = pair_targets(M, s->b, w, cur);
            loss += sl__w_pair(&t->tab, s->h, b, n, d, lr, s->D);
            for (size_t j = 0; j < m; j++) sl__w_add((float *)s->a[j], s->D, d);
            ts->npred += 1;
            continue;
        }
        for (size_t j = lo; j < hi; j++) {
            if (j == i) continue;
            swap_ptr(&cur, &next);
            draw_negatives(t, rng, next);
            size_t n = pair_targets(M, s->b, w, cur);
            if (M->sub.first) {
                /* subwords: the mean of the context word's rows predicts */
                size_t k = word_rows(M, sent[j], s->rows);
                loss += sl__w_sub_pair(&t->tab, (float *const *)s->rows, k, b, n, d, lr, s->h, s->D);
            } else {
                float *in = M->in + (size_t)sent[j] * d;
                loss += sl__w_pair(&t->tab, in, b, n, d, lr, s->D);
                sl__w_add(in, s->D, d);
            }
            ts->npred += 1;
        }
    }
    return loss;
}

/* ---- sent2vec ---------------------------------------------------------------------*/

/* The line's sums at its start: acc (every row) and the bigrams' rows. */
static void s2v_start(const float *in, size_t d, uint32_t rows, uint32_t bucket, const sl__s2v_input *x,
                      const sl__s2v_scratch *s) {
    const uint32_t *sent = x->sent;
    memset(s->acc, 0, d * sizeof *s->acc);
    memset(s->P, 0, d * sizeof *s->P);
    if (x->ndrop) memset(s->M, 0, x->len * d * sizeof *s->M);
    for (size_t j = 0; j < x->len; j++) {
        const float *u = in + (size_t)sent[j] * d;
        for (size_t k = 0; k < d; k++) s->acc[k] += u[k];
        if (j + 1 == x->len) break;
        s->big[j] = rows + sl__bigram_bucket(sent[j], sent[j + 1], bucket);
        const float *g = in + (size_t)s->big[j] * d;
        for (size_t k = 0; k < d; k++) s->acc[k] += g[k];
    }
}

/* x -= bigram j's row as it is before prediction i: its row at the start,
 * plus every step so far but those of the predictions it was left out of
 * (j and j + 1, and those that dropped it: M). */
static void s2v_sub_bigram(double *x, const float *in, size_t d, const sl__s2v_input *in_x, const sl__s2v_scratch *s,
                           size_t j, size_t i) {
    const float *g = in + (size_t)s->big[j] * d, *P = s->P;
    const float *ej = j < i ? s->E + j * d : NULL, *en = j + 1 < i ? s->E + (j + 1) * d : NULL;
    const float *m = in_x->ndrop ? s->M + j * d : NULL;
    for (size_t k = 0; k < d; k++) {
        double v = (double)g[k] + P[k];
        if (ej) v -= ej[k];
        if (en) v -= en[k];
        if (m) v -= m[k];
        x[k] -= v;
    }
}

double sl__s2v_line(const sl__wtab *tab, float *in, float *out, size_t d, uint32_t rows, uint32_t bucket,
                    const sl__s2v_input *x, float lr, const sl__s2v_scratch *s) {
    size_t len = x->len, nrows = 2 * len - 1;
    if (len < 2) return 0;
    float *P = s->P;
    double *ctx = s->ctx;
    s2v_start(in, d, rows, bucket, x, s);
    double loss = 0;
    for (size_t i = 0; i < len; i++) {
        float *e = s->E + i * d;
        if (!x->pred[i]) {
            memset(e, 0, d * sizeof *e);
            continue;
        }
        /* the context: every row but word i's, its bigrams' and the dropped
         * bigrams', as they are now */
        const uint32_t *drop = x->ndrop ? x->drop + i * x->ndrop : NULL;
        size_t nd = 0;
        while (drop && nd < x->ndrop && drop[nd] != UINT32_MAX) nd++;
        size_t c = nrows - 1 - (i > 0) - (i + 1 < len) - nd;
        const float *u = in + (size_t)x->sent[i] * d;
        for (size_t k = 0; k < d; k++) ctx[k] = s->acc[k] - u[k] - P[k];
        if (i > 0) s2v_sub_bigram(ctx, in, d, x, s, i - 1, i);
        if (i + 1 < len) s2v_sub_bigram(ctx, in, d, x, s, i, i);
        for (size_t r = 0; r < nd; r++) s2v_sub_bigram(ctx, in, d, x, s, drop[r], i);
        double inv = 1.0 / (double)c;
        for (size_t k = 0; k < d; k++) s->h[k] = (float)(ctx[k] * inv);
        size_t n = out_targets(s->b, out, d, x->sent[i], x->neg + i * x->K, x->K);
        loss += sl__w_pair(tab, s->h, (float *const *)s->b, n, d, lr, e);
        float fc = (float)inv;
        for (size_t k = 0; k < d; k++) { /* each context row takes 1/c of the mean's step */
            e[k] *= fc;
            s->acc[k] += (double)c * e[k];
            P[k] += e[k];
        }
        for (size_t r = 0; r < nd; r++) sl__w_add(s->M + (size_t)drop[r] * d, e, d);
    }
    for (size_t j = 0; j < len; j++) {
        float *u = in + (size_t)x->sent[j] * d, *g = j + 1 < len ? in + (size_t)s->big[j] * d : NULL;
        const float *ej = s->E + j * d, *en = g ? ej + d : NULL, *m = g && x->ndrop ? s->M + j * d : NULL;
        for (size_t k = 0; k < d; k++) {
            u[k] += P[k] - ej[k];
            if (g) g[k] += P[k] - ej[k] - en[k] - (m ? m[k] : 0.0f);
        }
    }
    return loss;
}

/* Whether bigram j is dropped from prediction i's context. */
static bool s2v_dropped(const sl__s2v_input *x, size_t i, size_t j) {
    for (size_t r = 0; r < x->ndrop; r++)
        if (x->drop[i * x->ndrop + r] == j) return true;
    return false;
}

double sl__s2v_line_ref(const sl__wtab *tab, float *in, float *out, size_t d, uint32_t rows, uint32_t bucket,
                        const sl__s2v_input *x, float lr, const sl__s2v_scratch *s) {
    size_t len = x->len;
    if (len < 2) return 0;
    double loss = 0;
    float **ctx = sl__malloc_array(2 * len, sizeof *ctx, "sent2vec line"); /* the context's rows */
    if (!ctx) return NAN;
    for (size_t i = 0; i < len; i++) {
        if (!x->pred[i]) continue;
        size_t c = 0;
        for (size_t j = 0; j < len; j++) {
            if (j != i) ctx[c++] = in + (size_t)x->sent[j] * d;
            if (j + 1 < len && j != i && j + 1 != i && !s2v_dropped(x, i, j))
                ctx[c++] = in + ((size_t)rows + sl__bigram_bucket(x->sent[j], x->sent[j + 1], bucket)) * d;
        }
        for (size_t k = 0; k < d; k++) {
            double v = 0;
            for (size_t j = 0; j < c; j++) v += ctx[j][k];
            s->h[k] = (float)(v / (double)c);
        }
        size_t n = out_targets(s->b, out, d, x->sent[i], x->neg + i * x->K, x->K);
        loss += sl__w_pair_ref(tab, s->h, (float *const *)s->b, n, d, lr, s->P);
        for (size_t j = 0; j < c; j++)
            for (size_t k = 0; k < d; k++) ctx[j][k] += s->P[k] / (float)c;
    }
    sl__free(ctx);
    return loss;
}

/* nd distinct bigram positions of a line of len words that do not contain
 * word i, drawn uniformly (all of them when there are no more than nd), the
 * rest of the nd slots UINT32_MAX. */
static void s2v_draw_drops(sl_rng *rng, size_t len, size_t i, size_t nd, uint32_t *out) {
    size_t eligible = (len - 1) - (i > 0) - (i + 1 < len), n = 0;
    if (eligible <= nd) {
        for (size_t j = 0; j + 1 < len; j++)
            if (j + 1 != i && j != i) out[n++] = (uint32_t)j;
    } else {
        while (n < nd) {
            uint32_t j = rnd_below(rng, (uint32_t)(len - 1));
            bool dup = j + 1 == i || j == i;
            for (size_t r = 0; r < n && !dup; r++) dup = out[r] == j;
            if (!dup) out[n++] = j;
        }
    }
    while (n < nd) out[n++] = UINT32_MAX;
}

/* The trainer's line: which words are predicted (subsampling), the
 * negatives of each, then sl__s2v_line. */
static double sent2vec_sentence(trainer *t, scratch *s, thread_state *ts, sl_rng *rng, const uint32_t *sent,
                                size_t len, float lr) {
    sl_words_model *M = t->m;
    size_t K = (size_t)M->cfg.negative;
    if (len < 2) return 0;
    for (size_t i = 0; i < len; i++) {
        float kp = t->keep[sent[i]];
        s->pred[i] = !(kp < 1.0f && rnd_unit(rng) >= kp);
        for (size_t k = 0; s->pred[i] && k < K; k++) s->negs[i * K + k] = sample_neg(t, rng);
        ts->npred += s->pred[i];
        ts->kept += s->pred[i];
    }
    size_t nd = (size_t)s2v_drops(M);
    for (size_t i = 0; nd && i < len; i++)
        if (s->pred[i]) s2v_draw_drops(rng, len, i, nd, s->drop + i * nd);
    sl__s2v_scratch sc = {s->E, s->M, s->P, s->h, s->acc, s->ctx, s->big, s->b};
    sl__s2v_input x = {sent, len, s->pred, s->negs, K, nd ? s->drop : NULL, nd};
    return sl__s2v_line(&t->tab, M->in, M->out, M->stride, (uint32_t)M->rows, M->cfg.bucket, &x, lr, &sc);
}

/* Multi-sense skip-gram at centre i (context lo..hi): the centre's senses
 * predict the context words; the sense of this occurrence is latent. Left
 * rows are the senses, right rows the contexts then the shared negatives.
 * Subtracts the marginal log-likelihood from *loss; false when there is no
 * context. */
static bool sense_step(trainer *t, scratch *s, thread_state *ts, sl_rng *rng, const uint32_t *sent, size_t len,
                       size_t i, size_t lo, size_t hi, float lr, double *loss) {
    sl_words_model *M = t->m;
    const sl_words_config *c = &M->cfg;
    size_t d = M->stride, K = (size_t)c->negative, m = 0;
    uint32_t w = sent[i];
    size_t ks = M->nsense[w], f0 = M->first[w];
    for (size_t j = lo; j < hi; j++)
        if (j != i) s->b[m++] = M->out + (size_t)sent[j] * d;
    if (m == 0) return false;
    size_t n = m;
    for (size_t k = 0; k < K; k++) s->b[n++] = M->out + (size_t)s->neg[k] * d;
    prefetch_next(t, rng, s, sent, len, i);
    for (size_t z = 0; z < ks; z++) s->a[z] = M->in + (f0 + z) * d;
    sl__w_dots(s->S, s->a, ks, s->b, n, d);
    /* E-step: posterior of each sense given this context,
     * q(z) ∝ p(z|x) Π_y p(y|x,z), with the NS score as log p. */
    double best = -INFINITY, psum = 0;
    size_t arg = 0;
    for (size_t z = 0; z < ks; z++) psum += M->sense_cnt[f0 + z] + ts->sense_delta[f0 + z] + 1.0;
    for (size_t z = 0; z < ks; z++) {
        const float *g = s->S + z * n;
        double sc = 0;
        for (size_t k = 0; k < m; k++) sc += logsigm(t, g[k]);
        for (size_t k = m; k < n; k++) sc += logsigm(t, -g[k]);
        double prior = (M->sense_cnt[f0 + z] + ts->sense_delta[f0 + z] + 1.0) / psum;
        s->lq[z] = log(prior) + sc;
        if (s->lq[z] > best) {
            best = s->lq[z];
            arg = z;
        }
    }
    double zs = 0;
    for (size_t z = 0; z < ks; z++) zs += exp(s->lq[z] - best);
    *loss -= best + log(zs); /* marginal: -log Σ_z p(z|x) Π_y p(y|x,z) */
    for (size_t z = 0; z < ks; z++) {
        double q = c->hard_senses ? (z == arg) : exp(s->lq[z] - best) / zs;
        ts->sense_delta[f0 + z] += q;
        float qlr = (float)q * lr;
        float *g = s->S + z * n;
        for (size_t k = 0; k < m; k++) g[k] = (1.0f - sigm(t, g[k])) * qlr;
        for (size_t k = m; k < n; k++) g[k] = -sigm(t, g[k]) * qlr;
    }
    sl__w_gb(s->D, s->S, ks, s->b, n, d);
    sl__w_gta_add((float *const *)s->b, s->S, ks, s->a, n, d);
    for (size_t z = 0; z < ks; z++) sl__w_add((float *)s->a[z], s->D + z * d, d);
    ts->npred += (double)m;
    return true;
}

/* The right rows for the centre word w: w's output row and the shared
 * negatives other than w; prefetches for the next position. Returns their
 * number. */
static size_t centre_targets(trainer *t, scratch *s, sl_rng *rng, const uint32_t *sent, size_t len, size_t i) {
    sl_words_model *M = t->m;
    size_t d = M->stride, K = (size_t)M->cfg.negative, n = 0;
    uint32_t w = sent[i];
    s->b[n++] = M->out + (size_t)w * d;
    for (size_t k = 0; k < K; k++)
        if (s->neg[k] != w) s->b[n++] = M->out + (size_t)s->neg[k] * d;
    prefetch_next(t, rng, s, sent, len, i);
    return n;
}

/* CBOW at centre i with the m context rows in s->a: their mean predicts the
 * centre; its gradient goes to every context row, as in word2vec. */
static void cbow_step(trainer *t, scratch *s, thread_state *ts, sl_rng *rng, const uint32_t *sent, size_t len,
                      size_t i, size_t m, float lr, double *loss) {
    sl_words_model *M = t->m;
    size_t d = M->stride;
    mean_rows(s->h, s->a, m, d);
    /* The batch's left row is the mean, in s->a[m] (the rows stay before it). */
    const float **ctx = s->a, *keep = s->a[0];
    s->a[m] = keep;
    s->a[0] = s->h;
    if (M->cfg.loss == SL_WORDS_SOFTMAX)
        *loss += softmax_batch(t, s, 1, sent[i], lr);
    else
        *loss += ns_batch(t, s, 1, centre_targets(t, s, rng, sent, len, i), lr);
    ctx[0] = ctx[m];
    for (size_t j = 0; j < m; j++) sl__w_add((float *)ctx[j], s->D, d);
    ts->npred += 1;
}

/* Skip-gram at centre i with the m context rows in s->a: every context row
 * predicts the centre word. */
static void skipgram_step(trainer *t, scratch *s, thread_state *ts, sl_rng *rng, const uint32_t *sent, size_t len,
                          size_t i, size_t m, float lr, double *loss) {
    sl_words_model *M = t->m;
    size_t d = M->stride;
    if (M->cfg.loss == SL_WORDS_SOFTMAX)
        *loss += softmax_batch(t, s, m, sent[i], lr);
    else
        *loss += ns_batch(t, s, m, centre_targets(t, s, rng, sent, len, i), lr);
    for (size_t j = 0; j < m; j++) {
        if (M->sub.first)
            scatter(M, s->cw[j], s->D + j * d); /* s->a[j] is the composed vector of word cw[j] */
        else
            sl__w_add((float *)s->a[j], s->D + j * d, d);
    }
    ts->npred += (double)m;
}

/* Process one sentence of (subsampled) word ids. Returns the loss and adds
 * the number of predictions to *npred. */
static double train_sentence(trainer *t, scratch *s, thread_state *ts, sl_rng *rng, const uint32_t *sent,
                             size_t len, float lr) {
    sl_words_model *M = t->m;
    const sl_words_config *c = &M->cfg;
    size_t d = M->stride, K = (size_t)c->negative;
    if (c->arch == SL_WORDS_SENT2VEC) return sent2vec_sentence(t, s, ts, rng, sent, len, lr);
    if (c->loss == SL_WORDS_NEG && c->negatives == SL_WORDS_PER_PAIR && c->senses == 1)
        return pair_sentence(t, s, ts, rng, sent, len, lr);
    double loss = 0;
    if (c->loss == SL_WORDS_NEG)
        for (size_t k = 0; k < K; k++) s->neg[k] = sample_neg(t, rng);
    for (size_t i = 0; i < len; i++) {
        size_t b = 1 + rnd_below(rng, (uint32_t)c->window);
        size_t lo = i >= b ? i - b : 0, hi = SL__MIN(len, i + b + 1);
        if (c->senses > 1) {
            sense_step(t, s, ts, rng, sent, len, i, lo, hi, lr, &loss);
            continue;
        }
        size_t m = 0;
        if (c->arch == SL_WORDS_CBOW)
            m = window_rows(M, sent, lo, hi, i, s->a);
        else if (M->sub.first)
            for (size_t j = lo; j < hi; j++) {
                if (j == i) continue;
                float *h = s->H + m * d;
                mean_rows(h, s->rows, word_rows(M, sent[j], s->rows), d);
                s->cw[m] = sent[j];
                s->a[m++] = h;
            }
        else
            for (size_t j = lo; j < hi; j++)
                if (j != i) s->a[m++] = M->in + (size_t)sent[j] * d;
        if (m == 0) continue;
        if (c->arch == SL_WORDS_CBOW)
            cbow_step(t, s, ts, rng, sent, len, i, m, lr, &loss);
        else
            skipgram_step(t, s, ts, rng, sent, len, i, m, lr, &loss);
    }
    return loss;
}

/* The words done by every rank: this process's count since the round
 * started, times the ranks (they read at the same pace), plus the rest. */
static double words_all(const trainer *t, uint64_t done) {
    if (t->R == 1) return (double)done;
    return (double)t->round_base + (double)(done - t->round_base) * t->R;
}

static float lr_at(const trainer *t, uint64_t done) {
    const sl_words_config *c = &t->m->cfg;
    double p = words_all(t, done) / ((double)t->total_words + 1.0);
    if (p > 1) p = 1;
    double lr = c->lr * (1.0 - p) + c->min_lr * p, floor = c->lr * c->min_lr_frac;
    return (float)(lr > floor ? lr : floor);
}

/* A stop was asked for: by the caller's flag, or by the word counter (the
 * shared one plus this thread's words not yet added to it, so that with one
 * thread the stop falls on the same word every time). Once one thread has
 * stopped, the others follow at their next sentence end. */
static inline bool stop_requested(trainer *t, uint64_t pending) {
    if (atomic_load_explicit(&t->halt, memory_order_relaxed) || (t->intr && *t->intr) ||
        (t->stop_words && atomic_load_explicit(&t->words_done, memory_order_relaxed) + pending >= t->stop_words)) {
        atomic_store_explicit(&t->halt, true, memory_order_relaxed);
        return true;
    }
    return false;
}

/* The words of one (thread, round) slice as vocabulary ids, with BREAK for
 * line ends, kept from the first pass so later epochs skip reading and
 * hashing. Slices that would pass the memory budget are streamed instead. */
#define BREAK UINT32_MAX

static bool cache_push(trainer *t, slice_cache *c, uint32_t id) {
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 4096;
        uint64_t add = (uint64_t)(nc - c->cap) * sizeof *c->ids;
        uint64_t used = atomic_fetch_add_explicit(&t->cache_bytes, add, memory_order_relaxed) + add;
        uint32_t *ni = used <= t->cache_budget ? sl__realloc(c->ids, nc * sizeof *ni) : NULL;
        if (!ni) {
            sl__free(c->ids);
            c->ids = NULL;
            c->n = c->cap = 0;
            c->off = true;
            return false;
        }
        c->ids = ni;
        c->cap = nc;
    }
    c->ids[c->n++] = id;
    return true;
}

typedef struct {
    uint32_t *sent;
    size_t len;
    uint64_t pending;
    float lr;
    uint64_t tokens; /* tokens (word ids and line breaks) of the slice consumed */
} slice_state;

static inline void flush(trainer *t, scratch *s, int tid, slice_state *st) {
    if (st->len)
        t->ts[tid].loss += train_sentence(t, s, &t->ts[tid], &t->m->rng[t->lane0 + tid], st->sent, st->len, st->lr);
    st->len = 0;
}

/* Feed one token (an id or BREAK) to the sentence being built. Between
 * sentences it first looks for a stop request, and then returns false
 * without consuming the token: everything before it is trained, nothing
 * after it, so a resumed run starts from this token with the same state. */
static inline bool feed(trainer *t, scratch *s, int tid, slice_state *st, uint32_t id, sl_progress *prog,
                        const char *fields) {
    if (st->len == 0 && stop_requested(t, st->pending)) return false;
    st->tokens++;
    if (id == BREAK) {
        flush(t, s, tid, st);
        return true;
    }
    thread_state *ts = &t->ts[tid];
    sl_rng *rng = &t->m->rng[t->lane0 + tid];
    ts->raw++;
    if (++st->pending == LR_CHUNK) {
        /* The shared counter is only touched every LR_CHUNK words. */
        uint64_t done = atomic_fetch_add_explicit(&t->words_done, st->pending, memory_order_relaxed) + st->pending;
        st->pending = 0;
        st->lr = lr_at(t, done);
        if (tid == 0 && prog) sl_progress_update(prog, (uint64_t)words_all(t, done) - t->start_words, fields);
    }
    if (!is_sentence(t->m)) { /* sent2vec keeps whole lines: subsampling picks the words it predicts */
        float k = t->keep[id];
        if (k < 1.0f && rnd_unit(rng) >= k) return true;
        ts->kept++;
    }
    st->sent[st->len++] = id;
    if (st->len == MAX_SENT) flush(t, s, tid, st); /* long lines are cut into pieces */
    return true;
}

/* Pass over the first `skip` tokens of a slice that an earlier, stopped run
 * has trained: only the count of words since the last update of the shared
 * counter is rebuilt (the counter itself holds the rest). */
static inline void skip_token(slice_state *st, uint32_t id) {
    st->tokens++;
    if (id != BREAK && ++st->pending == LR_CHUNK) st->pending = 0;
}

/* The end of a slice: train what is left and hand in the word count. */
static void slice_end(trainer *t, scratch *s, int tid, slice_state *st) {
    flush(t, s, tid, st);
    atomic_fetch_add_explicit(&t->words_done, st->pending, memory_order_relaxed);
}

/* One chunk of the corpus: the words whose first byte lies in [start, end).
 * *pos holds how many of its tokens are already trained; on return it is
 * CHUNK_DONE, or, when a stop request came first, the tokens trained by then
 * (the words of the unfinished count are not handed in: a resumed run counts
 * them again while skipping). */
static sl_status train_slice(trainer *t, scratch *s, int tid, size_t slot, uint64_t start, uint64_t end,
                             uint64_t *pos, sl_progress *prog, const char *fields) {
    sl_words_model *M = t->m;
    slice_cache *c = &t->cache[slot];
    uint64_t skip = *pos;
    slice_state st = {s->sent, 0, 0, lr_at(t, atomic_load_explicit(&t->words_done, memory_order_relaxed)), 0};
    if (c->ok) {
        for (size_t i = 0; i < c->n; i++) {
            if (st.tokens < skip) {
                skip_token(&st, c->ids[i]);
            } else if (!feed(t, s, tid, &st, c->ids[i], prog, fields)) {
                *pos = st.tokens;
                return SL_OK;
            }
        }
        slice_end(t, s, tid, &st);
        *pos = CHUNK_DONE;
        return SL_OK;
    }
    bool record = !c->off && t->cache_budget > 0, stopped = false;
    sl__corpus rd;
    SL__TRY(sl__corpus_open(&rd, t->corpus, start, end, M->cfg.vocab.lowercase));
    char w[SL_WORDS_MAX_WORD + 1];
    bool nl;
    int n;
    while (!stopped && (n = sl__corpus_next(&rd, w, &nl)) > 0) {
        long id = sl__vocab_find_n(M->vocab, w, (size_t)n);
        for (int k = nl ? 0 : 1; k < 2 && !stopped; k++) {
            uint32_t tok = k == 0 ? BREAK : (uint32_t)id;
            if (k == 1 && id < 0) break;
            if (st.tokens < skip)
                skip_token(&st, tok);
            else
                stopped = !feed(t, s, tid, &st, tok, prog, fields);
            if (!stopped && record) record = cache_push(t, c, tok);
        }
    }
    sl__corpus_close(&rd);
    if (!stopped && n < 0) return SL_ERR_IO;
    if (stopped) {
        *pos = st.tokens;
        return SL_OK;
    }
    slice_end(t, s, tid, &st);
    if (record) c->ok = true;
    *pos = CHUNK_DONE;
    return SL_OK;
}

/* ---- checkpoints -----------------------------------------------------------------*/
/* Version 2 added the negatives mode, min_lr and the positions inside the
 * current round; version 1 files (shared negatives, min_lr 0, stopped at a
 * round boundary) are still read. Version 3 adds minn, maxn and bucket (maxn
 * 0: no subwords) to the integer settings, the negative exponent and the
 * context weight to the real ones, and, with subwords, the bucket rows after
 * the word rows of the input vectors; versions 1 and 2 resume with exponent
 * 0.75 and weight 0. Version 4 adds drop_bigrams (sent2vec); earlier
 * versions resume with 0. Version 5 applies the context weight to subword
 * models too; earlier versions' subword models resume with weight 0, the
 * input rows they saved. */
static const char CKPT_MAGIC[8] = {'S', 'L', 'W', 'C', 'K', 'P', 'T', '1'};
#define CKPT_VERSION 5u

static bool w_all(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n; }
#define WV(f, x) w_all(f, &(x), sizeof(x))

static sl_status ckpt_write(const sl_words_model *m, const char *path) {
    sl_afile *af;
    SL__TRY(sl_afile_open(path, &af));
    FILE *f = sl_afile_stream(af);
    const sl_words_config *c = &m->cfg;
    bool ok = w_all(f, CKPT_MAGIC, 8);
    uint32_t ver = CKPT_VERSION;
    int32_t ints[15] = {(int32_t)c->arch, (int32_t)c->loss, c->dim,           c->window,
                        c->negative,      c->epochs,        c->senses,        c->hard_senses,
                        c->vocab.lowercase, m->threads,     (int32_t)c->negatives, c->minn,
                        c->maxn,          (int32_t)c->bucket, c->drop_bigrams};
    double dbl[6] = {c->sample, c->lr, c->min_lr_frac, c->min_lr, c->ns_exponent, c->context_weight};
    uint64_t u64s[5] = {c->seed, c->sense_min_count, c->vocab.min_count, (uint64_t)c->vocab.max_size,
                        m->corpus_size};
    uint64_t V = m->V, rows = m->rows;
    ok = ok && WV(f, ver) && w_all(f, ints, sizeof ints) && w_all(f, dbl, sizeof dbl) && w_all(f, u64s, sizeof u64s);
    ok = ok && WV(f, m->words_done) && WV(f, m->epoch) && WV(f, m->round) && WV(f, V) && WV(f, rows);
    ok = ok && w_all(f, m->pos, (size_t)m->threads * CHUNKS_PER_THREAD * sizeof *m->pos);
    for (size_t i = 0; ok && i < m->V; i++) {
        uint32_t len = m->vocab->len[i];
        ok = WV(f, len) && w_all(f, m->vocab->word[i], len) && WV(f, m->vocab->count[i]);
    }
    ok = ok && w_all(f, m->nsense, m->V) && w_all(f, m->sense_cnt, m->rows * sizeof *m->sense_cnt);
    ok = ok && w_all(f, m->rng, (size_t)m->threads * sizeof *m->rng);
    for (size_t r = 0; ok && r < m->in_rows; r++) ok = w_all(f, m->in + r * m->stride, m->dim * sizeof(float));
    for (size_t r = 0; ok && r < m->V; r++) ok = w_all(f, m->out + r * m->stride, m->dim * sizeof(float));
    ok = ok && w_all(f, "SLWEND\0\0", 8);
    if (!ok) {
        sl_afile_abort(af);
        return sl__fail(SL_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    }
    return sl_afile_commit(af);
}

typedef struct {
    FILE *f;
    const char *path;
    uint64_t left;
} reader;

static sl_status r_bytes(reader *r, void *p, uint64_t n, const char *what) {
    if (n > r->left || fread(p, 1, (size_t)n, r->f) != n)
        return sl__fail(SL_ERR_FORMAT, "%s: checkpoint truncated while reading %s", r->path, what);
    r->left -= n;
    return SL_OK;
}

typedef struct {
    sl_words_config c;
    int threads;
    uint64_t words_done, V, rows, corpus_size;
    uint32_t epoch, round;
    uint64_t *pos; /* threads x CHUNKS_PER_THREAD; all 0 in version 1 */
} ckpt_header;

/* Magic, version, settings, position and sizes, checked. */
static sl_status ckpt_read_header(reader *r, ckpt_header *h) {
    const char *path = r->path;
    char magic[8];
    uint32_t ver;
    int32_t ints[15];
    double dbl[6];
    uint64_t u64s[5];
    sl_status s;
    SL__TRY(r_bytes(r, magic, 8, "the magic"));
    if (memcmp(magic, CKPT_MAGIC, 8) != 0)
        return sl__fail(SL_ERR_FORMAT, "%s: not a simlearn word-vector checkpoint (bad magic)", path);
    SL__TRY(r_bytes(r, &ver, 4, "the version"));
    if (ver < 1 || ver > CKPT_VERSION)
        return sl__fail(SL_ERR_UNSUPPORTED, "%s: checkpoint version %u, expected 1 to %u", path, ver, CKPT_VERSION);
    size_t nints = ver == 1 ? 10 : ver == 2 ? 11 : ver == 3 ? 14 : 15, ndbl = ver == 1 ? 3 : ver == 2 ? 4 : 6;
    if ((s = r_bytes(r, ints, nints * 4, "the settings")) != SL_OK ||
        (s = r_bytes(r, dbl, ndbl * 8, "the settings")) != SL_OK ||
        (s = r_bytes(r, u64s, sizeof u64s, "the settings")) != SL_OK ||
        (s = r_bytes(r, &h->words_done, 8, "the position")) != SL_OK ||
        (s = r_bytes(r, &h->epoch, 4, "the position")) != SL_OK ||
        (s = r_bytes(r, &h->round, 4, "the position")) != SL_OK || (s = r_bytes(r, &h->V, 8, "the sizes")) != SL_OK ||
        (s = r_bytes(r, &h->rows, 8, "the sizes")) != SL_OK)
        return s;
    sl_words_config *c = &h->c;
    sl_words_config_default(c);
    c->arch = (sl_words_arch)ints[0];
    c->loss = (sl_words_loss)ints[1];
    c->dim = ints[2];
    c->window = ints[3];
    c->negative = ints[4];
    c->epochs = ints[5];
    c->senses = ints[6];
    c->hard_senses = ints[7] != 0;
    c->vocab.lowercase = ints[8] != 0;
    h->threads = ints[9];
    c->negatives = ver == 1 ? SL_WORDS_SHARED : (sl_words_negatives)ints[10];
    if (ver >= 3) { /* maxn 0: no subwords */
        c->minn = ints[11];
        c->maxn = ints[12];
        c->bucket = (uint32_t)ints[13];
    }
    c->drop_bigrams = ver >= 4 ? ints[14] : 0;
    c->sample = dbl[0];
    c->lr = dbl[1];
    c->min_lr_frac = dbl[2];
    c->min_lr = ver == 1 ? 0 : dbl[3];
    /* versions 1 and 2 drew negatives by count^0.75 and saved the input rows */
    c->ns_exponent = ver < 3 ? 0.75 : dbl[4];
    c->context_weight = ver < 3 || (ver < 5 && c->maxn > 0) ? 0 : dbl[5];
    c->seed = u64s[0];
    c->sense_min_count = u64s[1];
    c->vocab.min_count = u64s[2];
    c->vocab.max_size = (size_t)u64s[3];
    h->corpus_size = u64s[4];
    if ((s = check_config(c)) != SL_OK) return sl__fail_prefix(s, "%s: checkpoint settings: ", path);
    /* Every word takes at least 13 bytes and every row dim floats, so sizes
     * beyond what the file can hold are rejected before allocating. */
    uint64_t V = h->V, rows = h->rows;
    if (h->threads < 1 || h->threads > MAX_LANES || V == 0 || V > r->left / 13 || rows < V || rows > V * MAX_SENSES ||
        h->epoch > (uint32_t)c->epochs || h->round >= ROUNDS)
        return sl__fail(SL_ERR_FORMAT, "%s: checkpoint header has impossible values (%llu words, %llu rows, %d threads)",
                        path, (unsigned long long)V, (unsigned long long)rows, h->threads);
    size_t npos = (size_t)h->threads * CHUNKS_PER_THREAD;
    h->pos = sl__calloc(npos, sizeof *h->pos);
    if (!h->pos) return sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
    if (ver != 1) SL__TRY(r_bytes(r, h->pos, npos * sizeof *h->pos, "the round position"));
    return SL_OK;
}

/* The V vocabulary words (length, bytes) and counts, in decreasing order of
 * count; words[i] are allocated here. */
static sl_status ckpt_read_words(reader *r, uint64_t V, char **words, uint64_t *counts) {
    const char *path = r->path;
    for (uint64_t i = 0; i < V; i++) {
        uint32_t len;
        SL__TRY(r_bytes(r, &len, 4, "the vocabulary"));
        if (len == 0 || len > SL_WORDS_MAX_WORD)
            return sl__fail(SL_ERR_FORMAT, "%s: vocabulary word %llu has length %u, expected 1..%d", path,
                            (unsigned long long)i, len, SL_WORDS_MAX_WORD);
        words[i] = sl__malloc(len + 1);
        if (!words[i]) return sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
        SL__TRY(r_bytes(r, words[i], len, "the vocabulary"));
        SL__TRY(r_bytes(r, &counts[i], 8, "the vocabulary"));
        words[i][len] = '\0';
        if (i > 0 && counts[i] > counts[i - 1])
            return sl__fail(SL_ERR_FORMAT, "%s: vocabulary counts are not in decreasing order at word %llu", path,
                            (unsigned long long)i);
    }
    return SL_OK;
}

/* Each word's number of senses, adding up to the header's rows, and the size
 * of the rest of the file checked against them. */
static sl_status ckpt_read_senses(reader *r, const ckpt_header *h, uint8_t *nsense) {
    const char *path = r->path;
    uint64_t V = h->V, rows = h->rows;
    SL__TRY(r_bytes(r, nsense, V, "the sense counts"));
    uint64_t total_rows = 0;
    for (uint64_t i = 0; i < V; i++) {
        if (nsense[i] < 1 || nsense[i] > MAX_SENSES)
            return sl__fail(SL_ERR_FORMAT, "%s: word %llu has %u senses, expected 1..%d", path, (unsigned long long)i,
                            nsense[i], MAX_SENSES);
        total_rows += nsense[i];
    }
    if (total_rows != rows)
        return sl__fail(SL_ERR_FORMAT, "%s: senses add up to %llu rows, header says %llu", path,
                        (unsigned long long)total_rows, (unsigned long long)rows);
    uint64_t bucket = bucket_rows(&h->c);
    uint64_t need = rows * 8 + (uint64_t)h->threads * sizeof(sl_rng) + (rows + bucket + V) * (uint64_t)h->c.dim * 4 + 8;
    if (need != r->left)
        return sl__fail(SL_ERR_FORMAT, "%s: checkpoint %s: %llu bytes after the vocabulary, expected %llu", path,
                        r->left < need ? "truncated" : "has trailing bytes", (unsigned long long)r->left,
                        (unsigned long long)need);
    return SL_OK;
}

/* The model's state: sense counts, random streams, input and output vectors
 * (the input ones finite), the end marker, and the position from h. */
static sl_status ckpt_read_state(reader *r, const ckpt_header *h, sl_words_model *m) {
    const char *path = r->path;
    SL__TRY(r_bytes(r, m->sense_cnt, h->rows * 8, "the sense counts"));
    SL__TRY(r_bytes(r, m->rng, (uint64_t)h->threads * sizeof(sl_rng), "the random state"));
    for (size_t i = 0; i < m->in_rows; i++) SL__TRY(r_bytes(r, m->in + i * m->stride, m->dim * 4, "the input vectors"));
    for (size_t i = 0; i < m->V; i++) SL__TRY(r_bytes(r, m->out + i * m->stride, m->dim * 4, "the output vectors"));
    for (size_t i = 0; i < m->in_rows * m->stride; i++)
        if (!isfinite(m->in[i]))
            return sl__fail(SL_ERR_NUMERIC, "%s: input vector row %zu holds a non-finite value", path, i / m->stride);
    char end[8];
    SL__TRY(r_bytes(r, end, 8, "the end marker"));
    if (memcmp(end, "SLWEND\0\0", 8) != 0) return sl__fail(SL_ERR_FORMAT, "%s: checkpoint end marker missing", path);
    m->words_done = h->words_done;
    m->epoch = h->epoch;
    m->round = h->round;
    memcpy(m->pos, h->pos, (size_t)h->threads * CHUNKS_PER_THREAD * sizeof *m->pos);
    m->corpus_size = h->corpus_size;
    return SL_OK;
}

static sl_status ckpt_read(const char *path, sl_words_model **out) {
    uint64_t size;
    SL__TRY(sl__file_size(path, &size));
    reader r = {fopen(path, "rb"), path, size};
    if (!r.f) return sl__fail(SL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    ckpt_header h = {0};
    sl_words_model *m = NULL;
    sl_vocab *v = NULL;
    char **words = NULL;
    uint64_t *counts = NULL;
    uint8_t *nsense = NULL;
    sl_status s = ckpt_read_header(&r, &h);
    if (s == SL_OK) {
        words = sl__calloc(h.V, sizeof *words);
        counts = sl__calloc(h.V, sizeof *counts);
        nsense = sl__calloc(h.V, 1);
        if (!words || !counts || !nsense) s = sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
    }
    if (s == SL_OK) s = ckpt_read_words(&r, h.V, words, counts);
    if (s == SL_OK) s = sl_vocab_from_counts((const char *const *)words, counts, h.V, &v);
    if (s == SL_OK) s = ckpt_read_senses(&r, &h, nsense);
    if (s == SL_OK) {
        s = model_alloc(v, &h.c, h.threads, nsense, &m);
        v = NULL;
    }
    if (s == SL_OK) s = ckpt_read_state(&r, &h, m);
    sl__free(h.pos);
    if (words)
        for (uint64_t i = 0; i < h.V; i++) sl__free(words[i]);
    sl__free(words);
    sl__free(counts);
    sl__free(nsense);
    sl_vocab_destroy(v);
    fclose(r.f);
    if (s != SL_OK) {
        sl_words_model_destroy(m);
        return s;
    }
    *out = m;
    return SL_OK;
}

/* ---- the driver ----------------------------------------------------------------*/
static void init_vectors(sl_words_model *m) {
    /* word2vec's start: input rows uniform in ±0.5/dim, output rows zero. A
     * single stream keeps this independent of the thread count. */
    sl_rng r;
    sl_rng_seed(&r, m->cfg.seed, 0xffffffffULL);
    for (size_t i = 0; i < m->in_rows; i++) /* the word rows, then the bucket rows */
        for (size_t k = 0; k < m->dim; k++) m->in[i * m->stride + k] = (sl_rng_uniform(&r) - 0.5f) / (float)m->dim;
    for (int t = 0; t < m->threads; t++) sl_rng_seed(&m->rng[t], m->cfg.seed, (uint64_t)t);
}

/* State of a run shared by the threads; thread 0 alone writes it, and only
 * between the two barriers that end a round. */
typedef struct {
    sl_progress *prog;
    double last_ckpt;
    uint64_t rounds_done;
    bool stop, interrupted;
    sl_status fail;
    char fail_msg[256];
    double epoch_loss, epoch_pred, last_loss;
    char fields[96];
} run_state;

static sl_status trainer_init(trainer *t, sl_words_model *m, const char *corpus, const sl_words_config *user) {
    memset(t, 0, sizeof *t);
    t->m = m;
    t->corpus = corpus;
    t->R = sl_dist_size();
    t->rank = sl_dist_rank();
    t->T = m->threads / t->R;
    t->lane0 = t->rank * t->T;
    t->round_base = m->words_done;
    t->total_words = (uint64_t)m->cfg.epochs * m->vocab->total;
    atomic_init(&t->words_done, m->words_done);
    t->start_words = m->words_done;
    atomic_init(&t->cache_bytes, 0);
    t->cache_budget = (uint64_t)user->cache_mb << 20;
    atomic_init(&t->halt, false);
    t->intr = user->stop;
    t->stop_words = user->stop_at_words;
    t->chunks = (uint32_t)t->T * CHUNKS_PER_THREAD;
    atomic_init(&t->next_chunk, 0);
    sl_status s = build_tables(t);
    if (s == SL_OK) {
        t->cache = sl__calloc((size_t)t->chunks * ROUNDS, sizeof *t->cache);
        t->ts = sl__calloc((size_t)t->T, sizeof *t->ts);
        if (!t->cache || !t->ts) s = SL_ERR_NOMEM;
    }
    for (int i = 0; s == SL_OK && i < t->T; i++) {
        t->ts[i].sense_delta = sl__calloc(m->rows, sizeof(double));
        if (!t->ts[i].sense_delta) s = SL_ERR_NOMEM;
    }
    if (s == SL_OK && t->R > 1 && m->cfg.senses > 1 && !(t->sense_sum = sl__calloc(m->rows, sizeof(double))))
        s = SL_ERR_NOMEM;
    if (s == SL_OK && t->R > 1) {
        t->base_in = aligned_floats(m->in_rows * m->stride, &t->base_raw[0]);
        t->base_out = aligned_floats(m->V * m->stride, &t->base_raw[1]);
        t->row_len = sl__malloc_array(m->in_rows, sizeof *t->row_len, "word vectors");
        if (!t->base_in || !t->base_out || !t->row_len) s = SL_ERR_NOMEM;
        else {
            memcpy(t->base_in, m->in, m->in_rows * m->stride * sizeof(float));
            memcpy(t->base_out, m->out, m->V * m->stride * sizeof(float));
        }
    }
    if (s != SL_OK) {
        free_tables(t);
        return s == SL_ERR_NOMEM ? sl__fail(s, "word vectors: out of memory for the training tables") : s;
    }
    return SL_OK;
}

/* One thread's share of a round (up to chunk `limit`): it takes the round's
 * chunks in turn, so a thread slowed down by other work on the machine does
 * not hold the others up at the barrier, until they are all taken or a stop
 * is asked for. */
static void work_round(trainer *t, scratch *sc, int tid, bool ok, run_state *rs, uint32_t limit) {
    sl_words_model *m = t->m;
    uint64_t F = m->corpus_size, T = (uint64_t)t->T, L = (uint64_t)m->threads;
    uint64_t per_lane = (uint64_t)ROUNDS * CHUNKS_PER_THREAD;
    while (ok && t->ts[tid].status == SL_OK && !stop_requested(t, 0)) {
        uint32_t c = atomic_fetch_add_explicit(&t->next_chunk, 1, memory_order_relaxed);
        if (c >= limit) break;
        /* The file is cut into L lanes, as if each thread had its own part
         * (a distributed run's ranks take T lanes each); chunk c of a round
         * is piece c / T of lane lane0 + c % T, so threads taking chunks in
         * turn read T distant places at once, as word2vec's and fastText's
         * threads do. Its position is pos[g], g the chunk's number among
         * the L lanes' chunks of the round. */
        uint64_t lane = (uint64_t)t->lane0 + c % T, k = (uint64_t)m->round * CHUNKS_PER_THREAD + c / T;
        uint64_t *pos = &m->pos[c / T * L + lane];
        if (*pos == CHUNK_DONE) continue; /* trained before a resume */
        uint64_t l0 = (uint64_t)((__uint128_t)F * lane / L);
        uint64_t l1 = (uint64_t)((__uint128_t)F * (lane + 1) / L);
        uint64_t a = l0 + (uint64_t)((__uint128_t)(l1 - l0) * k / per_lane);
        uint64_t b = l0 + (uint64_t)((__uint128_t)(l1 - l0) * (k + 1) / per_lane);
        size_t slot = (size_t)m->round * t->chunks + c;
        sl_status st = train_slice(t, sc, tid, slot, a, b, pos, tid == 0 ? rs->prog : NULL, rs->fields);
        if (st != SL_OK) {
            t->ts[tid].status = st;
            snprintf(t->ts[tid].msg, sizeof t->ts[tid].msg, "%s", sl_error_message());
        }
    }
}

/* A distributed run's ranks' chunk positions and random streams, each rank's
 * own lanes sent to every rank, so that all hold the whole state (and rank 0
 * can checkpoint it). */
static sl_status gather_positions(trainer *t) {
    sl_words_model *m = t->m;
    size_t T = (size_t)t->T, L = (size_t)m->threads, n = T * CHUNKS_PER_THREAD;
    size_t bytes = n * sizeof *m->pos + T * sizeof *m->rng;
    unsigned char *buf = sl__malloc_array((size_t)t->R + 1, bytes, "word vectors");
    if (!buf) return SL_ERR_NOMEM;
    unsigned char *mine = buf + bytes * (size_t)t->R;
    for (size_t c = 0; c < n; c++) memcpy(mine + c * 8, &m->pos[c / T * L + (size_t)t->lane0 + c % T], 8);
    memcpy(mine + n * 8, &m->rng[t->lane0], T * sizeof *m->rng);
    sl_status s = sl_dist_allgather(mine, bytes, buf);
    for (size_t r = 0; s == SL_OK && r < (size_t)t->R; r++) {
        const unsigned char *b = buf + r * bytes;
        for (size_t c = 0; c < n; c++) memcpy(&m->pos[c / T * L + r * T + c % T], b + c * 8, 8);
        memcpy(&m->rng[r * T], b + n * 8, T * sizeof *m->rng);
    }
    sl__free(buf);
    return s;
}

/* |a - s·b|² of a row of d floats (d a multiple of SL__WALIGN), in
 * SL__WALIGN independent lanes so that it vectorises. */
static float row_dist2(const float *a, const float *b, float s, size_t d) {
    float acc[SL__WALIGN] = {0};
    for (size_t k = 0; k < d; k += SL__WALIGN)
        for (int l = 0; l < SL__WALIGN; l++) {
            float e = a[k + l] - s * b[k + l];
            acc[l] += e * e;
        }
    float q = 0;
    for (int l = 0; l < SL__WALIGN; l++) q += acc[l];
    return q;
}

/* The first `rows` rows of x (t->stride floats each) become base plus the
 * ranks' changes since base (the state they last held in common), added up,
 * and base becomes that new common state. A row's added-up change is cut
 * down to at most MAX_GROWTH times the longest change one rank made to it:
 * rows that every rank moves the same way between exchanges (the frequent
 * words') would otherwise move N times as far, which from 4 ranks on
 * diverges. (The sum is the sum of the x less N times base.) */
static sl_status merge_changes(const trainer *t, float *x, float *base, size_t rows) {
    size_t d = t->m->stride;
    float *len = t->row_len, N = (float)t->R;
    for (size_t r = 0; r < rows; r++) len[r] = row_dist2(x + r * d, base + r * d, 1.0f, d);
    SL__TRY(sl_dist_max_f32(len, rows));
    SL__TRY(sl_dist_sum_f32(x, rows * d));
    for (size_t r = 0; r < rows; r++) {
        float *xr = x + r * d, *br = base + r * d;
        float q = row_dist2(xr, br, N, d), most = MAX_GROWTH * MAX_GROWTH * len[r];
        float g = q > most ? sqrtf(most / q) : 1.0f;
        for (size_t k = 0; k < d; k++) br[k] = xr[k] = br[k] + g * (xr[k] - N * br[k]);
    }
    return SL_OK;
}

/* The exchange of the model (thread 0 of every rank, in step): the rows of
 * the first `words` words (all: every row, the subwords' bucket rows
 * included). */
static sl_status merge_words(trainer *t, size_t words) {
    sl_words_model *m = t->m;
    double t0 = sl_time_now();
    size_t n = m->V < words ? m->V : words, in_rows = n < m->V ? m->first[n] : m->in_rows;
    sl_status s = merge_changes(t, m->in, t->base_in, in_rows);
    if (s == SL_OK) s = merge_changes(t, m->out, t->base_out, n);
    t->exchange_secs += sl_time_now() - t0;
    if (s != SL_OK) return sl__fail(s, "word vectors: the ranks' exchange failed: %s", sl_error_message());
    return SL_OK;
}

/* Between waves of a round: the frequent words' rows. */
static void merge_hot(trainer *t) {
    sl_status s = merge_words(t, HOT_WORDS);
    if (s != SL_OK && t->ts[0].status == SL_OK) {
        t->ts[0].status = s;
        snprintf(t->ts[0].msg, sizeof t->ts[0].msg, "%s", sl_error_message());
    }
}

/* The ranks of a distributed run after a round (thread 0 of each, in step):
 * they agree on failures and stop requests (and take rank 0's clock for
 * timed checkpoints: flags[2]), sum the round's loss, predictions, words
 * and sense counts, and gather the positions (end_round then exchanges the
 * model). round: this rank's loss and predictions. */
static void sync_ranks(trainer *t, run_state *rs, const double round[2], int64_t flags[3]) {
    sl_words_model *m = t->m;
    uint64_t done = atomic_load(&t->words_done);
    double sums[3] = {round[0], round[1], (double)(done - t->round_base)};
    int64_t failed = flags[0];
    sl_status s = sl_dist_max_i64(flags, 3);
    if (s == SL_OK && flags[0] && !failed) {
        rs->fail = SL_ERR_STATE;
        snprintf(rs->fail_msg, sizeof rs->fail_msg, "rank %d of the run stopped with an error (see its message)",
                 (int)flags[0] - 1);
        return;
    }
    if (flags[0]) return;
    if (s == SL_OK) s = sl_dist_sum_f64(sums, 3);
    if (s == SL_OK && t->sense_sum) s = sl_dist_sum_f64(t->sense_sum, m->rows);
    if (s == SL_OK) s = gather_positions(t);
    if (s != SL_OK) {
        rs->fail = s;
        snprintf(rs->fail_msg, sizeof rs->fail_msg, "word vectors: the ranks' exchange failed: %s", sl_error_message());
        return;
    }
    for (size_t r = 0; t->sense_sum && r < m->rows; r++) {
        m->sense_cnt[r] += t->sense_sum[r];
        t->sense_sum[r] = 0;
    }
    rs->epoch_loss += sums[0];
    rs->epoch_pred += sums[1];
    m->words_done = t->round_base + (uint64_t)sums[2];
    t->round_base = m->words_done;
    atomic_store(&t->words_done, m->words_done);
}

/* Merge the threads' counts: failures, sense counts, loss and predictions
 * (a distributed run's into round, for sync_ranks). */
static void merge_threads(trainer *t, run_state *rs, double round[2]) {
    sl_words_model *m = t->m;
    for (int i = 0; i < t->T; i++) {
        if (t->ts[i].status != SL_OK && rs->fail == SL_OK) {
            rs->fail = t->ts[i].status;
            snprintf(rs->fail_msg, sizeof rs->fail_msg, "%s", t->ts[i].msg);
        }
        if (m->cfg.senses > 1) { /* what the threads learnt about sense frequencies */
            double *to = t->sense_sum ? t->sense_sum : m->sense_cnt;
            for (size_t r = 0; r < m->rows; r++) {
                to[r] += t->ts[i].sense_delta[r];
                t->ts[i].sense_delta[r] = 0;
            }
        }
        if (t->R > 1) {
            round[0] += t->ts[i].loss;
            round[1] += t->ts[i].npred;
        } else {
            rs->epoch_loss += t->ts[i].loss;
            rs->epoch_pred += t->ts[i].npred;
        }
        t->ts[i].loss = t->ts[i].npred = 0;
    }
}

/* Rank 0 writes the checkpoint; in a distributed run the others learn
 * whether it could. */
static void checkpoint(trainer *t, const sl_words_config *user, run_state *rs) {
    int64_t failed = 0;
    if (t->rank == 0) {
        sl_status cs = ckpt_write(t->m, user->checkpoint);
        if (cs != SL_OK) {
            rs->fail = cs;
            snprintf(rs->fail_msg, sizeof rs->fail_msg, "%s", sl_error_message());
            failed = 1;
        }
    }
    if (t->R > 1 && sl_dist_max_i64(&failed, 1) == SL_OK && failed && t->rank != 0) {
        rs->fail = SL_ERR_IO;
        snprintf(rs->fail_msg, sizeof rs->fail_msg, "rank 0 could not write the checkpoint %s", user->checkpoint);
    }
    if (failed) rs->stop = true;
}

/* Thread 0 after a round: merge the threads' counts (and the ranks'), move
 * the position on (unless a stop left chunks unfinished: the round then
 * stays open and the checkpoint records their positions), decide whether to
 * stop, checkpoint. */
static void end_round(trainer *t, const sl_words_config *user, run_state *rs) {
    sl_words_model *m = t->m;
    atomic_store_explicit(&t->next_chunk, 0, memory_order_relaxed);
    double round[2] = {0, 0}, now = sl_time_now();
    merge_threads(t, rs, round);
    if (rs->fail == SL_OK && !isfinite(t->R > 1 ? round[0] : rs->epoch_loss)) {
        /* before any exchange or checkpoint: the last checkpoint stays the last good state */
        rs->fail = SL_ERR_NUMERIC;
        snprintf(rs->fail_msg, sizeof rs->fail_msg,
                 "word vectors: the loss became non-finite in epoch %u (the vectors diverged); a lower --lr "
                 "(this run: %g) may help",
                 m->epoch + 1, m->cfg.lr);
    }
    bool stop_asked = stop_requested(t, 0);
    bool timed = user->checkpoint_every > 0 && now - rs->last_ckpt >= user->checkpoint_every;
    if (t->R > 1) {
        int64_t flags[3] = {rs->fail != SL_OK ? t->rank + 1 : 0, stop_asked, t->rank == 0 && timed};
        double t0 = sl_time_now();
        sync_ranks(t, rs, round, flags);
        t->exchange_secs += sl_time_now() - t0;
        stop_asked = flags[1] != 0;
        timed = flags[2] != 0;
    } else {
        m->words_done = atomic_load(&t->words_done);
    }
    snprintf(rs->fields, sizeof rs->fields, "loss %.4f lr %.5f",
             rs->epoch_pred > 0 ? rs->epoch_loss / rs->epoch_pred : 0.0, (double)lr_at(t, m->words_done));
    size_t npos = (size_t)m->threads * CHUNKS_PER_THREAD;
    bool complete = true;
    for (size_t c = 0; c < npos; c++) complete = complete && m->pos[c] == CHUNK_DONE;
    if (complete) {
        memset(m->pos, 0, npos * sizeof *m->pos);
        rs->rounds_done++;
        if (++m->round == (uint32_t)ROUNDS) {
            m->round = 0;
            m->epoch++;
            rs->last_loss = rs->epoch_pred > 0 ? rs->epoch_loss / rs->epoch_pred : NAN;
            rs->epoch_loss = rs->epoch_pred = 0;
        }
    }
    bool done = m->epoch >= (uint32_t)m->cfg.epochs;
    if (rs->fail != SL_OK) rs->stop = true;
    if (!done && rs->fail == SL_OK &&
        (!complete || (user->stop_after_rounds && rs->rounds_done >= user->stop_after_rounds) || stop_asked))
        rs->stop = rs->interrupted = true;
    bool ckpt = user->checkpoint && rs->fail == SL_OK && !done && (m->round == 0 || rs->interrupted || timed);
    if (t->R > 1 && rs->fail == SL_OK) {
        /* The last wave's exchange: every row before a checkpoint, a stop or
         * the end, and every FULL_EVERY rounds; the frequent rows otherwise. */
        bool full = ckpt || done || rs->stop || (complete && m->round % FULL_EVERY == 0);
        sl_status s = merge_words(t, full ? SIZE_MAX : HOT_WORDS);
        if (s != SL_OK) {
            rs->fail = s;
            snprintf(rs->fail_msg, sizeof rs->fail_msg, "%s", sl_error_message());
            rs->stop = true;
            ckpt = false;
        }
    }
    if (ckpt) {
        checkpoint(t, user, rs);
        rs->last_ckpt = now;
    }
    if (done) rs->stop = true;
    if (rs->prog) sl_progress_update(rs->prog, m->words_done - t->start_words, rs->fields);
}

static sl_status run(const char *corpus, sl_words_model *m, const sl_words_config *user, sl_words_stats *stats) {
    trainer t;
    SL__TRY(trainer_init(&t, m, corpus, user));
    run_state rs = {.fail = SL_OK, .last_loss = NAN};
    if (user->progress && t.rank == 0 && sl_progress_create(user->progress, user->progress_mode, "words",
                                             t.total_words - m->words_done, "words", &rs.prog) != SL_OK)
        rs.prog = NULL;
    double t0 = sl_time_now();
    rs.last_ckpt = t0;
#pragma omp parallel num_threads(t.T)
    {
        int tid = omp_get_thread_num();
        scratch sc;
        bool ok = scratch_alloc(&sc, m);
        if (!ok) {
            t.ts[tid].status = SL_ERR_NOMEM;
            snprintf(t.ts[tid].msg, sizeof t.ts[tid].msg, "word vectors: out of memory for thread scratch");
        }
        for (;;) {
#pragma omp barrier
            if (rs.stop) break;
            /* A distributed run's waves: see HOT_WORDS. */
            uint32_t waves = t.R > 1 ? WAVES : 1, per_wave = t.chunks / waves;
            for (uint32_t w = 1; w < waves; w++) {
                work_round(&t, &sc, tid, ok, &rs, w * per_wave);
#pragma omp barrier
                if (tid == 0) {
                    merge_hot(&t);
                    atomic_store_explicit(&t.next_chunk, w * per_wave, memory_order_relaxed);
                }
#pragma omp barrier
            }
            work_round(&t, &sc, tid, ok, &rs, t.chunks);
#pragma omp barrier
            if (tid == 0) end_round(&t, user, &rs);
        }
        scratch_free(&sc);
    }
    double secs = sl_time_now() - t0;
    uint64_t raw = 0, kept = 0;
    for (int i = 0; i < t.T; i++) {
        raw += t.ts[i].raw;
        kept += t.ts[i].kept;
    }
    if (t.R > 1 && rs.fail == SL_OK) { /* the words every rank read */
        double counts[2] = {(double)raw, (double)kept};
        if (sl_dist_sum_f64(counts, 2) == SL_OK) {
            raw = (uint64_t)counts[0];
            kept = (uint64_t)counts[1];
        }
    }
    if (rs.prog) {
        /* The final line reports the whole run as done; a stopped run keeps
         * its last report instead (a bar only needs its line ended). */
        if (!rs.interrupted)
            sl_progress_finish(rs.prog, rs.fields);
        else if (user->progress_mode == SL_PROGRESS_BAR ||
                 (user->progress_mode == SL_PROGRESS_AUTO && isatty(fileno(user->progress))))
            fputc('\n', user->progress);
        sl_progress_destroy(rs.prog);
    }
    free_tables(&t);
    if (rs.fail != SL_OK) return sl__fail(rs.fail, "%s", rs.fail_msg);
    if (stats) {
        stats->raw_words = raw;
        stats->trained = kept;
        stats->seconds = secs;
        stats->words_per_sec = secs > 0 ? (double)raw / secs : 0;
        stats->loss = rs.last_loss;
        stats->interrupted = rs.interrupted;
        stats->exchange_seconds = t.exchange_secs;
    }
    if (rs.interrupted && user->stop && *user->stop) {
        if (user->checkpoint) return sl__fail(SL_ERR_INTERRUPTED, "interrupted; the state is in %s", user->checkpoint);
        return sl__fail(SL_ERR_INTERRUPTED, "interrupted; nothing saved (no checkpoint file was given)");
    }
    return SL_OK;
}

static int pick_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    return n < 1 ? 1 : n > MAX_LANES ? MAX_LANES : n;
}

sl_status sl_words_train(const char *corpus, const sl_words_config *cfg, sl_words_model **out,
                         sl_words_stats *stats) {
    SL__TRY(check_config(cfg));
    uint64_t fsize;
    SL__TRY(sl__file_size(corpus, &fsize));
    sl_vocab *v;
    SL__TRY(sl__vocab_scan(corpus, &cfg->vocab, cfg->stop, &v));
    sl_words_model *m;
    int lanes = sl_dist_size() * pick_threads(cfg->threads);
    if (lanes > MAX_LANES) {
        sl_vocab_destroy(v);
        return sl__fail(SL_ERR_ARG, "threads: %d ranks x %d threads is more than %d lanes", sl_dist_size(),
                        pick_threads(cfg->threads), MAX_LANES);
    }
    SL__TRY(model_alloc(v, cfg, lanes, NULL, &m));
    m->corpus_size = fsize;
    init_vectors(m);
    sl_status s = run(corpus, m, cfg, stats);
    if (s != SL_OK) {
        sl_words_model_destroy(m);
        return s;
    }
    *out = m;
    return SL_OK;
}

sl_status sl_words_resume(const char *corpus, const char *checkpoint, const sl_words_config *cfg,
                          sl_words_model **out, sl_words_stats *stats) {
    uint64_t fsize;
    SL__TRY(sl__file_size(corpus, &fsize));
    sl_words_model *m;
    SL__TRY(ckpt_read(checkpoint, &m));
    if (m->threads % sl_dist_size() != 0) {
        int lanes = m->threads;
        sl_words_model_destroy(m);
        return sl__fail(SL_ERR_STATE,
                        "%s: the run was cut into %d parts (ranks x threads); resume it with a number of ranks that "
                        "divides %d (each then runs %d / ranks threads), not %d",
                        checkpoint, lanes, lanes, lanes, sl_dist_size());
    }
    if (m->corpus_size != fsize) {
        unsigned long long was = (unsigned long long)m->corpus_size;
        sl_words_model_destroy(m);
        return sl__fail(SL_ERR_STATE, "%s: the checkpoint was made on a corpus of %llu bytes, %s has %llu",
                        checkpoint, was, corpus, (unsigned long long)fsize);
    }
    sl_status s = SL_OK;
    if (m->epoch < (uint32_t)m->cfg.epochs) s = run(corpus, m, cfg, stats);
    else if (stats)
        memset(stats, 0, sizeof *stats);
    if (s != SL_OK) {
        sl_words_model_destroy(m);
        return s;
    }
    *out = m;
    return SL_OK;
}

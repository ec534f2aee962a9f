/* simlearn words: word vectors learned by predicting neighbours, p(y|x) ∝
 * exp(u(y)·v(x)). A streaming corpus reader and vocabulary, skip-gram and
 * CBOW trained with negative sampling or the full softmax, multi-sense
 * vectors with latent senses, and the standard evaluations (analogies, word
 * similarity, nearest words), and Poincaré embeddings of hierarchies.
 * Threads: a vocabulary, a trained model and word vectors are only read once
 * made, so any number of threads may read them at once; training runs its own
 * cfg->threads threads and leaves the caller's OpenMP thread count as it was;
 * sl_words_analogy must not be called inside an OpenMP parallel region. An
 * edge list is only read once made; Poincaré training, like word training,
 * runs its own cfg->threads threads. */
#ifndef SIMLEARN_WORDS_H
#define SIMLEARN_WORDS_H

#include <signal.h>

#include "simlearn/base.h"
#include "simlearn/io.h"
#include "simlearn/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Work rounds per epoch: the ranks of a distributed run exchange their whole
 * models and a run may stop (and checkpoint) between rounds. */
#define SL_WORDS_ROUNDS 8

/* ---- vocabulary -----------------------------------------------------------
 * Words are byte strings split on ASCII whitespace (space, tab, CR, LF, VT,
 * FF) and NUL bytes and capped at SL_WORDS_MAX_WORD bytes (cut at a UTF-8 character
 * boundary). Entries are sorted by decreasing count, ties by byte order, so
 * index 0 is the most frequent word. Immutable once built: safe to share
 * between threads. */
#define SL_WORDS_MAX_WORD 100

typedef struct sl_vocab_config {
    uint64_t min_count; /* words seen fewer times are dropped (default 5) */
    size_t max_size;    /* keep at most this many words, 0 = no limit */
    bool lowercase;     /* ASCII-lowercase every word while reading */
} sl_vocab_config;
/* Fill c with the defaults: min_count 5, no size limit, case kept. */
void sl_vocab_config_default(sl_vocab_config *c);

typedef struct sl_vocab sl_vocab;
/* Scan a corpus file once. Errors: SL_ERR_IO (cannot open/read),
 * SL_ERR_FORMAT (no word reaches min_count, naming the corpus), SL_ERR_NOMEM. */
sl_status sl_vocab_build(const char *corpus, const sl_vocab_config *cfg, sl_vocab **out);
/* Build from words and counts given directly (any order; they are sorted). */
sl_status sl_vocab_from_counts(const char *const *words, const uint64_t *counts, size_t n, sl_vocab **out);
void sl_vocab_destroy(sl_vocab *v);
size_t sl_vocab_size(const sl_vocab *v);
const char *sl_vocab_word(const sl_vocab *v, size_t i);
uint64_t sl_vocab_count(const sl_vocab *v, size_t i);
/* Sum of the counts of the kept words (the in-vocabulary tokens of one pass). */
uint64_t sl_vocab_total(const sl_vocab *v);
/* Index of a word, or -1. */
long sl_vocab_find(const sl_vocab *v, const char *word);
/* word2vec's subsampling: the probability of keeping an occurrence of word
 * i, min(1, (sqrt(f/(s·T)) + 1)·s·T/f) with f its count and T the total;
 * 1 when sample <= 0. */
double sl_vocab_keep_prob(const sl_vocab *v, size_t i, double sample);

/* ---- training -------------------------------------------------------------*/
/* SENT2VEC (Pagliardini, Gupta & Jaggi 2018): every line of the corpus is a
 * sentence, and each of its words is predicted from the mean of the input
 * rows of the line's other words and of its word bigrams that do not contain
 * that word, less drop_bigrams of them drawn at random. A bigram (a, b) of
 * in-vocabulary words that follow each other (out-of-vocabulary words left
 * out) has the row V + (a·116049371 + b) mod bucket, a and b their
 * vocabulary indices. Subsampling picks the words that are predicted; every
 * word stays in the context. One prediction per word with its own `negative`
 * negatives (the negatives setting and the window do not apply); its step
 * is divided among the rows of the mean, and a line's predictions are
 * sequential SGD (docs/words.md tells how it runs in O(len·dim)). Negative
 * sampling only; not with subwords or multi-sense vectors. A line's vector
 * is then the mean of its words' and bigrams' rows (sl_words_embed,
 * SL_WORDS_MODEL_MEAN). */
typedef enum { SL_WORDS_SKIPGRAM, SL_WORDS_CBOW, SL_WORDS_SENT2VEC } sl_words_arch;
/* The learning rate `words train --model sent2vec` (and Python's
 * Words.train(arch="sent2vec")) uses when none is given: a step is divided
 * among a line's rows, so sent2vec needs a larger rate than
 * sl_words_config_default's (docs/words.md tells how it was chosen). */
#define SL_WORDS_SENT2VEC_LR 0.5
/* The learning rate `words train --maxn N` (subwords; and Python's
 * Words.train(maxn=N)) uses when none is given: chosen with subwords on
 * validation data (docs/words.md), where sl_words_config_default's 0.055 was
 * chosen without them. */
#define SL_WORDS_SUBWORD_LR 0.045
typedef enum { SL_WORDS_NEG, SL_WORDS_SOFTMAX } sl_words_loss;
/* How negative sampling draws its negatives:
 * PER_PAIR: word2vec's (and gensim's and fastText's) algorithm. Every
 *   prediction, a (context, centre) pair in skip-gram or a window's mean in
 *   CBOW, draws its own `negative` words, and each output row moves right
 *   after its dot product with the input row.
 * SHARED: one draw of `negative` words per centre word serves all the pairs of
 *   its window, and the window's updates are batched into small matrix
 *   products (Ji et al. 2016): far fewer random rows are touched, so it runs
 *   faster (1.5-1.8x skip-gram's words/s on GCIDE), but it is a different
 *   algorithm. For CBOW the two differ only in the order of the updates.
 *   Multi-sense training always uses SHARED (the posterior over senses scores
 *   the whole window at once). */
typedef enum { SL_WORDS_PER_PAIR, SL_WORDS_SHARED } sl_words_negatives;

typedef struct sl_words_config {
    sl_words_arch arch;      /* default skip-gram */
    sl_words_loss loss;      /* default negative sampling */
    sl_words_negatives negatives; /* default shared (docs/words.md: chosen on validation data) */
    int dim;                 /* default 100 */
    int window;              /* maximum window; each centre draws 1..window */
    int negative;            /* negatives per prediction (per pair or per window) */
    double sample;           /* subsampling threshold (1e-4); 0 = off */
    /* Learning rate: after a fraction p of all epochs' words it is
     * max(lr + (min_lr - lr)·p, lr·min_lr_frac). min_lr = 0 with the floor
     * min_lr_frac = 1e-4 is word2vec's rule; min_lr = 0.0001 is gensim's
     * (alpha to min_alpha); min_lr = min_lr_frac = 0 is fastText's. */
    double lr;
    double min_lr;
    double min_lr_frac;
    /* Negatives are drawn with probability ∝ count^ns_exponent (default
     * 0.5, fastText's; word2vec and gensim use 0.75; 0 is uniform). */
    double ns_exponent;
    /* The vectors a model exports (sl_words_model_export, the saved files)
     * are input row + context_weight × the word's output row (default 0.25;
     * 0 gives the input rows alone, as word2vec, gensim and fastText save;
     * Levy, Goldberg & Dagan 2015 add the context vectors with weight 1).
     * Multi-sense models (senses > 1) save their input rows as they are;
     * with subwords (maxn > 0) a vocabulary word's vector is the mean of
     * its input rows + context_weight × its output row, and a word outside
     * the vocabulary (no output row) the mean of its n-gram rows. */
    double context_weight;
    int epochs;
    int threads;             /* <= 0: all cores */
    uint64_t seed;
    sl_vocab_config vocab;
    /* Subwords (fastText's character n-grams): maxn 0 (the default) turns
     * them off. With 1 <= minn <= maxn <= SL_WORDS_MAX_NGRAM, every
     * vocabulary word's input vector is the mean of its own row and the rows
     * of its n-grams: the word wrapped as "<word>", every run of minn to maxn
     * UTF-8 characters of it (not the lone "<" or ">"), hashed (fastText's
     * 32-bit FNV-1a) into one of `bucket` rows kept after the V word rows,
     * so the input table holds (V + bucket) x dim floats. Every row of the
     * mean gets the mean's whole step, as in fastText. Defaults: minn 3,
     * maxn 0, bucket 2,000,000 (fastText's minn 3, maxn 6, bucket 2e6 are
     * --minn 3 --maxn 6). Not with multi-sense vectors. The sent2vec
     * architecture keeps its word bigrams' rows in the same `bucket` rows. */
    int minn, maxn;
    uint32_t bucket;
    /* Sent2vec: this many of a line's bigrams (0..100), drawn at random for
     * each prediction among those that do not contain the predicted word,
     * are left out of its context (Sent2Vec's dropoutK; all of them when
     * there are no more). Default 4. */
    int drop_bigrams;
    /* Multi-sense: words seen at least sense_min_count times get `senses`
     * latent senses (1 = ordinary vectors). Skip-gram with negatives only. */
    int senses;
    uint64_t sense_min_count;
    bool hard_senses;        /* hard (argmax) instead of soft EM assignment */
    /* Checkpoints: written to `checkpoint` (if not NULL) at the end of every
     * epoch and every checkpoint_every seconds (0 = epoch ends only). */
    const char *checkpoint;
    double checkpoint_every;
    /* Stop cleanly (after writing the checkpoint): once this many of the
     * epochs' work rounds (SL_WORDS_ROUNDS per epoch) are done in this run
     * (0 = never); at the
     * first sentence end after the schedule's word counter (every epoch's
     * words, advanced in steps of 10,000) reaches stop_at_words (0 = never);
     * and when *stop becomes non-zero (a signal handler's flag, may be NULL),
     * which every thread polls at each sentence end, so a stop takes effect
     * within one sentence. A stop inside a round records how far each piece
     * of the corpus got, so a resumed run continues from there. */
    uint64_t stop_after_rounds;
    uint64_t stop_at_words;
    const volatile sig_atomic_t *stop;
    /* Memory for keeping the corpus as word ids after the first pass, so
     * later epochs need not re-read it (MiB; 0 = always stream the file). */
    size_t cache_mb;
    /* Progress (words/s, ETA, loss, lr) goes to this stream; NULL = none. */
    FILE *progress;
    sl_progress_mode progress_mode;
} sl_words_config;

/* The defaults above (R2-quality: skip-gram, shared negatives, dim 100,
 * window 5, negative 5, sample 1e-4, min-count 5, 5 epochs, lr 0.055 falling
 * linearly to lr·1e-4, negatives ∝ count^0.5, saved vectors input + 0.25 ×
 * output; docs/words.md tells how they were chosen). */
void sl_words_config_default(sl_words_config *c);

typedef struct sl_words_stats {
    uint64_t raw_words;   /* in-vocabulary words read over all epochs */
    uint64_t trained;     /* words kept after subsampling */
    double seconds;       /* training time (excluding the vocabulary scan) */
    double words_per_sec; /* raw_words / seconds */
    double loss;          /* mean loss over the last epoch (per prediction) */
    bool interrupted;     /* stopped before the end; the checkpoint (if any) holds the state */
    double exchange_seconds; /* distributed runs: this rank's time in the ranks' exchanges of the
                                model (waiting for the slowest rank included); 0 in one process */
} sl_words_stats;

/* A trained model: vocabulary, input vectors (one row per sense), output
 * vectors and, for multi-sense models, the sense priors. */
typedef struct sl_words_model sl_words_model;

/* Train on a corpus file. stats may be NULL.
 * In a distributed run (sl_dist, simlearn/base.h) every rank calls it with
 * the same corpus file and settings: the file is cut into ranks x threads
 * lanes, each rank trains its own lanes with its threads (Hogwild, as in
 * one process), and after each of an epoch's 8 rounds the ranks average
 * their models (allreduce) and share their counts and positions, so every
 * rank returns the same model. Rank 0 alone writes the checkpoint and
 * reports progress; stats count every rank's words. A run that stop_after_rounds
 * or stop_at_words ends early returns SL_OK with stats->interrupted set and
 * the model as it is. A run that *stop ends early returns
 * SL_ERR_INTERRUPTED and no model: stopped while the vocabulary is counted,
 * nothing is saved and stats is not written; stopped while training, the
 * checkpoint (when cfg->checkpoint is set) holds the state for
 * sl_words_resume, and stats is filled with stats->interrupted set.
 * Errors: everything sl_vocab_build returns, SL_ERR_ARG for bad settings
 * (naming the field), SL_ERR_IO/FORMAT from checkpoints, SL_ERR_INTERRUPTED. */
sl_status sl_words_train(const char *corpus, const sl_words_config *cfg, sl_words_model **out,
                         sl_words_stats *stats);
/* Continue from a checkpoint written by sl_words_train with the same corpus.
 * The checkpoint's settings (and its lanes, ranks x threads, which fix how
 * the corpus is split) are used; cfg supplies only progress, checkpoint
 * path/interval, stop_after_rounds, stop_at_words and stop. Stops as
 * sl_words_train does. A distributed run needs a number of ranks that
 * divides the lanes (each rank then runs lanes / ranks threads; with the
 * checkpoint's ranks the run continues exactly as it would have; one process
 * runs every lane as a thread, sharing one model instead of averaging);
 * otherwise SL_ERR_STATE. */
sl_status sl_words_resume(const char *corpus, const char *checkpoint, const sl_words_config *cfg,
                          sl_words_model **out, sl_words_stats *stats);
void sl_words_model_destroy(sl_words_model *m);
const sl_vocab *sl_words_model_vocab(const sl_words_model *m);
int sl_words_model_dim(const sl_words_model *m);
/* Input vectors: sl_words_model_rows(m) rows of dim floats; for ordinary
 * models row i is vocabulary word i. Output vectors: one per vocabulary word. */
size_t sl_words_model_rows(const sl_words_model *m);
const float *sl_words_model_row(const sl_words_model *m, size_t row);
const float *sl_words_model_output_row(const sl_words_model *m, size_t word);
/* Subwords and sent2vec: the number of bucket rows (0 when trained with
 * neither), and bucket row b (the n-grams or word bigrams hashed to b), or
 * NULL. */
uint32_t sl_words_model_bucket(const sl_words_model *m);
/* Subwords: the n-gram lengths minn..maxn (both 0 when trained without). */
void sl_words_model_ngrams(const sl_words_model *m, int *minn, int *maxn);
const float *sl_words_model_bucket_row(const sl_words_model *m, size_t b);
/* Senses of word i: *first is its first row, *k the number of rows, and
 * prior (may be NULL) receives p(z|x) for its k senses (k <= 64). */
void sl_words_model_senses(const sl_words_model *m, size_t word, size_t *first, int *k, float *prior);

/* Copy the vectors out as word vectors (one row per vocabulary word; a
 * multi-sense word gets the prior-weighted mean of its senses). */
sl_status sl_words_model_export(const sl_words_model *m, sl_wordvecs **out);

/* ---- multi-sense vector files ---------------------------------------------
 * A multi-sense model is stored as an ordinary word2vec text or binary file,
 * so every tool can load it: a word with one sense is a row named by the word;
 * a word with K > 1 senses has K rows named "WORD#z|P" (z = 1..K, P = the
 * prior p(z|WORD) printed with %.6g). */
sl_status sl_words_save(const sl_words_model *m, const char *path, sl_w2v_format fmt);

/* Plain vectors as NAME.npy (float32, vocabulary x dim) plus NAME.vocab
 * ("word count" per line, in row order); path is NAME.npy. */
sl_status sl_words_save_npy(const sl_words_model *m, const char *path);
/* Load word vectors: a path ending in ".npy" reads NAME.npy + NAME.vocab
 * (one word per line; anything after the word is ignored); a subword model
 * (.slsw, told by its magic) gives its vocabulary's vectors; anything else is
 * word2vec text/binary or fastText .vec, told apart by content. Errors: those
 * of the readers, SL_ERR_FORMAT when the vocabulary and matrix disagree. */
sl_status sl_words_load(const char *path, sl_wordvecs **out);

typedef struct sl_senses {
    sl_wordvecs *vecs;  /* rows as stored; words[] keeps the full row names */
    size_t nwords;      /* distinct words */
    char **word;        /* nwords base words */
    size_t *first;      /* nwords: first row of each word's senses */
    int *k;             /* nwords: number of senses */
    float *prior;       /* rows: p(z|word) of each row (1 for single-sense) */
} sl_senses;
/* Read any word2vec file as senses (a plain file gives one sense per word).
 * Errors: those of sl_w2v_read, and SL_ERR_FORMAT for a bad sense suffix or
 * senses of one word that are not consecutive and numbered 1..K. */
sl_status sl_senses_read(const char *path, sl_senses **out);
void sl_senses_destroy(sl_senses *s);
/* Index of a base word in s->word, or -1. */
long sl_senses_find(const sl_senses *s, const char *word);

/* ---- evaluation -----------------------------------------------------------
 * Vectors are taken in file order, which for word2vec/fastText/gensim output
 * (and ours) is decreasing frequency, so "top N" means the first N rows. */
typedef enum { SL_ANALOGY_ADD, SL_ANALOGY_MUL } sl_analogy_method;

#define SL_ANALOGY_MAX_SECTIONS 64
typedef struct sl_analogy_result {
    size_t nsections;
    struct {
        char name[64];
        size_t correct, seen, total;
    } section[SL_ANALOGY_MAX_SECTIONS];
    size_t correct, seen, total;           /* all sections */
    size_t sem_correct, sem_seen;          /* sections not starting "gram" */
    size_t syn_correct, syn_seen;          /* sections starting "gram" */
} sl_analogy_result;

/* Analogy questions "a b c d" (a:b :: c:d) in sections ": name". A question
 * counts when all four words are among the first `restrict_n` rows (0 = all);
 * the prediction is the best row among those, excluding a, b and c, by
 * 3CosAdd (cos(x, b−a+c) on unit vectors) or 3CosMul (Levy & Goldberg 2014,
 * cosines shifted to [0,1], epsilon 1e-3). Lookup ignores ASCII case (the
 * first, most frequent, row of a case-folded word wins). Uses sl_gemm, so do
 * not call it inside an OpenMP parallel region. Errors: SL_ERR_IO,
 * SL_ERR_FORMAT (line and expectation), SL_ERR_NOMEM. */
sl_status sl_words_analogy(const sl_wordvecs *w, const char *questions, size_t restrict_n,
                           sl_analogy_method method, sl_analogy_result *out);

typedef struct sl_similarity_result {
    double spearman, pearson;
    size_t pairs, used; /* pairs in the file, pairs with both words known */
    size_t by_ngrams;   /* of those, pairs with a word known only by its character n-grams
                           (sl_words_subword_similarity; 0 otherwise) */
} sl_similarity_result;
/* Word-pair similarity file: "w1 w2 score" per line (tab or space separated,
 * '#' comments). Spearman (ties get mean ranks) and Pearson between the
 * scores and the cosines, over pairs with both words known (case-insensitive).
 * Errors: SL_ERR_IO, SL_ERR_FORMAT, SL_ERR_NOTFOUND (no pair is usable). */
sl_status sl_words_similarity(const sl_wordvecs *w, const char *pairs, sl_similarity_result *out);

/* ---- subword models --------------------------------------------------------
 * What embeds any word, in the vocabulary or not, after training with
 * subwords (cfg->maxn > 0): the settings, the vocabulary, the V word rows and
 * the bucket rows of n-grams. A vocabulary word's vector is the mean of its
 * own row and its n-grams' rows (fastText's getWordVector); any other word's
 * is the mean of its n-grams' rows, the zero vector when it has none (a word
 * of fewer than minn characters, counting "<" and ">"). Stored as a .slsw
 * file (docs/words.md "Subword vectors" gives the layout: magic, version,
 * settings, vocabulary, rows, FNV-1a checksum), written atomically.
 * Immutable once made: safe to share between threads.
 * The same type and file hold a sentence model (a model trained with the
 * sent2vec architecture): there minn = maxn = 0, a word's vector is its own
 * row (a word outside the vocabulary has none), and the bucket rows are the
 * word bigrams' (sl_words_arch), which sl_words_embed's SL_WORDS_MODEL_MEAN
 * reads. */
#define SL_WORDS_MAX_NGRAM 100
typedef struct sl_words_subword sl_words_subword;
/* The subword model of a model trained with subwords, or the sentence model
 * of one trained with the sent2vec architecture; SL_ERR_ARG for any other
 * model (naming maxn), SL_ERR_NOMEM. */
sl_status sl_words_subword_from_model(const sl_words_model *m, sl_words_subword **out);
/* Write the subword model of such a model straight to a .slsw file (the
 * same bytes as sl_words_subword_from_model then sl_words_subword_save,
 * without a copy of the rows in memory); SL_ERR_ARG without subwords or
 * sent2vec. */
sl_status sl_words_model_save_subword(const sl_words_model *m, const char *path);
/* Build one from its parts: V words (distinct, 1..SL_WORDS_MAX_WORD bytes)
 * with counts (may be NULL), and (V + bucket) x dim input rows, word rows
 * first (copied); minn = maxn = 0 makes a sentence model (bucket rows of word
 * bigrams). lowercase: queries are ASCII-lowercased before their
 * n-grams are taken (the corpus was). Errors: SL_ERR_ARG (a setting or word,
 * named), SL_ERR_NOMEM. */
sl_status sl_words_subword_create(const char *const *words, const uint64_t *counts, size_t V, size_t dim, int minn,
                                  int maxn, uint32_t bucket, bool lowercase, const float *rows,
                                  sl_words_subword **out);
/* Write / read a .slsw file. Reading checks the magic, version, checksum,
 * settings and sizes: SL_ERR_IO (cannot open/read/write), SL_ERR_FORMAT
 * naming the file, the byte position and what was expected, SL_ERR_NOMEM. */
sl_status sl_words_subword_save(const sl_words_subword *s, const char *path);
sl_status sl_words_subword_load(const char *path, sl_words_subword **out);
/* Whether the file at path starts with the .slsw magic (false if unreadable). */
bool sl_words_subword_file(const char *path);
void sl_words_subword_destroy(sl_words_subword *s);
/* The vocabulary words' vectors (composed as above), in vocabulary order,
 * with their counts (V values). */
const sl_wordvecs *sl_words_subword_vecs(const sl_words_subword *s);
const uint64_t *sl_words_subword_counts(const sl_words_subword *s);
void sl_words_subword_settings(const sl_words_subword *s, int *minn, int *maxn, uint32_t *bucket, bool *lowercase);
/* The vector of any word into out (dim floats). A word found by
 * sl_words_lookup (exact, else ignoring ASCII case) gets its row of the
 * vocabulary vectors and *row its index; any other word (cut to
 * SL_WORDS_MAX_WORD bytes at a UTF-8 boundary as the corpus reader cuts it,
 * lowercased when the model was) the mean of its n-grams' rows, *row -1.
 * Returns the number of n-grams averaged (0 for a vocabulary word, and for
 * an unknown word without n-grams, whose vector is then zero); row may be
 * NULL. */
size_t sl_words_subword_vector(const sl_words_subword *s, const char *word, float *out, long *row);
/* sl_words_similarity over the vocabulary vectors, where a word missing from
 * the vocabulary gets its n-gram vector instead (a pair is left out only
 * when a word has no n-gram); out->by_ngrams counts the pairs that used one. */
sl_status sl_words_subword_similarity(const sl_words_subword *s, const char *pairs, sl_similarity_result *out);

/* The k rows most cosine-similar to a query vector (dim floats), best first,
 * skipping rows listed in exclude (may be NULL). Writes up to k results and
 * returns their number in *found. Works on unit-normalised copies made by
 * sl_words_unit (pass those rows as `unit`). */
sl_status sl_words_nearest(const float *unit, size_t n, size_t dim, const float *query, size_t k,
                           const size_t *exclude, size_t nexclude, size_t *idx, float *sim, size_t *found);
/* A unit-normalised copy of w's vectors (n x dim); free with sl_allocator_free. */
sl_status sl_words_unit(const sl_wordvecs *w, float **out);
/* Row of a word, exact match first, then ASCII case-insensitive; -1 if absent. */
long sl_words_lookup(const sl_wordvecs *w, const char *word);


/* ---- Poincaré embeddings of a hierarchy -------------------------------------
 * Nickel & Kiela (2017): the nodes of a hierarchy are points of the open unit
 * ball, placed so that the hyperbolic distance
 *   d(u,v) = arcosh(1 + 2|u-v|² / ((1-|u|²)(1-|v|²)))
 * is small between a node and its ancestors: general nodes end near the
 * origin, specific ones near the boundary. The input is a list of edges
 * "child parent", usually the transitive closure of a tree (every node linked
 * to all its ancestors). */

/* A directed edge list. Nodes are numbered in order of first appearance;
 * edges are sorted by child, then parent, without duplicates, so the parents
 * of node i are parent[first[i] .. first[i+1]). count[i] is the number of
 * edges node i is in (as child or parent), the weight of negative sampling. */
typedef struct sl_words_edges {
    size_t nnodes, nedges;
    char **name;        /* nnodes names */
    uint64_t *count;    /* nnodes */
    size_t *first;      /* nnodes + 1 */
    uint32_t *child, *parent; /* nedges each */
} sl_words_edges;

/* Read "child parent" lines (separated by spaces or tabs; blank lines and
 * lines starting with '#' are skipped; names up to SL_WORDS_MAX_WORD bytes).
 * Duplicate edges count once. Errors: SL_ERR_IO, SL_ERR_FORMAT naming the
 * file, the line and what was expected (a missing or extra column, a node
 * that is its own parent, a NUL byte, a name too long, a file without
 * edges), SL_ERR_RANGE (more than 2^32-1 nodes or edges), SL_ERR_NOMEM. */
sl_status sl_words_edges_read(const char *path, sl_words_edges **out);
/* Build from nnodes names (copied, distinct) and nedges (child, parent)
 * index pairs. Errors: SL_ERR_ARG for an index out of range, a self-loop, a
 * repeated name or no edges; SL_ERR_NOMEM. */
sl_status sl_words_edges_create(const char *const *names, size_t nnodes, const uint32_t *child,
                                const uint32_t *parent, size_t nedges, sl_words_edges **out);
void sl_words_edges_destroy(sl_words_edges *e);
/* Split for link prediction: hold out about test_frac of the edges, drawn at
 * random (seed), but only edges whose two nodes keep another edge in the
 * training part, so every node of e stays in train. Both parts keep all of
 * e's nodes, in e's order (test's nodes may have no edge). Errors: SL_ERR_ARG
 * (test_frac outside [0, 1)), SL_ERR_NOMEM. */
sl_status sl_words_edges_split(const sl_words_edges *e, double test_frac, uint64_t seed, sl_words_edges **train,
                               sl_words_edges **test);

typedef struct sl_words_poincare_config {
    int dim;             /* 50 */
    int negative;        /* negatives per edge, 10 */
    double lr;           /* learning rate after the burn-in, 0.1 */
    int epochs;          /* epochs after the burn-in, 50 */
    int burn_in;         /* burn-in epochs at burn_in_lr (0 = none), 10 */
    double burn_in_lr;   /* 0.01 */
    double dampening;    /* negatives drawn with probability ∝ count^dampening, 0.75 */
    double epsilon;      /* points are kept at norm <= 1 - epsilon, 1e-5 */
    double init_range;   /* initial coordinates uniform in [-init_range, init_range], 1e-3 */
    int threads;         /* <= 0: all cores; default 1 */
    uint64_t seed;       /* 1 */
    /* Stop when *stop becomes non-zero (polled every 64 edges by every
     * thread): SL_ERR_INTERRUPTED and no embedding. May be NULL. */
    const volatile sig_atomic_t *stop;
    FILE *progress;      /* epochs, loss and learning rate; NULL = none */
    sl_progress_mode progress_mode;
} sl_words_poincare_config;
/* The defaults above: gensim's PoincareModel (size 50, negative 10, alpha 0.1,
 * burn_in 10, burn_in_alpha 0.01, dampening 0.75, init_range (-0.001, 0.001),
 * epsilon 1e-5); gensim's train() has no default epoch count, 50 is ours;
 * 1 thread, so that a run is determined by its seed. */
void sl_words_poincare_config_default(sl_words_poincare_config *c);

typedef struct sl_words_poincare_stats {
    double seconds;      /* training time */
    double loss;         /* mean loss per edge over the last epoch */
    uint64_t updates;    /* edges trained, over all epochs */
} sl_words_poincare_stats;

/* Train on the edges: every epoch visits the edges in a new random order;
 * each edge (u, v) draws `negative` distinct nodes that are neither u nor a
 * parent of u, and takes one Riemannian SGD step on the loss
 *   L = -log( exp(-d(u,v)) / Σ_{v' ∈ {v} ∪ negatives} exp(-d(u,v')) ),
 * the Euclidean gradient scaled by (1-|θ|²)²/4 and the point then pulled back
 * to norm 1 - epsilon if it left that ball. The first burn_in epochs use
 * burn_in_lr, the others lr. With threads > 1 the threads share the table
 * without locks (Hogwild), each taking a slice of the epoch's order, so the
 * result then depends on timing; with 1 thread it depends on the seed only.
 * In a distributed run (sl_dist) every rank calls it with the same edges and
 * settings: each epoch is cut into 8 rounds, a round's edges into ranks x
 * threads lanes, and after each round the ranks add up the changes they
 * made to the table since it began (a point the sum leaves outside the ball
 * is pulled back to norm 1 - epsilon), so every rank returns the same table;
 * with 1 thread per rank it depends on the seed and the rank count only. A
 * rank's stop stops every rank.
 * out: one row per node, in e's order, named by the nodes. stats may be NULL.
 * Errors: SL_ERR_ARG (a setting, named), SL_ERR_NUMERIC (the loss became
 * NaN or infinite: the learning rate is too high), SL_ERR_INTERRUPTED,
 * SL_ERR_NOMEM. */
sl_status sl_words_poincare_train(const sl_words_edges *e, const sl_words_poincare_config *cfg, sl_wordvecs **out,
                                  sl_words_poincare_stats *stats);
/* The Poincaré distance of two points of the ball (computed in double as
 * log1p(x + sqrt(x(x+2))), x = 2|u-v|²/((1-|u|²)(1-|v|²)), exact for close
 * points; a norm of 1 or more counts as 1 - 1e-15, so the result is finite). */
double sl_words_poincare_distance(const float *u, const float *v, size_t dim);

typedef struct sl_words_poincare_eval {
    double mean_rank;    /* mean over the ranked edges */
    double map;          /* mean over the nodes of their average precision */
    size_t nodes, edges; /* nodes with at least one ranked edge; edges ranked */
} sl_words_poincare_eval;
/* Rank every edge (u, v) of `truth` among the nodes that could have been
 * u's parent: each parent v of u in truth is ranked by Poincaré distance
 * among the vectors' rows that are not u and not a parent of u in truth or
 * in `known` (may be NULL); rank = 1 + the number of those rows strictly
 * closer to u than v. A node's average precision is the mean over its
 * parents, sorted by rank, of i / (rank_i + i - 1) (i = 1, 2, ...), as gensim's
 * ReconstructionEvaluation computes it. Reconstruction: known = NULL, truth =
 * the training edges; link prediction: known = the training part, truth =
 * the held-out part. Nodes (of both lists) are matched with rows by name. Errors: SL_ERR_NOTFOUND (a node
 * without a row), SL_ERR_ARG (no edge to rank), SL_ERR_NOMEM. */
sl_status sl_words_poincare_evaluate(const sl_wordvecs *w, const sl_words_edges *known, const sl_words_edges *truth,
                                     sl_words_poincare_eval *out);
/* The k rows nearest to a query point by Poincaré distance, nearest first,
 * skipping rows listed in exclude (may be NULL); *found receives how many. */
sl_status sl_words_poincare_nearest(const sl_wordvecs *w, const float *query, size_t k, const size_t *exclude,
                                    size_t nexclude, size_t *idx, float *dist, size_t *found);
/* Word vectors as NAME.npy plus NAME.vocab ("word count" per line, in row
 * order; counts may be NULL for 0), as sl_words_save_npy writes a model. */
sl_status sl_words_vecs_save_npy(const sl_wordvecs *w, const uint64_t *counts, const char *path);
/* ---- sentence and document vectors ------------------------------------------
 * One vector per line of text from word vectors. A line is split into words
 * on ASCII whitespace (space, tab, CR, LF, VT, FF) and NUL bytes, as the
 * corpus reader splits them, and a word longer than SL_WORDS_MAX_WORD bytes
 * is cut as the reader cuts it. Each word is looked up as sl_words_lookup
 * does (the exact word, else ignoring ASCII case); unknown words are left
 * out. A line's vector is the weighted mean of its known words' vectors
 * (a word that occurs twice counts twice), with weight
 *   SL_WORDS_AVG: 1 (the plain average);
 *   SL_WORDS_SIF: a / (a + p(w)), p(w) = counts[row] / total, the word's
 *     unigram probability (Arora, Liang & Ma 2017, "smooth inverse
 *     frequency"); a row whose count is 0 (a word the counts do not list)
 *     gets weight 1, as in the authors' code;
 *   SL_WORDS_MODEL_MEAN (sent2vec): 1, and the mean also takes the bucket rows of the
 *     line's word bigrams: every two known words that follow each other
 *     once the unknown ones are left out, hashed as in training
 *     (sl_words_arch). w must be the vectors of cfg->model, a sentence
 *     model (sl_words_subword_vecs).
 * SIF then removes from every line's vector its projection on one unit
 * direction u, x <- x - (u·x) u: either the one given (cfg->component), so
 * that a query set reuses the direction of a base set, or the first
 * principal component of the set itself, computed as the paper's code does
 * it: the top right singular vector of the uncentred matrix of the line
 * vectors (the top eigenvector of their second-moment matrix, by sl_eigh;
 * the sign makes its largest coordinate positive). Unlike all-but-the-top
 * (simlearn/geom.h), the mean is not removed.
 * A line without a known word (an empty line included) gets the zero vector
 * and is counted in stats->empty; it adds nothing to the component. */
typedef enum { SL_WORDS_AVG, SL_WORDS_SIF, SL_WORDS_MODEL_MEAN } sl_words_compose;

typedef struct sl_words_embed_config {
    sl_words_compose method; /* default SL_WORDS_AVG */
    double sif_a;            /* SIF's a (default 1e-3), > 0 */
    /* SIF: the count of every row of the vectors (w->n values) and the total
     * the probabilities divide by (the corpus's tokens: the sum of all the
     * counts read, including words that have no vector); see
     * sl_words_counts_read. Unused by SL_WORDS_AVG. */
    const uint64_t *counts;
    uint64_t total;
    /* SIF: the unit direction to remove (w->dim floats), or NULL (the
     * default) to compute it on the set being embedded. */
    const float *component;
    /* MODEL_MEAN: the sentence model whose word and bigram rows are averaged. */
    const sl_words_subword *model;
} sl_words_embed_config;
/* Fill c with the defaults: the average, a = 1e-3, no counts, no component. */
void sl_words_embed_config_default(sl_words_embed_config *c);

typedef struct sl_words_embed_stats {
    size_t lines;  /* lines embedded */
    size_t empty;  /* lines without a known word (zero vectors) */
    uint64_t words, known; /* words read, and those with a vector */
} sl_words_embed_stats;

/* Embed n lines (NUL-terminated strings; a '\n' inside counts as
 * whitespace) into out (n x w->dim floats, row-major). component (may be
 * NULL) receives the direction SIF removed (w->dim floats; for the average it
 * is left alone); stats may be NULL. Errors: SL_ERR_ARG (a bad setting:
 * SIF without counts or with total 0, a <= 0, a component of norm 0; or SIF
 * computing its component on a set where no line has a known word;
 * MODEL_MEAN without a sentence model, or with vectors that are not its own),
 * SL_ERR_NOMEM, and those of sl_covariance and sl_eigh. */
sl_status sl_words_embed(const sl_wordvecs *w, const sl_words_embed_config *cfg, const char *const *lines, size_t n,
                         float *out, float *component, sl_words_embed_stats *stats);
/* The same for the lines of a text file ('\n' ends a line; a last line
 * without one counts; a file of N line breaks has N lines): *out (*n x
 * w->dim, free with sl_allocator_free) and *n. Errors: those of
 * sl_words_embed, SL_ERR_IO (cannot open or read the file, named). */
sl_status sl_words_embed_file(const sl_wordvecs *w, const sl_words_embed_config *cfg, const char *path, float **out,
                              size_t *n, float *component, sl_words_embed_stats *stats);
/* Word counts for SIF from a file of "word count" lines (blank lines
 * skipped; count a non-negative integer; the NAME.vocab file that
 * sl_words_save_npy writes beside NAME.npy, word2vec's -save-vocab output).
 * *counts (w->n values, free with sl_allocator_free) holds each row's count,
 * matched by the exact word (0 for a row the file does not list), and
 * *total the sum of every count in the file. Errors: SL_ERR_IO, SL_ERR_FORMAT
 * (naming the file and line: not two fields, a count that is not a
 * non-negative integer, a word listed twice, a sum beyond 2^64), SL_ERR_NOMEM. */
sl_status sl_words_counts_read(const sl_wordvecs *w, const char *path, uint64_t **counts, uint64_t *total);
/* The counts that come with the vectors file `vectors` that w was loaded
 * from (sl_words_load): for NAME.npy, those of NAME.vocab (as
 * sl_words_counts_read). word2vec and fastText files hold no counts:
 * SL_ERR_NOTFOUND, naming the file. */
sl_status sl_words_counts_load(const sl_wordvecs *w, const char *vectors, uint64_t **counts, uint64_t *total);

#ifdef __cplusplus
}
#endif
#endif

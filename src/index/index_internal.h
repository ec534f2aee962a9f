/* Private pieces shared by the index module's files: the distance kernels
 * (fast and naive twins), input checks and metric helpers. Not installed. */
#ifndef SIMLEARN_INDEX_INTERNAL_H
#define SIMLEARN_INDEX_INTERNAL_H

#include "internal.h"

/* Squared L2 distance over n floats. The fast kernel requires n to be a
 * multiple of 16; rows need no particular alignment. */
float sl__l2sq(const float *a, const float *b, size_t n);
float sl__l2sq_ref(const float *a, const float *b, size_t n);
/* Inner product over n floats, any n, double accumulation (used for exact
 * re-scoring, not in hot loops). */
double sl__dot_d(const float *a, const float *b, size_t n);
/* Exact score of one pair for a metric (double accumulation). qn/xn are the
 * L2 norms, needed for cosine only. */
double sl__exact_score(sl_metric m, const float *q, const float *x, size_t d);

/* The exact search's re-scoring key of one pair (smaller is better): the
 * squared L2 distance (sl__l2sq), -<q, x> for IP, -<q, x> / (qnorm xnorm)
 * for cosine (qnorm and xnorm: sqrt of sl__dot_d of each with itself; -0
 * when either is 0). Re-ranking elsewhere uses it to give the same scores
 * to the bit as sl_flat_search. */
double sl__exact_key(sl_metric m, const float *q, const float *x, size_t d, double qnorm, double xnorm);

/* A scored result: key (smaller is better: a distance, or a similarity
 * negated) and id; sl__cand_cmp orders by key, then id (qsort). */
typedef struct sl__cand {
    double key;
    int64_t id;
} sl__cand;
int sl__cand_cmp(const void *a, const void *b);
/* Sort buf[0 .. c) by sl__cand_cmp and write its k best as ids and scores
 * (the key back as the metric's score), padded with id -1 and NaN. */
void sl__cand_emit(sl__cand *buf, size_t c, size_t k, sl_metric m, int64_t *ids, float *scores);

/* Bounded max-heap of (value, id), smaller is better: the root v[0] is the
 * worst kept candidate, equal values ordered by id (the larger id is worse).
 * Filled with (INFINITY, INT64_MAX) to start; sl__heap_replace_top puts
 * (v, id) in place of the root, which the caller checked it beats. */
typedef struct sl__heap {
    float *v;
    int64_t *id;
    size_t cap;
} sl__heap;
void sl__heap_replace_top(sl__heap *h, float v, int64_t id);

/* Where rows sit in a distributed run: this rank's rows are rows first ..
 * first + n - 1 of the `total` rows of all ranks; dist false is one process
 * holding them all (first 0). */
typedef struct sl__part {
    size_t first, total;
    bool dist;
} sl__part;

/* k-means (kmeans.c): k centroids (k x d, written to cent) of the rows of
 * x, started from k distinct rows of the whole drawn with seed, at most
 * iters Lloyd iterations (fewer once no assignment changes); an empty
 * cluster takes half of the largest. part NULL: the n rows are all; else a
 * collective in which every rank passes its n rows (n may be 0) and its
 * part, and every rank gets the same centroids (its per-cluster sums added
 * over the ranks). The same centroids for every thread count and BLAS
 * kernel. what names the caller in errors: SL_ERR_ARG (fewer rows than k,
 * or k = 0), SL_ERR_NOMEM, SL_ERR_INTERRUPTED (stop set between iterations,
 * on any rank), a rank's error failing every rank. The rows must be finite
 * (checked by the caller). */
sl_status sl__kmeans(const float *x, size_t n, size_t d, size_t k, size_t iters, uint64_t seed,
                     const volatile sig_atomic_t *stop, float *cent, const char *what, const sl__part *part);
/* The score block of the exact searches that k-means and IVF-PQ run over
 * and over (assignments, probes): small enough that the allocator keeps
 * reusing it rather than mapping fresh pages for every call. */
#define SL__KMEANS_BLOCK ((size_t)8 << 20)

/* Free an L2 IVF-PQ index's precomputed per-list tables, so that searches
 * build each probed list's table from the residual query (the path taken
 * when the tables would pass 1 GiB); for the tests. */
void sl__ivfpq_drop_tables(sl_ivfpq *q);
/* L2 lists shorter than n (default 128) are scanned by adding the list's
 * precomputed terms and the query's table entry by entry instead of
 * building the list's table first (the same scores); for the tests. */
void sl__ivfpq_set_short_list(sl_ivfpq *q, size_t n);

/* SL_ERR_NUMERIC naming the first row with a NaN/Inf value, or SL_OK. */
sl_status sl__check_finite(const float *x, size_t n, size_t d, const char *what);

/* Key map (keymap.c): non-negative int64 keys to int64 values, the HNSW
 * index's user ids to its nodes. Open addressing with linear probing and a
 * splitmix64 hash; the table (a power of two, or 0 slots) is kept at most
 * half full. A zeroed struct is an empty map. Keys are never removed. */
typedef struct sl__keyslot {
    int64_t key; /* -1: empty */
    int64_t val;
} sl__keyslot;
typedef struct sl__keymap {
    sl__keyslot *slots;
    size_t cap, n; /* slots, keys held */
} sl__keymap;
/* Room for n keys in all, so that putting new keys up to n cannot fail.
 * SL_ERR_NOMEM (the map unchanged) or SL_ERR_RANGE. */
sl_status sl__keymap_reserve(sl__keymap *m, size_t n);
/* Insert key with val, or replace its value; grows the table when needed.
 * SL_ERR_ARG for a negative key; SL_ERR_NOMEM (the map unchanged). */
sl_status sl__keymap_put(sl__keymap *m, int64_t key, int64_t val);
/* The value of key, or -1 when absent. Safe from many threads at once while
 * nothing is put. */
int64_t sl__keymap_get(const sl__keymap *m, int64_t key);
void sl__keymap_free(sl__keymap *m); /* leaves an empty map */

/* The start every index file shares: the 8-byte magic (else "PATH: not a
 * simlearn KIND (wrong magic)"), the format version (uint32; must be
 * version) and the metric code (uint32, at most SL_METRIC_COSINE), then the
 * trailing checksum checked (sl__reader_checksum). SL_ERR_FORMAT naming
 * the file and the problem. */
sl_status sl__reader_open(sl__reader *r, const char magic[8], const char *kind, uint32_t version, sl_metric *metric);

/* In a distributed run: whether every rank's step went well (a collective).
 * A rank whose own step failed keeps its status and message; the others
 * get SL_ERR_STATE saying "<what>: rank R failed (see its message)". */
sl_status sl__index_agree(sl_status mine, const char *what);

/* Queries shared among the ranks of a distributed run: each rank runs fn on
 * its share (sl_dist_share) of the nq queries (d floats each) with index and
 * opt, and the k results per query are gathered so that every rank has them
 * all. checked is the caller's check of the arguments on this rank; a
 * rank's error fails every rank (sl__index_agree). In one process it is fn
 * on every query. */
typedef sl_status (*sl__search_fn)(const void *index, const float *queries, size_t nq, size_t k, const void *opt,
                                   int64_t *ids, float *scores);
sl_status sl__search_shared(sl__search_fn fn, const void *index, const void *opt, sl_status checked, const char *what,
                            const float *queries, size_t nq, size_t d, size_t k, int64_t *ids, float *scores);


/* Whether 8 bytes are the flat index file's magic. */
bool sl__flat_index_magic(const void *head);

/* What an HNSW file's header and size say, read without loading it (the
 * manifest checks of sharded indexes): its metric, dimension, M,
 * ef_construction, live count, size in bytes and trailing checksum. */
typedef struct sl__hnsw_facts {
    sl_metric metric;
    size_t dim, M, ef_construction, live;
    uint64_t bytes, checksum;
} sl__hnsw_facts;
/* SL_ERR_IO (cannot open or read) or SL_ERR_FORMAT (not an HNSW file, or
 * too short), naming path. */
sl_status sl__hnsw_peek(const char *path, sl__hnsw_facts *out);

#endif

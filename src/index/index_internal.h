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

/* FNV-1a 64 over n bytes, continuing from hsh (SL__FNV1A_INIT to start): the
 * checksum of HNSW files and shard manifests. */
#define SL__FNV1A_INIT 0xcbf29ce484222325ULL
uint64_t sl__fnv1a(uint64_t hsh, const void *p, size_t n);

/* In a distributed run: whether every rank's step went well (a collective).
 * A rank whose own step failed keeps its status and message; the others
 * get SL_ERR_STATE saying "<what>: rank R failed (see its message)". */
sl_status sl__index_agree(sl_status mine, const char *what);

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

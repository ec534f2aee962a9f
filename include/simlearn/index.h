/* simlearn index: nearest-neighbour search over embedding matrices — exact
 * top-k by blocked matrix products (flat), the HNSW graph index (build,
 * search with ef, add, delete, filters, save/load), and sharded HNSW
 * (shards named by a manifest, searched in one process or one per rank).
 * Threads: exact search keeps no state and may run in several threads at
 * once on distinct outputs; an HNSW index may be searched by any number of
 * threads at once, while add and delete need it alone (see HNSW); a loaded
 * sharded index likewise, but when loaded one shard per rank its search is a
 * collective (see sharded HNSW). */
#ifndef SIMLEARN_INDEX_H
#define SIMLEARN_INDEX_H

#include <signal.h>

#include "simlearn/base.h"
#include "simlearn/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- metrics -------------------------------------------------------------
 * Scores returned by every search:
 *   SL_METRIC_L2      squared Euclidean distance ||q - x||^2, smaller is better;
 *   SL_METRIC_IP      inner product <q, x>, larger is better (MIPS);
 *   SL_METRIC_COSINE  cosine similarity, larger is better (a zero vector has
 *                     cosine 0 with everything).
 * Results are sorted best first; equal scores are ordered by increasing id, so
 * results do not depend on the thread count. */
typedef enum { SL_METRIC_L2 = 0, SL_METRIC_IP = 1, SL_METRIC_COSINE = 2 } sl_metric;

/* "l2", "ip", "cosine". */
const char *sl_metric_name(sl_metric m);
/* Parse "l2", "ip" (also "dot") or "cosine" (also "cos"). SL_ERR_ARG otherwise. */
sl_status sl_metric_parse(const char *name, sl_metric *out);
/* True for IP and cosine, whose scores are similarities. */
bool sl_metric_is_similarity(sl_metric m);

/* ---- exact search ---------------------------------------------------------
 * Top-k of every query against every base row, computed in blocks: a block of
 * queries times a block of base rows goes through one product, float32
 * (sl_gemm) or bfloat16 (the screen below), and every score gets a proven
 * bound on its distance from the exact score, from per-row norms. Per query,
 * the rows whose lower bound is within the k-th smallest upper bound are kept
 * and re-scored exactly (double accumulation; L2 as sl_hnsw does), so the ids,
 * scores and order are those of the naive search over every row (ties by
 * id), whatever the product's precision, rounding or blocking. Memory beyond
 * the inputs and outputs is bounded by max_block_bytes plus O(queries in a
 * block * k) (plus n * d * 2 bytes with the bf16 screen); near-ties that fill
 * a query's list make it search again with a longer one.
 * Runs on the sl_threads_set threads (products and OpenMP loops over
 * queries); the results do not depend on how many. */
typedef enum {
    SL_FLAT_SCREEN_AUTO = 0, /* bf16 where it can run and the product is large (n nq d >= 2^30, d >= 32) */
    SL_FLAT_SCREEN_FP32 = 1, /* float32 products (sl_gemm) */
    SL_FLAT_SCREEN_BF16 = 2  /* bf16 products where they can run, float32 otherwise */
} sl_flat_screen;
/* "auto", "fp32", "bf16". */
const char *sl_flat_screen_name(sl_flat_screen s);
/* Parse one of those; SL_ERR_ARG otherwise. */
sl_status sl_flat_screen_parse(const char *name, sl_flat_screen *out);
/* Whether bf16 products can run here: oneDNN (libdnnl.so.2, opened on first
 * use) reports the AVX-512 BF16 instructions, and SIMLEARN_NO_BF16 is unset
 * or 0. */
bool sl_flat_bf16_available(void);

typedef struct sl_flat_config {
    sl_metric metric;
    size_t k;              /* neighbours per query, >= 1 */
    bool exclude_self;     /* the queries are base rows: query i is row query_offset + i and never returns itself */
    size_t query_offset;   /* with exclude_self: base row of the first query (lets callers work in chunks) */
    size_t max_block_bytes; /* bound for the score block; 0 = 128 MiB */
    sl_progress *progress; /* queries done, may be NULL (borrowed) */
    sl_flat_screen screen; /* the products' precision; the results are the same */
} sl_flat_config;
/* Fill c with the defaults: L2, k = 10, no self-exclusion, 128 MiB blocks,
 * no progress, screen auto. */
void sl_flat_config_default(sl_flat_config *c);

/* base: n x d, queries: nq x dq (dq must equal d). ids (nq x k) and scores
 * (nq x k) are caller-allocated. Errors: SL_ERR_ARG (dims differ, empty base or
 * queries, k = 0), SL_ERR_RANGE (k larger than the base, minus one for
 * exclude_self), SL_ERR_NUMERIC (a NaN/Inf value, naming its row),
 * SL_ERR_NOMEM. Thread-safe for distinct outputs. */
sl_status sl_flat_search(const float *base, size_t n, size_t d, const float *queries, size_t nq, size_t dq,
                         const sl_flat_config *cfg, int64_t *ids, float *scores);
/* With exclude_self the queries pointer should be base + query_offset * d; only
 * the ids are excluded, the query values are taken from `queries`. */

/* Exact search over a base shared among the ranks of a distributed run
 * (sl_dist, simlearn/base.h): this rank holds rows first .. first + n - 1
 * (n may be 0) of a base of `total` rows, every rank passes the same queries
 * and configuration, and every rank receives the top-k of the whole base:
 * the ids and scores sl_flat_search gives on the whole base (each rank's
 * candidates are re-scored exactly and merged by score, then id). With
 * exclude_self, query i is base row query_offset + i of the whole base.
 * Errors: those of sl_flat_search (checked against the whole base); a
 * rank's error fails every rank (the others with SL_ERR_STATE naming it);
 * those of sl_dist. In a run of one process it is sl_flat_search. */
sl_status sl_flat_search_dist(const float *base, size_t n, size_t first, size_t total, size_t d, const float *queries,
                              size_t nq, size_t dq, const sl_flat_config *cfg, int64_t *ids, float *scores);

/* ---- HNSW -----------------------------------------------------------------
 * Hierarchical navigable small-world graph (Malkov & Yashunin 2018).
 * Every inserted vector is a node, numbered in insertion order (0, 1, 2, ...;
 * numbers are never reused), and has an id, its key: by default its node
 * number; sl_hnsw_add_keys lets the caller choose them instead (any int64
 * >= 0, each naming at most one live node, like hnswlib's labels or faiss's
 * IndexIDMap). Search returns ids, and delete, contains, get_vector and the
 * filter's allow_ids take them. An index that was never given keys keeps no
 * key table (ids are node numbers); the first sl_hnsw_add_keys gives every
 * existing node its number as key and keeps a key-to-node hash map from then
 * on (sl_hnsw_info.keyed). L2 and cosine run on the stored (for cosine: unit-normalised)
 * vectors. Inner product runs as MIPS reduced to L2: every stored vector x is
 * extended by one coordinate sqrt(R^2 - |x|^2), where R is the largest norm in
 * the index, and a query by 0, so |q' - x'|^2 = |q|^2 + R^2 - 2<q, x> and the
 * nearest extended vector is the one with the largest inner product. When an
 * added vector is longer than R, R grows and the extra coordinates are
 * recomputed. Final scores are recomputed exactly from the original vectors.
 *
 * Thread safety: sl_hnsw_search, sl_hnsw_contains and sl_hnsw_get_vector may
 * run concurrently with each other; add and delete need exclusive access
 * (they parallelise internally). */
typedef struct sl_hnsw_config {
    size_t dim;             /* vector dimension, >= 1 */
    sl_metric metric;
    size_t M;               /* links per node on upper levels (2M on level 0); 0 = 16 */
    size_t ef_construction; /* candidate list size while inserting; 0 = 200 */
    uint64_t seed;          /* level draws: node i's level depends only on (seed, i) */
} sl_hnsw_config;
/* Fill c with the defaults: L2, M = 16, ef_construction = 200, seed 0; dim
 * is 0 and must be set. */
void sl_hnsw_config_default(sl_hnsw_config *c);

typedef struct sl_hnsw sl_hnsw;

/* Errors: SL_ERR_ARG (dim 0, M < 2 or > 1024, ef_construction < 1), SL_ERR_NOMEM. */
sl_status sl_hnsw_create(const sl_hnsw_config *cfg, sl_hnsw **out);
void sl_hnsw_destroy(sl_hnsw *h); /* NULL-safe */

/* Insert n vectors (n x dim) with optional labels (n, or NULL: label -1),
 * using the sl_threads_set thread count. The new nodes are first_id ..
 * first_id+n-1, where first_id is the previous sl_hnsw_size (written to
 * *first_id when not NULL, also on SL_ERR_INTERRUPTED), and so are their ids.
 * In an index that was given keys, those ids must not be live keys already:
 * otherwise SL_ERR_ARG naming the row and the id, the index unchanged.
 * progress may be NULL. With one thread the
 * graph is deterministic; with more, insertion order between threads varies
 * and so do the links. After inserting, live nodes that the link pruning left
 * unreachable from the entry point are linked from a near reachable node.
 * stop (may be NULL) is polled before each vector: once *stop is non-zero no
 * further vector is started, and the call returns SL_ERR_INTERRUPTED with a
 * valid index that holds the vectors inserted so far (any subset of the n
 * when several threads insert); the ids of the others are handed out but
 * deleted (sl_hnsw_contains says which went in). A flag already set at the
 * call returns SL_ERR_INTERRUPTED with the index unchanged.
 * Errors: SL_ERR_ARG (n = 0, an id already live; the index is unchanged),
 * SL_ERR_NUMERIC (NaN/Inf, naming the row; the index is unchanged),
 * SL_ERR_NOMEM (unchanged when growing the arrays fails; a failure during
 * insertion leaves the rows inserted so far), SL_ERR_INTERRUPTED. */
sl_status sl_hnsw_add(sl_hnsw *h, const float *x, size_t n, const int64_t *labels, sl_progress *progress,
                      const volatile sig_atomic_t *stop, int64_t *first_id);

/* sl_hnsw_add with the ids chosen by the caller: row i gets id keys[i]. Every
 * key must be >= 0 (-1 pads search results), not live in the index, and not
 * repeated in keys; a key whose node was deleted may be given again and then
 * names the new node. All keys are checked before anything is inserted: a
 * bad one is SL_ERR_ARG naming the key and its row, the index unchanged. The
 * keys are recorded before the insertion starts, so after SL_ERR_INTERRUPTED
 * the keys of the rows that did not go in name deleted nodes (sl_hnsw_contains
 * is false for them) and may be given again. keys NULL is sl_hnsw_add
 * (ids = node numbers). Otherwise as sl_hnsw_add, whose errors it shares. */
sl_status sl_hnsw_add_keys(sl_hnsw *h, const float *x, size_t n, const int64_t *keys, const int64_t *labels,
                           sl_progress *progress, const volatile sig_atomic_t *stop);

/* Delete the nodes of ids: they are unlinked from the graph and their neighbours'
 * links are repaired (each former neighbour picks new links among the deleted
 * node's neighbours and its own, with the selection heuristic), so search
 * never visits them again. Errors: SL_ERR_RANGE (unknown id), SL_ERR_STATE
 * (already deleted). On error nothing is deleted. */
sl_status sl_hnsw_delete(sl_hnsw *h, const int64_t *ids, size_t n);

/* Filter applied inside the search: nodes failing it are still walked
 * through (so the graph stays connected) but never returned. */
typedef struct sl_hnsw_filter {
    const int64_t *allow_ids; /* ids (keys), sorted or not, unknown ones ignored; NULL = no id filter */
    size_t n_allow_ids;
    const int64_t *allow_labels; /* NULL = no label filter */
    size_t n_allow_labels;
} sl_hnsw_filter;

/* Search nq queries (nq x dim) with candidate list ef (raised to k when
 * smaller), in parallel over queries. Rows with fewer than k results (tiny or
 * heavily filtered indexes) are padded with id -1 and score NaN.
 * Errors: SL_ERR_ARG (k = 0, ef = 0), SL_ERR_STATE (empty index),
 * SL_ERR_NUMERIC (NaN query), SL_ERR_NOMEM. */
sl_status sl_hnsw_search(const sl_hnsw *h, const float *queries, size_t nq, size_t k, size_t ef,
                         const sl_hnsw_filter *filter, int64_t *ids, float *scores);

/* Facts about an index. */
typedef struct sl_hnsw_info {
    size_t dim, M, ef_construction;
    sl_metric metric;
    size_t size;       /* nodes so far (including deleted) */
    size_t live;       /* not deleted */
    int max_level;
    int64_t entry_point; /* its id; -1 when empty */
    size_t links_level0; /* total level-0 links */
    size_t bytes;        /* memory held */
    bool keyed;          /* ids are keys given with sl_hnsw_add_keys (saved as format version 2) */
} sl_hnsw_info;
void sl_hnsw_get_info(const sl_hnsw *h, sl_hnsw_info *out);
size_t sl_hnsw_size(const sl_hnsw *h);
/* The vectors' dimension and the live count, in constant time
 * (sl_hnsw_get_info walks the nodes for its link and memory counts). */
size_t sl_hnsw_dim(const sl_hnsw *h);
size_t sl_hnsw_live(const sl_hnsw *h);
/* Whether id names a live node (inserted and not deleted). */
bool sl_hnsw_contains(const sl_hnsw *h, int64_t id);
/* Copy the original (for cosine: normalised) vector of a live id into out
 * (dim). SL_ERR_NOTFOUND otherwise. */
sl_status sl_hnsw_get_vector(const sl_hnsw *h, int64_t id, float *out);

/* Structural check: link counts within bounds, no self-links, no duplicate
 * links, no links to deleted or out-of-range nodes, every node present on the
 * levels its level says, with keys every live node's key >= 0 and naming it,
 * every live node reachable from the entry point on level 0. SL_ERR_STATE
 * with the first problem found. */
sl_status sl_hnsw_check(const sl_hnsw *h);

/* Save to a file (written atomically), little-endian: magic "SLHNSW\r\n",
 * format version (uint32), metric (uint32), dim, M, ef_construction, seed,
 * node count, live count, entry point, top level (each 8 bytes), R^2 for MIPS
 * (double); then per node its level (int32, -1 when deleted), label (int64),
 * in version 2 its key (int64), and for a live node its stored vector (float32,
 * dim, + 1 for ip) and per level 0..level its link count (uint32) and links
 * (uint32 node numbers); then a FNV-1a 64-bit checksum of everything before
 * it. An index without keys is written as version 1 (the layout without the
 * key field); one given keys (sl_hnsw_info.keyed) as version 2. Load reads
 * both and validates every field against the file size before allocating, so
 * a truncated or corrupt file gives SL_ERR_FORMAT naming the problem, never a
 * crash; a version-2 file with a negative key, or with a key that two live
 * nodes share, is refused naming the file and the node. */
sl_status sl_hnsw_save(const sl_hnsw *h, const char *path);
sl_status sl_hnsw_load(const char *path, sl_hnsw **out);

/* ---- IVF-PQ ---------------------------------------------------------------
 * A compressed index: an inverted file over a coarse k-means quantiser of
 * nlist centroids, each vector stored in the list of its nearest centroid as
 * a product-quantisation code of its residual (vector - centroid): the dim
 * coordinates are cut into M sub-vectors (the first dim mod M of them one
 * coordinate longer when M does not divide dim), and each sub-vector is
 * replaced by the number (8 bits) of the nearest of its sub-space's 256
 * k-means codewords (Jegou, Douze & Schmid 2011). A vector then takes M
 * bytes of code and its 8-byte id (and an 8-byte label when the index has
 * labels) instead of 4 * dim bytes.
 *
 * A search ranks the nprobe centroids nearest the query (exactly, by
 * sl_flat_search), and scores every code of their lists by asymmetric
 * distance: the query stays float and each code's score is a sum of M
 * table lookups (for L2, squared distance tables built from the query, the
 * centroid and the codewords; for IP and cosine, inner products). With
 * `rerank` >= k, the `rerank` best codes are re-scored exactly from the
 * original vectors (row id of a base matrix the caller passes: so the ids
 * must be row numbers of that matrix, as they are by default) and the k best
 * of those are returned with exact scores; without it the scores are the
 * approximate ones. Cosine normalises vectors and queries first and then
 * works as IP. The coarse quantiser assigns by L2 (by IP for the IP metric).
 *
 * Training (sl_ivfpq_train) runs k-means (Lloyd's iterations from distinct
 * random rows; an empty cluster takes half of the largest one) on at most
 * 256 * nlist rows for the centroids and on the residuals of at most 65536
 * rows for each sub-space's codebook, rows drawn with the seed. Everything
 * (training, codes, search results) is the same for every thread count and
 * BLAS kernel: the nearest centroid and codeword searches go through
 * sl_flat_search's exact re-scoring, and all other sums run in a fixed order.
 *
 * Thread safety: sl_ivfpq_search may run concurrently with itself; train and
 * add need the index alone (they parallelise internally). */
typedef struct sl_ivfpq_config {
    size_t dim;          /* vector dimension, >= 1 */
    sl_metric metric;
    size_t nlist;        /* coarse centroids (inverted lists), >= 1; 0 = chosen at training: 4 sqrt(n), at most n / 39, at least 1 */
    size_t M;            /* sub-quantisers, 1 .. dim; 0 = dim / 8 (at least 1) */
    size_t nbits;        /* bits per sub-code: 8 (the only width; 0 = 8) */
    size_t iters;        /* k-means iterations for centroids and codebooks; 0 = 25 */
    uint64_t seed;       /* k-means starts and the training rows drawn */
} sl_ivfpq_config;
/* Fill c with the defaults: L2, nlist 0 (chosen at training), M 0 (dim/8),
 * 8 bits, 25 iterations, seed 0; dim is 0 and must be set. */
void sl_ivfpq_config_default(sl_ivfpq_config *c);

typedef struct sl_ivfpq sl_ivfpq;

/* An empty, untrained index. Errors: SL_ERR_ARG (dim 0, M > dim, nbits other
 * than 8, an unknown metric), SL_ERR_NOMEM. */
sl_status sl_ivfpq_create(const sl_ivfpq_config *cfg, sl_ivfpq **out);
void sl_ivfpq_destroy(sl_ivfpq *q); /* NULL-safe */

/* Learn the centroids and codebooks from n training rows (n x dim), which
 * need not be the rows added later. stop (may be NULL) is polled between
 * k-means iterations. Errors: SL_ERR_STATE (already trained), SL_ERR_ARG
 * (fewer rows than nlist, or than 256), SL_ERR_NUMERIC (NaN/Inf, naming the
 * row), SL_ERR_NOMEM, SL_ERR_INTERRUPTED (the index stays untrained). */
sl_status sl_ivfpq_train(sl_ivfpq *q, const float *x, size_t n, const volatile sig_atomic_t *stop);

/* Encode and add n rows. Their ids are keys[i] when keys is given (each
 * >= 0; not checked for repeats: a repeated id is simply returned twice),
 * else the count of vectors ever added before (deleted ones included) plus i. labels (n, or NULL) are the
 * rows' labels for label filters; an index that has been given labels keeps
 * them for every row (rows added without get -1). progress counts rows
 * (may be NULL); stop is polled between blocks of rows, and on
 * SL_ERR_INTERRUPTED the index holds the rows of the blocks done (the first
 * ones, in order). Errors: SL_ERR_STATE (not trained), SL_ERR_ARG (n = 0, a
 * negative key, naming its row), SL_ERR_NUMERIC (naming the row; nothing
 * added), SL_ERR_NOMEM (the blocks done stay), SL_ERR_INTERRUPTED. */
sl_status sl_ivfpq_add(sl_ivfpq *q, const float *x, size_t n, const int64_t *keys, const int64_t *labels,
                       sl_progress *progress, const volatile sig_atomic_t *stop);

/* Remove every vector whose id is among ids (n of them; repeats allowed).
 * All are checked first: an id that no vector has is SL_ERR_RANGE naming
 * it, nothing removed. *removed (may be NULL) gets the count removed.
 * Errors also SL_ERR_STATE (untrained), SL_ERR_NOMEM. */
sl_status sl_ivfpq_delete(sl_ivfpq *q, const int64_t *ids, size_t n, size_t *removed);

/* Distributed runs (sl_dist, simlearn/base.h). sl_ivfpq_train_dist and
 * sl_ivfpq_add_dist are collectives in which every rank passes its own rows
 * x (n of them, rows first .. first + n - 1 of the `total` rows of all
 * ranks: the sl_dist_share of the rank), and its rows' keys and labels
 * (this rank's n, or NULL). Training draws its samples from all the rows
 * and runs k-means with the per-cluster sums added over the ranks, so every
 * rank gets the same centroids and codebooks (they can differ in the last
 * bits from a one-process training on the same rows, whose sums run in
 * another order). Adding encodes each rank's rows and gives every rank all
 * of them, so the indexes of all ranks end the same (the rows' default ids
 * are their row numbers in the whole, after the ids handed out before); a
 * rank's error or a stop on any rank fails every rank (the others with
 * SL_ERR_STATE naming it; on SL_ERR_INTERRUPTED every rank holds the rounds
 * of rows done). sl_ivfpq_search_dist shares the queries (every rank passes
 * them all, and the same index) and gives every rank all the results, the
 * same as sl_ivfpq_search. In a run of one process each is the one-process
 * call. */
sl_status sl_ivfpq_train_dist(sl_ivfpq *q, const float *x, size_t n, size_t first, size_t total,
                              const volatile sig_atomic_t *stop);
sl_status sl_ivfpq_add_dist(sl_ivfpq *q, const float *x, size_t n, size_t first, size_t total, const int64_t *keys,
                            const int64_t *labels, sl_progress *progress, const volatile sig_atomic_t *stop);

/* How to search. */
typedef struct sl_ivfpq_search_config {
    size_t k;        /* neighbours per query, >= 1 */
    size_t nprobe;   /* lists visited per query (at most nlist are); 0 = 8 */
    size_t rerank;   /* 0: approximate scores; >= k: re-score this many best codes exactly from base */
    const float *base; /* with rerank: the original vectors, id i in row i (not normalised for cosine) */
    size_t base_rows;  /* rows of base */
    const sl_hnsw_filter *filter; /* ids and labels allowed, as for HNSW; may be NULL */
} sl_ivfpq_search_config;
/* Fill c with the defaults: k 10, nprobe 8, no re-ranking, no filter. */
void sl_ivfpq_search_config_default(sl_ivfpq_search_config *c);

/* Search nq queries (nq x dim), in parallel over queries. Rows with fewer
 * than k results (the probed lists hold fewer allowed vectors) are padded
 * with id -1 and score NaN. Results are sorted best first, equal scores by
 * increasing id. Errors: SL_ERR_ARG (k = 0, rerank in 1 .. k-1, rerank
 * without base), SL_ERR_STATE (untrained or empty index), SL_ERR_NUMERIC
 * (a NaN/Inf query), SL_ERR_RANGE (with rerank, a candidate id that is not a
 * row of base, named), SL_ERR_NOMEM. */
sl_status sl_ivfpq_search(const sl_ivfpq *q, const float *queries, size_t nq, const sl_ivfpq_search_config *cfg,
                          int64_t *ids, float *scores);

sl_status sl_ivfpq_search_dist(const sl_ivfpq *q, const float *queries, size_t nq, const sl_ivfpq_search_config *cfg,
                               int64_t *ids, float *scores);

/* Facts about an index. */
typedef struct sl_ivfpq_info {
    size_t dim, nlist, M, nbits;
    sl_metric metric;
    bool trained, labelled; /* labelled: a label is kept per vector */
    size_t size;            /* vectors held */
    size_t next_id;         /* vectors ever added (the next default id) */
    size_t code_bytes;      /* bytes per vector in the lists: M + 8 (id) + 8 with labels */
    size_t empty_lists, largest_list;
    double imbalance;       /* nlist * sum(list size^2) / size^2: 1 when even, the mean number of codes a query scans per probe relative to even lists */
    size_t bytes;           /* memory held: lists, centroids, codebooks and the L2 search tables */
} sl_ivfpq_info;
void sl_ivfpq_get_info(const sl_ivfpq *q, sl_ivfpq_info *out);

/* Decode: the approximation of the vector with this id that the index holds
 * (centroid + codewords; for cosine of the normalised vector), into out
 * (dim). The first vector with the id. SL_ERR_NOTFOUND otherwise. */
sl_status sl_ivfpq_reconstruct(const sl_ivfpq *q, int64_t id, float *out);

/* Save a trained index (written atomically), little-endian: magic
 * "SLIVFPQ\n", format version (uint32, 1), metric (uint32), dim, nlist, M,
 * nbits, iters, seed, size, next id, labelled (each 8 bytes); the centroids (float32,
 * nlist x dim); the codebooks (float32, per sub-space 256 x its width); per
 * list its length (uint64), codes (length x M bytes), ids (int64) and, when
 * labelled, labels (int64); then an FNV-1a 64-bit checksum of everything
 * before it. Load validates every field against the file size before
 * allocating (SL_ERR_FORMAT naming the file and the problem, never a crash):
 * a NaN/Inf centroid or codeword, a negative id, or list lengths that do not
 * sum to the size are refused. Save errors: SL_ERR_STATE (untrained),
 * SL_ERR_IO. */
sl_status sl_ivfpq_save(const sl_ivfpq *q, const char *path);
sl_status sl_ivfpq_load(const char *path, sl_ivfpq **out);

/* ---- flat (exact) index ----------------------------------------------------
 * The vectors themselves (float32, 4 * dim bytes each) with an id each (and
 * a label when any was given), searched exhaustively by sl_flat_search: the
 * ids, scores and order of the naive search over every vector held (equal
 * scores by increasing id), the same for every thread count and BLAS
 * kernel. For sets that fit in memory and answers that must be exact; the
 * index file keeps vectors, ids and labels together, so filters, deletes
 * and adds work as with HNSW and IVF-PQ. Vectors are kept in increasing id
 * order. Ids are the caller's (int64 >= 0) or, by default, the count of
 * vectors ever added; an index never holds two vectors with one id.
 * Cosine scores are those of sl_flat_search (the stored vectors are as
 * given, not normalised).
 *
 * Thread safety: search may run concurrently with itself; add and delete
 * need the index alone. */
typedef struct sl_flat_index sl_flat_index;

/* An empty index. Errors: SL_ERR_ARG (dim 0 or over 2^24, unknown metric),
 * SL_ERR_NOMEM. */
sl_status sl_flat_index_create(size_t dim, sl_metric metric, sl_flat_index **out);
void sl_flat_index_destroy(sl_flat_index *f); /* NULL-safe */

/* Add n rows (n x dim). Their ids are keys[i] when keys is given, else the
 * count of vectors ever added before (deleted ones included) plus i; labels
 * (n, or NULL) are kept for label filters: an index that has been given
 * labels keeps one for every vector (-1 for those added without). Errors,
 * nothing added: SL_ERR_ARG (n = 0; an id that is negative, repeated among
 * the rows or already held, naming the row), SL_ERR_NUMERIC (a NaN/Inf
 * value, naming the row), SL_ERR_NOMEM. */
sl_status sl_flat_index_add(sl_flat_index *f, const float *x, size_t n, const int64_t *keys, const int64_t *labels);
/* A collective of a distributed run (sl_dist): every rank passes its own
 * rows (rows first .. first + n - 1 of `total`: its sl_dist_share) with
 * their keys and labels (each given on every rank or on none), and every
 * rank's index receives all the rows, as one sl_flat_index_add of the whole
 * would. A rank's error fails every rank. In one process it is
 * sl_flat_index_add. */
sl_status sl_flat_index_add_dist(sl_flat_index *f, const float *x, size_t n, size_t first, size_t total,
                                 const int64_t *keys, const int64_t *labels);
/* Remove the vectors with these ids (n of them; repeats allowed). All are
 * checked first: an id no vector has is SL_ERR_RANGE naming it, nothing
 * removed. *removed (may be NULL) gets the count removed. SL_ERR_NOMEM. */
sl_status sl_flat_index_delete(sl_flat_index *f, const int64_t *ids, size_t n, size_t *removed);
/* The k best vectors for each of nq queries (nq x dim) among those the
 * filter allows (NULL: all), ids and scores (nq x k, caller-allocated),
 * best first; rows with fewer than k allowed vectors are padded with id -1
 * and score NaN. Errors: SL_ERR_ARG (k = 0), SL_ERR_NUMERIC (a NaN/Inf
 * query), SL_ERR_NOMEM. */
sl_status sl_flat_index_search(const sl_flat_index *f, const float *queries, size_t nq, size_t k,
                               const sl_hnsw_filter *filter, int64_t *ids, float *scores);
/* The same, as a collective: every rank passes the same index and queries,
 * searches its share of the queries, and receives every result. */
sl_status sl_flat_index_search_dist(const sl_flat_index *f, const float *queries, size_t nq, size_t k,
                                    const sl_hnsw_filter *filter, int64_t *ids, float *scores);

typedef struct sl_flat_index_info {
    size_t dim;
    sl_metric metric;
    bool labelled;       /* a label is kept per vector */
    size_t size;         /* vectors held */
    size_t next_id;      /* vectors ever added (the next default id) */
    size_t vector_bytes; /* bytes per vector: 4 dim + 8 (id) + 8 with labels */
    size_t bytes;        /* memory held */
} sl_flat_index_info;
void sl_flat_index_get_info(const sl_flat_index *f, sl_flat_index_info *out);
/* The vector with this id into out (dim floats); SL_ERR_NOTFOUND. */
sl_status sl_flat_index_get_vector(const sl_flat_index *f, int64_t id, float *out);

/* Save (atomically), little-endian: magic "SLFLAT\r\n", format version
 * (uint32, 1), metric (uint32), dim, size, next id, labelled (uint64 each);
 * the vectors (float32, size x dim, in id order), the ids (int64, strictly
 * increasing), the labels (int64) when labelled; then the FNV-1a 64-bit
 * checksum of everything before it. Load checks every field against the
 * file's size before allocating (SL_ERR_FORMAT naming the file and the
 * problem): a NaN/Inf value, a negative id or ids out of order are refused.
 * Save errors: SL_ERR_IO. */
sl_status sl_flat_index_save(const sl_flat_index *f, const char *path);
sl_status sl_flat_index_load(const char *path, sl_flat_index **out);

/* What kind of index a file holds, from its magic: "hnsw", "ivfpq", "flat",
 * "shards" (a manifest), or NULL (unreadable or something else). */
const char *sl_index_kind(const char *path);

/* ---- sharded HNSW ---------------------------------------------------------
 * A sharded index is several HNSW files ("shards"), each over some of the
 * base rows, and a small manifest that names them. Every shard keeps the ids
 * of the whole base as its keys (sl_hnsw_add_keys: the rows' global numbers,
 * or ids of the caller's choosing), so each shard file is also an ordinary
 * index whose search returns global ids. A search looks in every shard with
 * the same k and ef and merges the shards' lists exactly: by score (best
 * first), equal scores by increasing id, -1 padding last. The shards are
 * searched in one process (sl_shards_load) or one per rank of a distributed
 * run (sl_shards_load_dist), with the same result to the byte.
 *
 * The manifest (format version 1) is text, one field per line:
 *     simlearn-hnsw-shards 1
 *     metric l2
 *     dim 784
 *     M 16
 *     ef_construction 200
 *     rows 60000
 *     shards 2
 *     shard 0 30000 14725752 8d1c2b0e4f3a5d69 train.hnsw.shard0of2
 *     shard 1 30000 14726200 0a4b1c9e7d2f3e81 train.hnsw.shard1of2
 *     checksum 5be0f1d2c3a4b596
 * A shard line holds its number, its live rows, its file's size in bytes,
 * the 16 hex digits of the file's own trailing FNV-1a checksum (so a shard
 * replaced by another file is noticed without reading it twice) and its file
 * name, relative to the manifest's folder (no '/', no spaces). The last line
 * is the FNV-1a 64 checksum of every byte before it. Readers refuse, naming
 * the manifest or the shard file and what was expected: a wrong first line
 * or version, a missing or out-of-order field, a truncated file (no checksum
 * line), a checksum that differs, a shard file that is missing, is not an
 * HNSW index, or holds another metric, dimension, M, ef_construction, row
 * count, size or checksum than its line says (SL_ERR_FORMAT, or SL_ERR_IO
 * when a file cannot be opened).
 *
 * Threads: a loaded sl_shards is only read by search, so it may be searched
 * by several threads at once in one process; one loaded with
 * sl_shards_load_dist on several ranks is searched collectively (every rank
 * calls sl_shards_search with the same arguments, from the thread that
 * started sl_dist). */
typedef struct sl_shards sl_shards;

/* One shard as its manifest line describes it. */
typedef struct sl_shards_entry {
    const char *path; /* the file, as opened: the manifest's folder joined with its name (owned by the sl_shards) */
    size_t rows;      /* live vectors */
    uint64_t bytes;   /* file size */
    uint64_t checksum; /* the file's trailing FNV-1a checksum */
} sl_shards_entry;

typedef struct sl_shards_info {
    size_t shards;    /* shard count */
    size_t rows;      /* live vectors over every shard */
    size_t dim, M, ef_construction;
    sl_metric metric;
    size_t loaded;       /* shards held in memory: 0 (sl_shards_open), every one (sl_shards_load), 1 (sl_shards_load_dist on several ranks) */
    size_t first_loaded; /* the number of the first one held */
} sl_shards_info;

/* Build this rank's shard of a distributed run and, on rank 0, the manifest
 * (a collective: every rank calls it with its own rows and the same total,
 * ids, labels, cfg and manifest path). x holds this rank's n >= 1 rows,
 * which are rows first .. first + n - 1 of a base of `total` rows (the
 * sl_dist_share of the rank: sl_npy_read_matrix_part gives them). ids and
 * labels (each NULL or `total` entries, for the whole base) give the rows'
 * ids, which must be >= 0 and distinct over the whole base (checked on every
 * rank, an error naming the id and its two rows), and their labels (as in
 * sl_hnsw_add); without ids, row i's id is i. Rank r of N writes its shard
 * atomically to "<manifest>.shard<r>of<N>"; once every shard is written,
 * rank 0 writes the manifest atomically (so an old manifest stays until every
 * new shard is in place, and one whose shards were replaced meanwhile fails
 * its checksums). In a run of one process it writes a manifest of one
 * shard. With one thread per rank every file is the same bytes on every run.
 * progress (may be NULL) counts this rank's rows; stop as in sl_hnsw_add,
 * and an interrupted build writes no manifest. Errors: SL_ERR_ARG (no rows
 * on a rank, rows outside the base, a bad id), those of sl_hnsw_add_keys and
 * sl_hnsw_save; a rank's error fails every rank (the others with
 * SL_ERR_STATE naming it). */
sl_status sl_shards_build(const float *x, size_t n, size_t first, size_t total, const int64_t *ids,
                          const int64_t *labels, const sl_hnsw_config *cfg, const char *manifest,
                          sl_progress *progress, const volatile sig_atomic_t *stop);

/* Write a manifest (atomically) over n >= 1 existing HNSW files, named
 * relative to the manifest's folder; each is read for its facts (header,
 * size, trailing checksum) but not loaded. They must share metric,
 * dimension, M and ef_construction, and their ids should be distinct (not
 * checked). Errors: SL_ERR_ARG (a name with '/' or whitespace, parameters
 * that differ, naming the file), those of reading the files, SL_ERR_IO. */
sl_status sl_shards_write(const char *manifest, const char *const *files, size_t n);

/* Whether path starts like a shard manifest (its first line). False when it
 * cannot be read. */
bool sl_shards_is_manifest(const char *path);

/* Read and check a manifest and every shard's file facts (as above), loading
 * no shard: for describing an index. */
sl_status sl_shards_open(const char *manifest, sl_shards **out);
/* sl_shards_open, then load every shard into this process (each also
 * checked whole by sl_hnsw_load). */
sl_status sl_shards_load(const char *manifest, sl_shards **out);
/* A collective of a distributed run of N ranks: the manifest must have N
 * shards (otherwise SL_ERR_ARG, on every rank, saying how many ranks to
 * start), and rank r checks the manifest and loads shard r. A rank's error
 * fails every rank (the others with SL_ERR_STATE naming it). In a run of one
 * process it is sl_shards_load. */
sl_status sl_shards_load_dist(const char *manifest, sl_shards **out);
void sl_shards_destroy(sl_shards *s); /* NULL-safe */
/* Whether every shard is loaded here and the ids are the base's row numbers
 * (shard i holds ids first_i .. first_i + rows_i - 1, first_i the rows of
 * the shards before it: a build without ids), so that a table with one
 * entry per row (labels) can be looked up by id. O(rows). */
bool sl_shards_ids_are_rows(const sl_shards *s);

void sl_shards_get_info(const sl_shards *s, sl_shards_info *out);
/* Shard i's manifest line; SL_ERR_RANGE when i >= the shard count. */
sl_status sl_shards_get_entry(const sl_shards *s, size_t i, sl_shards_entry *out);

/* Search every shard (sl_hnsw_search with this k, ef and filter; a shard with
 * fewer than k live rows gives what it has) and merge (sl_shards_merge):
 * ids and scores (nq x k, caller-allocated) are what one process that holds
 * every shard returns, also on every rank of a distributed run (a collective
 * there, the per-rank lists gathered in chunks of at most 64 MiB). Errors:
 * SL_ERR_STATE (no shard loaded: sl_shards_open), SL_ERR_RANGE (k larger
 * than the rows of every shard together), those of sl_hnsw_search and of
 * sl_dist. Thread safety: see above. */
sl_status sl_shards_search(const sl_shards *s, const float *queries, size_t nq, size_t k, size_t ef,
                           const sl_hnsw_filter *filter, int64_t *ids, float *scores);

/* Merge parts lists of k results per query (ids and scores: parts x nq x k,
 * part-major, id -1 for padding) into one of k per query (out_ids,
 * out_scores: nq x k): best scores first (smallest for L2, largest for ip
 * and cosine), equal scores by increasing id, padded with id -1 and score
 * NaN when the parts hold fewer than k. The order depends only on the
 * (score, id) pairs, not on the parts' order. SL_ERR_ARG for k = 0 or
 * parts = 0; SL_ERR_NOMEM. */
sl_status sl_shards_merge(const int64_t *ids, const float *scores, size_t parts, size_t nq, size_t k, sl_metric metric,
                          int64_t *out_ids, float *out_scores);

/* ---- the k-NN graph ---------------------------------------------------------
 * Every row's k nearest other rows, as ids (n x k, nearest first) and edge
 * lengths (n x k): the Euclidean distance for l2, 1 - cosine for cosine (the
 * inner product is no distance and is refused). Built exactly by
 * sl_flat_search (the same result for every thread count) or, with
 * `approximate`, through an HNSW index of the rows (M, ef_construction,
 * seed), each row searched with ef for k + 1 neighbours and itself dropped.
 * The statistics and paths read the graph symmetrised: i and j are joined
 * when either lists the other, by the length of that edge. */
typedef struct sl_knngraph_config {
    sl_metric metric;        /* l2 or cosine; default l2 */
    size_t k;                /* neighbours per row, >= 1; default 10 */
    bool approximate;        /* HNSW instead of exact search; default false */
    size_t M, ef_construction, ef; /* the index's, when approximate; default 16, 200, 64 */
    uint64_t seed;           /* the index's level draws; default 0 */
    sl_progress *progress;   /* rows done (the index's inserts, or the exact search's queries); may be NULL */
    const volatile sig_atomic_t *stop; /* polled by the approximate build (may be NULL) */
} sl_knngraph_config;
void sl_knngraph_config_default(sl_knngraph_config *c);

/* x: n x d. ids and len (n x k each) are caller-allocated. Errors: SL_ERR_ARG
 * (the inner product, k = 0), SL_ERR_RANGE (k > n - 1), those of the searches
 * (SL_ERR_NUMERIC for a NaN row), SL_ERR_NOMEM, SL_ERR_INTERRUPTED. */
sl_status sl_knngraph_build(const float *x, size_t n, size_t d, const sl_knngraph_config *c, int64_t *ids,
                            float *len);

#define SL_KNNGRAPH_HUBS 10
typedef struct sl_knngraph_stats {
    size_t n, k;
    /* In-degrees (how many lists hold a row): their extremes, median and
     * skewness (hubness: a long right tail means a few rows are everyone's
     * neighbours), the rows that no list holds, and the hubs, largest
     * in-degree first (ties: smaller id). */
    size_t indegree_min, indegree_max, zero_indegree;
    double indegree_median, indegree_skew;
    int64_t hubs[SL_KNNGRAPH_HUBS];
    size_t hub_indegree[SL_KNNGRAPH_HUBS], n_hubs;
    double reciprocal;         /* share of edges i -> j whose reverse is listed too */
    size_t components;         /* connected components of the symmetrised graph */
    size_t largest_component;  /* rows in the largest */
} sl_knngraph_stats;
/* Errors: SL_ERR_ARG (empty), SL_ERR_FORMAT (an id outside [0, n) or a row
 * listing itself, naming the row), SL_ERR_NOMEM. */
sl_status sl_knngraph_describe(const int64_t *ids, size_t n, size_t k, sl_knngraph_stats *out);

/* The shortest path from row `from` to row `to` in the symmetrised graph
 * (Dijkstra on the edge lengths; equal lengths: the smaller predecessor).
 * *path (allocated with the library's allocator, free with
 * sl_allocator_free; *npath rows, from first, to last) and its *length;
 * when `to` cannot be reached, *path is NULL, *npath 0 and *length
 * infinity, and the call succeeds. Errors: those of sl_knngraph_describe, plus
 * a negative or non-finite length (SL_ERR_FORMAT) and SL_ERR_RANGE (from or
 * to outside [0, n)). */
sl_status sl_knngraph_path(const int64_t *ids, const float *len, size_t n, size_t k, int64_t from, int64_t to,
                           int64_t **path, size_t *npath, double *length);
/* The lengths of the shortest paths of npairs pairs (from[p], to[p]) into out
 * (infinity when unreachable): the graph's geodesic distances. Errors: as
 * sl_knngraph_path. */
sl_status sl_knngraph_geodesics(const int64_t *ids, const float *len, size_t n, size_t k, const int64_t *from,
                                const int64_t *to, size_t npairs, double *out);
/* npairs random pairs of distinct rows of x (n x d; drawn from `seed`): each
 * pair's distance through the graph (geodesic, infinity when unreachable)
 * and straight (the Euclidean distance for l2, 1 - cosine for cosine). The
 * picture `simlearn knn graph` prints and plots. Errors: as
 * sl_knngraph_geodesics, SL_ERR_ARG (fewer than 2 rows). */
sl_status sl_knngraph_sample_pairs(const float *x, size_t n, size_t d, sl_metric m, const int64_t *ids, const float *len,
                                   size_t k, size_t npairs, uint64_t seed, double *geodesic, double *straight);

#ifdef __cplusplus
}
#endif
#endif

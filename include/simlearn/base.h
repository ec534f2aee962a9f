/* simlearn base: status codes and error messages, the allocator, random numbers,
 * threads, progress reporting, timers and atomic file writes. Every other module
 * builds on these.
 * Threads: the error message is per thread; sl_allocator_set must come before
 * any other call; an sl_rng, an sl_progress and an sl_afile are used by one
 * thread at a time; an sl_alias is only read once made, so any number of
 * threads may sample from it at once (each with its own sl_rng).
 * Process-wide effects: sl_allocator_set (by design), and OpenBLAS's thread
 * count while sl_gemm runs (see "threads" below). */
#ifndef SIMLEARN_BASE_H
#define SIMLEARN_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes -------------------------------------------------------
 * One list drives the enum and the message table. 0 is success; errors are
 * negative. A failing function also sets a detailed, thread-local message that
 * sl_error_message() returns (file, position, what was expected). */
#define SL_STATUS_LIST(X)                                           \
    X(SL_OK, 0, "ok")                                               \
    X(SL_ERR_NOMEM, -1, "out of memory")                            \
    X(SL_ERR_IO, -2, "input/output error")                          \
    X(SL_ERR_FORMAT, -3, "malformed input")                         \
    X(SL_ERR_ARG, -4, "invalid argument")                           \
    X(SL_ERR_RANGE, -5, "value out of range")                       \
    X(SL_ERR_UNSUPPORTED, -6, "unsupported")                        \
    X(SL_ERR_NUMERIC, -7, "non-finite value")                       \
    X(SL_ERR_NOTFOUND, -8, "not found")                             \
    X(SL_ERR_INTERRUPTED, -9, "interrupted")                        \
    X(SL_ERR_STATE, -10, "invalid state")

typedef enum {
#define SL__STATUS_ENUM(name, value, msg) name = value,
    SL_STATUS_LIST(SL__STATUS_ENUM)
#undef SL__STATUS_ENUM
} sl_status;

/* Short fixed description of a status code ("out of memory"). Never NULL. */
const char *sl_status_str(sl_status s);
/* The detailed message of the last failure on this thread, or "" if none. The
 * pointer stays valid until the next failing call on the same thread. */
const char *sl_error_message(void);
/* Forget the last error message on this thread. */
void sl_error_clear(void);

/* ---- allocator ----------------------------------------------------------
 * All library allocations go through these hooks. The default is the C
 * library's malloc/realloc/free. Replacing it is process-wide and must happen
 * before any other simlearn call (it is how the out-of-memory tests work). */
typedef struct sl_allocator {
    void *(*malloc_fn)(size_t size, void *ctx);
    void *(*realloc_fn)(void *ptr, size_t size, void *ctx);
    void (*free_fn)(void *ptr, void *ctx);
    void *ctx;
} sl_allocator;
/* NULL restores the default allocator. */
void sl_allocator_set(const sl_allocator *a);
/* Free memory that simlearn returned to the caller (buffers documented as
 * "freed with sl_allocator_free"), through the current allocator. NULL-safe. */
void sl_allocator_free(void *p);

/* ---- random numbers -----------------------------------------------------
 * xoshiro256** seeded through splitmix64. (seed, stream) pairs give
 * statistically independent sequences, so each thread or each data item gets
 * its own stream. Not thread-safe: one sl_rng per thread. */
typedef struct sl_rng {
    uint64_t s[4];
} sl_rng;

void sl_rng_seed(sl_rng *r, uint64_t seed, uint64_t stream);
uint64_t sl_rng_u64(sl_rng *r);
uint32_t sl_rng_u32(sl_rng *r);
/* Uniform in [0, 1). */
float sl_rng_uniform(sl_rng *r);
double sl_rng_uniform_d(sl_rng *r);
/* Uniform in [lo, hi). */
float sl_rng_range(sl_rng *r, float lo, float hi);
/* Standard normal (Box-Muller, no cached spare, so the stream position depends
 * only on the number of calls). */
double sl_rng_normal(sl_rng *r);
/* Unbiased integer in [0, n); n must be > 0. */
uint64_t sl_rng_below(sl_rng *r, uint64_t n);
/* Fisher-Yates shuffle of n elements of elem_size bytes (elem_size <= 64). */
void sl_rng_shuffle(sl_rng *r, void *base, size_t n, size_t elem_size);
/* A uniform random sample of m distinct indices of 0..n-1 (m <= n) into out
 * (m entries): the first m entries of the array 0, 1, ..., n-1 after
 * sl_rng_shuffle (the same draws, so the same rows as shuffling an index
 * array and keeping its head), in that order, or in increasing order when
 * `sorted` (a sample that keeps file order). O(n) time and memory, plus
 * O(m log m) to sort. Errors: SL_ERR_ARG (m > n), SL_ERR_NOMEM. */
sl_status sl_rng_sample(sl_rng *r, size_t n, size_t m, bool sorted, size_t *out);
/* Bernoulli trial with probability p. */
bool sl_rng_bernoulli(sl_rng *r, double p);

/* Sampling from a discrete distribution in O(1) per draw (Walker's alias
 * method). Weights must be finite and >= 0 with a positive sum. */
typedef struct sl_alias sl_alias;
sl_status sl_alias_create(const double *weights, size_t n, sl_alias **out);
size_t sl_alias_sample(const sl_alias *a, sl_rng *r);
void sl_alias_destroy(sl_alias *a);

/* ---- threads ------------------------------------------------------------
 * The library's loops run on OpenMP threads. sl_threads_set(n) calls
 * omp_set_num_threads(n) (n <= 0: omp_get_num_procs()), which sets the
 * OpenMP thread count of the calling thread only: the parallel regions that
 * this thread starts afterwards, in simlearn or elsewhere, use it; other
 * threads keep their own (the initial value: OMP_NUM_THREADS, else the
 * number of processors). It changes nothing else. sl_threads_get returns the
 * calling thread's count (omp_get_max_threads()). sl_trainer_create and
 * sl_embed_run call sl_threads_set with their configuration's count, and the
 * calling thread keeps that count after them.
 * Matrix products run single-threaded in OpenBLAS: sl_gemm spreads a product
 * over the OpenMP threads itself, in tiles fixed by the product's shape, so
 * results do not depend on the thread count. With the pthread build of
 * OpenBLAS this is a process-wide effect: OpenBLAS's thread count
 * (openblas_set_num_threads) is 1 while any sl_gemm call is running, in any
 * thread, and is put back when the last one ends; other code calling
 * OpenBLAS at that time runs single-threaded (see simlearn/tensor.h). */
void sl_threads_set(int n);
int sl_threads_get(void);

/* ---- distributed runs ----------------------------------------------------
 * A simlearn run is one process, or N ranks started together by mpirun
 * (Open MPI) that split the work: `mpirun -np 4 simlearn train ...`. The
 * library is built with MPI by default (`make MPI=0` builds without it;
 * then every run is one process and sl_dist_available is false).
 * sl_dist_init starts MPI only when the process was started by an MPI
 * launcher (its environment says so), so a plain run never pays MPI's start
 * or needs mpirun; it is then rank 0 of 1 and every collective below is a
 * copy or nothing. The collectives are blocking, called by every rank in the
 * same order, from the thread that called sl_dist_init (MPI's "funneled"
 * level: OpenMP threads never call MPI). Their errors are SL_ERR_IO with
 * MPI's message. */
/* Start (idempotent). Errors: SL_ERR_IO (MPI failed to start),
 * SL_ERR_UNSUPPORTED (started by a launcher in a build without MPI). */
sl_status sl_dist_init(void);
/* Stop MPI if sl_dist_init started it (every rank must call it). */
void sl_dist_shutdown(void);
/* End every rank of the run at once with this exit status (MPI_Abort; a
 * plain exit in a single process). */
void sl_dist_abort(int status);
bool sl_dist_available(void); /* built with MPI */
int sl_dist_rank(void);       /* 0 .. size-1; 0 before sl_dist_init */
int sl_dist_size(void);       /* ranks in the run; 1 before sl_dist_init */
/* Part `part` of `parts` of n items in order: *first = floor(n * part /
 * parts) and *count up to the next part's first (the parts differ by one at
 * most and cover the n items once). How a rank's share is cut everywhere. */
void sl_dist_share(size_t n, size_t part, size_t parts, size_t *first, size_t *count);
/* In place, over all ranks: x[i] = the sum (max) of every rank's x[i]. */
sl_status sl_dist_sum_f32(float *x, size_t n);
sl_status sl_dist_sum_f64(double *x, size_t n);
sl_status sl_dist_max_f32(float *x, size_t n);
sl_status sl_dist_max_i64(int64_t *x, size_t n);
/* recv (size x bytes) receives every rank's send block (bytes each), in rank
 * order. Errors also SL_ERR_RANGE (bytes over INT_MAX). */
sl_status sl_dist_allgather(const void *send, size_t bytes, void *recv);
/* buf (bytes) on every rank becomes root's. */
sl_status sl_dist_bcast(void *buf, size_t bytes, int root);
sl_status sl_dist_barrier(void);

/* ---- timer --------------------------------------------------------------*/
/* Monotonic wall-clock seconds. */
double sl_time_now(void);

/* ---- progress -----------------------------------------------------------
 * A progress bar on a terminal (done/total, rate, ETA and caller fields such
 * as the loss), redrawn at most 10 times a second; plain lines every few
 * seconds when the stream is not a terminal; nothing in quiet mode. */
typedef enum { SL_PROGRESS_AUTO, SL_PROGRESS_BAR, SL_PROGRESS_LINES, SL_PROGRESS_QUIET } sl_progress_mode;
typedef struct sl_progress sl_progress;
/* stream: where to write (usually stderr); label: a short word shown first;
 * total: number of units (0 if unknown); unit: "img", "words", ... */
sl_status sl_progress_create(FILE *stream, sl_progress_mode mode, const char *label, uint64_t total,
                             const char *unit, sl_progress **out);
/* Report that `done` units are finished; fields (may be NULL) is a short
 * caller string such as "loss 4.21 lr 1e-3". Cheap when nothing is drawn. */
void sl_progress_update(sl_progress *p, uint64_t done, const char *fields);
/* Final line with the total time and mean rate. NULL-safe. */
void sl_progress_finish(sl_progress *p, const char *fields);
/* Print line (and a newline) on its own line of the stream, in every mode,
 * quiet included: a warning that must not be lost in the bar. The bar is
 * drawn again at the next update. NULL p: nothing. */
void sl_progress_note(sl_progress *p, const char *line);
void sl_progress_destroy(sl_progress *p);

/* ---- atomic file writes -------------------------------------------------
 * Write to a temporary file in the destination's directory, then fsync and
 * rename over the destination, so readers see either the old or the new file,
 * never half of one. */
typedef struct sl_afile sl_afile;
sl_status sl_afile_open(const char *path, sl_afile **out);
FILE *sl_afile_stream(sl_afile *f);
/* fwrite of n bytes to the stream; a short write is SL_ERR_IO "PATH: write
 * failed: REASON" (the file stays open: abort it). */
sl_status sl_afile_write(sl_afile *f, const void *p, size_t n);
/* Flush, fsync, close and rename into place, then fsync the directory; frees
 * f whatever the result. A failure of that last sync is SL_ERR_IO with the
 * file already in place (it may not survive a crash); a directory that cannot
 * be read (EACCES) or a file system that does not sync directories (EINVAL,
 * EROFS) is not an error. */
sl_status sl_afile_commit(sl_afile *f);
/* Close and delete the temporary file; frees f. NULL-safe. */
void sl_afile_abort(sl_afile *f);

/* ---- version --------------------------------------------------------------
 * The version of the linked library ("0.1.0"); SL_VERSION_STRING in
 * simlearn.h is the version of the headers. */
const char *sl_version(void);

/* ---- small helpers ------------------------------------------------------*/
/* Overflow-checked a*b; returns false on overflow. */
bool sl_size_mul(size_t a, size_t b, size_t *out);

#ifdef __cplusplus
}
#endif
#endif

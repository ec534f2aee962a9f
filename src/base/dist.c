/* Distributed runs over MPI: start and stop, rank and size, and the few
 * collectives the library uses (sums, max, allgather, broadcast). MPI starts
 * only when a launcher started the process; a plain run is rank 0 of 1 and
 * the collectives are copies or nothing. Counts above INT_MAX elements are
 * split into several calls (MPI counts are int). */
#include "internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifdef SL_WITH_MPI
#include <mpi.h>
#endif

static int dist_rank = 0, dist_size = 1;

/* Whether an MPI launcher (mpirun of Open MPI, or a PMI/PMIx launcher)
 * started this process, and how many ranks it started (0: unknown). */
static bool launched(long *ranks) {
    const char *v = getenv("OMPI_COMM_WORLD_SIZE");
    if (!v) v = getenv("PMI_SIZE");
    *ranks = v ? strtol(v, NULL, 10) : 0;
    return v || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

/* floor(n * part / parts) without overflow (n = q * parts + rem). */
static size_t share_start(size_t n, size_t part, size_t parts) { return n / parts * part + n % parts * part / parts; }

void sl_dist_share(size_t n, size_t part, size_t parts, size_t *first, size_t *count) {
    *first = share_start(n, part, parts);
    *count = share_start(n, part + 1, parts) - *first;
}

bool sl_dist_available(void) {
#ifdef SL_WITH_MPI
    return true;
#else
    return false;
#endif
}

int sl_dist_rank(void) { return dist_rank; }
int sl_dist_size(void) { return dist_size; }

#ifdef SL_WITH_MPI
static bool dist_started = false; /* sl_dist_init started MPI (and sl_dist_shutdown stops it) */

static sl_status mpi_fail(int err, const char *what) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(err, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "error %d", err);
    return sl__fail(SL_ERR_IO, "MPI %s failed on rank %d: %s", what, dist_rank, msg);
}
#define MPI_TRY(call, what)                           \
    do {                                              \
        int err_ = (call);                            \
        if (err_ != MPI_SUCCESS) return mpi_fail(err_, what); \
    } while (0)

sl_status sl_dist_init(void) {
    long ranks;
    if (dist_started || !launched(&ranks)) return SL_OK;
    int provided = 0, already = 0;
    MPI_Initialized(&already);
    if (!already) MPI_TRY(MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided), "start");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_TRY(MPI_Comm_rank(MPI_COMM_WORLD, &dist_rank), "rank");
    MPI_TRY(MPI_Comm_size(MPI_COMM_WORLD, &dist_size), "size");
    dist_started = !already;
    return SL_OK;
}

void sl_dist_shutdown(void) {
    if (!dist_started) return;
    MPI_Finalize();
    dist_started = false;
    dist_rank = 0, dist_size = 1;
}

void sl_dist_abort(int status) {
    if (dist_size > 1) MPI_Abort(MPI_COMM_WORLD, status);
    exit(status);
}

/* An in-place allreduce in pieces of at most INT_MAX elements. */
static sl_status allreduce(void *x, size_t n, size_t elem, MPI_Datatype t, MPI_Op op) {
    for (size_t at = 0; at < n;) {
        size_t m = n - at < (size_t)INT_MAX ? n - at : (size_t)INT_MAX;
        MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, (char *)x + at * elem, (int)m, t, op, MPI_COMM_WORLD), "allreduce");
        at += m;
    }
    return SL_OK;
}

sl_status sl_dist_sum_f32(float *x, size_t n) {
    return dist_size > 1 ? allreduce(x, n, sizeof *x, MPI_FLOAT, MPI_SUM) : SL_OK;
}
sl_status sl_dist_sum_f64(double *x, size_t n) {
    return dist_size > 1 ? allreduce(x, n, sizeof *x, MPI_DOUBLE, MPI_SUM) : SL_OK;
}
sl_status sl_dist_max_f32(float *x, size_t n) {
    return dist_size > 1 ? allreduce(x, n, sizeof *x, MPI_FLOAT, MPI_MAX) : SL_OK;
}
sl_status sl_dist_max_i64(int64_t *x, size_t n) {
    return dist_size > 1 ? allreduce(x, n, sizeof *x, MPI_INT64_T, MPI_MAX) : SL_OK;
}

sl_status sl_dist_allgather(const void *send, size_t bytes, void *recv) {
    if (bytes > (size_t)INT_MAX)
        return sl__fail(SL_ERR_RANGE, "allgather: %zu bytes per rank is over MPI's limit of %d", bytes, INT_MAX);
    if (dist_size == 1) {
        if (bytes && recv != send) memmove(recv, send, bytes);
        return SL_OK;
    }
    MPI_TRY(MPI_Allgather(send, (int)bytes, MPI_BYTE, recv, (int)bytes, MPI_BYTE, MPI_COMM_WORLD), "allgather");
    return SL_OK;
}

sl_status sl_dist_bcast(void *buf, size_t bytes, int root) {
    if (root < 0 || root >= dist_size) return sl__fail(SL_ERR_ARG, "broadcast: root %d of %d ranks", root, dist_size);
    for (size_t at = 0; dist_size > 1 && at < bytes;) {
        size_t m = bytes - at < (size_t)INT_MAX ? bytes - at : (size_t)INT_MAX;
        MPI_TRY(MPI_Bcast((char *)buf + at, (int)m, MPI_BYTE, root, MPI_COMM_WORLD), "broadcast");
        at += m;
    }
    return SL_OK;
}

sl_status sl_dist_barrier(void) {
    if (dist_size > 1) MPI_TRY(MPI_Barrier(MPI_COMM_WORLD), "barrier");
    return SL_OK;
}

#else /* a build without MPI: one process */

sl_status sl_dist_init(void) {
    long ranks;
    if (launched(&ranks) && ranks > 1)
        return sl__fail(SL_ERR_UNSUPPORTED,
                        "started as one of %ld ranks, but this simlearn was built without MPI (make MPI=0): "
                        "every rank would run the whole job; rebuild with MPI or run it without mpirun",
                        ranks);
    return SL_OK;
}

void sl_dist_shutdown(void) {}
void sl_dist_abort(int status) { exit(status); }
sl_status sl_dist_sum_f32(float *x, size_t n) { return (void)x, (void)n, SL_OK; }
sl_status sl_dist_sum_f64(double *x, size_t n) { return (void)x, (void)n, SL_OK; }
sl_status sl_dist_max_f32(float *x, size_t n) { return (void)x, (void)n, SL_OK; }
sl_status sl_dist_max_i64(int64_t *x, size_t n) { return (void)x, (void)n, SL_OK; }

sl_status sl_dist_allgather(const void *send, size_t bytes, void *recv) {
    if (bytes > (size_t)INT_MAX)
        return sl__fail(SL_ERR_RANGE, "allgather: %zu bytes per rank is over MPI's limit of %d", bytes, INT_MAX);
    if (bytes && recv != send) memmove(recv, send, bytes);
    return SL_OK;
}

sl_status sl_dist_bcast(void *buf, size_t bytes, int root) {
    (void)buf, (void)bytes;
    if (root != 0) return sl__fail(SL_ERR_ARG, "broadcast: root %d of 1 rank", root);
    return SL_OK;
}

sl_status sl_dist_barrier(void) { return SL_OK; }
#endif

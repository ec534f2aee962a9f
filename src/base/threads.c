/* Thread count for OpenMP loops, the OpenBLAS thread setting, and the
 * monotonic timer. This file and sl_gemm (src/tensor/gemm.c) are the only
 * code that touches OpenBLAS's threads: OpenBLAS always runs single-threaded,
 * and sl_gemm spreads a product over the OpenMP threads in tiles whose shapes
 * do not depend on the thread count, so results do not either. */
#include "internal.h"

#include <cblas.h>
#include <omp.h>
#include <pthread.h>
#include <time.h>

/* The pthread build of OpenBLAS keeps this setting for every later call. The
 * OpenMP build also calls omp_set_num_threads on the calling thread here
 * (put back below, so simlearn's loops keep their threads) and, outside a
 * parallel region, follows omp_get_max_threads() instead, which sl_gemm
 * handles around each call. */
static void blas_one_thread(void) {
    int omp = omp_get_max_threads();
    openblas_set_num_threads(1);
    if (omp_get_max_threads() != omp) omp_set_num_threads(omp);
}

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

void sl__blas_single_thread(void) { pthread_once(&blas_once, blas_one_thread); }

void sl_set_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    sl__blas_single_thread();
    /* Again, in case the program changed OpenBLAS's setting since. */
    if (openblas_get_num_threads() != 1) blas_one_thread();
    omp_set_num_threads(n);
}

int sl_get_threads(void) { return omp_get_max_threads(); }

double sl_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

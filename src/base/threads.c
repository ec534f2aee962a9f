/* Thread count for the library's OpenMP loops, and the monotonic timer.
 * OpenBLAS's own threads are left to sl_gemm (src/tensor/gemm.c), which runs
 * every product single-threaded in OpenBLAS and spreads it over these
 * threads itself. */
#include "internal.h"

#include <omp.h>
#include <time.h>

void sl_threads_set(int n) {
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
}

int sl_threads_get(void) { return omp_get_max_threads(); }

double sl_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Thread count for OpenMP loops and OpenBLAS, and the monotonic timer. */
#include "internal.h"

#include <cblas.h>
#include <omp.h>
#include <time.h>

void sl_set_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int sl_get_threads(void) { return omp_get_max_threads(); }

double sl_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

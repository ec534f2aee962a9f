/* The collectives of a distributed run, timed on this machine (for the
 * scaling model of docs/scaling.md): the sum of n floats over the ranks
 * (sl_dist_sum_f32, MPI_Allreduce) and the allgather of n floats per rank,
 * for sizes from one float to 16 Mi floats; the median of REPS calls each.
 * Run it under mpirun: mpirun -np 2 build/bench/dist_comm [REPS]
 * Prints, on rank 0: "sum BYTES median_us GB/s" and "allgather ..." lines,
 * then "LATENCY_US <sum of 1 float>" and "BANDWIDTH_GBS <allreduce bus
 * bandwidth at 64 MiB>". */
#include "simlearn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds of reps calls of one collective on n floats. */
static double time_one(int what, float *x, float *all, size_t n, int reps, double *t) {
    for (int r = -2; r < reps; r++) {
        if (sl_dist_barrier()) return -1;
        double t0 = sl_time_now();
        sl_status s = what == 0 ? sl_dist_sum_f32(x, n) : sl_dist_allgather(x, n * sizeof(float), all);
        if (s) return -1;
        if (r >= 0) t[r] = sl_time_now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_d);
    return t[reps / 2];
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    if (reps < 1) reps = 1;
    if (sl_dist_init()) {
        fprintf(stderr, "dist_comm: %s\n", sl_error_message());
        return 1;
    }
    const int P = sl_dist_size(), me = sl_dist_rank();
    const size_t maxn = (size_t)16 << 20;
    float *x = calloc(maxn, sizeof *x), *all = calloc(maxn * (size_t)P, sizeof *all);
    double *t = calloc((size_t)reps, sizeof *t);
    if (!x || !all || !t) return 1;
    /* Touch every page first, and one call of each size unmeasured, so that
     * first-touch faults and connection set-up stay out of the figures. */
    memset(x, 0, maxn * sizeof *x);
    memset(all, 0, maxn * (size_t)P * sizeof *all);
    for (size_t n = 1; n <= maxn; n *= 16)
        if (sl_dist_sum_f32(x, n) || sl_dist_allgather(x, n * sizeof(float), all)) return 1;
    double lat = 0, bw = 0;
    if (me == 0) printf("ranks %d, %d calls per size (median)\n", P, reps);
    for (int what = 0; what < 2; what++)
        for (size_t n = 1; n <= maxn; n *= 16) {
            double s = time_one(what, x, all, n, reps, t);
            if (s < 0) {
                fprintf(stderr, "dist_comm: %s\n", sl_error_message());
                return 1;
            }
            double bytes = (double)n * sizeof(float);
            /* Bus bandwidth: what each rank sends and receives, as NCCL's
             * tests count it (2(P-1)/P of the buffer for a sum, (P-1)/P of the
             * gathered result for an allgather). */
            double moved = what == 0 ? 2.0 * (P - 1) / P * bytes : (double)(P - 1) * bytes;
            if (me == 0)
                printf("%-9s %10.0f B  %10.1f us  %7.2f GB/s\n", what == 0 ? "sum" : "allgather", bytes, s * 1e6,
                       moved / s / 1e9);
            if (what == 0 && n == 1) lat = s;
            if (what == 0) bw = moved / s / 1e9;
        }
    if (me == 0) printf("LATENCY_US %.2f\nBANDWIDTH_GBS %.2f\n", lat * 1e6, bw);
    free(x), free(all), free(t);
    sl_dist_shutdown();
    return 0;
}

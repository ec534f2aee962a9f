/* Times one full training step (forward + backward + Adam) of the R1 model
 * (the R1 conv encoder + MLP projector, 512 views of 1x28x28) and the
 * sgemm peak of this machine in the same run. The loss is a stand-in: d(output)
 * is a fixed random tensor, exactly as bench/step_torch.py does.
 *   usage: step_bench [steps] [threads] */
#include "simlearn.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#define ENC "conv(32,3,pad=1,bias=0),bn,relu,maxpool(2),conv(64,3,pad=1,bias=0),bn,relu,maxpool(2)," \
            "conv(128,3,pad=1,bias=0),bn,relu,gap"
#define PROJ "linear(128),relu,linear(64)"

static int fail(const char *what) {
    fprintf(stderr, "step_bench: %s: %s\n", what, sl_error_message());
    return 1;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double sgemm_peak(void) {
    const size_t n = 1536;
    float *a = malloc(n * n * 4), *b = malloc(n * n * 4), *c = malloc(n * n * 4);
    if (!a || !b || !c) {
        fprintf(stderr, "step_bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n * n; i++) a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f;
    double best = 1e30;
    for (int r = 0; r < 8; r++) {
        double t = sl_time_now();
        sl_gemm(false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        t = sl_time_now() - t;
        if (r && t < best) best = t;
    }
    free(a), free(b), free(c);
    return 2.0 * n * n * n / best / 1e9;
}

/* Multiply-adds of the step: forward, d(weights) and d(input) (not for the
 * first convolution, whose input needs no gradient). */
static double step_flops(size_t n) {
    double f = 0;
    const size_t co[3] = {32, 64, 128}, ci[3] = {1, 32, 64}, hw[3] = {28 * 28, 14 * 14, 7 * 7};
    for (int l = 0; l < 3; l++) {
        double one = 2.0 * (double)co[l] * (double)ci[l] * 9.0 * (double)hw[l] * (double)n;
        f += one * (l == 0 ? 2 : 3);
    }
    f += 3 * 2.0 * n * (128.0 * 128 + 128.0 * 64);
    return f;
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 20, threads = argc > 2 ? atoi(argv[2]) : 2;
    const size_t n = 512;
    sl_threads_set(threads);
    sl_shape in = {3, {1, 28, 28}}, mid = {1, {128}};
    sl_model *enc, *proj;
    if (steps < 1 || threads < 1) {
        fprintf(stderr, "step_bench: steps and threads must be >= 1\n");
        return 2;
    }
    if (sl_model_create(ENC, &in, 1, &enc) || sl_model_create(PROJ, &mid, 2, &proj)) return fail("model");
    sl_optim_config c;
    sl_optim_config_default(&c, SL_OPT_ADAM);
    sl_optim *oe, *op;
    if (sl_optim_create(enc, &c, &oe) || sl_optim_create(proj, &c, &op)) return fail("optimizer");
    float *x = malloc(n * 784 * 4), *dy = malloc(n * 64 * 4), *dmid = malloc(n * 128 * 4);
    double *t = malloc(sizeof(double) * (size_t)steps);
    if (!x || !dy || !dmid || !t) {
        fprintf(stderr, "step_bench: out of memory\n");
        return 1;
    }
    sl_rng r;
    sl_rng_seed(&r, 5, 0);
    for (size_t i = 0; i < n * 784; i++) x[i] = (float)sl_rng_normal(&r);
    for (size_t i = 0; i < n * 64; i++) dy[i] = (float)(1e-3 * sl_rng_normal(&r));
    double peak = sgemm_peak();
    double phase[4] = {0, 0, 0, 0};
    for (int s = -3; s < steps; s++) {
        double t0 = sl_time_now();
        const float *h, *z;
        if (sl_model_forward(enc, x, n, true, &h) || sl_model_forward(proj, h, n, true, &z)) return fail("forward");
        double t1 = sl_time_now();
        sl_model_zero_grad(enc);
        sl_model_zero_grad(proj);
        if (sl_model_backward(proj, dy, dmid) || sl_model_backward(enc, dmid, NULL)) return fail("backward");
        double t2 = sl_time_now();
        if (sl_optim_step(oe, 1e-3f) || sl_optim_step(op, 1e-3f)) return fail("adam");
        double t3 = sl_time_now();
        if (s >= 0) {
            t[s] = t3 - t0;
            phase[0] += t1 - t0, phase[1] += t2 - t1, phase[2] += t3 - t2;
        }
    }
    qsort(t, (size_t)steps, sizeof *t, cmp);
    double med = t[steps / 2], fl = step_flops(n);
    printf("simlearn: threads %d, %d steps, median %.1f ms/step (min %.1f), forward %.1f, backward %.1f, adam %.2f ms\n",
           threads, steps, med * 1e3, t[0] * 1e3, phase[0] / steps * 1e3, phase[1] / steps * 1e3,
           phase[2] / steps * 1e3);
    printf("simlearn: %.2f GFLOP per step, %.1f GFLOP/s achieved, sgemm peak %.1f GFLOP/s (%.0f%%)\n", fl / 1e9,
           fl / med / 1e9, peak, 100.0 * fl / med / 1e9 / peak);
    printf("SIMLEARN_MS %.3f\n", med * 1e3);
    free(t), free(x), free(dy), free(dmid);
    sl_optim_destroy(oe), sl_optim_destroy(op);
    sl_model_destroy(enc), sl_model_destroy(proj);
    return 0;
}

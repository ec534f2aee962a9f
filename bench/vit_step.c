/* Times one full training step (forward + backward + Adam) of a ViT encoder
 * and the R1 projector on 256 views of 1x28x28. The loss is a stand-in:
 * d(output) is a fixed random tensor, as bench/vit_torch.py does.
 *   usage: vit_step [steps] [threads] [encoder spec]
 * The spec defaults to vit(patch=4,dim=96,depth=6,heads=4). */
#include "simlearn.h"

#include <stdio.h>
#include <stdlib.h>

#define PROJ "linear(128),relu,linear(64)"

static int fail(const char *what) {
    fprintf(stderr, "vit_step: %s: %s\n", what, sl_error_message());
    return 1;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 20, threads = argc > 2 ? atoi(argv[2]) : 2;
    const char *spec = argc > 3 ? argv[3] : "vit(patch=4,dim=96,depth=6,heads=4)";
    const size_t n = 256;
    if (steps < 1 || threads < 1) {
        fprintf(stderr, "vit_step: steps and threads must be >= 1\n");
        return 2;
    }
    sl_threads_set(threads);
    sl_shape in = {3, {1, 28, 28}};
    sl_model *enc, *proj;
    if (sl_model_create(spec, &in, 1, &enc)) return fail("encoder");
    sl_shape mid = sl_model_output_shape(enc);
    if (mid.ndim != 1) {
        fprintf(stderr, "vit_step: the encoder must end in a flat vector\n");
        return 2;
    }
    if (sl_model_create(PROJ, &mid, 2, &proj)) return fail("projector");
    sl_optim_config c;
    sl_optim_config_default(&c, SL_OPT_ADAM);
    sl_optim *oe, *op;
    if (sl_optim_create(enc, &c, &oe) || sl_optim_create(proj, &c, &op)) return fail("optimizer");
    float *x = malloc(n * 784 * 4), *dy = malloc(n * 64 * 4), *dmid = malloc(n * mid.dims[0] * 4);
    double *t = malloc(sizeof(double) * (size_t)steps);
    if (!x || !dy || !dmid || !t) {
        fprintf(stderr, "vit_step: out of memory\n");
        return 1;
    }
    sl_rng r;
    sl_rng_seed(&r, 5, 0);
    for (size_t i = 0; i < n * 784; i++) x[i] = (float)sl_rng_normal(&r);
    for (size_t i = 0; i < n * 64; i++) dy[i] = (float)(1e-3 * sl_rng_normal(&r));
    double phase[3] = {0, 0, 0};
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
    double med = t[steps / 2];
    printf("simlearn: %s, %zu parameters, threads %d, %d steps, median %.1f ms/step (min %.1f), forward %.1f, "
           "backward %.1f, adam %.2f ms\n",
           sl_model_spec(enc), sl_model_param_count(enc), threads, steps, med * 1e3, t[0] * 1e3,
           phase[0] / steps * 1e3, phase[1] / steps * 1e3, phase[2] / steps * 1e3);
    printf("SIMLEARN_MS %.3f\n", med * 1e3);
    free(t), free(x), free(dy), free(dmid);
    sl_optim_destroy(oe), sl_optim_destroy(op);
    sl_model_destroy(enc), sl_model_destroy(proj);
    return 0;
}

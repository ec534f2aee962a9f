/* Augmentation throughput on one thread: 28x28 Fashion-MNIST views per
 * second through a pipeline, and through the batch producer with one worker
 * (two views per item, 256 items per batch, as the R1 training step uses). */
#include "simlearn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double pipeline_rate(const sl_dataset *d, const char *spec, size_t views) {
    sl_augment *a;
    if (sl_augment_create(spec, &a)) {
        fprintf(stderr, "augment_bench: %s\n", sl_last_error());
        exit(1);
    }
    size_t isz = sl_data_item_size(d), n = sl_data_count(d);
    float *x = malloc(isz * sizeof *x), *scr = malloc(sl_augment_scratch_size(a, 1, 28, 28) * sizeof *scr);
    double sink = 0, t0 = sl_time_now();
    for (size_t v = 0; v < views; v++) {
        sl_rng r;
        sl_rng_seed(&r, 1, v);
        sl_augment_item(a, d, v % n, &r, x, scr);
        sink += x[isz / 2];
    }
    double dt = sl_time_now() - t0;
    if (sink < 0) printf("?");
    free(x);
    free(scr);
    sl_augment_destroy(a);
    return (double)views / dt;
}

static double producer_rate(const sl_dataset *d, const char *spec, size_t steps) {
    sl_augment *a;
    sl_augment_create(spec, &a);
    sl_batch_config c;
    sl_batch_config_default(&c);
    c.data = d;
    c.aug = a;
    c.batch_size = 256;
    c.threads = 1;
    c.seed = 1;
    sl_batcher *b;
    if (sl_batcher_create(&c, &b)) {
        fprintf(stderr, "augment_bench: %s\n", sl_last_error());
        exit(1);
    }
    const sl_batch *bt;
    sl_batcher_next(b, &bt); /* the first batch includes thread start-up */
    double t0 = sl_time_now();
    for (size_t s = 0; s < steps; s++) sl_batcher_next(b, &bt);
    double dt = sl_time_now() - t0;
    sl_batcher_destroy(b);
    sl_augment_destroy(a);
    return (double)(steps * 512) / dt;
}

int main(int argc, char **argv) {
    size_t views = argc > 1 ? (size_t)atol(argv[1]) : 200000;
    sl_set_threads(1);
    sl_data_config c;
    sl_data_config_default(&c);
    c.source = "fashion-mnist";
    sl_dataset *d;
    if (sl_data_open(&c, &d)) {
        fprintf(stderr, "augment_bench: %s\n", sl_last_error());
        return 1;
    }
    /* Warm up caches and page in the dataset. */
    pipeline_rate(d, "simclr", views / 10);
    double simclr = pipeline_rate(d, "simclr", views);
    double cropflip = pipeline_rate(d, "crop(0.6,1.0),flip", views);
    double prod = producer_rate(d, "simclr", views / 512);
    printf("simlearn simclr views/s %.0f\n", simclr);
    printf("simlearn crop+flip views/s %.0f\n", cropflip);
    printf("simlearn producer(1 thread, simclr, 2x256) views/s %.0f\n", prod);
    sl_data_close(d);
    return 0;
}

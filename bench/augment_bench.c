/* simlearn's side of `make bench-augment`: augmented Fashion-MNIST views per
 * second made by the batch producer with one worker thread, the way training
 * gets them: batches of 256 training images, two augmented 28x28 views of
 * each (512 views per batch), from the stored bytes to float views in [0, 1].
 * For each augmentation spec, WARMUP batches are made first (thread start-up,
 * caches), then STEPS batches are timed (the producer works at most two
 * batches ahead, so the count is exact to 2 / STEPS).
 *   usage: augment_bench STEPS WARMUP SPEC...
 * Prints one line per spec: "SIMLEARN views_per_s=<rate> batches=<n> spec=<spec>". */
#include "simlearn.h"

#include <stdio.h>
#include <stdlib.h>

#define BATCH 256

static int fail(const char *what) {
    fprintf(stderr, "augment_bench: %s: %s\n", what, sl_error_message());
    return 1;
}

/* Views per second of the producer for one spec, or a negative value on error. */
static double producer_rate(const sl_dataset *d, const char *spec, size_t steps, size_t warmup) {
    sl_augment *a;
    if (sl_augment_create(spec, &a)) {
        fail(spec);
        return -1;
    }
    sl_batch_config c;
    sl_batch_config_default(&c);
    c.data = d;
    c.aug = a;
    c.mode = SL_BATCH_TWO_VIEWS;
    c.batch_size = BATCH;
    c.threads = 1;
    c.seed = 1;
    sl_batcher *b;
    if (sl_batcher_create(&c, &b)) {
        fail("batcher");
        sl_augment_destroy(a);
        return -1;
    }
    const sl_batch *bt;
    double rate = -1, t0 = 0;
    for (size_t s = 0; s < warmup + steps; s++) {
        if (s == warmup) t0 = sl_time_now();
        if (sl_batcher_next(b, &bt)) {
            fail("next batch");
            goto done;
        }
        if (bt->n != BATCH || !bt->x2) {
            fprintf(stderr, "augment_bench: batch of %zu items%s\n", bt->n, bt->x2 ? "" : " without second views");
            goto done;
        }
    }
    rate = (double)(steps * 2 * BATCH) / (sl_time_now() - t0);
done:
    sl_batcher_destroy(b);
    sl_augment_destroy(a);
    return rate;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s STEPS WARMUP SPEC...\n", argv[0]);
        return 2;
    }
    size_t steps = strtoull(argv[1], NULL, 10), warmup = strtoull(argv[2], NULL, 10);
    if (steps == 0) {
        fprintf(stderr, "augment_bench: STEPS must be >= 1\n");
        return 2;
    }
    sl_threads_set(1);
    sl_data_config c;
    sl_data_config_default(&c);
    c.source = "fashion-mnist";
    sl_dataset *d;
    if (sl_data_open(&c, &d)) return fail("fashion-mnist");
    int rc = 0;
    for (int i = 3; i < argc && !rc; i++) {
        double r = producer_rate(d, argv[i], steps, warmup);
        if (r < 0)
            rc = 1;
        else
            printf("SIMLEARN views_per_s=%.0f batches=%zu spec=%s\n", r, steps, argv[i]);
    }
    sl_data_destroy(d);
    return rc;
}

/* Tests of the batch producer (same batches whatever the thread count, every
 * item once per epoch, views, captions, the end of the last epoch, starting
 * at any batch without making the ones before it) and of the `simlearn data`
 * commands. */
#include "test.h"

#include "data/data_internal.h"

#include <limits.h>
#include <sys/stat.h>

static sl_dataset *shapes(size_t n) {
    sl_data_config c;
    sl_data_config_default(&c);
    c.shapes_count = n;
    c.size = 16;
    sl_dataset *d;
    ASSERT_OK(sl_data_open(&c, &d));
    return d;
}

/* Hash of everything in the first `steps` batches. */
static uint64_t run_batches(const sl_dataset *d, const sl_augment *aug, int threads, size_t steps, sl_batch_mode mode) {
    sl_batch_config c;
    sl_batch_config_default(&c);
    c.data = d;
    c.aug = aug;
    c.batch_size = 10;
    c.seed = 11;
    c.threads = threads;
    c.mode = mode;
    sl_batcher *b;
    ASSERT_OK(sl_batcher_create(&c, &b));
    uint64_t h = 1469598103934665603ull;
    for (size_t s = 0; s < steps; s++) {
        const sl_batch *bt;
        ASSERT_OK(sl_batcher_next(b, &bt));
        ASSERT_EQ_SIZE(bt->n, 10);
        ASSERT_EQ_SIZE(bt->step, s % sl_batcher_steps_per_epoch(b));
        size_t bytes = bt->n * sl_data_item_size(d) * sizeof(float);
        const unsigned char *p = (const unsigned char *)bt->x;
        for (size_t i = 0; i < bytes; i++) h = (h ^ p[i]) * 1099511628211ull;
        if (bt->x2) {
            p = (const unsigned char *)bt->x2;
            for (size_t i = 0; i < bytes; i++) h = (h ^ p[i]) * 1099511628211ull;
        }
        for (size_t i = 0; i < bt->n; i++) h = (h ^ bt->items[i]) * 1099511628211ull;
    }
    sl_batcher_destroy(b);
    return h;
}

TEST(batches_do_not_depend_on_thread_count) {
    sl_dataset *d = shapes(95);
    sl_augment *a;
    ASSERT_OK(sl_augment_create("crop(0.5,1.0),flip,jitter(0.4,0.4,0.4,0.1),noise(0.05)", &a));
    uint64_t h1 = run_batches(d, a, 1, 25, SL_BATCH_TWO_VIEWS);
    uint64_t h3 = run_batches(d, a, 3, 25, SL_BATCH_TWO_VIEWS);
    uint64_t h1b = run_batches(d, a, 1, 25, SL_BATCH_TWO_VIEWS);
    ASSERT_TRUE(h1 == h3);
    ASSERT_TRUE(h1 == h1b);
    sl_augment_destroy(a);
    ASSERT_OK(sl_augment_create("color", &a));
    ASSERT_TRUE(run_batches(d, a, 1, 12, SL_BATCH_TWO_VIEWS) == run_batches(d, a, 2, 12, SL_BATCH_TWO_VIEWS));
    sl_augment_destroy(a);
    sl_data_destroy(d);
}

TEST(every_item_once_per_epoch_and_views_differ) {
    sl_dataset *d = shapes(100);
    sl_augment *a;
    ASSERT_OK(sl_augment_create("simclr", &a));
    sl_batch_config c;
    sl_batch_config_default(&c);
    c.data = d;
    c.aug = a;
    c.batch_size = 20;
    c.epochs = 2;
    c.threads = 2;
    sl_batcher *b;
    ASSERT_OK(sl_batcher_create(&c, &b));
    ASSERT_EQ_SIZE(sl_batcher_steps_per_epoch(b), 5);
    int seen[2][100] = {{0}};
    size_t first_order[5], second_order[5];
    for (int s = 0; s < 10; s++) {
        const sl_batch *bt;
        ASSERT_OK(sl_batcher_next(b, &bt));
        ASSERT_EQ_SIZE(bt->epoch, (size_t)(s / 5));
        ASSERT_TRUE(bt->x2 != NULL);
        ASSERT_TRUE(memcmp(bt->x, bt->x2, sl_data_item_size(d) * sizeof(float)) != 0);
        for (size_t i = 0; i < bt->n; i++) {
            seen[bt->epoch][bt->items[i]]++;
            /* Labels travel with the item. */
            int32_t lab[4];
            ASSERT_OK(sl_data_get(d, bt->items[i], NULL, lab, NULL));
            for (int k = 0; k < 4; k++) ASSERT_EQ_INT(bt->labels[i * 4 + k], lab[k]);
        }
        if (s < 5) first_order[s] = bt->items[0];
        else second_order[s - 5] = bt->items[0];
    }
    for (int e = 0; e < 2; e++)
        for (int i = 0; i < 100; i++) ASSERT_EQ_INT(seen[e][i], 1);
    ASSERT_TRUE(memcmp(first_order, second_order, sizeof first_order) != 0);
    const sl_batch *bt;
    ASSERT_FAILS(sl_batcher_next(b, &bt), SL_ERR_NOTFOUND, "epochs are done");
    sl_batcher_destroy(b);
    sl_augment_destroy(a);
    sl_data_destroy(d);
}

/* Hash of one batch: its items and both views. */
static uint64_t batch_hash(const sl_dataset *d, const sl_batch *bt) {
    uint64_t h = 1469598103934665603ull;
    size_t bytes = bt->n * sl_data_item_size(d) * sizeof(float);
    const float *v[2] = {bt->x, bt->x2};
    for (int k = 0; k < 2 && v[k]; k++)
        for (size_t i = 0; i < bytes; i++) h = (h ^ ((const unsigned char *)v[k])[i]) * 1099511628211ull;
    for (size_t i = 0; i < bt->n; i++) h = (h ^ bt->items[i]) * 1099511628211ull;
    return h;
}

static sl_batcher *batcher_at(const sl_dataset *d, const sl_augment *a, int threads, size_t start) {
    sl_batch_config c;
    sl_batch_config_default(&c);
    c.data = d;
    c.aug = a;
    c.batch_size = 10;
    c.seed = 11;
    c.threads = threads;
    c.start = start;
    sl_batcher *b;
    ASSERT_OK(sl_batcher_create(&c, &b));
    return b;
}

/* A producer started at batch k gives what a producer started at 0 gives
 * from its k-th batch on: in the first epoch, in a later one, mid-epoch,
 * whatever the thread count. */
TEST(a_producer_started_anywhere_matches_one_started_at_zero) {
    sl_dataset *d = shapes(95); /* 9 batches of 10 per epoch */
    sl_augment *a;
    ASSERT_OK(sl_augment_create("crop(0.5,1.0),flip,noise(0.05)", &a));
    enum { N = 40 };
    uint64_t ref[N];
    sl_batcher *b = batcher_at(d, a, 1, 0);
    for (size_t s = 0; s < N; s++) {
        const sl_batch *bt;
        ASSERT_OK(sl_batcher_next(b, &bt));
        ref[s] = batch_hash(d, bt);
    }
    sl_batcher_destroy(b);
    static const size_t starts[] = {1, 9, 13, 22, 31};
    for (size_t i = 0; i < sizeof starts / sizeof *starts; i++)
        for (int threads = 1; threads <= 3; threads += 2) {
            b = batcher_at(d, a, threads, starts[i]);
            for (size_t s = starts[i]; s < starts[i] + 5; s++) {
                const sl_batch *bt;
                ASSERT_OK(sl_batcher_next(b, &bt));
                ASSERT_EQ_SIZE(bt->epoch, s / 9);
                ASSERT_EQ_SIZE(bt->step, s % 9);
                if (batch_hash(d, bt) != ref[s]) T_FAIL("batch %zu differs when starting at %zu (%d threads)", s, starts[i], threads);
            }
            sl_batcher_destroy(b);
        }
    sl_augment_destroy(a);
    sl_data_destroy(d);
}

/* Shards of every batch, put side by side, are the whole batch: the same
 * items, labels and views at the same positions (3 shards of batches of 10
 * are 3, 3 and 4 items; the last short batch of 5 is 1, 2 and 2). */
TEST(shards_put_together_are_the_whole_batch) {
    sl_dataset *d = shapes(95);
    sl_augment *a;
    ASSERT_OK(sl_augment_create("crop(0.5,1.0),flip,noise(0.05)", &a));
    size_t row = sl_data_item_size(d), na = (size_t)sl_data_num_attrs(d);
    sl_batch_config c;
    sl_batch_config_default(&c);
    c.data = d, c.aug = a, c.batch_size = 10, c.seed = 4, c.drop_last = false, c.epochs = 2;
    sl_batcher *whole, *part[3];
    ASSERT_OK(sl_batcher_create(&c, &whole));
    c.shards = 3;
    for (size_t k = 0; k < 3; k++) {
        c.shard = k;
        c.threads = (int)k + 1;
        ASSERT_OK(sl_batcher_create(&c, &part[k]));
    }
    for (size_t s = 0; s < 20; s++) {
        const sl_batch *w;
        ASSERT_OK(sl_batcher_next(whole, &w));
        size_t at = 0;
        for (size_t k = 0; k < 3; k++) {
            const sl_batch *p;
            ASSERT_OK(sl_batcher_next(part[k], &p));
            ASSERT_EQ_SIZE(p->offset, at);
            ASSERT_EQ_SIZE(p->n, w->n * (k + 1) / 3 - w->n * k / 3);
            ASSERT_TRUE(p->epoch == w->epoch && p->step == w->step);
            ASSERT_TRUE(memcmp(p->items, w->items + at, p->n * sizeof *p->items) == 0);
            ASSERT_TRUE(memcmp(p->x, w->x + at * row, p->n * row * sizeof(float)) == 0);
            ASSERT_TRUE(memcmp(p->x2, w->x2 + at * row, p->n * row * sizeof(float)) == 0);
            ASSERT_TRUE(memcmp(p->labels, w->labels + at * na, p->n * na * sizeof(int32_t)) == 0);
            at += p->n;
        }
        ASSERT_EQ_SIZE(at, w->n);
    }
    sl_batcher_destroy(whole);
    for (size_t k = 0; k < 3; k++) sl_batcher_destroy(part[k]);
    c.shard = 3;
    ASSERT_EQ_INT(sl_batcher_create(&c, &whole), SL_ERR_ARG);
    ASSERT_TRUE(strstr(sl_error_message(), "shard 3 of 3") != NULL);
    sl_augment_destroy(a);
    sl_data_destroy(d);
}

/* Starting far away makes no batch before the start: the ring holds
 * prefetch + 1 = 3 slots, so at most 3 batches exist after the first is
 * taken, however far the start. */
TEST(a_far_start_makes_no_batches_before_it) {
    sl_dataset *d = shapes(95);
    sl_augment *a;
    ASSERT_OK(sl_augment_create("simclr", &a));
    const size_t epoch = 111111, at = 7;
    sl_batcher *b = batcher_at(d, a, 2, epoch * 9 + at);
    const sl_batch *bt;
    ASSERT_OK(sl_batcher_next(b, &bt));
    ASSERT_EQ_SIZE(bt->epoch, epoch);
    ASSERT_EQ_SIZE(bt->step, at);
    uint64_t h = batch_hash(d, bt);
    ASSERT_TRUE(sl__batcher_made(b) >= 1 && sl__batcher_made(b) <= 3);
    sl_batcher_destroy(b);
    /* The same batch reached from the start of its epoch. */
    b = batcher_at(d, a, 1, epoch * 9);
    for (size_t s = 0; s <= at; s++) ASSERT_OK(sl_batcher_next(b, &bt));
    ASSERT_TRUE(batch_hash(d, bt) == h);
    ASSERT_TRUE(sl__batcher_made(b) <= at + 3);
    sl_batcher_destroy(b);
    sl_augment_destroy(a);
    sl_data_destroy(d);
}

TEST(a_start_past_the_last_epoch_is_refused) {
    sl_dataset *d = shapes(20);
    sl_batch_config c;
    sl_batch_config_default(&c);
    c.data = d;
    c.batch_size = 10;
    c.epochs = 2;
    c.start = 5;
    sl_batcher *b;
    ASSERT_FAILS(sl_batcher_create(&c, &b), SL_ERR_ARG, "start at batch 5, but 2 epochs of 2 batches end at 4");
    c.start = 4; /* the end itself: nothing is left */
    ASSERT_OK(sl_batcher_create(&c, &b));
    const sl_batch *bt;
    ASSERT_FAILS(sl_batcher_next(b, &bt), SL_ERR_NOTFOUND, "epochs are done");
    ASSERT_EQ_SIZE(sl__batcher_made(b), 0);
    sl_batcher_destroy(b);
    sl_data_destroy(d);
}

TEST(one_view_caption_and_partial_batches) {
    sl_dataset *d = shapes(25);
    sl_batch_config c;
    sl_batch_config_default(&c);
    c.data = d;
    c.mode = SL_BATCH_CAPTION;
    c.batch_size = 10;
    c.drop_last = false;
    c.shuffle = false;
    sl_batcher *b;
    ASSERT_OK(sl_batcher_create(&c, &b));
    ASSERT_EQ_SIZE(sl_batcher_steps_per_epoch(b), 3);
    const sl_batch *bt;
    float x[3 * 16 * 16];
    char cap[SL_CAPTION_MAX];
    for (int s = 0; s < 3; s++) {
        ASSERT_OK(sl_batcher_next(b, &bt));
        ASSERT_EQ_SIZE(bt->n, s < 2 ? 10 : 5);
        ASSERT_TRUE(bt->x2 == NULL);
        ASSERT_EQ_SIZE(bt->items[0], (size_t)s * 10);
        ASSERT_OK(sl_data_get(d, bt->items[1], x, NULL, cap));
        ASSERT_STREQ(bt->captions[1], cap);
        /* Without augmentation the view is the item itself. */
        ASSERT_TRUE(memcmp(bt->x + sl_data_item_size(d), x, sizeof x) == 0);
    }
    sl_batcher_destroy(b);
    sl_data_destroy(d);
}

TEST(batcher_bad_configs) {
    sl_dataset *d = shapes(5);
    sl_batch_config c;
    sl_batch_config_default(&c);
    sl_batcher *b;
    ASSERT_FAILS(sl_batcher_create(&c, &b), SL_ERR_ARG, "no dataset");
    c.data = d;
    ASSERT_FAILS(sl_batcher_create(&c, &b), SL_ERR_ARG, "fewer than one batch");
    c.batch_size = 2;
    c.threads = 0;
    ASSERT_FAILS(sl_batcher_create(&c, &b), SL_ERR_ARG, "threads");
    sl_data_destroy(d);
    float m[4] = {0, 1, 2, 3};
    ASSERT_OK(sl_npy_write_matrix(t_path("x.npy"), m, 2, 2));
    sl_data_config dc;
    sl_data_config_default(&dc);
    dc.source = t_path("x.npy");
    dc.split = SL_SPLIT_ALL;
    ASSERT_OK(sl_data_open(&dc, &d));
    sl_batch_config_default(&c);
    c.data = d;
    c.batch_size = 1;
    c.mode = SL_BATCH_CAPTION;
    ASSERT_FAILS(sl_batcher_create(&c, &b), SL_ERR_ARG, "no captions");
    sl_augment *a;
    ASSERT_OK(sl_augment_create("keep=shape", &a));
    c.mode = SL_BATCH_ONE_VIEW;
    c.aug = a;
    ASSERT_FAILS(sl_batcher_create(&c, &b), SL_ERR_ARG, "shapes dataset only");
    sl_augment_destroy(a);
    /* Vector data goes through a batcher unchanged. */
    c.aug = NULL;
    ASSERT_OK(sl_batcher_create(&c, &b));
    const sl_batch *bt;
    ASSERT_OK(sl_batcher_next(b, &bt));
    ASSERT_EQ_SIZE(bt->n, 1);
    sl_batcher_destroy(b);
    sl_data_destroy(d);
}

TEST(cli_data_show_and_stats) {
    char cmd[1024], *out;
    snprintf(cmd, sizeof cmd, "%s data show shapes --aug color --n 8 -o %s", t_simlearn(), t_path("g.png"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "8 items of shapes");
    free(out);
    uint8_t *px;
    int w, h, c;
    ASSERT_OK(sl_image_read(t_path("g.png"), &px, &w, &h, &c));
    ASSERT_EQ_INT(c, 3);
    ASSERT_TRUE(w > 3 * 64 && h > 64);
    sl_allocator_free(px);
    snprintf(cmd, sizeof cmd, "%s data stats shapes --split val --count 900", t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "shapes (shapes world, val split): 900 items, 3x32x32");
    ASSERT_CONTAINS(out, "color (8 classes)");
    ASSERT_CONTAINS(out, "location (9 classes)");
    ASSERT_CONTAINS(out, "pixels: R mean");
    free(out);
    snprintf(cmd, sizeof cmd, "%s data show shapes --aug 'flop' -o %s", t_simlearn(), t_path("h.png"));
    ASSERT_EQ_INT(t_run(cmd, &out), 2);
    ASSERT_CONTAINS(out, "unknown op 'flop'");
    free(out);
    snprintf(cmd, sizeof cmd, "%s data stats /nonexistent/data", t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "no such built-in name");
    free(out);
    snprintf(cmd, sizeof cmd, "%s data show shapes", t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &out), 2);
    ASSERT_CONTAINS(out, "--output is required");
    free(out);
}

TEST(normalized_batches_and_pixel_stats) {
    sl_dataset *d = shapes(40);
    double mean[3], sd[3];
    ASSERT_OK(sl_data_pixel_stats(d, 0, mean, sd));
    for (int k = 0; k < 3; k++) ASSERT_TRUE(mean[k] > 0.05 && mean[k] < 0.5 && sd[k] > 0.01);
    sl_batch_config c;
    sl_batch_config_default(&c);
    c.data = d;
    c.batch_size = 8;
    c.mode = SL_BATCH_ONE_VIEW;
    c.shuffle = false;
    c.normalize = true;
    for (int k = 0; k < 3; k++) c.mean[k] = (float)mean[k], c.std[k] = (float)sd[k];
    sl_batcher *b;
    ASSERT_OK(sl_batcher_create(&c, &b));
    const sl_batch *bt;
    ASSERT_OK(sl_batcher_next(b, &bt));
    float x[3 * 16 * 16];
    ASSERT_OK(sl_data_get(d, 0, x, NULL, NULL));
    for (int k = 0; k < 3; k++)
        for (int p = 0; p < 256; p++)
            ASSERT_NEAR(bt->x[k * 256 + p], (x[k * 256 + p] - c.mean[k]) / c.std[k], 1e-5);
    sl_batcher_destroy(b);
    c.std[1] = 0;
    ASSERT_FAILS(sl_batcher_create(&c, &b), SL_ERR_ARG, "std must be > 0");
    sl_data_destroy(d);
}

/* An allocator that fails once its budget of allocations is spent, to walk
 * every out-of-memory path of opening datasets and starting a batcher. It is
 * installed once, before any other library call and so before the library
 * starts any thread, and stays for the whole process; the test moves only
 * the budget, atomically, since the batcher's producer threads may be
 * running when it does. LONG_MAX is no limit. */
static long oom_left = LONG_MAX;
static bool oom_take(void) {
    long left = __atomic_load_n(&oom_left, __ATOMIC_SEQ_CST);
    while (left != LONG_MAX) {
        if (left <= 0) return false;
        if (__atomic_compare_exchange_n(&oom_left, &left, left - 1, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return true;
    }
    return true;
}
static void *oom_malloc(size_t n, void *ctx) {
    (void)ctx;
    return oom_take() ? malloc(n) : NULL;
}
static void *oom_realloc(void *p, size_t n, void *ctx) {
    (void)ctx;
    return oom_take() ? realloc(p, n) : NULL;
}
static void oom_free(void *p, void *ctx) {
    (void)ctx;
    free(p);
}

TEST(out_of_memory_is_reported_not_crashed) {
    sl_allocator a = {oom_malloc, oom_realloc, oom_free, NULL};
    sl_allocator_set(&a); /* before any other simlearn call, so before any of its threads */
    /* Fixtures, with no limit. */
    mkdir(t_path("f"), 0777);
    mkdir(t_path("f/a"), 0777);
    mkdir(t_path("f/b"), 0777);
    uint8_t px[64];
    memset(px, 90, sizeof px);
    char p[512];
    for (int i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "%s/%s/%d.png", t_path("f"), i % 2 ? "a" : "b", i);
        ASSERT_OK(sl_png_write(p, px, 8, 8, 1));
    }
    const char *list = "a/1.png\tone\nb/0.png\tzero\na/1.png\tagain\n";
    t_write_file(t_path("f/list.tsv"), list, strlen(list));
    sl_threads_set(1);
    const char *sources[3] = {t_path("f"), t_path("f/list.tsv"), "shapes"};
    for (int s = 0; s < 3; s++) {
        bool succeeded = false;
        int failed = 0;
        for (long budget = 0; budget < 400 && !succeeded; budget++) {
            sl_data_config c;
            sl_data_config_default(&c);
            c.source = sources[s];
            c.split = s == 2 ? SL_SPLIT_TRAIN : SL_SPLIT_ALL;
            c.size = 8;
            c.shapes_count = 20;
            sl_dataset *d = NULL;
            sl_augment *aug = NULL;
            sl_batcher *b = NULL;
            __atomic_store_n(&oom_left, budget, __ATOMIC_SEQ_CST);
            sl_status st = sl_data_open(&c, &d);
            if (!st) st = sl_augment_create("crop(0.5,1),flip", &aug);
            if (!st) {
                sl_batch_config bc;
                sl_batch_config_default(&bc);
                bc.data = d;
                bc.aug = aug;
                bc.batch_size = 2;
                st = sl_batcher_create(&bc, &b);
            }
            const sl_batch *bt;
            if (!st) st = sl_batcher_next(b, &bt);
            /* No limit for what the producers still make and for the teardown. */
            __atomic_store_n(&oom_left, LONG_MAX, __ATOMIC_SEQ_CST);
            if (st != SL_OK && st != SL_ERR_NOMEM)
                T_FAIL("source %s, budget %ld: %s: %s", sources[s], budget, sl_status_str(st), sl_error_message());
            succeeded = st == SL_OK;
            failed += !succeeded;
            sl_batcher_destroy(b);
            sl_augment_destroy(aug);
            sl_data_destroy(d);
        }
        if (!succeeded) T_FAIL("source %s never opened within the allocation budget", sources[s]);
        if (failed < 3) T_FAIL("source %s: only %d budgets ran out of memory", sources[s], failed);
    }
}

/* The interruption contract of the long calls (docs/design.md, Conventions):
 * a set `stop` flag ends each of them with SL_ERR_INTERRUPTED and the state
 * its header states. Two ways to set it: before the call, and during the
 * work, from the call's own progress output (a stream whose first write sets
 * the flag, so the stop comes once the work is under way, whatever the
 * machine's speed). The training loop's flag is tested in test_train_loop.c
 * and the word-vector trainer's in test_words_train.c. */
#include "test.h"

#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t flag;

static ssize_t set_flag_on_write(void *cookie, const char *buf, size_t n) {
    (void)cookie, (void)buf;
    flag = 1;
    return (ssize_t)n;
}

/* A stream whose first write sets `flag` (a progress bar draws at most every
 * 0.1 s, so after about 0.1 s of work). */
static FILE *flag_stream(void) {
    cookie_io_functions_t io = {NULL, set_flag_on_write, NULL, NULL};
    FILE *f = fopencookie(NULL, "w", io);
    ASSERT_TRUE(f != NULL);
    setvbuf(f, NULL, _IONBF, 0);
    return f;
}

static float *random_rows(size_t n, size_t d, uint64_t seed) {
    float *x = malloc(n * d * sizeof *x);
    ASSERT_TRUE(x != NULL);
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n * d; i++) x[i] = (float)sl_rng_normal(&r);
    return x;
}

/* ---- HNSW ------------------------------------------------------------------ */

TEST(hnsw_add_with_the_flag_set_leaves_the_index_unchanged) {
    const size_t n = 300, d = 8;
    float *x = random_rows(n, d, 1);
    sl_hnsw_config c;
    sl_hnsw_config_default(&c);
    c.dim = d;
    sl_hnsw *h;
    ASSERT_OK(sl_hnsw_create(&c, &h));
    flag = 1;
    ASSERT_FAILS(sl_hnsw_add(h, x, n, NULL, NULL, &flag, NULL), SL_ERR_INTERRUPTED, "before the first vector");
    ASSERT_EQ_SIZE(sl_hnsw_size(h), 0);
    int64_t key = 5;
    ASSERT_FAILS(sl_hnsw_add_keys(h, x, 1, &key, NULL, NULL, &flag), SL_ERR_INTERRUPTED, "before the first vector");
    ASSERT_EQ_SIZE(sl_hnsw_size(h), 0);
    sl_hnsw_info info;
    sl_hnsw_get_info(h, &info);
    ASSERT_TRUE(!info.keyed);
    flag = 0;
    ASSERT_OK(sl_hnsw_add(h, x, 100, NULL, NULL, &flag, NULL));
    flag = 1;
    int64_t first = -1;
    ASSERT_FAILS(sl_hnsw_add(h, x + 100 * d, n - 100, NULL, NULL, &flag, &first), SL_ERR_INTERRUPTED, "hnsw add");
    ASSERT_EQ_SIZE(sl_hnsw_size(h), 100);
    ASSERT_EQ_INT(first, -1);
    ASSERT_OK(sl_hnsw_check(h));
    sl_hnsw_destroy(h);
    free(x);
}

/* Stopped in the middle, the index holds a part of the rows, passes its
 * structural check, never returns a row that did not go in, and takes rows
 * that did not go in in a later add. With keys, the keys of the rows that
 * did not go in name deleted nodes and may be given again. */
static void stop_midway(int threads, bool keyed) {
    const size_t n = 8000, d = 16;
    float *x = random_rows(n, d, 2);
    int64_t *keys = malloc(n * sizeof *keys);
    ASSERT_TRUE(keys != NULL);
    for (size_t i = 0; i < n; i++) keys[i] = keyed ? (int64_t)(3 * i + 1000000) : (int64_t)i;
    sl_threads_set(threads);
    sl_hnsw_config c;
    sl_hnsw_config_default(&c);
    c.dim = d;
    sl_hnsw *h;
    ASSERT_OK(sl_hnsw_create(&c, &h));
    FILE *s = flag_stream();
    sl_progress *p;
    ASSERT_OK(sl_progress_create(s, SL_PROGRESS_BAR, "build", n, "vec", &p));
    flag = 0;
    int64_t first = -1;
    if (keyed)
        ASSERT_FAILS(sl_hnsw_add_keys(h, x, n, keys, NULL, p, &flag), SL_ERR_INTERRUPTED, "interrupted after");
    else
        ASSERT_FAILS(sl_hnsw_add(h, x, n, NULL, p, &flag, &first), SL_ERR_INTERRUPTED, "interrupted after");
    sl_progress_destroy(p);
    fclose(s);
    if (!keyed) ASSERT_EQ_INT(first, 0);
    ASSERT_EQ_SIZE(sl_hnsw_size(h), n); /* every id is handed out ... */
    sl_hnsw_info info;
    sl_hnsw_get_info(h, &info);
    ASSERT_TRUE(info.live >= 1 && info.live < n); /* ... some of them went in */
    ASSERT_TRUE(info.keyed == keyed);
    ASSERT_OK(sl_hnsw_check(h));
    int64_t ids[20 * 10];
    float sc[20 * 10];
    ASSERT_OK(sl_hnsw_search(h, x, 20, 10, 50, NULL, ids, sc));
    for (size_t i = 0; i < 20 * 10; i++) ASSERT_TRUE(ids[i] < 0 || sl_hnsw_contains(h, ids[i]));
    /* Up to 500 of the rows that did not go in, added again (with keys: under
     * their own keys). */
    size_t missing = 0, k = 0, live = info.live;
    for (size_t i = 0; i < n; i++) missing += !sl_hnsw_contains(h, keys[i]);
    ASSERT_EQ_SIZE(missing, n - live);
    float *rest = malloc(500 * d * sizeof *rest);
    int64_t *rest_keys = malloc(500 * sizeof *rest_keys);
    ASSERT_TRUE(rest != NULL && rest_keys != NULL);
    for (size_t i = 0; i < n && k < 500; i++)
        if (!sl_hnsw_contains(h, keys[i])) rest_keys[k] = keys[i], memcpy(rest + k++ * d, x + i * d, d * sizeof *x);
    if (keyed) {
        ASSERT_OK(sl_hnsw_add_keys(h, rest, k, rest_keys, NULL, NULL, NULL));
        for (size_t i = 0; i < k; i++) ASSERT_TRUE(sl_hnsw_contains(h, rest_keys[i]));
    } else {
        ASSERT_OK(sl_hnsw_add(h, rest, k, NULL, NULL, NULL, &first));
        ASSERT_EQ_INT(first, (int64_t)n);
    }
    sl_hnsw_get_info(h, &info);
    ASSERT_EQ_SIZE(info.live, live + k);
    ASSERT_OK(sl_hnsw_check(h));
    free(rest), free(rest_keys), free(keys);
    sl_hnsw_destroy(h);
    free(x);
}

TEST(hnsw_add_stopped_midway_one_thread) { stop_midway(1, false); }
TEST(hnsw_add_stopped_midway_two_threads) { stop_midway(2, false); }
TEST(hnsw_add_keys_stopped_midway_one_thread) { stop_midway(1, true); }
TEST(hnsw_add_keys_stopped_midway_two_threads) { stop_midway(2, true); }

/* ---- t-SNE ----------------------------------------------------------------- */

static void tsne_stop(bool midway) {
    const size_t n = 600, d = 10;
    float *x = random_rows(n, d, 3), y[2 * 600];
    for (size_t i = 0; i < 2 * n; i++) y[i] = 12345.0f;
    sl_tsne_config c;
    sl_tsne_config_default(&c);
    c.perplexity = 10;
    c.max_iter = 100000; /* far more than the test will let it run */
    c.stop = &flag;
    FILE *s = NULL;
    sl_progress *p = NULL;
    if (midway) {
        s = flag_stream();
        ASSERT_OK(sl_progress_create(s, SL_PROGRESS_BAR, "t-SNE", (uint64_t)c.max_iter, "it", &p));
        c.progress = p;
    }
    flag = !midway;
    ASSERT_FAILS(sl_tsne_run(&c, x, n, d, y), SL_ERR_INTERRUPTED, "interrupted");
    for (size_t i = 0; i < 2 * n; i++) ASSERT_TRUE(y[i] == 12345.0f); /* no partial map */
    sl_progress_destroy(p);
    if (s) fclose(s);
    free(x);
}

TEST(tsne_with_the_flag_set_writes_nothing) { tsne_stop(false); }
TEST(tsne_stopped_midway_writes_nothing) { tsne_stop(true); }

/* ---- probe and L-BFGS -------------------------------------------------------- */

static double bowl(const double *x, double *g, void *ctx) {
    (void)ctx;
    double f = 0;
    for (int i = 0; i < 4; i++) {
        f += (i + 1) * (x[i] - 1) * (x[i] - 1);
        g[i] = 2 * (i + 1) * (x[i] - 1);
    }
    return f;
}

TEST(lbfgs_with_the_flag_set_stops_before_the_first_step) {
    sl_lbfgs_config o;
    sl_lbfgs_config_default(&o);
    o.stop = &flag;
    double x[4] = {0, 0, 0, 0};
    sl_lbfgs_report rep = {.iterations = 77};
    flag = 1;
    ASSERT_FAILS(sl_lbfgs_minimize(bowl, NULL, x, 4, &o, &rep), SL_ERR_INTERRUPTED, "after 0 iterations");
    ASSERT_TRUE(x[0] == 0 && x[3] == 0);
    ASSERT_EQ_SIZE(rep.iterations, 77); /* the report is not written */
    flag = 0;
    ASSERT_OK(sl_lbfgs_minimize(bowl, NULL, x, 4, &o, &rep));
    ASSERT_NEAR(x[3], 1.0, 1e-4);
}

/* Four well separated classes in 20 dimensions. */
static void classes(size_t n, float **x, int64_t **y) {
    *x = random_rows(n, 20, 4);
    *y = malloc(n * sizeof **y);
    ASSERT_TRUE(*y != NULL);
    for (size_t i = 0; i < n; i++) {
        (*y)[i] = (int64_t)(i % 4);
        (*x)[i * 20 + (size_t)(*y)[i]] += 4.0f;
    }
}

TEST(probe_with_the_flag_set_returns_no_result) {
    float *x;
    int64_t *y;
    classes(400, &x, &y);
    sl_probe_config c;
    sl_probe_config_default(&c);
    c.stop = &flag;
    sl_probe_result *r = (sl_probe_result *)&c; /* must stay as it is */
    flag = 1;
    ASSERT_FAILS(sl_probe_run(&c, x, y, 400, NULL, NULL, 0, 20, &r), SL_ERR_INTERRUPTED, "probe: L-BFGS: interrupted");
    ASSERT_TRUE(r == (sl_probe_result *)&c);
    flag = 0;
    ASSERT_OK(sl_probe_run(&c, x, y, 400, NULL, NULL, 0, 20, &r));
    ASSERT_TRUE(r->train_acc > 0.9);
    sl_probe_result_destroy(r);
    free(x), free(y);
}

/* Random labels over 10 classes and no preconditioner: a few seconds of
 * fits, stopped by the bar's first draw after about 0.1 s. */
TEST(probe_stopped_midway_returns_no_result) {
    const size_t n = 20000, d = 50;
    float *x = random_rows(n, d, 5);
    int64_t *y = malloc(n * sizeof *y);
    ASSERT_TRUE(y != NULL);
    for (size_t i = 0; i < n; i++) y[i] = (int64_t)((i * 7919) % 10);
    sl_probe_config c;
    sl_probe_config_default(&c);
    c.stop = &flag;
    c.precond_rows = 0;
    c.lbfgs.max_iter = 100000; /* run until stopped */
    c.lbfgs.gtol = 0;
    c.lbfgs.ftol = 0;
    c.lbfgs.past = 0;
    c.progress_stream = flag_stream();
    c.progress_mode = SL_PROGRESS_BAR;
    sl_probe_result *r = NULL;
    flag = 0;
    sl_status s = sl_probe_run(&c, x, y, n, NULL, NULL, 0, d, &r);
    fclose(c.progress_stream);
    if (s == SL_OK) T_FAIL("the probe finished before its progress bar first drew (%zu iterations)", r->fit.iterations);
    ASSERT_EQ_INT(s, SL_ERR_INTERRUPTED);
    ASSERT_TRUE(r == NULL);
    free(x), free(y);
}

/* ---- embedding and the demo ------------------------------------------------- */

TEST(embed_with_the_flag_set_returns_no_embedding) {
    sl_embed_config c;
    sl_embed_config_default(&c);
    c.data = "shapes";
    c.data_count = 64;
    c.image_size = 16;
    c.threads = 1;
    c.stop = &flag;
    sl_embedding *e = NULL;
    flag = 1;
    ASSERT_FAILS(sl_embed_run(&c, &e), SL_ERR_INTERRUPTED, "embed: interrupted after 0 of 64 items");
    ASSERT_TRUE(e == NULL);
    flag = 0;
    ASSERT_OK(sl_embed_run(&c, &e));
    ASSERT_EQ_SIZE(e->n, 64);
    sl_embedding_destroy(e);
}

TEST(demo_with_the_flag_set_stops_after_one_step) {
    sl_demo_config c;
    sl_demo_config_default(&c);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", t_path("demo"));
    c.out_dir = dir;
    c.threads = 1;
    c.stop = &flag;
    flag = 1;
    sl_demo_result r;
    r.n_val = 4242;
    ASSERT_FAILS(sl_demo_run(&c, &r), SL_ERR_INTERRUPTED, "interrupted at step 1; checkpoint written");
    ASSERT_EQ_SIZE(r.n_val, 4242); /* r untouched */
    char path[1100];
    snprintf(path, sizeof path, "%s/contrastive-color.safetensors", dir);
    sl_tensors *t;
    ASSERT_OK(sl_safetensors_read(path, &t));
    ASSERT_STREQ(sl_tensors_get_meta(t, "train.step"), "1");
    sl_tensors_destroy(t);
}

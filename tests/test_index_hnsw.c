/* Tests of the HNSW index: recall against exact search for every metric,
 * integrity after build, add and delete, filters, determinism, save/load
 * round trips and corrupt files, bad inputs; ids chosen by the caller (keys)
 * and the key map behind them. */
#include "test.h"

#include "index/index_internal.h"

#include <unistd.h>

static float *randmat(size_t n, size_t d, uint64_t seed) {
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    float *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n * d; i++) x[i] = (float)sl_rng_normal(&r);
    return x;
}

static sl_hnsw *build(const float *x, size_t n, size_t d, sl_metric m, const int64_t *labels) {
    sl_hnsw_config cfg = {.dim = d, .metric = m, .M = 12, .ef_construction = 100, .seed = 7};
    sl_hnsw *h;
    ASSERT_OK(sl_hnsw_create(&cfg, &h));
    int64_t first = -1;
    ASSERT_OK(sl_hnsw_add(h, x, n, labels, NULL, NULL, &first));
    ASSERT_EQ_INT(first, 0);
    ASSERT_OK(sl_hnsw_check(h));
    return h;
}

/* Mean fraction of the exact top-k (over the base rows with keep[i] != 0, or
 * all when keep is NULL) that the index returns. */
static double recall(const sl_hnsw *h, const float *x, size_t n, size_t d, sl_metric m, const float *q, size_t nq,
                     size_t k, size_t ef, const sl_hnsw_filter *f, const unsigned char *keep) {
    int64_t *ids = malloc(nq * k * sizeof *ids), *gt = malloc(nq * k * sizeof *gt);
    float *sc = malloc(nq * k * sizeof *sc), *gs = malloc(nq * k * sizeof *gs);
    ASSERT_OK(sl_hnsw_search(h, q, nq, k, ef, f, ids, sc));
    /* Exact results over the kept subset. */
    size_t nk = 0;
    float *sub = malloc(n * d * sizeof *sub);
    int64_t *map = malloc(n * sizeof *map);
    for (size_t i = 0; i < n; i++)
        if (!keep || keep[i]) memcpy(sub + nk * d, x + i * d, d * sizeof *sub), map[nk++] = (int64_t)i;
    sl_flat_config fc = {.metric = m, .k = k};
    ASSERT_OK(sl_flat_search(sub, nk, d, q, nq, d, &fc, gt, gs));
    size_t hit = 0;
    for (size_t i = 0; i < nq; i++)
        for (size_t a = 0; a < k; a++) {
            int64_t id = ids[i * k + a];
            ASSERT_TRUE(id >= 0 && (size_t)id < n);
            if (keep) ASSERT_TRUE(keep[id]);
            for (size_t b = 0; b < k; b++) hit += map[gt[i * k + b]] == id;
            if (a) {
                if (m == SL_METRIC_L2)
                    ASSERT_TRUE(sc[i * k + a] >= sc[i * k + a - 1]);
                else
                    ASSERT_TRUE(sc[i * k + a] <= sc[i * k + a - 1]);
            }
        }
    free(ids), free(gt), free(sc), free(gs), free(sub), free(map);
    return (double)hit / (double)(nq * k);
}

static void recall_for(sl_metric m) {
    size_t n = 3000, d = 16, nq = 200;
    float *x = randmat(n, d, 1), *q = randmat(nq, d, 2);
    if (m == SL_METRIC_IP) /* varied norms make MIPS differ from cosine */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++) x[i * d + j] *= 0.5f + (float)(i % 7) * 0.25f;
    sl_threads_set(2);
    sl_hnsw *h = build(x, n, d, m, NULL);
    /* MIPS through the L2 reduction needs a longer candidate list for the
     * same recall (docs/search.md shows the recall-ef curve). */
    size_t ef = m == SL_METRIC_IP ? 400 : 64;
    double r = recall(h, x, n, d, m, q, nq, 10, ef, NULL, NULL);
    printf("recall@10 (%s, ef %zu) = %.4f\n", sl_metric_name(m), ef, r);
    ASSERT_TRUE(r >= 0.95);
    sl_hnsw_destroy(h);
    free(x), free(q);
}

TEST(hnsw_recall_l2) { recall_for(SL_METRIC_L2); }
TEST(hnsw_recall_cosine) { recall_for(SL_METRIC_COSINE); }
TEST(hnsw_recall_ip_mips) { recall_for(SL_METRIC_IP); }

TEST(hnsw_scores_are_exact) {
    size_t n = 500, d = 8;
    float *x = randmat(n, d, 3);
    for (int m = 0; m < 3; m++) {
        sl_hnsw *h = build(x, n, d, (sl_metric)m, NULL);
        int64_t ids[5];
        float sc[5];
        ASSERT_OK(sl_hnsw_search(h, x + 17 * d, 1, 5, 50, NULL, ids, sc));
        for (int j = 0; j < 5; j++) {
            double s = 0, qq = 0, xx = 0, ip = 0;
            for (size_t t = 0; t < d; t++) {
                double a = x[17 * d + t], b = x[ids[j] * d + t];
                s += (a - b) * (a - b), qq += a * a, xx += b * b, ip += a * b;
            }
            double want = m == SL_METRIC_L2 ? s : m == SL_METRIC_IP ? ip : ip / sqrt(qq * xx);
            ASSERT_CLOSE(sc[j], want, 1e-5, 1e-5);
        }
        if (m != SL_METRIC_IP) ASSERT_EQ_INT(ids[0], 17); /* a vector is its own nearest */
        sl_hnsw_destroy(h);
    }
    free(x);
}

TEST(hnsw_single_thread_build_is_deterministic) {
    size_t n = 800, d = 12;
    float *x = randmat(n, d, 4);
    sl_threads_set(1);
    sl_hnsw *a = build(x, n, d, SL_METRIC_L2, NULL), *b = build(x, n, d, SL_METRIC_L2, NULL);
    ASSERT_OK(sl_hnsw_save(a, t_path("a.hnsw")));
    ASSERT_OK(sl_hnsw_save(b, t_path("b.hnsw")));
    char cmd[1200], *out;
    snprintf(cmd, sizeof cmd, "cmp %s %s", t_path("a.hnsw"), t_path("b.hnsw"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    free(out);
    sl_hnsw_destroy(a), sl_hnsw_destroy(b);
    free(x);
}

TEST(hnsw_incremental_add) {
    size_t n = 3000, d = 16, nq = 100;
    float *x = randmat(n, d, 5), *q = randmat(nq, d, 6);
    sl_threads_set(2);
    sl_hnsw *h = build(x, 1000, d, SL_METRIC_L2, NULL);
    int64_t first;
    ASSERT_OK(sl_hnsw_add(h, x + 1000 * d, 1500, NULL, NULL, NULL, &first));
    ASSERT_EQ_INT(first, 1000);
    ASSERT_OK(sl_hnsw_add(h, x + 2500 * d, 500, NULL, NULL, NULL, &first));
    ASSERT_EQ_INT(first, 2500);
    ASSERT_EQ_SIZE(sl_hnsw_size(h), n);
    ASSERT_OK(sl_hnsw_check(h));
    ASSERT_TRUE(recall(h, x, n, d, SL_METRIC_L2, q, nq, 10, 64, NULL, NULL) >= 0.95);
    sl_hnsw_destroy(h);
    free(x), free(q);
}

TEST(hnsw_mips_add_longer_vectors_later) {
    size_t n = 2000, d = 16, nq = 100;
    float *x = randmat(n, d, 8), *q = randmat(nq, d, 9);
    for (size_t i = 1000; i < n; i++)
        for (size_t j = 0; j < d; j++) x[i * d + j] *= 3.0f; /* the second half raises R */
    sl_hnsw *h = build(x, 1000, d, SL_METRIC_IP, NULL);
    ASSERT_OK(sl_hnsw_add(h, x + 1000 * d, 1000, NULL, NULL, NULL, NULL));
    ASSERT_OK(sl_hnsw_check(h));
    ASSERT_TRUE(recall(h, x, n, d, SL_METRIC_IP, q, nq, 10, 400, NULL, NULL) >= 0.95);
    sl_hnsw_destroy(h);
    free(x), free(q);
}

TEST(hnsw_delete_repairs_links) {
    size_t n = 3000, d = 16, nq = 100;
    float *x = randmat(n, d, 10), *q = randmat(nq, d, 11);
    sl_threads_set(2);
    sl_hnsw *h = build(x, n, d, SL_METRIC_L2, NULL);
    sl_hnsw_info info;
    sl_hnsw_get_info(h, &info);
    /* Delete a quarter, including the entry point. */
    unsigned char *keep = malloc(n);
    int64_t *del = malloc(n * sizeof *del);
    size_t nd = 0;
    for (size_t i = 0; i < n; i++) {
        keep[i] = !(i % 4 == 1 || (int64_t)i == info.entry_point);
        if (!keep[i]) del[nd++] = (int64_t)i;
    }
    ASSERT_OK(sl_hnsw_delete(h, del, nd));
    ASSERT_OK(sl_hnsw_check(h));
    ASSERT_TRUE(!sl_hnsw_contains(h, del[0]));
    sl_hnsw_get_info(h, &info);
    ASSERT_EQ_SIZE(info.live, n - nd);
    ASSERT_EQ_SIZE(sl_hnsw_live(h), info.live);
    ASSERT_EQ_SIZE(sl_hnsw_dim(h), info.dim);
    ASSERT_EQ_SIZE(sl_hnsw_size(h), n);
    ASSERT_TRUE(keep[info.entry_point]);
    double r = recall(h, x, n, d, SL_METRIC_L2, q, nq, 10, 64, NULL, keep);
    printf("recall after deleting %zu: %.4f\n", nd, r);
    ASSERT_TRUE(r >= 0.95);
    ASSERT_FAILS(sl_hnsw_delete(h, del, 1), SL_ERR_STATE, "already deleted");
    int64_t bad = (int64_t)n;
    ASSERT_FAILS(sl_hnsw_delete(h, &bad, 1), SL_ERR_RANGE, "not in the index");
    /* Adding after deleting still works and keeps the graph sound. */
    ASSERT_OK(sl_hnsw_add(h, q, 50, NULL, NULL, NULL, NULL));
    ASSERT_OK(sl_hnsw_check(h));
    sl_hnsw_destroy(h);
    free(x), free(q), free(keep), free(del);
}

TEST(hnsw_delete_everything) {
    size_t n = 40, d = 4;
    float *x = randmat(n, d, 12);
    sl_hnsw *h = build(x, n, d, SL_METRIC_L2, NULL);
    int64_t ids[40];
    for (size_t i = 0; i < n; i++) ids[i] = (int64_t)i;
    ASSERT_OK(sl_hnsw_delete(h, ids, n));
    ASSERT_OK(sl_hnsw_check(h));
    int64_t o[1];
    float s[1];
    ASSERT_FAILS(sl_hnsw_search(h, x, 1, 1, 10, NULL, o, s), SL_ERR_STATE, "empty");
    ASSERT_OK(sl_hnsw_add(h, x, 5, NULL, NULL, NULL, NULL));
    ASSERT_OK(sl_hnsw_check(h));
    ASSERT_OK(sl_hnsw_search(h, x, 1, 1, 10, NULL, o, s));
    ASSERT_EQ_INT(o[0], 40);
    sl_hnsw_destroy(h);
    free(x);
}

TEST(hnsw_filters_apply_during_search) {
    size_t n = 3000, d = 16, nq = 100;
    float *x = randmat(n, d, 13), *q = randmat(nq, d, 14);
    int64_t *labels = malloc(n * sizeof *labels);
    for (size_t i = 0; i < n; i++) labels[i] = (int64_t)(i % 10);
    sl_hnsw *h = build(x, n, d, SL_METRIC_L2, labels);
    /* Label filter: classes 3 and 7 (20% of the base). */
    int64_t want[2] = {7, 3};
    unsigned char *keep = malloc(n);
    for (size_t i = 0; i < n; i++) keep[i] = labels[i] == 3 || labels[i] == 7;
    sl_hnsw_filter f = {.allow_labels = want, .n_allow_labels = 2};
    double r = recall(h, x, n, d, SL_METRIC_L2, q, nq, 10, 100, &f, keep);
    printf("recall with a label filter: %.4f\n", r);
    ASSERT_TRUE(r >= 0.95);
    /* Id allow-list: every 20th id (5%). */
    int64_t *allow = malloc(n * sizeof *allow);
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        keep[i] = i % 20 == 0;
        if (keep[i]) allow[na++] = (int64_t)i;
    }
    sl_hnsw_filter g = {.allow_ids = allow, .n_allow_ids = na};
    r = recall(h, x, n, d, SL_METRIC_L2, q, nq, 10, 100, &g, keep);
    printf("recall with an id filter: %.4f\n", r);
    ASSERT_TRUE(r >= 0.95);
    /* A filter allowing fewer than k nodes pads with -1. */
    int64_t two[2] = {5, 9}, ids[10];
    float sc[10];
    sl_hnsw_filter t = {.allow_ids = two, .n_allow_ids = 2};
    ASSERT_OK(sl_hnsw_search(h, q, 1, 10, 20, &t, ids, sc));
    ASSERT_TRUE((ids[0] == 5 && ids[1] == 9) || (ids[0] == 9 && ids[1] == 5));
    for (int j = 2; j < 10; j++) {
        ASSERT_EQ_INT(ids[j], -1);
        ASSERT_TRUE(isnan(sc[j]));
    }
    sl_hnsw_destroy(h);
    free(x), free(q), free(labels), free(keep), free(allow);
}

static sl_hnsw *small_saved(const char *path) {
    size_t n = 300, d = 6;
    float *x = randmat(n, d, 15);
    int64_t *labels = malloc(n * sizeof *labels);
    for (size_t i = 0; i < n; i++) labels[i] = (int64_t)(i % 3);
    sl_hnsw *h = build(x, n, d, SL_METRIC_IP, labels);
    int64_t del[3] = {4, 8, 15};
    ASSERT_OK(sl_hnsw_delete(h, del, 3));
    ASSERT_OK(sl_hnsw_save(h, path));
    free(x), free(labels);
    return h;
}

TEST(hnsw_save_load_round_trip) {
    sl_hnsw *h = small_saved(t_path("i.hnsw")), *g;
    ASSERT_OK(sl_hnsw_load(t_path("i.hnsw"), &g));
    sl_hnsw_info a, b;
    sl_hnsw_get_info(h, &a);
    sl_hnsw_get_info(g, &b);
    ASSERT_EQ_SIZE(a.size, b.size);
    ASSERT_EQ_SIZE(a.live, b.live);
    ASSERT_EQ_INT(a.entry_point, b.entry_point);
    ASSERT_EQ_INT(b.metric, SL_METRIC_IP);
    ASSERT_EQ_SIZE(b.M, 12);
    float *q = randmat(20, 6, 16);
    int64_t i1[100], i2[100];
    float s1[100], s2[100];
    int64_t lab = 2;
    sl_hnsw_filter f = {.allow_labels = &lab, .n_allow_labels = 1};
    ASSERT_OK(sl_hnsw_search(h, q, 20, 5, 30, &f, i1, s1));
    ASSERT_OK(sl_hnsw_search(g, q, 20, 5, 30, &f, i2, s2));
    ASSERT_TRUE(memcmp(i1, i2, sizeof i1) == 0);
    ASSERT_TRUE(memcmp(s1, s2, sizeof s1) == 0);
    ASSERT_OK(sl_hnsw_save(g, t_path("j.hnsw")));
    char cmd[1200], *out;
    snprintf(cmd, sizeof cmd, "cmp %s %s", t_path("i.hnsw"), t_path("j.hnsw"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    free(out), free(q);
    sl_hnsw_destroy(h), sl_hnsw_destroy(g);
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    ASSERT_TRUE(f != NULL);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*n);
    ASSERT_EQ_SIZE(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

TEST(hnsw_load_rejects_truncated_files) {
    sl_hnsw *h = small_saved(t_path("i.hnsw")), *g;
    size_t n;
    unsigned char *b = slurp(t_path("i.hnsw"), &n);
    for (size_t cut = 0; cut < n; cut += cut < 200 ? 1 : 97) {
        t_write_file(t_path("t.hnsw"), b, cut);
        sl_status s = sl_hnsw_load(t_path("t.hnsw"), &g);
        if (s == SL_OK) T_FAIL("a file cut at %zu of %zu bytes loaded", cut, n);
        ASSERT_EQ_INT(s, SL_ERR_FORMAT);
    }
    t_write_file(t_path("t.hnsw"), b, 0);
    ASSERT_FAILS(sl_hnsw_load(t_path("t.hnsw"), &g), SL_ERR_FORMAT, "empty file");
    t_write_file(t_path("t.hnsw"), b, n - 1);
    ASSERT_FAILS(sl_hnsw_load(t_path("t.hnsw"), &g), SL_ERR_FORMAT, "checksum");
    free(b);
    sl_hnsw_destroy(h);
}

/* Cut short and given a valid checksum (FNV-1a 64 of the bytes before it),
 * as a crafted file would be: refused, never read past its end (with fewer
 * than 12 bytes the checksum overlaps the magic and version already read). */
TEST(hnsw_load_rejects_short_files_with_valid_checksums) {
    sl_hnsw *h = small_saved(t_path("i.hnsw")), *g;
    size_t n;
    unsigned char *b = slurp(t_path("i.hnsw"), &n), *c = malloc(n + 8);
    for (size_t cut = 0; cut < 200 && cut < n; cut++) {
        memcpy(c, b, cut);
        uint64_t sum = sl__fnv1a(SL__FNV1A_INIT, c, cut);
        memcpy(c + cut, &sum, 8);
        t_write_file(t_path("s.hnsw"), c, cut + 8);
        sl_status s = sl_hnsw_load(t_path("s.hnsw"), &g);
        if (s == SL_OK) T_FAIL("%zu bytes and a checksum loaded", cut);
        ASSERT_EQ_INT(s, SL_ERR_FORMAT);
    }
    free(b), free(c);
    sl_hnsw_destroy(h);
}

TEST(hnsw_load_rejects_corrupt_files) {
    sl_hnsw *h = small_saved(t_path("i.hnsw")), *g;
    size_t n;
    unsigned char *b = slurp(t_path("i.hnsw"), &n);
    /* A flipped byte after the magic and the version (bytes 0 to 11, checked
     * first) is caught by the checksum, the checksum's own last byte included. */
    for (size_t pos = 12; pos < n + 53; pos += 53) {
        size_t at = pos < n ? pos : n - 1;
        b[at] ^= 0x40;
        t_write_file(t_path("c.hnsw"), b, n);
        ASSERT_FAILS(sl_hnsw_load(t_path("c.hnsw"), &g), SL_ERR_FORMAT, "checksum mismatch");
        b[at] ^= 0x40;
    }
    b[0] = 'X';
    t_write_file(t_path("c.hnsw"), b, n);
    ASSERT_FAILS(sl_hnsw_load(t_path("c.hnsw"), &g), SL_ERR_FORMAT, "wrong magic");
    b[0] = 'S';
    b[8] = 9;
    t_write_file(t_path("c.hnsw"), b, n);
    ASSERT_FAILS(sl_hnsw_load(t_path("c.hnsw"), &g), SL_ERR_FORMAT, "format version 9");
    b[8] = 1;
    /* An absurd node count with a valid checksum is refused before allocating. */
    uint64_t huge = (uint64_t)1 << 60, sum = 0xcbf29ce484222325ULL;
    memcpy(b + 48, &huge, 8);
    for (size_t i = 0; i < n - 8; i++) sum = (sum ^ b[i]) * 0x100000001b3ULL;
    memcpy(b + n - 8, &sum, 8);
    t_write_file(t_path("c.hnsw"), b, n);
    ASSERT_FAILS(sl_hnsw_load(t_path("c.hnsw"), &g), SL_ERR_FORMAT, "cannot fit");
    ASSERT_FAILS(sl_hnsw_load(t_path("missing.hnsw"), &g), SL_ERR_IO, "cannot open");
    free(b);
    sl_hnsw_destroy(h);
}

TEST(hnsw_bad_inputs_fail_clearly) {
    sl_hnsw_config cfg = {.dim = 0};
    sl_hnsw *h;
    ASSERT_FAILS(sl_hnsw_create(&cfg, &h), SL_ERR_ARG, "dimension 0");
    cfg.dim = 4;
    cfg.M = 1;
    ASSERT_FAILS(sl_hnsw_create(&cfg, &h), SL_ERR_ARG, "M = 1");
    cfg.M = 0;
    ASSERT_OK(sl_hnsw_create(&cfg, &h));
    float x[8] = {1, 2, 3, 4, 5, NAN, 7, 8};
    int64_t ids[2];
    float sc[2];
    ASSERT_FAILS(sl_hnsw_search(h, x, 1, 1, 10, NULL, ids, sc), SL_ERR_STATE, "empty");
    ASSERT_FAILS(sl_hnsw_add(h, x, 2, NULL, NULL, NULL, NULL), SL_ERR_NUMERIC, "row 1, column 1");
    ASSERT_FAILS(sl_hnsw_add(h, x, 0, NULL, NULL, NULL, NULL), SL_ERR_ARG, "no vectors");
    ASSERT_EQ_SIZE(sl_hnsw_size(h), 0);
    ASSERT_OK(sl_hnsw_add(h, x, 1, NULL, NULL, NULL, NULL));
    ASSERT_FAILS(sl_hnsw_search(h, x, 1, 0, 10, NULL, ids, sc), SL_ERR_ARG, "k must be");
    ASSERT_FAILS(sl_hnsw_search(h, x + 4, 1, 1, 10, NULL, ids, sc), SL_ERR_NUMERIC, "queries");
    /* k larger than the index: padded. */
    ASSERT_OK(sl_hnsw_search(h, x, 1, 2, 10, NULL, ids, sc));
    ASSERT_EQ_INT(ids[0], 0);
    ASSERT_EQ_INT(ids[1], -1);
    sl_hnsw_destroy(h);
}

/* ---- key map -------------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

TEST(keymap_put_get_replace) {
    sl__keymap m = {0};
    ASSERT_EQ_INT(sl__keymap_get(&m, 5), -1);
    ASSERT_OK(sl__keymap_put(&m, 5, 50));
    ASSERT_OK(sl__keymap_put(&m, 0, 7));
    ASSERT_OK(sl__keymap_put(&m, INT64_MAX, 9));
    ASSERT_EQ_INT(sl__keymap_get(&m, 5), 50);
    ASSERT_EQ_INT(sl__keymap_get(&m, 0), 7);
    ASSERT_EQ_INT(sl__keymap_get(&m, INT64_MAX), 9);
    ASSERT_EQ_INT(sl__keymap_get(&m, 6), -1);
    ASSERT_EQ_INT(sl__keymap_get(&m, -1), -1);
    ASSERT_OK(sl__keymap_put(&m, 5, 51)); /* replaced, not added */
    ASSERT_EQ_INT(sl__keymap_get(&m, 5), 51);
    ASSERT_EQ_SIZE(m.n, 3);
    ASSERT_FAILS(sl__keymap_put(&m, -3, 1), SL_ERR_ARG, "key -3 is negative");
    ASSERT_EQ_SIZE(m.n, 3);
    /* Puts up to the reserved count never move the table. */
    sl__keymap r = {0};
    ASSERT_OK(sl__keymap_reserve(&r, 1000));
    const sl__keyslot *slots = r.slots;
    ASSERT_TRUE(r.cap >= 2000);
    for (int64_t i = 0; i < 1000; i++) ASSERT_OK(sl__keymap_put(&r, i * 7919, i));
    ASSERT_TRUE(r.slots == slots);
    for (int64_t i = 0; i < 1000; i++) ASSERT_EQ_INT(sl__keymap_get(&r, i * 7919), i);
    sl__keymap_free(&r);
    sl__keymap_free(&m);
    ASSERT_EQ_SIZE(m.cap, 0);
    ASSERT_EQ_INT(sl__keymap_get(&m, 5), -1);
}

/* The table doubles as it fills (never beyond half full) and every key stays
 * findable: 100k large random keys, then keys that differ only in their high
 * bits, and consecutive ones. */
TEST(keymap_grows_over_many_large_keys) {
    const size_t n = 100000;
    sl__keymap m = {0};
    int64_t *keys = malloc(n * sizeof *keys);
    uint64_t s = 42;
    for (size_t i = 0; i < n; i++) keys[i] = (int64_t)(splitmix(&s) >> 1);
    keys[0] = INT64_MAX, keys[1] = 0;
    size_t cap = 0, grew = 0;
    for (size_t i = 0; i < n; i++) {
        ASSERT_OK(sl__keymap_put(&m, keys[i], (int64_t)i));
        ASSERT_EQ_SIZE(m.n, i + 1);
        if (m.cap != cap) grew++, cap = m.cap;
    }
    ASSERT_TRUE(m.n * 2 <= m.cap && (m.cap & (m.cap - 1)) == 0);
    printf("100000 keys: %zu slots after %zu sizes\n", m.cap, grew);
    ASSERT_TRUE(grew >= 10);
    for (size_t i = 0; i < n; i++) ASSERT_EQ_INT(sl__keymap_get(&m, keys[i]), (int64_t)i);
    size_t absent = 0;
    for (size_t i = 0; i < 10000; i++) absent += sl__keymap_get(&m, (int64_t)(splitmix(&s) >> 1)) == -1;
    ASSERT_EQ_SIZE(absent, 10000);
    sl__keymap_free(&m);
    for (int64_t i = 0; i < 50000; i++) {
        ASSERT_OK(sl__keymap_put(&m, i << 40, i));
        ASSERT_OK(sl__keymap_put(&m, i + 1, -i));
    }
    for (int64_t i = 0; i < 50000; i++) {
        ASSERT_EQ_INT(sl__keymap_get(&m, i << 40), i);
        ASSERT_EQ_INT(sl__keymap_get(&m, i + 1), -i);
    }
    ASSERT_EQ_SIZE(m.n, 100000);
    sl__keymap_free(&m);
    free(keys);
}

/* ---- ids chosen by the caller (keys) -------------------------------------------- */

/* Distinct large keys in no order: random high bits above the row number. */
static int64_t *row_keys(size_t n, uint64_t seed) {
    int64_t *k = malloc(n * sizeof *k);
    for (size_t i = 0; i < n; i++) k[i] = (int64_t)((splitmix(&seed) >> 24) << 20 | i);
    return k;
}
static size_t key_row(int64_t key) { return (size_t)(key & 0xFFFFF); }

static sl_hnsw *build_keyed(const float *x, size_t n, size_t d, sl_metric m, const int64_t *keys,
                            const int64_t *labels) {
    sl_hnsw_config cfg = {.dim = d, .metric = m, .M = 12, .ef_construction = 100, .seed = 7};
    sl_hnsw *h;
    ASSERT_OK(sl_hnsw_create(&cfg, &h));
    ASSERT_OK(sl_hnsw_add_keys(h, x, n, keys, labels, NULL, NULL));
    ASSERT_OK(sl_hnsw_check(h));
    return h;
}

/* With one thread, keys change nothing but the ids: the same graph, the same
 * neighbours and scores, each id the key of the row the plain index returns. */
TEST(hnsw_keys_same_graph_and_neighbours) {
    size_t n = 1500, d = 12, nq = 100, k = 10;
    float *x = randmat(n, d, 20), *q = randmat(nq, d, 21);
    int64_t *keys = row_keys(n, 1);
    sl_threads_set(1);
    for (int m = 0; m < 3; m++) {
        sl_hnsw *a = build(x, n, d, (sl_metric)m, NULL), *b = build_keyed(x, n, d, (sl_metric)m, keys, NULL);
        sl_hnsw_info ia, ib;
        sl_hnsw_get_info(a, &ia);
        sl_hnsw_get_info(b, &ib);
        ASSERT_TRUE(!ia.keyed && ib.keyed);
        ASSERT_EQ_SIZE(ia.size, ib.size);
        ASSERT_EQ_SIZE(ia.links_level0, ib.links_level0);
        ASSERT_EQ_INT(ia.max_level, ib.max_level);
        ASSERT_EQ_INT(ib.entry_point, keys[ia.entry_point]);
        int64_t *ida = malloc(nq * k * sizeof *ida), *idb = malloc(nq * k * sizeof *idb);
        float *sa = malloc(nq * k * sizeof *sa), *sb = malloc(nq * k * sizeof *sb);
        ASSERT_OK(sl_hnsw_search(a, q, nq, k, 60, NULL, ida, sa));
        ASSERT_OK(sl_hnsw_search(b, q, nq, k, 60, NULL, idb, sb));
        for (size_t i = 0; i < nq * k; i++) ASSERT_EQ_INT(idb[i], keys[ida[i]]);
        ASSERT_TRUE(memcmp(sa, sb, nq * k * sizeof *sa) == 0);
        free(ida), free(idb), free(sa), free(sb);
        sl_hnsw_destroy(a), sl_hnsw_destroy(b);
    }
    free(x), free(q), free(keys);
}

TEST(hnsw_keys_name_rows_everywhere) {
    size_t n = 800, d = 8, nq = 50, k = 10;
    float *x = randmat(n, d, 22), *q = randmat(nq, d, 23), v[8];
    int64_t *keys = row_keys(n, 2), *labels = malloc(n * sizeof *labels);
    for (size_t i = 0; i < n; i++) labels[i] = (int64_t)(i % 5);
    sl_threads_set(2);
    sl_hnsw *h = build_keyed(x, n, d, SL_METRIC_L2, keys, labels);
    for (size_t i = 0; i < n; i += 37) {
        ASSERT_TRUE(sl_hnsw_contains(h, keys[i]));
        ASSERT_OK(sl_hnsw_get_vector(h, keys[i], v));
        ASSERT_TRUE(memcmp(v, x + i * d, d * sizeof *v) == 0);
    }
    ASSERT_TRUE(!sl_hnsw_contains(h, 3) && !sl_hnsw_contains(h, -1)); /* node numbers are not ids */
    ASSERT_FAILS(sl_hnsw_get_vector(h, 3, v), SL_ERR_NOTFOUND, "id 3 is not in the index");
    /* Delete by key, the entry point's among them. */
    sl_hnsw_info info;
    sl_hnsw_get_info(h, &info);
    int64_t del[11];
    for (size_t i = 0; i < 10; i++) del[i] = keys[i * 3];
    del[10] = info.entry_point;
    ASSERT_TRUE(sl_hnsw_contains(h, info.entry_point));
    int64_t bad[2] = {keys[500], 12345};
    ASSERT_FAILS(sl_hnsw_delete(h, bad, 2), SL_ERR_RANGE, "id 12345 is not in the index");
    ASSERT_TRUE(sl_hnsw_contains(h, keys[500])); /* nothing deleted */
    ASSERT_OK(sl_hnsw_delete(h, del, 11));
    ASSERT_OK(sl_hnsw_check(h));
    ASSERT_EQ_SIZE(sl_hnsw_live(h), n - 11);
    for (size_t i = 0; i < 11; i++) ASSERT_TRUE(!sl_hnsw_contains(h, del[i]));
    ASSERT_FAILS(sl_hnsw_delete(h, del + 4, 1), SL_ERR_STATE, "is already deleted");
    ASSERT_FAILS(sl_hnsw_get_vector(h, del[0], v), SL_ERR_NOTFOUND, "not in the index");
    int64_t *ids = malloc(nq * k * sizeof *ids);
    float *sc = malloc(nq * k * sizeof *sc);
    ASSERT_OK(sl_hnsw_search(h, q, nq, k, 50, NULL, ids, sc));
    for (size_t i = 0; i < nq * k; i++) ASSERT_TRUE(sl_hnsw_contains(h, ids[i]));
    /* Id filter by keys (unknown ids ignored), and a label filter. */
    int64_t *allow = malloc(n * sizeof *allow);
    size_t na = 0;
    for (size_t i = 0; i < n; i += 10) allow[na++] = keys[i];
    allow[na++] = 77, allow[na++] = -5;
    sl_hnsw_filter f = {.allow_ids = allow, .n_allow_ids = na};
    ASSERT_OK(sl_hnsw_search(h, q, nq, k, 100, &f, ids, sc));
    for (size_t i = 0; i < nq * k; i++) {
        ASSERT_TRUE(sl_hnsw_contains(h, ids[i]));
        ASSERT_TRUE(key_row(ids[i]) % 10 == 0 && keys[key_row(ids[i])] == ids[i]);
    }
    int64_t lab = 3;
    sl_hnsw_filter g = {.allow_labels = &lab, .n_allow_labels = 1};
    ASSERT_OK(sl_hnsw_search(h, q, nq, k, 100, &g, ids, sc));
    for (size_t i = 0; i < nq * k; i++) ASSERT_EQ_INT(labels[key_row(ids[i])], 3);
    int64_t two[2] = {keys[100], keys[200]};
    sl_hnsw_filter t = {.allow_ids = two, .n_allow_ids = 2};
    ASSERT_OK(sl_hnsw_search(h, q, 1, k, 20, &t, ids, sc));
    ASSERT_TRUE((ids[0] == two[0] && ids[1] == two[1]) || (ids[0] == two[1] && ids[1] == two[0]));
    for (size_t j = 2; j < k; j++) ASSERT_EQ_INT(ids[j], -1);
    sl_hnsw_destroy(h);
    free(x), free(q), free(keys), free(labels), free(ids), free(sc), free(allow);
}

/* A deleted key may be given again: it then names the new row, also after a
 * save and a load (the file holds both nodes with that key). */
TEST(hnsw_keys_deleted_key_given_again) {
    size_t n = 300, d = 6;
    float *x = randmat(n, d, 24), far[6] = {10, 10, 10, 10, 10, 10}, v[6];
    int64_t *keys = row_keys(n, 3), id;
    float sc;
    sl_hnsw *h = build_keyed(x, n, d, SL_METRIC_L2, keys, NULL), *g;
    ASSERT_FAILS(sl_hnsw_add_keys(h, far, 1, keys + 7, NULL, NULL, NULL), SL_ERR_ARG, "is already in the index");
    ASSERT_OK(sl_hnsw_delete(h, keys + 7, 1));
    ASSERT_OK(sl_hnsw_add_keys(h, far, 1, keys + 7, NULL, NULL, NULL));
    ASSERT_EQ_SIZE(sl_hnsw_size(h), n + 1);
    ASSERT_EQ_SIZE(sl_hnsw_live(h), n);
    ASSERT_OK(sl_hnsw_check(h));
    ASSERT_OK(sl_hnsw_save(h, t_path("k.hnsw")));
    ASSERT_OK(sl_hnsw_load(t_path("k.hnsw"), &g));
    sl_hnsw *both[2] = {h, g};
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(sl_hnsw_get_vector(both[i], keys[7], v));
        ASSERT_TRUE(memcmp(v, far, sizeof far) == 0);
        ASSERT_OK(sl_hnsw_search(both[i], far, 1, 1, 10, NULL, &id, &sc));
        ASSERT_EQ_INT(id, keys[7]);
        ASSERT_TRUE(sc == 0);
    }
    ASSERT_OK(sl_hnsw_delete(g, keys + 7, 1));
    ASSERT_TRUE(!sl_hnsw_contains(g, keys[7]));
    ASSERT_OK(sl_hnsw_check(g));
    sl_hnsw_destroy(h), sl_hnsw_destroy(g);
    free(x), free(keys);
}

/* Bad keys are refused before anything is inserted, naming the key and its
 * row; an index that was never given keys stays without them (and saves the
 * same bytes). Adds with and without keys mix, and an add without keys is
 * refused when a new node number is already a live key. */
TEST(hnsw_keys_refused_before_inserting) {
    size_t d = 4;
    float *x = randmat(20, d, 25);
    sl_hnsw *h = build(x, 10, d, SL_METRIC_L2, NULL);
    sl_hnsw_info info;
    ASSERT_OK(sl_hnsw_save(h, t_path("a.hnsw")));
    int64_t neg[2] = {20, -1}, twice[3] = {20, 21, 20}, live[2] = {20, 3}, first = -1;
    ASSERT_FAILS(sl_hnsw_add_keys(h, x, 2, neg, NULL, NULL, NULL), SL_ERR_ARG, "key -1 of row 1 is negative");
    ASSERT_FAILS(sl_hnsw_add_keys(h, x, 3, twice, NULL, NULL, NULL), SL_ERR_ARG, "key 20 is given twice, in rows 0 and 2");
    ASSERT_FAILS(sl_hnsw_add_keys(h, x, 2, live, NULL, NULL, NULL), SL_ERR_ARG, "key 3 of row 1 is already in the index");
    float nan_row[4] = {0, NAN, 0, 0};
    ASSERT_FAILS(sl_hnsw_add_keys(h, nan_row, 1, neg, NULL, NULL, NULL), SL_ERR_NUMERIC, "row 0");
    ASSERT_EQ_SIZE(sl_hnsw_size(h), 10);
    sl_hnsw_get_info(h, &info);
    ASSERT_TRUE(!info.keyed);
    ASSERT_OK(sl_hnsw_save(h, t_path("b.hnsw")));
    char cmd[1200], *out;
    snprintf(cmd, sizeof cmd, "cmp %s %s", t_path("a.hnsw"), t_path("b.hnsw"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    free(out);
    /* keys NULL: the node numbers, as sl_hnsw_add. */
    ASSERT_OK(sl_hnsw_add_keys(h, x + 10 * d, 1, NULL, NULL, NULL, NULL));
    ASSERT_TRUE(sl_hnsw_contains(h, 10));
    sl_hnsw_get_info(h, &info);
    ASSERT_TRUE(!info.keyed);
    /* The first keys: node 3's number is free again once it is deleted. */
    int64_t three = 3, k13[2] = {13, 14};
    ASSERT_OK(sl_hnsw_delete(h, &three, 1));
    ASSERT_OK(sl_hnsw_add_keys(h, x + 11 * d, 1, &three, NULL, NULL, NULL));
    sl_hnsw_get_info(h, &info);
    ASSERT_TRUE(info.keyed);
    float v[4];
    ASSERT_OK(sl_hnsw_get_vector(h, 3, v));
    ASSERT_TRUE(memcmp(v, x + 11 * d, sizeof v) == 0);
    ASSERT_OK(sl_hnsw_get_vector(h, 10, v)); /* earlier nodes keep their numbers as keys */
    ASSERT_TRUE(memcmp(v, x + 10 * d, sizeof v) == 0);
    /* Nodes 12 and 13 get keys 13 and 14; a plain add of 3 rows would give
     * nodes 14, 15, 16 the ids 14, 15, 16, and 14 is live. */
    ASSERT_OK(sl_hnsw_add_keys(h, x + 12 * d, 2, k13, NULL, NULL, NULL));
    ASSERT_EQ_SIZE(sl_hnsw_size(h), 14);
    ASSERT_FAILS(sl_hnsw_add(h, x + 14 * d, 3, NULL, NULL, NULL, &first), SL_ERR_ARG, "row 0 would get id 14");
    ASSERT_EQ_SIZE(sl_hnsw_size(h), 14);
    ASSERT_OK(sl_hnsw_delete(h, k13 + 1, 1));
    ASSERT_OK(sl_hnsw_add(h, x + 14 * d, 3, NULL, NULL, NULL, &first));
    ASSERT_EQ_INT(first, 14);
    ASSERT_OK(sl_hnsw_get_vector(h, 14, v));
    ASSERT_TRUE(memcmp(v, x + 14 * d, sizeof v) == 0);
    ASSERT_OK(sl_hnsw_get_vector(h, 13, v));
    ASSERT_TRUE(memcmp(v, x + 12 * d, sizeof v) == 0);
    ASSERT_FAILS(sl_hnsw_add_keys(h, x, 1, k13, NULL, NULL, NULL), SL_ERR_ARG, "key 13 of row 0 is already");
    ASSERT_EQ_SIZE(sl_hnsw_live(h), 15);
    ASSERT_OK(sl_hnsw_check(h));
    sl_hnsw_destroy(h);
    free(x);
}

/* Offsets of the node records of a saved index of dimension vdim (stored
 * floats per vector), walking the layout documented with sl_hnsw_save;
 * returns where the checksum starts. */
static size_t walk_nodes(const unsigned char *b, size_t vdim, size_t *off, size_t max) {
    uint32_t version;
    uint64_t count;
    memcpy(&version, b + 8, 4);
    memcpy(&count, b + 48, 8);
    size_t p = 88;
    for (size_t i = 0; i < count; i++) {
        if (off && i < max) off[i] = p;
        int32_t L;
        memcpy(&L, b + p, 4);
        p += 12 + (version == 2 ? 8 : 0);
        if (L < 0) continue;
        p += vdim * 4;
        for (int l = 0; l <= L; l++) {
            uint32_t c;
            memcpy(&c, b + p, 4);
            p += 4 + 4 * (size_t)c;
        }
    }
    return p;
}

static void reseal(unsigned char *b, size_t n) {
    uint64_t sum = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n - 8; i++) sum = (sum ^ b[i]) * 0x100000001b3ULL;
    memcpy(b + n - 8, &sum, 8);
}

/* An index with keys saves as version 2 and loads back the same; one without
 * keys is still version 1, byte for byte the documented layout. */
TEST(hnsw_keys_save_load_round_trip) {
    size_t n = 400, d = 6, nq = 20;
    float *x = randmat(n, d, 26), *q = randmat(nq, d, 27);
    int64_t *keys = row_keys(n, 4), *labels = malloc(n * sizeof *labels);
    for (size_t i = 0; i < n; i++) labels[i] = (int64_t)(i % 3);
    sl_hnsw *h = build_keyed(x, n, d, SL_METRIC_IP, keys, labels), *g;
    ASSERT_OK(sl_hnsw_delete(h, keys + 10, 5));
    ASSERT_OK(sl_hnsw_save(h, t_path("k.hnsw")));
    size_t sz;
    unsigned char *b = slurp(t_path("k.hnsw"), &sz);
    ASSERT_EQ_INT(b[8], 2);
    ASSERT_EQ_SIZE(walk_nodes(b, d + 1, NULL, 0), sz - 8);
    free(b);
    ASSERT_OK(sl_hnsw_load(t_path("k.hnsw"), &g));
    sl_hnsw_info a, c;
    sl_hnsw_get_info(h, &a);
    sl_hnsw_get_info(g, &c);
    ASSERT_TRUE(c.keyed);
    ASSERT_EQ_SIZE(a.live, c.live);
    ASSERT_EQ_INT(a.entry_point, c.entry_point);
    int64_t i1[100], i2[100], lab = 1;
    float s1[100], s2[100];
    sl_hnsw_filter f = {.allow_ids = keys + 50, .n_allow_ids = 200, .allow_labels = &lab, .n_allow_labels = 1};
    ASSERT_OK(sl_hnsw_search(h, q, nq, 5, 30, &f, i1, s1));
    ASSERT_OK(sl_hnsw_search(g, q, nq, 5, 30, &f, i2, s2));
    ASSERT_TRUE(memcmp(i1, i2, sizeof i1) == 0 && memcmp(s1, s2, sizeof s1) == 0);
    for (size_t i = 0; i < 100; i++) ASSERT_TRUE(key_row(i1[i]) >= 50 && key_row(i1[i]) < 250 && key_row(i1[i]) % 3 == 1);
    ASSERT_OK(sl_hnsw_save(g, t_path("j.hnsw")));
    char cmd[1200], *out;
    snprintf(cmd, sizeof cmd, "cmp %s %s", t_path("k.hnsw"), t_path("j.hnsw"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    free(out);
    sl_hnsw_destroy(h), sl_hnsw_destroy(g);
    /* Without keys: version 1, no key fields. */
    h = small_saved(t_path("i.hnsw"));
    b = slurp(t_path("i.hnsw"), &sz);
    ASSERT_EQ_INT(b[8], 1);
    ASSERT_EQ_SIZE(walk_nodes(b, 7, NULL, 0), sz - 8);
    free(b);
    sl_hnsw_destroy(h);
    free(x), free(q), free(keys), free(labels);
}

static void expect_refused(const char *path, const char *frag) {
    sl_hnsw *g = NULL;
    ASSERT_FAILS(sl_hnsw_load(path, &g), SL_ERR_FORMAT, frag);
    ASSERT_CONTAINS(sl_error_message(), path);
    ASSERT_TRUE(g == NULL);
}

/* A version-2 file whose keys break the rules is refused naming the file and
 * the node; two nodes may share a key when the earlier one is deleted. */
TEST(hnsw_keys_bad_files_refused) {
    size_t n = 300, d = 6, off[300];
    float *x = randmat(n, d, 28);
    int64_t *keys = row_keys(n, 5), key;
    sl_hnsw *h = build_keyed(x, n, d, SL_METRIC_L2, keys, NULL), *g;
    ASSERT_OK(sl_hnsw_delete(h, keys + 4, 1));
    ASSERT_OK(sl_hnsw_save(h, t_path("k.hnsw")));
    size_t sz;
    unsigned char *b = slurp(t_path("k.hnsw"), &sz), *c = malloc(sz);
    ASSERT_EQ_SIZE(walk_nodes(b, d, off, n), sz - 8);
    /* A negative key. */
    memcpy(c, b, sz);
    key = -3;
    memcpy(c + off[5] + 12, &key, 8);
    reseal(c, sz);
    t_write_file(t_path("neg.hnsw"), c, sz);
    expect_refused(t_path("neg.hnsw"), "node 5 has the negative key -3");
    /* Two live nodes with one key. */
    memcpy(c, b, sz);
    memcpy(c + off[9] + 12, &keys[2], 8);
    reseal(c, sz);
    t_write_file(t_path("dup.hnsw"), c, sz);
    char want[200];
    snprintf(want, sizeof want, "node 9 has key %lld, which live node 2 has too", (long long)keys[2]);
    expect_refused(t_path("dup.hnsw"), want);
    /* A key changed without resealing: the checksum. */
    memcpy(c, b, sz);
    c[off[9] + 13] ^= 1;
    t_write_file(t_path("sum.hnsw"), c, sz);
    expect_refused(t_path("sum.hnsw"), "checksum mismatch");
    /* Deleted node 4 shares its key with live node 9: fine, the key names 9. */
    memcpy(c, b, sz);
    memcpy(c + off[9] + 12, &keys[4], 8);
    reseal(c, sz);
    t_write_file(t_path("ok.hnsw"), c, sz);
    ASSERT_OK(sl_hnsw_load(t_path("ok.hnsw"), &g));
    float v[6];
    ASSERT_OK(sl_hnsw_get_vector(g, keys[4], v));
    ASSERT_TRUE(memcmp(v, x + 9 * d, sizeof v) == 0);
    ASSERT_TRUE(!sl_hnsw_contains(g, keys[9]));
    sl_hnsw_destroy(g);
    /* Cut anywhere: refused. */
    for (size_t cut = 0; cut < sz; cut += cut < 300 ? 1 : 89) {
        t_write_file(t_path("t.hnsw"), b, cut);
        sl_status s = sl_hnsw_load(t_path("t.hnsw"), &g);
        if (s == SL_OK) T_FAIL("a file cut at %zu of %zu bytes loaded", cut, sz);
        ASSERT_EQ_INT(s, SL_ERR_FORMAT);
        if (cut > 0) ASSERT_CONTAINS(sl_error_message(), t_path("t.hnsw"));
    }
    free(b), free(c), free(x), free(keys);
    sl_hnsw_destroy(h);
}

/* 100k rows with large random keys: the map grows through many sizes while
 * the index is built, and every key still names its row. */
TEST(hnsw_keys_many_large_keys) {
    size_t n = 100000, d = 4, nq = 1000;
    float *x = randmat(n, d, 29), v[4];
    int64_t *keys = row_keys(n, 6);
    sl_threads_set(2);
    sl_hnsw_config cfg = {.dim = d, .M = 8, .ef_construction = 40, .seed = 1};
    sl_hnsw *h;
    ASSERT_OK(sl_hnsw_create(&cfg, &h));
    ASSERT_OK(sl_hnsw_add_keys(h, x, n / 2, keys, NULL, NULL, NULL));
    ASSERT_OK(sl_hnsw_add_keys(h, x + n / 2 * d, n - n / 2, keys + n / 2, NULL, NULL, NULL));
    ASSERT_OK(sl_hnsw_check(h));
    for (size_t i = 0; i < n; i++) ASSERT_TRUE(sl_hnsw_contains(h, keys[i]));
    for (size_t i = 0; i < n; i += 997) {
        ASSERT_OK(sl_hnsw_get_vector(h, keys[i], v));
        ASSERT_TRUE(memcmp(v, x + i * d, sizeof v) == 0);
    }
    /* Each of the first rows, as a query, finds itself. */
    int64_t *ids = malloc(nq * sizeof *ids);
    float *sc = malloc(nq * sizeof *sc);
    ASSERT_OK(sl_hnsw_search(h, x, nq, 1, 40, NULL, ids, sc));
    size_t self = 0;
    for (size_t i = 0; i < nq; i++) self += ids[i] == keys[i];
    printf("rows that find themselves: %zu of %zu\n", self, nq);
    ASSERT_TRUE(self >= nq * 95 / 100);
    ASSERT_OK(sl_hnsw_delete(h, keys, 1000));
    for (size_t i = 0; i < 2000; i++) ASSERT_TRUE(sl_hnsw_contains(h, keys[i]) == (i >= 1000));
    sl_hnsw_destroy(h);
    free(x), free(keys), free(ids), free(sc);
}

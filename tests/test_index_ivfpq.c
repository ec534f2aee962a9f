/* Tests of the IVF-PQ index: k-means, product-quantisation error bounds
 * (exact codes for data its codebooks can hold, errors below the coarse
 * quantiser's), asymmetric scores against the naive twin (precomputed and
 * direct L2 tables, IP, cosine), recall against exact search, exact
 * re-ranking, filters, ids, threads, save/load and corrupt files, bad input
 * and interruption. */
#include "test.h"

#include "index/index_internal.h"

#include <signal.h>

/* n rows of d dims around `centres` Gaussian centres (spread 3, noise 1). */
static float *clustered(size_t n, size_t d, size_t centres, uint64_t seed) {
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    float *c = malloc(centres * d * sizeof *c), *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < centres * d; i++) c[i] = 3.0f * (float)sl_rng_normal(&r);
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)sl_rng_below(&r, centres);
        for (size_t t = 0; t < d; t++) x[i * d + t] = c[k * d + t] + (float)sl_rng_normal(&r);
    }
    free(c);
    return x;
}

static sl_ivfpq *trained(const float *x, size_t n, size_t d, sl_metric m, size_t nlist, size_t M) {
    sl_ivfpq_config c;
    sl_ivfpq_config_default(&c);
    c.dim = d, c.metric = m, c.nlist = nlist, c.M = M, c.seed = 3;
    sl_ivfpq *q;
    ASSERT_OK(sl_ivfpq_create(&c, &q));
    ASSERT_OK(sl_ivfpq_train(q, x, n, NULL));
    ASSERT_OK(sl_ivfpq_add(q, x, n, NULL, NULL, NULL, NULL));
    return q;
}

static double mean_sq_err(const sl_ivfpq *q, const float *x, size_t n, size_t d) {
    float *v = malloc(d * sizeof *v);
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        ASSERT_OK(sl_ivfpq_reconstruct(q, (int64_t)i, v));
        for (size_t t = 0; t < d; t++) e += (double)(v[t] - x[i * d + t]) * (v[t] - x[i * d + t]);
    }
    free(v);
    return e / (double)n;
}

TEST(kmeans_finds_separated_clusters_and_splits_empty_ones) {
    enum { N = 400, D = 3, K = 4 };
    float x[N * D], c[K * D];
    for (size_t i = 0; i < N; i++)
        for (size_t t = 0; t < D; t++) x[i * D + t] = (float)(10 * (i % K) + (t == 0)) + 0.01f * (float)(i % 7);
    ASSERT_OK(sl__kmeans(x, N, D, K, 25, 1, NULL, c, "test", NULL));
    int seen[K] = {0};
    for (size_t j = 0; j < K; j++) {
        int g = (int)lroundf(c[j * D + 1] / 10.0f);
        ASSERT_TRUE(g >= 0 && g < K);
        seen[g]++;
        ASSERT_NEAR(c[j * D + 1], 10.0 * g, 0.05);
    }
    for (int g = 0; g < K; g++) ASSERT_EQ_INT(seen[g], 1);
    /* 3 distinct rows, 5 centroids: the empty ones take halves, all finite. */
    float y[30 * 2], cy[5 * 2];
    for (size_t i = 0; i < 30; i++) y[2 * i] = (float)(i % 3), y[2 * i + 1] = 0;
    ASSERT_OK(sl__kmeans(y, 30, 2, 5, 10, 2, NULL, cy, "test", NULL));
    for (size_t i = 0; i < 10; i++) ASSERT_TRUE(isfinite(cy[i]));
    ASSERT_FAILS(sl__kmeans(y, 3, 2, 5, 10, 2, NULL, cy, "test", NULL), SL_ERR_ARG, "at least as many rows");
}

/* Data whose residual sub-vectors take few distinct values (one list, so
 * the residual is the row minus one mean): the codebooks hold them all and
 * every vector decodes to itself; also with sub-spaces of unequal width. */
static void exact_codes(size_t d, size_t M) {
    size_t n = 1024;
    float *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < d; t++) x[i * d + t] = (float)((i * 7 + t * 3) % 5);
    sl_ivfpq *q = trained(x, n, d, SL_METRIC_L2, 1, M);
    double e = mean_sq_err(q, x, n, d);
    printf("d %zu, M %zu: mean squared decoding error %.3g\n", d, M, e);
    ASSERT_TRUE(e < 1e-10);
    sl_ivfpq_destroy(q);
    free(x);
}

TEST(ivfpq_codes_are_exact_when_the_codebooks_can_hold_the_data) {
    exact_codes(8, 4);
    exact_codes(10, 4); /* widths 3, 3, 2, 2 */
}

TEST(ivfpq_error_is_below_the_coarse_quantiser_and_falls_with_M) {
    size_t n = 4000, d = 16;
    float *x = clustered(n, d, 20, 1);
    double prev = INFINITY;
    /* the coarse quantiser alone: each row decoded as its centroid */
    sl_ivfpq *q = trained(x, n, d, SL_METRIC_L2, 20, 2);
    sl_ivfpq_info info;
    sl_ivfpq_get_info(q, &info);
    ASSERT_EQ_SIZE(info.size, n);
    ASSERT_EQ_SIZE(info.code_bytes, 2 + 8);
    sl_ivfpq_destroy(q);
    double var = 0; /* per-row noise energy is about d (unit noise) */
    for (size_t M = 1; M <= 16; M *= 2) {
        q = trained(x, n, d, SL_METRIC_L2, 20, M);
        double e = mean_sq_err(q, x, n, d);
        printf("M %2zu: mean squared error %.4f\n", M, e);
        ASSERT_TRUE(e < prev);
        if (M == 1) var = e;
        prev = e;
        sl_ivfpq_destroy(q);
    }
    ASSERT_TRUE(var < (double)d);   /* better than the centroid alone (about d) */
    ASSERT_TRUE(prev < 0.2 * var);  /* 16 sub-spaces of one dimension: 256 levels each */
    free(x);
}

/* The index's scores match decoding every code (the naive twin): the same
 * ids up to near-ties, scores within float rounding. */
static void against_twin(sl_metric m, bool direct) {
    size_t n = 3000, d = 24, nq = 60, k = 10;
    float *x = clustered(n, d, 12, 2), *qs = clustered(nq, d, 12, 3);
    sl_ivfpq *q = trained(x, n, d, m, 16, 6);
    if (direct) sl__ivfpq_drop_tables(q);
    sl_ivfpq_search_config c;
    sl_ivfpq_search_config_default(&c);
    c.k = k, c.nprobe = 4;
    int64_t *i1 = malloc(nq * k * sizeof *i1), *i2 = malloc(nq * k * sizeof *i2);
    float *s1 = malloc(nq * k * sizeof *s1), *s2 = malloc(nq * k * sizeof *s2);
    ASSERT_OK(sl_ivfpq_search(q, qs, nq, &c, i1, s1));
    ASSERT_OK(sl__ivfpq_search_ref(q, qs, nq, &c, i2, s2));
    size_t same = 0;
    for (size_t i = 0; i < nq * k; i++) {
        same += i1[i] == i2[i];
        ASSERT_CLOSE(s1[i], s2[i], 1e-4, 1e-4);
    }
    printf("%s%s: %zu of %zu ids as the twin's\n", sl_metric_name(m), direct ? " (direct tables)" : "", same, nq * k);
    ASSERT_TRUE(same >= nq * k * 98 / 100);
    free(x), free(qs), free(i1), free(i2), free(s1), free(s2);
    sl_ivfpq_destroy(q);
}

/* Short L2 lists are scanned without their table, with the same sums: the
 * same ids and scores to the bit whichever way every list is scanned. */
TEST(ivfpq_short_lists_score_to_the_bit_as_tables_do) {
    size_t n = 3000, d = 24, nq = 60, k = 10;
    float *x = clustered(n, d, 12, 2), *qs = clustered(nq, d, 12, 3);
    sl_ivfpq *q = trained(x, n, d, SL_METRIC_L2, 16, 6);
    sl_ivfpq_search_config c;
    sl_ivfpq_search_config_default(&c);
    c.k = k, c.nprobe = 6;
    int64_t *i1 = malloc(nq * k * sizeof *i1), *i2 = malloc(nq * k * sizeof *i2);
    float *s1 = malloc(nq * k * sizeof *s1), *s2 = malloc(nq * k * sizeof *s2);
    sl__ivfpq_set_short_list(q, 0);
    ASSERT_OK(sl_ivfpq_search(q, qs, nq, &c, i1, s1));
    sl__ivfpq_set_short_list(q, n);
    ASSERT_OK(sl_ivfpq_search(q, qs, nq, &c, i2, s2));
    ASSERT_TRUE(memcmp(i1, i2, nq * k * sizeof *i1) == 0);
    ASSERT_TRUE(memcmp(s1, s2, nq * k * sizeof *s1) == 0);
    free(x), free(qs), free(i1), free(i2), free(s1), free(s2);
    sl_ivfpq_destroy(q);
}

TEST(ivfpq_scores_match_the_naive_twin) {
    against_twin(SL_METRIC_L2, false);
    against_twin(SL_METRIC_L2, true);
    against_twin(SL_METRIC_IP, false);
    against_twin(SL_METRIC_COSINE, false);
}

/* Recall@10 against exact search, approximate and re-ranked. */
static void recall_for(sl_metric m) {
    size_t n = 6000, d = 32, nq = 200, k = 10;
    float *x = clustered(n, d, 40, 4), *qs = clustered(nq, d, 40, 5);
    sl_threads_set(2);
    sl_ivfpq *q = trained(x, n, d, m, 32, 16);
    int64_t *ids = malloc(nq * k * sizeof *ids), *gt = malloc(nq * k * sizeof *gt);
    float *sc = malloc(nq * k * sizeof *sc), *gs = malloc(nq * k * sizeof *gs);
    sl_flat_config fc = {.metric = m, .k = k};
    ASSERT_OK(sl_flat_search(x, n, d, qs, nq, d, &fc, gt, gs));
    sl_ivfpq_search_config c;
    sl_ivfpq_search_config_default(&c);
    c.k = k, c.nprobe = 8, c.base = x, c.base_rows = n;
    double r[2];
    for (int rr = 0; rr < 2; rr++) {
        c.rerank = rr ? 100 : 0;
        ASSERT_OK(sl_ivfpq_search(q, qs, nq, &c, ids, sc));
        size_t hit = 0;
        for (size_t i = 0; i < nq; i++)
            for (size_t a = 0; a < k; a++) {
                for (size_t b = 0; b < k; b++) hit += ids[i * k + a] == gt[i * k + b];
                if (a && m == SL_METRIC_L2) ASSERT_TRUE(sc[i * k + a] >= sc[i * k + a - 1]);
                if (a && m != SL_METRIC_L2) ASSERT_TRUE(sc[i * k + a] <= sc[i * k + a - 1]);
            }
        r[rr] = (double)hit / (double)(nq * k);
    }
    printf("%s: recall@10 %.4f, re-ranked from 100 %.4f\n", sl_metric_name(m), r[0], r[1]);
    ASSERT_TRUE(r[0] >= 0.6);
    ASSERT_TRUE(r[1] >= 0.95);
    free(x), free(qs), free(ids), free(gt), free(sc), free(gs);
    sl_ivfpq_destroy(q);
}

TEST(ivfpq_recall_l2) { recall_for(SL_METRIC_L2); }
TEST(ivfpq_recall_ip) { recall_for(SL_METRIC_IP); }
TEST(ivfpq_recall_cosine) { recall_for(SL_METRIC_COSINE); }

/* Every list probed and every vector re-ranked: exactly the exact search. */
TEST(ivfpq_full_probe_and_rerank_is_exact_search) {
    size_t n = 1500, d = 12, nq = 50, k = 7;
    float *x = clustered(n, d, 8, 6), *qs = clustered(nq, d, 8, 7);
    for (int m = 0; m < 3; m++) {
        sl_ivfpq *q = trained(x, n, d, (sl_metric)m, 8, 4);
        sl_ivfpq_search_config c;
        sl_ivfpq_search_config_default(&c);
        c.k = k, c.nprobe = 8, c.rerank = n, c.base = x, c.base_rows = n;
        int64_t i1[50 * 7], i2[50 * 7];
        float s1[50 * 7], s2[50 * 7];
        ASSERT_OK(sl_ivfpq_search(q, qs, nq, &c, i1, s1));
        sl_flat_config fc = {.metric = (sl_metric)m, .k = k};
        ASSERT_OK(sl_flat_search(x, n, d, qs, nq, d, &fc, i2, s2));
        ASSERT_TRUE(memcmp(i1, i2, sizeof i1) == 0);
        ASSERT_TRUE(memcmp(s1, s2, sizeof s1) == 0);
        sl_ivfpq_destroy(q);
    }
    free(x), free(qs);
}

/* Built and searched on 1 and 2 threads: the same file and the same results. */
TEST(ivfpq_same_index_and_results_for_every_thread_count) {
    size_t n = 3000, d = 20, nq = 100, k = 10;
    float *x = clustered(n, d, 10, 8), *qs = clustered(nq, d, 10, 9);
    int64_t ids[2][1000];
    float sc[2][1000];
    for (int t = 0; t < 2; t++) {
        sl_threads_set(t + 1);
        sl_ivfpq *q = trained(x, n, d, SL_METRIC_L2, 16, 5);
        ASSERT_OK(sl_ivfpq_save(q, t_path(t ? "t2.ivfpq" : "t1.ivfpq")));
        sl_ivfpq_search_config c;
        sl_ivfpq_search_config_default(&c);
        c.k = k;
        ASSERT_OK(sl_ivfpq_search(q, qs, nq, &c, ids[t], sc[t]));
        sl_ivfpq_destroy(q);
    }
    ASSERT_TRUE(memcmp(ids[0], ids[1], sizeof ids[0]) == 0);
    ASSERT_TRUE(memcmp(sc[0], sc[1], sizeof sc[0]) == 0);
    char cmd[1200], *out;
    snprintf(cmd, sizeof cmd, "cmp %s %s", t_path("t1.ivfpq"), t_path("t2.ivfpq"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    free(out), free(x), free(qs);
}

TEST(ivfpq_filters_keys_and_labels) {
    size_t n = 2000, d = 8, nq = 30, k = 5;
    float *x = clustered(n, d, 6, 10), *qs = clustered(nq, d, 6, 11);
    int64_t *keys = malloc(n * sizeof *keys), *labels = malloc(n * sizeof *labels);
    for (size_t i = 0; i < n; i++) keys[i] = 1000 + 3 * (int64_t)i, labels[i] = (int64_t)(i % 4);
    sl_ivfpq_config cfg;
    sl_ivfpq_config_default(&cfg);
    cfg.dim = d, cfg.nlist = 8, cfg.M = 4;
    sl_ivfpq *q;
    ASSERT_OK(sl_ivfpq_create(&cfg, &q));
    ASSERT_OK(sl_ivfpq_train(q, x, n, NULL));
    /* half with keys and labels, then half without labels (they get -1) */
    ASSERT_OK(sl_ivfpq_add(q, x, n / 2, keys, labels, NULL, NULL));
    ASSERT_OK(sl_ivfpq_add(q, x + n / 2 * d, n / 2, keys + n / 2, NULL, NULL, NULL));
    sl_ivfpq_info info;
    sl_ivfpq_get_info(q, &info);
    ASSERT_TRUE(info.labelled);
    ASSERT_EQ_SIZE(info.code_bytes, 4 + 16);
    int64_t ids[30 * 5];
    float sc[30 * 5];
    int64_t lab[2] = {-1, 2};
    sl_hnsw_filter f = {.allow_labels = lab, .n_allow_labels = 2};
    sl_ivfpq_search_config c;
    sl_ivfpq_search_config_default(&c);
    c.k = k, c.nprobe = 8, c.filter = &f;
    ASSERT_OK(sl_ivfpq_search(q, qs, nq, &c, ids, sc));
    for (size_t i = 0; i < nq * k; i++) {
        ASSERT_TRUE(ids[i] >= 1000 && (ids[i] - 1000) % 3 == 0);
        size_t row = (size_t)(ids[i] - 1000) / 3;
        ASSERT_TRUE(row >= n / 2 || labels[row] == 2);
    }
    /* an id filter of three keys: only those, then -1 padding */
    int64_t allow[3] = {keys[10], keys[1500], 5};
    sl_hnsw_filter g = {.allow_ids = allow, .n_allow_ids = 3};
    c.filter = &g;
    ASSERT_OK(sl_ivfpq_search(q, qs, nq, &c, ids, sc));
    for (size_t i = 0; i < nq; i++) {
        ASSERT_TRUE(ids[i * k] == keys[10] || ids[i * k] == keys[1500]);
        ASSERT_TRUE(ids[i * k + 1] == keys[10] || ids[i * k + 1] == keys[1500]);
        ASSERT_EQ_INT(ids[i * k + 2], -1);
        ASSERT_TRUE(isnan(sc[i * k + 4]));
    }
    /* reconstruct by key; an unknown key */
    float v[8];
    ASSERT_OK(sl_ivfpq_reconstruct(q, keys[7], v));
    ASSERT_FAILS(sl_ivfpq_reconstruct(q, 4, v), SL_ERR_NOTFOUND, "no vector has the id 4");
    /* re-ranking reads base row = id: these keys are not rows of x */
    c.filter = NULL, c.rerank = 20, c.base = x, c.base_rows = n;
    ASSERT_FAILS(sl_ivfpq_search(q, qs, nq, &c, ids, sc), SL_ERR_RANGE, "not a row of the re-ranking base");
    keys[3] = -2;
    ASSERT_FAILS(sl_ivfpq_add(q, x, 5, keys, NULL, NULL, NULL), SL_ERR_ARG, "row 3 has the id -2");
    free(x), free(qs), free(keys), free(labels);
    sl_ivfpq_destroy(q);
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

static sl_ivfpq *small_saved(const char *path) {
    size_t n = 600, d = 6;
    float *x = clustered(n, d, 4, 12);
    int64_t *labels = malloc(n * sizeof *labels);
    for (size_t i = 0; i < n; i++) labels[i] = (int64_t)(i % 3);
    sl_ivfpq_config c;
    sl_ivfpq_config_default(&c);
    c.dim = d, c.metric = SL_METRIC_COSINE, c.nlist = 4, c.M = 3;
    sl_ivfpq *q;
    ASSERT_OK(sl_ivfpq_create(&c, &q));
    ASSERT_OK(sl_ivfpq_train(q, x, n, NULL));
    ASSERT_OK(sl_ivfpq_add(q, x, n, NULL, labels, NULL, NULL));
    ASSERT_OK(sl_ivfpq_save(q, path));
    free(x), free(labels);
    return q;
}

TEST(ivfpq_save_load_round_trip) {
    sl_ivfpq *q = small_saved(t_path("i.ivfpq")), *g;
    ASSERT_STREQ(sl_index_kind(t_path("i.ivfpq")), "ivfpq");
    ASSERT_OK(sl_ivfpq_load(t_path("i.ivfpq"), &g));
    sl_ivfpq_info a, b;
    sl_ivfpq_get_info(q, &a);
    sl_ivfpq_get_info(g, &b);
    ASSERT_EQ_SIZE(a.size, b.size);
    ASSERT_EQ_SIZE(b.nlist, 4);
    ASSERT_EQ_SIZE(b.M, 3);
    ASSERT_EQ_INT(b.metric, SL_METRIC_COSINE);
    ASSERT_TRUE(b.labelled && b.trained);
    float *qs = clustered(20, 6, 4, 13);
    int64_t i1[100], i2[100], lab = 1;
    float s1[100], s2[100];
    sl_hnsw_filter f = {.allow_labels = &lab, .n_allow_labels = 1};
    sl_ivfpq_search_config c;
    sl_ivfpq_search_config_default(&c);
    c.k = 5, c.nprobe = 2, c.filter = &f;
    ASSERT_OK(sl_ivfpq_search(q, qs, 20, &c, i1, s1));
    ASSERT_OK(sl_ivfpq_search(g, qs, 20, &c, i2, s2));
    ASSERT_TRUE(memcmp(i1, i2, sizeof i1) == 0);
    ASSERT_TRUE(memcmp(s1, s2, sizeof s1) == 0);
    ASSERT_OK(sl_ivfpq_save(g, t_path("j.ivfpq")));
    char cmd[1200], *out;
    snprintf(cmd, sizeof cmd, "cmp %s %s", t_path("i.ivfpq"), t_path("j.ivfpq"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    free(out), free(qs);
    sl_ivfpq_destroy(q), sl_ivfpq_destroy(g);
}

/* Rewrite the trailing checksum after an edit. */
static void fix_sum(unsigned char *b, size_t n) {
    uint64_t sum = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n - 8; i++) sum = (sum ^ b[i]) * 0x100000001b3ULL;
    memcpy(b + n - 8, &sum, 8);
}

/* A file cut short and given a valid checksum, as a crafted file would be:
 * the checksum can sit inside the header the reader has already taken, and
 * the reader must then say the file is too short rather than read past it. */
TEST(ivfpq_load_rejects_short_files_with_valid_checksums) {
    sl_ivfpq *q = small_saved(t_path("i.ivfpq")), *g;
    size_t n;
    unsigned char *b = slurp(t_path("i.ivfpq"), &n), *c = malloc(n + 8);
    for (size_t cut = 0; cut < 160 && cut < n; cut++) {
        memcpy(c, b, cut);
        fix_sum(c, cut + 8);
        t_write_file(t_path("s.ivfpq"), c, cut + 8);
        sl_status s = sl_ivfpq_load(t_path("s.ivfpq"), &g);
        if (s == SL_OK) T_FAIL("%zu bytes and a checksum loaded", cut);
        ASSERT_EQ_INT(s, SL_ERR_FORMAT);
    }
    /* the 14 bytes of a crash the fuzzer found: magic, version, two bytes */
    memcpy(c, b, 14);
    fix_sum(c, 22);
    t_write_file(t_path("s.ivfpq"), c, 22);
    ASSERT_FAILS(sl_ivfpq_load(t_path("s.ivfpq"), &g), SL_ERR_FORMAT, "file too short (22 bytes)");
    free(b), free(c);
    sl_ivfpq_destroy(q);
}

TEST(ivfpq_load_rejects_truncated_and_corrupt_files) {
    sl_ivfpq *q = small_saved(t_path("i.ivfpq")), *g;
    size_t n;
    unsigned char *b = slurp(t_path("i.ivfpq"), &n);
    for (size_t cut = 0; cut < n; cut += cut < 200 ? 1 : 61) {
        t_write_file(t_path("t.ivfpq"), b, cut);
        sl_status s = sl_ivfpq_load(t_path("t.ivfpq"), &g);
        if (s == SL_OK) T_FAIL("a file cut at %zu of %zu bytes loaded", cut, n);
        ASSERT_EQ_INT(s, SL_ERR_FORMAT);
    }
    for (size_t pos = 12; pos < n; pos += 37) {
        b[pos] ^= 0x10;
        t_write_file(t_path("c.ivfpq"), b, n);
        ASSERT_FAILS(sl_ivfpq_load(t_path("c.ivfpq"), &g), SL_ERR_FORMAT, "checksum mismatch");
        b[pos] ^= 0x10;
    }
    b[8] = 7;
    t_write_file(t_path("c.ivfpq"), b, n);
    ASSERT_FAILS(sl_ivfpq_load(t_path("c.ivfpq"), &g), SL_ERR_FORMAT, "format version 7");
    b[8] = 1;
    /* header: magic 8, version 4, metric 4, then dim, nlist, M, nbits, iters, seed, size, next id, labelled */
    uint64_t save, huge = (uint64_t)1 << 40;
    struct {
        size_t at;
        uint64_t v;
        const char *msg;
    } bad[] = {{24, huge, "cannot fit"}, {32, 7, "M = 7"}, {40, 4, "nbits = 4"}, {64, huge, "cannot fit"},
               {80, 2, "labelled flag"}, {72, 599, "600 vectors but only 599 ever added"},
               {64, 599, "the lists hold 600 vectors"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memcpy(&save, b + bad[i].at, 8);
        memcpy(b + bad[i].at, &bad[i].v, 8);
        fix_sum(b, n);
        t_write_file(t_path("c.ivfpq"), b, n);
        ASSERT_FAILS(sl_ivfpq_load(t_path("c.ivfpq"), &g), SL_ERR_FORMAT, bad[i].msg);
        memcpy(b + bad[i].at, &save, 8);
    }
    /* a NaN centroid */
    float nanv = NAN;
    memcpy(b + 88, &nanv, 4);
    fix_sum(b, n);
    t_write_file(t_path("c.ivfpq"), b, n);
    ASSERT_FAILS(sl_ivfpq_load(t_path("c.ivfpq"), &g), SL_ERR_FORMAT, "NaN or infinite");
    ASSERT_FAILS(sl_ivfpq_load(t_path("missing.ivfpq"), &g), SL_ERR_IO, "cannot open");
    t_write_file(t_path("c.ivfpq"), b, 0);
    ASSERT_FAILS(sl_ivfpq_load(t_path("c.ivfpq"), &g), SL_ERR_FORMAT, "empty file");
    ASSERT_TRUE(sl_index_kind(t_path("c.ivfpq")) == NULL);
    free(b);
    sl_ivfpq_destroy(q);
}

TEST(ivfpq_bad_inputs_fail_clearly) {
    sl_ivfpq_config c;
    sl_ivfpq_config_default(&c);
    sl_ivfpq *q;
    ASSERT_FAILS(sl_ivfpq_create(&c, &q), SL_ERR_ARG, "dimension");
    c.dim = 4, c.M = 5;
    ASSERT_FAILS(sl_ivfpq_create(&c, &q), SL_ERR_ARG, "M = 5");
    c.M = 2, c.nbits = 4;
    ASSERT_FAILS(sl_ivfpq_create(&c, &q), SL_ERR_ARG, "nbits = 4");
    c.nbits = 8, c.nlist = 300;
    ASSERT_OK(sl_ivfpq_create(&c, &q));
    float x[400 * 4];
    for (size_t i = 0; i < 400 * 4; i++) x[i] = (float)((i * 37) % 101) / 10.0f;
    float qv[4] = {1, 2, 3, 4};
    int64_t ids[10];
    float sc[10];
    sl_ivfpq_search_config s;
    sl_ivfpq_search_config_default(&s);
    ASSERT_FAILS(sl_ivfpq_add(q, x, 400, NULL, NULL, NULL, NULL), SL_ERR_STATE, "not trained");
    ASSERT_FAILS(sl_ivfpq_search(q, qv, 1, &s, ids, sc), SL_ERR_STATE, "not trained");
    ASSERT_FAILS(sl_ivfpq_train(q, x, 200, NULL), SL_ERR_ARG, "at least nlist (300)");
    x[4 * 7 + 2] = NAN;
    ASSERT_FAILS(sl_ivfpq_train(q, x, 400, NULL), SL_ERR_NUMERIC, "row 7");
    x[4 * 7 + 2] = 1;
    volatile sig_atomic_t stop = 1;
    ASSERT_FAILS(sl_ivfpq_train(q, x, 400, &stop), SL_ERR_INTERRUPTED, "interrupted");
    ASSERT_OK(sl_ivfpq_train(q, x, 400, NULL)); /* untrained after the interruption */
    ASSERT_FAILS(sl_ivfpq_train(q, x, 400, NULL), SL_ERR_STATE, "already trained");
    ASSERT_FAILS(sl_ivfpq_search(q, qv, 1, &s, ids, sc), SL_ERR_STATE, "empty");
    ASSERT_FAILS(sl_ivfpq_add(q, x, 400, NULL, NULL, NULL, &stop), SL_ERR_INTERRUPTED, "interrupted");
    sl_ivfpq_info info;
    sl_ivfpq_get_info(q, &info);
    ASSERT_EQ_SIZE(info.size, 0);
    ASSERT_OK(sl_ivfpq_add(q, x, 400, NULL, NULL, NULL, NULL));
    s.k = 0;
    ASSERT_FAILS(sl_ivfpq_search(q, qv, 1, &s, ids, sc), SL_ERR_ARG, "k must be");
    s.k = 5, s.rerank = 3;
    ASSERT_FAILS(sl_ivfpq_search(q, qv, 1, &s, ids, sc), SL_ERR_ARG, "rerank = 3");
    s.rerank = 10;
    ASSERT_FAILS(sl_ivfpq_search(q, qv, 1, &s, ids, sc), SL_ERR_ARG, "original vectors");
    s.base = x, s.base_rows = 0;
    ASSERT_FAILS(sl_ivfpq_search(q, qv, 1, &s, ids, sc), SL_ERR_RANGE, "not a row");
    s.rerank = 0;
    qv[1] = INFINITY;
    ASSERT_FAILS(sl_ivfpq_search(q, qv, 1, &s, ids, sc), SL_ERR_NUMERIC, "queries");
    sl_ivfpq_destroy(q);
}

TEST(ivfpq_delete_removes_and_ids_are_not_reused) {
    size_t n = 800, d = 8;
    float *x = clustered(n, d, 5, 14);
    sl_ivfpq *q = trained(x, n, d, SL_METRIC_L2, 4, 4);
    int64_t del[3] = {5, 700, 5}, bad[2] = {6, 900};
    size_t removed;
    ASSERT_FAILS(sl_ivfpq_delete(q, bad, 2, &removed), SL_ERR_RANGE, "no vector has the id 900");
    ASSERT_OK(sl_ivfpq_delete(q, del, 3, &removed));
    ASSERT_EQ_SIZE(removed, 2);
    sl_ivfpq_info info;
    sl_ivfpq_get_info(q, &info);
    ASSERT_EQ_SIZE(info.size, n - 2);
    ASSERT_EQ_SIZE(info.next_id, n);
    float v[8];
    ASSERT_FAILS(sl_ivfpq_reconstruct(q, 5, v), SL_ERR_NOTFOUND, "id 5");
    /* the rows that were 5 and 700 are never returned, even searched for themselves */
    sl_ivfpq_search_config c;
    sl_ivfpq_search_config_default(&c);
    c.k = 3, c.nprobe = 4;
    int64_t ids[6];
    float sc[6];
    ASSERT_OK(sl_ivfpq_search(q, x + 5 * d, 1, &c, ids, sc));
    ASSERT_OK(sl_ivfpq_search(q, x + 700 * d, 1, &c, ids + 3, sc + 3));
    for (int i = 0; i < 6; i++) ASSERT_TRUE(ids[i] != 5 && ids[i] != 700 && ids[i] >= 0);
    /* new rows continue from 800; the file keeps the count */
    ASSERT_OK(sl_ivfpq_add(q, x, 2, NULL, NULL, NULL, NULL));
    ASSERT_OK(sl_ivfpq_reconstruct(q, 801, v));
    ASSERT_OK(sl_ivfpq_save(q, t_path("d.ivfpq")));
    sl_ivfpq *g;
    ASSERT_OK(sl_ivfpq_load(t_path("d.ivfpq"), &g));
    sl_ivfpq_get_info(g, &info);
    ASSERT_EQ_SIZE(info.size, n);
    ASSERT_EQ_SIZE(info.next_id, n + 2);
    sl_ivfpq_destroy(g), sl_ivfpq_destroy(q);
    free(x);
}

/* Tests of exact search: agreement with the naive twin for every metric,
 * self-search, ties ordered by id, small memory budgets, bad inputs. */
#include "test.h"

#include "index/index_internal.h"
#include "internal.h"
#include "testing.h"

static float *randmat(size_t n, size_t d, uint64_t seed) {
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    float *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n * d; i++) x[i] = (float)sl_rng_normal(&r);
    return x;
}

static void compare_with_ref(sl_metric m, bool self, size_t budget) {
    size_t n = 700, nq = self ? 700 : 130, d = 37, k = 10;
    float *b = randmat(n, d, 1), *q = self ? b : randmat(nq, d, 2);
    sl_flat_config cfg = {.metric = m, .k = k, .exclude_self = self, .max_block_bytes = budget};
    int64_t *ia = malloc(nq * k * sizeof *ia), *ib = malloc(nq * k * sizeof *ib);
    float *sa = malloc(nq * k * sizeof *sa), *sb = malloc(nq * k * sizeof *sb);
    ASSERT_OK(sl_flat_search(b, n, d, q, nq, d, &cfg, ia, sa));
    ASSERT_OK(sl__flat_search_ref(b, n, d, q, nq, d, &cfg, ib, sb));
    for (size_t i = 0; i < nq * k; i++) {
        ASSERT_EQ_INT(ia[i], ib[i]);
        ASSERT_CLOSE(sa[i], sb[i], 1e-5, 1e-5);
        if (self) ASSERT_NE_INT(ia[i], (int64_t)(i / k));
    }
    free(ia), free(ib), free(sa), free(sb), free(b);
    if (!self) free(q);
}

TEST(flat_l2_matches_ref) { compare_with_ref(SL_METRIC_L2, false, 0); }
TEST(flat_ip_matches_ref) { compare_with_ref(SL_METRIC_IP, false, 0); }
TEST(flat_cosine_matches_ref) { compare_with_ref(SL_METRIC_COSINE, false, 0); }
TEST(flat_self_search_excludes_query) { compare_with_ref(SL_METRIC_L2, true, 0); }
/* A budget far below one block forces many query and base blocks. */
TEST(flat_small_blocks_match_ref) { compare_with_ref(SL_METRIC_L2, false, 1); }
TEST(flat_cosine_self_small_blocks) { compare_with_ref(SL_METRIC_COSINE, true, 1); }

TEST(flat_results_do_not_depend_on_threads) {
    size_t n = 3000, nq = 200, d = 24, k = 7;
    float *b = randmat(n, d, 3), *q = randmat(nq, d, 4);
    sl_flat_config cfg = {.metric = SL_METRIC_L2, .k = k};
    int64_t ia[200 * 7], ib[200 * 7];
    float sa[200 * 7], sb[200 * 7];
    sl_threads_set(1);
    ASSERT_OK(sl_flat_search(b, n, d, q, nq, d, &cfg, ia, sa));
    sl_threads_set(2);
    ASSERT_OK(sl_flat_search(b, n, d, q, nq, d, &cfg, ib, sb));
    ASSERT_TRUE(memcmp(ia, ib, sizeof ia) == 0);
    ASSERT_TRUE(memcmp(sa, sb, sizeof sa) == 0);
    free(b), free(q);
}

TEST(flat_ties_are_ordered_by_id) {
    /* Every base row is the same vector: all distances tie. */
    size_t n = 50, d = 16, k = 5;
    float *b = malloc(n * d * sizeof *b), q[16];
    for (size_t i = 0; i < n * d; i++) b[i] = (float)(i % d) * 0.25f;
    for (size_t j = 0; j < d; j++) q[j] = 1.0f;
    for (int m = 0; m < 3; m++) {
        sl_flat_config cfg = {.metric = (sl_metric)m, .k = k};
        int64_t ids[5];
        float sc[5];
        ASSERT_OK(sl_flat_search(b, n, d, q, 1, d, &cfg, ids, sc));
        for (size_t t = 0; t < k; t++) ASSERT_EQ_INT(ids[t], (int64_t)t);
    }
    free(b);
}

TEST(flat_k_equal_to_n_returns_everything_sorted) {
    size_t n = 20, d = 5;
    float *b = randmat(n, d, 9);
    sl_flat_config cfg = {.metric = SL_METRIC_L2, .k = n};
    int64_t ids[20];
    float sc[20];
    ASSERT_OK(sl_flat_search(b, n, d, b, 1, d, &cfg, ids, sc));
    ASSERT_EQ_INT(ids[0], 0);
    ASSERT_NEAR(sc[0], 0.0, 1e-6);
    for (size_t t = 1; t < n; t++) ASSERT_TRUE(sc[t] >= sc[t - 1]);
    /* Everything: each base row once, with its own distance. */
    int seen[20] = {0};
    for (size_t t = 0; t < n; t++) {
        ASSERT_TRUE(ids[t] >= 0 && ids[t] < (int64_t)n);
        seen[ids[t]]++;
        double dd = 0;
        for (size_t j = 0; j < d; j++) dd += ((double)b[j] - b[ids[t] * d + j]) * ((double)b[j] - b[ids[t] * d + j]);
        ASSERT_NEAR(sc[t], dd, 1e-5 * (1 + dd));
    }
    for (size_t i = 0; i < n; i++) ASSERT_EQ_INT(seen[i], 1);
    free(b);
}

/* Every screen (float32, bf16, auto, and bf16 through the naive product,
 * which also runs where oneDNN does not) returns the naive twin's ids and
 * scores to the bit, for every metric, with and without self-exclusion and
 * with small blocks. */
static void screens_match_ref(const char *what, const float *b, size_t n, const float *q, size_t nq, size_t d,
                              size_t k) {
    int64_t *ia = malloc(nq * k * sizeof *ia), *ib = malloc(nq * k * sizeof *ib);
    float *sa = malloc(nq * k * sizeof *sa), *sb = malloc(nq * k * sizeof *sb);
    for (int m = 0; m < 3; m++)
        for (int self = 0; self < 2; self++)
            for (int sc = 0; sc < 4; sc++)
                for (size_t budget = 0; budget < 2; budget++) {
                    const float *qq = self ? b : q;
                    size_t nn = self ? SL__MIN(nq, n) : nq;
                    sl_flat_config cfg = {.metric = (sl_metric)m, .k = k, .exclude_self = self,
                                          .max_block_bytes = budget,
                                          .screen = sc == 3 ? SL_FLAT_SCREEN_BF16 : (sl_flat_screen)sc};
                    sl__bf16_use_ref(sc == 3);
                    sl_status st = sl_flat_search(b, n, d, qq, nn, d, &cfg, ia, sa);
                    sl__bf16_use_ref(false);
                    ASSERT_OK(st);
                    ASSERT_OK(sl__flat_search_ref(b, n, d, qq, nn, d, &cfg, ib, sb));
                    for (size_t t = 0; t < nn * k; t++)
                        if (ia[t] != ib[t] || memcmp(&sa[t], &sb[t], sizeof *sa))
                            T_FAIL("%s: %s, self %d, screen %s, budget %zu: query %zu, place %zu: id %lld score %.9g, "
                                   "the naive search's id %lld score %.9g",
                                   what, sl_metric_name((sl_metric)m), self,
                                   sc == 3 ? "bf16 (naive product)" : sl_flat_screen_name((sl_flat_screen)sc),
                                   budget, t / k, t % k, (long long)ia[t], sa[t], (long long)ib[t], sb[t]);
                    if (0)
                        T_FAIL("%s: %s, self %d, screen %s, budget %zu: differs from the naive search", what,
                             sl_metric_name((sl_metric)m), self, sl_flat_screen_name((sl_flat_screen)sc), budget);
                }
    free(ia), free(ib), free(sa), free(sb);
}

TEST(flat_screens_match_ref_on_gaussian_rows) {
    size_t n = 900, nq = 70, d = 48;
    float *b = randmat(n, d, 11), *q = randmat(nq, d, 12);
    screens_match_ref("gaussian", b, n, q, nq, d, 10);
    free(b), free(q);
}

/* Rows far from the origin and close to each other: the bf16 screen's error
 * bound is far wider than the gaps between the distances, so the lists
 * grow to most of the base, and the answer must still be exact. */
TEST(flat_screens_match_ref_when_bounds_are_loose) {
    size_t n = 600, nq = 40, d = 40;
    float *b = randmat(n, d, 13), *q = randmat(nq, d, 14);
    for (size_t i = 0; i < n * d; i++) b[i] = 100.0f + 1e-3f * b[i];
    for (size_t i = 0; i < nq * d; i++) q[i] = 100.0f + 1e-3f * q[i];
    screens_match_ref("offset", b, n, q, nq, d, 7);
    free(b), free(q);
}

/* Pixel-like rows (multiples of 1/255) copied from a few prototypes, so
 * many distances tie exactly and ties go by id; plus rows with tiny values
 * (bf16 flushes subnormals) and huge ones. */
TEST(flat_screens_match_ref_on_ties_and_extreme_scales) {
    size_t n = 500, nq = 30, d = 64;
    float *b = malloc(n * d * sizeof *b), *q = malloc(nq * d * sizeof *q);
    sl_rng r;
    sl_rng_seed(&r, 15, 0);
    float proto[8][64];
    for (int p = 0; p < 8; p++)
        for (size_t j = 0; j < d; j++) proto[p][j] = (float)sl_rng_below(&r, 256) / 255.0f;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            float v = proto[i % 8][j];
            if (i % 50 == 7) v *= 1e-39f;
            if (i % 50 == 9) v *= 1e15f;
            if (i % 50 == 11) v = 0;
            b[i * d + j] = v;
        }
    for (size_t i = 0; i < nq; i++)
        for (size_t j = 0; j < d; j++) q[i * d + j] = proto[(i * 3) % 8][j] + (i % 2 ? 0 : 1.0f / 255.0f);
    screens_match_ref("ties", b, n, q, nq, d, 12);
    free(b), free(q);
}

/* oneDNN's bf16 product against its naive twin: the same exact products,
 * float sums in another order, so within K u of the sum of |products|.
 * Where oneDNN cannot run (no AVX-512 BF16, or a sanitizer build) the
 * product says so. */
TEST(bf16_product_matches_naive_twin) {
    size_t M = 37, N = 301, K = 100;
    float *a = randmat(M, K, 21), *bm = randmat(N, K, 22), *c = malloc(M * N * sizeof *c), *r = malloc(M * N * sizeof *r);
    uint16_t *ab = malloc(M * K * sizeof *ab), *bb = malloc(N * K * sizeof *bb);
    sl__bf16_round(a, M * K, ab), sl__bf16_round(bm, N * K, bb);
    for (size_t i = 0; i < M * K; i++) ASSERT_TRUE(fabsf(sl__bf16_value(ab[i]) - a[i]) <= fabsf(a[i]) * 0x1p-8f);
    sl__gemm_bf16_nt_ref(M, N, K, ab, K, bb, K, r, N);
    if (!sl__bf16_available()) {
        ASSERT_FAILS(sl__gemm_bf16_nt(M, N, K, ab, K, bb, K, c, N), SL_ERR_STATE, "not available");
    } else {
        ASSERT_OK(sl__gemm_bf16_nt(M, N, K, ab, K, bb, K, c, N));
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) {
                double mag = 0;
                for (size_t t = 0; t < K; t++)
                    mag += fabs((double)sl__bf16_value(ab[i * K + t]) * sl__bf16_value(bb[j * K + t]));
                ASSERT_TRUE(fabs((double)c[i * N + j] - r[i * N + j]) <= 2.0 * (double)K * 0x1p-24 * mag);
            }
    }
    free(a), free(bm), free(c), free(r), free(ab), free(bb);
}

TEST(flat_screen_names_round_trip) {
    for (int s = 0; s < 3; s++) {
        sl_flat_screen back;
        ASSERT_OK(sl_flat_screen_parse(sl_flat_screen_name((sl_flat_screen)s), &back));
        ASSERT_EQ_INT(back, s);
    }
    sl_flat_screen x;
    ASSERT_FAILS(sl_flat_screen_parse("fp16", &x), SL_ERR_ARG, "unknown screen 'fp16' (expected auto, fp32 or bf16)");
    float b[6] = {0}, sc[1];
    int64_t id[1];
    sl_flat_config cfg = {.metric = SL_METRIC_L2, .k = 1, .screen = (sl_flat_screen)7};
    ASSERT_FAILS(sl_flat_search(b, 2, 3, b, 1, 3, &cfg, id, sc), SL_ERR_ARG, "unknown screen 7");
}

TEST(flat_bad_inputs_fail_clearly) {
    float b[4 * 3] = {0}, q[2 * 3] = {0};
    int64_t ids[8];
    float sc[8];
    sl_flat_config cfg = {.metric = SL_METRIC_L2, .k = 2};
    ASSERT_FAILS(sl_flat_search(b, 4, 3, q, 2, 2, &cfg, ids, sc), SL_ERR_ARG, "queries have 2 dimensions but the base has 3");
    ASSERT_FAILS(sl_flat_search(b, 0, 3, q, 2, 3, &cfg, ids, sc), SL_ERR_ARG, "base is empty");
    ASSERT_FAILS(sl_flat_search(b, 4, 3, q, 0, 3, &cfg, ids, sc), SL_ERR_ARG, "no queries");
    cfg.k = 5;
    ASSERT_FAILS(sl_flat_search(b, 4, 3, q, 2, 3, &cfg, ids, sc), SL_ERR_RANGE, "k = 5 but only 4");
    cfg.k = 4;
    cfg.exclude_self = true;
    ASSERT_FAILS(sl_flat_search(b, 4, 3, b, 4, 3, &cfg, ids, sc), SL_ERR_RANGE, "self excluded");
    cfg.exclude_self = false;
    cfg.k = 0;
    ASSERT_FAILS(sl_flat_search(b, 4, 3, q, 2, 3, &cfg, ids, sc), SL_ERR_ARG, "k must be at least 1");
    cfg.k = 1;
    b[7] = NAN;
    ASSERT_FAILS(sl_flat_search(b, 4, 3, q, 2, 3, &cfg, ids, sc), SL_ERR_NUMERIC, "row 2, column 1");
    b[7] = 0;
    q[5] = INFINITY;
    ASSERT_FAILS(sl_flat_search(b, 4, 3, q, 2, 3, &cfg, ids, sc), SL_ERR_NUMERIC, "queries: row 1");
}

TEST(l2_kernel_matches_ref) {
    sl_rng r;
    sl_rng_seed(&r, 5, 0);
    float a[200], b[200];
    for (int i = 0; i < 200; i++) a[i] = sl_rng_range(&r, -2, 2), b[i] = sl_rng_range(&r, -2, 2);
    for (size_t n = 0; n <= 200; n += 1) ASSERT_CLOSE(sl__l2sq(a, b, n), sl__l2sq_ref(a, b, n), 1e-5, 1e-6);
}

TEST(metric_names_round_trip) {
    for (int m = 0; m < 3; m++) {
        sl_metric x;
        ASSERT_OK(sl_metric_parse(sl_metric_name((sl_metric)m), &x));
        ASSERT_EQ_INT(x, m);
    }
    sl_metric x;
    ASSERT_FAILS(sl_metric_parse("manhattan", &x), SL_ERR_ARG, "expected l2, ip or cosine");
}

/* The sharded search in a run of one process is the exact search over the
 * whole base (two ranks and more: tests/test_dist.sh); its arguments are
 * checked against the whole base. */
TEST(sharded_search_alone_is_exact_search) {
    enum { N = 300, D = 9, Q = 40, K = 6 };
    float *b = malloc(N * D * sizeof *b);
    sl_rng r;
    sl_rng_seed(&r, 5, 0);
    for (size_t i = 0; i < N * D; i++) b[i] = (float)sl_rng_normal(&r);
    int64_t i1[Q * K], i2[Q * K];
    float s1[Q * K], s2[Q * K];
    for (int m = 0; m < 3; m++)
        for (int self = 0; self < 2; self++) {
            sl_flat_config c;
            sl_flat_config_default(&c);
            c.metric = (sl_metric)m, c.k = K, c.exclude_self = self, c.query_offset = self ? 17 : 0;
            const float *q = self ? b + 17 * D : b;
            ASSERT_OK(sl_flat_search(b, N, D, q, Q, D, &c, i1, s1));
            ASSERT_OK(sl_flat_search_dist(b, N, 0, N, D, q, Q, D, &c, i2, s2));
            ASSERT_TRUE(memcmp(i1, i2, sizeof i1) == 0 && memcmp(s1, s2, sizeof s1) == 0);
        }
    sl_flat_config c;
    sl_flat_config_default(&c);
    c.k = 3;
    ASSERT_FAILS(sl_flat_search_dist(b, N, 10, N, D, b, Q, D, &c, i2, s2), SL_ERR_ARG, "rows 10..310 of a base of 300");
    c.k = N + 1;
    ASSERT_FAILS(sl_flat_search_dist(b, N, 0, N, D, b, Q, D, &c, i2, s2), SL_ERR_RANGE, "only 300 base vectors");
    b[5] = NAN;
    c.k = 3;
    ASSERT_FAILS(sl_flat_search_dist(b, N, 0, N, D, b + D, Q, D, &c, i2, s2), SL_ERR_NUMERIC, "row 0");
    free(b);
}

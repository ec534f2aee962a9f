/* Tests of the flat (exact) index: results against the naive exact search
 * over the vectors a filter allows (ids in every metric, with chosen ids and
 * labels), padding, threads, add and delete rules, save/load round trips and
 * corrupt or crafted files, bad input. */
#include "test.h"

#include "index/index_internal.h"
#include "testing.h"

static float *gaussian(size_t n, size_t d, uint64_t seed) {
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    float *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n * d; i++) x[i] = (float)sl_rng_normal(&r);
    return x;
}

/* n rows with ids 5 n - 5 i (descending, so the index must sort them) and
 * labels i mod 3, under metric m. */
static sl_flat_index *filled(const float *x, size_t n, size_t d, sl_metric m) {
    sl_flat_index *f;
    ASSERT_OK(sl_flat_index_create(d, m, &f));
    int64_t *ids = malloc(n * sizeof *ids), *lab = malloc(n * sizeof *lab);
    for (size_t i = 0; i < n; i++) ids[i] = (int64_t)(5 * (n - i)), lab[i] = (int64_t)(i % 3);
    ASSERT_OK(sl_flat_index_add(f, x, n, ids, lab));
    free(ids), free(lab);
    return f;
}

/* The naive twin: the rows of x (ids as in filled) the filter allows, put in
 * id order, searched by sl__flat_search_ref, rows mapped back to ids and
 * padded to k. */
static void naive(const float *x, size_t n, size_t d, sl_metric m, const float *q, size_t nq, size_t k,
                  const int64_t *allow, size_t na, int64_t lab, int64_t *ids, float *sc) {
    float *sub = malloc(n * d * sizeof *sub);
    int64_t *sid = malloc(n * sizeof *sid);
    size_t c = 0;
    for (size_t r = n; r-- > 0;) { /* ids 5 n - 5 r rise as r falls */
        int64_t id = (int64_t)(5 * (n - r));
        bool ok = lab < 0 || (int64_t)(r % 3) == lab;
        if (allow) {
            bool in = false;
            for (size_t j = 0; j < na; j++) in |= allow[j] == id;
            ok &= in;
        }
        if (!ok) continue;
        memcpy(sub + c * d, x + r * d, d * sizeof *sub);
        sid[c++] = id;
    }
    size_t kk = k < c ? k : c;
    int64_t *ri = malloc((nq * kk + 1) * sizeof *ri);
    float *rs = malloc((nq * kk + 1) * sizeof *rs);
    sl_flat_config cfg;
    sl_flat_config_default(&cfg);
    cfg.metric = m, cfg.k = kk;
    if (kk) ASSERT_OK(sl__flat_search_ref(sub, c, d, q, nq, d, &cfg, ri, rs));
    for (size_t i = 0; i < nq; i++)
        for (size_t t = 0; t < k; t++) {
            ids[i * k + t] = t < kk ? sid[ri[i * kk + t]] : -1;
            sc[i * k + t] = t < kk ? rs[i * kk + t] : NAN;
        }
    free(sub), free(sid), free(ri), free(rs);
}

static void same_results(const int64_t *a, const float *as, const int64_t *b, const float *bs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) T_FAIL("result %zu: id %lld, naive %lld", i, (long long)a[i], (long long)b[i]);
        if (memcmp(&as[i], &bs[i], sizeof *as) != 0 && !(isnan(as[i]) && isnan(bs[i])))
            T_FAIL("result %zu: score %.9g, naive %.9g", i, as[i], bs[i]);
    }
}

static void matches_naive(sl_metric m) {
    const size_t n = 300, d = 12, nq = 25, k = 7;
    float *x = gaussian(n, d, 1), *q = gaussian(nq, d, 2);
    /* exact ties: row 7 repeated as row 8 (ids 1465 and 1460), and query 0 is row 7 */
    memcpy(x + 8 * d, x + 7 * d, d * sizeof *x);
    memcpy(q, x + 7 * d, d * sizeof *q);
    sl_flat_index *f = filled(x, n, d, m);
    int64_t ids[nq * k], want[nq * k], allow[] = {5, 1460, 1465, 700, 35, 99999, 1500};
    float sc[nq * k], wsc[nq * k];
    struct {
        const int64_t *allow;
        size_t na;
        int64_t lab;
    } cases[] = {{NULL, 0, -1}, {allow, 7, -1}, {NULL, 0, 2}, {allow, 7, 1}};
    for (size_t c = 0; c < 4; c++) {
        sl_hnsw_filter flt = {.allow_ids = cases[c].allow, .n_allow_ids = cases[c].na,
                              .allow_labels = cases[c].lab >= 0 ? &cases[c].lab : NULL, .n_allow_labels = 1};
        ASSERT_OK(sl_flat_index_search(f, q, nq, k, &flt, ids, sc));
        naive(x, n, d, m, q, nq, k, cases[c].allow, cases[c].na, cases[c].lab, want, wsc);
        same_results(ids, sc, want, wsc, nq * k);
    }
    /* the tie: both copies, the smaller id first (the query is its own
     * nearest for L2 and cosine; for IP somewhere in the order) */
    ASSERT_OK(sl_flat_index_search(f, q, 1, k, NULL, ids, sc));
    size_t at = 0;
    while (at + 1 < k && ids[at] != 1460) at++;
    ASSERT_EQ_INT(ids[at], 1460);
    ASSERT_EQ_INT(ids[at + 1], 1465);
    if (m != SL_METRIC_IP) ASSERT_EQ_SIZE(at, 0);
    free(x), free(q);
    sl_flat_index_destroy(f);
}

TEST(flat_index_matches_the_naive_search_l2) { matches_naive(SL_METRIC_L2); }
TEST(flat_index_matches_the_naive_search_ip) { matches_naive(SL_METRIC_IP); }
TEST(flat_index_matches_the_naive_search_cosine) { matches_naive(SL_METRIC_COSINE); }

TEST(flat_index_pads_when_fewer_vectors_are_allowed) {
    const size_t n = 40, d = 5;
    float *x = gaussian(n, d, 3);
    sl_flat_index *f = filled(x, n, d, SL_METRIC_L2);
    int64_t allow[] = {10, 20, 12345}, ids[2 * 4];
    float sc[2 * 4];
    sl_hnsw_filter flt = {.allow_ids = allow, .n_allow_ids = 3};
    ASSERT_OK(sl_flat_index_search(f, x, 2, 4, &flt, ids, sc));
    for (size_t i = 0; i < 2; i++) {
        ASSERT_TRUE((ids[i * 4] == 10 && ids[i * 4 + 1] == 20) || (ids[i * 4] == 20 && ids[i * 4 + 1] == 10));
        ASSERT_EQ_INT(ids[i * 4 + 2], -1);
        ASSERT_EQ_INT(ids[i * 4 + 3], -1);
        ASSERT_TRUE(isnan(sc[i * 4 + 2]) && isnan(sc[i * 4 + 3]));
    }
    /* nothing allowed: every place padded */
    int64_t none = 777;
    flt = (sl_hnsw_filter){.allow_ids = &none, .n_allow_ids = 1};
    ASSERT_OK(sl_flat_index_search(f, x, 2, 4, &flt, ids, sc));
    for (size_t i = 0; i < 8; i++) ASSERT_EQ_INT(ids[i], -1);
    /* k above the size: the whole index, then padding */
    int64_t all[45];
    float asc[45];
    ASSERT_OK(sl_flat_index_search(f, x, 1, 45, NULL, all, asc));
    ASSERT_EQ_INT(all[0], 200); /* row 0 has id 5 n */
    ASSERT_EQ_INT(all[39] >= 5, 1);
    ASSERT_EQ_INT(all[40], -1);
    free(x);
    sl_flat_index_destroy(f);
}

TEST(flat_index_same_results_for_every_thread_count) {
    const size_t n = 2000, d = 40, nq = 50, k = 10;
    float *x = gaussian(n, d, 4), *q = gaussian(nq, d, 5);
    sl_flat_index *f = filled(x, n, d, SL_METRIC_COSINE);
    int64_t ids[3][nq * k];
    float sc[3][nq * k];
    for (int t = 1; t <= 3; t++) {
        sl_threads_set(t);
        ASSERT_OK(sl_flat_index_search(f, q, nq, k, NULL, ids[t - 1], sc[t - 1]));
    }
    sl_threads_set(0);
    ASSERT_TRUE(memcmp(ids[0], ids[1], sizeof ids[0]) == 0 && memcmp(ids[0], ids[2], sizeof ids[0]) == 0);
    ASSERT_TRUE(memcmp(sc[0], sc[1], sizeof sc[0]) == 0 && memcmp(sc[0], sc[2], sizeof sc[0]) == 0);
    free(x), free(q);
    sl_flat_index_destroy(f);
}

TEST(flat_index_add_and_delete_rules) {
    const size_t d = 4;
    float *x = gaussian(10, d, 6), v[4];
    sl_flat_index *f;
    ASSERT_OK(sl_flat_index_create(d, SL_METRIC_L2, &f));
    ASSERT_OK(sl_flat_index_add(f, x, 3, NULL, NULL)); /* ids 0, 1, 2 */
    int64_t k1[] = {10, 4};
    ASSERT_OK(sl_flat_index_add(f, x + 3 * d, 2, k1, NULL));
    ASSERT_OK(sl_flat_index_get_vector(f, 4, v));
    ASSERT_TRUE(memcmp(v, x + 4 * d, sizeof v) == 0);
    ASSERT_OK(sl_flat_index_get_vector(f, 10, v));
    ASSERT_TRUE(memcmp(v, x + 3 * d, sizeof v) == 0);
    ASSERT_FAILS(sl_flat_index_get_vector(f, 3, v), SL_ERR_NOTFOUND, "no vector has the id 3");
    /* the next default ids are 5 and 6; 10 is held */
    int64_t k2[] = {7, 10}, k3[] = {8, 8}, k4[] = {-2, 9};
    ASSERT_FAILS(sl_flat_index_add(f, x, 2, k2, NULL), SL_ERR_ARG, "row 1: the index already holds the id 10");
    ASSERT_FAILS(sl_flat_index_add(f, x, 2, k3, NULL), SL_ERR_ARG, "rows 0 and 1 have the same id 8");
    ASSERT_FAILS(sl_flat_index_add(f, x, 2, k4, NULL), SL_ERR_ARG, "row 0: negative id -2");
    ASSERT_FAILS(sl_flat_index_add(f, x, 0, NULL, NULL), SL_ERR_ARG, "no rows");
    x[d + 2] = NAN;
    ASSERT_FAILS(sl_flat_index_add(f, x, 2, NULL, NULL), SL_ERR_NUMERIC, "row 1");
    x[d + 2] = 0;
    sl_flat_index_info i;
    sl_flat_index_get_info(f, &i);
    ASSERT_EQ_SIZE(i.size, 5);
    ASSERT_EQ_SIZE(i.next_id, 5);
    ASSERT_TRUE(!i.labelled);
    ASSERT_EQ_SIZE(i.vector_bytes, 4 * d + 8);
    /* labels given later: the earlier vectors get -1 */
    int64_t lab[] = {3};
    ASSERT_OK(sl_flat_index_add(f, x + 5 * d, 1, NULL, lab)); /* id 5 */
    sl_flat_index_get_info(f, &i);
    ASSERT_TRUE(i.labelled);
    int64_t ids[6], minus = -1;
    float sc[6];
    sl_hnsw_filter flt = {.allow_labels = &minus, .n_allow_labels = 1};
    ASSERT_OK(sl_flat_index_search(f, x, 1, 6, &flt, ids, sc));
    ASSERT_EQ_INT(ids[0], 0);
    ASSERT_EQ_INT(ids[5], -1); /* id 5 has label 3 */
    /* delete: all checked first */
    int64_t gone[] = {4, 77};
    size_t removed = 99;
    ASSERT_FAILS(sl_flat_index_delete(f, gone, 2, &removed), SL_ERR_RANGE, "no vector has the id 77");
    ASSERT_EQ_SIZE(removed, 0);
    int64_t gone2[] = {4, 0, 4};
    ASSERT_OK(sl_flat_index_delete(f, gone2, 3, &removed));
    ASSERT_EQ_SIZE(removed, 2);
    sl_flat_index_get_info(f, &i);
    ASSERT_EQ_SIZE(i.size, 4);
    ASSERT_OK(sl_flat_index_search(f, x, 1, 4, NULL, ids, sc));
    for (size_t t = 0; t < 4; t++) ASSERT_TRUE(ids[t] != 0 && ids[t] != 4);
    /* a deleted id may be given again */
    ASSERT_OK(sl_flat_index_add(f, x, 1, gone2, NULL));
    ASSERT_FAILS(sl_flat_index_search(f, x, 1, 0, NULL, ids, sc), SL_ERR_ARG, "k = 0");
    x[1] = INFINITY;
    ASSERT_FAILS(sl_flat_index_search(f, x, 1, 1, NULL, ids, sc), SL_ERR_NUMERIC, "queries");
    sl_flat_index *g;
    ASSERT_FAILS(sl_flat_index_create(0, SL_METRIC_L2, &g), SL_ERR_ARG, "dimension 0");
    free(x);
    sl_flat_index_destroy(f);
}

static sl_flat_index *small_saved(const char *path) {
    float *x = gaussian(30, 6, 7);
    sl_flat_index *f = filled(x, 30, 6, SL_METRIC_COSINE);
    int64_t del = 50;
    ASSERT_OK(sl_flat_index_delete(f, &del, 1, NULL));
    ASSERT_OK(sl_flat_index_save(f, path));
    free(x);
    return f;
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    ASSERT_TRUE(fp != NULL);
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    ASSERT_EQ_SIZE(fread(b, 1, *n, fp), *n);
    fclose(fp);
    return b;
}

TEST(flat_index_save_load_round_trip) {
    sl_flat_index *f = small_saved(t_path("i.flat")), *g;
    ASSERT_STREQ(sl_index_kind(t_path("i.flat")), "flat");
    ASSERT_OK(sl_flat_index_load(t_path("i.flat"), &g));
    sl_flat_index_info a, b;
    sl_flat_index_get_info(f, &a);
    sl_flat_index_get_info(g, &b);
    ASSERT_EQ_SIZE(b.size, 29);
    ASSERT_EQ_SIZE(b.next_id, 30);
    ASSERT_EQ_INT(b.metric, SL_METRIC_COSINE);
    ASSERT_TRUE(b.labelled);
    float *q = gaussian(5, 6, 8);
    int64_t i1[5 * 29], i2[5 * 29];
    float s1[5 * 29], s2[5 * 29];
    ASSERT_OK(sl_flat_index_search(f, q, 5, 29, NULL, i1, s1));
    ASSERT_OK(sl_flat_index_search(g, q, 5, 29, NULL, i2, s2));
    ASSERT_TRUE(memcmp(i1, i2, sizeof i1) == 0 && memcmp(s1, s2, sizeof s1) == 0);
    ASSERT_OK(sl_flat_index_save(g, t_path("j.flat")));
    char cmd[1200], *out;
    snprintf(cmd, sizeof cmd, "cmp %s %s", t_path("i.flat"), t_path("j.flat"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    free(out), free(q);
    /* an empty index saves and loads too */
    sl_flat_index *e, *e2;
    ASSERT_OK(sl_flat_index_create(3, SL_METRIC_IP, &e));
    ASSERT_OK(sl_flat_index_save(e, t_path("e.flat")));
    ASSERT_OK(sl_flat_index_load(t_path("e.flat"), &e2));
    int64_t id;
    float s, one[3] = {1, 2, 3};
    ASSERT_OK(sl_flat_index_search(e2, one, 1, 1, NULL, &id, &s));
    ASSERT_EQ_INT(id, -1);
    sl_flat_index_destroy(e), sl_flat_index_destroy(e2);
    sl_flat_index_destroy(f), sl_flat_index_destroy(g);
}

/* Rewrite the trailing checksum after an edit. */
static void fix_sum(unsigned char *b, size_t n) {
    uint64_t sum = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n - 8; i++) sum = (sum ^ b[i]) * 0x100000001b3ULL;
    memcpy(b + n - 8, &sum, 8);
}

TEST(flat_index_load_rejects_truncated_corrupt_and_crafted_files) {
    sl_flat_index *f = small_saved(t_path("i.flat")), *g;
    size_t n;
    unsigned char *b = slurp(t_path("i.flat"), &n), *c = malloc(n + 8);
    ASSERT_EQ_SIZE(n, 8 + 8 + 32 + 29 * (24 + 16) + 8);
    for (size_t cut = 0; cut < n; cut += cut < 120 ? 1 : 53) {
        t_write_file(t_path("t.flat"), b, cut);
        sl_status s = sl_flat_index_load(t_path("t.flat"), &g);
        if (s == SL_OK) T_FAIL("a file cut at %zu of %zu bytes loaded", cut, n);
        ASSERT_EQ_INT(s, SL_ERR_FORMAT);
        /* the same cut with a valid checksum, as a crafted file would have */
        memcpy(c, b, cut);
        fix_sum(c, cut + 8);
        t_write_file(t_path("s.flat"), c, cut + 8);
        s = sl_flat_index_load(t_path("s.flat"), &g);
        if (s == SL_OK) T_FAIL("%zu bytes and a checksum loaded", cut);
        ASSERT_EQ_INT(s, SL_ERR_FORMAT);
    }
    for (size_t pos = 12; pos < n - 8; pos += 41) {
        b[pos] ^= 0x10;
        t_write_file(t_path("c.flat"), b, n);
        ASSERT_FAILS(sl_flat_index_load(t_path("c.flat"), &g), SL_ERR_FORMAT, "checksum mismatch");
        b[pos] ^= 0x10;
    }
    b[0] = 'X';
    t_write_file(t_path("c.flat"), b, n);
    ASSERT_FAILS(sl_flat_index_load(t_path("c.flat"), &g), SL_ERR_FORMAT, "not a simlearn flat index");
    b[0] = 'S';
    b[8] = 9;
    t_write_file(t_path("c.flat"), b, n);
    ASSERT_FAILS(sl_flat_index_load(t_path("c.flat"), &g), SL_ERR_FORMAT, "format version 9");
    b[8] = 1;
    /* header: magic 8, version 4, metric 4, then dim, size, next id, labelled */
    uint64_t save, huge = (uint64_t)1 << 40;
    uint32_t m5 = 5, msave;
    struct {
        size_t at;
        uint64_t v;
        const char *msg;
    } bad[] = {{16, 0, "dimension 0"},         {16, huge, "dimension 1099511627776 out of range"},
               {16, 7, "do not match"},        {24, 28, "do not match"},
               {24, huge, "do not match"},     {32, 28, "29 vectors but only 28 ever added"},
               {40, 2, "labelled flag 2"},     {40, 0, "do not match"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memcpy(&save, b + bad[i].at, 8);
        memcpy(b + bad[i].at, &bad[i].v, 8);
        fix_sum(b, n);
        t_write_file(t_path("c.flat"), b, n);
        ASSERT_FAILS(sl_flat_index_load(t_path("c.flat"), &g), SL_ERR_FORMAT, bad[i].msg);
        memcpy(b + bad[i].at, &save, 8);
    }
    memcpy(&msave, b + 12, 4);
    memcpy(b + 12, &m5, 4);
    fix_sum(b, n);
    t_write_file(t_path("c.flat"), b, n);
    ASSERT_FAILS(sl_flat_index_load(t_path("c.flat"), &g), SL_ERR_FORMAT, "unknown metric code 5");
    memcpy(b + 12, &msave, 4);
    /* a NaN value; then ids out of order, then a negative id */
    size_t vec0 = 48, id0 = 48 + 29 * 24;
    float nanv = NAN, fsave;
    memcpy(&fsave, b + vec0 + 4, 4);
    memcpy(b + vec0 + 4, &nanv, 4);
    fix_sum(b, n);
    t_write_file(t_path("c.flat"), b, n);
    ASSERT_FAILS(sl_flat_index_load(t_path("c.flat"), &g), SL_ERR_FORMAT, "vector 0 holds a NaN");
    memcpy(b + vec0 + 4, &fsave, 4);
    int64_t i0, i1, neg = -3;
    memcpy(&i0, b + id0, 8), memcpy(&i1, b + id0 + 8, 8);
    memcpy(b + id0, &i1, 8), memcpy(b + id0 + 8, &i0, 8);
    fix_sum(b, n);
    t_write_file(t_path("c.flat"), b, n);
    ASSERT_FAILS(sl_flat_index_load(t_path("c.flat"), &g), SL_ERR_FORMAT, "not above the one before");
    memcpy(b + id0, &neg, 8), memcpy(b + id0 + 8, &i1, 8);
    fix_sum(b, n);
    t_write_file(t_path("c.flat"), b, n);
    ASSERT_FAILS(sl_flat_index_load(t_path("c.flat"), &g), SL_ERR_FORMAT, "vector 0: id -3 is negative");
    ASSERT_FAILS(sl_flat_index_load(t_path("missing.flat"), &g), SL_ERR_IO, "cannot open");
    t_write_file(t_path("c.flat"), b, 0);
    ASSERT_FAILS(sl_flat_index_load(t_path("c.flat"), &g), SL_ERR_FORMAT, "empty file");
    free(b), free(c);
    sl_flat_index_destroy(f);
}

/* Tests of sharded HNSW (one process): the merge of per-shard lists, search
 * over shards against the shards searched one by one and against one index,
 * the one-process build, and the manifest: round trip and every kind of bad
 * input (truncated, wrong magic or version, edited, a missing shard, a shard
 * replaced, of another dimension or metric). The runs of several ranks are
 * in tests/test_dist.sh. */
#include "test.h"

#include "index/index_internal.h"

#include <unistd.h>

static float *gauss(size_t n, size_t d, uint64_t seed) {
    sl_rng r;
    sl_rng_seed(&r, seed, 1);
    float *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n * d; i++) x[i] = (float)sl_rng_normal(&r);
    return x;
}

/* Shard i of parts over rows of x (sl_dist_share), ids = global row numbers,
 * saved as t_path("<name>.<i>"); then the manifest t_path(name). */
static void make_sharded(const char *name, const float *x, size_t n, size_t d, size_t parts, sl_metric m,
                         uint64_t seed) {
    char files[8][64];
    const char *names[8];
    for (size_t p = 0; p < parts; p++) {
        size_t first, cnt;
        sl_dist_share(n, p, parts, &first, &cnt);
        sl_hnsw_config cfg = {.dim = d, .metric = m, .M = 8, .ef_construction = 60, .seed = seed};
        sl_hnsw *h;
        ASSERT_OK(sl_hnsw_create(&cfg, &h));
        int64_t *keys = malloc((cnt ? cnt : 1) * sizeof *keys);
        for (size_t i = 0; i < cnt; i++) keys[i] = (int64_t)(first + i);
        ASSERT_OK(sl_hnsw_add_keys(h, x + first * d, cnt, keys, NULL, NULL, NULL));
        snprintf(files[p], sizeof files[p], "%s.%zu", name, p);
        names[p] = files[p];
        ASSERT_OK(sl_hnsw_save(h, t_path(files[p])));
        sl_hnsw_destroy(h);
        free(keys);
    }
    ASSERT_OK(sl_shards_write(t_path(name), names, parts));
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ASSERT_TRUE(f != NULL);
    char *b = malloc(1 << 20);
    *len = fread(b, 1, 1 << 20, f);
    fclose(f);
    b[*len] = 0;
    return b;
}

static void spit(const char *path, const char *b, size_t len) {
    FILE *f = fopen(path, "wb");
    ASSERT_TRUE(f != NULL);
    ASSERT_EQ_SIZE(fwrite(b, 1, len, f), len);
    fclose(f);
}

/* Replace the first `from` in the manifest by `to` and write a correct
 * checksum line, so that only the field itself is wrong. */
static void edit_manifest(const char *path, const char *from, const char *to) {
    size_t len;
    char *t = slurp(path, &len), out[8192];
    char *at = strstr(t, from), *ck = strstr(t, "checksum ");
    ASSERT_TRUE(at && ck && at < ck);
    *ck = 0;
    int p = snprintf(out, sizeof out, "%.*s%s%s", (int)(at - t), t, to, at + strlen(from));
    p += snprintf(out + p, sizeof out - (size_t)p, "checksum %016llx\n",
                  (unsigned long long)sl__fnv1a(SL__FNV1A_INIT, out, (size_t)p));
    spit(path, out, (size_t)p);
    free(t);
}

TEST(shards_merge_orders_by_score_then_id) {
    /* 2 parts x 2 queries x k 3; part 1 pads query 1 with -1. */
    const int64_t ids[] = {4, 9, 2, 7, 1, 3, /* part 0 */ 8, 5, 6, 0, -1, -1};
    const float sc[] = {0.5f, 1.0f, 2.0f, 0.1f, 0.2f, 0.9f, /* part 1 */ 0.5f, 1.0f, 3.0f, 0.2f, NAN, NAN};
    int64_t oi[6];
    float os[6];
    ASSERT_OK(sl_shards_merge(ids, sc, 2, 2, 3, SL_METRIC_L2, oi, os));
    const int64_t want_l2[] = {4, 8, 5, 7, 0, 1}; /* 0.5 tie: 4 before 8; 1.0 tie: 5 before 9; 0.2 tie: 0 before 1 */
    for (int i = 0; i < 6; i++) ASSERT_EQ_INT(oi[i], want_l2[i]);
    ASSERT_TRUE(os[0] == 0.5f && os[2] == 1.0f && os[5] == 0.2f);
    ASSERT_OK(sl_shards_merge(ids, sc, 2, 2, 3, SL_METRIC_IP, oi, os)); /* larger is better */
    const int64_t want_ip[] = {6, 2, 5, 3, 0, 1};
    for (int i = 0; i < 6; i++) ASSERT_EQ_INT(oi[i], want_ip[i]);
    /* The parts' order does not matter. */
    const int64_t sw_ids[] = {8, 5, 6, 0, -1, -1, 4, 9, 2, 7, 1, 3};
    const float sw_sc[] = {0.5f, 1.0f, 3.0f, 0.2f, NAN, NAN, 0.5f, 1.0f, 2.0f, 0.1f, 0.2f, 0.9f};
    int64_t si[6];
    float ss[6];
    ASSERT_OK(sl_shards_merge(sw_ids, sw_sc, 2, 2, 3, SL_METRIC_L2, si, ss));
    ASSERT_OK(sl_shards_merge(ids, sc, 2, 2, 3, SL_METRIC_L2, oi, os));
    ASSERT_TRUE(memcmp(si, oi, sizeof si) == 0 && memcmp(ss, os, sizeof ss) == 0);
    /* Fewer than k in all: padded. */
    const int64_t few[] = {3, -1, -1, -1};
    const float fs[] = {1.0f, NAN, NAN, NAN};
    ASSERT_OK(sl_shards_merge(few, fs, 2, 1, 2, SL_METRIC_L2, oi, os));
    ASSERT_TRUE(oi[0] == 3 && oi[1] == -1 && isnan(os[1]));
    ASSERT_FAILS(sl_shards_merge(ids, sc, 0, 2, 3, SL_METRIC_L2, oi, os), SL_ERR_ARG, "parts = 0");
}

/* Mean fraction of the exact top-k found. */
static double recall_of(const int64_t *ids, const int64_t *gt, size_t nq, size_t k) {
    size_t hit = 0;
    for (size_t i = 0; i < nq; i++)
        for (size_t a = 0; a < k; a++)
            for (size_t b = 0; b < k; b++) hit += ids[i * k + a] == gt[i * k + b];
    return (double)hit / (double)(nq * k);
}

TEST(shards_search_merges_the_shards_exactly) {
    const size_t n = 3000, d = 16, nq = 200, k = 10, ef = 24, parts = 3;
    float *x = gauss(n, d, 1), *q = gauss(nq, d, 2);
    sl_threads_set(1);
    make_sharded("m", x, n, d, parts, SL_METRIC_L2, 5);
    sl_shards *s;
    ASSERT_OK(sl_shards_load(t_path("m"), &s));
    sl_shards_info info;
    sl_shards_get_info(s, &info);
    ASSERT_TRUE(info.shards == parts && info.rows == n && info.dim == d && info.loaded == parts && info.M == 8);
    ASSERT_TRUE(sl_shards_ids_are_rows(s)); /* built without ids */
    int64_t *ids = malloc(nq * k * sizeof *ids), *each = malloc(parts * nq * k * sizeof *each);
    int64_t *mi = malloc(nq * k * sizeof *mi), *gt = malloc(nq * k * sizeof *gt), *one = malloc(nq * k * sizeof *one);
    float *sc = malloc(nq * k * sizeof *sc), *esc = malloc(parts * nq * k * sizeof *esc), *ms = malloc(nq * k * sizeof *ms);
    ASSERT_OK(sl_shards_search(s, q, nq, k, ef, NULL, ids, sc));
    /* The same as each shard file searched alone and merged. */
    for (size_t p = 0; p < parts; p++) {
        sl_shards_entry e;
        ASSERT_OK(sl_shards_get_entry(s, p, &e));
        sl_hnsw *h;
        ASSERT_OK(sl_hnsw_load(e.path, &h));
        ASSERT_OK(sl_hnsw_search(h, q, nq, k, ef, NULL, each + p * nq * k, esc + p * nq * k));
        sl_hnsw_destroy(h);
    }
    ASSERT_OK(sl_shards_merge(each, esc, parts, nq, k, SL_METRIC_L2, mi, ms));
    ASSERT_TRUE(memcmp(ids, mi, nq * k * sizeof *ids) == 0 && memcmp(sc, ms, nq * k * sizeof *sc) == 0);
    /* Recall: no worse than one index over the whole base at the same ef. */
    sl_flat_config fc;
    sl_flat_config_default(&fc);
    fc.k = k;
    ASSERT_OK(sl_flat_search(x, n, d, q, nq, d, &fc, gt, ms));
    sl_hnsw_config cfg = {.dim = d, .metric = SL_METRIC_L2, .M = 8, .ef_construction = 60, .seed = 5};
    sl_hnsw *h;
    ASSERT_OK(sl_hnsw_create(&cfg, &h));
    ASSERT_OK(sl_hnsw_add(h, x, n, NULL, NULL, NULL, NULL));
    ASSERT_OK(sl_hnsw_search(h, q, nq, k, ef, NULL, one, ms));
    double rs = recall_of(ids, gt, nq, k), r1 = recall_of(one, gt, nq, k);
    printf("recall@10 at ef %zu: %zu shards %.4f, one index %.4f\n", ef, parts, rs, r1);
    ASSERT_TRUE(rs >= r1 - 0.005);
    /* A filter goes to every shard: only even ids. */
    int64_t allow[1500];
    for (size_t i = 0; i < 1500; i++) allow[i] = (int64_t)(2 * i);
    sl_hnsw_filter f = {.allow_ids = allow, .n_allow_ids = 1500};
    ASSERT_OK(sl_shards_search(s, q, nq, k, ef, &f, ids, sc));
    for (size_t i = 0; i < nq * k; i++) ASSERT_TRUE(ids[i] % 2 == 0);
    ASSERT_FAILS(sl_shards_search(s, q, nq, n + 1, ef, NULL, ids, sc), SL_ERR_RANGE, "holds 3000 vectors");
    sl_hnsw_destroy(h);
    sl_shards_destroy(s);
    free(x), free(q), free(ids), free(each), free(mi), free(gt), free(one), free(sc), free(esc), free(ms);
}

TEST(shards_smaller_than_k_are_padded_and_merged) {
    const size_t n = 7, d = 3, k = 6;
    float *x = gauss(n, d, 3);
    make_sharded("tiny", x, n, d, 3, SL_METRIC_COSINE, 0); /* 2, 2, 3 rows */
    sl_shards *s;
    ASSERT_OK(sl_shards_load(t_path("tiny"), &s));
    int64_t ids[7 * 6], gt[7 * 6];
    float sc[7 * 6], gs[7 * 6];
    ASSERT_OK(sl_shards_search(s, x, n, k, 10, NULL, ids, sc));
    sl_flat_config fc;
    sl_flat_config_default(&fc);
    fc.k = k, fc.metric = SL_METRIC_COSINE;
    ASSERT_OK(sl_flat_search(x, n, d, x, n, d, &fc, gt, gs));
    for (size_t i = 0; i < n * k; i++) ASSERT_EQ_INT(ids[i], gt[i]);
    sl_shards_destroy(s);
    free(x);
}

TEST(shards_build_in_one_process_writes_one_shard) {
    const size_t n = 500, d = 8;
    float *x = gauss(n, d, 4);
    int64_t ids[500];
    for (size_t i = 0; i < n; i++) ids[i] = (int64_t)(1000 + 3 * i);
    sl_hnsw_config cfg = {.dim = d, .metric = SL_METRIC_IP, .M = 8, .ef_construction = 40, .seed = 1};
    sl_threads_set(1);
    ASSERT_OK(sl_shards_build(x, n, 0, n, ids, NULL, &cfg, t_path("b"), NULL, NULL));
    size_t l1, l2;
    char *a = slurp(t_path("b.shard0of1"), &l1);
    ASSERT_OK(sl_shards_build(x, n, 0, n, ids, NULL, &cfg, t_path("b"), NULL, NULL));
    char *b = slurp(t_path("b.shard0of1"), &l2);
    ASSERT_TRUE(l1 == l2 && memcmp(a, b, l1) == 0); /* one thread: the same bytes */
    sl_shards *s;
    ASSERT_OK(sl_shards_load_dist(t_path("b"), &s)); /* one process: every shard */
    sl_shards_info info;
    sl_shards_get_info(s, &info);
    ASSERT_TRUE(info.shards == 1 && info.rows == n && info.metric == SL_METRIC_IP && info.loaded == 1);
    int64_t got[5];
    float sc[5];
    ASSERT_OK(sl_shards_search(s, x + 7 * d, 1, 5, 50, NULL, got, sc));
    for (size_t i = 0; i < 5; i++) ASSERT_TRUE(got[i] >= 1000 && (got[i] - 1000) % 3 == 0);
    ASSERT_TRUE(!sl_shards_ids_are_rows(s)); /* ids given */
    sl_shards_destroy(s);
    ASSERT_OK(sl_shards_open(t_path("b"), &s));
    ASSERT_TRUE(!sl_shards_ids_are_rows(s)); /* nothing loaded: unknown */
    sl_shards_destroy(s);
    /* Bad ids are refused before anything is built. */
    ids[400] = ids[7];
    ASSERT_FAILS(sl_shards_build(x, n, 0, n, ids, NULL, &cfg, t_path("c"), NULL, NULL), SL_ERR_ARG,
                 "rows 7 and 400 have the same id 1021");
    ids[400] = -4;
    ASSERT_FAILS(sl_shards_build(x, n, 0, n, ids, NULL, &cfg, t_path("c"), NULL, NULL), SL_ERR_ARG, "row 400");
    ASSERT_TRUE(access(t_path("c"), F_OK) != 0 && access(t_path("c.shard0of1"), F_OK) != 0);
    free(x), free(a), free(b);
}

TEST(shards_open_describes_without_loading) {
    float *x = gauss(100, 4, 5);
    make_sharded("o", x, 100, 4, 2, SL_METRIC_L2, 0);
    sl_shards *s;
    ASSERT_OK(sl_shards_open(t_path("o"), &s));
    sl_shards_info info;
    sl_shards_get_info(s, &info);
    ASSERT_TRUE(info.shards == 2 && info.rows == 100 && info.loaded == 0);
    sl_shards_entry e;
    ASSERT_OK(sl_shards_get_entry(s, 1, &e));
    ASSERT_STREQ(e.path, t_path("o.1"));
    ASSERT_EQ_SIZE(e.rows, 50);
    ASSERT_FAILS(sl_shards_get_entry(s, 2, &e), SL_ERR_RANGE, "shard 2 of 2");
    int64_t id;
    float sc;
    ASSERT_FAILS(sl_shards_search(s, x, 1, 1, 10, NULL, &id, &sc), SL_ERR_STATE, "no shard is loaded");
    sl_shards_destroy(s);
    ASSERT_TRUE(sl_shards_is_manifest(t_path("o")) && !sl_shards_is_manifest(t_path("o.0")) &&
                !sl_shards_is_manifest(t_path("none")));
    free(x);
}

/* The manifest's bad inputs, each a clear error naming the file. */
TEST(shards_manifest_bad_inputs) {
    float *x = gauss(200, 6, 6);
    make_sharded("g", x, 200, 6, 2, SL_METRIC_L2, 0);
    char *m = strdup(t_path("g"));
    size_t len;
    char *good = slurp(m, &len);
    sl_shards *s = NULL;
    /* truncated anywhere: no checksum line, or a wrong one */
    for (size_t cut = 0; cut < len; cut += 7) {
        spit(m, good, cut);
        ASSERT_FAILS(sl_shards_load(m, &s), SL_ERR_FORMAT, m);
        ASSERT_TRUE(s == NULL);
    }
    spit(m, good, len - 3);
    ASSERT_FAILS(sl_shards_load(m, &s), SL_ERR_FORMAT, "does not end with its 'checksum' line (truncated?)");
    spit(m, "SLHNSW\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 36);
    ASSERT_FAILS(sl_shards_load(m, &s), SL_ERR_FORMAT, "not a simlearn shard manifest");
    spit(m, good, len);
    edit_manifest(m, "simlearn-hnsw-shards 1", "simlearn-hnsw-shards 2");
    ASSERT_FAILS(sl_shards_load(m, &s), SL_ERR_FORMAT, "manifest format version '2', this build reads version 1");
    /* an edit without a new checksum */
    spit(m, good, len);
    char *ed = strdup(good);
    strstr(ed, "rows 200")[6] = '1';
    spit(m, ed, len);
    ASSERT_FAILS(sl_shards_load(m, &s), SL_ERR_FORMAT, "manifest checksum mismatch");
    /* fields that are wrong, with a correct checksum */
    static const char *const edits[][3] = {
        {"rows 200", "rows 201", "the shard lines hold 200 rows, the header says 201"},
        {"dim 6", "dims 6", "line 3: expected 'dim <number"},
        {"shards 2", "shards 3", "expected 'shard 2 <rows>"},
        {" g.1\n", " ../g.1\n", "line 9: expected 'shard 1"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
        spit(m, good, len);
        edit_manifest(m, edits[i][0], edits[i][1]);
        ASSERT_FAILS(sl_shards_load(m, &s), SL_ERR_FORMAT, edits[i][2]);
    }
    /* a missing shard */
    spit(m, good, len);
    ASSERT_TRUE(rename(t_path("g.1"), t_path("g.1.away")) == 0);
    ASSERT_FAILS(sl_shards_load(m, &s), SL_ERR_IO, "shard 1: ");
    ASSERT_CONTAINS(sl_error_message(), t_path("g.1"));
    ASSERT_TRUE(rename(t_path("g.1.away"), t_path("g.1")) == 0);
    ASSERT_OK(sl_shards_load(m, &s));
    sl_shards_destroy(s);
    s = NULL;
    free(good), free(ed), free(x), free(m);
}

/* A shard file replaced by another index: of the same shape (checksum), of
 * another dimension, of another metric. */
TEST(shards_replaced_shard_is_refused) {
    float *x = gauss(300, 6, 7), *y = gauss(300, 5, 8);
    make_sharded("r", x, 300, 6, 2, SL_METRIC_L2, 0);
    char *m = strdup(t_path("r"));
    sl_shards *s = NULL;
    make_sharded("other", x, 300, 6, 2, SL_METRIC_L2, 99); /* other level draws: other bytes */
    ASSERT_TRUE(rename(t_path("other.0"), t_path("r.0")) == 0);
    ASSERT_FAILS(sl_shards_load(m, &s), SL_ERR_FORMAT, "the file was replaced or damaged");
    ASSERT_CONTAINS(sl_error_message(), t_path("r.0"));
    make_sharded("r", x, 300, 6, 2, SL_METRIC_L2, 0); /* whole again */
    make_sharded("five", y, 300, 5, 2, SL_METRIC_L2, 0);
    ASSERT_TRUE(rename(t_path("five.1"), t_path("r.1")) == 0);
    ASSERT_FAILS(sl_shards_load(m, &s), SL_ERR_FORMAT, "holds 5-dimensional vectors with metric l2, the manifest says 6");
    make_sharded("cos", x, 300, 6, 2, SL_METRIC_COSINE, 0);
    ASSERT_TRUE(rename(t_path("cos.1"), t_path("r.1")) == 0);
    ASSERT_FAILS(sl_shards_load(m, &s), SL_ERR_FORMAT, "with metric cosine, the manifest says 6 with l2");
    ASSERT_TRUE(s == NULL);
    /* A manifest over shards that differ is refused when written. */
    const char *mixed[] = {"cos.0", "five.0"};
    ASSERT_FAILS(sl_shards_write(t_path("mixed"), mixed, 2), SL_ERR_ARG, "every shard of an index needs the same");
    const char *slash[] = {"sub/x"};
    ASSERT_FAILS(sl_shards_write(t_path("mixed"), slash, 1), SL_ERR_ARG, "no '/'");
    free(x), free(y), free(m);
}

/* Found by tests/fuzz/shards.c: the manifest reader allocated its 64 MiB
 * limit up front for every manifest, so opening one failed with "out of
 * memory" under an allocator that refuses large requests. It now grows its
 * buffer as the text comes; a manifest longer than the first 4 KiB is read
 * whole (and refused for what it says, not for its length). */
TEST(shards_manifest_read_needs_no_large_allocation) {
    t_cap_allocations((size_t)1 << 20);
    float *x = gauss(40, 3, 7);
    make_sharded("small", x, 40, 3, 2, SL_METRIC_L2, 0);
    sl_shards *s = NULL;
    ASSERT_OK(sl_shards_open(t_path("small"), &s));
    sl_shards_destroy(s);
    size_t len;
    char *good = slurp(t_path("small"), &len);
    size_t big = 10000;
    char *pad = malloc(len + big);
    memcpy(pad, good, len);
    memset(pad + len, 'x', big);
    spit(t_path("small"), pad, len + big);
    s = NULL;
    ASSERT_FAILS(sl_shards_open(t_path("small"), &s), SL_ERR_FORMAT, t_path("small"));
    ASSERT_TRUE(s == NULL);
    t_cap_allocations(0);
    free(pad), free(good), free(x);
}

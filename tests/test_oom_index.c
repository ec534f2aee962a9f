/* Out-of-memory walks (tests/oom.h) of the index module: exact search, an
 * HNSW index built, saved, loaded, searched and edited, and a sharded index
 * built, written, opened, loaded and searched, an IVF-PQ index trained,
 * filled, edited, saved, loaded and searched, and a flat index filled,
 * edited, saved, loaded and searched. One thread (and two), tiny sizes. */
#include "oom.h"

#include "internal.h"

#define N 40
#define D 4

typedef struct {
    float x[N * D];
    sl_hnsw_config cfg;
    sl_hnsw *h;
} world;

static void world_make(world *w, sl_metric m) {
    sl_rng r;
    sl_rng_seed(&r, 3, 1);
    for (size_t i = 0; i < N * D; i++) w->x[i] = (float)sl_rng_normal(&r);
    sl_hnsw_config_default(&w->cfg);
    w->cfg.dim = D, w->cfg.metric = m, w->cfg.M = 4, w->cfg.ef_construction = 16, w->cfg.seed = 5;
    w->h = NULL;
}

static sl_status op_flat(void *arg) {
    world *w = arg;
    sl_flat_config c;
    sl_flat_config_default(&c);
    c.k = 3;
    c.metric = SL_METRIC_COSINE;
    c.max_block_bytes = 256; /* several blocks */
    int64_t ids[N * 3];
    float sc[N * 3];
    sl_status s = sl_flat_search(w->x, N, D, w->x, N, D, &c, ids, sc);
    if (s) return s;
    c.exclude_self = true;
    c.metric = SL_METRIC_L2;
    return sl_flat_search(w->x, N, D, w->x, 10, D, &c, ids, sc);
}

TEST(flat_search_survives_every_failed_allocation) {
    sl_threads_set(1);
    install();
    world w;
    world_make(&w, SL_METRIC_L2);
    ASSERT_TRUE(fail_each("flat search", op_flat, &w) >= 1);
    ASSERT_EQ_INT(C.live, 0);
}

static sl_status op_hnsw_build(void *arg) {
    world *w = arg;
    sl_hnsw *h;
    SL__TRY(sl_hnsw_create(&w->cfg, &h));
    int64_t labels[N];
    for (size_t i = 0; i < N; i++) labels[i] = (int64_t)(i % 3);
    sl_status s = sl_hnsw_add(h, w->x, N / 2, labels, NULL, NULL, NULL);
    int64_t keys[N / 2];
    for (size_t i = 0; i < N / 2; i++) keys[i] = (int64_t)(1000 + i);
    if (!s) s = sl_hnsw_add_keys(h, w->x + N / 2 * D, N / 2, keys, labels, NULL, NULL);
    int64_t del[2] = {3, 1004};
    if (!s) s = sl_hnsw_delete(h, del, 2);
    if (!s) s = sl_hnsw_check(h);
    sl_hnsw_destroy(h);
    return s;
}
static sl_status op_hnsw_save(void *arg) { return sl_hnsw_save(((world *)arg)->h, t_path("i.hnsw")); }
static sl_status op_hnsw_load(void *arg) {
    (void)arg;
    sl_hnsw *h = NULL;
    sl_status s = sl_hnsw_load(t_path("i.hnsw"), &h);
    sl_hnsw_destroy(h);
    return s;
}
static sl_status op_hnsw_search(void *arg) {
    world *w = arg;
    int64_t ids[5 * 4], labels[1] = {1}, allow[6] = {0, 2, 5, 1001, 1002, 7};
    float sc[5 * 4];
    sl_status s = sl_hnsw_search(w->h, w->x, 5, 4, 12, NULL, ids, sc);
    sl_hnsw_filter f = {allow, 6, labels, 1};
    if (!s) s = sl_hnsw_search(w->h, w->x, 5, 4, 12, &f, ids, sc);
    return s;
}

static void hnsw_walks(sl_metric m) {
    sl_threads_set(1);
    install();
    world w;
    world_make(&w, m);
    ASSERT_TRUE(fail_each("hnsw build", op_hnsw_build, &w) >= 3);
    /* the index that the other walks save, load and search */
    ASSERT_OK(sl_hnsw_create(&w.cfg, &w.h));
    int64_t keys[N];
    for (size_t i = 0; i < N; i++) keys[i] = (int64_t)(7 * i);
    ASSERT_OK(sl_hnsw_add_keys(w.h, w.x, N, keys, NULL, NULL, NULL));
    ASSERT_TRUE(fail_each("hnsw save", op_hnsw_save, &w) >= 1);
    ASSERT_TRUE(fail_each("hnsw load", op_hnsw_load, &w) >= 3);
    ASSERT_TRUE(fail_each("hnsw search", op_hnsw_search, &w) >= 1);
    sl_hnsw_destroy(w.h);
    ASSERT_EQ_INT(C.live, 0);
}

TEST(hnsw_l2_survives_every_failed_allocation) { hnsw_walks(SL_METRIC_L2); }
TEST(hnsw_ip_survives_every_failed_allocation) { hnsw_walks(SL_METRIC_IP); }

static sl_status op_shards_build(void *arg) {
    world *w = arg;
    return sl_shards_build(w->x, N, 0, N, NULL, NULL, &w->cfg, t_path("s.manifest"), NULL, NULL);
}
static sl_status op_shards_write(void *arg) {
    (void)arg;
    const char *files[2] = {"a.hnsw", "b.hnsw"};
    return sl_shards_write(t_path("w.manifest"), files, 2);
}
static sl_status op_shards_open(void *arg) {
    sl_shards *s = NULL;
    sl_status st = (arg ? sl_shards_load : sl_shards_open)(t_path("w.manifest"), &s);
    sl_shards_destroy(s);
    return st;
}
static sl_status op_shards_search(void *arg) {
    world *w = arg;
    sl_shards *s;
    SL__TRY(sl_shards_load(t_path("w.manifest"), &s));
    int64_t ids[5 * 6];
    float sc[5 * 6];
    sl_status st = sl_shards_search(s, w->x, 5, 6, 10, NULL, ids, sc);
    sl_shards_destroy(s);
    return st;
}

TEST(sharded_index_survives_every_failed_allocation) {
    sl_threads_set(1);
    install();
    world w;
    world_make(&w, SL_METRIC_L2);
    ASSERT_TRUE(fail_each("shards build", op_shards_build, &w) >= 3);
    /* two shards of 20 rows each, ids the global row numbers */
    for (int p = 0; p < 2; p++) {
        sl_hnsw *h;
        ASSERT_OK(sl_hnsw_create(&w.cfg, &h));
        int64_t keys[N / 2];
        for (size_t i = 0; i < N / 2; i++) keys[i] = (int64_t)(p * N / 2 + i);
        ASSERT_OK(sl_hnsw_add_keys(h, w.x + p * N / 2 * D, N / 2, keys, NULL, NULL, NULL));
        ASSERT_OK(sl_hnsw_save(h, t_path(p ? "b.hnsw" : "a.hnsw")));
        sl_hnsw_destroy(h);
    }
    ASSERT_TRUE(fail_each("shards write", op_shards_write, NULL) >= 1);
    ASSERT_TRUE(fail_each("shards open", op_shards_open, NULL) >= 1);
    ASSERT_TRUE(fail_each("shards load", op_shards_open, &w) >= 3);
    ASSERT_TRUE(fail_each("shards search", op_shards_search, &w) >= 3);
    ASSERT_EQ_INT(C.live, 0);
}

/* Two threads: allocations inside the parallel regions (per-thread scratch,
 * failures met by a worker) come back as out of memory with a message on
 * the calling thread. */
TEST(hnsw_and_flat_search_on_two_threads_survive_every_failed_allocation) {
    sl_threads_set(2);
    install();
    world w;
    world_make(&w, SL_METRIC_COSINE);
    ASSERT_TRUE(fail_each("flat search, 2 threads", op_flat, &w) >= 1);
    ASSERT_TRUE(fail_each("hnsw build, 2 threads", op_hnsw_build, &w) >= 3);
    ASSERT_OK(sl_hnsw_create(&w.cfg, &w.h));
    ASSERT_OK(sl_hnsw_add(w.h, w.x, N, NULL, NULL, NULL, NULL));
    ASSERT_TRUE(fail_each("hnsw search, 2 threads", op_hnsw_search, &w) >= 1);
    sl_hnsw_destroy(w.h);
    ASSERT_EQ_INT(C.live, 0);
}

/* IVF-PQ: 300 rows of 4 (training needs 256), 3 lists, 2 sub-quantisers,
 * a few k-means iterations. */
#define NV 300
typedef struct {
    float x[NV * D];
    sl_ivfpq *q;
} ivf_world;

static sl_status op_ivfpq_build(void *arg) {
    ivf_world *w = arg;
    sl_ivfpq_config c;
    sl_ivfpq_config_default(&c);
    c.dim = D, c.nlist = 3, c.M = 2, c.iters = 3, c.metric = SL_METRIC_COSINE;
    sl_ivfpq *q;
    SL__TRY(sl_ivfpq_create(&c, &q));
    int64_t keys[NV / 2], labels[NV / 2], del[2] = {5, 1003};
    for (size_t i = 0; i < NV / 2; i++) keys[i] = (int64_t)(1000 + i), labels[i] = (int64_t)(i % 3);
    sl_status s = sl_ivfpq_train(q, w->x, NV, NULL);
    if (!s) s = sl_ivfpq_add(q, w->x, NV / 2, NULL, NULL, NULL, NULL);
    if (!s) s = sl_ivfpq_add(q, w->x + NV / 2 * D, NV / 2, keys, labels, NULL, NULL);
    if (!s) s = sl_ivfpq_delete(q, del, 2, NULL);
    sl_ivfpq_destroy(q);
    return s;
}
static sl_status op_ivfpq_save(void *arg) { return sl_ivfpq_save(((ivf_world *)arg)->q, t_path("i.ivfpq")); }
static sl_status op_ivfpq_load(void *arg) {
    (void)arg;
    sl_ivfpq *q = NULL;
    sl_status s = sl_ivfpq_load(t_path("i.ivfpq"), &q);
    sl_ivfpq_destroy(q);
    return s;
}
static sl_status op_ivfpq_search(void *arg) {
    ivf_world *w = arg;
    int64_t ids[5 * 4], labels[1] = {1}, allow[4] = {0, 2, 151, 7};
    float sc[5 * 4];
    sl_ivfpq_search_config c;
    sl_ivfpq_search_config_default(&c);
    c.k = 4, c.nprobe = 2;
    sl_status s = sl_ivfpq_search(w->q, w->x, 5, &c, ids, sc);
    sl_hnsw_filter f = {allow, 4, labels, 1};
    c.filter = &f, c.rerank = 6, c.base = w->x, c.base_rows = NV;
    if (!s) s = sl_ivfpq_search(w->q, w->x, 5, &c, ids, sc);
    return s;
}

static void ivfpq_walks(int threads) {
    sl_threads_set(threads);
    install();
    ivf_world w;
    sl_rng r;
    sl_rng_seed(&r, 4, 1);
    for (size_t i = 0; i < NV * D; i++) w.x[i] = (float)sl_rng_normal(&r);
    ASSERT_TRUE(fail_each("ivfpq build", op_ivfpq_build, &w) >= 10);
    sl_ivfpq_config c;
    sl_ivfpq_config_default(&c);
    c.dim = D, c.nlist = 3, c.M = 2, c.iters = 3;
    int64_t labels[NV];
    for (size_t i = 0; i < NV; i++) labels[i] = (int64_t)(i % 3);
    ASSERT_OK(sl_ivfpq_create(&c, &w.q));
    ASSERT_OK(sl_ivfpq_train(w.q, w.x, NV, NULL));
    ASSERT_OK(sl_ivfpq_add(w.q, w.x, NV, NULL, labels, NULL, NULL));
    ASSERT_TRUE(fail_each("ivfpq save", op_ivfpq_save, &w) >= 1);
    ASSERT_TRUE(fail_each("ivfpq load", op_ivfpq_load, &w) >= 3);
    ASSERT_TRUE(fail_each("ivfpq search", op_ivfpq_search, &w) >= 3);
    sl_ivfpq_destroy(w.q);
    ASSERT_EQ_INT(C.live, 0);
}

TEST(ivfpq_survives_every_failed_allocation) { ivfpq_walks(1); }
TEST(ivfpq_on_two_threads_survives_every_failed_allocation) { ivfpq_walks(2); }

/* The flat index: built (default ids, then chosen ids with labels), edited,
 * saved, loaded and searched with and without filters. */
static sl_status op_flatidx(void *arg) {
    world *w = arg;
    sl_flat_index *f;
    SL__TRY(sl_flat_index_create(D, SL_METRIC_COSINE, &f));
    int64_t keys[N / 2], labels[N / 2], del[2] = {3, 1004}, ids[5 * 4], lab = 1, allow[3] = {0, 1002, 9};
    float sc[5 * 4];
    for (size_t i = 0; i < N / 2; i++) keys[i] = (int64_t)(1000 + i), labels[i] = (int64_t)(i % 3);
    sl_status s = sl_flat_index_add(f, w->x, N / 2, NULL, NULL);
    if (!s) s = sl_flat_index_add(f, w->x + N / 2 * D, N / 2, keys, labels);
    if (!s) s = sl_flat_index_delete(f, del, 2, NULL);
    if (!s) s = sl_flat_index_save(f, t_path("i.flat"));
    sl_flat_index_destroy(f);
    f = NULL;
    if (!s) s = sl_flat_index_load(t_path("i.flat"), &f);
    sl_hnsw_filter flt = {allow, 3, &lab, 1};
    if (!s) s = sl_flat_index_search(f, w->x, 5, 4, NULL, ids, sc);
    if (!s) s = sl_flat_index_search(f, w->x, 5, 4, &flt, ids, sc);
    sl_flat_index_destroy(f);
    return s;
}

static void flatidx_walks(int threads) {
    sl_threads_set(threads);
    install();
    world w;
    world_make(&w, SL_METRIC_L2);
    ASSERT_TRUE(fail_each("flat index", op_flatidx, &w) >= 10);
    ASSERT_EQ_INT(C.live, 0);
}
TEST(flat_index_survives_every_failed_allocation) { flatidx_walks(1); }
TEST(flat_index_on_two_threads_survives_every_failed_allocation) { flatidx_walks(2); }

/* Tests of `simlearn index build|search|add|delete|info` through the binary:
 * results, file round trips, and clear errors for bad inputs. */
#include "test.h"

static char *cmd(const char *fmt, const char *a, const char *b, const char *c) {
    static char buf[4096];
    snprintf(buf, sizeof buf, fmt, t_simlearn(), a, b, c);
    return buf;
}

static void make_data(void) {
    size_t n = 400, d = 8;
    sl_rng r;
    sl_rng_seed(&r, 1, 0);
    float *x = malloc(n * d * sizeof *x);
    int64_t *lab = malloc(n * sizeof *lab);
    for (size_t i = 0; i < n * d; i++) x[i] = (float)sl_rng_normal(&r);
    for (size_t i = 0; i < n; i++) lab[i] = (int64_t)(i % 4);
    ASSERT_OK(sl_npy_write_matrix(t_path("x.npy"), x, n, d));
    ASSERT_OK(sl_npy_write_matrix(t_path("q.npy"), x, 3, d)); /* the first three rows */
    ASSERT_OK(sl_npy_write_matrix(t_path("more.npy"), x + 100 * d, 50, d));
    ASSERT_OK(sl_npy_write_labels(t_path("y.npy"), lab, n));
    ASSERT_OK(sl_npy_write_matrix(t_path("wrong.npy"), x, 5, d - 1));
    ASSERT_OK(sl_npy_write_matrix(t_path("empty.npy"), x, 0, d));
    x[3 * d + 2] = NAN;
    sl_array a = {.dtype = SL_F32, .ndim = 2, .shape = {5, d}, .data = x};
    ASSERT_OK(sl_npy_write(t_path("nan.npy"), &a));
    free(x), free(lab);
}

TEST(index_cli_build_search_add_delete_info) {
    make_data();
    char *out;
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s --labels %s --threads 1 -q", t_path("x.npy"), t_path("i.hnsw"),
                            t_path("y.npy")), &out), 0);
    ASSERT_CONTAINS(out, "400 vectors, 8 dims, metric l2");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 2%s", t_path("i.hnsw"), t_path("q.npy"), ""), &out), 0);
    ASSERT_CONTAINS(out, "0: 0(0)");
    ASSERT_CONTAINS(out, "2: 2(0)");
    free(out);
    /* Only label 1: row 0 (label 0) can no longer be returned. */
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 3 --allow-labels 1 --ids-out %s", t_path("i.hnsw"),
                            t_path("q.npy"), t_path("ids.npy")), &out), 0);
    free(out);
    sl_array ids;
    ASSERT_OK(sl_npy_read(t_path("ids.npy"), &ids));
    ASSERT_EQ_INT(ids.dtype, SL_I64);
    ASSERT_EQ_SIZE(ids.shape[0], 3);
    ASSERT_EQ_SIZE(ids.shape[1], 3);
    for (int i = 0; i < 9; i++) ASSERT_EQ_INT(((int64_t *)ids.data)[i] % 4, 1);
    sl_array_destroy(&ids);
    ASSERT_EQ_INT(t_run(cmd("%s index add %s %s%s -q", t_path("i.hnsw"), t_path("more.npy"), ""), &out), 0);
    ASSERT_CONTAINS(out, "ids 400..449");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index delete %s --ids 0,1%s", t_path("i.hnsw"), "", ""), &out), 0);
    ASSERT_CONTAINS(out, "448 remain");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 1%s", t_path("i.hnsw"), t_path("q.npy"), ""), &out), 0);
    ASSERT_TRUE(strstr(out, "0: 0(") == NULL);
    ASSERT_CONTAINS(out, "2: 2(0)");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index info %s --check%s%s", t_path("i.hnsw"), "", ""), &out), 0);
    ASSERT_CONTAINS(out, "448 live, 450 ids used (2 deleted)");
    ASSERT_CONTAINS(out, "check: ok");
    free(out);
}

TEST(index_cli_bad_inputs) {
    make_data();
    char *out;
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s -q%s", t_path("x.npy"), t_path("i.hnsw"), ""), &out), 0);
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s%s", t_path("i.hnsw"), t_path("wrong.npy"), ""), &out), 1);
    ASSERT_CONTAINS(out, "has 7 columns but the index");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s%s", t_path("i.hnsw"), t_path("nan.npy"), ""), &out), 1);
    ASSERT_CONTAINS(out, "row 3, column 2");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s%s", t_path("i.hnsw"), t_path("empty.npy"), ""), &out), 1);
    ASSERT_CONTAINS(out, "no queries");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s%s", t_path("empty.npy"), t_path("e.hnsw"), ""), &out), 1);
    ASSERT_CONTAINS(out, "no rows");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s%s", t_path("x.npy"), t_path("q.npy"), ""), &out), 1);
    ASSERT_CONTAINS(out, "wrong magic");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 401%s", t_path("i.hnsw"), t_path("q.npy"), ""), &out), 1);
    ASSERT_CONTAINS(out, "k = 401 but the index holds 400 vectors");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index delete %s --ids 9999%s%s", t_path("i.hnsw"), "", ""), &out), 1);
    ASSERT_CONTAINS(out, "id 9999 is not in the index");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index delete %s%s%s", t_path("i.hnsw"), "", ""), &out), 2);
    ASSERT_CONTAINS(out, "index delete: give exactly one of --ids and --ids-file");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index frobnicate%s%s%s", "", "", ""), &out), 2);
    ASSERT_CONTAINS(out, "index: unknown subcommand 'frobnicate'");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s --M 1%s", t_path("x.npy"), t_path("i.hnsw"), ""), &out), 2);
    ASSERT_CONTAINS(out, "option --M: 1 is out of range [2, 512]");
    free(out);
}

/* Ids files: int64 for the base (1000, 1010, ...), int32 for more.npy. */
static void make_ids(void) {
    int64_t ids[400], bad[400], two[2] = {1010, 1020};
    for (int i = 0; i < 400; i++) ids[i] = 1000 + 10 * i;
    ASSERT_OK(sl_npy_write_labels(t_path("ids.npy"), ids, 400));
    ASSERT_OK(sl_npy_write_labels(t_path("short.npy"), ids, 3));
    ASSERT_OK(sl_npy_write_labels(t_path("two.npy"), two, 2));
    memcpy(bad, ids, sizeof bad);
    bad[5] = bad[0];
    ASSERT_OK(sl_npy_write_labels(t_path("dup.npy"), bad, 400));
    bad[5] = 1050, bad[1] = -2;
    ASSERT_OK(sl_npy_write_labels(t_path("neg.npy"), bad, 400));
    int32_t more[50];
    for (int i = 0; i < 50; i++) more[i] = 5000000 + i;
    sl_array a = {.dtype = SL_I32, .ndim = 1, .shape = {50}, .data = more};
    ASSERT_OK(sl_npy_write(t_path("more_ids.npy"), &a));
    ASSERT_OK(sl_npy_write_labels(t_path("live_ids.npy"), ids, 50)); /* 1000 .. 1490: already in the index */
}

TEST(index_cli_ids_build_add_delete_search) {
    make_data();
    make_ids();
    char *out;
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s --ids %s --threads 1 -q", t_path("x.npy"), t_path("k.hnsw"),
                            t_path("ids.npy")), &out), 0);
    ASSERT_CONTAINS(out, "400 vectors, 8 dims, metric l2");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 2%s", t_path("k.hnsw"), t_path("q.npy"), ""), &out), 0);
    ASSERT_CONTAINS(out, "0: 1000(0)");
    ASSERT_CONTAINS(out, "2: 1020(0)");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index info %s --check%s%s", t_path("k.hnsw"), "", ""), &out), 0);
    ASSERT_CONTAINS(out, "400 live, 400 inserted (0 deleted); ids given with --ids");
    ASSERT_CONTAINS(out, "check: ok");
    free(out);
    /* The same graph as without --ids: the neighbours are the same rows. */
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s --threads 1 -q%s", t_path("x.npy"), t_path("i.hnsw"), ""), &out), 0);
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index info %s%s%s", t_path("i.hnsw"), "", ""), &out), 0);
    ASSERT_CONTAINS(out, "400 live, 400 ids used (0 deleted)");
    ASSERT_TRUE(strstr(out, "--ids") == NULL);
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 5 --ids-out %s", t_path("i.hnsw"), t_path("more.npy"),
                            t_path("a.npy")), &out), 0);
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 5 --ids-out %s", t_path("k.hnsw"), t_path("more.npy"),
                            t_path("b.npy")), &out), 0);
    free(out);
    sl_array a, b;
    ASSERT_OK(sl_npy_read(t_path("a.npy"), &a));
    ASSERT_OK(sl_npy_read(t_path("b.npy"), &b));
    for (size_t i = 0; i < 250; i++) ASSERT_EQ_INT(((int64_t *)b.data)[i], 1000 + 10 * ((int64_t *)a.data)[i]);
    sl_array_destroy(&a), sl_array_destroy(&b);
    /* Add with int32 ids, filter, delete by id, add without ids. */
    ASSERT_EQ_INT(t_run(cmd("%s index add %s %s --ids %s -q", t_path("k.hnsw"), t_path("more.npy"), t_path("more_ids.npy")),
                        &out), 0);
    ASSERT_CONTAINS(out, "added 50 vectors (ids from");
    free(out);
    /* more.npy is rows 100..149 again: each query has two matches at 0, in id order. */
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 2%s", t_path("k.hnsw"), t_path("more.npy"), ""), &out), 0);
    ASSERT_CONTAINS(out, "0: 2000(0) 5000000(0)");
    ASSERT_CONTAINS(out, "49: 2490(0) 5000049(0)");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 2 --allow-ids %s", t_path("k.hnsw"), t_path("q.npy"),
                            t_path("two.npy")), &out), 0);
    ASSERT_CONTAINS(out, "1: 1010(0) 1020(");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index delete %s --ids 1000,5000000%s", t_path("k.hnsw"), "", ""), &out), 0);
    ASSERT_CONTAINS(out, "448 remain");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index delete %s --ids 1000%s", t_path("k.hnsw"), "", ""), &out), 1);
    ASSERT_CONTAINS(out, "id 1000 is already deleted");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index delete %s --ids 0%s", t_path("k.hnsw"), "", ""), &out), 1);
    ASSERT_CONTAINS(out, "id 0 is not in the index");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 1%s", t_path("k.hnsw"), t_path("q.npy"), ""), &out), 0);
    ASSERT_TRUE(strstr(out, "0: 1000(") == NULL);
    ASSERT_CONTAINS(out, "1: 1010(0)");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index add %s %s -q%s", t_path("k.hnsw"), t_path("more.npy"), ""), &out), 0);
    ASSERT_CONTAINS(out, "ids 450..499");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index info %s --check%s%s", t_path("k.hnsw"), "", ""), &out), 0);
    ASSERT_CONTAINS(out, "498 live, 500 inserted (2 deleted)");
    ASSERT_CONTAINS(out, "check: ok");
    free(out);
}

TEST(index_cli_bad_ids) {
    make_data();
    make_ids();
    char *out;
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s --ids %s -q", t_path("x.npy"), t_path("k.hnsw"), t_path("short.npy")),
                        &out), 1);
    ASSERT_CONTAINS(out, "short.npy has 3 ids but there are 400 vectors");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s --ids %s -q", t_path("x.npy"), t_path("k.hnsw"), t_path("dup.npy")),
                        &out), 1);
    ASSERT_CONTAINS(out, "dup.npy: hnsw add: key 1000 is given twice, in rows 0 and 5");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s --ids %s -q", t_path("x.npy"), t_path("k.hnsw"), t_path("neg.npy")),
                        &out), 1);
    ASSERT_CONTAINS(out, "neg.npy: hnsw add: key -2 of row 1 is negative");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s --ids %s -q", t_path("x.npy"), t_path("k.hnsw"), t_path("x.npy")),
                        &out), 1);
    ASSERT_CONTAINS(out, "x.npy");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("test -e %.0s%s%s%s", t_path("k.hnsw"), "", ""), &out), 1); /* nothing written */
    free(out);
    /* Adding ids that are live, or too few of them, leaves the file as it was. */
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s --ids %s --threads 1 -q", t_path("x.npy"), t_path("k.hnsw"),
                            t_path("ids.npy")), &out), 0);
    free(out);
    ASSERT_EQ_INT(t_run(cmd("cp %.0s%s %s%s", t_path("k.hnsw"), t_path("k0.hnsw"), ""), &out), 0);
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index add %s %s --ids %s -q", t_path("k.hnsw"), t_path("more.npy"), t_path("live_ids.npy")),
                        &out), 1);
    ASSERT_CONTAINS(out, "live_ids.npy: hnsw add: key 1000 of row 0 is already in the index");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index add %s %s --ids %s -q", t_path("k.hnsw"), t_path("more.npy"), t_path("short.npy")),
                        &out), 1);
    ASSERT_CONTAINS(out, "short.npy has 3 ids but there are 50 vectors");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("cmp %.0s%s %s%s", t_path("k.hnsw"), t_path("k0.hnsw"), ""), &out), 0);
    free(out);
    /* knn cannot look the neighbours' labels up by row when the ids are keys. */
    ASSERT_EQ_INT(t_run(cmd("%s knn --index %s --queries %s --labels %s -q", t_path("k.hnsw"), t_path("q.npy"),
                            t_path("y.npy")), &out), 1);
    ASSERT_CONTAINS(out, "has ids given with --ids, not row numbers");
    free(out);
}

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
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index frobnicate%s%s%s", "", "", ""), &out), 2);
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s --M 1%s", t_path("x.npy"), t_path("i.hnsw"), ""), &out), 2);
    free(out);
}

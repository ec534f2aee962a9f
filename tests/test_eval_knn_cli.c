/* Tests of `simlearn knn` through the binary: search output, classification
 * accuracy by exact search and by an index, retrieval and paired reports,
 * and clear errors for bad inputs. */
#include "test.h"

#include <stdarg.h>

static const char *run_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *run_fmt(const char *fmt, ...) {
    static char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

/* Two clusters; queries near each cluster centre. */
static void make_data(void) {
    size_t n = 200, d = 4;
    sl_rng r;
    sl_rng_seed(&r, 2, 0);
    float *x = malloc(n * d * sizeof *x), q[4 * 4];
    int64_t *lab = malloc(n * sizeof *lab), ql[4] = {0, 1, 0, 1};
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int64_t)(i % 2);
        for (size_t j = 0; j < d; j++) x[i * d + j] = (float)sl_rng_normal(&r) * 0.2f + (lab[i] ? 2.0f : -2.0f);
    }
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < d; j++) q[i * d + j] = ql[i] ? 2.0f : -2.0f;
    ASSERT_OK(sl_npy_write_matrix(t_path("x.npy"), x, n, d));
    ASSERT_OK(sl_npy_write_matrix(t_path("q.npy"), q, 4, d));
    ASSERT_OK(sl_npy_write_labels(t_path("y.npy"), lab, n));
    ASSERT_OK(sl_npy_write_labels(t_path("qy.npy"), ql, 4));
    ASSERT_OK(sl_npy_write_labels(t_path("short.npy"), ql, 3));
    ASSERT_OK(sl_npy_write_matrix(t_path("wrong.npy"), x, 4, 3));
    ASSERT_OK(sl_npy_write_matrix(t_path("empty.npy"), x, 0, d));
    free(x), free(lab);
}

TEST(knn_cli_classify_exact_and_index) {
    make_data();
    char *out;
    const char *s = t_simlearn();
    ASSERT_EQ_INT(t_run(run_fmt("%s knn -b %s --queries %s --labels %s --query-labels %s -k 5 -q", s, t_path("x.npy"),
                                t_path("q.npy"), t_path("y.npy"), t_path("qy.npy")), &out), 0);
    ASSERT_CONTAINS(out, "accuracy 100.00% (4/4)");
    free(out);
    ASSERT_EQ_INT(t_run(run_fmt("%s knn -b %s --queries %s --labels %s --query-labels %s -k 7 --vote weighted --metric cosine -q",
                                s, t_path("x.npy"), t_path("q.npy"), t_path("y.npy"), t_path("qy.npy")), &out), 0);
    ASSERT_CONTAINS(out, "accuracy 100.00% (4/4)");
    free(out);
    ASSERT_EQ_INT(t_run(run_fmt("%s index build %s -o %s -q", s, t_path("x.npy"), t_path("i.hnsw")), &out), 0);
    free(out);
    ASSERT_EQ_INT(t_run(run_fmt("%s knn --index %s --queries %s --labels %s --pred-out %s -k 3 --quiet", s, t_path("i.hnsw"),
                                t_path("q.npy"), t_path("y.npy"), t_path("pred.npy")), &out), 0);
    free(out);
    int64_t *pred;
    size_t np;
    ASSERT_OK(sl_npy_read_labels(t_path("pred.npy"), &pred, &np));
    ASSERT_EQ_SIZE(np, 4);
    ASSERT_EQ_INT(pred[0], 0);
    ASSERT_EQ_INT(pred[1], 1);
    sl_allocator_free(pred);
    /* Plain search, self excluded. */
    ASSERT_EQ_INT(t_run(run_fmt("%s knn -b %s --self -k 1 --ids-out %s -q", s, t_path("x.npy"), t_path("nn.npy")), &out), 0);
    free(out);
    sl_array nn;
    ASSERT_OK(sl_npy_read(t_path("nn.npy"), &nn));
    for (size_t i = 0; i < nn.shape[0]; i++) {
        int64_t j = ((int64_t *)nn.data)[i];
        ASSERT_TRUE(j != (int64_t)i);
        ASSERT_EQ_INT(j % 2, (int64_t)(i % 2));
    }
    sl_array_destroy(&nn);
}

TEST(knn_cli_retrieval_reports) {
    make_data();
    char *out;
    const char *s = t_simlearn();
    ASSERT_EQ_INT(t_run(run_fmt("%s knn -b %s --self --labels %s --retrieval 1,10 -q", s, t_path("x.npy"),
                                t_path("y.npy")), &out), 0);
    ASSERT_CONTAINS(out, "recall@1 1.0000  precision@1 1.0000");
    ASSERT_CONTAINS(out, "mAP@R 1.0000");
    free(out);
    ASSERT_EQ_INT(t_run(run_fmt("%s knn -b %s --queries %s --paired 1,5 -q", s, t_path("x.npy"), t_path("x.npy")), &out), 0);
    ASSERT_CONTAINS(out, "recall@1: queries->base 1.0000, base->queries 1.0000");
    free(out);
}

TEST(knn_cli_bad_inputs) {
    make_data();
    char *out;
    const char *s = t_simlearn();
    ASSERT_EQ_INT(t_run(run_fmt("%s knn -b %s --queries %s", s, t_path("x.npy"), t_path("wrong.npy")), &out), 1);
    ASSERT_CONTAINS(out, "the queries have 3 columns but the base has 4");
    free(out);
    ASSERT_EQ_INT(t_run(run_fmt("%s knn -b %s --queries %s -k 500 -q", s, t_path("x.npy"), t_path("q.npy")), &out), 1);
    ASSERT_CONTAINS(out, "k = 500 but only 200");
    free(out);
    ASSERT_EQ_INT(t_run(run_fmt("%s knn -b %s --queries %s", s, t_path("empty.npy"), t_path("q.npy")), &out), 1);
    ASSERT_CONTAINS(out, "has no rows");
    free(out);
    ASSERT_EQ_INT(t_run(run_fmt("%s knn -b %s --queries %s --labels %s", s, t_path("x.npy"), t_path("q.npy"),
                                t_path("short.npy")), &out), 1);
    ASSERT_CONTAINS(out, "has 3 labels but there are 200 base rows");
    free(out);
    ASSERT_EQ_INT(t_run(run_fmt("%s knn -b %s", s, t_path("x.npy")), &out), 2);
    ASSERT_CONTAINS(out, "exactly one of --queries and --self");
    free(out);
    ASSERT_EQ_INT(t_run(run_fmt("%s knn -b %s --self --retrieval 0", s, t_path("x.npy")), &out), 2);
    free(out);
    ASSERT_EQ_INT(t_run(run_fmt("%s knn -b %s --queries %s --vote plurality", s, t_path("x.npy"), t_path("q.npy")), &out), 2);
    free(out);
    ASSERT_EQ_INT(t_run(run_fmt("%s knn -b %s --queries %s", s, t_path("missing.npy"), t_path("q.npy")), &out), 1);
    free(out);
}

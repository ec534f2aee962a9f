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
    for (int i = 0; i < 4; i++) ASSERT_EQ_INT(pred[i], i % 2); /* the query labels 0, 1, 0, 1 */
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

/* --screen: float32, bf16 (where the CPU has it), bf16 turned off by
 * SIMLEARN_NO_BF16 (float32 then): the same ids and scores, byte for byte. */
TEST(knn_cli_screens_write_the_same_files) {
    make_data();
    char *out;
    const char *s = t_simlearn();
    const char *runs[][2] = {{"", "fp32"}, {"", "bf16"}, {"SIMLEARN_NO_BF16=1 ", "bf16"}, {"", "auto"}};
    for (int r = 0; r < 4; r++) {
        char ids[64], sc[64];
        snprintf(ids, sizeof ids, "ids%d.npy", r), snprintf(sc, sizeof sc, "sc%d.npy", r);
        char *ip = strdup(t_path(ids));
        ASSERT_EQ_INT(t_run(run_fmt("%s%s knn -b %s --self -k 6 --metric cosine --screen %s --ids-out %s --scores-out %s -q",
                                    runs[r][0], s, t_path("x.npy"), runs[r][1], ip, t_path(sc)), &out), 0);
        free(out), free(ip);
    }
    for (int r = 1; r < 4; r++)
        for (int f = 0; f < 2; f++) {
            char a[64], b[64], pa[1024];
            snprintf(a, sizeof a, f ? "sc%d.npy" : "ids%d.npy", 0), snprintf(b, sizeof b, f ? "sc%d.npy" : "ids%d.npy", r);
            snprintf(pa, sizeof pa, "%s", t_path(a));
            ASSERT_EQ_INT(t_run(run_fmt("cmp %s %s", pa, t_path(b)), &out), 0);
            free(out);
        }
    ASSERT_EQ_INT(t_run(run_fmt("%s knn -b %s --self --screen fp16", s, t_path("x.npy")), &out), 2);
    ASSERT_CONTAINS(out, "fp16");
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
    ASSERT_CONTAINS(out, "option --retrieval: '0' is not a comma-separated list of positive integers");
    free(out);
    ASSERT_EQ_INT(t_run(run_fmt("%s knn -b %s --queries %s --vote plurality", s, t_path("x.npy"), t_path("q.npy")), &out), 2);
    ASSERT_CONTAINS(out, "option --vote: 'plurality' is not one of majority|weighted");
    free(out);
    ASSERT_EQ_INT(t_run(run_fmt("%s knn -b %s --queries %s", s, t_path("missing.npy"), t_path("q.npy")), &out), 1);
    ASSERT_CONTAINS(out, "missing.npy: cannot open");
    free(out);
}

/* knn graph on 60 points of a circle with k 2: a ring. Its statistics, the
 * files it writes, and knn path half-way round (30 chords). */
TEST(knn_cli_graph_and_path) {
    enum { N = 60 };
    float x[N * 2];
    for (size_t i = 0; i < N; i++) x[2 * i] = (float)cos(2 * M_PI * i / N), x[2 * i + 1] = (float)sin(2 * M_PI * i / N);
    ASSERT_OK(sl_npy_write_matrix(t_path("ring.npy"), x, N, 2));
    char *out;
    const char *s = t_simlearn();
    ASSERT_EQ_INT(t_run(run_fmt("%s knn graph %s -k 2 --pairs 50 -o %s --plot %s -q", s, t_path("ring.npy"), t_path("g"),
                                t_path("geo.svg")), &out), 0);
    ASSERT_CONTAINS(out, "geo.svg");
    free(out);
    ASSERT_EQ_INT(t_run(run_fmt("grep -c '<circle' %s", t_path("geo.svg")), &out), 0);
    ASSERT_CONTAINS(out, "50\n"); /* one point per pair */
    free(out);
    ASSERT_EQ_INT(t_run(run_fmt("%s knn graph %s -k 2 --pairs 50 -q", s, t_path("ring.npy")), &out), 0);
    ASSERT_CONTAINS(out, "rows, k 2, l2, exact");
    ASSERT_CONTAINS(out, "in-degree: min 2, median 2, max 2, skewness 0.00; 0 rows (0.0%) in no list");
    ASSERT_CONTAINS(out, "reciprocal neighbours: 100.0% of the edges");
    ASSERT_CONTAINS(out, "components of the symmetrised graph: 1; the largest holds 60 rows (100.0%)");
    ASSERT_CONTAINS(out, "over 50 random pairs: median 1.");
    ASSERT_CONTAINS(out, "; 0 unreachable");
    free(out);
    sl_array a;
    ASSERT_OK(sl_npy_read(t_path("g.ids.npy"), &a));
    ASSERT_TRUE(a.dtype == SL_I64 && a.ndim == 2 && a.shape[0] == N && a.shape[1] == 2);
    sl_array_destroy(&a);
    ASSERT_EQ_INT(t_run(run_fmt("%s knn path --graph %s --from 0 --to 30", s, t_path("g")), &out), 0);
    ASSERT_CONTAINS(out, "path from 0 to 30: 30 steps, length 3.14");
    ASSERT_CONTAINS(out, "\n0 1 2 3 ");
    free(out);
    /* The path's items as a strip: a graph over the first 60 shapes. */
    ASSERT_EQ_INT(t_run(run_fmt("%s knn path --graph %s --from 0 --to 30 --strip %s --data shapes --count 60 --split train "
                                "--size 16", s, t_path("g"), t_path("strip.png")), &out), 0);
    ASSERT_CONTAINS(out, "wrote ");
    ASSERT_CONTAINS(out, "the 31 items of the path");
    free(out);
    uint8_t *px;
    int iw, ih, ic;
    ASSERT_OK(sl_image_read(t_path("strip.png"), &px, &iw, &ih, &ic));
    ASSERT_TRUE(iw > 31 * 16 && ih > 16 && ic == 3);
    sl_allocator_free(px);
    ASSERT_EQ_INT(t_run(run_fmt("%s knn path --graph %s --from 0 --to 30 --strip %s --data shapes --count 50 --split train",
                                s, t_path("g"), t_path("strip.png")), &out), 1);
    ASSERT_CONTAINS(out, "the graph has 60 rows but shapes (train split) has 50 items");
    free(out);
    ASSERT_EQ_INT(t_run(run_fmt("%s knn path --graph %s --from 0 --to 3 --strip %s", s, t_path("g"), t_path("s.png")), &out), 2);
    ASSERT_CONTAINS(out, "--strip and --data go together");
    free(out);
    /* The same graph through HNSW, by cosine. */
    ASSERT_EQ_INT(t_run(run_fmt("%s knn graph %s -k 2 --approx --ef 20 --metric cosine -q", s, t_path("ring.npy")), &out), 0);
    ASSERT_CONTAINS(out, "rows, k 2, cosine, HNSW");
    ASSERT_CONTAINS(out, "reciprocal neighbours: 100.0% of the edges");
    free(out);
    /* Mistakes. */
    static const char *const bad[][3] = {
        {"knn graph RING -k 60", "1", "60 rows give each at most 59 neighbours, not 60"},
        {"knn graph RING --metric ip", "2", "--metric"},
        {"knn graph RING --ef 10", "2", "--ef is for --approx"},
        {"knn graph RING --plot X.svg --pairs 0", "2", "--plot needs --pairs above 0"},
        {"knn graph", "2", "usage"},
        {"knn path --graph G --from 0 --to 60", "1", "from 0 and to 60 must be rows in [0, 60)"},
        {"knn path --graph NOPE --from 0 --to 1", "1", "nope.ids.npy: cannot open"},
        {"knn path --graph G --to 1", "2", "--from"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char cmd[2048], *p = cmd;
        p += snprintf(p, sizeof cmd, "%s ", s);
        for (const char *c = bad[i][0]; *c;) {
            if (strncmp(c, "RING", 4) == 0) p += sprintf(p, "%s", t_path("ring.npy")), c += 4;
            else if (strncmp(c, "NOPE", 4) == 0) p += sprintf(p, "%s", t_path("nope")), c += 4;
            else if (*c == 'G' && (c[1] == ' ' || !c[1])) p += sprintf(p, "%s", t_path("g")), c++;
            else *p++ = *c++;
        }
        *p = '\0';
        int rc = t_run(cmd, &out);
        if (rc != atoi(bad[i][1])) T_FAIL("%s: exit %d, expected %s\n%s", bad[i][0], rc, bad[i][1], out);
        ASSERT_CONTAINS(out, bad[i][2]);
        free(out);
    }
    /* A graph whose files disagree. */
    float two[4] = {0, 0, 0, 0};
    ASSERT_OK(sl_npy_write_matrix(t_path("g.dist.npy"), two, 2, 2));
    ASSERT_EQ_INT(t_run(run_fmt("%s knn path --graph %s --from 0 --to 1", s, t_path("g")), &out), 1);
    ASSERT_CONTAINS(out, "is 2 x 2 but");
    free(out);
}

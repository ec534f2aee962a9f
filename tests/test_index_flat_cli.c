/* Tests of `simlearn index build|search|add|delete|info` on flat (exact)
 * indexes through the binary: the results of `simlearn knn`, filters, ids,
 * file round trips, and clear errors for bad inputs. */
#include "test.h"

static char *cmd(const char *fmt, const char *a, const char *b, const char *c) {
    static char buf[4096];
    snprintf(buf, sizeof buf, fmt, t_simlearn(), a, b, c);
    return buf;
}

static void make_data(void) {
    size_t n = 400, d = 8;
    sl_rng r;
    sl_rng_seed(&r, 2, 0);
    float *x = malloc(n * d * sizeof *x);
    int64_t *lab = malloc(n * sizeof *lab), *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n * d; i++) x[i] = (float)sl_rng_normal(&r);
    for (size_t i = 0; i < n; i++) lab[i] = (int64_t)(i % 4), ids[i] = (int64_t)(1000 + 3 * i);
    ASSERT_OK(sl_npy_write_matrix(t_path("x.npy"), x, n, d));
    ASSERT_OK(sl_npy_write_matrix(t_path("q.npy"), x, 20, d)); /* the first twenty rows */
    ASSERT_OK(sl_npy_write_matrix(t_path("more.npy"), x + 100 * d, 50, d));
    ASSERT_OK(sl_npy_write_labels(t_path("y.npy"), lab, n));
    ASSERT_OK(sl_npy_write_labels(t_path("ids.npy"), ids, n));
    ASSERT_OK(sl_npy_write_matrix(t_path("wrong.npy"), x, 5, d - 1));
    free(x), free(lab), free(ids);
}

static bool same_file(const char *a, const char *b) {
    char line[4096], *out;
    snprintf(line, sizeof line, "cmp %s %s", t_path(a), t_path(b));
    int rc = t_run(line, &out);
    free(out);
    return rc == 0;
}

TEST(flat_cli_build_search_add_delete_info) {
    make_data();
    char *out;
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s --type flat --metric cosine --labels %s", t_path("x.npy"),
                            t_path("i.flat"), t_path("y.npy")), &out), 0);
    ASSERT_CONTAINS(out, "flat index (exact search), 400 vectors, 8 dims, metric cosine, 48 bytes per vector (float32 "
                         "vector and id and label)");
    free(out);
    /* the same ids and scores, to the byte, as simlearn knn over the rows */
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 5 --ids-out %s", t_path("i.flat"), t_path("q.npy"),
                            t_path("a_ids.npy")), &out), 0);
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 5 --scores-out %s", t_path("i.flat"), t_path("q.npy"),
                            t_path("a_sc.npy")), &out), 0);
    free(out);
    char line[4096];
    snprintf(line, sizeof line, "%s knn --base %s --queries %s -k 5 --metric cosine --ids-out %s --scores-out %s",
             t_simlearn(), t_path("x.npy"), t_path("q.npy"), t_path("b_ids.npy"), t_path("b_sc.npy"));
    ASSERT_EQ_INT(t_run(line, &out), 0);
    free(out);
    ASSERT_TRUE(same_file("a_ids.npy", "b_ids.npy"));
    ASSERT_TRUE(same_file("a_sc.npy", "b_sc.npy"));
    /* only label 1 */
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 3 --allow-labels 1 --ids-out %s", t_path("i.flat"),
                            t_path("q.npy"), t_path("l_ids.npy")), &out), 0);
    free(out);
    sl_array ids;
    ASSERT_OK(sl_npy_read(t_path("l_ids.npy"), &ids));
    for (int i = 0; i < 60; i++) ASSERT_EQ_INT(((int64_t *)ids.data)[i] % 4, 1);
    sl_array_destroy(&ids);
    ASSERT_EQ_INT(t_run(cmd("%s index add %s %s%s", t_path("i.flat"), t_path("more.npy"), ""), &out), 0);
    ASSERT_CONTAINS(out, "added 50 vectors (ids 400..449)");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index delete %s --ids 0,1%s%s", t_path("i.flat"), "", ""), &out), 0);
    ASSERT_CONTAINS(out, "deleted 2 vectors");
    ASSERT_CONTAINS(out, "448 remain");
    free(out);
    /* query 0 no longer finds itself; query 2 still does */
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 1", t_path("i.flat"), t_path("q.npy"), ""), &out), 0);
    ASSERT_TRUE(strstr(out, "0: 0(") == NULL);
    ASSERT_CONTAINS(out, "2: 2(1)");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index info %s --check%s%s", t_path("i.flat"), "", ""), &out), 0);
    ASSERT_CONTAINS(out, "flat index (exact search), metric cosine, 8 dims");
    ASSERT_CONTAINS(out, "vectors: 448, 450 ids used (2 deleted), with labels");
    ASSERT_CONTAINS(out, "bytes per vector: 48 (float32 vector 32, id 8, label 8)");
    ASSERT_CONTAINS(out, "check: ok");
    free(out);
    /* chosen ids: returned by search, taken by delete */
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s --type flat --ids %s", t_path("x.npy"), t_path("k.flat"),
                            t_path("ids.npy")), &out), 0);
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 1", t_path("k.flat"), t_path("q.npy"), ""), &out), 0);
    ASSERT_CONTAINS(out, "0: 1000(0)");
    ASSERT_CONTAINS(out, "3: 1009(0)");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index delete %s --ids 1000 -o %s%s", t_path("k.flat"), t_path("k2.flat"), ""), &out), 0);
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 1", t_path("k2.flat"), t_path("q.npy"), ""), &out), 0);
    ASSERT_TRUE(strstr(out, "0: 1000(") == NULL);
    free(out);
}

/* One file for every thread count and BLAS kernel; a rebuild is the same bytes. */
TEST(flat_cli_same_file_and_results_for_threads_and_kernels) {
    make_data();
    char *out, line[4096];
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s --type flat --threads 1", t_path("x.npy"), t_path("a.flat"), ""),
                        &out), 0);
    free(out);
    snprintf(line, sizeof line, "OPENBLAS_CORETYPE=Haswell %s index build %s -o %s --type flat --threads 3",
             t_simlearn(), t_path("x.npy"), t_path("b.flat"));
    ASSERT_EQ_INT(t_run(line, &out), 0);
    free(out);
    ASSERT_TRUE(same_file("a.flat", "b.flat"));
    for (int t = 1; t <= 3; t++) {
        snprintf(line, sizeof line, "%s index search %s %s -k 7 --threads %d --ids-out %s --scores-out %s",
                 t_simlearn(), t_path("a.flat"), t_path("q.npy"), t, t_path(t == 1 ? "i1.npy" : "it.npy"),
                 t_path(t == 1 ? "s1.npy" : "st.npy"));
        ASSERT_EQ_INT(t_run(line, &out), 0);
        free(out);
        if (t > 1) ASSERT_TRUE(same_file("i1.npy", "it.npy") && same_file("s1.npy", "st.npy"));
    }
}

TEST(flat_cli_bad_inputs) {
    make_data();
    char *out;
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s --type flat%s", t_path("x.npy"), t_path("i.flat"), ""), &out), 0);
    free(out);
    const struct {
        const char *args;
        int rc;
        const char *says;
    } bad[] = {
        {"index build X -o Y --type flat --M 8", 2, "--M does not apply to a flat index"},
        {"index build X -o Y --type flat --nlist 8", 2, "--nlist does not apply to a flat index"},
        {"index build X -o Y --type flat --labels W", 1, "wrong.npy"},
        {"index search I Q --ef 10", 2, "--ef does not apply to a flat index"},
        {"index search I Q --nprobe 4", 2, "--nprobe does not apply to a flat index"},
        {"index search I W", 1, "has 7 columns but the index"},
        {"index search I Q -k 421", 1, "k = 421 but the index holds 420 vectors"},
        {"index delete I --ids 7,5000", 1, "no vector has the id 5000"},
        {"index add I W", 1, "needs rows of 8"},
        {"index add I Q --ids D", 1, "the index already holds the id 1000"},
    };
    int64_t dup[20];
    for (int i = 0; i < 20; i++) dup[i] = 1000 + i;
    ASSERT_OK(sl_npy_write_labels(t_path("dup.npy"), dup, 20));
    /* ids 1000.. are free the first time, held the second */
    ASSERT_EQ_INT(t_run(cmd("%s index add %s %s --ids %s", t_path("i.flat"), t_path("q.npy"), t_path("dup.npy")), &out),
                  0);
    free(out);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        /* one-letter words name the files: X x.npy, Y y.flat, I i.flat, Q q.npy, W wrong.npy, D dup.npy */
        char line[4096], words[256];
        size_t at = (size_t)snprintf(line, sizeof line, "%s", t_simlearn());
        snprintf(words, sizeof words, "%s", bad[i].args);
        for (char *w = strtok(words, " "); w; w = strtok(NULL, " ")) {
            const char *name = strlen(w) != 1 ? NULL : *w == 'X' ? "x.npy" : *w == 'Y' ? "y.flat" : *w == 'I' ? "i.flat"
                             : *w == 'Q' ? "q.npy" : *w == 'W' ? "wrong.npy" : *w == 'D' ? "dup.npy" : NULL;
            at += (size_t)snprintf(line + at, sizeof line - at, " %s", name ? t_path(name) : w);
        }
        int rc = t_run(line, &out);
        if (rc != bad[i].rc) T_FAIL("%s: expected exit %d, got %d: %s", bad[i].args, bad[i].rc, rc, out);
        ASSERT_CONTAINS(out, bad[i].says);
        free(out);
    }
    /* a corrupt file: named, and what is wrong */
    FILE *f = fopen(t_path("i.flat"), "r+b");
    ASSERT_TRUE(f != NULL);
    fseek(f, 100, SEEK_SET);
    fputc(0x55, f);
    fclose(f);
    ASSERT_EQ_INT(t_run(cmd("%s index info %s%s%s", t_path("i.flat"), "", ""), &out), 1);
    ASSERT_CONTAINS(out, "i.flat: checksum mismatch");
    free(out);
}

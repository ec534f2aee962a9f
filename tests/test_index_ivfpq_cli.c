/* Tests of `simlearn index build|search|add|delete|info` on IVF-PQ indexes
 * through the binary: results, exact re-ranking, filters, file round trips,
 * and clear errors for bad inputs. */
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
    /* the vectors of ids 0..449 once more.npy is added */
    float *all = malloc((n + 50) * d * sizeof *all);
    memcpy(all, x, n * d * sizeof *all);
    memcpy(all + n * d, x + 100 * d, 50 * d * sizeof *all);
    ASSERT_OK(sl_npy_write_matrix(t_path("all.npy"), all, n + 50, d));
    free(x), free(lab), free(all);
}

static void build(void) {
    char *out;
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s --type ivfpq --nlist 4 --pq-m 4 --labels %s -q",
                            t_path("x.npy"), t_path("i.ivfpq"), t_path("y.npy")), &out), 0);
    ASSERT_CONTAINS(out, "IVF-PQ, 400 vectors, 8 dims, metric l2, nlist 4, 4 x 8-bit codes (20 bytes per vector with its id and label)");
    free(out);
}

TEST(ivfpq_cli_build_search_add_delete_info) {
    make_data();
    build();
    char *out;
    /* re-ranked from the original rows: each query row finds itself at distance 0 */
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 2 --nprobe 4 --rerank 20 --base %s", t_path("i.ivfpq"),
                            t_path("q.npy"), t_path("x.npy")), &out), 0);
    ASSERT_CONTAINS(out, "0: 0(0)");
    ASSERT_CONTAINS(out, "2: 2(0)");
    free(out);
    /* only label 1 */
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 3 --nprobe 4 --allow-labels 1 --ids-out %s", t_path("i.ivfpq"),
                            t_path("q.npy"), t_path("ids.npy")), &out), 0);
    free(out);
    sl_array ids;
    ASSERT_OK(sl_npy_read(t_path("ids.npy"), &ids));
    ASSERT_EQ_SIZE(ids.shape[0], 3);
    ASSERT_EQ_SIZE(ids.shape[1], 3);
    for (int i = 0; i < 9; i++) ASSERT_EQ_INT(((int64_t *)ids.data)[i] % 4, 1);
    sl_array_destroy(&ids);
    ASSERT_EQ_INT(t_run(cmd("%s index add %s %s%s -q", t_path("i.ivfpq"), t_path("more.npy"), ""), &out), 0);
    ASSERT_CONTAINS(out, "added 50 vectors (ids 400..449)");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index delete %s --ids 0,1%s%s", t_path("i.ivfpq"), "", ""), &out), 0);
    ASSERT_CONTAINS(out, "deleted 2 vectors");
    ASSERT_CONTAINS(out, "448 remain");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index search %s %s -k 1 --nprobe 4 --rerank 5 --base %s", t_path("i.ivfpq"),
                            t_path("q.npy"), t_path("all.npy")), &out), 0);
    ASSERT_TRUE(strstr(out, "0: 0(") == NULL);
    ASSERT_CONTAINS(out, "2: 2(0)");
    free(out);
    ASSERT_EQ_INT(t_run(cmd("%s index info %s%s%s", t_path("i.ivfpq"), "", ""), &out), 0);
    ASSERT_CONTAINS(out, "IVF-PQ index, metric l2, 8 dims, nlist 4, 4 sub-quantisers x 8 bits");
    ASSERT_CONTAINS(out, "vectors: 448, 450 ids used (2 deleted), with labels");
    ASSERT_CONTAINS(out, "bytes per vector: 20 (code 4, id 8, label 8; 32 as float32)");
    free(out);
}

TEST(ivfpq_cli_bad_inputs) {
    make_data();
    build();
    char *out;
    const struct {
        const char *args;
        int rc;
        const char *says;
    } bad[] = {
        {"index build X -o Y --type ivfpq --M 8", 2, "--M does not apply to an IVF-PQ index"},
        {"index build X -o Y --nlist 8", 2, "--nlist does not apply to an HNSW index"},
        {"index build X -o Y --type ivfpq --nlist 500", 1, "at least nlist (500)"},
        {"index build X -o Y --type ivfpq --pq-m 9", 1, "M = 9 sub-quantisers for 8 dimensions"},
        {"index search I Q --ef 10", 2, "--ef does not apply to an IVF-PQ index"},
        {"index search I Q --rerank 10", 2, "--rerank and --base go together"},
        {"index search I Q -k 5 --rerank 3 --base X", 2, "--rerank 3 must be at least k = 5"},
        {"index search I W", 1, "has 7 columns but the index"},
        {"index search I Q --rerank 10 --base W", 1, "has 7 columns but the index"},
        {"index search I Q --rerank 10 --base Q", 1, "is not a row of the re-ranking base (3 rows)"},
        {"index search I Q -k 401", 1, "k = 401 but the index holds 400 vectors"},
        {"index delete I --ids 7,1000", 1, "no vector has the id 1000"},
        {"index add I W", 1, "needs rows of 8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        /* one-letter words name the files: X x.npy, Y y.ivfpq, I i.ivfpq, Q q.npy, W wrong.npy */
        char line[4096], words[256];
        size_t at = (size_t)snprintf(line, sizeof line, "%s", t_simlearn());
        snprintf(words, sizeof words, "%s", bad[i].args);
        for (char *w = strtok(words, " "); w; w = strtok(NULL, " ")) {
            const char *name = strlen(w) != 1 ? NULL : *w == 'X' ? "x.npy" : *w == 'Y' ? "y.ivfpq" : *w == 'I' ? "i.ivfpq"
                             : *w == 'Q' ? "q.npy" : *w == 'W' ? "wrong.npy" : NULL;
            at += (size_t)snprintf(line + at, sizeof line - at, " %s", name ? t_path(name) : w);
        }
        if (t_run(line, &out) != bad[i].rc) T_FAIL("%s: expected exit %d, got: %s", bad[i].args, bad[i].rc, out);
        ASSERT_CONTAINS(out, bad[i].says);
        free(out);
    }
    /* a corrupt file: named, and what is wrong */
    FILE *f = fopen(t_path("i.ivfpq"), "r+b");
    ASSERT_TRUE(f != NULL);
    fseek(f, 100, SEEK_SET);
    fputc(0x55, f);
    fclose(f);
    ASSERT_EQ_INT(t_run(cmd("%s index info %s%s%s", t_path("i.ivfpq"), "", ""), &out), 1);
    ASSERT_CONTAINS(out, "i.ivfpq: checksum mismatch");
    free(out);
}

/* The same file under another sgemm kernel (the exact re-scoring of the
 * nearest-centroid searches leaves no trace of the kernel). */
TEST(ivfpq_cli_same_file_under_another_blas_kernel) {
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) SKIP("Haswell's kernels need AVX2 and FMA");
    size_t n = 3000, d = 48;
    sl_rng r;
    sl_rng_seed(&r, 9, 0);
    float *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n * d; i++) x[i] = (float)sl_rng_normal(&r);
    ASSERT_OK(sl_npy_write_matrix(t_path("k.npy"), x, n, d));
    free(x);
    char *out;
    ASSERT_EQ_INT(t_run(cmd("%s index build %s -o %s --type ivfpq --nlist 32 --pq-m 12 -q", t_path("k.npy"),
                            t_path("a.ivfpq"), ""), &out), 0);
    free(out);
    char line[4096];
    snprintf(line, sizeof line, "OPENBLAS_CORETYPE=Haswell %s index build %s -o %s --type ivfpq --nlist 32 --pq-m 12 -q",
             t_simlearn(), t_path("k.npy"), t_path("b.ivfpq"));
    ASSERT_EQ_INT(t_run(line, &out), 0);
    free(out);
    snprintf(line, sizeof line, "cmp %s %s", t_path("a.ivfpq"), t_path("b.ivfpq"));
    ASSERT_EQ_INT(t_run(line, &out), 0);
    free(out);
}

/* Tests of the base module: status strings, error messages, RNG streams and
 * distributions, alias sampling, atomic files and progress output; and of the
 * test framework's own rule that a skip is a failure under CI=true. */
#include "test.h"

#include "internal.h"

#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every code of the status list has its own description; a value outside
 * the list is "unknown status". */
TEST(status_strings_cover_every_code) {
#define T_STATUS(name, value, msg) {name, #name, msg},
    static const struct {
        sl_status code;
        const char *name, *msg;
    } all[] = {SL_STATUS_LIST(T_STATUS)};
#undef T_STATUS
    const size_t n = sizeof all / sizeof *all;
    ASSERT_EQ_SIZE(n, 11);
    for (size_t i = 0; i < n; i++) {
        const char *d = sl_status_str(all[i].code);
        if (strcmp(d, all[i].msg) != 0) T_FAIL("%s: \"%s\", expected \"%s\"", all[i].name, d, all[i].msg);
        if (!strcmp(d, "unknown status") || !d[0]) T_FAIL("%s has no description", all[i].name);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(d, sl_status_str(all[j].code))) T_FAIL("%s and %s share \"%s\"", all[i].name, all[j].name, d);
    }
    ASSERT_STREQ(sl_status_str(SL_OK), "ok");
    ASSERT_STREQ(sl_status_str(SL_ERR_NOMEM), "out of memory");
    ASSERT_STREQ(sl_status_str((sl_status)-999), "unknown status");
    ASSERT_STREQ(sl_status_str((sl_status)1), "unknown status");
}

TEST(rng_is_deterministic_and_streams_differ) {
    sl_rng a, b, c;
    sl_rng_seed(&a, 42, 0);
    sl_rng_seed(&b, 42, 0);
    sl_rng_seed(&c, 42, 1);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = sl_rng_u64(&a), y = sl_rng_u64(&b), z = sl_rng_u64(&c);
        ASSERT_TRUE(x == y);
        same_c += x == z;
    }
    ASSERT_EQ_INT(same_c, 0);
}

TEST(rng_uniform_and_normal_moments) {
    sl_rng r;
    sl_rng_seed(&r, 7, 3);
    double s = 0, s2 = 0, ns = 0, ns2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        float u = sl_rng_uniform(&r);
        ASSERT_TRUE(u >= 0.0f && u < 1.0f);
        s += u;
        s2 += (double)u * u;
        double g = sl_rng_normal(&r);
        ns += g;
        ns2 += g * g;
    }
    ASSERT_NEAR(s / n, 0.5, 0.005);
    ASSERT_NEAR(s2 / n - (s / n) * (s / n), 1.0 / 12, 0.002);
    ASSERT_NEAR(ns / n, 0.0, 0.01);
    ASSERT_NEAR(ns2 / n, 1.0, 0.02);
}

TEST(rng_below_is_unbiased_and_in_range) {
    sl_rng r;
    sl_rng_seed(&r, 1, 0);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t k = sl_rng_below(&r, 7);
        ASSERT_TRUE(k < 7);
        counts[k]++;
    }
    for (int i = 0; i < 7; i++) ASSERT_NEAR(counts[i], 10000, 400);
}

TEST(rng_shuffle_is_a_permutation) {
    sl_rng r;
    sl_rng_seed(&r, 5, 0);
    int v[100], seen[100] = {0}, moved = 0;
    for (int i = 0; i < 100; i++) v[i] = i;
    sl_rng_shuffle(&r, v, 100, sizeof v[0]);
    for (int i = 0; i < 100; i++) {
        ASSERT_TRUE(v[i] >= 0 && v[i] < 100);
        seen[v[i]]++;
        moved += v[i] != i;
    }
    for (int i = 0; i < 100; i++) ASSERT_EQ_INT(seen[i], 1);
    ASSERT_TRUE(moved > 80);
}

TEST(rng_sample_is_the_head_of_a_shuffle) {
    /* The same rows as shuffling an index array and keeping its head (in
     * draw order), or that head sorted by an insertion sort. */
    static const size_t cases[][2] = {{1, 1}, {10, 0}, {10, 3}, {10, 10}, {1000, 17}, {5000, 4999}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = cases[c][0], m = cases[c][1];
        size_t *ref = malloc(n * sizeof *ref), *got = malloc((m ? m : 1) * sizeof *got);
        for (int sorted = 0; sorted < 2; sorted++) {
            sl_rng a, b;
            sl_rng_seed(&a, 11, 0x5a);
            sl_rng_seed(&b, 11, 0x5a);
            for (size_t i = 0; i < n; i++) ref[i] = i;
            sl_rng_shuffle(&a, ref, n, sizeof *ref);
            if (sorted)
                for (size_t i = 1; i < m; i++) {
                    size_t v = ref[i], j = i;
                    while (j > 0 && ref[j - 1] > v) ref[j] = ref[j - 1], j--;
                    ref[j] = v;
                }
            ASSERT_OK(sl_rng_sample(&b, n, m, sorted, got));
            for (size_t i = 0; i < m; i++) ASSERT_TRUE(got[i] == ref[i]);
            /* Both generators were left at the same point. */
            ASSERT_TRUE(sl_rng_u64(&a) == sl_rng_u64(&b));
        }
        free(ref), free(got);
    }
    sl_rng r;
    sl_rng_seed(&r, 1, 0);
    size_t one;
    ASSERT_FAILS(sl_rng_sample(&r, 2, 3, false, &one), SL_ERR_ARG, "3 of 2");
}

TEST(rng_sample_is_uniform_and_distinct) {
    sl_rng r;
    sl_rng_seed(&r, 3, 9);
    int counts[10] = {0};
    for (int t = 0; t < 20000; t++) {
        size_t s[3];
        ASSERT_OK(sl_rng_sample(&r, 10, 3, true, s));
        ASSERT_TRUE(s[0] < s[1] && s[1] < s[2] && s[2] < 10);
        for (int i = 0; i < 3; i++) counts[s[i]]++;
    }
    for (int i = 0; i < 10; i++) ASSERT_NEAR(counts[i], 6000, 300);
}

TEST(rows_gather_copies_and_works_in_place) {
    int32_t x[12], y[6];
    for (int i = 0; i < 12; i++) x[i] = i;
    const size_t idx[3] = {1, 4, 5};
    sl_rows_gather(y, x, 2 * sizeof *x, idx, 3);
    const int32_t want[6] = {2, 3, 8, 9, 10, 11};
    for (int i = 0; i < 6; i++) ASSERT_EQ_INT(y[i], want[i]);
    sl_rows_gather(x, x, 2 * sizeof *x, idx, 3);
    for (int i = 0; i < 6; i++) ASSERT_EQ_INT(x[i], want[i]);
}

TEST(alias_sampling_matches_weights) {
    double w[5] = {1, 0, 3, 6, 0.5};
    sl_alias *a;
    ASSERT_OK(sl_alias_create(w, 5, &a));
    sl_rng r;
    sl_rng_seed(&r, 9, 0);
    int cnt[5] = {0}, n = 210000;
    for (int i = 0; i < n; i++) cnt[sl_alias_sample(a, &r)]++;
    ASSERT_EQ_INT(cnt[1], 0);
    for (int i = 0; i < 5; i++) ASSERT_NEAR((double)cnt[i] / n, w[i] / 10.5, 0.005);
    sl_alias_destroy(a);
}

TEST(alias_rejects_bad_weights) {
    sl_alias *a;
    double neg[2] = {1, -1}, zero[2] = {0, 0}, nan[2] = {NAN, 1};
    ASSERT_FAILS(sl_alias_create(neg, 2, &a), SL_ERR_ARG, "weight 1");
    ASSERT_FAILS(sl_alias_create(zero, 2, &a), SL_ERR_ARG, "sum to 0");
    ASSERT_FAILS(sl_alias_create(nan, 2, &a), SL_ERR_ARG, "weight 0");
    ASSERT_FAILS(sl_alias_create(neg, 0, &a), SL_ERR_ARG, "no weights");
}

TEST(atomic_file_commit_and_abort) {
    const char *p = t_path("a.txt");
    sl_afile *f;
    ASSERT_OK(sl_afile_open(p, &f));
    fputs("first", sl_afile_stream(f));
    ASSERT_OK(sl_afile_commit(f));
    ASSERT_OK(sl_afile_open(p, &f));
    fputs("second", sl_afile_stream(f));
    /* Until commit, readers still see the old content. */
    char buf[16] = {0};
    FILE *r = fopen(p, "r");
    ASSERT_TRUE(r != NULL);
    ASSERT_TRUE(fgets(buf, sizeof buf, r) != NULL);
    fclose(r);
    ASSERT_STREQ(buf, "first");
    sl_afile_abort(f);
    r = fopen(p, "r");
    ASSERT_TRUE(fgets(buf, sizeof buf, r) != NULL);
    fclose(r);
    ASSERT_STREQ(buf, "first");
    /* No temporary files are left behind. */
    char *out;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls %s | wc -l", t_tmpdir());
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_EQ_INT(atoi(out), 1);
    free(out);
}

TEST(atomic_file_into_missing_directory_fails_clearly) {
    sl_afile *f;
    ASSERT_FAILS(sl_afile_open("/nonexistent-dir/x.npy", &f), SL_ERR_IO, "/nonexistent-dir/x.npy");
}

TEST(progress_lines_mode_prints_rate_and_final_line) {
    const char *p = t_path("prog.txt");
    FILE *f = fopen(p, "w+");
    sl_progress *pr;
    ASSERT_OK(sl_progress_create(f, SL_PROGRESS_LINES, "train", 100, "img", &pr));
    sl_progress_update(pr, 50, "loss 1.0");
    sl_progress_finish(pr, "loss 0.5");
    sl_progress_destroy(pr);
    fflush(f);
    rewind(f);
    char buf[512] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    ASSERT_CONTAINS(buf, "train 100/100 (100.0%)");
    ASSERT_CONTAINS(buf, "img/s");
    ASSERT_CONTAINS(buf, "loss 0.5");
}

TEST(progress_quiet_prints_nothing) {
    const char *p = t_path("q.txt");
    FILE *f = fopen(p, "w+");
    sl_progress *pr;
    ASSERT_OK(sl_progress_create(f, SL_PROGRESS_QUIET, "x", 10, "it", &pr));
    sl_progress_update(pr, 5, NULL);
    sl_progress_finish(pr, NULL);
    sl_progress_destroy(pr);
    ASSERT_EQ_INT(ftell(f), 0);
    fclose(f);
}

TEST(mul_size_detects_overflow) {
    size_t r;
    ASSERT_TRUE(sl_size_mul(1000, 1000, &r) && r == 1000000);
    ASSERT_TRUE(!sl_size_mul(SIZE_MAX / 2, 3, &r));
    ASSERT_TRUE(sl_size_mul(0, SIZE_MAX, &r) && r == 0);
}

TEST(gemm_matches_reference_on_random_shapes) {
    sl_rng r;
    sl_rng_seed(&r, 11, 0);
    for (int t = 0; t < 20; t++) {
        size_t M = 1 + sl_rng_below(&r, 40), N = 1 + sl_rng_below(&r, 40), K = 1 + sl_rng_below(&r, 70);
        bool ta = sl_rng_below(&r, 2), tb = sl_rng_below(&r, 2);
        float *A = malloc(M * K * 4), *B = malloc(K * N * 4), *C1 = malloc(M * N * 4), *C2 = malloc(M * N * 4);
        for (size_t i = 0; i < M * K; i++) A[i] = sl_rng_range(&r, -1, 1);
        for (size_t i = 0; i < K * N; i++) B[i] = sl_rng_range(&r, -1, 1);
        for (size_t i = 0; i < M * N; i++) C1[i] = C2[i] = sl_rng_range(&r, -1, 1);
        size_t lda = ta ? M : K, ldb = tb ? K : N;
        sl_gemm(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.3f, C1, N);
        sl__gemm_ref(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.3f, C2, N);
        for (size_t i = 0; i < M * N; i++) ASSERT_NEAR(C1[i], C2[i], 1e-4);
        free(A), free(B), free(C1), free(C2);
    }
}

/* Fill a rows x cols matrix with row stride ld (the padding is NaN, which a
 * product that reads it would spread). */
static float *padded_matrix(sl_rng *r, size_t rows, size_t cols, size_t ld) {
    float *m = malloc((rows ? (rows - 1) * ld + cols : 1) * sizeof *m);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < ld && i * ld + j < (rows - 1) * ld + cols; j++)
            m[i * ld + j] = j < cols ? sl_rng_range(r, -1, 1) : NAN;
    return m;
}

/* With a small limit in place of BLAS's 2^31 - 1, every way a product is cut
 * into pieces (rows, columns or K in blocks, or one at a time where a stride
 * is over the limit) is reached with small matrices. */
TEST(gemm_pieces_under_a_size_limit_match_the_reference) {
    sl_rng r;
    sl_rng_seed(&r, 12, 0);
    for (int t = 0; t < 400; t++) {
        size_t lim = 1 + sl_rng_below(&r, 9);
        size_t M = 1 + sl_rng_below(&r, 20), N = 1 + sl_rng_below(&r, 20), K = 1 + sl_rng_below(&r, 20);
        bool ta = sl_rng_below(&r, 2), tb = sl_rng_below(&r, 2);
        size_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
        size_t lda = ac + sl_rng_below(&r, 3) * sl_rng_below(&r, 12), ldb = bc + sl_rng_below(&r, 3) * sl_rng_below(&r, 12);
        size_t ldc = N + sl_rng_below(&r, 3) * sl_rng_below(&r, 12);
        float *A = padded_matrix(&r, ar, ac, lda), *B = padded_matrix(&r, br, bc, ldb);
        float *C1 = padded_matrix(&r, M, N, ldc), *C2 = padded_matrix(&r, M, N, ldc);
        float beta = sl_rng_below(&r, 2) ? 0.0f : 0.3f;
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) C1[i * ldc + j] = C2[i * ldc + j] = beta == 0.0f ? NAN : (float)(i + j);
        sl__gemm_limited(lim, ta, tb, M, N, K, 0.7f, A, lda, B, ldb, beta, C1, ldc);
        sl__gemm_ref(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, beta, C2, ldc);
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < ldc && i * ldc + j < (M - 1) * ldc + N; j++) {
                float a = C1[i * ldc + j], b = C2[i * ldc + j];
                if (j < N)
                    ASSERT_NEAR(a, b, 1e-5);
                else
                    ASSERT_TRUE(isnan(a)); /* the padding of C is not written */
            }
        free(A), free(B), free(C1), free(C2);
    }
}

/* A real stride over 2^31 - 1: C's rows 2^31 + 64 floats apart, in an
 * address range reserved but never touched except for the rows written. */
TEST(gemm_with_a_row_stride_over_int_max) {
    enum { M = 3, N = 5, K = 7 };
    const size_t ldc = ((size_t)1 << 31) + 64;
    size_t bytes = ((M - 1) * ldc + N) * sizeof(float);
    float *C = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ASSERT_TRUE(C != MAP_FAILED);
    sl_rng r;
    sl_rng_seed(&r, 13, 0);
    float A[M * K], B[K * N], want[M * N];
    for (size_t i = 0; i < M * K; i++) A[i] = sl_rng_range(&r, -1, 1);
    for (size_t i = 0; i < K * N; i++) B[i] = sl_rng_range(&r, -1, 1);
    sl__gemm_ref(false, false, M, N, K, 1.0f, A, K, B, N, 0.0f, want, N);
    sl_gemm(false, false, M, N, K, 1.0f, A, K, B, N, 0.0f, C, ldc);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) ASSERT_NEAR(C[i * ldc + j], want[i * N + j], 1e-5);
    munmap(C, bytes);
}

/* Never listed, so never run by tests/run.sh on its own: the case below
 * starts it by name to see what a skip does. */
TEST_HIDDEN(hidden_case_that_skips) { SKIP("this case exists only to be skipped"); }

TEST(a_skip_is_a_failure_when_ci_is_true) {
    if (access("tests/run.sh", X_OK) != 0) SKIP("not run from the source tree");
    char self[512], wrap[600], cmd[2400], *out;
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    ASSERT_TRUE(n > 0 && (size_t)n < sizeof self - 1);
    self[n] = 0;
    snprintf(cmd, sizeof cmd, "%s --list", self);
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "a_skip_is_a_failure_when_ci_is_true\n");
    ASSERT_TRUE(strstr(out, "hidden_case_that_skips") == NULL);
    free(out);
    /* The case itself: 77 without CI (or with CI set to anything but true),
     * 1 with CI=true, the reason printed either way. */
    snprintf(cmd, sizeof cmd, "env -u CI %s hidden_case_that_skips", self);
    ASSERT_EQ_INT(t_run(cmd, &out), 77);
    ASSERT_CONTAINS(out, "skipped: this case exists only to be skipped");
    free(out);
    snprintf(cmd, sizeof cmd, "CI=1 %s hidden_case_that_skips", self);
    ASSERT_EQ_INT(t_run(cmd, &out), 77);
    free(out);
    snprintf(cmd, sizeof cmd, "CI=true %s hidden_case_that_skips", self);
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "skipped: this case exists only to be skipped");
    ASSERT_CONTAINS(out, "counts as failed when CI=true");
    free(out);
    /* The runner, given a binary whose list holds that case: skipped and a
     * zero exit without CI, failed with the reason shown under CI=true. */
    snprintf(wrap, sizeof wrap, "%s", t_path("skipper"));
    char script[1200];
    snprintf(script, sizeof script,
             "#!/bin/sh\nif [ \"$1\" = --list ]; then echo hidden_case_that_skips; else exec '%s' \"$@\"; fi\n", self);
    t_write_file(wrap, script, strlen(script));
    ASSERT_EQ_INT(chmod(wrap, 0755), 0);
    snprintf(cmd, sizeof cmd, "env -u CI -u TEST_FILTER tests/run.sh %s", wrap);
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "skip skipper.hidden_case_that_skips: skipped: this case exists only to be skipped");
    ASSERT_CONTAINS(out, "0 passed, 0 failed, 1 skipped");
    free(out);
    snprintf(cmd, sizeof cmd, "env -u TEST_FILTER CI=true tests/run.sh %s", wrap);
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "FAIL skipper.hidden_case_that_skips (exit 1)");
    ASSERT_CONTAINS(out, "skipped: this case exists only to be skipped");
    ASSERT_CONTAINS(out, "0 passed, 1 failed, 0 skipped");
    free(out);
}

/* A run that no launcher started: rank 0 of 1, collectives copy or do
 * nothing, and their argument checks. Two ranks: tests/test_dist.sh. */
TEST(dist_single_process) {
    ASSERT_OK(sl_dist_init());
    ASSERT_OK(sl_dist_init()); /* idempotent */
    ASSERT_TRUE(sl_dist_rank() == 0 && sl_dist_size() == 1);
    float f[3] = {1, 2, 3};
    double d[2] = {0.5, -1};
    int64_t m[2] = {4, -7};
    ASSERT_OK(sl_dist_sum_f32(f, 3));
    ASSERT_OK(sl_dist_sum_f64(d, 2));
    ASSERT_OK(sl_dist_max_i64(m, 2));
    ASSERT_TRUE(f[0] == 1 && f[2] == 3 && d[1] == -1 && m[0] == 4 && m[1] == -7);
    ASSERT_OK(sl_dist_max_f32(f, 3));
    ASSERT_TRUE(f[0] == 1 && f[1] == 2 && f[2] == 3);
    int32_t send[4] = {1, 2, 3, 4}, recv[4] = {0};
    ASSERT_OK(sl_dist_allgather(send, sizeof send, recv));
    ASSERT_TRUE(memcmp(send, recv, sizeof send) == 0);
    ASSERT_EQ_INT(sl_dist_allgather(send, (size_t)INT_MAX + 1, recv), SL_ERR_RANGE);
    ASSERT_OK(sl_dist_bcast(send, sizeof send, 0));
    ASSERT_EQ_INT(sl_dist_bcast(send, sizeof send, 1), SL_ERR_ARG);
    ASSERT_OK(sl_dist_barrier());
    /* Shares cover n once, in order, differing by one at most, for any n. */
    size_t ns[] = {0, 1, 5, 11, 1000003, SIZE_MAX - 2};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t parts = 1; parts <= 7; parts++) {
            size_t next = 0, lo = SIZE_MAX, hi = 0;
            for (size_t p = 0; p < parts; p++) {
                size_t first, count;
                sl_dist_share(ns[a], p, parts, &first, &count);
                ASSERT_EQ_SIZE(first, next);
                next += count, lo = count < lo ? count : lo, hi = count > hi ? count : hi;
            }
            ASSERT_TRUE(next == ns[a] && hi - lo <= 1);
        }
    sl_dist_shutdown();
    ASSERT_TRUE(sl_dist_rank() == 0 && sl_dist_size() == 1);
}

/* Tests of word-vector training: the corpus reader and vocabulary, the small
 * kernels against their naive twins, gradient checks of the objectives,
 * both negatives modes, reproducibility, checkpoint/resume (also from inside
 * a round, after a stop request), multi-sense recovery of a planted
 * two-sense word, and bad inputs. Corpora are generated here and tiny. */
#include "test.h"
#include "words/words_internal.h"

#include <math.h>
#include <stdlib.h>

static void write_text(const char *path, const char *text) { t_write_file(path, text, strlen(text)); }

static sl_words_config small_config(void) {
    sl_words_config c;
    sl_words_config_default(&c);
    c.dim = 16;
    c.window = 3;
    c.negative = 4;
    c.sample = 0;
    c.lr = 0.05;
    c.epochs = 10;
    c.threads = 1;
    c.seed = 7;
    c.vocab.min_count = 1;
    return c;
}

/* Two topics: animals and vehicles, each sentence drawn from one of them. */
static void topic_corpus(const char *path, int lines, uint64_t seed) {
    static const char *animals[] = {"cat", "dog", "mouse", "horse", "cow", "sheep"};
    static const char *vehicles[] = {"car", "bus", "train", "truck", "bike", "boat"};
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    for (int i = 0; i < lines; i++) {
        const char **set = (i & 1) ? vehicles : animals;
        for (int k = 0; k < 8; k++) fprintf(f, "%s%s", k ? " " : "", set[sl_rng_below(&r, 6)]);
        fputc('\n', f);
    }
    fclose(f);
}

static double row_cos(const sl_words_model *m, const char *a, const char *b) {
    const sl_vocab *v = sl_words_model_vocab(m);
    long ia = sl_vocab_find(v, a), ib = sl_vocab_find(v, b);
    ASSERT_TRUE(ia >= 0 && ib >= 0);
    const float *x = sl_words_model_row(m, (size_t)ia), *y = sl_words_model_row(m, (size_t)ib);
    double xy = 0, xx = 0, yy = 0;
    for (int k = 0; k < sl_words_model_dim(m); k++) {
        xy += (double)x[k] * y[k];
        xx += (double)x[k] * x[k];
        yy += (double)y[k] * y[k];
    }
    return xy / sqrt(xx * yy);
}

/* ---- corpus reader and vocabulary ------------------------------------------------*/
TEST(vocab_counts_order_min_count_and_max_size) {
    const char *p = t_path("c.txt");
    write_text(p, "b a c a b a\n\n  d\te a a\r\nB b\n");
    sl_vocab_config vc = {1, 0, false};
    sl_vocab *v;
    ASSERT_OK(sl_vocab_build(p, &vc, &v));
    ASSERT_EQ_SIZE(sl_vocab_size(v), 6);
    ASSERT_STREQ(sl_vocab_word(v, 0), "a");
    ASSERT_EQ_INT(sl_vocab_count(v, 0), 5);
    ASSERT_STREQ(sl_vocab_word(v, 1), "b");
    ASSERT_EQ_INT(sl_vocab_count(v, 1), 3);
    ASSERT_EQ_INT(sl_vocab_total(v), 12);
    ASSERT_EQ_INT(sl_vocab_find(v, "zzz"), -1);
    ASSERT_EQ_INT(sl_vocab_find(v, "B"), sl_vocab_find(v, "B"));
    sl_vocab_destroy(v);
    vc = (sl_vocab_config){2, 0, true};
    ASSERT_OK(sl_vocab_build(p, &vc, &v));
    ASSERT_EQ_SIZE(sl_vocab_size(v), 2); /* a:5, b:4 after lowercasing */
    ASSERT_EQ_INT(sl_vocab_count(v, 1), 4);
    ASSERT_EQ_INT(sl_vocab_total(v), 9);
    sl_vocab_destroy(v);
    vc = (sl_vocab_config){1, 1, false};
    ASSERT_OK(sl_vocab_build(p, &vc, &v));
    ASSERT_EQ_SIZE(sl_vocab_size(v), 1);
    sl_vocab_destroy(v);
}

/* A NUL byte separates words: a word cannot hold one, and "a\0b" once
 * counted as one word but was written as "a", beside the real "a". */
TEST(nul_bytes_separate_words) {
    const char *p = t_path("c.txt");
    FILE *f = fopen(p, "wb");
    ASSERT_TRUE(f != NULL);
    fwrite("word\0word other\0\0word\n", 1, 22, f);
    fclose(f);
    sl_vocab_config vc = {1, 0, false};
    sl_vocab *v;
    ASSERT_OK(sl_vocab_build(p, &vc, &v));
    ASSERT_EQ_SIZE(sl_vocab_size(v), 2);
    ASSERT_STREQ(sl_vocab_word(v, 0), "word");
    ASSERT_EQ_INT(sl_vocab_count(v, 0), 3);
    ASSERT_STREQ(sl_vocab_word(v, 1), "other");
    sl_vocab_destroy(v);
}

TEST(subsampling_follows_word2vec_formula) {
    const char *w[] = {"the", "of", "rare"};
    uint64_t c[] = {100000, 1000, 5};
    sl_vocab *v;
    ASSERT_OK(sl_vocab_from_counts(w, c, 3, &v));
    double T = 101005, s = 1e-3;
    double f = 100000, want = (sqrt(f / (s * T)) + 1) * s * T / f;
    ASSERT_NEAR(sl_vocab_keep_prob(v, 0, s), want, 1e-12);
    ASSERT_TRUE(sl_vocab_keep_prob(v, 0, s) < 0.2);
    ASSERT_NEAR(sl_vocab_keep_prob(v, 2, s), 1.0, 0);   /* rare words are always kept */
    ASSERT_NEAR(sl_vocab_keep_prob(v, 0, 0), 1.0, 0);   /* sample 0 = off */
    sl_vocab_destroy(v);
}

TEST(empty_corpus_and_missing_file_fail_clearly) {
    const char *p = t_path("empty.txt");
    write_text(p, "  \n\n\t ");
    sl_vocab_config vc = {1, 0, false};
    sl_vocab *v;
    ASSERT_FAILS(sl_vocab_build(p, &vc, &v), SL_ERR_FORMAT, "holds no words");
    write_text(p, "a b c");
    vc.min_count = 5;
    ASSERT_FAILS(sl_vocab_build(p, &vc, &v), SL_ERR_FORMAT, "no word occurs at least 5 times");
    sl_words_config c = small_config();
    sl_words_model *m;
    write_text(p, "");
    ASSERT_FAILS(sl_words_train(p, &c, &m, NULL), SL_ERR_FORMAT, "holds no words");
    ASSERT_FAILS(sl_words_train(t_path("nope.txt"), &c, &m, NULL), SL_ERR_IO, "nope.txt");
    c.window = 0;
    ASSERT_FAILS(sl_words_train(p, &c, &m, NULL), SL_ERR_ARG, "window");
}

TEST(byte_ranges_partition_the_words) {
    const char *p = t_path("r.txt");
    topic_corpus(p, 50, 3);
    uint64_t size;
    ASSERT_OK(sl__file_size(p, &size));
    char w[SL_WORDS_MAX_WORD + 1];
    bool nl;
    size_t all = 0;
    sl__corpus c;
    ASSERT_OK(sl__corpus_open(&c, p, 0, UINT64_MAX, false));
    while (sl__corpus_next(&c, w, &nl) > 0) all++;
    sl__corpus_close(&c);
    ASSERT_EQ_SIZE(all, 400);
    for (uint64_t parts = 2; parts <= 7; parts++) {
        size_t sum = 0;
        for (uint64_t i = 0; i < parts; i++) {
            ASSERT_OK(sl__corpus_open(&c, p, size * i / parts, size * (i + 1) / parts, false));
            while (sl__corpus_next(&c, w, &nl) > 0) sum++;
            sl__corpus_close(&c);
        }
        ASSERT_EQ_SIZE(sum, all);
    }
}

TEST(one_huge_line_and_long_words) {
    /* 3 MB on one line (longer than the reader's buffer), plus a 300-byte
     * word cut to SL_WORDS_MAX_WORD at a UTF-8 boundary. */
    const char *p = t_path("huge.txt");
    FILE *f = fopen(p, "w");
    sl_rng r;
    sl_rng_seed(&r, 1, 0);
    size_t words = 0;
    while (ftell(f) < 1300000) {
        fprintf(f, "w%u ", (unsigned)sl_rng_below(&r, 50));
        words++;
    }
    for (int i = 0; i < 150; i++) fputs("\xc3\xa9", f); /* é x 150 */
    fclose(f);
    sl_vocab_config vc = {1, 0, false};
    sl_vocab *v;
    ASSERT_OK(sl_vocab_build(p, &vc, &v));
    ASSERT_EQ_INT(sl_vocab_total(v), words + 1);
    ASSERT_EQ_SIZE(sl_vocab_size(v), 51);
    bool found = false;
    for (size_t i = 0; i < sl_vocab_size(v); i++)
        if (strlen(sl_vocab_word(v, i)) == SL_WORDS_MAX_WORD) found = true;
    ASSERT_TRUE(found); /* 100 bytes = 50 whole é */
    sl_vocab_destroy(v);
    sl_words_config c = small_config();
    c.epochs = 1;
    c.threads = 2;
    sl_words_model *m;
    sl_words_stats st;
    ASSERT_OK(sl_words_train(p, &c, &m, &st));
    ASSERT_EQ_INT(st.raw_words, words + 1);
    ASSERT_TRUE(isfinite(st.loss));
    sl_words_model_destroy(m);
}

/* ---- kernels ---------------------------------------------------------------------*/
TEST(kernels_match_naive_twins) {
    sl_rng r;
    sl_rng_seed(&r, 11, 0);
    size_t d = 48;
    float *pool = malloc(40 * d * sizeof *pool), *pool2 = malloc(40 * d * sizeof *pool2);
    for (size_t i = 0; i < 40 * d; i++) pool[i] = sl_rng_range(&r, -1, 1);
    for (size_t m = 1; m <= 11; m += 5)
        for (size_t n = 1; n <= 13; n += 3) {
            for (size_t i = 0; i < 40 * d; i++) pool[i] = sl_rng_range(&r, -1, 1);
            const float *a[16], *b[16];
            float *bw[16], *bw2[16];
            for (size_t j = 0; j < m; j++) a[j] = pool + (size_t)sl_rng_below(&r, 20) * d;
            for (size_t k = 0; k < n; k++) {
                b[k] = pool + (20 + k) * d; /* distinct rows: each gets its own update */
                bw[k] = (float *)b[k];
                bw2[k] = pool2 + (20 + k) * d;
            }
            float S[256], S2[256], D[16 * 48], D2[16 * 48];
            sl__w_dots(S, a, m, b, n, d);
            sl__w_dots_ref(S2, a, m, b, n, d);
            for (size_t i = 0; i < m * n; i++) ASSERT_CLOSE(S[i], S2[i], 1e-5, 1e-5);
            sl__w_gb(D, S, m, b, n, d);
            sl__w_gb_ref(D2, S, m, b, n, d);
            for (size_t i = 0; i < m * d; i++) ASSERT_CLOSE(D[i], D2[i], 1e-5, 1e-4);
            memcpy(pool2, pool, 40 * d * sizeof *pool);
            sl__w_gta_add(bw, S, m, a, n, d);
            const float *a2[16];
            for (size_t j = 0; j < m; j++) a2[j] = pool2 + (size_t)(a[j] - pool);
            sl__w_gta_add_ref(bw2, S, m, a2, n, d);
            for (size_t k = 0; k < n; k++)
                for (size_t c = 0; c < d; c++) ASSERT_CLOSE(bw[k][c], bw2[k][c], 1e-5, 1e-4);
        }
    free(pool);
    free(pool2);
}

/* The per-prediction update against its naive twin, with exact σ and with
 * the tables, including a row listed twice (it must see its first step). */
TEST(pair_kernel_matches_naive_twin) {
    sl_rng r;
    sl_rng_seed(&r, 12, 0);
    sl__wtab tab;
    sl__wtab_init(&tab);
    enum { D = 48, R = 12 };
    static float pool[R][D], pool2[R][D], a[D];
    float e[D], e2[D];
    for (int variant = 0; variant < 4; variant++) {
        const sl__wtab *tb = variant & 1 ? &tab : NULL;
        for (size_t n = 1; n <= 8; n += variant < 2 ? 1 : 7) {
            for (int c = 0; c < D; c++) a[c] = sl_rng_range(&r, -1, 1);
            for (int i = 0; i < R; i++)
                for (int c = 0; c < D; c++) pool[i][c] = sl_rng_range(&r, -1, 1);
            memcpy(pool2, pool, sizeof pool);
            float *b[8], *b2[8];
            for (size_t k = 0; k < n; k++) {
                size_t row = variant >= 2 && k == n - 1 ? 1 : k; /* variants 2, 3: the last row repeats row 1 */
                b[k] = pool[row];
                b2[k] = pool2[row];
            }
            double l = sl__w_pair(tb, a, b, n, D, 0.3f, e);
            double l2 = sl__w_pair_ref(tb, a, b2, n, D, 0.3f, e2);
            /* With the tables a logit on a bin edge may fall either side. */
            double atol = tb ? 2e-3 : 1e-5;
            ASSERT_CLOSE(l, l2, 1e-4, tb ? 2e-2 : 1e-5);
            for (int c = 0; c < D; c++) ASSERT_CLOSE(e[c], e2[c], 1e-4, atol);
            for (int i = 0; i < R; i++)
                for (int c = 0; c < D; c++) ASSERT_CLOSE(pool[i][c], pool2[i][c], 1e-4, atol);
        }
    }
}

/* ---- gradient checks ---------------------------------------------------------------*/
typedef double (*step_fn)(const float *const *a, size_t m, const float *const *b, size_t n, size_t d, float lr,
                          float *S, float *D, uint32_t y);
static double ns_exact(const float *const *a, size_t m, const float *const *b, size_t n, size_t d, float lr,
                       float *S, float *D, uint32_t y) {
    (void)y;
    return sl__words_ns_step(NULL, a, m, b, n, d, lr, S, D);
}
static double softmax(const float *const *a, size_t m, const float *const *b, size_t n, size_t d, float lr,
                      float *S, float *D, uint32_t y) {
    return sl__words_softmax_step(a, m, b, n, y, d, lr, S, D);
}
/* One input row: with distinct output rows the sequential update is a
 * gradient step of L(a, b). */
static double pair_exact(const float *const *a, size_t m, const float *const *b, size_t n, size_t d, float lr,
                         float *S, float *D, uint32_t y) {
    (void)S;
    (void)y;
    ASSERT_EQ_SIZE(m, 1);
    return sl__w_pair(NULL, a[0], (float *const *)b, n, d, lr, D);
}

/* The step moves output rows by -lr·∂L/∂b and reports -lr·∂L/∂a in D;
 * compare both with central differences of L. */
static void grad_check(step_fn f, int M) {
    enum { N = 5, Dm = 16, MAXM = 3 };
    sl_rng r;
    sl_rng_seed(&r, 5, 0);
    static float A[MAXM][Dm], B[N][Dm], B0[N][Dm];
    const float *a[MAXM], *b[N];
    for (int j = 0; j < M; j++) {
        a[j] = A[j];
        for (int c = 0; c < Dm; c++) A[j][c] = sl_rng_range(&r, -1, 1);
    }
    for (int k = 0; k < N; k++) {
        b[k] = B[k];
        for (int c = 0; c < Dm; c++) B[k][c] = sl_rng_range(&r, -1, 1);
    }
    memcpy(B0, B, sizeof B);
    float S[MAXM * N], Dg[MAXM * Dm];
    const float lr = 0.5f;
    f(a, M, b, N, Dm, lr, S, Dg, 2);
    float dB[N][Dm];
    for (int k = 0; k < N; k++)
        for (int c = 0; c < Dm; c++) dB[k][c] = (B[k][c] - B0[k][c]) / -lr;
    memcpy(B, B0, sizeof B);
    const float h = 1e-2f;
    float Dx[MAXM * Dm];
    for (int j = 0; j < M; j++)
        for (int c = 0; c < Dm; c++) {
            float keep = A[j][c];
            A[j][c] = keep + h;
            double lp = f(a, M, b, N, Dm, 0, S, Dx, 2);
            A[j][c] = keep - h;
            double lm = f(a, M, b, N, Dm, 0, S, Dx, 2);
            A[j][c] = keep;
            ASSERT_CLOSE(Dg[j * Dm + c] / -lr, (lp - lm) / (2 * h), 2e-2, 2e-3);
        }
    for (int k = 0; k < N; k++)
        for (int c = 0; c < Dm; c++) {
            float keep = B[k][c];
            B[k][c] = keep + h;
            double lp = f(a, M, b, N, Dm, 0, S, Dx, 2);
            B[k][c] = keep - h;
            double lm = f(a, M, b, N, Dm, 0, S, Dx, 2);
            B[k][c] = keep;
            ASSERT_CLOSE(dB[k][c], (lp - lm) / (2 * h), 2e-2, 2e-3);
        }
}

TEST(negative_sampling_gradient_check) { grad_check(ns_exact, 3); }
TEST(full_softmax_gradient_check) { grad_check(softmax, 3); }
TEST(per_pair_negative_sampling_gradient_check) { grad_check(pair_exact, 1); }

TEST(table_loss_matches_exact_loss) {
    sl__wtab tab;
    sl__wtab_init(&tab);
    for (float x = -12; x <= 12; x += 0.37f) {
        ASSERT_NEAR(tab_sig(&tab, x), 1 / (1 + exp(-x)), 2.5e-3);
        ASSERT_NEAR(tab_logsig(&tab, x), -log1p(exp(-x)), 5e-3);
    }
}

/* ---- training ------------------------------------------------------------------------*/
TEST(tiny_corpus_neighbours_are_the_right_topic) {
    const char *p = t_path("topics.txt");
    topic_corpus(p, 600, 1);
    for (int mode = 0; mode < 2; mode++) {
        sl_words_config c = small_config();
        c.negatives = mode ? SL_WORDS_SHARED : SL_WORDS_PER_PAIR;
        sl_words_model *m;
        sl_words_stats st;
        ASSERT_OK(sl_words_train(p, &c, &m, &st));
        ASSERT_EQ_INT(st.raw_words, 600 * 8 * 10);
        ASSERT_TRUE(st.loss > 0 && st.loss < 5);
        ASSERT_TRUE(row_cos(m, "cat", "dog") > row_cos(m, "cat", "car") + 0.3);
        ASSERT_TRUE(row_cos(m, "bus", "train") > row_cos(m, "bus", "cow") + 0.3);
        sl_words_model_destroy(m);
    }
}

/* The per-pair mode learns the topics with gensim's schedule too (start
 * 0.025, falling linearly to 0.0001), in skip-gram and CBOW. */
TEST(per_pair_negatives_learn_the_topics_with_gensims_schedule) {
    const char *p = t_path("topics.txt");
    topic_corpus(p, 600, 9);
    for (int arch = 0; arch < 2; arch++) {
        sl_words_config c = small_config();
        c.negatives = SL_WORDS_PER_PAIR;
        c.arch = arch ? SL_WORDS_CBOW : SL_WORDS_SKIPGRAM;
        c.lr = 0.025;
        c.min_lr = 0.0001;
        sl_words_model *m;
        sl_words_stats st;
        ASSERT_OK(sl_words_train(p, &c, &m, &st));
        ASSERT_TRUE(st.loss > 0 && st.loss < 5);
        ASSERT_TRUE(row_cos(m, "cat", "horse") > row_cos(m, "cat", "bike") + 0.3);
        ASSERT_TRUE(row_cos(m, "boat", "car") > row_cos(m, "boat", "sheep") + 0.3);
        sl_words_model_destroy(m);
    }
    sl_words_config c = small_config();
    c.min_lr = 0.1; /* above lr */
    sl_words_model *m;
    ASSERT_FAILS(sl_words_train(p, &c, &m, NULL), SL_ERR_ARG, "min_lr");
    c = small_config();
    c.negatives = (sl_words_negatives)7;
    ASSERT_FAILS(sl_words_train(p, &c, &m, NULL), SL_ERR_ARG, "negatives");
}

TEST(cbow_and_full_softmax_learn_the_topics) {
    const char *p = t_path("topics.txt");
    topic_corpus(p, 400, 2);
    for (int variant = 0; variant < 4; variant++) {
        sl_words_config c = small_config();
        c.arch = variant == 1 ? SL_WORDS_SKIPGRAM : SL_WORDS_CBOW;
        c.loss = variant == 1 || variant == 2 ? SL_WORDS_SOFTMAX : SL_WORDS_NEG;
        c.negatives = variant == 3 ? SL_WORDS_SHARED : SL_WORDS_PER_PAIR;
        c.lr = 0.05;
        sl_words_model *m;
        sl_words_stats st;
        ASSERT_OK(sl_words_train(p, &c, &m, &st));
        ASSERT_TRUE(isfinite(st.loss));
        if (c.loss == SL_WORDS_SOFTMAX) ASSERT_TRUE(st.loss < log(12.0)); /* better than uniform */
        ASSERT_TRUE(row_cos(m, "cow", "sheep") > row_cos(m, "cow", "truck") + 0.2);
        sl_words_model_destroy(m);
    }
}

static bool same_vectors(const sl_words_model *a, const sl_words_model *b) {
    if (sl_words_model_rows(a) != sl_words_model_rows(b)) return false;
    size_t d = (size_t)sl_words_model_dim(a);
    for (size_t r = 0; r < sl_words_model_rows(a); r++)
        if (memcmp(sl_words_model_row(a, r), sl_words_model_row(b, r), d * sizeof(float)) != 0) return false;
    for (size_t r = 0; r < sl_vocab_size(sl_words_model_vocab(a)); r++)
        if (memcmp(sl_words_model_output_row(a, r), sl_words_model_output_row(b, r), d * sizeof(float)) != 0)
            return false;
    return true;
}

/* The alias table's outcome probabilities, worked out exactly from its
 * entries, are count^exponent / Σ count^exponent. */
TEST(negatives_follow_count_to_the_exponent) {
    static const uint64_t count[] = {1000, 300, 100, 10, 3, 1, 1};
    enum { V = sizeof count / sizeof *count };
    static const double exps[] = {0, 0.5, 0.75, 1};
    for (size_t e = 0; e < sizeof exps / sizeof *exps; e++) {
        float aprob[V];
        uint32_t alias[V];
        ASSERT_OK(sl__words_alias_build(count, V, exps[e], aprob, alias));
        double p[V] = {0}, want[V], sum = 0;
        for (size_t i = 0; i < V; i++) {
            ASSERT_TRUE(alias[i] < V && aprob[i] >= 0 && aprob[i] <= 1);
            p[i] += aprob[i] / (double)V;
            p[alias[i]] += (1.0 - aprob[i]) / (double)V;
            sum += want[i] = pow((double)count[i], exps[e]);
        }
        for (size_t i = 0; i < V; i++) ASSERT_CLOSE(p[i], want[i] / sum, 1e-6, 1e-7);
    }
}

/* Saved vectors are input + context_weight x output rows; multi-sense
 * models keep their input rows; the exponent changes what is learnt. */
TEST(context_weight_and_ns_exponent_shape_the_vectors) {
    const char *p = t_path("topics.txt");
    topic_corpus(p, 100, 4);
    sl_words_config c = small_config();
    c.epochs = 2;
    c.context_weight = 0.25;
    sl_words_model *m, *m2;
    ASSERT_OK(sl_words_train(p, &c, &m, NULL));
    sl_wordvecs *w;
    ASSERT_OK(sl_words_model_export(m, &w));
    size_t d = (size_t)sl_words_model_dim(m), V = sl_vocab_size(sl_words_model_vocab(m));
    ASSERT_EQ_INT(w->n, V);
    for (size_t i = 0; i < V; i++)
        for (size_t k = 0; k < d; k++) {
            float want = sl_words_model_row(m, i)[k];
            want += 0.25f * sl_words_model_output_row(m, i)[k];
            ASSERT_TRUE(w->vecs[i * d + k] == want);
        }
    sl_wordvecs_destroy(w);
    c.ns_exponent = 0.75;
    ASSERT_OK(sl_words_train(p, &c, &m2, NULL));
    ASSERT_TRUE(!same_vectors(m, m2));
    sl_words_model_destroy(m);
    sl_words_model_destroy(m2);
    c.ns_exponent = 2.5;
    ASSERT_FAILS(sl_words_train(p, &c, &m, NULL), SL_ERR_ARG, "ns_exponent");
    c.ns_exponent = 0.5;
    c.context_weight = -1;
    ASSERT_FAILS(sl_words_train(p, &c, &m, NULL), SL_ERR_ARG, "context_weight");
}

TEST(one_thread_is_bit_reproducible_and_seed_matters) {
    const char *p = t_path("topics.txt");
    topic_corpus(p, 200, 4);
    for (int variant = 0; variant < 3; variant++) {
        sl_words_config c = small_config();
        c.epochs = 3;
        c.sample = 1e-2;
        c.negatives = variant == 1 ? SL_WORDS_SHARED : SL_WORDS_PER_PAIR;
        c.arch = variant == 2 ? SL_WORDS_CBOW : SL_WORDS_SKIPGRAM;
        sl_words_model *m1, *m2, *m3;
        ASSERT_OK(sl_words_train(p, &c, &m1, NULL));
        ASSERT_OK(sl_words_train(p, &c, &m2, NULL));
        c.seed = 8;
        ASSERT_OK(sl_words_train(p, &c, &m3, NULL));
        ASSERT_TRUE(same_vectors(m1, m2));
        ASSERT_TRUE(!same_vectors(m1, m3));
        sl_words_model_destroy(m1);
        sl_words_model_destroy(m2);
        sl_words_model_destroy(m3);
    }
}

TEST(resume_continues_exactly) {
    const char *p = t_path("topics.txt"), *ck = t_path("run.ckpt");
    topic_corpus(p, 200, 6);
    sl_words_config c = small_config();
    c.epochs = 3;
    c.sample = 1e-2;
    sl_words_model *full, *part, *rest;
    sl_words_stats st;
    ASSERT_OK(sl_words_train(p, &c, &full, &st));
    c.checkpoint = ck;
    c.stop_after_rounds = 11; /* mid-way through the second epoch */
    ASSERT_OK(sl_words_train(p, &c, &part, &st));
    ASSERT_TRUE(st.interrupted);
    ASSERT_TRUE(!same_vectors(full, part));
    sl_words_config r = small_config();
    r.checkpoint = ck;
    ASSERT_OK(sl_words_resume(p, ck, &r, &rest, &st));
    ASSERT_TRUE(!st.interrupted);
    ASSERT_TRUE(same_vectors(full, rest));
    sl_words_model_destroy(full);
    sl_words_model_destroy(part);
    sl_words_model_destroy(rest);
}

/* A learning rate far too high makes the vectors overflow: the run stops
 * at the round's end with SL_ERR_NUMERIC and a message (before, NaN indexed
 * the σ table and the process crashed), and writes no checkpoint of it. */
TEST(diverging_run_stops_with_a_message) {
    const char *p = t_path("topics.txt"), *ck = t_path("run.ckpt");
    topic_corpus(p, 400, 6);
    for (int pp = 0; pp < 2; pp++) {
        sl_words_config c = small_config();
        c.lr = 10;
        c.negatives = pp ? SL_WORDS_PER_PAIR : SL_WORDS_SHARED;
        c.checkpoint = ck;
        sl_words_model *m = NULL;
        ASSERT_EQ_INT(sl_words_train(p, &c, &m, NULL), SL_ERR_NUMERIC);
        ASSERT_CONTAINS(sl_error_message(), "the loss became non-finite in epoch 1 (the vectors diverged)");
        ASSERT_TRUE(m == NULL);
        ASSERT_TRUE(access(ck, F_OK) != 0);
    }
}

/* Offset of the per-chunk positions in a checkpoint: magic, version, 15
 * ints, 6 doubles, 5 u64, words_done, epoch, round, V, rows. */
#define CKPT_POS_AT (8 + 4 + 60 + 48 + 40 + 8 + 4 + 4 + 8 + 8)

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    ASSERT_TRUE(f != NULL);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(*n);
    ASSERT_EQ_SIZE(fread(buf, 1, *n, f), *n);
    fclose(f);
    return buf;
}

/* How many chunks of the current round a checkpoint (1 thread) records as
 * stopped part-way. */
static int chunks_part_way(const char *ck) {
    size_t n;
    unsigned char *buf = read_all(ck, &n);
    int part = 0;
    for (int c = 0; c < 16; c++) {
        uint64_t v;
        memcpy(&v, buf + CKPT_POS_AT + 8 * c, 8);
        if (v != 0 && v != UINT64_MAX) part++;
    }
    free(buf);
    return part;
}

/* A stop request inside a round (here the word counter; Ctrl-C takes the
 * same path) leaves a checkpoint that records how far each chunk got; the
 * resumed run gives exactly the vectors of an uninterrupted one, in both
 * modes, with the corpus kept in memory between epochs or re-read. */
TEST(stop_inside_a_round_resumes_exactly) {
    const char *p = t_path("topics.txt"), *ck = t_path("run.ckpt");
    topic_corpus(p, 2000, 6); /* 16,000 words an epoch, about 125 per chunk */
    for (int variant = 0; variant < 4; variant++) {
        sl_words_config c = small_config();
        c.epochs = 3;
        c.sample = 1e-2;
        c.negatives = variant & 1 ? SL_WORDS_SHARED : SL_WORDS_PER_PAIR;
        c.cache_mb = variant & 2 ? 0 : 64;
        sl_words_model *full, *part, *rest;
        sl_words_stats st, st2;
        ASSERT_OK(sl_words_train(p, &c, &full, &st));
        ASSERT_EQ_INT(st.raw_words, 3 * 16000);
        c.checkpoint = ck;
        c.stop_at_words = 16000 + 5003; /* inside the second epoch's third round */
        ASSERT_OK(sl_words_train(p, &c, &part, &st));
        ASSERT_TRUE(st.interrupted);
        if (!(st.raw_words >= 16000 + 5003 && st.raw_words < 16000 + 5003 + 100)) T_FAIL("stopped after %llu words", (unsigned long long)st.raw_words);
        ASSERT_EQ_INT(chunks_part_way(ck), 1);
        ASSERT_TRUE(!same_vectors(full, part));
        sl_words_config r = small_config();
        r.checkpoint = ck;
        ASSERT_OK(sl_words_resume(p, ck, &r, &rest, &st2));
        ASSERT_TRUE(!st2.interrupted);
        ASSERT_EQ_INT(st.raw_words + st2.raw_words, 3 * 16000); /* every word trained once */
        ASSERT_TRUE(same_vectors(full, rest));
        sl_words_model_destroy(full);
        sl_words_model_destroy(part);
        sl_words_model_destroy(rest);
    }
}

/* With two threads both stop inside their chunks; the resumed run trains
 * exactly the words the stopped one had not (the order of updates varies
 * with more than one thread, so the vectors are not compared; and on a
 * vocabulary of 12 words two threads updating the same rows at once make
 * the topics an unreliable check). */
TEST(two_threads_stop_inside_a_round_and_finish_on_resume) {
    const char *p = t_path("topics.txt"), *ck = t_path("run.ckpt");
    topic_corpus(p, 4000, 8);
    sl_words_config c = small_config();
    c.epochs = 2;
    c.threads = 2;
    c.checkpoint = ck;
    c.stop_at_words = 20011;
    sl_words_model *m;
    sl_words_stats st, st2;
    ASSERT_OK(sl_words_train(p, &c, &m, &st));
    ASSERT_TRUE(st.interrupted);
    sl_words_model_destroy(m);
    sl_words_config r = small_config();
    ASSERT_OK(sl_words_resume(p, ck, &r, &m, &st2));
    ASSERT_TRUE(!st2.interrupted);
    ASSERT_EQ_INT(st.raw_words + st2.raw_words, 2 * 32000);
    for (size_t i = 0; i < sl_words_model_rows(m); i++)
        for (int k = 0; k < sl_words_model_dim(m); k++) ASSERT_TRUE(isfinite(sl_words_model_row(m, i)[k]));
    sl_words_model_destroy(m);
}

/* The stop flag is polled at every sentence end, so a flag that is already
 * set stops training before its first sentence (the old behaviour, polling
 * between rounds, trained an eighth of an epoch first): the call returns
 * SL_ERR_INTERRUPTED and no model, and the checkpoint then resumes to the
 * uninterrupted result. While the vocabulary is being counted the flag ends
 * the call with SL_ERR_INTERRUPTED too, before any checkpoint. */
TEST(interrupt_flag_stops_within_a_sentence) {
    const char *p = t_path("topics.txt"), *ck = t_path("run.ckpt");
    topic_corpus(p, 400, 5);
    volatile sig_atomic_t flag = 1;
    sl_words_config c = small_config();
    c.epochs = 2;
    sl_words_model *full, *part, *rest;
    sl_words_stats st;
    ASSERT_OK(sl_words_train(p, &c, &full, &st));
    c.checkpoint = ck;
    c.stop = &flag;
    part = NULL;
    ASSERT_FAILS(sl_words_train(p, &c, &part, &st), SL_ERR_INTERRUPTED, "the state is in");
    ASSERT_TRUE(part == NULL);
    ASSERT_TRUE(st.interrupted);
    ASSERT_EQ_INT(st.raw_words, 0);
    /* A resume with the flag still set stops at once as well. */
    ASSERT_FAILS(sl_words_resume(p, ck, &c, &part, &st), SL_ERR_INTERRUPTED, "the state is in");
    ASSERT_TRUE(part == NULL);
    ASSERT_TRUE(st.interrupted);
    ASSERT_EQ_INT(st.raw_words, 0);
    flag = 0;
    ASSERT_OK(sl_words_resume(p, ck, &c, &rest, &st));
    ASSERT_TRUE(!st.interrupted);
    ASSERT_TRUE(same_vectors(full, rest));
    sl_words_model_destroy(full);
    sl_words_model_destroy(rest);
    /* 70,000 words: the vocabulary scan looks at the flag every 65,536. */
    topic_corpus(p, 70000 / 8 + 1, 5);
    flag = 1;
    c.checkpoint = t_path("never.ckpt");
    ASSERT_FAILS(sl_words_train(p, &c, &part, &st), SL_ERR_INTERRUPTED, "counting the vocabulary");
    FILE *f = fopen(c.checkpoint, "rb");
    ASSERT_TRUE(f == NULL);
}

/* Checkpoints of the first format (shared negatives, stopped between rounds)
 * and of the second (no negative exponent or context weight: they resume
 * with 0.75 and 0, what they were trained with) still resume. */
TEST(version_1_and_2_checkpoints_still_resume) {
    const char *p = t_path("topics.txt"), *ck = t_path("run.ckpt"), *ck1 = t_path("v1.ckpt");
    const char *ck2 = t_path("v2.ckpt");
    topic_corpus(p, 200, 6);
    sl_words_config c = small_config();
    c.epochs = 3;
    c.negatives = SL_WORDS_SHARED;
    c.ns_exponent = 0.75;
    c.context_weight = 0;
    sl_words_model *full, *part, *a, *b;
    ASSERT_OK(sl_words_train(p, &c, &full, NULL));
    c.checkpoint = ck;
    c.stop_after_rounds = 11;
    ASSERT_OK(sl_words_train(p, &c, &part, NULL));
    sl_words_model_destroy(part);
    size_t n;
    unsigned char *buf = read_all(ck, &n), *old = malloc(n);
    /* Version 1: 10 ints, 3 doubles, no chunk positions (16 with 1 thread);
     * the current version has 15 ints and 6 doubles. */
    size_t o = 0, i = 0;
    uint32_t one = 1;
    memcpy(old + o, buf, 8), o += 8, i += 8;
    memcpy(old + o, &one, 4), o += 4, i += 4;
    memcpy(old + o, buf + i, 40), o += 40, i += 60;
    memcpy(old + o, buf + i, 24), o += 24, i += 48;
    memcpy(old + o, buf + i, 40 + 8 + 4 + 4 + 8 + 8), o += 72, i += 72;
    i += 16 * 8;
    memcpy(old + o, buf + i, n - i), o += n - i;
    t_write_file(ck1, old, o);
    /* Version 2: version 4 without the last four ints (minn, maxn, bucket,
     * drop_bigrams) and the last two doubles (exponent, weight) of the
     * settings. */
    uint32_t two = 2;
    o = 0;
    memcpy(old, buf, 8), o += 8;
    memcpy(old + o, &two, 4), o += 4;
    memcpy(old + o, buf + 12, 44), o += 44;
    memcpy(old + o, buf + 12 + 60, 32), o += 32;
    memcpy(old + o, buf + 12 + 60 + 48, n - (12 + 60 + 48)), o += n - (12 + 60 + 48);
    t_write_file(ck2, old, o);
    sl_words_config r = small_config();
    ASSERT_OK(sl_words_resume(p, ck, &r, &a, NULL));
    ASSERT_OK(sl_words_resume(p, ck1, &r, &b, NULL));
    ASSERT_TRUE(same_vectors(a, b));
    ASSERT_TRUE(same_vectors(a, full));
    sl_words_model_destroy(b);
    ASSERT_OK(sl_words_resume(p, ck2, &r, &b, NULL));
    ASSERT_TRUE(same_vectors(a, b));
    sl_words_model_destroy(a);
    sl_words_model_destroy(b);
    sl_words_model_destroy(full);
    free(buf);
    free(old);
}

TEST(bad_checkpoints_fail_clearly) {
    const char *p = t_path("topics.txt"), *ck = t_path("run.ckpt");
    topic_corpus(p, 50, 6);
    sl_words_config c = small_config();
    c.epochs = 2;
    c.checkpoint = ck;
    c.stop_after_rounds = 3;
    sl_words_model *m;
    ASSERT_OK(sl_words_train(p, &c, &m, NULL));
    sl_words_model_destroy(m);
    FILE *f = fopen(ck, "rb");
    unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ASSERT_TRUE(n > 200 && n < sizeof buf);
    const char *bad = t_path("bad.ckpt");
    t_write_file(bad, buf, n - 10);
    ASSERT_FAILS(sl_words_resume(p, bad, &c, &m, NULL), SL_ERR_FORMAT, "truncated");
    t_write_file(bad, buf, 40);
    ASSERT_FAILS(sl_words_resume(p, bad, &c, &m, NULL), SL_ERR_FORMAT, "bad.ckpt");
    buf[0] = 'X';
    t_write_file(bad, buf, n);
    ASSERT_FAILS(sl_words_resume(p, bad, &c, &m, NULL), SL_ERR_FORMAT, "bad magic");
    buf[0] = 'S';
    /* An absurd vocabulary size in the header. */
    uint64_t huge = (uint64_t)1 << 60;
    memcpy(buf + 8 + 4 + 56 + 48 + 40 + 8 + 4 + 4, &huge, 8); /* V */
    t_write_file(bad, buf, n);
    ASSERT_FAILS(sl_words_resume(p, bad, &c, &m, NULL), SL_ERR_FORMAT, "impossible");
    ASSERT_FAILS(sl_words_resume(p, t_path("none.ckpt"), &c, &m, NULL), SL_ERR_IO, "none.ckpt");
    /* A different corpus. */
    write_text(t_path("other.txt"), "a b c\n");
    ASSERT_FAILS(sl_words_resume(t_path("other.txt"), ck, &c, &m, NULL), SL_ERR_STATE, "corpus");
}

TEST(multi_sense_recovers_a_planted_two_sense_word) {
    /* "bank" occurs with river words in half its lines and with money words
     * in the other half; the other words have one meaning. */
    static const char *river[] = {"river", "water", "fish", "shore", "boat", "stream"};
    static const char *money[] = {"money", "loan", "cash", "credit", "account", "deposit"};
    const char *p = t_path("bank.txt");
    FILE *f = fopen(p, "w");
    sl_rng r;
    sl_rng_seed(&r, 3, 0);
    for (int i = 0; i < 1500; i++) {
        const char **set = (i & 1) ? money : river;
        for (int k = 0; k < 7; k++) {
            if (k == 3) fputs(" bank", f);
            fprintf(f, "%s%s", k ? " " : "", set[sl_rng_below(&r, 6)]);
        }
        fputc('\n', f);
    }
    fclose(f);
    sl_words_config c = small_config();
    c.senses = 2;
    c.sense_min_count = 1000; /* only "bank" (1500) gets two senses */
    c.epochs = 5;
    sl_words_model *m;
    ASSERT_OK(sl_words_train(p, &c, &m, NULL));
    const sl_vocab *v = sl_words_model_vocab(m);
    long bank = sl_vocab_find(v, "bank"), fish = sl_vocab_find(v, "fish"), cash = sl_vocab_find(v, "cash");
    size_t first;
    int k;
    float prior[64];
    sl_words_model_senses(m, (size_t)fish, &first, &k, prior);
    ASSERT_EQ_INT(k, 1);
    sl_words_model_senses(m, (size_t)bank, &first, &k, prior);
    ASSERT_EQ_INT(k, 2);
    ASSERT_NEAR(prior[0] + prior[1], 1.0, 1e-5);
    ASSERT_TRUE(prior[0] > 0.3 && prior[1] > 0.3);
    /* Each sense vector predicts one topic: its score u(y)·v(bank,z) is
     * higher for that topic's words. */
    size_t d = (size_t)sl_words_model_dim(m);
    double s[2][2];
    for (int z = 0; z < 2; z++) {
        const float *x = sl_words_model_row(m, first + (size_t)z);
        const float *u[2] = {sl_words_model_output_row(m, (size_t)fish), sl_words_model_output_row(m, (size_t)cash)};
        for (int t = 0; t < 2; t++) {
            s[z][t] = 0;
            for (size_t q = 0; q < d; q++) s[z][t] += (double)x[q] * u[t][q];
        }
    }
    bool z0_river = s[0][0] > s[0][1];
    bool z1_river = s[1][0] > s[1][1];
    if (z0_river == z1_river) T_FAIL("both senses prefer the same topic: %g %g / %g %g", s[0][0], s[0][1], s[1][0], s[1][1]);
    sl_words_model_destroy(m);
}

/* Found by tests/fuzz/wordsckpt.c: when a thread's scratch could not be
 * allocated, scratch_alloc freed it and the training thread freed it again at
 * the end (a double free). A window of 1000 needs about 16 MB of scratch per
 * thread, which t_cap_allocations refuses: the run must fail with
 * SL_ERR_NOMEM. */
TEST(thread_scratch_out_of_memory_fails_cleanly) {
    t_cap_allocations((size_t)8 << 20);
    const char *corpus = t_path("c.txt");
    write_text(corpus, "the cat sat on the mat\nthe dog sat on the log\n");
    sl_words_config c = small_config();
    c.threads = 2;
    c.window = 1000;
    sl_words_model *m = NULL;
    ASSERT_FAILS(sl_words_train(corpus, &c, &m, NULL), SL_ERR_NOMEM, "out of memory for thread scratch");
    ASSERT_TRUE(m == NULL);
    t_cap_allocations(0);
}

/* Tests of subword vectors (fastText's character n-grams): the n-grams, their
 * buckets and the word and out-of-vocabulary vectors against fastText 0.9.2
 * (tests/fixtures/subword_fasttext.txt, made once by
 * tests/fixtures/make_subword_fixture.sh, so fastText is not needed here);
 * edge cases of the n-grams; a gradient check of the subword input; training
 * (quality on a tiny corpus, words outside the vocabulary, resume); the
 * .slsw model file and its bad forms; similarity with n-gram vectors. */
#include "test.h"
#include "words/words_internal.h"
#include "words_helpers.h"

#include <stdlib.h>

#define FIXTURE "tests/fixtures/subword_fasttext.txt"

/* ---- the fastText fixture -------------------------------------------------------*/
typedef struct {
    int dim, minn, maxn;
    uint32_t bucket;
    size_t nwords;
    char *vocab[64];
    size_t nv;
    float *rows; /* (nwords + bucket) x dim, rows the fixture lists; the rest 0 */
} ftfix;

static char *dup_str(const char *s) {
    char *d = malloc(strlen(s) + 1);
    strcpy(d, s);
    return d;
}

static void fix_load(ftfix *x) {
    memset(x, 0, sizeof *x);
    FILE *f = fopen(FIXTURE, "r");
    ASSERT_TRUE(f != NULL);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!strncmp(line, "settings ", 9)) {
            ASSERT_EQ_INT(sscanf(line + 9, "%d %d %d %u %zu", &x->dim, &x->minn, &x->maxn, &x->bucket, &x->nwords), 5);
            x->rows = calloc((x->nwords + x->bucket) * (size_t)x->dim, sizeof *x->rows);
        } else if (!strncmp(line, "vocab ", 6)) {
            ASSERT_TRUE(x->nv < 64);
            x->vocab[x->nv++] = dup_str(line + 6);
        } else if (!strncmp(line, "row ", 4)) {
            char *p = line + 4, *end;
            size_t r = strtoul(p, &end, 10);
            ASSERT_TRUE(x->rows && r < x->nwords + x->bucket);
            for (int c = 0; c < x->dim; c++) x->rows[r * (size_t)x->dim + (size_t)c] = strtof(end, &end);
        }
    }
    fclose(f);
    ASSERT_EQ_SIZE(x->nv, x->nwords);
}

static void fix_free(ftfix *x) {
    for (size_t i = 0; i < x->nv; i++) free(x->vocab[i]);
    free(x->rows);
}

/* The n-grams fastText lists for `word`, in order: "ngram WORD GRAM BUCKET". */
static size_t fix_ngrams(const char *word, char grams[][64], uint32_t *buckets, size_t cap) {
    FILE *f = fopen(FIXTURE, "r");
    ASSERT_TRUE(f != NULL);
    char line[4096], w[256], g[256];
    size_t n = 0;
    unsigned b;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "ngram ", 6) && sscanf(line + 6, "%255s %255s %u", w, g, &b) == 3 && !strcmp(w, word)) {
            ASSERT_TRUE(n < cap && strlen(g) < 64);
            strcpy(grams[n], g);
            buckets[n++] = b;
        }
    fclose(f);
    return n;
}

TEST(ngrams_and_buckets_match_fasttext) {
    ftfix x;
    fix_load(&x);
    static const char *queries[] = {"café", "Straße", "日本語", "a", "cat", "caféteria", "naïveté", "ß", "über", "Über",
                                    "xyz", "語", "q"};
    size_t checked = 0;
    for (size_t q = 0; q < sizeof queries / sizeof *queries; q++) {
        char grams[256][64];
        uint32_t want[256], got[256];
        uint8_t start[256], bytes[256];
        size_t n = fix_ngrams(queries[q], grams, want, 256);
        ASSERT_TRUE(n > 0);
        size_t len = strlen(queries[q]);
        size_t m = sl__subwords(queries[q], len, x.minn, x.maxn, x.bucket, got, start, bytes, 256);
        ASSERT_EQ_SIZE(m, n);
        char wrapped[256];
        snprintf(wrapped, sizeof wrapped, "<%s>", queries[q]);
        for (size_t k = 0; k < n; k++) {
            char g[64];
            memcpy(g, wrapped + start[k], bytes[k]);
            g[bytes[k]] = '\0';
            ASSERT_STREQ(g, grams[k]);
            ASSERT_EQ_INT(got[k], want[k]);
            checked++;
        }
    }
    ASSERT_TRUE(checked >= 100); /* the fixture holds 122 */
    fix_free(&x);
}

/* fastText's print-word-vectors output: vocabulary words (the mean of their
 * own row and their n-grams'), and words outside it (of their n-grams'). */
TEST(word_and_oov_vectors_match_fasttext) {
    ftfix x;
    fix_load(&x);
    sl_words_subword *sw;
    ASSERT_OK(sl_words_subword_create((const char *const *)x.vocab, NULL, x.nwords, (size_t)x.dim, x.minn, x.maxn,
                                      x.bucket, false, x.rows, &sw));
    FILE *f = fopen(FIXTURE, "r");
    char line[4096], word[256];
    size_t vectors = 0, oov = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "vector ", 7) != 0) continue;
        char *p = line + 7;
        ASSERT_EQ_INT(sscanf(p, "%255s", word), 1);
        p += strlen(word);
        float got[8];
        long row;
        size_t n = sl_words_subword_vector(sw, word, got, &row);
        oov += row < 0;
        ASSERT_TRUE(row >= 0 ? n == 0 : n > 0);
        for (int c = 0; c < x.dim; c++) {
            double want = strtod(p, &p);
            ASSERT_CLOSE(got[c], want, 1e-4, 2e-5); /* fastText prints 5 significant digits */
        }
        vectors++;
    }
    fclose(f);
    ASSERT_EQ_SIZE(vectors, 13);
    ASSERT_EQ_SIZE(oov, 7);
    sl_words_subword_destroy(sw);
    fix_free(&x);
}

/* ---- n-gram edge cases ---------------------------------------------------------------*/
TEST(hash_sign_extends_bytes_above_0x7f) {
    /* "é" is C3 A9: fastText xors 0xFFFFFFC3 and 0xFFFFFFA9, not 0xC3 and 0xA9. */
    uint32_t h = 2166136261u;
    h = (h ^ 0xFFFFFFC3u) * 16777619u;
    h = (h ^ 0xFFFFFFA9u) * 16777619u;
    ASSERT_EQ_INT(sl__ngram_hash("\xc3\xa9", 2), h);
    uint32_t u = 2166136261u;
    u = (u ^ 0xC3u) * 16777619u;
    u = (u ^ 0xA9u) * 16777619u;
    ASSERT_TRUE(h != u);
    ASSERT_EQ_INT(sl__ngram_hash("", 0), 2166136261u);
}

TEST(ngram_edge_cases) {
    uint32_t ids[4096];
    uint8_t st[4096], by[4096];
    /* "<>" alone: its 1-grams are "<" and ">" (skipped); a 2-gram "<>". */
    ASSERT_EQ_SIZE(sl__subwords("", 0, 1, 1, 100, ids, st, by, 4096), 0);
    ASSERT_EQ_SIZE(sl__subwords("", 0, 2, 3, 100, ids, st, by, 4096), 1);
    /* Fewer characters than minn (with "<" and ">"): none. */
    ASSERT_EQ_SIZE(sl__subwords("ab", 2, 5, 6, 100, ids, st, by, 4096), 0);
    /* Characters, not bytes: 日本語 has three 1-grams of 3 bytes each. */
    ASSERT_EQ_SIZE(sl__subwords("日本語", 9, 1, 1, 1000, ids, st, by, 4096), 3);
    for (int k = 0; k < 3; k++) ASSERT_TRUE(st[k] == 1 + 3 * k && by[k] == 3);
    /* All n-grams of "<abc>" for 1..5, less "<" and ">": 5+4+3+2+1-2. */
    ASSERT_EQ_SIZE(sl__subwords("abc", 3, 1, 5, 1000, ids, st, by, 4096), 13);
    /* The count is returned even when fewer fit. */
    ASSERT_EQ_SIZE(sl__subwords("abc", 3, 1, 5, 1000, ids, st, by, 2), 13);
    /* A long word: the vector functions cut it as the corpus reader does
     * (at 100 bytes, not inside a character). */
    char longw[301];
    for (int i = 0; i < 150; i++) memcpy(longw + 2 * i, "\xc3\xa9", 2);
    longw[300] = '\0';
    ASSERT_EQ_SIZE(sl__word_cut(longw, 300), 100);
    longw[0] = 'x'; /* now the 100th byte starts a character's second half */
    memmove(longw + 1, longw + 2, 299);
    ASSERT_EQ_SIZE(sl__word_cut(longw, 299), 99);
    ASSERT_EQ_SIZE(sl__ngram_cap(3, 6), 4 * (SL_WORDS_MAX_WORD + 2));
    ASSERT_TRUE(sl__subwords("x", 1, 3, 6, 1000, ids, NULL, NULL, 4096) <= sl__ngram_cap(3, 6));
}

/* A constructed model: an unknown word's vector is the mean of its n-grams'
 * rows; a word without n-grams gets zero; a lowercase model lowercases
 * queries; a vocabulary word's vector is the mean of its rows. */
TEST(oov_vector_is_the_mean_of_its_ngram_rows) {
    enum { V = 2, B = 7, D = 3 };
    const char *words[V] = {"ab", "cd"};
    float rows[(V + B) * D];
    for (int i = 0; i < (V + B) * D; i++) rows[i] = (float)((i * 37) % 11) - 5.0f;
    sl_words_subword *sw;
    ASSERT_OK(sl_words_subword_create(words, NULL, V, D, 2, 3, B, true, rows, &sw));
    uint32_t ids[64];
    size_t n = sl__subwords("xyz", 3, 2, 3, B, ids, NULL, NULL, 64);
    ASSERT_EQ_SIZE(n, 7); /* <x xy yz z> <xy xyz yz> */
    float want[D] = {0}, got[D];
    for (size_t k = 0; k < n; k++)
        for (int c = 0; c < D; c++) want[c] += rows[(V + ids[k]) * D + c];
    long row;
    ASSERT_EQ_SIZE(sl_words_subword_vector(sw, "xyz", got, &row), 7);
    ASSERT_EQ_INT(row, -1);
    for (int c = 0; c < D; c++) ASSERT_NEAR(got[c], want[c] / 7, 1e-5);
    /* Lowercased before hashing: "XYZ" is "xyz". */
    float up[D];
    ASSERT_EQ_SIZE(sl_words_subword_vector(sw, "XYZ", up, NULL), 7);
    ASSERT_TRUE(memcmp(up, got, sizeof up) == 0);
    /* The vocabulary word "cd": own row 1, n-grams of "<cd>". */
    n = sl__subwords("cd", 2, 2, 3, B, ids, NULL, NULL, 64);
    float mean[D];
    for (int c = 0; c < D; c++) {
        float s = rows[1 * D + c];
        for (size_t k = 0; k < n; k++) s += rows[(V + ids[k]) * D + c];
        mean[c] = s / (float)(n + 1);
    }
    ASSERT_EQ_SIZE(sl_words_subword_vector(sw, "CD", got, &row), 0);
    ASSERT_EQ_INT(row, 1);
    for (int c = 0; c < D; c++) ASSERT_NEAR(got[c], mean[c], 1e-5);
    sl_words_subword_destroy(sw);
    /* minn 4: "q" ("<q>", 3 characters) has no n-gram: the zero vector. */
    ASSERT_OK(sl_words_subword_create(words, NULL, V, D, 4, 5, B, false, rows, &sw));
    got[0] = 1;
    ASSERT_EQ_SIZE(sl_words_subword_vector(sw, "q", got, &row), 0);
    ASSERT_TRUE(row == -1 && got[0] == 0 && got[1] == 0 && got[2] == 0);
    sl_words_subword_destroy(sw);
    /* Bad settings and words are named. */
    ASSERT_FAILS(sl_words_subword_create(words, NULL, V, D, 4, 3, B, false, rows, &sw), SL_ERR_ARG, "minn 4, maxn 3");
    ASSERT_FAILS(sl_words_subword_create(words, NULL, V, D, 1, 3, 0, false, rows, &sw), SL_ERR_ARG, "bucket 0");
    const char *twice[V] = {"ab", "ab"};
    ASSERT_FAILS(sl_words_subword_create(twice, NULL, V, D, 1, 3, B, false, rows, &sw), SL_ERR_ARG, "listed twice");
}

/* ---- gradient check ---------------------------------------------------------------------*/
/* The input is the mean of k rows; each row receives the whole step of the
 * mean (fastText's update), so its move is k times -lr·∂L/∂row. Central
 * differences of L with respect to an n-gram row check it, and the output
 * rows' steps against their own differences. */
TEST(subword_input_gradient_check) {
    enum { K = 3, N = 4, Dm = 16 };
    sl_rng r;
    sl_rng_seed(&r, 9, 0);
    static float R[K][Dm], R0[K][Dm], B[N][Dm], B0[N][Dm];
    float *rows[K], *b[N], a[Dm], e[Dm];
    for (int j = 0; j < K; j++) {
        rows[j] = R[j];
        for (int c = 0; c < Dm; c++) R[j][c] = sl_rng_range(&r, -1, 1);
    }
    for (int k = 0; k < N; k++) {
        b[k] = B[k];
        for (int c = 0; c < Dm; c++) B[k][c] = sl_rng_range(&r, -1, 1);
    }
    memcpy(R0, R, sizeof R);
    memcpy(B0, B, sizeof B);
    double l0 = sl__w_sub_pair(NULL, rows, K, b, N, Dm, 0, a, e);
    ASSERT_TRUE(memcmp(R, R0, sizeof R) == 0 && memcmp(B, B0, sizeof B) == 0); /* lr 0 evaluates */
    ASSERT_TRUE(l0 > 0);
    const float lr = 0.25f, h = 1e-2f;
    sl__w_sub_pair(NULL, rows, K, b, N, Dm, lr, a, e);
    float dR[K][Dm], dB[N][Dm];
    for (int j = 0; j < K; j++)
        for (int c = 0; c < Dm; c++) dR[j][c] = (R[j][c] - R0[j][c]) / (-lr * K);
    for (int k = 0; k < N; k++)
        for (int c = 0; c < Dm; c++) dB[k][c] = (B[k][c] - B0[k][c]) / -lr;
    memcpy(R, R0, sizeof R);
    memcpy(B, B0, sizeof B);
    for (int j = 0; j < K; j++)
        for (int c = 0; c < Dm; c++) {
            float keep = R[j][c];
            R[j][c] = keep + h;
            double lp = sl__w_sub_pair(NULL, rows, K, b, N, Dm, 0, a, e);
            R[j][c] = keep - h;
            double lm = sl__w_sub_pair(NULL, rows, K, b, N, Dm, 0, a, e);
            R[j][c] = keep;
            ASSERT_CLOSE(dR[j][c], (lp - lm) / (2 * h), 2e-2, 2e-3);
        }
    for (int k = 0; k < N; k++)
        for (int c = 0; c < Dm; c++) {
            float keep = B[k][c];
            B[k][c] = keep + h;
            double lp = sl__w_sub_pair(NULL, rows, K, b, N, Dm, 0, a, e);
            B[k][c] = keep - h;
            double lm = sl__w_sub_pair(NULL, rows, K, b, N, Dm, 0, a, e);
            B[k][c] = keep;
            ASSERT_CLOSE(dB[k][c], (lp - lm) / (2 * h), 2e-2, 2e-3);
        }
}

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    ASSERT_TRUE(f != NULL);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    ASSERT_EQ_SIZE(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

/* ---- training ------------------------------------------------------------------------------*/
/* Two topics whose words share a suffix: "-ling" animals, "-mobile" vehicles. */
static const char *animals[] = {"horseling", "cowling", "sheepling", "goatling", "mouseling", "dogling"};
static const char *vehicles[] = {"carmobile", "busmobile", "trainmobile", "truckmobile", "bikemobile", "boatmobile"};

static void topic_corpus(const char *path, int lines, uint64_t seed) {
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

static sl_words_config sub_config(void) {
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
    c.minn = 3;
    c.maxn = 5;
    c.bucket = 5000;
    return c;
}

static double cosv(const float *x, const float *y, size_t d) {
    double xy = 0, xx = 0, yy = 0;
    for (size_t k = 0; k < d; k++) {
        xy += (double)x[k] * y[k];
        xx += (double)x[k] * x[k];
        yy += (double)y[k] * y[k];
    }
    return xy / sqrt(xx * yy);
}

static double word_cos(const sl_words_subword *sw, const char *a, const char *b) {
    float x[64], y[64];
    sl_words_subword_vector(sw, a, x, NULL);
    sl_words_subword_vector(sw, b, y, NULL);
    return cosv(x, y, sl_words_subword_vecs(sw)->dim);
}

/* Every mode learns the topics like the plain tests' bar, and words outside
 * the vocabulary ("pigling", "vanmobile") land in their suffix's topic. */
TEST(training_with_subwords_learns_topics_and_oov_words) {
    const char *p = t_path("topics.txt");
    topic_corpus(p, 600, 1);
    for (int variant = 0; variant < 5; variant++) {
        sl_words_config c = sub_config();
        c.negatives = variant == 0 || variant == 2 ? SL_WORDS_PER_PAIR : SL_WORDS_SHARED;
        c.arch = variant >= 2 && variant != 4 ? SL_WORDS_CBOW : SL_WORDS_SKIPGRAM;
        if (variant == 4) c.loss = SL_WORDS_SOFTMAX;
        sl_words_model *m;
        sl_words_stats st;
        ASSERT_OK(sl_words_train(p, &c, &m, &st));
        ASSERT_TRUE(st.loss > 0 && isfinite(st.loss));
        ASSERT_EQ_INT(sl_words_model_bucket(m), 5000);
        sl_words_subword *sw;
        ASSERT_OK(sl_words_subword_from_model(m, &sw));
        ASSERT_TRUE(word_cos(sw, "cowling", "dogling") > word_cos(sw, "cowling", "carmobile") + 0.3);
        ASSERT_TRUE(word_cos(sw, "busmobile", "boatmobile") > word_cos(sw, "busmobile", "sheepling") + 0.3);
        ASSERT_TRUE(word_cos(sw, "pigling", "horseling") > word_cos(sw, "pigling", "trainmobile") + 0.3);
        ASSERT_TRUE(word_cos(sw, "vanmobile", "bikemobile") > word_cos(sw, "vanmobile", "goatling") + 0.3);
        /* The exported vectors are the subword model's vocabulary vectors. */
        sl_wordvecs *w;
        ASSERT_OK(sl_words_model_export(m, &w));
        const sl_wordvecs *sv = sl_words_subword_vecs(sw);
        ASSERT_TRUE(w->n == sv->n && memcmp(w->vecs, sv->vecs, w->n * w->dim * sizeof(float)) == 0);
        sl_wordvecs_destroy(w);
        /* Saved straight from the model: the bytes of the subword model's file. */
        if (variant == 0) {
            ASSERT_OK(sl_words_model_save_subword(m, t_path("a.slsw")));
            ASSERT_OK(sl_words_subword_save(sw, t_path("b.slsw")));
            size_t na, nb;
            unsigned char *fa = read_all(t_path("a.slsw"), &na), *fb = read_all(t_path("b.slsw"), &nb);
            ASSERT_TRUE(na == nb && memcmp(fa, fb, na) == 0);
            free(fa);
            free(fb);
            int minn, maxn;
            sl_words_model_ngrams(m, &minn, &maxn);
            ASSERT_TRUE(minn == 3 && maxn == 5);
        }
        sl_words_subword_destroy(sw);
        sl_words_model_destroy(m);
    }
}


/* Stopped inside a round and resumed from the checkpoint (version 3, with
 * the bucket rows and the settings), the run ends with the bits of an
 * uninterrupted one, in both negatives modes. */
TEST(resume_with_subwords_continues_exactly) {
    const char *p = t_path("topics.txt");
    topic_corpus(p, 600, 6); /* 4,800 words an epoch */
    for (int mode = 0; mode < 2; mode++) {
        sl_words_config c = sub_config();
        c.epochs = 3;
        c.sample = 1e-2;
        c.negatives = mode ? SL_WORDS_SHARED : SL_WORDS_PER_PAIR;
        words_resume_matches(p, c, t_path("run.ckpt"), 4800 + 2003); /* inside the second epoch */
    }
}

/* With a context weight w a vocabulary word's vector is the mean of its input
 * rows plus w x its output row, in the exported vectors, the in-memory model
 * and the model file alike; words outside the vocabulary keep the mean of
 * their n-gram rows. Checkpoints before version 5 resume with weight 0 (the
 * input rows their subword models saved). */
TEST(context_weight_adds_output_rows_to_vocabulary_words) {
    const char *p = t_path("topics.txt"), *ck = t_path("cw.ckpt"), *ck4 = t_path("cw4.ckpt");
    topic_corpus(p, 100, 2);
    sl_words_config c = sub_config();
    c.epochs = 2;
    c.context_weight = 0;
    sl_words_model *m0, *m1;
    ASSERT_OK(sl_words_train(p, &c, &m0, NULL));
    c.context_weight = 0.5;
    ASSERT_OK(sl_words_train(p, &c, &m1, NULL));
    ASSERT_TRUE(words_same_model(m0, m1)); /* the weight changes what is saved, not what is learnt */
    ASSERT_TRUE(sl__words_context_weight(m1) == 0.5f);
    sl_wordvecs *w0, *w1;
    ASSERT_OK(sl_words_model_export(m0, &w0));
    ASSERT_OK(sl_words_model_export(m1, &w1));
    size_t d = w0->dim, moved = 0;
    for (size_t i = 0; i < w0->n; i++) {
        const float *o = sl_words_model_output_row(m1, i);
        for (size_t k = 0; k < d; k++) {
            float want = w0->vecs[i * d + k] + 0.5f * o[k];
            ASSERT_NEAR(w1->vecs[i * d + k], want, 1e-5 * (1 + fabsf(want)));
            moved += o[k] != 0;
        }
    }
    ASSERT_TRUE(moved > w0->n * d / 2);
    sl_words_subword *s0, *s1, *back;
    ASSERT_OK(sl_words_subword_from_model(m0, &s0));
    ASSERT_OK(sl_words_subword_from_model(m1, &s1));
    const sl_wordvecs *v1 = sl_words_subword_vecs(s1);
    ASSERT_TRUE(memcmp(v1->vecs, w1->vecs, w1->n * d * sizeof(float)) == 0);
    float x[16], y[16];
    ASSERT_TRUE(sl_words_subword_vector(s0, "zebraling", x, NULL) > 0);
    sl_words_subword_vector(s1, "zebraling", y, NULL);
    ASSERT_TRUE(memcmp(x, y, sizeof x) == 0);
    ASSERT_OK(sl_words_model_save_subword(m1, t_path("cw.slsw")));
    ASSERT_OK(sl_words_subword_load(t_path("cw.slsw"), &back));
    ASSERT_TRUE(memcmp(sl_words_subword_vecs(back)->vecs, w1->vecs, w1->n * d * sizeof(float)) == 0);
    sl_words_subword_vector(back, "zebraling", y, NULL);
    ASSERT_TRUE(memcmp(x, y, sizeof x) == 0);
    sl_words_subword_destroy(back);
    sl_words_subword_destroy(s0);
    sl_words_subword_destroy(s1);
    sl_wordvecs_destroy(w0);
    sl_wordvecs_destroy(w1);
    sl_words_model_destroy(m0);
    sl_words_model_destroy(m1);
    /* A version 4 checkpoint (the same layout) of a subword model resumes with weight 0. */
    c.context_weight = 0.25;
    c.checkpoint = ck;
    c.stop_at_words = 700;
    sl_words_stats st;
    ASSERT_OK(sl_words_train(p, &c, &m0, &st));
    ASSERT_TRUE(st.interrupted);
    sl_words_model_destroy(m0);
    size_t n;
    unsigned char *buf = read_all(ck, &n);
    uint32_t four = 4;
    memcpy(buf + 8, &four, 4);
    t_write_file(ck4, buf, n);
    free(buf);
    sl_words_config r;
    sl_words_config_default(&r);
    ASSERT_OK(sl_words_resume(p, ck, &r, &m0, NULL));
    ASSERT_OK(sl_words_resume(p, ck4, &r, &m1, NULL));
    ASSERT_TRUE(words_same_model(m0, m1));
    ASSERT_TRUE(sl__words_context_weight(m0) == 0.25f && sl__words_context_weight(m1) == 0.0f);
    sl_words_model_destroy(m0);
    sl_words_model_destroy(m1);
}

TEST(bad_subword_settings_are_refused) {
    const char *p = t_path("topics.txt");
    topic_corpus(p, 20, 1);
    sl_words_model *m;
    sl_words_config c = sub_config();
    c.senses = 2;
    ASSERT_FAILS(sl_words_train(p, &c, &m, NULL), SL_ERR_ARG, "do not combine with multi-sense");
    c = sub_config();
    c.minn = 0;
    ASSERT_FAILS(sl_words_train(p, &c, &m, NULL), SL_ERR_ARG, "minn 0, maxn 5");
    c = sub_config();
    c.maxn = SL_WORDS_MAX_NGRAM + 1;
    ASSERT_FAILS(sl_words_train(p, &c, &m, NULL), SL_ERR_ARG, "maxn 101");
    c = sub_config();
    c.bucket = 0;
    ASSERT_FAILS(sl_words_train(p, &c, &m, NULL), SL_ERR_ARG, "bucket 0");
    /* Without subwords there is no subword model. */
    c = sub_config();
    c.maxn = 0;
    c.epochs = 1;
    ASSERT_OK(sl_words_train(p, &c, &m, NULL));
    ASSERT_EQ_INT(sl_words_model_bucket(m), 0);
    ASSERT_TRUE(sl_words_model_bucket_row(m, 0) == NULL);
    sl_words_subword *sw;
    ASSERT_FAILS(sl_words_subword_from_model(m, &sw), SL_ERR_ARG, "without subwords");
    sl_words_model_destroy(m);
}

/* ---- the .slsw file ---------------------------------------------------------------------*/
static uint64_t fnv1a64(const unsigned char *b, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static sl_words_subword *trained_model(void) {
    const char *p = t_path("topics.txt");
    topic_corpus(p, 100, 3);
    sl_words_config c = sub_config();
    c.epochs = 2;
    c.bucket = 50;
    c.vocab.lowercase = true;
    sl_words_model *m;
    ASSERT_OK(sl_words_train(p, &c, &m, NULL));
    sl_words_subword *sw;
    ASSERT_OK(sl_words_subword_from_model(m, &sw));
    sl_words_model_destroy(m);
    return sw;
}

TEST(model_file_round_trip) {
    sl_words_subword *sw = trained_model(), *back;
    const char *f = t_path("m.slsw");
    ASSERT_OK(sl_words_subword_save(sw, f));
    ASSERT_TRUE(sl_words_subword_file(f));
    ASSERT_OK(sl_words_subword_load(f, &back));
    int minn, maxn;
    uint32_t bucket;
    bool lower;
    sl_words_subword_settings(back, &minn, &maxn, &bucket, &lower);
    ASSERT_TRUE(minn == 3 && maxn == 5 && bucket == 50 && lower);
    const sl_wordvecs *a = sl_words_subword_vecs(sw), *b = sl_words_subword_vecs(back);
    ASSERT_TRUE(a->n == b->n && a->dim == b->dim && memcmp(a->vecs, b->vecs, a->n * a->dim * 4) == 0);
    for (size_t i = 0; i < a->n; i++) ASSERT_STREQ(a->words[i], b->words[i]);
    ASSERT_EQ_INT(sl_words_subword_counts(back)[0], sl_words_subword_counts(sw)[0]);
    float x[16], y[16];
    ASSERT_TRUE(sl_words_subword_vector(sw, "Zebraling", x, NULL) > 0);
    sl_words_subword_vector(back, "zebraling", y, NULL);
    ASSERT_TRUE(memcmp(x, y, sizeof x) == 0);
    /* sl_words_load reads it as the vocabulary's vectors. */
    sl_wordvecs *w;
    ASSERT_OK(sl_words_load(f, &w));
    ASSERT_TRUE(w->n == a->n && memcmp(w->vecs, a->vecs, a->n * a->dim * 4) == 0);
    sl_wordvecs_destroy(w);
    sl_words_subword_destroy(back);
    sl_words_subword_destroy(sw);
}

TEST(bad_model_files_fail_clearly) {
    sl_words_subword *sw = trained_model(), *m;
    const char *f = t_path("m.slsw"), *bad = t_path("bad.slsw");
    ASSERT_OK(sl_words_subword_save(sw, f));
    sl_words_subword_destroy(sw);
    size_t n;
    unsigned char *b = read_all(f, &n);
    t_write_file(bad, b, 6);
    ASSERT_FAILS(sl_words_subword_load(bad, &m), SL_ERR_FORMAT, "bad.slsw: byte 0: file ends inside the magic");
    t_write_file(bad, b, n - 100);
    ASSERT_FAILS(sl_words_subword_load(bad, &m), SL_ERR_FORMAT, "bad.slsw: checksum mismatch");
    b[0] ^= 1;
    t_write_file(bad, b, n);
    ASSERT_FAILS(sl_words_subword_load(bad, &m), SL_ERR_FORMAT, "bad.slsw: byte 0: not a simlearn subword model");
    ASSERT_TRUE(!sl_words_subword_file(bad));
    b[0] ^= 1;
    b[8] = 9; /* version */
    t_write_file(bad, b, n);
    ASSERT_FAILS(sl_words_subword_load(bad, &m), SL_ERR_FORMAT, "bad.slsw: byte 8: format version 9");
    b[8] = 1;
    b[n - 20] ^= 0x40; /* a row */
    t_write_file(bad, b, n);
    ASSERT_FAILS(sl_words_subword_load(bad, &m), SL_ERR_FORMAT, "checksum mismatch");
    b[n - 20] ^= 0x40;
    /* A consistent checksum over bad content: minn > maxn, a word of length 0. */
    uint64_t sum;
    uint32_t minn = 9;
    memcpy(b + 20, &minn, 4);
    sum = fnv1a64(b, n - 8);
    memcpy(b + n - 8, &sum, 8);
    t_write_file(bad, b, n);
    ASSERT_FAILS(sl_words_subword_load(bad, &m), SL_ERR_FORMAT, "bad.slsw: byte 12: subword model: minn 9, maxn 5");
    minn = 3;
    memcpy(b + 20, &minn, 4);
    uint32_t zero = 0;
    memcpy(b + 40, &zero, 4); /* the first word's length */
    sum = fnv1a64(b, n - 8);
    memcpy(b + n - 8, &sum, 8);
    t_write_file(bad, b, n);
    ASSERT_FAILS(sl_words_subword_load(bad, &m), SL_ERR_FORMAT, "bad.slsw: byte 40: word 0 has length 0");
    ASSERT_FAILS(sl_words_subword_load(t_path("none.slsw"), &m), SL_ERR_IO, "none.slsw");
    free(b);
}

/* Similarity: a pair with an unknown word is scored by its n-gram vector
 * and counted in by_ngrams; a word without n-grams leaves its pair out. */
TEST(similarity_uses_ngram_vectors) {
    sl_words_subword *sw = trained_model();
    const char *pairs = t_path("pairs.txt");
    FILE *f = fopen(pairs, "w");
    fprintf(f, "horseling cowling 9\nhorseling carmobile 1\npigling dogling 8\nvanmobile busmobile 9\n"
               "pigling vanmobile 2\nxx horseling 5\n");
    fclose(f);
    sl_similarity_result r;
    ASSERT_OK(sl_words_subword_similarity(sw, pairs, &r));
    ASSERT_EQ_SIZE(r.pairs, 6);
    ASSERT_EQ_SIZE(r.used, 6); /* "xx": "<xx" "xx>" "<xx>" are n-grams of 3+ characters */
    ASSERT_EQ_SIZE(r.by_ngrams, 4);
    ASSERT_OK(sl_words_similarity(sl_words_subword_vecs(sw), pairs, &r));
    ASSERT_TRUE(r.used == 2 && r.by_ngrams == 0);
    sl_words_subword_destroy(sw);
}

/* ---- command line ----------------------------------------------------------------------*/
static void write_pairs(const char *path) {
    FILE *f = fopen(path, "w");
    fprintf(f, "horseling cowling 9\nhorseling carmobile 1\npigling dogling 8\nvanmobile busmobile 9\n"
               "pigling vanmobile 2\n");
    fclose(f);
}


TEST(cli_train_nearest_vector_similarity_analogy) {
    const char *corpus = t_path("c.txt"), *v = t_path("v.vec"), *m = t_path("v.slsw"), *pairs = t_path("p.txt");
    topic_corpus(corpus, 600, 2);
    char cmd[4096], *out;
    snprintf(cmd, sizeof cmd,
             "%s words train %s -o %s --format text --dim 16 --min-count 1 --sample 0 --epochs 8 --threads 1 "
             "--minn 4 --maxn 5 --bucket 3000 -q", t_simlearn(), corpus, v);
    out = words_run_ok(cmd, 0);
    ASSERT_CONTAINS(out, "(subword model: n-grams of 4 to 5 characters in 3000 buckets)");
    ASSERT_CONTAINS(out, "wrote ");
    ASSERT_CONTAINS(out, "v.slsw");
    free(out);
    /* With subwords the learning rate is SL_WORDS_SUBWORD_LR unless given. */
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd,
                 "%s words train %s -o %s.lr --format text --dim 16 --min-count 1 --sample 0 --epochs 8 --threads 1 "
                 "--minn 4 --maxn 5 --bucket 3000 -q --lr %s --save-model %s.lr.slsw && cmp -s %s %s.lr",
                 t_simlearn(), corpus, v, i ? "0.055" : "0.045", m, v, v);
        free(words_run_ok(cmd, i));
    }
    snprintf(cmd, sizeof cmd, "%s words nearest %s pigling horseling -k 3", t_simlearn(), m);
    out = words_run_ok(cmd, 0);
    ASSERT_CONTAINS(out, "'pigling' is not in the vocabulary: its vector is the mean of 11 character n-grams");
    ASSERT_TRUE(!strstr(out, "mobile")); /* 3 neighbours each, all animals */
    free(out);
    /* "ab" ("<ab>", 4 characters) has one 4-gram; "a" has none. */
    snprintf(cmd, sizeof cmd, "%s words vector %s cowling ab a", t_simlearn(), m);
    out = words_run_ok(cmd, 0);
    ASSERT_CONTAINS(out, "'a' has no character n-gram: zero vector");
    ASSERT_CONTAINS(out, "a 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"); /* stderr's note may come first */
    ASSERT_CONTAINS(out, "cowling ");
    ASSERT_CONTAINS(out, "ab ");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words vector %s pigling", t_simlearn(), v);
    out = words_run_ok(cmd, 1);
    ASSERT_CONTAINS(out, "'pigling' is not in the vocabulary");
    free(out);
    write_pairs(pairs);
    snprintf(cmd, sizeof cmd, "%s words similarity %s --pairs %s && %s words similarity %s --pairs %s", t_simlearn(), m,
             pairs, t_simlearn(), v, pairs);
    out = words_run_ok(cmd, 0);
    ASSERT_CONTAINS(out, "pairs 5/5 (0.0% unknown), 3 with a word known only by its character n-grams");
    ASSERT_CONTAINS(out, "pairs 2/5 (60.0% unknown)\n");
    free(out);
    snprintf(cmd, sizeof cmd, "printf ': t\\nhorseling cowling carmobile busmobile\\n' > %s.q && %s words analogy %s "
             "--questions %s.q", pairs, t_simlearn(), m, pairs);
    out = words_run_ok(cmd, 0);
    ASSERT_CONTAINS(out, "questions seen 1 of 1");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words nearest %s horseling --abtt 1", t_simlearn(), m);
    out = words_run_ok(cmd, 2);
    ASSERT_CONTAINS(out, "--abtt does not apply to a subword model");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words train %s -o %s --save-model %s -q", t_simlearn(), corpus, v, m);
    out = words_run_ok(cmd, 2);
    ASSERT_CONTAINS(out, "--save-model needs subwords (--maxn)");
    free(out);
    snprintf(cmd, sizeof cmd, "head -c 300 %s > %s.bad && %s words nearest %s.bad horseling", m, m, t_simlearn(), m);
    out = words_run_ok(cmd, 1);
    ASSERT_CONTAINS(out, "v.slsw.bad: checksum mismatch");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words train %s -o %s --senses 2 --maxn 5 -q", t_simlearn(), corpus, v);
    out = words_run_ok(cmd, 1);
    ASSERT_CONTAINS(out, "do not combine with multi-sense");
    free(out);
}

/* Means are taken in double: rows near FLT_MAX (finite, as a model file may
 * hold them) give a finite mean where float sums would overflow to inf. */
TEST(means_of_huge_rows_stay_finite) {
    enum { V = 1, B = 3, D = 2 };
    const char *words[V] = {"abcdef"};
    float rows[(V + B) * D];
    for (int i = 0; i < (V + B) * D; i++) rows[i] = 3e38f;
    sl_words_subword *sw;
    ASSERT_OK(sl_words_subword_create(words, NULL, V, D, 1, 3, B, false, rows, &sw));
    float v[D];
    ASSERT_TRUE(sl_words_subword_vector(sw, "xyzxyz", v, NULL) > 1);
    ASSERT_TRUE(v[0] == 3e38f && v[1] == 3e38f);
    ASSERT_EQ_SIZE(sl_words_subword_vector(sw, "abcdef", v, NULL), 0);
    ASSERT_TRUE(v[0] == 3e38f && v[1] == 3e38f);
    sl_words_subword_destroy(sw);
}

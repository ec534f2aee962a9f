/* Tests of the sent2vec architecture and sentence models: one line's
 * training against its naive twin and against central differences of its
 * loss; the sentence model's line vectors on a hand-made case; training
 * (topics of lines told apart, resume, bad settings); the .slsw file of a
 * sentence model. */
#include "test.h"
#include "words/words_internal.h"
#include "words_helpers.h"

#include <stdlib.h>

#define D 16 /* a multiple of SL__WALIGN */

/* A line's rows and scratch for sl__s2v_line: V word rows then B bucket rows
 * (input), V output rows. */
typedef struct {
    size_t V, B, len, K;
    float *in, *out, *E, *M, *P, *h;
    double *acc, *ctx;
    uint32_t *big;
    const float **b;
    sl__s2v_scratch s;
} line_case;

static float *aligned(size_t n) {
    float *p = aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64);
    ASSERT_TRUE(p != NULL);
    return p;
}

static void case_init(line_case *c, size_t V, size_t B, size_t len, size_t K, uint64_t seed) {
    memset(c, 0, sizeof *c);
    c->V = V, c->B = B, c->len = len, c->K = K;
    c->in = aligned((V + B) * D);
    c->out = aligned(V * D);
    c->E = aligned(len * D);
    c->M = aligned(len * D);
    c->P = aligned(D);
    c->h = aligned(D);
    c->acc = calloc(D, sizeof *c->acc);
    c->ctx = calloc(D, sizeof *c->ctx);
    c->big = calloc(len, sizeof *c->big);
    c->b = calloc(K + 1, sizeof *c->b);
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < (V + B) * D; i++) c->in[i] = (sl_rng_uniform(&r) - 0.5f) * 0.8f;
    for (size_t i = 0; i < V * D; i++) c->out[i] = (sl_rng_uniform(&r) - 0.5f) * 0.8f;
    c->s = (sl__s2v_scratch){c->E, c->M, c->P, c->h, c->acc, c->ctx, c->big, c->b};
}

static void case_free(line_case *c) {
    free(c->in);
    free(c->out);
    free(c->E);
    free(c->M);
    free(c->P);
    free(c->h);
    free(c->acc);
    free(c->ctx);
    free(c->big);
    free(c->b);
}

static const uint32_t SENT[] = {3, 7, 1, 9, 4, 0, 6};
#define LEN (sizeof SENT / sizeof *SENT)
static const uint8_t PRED[LEN] = {1, 1, 0, 1, 1, 1, 0};
/* K = 3 negatives per word; word 1's include the word itself (left out). */
static const uint32_t NEG[LEN * 3] = {2, 5, 8, 8, 7, 2, 5, 5, 5, 0, 2, 3, 11, 10, 5, 2, 8, 9, 1, 1, 1};

/* The line's bigram buckets are distinct (so the naive twin applies). */
static void assert_distinct_buckets(uint32_t B) {
    for (size_t i = 0; i + 1 < LEN; i++)
        for (size_t j = i + 1; j + 1 < LEN; j++)
            ASSERT_TRUE(sl__bigram_bucket(SENT[i], SENT[i + 1], B) != sl__bigram_bucket(SENT[j], SENT[j + 1], B));
}

/* Two bigrams dropped from each prediction's context (positions that do not
 * contain the word; UINT32_MAX ends a list early). */
static const uint32_t DROP[LEN * 2] = {3, 5, 4, UINT32_MAX, 0, 5, 1, 4, 0, 5, 2, 1, 1, 3};

/* The O(len·d) line equals its twin that writes every step at once, for the
 * exact σ and the table's, with and without skipped words and dropped
 * bigrams. */
TEST(line_matches_naive_twin) {
    sl__wtab tab;
    sl__wtab_init(&tab);
    assert_distinct_buckets(40);
    for (int variant = 0; variant < 5; variant++) {
        line_case a, b;
        case_init(&a, 12, 40, LEN, 3, 5);
        case_init(&b, 12, 40, LEN, 3, 5);
        uint8_t all[LEN];
        memset(all, 1, sizeof all);
        const uint8_t *pred = variant == 1 || variant == 4 ? PRED : all;
        const sl__wtab *t = variant == 2 ? &tab : NULL;
        sl__s2v_input x = {SENT, LEN, pred, NEG, 3, variant >= 3 ? DROP : NULL, variant >= 3 ? 2 : 0};
        double la = sl__s2v_line(t, a.in, a.out, D, 12, 40, &x, 0.3f, &a.s);
        double lb = sl__s2v_line_ref(t, b.in, b.out, D, 12, 40, &x, 0.3f, &b.s);
        ASSERT_NEAR(la, lb, 1e-5 * fabs(lb));
        double moved = 0;
        for (size_t i = 0; i < (a.V + a.B) * D; i++) ASSERT_NEAR(a.in[i], b.in[i], 2e-6);
        for (size_t i = 0; i < a.V * D; i++) ASSERT_NEAR(a.out[i], b.out[i], 2e-6);
        line_case z;
        case_init(&z, 12, 40, LEN, 3, 5);
        for (size_t i = 0; i < (a.V + a.B) * D; i++) moved += fabs(a.in[i] - z.in[i]);
        ASSERT_TRUE(moved > 1e-2); /* the rows did move */
        case_free(&z);
        case_free(&a);
        case_free(&b);
    }
}

/* With a small learning rate the line's change of every row is -lr times the
 * gradient of its loss (the sum over its predictions, each from the mean of
 * its context, dropped bigrams left out), checked against central
 * differences. */
TEST(line_step_is_the_gradient_of_its_loss) {
    assert_distinct_buckets(40);
    line_case c;
    case_init(&c, 12, 40, LEN, 3, 9);
    size_t nin = (c.V + c.B) * D, nout = c.V * D;
    float *in0 = malloc(nin * sizeof *in0), *out0 = malloc(nout * sizeof *out0);
    memcpy(in0, c.in, nin * sizeof *in0);
    memcpy(out0, c.out, nout * sizeof *out0);
    const float lr = 1e-4f;
    sl__s2v_input line = {SENT, LEN, PRED, NEG, 3, DROP, 2};
    sl__s2v_line(NULL, c.in, c.out, D, 12, 40, &line, lr, &c.s);
    float *in1 = malloc(nin * sizeof *in1), *out1 = malloc(nout * sizeof *out1); /* after the step */
    memcpy(in1, c.in, nin * sizeof *in1);
    memcpy(out1, c.out, nout * sizeof *out1);
    size_t checked = 0;
    for (int side = 0; side < 2; side++) {
        float *x = side ? c.out : c.in, *x0 = side ? out0 : in0, *x1 = side ? out1 : in1;
        size_t n = side ? nout : nin;
        float *grad_step = malloc(n * sizeof *grad_step);
        for (size_t i = 0; i < n; i++) grad_step[i] = (x0[i] - x1[i]) / lr; /* the step's gradient */
        memcpy(c.in, in0, nin * sizeof *in0);
        memcpy(c.out, out0, nout * sizeof *out0);
        for (size_t i = 0; i < n; i += 3) {
            const float eps = 1e-2f;
            float keep = x[i];
            x[i] = keep + eps;
            double lp = sl__s2v_line(NULL, c.in, c.out, D, 12, 40, &line, 0, &c.s);
            x[i] = keep - eps;
            double lm = sl__s2v_line(NULL, c.in, c.out, D, 12, 40, &line, 0, &c.s);
            x[i] = keep;
            double g = (lp - lm) / (2 * eps);
            ASSERT_NEAR(grad_step[i], g, 2e-3 + 1e-2 * fabs(g));
            if (fabs(g) > 1e-3) checked++;
        }
        free(grad_step);
    }
    ASSERT_TRUE(checked > 40); /* rows of words, bigrams, targets and negatives all took part */
    free(in0);
    free(out0);
    free(in1);
    free(out1);
    case_free(&c);
}

/* A sentence model built by hand: a line's vector is the mean of its known
 * words' rows and of the rows of the bigrams of known words that follow each
 * other once the unknown ones are left out. */
TEST(line_vector_is_the_mean_of_word_and_bigram_rows) {
    const char *words[] = {"a", "b", "c"};
    const size_t V = 3, B = 7, d = 2;
    float rows[(3 + 7) * 2];
    for (size_t i = 0; i < (V + B) * d; i++) rows[i] = (float)(i + 1) * (i % 2 ? -0.5f : 1.0f);
    sl_words_subword *sm;
    ASSERT_OK(sl_words_subword_create(words, NULL, V, d, 0, 0, (uint32_t)B, false, rows, &sm));
    int minn, maxn;
    uint32_t bucket;
    sl_words_subword_settings(sm, &minn, &maxn, &bucket, NULL);
    ASSERT_TRUE(minn == 0 && maxn == 0 && bucket == B);
    sl_words_embed_config c;
    sl_words_embed_config_default(&c);
    c.method = SL_WORDS_MODEL_MEAN;
    c.model = sm;
    const char *lines[] = {"a b zz c", "b", "zz", "A c"};
    float out[4 * 2];
    sl_words_embed_stats st;
    ASSERT_OK(sl_words_embed(sl_words_subword_vecs(sm), &c, lines, 4, out, NULL, &st));
    const float *ab = rows + (V + sl__bigram_bucket(0, 1, B)) * d, *bc = rows + (V + sl__bigram_bucket(1, 2, B)) * d;
    const float *ac = rows + (V + sl__bigram_bucket(0, 2, B)) * d;
    for (size_t k = 0; k < d; k++) {
        ASSERT_NEAR(out[k], (rows[k] + rows[d + k] + rows[2 * d + k] + ab[k] + bc[k]) / 5, 1e-6);
        ASSERT_NEAR(out[d + k], rows[d + k], 1e-7);
        ASSERT_NEAR(out[2 * d + k], 0, 0);
        ASSERT_NEAR(out[3 * d + k], (rows[k] + rows[2 * d + k] + ac[k]) / 3, 1e-6); /* "A" is "a" ignoring case */
    }
    ASSERT_EQ_SIZE(st.empty, 1);
    ASSERT_TRUE(st.words == 8 && st.known == 6);
    /* A word outside the vocabulary has no vector in a sentence model. */
    float v[2] = {9, 9};
    long row;
    ASSERT_EQ_SIZE(sl_words_subword_vector(sm, "zz", v, &row), 0);
    ASSERT_TRUE(row == -1 && v[0] == 0 && v[1] == 0);
    /* Without a sentence model, or with vectors not its own: refused. */
    c.model = NULL;
    ASSERT_FAILS(sl_words_embed(sl_words_subword_vecs(sm), &c, lines, 4, out, NULL, NULL), SL_ERR_ARG, "no sentence model");
    c.model = sm;
    sl_wordvecs *other;
    ASSERT_OK(sl_wordvecs_create(3, 2, &other));
    ASSERT_FAILS(sl_words_embed(other, &c, lines, 4, out, NULL, NULL), SL_ERR_ARG, "must be the sentence model");
    sl_wordvecs_destroy(other);
    /* A subword model is not a sentence model. */
    sl_words_subword *sub;
    ASSERT_OK(sl_words_subword_create(words, NULL, V, d, 1, 2, (uint32_t)B, false, rows, &sub));
    c.model = sub;
    ASSERT_FAILS(sl_words_embed(sl_words_subword_vecs(sub), &c, lines, 4, out, NULL, NULL), SL_ERR_ARG, "not a sentence model");
    sl_words_subword_destroy(sub);
    /* minn 0 with maxn > 0 is neither. */
    ASSERT_FAILS(sl_words_subword_create(words, NULL, V, d, 0, 2, (uint32_t)B, false, rows, &sub), SL_ERR_ARG, "minn 0, maxn 2");
    sl_words_subword_destroy(sm);
}

/* ---- training ------------------------------------------------------------------*/
static const char *animals[] = {"cow", "dog", "pig", "horse", "sheep", "goat", "cat", "hen"};
static const char *vehicles[] = {"car", "bus", "train", "boat", "bike", "van", "truck", "ship"};
static const char *foods[] = {"bread", "rice", "soup", "cake", "apple", "cheese", "bean", "pie"};

/* Lines of 6 words of one topic (topic i % 3). */
static void topic_lines(const char *path, int lines, uint64_t seed) {
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    for (int i = 0; i < lines; i++) {
        const char **set = i % 3 == 0 ? animals : i % 3 == 1 ? vehicles : foods;
        for (int k = 0; k < 6; k++) fprintf(f, "%s%s", k ? " " : "", set[sl_rng_below(&r, 8)]);
        fputc('\n', f);
    }
    fclose(f);
}

static sl_words_config s2v_config(void) {
    sl_words_config c;
    sl_words_config_default(&c);
    c.arch = SL_WORDS_SENT2VEC;
    c.dim = 16;
    c.negative = 4;
    c.sample = 0;
    c.lr = 0.5;
    c.epochs = 5;
    c.threads = 1;
    c.seed = 3;
    c.vocab.min_count = 1;
    c.bucket = 3000;
    return c;
}

static double cosine(const float *a, const float *b, size_t d) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t k = 0; k < d; k++) ab += (double)a[k] * b[k], aa += (double)a[k] * a[k], bb += (double)b[k] * b[k];
    return ab / sqrt(aa * bb);
}

/* Trained on lines of three topics, the sentence model puts new lines of a
 * topic nearest to the lines of that topic; the model file round-trips and
 * embeds the same; the exported vectors are the word rows. */
TEST(training_tells_topics_of_lines_apart) {
    const char *p = t_path("lines.txt");
    topic_lines(p, 900, 1);
    for (int threads = 1; threads <= 2; threads++) {
        sl_words_config c = s2v_config();
        c.threads = threads;
        sl_words_model *m;
        sl_words_stats st;
        ASSERT_OK(sl_words_train(p, &c, &m, &st));
        ASSERT_TRUE(st.loss > 0 && isfinite(st.loss));
        ASSERT_EQ_INT(sl_words_model_bucket(m), 3000);
        ASSERT_TRUE(sl_words_model_bucket_row(m, 2999) != NULL && sl_words_model_bucket_row(m, 3000) == NULL);
        sl_words_subword *sm;
        ASSERT_OK(sl_words_subword_from_model(m, &sm));
        ASSERT_OK(sl_words_model_save_subword(m, t_path("s.slsw")));
        sl_words_subword *back;
        ASSERT_OK(sl_words_subword_load(t_path("s.slsw"), &back));
        sl_wordvecs *w;
        ASSERT_OK(sl_words_model_export(m, &w));
        ASSERT_TRUE(memcmp(w->vecs, sl_words_subword_vecs(sm)->vecs, w->n * w->dim * sizeof(float)) == 0);
        sl_wordvecs_destroy(w);
        const char *test[6] = {"cow pig hen dog", "bus van ship car", "soup pie rice cake",
                               "goat sheep cat horse", "truck bike train boat", "apple bean bread cheese"};
        float x[6 * 16], y[6 * 16];
        sl_words_embed_config ec;
        sl_words_embed_config_default(&ec);
        ec.method = SL_WORDS_MODEL_MEAN;
        ec.model = sm;
        ASSERT_OK(sl_words_embed(sl_words_subword_vecs(sm), &ec, test, 6, x, NULL, NULL));
        ec.model = back;
        ASSERT_OK(sl_words_embed(sl_words_subword_vecs(back), &ec, test, 6, y, NULL, NULL));
        ASSERT_TRUE(memcmp(x, y, sizeof x) == 0);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 6; j++)
                if (j % 3 != i) ASSERT_TRUE(cosine(x + i * 16, x + (i + 3) * 16, 16) > cosine(x + i * 16, x + j * 16, 16) + 0.3);
        sl_words_subword_destroy(back);
        sl_words_subword_destroy(sm);
        sl_words_model_destroy(m);
    }
}


/* Stopped inside a round and resumed from the checkpoint, a sent2vec run
 * (subsampling on, so the random streams matter) ends with the bits of an
 * uninterrupted one. */
TEST(resume_continues_exactly) {
    const char *p = t_path("lines.txt");
    topic_lines(p, 900, 2); /* 5,400 words an epoch */
    sl_words_config c = s2v_config();
    c.epochs = 3;
    c.sample = 1e-2;
    c.drop_bigrams = 2; /* its draws come from the random streams too */
    words_resume_matches(p, c, t_path("run.ckpt"), 5400 + 2003);
}

/* A checkpoint of version 3 (before drop_bigrams) resumes with none dropped,
 * what it was trained with. */
TEST(version_3_checkpoint_resumes_without_dropped_bigrams) {
    const char *p = t_path("lines.txt"), *ck = t_path("run.ckpt"), *ck3 = t_path("v3.ckpt");
    topic_lines(p, 300, 2);
    sl_words_config c = s2v_config();
    c.epochs = 2;
    c.drop_bigrams = 0;
    sl_words_model *full, *part, *rest;
    ASSERT_OK(sl_words_train(p, &c, &full, NULL));
    c.checkpoint = ck;
    c.stop_after_rounds = 5;
    ASSERT_OK(sl_words_train(p, &c, &part, NULL));
    sl_words_model_destroy(part);
    /* version 3: the same without the 15th int of the settings */
    FILE *f = fopen(ck, "rb");
    ASSERT_TRUE(f != NULL);
    unsigned char *buf = malloc(1 << 24);
    size_t n = fread(buf, 1, 1 << 24, f);
    fclose(f);
    ASSERT_TRUE(n > 100 && n < (1 << 24));
    uint32_t three = 3;
    memcpy(buf + 8, &three, 4);
    memmove(buf + 12 + 56, buf + 12 + 60, n - (12 + 60));
    t_write_file(ck3, buf, n - 4);
    free(buf);
    sl_words_config r;
    sl_words_config_default(&r);
    ASSERT_OK(sl_words_resume(p, ck3, &r, &rest, NULL));
    ASSERT_TRUE(words_same_model(full, rest));
    sl_words_model_destroy(rest);
    /* A version 4 checkpoint with an impossible drop_bigrams is refused. */
    f = fopen(ck, "rb");
    ASSERT_TRUE(f != NULL);
    buf = malloc(1 << 24);
    n = fread(buf, 1, 1 << 24, f);
    fclose(f);
    int32_t bad = 1000;
    memcpy(buf + 12 + 56, &bad, 4);
    t_write_file(ck3, buf, n);
    free(buf);
    ASSERT_FAILS(sl_words_resume(p, ck3, &r, &rest, NULL), SL_ERR_ARG, "drop_bigrams 1000, expected 0..100");
    /* With bigrams dropped the same run ends elsewhere. */
    c.checkpoint = NULL;
    c.stop_after_rounds = 0;
    c.drop_bigrams = 2;
    ASSERT_OK(sl_words_train(p, &c, &rest, NULL));
    ASSERT_TRUE(!words_same_model(full, rest));
    sl_words_model_destroy(rest);
    sl_words_model_destroy(full);
}

TEST(bad_sent2vec_settings_are_refused) {
    const char *p = t_path("lines.txt");
    topic_lines(p, 30, 1);
    sl_words_model *m = NULL;
    for (int variant = 0; variant < 6; variant++) {
        sl_words_config c = s2v_config();
        if (variant == 0) c.loss = SL_WORDS_SOFTMAX;
        if (variant == 1) c.senses = 2;
        if (variant == 2) c.maxn = 5;
        if (variant == 3) c.bucket = 0;
        if (variant == 4) c.drop_bigrams = -1;
        if (variant == 5) c.drop_bigrams = 101;
        ASSERT_FAILS(sl_words_train(p, &c, &m, NULL), SL_ERR_ARG,
                     variant >= 4 ? "drop_bigrams" : variant == 3 ? "bucket" : variant == 1 ? "multi-sense" : "sent2vec");
        ASSERT_TRUE(m == NULL);
    }
    /* A model of another architecture has no sentence model. */
    sl_words_config c = s2v_config();
    c.arch = SL_WORDS_CBOW;
    ASSERT_OK(sl_words_train(p, &c, &m, NULL));
    sl_words_subword *sm;
    ASSERT_FAILS(sl_words_subword_from_model(m, &sm), SL_ERR_ARG, "without subwords");
    ASSERT_FAILS(sl_words_model_save_subword(m, t_path("x.slsw")), SL_ERR_ARG, "without subwords");
    ASSERT_EQ_INT(sl_words_model_bucket(m), 0);
    sl_words_model_destroy(m);
}

/* ---- the CLI ----------------------------------------------------------------------*/

/* words train --model sent2vec writes the sentence model beside the vectors;
 * words embed --method sent2vec reads it (and SIF its counts); the wrong
 * kind of file is refused with a message saying what was expected. */
TEST(cli_train_and_embed) {
    const char *corpus = t_path("c.txt"), *v = t_path("v.bin"), *m = t_path("v.slsw"), *lines = t_path("l.txt");
    topic_lines(corpus, 600, 3);
    char cmd[4096], *out;
    /* Without --lr sent2vec trains at SL_WORDS_SENT2VEC_LR: the same bytes. */
    snprintf(cmd, sizeof cmd, "%s words train %s -o %s --model sent2vec --dim 16 --min-count 1 --sample 0 --lr 0.5 "
             "--bucket 3000 --threads 1 -q && mv %s %s.lr && %s words train %s -o %s --model sent2vec --dim 16 "
             "--min-count 1 --sample 0 --bucket 3000 --threads 1 -q && cmp %s %s.lr", t_simlearn(), corpus, v, m, m,
             t_simlearn(), corpus, v, m, m);
    out = words_run_ok(cmd, 0);
    ASSERT_CONTAINS(out, "v.slsw (sentence model: word bigrams in 3000 buckets)");
    free(out);
    snprintf(cmd, sizeof cmd, "printf 'cow pig zzz hen\\nbus van\\n\\n' > %s && %s words embed --vectors %s --text %s "
             "-o %s.npy --method sent2vec", lines, t_simlearn(), m, lines, lines);
    out = words_run_ok(cmd, 0);
    ASSERT_CONTAINS(out, "3 lines, 6 words, 5 with a vector (83.3%); 1 lines without a known word (zero vectors)");
    ASSERT_CONTAINS(out, "(3 x 16)");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words embed --vectors %s --text %s -o %s.npy --method sif", t_simlearn(), m, lines, lines);
    out = words_run_ok(cmd, 0);
    ASSERT_CONTAINS(out, "counts from the vocabulary of ");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words embed --vectors %s --text %s -o %s.npy --method sent2vec", t_simlearn(), v, lines,
             lines);
    out = words_run_ok(cmd, 2);
    ASSERT_CONTAINS(out, "--method sent2vec needs a sentence model");
    ASSERT_CONTAINS(out, "v.bin is word vectors");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words train %s -o %s --minn 3 --maxn 4 --bucket 100 --dim 16 --min-count 1 -q && "
             "%s words embed --vectors %s --text %s -o %s.npy --method sent2vec", t_simlearn(), corpus, v, t_simlearn(),
             m, lines, lines);
    out = words_run_ok(cmd, 2);
    ASSERT_CONTAINS(out, "v.slsw is a subword model");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words train %s -o %s --model sent2vec --maxn 4 -q", t_simlearn(), corpus, v);
    out = words_run_ok(cmd, 1);
    ASSERT_CONTAINS(out, "sent2vec needs negative sampling, one sense per word and no subwords");
    free(out);
}

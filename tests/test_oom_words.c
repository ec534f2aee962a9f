/* Out-of-memory walks (tests/oom.h) of word-vector training: sl_words_train
 * in its variants (skip-gram with shared or per-pair negatives, CBOW with the
 * full softmax, multi-sense), with checkpoints and the corpus
 * cache (whose failures fall back to reading the file), a run
 * resumed from a checkpoint written mid-epoch, saving the model, and
 * sentence vectors (SIF on the corpus's lines with a counts file), and
 * subwords (training, the subword model's file and similarity). One
 * thread, a corpus of 320 words, 8 dimensions. */
#include "oom.h"

static void corpus(const char *path) {
    static const char *animals[] = {"cat", "dog", "mouse", "horse", "cow", "sheep"};
    static const char *vehicles[] = {"car", "bus", "train", "truck", "bike", "boat"};
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    sl_rng r;
    sl_rng_seed(&r, 11, 0);
    for (int i = 0; i < 40; i++) {
        const char **set = (i & 1) ? vehicles : animals;
        for (int k = 0; k < 8; k++) fprintf(f, "%s%s", k ? " " : "", set[sl_rng_below(&r, 6)]);
        fputc('\n', f);
    }
    fclose(f);
}

static sl_words_config small(void) {
    sl_words_config c;
    sl_words_config_default(&c);
    c.dim = 8;
    c.window = 2;
    c.negative = 2;
    c.sample = 0;
    c.epochs = 1;
    c.threads = 1;
    c.seed = 3;
    c.vocab.min_count = 1;
    c.cache_mb = 0; /* streamed: the cache has a walk of its own */
    return c;
}

typedef struct {
    sl_words_config c;
    char corpus[1024], ckpt[1024];
    const sl_words_model *ref; /* when not NULL, what every successful run must give */
} job;

static bool same_model(const sl_words_model *a, const sl_words_model *b) {
    size_t n = sl_words_model_rows(a), d = (size_t)sl_words_model_dim(a);
    if (n != sl_words_model_rows(b) || (int)d != sl_words_model_dim(b)) return false;
    for (size_t i = 0; i < n; i++)
        if (memcmp(sl_words_model_row(a, i), sl_words_model_row(b, i), d * sizeof(float))) return false;
    return true;
}

static sl_status op_train(void *arg) {
    job *j = arg;
    sl_words_model *m = NULL;
    sl_words_stats st;
    sl_status s = sl_words_train(j->corpus, &j->c, &m, &st);
    if (!s && j->ref && !same_model(m, j->ref)) s = SL_ERR_STATE;
    sl_words_model_destroy(m);
    return s;
}
static sl_status op_resume(void *arg) {
    job *j = arg;
    sl_words_model *m = NULL;
    sl_words_stats st;
    sl_status s = sl_words_resume(j->corpus, j->ckpt, &j->c, &m, &st);
    sl_words_model_destroy(m);
    return s;
}

static void job_make(job *j) {
    snprintf(j->corpus, sizeof j->corpus, "%s", t_path("corpus.txt"));
    snprintf(j->ckpt, sizeof j->ckpt, "%s", t_path("words.ckpt"));
    corpus(j->corpus);
    j->c = small();
    j->ref = NULL;
}

TEST(words_training_survives_every_failed_allocation) {
    install();
    job j;
    job_make(&j);
    j.c.checkpoint = j.ckpt;
    ASSERT_TRUE(fail_each("words skipgram shared", op_train, &j) >= 10);
    j.c = small();
    j.c.negatives = SL_WORDS_PER_PAIR;
    ASSERT_TRUE(fail_each("words skipgram per-pair", op_train, &j) >= 10);
    ASSERT_EQ_INT(C.live, 0);
}

TEST(words_training_variants_survive_every_failed_allocation) {
    install();
    job j;
    job_make(&j);
    j.c.arch = SL_WORDS_CBOW;
    j.c.loss = SL_WORDS_SOFTMAX;
    ASSERT_TRUE(fail_each("words cbow softmax", op_train, &j) >= 10);
    j.c = small();
    j.c.senses = 2;
    j.c.sense_min_count = 10;
    ASSERT_TRUE(fail_each("words senses", op_train, &j) >= 10);
    ASSERT_EQ_INT(C.live, 0);
}

/* Subwords: training in both negatives modes with the bucket rows in the
 * checkpoint, then the subword model made, saved and read back. */
static sl_status op_subword_file(void *arg) {
    const sl_words_model *m = arg;
    sl_words_subword *sw = NULL, *back = NULL;
    sl_status s = sl_words_subword_from_model(m, &sw);
    if (!s) s = sl_words_subword_save(sw, t_path("m.slsw"));
    if (!s) s = sl_words_subword_load(t_path("m.slsw"), &back);
    sl_similarity_result r;
    if (!s) s = sl_words_subword_similarity(back, t_path("pairs.txt"), &r);
    sl_words_subword_destroy(sw);
    sl_words_subword_destroy(back);
    return s;
}

TEST(words_subwords_survive_every_failed_allocation) {
    install();
    job j;
    job_make(&j);
    j.c.minn = 2;
    j.c.maxn = 4;
    j.c.bucket = 100;
    j.c.checkpoint = j.ckpt;
    ASSERT_TRUE(fail_each("words subwords shared", op_train, &j) >= 10);
    j.c.negatives = SL_WORDS_PER_PAIR;
    j.c.arch = SL_WORDS_CBOW;
    ASSERT_TRUE(fail_each("words subwords cbow per-pair", op_train, &j) >= 10);
    sl_words_model *m;
    ASSERT_OK(sl_words_train(j.corpus, &j.c, &m, NULL));
    FILE *f = fopen(t_path("pairs.txt"), "w");
    fprintf(f, "cat dog 8\ncats doggy 7\ncar bus 6\n");
    fclose(f);
    ASSERT_TRUE(fail_each("words subword model", op_subword_file, m) >= 5);
    sl_words_model_destroy(m);
    ASSERT_EQ_INT(C.live, 0);
}

/* Sent2vec: training with the bigram rows in the checkpoint, then the
 * sentence model made, saved, read back and used to embed lines. */
static sl_status op_sentence_model(void *arg) {
    const sl_words_model *m = arg;
    sl_words_subword *sm = NULL, *back = NULL;
    sl_status s = sl_words_subword_from_model(m, &sm);
    if (!s) s = sl_words_subword_save(sm, t_path("s.slsw"));
    if (!s) s = sl_words_subword_load(t_path("s.slsw"), &back);
    if (!s) {
        sl_words_embed_config c;
        sl_words_embed_config_default(&c);
        c.method = SL_WORDS_MODEL_MEAN;
        c.model = back;
        const char *lines[] = {"cat dog car", "bus"};
        float out[2 * 8];
        s = sl_words_embed(sl_words_subword_vecs(back), &c, lines, 2, out, NULL, NULL);
    }
    sl_words_subword_destroy(sm);
    sl_words_subword_destroy(back);
    return s;
}

TEST(words_sent2vec_survives_every_failed_allocation) {
    install();
    job j;
    job_make(&j);
    j.c.arch = SL_WORDS_SENT2VEC;
    j.c.bucket = 100;
    j.c.checkpoint = j.ckpt;
    ASSERT_TRUE(fail_each("words sent2vec", op_train, &j) >= 10);
    sl_words_model *m;
    ASSERT_OK(sl_words_train(j.corpus, &j.c, &m, NULL));
    ASSERT_TRUE(fail_each("words sentence model", op_sentence_model, m) >= 5);
    sl_words_model_destroy(m);
    ASSERT_EQ_INT(C.live, 0);
}

/* The corpus cache is a documented fallback: a slice whose cache cannot grow
 * is read from the file again in later epochs, so a failed allocation there
 * is passed over, and the model must come out the same. */
TEST(words_corpus_cache_falls_back_on_every_failed_allocation) {
    install();
    job j;
    job_make(&j);
    j.c.epochs = 2; /* the second reads the cache */
    sl_words_model *ref;
    ASSERT_OK(sl_words_train(j.corpus, &j.c, &ref, NULL));
    j.c.cache_mb = 1;
    j.ref = ref;
    ASSERT_TRUE(fail_each_opt("words corpus cache", op_train, &j, true) >= 10);
    sl_words_model_destroy(ref);
    ASSERT_EQ_INT(C.live, 0);
}

TEST(words_resume_survives_every_failed_allocation) {
    install();
    job j;
    job_make(&j);
    j.c.checkpoint = j.ckpt;
    j.c.stop_after_rounds = 5; /* mid-way through the epoch */
    sl_words_model *m;
    sl_words_stats st;
    ASSERT_OK(sl_words_train(j.corpus, &j.c, &m, &st));
    ASSERT_TRUE(st.interrupted);
    sl_words_model_destroy(m);
    /* the resumed run writes its checkpoints elsewhere, so each try starts
     * from the same one */
    j.c = small();
    char ck2[1024];
    snprintf(ck2, sizeof ck2, "%s", t_path("again.ckpt"));
    j.c.checkpoint = ck2;
    ASSERT_TRUE(fail_each("words resume", op_resume, &j) >= 10);
    ASSERT_EQ_INT(C.live, 0);
}

typedef struct {
    const sl_words_model *m;
    sl_w2v_format fmt;
} save_arg;
static sl_status op_save(void *arg) {
    save_arg *a = arg;
    return sl_words_save(a->m, t_path(a->fmt == SL_W2V_TEXT ? "v.txt" : "v.bin"), a->fmt);
}
static sl_status op_export(void *arg) {
    sl_wordvecs *w = NULL;
    sl_status s = sl_words_model_export(((save_arg *)arg)->m, &w);
    sl_wordvecs_destroy(w);
    return s;
}

TEST(words_model_saving_survives_every_failed_allocation) {
    install();
    job j;
    job_make(&j);
    j.c.senses = 2;
    j.c.sense_min_count = 10;
    sl_words_model *m;
    ASSERT_OK(sl_words_train(j.corpus, &j.c, &m, NULL));
    ASSERT_TRUE(sl_words_model_rows(m) > 12); /* some words have two senses */
    save_arg t = {m, SL_W2V_TEXT}, b = {m, SL_W2V_BINARY};
    ASSERT_TRUE(fail_each("words save text", op_save, &t) >= 1);
    ASSERT_TRUE(fail_each("words save binary", op_save, &b) >= 1);
    ASSERT_TRUE(fail_each("words export", op_export, &t) >= 1);
    sl_words_model_destroy(m);
    ASSERT_EQ_INT(C.live, 0);
}

/* Sentence vectors: the corpus's lines embedded by SIF (the component
 * computed on them) with the counts read from a file. */
typedef struct {
    const sl_wordvecs *w;
    const char *lines, *counts;
} embed_arg;

static sl_status op_embed(void *arg) {
    embed_arg *e = arg;
    uint64_t *counts = NULL;
    float *x = NULL, comp[8];
    size_t n = 0;
    sl_words_embed_config c;
    sl_words_embed_config_default(&c);
    c.method = SL_WORDS_SIF;
    sl_status s = sl_words_counts_read(e->w, e->counts, &counts, &c.total);
    c.counts = counts;
    if (!s) s = sl_words_embed_file(e->w, &c, e->lines, &x, &n, comp, NULL);
    if (!s && n != 40) s = SL_ERR_STATE;
    sl_allocator_free(x);
    sl_allocator_free(counts);
    return s;
}

TEST(sentence_vectors_survive_every_failed_allocation) {
    install();
    job j;
    job_make(&j);
    sl_words_model *m;
    sl_wordvecs *w;
    ASSERT_OK(sl_words_train(j.corpus, &j.c, &m, NULL));
    ASSERT_OK(sl_words_model_export(m, &w));
    char counts[1024];
    snprintf(counts, sizeof counts, "%s", t_path("counts.txt"));
    FILE *f = fopen(counts, "w");
    ASSERT_TRUE(f != NULL);
    const sl_vocab *v = sl_words_model_vocab(m);
    for (size_t i = 0; i < sl_vocab_size(v); i++)
        fprintf(f, "%s %llu\n", sl_vocab_word(v, i), (unsigned long long)sl_vocab_count(v, i));
    fclose(f);
    embed_arg e = {w, j.corpus, counts};
    ASSERT_TRUE(fail_each("words embed sif", op_embed, &e) >= 5);
    sl_wordvecs_destroy(w);
    sl_words_model_destroy(m);
    ASSERT_EQ_INT(C.live, 0);
}

/* Tests of word-vector evaluation and files: analogies (3CosAdd/3CosMul, top-N,
 * case), word-similarity correlations, nearest words, saving and loading
 * (word2vec, .npy + vocabulary, multi-sense files), corrupt inputs, and the
 * `simlearn words` command line. */
#include "test.h"

#include <stdlib.h>

static void write_text(const char *path, const char *text) { t_write_file(path, text, strlen(text)); }

/* Six words on three axes: gender (x), royalty (y), youth (z), plus a
 * distractor that is similar to everything. */
static sl_wordvecs *toy_vectors(void) {
    static const char *names[] = {"man", "woman", "king", "queen", "boy", "girl", "thing"};
    static const float v[][4] = {{1, 0, 0, 1},   {-1, 0, 0, 1},  {1, 1, 0, 1},  {-1, 1, 0, 1},
                                 {1, 0, 1, 1},   {-1, 0, 1, 1},  {0, 0.1f, 0.1f, 1.5f}};
    sl_wordvecs *w;
    ASSERT_OK(sl_wordvecs_create(7, 4, &w));
    for (int i = 0; i < 7; i++) {
        w->words[i] = strdup(names[i]);
        memcpy(w->vecs + i * 4, v[i], sizeof v[i]);
    }
    return w;
}

TEST(analogy_counts_sections_topn_and_case) {
    sl_wordvecs *w = toy_vectors();
    const char *q = t_path("q.txt");
    write_text(q, ": family\nman woman king queen\nMAN WOMAN BOY GIRL\nking queen man woman\n"
                  ": gram-missing\nman woman unknownword girl\nboy girl king queen\n");
    sl_analogy_result r;
    ASSERT_OK(sl_words_analogy(w, q, 0, SL_ANALOGY_ADD, &r));
    ASSERT_EQ_SIZE(r.nsections, 2);
    ASSERT_STREQ(r.section[0].name, "family");
    ASSERT_EQ_SIZE(r.section[0].total, 3);
    ASSERT_EQ_SIZE(r.section[0].seen, 3);
    ASSERT_EQ_SIZE(r.section[0].correct, 3);
    ASSERT_EQ_SIZE(r.section[1].total, 2);
    ASSERT_EQ_SIZE(r.section[1].seen, 1);
    ASSERT_EQ_SIZE(r.total, 5);
    ASSERT_EQ_SIZE(r.correct, 4);
    ASSERT_EQ_SIZE(r.sem_seen, 3);
    ASSERT_EQ_SIZE(r.syn_seen, 1);
    ASSERT_OK(sl_words_analogy(w, q, 0, SL_ANALOGY_MUL, &r));
    ASSERT_EQ_SIZE(r.correct, 4);
    /* Top 4 rows only: questions using boy/girl are no longer seen. */
    ASSERT_OK(sl_words_analogy(w, q, 4, SL_ANALOGY_ADD, &r));
    ASSERT_EQ_SIZE(r.seen, 2);
    ASSERT_EQ_SIZE(r.correct, 2);
    sl_wordvecs_destroy(w);
}

TEST(analogy_and_similarity_reject_bad_files) {
    sl_wordvecs *w = toy_vectors();
    const char *q = t_path("bad.txt");
    sl_analogy_result r;
    write_text(q, ": s\nman woman king\n");
    ASSERT_FAILS(sl_words_analogy(w, q, 0, SL_ANALOGY_ADD, &r), SL_ERR_FORMAT, "line 2: expected 4 words");
    write_text(q, "\n\n");
    ASSERT_FAILS(sl_words_analogy(w, q, 0, SL_ANALOGY_ADD, &r), SL_ERR_FORMAT, "no analogy questions");
    ASSERT_FAILS(sl_words_analogy(w, t_path("none"), 0, SL_ANALOGY_ADD, &r), SL_ERR_IO, "none");
    sl_similarity_result s;
    write_text(q, "# c\nman woman 3\nking queen nan\n");
    ASSERT_FAILS(sl_words_similarity(w, q, &s), SL_ERR_FORMAT, "line 3");
    write_text(q, "man woman\n");
    ASSERT_FAILS(sl_words_similarity(w, q, &s), SL_ERR_FORMAT, "line 1");
    write_text(q, "man zzz 3\nyyy woman 2\n");
    ASSERT_FAILS(sl_words_similarity(w, q, &s), SL_ERR_NOTFOUND, "only 0 of 2");
    sl_wordvecs_destroy(w);
}

TEST(similarity_spearman_with_ties_and_unknown_words) {
    sl_wordvecs *w = toy_vectors();
    const char *p = t_path("pairs.tsv");
    /* cosines: man-king = man-boy = 0.816, man-woman = man-queen = 0; one
     * pair has an unknown word. */
    write_text(p, "# word1\tword2\tscore\nman\tking\t9\nMan\tboy\t8\nman\twoman\t3\nman\tqueen\t1\nman\tdragon\t5\n");
    sl_similarity_result s;
    ASSERT_OK(sl_words_similarity(w, p, &s));
    ASSERT_EQ_SIZE(s.pairs, 5);
    ASSERT_EQ_SIZE(s.used, 4);
    /* model ranks 3.5 3.5 1.5 1.5 (ties share the mean rank), human ranks
     * 4 3 2 1: Spearman = Pearson of the ranks = 4/sqrt(20). */
    ASSERT_NEAR(s.spearman, 0.894427191, 1e-6);
    ASSERT_TRUE(s.pearson > 0.8);
    sl_wordvecs_destroy(w);
}

TEST(nearest_orders_and_excludes) {
    sl_wordvecs *w = toy_vectors();
    float *u;
    ASSERT_OK(sl_words_unit(w, &u));
    size_t idx[3], found, ex = 2;
    float sim[3];
    ASSERT_OK(sl_words_nearest(u, w->n, w->dim, u + 2 * 4, 3, &ex, 1, idx, sim, &found));
    ASSERT_EQ_SIZE(found, 3);
    ASSERT_TRUE(idx[0] != 2);
    ASSERT_TRUE(sim[0] >= sim[1] && sim[1] >= sim[2]);
    ASSERT_TRUE(idx[0] == 0 || idx[0] == 4); /* man and boy tie at cos 0.816 */
    ASSERT_NEAR(sim[0], 0.8164966, 1e-5);
    size_t idx7[7];
    float sim7[7];
    ASSERT_OK(sl_words_nearest(u, w->n, w->dim, u, 7, NULL, 0, idx7, sim7, &found));
    ASSERT_EQ_SIZE(found, 7);
    ASSERT_EQ_SIZE(idx7[0], 0);
    ASSERT_EQ_INT(sl_words_lookup(w, "QUEEN"), 3);
    ASSERT_EQ_INT(sl_words_lookup(w, "dragon"), -1);
    sl_allocator_free(u);
    sl_wordvecs_destroy(w);
}

/* ---- files ------------------------------------------------------------------------*/
static void topic_corpus(const char *path, int lines) {
    static const char *a[] = {"cat", "dog", "mouse", "horse"}, *b[] = {"car", "bus", "train", "truck"};
    FILE *f = fopen(path, "w");
    sl_rng r;
    sl_rng_seed(&r, 1, 0);
    for (int i = 0; i < lines; i++) {
        const char **s = (i & 1) ? b : a;
        for (int k = 0; k < 6; k++) fprintf(f, "%s%s", k ? " " : "", s[sl_rng_below(&r, 4)]);
        fputc('\n', f);
    }
    fclose(f);
}

static sl_words_model *tiny_model(const char *corpus, int senses) {
    sl_words_config c;
    sl_words_config_default(&c);
    c.dim = 8;
    c.epochs = 2;
    c.threads = 1;
    c.sample = 0;
    c.vocab.min_count = 1;
    c.senses = senses;
    c.sense_min_count = 1;
    sl_words_model *m;
    ASSERT_OK(sl_words_train(corpus, &c, &m, NULL));
    return m;
}

TEST(save_and_load_roundtrip_in_every_format) {
    const char *corpus = t_path("c.txt");
    topic_corpus(corpus, 100);
    sl_words_model *m = tiny_model(corpus, 1);
    sl_wordvecs *ref;
    ASSERT_OK(sl_words_model_export(m, &ref));
    const char *paths[3] = {t_path("v.bin"), t_path("v.vec"), t_path("v.npy")};
    ASSERT_OK(sl_words_save(m, paths[0], SL_W2V_BINARY));
    ASSERT_OK(sl_words_save(m, paths[1], SL_W2V_TEXT));
    ASSERT_OK(sl_words_save_npy(m, paths[2]));
    for (int f = 0; f < 3; f++) {
        sl_wordvecs *w;
        ASSERT_OK(sl_words_load(paths[f], &w));
        ASSERT_EQ_SIZE(w->n, ref->n);
        ASSERT_EQ_SIZE(w->dim, 8);
        for (size_t i = 0; i < w->n; i++) {
            ASSERT_STREQ(w->words[i], ref->words[i]);
            for (size_t k = 0; k < 8; k++) ASSERT_NEAR(w->vecs[i * 8 + k], ref->vecs[i * 8 + k], 1e-5);
        }
        sl_wordvecs_destroy(w);
    }
    sl_wordvecs_destroy(ref);
    sl_words_model_destroy(m);
}

TEST(corrupt_vector_files_fail_clearly) {
    sl_wordvecs *w;
    const char *p = t_path("bad.vec");
    write_text(p, "2 3\na 1 2 3\nb 1 2\n");
    ASSERT_TRUE(sl_words_load(p, &w) != SL_OK);
    ASSERT_CONTAINS(sl_error_message(), "bad.vec");
    write_text(p, "2 3\na 1 2 nan\nb 1 2 3\n");
    ASSERT_TRUE(sl_words_load(p, &w) != SL_OK);
    write_text(p, "99999999999 3\na 1 2 3\n");
    ASSERT_TRUE(sl_words_load(p, &w) != SL_OK);
    const char *b = t_path("bad.bin");
    t_write_file(b, "2 4\na \x00\x00\x80\x3f", 11); /* truncated binary */
    ASSERT_TRUE(sl_words_load(b, &w) != SL_OK);
    ASSERT_CONTAINS(sl_error_message(), "bad.bin");
    /* .npy whose vocabulary has the wrong number of words. */
    float m[6] = {1, 2, 3, 4, 5, 6};
    const char *np = t_path("m.npy");
    ASSERT_OK(sl_npy_write_matrix(np, m, 2, 3));
    write_text(t_path("m.vocab"), "only 5\n");
    ASSERT_FAILS(sl_words_load(np, &w), SL_ERR_FORMAT, "1 words for the 2 rows");
    write_text(t_path("m.vocab"), "a 1\nb 1\nc 1\n");
    ASSERT_FAILS(sl_words_load(np, &w), SL_ERR_FORMAT, "more words");
    ASSERT_FAILS(sl_words_load(t_path("nothing.npy"), &w), SL_ERR_IO, "nothing.npy");
}

TEST(multi_sense_files_roundtrip_and_bad_suffixes_fail) {
    const char *corpus = t_path("c.txt");
    topic_corpus(corpus, 100);
    sl_words_model *m = tiny_model(corpus, 3);
    const char *p = t_path("s.vec");
    ASSERT_OK(sl_words_save(m, p, SL_W2V_TEXT));
    sl_senses *s;
    ASSERT_OK(sl_senses_read(p, &s));
    ASSERT_EQ_SIZE(s->nwords, 8);
    long cat = sl_senses_find(s, "cat");
    ASSERT_TRUE(cat >= 0);
    ASSERT_EQ_INT(s->k[cat], 3);
    double sum = 0;
    for (int z = 0; z < 3; z++) sum += s->prior[s->first[cat] + (size_t)z];
    ASSERT_NEAR(sum, 1.0, 1e-4);
    sl_senses_destroy(s);
    sl_words_model_destroy(m);
    const char *bad = t_path("bad.vec");
    write_text(bad, "2 2\nbank#2|0.5 1 0\nbank#1|0.5 0 1\n");
    ASSERT_FAILS(sl_senses_read(bad, &s), SL_ERR_FORMAT, "expected sense 1 of \"bank\"");
    write_text(bad, "2 2\nbank#1|0.9 1 0\nbank#2|0.5 0 1\n");
    ASSERT_FAILS(sl_senses_read(bad, &s), SL_ERR_FORMAT, "add up to");
    write_text(bad, "3 2\nbank#1|0.5 1 0\nriver 1 1\nbank#2|0.5 0 1\n");
    ASSERT_FAILS(sl_senses_read(bad, &s), SL_ERR_FORMAT, "add up to");
    write_text(bad, "2 2\nriver 1 0\nriver 0 1\n");
    ASSERT_FAILS(sl_senses_read(bad, &s), SL_ERR_FORMAT, "appears twice");
    write_text(bad, "2 2\nc#sharp 1 0\nbank#1|1 0 1\n"); /* '#' without a sense suffix is a plain word */
    ASSERT_OK(sl_senses_read(bad, &s));
    ASSERT_EQ_SIZE(s->nwords, 2);
    sl_senses_destroy(s);
}

/* ---- command line -------------------------------------------------------------------*/
TEST(cli_train_nearest_analogy_similarity_senses) {
    const char *corpus = t_path("c.txt");
    topic_corpus(corpus, 400);
    char cmd[2048], *out = NULL;
    const char *v = t_path("v.vec");
    snprintf(cmd, sizeof cmd,
             "%s words train %s -o %s --format text --dim 16 --min-count 1 --sample 0 --epochs 8 --threads 1 -q",
             t_simlearn(), corpus, v);
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "words/s");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words nearest %s cat -k 3", t_simlearn(), v);
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_TRUE(strstr(out, "dog") || strstr(out, "mouse") || strstr(out, "horse"));
    ASSERT_TRUE(!strstr(out, " cat "));
    free(out);
    snprintf(cmd, sizeof cmd, "printf 'dog\\nzebra\\n' | %s words nearest %s -k 2", t_simlearn(), v);
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "'zebra' is not in the vocabulary");
    free(out);
    write_text(t_path("q.txt"), ": animals\ncat dog horse mouse\n");
    snprintf(cmd, sizeof cmd, "%s words analogy %s --questions %s --method both --abtt 1", t_simlearn(), v,
             t_path("q.txt"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "3CosMul");
    free(out);
    write_text(t_path("p.txt"), "cat dog 9\ncat car 1\nbus train 8\nhorse truck 2\n");
    snprintf(cmd, sizeof cmd, "%s words similarity %s --pairs %s", t_simlearn(), v, t_path("p.txt"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "Spearman");
    free(out);
    const char *s = t_path("s.vec");
    snprintf(cmd, sizeof cmd,
             "%s words train %s -o %s --format text --dim 8 --min-count 1 --epochs 2 --senses 2 --sense-min-count 1 "
             "--threads 1 -q && %s words senses %s cat -k 2",
             t_simlearn(), corpus, s, t_simlearn(), s);
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "cat: 2 senses");
    ASSERT_CONTAINS(out, "sense 2  prior");
    free(out);
}

/* The defaults found beside the binary, from another working directory. */
static void defaults_beside_the_binary(const char *v) {
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "cd / && %s words analogy %s", t_simlearn(), v);
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "questions seen 0 of 19544");
    free(out);
    snprintf(cmd, sizeof cmd, "cd / && %s words similarity %s", t_simlearn(), v);
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "wordsim353.tsv");
    ASSERT_CONTAINS(out, "/353");
    ASSERT_CONTAINS(out, "simlex999.txt");
    ASSERT_CONTAINS(out, "/999");
    free(out);
}

/* The evaluation sets shipped in data/ are the defaults, found from any
 * working directory; $SIMLEARN_DATA comes first; a given path is used as is.
 * (The sanitizer build finds them through a link build-asan/data.) */
TEST(cli_evaluation_defaults_are_the_shipped_data) {
    const char *v = t_path("v.vec");
    write_text(v, "10 2\nathens 1 0\ngreece 0 1\nlove 1 1\nsex 1 0.5\nold 0 1\nnew 1 0.2\ntiger 0.3 1\ncat 1 0.9\nsmart 0.5 0.5\nintelligent 0.6 0.4\n");
    char cmd[2048], *out = NULL;
    defaults_beside_the_binary(v);
    write_text(t_path("questions-words.txt"), ": capitals\nathens greece athens greece\n");
    snprintf(cmd, sizeof cmd, "cd / && SIMLEARN_DATA=%s %s words analogy %s", t_tmpdir(), t_simlearn(), v);
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "of 1");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words similarity %s --pairs %s", t_simlearn(), v, t_path("nowhere.tsv"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "nowhere.tsv");
    free(out);
}

TEST(cli_errors_have_the_right_exit_codes) {
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s words train %s -o %s -q", t_simlearn(), t_path("missing.txt"), t_path("o.bin"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "missing.txt");
    free(out);
    write_text(t_path("empty.txt"), "");
    snprintf(cmd, sizeof cmd, "%s words train %s -o %s -q", t_simlearn(), t_path("empty.txt"), t_path("o.bin"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "no words");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words train x --dim 0 -o y", t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &out), 2);
    free(out);
    snprintf(cmd, sizeof cmd, "%s words frobnicate", t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &out), 2);
    free(out);
}

TEST(cli_resume_after_a_stop_matches_an_uninterrupted_run) {
    /* A checkpoint written at an epoch end, then resumed, gives the same
     * vectors as one uninterrupted run (one thread). */
    const char *corpus = t_path("c.txt");
    topic_corpus(corpus, 300);
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "%s words train %s -o %s --format text --dim 8 --min-count 1 --epochs 3 --threads 1 -q",
             t_simlearn(), corpus, t_path("full.vec"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    free(out);
    /* Stop a run mid-way through the library (as Ctrl-C would), then let
     * the command line finish it with --resume. */
    sl_words_config c;
    sl_words_config_default(&c);
    c.dim = 8;
    c.epochs = 3;
    c.threads = 1;
    c.vocab.min_count = 1;
    c.checkpoint = t_path("ck");
    c.stop_after_rounds = 9;
    sl_words_model *m;
    sl_words_stats st;
    ASSERT_OK(sl_words_train(corpus, &c, &m, &st));
    ASSERT_TRUE(st.interrupted);
    sl_words_model_destroy(m);
    snprintf(cmd, sizeof cmd, "%s words train %s -o %s --format text --resume %s -q && cmp %s %s", t_simlearn(),
             corpus, t_path("resumed.vec"), t_path("ck"), t_path("full.vec"), t_path("resumed.vec"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    free(out);
}

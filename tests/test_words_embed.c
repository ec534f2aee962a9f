/* Tests of sentence vectors from word vectors: the average and SIF on tiny
 * cases with known answers (weights, the uncentred first principal
 * component and its reuse), unknown words, case, empty lines and long words,
 * the files (lines, word counts, the NAME.vocab of .npy vectors) and their
 * bad input, and `simlearn words embed`. */
#include "test.h"

#include <math.h>
#include <stdlib.h>

static void write_text(const char *path, const char *text) { t_write_file(path, text, strlen(text)); }

static sl_wordvecs *make_vectors(size_t n, size_t d, const char *const *names, const float *v) {
    sl_wordvecs *w;
    ASSERT_OK(sl_wordvecs_create(n, d, &w));
    for (size_t i = 0; i < n; i++) w->words[i] = strdup(names[i]);
    memcpy(w->vecs, v, n * d * sizeof *v);
    return w;
}

static void assert_row(const float *got, const float *want, size_t d, double tol) {
    for (size_t j = 0; j < d; j++) ASSERT_NEAR(got[j], want[j], tol);
}

/* a=(1,0) b=(0,2) Cat=(3,3) cat=(5,-5). */
static sl_wordvecs *toy(void) {
    static const char *names[] = {"a", "b", "Cat", "cat"};
    static const float v[] = {1, 0, 0, 2, 3, 3, 5, -5};
    return make_vectors(4, 2, names, v);
}

TEST(average_of_known_words_with_case_and_repeats) {
    sl_wordvecs *w = toy();
    const char *lines[] = {"a b", "a a\tb", "  Cat  ", "cat", "CAT", "A zz B", "", "zz yy", "a\nb\r"};
    float out[9 * 2];
    sl_words_embed_stats st;
    ASSERT_OK(sl_words_embed(w, NULL, lines, 9, out, NULL, &st));
    const float want[9][2] = {{0.5f, 1}, {2.0f / 3, 2.0f / 3}, {3, 3}, {5, -5}, {3, 3}, {0.5f, 1}, {0, 0}, {0, 0},
                              {0.5f, 1}};
    for (int i = 0; i < 9; i++) assert_row(out + 2 * i, want[i], 2, 1e-6);
    ASSERT_EQ_SIZE(st.lines, 9);
    ASSERT_EQ_SIZE(st.empty, 2);
    ASSERT_EQ_SIZE((size_t)st.words, 15);
    ASSERT_EQ_SIZE((size_t)st.known, 12);
    sl_wordvecs_destroy(w);
}

TEST(a_long_word_is_cut_as_the_corpus_reader_cuts_it) {
    char word[SL_WORDS_MAX_WORD + 1], line[SL_WORDS_MAX_WORD + 20];
    memset(word, 'x', SL_WORDS_MAX_WORD);
    word[SL_WORDS_MAX_WORD] = '\0';
    const char *names[] = {word, "y"};
    const float v[] = {1, 2, 3, 4};
    sl_wordvecs *w = make_vectors(2, 2, names, v);
    snprintf(line, sizeof line, "%sxxx", word); /* 103 bytes: cut to the first 100 */
    const char *lines[] = {line};
    float out[2];
    ASSERT_OK(sl_words_embed(w, NULL, lines, 1, out, NULL, NULL));
    assert_row(out, v, 2, 0);
    sl_wordvecs_destroy(w);
}

/* x, y, z on the axes; counts 9000, 1000 and none of a total 10000, a=0.1:
 * weights 0.1/(0.1+0.9) = 0.1, 0.1/(0.1+0.1) = 0.5 and 1. */
static sl_wordvecs *axes(void) {
    static const char *names[] = {"x", "y", "z"};
    static const float v[] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    return make_vectors(3, 3, names, v);
}

TEST(sif_weights_by_frequency_and_removes_a_given_component) {
    sl_wordvecs *w = axes();
    const uint64_t counts[] = {9000, 1000, 0};
    sl_words_embed_config c;
    sl_words_embed_config_default(&c);
    c.method = SL_WORDS_SIF;
    c.sif_a = 0.1;
    c.counts = counts;
    c.total = 10000;
    const float comp[] = {0, 0, 2}; /* not unit: it is normalised */
    c.component = comp;
    const char *lines[] = {"x y", "x z", "z", "", "y y x"};
    float out[5 * 3], used[3];
    sl_words_embed_stats st;
    ASSERT_OK(sl_words_embed(w, &c, lines, 5, out, used, &st));
    const float want[5][3] = {{0.05f, 0.25f, 0}, {0.05f, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0.1f / 3, 1.0f / 3, 0}};
    for (int i = 0; i < 5; i++) assert_row(out + 3 * i, want[i], 3, 1e-6);
    const float unit[] = {0, 0, 1};
    assert_row(used, unit, 3, 0);
    ASSERT_EQ_SIZE(st.empty, 1);
    /* The average ignores the counts: "x y" is (0.5, 0.5, 0). */
    c.method = SL_WORDS_AVG;
    ASSERT_OK(sl_words_embed(w, &c, lines, 1, out, NULL, NULL));
    const float avg[] = {0.5f, 0.5f, 0};
    assert_row(out, avg, 3, 0);
    sl_wordvecs_destroy(w);
}

/* r=(10,1) and s=(10,-1) with equal counts: the uncentred first principal
 * component of {r, s} is (1,0), so SIF leaves ±(0,1)·weight; removing the
 * centred one, (0,1), would leave (10,0) instead. */
TEST(sif_removes_the_sets_uncentred_first_principal_component) {
    static const char *names[] = {"r", "s", "t"};
    static const float v[] = {10, 1, 10, -1, 3, 4};
    sl_wordvecs *w = make_vectors(3, 2, names, v);
    const uint64_t counts[] = {1, 1, 2};
    sl_words_embed_config c;
    sl_words_embed_config_default(&c);
    c.method = SL_WORDS_SIF;
    c.sif_a = 0.25; /* p = 1/4 for r and s: weight 1/2 */
    c.counts = counts;
    c.total = 4;
    const char *base[] = {"r", "s", "nothing known"};
    float out[3 * 2], comp[2];
    ASSERT_OK(sl_words_embed(w, &c, base, 3, out, comp, NULL));
    const float want[3][2] = {{0, 0.5f}, {0, -0.5f}, {0, 0}}, e1[] = {1, 0};
    for (int i = 0; i < 3; i++) assert_row(out + 2 * i, want[i], 2, 1e-5);
    assert_row(comp, e1, 2, 1e-6);
    /* A query set reuses the base's component: t = (3,4)·(1/3) keeps its y. */
    c.component = comp;
    const char *query[] = {"t"};
    float q[2];
    ASSERT_OK(sl_words_embed(w, &c, query, 1, q, NULL, NULL));
    const float tq[] = {0, 4.0f / 3};
    assert_row(q, tq, 2, 1e-5);
    /* Computed on the query alone, the component is t's own direction. */
    c.component = NULL;
    ASSERT_OK(sl_words_embed(w, &c, query, 1, q, comp, NULL));
    const float zero[] = {0, 0}, tdir[] = {0.6f, 0.8f};
    assert_row(q, zero, 2, 1e-5);
    assert_row(comp, tdir, 2, 1e-6);
    sl_wordvecs_destroy(w);
}

TEST(sif_refuses_bad_settings) {
    sl_wordvecs *w = axes();
    const uint64_t counts[] = {1, 1, 1};
    sl_words_embed_config c;
    sl_words_embed_config_default(&c);
    c.method = SL_WORDS_SIF;
    const char *lines[] = {"x", "q"};
    float out[6];
    ASSERT_FAILS(sl_words_embed(w, &c, lines, 2, out, NULL, NULL), SL_ERR_ARG, "SIF needs word counts");
    c.counts = counts;
    ASSERT_FAILS(sl_words_embed(w, &c, lines, 2, out, NULL, NULL), SL_ERR_ARG, "their total is 0");
    c.total = 3;
    c.sif_a = 0;
    ASSERT_FAILS(sl_words_embed(w, &c, lines, 2, out, NULL, NULL), SL_ERR_ARG, "a must be a positive number");
    c.sif_a = 1e-3;
    ASSERT_FAILS(sl_words_embed(w, &c, lines + 1, 1, out, NULL, NULL), SL_ERR_ARG, "no line has a known word");
    const float zero[3] = {0};
    c.component = zero;
    ASSERT_FAILS(sl_words_embed(w, &c, lines, 2, out, NULL, NULL), SL_ERR_ARG, "has norm 0");
    sl_wordvecs_destroy(w);
}

TEST(lines_from_a_file) {
    sl_wordvecs *w = toy();
    const char *path = t_path("lines.txt");
    /* CRLF, a blank line, a NUL byte between words, a last line without '\n'. */
    t_write_file(path, "a b\r\n\nb\0a\ncat", 13);
    float *x;
    size_t n;
    sl_words_embed_stats st;
    ASSERT_OK(sl_words_embed_file(w, NULL, path, &x, &n, NULL, &st));
    ASSERT_EQ_SIZE(n, 4);
    const float want[4][2] = {{0.5f, 1}, {0, 0}, {0.5f, 1}, {5, -5}};
    for (int i = 0; i < 4; i++) assert_row(x + 2 * i, want[i], 2, 1e-6);
    ASSERT_EQ_SIZE(st.empty, 1);
    sl_allocator_free(x);
    write_text(path, "a\n\n");
    ASSERT_OK(sl_words_embed_file(w, NULL, path, &x, &n, NULL, NULL));
    ASSERT_EQ_SIZE(n, 2); /* two line breaks: two lines */
    sl_allocator_free(x);
    write_text(path, "");
    ASSERT_OK(sl_words_embed_file(w, NULL, path, &x, &n, NULL, NULL));
    ASSERT_EQ_SIZE(n, 0);
    sl_allocator_free(x);
    ASSERT_FAILS(sl_words_embed_file(w, NULL, t_path("missing.txt"), &x, &n, NULL, NULL), SL_ERR_IO,
                 "missing.txt: cannot open");
    /* Errors of the embedding name the file once. */
    sl_words_embed_config c;
    sl_words_embed_config_default(&c);
    c.method = SL_WORDS_SIF;
    const uint64_t counts[] = {1, 1, 1, 1};
    c.counts = counts;
    c.total = 4;
    write_text(path, "zz\n\n");
    ASSERT_FAILS(sl_words_embed_file(w, &c, path, &x, &n, NULL, NULL), SL_ERR_ARG,
                 "lines.txt: SIF: no line has a known word");
    sl_wordvecs_destroy(w);
}

TEST(counts_files_and_their_bad_lines) {
    sl_wordvecs *w = toy();
    const char *path = t_path("counts.txt");
    write_text(path, "cat 7\n\nb 3\nunseen 10\r\nCat 0\n");
    uint64_t *c, total;
    ASSERT_OK(sl_words_counts_read(w, path, &c, &total));
    ASSERT_EQ_SIZE((size_t)total, 20);
    const uint64_t want[] = {0, 3, 0, 7};
    for (int i = 0; i < 4; i++) ASSERT_EQ_SIZE((size_t)c[i], (size_t)want[i]);
    sl_allocator_free(c);
    write_text(path, "a 1\nb 2\nCat\n");
    ASSERT_FAILS(sl_words_counts_read(w, path, &c, &total), SL_ERR_FORMAT, "counts.txt: line 3: expected \"word count\"");
    write_text(path, "a 1\nb -2\n");
    ASSERT_FAILS(sl_words_counts_read(w, path, &c, &total), SL_ERR_FORMAT, "line 2: expected");
    write_text(path, "a 1 2\n");
    ASSERT_FAILS(sl_words_counts_read(w, path, &c, &total), SL_ERR_FORMAT, "line 1: expected");
    write_text(path, "a 99999999999999999999\n");
    ASSERT_FAILS(sl_words_counts_read(w, path, &c, &total), SL_ERR_FORMAT, "line 1: expected");
    write_text(path, "a 1\nb 2\na 3\n");
    ASSERT_FAILS(sl_words_counts_read(w, path, &c, &total), SL_ERR_FORMAT, "line 3: the word \"a\" is listed twice");
    write_text(path, "a 18446744073709551615\nb 1\n");
    ASSERT_FAILS(sl_words_counts_read(w, path, &c, &total), SL_ERR_FORMAT, "line 2: the counts add up");
    ASSERT_FAILS(sl_words_counts_read(w, t_path("none.txt"), &c, &total), SL_ERR_IO, "none.txt: cannot open");
    /* A word2vec file holds no counts; NAME.npy has them in NAME.vocab. */
    ASSERT_FAILS(sl_words_counts_load(w, "v.bin", &c, &total), SL_ERR_NOTFOUND, "v.bin is a word2vec or fastText file");
    write_text(t_path("v.vocab"), "a 5\nb 4\nCat 3\ncat 2\n");
    ASSERT_OK(sl_words_counts_load(w, t_path("v.npy"), &c, &total));
    ASSERT_EQ_SIZE((size_t)total, 14);
    ASSERT_EQ_SIZE((size_t)c[3], 2);
    sl_allocator_free(c);
    sl_wordvecs_destroy(w);
}

/* ---- command line -------------------------------------------------------------------*/
static float *read_npy(const char *path, size_t rows, size_t cols) {
    float *x;
    size_t r, c;
    ASSERT_OK(sl_npy_read_matrix(path, &x, &r, &c));
    ASSERT_EQ_SIZE(r, rows);
    ASSERT_EQ_SIZE(c, cols);
    return x;
}

TEST(cli_embed_average_and_sif_with_a_shared_component) {
    char v[512], cmd[4096], *out = NULL;
    snprintf(v, sizeof v, "%s", t_path("v.vec"));
    write_text(v, "3 2\nr 10 1\ns 10 -1\nt 3 4\n");
    write_text(t_path("base.txt"), "r\ns\nnothing known\n");
    write_text(t_path("q.txt"), "T\n");
    snprintf(cmd, sizeof cmd, "%s words embed --vectors %s --text %s -o %s", t_simlearn(), v, t_path("base.txt"),
             t_path("avg.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "3 lines, 4 words, 2 with a vector (50.0%); 1 lines without a known word");
    free(out);
    float *x = read_npy(t_path("avg.npy"), 3, 2);
    const float r[] = {10, 1}, zero[] = {0, 0};
    assert_row(x, r, 2, 0);
    assert_row(x + 4, zero, 2, 0);
    sl_allocator_free(x);
    /* SIF needs counts, which a word2vec file lacks. */
    snprintf(cmd, sizeof cmd, "%s words embed --vectors %s --text %s -o %s --method sif", t_simlearn(), v,
             t_path("base.txt"), t_path("sif.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "SIF needs word counts, and");
    ASSERT_CONTAINS(out, "give them with --counts FILE");
    free(out);
    write_text(t_path("counts.txt"), "r 1\ns 1\nt 2\n");
    snprintf(cmd, sizeof cmd,
             "%s words embed --vectors %s --text %s -o %s --method sif --sif-a 0.25 --counts %s --component-out %s",
             t_simlearn(), v, t_path("base.txt"), t_path("sif.npy"), t_path("counts.txt"), t_path("pc.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "counts from ");
    ASSERT_CONTAINS(out, "removed the first principal component of these lines");
    free(out);
    x = read_npy(t_path("sif.npy"), 3, 2);
    const float half[] = {0, 0.5f};
    assert_row(x, half, 2, 1e-5);
    sl_allocator_free(x);
    x = read_npy(t_path("pc.npy"), 1, 2);
    const float e1[] = {1, 0};
    assert_row(x, e1, 2, 1e-6);
    sl_allocator_free(x);
    snprintf(cmd, sizeof cmd,
             "%s words embed --vectors %s --text %s -o %s --method sif --sif-a 0.25 --counts %s --component-in %s",
             t_simlearn(), v, t_path("q.txt"), t_path("qs.npy"), t_path("counts.txt"), t_path("pc.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "removed the component in");
    free(out);
    x = read_npy(t_path("qs.npy"), 1, 2);
    const float tq[] = {0, 4.0f / 3};
    assert_row(x, tq, 2, 1e-5);
    sl_allocator_free(x);
}

TEST(cli_embed_reports_bad_input) {
    char v[512], cmd[4096], *out = NULL;
    snprintf(v, sizeof v, "%s", t_path("v.vec"));
    write_text(v, "2 2\nr 10 1\ns 10 -1\n");
    write_text(t_path("l.txt"), "r s\n");
    write_text(t_path("bad.txt"), "r 1\ns one\n");
    snprintf(cmd, sizeof cmd, "%s words embed --vectors %s --text %s -o %s --method sif --counts %s", t_simlearn(), v,
             t_path("l.txt"), t_path("o.npy"), t_path("bad.txt"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "bad.txt: line 2: expected \"word count\"");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words embed --vectors %s --text %s -o %s", t_simlearn(), v, t_path("gone.txt"),
             t_path("o.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "gone.txt: cannot open");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words embed --vectors %s --text %s -o %s --component-in x.npy", t_simlearn(), v,
             t_path("l.txt"), t_path("o.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 2);
    ASSERT_CONTAINS(out, "--component-in is for --method sif");
    free(out);
    /* A component of the wrong width. */
    float three[3] = {1, 0, 0};
    ASSERT_OK(sl_npy_write_matrix(t_path("pc3.npy"), three, 1, 3));
    write_text(t_path("c.txt"), "r 1\ns 1\n");
    snprintf(cmd, sizeof cmd, "%s words embed --vectors %s --text %s -o %s --method sif --counts %s --component-in %s",
             t_simlearn(), v, t_path("l.txt"), t_path("o.npy"), t_path("c.txt"), t_path("pc3.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "expected a 1 x 2 matrix");
    free(out);
}

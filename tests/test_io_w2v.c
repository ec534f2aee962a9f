/* Tests of the word2vec text/binary and fastText .vec readers and writers:
 * round trips, format detection, layout tolerance (CRLF, trailing spaces,
 * BOM, UTF-8 words), strictness on counts, dims and values, the fast float
 * parser against strtof, and gensim interop when gensim is installed. */
#include "test.h"

#include "internal.h"

#include <dirent.h>

static void put(const char *name, const char *text) { t_write_file(t_path(name), text, strlen(text)); }

static sl_wordvecs *sample(size_t n, size_t dim, uint64_t seed) {
    sl_wordvecs *w;
    ASSERT_OK(sl_wordvecs_create(n, dim, &w));
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    const char *base[] = {"the", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "</s>", "na\xc3\xafve", "x"};
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s%zu", base[i % 6], i);
        w->words[i] = malloc(strlen(buf) + 1);
        strcpy(w->words[i], buf);
        for (size_t k = 0; k < dim; k++) w->vecs[i * dim + k] = (float)(sl_rng_normal(&r) * pow(10, (int)(k % 7) - 3));
    }
    return w;
}

/* Words in sample() come from malloc; give them to the library's allocator,
 * which is the same malloc by default. */
static void assert_same(const sl_wordvecs *a, const sl_wordvecs *b) {
    ASSERT_EQ_SIZE(a->n, b->n);
    ASSERT_EQ_SIZE(a->dim, b->dim);
    for (size_t i = 0; i < a->n; i++) {
        ASSERT_STREQ(a->words[i], b->words[i]);
        for (size_t k = 0; k < a->dim; k++)
            if (memcmp(&a->vecs[i * a->dim + k], &b->vecs[i * a->dim + k], 4))
                T_FAIL("row %zu col %zu: %.9g vs %.9g", i, k, a->vecs[i * a->dim + k], b->vecs[i * a->dim + k]);
    }
}

TEST(text_and_binary_round_trip_exactly) {
    sl_wordvecs *w = sample(50, 17, 3), *r;
    sl_w2v_format f;
    ASSERT_OK(sl_w2v_write(t_path("v.txt"), w, SL_W2V_TEXT));
    ASSERT_OK(sl_w2v_detect(t_path("v.txt"), &f));
    ASSERT_EQ_INT(f, SL_W2V_TEXT);
    ASSERT_OK(sl_w2v_read(t_path("v.txt"), SL_W2V_AUTO, &r));
    assert_same(w, r);
    sl_wordvecs_destroy(r);
    ASSERT_OK(sl_w2v_write(t_path("v.bin"), w, SL_W2V_BINARY));
    ASSERT_OK(sl_w2v_detect(t_path("v.bin"), &f));
    ASSERT_EQ_INT(f, SL_W2V_BINARY);
    ASSERT_OK(sl_w2v_read(t_path("v.bin"), SL_W2V_AUTO, &r));
    assert_same(w, r);
    sl_wordvecs_destroy(r);
    ASSERT_OK(sl_w2v_read(t_path("v.bin"), SL_W2V_BINARY, &r));
    assert_same(w, r);
    sl_wordvecs_destroy(r);
    sl_wordvecs_destroy(w);
}

TEST(binary_detection_over_many_random_files) {
    /* Detection must not be fooled by raw float bytes, for any dimension. */
    for (size_t dim = 1; dim <= 40; dim++) {
        sl_wordvecs *w = sample(3, dim, dim), *r;
        sl_w2v_format f;
        ASSERT_OK(sl_w2v_write(t_path("d.bin"), w, SL_W2V_BINARY));
        ASSERT_OK(sl_w2v_detect(t_path("d.bin"), &f));
        ASSERT_EQ_INT(f, SL_W2V_BINARY);
        ASSERT_OK(sl_w2v_write(t_path("d.txt"), w, SL_W2V_TEXT));
        ASSERT_OK(sl_w2v_detect(t_path("d.txt"), &f));
        ASSERT_EQ_INT(f, SL_W2V_TEXT);
        ASSERT_OK(sl_w2v_read(t_path("d.bin"), SL_W2V_AUTO, &r));
        assert_same(w, r);
        sl_wordvecs_destroy(r);
        sl_wordvecs_destroy(w);
    }
}

TEST(text_layout_is_word2vec_format) {
    sl_wordvecs *w;
    ASSERT_OK(sl_wordvecs_create(2, 3, &w));
    ASSERT_TRUE(w->words[0] == NULL && w->vecs[5] == 0.0f);
    w->words[0] = malloc(4);
    strcpy(w->words[0], "cat");
    w->words[1] = malloc(4);
    strcpy(w->words[1], "dog");
    float v[6] = {0.5f, -1, 0.1f, 1e-7f, 3e20f, 0};
    memcpy(w->vecs, v, sizeof v);
    ASSERT_OK(sl_w2v_write(t_path("l.txt"), w, SL_W2V_TEXT));
    char *out;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cat %s", t_path("l.txt"));
    t_run(cmd, &out);
    ASSERT_STREQ(out, "2 3\ncat 0.5 -1 0.1\ndog 1e-07 3e+20 0\n");
    free(out);
    ASSERT_OK(sl_w2v_write(t_path("l.bin"), w, SL_W2V_BINARY));
    FILE *f = fopen(t_path("l.bin"), "rb");
    unsigned char b[64];
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    ASSERT_EQ_SIZE(n, 4 + 2 * (4 + 12 + 1));
    ASSERT_TRUE(memcmp(b, "2 3\ncat ", 8) == 0);
    ASSERT_TRUE(memcmp(b + 8, v, 12) == 0);
    ASSERT_EQ_INT(b[20], '\n');
    sl_wordvecs_destroy(w);
}

TEST(text_tolerates_crlf_spaces_tabs_bom_and_utf8) {
    put("t.vec", "\xef\xbb\xbf" "3 2 \r\n"
                 "caf\xc3\xa9 1.5  -2 \r\n"
                 "\xe6\x97\xa5\t+0.25\t1e-3\t\r\n"
                 "z 3 4.0E+1\r\n"
                 "\r\n\n   \n");
    sl_wordvecs *w;
    ASSERT_OK(sl_w2v_read(t_path("t.vec"), SL_W2V_AUTO, &w));
    ASSERT_EQ_SIZE(w->n, 3);
    ASSERT_STREQ(w->words[0], "caf\xc3\xa9");
    ASSERT_STREQ(w->words[1], "\xe6\x97\xa5");
    ASSERT_TRUE(w->vecs[0] == 1.5f && w->vecs[1] == -2.0f && w->vecs[2] == 0.25f && w->vecs[3] == 1e-3f);
    ASSERT_TRUE(w->vecs[5] == 40.0f);
    sl_wordvecs_destroy(w);
    /* No final newline. */
    put("nl.txt", "1 2\nw 1 2");
    ASSERT_OK(sl_w2v_read(t_path("nl.txt"), SL_W2V_TEXT, &w));
    ASSERT_TRUE(w->vecs[1] == 2.0f);
    sl_wordvecs_destroy(w);
    /* Zero words. */
    put("zero.txt", "0 5\n");
    ASSERT_OK(sl_w2v_read(t_path("zero.txt"), SL_W2V_AUTO, &w));
    ASSERT_EQ_SIZE(w->n, 0);
    ASSERT_EQ_SIZE(w->dim, 5);
    sl_wordvecs_destroy(w);
}

TEST(fasttext_vec_style_file) {
    /* fastText writes a trailing space after the last value on every row. */
    put("ft.vec", "4 3\n</s> 0.0012 -0.0034 0.0056 \n, 0.1 0.2 0.3 \nthe -0.11 0.22 -0.33 \n"
                  "\xd0\xbc\xd0\xb8\xd1\x80 1 2 3 \n");
    sl_wordvecs *w;
    ASSERT_OK(sl_w2v_read(t_path("ft.vec"), SL_W2V_AUTO, &w));
    ASSERT_EQ_SIZE(w->n, 4);
    ASSERT_STREQ(w->words[0], "</s>");
    ASSERT_STREQ(w->words[1], ",");
    ASSERT_STREQ(w->words[3], "\xd0\xbc\xd0\xb8\xd1\x80");
    ASSERT_TRUE(w->vecs[0] == 0.0012f && w->vecs[8] == -0.33f);
    sl_wordvecs_destroy(w);
}

TEST(binary_without_newlines_between_rows) {
    unsigned char b[64];
    size_t k = 0;
    memcpy(b, "2 2\n", 4);
    k = 4;
    float v[4] = {1, 2, 3, 4};
    memcpy(b + k, "ab ", 3), k += 3;
    memcpy(b + k, v, 8), k += 8;
    memcpy(b + k, "c ", 2), k += 2;
    memcpy(b + k, v + 2, 8), k += 8;
    t_write_file(t_path("nn.bin"), b, k);
    sl_wordvecs *w;
    ASSERT_OK(sl_w2v_read(t_path("nn.bin"), SL_W2V_BINARY, &w));
    ASSERT_STREQ(w->words[1], "c");
    ASSERT_TRUE(w->vecs[3] == 4.0f);
    sl_wordvecs_destroy(w);
}

static void expect_bad(const char *text, sl_w2v_format fmt, sl_status st, const char *frag) {
    put("bad.txt", text);
    sl_wordvecs *w = NULL;
    ASSERT_FAILS(sl_w2v_read(t_path("bad.txt"), fmt, &w), st, frag);
    ASSERT_TRUE(w == NULL);
    ASSERT_CONTAINS(sl_error_message(), "bad.txt");
}

TEST(text_is_strict_on_counts_dims_and_values) {
    expect_bad("", SL_W2V_TEXT, SL_ERR_FORMAT, "line 1: file is empty");
    expect_bad("hello world\n", SL_W2V_TEXT, SL_ERR_FORMAT, "line 1: expected a header 'COUNT DIM'");
    expect_bad("3\n", SL_W2V_TEXT, SL_ERR_FORMAT, "line 1: expected a header");
    expect_bad("3 2 1\n", SL_W2V_TEXT, SL_ERR_FORMAT, "expected only 'COUNT DIM'");
    expect_bad("1 0\nw\n", SL_W2V_TEXT, SL_ERR_RANGE, "dimension 0");
    expect_bad("1 99999999999999999999999\n", SL_W2V_TEXT, SL_ERR_RANGE, "too large");
    expect_bad("2 3\na 1 2 3\nb 1 2\n", SL_W2V_TEXT, SL_ERR_FORMAT, "line 3: word \"b\": found 2 values, expected 3");
    expect_bad("2 3\na 1 2 3\nb 1 2 3 4 5\n", SL_W2V_TEXT, SL_ERR_FORMAT,
               "line 3: word \"b\": found 5 values, expected 3");
    expect_bad("1 3\na 1 2 3\nb 1 2 3\n", SL_W2V_TEXT, SL_ERR_FORMAT, "line 3: an extra row after the 1");
    expect_bad("3 2\na 1.5 2.5\nb 1.5 2.5\n", SL_W2V_TEXT, SL_ERR_FORMAT, "file ends after 2 rows, but the header says 3");
    expect_bad("1 2\na 1 x2\n", SL_W2V_TEXT, SL_ERR_FORMAT, "line 2: word \"a\": value 2 is \"x2\", expected a number");
    expect_bad("1 2\na 1 2,5\n", SL_W2V_TEXT, SL_ERR_FORMAT, "value 2 is \"2,5\"");
    expect_bad("1 2\na 1 nan\n", SL_W2V_TEXT, SL_ERR_NUMERIC, "value 2 is \"nan\", expected a finite number");
    expect_bad("1 2\na -inf 1\n", SL_W2V_TEXT, SL_ERR_NUMERIC, "value 1 is \"-inf\"");
    expect_bad("1 2\na 1 1e39\n", SL_W2V_TEXT, SL_ERR_NUMERIC, "within float32 range");
    expect_bad("2 2\n 1 2\nb 1 2\n", SL_W2V_TEXT, SL_ERR_FORMAT, "line 2: expected a word");
    expect_bad("2 2\na 1 2\n\nb 1 2\n", SL_W2V_TEXT, SL_ERR_FORMAT, "line 3: expected a word at the start of the "
                                                                     "line, found an empty line");
    /* A count that lies by a lot is refused before allocating. */
    expect_bad("1000000000 300\na 1\n", SL_W2V_TEXT, SL_ERR_FORMAT, "header says 1000000000 words of dimension 300");
    expect_bad("18446744073709551615 1048576\n", SL_W2V_TEXT, SL_ERR_FORMAT, "more than any file holds");
    sl_wordvecs *w;
    ASSERT_FAILS(sl_w2v_read(t_path("missing.txt"), SL_W2V_AUTO, &w), SL_ERR_IO, "cannot open");
    ASSERT_FAILS(sl_w2v_read(t_path("missing.txt"), (sl_w2v_format)7, &w), SL_ERR_ARG, "format");
}

TEST(binary_is_strict_on_truncation_and_values) {
    sl_wordvecs *w = sample(3, 4, 1);
    ASSERT_OK(sl_w2v_write(t_path("b.bin"), w, SL_W2V_BINARY));
    FILE *f = fopen(t_path("b.bin"), "rb");
    unsigned char buf[256];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    /* Layout: "3 4\n" then rows "the0 "+16+"\n", "café1 "+16+"\n", "日本2 "+16+"\n". */
    size_t row2 = 4 + (5 + 16 + 1) + (7 + 16 + 1);
    sl_wordvecs *r = NULL;
    t_write_file(t_path("bad.bin"), buf, n - 5);
    ASSERT_FAILS(sl_w2v_read(t_path("bad.bin"), SL_W2V_BINARY, &r), SL_ERR_FORMAT,
                 "word 3 (\"\xe6\x97\xa5\xe6\x9c\xac" "2\"): file ends mid-vector, 12 of 16 bytes present");
    t_write_file(t_path("bad.bin"), buf, row2 + 3);
    /* Too short for three rows, so refused from the header. */
    ASSERT_FAILS(sl_w2v_read(t_path("bad.bin"), SL_W2V_BINARY, &r), SL_ERR_FORMAT,
                 "header says 3 words of dimension 4, which needs at least 54 bytes of binary rows, but only 49");
    /* Enough bytes overall but the last row's word runs to the end. */
    unsigned char pad[256];
    memcpy(pad, buf, row2);
    memset(pad + row2, 'x', 19);
    t_write_file(t_path("bad.bin"), pad, row2 + 19);
    ASSERT_FAILS(sl_w2v_read(t_path("bad.bin"), SL_W2V_BINARY, &r), SL_ERR_FORMAT, "file ends inside the word");
    /* Extra data after the last row. */
    memcpy(pad, buf, n);
    memcpy(pad + n, "junk", 4);
    t_write_file(t_path("bad.bin"), pad, n + 4);
    ASSERT_FAILS(sl_w2v_read(t_path("bad.bin"), SL_W2V_BINARY, &r), SL_ERR_FORMAT, "data after the 3 words");
    /* A NaN inside a vector. */
    memcpy(pad, buf, n);
    float nan = NAN;
    memcpy(pad + 4 + 5 + 8, &nan, 4);
    t_write_file(t_path("bad.bin"), pad, n);
    ASSERT_FAILS(sl_w2v_read(t_path("bad.bin"), SL_W2V_AUTO, &r), SL_ERR_NUMERIC,
                 "byte 17: word 1 (\"the0\"): value 3 is nan");
    /* An empty word. */
    memcpy(pad, buf, n);
    pad[4] = ' ';
    memmove(pad + 5, buf + 9, n - 9);
    t_write_file(t_path("bad.bin"), pad, n - 4);
    ASSERT_FAILS(sl_w2v_read(t_path("bad.bin"), SL_W2V_BINARY, &r), SL_ERR_FORMAT, "word 1: empty word");
    /* A word with no space within the limit. */
    size_t big = 70000;
    unsigned char *huge = malloc(big);
    memcpy(huge, "1 1\n", 4);
    memset(huge + 4, 'a', big - 4);
    t_write_file(t_path("bad.bin"), huge, big);
    free(huge);
    ASSERT_FAILS(sl_w2v_read(t_path("bad.bin"), SL_W2V_BINARY, &r), SL_ERR_FORMAT, "no space within 65536 bytes");
    ASSERT_TRUE(r == NULL);
    sl_wordvecs_destroy(w);
}

TEST(write_refuses_what_the_format_cannot_hold) {
    sl_wordvecs *w = sample(2, 3, 1);
    w->vecs[4] = INFINITY;
    ASSERT_FAILS(sl_w2v_write(t_path("o.txt"), w, SL_W2V_TEXT), SL_ERR_NUMERIC, "word 2 (\"caf\xc3\xa9" "1\"): value 2 is inf");
    w->vecs[4] = 0;
    free(w->words[1]);
    w->words[1] = malloc(8);
    strcpy(w->words[1], "two w");
    ASSERT_FAILS(sl_w2v_write(t_path("o.txt"), w, SL_W2V_BINARY), SL_ERR_ARG, "contains whitespace");
    w->words[1][0] = 0;
    ASSERT_FAILS(sl_w2v_write(t_path("o.txt"), w, SL_W2V_TEXT), SL_ERR_ARG, "word 2 is empty");
    ASSERT_FAILS(sl_w2v_write(t_path("o.txt"), w, (sl_w2v_format)9), SL_ERR_ARG, "unknown");
    /* Nothing was left behind: no o.txt, no temporary file, nothing at all. */
    FILE *f = fopen(t_path("o.txt"), "rb");
    ASSERT_TRUE(f == NULL);
    DIR *d = opendir(t_tmpdir());
    ASSERT_TRUE(d != NULL);
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) T_FAIL("a failed write left %s", e->d_name);
    closedir(d);
    sl_wordvecs_destroy(w);
}

TEST(fast_float_parser_matches_strtof) {
    sl_rng r;
    sl_rng_seed(&r, 11, 0);
    const char *fmts[] = {"%.6f", "%.9g", "%g", "%.3e", "%.1f", "%.8f", "%.10f", "%.0f", "%.7f", "%a"};
    char buf[128];
    for (int i = 0; i < 200000; i++) {
        double mag = pow(10, (double)sl_rng_below(&r, 16) - 8);
        double x = sl_rng_normal(&r) * mag;
        snprintf(buf, sizeof buf, fmts[i % 10], x);
        float a = 0, b = 0;
        const char *sa, *sb;
        int ra = sl__w2v_parse_float(buf, &a, &sa), rb = sl__w2v_parse_float_ref(buf, &b, &sb);
        if (ra != rb || (ra == 0 && (memcmp(&a, &b, 4) != 0 || sa != sb)))
            T_FAIL("'%s': fast %d %.9g, strtof %d %.9g", buf, ra, a, rb, b);
    }
    /* Edge cases around the fast path's limits. */
    const char *cases[] = {"16777216",  "16777217",    "16777215.5", "0.0000000001", "0.00000000001", "-0",
                           "+3",        "1.",          ".5",         "-.5",          "00012",         "0.30000001",
                           "123456789", "1234567890",  "3.4028235e38", "1e-46",      "5 ",            "7\t",
                           "-",         ".",           "+",          "1x",           "0x10",          "1e5"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float a = 0, b = 0;
        const char *sa, *sb;
        int ra = sl__w2v_parse_float(cases[i], &a, &sa), rb = sl__w2v_parse_float_ref(cases[i], &b, &sb);
        if (ra != rb || (ra == 0 && (memcmp(&a, &b, 4) != 0 || sa != sb)))
            T_FAIL("'%s': fast %d %.9g, strtof %d %.9g", cases[i], ra, a, rb, b);
    }
}

TEST(float_formatter_is_exact_and_short) {
    sl_rng r;
    sl_rng_seed(&r, 12, 0);
    char buf[64], ref[64];
    for (int i = 0; i < 300000; i++) {
        float f;
        if (i % 3 == 0) {
            uint32_t bits = sl_rng_u32(&r);
            memcpy(&f, &bits, 4);
            if (!isfinite(f)) continue;
        } else {
            f = (float)(sl_rng_normal(&r) * pow(10, (double)sl_rng_below(&r, 24) - 12));
        }
        int n = sl__w2v_format_float(f, buf);
        ASSERT_EQ_SIZE(strlen(buf), (size_t)n);
        float back = strtof(buf, NULL);
        if (memcmp(&back, &f, 4)) T_FAIL("%.9g formatted as '%s' reads back as %.9g", f, buf, back);
        /* Never more significant digits than the shortest round-tripping %.Ng, N >= 6. */
        int best = 9;
        for (int p = 6; p <= 9; p++) {
            snprintf(ref, sizeof ref, "%.*g", p, (double)f);
            if (strtof(ref, NULL) == f) {
                best = p;
                break;
            }
        }
        /* Significant digits: the mantissa's digits without leading or trailing zeros. */
        char mant[64];
        int nm = 0;
        for (const char *c = buf; *c && *c != 'e'; c++)
            if (*c >= '0' && *c <= '9') mant[nm++] = *c;
        int lo = 0;
        while (lo < nm && mant[lo] == '0') lo++;
        while (nm > lo && mant[nm - 1] == '0') nm--;
        int digits = nm - lo;
        if (digits > best) T_FAIL("%.9g formatted as '%s', %d digits, but %%.%dg round-trips", f, buf, digits, best);
    }
    const float cases[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.1f, 1e-7f, 1e-5f, 1e-4f, 123456789.0f, 1e9f, 3.4028235e38f,
                           1.17549435e-38f, 1e-45f, 16777216.0f, 0.5f, 100.0f};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl__w2v_format_float(cases[i], buf);
        float back = strtof(buf, NULL);
        if (memcmp(&back, &cases[i], 4)) T_FAIL("%.9g formatted as '%s'", cases[i], buf);
    }
    sl__w2v_format_float(100.0f, buf);
    ASSERT_STREQ(buf, "100");
    sl__w2v_format_float(-0.0f, buf);
    ASSERT_STREQ(buf, "-0");
    sl__w2v_format_float(1e-5f, buf);
    ASSERT_STREQ(buf, "1e-05");
    sl__w2v_format_float(0.000123f, buf);
    ASSERT_STREQ(buf, "0.000123");
    sl__w2v_format_float(1234.5f, buf);
    ASSERT_STREQ(buf, "1234.5");
    sl__w2v_format_float(1e9f, buf);
    ASSERT_STREQ(buf, "1e+09");
}

TEST(larger_file_round_trip) {
    sl_wordvecs *w = sample(3000, 100, 5), *r;
    ASSERT_OK(sl_w2v_write(t_path("big.txt"), w, SL_W2V_TEXT));
    ASSERT_OK(sl_w2v_read(t_path("big.txt"), SL_W2V_AUTO, &r));
    assert_same(w, r);
    sl_wordvecs_destroy(r);
    ASSERT_OK(sl_w2v_write(t_path("big.bin"), w, SL_W2V_BINARY));
    ASSERT_OK(sl_w2v_read(t_path("big.bin"), SL_W2V_AUTO, &r));
    assert_same(w, r);
    sl_wordvecs_destroy(r);
    sl_wordvecs_destroy(w);
}

TEST(gensim_reads_ours_and_we_read_gensims) {
    if (t_run("/usr/bin/python3 -c 'import gensim' 2>/dev/null", NULL) != 0)
        SKIP("/usr/bin/python3 with gensim is not available (scripts/deps.sh test installs python3-gensim)");
    sl_wordvecs *w = sample(20, 8, 9);
    ASSERT_OK(sl_w2v_write(t_path("s.txt"), w, SL_W2V_TEXT));
    ASSERT_OK(sl_w2v_write(t_path("s.bin"), w, SL_W2V_BINARY));
    char cmd[2000], *out;
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"\n"
             "from gensim.models import KeyedVectors as K\n"
             "a=K.load_word2vec_format('%s', binary=False)\n"
             "b=K.load_word2vec_format('%s', binary=True)\n"
             "assert (a.vectors==b.vectors).all() and a.index_to_key==b.index_to_key\n"
             "print(len(a.index_to_key), a.vector_size, a.index_to_key[1], repr(float(a.vectors[2][3])))\n"
             "b.save_word2vec_format('%s', binary=True)\n"
             "a.save_word2vec_format('%s', binary=False)\n\"",
             t_path("s.txt"), t_path("s.bin"), t_path("g.bin"), t_path("g.txt"));
    int rc = t_run(cmd, &out);
    if (rc) T_FAIL("gensim failed: %s", out);
    ASSERT_CONTAINS(out, "20 8 caf\xc3\xa9" "1 ");
    free(out);
    sl_wordvecs *r;
    ASSERT_OK(sl_w2v_read(t_path("g.bin"), SL_W2V_AUTO, &r));
    assert_same(w, r);
    sl_wordvecs_destroy(r);
    /* gensim's text output is "%f"-like with limited precision, so compare
     * approximately. */
    ASSERT_OK(sl_w2v_read(t_path("g.txt"), SL_W2V_AUTO, &r));
    ASSERT_EQ_SIZE(r->n, 20);
    for (size_t i = 0; i < 20 * 8; i++) ASSERT_CLOSE(r->vecs[i], w->vecs[i], 1e-5, 1e-6);
    sl_wordvecs_destroy(r);
    sl_wordvecs_destroy(w);
}

/* ---- other writers' files (tests/fixtures/thirdparty/README.md) ---------- */

/* gensim's save_word2vec_format, text and binary: 6 words, two non-ASCII,
 * row i column j (i * 5 + j) / 3 - 4 in float32; read by both readers and by
 * sl_words_load, which tells them apart by content. */
TEST(gensim_written_text_and_binary) {
    const char *files[] = {"tests/fixtures/thirdparty/gensim/vectors.txt", "tests/fixtures/thirdparty/gensim/vectors.bin"};
    const char *words[] = {"the", "caf\xc3\xa9", "na\xc3\xafve", "king", "queen", "</s>"};
    for (int f = 0; f < 2; f++) {
        sl_w2v_format fmt;
        ASSERT_OK(sl_w2v_detect(files[f], &fmt));
        ASSERT_EQ_INT(fmt, f ? SL_W2V_BINARY : SL_W2V_TEXT);
        for (int how = 0; how < 2; how++) {
            sl_wordvecs *w;
            if (how) ASSERT_OK(sl_words_load(files[f], &w));
            else ASSERT_OK(sl_w2v_read(files[f], SL_W2V_AUTO, &w));
            ASSERT_TRUE(w->n == 6 && w->dim == 5);
            for (size_t i = 0; i < 6; i++) {
                ASSERT_STREQ(w->words[i], words[i]);
                for (size_t j = 0; j < 5; j++) {
                    float want = (float)((double)(i * 5 + j) / 3 - 4);
                    /* binary holds the float32 exactly; text its shortest repr */
                    if (f) ASSERT_TRUE(w->vecs[i * 5 + j] == want);
                    else ASSERT_NEAR(w->vecs[i * 5 + j], want, 1e-6);
                }
            }
            sl_wordvecs_destroy(w);
        }
    }
}

/* fastText's .vec (a space after each row's last value, non-ASCII words),
 * against a naive reading of the same text with strtof. */
TEST(fasttext_written_vec) {
    const char *path = "tests/fixtures/thirdparty/fasttext/vectors.vec";
    sl_wordvecs *w;
    ASSERT_OK(sl_words_load(path, &w));
    ASSERT_TRUE(w->n == 14 && w->dim == 4);
    FILE *f = fopen(path, "r");
    ASSERT_TRUE(f != NULL);
    char line[512];
    ASSERT_TRUE(fgets(line, sizeof line, f) != NULL);
    for (size_t i = 0; i < w->n; i++) {
        ASSERT_TRUE(fgets(line, sizeof line, f) != NULL);
        char *save, *tok = strtok_r(line, " \n", &save);
        ASSERT_STREQ(w->words[i], tok);
        for (size_t j = 0; j < 4; j++) {
            tok = strtok_r(NULL, " \n", &save);
            ASSERT_TRUE(tok != NULL);
            ASSERT_TRUE(w->vecs[i * 4 + j] == strtof(tok, NULL));
        }
    }
    fclose(f);
    ASSERT_STREQ(w->words[9], "caf\xc3\xa9");
    ASSERT_STREQ(w->words[13], "</s>");
    sl_wordvecs_destroy(w);
}

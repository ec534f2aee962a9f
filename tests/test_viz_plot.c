/* Tests of the pictures: the JSONL log reader (good and bad input), the SVG
 * scatter plot, line chart and histogram (well-formed, escaped, complete),
 * the palette, and the map command end to end. */
#include "test.h"

static sl_jsonl *parse_ok(const char *s) {
    sl_jsonl *t = NULL;
    ASSERT_OK(sl_jsonl_parse(s, strlen(s), "log.jsonl", &t));
    return t;
}

TEST(jsonl_reads_flat_objects_into_columns) {
    const char *s = "{\"step\": 0, \"loss\": 2.5}\n"
                    "\n"
                    "{\"step\": 10, \"loss\": 1.25e0, \"lr\": 1e-3, \"phase\": \"train\"}\r\n"
                    "  {\"loss\": NaN, \"step\": 20, \"ok\": true, \"x\": null, \"k\\u00e9y\\n\": -0.5}  \n"
                    "{}";
    sl_jsonl *t = parse_ok(s);
    ASSERT_EQ_SIZE(t->n_rows, 4);
    ASSERT_EQ_SIZE(t->n_keys, 7);
    ASSERT_STREQ(t->keys[0], "step");
    ASSERT_STREQ(t->keys[1], "loss");
    ASSERT_STREQ(t->keys[2], "lr");
    ASSERT_STREQ(t->keys[3], "phase");
    ASSERT_STREQ(t->keys[6], "k\xc3\xa9y\n");
    long step = sl_jsonl_column(t, "step"), loss = sl_jsonl_column(t, "loss"), lr = sl_jsonl_column(t, "lr");
    ASSERT_EQ_INT(sl_jsonl_column(t, "absent"), -1);
    size_t K = t->n_keys;
    ASSERT_NEAR(t->values[0 * K + step], 0, 0);
    ASSERT_NEAR(t->values[1 * K + step], 10, 0);
    ASSERT_NEAR(t->values[2 * K + step], 20, 0);
    ASSERT_NEAR(t->values[0 * K + loss], 2.5, 0);
    ASSERT_NEAR(t->values[1 * K + loss], 1.25, 0);
    ASSERT_TRUE(isnan(t->values[2 * K + loss]));
    ASSERT_TRUE(isnan(t->values[0 * K + lr]));
    ASSERT_NEAR(t->values[1 * K + lr], 1e-3, 1e-18);
    ASSERT_TRUE(isnan(t->values[1 * K + 3])); /* a string */
    ASSERT_NEAR(t->values[2 * K + 4], 1, 0);  /* true */
    ASSERT_NEAR(t->values[2 * K + 6], -0.5, 0);
    ASSERT_TRUE(isnan(t->values[3 * K + step])); /* {} */
    sl_jsonl_destroy(t);
}

TEST(jsonl_rejects_bad_input_with_position) {
    sl_jsonl *t;
    struct {
        const char *text, *frag;
        sl_status st;
    } bad[] = {
        {"{\"a\": 1}\n{\"a\": 2", "line 2, column 8: line ends inside an object (truncated?)", SL_ERR_FORMAT},
        {"{\"a\": 1}\n{\"a\": ", "line 2, column 7: expected a value", SL_ERR_FORMAT},
        {"{\"a\": 1}\n{\"a", "line 2, column 4: unterminated string", SL_ERR_FORMAT},
        {"[1, 2]", "line 1, column 1: expected '{'", SL_ERR_FORMAT},
        {"\x89PNG\r\n", "line 1, column 1: expected '{'", SL_ERR_FORMAT},
        {"{\"a\": {\"b\": 1}}", "nested objects and arrays", SL_ERR_FORMAT},
        {"{\"a\": [1]}", "nested objects and arrays", SL_ERR_FORMAT},
        {"{\"a\": 1e999}", "line 1, column 7: number out of range", SL_ERR_RANGE},
        {"{\"a\": 0x10}", "expected ',' or '}'", SL_ERR_FORMAT},
        {"{\"a\": 01}", "leading zero", SL_ERR_FORMAT},
        {"{\"a\": 1.}", "digits after the decimal point", SL_ERR_FORMAT},
        {"{\"a\": nan}", "expected a number", SL_ERR_FORMAT},
        {"{\"a\": 1, \"a\": 2}", "duplicate key", SL_ERR_FORMAT},
        {"{\"a\": 1} {\"b\": 2}", "unexpected text after the object", SL_ERR_FORMAT},
        {"{a: 1}", "expected a quoted key", SL_ERR_FORMAT},
        {"{\"a\" 1}", "expected ':'", SL_ERR_FORMAT},
        {"{\"a\\q\": 1}", "invalid escape", SL_ERR_FORMAT},
        {"{\"\\ud800\": 1}", "unpaired UTF-16 surrogate", SL_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ASSERT_FAILS(sl_jsonl_parse(bad[i].text, strlen(bad[i].text), "log.jsonl", &t), bad[i].st, bad[i].frag);
    const char nul[] = "{\"a\": 1}\n\0\0\0";
    ASSERT_FAILS(sl_jsonl_parse(nul, sizeof nul - 1, "log.jsonl", &t), SL_ERR_FORMAT, "line 2, column 1: NUL byte");
    ASSERT_FAILS(sl_jsonl_read(t_path("missing.jsonl"), &t), SL_ERR_IO, "missing.jsonl: cannot open");
}

TEST(jsonl_reads_a_file) {
    const char *s = "{\"step\": 1, \"loss\": 3}\n{\"step\": 2, \"loss\": 2}\n";
    t_write_file(t_path("log.jsonl"), s, strlen(s));
    sl_jsonl *t;
    ASSERT_OK(sl_jsonl_read(t_path("log.jsonl"), &t));
    ASSERT_EQ_SIZE(t->n_rows, 2);
    ASSERT_NEAR(t->values[3], 2, 0);
    sl_jsonl_destroy(t);
}

static size_t count(const char *hay, const char *needle) {
    size_t c = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) c++;
    return c;
}

/* Well-formedness light: tags balance and the document ends properly. */
static void check_svg(const char *svg) {
    ASSERT_TRUE(strncmp(svg, "<?xml", 5) == 0);
    ASSERT_CONTAINS(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"");
    ASSERT_TRUE(strstr(svg, "</svg>\n") && strlen(strstr(svg, "</svg>\n")) == 7);
    ASSERT_EQ_SIZE(count(svg, "<text"), count(svg, "</text>"));
    ASSERT_EQ_SIZE(count(svg, "<g"), count(svg, "</g>"));
    ASSERT_TRUE(!strstr(svg, "nan") && !strstr(svg, "inf"));
}

TEST(scatter_svg_has_points_legend_and_escaped_names) {
    float xy[2 * 6] = {0, 0, 1, 1, 2, 0.5f, -1, 3, 5, 5, 4, -2};
    int64_t lab[6] = {0, 1, 1, 2, 7, 0};
    const char *names[3] = {"cat <&>", "dog \"d\"", NULL};
    sl_scatter s = {0};
    s.xy = xy, s.n = 6, s.labels = lab, s.names = names, s.n_names = 3, s.legend_title = "class";
    s.text.title = "A & B";
    s.text.x_label = "x";
    char *svg;
    size_t len;
    ASSERT_OK(sl_plot_scatter(&s, &svg, &len));
    ASSERT_EQ_SIZE(strlen(svg), len);
    check_svg(svg);
    ASSERT_EQ_SIZE(count(svg, "<circle class="), 6);
    ASSERT_CONTAINS(svg, "A &amp; B");
    ASSERT_CONTAINS(svg, "cat &lt;&amp;&gt; <tspan fill=\"#777\">(2)</tspan>");
    ASSERT_CONTAINS(svg, "dog &quot;d&quot;");
    ASSERT_CONTAINS(svg, ">2 <tspan"); /* label 2 has a NULL name: its number */
    ASSERT_CONTAINS(svg, ">7 <tspan");
    ASSERT_CONTAINS(svg, ".c3{fill:#d62728}");
    ASSERT_TRUE(!strstr(svg, "A & B"));
    t_write_file(t_path("s.svg"), svg, len);
    sl_allocator_free(svg);
    xy[3] = NAN;
    ASSERT_FAILS(sl_plot_scatter(&s, &svg, &len), SL_ERR_ARG, "point 1 is not finite");
    s.n = 0;
    ASSERT_FAILS(sl_plot_scatter(&s, &svg, &len), SL_ERR_ARG, "no points");
}

TEST(scatter_svg_inlines_png_thumbnails) {
    float xy[8] = {0, 0, 1, 1, 2, 0, 3, 1};
    uint8_t img[4 * 5 * 5];
    for (int i = 0; i < 100; i++) img[i] = (uint8_t)(i * 2);
    sl_scatter_thumbs th = {img, 5, 5, 1, 3, 20, 1};
    sl_scatter s = {0};
    s.xy = xy, s.n = 4, s.thumbs = &th;
    char *svg;
    size_t len;
    ASSERT_OK(sl_plot_scatter(&s, &svg, &len));
    check_svg(svg);
    ASSERT_EQ_SIZE(count(svg, "href=\"data:image/png;base64,iVBORw0KGgo"), 3);
    sl_allocator_free(svg);
    th.channels = 2;
    ASSERT_FAILS(sl_plot_scatter(&s, &svg, &len), SL_ERR_ARG, "expected 1 or 3 channels");
}

TEST(line_chart_breaks_at_gaps_and_supports_log_axis) {
    double x[5] = {0, 1, 2, 3, 4}, a[5] = {3, 2, NAN, 1.5, 1}, b[5] = {1e-3, 1e-2, 1e-1, 1, 0};
    sl_series s[2] = {{"loss <train>", x, a, 5}, {"lr", x, b, 5}};
    sl_lines l = {s, 2, false, {"curves", "step", "value", 0, 0}};
    char *svg;
    size_t len;
    ASSERT_OK(sl_plot_lines(&l, &svg, &len));
    check_svg(svg);
    ASSERT_EQ_SIZE(count(svg, "<path"), 2);
    ASSERT_EQ_SIZE(count(svg, " M"), 1); /* the NaN starts a second piece of the first line */
    ASSERT_CONTAINS(svg, "loss &lt;train&gt;");
    sl_allocator_free(svg);
    l.log_y = true;
    ASSERT_OK(sl_plot_lines(&l, &svg, &len));
    check_svg(svg);
    ASSERT_CONTAINS(svg, ">0.001</text>");
    ASSERT_CONTAINS(svg, ">1</text>");
    sl_allocator_free(svg);
    double none[2] = {NAN, NAN};
    sl_series e = {"e", x, none, 2};
    sl_lines le = {&e, 1, false, {0}};
    ASSERT_FAILS(sl_plot_lines(&le, &svg, &len), SL_ERR_ARG, "no finite point");
}

TEST(histogram_counts_values_and_draws_marks) {
    double v[1000];
    sl_rng r;
    sl_rng_seed(&r, 1, 0);
    for (int i = 0; i < 1000; i++) v[i] = sl_rng_normal(&r) * 0.1 + 0.3;
    v[5] = NAN;
    double marks[1] = {0.3};
    const char *mn[1] = {"mean"};
    sl_histogram h = {v, 1000, 20, -1, 1, marks, mn, 1, {"cosine similarity", "cos", "pairs", 0, 0}};
    char *svg;
    size_t len;
    ASSERT_OK(sl_plot_histogram(&h, &svg, &len));
    check_svg(svg);
    ASSERT_TRUE(count(svg, "<rect x=") >= 5);
    ASSERT_CONTAINS(svg, "mean 0.3</text>");
    ASSERT_CONTAINS(svg, ">-1.0</text>");
    sl_allocator_free(svg);
    h.n = 0;
    ASSERT_FAILS(sl_plot_histogram(&h, &svg, &len), SL_ERR_ARG, "no finite value");
}

TEST(palette_colours_are_distinct) {
    char seen[64][8];
    for (size_t i = 0; i < 64; i++) {
        sl_palette_color(i, seen[i]);
        ASSERT_EQ_SIZE(strlen(seen[i]), 7);
        ASSERT_TRUE(seen[i][0] == '#');
        for (size_t j = 0; j < i; j++) ASSERT_TRUE(strcmp(seen[i], seen[j]) != 0);
    }
}

TEST(map_command_writes_svg_and_coords) {
    /* Three clusters in 5-D. */
    size_t n = 150, d = 5;
    float x[750];
    int64_t lab[150];
    sl_rng r;
    sl_rng_seed(&r, 2, 0);
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int64_t)(i % 3);
        for (size_t j = 0; j < d; j++) x[i * d + j] = (float)((j == (size_t)lab[i] ? 6 : 0) + sl_rng_normal(&r));
    }
    ASSERT_OK(sl_npy_write_matrix(t_path("emb.npy"), x, n, d));
    ASSERT_OK(sl_npy_write_labels(t_path("lab.npy"), lab, n));
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd, "%s map %s --labels %s --label-names 'a,b&c,d' --perplexity 10 --iters 300 -q -o %s --coords %s --threads 1",
             t_simlearn(), t_path("emb.npy"), t_path("lab.npy"), t_path("map.svg"), t_path("map.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "map: 150 points, 5 dims -> 2 by t-SNE (perplexity 10, 300 iterations)");
    ASSERT_CONTAINS(out, "trustworthiness@10 on 150 points: 0.9");
    free(out);
    float *y;
    size_t rows, cols;
    ASSERT_OK(sl_npy_read_matrix(t_path("map.npy"), &y, &rows, &cols));
    ASSERT_EQ_SIZE(rows, 150);
    ASSERT_EQ_SIZE(cols, 2);
    double pur;
    ASSERT_OK(sl_map_purity(y, n, 2, lab, 5, &pur));
    ASSERT_TRUE(pur > 0.95);
    sl_allocator_free(y);
    snprintf(cmd, sizeof cmd, "grep -c '<circle class=' %s; grep -c 'b&amp;c' %s", t_path("map.svg"), t_path("map.svg"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "150\n1\n");
    free(out);
    /* Thumbnails from an image array (n x 4 x 4 uint8). */
    sl_array im;
    size_t shape[3] = {150, 4, 4};
    ASSERT_OK(sl_array_alloc(&im, SL_U8, 3, shape));
    for (size_t i = 0; i < 150 * 16; i++) ((uint8_t *)im.data)[i] = (uint8_t)(i * 7);
    ASSERT_OK(sl_npy_write(t_path("img.npy"), &im));
    sl_array_destroy(&im);
    snprintf(cmd, sizeof cmd, "%s map %s --method pca --images %s --thumbs 7 -o %s && grep -c 'data:image/png;base64' %s",
             t_simlearn(), t_path("emb.npy"), t_path("img.npy"), t_path("t.svg"), t_path("t.svg"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "\n7\n");
    free(out);
    snprintf(cmd, sizeof cmd, "%s map %s --method pca --images %s -o %s", t_simlearn(), t_path("emb.npy"), t_path("lab.npy"), t_path("t.svg"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "expected 150 images as uint8 or float32");
    free(out);
    /* PCA to 3 dims, coordinates only. */
    snprintf(cmd, sizeof cmd, "%s map %s --method pca --dims 3 --coords %s", t_simlearn(), t_path("emb.npy"), t_path("p.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "by PCA (variance explained:");
    free(out);
    ASSERT_OK(sl_npy_read_matrix(t_path("p.npy"), &y, &rows, &cols));
    ASSERT_EQ_SIZE(cols, 3);
    sl_allocator_free(y);
}

TEST(map_command_reports_bad_usage) {
    char cmd[1024], *out;
    float x[20] = {0};
    ASSERT_OK(sl_npy_write_matrix(t_path("e.npy"), x, 10, 2));
    snprintf(cmd, sizeof cmd, "%s map %s", t_simlearn(), t_path("e.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 2);
    ASSERT_CONTAINS(out, "nothing to write");
    free(out);
    snprintf(cmd, sizeof cmd, "%s map %s --coords %s", t_simlearn(), t_path("e.npy"), t_path("c.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "too few for perplexity 30");
    free(out);
    snprintf(cmd, sizeof cmd, "%s map %s --method pca --dims 5 --coords %s", t_simlearn(), t_path("e.npy"), t_path("c.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 2);
    ASSERT_CONTAINS(out, "more than the 2 input dimensions");
    free(out);
    int64_t lab[3] = {0, 1, 2};
    ASSERT_OK(sl_npy_write_labels(t_path("l.npy"), lab, 3));
    snprintf(cmd, sizeof cmd, "%s map %s --method pca --labels %s -o %s", t_simlearn(), t_path("e.npy"), t_path("l.npy"), t_path("m.svg"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "has 3 labels for 10 rows");
    free(out);
}

TEST(scatter_legend_is_cut_when_labels_are_many) {
    size_t n = 200;
    float xy[400];
    int64_t lab[200];
    for (size_t i = 0; i < n; i++) xy[2 * i] = (float)i, xy[2 * i + 1] = (float)(i % 7), lab[i] = (int64_t)(i % 50);
    sl_scatter s = {0};
    s.xy = xy, s.n = n, s.labels = lab;
    char *svg;
    size_t len;
    ASSERT_OK(sl_plot_scatter(&s, &svg, &len));
    check_svg(svg);
    ASSERT_CONTAINS(svg, "more</text>");
    ASSERT_CONTAINS(svg, ".c49{fill:#");
    sl_allocator_free(svg);
}

TEST(line_chart_reduces_long_series_to_pixel_columns) {
    size_t n = 100000;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) x[i] = (double)i, y[i] = sin((double)i * 0.01) + (i == 50000 ? 5 : 0);
    sl_series s = {"spiky", x, y, n};
    sl_lines l = {&s, 1, false, {"long", "step", "y", 0, 0}};
    char *svg;
    size_t len;
    ASSERT_OK(sl_plot_lines(&l, &svg, &len));
    check_svg(svg);
    size_t cmds = count(svg, " L") + count(svg, "\"M");
    ASSERT_TRUE(cmds < 4 * 760);
    ASSERT_TRUE(cmds > 600);
    /* The single spike (5 + sin 500 = 4.53) survives the reduction: the y axis reaches 4. */
    ASSERT_CONTAINS(svg, ">4</text>");
    double top = 1e9;
    for (const char *p = strstr(svg, "<path"); p && (p = strchr(p + 1, 'L'));) {
        double X, Y;
        if (sscanf(p + 1, "%lf %lf", &X, &Y) == 2 && Y < top) top = Y;
    }
    ASSERT_TRUE(top < 70); /* the drawn line reaches the spike near the top of the plot */
    ASSERT_TRUE(len < 200000);
    sl_allocator_free(svg);
    free(x), free(y);
}

/* Tests of the HTML report: base64 and escaping, the sections and pictures of
 * a small report, its retrieval table against the eval module's figures for
 * the same embeddings, missing or bad inputs, atomic saving (a failed or
 * killed write leaves the previous file whole), and `simlearn report` on a
 * folder of hand-written embeddings, labels and a log. */
#include "test.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A small world: 60 items in 3 clusters, two representations, two attributes
 * and 8 x 8 RGB images; shared by several tests. */
#define N 60
typedef struct {
    float x1[N * 8], x2[N * 4];
    int64_t shape[N], color[N];
    uint8_t img[N * 8 * 8 * 3];
    sl_report_rep reps[2];
    sl_report_attr attrs[2];
    sl_jsonl *log;
    sl_report_log logs[1];
    sl_report_config c;
} world;

static const char *const shape_names[3] = {"circle", "square", "star"};

static void world_make(world *w, const char *rep_name) {
    memset(w, 0, sizeof *w);
    sl_rng r;
    sl_rng_seed(&r, 7, 0);
    for (size_t i = 0; i < N; i++) {
        w->shape[i] = (int64_t)(i % 3);
        w->color[i] = (int64_t)(i % 2);
        for (size_t j = 0; j < 8; j++) w->x1[i * 8 + j] = (float)(j == (size_t)w->shape[i] ? 3 : 0) + (float)sl_rng_normal(&r) * 0.3f;
        for (size_t j = 0; j < 4; j++) w->x2[i * 4 + j] = (float)sl_rng_normal(&r);
        for (size_t p = 0; p < 64; p++) {
            uint8_t *px = w->img + (i * 64 + p) * 3;
            px[0] = (uint8_t)(w->color[i] ? 220 : 20), px[1] = (uint8_t)(40 * w->shape[i]), px[2] = (uint8_t)(p * 3);
        }
    }
    w->reps[0] = (sl_report_rep){rep_name, w->x1, 8};
    w->reps[1] = (sl_report_rep){"noise", w->x2, 4};
    w->attrs[0] = (sl_report_attr){"shape", w->shape, shape_names, 3};
    w->attrs[1] = (sl_report_attr){"color", w->color, NULL, 0};
    static const char log[] = "{\"step\": 0, \"loss\": 4.1, \"lr\": 0.001, \"tau\": 0.5, \"alignment\": 1.2, \"uniformity\": -1.0}\n"
                              "{\"step\": 10, \"loss\": 3.2, \"lr\": 0.002, \"tau\": 0.4, \"alignment\": 0.9, \"uniformity\": -2.0}\n"
                              "{\"step\": 20, \"loss\": 2.5, \"lr\": 0.001, \"tau\": 0.3, \"alignment\": 0.7, \"uniformity\": -2.5}\n";
    if (sl_jsonl_parse(log, sizeof log - 1, "log", &w->log) != SL_OK) abort();
    w->logs[0] = (sl_report_log){"run <1>", w->log};
    sl_report_config_default(&w->c);
    w->c.title = "test & report";
    w->c.n = N;
    w->c.reps = w->reps, w->c.n_reps = 2;
    w->c.attrs = w->attrs, w->c.n_attrs = 2;
    w->c.images = w->img, w->c.img_w = 8, w->c.img_h = 8, w->c.img_c = 3;
    w->c.logs = w->logs, w->c.n_logs = 1;
    w->c.queries = 4, w->c.neighbours = 5;
    w->c.tsne_iters = 100;
}

static size_t count(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

TEST(base64_known_vectors) {
    static const struct {
        const char *in, *out;
    } v[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        char *o = NULL;
        size_t len = 99;
        ASSERT_OK(sl_report_base64((const uint8_t *)v[i].in, strlen(v[i].in), &o, &len));
        ASSERT_STREQ(o, v[i].out);
        ASSERT_EQ_SIZE(len, strlen(v[i].out));
        sl_allocator_free(o);
    }
    const uint8_t bin[3] = {0xff, 0xfe, 0x00};
    char *o = NULL;
    ASSERT_OK(sl_report_base64(bin, 3, &o, NULL));
    ASSERT_STREQ(o, "//4A");
    sl_allocator_free(o);
}

TEST(escape_html_special_characters) {
    char *o = NULL;
    ASSERT_OK(sl_report_escape("<a href=\"x\">&'\x01 ok", &o));
    ASSERT_STREQ(o, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;? ok");
    sl_allocator_free(o);
    ASSERT_OK(sl_report_escape("", &o));
    ASSERT_STREQ(o, "");
    sl_allocator_free(o);
}

TEST(report_has_every_section_and_picture) {
    world w;
    world_make(&w, "enc <b>&");
    char *html = NULL;
    size_t len = 0;
    ASSERT_OK(sl_report_html(&w.c, &html, &len));
    ASSERT_EQ_SIZE(strlen(html), len);
    ASSERT_TRUE(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    ASSERT_CONTAINS(html, "</html>");
    static const char *const ids[] = {"neighbours", "paths", "maps", "curves", "geometry", "evaluation"};
    for (size_t i = 0; i < 6; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "<section id=\"%s\"><h2>", ids[i]);
        ASSERT_CONTAINS(html, buf);
    }
    /* One grid per representation, inlined as PNG, and a path strip where
     * there is a path: the clustered representation's graph holds its three
     * shapes apart, so the walk between two shapes has none there. */
    ASSERT_EQ_SIZE(count(html, "<img "), 3);
    ASSERT_EQ_SIZE(count(html, "src=\"data:image/png;base64,iVBORw0KGgo"), 3);
    ASSERT_CONTAINS(html, "enc &lt;b&gt;&amp;: no path; the two items lie in different components of its graph.");
    ASSERT_CONTAINS(html, "alt=\"noise: ");
    ASSERT_CONTAINS(html, " steps, length ");
    /* Maps: 2 representations x 2 attributes x (PCA, t-SNE); curves: loss, lr,
     * tau, alignment+uniformity; one histogram per representation. */
    ASSERT_EQ_SIZE(count(html, "<svg"), 8 + 4 + 2);
    ASSERT_TRUE(strstr(html, "<?xml") == NULL);
    /* Text from the inputs is escaped everywhere. */
    ASSERT_CONTAINS(html, "enc &lt;b&gt;&amp;");
    ASSERT_TRUE(strstr(html, "enc <b>") == NULL);
    ASSERT_CONTAINS(html, "<title>test &amp; report</title>");
    ASSERT_CONTAINS(html, "run &lt;1&gt;");
    /* Tables: kNN, probe, retrieval, with the class names in the legend. */
    ASSERT_CONTAINS(html, "<h3>kNN accuracy</h3>");
    ASSERT_CONTAINS(html, "<h3>Linear probe accuracy</h3>");
    ASSERT_CONTAINS(html, "mAP@R");
    ASSERT_CONTAINS(html, "square");
    /* The clustered representation classifies its shapes perfectly. */
    ASSERT_CONTAINS(html, "<tr><td>enc &lt;b&gt;&amp;</td><td>100.0%</td>");
    sl_allocator_free(html);
    sl_jsonl_destroy(w.log);
}

/* A given path: two circles are joined in the clustered representation's
 * graph (both in the circles' cluster), so there is a strip, no "no path". */
TEST(report_path_between_given_items) {
    world w;
    world_make(&w, "enc");
    w.c.tsne = false, w.c.probe = false;
    w.c.path_from = 0, w.c.path_to = 30; /* both circles (i % 3 == 0) */
    w.c.n_reps = 1;
    char *html = NULL;
    ASSERT_OK(sl_report_html(&w.c, &html, NULL));
    ASSERT_CONTAINS(html, "The shortest path from item 0 to item 30 through");
    ASSERT_CONTAINS(html, "alt=\"enc: ");
    ASSERT_TRUE(strstr(html, "no path") == NULL);
    sl_allocator_free(html);
    sl_jsonl_destroy(w.log);
}

TEST(report_without_images_logs_or_labels_says_so) {
    world w;
    world_make(&w, "enc");
    w.c.images = NULL;
    w.c.n_logs = 0;
    w.c.n_attrs = 0;
    w.c.tsne = false;
    w.c.probe = false;
    char *html = NULL;
    size_t len;
    ASSERT_OK(sl_report_html(&w.c, &html, &len));
    ASSERT_CONTAINS(html, "No images were given");
    ASSERT_CONTAINS(html, "No training log was given");
    ASSERT_CONTAINS(html, "No labels were given");
    ASSERT_EQ_SIZE(count(html, "<img "), 0);
    ASSERT_EQ_SIZE(count(html, "<svg"), 2 + 2); /* PCA maps and histograms */
    sl_allocator_free(html);
    sl_jsonl_destroy(w.log);
}

/* The zero-shot table: per attribute, the share of the labelled items whose
 * given class is their label; a dash where an attribute was not classified;
 * no table without entries. */
TEST(report_zeroshot_table) {
    world w;
    world_make(&w, "enc");
    w.c.tsne = false, w.c.probe = false;
    char *html = NULL;
    ASSERT_OK(sl_report_html(&w.c, &html, NULL));
    ASSERT_TRUE(strstr(html, "Zero-shot") == NULL);
    sl_allocator_free(html);
    int32_t pred[N];
    for (size_t i = 0; i < N; i++) pred[i] = (int32_t)(i < 45 ? w.shape[i] : (w.shape[i] + 1) % 3);
    w.shape[0] = -1; /* unknown: not counted, so 44 of 59 */
    const int32_t *per_attr[2] = {pred, NULL};
    sl_report_zeroshot z = {"clip <1>", "a photo of a {}", per_attr};
    w.c.zeroshot = &z, w.c.n_zeroshot = 1;
    ASSERT_OK(sl_report_html(&w.c, &html, NULL));
    ASSERT_CONTAINS(html, "<h3>Zero-shot accuracy</h3>");
    ASSERT_CONTAINS(html, "<tr><td>clip &lt;1&gt;</td><td>a photo of a {}</td><td>74.6%</td><td>&ndash;</td></tr>");
    sl_allocator_free(html);
    z.predicted = NULL;
    ASSERT_FAILS(sl_report_html(&w.c, &html, NULL), SL_ERR_ARG, "zero-shot entry 0 has no name, prompt or predictions");
    sl_jsonl_destroy(w.log);
}

TEST(bad_inputs_give_clear_errors) {
    world w;
    world_make(&w, "enc");
    char *html = NULL;
    size_t len;
    sl_report_config c = w.c;
    c.n_reps = 0;
    ASSERT_FAILS(sl_report_html(&c, &html, &len), SL_ERR_ARG, "no representation");
    c = w.c;
    c.n = 1;
    ASSERT_FAILS(sl_report_html(&c, &html, &len), SL_ERR_ARG, "need at least 2");
    c = w.c;
    c.img_c = 2;
    ASSERT_FAILS(sl_report_html(&c, &html, &len), SL_ERR_ARG, "channels 1 or 3");
    c = w.c;
    c.grid_attr = 5;
    ASSERT_FAILS(sl_report_html(&c, &html, &len), SL_ERR_ARG, "out of range");
    c = w.c;
    c.path_from = 3, c.path_to = N;
    ASSERT_FAILS(sl_report_html(&c, &html, &len), SL_ERR_ARG, "path from item 3 to item 60, but there are 60 items");
    c = w.c;
    w.x2[13 * 4 + 2] = NAN;
    ASSERT_FAILS(sl_report_html(&c, &html, &len), SL_ERR_NUMERIC, "noise: row 13, column 2");
    w.x2[13 * 4 + 2] = 0;
    w.shape[3] = -7;
    ASSERT_FAILS(sl_report_html(&c, &html, &len), SL_ERR_ARG, "row 3 has label -7");
    ASSERT_FAILS(sl_report_html(NULL, &html, &len), SL_ERR_ARG, "no configuration");
    sl_jsonl_destroy(w.log);
}

/* ---- the retrieval table against sl_retrieval_labelled ---------------- */

/* 100 points in 3 dimensions, loosely grouped by a 4-class attribute; a second
 * attribute of 6 random classes plus one item with a label of its own (a
 * query with nothing to find, left out by both). No query's cosine
 * similarities to the others lie within 2e-6 of each other, so the float
 * rounding of two implementations cannot reorder a ranking: the seed is the
 * first from 1 that gives such points. */
#define RN 100
#define RD 3
static void retrieval_world(float *x, int64_t *a, int64_t *b) {
    for (uint64_t seed = 1;; seed++) {
        if (seed > 200) T_FAIL("no seed up to 200 gives well separated similarities");
        sl_rng r;
        sl_rng_seed(&r, seed, 5);
        for (size_t i = 0; i < RN; i++) {
            a[i] = (int64_t)(i % 4);
            b[i] = i == 17 ? 99 : (int64_t)sl_rng_below(&r, 6);
            for (size_t j = 0; j < RD; j++)
                x[i * RD + j] = (float)sl_rng_normal(&r) + (j == (size_t)a[i] % RD ? 1.5f : 0.0f) - (a[i] == 3 ? 1.0f : 0.0f);
        }
        double u[RN * RD], s[RN];
        for (size_t i = 0; i < RN; i++) {
            double nn = 0;
            for (size_t j = 0; j < RD; j++) nn += (double)x[i * RD + j] * x[i * RD + j];
            for (size_t j = 0; j < RD; j++) u[i * RD + j] = x[i * RD + j] / sqrt(nn);
        }
        bool ok = true;
        for (size_t q = 0; q < RN && ok; q++) {
            size_t m = 0;
            for (size_t i = 0; i < RN; i++)
                if (i != q) s[m++] = u[q * RD] * u[i * RD] + u[q * RD + 1] * u[i * RD + 1] + u[q * RD + 2] * u[i * RD + 2];
            for (size_t i = 0; i < m && ok; i++)
                for (size_t k = i + 1; k < m && ok; k++) ok = fabs(s[i] - s[k]) > 2e-6;
        }
        if (ok) return;
    }
}

/* The numbers of one row of the report's retrieval table: the row of
 * representation `name` after the "Retrieval" heading, `cells` of them. */
static void retrieval_row(const char *html, const char *name, size_t cells, char out[][16]) {
    const char *t = strstr(html, "<h3>Retrieval</h3>");
    ASSERT_TRUE(t != NULL);
    char key[128];
    snprintf(key, sizeof key, "<tr><td>%s</td>", name);
    const char *p = strstr(t, key);
    if (!p) T_FAIL("no row for %s in the retrieval table", name);
    p += strlen(key);
    for (size_t k = 0; k < cells; k++) {
        if (strncmp(p, "<td>", 4) != 0) T_FAIL("retrieval table, %s, cell %zu: \"%.40s\"", name, k, p);
        p += 4;
        const char *e = strstr(p, "</td>");
        ASSERT_TRUE(e != NULL && e - p < 16);
        memcpy(out[k], p, (size_t)(e - p));
        out[k][e - p] = 0;
        p = e + 5;
    }
}

/* The report computes its recall@1, recall@10 and mAP@R itself (one sort per
 * query for every attribute); each printed figure must be the eval module's
 * figure for the same embeddings and labels, rounded as the table prints it. */
TEST(report_retrieval_table_equals_eval) {
    static float x[RN * RD];
    static int64_t a[RN], b[RN];
    retrieval_world(x, a, b);
    sl_report_rep rep = {"emb", x, RD};
    sl_report_attr attrs[2] = {{"group", a, NULL, 0}, {"noise", b, NULL, 0}};
    sl_report_config c;
    sl_report_config_default(&c);
    c.n = RN, c.reps = &rep, c.n_reps = 1, c.attrs = attrs, c.n_attrs = 2;
    c.tsne = false, c.probe = false;
    char *html = NULL;
    size_t len;
    ASSERT_OK(sl_report_html(&c, &html, &len));
    char cells[6][16];
    retrieval_row(html, "emb", 6, cells);
    sl_allocator_free(html);
    size_t Ks[2] = {1, 10};
    sl_retrieval_config rc = {.metric = SL_METRIC_COSINE, .exclude_self = true, .Ks = Ks, .nK = 2};
    size_t between = 0;
    for (size_t k = 0; k < 2; k++) {
        double rec[2], prec[2], map;
        size_t used;
        ASSERT_OK(sl_retrieval_labelled(x, RN, attrs[k].labels, x, RN, attrs[k].labels, RD, &rc, rec, prec, &map, &used));
        ASSERT_EQ_SIZE(used, k ? RN - 1 : RN); /* item 17 has no relevant item in `noise` */
        const double want[3] = {rec[0], rec[1], map};
        for (size_t m = 0; m < 3; m++) {
            char w[16];
            snprintf(w, sizeof w, "%.3f", want[m]);
            if (strcmp(cells[3 * k + m], w) != 0)
                T_FAIL("%s %s: the report prints %s, eval gives %.6f", attrs[k].name,
                       m == 0 ? "R@1" : m == 1 ? "R@10" : "mAP@R", cells[3 * k + m], want[m]);
            between += want[m] > 0.05 && want[m] < 0.95;
        }
    }
    /* Figures away from 0 and 1, where a wrong ranking or count shows. */
    ASSERT_TRUE(between >= 5);
}

/* ---- saving ------------------------------------------------------------- */

static char *slurp_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) T_FAIL("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    ASSERT_EQ_SIZE(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    return b;
}

/* Names in dir other than `keep`, and the size of the largest of them. */
static size_t other_files(const char *dir, const char *keep, long *largest) {
    DIR *d = opendir(dir);
    ASSERT_TRUE(d != NULL);
    size_t n = 0;
    *largest = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, keep)) continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && st.st_size > *largest) *largest = (long)st.st_size;
        n++;
    }
    closedir(d);
    return n;
}

/* In a child process whose files may not grow past `limit` bytes, save a page
 * of `len` bytes over `path`. With SIGXFSZ ignored the write fails (EFBIG);
 * otherwise the signal kills the child in the middle of writing. The child
 * exits 0 if sl_report_write failed with SL_ERR_IO naming the path. */
static int write_with_size_limit(const char *path, size_t len, rlim_t limit, bool killed) {
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        char *page = malloc(len);
        memset(page, 'n', len);
        struct rlimit rl = {limit, limit};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(3);
        signal(SIGXFSZ, killed ? SIG_DFL : SIG_IGN);
        sl_error_clear();
        sl_status s = sl_report_write(path, page, len);
        _exit(s == SL_ERR_IO && strstr(sl_error_message(), path) ? 0 : 4);
    }
    int st = 0;
    ASSERT_EQ_INT((int)waitpid(pid, &st, 0), (int)pid);
    return st;
}

TEST(report_write_is_atomic_and_complete) {
    char dir[512], p[600];
    snprintf(dir, sizeof dir, "%s", t_path("out"));
    ASSERT_EQ_INT(mkdir(dir, 0777), 0);
    snprintf(p, sizeof p, "%s/r.html", dir);
    ASSERT_OK(sl_report_write(p, "<p>x</p>", 8));
    char *got = slurp_text(p);
    ASSERT_STREQ(got, "<p>x</p>");
    free(got);
    const char *old = "<p>the previous report</p>";
    ASSERT_OK(sl_report_write(p, old, strlen(old)));
    got = slurp_text(p);
    ASSERT_STREQ(got, old);
    free(got);
    long largest;
    ASSERT_EQ_SIZE(other_files(dir, "r.html", &largest), 0);
    /* A write that fails part-way (the file may not grow past 1 KiB), with a
     * page that stays in the stream's buffer until the commit and with one
     * larger than the buffer: the previous file is intact, no temporary file
     * is left, the error names the file. */
    static const size_t sizes[2] = {3000, 200000};
    for (int k = 0; k < 2; k++) {
        int st = write_with_size_limit(p, sizes[k], 1024, false);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            T_FAIL("a %zu-byte page over a 1 KiB limit: child status %d (expected a clean SL_ERR_IO)", sizes[k], st);
        got = slurp_text(p);
        ASSERT_STREQ(got, old);
        free(got);
        if (other_files(dir, "r.html", &largest))
            T_FAIL("a failed %zu-byte write left a file of %ld bytes beside r.html", sizes[k], largest);
    }
    /* A write killed part-way (SIGXFSZ at the 1 KiB limit): the previous file
     * is still whole; what the process had written is in a file of its own,
     * cut at the limit. */
    int st = write_with_size_limit(p, 200000, 1024, true);
    ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGXFSZ);
    got = slurp_text(p);
    ASSERT_STREQ(got, old);
    free(got);
    ASSERT_EQ_SIZE(other_files(dir, "r.html", &largest), 1);
    ASSERT_EQ_INT(largest, 1024);
    ASSERT_FAILS(sl_report_write("/nonexistent-dir/r.html", "x", 1), SL_ERR_IO, "nonexistent-dir");
}

TEST(cli_report_on_a_folder_of_embeddings) {
    world w;
    world_make(&w, "enc");
    char dir[512];
    snprintf(dir, sizeof dir, "%s", t_path("run"));
    ASSERT_TRUE(mkdir(dir, 0777) == 0);
    char p[600];
    snprintf(p, sizeof p, "%s/val.npy", dir);
    ASSERT_OK(sl_npy_write_matrix(p, w.x1, N, 8));
    snprintf(p, sizeof p, "%s/val.shape.npy", dir);
    ASSERT_OK(sl_npy_write_labels(p, w.shape, N));
    snprintf(p, sizeof p, "%s/val.color.npy", dir);
    ASSERT_OK(sl_npy_write_labels(p, w.color, N));
    snprintf(p, sizeof p, "%s/train.jsonl", dir);
    static const char log[] = "{\"step\": 1, \"loss\": 2.0, \"lr\": 0.1}\n{\"step\": 2, \"loss\": 1.5, \"lr\": 0.1}\n";
    t_write_file(p, log, sizeof log - 1);
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s report %s --tsne-iters 100 -q --threads 1", t_simlearn(), dir);
    int rc = t_run(cmd, &out);
    if (rc != 0) printf("%s\n", out);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_CONTAINS(out, "report: 1 representations of 60 items, 1 logs");
    free(out);
    snprintf(p, sizeof p, "%s/report.html", dir);
    FILE *f = fopen(p, "rb");
    ASSERT_TRUE(f != NULL);
    static char html[4 << 20];
    size_t n = fread(html, 1, sizeof html - 1, f);
    fclose(f);
    html[n] = 0;
    ASSERT_CONTAINS(html, "<h3>val</h3>");
    ASSERT_CONTAINS(html, "<th>shape</th>");
    ASSERT_CONTAINS(html, "<th>color</th>");
    ASSERT_CONTAINS(html, "<h3>train</h3>");
    ASSERT_CONTAINS(html, "No images were given");
    /* Explicit files and errors. */
    snprintf(cmd, sizeof cmd, "%s report --emb %s/val.npy --labels %s/val.shape.npy --no-tsne --no-probe -q -o %s",
             t_simlearn(), dir, dir, t_path("x.html"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    free(out);
    snprintf(cmd, sizeof cmd, "%s report %s", t_simlearn(), t_path("missing"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "cannot open the folder");
    free(out);
    snprintf(cmd, sizeof cmd, "mkdir %s && %s report %s", t_path("empty"), t_simlearn(), t_path("empty"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "no models (*.safetensors) or embeddings (*.npy)");
    free(out);
    snprintf(cmd, sizeof cmd, "%s report", t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &out), 2);
    ASSERT_CONTAINS(out, "give a run folder");
    free(out);
    snprintf(cmd, sizeof cmd, "%s report --emb %s/val.npy --labels %s -q", t_simlearn(), dir, t_path("nope.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "nope.npy");
    free(out);
    sl_jsonl_destroy(w.log);
}

TEST(cli_report_on_a_run_folder_with_a_model_and_its_log) {
    char dir[512], cmd[2048], *out = NULL;
    snprintf(dir, sizeof dir, "%s", t_path("run"));
    /* Only the report is under test here: leaks of the train command (in
     * sanitized builds) are that command's tests' business. */
    snprintf(cmd, sizeof cmd,
             "ASAN_OPTIONS=detect_leaks=0 %s train --count 256 --size 16 --encoder 'flatten,linear(16)' --projector 'linear(8)' --steps 4 "
             "--batch 32 --log-every 1 -o %s/tiny.safetensors -q --threads 1",
             t_simlearn(), dir);
    ASSERT_TRUE(mkdir(dir, 0777) == 0);
    int rc = t_run(cmd, &out);
    if (rc) printf("%s\n", out);
    ASSERT_EQ_INT(rc, 0);
    free(out);
    snprintf(cmd, sizeof cmd, "%s report %s --count 100 --tsne-iters 100 -q --threads 1", t_simlearn(), dir);
    rc = t_run(cmd, &out);
    if (rc) printf("%s\n", out);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_CONTAINS(out, "report: 2 representations of 100 items, 1 logs");
    free(out);
    char p[600];
    snprintf(p, sizeof p, "%s/report.html", dir);
    FILE *f = fopen(p, "rb");
    ASSERT_TRUE(f != NULL);
    static char html[8 << 20];
    size_t n = fread(html, 1, sizeof html - 1, f);
    fclose(f);
    html[n] = 0;
    /* Grids and path strips for raw pixels and the model, maps for the four
     * shapes attributes, the log's six charts (with the embeddings' spread
     * and effective rank). */
    ASSERT_EQ_SIZE(count(html, "<img "), 4);
    ASSERT_CONTAINS(html, "Data: shapes, val split, 100 items.");
    ASSERT_CONTAINS(html, "<h3>tiny</h3>");
    ASSERT_CONTAINS(html, "<th>location</th>");
    ASSERT_CONTAINS(html, "alignment and uniformity");
    ASSERT_CONTAINS(html, "temperature (tau)");
    ASSERT_CONTAINS(html, "spread of the embeddings (std per dimension)");
    ASSERT_CONTAINS(html, "effective rank of the embeddings");
    ASSERT_EQ_SIZE(count(html, "<svg"), 2 * 4 * 2 + 6 + 2);
}

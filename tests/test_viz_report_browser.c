/* The report as a person sees it: a small report rendered by headless
 * Chromium (no network), which must load without console errors, show its
 * section headings, decode every inlined PNG and hold every SVG; a screenshot
 * goes to build/report-browser-test.png. Skipped when Chromium is absent. */
#include "test.h"

#include <sys/stat.h>

#define N 90

static const char *chromium_flags =
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
    "--disable-component-update --disable-sync --disable-extensions --enable-logging=stderr --v=0";

TEST(report_renders_in_headless_chromium) {
    char *out = NULL;
    if (t_run("command -v chromium", &out) != 0) {
        free(out);
        SKIP("chromium is not installed (scripts/deps.sh test installs it)");
    }
    free(out);
    /* Three clusters of coloured squares; two representations. */
    static float x1[N * 6], x2[N * 3];
    static int64_t shape[N], color[N];
    static uint8_t img[N * 12 * 12 * 3];
    sl_rng r;
    sl_rng_seed(&r, 3, 0);
    for (size_t i = 0; i < N; i++) {
        shape[i] = (int64_t)(i % 3), color[i] = (int64_t)(i % 4);
        for (size_t j = 0; j < 6; j++) x1[i * 6 + j] = (float)(j == (size_t)shape[i] ? 2 : 0) + 0.2f * (float)sl_rng_normal(&r);
        for (size_t j = 0; j < 3; j++) x2[i * 3 + j] = (float)sl_rng_normal(&r);
        for (size_t p = 0; p < 144; p++) {
            bool in = (p / 12 >= 3 && p / 12 < 9 && p % 12 >= 3 && p % 12 < 9) != (shape[i] == 1);
            uint8_t *px = img + (i * 144 + p) * 3;
            px[0] = in ? (uint8_t)(60 * color[i]) : 0, px[1] = in ? 200 : 0, px[2] = in ? (uint8_t)(80 * shape[i]) : 0;
        }
    }
    static const char *const shapes[3] = {"ring", "square", "dot"};
    sl_report_rep reps[2] = {{"encoder", x1, 6}, {"raw", x2, 3}};
    sl_report_attr attrs[2] = {{"shape", shape, shapes, 3}, {"color", color, NULL, 0}};
    static const char log[] = "{\"step\": 0, \"loss\": 3.0, \"lr\": 0.01}\n{\"step\": 5, \"loss\": 2.0, \"lr\": 0.01}\n"
                              "{\"step\": 10, \"loss\": 1.2, \"lr\": 0.005}\n";
    sl_jsonl *lg;
    ASSERT_OK(sl_jsonl_parse(log, sizeof log - 1, "log", &lg));
    sl_report_log logs[1] = {{"train", lg}};
    sl_report_config c;
    sl_report_config_default(&c);
    c.n = N, c.reps = reps, c.n_reps = 2, c.attrs = attrs, c.n_attrs = 2;
    c.images = img, c.img_w = 12, c.img_h = 12, c.img_c = 3;
    c.logs = logs, c.n_logs = 1;
    c.queries = 5, c.neighbours = 6, c.tsne_iters = 150;
    char *html = NULL;
    size_t len;
    ASSERT_OK(sl_report_html(&c, &html, &len));
    sl_jsonl_destroy(lg);
    /* The page under test is the report with a probe script appended: after
     * load it writes into the title whether every image decoded, and how many
     * images and SVG pictures the document holds. */
    static const char probe[] =
        "<script>window.addEventListener('load',function(){var im=document.images,ok=im.length>0;"
        "for(var i=0;i<im.length;i++)ok=ok&&im[i].complete&&im[i].naturalWidth>0;"
        "document.title='PROBE images='+im.length+' decoded='+(ok?'yes':'no')+' svgs='+"
        "document.querySelectorAll('svg').length+' sections='+document.querySelectorAll('section h2').length;});"
        "</script>";
    char *end = strstr(html, "</body>");
    ASSERT_TRUE(end != NULL);
    const char *page = t_path("report.html");
    char pagepath[512];
    snprintf(pagepath, sizeof pagepath, "%s", page);
    FILE *f = fopen(pagepath, "wb");
    ASSERT_TRUE(f != NULL);
    fwrite(html, 1, (size_t)(end - html), f);
    fputs(probe, f);
    fputs(end, f);
    fclose(f);
    sl_allocator_free(html);
    char profile[512], cmd[4096];
    snprintf(profile, sizeof profile, "%s", t_path("profile"));
    snprintf(cmd, sizeof cmd, "timeout 120 chromium %s --user-data-dir=%s --dump-dom file://%s 2>%s", chromium_flags,
             profile, pagepath, t_path("stderr.txt"));
    int rc = t_run(cmd, &out);
    ASSERT_EQ_INT(rc, 0);
    /* two neighbour grids and one path strip (the encoder's graph keeps its
     * three shapes apart, so the walk between two shapes has no path there) */
    ASSERT_CONTAINS(out, "<title>PROBE images=3 decoded=yes svgs=12 sections=6</title>");
    static const char *const headings[] = {"Nearest neighbours</h2>", "Paths through the k-NN graph</h2>",
                                           "Embedding maps</h2>", "Training curves</h2>", "Geometry</h2>",
                                           "Evaluation</h2>"};
    for (size_t i = 0; i < 6; i++) ASSERT_CONTAINS(out, headings[i]);
    free(out);
    /* Console messages (script errors, failed loads) are logged as CONSOLE lines. */
    snprintf(cmd, sizeof cmd, "cat %s", t_path("stderr.txt"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    if (strstr(out, "CONSOLE")) printf("%s\n", out);
    ASSERT_TRUE(strstr(out, "CONSOLE") == NULL);
    ASSERT_TRUE(strstr(out, "Uncaught") == NULL);
    free(out);
    /* A screenshot for a person to look at. */
    mkdir("build", 0777);
    snprintf(cmd, sizeof cmd,
             "timeout 120 chromium %s --user-data-dir=%s --hide-scrollbars --screenshot=build/report-browser-test.png "
             "--window-size=1280,2400 file://%s 2>/dev/null",
             chromium_flags, profile, pagepath);
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    free(out);
    f = fopen("build/report-browser-test.png", "rb");
    ASSERT_TRUE(f != NULL);
    unsigned char magic[8] = {0};
    ASSERT_EQ_SIZE(fread(magic, 1, 8, f), 8);
    fclose(f);
    ASSERT_TRUE(memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0);
}

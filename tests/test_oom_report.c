/* Out-of-memory walk (tests/oom.h) of the HTML report: every section of a
 * tiny one (neighbour grids of images, PCA and t-SNE maps, training curves,
 * the geometry panel, kNN, probe, retrieval and zero-shot tables), rendered
 * and saved. 24 items, 8 x 8 images, one thread. */
#include "oom.h"

#define N 24
typedef struct {
    float x1[N * 6], x2[N * 3];
    int64_t shape[N], color[N];
    int32_t pred[N];
    const int32_t *per_attr[2];
    uint8_t img[N * 8 * 8 * 3];
    sl_report_rep reps[2];
    sl_report_attr attrs[2];
    sl_jsonl *log;
    sl_report_log logs[1];
    sl_report_zeroshot zs[1];
    sl_report_config c;
} world;

static const char *const shape_names[3] = {"circle", "square", "star"};

static void world_make(world *w) {
    memset(w, 0, sizeof *w);
    sl_rng r;
    sl_rng_seed(&r, 7, 0);
    for (size_t i = 0; i < N; i++) {
        w->shape[i] = (int64_t)(i % 3);
        w->color[i] = i == 5 ? -1 : (int64_t)(i % 2);
        w->pred[i] = (int32_t)((i * 7) % 3);
        for (size_t j = 0; j < 6; j++) w->x1[i * 6 + j] = (float)(j == (size_t)w->shape[i] ? 3 : 0) + (float)sl_rng_normal(&r) * 0.3f;
        for (size_t j = 0; j < 3; j++) w->x2[i * 3 + j] = (float)sl_rng_normal(&r);
        for (size_t p = 0; p < 64; p++) {
            uint8_t *px = w->img + (i * 64 + p) * 3;
            px[0] = (uint8_t)(w->color[i] ? 220 : 20), px[1] = (uint8_t)(40 * w->shape[i]), px[2] = (uint8_t)(p * 3);
        }
    }
    w->reps[0] = (sl_report_rep){"model <a>", w->x1, 6};
    w->reps[1] = (sl_report_rep){"noise", w->x2, 3};
    w->attrs[0] = (sl_report_attr){"shape", w->shape, shape_names, 3};
    w->attrs[1] = (sl_report_attr){"color", w->color, NULL, 0};
    static const char log[] = "{\"step\": 0, \"loss\": 4.1, \"lr\": 0.001, \"tau\": 0.5, \"alignment\": 1.2, \"uniformity\": -1.0}\n"
                              "{\"step\": 10, \"loss\": 3.2, \"lr\": 0.002, \"tau\": 0.4, \"alignment\": 0.9, \"uniformity\": -2.0}\n";
    ASSERT_OK(sl_jsonl_parse(log, sizeof log - 1, "log", &w->log));
    w->logs[0] = (sl_report_log){"run & co", w->log};
    w->per_attr[0] = w->pred, w->per_attr[1] = NULL;
    w->zs[0] = (sl_report_zeroshot){"clip", "a photo of a {}", w->per_attr};
    sl_report_config_default(&w->c);
    w->c.title = "oom & report";
    w->c.description = "a <tiny> one";
    w->c.n = N;
    w->c.reps = w->reps, w->c.n_reps = 2;
    w->c.attrs = w->attrs, w->c.n_attrs = 2;
    w->c.images = w->img, w->c.img_w = 8, w->c.img_h = 8, w->c.img_c = 3;
    w->c.logs = w->logs, w->c.n_logs = 1;
    w->c.zeroshot = w->zs, w->c.n_zeroshot = 1;
    w->c.queries = 3, w->c.neighbours = 3, w->c.knn_k = 3, w->c.thumbs = 4;
    w->c.tsne_iters = 20;
    w->c.perplexity = 4;
}

static sl_status op_report(void *arg) {
    world *w = arg;
    char *html = NULL;
    size_t len = 0;
    sl_status s = sl_report_html(&w->c, &html, &len);
    if (!s) s = sl_report_write(t_path("report.html"), html, len);
    sl_allocator_free(html);
    return s;
}
static sl_status op_log(void *arg) {
    (void)arg;
    static const char log[] = "{\"step\": 0, \"loss\": 4.1, \"lr\": null}\n{\"step\": 1, \"loss\": 3.9, \"extra\": \"x\"}\n";
    sl_jsonl *l = NULL;
    sl_status s = sl_jsonl_parse(log, sizeof log - 1, "log", &l);
    sl_jsonl_destroy(l);
    return s;
}

TEST(report_survives_every_failed_allocation) {
    sl_threads_set(1);
    install();
    world w;
    world_make(&w);
    ASSERT_TRUE(fail_each("report log", op_log, NULL) >= 2);
    ASSERT_TRUE(fail_each("report", op_report, &w) >= 50);
    sl_jsonl_destroy(w.log);
    ASSERT_EQ_INT(C.live, 0);
}

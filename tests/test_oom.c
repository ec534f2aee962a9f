/* Out-of-memory tests (the walk is in tests/oom.h) of the file formats, the
 * base objects, the probe (logistic regression and both SVMs) and zero-shot
 * classification; tests/test_oom_*.c walk the
 * training, index, word-training and report paths. */
#include "oom.h"

#include "internal.h"
#include "io/json.h"

/* ---- the operations ---- */

static sl_status op_npy_write(void *arg) { return sl_npy_write(t_path("a.npy"), arg); }
static sl_status op_npy_read(void *arg) {
    sl_array a;
    (void)arg;
    sl_status s = sl_npy_read(t_path("a.npy"), &a);
    if (!s) sl_array_destroy(&a);
    return s;
}
static sl_status op_npy_matrix(void *arg) {
    float *d;
    size_t r, c;
    (void)arg;
    sl_status s = sl_npy_read_matrix(t_path("a.npy"), &d, &r, &c);
    if (!s) sl_allocator_free(d);
    return s;
}
static sl_status op_npy_labels(void *arg) {
    int64_t *l;
    size_t n;
    (void)arg;
    sl_status s = sl_npy_read_labels(t_path("l.npy"), &l, &n);
    if (!s) sl_allocator_free(l);
    return s;
}

TEST(npy_read_and_write_survive_every_failed_allocation) {
    install();
    sl_array a;
    size_t sh[2] = {20, 7};
    ASSERT_OK(sl_array_alloc(&a, SL_F32, 2, sh));
    for (int i = 0; i < 140; i++) ((float *)a.data)[i] = (float)i;
    ASSERT_TRUE(fail_each("npy write", op_npy_write, &a) >= 1);
    ASSERT_TRUE(fail_each("npy read", op_npy_read, NULL) >= 1);
    ASSERT_TRUE(fail_each("npy read matrix", op_npy_matrix, NULL) >= 2);
    int64_t l[5] = {1, 2, 3, 4, 5};
    ASSERT_OK(sl_npy_write_labels(t_path("l.npy"), l, 5));
    ASSERT_TRUE(fail_each("npy read labels", op_npy_labels, NULL) >= 2);
    sl_array_destroy(&a);
    ASSERT_EQ_INT(C.live, 0);
}

static sl_status op_build_tensors(void *arg) {
    sl_tensors *t;
    (void)arg;
    SL__TRY(sl_tensors_create(&t));
    float w[12] = {0};
    size_t s34[2] = {3, 4};
    char name[32];
    sl_status s = SL_OK;
    /* Enough names and keys to make the arrays grow. */
    for (int i = 0; i < 12 && !s; i++) {
        snprintf(name, sizeof name, "layer.%d.weight", i);
        s = sl_tensors_add(t, name, SL_F32, 2, s34, w);
        if (!s) {
            snprintf(name, sizeof name, "key%d", i);
            s = sl_tensors_set_meta(t, name, "value");
        }
    }
    if (!s) s = sl_tensors_add(t, "layer.0.weight", SL_F32, 1, s34, w); /* replace */
    if (!s) s = sl_tensors_set_meta(t, "key0", "other");
    sl_tensors_destroy(t);
    return s;
}
static sl_status op_st_write(void *arg) { return sl_safetensors_write(t_path("m.safetensors"), arg); }
static sl_status op_st_read(void *arg) {
    sl_tensors *t;
    (void)arg;
    sl_status s = sl_safetensors_read(t_path("m.safetensors"), &t);
    if (!s) sl_tensors_destroy(t);
    return s;
}

TEST(safetensors_survive_every_failed_allocation) {
    install();
    ASSERT_TRUE(fail_each("tensors build", op_build_tensors, NULL) > 20);
    sl_tensors *t;
    ASSERT_OK(sl_tensors_create(&t));
    float w[6] = {1, 2, 3, 4, 5, 6};
    size_t s23[2] = {2, 3};
    char name[32];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "t%d", i);
        ASSERT_OK(sl_tensors_add(t, name, i % 2 ? SL_F32 : SL_I32, 2, s23, w));
        snprintf(name, sizeof name, "meta \"%d\"", i);
        ASSERT_OK(sl_tensors_set_meta(t, name, "v\nw"));
    }
    ASSERT_TRUE(fail_each("safetensors write", op_st_write, t) >= 2);
    ASSERT_TRUE(fail_each("safetensors read", op_st_read, NULL) > 10);
    sl_tensors_destroy(t);
    ASSERT_EQ_INT(C.live, 0);
}

static sl_status op_json(void *arg) {
    const char *txt = arg;
    sl_json *j;
    sl_status s = sl__json_parse(txt, strlen(txt), "mem", 0, &j);
    if (!s) sl__json_free(j);
    return s;
}

TEST(json_parser_survives_every_failed_allocation) {
    install();
    const char *txt = "{\"a\": [1, 2, 3, 4, 5, 6, [7, {\"x\": \"y\"}]], \"b\": {\"c\": \"d\", \"e\": [], \"f\": {}},"
                      " \"g\": \"\\u00e9\", \"h\": true, \"i\": null, \"j\": 1, \"k\": 2, \"l\": 3, \"m\": 4}";
    ASSERT_TRUE(fail_each("json parse", op_json, (void *)txt) > 10);
    ASSERT_EQ_INT(C.live, 0);
}

typedef struct {
    const char *path;
    sl_w2v_format fmt;
    const sl_wordvecs *w;
} w2v_arg;

static sl_status op_w2v_write(void *arg) {
    w2v_arg *a = arg;
    return sl_w2v_write(t_path(a->path), a->w, a->fmt);
}
static sl_status op_w2v_read(void *arg) {
    w2v_arg *a = arg;
    sl_wordvecs *w;
    sl_status s = sl_w2v_read(t_path(a->path), a->fmt, &w);
    if (!s) sl_wordvecs_destroy(w);
    return s;
}
static sl_status op_w2v_detect(void *arg) {
    w2v_arg *a = arg;
    sl_w2v_format f;
    return sl_w2v_detect(t_path(a->path), &f);
}

TEST(word_vectors_survive_every_failed_allocation) {
    install();
    sl_wordvecs *w;
    ASSERT_OK(sl_wordvecs_create(6, 4, &w));
    for (int i = 0; i < 6; i++) {
        char b[16];
        snprintf(b, sizeof b, "w%d\xc3\xa9", i);
        w->words[i] = sl__strdup(b);
        ASSERT_TRUE(w->words[i] != NULL);
        for (int k = 0; k < 4; k++) w->vecs[i * 4 + k] = (float)(i - k) / 3;
    }
    w2v_arg t = {"v.txt", SL_W2V_TEXT, w}, b = {"v.bin", SL_W2V_BINARY, w};
    ASSERT_TRUE(fail_each("w2v write text", op_w2v_write, &t) >= 2);
    ASSERT_TRUE(fail_each("w2v write binary", op_w2v_write, &b) >= 2);
    ASSERT_TRUE(fail_each("w2v read text", op_w2v_read, &t) >= 9);
    ASSERT_TRUE(fail_each("w2v read binary", op_w2v_read, &b) >= 9);
    w2v_arg a = {"v.bin", SL_W2V_AUTO, w};
    ASSERT_TRUE(fail_each("w2v read auto", op_w2v_read, &a) >= 10);
    ASSERT_TRUE(fail_each("w2v detect", op_w2v_detect, &a) >= 1);
    sl_wordvecs_destroy(w);
    ASSERT_EQ_INT(C.live, 0);
}

static sl_status op_alias(void *arg) {
    sl_alias *a;
    sl_status s = sl_alias_create(arg, 50, &a);
    if (!s) sl_alias_destroy(a);
    return s;
}
static sl_status op_progress(void *arg) {
    sl_progress *p;
    sl_status s = sl_progress_create(arg, SL_PROGRESS_QUIET, "x", 10, "it", &p);
    if (!s) sl_progress_destroy(p);
    return s;
}
static sl_status op_afile(void *arg) {
    sl_afile *f;
    (void)arg;
    sl_status s = sl_afile_open(t_path("af.txt"), &f);
    if (!s) s = sl_afile_commit(f);
    return s;
}
static sl_status op_array(void *arg) {
    sl_array a;
    size_t sh[3] = {2, 3, 4};
    (void)arg;
    sl_status s = sl_array_alloc(&a, SL_F64, 3, sh);
    if (!s) sl_array_destroy(&a);
    return s;
}

TEST(base_objects_survive_every_failed_allocation) {
    install();
    double wts[50];
    for (int i = 0; i < 50; i++) wts[i] = i % 7;
    ASSERT_TRUE(fail_each("alias table", op_alias, wts) >= 3);
    ASSERT_TRUE(fail_each("progress", op_progress, stderr) >= 1);
    ASSERT_TRUE(fail_each("atomic file", op_afile, NULL) >= 3);
    ASSERT_TRUE(fail_each("array", op_array, NULL) >= 1);
    ASSERT_EQ_INT(C.live, 0);
}

/* ---- the probe ---- */

typedef struct {
    float x[60 * 3];
    int64_t y[60];
    sl_probe_model model;
    sl_svm_multi multi;
} probe_set;

static sl_status op_probe(void *arg) {
    probe_set *p = arg;
    sl_probe_config c;
    sl_probe_config_default(&c);
    c.model = p->model;
    c.svm.multi = p->multi;
    sl_probe_result *r;
    sl_status s = sl_probe_run(&c, p->x, p->y, 50, p->x + 50 * 3, p->y + 50, 10, 3, &r);
    if (!s) sl_probe_result_destroy(r);
    return s;
}

TEST(probe_survives_every_failed_allocation) {
    sl_threads_set(1);
    probe_set p;
    sl_rng r;
    sl_rng_seed(&r, 2, 0);
    for (size_t i = 0; i < 60; i++) {
        p.y[i] = (int64_t)(i % 3);
        for (size_t j = 0; j < 3; j++) p.x[i * 3 + j] = (float)sl_rng_normal(&r) + (j == i % 3 ? 2.0f : 0.0f);
    }
    install();
    p.model = SL_PROBE_LOGREG, p.multi = SL_SVM_OVR;
    ASSERT_TRUE(fail_each("probe", op_probe, &p) >= 10);
    p.model = SL_PROBE_SVM;
    ASSERT_TRUE(fail_each("probe svm", op_probe, &p) >= 10);
    p.multi = SL_SVM_CRAMMER_SINGER;
    ASSERT_TRUE(fail_each("probe crammer-singer", op_probe, &p) >= 10);
    ASSERT_EQ_INT(C.live, 0);
}

/* ---- zero-shot classification ---- */

static sl_status op_zeroshot(void *arg) {
    sl_zeroshot_config c;
    sl_zeroshot_config_default(&c);
    c.embed.model = arg;
    c.embed.data_count = 20;
    c.embed.threads = 1;
    sl_zeroshot_result *r;
    sl_status s = sl_zeroshot_run(&c, &r);
    if (!s) sl_zeroshot_result_destroy(r);
    return s;
}

TEST(zeroshot_survives_every_failed_allocation) {
    sl_train_config t;
    sl_train_config_default(&t);
    t.data_count = 64;
    t.image_size = 16;
    t.objective = SL_OBJ_CLIP;
    t.encoder = "conv(4,3,stride=2,pad=1),bn,relu,flatten,linear(8)";
    t.projector = "linear(8)";
    t.batch = 16;
    t.steps = 1;
    t.threads = 1;
    char path[1024];
    snprintf(path, sizeof path, "%s", t_path("clip.safetensors"));
    t.out = path;
    sl_trainer *tr;
    ASSERT_OK(sl_trainer_create(&t, &tr));
    ASSERT_OK(sl_trainer_run(tr, NULL));
    sl_trainer_destroy(tr);
    install();
    ASSERT_TRUE(fail_each("zeroshot", op_zeroshot, path) >= 10);
    ASSERT_EQ_INT(C.live, 0);
}

/* Tests of the dataset settings that train, embed and report share: train
 * records the ones it was given in its checkpoint (and only those, so a run
 * without them writes what it wrote before they existed), resume and embed
 * take them back, and embed takes a source's labels file only with that
 * source. (test_train_cli.c checks that each is read strictly.) */
#include "test.h"

#include <stdarg.h>

#define NPY_TRAIN "--objective softmax --encoder 'flatten,linear(4)' --batch 8 --steps 3 --threads 1 -q"
#define SHAPES_TRAIN                                                                                           \
    "--count 64 --size 16 --batch 16 --steps 2 --threads 1 -q --encoder 'conv(4,3,stride=2,pad=1),bn,relu,flatten,linear(8)' " \
    "--projector 'linear(4)'"

/* Run a simlearn command line in the test's folder; fail the test unless it
 * exits with `want`. Returns the output (malloc'd). */
static char *run_in_tmp(int want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *run_in_tmp(int want, const char *fmt, ...) {
    char args[4096], cmd[8192], *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd %s && %s %s", t_tmpdir(), t_simlearn(), args);
    int rc = t_run(cmd, &out);
    if (rc != want) T_FAIL("%s: exit %d, expected %d: %s", args, rc, want, out);
    return out;
}

static void expect_meta(const char *ckpt, const char *key, const char *want) {
    sl_tensors *x;
    ASSERT_OK(sl_safetensors_read(t_path(ckpt), &x));
    const char *v = sl_tensors_get_meta(x, key);
    if (want ? !v || strcmp(v, want) != 0 : v != NULL)
        T_FAIL("%s: %s is '%s', expected %s%s%s", ckpt, key, v ? v : "(absent)", want ? "'" : "", want ? want : "absent",
               want ? "'" : "");
    sl_tensors_destroy(x);
}

/* A 60 x 8 matrix and its labels 0, 1, 2, 0, ... */
static void write_npy_source(void) {
    float x[60 * 8];
    int64_t l[60];
    for (int i = 0; i < 60 * 8; i++) x[i] = (float)((i * 37) % 17) / 17.0f - 0.5f;
    for (int i = 0; i < 60; i++) l[i] = i % 3;
    ASSERT_OK(sl_npy_write_matrix(t_path("x.npy"), x, 60, 8));
    ASSERT_OK(sl_npy_write_matrix(t_path("y.npy"), x, 30, 8));
    ASSERT_OK(sl_npy_write_labels(t_path("l.npy"), l, 60));
}

static bool same_file(const char *a, const char *b) {
    char cmd[4096], *o = NULL;
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", a, b);
    int rc = t_run(cmd, &o);
    free(o);
    return rc == 0;
}

TEST(train_records_the_labels_file_and_embed_follows_it_with_its_source) {
    write_npy_source();
    free(run_in_tmp(0, "train --data x.npy --labels l.npy --test-fraction 0.5 " NPY_TRAIN " -o m.safetensors"));
    expect_meta("m.safetensors", "train.labels", "l.npy");
    expect_meta("m.safetensors", "train.test_fraction", "0.5");
    expect_meta("m.safetensors", "train.channels", NULL);
    /* embed with the model's data: its labels and its split into test and
     * the rest (0.5 here, where the default is 0.1). */
    free(run_in_tmp(0, "embed --model m.safetensors --split test -q -o e.npy"));
    int64_t *lab;
    size_t n, n_all;
    ASSERT_OK(sl_npy_read_labels(t_path("e.labels.npy"), &lab, &n));
    sl_allocator_free(lab);
    free(run_in_tmp(0, "embed --model m.safetensors --split all -q -o all.npy"));
    ASSERT_OK(sl_npy_read_labels(t_path("all.labels.npy"), &lab, &n_all));
    sl_allocator_free(lab);
    ASSERT_EQ_SIZE(n_all, 60);
    ASSERT_TRUE(n > 18 && n < 42);
    /* Another source does not take the model's labels file. */
    char *o = run_in_tmp(0, "embed --model m.safetensors --data y.npy --split all -o e2.npy");
    ASSERT_CONTAINS(o, "wrote e2.npy (30 x 4)\n");
    free(o);
    FILE *f = fopen(t_path("e2.labels.npy"), "rb");
    ASSERT_TRUE(f == NULL);
    /* Nor does --labels of a wrong length go unnoticed. */
    o = run_in_tmp(1, "embed --model m.safetensors --data y.npy --labels l.npy -q -o e3.npy");
    ASSERT_CONTAINS(o, "60 labels for 30 rows");
    free(o);
}

TEST(shapes_settings_round_trip_through_resume_and_embed) {
    free(run_in_tmp(0, "train " SHAPES_TRAIN " --rotate --noise 0.25 --steps 4 --stop-at 2 -o m.safetensors"));
    expect_meta("m.safetensors", "train.shapes_rotate", "1");
    expect_meta("m.safetensors", "train.shapes_noise", "0.25");
    free(run_in_tmp(0, "train --resume m.safetensors -q -o r.safetensors"));
    expect_meta("r.safetensors", "train.shapes_rotate", "1");
    expect_meta("r.safetensors", "train.shapes_noise", "0.25");
    /* embed draws the model's world unless told otherwise. */
    free(run_in_tmp(0, "embed --model r.safetensors --split val --count 20 -q -o a.npy"));
    free(run_in_tmp(0, "embed --model r.safetensors --split val --count 20 --rotate --noise 0.25 -q -o b.npy"));
    free(run_in_tmp(0, "embed --model r.safetensors --split val --count 20 --noise 0 -q -o c.npy"));
    char a[1024], b[1024], c[1024];
    snprintf(a, sizeof a, "%s", t_path("a.npy"));
    snprintf(b, sizeof b, "%s", t_path("b.npy"));
    snprintf(c, sizeof c, "%s", t_path("c.npy"));
    ASSERT_TRUE(same_file(a, b));
    ASSERT_TRUE(!same_file(a, c));
    /* The library says which data an embedding opens. */
    sl_embed_config e;
    sl_embed_config_default(&e);
    char mp[1024], buf[64];
    snprintf(mp, sizeof mp, "%s", t_path("r.safetensors"));
    e.model = mp;
    e.split = SL_SPLIT_VAL;
    sl_data_config dc;
    ASSERT_OK(sl_embed_data_config(&e, &dc, buf, sizeof buf));
    ASSERT_STREQ(dc.source, "shapes");
    ASSERT_TRUE(dc.shapes_rotate && dc.shapes_noise == 0.25f && dc.size == 16 && dc.split == SL_SPLIT_VAL);
    ASSERT_FAILS(sl_embed_data_config(&e, &dc, buf, 3), SL_ERR_RANGE, "longer than 2 bytes");
}

TEST(runs_without_the_new_settings_record_none_of_them) {
    free(run_in_tmp(0, "train " SHAPES_TRAIN " -o m.safetensors"));
    static const char *const keys[] = {"train.test_fraction", "train.channels",      "train.labels",
                                       "train.image_dir",     "train.shapes_rotate", "train.shapes_noise"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) expect_meta("m.safetensors", keys[i], NULL);
    expect_meta("m.safetensors", "train.val_fraction", "-1");
}

TEST(report_opens_the_dataset_options_say) {
    write_npy_source();
    char *o = run_in_tmp(2, "report --data x.npy --data-labels l.npy --split bogus -o r.html");
    ASSERT_CONTAINS(o, "option --split: 'bogus' is not one of train|val|test|all");
    free(o);
    free(run_in_tmp(0, "embed --raw --data x.npy --labels l.npy --split all -q -o e.npy"));
    o = run_in_tmp(0, "report --emb e.npy --data x.npy --data-labels l.npy --split all --count 40 --no-tsne "
                      "--no-probe -q -o r.html");
    ASSERT_CONTAINS(o, "report: 2 representations of 40 items");
    free(o);
    /* The labels of the dataset name the attribute of the tables. */
    o = run_in_tmp(0, "report --emb e.npy --data x.npy --data-labels l.npy --split all --count 40 --no-tsne "
                      "--no-probe --label label -q -o r.html");
    free(o);
    o = run_in_tmp(2, "report --emb e.npy --data x.npy --split all --count 40 --label label -q -o r.html");
    ASSERT_CONTAINS(o, "--label label: no such attribute");
    free(o);
    o = run_in_tmp(0, "data stats x.npy --labels l.npy --split test --test-fraction 0.5");
    ASSERT_CONTAINS(o, "label (3 classes)");
    free(o);
    o = run_in_tmp(2, "train --data x.npy --channels 2 " NPY_TRAIN " -o m.safetensors");
    ASSERT_CONTAINS(o, "option --channels: 2 is not 1 or 3");
    free(o);
}

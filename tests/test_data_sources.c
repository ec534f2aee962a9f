/* Tests of the file-backed dataset sources: IDX (plain and gzip, corrupt
 * headers, truncated data), Fashion-MNIST when installed, image folders with
 * an undecodable image, caption lists (TSV and Flickr8k) and .npy matrices,
 * and the deterministic splits. */
#include "test.h"

#include <sys/stat.h>
#include <zlib.h>

static size_t idx_bytes(uint8_t *buf, int ndim, const uint32_t *dims, uint8_t first) {
    size_t n = 4, total = 1;
    buf[0] = buf[1] = 0;
    buf[2] = 8;
    buf[3] = (uint8_t)ndim;
    for (int k = 0; k < ndim; k++) {
        buf[n++] = (uint8_t)(dims[k] >> 24);
        buf[n++] = (uint8_t)(dims[k] >> 16);
        buf[n++] = (uint8_t)(dims[k] >> 8);
        buf[n++] = (uint8_t)dims[k];
        total *= dims[k];
    }
    for (size_t i = 0; i < total; i++) buf[n + i] = (uint8_t)(first + i);
    return n + total;
}

static void write_gz(const char *path, const void *data, size_t n) {
    gzFile g = gzopen(path, "wb");
    ASSERT_TRUE(g != NULL);
    ASSERT_EQ_INT(gzwrite(g, data, (unsigned)n), (int)n);
    gzclose(g);
}

/* A tiny MNIST-like folder: 5 train and 3 test images of 4x4, labels 0..4. */
static void make_idx_dir(const char *dir, bool gz) {
    mkdir(dir, 0777);
    static uint8_t buf[4096];
    char p[512];
    const char *sfx = gz ? ".gz" : "";
    uint32_t di[3] = {5, 4, 4}, dl[1] = {5}, ti[3] = {3, 4, 4}, tl[1] = {3};
    size_t n;
    struct {
        const char *stem;
        int nd;
        const uint32_t *dims;
        uint8_t first;
    } files[4] = {{"train-images-idx3-ubyte", 3, di, 0},
                  {"train-labels-idx1-ubyte", 1, dl, 0},
                  {"t10k-images-idx3-ubyte", 3, ti, 100},
                  {"t10k-labels-idx1-ubyte", 1, tl, 2}};
    for (int k = 0; k < 4; k++) {
        n = idx_bytes(buf, files[k].nd, files[k].dims, files[k].first);
        snprintf(p, sizeof p, "%s/%s%s", dir, files[k].stem, sfx);
        if (gz)
            write_gz(p, buf, n);
        else
            t_write_file(p, buf, n);
    }
}

static sl_status open_src(const char *src, sl_split split, sl_dataset **d) {
    sl_data_config c;
    sl_data_config_default(&c);
    c.source = src;
    c.split = split;
    return sl_data_open(&c, d);
}

TEST(idx_plain_and_gzip_read_the_same) {
    make_idx_dir(t_path("plain"), false);
    make_idx_dir(t_path("gz"), true);
    const char *dirs[2] = {t_path("plain"), t_path("gz")};
    for (int k = 0; k < 2; k++) {
        sl_dataset *d;
        ASSERT_OK(open_src(dirs[k], SL_SPLIT_TRAIN, &d));
        ASSERT_EQ_INT(sl_data_kind_of(d), SL_DATA_IDX);
        ASSERT_EQ_SIZE(sl_data_count(d), 5);
        ASSERT_EQ_INT(sl_data_channels(d), 1);
        ASSERT_EQ_INT(sl_data_height(d), 4);
        ASSERT_STREQ(sl_data_attr(d, 0)->name, "class");
        ASSERT_STREQ(sl_data_attr(d, 0)->class_names[3], "3");
        float x[16];
        int32_t lab[1];
        ASSERT_OK(sl_data_get(d, 2, x, lab, NULL));
        ASSERT_EQ_INT(lab[0], 2);
        ASSERT_NEAR(x[0], 32 / 255.0, 1e-6);
        ASSERT_NEAR(x[15], 47 / 255.0, 1e-6);
        sl_data_destroy(d);
        ASSERT_OK(open_src(dirs[k], SL_SPLIT_TEST, &d));
        ASSERT_EQ_SIZE(sl_data_count(d), 3);
        ASSERT_OK(sl_data_get(d, 0, x, lab, NULL));
        ASSERT_EQ_INT(lab[0], 2);
        ASSERT_NEAR(x[0], 100 / 255.0, 1e-6);
        sl_data_destroy(d);
        ASSERT_OK(open_src(dirs[k], SL_SPLIT_ALL, &d));
        ASSERT_EQ_SIZE(sl_data_count(d), 8);
        sl_data_destroy(d);
        ASSERT_FAILS(open_src(dirs[k], SL_SPLIT_VAL, &d), SL_ERR_ARG, "no validation split");
    }
    /* A single images file finds its labels beside it. */
    char p[512];
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte.gz", t_path("gz"));
    sl_dataset *d;
    ASSERT_OK(open_src(p, SL_SPLIT_TRAIN, &d));
    ASSERT_EQ_SIZE(sl_data_count(d), 3);
    int32_t lab[1];
    ASSERT_OK(sl_data_get(d, 1, NULL, lab, NULL));
    ASSERT_EQ_INT(lab[0], 3);
    sl_data_destroy(d);
}

TEST(idx_validation_fraction_carves_the_train_file) {
    make_idx_dir(t_path("v"), false);
    sl_data_config c;
    sl_data_config_default(&c);
    c.source = t_path("v");
    c.val_fraction = 0.4;
    sl_dataset *d;
    ASSERT_OK(sl_data_open(&c, &d));
    ASSERT_EQ_SIZE(sl_data_count(d), 3);
    sl_data_destroy(d);
    c.split = SL_SPLIT_VAL;
    ASSERT_OK(sl_data_open(&c, &d));
    ASSERT_EQ_SIZE(sl_data_count(d), 2);
    int32_t lab[1];
    ASSERT_OK(sl_data_get(d, 0, NULL, lab, NULL));
    ASSERT_EQ_INT(lab[0], 3);
    sl_data_destroy(d);
}

TEST(idx_bad_inputs_fail_clearly) {
    static uint8_t buf[4096];
    uint32_t dims[3] = {2, 4, 4};
    size_t n = idx_bytes(buf, 3, dims, 0);
    sl_dataset *d;
    /* wrong magic */
    buf[0] = 0x12;
    t_write_file(t_path("m-images-idx3-ubyte"), buf, n);
    ASSERT_FAILS(open_src(t_path("m-images-idx3-ubyte"), SL_SPLIT_TRAIN, &d), SL_ERR_FORMAT, "not an IDX file");
    buf[0] = 0;
    /* unsupported element type */
    buf[2] = 0x0d;
    t_write_file(t_path("t-images-idx3-ubyte"), buf, n);
    ASSERT_FAILS(open_src(t_path("t-images-idx3-ubyte"), SL_SPLIT_TRAIN, &d), SL_ERR_UNSUPPORTED, "element type");
    buf[2] = 8;
    /* absurd dimensions */
    uint8_t absurd[16] = {0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 28};
    t_write_file(t_path("a-images-idx3-ubyte"), absurd, sizeof absurd);
    ASSERT_FAILS(open_src(t_path("a-images-idx3-ubyte"), SL_SPLIT_TRAIN, &d), SL_ERR_FORMAT, "absurd");
    /* zero dimensions count */
    uint8_t nodims[4] = {0, 0, 8, 0};
    t_write_file(t_path("z-images-idx3-ubyte"), nodims, 4);
    ASSERT_FAILS(open_src(t_path("z-images-idx3-ubyte"), SL_SPLIT_TRAIN, &d), SL_ERR_FORMAT, "0 dimensions");
    /* header only */
    t_write_file(t_path("h-images-idx3-ubyte"), buf, 2);
    ASSERT_FAILS(open_src(t_path("h-images-idx3-ubyte"), SL_SPLIT_TRAIN, &d), SL_ERR_FORMAT, "truncated IDX header");
    /* plain data cut short */
    t_write_file(t_path("s-images-idx3-ubyte"), buf, n - 5);
    ASSERT_FAILS(open_src(t_path("s-images-idx3-ubyte"), SL_SPLIT_TRAIN, &d), SL_ERR_FORMAT, "truncated IDX data");
    /* truncated gzip stream */
    write_gz(t_path("full.gz"), buf, n);
    FILE *f = fopen(t_path("full.gz"), "rb");
    static uint8_t gz[4096];
    size_t gn = fread(gz, 1, sizeof gz, f);
    fclose(f);
    t_write_file(t_path("cut-images-idx3-ubyte.gz"), gz, gn - 12);
    ASSERT_FAILS(open_src(t_path("cut-images-idx3-ubyte.gz"), SL_SPLIT_TRAIN, &d), SL_ERR_FORMAT, "truncated");
    /* labels that do not match the images */
    uint32_t ld[1] = {3};
    n = idx_bytes(buf, 1, ld, 0);
    t_write_file(t_path("ok-labels-idx1-ubyte"), buf, n);
    n = idx_bytes(buf, 3, dims, 0);
    t_write_file(t_path("ok-images-idx3-ubyte"), buf, n);
    ASSERT_FAILS(open_src(t_path("ok-images-idx3-ubyte"), SL_SPLIT_TRAIN, &d), SL_ERR_FORMAT, "3 labels for 2 images");
    /* images file with one dimension */
    t_write_file(t_path("one-images-idx3-ubyte"), buf, 4 + 4 + 3);
    n = idx_bytes(buf, 1, ld, 0);
    t_write_file(t_path("one-images-idx3-ubyte"), buf, n);
    ASSERT_FAILS(open_src(t_path("one-images-idx3-ubyte"), SL_SPLIT_TRAIN, &d), SL_ERR_FORMAT, "expected 3");
    ASSERT_FAILS(open_src(t_path("nothing-here"), SL_SPLIT_TRAIN, &d), SL_ERR_NOTFOUND, "no such built-in name");
}

TEST(fashion_mnist_when_installed) {
    struct stat st;
    if (stat("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", &st) != 0)
        SKIP("fashion-mnist is not installed (scripts/deps.sh test installs dataset-fashion-mnist)");
    sl_dataset *d;
    ASSERT_OK(open_src("fashion-mnist", SL_SPLIT_TEST, &d));
    ASSERT_EQ_SIZE(sl_data_count(d), 10000);
    ASSERT_EQ_INT(sl_data_height(d), 28);
    ASSERT_EQ_INT(sl_data_width(d), 28);
    ASSERT_EQ_INT(sl_data_num_attrs(d), 1);
    const sl_attr *a = sl_data_attr(d, 0);
    ASSERT_STREQ(a->name, "class");
    ASSERT_EQ_INT(a->n_classes, 10);
    ASSERT_STREQ(a->class_names[0], "t-shirt/top");
    ASSERT_STREQ(a->class_names[9], "ankle boot");
    int32_t lab[1];
    /* The first test image of Fashion-MNIST is an ankle boot. */
    ASSERT_OK(sl_data_get(d, 0, NULL, lab, NULL));
    ASSERT_EQ_INT(lab[0], 9);
    int cnt[10] = {0};
    for (size_t i = 0; i < 10000; i++) {
        ASSERT_OK(sl_data_get(d, i, NULL, lab, NULL));
        cnt[lab[0]]++;
    }
    for (int k = 0; k < 10; k++) ASSERT_EQ_INT(cnt[k], 1000);
    sl_data_destroy(d);
}

static void write_png_gray(const char *path, uint8_t v, int w, int h) {
    uint8_t *px = malloc((size_t)w * h);
    memset(px, v, (size_t)w * h);
    ASSERT_OK(sl_png_write(path, px, w, h, 1));
    free(px);
}

TEST(image_folder_skips_undecodable_images) {
    char p[512];
    mkdir(t_path("img"), 0777);
    const char *classes[2] = {"cat", "dog"};
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/%s", t_path("img"), classes[k]);
        mkdir(p, 0777);
        for (int i = 0; i < 20; i++) {
            snprintf(p, sizeof p, "%s/%s/%02d.png", t_path("img"), classes[k], i);
            write_png_gray(p, (uint8_t)(k ? 200 : 50), 20 + i, 10 + i);
        }
    }
    snprintf(p, sizeof p, "%s/dog/broken.png", t_path("img"));
    t_write_file(p, "\x89PNG\r\n\x1a\n garbage", 17);
    snprintf(p, sizeof p, "%s/dog/notes.txt", t_path("img"));
    t_write_file(p, "ignored", 7);
    sl_data_config c;
    sl_data_config_default(&c);
    c.source = t_path("img");
    c.split = SL_SPLIT_ALL;
    c.size = 8;
    sl_dataset *d;
    ASSERT_OK(sl_data_open(&c, &d));
    ASSERT_EQ_INT(sl_data_kind_of(d), SL_DATA_FOLDER);
    ASSERT_EQ_SIZE(sl_data_count(d), 40);
    ASSERT_EQ_SIZE(sl_data_skipped(d), 1);
    ASSERT_CONTAINS(sl_data_skipped_path(d, 0), "broken.png");
    ASSERT_CONTAINS(sl_data_skipped_reason(d, 0), "broken.png");
    ASSERT_EQ_INT(sl_data_channels(d), 3);
    ASSERT_EQ_INT(sl_data_height(d), 8);
    ASSERT_STREQ(sl_data_attr(d, 0)->class_names[1], "dog");
    float x[3 * 8 * 8];
    int32_t lab[1];
    for (size_t i = 0; i < 40; i++) {
        ASSERT_OK(sl_data_get(d, i, x, lab, NULL));
        ASSERT_NEAR(x[3 * 64 - 1], lab[0] ? 200 / 255.0 : 50 / 255.0, 1e-6);
    }
    sl_data_destroy(d);
    /* Deterministic, disjoint splits covering everything. */
    size_t total = 0;
    for (int s = 0; s < 3; s++) {
        c.split = (sl_split)s;
        ASSERT_OK(sl_data_open(&c, &d));
        total += sl_data_count(d);
        sl_data_destroy(d);
    }
    ASSERT_EQ_SIZE(total, 40);
}

TEST(resize_averages_and_crops_to_square) {
    /* A 4x2 image: left square 0, right square 255 after the centre crop
     * takes the middle 2x2 (columns 1..2). */
    uint8_t in[8] = {0, 10, 250, 255, 0, 10, 250, 255};
    ASSERT_OK(sl_png_write(t_path("r.png"), in, 4, 2, 1));
    mkdir(t_path("rf"), 0777);
    mkdir(t_path("rf/a"), 0777);
    ASSERT_OK(sl_png_write(t_path("rf/a/r.png"), in, 4, 2, 1));
    sl_data_config c;
    sl_data_config_default(&c);
    c.source = t_path("rf");
    c.split = SL_SPLIT_ALL;
    c.size = 1;
    c.channels = 1;
    sl_dataset *d;
    ASSERT_OK(sl_data_open(&c, &d));
    float x[1];
    ASSERT_OK(sl_data_get(d, 0, x, NULL, NULL));
    ASSERT_NEAR(x[0], 130 / 255.0, 1e-6);
    sl_data_destroy(d);
}

TEST(caption_lists_tsv_and_flickr) {
    mkdir(t_path("cap"), 0777);
    char p[512];
    for (int i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "%s/im%d.png", t_path("cap"), i);
        write_png_gray(p, (uint8_t)(i * 40), 6, 6);
    }
    const char *tsv = "im0.png\ta black square\nim1.png\ta dark square\r\n\nim2.png\tgray\n";
    t_write_file(t_path("cap/list.tsv"), tsv, strlen(tsv));
    sl_data_config c;
    sl_data_config_default(&c);
    c.source = t_path("cap/list.tsv");
    c.split = SL_SPLIT_ALL;
    c.size = 4;
    sl_dataset *d;
    ASSERT_OK(sl_data_open(&c, &d));
    ASSERT_EQ_INT(sl_data_kind_of(d), SL_DATA_CAPTIONS);
    ASSERT_EQ_SIZE(sl_data_count(d), 3);
    ASSERT_TRUE(sl_data_has_captions(d));
    char cap[SL_CAPTION_MAX];
    float x[3 * 16];
    ASSERT_OK(sl_data_get(d, 1, x, NULL, cap));
    ASSERT_STREQ(cap, "a dark square");
    ASSERT_NEAR(x[0], 40 / 255.0, 1e-6);
    sl_data_destroy(d);
    /* Flickr8k: several captions per image, numbered with #k. */
    const char *fl = "im3.png#0\tfirst caption\nim3.png#1\tsecond caption\nim4.png#0\tanother\n";
    t_write_file(t_path("cap/Flickr8k.token.txt"), fl, strlen(fl));
    c.source = t_path("cap/Flickr8k.token.txt");
    ASSERT_OK(sl_data_open(&c, &d));
    ASSERT_EQ_SIZE(sl_data_count(d), 3);
    ASSERT_OK(sl_data_get(d, 1, x, NULL, cap));
    ASSERT_STREQ(cap, "second caption");
    ASSERT_NEAR(x[0], 120 / 255.0, 1e-6);
    sl_data_destroy(d);
    /* Captions of one image always land in the same split. */
    c.split = SL_SPLIT_TRAIN;
    c.val_fraction = 0.3;
    c.test_fraction = 0.3;
    size_t total = 0, nonempty = 0;
    for (int s = 0; s < 3; s++) {
        c.split = (sl_split)s;
        sl_status st = sl_data_open(&c, &d);
        if (st == SL_OK) {
            total += sl_data_count(d);
            nonempty++;
            sl_data_destroy(d);
        }
    }
    /* Two images: at most two non-empty splits, three captions in all. */
    ASSERT_EQ_SIZE(total, 3);
    ASSERT_TRUE(nonempty <= 2);
}

TEST(caption_list_bad_inputs) {
    mkdir(t_path("cb"), 0777);
    write_png_gray(t_path("cb/ok.png"), 9, 4, 4);
    t_write_file(t_path("cb/bad.png"), "nope", 4);
    sl_data_config c;
    sl_data_config_default(&c);
    c.split = SL_SPLIT_ALL;
    c.size = 4;
    sl_dataset *d;
    const char *missing = "ok.png\tfine\ngone.jpg\twhere is it\n";
    t_write_file(t_path("cb/missing.tsv"), missing, strlen(missing));
    c.source = t_path("cb/missing.tsv");
    ASSERT_FAILS(sl_data_open(&c, &d), SL_ERR_NOTFOUND, "line 2: image 'gone.jpg' not found");
    const char *notab = "ok.png a caption without a tab\n";
    t_write_file(t_path("cb/notab.tsv"), notab, strlen(notab));
    c.source = t_path("cb/notab.tsv");
    ASSERT_FAILS(sl_data_open(&c, &d), SL_ERR_FORMAT, "line 1: expected 'image<TAB>caption'");
    const char *undec = "ok.png\tfine\nbad.png\tbroken\n";
    t_write_file(t_path("cb/undec.tsv"), undec, strlen(undec));
    c.source = t_path("cb/undec.tsv");
    ASSERT_OK(sl_data_open(&c, &d));
    ASSERT_EQ_SIZE(sl_data_count(d), 1);
    ASSERT_EQ_SIZE(sl_data_skipped(d), 1);
    ASSERT_CONTAINS(sl_data_skipped_reason(d, 0), "bad.png");
    sl_data_destroy(d);
    t_write_file(t_path("cb/empty.tsv"), "", 0);
    c.source = t_path("cb/empty.tsv");
    ASSERT_FAILS(sl_data_open(&c, &d), SL_ERR_FORMAT, "empty caption list");
}

TEST(npy_matrix_with_labels) {
    float m[10 * 3];
    int64_t lab[10];
    for (int i = 0; i < 30; i++) m[i] = (float)i * 0.5f;
    for (int i = 0; i < 10; i++) lab[i] = i % 3;
    ASSERT_OK(sl_npy_write_matrix(t_path("x.npy"), m, 10, 3));
    ASSERT_OK(sl_npy_write_labels(t_path("y.npy"), lab, 10));
    sl_data_config c;
    sl_data_config_default(&c);
    c.source = t_path("x.npy");
    c.labels = t_path("y.npy");
    c.split = SL_SPLIT_ALL;
    sl_dataset *d;
    ASSERT_OK(sl_data_open(&c, &d));
    ASSERT_EQ_INT(sl_data_kind_of(d), SL_DATA_NPY);
    ASSERT_EQ_SIZE(sl_data_count(d), 10);
    ASSERT_EQ_INT(sl_data_width(d), 3);
    ASSERT_EQ_INT(sl_data_height(d), 1);
    ASSERT_STREQ(sl_data_attr(d, 0)->name, "label");
    ASSERT_EQ_INT(sl_data_attr(d, 0)->n_classes, 3);
    float x[3];
    int32_t l[1];
    ASSERT_OK(sl_data_get(d, 4, x, l, NULL));
    ASSERT_NEAR(x[2], 7.0, 0);
    ASSERT_EQ_INT(l[0], 1);
    sl_data_destroy(d);
    ASSERT_OK(sl_npy_write_labels(t_path("y5.npy"), lab, 5));
    c.labels = t_path("y5.npy");
    ASSERT_FAILS(sl_data_open(&c, &d), SL_ERR_FORMAT, "5 labels for 10 rows");
}

TEST(bad_configs_are_rejected) {
    sl_data_config c;
    sl_data_config_default(&c);
    sl_dataset *d;
    c.val_fraction = 0.6;
    c.test_fraction = 0.5;
    ASSERT_FAILS(sl_data_open(&c, &d), SL_ERR_ARG, "fractions");
    sl_data_config_default(&c);
    c.channels = 2;
    ASSERT_FAILS(sl_data_open(&c, &d), SL_ERR_ARG, "2 channels");
    sl_split s;
    ASSERT_FAILS(sl_split_parse("dev", &s), SL_ERR_ARG, "unknown split 'dev'");
    ASSERT_OK(sl_split_parse("validation", &s));
    ASSERT_EQ_INT(s, SL_SPLIT_VAL);
    c.channels = 0;
    c.source = "mnist";
    if (stat("/usr/share/datasets/mnist", &(struct stat){0}) != 0)
        ASSERT_FAILS(sl_data_open(&c, &d), SL_ERR_NOTFOUND, "mnist not found");
}

TEST(caption_list_with_many_images_out_of_order) {
    mkdir(t_path("many"), 0777);
    char p[512];
    FILE *f = fopen(t_path("many/list.tsv"), "w");
    ASSERT_TRUE(f != NULL);
    for (int i = 0; i < 600; i++) {
        snprintf(p, sizeof p, "%s/%03d.png", t_path("many"), i);
        write_png_gray(p, (uint8_t)(i % 256), 4, 4);
        fprintf(f, "%03d.png\tcaption %d\n", i, i);
    }
    /* Second captions, listed out of order, must join their images. */
    for (int i = 599; i >= 0; i -= 7) fprintf(f, "%03d.png#1\tagain %d\n", i, i);
    fclose(f);
    sl_data_config c;
    sl_data_config_default(&c);
    c.source = t_path("many/list.tsv");
    c.split = SL_SPLIT_ALL;
    c.size = 4;
    c.channels = 1;
    sl_dataset *d;
    ASSERT_OK(sl_data_open(&c, &d));
    ASSERT_EQ_SIZE(sl_data_count(d), 600 + 86);
    char cap[SL_CAPTION_MAX];
    float x[16];
    for (size_t k = 600; k < sl_data_count(d); k++) {
        ASSERT_OK(sl_data_get(d, k, x, NULL, cap));
        int i;
        ASSERT_EQ_INT(sscanf(cap, "again %d", &i), 1);
        ASSERT_NEAR(x[0], (i % 256) / 255.0, 1e-6);
    }
    sl_data_destroy(d);
}

/* Tests of sl_encoder: a checkpoint's encoder, projector and text tower
 * embedding arrays in memory give what sl_embed_run gives for the same
 * images and lines; batch size, normalisation, the stop flag and the named
 * errors of bad inputs. */
#include "test.h"

#define N_IMG 60

/* A tiny CLIP model on 16x16 shapes (image encoder, projector, text tower). */
static const char *train_clip(void) {
    static char path[1024];
    snprintf(path, sizeof path, "%s", t_path("enc-clip.safetensors"));
    sl_train_config c;
    sl_train_config_default(&c);
    c.data = "shapes";
    c.data_count = 256;
    c.image_size = 16;
    c.objective = SL_OBJ_CLIP;
    c.encoder = "conv(8,3,stride=2,pad=1),bn,relu,flatten,linear(32)";
    c.projector = "linear(16)";
    c.batch = 32;
    c.steps = 8;
    c.threads = 1;
    c.seed = 3;
    c.out = path;
    sl_trainer *t;
    ASSERT_OK(sl_trainer_create(&c, &t));
    ASSERT_OK(sl_trainer_run(t, NULL));
    sl_trainer_destroy(t);
    return path;
}

/* sl_embed_run on the validation split: model NULL gives the raw pixels. */
static sl_embedding *embed(const char *model, bool projector, bool normalize) {
    sl_embed_config e;
    sl_embed_config_default(&e);
    e.model = model;
    e.data = "shapes";
    e.image_size = 16;
    e.split = SL_SPLIT_VAL;
    e.data_count = 256;
    e.threads = 1;
    e.projector = projector;
    e.normalize = normalize;
    sl_embedding *em;
    ASSERT_OK(sl_embed_run(&e, &em));
    return em;
}

static void assert_same(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a)) ASSERT_TRUE(!"embeddings differ");
}

TEST(images_embed_as_embed_run_does) {
    const char *model = train_clip();
    sl_embedding *raw = embed(NULL, false, false);
    ASSERT_TRUE(raw->n >= N_IMG && raw->d == 3 * 16 * 16);
    for (int proj = 0; proj < 2; proj++)
        for (int norm = 0; norm < 2; norm++) {
            sl_embedding *want = embed(model, proj, norm);
            sl_encoder *e;
            ASSERT_OK(sl_encoder_load(model, proj, &e));
            sl_shape in = sl_encoder_input_shape(e);
            ASSERT_EQ_SIZE(sl_shape_count(&in), 3 * 16 * 16);
            ASSERT_EQ_SIZE(sl_encoder_dim(e), proj ? 16 : 32);
            ASSERT_TRUE(sl_encoder_has_text(e) && sl_encoder_text_dim(e) == 16);
            sl_encoder_config c;
            sl_encoder_config_default(&c);
            c.threads = 1;
            c.normalize = norm;
            float *y = malloc(raw->n * sl_encoder_dim(e) * sizeof *y);
            ASSERT_OK(sl_encoder_embed(e, raw->x, raw->n, &c, y));
            assert_same(y, want->x, raw->n * want->d);
            /* Other batch sizes: the same embeddings to float rounding. */
            c.batch = 7;
            ASSERT_OK(sl_encoder_embed(e, raw->x, raw->n, &c, y));
            for (size_t i = 0; i < raw->n * want->d; i++) ASSERT_NEAR(y[i], want->x[i], 1e-5);
            free(y);
            sl_encoder_destroy(e);
            sl_embedding_destroy(want);
        }
    sl_embedding_destroy(raw);
}

TEST(text_embeds_as_embed_run_does) {
    const char *model = train_clip();
    const char *lines[] = {"a photo of a circle", "a small red star", "words never seen before", "a blue square"};
    const char *txt = "a photo of a circle\na small red star\nwords never seen before\na blue square\n";
    t_write_file(t_path("enc.txt"), txt, strlen(txt));
    sl_embed_config ec;
    sl_embed_config_default(&ec);
    ec.model = model;
    ec.text_file = t_path("enc.txt");
    ec.threads = 1;
    sl_embedding *want;
    ASSERT_OK(sl_embed_run(&ec, &want));
    sl_encoder *e;
    ASSERT_OK(sl_encoder_load(model, true, &e));
    float y[4 * 16];
    ASSERT_OK(sl_encoder_embed_text(e, lines, 4, NULL, y));
    ASSERT_EQ_SIZE(want->d, 16);
    assert_same(y, want->x, 4 * 16);
    sl_encoder_config c;
    sl_encoder_config_default(&c);
    c.batch = 3;
    c.normalize = true;
    ASSERT_OK(sl_encoder_embed_text(e, lines, 4, &c, y));
    for (size_t i = 0; i < 4; i++) {
        double s = 0;
        for (size_t j = 0; j < 16; j++) s += (double)y[i * 16 + j] * y[i * 16 + j];
        ASSERT_NEAR(s, 1.0, 1e-5);
    }
    sl_encoder_destroy(e);
    sl_embedding_destroy(want);
}

TEST(bad_inputs_are_named) {
    const char *model = train_clip();
    sl_encoder *e = NULL;
    ASSERT_EQ_INT(sl_encoder_load(t_path("none.safetensors"), false, &e), SL_ERR_IO);
    ASSERT_TRUE(strstr(sl_error_message(), "none.safetensors") != NULL);
    t_write_file(t_path("junk.safetensors"), "not a file", 10);
    ASSERT_TRUE(sl_encoder_load(t_path("junk.safetensors"), false, &e) != SL_OK);
    ASSERT_TRUE(strstr(sl_error_message(), "junk.safetensors") != NULL);
    ASSERT_OK(sl_encoder_load(model, false, &e));
    float *x = calloc(2 * 3 * 16 * 16, sizeof *x), y[2 * 32];
    ASSERT_EQ_INT(sl_encoder_embed(e, x, 0, NULL, y), SL_ERR_ARG);
    x[3 * 16 * 16 + 5] = NAN;
    ASSERT_EQ_INT(sl_encoder_embed(e, x, 2, NULL, y), SL_ERR_NUMERIC);
    ASSERT_TRUE(strstr(sl_error_message(), "image 1, value 5") != NULL);
    x[3 * 16 * 16 + 5] = 0;
    volatile sig_atomic_t stop = 1;
    sl_encoder_config c;
    sl_encoder_config_default(&c);
    c.stop = &stop;
    ASSERT_EQ_INT(sl_encoder_embed(e, x, 2, &c, y), SL_ERR_INTERRUPTED);
    const char *lines[] = {"a circle", NULL};
    ASSERT_EQ_INT(sl_encoder_embed_text(e, lines, 2, NULL, y), SL_ERR_ARG);
    ASSERT_TRUE(strstr(sl_error_message(), "line 1") != NULL);
    ASSERT_EQ_INT(sl_encoder_embed_text(e, lines, 1, &c, y), SL_ERR_INTERRUPTED);
    free(x);
    sl_encoder_destroy(e);

    /* A model without a projector or a text tower. */
    sl_train_config tc;
    sl_train_config_default(&tc);
    tc.data = "shapes";
    tc.data_count = 128;
    tc.image_size = 16;
    tc.encoder = "flatten,linear(8)";
    tc.projector = "none";
    tc.batch = 16;
    tc.steps = 2;
    tc.threads = 1;
    tc.out = t_path("enc-plain.safetensors");
    sl_trainer *t;
    ASSERT_OK(sl_trainer_create(&tc, &t));
    ASSERT_OK(sl_trainer_run(t, NULL));
    sl_trainer_destroy(t);
    ASSERT_EQ_INT(sl_encoder_load(tc.out, true, &e), SL_ERR_ARG);
    ASSERT_TRUE(strstr(sl_error_message(), "no projector") != NULL);
    ASSERT_OK(sl_encoder_load(tc.out, false, &e));
    ASSERT_TRUE(!sl_encoder_has_text(e) && sl_encoder_text_dim(e) == 0 && sl_encoder_dim(e) == 8);
    ASSERT_EQ_INT(sl_encoder_embed_text(e, lines, 1, NULL, y), SL_ERR_ARG);
    ASSERT_TRUE(strstr(sl_error_message(), "no text tower") != NULL);
    sl_encoder_destroy(e);
}

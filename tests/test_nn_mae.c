/* Masked autoencoding (sl_mae_*): gradients of the loss against central
 * differences through the masked encoder, the mask token and the decoder;
 * the masks (how many, which, reproducible); the loss sees the masked
 * patches only; layouts that do not fit are refused; and one forward and
 * backward against PyTorch (tests/fixtures/make_mae_fixture.py). */
#include "test.h"

#define ENC_CLS "patch(2,8),cls,pos,block(2,mlp=2),ln"
#define ENC_MEAN "patch(2,8),pos,block(2,mlp=2),ln,tokmean"

typedef struct mae_case {
    sl_model *enc, *dec;
    sl_mae *mae;
    size_t n, L;
    float *x;
    uint8_t *mask;
    bool norm_pix;
} mae_case;

/* 2-channel 4x6 images: 6 patches of 2x2, 8 pixels each. */
static void case_make(mae_case *c, const char *enc, size_t n, double ratio, bool norm_pix, uint64_t seed) {
    sl_shape in = {3, {2, 4, 6}};
    ASSERT_OK(sl_model_create(enc, &in, seed, &c->enc));
    char dspec[128];
    sl_shape din;
    ASSERT_OK(sl_mae_default_decoder(c->enc, dspec, sizeof dspec, &din));
    ASSERT_STREQ(dspec, "linear(64),masktok,pos,block(4),block(4),ln,linear(8)");
    ASSERT_OK(sl_model_create("linear(6),masktok,pos,block(2,mlp=2),ln,linear(8)", &din, seed + 1, &c->dec));
    ASSERT_OK(sl_mae_create(c->enc, c->dec, &c->mae));
    c->n = n, c->L = sl_mae_patches(c->enc), c->norm_pix = norm_pix;
    ASSERT_EQ_SIZE(c->L, 6);
    c->x = malloc(n * 48 * sizeof(float));
    c->mask = malloc(n * c->L);
    sl_rng r;
    sl_rng_seed(&r, seed, 3);
    for (size_t i = 0; i < n * 48; i++) c->x[i] = (float)sl_rng_normal(&r);
    for (size_t s = 0; s < n; s++) sl_mae_draw_mask(c->mask + s * c->L, c->L, ratio, seed, 0, s);
    /* move the parameters off their initial values (the mask token, the
     * position embeddings and LN biases start small or at zero) */
    sl_model *ms[2] = {c->enc, c->dec};
    for (int k = 0; k < 2; k++) {
        float *p = sl_model_params(ms[k]);
        for (size_t i = 0; i < sl_model_param_count(ms[k]); i++) p[i] += (float)(0.1 * sl_rng_normal(&r));
    }
}

static void case_free(mae_case *c) {
    sl_mae_destroy(c->mae);
    sl_model_destroy(c->enc);
    sl_model_destroy(c->dec);
    free(c->x), free(c->mask);
}

static double loss_of(mae_case *c) {
    double l;
    ASSERT_OK(sl_mae_forward(c->mae, c->x, c->n, c->mask, c->norm_pix, true, &l));
    return l;
}

/* Central differences at eps and eps/2 for up to 12 entries of every tensor
 * of the model; a point where the two disagree is on a kink and skipped. */
static void check_model(mae_case *c, sl_model *m, const char *tower) {
    int kinks = 0, checked = 0;
    for (size_t t = 0; t < sl_model_tensor_count(m); t++) {
        sl_param_info info;
        ASSERT_TRUE(sl_model_tensor(m, t, &info));
        if (!info.grad) continue;
        for (size_t j = 0; j < 12 && j < info.count; j++) {
            size_t i = info.count <= 12 ? j : (j * 7919 + 5) % info.count;
            float save = info.data[i], g = info.grad[i];
            double eps = 1e-2, l[4], steps[4] = {eps, -eps, eps / 2, -eps / 2};
            for (int k = 0; k < 4; k++) {
                info.data[i] = (float)(save + steps[k]);
                l[k] = loss_of(c);
            }
            info.data[i] = save;
            double num = (l[0] - l[1]) / (2 * eps), num2 = (l[2] - l[3]) / eps;
            double scale = fmax(fabs(num), fabs((double)g)) + 1e-3;
            checked++;
            if (fabs(num - num2) > 2e-3 * scale + 1e-5) {
                kinks++;
                continue;
            }
            if (!(fabs(num - g) <= 5e-3 * scale + 2e-5))
                T_FAIL("%s %s[%zu]: analytic %.7g, numeric %.7g", tower, info.name, i, (double)g, num);
        }
    }
    if (kinks * 4 > checked) T_FAIL("%s: %d of %d points were on kinks", tower, kinks, checked);
}

static void gradcheck(const char *enc, bool norm_pix, uint64_t seed) {
    mae_case c;
    case_make(&c, enc, 3, 0.5, norm_pix, seed);
    sl_model_zero_grad(c.enc);
    sl_model_zero_grad(c.dec);
    loss_of(&c);
    ASSERT_OK(sl_mae_backward(c.mae));
    ASSERT_TRUE(sl_model_grad_sqnorm(c.enc) > 0);
    check_model(&c, c.enc, "encoder");
    check_model(&c, c.dec, "decoder");
    case_free(&c);
}

TEST(mae_grad_cls) { gradcheck(ENC_CLS, false, 1); }
TEST(mae_grad_cls_norm_pix) { gradcheck(ENC_CLS, true, 2); }
TEST(mae_grad_mean_pool) { gradcheck(ENC_MEAN, false, 3); }

TEST(mae_mask_counts_and_reproducible) {
    size_t Ls[] = {1, 6, 49, 64};
    double ratios[] = {0.0, 0.25, 0.5, 0.75, 0.9};
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 5; b++) {
            size_t L = Ls[a], want = (size_t)floor(ratios[b] * (double)L + 0.5);
            uint8_t m1[64], m2[64];
            for (uint64_t item = 0; item < 20; item++) {
                sl_mae_draw_mask(m1, L, ratios[b], 9, 4, item);
                sl_mae_draw_mask(m2, L, ratios[b], 9, 4, item);
                size_t k = 0;
                for (size_t i = 0; i < L; i++) {
                    ASSERT_TRUE(m1[i] <= 1);
                    k += m1[i];
                }
                ASSERT_EQ_SIZE(k, want);
                ASSERT_TRUE(memcmp(m1, m2, L) == 0);
            }
        }
}

/* Different items, steps and seeds give different masks; every patch gets
 * masked about ratio of the time. */
TEST(mae_mask_differs_per_item_step_seed) {
    uint8_t a[49], b[49];
    size_t same_item = 0, same_step = 0, same_seed = 0, hits[49] = {0};
    for (uint64_t i = 0; i < 200; i++) {
        sl_mae_draw_mask(a, 49, 0.75, 1, 0, i);
        for (size_t k = 0; k < 49; k++) hits[k] += a[k];
        sl_mae_draw_mask(b, 49, 0.75, 1, 0, i + 1);
        same_item += memcmp(a, b, 49) == 0;
        sl_mae_draw_mask(b, 49, 0.75, 1, 1, i);
        same_step += memcmp(a, b, 49) == 0;
        sl_mae_draw_mask(b, 49, 0.75, 2, 0, i);
        same_seed += memcmp(a, b, 49) == 0;
    }
    ASSERT_EQ_SIZE(same_item, 0);
    ASSERT_EQ_SIZE(same_step, 0);
    ASSERT_EQ_SIZE(same_seed, 0);
    for (size_t k = 0; k < 49; k++) ASSERT_TRUE(hits[k] > 120 && hits[k] < 180); /* 150 expected, sd 6 */
}

/* Targets of visible patches do not enter the loss: changing the pixels of a
 * visible patch changes the loss only through what the encoder sees, so with
 * the encoder's patch embedding blind to them (zero weights) the loss stays
 * exactly the same, while changing a masked patch's pixels changes it. */
TEST(mae_loss_on_masked_patches_only) {
    for (int np = 0; np < 2; np++) {
        mae_case c;
        case_make(&c, ENC_CLS, 2, 0.5, np == 1, 5);
        sl_param_info w;
        ASSERT_TRUE(sl_model_tensor(c.enc, 0, &w));
        ASSERT_STREQ(w.name, "0.weight");
        memset(w.data, 0, w.count * sizeof(float));
        double base = loss_of(&c);
        size_t vis = 0, msk = 0;
        while (c.mask[vis]) vis++;
        while (!c.mask[msk]) msk++;
        /* patch k of image 0 covers rows 2*(k/3).., columns 2*(k%3).. */
        float *x0 = c.x;
        x0[(2 * (vis / 3)) * 6 + 2 * (vis % 3)] += 3.0f;
        x0[24 + (2 * (vis / 3) + 1) * 6 + 2 * (vis % 3) + 1] -= 2.0f;
        double after_visible = loss_of(&c);
        ASSERT_TRUE(after_visible == base);
        x0[(2 * (msk / 3)) * 6 + 2 * (msk % 3) + 1] += 3.0f;
        double after_masked = loss_of(&c);
        ASSERT_TRUE(fabs(after_masked - base) > 1e-4);
        case_free(&c);
    }
}

/* The loss is the mean over masked patches of each patch's mean squared
 * error, from the predictions and targets the pass reports. */
TEST(mae_loss_matches_its_definition) {
    mae_case c;
    case_make(&c, ENC_CLS, 3, 0.5, true, 6);
    double l = loss_of(&c);
    const float *y = sl_mae_prediction(c.mae), *t = sl_mae_target(c.mae);
    double sum = 0;
    size_t cnt = 0;
    for (size_t s = 0; s < c.n; s++)
        for (size_t k = 0; k < c.L; k++) {
            if (!c.mask[s * c.L + k]) continue;
            double e = 0, mean = 0;
            for (size_t j = 0; j < 8; j++) {
                double d = (double)y[(s * 7 + 1 + k) * 8 + j] - t[(s * 6 + k) * 8 + j];
                e += d * d, mean += t[(s * 6 + k) * 8 + j];
            }
            ASSERT_TRUE(fabs(mean) < 1e-5); /* normalised target */
            sum += e / 8, cnt++;
        }
    ASSERT_EQ_SIZE(cnt, 9);
    ASSERT_NEAR(l, sum / 9, 1e-12 * sum);
    /* the loss module's mae entry on the masked patches gives the same */
    float pm[9 * 8], tm[9 * 8];
    size_t r = 0;
    for (size_t s = 0; s < c.n; s++)
        for (size_t k = 0; k < c.L; k++)
            if (c.mask[s * c.L + k]) {
                memcpy(pm + r * 8, y + (s * 7 + 1 + k) * 8, 8 * sizeof(float));
                memcpy(tm + r * 8, t + (s * 6 + k) * 8, 8 * sizeof(float));
                r++;
            }
    sl_loss_config lc;
    sl_loss_config_default(&lc, SL_OBJ_MAE);
    sl_loss_batch lb = {.n = 9, .d = 8, .a = pm, .b = tm};
    sl_loss_result res;
    ASSERT_OK(sl_loss_compute(&lc, &lb, &res));
    ASSERT_NEAR(res.loss, l, 1e-6 * l);
    case_free(&c);
}

TEST(mae_refuses_bad_layouts_and_masks) {
    sl_shape in = {3, {2, 4, 6}}, tin = {2, {7, 8}};
    sl_model *e, *d, *bad;
    sl_mae *m;
    ASSERT_OK(sl_model_create(ENC_CLS, &in, 1, &e));
    ASSERT_OK(sl_model_create("linear(6),masktok,pos,block(2),linear(8)", &tin, 1, &d));
    ASSERT_OK(sl_model_create("conv(8,2,stride=2),flatten,linear(4)", &in, 1, &bad));
    ASSERT_EQ_INT(sl_mae_create(bad, d, &m), SL_ERR_ARG);
    ASSERT_TRUE(strstr(sl_error_message(), "encoder layer 1: expected patch") != NULL);
    sl_model_destroy(bad);
    ASSERT_OK(sl_model_create("patch(2,8),cls,pos,block(2),tokfirst,linear(3)", &in, 1, &bad));
    ASSERT_EQ_INT(sl_mae_create(bad, d, &m), SL_ERR_ARG);
    ASSERT_TRUE(strstr(sl_error_message(), "encoder layer 6") != NULL);
    sl_model_destroy(bad);
    ASSERT_OK(sl_model_create("linear(6),pos,block(2),linear(8)", &tin, 1, &bad));
    ASSERT_EQ_INT(sl_mae_create(e, bad, &m), SL_ERR_ARG);
    ASSERT_TRUE(strstr(sl_error_message(), "decoder layer 2: expected masktok") != NULL);
    sl_model_destroy(bad);
    ASSERT_OK(sl_model_create("linear(6),masktok,pos,block(2),linear(9)", &tin, 1, &bad));
    ASSERT_EQ_INT(sl_mae_create(e, bad, &m), SL_ERR_ARG);
    ASSERT_TRUE(strstr(sl_error_message(), "linear(8) last") != NULL);
    sl_model_destroy(bad);
    ASSERT_OK(sl_mae_create(e, d, &m));
    float x[2 * 48] = {0};
    uint8_t mask[12] = {1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0};
    double l;
    ASSERT_EQ_INT(sl_mae_forward(m, x, 2, mask, false, true, &l), SL_ERR_ARG);
    ASSERT_TRUE(strstr(sl_error_message(), "image 1 has 4 visible patches, image 0 has 3") != NULL);
    memset(mask, 0, sizeof mask);
    ASSERT_EQ_INT(sl_mae_forward(m, x, 2, mask, false, true, &l), SL_ERR_ARG);
    ASSERT_EQ_INT(sl_mae_backward(m), SL_ERR_STATE);
    sl_mae_destroy(m);
    sl_model_destroy(e);
    sl_model_destroy(d);
}

/* After masked training steps the encoder still embeds whole images, and an
 * all-visible pass is the encoder's own forward up to the pooling. */
TEST(mae_encoder_embeds_whole_images) {
    mae_case c;
    case_make(&c, ENC_CLS, 2, 0.5, false, 8);
    loss_of(&c);
    ASSERT_OK(sl_mae_backward(c.mae));
    const float *y;
    ASSERT_OK(sl_model_forward(c.enc, c.x, 2, false, &y));
    sl_shape os = sl_model_output_shape(c.enc);
    ASSERT_EQ_INT(os.ndim, 2);
    ASSERT_EQ_SIZE(os.dims[0], 7);
    for (size_t i = 0; i < 2 * 7 * 8; i++) ASSERT_TRUE(isfinite(y[i]));
    case_free(&c);
}

/* ---- against PyTorch --------------------------------------------------- */
static const sl_array *need(const sl_tensors *t, const char *name) {
    const sl_array *a = sl_tensors_get(t, name);
    if (!a) T_FAIL("fixture lacks tensor '%s'", name);
    return a;
}

static void compare(const float *got, const sl_array *want, size_t n, const char *what) {
    ASSERT_EQ_SIZE(sl_array_count(want), n);
    const float *w = want->data;
    double mx = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(w[i]));
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - w[i]) <= 1e-5 * fabs(w[i]) + 1e-5 * fmax(mx, 1e-3)))
            T_FAIL("%s[%zu]: simlearn %.8g, pytorch %.8g", what, i, (double)got[i], (double)w[i]);
}

static void compare_grads(const sl_tensors *t, const sl_model *m, const char *tower) {
    for (size_t i = 0; i < sl_model_tensor_count(m); i++) {
        sl_param_info p;
        ASSERT_TRUE(sl_model_tensor(m, i, &p));
        if (!p.grad) continue;
        char key[128];
        snprintf(key, sizeof key, "grad.%s%s", tower, p.name);
        compare(p.grad, need(t, key), p.count, key);
    }
}

TEST(mae_matches_pytorch) {
    sl_tensors *t;
    ASSERT_OK(sl_safetensors_read("tests/fixtures/nn_mae.safetensors", &t));
    sl_model *enc, *dec;
    sl_mae *m;
    ASSERT_OK(sl_model_import(t, "encoder.", 1, &enc));
    ASSERT_OK(sl_model_import(t, "decoder.", 1, &dec));
    ASSERT_OK(sl_mae_create(enc, dec, &m));
    size_t n = 3, L = sl_mae_patches(enc);
    ASSERT_EQ_SIZE(L, 12);
    const sl_array *x = need(t, "x"), *mask = need(t, "mask");
    ASSERT_EQ_INT(mask->dtype, SL_U8);
    ASSERT_EQ_SIZE(sl_array_count(mask), n * L);
    double l;
    ASSERT_OK(sl_mae_forward(m, x->data, n, mask->data, false, true, &l));
    compare(sl_mae_prediction(m), need(t, "pred"), n * 13 * 12, "pred");
    ASSERT_NEAR(l, ((const double *)need(t, "loss")->data)[0], 1e-5 * l);
    sl_model_zero_grad(enc);
    sl_model_zero_grad(dec);
    ASSERT_OK(sl_mae_forward(m, x->data, n, mask->data, true, true, &l));
    ASSERT_NEAR(l, ((const double *)need(t, "loss_norm_pix")->data)[0], 1e-5 * l);
    ASSERT_OK(sl_mae_backward(m));
    compare_grads(t, enc, "encoder.");
    compare_grads(t, dec, "decoder.");
    sl_mae_destroy(m);
    sl_model_destroy(enc);
    sl_model_destroy(dec);
    sl_tensors_destroy(t);
}

/* ---- memory --------------------------------------------------------------- */

static size_t g_bytes;
static void *count_malloc(size_t size, void *ctx) {
    (void)ctx;
    g_bytes += size;
    return malloc(size);
}
static void *count_realloc(void *p, size_t size, void *ctx) {
    (void)ctx;
    g_bytes += size;
    return realloc(p, size);
}
static void count_free(void *p, void *ctx) {
    (void)ctx;
    free(p);
}

/* sl_mae_memory covers the buffers a batch allocates: everything allocated
 * by the first forward and backward of a batch (the MAE's buffers and the
 * decoder's activations) fits in it plus the decoder's own estimate, and it
 * is not more than all of that. */
TEST(mae_memory_covers_a_batch) {
    const sl_allocator a = {count_malloc, count_realloc, count_free, NULL};
    sl_allocator_set(&a);
    mae_case c;
    case_make(&c, ENC_CLS, 9, 0.5, false, 31);
    g_bytes = 0;
    loss_of(&c);
    ASSERT_OK(sl_mae_backward(c.mae));
    const size_t used = g_bytes, est = sl_mae_memory(c.mae, 9, 3), dec = sl_model_memory(c.dec, 9);
    if (!(used <= est + dec && est <= used))
        T_FAIL("a batch allocated %zu bytes; sl_mae_memory says %zu, the decoder %zu", used, est, dec);
    case_free(&c);
    sl_allocator_set(NULL);
}

/* Tests of the augmentation ops' defining properties (flip twice is the
 * identity, crop stays in bounds, jitter keeps the range, permute-channels
 * keeps a grayscale image, translate moves the centroid by the shift, ...),
 * determinism given the RNG, the spec parser and the presets. */
#include "test.h"

#define C 3
#define H 16
#define W 16
#define N (C * H * W)

static sl_augment *mk(const char *spec) {
    sl_augment *a;
    ASSERT_OK(sl_augment_create(spec, &a));
    return a;
}

static void random_image(float *x, uint64_t seed) {
    sl_rng r;
    sl_rng_seed(&r, seed, 99);
    for (int i = 0; i < N; i++) x[i] = sl_rng_uniform(&r);
}

static float *scratch_for(const sl_augment *a) { return malloc(sl_augment_scratch_size(a, C, H, W) * sizeof(float)); }

static void apply(const sl_augment *a, float *x, uint64_t seed) {
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    float *s = scratch_for(a);
    ASSERT_OK(sl_augment_apply(a, x, C, H, W, &r, s));
    free(s);
}

TEST(flip_twice_is_identity) {
    sl_augment *a = mk("flip@1");
    float x[N], y[N];
    random_image(x, 1);
    memcpy(y, x, sizeof x);
    apply(a, y, 5);
    ASSERT_TRUE(memcmp(x, y, sizeof x) != 0);
    ASSERT_NEAR(y[0], x[W - 1], 0);
    apply(a, y, 6);
    ASSERT_TRUE(memcmp(x, y, sizeof x) == 0);
    sl_augment_destroy(a);
}

TEST(crop_stays_in_bounds) {
    /* Sampling outside the image would pull in zeros: a constant image must
     * stay constant under any crop. */
    sl_augment *a = mk("crop(0.08,1.0)");
    float x[N];
    for (uint64_t s = 0; s < 200; s++) {
        for (int i = 0; i < N; i++) x[i] = 0.7f;
        apply(a, x, s);
        for (int i = 0; i < N; i++) ASSERT_NEAR(x[i], 0.7, 1e-6);
    }
    /* And a gradient image keeps its values within the original range. */
    for (uint64_t s = 0; s < 50; s++) {
        for (int i = 0; i < N; i++) x[i] = (float)(i % W) / (W - 1);
        apply(a, x, s);
        for (int i = 0; i < N; i++) ASSERT_TRUE(x[i] >= 0 && x[i] <= 1);
    }
    sl_augment_destroy(a);
}

TEST(crop_zooms_into_a_window) {
    /* A window of a quarter of the area spans at most sqrt(0.25 * 4/3) of the
     * width, so a horizontal ramp keeps at most that part of its range. */
    sl_augment *a = mk("crop(0.25,0.25)");
    float x[N];
    for (uint64_t s = 0; s < 100; s++) {
        for (int i = 0; i < N; i++) x[i] = (float)(i % W) / (W - 1);
        apply(a, x, s);
        float lo = 1, hi = 0;
        for (int i = 0; i < N; i++) lo = fminf(lo, x[i]), hi = fmaxf(hi, x[i]);
        ASSERT_TRUE(lo >= 0 && hi <= 1);
        ASSERT_TRUE(hi - lo <= 0.578f + 1.0f / W);
        ASSERT_TRUE(hi - lo >= 0.433f - 2.0f / W);
    }
    sl_augment_destroy(a);
}

TEST(jitter_keeps_range) {
    sl_augment *a = mk("jitter(1.0,1.0,1.0,0.5)");
    float x[N];
    for (uint64_t s = 0; s < 100; s++) {
        random_image(x, s);
        apply(a, x, s);
        for (int i = 0; i < N; i++) ASSERT_TRUE(x[i] >= 0 && x[i] <= 1);
    }
    sl_augment_destroy(a);
    /* Hue and saturation leave a gray image gray. */
    a = mk("jitter(0,0,0.8,0.5)");
    for (int i = 0; i < H * W; i++) x[i] = x[H * W + i] = x[2 * H * W + i] = (float)i / (H * W);
    apply(a, x, 4);
    for (int i = 0; i < H * W; i++) {
        ASSERT_NEAR(x[i], (float)i / (H * W), 1e-5);
        ASSERT_NEAR(x[H * W + i], x[i], 1e-5);
    }
    sl_augment_destroy(a);
}

TEST(permute_channels_keeps_grayscale_image) {
    sl_augment *a = mk("permute-channels");
    float x[N], y[N];
    for (int i = 0; i < H * W; i++) x[i] = x[H * W + i] = x[2 * H * W + i] = (float)(i % 7) / 7;
    memcpy(y, x, sizeof x);
    apply(a, y, 1);
    ASSERT_TRUE(memcmp(x, y, sizeof x) == 0);
    /* On a color image each pixel keeps the same set of channel values. */
    int moved = 0;
    for (uint64_t s = 0; s < 10; s++) {
        random_image(x, s);
        memcpy(y, x, sizeof x);
        apply(a, y, s);
        for (int i = 0; i < H * W; i++) {
            float sx = x[i] + x[H * W + i] + x[2 * H * W + i], sy = y[i] + y[H * W + i] + y[2 * H * W + i];
            ASSERT_NEAR(sx, sy, 1e-6);
        }
        moved += memcmp(x, y, sizeof x) != 0;
    }
    ASSERT_TRUE(moved >= 5);
    sl_augment_destroy(a);
}

TEST(translate_moves_centroid_by_the_shift) {
    sl_augment *a = mk("translate(3)");
    float x[N], y[N];
    int nonzero = 0;
    for (uint64_t s = 0; s < 50; s++) {
        /* A blob well inside the frame so nothing is clipped. */
        memset(x, 0, sizeof x);
        for (int k = 0; k < C; k++)
            for (int i = 5; i < 10; i++)
                for (int j = 6; j < 9; j++) x[(k * H + i) * W + j] = 0.5f + 0.1f * (float)(i - j);
        memcpy(y, x, sizeof x);
        apply(a, y, s);
        double mx[2] = {0, 0}, my[2] = {0, 0}, m[2] = {0, 0};
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                m[0] += x[i * W + j], mx[0] += j * x[i * W + j], my[0] += i * x[i * W + j];
                m[1] += y[i * W + j], mx[1] += j * y[i * W + j], my[1] += i * y[i * W + j];
            }
        ASSERT_NEAR(m[0], m[1], 1e-4);
        double dx = mx[1] / m[1] - mx[0] / m[0], dy = my[1] / m[1] - my[0] / m[0];
        int ix = (int)lround(dx), iy = (int)lround(dy);
        ASSERT_NEAR(dx, ix, 1e-4);
        ASSERT_NEAR(dy, iy, 1e-4);
        ASSERT_TRUE(abs(ix) <= 3 && abs(iy) <= 3);
        /* The image is exactly the shifted original. */
        for (int k = 0; k < C; k++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    int si = i - iy, sj = j - ix;
                    float want = si >= 0 && si < H && sj >= 0 && sj < W ? x[(k * H + si) * W + sj] : 0;
                    ASSERT_NEAR(y[(k * H + i) * W + j], want, 0);
                }
        nonzero += ix != 0 || iy != 0;
    }
    ASSERT_TRUE(nonzero > 35);
    sl_augment_destroy(a);
}

TEST(gray_blur_noise_rotate_cutout_properties) {
    float x[N], y[N];
    sl_augment *a = mk("gray");
    random_image(x, 1);
    apply(a, x, 1);
    for (int i = 0; i < H * W; i++) ASSERT_TRUE(x[i] == x[H * W + i] && x[i] == x[2 * H * W + i]);
    sl_augment_destroy(a);

    /* Blur keeps a constant image and the mean of any image roughly, and
     * lowers the variance. */
    a = mk("blur(2.0)");
    for (int i = 0; i < N; i++) x[i] = 0.3f;
    apply(a, x, 2);
    for (int i = 0; i < N; i++) ASSERT_NEAR(x[i], 0.3, 1e-5);
    random_image(x, 3);
    memcpy(y, x, sizeof x);
    apply(a, y, 3);
    double vx = 0, vy = 0, mx = 0, my = 0;
    for (int i = 0; i < N; i++) mx += x[i], my += y[i];
    mx /= N, my /= N;
    for (int i = 0; i < N; i++) vx += (x[i] - mx) * (x[i] - mx), vy += (y[i] - my) * (y[i] - my);
    ASSERT_NEAR(mx, my, 0.02);
    ASSERT_TRUE(vy < vx);
    sl_augment_destroy(a);

    a = mk("noise(0.1)");
    random_image(x, 4);
    memcpy(y, x, sizeof x);
    apply(a, y, 4);
    double d2 = 0;
    for (int i = 0; i < N; i++) {
        ASSERT_TRUE(y[i] >= 0 && y[i] <= 1);
        d2 += (y[i] - x[i]) * (y[i] - x[i]);
    }
    ASSERT_TRUE(sqrt(d2 / N) > 0.05 && sqrt(d2 / N) < 0.12);
    sl_augment_destroy(a);

    a = mk("rotate(0)");
    random_image(x, 5);
    memcpy(y, x, sizeof x);
    apply(a, y, 5);
    for (int i = 0; i < N; i++) ASSERT_NEAR(y[i], x[i], 1e-6);
    sl_augment_destroy(a);
    /* Rotating a central disc about the image centre keeps its mass. */
    a = mk("rotate(90)");
    memset(x, 0, sizeof x);
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++)
            if ((i - 7.5) * (i - 7.5) + (j - 7.5) * (j - 7.5) < 16) x[i * W + j] = 1;
    memcpy(y, x, sizeof x);
    apply(a, y, 6);
    double sx = 0, sy = 0;
    for (int i = 0; i < H * W; i++) sx += x[i], sy += y[i];
    ASSERT_NEAR(sx, sy, 0.06 * sx);
    sl_augment_destroy(a);

    a = mk("cutout(4)");
    for (int i = 0; i < N; i++) x[i] = 1;
    apply(a, x, 7);
    int zeros = 0;
    for (int i = 0; i < H * W; i++) zeros += x[i] == 0;
    ASSERT_TRUE(zeros >= 4 && zeros <= 16);
    for (int i = 0; i < H * W; i++) ASSERT_TRUE(x[i] == x[H * W + i]);
    sl_augment_destroy(a);
}

TEST(pipeline_is_deterministic_given_the_rng) {
    sl_augment *a = mk("crop(0.6,1.0),flip,jitter(0.4,0.4,0.4,0.1)@0.8,gray(0.2),blur(1.0)@0.5,noise(0.05),rotate(15),"
                       "translate(2),cutout(4),permute-channels");
    float x[N], y[N], z[N];
    random_image(x, 1);
    memcpy(y, x, sizeof x);
    memcpy(z, x, sizeof x);
    apply(a, x, 42);
    apply(a, y, 42);
    apply(a, z, 43);
    ASSERT_TRUE(memcmp(x, y, sizeof x) == 0);
    ASSERT_TRUE(memcmp(x, z, sizeof x) != 0);
    for (int i = 0; i < N; i++) ASSERT_TRUE(x[i] >= 0 && x[i] <= 1);
    sl_augment_destroy(a);
}

TEST(probabilities_are_honoured) {
    sl_augment *a = mk("flip");
    float x[N], y[N];
    int flipped = 0;
    for (uint64_t s = 0; s < 400; s++) {
        random_image(x, 1);
        memcpy(y, x, sizeof x);
        apply(a, y, s);
        flipped += memcmp(x, y, sizeof x) != 0;
    }
    ASSERT_NEAR(flipped, 200, 40);
    sl_augment_destroy(a);
    a = mk("gray(0.2)");
    int grayed = 0;
    for (uint64_t s = 0; s < 400; s++) {
        random_image(x, 1);
        memcpy(y, x, sizeof x);
        apply(a, y, s);
        grayed += memcmp(x, y, sizeof x) != 0;
    }
    ASSERT_NEAR(grayed, 80, 30);
    sl_augment_destroy(a);
    a = mk("noise(0.2)@0");
    random_image(x, 1);
    memcpy(y, x, sizeof x);
    apply(a, y, 1);
    ASSERT_TRUE(memcmp(x, y, sizeof x) == 0);
    sl_augment_destroy(a);
}

TEST(spec_errors_are_clear) {
    sl_augment *a;
    ASSERT_FAILS(sl_augment_create("flop", &a), SL_ERR_ARG, "unknown op 'flop'");
    ASSERT_FAILS(sl_augment_create("crop(0.9,0.5)", &a), SL_ERR_ARG, "smallest scale");
    ASSERT_FAILS(sl_augment_create("crop(0.5,1.0", &a), SL_ERR_ARG, "expected ',' or ')'");
    ASSERT_FAILS(sl_augment_create("crop(x)", &a), SL_ERR_ARG, "expected a number");
    ASSERT_FAILS(sl_augment_create("noise(2)", &a), SL_ERR_ARG, "noise argument 1 is 2");
    ASSERT_FAILS(sl_augment_create("flip@1.5", &a), SL_ERR_ARG, "probability 1.5");
    ASSERT_FAILS(sl_augment_create("flip,", &a), SL_ERR_ARG, "trailing ','");
    ASSERT_FAILS(sl_augment_create("flip gray", &a), SL_ERR_ARG, "expected ',' between ops");
    ASSERT_FAILS(sl_augment_create("jitter", &a), SL_ERR_ARG, "at least 1 argument");
    ASSERT_FAILS(sl_augment_create("flip(1)", &a), SL_ERR_ARG, "at most 0 arguments");
    ASSERT_FAILS(sl_augment_create("keep=colour", &a), SL_ERR_ARG, "attribute to keep");
    ASSERT_FAILS(sl_augment_create("noise(nan)", &a), SL_ERR_ARG, "expected a number");
}

TEST(presets_and_keep_views_on_shapes) {
    ASSERT_TRUE(sl_augment_preset("simclr") != NULL);
    ASSERT_TRUE(sl_augment_preset("bogus") == NULL);
    sl_data_config c;
    sl_data_config_default(&c);
    c.shapes_count = 100;
    sl_dataset *d;
    ASSERT_OK(sl_data_open(&c, &d));
    const char *names[3] = {"color", "location", "shape+location"};
    /* Which label each preset must keep, and which it must change sometimes. */
    int keep_attr[3][4] = {{1, 0, 1, 1}, {1, 1, 1, 0}, {0, 1, 1, 0}};
    float x[3 * 32 * 32], *scr = malloc(sl_augment_scratch_size(NULL, 3, 32, 32) * sizeof(float));
    for (int p = 0; p < 3; p++) {
        sl_augment *a = mk(names[p]);
        ASSERT_TRUE(sl_augment_resamples(a));
        ASSERT_FAILS(sl_augment_apply(a, x, 3, 32, 32, NULL, scr), SL_ERR_ARG, "needs the dataset");
        int changed[4] = {0};
        for (size_t i = 0; i < 100; i++) {
            sl_rng r;
            sl_rng_seed(&r, 1, i);
            ASSERT_OK(sl_augment_item(a, d, i, &r, x, scr));
            /* Recover the view's labels by drawing the same resample. */
            sl_shapes_item it, orig;
            ASSERT_OK(sl_shapes_item_of(d, i, &orig));
            it = orig;
            sl_rng_seed(&r, 1, i);
            unsigned keep = 0;
            for (int k = 0; k < 4; k++) keep |= keep_attr[p][k] ? 1u << k : 0;
            sl_shapes_resample(d, &it, keep, &r);
            float y[3 * 32 * 32];
            sl_shapes_render(d, &it, y);
            ASSERT_TRUE(memcmp(x, y, sizeof x) == 0);
            int32_t a1[4], a2[4];
            sl_shapes_labels(&orig, a1);
            sl_shapes_labels(&it, a2);
            for (int k = 0; k < 4; k++) {
                if (keep_attr[p][k]) ASSERT_EQ_INT(a1[k], a2[k]);
                changed[k] += a1[k] != a2[k];
            }
        }
        for (int k = 0; k < 4; k++)
            if (!keep_attr[p][k]) ASSERT_TRUE(changed[k] > 50);
        sl_augment_destroy(a);
    }
    free(scr);
    sl_data_destroy(d);
}

TEST(keep_needs_the_shapes_dataset) {
    float m[4] = {0, 1, 2, 3};
    ASSERT_OK(sl_npy_write_matrix(t_path("x.npy"), m, 2, 2));
    sl_data_config c;
    sl_data_config_default(&c);
    c.source = t_path("x.npy");
    c.split = SL_SPLIT_ALL;
    sl_dataset *d;
    ASSERT_OK(sl_data_open(&c, &d));
    sl_augment *a = mk("keep=color");
    sl_rng r;
    sl_rng_seed(&r, 1, 0);
    float x[2], scr[512];
    ASSERT_FAILS(sl_augment_item(a, d, 0, &r, x, scr), SL_ERR_ARG, "shapes dataset only");
    sl_augment_destroy(a);
    sl_data_destroy(d);
}

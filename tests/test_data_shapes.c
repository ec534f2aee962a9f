/* Tests of the shapes world: rendered pixels agree with the labels (centroid
 * in the labelled cell, dominant color is the labelled color, area grows with
 * size), items are pure functions of (seed, split, i), captions, attribute
 * resampling. */
#include "test.h"

static sl_dataset *open_shapes(sl_split split, uint64_t seed, int size, size_t count) {
    sl_data_config c;
    sl_data_config_default(&c);
    c.split = split;
    c.seed = seed;
    c.size = size;
    c.shapes_count = count;
    sl_dataset *d;
    ASSERT_OK(sl_data_open(&c, &d));
    return d;
}

/* Coverage of the shape at each pixel: distance from the background color. */
static double coverage(const float *x, int S, int p) {
    size_t plane = (size_t)S * S;
    double m = 0;
    for (int k = 0; k < 3; k++) m = fmax(m, fabs(x[k * plane + (size_t)p] - 0.08));
    return m;
}

TEST(shapes_interface_and_attributes) {
    sl_dataset *d = open_shapes(SL_SPLIT_TRAIN, 0, 0, 0);
    ASSERT_EQ_INT(sl_data_kind_of(d), SL_DATA_SHAPES);
    ASSERT_EQ_SIZE(sl_data_count(d), 50000);
    ASSERT_EQ_INT(sl_data_channels(d), 3);
    ASSERT_EQ_INT(sl_data_height(d), 32);
    ASSERT_EQ_INT(sl_data_width(d), 32);
    ASSERT_EQ_INT(sl_data_num_attrs(d), 4);
    ASSERT_STREQ(sl_data_attr(d, 0)->name, "shape");
    ASSERT_TRUE(sl_data_attr(d, 0)->n_classes >= 6);
    ASSERT_STREQ(sl_data_attr(d, 1)->name, "color");
    ASSERT_TRUE(sl_data_attr(d, 1)->n_classes >= 8);
    ASSERT_STREQ(sl_data_attr(d, 2)->class_names[1], "large");
    ASSERT_STREQ(sl_data_attr(d, 3)->class_names[0], "top left");
    ASSERT_EQ_INT(sl_data_find_attr(d, "location"), 3);
    ASSERT_EQ_INT(sl_data_find_attr(d, "nope"), -1);
    ASSERT_TRUE(sl_data_has_captions(d));
    float x[3 * 32 * 32];
    ASSERT_FAILS(sl_data_get(d, 50000, x, NULL, NULL), SL_ERR_RANGE, "out of range");
    sl_data_destroy(d);
    sl_data_destroy(open_shapes(SL_SPLIT_VAL, 0, 0, 0));
}

TEST(shapes_pixels_agree_with_labels) {
    int S = 32;
    sl_dataset *d = open_shapes(SL_SPLIT_TRAIN, 3, S, 400);
    float x[3 * 32 * 32];
    int32_t lab[4];
    const float pal[8][3] = {{0.90f, 0.12f, 0.10f}, {1.00f, 0.55f, 0.05f}, {0.95f, 0.90f, 0.15f},
                             {0.15f, 0.75f, 0.20f}, {0.10f, 0.80f, 0.90f}, {0.15f, 0.30f, 0.95f},
                             {0.60f, 0.20f, 0.85f}, {0.95f, 0.95f, 0.95f}};
    int seen_shape[8] = {0}, seen_cell[9] = {0};
    for (size_t i = 0; i < 400; i++) {
        ASSERT_OK(sl_data_get(d, i, x, lab, NULL));
        double sw = 0, sx = 0, sy = 0, col[3] = {0, 0, 0}, wcol = 0, cmax = 0;
        for (int p = 0; p < S * S; p++) cmax = fmax(cmax, coverage(x, S, p));
        for (int p = 0; p < S * S; p++) {
            double cv = coverage(x, S, p);
            sw += cv;
            sx += cv * (p % S + 0.5);
            sy += cv * (p / S + 0.5);
            if (cv > 0.95 * cmax) {
                /* Fully covered pixels carry the shape's own color. */
                for (int k = 0; k < 3; k++) col[k] += x[k * S * S + p];
                wcol += 1;
            }
        }
        ASSERT_TRUE(sw > 3);
        int cell = (int)(sy / sw / S * 3) * 3 + (int)(sx / sw / S * 3);
        if (cell != lab[3]) T_FAIL("item %zu: centroid (%.2f, %.2f) in cell %d, labelled %d", i, sx / sw, sy / sw, cell, lab[3]);
        int best = -1;
        double bd = 1e9;
        for (int k = 0; k < 8; k++) {
            double dd = 0;
            for (int q = 0; q < 3; q++) dd += pow(col[q] / wcol - pal[k][q], 2);
            if (dd < bd) bd = dd, best = k;
        }
        ASSERT_EQ_INT(best, lab[1]);
        seen_shape[lab[0]]++;
        seen_cell[lab[3]]++;
        ASSERT_TRUE(lab[2] == 0 || lab[2] == 1);
    }
    for (int k = 0; k < 7; k++) ASSERT_TRUE(seen_shape[k] > 20);
    for (int k = 0; k < 9; k++) ASSERT_TRUE(seen_cell[k] > 15);
    sl_data_destroy(d);
}

TEST(shapes_area_grows_with_size) {
    sl_dataset *d = open_shapes(SL_SPLIT_TRAIN, 1, 32, 10);
    float x[3 * 32 * 32];
    for (int shape = 0; shape < 7; shape++) {
        sl_shapes_item it;
        ASSERT_OK(sl_shapes_item_of(d, 0, &it));
        it.shape = shape;
        it.cx = it.cy = 0.5f;
        double prev = 0;
        for (float r = 0.10f; r <= 0.221f; r += 0.03f) {
            it.radius = r;
            sl_shapes_render(d, &it, x);
            double area = 0;
            for (int p = 0; p < 32 * 32; p++) area += coverage(x, 32, p);
            if (!(area > prev)) T_FAIL("shape %d: area %.2f at radius %.2f is not above %.2f", shape, area, r, prev);
            prev = area;
        }
    }
    /* And the size label follows the radius. */
    int32_t lab[4];
    sl_shapes_item it;
    ASSERT_OK(sl_shapes_item_of(d, 0, &it));
    it.radius = 0.11f;
    sl_shapes_labels(&it, lab);
    ASSERT_EQ_INT(lab[2], 0);
    it.radius = 0.21f;
    sl_shapes_labels(&it, lab);
    ASSERT_EQ_INT(lab[2], 1);
    sl_data_destroy(d);
}

TEST(shapes_are_pure_functions_of_seed_split_index) {
    sl_dataset *a = open_shapes(SL_SPLIT_TRAIN, 7, 32, 100), *b = open_shapes(SL_SPLIT_TRAIN, 7, 32, 5000);
    sl_dataset *t = open_shapes(SL_SPLIT_TEST, 7, 32, 100), *o = open_shapes(SL_SPLIT_TRAIN, 8, 32, 100);
    float x[3 * 32 * 32], y[3 * 32 * 32];
    int same_test = 0, same_seed = 0;
    for (size_t i = 0; i < 100; i++) {
        /* Opening twice, with another count, reading out of order: same item. */
        ASSERT_OK(sl_data_get(a, 99 - i, x, NULL, NULL));
        ASSERT_OK(sl_data_get(b, 99 - i, y, NULL, NULL));
        ASSERT_TRUE(memcmp(x, y, sizeof x) == 0);
        ASSERT_OK(sl_data_get(t, 99 - i, y, NULL, NULL));
        same_test += memcmp(x, y, sizeof x) == 0;
        ASSERT_OK(sl_data_get(o, 99 - i, y, NULL, NULL));
        same_seed += memcmp(x, y, sizeof x) == 0;
    }
    ASSERT_EQ_INT(same_test, 0);
    ASSERT_EQ_INT(same_seed, 0);
    sl_data_destroy(a);
    sl_data_destroy(b);
    sl_data_destroy(t);
    sl_data_destroy(o);
}

TEST(shapes_captions_name_the_labels) {
    sl_dataset *d = open_shapes(SL_SPLIT_TRAIN, 0, 32, 50);
    char cap[SL_CAPTION_MAX];
    int32_t lab[4];
    for (size_t i = 0; i < 50; i++) {
        ASSERT_OK(sl_data_get(d, i, NULL, lab, cap));
        char want[SL_CAPTION_MAX];
        snprintf(want, sizeof want, "a %s %s %s in the %s", sl_data_attr(d, 2)->class_names[lab[2]],
                 sl_data_attr(d, 1)->class_names[lab[1]], sl_data_attr(d, 0)->class_names[lab[0]],
                 sl_data_attr(d, 3)->class_names[lab[3]]);
        ASSERT_STREQ(cap, want);
    }
    sl_data_destroy(d);
}

TEST(shapes_size_rotation_and_noise_options) {
    sl_data_config c;
    sl_data_config_default(&c);
    c.size = 64;
    c.shapes_rotate = true;
    c.shapes_noise = 0.05f;
    c.shapes_count = 10;
    sl_dataset *d;
    ASSERT_OK(sl_data_open(&c, &d));
    ASSERT_EQ_INT(sl_data_height(d), 64);
    float *x = malloc(3 * 64 * 64 * sizeof *x);
    ASSERT_OK(sl_data_get(d, 0, x, NULL, NULL));
    /* Noise makes the background vary; all values stay in [0, 1]. */
    int differ = 0;
    for (int p = 0; p < 3 * 64 * 64; p++) {
        ASSERT_TRUE(x[p] >= 0 && x[p] <= 1);
        differ += x[p] != x[0];
    }
    ASSERT_TRUE(differ > 1000);
    sl_shapes_item it;
    ASSERT_OK(sl_shapes_item_of(d, 0, &it));
    ASSERT_TRUE(it.angle != 0);
    free(x);
    sl_data_destroy(d);
    c.size = 4;
    ASSERT_FAILS(sl_data_open(&c, &d), SL_ERR_ARG, "minimum");
    c.size = 32;
    c.shapes_noise = -1;
    ASSERT_FAILS(sl_data_open(&c, &d), SL_ERR_ARG, "noise");
}

TEST(shapes_resampling_keeps_what_is_asked) {
    sl_dataset *d = open_shapes(SL_SPLIT_TRAIN, 2, 32, 200);
    sl_rng r;
    sl_rng_seed(&r, 1, 0);
    int changed[4] = {0};
    unsigned masks[3] = {SL_KEEP_COLOR, SL_KEEP_SHAPE | SL_KEEP_SIZE | SL_KEEP_LOCATION, SL_KEEP_COLOR | SL_KEEP_SIZE};
    for (int m = 0; m < 3; m++)
        for (size_t i = 0; i < 200; i++) {
            sl_shapes_item it, orig;
            ASSERT_OK(sl_shapes_item_of(d, i, &orig));
            it = orig;
            sl_shapes_resample(d, &it, masks[m], &r);
            int32_t a[4], b[4];
            sl_shapes_labels(&orig, a);
            sl_shapes_labels(&it, b);
            for (int k = 0; k < 4; k++) {
                if (masks[m] & (1u << k)) {
                    if (a[k] != b[k]) T_FAIL("mask %u item %zu: kept attribute %d changed %d -> %d", masks[m], i, k, a[k], b[k]);
                } else if (m == 0) {
                    changed[k] += a[k] != b[k];
                }
            }
            if (masks[m] & SL_KEEP_COLOR) ASSERT_TRUE(memcmp(it.rgb, orig.rgb, sizeof it.rgb) == 0);
            if (masks[m] & SL_KEEP_LOCATION) ASSERT_TRUE(it.cx == orig.cx && it.cy == orig.cy);
        }
    /* keep=color redraws the others most of the time. */
    ASSERT_TRUE(changed[0] > 120);
    ASSERT_TRUE(changed[3] > 120);
    sl_data_destroy(d);
}

/* Tests of all-but-the-top post-processing. The covariance and eigen-solver
 * it uses are tested in test_tensor_linalg.c. */
#include "test.h"

/* Data with a large common mean and two dominant directions plus noise. */
static float *dominated_data(size_t n, size_t d, uint64_t seed, float *u1, float *u2) {
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    for (size_t j = 0; j < d; j++) u1[j] = u2[j] = 0;
    u1[0] = 0.6f, u1[1] = 0.8f; /* unit, orthogonal to u2 */
    u2[2] = 1.0f;
    float *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        double a = 20 * sl_rng_normal(&r), b = 8 * sl_rng_normal(&r);
        for (size_t j = 0; j < d; j++)
            x[i * d + j] = (float)(5.0 + a * u1[j] + b * u2[j] + 0.5 * sl_rng_normal(&r));
    }
    return x;
}

TEST(abtt_removes_mean_and_top_directions) {
    size_t n = 3000, d = 20;
    float u1[20], u2[20];
    float *x = dominated_data(n, d, 1, u1, u2);
    ASSERT_OK(sl_geom_abtt(x, n, d, 2));
    for (size_t j = 0; j < d; j++) {
        double m = 0;
        for (size_t i = 0; i < n; i++) m += x[i * d + j];
        ASSERT_NEAR(m / (double)n, 0, 1e-4);
    }
    /* Nothing is left along the two planted directions beyond what the noise
     * (sd 0.5) puts there after the fitted directions are removed. */
    double p1 = 0, p2 = 0, rest = 0;
    for (size_t i = 0; i < n; i++) {
        double a = 0, b = 0, q = 0;
        for (size_t j = 0; j < d; j++) a += x[i * d + j] * u1[j], b += x[i * d + j] * u2[j], q += x[i * d + j] * x[i * d + j];
        p1 += a * a, p2 += b * b, rest += q;
    }
    ASSERT_TRUE(p1 / (double)n < 0.01);
    ASSERT_TRUE(p2 / (double)n < 0.01);
    ASSERT_NEAR(rest / (double)n, 0.25 * 18, 0.4); /* the 18 noise dimensions remain */
    free(x);
}

TEST(abtt_model_applies_to_other_rows) {
    size_t n = 1000, d = 10;
    float u1[10], u2[10];
    float *x = dominated_data(n, d, 2, u1, u2);
    sl_geom_abtt_model *m;
    ASSERT_OK(sl_geom_abtt_fit(x, n, d, 0, &m));
    ASSERT_EQ_SIZE(m->D, 1); /* default max(1, d/100) */
    ASSERT_TRUE(m->var[0] > 300 && m->var[0] < 500); /* 20^2 along u1 */
    double dot = 0;
    for (size_t j = 0; j < d; j++) dot += (double)m->dirs[j] * u1[j];
    ASSERT_NEAR(fabs(dot), 1.0, 1e-3);
    /* Applying to new rows is y - mean - (u.(y - mean)) u, checked naively. */
    float y[3 * 10], y0[3 * 10];
    sl_rng r;
    sl_rng_seed(&r, 9, 0);
    for (int i = 0; i < 30; i++) y[i] = y0[i] = (float)(10 * sl_rng_normal(&r));
    ASSERT_OK(sl_geom_abtt_apply(m, y, 3, d));
    for (int i = 0; i < 3; i++) {
        double c[10], p = 0;
        for (size_t j = 0; j < d; j++) c[j] = (double)y0[i * 10 + j] - m->mean[j], p += c[j] * m->dirs[j];
        for (size_t j = 0; j < d; j++) ASSERT_NEAR(y[i * 10 + j], c[j] - p * m->dirs[j], 1e-4);
    }
    ASSERT_FAILS(sl_geom_abtt_apply(m, y, 3, 9), SL_ERR_ARG, "width 9");
    sl_geom_abtt_destroy(m);
    sl_geom_abtt_destroy(NULL);
    free(x);
}

TEST(abtt_default_D_and_bad_arguments) {
    ASSERT_EQ_SIZE(sl_geom_abtt_default_D(50), 1);
    ASSERT_EQ_SIZE(sl_geom_abtt_default_D(300), 3);
    ASSERT_EQ_SIZE(sl_geom_abtt_default_D(784), 7);
    float x[6] = {1, 2, 3, 4, 5, 6};
    ASSERT_FAILS(sl_geom_abtt(x, 3, 2, 2), SL_ERR_ARG, "must be < width");
    ASSERT_FAILS(sl_geom_abtt(x, 1, 6, 1), SL_ERR_ARG, "at least 2 rows");
}

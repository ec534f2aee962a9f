/* Tests of PCA: recovered directions and variances, projection, bad input.
 * The eigen-solver and covariance it uses are tested in test_tensor_linalg.c. */
#include "test.h"

TEST(pca_recovers_known_axes) {
    /* Points = mean + 5 a u1 + 2 b u2 + 0.1 noise, u1/u2 orthonormal in 6-D. */
    size_t n = 4000, d = 6;
    float *x = malloc(n * d * sizeof *x);
    double u1[6] = {1, 1, 0, 0, 1, 1}, u2[6] = {0, 0, 1, -1, 0, 0}, mean[6] = {3, -1, 2, 0, 7, 1};
    for (int j = 0; j < 6; j++) u1[j] /= 2, u2[j] /= sqrt(2);
    sl_rng r;
    sl_rng_seed(&r, 1, 0);
    for (size_t i = 0; i < n; i++) {
        double a = sl_rng_normal(&r), b = sl_rng_normal(&r);
        for (size_t j = 0; j < d; j++) x[i * d + j] = (float)(mean[j] + 5 * a * u1[j] + 2 * b * u2[j] + 0.1 * sl_rng_normal(&r));
    }
    sl_pca *p;
    ASSERT_OK(sl_pca_fit(x, n, d, 2, &p));
    ASSERT_EQ_SIZE(p->k, 2);
    ASSERT_NEAR(p->variance[0], 25.01, 1.2);
    ASSERT_NEAR(p->variance[1], 4.01, 0.25);
    ASSERT_NEAR(p->total_variance, 25 + 4 + 6 * 0.01, 1.5);
    double dot1 = 0, dot2 = 0;
    for (size_t j = 0; j < d; j++) dot1 += p->components[j] * u1[j], dot2 += p->components[d + j] * u2[j];
    ASSERT_NEAR(fabs(dot1), 1, 1e-3);
    ASSERT_NEAR(fabs(dot2), 1, 1e-3);
    for (size_t j = 0; j < d; j++) ASSERT_NEAR(p->mean[j], mean[j], 0.2);
    /* Projection equals the direct formula. */
    float *y = malloc(n * 2 * sizeof *y);
    sl_pca_transform(p, x, n, y);
    for (size_t i = 0; i < n; i += 97)
        for (size_t c = 0; c < 2; c++) {
            double s = 0;
            for (size_t j = 0; j < d; j++) s += ((double)x[i * d + j] - p->mean[j]) * p->components[c * d + j];
            ASSERT_NEAR(y[i * 2 + c], s, 1e-3);
        }
    sl_pca_destroy(p);
    free(x), free(y);
}

TEST(pca_rejects_bad_arguments) {
    float x[6] = {1, 2, 3, 4, 5, 6};
    sl_pca *p;
    ASSERT_FAILS(sl_pca_fit(x, 3, 2, 3, &p), SL_ERR_ARG, "3 components of 2-dimensional");
    ASSERT_FAILS(sl_pca_fit(x, 1, 2, 1, &p), SL_ERR_ARG, "at least 2 points");
    x[3] = NAN;
    ASSERT_FAILS(sl_pca_fit(x, 3, 2, 1, &p), SL_ERR_NUMERIC, "row 1, column 1");
}

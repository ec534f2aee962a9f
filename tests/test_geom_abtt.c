/* Tests of the geometry module's linear algebra (covariance, symmetric
 * eigen-solver) and of all-but-the-top post-processing. */
#include "test.h"

static void random_sym(double *a, size_t n, uint64_t seed) {
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = sl_rng_normal(&r);
}

/* Checks A v_i = w_i v_i, V V^T = I and descending order. */
static void check_eig(const double *a0, size_t n, const double *vec, const double *w, double tol) {
    for (size_t i = 0; i + 1 < n; i++) ASSERT_TRUE(w[i] >= w[i + 1]);
    for (size_t i = 0; i < n; i++) {
        for (size_t r = 0; r < n; r++) {
            double av = 0;
            for (size_t k = 0; k < n; k++) av += a0[r * n + k] * vec[i * n + k];
            ASSERT_NEAR(av, w[i] * vec[i * n + r], tol);
        }
        for (size_t j = 0; j < n; j++) {
            double dot = 0;
            for (size_t k = 0; k < n; k++) dot += vec[i * n + k] * vec[j * n + k];
            ASSERT_NEAR(dot, i == j ? 1.0 : 0.0, tol);
        }
    }
}

TEST(sym_eig_random_matrices) {
    size_t sizes[] = {1, 2, 3, 7, 40, 129};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        size_t n = sizes[t];
        double *a = malloc(n * n * sizeof *a), *a0 = malloc(n * n * sizeof *a), *w = malloc(n * sizeof *w);
        random_sym(a, n, 10 + n);
        memcpy(a0, a, n * n * sizeof *a);
        ASSERT_OK(sl_geom_sym_eig(a, n, w, true));
        check_eig(a0, n, a, w, 1e-9 * (double)n);
        double tr = 0, sw = 0;
        for (size_t i = 0; i < n; i++) tr += a0[i * n + i], sw += w[i];
        ASSERT_NEAR(tr, sw, 1e-9 * (double)n);
        /* Eigenvalues alone agree with the full decomposition. */
        double *w2 = malloc(n * sizeof *w2);
        memcpy(a, a0, n * n * sizeof *a);
        ASSERT_OK(sl_geom_sym_eig(a, n, w2, false));
        for (size_t i = 0; i < n; i++) ASSERT_NEAR(w[i], w2[i], 1e-10 * (double)n);
        free(a), free(a0), free(w), free(w2);
    }
}

TEST(sym_eig_degenerate_and_diagonal) {
    /* Repeated eigenvalues, a zero matrix and an already diagonal matrix. */
    double id[16] = {2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2}, id0[16], w[4];
    memcpy(id0, id, sizeof id);
    ASSERT_OK(sl_geom_sym_eig(id, 4, w, true));
    check_eig(id0, 4, id, w, 1e-12);
    for (int i = 0; i < 4; i++) ASSERT_NEAR(w[i], 2.0, 1e-12);
    double z[9] = {0}, z0[9] = {0}, wz[3];
    ASSERT_OK(sl_geom_sym_eig(z, 3, wz, true));
    check_eig(z0, 3, z, wz, 1e-12);
    double dg[9] = {1, 0, 0, 0, 5, 0, 0, 0, -3}, dg0[9], wd[3];
    memcpy(dg0, dg, sizeof dg);
    ASSERT_OK(sl_geom_sym_eig(dg, 3, wd, true));
    check_eig(dg0, 3, dg, wd, 1e-12);
    ASSERT_NEAR(wd[0], 5, 1e-12);
    ASSERT_NEAR(wd[2], -3, 1e-12);
    /* A rank-one matrix with a known eigenvector. */
    double u[5] = {1, -2, 0.5, 3, 1}, nu = 0, r1[25], r10[25], wr[5];
    for (int i = 0; i < 5; i++) nu += u[i] * u[i];
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) r1[i * 5 + j] = u[i] * u[j];
    memcpy(r10, r1, sizeof r1);
    ASSERT_OK(sl_geom_sym_eig(r1, 5, wr, true));
    check_eig(r10, 5, r1, wr, 1e-12);
    ASSERT_NEAR(wr[0], nu, 1e-12);
    for (int i = 1; i < 5; i++) ASSERT_NEAR(wr[i], 0, 1e-12);
}

TEST(sym_eig_rejects_nonfinite) {
    double a[4] = {1, NAN, NAN, 1}, w[2];
    ASSERT_FAILS(sl_geom_sym_eig(a, 2, w, true), SL_ERR_NUMERIC, "element (0, 1)");
    ASSERT_FAILS(sl_geom_sym_eig(a, 0, w, true), SL_ERR_ARG, "empty");
}

TEST(covariance_matches_naive_double) {
    size_t n = 2500, d = 13; /* more than one block of rows */
    float *x = malloc(n * d * sizeof *x);
    sl_rng r;
    sl_rng_seed(&r, 3, 0);
    for (size_t i = 0; i < n * d; i++) x[i] = (float)(sl_rng_normal(&r) * (1 + (double)(i % d)) + 100.0);
    double mean[13], cov[169];
    ASSERT_OK(sl_geom_covariance(x, n, d, mean, cov));
    for (size_t j = 0; j < d; j++) {
        double m = 0;
        for (size_t i = 0; i < n; i++) m += x[i * d + j];
        m /= (double)n;
        ASSERT_NEAR(mean[j], m, 1e-9);
    }
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < d; b++) {
            double c = 0;
            for (size_t i = 0; i < n; i++) c += (x[i * d + a] - mean[a]) * (x[i * d + b] - mean[b]);
            c /= (double)n;
            ASSERT_CLOSE(cov[a * d + b], c, 1e-5, 1e-5);
        }
    free(x);
}

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

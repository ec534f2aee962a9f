/* Tests of the symmetric eigen-solver (against known matrices and the Jacobi
 * twin) and of PCA (recovered directions and variances, projection). */
#include "test.h"

static void random_sym(double *a, size_t n, uint64_t seed) {
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = sl_rng_normal(&r);
}

/* max |A - V^T diag(w) V| */
static double recon_err(const double *a, const double *w, const double *v, size_t n) {
    double e = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t k = 0; k < n; k++) s += v[k * n + i] * w[k] * v[k * n + j];
            e = fmax(e, fabs(s - a[i * n + j]));
        }
    return e;
}

TEST(eigh_known_2x2) {
    double a[4] = {2, 1, 1, 2}, w[2], v[4];
    ASSERT_OK(sl_eigh(a, 2, w, v));
    ASSERT_NEAR(w[0], 3, 1e-12);
    ASSERT_NEAR(w[1], 1, 1e-12);
    ASSERT_NEAR(v[0], sqrt(0.5), 1e-12);
    ASSERT_NEAR(v[1], sqrt(0.5), 1e-12);
    /* Sign convention: the largest-magnitude coordinate (the first on a tie) is positive. */
    ASSERT_NEAR(v[2], sqrt(0.5), 1e-12);
    ASSERT_NEAR(v[3], -sqrt(0.5), 1e-12);
}

TEST(eigh_diagonal_and_one_by_one) {
    double a[9] = {1, 0, 0, 0, 5, 0, 0, 0, -2}, w[3], v[9];
    ASSERT_OK(sl_eigh(a, 3, w, v));
    ASSERT_NEAR(w[0], 5, 1e-14);
    ASSERT_NEAR(w[1], 1, 1e-14);
    ASSERT_NEAR(w[2], -2, 1e-14);
    ASSERT_NEAR(v[1], 1, 1e-14);
    ASSERT_NEAR(v[3], 1, 1e-14);
    ASSERT_NEAR(v[8], 1, 1e-14);
    double b = -4, wb, vb;
    ASSERT_OK(sl_eigh(&b, 1, &wb, &vb));
    ASSERT_NEAR(wb, -4, 0);
    ASSERT_NEAR(vb, 1, 0);
}

TEST(eigh_matches_jacobi_twin_on_random_matrices) {
    size_t sizes[] = {3, 7, 40, 97};
    for (size_t s = 0; s < 4; s++) {
        size_t n = sizes[s];
        double *a = malloc(n * n * sizeof *a), *v1 = malloc(n * n * sizeof *a), *v2 = malloc(n * n * sizeof *a);
        double *w1 = malloc(n * sizeof *w1), *w2 = malloc(n * sizeof *w2);
        random_sym(a, n, 10 + s);
        ASSERT_OK(sl_eigh(a, n, w1, v1));
        ASSERT_OK(sl_eigh_ref(a, n, w2, v2));
        for (size_t i = 0; i < n; i++) ASSERT_NEAR(w1[i], w2[i], 1e-9);
        for (size_t i = 0; i + 1 < n; i++) ASSERT_TRUE(w1[i] >= w1[i + 1]);
        /* Distinct eigenvalues (random matrix): vectors agree up to the shared sign rule. */
        for (size_t i = 0; i < n * n; i++) ASSERT_NEAR(v1[i], v2[i], 1e-7);
        ASSERT_TRUE(recon_err(a, w1, v1, n) < 1e-10);
        ASSERT_TRUE(recon_err(a, w2, v2, n) < 1e-10);
        free(a), free(v1), free(v2), free(w1), free(w2);
    }
}

TEST(eigh_repeated_eigenvalues_are_orthonormal) {
    /* Q diag(4,4,4,1,1,0) Q^T for a random orthogonal Q (from the Jacobi vectors). */
    size_t n = 6;
    double a[36], w[6], q[36], b[36] = {0}, v[36];
    random_sym(a, n, 3);
    ASSERT_OK(sl_eigh_ref(a, n, w, q));
    double lam[6] = {4, 4, 4, 1, 1, 0};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            for (size_t k = 0; k < n; k++) b[i * n + j] += q[k * n + i] * lam[k] * q[k * n + j];
    ASSERT_OK(sl_eigh(b, n, w, v));
    for (size_t i = 0; i < n; i++) ASSERT_NEAR(w[i], lam[i], 1e-12);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t k = 0; k < n; k++) s += v[i * n + k] * v[j * n + k];
            ASSERT_NEAR(s, i == j ? 1.0 : 0.0, 1e-12);
        }
    ASSERT_TRUE(recon_err(b, w, v, n) < 1e-12);
}

TEST(eigh_rejects_nan) {
    double a[4] = {1, NAN, NAN, 1}, w[2], v[4];
    ASSERT_FAILS(sl_eigh(a, 2, w, v), SL_ERR_NUMERIC, "(0, 1)");
    ASSERT_FAILS(sl_eigh_ref(a, 2, w, v), SL_ERR_NUMERIC, "is nan");
}

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

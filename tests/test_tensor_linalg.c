/* Tests of the dense symmetric linear algebra: the eigen-solver against known
 * matrices and its Jacobi twin (random, repeated, diagonal, zero, rank-one,
 * non-finite input) and the covariance against a naive double computation. */
#include "test.h"

static void random_sym(double *a, size_t n, uint64_t seed) {
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = sl_rng_normal(&r);
}

/* Checks descending order, A v_i = w_i v_i, V V^T = I and the sign rule (the
 * largest-magnitude coordinate, the first on ties, is positive). */
static void check_eig(const double *a, size_t n, const double *w, const double *v, double tol) {
    for (size_t i = 0; i + 1 < n; i++) ASSERT_TRUE(w[i] >= w[i + 1]);
    for (size_t i = 0; i < n; i++) {
        for (size_t r = 0; r < n; r++) {
            double av = 0;
            for (size_t k = 0; k < n; k++) av += a[r * n + k] * v[i * n + k];
            ASSERT_NEAR(av, w[i] * v[i * n + r], tol);
        }
        for (size_t j = 0; j < n; j++) {
            double dot = 0;
            for (size_t k = 0; k < n; k++) dot += v[i * n + k] * v[j * n + k];
            ASSERT_NEAR(dot, i == j ? 1.0 : 0.0, tol);
        }
        size_t at = 0;
        for (size_t k = 1; k < n; k++)
            if (fabs(v[i * n + k]) > fabs(v[i * n + at])) at = k;
        ASSERT_TRUE(v[i * n + at] > 0);
    }
}

/* Runs both solvers (and the eigenvalues-only mode) on a and checks each. */
static void check_both(const double *a, size_t n, double tol) {
    double *w1 = malloc(n * sizeof *w1), *w2 = malloc(n * sizeof *w2), *w3 = malloc(n * sizeof *w3);
    double *v1 = malloc(n * n * sizeof *v1), *v2 = malloc(n * n * sizeof *v2);
    ASSERT_OK(sl_eigh(a, n, w1, v1));
    ASSERT_OK(sl__eigh_ref(a, n, w2, v2));
    ASSERT_OK(sl_eigh(a, n, w3, NULL));
    check_eig(a, n, w1, v1, tol);
    check_eig(a, n, w2, v2, tol);
    for (size_t i = 0; i < n; i++) ASSERT_NEAR(w1[i], w2[i], tol);
    for (size_t i = 0; i < n; i++) ASSERT_NEAR(w1[i], w3[i], tol);
    free(w1), free(w2), free(w3), free(v1), free(v2);
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
    check_both(a, 3, 1e-12);
    double b = -4, wb, vb;
    ASSERT_OK(sl_eigh(&b, 1, &wb, &vb));
    ASSERT_NEAR(wb, -4, 0);
    ASSERT_NEAR(vb, 1, 0);
    check_both(&b, 1, 0);
}

TEST(eigh_matches_jacobi_twin_on_random_matrices) {
    size_t sizes[] = {2, 3, 7, 40, 129};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        double *a = malloc(n * n * sizeof *a), *v1 = malloc(n * n * sizeof *a), *v2 = malloc(n * n * sizeof *a);
        double *w1 = malloc(n * sizeof *w1), *w2 = malloc(n * sizeof *w2);
        random_sym(a, n, 10 + s);
        ASSERT_OK(sl_eigh(a, n, w1, v1));
        ASSERT_OK(sl__eigh_ref(a, n, w2, v2));
        for (size_t i = 0; i < n; i++) ASSERT_NEAR(w1[i], w2[i], 1e-9);
        /* Distinct eigenvalues (random matrix): vectors agree up to the shared sign rule. */
        for (size_t i = 0; i < n * n; i++) ASSERT_NEAR(v1[i], v2[i], 1e-7);
        check_both(a, n, 1e-9 * (double)n);
        double tr = 0, sw = 0;
        for (size_t i = 0; i < n; i++) tr += a[i * n + i], sw += w1[i];
        ASSERT_NEAR(tr, sw, 1e-9 * (double)n);
        free(a), free(v1), free(v2), free(w1), free(w2);
    }
}

TEST(eigh_repeated_eigenvalues_are_orthonormal) {
    /* Q diag(4,4,4,1,1,0) Q^T for a random orthogonal Q (from the Jacobi vectors). */
    size_t n = 6;
    double a[36], w[6], q[36], b[36] = {0}, v[36];
    random_sym(a, n, 3);
    ASSERT_OK(sl__eigh_ref(a, n, w, q));
    double lam[6] = {4, 4, 4, 1, 1, 0};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            for (size_t k = 0; k < n; k++) b[i * n + j] += q[k * n + i] * lam[k] * q[k * n + j];
    ASSERT_OK(sl_eigh(b, n, w, v));
    for (size_t i = 0; i < n; i++) ASSERT_NEAR(w[i], lam[i], 1e-12);
    check_both(b, n, 1e-12);
    /* A multiple of the identity: every basis is an eigenbasis. */
    double id[16] = {2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2}, wi[4];
    check_both(id, 4, 1e-12);
    ASSERT_OK(sl_eigh(id, 4, wi, NULL));
    for (int i = 0; i < 4; i++) ASSERT_NEAR(wi[i], 2.0, 1e-12);
}

TEST(eigh_zero_and_rank_one) {
    double z[9] = {0}, wz[3];
    check_both(z, 3, 1e-12);
    ASSERT_OK(sl_eigh(z, 3, wz, NULL));
    for (int i = 0; i < 3; i++) ASSERT_NEAR(wz[i], 0, 0);
    /* u u^T: one eigenvalue |u|^2 with eigenvector u / |u| (up to the sign rule), the rest 0. */
    double u[5] = {1, -2, 0.5, 3, 1}, nu = 0, r1[25], wr[5], vr[25];
    for (int i = 0; i < 5; i++) nu += u[i] * u[i];
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) r1[i * 5 + j] = u[i] * u[j];
    check_both(r1, 5, 1e-12);
    ASSERT_OK(sl_eigh(r1, 5, wr, vr));
    ASSERT_NEAR(wr[0], nu, 1e-12);
    for (int i = 1; i < 5; i++) ASSERT_NEAR(wr[i], 0, 1e-12);
    for (int j = 0; j < 5; j++) ASSERT_NEAR(vr[j], u[j] / sqrt(nu), 1e-12);
}

TEST(eigh_rejects_nonfinite_and_empty) {
    double a[4] = {1, NAN, NAN, 1}, w[2], v[4];
    ASSERT_FAILS(sl_eigh(a, 2, w, v), SL_ERR_NUMERIC, "(0, 1) is nan");
    ASSERT_FAILS(sl_eigh(a, 2, w, NULL), SL_ERR_NUMERIC, "(0, 1) is nan");
    ASSERT_FAILS(sl__eigh_ref(a, 2, w, v), SL_ERR_NUMERIC, "is nan");
    a[1] = a[2] = 0, a[3] = INFINITY;
    ASSERT_FAILS(sl_eigh(a, 2, w, v), SL_ERR_NUMERIC, "(1, 1) is inf");
    ASSERT_FAILS(sl_eigh(a, 0, w, v), SL_ERR_ARG, "empty");
}

static void naive_cov(const float *x, size_t n, size_t d, size_t ddof, double *mean, double *cov) {
    for (size_t j = 0; j < d; j++) {
        double m = 0;
        for (size_t i = 0; i < n; i++) m += x[i * d + j];
        mean[j] = m / (double)n;
    }
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < d; b++) {
            double c = 0;
            for (size_t i = 0; i < n; i++) c += (x[i * d + a] - mean[a]) * (x[i * d + b] - mean[b]);
            cov[a * d + b] = c / (double)(n - ddof);
        }
}

TEST(covariance_matches_naive_double) {
    size_t n = 2500, d = 13; /* more than one block of rows, and a large common mean */
    float *x = malloc(n * d * sizeof *x);
    sl_rng r;
    sl_rng_seed(&r, 3, 0);
    for (size_t i = 0; i < n * d; i++) x[i] = (float)(sl_rng_normal(&r) * (1 + (double)(i % d)) + 100.0);
    double mean[13], cov[169], m0[13], c0[169];
    for (size_t ddof = 0; ddof < 2; ddof++) {
        ASSERT_OK(sl_covariance(x, n, d, ddof, mean, cov));
        naive_cov(x, n, d, ddof, m0, c0);
        for (size_t j = 0; j < d; j++) ASSERT_NEAR(mean[j], m0[j], 1e-9);
        for (size_t k = 0; k < d * d; k++) {
            ASSERT_CLOSE(cov[k], c0[k], 1e-5, 1e-5);
            ASSERT_TRUE(cov[k] == cov[(k % d) * d + k / d]); /* exactly symmetric */
        }
    }
    ASSERT_OK(sl_covariance(x, 7, d, 0, NULL, cov)); /* the mean is optional */
    free(x);
}

TEST(covariance_rejects_bad_input) {
    float x[6] = {1, 2, 3, 4, 5, 6};
    double cov[4], mean[2];
    ASSERT_FAILS(sl_covariance(x, 0, 2, 0, mean, cov), SL_ERR_ARG, "empty");
    ASSERT_FAILS(sl_covariance(x, 3, 0, 0, mean, cov), SL_ERR_ARG, "empty");
    ASSERT_FAILS(sl_covariance(x, 1, 2, 1, mean, cov), SL_ERR_ARG, "need more than 1");
    ASSERT_FAILS(sl_covariance(x, 3, SIZE_MAX / 2, 0, mean, cov), SL_ERR_RANGE, "too large");
    x[3] = NAN;
    ASSERT_FAILS(sl_covariance(x, 3, 2, 0, mean, cov), SL_ERR_NUMERIC, "row 1, column 1 is nan");
}

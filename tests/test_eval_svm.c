/* Tests of the linear SVM: closed forms, scikit-learn's LinearSVC on the same
 * problems (tests/fixtures/make_svm_fixture.py), the naive twin, duality gaps
 * of the dual solutions, threads, interruption and bad input. */
#include "test.h"

#include <math.h>
#include <signal.h>

/* The fixture's data: 15 rows of 3 features, classes i % 3. */
static void fixture_data(float *x, int32_t *y3, int32_t *y2) {
    for (int i = 0; i < 15; i++) {
        y3[i] = i % 3, y2[i] = i % 2;
        for (int j = 0; j < 3; j++) x[i * 3 + j] = (float)(sin(1.7 * i + 0.9 * j + 0.3) * 2 + (j == i % 3 ? 1.5 : 0));
    }
}

static void random_data(float *x, int32_t *y, size_t n, size_t d, size_t k, uint64_t seed) {
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++) {
        y[i] = (int32_t)sl_rng_below(&r, k);
        for (size_t j = 0; j < d; j++) x[i * d + j] = (float)sl_rng_normal(&r) + (j % k == (size_t)y[i] ? 1.0f : 0.0f);
    }
}

static double max_abs_diff(const double *a, const double *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

/* Two points on a line, x = +1 (class 1) and -1 (class 0), no bias: the hinge
 * loss with a large C gives the hard margin w = 1; the squared hinge gives
 * the minimiser of w^2/2 + 2C(1 - w)^2, w = 4C / (1 + 4C). */
TEST(two_points_have_closed_forms) {
    const float x[2] = {1, -1};
    const int32_t y[2] = {1, 0};
    double th[4];
    sl_svm_config c;
    sl_svm_config_default(&c);
    c.bias = 0;
    c.tol = 1e-12;
    c.loss = SL_SVM_HINGE;
    c.c = 100;
    ASSERT_OK(sl_svm_fit(&c, x, y, 2, 1, 2, th, NULL));
    ASSERT_NEAR(th[1], 1.0, 1e-12);
    ASSERT_NEAR(th[0], -1.0, 1e-12);
    ASSERT_NEAR(th[2], 0.0, 0);
    c.loss = SL_SVM_SQUARED_HINGE;
    c.c = 0.3;
    ASSERT_OK(sl_svm_fit(&c, x, y, 2, 1, 2, th, NULL));
    ASSERT_NEAR(th[1], 1.2 / 2.2, 1e-10);
    /* Small C under the hinge: every point is a bounded support vector, w = 2C. */
    c.loss = SL_SVM_HINGE;
    c.c = 0.2;
    ASSERT_OK(sl_svm_fit(&c, x, y, 2, 1, 2, th, NULL));
    ASSERT_NEAR(th[1], 0.4, 1e-12);
}

/* liblinear through scikit-learn, same data, C, bias convention, solved
 * tightly: the optimum is unique, so the weights agree. */
TEST(matches_scikit_learn) {
    static const double w_sq[] = {0.501318504, -0.445416460, 0.147390643, -0.556877953, 0.694917372,
                                  -0.555429531, 0.190682639, -0.453817091, 0.546851578};
    static const double b_sq[] = {-0.496781675, -0.119058148, -0.554730574};
    static const double w_h[] = {0.645360181, -0.687973247, 0.157994259, -0.594383696, 0.738949634,
                                 -0.594383669, 0.256366533, -0.586130252, 0.788793927};
    static const double b_h[] = {-0.530097754, -0.108424482, -0.708189068};
    static const double w_cs[] = {0.274984797, -0.243403180, 0.022030206, -0.358105503, 0.486531540,
                                  -0.367386090, 0.083120706, -0.243128359, 0.345355884};
    static const double b_cs[] = {-0.067354996, 0.163269981, -0.095914986};
    static const double w_bin[] = {-0.092849049, 0.120806901, -0.178961136}, b_bin = 0.010987552;
    float x[45];
    int32_t y3[15], y2[15];
    fixture_data(x, y3, y2);
    sl_svm_config c;
    sl_svm_config_default(&c);
    c.c = 0.7;
    c.tol = 1e-10;
    c.max_iter = 1000000;
    double th[12];
    ASSERT_OK(sl_svm_fit(&c, x, y3, 15, 3, 3, th, NULL));
    ASSERT_TRUE(max_abs_diff(th, w_sq, 9) < 1e-6 && max_abs_diff(th + 9, b_sq, 3) < 1e-6);
    c.loss = SL_SVM_HINGE;
    ASSERT_OK(sl_svm_fit(&c, x, y3, 15, 3, 3, th, NULL));
    if (!(max_abs_diff(th, w_h, 9) < 1e-6 && max_abs_diff(th + 9, b_h, 3) < 1e-6))
        T_FAIL("hinge: %.9f %.9f ... vs %.9f %.9f ...", th[0], th[1], w_h[0], w_h[1]);
    c.loss = SL_SVM_SQUARED_HINGE;
    c.multi = SL_SVM_CRAMMER_SINGER;
    ASSERT_OK(sl_svm_fit(&c, x, y3, 15, 3, 3, th, NULL));
    if (!(max_abs_diff(th, w_cs, 9) < 1e-6 && max_abs_diff(th + 9, b_cs, 3) < 1e-6))
        T_FAIL("crammer-singer: %.9f %.9f ... vs %.9f %.9f ...", th[0], th[1], w_cs[0], w_cs[1]);
    c.multi = SL_SVM_OVR;
    ASSERT_OK(sl_svm_fit(&c, x, y2, 15, 3, 2, th, NULL));
    ASSERT_TRUE(max_abs_diff(th + 3, w_bin, 3) < 1e-6 && fabs(th[7] - b_bin) < 1e-6);
    for (int j = 0; j < 3; j++) ASSERT_NEAR(th[j], -th[3 + j], 0);
    ASSERT_NEAR(th[6], -th[7], 0);
}

/* The fast solver (shrinking, SIMD, parallel problems) against the naive
 * twin, both losses. */
TEST(matches_the_naive_twin) {
    enum { N = 400, D = 9, K = 4 };
    static float x[N * D];
    static int32_t y[N];
    random_data(x, y, N, D, K, 3);
    for (int loss = 0; loss < 2; loss++) {
        sl_svm_config c;
        sl_svm_config_default(&c);
        c.loss = (sl_svm_loss)loss;
        c.c = 0.05;
        c.tol = 1e-9;
        c.max_iter = 100000;
        double a[K * (D + 1)], b[K * (D + 1)];
        sl_svm_report rep;
        ASSERT_OK(sl_svm_fit(&c, x, y, N, D, K, a, &rep));
        ASSERT_EQ_INT((int)rep.unconverged, 0);
        ASSERT_OK(sl__svm_fit_ref(&c, x, y, N, D, K, b));
        double diff = max_abs_diff(a, b, K * (D + 1));
        if (!(diff < 1e-6)) T_FAIL("loss %d: fast and naive differ by %g", loss, diff);
    }
}

/* Primal value of one one-vs-rest problem at w (d + 1, the bias weight last). */
static double primal_binary(const sl_svm_config *c, const float *x, const int8_t *yy, size_t n, size_t d,
                            const double *w) {
    double p = 0, l = 0;
    for (size_t j = 0; j <= d; j++) p += 0.5 * w[j] * w[j];
    for (size_t i = 0; i < n; i++) {
        double m = c->bias * w[d];
        for (size_t j = 0; j < d; j++) m += w[j] * x[i * d + j];
        double h = fmax(0, 1 - yy[i] * m);
        l += c->loss == SL_SVM_HINGE ? h : h * h;
    }
    return p + c->c * l;
}

/* The dual solutions certify themselves: the primal value at w(alpha) minus
 * the dual value at alpha is >= 0 (weak duality) and near 0 at the optimum. */
TEST(duality_gaps_close) {
    enum { N = 300, D = 6, K = 3 };
    static float x[N * D];
    static int32_t y[N];
    static int8_t yy[N];
    static double alpha[N * K], qd[N], w[K * (D + 1)];
    static size_t idx[N];
    random_data(x, y, N, D, K, 11);
    for (int loss = 0; loss < 2; loss++) {
        sl_svm_config c;
        sl_svm_config_default(&c);
        c.loss = (sl_svm_loss)loss;
        c.c = 0.3;
        for (size_t i = 0; i < N; i++) {
            yy[i] = y[i] == 2 ? 1 : -1;
            qd[i] = c.bias * c.bias;
            for (size_t j = 0; j < D; j++) qd[i] += (double)x[i * D + j] * x[i * D + j];
        }
        double gap[2];
        for (int t = 0; t < 2; t++) {
            c.tol = t ? 1e-8 : 1e-1;
            size_t it;
            bool conv;
            const size_t cls = 2;
            ASSERT_OK(sl__svm_ovr(&c, x, y, qd, N, D, &cls, 1, w, alpha, &it, &conv));
            const double *w2 = w + 2 * (D + 1);
            ASSERT_TRUE(conv);
            double dual = 0, diag = loss == SL_SVM_SQUARED_HINGE ? 0.5 / c.c : 0;
            for (size_t j = 0; j <= D; j++) dual -= 0.5 * w2[j] * w2[j];
            for (size_t i = 0; i < N; i++) dual += alpha[i] - 0.5 * diag * alpha[i] * alpha[i];
            double p = primal_binary(&c, x, yy, N, D, w2);
            gap[t] = (p - dual) / p;
            if (!(gap[t] >= -1e-12)) T_FAIL("loss %d tol %g: primal %.12g below dual %.12g", loss, c.tol, p, dual);
        }
        if (!(gap[1] < 1e-6 && gap[1] < gap[0])) T_FAIL("loss %d: relative gaps %g (tol 0.1), %g (tol 1e-8)", loss, gap[0], gap[1]);
    }
    /* Crammer-Singer: dual value -(1/2 sum |w_m|^2 + sum_i sum_{m != y_i} alpha_im). */
    sl_svm_config c;
    sl_svm_config_default(&c);
    c.multi = SL_SVM_CRAMMER_SINGER;
    c.c = 0.3;
    c.tol = 1e-8;
    c.max_iter = 100000;
    size_t it;
    bool conv;
    ASSERT_OK(sl__svm_cs(&c, x, y, qd, N, D, K, w, alpha, idx, &it, &conv));
    ASSERT_TRUE(conv);
    double half = 0, lin = 0, loss_sum = 0;
    for (size_t j = 0; j < K * (D + 1); j++) half += 0.5 * w[j] * w[j];
    for (size_t i = 0; i < N; i++) {
        double sy = 0, mx = -INFINITY, sum = 0;
        for (size_t m = 0; m < K; m++) {
            const double *wm = w + m * (D + 1);
            double s = c.bias * wm[D];
            for (size_t j = 0; j < D; j++) s += wm[j] * x[i * D + j];
            if ((int32_t)m == y[i]) sy = s;
            mx = fmax(mx, s + ((int32_t)m == y[i] ? 0 : 1));
            if ((int32_t)m != y[i]) lin += alpha[i * K + m];
            sum += alpha[i * K + m];
            ASSERT_TRUE(alpha[i * K + m] <= ((int32_t)m == y[i] ? c.c : 0) + 1e-15);
        }
        ASSERT_NEAR(sum, 0, 1e-12);
        loss_sum += mx - sy;
    }
    double p = half + c.c * loss_sum, dual = -(half + lin);
    if (!(p - dual >= -1e-12 && (p - dual) / p < 1e-6)) T_FAIL("crammer-singer: primal %.12g dual %.12g", p, dual);
}

/* Separable blobs are classified without error; the prediction is
 * sl_logreg_predict's argmax with the same layout. */
TEST(separable_classes_are_learned) {
    enum { N = 600, D = 4, K = 5 };
    static float x[N * D];
    static int32_t y[N], pred[N];
    sl_rng r;
    sl_rng_seed(&r, 5, 0);
    for (size_t i = 0; i < N; i++) {
        y[i] = (int32_t)(i % K);
        double ang = 2 * M_PI * y[i] / K;
        x[i * D] = (float)(10 * cos(ang) + 0.5 * sl_rng_normal(&r));
        x[i * D + 1] = (float)(10 * sin(ang) + 0.5 * sl_rng_normal(&r));
        x[i * D + 2] = (float)sl_rng_normal(&r), x[i * D + 3] = (float)sl_rng_normal(&r);
    }
    for (int multi = 0; multi < 2; multi++) {
        sl_svm_config c;
        sl_svm_config_default(&c);
        c.multi = (sl_svm_multi)multi;
        double th[K * (D + 1)];
        ASSERT_OK(sl_svm_fit(&c, x, y, N, D, K, th, NULL));
        ASSERT_OK(sl_logreg_predict(x, N, D, K, th, pred));
        size_t wrong = 0;
        for (size_t i = 0; i < N; i++) wrong += pred[i] != y[i];
        if (wrong) T_FAIL("multi %d: %zu of %d rows misclassified", multi, wrong, N);
    }
}

/* Every thread count gives the same bits; another seed reaches the same
 * optimum by another path. */
TEST(same_bits_for_every_thread_count) {
    enum { N = 500, D = 16, K = 7 };
    static float x[N * D];
    static int32_t y[N];
    random_data(x, y, N, D, K, 9);
    sl_svm_config c;
    sl_svm_config_default(&c);
    c.c = 0.1;
    double ref[K * (D + 1)], th[K * (D + 1)];
    int saved = sl_threads_get();
    sl_threads_set(1);
    ASSERT_OK(sl_svm_fit(&c, x, y, N, D, K, ref, NULL));
    for (int t = 2; t <= 4; t++) {
        sl_threads_set(t);
        ASSERT_OK(sl_svm_fit(&c, x, y, N, D, K, th, NULL));
        ASSERT_TRUE(memcmp(ref, th, sizeof th) == 0);
    }
    sl_threads_set(saved);
    c.seed = 4;
    c.tol = 1e-9;
    c.max_iter = 100000;
    ASSERT_OK(sl_svm_fit(&c, x, y, N, D, K, th, NULL));
    c.seed = 0;
    ASSERT_OK(sl_svm_fit(&c, x, y, N, D, K, ref, NULL));
    ASSERT_TRUE(memcmp(ref, th, sizeof th) != 0);
    ASSERT_TRUE(max_abs_diff(ref, th, K * (D + 1)) < 1e-5);
}

TEST(a_stop_request_interrupts) {
    enum { N = 50, D = 3, K = 3 };
    float x[N * D];
    int32_t y[N];
    random_data(x, y, N, D, K, 2);
    volatile sig_atomic_t stop = 1;
    sl_svm_config c;
    sl_svm_config_default(&c);
    c.stop = &stop;
    double th[K * (D + 1)];
    for (int multi = 0; multi < 2; multi++) {
        c.multi = (sl_svm_multi)multi;
        ASSERT_FAILS(sl_svm_fit(&c, x, y, N, D, K, th, NULL), SL_ERR_INTERRUPTED, "svm: interrupted");
    }
}

TEST(bad_input_is_named) {
    float x[6] = {1, 2, 3, 4, 5, 6};
    int32_t y[3] = {0, 1, 0};
    double th[8];
    sl_svm_config c;
    sl_svm_config_default(&c);
    ASSERT_FAILS(sl_svm_fit(&c, x, y, 3, 2, 1, th, NULL), SL_ERR_ARG, "needs at least 2 classes");
    y[2] = 2;
    ASSERT_FAILS(sl_svm_fit(&c, x, y, 3, 2, 2, th, NULL), SL_ERR_ARG, "row 2 has class id 2, outside [0, 2)");
    y[2] = 0;
    x[3] = NAN;
    ASSERT_FAILS(sl_svm_fit(&c, x, y, 3, 2, 2, th, NULL), SL_ERR_NUMERIC, "row 1, column 1 is not a finite number");
    x[3] = 4;
    c.c = 0;
    ASSERT_FAILS(sl_svm_fit(&c, x, y, 3, 2, 2, th, NULL), SL_ERR_ARG, "C must be a finite number > 0");
    c.c = 1, c.tol = -1;
    ASSERT_FAILS(sl_svm_fit(&c, x, y, 3, 2, 2, th, NULL), SL_ERR_ARG, "tolerance");
    c.tol = 1e-4, c.max_iter = 0;
    ASSERT_FAILS(sl_svm_fit(&c, x, y, 3, 2, 2, th, NULL), SL_ERR_ARG, "max_iter");
    c.max_iter = 10, c.bias = -1;
    ASSERT_FAILS(sl_svm_fit(&c, x, y, 3, 2, 2, th, NULL), SL_ERR_ARG, "bias");
    ASSERT_FAILS(sl_svm_fit(&c, x, y, 0, 2, 2, th, NULL), SL_ERR_ARG, "no rows");
    sl_svm_loss l;
    sl_svm_multi m;
    ASSERT_OK(sl_svm_loss_parse("hinge", &l));
    ASSERT_EQ_INT((int)l, SL_SVM_HINGE);
    ASSERT_OK(sl_svm_multi_parse("crammer-singer", &m));
    ASSERT_EQ_INT((int)m, SL_SVM_CRAMMER_SINGER);
    ASSERT_FAILS(sl_svm_loss_parse("l2", &l), SL_ERR_ARG, "expected squared-hinge or hinge");
    ASSERT_FAILS(sl_svm_multi_parse("ovo", &m), SL_ERR_ARG, "expected ovr or crammer-singer");
}

/* Tests of the linear probe: the L-BFGS solver (quadratic, Rosenbrock,
 * preconditioning), the logistic-regression objective (fast vs naive twin,
 * central differences), fitting, the probe protocol and its bad inputs. */
#include "test.h"

/* ---- L-BFGS --------------------------------------------------------------- */

typedef struct quad {
    size_t n;
    const double *a, *b; /* diagonal A, right-hand side */
} quad;

static double quad_fn(const double *x, double *g, void *ctx) {
    const quad *q = ctx;
    double f = 0;
    for (size_t i = 0; i < q->n; i++) {
        f += 0.5 * q->a[i] * x[i] * x[i] - q->b[i] * x[i];
        g[i] = q->a[i] * x[i] - q->b[i];
    }
    return f;
}

static void quad_precond(double *v, void *ctx) {
    const quad *q = ctx;
    for (size_t i = 0; i < q->n; i++) v[i] /= q->a[i];
}

TEST(lbfgs_minimises_an_ill_conditioned_quadratic) {
    enum { N = 60 };
    double a[N], b[N], x[N] = {0};
    for (int i = 0; i < N; i++) a[i] = pow(10.0, 3.0 * i / (N - 1)), b[i] = sin(i + 1.0);
    quad q = {N, a, b};
    sl_lbfgs_config o;
    sl_lbfgs_config_default(&o);
    o.gtol = 1e-6;
    o.ftol = 0;
    sl_lbfgs_report r;
    ASSERT_OK(sl_lbfgs_minimize(quad_fn, &q, x, N, &o, &r));
    if (r.stop != SL_LBFGS_GTOL) T_FAIL("stop %d after %zu iterations, gnorm %g", (int)r.stop, r.iterations, r.gnorm);
    fprintf(stderr, "%zu iterations %zu evaluations\n", r.iterations, r.evaluations);
    for (int i = 0; i < N; i++) ASSERT_NEAR(x[i], b[i] / a[i], 1e-6);
    /* With the exact inverse Hessian as preconditioner, one step suffices. */
    double y[N] = {0};
    o.precond = quad_precond;
    o.precond_ctx = &q;
    ASSERT_OK(sl_lbfgs_minimize(quad_fn, &q, y, N, &o, &r));
    ASSERT_TRUE(r.iterations <= 2);
    for (int i = 0; i < N; i++) ASSERT_NEAR(y[i], b[i] / a[i], 1e-9);
}

TEST(lbfgs_stops_on_a_plateau) {
    enum { N = 60 };
    double a[N], b[N], x[N] = {0};
    for (int i = 0; i < N; i++) a[i] = pow(10.0, 3.0 * i / (N - 1)), b[i] = sin(i + 1.0);
    quad q = {N, a, b};
    sl_lbfgs_config o;
    sl_lbfgs_config_default(&o);
    o.gtol = 1e-12;
    o.ftol = 0;
    o.past = 5;
    o.delta = 1e-3;
    sl_lbfgs_report r;
    ASSERT_OK(sl_lbfgs_minimize(quad_fn, &q, x, N, &o, &r));
    ASSERT_EQ_INT(r.stop, SL_LBFGS_PAST);
    ASSERT_TRUE(r.iterations >= 5 && r.iterations < 200);
    /* Close to the optimum in value: f* = -sum b^2 / (2a). */
    double fs = 0;
    for (int i = 0; i < N; i++) fs -= b[i] * b[i] / (2 * a[i]);
    ASSERT_CLOSE(r.f, fs, 5e-3, 0);
    ASSERT_STREQ(sl_lbfgs_stop_str(r.stop), "loss plateau: small decrease over the last iterations");
}

static double rosenbrock(const double *x, double *g, void *ctx) {
    size_t n = *(const size_t *)ctx;
    double f = 0;
    for (size_t i = 0; i < n; i++) g[i] = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        double t = x[i + 1] - x[i] * x[i], u = 1 - x[i];
        f += 100 * t * t + u * u;
        g[i] += -400 * t * x[i] - 2 * u;
        g[i + 1] += 200 * t;
    }
    return f;
}

TEST(lbfgs_solves_rosenbrock) {
    size_t sizes[] = {2, 10};
    for (int s = 0; s < 2; s++) {
        size_t n = sizes[s];
        double x[10];
        for (size_t i = 0; i < n; i++) x[i] = i % 2 ? 1.0 : -1.2;
        sl_lbfgs_config o;
        sl_lbfgs_config_default(&o);
        o.gtol = 1e-9;
        o.ftol = 0;
        sl_lbfgs_report r;
        ASSERT_OK(sl_lbfgs_minimize(rosenbrock, &n, x, n, &o, &r));
        for (size_t i = 0; i < n; i++) ASSERT_NEAR(x[i], 1.0, 1e-6);
        ASSERT_TRUE(r.f < 1e-12);
        ASSERT_TRUE(r.iterations < 200);
    }
}

static double nan_fn(const double *x, double *g, void *ctx) {
    (void)ctx;
    g[0] = 0;
    return x[0] > 0 ? NAN : 0;
}

TEST(lbfgs_rejects_bad_arguments) {
    double x[1] = {1};
    sl_lbfgs_config o;
    sl_lbfgs_config_default(&o);
    o.history = 0;
    ASSERT_FAILS(sl_lbfgs_minimize(nan_fn, NULL, x, 1, &o, NULL), SL_ERR_ARG, "history");
    ASSERT_FAILS(sl_lbfgs_minimize(nan_fn, NULL, x, 1, NULL, NULL), SL_ERR_NUMERIC, "starting point");
    ASSERT_FAILS(sl_lbfgs_minimize(nan_fn, NULL, x, 0, NULL, NULL), SL_ERR_ARG, "no variables");
}

/* ---- the objective -------------------------------------------------------- */

/* n rows around k well separated centres in d dimensions. */
static void blobs(size_t n, size_t d, size_t k, double spread, uint64_t seed, float *x, int32_t *y) {
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++) {
        size_t c = i % k;
        y[i] = (int32_t)c;
        for (size_t j = 0; j < d; j++) x[i * d + j] = (float)((j % k == c ? 3.0 : 0.0) + spread * sl_rng_normal(&r));
    }
}

TEST(logreg_loss_matches_naive_twin) {
    size_t n = 2500, d = 7, k = 4, np = k * (d + 1); /* two row blocks */
    float *x = malloc(n * d * sizeof *x);
    int32_t *y = malloc(n * sizeof *y);
    blobs(n, d, k, 1.5, 1, x, y);
    double *th = malloc(np * sizeof *th), *g1 = malloc(np * sizeof *g1), *g2 = malloc(np * sizeof *g2);
    sl_rng r;
    sl_rng_seed(&r, 2, 0);
    for (size_t i = 0; i < np; i++) th[i] = 0.5 * sl_rng_normal(&r);
    sl_logreg_problem p = {x, y, n, d, k, 0.03};
    double f1, f2, f3;
    ASSERT_OK(sl_logreg_loss(&p, th, g1, &f1));
    ASSERT_OK(sl__logreg_loss_ref(&p, th, g2, &f2));
    ASSERT_OK(sl_logreg_loss(&p, th, NULL, &f3));
    ASSERT_CLOSE(f1, f2, 1e-6, 0);
    ASSERT_TRUE(f1 == f3);
    for (size_t i = 0; i < np; i++) ASSERT_CLOSE(g1[i], g2[i], 1e-4, 1e-6);
    free(x), free(y), free(th), free(g1), free(g2);
}

TEST(logreg_gradient_matches_central_differences) {
    size_t n = 200, d = 5, k = 3, np = k * (d + 1);
    float x[200 * 5];
    int32_t y[200];
    blobs(n, d, k, 2.0, 3, x, y);
    double th[18], g[18], gf[18];
    sl_rng r;
    sl_rng_seed(&r, 4, 0);
    for (size_t i = 0; i < np; i++) th[i] = sl_rng_normal(&r);
    sl_logreg_problem p = {x, y, n, d, k, 0.1};
    double f;
    ASSERT_OK(sl__logreg_loss_ref(&p, th, g, &f));
    ASSERT_OK(sl_logreg_loss(&p, th, gf, &f));
    for (size_t i = 0; i < np; i++) {
        double h = 1e-5, fp, fm, save = th[i];
        th[i] = save + h;
        ASSERT_OK(sl__logreg_loss_ref(&p, th, NULL, &fp));
        th[i] = save - h;
        ASSERT_OK(sl__logreg_loss_ref(&p, th, NULL, &fm));
        th[i] = save;
        double num = (fp - fm) / (2 * h);
        ASSERT_NEAR(g[i], num, 1e-7);
        ASSERT_NEAR(gf[i], num, 1e-5); /* float32 products */
    }
}

TEST(logreg_rejects_bad_problems) {
    float x[4] = {1, 2, 3, 4};
    int32_t y[2] = {0, 5};
    double th[6] = {0}, f;
    sl_logreg_problem p = {x, y, 2, 2, 2, 0.1};
    ASSERT_FAILS(sl_logreg_loss(&p, th, NULL, &f), SL_ERR_ARG, "row 1: class id 5");
    y[1] = 1;
    p.lambda = -1;
    ASSERT_FAILS(sl_logreg_loss(&p, th, NULL, &f), SL_ERR_ARG, "lambda");
    p.lambda = 0.1, p.k = 1;
    ASSERT_FAILS(sl_logreg_loss(&p, th, NULL, &f), SL_ERR_ARG, "at least 2 classes");
}

static double fit_and_check(sl_logreg_precond *pc, double *th, size_t np, const sl_logreg_problem *p) {
    memset(th, 0, np * sizeof *th);
    sl_lbfgs_config o;
    sl_lbfgs_config_default(&o);
    o.gtol = 1e-7;
    sl_lbfgs_report r;
    ASSERT_OK(sl_logreg_fit(p, pc, &o, th, &r));
    /* Optimality: the exact gradient vanishes at the solution. */
    double *g = malloc(np * sizeof *g), f;
    ASSERT_OK(sl__logreg_loss_ref(p, th, g, &f));
    for (size_t i = 0; i < np; i++) ASSERT_NEAR(g[i], 0, 1e-5);
    free(g);
    return f;
}

TEST(logreg_fit_reaches_the_optimum_with_and_without_preconditioner) {
    size_t n = 3000, d = 12, k = 5, np = k * (d + 1);
    float *x = malloc(n * d * sizeof *x);
    int32_t *y = malloc(n * sizeof *y), *pred = malloc(n * sizeof *pred);
    blobs(n, d, k, 1.0, 5, x, y);
    /* Correlated features make the preconditioner matter. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 1; j < d; j++) x[i * d + j] += 0.8f * x[i * d + j - 1];
    sl_logreg_problem p = {x, y, n, d, k, 1e-3};
    double *a = malloc(np * sizeof *a), *b = malloc(np * sizeof *b);
    sl_logreg_precond *pc;
    ASSERT_OK(sl_logreg_precond_create(x, n, d, 1000, &pc));
    double fa = fit_and_check(NULL, a, np, &p), fb = fit_and_check(pc, b, np, &p);
    ASSERT_CLOSE(fa, fb, 1e-6, 0);
    /* W is unique (penalised); the bias only up to a common shift. */
    for (size_t i = 0; i < k * d; i++) ASSERT_NEAR(a[i], b[i], 1e-3);
    for (size_t c = 1; c < k; c++) ASSERT_NEAR(a[k * d + c] - a[k * d], b[k * d + c] - b[k * d], 2e-2);
    ASSERT_OK(sl_logreg_predict(x, n, d, k, b, pred));
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) ok += pred[i] == y[i];
    ASSERT_TRUE(ok > 0.95 * n);
    sl_logreg_precond_destroy(pc);
    free(x), free(y), free(pred), free(a), free(b);
}

/* ---- the probe protocol ------------------------------------------------- */

/* Blobs with arbitrary label values {-3, 7, 100}. */
static void labelled_blobs(size_t n, size_t d, uint64_t seed, float *x, int64_t *y) {
    int32_t *c = malloc(n * sizeof *c);
    blobs(n, d, 3, 1.2, seed, x, c);
    static const int64_t names[3] = {100, -3, 7};
    for (size_t i = 0; i < n; i++) y[i] = names[c[i]];
    free(c);
}

TEST(probe_runs_the_protocol_deterministically) {
    size_t n = 900, nt = 300, d = 6;
    float *x = malloc(n * d * sizeof *x), *xt = malloc(nt * d * sizeof *xt);
    int64_t *y = malloc(n * sizeof *y), *yt = malloc(nt * sizeof *yt);
    labelled_blobs(n, d, 7, x, y);
    labelled_blobs(nt, d, 8, xt, yt);
    for (size_t i = 0; i < n * d; i++) x[i] = x[i] * 50 + 1000; /* standardisation undoes this */
    for (size_t i = 0; i < nt * d; i++) xt[i] = xt[i] * 50 + 1000;
    sl_probe_config c;
    sl_probe_config_default(&c);
    sl_probe_result *r, *r2;
    ASSERT_OK(sl_probe_run(&c, x, y, n, xt, yt, nt, d, &r));
    ASSERT_EQ_SIZE(r->k, 3);
    ASSERT_EQ_INT(r->classes[0], -3);
    ASSERT_EQ_INT(r->classes[1], 7);
    ASSERT_EQ_INT(r->classes[2], 100);
    ASSERT_EQ_SIZE(r->n_val, 90);
    ASSERT_EQ_SIZE(r->n_fit, 810);
    ASSERT_EQ_SIZE(r->n_grid, 5);
    ASSERT_TRUE(r->grid_lambda[0] > r->grid_lambda[4]);
    ASSERT_TRUE(r->test_acc > 0.9 && r->train_acc > 0.9 && r->val_acc > 0.9);
    size_t tot = 0, diag = 0;
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 3; b++) tot += r->confusion[a * 3 + b], diag += a == b ? r->confusion[a * 3 + b] : 0;
    ASSERT_EQ_SIZE(tot, nt);
    ASSERT_NEAR((double)diag / nt, r->test_acc, 1e-12);
    ASSERT_NEAR(r->mean[0], 1000 + 50 * 1.0, 20); /* feature 0 is hot for one class in three */
    /* Same inputs, same seed: bit-identical model. */
    ASSERT_OK(sl_probe_run(&c, x, y, n, xt, yt, nt, d, &r2));
    ASSERT_TRUE(memcmp(r->theta, r2->theta, 3 * (d + 1) * sizeof(double)) == 0);
    ASSERT_TRUE(r->lambda == r2->lambda);
    sl_probe_result_destroy(r2);
    /* One lambda: no validation split, everything fits. */
    double one = 1e-3;
    c.lambdas = &one;
    c.n_lambdas = 1;
    ASSERT_OK(sl_probe_run(&c, x, y, n, NULL, NULL, 0, d, &r2));
    ASSERT_EQ_SIZE(r2->n_val, 0);
    ASSERT_EQ_SIZE(r2->n_fit, n);
    ASSERT_TRUE(isnan(r2->test_acc) && r2->confusion == NULL);
    sl_probe_result_destroy(r2);
    sl_probe_result_destroy(r);
    sl_probe_result_destroy(NULL);
    free(x), free(xt), free(y), free(yt);
}

TEST(probe_rejects_bad_inputs) {
    float x[8] = {0, 1, 2, 3, 4, 5, 6, 7}, xt[4] = {1, 2, 3, 4};
    int64_t y[4] = {1, 1, 1, 1}, yt[2] = {1, 2};
    sl_probe_result *r;
    ASSERT_FAILS(sl_probe_run(NULL, x, y, 4, NULL, NULL, 0, 2, &r), SL_ERR_ARG, "only one class");
    ASSERT_FAILS(sl_probe_run(NULL, x, y, 0, NULL, NULL, 0, 2, &r), SL_ERR_ARG, "empty");
    y[2] = 2;
    x[5] = NAN;
    ASSERT_FAILS(sl_probe_run(NULL, x, y, 4, NULL, NULL, 0, 2, &r), SL_ERR_NUMERIC, "training row 2, column 1");
    x[5] = 5;
    yt[1] = 9;
    ASSERT_FAILS(sl_probe_run(NULL, x, y, 4, xt, yt, 2, 2, &r), SL_ERR_ARG, "test row 1 has label 9");
    xt[0] = INFINITY;
    ASSERT_FAILS(sl_probe_run(NULL, x, y, 4, xt, yt, 2, 2, &r), SL_ERR_NUMERIC, "test row 0");
    sl_probe_config c;
    sl_probe_config_default(&c);
    c.val_fraction = 1.5;
    ASSERT_FAILS(sl_probe_run(&c, x, y, 4, NULL, NULL, 0, 2, &r), SL_ERR_ARG, "validation fraction");
    double bad = -1;
    sl_probe_config_default(&c);
    c.lambdas = &bad;
    c.n_lambdas = 1;
    ASSERT_FAILS(sl_probe_run(&c, x, y, 4, NULL, NULL, 0, 2, &r), SL_ERR_ARG, "lambda -1");
}

/* --model svm: the same protocol with C chosen on the validation split
 * (weakest last), the fit equal to sl_svm_fit's on the standardised rows. */
TEST(probe_with_an_svm_chooses_c_and_refits) {
    size_t n = 900, nt = 300, d = 6;
    float *x = malloc(n * d * sizeof *x), *xt = malloc(nt * d * sizeof *xt), *xs = malloc(n * d * sizeof *xs);
    int64_t *y = malloc(n * sizeof *y), *yt = malloc(nt * sizeof *yt);
    int32_t *yid = malloc(n * sizeof *yid);
    labelled_blobs(n, d, 7, x, y);
    labelled_blobs(nt, d, 8, xt, yt);
    sl_probe_config c;
    sl_probe_config_default(&c);
    c.model = SL_PROBE_SVM;
    sl_probe_result *r, *r2;
    ASSERT_OK(sl_probe_run(&c, x, y, n, xt, yt, nt, d, &r));
    ASSERT_EQ_INT((int)r->model, SL_PROBE_SVM);
    ASSERT_EQ_SIZE(r->n_grid, 5);
    ASSERT_NEAR(r->grid_lambda[0], 1e-4, 0);
    ASSERT_NEAR(r->grid_lambda[4], 1, 0);
    ASSERT_TRUE(r->test_acc > 0.9 && r->val_acc > 0.9);
    ASSERT_EQ_SIZE(r->svm_fit.unconverged, 0);
    /* The refit is sl_svm_fit with the chosen C on all standardised rows (in
     * another order: the same optimum, which a tight tolerance reaches). */
    sl_probe_result_destroy(r);
    c.svm.tol = 1e-9;
    c.svm.max_iter = 100000;
    ASSERT_OK(sl_probe_run(&c, x, y, n, xt, yt, nt, d, &r));
    for (size_t i = 0; i < n; i++) {
        yid[i] = y[i] == -3 ? 0 : y[i] == 7 ? 1 : 2;
        for (size_t j = 0; j < d; j++) xs[i * d + j] = (x[i * d + j] - r->mean[j]) / r->scale[j];
    }
    sl_svm_config sc = c.svm;
    sc.c = r->lambda;
    sc.seed = c.seed;
    double th[3 * 7];
    ASSERT_OK(sl_svm_fit(&sc, xs, yid, n, d, 3, th, NULL));
    for (size_t i = 0; i < 3 * 7; i++) ASSERT_NEAR(th[i], r->theta[i], 1e-6);
    /* Crammer-Singer, one C. */
    double one = 0.01;
    c.lambdas = &one;
    c.n_lambdas = 1;
    c.svm.multi = SL_SVM_CRAMMER_SINGER;
    ASSERT_OK(sl_probe_run(&c, x, y, n, xt, yt, nt, d, &r2));
    ASSERT_EQ_SIZE(r2->n_val, 0);
    ASSERT_TRUE(r2->test_acc > 0.9);
    sl_probe_result_destroy(r2);
    double zero = 0;
    c.lambdas = &zero;
    ASSERT_FAILS(sl_probe_run(&c, x, y, n, NULL, NULL, 0, d, &r2), SL_ERR_ARG, "C 0 is not a finite number > 0");
    sl_probe_result_destroy(r);
    free(x), free(xt), free(xs), free(y), free(yt), free(yid);
}

/* ---- the command -------------------------------------------------------- */

static void write_set(const char *xname, const char *yname, size_t n, size_t d, uint64_t seed) {
    float *x = malloc(n * d * sizeof *x);
    int64_t *y = malloc(n * sizeof *y);
    labelled_blobs(n, d, seed, x, y);
    ASSERT_OK(sl_npy_write_matrix(t_path(xname), x, n, d));
    ASSERT_OK(sl_npy_write_labels(t_path(yname), y, n));
    free(x), free(y);
}

TEST(cli_probe_reports_accuracy_and_confusion) {
    write_set("x.npy", "y.npy", 600, 5, 1);
    write_set("xt.npy", "yt.npy", 150, 5, 2);
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd, "%s probe --train %s --train-labels %s --test %s --test-labels %s --threads 1 -q",
             t_simlearn(), t_path("x.npy"), t_path("y.npy"), t_path("xt.npy"), t_path("yt.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "<- chosen");
    ASSERT_CONTAINS(out, "accuracy: train");
    ASSERT_CONTAINS(out, "test confusion matrix");
    ASSERT_CONTAINS(out, "     100"); /* label values, not class ids */
    free(out);
}

TEST(cli_probe_trains_an_svm) {
    write_set("x.npy", "y.npy", 600, 5, 1);
    write_set("xt.npy", "yt.npy", 150, 5, 2);
    char cmd[2048], *out;
    const char *s = t_simlearn();
    snprintf(cmd, sizeof cmd,
             "%s probe --model svm --train %s --train-labels %s --test %s --test-labels %s --threads 1 -q", s,
             t_path("x.npy"), t_path("y.npy"), t_path("xt.npy"), t_path("yt.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "probe: linear SVM (ovr, squared-hinge), 600 training rows");
    ASSERT_CONTAINS(out, "C          val acc    passes");
    ASSERT_CONTAINS(out, "1e-04");
    ASSERT_CONTAINS(out, "<- chosen");
    ASSERT_CONTAINS(out, "(converged)");
    ASSERT_CONTAINS(out, "test confusion matrix");
    free(out);
    snprintf(cmd, sizeof cmd, "%s probe --model svm --multi crammer-singer --c 0.1 --train %s --train-labels %s -q", s,
             t_path("x.npy"), t_path("y.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "probe: linear SVM (crammer-singer, its own loss)");
    ASSERT_CONTAINS(out, "refit on 600 rows with C 1e-01");
    free(out);
    static const char *const bad[][2] = {
        {"--model svm --lambda 1e-3", "--lambda is for --model logreg"},
        {"--c 0.1", "--c is for --model svm"},
        {"--loss hinge", "--loss is for --model svm"},
        {"--model svm --multi crammer-singer --loss hinge", "--loss is for --multi ovr"},
        {"--model svm --loss l1", "--loss"},
        {"--model svm --c 0", "C 0 is not a finite number > 0"},
        {"--model tree", "--model"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(cmd, sizeof cmd, "%s probe %s --train %s --train-labels %s -q", s, bad[i][0], t_path("x.npy"),
                 t_path("y.npy"));
        int rc = t_run(cmd, &out);
        if (rc == 0) T_FAIL("%s: exit 0", bad[i][0]);
        ASSERT_CONTAINS(out, bad[i][1]);
        free(out);
    }
}

TEST(cli_probe_bad_inputs_give_clear_errors) {
    write_set("x.npy", "y.npy", 60, 5, 1);
    write_set("x4.npy", "y4.npy", 30, 4, 2);
    write_set("xs.npy", "ys.npy", 20, 5, 3);
    float none[1];
    ASSERT_OK(sl_npy_write_matrix(t_path("empty.npy"), none, 0, 5));
    char cmd[2048], *out;
    const char *s = t_simlearn();
    snprintf(cmd, sizeof cmd, "%s probe --train %s --train-labels %s --test %s --test-labels %s -q", s,
             t_path("x.npy"), t_path("y.npy"), t_path("x4.npy"), t_path("y4.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "has 4 features per row but");
    free(out);
    snprintf(cmd, sizeof cmd, "%s probe --train %s --train-labels %s -q", s, t_path("x.npy"), t_path("ys.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "has 20 labels but");
    free(out);
    snprintf(cmd, sizeof cmd, "%s probe --train %s --train-labels %s -q", s, t_path("empty.npy"), t_path("y.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "has no rows");
    free(out);
    snprintf(cmd, sizeof cmd, "%s probe --train %s --train-labels %s --test %s -q", s, t_path("x.npy"), t_path("y.npy"),
             t_path("x.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 2);
    ASSERT_CONTAINS(out, "go together");
    free(out);
    snprintf(cmd, sizeof cmd, "%s probe --train %s --train-labels %s --lambda 1e-3,abc -q", s, t_path("x.npy"),
             t_path("y.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 2);
    ASSERT_CONTAINS(out, "--lambda");
    free(out);
    /* A NaN feature and a single class. */
    float bad[10] = {1, 2, 3, 4, 5, 6, 7, NAN, 9, 10};
    int64_t one[2] = {4, 4};
    ASSERT_OK(sl_npy_write_matrix(t_path("nan.npy"), bad, 2, 5));
    ASSERT_OK(sl_npy_write_labels(t_path("one.npy"), one, 2));
    snprintf(cmd, sizeof cmd, "%s probe --train %s --train-labels %s -q", s, t_path("nan.npy"), t_path("one.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "row 1, column 2");
    free(out);
    bad[7] = 8;
    ASSERT_OK(sl_npy_write_matrix(t_path("ok.npy"), bad, 2, 5));
    snprintf(cmd, sizeof cmd, "%s probe --train %s --train-labels %s -q", s, t_path("ok.npy"), t_path("one.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "only one class (4)");
    free(out);
}

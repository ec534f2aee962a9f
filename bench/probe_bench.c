/* simlearn's side of `make bench-probe`: one linear-probe fit (sl_probe_run)
 * with a single L2 strength on the first N training rows, features
 * standardised with the training mean and standard deviation, L-BFGS run
 * until the largest gradient entry of the mean loss is below TOL (the
 * loss-plateau rule is off, so the stop is the gradient test or the iteration
 * limit). Prints the fit time, the iterations, the final loss and gradient and
 * the accuracies, and writes the solution (PREFIX.W.npy, PREFIX.b.npy: k x d
 * and k, float64, on the standardised features; PREFIX.mean.npy,
 * PREFIX.scale.npy: the standardisation) for bench/probe_bench.py to check.
 *   usage: probe_bench XTRAIN YTRAIN XTEST YTEST N LAMBDA TOL MAX_ITER THREADS PREFIX */
#include "simlearn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fail(const char *what) {
    fprintf(stderr, "probe_bench: %s: %s\n", what, sl_error_message());
    return 1;
}

static const char *stop_name(sl_lbfgs_stop s) {
    switch (s) {
    case SL_LBFGS_GTOL: return "gradient";
    case SL_LBFGS_FTOL: return "ftol";
    case SL_LBFGS_MAXITER: return "max_iter";
    case SL_LBFGS_LINESEARCH: return "linesearch";
    case SL_LBFGS_PAST: return "plateau";
    }
    return "unknown";
}

static int write_f64(const char *prefix, const char *name, const double *v, size_t rows, size_t cols) {
    char path[4096];
    snprintf(path, sizeof path, "%s.%s.npy", prefix, name);
    sl_array a;
    size_t shape[2] = {rows, cols};
    if (sl_array_alloc(&a, SL_F64, cols ? 2 : 1, shape)) return fail(path);
    memcpy(a.data, v, rows * (cols ? cols : 1) * sizeof *v);
    sl_status s = sl_npy_write(path, &a);
    sl_array_destroy(&a);
    return s ? fail(path) : 0;
}

static int write_f32(const char *prefix, const char *name, const float *v, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s.%s.npy", prefix, name);
    return sl_npy_write_matrix(path, v, 1, n) ? fail(path) : 0;
}

int main(int argc, char **argv) {
    if (argc != 11) {
        fprintf(stderr, "usage: %s XTRAIN YTRAIN XTEST YTEST N LAMBDA TOL MAX_ITER THREADS PREFIX\n", argv[0]);
        return 2;
    }
    size_t nwant = strtoull(argv[5], NULL, 10), max_iter = strtoull(argv[8], NULL, 10);
    double lambda = strtod(argv[6], NULL), tol = strtod(argv[7], NULL);
    int threads = atoi(argv[9]);
    const char *prefix = argv[10];
    if (!(lambda > 0) || !(tol > 0) || max_iter == 0 || threads <= 0) {
        fprintf(stderr, "probe_bench: LAMBDA and TOL must be > 0, MAX_ITER and THREADS >= 1\n");
        return 2;
    }
    sl_threads_set(threads);
    float *xtr, *xte;
    int64_t *ytr, *yte;
    size_t ntr, d, nte, dte, nytr, nyte;
    if (sl_npy_read_matrix(argv[1], &xtr, &ntr, &d)) return fail(argv[1]);
    if (sl_npy_read_labels(argv[2], &ytr, &nytr)) return fail(argv[2]);
    if (sl_npy_read_matrix(argv[3], &xte, &nte, &dte)) return fail(argv[3]);
    if (sl_npy_read_labels(argv[4], &yte, &nyte)) return fail(argv[4]);
    if (nytr != ntr || nyte != nte || dte != d) {
        fprintf(stderr, "probe_bench: shapes do not match (%zu x %zu, %zu labels; %zu x %zu, %zu labels)\n", ntr, d,
                nytr, nte, dte, nyte);
        return 1;
    }
    if (nwant && nwant < ntr) ntr = nwant;

    sl_probe_config cfg;
    sl_probe_config_default(&cfg);
    cfg.lambdas = &lambda;
    cfg.n_lambdas = 1;
    cfg.val_fraction = 0;
    cfg.lbfgs.max_iter = max_iter;
    cfg.lbfgs.gtol = tol;
    cfg.lbfgs.past = 0; /* no loss-plateau stop: the gradient test decides */
    cfg.lbfgs.ftol = 0; /* nor a small-decrease stop */
    sl_probe_result *r;
    clock_t c0 = clock();
    double t0 = sl_time_now();
    if (sl_probe_run(&cfg, xtr, ytr, ntr, xte, yte, nte, d, &r)) return fail("probe");
    double whole = sl_time_now() - t0, cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;

    printf("SIMLEARN fit_s=%.4f whole_s=%.4f cpu_s=%.4f iterations=%zu evaluations=%zu objective=%.10g "
           "max_grad=%.4e stop=%s train_acc=%.4f test_acc=%.4f rows=%zu features=%zu\n",
           r->fit_seconds, whole, cpu, r->fit.iterations, r->fit.evaluations, r->fit.f, r->fit.gnorm,
           stop_name(r->fit.stop), 100 * r->train_acc, 100 * r->test_acc, ntr, d);
    size_t k = r->k;
    int rc = write_f64(prefix, "W", r->theta, k, d) || write_f64(prefix, "b", r->theta + k * d, k, 0) ||
             write_f32(prefix, "mean", r->mean, d) || write_f32(prefix, "scale", r->scale, d);
    sl_probe_result_destroy(r);
    free(xtr), free(xte), free(ytr), free(yte);
    return rc;
}

/* simlearn probe: the linear-probe evaluation of frozen features — a
 * regularised multinomial logistic regression, with the strength chosen on a
 * validation split, reporting accuracies and the test confusion matrix. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const cli_opt opts[] = {
    {"train", 0, CLI_STR, NULL, "training features (.npy, n x d)", NULL, 0, 0, true},
    {"train-labels", 0, CLI_STR, NULL, "training labels (.npy, n integers)", NULL, 0, 0, true},
    {"test", 0, CLI_STR, NULL, "test features (.npy, m x d)", NULL, 0, 0, false},
    {"test-labels", 0, CLI_STR, NULL, "test labels (.npy, m integers)", NULL, 0, 0, false},
    {"lambda", 0, CLI_STR, "1e-1,1e-2,1e-3,1e-4,1e-5",
     "L2 strength(s), comma-separated; one value fits on all training rows without a validation split", NULL, 0, 0,
     false},
    {"val-fraction", 0, CLI_FLOAT, "0.1", "share of each training class held out to choose lambda", NULL, 0.001, 0.9,
     false},
    {"max-iter", 0, CLI_INT, "100", "L-BFGS iteration limit per fit", NULL, 1, 1e7, false},
    {"tol", 0, CLI_FLOAT, "1e-4", "stop when the largest gradient entry is below this", NULL, 0, 1, false},
    {"plateau", 0, CLI_FLOAT, "1e-3", "stop when the loss falls by less than this fraction over 10 iterations (0: off)",
     NULL, 0, 1, false},
    {"no-standardize", 0, CLI_FLAG, NULL, "use the features as they are (default: z-score with train statistics)",
     NULL, 0, 0, false},
    {"no-confusion", 0, CLI_FLAG, NULL, "do not print the confusion matrix", NULL, 0, 0, false},
    CLI_OPT_THREADS,
    CLI_OPT_SEED,
    CLI_OPT_QUIET,
    CLI_OPT_END};

static const cli_spec spec = {
    "simlearn probe --train X.npy --train-labels y.npy [--test Xt.npy --test-labels yt.npy] [options]",
    "Linear probe: multinomial logistic regression with L2 regularisation on frozen features,\n"
    "standardised with the training mean and standard deviation and fitted with L-BFGS. The\n"
    "strength is chosen on a stratified validation split of the training rows, then the model\n"
    "is refitted on all of them. Prints train/validation/test accuracy and the confusion matrix.",
    opts, 0, 0,
    "examples:\n"
    "  simlearn probe --train emb_train.npy --train-labels y_train.npy \\\n"
    "                 --test emb_test.npy --test-labels y_test.npy\n"
    "  simlearn probe --train X.npy --train-labels y.npy --lambda 1e-4 --threads 2"};

/* Read features and labels; on failure nothing is left allocated. */
static int load_set(const char *xpath, const char *ypath, float **x, size_t *n, size_t *d, int64_t **y) {
    float *xx;
    int64_t *yy;
    sl_status s = sl_npy_read_matrix(xpath, &xx, n, d);
    if (s) return cli_fail(s);
    if (*n == 0) {
        fprintf(stderr, "simlearn: error: %s has no rows\n", xpath);
        sl_allocator_free(xx);
        return 1;
    }
    char what[4200];
    snprintf(what, sizeof what, "rows in %s", xpath);
    int rc = cli_read_labels(ypath, *n, what, &yy);
    if (rc) {
        sl_allocator_free(xx);
        return rc;
    }
    *x = xx;
    *y = yy;
    return 0;
}

static void print_result(const sl_probe_result *r, bool confusion) {
    if (r->n_grid > 1) {
        printf("%-10s %-10s %s\n", "lambda", "val acc", "iterations");
        for (size_t g = 0; g < r->n_grid; g++)
            printf("%-10.0e %8.2f%%  %zu%s\n", r->grid_lambda[g], 100 * r->grid_val_acc[g], r->grid_iters[g],
                   r->grid_lambda[g] == r->lambda ? "   <- chosen" : "");
        printf("selection: %.2f s\n", r->select_seconds);
    }
    printf("refit on %zu rows with lambda %.0e: %zu iterations, %zu evaluations, %.2f s (%s)\n", r->n_train,
           r->lambda, r->fit.iterations, r->fit.evaluations, r->fit_seconds, sl_lbfgs_stop_str(r->fit.stop));
    printf("accuracy: train %.2f%%", 100 * r->train_acc);
    if (r->n_grid > 1) printf("  validation %.2f%%", 100 * r->val_acc);
    if (r->n_test) printf("  test %.2f%%", 100 * r->test_acc);
    printf("\n");
    if (!confusion || !r->confusion) return;
    size_t k = r->k;
    printf("test confusion matrix (rows: true label, columns: predicted label):\n%8s", "");
    for (size_t c = 0; c < k; c++) printf(" %6lld", (long long)r->classes[c]);
    printf("\n");
    for (size_t a = 0; a < k; a++) {
        printf("%8lld", (long long)r->classes[a]);
        for (size_t b = 0; b < k; b++) printf(" %6zu", r->confusion[a * k + b]);
        printf("\n");
    }
}

static int run(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    if (cli_given(&a, "test") != cli_given(&a, "test-labels"))
        return cli_usage_error("--test and --test-labels go together");
    double *grid = NULL;
    size_t ngrid = 0;
    if ((rc = cli_float_list("lambda", cli_str(&a, "lambda"), 0, INFINITY, &grid, &ngrid)) != 0) return rc;
    sl_threads_set((int)cli_int(&a, "threads"));

    float *xtr = NULL, *xte = NULL;
    int64_t *ytr = NULL, *yte = NULL;
    size_t ntr, d, nte = 0, dte = 0;
    if ((rc = load_set(cli_str(&a, "train"), cli_str(&a, "train-labels"), &xtr, &ntr, &d, &ytr)) != 0) goto out;
    if (cli_given(&a, "test")) {
        if ((rc = load_set(cli_str(&a, "test"), cli_str(&a, "test-labels"), &xte, &nte, &dte, &yte)) != 0) goto out;
        if (dte != d) {
            fprintf(stderr, "simlearn: error: %s has %zu features per row but %s has %zu\n", cli_str(&a, "test"), dte,
                    cli_str(&a, "train"), d);
            rc = 1;
            goto out;
        }
    }
    sl_probe_config cfg;
    sl_probe_config_default(&cfg);
    cfg.lambdas = grid;
    cfg.n_lambdas = ngrid;
    cfg.val_fraction = cli_float(&a, "val-fraction");
    cfg.standardize = !cli_flag(&a, "no-standardize");
    cfg.seed = (uint64_t)cli_int(&a, "seed");
    cfg.lbfgs.max_iter = (size_t)cli_int(&a, "max-iter");
    cfg.lbfgs.gtol = cli_float(&a, "tol");
    cfg.lbfgs.delta = cli_float(&a, "plateau");
    if (cfg.lbfgs.delta == 0) cfg.lbfgs.past = 0;
    cfg.progress_stream = stderr;
    cfg.progress_mode = cli_progress_mode(&a);
    printf("probe: %zu training rows, %zu test rows, %zu features\n", ntr, nte, d);
    sl_probe_result *r;
    /* Processor time of all threads next to the wall time: on a busy machine
     * it says how much work the run took. */
    clock_t c0 = clock();
    double w0 = sl_time_now();
    cfg.stop = cli_stop_begin();
    sl_status s = sl_probe_run(&cfg, xtr, ytr, ntr, xte, yte, nte, d, &r);
    cli_stop_end();
    double wall = sl_time_now() - w0, cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    if (s) {
        rc = cli_fail(s);
        goto out;
    }
    printf("classes: %zu; validation: %zu rows held out of %zu\n", r->k, r->n_val, r->n_train);
    print_result(r, !cli_flag(&a, "no-confusion"));
    printf("whole probe (standardise, fit, predict): wall %.2f s, processor %.2f s\n", wall, cpu);
    sl_probe_result_destroy(r);
out:
    free(grid);
    sl_allocator_free(xtr), sl_allocator_free(xte), sl_allocator_free(ytr), sl_allocator_free(yte);
    return rc;
}

const cli_command cli_cmd_probe = {"probe", "linear probe (logistic regression) on frozen features", run, false};

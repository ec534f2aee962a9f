/* simlearn probe: the linear-probe evaluation of frozen features — a
 * regularised multinomial logistic regression or a linear SVM, with the
 * strength chosen on a validation split, reporting accuracies and the test
 * confusion matrix. */
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
    {"model", 0, CLI_CHOICE, "logreg", "the classifier: logistic regression or a linear SVM", "logreg|svm", 0, 0,
     false},
    {"lambda", 0, CLI_STR, "1e-1,1e-2,1e-3,1e-4,1e-5",
     "logreg: L2 strength(s), comma-separated; one value fits on all training rows without a validation split", NULL,
     0, 0, false},
    {"c", 0, CLI_STR, "1e-4,1e-3,1e-2,1e-1,1", "svm: C value(s), comma-separated, chosen like --lambda", NULL, 0, 0,
     false},
    {"loss", 0, CLI_CHOICE, "squared-hinge", "svm: the loss of the one-vs-rest problems", "squared-hinge|hinge", 0, 0,
     false},
    {"multi", 0, CLI_CHOICE, "ovr", "svm: one-vs-rest, or Crammer-Singer's joint problem (squared hinge not used)",
     "ovr|crammer-singer", 0, 0, false},
    {"val-fraction", 0, CLI_FLOAT, "0.1", "share of each training class held out to choose lambda or C", NULL, 0.001,
     0.9, false},
    {"max-iter", 0, CLI_INT, NULL, "iteration limit per fit: L-BFGS iterations (logreg, default 100) or passes over "
     "the rows (svm, default 1000)", NULL, 1, 1e7, false},
    {"tol", 0, CLI_FLOAT, NULL,
     "logreg: stop when the largest gradient entry is below this (default 1e-4); svm: when the dual's projected "
     "gradient spreads less than this (default 0.1, liblinear's)", NULL, 0, 1, false},
    {"plateau", 0, CLI_FLOAT, "1e-3",
     "logreg: stop when the loss falls by less than this fraction over 10 iterations (0: off)", NULL, 0, 1, false},
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
    "standardised with the training mean and standard deviation and fitted with L-BFGS, or\n"
    "(--model svm) a linear SVM trained by dual coordinate descent, one-vs-rest or\n"
    "Crammer-Singer. The strength (lambda or C) is chosen on a stratified validation split of\n"
    "the training rows, then the model is refitted on all of them. Prints train/validation/test\n"
    "accuracy and the confusion matrix.",
    opts, 0, 0,
    "examples:\n"
    "  simlearn probe --train emb_train.npy --train-labels y_train.npy \\\n"
    "                 --test emb_test.npy --test-labels y_test.npy\n"
    "  simlearn probe --train X.npy --train-labels y.npy --lambda 1e-4 --threads 2\n"
    "  simlearn probe --model svm --train X.npy --train-labels y.npy --test Xt.npy --test-labels yt.npy"};

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
    const bool svm = r->model == SL_PROBE_SVM;
    if (r->n_grid > 1) {
        printf("%-10s %-10s %s\n", svm ? "C" : "lambda", "val acc", svm ? "passes" : "iterations");
        for (size_t g = 0; g < r->n_grid; g++)
            printf("%-10.0e %8.2f%%  %zu%s\n", r->grid_lambda[g], 100 * r->grid_val_acc[g], r->grid_iters[g],
                   r->grid_lambda[g] == r->lambda ? "   <- chosen" : "");
        printf("selection: %.2f s\n", r->select_seconds);
    }
    if (svm)
        printf("refit on %zu rows with C %.0e: %zu passes, %.2f s (%s)\n", r->n_train, r->lambda,
               r->svm_fit.iterations, r->fit_seconds,
               r->svm_fit.unconverged ? "stopped at the pass limit" : "converged");
    else
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
    const bool svm = strcmp(cli_str(&a, "model"), "svm") == 0;
    static const char *const logreg_only[] = {"lambda", "plateau"}, *const svm_only[] = {"c", "loss", "multi"};
    for (size_t i = 0; i < 2; i++)
        if (svm && cli_given(&a, logreg_only[i])) return cli_usage_error("--%s is for --model logreg", logreg_only[i]);
    for (size_t i = 0; i < 3; i++)
        if (!svm && cli_given(&a, svm_only[i])) return cli_usage_error("--%s is for --model svm", svm_only[i]);
    if (cli_given(&a, "loss") && strcmp(cli_str(&a, "multi"), "ovr") != 0)
        return cli_usage_error("--loss is for --multi ovr (Crammer-Singer has its own loss)");
    double *grid = NULL;
    size_t ngrid = 0;
    if ((rc = cli_float_list(svm ? "c" : "lambda", cli_str(&a, svm ? "c" : "lambda"), 0, INFINITY, &grid, &ngrid)) != 0)
        return rc;
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
    cfg.model = svm ? SL_PROBE_SVM : SL_PROBE_LOGREG;
    if (cli_given(&a, "max-iter")) cfg.lbfgs.max_iter = cfg.svm.max_iter = (size_t)cli_int(&a, "max-iter");
    if (cli_given(&a, "tol")) cfg.lbfgs.gtol = cfg.svm.tol = cli_float(&a, "tol");
    if (svm) {
        sl_svm_loss_parse(cli_str(&a, "loss"), &cfg.svm.loss);
        sl_svm_multi_parse(cli_str(&a, "multi"), &cfg.svm.multi);
        cfg.svm.seed = cfg.seed;
    }
    cfg.lbfgs.delta = cli_float(&a, "plateau");
    if (cfg.lbfgs.delta == 0) cfg.lbfgs.past = 0;
    cfg.progress_stream = stderr;
    cfg.progress_mode = cli_progress_mode(&a);
    if (svm)
        printf("probe: linear SVM (%s, %s), %zu training rows, %zu test rows, %zu features\n", cli_str(&a, "multi"),
               cfg.svm.multi == SL_SVM_OVR ? cli_str(&a, "loss") : "its own loss", ntr, nte, d);
    else
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

const cli_command cli_cmd_probe = {"probe", "linear probe (logistic regression or linear SVM) on frozen features", run,
                                   false};

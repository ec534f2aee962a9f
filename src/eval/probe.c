/* The linear probe: an L2-regularised multinomial logistic regression on
 * frozen, standardised features, fitted with L-BFGS, with the regularisation
 * strength chosen on a stratified validation split of the training set. */
#include "internal.h"
#include "testing.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Rows per block in the loss: the block (8 MB at d = 1024) stays in the
 * last-level cache between the logits product and the gradient product, so
 * the features are streamed from memory once per evaluation, not twice. */
#define LR_BLOCK 2048

/* ---- objective ---------------------------------------------------------- */

typedef struct lr_work {
    const sl_logreg_problem *p;
    float *wf;       /* k x d weights in float for sl_gemm */
    float *z;        /* LR_BLOCK x k logits, then residuals p - onehot */
    float *gblk;     /* k x d gradient of one block */
    double *rowloss; /* LR_BLOCK */
    size_t evals;
} lr_work;

static sl_status check_problem(const sl_logreg_problem *p) {
    if (!p || !p->x || !p->y || p->n == 0 || p->d == 0 || p->k < 2)
        return sl__fail(SL_ERR_ARG, "logistic regression: need rows, features and at least 2 classes (n %zu, d %zu, k %zu)",
                        p ? p->n : 0, p ? p->d : 0, p ? p->k : 0);
    if (!(p->lambda >= 0) || !isfinite(p->lambda))
        return sl__fail(SL_ERR_ARG, "logistic regression: lambda must be finite and >= 0, got %g", p->lambda);
    size_t kd;
    if (!sl_size_mul(p->k, p->d + 1, &kd) || !sl_size_mul(p->n, p->d, &kd))
        return sl__fail(SL_ERR_RANGE, "logistic regression: problem too large");
    return SL_OK;
}

static void lr_work_free(lr_work *w) {
    sl__free(w->wf), sl__free(w->z), sl__free(w->gblk), sl__free(w->rowloss);
}

static sl_status lr_work_init(lr_work *w, const sl_logreg_problem *p) {
    memset(w, 0, sizeof *w);
    w->p = p;
    w->wf = sl__malloc_array(p->k * p->d, sizeof *w->wf, "weights");
    w->z = sl__malloc_array((size_t)LR_BLOCK * p->k, sizeof *w->z, "logits");
    w->gblk = sl__malloc_array(p->k * p->d, sizeof *w->gblk, "gradient block");
    w->rowloss = sl__malloc_array(LR_BLOCK, sizeof *w->rowloss, "losses");
    if (!w->wf || !w->z || !w->gblk || !w->rowloss) {
        lr_work_free(w);
        return SL_ERR_NOMEM;
    }
    return SL_OK;
}

static double lr_eval(lr_work *w, const double *theta, double *grad) {
    const sl_logreg_problem *p = w->p;
    size_t n = p->n, d = p->d, k = p->k, kd = k * d;
    const double *bias = theta + kd;
    for (size_t i = 0; i < kd; i++) w->wf[i] = (float)theta[i];
    if (grad) memset(grad, 0, (kd + k) * sizeof *grad);
    double total = 0;
    for (size_t r0 = 0; r0 < n; r0 += LR_BLOCK) {
        size_t nb = SL__MIN((size_t)LR_BLOCK, n - r0);
        const float *xb = p->x + r0 * d;
        const int32_t *yb = p->y + r0;
        /* Z^T = W X_b^T (k x nb): of the layouts tried, this one is the
         * fastest for OpenBLAS with k much smaller than nb and d. */
        float *z = w->z;
        sl_gemm(false, true, k, nb, d, 1.0f, w->wf, d, xb, d, 0.0f, z, nb);
        /* The softmax runs on the calling thread, row by row, and the row
         * losses are summed in row order. */
        double *rl = w->rowloss;
        for (size_t i = 0; i < nb; i++) {
            double mx = -INFINITY;
            for (size_t c = 0; c < k; c++) {
                double v = (double)z[c * nb + i] + bias[c];
                mx = v > mx ? v : mx;
            }
            size_t y = (size_t)yb[i];
            double zy = (double)z[y * nb + i] + bias[y] - mx;
            double s = 0;
            for (size_t c = 0; c < k; c++) {
                double e = exp((double)z[c * nb + i] + bias[c] - mx);
                if (grad) z[c * nb + i] = (float)e;
                s += e;
            }
            if (grad) {
                float inv = (float)(1.0 / s);
                for (size_t c = 0; c < k; c++) z[c * nb + i] *= inv;
                z[y * nb + i] -= 1.0f;
            }
            rl[i] = log(s) - zy;
        }
        for (size_t i = 0; i < nb; i++) total += rl[i];
        if (grad) {
            /* dW += R^T X_b (k x d) with R^T = z (k x nb); db += row sums of z. */
            sl_gemm(false, false, k, d, nb, 1.0f, z, nb, xb, d, 0.0f, w->gblk, d);
            for (size_t i = 0; i < kd; i++) grad[i] += w->gblk[i];
            for (size_t c = 0; c < k; c++) {
                double sc = 0;
                for (size_t i = 0; i < nb; i++) sc += z[c * nb + i];
                grad[kd + c] += sc;
            }
        }
    }
    double reg = 0;
    for (size_t i = 0; i < kd; i++) reg += theta[i] * theta[i];
    if (grad) {
        double inv = 1.0 / (double)n;
        for (size_t i = 0; i < kd; i++) grad[i] = grad[i] * inv + p->lambda * theta[i];
        for (size_t c = 0; c < k; c++) grad[kd + c] *= inv;
    }
    w->evals++;
    return total / (double)n + 0.5 * p->lambda * reg;
}

static sl_status check_labels(const sl_logreg_problem *p) {
    for (size_t i = 0; i < p->n; i++)
        if (p->y[i] < 0 || (size_t)p->y[i] >= p->k)
            return sl__fail(SL_ERR_ARG, "logistic regression: row %zu: class id %d is outside [0, %zu)", i, (int)p->y[i],
                            p->k);
    return SL_OK;
}

sl_status sl_logreg_loss(const sl_logreg_problem *p, const double *theta, double *grad, double *f) {
    SL__TRY(check_problem(p));
    SL__TRY(check_labels(p));
    lr_work w;
    SL__TRY(lr_work_init(&w, p));
    *f = lr_eval(&w, theta, grad);
    lr_work_free(&w);
    return SL_OK;
}

sl_status sl__logreg_loss_ref(const sl_logreg_problem *p, const double *theta, double *grad, double *f) {
    SL__TRY(check_problem(p));
    SL__TRY(check_labels(p));
    size_t n = p->n, d = p->d, k = p->k, kd = k * d;
    double *z = sl__malloc_array(k, sizeof *z, "logits");
    if (!z) return SL_ERR_NOMEM;
    if (grad) memset(grad, 0, (kd + k) * sizeof *grad);
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        const float *xi = p->x + i * d;
        double mx = -INFINITY, s = 0;
        for (size_t c = 0; c < k; c++) {
            double v = theta[kd + c];
            for (size_t j = 0; j < d; j++) v += theta[c * d + j] * xi[j];
            z[c] = v;
            mx = fmax(mx, v);
        }
        for (size_t c = 0; c < k; c++) s += exp(z[c] - mx);
        total += log(s) + mx - z[p->y[i]];
        if (grad)
            for (size_t c = 0; c < k; c++) {
                double r = exp(z[c] - mx) / s - (c == (size_t)p->y[i]);
                for (size_t j = 0; j < d; j++) grad[c * d + j] += r * xi[j] / (double)n;
                grad[kd + c] += r / (double)n;
            }
    }
    double reg = 0;
    for (size_t i = 0; i < kd; i++) {
        reg += theta[i] * theta[i];
        if (grad) grad[i] += p->lambda * theta[i];
    }
    sl__free(z);
    *f = total / (double)n + 0.5 * p->lambda * reg;
    return SL_OK;
}

static double lr_fn(const double *theta, double *grad, void *ctx) { return lr_eval(ctx, theta, grad); }

/* ---- preconditioner -----------------------------------------------------
 * The covariance and its eigen-decomposition come from the tensor module's
 * dense linear algebra (sl_covariance, sl_eigh). */

struct sl_logreg_precond {
    size_t d;
    float *u;   /* d x d, row i = i-th eigenvector of the covariance */
    double *mu; /* d eigenvalues, descending */
};

void sl_logreg_precond_destroy(sl_logreg_precond *pc) {
    if (!pc) return;
    sl__free(pc->u), sl__free(pc->mu), sl__free(pc);
}

sl_status sl_logreg_precond_create(const float *x, size_t n, size_t d, size_t max_rows, sl_logreg_precond **out) {
    if (!x || n == 0 || d == 0) return sl__fail(SL_ERR_ARG, "preconditioner: empty matrix (%zu x %zu)", n, d);
    size_t m = max_rows && max_rows < n ? max_rows : n, md, dd;
    if (!sl_size_mul(m, d, &md) || !sl_size_mul(d, d, &dd))
        return sl__fail(SL_ERR_RANGE, "preconditioner: %zu x %zu is too large", m, d);
    sl_logreg_precond *pc = sl__calloc(1, sizeof *pc);
    float *sub = m < n ? sl__malloc_array(md, sizeof *sub, "preconditioner rows") : NULL;
    double *cov = sl__malloc_array(dd, sizeof *cov, "covariance");
    double *vec = sl__malloc_array(dd, sizeof *vec, "eigenvectors");
    sl_status s = SL_ERR_NOMEM;
    if (!pc || (m < n && !sub) || !cov || !vec) goto fail;
    pc->d = d;
    pc->u = sl__malloc_array(dd, sizeof *pc->u, "eigenvectors");
    pc->mu = sl__malloc_array(d, sizeof *pc->mu, "eigenvalues");
    if (!pc->u || !pc->mu) goto fail;
    /* Evenly spaced rows: a deterministic sample that covers the whole set. */
    if (sub)
        for (size_t i = 0; i < m; i++) memcpy(sub + i * d, x + (i * n / m) * d, d * sizeof *x);
    if ((s = sl_covariance(sub ? sub : x, m, d, 0, NULL, cov)) != SL_OK) goto fail;
    if ((s = sl_eigh(cov, d, pc->mu, vec)) != SL_OK) goto fail;
    for (size_t i = 0; i < dd; i++) pc->u[i] = (float)vec[i];
    for (size_t i = 0; i < d; i++) pc->mu[i] = fmax(pc->mu[i], 0.0);
    sl__free(sub), sl__free(cov), sl__free(vec);
    *out = pc;
    return SL_OK;
fail:
    sl__free(sub), sl__free(cov), sl__free(vec);
    sl_logreg_precond_destroy(pc);
    return s;
}

/* What the preconditioner needs during one fit: the per-direction scales
 * for this lambda and two k x d buffers. */
typedef struct pc_apply {
    const sl_logreg_precond *pc;
    size_t k;
    double *scale; /* d */
    double bias_scale;
    float *b1, *b2; /* k x d */
} pc_apply;

static void pc_apply_fn(double *v, void *ctx) {
    pc_apply *a = ctx;
    size_t k = a->k, d = a->pc->d, kd = k * d;
    for (size_t i = 0; i < kd; i++) a->b1[i] = (float)v[i];
    /* Coordinates in the eigenbasis, scaled, and back: V U^T S U. */
    sl_gemm(false, true, k, d, d, 1.0f, a->b1, d, a->pc->u, d, 0.0f, a->b2, d);
    for (size_t c = 0; c < k; c++)
        for (size_t i = 0; i < d; i++) a->b2[c * d + i] = (float)(a->b2[c * d + i] * a->scale[i]);
    sl_gemm(false, false, k, d, d, 1.0f, a->b2, d, a->pc->u, d, 0.0f, a->b1, d);
    for (size_t i = 0; i < kd; i++) v[i] = a->b1[i];
    for (size_t c = 0; c < k; c++) v[kd + c] *= a->bias_scale;
}

sl_status sl_logreg_fit(const sl_logreg_problem *p, const sl_logreg_precond *pc, const sl_lbfgs_config *opt,
                        double *theta, sl_lbfgs_report *rep) {
    SL__TRY(check_problem(p));
    SL__TRY(check_labels(p));
    if (pc && pc->d != p->d)
        return sl__fail(SL_ERR_ARG, "logistic regression: preconditioner for width %zu, features have width %zu", pc->d,
                        p->d);
    sl_lbfgs_config o;
    if (opt)
        o = *opt;
    else
        sl_lbfgs_config_default(&o);
    lr_work w;
    SL__TRY(lr_work_init(&w, p));
    pc_apply pa = {pc, p->k, NULL, 0, NULL, NULL};
    if (pc) {
        pa.scale = sl__malloc_array(p->d, sizeof *pa.scale, "preconditioner");
        pa.b1 = sl__malloc_array(p->k * p->d, sizeof *pa.b1, "preconditioner");
        pa.b2 = sl__malloc_array(p->k * p->d, sizeof *pa.b2, "preconditioner");
        if (!pa.scale || !pa.b1 || !pa.b2) {
            sl__free(pa.scale), sl__free(pa.b1), sl__free(pa.b2);
            lr_work_free(&w);
            return SL_ERR_NOMEM;
        }
        /* The data term's Hessian is about E[p(1-p)] Cov per class; a = 0.5/k
         * is a typical E[p(1-p)]. The floor keeps M positive definite when
         * lambda is 0 and the covariance is singular. */
        double a = 0.5 / (double)p->k, floor = 1e-6 * a * (pc->mu[0] > 0 ? pc->mu[0] : 1.0);
        for (size_t i = 0; i < p->d; i++) pa.scale[i] = 1.0 / (a * pc->mu[i] + p->lambda + floor);
        pa.bias_scale = 1.0 / a;
        o.precond = pc_apply_fn;
        o.precond_ctx = &pa;
    }
    sl_status s = sl_lbfgs_minimize(lr_fn, &w, theta, p->k * (p->d + 1), &o, rep);
    sl__free(pa.scale), sl__free(pa.b1), sl__free(pa.b2);
    lr_work_free(&w);
    return s;
}

sl_status sl_logreg_predict(const float *x, size_t n, size_t d, size_t k, const double *theta, int32_t *pred) {
    if (n == 0) return SL_OK;
    if (d == 0 || k == 0) return sl__fail(SL_ERR_ARG, "predict: need d > 0 and k > 0");
    size_t kd = k * d;
    float *wf = sl__malloc_array(kd, sizeof *wf, "weights");
    float *z = sl__malloc_array((size_t)LR_BLOCK * k, sizeof *z, "logits");
    if (!wf || !z) {
        sl__free(wf), sl__free(z);
        return SL_ERR_NOMEM;
    }
    for (size_t i = 0; i < kd; i++) wf[i] = (float)theta[i];
    for (size_t r0 = 0; r0 < n; r0 += LR_BLOCK) {
        size_t nb = SL__MIN((size_t)LR_BLOCK, n - r0);
        sl_gemm(false, true, k, nb, d, 1.0f, wf, d, x + r0 * d, d, 0.0f, z, nb);
        for (size_t i = 0; i < nb; i++) {
            size_t best = 0;
            double bv = -INFINITY;
            for (size_t c = 0; c < k; c++) {
                double v = (double)z[c * nb + i] + theta[kd + c];
                if (v > bv) bv = v, best = c;
            }
            pred[r0 + i] = (int32_t)best;
        }
    }
    sl__free(wf), sl__free(z);
    return SL_OK;
}

/* ---- the probe protocol ------------------------------------------------- */

void sl_probe_config_default(sl_probe_config *c) {
    memset(c, 0, sizeof *c);
    c->val_fraction = 0.1;
    c->standardize = true;
    c->seed = 1;
    sl_lbfgs_config_default(&c->lbfgs);
    c->lbfgs.max_iter = 100;
    c->lbfgs.gtol = 1e-4;
    c->lbfgs.ftol = 1e-7;
    /* A probe needs the accuracy of the optimum, not its last digits: stop
     * once the loss falls by less than 0.1% over 10 iterations. */
    c->lbfgs.past = 10;
    c->lbfgs.delta = 1e-3;
    c->lbfgs.history = 20;
    c->progress_mode = SL_PROGRESS_AUTO;
    c->precond_rows = 8192;
    sl_svm_config_default(&c->svm);
}

void sl_probe_result_destroy(sl_probe_result *r) {
    if (!r) return;
    sl__free(r->classes), sl__free(r->grid_lambda), sl__free(r->grid_val_acc), sl__free(r->grid_iters);
    sl__free(r->confusion), sl__free(r->theta), sl__free(r->mean), sl__free(r->scale);
    sl__free(r);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static int cmp_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Index of label v in the sorted classes, or -1. */
static int32_t class_id(const int64_t *cls, size_t k, int64_t v) {
    size_t lo = 0, hi = k;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cls[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < k && cls[lo] == v ? (int32_t)lo : -1;
}

/* First row holding a non-finite value, or n. */
static size_t first_nonfinite_row(const float *x, size_t n, size_t d, size_t *col) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            if (!isfinite(x[i * d + j])) {
                *col = j;
                return i;
            }
    return n;
}

static void standardize_rows(const float *src, float *dst, size_t n, size_t d, const float *mean, const float *scale) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) dst[i * d + j] = (src[i * d + j] - mean[j]) / scale[j];
}

typedef struct probe_progress {
    sl_progress *bar;
    size_t done;
    double lambda;
} probe_progress;

static void on_iter(size_t iter, double f, double gnorm, void *ctx) {
    (void)iter;
    probe_progress *pp = ctx;
    pp->done++;
    char fields[96];
    snprintf(fields, sizeof fields, "lambda %.0e loss %.5f grad %.1e", pp->lambda, f, gnorm);
    sl_progress_update(pp->bar, pp->done, fields);
}

static double accuracy(const int32_t *pred, const int32_t *y, size_t n) {
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) ok += pred[i] == y[i];
    return n ? (double)ok / (double)n : NAN;
}

/* ---- the protocol, step by step ----------------------------------------- */

/* One run's inputs and working memory; the result is built in r. */
typedef struct probe_run {
    const sl_probe_config *cfg;
    const float *xtr, *xte;
    const int64_t *ytr, *yte;
    size_t ntr, nte, d, k, np;
    bool select;               /* more than one lambda: choose on a validation split */
    int64_t *cls;              /* ntr: the sorted distinct training labels (k used) */
    int32_t *ytr_id, *yte_id;  /* class ids of the training and test rows */
    float *xs, *xts;           /* standardised training rows (fit part, then validation part), test rows */
    int32_t *ys, *pred;        /* class ids in xs's order; predictions */
    double *theta, *best_theta, *mean, *var;
    size_t *order, *count;     /* xs's rows as training rows; class boundaries in order */
    probe_progress pp;
    sl_logreg_precond *pc;
    sl_lbfgs_config opt;
    double t_fit;              /* when the final fit's time starts */
} probe_run;

static void probe_run_free(probe_run *p) {
    sl_progress_destroy(p->pp.bar);
    sl_logreg_precond_destroy(p->pc);
    sl__free(p->cls), sl__free(p->ytr_id), sl__free(p->yte_id), sl__free(p->xs), sl__free(p->xts), sl__free(p->ys);
    sl__free(p->pred), sl__free(p->theta), sl__free(p->best_theta), sl__free(p->mean), sl__free(p->var);
    sl__free(p->order), sl__free(p->count);
}

/* The arguments, and the lambda grid to search (cfg's or the default one). */
static sl_status check_args(const sl_probe_config *cfg, const float *xtr, const int64_t *ytr, size_t ntr,
                            const float *xte, const int64_t *yte, size_t nte, size_t d, const double **grid,
                            size_t *ngrid) {
    if (!xtr || !ytr || ntr == 0) return sl__fail(SL_ERR_ARG, "probe: the training set is empty");
    if (d == 0) return sl__fail(SL_ERR_ARG, "probe: the features have width 0");
    if (nte && (!xte || !yte)) return sl__fail(SL_ERR_ARG, "probe: test rows given without features or labels");
    if (!(cfg->val_fraction >= 0 && cfg->val_fraction < 1))
        return sl__fail(SL_ERR_ARG, "probe: validation fraction must be in [0, 1), got %g", cfg->val_fraction);
    static const double def_lambdas[] = SL_PROBE_DEFAULT_LAMBDAS, def_cs[] = SL_PROBE_DEFAULT_CS;
    const bool svm = cfg->model == SL_PROBE_SVM;
    if (!svm && cfg->model != SL_PROBE_LOGREG) return sl__fail(SL_ERR_ARG, "probe: unknown model %d", (int)cfg->model);
    const char *what = svm ? "C" : "lambda";
    const double *grid_in = cfg->lambdas ? cfg->lambdas : svm ? def_cs : def_lambdas;
    size_t n = cfg->lambdas ? cfg->n_lambdas : svm ? sizeof def_cs / sizeof *def_cs : sizeof def_lambdas / sizeof *def_lambdas;
    if (n == 0) return sl__fail(SL_ERR_ARG, "probe: the %s grid is empty", what);
    for (size_t i = 0; i < n; i++)
        if (!(grid_in[i] >= 0) || !isfinite(grid_in[i]) || (svm && grid_in[i] == 0))
            return sl__fail(SL_ERR_ARG, "probe: %s %g is not a finite number %s 0", what, grid_in[i], svm ? ">" : ">=");
    if (n > 1 && cfg->val_fraction <= 0)
        return sl__fail(SL_ERR_ARG, "probe: choosing among %zu values of %s needs a validation fraction > 0", n, what);
    size_t col, bad = first_nonfinite_row(xtr, ntr, d, &col);
    if (bad < ntr)
        return sl__fail(SL_ERR_NUMERIC, "probe: training row %zu, column %zu is not a finite number", bad, col);
    if (nte && (bad = first_nonfinite_row(xte, nte, d, &col)) < nte)
        return sl__fail(SL_ERR_NUMERIC, "probe: test row %zu, column %zu is not a finite number", bad, col);
    *grid = grid_in, *ngrid = n;
    return SL_OK;
}

/* The classes (the sorted distinct training labels) and every row's class id. */
static sl_status find_classes(probe_run *p) {
    const size_t ntr = p->ntr;
    p->cls = sl__malloc_array(ntr, sizeof *p->cls, "labels");
    p->ytr_id = sl__malloc_array(ntr, sizeof *p->ytr_id, "labels");
    p->yte_id = p->nte ? sl__malloc_array(p->nte, sizeof *p->yte_id, "labels") : NULL;
    if (!p->cls || !p->ytr_id || (p->nte && !p->yte_id)) return SL_ERR_NOMEM;
    int64_t *cls = p->cls;
    memcpy(cls, p->ytr, ntr * sizeof *cls);
    qsort(cls, ntr, sizeof *cls, cmp_i64);
    size_t k = 0;
    for (size_t i = 0; i < ntr; i++)
        if (k == 0 || cls[i] != cls[k - 1]) cls[k++] = cls[i];
    if (k < 2)
        return sl__fail(SL_ERR_ARG, "probe: the training labels hold only one class (%lld); need at least 2",
                        (long long)cls[0]);
    for (size_t i = 0; i < ntr; i++) p->ytr_id[i] = class_id(cls, k, p->ytr[i]);
    for (size_t i = 0; i < p->nte; i++)
        if ((p->yte_id[i] = class_id(cls, k, p->yte[i])) < 0)
            return sl__fail(SL_ERR_ARG, "probe: test row %zu has label %lld, which no training row has", i,
                            (long long)p->yte[i]);
    p->k = k;
    return SL_OK;
}

/* The result's per-class and per-feature arrays and the run's buffers. */
static sl_status alloc_buffers(probe_run *p, sl_probe_result *r) {
    const size_t ntr = p->ntr, nte = p->nte, d = p->d, k = p->k;
    r->d = d, r->k = k, r->n_train = ntr, r->n_test = nte;
    r->classes = sl__malloc_array(k, sizeof *r->classes, "classes");
    r->mean = sl__malloc_array(d, sizeof *r->mean, "mean");
    r->scale = sl__malloc_array(d, sizeof *r->scale, "scale");
    p->np = k * (d + 1);
    p->theta = sl__calloc(p->np, sizeof *p->theta);
    p->best_theta = sl__calloc(p->np, sizeof *p->best_theta);
    p->mean = sl__calloc(d, sizeof *p->mean);
    p->var = sl__calloc(d, sizeof *p->var);
    size_t nd;
    if (!sl_size_mul(ntr, d, &nd)) return sl__fail(SL_ERR_RANGE, "probe: %zu x %zu is too large", ntr, d);
    p->xs = sl__malloc_array(nd, sizeof *p->xs, "standardised training features");
    p->xts = nte ? sl__malloc_array(nte * d, sizeof *p->xts, "standardised test features") : NULL;
    p->ys = sl__malloc_array(ntr, sizeof *p->ys, "labels");
    p->pred = sl__malloc_array(ntr > nte ? ntr : nte, sizeof *p->pred, "predictions");
    p->order = sl__malloc_array(ntr, sizeof *p->order, "order");
    p->count = sl__calloc(k + 1, sizeof *p->count);
    if (!r->classes || !r->mean || !r->scale || !p->theta || !p->best_theta || !p->mean || !p->var || !p->xs ||
        (nte && !p->xts) || !p->ys || !p->pred || !p->order || !p->count)
        return SL_ERR_NOMEM;
    memcpy(r->classes, p->cls, k * sizeof *p->cls);
    return SL_OK;
}

/* Standardisation statistics from the whole training set. */
static void standardisation(probe_run *p, sl_probe_result *r) {
    const float *xtr = p->xtr;
    const size_t ntr = p->ntr, d = p->d;
    double *mean = p->mean, *var = p->var;
    for (size_t i = 0; i < ntr; i++)
        for (size_t j = 0; j < d; j++) mean[j] += xtr[i * d + j];
    for (size_t j = 0; j < d; j++) mean[j] /= (double)ntr;
    for (size_t i = 0; i < ntr; i++)
        for (size_t j = 0; j < d; j++) {
            double t = xtr[i * d + j] - mean[j];
            var[j] += t * t;
        }
    for (size_t j = 0; j < d; j++) {
        double sd = sqrt(var[j] / (double)ntr);
        /* A constant feature carries nothing; scale 1 maps it to 0. */
        r->mean[j] = p->cfg->standardize ? (float)mean[j] : 0.0f;
        r->scale[j] = p->cfg->standardize && sd > 1e-12 * fmax(1.0, fabs(mean[j])) ? (float)sd : 1.0f;
    }
}

/* Partial Fisher-Yates, seeded by (seed, class): the first `hold` of the m
 * rows in grp become a random subset. */
static void shuffle_head(size_t *grp, size_t m, size_t hold, uint64_t seed, size_t c) {
    sl_rng rng;
    sl_rng_seed(&rng, seed, c);
    for (size_t i = 0; i < hold; i++) {
        size_t j = i + (size_t)sl_rng_below(&rng, m - i);
        size_t t = grp[i];
        grp[i] = grp[j];
        grp[j] = t;
    }
}

/* Stratified split: in each class, a seeded shuffle decides which rows are
 * held out. p->order gets the fit rows, then the validation rows. */
static sl_status split_rows(probe_run *p, sl_probe_result *r) {
    const size_t ntr = p->ntr, k = p->k;
    size_t *order = p->order, *count = p->count;
    for (size_t i = 0; i < ntr; i++) count[p->ytr_id[i] + 1]++;
    for (size_t c = 0; c < k; c++) count[c + 1] += count[c];
    /* order: rows grouped by class, in their original order within a class. */
    size_t *pos = sl__malloc_array(k, sizeof *pos, "split");
    if (!pos) return SL_ERR_NOMEM;
    memcpy(pos, count, k * sizeof *pos);
    for (size_t i = 0; i < ntr; i++) order[pos[p->ytr_id[i]]++] = i;
    sl__free(pos);
    size_t *fit_rows = sl__malloc_array(ntr, sizeof *fit_rows, "split");
    if (!fit_rows) return SL_ERR_NOMEM;
    size_t nfit = 0, nval = 0;
    size_t *val_rows = order; /* validation rows are compacted in place at the front */
    for (size_t c = 0; c < k; c++) {
        size_t *grp = order + count[c], m = count[c + 1] - count[c];
        size_t hold = p->select ? (size_t)floor(p->cfg->val_fraction * (double)m + 0.5) : 0;
        if (p->select && hold == 0 && m >= 2) hold = 1; /* every class is validated */
        if (hold >= m) hold = m > 1 ? m - 1 : 0;
        shuffle_head(grp, m, hold, p->cfg->seed, c);
        for (size_t i = hold; i < m; i++) fit_rows[nfit++] = grp[i];
        for (size_t i = 0; i < hold; i++) val_rows[nval++] = grp[i];
    }
    /* Sort both parts by row index so the layout does not depend on the class order. */
    qsort(fit_rows, nfit, sizeof *fit_rows, cmp_size);
    qsort(val_rows, nval, sizeof *val_rows, cmp_size);
    memmove(order + nfit, val_rows, nval * sizeof *order);
    memcpy(order, fit_rows, nfit * sizeof *order);
    sl__free(fit_rows);
    r->n_fit = nfit;
    r->n_val = nval;
    return SL_OK;
}

/* The standardised rows: training rows in p->order, and the test rows. */
static void standardise_all(probe_run *p, const sl_probe_result *r) {
    const size_t d = p->d;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < p->ntr; i++) {
        const float *src = p->xtr + p->order[i] * d;
        float *dst = p->xs + i * d;
        for (size_t j = 0; j < d; j++) dst[j] = (src[j] - r->mean[j]) / r->scale[j];
        p->ys[i] = p->ytr_id[p->order[i]];
    }
    if (p->nte) standardize_rows(p->xte, p->xts, p->nte, d, r->mean, r->scale);
}

/* The progress bar (when asked for), the L-BFGS options and the grid,
 * strongest regularisation first: each fit warm-starts the next one. */
static sl_status prepare_grid(probe_run *p, sl_probe_result *r, const double *grid_in, size_t ngrid) {
    const sl_probe_config *cfg = p->cfg;
    if (cfg->progress_stream &&
        sl_progress_create(cfg->progress_stream, cfg->progress_mode, "probe", 0, "it", &p->pp.bar) != SL_OK)
        return SL_ERR_NOMEM;
    p->opt = cfg->lbfgs;
    if (cfg->stop) p->opt.stop = cfg->stop;
    if (p->pp.bar) {
        p->opt.callback = on_iter;
        p->opt.callback_ctx = &p->pp;
    }
    r->n_grid = p->select ? ngrid : 1;
    r->grid_lambda = sl__malloc_array(r->n_grid, sizeof *r->grid_lambda, "grid");
    r->grid_val_acc = sl__malloc_array(r->n_grid, sizeof *r->grid_val_acc, "grid");
    r->grid_iters = sl__calloc(r->n_grid, sizeof *r->grid_iters);
    if (!r->grid_lambda || !r->grid_val_acc || !r->grid_iters) return SL_ERR_NOMEM;
    memcpy(r->grid_lambda, grid_in, r->n_grid * sizeof *grid_in);
    /* Strongest regularisation first: the largest lambda, the smallest C. */
    qsort(r->grid_lambda, r->n_grid, sizeof *r->grid_lambda, cmp_desc);
    if (cfg->model == SL_PROBE_SVM)
        for (size_t i = 0, j = r->n_grid - 1; i < j; i++, j--) {
            double t = r->grid_lambda[i];
            r->grid_lambda[i] = r->grid_lambda[j], r->grid_lambda[j] = t;
        }
    r->lambda = r->grid_lambda[0];
    r->val_acc = NAN;
    return SL_OK;
}

/* Fit the model with grid value v (lambda or C) on the first n rows of xs
 * into p->theta (logistic regression starts from it); the iterations made. */
static sl_status fit_model(probe_run *p, double v, size_t n, sl_lbfgs_report *lrep, sl_svm_report *srep,
                           size_t *iters) {
    sl_status st;
    if (p->cfg->model == SL_PROBE_SVM) {
        sl_svm_config sc = p->cfg->svm;
        sc.c = v;
        if (p->cfg->stop) sc.stop = p->cfg->stop;
        st = sl_svm_fit(&sc, p->xs, p->ys, n, p->d, p->k, p->theta, srep);
        if (st == SL_OK && p->pp.bar) {
            char fields[64];
            snprintf(fields, sizeof fields, "C %.0e passes %zu", v, srep->iterations);
            sl_progress_update(p->pp.bar, ++p->pp.done, fields);
        }
        *iters = st == SL_OK ? srep->iterations : 0;
        return st;
    }
    sl_logreg_problem pr = {p->xs, p->ys, n, p->d, p->k, v};
    p->pp.lambda = v;
    st = sl_logreg_fit(&pr, p->pc, &p->opt, p->theta, lrep);
    *iters = st == SL_OK ? lrep->iterations : 0;
    return st;
}

/* The preconditioner, and with more than one lambda the search: fit each on
 * the fit part, keep the one most accurate on the validation part. */
static sl_status choose_lambda(probe_run *p, sl_probe_result *r) {
    const size_t d = p->d, k = p->k;
    sl_status st;
    double t0 = sl_time_now();
    if (p->cfg->model == SL_PROBE_LOGREG && p->cfg->precond_rows &&
        (st = sl_logreg_precond_create(p->xs, p->ntr, d, p->cfg->precond_rows, &p->pc)) != SL_OK)
        return st;
    if (p->select) {
        size_t nfit = r->n_fit, nval = r->n_val;
        double best = -1;
        for (size_t g = 0; g < r->n_grid; g++) {
            sl_lbfgs_report rep;
            sl_svm_report srep;
            if ((st = fit_model(p, r->grid_lambda[g], nfit, &rep, &srep, &r->grid_iters[g])) != SL_OK) return st;
            if ((st = sl_logreg_predict(p->xs + nfit * d, nval, d, k, p->theta, p->pred)) != SL_OK) return st;
            double acc = accuracy(p->pred, p->ys + nfit, nval);
            r->grid_val_acc[g] = acc;
            if (acc > best) {
                best = acc;
                r->lambda = r->grid_lambda[g];
                r->val_acc = acc;
                memcpy(p->best_theta, p->theta, p->np * sizeof *p->theta);
            }
        }
        memcpy(p->theta, p->best_theta, p->np * sizeof *p->theta);
    }
    double t1 = sl_time_now();
    /* Without selection, the preconditioner belongs to the fit's time. */
    r->select_seconds = p->select ? t1 - t0 : 0;
    p->t_fit = p->select ? t1 : t0;
    return SL_OK;
}

/* The final fit on the whole training set with the chosen lambda, and the
 * accuracies (and test confusion counts) of the model it gives. */
static sl_status fit_and_score(probe_run *p, sl_probe_result *r) {
    const size_t ntr = p->ntr, nte = p->nte, d = p->d, k = p->k;
    sl_status st;
    size_t iters;
    if ((st = fit_model(p, r->lambda, ntr, &r->fit, &r->svm_fit, &iters)) != SL_OK) return st;
    if (!p->select) r->grid_iters[0] = iters, r->grid_val_acc[0] = NAN;
    r->fit_seconds = sl_time_now() - p->t_fit;
    if (p->pp.bar) {
        char fields[64];
        snprintf(fields, sizeof fields, "%s %.0e", p->cfg->model == SL_PROBE_SVM ? "C" : "lambda", r->lambda);
        sl_progress_finish(p->pp.bar, fields);
    }
    if ((st = sl_logreg_predict(p->xs, ntr, d, k, p->theta, p->pred)) != SL_OK) return st;
    r->train_acc = accuracy(p->pred, p->ys, ntr);
    r->test_acc = NAN;
    if (nte) {
        if ((st = sl_logreg_predict(p->xts, nte, d, k, p->theta, p->pred)) != SL_OK) return st;
        r->test_acc = accuracy(p->pred, p->yte_id, nte);
        r->confusion = sl__calloc(k * k, sizeof *r->confusion);
        if (!r->confusion) return SL_ERR_NOMEM;
        for (size_t i = 0; i < nte; i++) r->confusion[(size_t)p->yte_id[i] * k + (size_t)p->pred[i]]++;
    }
    r->theta = p->theta;
    p->theta = NULL;
    return SL_OK;
}

/* The protocol's steps in order, building r. */
static sl_status probe_steps(probe_run *p, sl_probe_result *r, const double *grid, size_t ngrid) {
    SL__TRY(find_classes(p));
    SL__TRY(alloc_buffers(p, r));
    standardisation(p, r);
    SL__TRY(split_rows(p, r));
    standardise_all(p, r);
    SL__TRY(prepare_grid(p, r, grid, ngrid));
    SL__TRY(choose_lambda(p, r));
    return fit_and_score(p, r);
}

sl_status sl_probe_run(const sl_probe_config *cfg, const float *xtr, const int64_t *ytr, size_t ntr, const float *xte,
                       const int64_t *yte, size_t nte, size_t d, sl_probe_result **out) {
    sl_probe_config defc;
    if (!cfg) {
        sl_probe_config_default(&defc);
        cfg = &defc;
    }
    const double *grid = NULL;
    size_t ngrid = 0;
    SL__TRY(check_args(cfg, xtr, ytr, ntr, xte, yte, nte, d, &grid, &ngrid));
    probe_run p = {.cfg = cfg, .xtr = xtr, .xte = xte, .ytr = ytr, .yte = yte, .ntr = ntr, .nte = nte, .d = d,
                   .select = ngrid > 1};
    sl_probe_result *r = sl__calloc(1, sizeof *r);
    if (r) r->model = cfg->model;
    sl_status st = r ? probe_steps(&p, r, grid, ngrid) : SL_ERR_NOMEM;
    if (st == SL_OK) {
        *out = r;
        r = NULL;
    }
    if (st == SL_ERR_NOMEM && !sl_error_message()[0]) sl__fail(SL_ERR_NOMEM, "probe: out of memory");
    if (st == SL_ERR_INTERRUPTED) sl__fail_prefix(st, "probe");
    probe_run_free(&p);
    sl_probe_result_destroy(r);
    return st;
}

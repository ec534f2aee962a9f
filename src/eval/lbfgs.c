/* Limited-memory BFGS for smooth unconstrained minimisation: the two-loop
 * recursion for the search direction and a line search that enforces the
 * strong Wolfe conditions (bracketing, then safeguarded cubic zoom). */
#include "internal.h"

#include <math.h>
#include <string.h>

void sl_lbfgs_config_default(sl_lbfgs_config *o) {
    memset(o, 0, sizeof *o);
    o->history = 10;
    o->max_iter = 500;
    o->gtol = 1e-5;
    o->ftol = 1e-10;
    o->c1 = 1e-4;
    o->c2 = 0.9;
    o->max_linesearch = 25;
}

const char *sl_lbfgs_stop_str(sl_lbfgs_stop s) {
    switch (s) {
    case SL_LBFGS_GTOL: return "gradient norm below tolerance";
    case SL_LBFGS_FTOL: return "relative decrease below tolerance";
    case SL_LBFGS_MAXITER: return "iteration limit reached";
    case SL_LBFGS_LINESEARCH: return "line search made no progress (at the limit of precision)";
    case SL_LBFGS_PAST: return "loss plateau: small decrease over the last iterations";
    }
    return "unknown";
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static double inf_norm(const double *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* State shared by the line search: the start point, the direction, the trial
 * point and the best acceptable point seen so far. */
typedef struct ls_state {
    sl_lbfgs_fn fn;
    void *ctx;
    size_t n;
    const double *x0, *p;
    double *xt, *gt; /* trial point and its gradient */
    size_t evals;
    bool failed_eval;
} ls_state;

static double ls_eval(ls_state *s, double a, double *dphi) {
    for (size_t i = 0; i < s->n; i++) s->xt[i] = s->x0[i] + a * s->p[i];
    double f = s->fn(s->xt, s->gt, s->ctx);
    s->evals++;
    if (!isfinite(f)) {
        s->failed_eval = true;
        *dphi = NAN;
        return f;
    }
    *dphi = dot(s->gt, s->p, s->n);
    return f;
}

/* Minimiser of the cubic that interpolates (a, fa, da) and (b, fb, db),
 * kept inside [lo + 0.1 w, hi - 0.1 w] of the interval; bisection when the
 * cubic has no usable minimiser. */
static double cubic_step(double a, double fa, double da, double b, double fb, double db) {
    double lo = fmin(a, b), hi = fmax(a, b), w = hi - lo;
    double d1 = da + db - 3.0 * (fa - fb) / (a - b);
    double disc = d1 * d1 - da * db;
    double t = 0.5 * (a + b);
    if (disc >= 0 && isfinite(disc)) {
        double d2 = copysign(sqrt(disc), b - a);
        double den = db - da + 2.0 * d2;
        if (den != 0) {
            double c = b - (b - a) * (db + d2 - d1) / den;
            if (isfinite(c)) t = c;
        }
    }
    if (t < lo + 0.1 * w || t > hi - 0.1 * w) t = 0.5 * (a + b);
    return t;
}

/* Strong-Wolfe line search along p from x0 (value f0, slope d0 < 0).
 * On success the accepted point and gradient are in s->xt, s->gt, its value
 * in *fout, and true is returned. */
static bool line_search(ls_state *s, const sl_lbfgs_config *o, double f0, double d0, double a1, double *fout) {
    double a_prev = 0, f_prev = f0, d_prev = d0;
    double a = a1;
    size_t budget = o->max_linesearch;
    double lo, flo, dlo, hi, fhi, dhi;
    for (size_t i = 0;; i++) {
        if (i >= budget) return false;
        double da;
        double fa = ls_eval(s, a, &da);
        if (s->failed_eval) {
            /* A step into a region where the objective overflows: shrink. */
            s->failed_eval = false;
            if (a <= 1e-20) return false;
            a = 0.5 * (a_prev + a);
            continue;
        }
        if (fa > f0 + o->c1 * a * d0 || (i > 0 && fa >= f_prev)) {
            lo = a_prev, flo = f_prev, dlo = d_prev, hi = a, fhi = fa, dhi = da;
            break;
        }
        if (fabs(da) <= -o->c2 * d0) {
            *fout = fa;
            return true;
        }
        if (da >= 0) {
            lo = a, flo = fa, dlo = da, hi = a_prev, fhi = f_prev, dhi = d_prev;
            break;
        }
        /* Still descending with a steep slope: extrapolate. */
        double next = a + 4.0 * (a - a_prev);
        a_prev = a, f_prev = fa, d_prev = da;
        a = next;
    }
    /* Zoom inside the bracket [lo, hi]; lo always satisfies sufficient
     * decrease and has the lowest value seen. */
    for (size_t j = 0; j < budget; j++) {
        double a_t = cubic_step(lo, flo, dlo, hi, fhi, dhi);
        double dt;
        double ft = ls_eval(s, a_t, &dt);
        if (s->failed_eval) {
            s->failed_eval = false;
            hi = a_t, fhi = INFINITY, dhi = 0;
            continue;
        }
        if (ft > f0 + o->c1 * a_t * d0 || ft >= flo) {
            hi = a_t, fhi = ft, dhi = dt;
        } else {
            if (fabs(dt) <= -o->c2 * d0) {
                *fout = ft;
                return true;
            }
            if (dt * (hi - lo) >= 0) hi = lo, fhi = flo, dhi = dlo;
            lo = a_t, flo = ft, dlo = dt;
        }
        if (fabs(hi - lo) <= 1e-14 * fmax(1.0, fabs(lo))) break;
    }
    /* The curvature condition was not met within the budget; a point with
     * sufficient decrease is still progress. */
    if (lo > 0 && flo < f0) {
        double dd;
        *fout = ls_eval(s, lo, &dd);
        return !s->failed_eval && *fout < f0;
    }
    return false;
}

/* The (s, y) pairs of the last m steps, a ring whose newest pair is at
 * head - 1, with rho = 1 / s'y and gam = s'y / y'M^{-1}y of each. */
typedef struct lbfgs_memory {
    double *S, *Y, *rho, *gam, *alpha;
    size_t m, n, stored, head;
} lbfgs_memory;

/* p = -H g by the two-loop recursion. The initial inverse Hessian is
 * gamma * M^{-1}, with M the caller's preconditioner (identity if none) and
 * gamma from the newest pair. */
static void search_direction(lbfgs_memory *M, const double *g, double *p, const sl_lbfgs_config *opt) {
    const size_t n = M->n, m = M->m;
    for (size_t i = 0; i < n; i++) p[i] = -g[i];
    for (size_t k = 0; k < M->stored; k++) {
        size_t j = (M->head + m - 1 - k) % m;
        M->alpha[j] = M->rho[j] * dot(M->S + j * n, p, n);
        for (size_t i = 0; i < n; i++) p[i] -= M->alpha[j] * M->Y[j * n + i];
    }
    if (opt->precond) opt->precond(p, opt->precond_ctx);
    if (M->stored) {
        double gamma = M->gam[(M->head + m - 1) % m];
        for (size_t i = 0; i < n; i++) p[i] *= gamma;
    }
    for (size_t k = M->stored; k-- > 0;) {
        size_t j = (M->head + m - 1 - k) % m;
        double b = M->rho[j] * dot(M->Y + j * n, p, n);
        for (size_t i = 0; i < n; i++) p[i] += (M->alpha[j] - b) * M->S[j * n + i];
    }
}

/* Store s = x_new - x, y = g_new - g as the newest pair, kept when its
 * curvature is safely positive. tmp: n doubles of scratch. */
static void remember_step(lbfgs_memory *M, const double *x, const double *xt, const double *g, const double *gt,
                          double *tmp, const sl_lbfgs_config *opt) {
    const size_t n = M->n;
    double *sk = M->S + M->head * n, *yk = M->Y + M->head * n;
    for (size_t i = 0; i < n; i++) {
        sk[i] = xt[i] - x[i];
        yk[i] = gt[i] - g[i];
    }
    double sy = dot(sk, yk, n), yy = dot(yk, yk, n);
    double yhy = yy;
    if (opt->precond) {
        memcpy(tmp, yk, n * sizeof *tmp);
        opt->precond(tmp, opt->precond_ctx);
        yhy = dot(yk, tmp, n);
    }
    if (sy > 1e-12 * yy && yy > 0 && yhy > 0) {
        M->rho[M->head] = 1.0 / sy;
        M->gam[M->head] = sy / yhy;
        M->head = (M->head + 1) % M->m;
        if (M->stored < M->m) M->stored++;
    }
}

/* After iteration iter took f from fold down to f: whether to stop, and
 * why. The relative decrease is below ftol, or (the delta test over a
 * window, as in liblbfgs) progress over the last `past` iterations has
 * slowed to a crawl although each step still decreases f; hist is the ring
 * of the last past + 1 values. */
static bool progress_stalled(const sl_lbfgs_config *opt, double fold, double f, size_t iter, double *hist,
                             sl_lbfgs_stop *why) {
    if ((fold - f) <= opt->ftol * fmax(fmax(fabs(fold), fabs(f)), 1.0)) {
        *why = SL_LBFGS_FTOL;
        return true;
    }
    size_t past = opt->past;
    if (past) {
        hist[iter % (past + 1)] = f;
        if (iter >= past) {
            double fp = hist[(iter - past) % (past + 1)];
            if (fp - f <= opt->delta * fmax(fabs(f), 1e-300)) {
                *why = SL_LBFGS_PAST;
                return true;
            }
        }
    }
    return false;
}

sl_status sl_lbfgs_minimize(sl_lbfgs_fn fn, void *ctx, double *x, size_t n, const sl_lbfgs_config *opt,
                            sl_lbfgs_report *rep) {
    sl_lbfgs_config def;
    if (!opt) {
        sl_lbfgs_config_default(&def);
        opt = &def;
    }
    if (n == 0) return sl__fail(SL_ERR_ARG, "L-BFGS: no variables");
    if (opt->history == 0 || opt->max_linesearch == 0 || !(opt->c1 > 0 && opt->c1 < opt->c2 && opt->c2 < 1))
        return sl__fail(SL_ERR_ARG, "L-BFGS: need history >= 1, line-search budget >= 1 and 0 < c1 < c2 < 1");
    size_t m = opt->history, mn;
    if (!sl_size_mul(m, n, &mn) || mn > SIZE_MAX / 2) return sl__fail(SL_ERR_RANGE, "L-BFGS: history too large");
    size_t past = opt->past;
    double *buf = sl__malloc_array(2 * mn + 6 * n + 3 * m + past + 1, sizeof *buf, "L-BFGS state");
    if (!buf) return SL_ERR_NOMEM;
    lbfgs_memory M = {.S = buf, .Y = buf + mn, .m = m, .n = n};
    double *g = M.Y + mn, *p = g + n, *xt = p + n, *gt = xt + n, *x0 = gt + n, *tmp = x0 + n;
    M.rho = tmp + n, M.alpha = M.rho + m, M.gam = M.alpha + m;
    double *hist = M.gam + m; /* the last past + 1 values of f, a ring */
    sl_lbfgs_report r = {0};
    double f = fn(x, g, ctx);
    r.evaluations = 1;
    if (!isfinite(f)) {
        sl__free(buf);
        return sl__fail(SL_ERR_NUMERIC, "L-BFGS: objective is %g at the starting point", f);
    }
    if (past) hist[0] = f;
    r.stop = SL_LBFGS_MAXITER;
    for (;;) {
        r.gnorm = inf_norm(g, n);
        r.f = f;
        if (r.gnorm <= opt->gtol) {
            r.stop = SL_LBFGS_GTOL;
            break;
        }
        if (r.iterations >= opt->max_iter) break;
        if (opt->stop && *opt->stop) {
            sl__free(buf);
            return sl__fail(SL_ERR_INTERRUPTED, "L-BFGS: interrupted after %zu iterations", r.iterations);
        }
        search_direction(&M, g, p, opt);
        double d0 = dot(g, p, n);
        if (!(d0 < 0)) {
            /* Not a descent direction (rounding): restart from steepest descent. */
            M.stored = 0;
            for (size_t i = 0; i < n; i++) p[i] = -g[i];
            d0 = -dot(g, g, n);
        }
        double a1 = 1.0;
        if (M.stored == 0 && !opt->precond) {
            /* Plain gradient step: start with a step of length at most 1. */
            double pn = sqrt(dot(p, p, n));
            a1 = pn > 1 ? 1.0 / pn : 1.0;
        }
        memcpy(x0, x, n * sizeof *x);
        ls_state ls = {fn, ctx, n, x0, p, xt, gt, 0, false};
        double fnew;
        bool ok = line_search(&ls, opt, f, d0, a1, &fnew);
        r.evaluations += ls.evals;
        if (!ok) {
            if (M.stored > 0) {
                /* Retry once along steepest descent with a fresh memory. */
                M.stored = 0;
                continue;
            }
            r.stop = SL_LBFGS_LINESEARCH;
            break;
        }
        r.iterations++;
        remember_step(&M, x, xt, g, gt, tmp, opt);
        memcpy(x, xt, n * sizeof *x);
        memcpy(g, gt, n * sizeof *g);
        double fold = f;
        f = fnew;
        if (opt->callback) opt->callback(r.iterations, f, inf_norm(g, n), opt->callback_ctx);
        if (progress_stalled(opt, fold, f, r.iterations, hist, &r.stop)) {
            r.gnorm = inf_norm(g, n);
            r.f = f;
            break;
        }
    }
    sl__free(buf);
    if (rep) *rep = r;
    return SL_OK;
}

/* Geometry diagnostics of a set of embeddings: covariance spectrum and
 * effective rank, norm statistics, anisotropy, alignment and uniformity, and
 * per-class diameter and margin. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- spectrum ------------------------------------------------------------ */

double sl_geom_effective_rank(const double *eig, size_t d) {
    double sum = 0;
    for (size_t i = 0; i < d; i++) sum += eig[i] > 0 ? eig[i] : 0;
    if (!(sum > 0)) return 0;
    double h = 0;
    for (size_t i = 0; i < d; i++)
        if (eig[i] > 0) {
            double p = eig[i] / sum;
            h -= p * log(p);
        }
    return exp(h);
}

sl_status sl_geom_spectrum(const float *x, size_t n, size_t d, double *eig, double *erank) {
    size_t dd;
    if (!sl_size_mul(d, d, &dd)) return sl__fail(SL_ERR_RANGE, "spectrum: width %zu is too large", d);
    double *cov = sl__malloc_array(dd, sizeof *cov, "covariance");
    if (!cov) return SL_ERR_NOMEM;
    sl_status s = sl_covariance(x, n, d, 0, NULL, cov);
    if (s == SL_OK) s = sl_eigh(cov, d, eig, NULL);
    sl__free(cov);
    if (s == SL_OK && erank) *erank = sl_geom_effective_rank(eig, d);
    return s;
}

/* ---- norms --------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double row_norm(const float *r, size_t d) {
    double s = 0;
    for (size_t j = 0; j < d; j++) s += (double)r[j] * r[j];
    return sqrt(s);
}

sl_status sl_geom_norm_stats(const float *x, size_t n, size_t d, sl_geom_norms *out) {
    if (n == 0 || d == 0) return sl__fail(SL_ERR_ARG, "norm statistics: empty matrix (%zu x %zu)", n, d);
    double *nr = sl__malloc_array(n, sizeof *nr, "norms");
    if (!nr) return SL_ERR_NOMEM;
    sl_geom_norms s = {0};
    double sum = 0, sum2 = 0;
    for (size_t i = 0; i < n; i++) {
        nr[i] = row_norm(x + i * d, d);
        sum += nr[i];
        s.zero += nr[i] == 0;
    }
    s.mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) sum2 += (nr[i] - s.mean) * (nr[i] - s.mean);
    s.std = sqrt(sum2 / (double)n);
    qsort(nr, n, sizeof *nr, cmp_double);
    s.min = nr[0];
    s.max = nr[n - 1];
    s.median = n % 2 ? nr[n / 2] : 0.5 * (nr[n / 2 - 1] + nr[n / 2]);
    sl__free(nr);
    *out = s;
    return SL_OK;
}

/* ---- anisotropy ---------------------------------------------------------- */

static double cosine(const float *a, const float *b, size_t d) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t j = 0; j < d; j++) ab += (double)a[j] * b[j], aa += (double)a[j] * a[j], bb += (double)b[j] * b[j];
    return ab / sqrt(aa * bb);
}

sl_status sl_geom_anisotropy(const float *x, size_t n, size_t d, size_t npairs, uint64_t seed,
                             sl_geom_aniso *out) {
    if (d == 0) return sl__fail(SL_ERR_ARG, "anisotropy: width 0");
    size_t *live = sl__malloc_array(n ? n : 1, sizeof *live, "anisotropy");
    double *mu = sl__calloc(d, sizeof *mu);
    if (!live || !mu) {
        sl__free(live), sl__free(mu);
        return SL_ERR_NOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (row_norm(x + i * d, d) > 0) live[m++] = i;
    if (m < 2) {
        sl__free(live), sl__free(mu);
        return sl__fail(SL_ERR_ARG, "anisotropy: need at least 2 rows of nonzero norm, got %zu", m);
    }
    sl_geom_aniso r = {0};
    sl_rng rng;
    sl_rng_seed(&rng, seed, 0);
    double s = 0, s2 = 0;
    for (size_t p = 0; p < npairs; p++) {
        size_t i = (size_t)sl_rng_below(&rng, m), j = (size_t)sl_rng_below(&rng, m - 1);
        if (j >= i) j++;
        double c = cosine(x + live[i] * d, x + live[j] * d, d);
        s += c, s2 += c * c;
    }
    r.pairs = npairs;
    r.mean_cos = npairs ? s / (double)npairs : NAN;
    r.std_cos = npairs ? sqrt(fmax(0.0, s2 / (double)npairs - r.mean_cos * r.mean_cos)) : NAN;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < d; j++) mu[j] += x[live[i] * d + j];
    double mn = 0;
    for (size_t j = 0; j < d; j++) mn += mu[j] * mu[j];
    mn = sqrt(mn);
    double cm = 0;
    if (mn > 0)
        for (size_t i = 0; i < m; i++) {
            const float *xi = x + live[i] * d;
            double dot = 0;
            for (size_t j = 0; j < d; j++) dot += xi[j] * mu[j];
            cm += dot / (row_norm(xi, d) * mn);
        }
    r.mean_cos_to_mean = cm / (double)m;
    sl__free(live), sl__free(mu);
    *out = r;
    return SL_OK;
}

/* ---- alignment and uniformity ------------------------------------------- */

/* A unit-norm copy of x (rows of norm 0 stay 0). */
static float *unit_copy(const float *x, size_t n, size_t d) {
    size_t nd;
    if (!sl_size_mul(n, d, &nd)) return NULL;
    float *u = sl__malloc_array(nd, sizeof *u, "normalised rows");
    if (!u) return NULL;
    memcpy(u, x, nd * sizeof *u);
    sl_rows_normalize(u, n, d);
    return u;
}

static double sqdist(const float *a, const float *b, size_t d) {
    double s = 0;
    for (size_t j = 0; j < d; j++) {
        double t = (double)a[j] - b[j];
        s += t * t;
    }
    return s;
}

/* log mean exp of v[0..m) (all finite), stable. */
static double log_mean_exp(const double *v, size_t m) {
    double mx = -INFINITY;
    for (size_t i = 0; i < m; i++) mx = fmax(mx, v[i]);
    double s = 0;
    for (size_t i = 0; i < m; i++) s += exp(v[i] - mx);
    return mx + log(s / (double)m);
}

/* Exact uniformity of unit rows u over all pairs i < j, through the Gram
 * matrix: ||u_i - u_j||^2 = |u_i|^2 + |u_j|^2 - 2 u_i.u_j. The running
 * log-sum-exp uses the known maximum 0 of -t d^2 <= 0 as its shift, which
 * is safe because the largest term, exp(0) at d = 0, bounds the rest. */
#define UNIF_BLOCK 256
static sl_status uniformity_exact(const float *u, size_t n, size_t d, double t, double *out) {
    size_t nb = SL__MIN((size_t)UNIF_BLOCK, n);
    float *g = sl__malloc_array(nb * n, sizeof *g, "Gram block");
    float *sq = sl__malloc_array(n, sizeof *sq, "norms");
    if (!g || !sq) {
        sl__free(g), sl__free(sq);
        return SL_ERR_NOMEM;
    }
    sl_rows_sqnorms(u, n, d, sq);
    double sum = 0;
    for (size_t r0 = 0; r0 < n; r0 += nb) {
        size_t rows = SL__MIN(nb, n - r0);
        sl_gemm(false, true, rows, n, d, 1.0f, u + r0 * d, d, u, d, 0.0f, g, n);
        for (size_t i = 0; i < rows; i++)
            for (size_t j = r0 + i + 1; j < n; j++) {
                double d2 = (double)sq[r0 + i] + sq[j] - 2.0 * g[i * n + j];
                sum += exp(-t * fmax(d2, 0.0));
            }
    }
    sl__free(g), sl__free(sq);
    double pairs = 0.5 * (double)n * (double)(n - 1);
    *out = log(sum / pairs);
    return SL_OK;
}

sl_status sl_geom_align_uniform(const float *a, const float *b, size_t n, size_t d, double t, double *align,
                                double *uniform) {
    if (n < 2 || d == 0) return sl__fail(SL_ERR_ARG, "alignment/uniformity: need at least 2 rows, got %zu", n);
    float *ua = unit_copy(a, n, d), *ub = unit_copy(b, n, d);
    if (!ua || !ub) {
        sl__free(ua), sl__free(ub);
        return sl__fail(SL_ERR_NOMEM, "alignment/uniformity: out of memory for %zu x %zu", n, d);
    }
    double al = 0;
    for (size_t i = 0; i < n; i++) al += sqdist(ua + i * d, ub + i * d, d);
    double u1 = 0, u2 = 0;
    sl_status s = uniformity_exact(ua, n, d, t, &u1);
    if (s == SL_OK) s = uniformity_exact(ub, n, d, t, &u2);
    sl__free(ua), sl__free(ub);
    if (s != SL_OK) return s;
    *align = al / (double)n;
    *uniform = 0.5 * (u1 + u2);
    return SL_OK;
}

sl_status sl_geom_alignment_pairs(const float *x, size_t n, size_t d, const int64_t *pairs, size_t npairs,
                                  double *align) {
    if (npairs == 0) return sl__fail(SL_ERR_ARG, "alignment: no pairs given");
    for (size_t p = 0; p < 2 * npairs; p++)
        if (pairs[p] < 0 || (uint64_t)pairs[p] >= n)
            return sl__fail(SL_ERR_RANGE, "alignment: pair %zu refers to row %lld, but there are %zu rows", p / 2,
                            (long long)pairs[p], n);
    double s = 0;
    for (size_t p = 0; p < npairs; p++) {
        const float *a = x + (size_t)pairs[2 * p] * d, *b = x + (size_t)pairs[2 * p + 1] * d;
        double na = row_norm(a, d), nb = row_norm(b, d), dd = 0;
        na = na > 0 ? na : 1, nb = nb > 0 ? nb : 1;
        for (size_t j = 0; j < d; j++) {
            double t = a[j] / na - b[j] / nb;
            dd += t * t;
        }
        s += dd;
    }
    *align = s / (double)npairs;
    return SL_OK;
}

/* Rows sorted by label, for drawing same-label pairs. */
typedef struct by_label {
    size_t row;
    int64_t label;
} by_label;

static int cmp_by_label(const void *a, const void *b) {
    const by_label *x = a, *y = b;
    if (x->label != y->label) return x->label < y->label ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

sl_status sl_geom_alignment_labels(const float *x, size_t n, size_t d, const int64_t *labels, size_t max_pairs,
                                   uint64_t seed, double *align, size_t *pairs_used) {
    by_label *r = sl__malloc_array(n ? n : 1, sizeof *r, "labels");
    if (!r) return SL_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) r[i].row = i, r[i].label = labels[i];
    qsort(r, n, sizeof *r, cmp_by_label);
    /* Total number of same-label pairs, and the group boundaries. */
    double total = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && r[j].label == r[i].label) j++;
        total += 0.5 * (double)(j - i) * (double)(j - i - 1);
        i = j;
    }
    if (total < 1) {
        sl__free(r);
        return sl__fail(SL_ERR_ARG, "alignment: no label occurs twice among %zu rows", n);
    }
    double s = 0;
    size_t used = 0;
    if (total <= (double)max_pairs) {
        for (size_t i = 0; i < n;) {
            size_t j = i;
            while (j < n && r[j].label == r[i].label) j++;
            for (size_t a = i; a < j; a++)
                for (size_t b = a + 1; b < j; b++) {
                    int64_t pr[2] = {(int64_t)r[a].row, (int64_t)r[b].row};
                    double v;
                    sl_geom_alignment_pairs(x, n, d, pr, 1, &v);
                    s += v, used++;
                }
            i = j;
        }
    } else {
        /* Draw a row uniformly among rows whose label occurs twice, then a
         * different row of its label: pairs weighted by group size, as a
         * per-sample positive would be. */
        sl_rng rng;
        sl_rng_seed(&rng, seed, 0);
        size_t *start = sl__malloc_array(n, sizeof *start, "labels"), *end = sl__malloc_array(n, sizeof *end, "labels");
        size_t *ok = sl__malloc_array(n, sizeof *ok, "labels"), m = 0;
        if (!start || !end || !ok) {
            sl__free(start), sl__free(end), sl__free(ok), sl__free(r);
            return SL_ERR_NOMEM;
        }
        for (size_t i = 0; i < n;) {
            size_t j = i;
            while (j < n && r[j].label == r[i].label) j++;
            for (size_t a = i; a < j; a++) start[a] = i, end[a] = j;
            if (j - i >= 2)
                for (size_t a = i; a < j; a++) ok[m++] = a;
            i = j;
        }
        for (size_t p = 0; p < max_pairs; p++) {
            size_t a = ok[sl_rng_below(&rng, m)];
            size_t g = end[a] - start[a];
            size_t b = start[a] + (size_t)sl_rng_below(&rng, g - 1);
            if (b >= a) b++;
            int64_t pr[2] = {(int64_t)r[a].row, (int64_t)r[b].row};
            double v;
            sl_geom_alignment_pairs(x, n, d, pr, 1, &v);
            s += v, used++;
        }
        sl__free(start), sl__free(end), sl__free(ok);
    }
    sl__free(r);
    *align = s / (double)used;
    if (pairs_used) *pairs_used = used;
    return SL_OK;
}

sl_status sl_geom_uniformity(const float *x, size_t n, size_t d, double t, size_t max_pairs, uint64_t seed,
                             double *uniform, size_t *pairs_used) {
    if (n < 2 || d == 0) return sl__fail(SL_ERR_ARG, "uniformity: need at least 2 rows, got %zu", n);
    double total = 0.5 * (double)n * (double)(n - 1);
    if (total <= (double)max_pairs) {
        float *u = unit_copy(x, n, d);
        if (!u) return sl__fail(SL_ERR_NOMEM, "uniformity: out of memory for %zu x %zu", n, d);
        sl_status s = uniformity_exact(u, n, d, t, uniform);
        sl__free(u);
        if (s == SL_OK && pairs_used) *pairs_used = (size_t)total;
        return s;
    }
    double *v = sl__malloc_array(max_pairs ? max_pairs : 1, sizeof *v, "uniformity");
    if (!v) return SL_ERR_NOMEM;
    sl_rng rng;
    sl_rng_seed(&rng, seed, 1);
    for (size_t p = 0; p < max_pairs; p++) {
        size_t i = (size_t)sl_rng_below(&rng, n), j = (size_t)sl_rng_below(&rng, n - 1);
        if (j >= i) j++;
        int64_t pr[2] = {(int64_t)i, (int64_t)j};
        double a;
        sl_geom_alignment_pairs(x, n, d, pr, 1, &a);
        v[p] = -t * a;
    }
    *uniform = max_pairs ? log_mean_exp(v, max_pairs) : NAN;
    if (pairs_used) *pairs_used = max_pairs;
    sl__free(v);
    return SL_OK;
}

/* ---- class diameter and margin ------------------------------------------ */

#define CLASS_BLOCK 256

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

sl_status sl_geom_class_geometry(const float *x, size_t n, size_t d, const int64_t *labels, sl_geom_class **classes,
                                 size_t *kout) {
    if (n < 2 || d == 0) return sl__fail(SL_ERR_ARG, "class geometry: need at least 2 rows, got %zu", n);
    size_t nb = SL__MIN((size_t)CLASS_BLOCK, n), bn;
    if (!sl_size_mul(nb, n, &bn)) return sl__fail(SL_ERR_RANGE, "class geometry: %zu rows is too many", n);
    int64_t *cls = sl__malloc_array(n, sizeof *cls, "labels");
    size_t *cid = sl__malloc_array(n, sizeof *cid, "labels");
    float *g = sl__malloc_array(bn, sizeof *g, "distance block"), *sq = sl__malloc_array(n, sizeof *sq, "norms");
    /* Per row: the farthest row of its class and the nearest row of another. */
    size_t *far = sl__malloc_array(n, sizeof *far, "class geometry");
    size_t *near = sl__malloc_array(n, sizeof *near, "class geometry");
    float *farv = sl__malloc_array(n, sizeof *farv, "class geometry");
    float *nearv = sl__malloc_array(n, sizeof *nearv, "class geometry");
    sl_geom_class *out = NULL;
    sl_status st = SL_ERR_NOMEM;
    if (!cls || !cid || !g || !sq || !far || !near || !farv || !nearv) goto done;
    memcpy(cls, labels, n * sizeof *cls);
    qsort(cls, n, sizeof *cls, cmp_i64);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || cls[i] != cls[k - 1]) cls[k++] = cls[i];
    if (k < 2) {
        st = sl__fail(SL_ERR_ARG, "class geometry: all %zu rows have the same label (%lld); need 2 classes", n,
                      (long long)cls[0]);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const int64_t *p = bsearch(&labels[i], cls, k, sizeof *cls, cmp_i64);
        cid[i] = (size_t)(p - cls);
        far[i] = near[i] = SIZE_MAX;
        farv[i] = -1.0f;
        nearv[i] = INFINITY;
    }
    sl_rows_sqnorms(x, n, d, sq);
    for (size_t r0 = 0; r0 < n; r0 += nb) {
        size_t rows = SL__MIN(nb, n - r0);
        sl_gemm(false, true, rows, n, d, 1.0f, x + r0 * d, d, x, d, 0.0f, g, n);
        for (size_t i = 0; i < rows; i++) {
            size_t ii = r0 + i, ci = cid[ii];
            const float *gi = g + i * n;
            float fv = farv[ii], nv = nearv[ii];
            size_t fj = far[ii], nj = near[ii];
            for (size_t j = 0; j < n; j++) {
                if (j == ii) continue;
                float d2 = sq[ii] + sq[j] - 2.0f * gi[j];
                if (cid[j] == ci) {
                    if (d2 > fv) fv = d2, fj = j;
                } else if (d2 < nv) {
                    nv = d2, nj = j;
                }
            }
            farv[ii] = fv, nearv[ii] = nv, far[ii] = fj, near[ii] = nj;
        }
    }
    out = sl__calloc(k, sizeof *out);
    if (!out) goto done;
    for (size_t c = 0; c < k; c++) {
        out[c].label = cls[c];
        out[c].margin = INFINITY;
    }
    /* The candidates came from float Gram products; their distances are
     * recomputed exactly in double. */
    for (size_t i = 0; i < n; i++) {
        sl_geom_class *o = &out[cid[i]];
        o->count++;
        if (far[i] != SIZE_MAX) {
            double v = sqrt(sqdist(x + i * d, x + far[i] * d, d));
            if (v > o->diameter) o->diameter = v;
        }
        if (near[i] != SIZE_MAX) {
            double v = sqrt(sqdist(x + i * d, x + near[i] * d, d));
            if (v < o->margin) o->margin = v, o->nearest_label = labels[near[i]];
        }
    }
    for (size_t c = 0; c < k; c++) out[c].separated = out[c].margin > out[c].diameter;
    *classes = out;
    *kout = k;
    out = NULL;
    st = SL_OK;
done:
    if (st == SL_ERR_NOMEM) sl__fail(SL_ERR_NOMEM, "class geometry: out of memory for %zu rows", n);
    sl__free(out);
    sl__free(cls), sl__free(cid), sl__free(g), sl__free(sq), sl__free(far), sl__free(near), sl__free(farv),
        sl__free(nearv);
    return st;
}

/* Exact top-k search: blocked float32 (sl_gemm) or bf16 (oneDNN) products
 * for the query-base scores, a proven bound on each score's error, per-query
 * heaps and lists fed by a vectorised scan of each score block, then an exact
 * re-scoring of the rows that may be in the top k, so ids, scores and order
 * are the naive search's whatever the products' precision and rounding. Also
 * the naive twin used by the tests. */
#include "index_internal.h"
#include "testing.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

void sl__heap_replace_top(sl__heap *h, float v, int64_t id) {
    size_t i = 0, n = h->cap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        float mv = v;
        int64_t mid = id;
        if (l < n && (h->v[l] > mv || (h->v[l] == mv && h->id[l] > mid))) m = l, mv = h->v[l], mid = h->id[l];
        if (r < n && (h->v[r] > mv || (h->v[r] == mv && h->id[r] > mid))) m = r;
        if (m == i) break;
        h->v[i] = h->v[m];
        h->id[i] = h->id[m];
        i = m;
    }
    h->v[i] = v;
    h->id[i] = id;
}

typedef sl__cand cand;

void sl__cand_emit(cand *buf, size_t c, size_t k, sl_metric m, int64_t *ids, float *scores) {
    qsort(buf, c, sizeof *buf, sl__cand_cmp);
    for (size_t t = 0; t < k; t++) {
        ids[t] = t < c ? buf[t].id : -1;
        scores[t] = t < c ? (float)(m == SL_METRIC_L2 ? buf[t].key : -buf[t].key) : NAN;
    }
}

int sl__cand_cmp(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->key < y->key) return -1;
    if (x->key > y->key) return 1;
    return (x->id > y->id) - (x->id < y->id);
}

static sl_status check_args(size_t n, size_t d, size_t nq, size_t dq, const sl_flat_config *cfg) {
    if (!cfg) return sl__fail(SL_ERR_ARG, "exact search: no configuration given");
    if (cfg->metric != SL_METRIC_L2 && cfg->metric != SL_METRIC_IP && cfg->metric != SL_METRIC_COSINE)
        return sl__fail(SL_ERR_ARG, "exact search: unknown metric %d", (int)cfg->metric);
    if (n == 0) return sl__fail(SL_ERR_ARG, "exact search: the base is empty (0 vectors)");
    if (nq == 0) return sl__fail(SL_ERR_ARG, "exact search: there are no queries (0 vectors)");
    if (d == 0) return sl__fail(SL_ERR_ARG, "exact search: vectors have 0 dimensions");
    if (dq != d)
        return sl__fail(SL_ERR_ARG, "exact search: the queries have %zu dimensions but the base has %zu", dq, d);
    if (cfg->k == 0) return sl__fail(SL_ERR_ARG, "exact search: k must be at least 1");
    if ((unsigned)cfg->screen > SL_FLAT_SCREEN_BF16)
        return sl__fail(SL_ERR_ARG, "exact search: unknown screen %d", (int)cfg->screen);
    if (cfg->exclude_self && (cfg->query_offset > n || nq > n - cfg->query_offset))
        return sl__fail(SL_ERR_ARG,
                        "exact search: self-search needs the queries to be base rows (%zu queries from row %zu, %zu base)",
                        nq, cfg->query_offset, n);
    size_t avail = cfg->exclude_self ? n - 1 : n;
    if (cfg->k > avail)
        return sl__fail(SL_ERR_RANGE, "exact search: k = %zu but only %zu base vectors can be returned%s", cfg->k,
                        avail, cfg->exclude_self ? " (self excluded)" : "");
    return SL_OK;
}

double sl__exact_key(sl_metric m, const float *q, const float *x, size_t d, double qnorm, double xnorm) {
    if (m == SL_METRIC_L2) return (double)sl__l2sq(q, x, d);
    double ip = sl__dot_d(q, x, d);
    if (m == SL_METRIC_IP) return -ip;
    return qnorm > 0 && xnorm > 0 ? -ip / (qnorm * xnorm) : -0.0;
}

static const char *const screen_names[] = {"auto", "fp32", "bf16"};

const char *sl_flat_screen_name(sl_flat_screen s) {
    return (unsigned)s < 3 ? screen_names[s] : "?";
}

sl_status sl_flat_screen_parse(const char *name, sl_flat_screen *out) {
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, screen_names[i]) == 0) {
            *out = (sl_flat_screen)i;
            return SL_OK;
        }
    return sl__fail(SL_ERR_ARG, "exact search: unknown screen '%s' (expected auto, fp32 or bf16)", name ? name : "");
}

bool sl_flat_bf16_available(void) { return sl__bf16_available(); }

void sl_flat_config_default(sl_flat_config *c) {
    memset(c, 0, sizeof *c);
    c->metric = SL_METRIC_L2;
    c->k = 10;
}

/* ---- the screen -----------------------------------------------------------
 * Every (query, base row) pair gets a screening estimate v of its exact key
 * from a float32 (sl_gemm) or bfloat16 (oneDNN) product, and a bound e on
 * |v - key| from per-row norms. Per query, a heap keeps the k smallest upper
 * bounds v + e, whose largest is T, and a list keeps every row whose lower
 * bound v - e is at most T at the time it is seen. A row whose lower bound
 * is above the final T has a larger exact key than k other rows, so it
 * cannot be in the top k: the list, re-scored exactly, holds the exact top
 * k, ties by id included (keys that can tie have overlapping bounds). The
 * answer is therefore the naive twin's whatever the product's precision,
 * rounding, blocking or thread count.
 *
 * The bound, with u = 2^-24 and g = K u / (1 - K u) (float32 sums of K exact
 * or rounded products, in any order): for a screened query q~ and row x~
 * (q and x themselves in float32, their bf16 roundings in bf16),
 *   |c - <q, x>| <= |q~ - q| |x~| + |q| |x~ - x| + g |q~| |x~|
 * where c is the product's value; the float32 arithmetic that turns c into v
 * and the bound into lo and hi adds a few u of the terms it touches, covered
 * by the 16 u below and a 1% inflation. L2's exact key (sl__l2sq, float32
 * sums of d terms) is within (d + 16) u of the true distance, so its bounds
 * are widened by that factor; IP's and cosine's exact keys are double sums,
 * within 4 u. Near zero, float32 sums lose up to 2^-150 per operation and
 * bf16 products on these instructions flush subnormal values to zero: an
 * absolute term of K 2^-100 (1 + |q~|)(1 + |x~|) covers both. */

#define SCREEN_U 5.9604644775390625e-8 /* 2^-24 */

/* The default score block: 16 MiB. Larger blocks are fresh memory on every
 * call, and on the machines measured its first touch (page faults) cost more
 * than the larger products saved. */
#define SL__FLAT_BLOCK ((size_t)16 << 20)

/* Per-row terms: aux as the key needs it (L2 |x|^2, cosine 1/|x|, IP 0), and
 * the bound's norms p = w |x~|, r = w |x~ - x| with w = 1/|x| for cosine and
 * 1 otherwise. */
typedef struct {
    float *aux, *p, *r;
    double *bnorm;     /* cosine: |x| */
    uint16_t *xb;      /* the rows in bf16, or NULL for float32 */
} screen_rows;

/* Per-query coefficients: e = a p + b r + c1 aux + c0; v = aux - 2 c + qn2
 * (L2), -c (IP), -c aux (cosine); lo = (v - e) mlo, hi = (v + e) mhi. */
typedef struct {
    float a, b, c1, c0, qn2, mlo, mhi;
} screen_q;

/* A query's list of rows that may be in its top k; it grows when near-ties
 * fill it (at most to every row). */
typedef struct {
    float *lo;
    int64_t *id;
    size_t n, cap;
    bool nomem; /* growing it failed */
} screen_list;

typedef struct {
    int64_t *ids;   /* with scores; or NULL */
    float *scores;
    cand *cands;    /* or NULL */
    size_t k;       /* per query; fewer found than k are padded with id -1 */
    size_t need;    /* fewer found than this is an overflow */
    size_t avail;   /* base rows a query can return */
    int64_t id0;    /* the id of base row 0 */
} flat_out;

static double norm_d(const float *x, size_t d) { return sqrt(sl__dot_d(x, x, d)); }

/* |x|^2, and for b (x rounded to bf16, or NULL) |b - x| and |b|, in double
 * sums in any order (their rounding is far below the 4 u that up() adds). */
static double row_norms(const float *x, const uint16_t *b, size_t d, double *diff, double *norm) {
    double s = 0, e = 0, t = 0;
    if (!b) {
#pragma omp simd reduction(+ : s)
        for (size_t i = 0; i < d; i++) s += (double)x[i] * x[i];
        *diff = 0, *norm = sqrt(s);
        return s;
    }
#pragma omp simd reduction(+ : s, e, t)
    for (size_t i = 0; i < d; i++) {
        float y = sl__bf16_value(b[i]);
        double xv = x[i], dv = (double)y - xv;
        s += xv * xv, e += dv * dv, t += (double)y * y;
    }
    *diff = sqrt(e), *norm = sqrt(t);
    return s;
}

/* Rounded up a little, so that float storage never shrinks a bound. */
static float up(double v) { return (float)(v * (1 + 4 * SCREEN_U)); }

static void screen_rows_fill(sl_metric m, const float *base, size_t n, size_t d, screen_rows *R) {
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < n; j++) {
        const float *x = base + j * d;
        uint16_t *b = R->xb ? R->xb + j * d : NULL;
        if (b) sl__bf16_round(x, d, b);
        double diff, nb, s = row_norms(x, b, d, &diff, &nb), nx = sqrt(s), w = 1;
        if (m == SL_METRIC_L2)
            R->aux[j] = (float)s;
        else if (m == SL_METRIC_COSINE) {
            /* The exact key's norm: sl__dot_d's sum, in its order, as the
             * naive search computes it, so that near-ties break alike. */
            R->bnorm[j] = norm_d(x, d);
            R->aux[j] = s > 0 ? (float)(1.0 / nx) : 0.0f;
            w = s > 0 ? 1.0 / nx : 0;
        } else
            R->aux[j] = 0;
        R->p[j] = up(w * nb), R->r[j] = up(w * diff);
    }
}

static screen_q screen_query(sl_metric m, const float *q, const uint16_t *qb, size_t d) {
    double diff, nqb, nq = sqrt(row_norms(q, qb, d, &diff, &nqb));
    const double u = SCREEN_U, g = (double)d * u / (1 - (double)d * u), infl = 1.01;
    /* Underflow (float32's gradual, bf16's flush to zero): at most
     * d 2^-100 (1 + |q~|) (1 + |x~|) in c, and far more than the rounding
     * of the other terms' values near zero. */
    double f = (double)d * 0x1p-100 * (1 + nqb);
    screen_q t = {.mlo = 1, .mhi = 1};
    if (m == SL_METRIC_L2) {
        double eta = ((double)d + 16) * u / (1 - ((double)d + 16) * u) + 4 * u;
        t.a = up(infl * (2 * diff + (2 * g + 16 * u) * nqb + 2 * f));
        t.b = up(infl * 2 * nq);
        t.c1 = up(infl * 8 * u);
        t.qn2 = (float)(nq * nq);
        t.c0 = up(infl * (8 * u * nq * nq + 2 * f));
        t.mlo = (float)(1 - eta), t.mhi = up(1 + eta);
    } else {
        t.a = up(infl * (diff + (g + 16 * u) * nqb + f));
        t.b = up(infl * nq);
        /* The flush term's constant part, times 1/|x| (aux) for cosine. */
        if (m == SL_METRIC_COSINE)
            t.c1 = up(infl * f);
        else
            t.c0 = up(infl * f);
    }
    return t;
}

/* Keep the list's rows with lo <= thr; when that leaves it more than half
 * full, double its room (so that compaction stays rare). False when out of
 * memory. */
static bool list_make_room(screen_list *L, float thr) {
    size_t c = 0;
    for (size_t t = 0; t < L->n; t++)
        if (L->lo[t] <= thr) L->lo[c] = L->lo[t], L->id[c] = L->id[t], c++;
    L->n = c;
    if (c <= L->cap / 2) return true;
    size_t cap = 2 * L->cap;
    float *lo = sl__realloc(L->lo, cap * sizeof *lo);
    if (!lo) return false;
    L->lo = lo;
    int64_t *id = sl__realloc(L->id, cap * sizeof *id);
    if (!id) return false;
    L->id = id, L->cap = cap;
    return true;
}

/* One screened (query, row) pair: into the heap of upper bounds when it
 * beats its worst, into the list when its lower bound is within the heap's
 * worst. */
static void screen_take(sl__heap *h, screen_list *L, float lo, float hi, int64_t id) {
    if (hi < h->v[0]) sl__heap_replace_top(h, hi, id);
    if (!(lo <= h->v[0]) || L->nomem) return;
    if (L->n == L->cap && !list_make_room(L, h->v[0])) {
        L->nomem = true;
        return;
    }
    L->lo[L->n] = lo, L->id[L->n] = id, L->n++;
}

static inline void screen_bounds(sl_metric m, const screen_q *t, float c, float aux, float p, float r, float *lo,
                                 float *hi) {
    float v = m == SL_METRIC_L2 ? aux - 2.0f * c + t->qn2 : m == SL_METRIC_IP ? -c : -c * aux;
    float e = t->a * p + t->b * r + t->c1 * aux + t->c0;
    *lo = (v - e) * t->mlo, *hi = (v + e) * t->mhi;
}

/* Fold one row of the score block (c[j] for base rows id0 + j) into the
 * query's heap and list. */
static void screen_row(sl_metric m, const screen_q *t, const float *c, const screen_rows *R, size_t b0, size_t nb,
                       sl__heap *h, screen_list *L) {
    const float *aux = R->aux + b0, *p = R->p + b0, *r = R->r + b0;
    size_t j = 0;
#if defined(__AVX512F__)
    const __m512 va = _mm512_set1_ps(t->a), vb = _mm512_set1_ps(t->b), vc1 = _mm512_set1_ps(t->c1),
                 vc0 = _mm512_set1_ps(t->c0), vq = _mm512_set1_ps(t->qn2), vml = _mm512_set1_ps(t->mlo),
                 m2 = _mm512_set1_ps(-2.0f);
    for (; j + 16 <= nb; j += 16) {
        __m512 cv = _mm512_loadu_ps(c + j), xa = _mm512_loadu_ps(aux + j), v;
        if (m == SL_METRIC_L2)
            v = _mm512_add_ps(_mm512_fmadd_ps(cv, m2, xa), vq);
        else if (m == SL_METRIC_IP)
            v = _mm512_sub_ps(_mm512_setzero_ps(), cv);
        else
            v = _mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(cv, xa));
        __m512 e = _mm512_fmadd_ps(va, _mm512_loadu_ps(p + j),
                                   _mm512_fmadd_ps(vb, _mm512_loadu_ps(r + j), _mm512_fmadd_ps(vc1, xa, vc0)));
        __m512 lo = _mm512_mul_ps(_mm512_sub_ps(v, e), vml);
        __mmask16 k = _mm512_cmp_ps_mask(lo, _mm512_set1_ps(h->v[0]), _CMP_LE_OQ);
        while (k) {
            size_t b = (size_t)__builtin_ctz(k);
            k &= (__mmask16)(k - 1);
            float l, hi;
            screen_bounds(m, t, c[j + b], aux[j + b], p[j + b], r[j + b], &l, &hi);
            screen_take(h, L, l, hi, (int64_t)(b0 + j + b));
        }
    }
#endif
    for (; j < nb; j++) {
        float lo, hi;
        screen_bounds(m, t, c[j], aux[j], p[j], r[j], &lo, &hi);
        if (lo <= h->v[0]) screen_take(h, L, lo, hi, (int64_t)(b0 + j));
    }
}

/* The exact re-scoring of one query's list and its final (key, id) order
 * into out's row qi; false when fewer than out->need were found. */
static bool finish_query(sl_metric m, const float *q, const float *base, size_t d, const double *bnorm,
                         const screen_list *L, float thr, cand *cb, const flat_out *out, size_t qi) {
    double qnorm = m == SL_METRIC_COSINE ? norm_d(q, d) : 0;
    size_t c = 0;
    for (size_t t = 0; t < L->n; t++) {
        if (!(L->lo[t] <= thr)) continue;
        int64_t j = L->id[t];
        cb[c].id = out->id0 + j;
        cb[c].key = sl__exact_key(m, q, base + (size_t)j * d, d, qnorm, bnorm ? bnorm[j] : 0);
        c++;
    }
    if (c < out->need) return false;
    qsort(cb, c, sizeof *cb, sl__cand_cmp);
    for (size_t t = 0; t < out->k; t++) {
        bool have = t < c;
        if (out->cands) {
            out->cands[qi * out->k + t] = have ? cb[t] : (cand){INFINITY, -1};
        } else {
            out->ids[qi * out->k + t] = have ? cb[t].id : -1;
            out->scores[qi * out->k + t] = have ? (float)(m == SL_METRIC_L2 ? cb[t].key : -cb[t].key) : NAN;
        }
    }
    return true;
}

/* Everything the screen works with. */
typedef struct {
    const float *base, *queries;
    size_t n, d, qb, nb, kh, cap0;
    const sl_flat_config *cfg;
    const flat_out *out;
    screen_rows rows;
    float *C;           /* score block (the float32 products read the queries in place) */
    uint16_t *Qb;       /* query block (bf16) */
    float *hv;          /* heaps (qb x kh) */
    int64_t *hid;
    screen_q *qt;       /* per query of the block */
    screen_list *lists; /* per query of the block */
    cand **cbuf;        /* per thread, grown to the longest list */
    size_t *cbcap;
} screen_ctx;

/* The products of queries q0 .. q0 + qn with base rows b0 .. b0 + bn. */
static sl_status screen_product(screen_ctx *x, size_t q0, size_t qn, size_t b0, size_t bn) {
    if (x->rows.xb)
        return sl__gemm_bf16_nt(qn, bn, x->d, x->Qb, x->d, x->rows.xb + b0 * x->d, x->d, x->C, bn);
    sl_gemm(false, true, qn, bn, x->d, 1.0f, x->queries + q0 * x->d, x->d, x->base + b0 * x->d, x->d, 0.0f, x->C, bn);
    return SL_OK;
}

/* The start of a block of queries: their terms, heaps and lists. */
static bool block_start(screen_ctx *x, size_t q0, size_t qn) {
    const size_t d = x->d, kh = x->kh;
    bool ok = true;
#pragma omp parallel for schedule(static) reduction(&& : ok)
    for (size_t i = 0; i < qn; i++) {
        const float *q = x->queries + (q0 + i) * d;
        if (x->rows.xb) sl__bf16_round(q, d, x->Qb + i * d);
        x->qt[i] = screen_query(x->cfg->metric, q, x->rows.xb ? x->Qb + i * d : NULL, d);
        for (size_t t = 0; t < kh; t++) x->hv[i * kh + t] = INFINITY, x->hid[i * kh + t] = INT64_MAX;
        screen_list *L = &x->lists[i];
        *L = (screen_list){sl__malloc_array(x->cap0, sizeof(float), "exact search: candidate lists"),
                           sl__malloc_array(x->cap0, sizeof(int64_t), "exact search: candidate lists"), 0, x->cap0,
                           false};
        if (!L->lo || !L->id) L->nomem = true, ok = false;
    }
    return ok;
}

/* The exact re-scoring of a block's lists; false (in *fine) when a query
 * found fewer rows than it needs. */
static bool block_finish(screen_ctx *x, size_t q0, size_t qn, bool *fine) {
    bool ok = true, enough = true;
#pragma omp parallel for schedule(static) reduction(&& : ok, enough)
    for (size_t i = 0; i < qn; i++) {
        screen_list *L = &x->lists[i];
        int t = omp_get_thread_num();
        if (L->n > x->cbcap[t]) {
            cand *nb = sl__realloc(x->cbuf[t], L->n * sizeof *nb);
            if (nb) x->cbuf[t] = nb, x->cbcap[t] = L->n;
        }
        if (L->nomem || L->n > x->cbcap[t])
            ok = false;
        else if (!finish_query(x->cfg->metric, x->queries + (q0 + i) * x->d, x->base, x->d, x->rows.bnorm, L,
                               x->hv[i * x->kh], x->cbuf[t], x->out, q0 + i))
            enough = false;
        sl__free(L->lo), sl__free(L->id);
        L->lo = NULL, L->id = NULL;
    }
    *fine = enough;
    return ok;
}

static sl_status screen_run(screen_ctx *x, size_t nq, bool *overflow) {
    const sl_metric m = x->cfg->metric;
    const size_t kh = x->kh;
    for (size_t q0 = 0; q0 < nq; q0 += x->qb) {
        size_t qn = SL__MIN(x->qb, nq - q0);
        sl_status ps = SL_OK;
        bool ok = block_start(x, q0, qn);
        for (size_t b0 = 0; ok && !ps && b0 < x->n; b0 += x->nb) {
            size_t bn = SL__MIN(x->nb, x->n - b0);
            if ((ps = screen_product(x, q0, qn, b0, bn))) break;
#pragma omp parallel for schedule(static)
            for (size_t i = 0; i < qn; i++) {
                float *row = x->C + i * bn;
                int64_t self = (int64_t)(x->cfg->query_offset + q0 + i) - x->out->id0;
                /* -inf turns into bounds of +inf (or NaN for a zero cosine
                 * norm), which never pass the tests. */
                if (x->cfg->exclude_self && self >= (int64_t)b0 && self < (int64_t)(b0 + bn))
                    row[self - (int64_t)b0] = -INFINITY;
                sl__heap h = {x->hv + i * kh, x->hid + i * kh, kh};
                screen_row(m, &x->qt[i], row, &x->rows, b0, bn, &h, &x->lists[i]);
            }
        }
        bool fine = true;
        ok = block_finish(x, q0, qn, &fine) && ok;
        if (ps) return ps;
        if (!ok) return sl__fail(SL_ERR_NOMEM, "exact search: out of memory for the candidate lists");
        *overflow |= !fine;
        if (x->cfg->progress) sl_progress_update(x->cfg->progress, q0 + qn, NULL);
    }
    return SL_OK;
}

/* Whether the bf16 screen is used: asked for, or (auto) a product large
 * enough that converting the base pays, when the instructions are there. */
static bool use_bf16(const sl_flat_config *cfg, size_t n, size_t d, size_t nq) {
    if (cfg->screen == SL_FLAT_SCREEN_FP32) return false;
    if (cfg->screen == SL_FLAT_SCREEN_AUTO && ((double)n * (double)nq * (double)d < 0x1p30 || d < 32)) return false;
    return sl__bf16_available();
}

static void screen_free(screen_ctx *x) {
    int nthreads = omp_get_max_threads();
    for (int t = 0; x->cbuf && t < nthreads; t++) sl__free(x->cbuf[t]);
    sl__free(x->C), sl__free(x->Qb), sl__free(x->hv), sl__free(x->hid), sl__free(x->qt);
    sl__free(x->lists), sl__free(x->cbuf), sl__free(x->cbcap);
    sl__free(x->rows.aux), sl__free(x->rows.p), sl__free(x->rows.r), sl__free(x->rows.bnorm), sl__free(x->rows.xb);
}

/* The search proper, on checked arguments. With exclude_self, query i is
 * base id query_offset + i, which is row (query_offset + i - id0) here when
 * this base holds it. */
static sl_status flat_core(const float *base, size_t n, size_t d, const float *queries, size_t nq,
                           const sl_flat_config *cfg, const flat_out *out) {
    const sl_metric m = cfg->metric;
    screen_ctx x = {.base = base, .queries = queries, .n = n, .d = d, .cfg = cfg, .out = out};
    x.kh = SL__MAX((size_t)1, SL__MIN(out->avail, out->k));
    x.cap0 = 4 * x.kh + 64;

    /* Block shapes: a query block of up to 512 rows keeps the products near
     * peak; the base block takes what the budget leaves (at least 1024 rows). */
    size_t budget = cfg->max_block_bytes ? cfg->max_block_bytes : (size_t)SL__FLAT_BLOCK;
    size_t floats = SL__MAX(budget / sizeof(float), (size_t)16 * 1024);
    size_t qb_target = SL__MIN(nq, (size_t)512);
    x.nb = SL__MIN(n, SL__MAX((size_t)1024, floats / qb_target));
    x.qb = SL__MIN(nq, SL__MAX((size_t)1, floats / x.nb));

    bool bf16 = use_bf16(cfg, n, d, nq);
    size_t cbytes, bd, hn;
    if (!sl_size_mul(x.qb, x.nb, &cbytes) || !sl_size_mul(n, d, &bd) || !sl_size_mul(x.qb, x.kh, &hn))
        return sl__fail(SL_ERR_RANGE, "exact search: block size overflows");
    int nthreads = omp_get_max_threads();
    x.C = sl__malloc_array(cbytes, sizeof(float), "exact search: score block");
    x.rows.aux = sl__malloc_array(n, sizeof(float), "exact search: base norms");
    x.rows.p = sl__malloc_array(n, sizeof(float), "exact search: base norms");
    x.rows.r = sl__malloc_array(n, sizeof(float), "exact search: base norms");
    x.rows.bnorm = m == SL_METRIC_COSINE ? sl__malloc_array(n, sizeof(double), "exact search: base norms") : NULL;
    x.qt = sl__malloc_array(x.qb, sizeof *x.qt, "exact search: query terms");
    x.lists = sl__calloc(x.qb, sizeof *x.lists);
    x.hv = sl__malloc_array(hn, sizeof(float), "exact search: candidate lists");
    x.hid = sl__malloc_array(hn, sizeof(int64_t), "exact search: candidate lists");
    x.cbuf = sl__calloc((size_t)nthreads, sizeof *x.cbuf);
    x.cbcap = sl__calloc((size_t)nthreads, sizeof *x.cbcap);
    if (bf16) {
        x.rows.xb = sl__malloc_array(bd, sizeof(uint16_t), "exact search: bf16 base");
        x.Qb = sl__malloc_array(x.qb * d, sizeof(uint16_t), "exact search: bf16 queries");
    }
    sl__advise_huge(x.C, cbytes * sizeof(float));
    if (x.rows.xb) sl__advise_huge(x.rows.xb, bd * sizeof(uint16_t));
    sl_status s = SL_OK;
    bool overflow = false;
    if (!x.C || !x.rows.aux || !x.rows.p || !x.rows.r || (m == SL_METRIC_COSINE && !x.rows.bnorm) || !x.qt ||
        !x.lists || !x.hv || !x.hid || !x.cbuf || !x.cbcap || (bf16 && (!x.rows.xb || !x.Qb)))
        s = x.lists && x.cbuf && x.cbcap ? SL_ERR_NOMEM : sl__fail(SL_ERR_NOMEM, "exact search: out of memory");
    if (!s) {
        screen_rows_fill(m, base, n, d, &x.rows);
        s = screen_run(&x, nq, &overflow);
    }
    screen_free(&x);
    if (!s && overflow)
        return sl__fail(SL_ERR_NUMERIC, "exact search: scores overflow float32 (vectors with values near 1e19 or more)");
    return s;
}

sl_status sl_flat_search(const float *base, size_t n, size_t d, const float *queries, size_t nq, size_t dq,
                         const sl_flat_config *cfg, int64_t *ids, float *scores) {
    SL__TRY(check_args(n, d, nq, dq, cfg));
    SL__TRY(sl__check_finite(base, n, d, "exact search: base"));
    if (queries != base) SL__TRY(sl__check_finite(queries, nq, d, "exact search: queries"));
    flat_out out = {.ids = ids, .scores = scores, .k = cfg->k, .need = cfg->k, .id0 = 0,
                    .avail = cfg->exclude_self ? n - 1 : n};
    return flat_core(base, n, d, queries, nq, cfg, &out);
}

/* ---- a base shared among the ranks of a distributed run -------------------*/

/* Whether every rank's step went well; a rank whose own step failed keeps
 * its message, the others say which rank failed. */
sl_status sl__index_agree(sl_status mine, const char *what) {
    int64_t bad[2] = {mine != SL_OK, mine != SL_OK ? sl_dist_rank() : -1};
    sl_status s = sl_dist_max_i64(bad, 2);
    if (s) return s;
    if (mine) return mine;
    if (bad[0]) return sl__fail(SL_ERR_STATE, "%s: rank %lld failed (see its message)", what, (long long)bad[1]);
    return SL_OK;
}

/* Every rank's k candidates of each query of a chunk (gathered in rank
 * order) merged into the k best, by (key, id) as one process orders them. */
static bool merge_chunk(const cand *all, size_t ranks, size_t qn, size_t k, sl_metric m, cand *buf, int64_t *ids,
                        float *scores) {
    bool ok = true;
    for (size_t i = 0; i < qn; i++) {
        size_t c = 0;
        for (size_t r = 0; r < ranks; r++)
            for (size_t t = 0; t < k; t++) {
                const cand *x = &all[(r * qn + i) * k + t];
                if (x->id >= 0) buf[c++] = *x;
            }
        if (c < k) ok = false;
        sl__cand_emit(buf, c, k, m, ids + i * k, scores + i * k);
    }
    return ok;
}

sl_status sl_flat_search_dist(const float *base, size_t n, size_t first, size_t total, size_t d, const float *queries,
                              size_t nq, size_t dq, const sl_flat_config *cfg, int64_t *ids, float *scores) {
    sl_status s = check_args(total, d, nq, dq, cfg);
    if (!s && (first > total || n > total - first))
        s = sl__fail(SL_ERR_ARG, "exact search: rows %zu..%zu of a base of %zu", first, first + n, total);
    if (!s && n) s = sl__check_finite(base, n, d, "exact search: base");
    if (!s && queries != base) s = sl__check_finite(queries, nq, d, "exact search: queries");
    const size_t k = cfg ? cfg->k : 0, ranks = (size_t)sl_dist_size();
    cand *loc = NULL, *all = NULL, *buf = NULL;
    /* Queries go to the gather in chunks of at most 64 MiB of candidates. */
    size_t qc = SL__MAX((size_t)1, ((size_t)64 << 20) / (sizeof(cand) * (k ? k : 1) * ranks));
    qc = SL__MIN(qc, nq ? nq : 1);
    if (!s && (!(loc = sl__malloc_array(nq, k * sizeof(cand), "exact search: candidates")) ||
               !(all = sl__malloc_array(ranks * qc, k * sizeof(cand), "exact search: gathered candidates")) ||
               !(buf = sl__malloc_array(ranks, k * sizeof(cand), "exact search: merge buffer"))))
        s = SL_ERR_NOMEM;
    if (!s) {
        flat_out out = {.cands = loc, .k = k, .need = 0, .avail = n, .id0 = (int64_t)first};
        if (n) s = flat_core(base, n, d, queries, nq, cfg, &out);
        for (size_t i = 0; !n && i < nq * k; i++) loc[i] = (cand){INFINITY, -1};
    }
    s = sl__index_agree(s, "exact search");
    bool ok = true;
    for (size_t q0 = 0; !s && q0 < nq; q0 += qc) {
        size_t qn = SL__MIN(qc, nq - q0);
        s = sl_dist_allgather(loc + q0 * k, qn * k * sizeof(cand), all);
        if (!s) ok &= merge_chunk(all, ranks, qn, k, cfg->metric, buf, ids + q0 * k, scores + q0 * k);
    }
    sl__free(loc), sl__free(all), sl__free(buf);
    if (!s && !ok)
        return sl__fail(SL_ERR_NUMERIC, "exact search: scores overflow float32 (vectors with values near 1e19 or more)");
    return s;
}

sl_status sl__flat_search_ref(const float *base, size_t n, size_t d, const float *queries, size_t nq, size_t dq,
                             const sl_flat_config *cfg, int64_t *ids, float *scores) {
    SL__TRY(check_args(n, d, nq, dq, cfg));
    SL__TRY(sl__check_finite(base, n, d, "exact search: base"));
    SL__TRY(sl__check_finite(queries, nq, d, "exact search: queries"));
    cand *c = sl__malloc_array(n, sizeof *c, "exact search: candidates");
    if (!c) return SL_ERR_NOMEM;
    for (size_t i = 0; i < nq; i++) {
        const float *q = queries + i * d;
        size_t cnt = 0;
        for (size_t j = 0; j < n; j++) {
            if (cfg->exclude_self && j == cfg->query_offset + i) continue;
            const float *x = base + j * d;
            c[cnt].key = sl__exact_key(cfg->metric, q, x, d, sqrt(sl__dot_d(q, q, d)), sqrt(sl__dot_d(x, x, d)));
            c[cnt].id = (int64_t)j;
            cnt++;
        }
        qsort(c, cnt, sizeof *c, sl__cand_cmp);
        for (size_t t = 0; t < cfg->k; t++) {
            ids[i * cfg->k + t] = c[t].id;
            scores[i * cfg->k + t] = (float)(cfg->metric == SL_METRIC_L2 ? c[t].key : -c[t].key);
        }
    }
    sl__free(c);
    return SL_OK;
}

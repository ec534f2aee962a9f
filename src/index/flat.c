/* Exact top-k search: blocked sl_gemm for query-base products, per-query
 * bounded heaps fed by a vectorised threshold scan of each score block, then
 * an exact re-scoring of the survivors so scores and order are independent of
 * BLAS rounding and blocking. Also the naive twin used by the tests. */
#include "index_internal.h"
#include "testing.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

/* Extra candidates kept by the screen beyond k, so that float rounding in the
 * GEMM-based scores cannot push a true top-k neighbour out before the exact
 * re-scoring. Differences between the screen and exact scores are a few ulps
 * of the norms, so only near-exact ties can swap, and 8 spare places absorb
 * them. */
#define FLAT_MARGIN 8

/* Bounded max-heap of (value, id): the root is the worst kept candidate. */
typedef struct {
    float *v;
    int64_t *id;
    size_t cap;
} heap;

static void heap_replace_top(heap *h, float v, int64_t id) {
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

/* Fold one row of the score block into the query's heap. Values are turned
 * into "smaller is better" keys: L2 uses |x|^2 - 2<q,x> (|q|^2 is the same for
 * the whole row), IP uses -<q,x>, cosine -<q,x>/|x|. aux holds |x|^2 or 1/|x|. */
static void fold_row(sl_metric m, const float *c, const float *aux, size_t nb, int64_t id0, heap *h) {
    float thr = h->v[0];
    size_t j = 0;
#if defined(__AVX512F__)
    const __m512 m2 = _mm512_set1_ps(-2.0f), neg = _mm512_set1_ps(-1.0f);
    for (; j + 16 <= nb; j += 16) {
        __m512 cv = _mm512_loadu_ps(c + j), v;
        if (m == SL_METRIC_L2)
            v = _mm512_fmadd_ps(cv, m2, _mm512_loadu_ps(aux + j));
        else if (m == SL_METRIC_IP)
            v = _mm512_mul_ps(cv, neg);
        else
            v = _mm512_mul_ps(_mm512_mul_ps(cv, neg), _mm512_loadu_ps(aux + j));
        __mmask16 k = _mm512_cmp_ps_mask(v, _mm512_set1_ps(thr), _CMP_LT_OQ);
        if (k) {
            float buf[16];
            _mm512_storeu_ps(buf, v);
            while (k) {
                int b = __builtin_ctz(k);
                k &= (__mmask16)(k - 1);
                if (buf[b] < thr) {
                    heap_replace_top(h, buf[b], id0 + (int64_t)(j + (size_t)b));
                    thr = h->v[0];
                }
            }
        }
    }
#endif
    for (; j < nb; j++) {
        float v = m == SL_METRIC_L2 ? aux[j] - 2.0f * c[j] : m == SL_METRIC_IP ? -c[j] : -c[j] * aux[j];
        if (v < thr) {
            heap_replace_top(h, v, id0 + (int64_t)j);
            thr = h->v[0];
        }
    }
}

typedef struct {
    double key; /* smaller is better */
    int64_t id;
} cand;

static int cand_cmp(const void *a, const void *b) {
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

static double exact_key(sl_metric m, const float *q, const float *x, size_t d, double qnorm, double xnorm) {
    if (m == SL_METRIC_L2) return (double)sl__l2sq(q, x, d);
    double ip = sl__dot_d(q, x, d);
    if (m == SL_METRIC_IP) return -ip;
    return qnorm > 0 && xnorm > 0 ? -ip / (qnorm * xnorm) : -0.0;
}

void sl_flat_config_default(sl_flat_config *c) {
    memset(c, 0, sizeof *c);
    c->metric = SL_METRIC_L2;
    c->k = 10;
}

sl_status sl_flat_search(const float *base, size_t n, size_t d, const float *queries, size_t nq, size_t dq,
                         const sl_flat_config *cfg, int64_t *ids, float *scores) {
    SL__TRY(check_args(n, d, nq, dq, cfg));
    SL__TRY(sl__check_finite(base, n, d, "exact search: base"));
    if (queries != base) SL__TRY(sl__check_finite(queries, nq, d, "exact search: queries"));
    const sl_metric m = cfg->metric;
    const size_t k = cfg->k, avail = cfg->exclude_self ? n - 1 : n;
    const size_t kk = SL__MIN(avail, k + FLAT_MARGIN);

    /* Block shapes: a query block of up to 512 rows keeps OpenBLAS near peak;
     * the base block takes what the budget leaves (at least 1024 rows). */
    size_t budget = cfg->max_block_bytes ? cfg->max_block_bytes : (size_t)128 << 20;
    size_t floats = SL__MAX(budget / sizeof(float), (size_t)16 * 1024);
    size_t qb_target = SL__MIN(nq, (size_t)512);
    size_t nb = SL__MIN(n, SL__MAX((size_t)1024, floats / qb_target));
    size_t qb = SL__MIN(nq, SL__MAX((size_t)1, floats / nb));

    size_t cbytes, hbytes;
    if (!sl_size_mul(qb, nb, &cbytes) || !sl_size_mul(qb, kk, &hbytes))
        return sl__fail(SL_ERR_RANGE, "exact search: block size overflows");
    float *C = sl__malloc_array(cbytes, sizeof(float), "exact search: score block");
    float *aux = sl__malloc_array(n, sizeof(float), "exact search: base norms");
    double *bnorm = m == SL_METRIC_COSINE ? sl__malloc_array(n, sizeof(double), "exact search: base norms") : NULL;
    float *hv = sl__malloc_array(hbytes, sizeof(float), "exact search: candidate lists");
    int64_t *hid = sl__malloc_array(hbytes, sizeof(int64_t), "exact search: candidate lists");
    int nthreads = omp_get_max_threads();
    cand *cbuf = sl__malloc_array((size_t)nthreads * kk, sizeof(cand), "exact search: candidate buffers");
    if (!C || !aux || (m == SL_METRIC_COSINE && !bnorm) || !hv || !hid || !cbuf) {
        sl__free(C), sl__free(aux), sl__free(bnorm), sl__free(hv), sl__free(hid), sl__free(cbuf);
        return SL_ERR_NOMEM;
    }

    /* Per-base-row term of the screening key. */
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < n; j++) {
        double s = 0;
        const float *x = base + j * d;
        for (size_t t = 0; t < d; t++) s += (double)x[t] * x[t];
        if (m == SL_METRIC_L2)
            aux[j] = (float)s;
        else if (m == SL_METRIC_COSINE) {
            bnorm[j] = sqrt(s);
            aux[j] = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
        } else
            aux[j] = 0;
    }

    bool overflow = false;
    for (size_t q0 = 0; q0 < nq; q0 += qb) {
        size_t qn = SL__MIN(qb, nq - q0);
        for (size_t i = 0; i < qn * kk; i++) hv[i] = INFINITY, hid[i] = INT64_MAX;
        for (size_t b0 = 0; b0 < n; b0 += nb) {
            size_t bn = SL__MIN(nb, n - b0);
            sl_gemm(false, true, qn, bn, d, 1.0f, queries + q0 * d, d, base + b0 * d, d, 0.0f, C, bn);
#pragma omp parallel for schedule(static)
            for (size_t i = 0; i < qn; i++) {
                float *row = C + i * bn;
                size_t self = cfg->query_offset + q0 + i;
                /* -inf turns into a key of +inf (or NaN for a zero cosine
                 * norm), which never passes the threshold test. */
                if (cfg->exclude_self && self >= b0 && self < b0 + bn) row[self - b0] = -INFINITY;
                heap h = {hv + i * kk, hid + i * kk, kk};
                fold_row(m, row, aux + b0, bn, (int64_t)b0, &h);
            }
        }
        /* Exact re-scoring and the final (score, id) order. */
#pragma omp parallel for schedule(static) reduction(|| : overflow)
        for (size_t i = 0; i < qn; i++) {
            cand *cb = cbuf + (size_t)omp_get_thread_num() * kk;
            const float *q = queries + (q0 + i) * d;
            double qnorm = m == SL_METRIC_COSINE ? sqrt(sl__dot_d(q, q, d)) : 0;
            size_t c = 0;
            for (size_t t = 0; t < kk; t++) {
                int64_t id = hid[i * kk + t];
                if (id == INT64_MAX) continue;
                cb[c].id = id;
                cb[c].key = exact_key(m, q, base + (size_t)id * d, d, qnorm, bnorm ? bnorm[id] : 0);
                c++;
            }
            if (c < k) {
                overflow = true;
                continue;
            }
            qsort(cb, c, sizeof *cb, cand_cmp);
            for (size_t t = 0; t < k; t++) {
                ids[(q0 + i) * k + t] = cb[t].id;
                scores[(q0 + i) * k + t] = (float)(m == SL_METRIC_L2 ? cb[t].key : -cb[t].key);
            }
        }
        if (cfg->progress) sl_progress_update(cfg->progress, q0 + qn, NULL);
    }
    sl__free(C), sl__free(aux), sl__free(bnorm), sl__free(hv), sl__free(hid), sl__free(cbuf);
    if (overflow)
        return sl__fail(SL_ERR_NUMERIC, "exact search: scores overflow float32 (vectors with values near 1e19 or more)");
    return SL_OK;
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
            double s = sl__exact_score(cfg->metric, q, base + j * d, d);
            c[cnt].key = cfg->metric == SL_METRIC_L2 ? s : -s;
            c[cnt].id = (int64_t)j;
            cnt++;
        }
        qsort(c, cnt, sizeof *c, cand_cmp);
        for (size_t t = 0; t < cfg->k; t++) {
            ids[i * cfg->k + t] = c[t].id;
            scores[i * cfg->k + t] = (float)(cfg->metric == SL_METRIC_L2 ? c[t].key : -c[t].key);
        }
    }
    sl__free(c);
    return SL_OK;
}

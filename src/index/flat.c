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

/* Fold one row of the score block into the query's heap. Values are turned
 * into "smaller is better" keys: L2 uses |x|^2 - 2<q,x> (|q|^2 is the same for
 * the whole row), IP uses -<q,x>, cosine -<q,x>/|x|. aux holds |x|^2 or 1/|x|. */
static void fold_row(sl_metric m, const float *c, const float *aux, size_t nb, int64_t id0, sl__heap *h) {
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
                    sl__heap_replace_top(h, buf[b], id0 + (int64_t)(j + (size_t)b));
                    thr = h->v[0];
                }
            }
        }
    }
#endif
    for (; j < nb; j++) {
        float v = m == SL_METRIC_L2 ? aux[j] - 2.0f * c[j] : m == SL_METRIC_IP ? -c[j] : -c[j] * aux[j];
        if (v < thr) {
            sl__heap_replace_top(h, v, id0 + (int64_t)j);
            thr = h->v[0];
        }
    }
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

void sl_flat_config_default(sl_flat_config *c) {
    memset(c, 0, sizeof *c);
    c->metric = SL_METRIC_L2;
    c->k = 10;
}

/* The results of a search: ids and float scores for the caller, or
 * (exact "smaller is better" key, id) pairs for merging the parts of a
 * sharded base. */
typedef struct {
    int64_t *ids;   /* with scores; or NULL */
    float *scores;
    cand *cands;    /* or NULL */
    size_t k;       /* per query; fewer found than k are padded with id -1 */
    size_t need;    /* fewer found than this is an overflow */
    size_t avail;   /* base rows a query can return */
    int64_t id0;    /* the id of base row 0 */
} flat_out;

/* The exact re-scoring of one query's candidates and its final (key, id)
 * order into out's row qi; false when fewer than out->need were found. */
static bool finish_query(sl_metric m, const float *q, const float *base, size_t d, const double *bnorm,
                         const int64_t *hid, size_t kk, cand *cb, const flat_out *out, size_t qi) {
    double qnorm = m == SL_METRIC_COSINE ? sqrt(sl__dot_d(q, q, d)) : 0;
    size_t c = 0;
    for (size_t t = 0; t < kk; t++) {
        int64_t j = hid[t];
        if (j == INT64_MAX) continue;
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

/* Per-base-row term of the screening key: |x|^2 (L2), 1/|x| (cosine, with
 * |x| in bnorm), 0 (IP). */
static void base_terms(sl_metric m, const float *base, size_t n, size_t d, float *aux, double *bnorm) {
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
}

/* The search proper, on checked arguments. With exclude_self, query i is
 * base id query_offset + i, which is row (query_offset + i - id0) here when
 * this base holds it. */
static sl_status flat_core(const float *base, size_t n, size_t d, const float *queries, size_t nq,
                           const sl_flat_config *cfg, const flat_out *out) {
    const sl_metric m = cfg->metric;
    const size_t kk = SL__MIN(out->avail, out->k + FLAT_MARGIN);

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
    base_terms(m, base, n, d, aux, bnorm);

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
                int64_t self = (int64_t)(cfg->query_offset + q0 + i) - out->id0;
                /* -inf turns into a key of +inf (or NaN for a zero cosine
                 * norm), which never passes the threshold test. */
                if (cfg->exclude_self && self >= (int64_t)b0 && self < (int64_t)(b0 + bn)) row[self - (int64_t)b0] = -INFINITY;
                sl__heap h = {hv + i * kk, hid + i * kk, kk};
                fold_row(m, row, aux + b0, bn, (int64_t)b0, &h);
            }
        }
        /* Exact re-scoring and the final (score, id) order. */
#pragma omp parallel for schedule(static) reduction(|| : overflow)
        for (size_t i = 0; i < qn; i++) {
            cand *cb = cbuf + (size_t)omp_get_thread_num() * kk;
            if (!finish_query(m, queries + (q0 + i) * d, base, d, bnorm, hid + i * kk, kk, cb, out, q0 + i))
                overflow = true;
        }
        if (cfg->progress) sl_progress_update(cfg->progress, q0 + qn, NULL);
    }
    sl__free(C), sl__free(aux), sl__free(bnorm), sl__free(hv), sl__free(hid), sl__free(cbuf);
    if (overflow)
        return sl__fail(SL_ERR_NUMERIC, "exact search: scores overflow float32 (vectors with values near 1e19 or more)");
    return SL_OK;
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
            double s = sl__exact_score(cfg->metric, q, base + j * d, d);
            c[cnt].key = cfg->metric == SL_METRIC_L2 ? s : -s;
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

/* Retrieval metrics over exact search: recall@K, precision@K and mAP@R for
 * labelled embeddings, and two-way recall@K for paired embeddings. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static int i64_cmp(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Number of base items carrying `label` (the base labels sorted in s). */
static size_t count_label(const int64_t *s, size_t n, int64_t label) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t m = lo + (hi - lo) / 2;
        if (s[m] < label) lo = m + 1; else hi = m;
    }
    size_t a = lo;
    hi = n;
    while (lo < hi) {
        size_t m = lo + (hi - lo) / 2;
        if (s[m] <= label) lo = m + 1; else hi = m;
    }
    return lo - a;
}

void sl_retrieval_config_default(sl_retrieval_config *c) {
    static const size_t ks[] = {1, 5, 10};
    memset(c, 0, sizeof *c);
    c->metric = SL_METRIC_L2;
    c->Ks = ks;
    c->nK = sizeof ks / sizeof ks[0];
}

sl_status sl_retrieval_labelled(const float *base, size_t n, const int64_t *base_labels, const float *queries,
                                size_t nq, const int64_t *query_labels, size_t d, const sl_retrieval_config *cfg,
                                double *recall_at, double *precision_at, double *map_at_r, size_t *n_used) {
    if (!cfg || !cfg->Ks || cfg->nK == 0) return sl__fail(SL_ERR_ARG, "retrieval: no K values given");
    if (n == 0) return sl__fail(SL_ERR_ARG, "retrieval: the base is empty (0 vectors)");
    if (nq == 0) return sl__fail(SL_ERR_ARG, "retrieval: there are no queries (0 vectors)");
    if (cfg->exclude_self && (queries != base || nq != n))
        return sl__fail(SL_ERR_ARG, "retrieval: self-retrieval needs the queries to be the base");
    size_t avail = cfg->exclude_self ? n - 1 : n, maxK = 0;
    for (size_t i = 0; i < cfg->nK; i++) {
        if (cfg->Ks[i] == 0 || cfg->Ks[i] > avail)
            return sl__fail(SL_ERR_ARG, "retrieval: K = %zu, expected 1 .. %zu (the base size%s)", cfg->Ks[i], avail,
                            cfg->exclude_self ? " minus the query" : "");
        maxK = SL__MAX(maxK, cfg->Ks[i]);
    }
    int64_t *sorted = sl__malloc_array(n, sizeof *sorted, "retrieval: labels");
    size_t *R = sl__malloc_array(nq, sizeof *R, "retrieval: relevant counts");
    if (!sorted || !R) {
        sl__free(sorted), sl__free(R);
        return SL_ERR_NOMEM;
    }
    memcpy(sorted, base_labels, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, i64_cmp);
    size_t maxR = 0;
    for (size_t i = 0; i < nq; i++) {
        R[i] = cfg->skip_unlabelled && query_labels[i] < 0
                   ? 0
                   : count_label(sorted, n, query_labels[i]) - (cfg->exclude_self ? 1 : 0);
        maxR = SL__MAX(maxR, R[i]);
    }
    sl__free(sorted);
    size_t k = SL__MIN(avail, SL__MAX(maxK, map_at_r ? maxR : 0));
    /* Chunks of queries keep the id lists near 256 MiB. */
    size_t chunk = SL__MAX((size_t)1, ((size_t)256 << 20) / (k * (sizeof(int64_t) + sizeof(float))));
    chunk = SL__MIN(chunk, nq);
    int64_t *ids = sl__malloc_array(chunk * k, sizeof *ids, "retrieval: neighbour ids");
    float *sc = sl__malloc_array(chunk * k, sizeof *sc, "retrieval: scores");
    double *hit = sl__calloc(cfg->nK, sizeof *hit), *prec = sl__calloc(cfg->nK, sizeof *prec);
    if (!ids || !sc || !hit || !prec) {
        sl__free(ids), sl__free(sc), sl__free(hit), sl__free(prec), sl__free(R);
        return sl__fail(SL_ERR_NOMEM, "retrieval: out of memory");
    }
    double ap_sum = 0;
    size_t used = 0;
    sl_status st = SL_OK;
    for (size_t q0 = 0; q0 < nq && st == SL_OK; q0 += chunk) {
        size_t qn = SL__MIN(chunk, nq - q0);
        sl_flat_config fc = {.metric = cfg->metric, .k = k, .exclude_self = cfg->exclude_self, .query_offset = q0};
        st = sl_flat_search(base, n, d, queries + q0 * d, qn, d, &fc, ids, sc);
        if (st) break;
        for (size_t i = 0; i < qn; i++) {
            size_t r = R[q0 + i];
            if (r == 0) continue;
            used++;
            int64_t lab = query_labels[q0 + i];
            const int64_t *row = ids + i * k;
            for (size_t t = 0; t < cfg->nK; t++) {
                size_t K = cfg->Ks[t], rel = 0;
                for (size_t j = 0; j < K; j++) rel += base_labels[row[j]] == lab;
                hit[t] += rel > 0;
                prec[t] += (double)rel / (double)K;
            }
            if (map_at_r) {
                size_t rel = 0, lim = SL__MIN(r, k);
                double ap = 0;
                for (size_t j = 0; j < lim; j++)
                    if (base_labels[row[j]] == lab) {
                        rel++;
                        ap += (double)rel / (double)(j + 1);
                    }
                ap_sum += ap / (double)r;
            }
        }
        if (cfg->progress) sl_progress_update(cfg->progress, q0 + qn, NULL);
    }
    if (st == SL_OK) {
        for (size_t t = 0; t < cfg->nK; t++) {
            recall_at[t] = used ? hit[t] / (double)used : 0;
            precision_at[t] = used ? prec[t] / (double)used : 0;
        }
        if (map_at_r) *map_at_r = used ? ap_sum / (double)used : 0;
        if (n_used) *n_used = used;
    }
    sl__free(ids), sl__free(sc), sl__free(hit), sl__free(prec), sl__free(R);
    return st;
}

sl_status sl_retrieval_paired(const float *a, const float *b, size_t n, size_t d, sl_metric metric, const size_t *Ks,
                              size_t nK, double *a_to_b, double *b_to_a) {
    if (!Ks || nK == 0) return sl__fail(SL_ERR_ARG, "paired retrieval: no K values given");
    if (n == 0) return sl__fail(SL_ERR_ARG, "paired retrieval: no pairs (0 rows)");
    size_t maxK = 0;
    for (size_t i = 0; i < nK; i++) {
        if (Ks[i] == 0 || Ks[i] > n)
            return sl__fail(SL_ERR_ARG, "paired retrieval: K = %zu, expected 1 .. %zu (the number of pairs)", Ks[i], n);
        maxK = SL__MAX(maxK, Ks[i]);
    }
    size_t chunk = SL__MIN(n, SL__MAX((size_t)1, ((size_t)256 << 20) / (maxK * 12)));
    int64_t *ids = sl__malloc_array(chunk * maxK, sizeof *ids, "paired retrieval: ids");
    float *sc = sl__malloc_array(chunk * maxK, sizeof *sc, "paired retrieval: scores");
    if (!ids || !sc) {
        sl__free(ids), sl__free(sc);
        return SL_ERR_NOMEM;
    }
    sl_status st = SL_OK;
    for (int dir = 0; dir < 2 && st == SL_OK; dir++) {
        const float *q = dir ? b : a, *base = dir ? a : b;
        double *out = dir ? b_to_a : a_to_b;
        for (size_t t = 0; t < nK; t++) out[t] = 0;
        for (size_t q0 = 0; q0 < n && st == SL_OK; q0 += chunk) {
            size_t qn = SL__MIN(chunk, n - q0);
            sl_flat_config fc = {.metric = metric, .k = maxK};
            st = sl_flat_search(base, n, d, q + q0 * d, qn, d, &fc, ids, sc);
            for (size_t i = 0; i < qn && st == SL_OK; i++) {
                size_t rank = maxK; /* rank of the partner, maxK when absent */
                for (size_t j = 0; j < maxK; j++)
                    if (ids[i * maxK + j] == (int64_t)(q0 + i)) {
                        rank = j;
                        break;
                    }
                for (size_t t = 0; t < nK; t++) out[t] += rank < Ks[t];
            }
        }
        for (size_t t = 0; t < nK; t++) out[t] /= (double)n;
    }
    sl__free(ids), sl__free(sc);
    return st;
}

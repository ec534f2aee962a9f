/* The k-nearest-neighbour classifier: majority or similarity-weighted votes
 * (exp(s / tau)) over neighbour lists from exact or HNSW search. */
#include "internal.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t label;
    double w;
} vote;

static int vote_cmp(const void *a, const void *b) {
    const vote *x = a, *y = b;
    return (x->label > y->label) - (x->label < y->label);
}

sl_status sl_vote_parse(const char *name, sl_vote *out) {
    if (name && !strcmp(name, "majority"))
        *out = SL_VOTE_MAJORITY;
    else if (name && !strcmp(name, "weighted"))
        *out = SL_VOTE_WEIGHTED;
    else
        return sl__fail(SL_ERR_ARG, "vote '%s': expected majority or weighted", name ? name : "");
    return SL_OK;
}

void sl_knn_config_default(sl_knn_config *c) {
    memset(c, 0, sizeof *c);
    c->vote = SL_VOTE_MAJORITY;
    c->tau = 0.07;
    c->metric = SL_METRIC_L2;
}

sl_status sl_knn_classify(const int64_t *ids, const float *scores, size_t nq, size_t kcols,
                          const int64_t *base_labels, size_t n, const sl_knn_config *cfg, int64_t *pred) {
    if (!cfg) return sl__fail(SL_ERR_ARG, "knn classify: no configuration given");
    size_t k = cfg->k ? cfg->k : kcols;
    if (k == 0 || k > kcols)
        return sl__fail(SL_ERR_ARG, "knn classify: k = %zu but the neighbour lists have %zu columns", k, kcols);
    if (cfg->vote != SL_VOTE_MAJORITY && cfg->vote != SL_VOTE_WEIGHTED)
        return sl__fail(SL_ERR_ARG, "knn classify: unknown vote %d", (int)cfg->vote);
    double tau = cfg->tau > 0 ? cfg->tau : 0.07;
    if (!isfinite(tau)) return sl__fail(SL_ERR_ARG, "knn classify: temperature %g is not finite", tau);
    for (size_t i = 0; i < nq * kcols; i++)
        if (ids[i] < -1 || ids[i] >= (int64_t)n)
            return sl__fail(SL_ERR_RANGE, "knn classify: query %zu: neighbour id %lld is outside the %zu labelled base rows",
                            i / kcols, (long long)ids[i], n);
    int nt = omp_get_max_threads();
    vote *buf = sl__malloc_array((size_t)nt * k, sizeof *buf, "knn classify: votes");
    if (!buf) return SL_ERR_NOMEM;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < nq; i++) {
        vote *v = buf + (size_t)omp_get_thread_num() * k;
        const int64_t *row = ids + i * kcols;
        const float *sc = scores + i * kcols;
        /* The largest similarity is subtracted before exp so weights cannot
         * overflow; a common factor does not change the winner. */
        double smax = -INFINITY;
        size_t c = 0;
        for (size_t j = 0; j < k; j++) {
            if (row[j] < 0) continue;
            double s = cfg->metric == SL_METRIC_L2 ? -(double)sc[j] : (double)sc[j];
            if (s > smax) smax = s;
            v[c].label = base_labels[row[j]];
            v[c].w = s;
            c++;
        }
        for (size_t j = 0; j < c; j++) v[j].w = cfg->vote == SL_VOTE_MAJORITY ? 1.0 : exp((v[j].w - smax) / tau);
        qsort(v, c, sizeof *v, vote_cmp);
        int64_t best = -1;
        double bw = -1;
        for (size_t j = 0; j < c;) {
            size_t e = j;
            double w = 0;
            while (e < c && v[e].label == v[j].label) w += v[e++].w;
            /* Labels arrive in increasing order, so a tie keeps the smaller one. */
            if (w > bw) bw = w, best = v[j].label;
            j = e;
        }
        pred[i] = best;
    }
    sl__free(buf);
    return SL_OK;
}

double sl_knn_accuracy(const int64_t *pred, const int64_t *truth, size_t n) {
    if (n == 0) return 0;
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) ok += pred[i] == truth[i];
    return (double)ok / (double)n;
}

double sl_knn_accuracy_labelled(const int64_t *pred, const int64_t *truth, size_t n) {
    size_t right = 0, counted = 0;
    for (size_t i = 0; i < n; i++)
        if (truth[i] >= 0) counted++, right += pred[i] == truth[i];
    return counted ? (double)right / (double)counted : NAN;
}

sl_status sl_knn_loo_accuracy(const float *x, size_t n, size_t d, const int64_t *labels, const sl_knn_config *cfg,
                              double *acc) {
    if (!cfg || n < 2 || cfg->k == 0)
        return sl__fail(SL_ERR_ARG, "leave-one-out knn: needs n >= 2 rows (got %zu) and k >= 1", n);
    size_t k = cfg->k < n - 1 ? cfg->k : n - 1;
    int64_t *ids = sl__malloc_array(n, k * sizeof(int64_t), "knn ids");
    float *sc = sl__malloc_array(n, k * sizeof(float), "knn scores");
    int64_t *pred = sl__malloc_array(n, sizeof(int64_t), "knn predictions");
    sl_status s = (ids && sc && pred) ? SL_OK : sl__fail(SL_ERR_NOMEM, "knn: out of memory");
    sl_flat_config fc = {.metric = cfg->metric, .k = k, .exclude_self = true};
    if (!s) s = sl_flat_search(x, n, d, x, n, d, &fc, ids, sc);
    sl_knn_config kc = *cfg;
    kc.k = k;
    if (!s) s = sl_knn_classify(ids, sc, n, k, labels, n, &kc, pred);
    if (!s) *acc = sl_knn_accuracy_labelled(pred, labels, n);
    sl__free(ids);
    sl__free(sc);
    sl__free(pred);
    return s;
}

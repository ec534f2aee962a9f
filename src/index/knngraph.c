/* The k-NN graph of a set of vectors: built exactly (sl_flat_search) or
 * through an HNSW index, its statistics (in-degrees and hubs, reciprocal
 * neighbours, connected components of the symmetrised graph) and shortest
 * paths in the symmetrised graph by Dijkstra on edge lengths. */
#include "simlearn/index.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void sl_knngraph_config_default(sl_knngraph_config *c) {
    memset(c, 0, sizeof *c);
    c->metric = SL_METRIC_L2;
    c->k = 10;
    c->M = 16;
    c->ef_construction = 200;
    c->ef = 64;
}

/* The edge length of a search score: the Euclidean distance for l2 (scores
 * are squared), 1 - cosine for cosine. */
static float edge_length(sl_metric m, float score) {
    if (m == SL_METRIC_L2) return sqrtf(score > 0 ? score : 0);
    float v = 1 - score;
    return v > 0 ? v : 0;
}

/* Approximate: an HNSW index of every row, each row searched for k + 1 and
 * itself dropped (or the last when it is not among them). */
static sl_status build_hnsw(const float *x, size_t n, size_t d, const sl_knngraph_config *c, int64_t *ids,
                            float *len) {
    sl_hnsw_config hc;
    sl_hnsw_config_default(&hc);
    hc.dim = d, hc.metric = c->metric, hc.M = c->M, hc.ef_construction = c->ef_construction, hc.seed = c->seed;
    sl_hnsw *h = NULL;
    SL__TRY(sl_hnsw_create(&hc, &h));
    const size_t k1 = c->k + 1, chunk = 4096;
    int64_t *ti = sl__malloc_array(chunk, k1 * sizeof *ti, "k-NN graph");
    float *ts = sl__malloc_array(chunk, k1 * sizeof *ts, "k-NN graph");
    sl_status st = ti && ts ? sl_hnsw_add(h, x, n, NULL, c->progress, c->stop, NULL) : SL_ERR_NOMEM;
    for (size_t r0 = 0; st == SL_OK && r0 < n; r0 += chunk) {
        size_t m = n - r0 < chunk ? n - r0 : chunk;
        if (c->stop && *c->stop) {
            st = SL_ERR_INTERRUPTED;
            break;
        }
        st = sl_hnsw_search(h, x + r0 * d, m, k1, c->ef > k1 ? c->ef : k1, NULL, ti, ts);
        for (size_t i = 0; st == SL_OK && i < m; i++) {
            size_t o = 0;
            for (size_t j = 0; j < k1 && o < c->k; j++) {
                int64_t id = ti[i * k1 + j];
                if (id == (int64_t)(r0 + i)) continue;
                if (id < 0) {
                    st = sl__fail(SL_ERR_STATE, "k-NN graph: the index found fewer than %zu neighbours of row %zu", c->k,
                                  r0 + i);
                    break;
                }
                ids[(r0 + i) * c->k + o] = id;
                len[(r0 + i) * c->k + o++] = edge_length(c->metric, ts[i * k1 + j]);
            }
        }
    }
    sl__free(ti), sl__free(ts);
    sl_hnsw_destroy(h);
    return st;
}

sl_status sl_knngraph_build(const float *x, size_t n, size_t d, const sl_knngraph_config *c, int64_t *ids,
                            float *len) {
    sl_knngraph_config defc;
    if (!c) sl_knngraph_config_default(&defc), c = &defc;
    if (c->metric == SL_METRIC_IP)
        return sl__fail(SL_ERR_ARG, "k-NN graph: the inner product is no distance; use l2 or cosine");
    if (c->k == 0) return sl__fail(SL_ERR_ARG, "k-NN graph: k must be at least 1");
    if (n < 2 || c->k > n - 1)
        return sl__fail(SL_ERR_RANGE, "k-NN graph: %zu rows give each at most %zu neighbours, not %zu", n,
                        n ? n - 1 : 0, c->k);
    size_t nk;
    if (!sl_size_mul(n, c->k, &nk)) return sl__fail(SL_ERR_RANGE, "k-NN graph: %zu x %zu is too large", n, c->k);
    if (c->approximate) return build_hnsw(x, n, d, c, ids, len);
    sl_flat_config fc;
    sl_flat_config_default(&fc);
    fc.metric = c->metric, fc.k = c->k, fc.exclude_self = true, fc.progress = c->progress;
    SL__TRY(sl_flat_search(x, n, d, x, n, d, &fc, ids, len));
    for (size_t i = 0; i < nk; i++) len[i] = edge_length(c->metric, len[i]);
    return SL_OK;
}

/* ---- the symmetrised graph ---------------------------------------------- */

/* Every edge i -> j of the k-NN lists in both directions, as lists per node
 * (start: n + 1 offsets into to / w). */
typedef struct sym_graph {
    size_t *start;
    int64_t *to;
    float *w;
} sym_graph;

static void sym_free(sym_graph *g) { sl__free(g->start), sl__free(g->to), sl__free(g->w); }

static sl_status check_graph(const int64_t *ids, const float *len, size_t n, size_t k) {
    if (n == 0 || k == 0) return sl__fail(SL_ERR_ARG, "k-NN graph: empty (%zu rows, k %zu)", n, k);
    for (size_t i = 0; i < n * k; i++) {
        if (ids[i] < 0 || (uint64_t)ids[i] >= n || (size_t)ids[i] == i / k)
            return sl__fail(SL_ERR_FORMAT, "k-NN graph: row %zu, neighbour %zu is %lld, expected another row in [0, %zu)",
                            i / k, i % k, (long long)ids[i], n);
        if (len && !(len[i] >= 0 && isfinite(len[i])))
            return sl__fail(SL_ERR_FORMAT, "k-NN graph: row %zu, neighbour %zu has length %g, expected a finite number >= 0",
                            i / k, i % k, (double)len[i]);
    }
    return SL_OK;
}

static sl_status sym_build(const int64_t *ids, const float *len, size_t n, size_t k, sym_graph *g) {
    memset(g, 0, sizeof *g);
    g->start = sl__calloc(n + 1, sizeof *g->start);
    g->to = sl__malloc_array(2 * n, k * sizeof *g->to, "k-NN graph");
    g->w = sl__malloc_array(2 * n, k * sizeof *g->w, "k-NN graph");
    size_t *fill = sl__malloc_array(n, sizeof *fill, "k-NN graph");
    if (!g->start || !g->to || !g->w || !fill)
        return sl__free(fill), sym_free(g), sl__fail(SL_ERR_NOMEM, "k-NN graph: out of memory for %zu rows", n);
    for (size_t i = 0; i < n * k; i++) g->start[i / k + 1]++, g->start[ids[i] + 1]++;
    for (size_t i = 0; i < n; i++) g->start[i + 1] += g->start[i];
    memcpy(fill, g->start, n * sizeof *fill);
    for (size_t i = 0; i < n * k; i++) {
        size_t a = i / k, b = (size_t)ids[i];
        float w = len ? len[i] : 1.0f;
        g->to[fill[a]] = (int64_t)b, g->w[fill[a]++] = w;
        g->to[fill[b]] = (int64_t)a, g->w[fill[b]++] = w;
    }
    sl__free(fill);
    return SL_OK;
}

/* ---- statistics ------------------------------------------------------------ */

static int cmp_size_desc(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x < y) - (x > y);
}

/* Connected components of g by an iterative depth-first walk; comp (n) gets
 * each node's component number. */
static size_t components(const sym_graph *g, size_t n, int64_t *comp, size_t *stack, size_t *largest) {
    size_t nc = 0;
    *largest = 0;
    for (size_t i = 0; i < n; i++) comp[i] = -1;
    for (size_t s = 0; s < n; s++) {
        if (comp[s] >= 0) continue;
        size_t top = 0, size = 0;
        stack[top++] = s;
        comp[s] = (int64_t)nc;
        while (top) {
            size_t v = stack[--top];
            size++;
            for (size_t e = g->start[v]; e < g->start[v + 1]; e++)
                if (comp[g->to[e]] < 0) comp[g->to[e]] = (int64_t)nc, stack[top++] = (size_t)g->to[e];
        }
        if (size > *largest) *largest = size;
        nc++;
    }
    return nc;
}

/* In-degree summary and the hubs (largest in-degrees, ties: smaller id). */
static sl_status indegrees(const int64_t *ids, size_t n, size_t k, sl_knngraph_stats *s) {
    size_t *deg = sl__calloc(n, sizeof *deg), *sorted = sl__malloc_array(n, sizeof *sorted, "k-NN graph");
    if (!deg || !sorted)
        return sl__free(deg), sl__free(sorted), sl__fail(SL_ERR_NOMEM, "k-NN graph: out of memory for %zu rows", n);
    for (size_t i = 0; i < n * k; i++) deg[ids[i]]++;
    double mean = (double)k, m2 = 0, m3 = 0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)deg[i] - mean;
        m2 += t * t, m3 += t * t * t;
        s->zero_indegree += deg[i] == 0;
    }
    m2 /= (double)n, m3 /= (double)n;
    s->indegree_skew = m2 > 0 ? m3 / pow(m2, 1.5) : 0;
    memcpy(sorted, deg, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_size_desc);
    s->indegree_max = sorted[0], s->indegree_min = sorted[n - 1];
    s->indegree_median = n % 2 ? (double)sorted[n / 2] : 0.5 * ((double)sorted[n / 2 - 1] + (double)sorted[n / 2]);
    /* The hubs: a partial selection, largest first, ties by id. */
    s->n_hubs = n < SL_KNNGRAPH_HUBS ? n : SL_KNNGRAPH_HUBS;
    for (size_t h = 0; h < s->n_hubs; h++) {
        size_t best = 0;
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            bool taken = false;
            for (size_t q = 0; q < h && !taken; q++) taken = s->hubs[q] == (int64_t)i;
            if (!taken && (!any || deg[i] > deg[best])) best = i, any = true;
        }
        s->hubs[h] = (int64_t)best, s->hub_indegree[h] = deg[best];
    }
    sl__free(deg), sl__free(sorted);
    return SL_OK;
}

/* Share of edges i -> j whose reverse j -> i is also in the lists. */
static double reciprocal_share(const int64_t *ids, size_t n, size_t k) {
    size_t both = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < k; a++) {
            size_t j = (size_t)ids[i * k + a];
            for (size_t b = 0; b < k; b++)
                if (ids[j * k + b] == (int64_t)i) {
                    both++;
                    break;
                }
        }
    return (double)both / (double)(n * k);
}

sl_status sl_knngraph_describe(const int64_t *ids, size_t n, size_t k, sl_knngraph_stats *out) {
    SL__TRY(check_graph(ids, NULL, n, k));
    sl_knngraph_stats s;
    memset(&s, 0, sizeof s);
    s.n = n, s.k = k;
    SL__TRY(indegrees(ids, n, k, &s));
    s.reciprocal = reciprocal_share(ids, n, k);
    sym_graph g;
    SL__TRY(sym_build(ids, NULL, n, k, &g));
    int64_t *comp = sl__malloc_array(n, sizeof *comp, "k-NN graph");
    size_t *stack = sl__malloc_array(n, sizeof *stack, "k-NN graph");
    sl_status st = comp && stack ? SL_OK : SL_ERR_NOMEM;
    if (st == SL_OK) s.components = components(&g, n, comp, stack, &s.largest_component);
    sl__free(comp), sl__free(stack);
    sym_free(&g);
    if (st == SL_OK) *out = s;
    return st;
}

/* ---- shortest paths ------------------------------------------------------ */

/* A binary min-heap of (distance, node), ties by node. */
typedef struct heap_item {
    double d;
    size_t v;
} heap_item;

static bool before(heap_item a, heap_item b) { return a.d < b.d || (a.d == b.d && a.v < b.v); }

static void heap_push(heap_item *h, size_t *n, heap_item x) {
    size_t i = (*n)++;
    while (i && before(x, h[(i - 1) / 2])) h[i] = h[(i - 1) / 2], i = (i - 1) / 2;
    h[i] = x;
}

static heap_item heap_pop(heap_item *h, size_t *n) {
    heap_item top = h[0], x = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && before(h[c + 1], h[c])) c++;
        if (!before(h[c], x)) break;
        h[i] = h[c], i = c;
    }
    if (*n) h[i] = x;
    return top;
}

/* Dijkstra from `from` until `to` is settled (to < 0: every node); dist and
 * prev (n each) out, unreachable nodes at infinity with prev -1. */
static sl_status dijkstra(const sym_graph *g, size_t n, size_t from, int64_t to, double *dist, int64_t *prev) {
    size_t cap = g->start[n] + 1, nh = 0;
    heap_item *h = sl__malloc_array(cap, sizeof *h, "k-NN graph path");
    if (!h) return SL_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) dist[i] = INFINITY, prev[i] = -1;
    dist[from] = 0;
    heap_push(h, &nh, (heap_item){0, from});
    while (nh) {
        heap_item it = heap_pop(h, &nh);
        if (it.d > dist[it.v]) continue; /* a stale entry */
        if ((int64_t)it.v == to) break;
        for (size_t e = g->start[it.v]; e < g->start[it.v + 1]; e++) {
            size_t u = (size_t)g->to[e];
            double nd = it.d + (double)g->w[e];
            if (nd < dist[u] || (nd == dist[u] && prev[u] > (int64_t)it.v)) {
                bool better = nd < dist[u];
                dist[u] = nd, prev[u] = (int64_t)it.v;
                if (better) heap_push(h, &nh, (heap_item){nd, u});
            }
        }
    }
    sl__free(h);
    return SL_OK;
}

sl_status sl_knngraph_path(const int64_t *ids, const float *len, size_t n, size_t k, int64_t from, int64_t to,
                           int64_t **path, size_t *npath, double *length) {
    *path = NULL, *npath = 0, *length = INFINITY;
    SL__TRY(check_graph(ids, len, n, k));
    if (from < 0 || (uint64_t)from >= n || to < 0 || (uint64_t)to >= n)
        return sl__fail(SL_ERR_RANGE, "k-NN graph path: from %lld and to %lld must be rows in [0, %zu)",
                        (long long)from, (long long)to, n);
    sym_graph g;
    SL__TRY(sym_build(ids, len, n, k, &g));
    double *dist = sl__malloc_array(n, sizeof *dist, "k-NN graph path");
    int64_t *prev = sl__malloc_array(n, sizeof *prev, "k-NN graph path");
    sl_status st = dist && prev ? dijkstra(&g, n, (size_t)from, to, dist, prev) : SL_ERR_NOMEM;
    if (st == SL_OK && isfinite(dist[to])) {
        size_t m = 1;
        for (int64_t v = to; v != from; v = prev[v]) m++;
        int64_t *p = sl__malloc_array(m, sizeof *p, "k-NN graph path");
        if (!p) {
            st = SL_ERR_NOMEM;
        } else {
            size_t i = m;
            for (int64_t v = to;; v = prev[v]) {
                p[--i] = v;
                if (v == from) break;
            }
            *path = p, *npath = m, *length = dist[to];
        }
    }
    sl__free(dist), sl__free(prev);
    sym_free(&g);
    return st;
}

sl_status sl_knngraph_geodesics(const int64_t *ids, const float *len, size_t n, size_t k, const int64_t *from,
                                const int64_t *to, size_t npairs, double *out) {
    SL__TRY(check_graph(ids, len, n, k));
    for (size_t p = 0; p < npairs; p++)
        if (from[p] < 0 || (uint64_t)from[p] >= n || to[p] < 0 || (uint64_t)to[p] >= n)
            return sl__fail(SL_ERR_RANGE, "k-NN graph: pair %zu (%lld, %lld) has a row outside [0, %zu)", p,
                            (long long)from[p], (long long)to[p], n);
    sym_graph g;
    SL__TRY(sym_build(ids, len, n, k, &g));
    double *dist = sl__malloc_array(n, sizeof *dist, "k-NN graph path");
    int64_t *prev = sl__malloc_array(n, sizeof *prev, "k-NN graph path");
    sl_status st = dist && prev ? SL_OK : SL_ERR_NOMEM;
    for (size_t p = 0; st == SL_OK && p < npairs; p++) {
        st = dijkstra(&g, n, (size_t)from[p], to[p], dist, prev);
        if (st == SL_OK) out[p] = dist[to[p]];
    }
    sl__free(dist), sl__free(prev);
    sym_free(&g);
    return st;
}

sl_status sl_knngraph_sample_pairs(const float *x, size_t n, size_t d, sl_metric m, const int64_t *ids, const float *len,
                                   size_t k, size_t npairs, uint64_t seed, double *geodesic, double *straight) {
    if (n < 2) return sl__fail(SL_ERR_ARG, "k-NN graph: pairs need at least 2 rows, got %zu", n);
    int64_t *from = sl__malloc_array(npairs ? npairs : 1, sizeof *from, "k-NN graph pairs");
    int64_t *to = sl__malloc_array(npairs ? npairs : 1, sizeof *to, "k-NN graph pairs");
    sl_status st = from && to ? SL_OK : SL_ERR_NOMEM;
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    for (size_t p = 0; st == SL_OK && p < npairs; p++) {
        from[p] = (int64_t)sl_rng_below(&r, n);
        do to[p] = (int64_t)sl_rng_below(&r, n);
        while (to[p] == from[p]);
        const float *a = x + (size_t)from[p] * d, *b = x + (size_t)to[p] * d;
        double dd = 0, dot = 0, na = 0, nb = 0;
        for (size_t j = 0; j < d; j++)
            dd += ((double)a[j] - b[j]) * ((double)a[j] - b[j]), dot += (double)a[j] * b[j], na += (double)a[j] * a[j],
                nb += (double)b[j] * b[j];
        straight[p] = m == SL_METRIC_L2 ? sqrt(dd) : 1 - dot / sqrt(na * nb);
    }
    if (st == SL_OK) st = sl_knngraph_geodesics(ids, len, n, k, from, to, npairs, geodesic);
    sl__free(from), sl__free(to);
    return st;
}

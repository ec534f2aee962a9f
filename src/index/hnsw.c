/* HNSW graph index: parallel insertion with per-node locks, search with ef
 * and in-search filters, deletion that repairs the neighbours' links, MIPS by
 * reduction to L2, a structural check, and a checksummed file format.
 * Level 0 is one flat array: each node's link list and its vector are
 * contiguous, so expanding a node touches one region of memory. */
#include "index_internal.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the HNSW file format is written in host order and assumes a little-endian host"
#endif

#define HNSW_MAX_LEVEL 30
/* Version 1: an index without keys; version 2 adds each node's key. */
#define HNSW_VERSION 1
#define HNSW_VERSION_KEYS 2
static const char hnsw_magic[8] = {'S', 'L', 'H', 'N', 'S', 'W', '\r', '\n'};

struct sl_hnsw {
    size_t dim;  /* user dimension */
    size_t vdim; /* stored dimension: dim, or dim + 1 for the MIPS reduction */
    size_t dpad; /* vdim rounded up to 16 floats (the padding is zero) */
    sl_metric metric;
    size_t M, M0, efc;
    uint64_t seed;
    double mult;  /* level multiplier 1 / ln(M) */
    double R2;    /* MIPS: largest squared norm stored so far */
    size_t cap, count, live;
    size_t links_bytes; /* (1 + M0) uint32 rounded up to 64 bytes */
    size_t stride;      /* bytes per node on level 0: links then the vector */
    size_t pf_lines;    /* cache lines of a vector prefetched ahead of scoring it */
    char *l0_raw, *l0;  /* l0 is l0_raw aligned to 64 bytes */
    uint32_t **up;      /* per node: level * (1 + M) uint32 for levels 1..level */
    int *level;         /* -1 once deleted */
    int64_t *labels;
    int64_t *keys;   /* NULL until the first add with keys (ids are node numbers); then each node's key */
    sl__keymap map;  /* with keys: key -> its live node, or else the latest node that had it */
    _Atomic unsigned char *locks; /* one spin lock per node, held while its links change */
    int64_t ep;
    int max_level;
    pthread_mutex_t ep_lock;
};

/* ---- node access -------------------------------------------------------*/

static inline uint32_t *links_at(const sl_hnsw *h, uint32_t id, int l) {
    if (l == 0) return (uint32_t *)(h->l0 + (size_t)id * h->stride);
    return h->up[id] + (size_t)(l - 1) * (h->M + 1);
}
static inline float *vec_of(const sl_hnsw *h, uint32_t id) {
    return (float *)(h->l0 + (size_t)id * h->stride + h->links_bytes);
}
static inline size_t max_links(const sl_hnsw *h, int l) { return l == 0 ? h->M0 : h->M; }

/* The node an id names (through the key map when the index has keys), live
 * or deleted, or -1 when no node has it. */
static inline int64_t node_named(const sl_hnsw *h, int64_t id) {
    if (h->keys) id = sl__keymap_get(&h->map, id);
    return id >= 0 && (uint64_t)id < h->count ? id : -1;
}
/* The live node an id names, or -1. */
static inline int64_t live_node(const sl_hnsw *h, int64_t id) {
    int64_t v = node_named(h, id);
    return v >= 0 && h->level[v] >= 0 ? v : -1;
}

/* A node's lock is held only while a link list is copied or shrunk, so a
 * waiter spins, with the CPU's pause hint between reads; after LOCK_SPINS
 * reads it yields its core on each further read, in case the holder is a
 * thread the scheduler has taken off its core (more threads than free cores). */
#define LOCK_SPINS 64
static inline void cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
static inline void node_lock(const sl_hnsw *h, uint32_t id) {
    unsigned spins = 0;
    while (atomic_exchange_explicit(&h->locks[id], 1, memory_order_acquire))
        while (atomic_load_explicit(&h->locks[id], memory_order_relaxed)) {
            if (spins < LOCK_SPINS) {
                spins++;
                cpu_pause();
            } else {
                sched_yield();
            }
        }
}
static inline void node_unlock(const sl_hnsw *h, uint32_t id) {
    atomic_store_explicit(&h->locks[id], 0, memory_order_release);
}

static inline float dist(const sl_hnsw *h, const float *q, uint32_t id) { return sl__l2sq(q, vec_of(h, id), h->dpad); }

/* ---- scratch: visited marks and heaps ----------------------------------*/

typedef struct {
    float d;
    uint32_t id;
} pair;

/* A heap holds each pair as one 64-bit key: the distance's bits (whose
 * integer order is the float order, see pair_key) above, the id below. One integer
 * comparison then orders by distance and breaks ties by id, as two float
 * comparisons did before at 0.85 times the search speed on 100-d word
 * vectors. */
typedef struct {
    uint64_t *a;
    size_t n, cap;
} pheap;

typedef struct {
    uint16_t *mark;
    uint16_t epoch;
    size_t cap;
    pheap cand, res;
    pair *sel, *tmp;
    size_t sel_cap;
    uint32_t *nb, *todo;
    float *qbuf;
} scratch;

static bool pheap_reserve(pheap *h, size_t need) {
    if (need <= h->cap) return true;
    size_t c = SL__MAX(need, h->cap * 2 + 64);
    uint64_t *a = sl__realloc(h->a, c * sizeof *a);
    if (!a) return false;
    h->a = a, h->cap = c;
    return true;
}

/* Distances are squared L2 sums: never negative, NaN or -0 (the vectors are
 * finite), and the bits of non-negative floats order as unsigned integers. */
static inline uint64_t pair_key(pair p) {
    uint32_t b;
    memcpy(&b, &p.d, sizeof b);
    return (uint64_t)b << 32 | p.id;
}
static inline pair key_pair(uint64_t k) {
    uint32_t b = (uint32_t)(k >> 32);
    pair p = {.id = (uint32_t)k};
    memcpy(&p.d, &b, sizeof b);
    return p;
}
static inline float key_dist(uint64_t k) { return key_pair(k).d; }

/* Max-heap (worst on top) when max is true, else min-heap. Ties order by id
 * so the results are deterministic. */
static inline bool before(uint64_t x, uint64_t y, bool max) { return max ? x > y : x < y; }
static void pheap_push(pheap *h, pair p, bool max) {
    uint64_t k = pair_key(p);
    size_t i = h->n++;
    while (i) {
        size_t par = (i - 1) / 2;
        if (!before(k, h->a[par], max)) break;
        h->a[i] = h->a[par];
        i = par;
    }
    h->a[i] = k;
}
static pair pheap_pop(pheap *h, bool max) {
    uint64_t top = h->a[0], last = h->a[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        uint64_t mv = last;
        if (l < n && before(h->a[l], mv, max)) m = l, mv = h->a[l];
        if (r < n && before(h->a[r], mv, max)) m = r;
        if (m == i) break;
        h->a[i] = h->a[m];
        i = m;
    }
    if (n) h->a[i] = last;
    return key_pair(top);
}

static void scratch_free(scratch *s);
/* On failure nothing stays allocated (*s is left empty, so scratch_free on it
 * is harmless). */
static sl_status scratch_init(scratch *s, const sl_hnsw *h, size_t cap) {
    memset(s, 0, sizeof *s);
    s->cap = cap;
    s->mark = sl__calloc(cap ? cap : 1, sizeof *s->mark);
    s->sel_cap = SL__MAX(h->M0, h->efc) + 2;
    s->sel = sl__malloc_array(s->sel_cap, sizeof *s->sel, "hnsw: scratch");
    s->tmp = sl__malloc_array(s->sel_cap, sizeof *s->tmp, "hnsw: scratch");
    s->nb = sl__malloc_array(h->M0 + 1, sizeof *s->nb, "hnsw: scratch");
    s->todo = sl__malloc_array(h->M0 + 1, sizeof *s->todo, "hnsw: scratch");
    s->qbuf = sl__calloc(h->dpad, sizeof(float));
    if (!s->mark || !s->sel || !s->tmp || !s->nb || !s->todo || !s->qbuf || !pheap_reserve(&s->cand, 256) ||
        !pheap_reserve(&s->res, 256)) {
        scratch_free(s);
        return sl__fail(SL_ERR_NOMEM, "hnsw: out of memory for search scratch");
    }
    return SL_OK;
}
static void scratch_free(scratch *s) {
    sl__free(s->mark), sl__free(s->sel), sl__free(s->tmp), sl__free(s->nb), sl__free(s->todo), sl__free(s->qbuf);
    sl__free(s->cand.a), sl__free(s->res.a);
    memset(s, 0, sizeof *s);
}
/* Start a new visited set: bump the epoch, clearing the marks only when it wraps. */
static void visit_reset(scratch *s) {
    if (++s->epoch == 0) {
        memset(s->mark, 0, s->cap * sizeof *s->mark);
        s->epoch = 1;
    }
}

/* How many neighbours ahead of the one being scored have their vectors
 * prefetched: one ahead hid too little of the memory latency behind a short
 * distance; eight ahead searched the 100-d word vectors of bench-hnsw 1.2
 * times as fast and Fashion-MNIST's 784-d rows 1.1 times (ef 40 and 20, 2
 * threads). */
#define PF_AHEAD 8u

static inline void prefetch_vec(const sl_hnsw *h, uint32_t id) {
    const char *pv = (const char *)vec_of(h, id);
    for (size_t line = 0; line < h->pf_lines; line++) __builtin_prefetch(pv + 64 * line);
}

/* The link list of a node that may be expanded next: the new top candidate
 * after a pop (its whole list), and each new candidate (the list's first
 * line) while its vector is still being read. */
static inline void prefetch_links(const sl_hnsw *h, uint32_t id, int l) {
    const char *p = (const char *)links_at(h, id, l);
    size_t bytes = (max_links(h, l) + 1) * sizeof(uint32_t);
    for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off);
}

/* ---- the search on one level --------------------------------------------
 * Best-first search from ep keeping the ef best (allowed) nodes in s->res (a
 * max-heap). locked: copy each link list under its node's lock (needed while
 * other threads insert). allow: NULL or a per-node 0/1 array; nodes that fail
 * it are expanded but not kept. Returns false when out of memory. */
static bool search_level(const sl_hnsw *h, scratch *s, const float *q, uint32_t ep, int l, size_t ef, bool locked,
                         const unsigned char *allow) {
    s->cand.n = s->res.n = 0;
    visit_reset(s);
    float d0 = dist(h, q, ep);
    s->mark[ep] = s->epoch;
    if (!pheap_reserve(&s->cand, 1) || !pheap_reserve(&s->res, ef + 1)) return false;
    pheap_push(&s->cand, (pair){d0, ep}, false);
    if (!allow || allow[ep]) pheap_push(&s->res, (pair){d0, ep}, true);
    float bound = s->res.n ? d0 : INFINITY;
    while (s->cand.n) {
        pair c = key_pair(s->cand.a[0]);
        if (c.d > bound && s->res.n >= ef) break;
        pheap_pop(&s->cand, false);
        if (s->cand.n) prefetch_links(h, (uint32_t)s->cand.a[0], l);
        const uint32_t *lk = links_at(h, c.id, l);
        uint32_t cnt;
        const uint32_t *nb;
        if (locked) {
            node_lock(h, c.id);
            cnt = lk[0];
            memcpy(s->nb, lk + 1, cnt * sizeof *s->nb);
            node_unlock(h, c.id);
            nb = s->nb;
        } else {
            cnt = lk[0];
            nb = lk + 1;
        }
        /* First collect the unvisited neighbours (their marks load in
         * parallel), then score them while the vectors of the next
         * PF_AHEAD are being fetched. */
        uint32_t *todo = s->todo, nt = 0;
        for (uint32_t j = 0; j < cnt; j++) __builtin_prefetch(&s->mark[nb[j]]);
        for (uint32_t j = 0; j < cnt; j++) {
            uint32_t v = nb[j];
            if (s->mark[v] == s->epoch) continue;
            s->mark[v] = s->epoch;
            todo[nt++] = v;
        }
        for (uint32_t j = 0; j < nt && j < PF_AHEAD; j++) prefetch_vec(h, todo[j]);
        if (!pheap_reserve(&s->cand, s->cand.n + nt)) return false;
        for (uint32_t j = 0; j < nt; j++) {
            uint32_t v = todo[j];
            if (j + PF_AHEAD < nt) prefetch_vec(h, todo[j + PF_AHEAD]);
            float dv = dist(h, q, v);
            if (s->res.n < ef || dv < bound) {
                pheap_push(&s->cand, (pair){dv, v}, false);
                __builtin_prefetch(links_at(h, v, l));
                if (!allow || allow[v]) {
                    pheap_push(&s->res, (pair){dv, v}, true);
                    if (s->res.n > ef) pheap_pop(&s->res, true);
                    bound = key_dist(s->res.a[0]);
                }
            }
        }
    }
    return true;
}

/* Greedy walk on an upper level: move to the closest neighbour until none is closer. */
static uint32_t greedy(const sl_hnsw *h, scratch *s, const float *q, uint32_t cur, float *dcur, int l, bool locked) {
    bool changed = true;
    while (changed) {
        changed = false;
        const uint32_t *lk = links_at(h, cur, l);
        uint32_t cnt;
        const uint32_t *nb;
        if (locked) {
            node_lock(h, cur);
            cnt = lk[0];
            memcpy(s->nb, lk + 1, cnt * sizeof *s->nb);
            node_unlock(h, cur);
            nb = s->nb;
        } else {
            cnt = lk[0];
            nb = lk + 1;
        }
        for (uint32_t j = 0; j < cnt; j++) {
            float d = dist(h, q, nb[j]);
            if (d < *dcur || (d == *dcur && nb[j] < cur)) {
                *dcur = d;
                cur = nb[j];
                changed = true;
            }
        }
    }
    return cur;
}

static int pair_cmp(const void *a, const void *b) {
    const pair *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static int pair_id_cmp(const void *a, const void *b) {
    const pair *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* The neighbour-selection heuristic: walk the candidates from the closest
 * and keep one only if it is closer to the base than to every kept one, so
 * links spread in different directions. c is sorted; returns the kept count
 * (at most m), written to out. */
static size_t select_heuristic(const sl_hnsw *h, const pair *c, size_t n, size_t m, pair *out) {
    size_t k = 0;
    for (size_t i = 0; i < n && k < m; i++) {
        bool good = true;
        const float *v = vec_of(h, c[i].id);
        for (size_t j = 0; j < k; j++)
            if (dist(h, v, out[j].id) < c[i].d) {
                good = false;
                break;
            }
        if (good) out[k++] = c[i];
    }
    return k;
}

/* Add a link from node `to` towards `id` at level l, shrinking to's list
 * with the heuristic when it is full. Caller holds no locks. */
static void add_link(const sl_hnsw *h, scratch *s, uint32_t to, uint32_t id, int l) {
    size_t mx = max_links(h, l);
    node_lock(h, to);
    uint32_t *lk = links_at(h, to, l);
    uint32_t cnt = lk[0];
    for (uint32_t j = 0; j < cnt; j++)
        if (lk[1 + j] == id) {
            node_unlock(h, to);
            return;
        }
    if (cnt < mx) {
        lk[1 + cnt] = id;
        lk[0] = cnt + 1;
    } else {
        const float *v = vec_of(h, to);
        size_t n = 0;
        for (uint32_t j = 0; j < cnt; j++) s->tmp[n++] = (pair){dist(h, v, lk[1 + j]), lk[1 + j]};
        s->tmp[n++] = (pair){dist(h, v, id), id};
        qsort(s->tmp, n, sizeof *s->tmp, pair_cmp);
        size_t k = select_heuristic(h, s->tmp, n, mx, s->sel);
        for (size_t j = 0; j < k; j++) lk[1 + j] = s->sel[j].id;
        lk[0] = (uint32_t)k;
    }
    node_unlock(h, to);
}

/* Take the results of search_level (s->res) in increasing distance into out. */
static size_t drain_sorted(scratch *s, pair *out) {
    size_t n = s->res.n;
    for (size_t i = n; i-- > 0;) out[i] = pheap_pop(&s->res, true);
    return n;
}

/* Insert node q (vector and level already stored). */
static bool insert_node(sl_hnsw *h, scratch *s, uint32_t q) {
    int L = h->level[q];
    pthread_mutex_lock(&h->ep_lock);
    if (h->ep < 0) {
        h->ep = q;
        h->max_level = L;
        pthread_mutex_unlock(&h->ep_lock);
        return true;
    }
    uint32_t cur = (uint32_t)h->ep;
    int top = h->max_level;
    /* A node that raises the top level keeps the lock for its whole insertion,
     * so no other insertion starts from a half-linked entry point. */
    bool hold = L > top;
    if (!hold) pthread_mutex_unlock(&h->ep_lock);
    const float *v = vec_of(h, q);
    float dcur = dist(h, v, cur);
    for (int l = top; l > L; l--) cur = greedy(h, s, v, cur, &dcur, l, true);
    for (int l = SL__MIN(L, top); l >= 0; l--) {
        if (!search_level(h, s, v, cur, l, h->efc, true, NULL)) {
            if (hold) pthread_mutex_unlock(&h->ep_lock);
            return false;
        }
        size_t n = drain_sorted(s, s->tmp);
        /* The search may return q itself when another thread already linked to it. */
        size_t w = 0;
        for (size_t i = 0; i < n; i++)
            if (s->tmp[i].id != q) s->tmp[w++] = s->tmp[i];
        n = w;
        if (n == 0) continue;
        cur = s->tmp[0].id;
        size_t k = select_heuristic(h, s->tmp, n, h->M, s->sel);
        /* Keep the selection: add_link reuses sel and tmp. */
        uint32_t chosen[1024];
        for (size_t j = 0; j < k; j++) chosen[j] = s->sel[j].id;
        node_lock(h, q);
        uint32_t *lk = links_at(h, q, l);
        for (size_t j = 0; j < k; j++) lk[1 + j] = chosen[j];
        lk[0] = (uint32_t)k;
        node_unlock(h, q);
        for (size_t j = 0; j < k; j++) add_link(h, s, chosen[j], q, l);
    }
    if (hold) {
        h->ep = q;
        h->max_level = L;
        pthread_mutex_unlock(&h->ep_lock);
    }
    return true;
}

/* ---- reachability ------------------------------------------------------*/

/* Level-0 breadth-first search from the entry point; reached[i] = 1. Returns
 * the number of live nodes not reached. */
static size_t bfs_level0(const sl_hnsw *h, unsigned char *reached, uint32_t *queue) {
    memset(reached, 0, h->count);
    if (h->ep < 0) return 0;
    size_t qh = 0, qt = 0, seen = 1;
    queue[qt++] = (uint32_t)h->ep;
    reached[h->ep] = 1;
    while (qh < qt) {
        uint32_t u = queue[qh++];
        const uint32_t *lk = links_at(h, u, 0);
        for (uint32_t j = 0; j < lk[0]; j++) {
            uint32_t v = lk[1 + j];
            if (v < h->count && !reached[v] && h->level[v] >= 0) {
                reached[v] = 1;
                queue[qt++] = v;
                seen++;
            }
        }
    }
    return h->live - seen;
}

/* Link every live node that the entry point cannot reach on level 0 from a
 * near reachable node. The heuristic pruning of reverse links (and deletion)
 * can orphan a node; this keeps "every node is findable" true. */
static sl_status repair_reachability(sl_hnsw *h) {
    if (h->live <= 1) return SL_OK;
    unsigned char *reached = sl__malloc(h->count);
    uint32_t *queue = sl__malloc_array(h->count, sizeof *queue, "hnsw: reachability");
    scratch s;
    sl_status st = SL_OK;
    if (!reached || !queue || (st = scratch_init(&s, h, h->count)) != SL_OK) {
        sl__free(reached), sl__free(queue);
        return st ? st : sl__fail(SL_ERR_NOMEM, "hnsw: out of memory checking reachability");
    }
    for (int pass = 0; pass < 8 && bfs_level0(h, reached, queue) > 0; pass++) {
        unsigned char *allow = reached; /* only reachable nodes may take the new link */
        for (uint32_t u = 0; u < h->count; u++) {
            if (h->level[u] < 0 || reached[u]) continue;
            if (!search_level(h, &s, vec_of(h, u), (uint32_t)h->ep, 0, h->efc, false, allow)) {
                st = sl__fail(SL_ERR_NOMEM, "hnsw: out of memory repairing links");
                break;
            }
            size_t n = drain_sorted(&s, s.tmp);
            bool done = false;
            for (size_t i = 0; i < n && !done; i++) {
                uint32_t *lk = links_at(h, s.tmp[i].id, 0);
                if (lk[0] < h->M0) lk[1 + lk[0]++] = u, done = true;
            }
            if (!done && n) {
                /* Every candidate is full: replace the nearest one's farthest link. */
                uint32_t w = s.tmp[0].id, *lk = links_at(h, w, 0);
                const float *wv = vec_of(h, w);
                uint32_t far = 0;
                float fd = -1;
                for (uint32_t j = 0; j < lk[0]; j++) {
                    float d = dist(h, wv, lk[1 + j]);
                    if (d > fd) fd = d, far = j;
                }
                lk[1 + far] = u;
            }
        }
        if (st) break;
    }
    scratch_free(&s);
    sl__free(reached), sl__free(queue);
    return st;
}

/* ---- create / destroy / grow -------------------------------------------*/

void sl_hnsw_config_default(sl_hnsw_config *c) {
    memset(c, 0, sizeof *c);
    c->metric = SL_METRIC_L2;
    c->M = 16;
    c->ef_construction = 200;
}

sl_status sl_hnsw_create(const sl_hnsw_config *cfg, sl_hnsw **out) {
    if (!cfg) return sl__fail(SL_ERR_ARG, "hnsw: no configuration given");
    size_t M = cfg->M ? cfg->M : 16, efc = cfg->ef_construction ? cfg->ef_construction : 200;
    if (cfg->dim == 0 || cfg->dim > ((size_t)1 << 24))
        return sl__fail(SL_ERR_ARG, "hnsw: dimension %zu, expected 1 .. 16777216", cfg->dim);
    if (M < 2 || M > 512) return sl__fail(SL_ERR_ARG, "hnsw: M = %zu, expected 2 .. 512", M);
    if (efc > 100000) return sl__fail(SL_ERR_ARG, "hnsw: ef_construction = %zu, expected 1 .. 100000", efc);
    if (cfg->metric != SL_METRIC_L2 && cfg->metric != SL_METRIC_IP && cfg->metric != SL_METRIC_COSINE)
        return sl__fail(SL_ERR_ARG, "hnsw: unknown metric %d", (int)cfg->metric);
    sl_hnsw *h = sl__calloc(1, sizeof *h);
    if (!h) return sl__fail(SL_ERR_NOMEM, "hnsw: out of memory");
    h->dim = cfg->dim;
    h->metric = cfg->metric;
    h->vdim = cfg->dim + (cfg->metric == SL_METRIC_IP);
    h->dpad = (h->vdim + 15) / 16 * 16;
    h->M = M;
    h->M0 = 2 * M;
    h->efc = efc;
    h->seed = cfg->seed;
    h->mult = 1.0 / log((double)M);
    h->links_bytes = ((1 + h->M0) * sizeof(uint32_t) + 63) / 64 * 64;
    h->stride = h->links_bytes + h->dpad * sizeof(float);
    h->pf_lines = SL__MIN((size_t)8, h->dpad * sizeof(float) / 64);
    h->ep = -1;
    h->max_level = -1;
    pthread_mutex_init(&h->ep_lock, NULL);
    *out = h;
    return SL_OK;
}

void sl_hnsw_destroy(sl_hnsw *h) {
    if (!h) return;
    for (size_t i = 0; i < h->count; i++) sl__free(h->up[i]);
    sl__free(h->up), sl__free(h->level), sl__free(h->labels), sl__free((void *)h->locks), sl__free(h->l0_raw);
    sl__free(h->keys);
    sl__keymap_free(&h->map);
    pthread_mutex_destroy(&h->ep_lock);
    sl__free(h);
}

static sl_status reserve(sl_hnsw *h, size_t need) {
    if (need <= h->cap) return SL_OK;
    if (need > UINT32_MAX - 1) return sl__fail(SL_ERR_RANGE, "hnsw: at most %u vectors", UINT32_MAX - 1);
    size_t cap = SL__MAX(need, h->cap + h->cap / 2);
    size_t bytes;
    if (!sl_size_mul(cap, h->stride, &bytes) || bytes > SIZE_MAX - 64)
        return sl__fail(SL_ERR_RANGE, "hnsw: index size overflows");
    char *raw = sl__malloc(bytes + 64);
    uint32_t **up = sl__calloc(cap, sizeof *up);
    int *lev = sl__malloc_array(cap, sizeof *lev, "hnsw: levels");
    int64_t *lab = sl__malloc_array(cap, sizeof *lab, "hnsw: labels");
    _Atomic unsigned char *locks = sl__calloc(cap, 1);
    int64_t *keys = h->keys ? sl__malloc_array(cap, sizeof *keys, "hnsw: keys") : NULL;
    if (!raw || !up || !lev || !lab || !locks || (h->keys && !keys)) {
        sl__free(raw), sl__free(up), sl__free(lev), sl__free(lab), sl__free((void *)locks), sl__free(keys);
        return sl__fail(SL_ERR_NOMEM, "hnsw: cannot grow the index to %zu vectors (%zu bytes)", cap, bytes);
    }
    char *al = raw + ((64 - ((uintptr_t)raw & 63)) & 63);
    if (h->count) {
        memcpy(al, h->l0, h->count * h->stride);
        memcpy(up, h->up, h->count * sizeof *up);
        memcpy(lev, h->level, h->count * sizeof *lev);
        memcpy(lab, h->labels, h->count * sizeof *lab);
        if (keys) memcpy(keys, h->keys, h->count * sizeof *keys);
    }
    sl__free(h->l0_raw), sl__free(h->up), sl__free(h->level), sl__free(h->labels), sl__free((void *)h->locks);
    sl__free(h->keys);
    h->l0_raw = raw, h->l0 = al, h->up = up, h->level = lev, h->labels = lab, h->locks = locks, h->cap = cap;
    h->keys = keys;
    return SL_OK;
}

/* Write the stored form of a user vector: normalised for cosine, extended by
 * the MIPS coordinate for IP (filled in by mips_refresh), zero padding. */
static void store_vector(const sl_hnsw *h, uint32_t id, const float *x) {
    float *v = vec_of(h, id);
    memcpy(v, x, h->dim * sizeof *v);
    for (size_t j = h->dim; j < h->dpad; j++) v[j] = 0;
    if (h->metric == SL_METRIC_COSINE) sl_rows_normalize(v, 1, h->dim);
}

static void mips_set(const sl_hnsw *h, uint32_t id) {
    float *v = vec_of(h, id);
    double s = sl__dot_d(v, v, h->dim);
    double e = h->R2 - s;
    v[h->dim] = e > 0 ? (float)sqrt(e) : 0.0f;
}

/* The query in stored form, into buf (dpad floats). For MIPS the query is
 * also scaled to norm R: scaling does not change which <q, x> is largest, and
 * a query on the same sphere as the extended base vectors is where the graph
 * was built to navigate, which raises recall markedly. */
static void query_form(const sl_hnsw *h, const float *q, float *buf) {
    memcpy(buf, q, h->dim * sizeof *buf);
    for (size_t j = h->dim; j < h->dpad; j++) buf[j] = 0;
    if (h->metric == SL_METRIC_COSINE) sl_rows_normalize(buf, 1, h->dim);
    if (h->metric == SL_METRIC_IP) {
        double s = sl__dot_d(buf, buf, h->dim);
        if (s > 0)
            for (size_t j = 0; j < h->dim; j++) buf[j] = (float)(buf[j] * sqrt(h->R2 / s));
    }
}

static int draw_level(const sl_hnsw *h, uint64_t id) {
    sl_rng r;
    sl_rng_seed(&r, h->seed, id + 1);
    double u = sl_rng_uniform_d(&r);
    if (u <= 0) u = 1e-300;
    double l = -log(u) * h->mult;
    return l >= HNSW_MAX_LEVEL ? HNSW_MAX_LEVEL : (int)l;
}

/* ---- add ----------------------------------------------------------------*/

/* After a stop: the new nodes that were never inserted have no links and no
 * node links to them (links to a node are made while it is inserted), so
 * they are simply marked deleted. Returns how many were inserted. */
static size_t drop_uninserted(sl_hnsw *h, size_t c0, size_t n, const unsigned char *inserted) {
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (inserted[i]) {
            kept++;
            continue;
        }
        uint32_t id = (uint32_t)(c0 + i);
        sl__free(h->up[id]);
        h->up[id] = NULL;
        h->level[id] = -1;
        links_at(h, id, 0)[0] = 0;
        h->live--;
    }
    return kept;
}

/* Refuse, before anything changes, the ids of n new rows that the index
 * cannot take: keys (NULL: the new node numbers) that are negative, live
 * already, or repeated within the batch. */
static sl_status check_new_keys(const sl_hnsw *h, const int64_t *keys, size_t n) {
    if (!keys) {
        /* Node numbers are new, but in an index with keys one may be a live key. */
        for (size_t i = 0; h->keys && i < n; i++)
            if (live_node(h, (int64_t)(h->count + i)) >= 0)
                return sl__fail(SL_ERR_ARG,
                                "hnsw add: row %zu would get id %zu (its node number), which the index already holds as "
                                "a key; give the new rows keys",
                                i, h->count + i);
        return SL_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (keys[i] < 0)
            return sl__fail(SL_ERR_ARG, "hnsw add: key %lld of row %zu is negative (keys are >= 0)", (long long)keys[i], i);
        if (live_node(h, keys[i]) >= 0)
            return sl__fail(SL_ERR_ARG, "hnsw add: key %lld of row %zu is already in the index", (long long)keys[i], i);
    }
    sl__keymap seen = {0};
    SL__TRY(sl__keymap_reserve(&seen, n));
    sl_status st = SL_OK;
    for (size_t i = 0; i < n && st == SL_OK; i++) {
        int64_t j = sl__keymap_get(&seen, keys[i]);
        if (j >= 0)
            st = sl__fail(SL_ERR_ARG, "hnsw add: key %lld is given twice, in rows %lld and %zu", (long long)keys[i],
                          (long long)j, i);
        else
            sl__keymap_put(&seen, keys[i], (int64_t)i); /* reserved: cannot fail */
    }
    sl__keymap_free(&seen);
    return st;
}

/* Before adding n rows, with keys given now or before: the key table and room
 * in the map for n more keys, so that recording them cannot fail. The first
 * add with keys gives every existing node its number as key. */
static sl_status keys_prepare(sl_hnsw *h, bool keyed, size_t n) {
    if (h->keys) return sl__keymap_reserve(&h->map, h->count + n);
    if (!keyed) return SL_OK;
    int64_t *k = sl__malloc_array(h->cap, sizeof *k, "hnsw: keys");
    sl__keymap m = {0};
    sl_status st = k ? sl__keymap_reserve(&m, h->count + n) : SL_ERR_NOMEM;
    if (st != SL_OK) {
        sl__free(k);
        return st;
    }
    for (size_t i = 0; i < h->count; i++) {
        k[i] = (int64_t)i;
        sl__keymap_put(&m, (int64_t)i, (int64_t)i); /* reserved: cannot fail */
    }
    h->keys = k, h->map = m;
    return SL_OK;
}

/* Draw the levels of nodes c0 .. c0+n-1 and allocate their upper levels;
 * on failure nothing is left allocated. */
static sl_status alloc_levels(sl_hnsw *h, size_t c0, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int L = draw_level(h, c0 + i);
        h->up[c0 + i] = NULL;
        if (L > 0) {
            h->up[c0 + i] = sl__calloc((size_t)L * (h->M + 1), sizeof(uint32_t));
            if (!h->up[c0 + i]) {
                for (size_t j = 0; j <= i; j++) sl__free(h->up[c0 + j]), h->up[c0 + j] = NULL;
                return sl__fail(SL_ERR_NOMEM, "hnsw add: out of memory for links");
            }
        }
        h->level[c0 + i] = L;
    }
    return SL_OK;
}

/* Store n new rows as nodes c0 .. c0+n-1 (vectors, labels, keys), not yet
 * linked; on failure the index is unchanged. */
static sl_status add_store(sl_hnsw *h, const float *x, size_t n, const int64_t *keys, const int64_t *labels) {
    SL__TRY(reserve(h, h->count + n));
    size_t c0 = h->count;
    /* Allocate every new node's upper levels first, so a failure leaves the index unchanged. */
    SL__TRY(alloc_levels(h, c0, n));
    sl_status st = keys_prepare(h, keys != NULL, n);
    if (st != SL_OK) {
        for (size_t i = 0; i < n; i++) sl__free(h->up[c0 + i]), h->up[c0 + i] = NULL;
        return st;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t id = (uint32_t)(c0 + i);
        store_vector(h, id, x + i * h->dim);
        links_at(h, id, 0)[0] = 0;
        h->labels[id] = labels ? labels[i] : -1;
        atomic_store(&h->locks[id], 0);
        if (h->keys) {
            h->keys[id] = keys ? keys[i] : (int64_t)id;
            sl__keymap_put(&h->map, h->keys[id], (int64_t)id); /* reserved: cannot fail */
        }
    }
    if (h->metric == SL_METRIC_IP) {
        /* A longer vector raises R and changes every node's extra coordinate. */
        double r2 = h->R2;
        for (size_t i = 0; i < n; i++) {
            const float *v = vec_of(h, (uint32_t)(c0 + i));
            double s = sl__dot_d(v, v, h->dim);
            if (s > r2) r2 = s;
        }
        bool grew = r2 > h->R2;
        h->R2 = r2;
        for (size_t i = grew ? 0 : c0; i < c0 + n; i++)
            if (h->level[i] >= 0) mips_set(h, (uint32_t)i);
    }
    h->count = c0 + n;
    h->live += n;
    return SL_OK;
}

/* Link the stored nodes c0 .. c0+n-1 into the graph, in parallel; after a
 * stop, those not inserted are marked deleted. *kept: how many went in. */
static sl_status add_link_nodes(sl_hnsw *h, size_t c0, size_t n, sl_progress *progress,
                                const volatile sig_atomic_t *stop, size_t *kept) {
    int nt = omp_get_max_threads();
    scratch *sc = sl__calloc((size_t)nt, sizeof *sc);
    /* With a stop flag, which rows went in (a stop skips the rest, in any order). */
    unsigned char *inserted = stop ? sl__calloc(n, 1) : NULL;
    sl_status st = sc && (!stop || inserted) ? SL_OK : sl__fail(SL_ERR_NOMEM, "hnsw add: out of memory");
    for (int t = 0; t < nt && st == SL_OK; t++) st = scratch_init(&sc[t], h, h->count);
    _Atomic size_t done = 0;
    _Atomic int failed = 0;
    if (st == SL_OK) {
        /* The first node is inserted alone so the parallel loop always has an entry point. */
        size_t start = c0;
        if (h->ep < 0) {
            insert_node(h, &sc[0], (uint32_t)c0);
            if (inserted) inserted[0] = 1;
            start++;
            done++;
        }
#pragma omp parallel for schedule(dynamic, 64)
        for (size_t i = start; i < c0 + n; i++) {
            if (atomic_load(&failed) || (stop && *stop)) continue;
            scratch *s = &sc[omp_get_thread_num()];
            if (!insert_node(h, s, (uint32_t)i)) atomic_store(&failed, 1);
            else if (inserted) inserted[i - c0] = 1;
            size_t dn = ++done;
            if (progress && omp_get_thread_num() == 0) sl_progress_update(progress, dn, NULL);
        }
        if (failed) st = sl__fail(SL_ERR_NOMEM, "hnsw add: out of memory during insertion");
    }
    if (sc)
        for (int t = 0; t < nt; t++) scratch_free(&sc[t]);
    sl__free(sc);
    *kept = n;
    if (st == SL_OK && inserted && (*kept = drop_uninserted(h, c0, n, inserted)) < n)
        st = sl__fail(SL_ERR_INTERRUPTED, "hnsw add: interrupted after %zu of %zu vectors", *kept, n);
    sl__free(inserted);
    return st;
}

static sl_status add_rows(sl_hnsw *h, const float *x, size_t n, const int64_t *keys, const int64_t *labels,
                          sl_progress *progress, const volatile sig_atomic_t *stop, int64_t *first_id) {
    if (n == 0) return sl__fail(SL_ERR_ARG, "hnsw add: no vectors given");
    SL__TRY(sl__check_finite(x, n, h->dim, "hnsw add"));
    if (h->count + n > UINT32_MAX - 1) return sl__fail(SL_ERR_RANGE, "hnsw: at most %u vectors", UINT32_MAX - 1);
    SL__TRY(check_new_keys(h, keys, n));
    if (stop && *stop) return sl__fail(SL_ERR_INTERRUPTED, "hnsw add: interrupted before the first vector");
    size_t c0 = h->count, kept = 0;
    SL__TRY(add_store(h, x, n, keys, labels));
    sl_status st = add_link_nodes(h, c0, n, progress, stop, &kept);
    if (st == SL_OK || st == SL_ERR_INTERRUPTED) {
        sl_status rs = repair_reachability(h);
        if (rs != SL_OK) st = rs;
    }
    if (progress) sl_progress_update(progress, st == SL_ERR_INTERRUPTED ? kept : n, NULL);
    if ((st == SL_OK || st == SL_ERR_INTERRUPTED) && first_id) *first_id = (int64_t)c0;
    return st;
}

sl_status sl_hnsw_add(sl_hnsw *h, const float *x, size_t n, const int64_t *labels, sl_progress *progress,
                      const volatile sig_atomic_t *stop, int64_t *first_id) {
    return add_rows(h, x, n, NULL, labels, progress, stop, first_id);
}

sl_status sl_hnsw_add_keys(sl_hnsw *h, const float *x, size_t n, const int64_t *keys, const int64_t *labels,
                           sl_progress *progress, const volatile sig_atomic_t *stop) {
    return add_rows(h, x, n, keys, labels, progress, stop, NULL);
}

/* ---- delete -------------------------------------------------------------*/

/* Mark the nodes that ids name in del (count entries, zeroed), or fail
 * naming the first id that names no node or a deleted one. */
static sl_status delete_marks(const sl_hnsw *h, const int64_t *ids, size_t n, unsigned char *del) {
    for (size_t i = 0; i < n; i++) {
        int64_t v = node_named(h, ids[i]);
        if (v < 0 && h->keys)
            return sl__fail(SL_ERR_RANGE, "hnsw delete: id %lld is not in the index", (long long)ids[i]);
        if (v < 0)
            return sl__fail(SL_ERR_RANGE, "hnsw delete: id %lld is not in the index (ids 0 .. %zu)", (long long)ids[i],
                            h->count ? h->count - 1 : 0);
        if (h->level[v] < 0 || del[v])
            return sl__fail(SL_ERR_STATE, "hnsw delete: id %lld is already deleted", (long long)ids[i]);
        del[v] = 1;
    }
    return SL_OK;
}

sl_status sl_hnsw_delete(sl_hnsw *h, const int64_t *ids, size_t n) {
    if (n == 0) return SL_OK;
    unsigned char *del = sl__calloc(h->count ? h->count : 1, 1);
    if (!del) return sl__fail(SL_ERR_NOMEM, "hnsw delete: out of memory");
    sl_status st = delete_marks(h, ids, n, del);
    if (st != SL_OK) {
        sl__free(del);
        return st;
    }
    int nt = omp_get_max_threads();
    scratch *sc = sl__calloc((size_t)nt, sizeof *sc);
    if (!sc) st = sl__fail(SL_ERR_NOMEM, "hnsw delete: out of memory");
    for (int t = 0; t < nt && st == SL_OK; t++) st = scratch_init(&sc[t], h, 1);
    /* Candidate lists can hold a node's links plus those of all its deleted
     * neighbours: at most (1 + max_links) * max_links. */
    size_t ccap = (h->M0 + 1) * (h->M0 + 1);
    pair *cbuf = st == SL_OK ? sl__malloc_array((size_t)nt * ccap, sizeof *cbuf, "hnsw delete: candidates") : NULL;
    if (st == SL_OK && !cbuf) st = SL_ERR_NOMEM;
    if (st != SL_OK) {
        if (sc)
            for (int t = 0; t < nt; t++) scratch_free(&sc[t]);
        sl__free(sc), sl__free(del);
        return st;
    }
    /* Each live node that links to a deleted one re-selects its links among
     * its surviving links and the deleted nodes' surviving links. Nodes only
     * write their own lists and read the deleted nodes' lists, which stay
     * unchanged until the end, so the loop runs in parallel without locks. */
    for (int l = 0; l <= h->max_level; l++) {
        size_t mx = max_links(h, l);
#pragma omp parallel for schedule(dynamic, 256)
        for (size_t v = 0; v < h->count; v++) {
            if (h->level[v] < l || del[v]) continue;
            uint32_t *lk = links_at(h, (uint32_t)v, l);
            bool touched = false;
            for (uint32_t j = 0; j < lk[0] && !touched; j++) touched = del[lk[1 + j]];
            if (!touched) continue;
            int t = omp_get_thread_num();
            pair *c = cbuf + (size_t)t * ccap;
            scratch *s = &sc[t];
            const float *vv = vec_of(h, (uint32_t)v);
            size_t cn = 0;
            for (uint32_t j = 0; j < lk[0]; j++) {
                uint32_t u = lk[1 + j];
                if (!del[u]) {
                    c[cn++] = (pair){0, u};
                    continue;
                }
                const uint32_t *dl = links_at(h, u, l);
                for (uint32_t i = 0; i < dl[0]; i++)
                    if (!del[dl[1 + i]] && dl[1 + i] != v) c[cn++] = (pair){0, dl[1 + i]};
            }
            /* Drop duplicates, then score and select. */
            qsort(c, cn, sizeof *c, pair_id_cmp);
            size_t w = 0;
            for (size_t i = 0; i < cn; i++)
                if (w == 0 || c[w - 1].id != c[i].id) c[w++] = c[i];
            cn = w;
            for (size_t i = 0; i < cn; i++) c[i].d = dist(h, vv, c[i].id);
            qsort(c, cn, sizeof *c, pair_cmp);
            size_t k = select_heuristic(h, c, cn, mx, s->sel);
            for (size_t i = 0; i < k; i++) lk[1 + i] = s->sel[i].id;
            lk[0] = (uint32_t)k;
        }
    }
    for (int t = 0; t < nt; t++) scratch_free(&sc[t]);
    sl__free(sc), sl__free(cbuf);
    for (uint32_t id = 0; id < h->count; id++) {
        if (!del[id]) continue;
        sl__free(h->up[id]);
        h->up[id] = NULL;
        h->level[id] = -1;
        links_at(h, id, 0)[0] = 0;
    }
    h->live -= n;
    if (h->ep >= 0 && del[h->ep]) {
        /* The new entry point is a live node on the highest remaining level. */
        int64_t best = -1;
        int bl = -1;
        for (size_t i = 0; i < h->count; i++)
            if (h->level[i] > bl) bl = h->level[i], best = (int64_t)i;
        h->ep = best;
        h->max_level = bl;
    }
    sl__free(del);
    return repair_reachability(h);
}

/* ---- search -------------------------------------------------------------*/

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef sl__cand scored;

/* The filter as a per-node 0/1 array (*out, count entries), or NULL when
 * it lets every node through. */
static sl_status filter_mask(const sl_hnsw *h, const sl_hnsw_filter *filter, unsigned char **out) {
    *out = NULL;
    if (!filter || (!filter->allow_ids && !filter->allow_labels)) return SL_OK;
    unsigned char *allow = sl__malloc(h->count);
    if (!allow) return sl__fail(SL_ERR_NOMEM, "hnsw search: out of memory for the filter");
    memset(allow, filter->allow_ids ? 0 : 1, h->count);
    if (filter->allow_ids)
        for (size_t i = 0; i < filter->n_allow_ids; i++) {
            int64_t v = node_named(h, filter->allow_ids[i]);
            if (v >= 0) allow[v] = 1;
        }
    if (filter->allow_labels) {
        int64_t *ls = sl__malloc_array(filter->n_allow_labels ? filter->n_allow_labels : 1, sizeof *ls,
                                       "hnsw search: labels");
        if (!ls) {
            sl__free(allow);
            return SL_ERR_NOMEM;
        }
        memcpy(ls, filter->allow_labels, filter->n_allow_labels * sizeof *ls);
        qsort(ls, filter->n_allow_labels, sizeof *ls, cmp_i64);
        for (size_t i = 0; i < h->count; i++)
            if (allow[i] && !bsearch(&h->labels[i], ls, filter->n_allow_labels, sizeof *ls, cmp_i64)) allow[i] = 0;
        sl__free(ls);
    }
    *out = allow;
    return SL_OK;
}

sl_status sl_hnsw_search(const sl_hnsw *h, const float *queries, size_t nq, size_t k, size_t ef,
                         const sl_hnsw_filter *filter, int64_t *ids, float *scores) {
    if (k == 0) return sl__fail(SL_ERR_ARG, "hnsw search: k must be at least 1");
    if (ef == 0) return sl__fail(SL_ERR_ARG, "hnsw search: ef must be at least 1");
    if (h->ep < 0) return sl__fail(SL_ERR_STATE, "hnsw search: the index is empty");
    if (nq == 0) return SL_OK;
    SL__TRY(sl__check_finite(queries, nq, h->dim, "hnsw search: queries"));
    if (ef < k) ef = k;
    unsigned char *allow;
    SL__TRY(filter_mask(h, filter, &allow));
    const int64_t *keys = h->keys; /* NULL: ids are node numbers */
    int nt = omp_get_max_threads();
    scratch *sc = sl__calloc((size_t)nt, sizeof *sc);
    scored *sb = sl__malloc_array((size_t)nt * (ef + 1), sizeof *sb, "hnsw search: results");
    pair *pb = sl__malloc_array((size_t)nt * (ef + 1), sizeof *pb, "hnsw search: results");
    sl_status st = sc && sb && pb ? SL_OK : sl__fail(SL_ERR_NOMEM, "hnsw search: out of memory");
    for (int t = 0; t < nt && st == SL_OK; t++) st = scratch_init(&sc[t], h, h->count);
    _Atomic int failed = 0;
    if (st == SL_OK) {
#pragma omp parallel for schedule(dynamic, 16)
        for (size_t i = 0; i < nq; i++) {
            int t = omp_get_thread_num();
            scratch *s = &sc[t];
            scored *out = sb + (size_t)t * (ef + 1);
            const float *uq = queries + i * h->dim;
            query_form(h, uq, s->qbuf);
            uint32_t cur = (uint32_t)h->ep;
            float dcur = dist(h, s->qbuf, cur);
            for (int l = h->max_level; l > 0; l--) cur = greedy(h, s, s->qbuf, cur, &dcur, l, false);
            size_t n = 0;
            pair *found = pb + (size_t)t * (ef + 1);
            if (!search_level(h, s, s->qbuf, cur, 0, ef, false, allow))
                atomic_store(&failed, 1);
            else
                n = drain_sorted(s, found);
            /* Exact scores of the k best from the stored vectors, best
             * first, ties by id. */
            if (n > k) n = k;
            for (size_t j = 0; j < n; j++) {
                uint32_t v = found[j].id;
                out[j].id = keys ? keys[v] : (int64_t)v;
                if (h->metric == SL_METRIC_L2)
                    out[j].key = sl__exact_score(SL_METRIC_L2, uq, vec_of(h, v), h->dim);
                else if (h->metric == SL_METRIC_IP)
                    out[j].key = -sl__dot_d(uq, vec_of(h, v), h->dim);
                else
                    out[j].key = -sl__dot_d(s->qbuf, vec_of(h, v), h->dim);
            }
            qsort(out, n, sizeof *out, sl__cand_cmp);
            for (size_t j = 0; j < k; j++) {
                ids[i * k + j] = j < n ? out[j].id : -1;
                scores[i * k + j] = j < n ? (float)(h->metric == SL_METRIC_L2 ? out[j].key : -out[j].key) : NAN;
            }
        }
        if (failed) st = sl__fail(SL_ERR_NOMEM, "hnsw search: out of memory");
    }
    if (sc)
        for (int t = 0; t < nt; t++) scratch_free(&sc[t]);
    sl__free(sc), sl__free(sb), sl__free(pb), sl__free(allow);
    return st;
}

/* ---- info, check --------------------------------------------------------*/

size_t sl_hnsw_size(const sl_hnsw *h) { return h->count; }

size_t sl_hnsw_dim(const sl_hnsw *h) { return h->dim; }

size_t sl_hnsw_live(const sl_hnsw *h) { return h->live; }

bool sl_hnsw_contains(const sl_hnsw *h, int64_t id) { return live_node(h, id) >= 0; }

sl_status sl_hnsw_get_vector(const sl_hnsw *h, int64_t id, float *out) {
    int64_t v = live_node(h, id);
    if (v < 0) return sl__fail(SL_ERR_NOTFOUND, "hnsw: id %lld is not in the index", (long long)id);
    memcpy(out, vec_of(h, (uint32_t)v), h->dim * sizeof *out);
    return SL_OK;
}

void sl_hnsw_get_info(const sl_hnsw *h, sl_hnsw_info *o) {
    memset(o, 0, sizeof *o);
    o->dim = h->dim, o->M = h->M, o->ef_construction = h->efc, o->metric = h->metric;
    o->size = h->count, o->live = h->live, o->max_level = h->max_level;
    o->entry_point = h->ep >= 0 && h->keys ? h->keys[h->ep] : h->ep;
    o->bytes = sizeof *h + h->cap * (h->stride + sizeof *h->up + sizeof *h->level + sizeof *h->labels + 1);
    o->keyed = h->keys != NULL;
    if (h->keys) o->bytes += h->cap * sizeof *h->keys + h->map.cap * sizeof *h->map.slots;
    for (size_t i = 0; i < h->count; i++) {
        if (h->level[i] < 0) continue;
        o->links_level0 += links_at(h, (uint32_t)i, 0)[0];
        o->bytes += (size_t)h->level[i] * (h->M + 1) * sizeof(uint32_t);
    }
}

/* With keys: every live node's key is >= 0 and the map names the node. */
static sl_status check_keys(const sl_hnsw *h) {
    if (!h->keys) return SL_OK;
    if (h->map.n > h->count)
        return sl__fail(SL_ERR_STATE, "hnsw check: %zu keys in the map but %zu nodes", h->map.n, h->count);
    for (size_t v = 0; v < h->count; v++) {
        if (h->level[v] < 0) continue;
        int64_t key = h->keys[v], named = sl__keymap_get(&h->map, key);
        if (key < 0) return sl__fail(SL_ERR_STATE, "hnsw check: node %zu has the negative key %lld", v, (long long)key);
        if (named != (int64_t)v)
            return sl__fail(SL_ERR_STATE, "hnsw check: node %zu has key %lld, but the key map names node %lld", v,
                            (long long)key, (long long)named);
    }
    return SL_OK;
}

sl_status sl_hnsw_check(const sl_hnsw *h) {
    int top = -1;
    size_t live = 0;
    for (size_t v = 0; v < h->count; v++) {
        int L = h->level[v];
        if (L < -1 || L > HNSW_MAX_LEVEL) return sl__fail(SL_ERR_STATE, "hnsw check: node %zu has level %d", v, L);
        if (L < 0) continue;
        live++;
        if (L > top) top = L;
        if (L > 0 && !h->up[v]) return sl__fail(SL_ERR_STATE, "hnsw check: node %zu lacks its upper levels", v);
        for (int l = 0; l <= L; l++) {
            const uint32_t *lk = links_at(h, (uint32_t)v, l);
            if (lk[0] > max_links(h, l))
                return sl__fail(SL_ERR_STATE, "hnsw check: node %zu has %u links on level %d, at most %zu", v, lk[0],
                                l, max_links(h, l));
            for (uint32_t j = 0; j < lk[0]; j++) {
                uint32_t u = lk[1 + j];
                if (u == v) return sl__fail(SL_ERR_STATE, "hnsw check: node %zu links to itself on level %d", v, l);
                if (u >= h->count)
                    return sl__fail(SL_ERR_STATE, "hnsw check: node %zu links to %u on level %d, beyond the %zu nodes",
                                    v, u, l, h->count);
                if (h->level[u] < l)
                    return sl__fail(SL_ERR_STATE, "hnsw check: node %zu links to %s node %u on level %d", v,
                                    h->level[u] < 0 ? "deleted" : "a lower", u, l);
                for (uint32_t i = 0; i < j; i++)
                    if (lk[1 + i] == u)
                        return sl__fail(SL_ERR_STATE, "hnsw check: node %zu links twice to %u on level %d", v, u, l);
            }
        }
    }
    if (live != h->live) return sl__fail(SL_ERR_STATE, "hnsw check: %zu live nodes, counted %zu", h->live, live);
    if (live == 0) {
        if (h->ep != -1) return sl__fail(SL_ERR_STATE, "hnsw check: empty index with an entry point");
        return SL_OK;
    }
    if (h->ep < 0 || (uint64_t)h->ep >= h->count || h->level[h->ep] != top || h->max_level != top)
        return sl__fail(SL_ERR_STATE, "hnsw check: entry point %lld (level %d) is not on the top level %d",
                        (long long)h->ep, h->ep >= 0 && (uint64_t)h->ep < h->count ? h->level[h->ep] : -2, top);
    SL__TRY(check_keys(h));
    unsigned char *reached = sl__malloc(h->count);
    uint32_t *queue = sl__malloc_array(h->count, sizeof *queue, "hnsw check");
    if (!reached || !queue) {
        sl__free(reached), sl__free(queue);
        return sl__fail(SL_ERR_NOMEM, "hnsw check: out of memory");
    }
    size_t missing = bfs_level0(h, reached, queue);
    size_t first = 0;
    while (missing && first < h->count && (h->level[first] < 0 || reached[first])) first++;
    sl__free(reached), sl__free(queue);
    if (missing)
        return sl__fail(SL_ERR_STATE, "hnsw check: %zu live nodes are not reachable from the entry point (first: %zu)",
                        missing, first);
    return SL_OK;
}

/* ---- save / load --------------------------------------------------------*/

typedef struct {
    FILE *f;
    uint64_t hash;
} writer;

static void put(writer *w, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) w->hash = (w->hash ^ b[i]) * 0x100000001b3ULL;
    fwrite(p, 1, n, w->f);
}
static void put_u32(writer *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(writer *w, uint64_t v) { put(w, &v, 8); }

sl_status sl_hnsw_save(const sl_hnsw *h, const char *path) {
    sl_afile *af;
    SL__TRY(sl_afile_open(path, &af));
    writer w = {sl_afile_stream(af), SL__FNV1A_INIT};
    put(&w, hnsw_magic, 8);
    put_u32(&w, h->keys ? HNSW_VERSION_KEYS : HNSW_VERSION);
    put_u32(&w, (uint32_t)h->metric);
    put_u64(&w, h->dim);
    put_u64(&w, h->M);
    put_u64(&w, h->efc);
    put_u64(&w, h->seed);
    put_u64(&w, h->count);
    put_u64(&w, h->live);
    put_u64(&w, (uint64_t)h->ep);
    put_u64(&w, (uint64_t)(int64_t)h->max_level);
    put(&w, &h->R2, 8);
    for (size_t i = 0; i < h->count; i++) {
        int32_t L = h->level[i];
        put(&w, &L, 4);
        put(&w, &h->labels[i], 8);
        if (h->keys) put(&w, &h->keys[i], 8);
        if (L < 0) continue;
        put(&w, vec_of(h, (uint32_t)i), h->vdim * sizeof(float));
        for (int l = 0; l <= L; l++) {
            const uint32_t *lk = links_at(h, (uint32_t)i, l);
            put(&w, lk, (1 + (size_t)lk[0]) * sizeof *lk);
        }
    }
    uint64_t sum = w.hash;
    fwrite(&sum, 8, 1, w.f);
    return sl_afile_commit(af);
}

typedef sl__reader reader;

typedef struct {
    uint32_t version, metric;
    uint64_t dim, M, efc, seed, count, live, ep, maxl;
    double R2;
} file_header;

/* The magic, the version and the checksum (after which r->n excludes the
 * checksum's 8 bytes), then the header fields, each checked. */
static sl_status load_header(reader *r, file_header *fh) {
    char magic[8];
    memset(fh, 0, sizeof *fh);
    SL__TRY(sl__reader_get(r, magic, 8, "the magic"));
    if (memcmp(magic, hnsw_magic, 8) != 0)
        return sl__fail(SL_ERR_FORMAT, "%s: not a simlearn HNSW index (wrong magic)", r->path);
    SL__TRY(sl__reader_get(r, &fh->version, 4, "the version"));
    if (fh->version != HNSW_VERSION && fh->version != HNSW_VERSION_KEYS)
        return sl__fail(SL_ERR_FORMAT, "%s: format version %u, this build reads versions %d and %d", r->path,
                        fh->version, HNSW_VERSION, HNSW_VERSION_KEYS);
    /* The checksum covers everything but its own 8 bytes. */
    SL__TRY(sl__reader_checksum(r));
    SL__TRY(sl__reader_get(r, &fh->metric, 4, "the metric"));
    uint64_t *u[] = {&fh->dim, &fh->M, &fh->efc, &fh->seed, &fh->count, &fh->live, &fh->ep, &fh->maxl};
    for (size_t i = 0; i < sizeof u / sizeof *u; i++) SL__TRY(sl__reader_get(r, u[i], 8, "the header"));
    SL__TRY(sl__reader_get(r, &fh->R2, 8, "the header"));
    if (fh->metric > 2) return sl__fail(SL_ERR_FORMAT, "%s: unknown metric code %u", r->path, fh->metric);
    if (fh->dim == 0 || fh->dim > ((uint64_t)1 << 24))
        return sl__fail(SL_ERR_FORMAT, "%s: dimension %llu out of range", r->path, (unsigned long long)fh->dim);
    if (fh->M < 2 || fh->M > 512)
        return sl__fail(SL_ERR_FORMAT, "%s: M = %llu out of range", r->path, (unsigned long long)fh->M);
    if (fh->efc == 0 || fh->efc > 100000)
        return sl__fail(SL_ERR_FORMAT, "%s: ef_construction %llu out of range", r->path, (unsigned long long)fh->efc);
    /* Every node takes at least 12 bytes (20 with its key), so the count is
     * bounded by the file. */
    size_t least = fh->version == HNSW_VERSION_KEYS ? 20 : 12;
    if (fh->count > (r->n - r->pos) / least || fh->live > fh->count)
        return sl__fail(SL_ERR_FORMAT, "%s: %llu nodes (%llu live) cannot fit in %zu bytes", r->path,
                        (unsigned long long)fh->count, (unsigned long long)fh->live, r->n);
    if (!(fh->R2 >= 0) || !isfinite(fh->R2)) return sl__fail(SL_ERR_FORMAT, "%s: bad MIPS norm %g", r->path, fh->R2);
    return SL_OK;
}

/* Record node i's key from a version-2 file (its level already read): a
 * negative key, or one that a live node before it has, while it is live too,
 * is refused. The map keeps a key's live node, else its latest. */
static sl_status load_key(const reader *r, sl_hnsw *h, size_t i, int64_t key) {
    if (key < 0)
        return sl__fail(SL_ERR_FORMAT, "%s: node %zu has the negative key %lld (keys are >= 0)", r->path, i,
                        (long long)key);
    h->keys[i] = key;
    int64_t prev = sl__keymap_get(&h->map, key);
    if (prev >= 0 && h->level[prev] >= 0) {
        if (h->level[i] >= 0)
            return sl__fail(SL_ERR_FORMAT, "%s: node %zu has key %lld, which live node %lld has too", r->path, i,
                            (long long)key, (long long)prev);
        return SL_OK;
    }
    return sl__keymap_put(&h->map, key, (int64_t)i);
}

/* Read node i (its record up to the vector, then for a live node the vector
 * and the link lists) into h; *nlive counts the live ones. */
static sl_status load_node(reader *r, sl_hnsw *h, size_t i, size_t *nlive) {
    int32_t L = 0;
    int64_t lab = 0, key = 0;
    SL__TRY(sl__reader_get(r, &L, 4, "a node level"));
    SL__TRY(sl__reader_get(r, &lab, 8, "a node label"));
    if (L < -1 || L > HNSW_MAX_LEVEL) return sl__fail(SL_ERR_FORMAT, "%s: node %zu has level %d", r->path, i, L);
    h->level[i] = L;
    h->labels[i] = lab;
    h->up[i] = NULL;
    h->count = i + 1;
    float *v = vec_of(h, (uint32_t)i);
    memset(v, 0, h->dpad * sizeof *v);
    links_at(h, (uint32_t)i, 0)[0] = 0;
    if (h->keys) {
        SL__TRY(sl__reader_get(r, &key, 8, "a node key"));
        SL__TRY(load_key(r, h, i, key));
    }
    if (L < 0) return SL_OK;
    (*nlive)++;
    if (L > 0 && !(h->up[i] = sl__calloc((size_t)L * (h->M + 1), sizeof(uint32_t))))
        return sl__fail(SL_ERR_NOMEM, "%s: out of memory", r->path);
    SL__TRY(sl__reader_get(r, v, h->vdim * sizeof(float), "a vector"));
    SL__TRY(sl__check_finite(v, 1, h->vdim, r->path));
    for (int l = 0; l <= L; l++) {
        uint32_t *lk = links_at(h, (uint32_t)i, l);
        uint32_t cnt = 0;
        SL__TRY(sl__reader_get(r, &cnt, 4, "a link count"));
        if (cnt > max_links(h, l))
            return sl__fail(SL_ERR_FORMAT, "%s: node %zu has %u links on level %d, at most %zu", r->path, i, cnt, l,
                            max_links(h, l));
        SL__TRY(sl__reader_get(r, lk + 1, (size_t)cnt * 4, "a link list"));
        lk[0] = cnt;
    }
    return SL_OK;
}

static sl_status load_body(reader *r, sl_hnsw **out) {
    file_header fh;
    SL__TRY(load_header(r, &fh));
    sl_hnsw_config cfg = {.dim = fh.dim, .metric = (sl_metric)fh.metric, .M = fh.M, .ef_construction = fh.efc,
                          .seed = fh.seed};
    sl_hnsw *h;
    SL__TRY(sl_hnsw_create(&cfg, &h));
    sl_status st = fh.count ? reserve(h, fh.count) : SL_OK;
    if (st == SL_OK && fh.version == HNSW_VERSION_KEYS) {
        /* The map is sized for every node first, so recording keys cannot fail. */
        h->keys = sl__malloc_array(h->cap ? h->cap : 1, sizeof *h->keys, "hnsw: keys");
        st = h->keys ? sl__keymap_reserve(&h->map, fh.count) : SL_ERR_NOMEM;
    }
    h->R2 = fh.R2;
    size_t nlive = 0;
    for (size_t i = 0; i < fh.count && st == SL_OK; i++) st = load_node(r, h, i, &nlive);
    if (st == SL_OK && r->pos != r->n)
        st = sl__fail(SL_ERR_FORMAT, "%s: %zu unexpected bytes after the last node", r->path, r->n - r->pos);
    if (st == SL_OK) {
        h->live = nlive;
        h->ep = (int64_t)fh.ep;
        h->max_level = (int)(int64_t)fh.maxl;
        if (nlive != fh.live)
            st = sl__fail(SL_ERR_FORMAT, "%s: header says %llu live nodes, found %zu", r->path,
                          (unsigned long long)fh.live, nlive);
    }
    if (st == SL_OK) {
        sl_status c = sl_hnsw_check(h);
        /* Running out of memory for the check says nothing about the file. */
        if (c == SL_ERR_NOMEM)
            st = sl__fail_prefix(c, "%s: checking the graph", r->path);
        else if (c != SL_OK)
            st = sl__fail_prefix(SL_ERR_FORMAT, "%s: inconsistent graph", r->path);
    }
    if (st != SL_OK) {
        sl_hnsw_destroy(h);
        return st;
    }
    *out = h;
    return SL_OK;
}

sl_status sl_hnsw_load(const char *path, sl_hnsw **out) {
    unsigned char *buf;
    size_t sz;
    SL__TRY(sl__file_read(path, "a simlearn HNSW index", &buf, &sz));
    reader r = {buf, sz, 0, path};
    sl_status st = load_body(&r, out);
    sl__free(buf);
    return st;
}

sl_status sl__hnsw_peek(const char *path, sl__hnsw_facts *out) {
    /* magic, version, metric, dim, M, ef_construction, seed, count, live */
    unsigned char hd[8 + 4 + 4 + 6 * 8];
    FILE *f = fopen(path, "rb");
    if (!f) return sl__fail(SL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t got = fread(hd, 1, sizeof hd, f);
    long sz = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    uint64_t sum = 0;
    bool tail = sz >= 8 && fseek(f, sz - 8, SEEK_SET) == 0 && fread(&sum, 8, 1, f) == 1;
    fclose(f);
    if (got < 8 || memcmp(hd, hnsw_magic, 8) != 0)
        return sl__fail(SL_ERR_FORMAT, "%s: not a simlearn HNSW index (wrong magic)", path);
    if (got < sizeof hd || !tail) return sl__fail(SL_ERR_FORMAT, "%s: file too short for an HNSW index (truncated?)", path);
    uint32_t metric;
    uint64_t v[6];
    memcpy(&metric, hd + 12, 4);
    memcpy(v, hd + 16, sizeof v);
    *out = (sl__hnsw_facts){.metric = metric <= 2 ? (sl_metric)metric : SL_METRIC_L2, .dim = v[0], .M = v[1],
                            .ef_construction = v[2], .live = v[5], .bytes = (uint64_t)sz, .checksum = sum};
    if (metric > 2) return sl__fail(SL_ERR_FORMAT, "%s: unknown metric code %u", path, metric);
    return SL_OK;
}

/* Poincaré embeddings of a hierarchy (Nickel & Kiela 2017): the edge list,
 * the distance and the loss's gradient, Riemannian SGD over OpenMP threads
 * (Hogwild), and the ranking evaluations (reconstruction, link prediction). */
#include "words/words_internal.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define POLL_EDGES 64     /* edges between two looks at the stop flag */
#define NEG_TRIES 64      /* draws per wanted negative before giving up on it */
#define MAX_NEGATIVE 1000
#define DIST_ROUNDS 8     /* rounds per epoch in a distributed run: the ranks add up their changes after each */

/* ---- edge lists -------------------------------------------------------------*/
void sl_words_edges_destroy(sl_words_edges *e) {
    if (!e) return;
    if (e->name)
        for (size_t i = 0; i < e->nnodes; i++) sl__free(e->name[i]);
    sl__free(e->name);
    sl__free(e->count);
    sl__free(e->first);
    sl__free(e->child);
    sl__free(e->parent);
    sl__free(e);
}

/* Sort key of an edge: child in the high half, parent in the low half. */
static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Fill e's edge arrays from packed (child << 32 | parent) keys: sorted,
 * without duplicates, with the per-node offsets and counts. */
static sl_status edges_from_keys(sl_words_edges *e, uint64_t *key, size_t n) {
    qsort(key, n, sizeof *key, cmp_u64);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || key[i] != key[m - 1]) key[m++] = key[i];
    e->nedges = m;
    e->child = sl__malloc_array(m ? m : 1, sizeof *e->child, "edge list");
    e->parent = sl__malloc_array(m ? m : 1, sizeof *e->parent, "edge list");
    e->first = sl__calloc(e->nnodes + 1, sizeof *e->first);
    e->count = sl__calloc(e->nnodes ? e->nnodes : 1, sizeof *e->count);
    if (!e->child || !e->parent || !e->first || !e->count) return sl__fail(SL_ERR_NOMEM, "edge list: out of memory");
    for (size_t i = 0; i < m; i++) {
        e->child[i] = (uint32_t)(key[i] >> 32);
        e->parent[i] = (uint32_t)key[i];
        e->first[e->child[i] + 1]++;
        e->count[e->child[i]]++;
        e->count[e->parent[i]]++;
    }
    for (size_t i = 0; i < e->nnodes; i++) e->first[i + 1] += e->first[i];
    return SL_OK;
}

/* A new edge list owning `names` (nnodes, from sl__malloc), built from keys. */
static sl_status edges_make(char **names, size_t nnodes, uint64_t *key, size_t nkeys, sl_words_edges **out) {
    sl_words_edges *e = sl__calloc(1, sizeof *e);
    if (!e) {
        for (size_t i = 0; i < nnodes; i++) sl__free(names[i]);
        sl__free(names);
        return sl__fail(SL_ERR_NOMEM, "edge list: out of memory");
    }
    e->name = names;
    e->nnodes = nnodes;
    sl_status s = edges_from_keys(e, key, nkeys);
    if (s) {
        sl_words_edges_destroy(e);
        return s;
    }
    *out = e;
    return SL_OK;
}

/* ---- names: an open-addressing table from name to index ----------------------*/
typedef struct names {
    char **name;
    size_t n, cap;      /* names held; capacity of name[] */
    uint32_t *slot;     /* index + 1, 0 = empty */
    size_t mask;
} names;

static void names_free(names *t, bool keep_names) {
    if (!keep_names) {
        for (size_t i = 0; i < t->n; i++) sl__free(t->name[i]);
        sl__free(t->name);
    }
    sl__free(t->slot);
}

static sl_status names_grow(names *t) {
    size_t cap = t->cap ? 2 * t->cap : 1024;
    if (cap > UINT32_MAX) return sl__fail(SL_ERR_RANGE, "edge list: more than %u nodes", (unsigned)UINT32_MAX);
    char **nn = sl__realloc(t->name, cap * sizeof *nn);
    if (!nn) return sl__fail(SL_ERR_NOMEM, "edge list: out of memory");
    t->name = nn;
    uint32_t *slot = sl__calloc(2 * cap, sizeof *slot);
    if (!slot) return sl__fail(SL_ERR_NOMEM, "edge list: out of memory");
    sl__free(t->slot);
    t->slot = slot;
    t->mask = 2 * cap - 1;
    t->cap = cap;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = (size_t)sl__hash_bytes(t->name[i], strlen(t->name[i])) & t->mask;
        while (t->slot[h]) h = (h + 1) & t->mask;
        t->slot[h] = (uint32_t)(i + 1);
    }
    return SL_OK;
}

/* Index of name s (len bytes), or -1. *slot_out: where it would go. */
static long names_find(const names *t, const char *s, size_t len, size_t *slot_out) {
    if (!t->slot) return -1;
    size_t h = (size_t)sl__hash_bytes(s, len) & t->mask;
    for (; t->slot[h]; h = (h + 1) & t->mask) {
        const char *x = t->name[t->slot[h] - 1];
        if (strncmp(x, s, len) == 0 && x[len] == '\0') return (long)t->slot[h] - 1;
    }
    if (slot_out) *slot_out = h;
    return -1;
}

/* Index of the name, added if new. */
static sl_status names_add(names *t, const char *s, size_t len, uint32_t *idx) {
    size_t h = 0;
    long i = names_find(t, s, len, &h);
    if (i >= 0) {
        *idx = (uint32_t)i;
        return SL_OK;
    }
    if (t->n == t->cap) {
        SL__TRY(names_grow(t));
        names_find(t, s, len, &h);
    }
    char *c = sl__malloc(len + 1);
    if (!c) return sl__fail(SL_ERR_NOMEM, "edge list: out of memory");
    memcpy(c, s, len);
    c[len] = '\0';
    t->name[t->n] = c;
    t->slot[h] = (uint32_t)(t->n + 1);
    *idx = (uint32_t)t->n++;
    return SL_OK;
}

sl_status sl_words_edges_create(const char *const *nm, size_t nnodes, const uint32_t *child, const uint32_t *parent,
                                size_t nedges, sl_words_edges **out) {
    if (nedges == 0) return sl__fail(SL_ERR_ARG, "edge list: no edges");
    if (nnodes > UINT32_MAX) return sl__fail(SL_ERR_ARG, "edge list: %zu nodes, at most %u", nnodes, (unsigned)UINT32_MAX);
    for (size_t i = 0; i < nedges; i++) {
        if (child[i] >= nnodes || parent[i] >= nnodes)
            return sl__fail(SL_ERR_ARG, "edge list: edge %zu (%u, %u) names a node beyond the %zu nodes", i,
                            (unsigned)child[i], (unsigned)parent[i], nnodes);
        if (child[i] == parent[i])
            return sl__fail(SL_ERR_ARG, "edge list: edge %zu: '%s' is its own parent", i, nm[child[i]]);
    }
    names t = {0};
    sl_status s = SL_OK;
    for (size_t i = 0; i < nnodes && s == SL_OK; i++) {
        uint32_t idx;
        size_t len = strlen(nm[i]);
        if (names_find(&t, nm[i], len, NULL) >= 0)
            s = sl__fail(SL_ERR_ARG, "edge list: the name '%s' is given twice", nm[i]);
        else
            s = names_add(&t, nm[i], len, &idx);
    }
    uint64_t *key = s == SL_OK ? sl__malloc_array(nedges, sizeof *key, "edge list") : NULL;
    if (s == SL_OK && !key) s = SL_ERR_NOMEM;
    if (s) {
        names_free(&t, false);
        return s;
    }
    for (size_t i = 0; i < nedges; i++) key[i] = (uint64_t)child[i] << 32 | parent[i];
    names_free(&t, true);
    if (!t.name) t.name = sl__calloc(1, sizeof *t.name);
    s = t.name ? edges_make(t.name, nnodes, key, nedges, out) : sl__fail(SL_ERR_NOMEM, "edge list: out of memory");
    sl__free(key);
    return s;
}

/* ---- the edge-list reader ---------------------------------------------------------*/
typedef struct reader {
    const char *path;
    names t;
    uint64_t *key;
    size_t nkeys, cap;
} reader;

/* One line (NUL-free, without its line break): 0 or 2 names. */
static sl_status read_line(reader *r, const char *p, size_t len, size_t lineno) {
    const char *tok[3];
    size_t tlen[3], nt = 0, i = 0;
    while (i < len && nt < 3) {
        while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r')) i++;
        if (i == len) break;
        if (nt == 0 && p[i] == '#') return SL_OK;
        size_t j = i;
        while (j < len && p[j] != ' ' && p[j] != '\t' && p[j] != '\r') j++;
        tok[nt] = p + i;
        tlen[nt++] = j - i;
        i = j;
    }
    if (nt == 0) return SL_OK;
    if (nt == 1)
        return sl__fail(SL_ERR_FORMAT, "%s: line %zu: expected \"child parent\", found one name ('%.*s')", r->path,
                        lineno, (int)SL__MIN(tlen[0], 100), tok[0]);
    if (nt == 3)
        return sl__fail(SL_ERR_FORMAT, "%s: line %zu: expected \"child parent\", found a third column ('%.*s')",
                        r->path, lineno, (int)SL__MIN(tlen[2], 100), tok[2]);
    for (int k = 0; k < 2; k++)
        if (tlen[k] > SL_WORDS_MAX_WORD)
            return sl__fail(SL_ERR_FORMAT, "%s: line %zu: a name of %zu bytes, expected at most %d", r->path, lineno,
                            tlen[k], SL_WORDS_MAX_WORD);
    if (tlen[0] == tlen[1] && memcmp(tok[0], tok[1], tlen[0]) == 0)
        return sl__fail(SL_ERR_FORMAT, "%s: line %zu: '%.*s' is its own parent (expected two different nodes)",
                        r->path, lineno, (int)tlen[0], tok[0]);
    uint32_t c, q;
    SL__TRY(names_add(&r->t, tok[0], tlen[0], &c));
    SL__TRY(names_add(&r->t, tok[1], tlen[1], &q));
    if (r->nkeys == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 4096;
        if (cap > UINT32_MAX) return sl__fail(SL_ERR_RANGE, "%s: more than %u edges", r->path, (unsigned)UINT32_MAX);
        uint64_t *k = sl__realloc(r->key, cap * sizeof *k);
        if (!k) return sl__fail(SL_ERR_NOMEM, "%s: out of memory for the edges", r->path);
        r->key = k;
        r->cap = cap;
    }
    r->key[r->nkeys++] = (uint64_t)c << 32 | q;
    return SL_OK;
}

/* The whole file in memory (size checked against the file). */
static sl_status slurp(const char *path, char **buf, size_t *len) {
    uint64_t size;
    SL__TRY(sl__file_size(path, &size));
    if (size > SIZE_MAX - 1) return sl__fail(SL_ERR_RANGE, "%s: too large", path);
    FILE *f = fopen(path, "rb");
    if (!f) return sl__fail(SL_ERR_IO, "%s: cannot open", path);
    char *b = sl__malloc((size_t)size + 1);
    if (!b) {
        fclose(f);
        return sl__fail(SL_ERR_NOMEM, "%s: out of memory for %llu bytes", path, (unsigned long long)size);
    }
    size_t got = fread(b, 1, (size_t)size, f);
    bool err = ferror(f);
    fclose(f);
    if (err || got != size) {
        sl__free(b);
        return sl__fail(SL_ERR_IO, "%s: read error", path);
    }
    *buf = b;
    *len = got;
    return SL_OK;
}

sl_status sl_words_edges_read(const char *path, sl_words_edges **out) {
    char *buf = NULL;
    size_t len = 0;
    SL__TRY(slurp(path, &buf, &len));
    reader r = {.path = path};
    sl_status s = SL_OK;
    size_t lineno = 0;
    for (size_t i = 0; i < len && s == SL_OK;) {
        size_t j = i;
        while (j < len && buf[j] != '\n' && buf[j] != '\0') j++;
        lineno++;
        if (j < len && buf[j] == '\0')
            s = sl__fail(SL_ERR_FORMAT, "%s: line %zu: a NUL byte (expected text)", path, lineno);
        else
            s = read_line(&r, buf + i, j - i, lineno);
        i = j + 1;
    }
    sl__free(buf);
    if (s == SL_OK && r.nkeys == 0)
        s = sl__fail(SL_ERR_FORMAT, "%s: no edges (expected \"child parent\" lines)", path);
    if (s == SL_OK) {
        names_free(&r.t, true);
        s = edges_make(r.t.name, r.t.n, r.key, r.nkeys, out);
    } else {
        names_free(&r.t, false);
    }
    sl__free(r.key);
    return s;
}

/* Whether p is a parent of c in e (binary search in c's sorted parents). */
static bool edges_has(const sl_words_edges *e, uint32_t c, uint32_t p) {
    size_t lo = e->first[c], hi = e->first[c + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->parent[mid] == p) return true;
        if (e->parent[mid] < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static sl_status names_copy(const sl_words_edges *e, char ***out) {
    char **n = sl__calloc(e->nnodes ? e->nnodes : 1, sizeof *n);
    if (!n) return sl__fail(SL_ERR_NOMEM, "edge list: out of memory");
    for (size_t i = 0; i < e->nnodes; i++)
        if (!(n[i] = sl__strdup(e->name[i]))) {
            for (size_t j = 0; j < i; j++) sl__free(n[j]);
            sl__free(n);
            return sl__fail(SL_ERR_NOMEM, "edge list: out of memory");
        }
    *out = n;
    return SL_OK;
}

sl_status sl_words_edges_split(const sl_words_edges *e, double test_frac, uint64_t seed, sl_words_edges **train,
                               sl_words_edges **test) {
    if (!(test_frac >= 0 && test_frac < 1))
        return sl__fail(SL_ERR_ARG, "edge list: test fraction %g, expected 0 <= f < 1", test_frac);
    size_t m = e->nedges, want = (size_t)(test_frac * (double)m);
    uint32_t *order = sl__malloc_array(m, sizeof *order, "edge split");
    uint64_t *deg = sl__malloc_array(e->nnodes ? e->nnodes : 1, sizeof *deg, "edge split");
    uint64_t *ktr = sl__malloc_array(m, sizeof *ktr, "edge split"), *kte = sl__malloc_array(m, sizeof *kte, "edge split");
    sl_status s = order && deg && ktr && kte ? SL_OK : SL_ERR_NOMEM;
    size_t ntr = 0, nte = 0;
    if (s == SL_OK) {
        for (size_t i = 0; i < m; i++) order[i] = (uint32_t)i;
        memcpy(deg, e->count, e->nnodes * sizeof *deg);
        sl_rng rng;
        sl_rng_seed(&rng, seed, 0);
        sl_rng_shuffle(&rng, order, m, sizeof *order);
        for (size_t k = 0; k < m; k++) {
            uint32_t i = order[k], c = e->child[i], p = e->parent[i];
            uint64_t key = (uint64_t)c << 32 | p;
            if (nte < want && deg[c] > 1 && deg[p] > 1) {
                deg[c]--;
                deg[p]--;
                kte[nte++] = key;
            } else {
                ktr[ntr++] = key;
            }
        }
    }
    char **n1 = NULL, **n2 = NULL;
    *train = *test = NULL;
    if (s == SL_OK) s = names_copy(e, &n1);
    if (s == SL_OK) s = edges_make(n1, e->nnodes, ktr, ntr, train);
    if (s == SL_OK) s = names_copy(e, &n2);
    if (s == SL_OK) s = edges_make(n2, e->nnodes, kte, nte, test);
    if (s) {
        sl_words_edges_destroy(*train);
        *train = *test = NULL;
    }
    sl__free(order);
    sl__free(deg);
    sl__free(ktr);
    sl__free(kte);
    return s;
}

/* ---- distance, loss, step ---------------------------------------------------------*/
#define MIN_GAP 1e-15 /* 1 - |x|² is at least this */

static double gap(const float *x, size_t d) {
    double n = 0;
    for (size_t i = 0; i < d; i++) n += (double)x[i] * x[i];
    return SL__MAX(1.0 - n, MIN_GAP);
}

/* arcosh(1 + x) for x >= 0, exact for small x. */
static double acosh1p(double x) { return log1p(x + sqrt(x * (x + 2))); }

static double dist_gaps(const float *u, const float *v, size_t d, double au, double av, double *sq) {
    double s = 0;
    for (size_t i = 0; i < d; i++) {
        double t = (double)u[i] - v[i];
        s += t * t;
    }
    if (sq) *sq = s;
    return acosh1p(2 * s / (au * av));
}

double sl_words_poincare_distance(const float *u, const float *v, size_t dim) {
    return dist_gaps(u, v, dim, gap(u, dim), gap(v, dim), NULL);
}

/* Add c·∂d(u,v)/∂u to gu and c·∂d(u,v)/∂v to gv (double, d floats each):
 * ∂d/∂u = 4/(αβ) · ((u - v) + |u-v|²/α · u) / sqrt(x(x+2)), x = 2|u-v|²/(αβ). */
static void dist_grad_add(const float *u, const float *v, size_t d, double au, double av, double sq, double c,
                          double *gu, double *gv) {
    if (sq <= 0) return; /* u = v: d has a kink (|u-v|), take 0 */
    double x = 2 * sq / (au * av), k = c * 4 / (au * av) / sqrt(x * (x + 2));
    for (size_t i = 0; i < d; i++) {
        double diff = (double)u[i] - v[i];
        gu[i] += k * (diff + sq / au * u[i]);
        gv[i] += k * (-diff + sq / av * v[i]);
    }
}

double sl__poincare_loss(const float *const *rows, size_t n, size_t dim, double *grad, double *scratch) {
    /* rows[0] = u, rows[1] = the parent, rows[2..n) the negatives; scratch: 2n doubles */
    double *dist = scratch, *sq = scratch + n, au = gap(rows[0], dim), mn = INFINITY, z = 0;
    for (size_t j = 1; j < n; j++) {
        dist[j] = dist_gaps(rows[0], rows[j], dim, au, gap(rows[j], dim), &sq[j]);
        mn = SL__MIN(mn, dist[j]);
    }
    for (size_t j = 1; j < n; j++) z += exp(mn - dist[j]);
    double loss = dist[1] - mn + log(z);
    if (!grad) return loss;
    memset(grad, 0, n * dim * sizeof *grad);
    for (size_t j = 1; j < n; j++) {
        double p = exp(mn - dist[j]) / z, c = (j == 1 ? 1.0 : 0.0) - p; /* ∂L/∂d_j */
        dist_grad_add(rows[0], rows[j], dim, au, gap(rows[j], dim), sq[j], c, grad, grad + j * dim);
    }
    return loss;
}

void sl__poincare_step(float *theta, const double *grad, size_t dim, double lr, double eps) {
    double g = 1.0, n2 = 0; /* g = 1 - |θ|², at least 0 */
    for (size_t i = 0; i < dim; i++) g -= (double)theta[i] * theta[i];
    g = SL__MAX(g, 0.0);
    double scale = lr * g * g / 4;
    for (size_t i = 0; i < dim; i++) {
        theta[i] = (float)(theta[i] - scale * grad[i]);
        n2 += (double)theta[i] * theta[i];
    }
    double norm = sqrt(n2), lim = 1.0 - eps;
    if (norm >= lim) {
        double f = lim / norm;
        for (size_t i = 0; i < dim; i++) theta[i] = (float)(theta[i] * f);
    }
}

/* ---- training ---------------------------------------------------------------------*/
void sl_words_poincare_config_default(sl_words_poincare_config *c) {
    memset(c, 0, sizeof *c);
    c->dim = 50;
    c->negative = 10;
    c->lr = 0.1;
    c->epochs = 50;
    c->burn_in = 10;
    c->burn_in_lr = 0.01;
    c->dampening = 0.75;
    c->epsilon = 1e-5;
    c->init_range = 1e-3;
    c->threads = 1;
    c->seed = 1;
    c->progress_mode = SL_PROGRESS_AUTO;
}

static sl_status check_config(const sl_words_poincare_config *c, const sl_words_edges *e) {
    const char *w = "poincaré embeddings";
    if (c->dim < 1 || c->dim > 10000) return sl__fail(SL_ERR_ARG, "%s: dim %d, expected 1..10000", w, c->dim);
    if (c->negative < 1 || c->negative > MAX_NEGATIVE)
        return sl__fail(SL_ERR_ARG, "%s: negative %d, expected 1..%d", w, c->negative, MAX_NEGATIVE);
    if (!(c->lr > 0 && c->lr <= 1000)) return sl__fail(SL_ERR_ARG, "%s: lr %g, expected 0 < lr <= 1000", w, c->lr);
    if (c->epochs < 0 || c->epochs > 1000000) return sl__fail(SL_ERR_ARG, "%s: epochs %d, expected >= 0", w, c->epochs);
    if (c->burn_in < 0 || c->burn_in > 1000000) return sl__fail(SL_ERR_ARG, "%s: burn_in %d, expected >= 0", w, c->burn_in);
    if (c->epochs + c->burn_in < 1) return sl__fail(SL_ERR_ARG, "%s: no epochs to train (epochs + burn_in is 0)", w);
    if (c->burn_in > 0 && !(c->burn_in_lr > 0 && c->burn_in_lr <= 1000))
        return sl__fail(SL_ERR_ARG, "%s: burn_in_lr %g, expected 0 < burn_in_lr <= 1000", w, c->burn_in_lr);
    if (!(c->dampening >= 0 && c->dampening <= 1))
        return sl__fail(SL_ERR_ARG, "%s: dampening %g, expected 0..1", w, c->dampening);
    if (!(c->epsilon > 0 && c->epsilon < 0.5)) return sl__fail(SL_ERR_ARG, "%s: epsilon %g, expected 0 < epsilon < 0.5", w, c->epsilon);
    if (!(c->init_range >= 0 && c->init_range < 0.1))
        return sl__fail(SL_ERR_ARG, "%s: init_range %g, expected 0 <= init_range < 0.1", w, c->init_range);
    if (c->threads > 4096) return sl__fail(SL_ERR_ARG, "%s: threads %d, expected at most 4096", w, c->threads);
    if (e->nnodes < 2 || e->nedges == 0) return sl__fail(SL_ERR_ARG, "%s: the edge list has no edges", w);
    return SL_OK;
}

typedef struct ptrain {
    const sl_words_edges *e;
    const sl_words_poincare_config *cfg;
    float *x;            /* nnodes x dim */
    sl_alias *alias;
    uint32_t *order;     /* nedges: this epoch's order */
    size_t nmax;         /* rows per edge at most: negative + 2 */
    double *work;        /* per thread: nmax·dim gradient + 2·nmax scratch */
    uint32_t *neg;       /* per thread: negative */
    double *loss;        /* per thread */
    int T;
    /* The edges order[lo .. hi) of the current round are cut into `lanes`
     * slices; thread tid takes slice lane0 + tid (one process: the whole
     * epoch, lanes = T, lane0 = 0; a distributed run: ranks x T lanes). */
    size_t lo, hi, lanes, lane0;
    float *x0;           /* a distributed run: the table at the round's start */
} ptrain;

/* Up to `negative` distinct nodes that are neither u nor a parent of u. */
static size_t draw_negatives(const ptrain *t, uint32_t u, sl_rng *rng, uint32_t *neg) {
    size_t k = 0, want = (size_t)t->cfg->negative;
    for (size_t tries = 0; k < want && tries < want * NEG_TRIES; tries++) {
        uint32_t j = (uint32_t)sl_alias_sample(t->alias, rng);
        if (j == u || edges_has(t->e, u, j)) continue;
        bool dup = false;
        for (size_t i = 0; i < k && !dup; i++) dup = neg[i] == j;
        if (!dup) neg[k++] = j;
    }
    return k;
}

/* Thread tid's slice of the epoch's order; returns false when stopped. */
static bool train_slice(ptrain *t, int tid, double lr, sl_rng *rng) {
    const sl_words_edges *e = t->e;
    size_t d = (size_t)t->cfg->dim, m = t->hi - t->lo, lane = t->lane0 + (size_t)tid,
           lo = t->lo + m * lane / t->lanes, hi = t->lo + m * (lane + 1) / t->lanes;
    double *grad = t->work + (size_t)tid * (t->nmax * d + 2 * t->nmax), *scratch = grad + t->nmax * d, sum = 0;
    uint32_t *neg = t->neg + (size_t)tid * (size_t)t->cfg->negative;
    const volatile sig_atomic_t *stop = t->cfg->stop;
    bool ok = true;
    for (size_t k = lo; k < hi; k++) {
        if ((k - lo) % POLL_EDGES == 0 && stop && *stop) {
            ok = false;
            break;
        }
        uint32_t i = t->order[k], u = e->child[i], v = e->parent[i];
        size_t nn = draw_negatives(t, u, rng, neg) + 2;
        float *row[MAX_NEGATIVE + 2];
        row[0] = t->x + (size_t)u * d;
        row[1] = t->x + (size_t)v * d;
        for (size_t j = 2; j < nn; j++) row[j] = t->x + (size_t)neg[j - 2] * d;
        sum += sl__poincare_loss((const float *const *)row, nn, d, grad, scratch);
        for (size_t j = 0; j < nn; j++) sl__poincare_step(row[j], grad + j * d, d, lr, t->cfg->epsilon);
    }
    t->loss[tid] = sum;
    return ok;
}

/* One round's edges over this process's threads (lanes lane0 .. lane0 + T);
 * true when no thread was stopped. */
static bool train_round(ptrain *t, int ep, size_t round, double lr) {
    const sl_words_poincare_config *c = t->cfg;
    int stopped = 0;
#pragma omp parallel num_threads(t->T)
    {
        int tid = omp_get_thread_num();
        sl_rng rng;
        sl_rng_seed(&rng, c->seed, (((uint64_t)ep + 1) << 16 | (uint64_t)(t->lane0 + (size_t)tid)) + ((uint64_t)round << 48));
        if (!train_slice(t, tid, lr, &rng)) {
#pragma omp atomic write
            stopped = 1;
        }
    }
    return !stopped;
}

/* A distributed run: every rank adds the changes all ranks made in the
 * round (each to the table of the round's start, x0), and a point pushed
 * out of the ball by the sum is pulled back to norm 1 - epsilon; x0 then
 * holds the new table. stopped: whether any rank was stopped (agreed). */
static sl_status exchange_round(ptrain *t, bool *stopped) {
    size_t n = t->e->nnodes, d = (size_t)t->cfg->dim;
    int64_t stop = *stopped;
    SL__TRY(sl_dist_max_i64(&stop, 1));
    *stopped = stop != 0;
    for (size_t i = 0; i < n * d; i++) t->x[i] -= t->x0[i];
    SL__TRY(sl_dist_sum_f32(t->x, n * d));
    double lim = 1.0 - t->cfg->epsilon;
    for (size_t i = 0; i < n; i++) {
        float *x = t->x + i * d;
        const float *x0 = t->x0 + i * d;
        double n2 = 0;
        for (size_t j = 0; j < d; j++) x[j] += x0[j], n2 += (double)x[j] * x[j];
        if (sqrt(n2) >= lim)
            for (size_t j = 0; j < d; j++) x[j] = (float)(x[j] * (lim / sqrt(n2)));
    }
    memcpy(t->x0, t->x, n * d * sizeof *t->x);
    return SL_OK;
}

/* One epoch: in one process its edges over the threads; in a distributed
 * run DIST_ROUNDS rounds, each cut among every rank's threads and followed
 * by the exchange. The mean loss, or a status. */
static sl_status train_epoch(ptrain *t, int ep, double lr, double *mean) {
    const sl_words_poincare_config *c = t->cfg;
    sl_rng r;
    sl_rng_seed(&r, c->seed, 1 + (uint64_t)ep);
    sl_rng_shuffle(&r, t->order, t->e->nedges, sizeof *t->order);
    const size_t N = (size_t)sl_dist_size(), rounds = N > 1 ? DIST_ROUNDS : 1, m = t->e->nedges;
    bool stopped = false;
    double sum = 0;
    for (size_t k = 0; k < rounds && !stopped; k++) {
        t->lo = m * k / rounds, t->hi = m * (k + 1) / rounds;
        stopped = !train_round(t, ep, N > 1 ? k : 0, lr);
        if (N > 1) SL__TRY(exchange_round(t, &stopped));
        for (int i = 0; i < t->T; i++) sum += t->loss[i];
    }
    if (N > 1) SL__TRY(sl_dist_sum_f64(&sum, 1));
    if (stopped) return sl__fail(SL_ERR_INTERRUPTED, "poincaré embeddings: interrupted in epoch %d", ep + 1);
    *mean = sum / (double)t->e->nedges;
    if (!isfinite(*mean))
        return sl__fail(SL_ERR_NUMERIC, "poincaré embeddings: the loss became %g in epoch %d (lower the learning rate)",
                        *mean, ep + 1);
    return SL_OK;
}

/* The epochs, with progress; fills st. */
static sl_status train_epochs(ptrain *t, sl_words_poincare_stats *st) {
    const sl_words_poincare_config *c = t->cfg;
    int total = c->burn_in + c->epochs;
    sl_progress *prog = NULL;
    if (c->progress)
        SL__TRY(sl_progress_create(c->progress, c->progress_mode, "poincaré", (uint64_t)total, "epochs", &prog));
    double t0 = sl_time_now(), mean = NAN;
    char fields[96] = "";
    sl_status s = SL_OK;
    for (int ep = 0; ep < total && s == SL_OK; ep++) {
        double lr = ep < c->burn_in ? c->burn_in_lr : c->lr;
        s = train_epoch(t, ep, lr, &mean);
        snprintf(fields, sizeof fields, "loss %.4f lr %g%s", mean, lr, ep < c->burn_in ? " (burn-in)" : "");
        if (s == SL_OK && prog) sl_progress_update(prog, (uint64_t)ep + 1, fields);
        if (s == SL_OK) st->updates += t->e->nedges;
    }
    if (prog) sl_progress_finish(prog, fields);
    sl_progress_destroy(prog);
    st->seconds = sl_time_now() - t0;
    st->loss = mean;
    return s;
}

static sl_status vecs_named(const sl_words_edges *e, size_t dim, sl_wordvecs **out) {
    sl_wordvecs *w;
    SL__TRY(sl_wordvecs_create(e->nnodes, dim, &w));
    for (size_t i = 0; i < e->nnodes; i++)
        if (!(w->words[i] = sl__strdup(e->name[i]))) {
            sl_wordvecs_destroy(w);
            return sl__fail(SL_ERR_NOMEM, "poincaré embeddings: out of memory");
        }
    *out = w;
    return SL_OK;
}

sl_status sl_words_poincare_train(const sl_words_edges *e, const sl_words_poincare_config *cfg, sl_wordvecs **out,
                                  sl_words_poincare_stats *stats) {
    SL__TRY(check_config(cfg, e));
    size_t d = (size_t)cfg->dim, n = e->nnodes;
    ptrain t = {.e = e, .cfg = cfg, .T = cfg->threads > 0 ? cfg->threads : omp_get_num_procs()};
    t.nmax = (size_t)cfg->negative + 2;
    size_t per = t.nmax * d + 2 * t.nmax, T = (size_t)t.T;
    sl_wordvecs *w = NULL;
    sl_status s = vecs_named(e, d, &w);
    double *weight = sl__malloc_array(n, sizeof *weight, "poincaré embeddings");
    t.order = sl__malloc_array(e->nedges, sizeof *t.order, "poincaré embeddings");
    t.work = per <= SIZE_MAX / T ? sl__malloc_array(per * T, sizeof *t.work, "poincaré embeddings") : NULL;
    t.neg = sl__malloc_array((size_t)cfg->negative * T, sizeof *t.neg, "poincaré embeddings");
    t.loss = sl__calloc(T, sizeof *t.loss);
    const size_t N = (size_t)sl_dist_size();
    t.lanes = N * T, t.lane0 = (size_t)sl_dist_rank() * T;
    if (N > 1) t.x0 = sl__malloc_array(n, d * sizeof *t.x0, "poincaré embeddings");
    if (s == SL_OK && (!weight || !t.order || !t.work || !t.neg || !t.loss || (N > 1 && !t.x0)))
        s = sl__fail(SL_ERR_NOMEM, "poincaré embeddings: out of memory for %zu nodes", n);
    if (s == SL_OK) {
        for (size_t i = 0; i < n; i++) weight[i] = pow((double)e->count[i], cfg->dampening);
        s = sl_alias_create(weight, n, &t.alias);
    }
    if (N > 1) { /* every rank goes on to the exchanges, or none */
        int64_t bad = s != SL_OK;
        sl_status sd = sl_dist_max_i64(&bad, 1);
        if (s == SL_OK && (sd || bad)) s = sd ? sd : sl__fail(SL_ERR_STATE, "poincaré embeddings: another rank failed");
    }
    sl_words_poincare_stats st = {0};
    if (s == SL_OK) {
        t.x = w->vecs;
        sl_rng r;
        sl_rng_seed(&r, cfg->seed, 0);
        for (size_t i = 0; i < n * d; i++) t.x[i] = (float)(cfg->init_range * (2 * sl_rng_uniform_d(&r) - 1));
        for (size_t i = 0; i < e->nedges; i++) t.order[i] = (uint32_t)i;
        if (t.x0) memcpy(t.x0, t.x, n * d * sizeof *t.x0);
        s = train_epochs(&t, &st);
    }
    sl_alias_destroy(t.alias);
    sl__free(weight);
    sl__free(t.order);
    sl__free(t.work);
    sl__free(t.neg);
    sl__free(t.loss);
    sl__free(t.x0);
    if (stats) *stats = st;
    if (s) {
        sl_wordvecs_destroy(w);
        return s;
    }
    *out = w;
    return SL_OK;
}

/* ---- evaluation -------------------------------------------------------------------*/
/* The row of every node of e in w, by exact name. */
static sl_status rows_of(const sl_wordvecs *w, const sl_words_edges *e, uint32_t *row) {
    size_t cap = 16;
    while (cap < 2 * w->n) cap *= 2;
    uint32_t *slot = sl__calloc(cap, sizeof *slot);
    if (!slot) return sl__fail(SL_ERR_NOMEM, "poincaré evaluation: out of memory");
    for (size_t r = 0; r < w->n && r < UINT32_MAX; r++) {
        size_t h = (size_t)sl__hash_bytes(w->words[r], strlen(w->words[r])) & (cap - 1);
        while (slot[h] && strcmp(w->words[slot[h] - 1], w->words[r]) != 0) h = (h + 1) & (cap - 1);
        if (!slot[h]) slot[h] = (uint32_t)(r + 1); /* the first of repeated words wins */
    }
    sl_status s = SL_OK;
    for (size_t i = 0; i < e->nnodes && s == SL_OK; i++) {
        size_t h = (size_t)sl__hash_bytes(e->name[i], strlen(e->name[i])) & (cap - 1);
        while (slot[h] && strcmp(w->words[slot[h] - 1], e->name[i]) != 0) h = (h + 1) & (cap - 1);
        if (!slot[h])
            s = sl__fail(SL_ERR_NOTFOUND, "poincaré evaluation: the node '%s' has no vector", e->name[i]);
        else
            row[i] = slot[h] - 1;
    }
    sl__free(slot);
    return s;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct ranker {
    const sl_wordvecs *w;
    const double *gaps;       /* w->n: 1 - |x|² */
    const uint32_t *row;      /* truth's node -> row */
    const sl_words_edges *known, *truth;
    const uint32_t *krow;     /* known's node -> row */
    const int64_t *kof;       /* w->n: row -> known's node, or -1 */
} ranker;

/* Mark (1) or unmark (0) the rows of u's known parents. */
static void mark_known(const ranker *k, size_t ru, uint8_t *excl, uint8_t v) {
    if (!k->known || k->kof[ru] < 0) return;
    size_t ku = (size_t)k->kof[ru];
    for (size_t j = k->known->first[ku]; j < k->known->first[ku + 1]; j++) excl[k->krow[k->known->parent[j]]] = v;
}

/* Rank node u's parents in truth; returns their number, adds the ranks to
 * *rank_sum and writes the average precision. excl: w->n zero bytes (left
 * zero); pos, cnt: room for u's parents (+1). */
static size_t rank_node(const ranker *k, uint32_t u, uint8_t *excl, double *pos, size_t *cnt, double *rank_sum,
                        double *ap) {
    const sl_words_edges *tr = k->truth;
    size_t d = k->w->dim, ru = k->row[u], np = tr->first[u + 1] - tr->first[u];
    const float *xu = k->w->vecs + ru * d;
    for (size_t j = tr->first[u]; j < tr->first[u + 1]; j++) {
        size_t r = k->row[tr->parent[j]];
        pos[j - tr->first[u]] = dist_gaps(xu, k->w->vecs + r * d, d, k->gaps[ru], k->gaps[r], NULL);
        excl[r] = 1;
    }
    mark_known(k, ru, excl, 1);
    excl[ru] = 1;
    qsort(pos, np, sizeof *pos, cmp_double);
    memset(cnt, 0, (np + 1) * sizeof *cnt);
    for (size_t r = 0; r < k->w->n; r++) {
        if (excl[r]) continue;
        double dr = dist_gaps(xu, k->w->vecs + r * d, d, k->gaps[ru], k->gaps[r], NULL);
        size_t lo = 0, hi = np; /* the first parent farther than dr */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (pos[mid] > dr)
                hi = mid;
            else
                lo = mid + 1;
        }
        cnt[lo]++;
    }
    double sum = 0, prec = 0;
    size_t below = 0;
    for (size_t i = 0; i < np; i++) {
        below += cnt[i];
        sum += (double)(below + 1);
        prec += (double)(i + 1) / (double)(below + 1 + i);
    }
    for (size_t j = tr->first[u]; j < tr->first[u + 1]; j++) excl[k->row[tr->parent[j]]] = 0;
    mark_known(k, ru, excl, 0);
    excl[ru] = 0;
    *rank_sum = sum;
    *ap = np ? prec / (double)np : 0;
    return np;
}

/* Rank every node's parents over OpenMP threads; per-node results. */
static sl_status rank_all(const ranker *k, double *rank_sum, double *ap) {
    const sl_words_edges *tr = k->truth;
    size_t maxp = 0, n = tr->nnodes;
    for (size_t u = 0; u < n; u++) maxp = SL__MAX(maxp, tr->first[u + 1] - tr->first[u]);
    int T = omp_get_max_threads(), bad = 0;
#pragma omp parallel num_threads(T)
    {
        uint8_t *excl = sl__calloc(k->w->n ? k->w->n : 1, 1);
        double *pos = sl__malloc_array(maxp + 1, sizeof *pos, "poincaré evaluation");
        size_t *cnt = sl__malloc_array(maxp + 1, sizeof *cnt, "poincaré evaluation");
        if (!excl || !pos || !cnt) {
#pragma omp atomic write
            bad = 1;
        }
#pragma omp for schedule(dynamic, 16)
        for (size_t u = 0; u < n; u++)
            if (excl && pos && cnt) rank_node(k, (uint32_t)u, excl, pos, cnt, &rank_sum[u], &ap[u]);
        sl__free(excl);
        sl__free(pos);
        sl__free(cnt);
    }
    return bad ? sl__fail(SL_ERR_NOMEM, "poincaré evaluation: out of memory") : SL_OK;
}

sl_status sl_words_poincare_evaluate(const sl_wordvecs *w, const sl_words_edges *known, const sl_words_edges *truth,
                                     sl_words_poincare_eval *out) {
    if (truth->nedges == 0) return sl__fail(SL_ERR_ARG, "poincaré evaluation: no edges to rank");
    size_t n = truth->nnodes, kn = known ? known->nnodes : 0;
    uint32_t *row = sl__malloc_array(n ? n : 1, sizeof *row, "poincaré evaluation");
    uint32_t *krow = sl__malloc_array(kn ? kn : 1, sizeof *krow, "poincaré evaluation");
    int64_t *kof = sl__malloc_array(w->n ? w->n : 1, sizeof *kof, "poincaré evaluation");
    double *gaps = sl__malloc_array(w->n ? w->n : 1, sizeof *gaps, "poincaré evaluation");
    double *rs = sl__calloc(n ? n : 1, sizeof *rs), *ap = sl__calloc(n ? n : 1, sizeof *ap);
    sl_status s = row && krow && kof && gaps && rs && ap ? SL_OK : sl__fail(SL_ERR_NOMEM, "poincaré evaluation: out of memory");
    if (s == SL_OK) s = rows_of(w, truth, row);
    if (s == SL_OK && known) s = rows_of(w, known, krow);
    if (s == SL_OK) {
        for (size_t r = 0; r < w->n; r++) {
            gaps[r] = gap(w->vecs + r * w->dim, w->dim);
            kof[r] = -1;
        }
        for (size_t i = 0; i < kn; i++) kof[krow[i]] = (int64_t)i;
        ranker k = {w, gaps, row, known, truth, krow, kof};
        s = rank_all(&k, rs, ap);
    }
    if (s == SL_OK) {
        double rsum = 0, apsum = 0;
        size_t nodes = 0;
        for (size_t u = 0; u < n; u++)
            if (truth->first[u + 1] > truth->first[u]) {
                rsum += rs[u];
                apsum += ap[u];
                nodes++;
            }
        out->mean_rank = rsum / (double)truth->nedges;
        out->map = apsum / (double)nodes;
        out->nodes = nodes;
        out->edges = truth->nedges;
    }
    sl__free(row);
    sl__free(krow);
    sl__free(kof);
    sl__free(gaps);
    sl__free(rs);
    sl__free(ap);
    return s;
}

sl_status sl_words_poincare_nearest(const sl_wordvecs *w, const float *query, size_t k, const size_t *exclude,
                                    size_t nexclude, size_t *idx, float *dist, size_t *found) {
    size_t d = w->dim, got = 0;
    double gq = gap(query, d);
    for (size_t r = 0; r < w->n && k > 0; r++) {
        bool skip = false;
        for (size_t i = 0; i < nexclude && !skip; i++) skip = exclude[i] == r;
        if (skip) continue;
        float dr = (float)dist_gaps(query, w->vecs + r * d, d, gq, gap(w->vecs + r * d, d), NULL);
        if (got == k && !(dr < dist[k - 1])) continue;
        size_t i = got < k ? got++ : k - 1; /* insertion into the sorted list */
        while (i > 0 && dr < dist[i - 1]) {
            dist[i] = dist[i - 1];
            idx[i] = idx[i - 1];
            i--;
        }
        dist[i] = dr;
        idx[i] = r;
    }
    *found = got;
    return SL_OK;
}

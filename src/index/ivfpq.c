/* IVF-PQ: an inverted file over k-means centroids whose lists hold
 * product-quantisation codes of the residuals, searched by asymmetric
 * distance tables, with optional exact re-ranking; save and load. */
#include "index_internal.h"
#include "testing.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define KSUB 256                        /* codewords per sub-space (8 bits) */
#define ADD_BLOCK 16384                 /* rows encoded per block */
#define QUERY_BLOCK 4096                /* queries whose probes are ranked at once */
#define TRAIN_PER_CENTROID 256          /* rows per coarse centroid used for training, at most */
#define PQ_TRAIN_MAX 65536              /* rows whose residuals train the codebooks, at most */
#define TABLE_MAX_BYTES ((size_t)1 << 30) /* the L2 tables per list are precomputed up to this size */
#define IVFPQ_VERSION 1

static const char ivfpq_magic[8] = {'S', 'L', 'I', 'V', 'F', 'P', 'Q', '\n'};

typedef struct {
    size_t n, cap;
    uint8_t *codes; /* n x M */
    int64_t *ids;
    int64_t *labels; /* when the index is labelled */
} ivlist;

struct sl_ivfpq {
    size_t dim, nlist, M, nbits, iters;
    sl_metric metric;
    uint64_t seed;
    bool trained, labelled;
    size_t *off;  /* M + 1 sub-space boundaries */
    float *cent;  /* nlist x dim */
    float *book;  /* while training and loading: sub-space m's 256 codewords of width w_m at book + 256 * off[m] */
    float *bookT; /* the same transposed per sub-space: w_m x 256 at bookT + 256 * off[m]; the copy kept */
    float *term;  /* L2: nlist x M x 256 of |p|^2 + 2 <c_m, p>; NULL when over TABLE_MAX_BYTES */
    ivlist *lists;
    size_t short_list; /* L2 lists shorter than this are scanned without building their table */
    size_t size;    /* vectors held */
    size_t next_id; /* vectors ever added: the default id of the next one */
};

void sl_ivfpq_config_default(sl_ivfpq_config *c) {
    memset(c, 0, sizeof *c);
    c->metric = SL_METRIC_L2;
    c->nbits = 8;
    c->iters = 25;
}

void sl_ivfpq_search_config_default(sl_ivfpq_search_config *c) {
    memset(c, 0, sizeof *c);
    c->k = 10;
    c->nprobe = 8;
}

static size_t sub_width(const sl_ivfpq *q, size_t m) { return q->off[m + 1] - q->off[m]; }
/* Codeword p of sub-space m, coordinate j (from the transposed codebooks, the
 * only copy kept once trained). */
static inline float codeword(const sl_ivfpq *q, size_t m, size_t p, size_t j) {
    return q->bookT[KSUB * q->off[m] + j * KSUB + p];
}

static sl_status check_config(const sl_ivfpq_config *c) {
    if (!c) return sl__fail(SL_ERR_ARG, "ivfpq: no configuration given");
    if (c->dim == 0) return sl__fail(SL_ERR_ARG, "ivfpq: dimension must be at least 1");
    if (c->metric != SL_METRIC_L2 && c->metric != SL_METRIC_IP && c->metric != SL_METRIC_COSINE)
        return sl__fail(SL_ERR_ARG, "ivfpq: unknown metric %d", (int)c->metric);
    if (c->M > c->dim)
        return sl__fail(SL_ERR_ARG, "ivfpq: M = %zu sub-quantisers for %zu dimensions (at most one per dimension)",
                        c->M, c->dim);
    if (c->nbits != 0 && c->nbits != 8)
        return sl__fail(SL_ERR_ARG, "ivfpq: nbits = %zu; codes are 8 bits per sub-quantiser", c->nbits);
    if (c->nlist > ((size_t)1 << 31)) return sl__fail(SL_ERR_ARG, "ivfpq: nlist = %zu is too large", c->nlist);
    return SL_OK;
}

/* The sub-space boundaries: the first dim mod M sub-spaces one wider. */
static void set_offsets(sl_ivfpq *q) {
    size_t w = q->dim / q->M, extra = q->dim % q->M;
    q->off[0] = 0;
    for (size_t m = 0; m < q->M; m++) q->off[m + 1] = q->off[m] + w + (m < extra);
}

sl_status sl_ivfpq_create(const sl_ivfpq_config *cfg, sl_ivfpq **out) {
    SL__TRY(check_config(cfg));
    sl_ivfpq *q = sl__calloc(1, sizeof *q);
    if (!q) return sl__fail(SL_ERR_NOMEM, "ivfpq: out of memory");
    q->dim = cfg->dim, q->metric = cfg->metric, q->nlist = cfg->nlist, q->seed = cfg->seed;
    q->M = cfg->M ? cfg->M : SL__MAX(cfg->dim / 8, (size_t)1);
    q->nbits = 8;
    q->iters = cfg->iters ? cfg->iters : 25;
    q->short_list = KSUB / 2; /* fewer lookups than building a table's M x 256 entries */
    q->off = sl__malloc_array(q->M + 1, sizeof *q->off, "ivfpq: sub-spaces");
    if (!q->off) {
        sl__free(q);
        return SL_ERR_NOMEM;
    }
    set_offsets(q);
    *out = q;
    return SL_OK;
}

static void free_lists(ivlist *lists, size_t n) {
    for (size_t l = 0; lists && l < n; l++) sl__free(lists[l].codes), sl__free(lists[l].ids), sl__free(lists[l].labels);
    sl__free(lists);
}

void sl_ivfpq_destroy(sl_ivfpq *q) {
    if (!q) return;
    free_lists(q->lists, q->nlist);
    sl__free(q->off), sl__free(q->cent), sl__free(q->book), sl__free(q->bookT), sl__free(q->term);
    sl__free(q);
}

/* ---- vectors as the index sees them --------------------------------------*/

/* For cosine, a unit-length copy of n rows (a zero row stays zero) in *owned;
 * otherwise x itself. */
static sl_status prepared(const sl_ivfpq *q, const float *x, size_t n, float **owned, const float **use) {
    *owned = NULL;
    *use = x;
    if (q->metric != SL_METRIC_COSINE) return SL_OK;
    float *c = sl__malloc_array(n, q->dim * sizeof *c, "ivfpq: normalised vectors");
    if (!c) return SL_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const float *r = x + i * q->dim;
        double s = sl__dot_d(r, r, q->dim);
        float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
        for (size_t t = 0; t < q->dim; t++) c[i * q->dim + t] = r[t] * inv;
    }
    *owned = c;
    *use = c;
    return SL_OK;
}

/* The k nearest centroids of n rows: by L2, or by IP for the IP metric. */
static sl_status coarse(const sl_ivfpq *q, const float *x, size_t n, size_t k, int64_t *ids, float *sc) {
    sl_flat_config fc;
    sl_flat_config_default(&fc);
    fc.metric = q->metric == SL_METRIC_IP ? SL_METRIC_IP : SL_METRIC_L2;
    fc.k = k;
    fc.max_block_bytes = SL__KMEANS_BLOCK;
    return sl_flat_search(q->cent, q->nlist, q->dim, x, n, q->dim, &fc, ids, sc);
}

/* ---- training -------------------------------------------------------------*/

/* A sample of m of the p->total rows of all ranks, drawn with the seed
 * (stream s) in row order: this rank's rows of it copied to *out (*got of
 * them), and in *before the sample's rows held by earlier ranks. */
static sl_status draw_rows(const sl_ivfpq *q, const float *x, size_t n, const sl__part *p, size_t m, uint64_t s,
                           float **out, size_t *got, size_t *before) {
    size_t *pick = sl__malloc_array(p->total, sizeof *pick, "ivfpq: training rows");
    sl_rng g;
    sl_rng_seed(&g, q->seed, s);
    sl_status st = pick ? sl_rng_sample(&g, p->total, m, true, pick) : SL_ERR_NOMEM;
    size_t lo = 0, hi = 0;
    while (st == SL_OK && lo < m && pick[lo] < p->first) lo++;
    for (hi = lo; st == SL_OK && hi < m && pick[hi] - p->first < n; hi++) {}
    float *r = st == SL_OK ? sl__malloc_array(hi - lo ? hi - lo : 1, q->dim * sizeof *r, "ivfpq: training rows") : NULL;
    if (st == SL_OK && !r) st = SL_ERR_NOMEM;
    for (size_t i = lo; st == SL_OK && i < hi; i++)
        memcpy(r + (i - lo) * q->dim, x + (pick[i] - p->first) * q->dim, q->dim * sizeof *r);
    sl__free(pick);
    *out = r, *got = hi - lo, *before = lo;
    return st;
}

/* Rows minus their nearest centroid, in place. */
static sl_status to_residuals(const sl_ivfpq *q, float *x, size_t n) {
    if (n == 0) return SL_OK; /* a rank that holds none of the sample */
    int64_t *a = sl__malloc_array(n, sizeof *a, "ivfpq: residuals");
    float *sc = sl__malloc_array(n, sizeof *sc, "ivfpq: residuals");
    sl_status st = a && sc ? coarse(q, x, n, 1, a, sc) : SL_ERR_NOMEM;
    if (st == SL_OK)
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++)
            for (size_t t = 0; t < q->dim; t++) x[i * q->dim + t] -= q->cent[(size_t)a[i] * q->dim + t];
    sl__free(a), sl__free(sc);
    return st;
}

/* Each sub-space's codebook by k-means on the residuals' columns (this
 * rank's n of them; part as for sl__kmeans). */
static sl_status train_books(sl_ivfpq *q, const float *res, size_t n, const sl__part *part,
                             const volatile sig_atomic_t *stop) {
    float *sub = sl__malloc_array(n ? n : 1, (q->off[1] - q->off[0]) * sizeof *sub, "ivfpq: codebook training");
    sl_status st = sub ? SL_OK : SL_ERR_NOMEM;
    if (part->dist) st = sl__index_agree(st, "ivfpq: codebook training");
    for (size_t m = 0; m < q->M && st == SL_OK; m++) {
        size_t w = sub_width(q, m);
        for (size_t i = 0; i < n; i++) memcpy(sub + i * w, res + i * q->dim + q->off[m], w * sizeof *sub);
        st = sl__kmeans(sub, n, w, KSUB, q->iters, q->seed + 1 + m, stop, q->book + KSUB * q->off[m],
                        "ivfpq: codebook", part);
    }
    sl__free(sub);
    return st;
}

/* The transposed codebooks, and the L2 tables: for list l, sub-space m and codeword p, |p|^2 + 2 <c_l,m, p>,
 * so that |q - c - p|^2 summed over sub-spaces is |q - c|^2 + sum(term) -
 * 2 <q_m, p>. Fixed-order float sums, one list per iteration. */
static sl_status build_terms(sl_ivfpq *q) {
    sl__free(q->term), sl__free(q->bookT);
    q->term = NULL;
    if (!(q->bookT = sl__malloc_array(KSUB, q->dim * sizeof *q->bookT, "ivfpq: codebooks"))) return SL_ERR_NOMEM;
    for (size_t m = 0; m < q->M; m++) {
        size_t w = sub_width(q, m);
        const float *b = q->book + KSUB * q->off[m];
        float *bt = q->bookT + KSUB * q->off[m];
        for (size_t p = 0; p < KSUB; p++)
            for (size_t j = 0; j < w; j++) bt[j * KSUB + p] = b[p * w + j];
    }
    /* The row-major copy was only the training's (and the file's) layout. */
    sl__free(q->book);
    q->book = NULL;
    if (q->metric != SL_METRIC_L2) return SL_OK;
    size_t per = q->M * KSUB;
    if (q->nlist > TABLE_MAX_BYTES / sizeof(float) / per) return SL_OK; /* computed per list at search time */
    if (!(q->term = sl__malloc_array(q->nlist, per * sizeof *q->term, "ivfpq: L2 tables"))) return SL_ERR_NOMEM;
#pragma omp parallel for schedule(static)
    for (size_t l = 0; l < q->nlist; l++)
        for (size_t m = 0; m < q->M; m++) {
            size_t w = sub_width(q, m);
            const float *c = q->cent + l * q->dim + q->off[m];
            float *t = q->term + l * per + m * KSUB;
            for (size_t p = 0; p < KSUB; p++) {
                float s = 0;
                for (size_t j = 0; j < w; j++) {
                    float b = codeword(q, m, p, j);
                    s += b * (b + 2.0f * c[j]);
                }
                t[p] = s;
            }
        }
    return SL_OK;
}

static size_t auto_nlist(size_t n) {
    size_t v = (size_t)(4.0 * sqrt((double)n));
    v = SL__MIN(v, n / 39);
    return v ? v : 1;
}

/* The coarse centroids from a sample of at most 256 per centroid, then the
 * codebooks from the residuals of a sample of at most 65536 rows; this
 * rank's n rows of part p. */
static sl_status train_prepared(sl_ivfpq *q, const float *x, size_t n, const sl__part *p,
                                const volatile sig_atomic_t *stop) {
    size_t nc = SL__MIN(p->total, TRAIN_PER_CENTROID * q->nlist), np = SL__MIN(p->total, (size_t)PQ_TRAIN_MAX);
    size_t got = n, before = p->first;
    float *rows = NULL;
    q->cent = sl__malloc_array(q->nlist, q->dim * sizeof *q->cent, "ivfpq: centroids");
    q->book = sl__malloc_array(KSUB, q->dim * sizeof *q->book, "ivfpq: codebooks");
    sl_status st = q->cent && q->book ? SL_OK : SL_ERR_NOMEM;
    if (st == SL_OK && nc < p->total) st = draw_rows(q, x, n, p, nc, 1, &rows, &got, &before);
    if (p->dist) st = sl__index_agree(st, "ivfpq: training rows");
    sl__part cp = {before, nc, p->dist};
    if (st == SL_OK)
        st = sl__kmeans(rows ? rows : x, got, q->dim, q->nlist, q->iters, q->seed, stop, q->cent,
                        "ivfpq: coarse centroids", &cp);
    sl__free(rows);
    rows = NULL;
    if (st == SL_OK) st = draw_rows(q, x, n, p, np, 2, &rows, &got, &before);
    if (st == SL_OK) st = to_residuals(q, rows, got);
    if (p->dist) st = sl__index_agree(st, "ivfpq: training residuals");
    sl__part bp = {before, np, p->dist};
    if (st == SL_OK) st = train_books(q, rows, got, &bp, stop);
    sl__free(rows);
    if (st == SL_OK) st = build_terms(q);
    if (st == SL_OK && !(q->lists = sl__calloc(q->nlist, sizeof *q->lists)))
        st = sl__fail(SL_ERR_NOMEM, "ivfpq: out of memory for %zu lists", q->nlist);
    if (p->dist) st = sl__index_agree(st, "ivfpq train");
    return st;
}

/* Training on this rank's n rows of part p (one process: all of them). */
static sl_status train_part(sl_ivfpq *q, const float *x, size_t n, const sl__part *p,
                            const volatile sig_atomic_t *stop) {
    if (q->trained) return sl__fail(SL_ERR_STATE, "ivfpq train: the index is already trained");
    size_t nlist = q->nlist ? q->nlist : auto_nlist(p->total);
    if (p->total < nlist || p->total < KSUB)
        return sl__fail(SL_ERR_ARG, "ivfpq train: %zu rows; training needs at least nlist (%zu) and %d rows", p->total,
                        nlist, KSUB);
    sl_status st = sl__check_finite(x, n, q->dim, "ivfpq train");
    if (p->dist) st = sl__index_agree(st, "ivfpq train");
    if (st) return st;
    size_t asked = q->nlist;
    q->nlist = nlist;
    float *own;
    const float *use;
    st = prepared(q, x, n, &own, &use);
    if (p->dist) st = sl__index_agree(st, "ivfpq train");
    if (st == SL_OK) st = train_prepared(q, use, n, p, stop);
    sl__free(own);
    if (st != SL_OK) {
        sl__free(q->cent), sl__free(q->book), sl__free(q->bookT), sl__free(q->term), sl__free(q->lists);
        q->cent = q->book = q->bookT = q->term = NULL;
        q->lists = NULL;
        q->nlist = asked;
        return st;
    }
    q->trained = true;
    return SL_OK;
}

sl_status sl_ivfpq_train(sl_ivfpq *q, const float *x, size_t n, const volatile sig_atomic_t *stop) {
    sl__part p = {0, n, false};
    return train_part(q, x, n, &p, stop);
}

sl_status sl_ivfpq_train_dist(sl_ivfpq *q, const float *x, size_t n, size_t first, size_t total,
                              const volatile sig_atomic_t *stop) {
    sl__part p = {first, total, sl_dist_size() > 1};
    sl_status st = first > total || n > total - first
                       ? sl__fail(SL_ERR_ARG, "ivfpq train: rows %zu .. %zu are outside the %zu rows", first, first + n,
                                  total)
                       : SL_OK;
    if (p.dist) st = sl__index_agree(st, "ivfpq train");
    if (st) return st;
    return train_part(q, x, n, &p, stop);
}

/* ---- sub-space tables -------------------------------------------------------*/

/* dist[p] = |x - p|^2 over one sub-space's 256 codewords (bt: w x 256). */
static void sub_l2(const float *bt, size_t w, const float *x, float *dist) {
    for (size_t p = 0; p < KSUB; p++) dist[p] = 0;
    for (size_t j = 0; j < w; j++) {
        const float v = x[j], *col = bt + j * KSUB;
        for (size_t p = 0; p < KSUB; p++) {
            float t = v - col[p];
            dist[p] += t * t;
        }
    }
}

/* out[p] = mul * <x, p> over one sub-space's codewords. */
static void sub_ip(const float *bt, size_t w, const float *x, float mul, float *out) {
    for (size_t p = 0; p < KSUB; p++) out[p] = 0;
    for (size_t j = 0; j < w; j++) {
        const float v = x[j], *col = bt + j * KSUB;
        for (size_t p = 0; p < KSUB; p++) out[p] += v * col[p];
    }
    for (size_t p = 0; p < KSUB; p++) out[p] *= mul;
}

/* ---- adding ------------------------------------------------------------------*/

/* The codes (n x M) of residuals r (n x dim): the nearest codeword of each
 * sub-vector, the lowest number on ties. */
static void encode(const sl_ivfpq *q, const float *r, size_t n, uint8_t *codes) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float dist[KSUB];
        for (size_t m = 0; m < q->M; m++) {
            sub_l2(q->bookT + KSUB * q->off[m], sub_width(q, m), r + i * q->dim + q->off[m], dist);
            size_t best = 0;
            for (size_t p = 1; p < KSUB; p++)
                if (dist[p] < dist[best]) best = p;
            codes[i * q->M + m] = (uint8_t)best;
        }
    }
}

/* Room for `more` entries in list L: exactly that many, or (growing) at
 * least twice the present room. */
static sl_status list_reserve(ivlist *L, size_t more, size_t M, bool labelled, bool exact) {
    if (L->cap - L->n >= more) return SL_OK;
    size_t cap = exact ? L->n + more : SL__MAX(SL__MAX(L->n + more, 2 * L->cap), (size_t)16);
    uint8_t *c = sl__realloc(L->codes, cap * M);
    if (!c) return sl__fail(SL_ERR_NOMEM, "ivfpq add: out of memory for a list of %zu codes", cap);
    L->codes = c;
    int64_t *id = sl__realloc(L->ids, cap * sizeof *id);
    if (!id) return sl__fail(SL_ERR_NOMEM, "ivfpq add: out of memory for a list of %zu codes", cap);
    L->ids = id;
    if (labelled) {
        int64_t *lb = sl__realloc(L->labels, cap * sizeof *lb);
        if (!lb) return sl__fail(SL_ERR_NOMEM, "ivfpq add: out of memory for a list of %zu codes", cap);
        L->labels = lb;
    }
    L->cap = cap;
    return SL_OK;
}

/* From now on every vector has a label: -1 for those added so far. */
static sl_status make_labelled(sl_ivfpq *q) {
    int64_t **lab = sl__calloc(q->nlist, sizeof *lab);
    if (!lab) return sl__fail(SL_ERR_NOMEM, "ivfpq add: out of memory for labels");
    for (size_t l = 0; l < q->nlist; l++) {
        ivlist *L = &q->lists[l];
        if (!L->cap) continue;
        if (!(lab[l] = sl__malloc_array(L->cap, sizeof **lab, "ivfpq add: labels"))) {
            for (size_t j = 0; j < l; j++) sl__free(lab[j]);
            sl__free(lab);
            return SL_ERR_NOMEM;
        }
        for (size_t j = 0; j < L->cap; j++) lab[l][j] = -1;
    }
    for (size_t l = 0; l < q->nlist; l++) q->lists[l].labels = lab[l];
    sl__free(lab);
    q->labelled = true;
    return SL_OK;
}

typedef struct {
    float *res;
    int64_t *a, *ids;
    float *sc;
    uint8_t *codes;
    size_t *count;
} add_work;

static sl_status work_make(const sl_ivfpq *q, size_t B, add_work *w) {
    *w = (add_work){sl__malloc_array(B, q->dim * sizeof *w->res, "ivfpq add"),
                    sl__malloc_array(B, sizeof *w->a, "ivfpq add"), sl__malloc_array(B, sizeof *w->ids, "ivfpq add"),
                    sl__malloc_array(B, sizeof *w->sc, "ivfpq add"), sl__malloc_array(B, q->M, "ivfpq add"),
                    sl__malloc_array(q->nlist, sizeof *w->count, "ivfpq add")};
    return w->res && w->a && w->ids && w->sc && w->codes && w->count ? SL_OK : SL_ERR_NOMEM;
}

static void work_free(add_work *w) {
    sl__free(w->res), sl__free(w->a), sl__free(w->ids), sl__free(w->sc), sl__free(w->codes), sl__free(w->count);
}

/* The lists (a, or w->a when a is NULL) and codes (w->codes) of rows
 * x[0 .. bn); with a given, only the codes. */
static sl_status encode_block(const sl_ivfpq *q, const float *x, size_t bn, const int64_t *a, add_work *w) {
    float *own;
    const float *use;
    SL__TRY(prepared(q, x, bn, &own, &use));
    sl_status st = a ? SL_OK : coarse(q, use, bn, 1, w->a, w->sc);
    if (a) memcpy(w->a, a, bn * sizeof *a);
    if (st == SL_OK) {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < bn; i++)
            for (size_t t = 0; t < q->dim; t++)
                w->res[i * q->dim + t] = use[i * q->dim + t] - q->cent[(size_t)w->a[i] * q->dim + t];
        encode(q, w->res, bn, w->codes);
    }
    sl__free(own);
    return st;
}

/* The lists of all n rows (a), and room for them in the lists, exactly, so
 * that an add leaves no spare capacity behind. */
static sl_status assign_all(sl_ivfpq *q, const float *x, size_t n, size_t B, int64_t *a, add_work *w,
                            const volatile sig_atomic_t *stop) {
    memset(w->count, 0, q->nlist * sizeof *w->count);
    for (size_t b0 = 0; b0 < n; b0 += B) {
        if (b0 > 0 && stop && *stop)
            return sl__fail(SL_ERR_INTERRUPTED, "ivfpq add: interrupted after assigning %zu of %zu rows", b0, n);
        size_t bn = SL__MIN(B, n - b0);
        float *own;
        const float *use;
        SL__TRY(prepared(q, x + b0 * q->dim, bn, &own, &use));
        sl_status st = coarse(q, use, bn, 1, a + b0, w->sc);
        sl__free(own);
        SL__TRY(st);
        for (size_t i = 0; i < bn; i++) w->count[a[b0 + i]]++;
    }
    for (size_t l = 0; l < q->nlist; l++)
        if (w->count[l]) SL__TRY(list_reserve(&q->lists[l], w->count[l], q->M, q->labelled, true));
    return SL_OK;
}

/* Append bn encoded rows (lists a, codes) with their ids and labels (NULL:
 * -1); nothing is appended when a list cannot grow. */
static sl_status append_rows(sl_ivfpq *q, size_t bn, const int64_t *a, const uint8_t *codes, const int64_t *ids,
                             const int64_t *labels, size_t *count) {
    memset(count, 0, q->nlist * sizeof *count);
    for (size_t i = 0; i < bn; i++) count[a[i]]++;
    for (size_t l = 0; l < q->nlist; l++)
        if (count[l]) SL__TRY(list_reserve(&q->lists[l], count[l], q->M, q->labelled, false));
    for (size_t i = 0; i < bn; i++) {
        ivlist *L = &q->lists[a[i]];
        memcpy(L->codes + L->n * q->M, codes + i * q->M, q->M);
        L->ids[L->n] = ids[i];
        if (q->labelled) L->labels[L->n] = labels ? labels[i] : -1;
        L->n++;
    }
    q->size += bn;
    q->next_id += bn;
    return SL_OK;
}

/* The checks every add makes: trained, rows, ids >= 0, finite values. */
static sl_status add_check(const sl_ivfpq *q, const float *x, size_t n, const int64_t *keys) {
    if (!q->trained) return sl__fail(SL_ERR_STATE, "ivfpq add: the index is not trained (train it first)");
    for (size_t i = 0; keys && i < n; i++)
        if (keys[i] < 0)
            return sl__fail(SL_ERR_ARG, "ivfpq add: row %zu has the id %lld; ids are >= 0", i, (long long)keys[i]);
    return sl__check_finite(x, n, q->dim, "ivfpq add");
}

sl_status sl_ivfpq_add(sl_ivfpq *q, const float *x, size_t n, const int64_t *keys, const int64_t *labels,
                       sl_progress *progress, const volatile sig_atomic_t *stop) {
    if (n == 0) return sl__fail(SL_ERR_ARG, "ivfpq add: no rows to add");
    SL__TRY(add_check(q, x, n, keys));
    if (stop && *stop) return sl__fail(SL_ERR_INTERRUPTED, "ivfpq add: interrupted before the first row");
    if (labels && !q->labelled) SL__TRY(make_labelled(q));
    size_t B = SL__MIN(n, (size_t)ADD_BLOCK);
    add_work w;
    sl_status st = work_make(q, B, &w);
    int64_t *a = st == SL_OK ? sl__malloc_array(n, sizeof *a, "ivfpq add: list assignments") : NULL;
    if (st == SL_OK) st = a ? assign_all(q, x, n, B, a, &w, stop) : SL_ERR_NOMEM;
    for (size_t b0 = 0; b0 < n && st == SL_OK; b0 += B) {
        if (b0 > 0 && stop && *stop) {
            st = sl__fail(SL_ERR_INTERRUPTED, "ivfpq add: interrupted after %zu of %zu rows", b0, n);
            break;
        }
        size_t bn = SL__MIN(B, n - b0);
        for (size_t i = 0; i < bn; i++) w.ids[i] = keys ? keys[b0 + i] : (int64_t)(q->next_id + i);
        st = encode_block(q, x + b0 * q->dim, bn, a + b0, &w);
        if (st == SL_OK) st = append_rows(q, bn, w.a, w.codes, w.ids, labels ? labels + b0 : NULL, w.count);
        if (st == SL_OK && progress) sl_progress_update(progress, b0 + bn, NULL);
    }
    work_free(&w);
    sl__free(a);
    return st;
}

/* ---- adding on several ranks ----------------------------------------------------
 * Every round, each rank encodes up to ADD_BLOCK of its rows into records
 * (list, id, label, code), the records of all ranks are gathered, and every
 * rank appends them in rank order, so every rank's index ends the same. */

#define REC_HEAD 3 /* int64s before a rank's records: count, failed, stopped */

static size_t rec_bytes(const sl_ivfpq *q) { return 3 * sizeof(int64_t) + q->M; }

static void pack(const sl_ivfpq *q, const add_work *w, size_t bn, const int64_t *labels, unsigned char *out) {
    size_t rb = rec_bytes(q);
    for (size_t i = 0; i < bn; i++) {
        unsigned char *r = out + i * rb;
        int64_t v[3] = {w->a[i], w->ids[i], labels ? labels[i] : -1};
        memcpy(r, v, sizeof v);
        memcpy(r + sizeof v, w->codes + i * q->M, q->M);
    }
}

/* One rank's gathered records appended. */
static sl_status unpack_append(sl_ivfpq *q, const unsigned char *in, size_t cnt, add_work *w, int64_t *lab) {
    size_t rb = rec_bytes(q);
    for (size_t i = 0; i < cnt; i++) {
        int64_t v[3];
        memcpy(v, in + i * rb, sizeof v);
        w->a[i] = v[0], w->ids[i] = v[1], lab[i] = v[2];
        memcpy(w->codes + i * q->M, in + i * rb + sizeof v, q->M);
    }
    return append_rows(q, cnt, w->a, w->codes, w->ids, lab, w->count);
}

/* One round: this rank's rows r0 .. r0 + bn encoded, every rank's gathered
 * and appended. */
static sl_status add_round(sl_ivfpq *q, const float *x, size_t bn, size_t r0, size_t id0, const int64_t *keys,
                           const int64_t *labels, const volatile sig_atomic_t *stop, add_work *w,
                           unsigned char *send, unsigned char *recv, int64_t *lab, size_t slot) {
    int64_t head[REC_HEAD] = {(int64_t)bn, 0, stop && *stop};
    sl_status mine = SL_OK;
    if (bn && !head[2]) {
        for (size_t i = 0; i < bn; i++) w->ids[i] = keys ? keys[r0 + i] : (int64_t)(id0 + r0 + i);
        mine = encode_block(q, x + r0 * q->dim, bn, NULL, w);
        if (mine == SL_OK) pack(q, w, bn, labels ? labels + r0 : NULL, send + sizeof head);
        head[1] = mine != SL_OK;
    }
    memcpy(send, head, sizeof head);
    SL__TRY(sl_dist_allgather(send, slot, recv));
    int N = sl_dist_size();
    bool failed = false, stopped = false;
    for (int r = 0; r < N; r++) {
        memcpy(head, recv + (size_t)r * slot, sizeof head);
        failed |= head[1] != 0, stopped |= head[2] != 0;
    }
    if (failed) return mine ? mine : sl__fail(SL_ERR_STATE, "ivfpq add: another rank failed (see its message)");
    if (stopped) return sl__fail(SL_ERR_INTERRUPTED, "ivfpq add: interrupted");
    sl_status st = SL_OK;
    for (int r = 0; r < N && st == SL_OK; r++) {
        memcpy(head, recv + (size_t)r * slot, sizeof head);
        st = unpack_append(q, recv + (size_t)r * slot + sizeof head, (size_t)head[0], w, lab);
    }
    return sl__index_agree(st, "ivfpq add");
}

sl_status sl_ivfpq_add_dist(sl_ivfpq *q, const float *x, size_t n, size_t first, size_t total, const int64_t *keys,
                            const int64_t *labels, sl_progress *progress, const volatile sig_atomic_t *stop) {
    sl_status st = first > total || n > total - first
                       ? sl__fail(SL_ERR_ARG, "ivfpq add: rows %zu .. %zu are outside the %zu rows", first, first + n,
                                  total)
                       : add_check(q, x, n, keys);
    SL__TRY(sl__index_agree(st, "ivfpq add"));
    int64_t most[2] = {(int64_t)n, labels != NULL};
    SL__TRY(sl_dist_max_i64(most, 2));
    if (most[1] && !q->labelled) st = make_labelled(q);
    size_t B = SL__MIN((size_t)most[0], (size_t)ADD_BLOCK), slot = sizeof(int64_t) * REC_HEAD + B * rec_bytes(q);
    size_t id0 = q->next_id + first, end = q->next_id + total;
    add_work w = {0};
    unsigned char *send = sl__malloc(slot), *recv = sl__malloc_array((size_t)sl_dist_size(), slot, "ivfpq add");
    int64_t *lab = sl__malloc_array(B ? B : 1, sizeof *lab, "ivfpq add");
    if (st == SL_OK) st = work_make(q, B ? B : 1, &w);
    if (st == SL_OK && (!send || !recv || !lab)) st = SL_ERR_NOMEM;
    st = sl__index_agree(st, "ivfpq add");
    for (size_t r0 = 0; st == SL_OK && r0 < (size_t)most[0]; r0 += B) {
        size_t bn = r0 < n ? SL__MIN(B, n - r0) : 0;
        st = add_round(q, x, bn, r0, id0, keys, labels, stop, &w, send, recv, lab, slot);
        if (st == SL_OK && progress) sl_progress_update(progress, r0 + bn, NULL);
    }
    /* every rank's default ids were handed out, whether their rows went in or not */
    q->next_id = SL__MAX(q->next_id, end);
    work_free(&w);
    sl__free(send), sl__free(recv), sl__free(lab);
    return st;
}

/* ---- deleting ---------------------------------------------------------------------*/

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The position of v in the sorted a[0 .. n), or n. */
static size_t sorted_find(const int64_t *a, size_t n, int64_t v) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == v ? lo : n;
}

static bool in_sorted(const int64_t *a, size_t n, int64_t v) { return sorted_find(a, n, v) < n; }

/* seen[i] = 1 for the ids of the sorted set that some vector has. */
static void mark_found(const sl_ivfpq *q, const int64_t *set, size_t n, unsigned char *seen) {
    for (size_t l = 0; l < q->nlist; l++) {
        const ivlist *L = &q->lists[l];
        for (size_t j = 0; j < L->n; j++) {
            size_t at = sorted_find(set, n, L->ids[j]);
            if (at < n) seen[at] = 1;
        }
    }
}

sl_status sl_ivfpq_delete(sl_ivfpq *q, const int64_t *ids, size_t n, size_t *removed) {
    if (removed) *removed = 0;
    if (!q->trained) return sl__fail(SL_ERR_STATE, "ivfpq delete: the index is not trained");
    if (n == 0) return SL_OK;
    int64_t *set = sl__malloc_array(n, sizeof *set, "ivfpq delete");
    unsigned char *seen = sl__calloc(n, 1);
    if (!set || !seen) {
        sl__free(set), sl__free(seen);
        return sl__fail(SL_ERR_NOMEM, "ivfpq delete: out of memory for %zu ids", n);
    }
    memcpy(set, ids, n * sizeof *set);
    qsort(set, n, sizeof *set, cmp_i64);
    size_t u = 0; /* without repeats */
    for (size_t i = 0; i < n; i++)
        if (i == 0 || set[i] != set[u - 1]) set[u++] = set[i];
    n = u;
    mark_found(q, set, n, seen);
    for (size_t i = 0; i < n; i++)
        if (!seen[i]) {
            sl_status st = sl__fail(SL_ERR_RANGE, "ivfpq delete: no vector has the id %lld", (long long)set[i]);
            sl__free(set), sl__free(seen);
            return st;
        }
    size_t gone = 0;
    for (size_t l = 0; l < q->nlist; l++) {
        ivlist *L = &q->lists[l];
        size_t keep = 0;
        for (size_t j = 0; j < L->n; j++) {
            if (in_sorted(set, n, L->ids[j])) continue;
            if (keep != j) {
                memmove(L->codes + keep * q->M, L->codes + j * q->M, q->M);
                L->ids[keep] = L->ids[j];
                if (q->labelled) L->labels[keep] = L->labels[j];
            }
            keep++;
        }
        gone += L->n - keep;
        L->n = keep;
    }
    q->size -= gone;
    if (removed) *removed = gone;
    sl__free(set), sl__free(seen);
    return SL_OK;
}

/* ---- search --------------------------------------------------------------------*/

/* A filter as sorted copies, looked up by binary search. */
typedef struct {
    int64_t *ids, *labs;
    size_t nids, nlabs;
} allow_set;

static sl_status sorted_copy(const int64_t *v, size_t n, int64_t **out) {
    *out = sl__malloc_array(n ? n : 1, sizeof **out, "ivfpq search: filter");
    if (!*out) return SL_ERR_NOMEM;
    if (n) memcpy(*out, v, n * sizeof **out);
    qsort(*out, n, sizeof **out, cmp_i64);
    return SL_OK;
}

static sl_status allow_make(const sl_hnsw_filter *f, allow_set *a) {
    memset(a, 0, sizeof *a);
    if (!f) return SL_OK;
    if (f->allow_ids) {
        SL__TRY(sorted_copy(f->allow_ids, f->n_allow_ids, &a->ids));
        a->nids = f->n_allow_ids;
    }
    if (f->allow_labels) {
        SL__TRY(sorted_copy(f->allow_labels, f->n_allow_labels, &a->labs));
        a->nlabs = f->n_allow_labels;
    }
    return SL_OK;
}

static bool allowed(const allow_set *a, const ivlist *L, size_t j) {
    if (a->ids && !in_sorted(a->ids, a->nids, L->ids[j])) return false;
    if (a->labs && !in_sorted(a->labs, a->nlabs, L->labels ? L->labels[j] : -1)) return false;
    return true;
}

/* Offer code j of L with key s (smaller is better) to the heap. */
static inline void offer(sl__heap *h, const allow_set *a, const ivlist *L, size_t j, float s) {
    int64_t id = L->ids[j];
    if (s < h->v[0] || (s == h->v[0] && id < h->id[0])) {
        if ((a->ids || a->labs) && !allowed(a, L, j)) return;
        sl__heap_replace_top(h, s, id);
    }
}

/* Every code of list L scored as bk plus its M table entries, four codes at
 * a time (each code's sum in sub-space order). */
static void scan_list(const ivlist *L, size_t M, const float *T, float bk, const allow_set *a, sl__heap *h) {
    const uint8_t *c = L->codes;
    size_t j = 0;
    for (; j + 4 <= L->n; j += 4) {
        const uint8_t *c0 = c + j * M, *c1 = c0 + M, *c2 = c1 + M, *c3 = c2 + M;
        float s0 = bk, s1 = bk, s2 = bk, s3 = bk;
        for (size_t m = 0; m < M; m++) {
            const float *t = T + m * KSUB;
            s0 += t[c0[m]], s1 += t[c1[m]], s2 += t[c2[m]], s3 += t[c3[m]];
        }
        offer(h, a, L, j, s0), offer(h, a, L, j + 1, s1), offer(h, a, L, j + 2, s2), offer(h, a, L, j + 3, s3);
    }
    for (; j < L->n; j++) {
        const uint8_t *c0 = c + j * M;
        float s0 = bk;
        for (size_t m = 0; m < M; m++) s0 += T[m * KSUB + c0[m]];
        offer(h, a, L, j, s0);
    }
}

/* scan_list for an L2 list too short to pay for its table: each entry is
 * summed from the list's precomputed terms T1 and the query's T2 as it is
 * read, fl(T1 + T2), which is the entry the table would hold, so the scores
 * are the same to the bit. */
static void scan_list2(const ivlist *L, size_t M, const float *T1, const float *T2, float bk, const allow_set *a,
                       sl__heap *h) {
    const uint8_t *c = L->codes;
    size_t j = 0;
    for (; j + 4 <= L->n; j += 4) {
        const uint8_t *c0 = c + j * M, *c1 = c0 + M, *c2 = c1 + M, *c3 = c2 + M;
        float s0 = bk, s1 = bk, s2 = bk, s3 = bk;
        for (size_t m = 0; m < M; m++) {
            const float *t = T1 + m * KSUB, *u = T2 + m * KSUB;
            s0 += t[c0[m]] + u[c0[m]], s1 += t[c1[m]] + u[c1[m]];
            s2 += t[c2[m]] + u[c2[m]], s3 += t[c3[m]] + u[c3[m]];
        }
        offer(h, a, L, j, s0), offer(h, a, L, j + 1, s1), offer(h, a, L, j + 2, s2), offer(h, a, L, j + 3, s3);
    }
    for (; j < L->n; j++) {
        const uint8_t *c0 = c + j * M;
        float s0 = bk;
        for (size_t m = 0; m < M; m++) s0 += T1[m * KSUB + c0[m]] + T2[m * KSUB + c0[m]];
        offer(h, a, L, j, s0);
    }
}

/* One thread's scratch: the query's tables, the list's table, a residual
 * query, the heap and the candidates. */
typedef struct {
    float *qtab, *tab, *rq, *hv;
    int64_t *hid;
    sl__cand *cb;
} search_work;

/* The table of list l for query x (prepared), and in *bk the list's key
 * offset: |x - c|^2 for L2 (tables then hold the rest), -<x, c> for IP and
 * cosine (tables: -<x_m, p>, the same for every list). */
static const float *list_table(const sl_ivfpq *q, const float *x, size_t l, float coarse_score, search_work *w,
                               float *bk) {
    const size_t per = q->M * KSUB;
    if (q->metric == SL_METRIC_L2 && q->term) {
        const float *t = q->term + l * per;
        for (size_t i = 0; i < per; i++) w->tab[i] = t[i] + w->qtab[i];
        *bk = coarse_score;
        return w->tab;
    }
    if (q->metric == SL_METRIC_L2) {
        for (size_t t = 0; t < q->dim; t++) w->rq[t] = x[t] - q->cent[l * q->dim + t];
        for (size_t m = 0; m < q->M; m++)
            sub_l2(q->bookT + KSUB * q->off[m], sub_width(q, m), w->rq + q->off[m], w->tab + m * KSUB);
        *bk = 0.0f;
        return w->tab;
    }
    *bk = q->metric == SL_METRIC_IP ? -coarse_score : -(float)sl__dot_d(x, q->cent + l * q->dim, q->dim);
    return w->qtab;
}

/* A candidate's exact re-ranking key, as sl_flat_search scores it. */
static double exact_key(const sl_ivfpq *q, const float *orig, const float *x, double qnorm) {
    double xnorm = q->metric == SL_METRIC_COSINE ? sqrt(sl__dot_d(x, x, q->dim)) : 0;
    return sl__exact_key(q->metric, orig, x, q->dim, qnorm, xnorm);
}

/* Query i: its probes' lists scanned into the heap of R, then the best k
 * (re-scored exactly from base with re-ranking). *bad gets an id outside
 * base (else stays -1). */
static void search_one(const sl_ivfpq *q, const float *x, const float *orig, const int64_t *probe,
                       const float *psc, size_t nprobe, const sl_ivfpq_search_config *c, const allow_set *a,
                       size_t R, search_work *w, int64_t *ids, float *scores, int64_t *bad) {
    if (q->metric != SL_METRIC_L2 || q->term)
        for (size_t m = 0; m < q->M; m++)
            sub_ip(q->bookT + KSUB * q->off[m], sub_width(q, m), x + q->off[m],
                   q->metric == SL_METRIC_L2 ? -2.0f : -1.0f, w->qtab + m * KSUB);
    for (size_t i = 0; i < R; i++) w->hv[i] = INFINITY, w->hid[i] = INT64_MAX;
    sl__heap h = {w->hv, w->hid, R};
    for (size_t p = 0; p < nprobe; p++) {
        if (probe[p] < 0) continue;
        const ivlist *L = &q->lists[probe[p]];
        if (!L->n) continue;
        if (q->term && L->n < q->short_list) {
            scan_list2(L, q->M, q->term + (size_t)probe[p] * q->M * KSUB, w->qtab, psc[p], a, &h);
            continue;
        }
        float bk;
        const float *T = list_table(q, x, (size_t)probe[p], psc[p], w, &bk);
        scan_list(L, q->M, T, bk, a, &h);
    }
    size_t nc = 0;
    double qnorm = c->rerank && q->metric == SL_METRIC_COSINE ? sqrt(sl__dot_d(orig, orig, q->dim)) : 0;
    for (size_t i = 0; i < R; i++) {
        if (w->hid[i] == INT64_MAX) continue;
        double key = w->hv[i];
        if (c->rerank) {
            if ((uint64_t)w->hid[i] >= c->base_rows) {
                *bad = w->hid[i];
                return;
            }
            key = exact_key(q, orig, c->base + (size_t)w->hid[i] * q->dim, qnorm);
        }
        w->cb[nc++] = (sl__cand){key, w->hid[i]};
    }
    sl__cand_emit(w->cb, nc, c->k, q->metric, ids, scores);
}

static sl_status check_search(const sl_ivfpq *q, const float *queries, size_t nq, const sl_ivfpq_search_config *c) {
    if (!c) return sl__fail(SL_ERR_ARG, "ivfpq search: no configuration given");
    if (c->k == 0) return sl__fail(SL_ERR_ARG, "ivfpq search: k must be at least 1");
    if (c->rerank && c->rerank < c->k)
        return sl__fail(SL_ERR_ARG, "ivfpq search: rerank = %zu must be 0 (off) or at least k = %zu", c->rerank, c->k);
    if (c->rerank && !c->base)
        return sl__fail(SL_ERR_ARG, "ivfpq search: re-ranking needs the original vectors (base)");
    if (!q->trained || q->size == 0)
        return sl__fail(SL_ERR_STATE, "ivfpq search: the index is %s", q->trained ? "empty" : "not trained");
    if (nq == 0) return sl__fail(SL_ERR_ARG, "ivfpq search: there are no queries (0 vectors)");
    return sl__check_finite(queries, nq, q->dim, "ivfpq search: queries");
}

/* Per-thread scratch for nt threads, in one allocation each. */
typedef struct {
    float *f;
    int64_t *i;
    sl__cand *c;
    size_t nf;
} work_pool;

static sl_status pool_make(const sl_ivfpq *q, size_t R, size_t nt, work_pool *p) {
    p->nf = 2 * q->M * KSUB + q->dim + R;
    p->f = sl__malloc_array(nt, p->nf * sizeof *p->f, "ivfpq search");
    p->i = sl__malloc_array(nt, R * sizeof *p->i, "ivfpq search");
    p->c = sl__malloc_array(nt, R * sizeof *p->c, "ivfpq search");
    return p->f && p->i && p->c ? SL_OK : SL_ERR_NOMEM;
}

static search_work pool_get(const sl_ivfpq *q, const work_pool *p, size_t R, size_t t) {
    float *f = p->f + t * p->nf;
    size_t per = q->M * KSUB;
    return (search_work){f, f + per, f + 2 * per, f + 2 * per + q->dim, p->i + t * R, p->c + t * R};
}

/* Queries q0 .. q0 + qn: their probes, then each query in parallel. */
static sl_status search_block(const sl_ivfpq *q, const float *queries, size_t q0, size_t qn, size_t nprobe,
                              const sl_ivfpq_search_config *c, const allow_set *a, size_t R, const work_pool *pool,
                              int64_t *probe, float *psc, int64_t *ids, float *scores) {
    float *own;
    const float *use;
    SL__TRY(prepared(q, queries + q0 * q->dim, qn, &own, &use));
    sl_status st = coarse(q, use, qn, nprobe, probe, psc);
    int64_t bad = -1;
    if (st == SL_OK) {
#pragma omp parallel for schedule(dynamic, 8) reduction(max : bad)
        for (size_t i = 0; i < qn; i++) {
            search_work w = pool_get(q, pool, R, (size_t)omp_get_thread_num());
            int64_t b = -1;
            search_one(q, use + i * q->dim, queries + (q0 + i) * q->dim, probe + i * nprobe, psc + i * nprobe,
                       nprobe, c, a, R, &w, ids + (q0 + i) * c->k, scores + (q0 + i) * c->k, &b);
            if (b > bad) bad = b; /* the largest, so the message is the same for any thread count */
        }
    }
    sl__free(own);
    if (st == SL_OK && bad >= 0)
        st = sl__fail(SL_ERR_RANGE, "ivfpq search: id %lld is not a row of the re-ranking base (%zu rows)",
                      (long long)bad, c->base_rows);
    return st;
}

sl_status sl_ivfpq_search(const sl_ivfpq *q, const float *queries, size_t nq, const sl_ivfpq_search_config *c,
                          int64_t *ids, float *scores) {
    SL__TRY(check_search(q, queries, nq, c));
    size_t nprobe = SL__MIN(c->nprobe ? c->nprobe : 8, q->nlist), R = c->rerank ? c->rerank : c->k,
           nt = (size_t)omp_get_max_threads(), B = SL__MIN(nq, (size_t)QUERY_BLOCK);
    allow_set a = {0};
    work_pool pool = {0};
    int64_t *probe = sl__malloc_array(B, nprobe * sizeof *probe, "ivfpq search");
    float *psc = sl__malloc_array(B, nprobe * sizeof *psc, "ivfpq search");
    sl_status st = probe && psc ? allow_make(c->filter, &a) : SL_ERR_NOMEM;
    if (st == SL_OK) st = pool_make(q, R, nt, &pool);
    for (size_t q0 = 0; q0 < nq && st == SL_OK; q0 += B)
        st = search_block(q, queries, q0, SL__MIN(B, nq - q0), nprobe, c, &a, R, &pool, probe, psc, ids, scores);
    sl__free(probe), sl__free(psc), sl__free(a.ids), sl__free(a.labs);
    sl__free(pool.f), sl__free(pool.i), sl__free(pool.c);
    return st;
}

static sl_status search_part(const void *q, const float *queries, size_t nq, size_t k, const void *c, int64_t *ids,
                             float *scores) {
    (void)k;
    return sl_ivfpq_search(q, queries, nq, c, ids, scores);
}

sl_status sl_ivfpq_search_dist(const sl_ivfpq *q, const float *queries, size_t nq, const sl_ivfpq_search_config *c,
                               int64_t *ids, float *scores) {
    return sl__search_shared(search_part, q, c, check_search(q, queries, nq, c), "ivfpq search", queries, nq, q->dim,
                             c->k, ids, scores);
}

/* ---- facts -----------------------------------------------------------------------*/

void sl_ivfpq_get_info(const sl_ivfpq *q, sl_ivfpq_info *o) {
    memset(o, 0, sizeof *o);
    o->dim = q->dim, o->nlist = q->nlist, o->M = q->M, o->nbits = q->nbits, o->metric = q->metric;
    o->trained = q->trained, o->labelled = q->labelled, o->size = q->size, o->next_id = q->next_id;
    o->code_bytes = q->M + sizeof(int64_t) * (q->labelled ? 2 : 1);
    o->bytes = sizeof *q + (q->M + 1) * sizeof *q->off;
    if (!q->trained) return;
    o->bytes += (q->nlist + KSUB) * q->dim * sizeof(float) + q->nlist * sizeof *q->lists;
    if (q->term) o->bytes += q->nlist * q->M * KSUB * sizeof *q->term;
    double sq = 0;
    for (size_t l = 0; l < q->nlist; l++) {
        const ivlist *L = &q->lists[l];
        o->bytes += L->cap * o->code_bytes;
        o->empty_lists += L->n == 0;
        o->largest_list = SL__MAX(o->largest_list, L->n);
        sq += (double)L->n * (double)L->n;
    }
    o->imbalance = q->size ? (double)q->nlist * sq / ((double)q->size * (double)q->size) : 0.0;
}

sl_status sl_ivfpq_reconstruct(const sl_ivfpq *q, int64_t id, float *out) {
    for (size_t l = 0; q->trained && l < q->nlist; l++) {
        const ivlist *L = &q->lists[l];
        for (size_t j = 0; j < L->n; j++) {
            if (L->ids[j] != id) continue;
            for (size_t m = 0; m < q->M; m++) {
                size_t w = sub_width(q, m), p = L->codes[j * q->M + m];
                for (size_t t = 0; t < w; t++)
                    out[q->off[m] + t] = q->cent[l * q->dim + q->off[m] + t] + codeword(q, m, p, t);
            }
            return SL_OK;
        }
    }
    return sl__fail(SL_ERR_NOTFOUND, "ivfpq: no vector has the id %lld", (long long)id);
}

/* ---- save / load -------------------------------------------------------------------*/

sl_status sl_ivfpq_save(const sl_ivfpq *q, const char *path) {
    if (!q->trained) return sl__fail(SL_ERR_STATE, "ivfpq save: %s: the index is not trained", path);
    sl__iwriter w;
    SL__TRY(sl__iwriter_open(&w, path));
    uint32_t v32[2] = {IVFPQ_VERSION, (uint32_t)q->metric};
    uint64_t v64[9] = {q->dim, q->nlist, q->M, q->nbits, q->iters, q->seed, q->size, q->next_id, q->labelled};
    /* The file keeps the codebooks row-major (codeword by codeword). */
    float *book = sl__malloc_array(KSUB, q->dim * sizeof *book, "ivfpq save: codebooks");
    if (!book) w.st = SL_ERR_NOMEM;
    for (size_t m = 0; book && m < q->M; m++)
        for (size_t p = 0, wd = sub_width(q, m); p < KSUB; p++)
            for (size_t j = 0; j < wd; j++) book[KSUB * q->off[m] + p * wd + j] = codeword(q, m, p, j);
#define PUT(p, n) sl__iwriter_put(&w, (p), (n))
    PUT(ivfpq_magic, 8);
    PUT(v32, sizeof v32);
    PUT(v64, sizeof v64);
    PUT(q->cent, q->nlist * q->dim * sizeof *q->cent);
    if (book) PUT(book, KSUB * q->dim * sizeof *book);
    sl__free(book);
    for (size_t l = 0; l < q->nlist; l++) {
        const ivlist *L = &q->lists[l];
        uint64_t n = L->n;
        PUT(&n, 8);
        if (!n) continue;
        PUT(L->codes, L->n * q->M);
        PUT(L->ids, L->n * sizeof *L->ids);
        if (q->labelled) PUT(L->labels, L->n * sizeof *L->labels);
    }
#undef PUT
    return sl__iwriter_close(&w);
}

typedef sl__reader reader;

/* Magic, version and checksum (r->n then excludes the checksum), then the
 * header fields, each checked; the index is created from them. */
static sl_status load_header(reader *r, sl_ivfpq **out, uint64_t counts[3]) {
    sl_metric metric;
    uint64_t v64[9] = {0};
    SL__TRY(sl__reader_open(r, ivfpq_magic, "IVF-PQ index", IVFPQ_VERSION, &metric));
    SL__TRY(sl__reader_get(r, v64, sizeof v64, "the header"));
    uint64_t dim = v64[0], nlist = v64[1], M = v64[2], left = r->n - r->pos;
    if (dim == 0 || dim > ((uint64_t)1 << 24))
        return sl__fail(SL_ERR_FORMAT, "%s: dimension %llu out of range", r->path, (unsigned long long)dim);
    if (M == 0 || M > dim)
        return sl__fail(SL_ERR_FORMAT, "%s: M = %llu for %llu dimensions", r->path, (unsigned long long)M,
                        (unsigned long long)dim);
    if (v64[3] != 8) return sl__fail(SL_ERR_FORMAT, "%s: nbits = %llu, expected 8", r->path, (unsigned long long)v64[3]);
    if (v64[4] == 0 || v64[4] > 1000000)
        return sl__fail(SL_ERR_FORMAT, "%s: %llu k-means iterations", r->path, (unsigned long long)v64[4]);
    if (v64[8] > 1) return sl__fail(SL_ERR_FORMAT, "%s: labelled flag %llu", r->path, (unsigned long long)v64[8]);

    /* centroids, codebooks and one length per list must fit in the file */
    if (nlist == 0 || nlist > left / 8 || nlist + KSUB > left / 4 / dim)
        return sl__fail(SL_ERR_FORMAT, "%s: %llu lists of %llu dimensions cannot fit in %zu bytes", r->path,
                        (unsigned long long)nlist, (unsigned long long)dim, r->n);
    if (v64[6] > left / (M + 8))
        return sl__fail(SL_ERR_FORMAT, "%s: %llu vectors cannot fit in %zu bytes", r->path,
                        (unsigned long long)v64[6], r->n);
    if (v64[7] < v64[6])
        return sl__fail(SL_ERR_FORMAT, "%s: %llu vectors but only %llu ever added", r->path,
                        (unsigned long long)v64[6], (unsigned long long)v64[7]);
    sl_ivfpq_config c = {.dim = dim, .metric = metric, .nlist = nlist, .M = M, .nbits = 8,
                         .iters = v64[4], .seed = v64[5]};
    counts[0] = v64[6], counts[1] = v64[7], counts[2] = v64[8];
    return sl_ivfpq_create(&c, out);
}

static sl_status load_floats(reader *r, float *x, size_t rows, size_t d, const char *what) {
    SL__TRY(sl__reader_get(r, x, rows * d * sizeof *x, what));
    for (size_t i = 0; i < rows * d; i++)
        if (!isfinite(x[i]))
            return sl__fail(SL_ERR_FORMAT, "%s: %s: row %zu holds a NaN or infinite value", r->path, what, i / d);
    return SL_OK;
}

static sl_status load_list(reader *r, sl_ivfpq *q, size_t l, uint64_t *total) {
    ivlist *L = &q->lists[l];
    uint64_t n = 0;
    SL__TRY(sl__reader_get(r, &n, 8, "a list length"));
    if (n == 0) return SL_OK;
    size_t per = q->M + 8 * (q->labelled ? 2 : 1);
    if (n > (r->n - r->pos) / per)
        return sl__fail(SL_ERR_FORMAT, "%s: list %zu: %llu codes do not fit in the %zu bytes left", r->path, l,
                        (unsigned long long)n, r->n - r->pos);
    SL__TRY(list_reserve(L, n, q->M, q->labelled, true));
    SL__TRY(sl__reader_get(r, L->codes, n * q->M, "a list's codes"));
    SL__TRY(sl__reader_get(r, L->ids, n * 8, "a list's ids"));
    if (q->labelled) SL__TRY(sl__reader_get(r, L->labels, n * 8, "a list's labels"));
    for (size_t j = 0; j < n; j++)
        if (L->ids[j] < 0)
            return sl__fail(SL_ERR_FORMAT, "%s: list %zu holds the negative id %lld", r->path, l,
                            (long long)L->ids[j]);
    L->n = n;
    *total += n;
    return SL_OK;
}

static sl_status load_body(reader *r, sl_ivfpq *q) {
    q->cent = sl__malloc_array(q->nlist, q->dim * sizeof *q->cent, "ivfpq load: centroids");
    q->book = sl__malloc_array(KSUB, q->dim * sizeof *q->book, "ivfpq load: codebooks");
    q->lists = sl__calloc(q->nlist, sizeof *q->lists);
    if (!q->cent || !q->book || !q->lists) return sl__fail(SL_ERR_NOMEM, "%s: out of memory", r->path);
    SL__TRY(load_floats(r, q->cent, q->nlist, q->dim, "centroids"));
    SL__TRY(load_floats(r, q->book, KSUB, q->dim, "codebooks"));
    uint64_t total = 0;
    for (size_t l = 0; l < q->nlist; l++) SL__TRY(load_list(r, q, l, &total));
    if (total != q->size)
        return sl__fail(SL_ERR_FORMAT, "%s: the lists hold %llu vectors, the header says %zu", r->path,
                        (unsigned long long)total, q->size);
    if (r->pos != r->n) return sl__fail(SL_ERR_FORMAT, "%s: %zu unexpected bytes after the last list", r->path, r->n - r->pos);
    SL__TRY(build_terms(q));
    q->trained = true;
    return SL_OK;
}

sl_status sl_ivfpq_load(const char *path, sl_ivfpq **out) {
    unsigned char *buf;
    size_t sz;
    SL__TRY(sl__file_read(path, "a simlearn IVF-PQ index", &buf, &sz));
    reader r = {buf, sz, 0, path};
    sl_ivfpq *q = NULL;
    uint64_t counts[3] = {0};
    sl_status st = load_header(&r, &q, counts);
    if (st == SL_OK) {
        q->size = counts[0], q->next_id = counts[1], q->labelled = counts[2] != 0;
        st = load_body(&r, q);
    }
    sl__free(buf);
    if (st) {
        sl_ivfpq_destroy(q);
        return st;
    }
    *out = q;
    return SL_OK;
}

const char *sl_index_kind(const char *path) {
    char head[8];
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t got = fread(head, 1, 8, f);
    fclose(f);
    if (got == 8 && memcmp(head, ivfpq_magic, 8) == 0) return "ivfpq";
    if (got == 8 && memcmp(head, "SLHNSW\r\n", 8) == 0) return "hnsw";
    if (got == 8 && sl__flat_index_magic(head)) return "flat";
    return sl_shards_is_manifest(path) ? "shards" : NULL;
}

/* ---- for the tests --------------------------------------------------------------*/

void sl__ivfpq_drop_tables(sl_ivfpq *q) {
    sl__free(q->term);
    q->term = NULL;
}

void sl__ivfpq_set_short_list(sl_ivfpq *q, size_t n) { q->short_list = n; }

/* The decoded vector of code j of list l, in double. */
static void decode_d(const sl_ivfpq *q, size_t l, size_t j, double *out) {
    const ivlist *L = &q->lists[l];
    for (size_t m = 0; m < q->M; m++) {
        size_t w = sub_width(q, m), p = L->codes[j * q->M + m];
        for (size_t t = 0; t < w; t++)
            out[q->off[m] + t] = (double)q->cent[l * q->dim + q->off[m] + t] + codeword(q, m, p, t);
    }
}

/* The score of query x (prepared) against a decoded vector, as a key
 * (smaller is better). */
static double ref_key(const sl_ivfpq *q, const float *x, const double *v) {
    double s = 0;
    for (size_t t = 0; t < q->dim; t++) s += q->metric == SL_METRIC_L2 ? (x[t] - v[t]) * (x[t] - v[t]) : x[t] * v[t];
    return q->metric == SL_METRIC_L2 ? s : -s;
}

static sl_status ref_one(const sl_ivfpq *q, const float *x, const float *orig, const int64_t *probe, size_t nprobe,
                         const sl_ivfpq_search_config *c, const allow_set *a, sl__cand *cb, double *v, int64_t *ids,
                         float *scores) {
    size_t nc = 0;
    for (size_t p = 0; p < nprobe; p++) {
        const ivlist *L = &q->lists[probe[p]];
        for (size_t j = 0; j < L->n; j++) {
            if ((a->ids || a->labs) && !allowed(a, L, j)) continue;
            decode_d(q, (size_t)probe[p], j, v);
            cb[nc++] = (sl__cand){ref_key(q, x, v), L->ids[j]};
        }
    }
    qsort(cb, nc, sizeof *cb, sl__cand_cmp);
    if (c->rerank) {
        double qnorm = q->metric == SL_METRIC_COSINE ? sqrt(sl__dot_d(orig, orig, q->dim)) : 0;
        nc = SL__MIN(nc, c->rerank);
        for (size_t i = 0; i < nc; i++) {
            if ((uint64_t)cb[i].id >= c->base_rows)
                return sl__fail(SL_ERR_RANGE, "ivfpq search: id %lld is not a row of the re-ranking base (%zu rows)",
                                (long long)cb[i].id, c->base_rows);
            cb[i].key = exact_key(q, orig, c->base + (size_t)cb[i].id * q->dim, qnorm);
        }
    }
    sl__cand_emit(cb, nc, c->k, q->metric, ids, scores);
    return SL_OK;
}

sl_status sl__ivfpq_search_ref(const sl_ivfpq *q, const float *queries, size_t nq, const sl_ivfpq_search_config *c,
                               int64_t *ids, float *scores) {
    SL__TRY(check_search(q, queries, nq, c));
    size_t nprobe = SL__MIN(c->nprobe ? c->nprobe : 8, q->nlist);
    sl_flat_config fc;
    sl_flat_config_default(&fc);
    fc.metric = q->metric == SL_METRIC_IP ? SL_METRIC_IP : SL_METRIC_L2;
    fc.k = nprobe;
    allow_set a = {0};
    float *own = NULL, *psc = sl__malloc_array(nq, nprobe * sizeof *psc, "ivfpq search");
    const float *use = NULL;
    int64_t *probe = sl__malloc_array(nq, nprobe * sizeof *probe, "ivfpq search");
    sl__cand *cb = sl__malloc_array(q->size, sizeof *cb, "ivfpq search");
    double *v = sl__malloc_array(q->dim, sizeof *v, "ivfpq search");
    sl_status st = psc && probe && cb && v ? allow_make(c->filter, &a) : SL_ERR_NOMEM;
    if (st == SL_OK) st = prepared(q, queries, nq, &own, &use);
    if (st == SL_OK) st = sl__flat_search_ref(q->cent, q->nlist, q->dim, use, nq, q->dim, &fc, probe, psc);
    for (size_t i = 0; i < nq && st == SL_OK; i++)
        st = ref_one(q, use + i * q->dim, queries + i * q->dim, probe + i * nprobe, nprobe, c, &a, cb, v,
                     ids + i * c->k, scores + i * c->k);
    sl__free(own), sl__free(psc), sl__free(probe), sl__free(cb), sl__free(v), sl__free(a.ids), sl__free(a.labs);
    return st;
}

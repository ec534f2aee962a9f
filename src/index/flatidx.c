/* The flat (exact) index: the vectors themselves with their ids and
 * labels, kept sorted by id, searched by sl_flat_search; add, delete,
 * filters, save and load. */
#include "index_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FLAT_VERSION 1

static const char flat_magic[8] = {'S', 'L', 'F', 'L', 'A', 'T', '\r', '\n'};

struct sl_flat_index {
    size_t dim;
    sl_metric metric;
    bool labelled;
    size_t size, cap;
    size_t next_id; /* vectors ever added: the default id of the next one */
    float *x;       /* size x dim, in increasing id order */
    int64_t *ids;   /* size, strictly increasing */
    int64_t *labels; /* size, when labelled */
};

sl_status sl_flat_index_create(size_t dim, sl_metric metric, sl_flat_index **out) {
    if (dim == 0 || dim > ((size_t)1 << 24)) return sl__fail(SL_ERR_ARG, "flat index: dimension %zu out of range", dim);
    if ((unsigned)metric > SL_METRIC_COSINE) return sl__fail(SL_ERR_ARG, "flat index: unknown metric %d", (int)metric);
    sl_flat_index *f = sl__calloc(1, sizeof *f);
    if (!f) return sl__fail(SL_ERR_NOMEM, "flat index: out of memory");
    f->dim = dim, f->metric = metric;
    *out = f;
    return SL_OK;
}

void sl_flat_index_destroy(sl_flat_index *f) {
    if (!f) return;
    sl__free(f->x), sl__free(f->ids), sl__free(f->labels);
    sl__free(f);
}

/* Room for `need` vectors (labels too when labelled); the index is unchanged
 * on failure. */
static sl_status reserve(sl_flat_index *f, size_t need) {
    if (need <= f->cap) return SL_OK;
    size_t c = SL__MAX(need, f->cap + f->cap / 2 + 16);
    float *x = sl__malloc_array(c, f->dim * sizeof *x, "flat index: vectors");
    int64_t *ids = sl__malloc_array(c, sizeof *ids, "flat index: ids");
    int64_t *lab = f->labelled ? sl__malloc_array(c, sizeof *lab, "flat index: labels") : NULL;
    if (!x || !ids || (f->labelled && !lab)) {
        sl__free(x), sl__free(ids), sl__free(lab);
        return SL_ERR_NOMEM;
    }
    if (f->size) {
        memcpy(x, f->x, f->size * f->dim * sizeof *x);
        memcpy(ids, f->ids, f->size * sizeof *ids);
        if (lab) memcpy(lab, f->labels, f->size * sizeof *lab);
    }
    sl__free(f->x), sl__free(f->ids), sl__free(f->labels);
    f->x = x, f->ids = ids, f->labels = lab, f->cap = c;
    return SL_OK;
}

/* The first time labels are given: every vector held gets -1. */
static sl_status make_labelled(sl_flat_index *f) {
    int64_t *lab = sl__malloc_array(f->cap ? f->cap : 1, sizeof *lab, "flat index: labels");
    if (!lab) return SL_ERR_NOMEM;
    for (size_t i = 0; i < f->size; i++) lab[i] = -1;
    f->labels = lab, f->labelled = true;
    return SL_OK;
}

/* The position of id among the sorted ids a[0 .. n): where it is, or where
 * it would go. */
static size_t lower_bound(const int64_t *a, size_t n, int64_t id) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
static bool holds(const int64_t *a, size_t n, int64_t id) {
    size_t at = lower_bound(a, n, id);
    return at < n && a[at] == id;
}

typedef struct {
    int64_t id;
    size_t row;
} keyed;
static int keyed_cmp(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* The new rows' ids sorted (with their rows), checked: >= 0, distinct, none
 * held already. */
static sl_status new_ids(const sl_flat_index *f, const int64_t *keys, size_t n, keyed *k) {
    for (size_t i = 0; i < n; i++) {
        k[i] = (keyed){keys ? keys[i] : (int64_t)(f->next_id + i), i};
        if (k[i].id < 0) return sl__fail(SL_ERR_ARG, "flat index add: row %zu: negative id %lld", i, (long long)k[i].id);
    }
    qsort(k, n, sizeof *k, keyed_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i && k[i].id == k[i - 1].id)
            return sl__fail(SL_ERR_ARG, "flat index add: rows %zu and %zu have the same id %lld",
                            SL__MIN(k[i].row, k[i - 1].row), SL__MAX(k[i].row, k[i - 1].row), (long long)k[i].id);
        if (holds(f->ids, f->size, k[i].id))
            return sl__fail(SL_ERR_ARG, "flat index add: row %zu: the index already holds the id %lld%s", k[i].row,
                            (long long)k[i].id, keys ? "" : " (give the new rows ids)");
    }
    return SL_OK;
}

/* Merge the sorted new rows into the sorted ones, from the back (the room
 * is reserved). */
static void merge_rows(sl_flat_index *f, const float *x, const keyed *k, size_t n, const int64_t *labels) {
    const size_t d = f->dim;
    size_t i = f->size, j = n, o = f->size + n;
    while (j) {
        o--;
        if (i && f->ids[i - 1] > k[j - 1].id) {
            i--;
            memmove(f->x + o * d, f->x + i * d, d * sizeof *f->x);
            f->ids[o] = f->ids[i];
            if (f->labelled) f->labels[o] = f->labels[i];
        } else {
            j--;
            memcpy(f->x + o * d, x + k[j].row * d, d * sizeof *f->x);
            f->ids[o] = k[j].id;
            if (f->labelled) f->labels[o] = labels ? labels[k[j].row] : -1;
        }
    }
    f->size += n;
}

sl_status sl_flat_index_add(sl_flat_index *f, const float *x, size_t n, const int64_t *keys, const int64_t *labels) {
    if (n == 0) return sl__fail(SL_ERR_ARG, "flat index add: no rows");
    SL__TRY(sl__check_finite(x, n, f->dim, "flat index add"));
    keyed *k = sl__malloc_array(n, sizeof *k, "flat index add: ids");
    if (!k) return SL_ERR_NOMEM;
    sl_status st = new_ids(f, keys, n, k);
    if (st == SL_OK && labels && !f->labelled) st = make_labelled(f);
    if (st == SL_OK) st = reserve(f, f->size + n);
    if (st == SL_OK) {
        merge_rows(f, x, k, n, labels);
        f->next_id += n;
    }
    sl__free(k);
    return st;
}

/* Every rank's rows (padded to the largest share) gathered on every rank,
 * then added in rank order. */
sl_status sl_flat_index_add_dist(sl_flat_index *f, const float *x, size_t n, size_t first, size_t total,
                                 const int64_t *keys, const int64_t *labels) {
    const size_t N = (size_t)sl_dist_size(), R = (size_t)sl_dist_rank(), d = f->dim;
    if (N == 1) return sl_flat_index_add(f, x, n, keys, labels);
    size_t f0, c0, most = (total + N - 1) / N;
    sl_dist_share(total, R, N, &f0, &c0);
    sl_status st = f0 == first && c0 == n ? SL_OK : sl__fail(SL_ERR_ARG, "flat index add: rows %zu..%zu are not "
                                                                         "this rank's share", first, first + n);
    /* which of keys and labels the ranks pass must agree (a collective every rank reaches) */
    int64_t given[2] = {keys != NULL, labels != NULL};
    sl_status sg = sl_dist_max_i64(given, 2);
    if (st == SL_OK) st = sg;
    size_t slot = most * (d * sizeof(float) + 2 * sizeof(int64_t)), tn = total ? total : 1;
    unsigned char *send = NULL, *recv = NULL;
    float *all = NULL;
    int64_t *ak = NULL, *al = NULL;
    if (st == SL_OK && (!(send = sl__calloc(slot ? slot : 1, 1)) ||
                        !(recv = sl__malloc_array(N, slot ? slot : 1, "flat index add")) ||
                        !(all = sl__malloc_array(tn, d * sizeof *all, "flat index add")) ||
                        !(ak = sl__malloc_array(tn, sizeof *ak, "flat index add")) ||
                        !(al = sl__malloc_array(tn, sizeof *al, "flat index add"))))
        st = SL_ERR_NOMEM;
    if (st == SL_OK && ((given[0] && !keys) || (given[1] && !labels)))
        st = sl__fail(SL_ERR_ARG, "flat index add: ids or labels given on some ranks only");
    if (st == SL_OK && n) {
        memcpy(send, x, n * d * sizeof(float));
        if (keys) memcpy(send + most * d * sizeof(float), keys, n * sizeof *keys);
        if (labels) memcpy(send + most * (d * sizeof(float) + sizeof(int64_t)), labels, n * sizeof *labels);
    }
    st = sl__index_agree(st, "flat index add");
    if (st == SL_OK) st = sl_dist_allgather(send, slot, recv);
    if (st == SL_OK) {
        for (size_t r = 0; r < N; r++) {
            size_t fr, cr;
            sl_dist_share(total, r, N, &fr, &cr);
            const unsigned char *b = recv + r * slot;
            memcpy(all + fr * d, b, cr * d * sizeof(float));
            memcpy(ak + fr, b + most * d * sizeof(float), cr * sizeof *ak);
            memcpy(al + fr, b + most * (d * sizeof(float) + sizeof(int64_t)), cr * sizeof *al);
        }
        /* the same rows on every rank, so the same outcome but for memory */
        st = sl__index_agree(sl_flat_index_add(f, all, total, given[0] ? ak : NULL, given[1] ? al : NULL),
                             "flat index add");
    }
    sl__free(send), sl__free(recv), sl__free(all), sl__free(ak), sl__free(al);
    return st;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* ids sorted, without repeats, into a new array (*n updated). */
static sl_status sorted_set(const int64_t *ids, size_t *n, int64_t **out, const char *what) {
    int64_t *s = sl__malloc_array(*n ? *n : 1, sizeof *s, what);
    if (!s) return SL_ERR_NOMEM;
    if (*n) memcpy(s, ids, *n * sizeof *s);
    qsort(s, *n, sizeof *s, cmp_i64);
    size_t u = 0;
    for (size_t i = 0; i < *n; i++)
        if (i == 0 || s[i] != s[u - 1]) s[u++] = s[i];
    *n = u, *out = s;
    return SL_OK;
}

sl_status sl_flat_index_delete(sl_flat_index *f, const int64_t *ids, size_t n, size_t *removed) {
    if (removed) *removed = 0;
    if (n == 0) return SL_OK;
    int64_t *set;
    SL__TRY(sorted_set(ids, &n, &set, "flat index delete"));
    for (size_t i = 0; i < n; i++)
        if (!holds(f->ids, f->size, set[i])) {
            sl_status st = sl__fail(SL_ERR_RANGE, "flat index delete: no vector has the id %lld", (long long)set[i]);
            sl__free(set);
            return st;
        }
    size_t keep = 0;
    for (size_t i = 0; i < f->size; i++) {
        if (holds(set, n, f->ids[i])) continue;
        if (keep != i) {
            memcpy(f->x + keep * f->dim, f->x + i * f->dim, f->dim * sizeof *f->x);
            f->ids[keep] = f->ids[i];
            if (f->labelled) f->labels[keep] = f->labels[i];
        }
        keep++;
    }
    if (removed) *removed = f->size - keep;
    f->size = keep;
    sl__free(set);
    return SL_OK;
}

/* ---- search --------------------------------------------------------------*/

/* The rows a filter allows, in row (so id) order: *rows (NULL when every row
 * is allowed) and their count. */
static sl_status allowed_rows(const sl_flat_index *f, const sl_hnsw_filter *flt, size_t **rows, size_t *m) {
    *rows = NULL, *m = f->size;
    if (!flt || (!flt->allow_ids && !flt->allow_labels)) return SL_OK;
    int64_t *ids = NULL, *labs = NULL;
    size_t ni = flt->n_allow_ids, nl = flt->n_allow_labels;
    sl_status st = flt->allow_ids ? sorted_set(flt->allow_ids, &ni, &ids, "flat index search: filter") : SL_OK;
    if (st == SL_OK && flt->allow_labels) st = sorted_set(flt->allow_labels, &nl, &labs, "flat index search: filter");
    size_t *r = st == SL_OK ? sl__malloc_array(f->size ? f->size : 1, sizeof *r, "flat index search: filter") : NULL;
    if (st == SL_OK && !r) st = SL_ERR_NOMEM;
    size_t c = 0;
    for (size_t i = 0; st == SL_OK && i < f->size; i++) {
        if (ids && !holds(ids, ni, f->ids[i])) continue;
        if (labs && !holds(labs, nl, f->labelled ? f->labels[i] : -1)) continue;
        r[c++] = i;
    }
    sl__free(ids), sl__free(labs);
    if (st) {
        sl__free(r);
        return st;
    }
    *rows = r, *m = c;
    return SL_OK;
}

/* Search the m allowed rows (base) for kk <= m neighbours, and write the
 * results as ids, padded to k with -1 and NaN. */
static sl_status search_rows(const sl_flat_index *f, const float *base, const size_t *rows, size_t m,
                             const float *queries, size_t nq, size_t k, int64_t *ids, float *scores) {
    const size_t kk = SL__MIN(k, m);
    int64_t *ri = ids;
    float *rs = scores;
    if (kk && kk < k) {
        ri = sl__malloc_array(nq, kk * sizeof *ri, "flat index search: results");
        rs = sl__malloc_array(nq, kk * sizeof *rs, "flat index search: results");
        if (!ri || !rs) {
            sl__free(ri), sl__free(rs);
            return SL_ERR_NOMEM;
        }
    }
    sl_status st = SL_OK;
    if (kk) {
        sl_flat_config c;
        sl_flat_config_default(&c);
        c.metric = f->metric, c.k = kk;
        st = sl_flat_search(base, m, f->dim, queries, nq, f->dim, &c, ri, rs);
    }
    /* from the back, so that kk < k can be widened in place */
    for (size_t q = nq; st == SL_OK && q-- > 0;)
        for (size_t t = k; t-- > 0;) {
            bool have = t < kk;
            int64_t row = have ? ri[q * kk + t] : -1;
            float s = have ? rs[q * kk + t] : NAN;
            ids[q * k + t] = have ? f->ids[rows ? rows[row] : (size_t)row] : -1;
            scores[q * k + t] = s;
        }
    if (ri != ids) sl__free(ri), sl__free(rs);
    return st;
}

sl_status sl_flat_index_search(const sl_flat_index *f, const float *queries, size_t nq, size_t k,
                               const sl_hnsw_filter *filter, int64_t *ids, float *scores) {
    if (k == 0) return sl__fail(SL_ERR_ARG, "flat index search: k = 0");
    if (nq == 0) return SL_OK;
    SL__TRY(sl__check_finite(queries, nq, f->dim, "flat index search: queries"));
    size_t *rows, m;
    SL__TRY(allowed_rows(f, filter, &rows, &m));
    float *sub = NULL;
    sl_status st = SL_OK;
    if (rows && m && !(sub = sl__malloc_array(m, f->dim * sizeof *sub, "flat index search: allowed rows")))
        st = SL_ERR_NOMEM;
    for (size_t i = 0; sub && i < m; i++) memcpy(sub + i * f->dim, f->x + rows[i] * f->dim, f->dim * sizeof *sub);
    if (st == SL_OK) st = search_rows(f, rows ? sub : f->x, rows, m, queries, nq, k, ids, scores);
    sl__free(rows), sl__free(sub);
    return st;
}

static sl_status search_part(const void *ctx, const float *queries, size_t nq, size_t k, const void *opt,
                             int64_t *ids, float *scores) {
    return sl_flat_index_search(ctx, queries, nq, k, opt, ids, scores);
}

sl_status sl_flat_index_search_dist(const sl_flat_index *f, const float *queries, size_t nq, size_t k,
                                    const sl_hnsw_filter *filter, int64_t *ids, float *scores) {
    sl_status st = k ? SL_OK : sl__fail(SL_ERR_ARG, "flat index search: k = 0");
    return sl__search_shared(search_part, f, filter, st, "flat index search", queries, nq, f->dim, k, ids, scores);
}

/* ---- facts ---------------------------------------------------------------*/

void sl_flat_index_get_info(const sl_flat_index *f, sl_flat_index_info *o) {
    memset(o, 0, sizeof *o);
    o->dim = f->dim, o->metric = f->metric, o->labelled = f->labelled, o->size = f->size, o->next_id = f->next_id;
    o->vector_bytes = f->dim * sizeof(float) + sizeof(int64_t) * (f->labelled ? 2 : 1);
    o->bytes = sizeof *f + f->cap * o->vector_bytes;
}

sl_status sl_flat_index_get_vector(const sl_flat_index *f, int64_t id, float *out) {
    size_t at = lower_bound(f->ids, f->size, id);
    if (at == f->size || f->ids[at] != id)
        return sl__fail(SL_ERR_NOTFOUND, "flat index: no vector has the id %lld", (long long)id);
    memcpy(out, f->x + at * f->dim, f->dim * sizeof *out);
    return SL_OK;
}

/* ---- save / load -----------------------------------------------------------*/

sl_status sl_flat_index_save(const sl_flat_index *f, const char *path) {
    sl__iwriter w;
    SL__TRY(sl__iwriter_open(&w, path));
    uint32_t v32[2] = {FLAT_VERSION, (uint32_t)f->metric};
    uint64_t v64[4] = {f->dim, f->size, f->next_id, f->labelled};
    sl__iwriter_put(&w, flat_magic, 8);
    sl__iwriter_put(&w, v32, sizeof v32);
    sl__iwriter_put(&w, v64, sizeof v64);
    if (f->size) {
        sl__iwriter_put(&w, f->x, f->size * f->dim * sizeof *f->x);
        sl__iwriter_put(&w, f->ids, f->size * sizeof *f->ids);
        if (f->labelled) sl__iwriter_put(&w, f->labels, f->size * sizeof *f->labels);
    }
    return sl__iwriter_close(&w);
}

typedef sl__reader reader;

/* Magic, version and checksum (r->n then excludes it), then the header,
 * each field checked against the bytes left; the index is created. */
static sl_status load_header(reader *r, sl_flat_index **out, size_t *nvec) {
    sl_metric metric;
    uint64_t v64[4] = {0};
    SL__TRY(sl__reader_open(r, flat_magic, "flat index", FLAT_VERSION, &metric));
    SL__TRY(sl__reader_get(r, v64, sizeof v64, "the header"));
    uint64_t dim = v64[0], size = v64[1], left = r->n - r->pos;
    if (dim == 0 || dim > ((uint64_t)1 << 24))
        return sl__fail(SL_ERR_FORMAT, "%s: dimension %llu out of range", r->path, (unsigned long long)dim);
    if (v64[3] > 1) return sl__fail(SL_ERR_FORMAT, "%s: labelled flag %llu", r->path, (unsigned long long)v64[3]);
    uint64_t per = 4 * dim + 8 * (1 + v64[3]);
    if (size > left / per || size * per != left)
        return sl__fail(SL_ERR_FORMAT, "%s: %llu vectors of %llu dimensions do not match the %llu bytes of data",
                        r->path, (unsigned long long)size, (unsigned long long)dim, (unsigned long long)left);
    if (v64[2] < size)
        return sl__fail(SL_ERR_FORMAT, "%s: %llu vectors but only %llu ever added", r->path,
                        (unsigned long long)size, (unsigned long long)v64[2]);
    SL__TRY(sl_flat_index_create(dim, metric, out));
    (*out)->next_id = v64[2], (*out)->labelled = v64[3] != 0;
    *nvec = size;
    return reserve(*out, size);
}

static sl_status load_body(reader *r, sl_flat_index *f, size_t size) {
    if (size == 0) return SL_OK;
    SL__TRY(sl__reader_get(r, f->x, size * f->dim * sizeof *f->x, "the vectors"));
    SL__TRY(sl__reader_get(r, f->ids, size * sizeof *f->ids, "the ids"));
    if (f->labelled) SL__TRY(sl__reader_get(r, f->labels, size * sizeof *f->labels, "the labels"));
    for (size_t i = 0; i < size * f->dim; i++)
        if (!isfinite(f->x[i]))
            return sl__fail(SL_ERR_FORMAT, "%s: vector %zu holds a NaN or infinite value", r->path, i / f->dim);
    for (size_t i = 0; i < size; i++)
        if (f->ids[i] < 0 || (i && f->ids[i] <= f->ids[i - 1]))
            return sl__fail(SL_ERR_FORMAT, "%s: vector %zu: id %lld is %s", r->path, i, (long long)f->ids[i],
                            f->ids[i] < 0 ? "negative" : "not above the one before (ids are stored sorted)");
    f->size = size;
    return SL_OK;
}

sl_status sl_flat_index_load(const char *path, sl_flat_index **out) {
    unsigned char *buf;
    size_t sz;
    SL__TRY(sl__file_read(path, "a simlearn flat index", &buf, &sz));
    reader r = {buf, sz, 0, path};
    sl_flat_index *f = NULL;
    size_t size = 0;
    sl_status st = load_header(&r, &f, &size);
    if (st == SL_OK) st = load_body(&r, f, size);
    sl__free(buf);
    if (st) {
        sl_flat_index_destroy(f);
        return st;
    }
    *out = f;
    return SL_OK;
}

bool sl__flat_index_magic(const void *head) { return memcmp(head, flat_magic, 8) == 0; }

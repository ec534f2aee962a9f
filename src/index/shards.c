/* Sharded HNSW: shards built one per rank with the rows' global ids as keys,
 * the text manifest that names them (written atomically, checksummed,
 * checked against each shard file's header, size and trailing checksum), the
 * shards loaded in one process or one per rank, and the exact merge of the
 * shards' result lists by (score, id). */
#include "index_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAGIC "simlearn-hnsw-shards"
#define MANIFEST_VERSION 1
#define MANIFEST_MAX_BYTES ((size_t)64 << 20)
#define MANIFEST_MAX_SHARDS ((size_t)1 << 20)
#define NAME_MAX_BYTES 4096

struct sl_shards {
    char *manifest;
    size_t n, rows, dim, M, efc;
    sl_metric metric;
    sl_shards_entry *e; /* n entries; their paths are owned here */
    sl_hnsw **h;        /* n slots, NULL when not loaded */
    size_t loaded, first_loaded;
    bool dist; /* one shard per rank: search gathers the ranks' lists */
};

/* ---- names and paths ----------------------------------------------------*/

/* A shard's file name as a manifest line may hold it: no '/' or whitespace. */
static sl_status check_name(const char *manifest, const char *name) {
    size_t len = strlen(name);
    bool ok = len > 0 && len < NAME_MAX_BYTES && strcmp(name, ".") && strcmp(name, "..");
    for (size_t i = 0; ok && i < len; i++) ok = name[i] != '/' && !isspace((unsigned char)name[i]);
    if (!ok)
        return sl__fail(SL_ERR_ARG, "%s: shard file name '%.200s': expected a name in the manifest's folder (no '/', "
                                    "no spaces, under %d bytes)", manifest, name, NAME_MAX_BYTES);
    return SL_OK;
}

/* The manifest's folder (with its '/') joined with name; NULL when out of memory. */
static char *join(const char *manifest, const char *name) {
    const char *slash = strrchr(manifest, '/');
    size_t dl = slash ? (size_t)(slash - manifest) + 1 : 0, nl = strlen(name);
    char *p = sl__malloc(dl + nl + 1);
    if (!p) {
        sl__fail(SL_ERR_NOMEM, "%s: out of memory for the path of %s", manifest, name);
        return NULL;
    }
    memcpy(p, manifest, dl);
    memcpy(p + dl, name, nl + 1);
    return p;
}

/* ---- writing the manifest -----------------------------------------------*/

/* Parameters every shard must share, from the first. */
static sl_status same_params(const char *what, const sl__hnsw_facts *a, const sl__hnsw_facts *b) {
    if (a->metric != b->metric || a->dim != b->dim || a->M != b->M || a->ef_construction != b->ef_construction)
        return sl__fail(SL_ERR_ARG,
                        "%s: metric %s, dim %zu, M %zu, ef_construction %zu, but the first shard has %s, %zu, %zu, %zu "
                        "(every shard of an index needs the same)",
                        what, sl_metric_name(b->metric), b->dim, b->M, b->ef_construction, sl_metric_name(a->metric),
                        a->dim, a->M, a->ef_construction);
    return SL_OK;
}

/* The manifest's text for n shards (names[i], f[i]), its checksum line
 * included, in a new buffer (*len bytes). */
static sl_status manifest_text(const char *manifest, const char *const *names, const sl__hnsw_facts *f, size_t n,
                               char **out, size_t *len) {
    size_t rows = 0, cap = 512;
    for (size_t i = 0; i < n; i++) {
        if (i) SL__TRY(same_params(names[i], &f[0], &f[i]));
        rows += f[i].live;
        cap += strlen(names[i]) + 96;
    }
    char *t = sl__malloc(cap);
    if (!t) return sl__fail(SL_ERR_NOMEM, "%s: out of memory for the manifest", manifest);
    size_t p = (size_t)snprintf(t, cap, "%s %d\nmetric %s\ndim %zu\nM %zu\nef_construction %zu\nrows %zu\nshards %zu\n",
                                MANIFEST_MAGIC, MANIFEST_VERSION, sl_metric_name(f[0].metric), f[0].dim, f[0].M,
                                f[0].ef_construction, rows, n);
    for (size_t i = 0; i < n; i++)
        p += (size_t)snprintf(t + p, cap - p, "shard %zu %zu %llu %016llx %s\n", i, f[i].live,
                              (unsigned long long)f[i].bytes, (unsigned long long)f[i].checksum, names[i]);
    p += (size_t)snprintf(t + p, cap - p, "checksum %016llx\n", (unsigned long long)sl__fnv1a(SL__FNV1A_INIT, t, p));
    *out = t, *len = p;
    return SL_OK;
}

static sl_status manifest_save(const char *manifest, const char *const *names, const sl__hnsw_facts *f, size_t n) {
    char *t = NULL;
    size_t len = 0;
    SL__TRY(manifest_text(manifest, names, f, n, &t, &len));
    sl_afile *af;
    sl_status s = sl_afile_open(manifest, &af);
    if (!s && (s = sl_afile_write(af, t, len)) != SL_OK)
        sl_afile_abort(af);
    else if (!s)
        s = sl_afile_commit(af);
    sl__free(t);
    return s;
}

sl_status sl_shards_write(const char *manifest, const char *const *files, size_t n) {
    if (!manifest || !files || n == 0 || n > MANIFEST_MAX_SHARDS)
        return sl__fail(SL_ERR_ARG, "shard manifest: expected a path and 1 to %zu shard files", MANIFEST_MAX_SHARDS);
    sl__hnsw_facts *f = sl__malloc_array(n, sizeof *f, "shard manifest: facts");
    if (!f) return SL_ERR_NOMEM;
    sl_status s = SL_OK;
    for (size_t i = 0; i < n && !s; i++) {
        char *p = NULL;
        if (!(s = check_name(manifest, files[i])) && !(p = join(manifest, files[i]))) s = SL_ERR_NOMEM;
        if (!s) s = sl__hnsw_peek(p, &f[i]);
        sl__free(p);
    }
    if (!s) s = manifest_save(manifest, files, f, n);
    sl__free(f);
    return s;
}

/* ---- building one shard per rank ----------------------------------------*/

static int cmp_id(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The whole base's ids: each >= 0, no two equal (naming the rows). */
static sl_status check_ids(const int64_t *ids, size_t total) {
    for (size_t i = 0; i < total; i++)
        if (ids[i] < 0) return sl__fail(SL_ERR_ARG, "sharded build: row %zu has the id %lld (ids are >= 0)", i, (long long)ids[i]);
    int64_t *c = sl__malloc_array(total, sizeof *c, "sharded build: ids");
    if (!c) return SL_ERR_NOMEM;
    memcpy(c, ids, total * sizeof *c);
    qsort(c, total, sizeof *c, cmp_id);
    int64_t dup = -1;
    for (size_t i = 1; i < total && dup < 0; i++)
        if (c[i] == c[i - 1]) dup = c[i];
    sl__free(c);
    if (dup < 0) return SL_OK;
    size_t a = 0, b;
    while (ids[a] != dup) a++;
    for (b = a + 1; ids[b] != dup; b++) {}
    return sl__fail(SL_ERR_ARG, "sharded build: rows %zu and %zu have the same id %lld (ids must be distinct)", a, b,
                    (long long)dup);
}

/* Build and save this rank's shard (rows first .. first + n - 1, with ids
 * ids[first + i] or first + i) to path. */
static sl_status build_shard(const float *x, size_t n, size_t first, size_t total, const int64_t *ids,
                             const int64_t *labels, const sl_hnsw_config *cfg, const char *path, sl_progress *progress,
                             const volatile sig_atomic_t *stop) {
    if (n == 0)
        return sl__fail(SL_ERR_ARG, "sharded build: rank %d of %d has no rows (the base has fewer rows than ranks)",
                        sl_dist_rank(), sl_dist_size());
    if (first > total || n > total - first)
        return sl__fail(SL_ERR_ARG, "sharded build: rows %zu..%zu of a base of %zu", first, first + n, total);
    if (ids) SL__TRY(check_ids(ids, total));
    int64_t *keys = NULL;
    if (!ids) {
        if (!(keys = sl__malloc_array(n, sizeof *keys, "sharded build: ids"))) return SL_ERR_NOMEM;
        for (size_t i = 0; i < n; i++) keys[i] = (int64_t)(first + i);
    }
    sl_hnsw *h = NULL;
    sl_status s = sl_hnsw_create(cfg, &h);
    if (!s) s = sl_hnsw_add_keys(h, x, n, ids ? ids + first : keys, labels ? labels + first : NULL, progress, stop);
    if (!s) s = sl_hnsw_save(h, path);
    sl_hnsw_destroy(h);
    sl__free(keys);
    return s;
}

sl_status sl_shards_build(const float *x, size_t n, size_t first, size_t total, const int64_t *ids,
                          const int64_t *labels, const sl_hnsw_config *cfg, const char *manifest,
                          sl_progress *progress, const volatile sig_atomic_t *stop) {
    const int rank = sl_dist_rank(), N = sl_dist_size();
    const char *slash = manifest ? strrchr(manifest, '/') : NULL, *base = slash ? slash + 1 : manifest;
    char **names = sl__calloc((size_t)N, sizeof *names), *path = NULL;
    sl__hnsw_facts *f = sl__malloc_array((size_t)N, sizeof *f, "sharded build: facts");
    sl_status s = names && f ? SL_OK : sl__fail(SL_ERR_NOMEM, "sharded build: out of memory");
    if (!s && (!manifest || !cfg)) s = sl__fail(SL_ERR_ARG, "sharded build: no manifest path or configuration");
    for (int r = 0; r < N && !s; r++) {
        size_t len = strlen(base) + 40;
        if (!(names[r] = sl__malloc(len))) s = sl__fail(SL_ERR_NOMEM, "sharded build: out of memory");
        else snprintf(names[r], len, "%s.shard%dof%d", base, r, N);
    }
    if (!s) s = check_name(manifest, names[rank]);
    if (!s && !(path = join(manifest, names[rank]))) s = SL_ERR_NOMEM;
    if (!s) s = build_shard(x, n, first, total, ids, labels, cfg, path, progress, stop);
    sl__hnsw_facts mine = {0};
    if (!s) s = sl__hnsw_peek(path, &mine);
    s = sl__index_agree(s, "sharded build");
    if (!s) s = sl_dist_allgather(&mine, sizeof mine, f);
    if (!s && rank == 0) s = manifest_save(manifest, (const char *const *)names, f, (size_t)N);
    s = sl__index_agree(s, "sharded build");
    for (int r = 0; names && r < N; r++) sl__free(names[r]);
    sl__free(names), sl__free(f), sl__free(path);
    return s;
}

/* ---- reading the manifest -----------------------------------------------*/

typedef struct {
    char *line; /* the current line, NUL-terminated */
    size_t no;  /* its number, from 1 */
    char *next; /* the rest of the text */
    const char *path;
} lines;

/* The next line of the text (whose lines all end in '\n'), or NULL at the end. */
static char *line_next(lines *l) {
    if (!l->next || !*l->next) return NULL;
    char *nl = strchr(l->next, '\n');
    *nl = 0;
    l->line = l->next, l->next = nl + 1, l->no++;
    return l->line;
}

/* A decimal number that is the whole token: digits only, at most max. */
static bool parse_uint(const char *t, uint64_t max, uint64_t *out) {
    if (!*t || strspn(t, "0123456789") != strlen(t) || strlen(t) > 19) return false;
    *out = strtoull(t, NULL, 10);
    return *out <= max;
}

/* The next line as "key <number up to max>". */
static sl_status field_uint(lines *l, const char *key, uint64_t max, size_t *out) {
    char *t = line_next(l);
    size_t kl = strlen(key);
    uint64_t v;
    if (!t || strncmp(t, key, kl) || t[kl] != ' ' || !parse_uint(t + kl + 1, max, &v))
        return sl__fail(SL_ERR_FORMAT, "%s: line %zu: expected '%s <number up to %llu>', found '%.60s'", l->path,
                        l->no + !t, key, (unsigned long long)max, t ? t : "the end of the file");
    *out = (size_t)v;
    return SL_OK;
}

/* Magic and version, then the trailing checksum line over everything before
 * it (which is cut off the text). */
static sl_status manifest_frame(char *t, size_t len, const char *path, size_t *body) {
    size_t ml = strlen(MANIFEST_MAGIC);
    if (len < ml + 1 || memcmp(t, MANIFEST_MAGIC " ", ml + 1) != 0)
        return sl__fail(SL_ERR_FORMAT, "%s: not a simlearn shard manifest (its first line should be '%s %d')", path,
                        MANIFEST_MAGIC, MANIFEST_VERSION);
    uint64_t v;
    char ver[21] = {0};
    for (size_t i = 0; i < 20 && ml + 1 + i < len && t[ml + 1 + i] != '\n'; i++) ver[i] = t[ml + 1 + i];
    if (!parse_uint(ver, UINT32_MAX, &v) || v != MANIFEST_VERSION)
        return sl__fail(SL_ERR_FORMAT, "%s: manifest format version '%s', this build reads version %d", path, ver,
                        MANIFEST_VERSION);
    /* The last line: "checksum <16 hex digits>\n". */
    const size_t cl = 9 + 16 + 1;
    unsigned long long want = 0;
    char hex[17] = {0};
    bool framed = len > cl && t[len - 1] == '\n' && t[len - cl - 1] == '\n' && !memcmp(t + len - cl, "checksum ", 9);
    if (framed) memcpy(hex, t + len - 17, 16);
    if (!framed || strspn(hex, "0123456789abcdef") != 16 || sscanf(hex, "%16llx", &want) != 1)
        return sl__fail(SL_ERR_FORMAT, "%s: the manifest does not end with its 'checksum' line (truncated?)", path);
    uint64_t got = sl__fnv1a(SL__FNV1A_INIT, t, len - cl);
    if (got != want)
        return sl__fail(SL_ERR_FORMAT, "%s: manifest checksum mismatch (the line says %016llx, the text gives %016llx): "
                                       "the manifest was changed or damaged", path, want, (unsigned long long)got);
    t[len - cl] = 0;
    *body = len - cl;
    return SL_OK;
}

/* The header fields after the first line. */
static sl_status manifest_header(lines *l, sl_shards *s) {
    char *t = line_next(l), name[16];
    if (!t || strncmp(t, "metric ", 7) || strlen(t + 7) >= sizeof name ||
        (strcpy(name, t + 7), sl_metric_parse(name, &s->metric)))
        return sl__fail(SL_ERR_FORMAT, "%s: line %zu: expected 'metric l2|ip|cosine', found '%.60s'", l->path, l->no,
                        t ? t : "the end of the file");
    SL__TRY(field_uint(l, "dim", (uint64_t)1 << 24, &s->dim));
    SL__TRY(field_uint(l, "M", 512, &s->M));
    SL__TRY(field_uint(l, "ef_construction", 100000, &s->efc));
    SL__TRY(field_uint(l, "rows", INT64_MAX, &s->rows));
    SL__TRY(field_uint(l, "shards", MANIFEST_MAX_SHARDS, &s->n));
    if (s->dim == 0 || s->M < 2 || s->efc == 0 || s->n == 0)
        return sl__fail(SL_ERR_FORMAT, "%s: dim %zu, M %zu, ef_construction %zu, shards %zu: expected dim, "
                                       "ef_construction, shards >= 1 and M >= 2", l->path, s->dim, s->M, s->efc, s->n);
    return SL_OK;
}

/* Shard line i: "shard <i> <rows> <bytes> <checksum> <name>". */
static sl_status manifest_shard(lines *l, sl_shards *s, size_t i, size_t *rows) {
    char *t = line_next(l), hex[17] = {0};
    char *w[6] = {0}, *p = t;
    size_t nw = 0;
    for (; p && nw < 6; nw++) {
        w[nw] = p;
        p = strchr(p, ' ');
        if (p) *p++ = 0;
    }
    uint64_t no, r, b;
    unsigned long long sum = 0;
    if (nw != 6 || p || strcmp(w[0], "shard") || !parse_uint(w[1], SIZE_MAX, &no) || no != i ||
        !parse_uint(w[2], INT64_MAX, &r) || !parse_uint(w[3], INT64_MAX, &b) || strlen(w[4]) != 16 ||
        strspn(w[4], "0123456789abcdef") != 16 || check_name(l->path, w[5]))
        return sl__fail(SL_ERR_FORMAT, "%s: line %zu: expected 'shard %zu <rows> <bytes> <16 hex digits> <file name>' "
                                       "(%zu shards)", l->path, l->no + !t, i, s->n);
    memcpy(hex, w[4], 16);
    sscanf(hex, "%16llx", &sum);
    s->e[i] = (sl_shards_entry){.path = join(l->path, w[5]), .rows = (size_t)r, .bytes = b, .checksum = sum};
    if (!s->e[i].path) return SL_ERR_NOMEM;
    *rows += (size_t)r;
    return SL_OK;
}

/* Up to max bytes of fp into a buffer of max + 1 at most, grown as the
 * text comes (a manifest is a few hundred bytes; the limit is not allocated
 * up front). NULL when out of memory. */
static char *read_upto(FILE *fp, size_t max, size_t *n) {
    size_t cap = 0;
    char *t = NULL;
    *n = 0;
    do {
        size_t ncap = cap ? (cap > max / 2 ? max + 1 : 2 * cap) : 4096;
        char *nt = sl__realloc(t, ncap);
        if (!nt) {
            sl__free(t);
            return NULL;
        }
        t = nt, cap = ncap;
        *n += fread(t + *n, 1, cap - *n, fp);
    } while (*n == cap && cap <= max && !ferror(fp));
    return t;
}

/* The manifest's text (whole, at most MANIFEST_MAX_BYTES) in a new buffer. */
static sl_status manifest_read(const char *path, char **out, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return sl__fail(SL_ERR_IO, "%s: cannot open the manifest: %s", path, strerror(errno));
    size_t n;
    char *t = read_upto(fp, MANIFEST_MAX_BYTES, &n);
    bool err = ferror(fp);
    fclose(fp);
    if (!t) return sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
    if (err || n > MANIFEST_MAX_BYTES || n == 0) {
        sl__free(t);
        if (err) return sl__fail(SL_ERR_IO, "%s: read failed", path);
        return sl__fail(SL_ERR_FORMAT, n ? "%s: larger than any shard manifest" : "%s: empty file, expected a shard "
                                                                                   "manifest", path);
    }
    if (memchr(t, 0, n)) {
        sl__free(t);
        return sl__fail(SL_ERR_FORMAT, "%s: not a simlearn shard manifest (binary data)", path);
    }
    t[n] = 0;
    *out = t, *len = n;
    return SL_OK;
}

static sl_status manifest_parse(const char *path, sl_shards *s) {
    char *t = NULL;
    size_t len = 0, body, rows = 0;
    SL__TRY(manifest_read(path, &t, &len));
    sl_status st = manifest_frame(t, len, path, &body);
    lines l = {.next = t, .path = path};
    if (!st) line_next(&l); /* the first line, checked */
    if (!st) st = manifest_header(&l, s);
    if (!st && (!(s->e = sl__calloc(s->n, sizeof *s->e)) || !(s->h = sl__calloc(s->n, sizeof *s->h))))
        st = sl__fail(SL_ERR_NOMEM, "%s: out of memory for %zu shards", path, s->n);
    for (size_t i = 0; !st && i < s->n; i++) st = manifest_shard(&l, s, i, &rows);
    if (!st && line_next(&l))
        st = sl__fail(SL_ERR_FORMAT, "%s: line %zu: unexpected '%.60s' after the %zu shard lines", path, l.no, l.line,
                      s->n);
    if (!st && rows != s->rows)
        st = sl__fail(SL_ERR_FORMAT, "%s: the shard lines hold %zu rows, the header says %zu", path, rows, s->rows);
    sl__free(t);
    return st;
}

/* ---- checking, opening, loading -----------------------------------------*/

/* Shard i's file against its manifest line and the header. */
static sl_status check_shard(const sl_shards *s, size_t i) {
    const sl_shards_entry *e = &s->e[i];
    sl__hnsw_facts f;
    sl_status ps = sl__hnsw_peek(e->path, &f);
    if (ps) return sl__fail_prefix(ps, "%s: shard %zu", s->manifest, i);
    const char *fix = "a shard of another index? build the index again with simlearn index build";
    if (f.metric != s->metric || f.dim != s->dim)
        return sl__fail(SL_ERR_FORMAT, "%s: shard %zu (%s) holds %zu-dimensional vectors with metric %s, the manifest "
                                       "says %zu with %s (%s)", s->manifest, i, e->path, f.dim,
                        sl_metric_name(f.metric), s->dim, sl_metric_name(s->metric), fix);
    if (f.M != s->M || f.ef_construction != s->efc || f.live != e->rows)
        return sl__fail(SL_ERR_FORMAT, "%s: shard %zu (%s) has M %zu, ef_construction %zu and %zu rows, the manifest "
                                       "says %zu, %zu and %zu (%s)", s->manifest, i, e->path, f.M, f.ef_construction,
                        f.live, s->M, s->efc, e->rows, fix);
    if (f.bytes != e->bytes || f.checksum != e->checksum)
        return sl__fail(SL_ERR_FORMAT, "%s: shard %zu (%s) is %llu bytes with checksum %016llx, the manifest expects "
                                       "%llu bytes with %016llx (the file was replaced or damaged; %s)", s->manifest,
                        i, e->path, (unsigned long long)f.bytes, (unsigned long long)f.checksum,
                        (unsigned long long)e->bytes, (unsigned long long)e->checksum, fix);
    return SL_OK;
}

sl_status sl_shards_open(const char *manifest, sl_shards **out) {
    *out = NULL;
    if (!manifest) return sl__fail(SL_ERR_ARG, "shard manifest: no path");
    sl_shards *s = sl__calloc(1, sizeof *s);
    if (!s || !(s->manifest = sl__strdup(manifest))) {
        sl__free(s);
        return sl__fail(SL_ERR_NOMEM, "%s: out of memory", manifest);
    }
    sl_status st = manifest_parse(manifest, s);
    for (size_t i = 0; !st && i < s->n; i++) st = check_shard(s, i);
    if (st) {
        sl_shards_destroy(s);
        return st;
    }
    *out = s;
    return SL_OK;
}

/* Load shards first .. first + count - 1 of an opened manifest. */
static sl_status load_range(sl_shards *s, size_t first, size_t count) {
    for (size_t i = first; i < first + count; i++) {
        SL__TRY(sl_hnsw_load(s->e[i].path, &s->h[i]));
        if (sl_hnsw_live(s->h[i]) != s->e[i].rows) /* changed since it was checked */
            return sl__fail(SL_ERR_FORMAT, "%s: shard %zu (%s) holds %zu rows, the manifest says %zu", s->manifest, i,
                            s->e[i].path, sl_hnsw_live(s->h[i]), s->e[i].rows);
    }
    s->first_loaded = first, s->loaded = count;
    return SL_OK;
}

sl_status sl_shards_load(const char *manifest, sl_shards **out) {
    SL__TRY(sl_shards_open(manifest, out));
    sl_status s = load_range(*out, 0, (*out)->n);
    if (s) {
        sl_shards_destroy(*out);
        *out = NULL;
    }
    return s;
}

sl_status sl_shards_load_dist(const char *manifest, sl_shards **out) {
    const size_t N = (size_t)sl_dist_size(), r = (size_t)sl_dist_rank();
    if (N == 1) return sl_shards_load(manifest, out);
    sl_status s = sl_shards_open(manifest, out);
    if (!s && (*out)->n != N)
        s = sl__fail(SL_ERR_ARG, "%s has %zu shards but this run has %zu ranks: start it with mpirun -np %zu (one rank "
                                 "per shard), or without mpirun to search every shard in one process",
                     manifest, (*out)->n, N, (*out)->n);
    if (!s) s = load_range(*out, r, 1);
    if (!s) (*out)->dist = true;
    s = sl__index_agree(s, "sharded load");
    if (s) {
        sl_shards_destroy(*out);
        *out = NULL;
    }
    return s;
}

void sl_shards_destroy(sl_shards *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        if (s->h) sl_hnsw_destroy(s->h[i]);
        if (s->e) sl__free((char *)s->e[i].path);
    }
    sl__free(s->h), sl__free(s->e), sl__free(s->manifest), sl__free(s);
}

void sl_shards_get_info(const sl_shards *s, sl_shards_info *o) {
    *o = (sl_shards_info){.shards = s->n, .rows = s->rows, .dim = s->dim, .M = s->M, .ef_construction = s->efc,
                          .metric = s->metric, .loaded = s->loaded, .first_loaded = s->first_loaded};
}

sl_status sl_shards_get_entry(const sl_shards *s, size_t i, sl_shards_entry *out) {
    if (i >= s->n) return sl__fail(SL_ERR_RANGE, "%s: shard %zu of %zu", s->manifest, i, s->n);
    *out = s->e[i];
    return SL_OK;
}

bool sl_shards_ids_are_rows(const sl_shards *s) {
    if (s->loaded != s->n) return false;
    size_t first = 0;
    for (size_t i = 0; i < s->n; first += s->e[i].rows, i++)
        for (size_t r = first; r < first + s->e[i].rows; r++)
            if (!sl_hnsw_contains(s->h[i], (int64_t)r)) return false;
    return true;
}

bool sl_shards_is_manifest(const char *path) {
    char head[sizeof MANIFEST_MAGIC] = {0};
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) return false;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return n == sizeof head && memcmp(head, MANIFEST_MAGIC " ", sizeof head) == 0;
}

/* ---- search and merge ----------------------------------------------------*/

sl_status sl_shards_merge(const int64_t *ids, const float *scores, size_t parts, size_t nq, size_t k, sl_metric metric,
                          int64_t *out_ids, float *out_scores) {
    if (k == 0 || parts == 0) return sl__fail(SL_ERR_ARG, "shard merge: k = %zu, parts = %zu (both must be >= 1)", k, parts);
    sl__cand *buf = sl__malloc_array(parts, k * sizeof *buf, "shard merge: buffer");
    if (!buf) return SL_ERR_NOMEM;
    const float sign = metric == SL_METRIC_L2 ? 1.0f : -1.0f;
    for (size_t i = 0; i < nq; i++) {
        size_t c = 0;
        for (size_t p = 0; p < parts; p++)
            for (size_t t = 0; t < k; t++) {
                size_t at = (p * nq + i) * k + t;
                /* padding (id -1) and NaN scores are left out */
                if (ids[at] >= 0 && scores[at] == scores[at]) buf[c++] = (sl__cand){(double)(sign * scores[at]), ids[at]};
            }
        sl__cand_emit(buf, c, k, metric, out_ids + i * k, out_scores + i * k);
    }
    sl__free(buf);
    return SL_OK;
}

/* One shard's k best for each of nq queries, padded when it has fewer than k rows. */
static sl_status search_shard(const sl_hnsw *h, const float *q, size_t nq, size_t k, size_t ef,
                              const sl_hnsw_filter *filter, int64_t *ids, float *sc) {
    size_t kk = SL__MIN(k, sl_hnsw_live(h));
    if (kk == k) return sl_hnsw_search(h, q, nq, k, ef, filter, ids, sc);
    for (size_t i = 0; i < nq * k; i++) ids[i] = -1, sc[i] = NAN;
    if (kk == 0) return SL_OK;
    int64_t *ti = sl__malloc_array(nq, kk * sizeof *ti, "shard search: results");
    float *ts = sl__malloc_array(nq, kk * sizeof *ts, "shard search: results");
    sl_status s = ti && ts ? sl_hnsw_search(h, q, nq, kk, ef, filter, ti, ts) : SL_ERR_NOMEM;
    for (size_t i = 0; !s && i < nq; i++) {
        memcpy(ids + i * k, ti + i * kk, kk * sizeof *ti);
        memcpy(sc + i * k, ts + i * kk, kk * sizeof *ts);
    }
    sl__free(ti), sl__free(ts);
    return s;
}

/* Every shard's lists for queries q0 .. q0 + qn - 1 into all_ids/all_sc
 * (shards x qn x k): searched here, or on each rank and gathered. */
static sl_status search_chunk(const sl_shards *s, const float *q, size_t qn, size_t k, size_t ef,
                              const sl_hnsw_filter *f, int64_t *all_ids, float *all_sc, int64_t *loc_ids,
                              float *loc_sc) {
    if (!s->dist) {
        for (size_t i = 0; i < s->n; i++)
            SL__TRY(search_shard(s->h[i], q, qn, k, ef, f, all_ids + i * qn * k, all_sc + i * qn * k));
        return SL_OK;
    }
    sl_status st = sl__index_agree(search_shard(s->h[s->first_loaded], q, qn, k, ef, f, loc_ids, loc_sc),
                                   "sharded search");
    if (!st) st = sl_dist_allgather(loc_ids, qn * k * sizeof *loc_ids, all_ids);
    if (!st) st = sl_dist_allgather(loc_sc, qn * k * sizeof *loc_sc, all_sc);
    return st;
}

sl_status sl_shards_search(const sl_shards *s, const float *queries, size_t nq, size_t k, size_t ef,
                           const sl_hnsw_filter *filter, int64_t *ids, float *scores) {
    if (!s->loaded) return sl__fail(SL_ERR_STATE, "%s: no shard is loaded (opened to describe it only)", s->manifest);
    if (k == 0 || ef == 0) return sl__fail(SL_ERR_ARG, "sharded search: k and ef must be at least 1");
    if (k > s->rows)
        return sl__fail(SL_ERR_RANGE, "sharded search: k = %zu but the index %s holds %zu vectors", k, s->manifest,
                        s->rows);
    /* Queries go in chunks whose gathered lists take at most 64 MiB. */
    size_t qc = SL__MAX((size_t)1, ((size_t)64 << 20) / (s->n * k * (sizeof(int64_t) + sizeof(float))));
    qc = SL__MIN(qc, SL__MAX(nq, (size_t)1));
    int64_t *ai = sl__malloc_array(s->n * qc, k * sizeof *ai, "sharded search: lists");
    float *as = sl__malloc_array(s->n * qc, k * sizeof *as, "sharded search: lists");
    int64_t *li = s->dist ? sl__malloc_array(qc, k * sizeof *li, "sharded search: lists") : NULL;
    float *ls = s->dist ? sl__malloc_array(qc, k * sizeof *ls, "sharded search: lists") : NULL;
    sl_status st = ai && as && (!s->dist || (li && ls)) ? SL_OK : SL_ERR_NOMEM;
    if (s->dist) st = sl__index_agree(st, "sharded search");
    for (size_t q0 = 0; !st && q0 < nq; q0 += qc) {
        size_t qn = SL__MIN(qc, nq - q0);
        st = search_chunk(s, queries + q0 * s->dim, qn, k, ef, filter, ai, as, li, ls);
        if (!st) st = sl_shards_merge(ai, as, s->n, qn, k, s->metric, ids + q0 * k, scores + q0 * k);
    }
    sl__free(ai), sl__free(as), sl__free(li), sl__free(ls);
    return st;
}

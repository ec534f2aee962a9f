/* safetensors checkpoints: a collection of named tensors plus string metadata,
 * stored as an 8-byte little-endian header length, a JSON header and the raw
 * little-endian data, exactly as the safetensors package reads and writes it. */
#include "io/json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the safetensors code assumes a little-endian host"
#endif

/* The safetensors package refuses headers above 100 MB; so do we, so a
 * corrupt length cannot make us allocate gigabytes. */
#define ST_MAX_HEADER 100000000u

struct sl_tensors {
    size_t n, cap;
    char **names;
    sl_array *arrays;
    size_t nmeta, capmeta;
    char **mkeys, **mvals;
    char *path; /* the file it was read from, for messages; NULL if built in memory */
};

sl_status sl_tensors_create(sl_tensors **out) {
    sl_tensors *t = sl__calloc(1, sizeof *t);
    if (!t) return sl__fail(SL_ERR_NOMEM, "tensors: out of memory");
    *out = t;
    return SL_OK;
}

void sl_tensors_destroy(sl_tensors *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) {
        sl__free(t->names[i]);
        sl_array_destroy(&t->arrays[i]);
    }
    for (size_t i = 0; i < t->nmeta; i++) {
        sl__free(t->mkeys[i]);
        sl__free(t->mvals[i]);
    }
    sl__free(t->names);
    sl__free(t->arrays);
    sl__free(t->mkeys);
    sl__free(t->mvals);
    sl__free(t->path);
    sl__free(t);
}

static size_t find_name(const sl_tensors *t, const char *name) {
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->names[i], name) == 0) return i;
    return SIZE_MAX;
}

static sl_status check_name(const char *what, const char *name) {
    if (!name || !*name) return sl__fail(SL_ERR_ARG, "tensors: %s must not be empty", what);
    if (!sl__utf8_valid(name, strlen(name)))
        return sl__fail(SL_ERR_ARG, "tensors: %s \"%s\" is not valid UTF-8", what, name);
    return SL_OK;
}

/* Insert a, taking ownership (freed on failure), replacing a same-named tensor. */
static sl_status tensors_put(sl_tensors *t, const char *name, sl_array a) {
    size_t i = find_name(t, name);
    if (i != SIZE_MAX) {
        sl_array_destroy(&t->arrays[i]);
        t->arrays[i] = a;
        return SL_OK;
    }
    char *nm = sl__strdup(name);
    if (!nm) goto nomem;
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 8;
        char **nn = sl__realloc(t->names, nc * sizeof *nn);
        if (!nn) goto nomem;
        t->names = nn;
        sl_array *na = sl__realloc(t->arrays, nc * sizeof *na);
        if (!na) goto nomem;
        t->arrays = na;
        t->cap = nc;
    }
    t->names[t->n] = nm;
    t->arrays[t->n] = a;
    t->n++;
    return SL_OK;
nomem:
    sl__free(nm);
    sl_array_destroy(&a);
    return sl__fail(SL_ERR_NOMEM, "tensors: %s: out of memory", name);
}

sl_status sl_tensors_add(sl_tensors *t, const char *name, sl_dtype dtype, int ndim, const size_t *shape,
                         const void *data) {
    SL__TRY(check_name("tensor name", name));
    if (strcmp(name, "__metadata__") == 0)
        return sl__fail(SL_ERR_ARG, "tensors: the name \"__metadata__\" is reserved for the metadata");
    if ((unsigned)dtype > SL_U8) return sl__fail(SL_ERR_ARG, "tensors: %s: unknown dtype %d", name, (int)dtype);
    sl_array a;
    SL__TRY(sl__array_alloc_raw(&a, dtype, ndim, shape));
    size_t bytes = sl_array_count(&a) * sl_dtype_size(dtype);
    if (bytes) {
        if (!data) {
            sl_array_destroy(&a);
            return sl__fail(SL_ERR_ARG, "tensors: %s: data is NULL", name);
        }
        memcpy(a.data, data, bytes);
    }
    return tensors_put(t, name, a);
}

const sl_array *sl_tensors_get(const sl_tensors *t, const char *name) {
    size_t i = find_name(t, name);
    return i == SIZE_MAX ? NULL : &t->arrays[i];
}

size_t sl_tensors_count(const sl_tensors *t) { return t->n; }

const char *sl_tensors_name(const sl_tensors *t, size_t i) { return i < t->n ? t->names[i] : NULL; }

sl_status sl_tensors_set_meta(sl_tensors *t, const char *key, const char *value) {
    SL__TRY(check_name("metadata key", key));
    if (!value) return sl__fail(SL_ERR_ARG, "tensors: metadata \"%s\": value is NULL", key);
    if (!sl__utf8_valid(value, strlen(value)))
        return sl__fail(SL_ERR_ARG, "tensors: metadata \"%s\": value is not valid UTF-8", key);
    char *v = sl__strdup(value);
    if (!v) return sl__fail(SL_ERR_NOMEM, "tensors: out of memory");
    for (size_t i = 0; i < t->nmeta; i++)
        if (strcmp(t->mkeys[i], key) == 0) {
            sl__free(t->mvals[i]);
            t->mvals[i] = v;
            return SL_OK;
        }
    char *k = sl__strdup(key);
    if (!k) goto nomem;
    if (t->nmeta == t->capmeta) {
        size_t nc = t->capmeta ? t->capmeta * 2 : 8;
        char **nk = sl__realloc(t->mkeys, nc * sizeof *nk);
        if (!nk) goto nomem;
        t->mkeys = nk;
        char **nv = sl__realloc(t->mvals, nc * sizeof *nv);
        if (!nv) goto nomem;
        t->mvals = nv;
        t->capmeta = nc;
    }
    t->mkeys[t->nmeta] = k;
    t->mvals[t->nmeta] = v;
    t->nmeta++;
    return SL_OK;
nomem:
    sl__free(k);
    sl__free(v);
    return sl__fail(SL_ERR_NOMEM, "tensors: out of memory");
}

const char *sl_tensors_get_meta(const sl_tensors *t, const char *key) {
    for (size_t i = 0; i < t->nmeta; i++)
        if (strcmp(t->mkeys[i], key) == 0) return t->mvals[i];
    return NULL;
}

size_t sl_tensors_meta_count(const sl_tensors *t) { return t->nmeta; }

const char *sl_tensors_meta_key(const sl_tensors *t, size_t i) { return i < t->nmeta ? t->mkeys[i] : NULL; }

/* ---- strict metadata readers ------------------------------------------------
 * Checkpoint settings are input like any other: each value must be exactly
 * what the writer produces, within the range the reader accepts. */

const char *sl__tensors_where(const sl_tensors *t) { return t->path ? t->path : "checkpoint"; }

/* The value as shown in messages: at most 64 bytes, control characters as '?'. */
static void show_value(const char *v, char *buf, size_t cap) {
    size_t n = 0, len = strlen(v);
    for (; n < len && n < 64 && n + 4 < cap; n++) buf[n] = (unsigned char)v[n] < 0x20 ? '?' : v[n];
    if (n < len && n + 4 <= cap) memcpy(buf + n, "...", 3), n += 3;
    buf[n] = '\0';
}

sl_status sl__meta_fail(const sl_tensors *t, const char *key, const char *expected, ...) {
    char exp[512], shown[80];
    va_list ap;
    va_start(ap, expected);
    vsnprintf(exp, sizeof exp, expected, ap);
    va_end(ap);
    const char *v = sl_tensors_get_meta(t, key);
    if (!v) return sl__fail(SL_ERR_FORMAT, "%s: metadata '%s' is missing (expected %s)", sl__tensors_where(t), key, exp);
    show_value(v, shown, sizeof shown);
    return sl__fail(SL_ERR_FORMAT, "%s: metadata '%s' is '%s', expected %s", sl__tensors_where(t), key, shown, exp);
}

sl_status sl__meta_str(const sl_tensors *t, const char *key, const char *what, unsigned flags, const char **out) {
    const char *v = sl_tensors_get_meta(t, key);
    if (!v) return (flags & SL__META_REQUIRED) ? sl__meta_fail(t, key, "%s", what) : SL_OK;
    if (!*v) return sl__meta_fail(t, key, "%s", what);
    *out = v;
    return SL_OK;
}

sl_status sl__meta_uint(const sl_tensors *t, const char *key, uint64_t lo, uint64_t hi, unsigned flags,
                        uint64_t *out) {
    const char *v = sl_tensors_get_meta(t, key);
    if (!v && !(flags & SL__META_REQUIRED)) return SL_OK;
    uint64_t x = 0;
    bool ok = v && *v;
    for (const char *p = v; ok && *p; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (*p < '0' || *p > '9' || x > (UINT64_MAX - d) / 10) ok = false;
        else x = x * 10 + d;
    }
    if (!ok || x < lo || x > hi)
        return sl__meta_fail(t, key, "an integer from %llu to %llu", (unsigned long long)lo, (unsigned long long)hi);
    *out = x;
    return SL_OK;
}

sl_status sl__meta_double(const sl_tensors *t, const char *key, double lo, double hi, unsigned flags, double *out) {
    const char *v = sl_tensors_get_meta(t, key);
    if (!v && !(flags & SL__META_REQUIRED)) return SL_OK;
    bool ok = v && *v;
    /* Decimal notation only: no spaces, hexadecimal, "inf" or "nan". */
    for (const char *p = v; ok && *p; p++) ok = strchr("0123456789+-.eE", *p) != NULL;
    char *end = NULL;
    double x = ok ? strtod(v, &end) : 0;
    ok = ok && end && *end == '\0' && isfinite(x);
    bool open = (flags & SL__META_ABOVE_LO) != 0;
    if (!ok || (open ? !(x > lo) : !(x >= lo)) || !(x <= hi)) {
        char range[128];
        int k = snprintf(range, sizeof range, "a finite number %s %.15g", open ? ">" : ">=", lo);
        if (isfinite(hi) && k > 0 && (size_t)k < sizeof range) snprintf(range + k, sizeof range - (size_t)k, " and <= %.15g", hi);
        return sl__meta_fail(t, key, "%s", range);
    }
    *out = x;
    return SL_OK;
}

sl_status sl__meta_name(const sl_tensors *t, const char *key, const char *const *names, size_t n, unsigned flags,
                        size_t *out) {
    const char *v = sl_tensors_get_meta(t, key);
    if (!v && !(flags & SL__META_REQUIRED)) return SL_OK;
    for (size_t i = 0; v && i < n; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return SL_OK;
        }
    char list[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < n && len < sizeof list; i++) {
        int k = snprintf(list + len, sizeof list - len, "%s%s", i ? (i + 1 == n ? " or " : ", ") : "", names[i]);
        if (k < 0) break;
        len += (size_t)k;
    }
    return sl__meta_fail(t, key, "%s", list);
}

/* The dtype names of the safetensors format. */
static const char *st_dtype_name(sl_dtype d) {
    switch (d) {
    case SL_F32: return "F32";
    case SL_F64: return "F64";
    case SL_I32: return "I32";
    case SL_I64: return "I64";
    case SL_U8: return "U8";
    }
    return "?";
}

static bool st_dtype_from(const char *s, sl_dtype *d) {
    for (int k = SL_F32; k <= SL_U8; k++)
        if (strcmp(s, st_dtype_name((sl_dtype)k)) == 0) {
            *d = (sl_dtype)k;
            return true;
        }
    return false;
}

sl_status sl_safetensors_write(const char *path, const sl_tensors *t) {
    sl_sbuf h = {0};
    sl__sbuf_put(&h, "{", 1);
    bool first = true;
    if (t->nmeta) {
        sl__sbuf_puts(&h, "\"__metadata__\":{");
        for (size_t i = 0; i < t->nmeta; i++) {
            if (i) sl__sbuf_put(&h, ",", 1);
            sl__sbuf_json_str(&h, t->mkeys[i]);
            sl__sbuf_put(&h, ":", 1);
            sl__sbuf_json_str(&h, t->mvals[i]);
        }
        sl__sbuf_put(&h, "}", 1);
        first = false;
    }
    /* Tensors are laid out in insertion order, back to back. */
    size_t off = 0;
    for (size_t i = 0; i < t->n; i++) {
        const sl_array *a = &t->arrays[i];
        size_t bytes = sl_array_count(a) * sl_dtype_size(a->dtype);
        if (!first) sl__sbuf_put(&h, ",", 1);
        first = false;
        sl__sbuf_json_str(&h, t->names[i]);
        sl__sbuf_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", st_dtype_name(a->dtype));
        for (int k = 0; k < a->ndim; k++) sl__sbuf_printf(&h, "%s%zu", k ? "," : "", a->shape[k]);
        sl__sbuf_printf(&h, "],\"data_offsets\":[%zu,%zu]}", off, off + bytes);
        off += bytes;
    }
    sl__sbuf_put(&h, "}", 1);
    /* Pad with spaces so the data starts 8-byte aligned. */
    while (!h.failed && h.len % 8) sl__sbuf_put(&h, " ", 1);
    if (h.failed) {
        sl__sbuf_free(&h);
        return sl__fail(SL_ERR_NOMEM, "%s: out of memory building the safetensors header", path);
    }
    sl_afile *af;
    sl_status s = sl_afile_open(path, &af);
    if (s) {
        sl__sbuf_free(&h);
        return s;
    }
    FILE *f = sl_afile_stream(af);
    unsigned char len8[8];
    for (int k = 0; k < 8; k++) len8[k] = (unsigned char)((uint64_t)h.len >> (8 * k));
    fwrite(len8, 1, 8, f);
    fwrite(h.data, 1, h.len, f);
    sl__sbuf_free(&h);
    for (size_t i = 0; i < t->n; i++) {
        const sl_array *a = &t->arrays[i];
        size_t bytes = sl_array_count(a) * sl_dtype_size(a->dtype);
        if (bytes) fwrite(a->data, 1, bytes, f);
    }
    return sl_afile_commit(af);
}

/* One tensor entry of the header, validated but not yet read. */
typedef struct {
    const char *name;
    sl_dtype dtype;
    int ndim;
    size_t shape[SL_MAX_DIMS];
    uint64_t begin, end;
    size_t pos; /* file position of the entry, for messages */
} st_entry;

static sl_status parse_entry(const char *path, const char *name, const sl_json *v, st_entry *e) {
    if (v->type != SL_JSON_OBJ)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: tensor \"%s\": expected an object, found %s", path, v->pos,
                        name, sl__json_type_name(v->type));
    for (size_t k = 0; k < v->n; k++)
        if (strcmp(v->keys[k], "dtype") && strcmp(v->keys[k], "shape") && strcmp(v->keys[k], "data_offsets"))
            return sl__fail(SL_ERR_FORMAT,
                            "%s: byte %zu: tensor \"%s\": unexpected key \"%s\" (expected dtype, shape, data_offsets)",
                            path, v->key_pos[k], name, v->keys[k]);
    const sl_json *dt = sl__json_get(v, "dtype"), *sh = sl__json_get(v, "shape"),
                  *of = sl__json_get(v, "data_offsets");
    if (!dt || !sh || !of)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: tensor \"%s\": missing \"%s\"", path, v->pos, name,
                        !dt ? "dtype" : !sh ? "shape" : "data_offsets");
    e->name = name;
    e->pos = v->pos;
    if (dt->type != SL_JSON_STR)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: tensor \"%s\": dtype: expected a string, found %s", path,
                        dt->pos, name, sl__json_type_name(dt->type));
    if (!st_dtype_from(dt->str, &e->dtype))
        return sl__fail(SL_ERR_UNSUPPORTED,
                        "%s: byte %zu: tensor \"%s\": dtype \"%s\" is not supported (expected F32, F64, I32, I64 "
                        "or U8)",
                        path, dt->pos, name, dt->str);
    if (sh->type != SL_JSON_ARR)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: tensor \"%s\": shape: expected an array, found %s", path,
                        sh->pos, name, sl__json_type_name(sh->type));
    if (sh->n > SL_MAX_DIMS)
        return sl__fail(SL_ERR_UNSUPPORTED, "%s: byte %zu: tensor \"%s\": %zu dimensions, at most %d supported", path,
                        sh->pos, name, sh->n, SL_MAX_DIMS);
    e->ndim = (int)sh->n;
    size_t count = 1;
    for (size_t k = 0; k < sh->n; k++) {
        const sl_json *d = &sh->items[k];
        if (d->type != SL_JSON_NUM || !d->is_uint || d->u > SIZE_MAX)
            return sl__fail(SL_ERR_FORMAT,
                            "%s: byte %zu: tensor \"%s\": shape[%zu]: expected a non-negative integer", path, d->pos,
                            name, k);
        e->shape[k] = (size_t)d->u;
        if (!sl_size_mul(count, e->shape[k], &count))
            return sl__fail(SL_ERR_RANGE, "%s: byte %zu: tensor \"%s\": shape overflows", path, sh->pos, name);
    }
    size_t bytes;
    if (!sl_size_mul(count, sl_dtype_size(e->dtype), &bytes))
        return sl__fail(SL_ERR_RANGE, "%s: byte %zu: tensor \"%s\": size overflows", path, sh->pos, name);
    if (of->type != SL_JSON_ARR || of->n != 2)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: tensor \"%s\": data_offsets: expected [begin, end]", path,
                        of->pos, name);
    for (size_t k = 0; k < 2; k++)
        if (of->items[k].type != SL_JSON_NUM || !of->items[k].is_uint)
            return sl__fail(SL_ERR_FORMAT,
                            "%s: byte %zu: tensor \"%s\": data_offsets[%zu]: expected a non-negative integer", path,
                            of->items[k].pos, name, k);
    e->begin = of->items[0].u;
    e->end = of->items[1].u;
    if (e->end < e->begin || e->end - e->begin != bytes)
        return sl__fail(SL_ERR_FORMAT,
                        "%s: byte %zu: tensor \"%s\": data_offsets [%llu, %llu] span %lld bytes, but %s x %zu "
                        "elements need %zu",
                        path, of->pos, name, (unsigned long long)e->begin, (unsigned long long)e->end,
                        (long long)(e->end - e->begin), st_dtype_name(e->dtype), count, bytes);
    return SL_OK;
}

static int cmp_begin(const void *a, const void *b) {
    const st_entry *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

static sl_status read_meta(const char *path, const sl_json *m, sl_tensors *t) {
    if (m->type != SL_JSON_OBJ)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: __metadata__: expected an object of strings, found %s", path,
                        m->pos, sl__json_type_name(m->type));
    for (size_t k = 0; k < m->n; k++) {
        if (m->items[k].type != SL_JSON_STR)
            return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: __metadata__ \"%s\": expected a string value, found %s",
                            path, m->items[k].pos, m->keys[k], sl__json_type_name(m->items[k].type));
        if (!m->keys[k][0])
            return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: __metadata__: empty key", path, m->key_pos[k]);
        SL__TRY(sl_tensors_set_meta(t, m->keys[k], m->items[k].str));
    }
    return SL_OK;
}

sl_status sl_safetensors_read(const char *path, sl_tensors **out) {
    FILE *f = fopen(path, "rb");
    if (!f) return sl__fail(SL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    sl_status s = SL_OK;
    char *hdr = NULL;
    sl_json *root = NULL;
    st_entry *ents = NULL;
    sl_tensors *t = NULL;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        s = sl__fail(SL_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto done;
    }
    uint64_t fsize = (uint64_t)sb.st_size;
    unsigned char len8[8];
    if (fsize < 8 || fread(len8, 1, 8, f) != 8) {
        s = sl__fail(SL_ERR_FORMAT, "%s: byte 0: file is %llu bytes, expected at least 8 (the header length)", path,
                     (unsigned long long)fsize);
        goto done;
    }
    uint64_t hlen = 0;
    for (int k = 7; k >= 0; k--) hlen = hlen << 8 | len8[k];
    if (hlen > ST_MAX_HEADER) {
        s = sl__fail(SL_ERR_FORMAT,
                     "%s: byte 0: header length %llu is absurd (at most %u bytes; is this a safetensors file?)",
                     path, (unsigned long long)hlen, ST_MAX_HEADER);
        goto done;
    }
    if (hlen > fsize - 8) {
        s = sl__fail(SL_ERR_FORMAT, "%s: byte 0: header length %llu exceeds the %llu bytes after it (truncated?)",
                     path, (unsigned long long)hlen, (unsigned long long)(fsize - 8));
        goto done;
    }
    if (hlen < 2) {
        s = sl__fail(SL_ERR_FORMAT, "%s: byte 0: header length %llu, expected at least 2 (\"{}\")", path,
                     (unsigned long long)hlen);
        goto done;
    }
    hdr = sl__malloc((size_t)hlen);
    if (!hdr) {
        s = sl__fail(SL_ERR_NOMEM, "%s: out of memory for a %llu-byte header", path, (unsigned long long)hlen);
        goto done;
    }
    if (fread(hdr, 1, (size_t)hlen, f) != hlen) {
        s = sl__fail(SL_ERR_IO, "%s: byte 8: read error", path);
        goto done;
    }
    if (hdr[0] != '{') {
        s = sl__fail(SL_ERR_FORMAT, "%s: byte 8: expected '{' starting the JSON header (is this a safetensors file?)",
                     path);
        goto done;
    }
    s = sl__json_parse(hdr, (size_t)hlen, path, 8, &root);
    if (s) goto done;
    sl__free(hdr);
    hdr = NULL;
    s = sl_tensors_create(&t);
    if (s) goto done;
    size_t ne = 0;
    ents = sl__malloc_array(root->n, sizeof *ents, path);
    if (!ents) {
        s = SL_ERR_NOMEM;
        goto done;
    }
    for (size_t k = 0; k < root->n; k++) {
        if (strcmp(root->keys[k], "__metadata__") == 0) {
            s = read_meta(path, &root->items[k], t);
        } else if (!root->keys[k][0]) {
            s = sl__fail(SL_ERR_FORMAT, "%s: byte %zu: empty tensor name", path, root->key_pos[k]);
        } else {
            s = parse_entry(path, root->keys[k], &root->items[k], &ents[ne]);
            ne++;
        }
        if (s) goto done;
    }
    /* The data must be covered exactly: sorted by offset, each tensor starts
     * where the previous ended, the first at 0 and the last at the end of the
     * file. This rejects overlaps, gaps and trailing garbage alike. */
    uint64_t dsize = fsize - 8 - hlen;
    st_entry *sorted = sl__malloc_array(ne, sizeof *sorted, path);
    if (!sorted) {
        s = SL_ERR_NOMEM;
        goto done;
    }
    if (ne) memcpy(sorted, ents, ne * sizeof *sorted);
    qsort(sorted, ne, sizeof *sorted, cmp_begin);
    uint64_t at = 0;
    for (size_t k = 0; k < ne && !s; k++) {
        if (sorted[k].begin != at)
            s = sl__fail(SL_ERR_FORMAT,
                         "%s: byte %zu: tensor \"%s\": data starts at offset %llu, expected %llu (tensor data must "
                         "be contiguous and must not overlap)",
                         path, sorted[k].pos, sorted[k].name, (unsigned long long)sorted[k].begin,
                         (unsigned long long)at);
        else if (sorted[k].end > dsize)
            s = sl__fail(SL_ERR_FORMAT,
                         "%s: byte %zu: tensor \"%s\": data ends at offset %llu, but the file has %llu data bytes "
                         "(truncated?)",
                         path, sorted[k].pos, sorted[k].name, (unsigned long long)sorted[k].end,
                         (unsigned long long)dsize);
        at = sorted[k].end;
    }
    sl__free(sorted);
    if (s) goto done;
    if (at != dsize) {
        s = sl__fail(SL_ERR_FORMAT, "%s: byte %llu: %llu bytes after the last tensor's data, expected none", path,
                     (unsigned long long)(8 + hlen + at), (unsigned long long)(dsize - at));
        goto done;
    }
    /* Read in header order (insertion order for files we wrote); data of the
     * entries is known to be in range. */
    for (size_t k = 0; k < ne; k++) {
        st_entry *e = &ents[k];
        sl_array a;
        s = sl__array_alloc_raw(&a, e->dtype, e->ndim, e->shape);
        if (s) {
            sl__fail_prefix(s, "%s: tensor \"%s\"", path, e->name);
            goto done;
        }
        size_t bytes = (size_t)(e->end - e->begin);
        if (bytes && (fseeko(f, (off_t)(8 + hlen + e->begin), SEEK_SET) != 0 || fread(a.data, 1, bytes, f) != bytes)) {
            sl_array_destroy(&a);
            s = sl__fail(SL_ERR_IO, "%s: byte %llu: cannot read tensor \"%s\" (%s)", path,
                         (unsigned long long)(8 + hlen + e->begin), e->name,
                         ferror(f) ? strerror(errno) : "file shrank while reading");
            goto done;
        }
        s = tensors_put(t, e->name, a);
        if (s) goto done;
    }
    if (!(t->path = sl__strdup(path))) s = sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
done:
    sl__json_free(root);
    sl__free(hdr);
    sl__free(ents);
    if (s)
        sl_tensors_destroy(t);
    else
        *out = t;
    fclose(f);
    return s;
}

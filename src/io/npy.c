/* NumPy .npy files: versions 1.0-3.0 read, 1.0/2.0 written; little-endian
 * C-order arrays of float32/float64/int32/int64/uint8. The header dictionary
 * is parsed strictly: exactly the keys descr, fortran_order and shape. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

static bool dtype_from_descr(const char *d, sl_dtype *t) {
    static const struct {
        const char *descr;
        sl_dtype t;
    } map[] = {{"<f4", SL_F32}, {"<f8", SL_F64}, {"<i4", SL_I32}, {"<i8", SL_I64}, {"|u1", SL_U8}, {"<u1", SL_U8}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(d, map[i].descr) == 0) {
            *t = map[i].t;
            return true;
        }
    return false;
}

static const char *descr_of(sl_dtype t) {
    switch (t) {
    case SL_F32: return "<f4";
    case SL_F64: return "<f8";
    case SL_I32: return "<i4";
    case SL_I64: return "<i8";
    case SL_U8: return "|u1";
    }
    return "?";
}

/* A tiny cursor over the header text, for error positions. */
typedef struct {
    const char *s, *p, *path;
    size_t base; /* file offset of s[0] */
} cur;

static void skip_ws(cur *c) {
    while (*c->p == ' ' || *c->p == '\t') c->p++;
}
static sl_status expect(cur *c, char ch) {
    skip_ws(c);
    if (*c->p != ch)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: expected '%c' in the .npy header, found '%c'", c->path,
                        c->base + (size_t)(c->p - c->s), ch, *c->p ? *c->p : '?');
    c->p++;
    return SL_OK;
}
static sl_status parse_str(cur *c, char *buf, size_t n) {
    skip_ws(c);
    char q = *c->p;
    if (q != '\'' && q != '"')
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: expected a quoted string in the .npy header", c->path,
                        c->base + (size_t)(c->p - c->s));
    c->p++;
    size_t i = 0;
    while (*c->p && *c->p != q) {
        if (i + 1 >= n)
            return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: string too long in the .npy header", c->path,
                            c->base + (size_t)(c->p - c->s));
        buf[i++] = *c->p++;
    }
    if (*c->p != q)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: unterminated string in the .npy header", c->path,
                        c->base + (size_t)(c->p - c->s));
    c->p++;
    buf[i] = '\0';
    return SL_OK;
}

static sl_status parse_header(const char *path, const char *h, size_t base, sl_dtype *dtype, int *ndim,
                              size_t *shape) {
    cur c = {h, h, path, base};
    bool have_descr = false, have_fo = false, have_shape = false;
    SL__TRY(expect(&c, '{'));
    for (;;) {
        skip_ws(&c);
        if (*c.p == '}') {
            c.p++;
            break;
        }
        char key[32], val[32];
        SL__TRY(parse_str(&c, key, sizeof key));
        SL__TRY(expect(&c, ':'));
        if ((strcmp(key, "descr") == 0 && have_descr) || (strcmp(key, "fortran_order") == 0 && have_fo) ||
            (strcmp(key, "shape") == 0 && have_shape))
            return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: key '%s' appears twice in the .npy header", path,
                            base + (size_t)(c.p - c.s), key);
        if (strcmp(key, "descr") == 0) {
            size_t at = base + (size_t)(c.p - c.s);
            if (parse_str(&c, val, sizeof val) != SL_OK)
                return sl__fail(SL_ERR_UNSUPPORTED, "%s: byte %zu: structured dtypes are not supported", path, at);
            if (!dtype_from_descr(val, dtype))
                return sl__fail(SL_ERR_UNSUPPORTED,
                                "%s: byte %zu: dtype '%s' is not supported (expected <f4, <f8, <i4, <i8 or |u1, "
                                "little-endian)",
                                path, at, val);
            have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            skip_ws(&c);
            if (strncmp(c.p, "False", 5) == 0 && !isalnum((unsigned char)c.p[5]))
                c.p += 5;
            else if (strncmp(c.p, "True", 4) == 0 && !isalnum((unsigned char)c.p[4]))
                return sl__fail(SL_ERR_UNSUPPORTED,
                                "%s: byte %zu: Fortran-order arrays are not supported; save with np.ascontiguousarray",
                                path, base + (size_t)(c.p - c.s));
            else
                return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: expected True or False for fortran_order", path,
                                base + (size_t)(c.p - c.s));
            have_fo = true;
        } else if (strcmp(key, "shape") == 0) {
            SL__TRY(expect(&c, '('));
            *ndim = 0;
            for (;;) {
                skip_ws(&c);
                if (*c.p == ')') {
                    c.p++;
                    break;
                }
                if (!isdigit((unsigned char)*c.p))
                    return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: expected a non-negative dimension in the shape",
                                    path, base + (size_t)(c.p - c.s));
                errno = 0;
                char *end;
                unsigned long long v = strtoull(c.p, &end, 10);
                if (errno || v > (unsigned long long)SIZE_MAX)
                    return sl__fail(SL_ERR_RANGE, "%s: byte %zu: dimension too large", path,
                                    base + (size_t)(c.p - c.s));
                if (*ndim >= SL_MAX_DIMS)
                    return sl__fail(SL_ERR_UNSUPPORTED, "%s: byte %zu: more than %d dimensions", path,
                                    base + (size_t)(c.p - c.s), SL_MAX_DIMS);
                shape[(*ndim)++] = (size_t)v;
                c.p = end;
                skip_ws(&c);
                if (*c.p == ',')
                    c.p++;
                else if (*c.p != ')')
                    return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: expected ',' or ')' in the shape", path,
                                    base + (size_t)(c.p - c.s));
            }
            have_shape = true;
        } else {
            return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: unexpected key '%s' in the .npy header", path,
                            base + (size_t)(c.p - c.s), key);
        }
        skip_ws(&c);
        if (*c.p == ',')
            c.p++;
        else if (*c.p != '}')
            return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: expected ',' or '}' in the .npy header", path,
                            base + (size_t)(c.p - c.s));
    }
    /* Only padding may follow the dictionary. */
    while (*c.p == ' ' || *c.p == '\t' || *c.p == '\n' || *c.p == '\r') c.p++;
    if (*c.p)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: unexpected '%c' after the .npy header dictionary", path,
                        base + (size_t)(c.p - c.s), *c.p);
    if (!have_descr || !have_fo || !have_shape)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: .npy header lacks %s", path, base,
                        !have_descr ? "'descr'" : !have_fo ? "'fortran_order'" : "'shape'");
    return SL_OK;
}

/* An open .npy file positioned at its data: dtype, shape, and the byte
 * offset of the data; the data size is checked against the file's. */
typedef struct {
    FILE *f;
    sl_dtype dt;
    int ndim;
    size_t shape[SL_MAX_DIMS];
    size_t count, bytes, offset;
} npy_file;

static sl_status npy_header(const char *path, FILE *f, npy_file *nf) {
    unsigned char pre[10];
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) return sl__fail(SL_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    if (fread(pre, 1, 8, f) != 8 || memcmp(pre, npy_magic, 6) != 0)
        return sl__fail(SL_ERR_FORMAT, "%s: byte 0: not a .npy file (expected the magic \\x93NUMPY)", path);
    int major = pre[6];
    size_t hlen, pos;
    if (major == 1) {
        if (fread(pre + 8, 1, 2, f) != 2) return SL_ERR_FORMAT;
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
        pos = 10;
    } else if (major == 2 || major == 3) {
        unsigned char l[4];
        if (fread(l, 1, 4, f) != 4) return SL_ERR_FORMAT;
        hlen = (size_t)l[0] | (size_t)l[1] << 8 | (size_t)l[2] << 16 | (size_t)l[3] << 24;
        pos = 12;
    } else {
        return sl__fail(SL_ERR_UNSUPPORTED, "%s: byte 6: .npy format version %d.%d not supported (expected 1, 2 or 3)",
                        path, major, pre[7]);
    }
    if (hlen > (1u << 20))
        return sl__fail(SL_ERR_FORMAT, "%s: byte 8: header length %zu is absurd (at most 1 MiB expected)", path, hlen);
    if (pos + hlen > (size_t)sb.st_size)
        return sl__fail(SL_ERR_FORMAT, "%s: byte 8: header length %zu exceeds the %lld bytes after it (truncated?)",
                        path, hlen, (long long)sb.st_size - (long long)pos);
    char *hdr = sl__malloc(hlen + 1);
    if (!hdr) return sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
    sl_status st = fread(hdr, 1, hlen, f) == hlen ? SL_OK : SL_ERR_FORMAT;
    if (!st) {
        hdr[hlen] = '\0';
        /* Only trailing padding may follow; an embedded NUL is malformed. */
        if (strlen(hdr) != hlen)
            st = sl__fail(SL_ERR_FORMAT, "%s: byte %zu: NUL byte inside the .npy header", path, pos + strlen(hdr));
        else
            st = parse_header(path, hdr, pos, &nf->dt, &nf->ndim, nf->shape);
    }
    sl__free(hdr);
    if (st) return st;
    size_t have = (size_t)sb.st_size - pos - hlen;
    nf->count = 1;
    nf->offset = pos + hlen;
    for (int i = 0; i < nf->ndim; i++)
        if (!sl_size_mul(nf->count, nf->shape[i], &nf->count))
            return sl__fail(SL_ERR_RANGE, "%s: byte %zu: shape overflows (absurd dimensions)", path, pos);
    if (!sl_size_mul(nf->count, sl_dtype_size(nf->dt), &nf->bytes))
        return sl__fail(SL_ERR_RANGE, "%s: byte %zu: %zu elements of %s overflow (absurd dimensions)", path, pos,
                        nf->count, sl_dtype_name(nf->dt));
    if (nf->bytes != have)
        return sl__fail(SL_ERR_FORMAT,
                        "%s: byte %zu: header says %zu elements of %s (%zu bytes), but the file has %zu data bytes%s",
                        path, pos + hlen, nf->count, sl_dtype_name(nf->dt), nf->bytes, have,
                        nf->bytes > have ? " (truncated?)" : "");
    return SL_OK;
}

/* A short read: an I/O error, or the end of a truncated file. */
static sl_status npy_short(const char *path, FILE *f) {
    return ferror(f) ? sl__fail(SL_ERR_IO, "%s: read error: %s", path, strerror(errno))
                     : sl__fail(SL_ERR_FORMAT, "%s: byte %ld: file ends early (truncated)", path, ftell(f));
}

static sl_status npy_open(const char *path, npy_file *nf) {
    memset(nf, 0, sizeof *nf);
    sl_error_clear();
    FILE *f = fopen(path, "rb");
    if (!f) return sl__fail(SL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    sl_status st = npy_header(path, f, nf);
    if (st == SL_ERR_FORMAT && !*sl_error_message()) st = npy_short(path, f);
    if (st) {
        fclose(f);
        return st;
    }
    nf->f = f;
    return SL_OK;
}

sl_status sl_npy_read(const char *path, sl_array *out) {
    npy_file nf;
    SL__TRY(npy_open(path, &nf));
    sl_array a = {0};
    sl_status st = sl__array_alloc_raw(&a, nf.dt, nf.ndim, nf.shape);
    if (!st && nf.bytes && fread(a.data, 1, nf.bytes, nf.f) != nf.bytes) st = npy_short(path, nf.f);
    if (!st) *out = a;
    else sl_array_destroy(&a);
    fclose(nf.f);
    return st;
}

sl_status sl_npy_write(const char *path, const sl_array *a) {
    if (a->ndim < 0 || a->ndim > SL_MAX_DIMS)
        return sl__fail(SL_ERR_ARG, "%s: %d dimensions, expected 0 to %d", path, a->ndim, SL_MAX_DIMS);
    if ((unsigned)a->dtype > SL_U8) return sl__fail(SL_ERR_ARG, "%s: unknown dtype %d", path, (int)a->dtype);
    size_t count = 1, bytes;
    for (int i = 0; i < a->ndim; i++)
        if (!sl_size_mul(count, a->shape[i], &count)) return sl__fail(SL_ERR_RANGE, "%s: shape overflows", path);
    if (!sl_size_mul(count, sl_dtype_size(a->dtype), &bytes)) return sl__fail(SL_ERR_RANGE, "%s: size overflows", path);
    if (bytes && !a->data) return sl__fail(SL_ERR_ARG, "%s: array data is NULL", path);
    char dict[256 + 24 * SL_MAX_DIMS];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr_of(a->dtype));
    for (int i = 0; i < a->ndim; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%zu%s", a->shape[i], (a->ndim == 1 || i + 1 < a->ndim) ? ", " : "");
    if (a->ndim == 1) n -= 1; /* "(5,)" not "(5, )" */
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    /* Header (magic + version + length + dict + padding + '\n') is a multiple of 64. */
    size_t pre = 10, dl = (size_t)n;
    size_t total = (pre + dl + 1 + 63) / 64 * 64;
    int major = 1;
    if (total - pre > 65535) {
        pre = 12;
        total = (pre + dl + 1 + 63) / 64 * 64;
        major = 2;
    }
    size_t hlen = total - pre;
    sl_afile *af;
    SL__TRY(sl_afile_open(path, &af));
    FILE *f = sl_afile_stream(af);
    fwrite(npy_magic, 1, 6, f);
    fputc(major, f);
    fputc(0, f);
    if (major == 1) {
        fputc((int)(hlen & 0xff), f);
        fputc((int)(hlen >> 8), f);
    } else {
        for (int i = 0; i < 4; i++) fputc((int)((hlen >> (8 * i)) & 0xff), f);
    }
    fwrite(dict, 1, dl, f);
    for (size_t i = dl; i + 1 < hlen; i++) fputc(' ', f);
    fputc('\n', f);
    if (bytes) fwrite(a->data, 1, bytes, f);
    return sl_afile_commit(af);
}

/* Read path as a 1-D (r x 1) or 2-D (r x c) array; other shapes are an error
 * and leave nothing to free. */
static sl_status read_matrix_array(const char *path, sl_array *a, size_t *r, size_t *c) {
    SL__TRY(sl_npy_read(path, a));
    if (a->ndim != 1 && a->ndim != 2) {
        sl_status s = sl__fail(SL_ERR_FORMAT, "%s: expected a 1-D or 2-D array, found %d dimensions", path, a->ndim);
        sl_array_destroy(a);
        return s;
    }
    *r = a->shape[0];
    *c = a->ndim == 2 ? a->shape[1] : 1;
    return SL_OK;
}

/* n values of dtype dt at src into floats, each checked finite (row0: the
 * row of the first value, for the message; c values per row). */
static sl_status to_floats(const char *path, sl_dtype dt, const void *src, size_t n, size_t c, size_t row0,
                           float *dst) {
    for (size_t i = 0; i < n; i++) {
        double v;
        switch (dt) {
        case SL_F32: v = ((const float *)src)[i]; break;
        case SL_F64: v = ((const double *)src)[i]; break;
        case SL_I32: v = ((const int32_t *)src)[i]; break;
        case SL_I64: v = (double)((const int64_t *)src)[i]; break;
        default: v = ((const uint8_t *)src)[i]; break;
        }
        if (!isfinite(v) || !isfinite((float)v))
            return sl__fail(SL_ERR_NUMERIC, "%s: row %zu, column %zu: value is %g, expected a finite number", path,
                            row0 + i / c, i % c, v);
        dst[i] = (float)v;
    }
    return SL_OK;
}

sl_status sl_npy_read_matrix(const char *path, float **data, size_t *rows, size_t *cols) {
    sl_array a;
    size_t r = 0, c = 0;
    SL__TRY(read_matrix_array(path, &a, &r, &c));
    size_t n = r * c;
    float *m = sl__malloc_array(n, sizeof *m, path);
    sl_status st = m ? to_floats(path, a.dtype, a.data, n, c, 0, m) : SL_ERR_NOMEM;
    sl_array_destroy(&a);
    if (st) {
        sl__free(m);
        return st;
    }
    *data = m;
    *rows = r;
    *cols = c;
    return SL_OK;
}

sl_status sl_npy_read_matrix_part(const char *path, size_t part, size_t parts, float **data, size_t *rows_out,
                                  size_t *cols, size_t *first, size_t *total) {
    if (parts == 0 || part >= parts) return sl__fail(SL_ERR_ARG, "%s: part %zu of %zu", path, part, parts);
    npy_file nf;
    SL__TRY(npy_open(path, &nf));
    sl_status st = SL_OK;
    void *raw = NULL;
    float *m = NULL;
    if (nf.ndim != 1 && nf.ndim != 2)
        st = sl__fail(SL_ERR_FORMAT, "%s: expected a 1-D or 2-D array, found %d dimensions", path, nf.ndim);
    size_t r = nf.ndim ? nf.shape[0] : 0, c = nf.ndim == 2 ? nf.shape[1] : 1, es = sl_dtype_size(nf.dt);
    size_t lo, rows;
    sl_dist_share(r, part, parts, &lo, &rows);
    size_t n = rows * c;
    if (!st && !(raw = sl__malloc_array(n ? n : 1, es, path))) st = SL_ERR_NOMEM;
    if (!st && !(m = sl__malloc_array(n ? n : 1, sizeof *m, path))) st = SL_ERR_NOMEM;
    if (!st && fseeko(nf.f, (off_t)(nf.offset + lo * c * es), SEEK_SET) != 0)
        st = sl__fail(SL_ERR_IO, "%s: cannot seek to row %zu: %s", path, lo, strerror(errno));
    if (!st && n && fread(raw, es, n, nf.f) != n) st = npy_short(path, nf.f);
    if (!st) st = to_floats(path, nf.dt, raw, n, c, lo, m);
    fclose(nf.f);
    sl__free(raw);
    if (st) {
        sl__free(m);
        return st;
    }
    *data = m, *rows_out = rows, *cols = c, *first = lo, *total = r;
    return SL_OK;
}

sl_status sl_npy_write_matrix(const char *path, const float *data, size_t rows, size_t cols) {
    sl_array a = {.dtype = SL_F32, .ndim = 2, .shape = {rows, cols}, .data = (void *)data};
    return sl_npy_write(path, &a);
}

/* The cnt elements of a as int64; floating-point elements must be integral.
 * Errors name the element: by its index for labels (cols 0), by row and
 * column of a matrix of `cols` columns otherwise. Frees a. */
static sl_status ints_of(const char *path, sl_array *a, size_t cnt, size_t cols, int64_t **out) {
    int64_t *l = sl__malloc_array(cnt, sizeof *l, path);
    if (!l) {
        sl_array_destroy(a);
        return SL_ERR_NOMEM;
    }
    for (size_t i = 0; i < cnt; i++) {
        double v;
        switch (a->dtype) {
        case SL_I32: l[i] = ((int32_t *)a->data)[i]; continue;
        case SL_I64: l[i] = ((int64_t *)a->data)[i]; continue;
        case SL_U8: l[i] = ((uint8_t *)a->data)[i]; continue;
        case SL_F32: v = ((float *)a->data)[i]; break;
        default: v = ((double *)a->data)[i]; break;
        }
        if (!isfinite(v) || v != floor(v) || fabs(v) > 9e15) {
            sl__free(l);
            sl_array_destroy(a);
            if (!cols) return sl__fail(SL_ERR_FORMAT, "%s: element %zu is %g, expected an integer label", path, i, v);
            return sl__fail(SL_ERR_FORMAT, "%s: row %zu, column %zu: value is %g, expected an integer", path, i / cols,
                            i % cols, v);
        }
        l[i] = (int64_t)v;
    }
    sl_array_destroy(a);
    *out = l;
    return SL_OK;
}

sl_status sl_npy_read_labels(const char *path, int64_t **labels, size_t *n) {
    sl_array a;
    SL__TRY(sl_npy_read(path, &a));
    if (a.ndim != 1 && !(a.ndim == 2 && a.shape[1] == 1)) {
        sl_status s = sl__fail(SL_ERR_FORMAT, "%s: expected a 1-D array of labels, found %d dimensions", path, a.ndim);
        sl_array_destroy(&a);
        return s;
    }
    size_t cnt = a.shape[0];
    SL__TRY(ints_of(path, &a, cnt, 0, labels));
    *n = cnt;
    return SL_OK;
}

sl_status sl_npy_read_int_matrix(const char *path, int64_t **data, size_t *rows, size_t *cols) {
    sl_array a;
    size_t r = 0, c = 0;
    SL__TRY(read_matrix_array(path, &a, &r, &c));
    SL__TRY(ints_of(path, &a, r * c, c, data));
    *rows = r;
    *cols = c;
    return SL_OK;
}

sl_status sl_npy_write_labels(const char *path, const int64_t *labels, size_t n) {
    sl_array a = {.dtype = SL_I64, .ndim = 1, .shape = {n}, .data = (void *)labels};
    return sl_npy_write(path, &a);
}

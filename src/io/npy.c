/* NumPy .npy files: versions 1.0, 2.0 and 3.0 read, 1.0/2.0 written. Read:
 * float32, float64, int32, int64 and uint8 in any byte order ('<', '>', '|',
 * '=' or none) and in C or Fortran order; arrays come back in C order and this
 * machine's byte order. The header dictionary is read as numpy reads it with
 * allow_pickle=False, a Python literal as ast.literal_eval sees it: strings
 * in either quote style, with prefixes (u, r, b), escapes, triple quotes and
 * implicit concatenation; integers in any Python spelling (0x10, 1_000, +2),
 * with Python 2's long suffix (2L) in version 1.0/2.0 headers as numpy allows;
 * newlines, comments and trailing commas; the keys in any order. The keys must
 * be exactly descr, fortran_order and shape; a key given twice is refused
 * (numpy keeps the last one). Object arrays (pickled Python objects) and
 * structured dtypes are refused with a message saying so. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

static bool host_little(void) {
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* A descr such as "<f4", ">i8", "|u1", "=f8" or "f4" to a dtype, and whether
 * its bytes need swapping on this machine ('|', '=' and none mean native). */
static bool dtype_from_descr(const char *d, sl_dtype *t, bool *swap) {
    static const struct {
        const char *code;
        sl_dtype t;
    } map[] = {{"f4", SL_F32}, {"f8", SL_F64}, {"i4", SL_I32}, {"i8", SL_I64}, {"u1", SL_U8}};
    char order = '=';
    if (*d == '<' || *d == '>' || *d == '|' || *d == '=') order = *d++;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(d, map[i].code) == 0) {
            *t = map[i].t;
            *swap = sl_dtype_size(*t) > 1 && ((order == '<' && !host_little()) || (order == '>' && host_little()));
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

/* ---- the header: a Python literal ------------------------------------- */

typedef enum { LIT_STR, LIT_BYTES, LIT_INT, LIT_FLOAT, LIT_BOOL, LIT_NONE, LIT_TUPLE, LIT_LIST } lit_kind;

/* Why an item of a tuple cannot be a dimension. */
typedef enum { DIM_OK, DIM_NEGATIVE, DIM_HUGE, DIM_NOT_INT } dim_why;

/* One parsed value: enough of it to check the three entries. */
typedef struct {
    lit_kind kind;
    size_t at;                 /* file offset of its first byte */
    char str[64];              /* LIT_STR, LIT_BYTES: the text, cut at 63 bytes */
    bool cut;                  /* ...and it was longer */
    bool neg, huge;            /* LIT_INT: sign; beyond 64 bits */
    unsigned long long num;    /* LIT_INT: magnitude; LIT_BOOL: 0 or 1 */
    size_t n;                  /* LIT_TUPLE, LIT_LIST: number of items */
    size_t items[SL_MAX_DIMS]; /* ...the first SL_MAX_DIMS, when dimensions */
    dim_why why;               /* ...the first item that is not a dimension */
    size_t why_at;
} lit;

/* A cursor over the NUL-terminated header text, for error positions. */
typedef struct {
    const char *s, *p, *path;
    size_t base; /* file offset of s[0] */
    bool py2;    /* a version 1.0/2.0 header: "2L" reads as 2 */
} cur;

#define POS(c) ((c)->base + (size_t)((c)->p - (c)->s))
#define MAX_NESTING 32

/* "expected WHAT in the .npy header, found ..." at the cursor. */
static sl_status bad(const cur *c, const char *what) {
    unsigned char ch = (unsigned char)*c->p;
    char found[32];
    if (!ch) snprintf(found, sizeof found, "the end of the header");
    else if (isprint(ch)) snprintf(found, sizeof found, "'%c'", ch);
    else snprintf(found, sizeof found, "byte 0x%02x", ch);
    return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: expected %s in the .npy header, found %s", c->path, POS(c), what,
                    found);
}

/* Spaces, tabs, form feeds, newlines, comments and backslash-newline. */
static void skip_ws(cur *c) {
    for (;;) {
        char ch = *c->p;
        if (ch == ' ' || ch == '\t' || ch == '\f' || ch == '\n' || ch == '\r') c->p++;
        else if (ch == '#')
            while (*c->p && *c->p != '\n' && *c->p != '\r') c->p++;
        else if (ch == '\\' && (c->p[1] == '\n' || c->p[1] == '\r')) c->p += 2;
        else return;
    }
}

/* Length of a string prefix (u, r, b, br, rb in any case) followed by a
 * quote at p, or -1. */
static int str_prefix(const char *p, bool *raw, bool *bytes) {
    *raw = *bytes = false;
    int n = 0;
    for (; n < 2 && isalpha((unsigned char)p[n]); n++) {
        char l = (char)tolower((unsigned char)p[n]);
        if (l == 'r' && !*raw) *raw = true;
        else if (l == 'b' && !*bytes) *bytes = true;
        else if (l == 'u' && n == 0 && p[1] != 'r' && p[1] != 'R' && p[1] != 'b' && p[1] != 'B') continue;
        else return -1;
    }
    return p[n] == '\'' || p[n] == '"' ? n : -1;
}

static void put_byte(lit *v, size_t *len, unsigned ch) {
    if (*len < sizeof v->str - 1) v->str[(*len)++] = (char)ch;
    else v->cut = true;
}

/* A code point as UTF-8 (or one byte, in a bytes literal). */
static void put_code(lit *v, size_t *len, unsigned long cp, bool bytes) {
    static const unsigned lead[] = {0, 0xc0, 0xe0, 0xf0};
    if (bytes || cp < 0x80) {
        put_byte(v, len, (unsigned)(cp & 0xff));
        return;
    }
    int extra = cp < 0x800 ? 1 : cp < 0x10000 ? 2 : 3;
    put_byte(v, len, lead[extra] | (unsigned)(cp >> (6 * extra)));
    for (int k = extra - 1; k >= 0; k--) put_byte(v, len, 0x80 | (unsigned)((cp >> (6 * k)) & 0x3f));
}

/* The escape after a backslash (the cursor is past the backslash). */
static sl_status escape(cur *c, lit *v, size_t *len, bool bytes) {
    static const char from[] = "\\'\"abfnrtv", to[] = "\\'\"\a\b\f\n\r\t\v";
    char ch = *c->p++;
    const char *e = strchr(from, ch);
    if (ch == '\n') return SL_OK;
    if (ch == '\r') {
        if (*c->p == '\n') c->p++;
        return SL_OK;
    }
    if (ch && e) {
        put_byte(v, len, (unsigned char)to[e - from]);
        return SL_OK;
    }
    if (ch >= '0' && ch <= '7') {
        unsigned long cp = (unsigned long)(ch - '0');
        for (int k = 0; k < 2 && *c->p >= '0' && *c->p <= '7'; k++) cp = cp * 8 + (unsigned long)(*c->p++ - '0');
        put_code(v, len, cp, bytes);
        return SL_OK;
    }
    int digits = ch == 'x' ? 2 : ch == 'u' && !bytes ? 4 : ch == 'U' && !bytes ? 8 : 0;
    if (!digits) {
        if (ch == 'N' && !bytes) {
            c->p--;
            return bad(c, "an escape other than \\N{...}");
        }
        put_byte(v, len, '\\'); /* an unknown escape keeps its backslash */
        if (ch) put_byte(v, len, (unsigned char)ch);
        else c->p--;
        return SL_OK;
    }
    unsigned long cp = 0;
    for (int k = 0; k < digits; k++, c->p++) {
        if (!isxdigit((unsigned char)*c->p)) return bad(c, "a hexadecimal digit in the escape");
        cp = cp * 16 + (unsigned long)(isdigit((unsigned char)*c->p) ? *c->p - '0' : tolower(*c->p) - 'a' + 10);
    }
    if (cp > 0x10ffff) return bad(c, "a code point below 0x110000");
    put_code(v, len, cp, bytes);
    return SL_OK;
}

/* One quoted piece (the cursor is at its opening quote). */
static sl_status string_piece(cur *c, lit *v, size_t *len, bool raw, bool bytes) {
    char q = *c->p;
    size_t start = POS(c);
    bool triple = c->p[1] == q && c->p[2] == q;
    c->p += triple ? 3 : 1;
    for (;;) {
        char ch = *c->p;
        if (!ch || (!triple && (ch == '\n' || ch == '\r')))
            return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: unterminated string in the .npy header (expected a closing %c)",
                            c->path, start, q);
        if (ch == q && (!triple || (c->p[1] == q && c->p[2] == q))) {
            c->p += triple ? 3 : 1;
            return SL_OK;
        }
        c->p++;
        if (ch != '\\') put_byte(v, len, (unsigned char)ch);
        else if (raw) {
            put_byte(v, len, '\\');
            if (*c->p) put_byte(v, len, (unsigned char)*c->p++);
        } else
            SL__TRY(escape(c, v, len, bytes));
    }
}

/* Adjacent string literals, joined as Python joins them. */
static sl_status parse_string(cur *c, lit *v) {
    size_t len = 0;
    bool raw, bytes;
    int pre = str_prefix(c->p, &raw, &bytes);
    v->kind = bytes ? LIT_BYTES : LIT_STR;
    do {
        if ((v->kind == LIT_BYTES) != bytes) return bad(c, "no mixing of bytes and str literals");
        c->p += pre;
        SL__TRY(string_piece(c, v, &len, raw, bytes));
        skip_ws(c);
    } while ((pre = str_prefix(c->p, &raw, &bytes)) >= 0);
    v->str[len] = '\0';
    return SL_OK;
}

static int digit_of(char ch, int base) {
    int d = isdigit((unsigned char)ch) ? ch - '0' : isalpha((unsigned char)ch) ? tolower(ch) - 'a' + 10 : 99;
    return d < base ? d : -1;
}

/* An integer in any Python spelling, or a float (kept only as "a float"). */
static sl_status parse_number(cur *c, lit *v) {
    v->kind = LIT_INT;
    if (*c->p == '+' || *c->p == '-') {
        v->neg = *c->p++ == '-';
        skip_ws(c);
    }
    int base = 10;
    if (c->p[0] == '0' && c->p[1] && strchr("xXoObB", c->p[1])) {
        base = strchr("xX", c->p[1]) ? 16 : strchr("oO", c->p[1]) ? 8 : 2;
        c->p += 2;
        if (*c->p == '_') c->p++;
    }
    const char *first = c->p;
    bool nonzero = false;
    for (int d; (d = digit_of(*c->p, base)) >= 0 || (*c->p == '_' && digit_of(c->p[1], base) >= 0); c->p++) {
        if (*c->p == '_') continue;
        nonzero |= d > 0;
        if (v->num > (ULLONG_MAX - (unsigned)d) / (unsigned)base) v->huge = true;
        else v->num = v->num * (unsigned)base + (unsigned)d;
    }
    if (*c->p == '.' || ((*c->p == 'e' || *c->p == 'E' || *c->p == 'j' || *c->p == 'J') && base == 10)) {
        v->kind = LIT_FLOAT; /* numpy would refuse it as a dimension too; skip the rest of the token */
        while (isalnum((unsigned char)*c->p) || *c->p == '.' || *c->p == '_' ||
               ((*c->p == '+' || *c->p == '-') && (c->p[-1] == 'e' || c->p[-1] == 'E')))
            c->p++;
        return SL_OK;
    }
    if (c->p == first) return bad(c, "a digit");
    if (base == 10 && *first == '0' && nonzero) {
        c->p = first;
        return bad(c, "no leading zeros in a decimal integer");
    }
    if (c->py2) { /* numpy drops a NAME token "L" right after a number */
        const char *q = c->p;
        while (*q == ' ' || *q == '\t' || *q == '\f') q++;
        if (*q == 'L' && !isalnum((unsigned char)q[1]) && q[1] != '_') c->p = q + 1;
    } else if (*c->p == 'L')
        return bad(c, "no Python 2 long suffix (numpy reads 2L only in version 1.0 and 2.0 headers)");
    return SL_OK;
}

static sl_status parse_name(cur *c, lit *v) {
    const char *s = c->p;
    while (isalnum((unsigned char)*c->p) || *c->p == '_') c->p++;
    size_t n = (size_t)(c->p - s);
    bool t = n == 4 && memcmp(s, "True", 4) == 0, f = n == 5 && memcmp(s, "False", 5) == 0;
    v->kind = t || f ? LIT_BOOL : LIT_NONE;
    v->num = t;
    if (!t && !f && !(n == 4 && memcmp(s, "None", 4) == 0))
        return sl__fail(SL_ERR_FORMAT,
                        "%s: byte %zu: expected a Python literal in the .npy header, found the name '%.*s' "
                        "(True, False and None are the only names allowed)",
                        c->path, v->at, (int)(n < 40 ? n : 40), s);
    return SL_OK;
}

static sl_status parse_value(cur *c, lit *v, int depth);

/* Record an item of a tuple or list as a dimension, or why it is not one. */
static void add_item(lit *v, const lit *it) {
    dim_why why = it->kind != LIT_INT ? DIM_NOT_INT
                  : it->neg && it->num ? DIM_NEGATIVE
                  : it->huge || it->num > (unsigned long long)SIZE_MAX ? DIM_HUGE
                                                                        : DIM_OK;
    if (why && !v->why) v->why = why, v->why_at = it->at;
    if (!why && v->n < SL_MAX_DIMS) v->items[v->n] = (size_t)it->num;
    v->n++;
}

/* A tuple, a list, or a parenthesized value (the cursor is at '(' or '['). */
static sl_status parse_seq(cur *c, lit *v, int depth) {
    bool tuple = *c->p == '(', comma = false;
    char close = tuple ? ')' : ']';
    v->kind = tuple ? LIT_TUPLE : LIT_LIST;
    c->p++;
    skip_ws(c);
    while (*c->p != close) {
        lit it;
        SL__TRY(parse_value(c, &it, depth + 1));
        add_item(v, &it);
        skip_ws(c);
        if (*c->p == close && tuple && v->n == 1 && !comma) {
            c->p++;
            it.at = v->at;
            *v = it; /* (x) is x */
            return SL_OK;
        }
        if (*c->p == ',') {
            c->p++;
            comma = true;
            skip_ws(c);
        } else if (*c->p != close)
            return bad(c, tuple ? "',' or ')'" : "',' or ']'");
    }
    c->p++;
    return SL_OK;
}

static sl_status parse_value(cur *c, lit *v, int depth) {
    bool raw, bytes;
    skip_ws(c);
    memset(v, 0, sizeof *v);
    v->at = POS(c);
    char ch = *c->p;
    if (depth > MAX_NESTING)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: values nested more than %d deep in the .npy header", c->path,
                        v->at, MAX_NESTING);
    if (str_prefix(c->p, &raw, &bytes) >= 0) return parse_string(c, v);
    if (isalpha((unsigned char)ch) || ch == '_') return parse_name(c, v);
    if (isdigit((unsigned char)ch) || ch == '.' || ch == '+' || ch == '-') return parse_number(c, v);
    if (ch == '(' || ch == '[') return parse_seq(c, v, depth);
    return bad(c, "a string, number, True, False, tuple or list");
}

/* Up to 40 bytes of a key or descr, for messages. */
static const char *shown(const lit *v, char *buf, size_t n) {
    if (v->kind == LIT_STR || v->kind == LIT_BYTES)
        snprintf(buf, n, "%s'%.40s%s'", v->kind == LIT_BYTES ? "b" : "", v->str, v->cut || strlen(v->str) > 40 ? "..." : "");
    else
        snprintf(buf, n, "%s", v->kind == LIT_INT ? "an integer" : v->kind == LIT_FLOAT ? "a float"
                               : v->kind == LIT_BOOL ? "a bool" : v->kind == LIT_NONE ? "None"
                               : v->kind == LIT_TUPLE ? "a tuple" : "a list");
    return buf;
}

/* The header's three values: dtype, order and shape. */
typedef struct {
    sl_dtype dt;
    bool swap, fortran;
    int ndim;
    size_t shape[SL_MAX_DIMS];
} npy_layout;

static sl_status check_descr(const char *path, const lit *d, npy_layout *L) {
    char buf[64];
    if (d->kind == LIT_LIST)
        return sl__fail(SL_ERR_UNSUPPORTED, "%s: byte %zu: structured dtypes are not supported (expected a plain "
                        "dtype such as '<f4')", path, d->at);
    if (d->kind != LIT_STR) /* numpy takes only a str (a bytes descr fails there too) */
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: descr is %s, expected a dtype string such as '<f4'", path, d->at,
                        shown(d, buf, sizeof buf));
    const char *code = d->str + (strchr("<>|=", d->str[0]) && d->str[0] ? 1 : 0);
    if (*code == 'O')
        return sl__fail(SL_ERR_UNSUPPORTED,
                        "%s: byte %zu: dtype %s is an object array (pickled Python objects); simlearn reads only "
                        "numeric arrays, and numpy too refuses it unless allow_pickle=True",
                        path, d->at, shown(d, buf, sizeof buf));
    if (d->cut || !dtype_from_descr(d->str, &L->dt, &L->swap))
        return sl__fail(SL_ERR_UNSUPPORTED,
                        "%s: byte %zu: dtype %s is not supported (expected f4, f8, i4, i8 or u1, with byte order "
                        "<, >, | or =)",
                        path, d->at, shown(d, buf, sizeof buf));
    return SL_OK;
}

static sl_status check_values(const char *path, const lit *v, npy_layout *L) {
    const lit *fo = &v[1], *sh = &v[2];
    char buf[64];
    SL__TRY(check_descr(path, &v[0], L));
    if (fo->kind != LIT_BOOL)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: fortran_order is %s, expected True or False", path, fo->at,
                        shown(fo, buf, sizeof buf));
    if (sh->kind != LIT_TUPLE)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: shape is %s, expected a tuple such as (3,) or (2, 5)", path,
                        sh->at, shown(sh, buf, sizeof buf));
    if (sh->why == DIM_HUGE) return sl__fail(SL_ERR_RANGE, "%s: byte %zu: dimension too large", path, sh->why_at);
    if (sh->why)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: expected a non-negative dimension in the shape, found %s", path,
                        sh->why_at, sh->why == DIM_NEGATIVE ? "a negative one" : "something else");
    if (sh->n > SL_MAX_DIMS)
        return sl__fail(SL_ERR_UNSUPPORTED, "%s: byte %zu: more than %d dimensions (the shape has %zu)", path, sh->at,
                        SL_MAX_DIMS, sh->n);
    L->ndim = (int)sh->n;
    memcpy(L->shape, sh->items, sh->n * sizeof *L->shape);
    L->fortran = fo->num && sh->n > 1;
    return SL_OK;
}

/* The header dictionary: the three keys in any order, each once. */
static sl_status parse_header(const char *path, const char *h, size_t base, bool py2, npy_layout *L) {
    static const char *keys[3] = {"descr", "fortran_order", "shape"};
    cur c = {h, h, path, base, py2};
    lit v[3], key;
    bool have[3] = {false, false, false};
    char buf[64];
    skip_ws(&c);
    if (*c.p != '{') return bad(&c, "'{'");
    c.p++;
    for (skip_ws(&c); *c.p != '}'; skip_ws(&c)) {
        SL__TRY(parse_value(&c, &key, 1));
        int k = 0;
        while (k < 3 && !(key.kind == LIT_STR && !key.cut && strcmp(key.str, keys[k]) == 0)) k++;
        if (k == 3)
            return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: unexpected key %s in the .npy header (expected 'descr', "
                            "'fortran_order' and 'shape')", path, key.at, shown(&key, buf, sizeof buf));
        if (have[k])
            return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: key '%s' appears twice in the .npy header", path, key.at,
                            keys[k]);
        skip_ws(&c);
        if (*c.p != ':') return bad(&c, "':'");
        c.p++;
        SL__TRY(parse_value(&c, &v[k], 1));
        have[k] = true;
        skip_ws(&c);
        if (*c.p == ',') c.p++;
        else if (*c.p != '}') return bad(&c, "',' or '}'");
    }
    c.p++;
    skip_ws(&c); /* only padding may follow the dictionary */
    if (*c.p)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: unexpected '%c' after the .npy header dictionary", path, POS(&c),
                        isprint((unsigned char)*c.p) ? *c.p : '?');
    for (int k = 0; k < 3; k++)
        if (!have[k]) return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: .npy header lacks '%s'", path, base, keys[k]);
    return check_values(path, v, L);
}

/* An open .npy file positioned at its data: dtype, byte and element order,
 * shape, and the byte offset of the data; the data size is checked against
 * the file's. */
typedef struct {
    FILE *f;
    sl_dtype dt;
    bool swap, fortran;
    int ndim;
    size_t shape[SL_MAX_DIMS];
    size_t count, bytes, offset;
} npy_file;

/* A version 3.0 header is UTF-8 (numpy refuses one that is not). */
static size_t utf8_bad_at(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char b = s[i];
        size_t k = b < 0x80 ? 0 : (b & 0xe0) == 0xc0 && b >= 0xc2 ? 1 : (b & 0xf0) == 0xe0 ? 2
                 : (b & 0xf8) == 0xf0 && b <= 0xf4 ? 3 : 9;
        if (k == 9 || i + k >= n) return i;
        for (size_t j = 1; j <= k; j++)
            if ((s[i + j] & 0xc0) != 0x80) return i;
        i += k + 1;
    }
    return n;
}

/* The header text: read, checked for NUL (and UTF-8 in 3.0), then parsed. */
static sl_status read_dict(const char *path, FILE *f, size_t pos, size_t hlen, int major, npy_file *nf) {
    char *hdr = sl__malloc(hlen + 1);
    if (!hdr) return sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
    sl_status st = fread(hdr, 1, hlen, f) == hlen ? SL_OK : SL_ERR_FORMAT;
    size_t bad_at;
    if (!st) {
        hdr[hlen] = '\0';
        npy_layout L;
        if (strlen(hdr) != hlen) /* only trailing padding may follow; an embedded NUL is malformed */
            st = sl__fail(SL_ERR_FORMAT, "%s: byte %zu: NUL byte inside the .npy header", path, pos + strlen(hdr));
        else if (major == 3 && (bad_at = utf8_bad_at((const unsigned char *)hdr, hlen)) < hlen)
            st = sl__fail(SL_ERR_FORMAT, "%s: byte %zu: a version 3.0 .npy header must be UTF-8 (byte 0x%02x is not)",
                          path, pos + bad_at, (unsigned char)hdr[bad_at]);
        else if (!(st = parse_header(path, hdr, pos, major < 3, &L))) {
            nf->dt = L.dt, nf->swap = L.swap, nf->fortran = L.fortran, nf->ndim = L.ndim;
            memcpy(nf->shape, L.shape, sizeof nf->shape);
        }
    }
    sl__free(hdr);
    return st;
}

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
    if (pre[7] != 0)
        return sl__fail(SL_ERR_UNSUPPORTED, "%s: byte 7: .npy format version %d.%d not supported (expected %d.0)", path,
                        major, pre[7], major);
    if (hlen > (1u << 20))
        return sl__fail(SL_ERR_FORMAT, "%s: byte 8: header length %zu is absurd (at most 1 MiB expected)", path, hlen);
    if (pos + hlen > (size_t)sb.st_size)
        return sl__fail(SL_ERR_FORMAT, "%s: byte 8: header length %zu exceeds the %lld bytes after it (truncated?)",
                        path, hlen, (long long)sb.st_size - (long long)pos);
    SL__TRY(read_dict(path, f, pos, hlen, major, nf));
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

static void swap_bytes(void *p, size_t n, size_t es) {
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++, b += es)
        for (size_t k = 0; k < es / 2; k++) {
            unsigned char t = b[k];
            b[k] = b[es - 1 - k];
            b[es - 1 - k] = t;
        }
}

/* A Fortran-order array's elements rearranged into C order. */
static sl_status to_c_order(const char *path, sl_array *a) {
    size_t n = sl_array_count(a), es = sl_dtype_size(a->dtype), cs[SL_MAX_DIMS], idx[SL_MAX_DIMS] = {0};
    if (a->ndim < 2 || n == 0) return SL_OK;
    unsigned char *t = sl__malloc_array(n, es, path), *src = a->data;
    if (!t) return SL_ERR_NOMEM;
    cs[a->ndim - 1] = 1;
    for (int k = a->ndim - 2; k >= 0; k--) cs[k] = cs[k + 1] * a->shape[k + 1];
    /* Walk the file's order (first index fastest), tracking the C offset. */
    for (size_t j = 0, off = 0; j < n; j++) {
        memcpy(t + off * es, src + j * es, es);
        for (int k = 0; k < a->ndim; k++) {
            off += cs[k];
            if (++idx[k] < a->shape[k]) break;
            off -= idx[k] * cs[k];
            idx[k] = 0;
        }
    }
    memcpy(src, t, n * es);
    sl__free(t);
    return SL_OK;
}

sl_status sl_npy_read(const char *path, sl_array *out) {
    npy_file nf;
    SL__TRY(npy_open(path, &nf));
    sl_array a = {0};
    sl_status st = sl__array_alloc_raw(&a, nf.dt, nf.ndim, nf.shape);
    if (!st && nf.bytes && fread(a.data, 1, nf.bytes, nf.f) != nf.bytes) st = npy_short(path, nf.f);
    if (!st && nf.swap) swap_bytes(a.data, nf.count, sl_dtype_size(nf.dt));
    if (!st && nf.fortran) st = to_c_order(path, &a);
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

/* n values of dtype dt at src into floats in C order, each checked finite
 * (row0: the row of the first value, for the message; c values per row;
 * frows: src holds frows x c in Fortran order, or 0 for C order). */
static sl_status to_floats(const char *path, sl_dtype dt, const void *src, size_t n, size_t c, size_t row0,
                           size_t frows, float *dst) {
    for (size_t i = 0; i < n; i++) {
        double v;
        size_t at = frows ? i % c * frows + i / c : i;
        switch (dt) {
        case SL_F32: v = ((const float *)src)[at]; break;
        case SL_F64: v = ((const double *)src)[at]; break;
        case SL_I32: v = ((const int32_t *)src)[at]; break;
        case SL_I64: v = (double)((const int64_t *)src)[at]; break;
        default: v = ((const uint8_t *)src)[at]; break;
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
    sl_status st = m ? to_floats(path, a.dtype, a.data, n, c, 0, 0, m) : SL_ERR_NOMEM;
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

/* Rows [lo, lo + rows) of a 1-D or 2-D array into raw, native byte order; a
 * Fortran-order array's rows come column by column (rows x c, Fortran order). */
static sl_status read_rows(const char *path, npy_file *nf, size_t lo, size_t rows, unsigned char *raw) {
    size_t r = nf->shape[0], c = nf->ndim == 2 ? nf->shape[1] : 1, es = sl_dtype_size(nf->dt);
    size_t runs = nf->fortran ? c : 1, run = nf->fortran ? rows : rows * c;
    for (size_t j = 0; j < runs && run; j++) {
        size_t at = nf->fortran ? j * r + lo : lo * c;
        if (fseeko(nf->f, (off_t)(nf->offset + at * es), SEEK_SET) != 0)
            return sl__fail(SL_ERR_IO, "%s: cannot seek to row %zu: %s", path, lo, strerror(errno));
        if (fread(raw + j * run * es, es, run, nf->f) != run) return npy_short(path, nf->f);
    }
    if (nf->swap) swap_bytes(raw, rows * c, es);
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
    if (!st) st = read_rows(path, &nf, lo, rows, raw);
    if (!st) st = to_floats(path, nf.dt, raw, n, c, lo, nf.fortran ? rows : 0, m);
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

/* A reader for JSONL logs of flat objects ({"step": 10, "loss": 2.31} per
 * line), turned into a table with one column per key, for training curves. */
#include "viz/viz_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t row, key;
    double v;
} cell;

typedef struct {
    const char *name, *s;
    size_t len, pos, line, line_start;
    char **keys;
    size_t nkeys, capkeys;
    cell *cells;
    size_t ncells, capcells;
    char *tmp; /* scratch for a decoded string */
    size_t captmp;
} parser;

static sl_status perr(parser *p, sl_status st, const char *what) {
    return sl__fail(st, "%s: line %zu, column %zu: %s", p->name, p->line, p->pos - p->line_start + 1, what);
}

static void skip_ws(parser *p) {
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\r')) p->pos++;
}

static bool tmp_put(parser *p, size_t *n, char c) {
    if (*n + 2 > p->captmp) {
        size_t cap = p->captmp ? 2 * p->captmp : 64;
        char *t = sl__realloc(p->tmp, cap);
        if (!t) return false;
        p->tmp = t, p->captmp = cap;
    }
    p->tmp[(*n)++] = c;
    p->tmp[*n] = '\0';
    return true;
}

static int hex4(const char *s) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    return v;
}

/* A JSON string at p->pos (the opening quote) decoded into p->tmp as UTF-8. */
static sl_status parse_string(parser *p) {
    size_t n = 0;
    p->pos++;
    if (!tmp_put(p, &n, 'x')) return SL_ERR_NOMEM;
    n = 0;
    p->tmp[0] = '\0';
    for (;;) {
        if (p->pos >= p->len || p->s[p->pos] == '\n') return perr(p, SL_ERR_FORMAT, "unterminated string");
        unsigned char c = (unsigned char)p->s[p->pos++];
        if (c == '"') return SL_OK;
        if (c < 0x20) {
            p->pos--;
            return perr(p, SL_ERR_FORMAT, "control character in a string");
        }
        if (c != '\\') {
            if (!tmp_put(p, &n, (char)c)) return SL_ERR_NOMEM;
            continue;
        }
        if (p->pos >= p->len) return perr(p, SL_ERR_FORMAT, "unterminated string");
        char e = p->s[p->pos++];
        const char *map = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
        const char *m = strchr(map, e);
        if (e && m) {
            if (!tmp_put(p, &n, to[m - map])) return SL_ERR_NOMEM;
            continue;
        }
        if (e != 'u') {
            p->pos--;
            return perr(p, SL_ERR_FORMAT, "invalid escape in a string");
        }
        int u = p->pos + 4 <= p->len ? hex4(p->s + p->pos) : -1;
        if (u < 0) return perr(p, SL_ERR_FORMAT, "expected 4 hex digits after \\u");
        p->pos += 4;
        long cp = u;
        if (u >= 0xD800 && u <= 0xDBFF) {
            int lo = p->pos + 6 <= p->len && p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u' ? hex4(p->s + p->pos + 2) : -1;
            if (lo < 0xDC00 || lo > 0xDFFF) return perr(p, SL_ERR_FORMAT, "unpaired UTF-16 surrogate in \\u escape");
            p->pos += 6;
            cp = 0x10000 + ((long)(u - 0xD800) << 10) + (lo - 0xDC00);
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
            return perr(p, SL_ERR_FORMAT, "unpaired UTF-16 surrogate in \\u escape");
        }
        char buf[4];
        int k;
        if (cp < 0x80) buf[0] = (char)cp, k = 1;
        else if (cp < 0x800) buf[0] = (char)(0xC0 | (cp >> 6)), buf[1] = (char)(0x80 | (cp & 63)), k = 2;
        else if (cp < 0x10000)
            buf[0] = (char)(0xE0 | (cp >> 12)), buf[1] = (char)(0x80 | ((cp >> 6) & 63)), buf[2] = (char)(0x80 | (cp & 63)), k = 3;
        else
            buf[0] = (char)(0xF0 | (cp >> 18)), buf[1] = (char)(0x80 | ((cp >> 12) & 63)),
            buf[2] = (char)(0x80 | ((cp >> 6) & 63)), buf[3] = (char)(0x80 | (cp & 63)), k = 4;
        if (cp == 0) return perr(p, SL_ERR_FORMAT, "\\u0000 in a string");
        for (int i = 0; i < k; i++)
            if (!tmp_put(p, &n, buf[i])) return SL_ERR_NOMEM;
    }
}

static bool starts(const parser *p, const char *w) {
    size_t n = strlen(w);
    return p->pos + n <= p->len && memcmp(p->s + p->pos, w, n) == 0;
}

/* A value: number, NaN/Infinity, true/false/null or a string (NaN). */
static sl_status parse_value(parser *p, double *v) {
    if (p->pos >= p->len || p->s[p->pos] == '\n') return perr(p, SL_ERR_FORMAT, "expected a value, found the end of the line");
    char c = p->s[p->pos];
    if (c == '"') {
        SL__TRY(parse_string(p));
        *v = NAN;
        return SL_OK;
    }
    if (c == '{' || c == '[') return perr(p, SL_ERR_FORMAT, "nested objects and arrays are not supported (expected a number)");
    static const struct {
        const char *w;
        double v;
    } words[] = {{"true", 1}, {"false", 0}, {"null", NAN}, {"NaN", NAN}, {"Infinity", INFINITY}, {"-Infinity", -INFINITY}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (starts(p, words[i].w)) {
            p->pos += strlen(words[i].w);
            *v = words[i].v;
            return SL_OK;
        }
    /* Check the JSON number grammar first; strtod alone would accept hex and more. */
    size_t q = p->pos;
    if (q < p->len && p->s[q] == '-') q++;
    size_t d0 = q;
    while (q < p->len && p->s[q] >= '0' && p->s[q] <= '9') q++;
    if (q == d0) return perr(p, SL_ERR_FORMAT, "expected a number");
    if (q - d0 > 1 && p->s[d0] == '0') return perr(p, SL_ERR_FORMAT, "leading zero in a number");
    if (q < p->len && p->s[q] == '.') {
        size_t f0 = ++q;
        while (q < p->len && p->s[q] >= '0' && p->s[q] <= '9') q++;
        if (q == f0) return perr(p, SL_ERR_FORMAT, "expected digits after the decimal point");
    }
    if (q < p->len && (p->s[q] == 'e' || p->s[q] == 'E')) {
        q++;
        if (q < p->len && (p->s[q] == '+' || p->s[q] == '-')) q++;
        size_t e0 = q;
        while (q < p->len && p->s[q] >= '0' && p->s[q] <= '9') q++;
        if (q == e0) return perr(p, SL_ERR_FORMAT, "expected digits in the exponent");
    }
    char buf[128];
    if (q - p->pos >= sizeof buf) return perr(p, SL_ERR_FORMAT, "number too long");
    memcpy(buf, p->s + p->pos, q - p->pos);
    buf[q - p->pos] = '\0';
    errno = 0;
    double x = strtod(buf, NULL);
    if (errno == ERANGE && isinf(x)) return perr(p, SL_ERR_RANGE, "number out of range");
    p->pos = q;
    *v = x;
    return SL_OK;
}

static sl_status key_index(parser *p, size_t *out) {
    for (size_t k = 0; k < p->nkeys; k++)
        if (strcmp(p->keys[k], p->tmp) == 0) {
            *out = k;
            return SL_OK;
        }
    if (p->nkeys == p->capkeys) {
        size_t cap = p->capkeys ? 2 * p->capkeys : 16;
        char **nk = sl__realloc(p->keys, cap * sizeof *nk);
        if (!nk) return SL_ERR_NOMEM;
        p->keys = nk, p->capkeys = cap;
    }
    if (!(p->keys[p->nkeys] = sl__strdup(p->tmp))) return SL_ERR_NOMEM;
    *out = p->nkeys++;
    return SL_OK;
}

static sl_status add_cell(parser *p, size_t row, size_t key, double v, size_t row_first) {
    for (size_t c = row_first; c < p->ncells; c++)
        if (p->cells[c].key == key) return perr(p, SL_ERR_FORMAT, "duplicate key in one object");
    if (p->ncells == p->capcells) {
        size_t cap = p->capcells ? 2 * p->capcells : 256;
        cell *nc = sl__realloc(p->cells, cap * sizeof *nc);
        if (!nc) return SL_ERR_NOMEM;
        p->cells = nc, p->capcells = cap;
    }
    p->cells[p->ncells++] = (cell){row, key, v};
    return SL_OK;
}

static sl_status parse_line(parser *p, size_t row) {
    size_t first = p->ncells;
    p->pos++; /* '{' */
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        return SL_OK;
    }
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] == '\n')
            return perr(p, SL_ERR_FORMAT, "line ends inside an object (truncated?); expected a key");
        if (p->s[p->pos] != '"') return perr(p, SL_ERR_FORMAT, "expected a quoted key");
        SL__TRY(parse_string(p));
        size_t key;
        SL__TRY(key_index(p, &key));
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':') return perr(p, SL_ERR_FORMAT, "expected ':' after the key");
        p->pos++;
        skip_ws(p);
        double v = NAN;
        SL__TRY(parse_value(p, &v));
        SL__TRY(add_cell(p, row, key, v, first));
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] == '\n')
            return perr(p, SL_ERR_FORMAT, "line ends inside an object (truncated?); expected ',' or '}'");
        char c = p->s[p->pos++];
        if (c == '}') return SL_OK;
        if (c != ',') {
            p->pos--;
            return perr(p, SL_ERR_FORMAT, "expected ',' or '}'");
        }
    }
}

void sl_jsonl_destroy(sl_jsonl *t) {
    if (!t) return;
    for (size_t k = 0; k < t->n_keys; k++) sl__free(t->keys[k]);
    sl__free(t->keys);
    sl__free(t->values);
    sl__free(t);
}

sl_status sl_jsonl_parse(const char *text, size_t len, const char *name, sl_jsonl **out) {
    parser p = {0};
    p.name = name ? name : "<jsonl>";
    p.s = text, p.len = len, p.line = 1;
    size_t rows = 0;
    sl_status st = SL_OK;
    sl_jsonl *t = NULL;
    while (p.pos < p.len) {
        skip_ws(&p);
        if (p.pos < p.len && p.s[p.pos] == '\n') {
            p.pos++, p.line++, p.line_start = p.pos;
            continue;
        }
        if (p.pos >= p.len) break;
        if (p.s[p.pos] == '\0') {
            st = perr(&p, SL_ERR_FORMAT, "NUL byte (not a text file?)");
            goto done;
        }
        if (p.s[p.pos] != '{') {
            st = perr(&p, SL_ERR_FORMAT, "expected '{' to start an object");
            goto done;
        }
        if ((st = parse_line(&p, rows))) goto done;
        rows++;
        skip_ws(&p);
        if (p.pos < p.len && p.s[p.pos] != '\n') {
            st = perr(&p, SL_ERR_FORMAT, "unexpected text after the object (one object per line)");
            goto done;
        }
    }
    t = sl__calloc(1, sizeof *t);
    size_t cells;
    if (!t || !sl_size_mul(rows, p.nkeys, &cells)) {
        st = sl__fail(SL_ERR_NOMEM, "%s: out of memory", p.name);
        goto done;
    }
    t->values = sl__malloc_array(cells ? cells : 1, sizeof *t->values, "jsonl table");
    if (!t->values) {
        st = SL_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < cells; i++) t->values[i] = NAN;
    for (size_t c = 0; c < p.ncells; c++) t->values[p.cells[c].row * p.nkeys + p.cells[c].key] = p.cells[c].v;
    t->n_rows = rows, t->n_keys = p.nkeys, t->keys = p.keys;
    p.keys = NULL, p.nkeys = 0;
    *out = t;
    t = NULL;
done:
    if (st == SL_ERR_NOMEM && !*sl_error_message()) sl__fail(SL_ERR_NOMEM, "%s: out of memory", p.name);
    for (size_t k = 0; k < p.nkeys; k++) sl__free(p.keys[k]);
    sl__free(p.keys), sl__free(p.cells), sl__free(p.tmp);
    sl_jsonl_destroy(t);
    return st;
}

sl_status sl_jsonl_read(const char *path, sl_jsonl **out) {
    FILE *f = fopen(path, "rb");
    if (!f) return sl__fail(SL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 > cap) {
            cap = cap ? 2 * cap : 1 << 16;
            if (cap > ((size_t)1 << 31)) {
                sl__free(buf), fclose(f);
                return sl__fail(SL_ERR_RANGE, "%s: larger than 2 GiB; not a training log", path);
            }
            char *nb = sl__realloc(buf, cap);
            if (!nb) {
                sl__free(buf), fclose(f);
                return sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        sl__free(buf);
        return sl__fail(SL_ERR_IO, "%s: read error", path);
    }
    sl_status st = sl_jsonl_parse(buf ? buf : "", len, path, out);
    sl__free(buf);
    return st;
}

long sl_jsonl_column(const sl_jsonl *t, const char *key) {
    for (size_t k = 0; k < t->n_keys; k++)
        if (strcmp(t->keys[k], key) == 0) return (long)k;
    return -1;
}

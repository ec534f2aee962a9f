/* A strict JSON reader that builds a small tree with byte positions, and a
 * string builder for writing JSON. Used for safetensors headers, which come
 * from untrusted files, so every limit is checked and every error names the
 * byte where the text stopped making sense. */
#include "io/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

typedef struct {
    const char *s;
    size_t len, i, base;
    const char *what;
} jp;

static sl_status jfail(const jp *p, const char *expected) {
    if (p->i >= p->len)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: JSON header: ends early, expected %s", p->what, p->base + p->i,
                        expected);
    unsigned char c = (unsigned char)p->s[p->i];
    if (c >= 0x20 && c < 0x7f)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: JSON header: expected %s, found '%c'", p->what,
                        p->base + p->i, expected, c);
    return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: JSON header: expected %s, found byte 0x%02x", p->what,
                    p->base + p->i, expected, c);
}

static void skip_ws(jp *p) {
    while (p->i < p->len) {
        char c = p->s[p->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->i++;
    }
}

/* Length of the UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t k;
    unsigned min;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) k = 2, min = 0x80, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) k = 3, min = 0x800, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) k = 4, min = 0x10000, cp = c & 0x07;
    else return 0;
    if (n < k) return 0;
    for (size_t j = 1; j < k; j++) {
        if ((s[j] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return k;
}

bool sl__utf8_valid(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(u + i, n - i);
        if (!k) return false;
        i += k;
    }
    return true;
}

static size_t put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static bool hex4(const char *s, uint32_t *v) {
    uint32_t x = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        x <<= 4;
        if (c >= '0' && c <= '9') x |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') x |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') x |= (uint32_t)(c - 'A' + 10);
        else return false;
    }
    *v = x;
    return true;
}

/* Parse a string literal at p->i (which is '"'); *out is sl__malloc'd. */
static sl_status parse_string(jp *p, char **out) {
    size_t start = ++p->i, end = start;
    /* First pass: find the closing quote and validate, so the decoded string
     * can be allocated once (it is never longer than the literal). */
    while (end < p->len && p->s[end] != '"') {
        if (p->s[end] == '\\') end++;
        end++;
    }
    if (end >= p->len) {
        p->i = p->len;
        return jfail(p, "'\"' closing the string");
    }
    char *o = sl__malloc(end - start + 1);
    if (!o) return sl__fail(SL_ERR_NOMEM, "%s: out of memory parsing the JSON header", p->what);
    size_t k = 0;
    while (p->i < end) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c < 0x20) {
            sl__free(o);
            return jfail(p, "a printable character (control characters must be escaped)");
        }
        if (c == '\\') {
            char e = p->s[p->i + 1];
            size_t at = p->i;
            p->i += 2;
            switch (e) {
            case '"': o[k++] = '"'; break;
            case '\\': o[k++] = '\\'; break;
            case '/': o[k++] = '/'; break;
            case 'b': o[k++] = '\b'; break;
            case 'f': o[k++] = '\f'; break;
            case 'n': o[k++] = '\n'; break;
            case 'r': o[k++] = '\r'; break;
            case 't': o[k++] = '\t'; break;
            case 'u': {
                uint32_t cp, lo;
                if (p->i + 4 > end || !hex4(p->s + p->i, &cp)) {
                    p->i = at;
                    sl__free(o);
                    return jfail(p, "four hex digits after \\u");
                }
                p->i += 4;
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (p->i + 6 > end || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
                        !hex4(p->s + p->i + 2, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                        p->i = at;
                        sl__free(o);
                        return jfail(p, "a low surrogate \\uDC00-\\uDFFF after a high surrogate");
                    }
                    p->i += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                    p->i = at;
                    sl__free(o);
                    return jfail(p, "a character, not a lone low surrogate");
                } else if (cp == 0) {
                    p->i = at;
                    sl__free(o);
                    return jfail(p, "a character other than \\u0000 (NUL is not allowed in names)");
                }
                k += put_utf8(o + k, cp);
                break;
            }
            default:
                p->i = at;
                sl__free(o);
                return jfail(p, "one of the escapes \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX");
            }
            continue;
        }
        size_t n = utf8_seq((const unsigned char *)p->s + p->i, end - p->i);
        if (!n) {
            sl__free(o);
            return jfail(p, "valid UTF-8");
        }
        memcpy(o + k, p->s + p->i, n);
        k += n;
        p->i += n;
    }
    p->i = end + 1;
    o[k] = '\0';
    *out = o;
    return SL_OK;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static sl_status parse_number(jp *p, sl_json *v) {
    size_t st = p->i;
    bool neg = false, plain = true;
    if (p->s[p->i] == '-') neg = true, p->i++;
    if (p->i >= p->len || !is_digit(p->s[p->i])) return jfail(p, "a digit");
    if (p->s[p->i] == '0') {
        p->i++;
        if (p->i < p->len && is_digit(p->s[p->i])) return jfail(p, "no leading zeros in a number");
    } else {
        while (p->i < p->len && is_digit(p->s[p->i])) p->i++;
    }
    if (p->i < p->len && p->s[p->i] == '.') {
        plain = false;
        p->i++;
        if (p->i >= p->len || !is_digit(p->s[p->i])) return jfail(p, "a digit after the decimal point");
        while (p->i < p->len && is_digit(p->s[p->i])) p->i++;
    }
    if (p->i < p->len && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        plain = false;
        p->i++;
        if (p->i < p->len && (p->s[p->i] == '+' || p->s[p->i] == '-')) p->i++;
        if (p->i >= p->len || !is_digit(p->s[p->i])) return jfail(p, "a digit in the exponent");
        while (p->i < p->len && is_digit(p->s[p->i])) p->i++;
    }
    size_t n = p->i - st;
    char buf[64];
    if (n >= sizeof buf) {
        p->i = st;
        return jfail(p, "a number of at most 63 characters");
    }
    memcpy(buf, p->s + st, n);
    buf[n] = '\0';
    v->num = strtod(buf, NULL);
    v->is_uint = false;
    if (plain && !neg) {
        uint64_t u = 0;
        bool ok = true;
        for (size_t k = 0; k < n && ok; k++) {
            unsigned d = (unsigned)(buf[k] - '0');
            if (u > (UINT64_MAX - d) / 10) ok = false;
            else u = u * 10 + d;
        }
        v->is_uint = ok;
        v->u = u;
    }
    return SL_OK;
}

static void free_value(sl_json *v) {
    sl__free(v->str);
    for (size_t i = 0; i < v->n; i++) {
        free_value(&v->items[i]);
        if (v->keys) sl__free(v->keys[i]);
    }
    sl__free(v->items);
    sl__free(v->keys);
    sl__free(v->key_pos);
}

static int cmp_key_idx(const void *a, const void *b, void *keys) {
    char **k = keys;
    return strcmp(k[*(const size_t *)a], k[*(const size_t *)b]);
}

/* Duplicate keys are an error (the format leaves their meaning open, and a
 * reader that silently keeps one would disagree with another that keeps the
 * other). Sorting an index keeps this O(n log n) for headers with many names. */
static sl_status check_duplicates(jp *p, sl_json *v) {
    if (v->n < 2) return SL_OK;
    size_t *idx = sl__malloc_array(v->n, sizeof *idx, p->what);
    if (!idx) return SL_ERR_NOMEM;
    for (size_t i = 0; i < v->n; i++) idx[i] = i;
    qsort_r(idx, v->n, sizeof *idx, cmp_key_idx, v->keys);
    sl_status s = SL_OK;
    for (size_t i = 1; i < v->n; i++)
        if (strcmp(v->keys[idx[i - 1]], v->keys[idx[i]]) == 0) {
            size_t later = SL__MAX(idx[i - 1], idx[i]);
            s = sl__fail(SL_ERR_FORMAT, "%s: byte %zu: JSON header: duplicate key \"%s\"", p->what,
                         v->key_pos[later], v->keys[later]);
            break;
        }
    sl__free(idx);
    return s;
}

static sl_status grow(jp *p, sl_json *v, size_t *cap, bool obj) {
    if (v->n < *cap) return SL_OK;
    size_t nc = *cap ? *cap * 2 : 4;
    sl_json *it = sl__realloc(v->items, nc * sizeof *it);
    if (!it) return sl__fail(SL_ERR_NOMEM, "%s: out of memory parsing the JSON header", p->what);
    v->items = it;
    if (obj) {
        char **k = sl__realloc(v->keys, nc * sizeof *k);
        if (!k) return sl__fail(SL_ERR_NOMEM, "%s: out of memory parsing the JSON header", p->what);
        v->keys = k;
        size_t *kp = sl__realloc(v->key_pos, nc * sizeof *kp);
        if (!kp) return sl__fail(SL_ERR_NOMEM, "%s: out of memory parsing the JSON header", p->what);
        v->key_pos = kp;
    }
    *cap = nc;
    return SL_OK;
}

static sl_status parse_value(jp *p, sl_json *v, int depth) {
    memset(v, 0, sizeof *v);
    skip_ws(p);
    v->pos = p->base + p->i;
    if (p->i >= p->len) return jfail(p, "a value");
    char c = p->s[p->i];
    if (c == '{' || c == '[') {
        bool obj = c == '{';
        if (depth >= JSON_MAX_DEPTH) return jfail(p, "nesting no deeper than 64 levels");
        v->type = obj ? SL_JSON_OBJ : SL_JSON_ARR;
        p->i++;
        skip_ws(p);
        if (p->i < p->len && p->s[p->i] == (obj ? '}' : ']')) {
            p->i++;
            return SL_OK;
        }
        size_t cap = 0;
        for (;;) {
            SL__TRY(grow(p, v, &cap, obj));
            if (obj) {
                skip_ws(p);
                if (p->i >= p->len || p->s[p->i] != '"') return jfail(p, "'\"' starting an object key");
                size_t kp = p->base + p->i;
                SL__TRY(parse_string(p, &v->keys[v->n]));
                v->key_pos[v->n] = kp;
                skip_ws(p);
                if (p->i >= p->len || p->s[p->i] != ':') {
                    sl__free(v->keys[v->n]);
                    return jfail(p, "':' after an object key");
                }
                p->i++;
            }
            sl_status s = parse_value(p, &v->items[v->n], depth + 1);
            if (s) {
                /* The failed item may hold partial children. */
                free_value(&v->items[v->n]);
                if (obj) sl__free(v->keys[v->n]);
                return s;
            }
            v->n++;
            skip_ws(p);
            if (p->i < p->len && p->s[p->i] == ',') {
                p->i++;
                continue;
            }
            if (p->i < p->len && p->s[p->i] == (obj ? '}' : ']')) {
                p->i++;
                break;
            }
            return jfail(p, obj ? "',' or '}' in an object" : "',' or ']' in an array");
        }
        return obj ? check_duplicates(p, v) : SL_OK;
    }
    if (c == '"') {
        v->type = SL_JSON_STR;
        return parse_string(p, &v->str);
    }
    if (c == '-' || is_digit(c)) {
        v->type = SL_JSON_NUM;
        return parse_number(p, v);
    }
    static const struct {
        const char *word;
        sl_json_type t;
        bool b;
    } lits[] = {{"true", SL_JSON_BOOL, true}, {"false", SL_JSON_BOOL, false}, {"null", SL_JSON_NULL, false}};
    for (size_t k = 0; k < 3; k++) {
        size_t n = strlen(lits[k].word);
        if (p->len - p->i >= n && memcmp(p->s + p->i, lits[k].word, n) == 0) {
            v->type = lits[k].t;
            v->b = lits[k].b;
            p->i += n;
            return SL_OK;
        }
    }
    return jfail(p, "a value (object, array, string, number, true, false or null)");
}

sl_status sl__json_parse(const char *text, size_t len, const char *what, size_t base, sl_json **out) {
    jp p = {text, len, 0, base, what};
    sl_json *v = sl__malloc(sizeof *v);
    if (!v) return sl__fail(SL_ERR_NOMEM, "%s: out of memory parsing the JSON header", what);
    sl_status s = parse_value(&p, v, 0);
    if (s == SL_OK) {
        skip_ws(&p);
        if (p.i < p.len) s = jfail(&p, "nothing but spaces after the JSON value");
    }
    if (s) {
        free_value(v);
        sl__free(v);
        return s;
    }
    *out = v;
    return SL_OK;
}

void sl__json_free(sl_json *j) {
    if (!j) return;
    free_value(j);
    sl__free(j);
}

const sl_json *sl__json_get(const sl_json *obj, const char *key) {
    if (!obj || obj->type != SL_JSON_OBJ) return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}

const char *sl__json_type_name(sl_json_type t) {
    switch (t) {
    case SL_JSON_NULL: return "null";
    case SL_JSON_BOOL: return "a boolean";
    case SL_JSON_NUM: return "a number";
    case SL_JSON_STR: return "a string";
    case SL_JSON_ARR: return "an array";
    case SL_JSON_OBJ: return "an object";
    }
    return "?";
}

/* ---- string builder ---------------------------------------------------- */

static bool sbuf_reserve(sl_sbuf *b, size_t extra) {
    if (b->failed) return false;
    if (b->cap - b->len > extra) return true;
    size_t need = b->len + extra + 1;
    if (need < b->len) {
        b->failed = true;
        return false;
    }
    size_t nc = b->cap ? b->cap : 256;
    while (nc < need) nc = nc > SIZE_MAX / 2 ? need : nc * 2;
    char *d = sl__realloc(b->data, nc);
    if (!d) {
        b->failed = true;
        return false;
    }
    b->data = d;
    b->cap = nc;
    return true;
}

void sl__sbuf_put(sl_sbuf *b, const void *p, size_t n) {
    if (!sbuf_reserve(b, n)) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sl__sbuf_puts(sl_sbuf *b, const char *s) { sl__sbuf_put(b, s, strlen(s)); }

void sl__sbuf_printf(sl_sbuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof tmp) {
        sl__sbuf_put(b, tmp, (size_t)n);
        return;
    }
    if (!sbuf_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sl__sbuf_json_str(sl_sbuf *b, const char *s) {
    sl__sbuf_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sl__sbuf_put(b, e, 2);
        } else if (c < 0x20) {
            sl__sbuf_printf(b, "\\u%04x", c);
        } else {
            sl__sbuf_put(b, p, 1);
        }
    }
    sl__sbuf_put(b, "\"", 1);
}

void sl__sbuf_free(sl_sbuf *b) {
    sl__free(b->data);
    memset(b, 0, sizeof *b);
}

/* The growable text buffer the SVG writer and the HTML report render into:
 * appends never fail loudly; the first allocation failure sets `failed`, later
 * appends do nothing, and the caller checks once at the end. */
#include "viz/viz_internal.h"

#include <stdarg.h>
#include <string.h>

void sl__tb_grow(sl__tbuf *b, size_t more) {
    if (b->failed) return;
    if (b->len + more + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1) cap *= 2;
    char *ns = sl__realloc(b->s, cap);
    if (!ns) {
        b->failed = true;
        return;
    }
    b->s = ns, b->cap = cap;
}

void sl__tb_put(sl__tbuf *b, const char *s, size_t n) {
    sl__tb_grow(b, n);
    if (b->failed) return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void sl__tb_str(sl__tbuf *b, const char *s) { sl__tb_put(b, s, strlen(s)); }

void sl__tb_printf(sl__tbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[1024];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    sl__tb_grow(b, (size_t)n);
    if (b->failed) return;
    if ((size_t)n < sizeof tmp) {
        memcpy(b->s + b->len, tmp, (size_t)n + 1);
    } else {
        va_start(ap, fmt);
        vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

/* Text escaped for XML and HTML alike; control characters other than tab and
 * newline (invalid in XML 1.0) become '?'. */
void sl__tb_text(sl__tbuf *b, const char *s) {
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': sl__tb_put(b, "&amp;", 5); break;
        case '<': sl__tb_put(b, "&lt;", 4); break;
        case '>': sl__tb_put(b, "&gt;", 4); break;
        case '"': sl__tb_put(b, "&quot;", 6); break;
        case '\'': sl__tb_put(b, "&#39;", 5); break;
        default:
            if (c < 0x20 && c != '\t' && c != '\n')
                sl__tb_put(b, "?", 1);
            else
                sl__tb_put(b, (const char *)&c, 1);
        }
    }
}

void sl__tb_base64(sl__tbuf *b, const uint8_t *p, size_t n) {
    sl__tb_grow(b, (n + 2) / 3 * 4);
    if (b->failed) return;
    b->len += sl__base64_encode(p, n, b->s + b->len);
    b->s[b->len] = '\0';
}

size_t sl__base64_encode(const uint8_t *p, size_t n, char *out) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = out;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = tab[v >> 18], *o++ = tab[(v >> 12) & 63], *o++ = tab[(v >> 6) & 63], *o++ = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        *o++ = tab[v >> 18], *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    return (size_t)(o - out);
}

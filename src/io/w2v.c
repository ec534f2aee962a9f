/* Word vectors in the word2vec text format (also fastText's .vec) and the
 * word2vec binary format. Readers stream the file through one growing buffer
 * (no per-character stdio calls), are lenient about layout (CRLF, trailing
 * spaces, a UTF-8 BOM, words in any encoding) and strict about content (the
 * header's counts, the number of values per row, finite numbers). */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the word2vec binary code assumes a little-endian host"
#endif

/* Limits that catch garbage headers before they cost memory. */
#define W2V_MAX_DIM (1u << 20)
#define W2V_MAX_WORD 65536
#define W2V_CHUNK (1u << 20)

sl_status sl_wordvecs_create(size_t n, size_t dim, sl_wordvecs **out) {
    sl_wordvecs *w = sl__calloc(1, sizeof *w);
    if (!w) return sl__fail(SL_ERR_NOMEM, "word vectors: out of memory");
    size_t cells;
    if (!sl_size_mul(n, dim, &cells)) {
        sl__free(w);
        return sl__fail(SL_ERR_RANGE, "word vectors: %zu x %zu overflows", n, dim);
    }
    w->words = sl__calloc(n ? n : 1, sizeof *w->words);
    w->vecs = sl__calloc(cells ? cells : 1, sizeof *w->vecs);
    if (!w->words || !w->vecs) {
        sl__free(w->words);
        sl__free(w->vecs);
        sl__free(w);
        return sl__fail(SL_ERR_NOMEM, "word vectors: cannot allocate %zu x %zu floats", n, dim);
    }
    w->n = n;
    w->dim = dim;
    *out = w;
    return SL_OK;
}

void sl_wordvecs_destroy(sl_wordvecs *w) {
    if (!w) return;
    if (w->words)
        for (size_t i = 0; i < w->n; i++) sl__free(w->words[i]);
    sl__free(w->words);
    sl__free(w->vecs);
    sl__free(w);
}

/* ---- buffered reader --------------------------------------------------- */

typedef struct {
    FILE *f;
    const char *path;
    char *buf;
    size_t cap, beg, end; /* valid bytes are buf[beg..end) */
    bool eof;
    uint64_t off;  /* file offset of buf[beg] */
    size_t line;   /* 1-based number of the next line (text mode) */
} rd;

static sl_status rd_open(rd *r, const char *path, uint64_t *fsize) {
    memset(r, 0, sizeof *r);
    r->path = path;
    r->line = 1;
    r->f = fopen(path, "rb");
    if (!r->f) return sl__fail(SL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    *fsize = UINT64_MAX; /* unknown for pipes and the like */
    if (fstat(fileno(r->f), &sb) == 0 && S_ISREG(sb.st_mode)) *fsize = (uint64_t)sb.st_size;
    /* A small file gets a buffer of its size (rd_fill grows it if the file grew). */
    r->cap = *fsize < W2V_CHUNK ? (*fsize < 64 ? 64 : (size_t)*fsize + 1) : W2V_CHUNK;
    r->buf = sl__malloc(r->cap + 1);
    if (!r->buf) {
        fclose(r->f);
        r->f = NULL;
        return sl__fail(SL_ERR_NOMEM, "%s: out of memory for the read buffer", path);
    }
    return SL_OK;
}

static void rd_close(rd *r) {
    if (r->f) fclose(r->f);
    sl__free(r->buf);
    r->f = NULL;
    r->buf = NULL;
}

/* Make at least `want` bytes available from beg (fewer only at end of file),
 * growing the buffer when needed. */
static sl_status rd_fill(rd *r, size_t want) {
    if (r->end - r->beg >= want || r->eof) return SL_OK;
    if (r->beg) {
        memmove(r->buf, r->buf + r->beg, r->end - r->beg);
        r->end -= r->beg;
        r->beg = 0;
    }
    if (want > r->cap) {
        size_t nc = r->cap;
        while (nc < want) nc *= 2;
        char *nb = sl__realloc(r->buf, nc + 1);
        if (!nb) return sl__fail(SL_ERR_NOMEM, "%s: out of memory for a %zu-byte read buffer", r->path, nc);
        r->buf = nb;
        r->cap = nc;
    }
    while (r->end < want && !r->eof) {
        size_t got = fread(r->buf + r->end, 1, r->cap - r->end, r->f);
        r->end += got;
        if (got == 0) {
            if (ferror(r->f)) return sl__fail(SL_ERR_IO, "%s: read error: %s", r->path, strerror(errno));
            r->eof = true;
        }
    }
    return SL_OK;
}

/* The next line, NUL-terminated in place, without its '\n' and a '\r' before
 * it; *len is its length. NULL at end of file. Lines longer than `limit` are
 * an error (a binary file read as text, or a corrupt one). */
static sl_status rd_line(rd *r, size_t limit, char **line, size_t *len) {
    size_t scanned = 0;
    for (;;) {
        char *s = r->buf + r->beg;
        size_t avail = r->end - r->beg;
        char *nl = memchr(s + scanned, '\n', avail - scanned);
        if (nl || (r->eof && avail)) {
            size_t n = nl ? (size_t)(nl - s) : avail;
            r->beg += nl ? n + 1 : n;
            r->off += nl ? n + 1 : n;
            r->line++;
            if (n && s[n - 1] == '\r') n--;
            s[n] = '\0';
            *line = s;
            *len = n;
            return SL_OK;
        }
        if (r->eof) {
            *line = NULL;
            *len = 0;
            return SL_OK;
        }
        if (avail > limit)
            return sl__fail(SL_ERR_FORMAT, "%s: line %zu: longer than %zu bytes (not a word2vec text file?)", r->path,
                            r->line, limit);
        scanned = avail;
        SL__TRY(rd_fill(r, avail < r->cap ? r->cap : avail + W2V_CHUNK));
    }
}

/* ---- numbers ----------------------------------------------------------- */

static bool is_sep(char c) { return c == ' ' || c == '\t'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Parse one float32 at p (a NUL-terminated line); the token must end at a
 * space, a tab or the end of the line. Returns 0 ok, 1 not a number,
 * 2 non-finite, 3 out of float32 range; *stop is where the token ended. */
int sl__w2v_parse_float_ref(const char *p, float *out, const char **stop) {
    char *e;
    errno = 0;
    float v = strtof(p, &e);
    *stop = e;
    if (e == p || (*e && !is_sep(*e))) return 1;
    if (isnan(v)) return 2;
    if (isinf(v)) {
        /* "inf" written out versus a finite literal beyond FLT_MAX. */
        const char *q = p + (*p == '-' || *p == '+');
        return (*q == 'i' || *q == 'I') ? 2 : 3;
    }
    *out = v;
    return 0;
}

/* Powers of ten that are exact in double (10^22 < 2^53 * 2^22). */
static const double p10d[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* m * 10^e rounded to float, correctly, or false when the fast method cannot
 * promise that. m < 2^53 and 10^|e| (|e| <= 22) are exact doubles, so q is
 * the correctly rounded double of the exact value; rounding q to float then
 * equals rounding the exact value unless q sits exactly on a midpoint between
 * two floats (midpoints are doubles, so the exact value cannot be on the
 * other side of one without q being it). */
static bool decimal_to_float(uint64_t m, int e, bool neg, float *out) {
    if (m == 0) {
        *out = neg ? -0.0f : 0.0f;
        return true;
    }
    if (m > (1ull << 53) || e < -22 || e > 22) return false;
    double q = e >= 0 ? (double)m * p10d[e] : (double)m / p10d[-e];
    uint64_t bits;
    memcpy(&bits, &q, 8);
    if ((bits & ((1ull << 29) - 1)) == (1ull << 28)) return false;
    float f = (float)q;
    *out = neg ? -f : f;
    return true;
}

/* The fast path: decimals with at most 15 significant digits and a decimal
 * exponent within +-22 — what word2vec, fastText, gensim and our writer
 * produce — go through decimal_to_float; everything else (hex floats,
 * nan/inf, huge exponents, long digit strings) goes to strtof. Both give the
 * correctly rounded float32, which the tests check bit for bit. */
int sl__w2v_parse_float(const char *p, float *out, const char **stop) {
    const char *q = p;
    bool neg = *q == '-';
    if (*q == '-' || *q == '+') q++;
    uint64_t m = 0;
    int nd = 0, frac = 0;
    bool any = false;
    while (is_digit(*q)) {
        any = true;
        if (m || *q != '0') {
            if (++nd > 15) return sl__w2v_parse_float_ref(p, out, stop);
            m = m * 10 + (uint64_t)(*q - '0');
        }
        q++;
    }
    if (*q == '.') {
        q++;
        while (is_digit(*q)) {
            any = true;
            if (m || *q != '0') {
                if (++nd > 15) return sl__w2v_parse_float_ref(p, out, stop);
                m = m * 10 + (uint64_t)(*q - '0');
            }
            frac++;
            q++;
        }
    }
    if (!any || frac > 40) return sl__w2v_parse_float_ref(p, out, stop);
    int e = 0;
    if (*q == 'e' || *q == 'E') {
        const char *r = q + 1;
        bool eneg = *r == '-';
        if (*r == '-' || *r == '+') r++;
        if (!is_digit(*r)) return sl__w2v_parse_float_ref(p, out, stop);
        int nde = 0;
        while (is_digit(*r)) {
            if (++nde > 4) return sl__w2v_parse_float_ref(p, out, stop);
            e = e * 10 + (*r - '0');
            r++;
        }
        if (eneg) e = -e;
        q = r;
    }
    if ((*q && !is_sep(*q)) || !decimal_to_float(m, e - frac, neg, out)) return sl__w2v_parse_float_ref(p, out, stop);
    *stop = q;
    return 0;
}

/* Write the shortest decimal of 6 to 9 significant digits that reads back as
 * exactly f (in the style of printf's %g), into out (>= 32 bytes); returns the
 * length. Much faster than snprintf("%.9g") and usually shorter; falls back
 * to snprintf for values beyond the exact-powers range. */
static int format_float(float f, char *out) {
    if (!isfinite(f)) return snprintf(out, 32, "%.9g", (double)f);
    if (f == 0) {
        strcpy(out, signbit(f) ? "-0" : "0");
        return signbit(f) ? 2 : 1;
    }
    double x = fabs((double)f);
    bool neg = f < 0;
    int e10 = (int)floor(log10(x));
    for (int p = 6; p <= 9; p++) {
        int s = p - 1 - e10, e = e10;
        if (s < -22 || s > 22) break;
        double y = s >= 0 ? x * p10d[s] : x / p10d[-s];
        uint64_t d = (uint64_t)llround(y);
        uint64_t lo = (uint64_t)p10d[p - 1], hi = (uint64_t)p10d[p];
        if (d >= hi) d /= 10, e++;
        if (d < lo) continue; /* log10 was off by one; the next p retries */
        float back;
        bool exact = decimal_to_float(d, e - (p - 1), neg, &back);
        if (exact && back != f) continue;
        char dig[16];
        int nd = p;
        for (int k = p - 1; k >= 0; k--) dig[k] = (char)('0' + d % 10), d /= 10;
        while (nd > 1 && dig[nd - 1] == '0') nd--;
        int n = 0;
        if (neg) out[n++] = '-';
        if (e < -4 || e >= 9) {
            out[n++] = dig[0];
            if (nd > 1) {
                out[n++] = '.';
                memcpy(out + n, dig + 1, (size_t)nd - 1);
                n += nd - 1;
            }
            n += sprintf(out + n, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
        } else if (e >= 0) {
            for (int k = 0; k <= e; k++) out[n++] = k < nd ? dig[k] : '0';
            if (nd > e + 1) {
                out[n++] = '.';
                memcpy(out + n, dig + e + 1, (size_t)(nd - e - 1));
                n += nd - e - 1;
            }
        } else {
            out[n++] = '0';
            out[n++] = '.';
            for (int k = 0; k < -e - 1; k++) out[n++] = '0';
            memcpy(out + n, dig, (size_t)nd);
            n += nd;
        }
        out[n] = '\0';
        /* On an exact float midpoint only strtof can tell which way it rounds. */
        if (!exact && strtof(out, NULL) != f) continue;
        return n;
    }
    /* Tiny or huge magnitudes: rare, so the slow exact route is fine. */
    for (int p = 6; p < 9; p++) {
        int n = snprintf(out, 32, "%.*g", p, (double)f);
        if (strtof(out, NULL) == f) return n;
    }
    return snprintf(out, 32, "%.9g", (double)f);
}

int sl__w2v_format_float(float f, char *out) { return format_float(f, out); }

/* Parse "N D" (the header line of both formats). */
static sl_status parse_header(rd *r, size_t *n, size_t *dim) {
    char *line;
    size_t len;
    SL__TRY(rd_line(r, 4096, &line, &len));
    if (!line) return sl__fail(SL_ERR_FORMAT, "%s: line 1: file is empty, expected a header 'COUNT DIM'", r->path);
    /* A UTF-8 byte-order mark is tolerated (some editors add one). */
    if (len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) line += 3;
    size_t v[2];
    char *p = line;
    for (int k = 0; k < 2; k++) {
        while (is_sep(*p)) p++;
        if (!is_digit(*p))
            return sl__fail(SL_ERR_FORMAT, "%s: line 1: expected a header 'COUNT DIM' (two integers), found \"%.40s\"",
                            r->path, line);
        errno = 0;
        char *e;
        unsigned long long x = strtoull(p, &e, 10);
        if (errno || x > SIZE_MAX)
            return sl__fail(SL_ERR_RANGE, "%s: line 1: %s %.30s is too large", r->path, k ? "dimension" : "count", p);
        v[k] = (size_t)x;
        p = e;
    }
    while (is_sep(*p)) p++;
    if (*p)
        return sl__fail(SL_ERR_FORMAT, "%s: line 1: expected only 'COUNT DIM' on the header line, found \"%.40s\"",
                        r->path, line);
    if (v[1] == 0 || v[1] > W2V_MAX_DIM)
        return sl__fail(SL_ERR_RANGE, "%s: line 1: dimension %zu, expected 1 to %u", r->path, v[1], W2V_MAX_DIM);
    *n = v[0];
    *dim = v[1];
    return SL_OK;
}

/* Refuse a header whose rows cannot fit in the file, before allocating. */
static sl_status check_fits(const rd *r, uint64_t fsize, size_t n, size_t dim, size_t min_row, bool binary) {
    if (fsize == UINT64_MAX) return SL_OK;
    uint64_t rest = fsize - r->off;
    size_t need;
    if (!sl_size_mul(n, min_row, &need))
        return sl__fail(SL_ERR_FORMAT, "%s: line 1: header says %zu words of dimension %zu, more than any file holds",
                        r->path, n, dim);
    if (need > rest)
        return sl__fail(SL_ERR_FORMAT,
                        "%s: line 1: header says %zu words of dimension %zu, which needs at least %zu bytes of %s "
                        "rows, but only %llu bytes follow (truncated file or wrong header?)",
                        r->path, n, dim, need, binary ? "binary" : "text", (unsigned long long)rest);
    return SL_OK;
}

static char *dup_word(const char *s, size_t n) {
    char *w = sl__malloc(n + 1);
    if (w) {
        memcpy(w, s, n);
        w[n] = '\0';
    }
    return w;
}

/* The dim values after a text row's word (wl bytes ending at wend; p just
 * after it) into v: numbers, finite and within float32, exactly dim of them. */
static sl_status parse_text_values(const rd *r, size_t lineno, const char *wend, size_t wl, char *p, float *v,
                                   size_t dim) {
    size_t k = 0;
    for (; k < dim; k++) {
        while (is_sep(*p)) p++;
        if (!*p) break;
        const char *stop;
        int rc = sl__w2v_parse_float(p, &v[k], &stop);
        if (rc) {
            const char *tend = p;
            while (*tend && !is_sep(*tend)) tend++;
            int tl = (int)SL__MIN((size_t)(tend - p), 40);
            return sl__fail(rc == 1 ? SL_ERR_FORMAT : SL_ERR_NUMERIC,
                            "%s: line %zu: word \"%.*s\": value %zu is \"%.*s\", expected a %s", r->path, lineno,
                            (int)SL__MIN(wl, 60), wend - wl, k + 1, tl, p,
                            rc == 1   ? "number"
                            : rc == 2 ? "finite number (NaN and Inf are not allowed)"
                                      : "number within float32 range");
        }
        p = (char *)stop;
    }
    if (k < dim)
        return sl__fail(SL_ERR_FORMAT, "%s: line %zu: word \"%.*s\": found %zu values, expected %zu", r->path, lineno,
                        (int)SL__MIN(wl, 60), wend - wl, k, dim);
    while (is_sep(*p)) p++;
    if (*p) {
        size_t extra = 0;
        while (*p) {
            extra++;
            while (*p && !is_sep(*p)) p++;
            while (is_sep(*p)) p++;
        }
        return sl__fail(SL_ERR_FORMAT, "%s: line %zu: word \"%.*s\": found %zu values, expected %zu", r->path, lineno,
                        (int)SL__MIN(wl, 60), wend - wl, dim + extra, dim);
    }
    return SL_OK;
}

static sl_status read_text(rd *r, uint64_t fsize, sl_wordvecs **out) {
    size_t n, dim;
    SL__TRY(parse_header(r, &n, &dim));
    size_t min_row;
    if (!sl_size_mul(dim, 2, &min_row)) return sl__fail(SL_ERR_RANGE, "%s: dimension overflows", r->path);
    SL__TRY(check_fits(r, fsize, n, dim, min_row + 1, false));
    sl_wordvecs *w;
    SL__TRY(sl_wordvecs_create(n, dim, &w));
    /* Generous: 64 bytes per value plus a long word. */
    size_t limit = dim * 64 + W2V_MAX_WORD;
    sl_status s = SL_OK;
    size_t row = 0;
    for (;;) {
        size_t lineno = r->line;
        char *line;
        size_t len;
        s = rd_line(r, limit, &line, &len);
        if (s) break;
        if (!line) break;
        char *p = line;
        if (row == n) {
            while (is_sep(*p)) p++;
            if (*p) {
                s = sl__fail(SL_ERR_FORMAT, "%s: line %zu: an extra row after the %zu the header announced", r->path,
                             lineno, n);
                break;
            }
            continue; /* blank lines at the end are fine */
        }
        char *wend = p;
        while (*wend && !is_sep(*wend)) wend++;
        if (wend == p) {
            s = sl__fail(SL_ERR_FORMAT, "%s: line %zu: expected a word at the start of the line%s", r->path, lineno,
                         *p ? ", found a space" : ", found an empty line");
            break;
        }
        size_t wl = (size_t)(wend - p);
        if (wl > W2V_MAX_WORD) {
            s = sl__fail(SL_ERR_FORMAT, "%s: line %zu: word of %zu bytes, at most %u allowed", r->path, lineno, wl,
                         W2V_MAX_WORD);
            break;
        }
        if ((s = parse_text_values(r, lineno, wend, wl, wend, w->vecs + row * dim, dim)) != SL_OK) break;
        w->words[row] = dup_word(wend - wl, wl);
        if (!w->words[row]) {
            s = sl__fail(SL_ERR_NOMEM, "%s: out of memory", r->path);
            break;
        }
        row++;
    }
    if (!s && row < n)
        s = sl__fail(SL_ERR_FORMAT, "%s: line %zu: file ends after %zu rows, but the header says %zu", r->path,
                     r->line, row, n);
    if (s) {
        sl_wordvecs_destroy(w);
        return s;
    }
    *out = w;
    return SL_OK;
}

/* Skip the '\n's word2vec writes after each vector (other writers do not). */
static sl_status skip_newlines(rd *r) {
    for (;;) {
        SL__TRY(rd_fill(r, 1));
        if (!(r->end > r->beg && r->buf[r->beg] == '\n')) return SL_OK;
        r->beg++;
        r->off++;
    }
}

/* Row `row`'s word, up to the space that ends it, into w->words[row]. */
static sl_status read_binary_word(rd *r, size_t row, size_t n, sl_wordvecs *w) {
    uint64_t wpos = r->off;
    size_t scanned = 0;
    char *sp = NULL;
    for (;;) {
        size_t avail = r->end - r->beg;
        sp = memchr(r->buf + r->beg + scanned, ' ', avail - scanned);
        if (sp || r->eof || avail > W2V_MAX_WORD) break;
        scanned = avail;
        SL__TRY(rd_fill(r, avail + 4096));
    }
    if (sp && (size_t)(sp - (r->buf + r->beg)) > W2V_MAX_WORD) sp = NULL;
    if (!sp) {
        if (r->end - r->beg > W2V_MAX_WORD)
            return sl__fail(SL_ERR_FORMAT, "%s: byte %llu: word %zu: no space within %u bytes (not a word2vec "
                            "binary file?)",
                            r->path, (unsigned long long)wpos, row + 1, W2V_MAX_WORD);
        if (r->end == r->beg)
            return sl__fail(SL_ERR_FORMAT, "%s: byte %llu: file ends after %zu words, but the header says %zu",
                            r->path, (unsigned long long)wpos, row, n);
        return sl__fail(SL_ERR_FORMAT, "%s: byte %llu: word %zu: file ends inside the word (truncated)", r->path,
                        (unsigned long long)wpos, row + 1);
    }
    size_t wl = (size_t)(sp - (r->buf + r->beg));
    if (wl == 0)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %llu: word %zu: empty word", r->path, (unsigned long long)wpos,
                        row + 1);
    w->words[row] = dup_word(r->buf + r->beg, wl);
    if (!w->words[row]) return sl__fail(SL_ERR_NOMEM, "%s: out of memory", r->path);
    r->beg += wl + 1;
    r->off += wl + 1;
    return SL_OK;
}

/* Row `row`'s vector: vbytes of float32, every value finite. */
static sl_status read_binary_vector(rd *r, size_t row, size_t vbytes, sl_wordvecs *w) {
    size_t dim = w->dim;
    SL__TRY(rd_fill(r, vbytes));
    size_t avail = r->end - r->beg;
    if (avail < vbytes)
        return sl__fail(SL_ERR_FORMAT,
                        "%s: byte %llu: word %zu (\"%.60s\"): file ends mid-vector, %zu of %zu bytes present "
                        "(truncated)",
                        r->path, (unsigned long long)r->off, row + 1, w->words[row], avail, vbytes);
    float *v = w->vecs + row * dim;
    memcpy(v, r->buf + r->beg, vbytes);
    for (size_t k = 0; k < dim; k++)
        if (!isfinite(v[k]))
            return sl__fail(SL_ERR_NUMERIC, "%s: byte %llu: word %zu (\"%.60s\"): value %zu is %g, expected a finite "
                            "number",
                            r->path, (unsigned long long)(r->off + 4 * k), row + 1, w->words[row], k + 1,
                            (double)v[k]);
    r->beg += vbytes;
    r->off += vbytes;
    return SL_OK;
}

/* Only line breaks may follow the last of the n vectors. */
static sl_status read_binary_tail(rd *r, size_t n) {
    for (;;) {
        SL__TRY(rd_fill(r, 1));
        if (r->end == r->beg) return SL_OK;
        char c = r->buf[r->beg];
        if (c != '\n' && c != '\r')
            return sl__fail(SL_ERR_FORMAT, "%s: byte %llu: data after the %zu words the header announced", r->path,
                            (unsigned long long)r->off, n);
        r->beg++;
        r->off++;
    }
}

static sl_status read_binary(rd *r, uint64_t fsize, sl_wordvecs **out) {
    size_t n, dim;
    SL__TRY(parse_header(r, &n, &dim));
    size_t vbytes;
    if (!sl_size_mul(dim, sizeof(float), &vbytes) || vbytes > SIZE_MAX - 2)
        return sl__fail(SL_ERR_RANGE, "%s: dimension overflows", r->path);
    SL__TRY(check_fits(r, fsize, n, dim, vbytes + 2, true));
    sl_wordvecs *w;
    SL__TRY(sl_wordvecs_create(n, dim, &w));
    sl_status s = SL_OK;
    for (size_t row = 0; row < n && !s; row++) {
        s = skip_newlines(r);
        if (!s) s = read_binary_word(r, row, n, w);
        if (!s) s = read_binary_vector(r, row, vbytes, w);
    }
    if (!s) s = read_binary_tail(r, n);
    if (s) {
        sl_wordvecs_destroy(w);
        return s;
    }
    *out = w;
    return SL_OK;
}

/* Text if the first row after the header is printable (no control bytes but
 * tab, valid UTF-8) and starts with a word and min(dim, 2) numbers. A binary
 * row is a word, a space and raw float bytes: those nearly always include a
 * control byte or invalid UTF-8 before any '\n', and two space-separated
 * decimal numbers among them are vanishingly unlikely. The first row's
 * content is not judged beyond that, so a broken text row still reads as
 * text and gets a text error message. */
static bool printable(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++)
        if ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7f) return false;
    return sl__utf8_valid(s, n);
}

static sl_status detect(rd *r, sl_w2v_format *fmt) {
    size_t n, dim;
    SL__TRY(parse_header(r, &n, &dim));
    char *line;
    size_t len;
    sl_status s = rd_line(r, dim * 64 + W2V_MAX_WORD, &line, &len);
    if (s == SL_ERR_FORMAT) {
        /* A line longer than any text row could be: binary data. */
        *fmt = SL_W2V_BINARY;
        return SL_OK;
    }
    SL__TRY(s);
    if (!line || n == 0) {
        *fmt = SL_W2V_TEXT;
        return SL_OK;
    }
    *fmt = SL_W2V_BINARY;
    if (!printable(line, len)) return SL_OK;
    char *p = line;
    while (*p && !is_sep(*p)) p++;
    size_t want = dim < 2 ? dim : 2;
    for (size_t k = 0; k < want; k++) {
        while (is_sep(*p)) p++;
        float v;
        const char *stop;
        if (!*p || sl__w2v_parse_float_ref(p, &v, &stop) == 1) return SL_OK;
        p = (char *)stop;
    }
    *fmt = SL_W2V_TEXT;
    return SL_OK;
}

sl_status sl_w2v_detect(const char *path, sl_w2v_format *out) {
    rd r;
    uint64_t fsize;
    SL__TRY(rd_open(&r, path, &fsize));
    sl_w2v_format f = SL_W2V_TEXT;
    sl_status s = detect(&r, &f);
    rd_close(&r);
    if (!s) *out = f;
    return s;
}

sl_status sl_w2v_read(const char *path, sl_w2v_format fmt, sl_wordvecs **out) {
    if (fmt != SL_W2V_AUTO && fmt != SL_W2V_TEXT && fmt != SL_W2V_BINARY)
        return sl__fail(SL_ERR_ARG, "%s: unknown word-vector format %d", path, (int)fmt);
    if (fmt == SL_W2V_AUTO) SL__TRY(sl_w2v_detect(path, &fmt));
    rd r;
    uint64_t fsize;
    SL__TRY(rd_open(&r, path, &fsize));
    sl_status s = fmt == SL_W2V_TEXT ? read_text(&r, fsize, out) : read_binary(&r, fsize, out);
    rd_close(&r);
    return s;
}

/* ---- writing ----------------------------------------------------------- */

sl_status sl_w2v_write(const char *path, const sl_wordvecs *w, sl_w2v_format fmt) {
    if (fmt == SL_W2V_AUTO) fmt = SL_W2V_TEXT;
    if (fmt != SL_W2V_TEXT && fmt != SL_W2V_BINARY)
        return sl__fail(SL_ERR_ARG, "%s: unknown word-vector format %d", path, (int)fmt);
    if (w->dim == 0) return sl__fail(SL_ERR_ARG, "%s: dimension 0 cannot be written", path);
    /* Check everything first, so a bad row leaves no file behind. */
    for (size_t i = 0; i < w->n; i++) {
        const char *s = w->words[i];
        if (!s || !*s) return sl__fail(SL_ERR_ARG, "%s: word %zu is empty", path, i + 1);
        if (strpbrk(s, " \t\n\r"))
            return sl__fail(SL_ERR_ARG, "%s: word %zu (\"%.60s\") contains whitespace, which the format cannot hold",
                            path, i + 1, s);
        const float *v = w->vecs + i * w->dim;
        for (size_t k = 0; k < w->dim; k++)
            if (!isfinite(v[k]))
                return sl__fail(SL_ERR_NUMERIC, "%s: word %zu (\"%.60s\"): value %zu is %g, expected a finite number",
                                path, i + 1, s, k + 1, (double)v[k]);
    }
    sl_afile *af;
    SL__TRY(sl_afile_open(path, &af));
    FILE *f = sl_afile_stream(af);
    fprintf(f, "%zu %zu\n", w->n, w->dim);
    char num[32];
    for (size_t i = 0; i < w->n; i++) {
        const float *v = w->vecs + i * w->dim;
        fputs(w->words[i], f);
        if (fmt == SL_W2V_BINARY) {
            fputc(' ', f);
            fwrite(v, sizeof *v, w->dim, f);
            fputc('\n', f);
        } else {
            for (size_t k = 0; k < w->dim; k++) {
                num[0] = ' ';
                int len = format_float(v[k], num + 1);
                fwrite(num, 1, (size_t)len + 1, f);
            }
            fputc('\n', f);
        }
        if (ferror(f)) break;
    }
    return sl_afile_commit(af);
}

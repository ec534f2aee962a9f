/* The streaming corpus reader (whitespace-split words over a byte range of a
 * file, through a fixed buffer) and the vocabulary built from one pass over
 * it: counts, min-count and max-size cuts, frequency order, hashing and the
 * subsampling probabilities. */
#include "words/words_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CORPUS_BUF (1u << 20)

sl_status sl__file_size(const char *path, uint64_t *out) {
    struct stat st;
    if (stat(path, &st) != 0) return sl__fail(SL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return sl__fail(SL_ERR_IO, "%s: not a regular file", path);
    *out = (uint64_t)st.st_size;
    return SL_OK;
}

static inline bool is_space(unsigned char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static int refill(sl__corpus *c) {
    if (c->eof) return 0;
    c->buf_off += c->pos;
    c->len = fread(c->buf, 1, c->cap, c->f);
    c->pos = 0;
    if (c->len == 0) {
        c->eof = true;
        if (ferror(c->f)) {
            sl__fail(SL_ERR_IO, "%s: read error at byte %llu", c->path, (unsigned long long)c->buf_off);
            return -1;
        }
        return 0;
    }
    return 1;
}

sl_status sl__corpus_open(sl__corpus *c, const char *path, uint64_t start, uint64_t end, bool lowercase) {
    memset(c, 0, sizeof *c);
    c->path = path;
    c->end = end;
    c->lowercase = lowercase;
    c->f = fopen(path, "rb");
    if (!c->f) return sl__fail(SL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    /* A range shorter than the buffer gets one of about its length (a small
     * corpus is cut into many slices, each opened with its own buffer);
     * words running past the buffer's end are read on after a refill. */
    uint64_t span = end > start ? end - start : 0;
    c->cap = span < CORPUS_BUF - 4096 ? (size_t)span + 4096 : CORPUS_BUF;
    c->buf = sl__malloc(c->cap);
    if (!c->buf) {
        fclose(c->f);
        c->f = NULL;
        return sl__fail(SL_ERR_NOMEM, "%s: no memory for the read buffer", path);
    }
    /* A word belongs to the range holding its first byte: when starting
     * inside a word, skip to its end (the previous range reads it). */
    uint64_t from = start > 0 ? start - 1 : 0;
    if (from > 0 && fseeko(c->f, (off_t)from, SEEK_SET) != 0) {
        sl__corpus_close(c);
        return sl__fail(SL_ERR_IO, "%s: cannot seek to byte %llu", path, (unsigned long long)from);
    }
    c->buf_off = from;
    if (start > 0) {
        for (;;) {
            if (c->pos >= c->len) {
                int r = refill(c);
                if (r < 0) {
                    sl__corpus_close(c);
                    return SL_ERR_IO;
                }
                if (r == 0) break;
            }
            if (is_space(c->buf[c->pos])) break;
            c->pos++;
        }
    }
    return SL_OK;
}

void sl__corpus_close(sl__corpus *c) {
    if (c->f) fclose(c->f);
    sl__free(c->buf);
    c->f = NULL;
    c->buf = NULL;
}

int sl__corpus_next(sl__corpus *c, char *w, bool *newline) {
    bool nl = false;
again:
    /* Skip whitespace, noting line breaks. */
    for (;;) {
        if (c->pos >= c->len) {
            int r = refill(c);
            if (r <= 0) {
                *newline = nl;
                return r;
            }
        }
        unsigned char ch = c->buf[c->pos];
        if (!is_space(ch)) break;
        if (ch == '\n') nl = true;
        c->pos++;
    }
    if (c->buf_off + c->pos >= c->end) {
        *newline = nl;
        return 0;
    }
    size_t n = 0;
    bool cut = false;
    for (;;) {
        if (c->pos >= c->len) {
            int r = refill(c);
            if (r < 0) return -1;
            if (r == 0) break;
        }
        unsigned char ch = c->buf[c->pos];
        if (is_space(ch)) break;
        if (n < SL_WORDS_MAX_WORD) {
            if (c->lowercase && ch >= 'A' && ch <= 'Z') ch = (unsigned char)(ch + 32);
            w[n++] = (char)ch;
        } else if (!cut) {
            cut = true;
            /* Do not keep half of a UTF-8 character: if the first dropped
             * byte continues a character, drop that character's lead bytes. */
            if ((ch & 0xC0) == 0x80)
                while (n > 0 && ((unsigned char)w[n - 1] & 0xC0) == 0x80) n--;
            if (n > 0 && ((unsigned char)w[n - 1] & 0xC0) == 0xC0 && (ch & 0xC0) == 0x80) n--;
        }
        c->pos++;
    }
    w[n] = '\0';
    *newline = nl;
    if (n == 0) goto again; /* a malformed word made only of cut bytes */
    return (int)n;
}

/* ---- hashing --------------------------------------------------------------*/
uint64_t sl__hash_bytes(const char *s, size_t n) {
    /* FNV-1a followed by a final mix, so short similar words spread well. */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h;
}

long sl__vocab_find_n(const sl_vocab *v, const char *w, size_t n) {
    size_t i = (size_t)sl__hash_bytes(w, n) & v->mask;
    for (;;) {
        uint32_t e = v->table[i];
        if (e == 0) return -1;
        size_t k = e - 1;
        if (v->len[k] == n && memcmp(v->word[k], w, n) == 0) return (long)k;
        i = (i + 1) & v->mask;
    }
}

long sl_vocab_find(const sl_vocab *v, const char *word) { return sl__vocab_find_n(v, word, strlen(word)); }

/* ---- counting -------------------------------------------------------------
 * A growable open-addressing table of (word, count) used while scanning. */
typedef struct {
    char **word;
    uint32_t *len;
    uint64_t *count;
    size_t n, cap;
    uint32_t *table;
    size_t mask;
} counter;

static void counter_free(counter *c) {
    if (c->word)
        for (size_t i = 0; i < c->n; i++) sl__free(c->word[i]);
    sl__free(c->word);
    sl__free(c->len);
    sl__free(c->count);
    sl__free(c->table);
    memset(c, 0, sizeof *c);
}

static void counter_rehash(counter *c) {
    memset(c->table, 0, (c->mask + 1) * sizeof *c->table);
    for (size_t k = 0; k < c->n; k++) {
        size_t i = (size_t)sl__hash_bytes(c->word[k], c->len[k]) & c->mask;
        while (c->table[i]) i = (i + 1) & c->mask;
        c->table[i] = (uint32_t)(k + 1);
    }
}

static sl_status counter_grow(counter *c) {
    size_t ncap = c->cap ? c->cap * 2 : 1024;
    if (ncap > UINT32_MAX / 4) return sl__fail(SL_ERR_RANGE, "vocabulary: more than %zu distinct words", c->cap);
    char **nw = sl__realloc(c->word, ncap * sizeof *nw);
    if (!nw) return sl__fail(SL_ERR_NOMEM, "vocabulary: out of memory at %zu words", c->n);
    c->word = nw;
    uint32_t *nl = sl__realloc(c->len, ncap * sizeof *nl);
    if (!nl) return sl__fail(SL_ERR_NOMEM, "vocabulary: out of memory at %zu words", c->n);
    c->len = nl;
    uint64_t *nc = sl__realloc(c->count, ncap * sizeof *nc);
    if (!nc) return sl__fail(SL_ERR_NOMEM, "vocabulary: out of memory at %zu words", c->n);
    c->count = nc;
    uint32_t *nt = sl__calloc(ncap * 2, sizeof *nt);
    if (!nt) return sl__fail(SL_ERR_NOMEM, "vocabulary: out of memory at %zu words", c->n);
    sl__free(c->table);
    c->table = nt;
    c->mask = ncap * 2 - 1;
    c->cap = ncap;
    counter_rehash(c);
    return SL_OK;
}

static sl_status counter_add(counter *c, const char *w, size_t n, uint64_t times) {
    if (c->n + 1 > c->cap) SL__TRY(counter_grow(c));
    size_t i = (size_t)sl__hash_bytes(w, n) & c->mask;
    for (;;) {
        uint32_t e = c->table[i];
        if (e == 0) break;
        size_t k = e - 1;
        if (c->len[k] == n && memcmp(c->word[k], w, n) == 0) {
            c->count[k] += times;
            return SL_OK;
        }
        i = (i + 1) & c->mask;
    }
    char *copy = sl__malloc(n + 1);
    if (!copy) return sl__fail(SL_ERR_NOMEM, "vocabulary: out of memory at %zu words", c->n);
    memcpy(copy, w, n);
    copy[n] = '\0';
    c->word[c->n] = copy;
    c->len[c->n] = (uint32_t)n;
    c->count[c->n] = times;
    c->table[i] = (uint32_t)(c->n + 1);
    c->n++;
    return SL_OK;
}

/* Forget the rarest words when the table gets huge (word2vec's remedy for
 * corpora with unbounded distinct tokens): counts of words kept stay exact,
 * words dropped lose at most `floor` occurrences each. */
#define COUNTER_PRUNE_AT ((size_t)20 * 1000 * 1000)
static void counter_prune(counter *c, uint64_t floor) {
    size_t j = 0;
    for (size_t k = 0; k < c->n; k++) {
        if (c->count[k] > floor) {
            c->word[j] = c->word[k];
            c->len[j] = c->len[k];
            c->count[j] = c->count[k];
            j++;
        } else {
            sl__free(c->word[k]);
        }
    }
    c->n = j;
    counter_rehash(c);
}

/* ---- the vocabulary ---------------------------------------------------------*/
typedef struct {
    const char *w;
    uint32_t len;
    uint64_t c;
    size_t src;
} entry;

static int entry_cmp(const void *pa, const void *pb) {
    const entry *a = pa, *b = pb;
    if (a->c != b->c) return a->c > b->c ? -1 : 1;
    size_t n = SL__MIN(a->len, b->len);
    int r = memcmp(a->w, b->w, n);
    if (r) return r;
    return a->len < b->len ? -1 : a->len > b->len;
}

void sl_vocab_destroy(sl_vocab *v) {
    if (!v) return;
    if (v->word)
        for (size_t i = 0; i < v->n; i++) sl__free(v->word[i]);
    sl__free(v->word);
    sl__free(v->len);
    sl__free(v->count);
    sl__free(v->table);
    sl__free(v);
}

/* Build the final vocabulary from (word, count) entries, taking ownership of
 * the word strings named by `take` (or copying when take is false). */
static sl_status vocab_make(entry *e, size_t n, char **owned, sl_vocab **out) {
    qsort(e, n, sizeof *e, entry_cmp);
    for (size_t i = 1; i < n; i++)
        if (e[i].len == e[i - 1].len && memcmp(e[i].w, e[i - 1].w, e[i].len) == 0)
            return sl__fail(SL_ERR_ARG, "vocabulary: word \"%s\" given twice", e[i].w);
    sl_vocab *v = sl__calloc(1, sizeof *v);
    if (!v) return sl__fail(SL_ERR_NOMEM, "vocabulary: out of memory");
    size_t tsize = 2;
    while (tsize < 2 * n) tsize *= 2;
    v->word = sl__calloc(n ? n : 1, sizeof *v->word);
    v->len = sl__malloc_array(n ? n : 1, sizeof *v->len, "vocabulary");
    v->count = sl__malloc_array(n ? n : 1, sizeof *v->count, "vocabulary");
    v->table = sl__calloc(tsize, sizeof *v->table);
    if (!v->word || !v->len || !v->count || !v->table) {
        sl_vocab_destroy(v);
        return sl__fail(SL_ERR_NOMEM, "vocabulary of %zu words: out of memory", n);
    }
    v->mask = tsize - 1;
    for (size_t i = 0; i < n; i++) {
        if (owned) {
            v->word[i] = owned[e[i].src];
            owned[e[i].src] = NULL;
        } else {
            v->word[i] = sl__strdup(e[i].w);
            if (!v->word[i]) {
                v->n = i;
                sl_vocab_destroy(v);
                return sl__fail(SL_ERR_NOMEM, "vocabulary: out of memory");
            }
        }
        v->n = i + 1;
        v->len[i] = e[i].len;
        v->count[i] = e[i].c;
        v->total += e[i].c;
        size_t h = (size_t)sl__hash_bytes(v->word[i], v->len[i]) & v->mask;
        while (v->table[h]) h = (h + 1) & v->mask;
        v->table[h] = (uint32_t)(i + 1);
    }
    *out = v;
    return SL_OK;
}

sl_status sl_vocab_from_counts(const char *const *words, const uint64_t *counts, size_t n, sl_vocab **out) {
    if (n >= UINT32_MAX / 4) return sl__fail(SL_ERR_RANGE, "vocabulary: %zu words is too many", n);
    entry *e = sl__malloc_array(n ? n : 1, sizeof *e, "vocabulary");
    if (!e) return SL_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(words[i]);
        if (len == 0 || len > SL_WORDS_MAX_WORD) {
            sl__free(e);
            return sl__fail(SL_ERR_ARG, "vocabulary: word %zu has %zu bytes, expected 1..%d", i, len,
                            SL_WORDS_MAX_WORD);
        }
        e[i] = (entry){words[i], (uint32_t)len, counts[i], i};
    }
    sl_status s = vocab_make(e, n, NULL, out);
    sl__free(e);
    return s;
}

void sl_vocab_config_default(sl_vocab_config *c) {
    memset(c, 0, sizeof *c);
    c->min_count = 5;
}

sl_status sl_vocab_build(const char *corpus, const sl_vocab_config *cfg, sl_vocab **out) {
    return sl__vocab_scan(corpus, cfg, NULL, out);
}

sl_status sl__vocab_scan(const char *corpus, const sl_vocab_config *cfg, const volatile sig_atomic_t *intr,
                         sl_vocab **out) {
    sl__corpus rd;
    SL__TRY(sl__corpus_open(&rd, corpus, 0, UINT64_MAX, cfg->lowercase));
    counter c = {0};
    char w[SL_WORDS_MAX_WORD + 1];
    bool nl;
    int n;
    uint64_t tokens = 0, floor = 1;
    sl_status s = SL_OK;
    while ((n = sl__corpus_next(&rd, w, &nl)) > 0) {
        tokens++;
        if ((s = counter_add(&c, w, (size_t)n, 1)) != SL_OK) break;
        if (c.n >= COUNTER_PRUNE_AT) counter_prune(&c, floor++);
        if ((tokens & 0xffff) == 0 && intr && *intr) {
            s = sl__fail(SL_ERR_INTERRUPTED, "%s: interrupted while counting the vocabulary (%llu words read)",
                         corpus, (unsigned long long)tokens);
            break;
        }
    }
    sl__corpus_close(&rd);
    if (n < 0) s = SL_ERR_IO;
    if (s != SL_OK) {
        counter_free(&c);
        return s;
    }
    uint64_t minc = cfg->min_count ? cfg->min_count : 1;
    size_t kept = 0;
    entry *e = sl__malloc_array(c.n ? c.n : 1, sizeof *e, "vocabulary");
    if (!e) {
        counter_free(&c);
        return SL_ERR_NOMEM;
    }
    for (size_t i = 0; i < c.n; i++)
        if (c.count[i] >= minc) e[kept++] = (entry){c.word[i], c.len[i], c.count[i], i};
    if (kept == 0) {
        sl__free(e);
        counter_free(&c);
        if (tokens == 0) return sl__fail(SL_ERR_FORMAT, "%s: the corpus holds no words", corpus);
        return sl__fail(SL_ERR_FORMAT, "%s: no word occurs at least %llu times (%llu words read)", corpus,
                        (unsigned long long)minc, (unsigned long long)tokens);
    }
    qsort(e, kept, sizeof *e, entry_cmp);
    if (cfg->max_size && kept > cfg->max_size) kept = cfg->max_size;
    s = vocab_make(e, kept, c.word, out);
    sl__free(e);
    counter_free(&c);
    return s;
}

size_t sl_vocab_size(const sl_vocab *v) { return v->n; }
const char *sl_vocab_word(const sl_vocab *v, size_t i) { return i < v->n ? v->word[i] : NULL; }
uint64_t sl_vocab_count(const sl_vocab *v, size_t i) { return i < v->n ? v->count[i] : 0; }
uint64_t sl_vocab_total(const sl_vocab *v) { return v->total; }

double sl_vocab_keep_prob(const sl_vocab *v, size_t i, double sample) {
    if (sample <= 0 || i >= v->n || v->count[i] == 0) return 1.0;
    double f = (double)v->count[i], st = sample * (double)v->total;
    double p = (sqrt(f / st) + 1.0) * st / f;
    return p < 1.0 ? p : 1.0;
}

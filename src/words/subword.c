/* Subword vectors (fastText's character n-grams): the n-grams of a word and
 * their hashed buckets, exactly as fastText's Dictionary::computeSubwords
 * and hash; every vocabulary word's n-gram rows for training; and the
 * subword model that embeds any word, with its checksummed .slsw file. */
#include "words/words_internal.h"

#include <errno.h>

#include <math.h>
#include <string.h>

/* ---- n-grams --------------------------------------------------------------------*/
uint32_t sl__ngram_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint32_t)(int8_t)s[i]; /* fastText sign-extends bytes >= 0x80 */
        h *= 16777619u;
    }
    return h;
}

size_t sl__ngram_cap(int minn, int maxn) {
    if (maxn < minn || minn < 1) return 0;
    return (size_t)(SL_WORDS_MAX_WORD + 2) * (size_t)(maxn - minn + 1);
}

size_t sl__word_cut(const char *word, size_t len) {
    if (len <= SL_WORDS_MAX_WORD) return len;
    const unsigned char *w = (const unsigned char *)word;
    size_t n = SL_WORDS_MAX_WORD;
    unsigned char ch = w[n];
    if ((ch & 0xC0) == 0x80)
        while (n > 0 && (w[n - 1] & 0xC0) == 0x80) n--;
    if (n > 0 && (w[n - 1] & 0xC0) == 0xC0 && (ch & 0xC0) == 0x80) n--;
    return n;
}

size_t sl__subwords(const char *word, size_t len, int minn, int maxn, uint32_t bucket, uint32_t *ids, uint8_t *start,
                    uint8_t *bytes, size_t cap) {
    char buf[SL_WORDS_MAX_WORD + 3];
    if (len > SL_WORDS_MAX_WORD || minn < 1 || maxn < minn || bucket == 0) return 0;
    buf[0] = '<';
    memcpy(buf + 1, word, len);
    buf[len + 1] = '>';
    size_t W = len + 2, count = 0;
    for (size_t i = 0; i < W; i++) {
        if (((unsigned char)buf[i] & 0xC0) == 0x80) continue;
        size_t j = i;
        for (int n = 1; j < W && n <= maxn; n++) {
            j++;
            while (j < W && ((unsigned char)buf[j] & 0xC0) == 0x80) j++;
            if (n >= minn && !(n == 1 && (i == 0 || j == W))) {
                if (count < cap) {
                    ids[count] = sl__ngram_hash(buf + i, j - i) % bucket;
                    if (start) start[count] = (uint8_t)i;
                    if (bytes) bytes[count] = (uint8_t)(j - i);
                }
                count++;
            }
        }
    }
    return count;
}

sl_status sl__subtab_build(const char *const *words, size_t V, int minn, int maxn, uint32_t bucket, sl__subtab *t) {
    memset(t, 0, sizeof *t);
    size_t cap = sl__ngram_cap(minn, maxn), total = 0, used = 0;
    uint32_t *tmp = sl__malloc_array(cap ? cap : 1, sizeof *tmp, "subword n-grams");
    t->first = sl__malloc_array(V + 1, sizeof *t->first, "subword n-grams");
    if (!tmp || !t->first) goto nomem;
    for (size_t i = 0; i < V; i++) total += sl__subwords(words[i], strlen(words[i]), minn, maxn, bucket, tmp, NULL, NULL, 0);
    if (total > UINT32_MAX) {
        sl__free(tmp);
        sl__subtab_free(t);
        return sl__fail(SL_ERR_RANGE, "subword n-grams: %zu in all is too many", total);
    }
    t->row = sl__malloc_array(total ? total : 1, sizeof *t->row, "subword n-grams");
    if (!t->row) goto nomem;
    for (size_t i = 0; i < V; i++) {
        size_t n = sl__subwords(words[i], strlen(words[i]), minn, maxn, bucket, tmp, NULL, NULL, cap);
        t->first[i] = (uint32_t)used;
        for (size_t k = 0; k < n; k++) t->row[used + k] = (uint32_t)V + tmp[k];
        used += n;
        if (n > t->max) t->max = n;
    }
    t->first[V] = (uint32_t)used;
    sl__free(tmp);
    return SL_OK;
nomem:
    sl__free(tmp);
    sl__subtab_free(t);
    return SL_ERR_NOMEM;
}

void sl__subtab_free(sl__subtab *t) {
    sl__free(t->first);
    sl__free(t->row);
    memset(t, 0, sizeof *t);
}

void sl__subtab_mean(const sl__subtab *t, const float *in, size_t stride, size_t d, uint32_t w, const float *own,
                     float *out) {
    /* In double: the mean of finite rows is finite even where their float
     * sum would overflow (a crafted model file's rows). */
    uint32_t a = t->first[w], b = t->first[w + 1];
    double n = (double)(b - a + 1);
    if (!own) own = in + (size_t)w * stride;
    for (size_t c = 0; c < d; c++) {
        double acc = own[c];
        for (uint32_t k = a; k < b; k++) acc += in[(size_t)t->row[k] * stride + c];
        out[c] = (float)(acc / n);
    }
}

/* ---- the subword model --------------------------------------------------------------*/
struct sl_words_subword {
    size_t V, dim;
    int minn, maxn;
    uint32_t bucket;
    bool lowercase;
    uint64_t *counts;   /* V */
    float *rows;        /* (V + bucket) x dim */
    sl_wordvecs *vecs;  /* V composed vectors, named */
    sl__wlookup look;
    sl__subtab tab;
};

static const char SLSW_MAGIC[8] = {'S', 'L', 'S', 'U', 'B', 'W', 'D', '\n'};
#define SLSW_VERSION 1u

void sl_words_subword_destroy(sl_words_subword *s) {
    if (!s) return;
    sl__wlookup_free(&s->look);
    sl__subtab_free(&s->tab);
    sl_wordvecs_destroy(s->vecs);
    sl__free(s->counts);
    sl__free(s->rows);
    sl__free(s);
}

static sl_status check_settings(const char *who, size_t V, size_t dim, int minn, int maxn, uint32_t bucket) {
    if (V == 0 || V >= UINT32_MAX) return sl__fail(SL_ERR_ARG, "%s: %zu words, expected 1..%u", who, V, UINT32_MAX - 1);
    if (dim < 1 || dim > 10000) return sl__fail(SL_ERR_ARG, "%s: dim %zu, expected 1..10000", who, dim);
    if ((maxn < 1 || maxn > SL_WORDS_MAX_NGRAM || minn < 1 || minn > maxn) && (minn != 0 || maxn != 0))
        return sl__fail(SL_ERR_ARG, "%s: minn %d, maxn %d, expected 1 <= minn <= maxn <= %d (or both 0: a sentence model)",
                        who, minn, maxn, SL_WORDS_MAX_NGRAM);
    if (bucket < 1 || bucket > INT32_MAX || (uint64_t)bucket + V > UINT32_MAX)
        return sl__fail(SL_ERR_ARG, "%s: bucket %u, expected 1..%d (and words + bucket below 2^32)", who, bucket,
                        INT32_MAX);
    return SL_OK;
}

/* The parts a model needs besides its rows: words copied into vecs, counts,
 * the lookup and n-gram tables, the composed vectors (rows already set). */
static sl_status finish(sl_words_subword *s, const char *const *words, const uint64_t *counts) {
    SL__TRY(sl_wordvecs_create(s->V, s->dim, &s->vecs));
    if (!s->vecs->words) s->vecs->words = sl__calloc(s->V, sizeof *s->vecs->words);
    s->counts = sl__calloc(s->V, sizeof *s->counts);
    if (!s->vecs->words || !s->counts) return sl__fail(SL_ERR_NOMEM, "subword model: out of memory");
    for (size_t i = 0; i < s->V; i++) {
        size_t len = strlen(words[i]);
        if (len == 0 || len > SL_WORDS_MAX_WORD)
            return sl__fail(SL_ERR_ARG, "subword model: word %zu has %zu bytes, expected 1..%d", i, len,
                            SL_WORDS_MAX_WORD);
        if (!(s->vecs->words[i] = sl__strdup(words[i]))) return sl__fail(SL_ERR_NOMEM, "subword model: out of memory");
        s->counts[i] = counts ? counts[i] : 0;
    }
    SL__TRY(sl__wlookup_build(&s->look, s->vecs, s->V, true));
    for (size_t i = 0; i < s->V; i++)
        if (sl__wlookup_exact(&s->look, words[i]) != (long)i)
            return sl__fail(SL_ERR_ARG, "subword model: word %zu ('%s') is listed twice", i, words[i]);
    if (s->maxn == 0) { /* a sentence model: the words' vectors are their rows */
        memcpy(s->vecs->vecs, s->rows, s->V * s->dim * sizeof *s->rows);
        return SL_OK;
    }
    sl_status st = sl__subtab_build(words, s->V, s->minn, s->maxn, s->bucket, &s->tab);
    if (st) return st == SL_ERR_NOMEM ? sl__fail(st, "subword model: out of memory") : st;
    for (size_t i = 0; i < s->V; i++) sl__subtab_mean(&s->tab, s->rows, s->dim, s->dim, (uint32_t)i, NULL, s->vecs->vecs + i * s->dim);
    return SL_OK;
}

/* A model with its settings and room for its rows. */
static sl_status subword_alloc(size_t V, size_t dim, int minn, int maxn, uint32_t bucket, bool lowercase,
                               sl_words_subword **out) {
    SL__TRY(check_settings("subword model", V, dim, minn, maxn, bucket));
    sl_words_subword *s = sl__calloc(1, sizeof *s);
    if (!s) return sl__fail(SL_ERR_NOMEM, "subword model: out of memory");
    *s = (sl_words_subword){.V = V, .dim = dim, .minn = minn, .maxn = maxn, .bucket = bucket, .lowercase = lowercase};
    size_t n;
    if (!sl_size_mul(V + bucket, dim, &n) || !(s->rows = sl__malloc_array(n, sizeof *s->rows, "subword model"))) {
        sl__free(s);
        return sl__fail(SL_ERR_NOMEM, "subword model: out of memory for %zu rows x %zu", V + bucket, dim);
    }
    *out = s;
    return SL_OK;
}

/* Row i of a model's rows: word rows first, then bucket rows. */
static const float *subrow(const sl__subrows *r, size_t V, size_t i) {
    return (r->word && i < V ? r->word : r->rows) + i * r->stride;
}

sl_status sl__subword_create(const char *const *words, const uint64_t *counts, size_t V, size_t dim, int minn, int maxn,
                             uint32_t bucket, bool lowercase, sl__subrows rows, sl_words_subword **out) {
    sl_words_subword *s = NULL;
    SL__TRY(subword_alloc(V, dim, minn, maxn, bucket, lowercase, &s));
    for (size_t i = 0; i < V + bucket; i++) memcpy(s->rows + i * dim, subrow(&rows, V, i), dim * sizeof *s->rows);
    sl_status st = finish(s, words, counts);
    if (st) {
        sl_words_subword_destroy(s);
        return st;
    }
    *out = s;
    return SL_OK;
}

sl_status sl_words_subword_create(const char *const *words, const uint64_t *counts, size_t V, size_t dim, int minn,
                                  int maxn, uint32_t bucket, bool lowercase, const float *rows,
                                  sl_words_subword **out) {
    return sl__subword_create(words, counts, V, dim, minn, maxn, bucket, lowercase, (sl__subrows){rows, NULL, dim},
                              out);
}

sl_wordvecs *sl__subword_take_vecs(sl_words_subword *s) {
    sl_wordvecs *w = s->vecs;
    sl__wlookup_free(&s->look);
    s->vecs = NULL;
    return w;
}

const sl_wordvecs *sl_words_subword_vecs(const sl_words_subword *s) { return s->vecs; }
bool sl__subword_sentence(const sl_words_subword *s) { return s->maxn == 0; }
const float *sl__subword_bigram(const sl_words_subword *s, uint32_t a, uint32_t b) {
    return s->rows + (s->V + sl__bigram_bucket(a, b, s->bucket)) * s->dim;
}
const uint64_t *sl_words_subword_counts(const sl_words_subword *s) { return s->counts; }
void sl_words_subword_settings(const sl_words_subword *s, int *minn, int *maxn, uint32_t *bucket, bool *lowercase) {
    if (minn) *minn = s->minn;
    if (maxn) *maxn = s->maxn;
    if (bucket) *bucket = s->bucket;
    if (lowercase) *lowercase = s->lowercase;
}

size_t sl_words_subword_vector(const sl_words_subword *s, const char *word, float *out, long *row) {
    long r = sl__wlookup_find(&s->look, word);
    if (row) *row = r;
    if (r >= 0) {
        memcpy(out, s->vecs->vecs + (size_t)r * s->dim, s->dim * sizeof *out);
        return 0;
    }
    char w[SL_WORDS_MAX_WORD + 1];
    size_t len = sl__word_cut(word, strlen(word));
    memcpy(w, word, len);
    for (size_t i = 0; s->lowercase && i < len; i++)
        if (w[i] >= 'A' && w[i] <= 'Z') w[i] = (char)(w[i] + 32);
    uint32_t ids[(SL_WORDS_MAX_WORD + 2) * SL_WORDS_MAX_NGRAM]; /* sl__ngram_cap's most */
    size_t n = sl__subwords(w, len, s->minn, s->maxn, s->bucket, ids, NULL, NULL, sizeof ids / sizeof *ids);
    for (size_t c = 0; c < s->dim; c++) { /* in double, as sl__subtab_mean */
        double acc = 0;
        for (size_t k = 0; k < n; k++) acc += s->rows[((size_t)s->V + ids[k]) * s->dim + c];
        out[c] = n ? (float)(acc / (double)n) : 0.0f;
    }
    return n;
}

/* ---- the .slsw file ----------------------------------------------------------------
 * magic "SLSUBWD\n", u32 version 1, u32 flags (bit 0: lowercase), u32 dim,
 * minn, maxn, bucket, u64 V; V x (u32 length, bytes, u64 count); zero bytes
 * to a multiple of 4; (V + bucket) x dim float32 rows (words first); u64
 * FNV-1a 64 of every byte before it. Little-endian. */
/* The file from its parts: words (V, with counts) and rows of `stride`
 * floats, of which dim are written. */
sl_status sl__subword_write(const char *path, const char *const *words, const uint64_t *counts, size_t V, size_t dim,
                            int minn, int maxn, uint32_t bucket, bool lowercase, sl__subrows rows) {
    sl__iwriter w;
    SL__TRY(sl__iwriter_open(&w, path));
    uint32_t h[6] = {SLSW_VERSION, lowercase ? 1u : 0u, (uint32_t)dim, (uint32_t)minn, (uint32_t)maxn, bucket};
    uint64_t nv = V, pos = 8 + sizeof h + 8;
    sl__iwriter_put(&w, SLSW_MAGIC, 8);
    sl__iwriter_put(&w, h, sizeof h);
    sl__iwriter_put(&w, &nv, 8);
    for (size_t i = 0; i < V; i++) {
        uint32_t len = (uint32_t)strlen(words[i]);
        uint64_t count = counts ? counts[i] : 0;
        sl__iwriter_put(&w, &len, 4);
        sl__iwriter_put(&w, words[i], len);
        sl__iwriter_put(&w, &count, 8);
        pos += 12 + len;
    }
    static const char zero[4] = {0};
    sl__iwriter_put(&w, zero, (4 - pos % 4) % 4);
    for (size_t i = 0; i < V + bucket; i++) sl__iwriter_put(&w, subrow(&rows, V, i), dim * sizeof(float));
    sl_status st = sl__iwriter_close(&w);
    return st ? sl__fail_prefix(st, "%s: ", path) : SL_OK;
}

sl_status sl_words_subword_save(const sl_words_subword *s, const char *path) {
    return sl__subword_write(path, (const char *const *)s->vecs->words, s->counts, s->V, s->dim, s->minn, s->maxn,
                             s->bucket, s->lowercase, (sl__subrows){s->rows, NULL, s->dim});
}

bool sl_words_subword_file(const char *path) {
    FILE *f = fopen(path, "rb");
    char m[8];
    bool yes = f && fread(m, 1, 8, f) == 8 && memcmp(m, SLSW_MAGIC, 8) == 0;
    if (f) fclose(f);
    return yes;
}

/* The header: magic, version, checksum, settings (checked), V. */
static sl_status read_header(sl__reader *r, uint32_t h[6], uint64_t *V) {
    char m[8] = {0};
    SL__TRY(sl__reader_get(r, m, 8, "the magic"));
    if (memcmp(m, SLSW_MAGIC, 8) != 0)
        return sl__fail(SL_ERR_FORMAT, "%s: byte 0: not a simlearn subword model (wrong magic)", r->path);
    SL__TRY(sl__reader_get(r, h, 4, "the version"));
    if (h[0] != SLSW_VERSION)
        return sl__fail(SL_ERR_FORMAT, "%s: byte 8: format version %u, this build reads version %u", r->path, h[0],
                        SLSW_VERSION);
    SL__TRY(sl__reader_checksum(r));
    SL__TRY(sl__reader_get(r, h + 1, 20, "the settings"));
    SL__TRY(sl__reader_get(r, V, 8, "the vocabulary size"));
    if (h[1] > 1) return sl__fail(SL_ERR_FORMAT, "%s: byte 12: flags %u, expected 0 or 1", r->path, h[1]);
    if (*V > r->n / 12 || h[2] > 10000 || h[3] > SL_WORDS_MAX_NGRAM || h[4] > SL_WORDS_MAX_NGRAM || h[5] > INT32_MAX)
        return sl__fail(SL_ERR_FORMAT, "%s: byte 12: impossible settings (dim %u, minn %u, maxn %u, bucket %u, %llu words)",
                        r->path, h[2], h[3], h[4], h[5], (unsigned long long)*V);
    sl_status st = check_settings("subword model", (size_t)*V, h[2], (int)h[3], (int)h[4], h[5]);
    return st ? sl__fail(SL_ERR_FORMAT, "%s: byte 12: %s", r->path, sl_error_message()) : SL_OK;
}

/* The vocabulary: words[i] allocated here, counts. */
static sl_status read_words(sl__reader *r, size_t V, char **words, uint64_t *counts) {
    for (size_t i = 0; i < V; i++) {
        uint32_t len = 0;
        size_t at = r->pos;
        SL__TRY(sl__reader_get(r, &len, 4, "the vocabulary"));
        if (len == 0 || len > SL_WORDS_MAX_WORD)
            return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: word %zu has length %u, expected 1..%d", r->path, at, i, len,
                            SL_WORDS_MAX_WORD);
        if (!(words[i] = sl__malloc(len + 1))) return sl__fail(SL_ERR_NOMEM, "%s: out of memory", r->path);
        SL__TRY(sl__reader_get(r, words[i], len, "the vocabulary"));
        words[i][len] = '\0';
        if (strlen(words[i]) != len)
            return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: word %zu holds a NUL byte", r->path, at + 4, i);
        SL__TRY(sl__reader_get(r, &counts[i], 8, "the vocabulary"));
    }
    return SL_OK;
}

/* The padding, the rows (finite, exactly filling the rest of the file). */
static sl_status read_rows(sl__reader *r, sl_words_subword *s) {
    size_t pad = (4 - r->pos % 4) % 4;
    char z[4] = {0};
    SL__TRY(sl__reader_get(r, z, pad, "the padding"));
    size_t bytes = (s->V + s->bucket) * s->dim * sizeof(float);
    if (r->n - r->pos != bytes)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: %zu bytes of rows, expected %zu ((%zu words + %u buckets) x %zu x 4)",
                        r->path, r->pos, r->n - r->pos, bytes, s->V, s->bucket, s->dim);
    size_t at = r->pos;
    SL__TRY(sl__reader_get(r, s->rows, bytes, "the rows"));
    for (size_t i = 0; i < bytes / sizeof(float); i++)
        if (!isfinite(s->rows[i]))
            return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: row %zu holds a non-finite value", r->path,
                            at + i * sizeof(float), i / s->dim);
    return SL_OK;
}

sl_status sl_words_subword_load(const char *path, sl_words_subword **out) {
    unsigned char *buf;
    size_t size;
    SL__TRY(sl__file_read(path, "a simlearn subword model", &buf, &size));
    sl__reader r = {buf, size, 0, path};
    uint32_t h[6] = {0};
    uint64_t V = 0;
    sl_words_subword *s = NULL;
    char **words = NULL;
    uint64_t *counts = NULL;
    sl_status st = read_header(&r, h, &V);
    if (st == SL_OK) {
        words = sl__calloc((size_t)V, sizeof *words);
        counts = sl__calloc((size_t)V, sizeof *counts);
        if (!words || !counts) st = sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == SL_OK) st = read_words(&r, (size_t)V, words, counts);
    if (st == SL_OK) st = subword_alloc((size_t)V, h[2], (int)h[3], (int)h[4], h[5], h[1] != 0, &s);
    if (st == SL_OK) st = read_rows(&r, s);
    if (st == SL_OK && (st = finish(s, (const char *const *)words, counts)) != SL_OK && st != SL_ERR_NOMEM)
        st = sl__fail(SL_ERR_FORMAT, "%s: %s", path, sl_error_message());
    for (size_t i = 0; words && i < V; i++) sl__free(words[i]);
    sl__free(words);
    sl__free(counts);
    sl__free(buf);
    if (st) {
        sl_words_subword_destroy(s);
        return st;
    }
    *out = s;
    return SL_OK;
}

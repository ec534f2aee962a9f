/* The caption tokenizer of the CLIP text tower: lower-cased words (runs of
 * letters, digits and non-ASCII bytes), a vocabulary counted from the training
 * captions, and fixed-length id vectors with -1 padding for the embbag layer. */
#include "train/train_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define WORD_MAX 64

static bool word_byte(unsigned char c) { return isalnum(c) || c >= 128; }

/* Next word of *s into w (lower-cased, cut at WORD_MAX-1 bytes); false at the end. */
static bool next_word(const char **s, char *w) {
    const unsigned char *p = (const unsigned char *)*s;
    while (*p && !word_byte(*p)) p++;
    if (!*p) return false;
    size_t k = 0;
    while (*p && word_byte(*p)) {
        if (k < WORD_MAX - 1) w[k++] = (char)(*p < 128 ? tolower(*p) : *p);
        p++;
    }
    w[k] = 0;
    *s = (const char *)p;
    return true;
}

typedef struct {
    char *word;
    size_t count;
} entry;

typedef struct {
    entry *e;
    size_t cap, n;
} table;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static sl_status table_add(table *t, const char *w) {
    if (2 * (t->n + 1) > t->cap) {
        size_t nc = t->cap ? 2 * t->cap : 1024;
        entry *ne = sl__calloc(nc, sizeof *ne);
        if (!ne) return sl__fail(SL_ERR_NOMEM, "tokenizer: out of memory");
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->e[i].word) continue;
            size_t j = hash_str(t->e[i].word) & (nc - 1);
            while (ne[j].word) j = (j + 1) & (nc - 1);
            ne[j] = t->e[i];
        }
        sl__free(t->e);
        t->e = ne;
        t->cap = nc;
    }
    size_t j = hash_str(w) & (t->cap - 1);
    while (t->e[j].word && strcmp(t->e[j].word, w) != 0) j = (j + 1) & (t->cap - 1);
    if (!t->e[j].word) {
        t->e[j].word = sl__strdup(w);
        if (!t->e[j].word) return sl__fail(SL_ERR_NOMEM, "tokenizer: out of memory");
        t->n++;
    }
    t->e[j].count++;
    return SL_OK;
}

static int by_count(const void *a, const void *b) {
    const entry *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->word, y->word);
}

static int by_word_ids(const void *a, const void *b, void *ctx) {
    const sl__vocab *v = ctx;
    return strcmp(v->words[*(const size_t *)a], v->words[*(const size_t *)b]);
}

/* Build the lookup order once the word list is final. */
static sl_status finish(sl__vocab *v) {
    v->sorted = sl__malloc_array(v->n, sizeof(size_t), "vocabulary index");
    if (!v->sorted) return SL_ERR_NOMEM;
    for (size_t i = 0; i < v->n; i++) v->sorted[i] = i;
    qsort_r(v->sorted, v->n, sizeof(size_t), by_word_ids, v);
    return SL_OK;
}

void sl__vocab_destroy(sl__vocab *v) {
    if (!v) return;
    for (size_t i = 0; v->words && i < v->n; i++) sl__free(v->words[i]);
    sl__free(v->words);
    sl__free(v->sorted);
    sl__free(v);
}

sl_status sl__vocab_build(const sl_dataset *d, size_t max_tokens, sl__vocab **out) {
    if (!sl_data_has_captions(d)) return sl__fail(SL_ERR_ARG, "tokenizer: %s has no captions", sl_data_name(d));
    table t = {0};
    sl_status s = SL_OK;
    char cap[SL_CAPTION_MAX], w[WORD_MAX];
    size_t longest = 1;
    for (size_t i = 0; !s && i < sl_data_count(d); i++) {
        s = sl_data_get(d, i, NULL, NULL, cap);
        const char *p = cap;
        size_t k = 0;
        while (!s && next_word(&p, w)) {
            s = table_add(&t, w);
            k++;
        }
        if (k > longest) longest = k;
    }
    sl__vocab *v = NULL;
    if (!s) {
        v = sl__calloc(1, sizeof *v);
        if (!v) s = sl__fail(SL_ERR_NOMEM, "tokenizer: out of memory");
    }
    if (!s) {
        entry *list = sl__malloc_array(t.n ? t.n : 1, sizeof *list, "vocabulary");
        v->words = sl__calloc(t.n + 1, sizeof(char *));
        if (!list || !v->words) s = SL_ERR_NOMEM;
        if (!s) {
            size_t k = 0;
            for (size_t i = 0; i < t.cap; i++)
                if (t.e[i].word) list[k++] = t.e[i];
            qsort(list, t.n, sizeof *list, by_count);
            v->words[0] = sl__strdup("<unk>");
            v->n = 1;
            if (!v->words[0]) s = SL_ERR_NOMEM;
            for (size_t i = 0; !s && i < t.n; i++) {
                v->words[v->n++] = list[i].word;
                list[i].word = NULL;
            }
            /* Entries moved into the vocabulary are no longer owned by the table. */
            for (size_t i = 0; i < t.cap; i++) t.e[i].word = NULL;
            for (size_t i = 0; i < t.n; i++) sl__free(list[i].word);
        }
        sl__free(list);
        v->max_tokens = max_tokens ? max_tokens : SL__MAX(SL__MIN(longest, (size_t)32), (size_t)1);
        if (!s) s = finish(v);
    }
    for (size_t i = 0; i < t.cap; i++) sl__free(t.e[i].word);
    sl__free(t.e);
    if (s) {
        sl__vocab_destroy(v);
        return s == SL_ERR_NOMEM ? sl__fail(s, "tokenizer: out of memory") : s;
    }
    *out = v;
    return SL_OK;
}

/* Word i of a parsed list is what the tokenizer makes: "<unk>" first, then
 * non-empty lower-case words of word bytes, shorter than WORD_MAX. */
static sl_status check_word(const char *w, size_t i) {
    if (i == 0) return strcmp(w, "<unk>") == 0 ? SL_OK : sl__fail(SL_ERR_FORMAT, "the first word is not <unk>");
    size_t len = strlen(w);
    bool ok = len > 0 && len < WORD_MAX;
    for (const unsigned char *p = (const unsigned char *)w; ok && *p; p++) ok = word_byte(*p) && !isupper(*p);
    return ok ? SL_OK : sl__fail(SL_ERR_FORMAT, "word %zu is not a lower-case word of at most %d bytes", i, WORD_MAX - 1);
}

sl_status sl__vocab_parse(const char *joined, size_t max_tokens, sl__vocab **out) {
    if (!joined || !*joined) return sl__fail(SL_ERR_FORMAT, "empty text vocabulary");
    if (max_tokens == 0 || max_tokens > SL__MAX_TOKENS)
        return sl__fail(SL_ERR_FORMAT, "%zu tokens per caption is out of range (1..%d)", max_tokens, SL__MAX_TOKENS);
    size_t n = 1;
    for (const char *p = joined; *p; p++) n += *p == '\n';
    sl__vocab *v = sl__calloc(1, sizeof *v);
    if (!v || !(v->words = sl__calloc(n, sizeof(char *)))) {
        sl__free(v);
        return sl__fail(SL_ERR_NOMEM, "tokenizer: out of memory");
    }
    v->max_tokens = max_tokens;
    const char *p = joined;
    for (size_t i = 0; i < n; i++) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        v->words[i] = sl__malloc(len + 1);
        if (!v->words[i]) {
            v->n = i;
            sl__vocab_destroy(v);
            return sl__fail(SL_ERR_NOMEM, "tokenizer: out of memory");
        }
        memcpy(v->words[i], p, len);
        v->words[i][len] = 0;
        p = e ? e + 1 : p + len;
        sl_status s = check_word(v->words[i], i);
        if (s) {
            v->n = i + 1;
            sl__vocab_destroy(v);
            return s;
        }
    }
    v->n = n;
    if (finish(v)) {
        sl__vocab_destroy(v);
        return sl__fail(SL_ERR_NOMEM, "tokenizer: out of memory");
    }
    for (size_t i = 1; i < n; i++)
        if (strcmp(v->words[v->sorted[i - 1]], v->words[v->sorted[i]]) == 0) {
            sl_status s = sl__fail(SL_ERR_FORMAT, "word %zu '%s' appears twice", SL__MAX(v->sorted[i - 1], v->sorted[i]),
                                   v->words[v->sorted[i]]);
            sl__vocab_destroy(v);
            return s;
        }
    *out = v;
    return SL_OK;
}

sl_status sl__vocab_from(const sl_tensors *ck, sl__vocab **out) {
    const char *joined = NULL;
    uint64_t mt = 0;
    SL__TRY(sl__meta_str(ck, "text.vocab", "the caption vocabulary, one word a line", SL__META_REQUIRED, &joined));
    SL__TRY(sl__meta_uint(ck, "text.max_tokens", 1, SL__MAX_TOKENS, SL__META_REQUIRED, &mt));
    sl_status s = sl__vocab_parse(joined, (size_t)mt, out);
    if (s) return sl__fail_prefix(s, "%s: metadata 'text.vocab'", sl__tensors_where(ck));
    return SL_OK;
}

char *sl__vocab_join(const sl__vocab *v) {
    size_t len = 1;
    for (size_t i = 0; i < v->n; i++) len += strlen(v->words[i]) + 1;
    char *s = sl__malloc(len), *p = s;
    if (!s) return NULL;
    for (size_t i = 0; i < v->n; i++) {
        size_t k = strlen(v->words[i]);
        memcpy(p, v->words[i], k);
        p += k;
        *p++ = i + 1 < v->n ? '\n' : 0;
    }
    if (v->n == 0) *p = 0;
    return s;
}

static size_t lookup(const sl__vocab *v, const char *w) {
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(v->words[v->sorted[mid]], w);
        if (c == 0) return v->sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

void sl__vocab_encode(const sl__vocab *v, const char *text, float *ids) {
    char w[WORD_MAX];
    size_t k = 0;
    const char *p = text;
    while (k < v->max_tokens && next_word(&p, w)) ids[k++] = (float)lookup(v, w);
    for (; k < v->max_tokens; k++) ids[k] = -1.0f;
}

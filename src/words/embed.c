/* Sentence and document vectors from word vectors: the plain average and
 * SIF (the smooth-inverse-frequency weighted average with the first
 * principal component removed, Arora, Liang & Ma 2017), and the word counts
 * SIF reads. */
#include "words/words_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void sl_words_embed_config_default(sl_words_embed_config *c) {
    memset(c, 0, sizeof *c);
    c->method = SL_WORDS_AVG;
    c->sif_a = 1e-3;
}

static inline bool is_sep(unsigned char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Copy a word of n bytes into buf (SL_WORDS_MAX_WORD + 1 bytes), cut as the
 * corpus reader cuts a long word: never half a UTF-8 character. */
static void word_copy(char *buf, const char *p, size_t n) {
    size_t k = n;
    if (n > SL_WORDS_MAX_WORD) {
        unsigned char next = (unsigned char)p[SL_WORDS_MAX_WORD];
        k = SL_WORDS_MAX_WORD;
        if ((next & 0xC0) == 0x80)
            while (k > 0 && ((unsigned char)p[k - 1] & 0xC0) == 0x80) k--;
        if (k > 0 && ((unsigned char)p[k - 1] & 0xC0) == 0xC0 && (next & 0xC0) == 0x80) k--;
    }
    memcpy(buf, p, k);
    buf[k] = '\0';
}

/* One line's weighted mean into row (d floats); acc is d doubles of
 * scratch. With a sentence model (may be NULL) the mean also takes the rows
 * of the line's bigrams of known words. Returns the number of known words. */
static uint64_t embed_line(const sl__wlookup *L, const float *weight, const sl_words_subword *sent, const char *line,
                           float *row, double *acc, sl_words_embed_stats *st) {
    const sl_wordvecs *w = L->w;
    size_t d = w->dim;
    char buf[SL_WORDS_MAX_WORD + 1];
    uint64_t known = 0, bigrams = 0;
    long prev = -1;
    memset(acc, 0, d * sizeof *acc);
    for (const char *p = line; *p;) {
        while (*p && is_sep((unsigned char)*p)) p++;
        const char *s = p;
        while (*p && !is_sep((unsigned char)*p)) p++;
        if (p == s) break;
        word_copy(buf, s, (size_t)(p - s));
        st->words++;
        long r = sl__wlookup_find(L, buf);
        if (r < 0) continue;
        known++;
        const float *v = w->vecs + (size_t)r * d;
        double wt = weight ? weight[r] : 1.0;
        for (size_t j = 0; j < d; j++) acc[j] += wt * v[j];
        if (sent && prev >= 0) {
            const float *g = sl__subword_bigram(sent, (uint32_t)prev, (uint32_t)r);
            for (size_t j = 0; j < d; j++) acc[j] += g[j];
            bigrams++;
        }
        prev = r;
    }
    st->known += known;
    for (size_t j = 0; j < d; j++) row[j] = known ? (float)(acc[j] / (double)(known + bigrams)) : 0.0f;
    return known;
}

/* The top eigenvector of the second-moment matrix (1/n) Σ x xᵀ of the n
 * rows of x: the covariance plus the outer product of the mean. */
static sl_status top_direction(const float *x, size_t n, size_t d, float *u) {
    size_t dd;
    if (!sl_size_mul(d, d, &dd)) return sl__fail(SL_ERR_RANGE, "SIF: width %zu is too large", d);
    double *mean = sl__malloc_array(d, sizeof *mean, "SIF component");
    double *m = sl__malloc_array(dd, sizeof *m, "SIF component");
    double *vec = sl__malloc_array(dd, sizeof *vec, "SIF component");
    double *eig = sl__malloc_array(d, sizeof *eig, "SIF component");
    sl_status s = mean && m && vec && eig ? SL_OK : SL_ERR_NOMEM;
    if (!s) s = sl_covariance(x, n, d, 0, mean, m);
    if (!s) {
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++) m[i * d + j] += mean[i] * mean[j];
        s = sl_eigh(m, d, eig, vec);
    }
    if (!s && !(eig[0] > 0))
        s = sl__fail(SL_ERR_ARG, "SIF: every line's vector is zero, so there is no principal component to remove");
    if (!s)
        for (size_t j = 0; j < d; j++) u[j] = (float)vec[j];
    sl__free(mean);
    sl__free(m);
    sl__free(vec);
    sl__free(eig);
    return s;
}

/* x <- x - (u·x) u for every row (u a unit vector, in double). */
static void remove_direction(float *x, size_t n, size_t d, const double *u) {
    for (size_t i = 0; i < n; i++) {
        float *r = x + i * d;
        double dot = 0;
        for (size_t j = 0; j < d; j++) dot += u[j] * r[j];
        for (size_t j = 0; j < d; j++) r[j] = (float)(r[j] - dot * u[j]);
    }
}

/* SIF's removal: the given component (normalised) or the set's own. */
static sl_status sif_remove(const sl_words_embed_config *cfg, float *out, size_t n, size_t d, size_t nonempty,
                            float *component) {
    double *u = sl__malloc_array(d, sizeof *u, "SIF component");
    float *f = sl__malloc_array(d, sizeof *f, "SIF component");
    sl_status s = u && f ? SL_OK : SL_ERR_NOMEM;
    if (!s && cfg->component) {
        memcpy(f, cfg->component, d * sizeof *f);
    } else if (!s) {
        s = nonempty ? top_direction(out, n, d, f)
                     : sl__fail(SL_ERR_ARG, "SIF: no line has a known word, so there is no principal component "
                                            "to compute (give one computed on another set)");
    }
    double norm = 0;
    if (!s) {
        for (size_t j = 0; j < d; j++) norm += (double)f[j] * f[j];
        norm = sqrt(norm);
        if (!(norm > 0) || !isfinite(norm)) s = sl__fail(SL_ERR_ARG, "SIF: the component to remove has norm %g", norm);
    }
    if (!s) {
        for (size_t j = 0; j < d; j++) u[j] = f[j] / norm;
        remove_direction(out, n, d, u);
        if (component)
            for (size_t j = 0; j < d; j++) component[j] = (float)u[j];
    }
    sl__free(u);
    sl__free(f);
    return s;
}

/* The weight of every row (SIF), after checking the settings. */
static sl_status sif_weights(const sl_wordvecs *w, const sl_words_embed_config *cfg, float **out) {
    if (!(cfg->sif_a > 0) || !isfinite(cfg->sif_a))
        return sl__fail(SL_ERR_ARG, "SIF: a must be a positive number, got %g", cfg->sif_a);
    if (!cfg->counts || cfg->total == 0)
        return sl__fail(SL_ERR_ARG, "SIF needs word counts (the unigram probabilities p(w)): %s",
                        cfg->counts ? "their total is 0" : "none were given");
    float *wt = sl__malloc_array(w->n ? w->n : 1, sizeof *wt, "SIF weights");
    if (!wt) return SL_ERR_NOMEM;
    for (size_t i = 0; i < w->n; i++)
        wt[i] = (float)(cfg->sif_a / (cfg->sif_a + (double)cfg->counts[i] / (double)cfg->total));
    *out = wt;
    return SL_OK;
}

sl_status sl_words_embed(const sl_wordvecs *w, const sl_words_embed_config *cfg, const char *const *lines, size_t n,
                         float *out, float *component, sl_words_embed_stats *stats) {
    sl_words_embed_config def;
    if (!cfg) {
        sl_words_embed_config_default(&def);
        cfg = &def;
    }
    if (cfg->method != SL_WORDS_AVG && cfg->method != SL_WORDS_SIF && cfg->method != SL_WORDS_MODEL_MEAN)
        return sl__fail(SL_ERR_ARG, "embedding lines: unknown method %d", (int)cfg->method);
    const sl_words_subword *sent = cfg->method == SL_WORDS_MODEL_MEAN ? cfg->model : NULL;
    if (cfg->method == SL_WORDS_MODEL_MEAN && !(sent && sl__subword_sentence(sent)))
        return sl__fail(SL_ERR_ARG, "sent2vec: %s", sent ? "the model is a subword model, not a sentence model "
                                                           "(train with the sent2vec architecture)"
                                                         : "no sentence model was given");
    if (sent && w != sl_words_subword_vecs(sent))
        return sl__fail(SL_ERR_ARG, "sent2vec: the word vectors must be the sentence model's own");
    if (w->dim == 0) return sl__fail(SL_ERR_ARG, "embedding lines: the word vectors have width 0");
    float *weight = NULL;
    if (cfg->method == SL_WORDS_SIF) SL__TRY(sif_weights(w, cfg, &weight));
    sl__wlookup L;
    sl_status s = sl__wlookup_build(&L, w, w->n, true);
    double *acc = s ? NULL : sl__malloc_array(w->dim, sizeof *acc, "line embedding");
    if (!s && !acc) s = SL_ERR_NOMEM;
    sl_words_embed_stats st = {0};
    for (size_t i = 0; !s && i < n; i++)
        if (embed_line(&L, weight, sent, lines[i], out + i * w->dim, acc, &st) == 0) st.empty++;
    st.lines = n;
    if (!s && cfg->method == SL_WORDS_SIF) s = sif_remove(cfg, out, n, w->dim, n - st.empty, component);
    if (!s && stats) *stats = st;
    sl__free(acc);
    sl__free(weight);
    sl__wlookup_free(&L);
    return s;
}

/* ---- files --------------------------------------------------------------------*/
/* A whole file into *buf (NUL-terminated, NUL bytes inside turned into
 * spaces) of *len bytes. */
static sl_status slurp(const char *path, char **buf, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return sl__fail(SL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = sl__malloc(cap);
    sl_status s = b ? SL_OK : sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
    while (!s) {
        if (n + 1 >= cap) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : sl__realloc(b, cap * 2);
            if (!nb) {
                s = sl__fail(SL_ERR_NOMEM, "%s: out of memory after %zu bytes", path, n);
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) s = sl__fail(SL_ERR_IO, "%s: read error at byte %zu", path, n);
            break;
        }
    }
    fclose(f);
    if (s) {
        sl__free(b);
        return s;
    }
    for (size_t i = 0; i < n; i++)
        if (b[i] == '\0') b[i] = ' ';
    b[n] = '\0';
    *buf = b;
    *len = n;
    return SL_OK;
}

/* Cut buf (len bytes) into lines at '\n' in place: *lines (*n pointers). */
static sl_status split_lines(char *buf, size_t len, char ***lines, size_t *n) {
    size_t count = 0;
    for (size_t i = 0; i < len; i++) count += buf[i] == '\n';
    if (len > 0 && buf[len - 1] != '\n') count++;
    char **l = sl__malloc_array(count ? count : 1, sizeof *l, "lines");
    if (!l) return SL_ERR_NOMEM;
    size_t k = 0;
    for (char *p = buf; k < count; k++) {
        l[k] = p;
        char *e = strchr(p, '\n');
        if (!e) break;
        *e = '\0';
        p = e + 1;
    }
    *lines = l;
    *n = count;
    return SL_OK;
}

sl_status sl_words_embed_file(const sl_wordvecs *w, const sl_words_embed_config *cfg, const char *path, float **out,
                              size_t *n, float *component, sl_words_embed_stats *stats) {
    char *buf = NULL, **lines = NULL;
    size_t len = 0, nl = 0, rows;
    SL__TRY(slurp(path, &buf, &len));
    sl_status s = split_lines(buf, len, &lines, &nl);
    float *x = NULL;
    if (!s && !sl_size_mul(nl, w->dim, &rows)) s = sl__fail(SL_ERR_RANGE, "%s: %zu lines are too many", path, nl);
    if (!s) {
        x = sl__malloc_array(rows ? rows : 1, sizeof *x, "line vectors");
        if (!x) s = SL_ERR_NOMEM;
    }
    if (!s) s = sl_words_embed(w, cfg, (const char *const *)lines, nl, x, component, stats);
    if (s && s != SL_ERR_NOMEM) sl__fail_prefix(s, "%s", path);
    sl__free(lines);
    sl__free(buf);
    if (s) {
        sl__free(x);
        return s;
    }
    *out = x;
    *n = nl;
    return SL_OK;
}

/* One "word count" line (p, NUL-terminated) into its word and count. */
static bool parse_count_line(char *p, char **word, uint64_t *count) {
    char *save = NULL, *t1 = strtok_r(p, " \t\r\v\f", &save), *t2 = strtok_r(NULL, " \t\r\v\f", &save);
    if (!t1 || !t2 || strtok_r(NULL, " \t\r\v\f", &save)) return false;
    for (const char *q = t2; *q; q++)
        if (*q < '0' || *q > '9') return false;
    errno = 0;
    unsigned long long v = strtoull(t2, NULL, 10);
    if (errno == ERANGE) return false;
    *word = t1;
    *count = (uint64_t)v;
    return true;
}

static bool blank(const char *p) {
    for (; *p; p++)
        if (!is_sep((unsigned char)*p)) return false;
    return true;
}

sl_status sl_words_counts_read(const sl_wordvecs *w, const char *path, uint64_t **counts, uint64_t *total) {
    char *buf = NULL, **lines = NULL;
    size_t len = 0, nl = 0;
    SL__TRY(slurp(path, &buf, &len));
    sl__wlookup L = {0};
    uint64_t *c = NULL, sum = 0;
    sl_status s = split_lines(buf, len, &lines, &nl);
    if (!s) s = sl__wlookup_build(&L, w, w->n, true);
    size_t *line_of = NULL; /* 1 + the line that gave each row its count */
    if (!s) {
        c = sl__calloc(w->n ? w->n : 1, sizeof *c);
        line_of = sl__calloc(w->n ? w->n : 1, sizeof *line_of);
        if (!c || !line_of) s = sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
    }
    for (size_t i = 0; !s && i < nl; i++) {
        if (blank(lines[i])) continue;
        char *word;
        uint64_t v;
        if (!parse_count_line(lines[i], &word, &v)) {
            s = sl__fail(SL_ERR_FORMAT, "%s: line %zu: expected \"word count\" (a word and a non-negative integer)",
                         path, i + 1);
            break;
        }
        if (sum + v < sum) {
            s = sl__fail(SL_ERR_FORMAT, "%s: line %zu: the counts add up to more than 2^64", path, i + 1);
            break;
        }
        sum += v;
        long r = sl__wlookup_exact(&L, word);
        if (r < 0) continue;
        if (line_of[r]) {
            s = sl__fail(SL_ERR_FORMAT, "%s: line %zu: the word \"%s\" is listed twice (first on line %zu)", path,
                         i + 1, word, line_of[r]);
            break;
        }
        line_of[r] = i + 1;
        c[r] = v;
    }
    sl__free(line_of);
    sl__wlookup_free(&L);
    sl__free(lines);
    sl__free(buf);
    if (s) {
        sl__free(c);
        return s;
    }
    *counts = c;
    *total = sum;
    return SL_OK;
}

sl_status sl_words_counts_load(const sl_wordvecs *w, const char *vectors, uint64_t **counts, uint64_t *total) {
    size_t n = strlen(vectors);
    if (!(n >= 4 && strcmp(vectors + n - 4, ".npy") == 0))
        return sl__fail(SL_ERR_NOTFOUND, "%s is a word2vec or fastText file, which holds no word counts", vectors);
    char *vp = sl__words_vocab_path(vectors);
    if (!vp) return sl__fail(SL_ERR_NOMEM, "%s: out of memory", vectors);
    sl_status s = sl_words_counts_read(w, vp, counts, total);
    sl__free(vp);
    return s;
}

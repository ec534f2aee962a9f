/* Getting vectors out of a trained model: plain word vectors (senses merged
 * by their priors), multi-sense files in word2vec format with "WORD#z|P" row
 * names, and the reader that groups such rows back into words and senses. */
#include "words/words_internal.h"

#include <stdlib.h>
#include <string.h>

static sl_status fill_row_name(char **dst, const char *word, int z, int k, float prior) {
    char buf[SL_WORDS_MAX_WORD + 48];
    if (k == 1)
        snprintf(buf, sizeof buf, "%s", word);
    else
        snprintf(buf, sizeof buf, "%s#%d|%.6g", word, z + 1, (double)prior);
    *dst = sl__strdup(buf);
    return *dst ? SL_OK : sl__fail(SL_ERR_NOMEM, "word vectors: out of memory");
}

sl_status sl_words_model_export(const sl_words_model *m, sl_wordvecs **out) {
    const sl_vocab *v = sl_words_model_vocab(m);
    size_t V = sl_vocab_size(v), d = (size_t)sl_words_model_dim(m);
    sl_wordvecs *w;
    SL__TRY(sl_wordvecs_create(V, d, &w));
    if (!w->words) w->words = sl__calloc(V ? V : 1, sizeof *w->words);
    if (!w->words) {
        sl_wordvecs_destroy(w);
        return sl__fail(SL_ERR_NOMEM, "word vectors: out of memory");
    }
    float prior[64];
    for (size_t i = 0; i < V; i++) {
        w->words[i] = sl__strdup(sl_vocab_word(v, i));
        if (!w->words[i]) {
            sl_wordvecs_destroy(w);
            return sl__fail(SL_ERR_NOMEM, "word vectors: out of memory");
        }
        float *dst = w->vecs + i * d;
        if (sl__words_model_compose(m, i, dst)) continue; /* subwords: the mean of its rows */
        size_t first;
        int k;
        sl_words_model_senses(m, i, &first, &k, prior);
        for (int z = 0; z < k; z++) {
            const float *src = sl_words_model_row(m, first + (size_t)z);
            for (size_t c = 0; c < d; c++) dst[c] += (k == 1 ? 1.0f : prior[z]) * src[c];
        }
        float cw = sl__words_context_weight(m);
        if (cw != 0) {
            const float *o = sl_words_model_output_row(m, i);
            for (size_t c = 0; c < d; c++) dst[c] += cw * o[c];
        }
    }
    *out = w;
    return SL_OK;
}

sl_status sl_words_save(const sl_words_model *m, const char *path, sl_w2v_format fmt) {
    const sl_vocab *v = sl_words_model_vocab(m);
    size_t V = sl_vocab_size(v), d = (size_t)sl_words_model_dim(m), rows = sl_words_model_rows(m);
    if (rows == V) {
        sl_wordvecs *w;
        SL__TRY(sl_words_model_export(m, &w));
        sl_status s = sl_w2v_write(path, w, fmt == SL_W2V_AUTO ? SL_W2V_BINARY : fmt);
        sl_wordvecs_destroy(w);
        return s;
    }
    sl_wordvecs *w;
    SL__TRY(sl_wordvecs_create(rows, d, &w));
    if (!w->words) w->words = sl__calloc(rows ? rows : 1, sizeof *w->words);
    if (!w->words) {
        sl_wordvecs_destroy(w);
        return sl__fail(SL_ERR_NOMEM, "word vectors: out of memory");
    }
    float prior[64];
    sl_status s = SL_OK;
    for (size_t i = 0; i < V && s == SL_OK; i++) {
        size_t first;
        int k;
        sl_words_model_senses(m, i, &first, &k, prior);
        for (int z = 0; z < k && s == SL_OK; z++) {
            size_t r = first + (size_t)z;
            s = fill_row_name(&w->words[r], sl_vocab_word(v, i), z, k, prior[z]);
            memcpy(w->vecs + r * d, sl_words_model_row(m, r), d * sizeof(float));
        }
    }
    if (s == SL_OK) s = sl_w2v_write(path, w, fmt == SL_W2V_AUTO ? SL_W2V_BINARY : fmt);
    sl_wordvecs_destroy(w);
    return s;
}

/* ---- reading multi-sense files ---------------------------------------------------*/
void sl_senses_destroy(sl_senses *s) {
    if (!s) return;
    sl_wordvecs_destroy(s->vecs);
    if (s->word)
        for (size_t i = 0; i < s->nwords; i++) sl__free(s->word[i]);
    sl__free(s->word);
    sl__free(s->first);
    sl__free(s->k);
    sl__free(s->prior);
    sl__free(s);
}

/* Split "WORD#z|P" into its parts; false when the name has no sense suffix. */
static bool parse_sense(const char *name, size_t *base_len, long *z, double *prior) {
    const char *hash = strrchr(name, '#');
    if (!hash || hash == name) return false;
    const char *bar = strchr(hash, '|');
    if (!bar) return false;
    char *end;
    long zz = strtol(hash + 1, &end, 10);
    if (end != bar || end == hash + 1) return false;
    double p = strtod(bar + 1, &end);
    if (*end || end == bar + 1) return false;
    *base_len = (size_t)(hash - name);
    *z = zz;
    *prior = p;
    return true;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

sl_status sl_senses_read(const char *path, sl_senses **out) {
    sl_wordvecs *w;
    SL__TRY(sl_w2v_read(path, SL_W2V_AUTO, &w));
    sl_senses *s = sl__calloc(1, sizeof *s);
    size_t n = w->n;
    if (s) {
        s->vecs = w;
        s->word = sl__calloc(n ? n : 1, sizeof *s->word);
        s->first = sl__calloc(n ? n : 1, sizeof *s->first);
        s->k = sl__calloc(n ? n : 1, sizeof *s->k);
        s->prior = sl__calloc(n ? n : 1, sizeof *s->prior);
    }
    if (!s || !s->word || !s->first || !s->k || !s->prior) {
        if (s)
            sl_senses_destroy(s);
        else
            sl_wordvecs_destroy(w);
        return sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
    }
    sl_status st = SL_OK;
    for (size_t r = 0; r < n && st == SL_OK;) {
        size_t bl;
        long z;
        double p;
        if (!parse_sense(w->words[r], &bl, &z, &p)) {
            s->word[s->nwords] = sl__strdup(w->words[r]);
            if (!s->word[s->nwords]) st = sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
            s->first[s->nwords] = r;
            s->k[s->nwords] = 1;
            s->prior[r] = 1.0f;
            s->nwords++;
            r++;
            continue;
        }
        /* A run of rows "WORD#1|p", "WORD#2|p", ... */
        size_t r0 = r;
        double sum = 0;
        for (;; r++) {
            size_t bl2;
            long z2;
            double p2;
            bool more = r < n && parse_sense(w->words[r], &bl2, &z2, &p2) && bl2 == bl &&
                        strncmp(w->words[r], w->words[r0], bl) == 0;
            if (!more) break;
            if (z2 != (long)(r - r0 + 1) || !(p2 >= 0 && p2 <= 1) || r - r0 >= 64) {
                st = sl__fail(SL_ERR_FORMAT, "%s: row %zu (\"%s\"): expected sense %zu of \"%.*s\" with a prior in [0,1]",
                              path, r + 1, w->words[r], r - r0 + 1, (int)bl, w->words[r0]);
                break;
            }
            s->prior[r] = (float)p2;
            sum += p2;
        }
        if (st != SL_OK) break;
        if (z != 1) {
            st = sl__fail(SL_ERR_FORMAT, "%s: row %zu (\"%s\"): senses must be numbered from 1", path, r0 + 1,
                          w->words[r0]);
            break;
        }
        if (!(sum > 0.98 && sum < 1.02)) {
            st = sl__fail(SL_ERR_FORMAT, "%s: row %zu: the priors of \"%.*s\" add up to %g, expected 1", path, r0 + 1,
                          (int)bl, w->words[r0], sum);
            break;
        }
        char *base = sl__malloc(bl + 1);
        if (!base) {
            st = sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        memcpy(base, w->words[r0], bl);
        base[bl] = '\0';
        s->word[s->nwords] = base;
        s->first[s->nwords] = r0;
        s->k[s->nwords] = (int)(r - r0);
        s->nwords++;
    }
    /* Every word must appear once. */
    if (st == SL_OK && s->nwords > 1) {
        char **sorted = sl__malloc_array(s->nwords, sizeof *sorted, "senses");
        if (!sorted) {
            st = SL_ERR_NOMEM;
        } else {
            memcpy(sorted, s->word, s->nwords * sizeof *sorted);
            qsort(sorted, s->nwords, sizeof *sorted, cmp_str);
            for (size_t i = 1; i < s->nwords && st == SL_OK; i++)
                if (strcmp(sorted[i], sorted[i - 1]) == 0)
                    st = sl__fail(SL_ERR_FORMAT, "%s: word \"%s\" appears twice (the senses of a word must be consecutive rows)",
                                  path, sorted[i]);
            sl__free(sorted);
        }
    }
    if (st != SL_OK) {
        sl_senses_destroy(s);
        return st;
    }
    *out = s;
    return SL_OK;
}

long sl_senses_find(const sl_senses *s, const char *word) {
    for (size_t i = 0; i < s->nwords; i++)
        if (strcmp(s->word[i], word) == 0) return (long)i;
    return -1;
}

/* ---- .npy + vocabulary ------------------------------------------------------------*/
char *sl__words_vocab_path(const char *npy) {
    size_t n = strlen(npy);
    size_t base = n >= 4 && strcmp(npy + n - 4, ".npy") == 0 ? n - 4 : n;
    char *p = sl__malloc(base + 7);
    if (!p) return NULL;
    memcpy(p, npy, base);
    memcpy(p + base, ".vocab", 7);
    return p;
}

sl_status sl_words_vecs_save_npy(const sl_wordvecs *w, const uint64_t *counts, const char *path) {
    sl_status s = sl_npy_write_matrix(path, w->vecs, w->n, w->dim);
    char *vp = s == SL_OK ? sl__words_vocab_path(path) : NULL;
    if (s == SL_OK && !vp) s = sl__fail(SL_ERR_NOMEM, "out of memory");
    sl_afile *af = NULL;
    if (s == SL_OK) s = sl_afile_open(vp, &af);
    if (s == SL_OK) {
        FILE *f = sl_afile_stream(af);
        for (size_t i = 0; i < w->n; i++)
            fprintf(f, "%s %llu\n", w->words[i], counts ? (unsigned long long)counts[i] : 0ULL);
        s = sl_afile_commit(af);
    }
    sl__free(vp);
    return s;
}

sl_status sl_words_save_npy(const sl_words_model *m, const char *path) {
    sl_wordvecs *w;
    SL__TRY(sl_words_model_export(m, &w));
    const sl_vocab *v = sl_words_model_vocab(m);
    sl_status s = sl_words_vecs_save_npy(w, v->count, path);
    sl_wordvecs_destroy(w);
    return s;
}

sl_status sl_words_load(const char *path, sl_wordvecs **out) {
    size_t n = strlen(path);
    if (sl_words_subword_file(path)) { /* a .slsw: its vocabulary's vectors */
        sl_words_subword *sw;
        SL__TRY(sl_words_subword_load(path, &sw));
        *out = sl__subword_take_vecs(sw);
        sl_words_subword_destroy(sw);
        return SL_OK;
    }
    if (!(n >= 4 && strcmp(path + n - 4, ".npy") == 0)) return sl_w2v_read(path, SL_W2V_AUTO, out);
    float *data;
    size_t rows, cols;
    SL__TRY(sl_npy_read_matrix(path, &data, &rows, &cols));
    char *vp = sl__words_vocab_path(path);
    FILE *f = vp ? fopen(vp, "rb") : NULL;
    sl_status s = SL_OK;
    sl_wordvecs *w = NULL;
    if (!vp)
        s = sl__fail(SL_ERR_NOMEM, "out of memory");
    else if (!f)
        s = sl__fail(SL_ERR_IO, "%s: cannot open the vocabulary of %s", vp, path);
    if (s == SL_OK) s = sl_wordvecs_create(rows, cols, &w);
    if (s == SL_OK) {
        if (!w->words) w->words = sl__calloc(rows ? rows : 1, sizeof *w->words);
        if (!w->words) s = sl__fail(SL_ERR_NOMEM, "out of memory");
    }
    char line[4096];
    size_t got = 0;
    while (s == SL_OK && fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, " \t\r\n");
        if (len == 0) {
            s = sl__fail(SL_ERR_FORMAT, "%s: line %zu: expected a word", vp, got + 1);
            break;
        }
        if (got == rows) {
            s = sl__fail(SL_ERR_FORMAT, "%s: more words than the %zu rows of %s", vp, rows, path);
            break;
        }
        line[len] = '\0';
        w->words[got] = sl__strdup(line);
        if (!w->words[got]) s = sl__fail(SL_ERR_NOMEM, "out of memory");
        got++;
    }
    if (s == SL_OK && got != rows)
        s = sl__fail(SL_ERR_FORMAT, "%s: %zu words for the %zu rows of %s", vp, got, rows, path);
    if (s == SL_OK) memcpy(w->vecs, data, rows * cols * sizeof(float));
    if (f) fclose(f);
    sl__free(vp);
    sl_allocator_free(data);
    if (s != SL_OK) {
        sl_wordvecs_destroy(w);
        return s;
    }
    *out = w;
    return SL_OK;
}

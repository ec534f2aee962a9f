/* Word-vector evaluation: analogies by 3CosAdd and 3CosMul over the top-N
 * vocabulary (batched into sl_gemm products), word-pair similarity by Spearman
 * and Pearson correlation, and nearest words by cosine. */
#include "words/words_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- word lookup (words_internal.h) -------------------------------------------
 * Two open-addressing tables over the first n rows: by the ASCII-lowercased
 * word, where the first (most frequent) row of a folded word wins, and, when
 * asked for, by the exact word. */
static uint64_t hash_fold(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)tolower((unsigned char)*s)) * 1099511628211ULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 32);
}

static bool eq_fold(const char *a, const char *b) {
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return false;
    return *a == *b;
}

static void lookup_put(uint32_t *table, size_t mask, const sl_wordvecs *w, size_t i, bool fold) {
    const char *word = w->words[i];
    size_t h = (size_t)(fold ? hash_fold(word) : sl__hash_bytes(word, strlen(word))) & mask;
    while (table[h]) {
        const char *other = w->words[table[h] - 1];
        if (fold ? eq_fold(other, word) : strcmp(other, word) == 0) return; /* an earlier row has it */
        h = (h + 1) & mask;
    }
    table[h] = (uint32_t)(i + 1);
}

sl_status sl__wlookup_build(sl__wlookup *L, const sl_wordvecs *w, size_t n, bool exact) {
    memset(L, 0, sizeof *L);
    L->w = w;
    L->n = n;
    if (n >= UINT32_MAX) return sl__fail(SL_ERR_RANGE, "word lookup of %zu words: too many", n);
    size_t ts = 16;
    while (ts < 2 * n) ts *= 2;
    L->table = sl__calloc(ts, sizeof *L->table);
    L->exact = exact ? sl__calloc(ts, sizeof *L->exact) : NULL;
    if (!L->table || (exact && !L->exact)) {
        sl__wlookup_free(L);
        return sl__fail(SL_ERR_NOMEM, "word lookup of %zu words: out of memory", n);
    }
    L->mask = ts - 1;
    for (size_t i = 0; i < n; i++) {
        lookup_put(L->table, L->mask, w, i, true);
        if (exact) lookup_put(L->exact, L->mask, w, i, false);
    }
    return SL_OK;
}

void sl__wlookup_free(sl__wlookup *L) {
    sl__free(L->table);
    sl__free(L->exact);
    L->table = L->exact = NULL;
}

long sl__wlookup_fold(const sl__wlookup *L, const char *word) {
    size_t h = (size_t)hash_fold(word) & L->mask;
    while (L->table[h]) {
        if (eq_fold(L->w->words[L->table[h] - 1], word)) return (long)L->table[h] - 1;
        h = (h + 1) & L->mask;
    }
    return -1;
}

long sl__wlookup_exact(const sl__wlookup *L, const char *word) {
    if (!L->exact) return -1;
    size_t h = (size_t)sl__hash_bytes(word, strlen(word)) & L->mask;
    while (L->exact[h]) {
        if (strcmp(L->w->words[L->exact[h] - 1], word) == 0) return (long)L->exact[h] - 1;
        h = (h + 1) & L->mask;
    }
    return -1;
}

long sl__wlookup_find(const sl__wlookup *L, const char *word) {
    long r = sl__wlookup_exact(L, word);
    return r >= 0 ? r : sl__wlookup_fold(L, word);
}

long sl_words_lookup(const sl_wordvecs *w, const char *word) {
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->words[i], word) == 0) return (long)i;
    for (size_t i = 0; i < w->n; i++)
        if (eq_fold(w->words[i], word)) return (long)i;
    return -1;
}

sl_status sl_words_unit(const sl_wordvecs *w, float **out) {
    size_t nd;
    if (!sl_size_mul(w->n, w->dim, &nd)) return sl__fail(SL_ERR_RANGE, "word vectors: %zu x %zu is too large", w->n, w->dim);
    float *u = sl__malloc_array(nd ? nd : 1, sizeof *u, "unit vectors");
    if (!u) return SL_ERR_NOMEM;
    memcpy(u, w->vecs, nd * sizeof *u);
    sl_rows_normalize(u, w->n, w->dim);
    *out = u;
    return SL_OK;
}

/* ---- line reading --------------------------------------------------------------*/
/* The next line in *buf (grown as needed), or NULL at the end of the file
 * and when out of memory (then *st is set to SL_ERR_NOMEM). */
static char *read_line(FILE *f, char **buf, size_t *cap, sl_status *st) {
    size_t n = 0;
    int ch;
    while ((ch = fgetc(f)) != EOF) {
        if (n + 2 > *cap) {
            size_t nc = *cap ? *cap * 2 : 256;
            char *nb = sl__realloc(*buf, nc);
            if (!nb) {
                *st = sl__fail(SL_ERR_NOMEM, "out of memory for a line of %zu bytes", nc);
                return NULL;
            }
            *buf = nb;
            *cap = nc;
        }
        if (ch == '\n') break;
        (*buf)[n++] = (char)ch;
    }
    if (ch == EOF && n == 0) return NULL;
    while (n && ((*buf)[n - 1] == '\r' || (*buf)[n - 1] == ' ' || (*buf)[n - 1] == '\t')) n--;
    (*buf)[n] = '\0';
    return *buf;
}

static int split_ws(char *s, char **tok, int max) {
    int n = 0;
    char *save = NULL;
    for (char *p = strtok_r(s, " \t", &save); p; p = strtok_r(NULL, " \t", &save)) {
        if (n == max) return max + 1;
        tok[n++] = p;
    }
    return n;
}

/* ---- analogies -------------------------------------------------------------------*/
#define QBATCH 256

typedef struct {
    uint32_t q[4];
    uint32_t section;
} question;

/* The questions of an analogy list: those whose four words are all among
 * the vectors looked up by L, with their sections. */
typedef struct question_list {
    question *q;
    size_t n, cap;
} question_list;

/* One line (leading blanks skipped) of the list: ": section" opens a
 * section, "a b c d" is a question counted in r's totals and kept in ql
 * when all four words have vectors. */
static sl_status read_question(const char *path, size_t line_no, char *p, const sl__wlookup *L, sl_analogy_result *r,
                               question_list *ql) {
    if (*p == ':') {
        if (r->nsections == SL_ANALOGY_MAX_SECTIONS)
            return sl__fail(SL_ERR_FORMAT, "%s: line %zu: more than %d sections", path, line_no,
                            SL_ANALOGY_MAX_SECTIONS);
        p++;
        while (*p == ' ' || *p == '\t') p++;
        snprintf(r->section[r->nsections].name, sizeof r->section[0].name, "%s", p);
        r->nsections++;
        return SL_OK;
    }
    char *tok[4];
    int nt = split_ws(p, tok, 4);
    if (nt != 4)
        return sl__fail(SL_ERR_FORMAT, "%s: line %zu: expected 4 words (a b c d) or \": section\"", path, line_no);
    if (r->nsections == 0) {
        snprintf(r->section[0].name, sizeof r->section[0].name, "%s", "all");
        r->nsections = 1;
    }
    size_t sec = r->nsections - 1;
    r->section[sec].total++;
    r->total++;
    long id[4];
    bool ok = true;
    for (int k = 0; k < 4; k++) {
        id[k] = sl__wlookup_fold(L, tok[k]);
        ok = ok && id[k] >= 0;
    }
    if (!ok) return SL_OK;
    if (ql->n == ql->cap) {
        size_t nc = ql->cap ? ql->cap * 2 : 1024;
        question *nqs = sl__realloc(ql->q, nc * sizeof *nqs);
        if (!nqs) return sl__fail(SL_ERR_NOMEM, "analogy: out of memory");
        ql->q = nqs;
        ql->cap = nc;
    }
    ql->q[ql->n++] = (question){{(uint32_t)id[0], (uint32_t)id[1], (uint32_t)id[2], (uint32_t)id[3]}, (uint32_t)sec};
    return SL_OK;
}

/* Every line of the list at f. */
static sl_status read_questions(FILE *f, const char *path, const sl__wlookup *L, sl_analogy_result *r, question_list *ql) {
    char *buf = NULL, *line;
    size_t cap = 0, line_no = 0;
    sl_status s = SL_OK;
    while (s == SL_OK && (line = read_line(f, &buf, &cap, &s)) != NULL) {
        line_no++;
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p) s = read_question(path, line_no, p, L, r, ql);
    }
    sl__free(buf);
    if (s == SL_OK && ferror(f)) s = sl__fail(SL_ERR_IO, "%s: read error", path);
    if (s == SL_OK && r->total == 0) s = sl__fail(SL_ERR_FORMAT, "%s: no analogy questions found", path);
    return s;
}

/* Answer nb questions against the N unit vectors U (d wide): the word,
 * other than the question's three, scoring best by 3CosAdd (b - a + c) or
 * 3CosMul; counted in r's sections. Q and S: scratch for the query rows and
 * their similarities. */
static void answer_batch(const question *qs, size_t nb, const float *U, size_t N, size_t d,
                         sl_analogy_method method, float *Q, float *S, sl_analogy_result *r) {
    for (size_t i = 0; i < nb; i++) {
        const question *qq = &qs[i];
        const float *a = U + qq->q[0] * d, *b = U + qq->q[1] * d, *c = U + qq->q[2] * d;
        if (method == SL_ANALOGY_ADD) {
            for (size_t k = 0; k < d; k++) Q[i * d + k] = b[k] - a[k] + c[k];
        } else {
            memcpy(Q + (3 * i) * d, a, d * sizeof *Q);
            memcpy(Q + (3 * i + 1) * d, b, d * sizeof *Q);
            memcpy(Q + (3 * i + 2) * d, c, d * sizeof *Q);
        }
    }
    size_t m = method == SL_ANALOGY_MUL ? 3 * nb : nb;
    sl_gemm(false, true, m, N, d, 1.0f, Q, d, U, d, 0.0f, S, N);
    for (size_t i = 0; i < nb; i++) {
        const question *qq = &qs[i];
        size_t best = SIZE_MAX;
        double bs = -INFINITY;
        for (size_t j = 0; j < N; j++) {
            if (j == qq->q[0] || j == qq->q[1] || j == qq->q[2]) continue;
            double sc;
            if (method == SL_ANALOGY_ADD) {
                sc = S[i * N + j];
            } else {
                double ca = (S[(3 * i) * N + j] + 1.0) / 2, cb = (S[(3 * i + 1) * N + j] + 1.0) / 2,
                       cc = (S[(3 * i + 2) * N + j] + 1.0) / 2;
                sc = cb * cc / (ca + 1e-3);
            }
            if (sc > bs) {
                bs = sc;
                best = j;
            }
        }
        bool right = best == qq->q[3];
        r->section[qq->section].seen++;
        r->section[qq->section].correct += right;
    }
}

/* The totals over sections: all, and syntactic ("gram..." sections) and
 * semantic (the others) apart. */
static void analogy_totals(sl_analogy_result *r) {
    for (size_t k = 0; k < r->nsections; k++) {
        r->seen += r->section[k].seen;
        r->correct += r->section[k].correct;
        if (strncmp(r->section[k].name, "gram", 4) == 0) {
            r->syn_seen += r->section[k].seen;
            r->syn_correct += r->section[k].correct;
        } else {
            r->sem_seen += r->section[k].seen;
            r->sem_correct += r->section[k].correct;
        }
    }
}

sl_status sl_words_analogy(const sl_wordvecs *w, const char *path, size_t restrict_n, sl_analogy_method method,
                           sl_analogy_result *out) {
    if (w->n == 0 || w->dim == 0) return sl__fail(SL_ERR_ARG, "analogy: no vectors");
    size_t N = restrict_n && restrict_n < w->n ? restrict_n : w->n;
    size_t d = w->dim;
    FILE *f = fopen(path, "rb");
    if (!f) return sl__fail(SL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    sl_analogy_result *r = sl__calloc(1, sizeof *r);
    sl__wlookup L = {0};
    question_list ql = {0};
    float *U = NULL, *Q = NULL, *S = NULL;
    sl_status s = r ? sl__wlookup_build(&L, w, N, false) : sl__fail(SL_ERR_NOMEM, "analogy: out of memory");
    if (s == SL_OK) s = read_questions(f, path, &L, r, &ql);
    size_t rows = method == SL_ANALOGY_MUL ? 3 * QBATCH : QBATCH;
    if (s == SL_OK) {
        U = sl__malloc_array(N * d, sizeof *U, "analogy");
        Q = sl__malloc_array(rows * d, sizeof *Q, "analogy");
        S = sl__malloc_array(rows * N, sizeof *S, "analogy");
        if (!U || !Q || !S) s = SL_ERR_NOMEM;
    }
    if (s == SL_OK) {
        memcpy(U, w->vecs, N * d * sizeof *U);
        sl_rows_normalize(U, N, d);
        for (size_t q0 = 0; q0 < ql.n; q0 += QBATCH)
            answer_batch(ql.q + q0, SL__MIN(QBATCH, ql.n - q0), U, N, d, method, Q, S, r);
        analogy_totals(r);
        *out = *r;
    }
    fclose(f);
    sl__wlookup_free(&L);
    sl__free(ql.q);
    sl__free(U);
    sl__free(Q);
    sl__free(S);
    sl__free(r);
    return s;
}

/* ---- word similarity --------------------------------------------------------------*/
static void ranks(const double *x, size_t n, double *rk, size_t *idx) {
    for (size_t i = 0; i < n; i++) idx[i] = i;
    /* Insertion sort is fine for the few thousand pairs of these data sets. */
    for (size_t i = 1; i < n; i++) {
        size_t v = idx[i], j = i;
        while (j > 0 && x[idx[j - 1]] > x[v]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && x[idx[j + 1]] == x[idx[i]]) j++;
        double mean = (double)(i + j) / 2.0 + 1.0; /* ties share their mean rank */
        for (size_t k = i; k <= j; k++) rk[idx[k]] = mean;
        i = j + 1;
    }
}

static double pearson(const double *a, const double *b, size_t n) {
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= (double)n;
    mb /= (double)n;
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0.0;
}

static double cosine(const float *a, const float *b, size_t d) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t k = 0; k < d; k++) {
        ab += (double)a[k] * b[k];
        aa += (double)a[k] * a[k];
        bb += (double)b[k] * b[k];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
}

/* The vector of a pair's word into buf: the row of w it has (folded
 * lookup), else (sw not NULL) its n-gram vector; NULL when it has neither.
 * *ngrams tells which. */
static const float *pair_vector(const sl_wordvecs *w, const sl__wlookup *L, const sl_words_subword *sw,
                                const char *word, float *buf, bool *ngrams) {
    long r = sl__wlookup_fold(L, word);
    *ngrams = false;
    if (r >= 0) return w->vecs + (size_t)r * w->dim;
    if (!sw || sl_words_subword_vector(sw, word, buf, NULL) == 0) return NULL;
    *ngrams = true;
    return buf;
}

static sl_status similarity(const sl_wordvecs *w, const sl_words_subword *sw, const char *path,
                            sl_similarity_result *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return sl__fail(SL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    sl__wlookup L = {0};
    sl_status s = sl__wlookup_build(&L, w, w->n, false);
    double *human = NULL, *model = NULL, *r1 = NULL, *r2 = NULL;
    size_t *idx = NULL, n = 0, cap = 0, pairs = 0, line_no = 0, bcap = 0, by_ngrams = 0;
    float *va = sw ? sl__malloc_array(2 * w->dim, sizeof *va, "similarity") : NULL;
    if (s == SL_OK && sw && !va) s = SL_ERR_NOMEM;
    char *buf = NULL, *line;
    while (s == SL_OK && (line = read_line(f, &buf, &bcap, &s)) != NULL) {
        line_no++;
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '#') continue;
        char *tok[3];
        int nt = split_ws(p, tok, 3);
        char *end = NULL;
        double score = nt == 3 ? strtod(tok[2], &end) : NAN;
        if (nt != 3 || !end || *end || !isfinite(score)) {
            s = sl__fail(SL_ERR_FORMAT, "%s: line %zu: expected \"word1 word2 score\" with a finite score", path,
                         line_no);
            break;
        }
        pairs++;
        bool ga, gb;
        const float *a = pair_vector(w, &L, sw, tok[0], va, &ga), *b = a ? pair_vector(w, &L, sw, tok[1], va + (sw ? w->dim : 0), &gb) : NULL;
        if (!a || !b) continue;
        by_ngrams += ga || gb;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 512;
            double *nh = sl__realloc(human, nc * sizeof *nh);
            if (nh) human = nh;
            double *nm = nh ? sl__realloc(model, nc * sizeof *nm) : NULL;
            if (nm) model = nm;
            if (!nh || !nm) {
                s = sl__fail(SL_ERR_NOMEM, "similarity: out of memory");
                break;
            }
            cap = nc;
        }
        human[n] = score;
        model[n] = cosine(a, b, w->dim);
        n++;
    }
    if (s == SL_OK && pairs == 0) s = sl__fail(SL_ERR_FORMAT, "%s: no word pairs found", path);
    if (s == SL_OK && n < 2)
        s = sl__fail(SL_ERR_NOTFOUND, "%s: only %zu of %zu pairs have both words in the vocabulary%s", path, n, pairs,
                     sw ? " or character n-grams" : "");
    if (s == SL_OK) {
        r1 = sl__malloc_array(n, sizeof *r1, "similarity");
        r2 = sl__malloc_array(n, sizeof *r2, "similarity");
        idx = sl__malloc_array(n, sizeof *idx, "similarity");
        if (!r1 || !r2 || !idx) s = SL_ERR_NOMEM;
    }
    if (s == SL_OK) {
        ranks(human, n, r1, idx);
        ranks(model, n, r2, idx);
        out->spearman = pearson(r1, r2, n);
        out->pearson = pearson(human, model, n);
        out->pairs = pairs;
        out->used = n;
        out->by_ngrams = by_ngrams;
    }
    fclose(f);
    sl__free(va);
    sl__wlookup_free(&L);
    sl__free(buf);
    sl__free(human);
    sl__free(model);
    sl__free(r1);
    sl__free(r2);
    sl__free(idx);
    return s;
}

sl_status sl_words_similarity(const sl_wordvecs *w, const char *path, sl_similarity_result *out) {
    return similarity(w, NULL, path, out);
}

sl_status sl_words_subword_similarity(const sl_words_subword *sw, const char *path, sl_similarity_result *out) {
    return similarity(sl_words_subword_vecs(sw), sw, path, out);
}

/* ---- nearest words ------------------------------------------------------------------*/
sl_status sl_words_nearest(const float *unit, size_t n, size_t dim, const float *query, size_t k,
                           const size_t *exclude, size_t nexclude, size_t *idx, float *sim, size_t *found) {
    if (dim == 0) return sl__fail(SL_ERR_ARG, "nearest words: dimension 0");
    if (k == 0) {
        *found = 0;
        return SL_OK;
    }
    float *q = sl__malloc_array(dim, sizeof *q, "nearest words");
    float *s = sl__malloc_array(n ? n : 1, sizeof *s, "nearest words");
    if (!q || !s) {
        sl__free(q);
        sl__free(s);
        return SL_ERR_NOMEM;
    }
    memcpy(q, query, dim * sizeof *q);
    sl_rows_normalize(q, 1, dim);
    if (n) sl_gemm(false, true, 1, n, dim, 1.0f, q, dim, unit, dim, 0.0f, s, n);
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        bool skip = !isfinite(s[i]);
        for (size_t e = 0; e < nexclude && !skip; e++) skip = exclude[e] == i;
        if (skip) continue;
        if (got < k) {
            got++;
        } else if (!(s[i] > sim[k - 1])) {
            continue;
        }
        /* Insert into the sorted top list. */
        size_t j = got - 1;
        while (j > 0 && sim[j - 1] < s[i]) {
            sim[j] = sim[j - 1];
            idx[j] = idx[j - 1];
            j--;
        }
        sim[j] = s[i];
        idx[j] = i;
    }
    sl__free(q);
    sl__free(s);
    *found = got;
    return SL_OK;
}

/* Subword models and sentence models (.slsw, `words train --maxn N` or
 * `--model sent2vec`, read by `words nearest`, `words similarity`, `words
 * vector`, `words embed`): read, then a word outside the vocabulary and a
 * vocabulary word embedded, and for a sentence model two lines (one with a
 * bigram of known words), whose vectors must be finite (the reader promises
 * finite rows). A broken promise aborts. The input is
 * the file without its trailing checksum, which the target appends (FNV-1a
 * of the bytes, little-endian) so that mutations reach the parser behind it;
 * a wrong checksum is the unit tests' business. */
#include "fuzz.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(const sl_words_subword *s, const char *word)
{
    const sl_wordvecs *w = sl_words_subword_vecs(s);
    float *v = malloc(w->dim * sizeof *v);
    if (!v) abort();
    sl_words_subword_vector(s, word, v, NULL);
    for (size_t c = 0; c < w->dim; c++)
        if (!isfinite(v[c])) abort();
    free(v);
}

static void check_lines(const sl_words_subword *s)
{
    const sl_wordvecs *w = sl_words_subword_vecs(s);
    char line[2 * SL_WORDS_MAX_WORD + 8];
    snprintf(line, sizeof line, "%s %s x", w->words[0], w->words[w->n - 1]);
    const char *lines[2] = {line, "caf\xc3\xa9teria"};
    sl_words_embed_config c;
    sl_words_embed_config_default(&c);
    c.method = SL_WORDS_MODEL_MEAN;
    c.model = s;
    float *v = malloc(2 * w->dim * sizeof *v);
    if (!v) abort();
    if (sl_words_embed(w, &c, lines, 2, v, NULL, NULL) != SL_OK) abort();
    for (size_t k = 0; k < 2 * w->dim; k++)
        if (!isfinite(v[k])) abort();
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    uint64_t sum = fz_fnv1a(data, size);
    uint8_t tail[8];
    memcpy(tail, &sum, 8);
    const char *path = fz_file_tail("m.slsw", data, size, tail, 8);
    sl_words_subword *s = NULL;
    if (sl_words_subword_load(path, &s) != SL_OK) return 0;
    check(s, "caf\xc3\xa9teria");
    check(s, sl_words_subword_vecs(s)->words[0]);
    int maxn;
    sl_words_subword_settings(s, NULL, &maxn, NULL, NULL);
    if (maxn == 0) check_lines(s);
    sl_words_subword_destroy(s);
    return 0;
}

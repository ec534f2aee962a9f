/* Subword models (.slsw, `words train --maxn N`, read by `words nearest`,
 * `words similarity`, `words vector`): read, then a word outside the
 * vocabulary and a vocabulary word embedded, whose vectors must be finite
 * (the reader promises finite rows). A broken promise aborts. The input is
 * the file without its trailing checksum, which the target appends (FNV-1a
 * of the bytes, little-endian) so that mutations reach the parser behind it;
 * a wrong checksum is the unit tests' business. */
#include "fuzz.h"

#include <math.h>
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
    sl_words_subword_destroy(s);
    return 0;
}

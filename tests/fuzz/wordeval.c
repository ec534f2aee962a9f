/* Analogy question files and word-similarity files (`words analogy`,
 * `words similarity`), against fixed vectors of six words. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

static sl_wordvecs *vectors(void)
{
    static sl_wordvecs *w;
    if (w) return w;
    static const char *words[] = {"king", "queen", "man", "woman", "Paris", "france"};
    if (sl_wordvecs_create(6, 3, &w) != SL_OK) abort();
    for (size_t i = 0; i < 6; i++) {
        w->words[i] = malloc(strlen(words[i]) + 1); /* fz_init's allocator frees with free() */
        if (!w->words[i]) abort();
        strcpy(w->words[i], words[i]);
        for (size_t j = 0; j < 3; j++) w->vecs[i * 3 + j] = (float)((i * 5 + j * 3) % 7) - 3.0f;
    }
    return w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    const sl_wordvecs *w = vectors();
    const char *path = fz_file("x.txt", data, size);
    sl_analogy_result ar;
    (void)sl_words_analogy(w, path, 0, SL_ANALOGY_ADD, &ar);
    (void)sl_words_analogy(w, path, 4, SL_ANALOGY_MUL, &ar);
    sl_similarity_result sr;
    (void)sl_words_similarity(w, path, &sr);
    return 0;
}

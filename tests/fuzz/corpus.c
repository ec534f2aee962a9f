/* Word-vector corpora (`words train CORPUS`): the bytes after the first are
 * the corpus file. The vocabulary is counted (sl_vocab_build, as training
 * starts), and the file is read whole and in K ranges as the trainer's lanes
 * read it (the streaming reader of src/words/): the ranges must give the
 * same words, in order, as the whole file (aborting otherwise, so libFuzzer
 * reports it). The first byte picks the settings: bit 0 lowercase, bit 1
 * min_count 2, bits 2-4 K - 2 (2 to 9 ranges). */
#include "fuzz.h"
#include "words/words_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The words of [start, end) appended to out (NUL-separated), or -1. */
static long read_range(const char *path, uint64_t start, uint64_t end, bool lower, char *out, size_t cap)
{
    sl__corpus c;
    if (sl__corpus_open(&c, path, start, end, lower) != SL_OK) return -1;
    char w[SL_WORDS_MAX_WORD + 1];
    bool nl;
    int n;
    size_t len = 0;
    while ((n = sl__corpus_next(&c, w, &nl)) > 0) {
        if ((size_t)n != strlen(w) || len + (size_t)n + 1 > cap) abort(); /* a word holds no NUL; cap fits all */
        memcpy(out + len, w, (size_t)n + 1);
        len += (size_t)n + 1;
    }
    sl__corpus_close(&c);
    return n < 0 ? -1 : (long)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    fz_init();
    unsigned flags = data[0];
    bool lower = flags & 1;
    size_t k = 2 + ((flags >> 2) & 7), n = size - 1;
    const char *path = fz_file("corpus.txt", data + 1, n);
    sl_vocab_config vc;
    sl_vocab_config_default(&vc);
    vc.min_count = flags & 2 ? 2 : 1;
    vc.lowercase = lower;
    sl_vocab *v = NULL;
    if (sl_vocab_build(path, &vc, &v) == SL_OK) {
        for (size_t i = 0; i < sl_vocab_size(v); i++)
            if (sl_vocab_find(v, sl_vocab_word(v, i)) != (long)i) abort();
        sl_vocab_destroy(v);
    }
    /* Every word of the file is at most its bytes plus a NUL each. */
    size_t cap = 2 * n + 2;
    char *whole = malloc(cap), *parts = malloc(cap);
    if (!whole || !parts) abort();
    long lw = read_range(path, 0, UINT64_MAX, lower, whole, cap), lp = 0;
    for (size_t i = 0; i < k && lw >= 0; i++) {
        long l = read_range(path, (uint64_t)(n * i / k), (uint64_t)(n * (i + 1) / k), lower, parts + lp, cap - (size_t)lp);
        if (l < 0) abort();
        lp += l;
    }
    if (lw >= 0 && (lp != lw || memcmp(whole, parts, (size_t)lw) != 0)) abort();
    free(whole);
    free(parts);
    return 0;
}

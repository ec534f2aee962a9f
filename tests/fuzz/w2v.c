/* Word vectors: the loader the `words` commands use (word2vec text or binary,
 * fastText .vec, told from content), the detector, and the multi-sense
 * reader. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file("x.vec", data, size);
    sl_wordvecs *w = NULL;
    if (sl_words_load(path, &w) == SL_OK) sl_wordvecs_destroy(w);
    sl_w2v_format f;
    (void)sl_w2v_detect(path, &f);
    sl_senses *s = NULL;
    if (sl_senses_read(path, &s) == SL_OK) sl_senses_destroy(s);
    return 0;
}

/* Word-vector training checkpoints (`words train --resume CKPT`): resumed
 * over a fixed tiny corpus for one round of work at most, single-threaded.
 * With SIMLEARN_FUZZ_SEED set, the first input also trains on that corpus
 * with a checkpoint written to that path (how tests/fuzz/make_seeds.sh makes
 * the seeds, so they match the corpus). */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>

static const char corpus[] =
    "the cat sat on the mat the dog sat on the log\n"
    "a cat and a dog ran to the mat and the log\n"
    "the cat saw the dog on the log by the mat\n";

static void setup(void)
{
    static int done;
    if (done) return;
    done = 1;
    fz_file("corpus.txt", (const uint8_t *)corpus, sizeof corpus - 1);
    const char *seed = getenv("SIMLEARN_FUZZ_SEED");
    if (!seed) return;
    sl_words_config c;
    sl_words_config_default(&c);
    c.dim = 4;
    c.epochs = 2;
    c.threads = 1;
    c.vocab.min_count = 1;
    c.checkpoint = seed;
    c.stop_after_rounds = 3;
    sl_words_model *m = NULL;
    if (sl_words_train(fz_path("corpus.txt"), &c, &m, NULL) != SL_OK) {
        fprintf(stderr, "wordsckpt: %s\n", sl_error_message());
        abort();
    }
    sl_words_model_destroy(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    setup();
    const char *ckpt = fz_file("x.ckpt", data, size);
    sl_words_config c;
    sl_words_config_default(&c);
    c.stop_after_rounds = 1;
    sl_words_model *m = NULL;
    if (sl_words_resume(fz_path("corpus.txt"), ckpt, &c, &m, NULL) == SL_OK) sl_words_model_destroy(m);
    return 0;
}

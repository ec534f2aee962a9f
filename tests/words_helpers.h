/* Helpers shared by the word-vector tests: comparing two models row by row,
 * running the CLI, and the stop-then-resume check. */
#ifndef SIMLEARN_TESTS_WORDS_HELPERS_H
#define SIMLEARN_TESTS_WORDS_HELPERS_H

#include "test.h"

#include <stdlib.h>
#include <string.h>

/* Whether two models hold the same bits: word rows, output rows and bucket rows. */
static inline bool words_same_model(const sl_words_model *a, const sl_words_model *b) {
    size_t d = (size_t)sl_words_model_dim(a);
    if (sl_words_model_rows(a) != sl_words_model_rows(b) || sl_words_model_bucket(a) != sl_words_model_bucket(b))
        return false;
    for (size_t r = 0; r < sl_words_model_rows(a); r++)
        if (memcmp(sl_words_model_row(a, r), sl_words_model_row(b, r), d * sizeof(float)) ||
            memcmp(sl_words_model_output_row(a, r), sl_words_model_output_row(b, r), d * sizeof(float)))
            return false;
    for (size_t r = 0; r < sl_words_model_bucket(a); r++)
        if (memcmp(sl_words_model_bucket_row(a, r), sl_words_model_bucket_row(b, r), d * sizeof(float))) return false;
    return true;
}

/* Run a shell command that must exit with `want`; its output (free it). */
static inline char *words_run_ok(const char *cmd, int want) {
    char *out = NULL;
    int rc = t_run(cmd, &out);
    if (rc != want) T_FAIL("`%s` exited %d, expected %d: %s", cmd, rc, want, out ? out : "");
    return out;
}

/* Train on corpus with c uninterrupted; again, stopped at stop_words with a
 * checkpoint (ck); then resume from it: the resumed run must end with the
 * uninterrupted run's bits (and the stopped one must differ). */
static inline void words_resume_matches(const char *corpus, sl_words_config c, const char *ck, uint64_t stop_words) {
    sl_words_model *full, *part, *rest;
    sl_words_stats st;
    ASSERT_OK(sl_words_train(corpus, &c, &full, &st));
    c.checkpoint = ck;
    c.stop_at_words = stop_words;
    ASSERT_OK(sl_words_train(corpus, &c, &part, &st));
    ASSERT_TRUE(st.interrupted);
    ASSERT_TRUE(!words_same_model(full, part));
    sl_words_config r;
    sl_words_config_default(&r);
    r.checkpoint = ck;
    ASSERT_OK(sl_words_resume(corpus, ck, &r, &rest, &st));
    ASSERT_TRUE(!st.interrupted);
    ASSERT_EQ_INT(sl_words_model_bucket(rest), sl_words_model_bucket(full));
    ASSERT_TRUE(words_same_model(full, rest));
    sl_words_model_destroy(full);
    sl_words_model_destroy(part);
    sl_words_model_destroy(rest);
}

#endif

/* Private pieces shared by the training loop, embedding and the demo: the
 * word-level caption tokenizer and the defaults that depend on the dataset. */
#ifndef SIMLEARN_TRAIN_INTERNAL_H
#define SIMLEARN_TRAIN_INTERNAL_H

#include "internal.h"
#include "simlearn/train.h"

/* A word-level vocabulary: id 0 is "<unk>", then the words of the training
 * captions by decreasing frequency (ties alphabetically). */
typedef struct sl__vocab {
    size_t n;            /* words including "<unk>" */
    char **words;        /* n strings */
    size_t *sorted;      /* word ids sorted by word, for lookup */
    size_t max_tokens;   /* ids per caption (longer captions are cut) */
} sl__vocab;

/* Count the words of every caption of d. */
sl_status sl__vocab_build(const sl_dataset *d, size_t max_tokens, sl__vocab **out);
/* From words joined by '\n' (the checkpoint's "text.vocab"). */
sl_status sl__vocab_parse(const char *joined, size_t max_tokens, sl__vocab **out);
/* Words joined by '\n'; free with sl__free. */
char *sl__vocab_join(const sl__vocab *v);
/* Caption -> max_tokens ids stored as floats, -1 padding (the embbag input). */
void sl__vocab_encode(const sl__vocab *v, const char *text, float *ids);
void sl__vocab_destroy(sl__vocab *v);

/* Input normalisation for a dataset: (x - mean) / std after augmentation. */
void sl__train_input_norm(const sl_dataset *d, double *mean, double *std);

#endif

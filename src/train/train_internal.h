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
/* Most ids per caption. */
#define SL__MAX_TOKENS 4096
/* From words joined by '\n' (the checkpoint's "text.vocab"): "<unk>" first,
 * then distinct words as the tokenizer makes them (SL_ERR_FORMAT otherwise). */
sl_status sl__vocab_parse(const char *joined, size_t max_tokens, sl__vocab **out);
/* The vocabulary of a CLIP checkpoint: text.vocab and text.max_tokens, both
 * required and checked; messages name the file and the key. */
sl_status sl__vocab_from(const sl_tensors *ck, sl__vocab **out);
/* Words joined by '\n'; free with sl__free. */
char *sl__vocab_join(const sl__vocab *v);
/* Caption -> max_tokens ids stored as floats, -1 padding (the embbag input). */
void sl__vocab_encode(const sl__vocab *v, const char *text, float *ids);
void sl__vocab_destroy(sl__vocab *v);

/* Input normalisation for a dataset: (x - mean) / std after augmentation. */
void sl__train_input_norm(const sl_dataset *d, double *mean, double *std);

/* The data settings of a training checkpoint, each checked: train.data
 * (dc->source, borrowed from ck), train.data_seed and train.image_size; keys
 * that are absent leave their field alone. */
sl_status sl__train_ckpt_data(const sl_tensors *ck, sl_data_config *dc);
/* The input normalisation stored in a checkpoint (train.input_mean, finite,
 * and train.input_std, > 0); absent keys leave their value alone unless
 * required. */
sl_status sl__train_ckpt_norm(const sl_tensors *ck, bool required, double *mean, double *std);

/* The trainer's batch producer (tests read its statistics). */
sl_batcher *sl__trainer_batcher(sl_trainer *t);

#endif

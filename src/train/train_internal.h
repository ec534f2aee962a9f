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

/* The dataset of a training configuration (src/train/data.c). */
void sl__train_data_config(const sl_train_config *c, sl_data_config *dc);
/* The dataset settings into a checkpoint's metadata: train.data, split,
 * data_seed, data_count, val_fraction and image_size always, the others
 * (test_fraction, channels, labels, image_dir, shapes_rotate, shapes_noise)
 * when they differ from the defaults. */
/* Set checkpoint metadata key to the printf-formatted value (at most 1023
 * characters). */
sl_status sl__train_meta(sl_tensors *x, const char *key, const char *fmt, ...) SL__PRINTF(3, 4);
sl_status sl__train_ckpt_data_write(sl_tensors *x, const sl_train_config *c);
/* And out of it, each value checked (strings borrowed from ck). Keys that
 * are absent leave their field alone; with `resume` the ones every
 * checkpoint has (data, split, data_seed, data_count, image_size) must be
 * there. */
sl_status sl__train_ckpt_data(const sl_tensors *ck, bool resume, sl_data_config *dc);
/* The dataset an embedding opens: c's settings, what c leaves unset from md
 * (the model's training data; its labels file and image folder only with its
 * own source). */
void sl__embed_data_merge(const sl_embed_config *c, const sl_data_config *md, sl_data_config *dc);
/* A training checkpoint read from path (SL_ERR_FORMAT, naming the file,
 * when it has no encoder.spec). */
sl_status sl__embed_checkpoint(const char *path, sl_tensors **out);
/* The dataset an embedding with c and the checkpoint ck (may be NULL) opens. */
sl_status sl__embed_open_data(const sl_embed_config *c, const sl_tensors *ck, sl_dataset **out);
/* Every item of d through the models of ck as c says (encoder, projector or
 * the text tower on the captions) into e: x, labels and attributes. */
sl_status sl__embed_dataset(const sl_embed_config *c, const sl_tensors *ck, const sl_dataset *d, sl_embedding *e);
/* What sl__encoder_from takes from a checkpoint: the image encoder (with
 * the projector when asked; projector_option names the option in messages,
 * path the file) and the text tower (text: 0 no, 1 when there is one, 2
 * required). sl_encoder_load takes everything there is. */
typedef struct sl__encoder_parts {
    const char *path, *projector_option;
    bool image, projector;
    int text;
} sl__encoder_parts;
sl_status sl__encoder_from(const sl_tensors *ck, const sl__encoder_parts *p, sl_encoder **out);
/* n images normalised and through the encoder (and projector) in one eval
 * pass; *y (n x sl_encoder_dim) is owned by the models until their next pass. */
sl_status sl__encoder_batch(sl_encoder *e, const float *x, size_t n, const float **y);
/* n lines of text through the text tower of the CLIP checkpoint ck, in one
 * forward pass, into e->x (n x d), e->n and e->d. */
sl_status sl__embed_lines(const sl_tensors *ck, const char *const *lines, size_t n, sl_embedding *e);
/* The input normalisation stored in a checkpoint (train.input_mean, finite,
 * and train.input_std, > 0); absent keys leave their value alone unless
 * required. */
sl_status sl__train_ckpt_norm(const sl_tensors *ck, bool required, double *mean, double *std);

/* ---- fine-tuning (src/train/init.c) ----------------------------------------
 * A new run's models start from the tensors of another run's checkpoint,
 * matched by name and shape. Tower k of a run is the model under prefix[k]
 * ("encoder." first). */

/* The checkpoint --init names: read, and a simlearn training checkpoint
 * (metadata 'simlearn'); messages name the file. */
sl_status sl__train_init_open(const char *path, sl_tensors **out);
/* Which of the n towers a list like "encoder,projector" names (a tower's name
 * is its prefix without the dot); NULL selects all. SL_ERR_ARG naming an
 * unknown or empty name. */
sl_status sl__train_init_select(const char *list, const char *const *prefix, size_t n, bool *sel);

typedef struct sl__init_models {
    size_t n;
    sl_model *const *m;        /* n towers, NULL where the run has none */
    const char *const *prefix; /* n prefixes */
    const bool *sel;           /* the towers to take */
    bool named;                /* chosen by name: each must be in the run and in the checkpoint */
    bool partial;              /* skip tensors of another shape instead of failing */
} sl__init_models;

/* What was taken, for the trainer to keep. */
typedef struct sl__init_done {
    sl_train_init_report rep; /* rep.summary points at summary */
    char summary[1024];
    char towers[64];          /* the towers tensors were taken from, "encoder,projector" */
    size_t taken[8];          /* tensors taken per tower */
} sl__init_done;

/* Copy into the models what ck (read from path) has for them; with the
 * encoder (tower 0) taken, its input normalisation replaces *mean and *std.
 * Errors: SL_ERR_ARG (another shape, nothing that fits, a named tower the run
 * or the file lacks), SL_ERR_FORMAT (a tensor that is not finite float32). */
sl_status sl__train_init_load(const sl_tensors *ck, const char *path, const sl__init_models *im, double *mean,
                              double *std, sl__init_done *out);

/* The trainer's batch producer (tests read its statistics). */
sl_batcher *sl__trainer_batcher(sl_trainer *t);

/* Data-parallel steps (src/train/parallel.c), over sl_dist's ranks. A
 * local buffer holds `views` blocks of n rows x d (view-major); the global
 * one holds `views` blocks of ranks x n rows, each block in rank order, as
 * one process would lay out the whole batch. */
sl_status sl__dp_gather(const float *loc, size_t n, size_t d, size_t views, float *glob);
/* This rank's rows of a global buffer into a local one. */
void sl__dp_own_rows(const float *glob, size_t n, size_t d, size_t views, float *loc);
/* Labels of the first view's n rows gathered, repeated for each view. */
sl_status sl__dp_gather_labels(const int32_t *loc, size_t n, size_t views, int32_t *glob);
/* Sum the models' gradients over the ranks, then multiply by scale (NULL
 * models skipped). */
sl_status sl__dp_reduce_grads(sl_model *const *m, size_t nm, float scale);
/* x[i] = the mean of every rank's x[i]. */
sl_status sl__dp_mean(double *x, size_t n);
/* flags[i] = whether any rank's flags[i] is set (n <= 8). */
sl_status sl__dp_any(bool *flags, size_t n);

/* ---- the state of the self-supervised objectives (src/train/momentum.c) ---- */

/* The momentum of a target copy at a step: base throughout, or (cosine)
 * rising from base at step 0 to 1 at `total` as BYOL's schedule does. */
double sl__ema_momentum(double base, bool cosine, uint64_t step, uint64_t total);
/* target = m * target + (1 - m) * online, parameter by parameter (running
 * statistics stay the target's own). */
sl_status sl__ema_update(sl_model *target, sl_model *online, double m);

/* MoCo's queue: cap unit-length keys of width d in a ring; the first `fill`
 * rows are in use, `pos` is where the next key goes. */
typedef struct sl__keyqueue {
    float *k;
    size_t cap, d, pos, fill;
} sl__keyqueue;
sl_status sl__keyqueue_init(sl__keyqueue *q, size_t cap, size_t d);
/* Append n keys (normalised on the way in), overwriting the oldest. */
void sl__keyqueue_push(sl__keyqueue *q, const float *keys, size_t n);
void sl__keyqueue_free(sl__keyqueue *q);
/* queue.keys (cap x d), train.queue_pos and train.queue_fill. */
sl_status sl__keyqueue_save(const sl__keyqueue *q, sl_tensors *x);
sl_status sl__keyqueue_load(sl__keyqueue *q, const sl_tensors *x, const char *path);

/* The memory bank: one unit vector per item of the dataset. */
typedef struct sl__bank {
    float *v;
    size_t n, d;
} sl__bank;
/* Random unit vectors from seed. */
sl_status sl__bank_init(sl__bank *b, size_t n, size_t d, uint64_t seed);
/* Row items[i] = normalise(m * row + (1 - m) * normalise(z_i)), for n rows of z. */
void sl__bank_update(sl__bank *b, const size_t *items, const float *z, size_t n, double m);
void sl__bank_free(sl__bank *b);
/* The tensor "bank" (n x d). */
sl_status sl__bank_save(const sl__bank *b, sl_tensors *x);
sl_status sl__bank_load(sl__bank *b, const sl_tensors *x, const char *path);

#endif

/* simlearn train: the training loop (data -> augment -> encoder -> projector ->
 * objective -> backward -> optimizer step, with the next batch prepared by the
 * batch producer meanwhile), checkpoints with exact resume, embedding of a
 * dataset with a trained model, and the shapes demo.
 * Threads: a trainer is used by one thread at a time. sl_trainer_create and
 * sl_embed_run call sl_threads_set(threads) (simlearn/base.h): the calling
 * thread's OpenMP thread count stays changed after them.
 * Interruption: sl_trainer_run, sl_embed_run and sl_demo_run poll a `stop`
 * flag of their configuration and return SL_ERR_INTERRUPTED when it is set
 * (what is left: at each call). */
#ifndef SIMLEARN_TRAIN_H
#define SIMLEARN_TRAIN_H

#include <signal.h>

#include "simlearn/base.h"
#include "simlearn/data.h"
#include "simlearn/io.h"
#include "simlearn/loss.h"
#include "simlearn/nn.h"
#include "simlearn/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration -------------------------------------------------------
 * Every string is borrowed for the duration of sl_trainer_create (the trainer
 * keeps copies). NULL or 0 fields mean "the default for this objective and
 * dataset"; docs/training.md lists the defaults. */
typedef struct sl_train_config {
    /* data */
    const char *data;       /* dataset source (see sl_data_config.source); default "shapes" */
    sl_split split;         /* default SL_SPLIT_TRAIN */
    uint64_t data_seed;     /* shapes world seed and deterministic splits */
    size_t data_count;      /* shapes: items in the split (0: the world's default) */
    double val_fraction;    /* share held out as the validation split (< 0: the source's default;
                             * sl_data_config.val_fraction) */
    int image_size;         /* shapes / image folders: image side (0: the source's default) */
    double test_fraction;   /* share held out as the test split (< 0: default 0.1; not for shapes or IDX) */
    int channels;           /* image folders / caption lists: 1 or 3 (0: 3) */
    const char *labels;     /* .npy sources: labels file (.npy) */
    const char *image_dir;  /* caption lists: folder of the images (NULL: the list's folder) */
    bool shapes_rotate;     /* shapes: rotate each shape */
    float shapes_noise;     /* shapes: standard deviation of the background noise */
    const char *aug;        /* augmentation spec or preset; "none" for no augmentation */
    const char *keep;       /* shapes: attributes kept by attribute-resampling views, "shape+location" */
    const char *label;      /* attribute the supervised objectives use (default: the first one) */
    /* models: specs as in sl_model_create; projector "none" to train the encoder alone */
    const char *encoder, *projector, *decoder, *text_encoder;
    /* objective */
    sl_objective objective;
    const char *sim;        /* "dot", "cosine", "l2"; NULL: the objective's default */
    double tau;             /* 0: the objective's default */
    int learn_tau;          /* -1: the objective's default, 0 fixed, 1 learnable (log-parametrised) */
    double margin;          /* triplets; < 0: the default */
    double mask_ratio;      /* mae: share of each image's patches masked, in (0, 1); < 0: 0.75 */
    bool norm_pix;          /* mae: targets normalised per patch (mean 0, variance 1) */
    double barlow_lambda;   /* barlow: weight of the off-diagonal terms; < 0: 0.0051 */
    double vicreg_inv, vicreg_var, vicreg_cov; /* vicreg: weights of its terms; < 0: 25, 25, 1 */
    const char *predictor;  /* simsiam, byol: predictor spec; NULL: linear(D/4),bn,relu,linear(D) for
                             * simsiam, linear(4D),bn,relu,linear(D) for byol (D: the embedding width) */
    double ema;             /* byol, moco: momentum of the target copy; < 0: 0.996 rising to 1 by a
                             * cosine (byol), 0.99 (moco) */
    size_t queue;           /* moco: keys in the queue; memory-bank: negatives drawn per step; 0: 4096 */
    double bank_momentum;   /* memory-bank: weight of a row's old value in its update; < 0: 0.5 */
    /* optimisation */
    const char *optim;      /* "sgd", "adam", "adamw", "lars"; NULL: adam */
    double lr;              /* 0: the optimizer's default (2e-3 Adam/AdamW, 0.05 SGD, 0.3 LARS) */
    const char *schedule;   /* "constant", "cosine", "step:SIZE:GAMMA"; NULL: cosine */
    double wd;              /* < 0: the optimizer's default */
    int64_t warmup;         /* linear warm-up steps; < 0: 5% of the steps (sl_train_config_default) */
    double min_lr;          /* cosine floor */
    double clip_grad;       /* > 0: clip the global gradient norm */
    size_t epochs;          /* used when steps is 0; 0 and 0: 5 epochs */
    size_t steps;           /* total optimizer steps (overrides epochs) */
    size_t batch;           /* items per batch (0: 256; two-view objectives see 2x views); in a
                               distributed run the global batch, shared equally by the ranks */
    bool sync_bn;           /* distributed runs: batch norm over every rank's rows (sl_model_set_sync_bn) */
    uint64_t seed;          /* model initialisation, batch order and views */
    int threads;            /* compute threads (0: all cores) */
    int data_threads;       /* batch producer threads (0: 1) */
    /* output */
    const char *out;        /* checkpoint path (required) */
    const char *log;        /* JSONL log path; NULL: none */
    size_t log_every;       /* steps between log lines (0: 10) */
    size_t checkpoint_every; /* steps between checkpoints (0: only at the end) */
    size_t stop_at;         /* > 0: write a checkpoint and stop after this step (to split a run) */
    double time_limit;      /* > 0: end the run (with a checkpoint) after this many seconds */
    const char *resume;     /* checkpoint to continue from (see sl_trainer_create) */
    /* fine-tuning: a new run whose models start from another run's (see sl_trainer_create) */
    const char *init;       /* training checkpoint to take the models' tensors from; NULL: none */
    const char *init_towers; /* "encoder,projector,...": the towers to take (NULL: all the run has) */
    bool init_partial;      /* skip tensors whose shape differs (with a note) instead of failing */
    /* progress */
    FILE *progress_stream;  /* NULL: no progress */
    sl_progress_mode progress_mode;
    /* Polled after every step; when it becomes non-zero the trainer writes a
     * checkpoint and returns SL_ERR_INTERRUPTED (a SIGINT handler sets it). */
    const volatile sig_atomic_t *stop;
} sl_train_config;

void sl_train_config_default(sl_train_config *c);
/* Set the data fields (data ... shapes_noise) from a dataset configuration
 * (strings are borrowed). */
void sl_train_config_set_data(sl_train_config *c, const sl_data_config *dc);

/* What a run did. */
typedef struct sl_train_result {
    uint64_t step;          /* optimizer steps done in total (including resumed ones) */
    double loss;            /* loss of the last step */
    double mean_loss;       /* mean loss over the last epoch's steps (or the run's, if shorter) */
    double seconds;         /* wall time of this run */
    double images_per_s;    /* items per second in this run */
    uint64_t last_checkpoint; /* step of the last checkpoint written (0: none) */
    /* The embeddings' spread at the last logged step (see docs/training.md, "The log"):
     * emb_std, the mean per-dimension standard deviation of the L2-normalised
     * embeddings, and emb_rank, the effective rank of their covariance; -1 when
     * not measured (no log, or a reconstructing objective). */
    double emb_std, emb_rank;
    /* barlow, vicreg, simsiam, byol: the first logged step of this run (after its
     * first tenth and first 10 steps) at which the embeddings
     * looked collapsed (emb_std below 0.1 / sqrt(d), or effective rank below 1.05); 0: never. */
    uint64_t collapse_step;
} sl_train_result;

typedef struct sl_trainer sl_trainer;

/* What a run started with c->init took from the checkpoint. Tensors are the
 * models' parameters and buffers (BatchNorm running statistics), one per
 * name; a BatchNorm batch counter goes with its running statistics and is
 * not counted. */
typedef struct sl_train_init_report {
    size_t loaded;          /* copied from the checkpoint */
    size_t fresh;           /* of the new models, not in the checkpoint (or not taken): from the seed */
    size_t skipped;         /* same name, another shape, left as initialised (init_partial) */
    size_t unused;          /* the checkpoint's model tensors the new run does not take */
    bool input_norm;        /* the input normalisation is the checkpoint's (the encoder was taken) */
    const char *summary;    /* one line: "from PATH: loaded 8 tensors (encoder 8); new: classes.0.weight; ..." */
} sl_train_init_report;

/* Open the data, build (or, with c->resume, load) the models and the
 * optimizers. With resume the whole training setup comes from the
 * checkpoint; only steps/epochs (the new end), out, log, log_every,
 * checkpoint_every, stop_at, threads, data_threads, progress and stop are
 * taken from c. With init (not with resume) the run is new (step 0, fresh
 * optimizer state, c's settings), and after the models are built from c
 * every tensor of the chosen towers that the checkpoint has under the same
 * name ("encoder.0.weight") with the same shape is copied from it; a same
 * name with another shape fails naming the tensor and both shapes, unless
 * init_partial skips it. Taking the encoder also takes the checkpoint's
 * input normalisation, and its spec when c->encoder is NULL; taking CLIP's
 * text tower takes its vocabulary. sl_trainer_init_report says what was
 * taken; checkpoints of the run record init (train.init). Every setting of
 * the checkpoint is checked as strictly as
 * an option (range, syntax, consistency of the step with the planned end,
 * the epoch and the optimizer's step counts); resuming costs the same
 * whatever the step (the batch producer starts at the step's batch).
 * Errors: SL_ERR_ARG (bad option, with its name; a new end before the
 * checkpoint's step; init with resume; an init tensor of another shape, or
 * none that fits), SL_ERR_FORMAT (bad spec or checkpoint: the message
 * names the file, the key, the value and what was expected),
 * SL_ERR_NOTFOUND, SL_ERR_NOMEM. */
sl_status sl_trainer_create(const sl_train_config *c, sl_trainer **out);
void sl_trainer_destroy(sl_trainer *t); /* NULL-safe */

/* Bytes training will need (models, optimizer state, activations, batches,
 * loss scratch, the loaded dataset). */
size_t sl_trainer_memory(const sl_trainer *t);
/* A few lines describing the run: data, models and parameter counts,
 * objective, optimizer, steps. Valid for the trainer's life. */
const char *sl_trainer_describe(const sl_trainer *t);
/* What c->init took (valid for the trainer's life); NULL for a run created
 * without init, and for a resumed one. */
const sl_train_init_report *sl_trainer_init_report(const sl_trainer *t);
uint64_t sl_trainer_step(const sl_trainer *t);
uint64_t sl_trainer_total_steps(const sl_trainer *t);

/* Train until the last step (or stop_at, or *stop). Checkpoints go to
 * c->out every checkpoint_every steps and at the end, atomically.
 * Errors: SL_ERR_INTERRUPTED (stopped by *stop; a checkpoint was written),
 * SL_ERR_NUMERIC (the loss or a gradient is not finite: the message names
 * the step; the parameters of that step are not saved), SL_ERR_IO. res may
 * be NULL; it is filled also on SL_ERR_INTERRUPTED and SL_ERR_NUMERIC. */
sl_status sl_trainer_run(sl_trainer *t, sl_train_result *res);
/* Write a checkpoint of the current state to path. */
sl_status sl_trainer_save(const sl_trainer *t, const char *path);

/* The data a training checkpoint was made from: train.data (copied into
 * source, cap bytes, and pointed to by dc->source), train.split, data_seed,
 * data_count (dc->shapes_count), val_fraction, image_size (dc->size),
 * test_fraction, channels, labels and image_dir (copied after the source
 * into the same buffer), shapes_rotate and shapes_noise. Keys that are
 * absent leave their field as it is. Errors: those of sl_safetensors_read;
 * SL_ERR_FORMAT for a value that is not what simlearn writes (the message
 * names the file, the key, the value and what was expected); SL_ERR_RANGE
 * when the paths do not fit in cap bytes. */
sl_status sl_train_checkpoint_data(const char *path, sl_data_config *dc, char *source, size_t cap);

/* MemAvailable from /proc/meminfo in bytes; 0 when unknown. */
size_t sl_train_mem_available(void);

/* ---- embedding -----------------------------------------------------------*/
typedef struct sl_embed_config {
    const char *model;      /* checkpoint from simlearn train; NULL: raw pixels */
    const char *data;       /* dataset source; NULL: the one the model was trained on */
    sl_split split;
    uint64_t data_seed;     /* default: the model's */
    size_t data_count;      /* shapes: items (0: the model's training setting or the default) */
    double val_fraction;    /* < 0: the model's training setting (sl_embed_config_default sets -1) */
    int image_size;         /* 0: the model's */
    double test_fraction;   /* < 0: the model's training setting (sl_embed_config_default sets -1) */
    int channels;           /* 0: the model's */
    const char *labels;     /* .npy sources; NULL: the model's (when data is NULL or the model's source) */
    const char *image_dir;  /* caption lists; NULL: the model's (likewise), else the list's folder */
    bool shapes_rotate;     /* rotate each shape; also on when the model was trained so */
    float shapes_noise;     /* < 0: the model's (sl_embed_config_default sets -1) */
    const char *text_file;  /* CLIP models: embed these lines with the text tower instead */
    bool captions;          /* CLIP models: embed the dataset's captions with the text tower */
    bool projector;         /* the projector's output instead of the encoder's */
    bool normalize;         /* L2-normalise every row */
    size_t batch;           /* 0: 256 */
    int threads;            /* 0: all cores */
    sl_progress *progress;  /* borrowed, may be NULL; counts items */
    /* Polled before each batch; when it becomes non-zero sl_embed_run returns
     * SL_ERR_INTERRUPTED and no embedding. May be NULL. */
    const volatile sig_atomic_t *stop;
} sl_embed_config;

void sl_embed_config_default(sl_embed_config *c);
/* Set the data fields (data ... shapes_noise) from a dataset configuration
 * (strings are borrowed). */
void sl_embed_config_set_data(sl_embed_config *c, const sl_data_config *dc);
/* The dataset sl_embed_run(c) opens: c's settings, with what c leaves unset taken
 * from the model's checkpoint (c->model; without one, the defaults of
 * sl_data_config_default). Paths read from the checkpoint are copied into buf
 * (cap bytes) and dc points at them. Errors: those of
 * sl_train_checkpoint_data. */
sl_status sl_embed_data_config(const sl_embed_config *c, sl_data_config *dc, char *buf, size_t cap);

typedef struct sl_embedding {
    size_t n, d;
    float *x;               /* n x d */
    int n_attrs;
    char **attr_names;      /* n_attrs names */
    int *attr_classes;      /* n_attrs class counts */
    int32_t *labels;        /* n x n_attrs, -1 where unknown */
} sl_embedding;

/* Errors: those of sl_data_open and sl_model_import; SL_ERR_ARG when the
 * dataset's image shape does not match the model's input. */
sl_status sl_embed_run(const sl_embed_config *c, sl_embedding **out);
void sl_embedding_destroy(sl_embedding *e); /* NULL-safe */

/* ---- an encoder in memory --------------------------------------------------
 * The encoder of a checkpoint of simlearn train (and its projector, or a CLIP
 * model's text tower) loaded once, embedding images or lines of text the
 * caller holds in memory: what sl_embed_run does for a dataset, for arrays.
 * Images are given as the datasets give them (channels x height x width per
 * image, values in [0, 1]); the checkpoint's input normalisation
 * (train.input_mean/std) is applied as in training. An encoder holds its
 * activations: use it from one thread at a time. */
typedef struct sl_encoder sl_encoder;

/* Load the encoder of the checkpoint at path; with projector, its projector
 * too (embeddings are then the projector's output). A CLIP checkpoint's text
 * tower is loaded as well (sl_encoder_has_text). Errors: those of
 * sl_safetensors_read and sl_model_import; SL_ERR_FORMAT (not a training
 * checkpoint); SL_ERR_ARG (projector asked, none in the checkpoint). */
sl_status sl_encoder_load(const char *path, bool projector, sl_encoder **out);
void sl_encoder_destroy(sl_encoder *e); /* NULL-safe */
/* The shape of one input image and the width of an embedding. */
sl_shape sl_encoder_input_shape(const sl_encoder *e);
size_t sl_encoder_dim(const sl_encoder *e);
/* Whether the checkpoint has a text tower (a CLIP model), and the width of
 * its embeddings (0 without one). */
bool sl_encoder_has_text(const sl_encoder *e);
size_t sl_encoder_text_dim(const sl_encoder *e);

typedef struct sl_encoder_config {
    size_t batch;           /* images per forward pass (0: 256) */
    int threads;            /* 0: all cores; sl_threads_set is called with it */
    bool normalize;         /* L2-normalise every embedding */
    /* Polled before each batch; when it becomes non-zero the call returns
     * SL_ERR_INTERRUPTED (out is then partly written). May be NULL. */
    const volatile sig_atomic_t *stop;
} sl_encoder_config;
/* Fill c: batches of 256, all cores, no normalisation, no stop flag. */
void sl_encoder_config_default(sl_encoder_config *c);

/* Embed n images x (n x input shape, read only) into out (n x
 * sl_encoder_dim), in eval mode: the same numbers sl_embed_run gives for the
 * same images and batch size. c may be NULL (the defaults). Errors:
 * SL_ERR_ARG (n 0), SL_ERR_NUMERIC (a non-finite pixel, named by image and
 * position), SL_ERR_INTERRUPTED, SL_ERR_NOMEM. */
sl_status sl_encoder_embed(sl_encoder *e, const float *x, size_t n, const sl_encoder_config *c, float *out);
/* Embed n lines of text with the text tower into out (n x
 * sl_encoder_text_dim), as sl_embed_run does for a text file (the
 * checkpoint's word-level tokenizer; unknown words count as "<unk>").
 * c->batch and c->stop work as above. Errors: SL_ERR_ARG (no text tower, n
 * 0, a NULL line), SL_ERR_INTERRUPTED, SL_ERR_NOMEM. */
sl_status sl_encoder_embed_text(sl_encoder *e, const char *const *lines, size_t n, const sl_encoder_config *c,
                                float *out);

/* ---- zero-shot classification ---------------------------------------------
 * A CLIP model classifies images by text alone: each class of an attribute
 * becomes a prompt (a template with "{}" replaced by the class name), the text
 * tower embeds the prompts, the image encoder and the projector embed the
 * images, and each image gets the class whose prompt is the most similar by
 * cosine (ties: the lowest class). The scores are sl_flat_search's (cosine,
 * re-scored in double), so the predictions are the same whatever the thread
 * count. Like sl_embed_run, sl_zeroshot_run calls sl_threads_set(embed.threads)
 * and polls a stop flag (below). */
typedef struct sl_zeroshot_config {
    /* The images, as sl_embed_run takes them: embed.model is the CLIP
     * checkpoint (required); the data fields choose the dataset (what they
     * leave unset comes from the model), and batch, threads and progress
     * (counting images) work as there. projector, normalize, text_file,
     * captions and stop are not read. */
    sl_embed_config embed;
    const char *attribute;      /* the attribute to classify; NULL: the dataset's first */
    const char *prompt;         /* template; every "{}" becomes the class name ("a photo of a {}"; NULL: the same) */
    const char *const *classes; /* n_classes words for the prompts, in label order; NULL: the attribute's class names */
    size_t n_classes;
    /* Polled before the prompts and before each batch of images; when it
     * becomes non-zero sl_zeroshot_run returns SL_ERR_INTERRUPTED and no
     * result. May be NULL. */
    const volatile sig_atomic_t *stop;
} sl_zeroshot_config;

/* Fill c: sl_embed_config_default's embed on the validation split, the first
 * attribute, "a photo of a {}", the attribute's class names, no stop flag. */
void sl_zeroshot_config_default(sl_zeroshot_config *c);

typedef struct sl_zeroshot_result {
    char *attribute;          /* the attribute classified */
    size_t k;                 /* classes */
    char **classes;           /* k words put into the template */
    char **prompts;           /* k prompts as the text tower read them */
    size_t n_items;           /* images of the split */
    int32_t *predicted;       /* n_items: the class each image was given */
    int32_t *labels;          /* n_items: each image's true class (-1: unknown) */
    size_t n;                 /* images with a known class: those scored */
    size_t correct;           /* of them, predicted right */
    double accuracy;          /* correct / n (NaN when n is 0) */
    size_t *counts;           /* k: images of each true class */
    double *class_accuracy;   /* k: share of each class's images given that class (NaN for none) */
    size_t *confusion;        /* k x k counts, [true][predicted] */
    double chance;            /* 1 / k: a uniformly random guess */
    double majority;          /* share of the most common class among the n (NaN when n is 0) */
} sl_zeroshot_result;

/* Errors: SL_ERR_ARG (no model; a template without "{}"; a model without a
 * text tower; a dataset without labels; an attribute the dataset lacks, the
 * message listing those it has; a number of class names other than the
 * attribute's; an empty class name; prompt and image embeddings of
 * different widths), SL_ERR_INTERRUPTED (c->stop), those of sl_embed_run and
 * sl_flat_search. */
sl_status sl_zeroshot_run(const sl_zeroshot_config *c, sl_zeroshot_result **out);
void sl_zeroshot_result_destroy(sl_zeroshot_result *r); /* NULL-safe */

/* ---- the demo ------------------------------------------------------------*/
typedef struct sl_demo_config {
    const char *out_dir;    /* default "demo-out" */
    size_t steps;           /* contrastive steps (0: 200); the autoencoder gets the same */
    int threads;            /* 0: all cores */
    uint64_t seed;          /* default 1 */
    FILE *progress_stream;  /* NULL: no progress */
    sl_progress_mode progress_mode;
    /* Polled by the training runs and the embeddings (as in sl_train_config
     * and sl_embed_config); may be NULL. */
    const volatile sig_atomic_t *stop;
} sl_demo_config;
/* Fill c with the defaults: "demo-out", 200 steps, all cores, seed 1, no
 * progress, no stop flag. */
void sl_demo_config_default(sl_demo_config *c);

#define SL_DEMO_REPS 3
typedef struct sl_demo_result {
    const char *rep_names[SL_DEMO_REPS];   /* "raw pixels", "autoencoder", "contrastive (color)" */
    int n_attrs;
    const char *attr_names[4];
    double chance[4];                      /* share of the most common class */
    double acc[SL_DEMO_REPS][4];
    size_t n_val;
    double seconds;
} sl_demo_result;

/* Train the two models into c->out_dir, embed the validation split with
 * each and with raw pixels, and fill r. Errors: those of the training runs
 * and the embeddings; SL_ERR_INTERRUPTED (c->stop) leaves the files written
 * so far (a stopped training run writes its checkpoint) and r untouched. */
sl_status sl_demo_run(const sl_demo_config *c, sl_demo_result *r);

#ifdef __cplusplus
}
#endif
#endif

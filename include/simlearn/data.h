/* simlearn data: datasets (the procedural shapes world, IDX files, image
 * folders, image-caption lists, .npy matrices) behind one interface,
 * augmentation pipelines built from a spec string, and a batch producer thread
 * that prepares the next batch while the caller trains on the current one.
 * Threads: a dataset and an augmentation pipeline are only read once made, so
 * any number of threads may use them at once (each with its own sl_rng and
 * scratch); a batcher is used by one thread at a time (its own worker
 * threads fill it). */
#ifndef SIMLEARN_DATA_H
#define SIMLEARN_DATA_H

#include "simlearn/base.h"
#include "simlearn/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- datasets -----------------------------------------------------------
 * A dataset is a fixed, ordered list of items. Each item is an image stored
 * as float32 channels x height x width (CHW) with values in [0, 1] (vector
 * data from .npy is 1 x 1 x dim with its values as stored), one label per
 * attribute (-1 where unknown) and, for captioned sources, a caption.
 *
 * Sources, chosen by sl_data_config.source:
 *   "shapes"            the built-in shapes world (train/val/test, no files)
 *   "fashion-mnist"     IDX files in /usr/share/datasets/fashion-mnist/
 *   "mnist"             IDX files in /usr/share/datasets/mnist/ when present
 *   DIR with IDX files  train-images-idx3-ubyte[.gz] / t10k-images-idx3-ubyte[.gz]
 *   FILE-idx3-ubyte[.gz] one IDX images file, all of it whatever the split
 *                       (labels from the matching *-labels-idx1-ubyte[.gz]
 *                       beside it, when present)
 *   DIR                 an image folder DIR/<class>/<image>.png|jpg
 *   FILE.tsv            image path<TAB>caption lines (paths relative to FILE)
 *   FILE.txt / .token   Flickr8k captions "name.jpg#k<TAB>caption"; images are
 *                       looked up in config.image_dir (default: FILE's folder)
 *   FILE.npy            an n x d matrix; labels from config.labels (.npy)
 * Splits: shapes has three disjoint generated splits; IDX sources have their
 * train and test files (and a validation split only when val_fraction > 0,
 * carved from the end of the train file); every other source is split
 * deterministically by a hash of (seed, image key), so an image with several
 * captions never lands in two splits. */
typedef enum { SL_SPLIT_TRAIN, SL_SPLIT_VAL, SL_SPLIT_TEST, SL_SPLIT_ALL } sl_split;
/* "train", "val" (or "validation"), "test", "all". */
sl_status sl_split_parse(const char *s, sl_split *out);
const char *sl_split_name(sl_split s);

typedef enum { SL_DATA_SHAPES, SL_DATA_IDX, SL_DATA_FOLDER, SL_DATA_CAPTIONS, SL_DATA_NPY } sl_data_kind;

typedef struct sl_data_config {
    const char *source;    /* built-in name or path (see above) */
    sl_split split;        /* default SL_SPLIT_TRAIN */
    uint64_t seed;         /* shapes world and deterministic splits; default 0 */
    int size;              /* image side for shapes (default 32) and image folders/captions (default 64) */
    int channels;          /* image folders/captions: 1 or 3 (default 3) */
    double val_fraction;   /* < 0: the source's default (0 for IDX, 0.1 otherwise) */
    double test_fraction;  /* < 0: default 0.1 (not used by shapes or IDX) */
    const char *labels;    /* .npy sources: optional labels file */
    const char *image_dir; /* caption lists: folder of the images (default: the list's folder) */
    /* shapes world */
    size_t shapes_count;   /* items in the chosen split; 0: 50000 train, 5000 val, 10000 test */
    bool shapes_rotate;    /* random rotation of each shape (default false) */
    float shapes_noise;    /* std of background pixel noise (default 0) */
} sl_data_config;

/* Fill c with the defaults (source "shapes", train split). */
void sl_data_config_default(sl_data_config *c);

/* One attribute an item is labelled with: its name and the names of its
 * classes. Shapes has "shape", "color", "size", "location"; IDX and image
 * folders have "class"; .npy with labels has "label". */
typedef struct sl_attr {
    const char *name;
    int n_classes;
    const char *const *class_names; /* n_classes strings */
} sl_attr;

typedef struct sl_dataset sl_dataset;

/* Open a dataset. IDX, image folders and caption lists are loaded (and
 * images decoded and resized) here, so sl_data_get is cheap and never fails
 * on I/O. Images that fail to decode are skipped and listed (see
 * sl_data_skipped); a caption list naming a missing image is an error.
 * Errors: SL_ERR_NOTFOUND (no such file, unknown name, dataset not
 * installed: the message says how to install it), SL_ERR_FORMAT (corrupt
 * file, with file and byte/line), SL_ERR_ARG (bad config), SL_ERR_NOMEM. */
sl_status sl_data_open(const sl_data_config *c, sl_dataset **out);
/* NULL-safe. */
void sl_data_destroy(sl_dataset *d);

/* The accessors and sl_data_get only read the dataset: any number of threads
 * may call them at once. */
sl_data_kind sl_data_kind_of(const sl_dataset *d);
const char *sl_data_name(const sl_dataset *d); /* "shapes", "fashion-mnist", or the path */
sl_split sl_data_split(const sl_dataset *d);
size_t sl_data_count(const sl_dataset *d);
int sl_data_channels(const sl_dataset *d);
int sl_data_height(const sl_dataset *d);
int sl_data_width(const sl_dataset *d);
/* C*H*W: floats per item. */
size_t sl_data_item_size(const sl_dataset *d);
int sl_data_num_attrs(const sl_dataset *d);
const sl_attr *sl_data_attr(const sl_dataset *d, int k); /* NULL if k is out of range */
/* Index of the attribute called name, or -1. */
int sl_data_find_attr(const sl_dataset *d, const char *name);
bool sl_data_has_captions(const sl_dataset *d);
/* Images skipped at open because they could not be decoded: how many, and
 * for each its path and the decoder's message (borrowed strings). */
size_t sl_data_skipped(const sl_dataset *d);
const char *sl_data_skipped_path(const sl_dataset *d, size_t k);
const char *sl_data_skipped_reason(const sl_dataset *d, size_t k);

/* Longest caption, including the NUL, that sl_data_get writes. */
#define SL_CAPTION_MAX 512

/* Item i. Any of x (C*H*W floats), labels (sl_data_num_attrs ints, -1 if
 * unknown) and caption (SL_CAPTION_MAX chars; "" when the source has none)
 * may be NULL. Errors: SL_ERR_RANGE when i >= count. */
sl_status sl_data_get(const sl_dataset *d, size_t i, float *x, int32_t *labels, char *caption);

/* Per-channel pixel mean and standard deviation over the first `limit`
 * items (0: all), accumulated in double; for C > 3 only the first three
 * channels are reported. Useful for the normalization of sl_batch_config. */
sl_status sl_data_pixel_stats(const sl_dataset *d, size_t limit, double mean[3], double std[3]);

/* ---- the shapes world ---------------------------------------------------
 * One anti-aliased shape on a dark background. An item is a pure function of
 * (seed, split, i): its parameters are drawn from an RNG stream keyed by all
 * three, so splits never share an item and any item can be made alone. */
#define SL_SHAPES_NUM_SHAPES 7 /* circle square triangle diamond cross star hexagon */
#define SL_SHAPES_NUM_COLORS 8 /* red orange yellow green cyan blue purple white */
typedef enum { SL_SHAPES_ATTR_SHAPE, SL_SHAPES_ATTR_COLOR, SL_SHAPES_ATTR_SIZE, SL_SHAPES_ATTR_LOCATION } sl_shapes_attr;
/* Bit masks of attributes for sl_shapes_resample's keep argument. */
#define SL_KEEP_SHAPE (1u << SL_SHAPES_ATTR_SHAPE)
#define SL_KEEP_COLOR (1u << SL_SHAPES_ATTR_COLOR)
#define SL_KEEP_SIZE (1u << SL_SHAPES_ATTR_SIZE)
#define SL_KEEP_LOCATION (1u << SL_SHAPES_ATTR_LOCATION)

typedef struct sl_shapes_item {
    int shape;          /* 0..SL_SHAPES_NUM_SHAPES-1 */
    int color;          /* 0..SL_SHAPES_NUM_COLORS-1 */
    float rgb[3];       /* the palette color with a small jitter */
    float radius;       /* continuous size, fraction of the image side */
    float cx, cy;       /* continuous centre, fractions of the side (x right, y down) */
    float angle;        /* rotation in radians */
    uint64_t noise_key; /* seeds the background noise */
} sl_shapes_item;

/* The labels of an item: shape, color, size (0 small, 1 large) and location
 * (3x3 grid cell, row-major from the top left). */
void sl_shapes_labels(const sl_shapes_item *it, int32_t labels[4]);
/* "a large red triangle in the top left". buf has SL_CAPTION_MAX chars. */
void sl_shapes_caption(const sl_shapes_item *it, char *buf);
/* Parameters of item i of a shapes dataset (SL_ERR_ARG if d is not shapes,
 * SL_ERR_RANGE if i is out of range). */
sl_status sl_shapes_item_of(const sl_dataset *d, size_t i, sl_shapes_item *out);
/* Redraw every attribute not in keep (a mask of SL_KEEP_*) from r; the
 * rotation and the background noise are always redrawn. A kept location
 * keeps its grid cell, and its exact centre unless a redrawn size no longer
 * fits there. */
void sl_shapes_resample(const sl_dataset *d, sl_shapes_item *it, unsigned keep, sl_rng *r);
/* Render an item as 3 x size x size floats in [0, 1]. */
void sl_shapes_render(const sl_dataset *d, const sl_shapes_item *it, float *x);

/* ---- augmentation -------------------------------------------------------
 * A pipeline of ops from a spec string such as
 *   crop(0.6,1.0),flip,jitter(0.4,0.4,0.4,0.1)@0.8,gray(0.2),blur(1.0),
 *   noise(0.05),rotate(15),translate(4),cutout(8),permute-channels
 * or a preset name: color, location, shape+location (shapes only), simclr.
 * Each op runs with a probability: `op@p` (flip and gray(p) default to their
 * usual 0.5 and p, everything else to 1). On shapes, `keep=ATTR[+ATTR...]`
 * first re-renders the item with the other attributes redrawn. The ops:
 *   crop(smin,smax)    random resized crop: area fraction in [smin,smax],
 *                      aspect ratio log-uniform in [3/4,4/3], bilinear
 *   flip               horizontal mirror
 *   jitter(b,c,s,h)    brightness, contrast, saturation factors in [1-x,1+x],
 *                      hue shift in [-h,h] turns; result clamped to [0,1]
 *   gray(p)            luma grayscale (copied to every channel)
 *   blur(s)            Gaussian blur, sigma uniform in [0.1, s] pixels
 *   noise(std)         additive Gaussian noise, clamped to [0,1]
 *   rotate(deg)        rotation by an angle uniform in [-deg,deg], bilinear
 *   translate(px)      integer shift in [-px,px] on each axis, zero fill
 *   cutout(px)         a px x px square set to 0 at a random position
 *   permute-channels   a random permutation of the channels
 * Given the same RNG state the result is the same bit for bit. */
typedef struct sl_augment sl_augment;

/* Parse a spec (or preset). Errors: SL_ERR_ARG with the position and what
 * was expected. The pipeline is immutable afterwards and may be shared by
 * threads. */
sl_status sl_augment_create(const char *spec, sl_augment **out);
void sl_augment_destroy(sl_augment *a);
/* The spec a preset expands to, or NULL if name is not a preset. */
const char *sl_augment_preset(const char *name);
/* Whether the pipeline re-renders shapes items (has keep=...). */
bool sl_augment_resamples(const sl_augment *a);
/* Floats of scratch memory sl_augment_apply* needs for c x h x w images. */
size_t sl_augment_scratch_size(const sl_augment *a, int c, int h, int w);
/* Apply the ops in place to x (c x h x w). scratch: sl_augment_scratch_size
 * floats (not shared between threads). Errors: SL_ERR_ARG if the pipeline
 * has keep=... (that needs the dataset; use sl_augment_item). */
sl_status sl_augment_apply(const sl_augment *a, float *x, int c, int h, int w, sl_rng *r, float *scratch);
/* An augmented view of item i of d into x (sl_data_item_size floats).
 * Errors: SL_ERR_ARG if the pipeline has keep=... and d is not shapes. */
sl_status sl_augment_item(const sl_augment *a, const sl_dataset *d, size_t i, sl_rng *r, float *x, float *scratch);

/* ---- batch producer -----------------------------------------------------
 * Worker threads fill upcoming batches while the caller consumes the current
 * one. Batch b of epoch e always holds the same items and the same views for
 * a given seed, whatever the thread count or timing: the order of epoch e is
 * a shuffle seeded by (seed, e) and every view draws from an RNG stream keyed
 * by (seed, e, position in the epoch, view). Nothing carries over from one
 * batch to the next, so a producer can start at any batch (config.start):
 * the first batch costs one epoch's shuffle (O(items)) more than any other,
 * whatever the number of batches before it. */
typedef enum {
    SL_BATCH_TWO_VIEWS, /* x and x2: two augmented views of each item */
    SL_BATCH_ONE_VIEW,  /* x: one view (augmented when aug is given) */
    SL_BATCH_CAPTION    /* x: one view, plus captions */
} sl_batch_mode;

/* The largest batch. */
#define SL_BATCH_MAX ((size_t)1 << 24)

typedef struct sl_batch_config {
    const sl_dataset *data;   /* borrowed; must outlive the batcher */
    const sl_augment *aug;    /* view augmentation, or NULL for none (borrowed) */
    const sl_augment *aug2;   /* second view's augmentation; NULL: same as aug */
    sl_batch_mode mode;
    size_t batch_size;        /* default 256 */
    uint64_t seed;
    bool shuffle;             /* default true */
    bool drop_last;           /* default true: every batch is full */
    int threads;              /* worker threads, default 1 */
    int prefetch;             /* batches prepared ahead, default 2 */
    size_t epochs;            /* 0: unlimited */
    /* The first batch to produce, counted over the epochs: batch start %
     * steps-per-epoch of epoch start / steps-per-epoch (0: the first).
     * It may equal the end of the last epoch (nothing is left). */
    size_t start;
    /* When normalize is set, every view becomes (x - mean[c]) / std[c] after
     * augmentation (channel c; gray images use index 0). */
    bool normalize;
    float mean[3], std[3];
    /* Data-parallel runs: this process makes only its share of every batch,
     * positions [m * shard / shards, m * (shard + 1) / shards) of a batch
     * of m items (m = batch_size but for a last short batch), with the
     * same items and views the whole batch has there. shards 0 or 1: the
     * whole batch. */
    size_t shard, shards;
} sl_batch_config;

void sl_batch_config_default(sl_batch_config *c);

typedef struct sl_batch {
    size_t n;            /* items in this batch (in this shard) */
    size_t offset;       /* the shard's first position in the whole batch (0 without shards) */
    size_t epoch;        /* 0-based */
    size_t step;         /* batch number within the epoch */
    int c, h, w;
    float *x;            /* n x c x h x w */
    float *x2;           /* n x c x h x w (SL_BATCH_TWO_VIEWS), else NULL */
    int32_t *labels;     /* n x num_attrs */
    size_t *items;       /* dataset indices */
    char (*captions)[SL_CAPTION_MAX]; /* n captions (SL_BATCH_CAPTION), else NULL */
} sl_batch;

typedef struct sl_batcher sl_batcher;
sl_status sl_batcher_create(const sl_batch_config *c, sl_batcher **out);
/* Batches per epoch. */
size_t sl_batcher_steps_per_epoch(const sl_batcher *b);
/* Wait for the next batch. The batch is owned by b and stays valid until the
 * next call. Errors: SL_ERR_NOTFOUND after the last epoch; a worker's error
 * (e.g. SL_ERR_ARG) is returned here. */
sl_status sl_batcher_next(sl_batcher *b, const sl_batch **out);
/* Stops and joins the workers. NULL-safe. */
void sl_batcher_destroy(sl_batcher *b);

#ifdef __cplusplus
}
#endif
#endif

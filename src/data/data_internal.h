/* The dataset object shared by the data module's files: one struct for every
 * source, with the loaders each file provides. Not installed. */
#ifndef SIMLEARN_DATA_INTERNAL_H
#define SIMLEARN_DATA_INTERNAL_H

#include "internal.h"

#define SL__MAX_ATTRS 4

struct sl_dataset {
    sl_data_kind kind;
    char *name;
    sl_split split;
    size_t n;
    int c, h, w;
    int nattrs;
    sl_attr attrs[SL__MAX_ATTRS];
    char **owned_names; /* class names allocated by the loader (folder, npy) */
    size_t n_owned_names;
    /* Decoded images (IDX, folder, captions): nimg x c*h*w bytes; item i uses
     * row img_of[i] (or row i when img_of is NULL). */
    uint8_t *pix;
    size_t nimg;
    size_t *img_of;
    int32_t *labels; /* n x nattrs */
    char **captions; /* n, or NULL */
    float *vec;      /* .npy: n x w */
    /* shapes */
    uint64_t seed;
    bool rotate;
    float noise;
    /* images skipped at open */
    size_t nskipped;
    char **skipped_path, **skipped_reason;
};

/* Loaders: fill the kind-specific fields of d (already zeroed, with name,
 * split and config copied). On failure the caller closes d. */
sl_status sl__shapes_open(sl_dataset *d, const sl_data_config *c);
sl_status sl__idx_open(sl_dataset *d, const sl_data_config *c, const char *dir_or_file);
sl_status sl__folder_open(sl_dataset *d, const sl_data_config *c);
sl_status sl__captions_open(sl_dataset *d, const sl_data_config *c);
sl_status sl__npy_open(sl_dataset *d, const sl_data_config *c);

/* Read an IDX file (plain or gzip) of unsigned bytes: *ndim in 1..3, dims,
 * data owned by the caller. */
sl_status sl__idx_read(const char *path, uint8_t **data, int *ndim, size_t dims[3]);

/* Which split a key falls in, from a hash of (seed, key). */
sl_split sl__split_of_key(uint64_t seed, const char *key, double val_fraction, double test_fraction);
/* Centre-crop to a square and area-resize an 8-bit image to out (c_out x
 * size x size, CHW, bytes), converting gray/RGB as needed. */
void sl__resize_square(const uint8_t *in, int w, int h, int c_in, uint8_t *out, int size, int c_out);
/* sl_image_read that may decode a JPEG at 1/2, 1/4 or 1/8 scale while its
 * shorter side stays >= min_side (defined in src/io/image.c). */
sl_status sl__image_read_scaled(const char *path, int min_side, uint8_t **pixels, int *width, int *height,
                                int *channels);
/* Record a skipped image. */
sl_status sl__data_skip(sl_dataset *d, const char *path, const char *reason);
/* Render item i of a shapes dataset. */
void sl__shapes_get(const sl_dataset *d, size_t i, float *x, int32_t *labels, char *caption);
/* Batches the producer's workers have made since sl_batcher_create (a
 * statistic for tests: a producer started at batch k makes none before k). */
size_t sl__batcher_made(sl_batcher *b);

#endif

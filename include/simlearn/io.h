/* simlearn io: the file formats simlearn reads and writes — .npy arrays,
 * safetensors checkpoints, word2vec/fastText vectors and PNG images. Every
 * writer is atomic (see sl_afile); every reader validates sizes against the
 * file before allocating and reports the file and position of a problem.
 * Threads: nothing here keeps state; readers and writers may run in several
 * threads at once on distinct outputs; an sl_tensors or sl_wordvecs that a
 * call changes is used by one thread at a time, and its const accessors may
 * run in any number of threads while nothing changes it. */
#ifndef SIMLEARN_IO_H
#define SIMLEARN_IO_H

#include "simlearn/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SL_F32, SL_F64, SL_I32, SL_I64, SL_U8 } sl_dtype;
#define SL_MAX_DIMS 8

/* Size of one element in bytes, and the name used in messages ("float32"). */
size_t sl_dtype_size(sl_dtype t);
const char *sl_dtype_name(sl_dtype t);

/* An owned n-dimensional array in C order. */
typedef struct sl_array {
    sl_dtype dtype;
    int ndim;
    size_t shape[SL_MAX_DIMS];
    void *data;
} sl_array;

/* Allocate an array of the given dtype and shape, zero-filled. */
sl_status sl_array_alloc(sl_array *a, sl_dtype dtype, int ndim, const size_t *shape);
/* Number of elements (product of the shape; 1 for ndim 0). */
size_t sl_array_count(const sl_array *a);
/* Free the data and reset a to empty. NULL-safe. */
void sl_array_destroy(sl_array *a);

/* ---- .npy ---------------------------------------------------------------
 * Format versions 1.0, 2.0 and 3.0 are read; 1.0 is written (2.0 when the
 * header needs it). dtypes read: f4 f8 i4 i8 u1 in either byte order ('<',
 * '>', '|', '=') and C or Fortran order, returned in C order and native byte
 * order; others (|i1, <u4, object arrays ...) are refused with a message
 * naming the dtype. The header is read as numpy reads it with
 * allow_pickle=False (a Python literal; 2L in 1.0/2.0 headers; docs/FORMATS.md).
 * Floating-point data is not checked for NaN here; see sl_npy_read_matrix. */
sl_status sl_npy_read(const char *path, sl_array *out);
sl_status sl_npy_write(const char *path, const sl_array *a);
/* Read a 1-D or 2-D numeric array and convert it to a float32 row-major
 * matrix (a 1-D array of n becomes n x 1). Rejects NaN/Inf, naming the row
 * and column. *data is owned by the caller (free with sl_allocator_free). */
sl_status sl_npy_read_matrix(const char *path, float **data, size_t *rows, size_t *cols);
/* One part of the rows, as a process of a distributed run holds them: rows
 * [r * part / parts, r * (part + 1) / parts) of the r rows of a 1-D or 2-D
 * array, read from the file alone (the rest is never read), converted and
 * checked as sl_npy_read_matrix does (messages give the rows' numbers in the
 * whole file). *first and *total receive the first row's number and r; a
 * part may be empty (*rows 0; *data must still be freed). Errors: those of
 * sl_npy_read_matrix, SL_ERR_ARG (part >= parts). */
sl_status sl_npy_read_matrix_part(const char *path, size_t part, size_t parts, float **data, size_t *rows,
                                  size_t *cols, size_t *first, size_t *total);
sl_status sl_npy_write_matrix(const char *path, const float *data, size_t rows, size_t cols);
/* Read a 1-D integer (or integral float) array as int64 labels. */
sl_status sl_npy_read_labels(const char *path, int64_t **labels, size_t *n);
/* Read a 1-D or 2-D integer (or integral float) array as an int64 row-major
 * matrix (a 1-D array of n becomes n x 1), such as row-index pairs; a
 * non-integral value is SL_ERR_FORMAT naming its row and column. */
sl_status sl_npy_read_int_matrix(const char *path, int64_t **data, size_t *rows, size_t *cols);
sl_status sl_npy_write_labels(const char *path, const int64_t *labels, size_t n);

/* ---- safetensors --------------------------------------------------------
 * A collection of named tensors plus string metadata, read and written in the
 * safetensors layout (8-byte little-endian header length, JSON header, raw
 * little-endian data) so PyTorch's safetensors loader reads what we write.
 * Tensor names keep insertion order. */
typedef struct sl_tensors sl_tensors;
sl_status sl_tensors_create(sl_tensors **out);
void sl_tensors_destroy(sl_tensors *t);
/* Copy a tensor in under `name` (replacing one of the same name). Names and
 * metadata are non-empty UTF-8; "__metadata__" is reserved (SL_ERR_ARG). */
sl_status sl_tensors_add(sl_tensors *t, const char *name, sl_dtype dtype, int ndim, const size_t *shape,
                         const void *data);
/* NULL if absent. The array stays owned by t. */
const sl_array *sl_tensors_get(const sl_tensors *t, const char *name);
size_t sl_tensors_count(const sl_tensors *t);
const char *sl_tensors_name(const sl_tensors *t, size_t i);
/* String metadata ("__metadata__" in the file). */
sl_status sl_tensors_set_meta(sl_tensors *t, const char *key, const char *value);
const char *sl_tensors_get_meta(const sl_tensors *t, const char *key); /* NULL if absent */
size_t sl_tensors_meta_count(const sl_tensors *t);
const char *sl_tensors_meta_key(const sl_tensors *t, size_t i);
/* Writes metadata first, then the tensors in insertion order, back to back.
 * Reading checks the header strictly (JSON syntax, duplicate keys, dtypes
 * F32/F64/I32/I64/U8, offsets matching dtype x shape and covering the data
 * exactly). Errors: SL_ERR_IO, SL_ERR_FORMAT, SL_ERR_UNSUPPORTED (other
 * dtypes, more than 8 dims), SL_ERR_RANGE, SL_ERR_NOMEM. */
sl_status sl_safetensors_write(const char *path, const sl_tensors *t);
sl_status sl_safetensors_read(const char *path, sl_tensors **out);

/* ---- word vectors -------------------------------------------------------
 * word2vec text ("N D" header, then "word v1 ... vD" lines; fastText .vec is
 * the same) and word2vec binary ("N D\n", then "word " + D little-endian
 * float32 + optional '\n'). Readers tolerate trailing spaces, CRLF and UTF-8
 * words and are strict on counts and dims. */
typedef enum { SL_W2V_AUTO, SL_W2V_TEXT, SL_W2V_BINARY } sl_w2v_format;
typedef struct sl_wordvecs {
    size_t n, dim;
    char **words;  /* n NUL-terminated UTF-8 strings */
    float *vecs;   /* n x dim, row-major */
} sl_wordvecs;
/* words is an array of n NULL pointers for the caller to fill, vecs is zeroed.
 * sl_wordvecs_destroy frees each non-NULL word, the arrays and w through the
 * library's allocator (the C library's malloc/free unless sl_allocator_set
 * replaced it), so words must come from that allocator. NULL-safe. */
sl_status sl_wordvecs_create(size_t n, size_t dim, sl_wordvecs **out);
void sl_wordvecs_destroy(sl_wordvecs *w);
/* AUTO looks at the first row after the header to tell text from binary.
 * Errors: SL_ERR_IO (cannot open/read), SL_ERR_FORMAT (layout, counts, dims,
 * truncation; the message names the line or byte and the word),
 * SL_ERR_NUMERIC (NaN/Inf or beyond float32), SL_ERR_RANGE, SL_ERR_NOMEM. */
sl_status sl_w2v_read(const char *path, sl_w2v_format fmt, sl_wordvecs **out);
/* Text (AUTO means text) writes each value as the shortest decimal that reads
 * back as the same float32. Refuses empty words, words with whitespace and
 * non-finite values (SL_ERR_ARG / SL_ERR_NUMERIC) before creating the file. */
sl_status sl_w2v_write(const char *path, const sl_wordvecs *w, sl_w2v_format fmt);
/* Which format a file is, without reading it all. */
sl_status sl_w2v_detect(const char *path, sl_w2v_format *out);

/* ---- PNG ---------------------------------------------------------------
 * 8-bit gray (channels 1), RGB (3) or RGBA (4), row-major interleaved. */
sl_status sl_png_write(const char *path, const uint8_t *pixels, int width, int height, int channels);
/* Encode to memory (for inlining in HTML); *out freed with sl_allocator_free. */
sl_status sl_png_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **out,
                        size_t *out_len);
/* Decode PNG or JPEG (by magic) to 8-bit RGB or gray; *pixels freed with sl_allocator_free. */
sl_status sl_image_read(const char *path, uint8_t **pixels, int *width, int *height, int *channels);

#ifdef __cplusplus
}
#endif
#endif

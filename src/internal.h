/* Private helpers shared by the library's modules: error reporting, the
 * allocator entry points and a few checked-arithmetic helpers. Not installed. */
#ifndef SIMLEARN_INTERNAL_H
#define SIMLEARN_INTERNAL_H

#include "simlearn.h"

#include <stdarg.h>
#include <string.h>

#if defined(__GNUC__)
#define SL__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SL__PRINTF(a, b)
#endif

/* Set the thread's detailed error message and return s, so failures read
 * `return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: expected ...", path, pos);` */
sl_status sl__fail(sl_status s, const char *fmt, ...) SL__PRINTF(2, 3);
/* Prefix the current message with more context ("loading model: ..."). */
sl_status sl__fail_prefix(sl_status s, const char *fmt, ...) SL__PRINTF(2, 3);

void *sl__malloc(size_t size);
void *sl__calloc(size_t n, size_t size); /* overflow-checked, zeroed */
void *sl__realloc(void *ptr, size_t size);
/* Ask the kernel for 2 MiB pages in the 2 MiB-aligned part of a large block
 * that is written once per call (Linux's MADV_HUGEPAGE; a hint, ignored where
 * transparent huge pages are off): each small page would cost a fault. */
void sl__advise_huge(void *p, size_t size);
void sl__free(void *ptr);
char *sl__strdup(const char *s);
/* Overflow-checked n*size allocation; sets an SL_ERR_NOMEM message naming what. */
void *sl__malloc_array(size_t n, size_t size, const char *what);

/* sl_array_alloc without the zero fill, for readers that overwrite it all. */
sl_status sl__array_alloc_raw(sl_array *a, sl_dtype dtype, int ndim, const size_t *shape);

/* True if s[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
bool sl__utf8_valid(const char *s, size_t n);

/* The word-vector text reader's float parser and its strtof-only twin: parse
 * one float32 token of a NUL-terminated line that ends at a space, a tab or
 * the end. Return 0 ok, 1 not a number, 2 NaN/Inf, 3 beyond float32 range;
 * *stop is where the token ended (valid when 0 is returned). */
int sl__w2v_parse_float(const char *p, float *out, const char **stop);
int sl__w2v_parse_float_ref(const char *p, float *out, const char **stop);
/* The shortest decimal (6 to 9 significant digits, %g style) that reads back
 * as exactly f; out holds >= 32 bytes; returns the length. */
int sl__w2v_format_float(float f, char *out);

/* Strict readers of a safetensors collection's string metadata (defined in
 * src/io/safetensors.c), for checkpoint settings. A value must be exactly
 * what simlearn writes: an integer is decimal digits only (no sign, no
 * spaces), a number is finite decimal notation, a name one of a list. Every
 * failure is SL_ERR_FORMAT with a message naming the file (the path it was
 * read from, or "checkpoint"), the key, the value found and what was
 * expected. A missing key fails only with SL__META_REQUIRED; otherwise *out
 * keeps its value. */
#define SL__META_REQUIRED 1u
#define SL__META_ABOVE_LO 2u /* sl__meta_double: lo itself is out of range */
const char *sl__tensors_where(const sl_tensors *t);
sl_status sl__meta_uint(const sl_tensors *t, const char *key, uint64_t lo, uint64_t hi, unsigned flags,
                        uint64_t *out);
sl_status sl__meta_double(const sl_tensors *t, const char *key, double lo, double hi, unsigned flags, double *out);
/* *out is the index of the value in names[0..n). */
sl_status sl__meta_name(const sl_tensors *t, const char *key, const char *const *names, size_t n, unsigned flags,
                        size_t *out);
/* A non-empty string; what describes it in the message ("a model spec"). */
sl_status sl__meta_str(const sl_tensors *t, const char *key, const char *what, unsigned flags, const char **out);
/* Fail on key's current value (or its absence): "expected <expected>". */
sl_status sl__meta_fail(const sl_tensors *t, const char *key, const char *expected, ...) SL__PRINTF(3, 4);

/* The tile shape (mt rows x nt columns, edge tiles smaller) sl_gemm cuts an
 * M x N x K product into; it depends on nothing else. */
void sl__gemm_tiles(size_t M, size_t N, size_t K, size_t *mt, size_t *nt);
/* sl_gemm as one single-threaded OpenBLAS call, never cut into tiles: for
 * callers that already split their work in a fixed way between threads
 * (the convolution's slices), where tiles would only add re-packing. The
 * bits differ from sl_gemm's when sl_gemm would cut the product, so a
 * caller must choose between the two by the shapes alone. */
void sl__gemm_one(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
                  const float *B, size_t ldb, float beta, float *C, size_t ldc);
/* sl_gemm with `lim` in place of the largest size or stride one BLAS call
 * takes (src/tensor/gemm.c), so that tests reach the pieces a larger product
 * is cut into with small matrices. */
void sl__gemm_limited(size_t lim, bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha,
                      const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc);

/* bfloat16 products (src/tensor/bf16.c). Whether they can run here: oneDNN
 * (libdnnl.so.2) opens and the CPU has the AVX-512 BF16 instructions, and
 * SIMLEARN_NO_BF16 is unset or 0. */
bool sl__bf16_available(void);
/* x[0..n) rounded to bf16, to nearest with ties to even. */
void sl__bf16_round(const float *x, size_t n, uint16_t *out);
/* The float value of a bf16 (inline: it sits in vectorised loops). */
static inline float sl__bf16_value(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
/* C (M x N, row stride ldc) = A B^T for A (M x K, stride lda) and B (N x K,
 * stride ldb) in bf16: exact products, float32 sums in an order of oneDNN's
 * choosing, on omp_get_max_threads() threads. SL_ERR_STATE when not
 * available, SL_ERR_NOMEM when oneDNN fails. */
sl_status sl__gemm_bf16_nt(size_t M, size_t N, size_t K, const uint16_t *A, size_t lda, const uint16_t *B,
                           size_t ldb, float *C, size_t ldc);

#define SL__MIN(a, b) ((a) < (b) ? (a) : (b))
#define SL__MAX(a, b) ((a) > (b) ? (a) : (b))

/* Propagate an error status. */
#define SL__TRY(expr)                    \
    do {                                 \
        sl_status sl__st_ = (expr);      \
        if (sl__st_ != SL_OK) return sl__st_; \
    } while (0)

/* ---- checksummed files (src/base/checked.c) ---------------------------------*/
/* FNV-1a 64 over n bytes, continuing from hsh (SL__FNV1A_INIT to start): the
 * checksum of simlearn's index files, shard manifests and subword models. */
#define SL__FNV1A_INIT 0xcbf29ce484222325ULL
uint64_t sl__fnv1a(uint64_t hsh, const void *p, size_t n);

/* The whole file at path in a new buffer (*size >= 1 bytes). SL_ERR_IO
 * (cannot open or read), SL_ERR_FORMAT (empty: "expected <what>"),
 * SL_ERR_NOMEM, each naming path. */
sl_status sl__file_read(const char *path, const char *what, unsigned char **buf, size_t *size);

/* A whole file in memory (sl__file_read), read front to back. */
typedef struct sl__reader {
    const unsigned char *p;
    size_t n, pos; /* bytes, and the next one to read */
    const char *path;
} sl__reader;
/* The next n bytes into out; SL_ERR_FORMAT "PATH: byte B: file ends inside
 * WHAT (truncated?)" when fewer are left. */
sl_status sl__reader_get(sl__reader *r, void *out, size_t n, const char *what);

/* The file's trailing FNV-1a 64 checksum of every byte before it checked
 * (SL_ERR_FORMAT "file too short" under 16 bytes, "checksum mismatch"
 * otherwise); r->n then leaves the checksum out. */
sl_status sl__reader_checksum(sl__reader *r);

/* A checksummed file being written (atomically, sl_afile): every put adds its
 * bytes to the FNV-1a checksum; the first error sticks and later puts do
 * nothing. close writes the checksum and commits, or aborts after an error. */
typedef struct sl__iwriter {
    sl_afile *af;
    uint64_t sum;
    sl_status st;
} sl__iwriter;
sl_status sl__iwriter_open(sl__iwriter *w, const char *path);
void sl__iwriter_put(sl__iwriter *w, const void *p, size_t n);
sl_status sl__iwriter_close(sl__iwriter *w);

#endif

/* Private helpers shared by the library's modules: error reporting, the
 * allocator entry points and a few checked-arithmetic helpers. Not installed. */
#ifndef SIMLEARN_INTERNAL_H
#define SIMLEARN_INTERNAL_H

#include "simlearn.h"

#include <stdarg.h>

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
void sl__free(void *ptr);
char *sl__strdup(const char *s);
/* Overflow-checked n*size allocation; sets an SL_ERR_NOMEM message naming what. */
void *sl__malloc_array(size_t n, size_t size, const char *what);

#define SL__MIN(a, b) ((a) < (b) ? (a) : (b))
#define SL__MAX(a, b) ((a) > (b) ? (a) : (b))

/* Propagate an error status. */
#define SL__TRY(expr)                    \
    do {                                 \
        sl_status sl__st_ = (expr);      \
        if (sl__st_ != SL_OK) return sl__st_; \
    } while (0)

#endif

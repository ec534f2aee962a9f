/* The replaceable allocator every library allocation goes through,
 * overflow-checked size arithmetic and the gathering of rows by index. */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void *default_malloc(size_t n, void *ctx) {
    (void)ctx;
    return malloc(n);
}
static void *default_realloc(void *p, size_t n, void *ctx) {
    (void)ctx;
    return realloc(p, n);
}
static void default_free(void *p, void *ctx) {
    (void)ctx;
    free(p);
}

/* Process-wide by design: an allocator is chosen once, before any other call
 * (documented in base.h); it is not changed while the library runs. */
static sl_allocator sl__alloc = {default_malloc, default_realloc, default_free, NULL};

void sl_allocator_set(const sl_allocator *a) {
    if (a)
        sl__alloc = *a;
    else
        sl__alloc = (sl_allocator){default_malloc, default_realloc, default_free, NULL};
}

bool sl_size_mul(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}

void *sl__malloc(size_t size) { return sl__alloc.malloc_fn(size ? size : 1, sl__alloc.ctx); }

void *sl__calloc(size_t n, size_t size) {
    size_t total;
    if (!sl_size_mul(n, size, &total)) return NULL;
    void *p = sl__malloc(total);
    if (p) memset(p, 0, total ? total : 1);
    return p;
}

void *sl__realloc(void *ptr, size_t size) { return sl__alloc.realloc_fn(ptr, size ? size : 1, sl__alloc.ctx); }

void sl__free(void *ptr) {
    if (ptr) sl__alloc.free_fn(ptr, sl__alloc.ctx);
}

void sl_allocator_free(void *p) { sl__free(p); }

void sl__advise_huge(void *p, size_t size) {
#if defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1), b = ((uintptr_t)p + size) & ~(huge - 1);
    if (p && b > a) (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
#else
    (void)p, (void)size;
#endif
}

char *sl__strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = sl__malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void *sl__malloc_array(size_t n, size_t size, const char *what) {
    size_t total;
    if (!sl_size_mul(n, size, &total)) {
        sl__fail(SL_ERR_NOMEM, "%s: size %zu x %zu bytes overflows", what, n, size);
        return NULL;
    }
    void *p = sl__malloc(total);
    if (!p) sl__fail(SL_ERR_NOMEM, "%s: cannot allocate %zu bytes", what, total);
    return p;
}

/* sl_array: owned n-dimensional arrays and dtype facts. */
#include "internal.h"

#include <string.h>

size_t sl_dtype_size(sl_dtype t) {
    switch (t) {
    case SL_F32: return 4;
    case SL_F64: return 8;
    case SL_I32: return 4;
    case SL_I64: return 8;
    case SL_U8: return 1;
    }
    return 0;
}

const char *sl_dtype_name(sl_dtype t) {
    switch (t) {
    case SL_F32: return "float32";
    case SL_F64: return "float64";
    case SL_I32: return "int32";
    case SL_I64: return "int64";
    case SL_U8: return "uint8";
    }
    return "unknown";
}

size_t sl_array_count(const sl_array *a) {
    size_t n = 1;
    for (int i = 0; i < a->ndim; i++) n *= a->shape[i];
    return n;
}

sl_status sl__array_alloc_raw(sl_array *a, sl_dtype dtype, int ndim, const size_t *shape) {
    if (ndim < 0 || ndim > SL_MAX_DIMS)
        return sl__fail(SL_ERR_ARG, "array: %d dimensions, at most %d supported", ndim, SL_MAX_DIMS);
    if ((unsigned)dtype > SL_U8) return sl__fail(SL_ERR_ARG, "array: unknown dtype %d", (int)dtype);
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (!sl_size_mul(n, shape[i], &n)) return sl__fail(SL_ERR_RANGE, "array: shape overflows size_t");
    size_t bytes;
    if (!sl_size_mul(n, sl_dtype_size(dtype), &bytes)) return sl__fail(SL_ERR_RANGE, "array: size overflows size_t");
    void *d = sl__malloc(bytes);
    if (!d) return sl__fail(SL_ERR_NOMEM, "array: cannot allocate %zu bytes", bytes);
    memset(a, 0, sizeof *a);
    a->dtype = dtype;
    a->ndim = ndim;
    for (int i = 0; i < ndim; i++) a->shape[i] = shape[i];
    a->data = d;
    return SL_OK;
}

sl_status sl_array_alloc(sl_array *a, sl_dtype dtype, int ndim, const size_t *shape) {
    SL__TRY(sl__array_alloc_raw(a, dtype, ndim, shape));
    size_t bytes = sl_array_count(a) * sl_dtype_size(dtype);
    if (bytes) memset(a->data, 0, bytes);
    return SL_OK;
}

void sl_array_destroy(sl_array *a) {
    if (!a) return;
    sl__free(a->data);
    memset(a, 0, sizeof *a);
}

/* .npy readers: the whole array, float and integer matrices, labels, and one
 * part of a matrix's rows (what `--part` and distributed runs read). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file("x.npy", data, size);
    sl_array a;
    if (sl_npy_read(path, &a) == SL_OK) sl_array_destroy(&a);
    float *m = NULL;
    size_t rows, cols, first, total;
    if (sl_npy_read_matrix(path, &m, &rows, &cols) == SL_OK) sl_allocator_free(m);
    m = NULL;
    if (sl_npy_read_matrix_part(path, 1, 3, &m, &rows, &cols, &first, &total) == SL_OK) sl_allocator_free(m);
    int64_t *l = NULL;
    size_t n;
    if (sl_npy_read_labels(path, &l, &n) == SL_OK) sl_allocator_free(l);
    l = NULL;
    if (sl_npy_read_int_matrix(path, &l, &rows, &cols) == SL_OK) sl_allocator_free(l);
    return 0;
}

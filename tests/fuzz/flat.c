/* Flat index files, as `index search` and `index info` load them, then one
 * search of a zero query (with a label filter when the index has labels),
 * so that whatever loads is also scanned. The input is the file without its
 * trailing checksum, which the target appends (FNV-1a of the bytes,
 * little-endian) so that mutations reach the parser behind it; a wrong
 * checksum is the unit tests' business. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t sum = fz_fnv1a(data, size);
    uint8_t tail[8];
    memcpy(tail, &sum, 8);
    sl_flat_index *f = NULL;
    if (sl_flat_index_load(fz_file_tail("x.flat", data, size, tail, 8), &f) != SL_OK) return 0;
    sl_flat_index_info info;
    sl_flat_index_get_info(f, &info);
    float *z = calloc(info.dim, sizeof *z);
    int64_t id[2], lab = 1;
    float score[2];
    sl_hnsw_filter flt = {.allow_labels = &lab, .n_allow_labels = 1};
    if (z) sl_flat_index_search(f, z, 1, 2, info.labelled ? &flt : NULL, id, score);
    free(z);
    sl_flat_index_destroy(f);
    return 0;
}

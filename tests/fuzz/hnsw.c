/* HNSW index files, as `index search` and `index info` load them. The input
 * is the file without its trailing checksum, which the target appends (FNV-1a
 * of the bytes, little-endian) so that mutations reach the parser behind it;
 * a wrong checksum is the unit tests' business. */
#include "fuzz.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t sum = fz_fnv1a(data, size);
    uint8_t tail[8];
    memcpy(tail, &sum, 8);
    sl_hnsw *h = NULL;
    if (sl_hnsw_load(fz_file_tail("x.hnsw", data, size, tail, 8), &h) == SL_OK) sl_hnsw_destroy(h);
    return 0;
}

/* IVF-PQ index files, as `index search` and `index info` load them, then one
 * search of a zero query over every list (so that whatever loads is also
 * scanned). The input is the file without its trailing checksum, which the
 * target appends (FNV-1a of the bytes, little-endian) so that mutations reach
 * the parser behind it; a wrong checksum is the unit tests' business. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t sum = fz_fnv1a(data, size);
    uint8_t tail[8];
    memcpy(tail, &sum, 8);
    sl_ivfpq *q = NULL;
    if (sl_ivfpq_load(fz_file_tail("x.ivfpq", data, size, tail, 8), &q) != SL_OK) return 0;
    sl_ivfpq_info info;
    sl_ivfpq_get_info(q, &info);
    float *z = calloc(info.dim, sizeof *z);
    int64_t id;
    float score;
    sl_ivfpq_search_config c;
    sl_ivfpq_search_config_default(&c);
    c.k = 1, c.nprobe = info.nlist;
    if (z && info.size) sl_ivfpq_search(q, z, 1, &c, &id, &score);
    free(z);
    sl_ivfpq_destroy(q);
    return 0;
}

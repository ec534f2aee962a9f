/* HNSW index files, as `index search` and `index info` load them. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_hnsw *h = NULL;
    if (sl_hnsw_load(fz_file("x.hnsw", data, size), &h) == SL_OK) sl_hnsw_destroy(h);
    return 0;
}

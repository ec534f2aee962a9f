/* The JSONL training-log reader that `report` uses. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_jsonl *t = NULL;
    if (sl_jsonl_read(fz_file("x.jsonl", data, size), &t) == SL_OK) {
        for (size_t k = 0; k < t->n_keys; k++)
            if (sl_jsonl_column(t, t->keys[k]) < 0) __builtin_trap();
        sl_jsonl_destroy(t);
    }
    return 0;
}

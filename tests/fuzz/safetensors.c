/* safetensors: the tensor collection reader (checkpoints, `info`), then
 * every accessor over what it returned. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_tensors *t = NULL;
    if (sl_safetensors_read(fz_file("x.safetensors", data, size), &t) != SL_OK) return 0;
    size_t total = 0;
    for (size_t i = 0; i < sl_tensors_count(t); i++) {
        const sl_array *a = sl_tensors_get(t, sl_tensors_name(t, i));
        if (!a) __builtin_trap();
        total += sl_array_count(a);
    }
    for (size_t i = 0; i < sl_tensors_meta_count(t); i++)
        if (!sl_tensors_get_meta(t, sl_tensors_meta_key(t, i))) __builtin_trap();
    (void)total;
    sl_tensors_destroy(t);
    return 0;
}

/* Augmentation specs (`--augment SPEC`, presets included): parse, then apply
 * the pipeline to a small 3x8x8 image. */
#include "fuzz.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    char *spec = fz_cstr(data, size);
    sl_augment *a = NULL;
    if (sl_augment_create(spec, &a) == SL_OK) {
        float x[3 * 8 * 8];
        for (int i = 0; i < 3 * 8 * 8; i++) x[i] = (float)(i % 17) / 16.0f;
        size_t n = sl_augment_scratch_size(a, 3, 8, 8);
        float *scratch = malloc((n ? n : 1) * sizeof *scratch);
        if (!scratch) abort();
        sl_rng r;
        sl_rng_seed(&r, 1, 2);
        (void)sl_augment_apply(a, x, 3, 8, 8, &r, scratch);
        free(scratch);
        sl_augment_destroy(a);
    }
    free(spec);
    return 0;
}

/* PNG and JPEG decoding (image folders, caption lists), told from content. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *px = NULL;
    int w, h, c;
    if (sl_image_read(fz_file("x.img", data, size), &px, &w, &h, &c) == SL_OK) sl_allocator_free(px);
    return 0;
}

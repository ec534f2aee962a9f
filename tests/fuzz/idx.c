/* IDX files through the dataset opener, as `--data FILE-idx3-ubyte[.gz]`
 * reads them (zlib reads plain and gzip files alike, so the corpus holds
 * both). The first byte picks the file: bit 0 clear, an images file alone;
 * set, a fixed 2-image file with the rest as its labels file. */
#include "fuzz.h"

/* Two 2x2 images. */
static const uint8_t images[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    fz_init();
    remove(fz_path("x-labels-idx1-ubyte"));
    const char *img;
    if (data[0] & 1) {
        img = fz_file("x-images-idx3-ubyte", images, sizeof images);
        fz_file("x-labels-idx1-ubyte", data + 1, size - 1);
    } else {
        img = fz_file("x-images-idx3-ubyte", data + 1, size - 1);
    }
    sl_data_config c;
    sl_data_config_default(&c);
    c.source = img;
    c.split = SL_SPLIT_ALL;
    sl_dataset *d = NULL;
    if (sl_data_open(&c, &d) == SL_OK) {
        size_t n = sl_data_count(d);
        float x[64 * 64];
        int32_t labels[8];
        char caption[SL_CAPTION_MAX];
        if (n > 0 && sl_data_item_size(d) <= 64 * 64) (void)sl_data_get(d, n - 1, x, labels, caption);
        sl_data_destroy(d);
    }
    return 0;
}

/* Image-caption lists through the dataset opener: the bytes are a .tsv list
 * ("image<TAB>caption" lines) when the first byte is even, else a Flickr8k
 * captions .txt ("name.jpg#k<TAB>caption"), beside fixed 2x2 PNGs a.png,
 * b.png and a.jpg (a PNG under that name). */
#include "fuzz.h"

#include <stdlib.h>

static void setup(void)
{
    static int done;
    if (done) return;
    done = 1;
    const uint8_t px[2 * 2 * 3] = {0, 50, 100, 150, 200, 250, 10, 20, 30, 40, 60, 80};
    const char *names[] = {"a.png", "b.png", "a.jpg"};
    for (int i = 0; i < 3; i++)
        if (sl_png_write(fz_path(names[i]), px, 2, 2, 3) != SL_OK) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    fz_init();
    setup();
    sl_data_config c;
    sl_data_config_default(&c);
    c.source = fz_file(data[0] & 1 ? "x.txt" : "x.tsv", data + 1, size - 1);
    c.split = SL_SPLIT_ALL;
    c.size = 4;
    sl_dataset *d = NULL;
    if (sl_data_open(&c, &d) == SL_OK) {
        size_t n = sl_data_count(d);
        float x[3 * 4 * 4];
        int32_t labels[8];
        char caption[SL_CAPTION_MAX];
        if (n > 0 && sl_data_item_size(d) <= 3 * 4 * 4) (void)sl_data_get(d, n - 1, x, labels, caption);
        sl_data_destroy(d);
    }
    return 0;
}

/* The model spec language, as `train --model SPEC --input SHAPE` reads it:
 * the first line is the input shape (sl_shape_parse), the rest the spec
 * (sl_model_create, which parses, infers shapes, allocates and initialises). */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    char *text = fz_cstr(data, size);
    char *nl = strchr(text, '\n');
    const char *spec = "";
    if (nl) {
        *nl = '\0';
        spec = nl + 1;
    }
    sl_shape in;
    if (sl_shape_parse(text, &in) == SL_OK) {
        sl_model *m = NULL;
        if (sl_model_create(spec, &in, 1, &m) == SL_OK) {
            sl_shape o = sl_model_output_shape(m);
            (void)sl_shape_count(&o);
            sl_model_destroy(m);
        }
    }
    free(text);
    return 0;
}

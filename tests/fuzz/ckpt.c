/* Training checkpoints (safetensors with the run's metadata), as `embed`,
 * `train --init` and `info` read them: the data settings
 * (sl_train_checkpoint_data), the encoder with and without its projector
 * (sl_encoder_load, which rebuilds the models from their spec metadata and
 * loads their tensors), and a lone model (sl_model_load). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file("x.safetensors", data, size);
    sl_data_config dc;
    sl_data_config_default(&dc);
    char source[512];
    (void)sl_train_checkpoint_data(path, &dc, source, sizeof source);
    for (int projector = 0; projector < 2; projector++) {
        sl_encoder *e = NULL;
        if (sl_encoder_load(path, projector, &e) == SL_OK) {
            sl_shape in = sl_encoder_input_shape(e);
            (void)sl_shape_count(&in);
            (void)sl_encoder_dim(e);
            sl_encoder_destroy(e);
        }
    }
    sl_model *m = NULL;
    if (sl_model_load(path, &m) == SL_OK) sl_model_destroy(m);
    return 0;
}

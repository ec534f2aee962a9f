/* Private to the nn module: the model record shared by model.c (spec,
 * forward, backward), optim.c (updates over the shared state block) and
 * ckpt.c (checkpoints). */
#ifndef SIMLEARN_NN_MODEL_INTERNAL_H
#define SIMLEARN_NN_MODEL_INTERNAL_H

#include "nn/nn_internal.h"

/* One named tensor of a model: a parameter (with a gradient) or a buffer. */
typedef struct sl__tensor {
    char name[64]; /* "<torch index>.<name>": "3.attn.out_proj.weight" */
    sl_param_info info;
    size_t offset; /* floats into the parameter region or the buffer region */
    bool is_param;
} sl__tensor;

struct sl_model {
    char *spec;
    sl_shape input, output;
    size_t nl;
    sl__layer *layers;
    /* The single allocation: params | grads | state1 | state2 (P floats each)
     * | buffers (running statistics). */
    size_t nparams, nbufs;
    float *block, *params, *grads, *state1, *state2, *bufs;
    size_t ntensors;
    sl__tensor *tensors;
    /* Per-batch memory, sized for `cap` examples. */
    size_t cap, n;
    size_t team; /* threads the convolution scratch is sized for */
    float *actmem, *gmem, *scratch, *yout, *g0, *g1;
    float **acts; /* nl + 1 pointers; acts[0] is the input in internal layout */
    /* Token ids with padding: pad_t ids per example when some layer is
     * padded (0 otherwise), and their pad mask, cap x pad_t bytes, made by
     * each forward from the input. */
    size_t pad_t;
    uint8_t *pad;
    bool can_backward;
    sl_rng rng; /* dropout */
};

/* Per-batch memory for n examples, as a forward of n allocates it (the
 * masked autoencoder writes a masktok layer's marks before the forward). */
sl_status sl__model_reserve(sl_model *m, size_t n);

/* Optimizer internals that checkpoints need (optim.c). */
const sl_optim_config *sl__optim_config(const sl_optim *o);
sl_model *sl__optim_model(sl_optim *o);
void sl__optim_set_steps(sl_optim *o, uint64_t t);

#endif

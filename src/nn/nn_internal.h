/* Private to the nn module: the layer record a model is made of, and the
 * forward/backward kernels with their naive `_ref` twins (tests call those).
 * Internal layouts: a flat batch is n x D; an image batch is stored
 * channel-major, C x n x H x W ("CNHW"), so a convolution over the whole batch
 * is one matrix product whose result is already in place. */
#ifndef SIMLEARN_NN_INTERNAL_H
#define SIMLEARN_NN_INTERNAL_H

#include "internal.h"

typedef enum {
    SL__L_LINEAR,
    SL__L_CONV,
    SL__L_BN,
    SL__L_LN,
    SL__L_RELU,
    SL__L_GELU,
    SL__L_TANH,
    SL__L_MAXPOOL,
    SL__L_AVGPOOL,
    SL__L_UPSAMPLE,
    SL__L_GAP,
    SL__L_FLATTEN,
    SL__L_UNFLATTEN,
    SL__L_DROPOUT,
    SL__L_L2NORM,
    SL__L_EMBBAG
} sl__layer_kind;

/* Geometry of a 2-D convolution or pooling over a CNHW batch. */
typedef struct sl__conv_dims {
    size_t n, ci, h, w;     /* input: ci x n x h x w */
    size_t co, ho, wo;      /* output: co x n x ho x wo */
    size_t k, stride, pad;  /* square kernel */
    size_t chunk;           /* examples per im2col chunk; 0 = automatic (tests force small chunks) */
    size_t threads;         /* convolution: workers the scratch is sized for (0 = 1) */
} sl__conv_dims;

/* ---- convolution (CNHW). wt: co x ci x k x k; bias: co or NULL.
 * scratch: sl__conv_scratch_floats(d) floats. */
size_t sl__conv_scratch_floats(const sl__conv_dims *d);
void sl__conv_forward(float *out, const float *in, const float *wt, const float *bias, const sl__conv_dims *d,
                      float *scratch);
/* din may be NULL (not needed for a first layer); dwt, dbias accumulate. */
void sl__conv_backward(float *din, float *dwt, float *dbias, const float *dout, const float *in, const float *wt,
                       const sl__conv_dims *d, float *scratch);
void sl__conv_forward_ref(float *out, const float *in, const float *wt, const float *bias, const sl__conv_dims *d);
void sl__conv_backward_ref(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                           const float *wt, const sl__conv_dims *d);

/* ---- linear. in: n x di, wt: no x di, bias: no or NULL, out: n x no */
void sl__linear_forward(float *out, const float *in, const float *wt, const float *bias, size_t n, size_t di,
                        size_t no);
void sl__linear_backward(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                         const float *wt, size_t n, size_t di, size_t no);
void sl__linear_forward_ref(float *out, const float *in, const float *wt, const float *bias, size_t n, size_t di,
                            size_t no);
void sl__linear_backward_ref(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                             const float *wt, size_t n, size_t di, size_t no);

/* ---- batch normalisation over channels. Element j (0..m-1) of channel c is
 * at c*cs + j0(j) where the batch is either CNHW (cs = m, contiguous) or flat
 * n x C (cs = 1, step C): `flat` selects. cache: 4*C floats (mean, invstd,
 * scale, shift) of the last train forward. relu: ReLU fused after the affine
 * map; backward takes its mask from the output (flat, _ref) or recomputes it
 * from the input with the cached scale and shift (CNHW). */
typedef struct sl__bn_dims {
    size_t c, m;  /* channels, elements per channel (n*h*w or n) */
    bool flat;
    bool relu;
    double eps, momentum;
} sl__bn_dims;
void sl__bn_forward(float *out, float *cache, float *run_mean, float *run_var, const float *in, const float *gamma,
                    const float *beta, const sl__bn_dims *d, bool train);
void sl__bn_backward(float *din, float *dgamma, float *dbeta, const float *dout, const float *out, const float *in,
                     const float *cache, const float *gamma, const sl__bn_dims *d);
void sl__bn_forward_ref(float *out, float *cache, float *run_mean, float *run_var, const float *in,
                        const float *gamma, const float *beta, const sl__bn_dims *d, bool train);
void sl__bn_backward_ref(float *din, float *dgamma, float *dbeta, const float *dout, const float *out,
                         const float *in, const float *cache, const float *gamma, const sl__bn_dims *d);

/* ---- pooling over CNHW planes (planes = C*n). idx: one int32 per output
 * (offset of the max inside its input plane). */
void sl__maxpool_forward(float *out, int32_t *idx, const float *in, const sl__conv_dims *d);
void sl__maxpool_backward(float *din, const float *dout, const int32_t *idx, const sl__conv_dims *d);
void sl__maxpool_forward_ref(float *out, int32_t *idx, const float *in, const sl__conv_dims *d);
void sl__avgpool_forward(float *out, const float *in, const sl__conv_dims *d);
void sl__avgpool_backward(float *din, const float *dout, const sl__conv_dims *d);

/* A parsed layer and its place in the model. */
typedef struct sl__layer {
    sl__layer_kind kind;
    char token[96];  /* the spec token as written, trimmed */
    size_t col;      /* 1-based column of the token in the spec */
    int torch_index; /* index in the equivalent torch.nn.Sequential */
    sl_shape in, out;
    size_t in_count, out_count; /* floats per example */
    /* arguments */
    size_t nout, k, stride, pad, scale, vocab;
    bool bias;
    double eps, momentum, p;
    /* offsets (in floats) into the parameter region / buffer region */
    size_t w_off, w_count, b_off, b_count;
    size_t buf_off; /* running mean, running var (2 * channels) */
    uint64_t batches_tracked;
    bool fused_relu;   /* bn whose following relu is applied in its kernel */
    bool passthrough;  /* relu fused into the preceding bn: output aliases input */
    /* per-batch caches, sized for the model's batch capacity */
    float *cache;
    int32_t *idx;
    uint8_t *mask;
} sl__layer;

#endif

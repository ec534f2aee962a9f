/* Private to the nn module: the forward/backward kernels with their naive
 * `_ref` twins (tests call those), the layer record a model is made of and
 * the entry of a layer kind in the table of kinds.
 * Internal layouts: a flat batch is n x D; a token batch (T x D per example)
 * is (n*T) x D rows, row s*T + t being token t of example s, which is also the
 * public batch-first layout; an image batch is stored channel-major,
 * C x n x H x W ("CNHW"), so a convolution over the whole batch is one matrix
 * product whose result is already in place. */
#ifndef SIMLEARN_NN_INTERNAL_H
#define SIMLEARN_NN_INTERNAL_H

#include "internal.h"

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
/* out = in wt^T + bias + res, with res n x no (may be NULL, as bias): the
 * bias and the residual are added in one pass after the product, with
 * sl__linear_forward's bits followed by a residual sum's. */
void sl__linear_forward_res(float *out, const float *in, const float *wt, const float *bias, const float *res,
                            size_t n, size_t di, size_t no);
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
/* Train mode with the statistics of every rank's batch (sl_dist): *count
 * receives the elements per channel over all ranks, which backward takes.
 * The parameter gradients get this rank's share. Errors: those of sl_dist,
 * SL_ERR_NOMEM. */
sl_status sl__bn_forward_sync(float *out, float *cache, float *run_mean, float *run_var, const float *in,
                              const float *gamma, const float *beta, const sl__bn_dims *d, double *count);
sl_status sl__bn_backward_sync(float *din, float *dgamma, float *dbeta, const float *dout, const float *out,
                               const float *in, const float *cache, const float *gamma, const sl__bn_dims *d,
                               double count);
void sl__bn_forward_ref(float *out, float *cache, float *run_mean, float *run_var, const float *in,
                        const float *gamma, const float *beta, const sl__bn_dims *d, bool train);
void sl__bn_backward_ref(float *din, float *dgamma, float *dbeta, const float *dout, const float *out,
                         const float *in, const float *cache, const float *gamma, const sl__bn_dims *d);

/* Row and elementwise loops over fewer floats than this run on the calling
 * thread, without a parallel region (a small model makes many such calls per
 * pass). Each value is computed the same way either way. */
#define SL__PAR_MIN ((size_t)1 << 14)

/* ---- layer norm over rows of d features (nn.LayerNorm(d) on the last
 * dimension): rows = n for a flat batch, n*T for tokens. stats: 2 floats per
 * row (mean, 1/sd), written by the forward and read by the backward. Rows are
 * independent and each sum runs in a fixed order, so the result does not
 * depend on the thread count. din may be NULL; dw, db accumulate. */
void sl__ln_forward(float *out, float *stats, const float *in, const float *w, const float *b, size_t rows, size_t d,
                    double eps);
void sl__ln_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *stats,
                     const float *w, size_t rows, size_t d);

/* ---- GELU, exact (erf), as nn.GELU(): elementwise over count floats; the
 * backward reads the forward's input. din may be dout itself. */
void sl__gelu_forward(float *out, const float *in, size_t count);
void sl__gelu_backward(float *din, const float *dout, const float *in, size_t count);
/* Fused for the transformer block's MLP: xs (rows x cols) + bias (may be
 * NULL) through GELU into out, and xs overwritten by the slope GELU'(xs +
 * bias). sl__scale_bias_grad(din, dout, xs, dbias, rows, cols) is then the
 * backward: din = dout * xs elementwise (din may be dout), with
 * sl__gelu_backward's bits, and in the same pass dbias += the column sums of
 * din, with sl__linear_backward's bits for the bias gradient. */
void sl__bias_gelu_forward(float *out, float *xs, const float *bias, size_t rows, size_t cols);
void sl__scale_bias_grad(float *out, const float *in, const float *factor, float *dbias, size_t n, size_t no);
void sl__gelu_forward_ref(float *out, const float *in, size_t count);
void sl__gelu_backward_ref(float *din, const float *dout, const float *in, size_t count);

/* ---- pooling over CNHW planes (planes = C*n). idx: one int32 per output
 * (offset of the max inside its input plane). */
void sl__maxpool_forward(float *out, int32_t *idx, const float *in, const sl__conv_dims *d);
void sl__maxpool_backward(float *din, const float *dout, const int32_t *idx, const sl__conv_dims *d);
void sl__maxpool_forward_ref(float *out, int32_t *idx, const float *in, const sl__conv_dims *d);
void sl__avgpool_forward(float *out, const float *in, const sl__conv_dims *d);
void sl__avgpool_backward(float *din, const float *dout, const sl__conv_dims *d);

/* NCHW <-> CNHW for a batch of n images of c channels with hw pixels. */
void sl__to_cnhw(float *dst, const float *src, size_t n, size_t c, size_t hw);
void sl__to_nchw(float *dst, const float *src, size_t n, size_t c, size_t hw);

/* ---- layers ----------------------------------------------------------------
 * A model is a sequence of layers. What a layer does depends on its kind, and
 * each kind is one entry of the table sl__layer_kinds (layers.c): its spec
 * name and arguments, shape rule, tensors, initialisation, memory needs and
 * forward and backward passes. The model (model.c) reaches a layer only
 * through that entry. */
#define SL__LAYER_ARGS 6     /* arguments a kind (or preset) takes at most */
#define SL__LAYER_TENSORS 12 /* tensors a layer owns at most (block: 12) */

typedef struct sl__layer_ops sl__layer_ops;

/* A parsed layer and its place in the model. */
typedef struct sl__layer {
    const sl__layer_ops *ops; /* its kind */
    char token[96];  /* the spec token as written, trimmed */
    size_t pos;      /* 1-based position of the token in the spec */
    size_t col;      /* 1-based column of the token in the spec */
    /* A layer a preset expands into: the preset's token as written (errors
     * name it, with pos and col); empty otherwise. */
    char preset[96];
    int torch_index; /* index in the equivalent torch.nn.Sequential */
    sl_shape in, out;
    size_t in_count, out_count; /* floats per example */
    /* settings from the arguments; each kind uses the ones it needs
     * (unflatten keeps C, H, W in nout, k, stride) */
    size_t nout, k, stride, pad, scale, vocab;
    size_t heads, hidden; /* block: attention heads, MLP width */
    bool causal;          /* block: each token attends to itself and earlier ones only */
    /* Only the first token of each example of its output is used (a tokfirst
     * follows through ln layers; set on a block and those ln layers): it
     * computes and writes those rows only, and its backward reads only them. */
    bool first_only;
    /* Its input is tokens that stand one for one for the model's input ids
     * (after a token-id first layer such as tokemb): its passes get the pad
     * mask of those ids (sl__pass.pad). */
    bool padded;
    bool bias;
    double eps, momentum, p;
    /* its tensors are the model's tensors t0 .. t0 + nt - 1, in the order
     * its kind lists them; nparams floats of them are parameters */
    size_t t0, nt, nparams;
    uint64_t batches_tracked;
    bool fused_next;   /* the next layer runs inside its forward (the kind's fuses) */
    bool passthrough;  /* runs inside the previous layer's forward: output aliases input */
    float *stats;      /* kept for the model's life (the kind's stats_floats) */
    /* bn: statistics over every rank of a distributed run
     * (sl_model_set_sync_bn); sync_count is the elements per channel of the
     * last such train-mode forward over all ranks (0: the last forward was
     * this rank's own). */
    bool sync;
    double sync_count;
    /* per-batch memory, sized for the model's batch capacity (the kind's memory) */
    float *cache;
    int32_t *idx;
    uint8_t *mask;
} sl__layer;

/* The arguments of a token, by position in its kind's list. */
typedef struct sl__layer_args {
    double val[SL__LAYER_ARGS];
    bool have[SL__LAYER_ARGS];
} sl__layer_args;

/* One tensor a layer owns; its size is the product of its shape. A role of
 * SL_TENSOR_BUFFER makes it a buffer (no gradient, not trained); any other a
 * parameter. */
typedef struct sl__tensor_spec {
    const char *name; /* after "<torch index>.", as PyTorch names it */
    sl_tensor_role role;
    int ndim;
    size_t shape[4];
} sl__tensor_spec;

/* What a layer needs per batch of n examples. */
typedef struct sl__layer_mem {
    size_t cache;   /* floats in L->cache */
    size_t idx;     /* int32s in L->idx */
    size_t mask;    /* bytes in L->mask */
    size_t scratch; /* floats of the scratch all layers share */
} sl__layer_mem;

/* A forward or backward pass of one layer over a batch of n examples in the
 * internal layout. */
typedef struct sl__pass {
    size_t n;
    bool train;
    const float *in;   /* n x in_count */
    float *out;        /* n x out_count: written by forward, read by backward */
    const float *dout; /* backward: the gradient with respect to out */
    float *din;        /* backward: the gradient with respect to in, written;
                          NULL when nothing upstream needs it */
    float *data[SL__LAYER_TENSORS]; /* the layer's tensors in its kind's order, NULL past the last */
    float *grad[SL__LAYER_TENSORS]; /* their gradients (backward adds to them); NULL for buffers */
    float *scratch; /* the shared scratch */
    size_t team;    /* threads the scratch is sized for */
    sl_rng *rng;    /* the model's stream (dropout) */
    /* n x T bytes, nonzero where the model's input id is padding (negative),
     * for a layer whose tokens stand for the input ids (L->padded); NULL
     * otherwise. block keeps padded tokens out of attention, tokmean out of
     * the mean. */
    const uint8_t *pad;
    /* backward: where a layer whose backward can fail (synchronised batch
     * norm) records the first error; sl_model_backward returns it. */
    sl_status *status;
} sl__pass;

/* A layer kind. Only name, forward and backward are required; the notes say
 * what an absent (NULL, zero) field means. A preset (the table
 * sl__layer_presets) uses name, args, words, nreq and expand only. */
struct sl__layer_ops {
    const char *name;                 /* in a spec: "conv" */
    const char *args[SL__LAYER_ARGS]; /* argument names, in positional order */
    /* An argument that takes a word instead of a number: its words,
     * separated by '|' ("cls|mean"); the value is the word's index. */
    const char *words[SL__LAYER_ARGS];
    int nreq;                         /* the first nreq arguments are required */
    int torch_modules;                /* modules of torch.nn.Sequential it stands for (0: one) */
    /* A kind whose layer, right after one of this kind, runs inside this
     * one's forward and backward (bn fuses "relu"): that layer is skipped,
     * its output aliases its input, and this one sees fused_next. */
    const char *fuses;
    bool tracks_batches; /* checkpoints carry its num_batches_tracked */
    bool token_input;    /* its input is token ids: no gradient goes to it */
    /* Settings from the arguments, PyTorch's defaults where one is not
     * given; errors through sl__layer_fail. Absent: takes no settings. */
    sl_status (*configure)(sl__layer *L, const sl__layer_args *a);
    /* L->out from L->in, or an error naming the token. Absent: same shape,
     * any input. */
    sl_status (*shape)(sl__layer *L);
    /* Its tensors into t; returns how many. Absent: none. */
    size_t (*tensors)(const sl__layer *L, sl__tensor_spec t[SL__LAYER_TENSORS]);
    /* Initial values of its tensors (data in tensors' order), drawing from
     * r, the layer's own stream. Absent: zeros. */
    void (*init)(const sl__layer *L, float *const data[], sl_rng *r);
    /* Per-batch memory for n examples with `threads` workers. Absent: none. */
    void (*memory)(const sl__layer *L, size_t n, size_t threads, sl__layer_mem *mem);
    /* Floats of L->stats, kept for the model's life. Absent: none. */
    size_t (*stats_floats)(const sl__layer *L);
    /* p->out from p->in; train selects training behaviour. */
    sl_status (*forward)(sl__layer *L, const sl__pass *p);
    /* Adds to the parameter gradients and writes p->din. A layer without
     * parameters is called only when p->din is needed. */
    void (*backward)(const sl__layer *L, const sl__pass *p);
    /* A preset: the layers it stands for as spec text into out, and its
     * token with every argument written out ("vit(patch=4,...,pool=cls)")
     * into norm, the form a model's spec keeps; errors through
     * sl__layer_fail. */
    sl_status (*expand)(const sl__layer *L, const sl__layer_args *a, char *out, size_t cap, char *norm,
                        size_t ncap);
};

extern const sl__layer_ops sl__layer_kinds[];
extern const size_t sl__layer_kind_count;
/* Presets: spec tokens that stand for several layers ("vit"). */
extern const sl__layer_ops sl__layer_presets[];
extern const size_t sl__layer_preset_count;

/* a * b, or SIZE_MAX when that overflows (memory needs saturate, and the
 * model refuses a plan with a saturated size). */
size_t sl__mul_sat(size_t a, size_t b);

/* An error in layer L's token: "spec: token 4 'linear(10)' (column 20): ...";
 * for a layer of a preset, the preset's token and then the layer:
 * "spec: token 1 'vit(dim=30)' (column 1): layer 'block(4,4)': ...". */
sl_status sl__layer_fail(const sl__layer *L, sl_status st, const char *fmt, ...) SL__PRINTF(3, 4);

#endif

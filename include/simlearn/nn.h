/* simlearn nn: layers with explicit forward/backward kernels, models built from
 * a spec string, optimizers, learning-rate schedules and safetensors
 * checkpoints that load into the equivalent torch.nn.Sequential.
 * Threads: a model and its optimizer are used by one thread at a time (even
 * an eval-mode forward changes the model's activations); see "models". */
#ifndef SIMLEARN_NN_H
#define SIMLEARN_NN_H

#include "simlearn/base.h"
#include "simlearn/io.h"
#include "simlearn/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- shapes -------------------------------------------------------------
 * The shape of ONE example, without the batch dimension: {D} for a flat
 * vector, {T, D} for a sequence of T tokens of D features (what patch
 * embedding and transformer blocks work on), {C, H, W} for an image.
 * Batches are always batch-first: a batch of n images is n x C x H x W
 * float32 in C order (NCHW), a batch of token sequences n x T x D. */
typedef struct sl_shape {
    int ndim;        /* 1 (D), 2 (T x D) or 3 (C x H x W) */
    size_t dims[3];
} sl_shape;

/* Number of floats in one example (product of dims). */
size_t sl_shape_count(const sl_shape *s);
/* Parse "1x28x28" (C x H x W), "50x96" (T x D) or "128" (D). SL_ERR_FORMAT
 * on anything else. */
sl_status sl_shape_parse(const char *text, sl_shape *out);
/* "1x28x28", "50x96" or "128" into buf (always NUL-terminated). */
void sl_shape_format(const sl_shape *s, char *buf, size_t cap);

/* ---- models -------------------------------------------------------------
 * A model is a sequence of layers written as a spec string, for example
 *   conv(32,3,pad=1),bn,relu,maxpool(2),conv(64,3,pad=1),bn,relu,gap,linear(128)
 * Layers (arguments in brackets are optional, with PyTorch's defaults):
 *   linear(out[,bias=1])                       flat or tokens     nn.Linear (on each token)
 *   conv(out,k[,stride=1,pad=0,bias=1])        image -> image     nn.Conv2d
 *   bn[(eps=1e-5,momentum=0.1)]                image or flat      nn.BatchNorm2d / 1d
 *   ln[(eps=1e-5)]                             flat or tokens     nn.LayerNorm(D) (on each token)
 *   relu, gelu, tanh                           any                nn.ReLU / GELU / Tanh
 *   maxpool(k[,stride=k,pad=0])                image              nn.MaxPool2d
 *   avgpool(k[,stride=k,pad=0])                image              nn.AvgPool2d
 *   upsample(scale)                            image              nn.Upsample(nearest)
 *   gap                                        image -> flat      AdaptiveAvgPool2d(1)+Flatten
 *   flatten                                    image/tokens->flat nn.Flatten
 *   unflatten(C,H,W)                           flat -> image      nn.Unflatten(1,(C,H,W))
 *   dropout[(p=0.5)]                           any                nn.Dropout
 *   l2norm                                     flat               F.normalize(x, dim=1)
 *   embbag(vocab,dim)                          ids -> flat        nn.EmbeddingBag(mode='mean')
 *   tokemb(vocab,dim)                          ids -> tokens      nn.Embedding (padding: zero token)
 *   patch(p,dim)                               image -> tokens    Conv2d(C,dim,p,stride=p),
 *                                                                 flatten(2).transpose(1,2)
 *   cls                                        T x D -> T+1 x D   class token first (1,1,D)
 *   pos                                        tokens             + position embedding (1,T,D)
 *   block(heads[,mlp=4,hidden=mlp*D,causal=0]) tokens             pre-LN transformer block
 *   tokmean, tokfirst                          tokens -> flat     mean of the tokens, first token
 *   masktok                                    tokens             MAE's mask token (see sl_mae_*)
 * and two presets, which stand for several layers:
 *   vit[(patch=4,dim=96,depth=6,heads=4,mlp=4,pool=cls)]
 *     = patch(patch,dim),cls,pos,block(heads,mlp) (depth times),ln,tokfirst;
 *       pool=mean: no cls, tokmean at the end
 *   txt(vocab[,dim=64,depth=2,heads=2,mlp=4,causal=0])
 *     = tokemb(vocab,dim),pos,block(heads,mlp[,causal=1]) (depth times),ln,tokmean
 * embbag and tokemb must be first; the input is a flat vector of L token ids
 * stored as floats (exact below 2^24); negative ids are padding and do not
 * count in embbag's mean. After tokemb the pad mask of the ids reaches every
 * layer up to the one that pools the tokens: block keeps padded tokens out of
 * its attention (key padding mask), tokmean out of its mean; a layer that
 * changes the number of tokens there (cls) is refused. causal=1 lets each
 * token attend to itself and earlier tokens only. `gap` stands for two torch modules, which shifts the torch indices of
 * later layers by one (see sl_model_summary's "torch" column and docs/nn.md).
 * block(heads,mlp) is x + attn(norm1(x)), then x + mlp(norm2(x)) with
 * nn.LayerNorm(D) norms, nn.MultiheadAttention(D, heads) and
 * mlp = Linear(D, hidden), GELU, Linear(hidden, D); its tensors are named as
 * that module's state_dict names them ("3.attn.in_proj_weight",
 * "3.mlp.0.weight", ...). The spec of a model keeps a preset as one token
 * with every argument written out.
 *
 * Ownership: the model owns its parameters, gradients, optimizer state,
 * activations of the last forward pass and scratch, all freed by
 * sl_model_destroy. Thread safety: a model (and its optimizer) must be used by
 * one thread at a time; kernels run on sl_threads_set() threads internally
 * (OpenMP, products through sl_gemm), and outputs and gradients do not depend
 * on how many. Two models may coexist and be chained (an encoder's
 * output fed to a projector, whose d(input) is fed to the encoder's
 * backward) as long as calls are made from one thread. */
typedef struct sl_model sl_model;

/* Build a model and initialise it as PyTorch does by default (Kaiming-uniform
 * weights with a=sqrt(5), uniform biases, BN gamma 1 / beta 0, N(0,1)
 * embeddings; in a block, as nn.MultiheadAttention does: Xavier-uniform
 * in_proj_weight, zero attention biases), class tokens and position
 * embeddings as common ViT code does (normal, std 0.02, truncated at two
 * standard deviations), deterministically from seed. Errors: SL_ERR_FORMAT (bad spec;
 * the message names the token, its position and what was expected),
 * SL_ERR_ARG (shape mismatch, e.g. "token 5 'linear(10)': needs a flat
 * input, got 64x7x7; insert flatten or gap"), SL_ERR_NOMEM. */
sl_status sl_model_create(const char *spec, const sl_shape *input, uint64_t seed, sl_model **out);
void sl_model_destroy(sl_model *m); /* NULL-safe */

const char *sl_model_spec(const sl_model *m);     /* normalised spec text */
sl_shape sl_model_input_shape(const sl_model *m);
sl_shape sl_model_output_shape(const sl_model *m);
size_t sl_model_layer_count(const sl_model *m);
/* Number of trainable float parameters. */
size_t sl_model_param_count(const sl_model *m);

/* Forward a batch of n examples. x: n x input_shape (NCHW), copied, so the
 * caller may reuse it at once. train: batch statistics and dropout (train) or
 * running statistics and no dropout (eval). *y receives n x output_shape,
 * owned by the model and valid until the next forward or destroy. Growing n
 * beyond any previous batch reallocates activations. Errors: SL_ERR_ARG (n 0),
 * SL_ERR_NOMEM. Eval-mode forward does not touch gradients or running stats. */
sl_status sl_model_forward(sl_model *m, const float *x, size_t n, bool train, const float **y);
/* Backward through the last forward (which must have been in train mode).
 * dy: n x output_shape; accumulates (+=) parameter gradients; din: NULL, or
 * n x input_shape receiving d(loss)/d(input) (overwritten). Errors:
 * SL_ERR_STATE (no train-mode forward since the last backward). */
sl_status sl_model_backward(sl_model *m, const float *dy, float *din);
/* Zero all gradients (one memset). */
void sl_model_zero_grad(sl_model *m);
/* Reset the random stream used by dropout (forward calls draw from it). */
void sl_model_set_rng(sl_model *m, uint64_t seed);
/* Synchronised batch norm (on: true) for data-parallel training: in train
 * mode every bn layer normalises with the statistics of the batches of all
 * ranks of the distributed run (sl_dist, simlearn/base.h), so that N ranks
 * of n rows compute what one process computes on the N*n rows; each rank's
 * forward and backward then exchange per-channel sums with the others (every
 * rank must make the same calls). The parameter gradients keep this rank's
 * share, to be summed over the ranks like the other gradients. In a run of
 * one process it changes nothing. Returns the number of bn layers. Errors of
 * the exchange come back from sl_model_forward and sl_model_backward. */
size_t sl_model_set_sync_bn(sl_model *m, bool on);

/* The model's tensors in checkpoint order: parameters first-to-last by layer
 * (weight, bias), buffers (running_mean, running_var, num_batches_tracked
 * is written at save time). Pointers stay valid for the model's life. */
typedef enum { SL_TENSOR_WEIGHT, SL_TENSOR_BIAS, SL_TENSOR_NORM, SL_TENSOR_BUFFER } sl_tensor_role;
typedef struct sl_param_info {
    const char *name;        /* PyTorch-style, "0.weight", "1.running_mean" */
    sl_tensor_role role;     /* NORM = BN/LN gamma and beta; BIAS also class
                                tokens and position embeddings */
    int ndim;
    size_t shape[4];
    size_t count;
    float *data;
    float *grad;             /* NULL for buffers */
    bool decay;              /* weight decay applies (weights, not bias/norm) */
} sl_param_info;
size_t sl_model_tensor_count(const sl_model *m);
/* i < sl_model_tensor_count(m); returns false when out of range. */
bool sl_model_tensor(const sl_model *m, size_t i, sl_param_info *out);
/* The parameter and gradient blocks (sl_model_param_count floats each). */
float *sl_model_params(sl_model *m);
float *sl_model_grads(sl_model *m);
/* Sum of squared gradients (double accumulation). */
double sl_model_grad_sqnorm(const sl_model *m);
/* Multiply all gradients by s. */
void sl_model_scale_grads(sl_model *m, float s);

/* Bytes needed to train with batch n: parameters, gradients, optimizer
 * state, activations, backward buffers and scratch. */
size_t sl_model_memory(const sl_model *m, size_t n);

/* A human-readable table: index, torch index, layer, output shape, parameter
 * count, and totals; into buf (truncated to cap, always NUL-terminated; buf
 * may be NULL when cap is 0). Returns the length the full table needs, without
 * the terminating NUL (like snprintf). */
size_t sl_model_summary(const sl_model *m, char *buf, size_t cap);

/* ---- optimizers ---------------------------------------------------------
 * State (momentum / Adam moments) lives in the model's single allocation;
 * one optimizer per model. Weight decay is applied to weights only (not to
 * biases or BN/LN parameters) unless decay_all is set. */
typedef enum { SL_OPT_SGD, SL_OPT_ADAM, SL_OPT_ADAMW, SL_OPT_LARS } sl_optim_kind;
typedef struct sl_optim_config {
    sl_optim_kind kind;
    float momentum;      /* SGD/LARS, default 0.9 (SGD 0) */
    bool nesterov;       /* SGD */
    float weight_decay;  /* L2 for SGD/Adam/LARS, decoupled for AdamW */
    float beta1, beta2, eps; /* Adam/AdamW, defaults 0.9, 0.999, 1e-8 */
    float trust;         /* LARS trust coefficient, default 0.001 */
    bool decay_all;      /* also decay biases and norm parameters */
} sl_optim_config;
/* Fill c with PyTorch's defaults for the kind (AdamW weight decay 0.01,
 * others 0). */
void sl_optim_config_default(sl_optim_config *c, sl_optim_kind kind);
/* Parse "sgd", "adam", "adamw", "lars". SL_ERR_ARG otherwise. */
sl_status sl_optim_kind_parse(const char *name, sl_optim_kind *out);

typedef struct sl_optim sl_optim;
/* The optimizer borrows m (which must outlive it) and zeroes its state. */
sl_status sl_optim_create(sl_model *m, const sl_optim_config *c, sl_optim **out);
void sl_optim_destroy(sl_optim *o); /* NULL-safe */
/* One update with learning rate lr from the accumulated gradients (not zeroed).
 * Errors: SL_ERR_NUMERIC if a gradient is not finite (parameters unchanged). */
sl_status sl_optim_step(sl_optim *o, float lr);
uint64_t sl_optim_steps(const sl_optim *o);

/* Clip the gradients of several models (an encoder and its projector) to a
 * global L2 norm of at most max_norm; *norm (may be NULL) gets the norm
 * before clipping. */
void sl_model_clip_grad_norm(sl_model *const *models, size_t n, double max_norm, double *norm);

/* ---- learning-rate schedules -------------------------------------------*/
typedef enum { SL_SCHED_CONSTANT, SL_SCHED_STEP, SL_SCHED_COSINE } sl_sched_kind;
typedef struct sl_schedule {
    sl_sched_kind kind;
    double lr;              /* base learning rate */
    uint64_t warmup;        /* linear warm-up steps (from lr/warmup to lr), any kind */
    uint64_t total;         /* cosine: steps until lr reaches min_lr */
    double min_lr;          /* cosine floor */
    uint64_t step_size;     /* step: multiply by gamma every step_size steps */
    double gamma;
} sl_schedule;
/* Learning rate for 0-based step t. */
double sl_schedule_lr(const sl_schedule *s, uint64_t t);
/* Parse "constant", "step:SIZE:GAMMA", "cosine" (warm-up and totals are set
 * by the caller). SL_ERR_ARG on anything else. */
sl_status sl_schedule_parse(const char *text, sl_schedule *out);

/* ---- checkpoints --------------------------------------------------------
 * Tensors use PyTorch's names and layouts ("<prefix>0.weight" as
 * [out,in,kh,kw], "<prefix>1.running_mean", "<prefix>1.num_batches_tracked"),
 * so with prefix "" the tensors load into the equivalent torch.nn.Sequential
 * (torch.nn.Module.load_state_dict after dropping keys that start with
 * "optim."). Metadata "<prefix>spec" and "<prefix>input" rebuild the model;
 * optimizer state is stored as "optim.<prefix><name>.m" / ".v" with metadata
 * "optim.<prefix>kind", "optim.<prefix>step", ... */
/* Add m's tensors and metadata (and, if opt is not NULL, its state) to t. */
sl_status sl_model_export(const sl_model *m, const sl_optim *opt, const char *prefix, sl_tensors *t);
/* Build a model from "<prefix>spec"/"<prefix>input" metadata and load its
 * tensors. Errors: SL_ERR_NOTFOUND (missing tensor or metadata, named),
 * SL_ERR_FORMAT (wrong shape/dtype, non-finite value, named). */
sl_status sl_model_import(const sl_tensors *t, const char *prefix, uint64_t seed, sl_model **out);
/* Load tensors into an existing model (shapes must match). */
sl_status sl_model_load_tensors(sl_model *m, const sl_tensors *t, const char *prefix);
/* Restore optimizer state and step count written by sl_model_export. */
sl_status sl_optim_import(sl_optim *o, const sl_tensors *t, const char *prefix);
/* One model (+ optional optimizer) to/from a file, prefix "". meta: NULL or
 * extra metadata pairs {key0, value0, key1, value1, ..., NULL}. */
sl_status sl_model_save(const sl_model *m, const sl_optim *opt, const char *path, const char *const *meta);
sl_status sl_model_load(const char *path, sl_model **out);

/* ---- masked autoencoding (MAE) -----------------------------------------
 * He et al. 2022: the encoder sees only the visible patches of each image,
 * a light decoder fills in the masked ones, and the loss is the mean squared
 * error on the masked patches. Both towers are ordinary models:
 *   encoder  patch(p,D)[,cls],pos, then block and ln layers, then optionally
 *            tokfirst or tokmean (a vit preset is this); the masked pass runs
 *            its layers up to the pooling on the visible tokens only (the
 *            class token and the position embeddings of the visible patches
 *            included), so the same model embeds whole images afterwards.
 *   decoder  input T x D (T = the encoder's tokens, class token included),
 *            linear(Dd),masktok,pos, then block and ln layers, then
 *            linear(p*p*C): the projection to the decoder width, the shared
 *            mask token at the masked positions, the decoder's position
 *            embedding and blocks, and the pixel head.
 * Targets: each patch's pixels in the order (row, column, channel), as MAE's
 * patchify writes them; with norm_pix, each target patch is normalised by
 * its own mean and unbiased variance, (x - mean) / sqrt(var + 1e-6). The
 * decoder's prediction for the class token is not used. */
typedef struct sl_mae sl_mae;
/* Borrows both models (they must outlive it). Errors: SL_ERR_ARG naming the
 * layer that does not fit the layouts above. */
sl_status sl_mae_create(sl_model *encoder, sl_model *decoder, sl_mae **out);
void sl_mae_destroy(sl_mae *m); /* NULL-safe */
/* Patches per image (L) and the decoder the encoder needs by default:
 * "linear(64),masktok,pos,block(4),block(4),ln,linear(p*p*C)" into buf, and
 * its input shape into *in. Errors: SL_ERR_ARG (encoder not of the layout). */
size_t sl_mae_patches(const sl_model *encoder);
sl_status sl_mae_default_decoder(const sl_model *encoder, char *buf, size_t cap, sl_shape *in);
/* round(ratio * L) (halves up, at most L): the patches masked per image. */
size_t sl_mae_masked_count(size_t L, double ratio);
/* sl_mae_masked_count(L, ratio) masked patches for item `item` of step `step`, as mask
 * bytes (L of them, 1 = masked), from its own stream of seed: the same
 * (seed, step, item) give the same mask. ratio in [0, 1). */
void sl_mae_draw_mask(uint8_t *mask, size_t L, double ratio, uint64_t seed, uint64_t step, uint64_t item);
/* Bytes of the buffers a training batch of n images with `masked` of each
 * image's L patches masked takes (what sl_mae_forward allocates), beside the
 * two models' own memory. */
size_t sl_mae_memory(const sl_mae *m, size_t n, size_t masked);
/* The loss of a batch of n images x (n x C x H x W) with mask (n x L bytes,
 * 1 = masked; every image the same number of masked patches, at least one).
 * train: keep what the backward needs. Errors: SL_ERR_ARG, SL_ERR_NOMEM. */
sl_status sl_mae_forward(sl_mae *m, const float *x, size_t n, const uint8_t *mask, bool norm_pix, bool train,
                         double *loss);
/* Accumulates the gradient of the last train forward's loss into both
 * models' gradients. Errors: SL_ERR_STATE (no train forward before). */
sl_status sl_mae_backward(sl_mae *m);
/* The last forward's predictions (n x T x p*p*C, the decoder's output) and
 * targets (n x L x p*p*C, normalised with norm_pix); valid until the next
 * forward. */
const float *sl_mae_prediction(const sl_mae *m);
const float *sl_mae_target(const sl_mae *m);

#ifdef __cplusplus
}
#endif
#endif

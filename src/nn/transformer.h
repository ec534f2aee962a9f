/* Private to the nn module: the numerical kernels that transformer layers are
 * built from, each with a naive `_ref` twin (plain loops, double accumulation)
 * that the tests compare against.
 *
 * Token layout: a batch of n sequences of T tokens with D features each is
 * stored as (n*T) x D row-major rows; row s*T + t is token t of sequence s.
 * Images come in the internal CNHW layout of nn_internal.h.
 *
 * Every backward accumulates (+=) into its parameter gradients and writes
 * (overwrites) its input gradient, which may be NULL when nothing upstream
 * needs it. Matrix products go through sl_gemm and every sum runs in a fixed
 * order, so results are bit-identical for any thread count.
 *
 * Layer norm over token rows and GELU are not here: sl__ln_forward and
 * sl__gelu_forward (nn_internal.h), which the `ln` and `gelu` layers use,
 * work on rows (LN over the last dimension; GELU exact, with erf, as
 * PyTorch's nn.GELU() default), and token rows are n*T such rows. */
#ifndef SIMLEARN_NN_TRANSFORMER_H
#define SIMLEARN_NN_TRANSFORMER_H

#include "nn/nn_internal.h"

/* ---- multi-head self-attention -------------------------------------------
 * What PyTorch's nn.MultiheadAttention(D, H, batch_first=True) computes for
 * query = key = value = x (dropout 0):
 *   qkv = x in_w^T + in_b                   (n*T) x 3D; columns [0,D) are Q,
 *                                           [D,2D) K, [2D,3D) V
 *   for each sequence s and head h (dh = D/H columns h*dh .. h*dh+dh-1):
 *     P = softmax(Q K^T / sqrt(dh) + mask)  T x T, row-wise, max subtracted
 *     ctx = P V                             T x dh, into ctx columns of head h
 *   out = ctx out_w^T + out_b               (n*T) x D
 * Masks: `causal` lets query i see keys j <= i only; pad (n x T bytes, or
 * NULL) marks padded tokens with a nonzero byte (PyTorch's key_padding_mask,
 * True = ignore): no query attends to them. A padded query row is computed
 * like any other (it attends to the valid keys), so its output is finite. A
 * row with no visible key at all (a sequence of length 0) gets probabilities
 * 0 and context 0, so its output is out_b (PyTorch gives NaN there).
 * Parameters in PyTorch's names: in_proj_weight (3D x D), in_proj_bias (3D),
 * out_proj.weight (D x D), out_proj.bias (D); either bias may be NULL. */
typedef struct sl__attn_dims {
    size_t n, t, d, h; /* sequences, tokens per sequence, features, heads (h divides d) */
    bool causal;
    size_t threads; /* workers the backward scratch is sized for (0 = 1) */
} sl__attn_dims;

typedef struct sl__attn_params {
    const float *in_w, *in_b, *out_w, *out_b;
} sl__attn_params;
typedef struct sl__attn_grads {
    float *in_w, *in_b, *out_w, *out_b; /* a bias gradient may be NULL */
} sl__attn_grads;

/* Cache of the last forward, which the backward reads, in floats:
 * qkv ((n*T) x 3D) | ctx ((n*T) x D) | P (n*H blocks of T x T, block s*H+h),
 * that is 4*n*T*D + n*H*T*T. */
size_t sl__attn_cache_floats(const sl__attn_dims *d);
/* Backward scratch, in floats: d(ctx) and d(qkv), 4*n*T*D, plus one T x T
 * block per worker (min(threads, n*H) of them). The forward needs none. */
size_t sl__attn_scratch_floats(const sl__attn_dims *d);
/* pad[s*T + t] = 1 for t >= len[s], else 0. */
void sl__attn_pad_from_lengths(uint8_t *pad, const size_t *len, size_t n, size_t t);

void sl__attn_forward(float *out, float *cache, const float *x, const sl__attn_params *p, const uint8_t *pad,
                      const sl__attn_dims *d);
/* out = res + attention(x) (res n*T x D), the residual sum folded into the
 * output projection (sl__linear_forward_res). */
void sl__attn_forward_res(float *out, float *cache, const float *x, const float *res, const sl__attn_params *p,
                          const uint8_t *pad, const sl__attn_dims *d);
/* The masks are not needed again: masked probabilities are 0 in the cache. */
void sl__attn_backward(float *dx, const sl__attn_grads *g, const float *dout, const float *x, const float *cache,
                       const sl__attn_params *p, const sl__attn_dims *d, float *scratch);
/* The twins compute in double, the backward recomputing the forward (no
 * cache); they allocate, so they can fail with SL_ERR_NOMEM. */
sl_status sl__attn_forward_ref(float *out, const float *x, const sl__attn_params *p, const uint8_t *pad,
                               const sl__attn_dims *d);
sl_status sl__attn_backward_ref(float *dx, const sl__attn_grads *g, const float *dout, const float *x,
                                const sl__attn_params *p, const uint8_t *pad, const sl__attn_dims *d);

/* ---- patch embedding -----------------------------------------------------
 * in: a CNHW image batch, c x n x h x w. Each image is cut into gh x gw
 * non-overlapping p x p patches (gh = h/p, gw = w/p, rounded down: trailing
 * rows and columns that fill no patch are dropped and get gradient 0), and
 * each patch becomes one token: out is (n*L) x D with L = gh*gw, token
 * i*gw + j of image s from the patch at rows i*p.., columns j*p... This is
 * PyTorch's Conv2d(c, D, kernel_size=p, stride=p) followed by
 * flatten(2).transpose(1, 2), with wt in Conv2d's layout D x c x p x p and
 * bias D (or NULL). Computed as a patch gather (row r of the patch matrix is
 * token r, column (ci*p + kh)*p + kw) and one product. */
typedef struct sl__patch_dims {
    size_t n, c, h, w; /* input: c x n x h x w */
    size_t p, d;       /* patch side, embedding features */
} sl__patch_dims;

/* Tokens per image, (h/p)*(w/p). */
size_t sl__patch_tokens(const sl__patch_dims *d);
/* Scratch for the patch matrix, forward and backward: n*L x c*p*p floats. */
size_t sl__patch_scratch_floats(const sl__patch_dims *d);
void sl__patch_forward(float *out, const float *in, const float *wt, const float *bias, const sl__patch_dims *d,
                       float *scratch);
void sl__patch_backward(float *din, float *dwt, float *dbias, const float *dout, const float *in, const float *wt,
                        const sl__patch_dims *d, float *scratch);
void sl__patch_forward_ref(float *out, const float *in, const float *wt, const float *bias, const sl__patch_dims *d);
void sl__patch_backward_ref(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                            const float *wt, const sl__patch_dims *d);

/* ---- class token, position embedding, pooling ----------------------------
 * Class token: in (n*T) x D -> out (n*(T+1)) x D, row s*(T+1) is cls (D) and
 * rows s*(T+1)+1+t are the input tokens; dcls accumulates the sum over the
 * sequences of their first output row's gradient. */
void sl__cls_prepend_forward(float *out, const float *in, const float *cls, size_t n, size_t t, size_t d);
void sl__cls_prepend_backward(float *din, float *dcls, const float *dout, size_t n, size_t t, size_t d);
void sl__cls_prepend_forward_ref(float *out, const float *in, const float *cls, size_t n, size_t t, size_t d);
void sl__cls_prepend_backward_ref(float *din, float *dcls, const float *dout, size_t n, size_t t, size_t d);

/* Learned position embedding: out = in + pos, pos (T x D) added to every
 * sequence; out may be in itself. Backward: dpos accumulates the sum over
 * the sequences; din = dout (din may be dout itself, or NULL). */
void sl__pos_add_forward(float *out, const float *in, const float *pos, size_t n, size_t t, size_t d);
void sl__pos_add_backward(float *din, float *dpos, const float *dout, size_t n, size_t t, size_t d);
void sl__pos_add_forward_ref(float *out, const float *in, const float *pos, size_t n, size_t t, size_t d);
void sl__pos_add_backward_ref(float *din, float *dpos, const float *dout, size_t n, size_t t, size_t d);

/* Mean over tokens: in (n*T) x D -> out n x D. With pad (n x T bytes,
 * nonzero = padded, or NULL) the mean runs over the unpadded tokens only; a
 * sequence with none gives 0 (and passes no gradient). */
void sl__tok_mean_forward(float *out, const float *in, const uint8_t *pad, size_t n, size_t t, size_t d);
void sl__tok_mean_backward(float *din, const float *dout, const uint8_t *pad, size_t n, size_t t, size_t d);
void sl__tok_mean_forward_ref(float *out, const float *in, const uint8_t *pad, size_t n, size_t t, size_t d);
void sl__tok_mean_backward_ref(float *din, const float *dout, const uint8_t *pad, size_t n, size_t t, size_t d);

/* First token of each sequence (the class token): in (n*T) x D -> out n x D;
 * the backward writes din whole (0 on every other token). */
void sl__tok_first_forward(float *out, const float *in, size_t n, size_t t, size_t d);
void sl__tok_first_backward(float *din, const float *dout, size_t n, size_t t, size_t d);
void sl__tok_first_forward_ref(float *out, const float *in, size_t n, size_t t, size_t d);
void sl__tok_first_backward_ref(float *din, const float *dout, size_t n, size_t t, size_t d);

/* ---- pre-LN transformer block -------------------------------------------
 * On token rows x ((n*T) x D), with M hidden features in the MLP:
 *   x1 = x + attn(ln1(x))                  multi-head self-attention as above
 *   y  = x1 + fc2(gelu(fc1(ln2(x1))))      fc1: D -> M, fc2: M -> D
 * which is what this plain PyTorch module computes (dropout 0):
 *   norm1 = nn.LayerNorm(D); attn = nn.MultiheadAttention(D, H, batch_first=True)
 *   norm2 = nn.LayerNorm(D); mlp = nn.Sequential(nn.Linear(D, M), nn.GELU(), nn.Linear(M, D))
 *   h = norm1(x); x = x + attn(h, h, h, need_weights=False)[0]; x = x + mlp(norm2(x))
 * Its tensors, in this order, carry the names of that module's state_dict.
 * The attention takes the masks of sl__block_dims (causal: attn_mask of
 * nn.Transformer.generate_square_subsequent_mask(T); pad: key_padding_mask);
 * the backward reads them from the cache, not from d. */
enum {
    SL__BLOCK_NORM1_W, SL__BLOCK_NORM1_B, SL__BLOCK_IN_W, SL__BLOCK_IN_B, SL__BLOCK_OUT_W, SL__BLOCK_OUT_B,
    SL__BLOCK_NORM2_W, SL__BLOCK_NORM2_B, SL__BLOCK_FC1_W, SL__BLOCK_FC1_B, SL__BLOCK_FC2_W, SL__BLOCK_FC2_B,
    SL__BLOCK_TENSORS
};
typedef struct sl__block_dims {
    size_t n, t, d, h, m; /* sequences, tokens, features, heads (h divides d), MLP width */
    double eps;           /* of both layer norms */
    size_t threads;       /* workers the backward scratch is sized for (0 = 1) */
    bool causal;          /* the attention's causal mask */
    const uint8_t *pad;   /* the attention's key padding mask (n x T bytes) or NULL */
    /* Only the first token of each sequence is used downstream (a tokfirst
     * follows through per-token layers): the forward writes rows s*T of out
     * only, computing the attention for the first query and the output
     * projection, residuals and MLP for those n rows; the backward reads
     * rows s*T of dout only. Layer norm 1 and the qkv projection still run
     * on every row (the first token attends to all of them). */
    bool first;
} sl__block_dims;

/* Cache of the forward (which the backward reads) and scratch of the
 * backward, in floats; SIZE_MAX when the size overflows. With R = n*T:
 * cache 2R (norm1) + RD (ln1 out) + the attention's cache + RD (x1) + 2R
 * (norm2) + RD (ln2 out) + 2RM (GELU's slope at the fc1 output, GELU out);
 * scratch RM + 2RD + the attention's scratch, then, for the slices of the
 * batch that the block runs on (transformer.c), one T x T block per slice and
 * the parameter gradients of every slice but the first, and for the
 * first-token block (first) nD more. */
size_t sl__block_cache_floats(const sl__block_dims *d);
size_t sl__block_scratch_floats(const sl__block_dims *d);
/* w: the tensors in the order above. */
void sl__block_forward(float *out, float *cache, const float *x, const float *const *w, const sl__block_dims *d);
/* g: their gradients (accumulated); dx: written, or NULL (the parameter
 * gradients are still computed). */
void sl__block_backward(float *dx, float *const *g, const float *dout, const float *x, const float *cache,
                        const float *const *w, const sl__block_dims *d, float *scratch);

#endif

/* Masked autoencoding (nn.h): the encoder's layers run on the visible tokens
 * of each image through the same kernels its layers use (transformer.h), the
 * decoder is an ordinary model whose masktok layer puts the mask token at
 * the masked positions, and the loss is the squared error on the masked
 * patches. The encoder keeps its parameters and gradients in its model, so
 * optimizers and checkpoints see nothing special. */
#include "nn/nn_internal.h"
#include "nn/model_internal.h"
#include "nn/transformer.h"

#include <math.h>
#include <omp.h>
#include <string.h>

struct sl_mae {
    sl_model *enc, *dec;
    size_t first, last; /* encoder layers [first, last) after pos: block or ln */
    bool cls;
    size_t c, h, w, p, L, D, T, K; /* image, patch side, patches, width, tokens, pixels per patch */
    /* per batch, for n images with tv tokens each (visible patches + class token) */
    size_t n, tv, threads;
    float *img, *ptok, *xs, *caches, *scratch, *full, *dfull, *target, *dpred, *g0, *g1;
    float **act, **cache; /* act[i]: input of layer first + i; act[last - first]: the output */
    size_t *keep;         /* n x (tv - cls) visible patch indices, ascending */
    uint8_t *mask;
    size_t nmasked;
    bool can_backward;
    const float *pred;
};

static float *tdata(const sl_model *m, const sl__layer *L, size_t j) { return m->tensors[L->t0 + j].info.data; }
static float *tgrad(const sl_model *m, const sl__layer *L, size_t j) { return m->tensors[L->t0 + j].info.grad; }
static bool is(const sl__layer *L, const char *kind) { return strcmp(L->ops->name, kind) == 0; }

static sl_status bad(const char *tower, size_t i, const char *expected) {
    return sl__fail(SL_ERR_ARG, "masked autoencoder: %s layer %zu: expected %s", tower, i + 1, expected);
}

/* patch(p,D)[,cls],pos,(block|ln)*[,tokfirst|tokmean]; *first, *last bound the middle. */
static sl_status check_encoder(const sl_model *e, bool *cls, size_t *first, size_t *last) {
    size_t i = 0;
    if (e->nl < 2 || !is(&e->layers[0], "patch")) return bad("encoder", 0, "patch(p,dim) first");
    *cls = e->nl > 2 && is(&e->layers[1], "cls");
    i = *cls ? 2 : 1;
    if (i >= e->nl || !is(&e->layers[i], "pos")) return bad("encoder", i, "pos after patch (and cls)");
    *first = ++i;
    while (i < e->nl && (is(&e->layers[i], "block") || is(&e->layers[i], "ln"))) i++;
    *last = i;
    if (i < e->nl && (is(&e->layers[i], "tokfirst") || is(&e->layers[i], "tokmean"))) i++;
    if (i < e->nl) return bad("encoder", i, "block, ln, or tokfirst or tokmean at the end");
    return SL_OK;
}

size_t sl_mae_patches(const sl_model *encoder) {
    return encoder->nl && is(&encoder->layers[0], "patch") ? encoder->layers[0].out.dims[0] : 0;
}

sl_status sl_mae_default_decoder(const sl_model *encoder, char *buf, size_t cap, sl_shape *in) {
    bool cls;
    size_t first, last;
    SL__TRY(check_encoder(encoder, &cls, &first, &last));
    const sl__layer *P = &encoder->layers[0];
    *in = encoder->layers[last - 1].out;
    snprintf(buf, cap, "linear(64),masktok,pos,block(4),block(4),ln,linear(%zu)", P->k * P->k * P->in.dims[0]);
    return SL_OK;
}

static sl_status check_decoder(const sl_mae *m) {
    const sl_model *d = m->dec;
    if (d->input.ndim != 2 || d->input.dims[0] != m->T || d->input.dims[1] != m->D)
        return sl__fail(SL_ERR_ARG, "masked autoencoder: decoder input must be %zux%zu (the encoder's tokens)", m->T,
                        m->D);
    if (d->nl < 4 || !is(&d->layers[0], "linear")) return bad("decoder", 0, "linear(width) first");
    if (!is(&d->layers[1], "masktok")) return bad("decoder", 1, "masktok");
    if (!is(&d->layers[2], "pos")) return bad("decoder", 2, "pos");
    for (size_t i = 3; i + 1 < d->nl; i++)
        if (!is(&d->layers[i], "block") && !is(&d->layers[i], "ln")) return bad("decoder", i, "block or ln");
    if (!is(&d->layers[d->nl - 1], "linear") || d->output.dims[1] != m->K) {
        char want[48];
        snprintf(want, sizeof want, "linear(%zu) last (p*p*C pixels)", m->K);
        return bad("decoder", d->nl - 1, want);
    }
    return SL_OK;
}

sl_status sl_mae_create(sl_model *encoder, sl_model *decoder, sl_mae **out) {
    *out = NULL;
    sl_mae t = {.enc = encoder, .dec = decoder};
    SL__TRY(check_encoder(encoder, &t.cls, &t.first, &t.last));
    const sl__layer *P = &encoder->layers[0];
    t.c = P->in.dims[0], t.h = P->in.dims[1], t.w = P->in.dims[2], t.p = P->k;
    t.L = P->out.dims[0], t.D = P->out.dims[1], t.T = t.L + t.cls, t.K = t.p * t.p * t.c;
    SL__TRY(check_decoder(&t));
    sl_mae *m = sl__calloc(1, sizeof *m);
    if (!m) return sl__fail(SL_ERR_NOMEM, "masked autoencoder: out of memory");
    *m = t;
    *out = m;
    return SL_OK;
}

static void free_batch(sl_mae *m) {
    sl__free(m->img), sl__free(m->act), sl__free(m->cache), sl__free(m->keep);
    sl__free(m->mask);
    m->img = m->caches = NULL, m->act = m->cache = NULL, m->keep = NULL, m->mask = NULL;
    m->n = m->tv = 0;
}

void sl_mae_destroy(sl_mae *m) {
    if (!m) return;
    free_batch(m);
    sl__free(m);
}

static sl__block_dims block_dims(const sl_mae *m, const sl__layer *L) {
    return (sl__block_dims){m->n, m->tv, m->D, L->heads, L->nout, L->eps, m->threads, L->causal, NULL, false};
}

static size_t add_sat(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

/* Float counts of the per-batch buffers, in the order they are laid out. */
enum { B_IMG, B_PTOK, B_XS, B_SCRATCH, B_FULL, B_DFULL, B_TARGET, B_DPRED, B_G0, B_G1, B_N };
static void batch_sizes(sl_mae *m, size_t sz[B_N], size_t *caches) {
    size_t n = m->n, rows = sl__mul_sat(n, m->tv), nl = m->last - m->first;
    size_t scratch = sl__mul_sat(sl__mul_sat(n, m->L), m->K); /* patch matrix */
    *caches = 0;
    for (size_t i = m->first; i < m->last; i++) {
        const sl__layer *L = &m->enc->layers[i];
        if (is(L, "block")) {
            sl__block_dims d = block_dims(m, L);
            *caches = add_sat(*caches, sl__block_cache_floats(&d));
            size_t s = sl__block_scratch_floats(&d);
            if (s > scratch) scratch = s;
        } else {
            *caches = add_sat(*caches, sl__mul_sat(2, rows));
        }
    }
    size_t full = sl__mul_sat(sl__mul_sat(n, m->T), m->D);
    size_t act = sl__mul_sat(rows, m->D);
    sz[B_IMG] = sl__mul_sat(n, m->c * m->h * m->w);
    sz[B_PTOK] = sl__mul_sat(sl__mul_sat(n, m->L), m->D);
    sz[B_XS] = sl__mul_sat(act, nl + 1);
    sz[B_SCRATCH] = scratch;
    sz[B_FULL] = sz[B_DFULL] = full;
    sz[B_TARGET] = sl__mul_sat(sl__mul_sat(n, m->L), m->K);
    sz[B_DPRED] = sl__mul_sat(sl__mul_sat(n, m->T), m->K);
    sz[B_G0] = sz[B_G1] = act;
}

size_t sl_mae_memory(const sl_mae *m, size_t n, size_t masked) {
    sl_mae t = *m;
    t.n = n, t.tv = t.T - SL__MIN(masked, t.L), t.threads = (size_t)omp_get_max_threads();
    size_t sz[B_N], caches, total = 0;
    batch_sizes(&t, sz, &caches);
    for (int b = 0; b < B_N; b++) total = add_sat(total, sz[b]);
    total = add_sat(total, caches);
    const size_t idx = sl__mul_sat(sl__mul_sat(n, t.L), sizeof(size_t) + 1);
    return add_sat(sl__mul_sat(total, sizeof(float)), idx);
}

static sl_status reserve(sl_mae *m, size_t n, size_t tv) {
    size_t threads = (size_t)omp_get_max_threads();
    if (m->img && m->n == n && m->tv == tv && m->threads == threads) return SL_OK;
    free_batch(m);
    m->n = n, m->tv = tv, m->threads = threads;
    size_t sz[B_N], caches, total = 0, nl = m->last - m->first;
    batch_sizes(m, sz, &caches);
    for (int b = 0; b < B_N; b++) total = add_sat(total, sz[b]);
    total = add_sat(total, caches);
    m->img = total < SIZE_MAX / sizeof(float) ? sl__malloc_array(total, sizeof(float), "MAE buffers") : NULL;
    m->act = sl__calloc(nl + 1, sizeof *m->act);
    m->cache = sl__calloc(nl + 1, sizeof *m->cache);
    m->keep = sl__malloc_array(n * m->L + 1, sizeof *m->keep, "MAE indices");
    m->mask = sl__malloc_array(n * m->L + 1, 1, "MAE mask");
    if (!m->img || !m->act || !m->cache || !m->keep || !m->mask) {
        free_batch(m);
        return sl__fail(SL_ERR_NOMEM, "masked autoencoder: cannot allocate buffers for a batch of %zu", n);
    }
    float **slot[B_N] = {&m->img, &m->ptok, &m->xs, &m->scratch, &m->full, &m->dfull, &m->target, &m->dpred,
                         &m->g0, &m->g1};
    float *p = m->img;
    for (int b = 0; b < B_N; b++) *slot[b] = p, p += sz[b];
    m->caches = p;
    size_t act = n * tv * m->D;
    for (size_t i = 0; i <= nl; i++) m->act[i] = m->xs + i * act;
    for (size_t i = 0; i < nl; i++) {
        const sl__layer *L = &m->enc->layers[m->first + i];
        m->cache[i] = p;
        if (is(L, "block")) {
            sl__block_dims d = block_dims(m, L);
            p += sl__block_cache_floats(&d);
        } else {
            p += 2 * n * tv;
        }
    }
    return SL_OK;
}

size_t sl_mae_masked_count(size_t L, double ratio) {
    const size_t nm = (size_t)floor(ratio * (double)L + 0.5);
    return nm > L ? L : nm;
}

/* Selection sampling (Knuth's algorithm S): each patch in turn is masked
 * with probability (still to mask) / (still to see), which masks exactly nm
 * patches, every set of nm equally likely. */
void sl_mae_draw_mask(uint8_t *mask, size_t L, double ratio, uint64_t seed, uint64_t step, uint64_t item) {
    sl_rng r;
    sl_rng_seed(&r, seed ^ 0x4d41452d6d61736bull, step * 0x9e3779b97f4a7c15ull ^ item);
    size_t need = sl_mae_masked_count(L, ratio);
    for (size_t k = 0; k < L; k++) {
        bool pick = sl_rng_below(&r, L - k) < need;
        mask[k] = pick;
        need -= pick;
    }
}

/* Visible patches per image (the same for all), or an error. */
static sl_status count_visible(const sl_mae *m, const uint8_t *mask, size_t n, size_t *nvis) {
    for (size_t s = 0; s < n; s++) {
        size_t v = 0;
        for (size_t k = 0; k < m->L; k++) v += mask[s * m->L + k] == 0;
        if (s == 0) *nvis = v;
        if (v != *nvis)
            return sl__fail(SL_ERR_ARG, "masked autoencoder: image %zu has %zu visible patches, image 0 has %zu", s,
                            v, *nvis);
    }
    if (*nvis == m->L) return sl__fail(SL_ERR_ARG, "masked autoencoder: no patch is masked");
    return SL_OK;
}

/* Patch embedding of every patch, then the visible ones (and the class
 * token) with their position embeddings into act[0]. */
static void embed_visible(sl_mae *m, const float *x) {
    const sl__layer *P = &m->enc->layers[0], *C = &m->enc->layers[1], *Q = &m->enc->layers[m->first - 1];
    size_t n = m->n, D = m->D, nv = m->tv - m->cls;
    sl__patch_dims pd = {n, m->c, m->h, m->w, m->p, D};
    sl__to_cnhw(m->img, x, n, m->c, m->h * m->w);
    sl__patch_forward(m->ptok, m->img, tdata(m->enc, P, 0), tdata(m->enc, P, 1), &pd, m->scratch);
    const float *pos = tdata(m->enc, Q, 0);
    for (size_t s = 0; s < n; s++) {
        float *row = m->act[0] + s * m->tv * D;
        if (m->cls) {
            const float *ct = tdata(m->enc, C, 0);
            for (size_t j = 0; j < D; j++) row[j] = ct[j] + pos[j];
            row += D;
        }
        for (size_t v = 0; v < nv; v++, row += D) {
            size_t k = m->keep[s * nv + v];
            const float *src = m->ptok + (s * m->L + k) * D, *pe = pos + (m->cls + k) * D;
            for (size_t j = 0; j < D; j++) row[j] = src[j] + pe[j];
        }
    }
}

static void encoder_forward(sl_mae *m) {
    for (size_t i = m->first; i < m->last; i++) {
        const sl__layer *L = &m->enc->layers[i];
        size_t k = i - m->first;
        float *w[SL__LAYER_TENSORS];
        for (size_t j = 0; j < L->nt; j++) w[j] = tdata(m->enc, L, j);
        if (is(L, "block")) {
            sl__block_dims d = block_dims(m, L);
            sl__block_forward(m->act[k + 1], m->cache[k], m->act[k], (const float *const *)w, &d);
        } else {
            sl__ln_forward(m->act[k + 1], m->cache[k], m->act[k], w[0], w[1], m->n * m->tv, m->D, L->eps);
        }
    }
}

/* Pixels of patch k of image s (NCHW x) in (row, column, channel) order. */
static void patchify(const sl_mae *m, float *dst, const float *x, size_t s, size_t k) {
    size_t gw = m->w / m->p, r0 = (k / gw) * m->p, c0 = (k % gw) * m->p, o = 0;
    for (size_t i = 0; i < m->p; i++)
        for (size_t j = 0; j < m->p; j++)
            for (size_t c = 0; c < m->c; c++)
                dst[o++] = x[((s * m->c + c) * m->h + r0 + i) * m->w + c0 + j];
}

static void make_targets(sl_mae *m, const float *x, bool norm_pix) {
    size_t K = m->K;
    for (size_t s = 0; s < m->n; s++)
        for (size_t k = 0; k < m->L; k++) {
            float *t = m->target + (s * m->L + k) * K;
            patchify(m, t, x, s, k);
            if (!norm_pix) continue;
            double mean = 0, var = 0;
            for (size_t j = 0; j < K; j++) mean += t[j];
            mean /= (double)K;
            for (size_t j = 0; j < K; j++) var += (t[j] - mean) * (t[j] - mean);
            var = K > 1 ? var / (double)(K - 1) : 0;
            double inv = 1.0 / sqrt(var + 1e-6);
            for (size_t j = 0; j < K; j++) t[j] = (float)((t[j] - mean) * inv);
        }
}

/* The encoder's visible tokens at their places among T (zeros elsewhere),
 * and the masked places marked for the decoder's masktok layer. */
static sl_status to_decoder(sl_mae *m) {
    size_t n = m->n, D = m->D, nv = m->tv - m->cls;
    const float *z = m->act[m->last - m->first];
    memset(m->full, 0, n * m->T * D * sizeof(float));
    for (size_t s = 0; s < n; s++) {
        if (m->cls) memcpy(m->full + s * m->T * D, z + s * m->tv * D, D * sizeof(float));
        for (size_t v = 0; v < nv; v++)
            memcpy(m->full + (s * m->T + m->cls + m->keep[s * nv + v]) * D, z + (s * m->tv + m->cls + v) * D,
                   D * sizeof(float));
    }
    SL__TRY(sl__model_reserve(m->dec, n));
    uint8_t *marks = m->dec->layers[1].mask;
    for (size_t s = 0; s < n; s++) {
        if (m->cls) marks[s * m->T] = 0;
        memcpy(marks + s * m->T + m->cls, m->mask + s * m->L, m->L);
    }
    return SL_OK;
}

/* Mean over masked patches of the mean squared error of their pixels; its
 * gradient into dpred (0 for visible patches and the class token). */
static double masked_loss(sl_mae *m) {
    size_t K = m->K;
    double total = 0, scale = 2.0 / ((double)K * (double)m->nmasked);
    memset(m->dpred, 0, m->n * m->T * K * sizeof(float));
    for (size_t s = 0; s < m->n; s++)
        for (size_t k = 0; k < m->L; k++) {
            if (!m->mask[s * m->L + k]) continue;
            const float *t = m->target + (s * m->L + k) * K, *y = m->pred + (s * m->T + m->cls + k) * K;
            float *g = m->dpred + (s * m->T + m->cls + k) * K;
            double e = 0;
            for (size_t j = 0; j < K; j++) {
                double d = (double)y[j] - t[j];
                e += d * d;
                g[j] = (float)(scale * d);
            }
            total += e / (double)K;
        }
    return total / (double)m->nmasked;
}

sl_status sl_mae_forward(sl_mae *m, const float *x, size_t n, const uint8_t *mask, bool norm_pix, bool train,
                         double *loss) {
    m->can_backward = false;
    if (n == 0) return sl__fail(SL_ERR_ARG, "masked autoencoder: empty batch");
    size_t nvis = 0;
    SL__TRY(count_visible(m, mask, n, &nvis));
    SL__TRY(reserve(m, n, nvis + m->cls));
    memcpy(m->mask, mask, n * m->L);
    m->nmasked = n * (m->L - nvis);
    for (size_t s = 0; s < n; s++)
        for (size_t k = 0, v = 0; k < m->L; k++)
            if (!mask[s * m->L + k]) m->keep[s * nvis + v++] = k;
    embed_visible(m, x);
    encoder_forward(m);
    SL__TRY(to_decoder(m));
    SL__TRY(sl_model_forward(m->dec, m->full, n, train, &m->pred));
    make_targets(m, x, norm_pix);
    *loss = masked_loss(m);
    m->can_backward = train;
    return SL_OK;
}

static void encoder_backward(sl_mae *m, float *dz) {
    float *cur = dz;
    for (size_t i = m->last; i-- > m->first;) {
        const sl__layer *L = &m->enc->layers[i];
        size_t k = i - m->first;
        float *w[SL__LAYER_TENSORS], *g[SL__LAYER_TENSORS];
        for (size_t j = 0; j < L->nt; j++) w[j] = tdata(m->enc, L, j), g[j] = tgrad(m->enc, L, j);
        float *next = cur == m->g0 ? m->g1 : m->g0;
        if (is(L, "block")) {
            sl__block_dims d = block_dims(m, L);
            sl__block_backward(next, g, cur, m->act[k], m->cache[k], (const float *const *)w, &d, m->scratch);
        } else {
            sl__ln_backward(next, g[0], g[1], cur, m->act[k], m->cache[k], w[0], m->n * m->tv, m->D);
        }
        cur = next;
    }
    /* cur: the gradient at the embedded visible tokens */
    const sl__layer *P = &m->enc->layers[0], *C = &m->enc->layers[1], *Q = &m->enc->layers[m->first - 1];
    size_t n = m->n, D = m->D, nv = m->tv - m->cls;
    float *dpos = tgrad(m->enc, Q, 0);
    memset(m->ptok, 0, n * m->L * D * sizeof(float));
    for (size_t s = 0; s < n; s++) {
        const float *row = cur + s * m->tv * D;
        if (m->cls) {
            float *dct = tgrad(m->enc, C, 0);
            for (size_t j = 0; j < D; j++) dct[j] += row[j], dpos[j] += row[j];
            row += D;
        }
        for (size_t v = 0; v < nv; v++, row += D) {
            size_t k = m->keep[s * nv + v];
            float *dp = dpos + (m->cls + k) * D;
            memcpy(m->ptok + (s * m->L + k) * D, row, D * sizeof(float));
            for (size_t j = 0; j < D; j++) dp[j] += row[j];
        }
    }
    sl__patch_dims pd = {n, m->c, m->h, m->w, m->p, D};
    sl__patch_backward(NULL, tgrad(m->enc, P, 0), tgrad(m->enc, P, 1), m->ptok, m->img, tdata(m->enc, P, 0), &pd,
                       m->scratch);
}

sl_status sl_mae_backward(sl_mae *m) {
    if (!m->can_backward)
        return sl__fail(SL_ERR_STATE, "masked autoencoder: no train-mode forward pass to go back through");
    m->can_backward = false;
    SL__TRY(sl_model_backward(m->dec, m->dpred, m->dfull));
    size_t n = m->n, D = m->D, nv = m->tv - m->cls;
    float *dz = m->g0;
    for (size_t s = 0; s < n; s++) {
        if (m->cls) memcpy(dz + s * m->tv * D, m->dfull + s * m->T * D, D * sizeof(float));
        for (size_t v = 0; v < nv; v++)
            memcpy(dz + (s * m->tv + m->cls + v) * D, m->dfull + (s * m->T + m->cls + m->keep[s * nv + v]) * D,
                   D * sizeof(float));
    }
    encoder_backward(m, dz);
    return SL_OK;
}

const float *sl_mae_prediction(const sl_mae *m) { return m->pred; }
const float *sl_mae_target(const sl_mae *m) { return m->target; }

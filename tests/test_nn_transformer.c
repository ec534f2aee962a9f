/* Tests of the transformer kernels (src/nn/transformer.h): every fast kernel
 * against its naive `_ref` twin on random odd sizes; central-difference
 * gradient checks (loss and differences in double) of every backward; the
 * outputs and gradients PyTorch gives on the same values, from
 * tests/fixtures/nn_transformer.safetensors (written by
 * tests/fixtures/make_transformer_fixtures.py); the masks' effects; the same
 * bits for any thread count; and the model's `ln` and `gelu` layers on token
 * rows against PyTorch's nn.LayerNorm and nn.GELU. */
#include "test.h"

#include "nn/fastmath.h"
#include "nn/transformer.h"

#define FIXTURE "tests/fixtures/nn_transformer.safetensors"

static void fill_normal(float *x, size_t n, sl_rng *r, double scale) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(scale * sl_rng_normal(r));
}

static float *alloc_f(size_t n) {
    float *p = calloc(n ? n : 1, sizeof(float));
    if (!p) T_FAIL("out of memory");
    return p;
}

static void assert_close_arr(const float *a, const float *b, size_t n, double rtol, double atol, const char *what) {
    for (size_t i = 0; i < n; i++) {
        double m = fabs(a[i]) > fabs(b[i]) ? fabs(a[i]) : fabs(b[i]);
        if (!(fabs((double)a[i] - b[i]) <= rtol * m + atol))
            T_FAIL("%s[%zu]: %.8g vs %.8g", what, i, (double)a[i], (double)b[i]);
    }
}

static void assert_same_bits(const float *a, const float *b, size_t n, const char *what) {
    if (memcmp(a, b, n * sizeof(float)) != 0) T_FAIL("%s: the bits differ", what);
}

/* ---- the central-difference check ----------------------------------------
 * fwd computes the kernel's output from the current values of the variables
 * into y; the loss is sum(y * w) in double, so d(loss)/d(output) = w. */
typedef void (*fwd_fn)(void *ctx, float *y);
typedef struct gvar {
    float *v;        /* the values, perturbed in place */
    const float *g;  /* the analytic gradient */
    size_t count;
    const char *what;
} gvar;

static double loss_of(fwd_fn f, void *ctx, float *y, const float *w, size_t ny) {
    f(ctx, y);
    double l = 0;
    for (size_t i = 0; i < ny; i++) l += (double)y[i] * w[i];
    return l;
}

/* Compare with central differences at step eps and eps/2; where those two
 * disagree the point sits on a kink and is skipped (returns 1). */
static int check_point(fwd_fn f, void *ctx, float *y, const float *w, size_t ny, float *v, float analytic, double eps,
                       double tol, const char *what, size_t idx) {
    float save = *v;
    *v = (float)(save + eps);
    double lp = loss_of(f, ctx, y, w, ny);
    *v = (float)(save - eps);
    double lm = loss_of(f, ctx, y, w, ny);
    *v = (float)(save + eps / 2);
    double lp2 = loss_of(f, ctx, y, w, ny);
    *v = (float)(save - eps / 2);
    double lm2 = loss_of(f, ctx, y, w, ny);
    *v = save;
    double num = (lp - lm) / (2 * eps), num2 = (lp2 - lm2) / eps;
    double scale = fabs(num) > fabs((double)analytic) ? fabs(num) : fabs((double)analytic);
    if (fabs(num - num2) > tol * (scale + 1.0)) return 1;
    if (!(fabs(num - analytic) <= tol * (scale + 1.0)))
        T_FAIL("gradient of %s[%zu]: analytic %.7g, numeric %.7g", what, idx, (double)analytic, num);
    return 0;
}

/* Up to 24 points of every variable (all of them when fewer). */
static void gradcheck(fwd_fn f, void *ctx, size_t ny, const float *w, const gvar *vars, size_t nv) {
    float *y = alloc_f(ny);
    int kinks = 0, checked = 0;
    for (size_t k = 0; k < nv; k++)
        for (size_t j = 0; j < 24 && j < vars[k].count; j++) {
            size_t i = vars[k].count <= 24 ? j : (j * 7919 + 13) % vars[k].count;
            kinks += check_point(f, ctx, y, w, ny, &vars[k].v[i], vars[k].g[i], 1e-2, 2e-3, vars[k].what, i);
            checked++;
        }
    if (kinks * 4 > checked) T_FAIL("%d of %d points were on kinks", kinks, checked);
    free(y);
}

/* ---- attention test data -------------------------------------------------- */
typedef struct attn_case {
    sl__attn_dims d;
    float *x, *in_w, *in_b, *out_w, *out_b, *cache, *scratch;
    uint8_t *pad; /* NULL: no padding */
} attn_case;

/* Random values; lens (n entries) gives the padding, or NULL for none. */
static void attn_make(attn_case *c, sl__attn_dims d, const size_t *lens, sl_rng *r) {
    const size_t nt = d.n * d.t, D = d.d;
    c->d = d;
    c->x = alloc_f(nt * D), c->in_w = alloc_f(3 * D * D), c->in_b = alloc_f(3 * D);
    c->out_w = alloc_f(D * D), c->out_b = alloc_f(D);
    fill_normal(c->x, nt * D, r, 1.0), fill_normal(c->in_w, 3 * D * D, r, 0.6), fill_normal(c->in_b, 3 * D, r, 0.3);
    fill_normal(c->out_w, D * D, r, 0.6), fill_normal(c->out_b, D, r, 0.3);
    c->cache = alloc_f(sl__attn_cache_floats(&d));
    c->scratch = alloc_f(sl__attn_scratch_floats(&d));
    c->pad = NULL;
    if (lens) {
        c->pad = malloc(nt ? nt : 1);
        sl__attn_pad_from_lengths(c->pad, lens, d.n, d.t);
    }
}

static void attn_free(attn_case *c) {
    free(c->x), free(c->in_w), free(c->in_b), free(c->out_w), free(c->out_b), free(c->cache), free(c->scratch);
    free(c->pad);
}

static sl__attn_params attn_params(const attn_case *c) {
    return (sl__attn_params){c->in_w, c->in_b, c->out_w, c->out_b};
}

/* Gradients of one backward, zeroed first. */
typedef struct attn_grads {
    float *dx, *in_w, *in_b, *out_w, *out_b;
} attn_grads;

static attn_grads grads_alloc(const sl__attn_dims *d) {
    const size_t D = d->d;
    return (attn_grads){alloc_f(d->n * d->t * D), alloc_f(3 * D * D), alloc_f(3 * D), alloc_f(D * D), alloc_f(D)};
}
static void grads_free(attn_grads *g) { free(g->dx), free(g->in_w), free(g->in_b), free(g->out_w), free(g->out_b); }
static sl__attn_grads grads_view(attn_grads *g) { return (sl__attn_grads){g->in_w, g->in_b, g->out_w, g->out_b}; }

static void attn_fwd_cb(void *ctx, float *y) {
    attn_case *c = ctx;
    sl__attn_params p = attn_params(c);
    sl__attn_forward(y, c->cache, c->x, &p, c->pad, &c->d);
}

/* ---- (a) fast kernels against their twins ---------------------------------- */

TEST(attn_fast_matches_ref_random_shapes) {
    sl_rng r;
    sl_rng_seed(&r, 21, 1);
    for (int k = 0; k < 30; k++) {
        sl__attn_dims d = {1 + sl_rng_below(&r, 3), 1 + sl_rng_below(&r, 9), 0, 1 + sl_rng_below(&r, 3),
                           (k & 1) != 0, sl_rng_below(&r, 4)};
        d.d = d.h * (1 + sl_rng_below(&r, 5));
        size_t lens[3];
        for (size_t s = 0; s < d.n; s++) lens[s] = sl_rng_below(&r, d.t + 1); /* 0 = no visible key */
        attn_case c;
        attn_make(&c, d, (k & 2) ? lens : NULL, &r);
        const size_t ny = d.n * d.t * d.d;
        float *y1 = alloc_f(ny), *y2 = alloc_f(ny), *dout = alloc_f(ny);
        fill_normal(dout, ny, &r, 1.0);
        sl__attn_params p = attn_params(&c);
        sl__attn_forward(y1, c.cache, c.x, &p, c.pad, &d);
        ASSERT_OK(sl__attn_forward_ref(y2, c.x, &p, c.pad, &d));
        assert_close_arr(y1, y2, ny, 1e-5, 1e-5, "attention output");
        attn_grads g1 = grads_alloc(&d), g2 = grads_alloc(&d);
        sl__attn_grads v1 = grads_view(&g1), v2 = grads_view(&g2);
        sl__attn_backward(g1.dx, &v1, dout, c.x, c.cache, &p, &d, c.scratch);
        ASSERT_OK(sl__attn_backward_ref(g2.dx, &v2, dout, c.x, &p, c.pad, &d));
        assert_close_arr(g1.dx, g2.dx, ny, 1e-5, 1e-5, "attention d(input)");
        assert_close_arr(g1.in_w, g2.in_w, 3 * d.d * d.d, 1e-5, 1e-4, "attention d(in_proj_weight)");
        assert_close_arr(g1.in_b, g2.in_b, 3 * d.d, 1e-5, 1e-4, "attention d(in_proj_bias)");
        assert_close_arr(g1.out_w, g2.out_w, d.d * d.d, 1e-5, 1e-4, "attention d(out_proj.weight)");
        assert_close_arr(g1.out_b, g2.out_b, d.d, 1e-5, 1e-4, "attention d(out_proj.bias)");
        grads_free(&g1), grads_free(&g2);
        free(y1), free(y2), free(dout);
        attn_free(&c);
    }
}

TEST(patch_fast_matches_ref_random_shapes) {
    sl_rng r;
    sl_rng_seed(&r, 22, 1);
    for (int k = 0; k < 30; k++) {
        sl__patch_dims d = {1 + sl_rng_below(&r, 3), 1 + sl_rng_below(&r, 3), 0, 0, 1 + sl_rng_below(&r, 4),
                            1 + sl_rng_below(&r, 6)};
        d.h = 1 + sl_rng_below(&r, 3 * d.p + 2); /* some smaller than a patch */
        d.w = 1 + sl_rng_below(&r, 3 * d.p + 2);
        const size_t ni = d.c * d.n * d.h * d.w, ny = d.n * sl__patch_tokens(&d) * d.d, nw = d.d * d.c * d.p * d.p;
        float *x = alloc_f(ni), *wt = alloc_f(nw), *b = alloc_f(d.d), *y1 = alloc_f(ny), *y2 = alloc_f(ny),
              *g = alloc_f(ny), *dx1 = alloc_f(ni), *dx2 = alloc_f(ni), *dw1 = alloc_f(nw), *dw2 = alloc_f(nw),
              *db1 = alloc_f(d.d), *db2 = alloc_f(d.d), *scratch = alloc_f(sl__patch_scratch_floats(&d));
        fill_normal(x, ni, &r, 1), fill_normal(wt, nw, &r, 1), fill_normal(b, d.d, &r, 1), fill_normal(g, ny, &r, 1);
        for (size_t i = 0; i < ni; i++) dx1[i] = NAN; /* the backward must write every element */
        sl__patch_forward(y1, x, wt, b, &d, scratch);
        sl__patch_forward_ref(y2, x, wt, b, &d);
        assert_close_arr(y1, y2, ny, 1e-5, 1e-5, "patch output");
        sl__patch_backward(dx1, dw1, db1, g, x, wt, &d, scratch);
        sl__patch_backward_ref(dx2, dw2, db2, g, x, wt, &d);
        assert_close_arr(dx1, dx2, ni, 1e-5, 1e-5, "patch d(input)");
        assert_close_arr(dw1, dw2, nw, 1e-5, 1e-4, "patch d(weight)");
        assert_close_arr(db1, db2, d.d, 1e-5, 1e-4, "patch d(bias)");
        free(x), free(wt), free(b), free(y1), free(y2), free(g), free(dx1), free(dx2), free(dw1), free(dw2);
        free(db1), free(db2), free(scratch);
    }
}

/* The class token and position embedding pair, and the two poolings; the
 * moves are exact, the sums over sequences or tokens round differently. */
TEST(token_kernels_match_ref_random_shapes) {
    sl_rng r;
    sl_rng_seed(&r, 23, 1);
    for (int k = 0; k < 30; k++) {
        const size_t n = 1 + sl_rng_below(&r, 4), t = 1 + sl_rng_below(&r, 7), d = 1 + sl_rng_below(&r, 9);
        const size_t nx = n * t * d, nz = n * (t + 1) * d;
        float *x = alloc_f(nx), *cls = alloc_f(d), *pos = alloc_f(t * d), *z1 = alloc_f(nz), *z2 = alloc_f(nz),
              *gz = alloc_f(nz), *a1 = alloc_f(nx), *a2 = alloc_f(nx), *c1 = alloc_f(d), *c2 = alloc_f(d),
              *p1 = alloc_f(t * d), *p2 = alloc_f(t * d), *gp = alloc_f(n * d), *o1 = alloc_f(n * d),
              *o2 = alloc_f(n * d);
        uint8_t *pad = malloc(n * t);
        for (size_t i = 0; i < n * t; i++) pad[i] = sl_rng_below(&r, 3) == 0;
        const uint8_t *mk = (k & 1) ? pad : NULL;
        fill_normal(x, nx, &r, 1), fill_normal(cls, d, &r, 1), fill_normal(pos, t * d, &r, 1);
        fill_normal(gz, nz, &r, 1), fill_normal(gp, n * d, &r, 1);
        for (size_t i = 0; i < d; i++) c1[i] = c2[i] = 0.5f; /* gradients accumulate */
        sl__cls_prepend_forward(z1, x, cls, n, t, d);
        sl__cls_prepend_forward_ref(z2, x, cls, n, t, d);
        assert_same_bits(z1, z2, nz, "class token output");
        sl__cls_prepend_backward(a1, c1, gz, n, t, d);
        sl__cls_prepend_backward_ref(a2, c2, gz, n, t, d);
        assert_same_bits(a1, a2, nx, "class token d(input)");
        assert_close_arr(c1, c2, d, 1e-5, 1e-6, "class token d(cls)");
        sl__pos_add_forward(a1, x, pos, n, t, d);
        sl__pos_add_forward_ref(a2, x, pos, n, t, d);
        assert_same_bits(a1, a2, nx, "position output");
        sl__pos_add_forward(a2, a2, pos, n, t, d); /* in place */
        sl__pos_add_forward_ref(a1, a1, pos, n, t, d);
        assert_same_bits(a1, a2, nx, "position output in place");
        sl__pos_add_backward(a1, p1, x, n, t, d);
        sl__pos_add_backward_ref(a2, p2, x, n, t, d);
        assert_same_bits(a1, a2, nx, "position d(input)");
        assert_same_bits(a1, x, nx, "position d(input) = d(output)");
        assert_close_arr(p1, p2, t * d, 1e-5, 1e-6, "position d(pos)");
        sl__tok_mean_forward(o1, x, mk, n, t, d);
        sl__tok_mean_forward_ref(o2, x, mk, n, t, d);
        assert_close_arr(o1, o2, n * d, 1e-5, 1e-6, "mean pool output");
        sl__tok_mean_backward(a1, gp, mk, n, t, d);
        sl__tok_mean_backward_ref(a2, gp, mk, n, t, d);
        assert_close_arr(a1, a2, nx, 1e-6, 0, "mean pool d(input)");
        sl__tok_first_forward(o1, x, n, t, d);
        sl__tok_first_forward_ref(o2, x, n, t, d);
        assert_same_bits(o1, o2, n * d, "first token output");
        sl__tok_first_backward(a1, gp, n, t, d);
        sl__tok_first_backward_ref(a2, gp, n, t, d);
        assert_same_bits(a1, a2, nx, "first token d(input)");
        free(x), free(cls), free(pos), free(z1), free(z2), free(gz), free(a1), free(a2), free(c1), free(c2);
        free(p1), free(p2), free(gp), free(o1), free(o2), free(pad);
    }
}

/* ---- (b) gradient checks --------------------------------------------------- */

static void attn_gradcheck(sl__attn_dims d, const size_t *lens, uint64_t seed) {
    sl_rng r;
    sl_rng_seed(&r, seed, 2);
    attn_case c;
    attn_make(&c, d, lens, &r);
    const size_t ny = d.n * d.t * d.d, D = d.d;
    float *w = alloc_f(ny), *y = alloc_f(ny);
    fill_normal(w, ny, &r, 1.0);
    attn_grads g = grads_alloc(&d);
    sl__attn_grads v = grads_view(&g);
    sl__attn_params p = attn_params(&c);
    sl__attn_forward(y, c.cache, c.x, &p, c.pad, &d);
    sl__attn_backward(g.dx, &v, w, c.x, c.cache, &p, &d, c.scratch);
    const gvar vars[] = {{c.x, g.dx, ny, "input"},
                         {c.in_w, g.in_w, 3 * D * D, "in_proj_weight"},
                         {c.in_b, g.in_b, 3 * D, "in_proj_bias"},
                         {c.out_w, g.out_w, D * D, "out_proj.weight"},
                         {c.out_b, g.out_b, D, "out_proj.bias"}};
    gradcheck(attn_fwd_cb, &c, ny, w, vars, 5);
    grads_free(&g);
    free(w), free(y);
    attn_free(&c);
}

TEST(grad_attn) { attn_gradcheck((sl__attn_dims){2, 5, 6, 2, false, 1}, NULL, 1); }
TEST(grad_attn_one_head_one_token) { attn_gradcheck((sl__attn_dims){3, 1, 4, 1, false, 1}, NULL, 2); }
TEST(grad_attn_causal) { attn_gradcheck((sl__attn_dims){2, 6, 6, 3, true, 2}, NULL, 3); }
TEST(grad_attn_padded) {
    const size_t lens[3] = {5, 2, 0};
    attn_gradcheck((sl__attn_dims){3, 5, 4, 2, false, 2}, lens, 4);
}
TEST(grad_attn_causal_padded) {
    const size_t lens[2] = {3, 7};
    attn_gradcheck((sl__attn_dims){2, 7, 6, 2, true, 1}, lens, 5);
}

typedef struct patch_ctx {
    sl__patch_dims d;
    float *x, *wt, *b, *scratch;
} patch_ctx;

static void patch_fwd_cb(void *ctx, float *y) {
    patch_ctx *c = ctx;
    sl__patch_forward(y, c->x, c->wt, c->b, &c->d, c->scratch);
}

TEST(grad_patch) {
    const sl__patch_dims dims[2] = {{2, 3, 7, 8, 3, 4}, {3, 1, 4, 4, 2, 5}};
    for (int k = 0; k < 2; k++) {
        sl_rng r;
        sl_rng_seed(&r, 31, (uint64_t)k);
        patch_ctx c = {dims[k], NULL, NULL, NULL, NULL};
        const sl__patch_dims *d = &c.d;
        const size_t ni = d->c * d->n * d->h * d->w, ny = d->n * sl__patch_tokens(d) * d->d,
                     nw = d->d * d->c * d->p * d->p;
        c.x = alloc_f(ni), c.wt = alloc_f(nw), c.b = alloc_f(d->d), c.scratch = alloc_f(sl__patch_scratch_floats(d));
        float *w = alloc_f(ny), *y = alloc_f(ny), *dx = alloc_f(ni), *dw = alloc_f(nw), *db = alloc_f(d->d);
        fill_normal(c.x, ni, &r, 1), fill_normal(c.wt, nw, &r, 0.5), fill_normal(c.b, d->d, &r, 0.5);
        fill_normal(w, ny, &r, 1);
        sl__patch_forward(y, c.x, c.wt, c.b, d, c.scratch);
        sl__patch_backward(dx, dw, db, w, c.x, c.wt, d, c.scratch);
        const gvar vars[] = {{c.x, dx, ni, "input"}, {c.wt, dw, nw, "weight"}, {c.b, db, d->d, "bias"}};
        gradcheck(patch_fwd_cb, &c, ny, w, vars, 3);
        free(c.x), free(c.wt), free(c.b), free(c.scratch), free(w), free(y), free(dx), free(dw), free(db);
    }
}

/* x -> class token -> position embedding -> [mean over unpadded tokens,
 * first token], the two poolings side by side in y (n x 2D). */
typedef struct tok_ctx {
    size_t n, t, d;
    float *x, *cls, *pos, *z;
    const uint8_t *pad; /* n x (t+1) */
} tok_ctx;

static void tok_fwd_cb(void *ctx, float *y) {
    tok_ctx *c = ctx;
    const size_t n = c->n, t1 = c->t + 1, d = c->d;
    float *pooled = alloc_f(n * d);
    sl__cls_prepend_forward(c->z, c->x, c->cls, n, c->t, d);
    sl__pos_add_forward(c->z, c->z, c->pos, n, t1, d);
    sl__tok_mean_forward(pooled, c->z, c->pad, n, t1, d);
    for (size_t s = 0; s < n; s++) memcpy(y + s * 2 * d, pooled + s * d, d * sizeof(float));
    sl__tok_first_forward(pooled, c->z, n, t1, d);
    for (size_t s = 0; s < n; s++) memcpy(y + s * 2 * d + d, pooled + s * d, d * sizeof(float));
    free(pooled);
}

TEST(grad_token_kernels) {
    sl_rng r;
    sl_rng_seed(&r, 41, 1);
    tok_ctx c = {3, 4, 5, NULL, NULL, NULL, NULL, NULL};
    const size_t n = c.n, t1 = c.t + 1, d = c.d, nx = n * c.t * d, nz = n * t1 * d;
    uint8_t pad[3 * 5] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1};
    c.pad = pad;
    c.x = alloc_f(nx), c.cls = alloc_f(d), c.pos = alloc_f(t1 * d), c.z = alloc_f(nz);
    float *w = alloc_f(n * 2 * d), *y = alloc_f(n * 2 * d), *g = alloc_f(n * d), *dz = alloc_f(nz),
          *dz2 = alloc_f(nz), *dx = alloc_f(nx), *dcls = alloc_f(d), *dpos = alloc_f(t1 * d);
    fill_normal(c.x, nx, &r, 1), fill_normal(c.cls, d, &r, 1), fill_normal(c.pos, t1 * d, &r, 1);
    fill_normal(w, n * 2 * d, &r, 1);
    tok_fwd_cb(&c, y);
    for (size_t s = 0; s < n; s++) memcpy(g + s * d, w + s * 2 * d, d * sizeof(float));
    sl__tok_mean_backward(dz, g, pad, n, t1, d);
    for (size_t s = 0; s < n; s++) memcpy(g + s * d, w + s * 2 * d + d, d * sizeof(float));
    sl__tok_first_backward(dz2, g, n, t1, d);
    for (size_t i = 0; i < nz; i++) dz[i] += dz2[i];
    sl__pos_add_backward(dz, dpos, dz, n, t1, d);
    sl__cls_prepend_backward(dx, dcls, dz, n, c.t, d);
    const gvar vars[] = {{c.x, dx, nx, "input"}, {c.cls, dcls, d, "class token"}, {c.pos, dpos, t1 * d, "position"}};
    gradcheck(tok_fwd_cb, &c, n * 2 * d, w, vars, 3);
    free(c.x), free(c.cls), free(c.pos), free(c.z), free(w), free(y), free(g), free(dz), free(dz2), free(dx);
    free(dcls), free(dpos);
}

/* ---- (c) PyTorch ------------------------------------------------------------ */

static const sl_array *fx(const sl_tensors *t, const char *name, const char *field) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", name, field);
    const sl_array *a = sl_tensors_get(t, key);
    if (!a) T_FAIL("%s lacks tensor '%s'", FIXTURE, key);
    return a;
}

static const float *fxf(const sl_tensors *t, const char *name, const char *field, size_t count) {
    const sl_array *a = fx(t, name, field);
    if (a->dtype != SL_F32 || sl_array_count(a) != count)
        T_FAIL("%s: tensor '%s.%s' has %zu elements of %s, expected %zu float32", FIXTURE, name, field,
               sl_array_count(a), sl_dtype_name(a->dtype), count);
    return a->data;
}

static const char *fx_dims(const sl_tensors *t, const char *name) {
    char key[128];
    snprintf(key, sizeof key, "%s.dims", name);
    const char *v = sl_tensors_get_meta(t, key);
    if (!v) T_FAIL("%s lacks metadata '%s'", FIXTURE, key);
    return v;
}

/* Elements outside |got - want| <= rtol |want| + atol max(1, max |want|). */
static size_t count_off(const float *got, const float *want, size_t n, double rtol, double atol, size_t *first) {
    double mx = 1;
    for (size_t i = 0; i < n; i++) mx = fabs(want[i]) > mx ? fabs(want[i]) : mx;
    size_t off = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= rtol * fabs(want[i]) + atol * mx) && off++ == 0) *first = i;
    return off;
}

static void compare(const float *got, const float *want, size_t n, const char *what) {
    size_t i = 0;
    if (count_off(got, want, n, 1e-5, 1e-5, &i))
        T_FAIL("%s[%zu]: simlearn %.8g, pytorch %.8g", what, i, (double)got[i], (double)want[i]);
}

/* Fast kernels (twice: two threads and one) and the twins, against PyTorch. */
static void attn_fixture(const char *name) {
    sl_tensors *t;
    ASSERT_OK(sl_safetensors_read(FIXTURE, &t));
    sl__attn_dims d = {0, 0, 0, 0, false, 2};
    int causal = 0;
    ASSERT_EQ_INT(sscanf(fx_dims(t, name), "%zu,%zu,%zu,%zu,%d", &d.n, &d.t, &d.d, &d.h, &causal), 5);
    d.causal = causal != 0;
    const size_t nt = d.n * d.t, D = d.d, ny = nt * D;
    const float *x = fxf(t, name, "x", ny);
    const sl__attn_params p = {fxf(t, name, "in_w", 3 * D * D), fxf(t, name, "in_b", 3 * D),
                               fxf(t, name, "out_w", D * D), fxf(t, name, "out_b", D)};
    char key[128];
    snprintf(key, sizeof key, "%s.pad", name);
    const sl_array *pa = sl_tensors_get(t, key);
    ASSERT_TRUE(!pa || (pa->dtype == SL_U8 && sl_array_count(pa) == nt));
    const uint8_t *pad = pa ? pa->data : NULL;
    float *y = alloc_f(ny), *cache = alloc_f(sl__attn_cache_floats(&d)), *scratch = alloc_f(sl__attn_scratch_floats(&d));
    for (int pass = 0; pass < 3; pass++) {
        sl_threads_set(pass == 1 ? 1 : 2);
        attn_grads g = grads_alloc(&d);
        sl__attn_grads v = grads_view(&g);
        if (pass < 2) {
            sl__attn_forward(y, cache, x, &p, pad, &d);
            sl__attn_backward(g.dx, &v, fxf(t, name, "dout", ny), x, cache, &p, &d, scratch);
        } else {
            ASSERT_OK(sl__attn_forward_ref(y, x, &p, pad, &d));
            ASSERT_OK(sl__attn_backward_ref(g.dx, &v, fxf(t, name, "dout", ny), x, &p, pad, &d));
        }
        compare(y, fxf(t, name, "y", ny), ny, "output");
        compare(g.dx, fxf(t, name, "dx", ny), ny, "d(input)");
        compare(g.in_w, fxf(t, name, "grad.in_w", 3 * D * D), 3 * D * D, "d(in_proj_weight)");
        compare(g.in_b, fxf(t, name, "grad.in_b", 3 * D), 3 * D, "d(in_proj_bias)");
        compare(g.out_w, fxf(t, name, "grad.out_w", D * D), D * D, "d(out_proj.weight)");
        compare(g.out_b, fxf(t, name, "grad.out_b", D), D, "d(out_proj.bias)");
        grads_free(&g);
    }
    free(y), free(cache), free(scratch);
    sl_tensors_destroy(t);
}

TEST(torch_attn_plain) { attn_fixture("attn_plain"); }
TEST(torch_attn_causal) { attn_fixture("attn_causal"); }
TEST(torch_attn_key_padding) { attn_fixture("attn_pad"); }
TEST(torch_attn_causal_key_padding) { attn_fixture("attn_causal_pad"); }

TEST(torch_patch_embedding) {
    sl_tensors *t;
    ASSERT_OK(sl_safetensors_read(FIXTURE, &t));
    sl__patch_dims d;
    ASSERT_EQ_INT(sscanf(fx_dims(t, "patch"), "%zu,%zu,%zu,%zu,%zu,%zu", &d.n, &d.c, &d.h, &d.w, &d.p, &d.d), 6);
    ASSERT_TRUE(d.h % d.p != 0 && d.w % d.p != 0); /* the dropped edges are covered */
    const size_t ni = d.c * d.n * d.h * d.w, ny = d.n * sl__patch_tokens(&d) * d.d, nw = d.d * d.c * d.p * d.p;
    const float *x = fxf(t, "patch", "x", ni), *wt = fxf(t, "patch", "w", nw), *b = fxf(t, "patch", "b", d.d);
    float *y = alloc_f(ny), *dx = alloc_f(ni), *scratch = alloc_f(sl__patch_scratch_floats(&d));
    for (int pass = 0; pass < 2; pass++) {
        float *dw = alloc_f(nw), *db = alloc_f(d.d);
        for (size_t i = 0; i < ni; i++) dx[i] = NAN; /* the backward must write every element */
        if (pass == 0) {
            sl__patch_forward(y, x, wt, b, &d, scratch);
            sl__patch_backward(dx, dw, db, fxf(t, "patch", "dout", ny), x, wt, &d, scratch);
        } else {
            sl__patch_forward_ref(y, x, wt, b, &d);
            sl__patch_backward_ref(dx, dw, db, fxf(t, "patch", "dout", ny), x, wt, &d);
        }
        compare(y, fxf(t, "patch", "y", ny), ny, "patch output");
        compare(dx, fxf(t, "patch", "dx", ni), ni, "patch d(input)");
        compare(dw, fxf(t, "patch", "grad.w", nw), nw, "patch d(weight)");
        compare(db, fxf(t, "patch", "grad.b", d.d), d.d, "patch d(bias)");
        free(dw), free(db);
    }
    free(y), free(dx), free(scratch);
    sl_tensors_destroy(t);
}

TEST(torch_class_token_position_and_pooling) {
    sl_tensors *t;
    ASSERT_OK(sl_safetensors_read(FIXTURE, &t));
    size_t n, T, D;
    ASSERT_EQ_INT(sscanf(fx_dims(t, "tok"), "%zu,%zu,%zu", &n, &T, &D), 3);
    const size_t nx = n * T * D, nz = n * (T + 1) * D;
    const float *x = fxf(t, "tok", "x", nx);
    const sl_array *pa = fx(t, "tok", "pad");
    ASSERT_TRUE(pa->dtype == SL_U8 && sl_array_count(pa) == n * T);
    float *z = alloc_f(nz), *dz = alloc_f(nz), *dx = alloc_f(nx), *dcls = alloc_f(D), *dpos = alloc_f((T + 1) * D),
          *y = alloc_f(n * D);
    sl__cls_prepend_forward(z, x, fxf(t, "tok", "cls", D), n, T, D);
    sl__pos_add_forward(z, z, fxf(t, "tok", "pos", (T + 1) * D), n, T + 1, D);
    compare(z, fxf(t, "tok", "z", nz), nz, "class token + position");
    sl__pos_add_backward(dz, dpos, fxf(t, "tok", "dz", nz), n, T + 1, D);
    sl__cls_prepend_backward(dx, dcls, dz, n, T, D);
    compare(dx, fxf(t, "tok", "z.dx", nx), nx, "class token + position d(input)");
    compare(dcls, fxf(t, "tok", "z.dcls", D), D, "d(class token)");
    compare(dpos, fxf(t, "tok", "z.dpos", (T + 1) * D), (T + 1) * D, "d(position)");
    sl__tok_mean_forward(y, x, pa->data, n, T, D);
    compare(y, fxf(t, "tok", "mean", n * D), n * D, "mean pool");
    sl__tok_mean_backward(dx, fxf(t, "tok", "mean.dout", n * D), pa->data, n, T, D);
    compare(dx, fxf(t, "tok", "mean.dx", nx), nx, "mean pool d(input)");
    sl__tok_first_forward(y, x, n, T, D);
    compare(y, fxf(t, "tok", "first", n * D), n * D, "first token");
    sl__tok_first_backward(dx, fxf(t, "tok", "first.dout", n * D), n, T, D);
    compare(dx, fxf(t, "tok", "first.dx", nx), nx, "first token d(input)");
    free(z), free(dz), free(dx), free(dcls), free(dpos), free(y);
    sl_tensors_destroy(t);
}

/* A one-layer model over token rows: n*T examples of D features. */
static sl_model *token_model(const char *spec, size_t D) {
    sl_shape s = {1, {D, 0, 0}};
    sl_model *m;
    ASSERT_OK(sl_model_create(spec, &s, 1, &m));
    return m;
}

TEST(ln_layer_on_token_rows_matches_torch) {
    sl_tensors *t;
    ASSERT_OK(sl_safetensors_read(FIXTURE, &t));
    size_t n, T, D;
    ASSERT_EQ_INT(sscanf(fx_dims(t, "ln"), "%zu,%zu,%zu", &n, &T, &D), 3);
    const size_t rows = n * T, ny = rows * D;
    sl_model *m = token_model("ln", D);
    ASSERT_OK(sl_model_load_tensors(m, t, "ln."));
    const float *y;
    float *dx = alloc_f(ny);
    ASSERT_OK(sl_model_forward(m, fxf(t, "ln", "x", ny), rows, true, &y));
    compare(y, fxf(t, "ln", "y", ny), ny, "layer norm output");
    sl_model_zero_grad(m);
    ASSERT_OK(sl_model_backward(m, fxf(t, "ln", "dout", ny), dx));
    compare(dx, fxf(t, "ln", "dx", ny), ny, "layer norm d(input)");
    ASSERT_EQ_SIZE(sl_model_tensor_count(m), 2);
    for (size_t i = 0; i < 2; i++) {
        sl_param_info p;
        ASSERT_TRUE(sl_model_tensor(m, i, &p));
        char field[64];
        snprintf(field, sizeof field, "grad.%s", p.name);
        compare(p.grad, fxf(t, "ln", field, D), D, field);
    }
    free(dx);
    sl_model_destroy(m);
    sl_tensors_destroy(t);
}

/* The gelu layer is the exact (erf) GELU, nn.GELU()'s default: it matches it
 * to 1e-5, while the tanh approximation falls outside that tolerance. */
TEST(gelu_layer_is_torch_exact_gelu) {
    sl_tensors *t;
    ASSERT_OK(sl_safetensors_read(FIXTURE, &t));
    size_t n, T, D;
    ASSERT_EQ_INT(sscanf(fx_dims(t, "gelu"), "%zu,%zu,%zu", &n, &T, &D), 3);
    const size_t rows = n * T, ny = rows * D;
    sl_model *m = token_model("gelu", D);
    const float *y;
    float *dx = alloc_f(ny);
    ASSERT_OK(sl_model_forward(m, fxf(t, "gelu", "x", ny), rows, true, &y));
    compare(y, fxf(t, "gelu", "y", ny), ny, "gelu output");
    ASSERT_OK(sl_model_backward(m, fxf(t, "gelu", "dout", ny), dx));
    compare(dx, fxf(t, "gelu", "dx", ny), ny, "gelu d(input)");
    size_t first = 0;
    ASSERT_TRUE(count_off(fxf(t, "gelu", "y_tanh", ny), fxf(t, "gelu", "y", ny), ny, 1e-5, 1e-5, &first) > 0);
    free(dx);
    sl_model_destroy(m);
    sl_tensors_destroy(t);
}

/* The fast GELU (float erfc and exp polynomials, vectorised) against its
 * double twin on a dense grid over [-20, 20], the far tails and zero: within
 * 3e-7 (absolute, or relative to the value), and finite everywhere. Beyond
 * |x| = 20 the output is x or 0 and the slope 1 or 0. NaN stays NaN. */
TEST(gelu_fast_matches_ref) {
    const size_t n = 400001 + 10;
    float *x = alloc_f(n), *y = alloc_f(n), *yr = alloc_f(n), *g = alloc_f(n), *gr = alloc_f(n), *one = alloc_f(n);
    for (size_t i = 0; i < 400001; i++) x[i] = (float)(-20.0 + 40.0 * (double)i / 400000.0);
    const float tails[10] = {-3e38f, -1e30f, -1e5f, -87.5f, -1e-30f, 0.0f, 1e-30f, 88.5f, 1e30f, 3e38f};
    for (size_t i = 0; i < 10; i++) x[400001 + i] = tails[i];
    for (size_t i = 0; i < n; i++) one[i] = 1.0f;
    sl__gelu_forward(y, x, n);
    sl__gelu_forward_ref(yr, x, n);
    sl__gelu_backward(g, one, x, n);
    sl__gelu_backward_ref(gr, one, x, n);
    double worst_y = 0, worst_g = 0;
    for (size_t i = 0; i < n; i++) {
        ASSERT_TRUE(isfinite(y[i]) && isfinite(g[i]));
        worst_y = fmax(worst_y, fabs((double)y[i] - yr[i]) / fmax(1.0, fabs((double)yr[i])));
        worst_g = fmax(worst_g, fabs((double)g[i] - gr[i]) / fmax(1.0, fabs((double)gr[i])));
    }
    if (!(worst_y <= 3e-7 && worst_g <= 3e-7))
        T_FAIL("gelu: worst difference from the double twin %.3g (output), %.3g (slope)", worst_y, worst_g);
    const float nan_in = NAN;
    float nan_out, nan_g;
    sl__gelu_forward(&nan_out, &nan_in, 1);
    sl__gelu_backward(&nan_g, one, &nan_in, 1);
    ASSERT_TRUE(isnan(nan_out) && isnan(nan_g));
    free(x), free(y), free(yr), free(g), free(gr), free(one);
}

/* The float exp of the GELU and the softmax: within 1e-7 relative of the
 * double exp on a grid of 10^6 points over [-87, 88]. */
TEST(exp_f_matches_exp) {
    double worst = 0;
    for (long i = 0; i <= 1000000; i++) {
        const float x = (float)(-87.0 + 175.0 * (double)i / 1000000.0);
        const double r = exp((double)x);
        worst = fmax(worst, fabs((double)exp_f(x) - r) / r);
    }
    if (!(worst < 1e-7)) T_FAIL("exp_f: worst relative difference from exp %.3g", worst);
}

/* The block's fused bias + GELU (which keeps the slope for the backward)
 * gives the bits of the bias add, sl__gelu_forward and sl__gelu_backward one
 * after the other, with or without a bias, over the range the polynomials
 * cover, the tails and NaN; the backward's pass also sums the bias gradient
 * as sl__linear_backward does. */
TEST(bias_gelu_fused_matches_parts) {
    const size_t rows = 301, cols = 37, n = rows * cols;
    float *x = alloc_f(n), *bias = alloc_f(cols), *dout = alloc_f(n), *xs = alloc_f(n), *y = alloc_f(n),
          *ys = alloc_f(n), *d = alloc_f(n), *ds = alloc_f(n), *v = alloc_f(n);
    sl_rng r;
    sl_rng_seed(&r, 7, 0);
    for (size_t i = 0; i < n; i++) x[i] = sl_rng_range(&r, -14.0f, 14.0f);
    fill_normal(dout, n, &r, 1.0);
    fill_normal(bias, cols, &r, 1.0);
    x[5] = NAN, x[6] = 1e30f, x[7] = -1e30f, x[8] = 0.0f;
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        for (size_t i = 0; i < n; i++) v[i] = with_bias ? x[i] + bias[i % cols] : x[i];
        sl__gelu_forward(y, v, n);
        sl__gelu_backward(d, dout, v, n);
        memcpy(xs, x, n * sizeof(float));
        sl__bias_gelu_forward(ys, xs, with_bias ? bias : NULL, rows, cols);
        float db[37] = {0};
        sl__scale_bias_grad(ds, dout, xs, db, rows, cols);
        ASSERT_TRUE(memcmp(y, ys, n * sizeof(float)) == 0);
        ASSERT_TRUE(memcmp(d, ds, n * sizeof(float)) == 0);
        for (size_t c = 0; c < cols; c++) { /* the bias gradient: column sums in double, in row order */
            double acc = 0;
            for (size_t i = 0; i < rows; i++) acc += d[i * cols + c];
            const float want = (float)acc;
            ASSERT_TRUE(memcmp(&want, db + c, sizeof want) == 0);
        }
    }
    free(x), free(bias), free(dout), free(xs), free(y), free(ys), free(d), free(ds), free(v);
}

/* ---- masks, memory, threads ------------------------------------------------- */

TEST(attn_pad_from_lengths) {
    const size_t lens[3] = {0, 2, 9};
    uint8_t pad[12];
    sl__attn_pad_from_lengths(pad, lens, 3, 4);
    const uint8_t want[12] = {1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0};
    for (int i = 0; i < 12; i++) ASSERT_EQ_INT(pad[i], want[i]);
}

/* Padded tokens change no output row of an unpadded token; a padded query row
 * is finite; a sequence with no unpadded token gives out_proj.bias. */
TEST(attn_padded_keys_get_no_attention) {
    sl_rng r;
    sl_rng_seed(&r, 51, 1);
    const size_t lens[3] = {6, 2, 0};
    for (int causal = 0; causal < 2; causal++) {
        sl__attn_dims d = {3, 6, 8, 2, causal != 0, 1};
        attn_case c;
        attn_make(&c, d, lens, &r);
        const size_t ny = d.n * d.t * d.d;
        float *y1 = alloc_f(ny), *y2 = alloc_f(ny);
        sl__attn_params p = attn_params(&c);
        sl__attn_forward(y1, c.cache, c.x, &p, c.pad, &d);
        for (size_t s = 0; s < d.n; s++)
            for (size_t i = lens[s]; i < d.t; i++)
                for (size_t j = 0; j < d.d; j++) c.x[(s * d.t + i) * d.d + j] += 5.0f;
        sl__attn_forward(y2, c.cache, c.x, &p, c.pad, &d);
        for (size_t s = 0; s < d.n; s++)
            for (size_t i = 0; i < d.t; i++) {
                const float *a = y1 + (s * d.t + i) * d.d, *b = y2 + (s * d.t + i) * d.d;
                for (size_t j = 0; j < d.d; j++) ASSERT_TRUE(isfinite(a[j]) && isfinite(b[j]));
                if (i < lens[s]) assert_same_bits(a, b, d.d, "unpadded row after changing padded tokens");
                if (lens[s] == 0) assert_same_bits(a, c.out_b, d.d, "row of a sequence with no unpadded token");
            }
        free(y1), free(y2);
        attn_free(&c);
    }
}

/* Scores far apart (some probabilities underflow to exactly 0) still match
 * the double twin, and a NaN in one token's input reaches every row of its
 * sequence (each query sees that key) and no row of the other sequence. */
TEST(attn_large_scores_and_nan) {
    sl_rng r;
    sl_rng_seed(&r, 53, 1);
    sl__attn_dims d = {2, 7, 8, 2, false, 1};
    attn_case c;
    attn_make(&c, d, NULL, &r);
    for (size_t i = 0; i < d.n * d.t * d.d; i++) c.x[i] *= 4.0f;
    const size_t ny = d.n * d.t * d.d;
    float *y1 = alloc_f(ny), *y2 = alloc_f(ny);
    sl__attn_params p = attn_params(&c);
    sl__attn_forward(y1, c.cache, c.x, &p, NULL, &d);
    ASSERT_OK(sl__attn_forward_ref(y2, c.x, &p, NULL, &d));
    assert_close_arr(y1, y2, ny, 1e-4, 1e-5, "attention output, large scores");
    size_t zeros = 0, between = 0; /* some P did underflow to 0, and not every row is one-hot */
    for (size_t i = 0; i < d.n * d.h * d.t * d.t; i++) {
        const float v = c.cache[4 * d.n * d.t * d.d + i];
        zeros += v == 0.0f, between += v > 1e-3f && v < 0.999f;
    }
    ASSERT_TRUE(zeros > 0 && between > 0);
    c.x[3] = NAN;
    sl__attn_forward(y1, c.cache, c.x, &p, NULL, &d);
    for (size_t i = 0; i < ny; i++) ASSERT_TRUE(i < ny / 2 ? isnan(y1[i]) : isfinite(y1[i]));
    free(y1), free(y2);
    attn_free(&c);
}

/* A block under the key padding mask (and the causal one) and the mean over
 * unpadded tokens: changing the padded tokens of the block's input leaves
 * every unpadded output row, and the mean, bit-identical; the padded rows
 * themselves do change (so the change reached the block). */
TEST(block_and_mean_keep_padded_tokens_out) {
    sl_rng r;
    sl_rng_seed(&r, 53, 1);
    const size_t lens[3] = {5, 2, 4}, n = 3, T = 5, D = 6, M = 8;
    uint8_t pad[15];
    sl__attn_pad_from_lengths(pad, lens, n, T);
    const size_t counts[SL__BLOCK_TENSORS] = {D, D, 3 * D * D, 3 * D, D * D, D, D, D, M * D, M, D * M, D};
    float *w[SL__BLOCK_TENSORS];
    for (int k = 0; k < SL__BLOCK_TENSORS; k++) {
        w[k] = alloc_f(counts[k]);
        fill_normal(w[k], counts[k], &r, 0.5);
    }
    for (int causal = 0; causal < 2; causal++) {
        sl__block_dims d = {n, T, D, 2, M, 1e-5, 1, causal != 0, pad, false};
        float *x = alloc_f(n * T * D), *cache = alloc_f(sl__block_cache_floats(&d));
        float *y1 = alloc_f(n * T * D), *y2 = alloc_f(n * T * D), *m1 = alloc_f(n * D), *m2 = alloc_f(n * D);
        fill_normal(x, n * T * D, &r, 1.0);
        sl__block_forward(y1, cache, x, (const float *const *)w, &d);
        sl__tok_mean_forward(m1, y1, pad, n, T, D);
        for (size_t i = 0; i < n * T; i++)
            if (pad[i])
                for (size_t j = 0; j < D; j++) x[i * D + j] = 3.0f * x[i * D + j] + (float)j;
        sl__block_forward(y2, cache, x, (const float *const *)w, &d);
        sl__tok_mean_forward(m2, y2, pad, n, T, D);
        for (size_t i = 0; i < n * T; i++) {
            bool same = memcmp(y1 + i * D, y2 + i * D, D * sizeof(float)) == 0;
            if (!pad[i]) assert_same_bits(y1 + i * D, y2 + i * D, D, "unpadded output row");
            else ASSERT_TRUE(!same);
        }
        assert_same_bits(m1, m2, n * D, "mean over the unpadded tokens");
        free(x), free(cache), free(y1), free(y2), free(m1), free(m2);
    }
    for (int k = 0; k < SL__BLOCK_TENSORS; k++) free(w[k]);
}

/* With the causal mask, changing token j changes no output row i < j. */
TEST(attn_causal_ignores_later_tokens) {
    sl_rng r;
    sl_rng_seed(&r, 52, 1);
    sl__attn_dims d = {2, 7, 6, 3, true, 1};
    attn_case c;
    attn_make(&c, d, NULL, &r);
    const size_t ny = d.n * d.t * d.d, j0 = 4;
    float *y1 = alloc_f(ny), *y2 = alloc_f(ny);
    sl__attn_params p = attn_params(&c);
    sl__attn_forward(y1, c.cache, c.x, &p, NULL, &d);
    for (size_t s = 0; s < d.n; s++) c.x[(s * d.t + j0) * d.d + 1] += 1.0f;
    sl__attn_forward(y2, c.cache, c.x, &p, NULL, &d);
    for (size_t s = 0; s < d.n; s++) {
        assert_same_bits(y1 + s * d.t * d.d, y2 + s * d.t * d.d, j0 * d.d, "rows before the changed token");
        ASSERT_TRUE(memcmp(y1 + (s * d.t + j0) * d.d, y2 + (s * d.t + j0) * d.d, d.d * sizeof(float)) != 0);
    }
    /* Without the mask the earlier rows do change. */
    d.causal = false;
    c.d = d;
    sl__attn_forward(y1, c.cache, c.x, &p, NULL, &d);
    c.x[j0 * d.d + 1] -= 1.0f;
    sl__attn_forward(y2, c.cache, c.x, &p, NULL, &d);
    ASSERT_TRUE(memcmp(y1, y2, d.d * sizeof(float)) != 0);
    free(y1), free(y2);
    attn_free(&c);
}

/* The cache and scratch sizes are what the kernels use: exact buffers followed
 * by guard values that must survive, and the documented formulas. */
TEST(attn_memory_is_what_the_kernels_use) {
    sl_rng r;
    sl_rng_seed(&r, 53, 1);
    sl__attn_dims d = {3, 5, 6, 3, false, 4};
    ASSERT_EQ_SIZE(sl__attn_cache_floats(&d), 4 * 3 * 5 * 6 + 3 * 3 * 5 * 5);
    ASSERT_EQ_SIZE(sl__attn_scratch_floats(&d), 4 * 3 * 5 * 6 + 4 * 5 * 5);
    sl__attn_dims d1 = {1, 5, 6, 2, false, 8}; /* workers: at most one per block */
    ASSERT_EQ_SIZE(sl__attn_scratch_floats(&d1), 4 * 5 * 6 + 2 * 5 * 5);
    attn_case c;
    attn_make(&c, d, NULL, &r);
    const size_t nc = sl__attn_cache_floats(&d), ns = sl__attn_scratch_floats(&d), ny = d.n * d.t * d.d, G = 64;
    float *cache = alloc_f(nc + G), *scratch = alloc_f(ns + G), *y = alloc_f(ny), *dout = alloc_f(ny);
    for (size_t i = 0; i < G; i++) cache[nc + i] = scratch[ns + i] = 12345.0f;
    fill_normal(dout, ny, &r, 1);
    attn_grads g = grads_alloc(&d);
    sl__attn_grads v = grads_view(&g);
    sl__attn_params p = attn_params(&c);
    sl_threads_set(4);
    sl__attn_forward(y, cache, c.x, &p, NULL, &d);
    sl__attn_backward(g.dx, &v, dout, c.x, cache, &p, &d, scratch);
    for (size_t i = 0; i < G; i++) ASSERT_TRUE(cache[nc + i] == 12345.0f && scratch[ns + i] == 12345.0f);
    /* The probabilities are in the cache: each row sums to 1. */
    const float *P = cache + 4 * ny;
    for (size_t row = 0; row < d.n * d.h * d.t; row++) {
        double sum = 0;
        for (size_t j = 0; j < d.t; j++) sum += P[row * d.t + j];
        ASSERT_NEAR(sum, 1.0, 1e-6);
    }
    grads_free(&g);
    free(cache), free(scratch), free(y), free(dout);
    attn_free(&c);
}

/* Same bits for 1, 2 and 3 threads, and for scratch sized for 1 or 3 workers. */
TEST(kernels_same_bits_any_thread_count) {
    sl_rng r;
    sl_rng_seed(&r, 54, 1);
    const size_t lens[4] = {9, 4, 7, 1};
    sl__attn_dims d = {4, 9, 12, 3, true, 3};
    attn_case c;
    attn_make(&c, d, lens, &r);
    const size_t ny = d.n * d.t * d.d;
    float *dout = alloc_f(ny), *y[3];
    attn_grads g[3];
    fill_normal(dout, ny, &r, 1);
    sl__attn_params p = attn_params(&c);
    for (int k = 0; k < 3; k++) {
        sl_threads_set(k + 1);
        d.threads = k == 0 ? 1 : 3;
        y[k] = alloc_f(ny);
        g[k] = grads_alloc(&d);
        sl__attn_grads v = grads_view(&g[k]);
        sl__attn_forward(y[k], c.cache, c.x, &p, c.pad, &d);
        sl__attn_backward(g[k].dx, &v, dout, c.x, c.cache, &p, &d, c.scratch);
    }
    for (int k = 1; k < 3; k++) {
        assert_same_bits(y[0], y[k], ny, "attention output");
        assert_same_bits(g[0].dx, g[k].dx, ny, "attention d(input)");
        assert_same_bits(g[0].in_w, g[k].in_w, 3 * d.d * d.d, "attention d(in_proj_weight)");
        assert_same_bits(g[0].out_w, g[k].out_w, d.d * d.d, "attention d(out_proj.weight)");
        assert_same_bits(g[0].in_b, g[k].in_b, 3 * d.d, "attention d(in_proj_bias)");
    }
    for (int k = 0; k < 3; k++) free(y[k]), grads_free(&g[k]);
    free(dout);
    attn_free(&c);
}

/* The block for the first token only (sl__block_dims.first, what a model
 * uses before ln,tokfirst) against the whole block: the first rows of the
 * output, and every gradient when d(out) is zero on the other rows, agree to
 * float rounding (the products are over other shapes); its own bits do not
 * depend on the thread count. Plain, causal and padded attention. */
typedef struct block_run {
    float *y, *dx, *g[SL__BLOCK_TENSORS];
} block_run;

static void block_run_once(block_run *o, const float *x, float *const *w, const size_t *counts, const float *dout,
                           const sl__block_dims *d) {
    const size_t ny = d->n * d->t * d->d;
    float *cache = alloc_f(sl__block_cache_floats(d)), *scratch = alloc_f(sl__block_scratch_floats(d));
    o->y = alloc_f(ny), o->dx = alloc_f(ny);
    for (int k = 0; k < SL__BLOCK_TENSORS; k++) o->g[k] = alloc_f(counts[k]);
    sl__block_forward(o->y, cache, x, (const float *const *)w, d);
    sl__block_backward(o->dx, o->g, dout, x, cache, (const float *const *)w, d, scratch);
    free(cache), free(scratch);
}

static void block_run_free(block_run *o) {
    free(o->y), free(o->dx);
    for (int k = 0; k < SL__BLOCK_TENSORS; k++) free(o->g[k]);
}

/* The first-token block (d.first) against the whole block on the same
 * input, d(out) zero but on the first rows: the first rows of the output and
 * every gradient agree to float rounding (gatol: the gradients' absolute
 * tolerance), and the first-token block gives the same bits on threads0 and
 * threads0 + 1 threads. */
static void first_vs_whole(const float *x, float *const *w, const size_t *counts, const float *dout,
                           sl__block_dims d, int threads0, double gatol) {
    const size_t n = d.n, T = d.t, D = d.d, ny = n * T * D;
    block_run whole, first[2];
    d.first = false;
    block_run_once(&whole, x, w, counts, dout, &d);
    d.first = true;
    for (int k = 0; k < 2; k++) {
        sl_threads_set(threads0 + k);
        block_run_once(&first[k], x, w, counts, dout, &d);
    }
    for (size_t s = 0; s < n; s++)
        assert_close_arr(first[0].y + s * T * D, whole.y + s * T * D, D, 1e-5, 1e-6, "first row of the output");
    assert_close_arr(first[0].dx, whole.dx, ny, 1e-4, 1e-5, "d(input)");
    for (int k = 0; k < SL__BLOCK_TENSORS; k++) assert_close_arr(first[0].g[k], whole.g[k], counts[k], 1e-4, gatol, "d(tensor)");
    for (size_t s = 0; s < n; s++) assert_same_bits(first[0].y + s * T * D, first[1].y + s * T * D, D, "output, two thread counts");
    assert_same_bits(first[0].dx, first[1].dx, ny, "d(input), two thread counts");
    for (int k = 0; k < SL__BLOCK_TENSORS; k++) assert_same_bits(first[0].g[k], first[1].g[k], counts[k], "d(tensor), two thread counts");
    block_run_free(&whole), block_run_free(&first[0]), block_run_free(&first[1]);
}

TEST(block_first_token_matches_whole_block) {
    sl_rng r;
    sl_rng_seed(&r, 55, 1);
    const size_t n = 5, T = 7, D = 12, M = 20, lens[5] = {7, 3, 5, 1, 6};
    const size_t counts[SL__BLOCK_TENSORS] = {D, D, 3 * D * D, 3 * D, D * D, D, D, D, M * D, M, D * M, D};
    uint8_t pad[35];
    sl__attn_pad_from_lengths(pad, lens, n, T);
    float *w[SL__BLOCK_TENSORS];
    for (int k = 0; k < SL__BLOCK_TENSORS; k++) {
        w[k] = alloc_f(counts[k]);
        fill_normal(w[k], counts[k], &r, 0.4);
    }
    const size_t ny = n * T * D;
    float *x = alloc_f(ny), *dout = alloc_f(ny);
    fill_normal(x, ny, &r, 1.0);
    memset(dout, 0, ny * sizeof(float));
    for (size_t s = 0; s < n; s++) fill_normal(dout + s * T * D, D, &r, 1.0);
    for (int mode = 0; mode < 3; mode++) {
        sl__block_dims d = {n, T, D, 3, M, 1e-5, 2, mode == 1, mode == 2 ? pad : NULL, false};
        first_vs_whole(x, w, counts, dout, d, 1, 1e-5);
    }
    for (int k = 0; k < SL__BLOCK_TENSORS; k++) free(w[k]);
    free(x), free(dout);
}

/* A batch large enough to be cut into slices of sequences (transformer.c:
 * here 4 slices of 12 or 13 sequences) against each sequence run alone: the
 * same output and d(input) rows, and parameter gradients that are the sums
 * of the sequences' (to float rounding: the products are over other shapes);
 * its bits do not depend on the thread count; the cache and scratch stay
 * within their sizes. The first-token block on the same slices agrees with
 * the whole block. Plain, causal and padded attention. */
static void block_slices_case(int mode) {
    sl_rng r;
    sl_rng_seed(&r, 56, (uint64_t)mode);
    const size_t n = 50, T = 24, D = 8, M = 16, R = n * T, ny = R * D, G = 64;
    const size_t counts[SL__BLOCK_TENSORS] = {D, D, 3 * D * D, 3 * D, D * D, D, D, D, M * D, M, D * M, D};
    size_t lens[50];
    for (size_t s = 0; s < n; s++) lens[s] = 1 + (size_t)sl_rng_below(&r, T);
    uint8_t pad[50 * 24];
    sl__attn_pad_from_lengths(pad, lens, n, T);
    float *w[SL__BLOCK_TENSORS];
    for (int k = 0; k < SL__BLOCK_TENSORS; k++) {
        w[k] = alloc_f(counts[k]);
        fill_normal(w[k], counts[k], &r, 0.4);
    }
    float *x = alloc_f(ny), *dout = alloc_f(ny);
    fill_normal(x, ny, &r, 1.0);
    fill_normal(dout, ny, &r, 1.0);
    sl__block_dims d = {n, T, D, 2, M, 1e-5, 3, mode == 1, mode == 2 ? pad : NULL, false};
    const size_t nc = sl__block_cache_floats(&d), ns = sl__block_scratch_floats(&d);
    float *cache = alloc_f(nc + G), *scratch = alloc_f(ns + G);
    block_run batch[3];
    for (int t = 0; t < 3; t++) {
        sl_threads_set(t + 1);
        for (size_t i = 0; i < G; i++) cache[nc + i] = scratch[ns + i] = 12345.0f;
        batch[t].y = alloc_f(ny), batch[t].dx = alloc_f(ny);
        for (int k = 0; k < SL__BLOCK_TENSORS; k++) batch[t].g[k] = alloc_f(counts[k]);
        sl__block_forward(batch[t].y, cache, x, (const float *const *)w, &d);
        sl__block_backward(batch[t].dx, batch[t].g, dout, x, cache, (const float *const *)w, &d, scratch);
        for (size_t i = 0; i < G; i++) ASSERT_TRUE(cache[nc + i] == 12345.0f && scratch[ns + i] == 12345.0f);
    }
    for (int t = 1; t < 3; t++) {
        assert_same_bits(batch[0].y, batch[t].y, ny, "output, 1, 2 or 3 threads");
        assert_same_bits(batch[0].dx, batch[t].dx, ny, "d(input), 1, 2 or 3 threads");
        for (int k = 0; k < SL__BLOCK_TENSORS; k++)
            assert_same_bits(batch[0].g[k], batch[t].g[k], counts[k], "d(tensor), 1, 2 or 3 threads");
    }
    double *gsum[SL__BLOCK_TENSORS];
    for (int k = 0; k < SL__BLOCK_TENSORS; k++) gsum[k] = calloc(counts[k], sizeof(double));
    for (size_t s = 0; s < n; s++) {
        sl__block_dims one = d;
        one.n = 1, one.pad = d.pad ? pad + s * T : NULL;
        block_run o;
        block_run_once(&o, x + s * T * D, w, counts, dout + s * T * D, &one);
        assert_close_arr(o.y, batch[0].y + s * T * D, T * D, 1e-5, 1e-6, "output rows of one sequence");
        assert_close_arr(o.dx, batch[0].dx + s * T * D, T * D, 1e-4, 1e-5, "d(input) rows of one sequence");
        for (int k = 0; k < SL__BLOCK_TENSORS; k++)
            for (size_t i = 0; i < counts[k]; i++) gsum[k][i] += o.g[k][i];
        block_run_free(&o);
    }
    for (int k = 0; k < SL__BLOCK_TENSORS; k++) {
        float *want = alloc_f(counts[k]);
        for (size_t i = 0; i < counts[k]; i++) want[i] = (float)gsum[k][i];
        assert_close_arr(batch[0].g[k], want, counts[k], 1e-4, 1e-4, "d(tensor), the sequences' sum");
        free(want), free(gsum[k]);
    }
    for (int t = 0; t < 3; t++) block_run_free(&batch[t]);
    /* The first-token block on the same slices agrees with the whole block. */
    memset(dout, 0, ny * sizeof(float));
    for (size_t s = 0; s < n; s++) fill_normal(dout + s * T * D, D, &r, 1.0);
    first_vs_whole(x, w, counts, dout, d, 2, 1e-4);
    for (int k = 0; k < SL__BLOCK_TENSORS; k++) free(w[k]);
    free(x), free(dout), free(cache), free(scratch);
}

TEST(block_slices_match_one_sequence_at_a_time) {
    for (int mode = 0; mode < 3; mode++) block_slices_case(mode);
}

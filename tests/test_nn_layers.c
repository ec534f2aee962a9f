/* Tests of the nn layers: a central-difference gradient check (loss and
 * differences in double) for every layer, through the public model API, with
 * stride/padding corner cases and batch norm in train mode; and every fast
 * kernel against its naive `_ref` twin on random shapes. */
#include "test.h"

#include "nn/nn_internal.h"

static void fill_normal(float *x, size_t n, sl_rng *r, double scale) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(scale * sl_rng_normal(r));
}

/* Values on a grid with spacing 0.05 in random order: no two are closer than
 * the finite-difference step, and none is within it of 0, so ReLU and max
 * pooling are differentiable at every point checked. */
static void fill_distinct(float *x, size_t n, sl_rng *r) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(((double)i - (double)n / 2.0) * 0.05 + 0.025);
    sl_rng_shuffle(r, x, n, sizeof(float));
}

static double loss_of(sl_model *m, const float *x, size_t n, const float *w, size_t nout, uint64_t rng_seed) {
    const float *y;
    sl_model_set_rng(m, rng_seed);
    ASSERT_OK(sl_model_forward(m, x, n, true, &y));
    double l = 0;
    for (size_t i = 0; i < nout; i++) l += (double)y[i] * w[i];
    return l;
}

/* Compare an analytic derivative with central differences at step eps and
 * eps/2; where those two disagree the point sits on a kink and is skipped. */
static int check_point(sl_model *m, float *v, float analytic, const float *x, size_t n, const float *w, size_t nout,
                       double eps, double tol, const char *what, size_t idx) {
    float save = *v;
    *v = (float)(save + eps);
    double lp = loss_of(m, x, n, w, nout, 11);
    *v = (float)(save - eps);
    double lm = loss_of(m, x, n, w, nout, 11);
    *v = (float)(save + eps / 2);
    double lp2 = loss_of(m, x, n, w, nout, 11);
    *v = (float)(save - eps / 2);
    double lm2 = loss_of(m, x, n, w, nout, 11);
    *v = save;
    double num = (lp - lm) / (2 * eps), num2 = (lp2 - lm2) / eps;
    double scale = fabs(num) > fabs((double)analytic) ? fabs(num) : fabs((double)analytic);
    if (fabs(num - num2) > tol * (scale + 1.0)) return 1; /* kink */
    if (!(fabs(num - analytic) <= tol * (scale + 1.0)))
        T_FAIL("gradient of %s[%zu]: analytic %.7g, numeric %.7g", what, idx, (double)analytic, num);
    return 0;
}

static void gradcheck_x(const char *spec, const char *shape_text, size_t n, bool distinct, double eps, double tol,
                        const float *x_given) {
    sl_shape shape;
    ASSERT_OK(sl_shape_parse(shape_text, &shape));
    sl_model *m;
    ASSERT_OK(sl_model_create(spec, &shape, 3, &m));
    sl_shape os = sl_model_output_shape(m);
    size_t nin = n * sl_shape_count(&shape), nout = n * sl_shape_count(&os);
    float *x = malloc(nin * sizeof(float)), *w = malloc(nout * sizeof(float)), *din = malloc(nin * sizeof(float));
    sl_rng r;
    sl_rng_seed(&r, 99, 0);
    if (x_given) memcpy(x, x_given, nin * sizeof(float));
    else if (distinct) fill_distinct(x, nin, &r);
    else fill_normal(x, nin, &r, 1.0);
    fill_normal(w, nout, &r, 1.0);
    /* Make parameters less uniform than the default init (BN gamma 1). */
    float *p = sl_model_params(m);
    size_t np = sl_model_param_count(m);
    for (size_t i = 0; i < np; i++) p[i] += (float)(0.1 * sl_rng_normal(&r));
    loss_of(m, x, n, w, nout, 11);
    sl_model_zero_grad(m);
    bool ids = strncmp(spec, "embbag", 6) == 0 || strncmp(spec, "tokemb", 6) == 0 || strncmp(spec, "txt", 3) == 0;
    ASSERT_OK(sl_model_backward(m, w, ids ? NULL : din));
    float *g = malloc((np ? np : 1) * sizeof(float));
    memcpy(g, sl_model_grads(m), np * sizeof(float));
    int kinks = 0, checked = 0;
    for (size_t k = 0; k < 24 && np; k++) {
        size_t i = k < np ? (k * 7919) % np : sl_rng_below(&r, np);
        kinks += check_point(m, &p[i], g[i], x, n, w, nout, eps, tol, "param", i);
        checked++;
    }
    for (size_t k = 0; k < 32 && !ids; k++) {
        size_t i = (k * 104729 + 13) % nin;
        kinks += check_point(m, &x[i], din[i], x, n, w, nout, eps, tol, "input", i);
        checked++;
    }
    if (kinks * 4 > checked) T_FAIL("%s: %d of %d points were on kinks", spec, kinks, checked);
    free(x), free(w), free(din), free(g);
    sl_model_destroy(m);
}

static void gradcheck(const char *spec, const char *shape_text, size_t n, bool distinct) {
    gradcheck_x(spec, shape_text, n, distinct, 1e-2, 2e-3, NULL);
}

TEST(grad_linear) {
    gradcheck("linear(5)", "7", 4, false);
    gradcheck("linear(3,bias=0)", "6", 3, false);
}
TEST(grad_conv_basic) { gradcheck("conv(3,3)", "2x6x5", 3, false); }
TEST(grad_conv_stride_pad) {
    gradcheck("conv(4,3,stride=2,pad=1)", "2x7x7", 2, false);
    gradcheck("conv(3,2,stride=3,pad=1,bias=0)", "2x8x7", 2, false);
    gradcheck("conv(2,5,pad=2)", "1x5x5", 2, false);
    gradcheck("conv(2,4,stride=2,pad=3)", "2x5x6", 2, false);
}
TEST(grad_conv_pointwise) { gradcheck("conv(3,1)", "4x3x5", 3, false); }
TEST(grad_bn_train_image) { gradcheck("bn", "3x4x4", 5, false); }
TEST(grad_bn_train_flat) { gradcheck("bn", "6", 7, false); }
TEST(grad_bn_relu_fused) { gradcheck("bn,relu", "3x5x4", 4, false); }
TEST(grad_ln) { gradcheck("ln", "9", 3, false); }
TEST(grad_relu) { gradcheck("relu", "2x3x3", 3, true); }
TEST(grad_gelu) { gradcheck("gelu", "2x3x3", 3, false); }
TEST(grad_tanh) { gradcheck("tanh", "11", 3, false); }
TEST(grad_maxpool) {
    gradcheck("maxpool(2)", "2x6x6", 2, true);
    gradcheck("maxpool(2)", "2x7x5", 2, true);
    gradcheck("maxpool(3,stride=2,pad=1)", "2x7x7", 2, true);
    gradcheck("maxpool(3,stride=1)", "1x5x6", 2, true);
}
TEST(grad_avgpool) {
    gradcheck("avgpool(2)", "2x6x6", 2, false);
    gradcheck("avgpool(3,stride=2,pad=1)", "2x7x7", 2, false);
}
TEST(grad_upsample) { gradcheck("upsample(2)", "2x3x4", 2, false); }
TEST(grad_gap_flatten_unflatten) {
    gradcheck("gap,linear(3)", "3x4x5", 3, false);
    gradcheck("flatten,linear(4)", "2x3x3", 3, false);
    gradcheck("unflatten(2,3,3),conv(2,3,pad=1)", "18", 3, false);
}
TEST(grad_dropout) { gradcheck("dropout(0.3)", "20", 4, false); }
TEST(grad_l2norm) { gradcheck("l2norm", "6", 3, false); }
TEST(grad_embbag) {
    /* ids (with -1 padding) as floats; only the table gets a gradient. */
    float ids[3 * 5] = {0, 3, 3, -1, 9, 2, -1, -1, -1, -1, 7, 1, 4, 5, 6};
    gradcheck_x("embbag(10,4),linear(2)", "5", 3, false, 1e-2, 2e-3, ids);
}
/* Ids with -1 padding, trailing and inside a row, and a row of padding only. */
static const float padded_ids[4 * 6] = {0, 3, 3, -1, 9, 1, 2, 4, -1, -1, -1, -1,
                                        7, 1, 4, 5, 6, 8, -1, -1, -1, -1, -1, -1};
TEST(grad_tokemb) { gradcheck_x("tokemb(10,4),linear(2)", "6", 4, false, 1e-2, 2e-3, padded_ids); }
/* The pad mask of the ids reaches the blocks and the mean. */
TEST(grad_blocks_and_mean_over_padded_ids) {
    gradcheck_x("tokemb(10,4),pos,block(2),ln,tokmean,linear(3)", "6", 4, false, 1e-2, 2e-3, padded_ids);
    gradcheck_x("tokemb(10,6),pos,block(3,2,causal=1),block(1,1),tokmean", "6", 4, false, 1e-2, 2e-3, padded_ids);
    gradcheck_x("txt(vocab=10,dim=4,depth=1,heads=2,mlp=2,causal=1),linear(2)", "6", 4, false, 1e-2, 2e-3, padded_ids);
}
TEST(grad_causal_block_on_tokens) { gradcheck("block(2,causal=1)", "5x4", 3, false); }
TEST(grad_small_cnn_end_to_end) {
    /* A smaller step: many max-pool windows and ReLUs lie between the
     * parameters and the loss, and a large step crosses their switches. */
    gradcheck_x("conv(4,3,pad=1),bn,relu,maxpool(2),conv(6,3,pad=1),bn,relu,gap,linear(5),relu,linear(3)", "1x8x8",
                4, false, 1e-3, 5e-3, NULL);
}

/* Tokens (T x D per example): linear and ln act on each token, flatten
 * keeps the floats in order. */
TEST(grad_linear_ln_flatten_on_tokens) {
    gradcheck("linear(5)", "4x6", 3, false);
    gradcheck("linear(3,bias=0)", "2x5", 2, false);
    gradcheck("ln", "4x6", 3, false);
    gradcheck("ln,flatten,linear(3)", "3x5", 2, false);
}
TEST(grad_patch) {
    gradcheck("patch(2,5)", "3x6x6", 2, false);
    /* Rows and columns that fill no patch get gradient 0. */
    gradcheck("patch(3,4)", "2x7x8", 2, false);
    gradcheck("patch(1,3)", "2x2x3", 3, false);
}
TEST(grad_cls_pos) {
    gradcheck("cls", "3x4", 3, false);
    gradcheck("pos", "3x4", 3, false);
    gradcheck("cls,pos,linear(2)", "3x4", 2, false);
}
TEST(grad_tokmean_tokfirst) {
    gradcheck("tokmean", "5x4", 3, false);
    gradcheck("tokfirst", "5x4", 3, false);
    gradcheck("linear(3),tokmean", "5x4", 2, false);
}
TEST(grad_block) {
    gradcheck("block(2)", "5x8", 3, false);
    gradcheck("block(2,mlp=1,hidden=5)", "4x6", 2, false);
    gradcheck("block(1,2),block(3,1)", "3x6", 2, false);
    /* One token: attention is the value projection alone. */
    gradcheck("block(2)", "1x4", 3, false);
}
TEST(grad_vit_end_to_end) {
    gradcheck("vit(patch=2,dim=8,depth=2,heads=2,mlp=2)", "1x6x6", 3, false);
    gradcheck("vit(patch=3,dim=6,depth=1,heads=3,mlp=2,pool=mean),linear(4)", "2x6x7", 2, false);
}

/* masktok without marks passes its input through; with marks (which only
 * the masked-autoencoder pass writes) its gradients are checked in
 * tests/test_nn_mae.c, through the whole masked pass. */
TEST(grad_masktok_unmarked) { gradcheck("masktok", "3x4", 3, false); }

/* The kinds the gradient checks above cover. A kind added to the table of
 * layer kinds needs a gradient check, and its name here. */
static const char *const grad_checked[] = {"linear", "conv", "bn", "ln", "relu", "gelu", "tanh", "maxpool",
                                           "avgpool", "upsample", "gap", "flatten", "unflatten", "dropout",
                                           "l2norm", "embbag", "tokemb", "patch", "cls", "pos", "block", "tokmean",
                                           "tokfirst", "masktok"};

static bool listed(const char *name, const char *const *names, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return true;
    return false;
}

TEST(layer_kind_table_is_complete) {
    const size_t nchecked = sizeof grad_checked / sizeof grad_checked[0];
    const char *names[64];
    ASSERT_TRUE(sl__layer_kind_count <= 64);
    for (size_t i = 0; i < sl__layer_kind_count; i++) {
        const sl__layer_ops *k = &sl__layer_kinds[i];
        ASSERT_TRUE(k->name && k->name[0] && k->forward && k->backward);
        if (listed(k->name, names, i)) T_FAIL("layer kind '%s' is in the table twice", k->name);
        names[i] = k->name;
        int nargs = 0;
        while (nargs < SL__LAYER_ARGS && k->args[nargs]) nargs++;
        if (k->nreq > nargs) T_FAIL("layer kind '%s' requires %d of its %d arguments", k->name, k->nreq, nargs);
        if (!listed(k->name, grad_checked, nchecked)) T_FAIL("layer kind '%s' has no gradient check", k->name);
    }
    for (size_t i = 0; i < sl__layer_kind_count; i++) {
        const char *f = sl__layer_kinds[i].fuses;
        if (f && !listed(f, names, sl__layer_kind_count)) T_FAIL("'%s' fuses an unknown kind '%s'", names[i], f);
    }
    for (size_t i = 0; i < nchecked; i++)
        if (!listed(grad_checked[i], names, sl__layer_kind_count)) T_FAIL("'%s' is not a layer kind", grad_checked[i]);
}

/* A preset has a name no kind has, an expansion and no passes of its own;
 * a word-valued argument names at least two words. */
TEST(layer_preset_table_is_well_formed) {
    ASSERT_TRUE(sl__layer_preset_count > 0);
    for (size_t i = 0; i < sl__layer_preset_count; i++) {
        const sl__layer_ops *k = &sl__layer_presets[i];
        ASSERT_TRUE(k->name && k->name[0] && k->expand && !k->forward && !k->backward);
        for (size_t j = 0; j < sl__layer_kind_count; j++)
            if (!strcmp(sl__layer_kinds[j].name, k->name)) T_FAIL("preset '%s' is also a layer kind", k->name);
        for (int a = 0; a < SL__LAYER_ARGS; a++)
            if (k->words[a] && (!k->args[a] || !strchr(k->words[a], '|')))
                T_FAIL("preset '%s': argument %d has words '%s'", k->name, a, k->words[a]);
    }
}

/* ---- fast kernels against their _ref twins ------------------------------*/
static void assert_close_arr(const float *a, const float *b, size_t n, double rtol, double atol, const char *what) {
    for (size_t i = 0; i < n; i++) {
        double m = fabs(a[i]) > fabs(b[i]) ? fabs(a[i]) : fabs(b[i]);
        if (!(fabs((double)a[i] - b[i]) <= rtol * m + atol))
            T_FAIL("%s[%zu]: %.8g vs %.8g", what, i, (double)a[i], (double)b[i]);
    }
}

TEST(conv_fast_matches_ref_random_shapes) {
    sl_rng r;
    sl_rng_seed(&r, 5, 1);
    for (int t = 0; t < 40; t++) {
        sl__conv_dims d;
        d.n = 1 + sl_rng_below(&r, 5);
        d.ci = 1 + sl_rng_below(&r, 4);
        d.co = 1 + sl_rng_below(&r, 5);
        d.k = 1 + sl_rng_below(&r, 4);
        d.stride = 1 + sl_rng_below(&r, 3);
        d.pad = sl_rng_below(&r, d.k + 1);
        d.h = d.k + sl_rng_below(&r, 7);
        d.w = d.k + sl_rng_below(&r, 7);
        d.ho = (d.h + 2 * d.pad - d.k) / d.stride + 1;
        d.wo = (d.w + 2 * d.pad - d.k) / d.stride + 1;
        d.chunk = sl_rng_below(&r, 3); /* 0 = automatic, else forced small chunks */
        d.threads = sl_rng_below(&r, 4); /* workers the scratch allows (0 = 1) */
        size_t ni = d.ci * d.n * d.h * d.w, no = d.co * d.n * d.ho * d.wo, nw = d.co * d.ci * d.k * d.k;
        float *x = malloc(ni * 4), *wt = malloc(nw * 4), *b = malloc(d.co * 4), *y1 = malloc(no * 4),
              *y2 = malloc(no * 4), *g = malloc(no * 4), *dx1 = malloc(ni * 4), *dx2 = malloc(ni * 4),
              *dw1 = calloc(nw, 4), *dw2 = calloc(nw, 4), *db1 = calloc(d.co, 4), *db2 = calloc(d.co, 4);
        float *scratch = malloc((sl__conv_scratch_floats(&d) + 1) * 4);
        fill_normal(x, ni, &r, 1), fill_normal(wt, nw, &r, 1), fill_normal(b, d.co, &r, 1), fill_normal(g, no, &r, 1);
        sl__conv_forward(y1, x, wt, b, &d, scratch);
        sl__conv_forward_ref(y2, x, wt, b, &d);
        assert_close_arr(y1, y2, no, 1e-5, 1e-5, "conv forward");
        sl__conv_backward(dx1, dw1, db1, g, x, wt, &d, scratch);
        sl__conv_backward_ref(dx2, dw2, db2, g, x, wt, &d);
        assert_close_arr(dx1, dx2, ni, 1e-5, 1e-5, "conv d(input)");
        assert_close_arr(dw1, dw2, nw, 1e-5, 1e-4, "conv d(weight)");
        assert_close_arr(db1, db2, d.co, 1e-5, 1e-4, "conv d(bias)");
        free(x), free(wt), free(b), free(y1), free(y2), free(g), free(dx1), free(dx2), free(dw1), free(dw2);
        free(db1), free(db2), free(scratch);
    }
}

/* Stride-1 "same" convolutions take a separate im2col path (whole shifted
 * planes); cover it with kernels larger than the image too. */
TEST(conv_same_padding_matches_ref) {
    sl_rng r;
    sl_rng_seed(&r, 5, 2);
    const size_t cases[][4] = {{3, 1, 5, 6}, {5, 2, 2, 3}, {5, 2, 1, 1}, {7, 3, 4, 2}, {3, 1, 1, 9}, {1, 0, 3, 3}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        sl__conv_dims d = {3, 2, cases[t][2], cases[t][3], 3, cases[t][2], cases[t][3], cases[t][0], 1, cases[t][1], 0, 2};
        d.k = cases[t][0];
        d.chunk = t % 2 ? 1 : 0;
        /* k=1 pad=0 is the pointwise path; give it stride-1 same dims anyway. */
        size_t ni = d.ci * d.n * d.h * d.w, no = d.co * d.n * d.ho * d.wo, nw = d.co * d.ci * d.k * d.k;
        float *x = malloc(ni * 4), *wt = malloc(nw * 4), *y1 = malloc(no * 4), *y2 = malloc(no * 4),
              *dx1 = malloc(ni * 4), *dx2 = malloc(ni * 4), *dw1 = calloc(nw, 4), *dw2 = calloc(nw, 4);
        float *scratch = malloc((sl__conv_scratch_floats(&d) + 1) * 4);
        fill_normal(x, ni, &r, 1), fill_normal(wt, nw, &r, 1);
        sl__conv_forward(y1, x, wt, NULL, &d, scratch);
        sl__conv_forward_ref(y2, x, wt, NULL, &d);
        assert_close_arr(y1, y2, no, 1e-5, 1e-5, "same conv forward");
        sl__conv_backward(dx1, dw1, NULL, y1, x, wt, &d, scratch);
        sl__conv_backward_ref(dx2, dw2, NULL, y1, x, wt, &d);
        assert_close_arr(dx1, dx2, ni, 1e-5, 1e-4, "same conv d(input)");
        assert_close_arr(dw1, dw2, nw, 1e-5, 1e-4, "same conv d(weight)");
        free(x), free(wt), free(y1), free(y2), free(dx1), free(dx2), free(dw1), free(dw2), free(scratch);
    }
}

TEST(linear_fast_matches_ref) {
    sl_rng r;
    sl_rng_seed(&r, 6, 1);
    for (int t = 0; t < 20; t++) {
        size_t n = 1 + sl_rng_below(&r, 9), di = 1 + sl_rng_below(&r, 17), no = 1 + sl_rng_below(&r, 13);
        float *x = malloc(n * di * 4), *w = malloc(no * di * 4), *b = malloc(no * 4), *y1 = malloc(n * no * 4),
              *y2 = malloc(n * no * 4), *dx1 = malloc(n * di * 4), *dx2 = malloc(n * di * 4),
              *dw1 = calloc(no * di, 4), *dw2 = calloc(no * di, 4), *db1 = calloc(no, 4), *db2 = calloc(no, 4);
        fill_normal(x, n * di, &r, 1), fill_normal(w, no * di, &r, 1), fill_normal(b, no, &r, 1);
        sl__linear_forward(y1, x, w, b, n, di, no);
        sl__linear_forward_ref(y2, x, w, b, n, di, no);
        assert_close_arr(y1, y2, n * no, 1e-5, 1e-5, "linear forward");
        sl__linear_backward(dx1, dw1, db1, y1, x, w, n, di, no);
        sl__linear_backward_ref(dx2, dw2, db2, y1, x, w, n, di, no);
        assert_close_arr(dx1, dx2, n * di, 1e-5, 1e-4, "linear d(input)");
        assert_close_arr(dw1, dw2, no * di, 1e-5, 1e-4, "linear d(weight)");
        assert_close_arr(db1, db2, no, 1e-5, 1e-4, "linear d(bias)");
        free(x), free(w), free(b), free(y1), free(y2), free(dx1), free(dx2), free(dw1), free(dw2), free(db1), free(db2);
    }
}

/* The residual form: res + bias + x w^T, for each of res and bias present or
 * not, against the twin plus res. */
TEST(linear_res_matches_ref) {
    sl_rng r;
    sl_rng_seed(&r, 16, 1);
    for (int t = 0; t < 16; t++) {
        size_t n = 1 + sl_rng_below(&r, 9), di = 1 + sl_rng_below(&r, 17), no = 1 + sl_rng_below(&r, 13);
        float *x = malloc(n * di * 4), *w = malloc(no * di * 4), *b = malloc(no * 4), *res = malloc(n * no * 4),
              *y1 = malloc(n * no * 4), *y2 = malloc(n * no * 4);
        fill_normal(x, n * di, &r, 1), fill_normal(w, no * di, &r, 1), fill_normal(b, no, &r, 1);
        fill_normal(res, n * no, &r, 1);
        const bool with_res = (t & 1) != 0, with_bias = (t & 2) != 0;
        sl__linear_forward_res(y1, x, w, with_bias ? b : NULL, with_res ? res : NULL, n, di, no);
        sl__linear_forward_ref(y2, x, w, with_bias ? b : NULL, n, di, no);
        if (with_res)
            for (size_t i = 0; i < n * no; i++) y2[i] += res[i];
        assert_close_arr(y1, y2, n * no, 1e-5, 1e-5, "linear forward with a residual");
        free(x), free(w), free(b), free(res), free(y1), free(y2);
    }
}

TEST(bn_fast_matches_ref) {
    sl_rng r;
    sl_rng_seed(&r, 7, 1);
    for (int t = 0; t < 24; t++) {
        sl__bn_dims d = {1 + sl_rng_below(&r, 6), 2 + sl_rng_below(&r, 9000), (t & 1) != 0, (t & 2) != 0, 1e-5, 0.1};
        bool train = (t & 4) == 0;
        size_t n = d.c * d.m;
        float *x = malloc(n * 4), *y1 = malloc(n * 4), *y2 = malloc(n * 4), *g = malloc(n * 4),
              *dx1 = malloc(n * 4), *dx2 = malloc(n * 4), *gm = malloc(d.c * 4), *bt = malloc(d.c * 4),
              *c1 = malloc(4 * d.c * 4), *c2 = malloc(4 * d.c * 4), *rm1 = malloc(d.c * 4), *rv1 = malloc(d.c * 4),
              *rm2 = malloc(d.c * 4), *rv2 = malloc(d.c * 4), *dg1 = calloc(d.c, 4), *dg2 = calloc(d.c, 4),
              *db1 = calloc(d.c, 4), *db2 = calloc(d.c, 4);
        fill_normal(x, n, &r, 2), fill_normal(g, n, &r, 1), fill_normal(gm, d.c, &r, 1), fill_normal(bt, d.c, &r, 1);
        for (size_t i = 0; i < n; i++) x[i] += 3.0f;
        for (size_t c = 0; c < d.c; c++) rm1[c] = rm2[c] = 0.5f, rv1[c] = rv2[c] = 2.0f;
        sl__bn_forward(y1, c1, rm1, rv1, x, gm, bt, &d, train);
        sl__bn_forward_ref(y2, c2, rm2, rv2, x, gm, bt, &d, train);
        assert_close_arr(y1, y2, n, 1e-4, 1e-5, "bn forward");
        assert_close_arr(rm1, rm2, d.c, 1e-5, 1e-6, "bn running mean");
        assert_close_arr(rv1, rv2, d.c, 1e-5, 1e-6, "bn running var");
        if (train) {
            sl__bn_backward(dx1, dg1, db1, g, y1, x, c1, gm, &d);
            sl__bn_backward_ref(dx2, dg2, db2, g, y2, x, c2, gm, &d);
            assert_close_arr(dx1, dx2, n, 1e-3, 1e-4, "bn d(input)");
            assert_close_arr(dg1, dg2, d.c, 1e-4, 1e-3, "bn d(gamma)");
            assert_close_arr(db1, db2, d.c, 1e-4, 1e-3, "bn d(beta)");
        }
        free(x), free(y1), free(y2), free(g), free(dx1), free(dx2), free(gm), free(bt), free(c1), free(c2);
        free(rm1), free(rv1), free(rm2), free(rv2), free(dg1), free(dg2), free(db1), free(db2);
    }
}

TEST(maxpool_fast_matches_ref) {
    sl_rng r;
    sl_rng_seed(&r, 8, 1);
    for (int t = 0; t < 30; t++) {
        sl__conv_dims d;
        memset(&d, 0, sizeof d);
        d.n = 1 + sl_rng_below(&r, 4);
        d.ci = d.co = 1 + sl_rng_below(&r, 4);
        d.k = t % 3 == 0 ? 2 : 1 + sl_rng_below(&r, 4);
        d.stride = t % 3 == 0 ? 2 : 1 + sl_rng_below(&r, 3);
        d.pad = t % 3 == 0 ? 0 : sl_rng_below(&r, d.k / 2 + 1);
        d.h = d.k + sl_rng_below(&r, 8);
        d.w = d.k + sl_rng_below(&r, 8);
        d.ho = (d.h + 2 * d.pad - d.k) / d.stride + 1;
        d.wo = (d.w + 2 * d.pad - d.k) / d.stride + 1;
        size_t ni = d.ci * d.n * d.h * d.w, no = d.ci * d.n * d.ho * d.wo;
        float *x = malloc(ni * 4), *y1 = malloc(no * 4), *y2 = malloc(no * 4);
        int32_t *i1 = malloc(no * 4), *i2 = malloc(no * 4);
        fill_normal(x, ni, &r, 1);
        sl__maxpool_forward(y1, i1, x, &d);
        sl__maxpool_forward_ref(y2, i2, x, &d);
        for (size_t i = 0; i < no; i++) {
            ASSERT_TRUE(y1[i] == y2[i]);
            ASSERT_EQ_INT(i1[i], i2[i]);
        }
        free(x), free(y1), free(y2), free(i1), free(i2);
    }
}

TEST(model_threads_give_same_result) {
    /* Kernels split work by channel or plane, so results do not depend on
     * the thread count. */
    sl_shape s = {3, {2, 12, 12}};
    float out1[8 * 5], out2[8 * 5];
    float x[8 * 288];
    sl_rng r;
    sl_rng_seed(&r, 1, 1);
    fill_normal(x, 8 * 288, &r, 1);
    for (int pass = 0; pass < 2; pass++) {
        sl_threads_set(pass ? 2 : 1);
        sl_model *m;
        ASSERT_OK(sl_model_create("conv(4,3,pad=1),bn,relu,maxpool(2),gap,linear(5)", &s, 9, &m));
        const float *y;
        ASSERT_OK(sl_model_forward(m, x, 8, true, &y));
        memcpy(pass ? out2 : out1, y, sizeof out1);
        sl_model_destroy(m);
    }
    for (int i = 0; i < 40; i++) ASSERT_TRUE(out1[i] == out2[i]);
}

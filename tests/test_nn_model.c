/* Tests of models, optimizers, schedules and checkpoints: spec errors that
 * name the token, shape inference and the summary table, PyTorch-default
 * initialisation, chaining two models, optimizer steps against PyTorch's,
 * exact resume from a checkpoint, and bad checkpoints. */
#include "test.h"

static sl_shape shp(const char *s) {
    sl_shape x;
    if (sl_shape_parse(s, &x) != SL_OK) T_FAIL("bad shape %s", s);
    return x;
}

static sl_status mk(const char *spec, const char *shape) {
    sl_model *m = NULL;
    sl_shape s = shp(shape);
    sl_status st = sl_model_create(spec, &s, 1, &m);
    sl_model_destroy(m);
    return st;
}

TEST(spec_errors_point_at_the_token) {
    ASSERT_FAILS(mk("conv(32,3),bn,relu,frob(2)", "1x28x28"), SL_ERR_FORMAT, "token 4 'frob(2)' (column 20): unknown layer");
    ASSERT_FAILS(mk("frob", "4"), SL_ERR_FORMAT,
                 "unknown layer; expected one of linear, conv, bn, ln, relu, gelu, tanh, maxpool, avgpool, upsample, "
                 "gap, flatten, unflatten, dropout, l2norm, embbag, tokemb, patch, cls, pos, block, tokmean, tokfirst, masktok; "
                 "or the preset vit, txt");
    ASSERT_FAILS(mk("conv(32)", "1x28x28"), SL_ERR_FORMAT, "missing required argument 'k'");
    ASSERT_FAILS(mk("conv(32,x)", "1x28x28"), SL_ERR_FORMAT, "argument 'k': expected a number");
    ASSERT_FAILS(mk("conv(32,3,pad=-1)", "1x28x28"), SL_ERR_FORMAT, "argument 'pad' must be an integer");
    ASSERT_FAILS(mk("conv(32,2.5)", "1x28x28"), SL_ERR_FORMAT, "must be an integer");
    ASSERT_FAILS(mk("conv(32,3,foo=1)", "1x28x28"), SL_ERR_FORMAT, "unknown argument 'foo'");
    ASSERT_FAILS(mk("conv(32,3,pad=1,2)", "1x28x28"), SL_ERR_FORMAT, "positional argument after a named one");
    ASSERT_FAILS(mk("relu,,relu", "4"), SL_ERR_FORMAT, "token 2");
    ASSERT_FAILS(mk("relu,", "4"), SL_ERR_FORMAT, "empty layer");
    ASSERT_FAILS(mk("linear(4", "4"), SL_ERR_FORMAT, "token 1 'linear(4' (column 1): expected ',' or ')'");
    ASSERT_FAILS(mk("dropout(1.5)", "4"), SL_ERR_FORMAT, "p must be in [0, 1)");
    ASSERT_FAILS(mk("conv(8,3),gap,conv(8,3)", "1x8x8"), SL_ERR_ARG, "token 3 'conv(8,3)' (column 15): needs an image input");
    ASSERT_FAILS(mk("conv(8,3),linear(10)", "1x8x8"), SL_ERR_ARG, "insert flatten or gap");
    ASSERT_FAILS(mk("conv(8,9)", "1x8x8"), SL_ERR_ARG, "larger than the padded input");
    ASSERT_FAILS(mk("maxpool(2),maxpool(2),maxpool(2),maxpool(2)", "1x8x8"), SL_ERR_ARG, "token 4");
    ASSERT_FAILS(mk("linear(3),embbag(5,2)", "4"), SL_ERR_ARG, "must be the first layer");
    ASSERT_FAILS(mk("linear(3),tokemb(5,2)", "4"), SL_ERR_ARG, "must be the first layer");
    ASSERT_FAILS(mk("tokemb(5,4),cls,pos", "6"), SL_ERR_ARG,
                 "token 2 'cls' (column 13): changes the number of tokens (6 to 7) after 'tokemb(5,4)'");
    ASSERT_FAILS(mk("txt(dim=8)", "6"), SL_ERR_FORMAT, "token 1 'txt(dim=8)' (column 1): missing required argument 'vocab'");
    ASSERT_FAILS(mk("txt(vocab=5,dim=6,heads=4)", "6"), SL_ERR_FORMAT, "heads (4) must divide dim (6)");
    ASSERT_FAILS(mk("block(2,causal=2)", "3x4"), SL_ERR_FORMAT, "argument 'causal' must be an integer in 0..1");
    ASSERT_FAILS(mk("unflatten(2,2,2)", "9"), SL_ERR_ARG, "does not match");
    ASSERT_FAILS(mk("linear(99999999999)", "4"), SL_ERR_FORMAT, "argument 'out'");
    sl_shape s;
    ASSERT_FAILS(sl_shape_parse("1x2x3x4", &s), SL_ERR_FORMAT, "more than 3 dimensions");
    ASSERT_OK(sl_shape_parse("50x96", &s));
    ASSERT_EQ_INT(s.ndim, 2);
    ASSERT_EQ_SIZE(s.dims[0], 50);
    ASSERT_EQ_SIZE(s.dims[1], 96);
    ASSERT_FAILS(sl_shape_parse("1xx2", &s), SL_ERR_FORMAT, "column 3");
    ASSERT_FAILS(sl_shape_parse("0", &s), SL_ERR_FORMAT, "1..16777216");
}

/* A preset's errors name the token as the user wrote it, its position and
 * column, and the layer of the preset where the error is. */
TEST(preset_errors_point_at_the_users_token) {
    ASSERT_FAILS(mk("vit(dim=30,heads=4)", "1x28x28"), SL_ERR_FORMAT,
                 "spec: token 1 'vit(dim=30,heads=4)' (column 1): heads (4) must divide dim (30)");
    ASSERT_FAILS(mk("conv(3,3), vit(patch=40)", "1x28x28"), SL_ERR_ARG,
                 "spec: token 2 'vit(patch=40)' (column 12): layer 'patch(40,96)': patch 40 is larger than the "
                 "input 26x26");
    ASSERT_FAILS(mk("vit", "784"), SL_ERR_ARG, "token 1 'vit' (column 1): layer 'patch(4,96)': needs an image input");
    ASSERT_FAILS(mk("vit(pool=max)", "1x28x28"), SL_ERR_FORMAT, "argument 'pool' must be one of cls/mean, got 'max'");
    ASSERT_FAILS(mk("vit(pool=1)", "1x28x28"), SL_ERR_FORMAT, "must be one of cls/mean, got '1'");
    ASSERT_FAILS(mk("vit(depth=0)", "1x28x28"), SL_ERR_FORMAT, "argument 'depth' must be an integer in 1..64");
    ASSERT_FAILS(mk("vit(frob=1)", "1x28x28"), SL_ERR_FORMAT, "unknown argument 'frob' for vit");
    ASSERT_FAILS(mk("vit,relu,conv(3,3)", "1x8x8"), SL_ERR_ARG, "token 3 'conv(3,3)' (column 10): needs an image");
    ASSERT_FAILS(mk("pool=cls", "4"), SL_ERR_FORMAT, "unknown layer");
}

/* Which kinds take tokens (T x D), and the messages of those that do not. */
TEST(token_shape_rules) {
    ASSERT_OK(mk("linear(5),ln,gelu,relu,tanh,dropout,pos,cls,block(1),tokmean", "3x4"));
    ASSERT_FAILS(mk("patch(4,8),bn", "1x8x8"), SL_ERR_ARG, "token 2 'bn' (column 12): needs an image or flat input");
    ASSERT_FAILS(mk("patch(4,8),l2norm", "1x8x8"), SL_ERR_ARG, "got 4x8 tokens; insert tokfirst or tokmean");
    ASSERT_FAILS(mk("patch(4,8),gap", "1x8x8"), SL_ERR_ARG, "needs an image input (CxHxW), got 4x8 tokens");
    ASSERT_FAILS(mk("patch(4,8),unflatten(1,4,8)", "1x8x8"), SL_ERR_ARG, "needs a flat input");
    ASSERT_FAILS(mk("cls", "1x8x8"), SL_ERR_ARG, "needs a token input (TxD), got 1x8x8; insert patch(p,dim)");
    ASSERT_FAILS(mk("tokmean", "8"), SL_ERR_ARG, "needs a token input (TxD), got 8");
    ASSERT_FAILS(mk("ln", "1x8x8"), SL_ERR_ARG, "needs a flat input, got 1x8x8; insert flatten or gap");
    ASSERT_FAILS(mk("block(3)", "5x8"), SL_ERR_ARG, "3 heads do not divide the token width 8");
    ASSERT_FAILS(mk("patch(9,8)", "1x8x8"), SL_ERR_ARG, "patch 9 is larger than the input 8x8");
    sl_model *m;
    sl_shape in = shp("3x4");
    ASSERT_OK(sl_model_create("linear(5),flatten", &in, 1, &m));
    sl_shape o = sl_model_output_shape(m);
    ASSERT_EQ_INT(o.ndim, 1);
    ASSERT_EQ_SIZE(o.dims[0], 15);
    sl_model_destroy(m);
}

/* The vit preset: its layers, shapes, parameter count, the tensor names of
 * a block (PyTorch's, nested), initial values of cls and pos, and the
 * normalised spec, which rebuilds the same model. */
TEST(vit_preset_layers_and_tensors) {
    sl_shape in = shp("1x28x28");
    sl_model *m;
    ASSERT_OK(sl_model_create("vit(patch=4, dim=96, depth=6, heads=4)", &in, 1, &m));
    ASSERT_STREQ(sl_model_spec(m), "vit(patch=4,dim=96,depth=6,heads=4,mlp=4,pool=cls)");
    ASSERT_EQ_SIZE(sl_model_layer_count(m), 11);
    /* patch 96*16+96, cls 96, pos 50*96, block 2*192 + 3*96*96+288 + 96*96+96 + 384*96+384 + 96*384+96, ln 192 */
    size_t block = 2 * 192 + (3 * 96 * 96 + 288) + (96 * 96 + 96) + (384 * 96 + 384) + (96 * 384 + 96);
    ASSERT_EQ_SIZE(block, 111840);
    ASSERT_EQ_SIZE(sl_model_param_count(m), 1632 + 96 + 4800 + 6 * block + 192);
    char buf[4096];
    sl_model_summary(m, buf, sizeof buf);
    ASSERT_CONTAINS(buf, "patch(4,96)                  49x96");
    ASSERT_CONTAINS(buf, "block(4,4)                   50x96              111840");
    ASSERT_CONTAINS(buf, "tokfirst                     96");
    static const char *const names[] = {"3.norm1.weight", "3.norm1.bias", "3.attn.in_proj_weight",
                                        "3.attn.in_proj_bias", "3.attn.out_proj.weight", "3.attn.out_proj.bias",
                                        "3.norm2.weight", "3.norm2.bias", "3.mlp.0.weight", "3.mlp.0.bias",
                                        "3.mlp.2.weight", "3.mlp.2.bias"};
    sl_param_info p;
    ASSERT_TRUE(sl_model_tensor(m, 1, &p));
    ASSERT_STREQ(p.name, "0.bias");
    ASSERT_TRUE(sl_model_tensor(m, 2, &p));
    ASSERT_STREQ(p.name, "1.cls_token");
    ASSERT_EQ_INT(p.ndim, 3);
    ASSERT_TRUE(p.shape[0] == 1 && p.shape[1] == 1 && p.shape[2] == 96 && !p.decay);
    double ss = 0, mx = 0;
    for (size_t i = 0; i < p.count; i++) ss += (double)p.data[i] * p.data[i], mx = fmax(mx, fabs(p.data[i]));
    ASSERT_TRUE(mx <= 0.04 && ss > 0);
    ASSERT_TRUE(sl_model_tensor(m, 3, &p));
    ASSERT_STREQ(p.name, "2.pos_embed");
    ASSERT_TRUE(p.shape[0] == 1 && p.shape[1] == 50 && p.shape[2] == 96);
    ss = 0, mx = 0;
    for (size_t i = 0; i < p.count; i++) ss += (double)p.data[i] * p.data[i], mx = fmax(mx, fabs(p.data[i]));
    /* Normal(0, 0.02) cut at 2 sd has sd 0.02 * 0.880. */
    ASSERT_TRUE(mx <= 0.04 && fabs(sqrt(ss / (double)p.count) - 0.0176) < 0.001);
    for (size_t j = 0; j < 12; j++) {
        ASSERT_TRUE(sl_model_tensor(m, 4 + j, &p));
        ASSERT_STREQ(p.name, names[j]);
    }
    ASSERT_TRUE(sl_model_tensor(m, 6, &p)); /* in_proj_weight: Xavier-uniform, bound sqrt(6 / (96 + 288)) */
    ASSERT_TRUE(p.shape[0] == 288 && p.shape[1] == 96 && p.decay);
    mx = 0;
    for (size_t i = 0; i < p.count; i++) mx = fmax(mx, fabs(p.data[i]));
    ASSERT_TRUE(mx <= sqrt(6.0 / 384.0) && mx > 0.95 * sqrt(6.0 / 384.0));
    ASSERT_TRUE(sl_model_tensor(m, 7, &p)); /* in_proj_bias: 0 */
    ASSERT_TRUE(p.data[0] == 0 && p.data[287] == 0 && !p.decay);
    sl_shape o = sl_model_output_shape(m);
    ASSERT_TRUE(o.ndim == 1 && o.dims[0] == 96);
    sl_model *m2;
    ASSERT_OK(sl_model_create(sl_model_spec(m), &in, 1, &m2));
    ASSERT_EQ_SIZE(sl_model_param_count(m2), sl_model_param_count(m));
    ASSERT_TRUE(memcmp(sl_model_params(m), sl_model_params(m2), sl_model_param_count(m) * sizeof(float)) == 0);
    sl_model_destroy(m2);
    sl_model_destroy(m);
    ASSERT_OK(sl_model_create("vit(patch=7,dim=8,depth=2,heads=2,mlp=3,pool=mean),linear(3)", &in, 1, &m));
    ASSERT_STREQ(sl_model_spec(m), "vit(patch=7,dim=8,depth=2,heads=2,mlp=3,pool=mean),linear(3)");
    sl_model_summary(m, buf, sizeof buf);
    ASSERT_CONTAINS(buf, "patch(7,8)                   16x8");
    ASSERT_CONTAINS(buf, "tokmean");
    ASSERT_TRUE(strstr(buf, "cls") == NULL);
    ASSERT_TRUE(sl_model_tensor(m, 11, &p)); /* patch 2, pos 1, then the block's */
    ASSERT_STREQ(p.name, "2.mlp.0.weight");
    ASSERT_TRUE(p.shape[0] == 24 && p.shape[1] == 8);
    sl_model_destroy(m);
}

/* A ViT checkpoint rebuilds the model from its spec (the preset) and gives
 * the same outputs bit for bit. */
TEST(vit_checkpoint_round_trip) {
    sl_shape in = shp("3x12x12");
    sl_model *m, *m2;
    ASSERT_OK(sl_model_create("vit(patch=3,dim=8,depth=2,heads=2,pool=mean),linear(4)", &in, 3, &m));
    float x[2 * 432];
    sl_rng r;
    sl_rng_seed(&r, 1, 2);
    for (size_t i = 0; i < 2 * 432; i++) x[i] = (float)sl_rng_normal(&r);
    const float *y;
    float y1[8];
    ASSERT_OK(sl_model_forward(m, x, 2, false, &y));
    memcpy(y1, y, sizeof y1);
    ASSERT_OK(sl_model_save(m, NULL, t_path("vit.safetensors"), NULL));
    ASSERT_OK(sl_model_load(t_path("vit.safetensors"), &m2));
    ASSERT_STREQ(sl_model_spec(m2), "vit(patch=3,dim=8,depth=2,heads=2,mlp=4,pool=mean),linear(4)");
    ASSERT_EQ_SIZE(sl_model_layer_count(m2), 7); /* patch, pos, 2 blocks, ln, tokmean, linear */
    ASSERT_OK(sl_model_forward(m2, x, 2, false, &y));
    ASSERT_TRUE(memcmp(y, y1, sizeof y1) == 0);
    sl_model_destroy(m2);
    sl_model_destroy(m);
}

/* Memory: a block's cache and scratch are counted (the estimate grows with
 * the batch and with T^2), and sizes that overflow are refused, not
 * wrapped. */
TEST(vit_memory_plan) {
    sl_shape in = shp("3x32x32");
    sl_model *m;
    ASSERT_OK(sl_model_create("vit(patch=4,dim=32,depth=2,heads=2)", &in, 1, &m));
    size_t a = sl_model_memory(m, 64), b = sl_model_memory(m, 128);
    /* 65 tokens of 32, batch 64: a block caches at least 2 heads x 65^2
     * probabilities and 2 x 128-wide MLP activations per token. */
    ASSERT_TRUE(a > 2 * 64 * (2 * 65 * 65 + 65 * 256) * sizeof(float));
    ASSERT_TRUE(b > a + a / 2);
    ASSERT_EQ_SIZE(sl_model_memory(m, SIZE_MAX / 64), SIZE_MAX);
    const float *y;
    float *x = calloc(2 * 3 * 32 * 32, sizeof(float));
    ASSERT_OK(sl_model_forward(m, x, 2, true, &y));
    ASSERT_FAILS(sl_model_forward(m, x, SIZE_MAX / 64, true, &y), SL_ERR_NOMEM, "too large");
    free(x);
    sl_model_destroy(m);
}

TEST(shapes_params_and_summary) {
    sl_shape in = shp("1x28x28");
    sl_model *m;
    ASSERT_OK(sl_model_create("conv(32,3,pad=1),bn,relu,maxpool(2),conv(64,3,pad=1),bn,relu,maxpool(2),"
                              "conv(128,3,pad=1),bn,relu,gap,linear(128)",
                              &in, 1, &m));
    sl_shape o = sl_model_output_shape(m);
    ASSERT_EQ_INT(o.ndim, 1);
    ASSERT_EQ_SIZE(o.dims[0], 128);
    /* conv 32*9+32, bn 64, conv 64*32*9+64, bn 128, conv 128*64*9+128, bn 256, linear 128*128+128 */
    size_t want = 320 + 64 + 18496 + 128 + 73856 + 256 + 16512;
    ASSERT_EQ_SIZE(sl_model_param_count(m), want);
    char buf[4096];
    size_t len = sl_model_summary(m, buf, sizeof buf);
    ASSERT_TRUE(len < sizeof buf);
    ASSERT_CONTAINS(buf, "conv(32,3,pad=1)");
    ASSERT_CONTAINS(buf, "32x28x28");
    ASSERT_CONTAINS(buf, "64x7x7");
    ASSERT_CONTAINS(buf, "11-12");
    ASSERT_CONTAINS(buf, "parameters: 109632");
    /* Truncation still NUL-terminates and reports the full length. */
    char small[16];
    ASSERT_EQ_SIZE(sl_model_summary(m, small, sizeof small), len);
    ASSERT_EQ_SIZE(strlen(small), 15);
    /* Names follow torch.nn.Sequential: gap is two modules. */
    sl_param_info p;
    size_t nt = sl_model_tensor_count(m);
    ASSERT_TRUE(sl_model_tensor(m, nt - 1, &p));
    ASSERT_STREQ(p.name, "13.bias");
    ASSERT_TRUE(sl_model_tensor(m, 0, &p));
    ASSERT_STREQ(p.name, "0.weight");
    ASSERT_EQ_INT(p.ndim, 4);
    ASSERT_EQ_SIZE(p.shape[1], 1);
    ASSERT_TRUE(p.decay);
    ASSERT_TRUE(sl_model_tensor(m, 3, &p));
    ASSERT_STREQ(p.name, "1.bias");
    ASSERT_EQ_INT(p.role, SL_TENSOR_NORM);
    ASSERT_TRUE(!p.decay);
    ASSERT_TRUE(sl_model_tensor(m, 4, &p));
    ASSERT_STREQ(p.name, "1.running_mean");
    ASSERT_TRUE(p.grad == NULL);
    ASSERT_TRUE(!sl_model_tensor(m, nt, &p));
    size_t mem = sl_model_memory(m, 256);
    ASSERT_TRUE(mem > 256 * 32 * 784 * 4 && mem < (size_t)1 << 31);
    ASSERT_TRUE(sl_model_memory(m, 512) > mem);
    sl_model_destroy(m);
}

TEST(init_is_deterministic_and_pytorch_scaled) {
    sl_shape in = shp("100");
    sl_model *a, *b, *c;
    ASSERT_OK(sl_model_create("linear(200),bn,linear(10)", &in, 5, &a));
    ASSERT_OK(sl_model_create("linear(200),bn,linear(10)", &in, 5, &b));
    ASSERT_OK(sl_model_create("linear(200),bn,linear(10)", &in, 6, &c));
    size_t np = sl_model_param_count(a);
    ASSERT_TRUE(memcmp(sl_model_params(a), sl_model_params(b), np * sizeof(float)) == 0);
    ASSERT_TRUE(memcmp(sl_model_params(a), sl_model_params(c), np * sizeof(float)) != 0);
    /* Weights U(-1/sqrt(100), 1/sqrt(100)): max near 0.1, variance 0.01/3. */
    const float *w = sl_model_params(a);
    double mx = 0, ss = 0;
    for (size_t i = 0; i < 20000; i++) {
        mx = fabs(w[i]) > mx ? fabs(w[i]) : mx;
        ss += (double)w[i] * w[i];
    }
    ASSERT_TRUE(mx <= 0.1 && mx > 0.099);
    ASSERT_NEAR(ss / 20000, 0.01 / 3, 0.0003);
    sl_param_info p;
    ASSERT_TRUE(sl_model_tensor(a, 2, &p));
    ASSERT_STREQ(p.name, "1.weight");
    ASSERT_TRUE(p.data[0] == 1.0f && p.data[199] == 1.0f);
    ASSERT_TRUE(sl_model_tensor(a, 5, &p));
    ASSERT_STREQ(p.name, "1.running_var");
    ASSERT_TRUE(p.data[0] == 1.0f);
    sl_model_destroy(a), sl_model_destroy(b), sl_model_destroy(c);
}

TEST(forward_errors_and_state) {
    sl_shape in = shp("3");
    sl_model *m;
    ASSERT_OK(sl_model_create("linear(2),bn", &in, 1, &m));
    float x[6] = {1, 2, 3, 4, 5, 6}, dy[4] = {1, 1, 1, 1};
    const float *y;
    ASSERT_FAILS(sl_model_forward(m, x, 0, true, &y), SL_ERR_ARG, "empty batch");
    ASSERT_FAILS(sl_model_forward(m, x, 1, true, &y), SL_ERR_ARG, "more than one value per channel");
    ASSERT_FAILS(sl_model_backward(m, dy, NULL), SL_ERR_STATE, "no train-mode forward");
    ASSERT_OK(sl_model_forward(m, x, 1, false, &y)); /* eval with one example is fine */
    ASSERT_FAILS(sl_model_backward(m, dy, NULL), SL_ERR_STATE, "no train-mode forward");
    ASSERT_OK(sl_model_forward(m, x, 2, true, &y));
    ASSERT_OK(sl_model_backward(m, dy, NULL));
    sl_model_destroy(m);
    ASSERT_OK(sl_model_create("embbag(4,2)", &(sl_shape){1, {2, 0, 0}}, 1, &m));
    float ids[2] = {1, 4};
    ASSERT_FAILS(sl_model_forward(m, ids, 1, true, &y), SL_ERR_RANGE, "token id 4 outside 0..3");
    ids[1] = 1.5f;
    ASSERT_FAILS(sl_model_forward(m, ids, 1, true, &y), SL_ERR_RANGE, "position 1");
    sl_model_destroy(m);
    ASSERT_OK(sl_model_create("tokemb(4,2)", &(sl_shape){1, {2, 0, 0}}, 1, &m));
    float tids[4] = {1, -1, 0, 4};
    ASSERT_FAILS(sl_model_forward(m, tids, 2, true, &y), SL_ERR_RANGE, "example 1 position 1: token id 4 outside 0..3");
    sl_model_destroy(m);
}

/* Forward output and gradients of a text transformer on padded ids (n = 3,
 * T = 6) into y (n x 4) and g (all parameters). */
static void text_pass(sl_model *m, const float *ids, float *y, float *g) {
    const float *out;
    ASSERT_OK(sl_model_forward(m, ids, 3, true, &out));
    memcpy(y, out, 3 * 4 * sizeof(float));
    float dy[12];
    for (int i = 0; i < 12; i++) dy[i] = (float)(i % 5) - 2.0f;
    sl_model_zero_grad(m);
    ASSERT_OK(sl_model_backward(m, dy, NULL));
    memcpy(g, sl_model_grads(m), sl_model_param_count(m) * sizeof(float));
}

/* The pad mask of the ids keeps padded positions out of the blocks'
 * attention and of the mean: changing the position embedding of a position
 * that is padding in an example leaves that example's output and gradients
 * bit-identical, while an example where the position holds a word sees the
 * change. */
TEST(padded_positions_do_not_reach_the_output) {
    sl_model *m;
    ASSERT_OK(sl_model_create("tokemb(12,8),pos,block(2),block(2,1,causal=1),ln,tokmean,linear(4)",
                              &(sl_shape){1, {6, 0, 0}}, 5, &m));
    const float ids[18] = {3, 7, 1, -1, -1, -1, 2, -1, 11, -1, -1, -1, 4, 4, 0, 9, -1, -1};
    const size_t np = sl_model_param_count(m);
    float y1[12], y2[12], *g1 = malloc(np * sizeof(float)), *g2 = malloc(np * sizeof(float));
    text_pass(m, ids, y1, g1);
    sl_param_info pe;
    ASSERT_TRUE(sl_model_tensor(m, 1, &pe));
    ASSERT_STREQ(pe.name, "1.pos_embed");
    for (size_t j = 0; j < 8; j++) pe.data[3 * 8 + j] += 0.1f * (float)(j * j + 1); /* position 3: padding in examples 0 and 1 */
    text_pass(m, ids, y2, g2);
    ASSERT_TRUE(memcmp(y1, y2, 8 * sizeof(float)) == 0);
    ASSERT_TRUE(memcmp(y1 + 8, y2 + 8, 4 * sizeof(float)) != 0);
    /* With example 2 all padding, position 3 is padding everywhere: the
     * outputs and every parameter gradient keep their bits. */
    sl_model_destroy(m);
    ASSERT_OK(sl_model_create("tokemb(12,8),pos,block(2),block(2,1,causal=1),ln,tokmean,linear(4)",
                              &(sl_shape){1, {6, 0, 0}}, 5, &m));
    float ids2[18];
    memcpy(ids2, ids, sizeof ids2);
    for (int j = 12; j < 18; j++) ids2[j] = -1; /* example 2: no word at all */
    text_pass(m, ids2, y1, g1);
    ASSERT_TRUE(sl_model_tensor(m, 1, &pe));
    for (size_t j = 0; j < 8; j++) pe.data[3 * 8 + j] += 0.1f * (float)(j * j + 1);
    text_pass(m, ids2, y2, g2);
    ASSERT_TRUE(memcmp(y1, y2, sizeof y1) == 0);
    ASSERT_TRUE(memcmp(g1, g2, np * sizeof(float)) == 0);
    free(g1), free(g2);
    sl_model_destroy(m);
}

TEST(two_models_chain_like_one) {
    /* encoder + projector chained through d(input) gives the same
     * gradients as the single model with the same weights. */
    sl_shape in = shp("2x6x6"), mid = shp("3");
    sl_model *e, *p, *all;
    ASSERT_OK(sl_model_create("conv(3,3,pad=1),bn,relu,gap", &in, 1, &e));
    ASSERT_OK(sl_model_create("linear(4),relu,linear(2)", &mid, 2, &p));
    ASSERT_OK(sl_model_create("conv(3,3,pad=1),bn,relu,gap,linear(4),relu,linear(2)", &in, 3, &all));
    size_t ne = sl_model_param_count(e), np = sl_model_param_count(p);
    ASSERT_EQ_SIZE(ne + np, sl_model_param_count(all));
    memcpy(sl_model_params(all), sl_model_params(e), ne * sizeof(float));
    memcpy(sl_model_params(all) + ne, sl_model_params(p), np * sizeof(float));
    float x[5 * 72], dy[5 * 2], dmid[5 * 3];
    sl_rng r;
    sl_rng_seed(&r, 1, 2);
    for (int i = 0; i < 5 * 72; i++) x[i] = (float)sl_rng_normal(&r);
    for (int i = 0; i < 10; i++) dy[i] = (float)sl_rng_normal(&r);
    const float *h, *z, *z2;
    ASSERT_OK(sl_model_forward(e, x, 5, true, &h));
    ASSERT_OK(sl_model_forward(p, h, 5, true, &z));
    ASSERT_OK(sl_model_forward(all, x, 5, true, &z2));
    for (int i = 0; i < 10; i++) ASSERT_NEAR(z[i], z2[i], 1e-6);
    sl_model_zero_grad(e), sl_model_zero_grad(p), sl_model_zero_grad(all);
    ASSERT_OK(sl_model_backward(p, dy, dmid));
    ASSERT_OK(sl_model_backward(e, dmid, NULL));
    ASSERT_OK(sl_model_backward(all, dy, NULL));
    for (size_t i = 0; i < ne; i++) ASSERT_NEAR(sl_model_grads(e)[i], sl_model_grads(all)[i], 1e-5);
    for (size_t i = 0; i < np; i++) ASSERT_NEAR(sl_model_grads(p)[i], sl_model_grads(all)[ne + i], 1e-5);
    sl_model *both[2] = {e, p};
    double nrm;
    double want = sqrt(sl_model_grad_sqnorm(all));
    sl_model_clip_grad_norm(both, 2, want / 2, &nrm);
    ASSERT_NEAR(nrm, want, 1e-4 * want);
    ASSERT_NEAR(sqrt(sl_model_grad_sqnorm(e) + sl_model_grad_sqnorm(p)), want / 2, 1e-4 * want);
    sl_model_destroy(e), sl_model_destroy(p), sl_model_destroy(all);
}

TEST(optimizers_match_pytorch) {
    sl_tensors *t;
    ASSERT_OK(sl_safetensors_read("tests/fixtures/nn_optim.safetensors", &t));
    struct {
        const char *name;
        sl_optim_kind kind;
        float lr, momentum, wd;
        bool nesterov;
    } cases[] = {{"sgd", SL_OPT_SGD, 0.1f, 0, 0, false},
                 {"sgd_momentum", SL_OPT_SGD, 0.1f, 0.9f, 0.01f, false},
                 {"sgd_nesterov", SL_OPT_SGD, 0.1f, 0.9f, 0.01f, true},
                 {"adam", SL_OPT_ADAM, 0.01f, 0, 0.05f, false},
                 {"adamw", SL_OPT_ADAMW, 0.01f, 0, 0.05f, false}};
    sl_shape in = shp("4");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sl_model *m;
        ASSERT_OK(sl_model_create("linear(3)", &in, 1, &m));
        float *p = sl_model_params(m), *g = sl_model_grads(m);
        memcpy(p, sl_tensors_get(t, "w0")->data, 12 * 4);
        memcpy(p + 12, sl_tensors_get(t, "b0")->data, 3 * 4);
        sl_optim_config cfg;
        sl_optim_config_default(&cfg, cases[c].kind);
        cfg.momentum = cases[c].momentum;
        cfg.weight_decay = cases[c].wd;
        cfg.nesterov = cases[c].nesterov;
        sl_optim *o;
        ASSERT_OK(sl_optim_create(m, &cfg, &o));
        for (int k = 0; k < 3; k++) {
            char a[16], b[16];
            snprintf(a, sizeof a, "gw%d", k), snprintf(b, sizeof b, "gb%d", k);
            memcpy(g, sl_tensors_get(t, a)->data, 12 * 4);
            memcpy(g + 12, sl_tensors_get(t, b)->data, 3 * 4);
            ASSERT_OK(sl_optim_step(o, cases[c].lr));
        }
        ASSERT_EQ_INT(sl_optim_steps(o), 3);
        char kw[32], kb[32];
        snprintf(kw, sizeof kw, "%s.w", cases[c].name), snprintf(kb, sizeof kb, "%s.b", cases[c].name);
        const float *ww = sl_tensors_get(t, kw)->data, *wb = sl_tensors_get(t, kb)->data;
        for (int i = 0; i < 12; i++) ASSERT_CLOSE(p[i], ww[i], 1e-5, 1e-6);
        for (int i = 0; i < 3; i++) ASSERT_CLOSE(p[12 + i], wb[i], 1e-5, 1e-6);
        sl_optim_destroy(o);
        sl_model_destroy(m);
    }
    sl_tensors_destroy(t);
}

TEST(lars_uses_layerwise_trust_ratio) {
    sl_shape in = shp("4");
    sl_model *m;
    ASSERT_OK(sl_model_create("linear(3)", &in, 1, &m));
    float *p = sl_model_params(m), *g = sl_model_grads(m);
    float w0[15];
    memcpy(w0, p, sizeof w0);
    for (int i = 0; i < 15; i++) g[i] = (float)(i + 1) * 0.1f;
    sl_optim_config c;
    sl_optim_config_default(&c, SL_OPT_LARS);
    c.weight_decay = 0;
    sl_optim *o;
    ASSERT_OK(sl_optim_create(m, &c, &o));
    ASSERT_OK(sl_optim_step(o, 1.0f));
    double wn = 0, gn = 0;
    for (int i = 0; i < 12; i++) wn += (double)w0[i] * w0[i], gn += (double)g[i] * g[i];
    double trust = 0.001 * sqrt(wn) / sqrt(gn);
    for (int i = 0; i < 12; i++) ASSERT_NEAR(p[i], w0[i] - trust * g[i], 1e-6);
    /* The bias is not adapted: plain momentum SGD with lr 1. */
    for (int i = 12; i < 15; i++) ASSERT_NEAR(p[i], w0[i] - g[i], 1e-6);
    g[0] = NAN;
    ASSERT_FAILS(sl_optim_step(o, 1.0f), SL_ERR_NUMERIC, "gradient of '0.weight' element 0");
    sl_optim_destroy(o);
    sl_model_destroy(m);
    sl_optim_config bad;
    sl_optim_config_default(&bad, SL_OPT_ADAM);
    bad.beta2 = 1.5f;
    ASSERT_OK(sl_model_create("linear(3)", &in, 1, &m));
    ASSERT_FAILS(sl_optim_create(m, &bad, &o), SL_ERR_ARG, "betas");
    sl_model_destroy(m);
    sl_optim_kind k;
    ASSERT_OK(sl_optim_kind_parse("adamw", &k));
    ASSERT_EQ_INT(k, SL_OPT_ADAMW);
    ASSERT_FAILS(sl_optim_kind_parse("adagrad", &k), SL_ERR_ARG, "expected sgd, adam, adamw or lars");
}

TEST(schedules) {
    sl_schedule s;
    ASSERT_OK(sl_schedule_parse("cosine", &s));
    s.lr = 1.0;
    s.warmup = 10;
    s.total = 110;
    s.min_lr = 0.0;
    ASSERT_NEAR(sl_schedule_lr(&s, 0), 0.1, 1e-12);
    ASSERT_NEAR(sl_schedule_lr(&s, 9), 1.0, 1e-12);
    ASSERT_NEAR(sl_schedule_lr(&s, 10), 1.0, 1e-12);
    ASSERT_NEAR(sl_schedule_lr(&s, 60), 0.5, 1e-12);
    ASSERT_NEAR(sl_schedule_lr(&s, 110), 0.0, 1e-12);
    ASSERT_NEAR(sl_schedule_lr(&s, 500), 0.0, 1e-12);
    ASSERT_OK(sl_schedule_parse("step:30:0.5", &s));
    s.lr = 2.0;
    ASSERT_NEAR(sl_schedule_lr(&s, 29), 2.0, 1e-12);
    ASSERT_NEAR(sl_schedule_lr(&s, 30), 1.0, 1e-12);
    ASSERT_NEAR(sl_schedule_lr(&s, 65), 0.5, 1e-12);
    ASSERT_OK(sl_schedule_parse("constant", &s));
    s.lr = 0.3;
    ASSERT_NEAR(sl_schedule_lr(&s, 1000), 0.3, 1e-12);
    ASSERT_FAILS(sl_schedule_parse("step:0:0.5", &s), SL_ERR_ARG, "SIZE > 0");
    ASSERT_FAILS(sl_schedule_parse("step:10:2", &s), SL_ERR_ARG, "GAMMA");
    ASSERT_FAILS(sl_schedule_parse("linear", &s), SL_ERR_ARG, "expected constant, cosine");
}

/* Train a few steps; returns the model's parameters after `steps` more. */
static void train_steps(sl_model *m, sl_optim *o, int steps, uint64_t data_seed) {
    sl_shape is = sl_model_input_shape(m);
    size_t n = 6, nin = n * sl_shape_count(&is), nout = n * 3;
    float *x = malloc(nin * 4), *dy = malloc(nout * 4);
    for (int s = 0; s < steps; s++) {
        sl_rng r;
        sl_rng_seed(&r, data_seed, (uint64_t)s);
        for (size_t i = 0; i < nin; i++) x[i] = (float)sl_rng_normal(&r);
        for (size_t i = 0; i < nout; i++) dy[i] = (float)sl_rng_normal(&r);
        const float *y;
        ASSERT_OK(sl_model_forward(m, x, n, true, &y));
        sl_model_zero_grad(m);
        ASSERT_OK(sl_model_backward(m, dy, NULL));
        ASSERT_OK(sl_optim_step(o, 0.01f));
    }
    free(x), free(dy);
}

TEST(checkpoint_resume_is_exact) {
    const char *spec = "conv(3,3,pad=1),bn,relu,dropout(0.2),gap,linear(3)";
    sl_shape in = shp("2x5x5");
    sl_model *a;
    ASSERT_OK(sl_model_create(spec, &in, 8, &a));
    sl_optim_config c;
    sl_optim_config_default(&c, SL_OPT_ADAMW);
    sl_optim *oa;
    ASSERT_OK(sl_optim_create(a, &c, &oa));
    train_steps(a, oa, 3, 1);
    const char *meta[] = {"epoch", "2", NULL};
    ASSERT_OK(sl_model_save(a, oa, t_path("ck.safetensors"), meta));
    train_steps(a, oa, 3, 2);

    sl_tensors *t;
    ASSERT_OK(sl_safetensors_read(t_path("ck.safetensors"), &t));
    ASSERT_STREQ(sl_tensors_get_meta(t, "epoch"), "2");
    ASSERT_STREQ(sl_tensors_get_meta(t, "spec"), spec);
    ASSERT_STREQ(sl_tensors_get_meta(t, "input"), "2x5x5");
    ASSERT_STREQ(sl_tensors_get_meta(t, "optim.step"), "3");
    const sl_array *nbt = sl_tensors_get(t, "1.num_batches_tracked");
    ASSERT_TRUE(nbt && nbt->dtype == SL_I64 && ((int64_t *)nbt->data)[0] == 3);
    sl_model *b;
    ASSERT_OK(sl_model_import(t, "", 99, &b));
    sl_optim *ob;
    ASSERT_OK(sl_optim_create(b, &c, &ob));
    ASSERT_OK(sl_optim_import(ob, t, ""));
    ASSERT_EQ_INT(sl_optim_steps(ob), 3);
    train_steps(b, ob, 3, 2);
    ASSERT_TRUE(memcmp(sl_model_params(a), sl_model_params(b), sl_model_param_count(a) * 4) == 0);
    sl_param_info pa, pb;
    ASSERT_TRUE(sl_model_tensor(a, 4, &pa) && sl_model_tensor(b, 4, &pb));
    ASSERT_STREQ(pa.name, "1.running_mean");
    ASSERT_TRUE(memcmp(pa.data, pb.data, pa.count * 4) == 0);
    /* The wrong optimizer kind is refused. */
    sl_optim_config sgd;
    sl_optim_config_default(&sgd, SL_OPT_SGD);
    sl_optim *os;
    ASSERT_OK(sl_optim_create(b, &sgd, &os));
    ASSERT_FAILS(sl_optim_import(os, t, ""), SL_ERR_ARG, "optimizer is adamw");
    sl_optim_destroy(os);
    sl_tensors_destroy(t);
    sl_model *c2;
    ASSERT_OK(sl_model_load(t_path("ck.safetensors"), &c2));
    ASSERT_STREQ(sl_model_spec(c2), spec);
    sl_model_destroy(c2);
    sl_optim_destroy(oa), sl_optim_destroy(ob);
    sl_model_destroy(a), sl_model_destroy(b);
}

TEST(two_models_share_a_checkpoint_by_prefix) {
    sl_shape in = shp("4"), mid = shp("5");
    sl_model *e, *p;
    ASSERT_OK(sl_model_create("linear(5),relu", &in, 1, &e));
    ASSERT_OK(sl_model_create("linear(2)", &mid, 2, &p));
    sl_tensors *t;
    ASSERT_OK(sl_tensors_create(&t));
    ASSERT_OK(sl_model_export(e, NULL, "encoder.", t));
    ASSERT_OK(sl_model_export(p, NULL, "projector.", t));
    ASSERT_TRUE(sl_tensors_get(t, "encoder.0.weight") != NULL);
    ASSERT_TRUE(sl_tensors_get(t, "projector.0.bias") != NULL);
    sl_model *p2;
    ASSERT_OK(sl_model_import(t, "projector.", 0, &p2));
    ASSERT_TRUE(memcmp(sl_model_params(p), sl_model_params(p2), sl_model_param_count(p) * 4) == 0);
    ASSERT_FAILS(sl_model_import(t, "decoder.", 0, &p2), SL_ERR_NOTFOUND, "decoder.spec");
    sl_model_destroy(p2);
    sl_tensors_destroy(t);
    sl_model_destroy(e), sl_model_destroy(p);
}

TEST(bad_checkpoints_are_refused_clearly) {
    sl_shape in = shp("4");
    sl_model *m;
    ASSERT_OK(sl_model_create("linear(3),bn", &in, 1, &m));
    sl_tensors *t;
    float w[12] = {0}, b3[3] = {0}, w2[8] = {0};
    size_t s12[2] = {3, 4}, s3[1] = {3}, s8[2] = {2, 4};
    ASSERT_OK(sl_tensors_create(&t));
    ASSERT_FAILS(sl_model_load_tensors(m, t, ""), SL_ERR_NOTFOUND, "tensor '0.weight' is missing");
    ASSERT_OK(sl_tensors_add(t, "0.weight", SL_F32, 2, s8, w2));
    ASSERT_FAILS(sl_model_load_tensors(m, t, ""), SL_ERR_FORMAT, "has shape [2,4], the model needs [3,4]");
    w[5] = NAN;
    ASSERT_OK(sl_tensors_add(t, "0.weight", SL_F32, 2, s12, w));
    ASSERT_FAILS(sl_model_load_tensors(m, t, ""), SL_ERR_FORMAT, "'0.weight' element 5 is not finite");
    w[5] = 0;
    ASSERT_OK(sl_tensors_add(t, "0.weight", SL_F32, 2, s12, w));
    int32_t ib[3] = {0};
    ASSERT_OK(sl_tensors_add(t, "0.bias", SL_I32, 1, s3, ib));
    ASSERT_FAILS(sl_model_load_tensors(m, t, ""), SL_ERR_FORMAT, "'0.bias' is int32, expected float32");
    ASSERT_OK(sl_tensors_add(t, "0.bias", SL_F32, 1, s3, b3));
    ASSERT_FAILS(sl_model_load_tensors(m, t, ""), SL_ERR_NOTFOUND, "'1.weight' is missing");
    ASSERT_FAILS(sl_model_import(t, "", 0, &m), SL_ERR_NOTFOUND, "'spec'");
    ASSERT_OK(sl_tensors_set_meta(t, "spec", "linear(3),bn"));
    ASSERT_OK(sl_tensors_set_meta(t, "input", "4x"));
    sl_model *m2;
    ASSERT_FAILS(sl_model_import(t, "", 0, &m2), SL_ERR_FORMAT, "checkpoint: shape '4x'");
    ASSERT_OK(sl_tensors_set_meta(t, "input", "4"));
    ASSERT_OK(sl_tensors_set_meta(t, "spec", "linear(3),bogus"));
    ASSERT_FAILS(sl_model_import(t, "", 0, &m2), SL_ERR_FORMAT, "checkpoint: spec: token 2 'bogus'");
    t_write_file(t_path("junk.safetensors"), "not a checkpoint", 16);
    ASSERT_FAILS(sl_model_load(t_path("junk.safetensors"), &m2), SL_ERR_FORMAT, "junk.safetensors: byte 0: header length");
    sl_tensors_destroy(t);
    sl_model_destroy(m);
}

/* An allocator that fails past a byte limit or after a number of calls. */
static size_t oom_limit = (size_t)1 << 30;
static long oom_calls_left = -1;
static void *oom_malloc(size_t n, void *ctx) {
    (void)ctx;
    if (n > oom_limit || oom_calls_left == 0) return NULL;
    if (oom_calls_left > 0) oom_calls_left--;
    return malloc(n);
}
static void *oom_realloc(void *p, size_t n, void *ctx) {
    (void)ctx;
    if (n > oom_limit || oom_calls_left == 0) return NULL;
    if (oom_calls_left > 0) oom_calls_left--;
    return realloc(p, n);
}
static void oom_free(void *p, void *ctx) {
    (void)ctx;
    free(p);
}

TEST(out_of_memory_is_reported) {
    sl_allocator a = {oom_malloc, oom_realloc, oom_free, NULL};
    sl_allocator_set(&a);
    sl_shape in = shp("4"), img = shp("1x8x8");
    sl_model *m;
    ASSERT_FAILS(sl_model_create("linear(16777216),linear(16777216)", &in, 1, &m), SL_ERR_NOMEM, "");
    /* Fail the k-th allocation of create + forward + backward, for every k:
     * each failure is reported, nothing crashes or leaks. */
    float x[4 * 64], dy[4 * 3];
    for (int i = 0; i < 4 * 64; i++) x[i] = (float)i / 64.0f;
    for (int i = 0; i < 12; i++) dy[i] = 1.0f;
    int failures = 0;
    for (long k = 0; k < 60; k++) {
        oom_calls_left = k;
        sl_status st = sl_model_create("conv(3,3,pad=1),bn,relu,maxpool(2),dropout(0.1),gap,linear(3)", &img, 1, &m);
        if (st == SL_OK) {
            const float *y;
            st = sl_model_forward(m, x, 4, true, &y);
            if (st == SL_OK) st = sl_model_backward(m, dy, NULL);
            sl_model_destroy(m);
        }
        if (st != SL_OK) {
            ASSERT_EQ_INT(st, SL_ERR_NOMEM);
            failures++;
        }
    }
    oom_calls_left = -1;
    ASSERT_TRUE(failures > 3);
    sl_allocator_set(NULL);
}

/* Synchronised batch norm in a run of one process is batch norm: the same
 * outputs and gradients, bit for bit. */
TEST(sync_bn_alone_is_batch_norm) {
    sl_shape in = shp("3x6x6");
    sl_model *a, *b;
    const char *spec = "conv(4,3,pad=1),bn,relu,flatten,linear(8),bn";
    ASSERT_OK(sl_model_create(spec, &in, 9, &a));
    ASSERT_OK(sl_model_create(spec, &in, 9, &b));
    ASSERT_EQ_SIZE(sl_model_set_sync_bn(b, true), 2);
    ASSERT_EQ_SIZE(sl_model_set_sync_bn(a, false), 2);
    float x[5 * 108], dy[5 * 8];
    sl_rng r;
    sl_rng_seed(&r, 3, 0);
    for (size_t i = 0; i < 5 * 108; i++) x[i] = (float)sl_rng_normal(&r);
    for (size_t i = 0; i < 5 * 8; i++) dy[i] = (float)sl_rng_normal(&r);
    const float *ya, *yb;
    ASSERT_OK(sl_model_forward(a, x, 5, true, &ya));
    ASSERT_OK(sl_model_forward(b, x, 5, true, &yb));
    ASSERT_TRUE(memcmp(ya, yb, 5 * 8 * sizeof(float)) == 0);
    sl_model_zero_grad(a), sl_model_zero_grad(b);
    ASSERT_OK(sl_model_backward(a, dy, NULL));
    ASSERT_OK(sl_model_backward(b, dy, NULL));
    ASSERT_TRUE(memcmp(sl_model_grads(a), sl_model_grads(b), sl_model_param_count(a) * sizeof(float)) == 0);
    sl_model_destroy(a);
    sl_model_destroy(b);
}

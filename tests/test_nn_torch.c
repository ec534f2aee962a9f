/* Agreement with PyTorch: fixture files written by tests/fixtures/nn_torch.py
 * (and make_vit_fixture.py, for the ViT layers) hold torch.nn.Sequential
 * weights under their state_dict names, an input, and PyTorch's outputs and
 * gradients; the model loads those weights and must reproduce them. Two
 * more tests hand simlearn checkpoints (a CNN, a ViT) to PyTorch (and skip
 * when PyTorch is absent). */
#include "test.h"

#include <unistd.h>

static const sl_array *need(const sl_tensors *t, const char *name) {
    const sl_array *a = sl_tensors_get(t, name);
    if (!a) T_FAIL("fixture lacks tensor '%s'", name);
    return a;
}

static void compare(const float *got, const sl_array *want, size_t n, double rtol, double atol, const char *what) {
    ASSERT_EQ_SIZE(sl_array_count(want), n);
    const float *w = want->data;
    double mx = 0;
    for (size_t i = 0; i < n; i++) mx = fabs(w[i]) > mx ? fabs(w[i]) : mx;
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - w[i]) <= rtol * fabs(w[i]) + atol * (mx > 1 ? mx : 1)))
            T_FAIL("%s[%zu]: simlearn %.8g, pytorch %.8g", what, i, (double)got[i], (double)w[i]);
}

static void run_fixture(const char *file) {
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/%s", file);
    sl_tensors *t;
    ASSERT_OK(sl_safetensors_read(path, &t));
    sl_model *m;
    ASSERT_OK(sl_model_import(t, "", 1, &m));
    size_t n = (size_t)atoi(sl_tensors_get_meta(t, "n"));
    sl_shape is = sl_model_input_shape(m), os = sl_model_output_shape(m);
    size_t nin = n * sl_shape_count(&is), nout = n * sl_shape_count(&os);
    const float *y;
    ASSERT_OK(sl_model_forward(m, need(t, "x")->data, n, true, &y));
    compare(y, need(t, "y"), nout, 1e-5, 1e-6, "train output");
    float *dx = malloc(nin * sizeof(float));
    const char *spec = sl_model_spec(m);
    bool ids = strncmp(spec, "embbag", 6) == 0 || strncmp(spec, "tokemb", 6) == 0 || strncmp(spec, "txt", 3) == 0;
    sl_model_zero_grad(m);
    ASSERT_OK(sl_model_backward(m, need(t, "dout")->data, dx));
    if (!ids) compare(dx, need(t, "dx"), nin, 1e-5, 1e-5, "d(input)");
    for (size_t i = 0; i < sl_model_tensor_count(m); i++) {
        sl_param_info p;
        ASSERT_TRUE(sl_model_tensor(m, i, &p));
        char key[128];
        snprintf(key, sizeof key, "%s.%s", p.grad ? "grad" : "after", p.name);
        /* A bias feeding a batch norm has a true gradient of 0; float sums leave
         * about 1e-5 there, hence the absolute floor. */
        compare(p.grad ? p.grad : p.data, need(t, key), p.count, 1e-5, 5e-5, key);
    }
    ASSERT_OK(sl_model_forward(m, need(t, "x")->data, n, false, &y));
    compare(y, need(t, "y_eval"), nout, 1e-5, 1e-6, "eval output");
    free(dx);
    sl_model_destroy(m);
    sl_tensors_destroy(t);
}

TEST(torch_fixture_image_encoder) { run_fixture("nn_image.safetensors"); }
TEST(torch_fixture_decoder_like) { run_fixture("nn_decoder.safetensors"); }
TEST(torch_fixture_unflatten_mlp) { run_fixture("nn_mlp.safetensors"); }
TEST(torch_fixture_embbag) { run_fixture("nn_embbag.safetensors"); }
TEST(torch_fixture_vit) { run_fixture("nn_vit.safetensors"); }
TEST(torch_fixture_vit_token_layers) { run_fixture("nn_vit_tokens.safetensors"); }
/* Token ids with padding: the pad mask reaches the blocks (key_padding_mask,
 * one of them causal) and the mean over the unpadded tokens. */
TEST(torch_fixture_text_transformer_padded) { run_fixture("nn_text.safetensors"); }
TEST(torch_fixture_txt_preset_causal) { run_fixture("nn_txt.safetensors"); }

/* Skips unless /usr/bin/python3 with torch and numpy is there. */
static void need_torch(void) {
    if (access("/usr/bin/python3", X_OK) != 0) SKIP("/usr/bin/python3 is not installed (scripts/deps.sh test installs python3-torch)");
    char *out = NULL;
    if (t_run("/usr/bin/python3 -c 'import torch, numpy' 2>&1", &out) != 0) {
        free(out);
        SKIP("python3-torch is not installed (scripts/deps.sh test installs it)");
    }
    free(out);
}

/* A few AdamW steps on m with input x (n examples), then eval outputs into
 * a data file beside the checkpoint, and nn_torch.py's strict load and
 * comparison, which must print "ok". */
static void check_in_torch(sl_model *m, const float *x, size_t n) {
    sl_shape is = sl_model_input_shape(m), os = sl_model_output_shape(m);
    size_t nout = n * sl_shape_count(&os);
    sl_optim_config c;
    sl_optim_config_default(&c, SL_OPT_ADAMW);
    sl_optim *o;
    ASSERT_OK(sl_optim_create(m, &c, &o));
    float *dy = malloc(nout * sizeof(float));
    sl_rng r;
    sl_rng_seed(&r, 3, 4);
    for (size_t i = 0; i < nout; i++) dy[i] = (float)sl_rng_normal(&r);
    const float *y;
    for (int step = 0; step < 3; step++) {
        ASSERT_OK(sl_model_forward(m, x, n, true, &y));
        sl_model_zero_grad(m);
        ASSERT_OK(sl_model_backward(m, dy, NULL));
        ASSERT_OK(sl_optim_step(o, 0.01f));
    }
    ASSERT_OK(sl_model_forward(m, x, n, false, &y));
    ASSERT_OK(sl_model_save(m, o, t_path("model.safetensors"), NULL));
    sl_tensors *d;
    ASSERT_OK(sl_tensors_create(&d));
    size_t xs[4] = {n}, ys[3] = {n};
    for (int k = 0; k < is.ndim; k++) xs[k + 1] = is.dims[k];
    for (int k = 0; k < os.ndim; k++) ys[k + 1] = os.dims[k];
    ASSERT_OK(sl_tensors_add(d, "x", SL_F32, is.ndim + 1, xs, x));
    ASSERT_OK(sl_tensors_add(d, "y", SL_F32, os.ndim + 1, ys, y));
    ASSERT_OK(sl_safetensors_write(t_path("data.safetensors"), d));
    sl_tensors_destroy(d);
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/fixtures/nn_torch.py check %s %s 2>&1",
             t_path("model.safetensors"), t_path("data.safetensors"));
    int rc = t_run(cmd, &out);
    if (rc != 0) T_FAIL("torch check failed (%d): %s", rc, out);
    ASSERT_CONTAINS(out, "ok");
    free(out);
    free(dy);
    sl_optim_destroy(o);
}

TEST(vit_checkpoint_loads_into_torch) {
    need_torch();
    /* The preset's spec, as the checkpoint keeps it, and token layers after it. */
    sl_shape s = {3, {3, 12, 10}};
    sl_model *m;
    ASSERT_OK(sl_model_create("vit(patch=4,dim=16,depth=2,heads=4,mlp=2),linear(6)", &s, 4, &m));
    size_t n = 5, nin = n * 360;
    float *x = malloc(nin * sizeof(float));
    sl_rng r;
    sl_rng_seed(&r, 3, 5);
    for (size_t i = 0; i < nin; i++) x[i] = (float)sl_rng_normal(&r);
    check_in_torch(m, x, n);
    sl_model_destroy(m);
    sl_shape t = {2, {7, 6}};
    ASSERT_OK(sl_model_create("linear(8),cls,pos,block(2,hidden=12),ln,linear(4),gelu", &t, 5, &m));
    check_in_torch(m, x, n); /* token input and output: 5 x 7 x 6 in, 5 x 8 x 4 out */
    sl_model_destroy(m);
    free(x);
}

TEST(checkpoint_loads_into_torch) {
    need_torch();
    char *out = NULL;
    const char *spec = "conv(4,3,pad=1),bn,relu,maxpool(2),conv(5,3,stride=2),bn,relu,gap,linear(6),gelu,ln,linear(3)";
    sl_shape s = {3, {2, 12, 12}};
    sl_model *m;
    ASSERT_OK(sl_model_create(spec, &s, 4, &m));
    size_t n = 7, nin = n * 288;
    float *x = malloc(nin * sizeof(float));
    sl_rng r;
    sl_rng_seed(&r, 3, 3);
    for (size_t i = 0; i < nin; i++) x[i] = (float)sl_rng_normal(&r);
    /* A few training steps so running statistics and weights move. */
    sl_optim_config c;
    sl_optim_config_default(&c, SL_OPT_ADAMW);
    sl_optim *o;
    ASSERT_OK(sl_optim_create(m, &c, &o));
    float dy[7 * 3];
    for (int i = 0; i < 21; i++) dy[i] = (float)sl_rng_normal(&r);
    for (int step = 0; step < 3; step++) {
        const float *y;
        ASSERT_OK(sl_model_forward(m, x, n, true, &y));
        sl_model_zero_grad(m);
        ASSERT_OK(sl_model_backward(m, dy, NULL));
        ASSERT_OK(sl_optim_step(o, 0.01f));
    }
    const float *y;
    ASSERT_OK(sl_model_forward(m, x, n, false, &y));
    ASSERT_OK(sl_model_save(m, o, t_path("model.safetensors"), NULL));
    sl_tensors *d;
    ASSERT_OK(sl_tensors_create(&d));
    size_t xs[4] = {n, 2, 12, 12}, ys[2] = {n, 3};
    ASSERT_OK(sl_tensors_add(d, "x", SL_F32, 4, xs, x));
    ASSERT_OK(sl_tensors_add(d, "y", SL_F32, 2, ys, y));
    ASSERT_OK(sl_safetensors_write(t_path("data.safetensors"), d));
    sl_tensors_destroy(d);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/fixtures/nn_torch.py check %s %s 2>&1",
             t_path("model.safetensors"), t_path("data.safetensors"));
    int rc = t_run(cmd, &out);
    if (rc != 0) T_FAIL("torch check failed (%d): %s", rc, out);
    ASSERT_CONTAINS(out, "ok");
    free(out);
    free(x);
    sl_optim_destroy(o);
    sl_model_destroy(m);
}

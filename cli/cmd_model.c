/* simlearn model: inspect and create models built from a spec string
 * (summary table, parameter count, memory estimate; an initialised
 * checkpoint that loads into the equivalent torch.nn.Sequential). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* A SPEC argument that names an existing .safetensors file is a checkpoint. */
static int open_model(const char *what, const char *input, long long seed, sl_model **m) {
    size_t len = strlen(what);
    if (len > 12 && strcmp(what + len - 12, ".safetensors") == 0) {
        sl_status s = sl_model_load(what, m);
        return s ? cli_fail(s) : 0;
    }
    if (!input) return cli_usage_error("model: --input is required with a spec (e.g. --input 1x28x28)");
    sl_shape shape;
    sl_status s = sl_shape_parse(input, &shape);
    if (s) return cli_usage_error("model: --input: %s", sl_error_message());
    s = sl_model_create(what, &shape, (uint64_t)seed, m);
    return s ? cli_fail(s) : 0;
}

static const cli_opt summary_opts[] = {
    {"input", 'i', CLI_STR, NULL, "input shape of one example: CxHxW (1x28x28), TxD tokens (50x96) or D (128)", NULL, 0, 0, false},
    {"batch", 'b', CLI_INT, "256", "batch size for the training memory estimate", NULL, 1, 1e7, false},
    CLI_OPT_END};
static const cli_spec summary_spec = {
    "simlearn model summary SPEC|CHECKPOINT --input CxHxW",
    "Print the layers of a model with their output shapes and parameter counts, the torch.nn.Sequential\n"
    "index of each layer (checkpoint names use it), and the memory one training step needs.",
    summary_opts, 1, 1,
    "example:\n  simlearn model summary 'conv(32,3,pad=1),bn,relu,maxpool(2),gap,linear(128)' --input 1x28x28"};

static int run_summary(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&summary_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_model *m = NULL;
    int rc = open_model(a.pos[0], cli_str(&a, "input"), 1, &m);
    if (rc == 0) {
        size_t need = sl_model_summary(m, NULL, 0) + 1;
        char *buf = malloc(need);
        if (!buf) {
            rc = cli_fail(SL_ERR_NOMEM);
        } else {
            sl_model_summary(m, buf, need);
            fputs(buf, stdout);
            size_t b = (size_t)cli_int(&a, "batch");
            printf("training memory at batch %zu: %.1f MiB\n", b, (double)sl_model_memory(m, b) / (1024.0 * 1024.0));
            free(buf);
        }
    }
    sl_model_destroy(m);
    return rc;
}

static const cli_opt init_opts[] = {
    {"input", 'i', CLI_STR, NULL, "input shape of one example: CxHxW, TxD (tokens) or D", NULL, 0, 0, true},
    {"output", 'o', CLI_STR, NULL, "checkpoint to write (.safetensors)", NULL, 0, 0, true},
    CLI_OPT_SEED,
    CLI_OPT_END};
static const cli_spec init_spec = {
    "simlearn model init SPEC --input CxHxW -o model.safetensors",
    "Build a model from SPEC, initialise it as PyTorch does by default (from --seed), and write it as a\n"
    "safetensors checkpoint with PyTorch state_dict names.",
    init_opts, 1, 1, "example:\n  simlearn model init 'linear(64),relu,linear(10)' --input 784 -o mlp.safetensors"};

static int run_init(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&init_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_model *m = NULL;
    int rc = open_model(a.pos[0], cli_str(&a, "input"), cli_int(&a, "seed"), &m);
    if (rc == 0) {
        sl_status s = sl_model_save(m, NULL, cli_str(&a, "output"), NULL);
        if (s) rc = cli_fail(s);
        else printf("wrote %s: %zu parameters\n", cli_str(&a, "output"), sl_model_param_count(m));
    }
    sl_model_destroy(m);
    return rc;
}

static const cli_sub subs[] = {{"summary", "layers, shapes, parameter counts and memory of a model", run_summary, false},
                               {"init", "write a freshly initialised model as a checkpoint", run_init, false},
                               {NULL, NULL, NULL, false}};

static int run(int argc, char **argv) { return cli_dispatch("model", subs, argc, argv); }

const cli_command cli_cmd_model = {"model", "show or create a neural-network model from a spec", run, false};

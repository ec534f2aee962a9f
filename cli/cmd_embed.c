/* simlearn embed: turn a dataset (or lines of text, for CLIP models) into an
 * embedding matrix .npy with a trained model, plus one labels .npy per
 * attribute. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
    {"model", 0, CLI_STR, NULL, "checkpoint from simlearn train (omit with --raw)", NULL, 0, 0, false},
    {"raw", 0, CLI_FLAG, NULL, "no model: the raw pixels as vectors", NULL, 0, 0, false},
    CLI_OPT_DATA(NULL, "dataset (default: the one the model was trained on; shapes with --raw)"),
    CLI_OPT_DATA_COUNT("shapes: items in the split (0 = the default)"),
    CLI_DATA_OPTS_MODEL("test"),
    CLI_OPT_DATA_LABELS("labels"),
    {"text", 0, CLI_STR, NULL, "CLIP models: embed the lines of this file with the text tower", NULL, 0, 0, false},
    {"captions", 0, CLI_FLAG, NULL, "CLIP models: embed the dataset's captions with the text tower", NULL, 0, 0, false},
    {"projector", 0, CLI_FLAG, NULL, "the projector's output instead of the encoder's", NULL, 0, 0, false},
    {"normalize", 0, CLI_FLAG, NULL, "L2-normalise every embedding", NULL, 0, 0, false},
    {"batch", 0, CLI_INT, "256", "items per forward pass", NULL, 1, 1 << 24, false},
    CLI_OPT_THREADS,
    {"output", 'o', CLI_STR, NULL, "embeddings .npy (labels go to OUTPUT-stem.ATTR.npy)", NULL, 0, 0, true},
    CLI_OPT_QUIET,
    CLI_OPT_END,
};

static const cli_spec spec = {
    "simlearn embed --model MODEL [--data DATASET] [--split S] -o EMB.npy",
    "Embed every item of a dataset split with a trained encoder (eval mode) and write the n x d float32 matrix, "
    "and for each attribute an int64 label vector EMB.ATTR.npy (EMB.labels.npy is the first attribute).",
    opts, 0, 0,
    "examples:\n"
    "  simlearn embed --model m.safetensors --split val -o val.npy\n"
    "  simlearn embed --raw --data fashion-mnist --split test -o pixels.npy\n"
    "  simlearn embed --model clip.safetensors --text prompts.txt -o prompts.npy\n"};

static int write_labels(const char *out, const sl_embedding *e, int k, const char *name) {
    char path[4096];
    const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    int stem = dot && (!slash || dot > slash) ? (int)(dot - out) : (int)strlen(out);
    snprintf(path, sizeof path, "%.*s.%s.npy", stem, out, name);
    int64_t *l = malloc(sizeof(int64_t) * (e->n ? e->n : 1));
    if (!l) return cli_fail(SL_ERR_NOMEM);
    for (size_t i = 0; i < e->n; i++) l[i] = e->labels[i * (size_t)e->n_attrs + (size_t)k];
    sl_status s = sl_npy_write_labels(path, l, e->n);
    free(l);
    if (s) return cli_fail(s);
    return 0;
}

static int run(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    if (!cli_given(&a, "model") && !cli_flag(&a, "raw")) return cli_usage_error("give --model MODEL, or --raw for pixels");
    if (cli_given(&a, "model") && cli_flag(&a, "raw")) return cli_usage_error("--model and --raw exclude each other");
    sl_embed_config c;
    sl_embed_config_default(&c);
    sl_data_config dc;
    if ((rc = cli_data_config(&a, NULL, &dc))) return rc;
    sl_embed_config_set_data(&c, &dc);
    c.model = cli_str(&a, "model");
    c.text_file = cli_str(&a, "text");
    c.captions = cli_flag(&a, "captions");
    c.projector = cli_flag(&a, "projector");
    c.normalize = cli_flag(&a, "normalize");
    c.batch = (size_t)cli_int(&a, "batch");
    c.threads = (int)cli_int(&a, "threads");
    sl_progress *p = NULL;
    sl_status s = sl_progress_create(stderr, cli_progress_mode(&a), "embed", 0, "items", &p);
    if (s) return cli_fail(s);
    c.progress = p;
    sl_embedding *e;
    c.stop = cli_stop_begin();
    s = sl_embed_run(&c, &e);
    cli_stop_end();
    if (s != SL_ERR_INTERRUPTED) sl_progress_finish(p, NULL);
    sl_progress_destroy(p);
    if (s) return cli_fail(s);
    const char *out = cli_str(&a, "output");
    s = sl_npy_write_matrix(out, e->x, e->n, e->d);
    rc = s ? cli_fail(s) : 0;
    for (int k = 0; !rc && k < e->n_attrs; k++) {
        rc = write_labels(out, e, k, e->attr_names[k]);
        if (!rc && k == 0) rc = write_labels(out, e, k, "labels");
    }
    if (!rc && !cli_flag(&a, "quiet"))
        fprintf(stderr, "wrote %s (%zu x %zu)%s\n", out, e->n, e->d, e->n_attrs ? " and its label files" : "");
    sl_embedding_destroy(e);
    return rc;
}

const cli_command cli_cmd_embed = {"embed", "embed a dataset (or text, for CLIP) with a trained model", run, false};

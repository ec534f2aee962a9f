/* simlearn zeroshot: classify a dataset split with a CLIP model from prompts
 * alone, and print the accuracy, chance, per-class accuracy and the
 * confusion matrix. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
    {"model", 0, CLI_STR, NULL, "CLIP checkpoint (simlearn train --objective clip)", NULL, 0, 0, true},
    CLI_OPT_DATA(NULL, "dataset (default: the one the model was trained on)"),
    CLI_OPT_DATA_COUNT("shapes: items in the split (0 = the model's setting or the default)"),
    CLI_DATA_OPTS_MODEL("val"),
    CLI_OPT_DATA_LABELS("labels"),
    {"attribute", 0, CLI_STR, NULL, "the attribute to classify (default: the dataset's first)", NULL, 0, 0, false},
    {"prompt", 0, CLI_STR, "a photo of a {}", "prompt template; {} becomes each class name", NULL, 0, 0, false},
    {"classes", 0, CLI_STR, NULL,
     "comma-separated words for the classes, in label order (default: the attribute's class names)", NULL, 0, 0,
     false},
    {"batch", 0, CLI_INT, "256", "images per forward pass", NULL, 1, 1 << 24, false},
    CLI_OPT_THREADS,
    CLI_OPT_QUIET,
    CLI_OPT_END,
};

static const cli_spec spec = {
    "simlearn zeroshot --model CLIP.safetensors [--data DATASET] [--split S] [--attribute A] [--prompt TEMPLATE]",
    "Zero-shot classification with a CLIP model: the text tower embeds one prompt per class of the attribute "
    "(the template with {} replaced by the class name), the image tower and the projector embed the images of "
    "the split, and each image gets the class whose prompt is the most similar by cosine. Prints the accuracy, "
    "chance (one over the number of classes, and the share of the most common class), the accuracy of each "
    "class and the confusion matrix.",
    opts, 0, 0,
    "examples:\n"
    "  simlearn zeroshot --model clip.safetensors --attribute shape\n"
    "  simlearn zeroshot --model clip.safetensors --attribute color --prompt \"a photo of a {} shape\"\n"
    "  simlearn zeroshot --model clip.safetensors --attribute size --classes tiny,huge --count 500\n"};

/* Split "a, b,c" into trimmed words; an empty one is a usage error. */
static int split_classes(const char *s, char **buf, const char ***words, size_t *n) {
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    *buf = strdup(s);
    *words = malloc(cap * sizeof **words);
    if (!*buf || !*words) return cli_usage_error("out of memory");
    *n = 0;
    for (char *p = *buf;;) {
        char *end = strchr(p, ',');
        if (end) *end = 0;
        while (*p == ' ' || *p == '\t') p++;
        size_t len = strlen(p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) p[--len] = 0;
        if (!len) return cli_usage_error("option --classes: word %zu of \"%s\" is empty", *n + 1, s);
        (*words)[(*n)++] = p;
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

static int width_of(const sl_zeroshot_result *r) {
    int w = 5; /* "class" */
    for (size_t j = 0; j < r->k; j++) {
        int l = (int)strlen(r->classes[j]);
        if (l > w) w = l;
    }
    return w;
}

static void print_result(const sl_zeroshot_result *r, const char *model, const char *split) {
    size_t k = r->k;
    printf("zero-shot %s with %s: %zu images of the %s split, %zu classes\n", r->attribute, model, r->n_items, split, k);
    if (r->n < r->n_items) printf("(%zu images without a %s label are left out)\n", r->n_items - r->n, r->attribute);
    printf("accuracy %.2f%% (%zu of %zu); chance %.2f%% (1 of %zu), most common class %.2f%%\n", 100 * r->accuracy,
           r->correct, r->n, 100 * r->chance, k, 100 * r->majority);
    int w = width_of(r), cw = w > 6 ? w : 6;
    printf("\n%-*s  %7s  %8s  %s\n", w, "class", "images", "accuracy", "prompt");
    for (size_t j = 0; j < k; j++) {
        printf("%-*s  %7zu  ", w, r->classes[j], r->counts[j]);
        if (isnan(r->class_accuracy[j])) printf("%8s", "-");
        else printf("%7.2f%%", 100 * r->class_accuracy[j]);
        printf("  %s\n", r->prompts[j]);
    }
    printf("\nconfusion matrix (rows: true class, columns: predicted class):\n%-*s", w, "");
    for (size_t j = 0; j < k; j++) printf(" %*s", cw, r->classes[j]);
    printf("\n");
    for (size_t a = 0; a < k; a++) {
        printf("%-*s", w, r->classes[a]);
        for (size_t b = 0; b < k; b++) printf(" %*zu", cw, r->confusion[a * k + b]);
        printf("\n");
    }
}

static int run(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    sl_zeroshot_config c;
    sl_zeroshot_config_default(&c);
    sl_data_config dc;
    if ((rc = cli_data_config(&a, NULL, &dc))) return rc;
    sl_embed_config_set_data(&c.embed, &dc);
    c.embed.model = cli_str(&a, "model");
    c.embed.batch = (size_t)cli_int(&a, "batch");
    c.embed.threads = (int)cli_int(&a, "threads");
    c.attribute = cli_str(&a, "attribute");
    c.prompt = cli_str(&a, "prompt");
    char *buf = NULL;
    const char **words = NULL;
    if (cli_str(&a, "classes")) rc = split_classes(cli_str(&a, "classes"), &buf, &words, &c.n_classes);
    c.classes = words;
    sl_progress *p = NULL;
    sl_status s = rc ? SL_OK : sl_progress_create(stderr, cli_progress_mode(&a), "zeroshot", 0, "images", &p);
    if (s) rc = cli_fail(s);
    sl_zeroshot_result *r = NULL;
    if (!rc) {
        c.embed.progress = p;
        c.stop = cli_stop_begin();
        s = sl_zeroshot_run(&c, &r);
        cli_stop_end();
        if (s != SL_ERR_INTERRUPTED) sl_progress_finish(p, NULL);
        rc = s ? cli_fail(s) : 0;
    }
    if (!rc) print_result(r, c.embed.model, sl_split_name(c.embed.split));
    sl_zeroshot_result_destroy(r);
    sl_progress_destroy(p);
    free(buf);
    free(words);
    return rc;
}

const cli_command cli_cmd_zeroshot = {"zeroshot", "classify images with a CLIP model from text prompts alone", run, false};

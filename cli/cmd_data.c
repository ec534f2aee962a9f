/* simlearn data show|stats: look at a dataset the way a model will see it
 * (a PNG grid of items and their augmented views, labelled), and count its
 * labels and pixel statistics. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int open_data(const cli_args *a, sl_dataset **out) {
    sl_data_config c;
    int rc = cli_data_config(a, a->pos[0], &c);
    if (rc) return rc;
    sl_status s = sl_data_open(&c, out);
    if (s) return cli_fail(s);
    size_t sk = sl_data_skipped(*out);
    if (sk) {
        fprintf(stderr, "simlearn: skipped %zu image%s that could not be decoded:\n", sk, sk == 1 ? "" : "s");
        for (size_t k = 0; k < sk && k < 10; k++) fprintf(stderr, "  %s\n", sl_data_skipped_reason(*out, k));
        if (sk > 10) fprintf(stderr, "  ... and %zu more\n", sk - 10);
    }
    return 0;
}

static void item_label(const sl_dataset *d, const int32_t *lab, const char *caption, char *buf, size_t n) {
    buf[0] = 0;
    if (sl_data_kind_of(d) == SL_DATA_SHAPES) {
        snprintf(buf, n, "%s %s", sl_data_attr(d, 1)->class_names[lab[1]], sl_data_attr(d, 0)->class_names[lab[0]]);
    } else if (sl_data_num_attrs(d) > 0 && lab[0] >= 0 && lab[0] < sl_data_attr(d, 0)->n_classes) {
        snprintf(buf, n, "%s", sl_data_attr(d, 0)->class_names[lab[0]]);
    } else if (caption && *caption) {
        /* Captions are long; the grid shows their start. */
        size_t m = strlen(caption) < n - 1 ? strlen(caption) : n - 1;
        memcpy(buf, caption, m);
        buf[m] = 0;
    }
}

static const cli_opt show_opts[] = {
    {"output", 'o', CLI_STR, NULL, "PNG file to write", NULL, 0, 0, true},
    {"aug", 0, CLI_STR, NULL, "augmentation spec or preset (color, location, shape+location, simclr, mono)", NULL, 0, 0, false},
    {"n", 'n', CLI_INT, "64", "items to show", NULL, 1, 4096, false},
    {"views", 0, CLI_INT, "2", "augmented views per item (with --aug)", NULL, 1, 8, false},
    {"scale", 0, CLI_INT, "0", "pixels per image pixel (0 = about 64-pixel tiles)", NULL, 0, 16, false},
    {"first", 0, CLI_INT, "0", "index of the first item shown", NULL, 0, 1e12, false},
    CLI_OPT_DATA_COUNT("shapes: items in the split (0 = 50000/5000/10000)"),
    CLI_DATA_OPTS("train"),
    CLI_OPT_SEED,
    CLI_OPT_END};
static const cli_spec show_spec = {
    "simlearn data show DATASET -o grid.png [--aug SPEC] [--n 64]",
    "Write a PNG grid of dataset items, each followed by its augmented views and labelled with its class,\n"
    "to check what a model will see. DATASET is shapes, fashion-mnist, mnist, or a path (IDX images file,\n"
    "image folder, caption list .tsv/.txt, .npy matrix).",
    show_opts, 1, 1,
    "examples:\n  simlearn data show shapes --aug color -o shapes.png\n"
    "  simlearn data show fashion-mnist --aug simclr --n 16 -o fmnist.png"};

/* Draw items first .. first + n - 1, each followed by its views (one RNG
 * stream per item and view, so a sheet is reproducible), into the sheet. */
static int draw_items(const cli_args *a, const sl_dataset *d, const sl_augment *aug, int views, size_t first,
                      size_t n, sl_sheet *sh) {
    int c = sl_data_channels(d), h = sl_data_height(d), w = sl_data_width(d);
    float *x = malloc(sl_data_item_size(d) * sizeof *x);
    float *scr = malloc(sl_augment_scratch_size(aug, c, h, w) * sizeof *scr);
    int rc = x && scr ? 0 : cli_fail(SL_ERR_NOMEM);
    uint64_t seed = (uint64_t)cli_int(a, "seed");
    for (size_t k = 0; !rc && k < n; k++) {
        size_t item = first + k;
        char caption[SL_CAPTION_MAX], label[128];
        int32_t lab[8] = {0};
        sl_status s = sl_data_get(d, item, x, lab, caption);
        if (!s) s = sl_sheet_draw(sh, k, 0, x, c);
        for (int v = 0; !s && v < views; v++) {
            sl_rng rng;
            sl_rng_seed(&rng, seed, ((uint64_t)item << 2) | (uint64_t)v);
            s = sl_augment_item(aug, d, item, &rng, x, scr);
            if (!s) s = sl_sheet_draw(sh, k, v + 1, x, c);
        }
        if (s) rc = cli_fail(s);
        item_label(d, lab, caption, label, sizeof label);
        sl_sheet_caption(sh, k, label);
    }
    free(x);
    free(scr);
    return rc;
}

static int cmd_show(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&show_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_dataset *d = NULL;
    sl_augment *aug = NULL;
    sl_sheet *sh = NULL;
    const char *spec = cli_str(&a, "aug");
    int rc = open_data(&a, &d);
    if (!rc && spec && sl_augment_create(spec, &aug)) rc = cli_usage_error("option --aug: %s", sl_error_message());
    int c = d ? sl_data_channels(d) : 0, h = d ? sl_data_height(d) : 0, w = d ? sl_data_width(d) : 0;
    if (!rc && (h < 2 || w < 2))
        rc = cli_usage_error("%s holds vectors (%dx%d), not images; 'data show' draws images", sl_data_name(d), h, w);
    size_t first = (size_t)cli_int(&a, "first"), count = d ? sl_data_count(d) : 0, n = (size_t)cli_int(&a, "n");
    if (!rc && first >= count)
        rc = cli_usage_error("option --first: %zu is past the last item (%zu items)", first, count);
    if (!rc && n > count - first) n = count - first;
    int views = aug ? (int)cli_int(&a, "views") : 0;
    sl_status s;
    if (!rc && (s = sl_sheet_create(n, 1 + views, w, h, (int)cli_int(&a, "scale"), &sh))) rc = cli_fail(s);
    if (!rc) rc = draw_items(&a, d, aug, views, first, n, sh);
    const char *outp = cli_str(&a, "output");
    int W = 0, H = 0;
    const uint8_t *rgb = sh ? sl_sheet_rgb(sh, &W, &H) : NULL;
    if (!rc && (s = sl_png_write(outp, rgb, W, H, 3))) rc = cli_fail(s);
    if (!rc)
        printf("%s: %zu items of %s (%s split, %dx%dx%d)%s%s%s, %dx%d pixels\n", outp, n, sl_data_name(d),
               sl_split_name(sl_data_split(d)), c, h, w, aug ? ", each followed by augmented views (" : "",
               aug ? spec : "", aug ? ")" : "", W, H);
    sl_sheet_destroy(sh);
    sl_augment_destroy(aug);
    sl_data_destroy(d);
    return rc;
}

static const cli_opt stats_opts[] = {
    {"limit", 0, CLI_INT, "0", "look at the first N items only (0 = all)", NULL, 0, 1e12, false},
    CLI_OPT_DATA_COUNT("shapes: items in the split (0 = 50000/5000/10000)"), CLI_DATA_OPTS("train"), CLI_OPT_END};
static const cli_spec stats_spec = {
    "simlearn data stats DATASET",
    "Print a dataset's size, image shape, attributes with the count of each label, and the pixel mean\n"
    "and standard deviation per channel.",
    stats_opts, 1, 1, "example:\n  simlearn data stats fashion-mnist --split test"};

static int cmd_stats(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&stats_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_dataset *d = NULL;
    float *x = NULL;
    size_t *counts = NULL;
    int rc = open_data(&a, &d);
    if (rc) goto done;
    size_t n = sl_data_count(d), lim = (size_t)cli_int(&a, "limit");
    if (lim && lim < n) n = lim;
    int c = sl_data_channels(d), h = sl_data_height(d), w = sl_data_width(d), na = sl_data_num_attrs(d);
    size_t isz = sl_data_item_size(d), ncls = 0;
    for (int k = 0; k < na; k++) ncls += (size_t)sl_data_attr(d, k)->n_classes;
    x = malloc(isz * sizeof *x);
    counts = calloc(ncls + (size_t)na + 1, sizeof *counts);
    if (!x || !counts) {
        rc = cli_fail(SL_ERR_NOMEM);
        goto done;
    }
    double mean[3], sd[3];
    sl_status st = sl_data_pixel_stats(d, n, mean, sd);
    if (st) {
        rc = cli_fail(st);
        goto done;
    }
    size_t nocap = 0;
    int32_t lab[8];
    char caption[SL_CAPTION_MAX];
    for (size_t i = 0; i < n; i++) {
        sl_status s = sl_data_get(d, i, NULL, lab, caption);
        if (s) {
            rc = cli_fail(s);
            goto done;
        }
        size_t off = 0;
        for (int k = 0; k < na; k++) {
            int nc = sl_data_attr(d, k)->n_classes;
            if (lab[k] >= 0 && lab[k] < nc)
                counts[off + (size_t)lab[k]]++;
            else
                counts[ncls + (size_t)k]++;
            off += (size_t)nc;
        }
        nocap += caption[0] == 0;
    }
    static const char *kinds[] = {"shapes world", "IDX", "image folder", "image-caption list", ".npy matrix"};
    printf("%s (%s, %s split): %zu items%s, %dx%dx%d (channels x height x width)\n", sl_data_name(d),
           kinds[sl_data_kind_of(d)], sl_split_name(sl_data_split(d)), sl_data_count(d),
           n < sl_data_count(d) ? " (statistics over the first ones)" : "", c, h, w);
    if (sl_data_skipped(d)) printf("skipped: %zu undecodable images\n", sl_data_skipped(d));
    printf("pixels:");
    for (int k = 0; k < c && k < 3; k++)
        printf("%s %s mean %.4f std %.4f", k ? "," : "", c == 3 ? (const char *[]){"R", "G", "B"}[k] : "gray", mean[k],
               sd[k]);
    printf("\n");
    if (sl_data_has_captions(d)) printf("captions: %zu of %zu items\n", n - nocap, n);
    size_t off = 0;
    for (int k = 0; k < na; k++) {
        const sl_attr *at = sl_data_attr(d, k);
        printf("%s (%d classes):\n", at->name, at->n_classes);
        for (int j = 0; j < at->n_classes; j++)
            printf("  %-16s %8zu  %5.1f%%\n", at->class_names[j], counts[off + (size_t)j],
                   100.0 * (double)counts[off + (size_t)j] / (double)(n ? n : 1));
        if (counts[ncls + (size_t)k]) printf("  %-16s %8zu\n", "(unlabelled)", counts[ncls + (size_t)k]);
        off += (size_t)at->n_classes;
    }
done:
    free(x);
    free(counts);
    sl_data_destroy(d);
    return rc;
}

static int run(int argc, char **argv) {
    static const cli_sub subs[] = {{"show", "write a PNG grid of items and their augmented views", cmd_show, false},
                                   {"stats", "label counts, image size, pixel mean/std", cmd_stats, false},
                                   {NULL, NULL, NULL, false}};
    return cli_dispatch("data", subs, argc, argv);
}

const cli_command cli_cmd_data = {"data", "look at a dataset: show a grid of items and views, print stats", run, false};

/* simlearn data show|stats: look at a dataset the way a model will see it
 * (a PNG grid of items and their augmented views, labelled), and count its
 * labels and pixel statistics. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- dataset options shared by the sub-commands -------------------------*/

#define DATA_OPTS                                                                                             \
    {"split", 0, CLI_CHOICE, "train", "which split", "train|val|test|all", 0, 0, false},                      \
        {"size", 0, CLI_INT, "0", "image side in pixels (0 = 32 for shapes, 64 for image folders)", NULL, 0, 4096, \
         false},                                                                                              \
        {"channels", 0, CLI_INT, "3", "channels for image folders and caption lists (1 or 3)", NULL, 1, 3, false}, \
        {"labels", 0, CLI_STR, NULL, ".npy labels for a .npy dataset", NULL, 0, 0, false},                    \
        {"image-dir", 0, CLI_STR, NULL, "folder of a caption list's images (default: the list's folder)", NULL, 0, \
         0, false},                                                                                           \
        {"val-fraction", 0, CLI_FLOAT, "-1", "validation fraction (-1 = the source's default)", NULL, -1, 0.99, false}, \
        {"test-fraction", 0, CLI_FLOAT, "-1", "test fraction (-1 = default 0.1)", NULL, -1, 0.99, false},      \
        {"count", 0, CLI_INT, "0", "shapes: items in the split (0 = 50000/5000/10000)", NULL, 0, 1e12, false},   \
        {"rotate", 0, CLI_FLAG, NULL, "shapes: rotate each shape", NULL, 0, 0, false},                         \
        {"noise", 0, CLI_FLOAT, "0", "shapes: background noise std", NULL, 0, 1, false},                    \
        {"data-seed", 0, CLI_INT, "0", "seed of the shapes world and of the splits of other sources", NULL, 0, 9.2e18, false}

static int open_data(const cli_args *a, const char *source, sl_dataset **out) {
    sl_data_config c;
    sl_data_config_default(&c);
    c.source = source;
    sl_status s = sl_split_parse(cli_str(a, "split"), &c.split);
    if (s) return cli_fail(s);
    c.seed = (uint64_t)cli_int(a, "data-seed");
    c.size = (int)cli_int(a, "size");
    c.channels = (int)cli_int(a, "channels");
    if (c.channels == 2) return cli_usage_error("option --channels: 2 is not 1 or 3");
    c.labels = cli_str(a, "labels");
    c.image_dir = cli_str(a, "image-dir");
    c.val_fraction = cli_float(a, "val-fraction");
    c.test_fraction = cli_float(a, "test-fraction");
    c.shapes_count = (size_t)cli_int(a, "count");
    c.shapes_rotate = cli_flag(a, "rotate");
    c.shapes_noise = (float)cli_float(a, "noise");
    s = sl_data_open(&c, out);
    if (s) return cli_fail(s);
    size_t sk = sl_data_skipped(*out);
    if (sk) {
        fprintf(stderr, "simlearn: skipped %zu image%s that could not be decoded:\n", sk, sk == 1 ? "" : "s");
        for (size_t k = 0; k < sk && k < 10; k++) fprintf(stderr, "  %s\n", sl_data_skipped_reason(*out, k));
        if (sk > 10) fprintf(stderr, "  ... and %zu more\n", sk - 10);
    }
    return 0;
}

/* ---- a tiny bitmap font for labels ----------------------------------------
 * 3x5 capitals, digits and a little punctuation: enough to name a class
 * under a 28-pixel tile. */
static const char *glyph(char ch) {
    static const struct {
        char c;
        const char *rows;
    } font[] = {
        {'A', ".#.#.#####.##.#"}, {'B', "##.#.###.#.###."}, {'C', ".###..#..#...##"}, {'D', "##.#.##.##.###."},
        {'E', "####..##.#..###"}, {'F', "####..##.#..#.."}, {'G', ".###..#.##.#.##"}, {'H', "#.##.#####.##.#"},
        {'I', "###.#..#..#.###"}, {'J', "..#..#..##.#.#."}, {'K', "#.##.###.#.##.#"}, {'L', "#..#..#..#..###"},
        {'M', "#.########.##.#"}, {'N', "##.#.##.##.##.#"}, {'O', ".#.#.##.##.#.#."}, {'P', "##.#.###.#..#.."},
        {'Q', ".#.#.##.###..##"}, {'R', "##.#.###.#.##.#"}, {'S', ".###...#...###."}, {'T', "###.#..#..#..#."},
        {'U', "#.##.##.##.####"}, {'V', "#.##.##.##.#.#."}, {'W', "#.##.########.#"}, {'X', "#.##.#.#.#.##.#"},
        {'Y', "#.##.#.#..#..#."}, {'Z', "###..#.#.#..###"}, {'0', "####.##.##.####"}, {'1', ".#.##..#..#.###"},
        {'2', "##...#.#.#..###"}, {'3', "##...#.#...###."}, {'4', "#.##.####..#..#"}, {'5', "####..##...###."},
        {'6', ".###..####.####"}, {'7', "###..#.#..#..#."}, {'8', "####.#####.####"}, {'9', "####.####..###."},
        {'-', "......###......"}, {'/', "..#..#.#.#..#.."}, {'.', ".............#."}, {'+', "....#.###.#...."},
    };
    if (ch >= 'a' && ch <= 'z') ch = (char)(ch - 'a' + 'A');
    for (size_t i = 0; i < sizeof font / sizeof font[0]; i++)
        if (font[i].c == ch) return font[i].rows;
    return NULL;
}

/* Draw text into an RGB canvas at (x, y), each font pixel scale x scale. */
static void draw_text(uint8_t *img, int W, int H, int x, int y, const char *text, int scale, int max_w) {
    for (int k = 0; text[k]; k++) {
        int gx = x + k * 4 * scale;
        if (gx + 3 * scale > x + max_w) break;
        const char *g = glyph(text[k]);
        if (!g) continue;
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 3; c++) {
                size_t idx = (size_t)r * 3 + c;
                if (g[idx] != '#') continue;
                for (int dy = 0; dy < scale; dy++)
                    for (int dx = 0; dx < scale; dx++) {
                        int px = gx + c * scale + dx, py = y + r * scale + dy;
                        if (px < 0 || py < 0 || px >= W || py >= H) continue;
                        uint8_t *p = img + ((size_t)py * W + px) * 3;
                        p[0] = p[1] = p[2] = 230;
                    }
            }
    }
}

/* Copy a CHW float image into the canvas, upscaled by nearest neighbour. */
static void blit(uint8_t *img, int W, const float *x, int c, int h, int w, int ox, int oy, int scale) {
    for (int i = 0; i < h * scale; i++)
        for (int j = 0; j < w * scale; j++) {
            size_t src = (size_t)(i / scale) * w + (size_t)(j / scale);
            uint8_t *p = img + ((size_t)(oy + i) * W + (ox + j)) * 3;
            for (int k = 0; k < 3; k++) {
                float v = x[(size_t)(c == 3 ? k : 0) * h * w + src];
                v = v < 0 ? 0 : v > 1 ? 1 : v;
                p[k] = (uint8_t)lrintf(v * 255.0f);
            }
        }
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
    DATA_OPTS,
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

static int cmd_show(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&show_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_dataset *d = NULL;
    sl_augment *aug = NULL;
    uint8_t *img = NULL;
    float *x = NULL, *scr = NULL;
    int rc = open_data(&a, a.pos[0], &d);
    if (rc) goto done;
    const char *spec = cli_str(&a, "aug");
    if (spec) {
        sl_status s = sl_augment_create(spec, &aug);
        if (s) {
            rc = cli_usage_error("option --aug: %s", sl_error_message());
            goto done;
        }
    }
    int c = sl_data_channels(d), h = sl_data_height(d), w = sl_data_width(d);
    if (h < 2 || w < 2) {
        rc = cli_usage_error("%s holds vectors (%dx%d), not images; 'data show' draws images", sl_data_name(d), h, w);
        goto done;
    }
    size_t first = (size_t)cli_int(&a, "first"), count = sl_data_count(d);
    if (first >= count) {
        rc = cli_usage_error("option --first: %zu is past the last item (%zu items)", first, count);
        goto done;
    }
    size_t n = (size_t)cli_int(&a, "n");
    if (n > count - first) n = count - first;
    int views = aug ? (int)cli_int(&a, "views") : 0;
    int scale = (int)cli_int(&a, "scale");
    if (scale == 0) scale = h >= 64 ? 1 : (64 + h - 1) / h;
    int tile = h * scale, tilew = w * scale, tiles = 1 + views;
    int fscale = 2, gap = 6, label_h = 5 * fscale + 6;
    int cellw = tiles * tilew + (tiles - 1) * 2, cellh = tile + label_h;
    int cols = (int)ceil(sqrt((double)n * cellh / cellw * 1.6));
    /* A nearby column count that fills the last row wastes less of the picture. */
    int best = cols;
    for (int k = cols - 2; k <= cols + 2; k++) {
        if (k < 1) continue;
        size_t waste = ((size_t)k - n % (size_t)k) % (size_t)k, bw = ((size_t)best - n % (size_t)best) % (size_t)best;
        if (waste < bw) best = k;
    }
    cols = best < 1 ? 1 : best;
    if ((size_t)cols > n) cols = (int)n;
    int rows = (int)((n + (size_t)cols - 1) / (size_t)cols);
    int W = cols * cellw + (cols + 1) * gap, H = rows * cellh + (rows + 1) * gap;
    img = malloc((size_t)W * H * 3);
    size_t isz = sl_data_item_size(d);
    x = malloc(isz * sizeof *x);
    scr = malloc(sl_augment_scratch_size(aug, c, h, w) * sizeof *scr);
    int32_t lab[8] = {0};
    if (!img || !x || !scr) {
        rc = cli_fail(SL_ERR_NOMEM);
        goto done;
    }
    memset(img, 24, (size_t)W * H * 3);
    uint64_t seed = (uint64_t)cli_int(&a, "seed");
    for (size_t k = 0; k < n; k++) {
        size_t item = first + k;
        char caption[SL_CAPTION_MAX], label[128];
        sl_status s = sl_data_get(d, item, x, lab, caption);
        if (s) {
            rc = cli_fail(s);
            goto done;
        }
        int ox = gap + (int)(k % (size_t)cols) * (cellw + gap), oy = gap + (int)(k / (size_t)cols) * (cellh + gap);
        blit(img, W, x, c, h, w, ox, oy, scale);
        for (int v = 0; v < views; v++) {
            /* One RNG stream per (item, view), so a grid is reproducible. */
            sl_rng rng;
            sl_rng_seed(&rng, seed, ((uint64_t)item << 2) | (uint64_t)v);
            s = sl_augment_item(aug, d, item, &rng, x, scr);
            if (s) {
                rc = cli_fail(s);
                goto done;
            }
            blit(img, W, x, c, h, w, ox + (v + 1) * (tilew + 2), oy, scale);
        }
        item_label(d, lab, caption, label, sizeof label);
        draw_text(img, W, H, ox + 1, oy + tile + 4, label, fscale, cellw - 2);
    }
    const char *outp = cli_str(&a, "output");
    sl_status s = sl_png_write(outp, img, W, H, 3);
    if (s) {
        rc = cli_fail(s);
        goto done;
    }
    printf("%s: %zu items of %s (%s split, %dx%dx%d)%s%s%s, %dx%d pixels\n", outp, n, sl_data_name(d),
           sl_split_name(sl_data_split(d)), c, h, w, aug ? ", each followed by augmented views (" : "",
           aug ? spec : "", aug ? ")" : "", W, H);
done:
    free(img);
    free(x);
    free(scr);
    sl_augment_destroy(aug);
    sl_data_destroy(d);
    return rc;
}

static const cli_opt stats_opts[] = {
    {"limit", 0, CLI_INT, "0", "look at the first N items only (0 = all)", NULL, 0, 1e12, false}, DATA_OPTS, CLI_OPT_END};
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
    int rc = open_data(&a, a.pos[0], &d);
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
    static const cli_sub subs[] = {{"show", "write a PNG grid of items and their augmented views", cmd_show},
                                   {"stats", "label counts, image size, pixel mean/std", cmd_stats},
                                   {NULL, NULL, NULL}};
    return cli_dispatch("data", subs, argc, argv);
}

const cli_command cli_cmd_data = {"data", "look at a dataset: show a grid of items and views, print stats", run};

/* simlearn map EMB.npy: a 2-D map of embeddings (PCA or Barnes-Hut t-SNE)
 * drawn as an SVG scatter plot coloured by label, and/or saved as .npy. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
    {"output", 'o', CLI_STR, NULL, "SVG picture to write", NULL, 0, 0, false},
    {"coords", 0, CLI_STR, NULL, "also write the map coordinates (n x dims float32 .npy)", NULL, 0, 0, false},
    {"labels", 0, CLI_STR, NULL, "integer labels (.npy, one per row) that colour the points", NULL, 0, 0, false},
    {"label-names", 0, CLI_STR, NULL, "comma-separated names of labels 0, 1, 2, ...", NULL, 0, 0, false},
    {"method", 0, CLI_CHOICE, "tsne", "how to map", "pca|tsne", 0, 0, false},
    {"dims", 0, CLI_INT, "2", "output dimensions (PCA only; the picture uses the first two)", NULL, 1, 4096, false},
    {"perplexity", 0, CLI_FLOAT, "30", "t-SNE perplexity (effective number of neighbours)", NULL, 1, 1000, false},
    {"iters", 0, CLI_INT, "1000", "t-SNE iterations (the first 250 with early exaggeration)", NULL, 1, 1000000, false},
    {"theta", 0, CLI_FLOAT, "0.5", "Barnes-Hut opening angle (0 = exact forces, slow)", NULL, 0, 5, false},
    {"learning-rate", 0, CLI_FLOAT, "0", "t-SNE learning rate (0 = max(n/48, 50))", NULL, 0, 1e6, false},
    {"max-points", 0, CLI_INT, "20000", "map a random sample of at most this many rows (0 = all)", NULL, 0, 1e9, false},
    {"trust", 0, CLI_INT, "1000", "report trustworthiness@10 on a sample of this many points (0 = skip)", NULL, 0, 1e7, false},
    {"title", 0, CLI_STR, NULL, "picture title (default: the method and file name)", NULL, 0, 0, false},
    {"images", 0, CLI_STR, NULL, "images of the rows (.npy uint8 or float in [0,1], n x h x w [x 3]) for thumbnails", NULL, 0, 0, false},
    {"thumbs", 0, CLI_INT, "40", "with --images: how many points get a thumbnail", NULL, 0, 100000, false},
    CLI_OPT_SEED,
    CLI_OPT_THREADS,
    CLI_OPT_QUIET,
    CLI_OPT_END};
static const cli_spec spec = {
    "simlearn map EMB.npy [-o map.svg] [--coords map.npy] [options]",
    "Map embeddings (an n x d .npy matrix) to 2-D with PCA or Barnes-Hut t-SNE and draw them as an SVG\n"
    "scatter plot coloured by --labels, with a legend. Prints the trustworthiness of the map (how well\n"
    "its 10 nearest neighbours are true neighbours in the input; 1 is perfect) on a sample.",
    opts, 1, 1,
    "examples:\n"
    "  simlearn map emb.npy --labels labels.npy --label-names cat,dog,bird -o map.svg\n"
    "  simlearn map emb.npy --method pca --dims 50 --coords emb50.npy\n"
    "  simlearn map emb.npy --labels labels.npy --images images.npy --thumbs 60 -o map.svg"};

/* Images for thumbnails as 8-bit pixels, one per row of the embeddings. */
static int load_images(const char *path, size_t n, uint8_t **pix, int *h, int *w, int *c) {
    sl_array a;
    sl_status st = sl_npy_read(path, &a);
    if (st) return cli_fail(st);
    int rc = 1;
    if (a.ndim < 3 || a.ndim > 4 || a.shape[0] != n || (a.ndim == 4 && a.shape[3] != 1 && a.shape[3] != 3) ||
        a.shape[1] > 4096 || a.shape[2] > 4096 || (a.dtype != SL_U8 && a.dtype != SL_F32)) {
        fprintf(stderr, "simlearn: error: %s: expected %zu images as uint8 or float32, shape (n, h, w) or (n, h, w, 1|3)\n",
                path, n);
        goto done;
    }
    size_t cnt = sl_array_count(&a);
    *pix = malloc(cnt ? cnt : 1);
    if (!*pix) goto done;
    for (size_t i = 0; i < cnt; i++) {
        double v = a.dtype == SL_U8 ? ((const uint8_t *)a.data)[i] : 255.0 * ((const float *)a.data)[i];
        (*pix)[i] = (uint8_t)(v < 0 || v != v ? 0 : v > 255 ? 255 : v + 0.5);
    }
    *h = (int)a.shape[1], *w = (int)a.shape[2], *c = a.ndim == 4 ? (int)a.shape[3] : 1;
    rc = 0;
done:
    sl_array_destroy(&a);
    return rc;
}

/* Split "a,b,c" into names (pointers into a copy owned by *buf). */
static int split_names(const char *s, char **buf, char ***names, size_t *n) {
    *buf = strdup(s);
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    *names = calloc(cap, sizeof **names);
    if (!*buf || !*names) return -1;
    size_t k = 0;
    char *p = *buf;
    for (;;) {
        char *e = strchr(p, ',');
        if (e) *e = '\0';
        (*names)[k++] = p;
        if (!e) break;
        p = e + 1;
    }
    *n = k;
    return 0;
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The input rows and what goes with them, sampled down to m rows. */
typedef struct {
    float *x;      /* m x d (sl_allocator_free) */
    size_t n, m, d;
    int64_t *lab;  /* m labels or NULL (sl_allocator_free) */
    uint8_t *imgs; /* m images or NULL (free) */
    int ih, iw, ic;
    char *names_buf, **names;
    size_t n_names;
} map_input;

static void input_free(map_input *in) {
    sl_allocator_free(in->x), sl_allocator_free(in->lab);
    free(in->imgs), free(in->names_buf), free(in->names);
}

static int load_input(const cli_args *a, map_input *in) {
    sl_status st = sl_npy_read_matrix(a->pos[0], &in->x, &in->n, &in->d);
    if (st) return cli_fail(st);
    in->m = in->n;
    int dims = (int)cli_int(a, "dims");
    if ((size_t)dims > in->d) return cli_usage_error("map: --dims %d is more than the %zu input dimensions", dims, in->d);
    char what[4200];
    snprintf(what, sizeof what, "rows of %s", a->pos[0]);
    int rc;
    if (cli_str(a, "labels") && (rc = cli_read_labels(cli_str(a, "labels"), in->n, what, &in->lab))) return rc;
    if (cli_str(a, "images") && (rc = load_images(cli_str(a, "images"), in->n, &in->imgs, &in->ih, &in->iw, &in->ic)))
        return rc;
    if (cli_str(a, "label-names") && split_names(cli_str(a, "label-names"), &in->names_buf, &in->names, &in->n_names))
        return cli_fail(SL_ERR_NOMEM);
    return 0;
}

/* A seeded random sample of at most --max-points rows, kept in file order;
 * the labels and images follow their rows. */
static int sample_rows(const cli_args *a, map_input *in) {
    size_t maxp = (size_t)cli_int(a, "max-points");
    if (!maxp || in->n <= maxp) return 0;
    size_t *pick = malloc(maxp * sizeof *pick);
    sl_rng rng;
    sl_rng_seed(&rng, (uint64_t)cli_int(a, "seed"), 0x5a);
    sl_status st = pick ? sl_rng_sample(&rng, in->n, maxp, true, pick) : SL_ERR_NOMEM;
    if (st) {
        free(pick);
        return cli_fail(st);
    }
    in->m = maxp;
    sl_rows_gather(in->x, in->x, in->d * sizeof *in->x, pick, in->m);
    if (in->lab) sl_rows_gather(in->lab, in->lab, sizeof *in->lab, pick, in->m);
    if (in->imgs) sl_rows_gather(in->imgs, in->imgs, (size_t)in->ih * (size_t)in->iw * (size_t)in->ic, pick, in->m);
    free(pick);
    fprintf(stderr, "map: using a random sample of %zu of the %zu rows (--max-points)\n", in->m, in->n);
    return 0;
}

/* The map (m x od) by t-SNE or PCA; `what` describes it. */
static int make_map(const cli_args *a, const map_input *in, bool tsne, int od, float *y, char *what, size_t cap) {
    sl_status st;
    if (tsne) {
        sl_tsne_config c;
        sl_tsne_config_default(&c);
        c.perplexity = cli_float(a, "perplexity");
        c.max_iter = (int)cli_int(a, "iters");
        c.theta = cli_float(a, "theta");
        c.learning_rate = cli_float(a, "learning-rate");
        c.seed = (uint64_t)cli_int(a, "seed");
        sl_progress *prog = NULL;
        if (!(st = sl_progress_create(stderr, cli_progress_mode(a), "t-SNE", (uint64_t)c.max_iter, "it", &prog))) {
            c.progress = prog;
            c.stop = cli_stop_begin();
            st = sl_tsne_run(&c, in->x, in->m, in->d, y);
            cli_stop_end();
            if (st != SL_ERR_INTERRUPTED) sl_progress_finish(prog, NULL);
        }
        sl_progress_destroy(prog);
        if (st) return cli_fail(st);
        snprintf(what, cap, "t-SNE (perplexity %g, %d iterations)", c.perplexity, c.max_iter);
        return 0;
    }
    sl_pca *p;
    if ((st = sl_pca_fit(in->x, in->m, in->d, (size_t)od, &p))) return cli_fail(st);
    sl_pca_transform(p, in->x, in->m, y);
    int len = snprintf(what, cap, "PCA (variance explained:");
    for (int c = 0; c < od && c < 4 && len < (int)cap - 16; c++)
        len += snprintf(what + len, cap - (size_t)len, " %.1f%%",
                        100.0 * p->variance[c] / (p->total_variance > 0 ? p->total_variance : 1));
    snprintf(what + len, cap - (size_t)len, "%s)", od > 4 ? " ..." : "");
    sl_pca_destroy(p);
    return 0;
}

/* Trustworthiness on a seeded sample of --trust points: exact, O(s^2 d). */
static void print_trust(const cli_args *a, const map_input *in, const float *y, int od) {
    size_t ts = (size_t)cli_int(a, "trust"), m = in->m, d = in->d;
    if (ts == 0 || m < 40) return;
    size_t s = ts < m ? ts : m;
    float *tx = malloc(s * d * sizeof *tx), *ty = malloc(s * (size_t)od * sizeof *ty);
    size_t *ix = malloc(s * sizeof *ix);
    sl_rng rng;
    sl_rng_seed(&rng, (uint64_t)cli_int(a, "seed"), 0x7a);
    if (tx && ty && ix && sl_rng_sample(&rng, m, s, false, ix) == SL_OK) {
        sl_rows_gather(tx, in->x, d * sizeof *tx, ix, s);
        sl_rows_gather(ty, y, (size_t)od * sizeof *ty, ix, s);
        double tr;
        int k = s >= 40 ? 10 : 1;
        if (sl_map_trustworthiness(tx, s, d, ty, (size_t)od, k, &tr) == SL_OK)
            printf("map: trustworthiness@%d on %zu points: %.4f\n", k, s, tr);
    }
    free(tx), free(ty), free(ix);
}

/* The SVG scatter plot of the first two map coordinates. */
static int write_svg(const cli_args *a, const map_input *in, bool tsne, const float *y, int od, const char *out) {
    size_t m = in->m;
    float *xy = NULL;
    if (od > 2) {
        if (!(xy = malloc(m * 2 * sizeof *xy))) return cli_fail(SL_ERR_NOMEM);
        for (size_t i = 0; i < m; i++) xy[2 * i] = y[i * (size_t)od], xy[2 * i + 1] = y[i * (size_t)od + 1];
    }
    char title[512];
    snprintf(title, sizeof title, "%s of %s", tsne ? "t-SNE" : "PCA", base_name(a->pos[0]));
    sl_scatter sc = {0};
    sc.xy = xy ? xy : y;
    sc.n = m;
    sc.labels = in->lab;
    sc.names = (const char *const *)in->names;
    sc.n_names = in->n_names;
    sc.legend_title = in->lab ? "label" : NULL;
    sc.text.title = cli_str(a, "title") ? cli_str(a, "title") : title;
    sl_scatter_thumbs th = {in->imgs, in->iw, in->ih, in->ic, (size_t)cli_int(a, "thumbs"), 0, (uint64_t)cli_int(a, "seed")};
    if (in->imgs) sc.thumbs = &th;
    sc.text.x_label = tsne ? "t-SNE 1" : "PC 1";
    sc.text.y_label = tsne ? "t-SNE 2" : "PC 2";
    char *svg = NULL;
    size_t len;
    sl_status st = sl_plot_scatter(&sc, &svg, &len);
    free(xy);
    if (!st) st = sl_svg_write(out, svg, len);
    sl_allocator_free(svg);
    if (st) return cli_fail(st);
    printf("map: wrote %s\n", out);
    return 0;
}

static int run(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    const char *out = cli_str(&a, "output"), *coords = cli_str(&a, "coords");
    bool tsne = strcmp(cli_str(&a, "method"), "tsne") == 0;
    int od = tsne ? 2 : (int)cli_int(&a, "dims");
    if (!out && !coords) return cli_usage_error("map: nothing to write; give -o map.svg and/or --coords map.npy");
    if (tsne && cli_given(&a, "dims") && cli_int(&a, "dims") != 2)
        return cli_usage_error("map: t-SNE maps to 2 dimensions; --dims is for --method pca");
    sl_threads_set((int)cli_int(&a, "threads"));
    map_input in = {0};
    float *y = NULL;
    rc = load_input(&a, &in);
    if (!rc) rc = sample_rows(&a, &in);
    if (!rc && !(y = malloc(in.m * (size_t)od * sizeof *y))) rc = cli_fail(SL_ERR_NOMEM);
    char what[160];
    double t0 = sl_time_now();
    if (!rc) rc = make_map(&a, &in, tsne, od, y, what, sizeof what);
    if (!rc) {
        printf("map: %zu points, %zu dims -> %d by %s in %.2f s\n", in.m, in.d, od, what, sl_time_now() - t0);
        print_trust(&a, &in, y, od);
    }
    sl_status st;
    if (!rc && coords) {
        if ((st = sl_npy_write_matrix(coords, y, in.m, (size_t)od))) rc = cli_fail(st);
        else printf("map: wrote %s (%zu x %d)\n", coords, in.m, od);
    }
    if (!rc && out) rc = write_svg(&a, &in, tsne, y, od, out);
    free(y);
    input_free(&in);
    return rc;
}

const cli_command cli_cmd_map = {"map", "draw a 2-D map (PCA or t-SNE) of embeddings as SVG", run, false};

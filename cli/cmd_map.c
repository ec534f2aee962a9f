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

static int run(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    const char *out = cli_str(&a, "output"), *coords = cli_str(&a, "coords");
    const char *method = cli_str(&a, "method");
    bool tsne = strcmp(method, "tsne") == 0;
    int dims = (int)cli_int(&a, "dims");
    int rc = 1;
    float *x = NULL, *sx = NULL, *y = NULL; /* x from the library (sl_allocator_free), sx the sample (free) */
    int64_t *lab = NULL;
    size_t *pick = NULL;
    uint8_t *imgs = NULL;
    int ih = 0, iw = 0, ic = 0;
    char *names_buf = NULL, **names = NULL, *svg = NULL;
    size_t n_names = 0;
    sl_progress *prog = NULL;
    if (!out && !coords) {
        rc = cli_usage_error("map: nothing to write; give -o map.svg and/or --coords map.npy");
        goto done;
    }
    if (tsne && cli_given(&a, "dims") && dims != 2) {
        rc = cli_usage_error("map: t-SNE maps to 2 dimensions; --dims is for --method pca");
        goto done;
    }
    sl_threads_set((int)cli_int(&a, "threads"));
    size_t n, d, nl = 0;
    sl_status st = sl_npy_read_matrix(a.pos[0], &x, &n, &d);
    if (st) {
        rc = cli_fail(st);
        goto done;
    }
    if ((size_t)dims > d) {
        rc = cli_usage_error("map: --dims %d is more than the %zu input dimensions", dims, d);
        goto done;
    }
    if (cli_str(&a, "labels")) {
        if ((st = sl_npy_read_labels(cli_str(&a, "labels"), &lab, &nl))) {
            rc = cli_fail(st);
            goto done;
        }
        if (nl != n) {
            fprintf(stderr, "simlearn: error: %s has %zu labels for %zu rows of %s\n", cli_str(&a, "labels"), nl, n,
                    a.pos[0]);
            goto done;
        }
    }
    if (cli_str(&a, "images") && load_images(cli_str(&a, "images"), n, &imgs, &ih, &iw, &ic)) goto done;
    if (cli_str(&a, "label-names") && split_names(cli_str(&a, "label-names"), &names_buf, &names, &n_names)) {
        fprintf(stderr, "simlearn: error: out of memory\n");
        goto done;
    }
    /* A seeded random sample of rows, kept in file order. */
    size_t maxp = (size_t)cli_int(&a, "max-points"), m = n;
    uint64_t seed = (uint64_t)cli_int(&a, "seed");
    if (maxp && n > maxp) {
        pick = malloc(n * sizeof *pick);
        sx = malloc(maxp * d * sizeof *sx);
        if (!pick || !sx) {
            fprintf(stderr, "simlearn: error: out of memory\n");
            goto done;
        }
        for (size_t i = 0; i < n; i++) pick[i] = i;
        sl_rng rng;
        sl_rng_seed(&rng, seed, 0x5a);
        sl_rng_shuffle(&rng, pick, n, sizeof *pick);
        m = maxp;
        /* Insertion-sort the chosen indices so the sample keeps file order. */
        for (size_t i = 1; i < m; i++) {
            size_t v = pick[i], j = i;
            while (j > 0 && pick[j - 1] > v) pick[j] = pick[j - 1], j--;
            pick[j] = v;
        }
        for (size_t i = 0; i < m; i++) {
            memcpy(sx + i * d, x + pick[i] * d, d * sizeof *sx);
            if (lab) lab[i] = lab[pick[i]];
            if (imgs) {
                size_t per = (size_t)ih * (size_t)iw * (size_t)ic;
                memmove(imgs + i * per, imgs + pick[i] * per, per);
            }
        }
        sl_allocator_free(x);
        x = NULL;
        fprintf(stderr, "map: using a random sample of %zu of the %zu rows (--max-points)\n", m, n);
    }
    const float *X = sx ? sx : x;
    int od = tsne ? 2 : dims;
    y = malloc(m * (size_t)od * sizeof *y);
    if (!y) {
        fprintf(stderr, "simlearn: error: out of memory\n");
        goto done;
    }
    double t0 = sl_time_now();
    char what[160];
    if (tsne) {
        sl_tsne_config c;
        sl_tsne_config_default(&c);
        c.perplexity = cli_float(&a, "perplexity");
        c.max_iter = (int)cli_int(&a, "iters");
        c.theta = cli_float(&a, "theta");
        c.learning_rate = cli_float(&a, "learning-rate");
        c.seed = seed;
        if ((st = sl_progress_create(stderr, cli_progress_mode(&a), "t-SNE", (uint64_t)c.max_iter, "it", &prog))) {
            rc = cli_fail(st);
            goto done;
        }
        c.progress = prog;
        c.stop = cli_stop_begin();
        st = sl_tsne_run(&c, X, m, d, y);
        cli_stop_end();
        if (st != SL_ERR_INTERRUPTED) sl_progress_finish(prog, NULL);
        if (st) {
            rc = cli_fail(st);
            goto done;
        }
        snprintf(what, sizeof what, "t-SNE (perplexity %g, %d iterations)", c.perplexity, c.max_iter);
    } else {
        sl_pca *p;
        if ((st = sl_pca_fit(X, m, d, (size_t)od, &p))) {
            rc = cli_fail(st);
            goto done;
        }
        sl_pca_transform(p, X, m, y);
        int len = snprintf(what, sizeof what, "PCA (variance explained:");
        for (int c = 0; c < od && c < 4 && len < (int)sizeof what - 16; c++)
            len += snprintf(what + len, sizeof what - (size_t)len, " %.1f%%",
                            100.0 * p->variance[c] / (p->total_variance > 0 ? p->total_variance : 1));
        snprintf(what + len, sizeof what - (size_t)len, "%s)", od > 4 ? " ..." : "");
        sl_pca_destroy(p);
    }
    double el = sl_time_now() - t0;
    printf("map: %zu points, %zu dims -> %d by %s in %.2f s\n", m, d, od, what, el);
    /* Trustworthiness on a sample: exact, O(s^2 d). */
    size_t ts = (size_t)cli_int(&a, "trust");
    if (ts > 0 && m >= 40) {
        size_t s = (ts < m ? ts : m);
        float *tx = malloc(s * d * sizeof *tx), *ty = malloc(s * (size_t)od * sizeof *ty);
        size_t *ix = malloc(m * sizeof *ix);
        if (tx && ty && ix) {
            for (size_t i = 0; i < m; i++) ix[i] = i;
            sl_rng rng;
            sl_rng_seed(&rng, seed, 0x7a);
            sl_rng_shuffle(&rng, ix, m, sizeof *ix);
            for (size_t i = 0; i < s; i++) {
                memcpy(tx + i * d, X + ix[i] * d, d * sizeof *tx);
                memcpy(ty + i * (size_t)od, y + ix[i] * (size_t)od, (size_t)od * sizeof *ty);
            }
            double tr;
            int k = s >= 40 ? 10 : 1;
            if ((st = sl_map_trustworthiness(tx, s, d, ty, (size_t)od, k, &tr)) == SL_OK)
                printf("map: trustworthiness@%d on %zu points: %.4f\n", k, s, tr);
        }
        free(tx), free(ty), free(ix);
    }
    if (coords) {
        if ((st = sl_npy_write_matrix(coords, y, m, (size_t)od))) {
            rc = cli_fail(st);
            goto done;
        }
        printf("map: wrote %s (%zu x %d)\n", coords, m, od);
    }
    if (out) {
        float *xy = y;
        if (od > 2) {
            xy = malloc(m * 2 * sizeof *xy);
            if (!xy) goto done;
            for (size_t i = 0; i < m; i++) xy[2 * i] = y[i * (size_t)od], xy[2 * i + 1] = y[i * (size_t)od + 1];
        }
        char title[512];
        snprintf(title, sizeof title, "%s of %s", tsne ? "t-SNE" : "PCA", base_name(a.pos[0]));
        sl_scatter sc = {0};
        sc.xy = xy;
        sc.n = m;
        sc.labels = lab;
        sc.names = (const char *const *)names;
        sc.n_names = n_names;
        sc.legend_title = lab ? "label" : NULL;
        sc.text.title = cli_str(&a, "title") ? cli_str(&a, "title") : title;
        sl_scatter_thumbs th = {imgs, iw, ih, ic, (size_t)cli_int(&a, "thumbs"), 0, seed};
        if (imgs) sc.thumbs = &th;
        sc.text.x_label = tsne ? "t-SNE 1" : "PC 1";
        sc.text.y_label = tsne ? "t-SNE 2" : "PC 2";
        size_t len;
        st = sl_plot_scatter(&sc, &svg, &len);
        if (xy != y) free(xy);
        if (!st) st = sl_svg_write(out, svg, len);
        if (st) {
            rc = cli_fail(st);
            goto done;
        }
        printf("map: wrote %s\n", out);
    }
    rc = 0;
done:
    sl_progress_destroy(prog);
    sl_allocator_free(x);
    free(sx), free(y), free(pick), free(imgs), free(names_buf), free(names);
    sl_allocator_free(lab);
    sl_allocator_free(svg);
    return rc;
}

const cli_command cli_cmd_map = {"map", "draw a 2-D map (PCA or t-SNE) of embeddings as SVG", run};

/* simlearn knn graph / knn path: the k-NN graph of a set of vectors (exact or
 * through HNSW) with its statistics, and shortest paths in it. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt graph_opts[] = {
    {"k", 'k', CLI_INT, "10", "neighbours per row", NULL, 1, 1e6, false},
    {"metric", 0, CLI_CHOICE, "l2", "distance: Euclidean, or 1 - cosine", "l2|cosine", 0, 0, false},
    {"approx", 0, CLI_FLAG, NULL, "search an HNSW index of the rows instead of exact search", NULL, 0, 0, false},
    {"M", 0, CLI_INT, "16", "--approx: links per node", NULL, 2, 1024, false},
    {"ef-construction", 0, CLI_INT, "200", "--approx: candidate list while building", NULL, 1, 1e6, false},
    {"ef", 0, CLI_INT, "64", "--approx: candidate list while searching", NULL, 1, 1e6, false},
    {"pairs", 0, CLI_INT, "1000", "random pairs whose graph (geodesic) and straight-line distances are compared (0: none)",
     NULL, 0, 1e6, false},
    {"out", 'o', CLI_STR, NULL, "write OUT.ids.npy (int64, n x k) and OUT.dist.npy (float32, n x k)", NULL, 0, 0,
     false},
    {"plot", 0, CLI_STR, NULL, "draw the pairs' graph distance against their straight-line distance (SVG)", NULL, 0, 0,
     false},
    CLI_OPT_SEED,
    CLI_OPT_THREADS,
    CLI_OPT_QUIET,
    CLI_OPT_END};

static const cli_spec graph_spec = {
    "simlearn knn graph X.npy [-k K] [--metric l2|cosine] [--approx] [-o OUT] [options]",
    "The k-NN graph of the rows of X: each row's k nearest other rows (exact search, or an HNSW\n"
    "index with --approx) and the edge lengths (Euclidean distance, or 1 - cosine). Prints the\n"
    "in-degree distribution and the hubs, the share of reciprocal neighbours, the connected\n"
    "components of the symmetrised graph, and, for random pairs of rows, how the shortest path\n"
    "through the graph (the geodesic) compares with the straight line. -o writes the graph.",
    graph_opts, 1, 1,
    "examples:\n"
    "  simlearn knn graph emb.npy -k 10 -o g\n"
    "  simlearn knn graph emb.npy -k 15 --metric cosine --approx --ef 100 -o g"};

static const cli_opt path_opts[] = {
    {"graph", 0, CLI_STR, NULL, "the graph: OUT of 'knn graph -o OUT' (OUT.ids.npy, OUT.dist.npy)", NULL, 0, 0, true},
    {"from", 0, CLI_INT, NULL, "the first row", NULL, 0, 9.2e18, true},
    {"to", 0, CLI_INT, NULL, "the last row", NULL, 0, 9.2e18, true},
    {"strip", 0, CLI_STR, NULL, "write the path's items as a PNG strip (with --data)", NULL, 0, 0, false},
    {"scale", 0, CLI_INT, "2", "--strip: integer upscaling of each image", NULL, 1, 16, false},
    CLI_OPT_DATA(NULL, "--strip: the dataset whose items, in order, are the graph's rows"),
    CLI_OPT_DATA_COUNT("shapes: items in the split (0 = 50000/5000/10000)"),
    CLI_DATA_OPTS("test"),
    CLI_OPT_END};

static const cli_spec path_spec = {
    "simlearn knn path --graph OUT --from I --to J",
    "The shortest path from row I to row J in a k-NN graph written by 'knn graph -o OUT',\n"
    "symmetrised (i and j are joined when either lists the other): Dijkstra on the edge\n"
    "lengths. Prints the path's length, its steps and its rows, or that J cannot be reached.\n"
    "--strip draws the items along the path from the dataset whose items are the graph's rows\n"
    "(--data and its options, e.g. the split that was embedded).",
    path_opts, 0, 0,
    "examples:\n"
    "  simlearn knn path --graph g --from 12 --to 4031\n"
    "  simlearn knn path --graph g --from 0 --to 1 --strip path.png --data fashion-mnist --split test"};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_stats(const sl_knngraph_stats *s) {
    printf("in-degree: min %zu, median %g, max %zu, skewness %.2f; %zu rows (%.1f%%) in no list\n", s->indegree_min,
           s->indegree_median, s->indegree_max, s->indegree_skew, s->zero_indegree,
           100.0 * (double)s->zero_indegree / (double)s->n);
    printf("hubs (in-degree):");
    for (size_t h = 0; h < s->n_hubs; h++) printf(" %lld (%zu)", (long long)s->hubs[h], s->hub_indegree[h]);
    printf("\nreciprocal neighbours: %.1f%% of the edges\n", 100 * s->reciprocal);
    printf("components of the symmetrised graph: %zu; the largest holds %zu rows (%.1f%%)\n", s->components,
           s->largest_component, 100.0 * (double)s->largest_component / (double)s->n);
}

/* The reachable pairs as points (straight line, through the graph), drawn. */
static int plot_geodesics(const char *path, const float *xy, size_t np, size_t pairs) {
    if (np == 0) {
        fprintf(stderr, "simlearn: error: %s: no pair is connected through the graph; nothing to draw\n", path);
        return 1;
    }
    char title[96];
    snprintf(title, sizeof title, "distance through the k-NN graph, %zu random pairs", pairs);
    sl_scatter sc = {.xy = xy, .n = np, .text = {title, "straight-line distance", "distance through the graph", 0, 0}};
    char *svg = NULL;
    size_t len;
    sl_status s = sl_plot_scatter(&sc, &svg, &len);
    if (!s) s = sl_svg_write(path, svg, len);
    sl_allocator_free(svg);
    if (s) return cli_fail(s);
    printf("wrote %s\n", path);
    return 0;
}

/* Geodesic / straight-line distance for `pairs` random pairs of distinct rows
 * (drawn into `plot` when not NULL). */
static int print_geodesics(const float *x, size_t n, size_t d, const int64_t *ids, const float *len, size_t k,
                           sl_metric m, size_t pairs, uint64_t seed, const char *plot) {
    if (pairs == 0) return 0;
    double *g = malloc(pairs * sizeof *g), *straight = malloc(pairs * sizeof *straight);
    double *ratio = malloc(pairs * sizeof *ratio);
    float *xy = malloc(pairs * 2 * sizeof *xy);
    int rc = 0;
    size_t nxy = 0;
    if (!g || !straight || !ratio || !xy) {
        fprintf(stderr, "simlearn: error: out of memory\n");
        rc = 1;
    }
    sl_status s = rc ? SL_OK : sl_knngraph_sample_pairs(x, n, d, m, ids, len, k, pairs, seed, g, straight);
    if (s) rc = cli_fail(s);
    size_t nr = 0, unreachable = 0;
    for (size_t p = 0; !rc && p < pairs; p++) {
        if (isinf(g[p])) {
            unreachable++;
            continue;
        }
        xy[2 * nxy] = (float)straight[p], xy[2 * nxy++ + 1] = (float)g[p];
        if (straight[p] > 0) ratio[nr++] = g[p] / straight[p];
    }
    if (!rc && nr) {
        qsort(ratio, nr, sizeof *ratio, cmp_double);
        printf("geodesic / straight-line distance over %zu random pairs: median %.3f, 90th percentile %.3f, max %.3f",
               pairs, ratio[nr / 2], ratio[(size_t)(0.9 * (double)(nr - 1))], ratio[nr - 1]);
        printf("; %zu unreachable\n", unreachable);
    } else if (!rc) {
        printf("geodesic / straight-line distance over %zu random pairs: %zu unreachable\n", pairs, unreachable);
    }
    if (!rc && plot) rc = plot_geodesics(plot, xy, nxy, pairs);
    free(g), free(straight), free(ratio), free(xy);
    return rc;
}

static int write_graph(const char *out, const int64_t *ids, const float *len, size_t n, size_t k) {
    size_t m = strlen(out) + 16;
    char *pi = malloc(m), *pd = malloc(m);
    if (!pi || !pd) return free(pi), free(pd), fprintf(stderr, "simlearn: error: out of memory\n"), 1;
    snprintf(pi, m, "%s.ids.npy", out);
    snprintf(pd, m, "%s.dist.npy", out);
    sl_array arr = {.dtype = SL_I64, .ndim = 2, .shape = {n, k}, .data = (void *)ids};
    sl_status s = sl_npy_write(pi, &arr);
    if (!s) s = sl_npy_write_matrix(pd, len, n, k);
    if (!s) printf("wrote %s (%zu x %zu int64) and %s (float32)\n", pi, n, k, pd);
    free(pi), free(pd);
    return s ? cli_fail(s) : 0;
}

int cli_knn_graph(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&graph_spec, argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    sl_knngraph_config c;
    sl_knngraph_config_default(&c);
    c.k = (size_t)cli_int(&a, "k");
    sl_metric_parse(cli_str(&a, "metric"), &c.metric);
    c.approximate = cli_flag(&a, "approx");
    c.M = (size_t)cli_int(&a, "M"), c.ef_construction = (size_t)cli_int(&a, "ef-construction");
    c.ef = (size_t)cli_int(&a, "ef"), c.seed = (uint64_t)cli_int(&a, "seed");
    if (cli_given(&a, "plot") && cli_int(&a, "pairs") == 0) return cli_usage_error("--plot needs --pairs above 0");
    static const char *const approx_only[] = {"M", "ef-construction", "ef"};
    for (size_t i = 0; i < 3; i++)
        if (!c.approximate && cli_given(&a, approx_only[i])) return cli_usage_error("--%s is for --approx", approx_only[i]);
    sl_threads_set((int)cli_int(&a, "threads"));
    const char *path = a.pos[0];
    float *x = NULL;
    size_t n, d, nk;
    sl_status s = sl_npy_read_matrix(path, &x, &n, &d);
    if (s) return cli_fail(s);
    int64_t *ids = NULL;
    float *len = NULL;
    if (!sl_size_mul(n, c.k, &nk) || (rc = cli_alloc_results(n, c.k, &ids, &len)) != 0) {
        sl_allocator_free(x);
        return rc ? rc : cli_usage_error("-k %zu: too large for %zu rows", c.k, n);
    }
    if (!cli_flag(&a, "quiet")) sl_progress_create(stderr, cli_progress_mode(&a), "k-NN graph", n, "rows", &c.progress);
    c.stop = cli_stop_begin();
    double t0 = sl_time_now();
    s = sl_knngraph_build(x, n, d, &c, ids, len);
    double secs = sl_time_now() - t0;
    cli_stop_end();
    if (c.progress) sl_progress_finish(c.progress, NULL), sl_progress_destroy(c.progress);
    sl_knngraph_stats st;
    if (!s) s = sl_knngraph_describe(ids, n, c.k, &st);
    if (s) {
        rc = cli_fail(s);
    } else {
        printf("k-NN graph of %s: %zu rows, k %zu, %s, %s, in %.2f s\n", path, n, c.k, sl_metric_name(c.metric),
               c.approximate ? "HNSW" : "exact", secs);
        print_stats(&st);
        rc = print_geodesics(x, n, d, ids, len, c.k, c.metric, (size_t)cli_int(&a, "pairs"),
                             (uint64_t)cli_int(&a, "seed"), cli_str(&a, "plot"));
        if (!rc && cli_str(&a, "out")) rc = write_graph(cli_str(&a, "out"), ids, len, n, c.k);
    }
    free(ids), free(len), sl_allocator_free(x);
    return rc;
}

/* OUT.ids.npy and OUT.dist.npy, of the same shape. */
static int read_graph(const char *out, int64_t **ids, float **len, size_t *n, size_t *k) {
    size_t m = strlen(out) + 16, n2, k2;
    char *pi = malloc(m), *pd = malloc(m);
    if (!pi || !pd) return free(pi), free(pd), fprintf(stderr, "simlearn: error: out of memory\n"), 1;
    snprintf(pi, m, "%s.ids.npy", out);
    snprintf(pd, m, "%s.dist.npy", out);
    int rc = 0;
    sl_status s = sl_npy_read_int_matrix(pi, ids, n, k);
    if (!s) s = sl_npy_read_matrix(pd, len, &n2, &k2);
    if (s) {
        rc = cli_fail(s);
    } else if (n2 != *n || k2 != *k) {
        fprintf(stderr, "simlearn: error: %s is %zu x %zu but %s is %zu x %zu; expected the same shape\n", pd, n2, k2,
                pi, *n, *k);
        rc = 1;
    }
    if (rc) sl_allocator_free(*ids), sl_allocator_free(*len), *ids = NULL, *len = NULL;
    free(pi), free(pd);
    return rc;
}

/* The path's items from the dataset of --data, one strip of images. */
static int draw_strip(const cli_args *a, const int64_t *path, size_t np, size_t n) {
    sl_data_config dc;
    int rc = cli_data_config(a, cli_str(a, "data"), &dc);
    if (rc) return rc;
    sl_dataset *d = NULL;
    sl_sheet *sh = NULL;
    float *x = NULL;
    sl_status s = sl_data_open(&dc, &d);
    if (s) return cli_fail(s);
    int c = sl_data_channels(d), h = sl_data_height(d), w = sl_data_width(d);
    if (sl_data_count(d) != n) {
        fprintf(stderr, "simlearn: error: the graph has %zu rows but %s (%s split) has %zu items; expected one per row\n",
                n, sl_data_name(d), sl_split_name(sl_data_split(d)), sl_data_count(d));
        rc = 1;
    } else if (h < 2 || w < 2) {
        rc = cli_usage_error("%s holds vectors (%dx%d), not images; --strip draws images", sl_data_name(d), h, w);
    } else if ((s = sl_sheet_create(1, (int)np, w, h, (int)cli_int(a, "scale"), &sh)) != SL_OK) {
        rc = cli_fail(s);
    } else if (!(x = malloc(sl_data_item_size(d) * sizeof *x))) {
        rc = cli_fail(SL_ERR_NOMEM);
    }
    char caption[SL_CAPTION_MAX];
    int32_t lab[8];
    for (size_t i = 0; !rc && i < np; i++) {
        s = sl_data_get(d, (size_t)path[i], x, lab, caption);
        if (!s) s = sl_sheet_draw(sh, 0, (int)i, x, c);
        if (s) rc = cli_fail(s);
    }
    if (!rc) {
        char text[128];
        snprintf(text, sizeof text, "%lld to %lld, %zu steps", (long long)path[0], (long long)path[np - 1], np - 1);
        sl_sheet_caption(sh, 0, text);
        int W, H;
        const uint8_t *rgb = sl_sheet_rgb(sh, &W, &H);
        if ((s = sl_png_write(cli_str(a, "strip"), rgb, W, H, 3)) != SL_OK)
            rc = cli_fail(s);
        else
            printf("wrote %s: the %zu items of the path, %dx%d pixels\n", cli_str(a, "strip"), np, W, H);
    }
    free(x);
    sl_sheet_destroy(sh);
    sl_data_destroy(d);
    return rc;
}

int cli_knn_path(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&path_spec, argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    if (cli_given(&a, "strip") != cli_given(&a, "data")) return cli_usage_error("--strip and --data go together");
    int64_t *ids = NULL, *path = NULL;
    float *len = NULL;
    size_t n, k, np;
    if ((rc = read_graph(cli_str(&a, "graph"), &ids, &len, &n, &k)) != 0) return rc;
    int64_t from = (int64_t)cli_int(&a, "from"), to = (int64_t)cli_int(&a, "to");
    double length;
    sl_status s = sl_knngraph_path(ids, len, n, k, from, to, &path, &np, &length);
    if (s) {
        rc = cli_fail(s);
    } else if (!path) {
        printf("no path from %lld to %lld: they lie in different components of the graph\n", (long long)from,
               (long long)to);
    } else {
        printf("path from %lld to %lld: %zu steps, length %.6g\n", (long long)from, (long long)to, np - 1, length);
        for (size_t i = 0; i < np; i++) printf("%s%lld", i ? " " : "", (long long)path[i]);
        printf("\n");
        if (cli_given(&a, "strip")) rc = draw_strip(&a, path, np, n);
    }
    sl_allocator_free(path), sl_allocator_free(ids), sl_allocator_free(len);
    return rc;
}

/* simlearn index build|search|add|delete|info: an HNSW index over .npy
 * embeddings, saved to a file, searched, grown, shrunk and inspected. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* An add that failed: a key refused because of --ids is named with its file. */
static int add_fail(sl_status s, const char *ids_path) {
    if (s != SL_ERR_ARG || !ids_path) return cli_fail(s);
    fprintf(stderr, "simlearn: error: %s: %s\n", ids_path, sl_error_message());
    return 1;
}

/* ---- build ---------------------------------------------------------------*/

static const cli_opt build_opts[] = {
    {"output", 'o', CLI_STR, NULL, "index file to write", NULL, 0, 0, true},
    {"metric", 0, CLI_CHOICE, "l2", "distance", "l2|ip|cosine", 0, 0, false},
    {"M", 0, CLI_INT, "16", "links per node (2M on level 0)", NULL, 2, 512, false},
    {"ef-construction", 0, CLI_INT, "200", "candidate list size while building", NULL, 1, 100000, false},
    {"labels", 0, CLI_STR, NULL, "int labels (.npy, one per row) for label filters", NULL, 0, 0, false},
    {"ids", 0, CLI_STR, NULL, "the rows' ids (.npy of ints >= 0, one per row, distinct) instead of 0..n-1", NULL, 0, 0, false},
    CLI_OPT_THREADS,
    CLI_OPT_SEED,
    CLI_OPT_QUIET,
    CLI_OPT_END};
static const cli_spec build_spec = {
    "simlearn index build BASE.npy -o INDEX [options]",
    "Build an HNSW index over the rows of BASE.npy and save it. The rows' ids are 0..n-1, or\n"
    "those of --ids (searches return them; delete and --allow-ids take them).\n"
    "With --threads 1 the index is the same bytes on every run.",
    build_opts, 1, 1, "example:\n  simlearn index build train.npy -o train.hnsw --metric cosine"};

static int cmd_build(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&build_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_threads_set((int)cli_int(&a, "threads"));
    float *x = NULL;
    int64_t *labels = NULL, *ids = NULL;
    size_t n, d;
    sl_hnsw *h = NULL;
    sl_progress *p = NULL;
    sl_metric m;
    sl_status s = sl_npy_read_matrix(a.pos[0], &x, &n, &d);
    int rc = 0;
    if (s) {
        rc = cli_fail(s);
        goto out;
    }
    if (n == 0) {
        fprintf(stderr, "simlearn: error: %s: no rows to index\n", a.pos[0]);
        rc = 1;
        goto out;
    }
    if (cli_str(&a, "labels") && (rc = cli_read_labels(cli_str(&a, "labels"), n, "vectors", &labels))) goto out;
    if (cli_str(&a, "ids") && (rc = cli_read_ints(cli_str(&a, "ids"), n, "ids", "vectors", &ids))) goto out;
    sl_metric_parse(cli_str(&a, "metric"), &m);
    sl_hnsw_config cfg = {.dim = d, .metric = m, .M = (size_t)cli_int(&a, "M"),
                          .ef_construction = (size_t)cli_int(&a, "ef-construction"), .seed = (uint64_t)cli_int(&a, "seed")};
    double t = sl_time_now();
    if ((s = sl_hnsw_create(&cfg, &h)) || (s = sl_progress_create(stderr, cli_progress_mode(&a), "build", n, "vec", &p)) ||
        (s = sl_hnsw_add_keys(h, x, n, ids, labels, p, cli_stop_begin()))) {
        rc = add_fail(s, cli_str(&a, "ids"));
        goto out;
    }
    cli_stop_end();
    sl_progress_finish(p, NULL);
    t = sl_time_now() - t;
    if ((s = sl_hnsw_save(h, cli_str(&a, "output")))) {
        rc = cli_fail(s);
        goto out;
    }
    printf("built %s: %zu vectors, %zu dims, metric %s, M %zu, ef_construction %zu, in %.2f s\n", cli_str(&a, "output"),
           n, d, sl_metric_name(m), cfg.M, cfg.ef_construction, t);
out:
    cli_stop_end();
    sl_progress_destroy(p);
    sl_hnsw_destroy(h);
    sl_allocator_free(x), sl_allocator_free(labels), sl_allocator_free(ids);
    return rc;
}

/* ---- search --------------------------------------------------------------*/

static const cli_opt search_opts[] = {
    {"k", 'k', CLI_INT, "10", "neighbours per query", NULL, 1, 1e9, false},
    {"ef", 0, CLI_INT, "64", "candidate list size (raised to k)", NULL, 1, 1e9, false},
    {"ids-out", 0, CLI_STR, NULL, "write the ids (int64 .npy, queries x k)", NULL, 0, 0, false},
    {"scores-out", 0, CLI_STR, NULL, "write the scores (float32 .npy, queries x k)", NULL, 0, 0, false},
    {"allow-ids", 0, CLI_STR, NULL, "only return these ids (.npy of ints)", NULL, 0, 0, false},
    {"allow-labels", 0, CLI_STR, NULL, "only return nodes with these labels (e.g. 3,7)", NULL, 0, 0, false},
    CLI_OPT_THREADS,
    CLI_OPT_END};
static const cli_spec search_spec = {
    "simlearn index search INDEX QUERIES.npy [options]",
    "Search the index for the k nearest rows to each query. Scores are squared L2 distances\n"
    "(l2) or similarities (ip, cosine), best first. Without --ids-out/--scores-out the results\n"
    "are printed as 'query: id(score) ...'. Filters are applied during the search.",
    search_opts, 2, 2, "example:\n  simlearn index search train.hnsw test.npy -k 10 --ef 64 --ids-out nn.npy"};

static int cmd_search(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&search_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_threads_set((int)cli_int(&a, "threads"));
    sl_hnsw *h = NULL;
    float *q = NULL, *sc = NULL;
    int64_t *ids = NULL, *allow = NULL, *labs = NULL;
    size_t nq, dq, na = 0, nl = 0, k = (size_t)cli_int(&a, "k");
    int rc = 0;
    sl_status s;
    if ((s = sl_hnsw_load(a.pos[0], &h)) || (s = sl_npy_read_matrix(a.pos[1], &q, &nq, &dq))) {
        rc = cli_fail(s);
        goto out;
    }
    sl_hnsw_info info;
    sl_hnsw_get_info(h, &info);
    if (dq != info.dim) {
        fprintf(stderr, "simlearn: error: %s has %zu columns but the index %s holds %zu-dimensional vectors\n",
                a.pos[1], dq, a.pos[0], info.dim);
        rc = 1;
        goto out;
    }
    if (nq == 0) {
        fprintf(stderr, "simlearn: error: %s: no queries (0 rows)\n", a.pos[1]);
        rc = 1;
        goto out;
    }
    if (cli_str(&a, "allow-ids") && (s = sl_npy_read_labels(cli_str(&a, "allow-ids"), &allow, &na))) {
        rc = cli_fail(s);
        goto out;
    }
    if (cli_str(&a, "allow-labels") && (rc = cli_int_list("allow-labels", cli_str(&a, "allow-labels"), INT64_MIN, INT64_MAX, &labs, &nl)))
        goto out;
    if (k > info.live) {
        fprintf(stderr, "simlearn: error: k = %zu but the index holds %zu vectors\n", k, info.live);
        rc = 1;
        goto out;
    }
    if ((rc = cli_alloc_results(nq, k, &ids, &sc))) goto out;
    sl_hnsw_filter f = {.allow_ids = allow, .n_allow_ids = na, .allow_labels = labs, .n_allow_labels = nl};
    if ((s = sl_hnsw_search(h, q, nq, k, (size_t)cli_int(&a, "ef"), &f, ids, sc))) {
        rc = cli_fail(s);
        goto out;
    }
    rc = cli_write_neighbours(cli_str(&a, "ids-out"), cli_str(&a, "scores-out"), ids, sc, nq, k, true);
out:
    sl_hnsw_destroy(h);
    sl_allocator_free(q), sl_allocator_free(allow);
    free(labs), free(ids), free(sc);
    return rc;
}

/* ---- add -----------------------------------------------------------------*/

static const cli_opt add_opts[] = {
    {"output", 'o', CLI_STR, NULL, "write the grown index here instead of over INDEX", NULL, 0, 0, false},
    {"labels", 0, CLI_STR, NULL, "int labels (.npy) of the new rows", NULL, 0, 0, false},
    {"ids", 0, CLI_STR, NULL, "the new rows' ids (.npy of ints >= 0, one per row, distinct, none live)", NULL, 0, 0, false},
    CLI_OPT_THREADS,
    CLI_OPT_QUIET,
    CLI_OPT_END};
static const cli_spec add_spec = {
    "simlearn index add INDEX NEW.npy [options]",
    "Insert the rows of NEW.npy. Their ids are those of --ids (the id of a deleted row may be\n"
    "given again), or else the next node numbers (the index's size onwards), which must not\n"
    "be ids given earlier. The file is replaced atomically.",
    add_opts, 2, 2, "example:\n  simlearn index add train.hnsw more.npy --ids more_ids.npy"};

static int cmd_add(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&add_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_threads_set((int)cli_int(&a, "threads"));
    sl_hnsw *h = NULL;
    float *x = NULL;
    int64_t *labels = NULL, *ids = NULL, first = 0;
    size_t n, d;
    sl_progress *p = NULL;
    int rc = 0;
    sl_status s;
    if ((s = sl_hnsw_load(a.pos[0], &h)) || (s = sl_npy_read_matrix(a.pos[1], &x, &n, &d))) {
        rc = cli_fail(s);
        goto out;
    }
    sl_hnsw_info info;
    sl_hnsw_get_info(h, &info);
    if (d != info.dim || n == 0) {
        fprintf(stderr, "simlearn: error: %s has %zu rows of %zu columns; the index %s needs rows of %zu\n", a.pos[1], n,
                d, a.pos[0], info.dim);
        rc = 1;
        goto out;
    }
    if (cli_str(&a, "labels") && (rc = cli_read_labels(cli_str(&a, "labels"), n, "vectors", &labels))) goto out;
    if (cli_str(&a, "ids") && (rc = cli_read_ints(cli_str(&a, "ids"), n, "ids", "vectors", &ids))) goto out;
    if ((s = sl_progress_create(stderr, cli_progress_mode(&a), "add", n, "vec", &p)) ||
        (s = ids ? sl_hnsw_add_keys(h, x, n, ids, labels, p, cli_stop_begin())
                 : sl_hnsw_add(h, x, n, labels, p, cli_stop_begin(), &first))) {
        rc = add_fail(s, cli_str(&a, "ids"));
        goto out;
    }
    cli_stop_end();
    sl_progress_finish(p, NULL);
    const char *outp = cli_str(&a, "output") ? cli_str(&a, "output") : a.pos[0];
    if ((s = sl_hnsw_save(h, outp))) {
        rc = cli_fail(s);
        goto out;
    }
    if (ids)
        printf("added %zu vectors (ids from %s) to %s\n", n, cli_str(&a, "ids"), outp);
    else
        printf("added %zu vectors (ids %lld..%lld) to %s\n", n, (long long)first, (long long)(first + (int64_t)n - 1),
               outp);
out:
    cli_stop_end();
    sl_progress_destroy(p);
    sl_hnsw_destroy(h);
    sl_allocator_free(x), sl_allocator_free(labels), sl_allocator_free(ids);
    return rc;
}

/* ---- delete --------------------------------------------------------------*/

static const cli_opt del_opts[] = {
    {"ids", 0, CLI_STR, NULL, "ids to delete, e.g. 4,17,99", NULL, 0, 0, false},
    {"ids-file", 0, CLI_STR, NULL, "ids to delete (.npy of ints)", NULL, 0, 0, false},
    {"output", 'o', CLI_STR, NULL, "write the index here instead of over INDEX", NULL, 0, 0, false},
    CLI_OPT_THREADS,
    CLI_OPT_END};
static const cli_spec del_spec = {
    "simlearn index delete INDEX --ids 4,17 | --ids-file IDS.npy [options]",
    "Delete the rows with these ids: they are unlinked and their neighbours' links are\n"
    "repaired, so searches never see them again. An id given with --ids (index build or add)\n"
    "may be given again to a new row; the ids 0..n-1 of rows added without --ids are not reused.",
    del_opts, 1, 1, "example:\n  simlearn index delete train.hnsw --ids 4,17,99"};

static int cmd_delete(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&del_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    if (!cli_str(&a, "ids") == !cli_str(&a, "ids-file")) {
        return cli_usage_error("index delete: give exactly one of --ids and --ids-file");
    }
    sl_threads_set((int)cli_int(&a, "threads"));
    sl_hnsw *h = NULL;
    int64_t *ids = NULL, *fids = NULL;
    size_t n = 0;
    int rc = 0;
    sl_status s;
    if (cli_str(&a, "ids") && (rc = cli_int_list("ids", cli_str(&a, "ids"), INT64_MIN, INT64_MAX, &ids, &n))) goto out;
    if (cli_str(&a, "ids-file") && (s = sl_npy_read_labels(cli_str(&a, "ids-file"), &fids, &n))) {
        rc = cli_fail(s);
        goto out;
    }
    const char *outp = cli_str(&a, "output") ? cli_str(&a, "output") : a.pos[0];
    if ((s = sl_hnsw_load(a.pos[0], &h)) || (s = sl_hnsw_delete(h, ids ? ids : fids, n)) ||
        (s = sl_hnsw_save(h, outp))) {
        rc = cli_fail(s);
        goto out;
    }
    sl_hnsw_info info;
    sl_hnsw_get_info(h, &info);
    printf("deleted %zu vectors from %s; %zu remain\n", n, outp, info.live);
out:
    sl_hnsw_destroy(h);
    free(ids);
    sl_allocator_free(fids);
    return rc;
}

/* ---- info ----------------------------------------------------------------*/

static const cli_opt info_opts[] = {{"check", 0, CLI_FLAG, NULL, "also run the structural check", NULL, 0, 0, false},
                                    CLI_OPT_END};
static const cli_spec info_spec = {"simlearn index info INDEX [--check]",
                                   "Print an index's parameters and size, and whether its ids were given with --ids;\n"
                                   "--check verifies the graph (link bounds, no self or duplicate links, every node\n"
                                   "reachable from the entry point, each given id naming its row).",
                                   info_opts, 1, 1, "example:\n  simlearn index info train.hnsw --check"};

static int cmd_info(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&info_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_hnsw *h;
    sl_status s = sl_hnsw_load(a.pos[0], &h);
    if (s) {
        return cli_fail(s);
    }
    sl_hnsw_info i;
    sl_hnsw_get_info(h, &i);
    printf("%s: HNSW index, metric %s, %zu dims, M %zu, ef_construction %zu\n", a.pos[0], sl_metric_name(i.metric),
           i.dim, i.M, i.ef_construction);
    if (i.keyed)
        printf("  vectors: %zu live, %zu inserted (%zu deleted); ids given with --ids\n", i.live, i.size,
               i.size - i.live);
    else
        printf("  vectors: %zu live, %zu ids used (%zu deleted)\n", i.live, i.size, i.size - i.live);
    printf("  levels: %d, entry point %lld, level-0 links %zu (%.1f per node), memory %.1f MiB\n", i.max_level + 1,
           (long long)i.entry_point, i.links_level0, i.live ? (double)i.links_level0 / (double)i.live : 0.0,
           (double)i.bytes / 1048576.0);
    int rc = 0;
    if (cli_flag(&a, "check")) {
        s = sl_hnsw_check(h);
        if (s)
            rc = cli_fail(s);
        else
            printf("  check: ok\n");
    }
    sl_hnsw_destroy(h);
    return rc;
}

static const cli_sub subs[] = {{"build", "build an HNSW index from a .npy matrix", cmd_build, false},
                               {"search", "k nearest neighbours of query rows", cmd_search, false},
                               {"add", "insert more rows into an index", cmd_add, false},
                               {"delete", "delete ids, repairing the graph", cmd_delete, false},
                               {"info", "parameters, size and an optional integrity check", cmd_info, false},
                               {NULL, NULL, NULL, false}};

static int run(int argc, char **argv) { return cli_dispatch("index", subs, argc, argv); }

const cli_command cli_cmd_index = {"index", "HNSW index: build, search, add, delete, info", run, false};

/* simlearn knn: k-nearest-neighbour search (exact, or through an HNSW index),
 * kNN classification with majority or similarity-weighted votes, and
 * retrieval metrics for labelled or paired embeddings. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
    {"base", 'b', CLI_STR, NULL, "base embeddings (.npy, n x d)", NULL, 0, 0, false},
    {"queries", 0, CLI_STR, NULL, "query embeddings (.npy, m x d)", NULL, 0, 0, false},
    {"self", 0, CLI_FLAG, NULL, "the queries are the base; a row never finds itself", NULL, 0, 0, false},
    {"index", 0, CLI_STR, NULL, "search this HNSW index (or manifest of shards) instead of exact search", NULL, 0, 0, false},
    {"ef", 0, CLI_INT, "64", "HNSW candidate list size", NULL, 1, 1e9, false},
    {"metric", 0, CLI_CHOICE, "l2", "exact-search distance (an index has its own)", "l2|ip|cosine", 0, 0, false},
    {"screen", 0, CLI_CHOICE, "auto", "exact search's products: bf16 where the CPU has it (auto: for large searches) or float32; the results are the same", "auto|fp32|bf16", 0, 0, false},
    {"k", 'k', CLI_INT, "10", "neighbours", NULL, 1, 1e9, false},
    {"labels", 0, CLI_STR, NULL, "labels of the base rows (.npy ints): classify the queries", NULL, 0, 0, false},
    {"query-labels", 0, CLI_STR, NULL, "labels of the queries: report accuracy / retrieval metrics", NULL, 0, 0, false},
    {"vote", 0, CLI_CHOICE, "majority", "how neighbours vote", "majority|weighted", 0, 0, false},
    {"tau", 0, CLI_FLOAT, "0.07", "temperature of weighted votes exp(s/tau)", NULL, 1e-6, 1e6, false},
    {"retrieval", 0, CLI_STR, NULL, "report recall@K, precision@K and mAP@R for these K (e.g. 1,5,10)", NULL, 0, 0, false},
    {"paired", 0, CLI_STR, NULL, "row i of queries pairs with row i of base: recall@K both ways", NULL, 0, 0, false},
    {"ids-out", 0, CLI_STR, NULL, "write neighbour ids (int64 .npy, m x k)", NULL, 0, 0, false},
    {"scores-out", 0, CLI_STR, NULL, "write scores (float32 .npy, m x k)", NULL, 0, 0, false},
    {"pred-out", 0, CLI_STR, NULL, "write predicted labels (int64 .npy)", NULL, 0, 0, false},
    CLI_OPT_THREADS,
    CLI_OPT_QUIET,
    CLI_OPT_END};

static const cli_spec spec = {
    "simlearn knn --base B.npy (--queries Q.npy | --self) [options]",
    "Find the k nearest base rows of every query (exact blocked search, or an HNSW index with\n"
    "--index). With --labels, classify each query by a majority or similarity-weighted\n"
    "(exp(s/tau)) vote of its neighbours, and with --query-labels report the accuracy.\n"
    "--retrieval and --paired report retrieval metrics instead. Scores: squared L2 distance\n"
    "(l2) or similarity (ip, cosine); ties are ordered by id. 'simlearn knn graph' builds the\n"
    "k-NN graph of a set and 'simlearn knn path' walks it (see their --help).",
    opts, 0, 0,
    "examples:\n"
    "  simlearn knn -b train.npy --queries test.npy --labels train_y.npy --query-labels test_y.npy -k 10\n"
    "  simlearn knn -b emb.npy --self --metric cosine --labels y.npy --retrieval 1,10\n"
    "  simlearn knn -b text.npy --queries images.npy --metric cosine --paired 1,5,10\n"
    "  simlearn knn graph emb.npy -k 10 -o g && simlearn knn path --graph g --from 0 --to 99"};

/* What the options name, loaded. */
typedef struct {
    const char *bpath, *qpath, *ipath;
    bool self;
    float *b, *q;       /* q == b with --self */
    int64_t *bl, *ql;   /* ql == bl with --self */
    size_t n, d, nq;
    sl_hnsw *h;
    sl_shards *sh;      /* --index names a manifest of shards */
    sl_metric m;
    size_t *Ks;         /* --retrieval or --paired */
    size_t nK;
    /* Under mpirun: this rank's rows of the base, first .. first + nloc - 1
     * of n (its own read of them, or, with --self, a part of b) */
    const float *part;
    size_t first, nloc;
} knn_input;

static void input_free(knn_input *in) {
    sl_hnsw_destroy(in->h);
    sl_shards_destroy(in->sh);
    if (in->q != in->b) sl_allocator_free(in->q);
    sl_allocator_free(in->b);
    if (in->ql != in->bl) sl_allocator_free(in->ql);
    sl_allocator_free(in->bl);
    free(in->Ks);
}

static int check_options(const cli_args *a, knn_input *in) {
    in->bpath = cli_str(a, "base"), in->qpath = cli_str(a, "queries"), in->ipath = cli_str(a, "index");
    in->self = cli_flag(a, "self");
    sl_metric_parse(cli_str(a, "metric"), &in->m);
    const char *ret = cli_str(a, "retrieval"), *paired = cli_str(a, "paired");
    if (!in->bpath && !in->ipath) return cli_usage_error("knn: give --base (or --index)");
    if (!!in->qpath == in->self) return cli_usage_error("knn: give exactly one of --queries and --self");
    if (in->ipath && (in->self || ret || paired))
        return cli_usage_error("knn: --index works with --queries, not with --self, --retrieval or --paired");
    if (ret && paired) return cli_usage_error("knn: --retrieval and --paired are separate reports; give one");
    if (sl_dist_size() > 1 && (in->ipath || ret || paired))
        return cli_usage_error("knn: under mpirun, exact search shares the base among the ranks; --%s runs as one "
                               "process (start it without mpirun)",
                               in->ipath ? "index" : ret ? "retrieval" : "paired");
    int64_t *ks = NULL;
    int rc = ret || paired ? cli_int_list(ret ? "retrieval" : "paired", ret ? ret : paired, 1, INT64_MAX, &ks, &in->nK) : 0;
    if (!rc && ks && !(in->Ks = malloc(in->nK * sizeof *in->Ks))) rc = cli_fail(SL_ERR_NOMEM);
    for (size_t i = 0; !rc && i < in->nK; i++) in->Ks[i] = (size_t)ks[i];
    free(ks);
    return rc;
}

/* Under mpirun without --self: this rank's part of the base alone. */
static int load_part(knn_input *in) {
    size_t rows;
    sl_status s = sl_npy_read_matrix_part(in->bpath, (size_t)sl_dist_rank(), (size_t)sl_dist_size(), &in->b, &rows,
                                          &in->d, &in->first, &in->n);
    if (s) return cli_fail(s);
    in->part = in->b, in->nloc = rows;
    return 0;
}

/* The base (from --base and/or the index), the queries and the labels. */
/* --index: an HNSW file or a manifest of shards (every shard loaded here);
 * its size, dimension, metric (into in->m) and whether its ids are the row
 * numbers. */
static sl_status load_index(knn_input *in, size_t *size, size_t *dim, bool *row_ids) {
    if (sl_shards_is_manifest(in->ipath)) {
        sl_status s = sl_shards_load(in->ipath, &in->sh);
        if (s) return s;
        sl_shards_info info;
        sl_shards_get_info(in->sh, &info);
        *size = info.rows, *dim = info.dim, in->m = info.metric;
        *row_ids = sl_shards_ids_are_rows(in->sh);
        return SL_OK;
    }
    sl_status s = sl_hnsw_load(in->ipath, &in->h);
    if (s) return s;
    sl_hnsw_info info;
    sl_hnsw_get_info(in->h, &info);
    *size = info.size, *dim = info.dim, in->m = info.metric, *row_ids = !info.keyed;
    return SL_OK;
}

static int load_input(const cli_args *a, knn_input *in) {
    sl_status s;
    int rc;
    if (sl_dist_size() > 1 && !in->self) {
        if ((rc = load_part(in))) return rc;
    } else if (in->bpath && (s = sl_npy_read_matrix(in->bpath, &in->b, &in->n, &in->d))) {
        return cli_fail(s);
    } else if (in->bpath) {
        /* With --self every rank holds the whole base as its queries. */
        sl_dist_share(in->n, (size_t)sl_dist_rank(), (size_t)sl_dist_size(), &in->first, &in->nloc);
        in->part = in->b + in->first * in->d;
    }
    if (in->ipath) {
        size_t size, dim;
        bool row_ids;
        if ((s = load_index(in, &size, &dim, &row_ids))) return cli_fail(s);
        if (in->b && (in->n != size || in->d != dim)) {
            fprintf(stderr, "simlearn: error: %s is %zu x %zu but the index %s holds %zu vectors of %zu dims\n",
                    in->bpath, in->n, in->d, in->ipath, size, dim);
            return 1;
        }
        in->n = size, in->d = dim;
        if (!row_ids && cli_str(a, "labels")) {
            fprintf(stderr,
                    "simlearn: error: the index %s has ids given with --ids, not row numbers, so its neighbours "
                    "cannot be looked up in --labels (one per row)\n",
                    in->ipath);
            return 1;
        }
    }
    size_t dq = in->d;
    if (in->self)
        in->q = in->b, in->nq = in->n;
    else if ((s = sl_npy_read_matrix(in->qpath, &in->q, &in->nq, &dq)))
        return cli_fail(s);
    if (in->n == 0 || in->nq == 0) {
        fprintf(stderr, "simlearn: error: %s has no rows\n", in->n == 0 ? (in->bpath ? in->bpath : in->ipath) : in->qpath);
        return 1;
    }
    if (dq != in->d) {
        fprintf(stderr, "simlearn: error: the queries have %zu columns but the base has %zu\n", dq, in->d);
        return 1;
    }
    if (cli_str(a, "labels") && (rc = cli_read_labels(cli_str(a, "labels"), in->n, "base rows", &in->bl))) return rc;
    if (in->self && in->bl) in->ql = in->bl;
    else if (cli_str(a, "query-labels") && (rc = cli_read_labels(cli_str(a, "query-labels"), in->nq, "queries", &in->ql)))
        return rc;
    return 0;
}

static int report_paired(const knn_input *in) {
    if (in->nq != in->n) {
        fprintf(stderr, "simlearn: error: --paired needs as many queries as base rows (%zu vs %zu)\n", in->nq, in->n);
        return 1;
    }
    double *ab = malloc(in->nK * sizeof *ab), *ba = malloc(in->nK * sizeof *ba);
    const size_t *Ks = in->Ks;
    sl_status s = ab && ba ? sl_retrieval_paired(in->q, in->b, in->n, in->d, in->m, Ks, in->nK, ab, ba) : SL_ERR_NOMEM;
    if (!s) {
        printf("paired retrieval over %zu pairs, metric %s\n", in->n, sl_metric_name(in->m));
        for (size_t t = 0; t < in->nK; t++)
            printf("  recall@%zu: queries->base %.4f, base->queries %.4f\n", Ks[t], ab[t], ba[t]);
    }
    free(ab), free(ba);
    return s ? cli_fail(s) : 0;
}

static int report_retrieval(const cli_args *a, const knn_input *in) {
    if (!in->bl || !in->ql) return cli_usage_error("knn: --retrieval needs --labels and (unless --self) --query-labels");
    double *rec = malloc(in->nK * sizeof *rec), *prec = malloc(in->nK * sizeof *prec), map = 0;
    size_t used = 0;
    const size_t *Ks = in->Ks;
    sl_retrieval_config rcfg = {.metric = in->m, .exclude_self = in->self, .Ks = Ks, .nK = in->nK};
    sl_progress *p = NULL;
    sl_status s = rec && prec ? sl_progress_create(stderr, cli_progress_mode(a), "retrieval", in->nq, "q", &p) : SL_ERR_NOMEM;
    if (!s) {
        rcfg.progress = p;
        s = sl_retrieval_labelled(in->b, in->n, in->bl, in->q, in->nq, in->ql, in->d, &rcfg, rec, prec, &map, &used);
    }
    if (!s) {
        sl_progress_finish(p, NULL);
        printf("retrieval over %zu queries (%zu with a relevant item), metric %s\n", in->nq, used, sl_metric_name(in->m));
        for (size_t t = 0; t < in->nK; t++) printf("  recall@%zu %.4f  precision@%zu %.4f\n", Ks[t], rec[t], Ks[t], prec[t]);
        printf("  mAP@R %.4f\n", map);
    }
    sl_progress_destroy(p);
    free(rec), free(prec);
    return s ? cli_fail(s) : 0;
}

/* Exact search or the index's into ids and sc (nq x k), timed. */
static int search(const cli_args *a, const knn_input *in, size_t k, int64_t *ids, float *sc) {
    double t = sl_time_now();
    sl_progress *p = NULL;
    sl_status s;
    if (in->h) {
        s = sl_hnsw_search(in->h, in->q, in->nq, k, (size_t)cli_int(a, "ef"), NULL, ids, sc);
    } else if (in->sh) {
        s = sl_shards_search(in->sh, in->q, in->nq, k, (size_t)cli_int(a, "ef"), NULL, ids, sc);
    } else {
        sl_flat_config fc = {.metric = in->m, .k = k, .exclude_self = in->self};
        sl_flat_screen_parse(cli_str(a, "screen"), &fc.screen);
        /* (under mpirun, rank 0 shows the progress of its part) */
        FILE *ps = sl_dist_rank() == 0 ? stderr : NULL;
        if ((s = ps ? sl_progress_create(ps, cli_progress_mode(a), "search", in->nq, "q", &p) : SL_OK) == SL_OK) {
            fc.progress = p;
            if (sl_dist_size() > 1)
                s = sl_flat_search_dist(in->part, in->nloc, in->first, in->n, in->d, in->q, in->nq, in->d, &fc, ids, sc);
            else
                s = sl_flat_search(in->b, in->n, in->d, in->q, in->nq, in->d, &fc, ids, sc);
        }
        if (!s && p) sl_progress_finish(p, NULL);
        sl_progress_destroy(p);
    }
    if (s) return cli_fail(s);
    t = sl_time_now() - t;
    if (!cli_flag(a, "quiet") && sl_dist_rank() == 0) {
        fprintf(stderr, "%s search: %zu queries x %zu base, k %zu, metric %s: %.3f s (%.0f queries/s)",
                in->h ? "hnsw" : in->sh ? "sharded hnsw" : "exact",
                in->nq, in->n, k, sl_metric_name(in->m), t, (double)in->nq / t);
        if (sl_dist_size() > 1) fprintf(stderr, ", the base shared by %d ranks", sl_dist_size());
        fputc('\n', stderr);
    }
    return 0;
}

/* Classify the queries by their neighbours' labels; print the accuracy with
 * --query-labels, else the predictions (unless --pred-out takes them). */
static int classify(const cli_args *a, const knn_input *in, size_t k, const int64_t *ids, const float *sc) {
    sl_vote v;
    sl_vote_parse(cli_str(a, "vote"), &v);
    sl_knn_config kc = {.k = k, .vote = v, .tau = cli_float(a, "tau"), .metric = in->m};
    int64_t *pred = malloc(in->nq * sizeof *pred);
    sl_status s = pred ? sl_knn_classify(ids, sc, in->nq, k, in->bl, in->n, &kc, pred) : SL_ERR_NOMEM;
    if (!s && cli_str(a, "pred-out")) s = sl_npy_write_labels(cli_str(a, "pred-out"), pred, in->nq);
    if (s) {
        free(pred);
        return cli_fail(s);
    }
    if (in->ql) {
        size_t ok = 0;
        for (size_t i = 0; i < in->nq; i++) ok += pred[i] == in->ql[i];
        printf("knn classifier: k %zu, %s vote, metric %s: accuracy %.2f%% (%zu/%zu)\n", k, cli_str(a, "vote"),
               sl_metric_name(in->m), 100.0 * (double)ok / (double)in->nq, ok, in->nq);
        if (v == SL_VOTE_WEIGHTED) printf("  (weights exp(s/tau), tau %g)\n", cli_float(a, "tau"));
    } else if (!cli_str(a, "pred-out")) {
        for (size_t i = 0; i < in->nq; i++) printf("%lld\n", (long long)pred[i]);
    }
    free(pred);
    return 0;
}

static int neighbours(const cli_args *a, const knn_input *in) {
    size_t k = (size_t)cli_int(a, "k"), avail = in->self ? in->n - 1 : in->n;
    if (k > avail) {
        fprintf(stderr, "simlearn: error: k = %zu but only %zu base vectors can be returned%s\n", k, avail,
                in->self ? " (self excluded)" : "");
        return 1;
    }
    int64_t *ids;
    float *sc;
    int rc = cli_alloc_results(in->nq, k, &ids, &sc);
    if (!rc) rc = search(a, in, k, ids, sc);
    if (!rc && sl_dist_rank() != 0) { /* every rank has the results; rank 0 reports them */
        free(ids), free(sc);
        return 0;
    }
    if (!rc) rc = cli_write_neighbours(cli_str(a, "ids-out"), cli_str(a, "scores-out"), ids, sc, in->nq, k, !in->bl);
    if (!rc && in->bl) rc = classify(a, in, k, ids, sc);
    free(ids), free(sc);
    return rc;
}

static int run(int argc, char **argv) {
    if (argc > 1 && (strcmp(argv[1], "graph") == 0 || strcmp(argv[1], "path") == 0)) {
        bool graph = strcmp(argv[1], "graph") == 0;
        if (sl_dist_size() > 1) return cli_one_process(graph ? "knn graph" : "knn path");
        return graph ? cli_knn_graph(argc - 1, argv + 1) : cli_knn_path(argc - 1, argv + 1);
    }
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    knn_input in = {0};
    rc = check_options(&a, &in);
    if (!rc) {
        sl_threads_set((int)cli_int(&a, "threads"));
        rc = load_input(&a, &in);
    }
    if (!rc) rc = cli_str(&a, "paired")      ? report_paired(&in)
                  : cli_str(&a, "retrieval") ? report_retrieval(&a, &in)
                                             : neighbours(&a, &in);
    input_free(&in);
    return rc;
}

const cli_command cli_cmd_knn = {"knn", "k-nearest-neighbour search, classification, retrieval metrics, the k-NN graph", run, true};

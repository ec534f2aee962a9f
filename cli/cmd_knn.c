/* simlearn knn: k-nearest-neighbour search (exact, or through an HNSW index),
 * kNN classification with majority or similarity-weighted votes, and
 * retrieval metrics for labelled or paired embeddings. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
    {"base", 'b', CLI_STR, NULL, "base embeddings (.npy, n x d)", NULL, 0, 0, false},
    {"queries", 0, CLI_STR, NULL, "query embeddings (.npy, m x d)", NULL, 0, 0, false},
    {"self", 0, CLI_FLAG, NULL, "the queries are the base; a row never finds itself", NULL, 0, 0, false},
    {"index", 0, CLI_STR, NULL, "search this HNSW index instead of exact search", NULL, 0, 0, false},
    {"ef", 0, CLI_INT, "64", "HNSW candidate list size", NULL, 1, 1e9, false},
    {"metric", 0, CLI_CHOICE, "l2", "exact-search distance (an index has its own)", "l2|ip|cosine", 0, 0, false},
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
    "(l2) or similarity (ip, cosine); ties are ordered by id.",
    opts, 0, 0,
    "examples:\n"
    "  simlearn knn -b train.npy --queries test.npy --labels train_y.npy --query-labels test_y.npy -k 10\n"
    "  simlearn knn -b emb.npy --self --metric cosine --labels y.npy --retrieval 1,10\n"
    "  simlearn knn -b text.npy --queries images.npy --metric cosine --paired 1,5,10"};

static int parse_ks(const char *opt, const char *s, size_t **out, size_t *n) {
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    size_t *v = malloc(cap * sizeof *v), k = 0;
    if (!v) return cli_usage_error("out of memory");
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (errno || end == p || x < 1 || (*end != ',' && *end != '\0')) {
            free(v);
            return cli_usage_error("option --%s: '%s' is not a comma-separated list of positive integers", opt, s);
        }
        v[k++] = (size_t)x;
        if (*end == '\0') break;
        p = end + 1;
    }
    *out = v;
    *n = k;
    return 0;
}

static int read_labels(const char *path, size_t want, const char *what, int64_t **out) {
    size_t n;
    sl_status s = sl_npy_read_labels(path, out, &n);
    if (s) return cli_fail(s);
    if (n != want) {
        fprintf(stderr, "simlearn: error: %s has %zu labels but there are %zu %s\n", path, n, want, what);
        sl_allocator_free(*out);
        *out = NULL;
        return 1;
    }
    return 0;
}

static int run(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    const char *bpath = cli_str(&a, "base"), *qpath = cli_str(&a, "queries"), *ipath = cli_str(&a, "index");
    bool self = cli_flag(&a, "self");
    int rc = 0;
    float *b = NULL, *q = NULL, *sc = NULL;
    int64_t *bl = NULL, *ql = NULL, *ids = NULL, *pred = NULL;
    size_t *Ks = NULL, nK = 0, n = 0, d = 0, nq = 0, dq = 0, k = (size_t)cli_int(&a, "k");
    sl_hnsw *h = NULL;
    sl_progress *p = NULL;
    sl_status s;
    sl_metric m;
    sl_metric_parse(cli_str(&a, "metric"), &m);
    if (!bpath && !ipath) {
        rc = cli_usage_error("knn: give --base (or --index)");
        goto out;
    }
    if (!!qpath == self) {
        rc = cli_usage_error("knn: give exactly one of --queries and --self");
        goto out;
    }
    if (ipath && (self || cli_str(&a, "retrieval") || cli_str(&a, "paired"))) {
        rc = cli_usage_error("knn: --index works with --queries, not with --self, --retrieval or --paired");
        goto out;
    }
    if (cli_str(&a, "retrieval") && cli_str(&a, "paired")) {
        rc = cli_usage_error("knn: --retrieval and --paired are separate reports; give one");
        goto out;
    }
    if ((cli_str(&a, "retrieval") && (rc = parse_ks("retrieval", cli_str(&a, "retrieval"), &Ks, &nK))) ||
        (cli_str(&a, "paired") && (rc = parse_ks("paired", cli_str(&a, "paired"), &Ks, &nK))))
        goto out;
    sl_threads_set((int)cli_int(&a, "threads"));
    if (bpath && (s = sl_npy_read_matrix(bpath, &b, &n, &d))) {
        rc = cli_fail(s);
        goto out;
    }
    if (ipath) {
        if ((s = sl_hnsw_load(ipath, &h))) {
            rc = cli_fail(s);
            goto out;
        }
        sl_hnsw_info info;
        sl_hnsw_get_info(h, &info);
        if (b && (n != info.size || d != info.dim)) {
            fprintf(stderr, "simlearn: error: %s is %zu x %zu but the index %s holds %zu vectors of %zu dims\n", bpath,
                    n, d, ipath, info.size, info.dim);
            rc = 1;
            goto out;
        }
        n = info.size, d = info.dim, m = info.metric;
    }
    if (self) {
        q = b, nq = n, dq = d;
    } else if ((s = sl_npy_read_matrix(qpath, &q, &nq, &dq))) {
        rc = cli_fail(s);
        goto out;
    }
    if (n == 0 || nq == 0) {
        fprintf(stderr, "simlearn: error: %s has no rows\n", n == 0 ? (bpath ? bpath : ipath) : qpath);
        rc = 1;
        goto out;
    }
    if (dq != d) {
        fprintf(stderr, "simlearn: error: the queries have %zu columns but the base has %zu\n", dq, d);
        rc = 1;
        goto out;
    }
    if (cli_str(&a, "labels") && (rc = read_labels(cli_str(&a, "labels"), n, "base rows", &bl))) goto out;
    if (self && bl) ql = bl;
    else if (cli_str(&a, "query-labels") && (rc = read_labels(cli_str(&a, "query-labels"), nq, "queries", &ql)))
        goto out;

    if (cli_str(&a, "paired")) {
        if (nq != n) {
            fprintf(stderr, "simlearn: error: --paired needs as many queries as base rows (%zu vs %zu)\n", nq, n);
            rc = 1;
            goto out;
        }
        double *ab = malloc(nK * sizeof *ab), *ba = malloc(nK * sizeof *ba);
        if (!ab || !ba || (s = sl_retrieval_paired(q, b, n, d, m, Ks, nK, ab, ba))) {
            rc = ab && ba ? cli_fail(s) : cli_usage_error("out of memory");
        } else {
            printf("paired retrieval over %zu pairs, metric %s\n", n, sl_metric_name(m));
            for (size_t t = 0; t < nK; t++)
                printf("  recall@%zu: queries->base %.4f, base->queries %.4f\n", Ks[t], ab[t], ba[t]);
        }
        free(ab), free(ba);
        goto out;
    }
    if (cli_str(&a, "retrieval")) {
        if (!bl || !ql) {
            rc = cli_usage_error("knn: --retrieval needs --labels and (unless --self) --query-labels");
            goto out;
        }
        double *rec = malloc(nK * sizeof *rec), *prec = malloc(nK * sizeof *prec), map = 0;
        size_t used = 0;
        sl_retrieval_config rcfg = {.metric = m, .exclude_self = self, .Ks = Ks, .nK = nK};
        if ((s = sl_progress_create(stderr, cli_progress_mode(&a), "retrieval", nq, "q", &p)) == SL_OK) {
            rcfg.progress = p;
            s = sl_retrieval_labelled(b, n, bl, q, nq, ql, d, &rcfg, rec, prec, &map, &used);
        }
        if (s)
            rc = cli_fail(s);
        else {
            sl_progress_finish(p, NULL);
            printf("retrieval over %zu queries (%zu with a relevant item), metric %s\n", nq, used, sl_metric_name(m));
            for (size_t t = 0; t < nK; t++) printf("  recall@%zu %.4f  precision@%zu %.4f\n", Ks[t], rec[t], Ks[t], prec[t]);
            printf("  mAP@R %.4f\n", map);
        }
        free(rec), free(prec);
        goto out;
    }

    size_t avail = self ? n - 1 : n;
    if (k > avail) {
        fprintf(stderr, "simlearn: error: k = %zu but only %zu base vectors can be returned%s\n", k, avail,
                self ? " (self excluded)" : "");
        rc = 1;
        goto out;
    }
    ids = malloc(nq * k * sizeof *ids);
    sc = malloc(nq * k * sizeof *sc);
    if (!ids || !sc) {
        fprintf(stderr, "simlearn: error: out of memory for %zu x %zu results\n", nq, k);
        rc = 1;
        goto out;
    }
    double t = sl_time_now();
    if (h) {
        s = sl_hnsw_search(h, q, nq, k, (size_t)cli_int(&a, "ef"), NULL, ids, sc);
    } else {
        sl_flat_config fc = {.metric = m, .k = k, .exclude_self = self};
        if ((s = sl_progress_create(stderr, cli_progress_mode(&a), "search", nq, "q", &p)) == SL_OK) {
            fc.progress = p;
            s = sl_flat_search(b, n, d, q, nq, d, &fc, ids, sc);
        }
    }
    if (s) {
        rc = cli_fail(s);
        goto out;
    }
    sl_progress_finish(p, NULL);
    t = sl_time_now() - t;
    if (!cli_flag(&a, "quiet"))
        fprintf(stderr, "%s search: %zu queries x %zu base, k %zu, metric %s: %.3f s (%.0f queries/s)\n",
                h ? "hnsw" : "exact", nq, n, k, sl_metric_name(m), t, (double)nq / t);
    if (cli_str(&a, "ids-out")) {
        sl_array arr = {.dtype = SL_I64, .ndim = 2, .shape = {nq, k}, .data = ids};
        if ((s = sl_npy_write(cli_str(&a, "ids-out"), &arr))) {
            rc = cli_fail(s);
            goto out;
        }
    }
    if (cli_str(&a, "scores-out") && (s = sl_npy_write_matrix(cli_str(&a, "scores-out"), sc, nq, k))) {
        rc = cli_fail(s);
        goto out;
    }
    if (bl) {
        sl_vote v;
        sl_vote_parse(cli_str(&a, "vote"), &v);
        sl_knn_config kc = {.k = k, .vote = v, .tau = cli_float(&a, "tau"), .metric = m};
        pred = malloc(nq * sizeof *pred);
        if (!pred || (s = sl_knn_classify(ids, sc, nq, k, bl, n, &kc, pred))) {
            rc = pred ? cli_fail(s) : 1;
            goto out;
        }
        if (cli_str(&a, "pred-out") && (s = sl_npy_write_labels(cli_str(&a, "pred-out"), pred, nq))) {
            rc = cli_fail(s);
            goto out;
        }
        if (ql) {
            size_t ok = 0;
            for (size_t i = 0; i < nq; i++) ok += pred[i] == ql[i];
            printf("knn classifier: k %zu, %s vote%s, metric %s: accuracy %.2f%% (%zu/%zu)\n", k, cli_str(&a, "vote"),
                   v == SL_VOTE_WEIGHTED ? "" : "", sl_metric_name(m), 100.0 * (double)ok / (double)nq, ok, nq);
            if (v == SL_VOTE_WEIGHTED) printf("  (weights exp(s/tau), tau %g)\n", cli_float(&a, "tau"));
        } else if (!cli_str(&a, "pred-out")) {
            for (size_t i = 0; i < nq; i++) printf("%lld\n", (long long)pred[i]);
        }
    } else if (!cli_str(&a, "ids-out") && !cli_str(&a, "scores-out")) {
        for (size_t i = 0; i < nq; i++) {
            printf("%zu:", i);
            for (size_t j = 0; j < k; j++)
                if (ids[i * k + j] >= 0) printf(" %lld(%.6g)", (long long)ids[i * k + j], (double)sc[i * k + j]);
            printf("\n");
        }
    }
out:
    sl_progress_destroy(p);
    sl_hnsw_destroy(h);
    if (q != b) sl_allocator_free(q);
    sl_allocator_free(b);
    if (ql != bl) sl_allocator_free(ql);
    sl_allocator_free(bl);
    free(ids), free(sc), free(pred), free(Ks);
    return rc;
}

const cli_command cli_cmd_knn = {"knn", "k-nearest-neighbour search, classification and retrieval metrics", run};

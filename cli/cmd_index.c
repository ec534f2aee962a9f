/* simlearn index build|search|add|delete|info: an HNSW, IVF-PQ or flat index
 * over .npy embeddings, saved to a file, searched, grown, shrunk and inspected.
 * Under mpirun, build writes one HNSW shard per rank and a manifest, and
 * search searches one shard per rank; a manifest is also searched and
 * described by one process. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* An add that failed: a key refused because of --ids is named with its file. */
static int add_fail(sl_status s, const char *ids_path) {
    if (s != SL_ERR_ARG || !ids_path) return cli_fail(s);
    fprintf(stderr, "simlearn: error: %s: %s\n", ids_path, sl_error_message());
    return 1;
}

/* add and delete change one HNSW file; a manifest of shards is refused. */
static int not_sharded(const char *sub, const char *path) {
    if (!sl_shards_is_manifest(path)) return 0;
    fprintf(stderr, "simlearn: error: %s is a sharded index (a manifest of shards); 'index %s' changes one HNSW file: "
                    "build the sharded index again with mpirun -np N simlearn index build\n", path, sub);
    return 1;
}

/* Whether path holds an index of this kind (sl_index_kind). */
static bool is_kind(const char *path, const char *kind) {
    const char *k = sl_index_kind(path);
    return k && strcmp(k, kind) == 0;
}
static bool is_ivfpq(const char *path) { return is_kind(path, "ivfpq"); }
static bool is_flat(const char *path) { return is_kind(path, "flat"); }

/* ---- build ---------------------------------------------------------------*/

static const cli_opt build_opts[] = {
    {"output", 'o', CLI_STR, NULL, "index file to write", NULL, 0, 0, true},
    {"type", 0, CLI_CHOICE, "hnsw",
     "index kind: a graph (hnsw), compressed codes in lists (ivfpq) or the vectors themselves, searched exactly (flat)",
     "hnsw|ivfpq|flat", 0, 0, false},
    {"metric", 0, CLI_CHOICE, "l2", "distance", "l2|ip|cosine", 0, 0, false},
    {"M", 0, CLI_INT, "16", "hnsw: links per node (2M on level 0)", NULL, 2, 512, false},
    {"ef-construction", 0, CLI_INT, "200", "hnsw: candidate list size while building", NULL, 1, 100000, false},
    {"nlist", 0, CLI_INT, "0", "ivfpq: coarse lists (0: 4 sqrt(rows), at most rows/39)", NULL, 0, 2147483648.0, false},
    {"pq-m", 0, CLI_INT, "0", "ivfpq: sub-quantisers of 8 bits, bytes of code per vector (0: dim/8)", NULL, 0, 16777216,
     false},
    {"kmeans-iters", 0, CLI_INT, "25", "ivfpq: k-means iterations for centroids and codebooks", NULL, 1, 1000000, false},
    {"labels", 0, CLI_STR, NULL, "int labels (.npy, one per row) for label filters", NULL, 0, 0, false},
    {"ids", 0, CLI_STR, NULL, "the rows' ids (.npy of ints >= 0, one per row, distinct) instead of 0..n-1", NULL, 0, 0, false},
    CLI_OPT_THREADS,
    CLI_OPT_SEED,
    CLI_OPT_QUIET,
    CLI_OPT_END};
static const cli_spec build_spec = {
    "simlearn index build BASE.npy -o INDEX [options]",
    "Build an index over the rows of BASE.npy and save it: an HNSW graph (--type hnsw) or an\n"
    "IVF-PQ index (--type ivfpq: k-means lists of product-quantisation codes, --pq-m bytes per\n"
    "vector, trained on BASE.npy itself) or a flat index (--type flat: the vectors as float32,\n"
    "searched exactly). The rows' ids are 0..n-1, or those of --ids (searches return them;\n"
    "delete and --allow-ids take them).\n"
    "With --threads 1 an HNSW index is the same bytes on every run (IVF-PQ and flat indexes\n"
    "with any thread count). Under mpirun -np N each rank reads its share of the rows; for\n"
    "HNSW it writes its shard (INDEX.shard<r>of<N>, ids still those of the whole base) and\n"
    "rank 0 writes the manifest INDEX naming them (docs/scaling.md); for IVF-PQ the ranks\n"
    "train together, and for IVF-PQ and flat rank 0 writes the one file INDEX.",
    build_opts, 1, 1,
    "examples:\n  simlearn index build train.npy -o train.hnsw --metric cosine\n"
    "  simlearn index build train.npy -o train.ivfpq --type ivfpq --nlist 256 --pq-m 16\n"
    "  simlearn index build train.npy -o train.flat --type flat --labels train_labels.npy\n"
    "  mpirun -np 2 simlearn index build train.npy -o train.hnsw --threads 1"};

/* Under mpirun: this rank's rows, its shard and, on rank 0, the manifest. */
static int build_sharded(const cli_args *a, sl_metric m) {
    const int rank = sl_dist_rank(), N = sl_dist_size();
    float *x = NULL;
    int64_t *labels = NULL, *ids = NULL;
    size_t rows, d, first, n;
    sl_progress *p = NULL;
    int rc = 0;
    sl_status s = sl_npy_read_matrix_part(a->pos[0], (size_t)rank, (size_t)N, &x, &rows, &d, &first, &n);
    if (s) {
        rc = cli_fail(s);
        goto out;
    }
    if (cli_str(a, "labels") && (rc = cli_read_labels(cli_str(a, "labels"), n, "vectors", &labels))) goto out;
    if (cli_str(a, "ids") && (rc = cli_read_ints(cli_str(a, "ids"), n, "ids", "vectors", &ids))) goto out;
    sl_hnsw_config cfg = {.dim = d, .metric = m, .M = (size_t)cli_int(a, "M"),
                          .ef_construction = (size_t)cli_int(a, "ef-construction"), .seed = (uint64_t)cli_int(a, "seed")};
    double t = sl_time_now();
    /* (rank 0 shows the progress of its shard) */
    if ((s = rank == 0 ? sl_progress_create(stderr, cli_progress_mode(a), "build", rows, "vec", &p) : SL_OK) ||
        (s = sl_shards_build(x, rows, first, n, ids, labels, &cfg, cli_str(a, "output"), p, cli_stop_begin()))) {
        rc = add_fail(s, cli_str(a, "ids"));
        goto out;
    }
    sl_progress_finish(p, NULL);
    if (rank == 0)
        printf("built %s: %zu vectors in %d shards (%s.shard0of%d ...), %zu dims, metric %s, M %zu, ef_construction "
               "%zu, in %.2f s\n", cli_str(a, "output"), n, N, cli_str(a, "output"), N, d, sl_metric_name(m), cfg.M,
               cfg.ef_construction, sl_time_now() - t);
out:
    cli_stop_end();
    sl_progress_destroy(p);
    sl_allocator_free(x), sl_allocator_free(labels), sl_allocator_free(ids);
    return rc;
}

/* Usage errors for options of the other index kind. */
static int wrong_kind(const cli_args *a, const char *kind, const char *const *opts) {
    for (size_t i = 0; opts[i]; i++)
        if (cli_given(a, opts[i])) return cli_usage_error("--%s does not apply to %s index", opts[i], kind);
    return 0;
}
static const char *const hnsw_only_build[] = {"M", "ef-construction", NULL};
static const char *const ivfpq_only_build[] = {"nlist", "pq-m", "kmeans-iters", NULL};

/* An IVF-PQ index: trained on the rows, then every row encoded into it.
 * x holds rows first .. first + n - 1 of `total` (under mpirun this rank's;
 * ids and labels, when given, for all total rows); rank 0 writes the file. */
static int build_ivfpq(const cli_args *a, sl_metric m, const float *x, size_t n, size_t d, size_t first, size_t total,
                       const int64_t *ids, const int64_t *labels) {
    sl_ivfpq_config c;
    sl_ivfpq_config_default(&c);
    c.dim = d, c.metric = m, c.nlist = (size_t)cli_int(a, "nlist"), c.M = (size_t)cli_int(a, "pq-m");
    c.iters = (size_t)cli_int(a, "kmeans-iters"), c.seed = (uint64_t)cli_int(a, "seed");
    sl_ivfpq *q = NULL;
    sl_progress *p = NULL;
    const bool rank0 = sl_dist_rank() == 0;
    double t0 = sl_time_now(), t1 = t0;
    sl_status s;
    int rc = 0;
    if ((s = sl_ivfpq_create(&c, &q)) || (s = sl_ivfpq_train_dist(q, x, n, first, total, cli_stop_begin())) ||
        ((t1 = sl_time_now()),
         (s = rank0 ? sl_progress_create(stderr, cli_progress_mode(a), "encode", n, "vec", &p) : SL_OK)) ||
        (s = sl_ivfpq_add_dist(q, x, n, first, total, ids ? ids + first : NULL, labels ? labels + first : NULL, p,
                               cli_stop_begin())) ||
        (s = rank0 ? sl_ivfpq_save(q, cli_str(a, "output")) : SL_OK)) {
        rc = add_fail(s, cli_str(a, "ids"));
    } else if (rank0) {
        sl_progress_finish(p, NULL);
        sl_ivfpq_info i;
        sl_ivfpq_get_info(q, &i);
        printf("built %s: IVF-PQ, %zu vectors, %zu dims, metric %s, nlist %zu, %zu x 8-bit codes (%zu bytes per "
               "vector with its id%s), trained in %.2f s, encoded in %.2f s", cli_str(a, "output"), total, d,
               sl_metric_name(m), i.nlist, i.M, i.code_bytes, i.labelled ? " and label" : "", t1 - t0,
               sl_time_now() - t1);
        if (sl_dist_size() > 1) printf(", on %d ranks", sl_dist_size());
        printf("\n");
    }
    cli_stop_end();
    sl_progress_destroy(p);
    sl_ivfpq_destroy(q);
    return rc;
}

/* A flat index of the rows: x holds rows first .. first + n - 1 of `total`
 * (under mpirun this rank's; ids and labels, when given, for all total
 * rows); every rank gets all the rows and rank 0 writes the file. */
static int build_flat(const cli_args *a, sl_metric m, const float *x, size_t n, size_t d, size_t first, size_t total,
                      const int64_t *ids, const int64_t *labels) {
    sl_flat_index *f = NULL;
    double t = sl_time_now();
    sl_status s;
    int rc = 0;
    if ((s = sl_flat_index_create(d, m, &f)) ||
        (s = sl_flat_index_add_dist(f, x, n, first, total, ids ? ids + first : NULL, labels ? labels + first : NULL)) ||
        (s = sl_dist_rank() == 0 ? sl_flat_index_save(f, cli_str(a, "output")) : SL_OK)) {
        rc = add_fail(s, cli_str(a, "ids"));
    } else if (sl_dist_rank() == 0) {
        sl_flat_index_info i;
        sl_flat_index_get_info(f, &i);
        printf("built %s: flat index (exact search), %zu vectors, %zu dims, metric %s, %zu bytes per vector (float32 "
               "vector and id%s), in %.2f s\n", cli_str(a, "output"), i.size, d, sl_metric_name(m), i.vector_bytes,
               i.labelled ? " and label" : "", sl_time_now() - t);
    }
    sl_flat_index_destroy(f);
    return rc;
}

/* Under mpirun: this rank's rows, trained and encoded together (IVF-PQ) or
 * gathered (flat), one file. */
static int build_one_file_dist(const cli_args *a, sl_metric m, bool flat) {
    float *x = NULL;
    int64_t *labels = NULL, *ids = NULL;
    size_t rows, d, first, n;
    sl_status s = sl_npy_read_matrix_part(a->pos[0], (size_t)sl_dist_rank(), (size_t)sl_dist_size(), &x, &rows, &d,
                                          &first, &n);
    int rc = s ? cli_fail(s) : 0;
    if (!rc && cli_str(a, "labels")) rc = cli_read_labels(cli_str(a, "labels"), n, "vectors", &labels);
    if (!rc && cli_str(a, "ids")) rc = cli_read_ints(cli_str(a, "ids"), n, "ids", "vectors", &ids);
    if (!rc)
        rc = flat ? build_flat(a, m, x, rows, d, first, n, ids, labels)
                  : build_ivfpq(a, m, x, rows, d, first, n, ids, labels);
    sl_allocator_free(x), sl_allocator_free(labels), sl_allocator_free(ids);
    return rc;
}

static int cmd_build(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&build_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_threads_set((int)cli_int(&a, "threads"));
    sl_metric m;
    sl_metric_parse(cli_str(&a, "metric"), &m);
    bool ivf = strcmp(cli_str(&a, "type"), "ivfpq") == 0, flat = strcmp(cli_str(&a, "type"), "flat") == 0;
    if (flat && ((r = wrong_kind(&a, "a flat", hnsw_only_build)) || (r = wrong_kind(&a, "a flat", ivfpq_only_build))))
        return r;
    if (!flat && (r = wrong_kind(&a, ivf ? "an IVF-PQ" : "an HNSW", ivf ? hnsw_only_build : ivfpq_only_build))) return r;
    if ((ivf || flat) && sl_dist_size() > 1) return build_one_file_dist(&a, m, flat);
    if (sl_dist_size() > 1) return build_sharded(&a, m);
    float *x = NULL;
    int64_t *labels = NULL, *ids = NULL;
    size_t n, d;
    sl_hnsw *h = NULL;
    sl_progress *p = NULL;
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
    if (ivf || flat) {
        rc = flat ? build_flat(&a, m, x, n, d, 0, n, ids, labels) : build_ivfpq(&a, m, x, n, d, 0, n, ids, labels);
        goto out;
    }
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
    {"ef", 0, CLI_INT, "64", "hnsw: candidate list size (raised to k)", NULL, 1, 1e9, false},
    {"nprobe", 0, CLI_INT, "8", "ivfpq: lists visited per query", NULL, 1, 2147483648.0, false},
    {"rerank", 0, CLI_INT, "0", "ivfpq: re-score this many best codes exactly from --base (0: off; else >= k)", NULL, 0,
     1e9, false},
    {"base", 0, CLI_STR, NULL, "ivfpq: the original vectors (.npy, row i = id i) for --rerank", NULL, 0, 0, false},
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
    "are printed as 'query: id(score) ...'. Filters are applied during the search.\n"
    "An IVF-PQ index scans the codes of the --nprobe lists nearest each query; its scores are\n"
    "approximate unless --rerank N re-scores the N best exactly from the vectors in --base.\n"
    "A flat index is searched exactly (every vector held), as simlearn knn does; under mpirun\n"
    "the ranks share the queries (as for IVF-PQ) and rank 0 writes.\n"
    "A sharded INDEX (a manifest written by index build under mpirun) is searched shard by shard\n"
    "and the lists merged by score, then id: in this process, or under mpirun -np N (N = its\n"
    "shard count) one shard per rank, with the same output.",
    search_opts, 2, 2,
    "examples:\n  simlearn index search train.hnsw test.npy -k 10 --ef 64 --ids-out nn.npy\n"
    "  simlearn index search train.ivfpq test.npy -k 10 --nprobe 16 --rerank 100 --base train.npy\n"
    "  mpirun -np 2 simlearn index search train.hnsw test.npy -k 10 --ids-out nn.npy"};

/* The queries (dim columns, at least one row) and the filters. */
typedef struct {
    float *q;
    size_t nq, na, nl;
    int64_t *allow, *labs;
} search_input;

static void search_input_free(search_input *in) {
    sl_allocator_free(in->q), sl_allocator_free(in->allow);
    free(in->labs);
}

static int search_input_read(const cli_args *a, size_t dim, search_input *in) {
    size_t dq;
    sl_status s = sl_npy_read_matrix(a->pos[1], &in->q, &in->nq, &dq);
    if (s) return cli_fail(s);
    if (dq != dim) {
        fprintf(stderr, "simlearn: error: %s has %zu columns but the index %s holds %zu-dimensional vectors\n",
                a->pos[1], dq, a->pos[0], dim);
        return 1;
    }
    if (in->nq == 0) {
        fprintf(stderr, "simlearn: error: %s: no queries (0 rows)\n", a->pos[1]);
        return 1;
    }
    if (cli_str(a, "allow-ids") && (s = sl_npy_read_labels(cli_str(a, "allow-ids"), &in->allow, &in->na)))
        return cli_fail(s);
    if (cli_str(a, "allow-labels"))
        return cli_int_list("allow-labels", cli_str(a, "allow-labels"), INT64_MIN, INT64_MAX, &in->labs, &in->nl);
    return 0;
}

static int k_too_large(size_t k, size_t live) {
    fprintf(stderr, "simlearn: error: k = %zu but the index holds %zu vectors\n", k, live);
    return 1;
}

/* A sharded index: every shard in this process, or under mpirun one per
 * rank (rank 0 writes the merged results). */
static int search_sharded(const cli_args *a, size_t k) {
    sl_shards *sh = NULL;
    search_input in = {0};
    int64_t *ids = NULL;
    float *sc = NULL;
    sl_status s = sl_shards_load_dist(a->pos[0], &sh);
    if (s) return cli_fail(s);
    sl_shards_info info;
    sl_shards_get_info(sh, &info);
    int rc = search_input_read(a, info.dim, &in);
    if (!rc && k > info.rows) rc = k_too_large(k, info.rows);
    if (!rc) rc = cli_alloc_results(in.nq, k, &ids, &sc);
    sl_hnsw_filter f = {.allow_ids = in.allow, .n_allow_ids = in.na, .allow_labels = in.labs, .n_allow_labels = in.nl};
    if (!rc && (s = sl_shards_search(sh, in.q, in.nq, k, (size_t)cli_int(a, "ef"), &f, ids, sc))) rc = cli_fail(s);
    if (!rc && sl_dist_rank() == 0)
        rc = cli_write_neighbours(cli_str(a, "ids-out"), cli_str(a, "scores-out"), ids, sc, in.nq, k, true);
    sl_shards_destroy(sh);
    search_input_free(&in);
    free(ids), free(sc);
    return rc;
}

static const char *const hnsw_only_search[] = {"ef", NULL};
static const char *const ivfpq_only_search[] = {"nprobe", "rerank", "base", NULL};

/* A flat index, searched exactly; under mpirun every rank loads it and
 * searches a share of the queries, and rank 0 writes. */
static int search_flat(const cli_args *a, size_t k) {
    sl_flat_index *f = NULL;
    search_input in = {0};
    int64_t *ids = NULL;
    float *sc = NULL;
    sl_status s = sl_flat_index_load(a->pos[0], &f);
    if (s) return cli_fail(s);
    sl_flat_index_info info;
    sl_flat_index_get_info(f, &info);
    int rc = search_input_read(a, info.dim, &in);
    if (!rc && k > info.size) rc = k_too_large(k, info.size);
    if (!rc) rc = cli_alloc_results(in.nq, k, &ids, &sc);
    sl_hnsw_filter flt = {.allow_ids = in.allow, .n_allow_ids = in.na, .allow_labels = in.labs, .n_allow_labels = in.nl};
    if (!rc && (s = sl_flat_index_search_dist(f, in.q, in.nq, k, &flt, ids, sc))) rc = cli_fail(s);
    if (!rc && sl_dist_rank() == 0)
        rc = cli_write_neighbours(cli_str(a, "ids-out"), cli_str(a, "scores-out"), ids, sc, in.nq, k, true);
    sl_flat_index_destroy(f);
    search_input_free(&in);
    free(ids), free(sc);
    return rc;
}

/* An IVF-PQ index, optionally re-ranked from --base; under mpirun every
 * rank loads it and searches a share of the queries, and rank 0 writes. */
static int search_ivfpq(const cli_args *a, size_t k) {
    sl_ivfpq *q = NULL;
    search_input in = {0};
    int64_t *ids = NULL;
    float *sc = NULL, *base = NULL;
    size_t bn = 0, bd = 0;
    sl_ivfpq_search_config c;
    sl_ivfpq_search_config_default(&c);
    c.k = k, c.nprobe = (size_t)cli_int(a, "nprobe"), c.rerank = (size_t)cli_int(a, "rerank");
    if (c.rerank && c.rerank < k) return cli_usage_error("--rerank %zu must be at least k = %zu", c.rerank, k);
    if (!c.rerank != !cli_str(a, "base")) return cli_usage_error("--rerank and --base go together");
    int rc = 0;
    sl_status s = sl_ivfpq_load(a->pos[0], &q);
    if (s) return cli_fail(s);
    sl_ivfpq_info info;
    sl_ivfpq_get_info(q, &info);
    if ((rc = search_input_read(a, info.dim, &in))) goto out;
    if (k > info.size) {
        rc = k_too_large(k, info.size);
        goto out;
    }
    if (cli_str(a, "base") && (s = sl_npy_read_matrix(cli_str(a, "base"), &base, &bn, &bd))) {
        rc = cli_fail(s);
        goto out;
    }
    if (base && bd != info.dim) {
        fprintf(stderr, "simlearn: error: %s has %zu columns but the index %s holds %zu-dimensional vectors\n",
                cli_str(a, "base"), bd, a->pos[0], info.dim);
        rc = 1;
        goto out;
    }
    if ((rc = cli_alloc_results(in.nq, k, &ids, &sc))) goto out;
    sl_hnsw_filter f = {.allow_ids = in.allow, .n_allow_ids = in.na, .allow_labels = in.labs, .n_allow_labels = in.nl};
    c.filter = &f, c.base = base, c.base_rows = bn;
    if ((s = sl_ivfpq_search_dist(q, in.q, in.nq, &c, ids, sc))) {
        rc = cli_fail(s);
        goto out;
    }
    if (sl_dist_rank() == 0)
        rc = cli_write_neighbours(cli_str(a, "ids-out"), cli_str(a, "scores-out"), ids, sc, in.nq, k, true);
out:
    sl_ivfpq_destroy(q);
    search_input_free(&in);
    sl_allocator_free(base);
    free(ids), free(sc);
    return rc;
}

static int cmd_search(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&search_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    sl_threads_set((int)cli_int(&a, "threads"));
    size_t k = (size_t)cli_int(&a, "k");
    bool ivf = is_ivfpq(a.pos[0]);
    if (is_flat(a.pos[0])) {
        if ((r = wrong_kind(&a, "a flat", hnsw_only_search)) || (r = wrong_kind(&a, "a flat", ivfpq_only_search))) return r;
        return search_flat(&a, k);
    }
    if ((r = wrong_kind(&a, ivf ? "an IVF-PQ" : "an HNSW", ivf ? hnsw_only_search : ivfpq_only_search))) return r;
    if (ivf) return search_ivfpq(&a, k);
    if (sl_shards_is_manifest(a.pos[0])) return search_sharded(&a, k);
    if (sl_dist_size() > 1) {
        if (sl_dist_rank() == 0)
            fprintf(stderr, "simlearn: error: %s is a single HNSW file; under mpirun, index search needs a sharded "
                            "index (written by mpirun -np N simlearn index build); search this one without mpirun\n",
                    a.pos[0]);
        return 2;
    }
    sl_hnsw *h = NULL;
    search_input in = {0};
    int64_t *ids = NULL;
    float *sc = NULL;
    int rc = 0;
    sl_status s;
    if ((s = sl_hnsw_load(a.pos[0], &h))) {
        rc = cli_fail(s);
        goto out;
    }
    if ((rc = search_input_read(&a, sl_hnsw_dim(h), &in))) goto out;
    if (k > sl_hnsw_live(h)) {
        rc = k_too_large(k, sl_hnsw_live(h));
        goto out;
    }
    if ((rc = cli_alloc_results(in.nq, k, &ids, &sc))) goto out;
    sl_hnsw_filter f = {.allow_ids = in.allow, .n_allow_ids = in.na, .allow_labels = in.labs, .n_allow_labels = in.nl};
    if ((s = sl_hnsw_search(h, in.q, in.nq, k, (size_t)cli_int(&a, "ef"), &f, ids, sc))) {
        rc = cli_fail(s);
        goto out;
    }
    rc = cli_write_neighbours(cli_str(&a, "ids-out"), cli_str(&a, "scores-out"), ids, sc, in.nq, k, true);
out:
    sl_hnsw_destroy(h);
    search_input_free(&in);
    free(ids), free(sc);
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
    "be ids given earlier. An IVF-PQ index encodes them with the centroids and codebooks it\n"
    "was trained with. The file is replaced atomically.",
    add_opts, 2, 2, "example:\n  simlearn index add train.hnsw more.npy --ids more_ids.npy"};

/* The rows of NEW.npy (the index's dim columns, at least one) with their
 * --labels and --ids. */
typedef struct {
    float *x;
    size_t n;
    int64_t *labels, *ids;
} new_rows;

static void new_rows_free(new_rows *r) { sl_allocator_free(r->x), sl_allocator_free(r->labels), sl_allocator_free(r->ids); }

static int new_rows_read(const cli_args *a, size_t dim, new_rows *r) {
    size_t d;
    sl_status s = sl_npy_read_matrix(a->pos[1], &r->x, &r->n, &d);
    if (s) return cli_fail(s);
    if (d != dim || r->n == 0) {
        fprintf(stderr, "simlearn: error: %s has %zu rows of %zu columns; the index %s needs rows of %zu\n", a->pos[1],
                r->n, d, a->pos[0], dim);
        return 1;
    }
    int rc = 0;
    if (cli_str(a, "labels") && (rc = cli_read_labels(cli_str(a, "labels"), r->n, "vectors", &r->labels))) return rc;
    if (cli_str(a, "ids")) rc = cli_read_ints(cli_str(a, "ids"), r->n, "ids", "vectors", &r->ids);
    return rc;
}

/* "added N vectors (ids ...) to FILE" */
static void print_added(const cli_args *a, const new_rows *r, long long first, const char *outp) {
    if (r->ids)
        printf("added %zu vectors (ids from %s) to %s\n", r->n, cli_str(a, "ids"), outp);
    else
        printf("added %zu vectors (ids %lld..%lld) to %s\n", r->n, first, first + (long long)r->n - 1, outp);
}

static const char *out_path(const cli_args *a) { return cli_str(a, "output") ? cli_str(a, "output") : a->pos[0]; }

/* Rows encoded into an IVF-PQ index (its trained lists; no retraining). */
static int add_ivfpq(const cli_args *a) {
    sl_ivfpq *q = NULL;
    new_rows r = {0};
    sl_progress *p = NULL;
    sl_status s = sl_ivfpq_load(a->pos[0], &q);
    int rc = s ? cli_fail(s) : 0;
    sl_ivfpq_info info;
    if (!rc) sl_ivfpq_get_info(q, &info), rc = new_rows_read(a, info.dim, &r);
    if (!rc && ((s = sl_progress_create(stderr, cli_progress_mode(a), "encode", r.n, "vec", &p)) ||
                (s = sl_ivfpq_add(q, r.x, r.n, r.ids, r.labels, p, cli_stop_begin())) ||
                (s = sl_ivfpq_save(q, out_path(a)))))
        rc = add_fail(s, cli_str(a, "ids"));
    if (!rc) {
        sl_progress_finish(p, NULL);
        print_added(a, &r, (long long)info.next_id, out_path(a));
    }
    cli_stop_end();
    sl_progress_destroy(p);
    sl_ivfpq_destroy(q);
    new_rows_free(&r);
    return rc;
}

/* Rows added to a flat index. */
static int add_flat(const cli_args *a) {
    sl_flat_index *f = NULL;
    new_rows r = {0};
    sl_status s = sl_flat_index_load(a->pos[0], &f);
    int rc = s ? cli_fail(s) : 0;
    sl_flat_index_info info;
    if (!rc) sl_flat_index_get_info(f, &info), rc = new_rows_read(a, info.dim, &r);
    if (!rc && ((s = sl_flat_index_add(f, r.x, r.n, r.ids, r.labels)) || (s = sl_flat_index_save(f, out_path(a)))))
        rc = add_fail(s, cli_str(a, "ids"));
    if (!rc) print_added(a, &r, (long long)info.next_id, out_path(a));
    sl_flat_index_destroy(f);
    new_rows_free(&r);
    return rc;
}

/* Rows inserted into an HNSW graph. */
static int add_hnsw(const cli_args *a) {
    sl_hnsw *h = NULL;
    new_rows r = {0};
    int64_t first = 0;
    sl_progress *p = NULL;
    sl_status s = sl_hnsw_load(a->pos[0], &h);
    int rc = s ? cli_fail(s) : 0;
    if (!rc) rc = new_rows_read(a, sl_hnsw_dim(h), &r);
    if (!rc && ((s = sl_progress_create(stderr, cli_progress_mode(a), "add", r.n, "vec", &p)) ||
                (s = r.ids ? sl_hnsw_add_keys(h, r.x, r.n, r.ids, r.labels, p, cli_stop_begin())
                           : sl_hnsw_add(h, r.x, r.n, r.labels, p, cli_stop_begin(), &first))))
        rc = add_fail(s, cli_str(a, "ids"));
    cli_stop_end();
    if (!rc) {
        sl_progress_finish(p, NULL);
        if ((s = sl_hnsw_save(h, out_path(a))))
            rc = cli_fail(s);
        else
            print_added(a, &r, (long long)first, out_path(a));
    }
    sl_progress_destroy(p);
    sl_hnsw_destroy(h);
    new_rows_free(&r);
    return rc;
}

static int cmd_add(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&add_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    if ((r = not_sharded("add", a.pos[0]))) return r;
    sl_threads_set((int)cli_int(&a, "threads"));
    if (is_ivfpq(a.pos[0])) return add_ivfpq(&a);
    if (is_flat(a.pos[0])) return add_flat(&a);
    return add_hnsw(&a);
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
    "repaired (HNSW) or their codes (IVF-PQ) or vectors (flat) removed, so searches never see\n"
    "them again. An id given with --ids (index build or add) may be given again to a new row;\n"
    "the ids 0..n-1 of rows added without --ids are not reused.",
    del_opts, 1, 1, "example:\n  simlearn index delete train.hnsw --ids 4,17,99"};

static int cmd_delete(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&del_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    if ((r = not_sharded("delete", a.pos[0]))) return r;
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
    if (is_flat(a.pos[0])) {
        sl_flat_index *f = NULL;
        size_t gone = 0;
        if ((s = sl_flat_index_load(a.pos[0], &f)) || (s = sl_flat_index_delete(f, ids ? ids : fids, n, &gone)) ||
            (s = sl_flat_index_save(f, outp))) {
            rc = cli_fail(s);
        } else {
            sl_flat_index_info info;
            sl_flat_index_get_info(f, &info);
            printf("deleted %zu vectors from %s; %zu remain\n", gone, outp, info.size);
        }
        sl_flat_index_destroy(f);
        goto out;
    }
    if (is_ivfpq(a.pos[0])) {
        sl_ivfpq *q = NULL;
        size_t gone = 0;
        if ((s = sl_ivfpq_load(a.pos[0], &q)) || (s = sl_ivfpq_delete(q, ids ? ids : fids, n, &gone)) ||
            (s = sl_ivfpq_save(q, outp))) {
            rc = cli_fail(s);
        } else {
            sl_ivfpq_info info;
            sl_ivfpq_get_info(q, &info);
            printf("deleted %zu vectors from %s; %zu remain\n", gone, outp, info.size);
        }
        sl_ivfpq_destroy(q);
        goto out;
    }
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
                                   "reachable from the entry point, each given id naming its row). For a sharded\n"
                                   "index: the manifest and its shards (--check checks each). IVF-PQ and flat\n"
                                   "indexes are checked whole whenever they are read.",
                                   info_opts, 1, 1, "example:\n  simlearn index info train.hnsw --check"};

/* A manifest: its parameters and shards (each file's facts checked against
 * it); with --check each shard is loaded and checked in turn. */
static int info_sharded(const cli_args *a) {
    sl_shards *sh;
    sl_status s = sl_shards_open(a->pos[0], &sh);
    if (s) return cli_fail(s);
    sl_shards_info i;
    sl_shards_get_info(sh, &i);
    printf("%s: sharded HNSW index, %zu shards, metric %s, %zu dims, M %zu, ef_construction %zu\n", a->pos[0],
           i.shards, sl_metric_name(i.metric), i.dim, i.M, i.ef_construction);
    printf("  vectors: %zu live in all; search with mpirun -np %zu (one shard per rank) or as one process\n", i.rows,
           i.shards);
    int rc = 0;
    for (size_t t = 0; t < i.shards && !rc; t++) {
        sl_shards_entry e;
        sl_shards_get_entry(sh, t, &e);
        printf("  shard %zu: %s, %zu vectors, %.1f MiB, checksum %016llx", t, e.path, e.rows,
               (double)e.bytes / 1048576.0, (unsigned long long)e.checksum);
        sl_hnsw *h = NULL;
        if (cli_flag(a, "check") && ((s = sl_hnsw_load(e.path, &h)) || (s = sl_hnsw_check(h)))) {
            printf("\n");
            rc = cli_fail(s);
        } else {
            printf("%s\n", cli_flag(a, "check") ? ", check: ok" : "");
        }
        sl_hnsw_destroy(h);
    }
    sl_shards_destroy(sh);
    return rc;
}

/* An IVF-PQ index: parameters, sizes and how even its lists are (loading
 * it checks it whole). */
static int info_ivfpq(const cli_args *a) {
    sl_ivfpq *q;
    sl_status s = sl_ivfpq_load(a->pos[0], &q);
    if (s) return cli_fail(s);
    sl_ivfpq_info i;
    sl_ivfpq_get_info(q, &i);
    printf("%s: IVF-PQ index, metric %s, %zu dims, nlist %zu, %zu sub-quantisers x %zu bits\n", a->pos[0],
           sl_metric_name(i.metric), i.dim, i.nlist, i.M, i.nbits);
    printf("  vectors: %zu, %zu ids used (%zu deleted)%s\n", i.size, i.next_id, i.next_id - i.size,
           i.labelled ? ", with labels" : "");
    printf("  bytes per vector: %zu (code %zu, id 8%s; %zu as float32), memory %.1f MiB\n", i.code_bytes, i.M,
           i.labelled ? ", label 8" : "", 4 * i.dim, (double)i.bytes / 1048576.0);
    printf("  lists: largest %zu, empty %zu, imbalance %.2f (1 = even)\n", i.largest_list, i.empty_lists,
           i.imbalance);
    if (cli_flag(a, "check")) printf("  check: ok\n");
    sl_ivfpq_destroy(q);
    return 0;
}

/* A flat index: its parameters and size (loading it checks it whole). */
static int info_flat(const cli_args *a) {
    sl_flat_index *f;
    sl_status s = sl_flat_index_load(a->pos[0], &f);
    if (s) return cli_fail(s);
    sl_flat_index_info i;
    sl_flat_index_get_info(f, &i);
    printf("%s: flat index (exact search), metric %s, %zu dims\n", a->pos[0], sl_metric_name(i.metric), i.dim);
    printf("  vectors: %zu, %zu ids used (%zu deleted)%s\n", i.size, i.next_id,
           i.next_id > i.size ? i.next_id - i.size : 0, i.labelled ? ", with labels" : "");
    printf("  bytes per vector: %zu (float32 vector %zu, id 8%s), memory %.1f MiB\n", i.vector_bytes, 4 * i.dim,
           i.labelled ? ", label 8" : "", (double)i.bytes / 1048576.0);
    if (cli_flag(a, "check")) printf("  check: ok\n");
    sl_flat_index_destroy(f);
    return 0;
}

static int cmd_info(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&info_spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    if (sl_shards_is_manifest(a.pos[0])) return info_sharded(&a);
    if (is_ivfpq(a.pos[0])) return info_ivfpq(&a);
    if (is_flat(a.pos[0])) return info_flat(&a);
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

static const cli_sub subs[] = {{"build", "build an HNSW, IVF-PQ or flat index from a .npy matrix", cmd_build, true},
                               {"search", "k nearest neighbours of query rows", cmd_search, true},
                               {"add", "insert more rows into an index", cmd_add, false},
                               {"delete", "delete ids, repairing the graph", cmd_delete, false},
                               {"info", "parameters, size and an optional integrity check", cmd_info, false},
                               {NULL, NULL, NULL, false}};

static int run(int argc, char **argv) { return cli_dispatch("index", subs, argc, argv); }

/* Distributed: build and search share their work among the ranks; the other
 * subcommands refuse under mpirun. */
const cli_command cli_cmd_index = {"index", "HNSW, IVF-PQ and flat indexes: build, search, add, delete, info", run,
                                   true};

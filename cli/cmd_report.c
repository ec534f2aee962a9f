/* simlearn report: gather a run folder's models, logs and embeddings (or
 * files named explicitly), embed the evaluation split with every model, and
 * write one self-contained HTML report about them. */
#include "cli.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
    {"output", 'o', CLI_STR, NULL, "HTML file to write (default: RUN_DIR/report.html, else report.html)", NULL, 0, 0,
     false},
    {"model", 0, CLI_STR, NULL, "comma-separated model checkpoints to report on (besides RUN_DIR's)", NULL, 0, 0,
     false},
    {"log", 0, CLI_STR, NULL, "comma-separated JSONL training logs (besides RUN_DIR's *.jsonl)", NULL, 0, 0, false},
    {"emb", 0, CLI_STR, NULL, "comma-separated embedding matrices (.npy, one row per item)", NULL, 0, 0, false},
    {"labels", 0, CLI_STR, NULL, "comma-separated label vectors (.npy); NAME.ATTR.npy names attribute ATTR", NULL, 0,
     0, false},
    CLI_OPT_DATA(NULL, "dataset of the items (images for the grids; default: the first model's dataset)"),
    {"count", 0, CLI_INT, "2000", "items of the split to use (the first ones)", NULL, 2, 1e7, false},
    CLI_DATA_OPTS_MODEL("val"),
    CLI_OPT_DATA_LABELS("data-labels"),
    {"no-pixels", 0, CLI_FLAG, NULL, "leave raw pixels out of the comparison", NULL, 0, 0, false},
    {"title", 0, CLI_STR, NULL, "page title (default: the folder's name)", NULL, 0, 0, false},
    {"queries", 0, CLI_INT, "8", "query images in the neighbour grids", NULL, 1, 100, false},
    {"neighbours", 0, CLI_INT, "8", "neighbours shown per query", NULL, 1, 50, false},
    {"knn-k", 0, CLI_INT, "10", "neighbours voting in the kNN classifier", NULL, 1, 1000, false},
    {"label", 0, CLI_STR, NULL, "attribute shown under the grid tiles (default: the first)", NULL, 0, 0, false},
    {"path", 0, CLI_STR, NULL, "items I,J whose path through each k-NN graph is drawn (default: two grid queries of "
     "different classes)", NULL, 0, 0, false},
    {"no-tsne", 0, CLI_FLAG, NULL, "PCA maps only (faster)", NULL, 0, 0, false},
    {"tsne-iters", 0, CLI_INT, "1000", "t-SNE iterations", NULL, 50, 100000, false},
    {"thumbs", 0, CLI_INT, "20", "images drawn over each t-SNE map (0 = none)", NULL, 0, 1000, false},
    {"no-probe", 0, CLI_FLAG, NULL, "skip the linear probe", NULL, 0, 0, false},
    CLI_OPT_SEED,
    CLI_OPT_THREADS,
    CLI_OPT_QUIET,
    CLI_OPT_END,
};

static const cli_spec spec = {
    "simlearn report [RUN_DIR] [-o report.html] [--model M,...] [--log L,...] [--emb E,... --labels L,...]",
    "Write one self-contained HTML page about a run: nearest-neighbour grids of query images and their "
    "neighbours (for every model and for raw pixels), PCA and t-SNE maps coloured by every label attribute, "
    "training curves from the JSONL logs, a geometry panel, and kNN, linear-probe and retrieval tables (and, for CLIP "
    "models, zero-shot accuracy with the prompt \"a photo of a {}\"). From "
    "RUN_DIR it takes every *.safetensors model (embedding the --split of its dataset) and every *.jsonl log; a "
    "folder without models gives its embeddings: NAME.npy with labels NAME.ATTR.npy, as simlearn embed writes "
    "them.",
    opts, 0, 1,
    "examples:\n"
    "  simlearn report demo-out\n"
    "  simlearn report --model run/model.safetensors --log run/log.jsonl -o run.html\n"
    "  simlearn report --emb val.npy --labels val.class.npy --data fashion-mnist --split test -o r.html\n"};

#define MAX_ITEMS 64

typedef struct {
    char *names[MAX_ITEMS];
    size_t n;
} strlist;

static int add(strlist *l, const char *s) {
    if (l->n == MAX_ITEMS) return cli_usage_error("at most %d files of one kind", MAX_ITEMS);
    l->names[l->n++] = strdup(s);
    return 0;
}

static int add_csv(strlist *l, const char *csv) {
    if (!csv) return 0;
    char *c = strdup(csv), *save = NULL;
    int rc = 0;
    for (char *t = strtok_r(c, ",", &save); t && !rc; t = strtok_r(NULL, ",", &save))
        if (*t) rc = add(l, t);
    free(c);
    return rc;
}

static void list_free(strlist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->names[i]);
}

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* File name without folder and without the extension `ext`. */
static char *stem(const char *path, const char *ext) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (ends_with(b, ext)) n -= strlen(ext);
    return strndup(b, n);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct {
    size_t n;
    sl_report_rep reps[MAX_ITEMS + 1];
    float *rep_x[MAX_ITEMS + 1];
    char *rep_names[MAX_ITEMS + 1];
    size_t n_reps;
    sl_report_attr attrs[MAX_ITEMS];
    int64_t *attr_labels[MAX_ITEMS];
    char *attr_names[MAX_ITEMS];
    size_t n_attrs;
    sl_report_log logs[MAX_ITEMS];
    sl_jsonl *log_tables[MAX_ITEMS];
    char *log_names[MAX_ITEMS];
    size_t n_logs;
    uint8_t *images;
    int w, h, c;
    sl_dataset *data;
    sl_report_zeroshot zs[MAX_ITEMS];
    sl_zeroshot_result **zs_res[MAX_ITEMS]; /* n_attrs each */
    const int32_t **zs_pred[MAX_ITEMS];     /* n_attrs each */
    size_t n_zs;
} gathered;

static void gathered_free(gathered *g) {
    for (size_t i = 0; i < g->n_reps; i++) free(g->rep_x[i]), free(g->rep_names[i]);
    for (size_t i = 0; i < g->n_attrs; i++) free(g->attr_labels[i]), free(g->attr_names[i]);
    for (size_t i = 0; i < g->n_logs; i++) sl_jsonl_destroy(g->log_tables[i]), free(g->log_names[i]);
    free(g->images);
    sl_data_destroy(g->data);
    for (size_t z = 0; z < g->n_zs; z++) {
        for (size_t k = 0; k < g->n_attrs; k++) sl_zeroshot_result_destroy(g->zs_res[z][k]);
        free(g->zs_res[z]), free(g->zs_pred[z]);
    }
}

static int oom(void) {
    fprintf(stderr, "simlearn: error: out of memory\n");
    return 1;
}

/* Takes ownership of name and x (malloc'd). */
static int add_rep(gathered *g, char *name, float *x, size_t d) {
    if (g->n_reps == MAX_ITEMS + 1) {
        free(x), free(name);
        return cli_usage_error("too many representations");
    }
    g->rep_x[g->n_reps] = x, g->rep_names[g->n_reps] = name;
    g->reps[g->n_reps] = (sl_report_rep){name, x, d};
    g->n_reps++;
    return 0;
}

/* The dataset of the report: the options, and what they leave unset from the
 * first model's training data (as sl_embed_run would open it). */
static int resolve_data(const cli_args *a, const char *model, sl_data_config *dc, char *buf, size_t cap) {
    sl_data_config opt;
    int rc = cli_data_config(a, NULL, &opt);
    if (rc) return rc;
    sl_embed_config e;
    sl_embed_config_default(&e);
    sl_embed_config_set_data(&e, &opt);
    e.model = model;
    sl_status s = sl_embed_data_config(&e, dc, buf, cap);
    return s ? cli_fail(s) : 0;
}

/* Take the labels of every attribute of g->data. */
static int add_attrs(gathered *g) {
    int na = sl_data_num_attrs(g->data);
    for (int k = 0; k < na && k < MAX_ITEMS; k++) {
        const sl_attr *at = sl_data_attr(g->data, k);
        g->attr_labels[k] = malloc(g->n * sizeof(int64_t));
        g->attr_names[k] = strdup(at->name);
        g->n_attrs++;
        if (!g->attr_labels[k] || !g->attr_names[k]) return oom();
        g->attrs[k] = (sl_report_attr){g->attr_names[k], g->attr_labels[k], at->class_names, (size_t)at->n_classes};
    }
    return 0;
}

/* Open the dataset and take its first `count` items: images, raw pixels and
 * labels. */
static int open_data(gathered *g, const cli_args *a, const sl_data_config *dc, char *desc, size_t desc_len) {
    sl_status s;
    if ((s = sl_data_open(dc, &g->data))) return cli_fail(s);
    size_t n = sl_data_count(g->data), want = (size_t)cli_int(a, "count");
    if (n > want) n = want;
    g->n = n;
    g->c = sl_data_channels(g->data), g->h = sl_data_height(g->data), g->w = sl_data_width(g->data);
    size_t item = sl_data_item_size(g->data), hw = (size_t)g->h * (size_t)g->w;
    int na = sl_data_num_attrs(g->data);
    float *px = malloc(n * item * sizeof(float));
    int32_t *lab = malloc((size_t)(na > 0 ? na : 1) * sizeof(int32_t));
    bool images = (g->c == 1 || g->c == 3) && item == hw * (size_t)g->c;
    if (images) g->images = malloc(n * item);
    int rc = !px || !lab || (images && !g->images) ? oom() : add_attrs(g);
    for (size_t i = 0; !rc && i < n; i++) {
        if ((s = sl_data_get(g->data, i, px + i * item, lab, NULL))) {
            rc = cli_fail(s);
            break;
        }
        for (size_t k = 0; k < g->n_attrs; k++) g->attr_labels[k][i] = lab[k];
        if (images)
            for (size_t p = 0; p < hw; p++)
                for (int ch = 0; ch < g->c; ch++) {
                    float f = px[i * item + (size_t)ch * hw + p] * 255.0f + 0.5f;
                    g->images[(i * hw + p) * (size_t)g->c + (size_t)ch] = (uint8_t)(f < 0 ? 0 : f > 255 ? 255 : f);
                }
    }
    free(lab);
    if (!images) free(g->images), g->images = NULL;
    snprintf(desc, desc_len, "Data: %s, %s split, %zu items.", sl_data_name(g->data), sl_split_name(dc->split), n);
    if (rc || cli_flag(a, "no-pixels")) {
        free(px);
        return rc;
    }
    return add_rep(g, strdup("raw pixels"), px, item);
}

static int add_model(gathered *g, const cli_args *a, const char *path, const sl_data_config *dc) {
    sl_embed_config e;
    sl_embed_config_default(&e);
    sl_embed_config_set_data(&e, dc);
    e.model = path;
    e.threads = (int)cli_int(a, "threads");
    sl_embedding *em;
    sl_status s = sl_embed_run(&e, &em);
    if (s && strstr(sl_error_message(), path)) return cli_fail(s); /* the message names the file already */
    if (s) {
        fprintf(stderr, "simlearn: error: %s: %s\n", path, sl_error_message());
        return 1;
    }
    if (em->n < g->n) {
        fprintf(stderr, "simlearn: error: %s: embedded %zu items, expected %zu\n", path, em->n, g->n);
        sl_embedding_destroy(em);
        return 1;
    }
    float *x = malloc(g->n * em->d * sizeof(float));
    if (!x) {
        sl_embedding_destroy(em);
        return oom();
    }
    memcpy(x, em->x, g->n * em->d * sizeof(float));
    size_t d = em->d;
    sl_embedding_destroy(em);
    return add_rep(g, stem(path, ".safetensors"), x, d);
}

/* For a CLIP model, the zero-shot class of every item for every attribute of
 * the data, with the default prompt template. */
static int add_zeroshot(gathered *g, const cli_args *a, const char *path, const sl_data_config *dc) {
    sl_tensors *ck;
    sl_status s = sl_safetensors_read(path, &ck);
    if (s) return cli_fail(s);
    const char *obj = sl_tensors_get_meta(ck, "train.objective");
    bool clip = obj && strcmp(obj, "clip") == 0;
    sl_tensors_destroy(ck);
    if (!clip || !g->data || !g->n_attrs) return 0;
    if (cli_progress_mode(a) != SL_PROGRESS_QUIET) fprintf(stderr, "report: zero-shot with %s\n", path);
    size_t z = g->n_zs++;
    g->zs_res[z] = calloc(g->n_attrs, sizeof *g->zs_res[z]);
    g->zs_pred[z] = calloc(g->n_attrs, sizeof *g->zs_pred[z]);
    if (!g->zs_res[z] || !g->zs_pred[z]) return oom();
    sl_zeroshot_config c;
    sl_zeroshot_config_default(&c);
    sl_embed_config_set_data(&c.embed, dc);
    c.embed.model = path;
    c.embed.threads = (int)cli_int(a, "threads");
    for (size_t k = 0; k < g->n_attrs; k++) {
        c.attribute = g->attr_names[k];
        if ((s = sl_zeroshot_run(&c, &g->zs_res[z][k]))) return cli_fail(s);
        if (g->zs_res[z][k]->n_items < g->n) {
            fprintf(stderr, "simlearn: error: %s: zero-shot classified %zu items, expected %zu\n", path,
                    g->zs_res[z][k]->n_items, g->n);
            return 1;
        }
        g->zs_pred[z][k] = g->zs_res[z][k]->predicted;
    }
    g->zs[z] = (sl_report_zeroshot){g->rep_names[g->n_reps - 1], c.prompt, g->zs_pred[z]};
    return 0;
}

static int add_emb(gathered *g, const char *path) {
    float *x;
    size_t rows, cols;
    sl_status s = sl_npy_read_matrix(path, &x, &rows, &cols);
    if (s) return cli_fail(s);
    if (!g->n) g->n = rows;
    if (rows < g->n) {
        sl_allocator_free(x);
        fprintf(stderr, "simlearn: error: %s: %zu rows, expected %zu (one per item)\n", path, rows, g->n);
        return 1;
    }
    float *c = malloc(g->n * cols * sizeof(float));
    if (!c) {
        sl_allocator_free(x);
        return oom();
    }
    memcpy(c, x, g->n * cols * sizeof(float));
    sl_allocator_free(x);
    return add_rep(g, stem(path, ".npy"), c, cols);
}

static int add_labels(gathered *g, const char *path) {
    int64_t *l;
    size_t n;
    sl_status s = sl_npy_read_labels(path, &l, &n);
    if (s) return cli_fail(s);
    if (g->n && n < g->n) {
        sl_allocator_free(l);
        fprintf(stderr, "simlearn: error: %s: %zu labels, expected %zu (one per item)\n", path, n, g->n);
        return 1;
    }
    if (g->n_attrs == MAX_ITEMS) {
        sl_allocator_free(l);
        return cli_usage_error("too many label files");
    }
    if (!g->n) g->n = n;
    int64_t *c = malloc(g->n * sizeof *c);
    char *st = stem(path, ".npy"), *dot = strrchr(st, '.');
    char *name = strdup(dot && dot[1] ? dot + 1 : st);
    free(st);
    if (!c || !name) {
        sl_allocator_free(l), free(c), free(name);
        return oom();
    }
    memcpy(c, l, g->n * sizeof *c);
    sl_allocator_free(l);
    g->attr_labels[g->n_attrs] = c, g->attr_names[g->n_attrs] = name;
    g->attrs[g->n_attrs] = (sl_report_attr){name, c, NULL, 0};
    g->n_attrs++;
    return 0;
}

static int add_log(gathered *g, const char *path) {
    if (g->n_logs == MAX_ITEMS) return cli_usage_error("too many logs");
    sl_jsonl *t;
    sl_status s = sl_jsonl_read(path, &t);
    if (s) return cli_fail(s);
    g->log_tables[g->n_logs] = t;
    g->log_names[g->n_logs] = stem(path, ".jsonl");
    g->logs[g->n_logs] = (sl_report_log){g->log_names[g->n_logs], t};
    g->n_logs++;
    return 0;
}

/* The run folder's files by kind. In a folder without models, NAME.npy is an
 * embedding and NAME.ATTR.npy its labels. */
static int scan_dir(const char *dir, strlist *models, strlist *logs, strlist *embs, strlist *labels) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "simlearn: error: %s: cannot open the folder\n", dir);
        return 1;
    }
    strlist all = {0};
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d)))
        if (e->d_name[0] != '.' && (ends_with(e->d_name, ".safetensors") || ends_with(e->d_name, ".jsonl") ||
                                    ends_with(e->d_name, ".npy"))) {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            rc = add(&all, p);
        }
    closedir(d);
    qsort(all.names, all.n, sizeof *all.names, cmp_str);
    bool have_models = false;
    for (size_t i = 0; i < all.n; i++) have_models |= ends_with(all.names[i], ".safetensors");
    /* Two passes: embeddings first, so that their labels can be matched by name. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; !rc && i < all.n; i++) {
            const char *p = all.names[i];
            if (ends_with(p, ".safetensors")) {
                if (pass == 0) rc = add(models, p);
            } else if (ends_with(p, ".jsonl")) {
                if (pass == 0) rc = add(logs, p);
            } else if (!have_models) {
                char *st = stem(p, ".npy"), *dot = strrchr(st, '.');
                if (!dot && pass == 0) rc = add(embs, p);
                else if (dot && pass == 1 && strcmp(dot, ".labels") != 0 && embs->n) {
                    char *first = stem(embs->names[0], ".npy");
                    if (strlen(first) == (size_t)(dot - st) && strncmp(st, first, (size_t)(dot - st)) == 0)
                        rc = add(labels, p); /* NAME.ATTR.npy: labels of the first embedding */
                    free(first);
                }
                free(st);
            }
        }
    list_free(&all);
    return rc;
}

static int run(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    const char *dir = a.npos ? a.pos[0] : NULL;
    if (!dir && !cli_given(&a, "model") && !cli_given(&a, "emb")) {
        return cli_usage_error("give a run folder, or --model / --emb files");
    }
    sl_threads_set((int)cli_int(&a, "threads"));
    strlist models = {0}, logs = {0}, embs = {0}, labels = {0};
    if (dir) rc = scan_dir(dir, &models, &logs, &embs, &labels);
    if (!rc) rc = add_csv(&models, cli_str(&a, "model"));
    if (!rc) rc = add_csv(&logs, cli_str(&a, "log"));
    if (!rc) rc = add_csv(&embs, cli_str(&a, "emb"));
    if (!rc) rc = add_csv(&labels, cli_str(&a, "labels"));
    if (!rc && !models.n && !embs.n) {
        fprintf(stderr, "simlearn: error: %s: no models (*.safetensors) or embeddings (*.npy) to report on\n",
                dir ? dir : "report");
        rc = 1;
    }
    gathered g;
    memset(&g, 0, sizeof g);
    sl_data_config dc;
    char paths[8192], desc[4200] = "";
    if (!rc && (models.n || cli_given(&a, "data"))) {
        rc = resolve_data(&a, models.n ? models.names[0] : NULL, &dc, paths, sizeof paths);
        if (!rc) rc = open_data(&g, &a, &dc, desc, sizeof desc);
    }
    for (size_t i = 0; !rc && i < models.n; i++) {
        if (cli_progress_mode(&a) != SL_PROGRESS_QUIET) fprintf(stderr, "report: embedding with %s\n", models.names[i]);
        rc = add_model(&g, &a, models.names[i], &dc);
        if (!rc) rc = add_zeroshot(&g, &a, models.names[i], &dc);
    }
    for (size_t i = 0; !rc && i < embs.n; i++) rc = add_emb(&g, embs.names[i]);
    if (!g.data)
        for (size_t i = 0; !rc && i < labels.n; i++) rc = add_labels(&g, labels.names[i]);
    for (size_t i = 0; !rc && i < logs.n; i++) rc = add_log(&g, logs.names[i]);
    char out[4096], title[4096];
    const char *o = cli_str(&a, "output");
    if (o) snprintf(out, sizeof out, "%s", o);
    else snprintf(out, sizeof out, "%s%sreport.html", dir ? dir : "", dir ? "/" : "");
    if (cli_str(&a, "title")) snprintf(title, sizeof title, "%s", cli_str(&a, "title"));
    else if (dir) {
        char *st = stem(dir, "");
        snprintf(title, sizeof title, "simlearn report: %s", *st ? st : dir);
        free(st);
    } else snprintf(title, sizeof title, "simlearn report");
    sl_report_config c;
    sl_report_config_default(&c);
    int grid_attr = 0;
    if (!rc && cli_str(&a, "label")) {
        grid_attr = -1;
        for (size_t k = 0; k < g.n_attrs; k++)
            if (strcmp(g.attr_names[k], cli_str(&a, "label")) == 0) grid_attr = (int)k;
        if (grid_attr < 0) rc = cli_usage_error("--label %s: no such attribute", cli_str(&a, "label"));
    }
    int64_t *ends = NULL;
    size_t nends = 0;
    if (!rc && cli_str(&a, "path") &&
        !(rc = cli_int_list("path", cli_str(&a, "path"), 0, (long long)g.n - 1, &ends, &nends)) && nends != 2)
        rc = cli_usage_error("--path: expected two items I,J, got %zu", nends);
    if (ends) c.path_from = (size_t)ends[0], c.path_to = (size_t)ends[nends > 1 ? 1 : 0];
    free(ends);
    if (!rc) {
        c.title = title;
        c.description = desc[0] ? desc : NULL;
        c.n = g.n;
        c.reps = g.reps, c.n_reps = g.n_reps;
        c.attrs = g.attrs, c.n_attrs = g.n_attrs;
        c.images = g.images, c.img_w = g.w, c.img_h = g.h, c.img_c = g.c;
        c.logs = g.logs, c.n_logs = g.n_logs;
        c.zeroshot = g.zs, c.n_zeroshot = g.n_zs;
        c.queries = (size_t)cli_int(&a, "queries");
        c.neighbours = (size_t)cli_int(&a, "neighbours");
        c.knn_k = (size_t)cli_int(&a, "knn-k");
        c.grid_attr = grid_attr;
        c.tsne = !cli_flag(&a, "no-tsne");
        c.tsne_iters = (int)cli_int(&a, "tsne-iters");
        c.probe = !cli_flag(&a, "no-probe");
        c.thumbs = (size_t)cli_int(&a, "thumbs");
        c.seed = (uint64_t)cli_int(&a, "seed");
        c.progress_stream = stderr;
        c.progress_mode = cli_progress_mode(&a);
        char *html = NULL;
        size_t len = 0;
        double t0 = sl_time_now();
        sl_status s = sl_report_html(&c, &html, &len);
        if (!s) s = sl_report_write(out, html, len);
        sl_allocator_free(html);
        if (s) rc = cli_fail(s);
        else
            printf("report: %zu representations of %zu items, %zu logs -> %s (%.1f MB, %.1f s)\n", g.n_reps, g.n,
                   g.n_logs, out, (double)len / 1e6, sl_time_now() - t0);
    }
    gathered_free(&g);
    list_free(&models), list_free(&logs), list_free(&embs), list_free(&labels);
    return rc;
}

const cli_command cli_cmd_report = {"report", "write one HTML page with grids, maps, curves and tables of a run",
                                    run, false};

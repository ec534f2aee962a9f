/* The report: one self-contained HTML page (pictures inlined as data: URIs and
 * inline SVG) with nearest-neighbour grids, embedding maps, training curves, a
 * geometry panel and evaluation tables for a set of representations of the
 * same labelled items. */
#include "viz/viz_internal.h"

#include "simlearn/eval.h"
#include "simlearn/geom.h"
#include "simlearn/index.h"
#include "simlearn/viz.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static sl_status rb_finish(sl__tbuf *b, char **out, size_t *len) {
    if (b->failed || !b->s) {
        sl__free(b->s);
        return sl__fail(SL_ERR_NOMEM, "report: out of memory while writing the page");
    }
    *out = b->s;
    if (len) *len = b->len;
    return SL_OK;
}

sl_status sl_report_base64(const uint8_t *data, size_t n, char **out, size_t *len) {
    sl__tbuf b = {0};
    sl__tb_put(&b, "", 0);
    sl__tb_base64(&b, data, n);
    return rb_finish(&b, out, len);
}

sl_status sl_report_escape(const char *text, char **out) {
    sl__tbuf b = {0};
    sl__tb_put(&b, "", 0);
    sl__tb_text(&b, text);
    return rb_finish(&b, out, NULL);
}

/* An SVG document inlined into the page: from its <svg element on (an XML
 * declaration has no place inside HTML). */
static void rb_svg(sl__tbuf *b, const char *svg, size_t len) {
    const char *at = strstr(svg, "<svg");
    if (!at) return;
    sl__tb_put(b, at, len - (size_t)(at - svg));
}

static void rb_png(sl__tbuf *b, const uint8_t *rgb, int w, int h, const char *alt) {
    uint8_t *png = NULL;
    size_t plen = 0;
    if (sl_png_encode(rgb, w, h, 3, &png, &plen) != SL_OK) {
        b->failed = true;
        return;
    }
    sl__tb_printf(b, "<img width=\"%d\" height=\"%d\" alt=\"", w, h);
    sl__tb_text(b, alt);
    sl__tb_str(b, "\" src=\"data:image/png;base64,");
    sl__tb_base64(b, png, plen);
    sl__tb_str(b, "\">");
    sl__free(png);
}

/* ---- configuration ------------------------------------------------------ */

void sl_report_config_default(sl_report_config *c) {
    memset(c, 0, sizeof *c);
    c->title = "simlearn report";
    c->queries = 8;
    c->neighbours = 8;
    c->knn_k = 10;
    c->tsne = true;
    c->perplexity = 30;
    c->tsne_iters = 1000;
    c->probe = true;
    c->thumbs = 20;
    c->seed = 1;
    c->path_from = c->path_to = SIZE_MAX;
}

static const char *class_name(const sl_report_attr *a, int64_t v, char buf[24]) {
    if (v >= 0 && a->class_names && (size_t)v < a->n_classes && a->class_names[v]) return a->class_names[v];
    snprintf(buf, 24, "%lld", (long long)v);
    return buf;
}

static sl_status check_config(const sl_report_config *c) {
    if (!c) return sl__fail(SL_ERR_ARG, "report: no configuration");
    if (c->n < 2) return sl__fail(SL_ERR_ARG, "report: %zu items; need at least 2", c->n);
    if (c->n_reps == 0 || !c->reps) return sl__fail(SL_ERR_ARG, "report: no representation to report on");
    for (size_t r = 0; r < c->n_reps; r++) {
        if (!c->reps[r].x || c->reps[r].d == 0)
            return sl__fail(SL_ERR_ARG, "report: representation %zu (%s) has no data", r,
                            c->reps[r].name ? c->reps[r].name : "?");
        size_t nd;
        if (!sl_size_mul(c->n, c->reps[r].d, &nd)) return sl__fail(SL_ERR_ARG, "report: absurd size");
        for (size_t i = 0; i < nd; i++)
            if (!isfinite(c->reps[r].x[i]))
                return sl__fail(SL_ERR_NUMERIC, "report: %s: row %zu, column %zu is not finite",
                                c->reps[r].name ? c->reps[r].name : "?", i / c->reps[r].d, i % c->reps[r].d);
    }
    for (size_t k = 0; k < c->n_attrs; k++)
        if (!c->attrs[k].labels || !c->attrs[k].name)
            return sl__fail(SL_ERR_ARG, "report: attribute %zu has no name or no labels", k);
    if (c->images && (c->img_w <= 0 || c->img_h <= 0 || (c->img_c != 1 && c->img_c != 3)))
        return sl__fail(SL_ERR_ARG, "report: images of %d x %d x %d; expected channels 1 or 3", c->img_h, c->img_w,
                        c->img_c);
    for (size_t z = 0; z < c->n_zeroshot; z++)
        if (!c->zeroshot[z].name || !c->zeroshot[z].prompt || !c->zeroshot[z].predicted)
            return sl__fail(SL_ERR_ARG, "report: zero-shot entry %zu has no name, prompt or predictions", z);
    if ((c->path_from != SIZE_MAX || c->path_to != SIZE_MAX) && (c->path_from >= c->n || c->path_to >= c->n))
        return sl__fail(SL_ERR_ARG, "report: path from item %zu to item %zu, but there are %zu items", c->path_from,
                        c->path_to, c->n);
    if (c->grid_attr < 0 || (c->n_attrs && (size_t)c->grid_attr >= c->n_attrs))
        return sl__fail(SL_ERR_ARG, "report: label attribute %d out of range (%zu attributes)", c->grid_attr,
                        c->n_attrs);
    return SL_OK;
}

/* ---- per-representation results ---------------------------------------- */

typedef struct {
    int64_t *ids;   /* n x K neighbours by cosine, nearest first, self excluded */
    float *scores;
    size_t K;
    double *knn;    /* n_attrs accuracies (NaN: not computed) */
    double *probe;  /* n_attrs test accuracies */
    double *rec1, *rec10, *map; /* n_attrs retrieval figures */
    float *pca, *tsne; /* n x 2 each (tsne may be NULL) */
    double pca_var[2];
    /* geometry */
    double erank, mean_norm, mean_cos, uniform, align;
    double *cos;    /* sampled pair cosines */
    size_t n_cos;
} rep_out;

static void rep_free(rep_out *o) {
    sl__free(o->ids), sl__free(o->scores), sl__free(o->knn), sl__free(o->probe);
    sl__free(o->rec1), sl__free(o->rec10), sl__free(o->map);
    sl__free(o->pca), sl__free(o->tsne), sl__free(o->cos);
}

/* Top-2 principal axes by subspace iteration (sl__pca2_axes, 60 iterations:
 * the picture needs only two, and this avoids a d x d eigen-decomposition for
 * pixel-sized inputs), the projections on them and their shares of the total
 * variance. */
static sl_status pca2(const float *x, size_t n, size_t d, uint64_t seed, float *y, double var[2]) {
    double *mean = sl__malloc_array(d, sizeof *mean, "report PCA"), *v = sl__malloc_array(2 * d, sizeof *v, "report PCA");
    double lam[2];
    if (!mean || !v || sl__pca2_axes(x, n, d, seed, 0x7e9, 60, 0, mean, v, lam)) {
        sl__free(mean), sl__free(v);
        return sl__fail(SL_ERR_NOMEM, "report: out of memory (PCA)");
    }
    double total = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) total += (x[i * d + j] - mean[j]) * (x[i * d + j] - mean[j]);
    for (size_t i = 0; i < n; i++) {
        double t0 = 0, t1 = 0;
        for (size_t j = 0; j < d; j++) {
            double cj = x[i * d + j] - mean[j];
            t0 += cj * v[j], t1 += cj * v[d + j];
        }
        y[2 * i] = (float)t0, y[2 * i + 1] = (float)t1;
    }
    var[0] = total > 0 ? lam[0] / total : 0;
    var[1] = total > 0 ? lam[1] / total : 0;
    sl__free(mean), sl__free(v);
    return SL_OK;
}

static double *nan_array(size_t n) {
    double *a = sl__malloc_array(n ? n : 1, sizeof(double), "report");
    if (a)
        for (size_t i = 0; i < n; i++) a[i] = NAN;
    return a;
}

/* Labelled retrieval by cosine similarity for every attribute
 * (sl_retrieval_labelled): each item queries all the others; relevant is the
 * same label. Queries with an unknown label or no relevant item are left out;
 * an attribute with none keeps NaN. */
static sl_status retrieval(const sl_report_config *c, const float *x, size_t d, rep_out *o) {
    size_t n = c->n, Ks[2] = {1, 10 < n - 1 ? 10 : n - 1};
    sl_retrieval_config rc = {.metric = SL_METRIC_COSINE, .exclude_self = true, .Ks = Ks, .nK = 2, .skip_unlabelled = true};
    for (size_t k = 0; k < c->n_attrs; k++) {
        const int64_t *lab = c->attrs[k].labels;
        double rec[2], prec[2], map;
        size_t used;
        SL__TRY(sl_retrieval_labelled(x, n, lab, x, n, lab, d, &rc, rec, prec, &map, &used));
        if (used) o->rec1[k] = rec[0], o->rec10[k] = rec[1], o->map[k] = map;
    }
    return SL_OK;
}

/* A figure that cannot be computed stays NaN (a dash on the page), but
 * running out of memory fails the report: a dash would say the figure does
 * not exist. s: the status of computing the figure; true to keep it. */
static bool figure_ok(sl_status s, sl_status *fail) {
    if (s == SL_ERR_NOMEM) *fail = s;
    return s == SL_OK;
}

/* The linear probe's test accuracy on attribute labels lab into *acc: a
 * seeded half of the labelled rows trains it, the rest tests it (a split by
 * position could follow a pattern in the labels). NaN when it cannot be
 * computed; SL_ERR_NOMEM. */
static sl_status probe_accuracy(const sl_report_config *c, const sl_report_rep *rp, const int64_t *lab, double *acc) {
    size_t n = c->n, d = rp->d, ntr = (n + 1) / 2, nte = n / 2;
    float *xtr = sl__malloc_array(ntr * d, sizeof(float), "probe"), *xte = sl__malloc_array(nte * d, sizeof(float), "probe");
    int64_t *ytr = sl__malloc_array(ntr, sizeof(int64_t), "probe"), *yte = sl__malloc_array(nte, sizeof(int64_t), "probe");
    size_t *perm = sl__malloc_array(n, sizeof(size_t), "probe");
    sl_status fail = xtr && xte && ytr && yte && perm ? SL_OK : SL_ERR_NOMEM;
    sl_rng prng;
    sl_rng_seed(&prng, c->seed, 0x960be);
    *acc = NAN;
    if (!fail && figure_ok(sl_rng_sample(&prng, n, n, false, perm), &fail)) {
        size_t a = 0, b = 0;
        for (size_t t = 0; t < n; t++) {
            size_t i = perm[t];
            if (lab[i] < 0) continue;
            if (t < ntr)
                memcpy(xtr + a * d, rp->x + i * d, d * sizeof(float)), ytr[a++] = lab[i];
            else
                memcpy(xte + b * d, rp->x + i * d, d * sizeof(float)), yte[b++] = lab[i];
        }
        sl_probe_config pc;
        sl_probe_config_default(&pc);
        static const double lambdas[3] = {1e-2, 1e-3, 1e-4};
        pc.lambdas = lambdas, pc.n_lambdas = 3;
        pc.precond_rows = 0;
        pc.lbfgs.max_iter = 150;
        pc.seed = c->seed;
        sl_probe_result *pr = NULL;
        if (figure_ok(sl_probe_run(&pc, xtr, ytr, a, xte, yte, b, d, &pr), &fail)) *acc = pr->test_acc;
        sl_probe_result_destroy(pr);
    }
    sl__free(xtr), sl__free(xte), sl__free(ytr), sl__free(yte), sl__free(perm);
    return fail;
}

/* Neighbours by cosine (self excluded), and per attribute the kNN and probe
 * accuracies. A figure that cannot be computed (one class only, say) stays
 * NaN and shows as a dash. */
static sl_status evaluate(const sl_report_config *c, const sl_report_rep *rp, rep_out *o) {
    size_t n = c->n, d = rp->d;
    sl_flat_config fc = {SL_METRIC_COSINE, o->K, true, 0, 0, NULL, SL_FLAT_SCREEN_AUTO};
    SL__TRY(sl_flat_search(rp->x, n, d, rp->x, n, d, &fc, o->ids, o->scores));
    int64_t *pred = sl__malloc_array(n, sizeof *pred, "report");
    if (!pred) return sl__fail(SL_ERR_NOMEM, "report: out of memory");
    sl_status fail = SL_OK;
    for (size_t k = 0; k < c->n_attrs && !fail; k++) {
        const int64_t *lab = c->attrs[k].labels;
        sl_knn_config kc = {c->knn_k < o->K ? c->knn_k : o->K, SL_VOTE_MAJORITY, 0, SL_METRIC_COSINE};
        if (figure_ok(sl_knn_classify(o->ids, o->scores, n, o->K, lab, n, &kc, pred), &fail))
            o->knn[k] = sl_knn_accuracy_labelled(pred, lab, n);
        if (!fail && c->probe && n >= 8) fail = probe_accuracy(c, rp, lab, &o->probe[k]);
    }
    sl__free(pred);
    return fail;
}

/* Effective rank, mean norm and cosine, retrieval, uniformity, alignment and
 * the cosines of random pairs of distinct items (for the histogram). */
static sl_status geometry(const sl_report_config *c, const sl_report_rep *rp, rep_out *o) {
    size_t n = c->n, d = rp->d;
    sl_status fail = SL_OK;
    o->erank = NAN;
    if (d <= 512) {
        double *eig = sl__malloc_array(d, sizeof *eig, "report");
        if (!eig) return SL_ERR_NOMEM;
        if (!figure_ok(sl_geom_spectrum(rp->x, n, d, eig, &o->erank), &fail)) o->erank = NAN;
        sl__free(eig);
    }
    sl_geom_norms nm;
    o->mean_norm = figure_ok(sl_geom_norm_stats(rp->x, n, d, &nm), &fail) ? nm.mean : NAN;
    sl_geom_aniso an;
    o->mean_cos = figure_ok(sl_geom_anisotropy(rp->x, n, d, 20000, c->seed, &an), &fail) ? an.mean_cos : NAN;
    o->uniform = o->align = NAN;
    SL__TRY(fail);
    SL__TRY(retrieval(c, rp->x, d, o));
    o->n_cos = 20000;
    o->cos = sl__malloc_array(o->n_cos, sizeof *o->cos, "report");
    float *xn = sl__malloc_array(n * d, sizeof(float), "report");
    if (!xn || !o->cos) {
        sl__free(xn);
        return sl__fail(SL_ERR_NOMEM, "report: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < d; j++) s += (double)rp->x[i * d + j] * rp->x[i * d + j];
        double inv = s > 0 ? 1 / sqrt(s) : 0;
        for (size_t j = 0; j < d; j++) xn[i * d + j] = (float)(rp->x[i * d + j] * inv);
    }
    size_t used;
    if (!figure_ok(sl_geom_uniformity(xn, n, d, 2, 50000, c->seed, &o->uniform, &used), &fail)) o->uniform = NAN;
    if (!fail && c->n_attrs &&
        !figure_ok(sl_geom_alignment_labels(xn, n, d, c->attrs[c->grid_attr].labels, 50000, c->seed, &o->align, &used),
                   &fail))
        o->align = NAN;
    if (fail) {
        sl__free(xn);
        return fail;
    }
    sl_rng r;
    sl_rng_seed(&r, c->seed, 0xc05);
    for (size_t p = 0; p < o->n_cos; p++) {
        size_t i = (size_t)sl_rng_below(&r, n), j = (size_t)sl_rng_below(&r, n - 1);
        if (j >= i) j++;
        double s = 0;
        for (size_t t = 0; t < d; t++) s += (double)xn[i * d + t] * xn[j * d + t];
        o->cos[p] = s;
    }
    sl__free(xn);
    return SL_OK;
}

/* The PCA map, and the t-SNE map unless there are too few points. */
static sl_status maps(const sl_report_config *c, const sl_report_rep *rp, rep_out *o) {
    size_t n = c->n, d = rp->d;
    SL__TRY(pca2(rp->x, n, d, c->seed, o->pca, o->pca_var));
    if (!c->tsne) return SL_OK;
    sl_tsne_config tc;
    sl_tsne_config_default(&tc);
    tc.perplexity = c->perplexity;
    if (3 * tc.perplexity + 1 >= (double)n) tc.perplexity = ((double)n - 2) / 3;
    if (tc.perplexity < 1) return SL_OK; /* too few points for a map */
    tc.max_iter = c->tsne_iters;
    if (tc.exaggeration_iter > tc.max_iter / 2) tc.exaggeration_iter = tc.max_iter / 2;
    tc.seed = c->seed;
    o->tsne = sl__malloc_array(n, 2 * sizeof(float), "report map");
    if (!o->tsne) return sl__fail(SL_ERR_NOMEM, "report: out of memory");
    return sl_tsne_run(&tc, rp->x, n, d, o->tsne);
}

static sl_status compute_rep(const sl_report_config *c, const sl_report_rep *rp, rep_out *o) {
    size_t n = c->n, na = c->n_attrs;
    o->K = c->neighbours > c->knn_k ? c->neighbours : c->knn_k;
    if (o->K > n - 1) o->K = n - 1;
    if (o->K == 0) o->K = 1;
    o->ids = sl__malloc_array(n * o->K, sizeof *o->ids, "report neighbours");
    o->scores = sl__malloc_array(n * o->K, sizeof *o->scores, "report neighbours");
    o->knn = nan_array(na), o->probe = nan_array(na);
    o->rec1 = nan_array(na), o->rec10 = nan_array(na), o->map = nan_array(na);
    o->pca = sl__malloc_array(n, 2 * sizeof(float), "report map");
    if (!o->ids || !o->scores || !o->knn || !o->probe || !o->rec1 || !o->rec10 || !o->map || !o->pca)
        return sl__fail(SL_ERR_NOMEM, "report: out of memory");
    SL__TRY(evaluate(c, rp, o));
    SL__TRY(geometry(c, rp, o));
    return maps(c, rp, o);
}

/* ---- sections ------------------------------------------------------------ */

static const char *rep_name(const sl_report_config *c, size_t r) {
    return c->reps[r].name ? c->reps[r].name : "representation";
}

/* A query row's image as 8-bit tile pixels. */
static sl_grid_tile tile_of(const sl_report_config *c, size_t i) {
    sl_grid_tile t;
    memset(&t, 0, sizeof t);
    t.pixels = c->images + i * (size_t)c->img_w * (size_t)c->img_h * (size_t)c->img_c;
    t.width = c->img_w, t.height = c->img_h, t.channels = c->img_c;
    return t;
}

static sl_status section_neighbours(sl__tbuf *b, const sl_report_config *c, rep_out *outs, const size_t *queries,
                                    size_t nq) {
    sl__tb_str(b, "<section id=\"neighbours\"><h2>Nearest neighbours</h2>\n");
    if (!c->images) {
        sl__tb_str(b, "<p class=\"missing\">No images were given (pass the dataset), so there are no neighbour "
                  "grids.</p></section>\n");
        return SL_OK;
    }
    size_t kk = c->neighbours < outs[0].K ? c->neighbours : outs[0].K;
    sl__tb_printf(b,
              "<p>Each row is a query from the data, then its %zu nearest neighbours by cosine similarity, near to "
              "far. A green frame marks a neighbour with the query's <b>",
              kk);
    sl__tb_text(b, c->n_attrs ? c->attrs[c->grid_attr].name : "label");
    sl__tb_str(b, "</b>. What an encoder keeps shows in what the neighbours share; what it ignores varies along "
              "the row.</p>\n<div class=\"grids\">\n");
    size_t cols = 1 + kk;
    sl_grid_tile *tiles = sl__calloc(nq * cols, sizeof *tiles);
    char(*labels)[32] = sl__calloc(nq * cols, 32);
    if (!tiles || !labels) {
        sl__free(tiles), sl__free(labels);
        return sl__fail(SL_ERR_NOMEM, "report: out of memory");
    }
    sl_status s = SL_OK;
    for (size_t r = 0; r < c->n_reps && !s; r++) {
        for (size_t q = 0; q < nq; q++) {
            size_t qi = queries[q];
            for (size_t j = 0; j < cols; j++) {
                int64_t id = j == 0 ? (int64_t)qi : outs[r].ids[qi * outs[r].K + j - 1];
                sl_grid_tile *t = &tiles[q * cols + j];
                if (id < 0) {
                    memset(t, 0, sizeof *t);
                    continue;
                }
                *t = tile_of(c, (size_t)id);
                if (c->n_attrs) {
                    const sl_report_attr *a = &c->attrs[c->grid_attr];
                    char nb[24];
                    snprintf(labels[q * cols + j], 32, "%s", class_name(a, a->labels[id], nb));
                    t->label = labels[q * cols + j];
                    t->highlight = j > 0 && a->labels[id] == a->labels[qi] && a->labels[qi] >= 0;
                }
            }
        }
        sl_grid_config gc = {2, 1, rep_name(c, r)};
        uint8_t *rgb = NULL;
        int w, h;
        s = sl_grid_render(tiles, nq, cols, &gc, &rgb, &w, &h);
        if (s) break;
        sl__tb_str(b, "<figure>");
        rb_png(b, rgb, w, h, rep_name(c, r));
        sl__tb_str(b, "</figure>\n");
        sl__free(rgb);
    }
    sl__free(tiles), sl__free(labels);
    sl__tb_str(b, "</div></section>\n");
    return s;
}

/* The path's ends: as configured, or the first grid query and the next
 * query (in the shuffled order) of another class, else the second. */
static void path_ends(const sl_report_config *c, const size_t *order, size_t *from, size_t *to) {
    if (c->path_from != SIZE_MAX) {
        *from = c->path_from, *to = c->path_to;
        return;
    }
    *from = order[0], *to = order[1];
    if (!c->n_attrs) return;
    const int64_t *lab = c->attrs[c->grid_attr].labels;
    for (size_t i = 1; i < c->n; i++)
        if (lab[order[i]] != lab[order[0]]) {
            *to = order[i];
            return;
        }
}

/* One representation's path drawn as rows of up to 16 tiles. */
static sl_status path_figure(sl__tbuf *b, const sl_report_config *c, const int64_t *path, size_t np, const char *title) {
    size_t cols = np < 16 ? np : 16, rows = (np + cols - 1) / cols;
    sl_grid_tile *tiles = sl__calloc(rows * cols, sizeof *tiles);
    char(*labels)[32] = sl__calloc(np, 32);
    if (!tiles || !labels) {
        sl__free(tiles), sl__free(labels);
        return sl__fail(SL_ERR_NOMEM, "report: out of memory");
    }
    for (size_t i = 0; i < np; i++) {
        tiles[i] = tile_of(c, (size_t)path[i]);
        if (c->n_attrs) {
            char nb[24];
            const sl_report_attr *a = &c->attrs[c->grid_attr];
            snprintf(labels[i], 32, "%s", class_name(a, a->labels[path[i]], nb));
            tiles[i].label = labels[i];
        }
    }
    sl_grid_config gc = {2, 1, title};
    uint8_t *rgb = NULL;
    int w, h;
    sl_status s = sl_grid_render(tiles, rows, cols, &gc, &rgb, &w, &h);
    if (!s) {
        sl__tb_str(b, "<figure>");
        rb_png(b, rgb, w, h, title);
        sl__tb_str(b, "</figure>\n");
    }
    sl__free(rgb), sl__free(tiles), sl__free(labels);
    return s;
}

/* The shortest path between two items through each representation's k-NN
 * graph (its neighbour lists, symmetrised; a link is 1 - cosine long). */
static sl_status section_paths(sl__tbuf *b, const sl_report_config *c, rep_out *outs, const size_t *order) {
    sl__tb_str(b, "<section id=\"paths\"><h2>Paths through the k-NN graph</h2>\n");
    if (!c->images) {
        sl__tb_str(b, "<p class=\"missing\">No images were given, so there are no paths to draw.</p></section>\n");
        return SL_OK;
    }
    size_t from, to, n = c->n, K = outs[0].K;
    path_ends(c, order, &from, &to);
    sl__tb_printf(b,
                  "<p>The shortest path from item %zu to item %zu through each representation's k-NN graph: every "
                  "item linked to its %zu nearest neighbours by cosine similarity (and they to it), a link 1 &minus; "
                  "cosine long. Where a representation orders the data well, each step changes the picture a "
                  "little.</p>\n<div class=\"grids\">\n",
                  from, to, K);
    float *len = sl__malloc_array(n * K, sizeof *len, "report paths");
    sl_status s = len ? SL_OK : SL_ERR_NOMEM;
    for (size_t r = 0; r < c->n_reps && !s; r++) {
        for (size_t i = 0; i < n * K; i++) len[i] = outs[r].scores[i] < 1 ? 1 - outs[r].scores[i] : 0;
        int64_t *path = NULL;
        size_t np = 0;
        double length;
        s = sl_knngraph_path(outs[r].ids, len, n, K, (int64_t)from, (int64_t)to, &path, &np, &length);
        char title[160];
        if (!s && !path) {
            sl__tb_str(b, "<p>");
            sl__tb_text(b, rep_name(c, r));
            sl__tb_str(b, ": no path; the two items lie in different components of its graph.</p>\n");
        } else if (!s) {
            snprintf(title, sizeof title, "%s: %zu steps, length %.3f", rep_name(c, r), np - 1, length);
            s = path_figure(b, c, path, np, title);
        }
        sl_allocator_free(path);
    }
    sl__free(len);
    sl__tb_str(b, "</div></section>\n");
    return s;
}

static sl_status map_svg(sl__tbuf *b, const sl_report_config *c, const float *xy, size_t k, const char *title,
                         bool thumbs) {
    sl_scatter sc;
    memset(&sc, 0, sizeof sc);
    sl_scatter_thumbs th = {c->images, c->img_w, c->img_h, c->img_c, c->thumbs, 0, c->seed};
    if (thumbs && c->images && c->thumbs) sc.thumbs = &th;
    sc.xy = xy, sc.n = c->n;
    if (c->n_attrs) {
        sc.labels = c->attrs[k].labels;
        sc.names = c->attrs[k].class_names, sc.n_names = c->attrs[k].class_names ? c->attrs[k].n_classes : 0;
        sc.legend_title = c->attrs[k].name;
    }
    sc.text.title = title;
    sc.text.width = 560, sc.text.height = 440;
    char *svg = NULL;
    size_t len;
    SL__TRY(sl_plot_scatter(&sc, &svg, &len));
    rb_svg(b, svg, len);
    sl__free(svg);
    return SL_OK;
}

static sl_status section_maps(sl__tbuf *b, const sl_report_config *c, rep_out *outs) {
    sl__tb_str(b, "<section id=\"maps\"><h2>Embedding maps</h2>\n<p>PCA (linear: distances between groups mean "
              "something) and t-SNE (neighbourhoods only) of every representation; choose the attribute that "
              "colours the points. The t-SNE maps show the images of a sample of points.</p>\n");
    size_t na = c->n_attrs ? c->n_attrs : 1;
    for (size_t r = 0; r < c->n_reps; r++) {
        sl__tb_str(b, "<div class=\"rep\"><h3>");
        sl__tb_text(b, rep_name(c, r));
        sl__tb_str(b, "</h3>\n");
        for (size_t k = 0; k < na; k++) {
            sl__tb_printf(b, "<input type=\"radio\" class=\"a%zu\" name=\"m%zu\" id=\"m%zu-%zu\"%s>", k, r, r, k,
                      k == 0 ? " checked" : "");
            sl__tb_printf(b, "<label for=\"m%zu-%zu\">", r, k);
            sl__tb_text(b, c->n_attrs ? c->attrs[k].name : "all");
            sl__tb_str(b, "</label>");
        }
        sl__tb_str(b, "\n<div class=\"maps\">\n");
        for (size_t k = 0; k < na; k++) {
            sl__tb_printf(b, "<div class=\"m a%zu\">", k);
            char title[160];
            snprintf(title, sizeof title, "PCA (%.1f%% + %.1f%% of the variance)", 100 * outs[r].pca_var[0],
                     100 * outs[r].pca_var[1]);
            SL__TRY(map_svg(b, c, outs[r].pca, k, title, false));
            if (outs[r].tsne) SL__TRY(map_svg(b, c, outs[r].tsne, k, "t-SNE", true));
            sl__tb_str(b, "</div>\n");
        }
        sl__tb_str(b, "</div></div>\n");
    }
    sl__tb_str(b, "</section>\n");
    return SL_OK;
}

/* One chart of the given log columns against step; absent columns are left
 * out, and nothing is drawn when none is present. */
static sl_status curve(sl__tbuf *b, const sl_jsonl *t, const char *title, const char *const *keys, size_t nk, bool log_y,
                       int *drawn) {
    long xs = sl_jsonl_column(t, "step");
    sl_series ser[4];
    double *buf[5] = {0};
    size_t ns = 0;
    sl_status s = SL_OK;
    buf[4] = sl__malloc_array(t->n_rows ? t->n_rows : 1, sizeof(double), "report");
    if (!buf[4]) return sl__fail(SL_ERR_NOMEM, "report: out of memory");
    for (size_t i = 0; i < t->n_rows; i++) buf[4][i] = xs >= 0 ? t->values[i * t->n_keys + (size_t)xs] : (double)i;
    for (size_t k = 0; k < nk && k < 4; k++) {
        long col = sl_jsonl_column(t, keys[k]);
        if (col < 0) continue;
        bool any = false;
        for (size_t i = 0; i < t->n_rows; i++) any |= isfinite(t->values[i * t->n_keys + (size_t)col]) != 0;
        if (!any) continue;
        buf[ns] = sl__malloc_array(t->n_rows, sizeof(double), "report");
        if (!buf[ns]) {
            s = sl__fail(SL_ERR_NOMEM, "report: out of memory");
            break;
        }
        for (size_t i = 0; i < t->n_rows; i++) buf[ns][i] = t->values[i * t->n_keys + (size_t)col];
        ser[ns] = (sl_series){keys[k], buf[4], buf[ns], t->n_rows};
        ns++;
    }
    if (!s && ns) {
        sl_lines l = {ser, ns, log_y, {title, "step", NULL, 440, 300}};
        char *svg = NULL;
        size_t len;
        s = sl_plot_lines(&l, &svg, &len);
        if (s == SL_ERR_ARG) {
            s = SL_OK; /* e.g. a log-scale chart of values that are all zero: leave it out */
        } else if (!s) {
            rb_svg(b, svg, len);
            ++*drawn;
        }
        sl__free(svg);
    }
    for (size_t k = 0; k < 5; k++) sl__free(buf[k]);
    return s;
}

static sl_status section_curves(sl__tbuf *b, const sl_report_config *c) {
    sl__tb_str(b, "<section id=\"curves\"><h2>Training curves</h2>\n");
    if (!c->n_logs) {
        sl__tb_str(b, "<p class=\"missing\">No training log was given (a JSONL file written by <code>simlearn train "
                  "--log</code>).</p></section>\n");
        return SL_OK;
    }
    static const char *const loss[] = {"loss"}, *const lr[] = {"lr"}, *const tau[] = {"tau"},
                             *const au[] = {"alignment", "uniformity", "align", "uniform"},
                             *const sd[] = {"emb_std"}, *const er[] = {"emb_rank"};
    for (size_t g = 0; g < c->n_logs; g++) {
        sl__tb_str(b, "<div class=\"rep\"><h3>");
        sl__tb_text(b, c->logs[g].name ? c->logs[g].name : "log");
        sl__tb_str(b, "</h3><div class=\"row\">\n");
        int drawn = 0;
        const sl_jsonl *t = c->logs[g].log;
        SL__TRY(curve(b, t, "loss", loss, 1, false, &drawn));
        SL__TRY(curve(b, t, "learning rate", lr, 1, true, &drawn));
        SL__TRY(curve(b, t, "temperature (tau)", tau, 1, false, &drawn));
        SL__TRY(curve(b, t, "alignment and uniformity", au, 4, false, &drawn));
        SL__TRY(curve(b, t, "spread of the embeddings (std per dimension)", sd, 1, false, &drawn));
        SL__TRY(curve(b, t, "effective rank of the embeddings", er, 1, false, &drawn));
        if (!drawn)
            sl__tb_str(b, "<p class=\"missing\">This log has no loss, lr, tau, alignment, uniformity or embedding-spread "
                          "column.</p>");
        sl__tb_str(b, "</div></div>\n");
    }
    sl__tb_str(b, "</section>\n");
    return SL_OK;
}

static void cell(sl__tbuf *b, double v, const char *fmt) {
    if (isfinite(v))
        sl__tb_printf(b, fmt, v);
    else
        sl__tb_str(b, "<td>&ndash;</td>");
}

static sl_status section_geometry(sl__tbuf *b, const sl_report_config *c, rep_out *outs) {
    sl__tb_str(b, "<section id=\"geometry\"><h2>Geometry</h2>\n<table><tr><th>representation</th><th>dim</th>"
              "<th>effective rank</th><th>mean norm</th><th>mean cosine (random pairs)</th>"
              "<th>uniformity (t=2)</th><th>alignment (same ");
    sl__tb_text(b, c->n_attrs ? c->attrs[c->grid_attr].name : "label");
    sl__tb_str(b, ")</th></tr>\n");
    for (size_t r = 0; r < c->n_reps; r++) {
        sl__tb_str(b, "<tr><td>");
        sl__tb_text(b, rep_name(c, r));
        sl__tb_printf(b, "</td><td>%zu</td>", c->reps[r].d);
        cell(b, outs[r].erank, "<td>%.1f</td>");
        cell(b, outs[r].mean_norm, "<td>%.3g</td>");
        cell(b, outs[r].mean_cos, "<td>%.3f</td>");
        cell(b, outs[r].uniform, "<td>%.3f</td>");
        cell(b, outs[r].align, "<td>%.3f</td>");
        sl__tb_str(b, "</tr>\n");
    }
    sl__tb_str(b, "</table>\n<p>Effective rank: exp of the entropy of the covariance spectrum (shown up to 512 "
              "dimensions). Uniformity and alignment (Wang &amp; Isola) are on unit-length rows; lower is more "
              "uniform, and lower alignment means items of one class sit closer.</p>\n<div class=\"row\">\n");
    for (size_t r = 0; r < c->n_reps; r++) {
        double mean = 0;
        for (size_t i = 0; i < outs[r].n_cos; i++) mean += outs[r].cos[i];
        mean /= (double)outs[r].n_cos;
        const char *mn[1] = {"mean"};
        char title[200];
        snprintf(title, sizeof title, "cosine similarity: %s", rep_name(c, r));
        sl_histogram h = {outs[r].cos, outs[r].n_cos, 50, -1, 1, &mean, mn, 1, {title, "cosine", "pairs", 440, 280}};
        char *svg = NULL;
        size_t len;
        SL__TRY(sl_plot_histogram(&h, &svg, &len));
        rb_svg(b, svg, len);
        sl__free(svg);
    }
    sl__tb_str(b, "</div></section>\n");
    return SL_OK;
}

/* One header cell per attribute: `open`, the attribute's name, </th>. */
static void attr_headers(sl__tbuf *b, const sl_report_config *c, const char *open) {
    for (size_t k = 0; k < c->n_attrs; k++) {
        sl__tb_str(b, open);
        sl__tb_text(b, c->attrs[k].name);
        sl__tb_str(b, "</th>");
    }
}

static void eval_table(sl__tbuf *b, const sl_report_config *c, rep_out *outs, size_t which, const double *chance) {
    sl__tb_str(b, "<table><tr><th>representation</th>");
    attr_headers(b, c, "<th>");
    sl__tb_str(b, "</tr>\n");
    if (chance) {
        sl__tb_str(b, "<tr class=\"chance\"><td>chance (most common class)</td>");
        for (size_t k = 0; k < c->n_attrs; k++) cell(b, 100 * chance[k], "<td>%.1f%%</td>");
        sl__tb_str(b, "</tr>\n");
    }
    for (size_t r = 0; r < c->n_reps; r++) {
        sl__tb_str(b, "<tr><td>");
        sl__tb_text(b, rep_name(c, r));
        sl__tb_str(b, "</td>");
        const double *v = which == 0 ? outs[r].knn : outs[r].probe;
        for (size_t k = 0; k < c->n_attrs; k++) cell(b, 100 * v[k], "<td>%.1f%%</td>");
        sl__tb_str(b, "</tr>\n");
    }
    sl__tb_str(b, "</table>\n");
}

/* The share of the labelled items whose zero-shot class is their label. */
static double zeroshot_accuracy(const sl_report_config *c, const int32_t *pred, const int64_t *labels) {
    if (!pred) return NAN;
    size_t m = 0, right = 0;
    for (size_t i = 0; i < c->n; i++)
        if (labels[i] >= 0) m++, right += pred[i] == labels[i];
    return m ? (double)right / (double)m : NAN;
}

static void zeroshot_table(sl__tbuf *b, const sl_report_config *c, const double *chance) {
    sl__tb_str(b, "<h3>Zero-shot accuracy</h3><p>CLIP models classify each item by text alone: the text tower "
              "embeds one prompt per class (the template with {} replaced by the class name) and the item gets "
              "the class whose prompt is the most similar by cosine.</p>\n<table><tr><th>model</th><th>prompt</th>");
    attr_headers(b, c, "<th>");
    sl__tb_str(b, "</tr>\n<tr class=\"chance\"><td>chance (most common class)</td><td></td>");
    for (size_t k = 0; k < c->n_attrs; k++) cell(b, 100 * chance[k], "<td>%.1f%%</td>");
    sl__tb_str(b, "</tr>\n");
    for (size_t z = 0; z < c->n_zeroshot; z++) {
        sl__tb_str(b, "<tr><td>");
        sl__tb_text(b, c->zeroshot[z].name);
        sl__tb_str(b, "</td><td>");
        sl__tb_text(b, c->zeroshot[z].prompt);
        sl__tb_str(b, "</td>");
        for (size_t k = 0; k < c->n_attrs; k++)
            cell(b, 100 * zeroshot_accuracy(c, c->zeroshot[z].predicted[k], c->attrs[k].labels), "<td>%.1f%%</td>");
        sl__tb_str(b, "</tr>\n");
    }
    sl__tb_str(b, "</table>\n");
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static sl_status section_eval(sl__tbuf *b, const sl_report_config *c, rep_out *outs) {
    sl__tb_str(b, "<section id=\"evaluation\"><h2>Evaluation</h2>\n");
    if (!c->n_attrs) {
        sl__tb_str(b, "<p class=\"missing\">No labels were given, so there is nothing to evaluate.</p></section>\n");
        return SL_OK;
    }
    double *chance = nan_array(c->n_attrs);
    if (!chance) return sl__fail(SL_ERR_NOMEM, "report: out of memory");
    for (size_t k = 0; k < c->n_attrs; k++) {
        /* The share of the most common label: sort a copy. */
        int64_t *l = sl__malloc_array(c->n, sizeof *l, "report");
        if (!l) {
            sl__free(chance);
            return sl__fail(SL_ERR_NOMEM, "report: out of memory");
        }
        size_t m = 0, best = 0;
        for (size_t i = 0; i < c->n; i++)
            if (c->attrs[k].labels[i] >= 0) l[m++] = c->attrs[k].labels[i];
        qsort(l, m, sizeof *l, cmp_i64);
        for (size_t i = 0; i < m;) {
            size_t j = i;
            while (j < m && l[j] == l[i]) j++;
            if (j - i > best) best = j - i;
            i = j;
        }
        size_t top = best;
        chance[k] = m ? (double)top / (double)m : NAN;
        sl__free(l);
    }
    sl__tb_printf(b, "<h3>kNN accuracy</h3><p>Leave-one-out, %zu nearest neighbours by cosine similarity, majority "
                 "vote. A representation that keeps an attribute classifies it well; one invariant to it falls "
                 "toward chance.</p>\n",
              c->knn_k);
    eval_table(b, c, outs, 0, chance);
    if (c->probe) {
        sl__tb_str(b, "<h3>Linear probe accuracy</h3><p>Logistic regression on the frozen features, trained on a "
                  "random half of the items and tested on the other half.</p>\n");
        eval_table(b, c, outs, 1, chance);
    }
    if (c->n_zeroshot) zeroshot_table(b, c, chance);
    sl__tb_str(b, "<h3>Retrieval</h3><p>Every item queries all the others by cosine similarity; an item is relevant "
              "when it shares the query's class. Recall@K: queries with a relevant item in the top K; "
              "mAP@R as in Musgrave et al. (2020).</p>\n<table><tr><th>representation</th>");
    attr_headers(b, c, "<th colspan=\"3\">");
    sl__tb_str(b, "</tr>\n<tr><th></th>");
    for (size_t k = 0; k < c->n_attrs; k++) sl__tb_str(b, "<th>R@1</th><th>R@10</th><th>mAP@R</th>");
    sl__tb_str(b, "</tr>\n");
    for (size_t r = 0; r < c->n_reps; r++) {
        sl__tb_str(b, "<tr><td>");
        sl__tb_text(b, rep_name(c, r));
        sl__tb_str(b, "</td>");
        for (size_t k = 0; k < c->n_attrs; k++) {
            cell(b, outs[r].rec1[k], "<td>%.3f</td>");
            cell(b, outs[r].rec10[k], "<td>%.3f</td>");
            cell(b, outs[r].map[k], "<td>%.3f</td>");
        }
        sl__tb_str(b, "</tr>\n");
    }
    sl__tb_str(b, "</table></section>\n");
    sl__free(chance);
    return SL_OK;
}

static const char *const css =
    "body{font-family:sans-serif;margin:24px;color:#222;max-width:1500px}"
    "h1{font-size:26px}h2{border-bottom:2px solid #ccc;padding-bottom:4px;margin-top:36px}"
    "h3{font-size:17px;margin:18px 0 6px}.meta{color:#555}"
    "nav a{margin-right:14px}"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 9px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}tr.chance{color:#777}"
    ".grids,.row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}"
    "figure{margin:0}figcaption{font-weight:bold;margin-top:4px}"
    ".grids figure{flex:0 1 auto;max-width:calc(50% - 8px)}.grids img{max-width:100%;height:auto}"
    "img{image-rendering:pixelated}"
    ".missing{color:#a33}"
    ".maps .m{display:none;gap:12px;flex-wrap:wrap}"
    "input[type=radio]{margin-left:12px}";

sl_status sl_report_html(const sl_report_config *c, char **html, size_t *len) {
    SL__TRY(check_config(c));
    for (size_t k = 0; k < c->n_attrs; k++)
        for (size_t i = 0; i < c->n; i++)
            if (c->attrs[k].labels[i] < -1)
                return sl__fail(SL_ERR_ARG, "report: attribute %s: row %zu has label %lld; expected >= -1",
                                c->attrs[k].name, i, (long long)c->attrs[k].labels[i]);
    rep_out *outs = sl__calloc(c->n_reps, sizeof *outs);
    if (!outs) return sl__fail(SL_ERR_NOMEM, "report: out of memory");
    sl_progress *pg = NULL;
    if (c->progress_stream)
        (void)sl_progress_create(c->progress_stream, c->progress_mode, "report", c->n_reps, "representations", &pg);
    sl_status s = SL_OK;
    for (size_t r = 0; r < c->n_reps && !s; r++) {
        sl_progress_update(pg, r, rep_name(c, r));
        s = compute_rep(c, &c->reps[r], &outs[r]);
        if (s) s = sl__fail_prefix(s, "%s: ", rep_name(c, r));
    }
    sl_progress_finish(pg, NULL);
    sl_progress_destroy(pg);
    /* The queries: evenly spread over a seeded shuffle of the rows. */
    size_t nq = c->queries < c->n ? c->queries : c->n;
    size_t *queries = sl__malloc_array(c->n, sizeof *queries, "report");
    if (!s && !queries) s = sl__fail(SL_ERR_NOMEM, "report: out of memory");
    if (!s) {
        for (size_t i = 0; i < c->n; i++) queries[i] = i;
        sl_rng r;
        sl_rng_seed(&r, c->seed, 0x9e7);
        for (size_t i = c->n - 1; i > 0; i--) {
            size_t j = (size_t)sl_rng_below(&r, i + 1), t = queries[i];
            queries[i] = queries[j], queries[j] = t;
        }
    }
    sl__tbuf b = {0};
    if (!s) {
        sl__tb_str(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
        sl__tb_text(&b, c->title);
        sl__tb_printf(&b, "</title>\n<style>%s", css);
        size_t na = c->n_attrs ? c->n_attrs : 1;
        for (size_t k = 0; k < na; k++) sl__tb_printf(&b, "input.a%zu:checked~.maps .m.a%zu{display:flex}", k, k);
        sl__tb_str(&b, "</style></head>\n<body>\n<h1>");
        sl__tb_text(&b, c->title);
        sl__tb_str(&b, "</h1>\n<p class=\"meta\">");
        if (c->description) {
            sl__tb_text(&b, c->description);
            sl__tb_str(&b, "<br>");
        }
        sl__tb_printf(&b, "%zu items; representations: ", c->n);
        for (size_t r = 0; r < c->n_reps; r++) {
            sl__tb_text(&b, rep_name(c, r));
            sl__tb_printf(&b, " (%zu dims)%s", c->reps[r].d, r + 1 < c->n_reps ? ", " : ".");
        }
        sl__tb_str(&b, "</p>\n<nav><a href=\"#neighbours\">Nearest neighbours</a><a href=\"#paths\">Paths</a>"
                   "<a href=\"#maps\">Embedding maps</a>"
                   "<a href=\"#curves\">Training curves</a><a href=\"#geometry\">Geometry</a>"
                   "<a href=\"#evaluation\">Evaluation</a></nav>\n");
        s = section_neighbours(&b, c, outs, queries, nq);
    }
    if (!s) s = section_paths(&b, c, outs, queries);
    if (!s) s = section_maps(&b, c, outs);
    if (!s) s = section_curves(&b, c);
    if (!s) s = section_geometry(&b, c, outs);
    if (!s) s = section_eval(&b, c, outs);
    if (!s) {
        sl__tb_str(&b, "</body></html>\n");
        s = rb_finish(&b, html, len);
    } else {
        sl__free(b.s);
    }
    sl__free(queries);
    for (size_t r = 0; r < c->n_reps; r++) rep_free(&outs[r]);
    sl__free(outs);
    return s;
}

sl_status sl_report_write(const char *path, const char *html, size_t len) {
    sl_afile *f;
    SL__TRY(sl_afile_open(path, &f));
    sl_status s = sl_afile_write(f, html, len);
    if (s) {
        sl_afile_abort(f);
        return s;
    }
    return sl_afile_commit(f);
}

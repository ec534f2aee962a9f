/* t-SNE: Barnes-Hut (sparse P from exact nearest neighbours, quadtree for the
 * repulsion) and the exact O(n^2) twin, sharing the perplexity calibration
 * and the gradient-descent schedule. */
#include "viz/viz_internal.h"
#include "testing.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sl_tsne_config_default(sl_tsne_config *c) {
    memset(c, 0, sizeof *c);
    c->perplexity = 30;
    c->theta = 0.5;
    c->max_iter = 1000;
    c->exaggeration_iter = 250;
    c->exaggeration = 12;
    c->learning_rate = 0;
    c->init = SL_TSNE_INIT_PCA;
    c->seed = 1;
}

/* ---- perplexity calibration -------------------------------------------- */

/* Entropy (natural log) of p_j ~ exp(-beta (d_j - d_0)) and the normalised p. */
static double row_entropy(const float *d, int k, double beta, double *p) {
    double sum = 0, wsum = 0;
    for (int j = 0; j < k; j++) {
        double dj = (double)d[j] - (double)d[0];
        double e = exp(-beta * dj);
        p[j] = e;
        sum += e;
        wsum += e * dj;
    }
    for (int j = 0; j < k; j++) p[j] /= sum;
    return log(sum) + beta * wsum / sum;
}

static void calibrate_row(const float *d, int k, double target, double *p, double *h_out) {
    /* Start from the inverse mean gap so the search begins at the right
     * scale whatever the units of the distances are. */
    double mean = 0;
    for (int j = 0; j < k; j++) mean += (double)d[j] - (double)d[0];
    mean /= k;
    double beta = mean > 0 ? 1.0 / mean : 1.0, lo = 0, hi = INFINITY;
    double h = row_entropy(d, k, beta, p);
    for (int it = 0; it < 200 && fabs(h - target) > 1e-5; it++) {
        if (h > target) { /* too flat: sharpen */
            lo = beta;
            beta = isinf(hi) ? beta * 2 : 0.5 * (lo + hi);
        } else {
            hi = beta;
            beta = 0.5 * (lo + hi);
        }
        h = row_entropy(d, k, beta, p);
    }
    if (h_out) *h_out = h;
}

void sl__tsne_calibrate(const float *dist2, size_t n, int k, double perplexity, double *p, double *entropy) {
    double target = log(perplexity);
#pragma omp parallel for schedule(dynamic, 64) if (n >= 2048)
    for (size_t i = 0; i < n; i++)
        calibrate_row(dist2 + i * (size_t)k, k, target, p + i * (size_t)k, entropy ? entropy + i : NULL);
}

/* ---- sparse joint probabilities ----------------------------------------- */

void sl__csr_free(sl__csr *m) {
    if (!m) return;
    sl__free(m->row), sl__free(m->col), sl__free(m->val);
    memset(m, 0, sizeof *m);
}

typedef struct {
    uint32_t col;
    double val;
} entry;

static int entry_cmp(const void *a, const void *b) {
    uint32_t x = ((const entry *)a)->col, y = ((const entry *)b)->col;
    return (x > y) - (x < y);
}

sl_status sl__tsne_joint(const uint32_t *idx, const double *cond, size_t n, int k, sl__csr *out) {
    size_t nk = n * (size_t)k;
    size_t *cnt = sl__calloc(n + 1, sizeof *cnt);
    size_t *fill = sl__calloc(n, sizeof *fill);
    entry *ent = sl__malloc_array(2 * nk, sizeof *ent, "t-SNE affinities");
    sl__csr m = {0};
    m.n = n;
    m.row = sl__calloc(n + 1, sizeof *m.row);
    if (!cnt || !fill || !ent || !m.row) goto nomem;
    for (size_t i = 0; i < n; i++)
        for (int t = 0; t < k; t++) cnt[i + 1]++, cnt[idx[i * (size_t)k + t] + 1]++;
    for (size_t i = 0; i < n; i++) cnt[i + 1] += cnt[i];
    double scale = 1.0 / (2.0 * (double)n);
    for (size_t i = 0; i < n; i++)
        for (int t = 0; t < k; t++) {
            size_t j = idx[i * (size_t)k + t];
            double v = cond[i * (size_t)k + t] * scale;
            ent[cnt[i] + fill[i]++] = (entry){(uint32_t)j, v};
            ent[cnt[j] + fill[j]++] = (entry){(uint32_t)i, v};
        }
    /* Sort each row by column and merge the (at most two) copies of a pair. */
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        entry *r = ent + cnt[i];
        size_t len = cnt[i + 1] - cnt[i], w = 0;
        qsort(r, len, sizeof *r, entry_cmp);
        for (size_t t = 0; t < len; t++) {
            if (w > 0 && r[w - 1].col == r[t].col)
                r[w - 1].val += r[t].val;
            else
                r[w++] = r[t];
        }
        fill[i] = w;
        total += w;
    }
    m.col = sl__malloc_array(total, sizeof *m.col, "t-SNE affinities");
    m.val = sl__malloc_array(total, sizeof *m.val, "t-SNE affinities");
    if (!m.col || !m.val) goto nomem;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        m.row[i] = at;
        for (size_t t = 0; t < fill[i]; t++) {
            m.col[at] = ent[cnt[i] + t].col;
            m.val[at] = ent[cnt[i] + t].val;
            at++;
        }
    }
    m.row[n] = at;
    sl__free(cnt), sl__free(fill), sl__free(ent);
    *out = m;
    return SL_OK;
nomem:
    sl__free(cnt), sl__free(fill), sl__free(ent);
    sl__csr_free(&m);
    return sl__fail(SL_ERR_NOMEM, "t-SNE: cannot allocate the affinities of %zu points", n);
}

/* ---- quadtree ----------------------------------------------------------- */

typedef struct {
    double cx, cy, hw;  /* cell centre and half width */
    double mx, my;      /* sum of the positions inside, then their mean */
    uint32_t count;
    int32_t child;      /* first of 4 children, or -1 for a leaf */
    int32_t point;      /* a leaf's (first) point, or -1 when empty */
} qnode;

/* What the force loop reads, packed into 32 bytes per node. */
typedef struct {
    double mx, my, w4; /* centre of mass, squared full cell width */
    float count;
    int32_t child;
} qsum;

typedef struct {
    qnode *nodes;
    size_t len, cap;
    qsum *sum;
    size_t sum_cap;
    uint32_t *next;  /* n: the other points of a shared leaf, a chain ending in UINT32_MAX */
    uint32_t *order; /* n: points in depth-first leaf order, so neighbours in the loop are neighbours in space */
} qtree;

#define QT_MAX_DEPTH 48

static void qt_free(qtree *t) {
    sl__free(t->nodes), sl__free(t->sum), sl__free(t->next), sl__free(t->order);
}

static sl_status qt_push(qtree *t, double cx, double cy, double hw) {
    if (t->len == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        qnode *nn = sl__realloc(t->nodes, cap * sizeof *nn);
        if (!nn) return sl__fail(SL_ERR_NOMEM, "t-SNE: cannot grow the quadtree to %zu nodes", cap);
        t->nodes = nn, t->cap = cap;
    }
    t->nodes[t->len++] = (qnode){cx, cy, hw, 0, 0, 0, -1, -1};
    return SL_OK;
}

static int quadrant(const qnode *q, double x, double y) { return (x >= q->cx) | ((y >= q->cy) << 1); }

/* Build the tree of the n points y. `ins` (may be NULL) is the order of
 * insertion: the previous iteration's leaf order makes consecutive insertions
 * walk the same, cached, path. The buffers of t are reused between calls. */
static sl_status qt_build(qtree *t, const double *y, size_t n, const uint32_t *ins) {
    t->len = 0;
    if (!t->next) t->next = sl__malloc_array(n, sizeof *t->next, "t-SNE quadtree");
    if (!t->order) t->order = sl__malloc_array(n, sizeof *t->order, "t-SNE quadtree");
    if (!t->next || !t->order) return SL_ERR_NOMEM;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        x0 = SL__MIN(x0, y[2 * i]), x1 = SL__MAX(x1, y[2 * i]);
        y0 = SL__MIN(y0, y[2 * i + 1]), y1 = SL__MAX(y1, y[2 * i + 1]);
        t->next[i] = UINT32_MAX;
    }
    double hw = 0.5 * fmax(x1 - x0, y1 - y0);
    hw = hw * (1 + 1e-6) + 1e-12;
    SL__TRY(qt_push(t, 0.5 * (x0 + x1), 0.5 * (y0 + y1), hw));
    for (size_t k = 0; k < n; k++) {
        size_t i = ins ? ins[k] : k;
        double px = y[2 * i], py = y[2 * i + 1];
        size_t at = 0;
        for (int depth = 0;; depth++) {
            qnode *q = &t->nodes[at];
            if (q->child < 0) {
                if (q->count == 0) {
                    q->point = (int32_t)i, q->count = 1, q->mx = px, q->my = py;
                    break;
                }
                const double *o = y + 2 * (size_t)q->point;
                if ((o[0] == px && o[1] == py) || depth >= QT_MAX_DEPTH) {
                    /* Duplicates (or points closer than the depth limit can
                     * separate) share one leaf. */
                    q->count++, q->mx += px, q->my += py;
                    t->next[i] = t->next[q->point];
                    t->next[q->point] = (uint32_t)i;
                    break;
                }
                /* Split: the old content moves to its quadrant's child. */
                int32_t first = (int32_t)t->len;
                double h2 = 0.5 * q->hw, cx = q->cx, cy = q->cy;
                for (int c = 0; c < 4; c++)
                    SL__TRY(qt_push(t, cx + ((c & 1) ? h2 : -h2), cy + ((c & 2) ? h2 : -h2), h2));
                q = &t->nodes[at]; /* the array may have moved */
                qnode *dst = &t->nodes[first + quadrant(q, o[0], o[1])];
                dst->count = q->count, dst->mx = q->mx, dst->my = q->my, dst->point = q->point;
                q->child = first, q->point = -1;
            }
            q->count++, q->mx += px, q->my += py;
            at = (size_t)(q->child + quadrant(q, px, py));
        }
    }
    if (t->sum_cap < t->len) {
        sl__free(t->sum);
        t->sum = sl__malloc_array(t->len, sizeof *t->sum, "t-SNE quadtree");
        if (!t->sum) return SL_ERR_NOMEM;
        t->sum_cap = t->len;
    }
    for (size_t a = 0; a < t->len; a++) {
        qnode *q = &t->nodes[a];
        if (q->count) q->mx /= q->count, q->my /= q->count;
        t->sum[a] = (qsum){q->mx, q->my, 4 * q->hw * q->hw, (float)q->count, q->child};
    }
    /* Depth-first leaf order of the points. */
    int32_t stack[4 * QT_MAX_DEPTH + 8];
    int sp = 0;
    size_t k = 0;
    stack[sp++] = 0;
    while (sp > 0) {
        const qnode *q = &t->nodes[stack[--sp]];
        if (q->count == 0) continue;
        if (q->child < 0) {
            for (uint32_t p = (uint32_t)q->point; p != UINT32_MAX; p = t->next[p]) t->order[k++] = p;
        } else {
            for (int c = 3; c >= 0; c--) stack[sp++] = q->child + c;
        }
    }
    return SL_OK;
}

/* Repulsion by groups: the points of a small subtree (contiguous in the
 * depth-first order) share one walk of the tree, which collects the cells far
 * enough from the group's bounding box to be summarised (or the leaves, when
 * none is). Every point of the group then interacts with every collected
 * cell in a plain loop. The opening test against the box is stricter than
 * against each point, so the approximation is at least as good as per-point
 * Barnes-Hut with the same theta, and theta = 0 gives the exact sum. */
#define QT_GROUP 128

typedef struct {
    double *mx, *my, *cnt;
    size_t len, cap;
} ilist;

static bool il_push(ilist *l, const qsum *q) {
    if (l->len == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        double *a = sl__realloc(l->mx, cap * sizeof *a);
        if (a) l->mx = a;
        double *b = sl__realloc(l->my, cap * sizeof *b);
        if (b) l->my = b;
        double *c = sl__realloc(l->cnt, cap * sizeof *c);
        if (c) l->cnt = c;
        if (!a || !b || !c) return false;
        l->cap = cap;
    }
    l->mx[l->len] = q->mx, l->my[l->len] = q->my, l->cnt[l->len] = q->count;
    l->len++;
    return true;
}

/* Collect the interaction list of the box [bx0, bx1] x [by0, by1]. */
static bool collect(const qsum *nodes, double bx0, double bx1, double by0, double by1, double theta2, ilist *l) {
    int32_t stack[4 * QT_MAX_DEPTH + 8];
    int sp = 0;
    stack[sp++] = 0;
    l->len = 0;
    while (sp > 0) {
        const qsum *q = &nodes[stack[--sp]];
        /* Distance from the centre of mass to the box (0 inside). */
        double dx = bx0 - q->mx > 0 ? bx0 - q->mx : q->mx - bx1 > 0 ? q->mx - bx1 : 0;
        double dy = by0 - q->my > 0 ? by0 - q->my : q->my - by1 > 0 ? q->my - by1 : 0;
        if (q->child < 0 || q->w4 < theta2 * (dx * dx + dy * dy)) {
            if (!il_push(l, q)) return false;
        } else {
            for (int c = 3; c >= 0; c--)
                if (nodes[q->child + c].count > 0) stack[sp++] = q->child + c;
        }
    }
    return true;
}

/* Groups: maximal subtrees of at most QT_GROUP points, as ranges of the order. */
static size_t qt_groups(const qtree *t, uint32_t *gstart) {
    int32_t stack[4 * QT_MAX_DEPTH + 8];
    int sp = 0;
    size_t ng = 0, at = 0;
    stack[sp++] = 0;
    while (sp > 0) {
        const qnode *q = &t->nodes[stack[--sp]];
        if (q->count == 0) continue;
        if (q->count <= QT_GROUP || q->child < 0) {
            gstart[ng++] = (uint32_t)at;
            at += q->count;
        } else {
            for (int c = 3; c >= 0; c--) stack[sp++] = q->child + c;
        }
    }
    gstart[ng] = (uint32_t)at;
    return ng;
}

/* State kept across iterations: the tree's buffers, and its last leaf order
 * as the next insertion order. */
typedef struct {
    qtree t;
    bool have_order;
    uint32_t *ins;
    double *zs;
    uint32_t *gstart;
} bh_work;

static void bh_work_free(bh_work *w) {
    qt_free(&w->t);
    sl__free(w->ins), sl__free(w->zs), sl__free(w->gstart);
    memset(w, 0, sizeof *w);
}

static sl_status grad_bh(bh_work *bw, const double *y, size_t n, const sl__csr *P, double exag, double theta,
                         double *grad) {
    if (!bw->zs) bw->zs = sl__malloc_array(n, sizeof *bw->zs, "t-SNE repulsion");
    if (!bw->gstart) bw->gstart = sl__malloc_array(n + 1, sizeof *bw->gstart, "t-SNE groups");
    if (!bw->ins) bw->ins = sl__malloc_array(n, sizeof *bw->ins, "t-SNE quadtree");
    if (!bw->zs || !bw->gstart || !bw->ins) return SL_ERR_NOMEM;
    SL__TRY(qt_build(&bw->t, y, n, bw->have_order ? bw->ins : NULL));
    memcpy(bw->ins, bw->t.order, n * sizeof *bw->ins);
    bw->have_order = true;
    double *zs = bw->zs;
    uint32_t *gstart = bw->gstart;
    qtree t = bw->t;
    double theta2 = theta * theta;
    const qsum *nodes = t.sum;
    const uint32_t *ord = t.order;
    size_t ng = qt_groups(&t, gstart);
    int failed = 0;
    double invZ = 0;
#pragma omp parallel if (n >= 2048)
    {
        ilist l = {0};
#pragma omp for schedule(dynamic, 4)
        for (size_t g = 0; g < ng; g++) {
            size_t a = gstart[g], b = gstart[g + 1], m = b - a;
            double gx[QT_GROUP], gy[QT_GROUP], z[QT_GROUP], fx[QT_GROUP], fy[QT_GROUP];
            if (m > QT_GROUP) m = QT_GROUP; /* a leaf of duplicates: handled below, one by one */
            double bx0 = INFINITY, bx1 = -INFINITY, by0 = INFINITY, by1 = -INFINITY;
            for (size_t p = 0; p < m; p++) {
                size_t i = ord[a + p];
                gx[p] = y[2 * i], gy[p] = y[2 * i + 1];
                bx0 = SL__MIN(bx0, gx[p]), bx1 = SL__MAX(bx1, gx[p]);
                by0 = SL__MIN(by0, gy[p]), by1 = SL__MAX(by1, gy[p]);
                z[p] = fx[p] = fy[p] = 0;
            }
            if (!collect(nodes, bx0, bx1, by0, by1, theta2, &l)) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            for (size_t e = 0; e < l.len; e++) {
                double mx = l.mx[e], my = l.my[e], c = l.cnt[e];
                for (size_t p = 0; p < m; p++) {
                    double dx = gx[p] - mx, dy = gy[p] - my, d2 = dx * dx + dy * dy;
                    double w = 1.0 / (1.0 + d2), cw = c * w;
                    /* A cell at distance 0 is the point's own leaf: it and its
                     * duplicates add w = 1 each except itself, and no force. */
                    z[p] += cw - (d2 == 0 ? 1.0 : 0.0);
                    fx[p] += cw * w * dx, fy[p] += cw * w * dy;
                }
            }
            for (size_t p = 0; p < m; p++) {
                size_t i = ord[a + p];
                zs[i] = z[p], grad[2 * i] = fx[p], grad[2 * i + 1] = fy[p];
            }
            /* More duplicates than a group holds (rare): all share the position
             * of the first, hence its sums. */
            for (size_t p = a + m; p < b; p++) {
                size_t i = ord[p], i0 = ord[a];
                zs[i] = zs[i0], grad[2 * i] = grad[2 * i0], grad[2 * i + 1] = grad[2 * i0 + 1];
            }
        }
        sl__free(l.mx), sl__free(l.my), sl__free(l.cnt);
        /* One thread sums the normaliser in a fixed order (the barriers of
         * the loop above and of `single` make zs and invZ visible to all). */
#pragma omp single
        {
            double Z = 0;
            for (size_t i = 0; i < n; i++) Z += zs[i];
            invZ = Z > 0 ? 1.0 / Z : 0;
        }
        /* Attraction, in the same parallel region to save a fork and join per iteration. */
        if (!failed) {
#pragma omp for schedule(dynamic, 64)
            for (size_t i = 0; i < n; i++) {
                double ax = 0, ay = 0, yx = y[2 * i], yy = y[2 * i + 1];
                for (size_t e = P->row[i]; e < P->row[i + 1]; e++) {
                    size_t j = P->col[e];
                    double dx = yx - y[2 * j], dy = yy - y[2 * j + 1];
                    double pw = P->val[e] / (1.0 + dx * dx + dy * dy);
                    ax += pw * dx, ay += pw * dy;
                }
                grad[2 * i] = 4 * (exag * ax - grad[2 * i] * invZ);
                grad[2 * i + 1] = 4 * (exag * ay - grad[2 * i + 1] * invZ);
            }
        }
    }
    if (failed) return sl__fail(SL_ERR_NOMEM, "t-SNE: cannot allocate an interaction list");
    return SL_OK;
}

sl_status sl__tsne_grad_bh(const double *y, size_t n, const sl__csr *P, double exag, double theta, double *grad) {
    bh_work w = {0};
    sl_status st = grad_bh(&w, y, n, P, exag, theta, grad);
    bh_work_free(&w);
    return st;
}

void sl__tsne_grad_exact(const double *y, size_t n, const double *P, double exag, double *grad) {
    double Z = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (i == j) continue;
            double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
            Z += 1.0 / (1.0 + dx * dx + dy * dy);
        }
    for (size_t i = 0; i < n; i++) {
        double gx = 0, gy = 0;
        for (size_t j = 0; j < n; j++) {
            if (i == j) continue;
            double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
            double w = 1.0 / (1.0 + dx * dx + dy * dy);
            double c = (exag * P[i * n + j] - w / Z) * w;
            gx += c * dx, gy += c * dy;
        }
        grad[2 * i] = 4 * gx, grad[2 * i + 1] = 4 * gy;
    }
}

/* ---- optimisation ------------------------------------------------------- */

typedef struct {
    bh_work *work;         /* Barnes-Hut state */
    const sl__csr *sparse; /* Barnes-Hut */
    const double *dense;   /* exact */
    size_t n;
    double theta;
} objective;

static sl_status gradient(const objective *o, const double *y, double exag, double *g) {
    if (o->sparse) return grad_bh(o->work, y, o->n, o->sparse, exag, o->theta, g);
    sl__tsne_grad_exact(y, o->n, o->dense, exag, g);
    return SL_OK;
}

static sl_status check_config(const sl_tsne_config *c, size_t n, size_t d, const float *x) {
    if (!(c->perplexity >= 1)) return sl__fail(SL_ERR_ARG, "t-SNE: perplexity %g, expected >= 1", c->perplexity);
    if (d == 0) return sl__fail(SL_ERR_ARG, "t-SNE: input has no dimensions");
    double need = floor(3 * c->perplexity + 1) + 1;
    if ((double)n < need)
        return sl__fail(SL_ERR_ARG,
                        "t-SNE: %zu points are too few for perplexity %g (need at least %.0f; lower --perplexity)", n,
                        c->perplexity, need);
    if (n > UINT32_MAX) return sl__fail(SL_ERR_RANGE, "t-SNE: %zu points is more than supported", n);
    if (!(c->theta >= 0 && c->theta < 10)) return sl__fail(SL_ERR_ARG, "t-SNE: theta %g, expected [0, 10)", c->theta);
    if (c->max_iter < 0 || c->exaggeration_iter < 0 || !(c->exaggeration >= 1) || !isfinite(c->learning_rate))
        return sl__fail(SL_ERR_ARG, "t-SNE: invalid schedule (iterations >= 0, exaggeration >= 1)");
    size_t nd;
    if (!sl_size_mul(n, d, &nd)) return sl__fail(SL_ERR_RANGE, "t-SNE: %zu x %zu overflows", n, d);
    for (size_t i = 0; i < nd; i++)
        if (!isfinite(x[i])) return sl__fail(SL_ERR_NUMERIC, "t-SNE: row %zu, column %zu is %g", i / d, i % d, (double)x[i]);
    return SL_OK;
}

/* The PCA start of the map: the top two axes (sl__pca2_axes; an initial map
 * needs them only roughly, so iteration stops at a change of 1e-7), each with
 * its largest-magnitude coordinate positive, and the projections on them. */
static sl_status pca2_init(const float *x, size_t n, size_t d, uint64_t seed, double *y) {
    double *mean = sl__malloc_array(d, sizeof *mean, "t-SNE init"), *v = sl__malloc_array(2 * d, sizeof *v, "t-SNE init");
    double lam[2];
    sl_status st = mean && v ? sl__pca2_axes(x, n, d, seed, 0x9ca, 100, 1e-7, mean, v, lam) : SL_ERR_NOMEM;
    if (st) {
        sl__free(mean), sl__free(v);
        return st;
    }
    /* Project; each axis's largest-magnitude coordinate positive. */
    for (int c = 0; c < 2; c++) {
        double *vc = v + (size_t)c * d, big = 0;
        size_t at = 0;
        for (size_t j = 0; j < d; j++)
            if (fabs(vc[j]) > big) big = fabs(vc[j]), at = j;
        if (vc[at] < 0)
            for (size_t j = 0; j < d; j++) vc[j] = -vc[j];
    }
    for (size_t i = 0; i < n; i++) {
        double t0 = 0, t1 = 0;
        for (size_t j = 0; j < d; j++) {
            double c = x[i * d + j] - mean[j];
            t0 += c * v[j], t1 += c * v[d + j];
        }
        y[2 * i] = t0, y[2 * i + 1] = t1;
    }
    sl__free(mean), sl__free(v);
    return SL_OK;
}

/* The starting map: PCA to 2-D scaled to a standard deviation of 1e-4 on the
 * first axis (tiny, so the first iterations are driven by P alone), or
 * Gaussian noise of that size. */
static sl_status init_map(const sl_tsne_config *c, const float *x, size_t n, size_t d, double *y) {
    if (c->init == SL_TSNE_INIT_PCA && d >= 2) {
        SL__TRY(pca2_init(x, n, d, c->seed, y));
        double m = 0, s = 0;
        for (size_t i = 0; i < n; i++) m += y[2 * i];
        m /= (double)n;
        for (size_t i = 0; i < n; i++) s += (y[2 * i] - m) * (y[2 * i] - m);
        s = sqrt(s / (double)n);
        if (s > 0) {
            for (size_t i = 0; i < 2 * n; i++) y[i] *= 1e-4 / s;
            return SL_OK;
        }
    }
    sl_rng r;
    sl_rng_seed(&r, c->seed, 0x75e);
    for (size_t i = 0; i < 2 * n; i++) y[i] = 1e-4 * sl_rng_normal(&r);
    return SL_OK;
}

static sl_status optimise(const sl_tsne_config *c, const objective *o, double *y) {
    size_t n = o->n, m = 2 * n;
    double *g = sl__malloc_array(m, sizeof *g, "t-SNE gradient");
    double *upd = sl__malloc_array(m, sizeof *upd, "t-SNE update");
    double *gain = sl__malloc_array(m, sizeof *gain, "t-SNE gains");
    sl_status st = SL_OK;
    if (!g || !upd || !gain) {
        st = SL_ERR_NOMEM;
        goto done;
    }
    double lr = c->learning_rate > 0 ? c->learning_rate : fmax((double)n / c->exaggeration / 4.0, 50.0);
    int ex_it = SL__MIN(c->exaggeration_iter, c->max_iter);
    for (int it = 0; it < c->max_iter; it++) {
        if (c->stop && *c->stop) {
            st = sl__fail(SL_ERR_INTERRUPTED, "t-SNE: interrupted at iteration %d of %d", it, c->max_iter);
            goto done;
        }
        bool early = it < ex_it;
        /* Each phase starts with fresh momentum and gains, as is customary. */
        if (it == 0 || it == ex_it)
            for (size_t t = 0; t < m; t++) upd[t] = 0, gain[t] = 1;
        double mom = early ? 0.5 : 0.8, exag = early ? c->exaggeration : 1.0;
        st = gradient(o, y, exag, g);
        if (st) goto done;
        for (size_t t = 0; t < m; t++) {
            if ((upd[t] * g[t] < 0.0))
                gain[t] += 0.2;
            else
                gain[t] *= 0.8;
            if (gain[t] < 0.01) gain[t] = 0.01;
            upd[t] = mom * upd[t] - lr * gain[t] * g[t];
            y[t] += upd[t];
        }
        if (!isfinite(y[0]) || !isfinite(y[m - 1])) {
            st = sl__fail(SL_ERR_NUMERIC, "t-SNE: the map diverged at iteration %d (lower the learning rate)", it);
            goto done;
        }
        if (c->progress) sl_progress_update(c->progress, (uint64_t)it + 1, early ? "exaggeration" : NULL);
    }
    /* Centre the map; t-SNE is translation invariant and a centred map reads better. */
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) mx += y[2 * i], my += y[2 * i + 1];
    mx /= (double)n, my /= (double)n;
    for (size_t i = 0; i < n; i++) y[2 * i] -= mx, y[2 * i + 1] -= my;
done:
    sl__free(g), sl__free(upd), sl__free(gain);
    return st;
}

static sl_status finish(const double *yd, size_t n, float *y) {
    for (size_t i = 0; i < 2 * n; i++)
        if (!isfinite(yd[i])) return sl__fail(SL_ERR_NUMERIC, "t-SNE: coordinate %zu of the map is not finite", i);
    for (size_t i = 0; i < 2 * n; i++) y[i] = (float)yd[i];
    return SL_OK;
}

sl_status sl_tsne_run(const sl_tsne_config *c, const float *x, size_t n, size_t d, float *y) {
    SL__TRY(check_config(c, n, d, x));
    int k = (int)SL__MIN((double)(n - 1), floor(3 * c->perplexity + 1));
    size_t nk = n * (size_t)k;
    uint32_t *idx = sl__malloc_array(nk, sizeof *idx, "t-SNE neighbours");
    float *dist = sl__malloc_array(nk, sizeof *dist, "t-SNE distances");
    double *cond = sl__malloc_array(nk, sizeof *cond, "t-SNE affinities");
    double *yd = sl__malloc_array(2 * n, sizeof *yd, "t-SNE map");
    sl__csr P = {0};
    sl_status st = SL_ERR_NOMEM;
    if (!idx || !dist || !cond || !yd) goto done;
    if ((st = sl__knn_exact_stop(x, n, d, k, idx, dist, c->stop))) {
        if (st == SL_ERR_INTERRUPTED) sl__fail_prefix(st, "t-SNE");
        goto done;
    }
    sl__tsne_calibrate(dist, n, k, c->perplexity, cond, NULL);
    if ((st = sl__tsne_joint(idx, cond, n, k, &P))) goto done;
    sl__free(cond), sl__free(dist);
    cond = NULL, dist = NULL;
    if ((st = init_map(c, x, n, d, yd))) goto done;
    bh_work work = {0};
    objective o = {&work, &P, NULL, n, c->theta};
    st = optimise(c, &o, yd);
    bh_work_free(&work);
    if (st) goto done;
    st = finish(yd, n, y);
done:
    sl__free(idx), sl__free(dist), sl__free(cond), sl__free(yd);
    sl__csr_free(&P);
    return st;
}

/* Dense symmetric P over all pairs, for the exact method. */
static sl_status dense_p(const sl_tsne_config *c, const float *x, size_t n, size_t d, double *P) {
    size_t m = n - 1;
    float *dist = sl__malloc_array(n * m, sizeof *dist, "t-SNE distances");
    uint32_t *idx = sl__malloc_array(n * m, sizeof *idx, "t-SNE neighbours");
    double *cond = sl__malloc_array(n * m, sizeof *cond, "t-SNE affinities");
    if (!dist || !idx || !cond) {
        sl__free(dist), sl__free(idx), sl__free(cond);
        return SL_ERR_NOMEM;
    }
    /* Plain double distances, sorted per row (calibration wants nearest first). */
    for (size_t i = 0; i < n; i++) {
        size_t t = 0;
        for (size_t j = 0; j < n; j++) {
            if (j == i) continue;
            double s = 0;
            for (size_t q = 0; q < d; q++) {
                double df = (double)x[i * d + q] - x[j * d + q];
                s += df * df;
            }
            dist[i * m + t] = (float)s, idx[i * m + t] = (uint32_t)j, t++;
        }
        /* Move the nearest to the front; calibration only needs d[0] minimal. */
        size_t best = 0;
        for (size_t q = 1; q < m; q++)
            if (dist[i * m + q] < dist[i * m + best]) best = q;
        float td = dist[i * m], bd = dist[i * m + best];
        uint32_t ti = idx[i * m];
        dist[i * m] = bd, idx[i * m] = idx[i * m + best];
        dist[i * m + best] = td, idx[i * m + best] = ti;
    }
    sl__tsne_calibrate(dist, n, (int)m, c->perplexity, cond, NULL);
    memset(P, 0, n * n * sizeof *P);
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < m; t++) {
            size_t j = idx[i * m + t];
            double v = cond[i * m + t] / (2.0 * (double)n);
            P[i * n + j] += v;
            P[j * n + i] += v;
        }
    sl__free(dist), sl__free(idx), sl__free(cond);
    return SL_OK;
}

sl_status sl__tsne_run_ref(const sl_tsne_config *c, const float *x, size_t n, size_t d, float *y) {
    SL__TRY(check_config(c, n, d, x));
    if (n > 20000) return sl__fail(SL_ERR_ARG, "t-SNE (exact): %zu points is too many for the O(n^2) method", n);
    double *P = sl__malloc_array(n * n, sizeof *P, "t-SNE dense affinities");
    double *yd = sl__malloc_array(2 * n, sizeof *yd, "t-SNE map");
    sl_status st = SL_ERR_NOMEM;
    if (P && yd && !(st = dense_p(c, x, n, d, P)) && !(st = init_map(c, x, n, d, yd))) {
        objective o = {NULL, NULL, P, n, 0};
        st = optimise(c, &o, yd);
        if (!st) st = finish(yd, n, y);
    }
    sl__free(P), sl__free(yd);
    return st;
}

sl_status sl__tsne_kl_ref(const sl_tsne_config *c, const float *x, size_t n, size_t d, const float *y, double *kl) {
    SL__TRY(check_config(c, n, d, x));
    double *P = sl__malloc_array(n * n, sizeof *P, "t-SNE dense affinities");
    if (!P) return SL_ERR_NOMEM;
    sl_status st = dense_p(c, x, n, d, P);
    if (st) {
        sl__free(P);
        return st;
    }
    double Z = 0, s = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (i == j) continue;
            double dx = (double)y[2 * i] - y[2 * j], dy = (double)y[2 * i + 1] - y[2 * j + 1];
            Z += 1.0 / (1.0 + dx * dx + dy * dy);
        }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double p = P[i * n + j];
            if (i == j || p <= 0) continue;
            double dx = (double)y[2 * i] - y[2 * j], dy = (double)y[2 * i + 1] - y[2 * j + 1];
            double q = 1.0 / (1.0 + dx * dx + dy * dy) / Z;
            s += p * log(p / q);
        }
    sl__free(P);
    *kl = s;
    return SL_OK;
}

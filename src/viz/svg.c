/* SVG pictures: scatter plots coloured by label (with optional inlined PNG
 * thumbnails), line charts and histograms, with "nice" axis ticks, escaped
 * text and a categorical palette. Rendered into memory; saved atomically. */
#include "viz/viz_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static sl_status sb_finish(sl__tbuf *b, const char *what, char **svg, size_t *len) {
    if (b->failed || !b->s) {
        sl__free(b->s);
        return sl__fail(SL_ERR_NOMEM, "%s: out of memory while drawing", what);
    }
    *svg = b->s;
    *len = b->len;
    return SL_OK;
}

/* ---- palette ------------------------------------------------------------ */

static const char *const palette[20] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#393b79", "#e7ba52", "#637939", "#ad494a", "#6b6ecf", "#8c6d31", "#ce6dbd", "#3d9f8f", "#843c39", "#a0a0ff"};

void sl_palette_color(size_t i, char buf[8]) {
    if (i < 20) {
        memcpy(buf, palette[i], 8);
        return;
    }
    /* Beyond the table: hues spread by the golden angle at fixed lightness. */
    double h = fmod((double)(i - 20) * 137.508 + 15.0, 360.0) / 60.0, s = 0.65, l = 0.45;
    double c = (1 - fabs(2 * l - 1)) * s, x = c * (1 - fabs(fmod(h, 2.0) - 1)), m = l - c / 2, r = 0, g = 0, bl = 0;
    int sector = (int)h;
    switch (sector) {
    case 0: r = c, g = x; break;
    case 1: r = x, g = c; break;
    case 2: g = c, bl = x; break;
    case 3: g = x, bl = c; break;
    case 4: r = x, bl = c; break;
    default: r = c, bl = x; break;
    }
    snprintf(buf, 8, "#%02x%02x%02x", (int)lround((r + m) * 255), (int)lround((g + m) * 255),
             (int)lround((bl + m) * 255));
}

/* ---- axes --------------------------------------------------------------- */

/* A 1-2-5 step giving about `target` ticks over [lo, hi]. */
static double nice_step(double lo, double hi, int target) {
    double span = hi - lo;
    if (!(span > 0)) span = fabs(lo) > 0 ? fabs(lo) : 1;
    double raw = span / target, p = pow(10, floor(log10(raw))), f = raw / p;
    double nf = f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10;
    return nf * p;
}

/* Format a tick value with as many decimals as the step needs. */
static void fmt_tick(char *buf, size_t n, double v, double step) {
    if (fabs(v) < step * 1e-9) v = 0;
    double a = fabs(v);
    if (v != 0 && (a >= 1e6 || a < 1e-4)) {
        snprintf(buf, n, "%.3g", v);
        return;
    }
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 8) dec = 8;
    snprintf(buf, n, "%.*f", dec, v);
}

typedef struct {
    double x0, x1, y0, y1;   /* data range */
    double left, top, w, h;  /* plot area in pixels */
    bool log_y;
} frame;

static double px(const frame *f, double x) { return f->left + (x - f->x0) / (f->x1 - f->x0) * f->w; }
static double py(const frame *f, double y) {
    if (f->log_y) y = log10(y);
    return f->top + f->h - (y - f->y0) / (f->y1 - f->y0) * f->h;
}

static void begin_svg(sl__tbuf *b, int W, int H) {
    sl__tb_printf(b,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
              "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, "
              "sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
              W, H, W, H);
}

static void draw_titles(sl__tbuf *b, const sl_plot_text *t, const frame *f, int W) {
    if (t->title) {
        sl__tb_printf(b, "<text x=\"%.1f\" y=\"28\" font-size=\"18\" font-weight=\"bold\" text-anchor=\"middle\">",
                  (double)W / 2);
        sl__tb_text(b, t->title);
        sl__tb_printf(b, "</text>\n");
    }
    if (t->x_label) {
        sl__tb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" text-anchor=\"middle\">", f->left + f->w / 2,
                  f->top + f->h + 46);
        sl__tb_text(b, t->x_label);
        sl__tb_printf(b, "</text>\n");
    }
    if (t->y_label) {
        double cx = 18, cy = f->top + f->h / 2;
        sl__tb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" text-anchor=\"middle\" "
                     "transform=\"rotate(-90 %.1f %.1f)\">", cx, cy, cx, cy);
        sl__tb_text(b, t->y_label);
        sl__tb_printf(b, "</text>\n");
    }
}

/* Frame, grid lines, ticks and tick labels. */
static void draw_axes(sl__tbuf *b, const frame *f) {
    char lab[64];
    sl__tb_printf(b, "<g font-size=\"12\" fill=\"#333\">\n");
    double sx = nice_step(f->x0, f->x1, 7);
    for (double v = ceil(f->x0 / sx - 1e-9) * sx; v <= f->x1 + sx * 1e-9; v += sx) {
        double X = px(f, v);
        sl__tb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", X, f->top, X,
                  f->top + f->h);
        sl__tb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>", X, f->top + f->h, X,
                  f->top + f->h + 5);
        fmt_tick(lab, sizeof lab, v, sx);
        sl__tb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", X, f->top + f->h + 19, lab);
    }
    if (f->log_y) {
        for (double e = ceil(f->y0 - 1e-9); e <= f->y1 + 1e-9; e += 1) {
            double Y = py(f, pow(10, e));
            sl__tb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", f->left, Y,
                      f->left + f->w, Y);
            sl__tb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>", f->left - 5, Y,
                      f->left, Y);
            snprintf(lab, sizeof lab, "%g", pow(10, e));
            sl__tb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", f->left - 8, Y + 4, lab);
        }
    } else {
        double sy = nice_step(f->y0, f->y1, 6);
        for (double v = ceil(f->y0 / sy - 1e-9) * sy; v <= f->y1 + sy * 1e-9; v += sy) {
            double Y = py(f, v);
            sl__tb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", f->left, Y,
                      f->left + f->w, Y);
            sl__tb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>", f->left - 5, Y,
                      f->left, Y);
            fmt_tick(lab, sizeof lab, v, sy);
            sl__tb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", f->left - 8, Y + 4, lab);
        }
    }
    sl__tb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333\"/>\n</g>\n",
              f->left, f->top, f->w, f->h);
}

/* Pad a range by a fraction on both sides (and widen an empty one). */
static void pad_range(double *lo, double *hi, double frac) {
    if (!(*hi > *lo)) {
        double c = *lo, h = fabs(c) > 0 ? fabs(c) * 0.1 : 1;
        *lo = c - h, *hi = c + h;
        return;
    }
    double p = (*hi - *lo) * frac;
    *lo -= p, *hi += p;
}

sl_status sl_svg_write(const char *path, const char *svg, size_t len) {
    sl_afile *f;
    SL__TRY(sl_afile_open(path, &f));
    sl_status s = sl_afile_write(f, svg, len);
    if (s) {
        sl_afile_abort(f);
        return s;
    }
    return sl_afile_commit(f);
}

/* ---- scatter ------------------------------------------------------------ */

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static sl_status svg_thumbnails(sl__tbuf *b, const sl_scatter *s, const frame *f);

/* The labels' classes (distinct labels, sorted: each gets a palette slot in
 * that order; one class without labels), each point's slot and the count of
 * each, and a fixed random drawing order, so that no class is painted over
 * all the others. */
typedef struct scatter_classes {
    int64_t *cls; /* ncls labels, NULL without labels */
    size_t ncls, *slot, *count;
    uint32_t *order;
} scatter_classes;

static void scatter_classes_free(scatter_classes *sc) {
    sl__free(sc->cls), sl__free(sc->slot), sl__free(sc->count), sl__free(sc->order);
}

static sl_status scatter_classes_make(const sl_scatter *s, scatter_classes *sc) {
    size_t n = s->n;
    sc->ncls = 1;
    if (s->labels) {
        sc->cls = sl__malloc_array(n, sizeof *sc->cls, "scatter labels");
        if (!sc->cls) return SL_ERR_NOMEM;
        memcpy(sc->cls, s->labels, n * sizeof *sc->cls);
        qsort(sc->cls, n, sizeof *sc->cls, cmp_i64);
        sc->ncls = 0;
        for (size_t i = 0; i < n; i++)
            if (i == 0 || sc->cls[i] != sc->cls[i - 1]) sc->cls[sc->ncls++] = sc->cls[i];
    }
    sc->slot = sl__malloc_array(n, sizeof *sc->slot, "scatter"), sc->count = sl__calloc(sc->ncls, sizeof *sc->count);
    sc->order = sl__malloc_array(n, sizeof *sc->order, "scatter");
    if (!sc->slot || !sc->count || !sc->order) return sl__fail(SL_ERR_NOMEM, "scatter: out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t c = 0;
        if (sc->cls) {
            size_t lo = 0, hi = sc->ncls;
            while (hi - lo > 1) {
                size_t mid = (lo + hi) / 2;
                if (sc->cls[mid] <= s->labels[i]) lo = mid; else hi = mid;
            }
            c = lo;
        }
        sc->slot[i] = c;
        sc->count[c]++;
        sc->order[i] = (uint32_t)i;
    }
    sl_rng r;
    sl_rng_seed(&r, 12345, 0);
    sl_rng_shuffle(&r, sc->order, n, sizeof *sc->order);
    return SL_OK;
}

/* The plot area of a W x H picture (with room for a legend), over the
 * points' range padded a little, with equal scales on both axes: a map's
 * distances mean the same in x and y. */
static frame scatter_frame(int W, int H, bool legend, double x0, double x1, double y0, double y1) {
    double legend_w = legend ? 190 : 0;
    frame f = {0};
    f.left = 70, f.top = 50, f.w = W - 70 - 25 - legend_w, f.h = H - 50 - 65;
    if (f.w < 50) f.w = 50;
    if (f.h < 50) f.h = 50;
    pad_range(&x0, &x1, 0.04);
    pad_range(&y0, &y1, 0.04);
    double ux = (x1 - x0) / f.w, uy = (y1 - y0) / f.h, u = fmax(ux, uy);
    double cx = 0.5 * (x0 + x1), cy = 0.5 * (y0 + y1);
    f.x0 = cx - u * f.w / 2, f.x1 = cx + u * f.w / 2, f.y0 = cy - u * f.h / 2, f.y1 = cy + u * f.h / 2;
    return f;
}

/* A style class per colour (the first 4096), then the points in drawing order. */
static void draw_points(sl__tbuf *b, const sl_scatter *s, const frame *f, const scatter_classes *sc) {
    char col[8];
    size_t n = s->n;
    sl__tb_printf(b, "<style>");
    for (size_t c = 0; c < sc->ncls && c < 4096; c++) {
        sl_palette_color(c, col);
        sl__tb_printf(b, ".c%zu{fill:%s}", c, col);
    }
    sl__tb_printf(b, "</style>\n");
    double rad = s->point_radius > 0 ? s->point_radius : n > 20000 ? 1.4 : n > 5000 ? 1.9 : n > 1000 ? 2.6 : 3.5;
    sl__tb_printf(b, "<g fill-opacity=\"0.8\">\n");
    for (size_t t = 0; t < n; t++) {
        size_t i = sc->order[t];
        sl__tb_printf(b, "<circle class=\"c%zu\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"/>\n",
                      sc->slot[i] < 4096 ? sc->slot[i] : 0, px(f, s->xy[2 * i]), py(f, s->xy[2 * i + 1]), rad);
    }
    sl__tb_printf(b, "</g>\n");
}

/* The legend right of the plot: a row per class (name or label, and count),
 * as many as fit. */
static void draw_scatter_legend(sl__tbuf *b, const sl_scatter *s, const frame *f, const scatter_classes *sc) {
    char col[8];
    double lx = f->left + f->w + 20, ly = f->top + 8;
    sl__tb_printf(b, "<g font-size=\"13\">\n");
    if (s->legend_title) {
        sl__tb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-weight=\"bold\">", lx, ly + 4);
        sl__tb_text(b, s->legend_title);
        sl__tb_printf(b, "</text>\n");
        ly += 22;
    }
    size_t maxrows = (size_t)fmax(1, (f->h - 30) / 20);
    for (size_t c = 0; c < sc->ncls; c++) {
        if (c + 1 == maxrows && sc->ncls > maxrows) {
            sl__tb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#555\">... %zu more</text>\n", lx, ly + 4,
                          sc->ncls - c);
            break;
        }
        sl_palette_color(c, col);
        sl__tb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"%s\"/>", lx + 6, ly, col);
        sl__tb_printf(b, "<text x=\"%.1f\" y=\"%.1f\">", lx + 18, ly + 4.5);
        int64_t v = sc->cls[c];
        if (s->names && v >= 0 && (uint64_t)v < s->n_names && s->names[v])
            sl__tb_text(b, s->names[v]);
        else
            sl__tb_printf(b, "%lld", (long long)v);
        sl__tb_printf(b, " <tspan fill=\"#777\">(%zu)</tspan></text>\n", sc->count[c]);
        ly += 20;
    }
    sl__tb_printf(b, "</g>\n");
}

sl_status sl_plot_scatter(const sl_scatter *s, char **svg, size_t *len) {
    if (!s || !s->xy || s->n == 0) return sl__fail(SL_ERR_ARG, "scatter: no points");
    size_t n = s->n;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double X = s->xy[2 * i], Y = s->xy[2 * i + 1];
        if (!isfinite(X) || !isfinite(Y)) return sl__fail(SL_ERR_ARG, "scatter: point %zu is not finite", i);
        x0 = fmin(x0, X), x1 = fmax(x1, X), y0 = fmin(y0, Y), y1 = fmax(y1, Y);
    }
    scatter_classes sc = {0};
    sl_status st = scatter_classes_make(s, &sc);
    if (st) {
        scatter_classes_free(&sc);
        return st;
    }
    bool legend = s->labels != NULL;
    int W = s->text.width > 0 ? s->text.width : 900, H = s->text.height > 0 ? s->text.height : 700;
    frame f = scatter_frame(W, H, legend, x0, x1, y0, y1);
    sl__tbuf b = {0};
    begin_svg(&b, W, H);
    draw_titles(&b, &s->text, &f, W);
    draw_axes(&b, &f);
    draw_points(&b, s, &f, &sc);
    if (s->thumbs && s->thumbs->images && s->thumbs->count > 0) st = svg_thumbnails(&b, s, &f);
    if (legend && !st) draw_scatter_legend(&b, s, &f, &sc);
    sl__tb_printf(&b, "</svg>\n");
    scatter_classes_free(&sc);
    if (st) {
        sl__free(b.s);
        return st;
    }
    return sb_finish(&b, "scatter", svg, len);
}

/* Thumbnails: PNG-encoded pictures of a deterministic sample of points,
 * drawn centred on their points with a thin frame. */
static sl_status svg_thumbnails(sl__tbuf *b, const sl_scatter *s, const frame *f) {
    const sl_scatter_thumbs *t = s->thumbs;
    if (t->width <= 0 || t->height <= 0 || (t->channels != 1 && t->channels != 3))
        return sl__fail(SL_ERR_ARG, "scatter thumbnails: %d x %d x %d images (expected 1 or 3 channels)", t->width,
                        t->height, t->channels);
    size_t per = (size_t)t->width * (size_t)t->height * (size_t)t->channels;
    size_t cnt = SL__MIN(t->count, s->n);
    uint32_t *pick = sl__malloc_array(s->n, sizeof *pick, "thumbnails");
    if (!pick) return SL_ERR_NOMEM;
    for (size_t i = 0; i < s->n; i++) pick[i] = (uint32_t)i;
    sl_rng r;
    sl_rng_seed(&r, t->seed, 0x7b);
    sl_rng_shuffle(&r, pick, s->n, sizeof *pick);
    double side = t->size > 0 ? t->size : 28;
    sl__tb_printf(b, "<g>\n");
    sl_status st = SL_OK;
    for (size_t k = 0; k < cnt && !st; k++) {
        size_t i = pick[k];
        uint8_t *png;
        size_t plen;
        st = sl_png_encode(t->images + i * per, t->width, t->height, t->channels, &png, &plen);
        if (st) break;
        double X = px(f, s->xy[2 * i]) - side / 2, Y = py(f, s->xy[2 * i + 1]) - side / 2;
        sl__tb_printf(b, "<image x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                     "style=\"image-rendering:pixelated\" href=\"data:image/png;base64,", X, Y, side, side);
        sl__tb_base64(b, png, plen);
        sl__tb_printf(b, "\"/><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                     "stroke=\"#444\" stroke-width=\"0.6\"/>\n", X, Y, side, side);
        sl_allocator_free(png);
    }
    sl__tb_printf(b, "</g>\n");
    sl__free(pick);
    return st;
}

/* ---- lines -------------------------------------------------------------- */

/* One series as a path. Points falling into one pixel column are reduced to
 * the first, the lowest, the highest and the last, so a log of 100k steps
 * gives a path of a few thousand points that looks the same; a point that
 * cannot be drawn (not finite, or not > 0 on a log scale) breaks the line. */
static void draw_series(sl__tbuf *b, const sl_series *s, bool log_y, const frame *f, const char *col) {
    sl__tb_printf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" stroke-linejoin=\"round\" d=\"", col);
    bool pen = false, open_bin = false;
    long bcol = 0;
    double bin[4][2]; /* first, min, max, last */
    size_t imin = 0, imax = 0, ifirst = 0;
    for (size_t i = 0; i <= s->n; i++) {
        bool fin = false;
        double X = 0, Y = 0;
        if (i < s->n) {
            fin = isfinite(s->x[i]) && isfinite(s->y[i]) && !(log_y && !(s->y[i] > 0));
            if (fin) X = px(f, s->x[i]), Y = py(f, s->y[i]);
        }
        if (open_bin && fin && (long)floor(X) == bcol) {
            if (Y < bin[1][1]) bin[1][0] = X, bin[1][1] = Y, imin = i;
            if (Y > bin[2][1]) bin[2][0] = X, bin[2][1] = Y, imax = i;
            bin[3][0] = X, bin[3][1] = Y;
            continue;
        }
        if (open_bin) {
            /* Emit first, then min and max in the order they occurred, then last. */
            int ord[4] = {0, imin <= imax ? 1 : 2, imin <= imax ? 2 : 1, 3};
            double lx = NAN, ly = NAN;
            for (int t = 0; t < 4; t++) {
                const double *q = bin[ord[t]];
                if (t > 0 && q[0] == lx && q[1] == ly) continue;
                if (t > 0 && t < 3 && (ord[t] == 1 ? imin : imax) == ifirst) continue;
                sl__tb_printf(b, "%c%.1f %.1f ", pen ? 'L' : 'M', q[0], q[1]);
                pen = true, lx = q[0], ly = q[1];
            }
            open_bin = false;
        }
        if (!fin) {
            pen = false; /* a gap: the line breaks here */
            continue;
        }
        open_bin = true, bcol = (long)floor(X), ifirst = imin = imax = i;
        for (int t = 0; t < 4; t++) bin[t][0] = X, bin[t][1] = Y;
    }
    sl__tb_printf(b, "\"/>\n");
}

/* Legend in the top-right corner of the plot, on a white box. */
static void draw_lines_legend(sl__tbuf *b, const sl_lines *l, const frame *f) {
    char col[8];
    size_t longest = 0;
    for (size_t k = 0; k < l->n_series; k++)
        longest = SL__MAX(longest, l->series[k].name ? strlen(l->series[k].name) : 1);
    double bw = 36 + 7.5 * (double)SL__MIN(longest, (size_t)40), bh = 8 + 18 * (double)l->n_series;
    double bx = f->left + f->w - bw - 8, by = f->top + 8;
    sl__tb_printf(b, "<g font-size=\"12\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" "
                  "fill-opacity=\"0.85\" stroke=\"#bbb\"/>\n", bx, by, bw, bh);
    for (size_t k = 0; k < l->n_series; k++) {
        sl_palette_color(k, col);
        double yy = by + 14 + 18 * (double)k;
        sl__tb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>",
                      bx + 6, yy - 4, bx + 26, yy - 4, col);
        sl__tb_printf(b, "<text x=\"%.1f\" y=\"%.1f\">", bx + 31, yy);
        if (l->series[k].name)
            sl__tb_text(b, l->series[k].name);
        else
            sl__tb_printf(b, "%zu", k);
        sl__tb_printf(b, "</text>\n");
    }
    sl__tb_printf(b, "</g>\n");
}

sl_status sl_plot_lines(const sl_lines *l, char **svg, size_t *len) {
    if (!l || (!l->series && l->n_series)) return sl__fail(SL_ERR_ARG, "line chart: no series");
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    size_t pts = 0;
    for (size_t k = 0; k < l->n_series; k++) {
        const sl_series *s = &l->series[k];
        for (size_t i = 0; i < s->n; i++) {
            double X = s->x[i], Y = s->y[i];
            if (!isfinite(X) || !isfinite(Y) || (l->log_y && !(Y > 0))) continue;
            if (l->log_y) Y = log10(Y);
            x0 = fmin(x0, X), x1 = fmax(x1, X), y0 = fmin(y0, Y), y1 = fmax(y1, Y);
            pts++;
        }
    }
    if (pts == 0) return sl__fail(SL_ERR_ARG, "line chart: no finite point to draw");
    int W = l->text.width > 0 ? l->text.width : 760, H = l->text.height > 0 ? l->text.height : 440;
    frame f = {0};
    f.log_y = l->log_y;
    f.left = 78, f.top = 50, f.w = W - 78 - 25, f.h = H - 50 - 65;
    if (!(x1 > x0)) pad_range(&x0, &x1, 0);
    if (l->log_y) {
        y0 = floor(y0), y1 = ceil(y1);
        if (y1 <= y0) y1 = y0 + 1;
    } else {
        pad_range(&y0, &y1, 0.05);
    }
    f.x0 = x0, f.x1 = x1, f.y0 = y0, f.y1 = y1;
    sl__tbuf b = {0};
    begin_svg(&b, W, H);
    draw_titles(&b, &l->text, &f, W);
    draw_axes(&b, &f);
    char col[8];
    for (size_t k = 0; k < l->n_series; k++) {
        sl_palette_color(k, col);
        draw_series(&b, &l->series[k], l->log_y, &f, col);
    }
    if (l->n_series > 1 || (l->n_series == 1 && l->series[0].name)) draw_lines_legend(&b, l, &f);
    sl__tb_printf(&b, "</svg>\n");
    return sb_finish(&b, "line chart", svg, len);
}

/* ---- histogram ---------------------------------------------------------- */

sl_status sl_plot_histogram(const sl_histogram *h, char **svg, size_t *len) {
    if (!h || (!h->values && h->n)) return sl__fail(SL_ERR_ARG, "histogram: no values");
    int bins = h->bins > 0 ? h->bins : 50;
    if (bins > 100000) return sl__fail(SL_ERR_ARG, "histogram: %d bins is too many", bins);
    double lo = h->lo, hi = h->hi;
    size_t fin = 0;
    double mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < h->n; i++)
        if (isfinite(h->values[i])) fin++, mn = fmin(mn, h->values[i]), mx = fmax(mx, h->values[i]);
    if (fin == 0) return sl__fail(SL_ERR_ARG, "histogram: no finite value among %zu", h->n);
    if (!(lo < hi)) {
        lo = mn, hi = mx;
        if (!(hi > lo)) pad_range(&lo, &hi, 0);
    }
    size_t *cnt = sl__calloc((size_t)bins, sizeof *cnt);
    if (!cnt) return sl__fail(SL_ERR_NOMEM, "histogram: out of memory");
    size_t maxc = 0, outside = 0;
    for (size_t i = 0; i < h->n; i++) {
        double v = h->values[i];
        if (!isfinite(v)) continue;
        if (v < lo || v > hi) {
            outside++;
            continue;
        }
        long k = (long)((v - lo) / (hi - lo) * bins);
        if (k >= bins) k = bins - 1;
        if (k < 0) k = 0;
        cnt[k]++;
        maxc = SL__MAX(maxc, cnt[k]);
    }
    int W = h->text.width > 0 ? h->text.width : 760, H = h->text.height > 0 ? h->text.height : 440;
    frame f = {0};
    f.left = 78, f.top = 50, f.w = W - 78 - 25, f.h = H - 50 - 65;
    f.x0 = lo, f.x1 = hi, f.y0 = 0, f.y1 = maxc > 0 ? (double)maxc * 1.08 : 1;
    sl__tbuf b = {0};
    begin_svg(&b, W, H);
    draw_titles(&b, &h->text, &f, W);
    draw_axes(&b, &f);
    sl__tb_printf(&b, "<g fill=\"#4c78a8\" stroke=\"white\" stroke-width=\"0.5\">\n");
    for (int k = 0; k < bins; k++) {
        if (!cnt[k]) continue;
        double a = px(&f, lo + (hi - lo) * k / bins), c = px(&f, lo + (hi - lo) * (k + 1) / bins);
        double top = py(&f, (double)cnt[k]);
        sl__tb_printf(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>\n", a, top, c - a,
                  f.top + f.h - top);
    }
    sl__tb_printf(&b, "</g>\n");
    char col[8];
    for (size_t m = 0; m < h->n_marks; m++) {
        double v = h->marks[m];
        if (!isfinite(v) || v < lo || v > hi) continue;
        sl_palette_color(m + 1, col);
        double X = px(&f, v);
        sl__tb_printf(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\" "
                      "stroke-dasharray=\"6 4\"/>", X, f.top, X, f.top + f.h, col);
        sl__tb_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"%s\" text-anchor=\"%s\">", X + (X > f.left + f.w * 0.8 ? -4 : 4),
                  f.top + 16 + 15 * (double)m, col, X > f.left + f.w * 0.8 ? "end" : "start");
        if (h->mark_names && h->mark_names[m]) sl__tb_text(&b, h->mark_names[m]);
        sl__tb_printf(&b, " %.4g</text>\n", v);
    }
    if (outside)
        sl__tb_printf(&b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#777\" text-anchor=\"end\">%zu values "
                      "outside the range</text>\n", f.left + f.w, (double)H - 8, outside);
    sl__tb_printf(&b, "</svg>\n");
    sl__free(cnt);
    return sb_finish(&b, "histogram", svg, len);
}

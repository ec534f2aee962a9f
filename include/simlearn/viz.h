/* simlearn viz: what a person looks at instead of reading — PCA and t-SNE maps
 * of embeddings, their trustworthiness, SVG scatter plots, line charts and
 * histograms, a reader for JSONL training logs, and image grids and contact
 * sheets with small built-in bitmap fonts.
 * Threads: nothing here keeps state; calls may run in several threads at once
 * on distinct outputs, and a fitted sl_pca or a read sl_jsonl is only read
 * afterwards. */
#ifndef SIMLEARN_VIZ_H
#define SIMLEARN_VIZ_H

#include <signal.h>

#include "simlearn/base.h"
#include "simlearn/io.h"
#include "simlearn/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- PCA -----------------------------------------------------------------
 * Principal components of n points of dimension d (float32, row-major). The
 * covariance (d x d) is formed with sl_gemm in blocks and decomposed with
 * sl_eigh, so the cost is O(n d^2 + d^3). Components follow sl_eigh's sign
 * convention (both in simlearn/tensor.h). Thread-compatible (one object per caller). */
typedef struct sl_pca {
    size_t d, k;
    float *mean;           /* d */
    float *components;     /* k x d, unit rows, descending variance */
    double *variance;      /* k: variance along each component (divided by n - 1) */
    double total_variance; /* sum of the variances of all d coordinates */
} sl_pca;
/* k must be in [1, d]; n >= 2. Errors: SL_ERR_ARG, SL_ERR_NOMEM, SL_ERR_NUMERIC. */
sl_status sl_pca_fit(const float *x, size_t n, size_t d, size_t k, sl_pca **out);
/* out (n x p->k) = (x - mean) * components^T. x is n x p->d. */
void sl_pca_transform(const sl_pca *p, const float *x, size_t n, float *out);
void sl_pca_destroy(sl_pca *p);

/* ---- t-SNE ---------------------------------------------------------------
 * t-SNE to 2 dimensions. sl_tsne_run is Barnes-Hut t-SNE: exact nearest
 * neighbours (3*perplexity of them, blocked sl_gemm), a per-point binary search
 * of the Gaussian width to match the perplexity, the symmetrised sparse P, and
 * a quadtree for the repulsive forces. The schedule follows common practice
 * (and scikit-learn >= 1.2): early exaggeration 12 for 250 iterations with
 * momentum 0.5, then momentum 0.8; per-coordinate gains (+0.2 / *0.8, floor
 * 0.01); learning rate max(n / exaggeration / 4, 50) unless given; started from
 * the PCA projection scaled so the first coordinate has standard deviation 1e-4.
 * The result depends only on the input and the seed, not on the thread count:
 * the neighbour distances come from sl_gemm, whose tiles do not depend on it,
 * every other sum is taken in a fixed order, and the PCA start is computed in
 * plain loops.
 * The tests compare it with the exact O(n^2) method (dense P over all points,
 * exact gradient) run with the same schedule. */
typedef enum { SL_TSNE_INIT_PCA, SL_TSNE_INIT_RANDOM } sl_tsne_init;
typedef struct sl_tsne_config {
    double perplexity;    /* 30 */
    double theta;         /* Barnes-Hut opening angle, 0.5; 0 is exact (slow) */
    int max_iter;         /* 1000, including the exaggeration phase */
    int exaggeration_iter;/* 250 */
    double exaggeration;  /* 12 */
    double learning_rate; /* <= 0: max(n / exaggeration / 4, 50) */
    sl_tsne_init init;    /* PCA */
    uint64_t seed;        /* for the random init (and PCA ties): 1 */
    sl_progress *progress;/* optional; updated with the iteration count */
    /* Polled before every iteration and every block of the neighbour search
     * (may be NULL); when it becomes non-zero sl_tsne_run returns
     * SL_ERR_INTERRUPTED and leaves y untouched. */
    const volatile sig_atomic_t *stop;
} sl_tsne_config;
void sl_tsne_config_default(sl_tsne_config *c);
/* x: n x d input; y: n x 2 output, written only on success. Needs n > 3 *
 * perplexity + 1 (fewer points: lower the perplexity).
 * Errors: SL_ERR_ARG, SL_ERR_NOMEM, SL_ERR_NUMERIC, SL_ERR_INTERRUPTED. */
sl_status sl_tsne_run(const sl_tsne_config *c, const float *x, size_t n, size_t d, float *y);

/* ---- map quality ---------------------------------------------------------
 * Trustworthiness (Venna & Kaski 2001) of an embedding y (n x dy) of x (n x dx)
 * with k neighbours: 1 - 2/(n k (2n - 3k - 1)) * sum over points i of
 * sum over j in the k nearest of i in y but not in x of (rank of j from i in x - k).
 * 1 is perfect. Needs k < n / 2. Exact, O(n^2 (dx + k)); use a sample for big n.
 * Errors: SL_ERR_ARG, SL_ERR_NOMEM. */
sl_status sl_map_trustworthiness(const float *x, size_t n, size_t dx, const float *y, size_t dy, int k, double *out);
/* Fraction of each point's k nearest neighbours in y (n x dy) that share its
 * label (leave-one-out kNN purity). Errors: SL_ERR_ARG, SL_ERR_NOMEM. */
sl_status sl_map_purity(const float *y, size_t n, size_t dy, const int64_t *labels, int k, double *out);

/* ---- SVG pictures --------------------------------------------------------
 * Every plot is rendered into a self-contained SVG document in memory (*svg,
 * NUL-terminated, freed with sl_allocator_free), which sl_svg_write saves atomically or a
 * report can inline. Text is XML-escaped. Plots have axes with "nice" ticks, a
 * title and axis labels. Colours come from sl_palette_color. */

/* The categorical palette: 20 distinguishable colours, then generated hues.
 * Writes "#rrggbb" into buf (8 bytes). */
void sl_palette_color(size_t i, char buf[8]);

typedef struct sl_plot_text {
    const char *title;   /* may be NULL */
    const char *x_label; /* may be NULL */
    const char *y_label; /* may be NULL */
    int width, height;   /* pixels; 0 = defaults (scatter 900 x 700, others 760 x 440) */
} sl_plot_text;

/* Optional thumbnails for a scatter plot: images[i] (h x w x channels, 1 or 3
 * channels) is point i's picture; `count` points are chosen evenly over a
 * deterministic shuffle and drawn as small inlined PNGs (data: URIs). */
typedef struct sl_scatter_thumbs {
    const uint8_t *images; /* n x h x w x channels */
    int width, height, channels;
    size_t count;      /* how many points get a thumbnail */
    int size;          /* drawn side in pixels; 0 = 28 */
    uint64_t seed;
} sl_scatter_thumbs;

typedef struct sl_scatter {
    const float *xy;     /* n x 2 */
    size_t n;
    const int64_t *labels;    /* n, or NULL for one colour */
    const char *const *names; /* names[label] for labels in [0, n_names); others show the number */
    size_t n_names;
    const char *legend_title; /* e.g. "class"; may be NULL */
    float point_radius;       /* 0 = automatic from n */
    const sl_scatter_thumbs *thumbs; /* may be NULL */
    sl_plot_text text;
} sl_scatter;
/* Errors: SL_ERR_ARG (n = 0, non-finite coordinates), SL_ERR_NOMEM. */
sl_status sl_plot_scatter(const sl_scatter *s, char **svg, size_t *len);

typedef struct sl_series {
    const char *name;
    const double *x, *y; /* n each; non-finite points are skipped (the line breaks) */
    size_t n;
} sl_series;
typedef struct sl_lines {
    const sl_series *series;
    size_t n_series;
    bool log_y; /* logarithmic y axis (non-positive values are skipped) */
    sl_plot_text text;
} sl_lines;
/* Errors: SL_ERR_ARG (no finite point at all), SL_ERR_NOMEM. */
sl_status sl_plot_lines(const sl_lines *l, char **svg, size_t *len);

typedef struct sl_histogram {
    const double *values; /* non-finite values are ignored */
    size_t n;
    int bins;            /* 0 = 50 */
    double lo, hi;       /* range; lo >= hi means the data's range */
    const double *marks; /* vertical marker lines (e.g. the mean), may be NULL */
    const char *const *mark_names;
    size_t n_marks;
    sl_plot_text text;
} sl_histogram;
/* Errors: SL_ERR_ARG (no finite value), SL_ERR_NOMEM. */
sl_status sl_plot_histogram(const sl_histogram *h, char **svg, size_t *len);

/* Save an SVG document atomically. Errors: SL_ERR_IO. */
sl_status sl_svg_write(const char *path, const char *svg, size_t len);

/* ---- JSONL logs ----------------------------------------------------------
 * Reads a file of flat JSON objects, one per line ({"step": 10, "loss": 2.3}),
 * as a table: one column per key in order of first appearance, NaN where a
 * row lacks a key. Values may be numbers, true/false (1/0), null, or strings
 * (kept as NaN: a column of text is not plotted); Python's NaN/Infinity
 * tokens are accepted. Nested objects and arrays are rejected. Blank lines are
 * skipped. Errors name the line and column: SL_ERR_IO, SL_ERR_FORMAT,
 * SL_ERR_RANGE, SL_ERR_NOMEM. */
typedef struct sl_jsonl {
    size_t n_rows, n_keys;
    char **keys;    /* n_keys */
    double *values; /* n_rows x n_keys */
} sl_jsonl;
sl_status sl_jsonl_read(const char *path, sl_jsonl **out);
/* Same from memory; `name` is used in messages. */
sl_status sl_jsonl_parse(const char *text, size_t len, const char *name, sl_jsonl **out);
/* Column of `key`, or -1 when absent. */
long sl_jsonl_column(const sl_jsonl *t, const char *key);
void sl_jsonl_destroy(sl_jsonl *t);

/* ---- image grids ---------------------------------------------------------
 * Rows of tiles (a query, then its neighbours), each tile an 8-bit gray or RGB
 * image scaled up by an integer factor with a text label under it, drawn with
 * a built-in 5x7 bitmap font. The first column is set apart by a gap. The
 * result is an RGB buffer (width x height x 3). */
typedef struct sl_grid_tile {
    const uint8_t *pixels; /* height x width x channels; NULL leaves the cell empty */
    int width, height, channels; /* channels 1 or 3 */
    const char *label;     /* printable ASCII; may be NULL; cut to the tile width */
    bool highlight;        /* draw a coloured frame (e.g. a matching label) */
} sl_grid_tile;
typedef struct sl_grid_config {
    int scale;      /* integer upscaling of every tile, 0 = 2 */
    int font_scale; /* 0 = 1 */
    const char *title; /* drawn above the grid; may be NULL */
} sl_grid_config;
/* Fill c with the defaults: scale 2, font scale 1, no title. */
void sl_grid_config_default(sl_grid_config *c);
/* tiles: rows x cols, row-major; all non-NULL tiles must have the same size.
 * Errors: SL_ERR_ARG, SL_ERR_NOMEM. */
sl_status sl_grid_render(const sl_grid_tile *tiles, size_t rows, size_t cols, const sl_grid_config *cfg,
                         uint8_t **rgb, int *width, int *height);
/* Draw ASCII text with the built-in font into an RGB buffer (clipped). Returns
 * the width in pixels the text took. */
int sl_text_draw(uint8_t *rgb, int width, int height, int x, int y, const char *text, int scale,
                 const uint8_t color[3]);
/* Width in pixels of text drawn at `scale`. */
int sl_text_width(const char *text, int scale);

/* ---- contact sheets ------------------------------------------------------
 * A picture of cells on a dark background, each cell a strip of `tiles`
 * images of the same size (a dataset item and its augmented views, say),
 * scaled up by an integer factor and set 2 pixels apart, with a caption under
 * it in a compact 3x5 bitmap font (capitals, digits and - / . +; lower case
 * is drawn as capitals, other characters as blanks), cut to the cell's width.
 * The column count is the one near a picture 1.6 times as wide as high that
 * leaves the fewest empty cells. The result is an RGB buffer. */
typedef struct sl_sheet sl_sheet;
/* `cells` cells of `tiles` images of width x height pixels, each pixel drawn
 * scale x scale (0: about 64-pixel tiles). Errors: SL_ERR_ARG (no cells, bad
 * sizes, a picture of more than 400 million pixels), SL_ERR_NOMEM. */
sl_status sl_sheet_create(size_t cells, int tiles, int width, int height, int scale, sl_sheet **out);
/* Draw image `tile` of cell `cell` from a channels x height x width float
 * image (1 or 3 channels; values clamped to [0, 1] and rounded to 8 bits).
 * Errors: SL_ERR_ARG (no such cell or tile, other channel counts). */
sl_status sl_sheet_draw(sl_sheet *s, size_t cell, int tile, const float *chw, int channels);
/* Write the caption of a cell (nothing for a cell that does not exist). */
void sl_sheet_caption(sl_sheet *s, size_t cell, const char *text);
/* The picture (width x height x 3), owned by the sheet. */
const uint8_t *sl_sheet_rgb(const sl_sheet *s, int *width, int *height);
void sl_sheet_destroy(sl_sheet *s); /* NULL-safe */

/* ---- report (begin) ------------------------------------------------------
 * One self-contained HTML page about representations of the same n labelled
 * items: nearest-neighbour grids (PNG, inlined as data: URIs), PCA and t-SNE
 * maps coloured by each attribute (inline SVG), training curves from JSONL
 * logs, a geometry panel with cosine-similarity histograms, and kNN, linear
 * probe and retrieval tables. Everything is computed here from the inputs,
 * which are only borrowed. */
typedef struct sl_report_rep {
    const char *name; /* "raw pixels", a model's name, ... */
    const float *x;   /* n x d, row i describes item i */
    size_t d;
} sl_report_rep;
typedef struct sl_report_attr {
    const char *name;             /* "shape" */
    const int64_t *labels;        /* n labels, -1 where unknown */
    const char *const *class_names; /* names of labels 0..n_classes-1, may be NULL */
    size_t n_classes;
} sl_report_attr;
typedef struct sl_report_log {
    const char *name;
    const sl_jsonl *log; /* columns step, loss, lr, tau, alignment, uniformity (any present) */
} sl_report_log;
/* Zero-shot classification by a CLIP model (sl_zeroshot_run in simlearn/train.h)
 * of the same n items: for each attribute of the configuration, the class
 * each item was given. */
typedef struct sl_report_zeroshot {
    const char *name;                 /* the model */
    const char *prompt;               /* the prompt template, e.g. "a photo of a {}" */
    const int32_t *const *predicted;  /* n_attrs arrays of n classes (NULL: attribute not classified) */
} sl_report_zeroshot;
typedef struct sl_report_config {
    const char *title;       /* "simlearn report" */
    const char *description; /* a line under the title, may be NULL */
    size_t n;                /* items */
    const sl_report_rep *reps;
    size_t n_reps;
    const sl_report_attr *attrs;
    size_t n_attrs;
    const uint8_t *images;   /* n x img_h x img_w x img_c (1 or 3), or NULL: no grids */
    int img_w, img_h, img_c;
    const sl_report_log *logs;
    size_t n_logs;
    const sl_report_zeroshot *zeroshot; /* zero-shot accuracy table (NULL: none) */
    size_t n_zeroshot;
    size_t queries;          /* grid rows: 8 */
    size_t neighbours;       /* grid columns after the query: 8 */
    size_t knn_k;            /* kNN classifier: 10 */
    int grid_attr;           /* attribute shown under the grid tiles and used for alignment: 0 */
    bool tsne;               /* draw t-SNE maps: true */
    double perplexity;       /* 30 (lowered for small n) */
    int tsne_iters;          /* 1000 */
    bool probe;              /* linear probe: true */
    size_t thumbs;           /* images drawn over the t-SNE maps (with images): 20 */
    uint64_t seed;           /* queries, pair samples, maps: 1 */
    size_t path_from, path_to; /* the items the path section walks between; SIZE_MAX (both): the first grid query
                                  and the next grid query of another class (or the second query) */
    FILE *progress_stream;   /* NULL: no progress */
    sl_progress_mode progress_mode;
} sl_report_config;
void sl_report_config_default(sl_report_config *c);
/* Render the page into *html (NUL-terminated, freed with sl_allocator_free).
 * Errors: SL_ERR_ARG (no representation, n < 2, bad images or attribute),
 * SL_ERR_NUMERIC (a non-finite value, naming the row), SL_ERR_NOMEM. */
sl_status sl_report_html(const sl_report_config *c, char **html, size_t *len);
/* Save a page atomically. Errors: SL_ERR_IO. */
sl_status sl_report_write(const char *path, const char *html, size_t len);
/* Base64 (RFC 4648, padded) and HTML escaping of text, freed with sl_allocator_free. */
sl_status sl_report_base64(const uint8_t *data, size_t n, char **out, size_t *len);
sl_status sl_report_escape(const char *text, char **out);
/* ---- report (end) ---- */

#ifdef __cplusplus
}
#endif
#endif

/* The shapes world: one anti-aliased shape (circle, square, triangle,
 * diamond, cross, star, hexagon) in one of eight named colors on a dark
 * background. Items are pure functions of (seed, split, index); shapes are
 * drawn from signed distance functions, so edges get exact partial coverage. */
#include "data_internal.h"

#include <math.h>
#include <string.h>

static const char *const shape_names[SL_SHAPES_NUM_SHAPES] = {"circle", "square", "triangle", "diamond",
                                                              "cross",  "star",   "hexagon"};
static const char *const color_names[SL_SHAPES_NUM_COLORS] = {"red",  "orange", "yellow", "green",
                                                              "cyan", "blue",   "purple", "white"};
static const float palette[SL_SHAPES_NUM_COLORS][3] = {
    {0.90f, 0.12f, 0.10f}, {1.00f, 0.55f, 0.05f}, {0.95f, 0.90f, 0.15f}, {0.15f, 0.75f, 0.20f},
    {0.10f, 0.80f, 0.90f}, {0.15f, 0.30f, 0.95f}, {0.60f, 0.20f, 0.85f}, {0.95f, 0.95f, 0.95f}};
static const char *const size_names[2] = {"small", "large"};
static const char *const location_names[9] = {"top left",    "top center",    "top right",
                                              "middle left", "center",        "middle right",
                                              "bottom left", "bottom center", "bottom right"};

/* Size range as a fraction of the side; "large" from the midpoint up. */
#define R_MIN 0.10f
#define R_MAX 0.22f
#define R_MID 0.16f
#define COLOR_JITTER 0.06f
#define BACKGROUND 0.08f
/* Keep the centre this far inside its grid cell, so anti-aliasing never
 * moves the rendered centroid into a neighbouring cell. */
#define CELL_MARGIN 0.03f

/* Polygon outlines at unit size, y pointing down. Areas are roughly matched
 * so that size means about the same for every shape. */
typedef struct {
    int n;
    float v[12][2];
} poly;
static const poly polys[SL_SHAPES_NUM_SHAPES] = {
    {0, {{0}}},                                                          /* circle: not a polygon */
    {4, {{-0.8f, -0.8f}, {0.8f, -0.8f}, {0.8f, 0.8f}, {-0.8f, 0.8f}}},   /* square */
    {3, {{0.0f, -1.15f}, {0.996f, 0.575f}, {-0.996f, 0.575f}}},          /* triangle, centroid at 0 */
    {4, {{0.0f, -1.1f}, {0.8f, 0.0f}, {0.0f, 1.1f}, {-0.8f, 0.0f}}},     /* diamond */
    {12,
     {{-0.32f, -1.0f}, {0.32f, -1.0f}, {0.32f, -0.32f}, {1.0f, -0.32f}, {1.0f, 0.32f}, {0.32f, 0.32f},
      {0.32f, 1.0f}, {-0.32f, 1.0f}, {-0.32f, 0.32f}, {-1.0f, 0.32f}, {-1.0f, -0.32f}, {-0.32f, -0.32f}}}, /* cross */
    {10,
     {{0.0f, -1.15f}, {0.270f, -0.372f}, {1.094f, -0.355f}, {0.438f, 0.142f}, {0.676f, 0.930f}, {0.0f, 0.46f},
      {-0.676f, 0.930f}, {-0.438f, 0.142f}, {-1.094f, -0.355f}, {-0.270f, -0.372f}}}, /* star */
    {6,
     {{0.95f, 0.0f}, {0.475f, 0.823f}, {-0.475f, 0.823f}, {-0.95f, 0.0f}, {-0.475f, -0.823f}, {0.475f, -0.823f}}}};
#define CIRCLE_R 0.9f

static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Signed distance from (px, py) to a polygon, negative inside. */
static float sd_poly(const poly *p, float px, float py) {
    float dx = px - p->v[0][0], dy = py - p->v[0][1];
    float d = dx * dx + dy * dy, s = 1.0f;
    for (int i = 0, j = p->n - 1; i < p->n; j = i, i++) {
        float ex = p->v[j][0] - p->v[i][0], ey = p->v[j][1] - p->v[i][1];
        float wx = px - p->v[i][0], wy = py - p->v[i][1];
        float t = clampf((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0f, 1.0f);
        float bx = wx - ex * t, by = wy - ey * t;
        float dd = bx * bx + by * by;
        if (dd < d) d = dd;
        bool c1 = py >= p->v[i][1], c2 = py < p->v[j][1], c3 = ex * wy > ey * wx;
        if ((c1 && c2 && c3) || (!c1 && !c2 && !c3)) s = -s;
    }
    return s * sqrtf(d);
}

static void place(sl_shapes_item *it, int cell, sl_rng *r) {
    int row = cell / 3, col = cell % 3;
    float lo, hi;
    lo = fmaxf(col / 3.0f + CELL_MARGIN, it->radius), hi = fminf((col + 1) / 3.0f - CELL_MARGIN, 1.0f - it->radius);
    it->cx = sl_rng_range(r, lo, hi);
    lo = fmaxf(row / 3.0f + CELL_MARGIN, it->radius), hi = fminf((row + 1) / 3.0f - CELL_MARGIN, 1.0f - it->radius);
    it->cy = sl_rng_range(r, lo, hi);
}

static int cell_of(const sl_shapes_item *it) {
    int col = (int)(it->cx * 3), row = (int)(it->cy * 3);
    col = col < 0 ? 0 : col > 2 ? 2 : col;
    row = row < 0 ? 0 : row > 2 ? 2 : row;
    return row * 3 + col;
}

static void draw_color(sl_shapes_item *it, sl_rng *r) {
    it->color = (int)sl_rng_below(r, SL_SHAPES_NUM_COLORS);
    for (int k = 0; k < 3; k++)
        it->rgb[k] = clampf(palette[it->color][k] + sl_rng_range(r, -COLOR_JITTER, COLOR_JITTER), 0.0f, 1.0f);
}

static void draw_item(const sl_dataset *d, sl_shapes_item *it, sl_rng *r) {
    it->shape = (int)sl_rng_below(r, SL_SHAPES_NUM_SHAPES);
    draw_color(it, r);
    it->radius = sl_rng_range(r, R_MIN, R_MAX);
    place(it, (int)sl_rng_below(r, 9), r);
    float a = sl_rng_range(r, 0.0f, 6.2831853f);
    it->angle = d->rotate ? a : 0.0f;
    it->noise_key = sl_rng_u64(r);
}

void sl_shapes_labels(const sl_shapes_item *it, int32_t labels[4]) {
    labels[SL_SHAPES_ATTR_SHAPE] = it->shape;
    labels[SL_SHAPES_ATTR_COLOR] = it->color;
    labels[SL_SHAPES_ATTR_SIZE] = it->radius >= R_MID;
    labels[SL_SHAPES_ATTR_LOCATION] = cell_of(it);
}

void sl_shapes_caption(const sl_shapes_item *it, char *buf) {
    int cell = cell_of(it);
    snprintf(buf, SL_CAPTION_MAX, "a %s %s %s in the %s", size_names[it->radius >= R_MID], color_names[it->color],
             shape_names[it->shape], location_names[cell]);
}

static sl_rng item_rng(const sl_dataset *d, size_t i) {
    sl_rng r;
    /* The split selects a disjoint block of streams, so splits never share items. */
    sl_rng_seed(&r, d->seed, ((uint64_t)(d->split + 1) << 56) ^ (uint64_t)i);
    return r;
}

sl_status sl_shapes_item_of(const sl_dataset *d, size_t i, sl_shapes_item *out) {
    if (d->kind != SL_DATA_SHAPES) return sl__fail(SL_ERR_ARG, "%s: not the shapes dataset", d->name);
    if (i >= d->n) return sl__fail(SL_ERR_RANGE, "shapes: item %zu is out of range (%zu items)", i, d->n);
    sl_rng r = item_rng(d, i);
    draw_item(d, out, &r);
    return SL_OK;
}

void sl_shapes_resample(const sl_dataset *d, sl_shapes_item *it, unsigned keep, sl_rng *r) {
    sl_shapes_item fresh;
    draw_item(d, &fresh, r);
    int cell = cell_of(it);
    if (!(keep & SL_KEEP_SHAPE)) it->shape = fresh.shape;
    if (!(keep & SL_KEEP_COLOR)) {
        it->color = fresh.color;
        memcpy(it->rgb, fresh.rgb, sizeof it->rgb);
    }
    if (!(keep & SL_KEEP_SIZE)) {
        /* A new size within the old size class would not be a new size label;
         * the class is redrawn with the rest. */
        it->radius = fresh.radius;
    }
    if (!(keep & SL_KEEP_LOCATION)) {
        it->cx = fresh.cx;
        it->cy = fresh.cy;
        cell = cell_of(it);
    }
    /* Whatever changed, the centre must keep the shape inside the image and
     * inside its cell. */
    if (it->cx < it->radius || it->cx > 1 - it->radius || it->cy < it->radius || it->cy > 1 - it->radius ||
        cell_of(it) != cell)
        place(it, cell, r);
    it->angle = fresh.angle;
    it->noise_key = fresh.noise_key;
}

void sl_shapes_render(const sl_dataset *d, const sl_shapes_item *it, float *x) {
    int S = d->h;
    size_t plane = (size_t)S * S;
    if (d->noise > 0) {
        sl_rng r;
        sl_rng_seed(&r, it->noise_key, 0x6e6f697365ull);
        for (size_t p = 0; p < plane; p++) {
            float v = clampf(BACKGROUND + d->noise * (float)sl_rng_normal(&r), 0.0f, 1.0f);
            x[p] = x[plane + p] = x[2 * plane + p] = v;
        }
    } else {
        for (size_t p = 0; p < 3 * plane; p++) x[p] = BACKGROUND;
    }
    float rad = it->radius, ca = cosf(it->angle), sa = sinf(it->angle), inv = 1.0f / (float)S;
    const poly *pg = &polys[it->shape];
    /* Only pixels near the shape's bounding circle can be covered. */
    int x0 = (int)floorf((it->cx - 1.2f * rad) * S) - 1, x1 = (int)ceilf((it->cx + 1.2f * rad) * S) + 1;
    int y0 = (int)floorf((it->cy - 1.2f * rad) * S) - 1, y1 = (int)ceilf((it->cy + 1.2f * rad) * S) + 1;
    x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0, x1 = x1 > S ? S : x1, y1 = y1 > S ? S : y1;
    for (int py = y0; py < y1; py++) {
        for (int px = x0; px < x1; px++) {
            /* Pixel centre in shape coordinates (unit size, unrotated). */
            float u = ((px + 0.5f) * inv - it->cx) / rad, v = ((py + 0.5f) * inv - it->cy) / rad;
            float ru = ca * u + sa * v, rv = -sa * u + ca * v;
            float sd = it->shape == 0 ? sqrtf(ru * ru + rv * rv) - CIRCLE_R : sd_poly(pg, ru, rv);
            /* Distance in pixels; coverage ramps over one pixel at the edge. */
            float cov = clampf(0.5f - sd * rad * (float)S, 0.0f, 1.0f);
            if (cov <= 0) continue;
            size_t o = (size_t)py * S + px;
            for (int k = 0; k < 3; k++) x[k * plane + o] += cov * (it->rgb[k] - x[k * plane + o]);
        }
    }
}

void sl__shapes_get(const sl_dataset *d, size_t i, float *x, int32_t *labels, char *caption) {
    sl_shapes_item it;
    sl_rng r = item_rng(d, i);
    draw_item(d, &it, &r);
    if (x) sl_shapes_render(d, &it, x);
    if (labels) sl_shapes_labels(&it, labels);
    if (caption) sl_shapes_caption(&it, caption);
}

sl_status sl__shapes_open(sl_dataset *d, const sl_data_config *c) {
    d->kind = SL_DATA_SHAPES;
    if (c->size != 0 && c->size < 8) return sl__fail(SL_ERR_ARG, "shapes: image size %d is below the minimum 8", c->size);
    d->c = 3;
    d->h = d->w = c->size ? c->size : 32;
    d->rotate = c->shapes_rotate;
    d->noise = c->shapes_noise;
    static const size_t defaults[4] = {50000, 5000, 10000, 65000};
    if (d->split == SL_SPLIT_ALL && c->shapes_count)
        return sl__fail(SL_ERR_ARG, "shapes: the 'all' split has a fixed size; choose train, val or test with a count");
    if (d->split == SL_SPLIT_ALL)
        return sl__fail(SL_ERR_ARG, "shapes: no 'all' split (its items are generated per split: train, val, test)");
    d->n = c->shapes_count ? c->shapes_count : defaults[d->split];
    d->nattrs = 4;
    d->attrs[0] = (sl_attr){"shape", SL_SHAPES_NUM_SHAPES, shape_names};
    d->attrs[1] = (sl_attr){"color", SL_SHAPES_NUM_COLORS, color_names};
    d->attrs[2] = (sl_attr){"size", 2, size_names};
    d->attrs[3] = (sl_attr){"location", 9, location_names};
    return SL_OK;
}

/* Augmentation pipelines: a spec string parsed into a list of ops, each with
 * a probability, applied in place to CHW float images. Every random choice is
 * drawn from the caller's sl_rng, so a view is a pure function of the image
 * and the RNG state. */
#include "data_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { OP_CROP, OP_FLIP, OP_JITTER, OP_GRAY, OP_BLUR, OP_NOISE, OP_ROTATE, OP_TRANSLATE, OP_CUTOUT, OP_PERMUTE } op_kind;

typedef struct {
    const char *name;
    op_kind kind;
    int min_args, max_args;
    float def[4];
    double prob; /* default probability */
    float lo[4], hi[4]; /* valid range of each argument */
} op_info;

static const op_info op_table[] = {
    {"crop", OP_CROP, 0, 2, {0.08f, 1.0f}, 1.0, {0.01f, 0.01f}, {1.0f, 1.0f}},
    {"flip", OP_FLIP, 0, 0, {0}, 0.5, {0}, {0}},
    {"jitter", OP_JITTER, 1, 4, {0, 0, 0, 0}, 1.0, {0, 0, 0, 0}, {1.0f, 1.0f, 1.0f, 0.5f}},
    {"gray", OP_GRAY, 0, 1, {1.0f}, 1.0, {0}, {1.0f}},
    {"blur", OP_BLUR, 0, 1, {1.0f}, 1.0, {0.1f}, {20.0f}},
    {"noise", OP_NOISE, 0, 1, {0.05f}, 1.0, {0}, {1.0f}},
    {"rotate", OP_ROTATE, 0, 1, {15.0f}, 1.0, {0}, {180.0f}},
    {"translate", OP_TRANSLATE, 0, 1, {4.0f}, 1.0, {0}, {1024.0f}},
    {"cutout", OP_CUTOUT, 0, 1, {8.0f}, 1.0, {1.0f}, {4096.0f}},
    {"permute-channels", OP_PERMUTE, 0, 0, {0}, 1.0, {0}, {0}},
};
#define N_OPS (sizeof op_table / sizeof op_table[0])
#define MAX_PIPE 32

typedef struct {
    op_kind kind;
    float a[4];
    double p;
} op;

struct sl_augment {
    int n;
    op ops[MAX_PIPE];
    bool has_keep;
    unsigned keep;
};

static const struct {
    const char *name, *spec;
} presets[] = {
    {"color", "keep=shape+size+location"},
    {"location", "keep=shape+color+size"},
    {"shape+location", "keep=color+size"},
    {"simclr", "crop(0.6,1.0),flip,jitter(0.4,0.4,0.4,0.1)@0.8,gray(0.2)"},
    {"mono", "crop(0.3,1.0),flip,jitter(0.4,0.4)@0.8"},
    {"none", ""},
};

/* "color, location, ..." for error messages: every preset but none. */
static void preset_names(char *buf, size_t cap) {
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, "none") != 0 && at < cap)
            at += (size_t)snprintf(buf + at, cap - at, "%s%s", at ? ", " : "", presets[i].name);
}

const char *sl_augment_preset(const char *name) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(name, presets[i].name) == 0) return presets[i].spec;
    return NULL;
}

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

static sl_status parse_number(const char *spec, const char **pp, double *out) {
    const char *p = skip_ws(*pp);
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    if (end == p || errno || !isfinite(v))
        return sl__fail(SL_ERR_ARG, "augment spec '%s': position %zu: expected a number", spec, (size_t)(p - spec));
    *out = v;
    *pp = skip_ws(end);
    return SL_OK;
}

static sl_status parse_keep(const char *spec, const char **pp, sl_augment *a) {
    static const char *names[4] = {"shape", "color", "size", "location"};
    const char *p = *pp;
    a->has_keep = true;
    a->keep = 0;
    for (;;) {
        p = skip_ws(p);
        size_t len = 0;
        while (p[len] && (isalpha((unsigned char)p[len]))) len++;
        int k = -1;
        for (int j = 0; j < 4; j++)
            if (strlen(names[j]) == len && strncmp(p, names[j], len) == 0) k = j;
        if (k < 0)
            return sl__fail(SL_ERR_ARG,
                            "augment spec '%s': position %zu: expected an attribute to keep (shape, color, size or "
                            "location)",
                            spec, (size_t)(p - spec));
        a->keep |= 1u << k;
        p = skip_ws(p + len);
        if (*p != '+') break;
        p++;
    }
    *pp = p;
    return SL_OK;
}

/* "keep=a+b" or "keep(a+b)" at *pp (at its "keep"). */
static sl_status parse_keep_op(const char *spec, const char **pp, sl_augment *a) {
    const char *p = *pp;
    bool paren = p[4] == '(';
    p += 5;
    SL__TRY(parse_keep(spec, &p, a));
    if (paren) {
        if (*p != ')') return sl__fail(SL_ERR_ARG, "augment spec '%s': position %zu: expected ')'", spec, (size_t)(p - spec));
        p = skip_ws(p + 1);
    }
    *pp = p;
    return SL_OK;
}

/* An op's argument list "(x, y)" at *pp, if there is one, into o->a; *nargs:
 * how many were given. */
static sl_status parse_op_args(const char *spec, const char **pp, const op_info *info, op *o, int *nargs) {
    const char *p = *pp;
    *nargs = 0;
    if (*p != '(') return SL_OK;
    p++;
    if (*skip_ws(p) == ')') {
        *pp = skip_ws(p) + 1;
        return SL_OK;
    }
    for (;;) {
        double v;
        if (*nargs == info->max_args)
            return sl__fail(SL_ERR_ARG, "augment spec '%s': position %zu: %s takes at most %d argument%s", spec,
                            (size_t)(p - spec), info->name, info->max_args, info->max_args == 1 ? "" : "s");
        SL__TRY(parse_number(spec, &p, &v));
        if (!(v >= info->lo[*nargs] && v <= info->hi[*nargs]))
            return sl__fail(SL_ERR_ARG, "augment spec '%s': %s argument %d is %g; expected %g to %g", spec, info->name,
                            *nargs + 1, v, (double)info->lo[*nargs], (double)info->hi[*nargs]);
        o->a[(*nargs)++] = (float)v;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == ')') {
            *pp = p + 1;
            return SL_OK;
        }
        return sl__fail(SL_ERR_ARG, "augment spec '%s': position %zu: expected ',' or ')'", spec, (size_t)(p - spec));
    }
}

/* One op at *pp (its name len characters long): name, arguments and an
 * optional "@probability", appended to a's pipeline. */
static sl_status parse_op(const char *spec, const char **pp, size_t len, sl_augment *a) {
    const char *p = *pp;
    const op_info *info = NULL;
    for (size_t k = 0; k < N_OPS; k++)
        if (strlen(op_table[k].name) == len && strncmp(p, op_table[k].name, len) == 0) info = &op_table[k];
    if (!info) {
        char names[128];
        preset_names(names, sizeof names);
        return sl__fail(SL_ERR_ARG,
                        "augment spec '%s': position %zu: unknown op '%.*s' (expected crop, flip, jitter, gray, "
                        "blur, noise, rotate, translate, cutout, permute-channels, keep=..., or a preset: %s)",
                        spec, (size_t)(p - spec), (int)(len ? len : 1), p, names);
    }
    if (a->n == MAX_PIPE) return sl__fail(SL_ERR_ARG, "augment spec '%s': more than %d ops", spec, MAX_PIPE);
    op *o = &a->ops[a->n++];
    o->kind = info->kind;
    o->p = info->prob;
    memcpy(o->a, info->def, sizeof o->a);
    p = skip_ws(p + len);
    int nargs;
    SL__TRY(parse_op_args(spec, &p, info, o, &nargs));
    if (nargs < info->min_args)
        return sl__fail(SL_ERR_ARG, "augment spec '%s': %s needs at least %d argument%s", spec, info->name,
                        info->min_args, info->min_args == 1 ? "" : "s");
    if (o->kind == OP_CROP && o->a[0] > o->a[1])
        return sl__fail(SL_ERR_ARG, "augment spec '%s': crop(%g,%g): the smallest scale is above the largest", spec,
                        (double)o->a[0], (double)o->a[1]);
    /* gray(p) is a probability; the op itself always converts. */
    if (o->kind == OP_GRAY) o->p = o->a[0];
    p = skip_ws(p);
    if (*p == '@') {
        p++;
        double v;
        SL__TRY(parse_number(spec, &p, &v));
        if (!(v >= 0 && v <= 1))
            return sl__fail(SL_ERR_ARG, "augment spec '%s': probability %g is outside [0, 1]", spec, v);
        o->p = v;
    }
    *pp = p;
    return SL_OK;
}

sl_status sl_augment_create(const char *spec_in, sl_augment **out) {
    if (!spec_in || !out) return sl__fail(SL_ERR_ARG, "augment: no spec");
    const char *preset = sl_augment_preset(spec_in);
    const char *spec = preset ? preset : spec_in;
    sl_augment *a = sl__calloc(1, sizeof *a);
    if (!a) return sl__fail(SL_ERR_NOMEM, "out of memory");
    const char *p = skip_ws(spec);
    sl_status s = SL_OK;
    while (*p && !s) {
        size_t len = 0;
        while (p[len] && (isalnum((unsigned char)p[len]) || p[len] == '-' || p[len] == '_')) len++;
        if (len == 4 && strncmp(p, "keep", 4) == 0 && (p[4] == '=' || p[4] == '('))
            s = parse_keep_op(spec, &p, a);
        else
            s = parse_op(spec, &p, len, a);
        if (s) break;
        p = skip_ws(p);
        if (*p == ',') {
            p = skip_ws(p + 1);
            if (!*p) s = sl__fail(SL_ERR_ARG, "augment spec '%s': trailing ','", spec);
        } else if (*p) {
            s = sl__fail(SL_ERR_ARG, "augment spec '%s': position %zu: expected ',' between ops", spec,
                         (size_t)(p - spec));
        }
    }
    if (s) {
        sl__free(a);
        return s;
    }
    *out = a;
    return SL_OK;
}

void sl_augment_destroy(sl_augment *a) { sl__free(a); }
bool sl_augment_resamples(const sl_augment *a) { return a && a->has_keep; }

size_t sl_augment_scratch_size(const sl_augment *a, int c, int h, int w) {
    (void)a;
    return (size_t)c * h * w + (size_t)(h > w ? h : w) * 4 + 256;
}

/* ---- the ops -------------------------------------------------------------*/

static inline float clamp01(float v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

/* Random resized crop: a window of area fraction s and aspect ratio r,
 * inside the image, resampled bilinearly to the full size. The window is
 * axis-aligned, so the interpolation is separable: per-column and per-row
 * source positions are computed once. */
static void op_crop(const op *o, float *x, int c, int h, int w, sl_rng *r, float *scr) {
    float s = sl_rng_range(r, o->a[0], o->a[1]);
    float logr = sl_rng_range(r, logf(3.0f / 4.0f), logf(4.0f / 3.0f));
    float ar = expf(logr);
    float cw = fminf(sqrtf(s * ar), 1.0f), ch = fminf(sqrtf(s / ar), 1.0f);
    float ox = sl_rng_uniform(r) * (1.0f - cw), oy = sl_rng_uniform(r) * (1.0f - ch);
    int *xi = (int *)(scr + (size_t)c * h * w);
    float *xf = (float *)(xi + w);
    int *yi = (int *)(xf + w);
    float *yf = (float *)(yi + h);
    for (int j = 0; j < w; j++) {
        float sx = (ox + (j + 0.5f) / w * cw) * w - 0.5f;
        sx = sx < 0 ? 0 : sx > w - 1 ? (float)(w - 1) : sx;
        int i0 = (int)sx;
        if (i0 > w - 2) i0 = w > 1 ? w - 2 : 0;
        xi[j] = i0;
        xf[j] = w > 1 ? sx - i0 : 0;
    }
    for (int i = 0; i < h; i++) {
        float sy = (oy + (i + 0.5f) / h * ch) * h - 0.5f;
        sy = sy < 0 ? 0 : sy > h - 1 ? (float)(h - 1) : sy;
        int i0 = (int)sy;
        if (i0 > h - 2) i0 = h > 1 ? h - 2 : 0;
        yi[i] = i0;
        yf[i] = h > 1 ? sy - i0 : 0;
    }
    int dx = w > 1 ? 1 : 0;
    size_t dy = h > 1 ? (size_t)w : 0;
    for (int k = 0; k < c; k++) {
        const float *src = x + (size_t)k * h * w;
        float *dst = scr + (size_t)k * h * w;
        for (int i = 0; i < h; i++) {
            const float *r0 = src + (size_t)yi[i] * w, *r1 = r0 + dy;
            float fy = yf[i];
            for (int j = 0; j < w; j++) {
                int q = xi[j];
                float fx = xf[j];
                float top = r0[q] + fx * (r0[q + dx] - r0[q]);
                float bot = r1[q] + fx * (r1[q + dx] - r1[q]);
                dst[(size_t)i * w + j] = top + fy * (bot - top);
            }
        }
    }
    memcpy(x, scr, (size_t)c * h * w * sizeof *x);
}

static void op_flip(float *x, int c, int h, int w) {
    for (int k = 0; k < c; k++)
        for (int i = 0; i < h; i++) {
            float *row = x + ((size_t)k * h + i) * w;
            for (int a = 0, b = w - 1; a < b; a++, b--) {
                float t = row[a];
                row[a] = row[b];
                row[b] = t;
            }
        }
}

static void op_jitter(const op *o, float *x, int c, int h, int w, sl_rng *r) {
    size_t plane = (size_t)h * w;
    float fb = sl_rng_range(r, 1 - o->a[0], 1 + o->a[0]);
    float fc = sl_rng_range(r, 1 - o->a[1], 1 + o->a[1]);
    float fs = sl_rng_range(r, 1 - o->a[2], 1 + o->a[2]);
    float hue = sl_rng_range(r, -o->a[3], o->a[3]);
    if (o->a[0] > 0)
        for (size_t p = 0; p < plane * (size_t)c; p++) x[p] = clamp01(x[p] * fb);
    if (o->a[1] > 0) {
        /* Contrast blends with the mean gray level, as photographers mean it. */
        double m = 0;
        if (c == 3)
            for (size_t p = 0; p < plane; p++) m += 0.299 * x[p] + 0.587 * x[plane + p] + 0.114 * x[2 * plane + p];
        else
            for (size_t p = 0; p < plane; p++) m += x[p];
        float mean = (float)(m / (double)plane);
        for (size_t p = 0; p < plane * (size_t)c; p++) x[p] = clamp01(mean + fc * (x[p] - mean));
    }
    if (c != 3) return;
    float *R = x, *G = x + plane, *B = x + 2 * plane;
    if (o->a[2] > 0)
        for (size_t p = 0; p < plane; p++) {
            float g = 0.299f * R[p] + 0.587f * G[p] + 0.114f * B[p];
            R[p] = clamp01(g + fs * (R[p] - g));
            G[p] = clamp01(g + fs * (G[p] - g));
            B[p] = clamp01(g + fs * (B[p] - g));
        }
    if (o->a[3] > 0) {
        /* Hue as a rotation of the chroma plane in YIQ space: cheap, and it
         * leaves the luma unchanged. */
        float th = hue * 6.2831853f, cs = cosf(th), sn = sinf(th);
        for (size_t p = 0; p < plane; p++) {
            float Y = 0.299f * R[p] + 0.587f * G[p] + 0.114f * B[p];
            float I = 0.596f * R[p] - 0.274f * G[p] - 0.322f * B[p];
            float Q = 0.211f * R[p] - 0.523f * G[p] + 0.312f * B[p];
            float I2 = cs * I - sn * Q, Q2 = sn * I + cs * Q;
            R[p] = clamp01(Y + 0.956f * I2 + 0.621f * Q2);
            G[p] = clamp01(Y - 0.272f * I2 - 0.647f * Q2);
            B[p] = clamp01(Y - 1.106f * I2 + 1.703f * Q2);
        }
    }
}

static void op_gray(float *x, int c, int h, int w) {
    if (c != 3) return;
    size_t plane = (size_t)h * w;
    for (size_t p = 0; p < plane; p++) {
        float g = 0.299f * x[p] + 0.587f * x[plane + p] + 0.114f * x[2 * plane + p];
        x[p] = x[plane + p] = x[2 * plane + p] = g;
    }
}

/* One pass of the separable blur over an h x w plane, along its rows or
 * (cols) its columns: each value becomes the kernel-weighted sum of the
 * 2 rad + 1 values around it in that direction, the border value repeated
 * past the edges. */
static void blur_pass(float *dst, const float *src, int h, int w, const float *ker, int rad, bool cols) {
    const int len = cols ? h : w;
    const size_t step = cols ? (size_t)w : 1;
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            const float *line = cols ? src + j : src + (size_t)i * w;
            int at = cols ? i : j;
            float acc = 0;
            for (int t = -rad; t <= rad; t++) {
                int q = at + t;
                q = q < 0 ? 0 : q >= len ? len - 1 : q;
                acc += ker[t + rad] * line[(size_t)q * step];
            }
            dst[(size_t)i * w + j] = acc;
        }
}

static void op_blur(const op *o, float *x, int c, int h, int w, sl_rng *r, float *scr) {
    float sigma = sl_rng_range(r, 0.1f, o->a[0] > 0.1f ? o->a[0] : 0.1f);
    int rad = (int)ceilf(3 * sigma);
    if (rad > 60) rad = 60;
    float *ker = scr + (size_t)c * h * w;
    float sum = 0;
    for (int t = -rad; t <= rad; t++) sum += ker[t + rad] = expf(-0.5f * (float)(t * t) / (sigma * sigma));
    for (int t = 0; t <= 2 * rad; t++) ker[t] /= sum;
    /* Separable: rows into scratch, then columns back; edges repeat the
     * border pixel so the blur does not darken the frame. */
    for (int k = 0; k < c; k++) {
        float *src = x + (size_t)k * h * w, *tmp = scr + (size_t)k * h * w;
        blur_pass(tmp, src, h, w, ker, rad, false);
        blur_pass(src, tmp, h, w, ker, rad, true);
    }
}

static void op_noise(const op *o, float *x, size_t n, sl_rng *r) {
    for (size_t p = 0; p < n; p++) x[p] = clamp01(x[p] + o->a[0] * (float)sl_rng_normal(r));
}

static void op_rotate(const op *o, float *x, int c, int h, int w, sl_rng *r, float *scr) {
    float th = sl_rng_range(r, -o->a[0], o->a[0]) * 0.017453293f;
    float cs = cosf(th), sn = sinf(th), cx = (w - 1) * 0.5f, cy = (h - 1) * 0.5f;
    size_t plane = (size_t)h * w;
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            /* Inverse mapping: where in the input this output pixel comes from. */
            float u = j - cx, v = i - cy;
            float sx = cs * u + sn * v + cx, sy = -sn * u + cs * v + cy;
            int x0 = (int)floorf(sx), y0 = (int)floorf(sy);
            float fx = sx - x0, fy = sy - y0;
            for (int k = 0; k < c; k++) {
                const float *src = x + (size_t)k * plane;
                float acc = 0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) {
                        int yy = y0 + dy, xx = x0 + dx;
                        if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                        acc += (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy) * src[(size_t)yy * w + xx];
                    }
                scr[(size_t)k * plane + (size_t)i * w + j] = acc;
            }
        }
    memcpy(x, scr, (size_t)c * plane * sizeof *x);
}

static void op_translate(const op *o, float *x, int c, int h, int w, sl_rng *r, float *scr) {
    int m = (int)o->a[0];
    int dx = (int)sl_rng_below(r, (uint64_t)(2 * m + 1)) - m, dy = (int)sl_rng_below(r, (uint64_t)(2 * m + 1)) - m;
    size_t plane = (size_t)h * w;
    for (int k = 0; k < c; k++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                int si = i - dy, sj = j - dx;
                scr[k * plane + (size_t)i * w + j] =
                    si >= 0 && si < h && sj >= 0 && sj < w ? x[k * plane + (size_t)si * w + sj] : 0.0f;
            }
    memcpy(x, scr, (size_t)c * plane * sizeof *x);
}

static void op_cutout(const op *o, float *x, int c, int h, int w, sl_rng *r) {
    int s = (int)o->a[0];
    int ci = (int)sl_rng_below(r, (uint64_t)h), cj = (int)sl_rng_below(r, (uint64_t)w);
    int i0 = ci - s / 2, j0 = cj - s / 2;
    for (int k = 0; k < c; k++)
        for (int i = i0 < 0 ? 0 : i0; i < i0 + s && i < h; i++)
            for (int j = j0 < 0 ? 0 : j0; j < j0 + s && j < w; j++) x[((size_t)k * h + i) * w + j] = 0;
}

static void op_permute(float *x, int c, int h, int w, sl_rng *r, float *scr) {
    int perm[8];
    if (c > 8) return;
    for (int k = 0; k < c; k++) perm[k] = k;
    sl_rng_shuffle(r, perm, (size_t)c, sizeof perm[0]);
    size_t plane = (size_t)h * w;
    memcpy(scr, x, (size_t)c * plane * sizeof *x);
    for (int k = 0; k < c; k++) memcpy(x + (size_t)k * plane, scr + (size_t)perm[k] * plane, plane * sizeof *x);
}

sl_status sl_augment_apply(const sl_augment *a, float *x, int c, int h, int w, sl_rng *r, float *scratch) {
    if (a->has_keep)
        return sl__fail(SL_ERR_ARG, "augment: keep=... re-renders a shapes item and needs the dataset (sl_augment_item)");
    if (c <= 0 || h <= 0 || w <= 0) return sl__fail(SL_ERR_ARG, "augment: bad image size %dx%dx%d", c, h, w);
    for (int k = 0; k < a->n; k++) {
        const op *o = &a->ops[k];
        if (o->p < 1 && !sl_rng_bernoulli(r, o->p)) continue;
        switch (o->kind) {
        case OP_CROP: op_crop(o, x, c, h, w, r, scratch); break;
        case OP_FLIP: op_flip(x, c, h, w); break;
        case OP_JITTER: op_jitter(o, x, c, h, w, r); break;
        case OP_GRAY: op_gray(x, c, h, w); break;
        case OP_BLUR: op_blur(o, x, c, h, w, r, scratch); break;
        case OP_NOISE: op_noise(o, x, (size_t)c * h * w, r); break;
        case OP_ROTATE: op_rotate(o, x, c, h, w, r, scratch); break;
        case OP_TRANSLATE: op_translate(o, x, c, h, w, r, scratch); break;
        case OP_CUTOUT: op_cutout(o, x, c, h, w, r); break;
        case OP_PERMUTE: op_permute(x, c, h, w, r, scratch); break;
        }
    }
    return SL_OK;
}

sl_status sl_augment_item(const sl_augment *a, const sl_dataset *d, size_t i, sl_rng *r, float *x, float *scratch) {
    if (a && a->has_keep) {
        if (d->kind != SL_DATA_SHAPES)
            return sl__fail(SL_ERR_ARG,
                            "augment: keep=... (attribute resampling) works on the shapes dataset only, not on %s",
                            d->name);
        sl_shapes_item it;
        SL__TRY(sl_shapes_item_of(d, i, &it));
        sl_shapes_resample(d, &it, a->keep, r);
        sl_shapes_render(d, &it, x);
    } else {
        SL__TRY(sl_data_get(d, i, x, NULL, NULL));
    }
    if (!a || a->n == 0) return SL_OK;
    sl_augment tmp = *a;
    tmp.has_keep = false;
    return sl_augment_apply(&tmp, x, d->c, d->h, d->w, r, scratch);
}

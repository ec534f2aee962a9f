/* Image grids: rows of tiles (a query, then its neighbours) scaled up, with a
 * text label under each, drawn into an RGB buffer with a built-in 5x7 bitmap
 * font (printable ASCII), so a PNG of the grid needs no font library; and
 * contact sheets of dataset items and their views, captioned in a compact
 * 3x5 font. */
#include "viz/viz_internal.h"

#include <math.h>
#include <string.h>

/* Glyphs for ' ' .. '~': 7 rows of 5 bits, bit 4 the leftmost column. */
static const uint8_t font5x7[95][7] = {
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, /* ' ' */
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04}, /* '!' */
    {0x0a, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00}, /* '"' */
    {0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a}, /* '#' */
    {0x04, 0x0f, 0x14, 0x0e, 0x05, 0x1e, 0x04}, /* '$' */
    {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}, /* '%' */
    {0x0c, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0d}, /* '&' */
    {0x04, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00}, /* quote */
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}, /* '(' */
    {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}, /* ')' */
    {0x00, 0x04, 0x15, 0x0e, 0x15, 0x04, 0x00}, /* '*' */
    {0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00}, /* '+' */
    {0x00, 0x00, 0x00, 0x00, 0x0c, 0x04, 0x08}, /* ',' */
    {0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00}, /* '-' */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c}, /* '.' */
    {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}, /* '/' */
    {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}, /* '0' */
    {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e}, /* '1' */
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}, /* '2' */
    {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e}, /* '3' */
    {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}, /* '4' */
    {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e}, /* '5' */
    {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}, /* '6' */
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}, /* '7' */
    {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}, /* '8' */
    {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c}, /* '9' */
    {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00}, /* ':' */
    {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x04, 0x08}, /* ';' */
    {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02}, /* '<' */
    {0x00, 0x00, 0x1f, 0x00, 0x1f, 0x00, 0x00}, /* '=' */
    {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}, /* '>' */
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04}, /* '?' */
    {0x0e, 0x11, 0x01, 0x0d, 0x15, 0x15, 0x0e}, /* '@' */
    {0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}, /* 'A' */
    {0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e}, /* 'B' */
    {0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e}, /* 'C' */
    {0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c}, /* 'D' */
    {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f}, /* 'E' */
    {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10}, /* 'F' */
    {0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f}, /* 'G' */
    {0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}, /* 'H' */
    {0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e}, /* 'I' */
    {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c}, /* 'J' */
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, /* 'K' */
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f}, /* 'L' */
    {0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11}, /* 'M' */
    {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}, /* 'N' */
    {0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e}, /* 'O' */
    {0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10}, /* 'P' */
    {0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d}, /* 'Q' */
    {0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11}, /* 'R' */
    {0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e}, /* 'S' */
    {0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, /* 'T' */
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e}, /* 'U' */
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04}, /* 'V' */
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a}, /* 'W' */
    {0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11}, /* 'X' */
    {0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x04}, /* 'Y' */
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f}, /* 'Z' */
    {0x0e, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0e}, /* '[' */
    {0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00}, /* backslash */
    {0x0e, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0e}, /* ']' */
    {0x04, 0x0a, 0x11, 0x00, 0x00, 0x00, 0x00}, /* '^' */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f}, /* '_' */
    {0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00}, /* '`' */
    {0x00, 0x00, 0x0e, 0x01, 0x0f, 0x11, 0x0f}, /* 'a' */
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1e}, /* 'b' */
    {0x00, 0x00, 0x0e, 0x10, 0x10, 0x11, 0x0e}, /* 'c' */
    {0x01, 0x01, 0x0d, 0x13, 0x11, 0x11, 0x0f}, /* 'd' */
    {0x00, 0x00, 0x0e, 0x11, 0x1f, 0x10, 0x0e}, /* 'e' */
    {0x06, 0x09, 0x08, 0x1c, 0x08, 0x08, 0x08}, /* 'f' */
    {0x00, 0x0f, 0x11, 0x11, 0x0f, 0x01, 0x0e}, /* 'g' */
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11}, /* 'h' */
    {0x04, 0x00, 0x0c, 0x04, 0x04, 0x04, 0x0e}, /* 'i' */
    {0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0c}, /* 'j' */
    {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12}, /* 'k' */
    {0x0c, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e}, /* 'l' */
    {0x00, 0x00, 0x1a, 0x15, 0x15, 0x11, 0x11}, /* 'm' */
    {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11}, /* 'n' */
    {0x00, 0x00, 0x0e, 0x11, 0x11, 0x11, 0x0e}, /* 'o' */
    {0x00, 0x00, 0x1e, 0x11, 0x1e, 0x10, 0x10}, /* 'p' */
    {0x00, 0x00, 0x0d, 0x13, 0x0f, 0x01, 0x01}, /* 'q' */
    {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10}, /* 'r' */
    {0x00, 0x00, 0x0e, 0x10, 0x0e, 0x01, 0x1e}, /* 's' */
    {0x08, 0x08, 0x1c, 0x08, 0x08, 0x09, 0x06}, /* 't' */
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0d}, /* 'u' */
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x0a, 0x04}, /* 'v' */
    {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0a}, /* 'w' */
    {0x00, 0x00, 0x11, 0x0a, 0x04, 0x0a, 0x11}, /* 'x' */
    {0x00, 0x00, 0x11, 0x11, 0x0f, 0x01, 0x0e}, /* 'y' */
    {0x00, 0x00, 0x1f, 0x02, 0x04, 0x08, 0x1f}, /* 'z' */
    {0x02, 0x04, 0x04, 0x08, 0x04, 0x04, 0x02}, /* '{' */
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, /* '|' */
    {0x08, 0x04, 0x04, 0x02, 0x04, 0x04, 0x08}, /* '}' */
    {0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00}, /* '~' */
};

/* Capitals, digits and a little punctuation in 3x5: 5 rows of 3 bits, bit 2
 * the leftmost column. Enough to name a class under a 28-pixel tile. */
static const struct {
    char c;
    uint8_t rows[5];
} font3x5[] = {
    {'A', {2, 5, 7, 5, 5}}, {'B', {6, 5, 6, 5, 6}}, {'C', {3, 4, 4, 4, 3}}, {'D', {6, 5, 5, 5, 6}},
    {'E', {7, 4, 6, 4, 7}}, {'F', {7, 4, 6, 4, 4}}, {'G', {3, 4, 5, 5, 3}}, {'H', {5, 5, 7, 5, 5}},
    {'I', {7, 2, 2, 2, 7}}, {'J', {1, 1, 1, 5, 2}}, {'K', {5, 5, 6, 5, 5}}, {'L', {4, 4, 4, 4, 7}},
    {'M', {5, 7, 7, 5, 5}}, {'N', {6, 5, 5, 5, 5}}, {'O', {2, 5, 5, 5, 2}}, {'P', {6, 5, 6, 4, 4}},
    {'Q', {2, 5, 5, 6, 3}}, {'R', {6, 5, 6, 5, 5}}, {'S', {3, 4, 2, 1, 6}}, {'T', {7, 2, 2, 2, 2}},
    {'U', {5, 5, 5, 5, 7}}, {'V', {5, 5, 5, 5, 2}}, {'W', {5, 5, 7, 7, 5}}, {'X', {5, 5, 2, 5, 5}},
    {'Y', {5, 5, 2, 2, 2}}, {'Z', {7, 1, 2, 4, 7}}, {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}},
    {'2', {6, 1, 2, 4, 7}}, {'3', {6, 1, 2, 1, 6}}, {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 6, 1, 6}},
    {'6', {3, 4, 7, 5, 7}}, {'7', {7, 1, 2, 2, 2}}, {'8', {7, 5, 7, 5, 7}}, {'9', {7, 5, 7, 1, 6}},
    {'-', {0, 0, 7, 0, 0}}, {'/', {1, 1, 2, 4, 4}}, {'.', {0, 0, 0, 0, 2}}, {'+', {0, 2, 7, 2, 0}},
};

/* A bitmap font: glyphs of w x h pixels as rows of bits (bit w - 1 the
 * leftmost column), `advance` columns from one character to the next. */
typedef struct {
    int w, h, advance;
    const uint8_t *(*glyph)(unsigned char c); /* NULL: a blank (the pen still moves) */
} font;

static const uint8_t *glyph5x7(unsigned char c) { return font5x7[(c >= 32 && c < 127 ? c : '?') - 32]; }

static const uint8_t *glyph3x5(unsigned char c) {
    if (c >= 'a' && c <= 'z') c = (unsigned char)(c - 'a' + 'A');
    for (size_t i = 0; i < sizeof font3x5 / sizeof font3x5[0]; i++)
        if ((unsigned char)font3x5[i].c == c) return font3x5[i].rows;
    return NULL;
}

static const font FONT_5X7 = {5, 7, 6, glyph5x7}, FONT_3X5 = {3, 5, 4, glyph3x5};

/* Draw text from (x, y) on, each font pixel scale x scale, clipped to the
 * buffer; with max_w >= 0 it stops before the first character that would
 * reach past x + max_w. Returns the width the text took. */
static int draw_string(uint8_t *rgb, int width, int height, int x, int y, const char *text, const font *f, int scale,
                       int max_w, const uint8_t color[3]) {
    int cx = x;
    for (const char *p = text; *p; p++, cx += f->advance * scale) {
        if (max_w >= 0 && cx + f->w * scale > x + max_w) break;
        const uint8_t *g = f->glyph((unsigned char)*p);
        for (int r = 0; g && r < f->h; r++)
            for (int col = 0; col < f->w; col++) {
                if (!(g[r] >> (f->w - 1 - col) & 1)) continue;
                for (int dy = 0; dy < scale; dy++)
                    for (int dx = 0; dx < scale; dx++) {
                        int X = cx + col * scale + dx, Y = y + r * scale + dy;
                        if (X < 0 || Y < 0 || X >= width || Y >= height) continue;
                        uint8_t *px = rgb + ((size_t)Y * (size_t)width + (size_t)X) * 3;
                        px[0] = color[0], px[1] = color[1], px[2] = color[2];
                    }
            }
    }
    return cx > x ? cx - x - (f->advance - f->w) * scale : 0;
}

#define GLYPH_W 6 /* 5 columns and a space */
#define GLYPH_H 7

int sl_text_width(const char *text, int scale) {
    if (!text || scale < 1) return 0;
    size_t n = strlen(text);
    return n ? (int)n * GLYPH_W * scale - scale : 0;
}

int sl_text_draw(uint8_t *rgb, int width, int height, int x, int y, const char *text, int scale,
                 const uint8_t color[3]) {
    if (!text || scale < 1) return 0;
    return draw_string(rgb, width, height, x, y, text, &FONT_5X7, scale, -1, color);
}

/* Copy a tile (th x tw x channels, 1 or 3 channels) scaled up by `scale`
 * into the RGB buffer of width W at (x0, y0); the tile must fit. */
static void blit(uint8_t *rgb, int W, int x0, int y0, const uint8_t *pixels, int tw, int th, int channels, int scale) {
    int cw = tw * scale, ch = th * scale;
    for (int y = 0; y < ch; y++) {
        const uint8_t *src = pixels + (size_t)(y / scale) * (size_t)tw * (size_t)channels;
        uint8_t *dst = rgb + ((size_t)(y0 + y) * (size_t)W + (size_t)x0) * 3;
        for (int x = 0; x < cw; x++) {
            const uint8_t *p = src + (size_t)(x / scale) * (size_t)channels;
            dst[3 * x] = p[0];
            dst[3 * x + 1] = p[channels == 3 ? 1 : 0];
            dst[3 * x + 2] = p[channels == 3 ? 2 : 0];
        }
    }
}

static void fill_rect(uint8_t *rgb, int W, int H, int x, int y, int w, int h, const uint8_t c[3]) {
    for (int Y = y; Y < y + h; Y++)
        for (int X = x; X < x + w; X++) {
            if (X < 0 || Y < 0 || X >= W || Y >= H) continue;
            uint8_t *p = rgb + ((size_t)Y * (size_t)W + (size_t)X) * 3;
            p[0] = c[0], p[1] = c[1], p[2] = c[2];
        }
}

void sl_grid_config_default(sl_grid_config *c) {
    memset(c, 0, sizeof *c);
    c->scale = 2;
    c->font_scale = 1;
}

sl_status sl_grid_render(const sl_grid_tile *tiles, size_t rows, size_t cols, const sl_grid_config *cfg,
                         uint8_t **rgb_out, int *width, int *height) {
    int scale = cfg && cfg->scale > 0 ? cfg->scale : 2, fs = cfg && cfg->font_scale > 0 ? cfg->font_scale : 1;
    const char *title = cfg ? cfg->title : NULL;
    if (!tiles || rows == 0 || cols == 0) return sl__fail(SL_ERR_ARG, "image grid: no tiles");
    if (rows > 10000 || cols > 10000 || scale > 64 || fs > 16)
        return sl__fail(SL_ERR_ARG, "image grid: %zu x %zu tiles at scale %d is too large", rows, cols, scale);
    int tw = 0, th = 0;
    for (size_t i = 0; i < rows * cols; i++) {
        const sl_grid_tile *t = &tiles[i];
        if (!t->pixels) continue;
        if (t->width <= 0 || t->height <= 0 || t->width > 4096 || t->height > 4096 ||
            (t->channels != 1 && t->channels != 3))
            return sl__fail(SL_ERR_ARG, "image grid: tile %zu is %d x %d x %d (expected 1 or 3 channels, sides up to 4096)",
                            i, t->width, t->height, t->channels);
        if (!tw) tw = t->width, th = t->height;
        if (t->width != tw || t->height != th)
            return sl__fail(SL_ERR_ARG, "image grid: tile %zu is %d x %d, the first tile %d x %d", i, t->width,
                            t->height, tw, th);
    }
    if (!tw) return sl__fail(SL_ERR_ARG, "image grid: every tile is empty");
    int cw = tw * scale, ch = th * scale; /* drawn tile size */
    int pad = 6, gap = cols > 1 ? 14 : 0, label_h = GLYPH_H * fs + 6;
    int title_h = title ? GLYPH_H * (fs + 1) + 12 : 0;
    long W = 2L * pad + (long)cols * cw + (long)(cols - 1) * pad + gap;
    long H = (long)pad + title_h + (long)rows * (ch + label_h + pad);
    if (title && sl_text_width(title, fs + 1) + 2L * pad > W) W = sl_text_width(title, fs + 1) + 2L * pad; /* room for the title */
    if (W * H > 400L * 1000 * 1000) return sl__fail(SL_ERR_ARG, "image grid: %ld x %ld pixels is too large", W, H);
    uint8_t *rgb = sl__malloc_array((size_t)(W * H), 3, "image grid");
    if (!rgb) return SL_ERR_NOMEM;
    memset(rgb, 255, (size_t)(W * H) * 3);
    const uint8_t ink[3] = {40, 40, 40}, frame[3] = {44, 160, 44}, empty[3] = {235, 235, 235}, sep[3] = {190, 190, 190};
    if (title) sl_text_draw(rgb, (int)W, (int)H, pad, pad + 4, title, fs + 1, ink);
    if (gap) fill_rect(rgb, (int)W, (int)H, pad + cw + pad / 2 + gap / 2 - 1, pad + title_h, 2, (int)H - pad - title_h - pad, sep);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            const sl_grid_tile *t = &tiles[r * cols + c];
            int x0 = pad + (int)c * (cw + pad) + (c > 0 ? gap : 0);
            int y0 = pad + title_h + (int)r * (ch + label_h + pad);
            if (!t->pixels) {
                fill_rect(rgb, (int)W, (int)H, x0, y0, cw, ch, empty);
                continue;
            }
            blit(rgb, (int)W, x0, y0, t->pixels, tw, th, t->channels, scale);
            if (t->highlight) {
                fill_rect(rgb, (int)W, (int)H, x0 - 3, y0 - 3, cw + 6, 3, frame);
                fill_rect(rgb, (int)W, (int)H, x0 - 3, y0 + ch, cw + 6, 3, frame);
                fill_rect(rgb, (int)W, (int)H, x0 - 3, y0, 3, ch, frame);
                fill_rect(rgb, (int)W, (int)H, x0 + cw, y0, 3, ch, frame);
            }
            if (t->label && *t->label) {
                /* As many characters as fit under the tile, centred. */
                char buf[256];
                size_t fit = (size_t)((cw + fs) / (GLYPH_W * fs)), n = strlen(t->label);
                if (fit >= sizeof buf) fit = sizeof buf - 1;
                if (n > fit) n = fit;
                memcpy(buf, t->label, n);
                buf[n] = '\0';
                int tx = x0 + (cw - sl_text_width(buf, fs)) / 2;
                sl_text_draw(rgb, (int)W, (int)H, tx, y0 + ch + 4, buf, fs, ink);
            }
        }
    *rgb_out = rgb;
    *width = (int)W;
    *height = (int)H;
    return SL_OK;
}

/* ---- contact sheets ------------------------------------------------------ */

#define SHEET_GAP 6       /* between cells and around the picture */
#define SHEET_TILE_GAP 2  /* between the images of a cell */
#define SHEET_FONT 2      /* caption font scale */
#define SHEET_CAPTION (5 * SHEET_FONT + 6)

struct sl_sheet {
    size_t cells;
    int tiles, tw, th, scale, cols, cellw, cellh, W, H;
    uint8_t *rgb;  /* H x W x 3 */
    uint8_t *tile; /* th x tw x 3: one image in 8 bits */
};

/* A column count near the one that makes the picture about 1.6 times as wide
 * as high, the one among those that leaves the fewest empty cells. */
static int sheet_columns(size_t n, int cellw, int cellh) {
    int cols = (int)ceil(sqrt((double)n * cellh / cellw * 1.6));
    int best = cols;
    for (int k = cols - 2; k <= cols + 2; k++) {
        if (k < 1) continue;
        size_t waste = ((size_t)k - n % (size_t)k) % (size_t)k, bw = ((size_t)best - n % (size_t)best) % (size_t)best;
        if (waste < bw) best = k;
    }
    cols = best < 1 ? 1 : best;
    return (size_t)cols > n ? (int)n : cols;
}

sl_status sl_sheet_create(size_t cells, int tiles, int width, int height, int scale, sl_sheet **out) {
    if (cells == 0 || cells > 1000000 || tiles < 1 || tiles > 64)
        return sl__fail(SL_ERR_ARG, "contact sheet: %zu cells of %d images (expected 1 to 1000000 cells of 1 to 64)",
                        cells, tiles);
    if (width < 1 || height < 1 || width > 4096 || height > 4096 || scale < 0 || scale > 64)
        return sl__fail(SL_ERR_ARG, "contact sheet: images of %d x %d at scale %d (expected sides 1 to 4096, scale 0 to 64)",
                        width, height, scale);
    if (scale == 0) scale = height >= 64 ? 1 : (64 + height - 1) / height;
    long cellw = (long)tiles * width * scale + (tiles - 1) * SHEET_TILE_GAP, cellh = (long)height * scale + SHEET_CAPTION;
    if (cellw > 100000) return sl__fail(SL_ERR_ARG, "contact sheet: cells %ld pixels wide are too wide", cellw);
    int cols = sheet_columns(cells, (int)cellw, (int)cellh);
    size_t rows = (cells + (size_t)cols - 1) / (size_t)cols;
    double W = (double)cols * cellw + (cols + 1) * SHEET_GAP, H = (double)rows * cellh + (double)(rows + 1) * SHEET_GAP;
    if (W * H > 400e6 || H > INT32_MAX)
        return sl__fail(SL_ERR_ARG, "contact sheet: %.0f x %.0f pixels is too large", W, H);
    sl_sheet *s = sl__calloc(1, sizeof *s);
    if (!s) return sl__fail(SL_ERR_NOMEM, "contact sheet: out of memory");
    *s = (sl_sheet){cells, tiles, width, height, scale, cols, (int)cellw, (int)cellh, (int)W, (int)H, NULL, NULL};
    s->rgb = sl__malloc_array((size_t)s->W * (size_t)s->H, 3, "contact sheet");
    s->tile = sl__malloc_array((size_t)width * (size_t)height, 3, "contact sheet");
    if (!s->rgb || !s->tile) {
        sl_sheet_destroy(s);
        return SL_ERR_NOMEM;
    }
    memset(s->rgb, 24, (size_t)s->W * (size_t)s->H * 3);
    *out = s;
    return SL_OK;
}

/* Top-left corner of a cell. */
static void cell_origin(const sl_sheet *s, size_t cell, int *x, int *y) {
    *x = SHEET_GAP + (int)(cell % (size_t)s->cols) * (s->cellw + SHEET_GAP);
    *y = SHEET_GAP + (int)(cell / (size_t)s->cols) * (s->cellh + SHEET_GAP);
}

sl_status sl_sheet_draw(sl_sheet *s, size_t cell, int tile, const float *chw, int channels) {
    if (cell >= s->cells || tile < 0 || tile >= s->tiles || (channels != 1 && channels != 3))
        return sl__fail(SL_ERR_ARG, "contact sheet: image %d of cell %zu with %d channels (%zu cells of %d images, 1 or 3 channels)",
                        tile, cell, channels, s->cells, s->tiles);
    size_t hw = (size_t)s->th * (size_t)s->tw;
    for (size_t p = 0; p < hw; p++)
        for (int k = 0; k < channels; k++) {
            float v = chw[(size_t)k * hw + p];
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            s->tile[p * (size_t)channels + (size_t)k] = (uint8_t)lrintf(v * 255.0f);
        }
    int x, y;
    cell_origin(s, cell, &x, &y);
    blit(s->rgb, s->W, x + tile * (s->tw * s->scale + SHEET_TILE_GAP), y, s->tile, s->tw, s->th, channels, s->scale);
    return SL_OK;
}

void sl_sheet_caption(sl_sheet *s, size_t cell, const char *text) {
    if (cell >= s->cells || !text) return;
    static const uint8_t ink[3] = {230, 230, 230};
    int x, y;
    cell_origin(s, cell, &x, &y);
    draw_string(s->rgb, s->W, s->H, x + 1, y + s->th * s->scale + 4, text, &FONT_3X5, SHEET_FONT, s->cellw - 2, ink);
}

const uint8_t *sl_sheet_rgb(const sl_sheet *s, int *width, int *height) {
    *width = s->W;
    *height = s->H;
    return s->rgb;
}

void sl_sheet_destroy(sl_sheet *s) {
    if (!s) return;
    sl__free(s->rgb);
    sl__free(s->tile);
    sl__free(s);
}

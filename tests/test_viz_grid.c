/* Tests of the image grid and the built-in bitmap font: layout, scaling,
 * labels, highlight frames, gray and RGB tiles, and bad arguments. */
#include "test.h"

static const uint8_t black[3] = {0, 0, 0};

TEST(font_draws_known_glyph_pixels) {
    uint8_t img[20 * 10 * 3];
    memset(img, 255, sizeof img);
    int w = sl_text_draw(img, 20, 10, 1, 1, "T", 1, black);
    ASSERT_EQ_INT(w, 5);
    /* 'T': the top row full, then only the middle column. */
    for (int x = 0; x < 5; x++) ASSERT_EQ_INT(img[(1 * 20 + 1 + x) * 3], 0);
    for (int y = 2; y < 8; y++)
        for (int x = 0; x < 5; x++) ASSERT_EQ_INT(img[(y * 20 + 1 + x) * 3], x == 2 ? 0 : 255);
    ASSERT_EQ_INT(sl_text_width("T", 1), 5);
    ASSERT_EQ_INT(sl_text_width("Tab", 2), 34);
    ASSERT_EQ_INT(sl_text_width("", 1), 0);
    /* Clipped drawing and non-ASCII bytes must stay inside the buffer. */
    sl_text_draw(img, 20, 10, -3, 6, "\xc3\xa9~|", 3, black);
}

TEST(every_printable_glyph_has_ink_except_space) {
    for (int c = 33; c < 127; c++) {
        uint8_t img[8 * 9 * 3];
        memset(img, 255, sizeof img);
        char s[2] = {(char)c, 0};
        sl_text_draw(img, 8, 9, 1, 1, s, 1, black);
        int ink = 0;
        for (size_t i = 0; i < sizeof img; i += 3) ink += img[i] == 0;
        if (ink == 0) T_FAIL("glyph '%c' is empty", c);
    }
}

TEST(grid_places_scaled_tiles_labels_and_frames) {
    enum { R = 2, C = 4, S = 8 };
    uint8_t gray[S * S], rgb[S * S * 3];
    for (int i = 0; i < S * S; i++) gray[i] = (uint8_t)(i * 3), rgb[3 * i] = 200, rgb[3 * i + 1] = 10, rgb[3 * i + 2] = (uint8_t)i;
    sl_grid_tile t[R * C];
    memset(t, 0, sizeof t);
    for (int i = 0; i < R * C; i++) {
        t[i].pixels = i % 2 ? rgb : gray;
        t[i].width = t[i].height = S;
        t[i].channels = i % 2 ? 3 : 1;
        t[i].label = i % C == 0 ? "query" : "Coat 0.93";
        t[i].highlight = i == 2;
    }
    t[7].pixels = NULL; /* an empty cell */
    sl_grid_config cfg = {3, 1, "Neighbours"};
    uint8_t *img;
    int W, H;
    ASSERT_OK(sl_grid_render(t, R, C, &cfg, &img, &W, &H));
    /* pad 6, gap 14, tile 24, label 13, title 2*7+12 = 26 */
    ASSERT_EQ_INT(W, 2 * 6 + 4 * 24 + 3 * 6 + 14);
    ASSERT_EQ_INT(H, 6 + 26 + 2 * (24 + 13 + 6));
    /* Tile (row 1, col 0) pixel (5, 2) scaled by 3 is gray value (2*8+5)*3. */
    int x0 = 6, y0 = 6 + 26 + (24 + 13 + 6);
    uint8_t *p = img + ((size_t)(y0 + 2 * 3 + 1) * W + x0 + 5 * 3 + 2) * 3;
    ASSERT_EQ_INT(p[0], (2 * 8 + 5) * 3);
    ASSERT_EQ_INT(p[2], (2 * 8 + 5) * 3);
    /* Tile (0, 1) is RGB, after the gap. */
    int x1 = 6 + 24 + 6 + 14;
    p = img + ((size_t)(6 + 26 + 1) * W + x1 + 1) * 3;
    ASSERT_EQ_INT(p[0], 200);
    ASSERT_EQ_INT(p[1], 10);
    /* The highlighted tile (0, 2) has a green frame just outside it. */
    int x2 = x1 + 24 + 6;
    p = img + ((size_t)(6 + 26 - 2) * W + x2 + 5) * 3;
    ASSERT_EQ_INT(p[0], 44);
    ASSERT_EQ_INT(p[1], 160);
    /* Labels leave ink below the tiles; the title above them. */
    int ink = 0;
    for (int y = 6 + 26 + 24 + 2; y < 6 + 26 + 24 + 13; y++)
        for (int x = 0; x < W; x++) ink += img[((size_t)y * W + x) * 3] < 100;
    ASSERT_TRUE(ink > 50);
    ink = 0;
    for (int y = 0; y < 6 + 26 - 4; y++)
        for (int x = 0; x < W; x++) ink += img[((size_t)y * W + x) * 3] < 100;
    ASSERT_TRUE(ink > 40);
    /* The empty cell is light gray. */
    int x3 = x2 + 24 + 6;
    p = img + ((size_t)(y0 + 10) * W + x3 + 10) * 3;
    ASSERT_EQ_INT(p[0], 235);
    ASSERT_OK(sl_png_write(t_path("grid.png"), img, W, H, 3));
    sl_allocator_free(img);
}

TEST(grid_rejects_bad_tiles) {
    uint8_t a[16], b[25];
    memset(a, 0, sizeof a), memset(b, 0, sizeof b);
    sl_grid_tile t[2] = {{a, 4, 4, 1, NULL, false}, {b, 5, 5, 1, NULL, false}};
    uint8_t *img;
    int W, H;
    ASSERT_FAILS(sl_grid_render(t, 1, 2, NULL, &img, &W, &H), SL_ERR_ARG, "tile 1 is 5 x 5, the first tile 4 x 4");
    t[1] = (sl_grid_tile){a, 4, 4, 2, NULL, false};
    ASSERT_FAILS(sl_grid_render(t, 1, 2, NULL, &img, &W, &H), SL_ERR_ARG, "expected 1 or 3 channels");
    t[0].pixels = t[1].pixels = NULL;
    ASSERT_FAILS(sl_grid_render(t, 1, 2, NULL, &img, &W, &H), SL_ERR_ARG, "every tile is empty");
    ASSERT_FAILS(sl_grid_render(t, 0, 2, NULL, &img, &W, &H), SL_ERR_ARG, "no tiles");
}

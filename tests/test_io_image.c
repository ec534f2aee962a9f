/* Tests of PNG writing and PNG/JPEG reading: round trips, JPEG decoding of a
 * file written with libjpeg, and clear errors for undecodable files. */
#include "test.h"

#include <jpeglib.h>

static void write_jpeg(const char *path, const uint8_t *rgb, int w, int h) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    FILE *f = fopen(path, "wb");
    ASSERT_TRUE(f != NULL);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    fclose(f);
    jpeg_destroy_compress(&c);
}

TEST(png_round_trip_gray_and_rgb) {
    uint8_t g[6 * 5], rgb[6 * 5 * 3];
    for (int i = 0; i < 30; i++) g[i] = (uint8_t)(i * 8);
    for (int i = 0; i < 90; i++) rgb[i] = (uint8_t)(i * 3 + 1);
    ASSERT_OK(sl_png_write(t_path("g.png"), g, 6, 5, 1));
    ASSERT_OK(sl_png_write(t_path("c.png"), rgb, 6, 5, 3));
    uint8_t *px;
    int w, h, c;
    ASSERT_OK(sl_image_read(t_path("g.png"), &px, &w, &h, &c));
    ASSERT_EQ_INT(w, 6);
    ASSERT_EQ_INT(h, 5);
    ASSERT_EQ_INT(c, 1);
    ASSERT_TRUE(memcmp(px, g, sizeof g) == 0);
    sl_allocator_free(px);
    ASSERT_OK(sl_image_read(t_path("c.png"), &px, &w, &h, &c));
    ASSERT_EQ_INT(c, 3);
    ASSERT_TRUE(memcmp(px, rgb, sizeof rgb) == 0);
    sl_allocator_free(px);
}

TEST(png_rgba_reads_as_rgb) {
    uint8_t rgba[2 * 2 * 4] = {255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 10, 20, 30, 255};
    ASSERT_OK(sl_png_write(t_path("a.png"), rgba, 2, 2, 4));
    uint8_t *px;
    int w, h, c;
    ASSERT_OK(sl_image_read(t_path("a.png"), &px, &w, &h, &c));
    ASSERT_EQ_INT(c, 3);
    ASSERT_EQ_INT(px[0], 255);
    ASSERT_EQ_INT(px[4], 255);
    ASSERT_EQ_INT(px[11], 30);
    sl_allocator_free(px);
}

TEST(png_encode_to_memory_has_signature) {
    uint8_t g[16] = {0};
    uint8_t *buf;
    size_t n;
    ASSERT_OK(sl_png_encode(g, 4, 4, 1, &buf, &n));
    ASSERT_TRUE(n > 8);
    ASSERT_TRUE(buf[0] == 0x89 && buf[1] == 'P' && buf[2] == 'N' && buf[3] == 'G');
    sl_allocator_free(buf);
}

TEST(png_bad_arguments) {
    uint8_t g[4] = {0};
    ASSERT_FAILS(sl_png_write(t_path("x.png"), g, 0, 2, 1), SL_ERR_ARG, "out of range");
    ASSERT_FAILS(sl_png_write(t_path("x.png"), g, 2, 2, 2), SL_ERR_ARG, "2 channels");
}

TEST(jpeg_decodes_close_to_the_original) {
    uint8_t rgb[16 * 16 * 3];
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            uint8_t *p = rgb + (i * 16 + j) * 3;
            p[0] = (uint8_t)(i * 16);
            p[1] = (uint8_t)(j * 16);
            p[2] = 128;
        }
    write_jpeg(t_path("a.jpg"), rgb, 16, 16);
    uint8_t *px;
    int w, h, c;
    ASSERT_OK(sl_image_read(t_path("a.jpg"), &px, &w, &h, &c));
    ASSERT_EQ_INT(w, 16);
    ASSERT_EQ_INT(h, 16);
    ASSERT_EQ_INT(c, 3);
    double err = 0;
    for (int i = 0; i < 16 * 16 * 3; i++) err += fabs((double)px[i] - rgb[i]);
    ASSERT_TRUE(err / (16 * 16 * 3) < 8);
    sl_allocator_free(px);
}

TEST(undecodable_images_fail_clearly) {
    t_write_file(t_path("junk.png"), "hello world, not an image", 25);
    uint8_t *px;
    int w, h, c;
    ASSERT_FAILS(sl_image_read(t_path("junk.png"), &px, &w, &h, &c), SL_ERR_FORMAT, "not a PNG or JPEG");
    ASSERT_FAILS(sl_image_read(t_path("missing.png"), &px, &w, &h, &c), SL_ERR_NOTFOUND, "missing.png");
    /* A PNG cut in half. */
    uint8_t g[64 * 64];
    for (int i = 0; i < 64 * 64; i++) g[i] = (uint8_t)(i * 7);
    uint8_t *buf;
    size_t n;
    ASSERT_OK(sl_png_encode(g, 64, 64, 1, &buf, &n));
    t_write_file(t_path("half.png"), buf, n / 2);
    sl_allocator_free(buf);
    ASSERT_FAILS(sl_image_read(t_path("half.png"), &px, &w, &h, &c), SL_ERR_FORMAT, "half.png: cannot decode PNG");
    /* A JPEG header followed by garbage. */
    uint8_t bad[64] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0};
    t_write_file(t_path("bad.jpg"), bad, sizeof bad);
    ASSERT_FAILS(sl_image_read(t_path("bad.jpg"), &px, &w, &h, &c), SL_ERR_FORMAT, "bad.jpg: cannot decode JPEG");
}

/* The data module's reduced-scale JPEG decoding (src/io/image.c). */
sl_status sl__image_read_scaled(const char *path, int min_side, uint8_t **pixels, int *width, int *height,
                                int *channels);

TEST(jpeg_reduced_scale_keeps_min_side) {
    uint8_t *rgb = malloc(64 * 48 * 3);
    for (int i = 0; i < 64 * 48 * 3; i++) rgb[i] = (uint8_t)(i % 3 == 0 ? 200 : 40);
    write_jpeg(t_path("big.jpg"), rgb, 64, 48);
    free(rgb);
    uint8_t *px;
    int w, h, c;
    ASSERT_OK(sl__image_read_scaled(t_path("big.jpg"), 10, &px, &w, &h, &c));
    ASSERT_EQ_INT(w, 16);
    ASSERT_EQ_INT(h, 12);
    ASSERT_NEAR(px[0], 200, 12);
    ASSERT_NEAR(px[1], 40, 12);
    sl_allocator_free(px);
    ASSERT_OK(sl__image_read_scaled(t_path("big.jpg"), 0, &px, &w, &h, &c));
    ASSERT_EQ_INT(w, 64);
    sl_allocator_free(px);
}

/* Found by tests/fuzz/image.c: a progressive JPEG whose header claims
 * 65496 x 65324 pixels made libjpeg allocate its whole-image coefficient
 * buffers (about 12.8 GB) in jpeg_start_decompress, before the size check.
 * The header's size is now checked first. The file is the fuzzer's input
 * (tests/fuzz/corpus/image/oom-progressive-65496x65324.jpg). */
TEST(jpeg_too_large_is_refused_before_decoding) {
    static const uint8_t hdr[] = {
        0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J',  'F',  'I',  'F',  0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
        0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x06, 0x05, 0x04, 0x05, 0x06, 0x04, 0x06,
        0x06, 0x05, 0x06, 0x07, 0x07, 0x06, 0x0a, 0x10, 0x0a, 0x0e, 0x09, 0x11, 0x1d, 0x0a, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x01, 0xb4, 0x18, 0x17, 0x14, 0x16, 0x16, 0x1a, 0x25, 0x25, 0x1f, 0x1a,
        0x1b, 0x23, 0x1c, 0xff, 0x04, 0x00, 0x1f, 0x36, 0x20, 0x2c, 0x20, 0x23, 0x26, 0x27, 0x29, 0x2a,
        0x29, 0x19, 0x1f, 0x2d, 0x30, 0x2d, 0x28, 0x30, 0x25, 0x28, 0x29, 0x28, 0xff, 0xc2, 0x00, 0x11,
        0x08, 0xff, 0xd8, 0xff, 0x2c, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xff,
        0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x10, 0x03, 0x10, 0x00, 0x00, 0x21};
    t_write_file(t_path("big.jpg"), hdr, sizeof hdr);
    uint8_t *px = NULL;
    int w, h, c;
    ASSERT_FAILS(sl_image_read(t_path("big.jpg"), &px, &w, &h, &c), SL_ERR_FORMAT, "65324x65496 is not supported");
    ASSERT_TRUE(px == NULL);
    /* Within the side limit, 30000 x 30000, its coefficients would take
     * about 2.7 GB: libjpeg's memory limit stops it. */
    uint8_t mid[sizeof hdr];
    memcpy(mid, hdr, sizeof hdr);
    size_t sof = 0;
    while (!(mid[sof] == 0xff && mid[sof + 1] == 0xc2)) sof++;
    mid[sof + 5] = 0x75, mid[sof + 6] = 0x30, mid[sof + 7] = 0x75, mid[sof + 8] = 0x30;
    t_write_file(t_path("mid.jpg"), mid, sizeof mid);
    ASSERT_FAILS(sl_image_read(t_path("mid.jpg"), &px, &w, &h, &c), SL_ERR_FORMAT,
                 "mid.jpg: cannot decode JPEG: Backing store not supported");
    ASSERT_TRUE(px == NULL);
}

/* PNG writing (to a file, atomically, or to memory) and PNG/JPEG reading to
 * 8-bit gray or RGB, through libpng's simplified API and libjpeg. Decoders
 * never trust a header: sizes are checked before any buffer is allocated. */
#include "internal.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>

/* Images larger than this many pixels per side are refused; nothing simlearn
 * does needs more, and it stops a forged header from asking for gigabytes. */
#define SL__IMAGE_MAX_SIDE 32768
#define SL__JPEG_MAX_MEMORY (1L << 30)

static sl_status check_args(const uint8_t *pixels, int width, int height, int channels) {
    if (!pixels) return sl__fail(SL_ERR_ARG, "png: no pixel buffer");
    if (width <= 0 || height <= 0 || width > SL__IMAGE_MAX_SIDE || height > SL__IMAGE_MAX_SIDE)
        return sl__fail(SL_ERR_ARG, "png: image size %dx%d is out of range (1..%d per side)", width, height,
                        SL__IMAGE_MAX_SIDE);
    if (channels != 1 && channels != 3 && channels != 4)
        return sl__fail(SL_ERR_ARG, "png: %d channels; expected 1 (gray), 3 (RGB) or 4 (RGBA)", channels);
    return SL_OK;
}

static void fill_image(png_image *im, int width, int height, int channels) {
    memset(im, 0, sizeof *im);
    im->version = PNG_IMAGE_VERSION;
    im->width = (png_uint_32)width;
    im->height = (png_uint_32)height;
    im->format = channels == 1 ? PNG_FORMAT_GRAY : channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
}

sl_status sl_png_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **out,
                        size_t *out_len) {
    SL__TRY(check_args(pixels, width, height, channels));
    if (!out || !out_len) return sl__fail(SL_ERR_ARG, "png: no output pointer");
    png_image im;
    fill_image(&im, width, height, channels);
    png_alloc_size_t size = 0;
    /* The first call measures, the second writes. */
    if (!png_image_write_to_memory(&im, NULL, &size, 0, pixels, 0, NULL)) {
        sl_status s = sl__fail(SL_ERR_IO, "png: encoding failed: %s", im.message);
        png_image_free(&im);
        return s;
    }
    uint8_t *buf = sl__malloc(size ? size : 1);
    if (!buf) return sl__fail(SL_ERR_NOMEM, "png: out of memory for %zu bytes", (size_t)size);
    fill_image(&im, width, height, channels);
    if (!png_image_write_to_memory(&im, buf, &size, 0, pixels, 0, NULL)) {
        sl_status s = sl__fail(SL_ERR_IO, "png: encoding failed: %s", im.message);
        png_image_free(&im);
        sl__free(buf);
        return s;
    }
    *out = buf;
    *out_len = (size_t)size;
    return SL_OK;
}

sl_status sl_png_write(const char *path, const uint8_t *pixels, int width, int height, int channels) {
    uint8_t *buf = NULL;
    size_t len = 0;
    sl_status s = sl_png_encode(pixels, width, height, channels, &buf, &len);
    if (s) return sl__fail_prefix(s, "%s: ", path ? path : "(null)");
    sl_afile *f;
    s = sl_afile_open(path, &f);
    if (s) {
        sl__free(buf);
        return s;
    }
    s = sl_afile_write(f, buf, len);
    sl__free(buf);
    if (s) {
        sl_afile_abort(f);
        return s;
    }
    return sl_afile_commit(f);
}

/* Read a whole file into memory (images are small). */
static sl_status read_all(const char *path, uint8_t **data, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return sl__fail(errno == ENOENT ? SL_ERR_NOTFOUND : SL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return sl__fail(SL_ERR_IO, "%s: not a regular file", path);
    }
    size_t len = (size_t)st.st_size;
    uint8_t *buf = sl__malloc(len ? len : 1);
    if (!buf) {
        fclose(f);
        return sl__fail(SL_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, len);
    }
    if (fread(buf, 1, len, f) != len) {
        fclose(f);
        sl__free(buf);
        return sl__fail(SL_ERR_IO, "%s: read failed", path);
    }
    fclose(f);
    *data = buf;
    *n = len;
    return SL_OK;
}

static sl_status decode_png(const char *path, const uint8_t *data, size_t n, uint8_t **pixels, int *w, int *h,
                            int *c) {
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&im, data, n))
        return sl__fail(SL_ERR_FORMAT, "%s: cannot decode PNG: %s", path, im.message);
    if (im.width == 0 || im.height == 0 || im.width > SL__IMAGE_MAX_SIDE || im.height > SL__IMAGE_MAX_SIDE) {
        png_image_free(&im);
        return sl__fail(SL_ERR_FORMAT, "%s: PNG size %ux%u is out of range", path, (unsigned)im.width,
                        (unsigned)im.height);
    }
    /* Gray stays gray; everything else (palette, alpha) becomes RGB composited
     * on black, which is what a model sees for transparent pixels anyway. */
    int ch = (im.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
    im.format = ch == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    size_t bytes = (size_t)im.width * im.height * (size_t)ch;
    uint8_t *buf = sl__malloc(bytes);
    if (!buf) {
        png_image_free(&im);
        return sl__fail(SL_ERR_NOMEM, "%s: out of memory for a %ux%u image", path, (unsigned)im.width,
                        (unsigned)im.height);
    }
    if (!png_image_finish_read(&im, NULL, buf, 0, NULL)) {
        sl_status s = sl__fail(SL_ERR_FORMAT, "%s: cannot decode PNG: %s", path, im.message);
        png_image_free(&im);
        sl__free(buf);
        return s;
    }
    *pixels = buf;
    *w = (int)im.width;
    *h = (int)im.height;
    *c = ch;
    return SL_OK;
}

/* libjpeg reports fatal errors through error_exit, which must not return:
 * jump back to the decoder with the message kept for our own error. */
typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_error_exit(j_common_ptr cinfo) {
    jpeg_err *e = (jpeg_err *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}
static void jpeg_quiet(j_common_ptr cinfo, int level) {
    (void)cinfo;
    (void)level;
}

static sl_status decode_jpeg(const char *path, const uint8_t *data, size_t n, int min_side, uint8_t **pixels, int *w,
                             int *h, int *c) {
    struct jpeg_decompress_struct cinfo;
    jpeg_err err;
    /* Volatile so its value survives the longjmp. */
    uint8_t *volatile buf = NULL;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_error_exit;
    err.mgr.emit_message = jpeg_quiet;
    err.msg[0] = 0;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        sl__free(buf);
        return sl__fail(SL_ERR_FORMAT, "%s: cannot decode JPEG: %s", path, err.msg);
    }
    jpeg_create_decompress(&cinfo);
    /* libjpeg's own working memory (a progressive image's coefficients take
     * 2 bytes a pixel and component): past this it stops with "Backing store
     * not supported" instead of allocating gigabytes for a small file. */
    cinfo.mem->max_memory_to_use = SL__JPEG_MAX_MEMORY;
    jpeg_mem_src(&cinfo, data, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);
    /* Before jpeg_start_decompress, which allocates for the whole image (a
     * progressive JPEG's coefficients: gigabytes for a header that claims
     * 65000 x 65000). Scaling only shrinks, so the header's size bounds the
     * output's. */
    if (cinfo.image_width == 0 || cinfo.image_height == 0 || cinfo.image_width > SL__IMAGE_MAX_SIDE ||
        cinfo.image_height > SL__IMAGE_MAX_SIDE) {
        unsigned iw = cinfo.image_width, ih = cinfo.image_height;
        jpeg_destroy_decompress(&cinfo);
        return sl__fail(SL_ERR_FORMAT, "%s: JPEG size %ux%u is not supported (at most %d pixels a side)", path, iw, ih,
                        SL__IMAGE_MAX_SIDE);
    }
    cinfo.out_color_space = cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    /* libjpeg decodes at 1/2, 1/4 or 1/8 size almost for free; a caller that
     * will shrink the image anyway asks for the smallest scale that keeps the
     * shorter side at least min_side. */
    if (min_side > 0) {
        unsigned side = cinfo.image_width < cinfo.image_height ? cinfo.image_width : cinfo.image_height;
        unsigned denom = 1;
        while (denom < 8 && side / (denom * 2) >= (unsigned)min_side) denom *= 2;
        cinfo.scale_num = 1;
        cinfo.scale_denom = denom;
    }
    jpeg_start_decompress(&cinfo);
    int ch = cinfo.output_components;
    if (cinfo.output_width == 0 || cinfo.output_height == 0 || cinfo.output_width > SL__IMAGE_MAX_SIDE ||
        cinfo.output_height > SL__IMAGE_MAX_SIDE || (ch != 1 && ch != 3)) {
        jpeg_destroy_decompress(&cinfo);
        return sl__fail(SL_ERR_FORMAT, "%s: JPEG size %ux%u with %d components is not supported", path,
                        (unsigned)cinfo.output_width, (unsigned)cinfo.output_height, ch);
    }
    size_t stride = (size_t)cinfo.output_width * (size_t)ch;
    buf = sl__malloc(stride * cinfo.output_height);
    if (!buf) {
        jpeg_destroy_decompress(&cinfo);
        return sl__fail(SL_ERR_NOMEM, "%s: out of memory for a %ux%u image", path, (unsigned)cinfo.output_width,
                        (unsigned)cinfo.output_height);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = buf + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    *w = (int)cinfo.output_width;
    *h = (int)cinfo.output_height;
    *c = ch;
    jpeg_destroy_decompress(&cinfo);
    *pixels = buf;
    return SL_OK;
}

/* sl_image_read, but a JPEG may be decoded at a reduced scale as long as
 * its shorter side stays >= min_side (0: full size). Used by the data module
 * when it resizes images on loading. */
sl_status sl__image_read_scaled(const char *path, int min_side, uint8_t **pixels, int *width, int *height,
                                int *channels);
sl_status sl__image_read_scaled(const char *path, int min_side, uint8_t **pixels, int *width, int *height,
                                int *channels) {
    if (!path || !pixels || !width || !height || !channels) return sl__fail(SL_ERR_ARG, "image read: NULL argument");
    uint8_t *data = NULL;
    size_t n = 0;
    SL__TRY(read_all(path, &data, &n));
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    uint8_t *px = NULL;
    int w = 0, h = 0, c = 0;
    sl_status s;
    if (n >= 8 && memcmp(data, png_sig, 8) == 0)
        s = decode_png(path, data, n, &px, &w, &h, &c);
    else if (n >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
        s = decode_jpeg(path, data, n, min_side, &px, &w, &h, &c);
    else
        s = sl__fail(SL_ERR_FORMAT, "%s: not a PNG or JPEG file (%zu bytes, unknown magic)", path, n);
    sl__free(data);
    if (s) return s;
    *pixels = px;
    *width = w;
    *height = h;
    *channels = c;
    return SL_OK;
}

sl_status sl_image_read(const char *path, uint8_t **pixels, int *width, int *height, int *channels) {
    return sl__image_read_scaled(path, 0, pixels, width, height, channels);
}

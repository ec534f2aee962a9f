/* IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed, read through
 * zlib; and the IDX dataset source with its train/test files and labels. */
#include "data_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>

/* An upper bound on one IDX file's payload; the largest real ones are a few
 * hundred megabytes, and a forged header must not make us allocate more. */
#define IDX_MAX_BYTES ((size_t)1 << 33)

sl_status sl__idx_read(const char *path, uint8_t **data, int *ndim, size_t dims[3]) {
    gzFile g = gzopen(path, "rb");
    if (!g)
        return sl__fail(errno == ENOENT ? SL_ERR_NOTFOUND : SL_ERR_IO, "%s: cannot open: %s", path,
                        errno ? strerror(errno) : "out of memory");
    unsigned char hdr[4 + 4 * 3];
    int got = gzread(g, hdr, 4);
    sl_status s = SL_OK;
    if (got != 4) {
        int zerr;
        const char *m = gzerror(g, &zerr);
        s = sl__fail(SL_ERR_FORMAT, "%s: truncated IDX header (%d of 4 bytes)%s%s", path, got < 0 ? 0 : got,
                     zerr ? ": " : "", zerr ? m : "");
    } else if (hdr[0] != 0 || hdr[1] != 0) {
        s = sl__fail(SL_ERR_FORMAT, "%s: byte 0: not an IDX file (magic %02x %02x, expected 00 00)", path, hdr[0],
                     hdr[1]);
    } else if (hdr[2] != 0x08) {
        s = sl__fail(SL_ERR_UNSUPPORTED, "%s: byte 2: IDX element type 0x%02x; only unsigned bytes (0x08) are supported",
                     path, hdr[2]);
    } else if (hdr[3] < 1 || hdr[3] > 3) {
        s = sl__fail(SL_ERR_FORMAT, "%s: byte 3: IDX with %d dimensions; expected 1 to 3", path, hdr[3]);
    }
    if (s) {
        gzclose(g);
        return s;
    }
    int nd = hdr[3];
    if (gzread(g, hdr + 4, (unsigned)(4 * nd)) != 4 * nd) {
        gzclose(g);
        return sl__fail(SL_ERR_FORMAT, "%s: truncated IDX header (dimensions missing)", path);
    }
    size_t total = 1;
    for (int k = 0; k < nd; k++) {
        const unsigned char *p = hdr + 4 + 4 * k;
        dims[k] = ((size_t)p[0] << 24) | ((size_t)p[1] << 16) | ((size_t)p[2] << 8) | p[3];
        if (dims[k] == 0 || !sl_size_mul(total, dims[k], &total) || total > IDX_MAX_BYTES) {
            gzclose(g);
            return sl__fail(SL_ERR_FORMAT, "%s: byte %d: IDX dimension %d is %zu, giving an absurd size", path,
                            4 + 4 * k, k, dims[k]);
        }
    }
    /* Grow the buffer as data arrives rather than trusting the header's size. */
    size_t cap = total < ((size_t)1 << 24) ? total : ((size_t)1 << 24), have = 0;
    uint8_t *buf = sl__malloc(cap);
    if (!buf) {
        gzclose(g);
        return sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
    }
    while (have < total) {
        if (have == cap) {
            size_t ncap = cap * 2 < total ? cap * 2 : total;
            uint8_t *nb = sl__realloc(buf, ncap);
            if (!nb) {
                sl__free(buf);
                gzclose(g);
                return sl__fail(SL_ERR_NOMEM, "%s: out of memory for %zu bytes", path, ncap);
            }
            buf = nb;
            cap = ncap;
        }
        size_t want = cap - have;
        if (want > (1u << 30)) want = 1u << 30;
        int r = gzread(g, buf + have, (unsigned)want);
        if (r <= 0) {
            int zerr;
            const char *m = gzerror(g, &zerr);
            /* The message belongs to g: format it before closing. */
            sl_status st = sl__fail(SL_ERR_FORMAT, "%s: truncated IDX data: header promises %zu bytes, got %zu%s%s%s",
                                    path, total, have, zerr ? " (" : "", zerr ? m : "", zerr ? ")" : "");
            sl__free(buf);
            gzclose(g);
            return st;
        }
        have += (size_t)r;
    }
    gzclose(g);
    *data = buf;
    *ndim = nd;
    return SL_OK;
}

static const char *const fashion_names[10] = {"t-shirt/top", "trouser", "pullover", "dress", "coat",
                                              "sandal",      "shirt",   "sneaker",  "bag",   "ankle boot"};
static const char *const digit_names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

static bool exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir/stem or dir/stem.gz, whichever exists (NULL if neither). */
static char *find_in(const char *dir, const char *stem) {
    size_t n = strlen(dir) + strlen(stem) + 8;
    char *p = sl__malloc(n);
    if (!p) return NULL;
    snprintf(p, n, "%s/%s.gz", dir, stem);
    if (exists(p)) return p;
    snprintf(p, n, "%s/%s", dir, stem);
    if (exists(p)) return p;
    sl__free(p);
    return NULL;
}

/* The labels file beside an images file: "...images-idx3-ubyte..." becomes
 * "...labels-idx1-ubyte...". NULL when there is none. */
static char *labels_beside(const char *images) {
    const char *m = strstr(images, "images-idx3-ubyte");
    if (!m) return NULL;
    char *p = sl__strdup(images);
    if (!p) return NULL;
    memcpy(p + (m - images), "labels-idx1-ubyte", 17);
    if (exists(p)) return p;
    sl__free(p);
    return NULL;
}

/* Load an images file (and its labels, if any) and append to d. */
static sl_status append_pair(sl_dataset *d, const char *images, const char *labels, size_t *cap) {
    uint8_t *px, *lb = NULL;
    int nd;
    size_t dims[3];
    SL__TRY(sl__idx_read(images, &px, &nd, dims));
    if (nd != 3) {
        sl__free(px);
        return sl__fail(SL_ERR_FORMAT, "%s: IDX images file has %d dimensions; expected 3 (count, rows, cols)", images,
                        nd);
    }
    if (dims[1] > 4096 || dims[2] > 4096) {
        sl__free(px);
        return sl__fail(SL_ERR_FORMAT, "%s: IDX image size %zux%zu is too large", images, dims[1], dims[2]);
    }
    if (d->nimg && (dims[1] != (size_t)d->h || dims[2] != (size_t)d->w)) {
        sl__free(px);
        return sl__fail(SL_ERR_FORMAT, "%s: images are %zux%zu, but earlier files had %dx%d", images, dims[1], dims[2],
                        d->h, d->w);
    }
    if (labels) {
        int lnd;
        size_t ldims[3];
        sl_status s = sl__idx_read(labels, &lb, &lnd, ldims);
        if (!s && (lnd != 1 || ldims[0] != dims[0]))
            s = sl__fail(SL_ERR_FORMAT, "%s: %zu labels for %zu images in %s", labels, lnd == 1 ? ldims[0] : 0, dims[0],
                         images);
        if (s) {
            sl__free(px);
            sl__free(lb);
            return s;
        }
    }
    d->h = (int)dims[1];
    d->w = (int)dims[2];
    d->c = 1;
    size_t row = dims[1] * dims[2], n = dims[0];
    if (d->nimg + n > *cap) {
        size_t ncap = d->nimg + n;
        uint8_t *np = sl__realloc(d->pix, ncap * row);
        int32_t *nl = np ? sl__realloc(d->labels, ncap * sizeof *nl) : NULL;
        if (np) d->pix = np;
        if (nl) d->labels = nl;
        if (!np || !nl) {
            sl__free(px);
            sl__free(lb);
            return sl__fail(SL_ERR_NOMEM, "out of memory for %zu images", ncap);
        }
        *cap = ncap;
    }
    memcpy(d->pix + d->nimg * row, px, n * row);
    for (size_t i = 0; i < n; i++) d->labels[d->nimg + i] = lb ? (int32_t)lb[i] : -1;
    d->nimg += n;
    sl__free(px);
    sl__free(lb);
    return SL_OK;
}

sl_status sl__idx_open(sl_dataset *d, const sl_data_config *c, const char *src) {
    d->kind = SL_DATA_IDX;
    struct stat st;
    bool dir = stat(src, &st) == 0 && S_ISDIR(st.st_mode);
    size_t cap = 0;
    sl_status s = SL_OK;
    bool any_labels = false;
    if (dir) {
        bool want_train = d->split != SL_SPLIT_TEST, want_test = d->split == SL_SPLIT_TEST || d->split == SL_SPLIT_ALL;
        const char *stems[2][2] = {{"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
                                   {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}};
        for (int k = 0; k < 2 && !s; k++) {
            if (!(k == 0 ? want_train : want_test)) continue;
            char *im = find_in(src, stems[k][0]), *lb = find_in(src, stems[k][1]);
            if (!im)
                s = sl__fail(SL_ERR_NOTFOUND, "%s: no %s[.gz] for the %s split", src, stems[k][0],
                             k == 0 ? "train" : "test");
            else
                s = append_pair(d, im, lb, &cap);
            any_labels |= lb != NULL;
            sl__free(im);
            sl__free(lb);
        }
    } else {
        char *lb = labels_beside(src);
        s = append_pair(d, src, lb, &cap);
        any_labels = lb != NULL;
        sl__free(lb);
    }
    if (s) return s;
    d->n = d->nimg;
    /* Validation comes from the end of the train file, only when asked for. */
    double vf = c->val_fraction < 0 ? 0 : c->val_fraction;
    if (dir && (d->split == SL_SPLIT_TRAIN || d->split == SL_SPLIT_VAL)) {
        size_t nval = (size_t)(vf * (double)d->n + 0.5);
        if (d->split == SL_SPLIT_VAL && nval == 0)
            return sl__fail(SL_ERR_ARG,
                            "%s has train and test files but no validation split: use the test split, or hold out "
                            "part of train with a validation fraction > 0",
                            d->name);
        if (d->split == SL_SPLIT_TRAIN) {
            d->n -= nval;
        } else {
            size_t row = (size_t)d->h * d->w, first = d->n - nval;
            memmove(d->pix, d->pix + first * row, nval * row);
            memmove(d->labels, d->labels + first, nval * sizeof *d->labels);
            d->n = nval;
        }
        d->nimg = d->n;
    }
    if (any_labels) {
        int maxl = 0;
        for (size_t i = 0; i < d->n; i++)
            if (d->labels[i] > maxl) maxl = d->labels[i];
        bool fashion = strcasestr(d->name, "fashion") || strcasestr(src, "fashion");
        d->nattrs = 1;
        d->attrs[0].name = "class";
        if (maxl < 10) {
            d->attrs[0].n_classes = 10;
            d->attrs[0].class_names = fashion ? fashion_names : digit_names;
        } else {
            d->owned_names = sl__calloc((size_t)maxl + 1, sizeof(char *));
            if (!d->owned_names) return sl__fail(SL_ERR_NOMEM, "out of memory");
            for (int k = 0; k <= maxl; k++) {
                char nm[16];
                snprintf(nm, sizeof nm, "%d", k);
                if (!(d->owned_names[k] = sl__strdup(nm))) return sl__fail(SL_ERR_NOMEM, "out of memory");
                d->n_owned_names = (size_t)k + 1;
            }
            d->attrs[0].n_classes = maxl + 1;
            d->attrs[0].class_names = (const char *const *)d->owned_names;
        }
    } else {
        sl__free(d->labels);
        d->labels = NULL;
    }
    return SL_OK;
}

/* The one dataset interface: opening a source by built-in name or path,
 * the accessors, sl_data_get, deterministic splits, and the loaders for image
 * folders, image-caption lists and .npy matrices. */
#include "data_internal.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#define MNIST_DIR "/usr/share/datasets/mnist"

void sl_data_config_default(sl_data_config *c) {
    memset(c, 0, sizeof *c);
    c->source = "shapes";
    c->split = SL_SPLIT_TRAIN;
    c->val_fraction = -1;
    c->test_fraction = -1;
}

sl_status sl_split_parse(const char *s, sl_split *out) {
    if (!s) return sl__fail(SL_ERR_ARG, "split: none given");
    if (strcmp(s, "train") == 0)
        *out = SL_SPLIT_TRAIN;
    else if (strcmp(s, "val") == 0 || strcmp(s, "validation") == 0)
        *out = SL_SPLIT_VAL;
    else if (strcmp(s, "test") == 0)
        *out = SL_SPLIT_TEST;
    else if (strcmp(s, "all") == 0)
        *out = SL_SPLIT_ALL;
    else
        return sl__fail(SL_ERR_ARG, "unknown split '%s' (expected train, val, test or all)", s);
    return SL_OK;
}

const char *sl_split_name(sl_split s) {
    switch (s) {
    case SL_SPLIT_TRAIN: return "train";
    case SL_SPLIT_VAL: return "val";
    case SL_SPLIT_TEST: return "test";
    case SL_SPLIT_ALL: return "all";
    }
    return "?";
}

/* ---- helpers shared by the loaders ---------------------------------------*/

static uint64_t mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

sl_split sl__split_of_key(uint64_t seed, const char *key, double val_fraction, double test_fraction) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) h = (h ^ *p) * 0x100000001b3ull;
    double u = (double)(mix64(h ^ mix64(seed)) >> 11) * 0x1.0p-53;
    if (u < test_fraction) return SL_SPLIT_TEST;
    if (u < test_fraction + val_fraction) return SL_SPLIT_VAL;
    return SL_SPLIT_TRAIN;
}

static bool in_split(sl_split want, sl_split got) { return want == SL_SPLIT_ALL || want == got; }

void sl__resize_square(const uint8_t *in, int w, int h, int c_in, uint8_t *out, int size, int c_out) {
    /* The largest centred square, then an area average: each output pixel is
     * the mean over the input rectangle it covers, weighted by overlap, which
     * neither aliases when shrinking nor blurs more than needed. */
    int side = w < h ? w : h;
    double x0 = (w - side) / 2.0, y0 = (h - side) / 2.0, scale = (double)side / size;
    for (int oy = 0; oy < size; oy++) {
        double sy0 = y0 + oy * scale, sy1 = sy0 + scale;
        for (int ox = 0; ox < size; ox++) {
            double sx0 = x0 + ox * scale, sx1 = sx0 + scale;
            double acc[3] = {0, 0, 0}, wsum = 0;
            for (int iy = (int)floor(sy0); iy < (int)ceil(sy1) && iy < h; iy++) {
                double wy = fmin(sy1, iy + 1.0) - fmax(sy0, (double)iy);
                if (wy <= 0) continue;
                for (int ix = (int)floor(sx0); ix < (int)ceil(sx1) && ix < w; ix++) {
                    double wx = fmin(sx1, ix + 1.0) - fmax(sx0, (double)ix);
                    if (wx <= 0) continue;
                    const uint8_t *p = in + ((size_t)iy * w + ix) * c_in;
                    double wt = wx * wy;
                    for (int k = 0; k < c_in; k++) acc[k] += wt * p[k];
                    wsum += wt;
                }
            }
            if (wsum > 0)
                for (int k = 0; k < c_in; k++) acc[k] /= wsum;
            double v[3];
            if (c_out == 1)
                v[0] = c_in == 1 ? acc[0] : 0.299 * acc[0] + 0.587 * acc[1] + 0.114 * acc[2];
            else
                for (int k = 0; k < 3; k++) v[k] = c_in == 1 ? acc[0] : acc[k];
            for (int k = 0; k < c_out; k++) {
                long q = lround(v[k]);
                out[(size_t)k * size * size + (size_t)oy * size + ox] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
            }
        }
    }
}

sl_status sl__data_skip(sl_dataset *d, const char *path, const char *reason) {
    char **p = sl__realloc(d->skipped_path, (d->nskipped + 1) * sizeof *p);
    if (!p) return sl__fail(SL_ERR_NOMEM, "out of memory");
    d->skipped_path = p;
    char **r = sl__realloc(d->skipped_reason, (d->nskipped + 1) * sizeof *r);
    if (!r) return sl__fail(SL_ERR_NOMEM, "out of memory");
    d->skipped_reason = r;
    p[d->nskipped] = sl__strdup(path);
    r[d->nskipped] = sl__strdup(reason);
    if (!p[d->nskipped] || !r[d->nskipped]) {
        sl__free(p[d->nskipped]);
        sl__free(r[d->nskipped]);
        return sl__fail(SL_ERR_NOMEM, "out of memory");
    }
    d->nskipped++;
    return SL_OK;
}

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}
static bool is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}
static bool ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcasecmp(s + n - m, suf) == 0;
}

static char *join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = sl__malloc(n);
    if (s) snprintf(s, n, "%s/%s", a, b);
    return s;
}

/* ---- image folders -------------------------------------------------------*/

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool is_image_name(const char *n) {
    return ends_with(n, ".png") || ends_with(n, ".jpg") || ends_with(n, ".jpeg");
}

/* Sorted names in dir that pass keep (directories or image files). */
static sl_status list_dir(const char *dir, bool want_dirs, char ***names, size_t *count) {
    DIR *dp = opendir(dir);
    if (!dp) return sl__fail(SL_ERR_IO, "%s: cannot list: %s", dir, strerror(errno));
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    sl_status s = SL_OK;
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.') continue;
        char *full = join(dir, e->d_name);
        if (!full) {
            s = sl__fail(SL_ERR_NOMEM, "out of memory");
            break;
        }
        bool ok = want_dirs ? is_dir(full) : (is_image_name(e->d_name) && is_file(full));
        sl__free(full);
        if (!ok) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = sl__realloc(v, cap * sizeof *nv);
            if (!nv) {
                s = sl__fail(SL_ERR_NOMEM, "out of memory");
                break;
            }
            v = nv;
        }
        if (!(v[n] = sl__strdup(e->d_name))) {
            s = sl__fail(SL_ERR_NOMEM, "out of memory");
            break;
        }
        n++;
    }
    closedir(dp);
    if (s) {
        for (size_t i = 0; i < n; i++) sl__free(v[i]);
        sl__free(v);
        return s;
    }
    if (n) qsort(v, n, sizeof *v, cmp_str);
    *names = v;
    *count = n;
    return SL_OK;
}

static void free_names(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) sl__free(v[i]);
    sl__free(v);
}

/* Decode and resize n images into rows 0..n-1 of d->pix, in parallel (each
 * image is independent, so the result does not depend on the thread count).
 * ok[k] says whether image k decoded; failures are recorded as skipped, in
 * path order. */
static sl_status decode_all(sl_dataset *d, char *const *paths, size_t n, bool *ok) {
    size_t row = (size_t)d->c * d->h * d->w;
    d->pix = sl__malloc_array(n ? n : 1, row, "decoded images");
    char **why = sl__calloc(n ? n : 1, sizeof *why);
    if (!d->pix || !why) {
        sl__free(why);
        return sl__fail(SL_ERR_NOMEM, "out of memory for %zu images of %zu bytes", n, row);
    }
    int nomem = 0;
#pragma omp parallel for schedule(dynamic, 4)
    for (long k = 0; k < (long)n; k++) {
        uint8_t *px;
        int w, h, ch;
        sl_status s = sl__image_read_scaled(paths[k], d->h, &px, &w, &h, &ch);
        ok[k] = s == SL_OK;
        if (s == SL_OK) {
            sl__resize_square(px, w, h, ch, d->pix + (size_t)k * row, d->h, d->c);
            sl__free(px);
        } else if (s == SL_ERR_NOMEM) {
#pragma omp atomic write
            nomem = 1;
        } else {
            why[k] = sl__strdup(sl_error_message());
        }
    }
    sl_status st = nomem ? sl__fail(SL_ERR_NOMEM, "out of memory decoding images") : SL_OK;
    for (size_t k = 0; k < n; k++) {
        if (!st && !ok[k]) st = sl__data_skip(d, paths[k], why[k] ? why[k] : "cannot decode");
        sl__free(why[k]);
    }
    sl__free(why);
    d->nimg = n;
    return st;
}

/* Move the rows of images that decoded to the front; returns how many. */
static size_t compact_rows(sl_dataset *d, const bool *ok, size_t n, size_t *new_row) {
    size_t row = (size_t)d->c * d->h * d->w, m = 0;
    for (size_t k = 0; k < n; k++) {
        new_row[k] = SIZE_MAX;
        if (!ok[k]) continue;
        if (m != k) memmove(d->pix + m * row, d->pix + k * row, row);
        new_row[k] = m++;
    }
    d->nimg = m;
    return m;
}

sl_status sl__folder_open(sl_dataset *d, const sl_data_config *c) {
    const char *root = c->source;
    char **classes = NULL;
    size_t ncls = 0;
    SL__TRY(list_dir(root, true, &classes, &ncls));
    if (ncls == 0) {
        sl__free(classes);
        return sl__fail(SL_ERR_FORMAT, "%s: no class folders (expected %s/<class>/<image>.png|jpg)", root, root);
    }
    if (ncls > 1000000) {
        free_names(classes, ncls);
        return sl__fail(SL_ERR_RANGE, "%s: %zu class folders is too many", root, ncls);
    }
    d->owned_names = classes;
    d->n_owned_names = ncls;
    d->nattrs = 1;
    d->attrs[0].name = "class";
    d->attrs[0].n_classes = (int)ncls;
    d->attrs[0].class_names = (const char *const *)classes;
    double vf = c->val_fraction < 0 ? 0.1 : c->val_fraction, tf = c->test_fraction < 0 ? 0.1 : c->test_fraction;
    /* First the list of files in the split, then one parallel decode. */
    char **paths = NULL;
    int32_t *labs = NULL;
    size_t np = 0, cap = 0;
    sl_status s = SL_OK;
    for (size_t k = 0; k < ncls && !s; k++) {
        char *cdir = join(root, classes[k]);
        char **files = NULL;
        size_t nf = 0;
        s = cdir ? list_dir(cdir, false, &files, &nf) : sl__fail(SL_ERR_NOMEM, "out of memory");
        for (size_t f = 0; f < nf && !s; f++) {
            char *key = join(classes[k], files[f]);
            if (!key) {
                s = sl__fail(SL_ERR_NOMEM, "out of memory");
                break;
            }
            bool want = in_split(d->split, sl__split_of_key(c->seed, key, vf, tf));
            sl__free(key);
            if (!want) continue;
            if (np == cap) {
                cap = cap ? cap * 2 : 256;
                char **npth = sl__realloc(paths, cap * sizeof *npth);
                int32_t *nl = npth ? sl__realloc(labs, cap * sizeof *nl) : NULL;
                if (npth) paths = npth;
                if (nl) labs = nl;
                if (!npth || !nl) {
                    s = sl__fail(SL_ERR_NOMEM, "out of memory");
                    break;
                }
            }
            if (!(paths[np] = join(cdir, files[f]))) {
                s = sl__fail(SL_ERR_NOMEM, "out of memory");
                break;
            }
            labs[np++] = (int32_t)k;
        }
        free_names(files, nf);
        sl__free(cdir);
    }
    bool *ok = s ? NULL : sl__calloc(np ? np : 1, sizeof *ok);
    size_t *rows = s ? NULL : sl__calloc(np ? np : 1, sizeof *rows);
    if (!s && (!ok || !rows)) s = sl__fail(SL_ERR_NOMEM, "out of memory");
    if (!s) s = decode_all(d, paths, np, ok);
    if (!s) {
        d->n = compact_rows(d, ok, np, rows);
        for (size_t k = 0; k < np; k++)
            if (rows[k] != SIZE_MAX) labs[rows[k]] = labs[k];
        d->labels = labs;
        labs = NULL;
    }
    free_names(paths, np);
    sl__free(labs);
    sl__free(ok);
    sl__free(rows);
    if (s) return s;
    if (d->n == 0)
        return sl__fail(SL_ERR_FORMAT, "%s: no decodable images in split '%s' (%zu skipped)", root,
                        sl_split_name(d->split), d->nskipped);
    return SL_OK;
}

/* ---- image-caption lists -------------------------------------------------*/

typedef struct {
    char *key;  /* image name as written in the list */
    char *path; /* resolved path */
    bool in_split;
} cap_image;

static char *dirname_of(const char *p) {
    const char *slash = strrchr(p, '/');
    if (!slash) return sl__strdup(".");
    size_t n = (size_t)(slash - p);
    char *s = sl__malloc(n + 2);
    if (!s) return NULL;
    if (n == 0) {
        strcpy(s, "/");
        return s;
    }
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static uint64_t hash_str(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) h = (h ^ *p) * 0x100000001b3ull;
    return mix64(h);
}

/* An open-addressing table from image name to its index in the list of
 * images, so lists with many images load in linear time. */
typedef struct {
    size_t *slot; /* index + 1, 0 for empty */
    size_t cap;   /* a power of two */
} name_table;

static size_t *table_find(name_table *t, const cap_image *imgs, const char *key) {
    size_t m = t->cap - 1, i = (size_t)hash_str(key) & m;
    while (t->slot[i] && strcmp(imgs[t->slot[i] - 1].key, key) != 0) i = (i + 1) & m;
    return &t->slot[i];
}

static sl_status table_grow(name_table *t, const cap_image *imgs, size_t n) {
    name_table nt = {sl__calloc(t->cap * 2, sizeof(size_t)), t->cap * 2};
    if (!nt.slot) return sl__fail(SL_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < n; j++) *table_find(&nt, imgs, imgs[j].key) = j + 1;
    sl__free(t->slot);
    *t = nt;
    return SL_OK;
}

sl_status sl__captions_open(sl_dataset *d, const sl_data_config *c) {
    const char *list = c->source;
    FILE *f = fopen(list, "r");
    if (!f) return sl__fail(SL_ERR_NOTFOUND, "%s: cannot open caption list: %s", list, strerror(errno));
    char *base = c->image_dir ? sl__strdup(c->image_dir) : dirname_of(list);
    name_table tab = {sl__calloc(1024, sizeof(size_t)), 1024};
    if (!base || !tab.slot) {
        fclose(f);
        sl__free(base);
        sl__free(tab.slot);
        return sl__fail(SL_ERR_NOMEM, "out of memory");
    }
    double vf = c->val_fraction < 0 ? 0.1 : c->val_fraction, tf = c->test_fraction < 0 ? 0.1 : c->test_fraction;
    cap_image *imgs = NULL;
    size_t nimgs = 0, icap = 0, nitems = 0, itcap = 0;
    char **caps = NULL; /* every caption of the list, and its image */
    size_t *cap_img = NULL;
    char *line = NULL;
    size_t lcap = 0, lineno = 0;
    ssize_t len;
    sl_status s = SL_OK;
    while (!s && (len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        char *tab_ch = strchr(line, '\t');
        if (!tab_ch) {
            s = sl__fail(SL_ERR_FORMAT, "%s: line %zu: expected 'image<TAB>caption'", list, lineno);
            break;
        }
        *tab_ch = 0;
        char *name = line, *caption = tab_ch + 1;
        /* Flickr8k writes "name.jpg#k": the image name without the caption number. */
        char *hash = strrchr(name, '#');
        if (hash && hash[1]) {
            char *q = hash + 1;
            while (*q >= '0' && *q <= '9') q++;
            if (*q == 0) *hash = 0;
        }
        if (!*name || !*caption) {
            s = sl__fail(SL_ERR_FORMAT, "%s: line %zu: empty image name or caption", list, lineno);
            break;
        }
        size_t *slot = table_find(&tab, imgs, name);
        size_t k;
        if (*slot) {
            k = *slot - 1;
        } else {
            char *path = name[0] == '/' ? sl__strdup(name) : join(base, name);
            if (!path) {
                s = sl__fail(SL_ERR_NOMEM, "out of memory");
                break;
            }
            if (!is_file(path)) {
                s = sl__fail(SL_ERR_NOTFOUND, "%s: line %zu: image '%s' not found (looked for %s)", list, lineno, name,
                             path);
                sl__free(path);
                break;
            }
            if (nimgs == icap) {
                icap = icap ? icap * 2 : 256;
                cap_image *ni = sl__realloc(imgs, icap * sizeof *ni);
                if (!ni) {
                    sl__free(path);
                    s = sl__fail(SL_ERR_NOMEM, "out of memory");
                    break;
                }
                imgs = ni;
            }
            k = nimgs;
            imgs[k].key = sl__strdup(name);
            imgs[k].path = path;
            imgs[k].in_split = in_split(d->split, sl__split_of_key(c->seed, name, vf, tf));
            nimgs++;
            if (!imgs[k].key) {
                s = sl__fail(SL_ERR_NOMEM, "out of memory");
                break;
            }
            *slot = k + 1;
            if (nimgs * 2 > tab.cap && (s = table_grow(&tab, imgs, nimgs))) break;
        }
        if (!imgs[k].in_split) continue;
        if (nitems == itcap) {
            itcap = itcap ? itcap * 2 : 256;
            char **nc = sl__realloc(caps, itcap * sizeof *nc);
            size_t *no = nc ? sl__realloc(cap_img, itcap * sizeof *no) : NULL;
            if (nc) caps = nc;
            if (no) cap_img = no;
            if (!nc || !no) {
                s = sl__fail(SL_ERR_NOMEM, "out of memory");
                break;
            }
        }
        if (!(caps[nitems] = sl__strdup(caption))) {
            s = sl__fail(SL_ERR_NOMEM, "out of memory");
            break;
        }
        cap_img[nitems++] = k;
    }
    if (!s && ferror(f)) s = sl__fail(SL_ERR_IO, "%s: read error", list);
    fclose(f);
    free(line);
    if (!s && lineno == 0) s = sl__fail(SL_ERR_FORMAT, "%s: empty caption list", list);
    /* Decode the images of the split, then keep the captions of those that decoded. */
    char **paths = NULL;
    size_t *sel_of = NULL, *rows = NULL, nsel = 0;
    bool *ok = NULL;
    if (!s) {
        paths = sl__calloc(nimgs ? nimgs : 1, sizeof *paths);
        sel_of = sl__calloc(nimgs ? nimgs : 1, sizeof *sel_of);
        rows = sl__calloc(nimgs ? nimgs : 1, sizeof *rows);
        ok = sl__calloc(nimgs ? nimgs : 1, sizeof *ok);
        if (!paths || !sel_of || !rows || !ok) s = sl__fail(SL_ERR_NOMEM, "out of memory");
    }
    if (!s) {
        for (size_t k = 0; k < nimgs; k++) {
            sel_of[k] = SIZE_MAX;
            if (imgs[k].in_split) {
                sel_of[k] = nsel;
                paths[nsel++] = imgs[k].path;
            }
        }
        s = decode_all(d, paths, nsel, ok);
    }
    if (!s) {
        compact_rows(d, ok, nsel, rows);
        d->captions = sl__malloc_array(nitems ? nitems : 1, sizeof *d->captions, "captions");
        d->img_of = sl__malloc_array(nitems ? nitems : 1, sizeof *d->img_of, "captions");
        if (!d->captions || !d->img_of) s = SL_ERR_NOMEM;
    }
    size_t n = 0;
    for (size_t j = 0; j < nitems; j++) {
        size_t r = s ? SIZE_MAX : rows[sel_of[cap_img[j]]];
        if (r == SIZE_MAX) {
            sl__free(caps[j]);
            continue;
        }
        d->captions[n] = caps[j];
        d->img_of[n++] = r;
    }
    d->n = n;
    for (size_t k = 0; k < nimgs; k++) {
        sl__free(imgs[k].key);
        sl__free(imgs[k].path);
    }
    sl__free(imgs);
    sl__free(caps);
    sl__free(cap_img);
    sl__free(paths);
    sl__free(sel_of);
    sl__free(rows);
    sl__free(ok);
    sl__free(tab.slot);
    sl__free(base);
    if (s) return s;
    if (d->n == 0)
        return sl__fail(SL_ERR_FORMAT, "%s: no captioned images in split '%s' (%zu skipped)", list,
                        sl_split_name(d->split), d->nskipped);
    return SL_OK;
}

/* ---- .npy matrices -------------------------------------------------------*/

sl_status sl__npy_open(sl_dataset *d, const sl_data_config *c) {
    float *data;
    size_t rows, cols;
    SL__TRY(sl_npy_read_matrix(c->source, &data, &rows, &cols));
    int64_t *lab = NULL;
    size_t nl = 0;
    if (c->labels) {
        sl_status s = sl_npy_read_labels(c->labels, &lab, &nl);
        if (s) {
            sl_allocator_free(data);
            return s;
        }
        if (nl != rows) {
            sl_allocator_free(data);
            sl_allocator_free(lab);
            return sl__fail(SL_ERR_FORMAT, "%s: %zu labels for %zu rows of %s", c->labels, nl, rows, c->source);
        }
    }
    if (cols > (size_t)1 << 30) {
        sl_allocator_free(data);
        sl_allocator_free(lab);
        return sl__fail(SL_ERR_RANGE, "%s: %zu columns is too many", c->source, cols);
    }
    d->c = 1;
    d->h = 1;
    d->w = (int)cols;
    int64_t maxl = -1;
    for (size_t i = 0; i < nl; i++) {
        if (lab[i] < 0 || lab[i] > 1000000) {
            sl_status s = sl__fail(SL_ERR_RANGE, "%s: label %lld at index %zu is out of range (0..1000000)", c->labels,
                                   (long long)lab[i], i);
            sl_allocator_free(data);
            sl_allocator_free(lab);
            return s;
        }
        if (lab[i] > maxl) maxl = lab[i];
    }
    /* Row keys for the split are the row numbers. */
    double vf = c->val_fraction < 0 ? 0.1 : c->val_fraction, tf = c->test_fraction < 0 ? 0.1 : c->test_fraction;
    size_t *keep = sl__malloc_array(rows ? rows : 1, sizeof *keep, "row index");
    if (!keep) {
        sl_allocator_free(data);
        sl_allocator_free(lab);
        return SL_ERR_NOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < rows; i++) {
        char key[32];
        snprintf(key, sizeof key, "%zu", i);
        if (in_split(d->split, sl__split_of_key(c->seed, key, vf, tf))) keep[n++] = i;
    }
    sl_status s = SL_OK;
    d->vec = sl__malloc_array(n ? n : 1, cols * sizeof(float), "vectors");
    if (!d->vec) s = SL_ERR_NOMEM;
    if (!s && lab) {
        d->nattrs = 1;
        d->attrs[0].name = "label";
        d->attrs[0].n_classes = (int)(maxl + 1);
        d->labels = sl__malloc_array(n ? n : 1, sizeof *d->labels, "labels");
        d->owned_names = sl__calloc((size_t)maxl + 1, sizeof(char *));
        if (!d->labels || !d->owned_names) s = sl__fail(SL_ERR_NOMEM, "out of memory");
        for (int64_t k = 0; !s && k <= maxl; k++) {
            char nm[24];
            snprintf(nm, sizeof nm, "%lld", (long long)k);
            if (!(d->owned_names[k] = sl__strdup(nm))) s = sl__fail(SL_ERR_NOMEM, "out of memory");
            d->n_owned_names = (size_t)k + 1;
        }
        d->attrs[0].class_names = (const char *const *)d->owned_names;
    }
    for (size_t j = 0; !s && j < n; j++) {
        memcpy(d->vec + j * cols, data + keep[j] * cols, cols * sizeof(float));
        if (lab) d->labels[j] = (int32_t)lab[keep[j]];
    }
    d->n = n;
    sl__free(keep);
    sl_allocator_free(data);
    sl_allocator_free(lab);
    return s;
}

/* ---- open, close, accessors ----------------------------------------------*/

static sl_status open_source(sl_dataset *d, const sl_data_config *c) {
    const char *src = c->source;
    if (strcmp(src, "shapes") == 0) return sl__shapes_open(d, c);
    if (strcmp(src, "fashion-mnist") == 0) {
        if (!is_dir(FASHION_DIR))
            return sl__fail(SL_ERR_NOTFOUND,
                            "fashion-mnist is not installed (expected " FASHION_DIR "/): install it with "
                            "'scripts/deps.sh data' or 'sudo apt-get install dataset-fashion-mnist'");
        return sl__idx_open(d, c, FASHION_DIR);
    }
    if (strcmp(src, "mnist") == 0) {
        if (!is_dir(MNIST_DIR))
            return sl__fail(SL_ERR_NOTFOUND,
                            "mnist not found in " MNIST_DIR "/: pass the folder that holds its IDX files "
                            "(train-images-idx3-ubyte.gz ...) instead");
        return sl__idx_open(d, c, MNIST_DIR);
    }
    struct stat st;
    if (stat(src, &st) != 0)
        return sl__fail(SL_ERR_NOTFOUND, "dataset '%s': no such built-in name (shapes, fashion-mnist, mnist) or path",
                        src);
    if (S_ISDIR(st.st_mode)) {
        static const char *idx_names[] = {"train-images-idx3-ubyte", "train-images-idx3-ubyte.gz",
                                          "t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"};
        for (size_t k = 0; k < 4; k++) {
            char *p = join(src, idx_names[k]);
            bool yes = p && is_file(p);
            sl__free(p);
            if (yes) return sl__idx_open(d, c, src);
        }
        d->kind = SL_DATA_FOLDER;
        return sl__folder_open(d, c);
    }
    if (ends_with(src, ".npy")) {
        d->kind = SL_DATA_NPY;
        return sl__npy_open(d, c);
    }
    if (strstr(src, "idx3-ubyte") || ends_with(src, ".gz") || ends_with(src, ".idx")) return sl__idx_open(d, c, src);
    if (ends_with(src, ".tsv") || ends_with(src, ".txt") || ends_with(src, ".token")) {
        d->kind = SL_DATA_CAPTIONS;
        return sl__captions_open(d, c);
    }
    return sl__fail(SL_ERR_UNSUPPORTED,
                    "%s: unknown dataset kind (expected an IDX images file, an image folder, a caption list "
                    ".tsv/.txt/.token or a .npy matrix)",
                    src);
}

sl_status sl_data_open(const sl_data_config *c, sl_dataset **out) {
    if (!c || !c->source || !*c->source || !out) return sl__fail(SL_ERR_ARG, "dataset: no source given");
    if (c->split < SL_SPLIT_TRAIN || c->split > SL_SPLIT_ALL) return sl__fail(SL_ERR_ARG, "dataset: bad split");
    if (c->size < 0 || c->size > 4096)
        return sl__fail(SL_ERR_ARG, "dataset: image size %d is out of range (1..4096, 0 = default)", c->size);
    if (c->channels != 0 && c->channels != 1 && c->channels != 3)
        return sl__fail(SL_ERR_ARG, "dataset: %d channels; expected 1 or 3", c->channels);
    if (!(c->val_fraction < 1) || !(c->test_fraction < 1) ||
        (c->val_fraction > 0 && c->test_fraction > 0 && c->val_fraction + c->test_fraction >= 1))
        return sl__fail(SL_ERR_ARG, "dataset: validation and test fractions must be below 1 together (%g + %g)",
                        c->val_fraction, c->test_fraction);
    if (!(c->shapes_noise >= 0 && c->shapes_noise <= 1))
        return sl__fail(SL_ERR_ARG, "shapes: background noise %g is out of range [0, 1]", (double)c->shapes_noise);
    sl_dataset *d = sl__calloc(1, sizeof *d);
    if (!d) return sl__fail(SL_ERR_NOMEM, "out of memory");
    d->name = sl__strdup(c->source);
    d->split = c->split;
    d->seed = c->seed;
    int size = c->size ? c->size : 64;
    d->c = c->channels ? c->channels : 3;
    d->h = d->w = size;
    sl_status s = d->name ? open_source(d, c) : sl__fail(SL_ERR_NOMEM, "out of memory");
    if (s) {
        sl_data_destroy(d);
        return s;
    }
    *out = d;
    return SL_OK;
}

void sl_data_destroy(sl_dataset *d) {
    if (!d) return;
    sl__free(d->name);
    free_names(d->owned_names, d->n_owned_names);
    sl__free(d->pix);
    sl__free(d->img_of);
    sl__free(d->labels);
    if (d->captions)
        for (size_t i = 0; i < d->n; i++) sl__free(d->captions[i]);
    sl__free(d->captions);
    sl__free(d->vec);
    free_names(d->skipped_path, d->nskipped);
    free_names(d->skipped_reason, d->nskipped);
    sl__free(d);
}

sl_data_kind sl_data_kind_of(const sl_dataset *d) { return d->kind; }
const char *sl_data_name(const sl_dataset *d) { return d->name; }
sl_split sl_data_split(const sl_dataset *d) { return d->split; }
size_t sl_data_count(const sl_dataset *d) { return d->n; }
int sl_data_channels(const sl_dataset *d) { return d->c; }
int sl_data_height(const sl_dataset *d) { return d->h; }
int sl_data_width(const sl_dataset *d) { return d->w; }
size_t sl_data_item_size(const sl_dataset *d) { return (size_t)d->c * d->h * d->w; }
int sl_data_num_attrs(const sl_dataset *d) { return d->nattrs; }
const sl_attr *sl_data_attr(const sl_dataset *d, int k) { return k >= 0 && k < d->nattrs ? &d->attrs[k] : NULL; }
int sl_data_find_attr(const sl_dataset *d, const char *name) {
    for (int k = 0; k < d->nattrs; k++)
        if (strcmp(d->attrs[k].name, name) == 0) return k;
    return -1;
}
bool sl_data_has_captions(const sl_dataset *d) { return d->kind == SL_DATA_SHAPES || d->captions != NULL; }
size_t sl_data_skipped(const sl_dataset *d) { return d->nskipped; }
const char *sl_data_skipped_path(const sl_dataset *d, size_t k) { return k < d->nskipped ? d->skipped_path[k] : NULL; }
const char *sl_data_skipped_reason(const sl_dataset *d, size_t k) {
    return k < d->nskipped ? d->skipped_reason[k] : NULL;
}

sl_status sl_data_get(const sl_dataset *d, size_t i, float *x, int32_t *labels, char *caption) {
    if (i >= d->n) return sl__fail(SL_ERR_RANGE, "%s: item %zu is out of range (%zu items)", d->name, i, d->n);
    if (d->kind == SL_DATA_SHAPES) {
        sl__shapes_get(d, i, x, labels, caption);
        return SL_OK;
    }
    size_t row = sl_data_item_size(d);
    if (x) {
        if (d->vec) {
            memcpy(x, d->vec + i * row, row * sizeof *x);
        } else {
            const uint8_t *p = d->pix + (d->img_of ? d->img_of[i] : i) * row;
            for (size_t k = 0; k < row; k++) x[k] = (float)p[k] * (1.0f / 255.0f);
        }
    }
    if (labels)
        for (int k = 0; k < d->nattrs; k++) labels[k] = d->labels ? d->labels[i * (size_t)d->nattrs + k] : -1;
    if (caption) {
        caption[0] = 0;
        if (d->captions) {
            size_t n = strlen(d->captions[i]);
            if (n >= SL_CAPTION_MAX) n = SL_CAPTION_MAX - 1;
            memcpy(caption, d->captions[i], n);
            caption[n] = 0;
        }
    }
    return SL_OK;
}

sl_status sl_data_pixel_stats(const sl_dataset *d, size_t limit, double mean[3], double std[3]) {
    size_t n = limit && limit < d->n ? limit : d->n, plane = (size_t)d->h * d->w;
    int c = d->c < 3 ? d->c : 3;
    float *x = sl__malloc_array(sl_data_item_size(d), sizeof *x, "pixel statistics");
    if (!x) return SL_ERR_NOMEM;
    double s1[3] = {0, 0, 0}, s2[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        sl_status st = sl_data_get(d, i, x, NULL, NULL);
        if (st) {
            sl__free(x);
            return st;
        }
        for (int k = 0; k < c; k++) {
            const float *p = x + (size_t)k * plane;
            double a = 0, b = 0;
            for (size_t q = 0; q < plane; q++) a += p[q], b += (double)p[q] * p[q];
            s1[k] += a;
            s2[k] += b;
        }
    }
    sl__free(x);
    double cnt = (double)n * (double)plane;
    for (int k = 0; k < 3; k++) {
        if (k >= c || cnt == 0) {
            mean[k] = std[k] = 0;
            continue;
        }
        double m = s1[k] / cnt, v = s2[k] / cnt - m * m;
        mean[k] = m;
        std[k] = sqrt(v > 0 ? v : 0);
    }
    return SL_OK;
}

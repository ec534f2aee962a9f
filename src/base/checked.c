/* Checksummed files: the FNV-1a 64 checksum, whole files read into memory,
 * and files written atomically with the checksum of their bytes appended
 * (the index files and the subword model share the layout). */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

uint64_t sl__fnv1a(uint64_t hsh, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) hsh = (hsh ^ b[i]) * 0x100000001b3ULL;
    return hsh;
}

sl_status sl__file_read(const char *path, const char *what, unsigned char **buf, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return sl__fail(SL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    long sz = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (sz < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return sl__fail(SL_ERR_IO, "%s: cannot tell the size", path);
    }
    if (sz == 0) {
        fclose(f);
        return sl__fail(SL_ERR_FORMAT, "%s: empty file, expected %s", path, what);
    }
    unsigned char *b = sl__malloc((size_t)sz);
    if (!b) {
        fclose(f);
        return sl__fail(SL_ERR_NOMEM, "%s: cannot read %ld bytes", path, sz);
    }
    size_t got = fread(b, 1, (size_t)sz, f);
    fclose(f);
    if (got != (size_t)sz) {
        sl__free(b);
        return sl__fail(SL_ERR_IO, "%s: short read", path);
    }
    *buf = b;
    *size = (size_t)sz;
    return SL_OK;
}

sl_status sl__reader_get(sl__reader *r, void *out, size_t n, const char *what) {
    if (r->pos > r->n || r->n - r->pos < n)
        return sl__fail(SL_ERR_FORMAT, "%s: byte %zu: file ends inside %s (truncated?)", r->path, r->pos, what);
    memcpy(out, r->p + r->pos, n);
    r->pos += n;
    return SL_OK;
}

sl_status sl__reader_checksum(sl__reader *r) {
    /* The checksum must follow what has been read already. */
    if (r->n < 16 || r->n - 8 < r->pos) return sl__fail(SL_ERR_FORMAT, "%s: file too short (%zu bytes)", r->path, r->n);
    uint64_t want;
    memcpy(&want, r->p + r->n - 8, 8);
    if (sl__fnv1a(SL__FNV1A_INIT, r->p, r->n - 8) != want)
        return sl__fail(SL_ERR_FORMAT, "%s: checksum mismatch (the file is corrupt or truncated)", r->path);
    r->n -= 8;
    return SL_OK;
}

sl_status sl__iwriter_open(sl__iwriter *w, const char *path) {
    w->sum = SL__FNV1A_INIT, w->st = SL_OK;
    return sl_afile_open(path, &w->af);
}

void sl__iwriter_put(sl__iwriter *w, const void *p, size_t n) {
    if (w->st) return;
    w->st = sl_afile_write(w->af, p, n);
    w->sum = sl__fnv1a(w->sum, p, n);
}

sl_status sl__iwriter_close(sl__iwriter *w) {
    if (w->st == SL_OK) w->st = sl_afile_write(w->af, &w->sum, 8);
    if (w->st) {
        sl_afile_abort(w->af);
        return w->st;
    }
    return sl_afile_commit(w->af);
}

/* Atomic file writes: a temporary file beside the destination, fsync, rename,
 * then fsync of the directory so the rename itself is durable. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sl_afile {
    FILE *f;
    char *path, *tmp;
};

sl_status sl_afile_open(const char *path, sl_afile **out) {
    if (!path || !*path) return sl__fail(SL_ERR_ARG, "atomic write: empty output path");
    sl_afile *a = sl__calloc(1, sizeof *a);
    size_t n = strlen(path);
    if (a) {
        a->path = sl__strdup(path);
        a->tmp = sl__malloc(n + 48);
    }
    if (!a || !a->path || !a->tmp) {
        if (a) sl__free(a->path), sl__free(a->tmp);
        sl__free(a);
        return sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
    }
    /* open(O_EXCL) with mode 0666 rather than mkstemp, so the file gets the
     * usual permissions under the umask without touching process state. */
    static _Atomic unsigned long counter;
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        unsigned long k = counter++;
        snprintf(a->tmp, n + 48, "%s.tmp.%ld.%lu", path, (long)getpid(), k);
        fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        sl_status s = sl__fail(SL_ERR_IO, "%s: cannot create a file in its directory: %s", path, strerror(errno));
        sl__free(a->path), sl__free(a->tmp), sl__free(a);
        return s;
    }
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        sl_status s = sl__fail(SL_ERR_IO, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(a->tmp);
        sl__free(a->path), sl__free(a->tmp), sl__free(a);
        return s;
    }
    *out = a;
    return SL_OK;
}

FILE *sl_afile_stream(sl_afile *a) { return a->f; }

/* The errors fsync(2) gives for a descriptor that does not support
 * synchronisation. */
static bool dirsync_unsupported(int err) { return err == EINVAL || err == EROFS; }

/* fsync of the destination's directory, so that the rename survives a crash.
 * A failure of the sync itself (EIO, ENOSPC, ...) is an error: the file is in
 * place but may not be after a crash, and the caller is told. Not errors: a
 * directory that cannot be opened for reading (EACCES: writable without read
 * permission, where a rename is allowed but a sync cannot be asked for) and a
 * directory whose file system does not sync it (dirsync_unsupported); the
 * file is in place and nothing better can be done. */
static sl_status fsync_dir(const char *path) {
    char *dir = sl__strdup(path);
    if (!dir) return sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
    char *slash = strrchr(dir, '/');
    const char *d = ".";
    if (slash == dir)
        d = "/";
    else if (slash) {
        *slash = '\0';
        d = dir;
    }
    sl_status s = SL_OK;
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        if (fsync(fd) != 0 && !dirsync_unsupported(errno))
            s = sl__fail(SL_ERR_IO, "%s: written, but syncing its directory %s failed, so the file may be lost in a "
                                    "crash: %s", path, d, strerror(errno));
        close(fd);
    } else if (errno != EACCES) {
        s = sl__fail(SL_ERR_IO, "%s: written, but its directory %s cannot be opened to sync it: %s", path, d,
                     strerror(errno));
    }
    sl__free(dir);
    return s;
}

sl_status sl_afile_commit(sl_afile *a) {
    sl_status s = SL_OK;
    /* errno is only meaningful for the call that just failed, so an error
     * recorded earlier on the stream gets its own message. */
    if (ferror(a->f))
        s = sl__fail(SL_ERR_IO, "%s: write failed (disk full or I/O error)", a->path);
    else if (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0)
        s = sl__fail(SL_ERR_IO, "%s: write failed: %s", a->path, strerror(errno));
    if (fclose(a->f) != 0 && s == SL_OK) s = sl__fail(SL_ERR_IO, "%s: close failed: %s", a->path, strerror(errno));
    if (s == SL_OK && rename(a->tmp, a->path) != 0)
        s = sl__fail(SL_ERR_IO, "%s: cannot rename temporary file into place: %s", a->path, strerror(errno));
    if (s != SL_OK)
        unlink(a->tmp);
    else
        s = fsync_dir(a->path);
    sl__free(a->path), sl__free(a->tmp), sl__free(a);
    return s;
}

void sl_afile_abort(sl_afile *a) {
    if (!a) return;
    fclose(a->f);
    unlink(a->tmp);
    sl__free(a->path), sl__free(a->tmp), sl__free(a);
}

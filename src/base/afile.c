/* Atomic file writes: a temporary file beside the destination, fsync, rename,
 * then fsync of the directory so the rename itself is durable.
 *
 * The temporary file is DEST.tmp.HOST.PID.N. A writer killed before its
 * rename (kill -9, power loss) leaves it behind; the next open of the same
 * destination removes such files when they were made on this host by a
 * process that no longer exists, so they do not pile up. Files of live
 * processes, of other hosts (a shared file system) and of this process are
 * left alone. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sl_afile {
    FILE *f;
    char *path, *tmp;
};

/* This host's name as it goes into temporary names: its first 32 bytes (the
 * whole name stays within NAME_MAX for any name that leaves room), '/'
 * (impossible in a host name, but a file name must not get one) made '_'. */
static void host_name(char host[65]) {
    if (gethostname(host, 65) != 0 || !host[0]) strcpy(host, "localhost");
    host[32] = '\0';
    for (char *c = host; *c; c++)
        if (*c == '/') *c = '_';
}

/* s is "PID.N" with both decimal: the writer's pid, or 0 when s is not. */
static long temp_owner(const char *s) {
    char *end;
    errno = 0;
    long pid = strtol(s, &end, 10);
    if (end == s || *end != '.' || errno || pid <= 0 || s[0] < '0' || s[0] > '9') return 0;
    const char *k = end + 1;
    if (!*k) return 0;
    for (; *k; k++)
        if (*k < '0' || *k > '9') return 0;
    return pid;
}

/* The directory part of path written into buf (strlen(path) + 2 bytes):
 * "." for a bare name, "/" for a file in the root. Returns buf. */
static char *dir_of(const char *path, char *buf) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        strcpy(buf, ".");
    else if (slash == path)
        strcpy(buf, "/");
    else {
        memcpy(buf, path, (size_t)(slash - path));
        buf[slash - path] = '\0';
    }
    return buf;
}

/* Remove DIR/BASE.tmp.HOST.PID.N, path being DIR/BASE, for every PID that
 * is not a process (kill says ESRCH). Best effort: a directory that cannot be
 * read or a file that cannot be removed is left as it is. work holds at least
 * 2 * strlen(path) + strlen(host) + 9 bytes. */
static void remove_stale_temps(const char *path, const char *host, char *work) {
    const char *slash = strrchr(path, '/');
    char *prefix = work + strlen(path) + 2;
    sprintf(prefix, "%s.tmp.%s.", slash ? slash + 1 : path, host);
    DIR *dh = opendir(dir_of(path, work));
    if (!dh) return;
    size_t plen = strlen(prefix);
    long self = (long)getpid();
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        if (strncmp(e->d_name, prefix, plen) != 0) continue;
        long pid = temp_owner(e->d_name + plen);
        if (pid <= 0 || pid == self || (pid_t)pid != pid) continue;
        if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) unlinkat(dirfd(dh), e->d_name, 0);
    }
    closedir(dh);
}

sl_status sl_afile_open(const char *path, sl_afile **out) {
    if (!path || !*path) return sl__fail(SL_ERR_ARG, "atomic write: empty output path");
    sl_afile *a = sl__calloc(1, sizeof *a);
    size_t n = strlen(path);
    char host[65];
    host_name(host);
    size_t tmp_size = n + strlen(host) + 64;
    char *work = NULL;
    if (a) {
        a->path = sl__strdup(path);
        a->tmp = sl__malloc(tmp_size);
        work = sl__malloc(2 * tmp_size);
    }
    if (!a || !a->path || !a->tmp || !work) {
        sl__free(work);
        if (a) sl__free(a->path), sl__free(a->tmp);
        sl__free(a);
        return sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
    }
    /* Before this writer's own temporary file exists, so that a kill at any
     * moment leaves at most one temporary file of the destination behind. */
    remove_stale_temps(path, host, work);
    sl__free(work);
    /* open(O_EXCL) with mode 0666 rather than mkstemp, so the file gets the
     * usual permissions under the umask without touching process state. */
    static _Atomic unsigned long counter;
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        unsigned long k = counter++;
        snprintf(a->tmp, tmp_size, "%s.tmp.%s.%ld.%lu", path, host, (long)getpid(), k);
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

sl_status sl_afile_write(sl_afile *a, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, a->f) != n) return sl__fail(SL_ERR_IO, "%s: write failed: %s", a->path, strerror(errno));
    return SL_OK;
}

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
    char *dir = sl__malloc(strlen(path) + 2);
    if (!dir) return sl__fail(SL_ERR_NOMEM, "%s: out of memory", path);
    const char *d = dir_of(path, dir);
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

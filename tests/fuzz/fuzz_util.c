/* The helpers of fuzz.h: a capped allocator and bytes-to-file. */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fz_dir[64];

static void *cap_malloc(size_t n, void *ctx)
{
    (void)ctx;
    return n > FZ_ALLOC_CAP ? NULL : malloc(n);
}

static void *cap_realloc(void *p, size_t n, void *ctx)
{
    (void)ctx;
    return n > FZ_ALLOC_CAP ? NULL : realloc(p, n);
}

static void cap_free(void *p, void *ctx)
{
    (void)ctx;
    free(p);
}

static void remove_dir(void)
{
    DIR *d = opendir(fz_dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
    rmdir(fz_dir);
}

void fz_init(void)
{
    static int done;
    if (done) return;
    done = 1;
    static const sl_allocator a = {cap_malloc, cap_realloc, cap_free, NULL};
    sl_allocator_set(&a);
    /* tmpfs when there is one: a file per input is then no disk I/O. */
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(fz_dir, sizeof fz_dir, "%s/simlearn-fuzz-%ld", base, (long)getpid());
    if (mkdir(fz_dir, 0700) != 0) {
        perror(fz_dir);
        abort();
    }
    atexit(remove_dir);
}

const char *fz_path(const char *name)
{
    static char buf[4][128];
    static int next;
    char *p = buf[next++ & 3];
    snprintf(p, sizeof buf[0], "%s/%s", fz_dir, name);
    return p;
}

const char *fz_file_tail(const char *name, const uint8_t *data, size_t size, const void *tail, size_t tail_size)
{
    fz_init();
    const char *p = fz_path(name);
    FILE *f = fopen(p, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || (tail_size && fwrite(tail, 1, tail_size, f) != tail_size) ||
        fclose(f) != 0) {
        perror(p);
        abort();
    }
    return p;
}

const char *fz_file(const char *name, const uint8_t *data, size_t size)
{
    return fz_file_tail(name, data, size, NULL, 0);
}

uint64_t fz_fnv1a(const uint8_t *data, size_t size)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 0x100000001b3ULL;
    return h;
}

char *fz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) abort();
    if (size) memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

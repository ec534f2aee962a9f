/* Replays a fuzz target's corpus without libFuzzer, for `make test` (and the
 * sanitized pass of `make asan`): built with the ordinary compiler and linked
 * with one target. The test runner's protocol: `--list` prints the one case,
 * `corpus`, which feeds every file of FZ_CORPUS (the folder
 * tests/fuzz/corpus/<target>/, set by the Makefile) to the target; any other
 * arguments are files or folders to replay instead (to reproduce a crash). */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) abort();
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0) break;
        n += got;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order; returns how many, or -1. */
static long replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char **nn = realloc(names, (n + 1) * sizeof *names);
        if (!nn || !(nn[n] = malloc(strlen(dir) + strlen(e->d_name) + 2))) abort();
        names = nn;
        sprintf(names[n++], "%s/%s", dir, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    long done = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(names[i]) != 0) done = -1;
            else if (done >= 0) done++;
        }
        free(names[i]);
    }
    free(names);
    return done;
}

static long replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }
    return S_ISDIR(st.st_mode) ? replay_dir(path) : (replay_file(path) == 0 ? 1 : -1);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        puts("corpus");
        return 0;
    }
    long total = 0;
    if (argc == 2 && strcmp(argv[1], "corpus") == 0) {
        total = replay_dir(FZ_CORPUS);
        if (total == 0) fprintf(stderr, "%s: no inputs\n", FZ_CORPUS);
    } else {
        for (int i = 1; i < argc && total >= 0; i++) {
            long k = replay_path(argv[i]);
            total = k < 0 ? -1 : total + k;
        }
    }
    if (total <= 0) return 1;
    printf("replayed %ld inputs\n", total);
    return 0;
}

/* main() for every test binary: `bin --list` prints the case names (hidden
 * cases left out), `bin NAME` runs one case in this process. Also the small
 * helpers from test.h. */
#include "test.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define T_MAX 512
static struct {
    const char *name;
    t_fn fn;
    bool hidden;
} t_cases[T_MAX];
static int t_n;
static char t_dir[256];
static int t_passed;

void t_register(const char *name, t_fn fn, bool hidden) {
    if (t_n >= T_MAX) {
        fprintf(stderr, "too many tests in one file\n");
        exit(2);
    }
    t_cases[t_n].name = name;
    t_cases[t_n].fn = fn;
    t_cases[t_n].hidden = hidden;
    t_n++;
}

static void t_cleanup(void) {
    if (t_dir[0] && t_passed) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", t_dir);
        if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", t_dir);
    }
}

_Noreturn void t_skip_exit(void) {
    /* A skipped case has nothing worth keeping in its directory. */
    t_passed = 1;
    /* In CI every test must run: a missing package or data set is a failure
     * there, not a quiet skip. The reason was printed just before. */
    const char *ci = getenv("CI");
    if (ci && strcmp(ci, "true") == 0) {
        fprintf(stderr, "FAIL: a skipped test counts as failed when CI=true\n");
        exit(1);
    }
    exit(77);
}

const char *t_tmpdir(void) {
    if (!t_dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(t_dir, sizeof t_dir, "%s/simlearn-test-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(t_dir)) {
            perror("mkdtemp");
            exit(2);
        }
        atexit(t_cleanup);
    }
    return t_dir;
}

const char *t_path(const char *name) {
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, 512, "%s/%s", t_tmpdir(), name);
    return b;
}

void t_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

static size_t t_alloc_cap;
static void *cap_malloc(size_t n, void *ctx) {
    (void)ctx;
    return n > t_alloc_cap ? NULL : malloc(n);
}
static void *cap_realloc(void *p, size_t n, void *ctx) {
    (void)ctx;
    return n > t_alloc_cap ? NULL : realloc(p, n);
}
static void cap_free(void *p, void *ctx) {
    (void)ctx;
    free(p);
}
void t_cap_allocations(size_t max_bytes) {
    static const sl_allocator a = {cap_malloc, cap_realloc, cap_free, NULL};
    t_alloc_cap = max_bytes;
    sl_allocator_set(max_bytes ? &a : NULL);
}

int t_run(const char *cmd, char **out) {
    char full[8192];
    snprintf(full, sizeof full, "(%s) 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += r;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    if (buf) buf[len] = '\0';
    int st = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *t_simlearn(void) {
    const char *s = getenv("SIMLEARN");
    return s && *s ? s : "./simlearn";
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (int i = 0; i < t_n; i++)
            if (!t_cases[i].hidden) printf("%s\n", t_cases[i].name);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s --list | CASE\n", argv[0]);
        return 2;
    }
    for (int i = 0; i < t_n; i++)
        if (strcmp(t_cases[i].name, argv[1]) == 0) {
            t_cases[i].fn();
            t_passed = 1;
            return 0;
        }
    fprintf(stderr, "no test case named %s\n", argv[1]);
    return 2;
}

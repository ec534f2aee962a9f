/* Option parsing, validation and help text generated from a command's option
 * table; error printing shared by all commands. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "simlearn: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 2;
}

int cli_fail(sl_status s) {
    const char *d = sl_error_message();
    if (s == SL_ERR_INTERRUPTED) {
        /* Every rank of a distributed run stops at the same step: rank 0 says so. */
        if (sl_dist_rank() == 0) fprintf(stderr, "simlearn: %s\n", d && *d ? d : sl_status_str(s));
        return 130;
    }
    if (sl_dist_size() > 1)
        fprintf(stderr, "simlearn: rank %d of %d: error: %s\n", sl_dist_rank(), sl_dist_size(),
                d && *d ? d : sl_status_str(s));
    else
        fprintf(stderr, "simlearn: error: %s\n", d && *d ? d : sl_status_str(s));
    return 1;
}

/* ---- Ctrl-C ---------------------------------------------------------------*/

static volatile sig_atomic_t stop_flag;
static struct sigaction stop_old, stop_old_term;
static bool stop_caught, term_caught;

static void on_sigint(int sig) {
    (void)sig;
    if (stop_flag) _exit(130);
    stop_flag = 1;
}

const volatile sig_atomic_t *cli_stop_begin(void) {
    stop_flag = 0;
    if (!stop_caught) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigint;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        stop_caught = sigaction(SIGINT, &sa, &stop_old) == 0;
        /* mpirun turns a Ctrl-C into SIGTERM for every rank. */
        if (sl_dist_size() > 1) term_caught = sigaction(SIGTERM, &sa, &stop_old_term) == 0;
    }
    return &stop_flag;
}

void cli_stop_end(void) {
    if (stop_caught) sigaction(SIGINT, &stop_old, NULL);
    if (term_caught) sigaction(SIGTERM, &stop_old_term, NULL);
    stop_caught = term_caught = false;
}

/* The directory of the running binary, from /proc/self/exe; "" if unknown. */
static void exe_dir(char *dir, size_t cap) {
    ssize_t n = readlink("/proc/self/exe", dir, cap - 1);
    if (n <= 0) n = 0;
    dir[n] = 0;
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else dir[0] = 0;
}

char *cli_data_path(const char *name) {
    char dir[4096], cand[3][4200];
    int nc = 0;
    const char *env = getenv("SIMLEARN_DATA");
    if (env && *env) snprintf(cand[nc++], sizeof cand[0], "%s/%s", env, name);
    exe_dir(dir, sizeof dir);
    if (dir[0]) {
        snprintf(cand[nc++], sizeof cand[0], "%s/data/%s", dir, name);
        snprintf(cand[nc++], sizeof cand[0], "%s/../share/simlearn/%s", dir, name);
    }
    for (int i = 0; i < nc; i++)
        if (access(cand[i], R_OK) == 0) return strdup(cand[i]);
    return strdup(nc ? cand[0] : name);
}

char *cli_data_opt(const cli_args *a, const char *name) {
    const char *v = cli_str(a, name);
    if (!v || cli_given(a, name)) return strdup(v ? v : "");
    size_t cap = 1;
    char *list = strdup(v), *save = NULL, *out = calloc(1, 1);
    for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        char *path = cli_data_path(p);
        cap += strlen(path) + 1;
        char *grown = realloc(out, cap);
        if (!grown) break;
        out = grown;
        if (*out) strcat(out, ",");
        strcat(out, path);
        free(path);
    }
    free(list);
    return out;
}

sl_progress_mode cli_progress_mode(const cli_args *a) {
    return cli_flag(a, "quiet") ? SL_PROGRESS_QUIET : SL_PROGRESS_AUTO;
}

static int find_opt(const cli_spec *s, const char *name, size_t len) {
    for (int i = 0; s->opts && s->opts[i].name; i++)
        if (strlen(s->opts[i].name) == len && strncmp(s->opts[i].name, name, len) == 0) return i;
    return -1;
}

static int find_short(const cli_spec *s, char c) {
    for (int i = 0; s->opts && s->opts[i].name; i++)
        if (s->opts[i].short_name == c) return i;
    return -1;
}

static bool choice_ok(const char *choices, const char *v) {
    size_t n = strlen(v);
    const char *p = choices;
    while (p && *p) {
        const char *e = strchr(p, '|');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && strncmp(p, v, n) == 0) return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

/* Validate and convert one value; prints the error itself. */
static int set_value(const cli_opt *o, int i, const char *v, cli_args *a) {
    a->val[i] = v;
    char *end;
    switch (o->kind) {
    case CLI_FLAG:
        return 0;
    case CLI_INT: {
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || end == v || *end)
            return cli_usage_error("option --%s: '%s' is not an integer", o->name, v);
        if (o->min < o->max && ((double)x < o->min || (double)x > o->max))
            return cli_usage_error("option --%s: %lld is out of range [%g, %g]", o->name, x, o->min, o->max);
        a->ival[i] = x;
        a->fval[i] = (double)x;
        return 0;
    }
    case CLI_FLOAT: {
        errno = 0;
        double x = strtod(v, &end);
        if (errno || end == v || *end || !isfinite(x))
            return cli_usage_error("option --%s: '%s' is not a finite number", o->name, v);
        if (o->min < o->max && (x < o->min || x > o->max))
            return cli_usage_error("option --%s: %g is out of range [%g, %g]", o->name, x, o->min, o->max);
        a->fval[i] = x;
        return 0;
    }
    case CLI_STR:
        return 0;
    case CLI_CHOICE:
        if (!choice_ok(o->choices, v))
            return cli_usage_error("option --%s: '%s' is not one of %s", o->name, v, o->choices);
        return 0;
    }
    return 0;
}

void cli_print_help(const cli_spec *s, FILE *out) {
    fprintf(out, "usage: %s\n\n%s\n", s->usage, s->summary);
    if (s->opts && s->opts[0].name) {
        fprintf(out, "\noptions:\n");
        for (int i = 0; s->opts[i].name; i++) {
            const cli_opt *o = &s->opts[i];
            char left[96];
            const char *meta = o->kind == CLI_FLAG ? "" : o->kind == CLI_INT ? " N" : o->kind == CLI_FLOAT ? " X" : " S";
            if (o->short_name)
                snprintf(left, sizeof left, "  -%c, --%s%s", o->short_name, o->name, meta);
            else
                snprintf(left, sizeof left, "      --%s%s", o->name, meta);
            fprintf(out, "%-28s %s", left, o->help ? o->help : "");
            if (o->kind == CLI_CHOICE && o->choices) fprintf(out, " {%s}", o->choices);
            if (o->required)
                fprintf(out, " (required)");
            else if (o->def)
                fprintf(out, " [default: %s]", o->def);
            fputc('\n', out);
        }
    }
    fprintf(out, "  -h, --help                 show this help\n");
    if (s->epilog) fprintf(out, "\n%s\n", s->epilog);
}

/* The command's words from its usage line ("simlearn words train CORPUS ..."
 * gives "words train"), for the messages that point to its --help; fallback
 * when the usage does not start with "simlearn ". */
static const char *command_name(const cli_spec *s, const char *fallback, char *buf, size_t cap) {
    const char *u = s->usage;
    if (!u || strncmp(u, "simlearn ", 9) != 0) return fallback;
    u += 9;
    size_t n = 0;
    while (u[n] && (u[n] == ' ' || u[n] == '-' || (u[n] >= 'a' && u[n] <= 'z'))) {
        if (u[n] == ' ' && !(u[n + 1] >= 'a' && u[n + 1] <= 'z')) break; /* the next token is an argument */
        n++;
    }
    if (n == 0 || n >= cap) return fallback;
    memcpy(buf, u, n);
    buf[n] = '\0';
    return buf;
}

int cli_parse(const cli_spec *s, int argc, char **argv, cli_args *a) {
    memset(a, 0, sizeof *a);
    a->spec = s;
    /* Positional arguments are gathered in place at the front of argv (after
     * argv[0]); slots are only rewritten after they have been read, and option
     * values point at the strings, not at the slots. Nothing is allocated, so
     * no command has anything to free on any path. */
    a->pos = argv + 1;
    for (int i = 0; s->opts && s->opts[i].name; i++) {
        if (i >= CLI_MAX_OPTS) return cli_usage_error("internal: too many options");
        if (s->opts[i].def && s->opts[i].kind != CLI_FLAG && set_value(&s->opts[i], i, s->opts[i].def, a))
            return 2;
    }
    bool only_pos = false;
    for (int k = 1; k < argc; k++) {
        char *arg = argv[k];
        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            argv[1 + a->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            cli_print_help(s, stdout);
            return -1;
        }
        int i;
        const char *inline_val = NULL;
        if (arg[1] == '-') {
            const char *name = arg + 2, *eq = strchr(name, '=');
            i = find_opt(s, name, eq ? (size_t)(eq - name) : strlen(name));
            if (eq) inline_val = eq + 1;
        } else {
            i = arg[2] == '\0' ? find_short(s, arg[1]) : -1;
        }
        char name[64];
        if (i < 0)
            return cli_usage_error("%s: unknown option '%s' (see 'simlearn %s --help')", argv[0], arg,
                                   command_name(s, argv[0], name, sizeof name));
        const cli_opt *o = &s->opts[i];
        a->given[i] = true;
        if (o->kind == CLI_FLAG) {
            if (inline_val) return cli_usage_error("option --%s takes no value", o->name);
            a->val[i] = "1";
            continue;
        }
        const char *v = inline_val;
        if (!v) {
            if (k + 1 >= argc) return cli_usage_error("option --%s needs a value", o->name);
            v = argv[++k];
        }
        if (set_value(o, i, v, a)) return 2;
    }
    char name[64];
    for (int i = 0; s->opts && s->opts[i].name; i++)
        if (s->opts[i].required && !a->given[i])
            return cli_usage_error("%s: option --%s is required (see 'simlearn %s --help')", argv[0], s->opts[i].name,
                                   command_name(s, argv[0], name, sizeof name));
    if (a->npos < s->min_pos)
        return cli_usage_error("%s: expected %s%d argument%s, got %d\nusage: %s", argv[0],
                               s->max_pos == s->min_pos ? "" : "at least ", s->min_pos, s->min_pos == 1 ? "" : "s",
                               a->npos, s->usage);
    if (s->max_pos >= 0 && a->npos > s->max_pos)
        return cli_usage_error("%s: expected at most %d argument%s, got %d ('%s' is extra)\nusage: %s", argv[0],
                               s->max_pos, s->max_pos == 1 ? "" : "s", a->npos, a->pos[s->max_pos], s->usage);
    return 0;
}

static int must_find(const cli_args *a, const char *name) {
    int i = find_opt(a->spec, name, strlen(name));
    if (i < 0) {
        fprintf(stderr, "internal error: option --%s is not in the table of '%s'\n", name, a->spec->usage);
        abort();
    }
    return i;
}

bool cli_has(const cli_args *a, const char *name) { return find_opt(a->spec, name, strlen(name)) >= 0; }
bool cli_flag(const cli_args *a, const char *name) { return a->given[must_find(a, name)]; }
bool cli_given(const cli_args *a, const char *name) { return a->given[must_find(a, name)]; }
long long cli_int(const cli_args *a, const char *name) { return a->ival[must_find(a, name)]; }
double cli_float(const cli_args *a, const char *name) { return a->fval[must_find(a, name)]; }
const char *cli_str(const cli_args *a, const char *name) { return a->val[must_find(a, name)]; }

int cli_one_process(const char *name) {
    if (sl_dist_rank() == 0)
        fprintf(stderr, "simlearn: error: 'simlearn %s' runs as one process; start it without mpirun (or with -np 1)\n",
                name);
    return 2;
}

int cli_dispatch(const char *prog, const cli_sub *subs, int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        FILE *out = argc < 2 ? stderr : stdout;
        fprintf(out, "usage: simlearn %s <subcommand> [options]\n\nsubcommands:\n", prog);
        for (int i = 0; subs[i].name; i++) fprintf(out, "  %-12s %s\n", subs[i].name, subs[i].summary);
        fprintf(out, "\n'simlearn %s <subcommand> --help' shows its options.\n", prog);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 0; subs[i].name; i++) {
        if (strcmp(argv[1], subs[i].name) != 0) continue;
        if (sl_dist_size() > 1 && !subs[i].distributed) {
            char name[64];
            snprintf(name, sizeof name, "%s %s", prog, subs[i].name);
            return cli_one_process(name);
        }
        return subs[i].run(argc - 1, argv + 1);
    }
    return cli_usage_error("%s: unknown subcommand '%s' (see 'simlearn %s --help')", prog, argv[1], prog);
}

int cli_data_config(const cli_args *a, const char *source, sl_data_config *dc) {
    sl_data_config_default(dc);
    dc->source = source ? source : cli_str(a, "data");
    if (sl_split_parse(cli_str(a, "split"), &dc->split)) return cli_usage_error("option --split: %s", sl_error_message());
    dc->seed = (uint64_t)cli_int(a, "data-seed");
    dc->size = (int)cli_int(a, "size");
    dc->channels = (int)cli_int(a, "channels");
    if (dc->channels == 2) return cli_usage_error("option --channels: 2 is not 1 or 3");
    dc->labels = cli_str(a, cli_has(a, "data-labels") ? "data-labels" : "labels");
    dc->image_dir = cli_str(a, "image-dir");
    dc->val_fraction = cli_float(a, "val-fraction");
    dc->test_fraction = cli_float(a, "test-fraction");
    if (cli_has(a, "count")) dc->shapes_count = (size_t)cli_int(a, "count");
    dc->shapes_rotate = cli_flag(a, "rotate");
    dc->shapes_noise = (float)cli_float(a, "noise");
    return 0;
}

/* A comma-separated list of integers (into int64_t) or numbers (into double)
 * in [min, max]. */
static int num_list(const char *opt, const char *s, bool integers, double min, double max, void **out, size_t *n) {
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    void *v = malloc(cap * sizeof(int64_t)); /* as large as a double */
    if (!v) return cli_usage_error("out of memory");
    size_t k = 0;
    for (const char *p = s;; k++) {
        char *end;
        errno = 0;
        bool ok;
        if (integers) {
            long long x = strtoll(p, &end, 10);
            ok = !errno && (double)x >= min && (double)x <= max;
            ((int64_t *)v)[k] = x;
        } else {
            double x = strtod(p, &end);
            ok = !errno && isfinite(x) && x >= min && x <= max;
            ((double *)v)[k] = x;
        }
        if (!ok || end == p || (*end != ',' && *end != '\0')) {
            free(v);
            char what[64];
            if (integers) snprintf(what, sizeof what, "%sintegers", min > 0 ? "positive " : "");
            else snprintf(what, sizeof what, "numbers >= %g", min);
            return cli_usage_error("option --%s: '%s' is not a comma-separated list of %s", opt, s, what);
        }
        if (*end == '\0') break;
        p = end + 1;
    }
    *out = v;
    *n = k + 1;
    return 0;
}

int cli_int_list(const char *opt, const char *s, long long min, long long max, int64_t **out, size_t *n) {
    void *v;
    int rc = num_list(opt, s, true, (double)min, (double)max, &v, n);
    if (!rc) *out = v;
    return rc;
}

int cli_float_list(const char *opt, const char *s, double min, double max, double **out, size_t *n) {
    void *v;
    int rc = num_list(opt, s, false, min, max, &v, n);
    if (!rc) *out = v;
    return rc;
}

int cli_read_labels(const char *path, size_t want, const char *what, int64_t **out) {
    return cli_read_ints(path, want, "labels", what, out);
}

int cli_read_ints(const char *path, size_t want, const char *noun, const char *what, int64_t **out) {
    size_t n;
    sl_status s = sl_npy_read_labels(path, out, &n);
    if (s) return cli_fail(s);
    if (n != want) {
        fprintf(stderr, "simlearn: error: %s has %zu %s but there are %zu %s\n", path, n, noun, want, what);
        sl_allocator_free(*out);
        *out = NULL;
        return 1;
    }
    return 0;
}

int cli_write_neighbours(const char *ids_out, const char *scores_out, const int64_t *ids, const float *sc, size_t nq,
                         size_t k, bool print) {
    sl_status s = SL_OK;
    if (ids_out) {
        sl_array arr = {.dtype = SL_I64, .ndim = 2, .shape = {nq, k}, .data = (void *)ids};
        s = sl_npy_write(ids_out, &arr);
    }
    if (!s && scores_out) s = sl_npy_write_matrix(scores_out, sc, nq, k);
    if (s) return cli_fail(s);
    for (size_t i = 0; print && !ids_out && !scores_out && i < nq; i++) {
        printf("%zu:", i);
        for (size_t j = 0; j < k; j++)
            if (ids[i * k + j] >= 0) printf(" %lld(%.6g)", (long long)ids[i * k + j], (double)sc[i * k + j]);
        printf("\n");
    }
    return 0;
}

int cli_alloc_results(size_t nq, size_t k, int64_t **ids, float **scores) {
    size_t nk;
    *ids = NULL, *scores = NULL;
    if (sl_size_mul(nq, k, &nk) && nk <= SIZE_MAX / sizeof(int64_t)) {
        *ids = malloc(nk * sizeof **ids);
        *scores = malloc(nk * sizeof **scores);
    }
    if (*ids && *scores) return 0;
    free(*ids), free(*scores);
    *ids = NULL, *scores = NULL;
    fprintf(stderr, "simlearn: error: out of memory for %zu x %zu results\n", nq, k);
    return 1;
}

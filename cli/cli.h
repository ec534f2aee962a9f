/* The CLI frame: each command has one option table that drives parsing,
 * validation and --help (with defaults). Commands only call the library. */
#ifndef SIMLEARN_CLI_H
#define SIMLEARN_CLI_H

#include "simlearn.h"

#include <signal.h>
#include <stdbool.h>

typedef enum {
    CLI_FLAG,   /* --name, no value */
    CLI_INT,    /* integer, checked against [min, max] when min < max */
    CLI_FLOAT,  /* finite number, checked against [min, max] when min < max */
    CLI_STR,    /* any text */
    CLI_CHOICE  /* one of the '|'-separated names in `choices` */
} cli_kind;

typedef struct cli_opt {
    const char *name; /* long name without dashes, e.g. "lr" */
    char short_name;  /* e.g. 'o', or 0 */
    cli_kind kind;
    const char *def;  /* default as text (shown in --help), or NULL */
    const char *help;
    const char *choices; /* CLI_CHOICE: "cosine|dot|l2" */
    double min, max;     /* numeric range, used when min < max */
    bool required;
} cli_opt;

typedef struct cli_spec {
    const char *usage;   /* "simlearn info FILE..." */
    const char *summary; /* one or more sentences shown under the usage */
    const cli_opt *opts; /* terminated by an entry with name NULL */
    int min_pos, max_pos; /* positional argument counts; max_pos < 0: no limit */
    const char *epilog;   /* examples, shown after the options (may be NULL) */
} cli_spec;

#define CLI_MAX_OPTS 64
typedef struct cli_args {
    const cli_spec *spec;
    const char *val[CLI_MAX_OPTS]; /* value text (given or default), NULL if none */
    bool given[CLI_MAX_OPTS];
    long long ival[CLI_MAX_OPTS];
    double fval[CLI_MAX_OPTS];
    int npos;
    char **pos;
} cli_args;

/* Parse argv (argv[0] is the command's name). Returns 0 on success, 2 after
 * printing a usage error, and -1 after printing --help (the caller then exits 0). */
int cli_parse(const cli_spec *spec, int argc, char **argv, cli_args *out);
void cli_print_help(const cli_spec *spec, FILE *out);

/* Accessors by long name; asking for a name the table lacks is a bug and aborts. */
bool cli_has(const cli_args *a, const char *name); /* whether the table has the option (never aborts) */
bool cli_flag(const cli_args *a, const char *name);
bool cli_given(const cli_args *a, const char *name);
long long cli_int(const cli_args *a, const char *name);
double cli_float(const cli_args *a, const char *name);
const char *cli_str(const cli_args *a, const char *name); /* NULL if unset */

/* Common options, shared so every command spells them the same way. */
#define CLI_OPT_THREADS {"threads", 0, CLI_INT, "0", "worker threads (0 = all cores)", NULL, 0, 4096, false}
#define CLI_OPT_SEED {"seed", 0, CLI_INT, "1", "random seed", NULL, 0, 9.2e18, false}
#define CLI_OPT_QUIET {"quiet", 'q', CLI_FLAG, NULL, "no progress output", NULL, 0, 0, false}
#define CLI_OPT_END {NULL, 0, CLI_FLAG, NULL, NULL, NULL, 0, 0, false}

/* ---- dataset options ------------------------------------------------------
 * One group for every command that opens a dataset, read by cli_data_config.
 * CLI_DATA_OPTS(split) has the sources' defaults; CLI_DATA_OPTS_MODEL(split)
 * is for commands that read a model, where a setting left unset comes from
 * the model's checkpoint. `split` is the command's default split. Commands
 * that take the source as an option put CLI_OPT_DATA(default, help) before
 * the group; most also take CLI_OPT_DATA_COUNT. */
#define CLI_OPT_DATA(def, help) {"data", 0, CLI_STR, def, help, NULL, 0, 0, false}
#define CLI_OPT_DATA_COUNT(help) {"count", 0, CLI_INT, "0", help, NULL, 0, 1e12, false}
#define CLI_DATA_OPT_SPLIT(def) {"split", 0, CLI_CHOICE, def, "which split", "train|val|test|all", 0, 0, false}
#define CLI_DATA_OPT_ROTATE(help) {"rotate", 0, CLI_FLAG, NULL, help, NULL, 0, 0, false}
#define CLI_DATA_OPTS(split)                                                                                          \
    CLI_DATA_OPT_SPLIT(split),                                                                                        \
        {"data-seed", 0, CLI_INT, "0", "seed of the shapes world and of the other sources' splits", NULL, 0, 9.2e18,   \
         false},                                                                                                      \
        {"size", 0, CLI_INT, "0", "image side (0 = 32 for shapes, 64 for image folders and caption lists)", NULL, 0,   \
         4096, false},                                                                                                \
        {"channels", 0, CLI_INT, "0", "image folders and caption lists: 1 or 3 channels (0 = 3)", NULL, 0, 3, false},  \
        {"labels", 0, CLI_STR, NULL, ".npy sources: labels (.npy, one integer per row)", NULL, 0, 0, false},           \
        {"image-dir", 0, CLI_STR, NULL, "caption lists: folder of the images (default: the list's folder)", NULL, 0, 0, \
         false},                                                                                                      \
        {"val-fraction", 0, CLI_FLOAT, "-1",                                                                          \
         "share of the data held out as the validation split (-1 = the source's default: none for IDX, 0.1 "          \
         "otherwise)",                                                                                                \
         NULL, -1, 0.99, false},                                                                                      \
        {"test-fraction", 0, CLI_FLOAT, "-1", "share held out as the test split, not for shapes or IDX (-1 = 0.1)",    \
         NULL, -1, 0.99, false},                                                                                      \
        CLI_DATA_OPT_ROTATE("shapes: rotate each shape"),                                                              \
        {"noise", 0, CLI_FLOAT, "0", "shapes: standard deviation of the background noise", NULL, 0, 1, false}
#define CLI_DATA_OPTS_MODEL(split)                                                                                    \
    CLI_DATA_OPT_SPLIT(split),                                                                                        \
        {"data-seed", 0, CLI_INT, "0", "seed of the shapes world and of the other sources' splits (0 = the model's)",  \
         NULL, 0, 9.2e18, false},                                                                                     \
        {"size", 0, CLI_INT, "0", "image side (0 = the model's)", NULL, 0, 4096, false},                               \
        {"channels", 0, CLI_INT, "0", "image folders and caption lists: 1 or 3 channels (0 = the model's)", NULL, 0, 3, \
         false},                                                                                                      \
        {"image-dir", 0, CLI_STR, NULL, "caption lists: folder of the images (default: the model's with its data, "    \
         "else the list's folder)", NULL, 0, 0, false},                                                               \
        {"val-fraction", 0, CLI_FLOAT, "-1",                                                                          \
         "share held out as the validation split (-1 = the model's setting, else the source's default)", NULL, -1,    \
         0.99, false},                                                                                                \
        {"test-fraction", 0, CLI_FLOAT, "-1", "share held out as the test split (-1 = the model's setting, else 0.1)", \
         NULL, -1, 0.99, false},                                                                                      \
        CLI_DATA_OPT_ROTATE("shapes: rotate each shape (also on when the model was trained so)"),                      \
        {"noise", 0, CLI_FLOAT, "-1", "shapes: standard deviation of the background noise (-1 = the model's)", NULL,   \
         -1, 1, false}
/* The labels file of a .npy source under CLI_DATA_OPTS_MODEL; its name is
 * the command's choice (`report` has a --labels of its own). */
#define CLI_OPT_DATA_LABELS(name) \
    {name, 0, CLI_STR, NULL, ".npy sources: labels (.npy, one integer per row; default: the model's with its data)", NULL, 0, 0, false}

/* Fill dc from the dataset options: the source is `source` (a positional
 * argument) or else --data (NULL when not given), the labels file is
 * --data-labels where the table has it, else --labels. Settings left unset
 * keep the values that mean "unset" (as sl_embed_config reads them).
 * Returns 0, or 2 after printing a usage error. */
int cli_data_config(const cli_args *a, const char *source, sl_data_config *dc);

/* Parse a comma-separated list of integers ("1,5,10") or of finite numbers
 * ("1e-3,1e-4") in [min, max] into a malloc'ed array. Returns 0, or 2 after
 * a usage error naming --opt. */
int cli_int_list(const char *opt, const char *s, long long min, long long max, int64_t **out, size_t *n);
int cli_float_list(const char *opt, const char *s, double min, double max, double **out, size_t *n);

/* Read labels (.npy) that must number `want`: otherwise the error says
 * "FILE has N labels but there are WANT <what>". Returns 0 or 1. */
int cli_read_labels(const char *path, size_t want, const char *what, int64_t **out);
/* The same for other integers, such as ids: "FILE has N <noun> but there
 * are WANT <what>". */
int cli_read_ints(const char *path, size_t want, const char *noun, const char *what, int64_t **out);
/* Neighbour lists (nq x k ids and scores): allocate them (the size checked
 * for overflow), and write them to --ids-out / --scores-out files, or print
 * them as "query: id(score) ..." when neither is given and `print`. */
int cli_alloc_results(size_t nq, size_t k, int64_t **ids, float **scores);
int cli_write_neighbours(const char *ids_out, const char *scores_out, const int64_t *ids, const float *sc, size_t nq,
                         size_t k, bool print);

/* Print "simlearn: error: <detail>" for a failed library call; returns 1.
 * For SL_ERR_INTERRUPTED, "simlearn: <detail>" and 130 (the exit status of a
 * process ended by Ctrl-C). */
int cli_fail(sl_status s);
/* Ctrl-C during a long library call (training, word vectors, an index build,
 * t-SNE, the probe, embedding). cli_stop_begin catches SIGINT and returns the
 * flag to put in the call's `stop` field (its config's, or sl_hnsw_add's
 * argument): the first Ctrl-C sets it, the call stops within about a second
 * and returns SL_ERR_INTERRUPTED, and the command saves what it should (a
 * checkpoint, or nothing) and exits 130 (cli_fail(SL_ERR_INTERRUPTED) returns
 * it). A second Ctrl-C exits 130 at once. cli_stop_end puts the previous
 * SIGINT action back; it may be called without cli_stop_begin. */
const volatile sig_atomic_t *cli_stop_begin(void);
void cli_stop_end(void);
/* Print "simlearn: <fmt>" as a usage error; returns 2. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The path of a data file shipped with simlearn (data/README.md): the first
 * readable one of $SIMLEARN_DATA/NAME, <binary's dir>/data/NAME and
 * <binary's dir>/../share/simlearn/NAME; if none is readable, NAME under the
 * first candidate, so that the error names a place to look. Returns a
 * malloc'ed string. */
char *cli_data_path(const char *name);
/* The value of a file option whose default names shipped data files (a
 * comma-separated list of bare names): the given value as it is, or else
 * each default name resolved by cli_data_path. Returns a malloc'ed string. */
char *cli_data_opt(const cli_args *a, const char *name);
/* Progress mode from --quiet. */
sl_progress_mode cli_progress_mode(const cli_args *a);

/* A command: run() gets argv with argv[0] = the command's name. */
typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    bool distributed; /* runs as several ranks under mpirun (the others refuse to) */
} cli_command;

/* Sub-commands ("simlearn index build ..."): dispatch on argv[1]. */
typedef struct cli_sub {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    bool distributed; /* runs as several ranks under mpirun (the others refuse to) */
} cli_sub;
/* Under mpirun: rank 0 says that 'simlearn NAME' runs as one process;
 * returns the usage-error status 2. */
int cli_one_process(const char *name);
int cli_dispatch(const char *prog, const cli_sub *subs, int argc, char **argv);

/* simlearn knn graph / knn path (cli/knngraph.c): argv[0] is the subcommand. */
int cli_knn_graph(int argc, char **argv);
int cli_knn_path(int argc, char **argv);

#endif

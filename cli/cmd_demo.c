/* simlearn demo: two encoders trained on the shapes world in a couple of
 * minutes, a table of what each representation keeps, and an HTML report
 * (simlearn report) of the run. */
#include "cli.h"

#include <string.h>

/* The report of the run is written by the report command itself. */
extern const cli_command cli_cmd_report;


static const cli_opt opts[] = {
    {"output", 'o', CLI_STR, "demo-out", "folder for the models and embeddings", NULL, 0, 0, false},
    {"steps", 0, CLI_INT, "200", "training steps of each model", NULL, 1, 1e9, false},
    CLI_OPT_SEED,
    CLI_OPT_THREADS,
    CLI_OPT_QUIET,
    CLI_OPT_END,
};

static const cli_spec spec = {
    "simlearn demo [-o DIR]",
    "On the shapes world: train a contrastive encoder whose two views differ in colour and by a shift of up to "
    "3 pixels, and an autoencoder; embed the validation split and print the kNN accuracy of every attribute for raw pixels, "
    "the autoencoder and the contrastive encoder. A representation that keeps an attribute classifies it well; "
    "one that is invariant to it falls toward chance. Ends by writing DIR/report.html (see simlearn report).",
    opts, 0, 0, NULL};

static int run(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    sl_demo_config c;
    sl_demo_config_default(&c);
    c.out_dir = cli_str(&a, "output");
    c.steps = (size_t)cli_int(&a, "steps");
    c.threads = (int)cli_int(&a, "threads");
    c.seed = (uint64_t)cli_int(&a, "seed");
    c.progress_stream = stderr;
    c.progress_mode = cli_progress_mode(&a);
    c.stop = cli_stop_begin();
    sl_demo_result r;
    sl_status s = sl_demo_run(&c, &r);
    cli_stop_end();
    if (s) return cli_fail(s);
    printf("\nkNN accuracy (k=10, cosine, leave-one-out) on %zu validation shapes:\n\n", r.n_val);
    printf("%-26s", "representation");
    for (int k = 0; k < r.n_attrs; k++) printf(" %9s", r.attr_names[k]);
    printf("\n%-26s", "chance (most common class)");
    for (int k = 0; k < r.n_attrs; k++) printf(" %8.1f%%", 100 * r.chance[k]);
    printf("\n");
    for (int m = 0; m < SL_DEMO_REPS; m++) {
        printf("%-26s", r.rep_names[m]);
        for (int k = 0; k < r.n_attrs; k++) printf(" %8.1f%%", 100 * r.acc[m][k]);
        printf("\n");
    }
    /* Say what the table shows, from the numbers rather than from hope. */
    printf("\nThe contrastive encoder saw two views of each shape that differ in colour and by a small shift:\n");
    printf("  color     %5.1f%%  (raw pixels %5.1f%%, chance %4.1f%%)  %s\n", 100 * r.acc[2][1], 100 * r.acc[0][1],
           100 * r.chance[1],
           r.acc[0][1] - r.acc[2][1] > 0.2 ? "it learned to ignore colour" : "not yet invariant: train longer (--steps)");
    printf("  shape     %5.1f%%  (raw pixels %5.1f%%)\n", 100 * r.acc[2][0], 100 * r.acc[0][0]);
    printf("  location  %5.1f%%  (raw pixels %5.1f%%)\n", 100 * r.acc[2][3], 100 * r.acc[0][3]);
    printf("Models and embeddings are in %s/ (%.0f s).\n\n", c.out_dir, r.seconds);
    fflush(stdout);
    /* The report: neighbour grids, maps and tables of the three representations. */
    char threads[32], seed[32], out[4096];
    snprintf(threads, sizeof threads, "%lld", cli_int(&a, "threads"));
    snprintf(seed, sizeof seed, "%lld", cli_int(&a, "seed"));
    snprintf(out, sizeof out, "%s/report.html", c.out_dir);
    char *rargv[] = {"report", (char *)c.out_dir, "-o", out, "--threads", threads, "--seed", seed, "-q", NULL};
    int rargc = cli_flag(&a, "quiet") ? 9 : 8;
    rc = cli_cmd_report.run(rargc, rargv);
    if (rc) return rc;
    printf("Open the report: %s\n", out);
    return 0;
}

const cli_command cli_cmd_demo = {"demo", "train and compare encoders on the shapes world (about a minute)", run, false};

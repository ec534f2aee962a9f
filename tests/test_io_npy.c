/* Tests of .npy reading and writing: every dtype and rank, version 1/2/3
 * headers, numpy interop in both directions, the matrix and label helpers,
 * and malformed files of every kind. */
#include "test.h"

#include <stdint.h>

/* Write a .npy file by hand: magic, version, header length, dict padded with
 * spaces and '\n' to a multiple of 64, then ndata bytes 0, 1, 2, ... */
static const char *hand_npy(const char *name, int major, const char *dict, size_t ndata) {
    const char *p = t_path(name);
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64, hlen = total - pre;
    unsigned char *b = calloc(1, total + ndata);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    for (size_t k = 0; k < pre - 8; k++) b[8 + k] = (unsigned char)(hlen >> (8 * k));
    memcpy(b + pre, dict, dl);
    memset(b + pre + dl, ' ', hlen - dl - 1);
    b[total - 1] = '\n';
    for (size_t i = 0; i < ndata; i++) b[total + i] = (unsigned char)(i * 7);
    t_write_file(p, b, total + ndata);
    free(b);
    return p;
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    ASSERT_TRUE(f != NULL);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n + 1);
    ASSERT_TRUE(fread(b, 1, *n, f) == *n);
    fclose(f);
    b[*n] = 0;
    return b;
}

TEST(round_trip_every_dtype_and_rank) {
    const sl_dtype types[] = {SL_F32, SL_F64, SL_I32, SL_I64, SL_U8};
    const size_t shapes[][3] = {{0, 0, 0}, {7, 0, 0}, {3, 5, 0}, {2, 3, 4}, {0, 3, 0}};
    const int ndims[] = {0, 1, 2, 3, 2};
    for (int t = 0; t < 5; t++)
        for (int s = 0; s < 5; s++) {
            sl_array a, b;
            ASSERT_OK(sl_array_alloc(&a, types[t], ndims[s], shapes[s]));
            size_t bytes = sl_array_count(&a) * sl_dtype_size(types[t]);
            for (size_t i = 0; i < bytes; i++) ((unsigned char *)a.data)[i] = (unsigned char)(i * 13 + 1);
            if (types[t] == SL_F32 || types[t] == SL_F64)
                for (size_t i = 0; i < sl_array_count(&a); i++) {
                    if (types[t] == SL_F32) ((float *)a.data)[i] = (float)i * 0.25f - 3;
                    else ((double *)a.data)[i] = (double)i / 3.0;
                }
            const char *p = t_path("a.npy");
            ASSERT_OK(sl_npy_write(p, &a));
            ASSERT_OK(sl_npy_read(p, &b));
            ASSERT_EQ_INT(b.dtype, types[t]);
            ASSERT_EQ_INT(b.ndim, ndims[s]);
            for (int k = 0; k < b.ndim; k++) ASSERT_EQ_SIZE(b.shape[k], a.shape[k]);
            ASSERT_TRUE(bytes == 0 || memcmp(a.data, b.data, bytes) == 0);
            sl_array_destroy(&a);
            sl_array_destroy(&b);
        }
}

TEST(written_header_is_version_1_aligned_to_64) {
    sl_array a;
    size_t sh[2] = {3, 5};
    ASSERT_OK(sl_array_alloc(&a, SL_F32, 2, sh));
    ASSERT_OK(sl_npy_write(t_path("h.npy"), &a));
    size_t n;
    unsigned char *b = slurp(t_path("h.npy"), &n);
    ASSERT_TRUE(memcmp(b, "\x93NUMPY\x01\x00", 8) == 0);
    size_t hlen = (size_t)b[8] | (size_t)b[9] << 8;
    ASSERT_EQ_INT((10 + hlen) % 64, 0);
    ASSERT_EQ_INT(b[10 + hlen - 1], '\n');
    ASSERT_TRUE(memcmp(b + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }", 59) == 0);
    ASSERT_EQ_SIZE(n, 10 + hlen + 60);
    free(b);
    sl_array_destroy(&a);
    /* A 1-D shape is written with numpy's trailing comma. */
    size_t s1 = 4;
    ASSERT_OK(sl_array_alloc(&a, SL_U8, 1, &s1));
    ASSERT_OK(sl_npy_write(t_path("h1.npy"), &a));
    b = slurp(t_path("h1.npy"), &n);
    ASSERT_CONTAINS((char *)b + 10, "'descr': '|u1'");
    ASSERT_CONTAINS((char *)b + 10, "'shape': (4,)");
    free(b);
    sl_array_destroy(&a);
}

TEST(reads_version_2_and_3_headers_written_by_hand) {
    sl_array a;
    ASSERT_OK(sl_npy_read(hand_npy("v2.npy", 2, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", 16),
                          &a));
    ASSERT_EQ_INT(a.dtype, SL_I32);
    ASSERT_EQ_SIZE(a.shape[1], 2);
    int32_t v1;
    memcpy(&v1, (char *)a.data + 4, 4);
    ASSERT_EQ_INT(v1, 28 | 35 << 8 | 42 << 16 | 49 << 24);
    sl_array_destroy(&a);
    ASSERT_OK(sl_npy_read(hand_npy("v3.npy", 3, "{\"descr\":\"<f8\",\"fortran_order\":False,\"shape\":(1,)}", 8), &a));
    ASSERT_EQ_INT(a.dtype, SL_F64);
    sl_array_destroy(&a);
    /* A big v2 header: numpy switches to v2 past 65535 bytes; readers must
     * take the 4-byte length. */
    char dict[70000];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }");
    memset(dict + n, ' ', 66000);
    dict[n + 66000] = 0;
    ASSERT_OK(sl_npy_read(hand_npy("v2big.npy", 2, dict, 4), &a));
    ASSERT_EQ_SIZE(a.shape[0], 1);
    sl_array_destroy(&a);
}

TEST(matrix_and_label_helpers) {
    float m[6] = {1, 2, 3, 4, 5, 6};
    ASSERT_OK(sl_npy_write_matrix(t_path("m.npy"), m, 2, 3));
    float *d;
    size_t r, c;
    ASSERT_OK(sl_npy_read_matrix(t_path("m.npy"), &d, &r, &c));
    ASSERT_TRUE(r == 2 && c == 3 && d[5] == 6);
    sl_allocator_free(d);
    int64_t l[4] = {3, -1, 0, 1LL << 40};
    ASSERT_OK(sl_npy_write_labels(t_path("l.npy"), l, 4));
    int64_t *ld;
    size_t n;
    ASSERT_OK(sl_npy_read_labels(t_path("l.npy"), &ld, &n));
    ASSERT_TRUE(n == 4 && ld[3] == (1LL << 40) && ld[1] == -1);
    sl_allocator_free(ld);
    /* Matrices from other dtypes are converted; 1-D becomes n x 1. */
    ASSERT_OK(sl_npy_read_matrix(t_path("l.npy"), &d, &r, &c));
    ASSERT_TRUE(r == 4 && c == 1 && d[1] == -1.0f);
    sl_allocator_free(d);
    /* Integral floats are valid labels. */
    double fl[3] = {1, 2, 7};
    sl_array a = {.dtype = SL_F64, .ndim = 1, .shape = {3}, .data = fl};
    ASSERT_OK(sl_npy_write(t_path("fl.npy"), &a));
    ASSERT_OK(sl_npy_read_labels(t_path("fl.npy"), &ld, &n));
    ASSERT_TRUE(n == 3 && ld[2] == 7);
    sl_allocator_free(ld);
}

TEST(matrix_rejects_nan_inf_and_wrong_rank) {
    float m[6] = {1, 2, 3, 4, NAN, 6};
    ASSERT_OK(sl_npy_write_matrix(t_path("nan.npy"), m, 2, 3));
    float *d = NULL;
    size_t r, c;
    ASSERT_FAILS(sl_npy_read_matrix(t_path("nan.npy"), &d, &r, &c), SL_ERR_NUMERIC, "row 1, column 1: value is nan");
    ASSERT_TRUE(d == NULL);
    m[4] = -INFINITY;
    ASSERT_OK(sl_npy_write_matrix(t_path("inf.npy"), m, 2, 3));
    ASSERT_FAILS(sl_npy_read_matrix(t_path("inf.npy"), &d, &r, &c), SL_ERR_NUMERIC, "value is -inf");
    double big = 1e300;
    sl_array a = {.dtype = SL_F64, .ndim = 1, .shape = {1}, .data = &big};
    ASSERT_OK(sl_npy_write(t_path("big.npy"), &a));
    ASSERT_FAILS(sl_npy_read_matrix(t_path("big.npy"), &d, &r, &c), SL_ERR_NUMERIC, "row 0, column 0");
    size_t sh[3] = {2, 2, 2};
    ASSERT_OK(sl_array_alloc(&a, SL_F32, 3, sh));
    ASSERT_OK(sl_npy_write(t_path("3d.npy"), &a));
    sl_array_destroy(&a);
    ASSERT_FAILS(sl_npy_read_matrix(t_path("3d.npy"), &d, &r, &c), SL_ERR_FORMAT, "found 3 dimensions");
}

TEST(labels_reject_non_integers) {
    float f[3] = {1, 2.5f, 3};
    sl_array a = {.dtype = SL_F32, .ndim = 1, .shape = {3}, .data = f};
    ASSERT_OK(sl_npy_write(t_path("f.npy"), &a));
    int64_t *l = NULL;
    size_t n;
    ASSERT_FAILS(sl_npy_read_labels(t_path("f.npy"), &l, &n), SL_ERR_FORMAT, "element 1 is 2.5, expected an integer");
    f[1] = NAN;
    ASSERT_OK(sl_npy_write(t_path("f.npy"), &a));
    ASSERT_FAILS(sl_npy_read_labels(t_path("f.npy"), &l, &n), SL_ERR_FORMAT, "element 1 is nan");
    size_t sh[2] = {2, 3};
    ASSERT_OK(sl_array_alloc(&a, SL_I64, 2, sh));
    ASSERT_OK(sl_npy_write(t_path("2d.npy"), &a));
    sl_array_destroy(&a);
    ASSERT_FAILS(sl_npy_read_labels(t_path("2d.npy"), &l, &n), SL_ERR_FORMAT, "expected a 1-D array of labels");
    ASSERT_TRUE(l == NULL);
}

TEST(int_matrix_reads_integer_pairs_and_rejects_the_rest) {
    int32_t p[6] = {0, 1, 2, 3, 4, -5};
    sl_array a = {.dtype = SL_I32, .ndim = 2, .shape = {3, 2}, .data = p};
    ASSERT_OK(sl_npy_write(t_path("p.npy"), &a));
    int64_t *d = NULL;
    size_t r, c;
    ASSERT_OK(sl_npy_read_int_matrix(t_path("p.npy"), &d, &r, &c));
    ASSERT_TRUE(r == 3 && c == 2 && d[0] == 0 && d[3] == 3 && d[5] == -5);
    sl_allocator_free(d);
    double f[4] = {1, 2, 3, 4.5};
    a = (sl_array){.dtype = SL_F64, .ndim = 2, .shape = {2, 2}, .data = f};
    ASSERT_OK(sl_npy_write(t_path("f.npy"), &a));
    d = NULL;
    ASSERT_FAILS(sl_npy_read_int_matrix(t_path("f.npy"), &d, &r, &c), SL_ERR_FORMAT,
                 "row 1, column 1: value is 4.5, expected an integer");
    ASSERT_TRUE(d == NULL);
    f[3] = 4; /* integral floats are read; a vector is one column */
    a = (sl_array){.dtype = SL_F64, .ndim = 1, .shape = {4}, .data = f};
    ASSERT_OK(sl_npy_write(t_path("v.npy"), &a));
    ASSERT_OK(sl_npy_read_int_matrix(t_path("v.npy"), &d, &r, &c));
    ASSERT_TRUE(r == 4 && c == 1 && d[3] == 4);
    sl_allocator_free(d);
    size_t sh[3] = {2, 2, 2};
    ASSERT_OK(sl_array_alloc(&a, SL_I64, 3, sh));
    ASSERT_OK(sl_npy_write(t_path("3d.npy"), &a));
    sl_array_destroy(&a);
    ASSERT_FAILS(sl_npy_read_int_matrix(t_path("3d.npy"), &d, &r, &c), SL_ERR_FORMAT, "found 3 dimensions");
}

static void expect_bad(const char *path, sl_status st, const char *frag) {
    sl_array a = {0};
    ASSERT_FAILS(sl_npy_read(path, &a), st, frag);
    ASSERT_TRUE(a.data == NULL);
    ASSERT_CONTAINS(sl_error_message(), path);
}

#define D(descr, fo, shape) "{'descr': '" descr "', 'fortran_order': " fo ", 'shape': " shape ", }"

TEST(rejects_bad_magic_and_versions) {
    const char *p = t_path("bad.npy");
    t_write_file(p, "PK\x03\x04 this is a zip", 19);
    expect_bad(p, SL_ERR_FORMAT, "byte 0: not a .npy file");
    t_write_file(p, "\x93NUM", 4);
    expect_bad(p, SL_ERR_FORMAT, "not a .npy file");
    t_write_file(p, "", 0);
    expect_bad(p, SL_ERR_FORMAT, "not a .npy file");
    expect_bad(hand_npy("v4.npy", 4, D("<f4", "False", "(1,)"), 4), SL_ERR_UNSUPPORTED, "version 4.0 not supported");
    expect_bad(t_path("missing.npy"), SL_ERR_IO, "cannot open");
}

TEST(rejects_truncation_and_lying_sizes) {
    /* Data shorter than the shape says. */
    expect_bad(hand_npy("short.npy", 1, D("<f4", "False", "(3, 4)"), 47), SL_ERR_FORMAT,
               "header says 12 elements of float32 (48 bytes), but the file has 47 data bytes (truncated?)");
    /* Data longer than the shape says. */
    expect_bad(hand_npy("long.npy", 1, D("<f4", "False", "(3, 4)"), 52), SL_ERR_FORMAT, "the file has 52 data bytes");
    /* Header cut off: the length field promises more than there is. */
    size_t n;
    unsigned char *b = slurp(hand_npy("ok.npy", 1, D("<f4", "False", "(2,)"), 8), &n);
    t_write_file(t_path("cut.npy"), b, 40);
    expect_bad(t_path("cut.npy"), SL_ERR_FORMAT, "byte 8: header length 118 exceeds the 30 bytes after it");
    t_write_file(t_path("cut.npy"), b, 9);
    expect_bad(t_path("cut.npy"), SL_ERR_FORMAT, "truncated");
    /* A header length that lies by a lot. */
    b[8] = 0xff;
    b[9] = 0xff;
    t_write_file(t_path("lie.npy"), b, n);
    expect_bad(t_path("lie.npy"), SL_ERR_FORMAT, "exceeds");
    free(b);
    b = slurp(hand_npy("ok2.npy", 2, D("<f4", "False", "(2,)"), 8), &n);
    b[11] = 0x7f;
    t_write_file(t_path("lie2.npy"), b, n);
    expect_bad(t_path("lie2.npy"), SL_ERR_FORMAT, "absurd");
    free(b);
    /* Absurd dimensions overflow before anything is allocated. */
    expect_bad(hand_npy("huge.npy", 1, D("<f8", "False", "(4294967296, 4294967296, 16)"), 8), SL_ERR_RANGE,
               "absurd dimensions");
    expect_bad(hand_npy("huge2.npy", 1, D("<f8", "False", "(1000000000, 1000000)"), 8), SL_ERR_FORMAT,
               "header says 1000000000000000 elements");
    expect_bad(hand_npy("huge3.npy", 1, D("<f8", "False", "(99999999999999999999999,)"), 8), SL_ERR_RANGE,
               "dimension too large");
}

TEST(rejects_unsupported_dtypes) {
    expect_bad(hand_npy("i2.npy", 1, D(">i2", "False", "(2,)"), 4), SL_ERR_UNSUPPORTED, "dtype '>i2' is not supported");
    expect_bad(hand_npy("o.npy", 1, D("|O", "False", "(2,)"), 16), SL_ERR_UNSUPPORTED, "dtype '|O' is an object array");
    expect_bad(hand_npy("name.npy", 1, D("float32", "False", "(2,)"), 8), SL_ERR_UNSUPPORTED, "'float32'");
    expect_bad(hand_npy("c8.npy", 1, D("<c8", "False", "(2,)"), 16), SL_ERR_UNSUPPORTED, "dtype '<c8'");
    expect_bad(hand_npy("b1.npy", 1, D("|b1", "False", "(2,)"), 2), SL_ERR_UNSUPPORTED, "'|b1'");
    expect_bad(hand_npy("f2.npy", 1, D("<f2", "False", "(2,)"), 4), SL_ERR_UNSUPPORTED, "'<f2'");
    expect_bad(hand_npy("st.npy", 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8),
               SL_ERR_UNSUPPORTED, "structured dtypes");
}

TEST(rejects_malformed_header_dicts) {
    expect_bad(hand_npy("k.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8),
               SL_ERR_FORMAT, "unexpected key 'x'");
    expect_bad(hand_npy("k2.npy", 1, "{'descr': '<f4', 'shape': (2,), }", 8), SL_ERR_FORMAT, "lacks 'fortran_order'");
    expect_bad(hand_npy("k3.npy", 1, "{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}", 8),
               SL_ERR_FORMAT, "appears twice");
    expect_bad(hand_npy("k4.npy", 1, D("<f4", "Falsey", "(2,)"), 8), SL_ERR_FORMAT, "found the name 'Falsey'");
    expect_bad(hand_npy("k4b.npy", 1, D("<f4", "0", "(2,)"), 8), SL_ERR_FORMAT,
               "fortran_order is an integer, expected True or False");
    expect_bad(hand_npy("k5.npy", 1, D("<f4", "False", "(-2,)"), 8), SL_ERR_FORMAT, "non-negative dimension");
    expect_bad(hand_npy("k6.npy", 1, D("<f4", "False", "(2 3)"), 24), SL_ERR_FORMAT, "expected ',' or ')'");
    expect_bad(hand_npy("k7.npy", 1, D("<f4", "False", "(2,)") " junk", 8), SL_ERR_FORMAT,
               "unexpected 'j' after the .npy header");
    expect_bad(hand_npy("k8.npy", 1, "{'descr': '<f4' 'fortran_order': False}", 8), SL_ERR_FORMAT,
               "expected ',' or '}'");
    expect_bad(hand_npy("k9.npy", 1, "['descr']", 8), SL_ERR_FORMAT, "byte 10: expected '{'");
    expect_bad(hand_npy("k10.npy", 1, D("<f4", "False", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), 4), SL_ERR_UNSUPPORTED,
               "more than 8 dimensions");
}

TEST(write_rejects_bad_arrays) {
    sl_array a = {.dtype = SL_F32, .ndim = 9};
    ASSERT_FAILS(sl_npy_write(t_path("w.npy"), &a), SL_ERR_ARG, "9 dimensions");
    a.ndim = 1;
    a.shape[0] = 3;
    ASSERT_FAILS(sl_npy_write(t_path("w.npy"), &a), SL_ERR_ARG, "data is NULL");
    a.dtype = (sl_dtype)42;
    ASSERT_FAILS(sl_npy_write(t_path("w.npy"), &a), SL_ERR_ARG, "unknown dtype");
    ASSERT_FAILS(sl_npy_write("/nonexistent-dir/w.npy", &(sl_array){.dtype = SL_U8, .ndim = 1}), SL_ERR_IO, "/nonexistent-dir");
}

static int have_numpy(void) { return t_run("/usr/bin/python3 -c 'import numpy' 2>/dev/null", NULL) == 0; }

TEST(numpy_reads_what_we_write) {
    if (!have_numpy()) SKIP("/usr/bin/python3 with numpy is not available (scripts/deps.sh test installs python3-numpy)");
    const sl_dtype types[] = {SL_F32, SL_F64, SL_I32, SL_I64, SL_U8};
    const char *names[] = {"float32", "float64", "int32", "int64", "uint8"};
    char script[4096];
    int k = snprintf(script, sizeof script, "import numpy as np\n");
    for (int t = 0; t < 5; t++) {
        size_t sh[3] = {2, 3, 2};
        sl_array a;
        ASSERT_OK(sl_array_alloc(&a, types[t], 3, sh));
        for (size_t i = 0; i < 12; i++) switch (types[t]) {
            case SL_F32: ((float *)a.data)[i] = (float)i - 0.5f; break;
            case SL_F64: ((double *)a.data)[i] = (double)i / 8; break;
            case SL_I32: ((int32_t *)a.data)[i] = (int32_t)i * -100000; break;
            case SL_I64: ((int64_t *)a.data)[i] = (int64_t)i << 40; break;
            case SL_U8: ((uint8_t *)a.data)[i] = (uint8_t)(i * 20); break;
            }
        char name[32];
        snprintf(name, sizeof name, "t%d.npy", t);
        ASSERT_OK(sl_npy_write(t_path(name), &a));
        sl_array_destroy(&a);
        k += snprintf(script + k, sizeof script - (size_t)k,
                      "a=np.load('%s')\nassert a.dtype==np.%s and a.shape==(2,3,2), (a.dtype,a.shape)\n"
                      "print('%s', a.ravel()[[0,5,11]].tolist())\n",
                      t_path(name), names[t], names[t]);
    }
    float s = 2.5f;
    sl_array z = {.dtype = SL_F32, .ndim = 0, .data = &s};
    ASSERT_OK(sl_npy_write(t_path("zero.npy"), &z));
    k += snprintf(script + k, sizeof script - (size_t)k, "z=np.load('%s')\nprint('scalar', z.shape, float(z))\n",
                  t_path("zero.npy"));
    t_write_file(t_path("check.py"), script, (size_t)k);
    char cmd[700], *out;
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s", t_path("check.py"));
    int rc = t_run(cmd, &out);
    if (rc) T_FAIL("numpy failed: %s", out);
    ASSERT_CONTAINS(out, "float32 [-0.5, 4.5, 10.5]");
    ASSERT_CONTAINS(out, "float64 [0.0, 0.625, 1.375]");
    ASSERT_CONTAINS(out, "int32 [0, -500000, -1100000]");
    ASSERT_CONTAINS(out, "int64 [0, 5497558138880, 12094627905536]");
    ASSERT_CONTAINS(out, "uint8 [0, 100, 220]");
    ASSERT_CONTAINS(out, "scalar () 2.5");
    free(out);
}

TEST(we_read_what_numpy_writes) {
    if (!have_numpy()) SKIP("/usr/bin/python3 with numpy is not available (scripts/deps.sh test installs python3-numpy)");
    char cmd[1500], *out;
    snprintf(cmd, sizeof cmd,
             "cd %s && /usr/bin/python3 -c \"\n"
             "import numpy as np\n"
             "np.save('f4.npy', np.arange(12, dtype='<f4').reshape(3, 4) / 8)\n"
             "np.save('f8.npy', np.array([1e-300, -2.5, 3e300]))\n"
             "np.save('i4.npy', np.array([[-7], [8]], dtype='<i4'))\n"
             "np.save('i8.npy', np.arange(5, dtype='<i8') - 2)\n"
             "np.save('u1.npy', np.arange(256, dtype='u1').reshape(4, 8, 8))\n"
             "np.save('s.npy', np.float32(7.25))\n"
             "np.save('e.npy', np.zeros((0, 3), dtype='<f4'))\n"
             "np.save('v2.npy', np.ones(3, dtype='<f4')) \n"
             "np.lib.format.write_array(open('v2.npy', 'wb'), np.ones(3, dtype='<f4'), version=(2, 0))\n"
             "np.save('fo.npy', np.asfortranarray(np.ones((2, 3), dtype='<f4')))\n"
             "np.save('be.npy', np.ones(3, dtype='>f4'))\n"
             "np.save('c8.npy', np.ones(3, dtype='<c8'))\n\"",
             t_tmpdir());
    int rc = t_run(cmd, &out);
    if (rc) T_FAIL("numpy failed: %s", out);
    free(out);
    sl_array a;
    ASSERT_OK(sl_npy_read(t_path("f4.npy"), &a));
    ASSERT_TRUE(a.dtype == SL_F32 && a.ndim == 2 && a.shape[0] == 3 && a.shape[1] == 4);
    ASSERT_TRUE(((float *)a.data)[11] == 11.0f / 8);
    sl_array_destroy(&a);
    ASSERT_OK(sl_npy_read(t_path("f8.npy"), &a));
    ASSERT_TRUE(a.dtype == SL_F64 && ((double *)a.data)[2] == 3e300);
    sl_array_destroy(&a);
    ASSERT_OK(sl_npy_read(t_path("i4.npy"), &a));
    ASSERT_TRUE(a.dtype == SL_I32 && ((int32_t *)a.data)[0] == -7);
    sl_array_destroy(&a);
    ASSERT_OK(sl_npy_read(t_path("i8.npy"), &a));
    ASSERT_TRUE(a.dtype == SL_I64 && ((int64_t *)a.data)[0] == -2);
    sl_array_destroy(&a);
    ASSERT_OK(sl_npy_read(t_path("u1.npy"), &a));
    ASSERT_TRUE(a.dtype == SL_U8 && a.ndim == 3 && ((uint8_t *)a.data)[255] == 255);
    sl_array_destroy(&a);
    ASSERT_OK(sl_npy_read(t_path("s.npy"), &a));
    ASSERT_TRUE(a.ndim == 0 && *(float *)a.data == 7.25f);
    sl_array_destroy(&a);
    ASSERT_OK(sl_npy_read(t_path("e.npy"), &a));
    ASSERT_TRUE(a.ndim == 2 && a.shape[0] == 0 && a.shape[1] == 3);
    sl_array_destroy(&a);
    ASSERT_OK(sl_npy_read(t_path("v2.npy"), &a));
    ASSERT_TRUE(a.shape[0] == 3 && ((float *)a.data)[2] == 1.0f);
    sl_array_destroy(&a);
    int64_t *l;
    size_t n;
    ASSERT_OK(sl_npy_read_labels(t_path("i4.npy"), &l, &n));
    ASSERT_TRUE(n == 2 && l[1] == 8);
    sl_allocator_free(l);
    ASSERT_OK(sl_npy_read(t_path("be.npy"), &a));
    ASSERT_TRUE(a.dtype == SL_F32 && ((float *)a.data)[2] == 1.0f);
    sl_array_destroy(&a);
    expect_bad(t_path("c8.npy"), SL_ERR_UNSUPPORTED, "'<c8'");
}

/* Parts of a matrix, read from the file alone, put together are the matrix;
 * every dtype converts as in sl_npy_read_matrix; messages give the file's row
 * numbers; bad parts and files are refused. */
TEST(matrix_parts_are_the_matrix) {
    enum { R = 11, C = 3 };
    double v[R * C];
    for (size_t i = 0; i < R * C; i++) v[i] = (double)i * 0.5 - 3;
    sl_array a = {.dtype = SL_F64, .ndim = 2, .shape = {R, C}, .data = v};
    ASSERT_OK(sl_npy_write(t_path("parts.npy"), &a));
    float *whole;
    size_t r, c;
    ASSERT_OK(sl_npy_read_matrix(t_path("parts.npy"), &whole, &r, &c));
    for (size_t parts = 1; parts <= 13; parts += 3) {
        size_t next = 0;
        for (size_t p = 0; p < parts; p++) {
            float *d;
            size_t rows, cols, first, total;
            ASSERT_OK(sl_npy_read_matrix_part(t_path("parts.npy"), p, parts, &d, &rows, &cols, &first, &total));
            ASSERT_TRUE(cols == C && total == R && first == next && rows == (R * (p + 1)) / parts - (R * p) / parts);
            ASSERT_TRUE(rows == 0 || memcmp(d, whole + first * C, rows * C * sizeof(float)) == 0);
            next += rows;
            sl_allocator_free(d);
        }
        ASSERT_EQ_SIZE(next, R);
    }
    sl_allocator_free(whole);
    float *d = NULL;
    size_t rows, cols, first, total;
    ASSERT_FAILS(sl_npy_read_matrix_part(t_path("parts.npy"), 2, 2, &d, &rows, &cols, &first, &total), SL_ERR_ARG,
                 "part 2 of 2");
    v[9 * C + 1] = NAN;
    ASSERT_OK(sl_npy_write(t_path("parts.npy"), &a));
    ASSERT_FAILS(sl_npy_read_matrix_part(t_path("parts.npy"), 1, 2, &d, &rows, &cols, &first, &total), SL_ERR_NUMERIC,
                 "row 9, column 1: value is nan");
    ASSERT_OK(sl_npy_read_matrix_part(t_path("parts.npy"), 0, 2, &d, &rows, &cols, &first, &total)); /* rows 0..4 */
    sl_allocator_free(d);
    size_t sh[3] = {2, 2, 2};
    ASSERT_OK(sl_array_alloc(&a, SL_F32, 3, sh));
    ASSERT_OK(sl_npy_write(t_path("3d.npy"), &a));
    sl_array_destroy(&a);
    ASSERT_FAILS(sl_npy_read_matrix_part(t_path("3d.npy"), 0, 1, &d, &rows, &cols, &first, &total), SL_ERR_FORMAT,
                 "found 3 dimensions");
    ASSERT_FAILS(sl_npy_read_matrix_part(t_path("none.npy"), 0, 1, &d, &rows, &cols, &first, &total), SL_ERR_IO,
                 "none.npy");
}

/* ---- other writers' files (tests/fixtures/thirdparty/README.md) ---------- */

#define TP "tests/fixtures/thirdparty/numpy/"

/* numpy's own test data (numpy/lib/tests/data): a Python 3 file, a Python 2
 * file whose shape reads (2L,), both [1.0, 1.0]; and two object arrays,
 * which numpy too refuses with allow_pickle=False. */
TEST(numpy_test_data_files) {
    const char *ok[] = {TP "python3.npy", TP "win64python2.npy"};
    for (int i = 0; i < 2; i++) {
        sl_array a;
        ASSERT_OK(sl_npy_read(ok[i], &a));
        ASSERT_TRUE(a.dtype == SL_F64 && a.ndim == 1 && a.shape[0] == 2);
        ASSERT_TRUE(((double *)a.data)[0] == 1.0 && ((double *)a.data)[1] == 1.0);
        sl_array_destroy(&a);
        float *m;
        size_t r, c;
        ASSERT_OK(sl_npy_read_matrix(ok[i], &m, &r, &c));
        ASSERT_TRUE(r == 2 && c == 1 && m[1] == 1.0f);
        sl_allocator_free(m);
    }
    expect_bad(TP "py2-objarr.npy", SL_ERR_UNSUPPORTED, "byte 20: dtype '|O8' is an object array");
    expect_bad(TP "py3-objarr.npy", SL_ERR_UNSUPPORTED, "numpy too refuses it unless allow_pickle=True");
    float *m = NULL;
    size_t r, c;
    ASSERT_FAILS(sl_npy_read_matrix(TP "py3-objarr.npy", &m, &r, &c), SL_ERR_UNSUPPORTED, "object array");
    ASSERT_TRUE(m == NULL);
}

/* Element k (C order) of each committed numpy-written array. */
static double tp_value(sl_dtype t, size_t k) {
    return t == SL_F32 || t == SL_F64 ? (double)k * 0.25 - 1 : t == SL_U8 ? (double)(k * 7 % 256) : (double)k * 3 - 5;
}

static double elem(const sl_array *a, size_t k) {
    switch (a->dtype) {
    case SL_F32: return ((float *)a->data)[k];
    case SL_F64: return ((double *)a->data)[k];
    case SL_I32: return ((int32_t *)a->data)[k];
    case SL_I64: return (double)((int64_t *)a->data)[k];
    default: return ((uint8_t *)a->data)[k];
    }
}

/* Big-endian, Fortran-order, version 2.0 and 3.0 files numpy wrote
 * (make_thirdparty.py): the values in C order, the matrix readers too. */
TEST(numpy_written_orders_and_versions) {
    const struct {
        const char *file;
        sl_dtype t;
        int ndim;
        size_t s0, s1;
    } f[] = {{TP "f8_big_fortran_v3.npy", SL_F64, 2, 3, 4}, {TP "f4_big_v2.npy", SL_F32, 2, 2, 3},
             {TP "i8_big_fortran_v1.npy", SL_I64, 3, 2, 3}, {TP "i4_fortran_v3.npy", SL_I32, 2, 4, 2},
             {TP "u1_fortran_v2.npy", SL_U8, 2, 3, 5}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        sl_array a;
        ASSERT_OK(sl_npy_read(f[i].file, &a));
        ASSERT_TRUE(a.dtype == f[i].t && a.ndim == f[i].ndim && a.shape[0] == f[i].s0 && a.shape[1] == f[i].s1);
        for (size_t k = 0; k < sl_array_count(&a); k++) ASSERT_EQ_INT(elem(&a, k), tp_value(a.dtype, k));
        sl_array_destroy(&a);
        if (f[i].ndim != 2) continue;
        float *m, *p;
        size_t r, c, pr, pc, first, total;
        ASSERT_OK(sl_npy_read_matrix(f[i].file, &m, &r, &c));
        for (size_t k = 0; k < r * c; k++) ASSERT_EQ_INT(m[k], tp_value(f[i].t, k));
        ASSERT_OK(sl_npy_read_matrix_part(f[i].file, 1, 2, &p, &pr, &pc, &first, &total));
        ASSERT_TRUE(pc == c && total == r && pr > 0 && memcmp(p, m + first * c, pr * c * sizeof *p) == 0);
        sl_allocator_free(p);
        sl_allocator_free(m);
    }
}

/* Header spellings numpy's reader takes (a Python literal): each is read with
 * the shape shown. Data: 2 x 3 float32 unless the shape says otherwise. */
static const struct {
    int major;
    const char *dict;
    int ndim;
    size_t s0, s1;
} spellings[] = {
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", 2, 2, 3},
    {2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2 L, 3L,), }", 2, 2, 3},
    {1, "{\"shape\": (2, 3), \"fortran_order\": False, \"descr\": \"<f4\"}", 2, 2, 3},
    {1, "{ 'descr' : '<f4' ,\n  'fortran_order' : False ,\n\t'shape' : ( 2 , 3 , ) , }", 2, 2, 3},
    {3, "\n{'descr': u'<f4', # a comment\n 'fortran_order': False, 'shape': (2, 3)}  # another\n", 2, 2, 3},
    {1, "{'descr': '<' \"f4\", 'fortran_order': False, 'shape': (0x2, 0o3)}", 2, 2, 3},
    {1, "{'descr': '\\x3cf\\64', 'fortran_order': False, 'shape': (0b10, 1_0)}", 2, 2, 10},
    {1, "{'descr': '''<f4''', 'fortran_order': (False), 'shape': ((2), +3)}", 2, 2, 3},
    {3, "{'descr': '=f4', 'fortran_order': True, 'shape': (2, 3),}", 2, 2, 3},
    {1, "{'descr': '|f4', 'fortran_order': False, 'shape': (6,)}", 1, 6, 0},
    {1, "{'descr': 'f4', 'fortran_order': True, 'shape': (6,)}", 1, 6, 0},
    {2, "{'descr': R'<f4', 'fortran_order': False, 'shape': \\\n (2, 3)}", 2, 2, 3},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}", 0, 0, 0},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-0, 3)}", 2, 0, 3},
    {2, "{'descr': '\\u003cf\\U00000034', 'fortran_order': False, 'shape': (2, 3)}", 2, 2, 3},
};

/* ...and spellings numpy refuses, refused here too. */
static const struct {
    int major;
    const char *dict;
    const char *frag;
} refusals[] = {
    {3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3)}", "no Python 2 long suffix"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6)}", "shape is an integer, expected a tuple"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", "shape is a list, expected a tuple"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6.0,)}", "expected a non-negative dimension"},
    {1, "{'descr': '<f4', 'fortran_order': 1, 'shape': (6,)}", "fortran_order is an integer"},
    {1, "{descr: '<f4', 'fortran_order': False, 'shape': (6,)}", "found the name 'descr'"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (06,)}", "no leading zeros"},
    {1, "{'descr': 1, 'fortran_order': False, 'shape': (6,)}", "descr is an integer"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,)", "expected ',' or '}'"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,),,}", "expected a string, number"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), b'x': 1}", "unexpected key b'x'"},
    {1, "{'descr': b'<f4' '', 'fortran_order': False, 'shape': (6,)}", "no mixing of bytes and str"},
    {1, "{'descr': b'<f4', 'fortran_order': False, 'shape': (6,)}", "descr is b'<f4', expected a dtype string"},
    {1, "{'descr': '<f4\n', 'fortran_order': False, 'shape': (6,)}", "unterminated string"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6, (2,))}", "expected a non-negative dimension"},
    {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1 2,)}", "expected ',' or ')'"},
};

static const char *spelling_file(int i) {
    char name[32];
    snprintf(name, sizeof name, "sp%d.npy", i);
    size_t count = 1;
    for (int k = 0; k < spellings[i].ndim; k++) count *= k ? spellings[i].s1 : spellings[i].s0;
    return hand_npy(name, spellings[i].major, spellings[i].dict, count * 4);
}

static const char *refusal_file(int i) {
    char name[32];
    snprintf(name, sizeof name, "rf%d.npy", i);
    return hand_npy(name, refusals[i].major, refusals[i].dict, 24);
}

#define N_SPELLINGS (int)(sizeof spellings / sizeof spellings[0])
#define N_REFUSALS (int)(sizeof refusals / sizeof refusals[0])

TEST(header_spellings_numpy_reads) {
    for (int i = 0; i < N_SPELLINGS; i++) {
        sl_array a;
        const char *p = spelling_file(i);
        sl_status st = sl_npy_read(p, &a);
        if (st) T_FAIL("spelling %d: %s", i, sl_error_message());
        ASSERT_TRUE(a.dtype == SL_F32 && a.ndim == spellings[i].ndim);
        if (a.ndim > 0) ASSERT_EQ_SIZE(a.shape[0], spellings[i].s0);
        if (a.ndim > 1) ASSERT_EQ_SIZE(a.shape[1], spellings[i].s1);
        sl_array_destroy(&a);
    }
    for (int i = 0; i < N_REFUSALS; i++) expect_bad(refusal_file(i), SL_ERR_FORMAT, refusals[i].frag);
    /* An escape beyond ASCII is shown as UTF-8 in the message. */
    expect_bad(hand_npy("e9.npy", 1, "{'descr': '\\u00e9\\xe9\\u20ac\\U0001F600', 'fortran_order': False, 'shape': (1,)}", 4),
               SL_ERR_UNSUPPORTED, "dtype '\xc3\xa9\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80' is not supported");
    /* A key given twice: numpy keeps the last one; simlearn refuses. */
    expect_bad(hand_npy("twice.npy", 1, "{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8),
               SL_ERR_FORMAT, "byte 27: key 'descr' appears twice");
    /* Named escapes (\N{...}) would need Unicode's name table: refused,
     * though numpy reads them (no writer uses them). */
    expect_bad(hand_npy("named.npy", 1, "{'descr': '\\N{LESS-THAN SIGN}f4', 'fortran_order': False, 'shape': (1,)}", 4),
               SL_ERR_FORMAT, "expected an escape other than \\N{...}");
    /* Values nested past 32 levels are refused before the stack is. */
    char deep[200] = "{'descr': '<f4', 'fortran_order': False, 'shape': ";
    for (int i = 0; i < 40; i++) strcat(deep, "(");
    expect_bad(hand_npy("deep.npy", 1, deep, 4), SL_ERR_FORMAT, "nested more than 32 deep");
    /* Version 3.0 headers are UTF-8; 1.0 and 2.0 are Latin-1. */
    expect_bad(hand_npy("utf.npy", 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} # \xe9", 4),
               SL_ERR_FORMAT, "must be UTF-8 (byte 0xe9 is not)");
    sl_array a;
    ASSERT_OK(sl_npy_read(hand_npy("latin.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} # \xe9", 4),
                          &a));
    sl_array_destroy(&a);
    /* Only minor version 0 exists. */
    size_t n;
    unsigned char *b = slurp(hand_npy("minor.npy", 1, D("<f4", "False", "(1,)"), 4), &n);
    b[7] = 1;
    t_write_file(t_path("minor.npy"), b, n);
    free(b);
    expect_bad(t_path("minor.npy"), SL_ERR_UNSUPPORTED, "byte 7: .npy format version 1.1 not supported (expected 1.0)");
}

/* numpy itself (np.load, allow_pickle=False) reads each spelling above with
 * the same shape, and refuses each refusal. */
TEST(numpy_agrees_on_header_spellings) {
    if (!have_numpy()) SKIP("/usr/bin/python3 with numpy is not available (scripts/deps.sh test installs python3-numpy)");
    for (int i = 0; i < N_SPELLINGS; i++) spelling_file(i);
    for (int i = 0; i < N_REFUSALS; i++) refusal_file(i);
    char cmd[1024], *out;
    snprintf(cmd, sizeof cmd,
             "cd %s && /usr/bin/python3 -c \"\n"
             "import numpy as np, sys\n"
             "def load(p):\n"
             "    try: return 'x'.join(map(str, np.load(p, allow_pickle=False).shape)) or '-'\n"
             "    except Exception: return 'refused'\n"
             "print(' '.join(load('sp%%d.npy' %% i) for i in range(%d)))\n"
             "print(' '.join(load('rf%%d.npy' %% i) for i in range(%d)))\n\"",
             t_tmpdir(), N_SPELLINGS, N_REFUSALS);
    if (t_run(cmd, &out)) T_FAIL("python failed: %s", out);
    char *tok = strtok(out, " \n");
    for (int i = 0; i < N_SPELLINGS; i++, tok = strtok(NULL, " \n")) {
        char want[64] = "-";
        if (spellings[i].ndim == 1) snprintf(want, sizeof want, "%zu", spellings[i].s0);
        if (spellings[i].ndim == 2) snprintf(want, sizeof want, "%zux%zu", spellings[i].s0, spellings[i].s1);
        if (!tok || strcmp(tok, want) != 0) T_FAIL("spelling %d: numpy gives %s, simlearn %s", i, tok ? tok : "?", want);
    }
    for (int i = 0; i < N_REFUSALS; i++, tok = strtok(NULL, " \n"))
        if (!tok || strcmp(tok, "refused") != 0) T_FAIL("refusal %d: numpy reads it (%s)", i, tok ? tok : "?");
    free(out);
}

/* Every dtype, byte order, element order and header version numpy writes
 * (npy_matrix.py) reads as its C-order, native-order reference copy, whole,
 * as a matrix and in parts. */
TEST(every_dtype_order_and_version_numpy_writes) {
    if (!have_numpy()) SKIP("/usr/bin/python3 with numpy is not available (scripts/deps.sh test installs python3-numpy)");
    char cmd[512], *out, name[128], ref[128];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/fixtures/thirdparty/npy_matrix.py %s", t_tmpdir());
    if (t_run(cmd, &out)) T_FAIL("npy_matrix.py failed: %s", out);
    free(out);
    FILE *m = fopen(t_path("manifest"), "r");
    ASSERT_TRUE(m != NULL);
    int files = 0;
    while (fscanf(m, "%127s %127s", name, ref) == 2) {
        char path[1024];
        snprintf(path, sizeof path, "%s", t_path(name));
        sl_array a, b;
        ASSERT_OK(sl_npy_read(path, &a));
        ASSERT_OK(sl_npy_read(t_path(ref), &b));
        size_t bytes = sl_array_count(&b) * sl_dtype_size(b.dtype);
        ASSERT_TRUE(a.dtype == b.dtype && a.ndim == b.ndim && sl_array_count(&a) == sl_array_count(&b));
        if (memcmp(a.data, b.data, bytes) != 0) T_FAIL("%s: values differ from %s", name, ref);
        if (a.ndim <= 2) {
            float *x, *y, *p;
            size_t r, c, r2, c2, pr, pc, first, total;
            ASSERT_OK(sl_npy_read_matrix(path, &x, &r, &c));
            ASSERT_OK(sl_npy_read_matrix(t_path(ref), &y, &r2, &c2));
            ASSERT_TRUE(r == r2 && c == c2 && memcmp(x, y, r * c * sizeof *x) == 0);
            for (size_t part = 0; part < 3; part++) {
                ASSERT_OK(sl_npy_read_matrix_part(path, part, 3, &p, &pr, &pc, &first, &total));
                ASSERT_TRUE(pc == c && total == r && (pr == 0 || memcmp(p, x + first * c, pr * c * sizeof *p) == 0));
                sl_allocator_free(p);
            }
            sl_allocator_free(x);
            sl_allocator_free(y);
        }
        sl_array_destroy(&a);
        sl_array_destroy(&b);
        files++;
    }
    fclose(m);
    ASSERT_EQ_INT(files, 180);
}

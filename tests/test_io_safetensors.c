/* Tests of safetensors reading and writing and of the strict JSON parser under
 * it: round trips of every dtype and rank, metadata, the exact byte layout,
 * a fixture written by hand in Python, numpy interop, and every kind of
 * malformed header or data region. */
#include "test.h"

#include "io/json.h"

#include <stdint.h>
#include <unistd.h>

static const char *FIXTURE = "tests/fixtures/small.safetensors";

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    ASSERT_TRUE(f != NULL);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    ASSERT_TRUE(fread(b, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* Write a safetensors file from a header text (used verbatim, no padding) and
 * `ndata` data bytes 0, 1, 2, ... */
static const char *make_file_len(const char *name, const char *header, size_t hl, size_t ndata) {
    const char *p = t_path(name);
    size_t n = 8 + hl + ndata;
    unsigned char *b = malloc(n);
    for (int k = 0; k < 8; k++) b[k] = (unsigned char)((uint64_t)hl >> (8 * k));
    memcpy(b + 8, header, hl);
    for (size_t i = 0; i < ndata; i++) b[8 + hl + i] = (unsigned char)i;
    t_write_file(p, b, n);
    free(b);
    return p;
}

static const char *make_file(const char *name, const char *header, size_t ndata) {
    return make_file_len(name, header, strlen(header), ndata);
}

static sl_tensors *sample(void) {
    sl_tensors *t;
    ASSERT_OK(sl_tensors_create(&t));
    float w[6] = {1, -2, 3.5f, 0, 1e-30f, -1e30f};
    size_t s23[2] = {2, 3};
    ASSERT_OK(sl_tensors_add(t, "layer.0.weight", SL_F32, 2, s23, w));
    double d = 3.141592653589793;
    ASSERT_OK(sl_tensors_add(t, "scalar", SL_F64, 0, NULL, &d));
    int32_t i3[24];
    for (int i = 0; i < 24; i++) i3[i] = i * 1000003 - 7;
    size_t s234[3] = {2, 3, 4};
    ASSERT_OK(sl_tensors_add(t, "cube", SL_I32, 3, s234, i3));
    int64_t l[3] = {INT64_MIN, 0, INT64_MAX};
    size_t s3[1] = {3};
    ASSERT_OK(sl_tensors_add(t, "big", SL_I64, 1, s3, l));
    uint8_t u[5] = {0, 1, 127, 128, 255};
    size_t s5[1] = {5};
    ASSERT_OK(sl_tensors_add(t, "bytes", SL_U8, 1, s5, u));
    size_t s04[2] = {0, 4};
    ASSERT_OK(sl_tensors_add(t, "empty", SL_F32, 2, s04, NULL));
    ASSERT_OK(sl_tensors_set_meta(t, "format", "pt"));
    ASSERT_OK(sl_tensors_set_meta(t, "spec", "mlp:784-256-64"));
    return t;
}

static void assert_same(const sl_tensors *a, const sl_tensors *b) {
    ASSERT_EQ_SIZE(sl_tensors_count(a), sl_tensors_count(b));
    for (size_t i = 0; i < sl_tensors_count(a); i++) {
        const char *name = sl_tensors_name(a, i);
        ASSERT_STREQ(sl_tensors_name(b, i), name);
        const sl_array *x = sl_tensors_get(a, name), *y = sl_tensors_get(b, name);
        ASSERT_TRUE(x && y);
        ASSERT_EQ_INT(x->dtype, y->dtype);
        ASSERT_EQ_INT(x->ndim, y->ndim);
        for (int k = 0; k < x->ndim; k++) ASSERT_EQ_SIZE(x->shape[k], y->shape[k]);
        size_t bytes = sl_array_count(x) * sl_dtype_size(x->dtype);
        ASSERT_TRUE(bytes == 0 || memcmp(x->data, y->data, bytes) == 0);
    }
    ASSERT_EQ_SIZE(sl_tensors_meta_count(a), sl_tensors_meta_count(b));
    for (size_t i = 0; i < sl_tensors_meta_count(a); i++) {
        const char *k = sl_tensors_meta_key(a, i);
        ASSERT_STREQ(sl_tensors_meta_key(b, i), k);
        ASSERT_STREQ(sl_tensors_get_meta(b, k), sl_tensors_get_meta(a, k));
    }
}

TEST(round_trip_every_dtype_and_rank) {
    sl_tensors *t = sample(), *r;
    const char *p = t_path("m.safetensors");
    ASSERT_OK(sl_safetensors_write(p, t));
    ASSERT_OK(sl_safetensors_read(p, &r));
    assert_same(t, r);
    const sl_array *s = sl_tensors_get(r, "scalar");
    ASSERT_EQ_INT(s->ndim, 0);
    ASSERT_TRUE(*(double *)s->data == 3.141592653589793);
    ASSERT_TRUE(sl_tensors_get(r, "missing") == NULL);
    ASSERT_TRUE(sl_tensors_get_meta(r, "missing") == NULL);
    ASSERT_TRUE(sl_tensors_name(r, 99) == NULL);
    sl_tensors_destroy(t);
    sl_tensors_destroy(r);
}

TEST(layout_is_what_the_format_expects) {
    sl_tensors *t = sample();
    const char *p = t_path("m.safetensors");
    ASSERT_OK(sl_safetensors_write(p, t));
    size_t n;
    unsigned char *b = read_all(p, &n);
    uint64_t hl = 0;
    for (int k = 7; k >= 0; k--) hl = hl << 8 | b[k];
    ASSERT_EQ_INT(hl % 8, 0);
    ASSERT_EQ_INT(b[8], '{');
    /* Metadata comes first; names in insertion order; the data is exactly the
     * tensors back to back. */
    char *h = malloc(hl + 1);
    memcpy(h, b + 8, hl);
    h[hl] = 0;
    ASSERT_TRUE(strncmp(h, "{\"__metadata__\":{\"format\":\"pt\",\"spec\":\"mlp:784-256-64\"},"
                           "\"layer.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                           "\"scalar\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[24,32]}",
                        strlen("{\"__metadata__\":{\"format\":\"pt\",\"spec\":\"mlp:784-256-64\"},"
                               "\"layer.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                               "\"scalar\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[24,32]}")) == 0);
    ASSERT_CONTAINS(h, "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[157,157]}");
    size_t end = strlen(h);
    while (end && h[end - 1] == ' ') end--;
    ASSERT_EQ_INT(h[end - 1], '}');
    ASSERT_EQ_SIZE(n, 8 + hl + 24 + 8 + 96 + 24 + 5);
    float w0;
    memcpy(&w0, b + 8 + hl + 4, 4);
    ASSERT_TRUE(w0 == -2.0f);
    free(h);
    free(b);
    sl_tensors_destroy(t);
}

TEST(no_metadata_and_no_tensors) {
    sl_tensors *t, *r;
    ASSERT_OK(sl_tensors_create(&t));
    const char *p = t_path("e.safetensors");
    ASSERT_OK(sl_safetensors_write(p, t));
    size_t n;
    unsigned char *b = read_all(p, &n);
    ASSERT_EQ_SIZE(n, 16);
    ASSERT_TRUE(memcmp(b + 8, "{}      ", 8) == 0);
    free(b);
    ASSERT_OK(sl_safetensors_read(p, &r));
    ASSERT_EQ_SIZE(sl_tensors_count(r), 0);
    ASSERT_EQ_SIZE(sl_tensors_meta_count(r), 0);
    sl_tensors_destroy(t);
    sl_tensors_destroy(r);
}

TEST(add_replaces_and_validates) {
    sl_tensors *t;
    ASSERT_OK(sl_tensors_create(&t));
    float a[2] = {1, 2}, b[3] = {4, 5, 6};
    size_t s2 = 2, s3 = 3;
    ASSERT_OK(sl_tensors_add(t, "x", SL_F32, 1, &s2, a));
    ASSERT_OK(sl_tensors_add(t, "y", SL_F32, 1, &s2, a));
    ASSERT_OK(sl_tensors_add(t, "x", SL_F32, 1, &s3, b));
    ASSERT_EQ_SIZE(sl_tensors_count(t), 2);
    ASSERT_STREQ(sl_tensors_name(t, 0), "x");
    ASSERT_EQ_SIZE(sl_tensors_get(t, "x")->shape[0], 3);
    ASSERT_TRUE(((float *)sl_tensors_get(t, "x")->data)[2] == 6);
    ASSERT_OK(sl_tensors_set_meta(t, "k", "v1"));
    ASSERT_OK(sl_tensors_set_meta(t, "k", "v2"));
    ASSERT_EQ_SIZE(sl_tensors_meta_count(t), 1);
    ASSERT_STREQ(sl_tensors_get_meta(t, "k"), "v2");
    ASSERT_FAILS(sl_tensors_add(t, "", SL_F32, 1, &s2, a), SL_ERR_ARG, "empty");
    ASSERT_FAILS(sl_tensors_add(t, "__metadata__", SL_F32, 1, &s2, a), SL_ERR_ARG, "reserved");
    ASSERT_FAILS(sl_tensors_add(t, "bad\xff", SL_F32, 1, &s2, a), SL_ERR_ARG, "UTF-8");
    ASSERT_FAILS(sl_tensors_add(t, "z", SL_F32, 1, &s2, NULL), SL_ERR_ARG, "NULL");
    ASSERT_FAILS(sl_tensors_add(t, "z", SL_F32, 9, (size_t[9]){1, 1, 1, 1, 1, 1, 1, 1, 1}, a), SL_ERR_ARG,
                 "dimensions");
    ASSERT_FAILS(sl_tensors_set_meta(t, "k", "\xc3"), SL_ERR_ARG, "UTF-8");
    ASSERT_EQ_SIZE(sl_tensors_count(t), 2);
    sl_tensors_destroy(t);
    sl_tensors_destroy(NULL);
}

TEST(names_and_metadata_with_escapes_and_utf8) {
    sl_tensors *t, *r;
    ASSERT_OK(sl_tensors_create(&t));
    float v = 1;
    size_t s1 = 1;
    const char *names[] = {"quote\"d", "back\\slash", "new\nline\ttab", "caf\xc3\xa9.\xe6\x97\xa5\xf0\x9f\x98\x80",
                           "ctl\x01"};
    for (int i = 0; i < 5; i++) ASSERT_OK(sl_tensors_add(t, names[i], SL_F32, 1, &s1, &v));
    ASSERT_OK(sl_tensors_set_meta(t, "json", "{\"a\": [1, 2]}\r\n"));
    const char *p = t_path("u.safetensors");
    ASSERT_OK(sl_safetensors_write(p, t));
    ASSERT_OK(sl_safetensors_read(p, &r));
    assert_same(t, r);
    sl_tensors_destroy(t);
    sl_tensors_destroy(r);
}

TEST(reads_the_fixture_written_by_hand_in_python) {
    sl_tensors *r;
    ASSERT_OK(sl_safetensors_read(FIXTURE, &r));
    ASSERT_EQ_SIZE(sl_tensors_count(r), 7);
    /* Header order is kept (the file lists tensors in a different order from
     * their data). */
    ASSERT_STREQ(sl_tensors_name(r, 0), "mask");
    ASSERT_STREQ(sl_tensors_get_meta(r, "format"), "pt");
    ASSERT_STREQ(sl_tensors_get_meta(r, "note"), "caf\xc3\xa9 \"quoted\"\n");
    const sl_array *w = sl_tensors_get(r, "encoder.weight");
    ASSERT_TRUE(w && w->dtype == SL_F32 && w->ndim == 2 && w->shape[0] == 2 && w->shape[1] == 3);
    for (int i = 0; i < 6; i++) ASSERT_TRUE(((float *)w->data)[i] == (float)i / 4 - 0.5f);
    const sl_array *b = sl_tensors_get(r, "encoder.bias");
    ASSERT_TRUE(((float *)b->data)[1] == -2.25f);
    const sl_array *s = sl_tensors_get(r, "step");
    ASSERT_TRUE(s->dtype == SL_I64 && s->ndim == 0 && *(int64_t *)s->data == 1234567890123LL);
    const sl_array *te = sl_tensors_get(r, "temperature");
    ASSERT_TRUE(te->dtype == SL_F64 && ((double *)te->data)[0] == 0.07);
    const sl_array *l = sl_tensors_get(r, "labels");
    ASSERT_TRUE(l->dtype == SL_I32 && ((int32_t *)l->data)[1] == -1 && ((int32_t *)l->data)[3] == 2147483647);
    const sl_array *m = sl_tensors_get(r, "mask");
    ASSERT_TRUE(m->dtype == SL_U8 && ((uint8_t *)m->data)[2] == 255);
    const sl_array *e = sl_tensors_get(r, "empty");
    ASSERT_TRUE(e->ndim == 2 && e->shape[0] == 0 && e->shape[1] == 4);
    sl_tensors_destroy(r);
}

static int have_numpy(void) { return t_run("/usr/bin/python3 -c 'import numpy' 2>/dev/null", NULL) == 0; }

/* A reader that follows the layout by hand with numpy, to check that what we
 * write is what other tools expect. */
static const char *PY_READER =
    "import json,struct,sys,numpy as np\n"
    "b=open(sys.argv[1],'rb').read()\n"
    "n=struct.unpack('<Q',b[:8])[0]\n"
    "assert n%8==0\n"
    "h=json.loads(b[8:8+n].decode('utf-8'))\n"
    "meta=h.pop('__metadata__',{})\n"
    "dt={'F32':'<f4','F64':'<f8','I32':'<i4','I64':'<i8','U8':'u1'}\n"
    "d=b[8+n:]\n"
    "for k,v in h.items():\n"
    "  s,e=v['data_offsets']\n"
    "  a=np.frombuffer(d[s:e],dtype=dt[v['dtype']]).reshape(v['shape'])\n"
    "  print(k,v['dtype'],list(a.shape),repr(a.ravel()[:3].tolist()) if a.size else '-')\n"
    "print('meta',sorted(meta.items()))\n";

TEST(numpy_reads_what_we_write) {
    if (!have_numpy()) SKIP("/usr/bin/python3 with numpy is not available (scripts/deps.sh test installs python3-numpy)");
    sl_tensors *t = sample();
    const char *p = t_path("m.safetensors");
    ASSERT_OK(sl_safetensors_write(p, t));
    sl_tensors_destroy(t);
    const char *py = t_path("reader.py");
    t_write_file(py, PY_READER, strlen(PY_READER));
    char cmd[1200], *out;
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", py, p);
    int rc = t_run(cmd, &out);
    if (rc) T_FAIL("python reader failed: %s", out);
    ASSERT_CONTAINS(out, "layer.0.weight F32 [2, 3] [1.0, -2.0, 3.5]");
    ASSERT_CONTAINS(out, "scalar F64 [] [3.141592653589793]");
    ASSERT_CONTAINS(out, "cube I32 [2, 3, 4] [-7, 999996, 1999999]");
    ASSERT_CONTAINS(out, "big I64 [3] [-9223372036854775808, 0, 9223372036854775807]");
    ASSERT_CONTAINS(out, "bytes U8 [5] [0, 1, 127]");
    ASSERT_CONTAINS(out, "empty F32 [0, 4] -");
    ASSERT_CONTAINS(out, "meta [('format', 'pt'), ('spec', 'mlp:784-256-64')]");
    free(out);
}

/* ---- malformed files --------------------------------------------------- */

#define F32_2 "\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"

static void expect_bad(const char *header, size_t ndata, sl_status st, const char *frag) {
    const char *p = make_file("bad.safetensors", header, ndata);
    sl_tensors *r = NULL;
    ASSERT_FAILS(sl_safetensors_read(p, &r), st, frag);
    ASSERT_TRUE(r == NULL);
    ASSERT_CONTAINS(sl_error_message(), "bad.safetensors");
}

TEST(good_minimal_file_is_accepted) {
    const char *p = make_file("ok.safetensors", "{" F32_2 "}  \n ", 8);
    sl_tensors *r;
    ASSERT_OK(sl_safetensors_read(p, &r));
    ASSERT_EQ_SIZE(sl_tensors_count(r), 1);
    sl_tensors_destroy(r);
}

TEST(rejects_short_and_absurd_files) {
    const char *p = t_path("short.safetensors");
    t_write_file(p, "\x10\0\0", 3);
    sl_tensors *r;
    ASSERT_FAILS(sl_safetensors_read(p, &r), SL_ERR_FORMAT, "expected at least 8");
    t_write_file(p, "", 0);
    ASSERT_FAILS(sl_safetensors_read(p, &r), SL_ERR_FORMAT, "byte 0");
    unsigned char huge[16] = {0, 0, 0, 0, 0, 1, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    t_write_file(p, huge, 16);
    ASSERT_FAILS(sl_safetensors_read(p, &r), SL_ERR_FORMAT, "absurd");
    unsigned char lies[16] = {200, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    t_write_file(p, lies, 16);
    ASSERT_FAILS(sl_safetensors_read(p, &r), SL_ERR_FORMAT, "exceeds the 8 bytes");
    ASSERT_FAILS(sl_safetensors_read(t_path("nope.safetensors"), &r), SL_ERR_IO, "cannot open");
    /* A .npy file is not a safetensors file. */
    sl_array a;
    size_t sh[1] = {3};
    ASSERT_OK(sl_array_alloc(&a, SL_F32, 1, sh));
    ASSERT_OK(sl_npy_write(t_path("a.npy"), &a));
    sl_array_destroy(&a);
    ASSERT_FAILS(sl_safetensors_read(t_path("a.npy"), &r), SL_ERR_FORMAT, "safetensors");
}

TEST(rejects_truncated_data_and_trailing_bytes) {
    expect_bad("{" F32_2 "}", 7, SL_ERR_FORMAT, "truncated");
    expect_bad("{" F32_2 "}", 9, SL_ERR_FORMAT, "1 bytes after the last tensor");
    /* The header itself cut short. */
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"sha", 0, SL_ERR_FORMAT, "ends early");
}

TEST(rejects_header_that_is_not_an_object) {
    expect_bad("[1,2]   ", 0, SL_ERR_FORMAT, "byte 8: expected '{'");
    expect_bad("{\"x\":3}", 0, SL_ERR_FORMAT, "expected an object, found a number");
    expect_bad("{} x", 0, SL_ERR_FORMAT, "byte 11: JSON header: expected nothing but spaces");
    sl_tensors *r;
    ASSERT_FAILS(sl_safetensors_read(make_file_len("nul.safetensors", "{}\0     ", 8, 0), &r), SL_ERR_FORMAT,
                 "byte 10: JSON header: expected nothing but spaces after the JSON value, found byte 0x00");
}

TEST(rejects_bad_tensor_entries) {
    expect_bad("{\"x\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, SL_ERR_UNSUPPORTED,
               "dtype \"BF16\" is not supported");
    expect_bad("{\"x\":{\"dtype\":3,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, SL_ERR_FORMAT,
               "dtype: expected a string");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, SL_ERR_FORMAT,
               "shape[0]: expected a non-negative integer");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, SL_ERR_FORMAT,
               "non-negative integer");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8, SL_ERR_FORMAT,
               "shape: expected an array");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
               SL_ERR_UNSUPPORTED, "9 dimensions");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
               SL_ERR_RANGE, "overflows");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4,
               SL_ERR_FORMAT, "non-negative integer");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, SL_ERR_FORMAT,
               "span 4 bytes, but F32 x 2 elements need 8");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, SL_ERR_FORMAT, "data_offsets");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, SL_ERR_FORMAT,
               "expected [begin, end]");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, SL_ERR_FORMAT, "missing \"data_offsets\"");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", 8, SL_ERR_FORMAT,
               "unexpected key \"extra\"");
    expect_bad("{\"\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, SL_ERR_FORMAT,
               "empty tensor name");
}

TEST(rejects_overlaps_gaps_and_out_of_range_offsets) {
    /* Overlapping: both tensors claim bytes 0..8. */
    expect_bad("{" F32_2 ",\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16, SL_ERR_FORMAT,
               "contiguous");
    /* Partial overlap. */
    expect_bad("{" F32_2 ",\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, SL_ERR_FORMAT,
               "starts at offset 4, expected 8");
    /* A gap before the first tensor. */
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, SL_ERR_FORMAT,
               "starts at offset 4, expected 0");
    /* Beyond the end of the file. */
    expect_bad("{\"x\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}", 4, SL_ERR_FORMAT,
               "the file has 4 data bytes");
    expect_bad("{\"x\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[18446744073709551615,18446744073709551615]}}",
               0, SL_ERR_FORMAT, "starts at offset");
}

TEST(rejects_duplicate_names_and_bad_metadata) {
    expect_bad("{" F32_2 "," F32_2 "}", 8, SL_ERR_FORMAT, "duplicate key \"x\"");
    expect_bad("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", 0, SL_ERR_FORMAT, "duplicate key \"a\"");
    expect_bad("{\"__metadata__\":{\"epoch\":3}}", 0, SL_ERR_FORMAT, "__metadata__ \"epoch\": expected a string value");
    expect_bad("{\"__metadata__\":[\"a\"]}", 0, SL_ERR_FORMAT, "expected an object of strings");
    expect_bad("{\"__metadata__\":{\"\":\"v\"}}", 0, SL_ERR_FORMAT, "empty key");
}

TEST(rejects_bad_json) {
    expect_bad("{\"x\" {}}", 0, SL_ERR_FORMAT, "expected ':'");
    expect_bad("{\"x\":{} \"y\":{}}", 0, SL_ERR_FORMAT, "expected ',' or '}'");
    expect_bad("{\"x\":{},}", 0, SL_ERR_FORMAT, "starting an object key");
    expect_bad("{'x':{}}", 0, SL_ERR_FORMAT, "byte 9: JSON header: expected '\"'");
    expect_bad("{\"a\\qb\":{}}", 0, SL_ERR_FORMAT, "escapes");
    expect_bad("{\"a\tb\":{}}", 0, SL_ERR_FORMAT, "control characters");
    expect_bad("{\"a\\ud800\":{}}", 0, SL_ERR_FORMAT, "low surrogate");
    expect_bad("{\"a\\udc00\":{}}", 0, SL_ERR_FORMAT, "lone low surrogate");
    expect_bad("{\"a\\u0000\":{}}", 0, SL_ERR_FORMAT, "NUL");
    expect_bad("{\"a\\u12g4\":{}}", 0, SL_ERR_FORMAT, "four hex digits");
    expect_bad("{\"a\xc3(\":{}}", 0, SL_ERR_FORMAT, "valid UTF-8");
    expect_bad("{\"a\xed\xa0\x80\":{}}", 0, SL_ERR_FORMAT, "valid UTF-8");
    expect_bad("{\"a\xc0\xaf\":{}}", 0, SL_ERR_FORMAT, "valid UTF-8");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", 8, SL_ERR_FORMAT,
               "leading zeros");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2.],\"data_offsets\":[0,8]}}", 8, SL_ERR_FORMAT,
               "after the decimal point");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1e],\"data_offsets\":[0,8]}}", 8, SL_ERR_FORMAT, "exponent");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[+2],\"data_offsets\":[0,8]}}", 8, SL_ERR_FORMAT, "a value");
    expect_bad("{\"x\":tru}", 0, SL_ERR_FORMAT, "a value");
    expect_bad("{\"x\":\"abc}", 0, SL_ERR_FORMAT, "closing the string");
    char deep[200];
    size_t k = 0;
    k += (size_t)sprintf(deep, "{\"x\":");
    for (int i = 0; i < 70; i++) deep[k++] = '[';
    for (int i = 0; i < 70; i++) deep[k++] = ']';
    deep[k++] = '}';
    deep[k] = 0;
    expect_bad(deep, 0, SL_ERR_FORMAT, "nesting");
}

/* ---- the JSON parser directly ----------------------------------------- */

TEST(json_parses_values_with_positions) {
    const char *txt = " {\"a\": [1, -2.5e3, 18446744073709551615, 18446744073709551616], \"b\\u00e9\\ud83d\\ude00\": "
                      "{\"t\": true, \"f\": false, \"n\": null}, \"s\": \"x\\n\\\"\\/\"} ";
    sl_json *j;
    ASSERT_OK(sl__json_parse(txt, strlen(txt), "mem", 100, &j));
    ASSERT_EQ_INT(j->type, SL_JSON_OBJ);
    ASSERT_EQ_SIZE(j->pos, 101);
    ASSERT_EQ_SIZE(j->n, 3);
    const sl_json *a = sl__json_get(j, "a");
    ASSERT_TRUE(a && a->type == SL_JSON_ARR && a->n == 4);
    ASSERT_TRUE(a->items[0].is_uint && a->items[0].u == 1);
    ASSERT_TRUE(!a->items[1].is_uint && a->items[1].num == -2500.0);
    ASSERT_TRUE(a->items[2].is_uint && a->items[2].u == UINT64_MAX);
    ASSERT_TRUE(!a->items[3].is_uint);
    ASSERT_EQ_SIZE(a->items[1].pos, 100 + (size_t)(strstr(txt, "-2.5") - txt));
    ASSERT_STREQ(j->keys[1], "b\xc3\xa9\xf0\x9f\x98\x80");
    const sl_json *b = &j->items[1];
    ASSERT_TRUE(sl__json_get(b, "t")->b && !sl__json_get(b, "f")->b);
    ASSERT_EQ_INT(sl__json_get(b, "n")->type, SL_JSON_NULL);
    ASSERT_STREQ(sl__json_get(j, "s")->str, "x\n\"/");
    ASSERT_TRUE(sl__json_get(j, "zz") == NULL);
    ASSERT_TRUE(sl__json_get(a, "a") == NULL);
    sl__json_free(j);
    sl__json_free(NULL);
}

TEST(json_string_builder_round_trips) {
    sl_sbuf b = {0};
    const char *s = "a\"b\\c\x01\x1f\n caf\xc3\xa9";
    sl__sbuf_json_str(&b, s);
    for (int i = 0; i < 100; i++) sl__sbuf_printf(&b, "%s", "");
    ASSERT_TRUE(!b.failed);
    sl_json *j;
    ASSERT_OK(sl__json_parse(b.data, b.len, "mem", 0, &j));
    ASSERT_STREQ(j->str, s);
    sl__json_free(j);
    sl__sbuf_free(&b);
    /* A long formatted append (longer than the builder's stack buffer). */
    char big[1000];
    memset(big, 'q', sizeof big - 1);
    big[999] = 0;
    sl__sbuf_printf(&b, "<%s>", big);
    ASSERT_EQ_SIZE(b.len, 1001);
    ASSERT_EQ_INT(b.data[1000], '>');
    sl__sbuf_free(&b);
}

/* 20000 distinct keys then a repeat of one in the middle: found and named.
 * (How fast is not measured here: speed belongs to benchmarks.) */
TEST(json_finds_one_duplicate_among_20000_keys) {
    sl_sbuf b = {0};
    sl__sbuf_puts(&b, "{");
    for (int i = 0; i < 20000; i++) sl__sbuf_printf(&b, "\"k%d\":%d,", i, i);
    sl__sbuf_puts(&b, "\"k777\":0}");
    sl_json *j = NULL;
    ASSERT_FAILS(sl__json_parse(b.data, b.len, "mem", 0, &j), SL_ERR_FORMAT, "duplicate key \"k777\"");
    ASSERT_TRUE(j == NULL);
    sl__sbuf_free(&b);
}

/* Tensors PyTorch made (tests/fixtures/thirdparty/torch, written by
 * nn_torch.py's st_write since Debian has no safetensors package): names out
 * of sorted order, kept in the file's order, values and metadata. */
TEST(reads_tensors_made_by_pytorch) {
    sl_tensors *r;
    ASSERT_OK(sl_safetensors_read("tests/fixtures/thirdparty/torch/tensors.safetensors", &r));
    const char *order[] = {"z.weight", "a.bias", "m.steps", "b.ids", "k.mask"};
    ASSERT_EQ_SIZE(sl_tensors_count(r), 5);
    for (size_t i = 0; i < 5; i++) ASSERT_STREQ(sl_tensors_name(r, i), order[i]);
    ASSERT_STREQ(sl_tensors_get_meta(r, "format"), "pt");
    ASSERT_STREQ(sl_tensors_get_meta(r, "writer"), "torch 1.13.0a0"); /* Debian's 1.13.1 calls itself 1.13.0a0 */
    const sl_array *w = sl_tensors_get(r, "z.weight");
    ASSERT_TRUE(w->dtype == SL_F32 && w->ndim == 2 && w->shape[0] == 3 && w->shape[1] == 4);
    for (int i = 0; i < 12; i++) ASSERT_TRUE(((float *)w->data)[i] == (float)i / 4 - 1);
    const sl_array *b = sl_tensors_get(r, "a.bias");
    ASSERT_TRUE(b->dtype == SL_F64 && ((double *)b->data)[0] == 0.5 && ((double *)b->data)[1] == -0.25);
    const sl_array *s = sl_tensors_get(r, "m.steps");
    ASSERT_TRUE(s->dtype == SL_I64 && s->ndim == 2 && s->shape[0] == 1 && ((int64_t *)s->data)[1] == -2);
    const sl_array *ids = sl_tensors_get(r, "b.ids");
    ASSERT_TRUE(ids->dtype == SL_I32 && ((int32_t *)ids->data)[1] == -8 && ((int32_t *)ids->data)[2] == 2147483647);
    const sl_array *m = sl_tensors_get(r, "k.mask");
    ASSERT_TRUE(m->dtype == SL_U8 && ((uint8_t *)m->data)[2] == 255);
    sl_tensors_destroy(r);
}

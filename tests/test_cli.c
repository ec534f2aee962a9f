/* Tests of the command-line frame and `simlearn info`: help and version,
 * usage errors (exit 2), runtime errors naming the file (exit 1), the
 * output for every supported format, and the installed library with its
 * pkg-config file. */
#include "test.h"

#include <unistd.h>

/* Run `simlearn ARGS`, returning the exit status and the combined output. */
static int sl(const char *args, char **out) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s", t_simlearn(), args);
    return t_run(cmd, out);
}

TEST(help_and_version) {
    char *out;
    ASSERT_EQ_INT(sl("--help", &out), 0);
    ASSERT_CONTAINS(out, "usage: simlearn <command> [options]");
    ASSERT_CONTAINS(out, "info");
    free(out);
    ASSERT_EQ_INT(sl("--version", &out), 0);
    ASSERT_CONTAINS(out, "simlearn " SL_VERSION_STRING);
    free(out);
    ASSERT_EQ_INT(sl("", &out), 2);
    ASSERT_CONTAINS(out, "usage: simlearn");
    free(out);
}

TEST(info_help_shows_defaults) {
    char *out;
    ASSERT_EQ_INT(sl("info --help", &out), 0);
    ASSERT_CONTAINS(out, "usage: simlearn info [options] FILE...");
    ASSERT_CONTAINS(out, "--words N");
    ASSERT_CONTAINS(out, "[default: 5]");
    ASSERT_CONTAINS(out, "[default: auto]");
    ASSERT_CONTAINS(out, "{auto|npy|safetensors|word2vec-text|word2vec-binary}");
    free(out);
    ASSERT_EQ_INT(sl("info -h", &out), 0);
    free(out);
}

TEST(usage_errors_exit_2_with_a_message) {
    char *out;
    ASSERT_EQ_INT(sl("frobnicate", &out), 2);
    ASSERT_CONTAINS(out, "simlearn: unknown command 'frobnicate'");
    free(out);
    ASSERT_EQ_INT(sl("info --bogus x.npy", &out), 2);
    ASSERT_CONTAINS(out, "unknown option '--bogus'");
    free(out);
    /* A subcommand's message points to its own help. */
    ASSERT_EQ_INT(sl("words train c.txt --bogus", &out), 2);
    ASSERT_CONTAINS(out, "unknown option '--bogus' (see 'simlearn words train --help')");
    free(out);
    ASSERT_EQ_INT(sl("words embed --text t.txt -o t.npy", &out), 2);
    ASSERT_CONTAINS(out, "option --vectors is required (see 'simlearn words embed --help')");
    free(out);
    ASSERT_EQ_INT(sl("info -z x.npy", &out), 2);
    ASSERT_CONTAINS(out, "unknown option '-z'");
    free(out);
    ASSERT_EQ_INT(sl("info --words abc x.npy", &out), 2);
    ASSERT_CONTAINS(out, "option --words: 'abc' is not an integer");
    free(out);
    ASSERT_EQ_INT(sl("info --words 12x x.npy", &out), 2);
    ASSERT_CONTAINS(out, "'12x' is not an integer");
    free(out);
    ASSERT_EQ_INT(sl("info --words=-3 x.npy", &out), 2);
    ASSERT_CONTAINS(out, "option --words: -3 is out of range");
    free(out);
    ASSERT_EQ_INT(sl("info --words 99999999999999999999999 x.npy", &out), 2);
    ASSERT_CONTAINS(out, "is not an integer");
    free(out);
    ASSERT_EQ_INT(sl("info --format xml x.npy", &out), 2);
    ASSERT_CONTAINS(out, "option --format: 'xml' is not one of");
    free(out);
    ASSERT_EQ_INT(sl("info x.npy --words", &out), 2);
    ASSERT_CONTAINS(out, "option --words needs a value");
    free(out);
    ASSERT_EQ_INT(sl("info", &out), 2);
    ASSERT_CONTAINS(out, "expected at least 1 argument");
    free(out);
}

/* info on a bad file: exit 1, "simlearn: error: FILE: ...". */
static void expect_info_error(const char *name, const void *bytes, size_t n, const char *frag) {
    const char *p = t_path(name);
    t_write_file(p, bytes, n);
    char args[1200], *out, want[1200];
    snprintf(args, sizeof args, "info %s", p);
    int rc = sl(args, &out);
    if (rc != 1) T_FAIL("info %s: exit %d, expected 1; output: %s", name, rc, out);
    snprintf(want, sizeof want, "simlearn: error: %s: ", p);
    ASSERT_CONTAINS(out, want);
    ASSERT_CONTAINS(out, frag);
    free(out);
}

TEST(info_rejects_every_malformed_file_with_exit_1) {
    const char npy_trunc[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
    expect_info_error("trunc.npy", npy_trunc, sizeof npy_trunc - 1, "byte 8: header length 118 exceeds");
    char npy_bad[132];
    static const char f2[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }";
    memset(npy_bad, ' ', sizeof npy_bad);
    memcpy(npy_bad, f2, sizeof f2 - 1);
    npy_bad[127] = '\n';
    expect_info_error("f2.npy", npy_bad, 132, "dtype '<f2' is not supported");
    const char st_dup[] = "\x28\0\0\0\0\0\0\0{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}       ";
    expect_info_error("dup.safetensors", st_dup, 48, "byte 33: JSON header: duplicate key \"a\"");
    const char st_lie[] = "\x08\0\0\0\0\0\0\0{\"x\":1}";
    expect_info_error("lie.safetensors", st_lie, sizeof st_lie - 1, "byte 0: header length 8 exceeds the 7 bytes");
    const char w2v_short[] = "2 3\nthe 1 2 3\ncat 1 2\n";
    expect_info_error("short.vec", w2v_short, sizeof w2v_short - 1, "line 3: word \"cat\": found 2 values, expected 3");
    const char w2v_nan[] = "1 2\nthe 1 nan\n";
    expect_info_error("nan.txt", w2v_nan, sizeof w2v_nan - 1, "value 2 is \"nan\", expected a finite number");
    const char w2v_extra[] = "1 2\nthe 1 2\ncat 3 4\n";
    expect_info_error("extra.txt", w2v_extra, sizeof w2v_extra - 1, "line 3: an extra row");
    unsigned char bin[4 + 4 + 6] = {'1', ' ', '2', '\n', 'a', 'b', 'c', ' ', 0, 0, 0x80, 0x3f, 0, 0};
    expect_info_error("trunc.bin", bin, sizeof bin, "byte 8: word 1 (\"abc\"): file ends mid-vector, 6 of 8 bytes");
    unsigned char bin2[64] = "2 2\nabc ";
    float v[2] = {1, 2};
    memcpy(bin2 + 8, v, 8);
    memcpy(bin2 + 16, "\nxyz0123456789xyz ", 18);
    memcpy(bin2 + 34, v, 6);
    expect_info_error("mid.bin", bin2, 40, "word 2 (\"xyz0123456789xyz\"): file ends mid-vector");
    expect_info_error("text.txt", "hello world\n", 12, "byte 0: unrecognised content");
    expect_info_error("empty.npy", "", 0, "unrecognised content");
    char *out, args[700];
    snprintf(args, sizeof args, "info %s", t_path("does-not-exist.npy"));
    ASSERT_EQ_INT(sl(args, &out), 1);
    ASSERT_CONTAINS(out, "does-not-exist.npy: cannot open");
    free(out);
}

TEST(info_on_our_safetensors_and_word_vectors) {
    sl_tensors *t;
    ASSERT_OK(sl_tensors_create(&t));
    float w[6] = {3, 4, 0, 0, 0, 1};
    size_t s32[2] = {3, 2}, s2 = 2;
    ASSERT_OK(sl_tensors_add(t, "enc.weight", SL_F32, 2, s32, w));
    int64_t step[2] = {7, 9};
    ASSERT_OK(sl_tensors_add(t, "step", SL_I64, 1, &s2, step));
    ASSERT_OK(sl_tensors_set_meta(t, "spec", "mlp:2-3"));
    ASSERT_OK(sl_safetensors_write(t_path("m.safetensors"), t));
    sl_tensors_destroy(t);
    sl_wordvecs *wv;
    ASSERT_OK(sl_wordvecs_create(3, 2, &wv));
    const char *words[3] = {"king", "queen", "caf\xc3\xa9"};
    for (int i = 0; i < 3; i++) {
        wv->words[i] = malloc(16);
        strcpy(wv->words[i], words[i]);
    }
    memcpy(wv->vecs, w, sizeof w);
    ASSERT_OK(sl_w2v_write(t_path("v.txt"), wv, SL_W2V_TEXT));
    ASSERT_OK(sl_w2v_write(t_path("v.bin"), wv, SL_W2V_BINARY));
    sl_wordvecs_destroy(wv);
    char args[2000], *out;
    snprintf(args, sizeof args, "info %s %s %s", t_path("m.safetensors"), t_path("v.txt"), t_path("v.bin"));
    int rc = sl(args, &out);
    if (rc) T_FAIL("exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "m.safetensors: safetensors, 2 tensors, 8 values");
    ASSERT_CONTAINS(out, "    spec: mlp:2-3");
    ASSERT_CONTAINS(out, "  enc.weight: F32 (3, 2)");
    ASSERT_CONTAINS(out, "row L2 norms (3 rows of 2): min 0, mean 2, max 5");
    ASSERT_CONTAINS(out, "  step: I64 (2,)");
    ASSERT_CONTAINS(out, "values: min 7, max 9, mean 8");
    ASSERT_CONTAINS(out, "v.txt: word2vec text, 3 words, dimension 2");
    ASSERT_CONTAINS(out, "v.bin: word2vec binary, 3 words, dimension 2");
    ASSERT_CONTAINS(out, "words: king queen caf\xc3\xa9\n");
    ASSERT_CONTAINS(out, "zero rows: 1");
    free(out);
    snprintf(args, sizeof args, "info --words 1 %s", t_path("v.bin"));
    ASSERT_EQ_INT(sl(args, &out), 0);
    ASSERT_CONTAINS(out, "words: king ...");
    free(out);
    /* Forcing the wrong format gives that format's error. */
    snprintf(args, sizeof args, "info --format npy %s", t_path("v.txt"));
    ASSERT_EQ_INT(sl(args, &out), 1);
    ASSERT_CONTAINS(out, "not a .npy file");
    free(out);
    snprintf(args, sizeof args, "info -f word2vec-binary %s", t_path("v.bin"));
    ASSERT_EQ_INT(sl(args, &out), 0);
    free(out);
    /* One bad file among good ones: all are shown, exit 1. */
    t_write_file(t_path("bad.npy"), "nope", 4);
    snprintf(args, sizeof args, "info %s %s", t_path("bad.npy"), t_path("v.txt"));
    ASSERT_EQ_INT(sl(args, &out), 1);
    ASSERT_CONTAINS(out, "v.txt: word2vec text");
    ASSERT_CONTAINS(out, "bad.npy");
    free(out);
}

TEST(info_on_the_python_written_safetensors_fixture) {
    char *out;
    ASSERT_EQ_INT(sl("info tests/fixtures/small.safetensors", &out), 0);
    ASSERT_CONTAINS(out, "safetensors, 7 tensors, 17 values");
    ASSERT_CONTAINS(out, "  encoder.weight: F32 (2, 3)");
    ASSERT_CONTAINS(out, "  step: I64 ()");
    free(out);
}

TEST(info_on_npy_from_numpy) {
    if (t_run("/usr/bin/python3 -c 'import numpy' 2>/dev/null", NULL) != 0)
        SKIP("/usr/bin/python3 with numpy is not available (scripts/deps.sh test installs python3-numpy)");
    char cmd[1000], *out;
    snprintf(cmd, sizeof cmd,
             "cd %s && /usr/bin/python3 -c \"import numpy as np; "
             "np.save('e.npy', np.array([[3, 4], [6, 8], [0, 0]], dtype='<f4')); "
             "np.save('l.npy', np.array([1, 2, 3])); np.save('n.npy', np.array([1.0, float('nan')]))\"",
             t_tmpdir());
    ASSERT_EQ_INT(t_run(cmd, NULL), 0);
    char args[1000];
    snprintf(args, sizeof args, "info %s %s %s", t_path("e.npy"), t_path("l.npy"), t_path("n.npy"));
    int rc = sl(args, &out);
    if (rc) T_FAIL("exit %d: %s", rc, out);
    ASSERT_CONTAINS(out, "e.npy: .npy array, float32, shape (3, 2)");
    ASSERT_CONTAINS(out, "values: min 0, max 8, mean 3.5");
    ASSERT_CONTAINS(out, "row L2 norms (3 rows of 2): min 0, mean 5, max 10");
    ASSERT_CONTAINS(out, "l.npy: .npy array, int64, shape (3,)");
    ASSERT_CONTAINS(out, "non-finite values: 1 of 2");
    free(out);
}

/* `make install` from a build of its own (INSTALL_BUILD under this test's
 * temporary directory, so the tree the other tests use is never rebuilt under
 * them) into a temporary prefix. Checks every installed file, that the library
 * and binary were compiled for a portable target, that the installed binary
 * finds its evaluation data in share/simlearn from any working directory, that
 * the Python package imports from its dist-packages folder, and a small
 * program built with the installed
 * pkg-config file, linked statically (the archive named explicitly, since
 * -lsimlearn picks the shared library when both exist) and dynamically. */
static void make_install(const char *build, const char *prefix) {
    char cmd[2400], *out;
    /* A clean environment: the make running the tests must not pass its
     * variables (the sanitizer build's, for one) to this one. */
    snprintf(cmd, sizeof cmd,
             "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CFLAGS -u LDLIBS -u BUILD -u BIN -u OPT -u PREFIX -u DESTDIR "
             "-u ARCH -u INSTALL_BUILD -u INSTALL_ARCH make -s install INSTALL_BUILD=%s PREFIX=%s",
             build, prefix);
    int rc = t_run(cmd, &out);
    if (rc) T_FAIL("make install failed (%d): %s", rc, out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s/libsimlearn.a", build);
    ASSERT_TRUE(access(cmd, R_OK) == 0);
    /* Built for a portable target, not this machine's CPU: gcc's -g records
     * the -march it compiled with (-march=native as the CPU's own name). */
    snprintf(cmd, sizeof cmd,
             "cat %s/lib/libsimlearn.so %s/bin/simlearn %s/lib/python3*/dist-packages/simlearn/_simlearn*.so | "
             "grep -a -o -- '-march=[a-z0-9-]*' | sort -u",
             prefix, prefix, prefix);
    rc = t_run(cmd, &out);
#if defined(__x86_64__)
    if (strcmp(out, "-march=x86-64-v2\n") != 0) T_FAIL("the installed build was compiled with: %s", out);
#else
    if (*out) T_FAIL("the installed build was compiled with: %s", out);
#endif
    free(out);
    static const char *const files[] = {
        "include/simlearn.h", "include/simlearn/io.h", "include/simlearn/words.h", "lib/libsimlearn.a",
        "lib/libsimlearn.so", "lib/pkgconfig/simlearn.pc", "bin/simlearn", "share/simlearn/README.md",
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(cmd, sizeof cmd, "%s/%s", prefix, files[i]);
        if (access(cmd, R_OK) != 0) T_FAIL("make install did not write %s", cmd);
    }
    /* The Python package, importable from where it was installed. */
    snprintf(cmd, sizeof cmd,
             "cd / && PYTHONPATH=$(echo %s/lib/python3*/dist-packages) /usr/bin/python3 -c "
             "'import simlearn; print(simlearn.__file__); print(simlearn.knn([[0.0, 1], [2, 2]], [[2.0, 1.9]], 1)[1])'",
             prefix);
    rc = t_run(cmd, &out);
    if (rc) T_FAIL("the installed Python package failed (%d): %s", rc, out);
    ASSERT_CONTAINS(out, "dist-packages/simlearn/__init__.py");
    ASSERT_CONTAINS(out, "[[1]]");
    free(out);
    /* The evaluation sets are installed as they are in data/. */
    static const char *const data[] = {"questions-words.txt", "wordsim353.tsv", "simlex999.txt", "README.md"};
    for (size_t i = 0; i < sizeof data / sizeof *data; i++) {
        snprintf(cmd, sizeof cmd, "cmp data/%s %s/share/simlearn/%s", data[i], prefix, data[i]);
        rc = t_run(cmd, &out);
        if (rc) T_FAIL("installed %s differs from data/%s (%d): %s", data[i], data[i], rc, out);
        free(out);
    }
}

TEST(install_and_pkg_config) {
    if (access("Makefile", R_OK) != 0 || access("scripts/simlearn.pc.in", R_OK) != 0)
        SKIP("not run from the source tree");
    if (t_run("command -v pkg-config >/dev/null", NULL) != 0) SKIP("pkg-config is not installed (scripts/deps.sh core)");
    /* t_path() rotates through a few buffers, so keep copies. */
    char prefix[600], build[600], src[600], pst[600], psh[600], an[600], bn[600], vec[600];
    snprintf(prefix, sizeof prefix, "%s", t_path("inst"));
    snprintf(build, sizeof build, "%s", t_path("build"));
    snprintf(src, sizeof src, "%s", t_path("prog.c"));
    snprintf(pst, sizeof pst, "%s", t_path("prog_static"));
    snprintf(psh, sizeof psh, "%s", t_path("prog_shared"));
    snprintf(an, sizeof an, "%s", t_path("a.npy"));
    snprintf(bn, sizeof bn, "%s", t_path("b.npy"));
    snprintf(vec, sizeof vec, "%s", t_path("v.vec"));
    make_install(build, prefix);
    char cmd[8000], *out;
    /* The installed binary, started from elsewhere with no $SIMLEARN_DATA,
     * takes its default question and pair files from share/simlearn. */
    static const char vecs[] = "10 2\nathens 1 0\ngreece 0 1\nlove 1 1\nsex 1 0.5\nold 0 1\nnew 1 0.2\n"
                               "tiger 0.3 1\ncat 1 0.9\nsmart 0.5 0.5\nintelligent 0.6 0.4\n";
    t_write_file(vec, vecs, sizeof vecs - 1);
    snprintf(cmd, sizeof cmd, "cd / && env -u SIMLEARN_DATA %s/bin/simlearn words analogy %s && "
             "env -u SIMLEARN_DATA %s/bin/simlearn words similarity %s", prefix, vec, prefix, vec);
    int rc = t_run(cmd, &out);
    if (rc) T_FAIL("the installed simlearn failed (%d): %s", rc, out);
    ASSERT_CONTAINS(out, "questions seen 0 of 19544");
    ASSERT_CONTAINS(out, "wordsim353.tsv");
    ASSERT_CONTAINS(out, "/353");
    ASSERT_CONTAINS(out, "simlex999.txt");
    ASSERT_CONTAINS(out, "/999");
    free(out);
    const char *prog = "#include <simlearn.h>\n#include <stdio.h>\n"
                       "int main(int argc, char **argv) {\n"
                       "  (void)argc;\n"
                       "  float m[4] = {1, 2, 3, 4}; float *d; size_t r, c;\n"
                       "  if (sl_npy_write_matrix(argv[1], m, 2, 2) || sl_npy_read_matrix(argv[1], &d, &r, &c)) {\n"
                       "    printf(\"error: %s\\n\", sl_error_message()); return 1; }\n"
                       "  printf(\"version %s rows %zu cols %zu last %g\\n\", sl_version(), r, c, d[3]);\n"
                       "  sl_allocator_free(d); return 0; }\n";
    t_write_file(src, prog, strlen(prog));
    snprintf(cmd, sizeof cmd,
             "export PKG_CONFIG_PATH=%s/lib/pkgconfig && pkg-config --modversion simlearn && "
             "cc -std=c11 %s $(pkg-config --cflags simlearn) -o %s "
             "$(pkg-config --libs --static simlearn | sed 's/-lsimlearn/-l:libsimlearn.a/') && "
             "%s %s && "
             "cc -std=c11 %s $(pkg-config --cflags simlearn) -o %s $(pkg-config --libs simlearn) && "
             "LD_LIBRARY_PATH=%s/lib %s %s && ldd %s | grep -c libsimlearn.so && "
             "%s/bin/simlearn --version",
             prefix, src, pst, pst, an, src, psh, prefix, psh, bn, psh, prefix);
    rc = t_run(cmd, &out);
    if (rc) T_FAIL("building against the installed library failed (%d): %s", rc, out);
    ASSERT_CONTAINS(out, SL_VERSION_STRING "\nversion " SL_VERSION_STRING " rows 2 cols 2 last 4\n");
    ASSERT_CONTAINS(out, "version " SL_VERSION_STRING " rows 2 cols 2 last 4\n1\nsimlearn " SL_VERSION_STRING);
    free(out);
}

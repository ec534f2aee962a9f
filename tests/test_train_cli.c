/* Tests of simlearn train / embed / demo as commands: Ctrl-C writes a
 * checkpoint and exits 130 and the run resumes from it, a diverging run exits
 * 1 naming the step, the memory check refuses with the estimate, the default
 * recipe's logged loss falls, embed writes its .npy files, a corrupt
 * checkpoint makes train --resume, embed and report exit 1 naming the
 * setting. */
#include "test.h"
#include "train_helpers.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TINY "--count 96 --size 16 --batch 16 --threads 1 --encoder 'conv(4,3,stride=2,pad=1),bn,relu,flatten,linear(16)' --projector 'linear(8)'"

static long file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

TEST(sigint_writes_a_checkpoint_and_exits_130) {
    const char *out = t_path("m.safetensors"), *log = t_path("m.jsonl");
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "exec %s train " TINY " --steps 100000000 --log-every 1 -q -o %s --log %s", t_simlearn(),
                 out, log);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* Wait until training is under way (the log has a line), then interrupt. */
    for (int i = 0; i < 600 && file_size(log) <= 0; i++) usleep(50000);
    ASSERT_TRUE(file_size(log) > 0);
    ASSERT_EQ_INT(kill(pid, SIGINT), 0);
    int st = 0;
    ASSERT_EQ_INT((int)waitpid(pid, &st, 0), (int)pid);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ_INT(WEXITSTATUS(st), 130);
    sl_tensors *x;
    ASSERT_OK(sl_safetensors_read(out, &x));
    ASSERT_TRUE(strtoull(sl_tensors_get_meta(x, "train.step"), NULL, 10) >= 1);
    sl_tensors_destroy(x);
    /* And it resumes. */
    char cmd[2048], *o = NULL;
    uint64_t done;
    ASSERT_OK(sl_safetensors_read(out, &x));
    done = strtoull(sl_tensors_get_meta(x, "train.step"), NULL, 10);
    sl_tensors_destroy(x);
    snprintf(cmd, sizeof cmd, "%s train --resume %s --steps %llu -q -o %s", t_simlearn(), out,
             (unsigned long long)done + 2, out);
    int rc = t_run(cmd, &o);
    if (rc) T_FAIL("train --resume: exit %d: %s", rc, o);
    free(o);
    /* It went on from the interrupted step to the new end. */
    char want[32];
    snprintf(want, sizeof want, "%llu", (unsigned long long)done + 2);
    ASSERT_OK(sl_safetensors_read(out, &x));
    ASSERT_STREQ(sl_tensors_get_meta(x, "train.step"), want);
    sl_tensors_destroy(x);
}

TEST(diverging_run_exits_1_naming_the_step) {
    char cmd[2048], *o = NULL;
    snprintf(cmd, sizeof cmd,
             "%s train " TINY " --objective autoencoder --projector none --optim sgd --lr 1e30 --steps 40 -q -o %s",
             t_simlearn(), t_path("d.safetensors"));
    ASSERT_EQ_INT(t_run(cmd, &o), 1);
    ASSERT_CONTAINS(o, "step ");
    ASSERT_CONTAINS(o, "not finite");
    free(o);
}

TEST(memory_check_refuses_with_the_estimate) {
    char cmd[2048], *o = NULL;
    snprintf(cmd, sizeof cmd, "%s train " TINY " --steps 2 --max-memory 1K -o %s", t_simlearn(), t_path("m.safetensors"));
    ASSERT_EQ_INT(t_run(cmd, &o), 1);
    ASSERT_CONTAINS(o, "memory     about");
    ASSERT_CONTAINS(o, "training needs about");
    free(o);
    ASSERT_EQ_INT((int)file_size(t_path("m.safetensors")), -1);
}

TEST(usage_errors_exit_2) {
    char cmd[2048], *o = NULL;
    snprintf(cmd, sizeof cmd, "%s train --objective nonsense -o x.safetensors", t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &o), 2);
    free(o);
    snprintf(cmd, sizeof cmd, "%s train --steps 2", t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &o), 2);
    free(o);
    snprintf(cmd, sizeof cmd, "%s embed -o x.npy", t_simlearn());
    ASSERT_EQ_INT(t_run(cmd, &o), 2);
    ASSERT_CONTAINS(o, "--raw");
    free(o);
}

TEST(train_then_embed_writes_npy_and_labels) {
    char cmd[4096], *o = NULL;
    const char *m = t_path("m.safetensors");
    snprintf(cmd, sizeof cmd, "%s train " TINY " --objective supcon --steps 3 -q -o %s", t_simlearn(), m);
    ASSERT_EQ_INT(t_run(cmd, &o), 0);
    free(o);
    snprintf(cmd, sizeof cmd, "%s embed --model %s --split val --count 50 --normalize -q -o %s", t_simlearn(), m,
             t_path("e.npy"));
    int rc = t_run(cmd, &o);
    if (rc) T_FAIL("embed failed: %s", o);
    free(o);
    float *x;
    size_t r, c;
    ASSERT_OK(sl_npy_read_matrix(t_path("e.npy"), &x, &r, &c));
    ASSERT_EQ_SIZE(r, 50);
    ASSERT_EQ_SIZE(c, 16);
    sl_allocator_free(x);
    static const char *const names[] = {"e.shape.npy", "e.color.npy", "e.size.npy", "e.location.npy", "e.labels.npy"};
    for (int k = 0; k < 5; k++) {
        int64_t *l;
        size_t n;
        ASSERT_OK(sl_npy_read_labels(t_path(names[k]), &l, &n));
        ASSERT_EQ_SIZE(n, 50);
        sl_allocator_free(l);
    }
}

/* The recommended recipe (no options beyond the tiny model and data) learns:
 * over 40 steps logged one by one, the mean of the last 8 losses is below 0.8
 * times the mean of the first 8. The run gives 0.65 (the same bits with 1 to
 * 4 threads and under OPENBLAS_CORETYPE=Haswell); with the model never
 * updated it gives 1.1. */
TEST(default_recipe_loss_falls) {
    char cmd[4096], *o = NULL;
    const char *m = t_path("d.safetensors"), *log = t_path("d.jsonl");
    snprintf(cmd, sizeof cmd, "%s train " TINY " --steps 40 --log-every 1 --log %s -q -o %s", t_simlearn(), log, m);
    int rc = t_run(cmd, &o);
    if (rc) T_FAIL("train: exit %d: %s", rc, o);
    free(o);
    sl_jsonl *j;
    ASSERT_OK(sl_jsonl_read(log, &j));
    ASSERT_EQ_SIZE(j->n_rows, 40);
    long ls = sl_jsonl_column(j, "loss"), st = sl_jsonl_column(j, "step");
    ASSERT_TRUE(ls >= 0 && st >= 0);
    double first = 0, last = 0;
    for (size_t i = 0; i < 40; i++) {
        double v = j->values[i * j->n_keys + (size_t)ls];
        ASSERT_NEAR(j->values[i * j->n_keys + (size_t)st], (double)(i + 1), 0);
        if (!isfinite(v)) T_FAIL("the loss of step %zu is %g", i + 1, v);
        if (i < 8) first += v / 8;
        if (i >= 32) last += v / 8;
    }
    sl_jsonl_destroy(j);
    if (!(first > 0 && last < 0.8 * first))
        T_FAIL("mean loss of the last 8 steps %.6g, of the first 8 %.6g (ratio %.3f, expected below 0.8)", last, first,
               last / first);
}

static void expect_meta(const sl_tensors *x, const char *key, const char *want) {
    const char *v = sl_tensors_get_meta(x, key);
    if (!v || strcmp(v, want) != 0) T_FAIL("%s is '%s', expected '%s'", key, v ? v : "(absent)", want);
}

/* The recommended recipe is what a run without options gets: tau 0.1, Adam
 * 2e-3, cosine with 5% warm-up everywhere; on IDX images the mono preset and
 * the 512-wide projector with batch normalisation. */
TEST(defaults_are_the_recommended_recipe) {
    char cmd[4096], *o = NULL;
    sl_tensors *x;
    const char *m = t_path("d.safetensors");
    snprintf(cmd, sizeof cmd, "%s train " TINY " --steps 40 -q -o %s", t_simlearn(), m);
    ASSERT_EQ_INT(t_run(cmd, &o), 0);
    free(o);
    ASSERT_OK(sl_safetensors_read(m, &x));
    expect_meta(x, "train.tau", "0.10000000000000001");
    expect_meta(x, "train.lr", "0.002");
    expect_meta(x, "train.schedule", "cosine");
    expect_meta(x, "train.warmup", "2");
    expect_meta(x, "train.aug", "simclr");
    sl_tensors_destroy(x);
    /* 32 images of 8x8 in one IDX file. */
    static uint8_t buf[16 + 32 * 64];
    const uint8_t head[16] = {0, 0, 8, 3, 0, 0, 0, 32, 0, 0, 0, 8, 0, 0, 0, 8};
    memcpy(buf, head, 16);
    for (size_t i = 0; i < 32 * 64; i++) buf[16 + i] = (uint8_t)(i * 37 % 251);
    const char *idx = t_path("tiny-images-idx3-ubyte");
    t_write_file(idx, buf, sizeof buf);
    m = t_path("i.safetensors");
    snprintf(cmd, sizeof cmd,
             "%s train --data %s --batch 8 --threads 1 --encoder 'conv(4,3,pad=1),bn,relu,gap' --steps 2 -q -o %s",
             t_simlearn(), idx, m);
    int rc = t_run(cmd, &o);
    if (rc) T_FAIL("train on IDX failed: %s", o);
    free(o);
    ASSERT_OK(sl_safetensors_read(m, &x));
    expect_meta(x, "train.aug", "mono");
    expect_meta(x, "train.projector", "linear(512),bn,relu,linear(128)");
    expect_meta(x, "train.warmup", "0");
    sl_tensors_destroy(x);
}

/* --val-fraction holds out the end of an IDX train file as the validation
 * split; the checkpoint remembers it, so embed finds the same split. */
TEST(val_fraction_carves_validation_from_train_and_embed_follows_it) {
    static uint8_t buf[16 + 40 * 64];
    const uint8_t head[16] = {0, 0, 8, 3, 0, 0, 0, 40, 0, 0, 0, 8, 0, 0, 0, 8};
    memcpy(buf, head, 16);
    for (size_t i = 0; i < 40 * 64; i++) buf[16 + i] = (uint8_t)(i * 31 % 253);
    /* A folder with a train file of 40 images and a test file. */
    char idx[1024];
    snprintf(idx, sizeof idx, "%s", t_path("vdir"));
    ASSERT_EQ_INT(mkdir(idx, 0755), 0);
    t_write_file(t_path("vdir/train-images-idx3-ubyte"), buf, sizeof buf);
    t_write_file(t_path("vdir/t10k-images-idx3-ubyte"), buf, sizeof buf);
    char m[1024], cmd[4096], *o = NULL;
    snprintf(m, sizeof m, "%s", t_path("v.safetensors"));
    snprintf(cmd, sizeof cmd,
             "%s train --data %s --val-fraction 0.25 --batch 8 --threads 1 --encoder 'conv(4,3,pad=1),bn,relu,gap' "
             "--steps 2 -q -o %s",
             t_simlearn(), idx, m);
    int rc = t_run(cmd, &o);
    if (rc) T_FAIL("train failed: %s", o);
    free(o);
    sl_tensors *x;
    ASSERT_OK(sl_safetensors_read(m, &x));
    expect_meta(x, "train.val_fraction", "0.25");
    sl_tensors_destroy(x);
    static const char *const split[] = {"train", "val"};
    static const size_t rows[] = {30, 10};
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd, "%s embed --model %s --split %s -q -o %s", t_simlearn(), m, split[k], t_path("e.npy"));
        rc = t_run(cmd, &o);
        if (rc) T_FAIL("embed --split %s failed: %s", split[k], o);
        free(o);
        float *e;
        size_t r, c;
        ASSERT_OK(sl_npy_read_matrix(t_path("e.npy"), &e, &r, &c));
        ASSERT_EQ_SIZE(r, rows[k]);
        sl_allocator_free(e);
    }
    /* Asking embed for no validation split overrides the model's setting. */
    snprintf(cmd, sizeof cmd, "%s embed --model %s --split val --val-fraction 0 -q -o %s", t_simlearn(), m,
             t_path("e.npy"));
    ASSERT_EQ_INT(t_run(cmd, &o), 1);
    ASSERT_CONTAINS(o, "no validation split");
    free(o);
}

/* Runs cmd (with %s for the checkpoint) and expects exit status 1 with
 * "simlearn: error: CKPT: metadata 'KEY' is 'VALUE', expected EXPECTED". */
static void expect_exit_1(const char *what, const char *cmd_fmt, const char *ckpt, const char *key, const char *value,
                          const char *expected) {
    char cmd[8192], want[8400], *o = NULL;
    snprintf(cmd, sizeof cmd, cmd_fmt, t_simlearn(), ckpt);
    int rc = t_run(cmd, &o);
    if (value)
        snprintf(want, sizeof want, "simlearn: error: %s: metadata '%s' is '%s', expected %s", ckpt, key, value, expected);
    else
        snprintf(want, sizeof want, "simlearn: error: %s: metadata '%s' is missing (expected %s", ckpt, key, expected);
    if (rc != 1 || !strstr(o, want))
        T_FAIL("%s with %s = '%s': exit %d, output \"%s\"; expected exit 1 and \"%s\"", what, key, value ? value : "(removed)",
               rc, o, want);
    free(o);
}

/* A real checkpoint with one setting corrupted at a time: train --resume,
 * embed and report exit 1 naming the file, the key, the value and what was
 * expected. embed and report read the data, normalisation and encoder
 * settings; train --resume reads them all. */
TEST(corrupt_checkpoints_exit_1_naming_the_setting) {
    static const char *const both[][3] = {
        {"train.data_seed", "-1", "an integer from 0 to 18446744073709551615"},
        {"train.image_size", "5000", "an integer from 0 to 4096"},
        {"train.input_std", "0", "a finite number > 0"},
        {"train.input_mean", "inf", "a finite number >= -inf"},
        {"train.data", "", "a dataset source"},
        {"train.val_fraction", "1.5", "a finite number >= -1 and <= 0.99"},
        {"encoder.rng", "12ab", "64 hexadecimal digits"},
        /* Written only by runs that use them. */
        {"train.shapes_noise", "1.5", "a finite number > 0 and <= 1"},
        {"train.shapes_noise", "0", "a finite number > 0 and <= 1"},
        {"train.shapes_rotate", "yes", "an integer from 1 to 1"},
        {"train.channels", "2", "1 or 3"},
        {"train.test_fraction", "-0.5", "a finite number >= 0 and <= 0.99"},
        {"train.labels", "", "a labels file"},
        {"train.image_dir", "", "a folder"},
    };
    static const char *const train_only[][3] = {
        {"train.step", "-1", "an integer from 0 to 18446744073709551615"},
        {"train.step", "2x", "an integer from 0 to 18446744073709551615"},
        {"train.step", "9", "at most train.steps (8)"},
        {"train.epoch", "3", "0: step 2 at 6 batches per epoch"},
        {"train.seed", "99999999999999999999", "an integer from 0 to 18446744073709551615"},
        {"train.batch", NULL, "an integer from 1 to 16777216"},
        {"train.lr", "nan", "a finite number > 0"},
        {"train.objective", "simclr", "infonce, supcon,"},
        {"optim.encoder.step", "1", "2, the step of train.step"},
    };
    const char *train_cmd = "%s train --resume %s -q -o out.safetensors";
    const char *embed_cmd = "%s embed --model %s --split val --count 20 -q -o e.npy";
    const char *report_cmd = "%s report --model %s --count 20 --no-tsne --no-probe -q -o r.html";
    char good[4096], bad[4096], cmd[8192], *o = NULL;
    snprintf(good, sizeof good, "%s", t_path("good.safetensors"));
    snprintf(bad, sizeof bad, "%s", t_path("bad.safetensors"));
    snprintf(cmd, sizeof cmd, "cd %s && %s train " TINY " --steps 8 --stop-at 2 -q -o %s", t_tmpdir(), t_simlearn(), good);
    ASSERT_EQ_INT(t_run(cmd, &o), 0);
    free(o);
    /* The untouched checkpoint works with all three. */
    const char *cmds[] = {train_cmd, embed_cmd, report_cmd};
    for (int k = 0; k < 3; k++) {
        char full[8192];
        snprintf(full, sizeof full, "cd %s && ", t_tmpdir());
        snprintf(full + strlen(full), sizeof full - strlen(full), cmds[k], t_simlearn(), good);
        int rc = t_run(full, &o);
        if (rc) T_FAIL("%s: exit %d: %s", full, rc, o);
        free(o);
    }
    char tc[1024], ec[1024], rcmd[1024];
    snprintf(tc, sizeof tc, "cd %s && %s", t_tmpdir(), train_cmd);
    snprintf(ec, sizeof ec, "cd %s && %s", t_tmpdir(), embed_cmd);
    snprintf(rcmd, sizeof rcmd, "cd %s && %s", t_tmpdir(), report_cmd);
    for (size_t i = 0; i < sizeof both / sizeof *both; i++) {
        rewrite_meta(good, bad, both[i][0], both[i][1]);
        expect_exit_1("train --resume", tc, bad, both[i][0], both[i][1], both[i][2]);
        expect_exit_1("embed", ec, bad, both[i][0], both[i][1], both[i][2]);
        expect_exit_1("report", rcmd, bad, both[i][0], both[i][1], both[i][2]);
    }
    for (size_t i = 0; i < sizeof train_only / sizeof *train_only; i++) {
        rewrite_meta(good, bad, train_only[i][0], train_only[i][1]);
        expect_exit_1("train --resume", tc, bad, train_only[i][0], train_only[i][1], train_only[i][2]);
    }
}

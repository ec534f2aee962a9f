/* Tests of Ctrl-C in `simlearn words train`: the first SIGINT makes every
 * thread stop at its next sentence end, the checkpoint is written and the
 * command exits 130 (then --resume finishes the run); a second SIGINT ends
 * the process at once with 130. The runs are real processes. */
#include "test.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static long file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static pid_t start(const char *cmd) {
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Wait up to `limit` seconds for the process to end; kill it and fail if it
 * does not. Returns its wait status. */
static int wait_for(pid_t pid, double limit) {
    double t0 = sl_time_now();
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        ASSERT_TRUE(r >= 0);
        if (r == pid) return st;
        if (sl_time_now() - t0 > limit) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            T_FAIL("the process did not end within %.0f s", limit);
        }
        usleep(10000);
    }
}

/* 1,000,000 words over 2,000 kinds, 20 a line, about half of them skewed
 * towards small ids. */
static void big_corpus(const char *path) {
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    sl_rng r;
    sl_rng_seed(&r, 21, 0);
    for (int line = 0; line < 50000; line++) {
        for (int k = 0; k < 20; k++) {
            uint32_t id = sl_rng_below(&r, 2000);
            if (k & 1) id = sl_rng_below(&r, id + 1);
            fprintf(f, "%sw%u", k ? " " : "", (unsigned)id);
        }
        fputc('\n', f);
    }
    fclose(f);
}

TEST(sigint_checkpoints_promptly_exits_130_and_resumes) {
    const char *corpus = t_path("big.txt");
    big_corpus(corpus);
    char ck[1024], err[1024], out[1024], cmd[4096];
    snprintf(ck, sizeof ck, "%s", t_path("run.ckpt"));
    snprintf(err, sizeof err, "%s", t_path("err.txt"));
    snprintf(out, sizeof out, "%s", t_path("v.bin"));
    /* About 8 M word updates of 200 dimensions: several seconds on two
     * threads. A checkpoint after every round shows that training is under
     * way; then Ctrl-C. */
    snprintf(cmd, sizeof cmd,
             "exec %s words train %s -o %s --dim 200 --sample 0 --epochs 4 --threads 2 --checkpoint %s "
             "--checkpoint-every 0.001 -q 2>%s",
             t_simlearn(), corpus, out, ck, err);
    pid_t pid = start(cmd);
    for (int i = 0; i < 6000 && file_size(ck) <= 0; i++) usleep(10000);
    ASSERT_TRUE(file_size(ck) > 0);
    double t0 = sl_time_now();
    ASSERT_EQ_INT(kill(pid, SIGINT), 0);
    int st = wait_for(pid, 120);
    double took = sl_time_now() - t0;
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ_INT(WEXITSTATUS(st), 130);
    if (took >= 5) T_FAIL("took %.2f s from SIGINT to exit", took);
    char *msg = NULL;
    snprintf(cmd, sizeof cmd, "cat %s", err);
    ASSERT_EQ_INT(t_run(cmd, &msg), 0);
    ASSERT_CONTAINS(msg, "interrupted; the state is in");
    free(msg);
    ASSERT_EQ_INT((int)file_size(out), -1); /* no vectors from a stopped run */
    /* The checkpoint finishes the run. */
    snprintf(cmd, sizeof cmd, "%s words train %s -o %s --resume %s -q", t_simlearn(), corpus, out, ck);
    ASSERT_EQ_INT(t_run(cmd, &msg), 0);
    ASSERT_CONTAINS(msg, "wrote");
    free(msg);
    sl_wordvecs *w;
    ASSERT_OK(sl_words_load(out, &w));
    ASSERT_EQ_SIZE(w->n, 2000);
    ASSERT_EQ_SIZE(w->dim, 200);
    sl_wordvecs_destroy(w);
}

/* --stop-after-epochs: the run stops after that many epochs with the
 * checkpoint and the vectors so far written, exit 0; --resume finishes it
 * with the bytes of an uninterrupted run (one thread); without --checkpoint
 * it is a usage error. */
TEST(stop_after_epochs_trains_in_parts) {
    const char *corpus = t_path("c.txt");
    FILE *f = fopen(corpus, "w");
    ASSERT_TRUE(f != NULL);
    for (int i = 0; i < 3000; i++) fprintf(f, "a%d b%d c%d d%d the of\n", i % 7, i % 5, i % 3, i % 11);
    fclose(f);
    char cmd[4096], *msg = NULL;
    const char *o = "--dim 8 --min-count 1 --epochs 3 --threads 1 -q";
    snprintf(cmd, sizeof cmd, "%s words train %s %s -o %s", t_simlearn(), corpus, o, t_path("full.bin"));
    ASSERT_EQ_INT(t_run(cmd, &msg), 0);
    free(msg);
    snprintf(cmd, sizeof cmd, "%s words train %s %s -o %s --checkpoint %s --stop-after-epochs 2", t_simlearn(), corpus,
             o, t_path("part.bin"), t_path("p.ckpt"));
    ASSERT_EQ_INT(t_run(cmd, &msg), 0);
    ASSERT_CONTAINS(msg, "stopped after 2 epochs as asked; the state is in");
    ASSERT_CONTAINS(msg, "wrote");
    free(msg);
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", t_path("full.bin"), t_path("part.bin"));
    ASSERT_TRUE(t_run(cmd, &msg) != 0); /* two epochs are not three */
    free(msg);
    snprintf(cmd, sizeof cmd, "%s words train %s -o %s --resume %s -q", t_simlearn(), corpus, t_path("part.bin"),
             t_path("p.ckpt"));
    ASSERT_EQ_INT(t_run(cmd, &msg), 0);
    free(msg);
    snprintf(cmd, sizeof cmd, "cmp %s %s", t_path("full.bin"), t_path("part.bin"));
    ASSERT_EQ_INT(t_run(cmd, &msg), 0);
    free(msg);
    snprintf(cmd, sizeof cmd, "%s words train %s %s -o %s --stop-after-epochs 1", t_simlearn(), corpus, o,
             t_path("x.bin"));
    ASSERT_EQ_INT(t_run(cmd, &msg), 2);
    ASSERT_CONTAINS(msg, "--stop-after-epochs needs --checkpoint");
    free(msg);
}

/* A second Ctrl-C does not wait for the first to take effect. The first
 * one is only acted on at a sentence end, and here every sentence takes far
 * longer than the test waits: one thread cuts the corpus (one line) into 128
 * chunks, each of them a sentence of 400 words, and a word takes tens of
 * milliseconds (per-pair negatives, 2,000 dimensions, a window of up to 200,
 * 500 negatives per prediction), so a sentence takes many seconds. */
TEST(second_sigint_exits_at_once) {
    const char *corpus = t_path("line.txt");
    FILE *f = fopen(corpus, "w");
    ASSERT_TRUE(f != NULL);
    sl_rng r;
    sl_rng_seed(&r, 4, 0);
    for (int k = 0; k < 128 * 400; k++) fprintf(f, "%su%u", k ? " " : "", (unsigned)sl_rng_below(&r, 20));
    fputc('\n', f);
    fclose(f);
    char ck[1024], cmd[4096];
    snprintf(ck, sizeof ck, "%s", t_path("slow.ckpt"));
    snprintf(cmd, sizeof cmd,
             "exec %s words train %s -o %s --negatives per-pair --dim 2000 --window 200 --negative 500 --sample 0 "
             "--min-count 1 "
             "--epochs 1 --threads 1 --checkpoint %s -q 2>/dev/null",
             t_simlearn(), corpus, t_path("slow.bin"), ck);
    pid_t pid = start(cmd);
    usleep(500000);
    ASSERT_EQ_INT(kill(pid, SIGINT), 0);
    usleep(500000);
    int st = 0;
    ASSERT_EQ_INT((int)waitpid(pid, &st, WNOHANG), 0); /* still in its sentence */
    double t0 = sl_time_now();
    ASSERT_EQ_INT(kill(pid, SIGINT), 0);
    st = wait_for(pid, 60);
    double took = sl_time_now() - t0;
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ_INT(WEXITSTATUS(st), 130);
    if (took >= 2) T_FAIL("took %.2f s from the second SIGINT to exit", took);
    ASSERT_EQ_INT((int)file_size(ck), -1); /* the first stop never got to write */
}

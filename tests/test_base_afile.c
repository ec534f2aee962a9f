/* Atomic file writes when fsync fails: this binary defines fsync() itself,
 * so the library's calls come here, where a test can make the sync of a
 * directory or of a regular file fail with a chosen errno. Unless asked to
 * fail, it makes the real system call. */
#include "test.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail_dir_errno, fail_file_errno; /* 0: pass the call through */
static int dir_syncs, file_syncs;           /* calls seen, by kind */

int fsync(int fd) {
    struct stat st;
    bool dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    dir ? dir_syncs++ : file_syncs++;
    int e = dir ? fail_dir_errno : fail_file_errno;
    if (e) {
        errno = e;
        return -1;
    }
    return (int)syscall(SYS_fsync, fd);
}

static sl_status write_text(const char *path, const char *text) {
    sl_afile *f;
    sl_status s = sl_afile_open(path, &f);
    if (s != SL_OK) return s;
    fputs(text, sl_afile_stream(f));
    return sl_afile_commit(f);
}

static void assert_content(const char *path, const char *want) {
    char buf[64] = {0};
    FILE *r = fopen(path, "r");
    ASSERT_TRUE(r != NULL);
    ASSERT_TRUE(fgets(buf, sizeof buf, r) != NULL);
    fclose(r);
    ASSERT_STREQ(buf, want);
}

static int files_in_tmpdir(void) {
    char cmd[600], *out;
    snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", t_tmpdir());
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    int n = atoi(out);
    free(out);
    return n;
}

TEST(atomic_file_commit_syncs_the_file_and_its_directory) {
    ASSERT_OK(write_text(t_path("a.txt"), "one"));
    ASSERT_EQ_INT(file_syncs, 1);
    ASSERT_EQ_INT(dir_syncs, 1);
    assert_content(t_path("a.txt"), "one");
}

TEST(atomic_file_directory_sync_failure_is_an_error_with_the_file_in_place) {
    fail_dir_errno = EIO;
    ASSERT_FAILS(write_text(t_path("a.txt"), "one"), SL_ERR_IO, "syncing its directory");
    ASSERT_CONTAINS(sl_error_message(), "a.txt: written, but");
    ASSERT_CONTAINS(sl_error_message(), strerror(EIO));
    assert_content(t_path("a.txt"), "one");
    ASSERT_EQ_INT(files_in_tmpdir(), 1);
}

TEST(atomic_file_directory_that_cannot_sync_is_not_an_error) {
    static const int unsupported[] = {EINVAL, EROFS};
    for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++) {
        fail_dir_errno = unsupported[i];
        ASSERT_OK(write_text(t_path("a.txt"), i ? "two" : "one"));
        assert_content(t_path("a.txt"), i ? "two" : "one");
    }
    ASSERT_EQ_INT(dir_syncs, 2);
}

TEST(atomic_file_sync_failure_keeps_the_old_file) {
    ASSERT_OK(write_text(t_path("a.txt"), "old"));
    fail_file_errno = EIO;
    ASSERT_FAILS(write_text(t_path("a.txt"), "new"), SL_ERR_IO, "a.txt: write failed");
    assert_content(t_path("a.txt"), "old");
    /* The temporary file is gone and the directory was not synced again. */
    ASSERT_EQ_INT(files_in_tmpdir(), 1);
    ASSERT_EQ_INT(dir_syncs, 1);
}

/* A writer killed before its rename leaves DEST.tmp.HOST.PID.N behind. */
static void make_file(const char *name) {
    FILE *f = fopen(t_path(name), "w");
    ASSERT_TRUE(f != NULL);
    fputs("left behind", f);
    fclose(f);
}

static bool exists(const char *name) { return access(t_path(name), F_OK) == 0; }

static long dead_pid(void) {
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) _exit(0);
    ASSERT_EQ_INT(waitpid(pid, NULL, 0), pid);
    return (long)pid;
}

TEST(atomic_file_removes_temporaries_of_dead_writers_of_the_same_file) {
    char host[65], dead[160], live[160], other_host[160], other_file[160], odd[160], self[160];
    ASSERT_EQ_INT(gethostname(host, sizeof host), 0);
    host[32] = '\0';
    long gone = dead_pid();
    snprintf(dead, sizeof dead, "a.txt.tmp.%s.%ld.7", host, gone);
    snprintf(live, sizeof live, "a.txt.tmp.%s.%ld.0", host, (long)getppid());
    snprintf(other_host, sizeof other_host, "a.txt.tmp.%s-elsewhere.%ld.0", host, gone);
    snprintf(other_file, sizeof other_file, "b.txt.tmp.%s.%ld.0", host, gone);
    snprintf(odd, sizeof odd, "a.txt.tmp.%s.%ld.x", host, gone);
    snprintf(self, sizeof self, "a.txt.tmp.%s.%ld.999999", host, (long)getpid());
    const char *keep[] = {live, other_host, other_file, odd, self};
    make_file(dead);
    for (int i = 0; i < 5; i++) make_file(keep[i]);
    ASSERT_OK(write_text(t_path("a.txt"), "one"));
    assert_content(t_path("a.txt"), "one");
    ASSERT_TRUE(!exists(dead));
    for (int i = 0; i < 5; i++)
        if (!exists(keep[i])) T_FAIL("%s was removed", keep[i]);
    ASSERT_EQ_INT(files_in_tmpdir(), 6);
}

/* The test framework: TEST() registers a case; each case runs in its own
 * process (tests/run.sh starts `binary CASE`). ASSERT macros print both
 * operands and the location, then exit non-zero. They are not affected by
 * NDEBUG. SKIP() prints its reason and exits with 77, which the runner counts
 * as skipped; when the environment has CI=true it exits with 1 instead, a
 * failure. TEST_HIDDEN() registers a case that `--list` leaves out, so the
 * runner never starts it; it runs only when named (`binary CASE`), for tests
 * that check the framework itself. */
#ifndef SIMLEARN_TEST_H
#define SIMLEARN_TEST_H

#include "simlearn.h"
#include "testing.h" /* the naive twins of public functions */

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*t_fn)(void);
void t_register(const char *name, t_fn fn, bool hidden);
/* A fresh temporary directory for this test process, removed at exit unless
 * the test failed. Paths are built with t_path("name"), which returns one of
 * 8 rotating buffers: copy a path that must outlive 8 more calls. */
const char *t_tmpdir(void);
const char *t_path(const char *name);
/* Exit with the "skipped" status (77), or with 1 when $CI is "true", removing
 * the temporary directory. */
_Noreturn void t_skip_exit(void);
/* Write bytes to a file (for bad-input fixtures). */
void t_write_file(const char *path, const void *data, size_t n);
/* Install (sl_allocator_set, so before any other simlearn call) an allocator
 * that refuses every request above max_bytes; 0 restores the default. */
void t_cap_allocations(size_t max_bytes);
/* Run a shell command, capturing stdout+stderr into *out (malloc'd, NUL-terminated);
 * returns the exit status (or -1). */
int t_run(const char *cmd, char **out);
/* Path of the simlearn binary under test ($SIMLEARN, default ./simlearn). */
const char *t_simlearn(void);

#define T_DEFINE(name, hidden)                                                 \
    static void name(void);                                                    \
    __attribute__((constructor)) static void t_reg_##name(void) { t_register(#name, name, hidden); } \
    static void name(void)
#define TEST(name) T_DEFINE(name, false)
#define TEST_HIDDEN(name) T_DEFINE(name, true)

#define T_FAIL(...)                                                            \
    do {                                                                       \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                        \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        exit(1);                                                               \
    } while (0)

#define SKIP(...)                                                              \
    do {                                                                       \
        fprintf(stderr, "skipped: ");                                          \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        t_skip_exit();                                                         \
    } while (0)

#define ASSERT_TRUE(c)                                                         \
    do {                                                                       \
        if (!(c)) T_FAIL("ASSERT_TRUE(%s) failed", #c);                        \
    } while (0)

#define ASSERT_EQ_INT(a, b)                                                    \
    do {                                                                       \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                \
        if (t_a_ != t_b_) T_FAIL("ASSERT_EQ_INT(%s, %s): %lld != %lld", #a, #b, t_a_, t_b_); \
    } while (0)

#define ASSERT_NE_INT(a, b)                                                    \
    do {                                                                       \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                \
        if (t_a_ == t_b_) T_FAIL("ASSERT_NE_INT(%s, %s): both %lld", #a, #b, t_a_); \
    } while (0)

#define ASSERT_EQ_SIZE(a, b)                                                   \
    do {                                                                       \
        size_t t_a_ = (size_t)(a), t_b_ = (size_t)(b);                         \
        if (t_a_ != t_b_) T_FAIL("ASSERT_EQ_SIZE(%s, %s): %zu != %zu", #a, #b, t_a_, t_b_); \
    } while (0)

/* |a-b| <= tol */
#define ASSERT_NEAR(a, b, tol)                                                 \
    do {                                                                       \
        double t_a_ = (double)(a), t_b_ = (double)(b), t_t_ = (double)(tol);   \
        if (!(fabs(t_a_ - t_b_) <= t_t_))                                      \
            T_FAIL("ASSERT_NEAR(%s, %s, %s): %.9g vs %.9g (diff %.3g)", #a, #b, #tol, t_a_, t_b_, fabs(t_a_ - t_b_)); \
    } while (0)

/* |a-b| <= rtol*max(|a|,|b|) + atol */
#define ASSERT_CLOSE(a, b, rtol, atol)                                         \
    do {                                                                       \
        double t_a_ = (double)(a), t_b_ = (double)(b);                         \
        double t_m_ = fabs(t_a_) > fabs(t_b_) ? fabs(t_a_) : fabs(t_b_);       \
        if (!(fabs(t_a_ - t_b_) <= (double)(rtol) * t_m_ + (double)(atol)))    \
            T_FAIL("ASSERT_CLOSE(%s, %s): %.9g vs %.9g (diff %.3g)", #a, #b, t_a_, t_b_, fabs(t_a_ - t_b_)); \
    } while (0)

#define ASSERT_STREQ(a, b)                                                     \
    do {                                                                       \
        const char *t_a_ = (a), *t_b_ = (b);                                   \
        if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_) != 0)                         \
            T_FAIL("ASSERT_STREQ(%s, %s): \"%s\" != \"%s\"", #a, #b, t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)"); \
    } while (0)

#define ASSERT_CONTAINS(hay, needle)                                           \
    do {                                                                       \
        const char *t_h_ = (hay), *t_n_ = (needle);                            \
        if (!t_h_ || !strstr(t_h_, t_n_))                                      \
            T_FAIL("ASSERT_CONTAINS(%s, %s): \"%s\" not found in \"%s\"", #hay, #needle, t_n_, t_h_ ? t_h_ : "(null)"); \
    } while (0)

#define ASSERT_OK(expr)                                                        \
    do {                                                                       \
        sl_status t_s_ = (expr);                                               \
        if (t_s_ != SL_OK)                                                     \
            T_FAIL("ASSERT_OK(%s): %s (%d): %s", #expr, sl_status_str(t_s_), (int)t_s_, sl_error_message()); \
    } while (0)

/* The call must fail with status `st`, and its message must contain `frag`. */
#define ASSERT_FAILS(expr, st, frag)                                           \
    do {                                                                       \
        sl_error_clear();                                                      \
        sl_status t_s_ = (expr);                                               \
        if (t_s_ != (st))                                                      \
            T_FAIL("ASSERT_FAILS(%s): got %s (%d) \"%s\", expected %s", #expr, sl_status_str(t_s_), (int)t_s_, \
                   sl_error_message(), sl_status_str(st));                        \
        if (!strstr(sl_error_message(), (frag)))                                  \
            T_FAIL("ASSERT_FAILS(%s): message \"%s\" lacks \"%s\"", #expr, sl_error_message(), (frag)); \
    } while (0)

#endif

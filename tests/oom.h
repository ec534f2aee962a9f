/* The out-of-memory walk shared by the tests/test_oom*.c files: a counting
 * allocator fails the k-th allocation, for k = 1, 2, ... until the operation
 * succeeds. Every failure must come back as SL_ERR_NOMEM with a message,
 * leave no allocation behind and leave no temporary file behind, and the
 * operation may only succeed once it no longer reaches the failing
 * allocation (a failure passed over would give a result made without it).
 * The counts are atomic, so allocations made inside parallel regions are
 * counted (and failed) too. OOM_VERBOSE=1 prints each walk's count. */
#ifndef SIMLEARN_TESTS_OOM_H
#define SIMLEARN_TESTS_OOM_H

#include "test.h"

#include <dirent.h>

typedef struct {
    long count;   /* allocations attempted so far */
    long fail_at; /* fail the allocation with this number; 0 = never */
    long live;    /* allocations not yet freed */
} oom_counter;

static oom_counter C;

static inline void *c_malloc(size_t n, void *ctx) {
    oom_counter *c = ctx;
    if (__atomic_add_fetch(&c->count, 1, __ATOMIC_SEQ_CST) == __atomic_load_n(&c->fail_at, __ATOMIC_SEQ_CST))
        return NULL;
    void *p = malloc(n);
    if (p) __atomic_add_fetch(&c->live, 1, __ATOMIC_SEQ_CST);
    return p;
}
static inline void *c_realloc(void *p, size_t n, void *ctx) {
    oom_counter *c = ctx;
    if (__atomic_add_fetch(&c->count, 1, __ATOMIC_SEQ_CST) == __atomic_load_n(&c->fail_at, __ATOMIC_SEQ_CST))
        return NULL;
    void *q = realloc(p, n);
    if (q && !p) __atomic_add_fetch(&c->live, 1, __ATOMIC_SEQ_CST);
    return q;
}
static inline void c_free(void *p, void *ctx) {
    oom_counter *c = ctx;
    if (p) __atomic_sub_fetch(&c->live, 1, __ATOMIC_SEQ_CST);
    free(p);
}

static inline void install(void) {
    sl_allocator a = {c_malloc, c_realloc, c_free, &C};
    sl_allocator_set(&a);
}

static inline int count_tmp_files(void) {
    DIR *d = opendir(t_tmpdir());
    ASSERT_TRUE(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

/* Run op with the k-th allocation failing, k = 1, 2, ...; op returns its
 * status and releases whatever it produced on success. Returns the number
 * of allocations the operation needs. */
typedef sl_status (*op_fn)(void *arg);
/* may_pass_over: the operation may succeed although an allocation failed
 * (a documented fallback, such as a cache it can do without; op should then
 * check that its result is the same); the walk goes on until the operation no
 * longer reaches the failing allocation. */
static inline long fail_each_opt(const char *what, op_fn op, void *arg, bool may_pass_over) {
    for (long k = 1; k < 100000; k++) {
        long live0 = C.live, count0 = C.count;
        C.fail_at = C.count + k;
        sl_error_clear();
        sl_status s = op(arg);
        C.fail_at = 0;
        if (C.live != live0) T_FAIL("%s: failing allocation %ld: %ld allocations leaked", what, k, C.live - live0);
        if (count_tmp_files()) T_FAIL("%s: failing allocation %ld left a temporary file", what, k);
        if (s == SL_OK) {
            if (k == 1) T_FAIL("%s: succeeded without allocating", what);
            /* Success must mean the failing allocation was never reached: one
             * that failed and was passed over gives a result made without it. */
            if (C.count - count0 >= k && may_pass_over) continue;
            if (C.count - count0 >= k)
                T_FAIL("%s: failing allocation %ld was passed over: succeeded after %ld allocations", what, k,
                       C.count - count0);
            if (getenv("OOM_VERBOSE")) fprintf(stderr, "%s: %ld allocations\n", what, k - 1);
            return k - 1;
        }
        if (s != SL_ERR_NOMEM)
            T_FAIL("%s: failing allocation %ld gave %s (%s), expected out of memory", what, k, sl_status_str(s),
                   sl_error_message());
        if (!sl_error_message()[0]) T_FAIL("%s: failing allocation %ld: no error message", what, k);
    }
    T_FAIL("%s: never succeeded", what);
}
static inline long fail_each(const char *what, op_fn op, void *arg) { return fail_each_opt(what, op, arg, false); }

#endif

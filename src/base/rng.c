/* xoshiro256** with splitmix64 seeding, the distributions built on it, and
 * Walker's alias tables for O(1) sampling from a discrete distribution. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void sl_rng_seed(sl_rng *r, uint64_t seed, uint64_t stream) {
    /* Mix the stream id through its own splitmix64 step so that nearby
     * (seed, stream) pairs start far apart in the state space. */
    uint64_t x = seed;
    uint64_t y = stream ^ 0x6a09e667f3bcc909ULL;
    uint64_t mix = splitmix64(&y);
    x ^= mix;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) r->s[0] = 1;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sl_rng_u64(sl_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t sl_rng_u32(sl_rng *r) { return (uint32_t)(sl_rng_u64(r) >> 32); }

float sl_rng_uniform(sl_rng *r) { return (float)(sl_rng_u64(r) >> 40) * 0x1.0p-24f; }

double sl_rng_uniform_d(sl_rng *r) { return (double)(sl_rng_u64(r) >> 11) * 0x1.0p-53; }

float sl_rng_range(sl_rng *r, float lo, float hi) { return lo + (hi - lo) * sl_rng_uniform(r); }

double sl_rng_normal(sl_rng *r) {
    double u1 = 1.0 - sl_rng_uniform_d(r); /* (0, 1] so log is finite */
    double u2 = sl_rng_uniform_d(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t sl_rng_below(sl_rng *r, uint64_t n) {
    /* Lemire's multiply-and-reject: unbiased, usually one draw. */
    uint64_t x = sl_rng_u64(r);
    __uint128_t m = (__uint128_t)x * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) {
            x = sl_rng_u64(r);
            m = (__uint128_t)x * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

void sl_rng_shuffle(sl_rng *r, void *base, size_t n, size_t elem_size) {
    unsigned char *b = base, tmp[64];
    if (n < 2 || elem_size == 0 || elem_size > sizeof tmp) return;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)sl_rng_below(r, (uint64_t)i + 1);
        if (j == i) continue;
        memcpy(tmp, b + i * elem_size, elem_size);
        memcpy(b + i * elem_size, b + j * elem_size, elem_size);
        memcpy(b + j * elem_size, tmp, elem_size);
    }
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

sl_status sl_rng_sample(sl_rng *r, size_t n, size_t m, bool sorted, size_t *out) {
    if (m > n) return sl__fail(SL_ERR_ARG, "random sample: %zu of %zu items", m, n);
    size_t *idx = sl__malloc_array(n, sizeof *idx, "random sample");
    if (!idx) return SL_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) idx[i] = i;
    sl_rng_shuffle(r, idx, n, sizeof *idx);
    if (m) memcpy(out, idx, m * sizeof *out);
    sl__free(idx);
    if (sorted) qsort(out, m, sizeof *out, cmp_size);
    return SL_OK;
}

bool sl_rng_bernoulli(sl_rng *r, double p) { return sl_rng_uniform_d(r) < p; }

struct sl_alias {
    size_t n;
    double *prob;  /* n: probability of keeping column i */
    size_t *alias; /* n: the other outcome of column i */
};

sl_status sl_alias_create(const double *w, size_t n, sl_alias **out) {
    if (n == 0) return sl__fail(SL_ERR_ARG, "alias table: no weights");
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(w[i]) || w[i] < 0)
            return sl__fail(SL_ERR_ARG, "alias table: weight %zu is %g, expected a finite value >= 0", i, w[i]);
        sum += w[i];
    }
    if (!(sum > 0)) return sl__fail(SL_ERR_ARG, "alias table: weights sum to 0");
    sl_alias *a = sl__calloc(1, sizeof *a);
    size_t *work = sl__malloc_array(n, sizeof *work, "alias table");
    if (a) {
        a->n = n;
        a->prob = sl__malloc_array(n, sizeof *a->prob, "alias table");
        a->alias = sl__malloc_array(n, sizeof *a->alias, "alias table");
    }
    if (!a || !work || !a->prob || !a->alias) {
        sl__free(work);
        sl_alias_destroy(a);
        return sl__fail(SL_ERR_NOMEM, "alias table of %zu entries: out of memory", n);
    }
    /* Vose's algorithm: small entries fill from the front of work, large
     * from the back. */
    size_t ns = 0, nl = n;
    for (size_t i = 0; i < n; i++) {
        a->prob[i] = w[i] * (double)n / sum;
        if (a->prob[i] < 1.0)
            work[ns++] = i;
        else
            work[--nl] = i;
    }
    size_t s_i = 0, l_i = nl;
    while (s_i < ns && l_i < n) {
        size_t s = work[s_i++], l = work[l_i];
        a->alias[s] = l;
        a->prob[l] -= 1.0 - a->prob[s];
        if (a->prob[l] < 1.0) {
            /* l becomes small: reuse its slot as a small entry. */
            l_i++;
            work[--s_i] = l;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (a->prob[i] > 1.0) a->prob[i] = 1.0;
    /* Leftovers (from rounding) keep themselves with probability 1. */
    for (; s_i < ns; s_i++) a->prob[work[s_i]] = 1.0, a->alias[work[s_i]] = work[s_i];
    for (; l_i < n; l_i++) a->prob[work[l_i]] = 1.0, a->alias[work[l_i]] = work[l_i];
    sl__free(work);
    *out = a;
    return SL_OK;
}

size_t sl_alias_sample(const sl_alias *a, sl_rng *r) {
    size_t i = (size_t)sl_rng_below(r, a->n);
    return sl_rng_uniform_d(r) < a->prob[i] ? i : a->alias[i];
}

void sl_alias_destroy(sl_alias *a) {
    if (!a) return;
    sl__free(a->prob);
    sl__free(a->alias);
    sl__free(a);
}

/* Float exp and helpers in a form the compiler vectorises (no calls, no
 * float compares against constants), for the GELU and softmax kernels.
 * exp_f: a Cephes-style reduction by ln 2 and a degree-5 polynomial, within
 * 1e-7 relative of exp on [-87, 88] (tests/test_nn_transformer.c). */
#ifndef SL_NN_FASTMATH_H
#define SL_NN_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>

/* a * b + c, in one fused multiply-add (one rounding) where the target has
 * it in hardware (the default -march=native build on x86-64 since Haswell),
 * else as written: the polynomials below then take fewer instructions. */
#ifdef FP_FAST_FMAF
#define SL__FMA(a, b, c) fmaf(a, b, c)
#else
#define SL__FMA(a, b, c) ((a) * (b) + (c))
#endif

/* exp(x) in float for -87 <= x <= 88 (the callers keep x in range). */
static inline float exp_f(float x) {
    const float fn = x * 1.44269504088896341f;
    const int n = (int)(fn + copysignf(0.5f, fn));
    const float r = SL__FMA((float)n, 2.12194440e-4f, x - (float)n * 0.693359375f);
    float p = 1.9875691500e-4f;
    p = SL__FMA(p, r, 1.3981999507e-3f);
    p = SL__FMA(p, r, 8.3334519073e-3f);
    p = SL__FMA(p, r, 4.1665795894e-2f);
    p = SL__FMA(p, r, 1.6666665459e-1f);
    p = SL__FMA(p, r, 5.0000001201e-1f);
    const int32_t bits = (int32_t)(n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return (SL__FMA(p, r * r, r) + 1.0f) * scale;
}

/* min(a, b) for a >= 0 (or NaN, which gives b) and b > 0, on the bit
 * patterns, which order non-negative floats as integers: a float compare
 * against a constant here would keep the loops from vectorising. */
static inline float min_pos(float a, float b) {
    int32_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    ia = ia < ib ? ia : ib;
    memcpy(&a, &ia, sizeof a);
    return a;
}

/* v where a < limit, else 0 (a >= 0 or NaN, limit > 0), on the bit patterns
 * as min_pos. */
static inline float below_or_zero(float v, float a, float limit) {
    int32_t ia, il, iv;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&il, &limit, sizeof il);
    memcpy(&iv, &v, sizeof iv);
    iv &= -(int32_t)(ia < il);
    memcpy(&v, &iv, sizeof v);
    return v;
}

/* ---- sums in eight fixed lanes ---------------------------------------------
 * Term j goes to lane j mod 8, each lane summed in double in order, and the
 * lanes added pairwise at the end: the order depends on the length alone.
 * Written with GCC's vector extensions (which clang shares), four lanes to a
 * vector of doubles, as the compiler does not vectorise the plain loops. */

typedef float sl__f4 __attribute__((vector_size(16)));
typedef double sl__d4 __attribute__((vector_size(32)));

/* The vectors go by pointer, not by value: passing a 32-byte vector by value
 * changes the ABI between builds with and without AVX (GCC's -Wpsabi). */

/* *v = lanes j .. j+3 of x as doubles; past n (j + 4 > n) they are fill. */
static inline void lanes_load(sl__d4 *v, const float *x, size_t j, size_t n, float fill) {
    sl__f4 f;
    if (j + 4 <= n) {
        memcpy(&f, x + j, sizeof f);
    } else {
        float b[4];
        for (size_t k = 0; k < 4; k++) b[k] = j + k < n ? x[j + k] : fill;
        memcpy(&f, b, sizeof f);
    }
    *v = __builtin_convertvector(f, sl__d4);
}

/* The lanes of *v at j + k >= n set to 0. */
static inline void lanes_mask(sl__d4 *v, size_t j, size_t n) {
    for (size_t k = 0; k < 4; k++) (*v)[k] = j + k < n ? (*v)[k] : 0.0;
}

static inline double lanes_total(const sl__d4 *lo, const sl__d4 *hi) {
    return (((*lo)[0] + (*lo)[1]) + ((*lo)[2] + (*lo)[3])) + (((*hi)[0] + (*hi)[1]) + ((*hi)[2] + (*hi)[3]));
}

/* Sum of x[0..n). */
static inline double lane_sum(const float *x, size_t n) {
    sl__d4 lo = {0, 0, 0, 0}, hi = {0, 0, 0, 0}, a, b;
    for (size_t j = 0; j < n; j += 8) {
        lanes_load(&a, x, j, n, 0.0f);
        lanes_load(&b, x, j + 4, n, 0.0f);
        lo += a;
        hi += b;
    }
    return lanes_total(&lo, &hi);
}

/* Dot product of a[0..n) and b[0..n). */
static inline double lane_dot(const float *a, const float *b, size_t n) {
    sl__d4 lo = {0, 0, 0, 0}, hi = {0, 0, 0, 0}, a0, a1, b0, b1;
    for (size_t j = 0; j < n; j += 8) {
        lanes_load(&a0, a, j, n, 0.0f);
        lanes_load(&b0, b, j, n, 0.0f);
        lanes_load(&a1, a, j + 4, n, 0.0f);
        lanes_load(&b1, b, j + 4, n, 0.0f);
        lo += a0 * b0;
        hi += a1 * b1;
    }
    return lanes_total(&lo, &hi);
}

/* Sum of (x[j] - mu)^2 over x[0..n). */
static inline double lane_sqdev(const float *x, double mu, size_t n) {
    sl__d4 lo = {0, 0, 0, 0}, hi = {0, 0, 0, 0}, a, b;
    for (size_t j = 0; j < n; j += 8) {
        lanes_load(&a, x, j, n, 0.0f);
        lanes_load(&b, x, j + 4, n, 0.0f);
        a = (a - mu) * (a - mu);
        b = (b - mu) * (b - mu);
        /* the lanes past n would add mu^2: keep them at 0 */
        if (j + 8 > n) lanes_mask(&a, j, n), lanes_mask(&b, j + 4, n);
        lo += a;
        hi += b;
    }
    return lanes_total(&lo, &hi);
}

#endif

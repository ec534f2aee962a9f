/* Float exp and helpers in a form the compiler vectorises (no calls, no
 * float compares against constants), for the GELU kernels. exp_f: a
 * Cephes-style reduction by ln 2 and a degree-5 polynomial, within 1e-7
 * relative of exp on [-87, 88] (tests/test_nn_transformer.c). */
#ifndef SL_NN_FASTMATH_H
#define SL_NN_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* exp(x) in float for -87 <= x <= 88 (the callers keep x in range). */
static inline float exp_f(float x) {
    const float fn = x * 1.44269504088896341f;
    const int n = (int)(fn + copysignf(0.5f, fn));
    const float r = (x - (float)n * 0.693359375f) + (float)n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const int32_t bits = (int32_t)(n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return (p * r * r + r + 1.0f) * scale;
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

#endif

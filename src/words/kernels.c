/* The small dense products the word-vector trainer batches its updates into
 * (a window's rows times the shared output rows: about 10 x 6 x 100), written
 * with explicit 8-float vectors because BLAS call overhead would dominate at
 * these sizes, and their naive `_ref` twins that the tests compare against. */
#include "words/words_internal.h"

#include <math.h>

/* GCC notes that returning a 32-byte vector without AVX changes the ABI; these
 * helpers are static inline, so no call crosses an ABI boundary (a portable
 * build without AVX, such as `make install`'s, compiles them to SSE pairs). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

/* An 8-float vector that may sit at any float-aligned address and may alias
 * plain float arrays. GCC and Clang map it onto AVX (or two SSE registers). */
typedef float v8 __attribute__((vector_size(32), aligned(4), may_alias));

static inline v8 ld(const float *p) { return *(const v8 *)p; }
static inline void st(float *p, v8 x) { *(v8 *)p = x; }
static inline v8 splat(float x) { return (v8){x, x, x, x, x, x, x, x}; }
static inline float hsum(v8 x) {
    /* A fixed summation order keeps results identical run to run. */
    return ((x[0] + x[4]) + (x[1] + x[5])) + ((x[2] + x[6]) + (x[3] + x[7]));
}

/* One row of a against four rows of b: the loads of a are shared. */
static inline void dot1x4(float *out, const float *a, const float *b0, const float *b1, const float *b2,
                          const float *b3, size_t d) {
    v8 s0 = splat(0), s1 = splat(0), s2 = splat(0), s3 = splat(0);
    for (size_t c = 0; c < d; c += 8) {
        v8 x = ld(a + c);
        s0 += x * ld(b0 + c);
        s1 += x * ld(b1 + c);
        s2 += x * ld(b2 + c);
        s3 += x * ld(b3 + c);
    }
    out[0] = hsum(s0);
    out[1] = hsum(s1);
    out[2] = hsum(s2);
    out[3] = hsum(s3);
}

static inline float dot1(const float *a, const float *b, size_t d) {
    /* Two accumulators hide the add latency; d is a multiple of 16. */
    v8 s0 = splat(0), s1 = splat(0);
    for (size_t c = 0; c < d; c += 16) {
        s0 += ld(a + c) * ld(b + c);
        s1 += ld(a + c + 8) * ld(b + c + 8);
    }
    return hsum(s0 + s1);
}

void sl__w_dots(float *S, const float *const *a, size_t m, const float *const *b, size_t n, size_t d) {
    for (size_t j = 0; j < m; j++) {
        float *row = S + j * n;
        size_t k = 0;
        for (; k + 4 <= n; k += 4) dot1x4(row + k, a[j], b[k], b[k + 1], b[k + 2], b[k + 3], d);
        for (; k < n; k++) row[k] = dot1(a[j], b[k], d);
    }
}

void sl__w_gb(float *D, const float *G, size_t m, const float *const *b, size_t n, size_t d) {
    for (size_t j = 0; j < m; j++) {
        float *out = D + j * d;
        const float *g = G + j * n;
        if (n == 0) {
            for (size_t c = 0; c < d; c += 8) st(out + c, splat(0));
            continue;
        }
        /* Streaming over k keeps every step independent (no reduction chain);
         * out stays in L1. */
        v8 g0 = splat(g[0]);
        for (size_t c = 0; c < d; c += 8) st(out + c, g0 * ld(b[0] + c));
        size_t k = 1;
        for (; k + 2 <= n; k += 2) {
            v8 ga = splat(g[k]), gb = splat(g[k + 1]);
            const float *ba = b[k], *bb = b[k + 1];
            for (size_t c = 0; c < d; c += 8) st(out + c, ld(out + c) + ga * ld(ba + c) + gb * ld(bb + c));
        }
        for (; k < n; k++) {
            v8 ga = splat(g[k]);
            const float *ba = b[k];
            for (size_t c = 0; c < d; c += 8) st(out + c, ld(out + c) + ga * ld(ba + c));
        }
    }
}

void sl__w_gta_add(float *const *b, const float *G, size_t m, const float *const *a, size_t n, size_t d) {
    for (size_t k = 0; k < n; k++) {
        float *out = b[k];
        size_t j = 0;
        for (; j + 2 <= m; j += 2) {
            v8 ga = splat(G[j * n + k]), gb = splat(G[(j + 1) * n + k]);
            const float *aa = a[j], *ab = a[j + 1];
            for (size_t c = 0; c < d; c += 8) st(out + c, ld(out + c) + ga * ld(aa + c) + gb * ld(ab + c));
        }
        for (; j < m; j++) {
            v8 ga = splat(G[j * n + k]);
            const float *aa = a[j];
            for (size_t c = 0; c < d; c += 8) st(out + c, ld(out + c) + ga * ld(aa + c));
        }
    }
}

void sl__w_add(float *y, const float *x, size_t d) {
    for (size_t c = 0; c < d; c += 8) st(y + c, ld(y + c) + ld(x + c));
}

/* Four dot products of a with b0..b3, each summed exactly as dot1 sums it
 * (so either gives the same bits); the loads of a are shared. */
static inline void dot4(float *out, const float *a, const float *const *b, size_t d) {
    v8 s0 = splat(0), s1 = splat(0), s2 = splat(0), s3 = splat(0);
    v8 t0 = splat(0), t1 = splat(0), t2 = splat(0), t3 = splat(0);
    const float *b0 = b[0], *b1 = b[1], *b2 = b[2], *b3 = b[3];
    for (size_t c = 0; c < d; c += 16) {
        v8 x = ld(a + c), y = ld(a + c + 8);
        s0 += x * ld(b0 + c);
        t0 += y * ld(b0 + c + 8);
        s1 += x * ld(b1 + c);
        t1 += y * ld(b1 + c + 8);
        s2 += x * ld(b2 + c);
        t2 += y * ld(b2 + c + 8);
        s3 += x * ld(b3 + c);
        t3 += y * ld(b3 + c + 8);
    }
    out[0] = hsum(s0 + t0);
    out[1] = hsum(s1 + t1);
    out[2] = hsum(s2 + t2);
    out[3] = hsum(s3 + t3);
}

/* Gradient factor lr·(y − σ(x)) of target k (y = 1 for k = 0) and its loss. */
static inline float pair_g(const sl__wtab *tab, float x, size_t k, float lr, double *loss) {
    float sx;
    if (tab) {
        sx = tab_sig(tab, x);
        *loss -= tab_logsig(tab, k == 0 ? x : -x);
    } else {
        sx = (float)(1.0 / (1.0 + exp(-(double)x)));
        *loss += k == 0 ? log1p(exp(-(double)x)) : log1p(exp((double)x));
    }
    return ((k == 0 ? 1.0f : 0.0f) - sx) * lr;
}

/* e += g·b (the row as it is) and b += g·a, in one pass over the row. */
static inline void pair_step(float *e, float *bk, const float *a, float gk, size_t d) {
    v8 g = splat(gk);
    for (size_t c = 0; c < d; c += 8) {
        v8 bb = ld(bk + c);
        st(e + c, ld(e + c) + g * bb);
        st(bk + c, bb + g * ld(a + c));
    }
}

/* word2vec's update of one prediction, in its order: for each target the dot
 * with the input row, then the input row's step (into e, from the old output
 * row) and the output row's step. a does not change on the way, so when the
 * rows are distinct every dot product can be taken first, four at a time,
 * with the same result. */
double sl__w_pair(const sl__wtab *tab, const float *a, float *const *b, size_t n, size_t d, float lr, float *e) {
    double loss = 0;
    for (size_t c = 0; c < d; c += 8) st(e + c, splat(0));
    bool distinct = n <= 32;
    for (size_t k = 1; k < n && distinct; k++)
        for (size_t j = 0; j < k; j++) distinct = distinct && b[j] != b[k];
    if (!distinct) {
        for (size_t k = 0; k < n; k++) pair_step(e, b[k], a, pair_g(tab, dot1(a, b[k], d), k, lr, &loss), d);
        return loss;
    }
    float x[32];
    size_t k = 0;
    for (; k + 4 <= n; k += 4) dot4(x + k, a, (const float *const *)b + k, d);
    for (; k < n; k++) x[k] = dot1(a, b[k], d);
    for (k = 0; k < n; k++) pair_step(e, b[k], a, pair_g(tab, x[k], k, lr, &loss), d);
    return loss;
}

/* ---- naive twins (double accumulation) ------------------------------------*/
void sl__w_dots_ref(float *S, const float *const *a, size_t m, const float *const *b, size_t n, size_t d) {
    for (size_t j = 0; j < m; j++)
        for (size_t k = 0; k < n; k++) {
            double s = 0;
            for (size_t c = 0; c < d; c++) s += (double)a[j][c] * b[k][c];
            S[j * n + k] = (float)s;
        }
}

void sl__w_gb_ref(float *D, const float *G, size_t m, const float *const *b, size_t n, size_t d) {
    for (size_t j = 0; j < m; j++)
        for (size_t c = 0; c < d; c++) {
            double s = 0;
            for (size_t k = 0; k < n; k++) s += (double)G[j * n + k] * b[k][c];
            D[j * d + c] = (float)s;
        }
}

void sl__w_gta_add_ref(float *const *b, const float *G, size_t m, const float *const *a, size_t n, size_t d) {
    for (size_t k = 0; k < n; k++)
        for (size_t c = 0; c < d; c++) {
            double s = 0;
            for (size_t j = 0; j < m; j++) s += (double)G[j * n + k] * a[j][c];
            b[k][c] = (float)(b[k][c] + s);
        }
}

double sl__w_pair_ref(const sl__wtab *tab, const float *a, float *const *b, size_t n, size_t d, float lr, float *e) {
    double loss = 0;
    for (size_t c = 0; c < d; c++) e[c] = 0;
    for (size_t k = 0; k < n; k++) {
        double s = 0;
        for (size_t c = 0; c < d; c++) s += (double)a[c] * b[k][c];
        double y = k == 0 ? 1.0 : 0.0, sx;
        if (tab) {
            sx = tab_sig(tab, (float)s);
            loss -= tab_logsig(tab, (float)(k == 0 ? s : -s));
        } else {
            sx = 1.0 / (1.0 + exp(-s));
            loss += k == 0 ? log1p(exp(-s)) : log1p(exp(s));
        }
        double g = (y - sx) * lr;
        for (size_t c = 0; c < d; c++) {
            e[c] = (float)(e[c] + g * b[k][c]);
            b[k][c] = (float)(b[k][c] + g * a[c]);
        }
    }
    return loss;
}

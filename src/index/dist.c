/* Distance kernels for the index module: squared L2 with AVX-512 / AVX2
 * versions chosen at compile time, the scalar twin the tests compare them to,
 * exact (double) pair scores, and the whole-file reader of the index files. */
#include "index_internal.h"

#include <errno.h>
#include <stdio.h>

#include <math.h>
#include <string.h>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

float sl__l2sq_ref(const float *a, const float *b, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; i++) {
        float t = a[i] - b[i];
        s += t * t;
    }
    return s;
}

#if defined(__AVX512F__)
float sl__l2sq(const float *a, const float *b, size_t n) {
    /* Four independent accumulators hide the FMA latency. */
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        __m512 d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
        __m512 d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
        s0 = _mm512_fmadd_ps(d0, d0, s0);
        s1 = _mm512_fmadd_ps(d1, d1, s1);
        s2 = _mm512_fmadd_ps(d2, d2, s2);
        s3 = _mm512_fmadd_ps(d3, d3, s3);
    }
    s0 = _mm512_add_ps(s0, s2);
    s1 = _mm512_add_ps(s1, s3);
    for (; i + 32 <= n; i += 32) {
        __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        s0 = _mm512_fmadd_ps(d0, d0, s0);
        s1 = _mm512_fmadd_ps(d1, d1, s1);
    }
    for (; i + 16 <= n; i += 16) {
        __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        s0 = _mm512_fmadd_ps(d0, d0, s0);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    for (; i < n; i++) {
        float t = a[i] - b[i];
        s += t * t;
    }
    return s;
}
#elif defined(__AVX2__) && defined(__FMA__)
float sl__l2sq(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        s1 = _mm256_fmadd_ps(d1, d1, s1);
    }
    __m256 s = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    float r = _mm_cvtss_f32(h);
    for (; i < n; i++) {
        float t = a[i] - b[i];
        r += t * t;
    }
    return r;
}
#else
float sl__l2sq(const float *a, const float *b, size_t n) {
    /* Four partial sums so the compiler can keep several in flight. */
    float s[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) {
            float t = a[i + j] - b[i + j];
            s[j] += t * t;
        }
    float r = (s[0] + s[1]) + (s[2] + s[3]);
    for (; i < n; i++) {
        float t = a[i] - b[i];
        r += t * t;
    }
    return r;
}
#endif

double sl__dot_d(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

double sl__exact_score(sl_metric m, const float *q, const float *x, size_t d) {
    if (m == SL_METRIC_L2) {
        double s = 0;
        for (size_t i = 0; i < d; i++) {
            double t = (double)q[i] - x[i];
            s += t * t;
        }
        return s;
    }
    if (m == SL_METRIC_IP) return sl__dot_d(q, x, d);
    double qq = 0, xx = 0, qx = 0;
    for (size_t i = 0; i < d; i++) {
        qq += (double)q[i] * q[i];
        xx += (double)x[i] * x[i];
        qx += (double)q[i] * x[i];
    }
    return qq > 0 && xx > 0 ? qx / sqrt(qq * xx) : 0.0;
}

sl_status sl__check_finite(const float *x, size_t n, size_t d, const char *what) {
    for (size_t i = 0; i < n; i++) {
        const float *r = x + i * d;
        /* A sum of the row is NaN/Inf when any element is (or it overflows);
         * only then look element by element. */
        float s = 0;
        for (size_t j = 0; j < d; j++) s += r[j] * 0.0f;
        if (s != 0.0f || s != s)
            for (size_t j = 0; j < d; j++)
                if (!isfinite(r[j]))
                    return sl__fail(SL_ERR_NUMERIC, "%s: row %zu, column %zu is %g, expected a finite number", what,
                                    i, j, (double)r[j]);
    }
    return SL_OK;
}

const char *sl_metric_name(sl_metric m) {
    switch (m) {
    case SL_METRIC_L2: return "l2";
    case SL_METRIC_IP: return "ip";
    case SL_METRIC_COSINE: return "cosine";
    }
    return "unknown";
}

sl_status sl_metric_parse(const char *name, sl_metric *out) {
    if (!name) return sl__fail(SL_ERR_ARG, "metric: missing name (expected l2, ip or cosine)");
    sl_metric m;
    if (!strcmp(name, "l2"))
        m = SL_METRIC_L2;
    else if (!strcmp(name, "ip") || !strcmp(name, "dot"))
        m = SL_METRIC_IP;
    else if (!strcmp(name, "cosine") || !strcmp(name, "cos"))
        m = SL_METRIC_COSINE;
    else
        return sl__fail(SL_ERR_ARG, "metric '%s': expected l2, ip or cosine", name);
    *out = m;
    return SL_OK;
}

bool sl_metric_is_similarity(sl_metric m) { return m != SL_METRIC_L2; }

sl_status sl__search_shared(sl__search_fn fn, const void *index, const void *opt, sl_status checked, const char *what,
                            const float *queries, size_t nq, size_t d, size_t k, int64_t *ids, float *scores) {
    sl_status st = sl__index_agree(checked, what);
    if (st) return st;
    size_t N = (size_t)sl_dist_size(), R = (size_t)sl_dist_rank(), first, cnt, most = (nq + N - 1) / N;
    sl_dist_share(nq, R, N, &first, &cnt);
    size_t per = k * (sizeof(int64_t) + sizeof(float)), slot = most * per;
    unsigned char *send = sl__malloc(slot ? slot : 1), *recv = sl__malloc_array(N, slot ? slot : 1, what);
    st = send && recv ? SL_OK : SL_ERR_NOMEM;
    if (st == SL_OK && cnt)
        st = fn(index, queries + first * d, cnt, k, opt, (int64_t *)send, (float *)(send + cnt * k * sizeof(int64_t)));
    st = sl__index_agree(st, what);
    if (st == SL_OK) st = sl_dist_allgather(send, slot, recv);
    for (size_t r = 0; st == SL_OK && r < N; r++) {
        size_t f, n;
        sl_dist_share(nq, r, N, &f, &n);
        const unsigned char *b = recv + r * slot;
        memcpy(ids + f * k, b, n * k * sizeof *ids);
        memcpy(scores + f * k, b + n * k * sizeof *ids, n * k * sizeof *scores);
    }
    sl__free(send), sl__free(recv);
    return st;
}


sl_status sl__reader_open(sl__reader *r, const char magic[8], const char *kind, uint32_t version, sl_metric *metric) {
    char m[8] = {0};
    uint32_t v32[2] = {0};
    SL__TRY(sl__reader_get(r, m, 8, "the magic"));
    if (memcmp(m, magic, 8) != 0) return sl__fail(SL_ERR_FORMAT, "%s: not a simlearn %s (wrong magic)", r->path, kind);
    SL__TRY(sl__reader_get(r, v32, sizeof v32, "the header"));
    if (v32[0] != version)
        return sl__fail(SL_ERR_FORMAT, "%s: format version %u, this build reads version %u", r->path, v32[0], version);
    SL__TRY(sl__reader_checksum(r));
    if (v32[1] > SL_METRIC_COSINE) return sl__fail(SL_ERR_FORMAT, "%s: unknown metric code %u", r->path, v32[1]);
    *metric = (sl_metric)v32[1];
    return SL_OK;
}

/* Tests of the k-NN graph: built exactly and through HNSW, its statistics,
 * shortest paths on data of known shape (a circle, two clusters, a star, a
 * swiss roll), threads and bad input. */
#include "test.h"

#include <math.h>

/* n points on the unit circle, angle 2 pi i / n. */
static void circle(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double a = 2 * M_PI * (double)i / (double)n;
        x[2 * i] = (float)cos(a), x[2 * i + 1] = (float)sin(a);
    }
}

TEST(circle_graph_is_a_ring_and_its_paths_follow_it) {
    enum { N = 120, K = 2 };
    float x[N * 2], len[N * K];
    int64_t ids[N * K];
    circle(x, N);
    sl_knngraph_config c;
    sl_knngraph_config_default(&c);
    c.k = K;
    ASSERT_OK(sl_knngraph_build(x, N, 2, &c, ids, len));
    for (size_t i = 0; i < N; i++) {
        int64_t a = ids[i * K], b = ids[i * K + 1], l = (int64_t)((i + N - 1) % N), r = (int64_t)((i + 1) % N);
        ASSERT_TRUE((a == l && b == r) || (a == r && b == l));
    }
    sl_knngraph_stats s;
    ASSERT_OK(sl_knngraph_describe(ids, N, K, &s));
    ASSERT_EQ_SIZE(s.indegree_min, 2);
    ASSERT_EQ_SIZE(s.indegree_max, 2);
    ASSERT_EQ_SIZE(s.zero_indegree, 0);
    ASSERT_NEAR(s.indegree_skew, 0, 0);
    ASSERT_NEAR(s.reciprocal, 1, 0);
    ASSERT_EQ_SIZE(s.components, 1);
    ASSERT_EQ_SIZE(s.largest_component, N);
    /* Half-way round: 60 chords, along one side of the circle. */
    int64_t *p;
    size_t np;
    double length;
    ASSERT_OK(sl_knngraph_path(ids, len, N, K, 0, 60, &p, &np, &length));
    ASSERT_EQ_SIZE(np, 61);
    double chord = 2 * sin(M_PI / N);
    ASSERT_NEAR(length, 60 * chord, 1e-4);
    ASSERT_TRUE(length > 3.1 && length < M_PI); /* the arc, not the straight line (2) */
    int step = p[1] == 1 ? 1 : -1;
    for (size_t i = 0; i < np; i++) ASSERT_EQ_INT(p[i], (int64_t)((N + step * (int)i) % N));
    sl_allocator_free(p);
    /* A quarter of the way: the short side. */
    ASSERT_OK(sl_knngraph_path(ids, len, N, K, 5, 35, &p, &np, &length));
    ASSERT_EQ_SIZE(np, 31);
    ASSERT_EQ_INT(p[0], 5);
    ASSERT_EQ_INT(p[1], 6);
    ASSERT_EQ_INT(p[30], 35);
    sl_allocator_free(p);
    ASSERT_OK(sl_knngraph_path(ids, len, N, K, 7, 7, &p, &np, &length));
    ASSERT_EQ_SIZE(np, 1);
    ASSERT_NEAR(length, 0, 0);
    sl_allocator_free(p);
    /* The geodesics of several pairs are the paths' lengths. */
    const int64_t from[3] = {0, 5, 7}, to[3] = {60, 35, 7};
    double g[3];
    ASSERT_OK(sl_knngraph_geodesics(ids, len, N, K, from, to, 3, g));
    ASSERT_NEAR(g[0], 60 * chord, 1e-4);
    ASSERT_NEAR(g[1], 30 * chord, 1e-4);
    ASSERT_NEAR(g[2], 0, 0);
}

TEST(two_clusters_are_two_components_without_a_path) {
    enum { N = 40, K = 3 };
    float x[N * 2], len[N * K];
    int64_t ids[N * K];
    sl_rng r;
    sl_rng_seed(&r, 4, 0);
    for (size_t i = 0; i < N; i++)
        x[2 * i] = (float)(sl_rng_normal(&r) + (i < N / 2 ? 0 : 100)), x[2 * i + 1] = (float)sl_rng_normal(&r);
    sl_knngraph_config c;
    sl_knngraph_config_default(&c);
    c.k = K;
    ASSERT_OK(sl_knngraph_build(x, N, 2, &c, ids, len));
    sl_knngraph_stats s;
    ASSERT_OK(sl_knngraph_describe(ids, N, K, &s));
    ASSERT_EQ_SIZE(s.components, 2);
    ASSERT_EQ_SIZE(s.largest_component, N / 2);
    int64_t *p = (int64_t *)&s;
    size_t np = 9;
    double length = 0;
    ASSERT_OK(sl_knngraph_path(ids, len, N, K, 0, N - 1, &p, &np, &length));
    ASSERT_TRUE(p == NULL && np == 0 && isinf(length));
    double g;
    const int64_t a = 1, b = N - 2;
    ASSERT_OK(sl_knngraph_geodesics(ids, len, N, K, &a, &b, 1, &g));
    ASSERT_TRUE(isinf(g));
}

/* Five points on a circle of radius 1 around a centre: each is nearer the
 * centre (1) than its neighbours (2 sin(pi/5) = 1.18), so with k = 1 the
 * centre is in every list: the hub, and the lists' only reciprocal pair. */
TEST(a_star_has_one_hub) {
    float x[6 * 2] = {0};
    for (size_t i = 0; i < 5; i++) x[2 * (i + 1)] = (float)cos(2 * M_PI * i / 5), x[2 * (i + 1) + 1] = (float)sin(2 * M_PI * i / 5);
    int64_t ids[6];
    float len[6];
    sl_knngraph_config c;
    sl_knngraph_config_default(&c);
    c.k = 1;
    ASSERT_OK(sl_knngraph_build(x, 6, 2, &c, ids, len));
    for (size_t i = 1; i < 6; i++) ASSERT_EQ_INT(ids[i], 0);
    ASSERT_TRUE(ids[0] >= 1 && ids[0] <= 5); /* the centre's nearest: one of the five (all about 1 away) */
    sl_knngraph_stats s;
    ASSERT_OK(sl_knngraph_describe(ids, 6, 1, &s));
    ASSERT_EQ_INT(s.hubs[0], 0);
    ASSERT_EQ_SIZE(s.hub_indegree[0], 5);
    ASSERT_EQ_INT(s.hubs[1], ids[0]);
    ASSERT_EQ_SIZE(s.hub_indegree[1], 1);
    ASSERT_EQ_SIZE(s.n_hubs, 6);
    ASSERT_EQ_SIZE(s.indegree_max, 5);
    ASSERT_EQ_SIZE(s.zero_indegree, 4);
    ASSERT_NEAR(s.indegree_median, 0, 0);
    ASSERT_TRUE(s.indegree_skew > 1);
    ASSERT_NEAR(s.reciprocal, 2.0 / 6, 1e-12);
    ASSERT_EQ_SIZE(s.components, 1);
}

/* A swiss roll (Tenenbaum et al. 2000): points across two turns are near in
 * space but far along the roll; the graph's geodesics follow the roll. */
TEST(swiss_roll_geodesics_follow_the_roll) {
    enum { N = 1500, K = 8 };
    static float x[N * 3], len[N * K];
    static int64_t ids[N * K];
    static double t[N];
    sl_rng r;
    sl_rng_seed(&r, 8, 0);
    for (size_t i = 0; i < N; i++) {
        t[i] = 1.5 * M_PI * (1 + 2 * (double)i / N); /* 1.5 pi .. 4.5 pi, in order */
        x[3 * i] = (float)(t[i] * cos(t[i])), x[3 * i + 1] = (float)(10 * sl_rng_uniform_d(&r));
        x[3 * i + 2] = (float)(t[i] * sin(t[i]));
    }
    sl_knngraph_config c;
    sl_knngraph_config_default(&c);
    c.k = K;
    ASSERT_OK(sl_knngraph_build(x, N, 3, &c, ids, len));
    sl_knngraph_stats s;
    ASSERT_OK(sl_knngraph_describe(ids, N, K, &s));
    ASSERT_EQ_SIZE(s.components, 1);
    /* Row i and the row one turn further (t + 2 pi) lie 2 pi apart in the
     * radial direction, but the roll between them is about 2 pi t long. */
    size_t a = 200, b = 0;
    while (b < N && t[b] < t[a] + 2 * M_PI) b++;
    ASSERT_TRUE(b < N);
    double dx = x[3 * a] - x[3 * b], dz = x[3 * a + 2] - x[3 * b + 2], dy = x[3 * a + 1] - x[3 * b + 1];
    double straight = sqrt(dx * dx + dy * dy + dz * dz), along = 0;
    for (double u = t[a]; u < t[b]; u += 1e-3) along += 1e-3 * sqrt(1 + u * u); /* arc length of the spiral */
    const int64_t from = (int64_t)a, to = (int64_t)b;
    double g;
    ASSERT_OK(sl_knngraph_geodesics(ids, len, N, K, &from, &to, 1, &g));
    if (!(g > 3 * straight && g > 0.9 * along && g < 1.5 * along))
        T_FAIL("geodesic %.2f, straight %.2f, along the roll %.2f", g, straight, along);
}

/* The exact graph: lengths are the rows' distances, the same bits on any
 * thread count; HNSW's graph agrees with it on nearly every edge. */
TEST(exact_and_approximate_graphs_agree) {
    enum { N = 2000, D = 8, K = 10 };
    static float x[N * D], len[N * K], len2[N * K], alen[N * K];
    static int64_t ids[N * K], ids2[N * K], aids[N * K];
    sl_rng r;
    sl_rng_seed(&r, 1, 0);
    for (size_t i = 0; i < N * D; i++) x[i] = (float)sl_rng_normal(&r);
    for (int m = 0; m < 2; m++) {
        sl_knngraph_config c;
        sl_knngraph_config_default(&c);
        c.k = K;
        c.metric = m ? SL_METRIC_COSINE : SL_METRIC_L2;
        int saved = sl_threads_get();
        sl_threads_set(1);
        ASSERT_OK(sl_knngraph_build(x, N, D, &c, ids, len));
        sl_threads_set(2);
        ASSERT_OK(sl_knngraph_build(x, N, D, &c, ids2, len2));
        ASSERT_TRUE(memcmp(ids, ids2, sizeof ids) == 0 && memcmp(len, len2, sizeof len) == 0);
        for (size_t i = 0; i < N; i += 97)
            for (size_t j = 0; j < K; j++) {
                const float *a = x + i * D, *b = x + ids[i * K + j] * D;
                double dd = 0, na = 0, nb = 0, dot = 0;
                for (size_t q = 0; q < D; q++)
                    dd += (a[q] - b[q]) * (double)(a[q] - b[q]), dot += a[q] * (double)b[q], na += a[q] * (double)a[q],
                        nb += b[q] * (double)b[q];
                ASSERT_NEAR(len[i * K + j], m ? 1 - dot / sqrt(na * nb) : sqrt(dd), 1e-5);
            }
        c.approximate = true;
        c.ef = 100;
        ASSERT_OK(sl_knngraph_build(x, N, D, &c, aids, alen));
        sl_threads_set(saved);
        size_t hit = 0;
        for (size_t i = 0; i < N; i++)
            for (size_t a = 0; a < K; a++)
                for (size_t b = 0; b < K; b++)
                    if (aids[i * K + a] == ids[i * K + b]) {
                        hit++;
                        break;
                    }
        double recall = (double)hit / (N * K);
        if (!(recall > 0.98)) T_FAIL("metric %d: HNSW graph recall %.4f", m, recall);
    }
}

TEST(bad_graphs_and_settings_are_named) {
    float x[8] = {0, 0, 1, 0, 0, 1, 1, 1}, len[4] = {1, 1, 1, 1};
    int64_t ids[4] = {1, 0, 0, 2};
    sl_knngraph_config c;
    sl_knngraph_config_default(&c);
    c.k = 1;
    c.metric = SL_METRIC_IP;
    ASSERT_FAILS(sl_knngraph_build(x, 4, 2, &c, ids, len), SL_ERR_ARG, "inner product is no distance");
    c.metric = SL_METRIC_L2;
    c.k = 4;
    ASSERT_FAILS(sl_knngraph_build(x, 4, 2, &c, ids, len), SL_ERR_RANGE, "at most 3 neighbours, not 4");
    c.k = 0;
    ASSERT_FAILS(sl_knngraph_build(x, 4, 2, &c, ids, len), SL_ERR_ARG, "k must be at least 1");
    x[5] = NAN;
    c.k = 1;
    ASSERT_FAILS(sl_knngraph_build(x, 4, 2, &c, ids, len), SL_ERR_NUMERIC, "row 2");
    sl_knngraph_stats s;
    ids[3] = 3;
    ASSERT_FAILS(sl_knngraph_describe(ids, 4, 1, &s), SL_ERR_FORMAT, "row 3, neighbour 0 is 3, expected another row");
    ids[3] = 7;
    ASSERT_FAILS(sl_knngraph_describe(ids, 4, 1, &s), SL_ERR_FORMAT, "row 3, neighbour 0 is 7");
    ids[3] = 2;
    int64_t *p;
    size_t np;
    double l;
    len[1] = -1;
    ASSERT_FAILS(sl_knngraph_path(ids, len, 4, 1, 0, 1, &p, &np, &l), SL_ERR_FORMAT, "row 1, neighbour 0 has length -1");
    len[1] = NAN;
    ASSERT_FAILS(sl_knngraph_path(ids, len, 4, 1, 0, 1, &p, &np, &l), SL_ERR_FORMAT, "expected a finite number >= 0");
    len[1] = 1;
    ASSERT_FAILS(sl_knngraph_path(ids, len, 4, 1, 0, 4, &p, &np, &l), SL_ERR_RANGE, "from 0 and to 4 must be rows in [0, 4)");
    ASSERT_FAILS(sl_knngraph_describe(ids, 0, 1, &s), SL_ERR_ARG, "empty");
}

/* Tests of t-SNE and the map measures: exact kNN against brute force, the
 * perplexity calibration, the joint P, the Barnes-Hut gradient against the
 * exact one, cluster separation, determinism, trustworthiness against a
 * naive twin, and bad arguments. */
#include "test.h"
#include "viz/viz_internal.h"

/* c clusters of m points in d dims, centres `sep` apart on the axes. */
static float *clusters(size_t c, size_t m, size_t d, double sep, double sd, uint64_t seed, int64_t *lab) {
    float *x = malloc(c * m * d * sizeof *x);
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    for (size_t k = 0; k < c; k++)
        for (size_t i = 0; i < m; i++) {
            size_t row = k * m + i;
            if (lab) lab[row] = (int64_t)k;
            for (size_t j = 0; j < d; j++) x[row * d + j] = (float)((j == k % d ? sep : 0) + sd * sl_rng_normal(&r));
        }
    return x;
}

TEST(knn_exact_matches_brute_force) {
    size_t n = 300, d = 7;
    int k = 9;
    float *x = clusters(3, 100, d, 2, 1, 5, NULL);
    uint32_t *idx = malloc(n * k * sizeof *idx);
    float *dist = malloc(n * k * sizeof *dist);
    ASSERT_OK(sl__knn_exact(x, n, d, k, idx, dist));
    for (size_t i = 0; i < n; i++) {
        double dd[300];
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t q = 0; q < d; q++) s += ((double)x[i * d + q] - x[j * d + q]) * ((double)x[i * d + q] - x[j * d + q]);
            dd[j] = j == i ? INFINITY : s;
        }
        for (int t = 0; t < k; t++) {
            ASSERT_TRUE(idx[i * k + t] != i);
            ASSERT_NEAR(dist[i * k + t], dd[idx[i * k + t]], 1e-4);
            if (t) ASSERT_TRUE(dist[i * k + t] >= dist[i * k + t - 1]);
            /* Nobody outside the list is clearly closer than its last member. */
        }
        double last = dist[i * k + k - 1];
        int closer = 0;
        for (size_t j = 0; j < n; j++) closer += dd[j] < last - 1e-4;
        ASSERT_TRUE(closer <= k - 1);
    }
    free(x), free(idx), free(dist);
}

TEST(perplexity_calibration_hits_target_entropy) {
    size_t n = 200, d = 5;
    int k = 40;
    float *x = clusters(2, 100, d, 3, 1, 7, NULL);
    for (size_t i = 0; i < n * d; i++) x[i] *= 37.0f; /* units must not matter */
    uint32_t *idx = malloc(n * k * sizeof *idx);
    float *dist = malloc(n * k * sizeof *dist);
    double *p = malloc(n * k * sizeof *p), h[200];
    ASSERT_OK(sl__knn_exact(x, n, d, k, idx, dist));
    double perp[3] = {5, 10, 13};
    for (int c = 0; c < 3; c++) {
        sl__tsne_calibrate(dist, n, k, perp[c], p, h);
        for (size_t i = 0; i < n; i++) {
            ASSERT_NEAR(h[i], log(perp[c]), 1e-4);
            double s = 0, ent = 0;
            for (int t = 0; t < k; t++) {
                s += p[i * k + t];
                if (p[i * k + t] > 0) ent -= p[i * k + t] * log(p[i * k + t]);
                if (t) ASSERT_TRUE(p[i * k + t] <= p[i * k + t - 1] + 1e-15);
            }
            ASSERT_NEAR(s, 1, 1e-12);
            ASSERT_NEAR(ent, log(perp[c]), 1e-4);
        }
    }
    free(x), free(idx), free(dist), free(p);
}

/* Sparse P from data, and its dense copy. */
static void make_p(const float *x, size_t n, size_t d, double perp, sl__csr *P, double *dense) {
    int k = (int)(3 * perp + 1);
    uint32_t *idx = malloc(n * k * sizeof *idx);
    float *dist = malloc(n * k * sizeof *dist);
    double *cond = malloc(n * k * sizeof *cond);
    ASSERT_OK(sl__knn_exact(x, n, d, k, idx, dist));
    sl__tsne_calibrate(dist, n, k, perp, cond, NULL);
    ASSERT_OK(sl__tsne_joint(idx, cond, n, k, P));
    if (dense) {
        memset(dense, 0, n * n * sizeof *dense);
        for (size_t i = 0; i < n; i++)
            for (size_t e = P->row[i]; e < P->row[i + 1]; e++) dense[i * n + P->col[e]] = P->val[e];
    }
    free(idx), free(dist), free(cond);
}

TEST(joint_p_is_symmetric_and_normalised) {
    size_t n = 150;
    float *x = clusters(3, 50, 4, 4, 1, 2, NULL);
    sl__csr P;
    double *D = malloc(n * n * sizeof *D);
    make_p(x, n, 4, 8, &P, D);
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        ASSERT_NEAR(D[i * n + i], 0, 0);
        for (size_t j = 0; j < n; j++) {
            s += D[i * n + j];
            ASSERT_NEAR(D[i * n + j], D[j * n + i], 0);
        }
        for (size_t e = P.row[i] + 1; e < P.row[i + 1]; e++) ASSERT_TRUE(P.col[e] > P.col[e - 1]);
    }
    ASSERT_NEAR(s, 1, 1e-12);
    sl__csr_free(&P);
    free(x), free(D);
}

TEST(barnes_hut_gradient_matches_exact) {
    size_t n = 240;
    float *x = clusters(4, 60, 6, 3, 1, 4, NULL);
    sl__csr P;
    double *D = malloc(n * n * sizeof *D), *y = malloc(2 * n * sizeof *y);
    double *g0 = malloc(2 * n * sizeof *g0), *g1 = malloc(2 * n * sizeof *g1);
    make_p(x, n, 6, 10, &P, D);
    sl_rng r;
    sl_rng_seed(&r, 9, 0);
    for (size_t i = 0; i < 2 * n; i++) y[i] = 3 * sl_rng_normal(&r);
    y[2] = y[0], y[3] = y[1]; /* a duplicate point must not break the tree */
    for (int ex = 0; ex < 2; ex++) {
        double exag = ex ? 12 : 1;
        sl__tsne_grad_exact(y, n, D, exag, g0);
        ASSERT_OK(sl__tsne_grad_bh(y, n, &P, exag, 0.0, g1));
        double scale = 0;
        for (size_t i = 0; i < 2 * n; i++) scale = fmax(scale, fabs(g0[i]));
        for (size_t i = 0; i < 2 * n; i++) ASSERT_NEAR(g1[i], g0[i], 1e-10 * scale);
        /* The usual opening angle: a close approximation. */
        ASSERT_OK(sl__tsne_grad_bh(y, n, &P, exag, 0.5, g1));
        double num = 0, den = 0;
        for (size_t i = 0; i < 2 * n; i++) num += (g1[i] - g0[i]) * (g1[i] - g0[i]), den += g0[i] * g0[i];
        ASSERT_TRUE(sqrt(num / den) < 0.05);
    }
    sl__csr_free(&P);
    free(x), free(D), free(y), free(g0), free(g1);
}

TEST(separated_clusters_stay_separated) {
    size_t c = 5, m = 80, n = c * m, d = 20;
    int64_t lab[400];
    float *x = clusters(c, m, d, 8, 1, 11, lab);
    float *y = malloc(2 * n * sizeof *y);
    sl_tsne_config cfg;
    sl_tsne_config_default(&cfg);
    cfg.perplexity = 20;
    cfg.max_iter = 500;
    ASSERT_OK(sl_tsne_run(&cfg, x, n, d, y));
    double pur, tr;
    ASSERT_OK(sl_map_purity(y, n, 2, lab, 10, &pur));
    ASSERT_TRUE(pur > 0.99);
    ASSERT_OK(sl_map_trustworthiness(x, n, d, y, 2, 10, &tr));
    ASSERT_TRUE(tr > 0.9);
    /* The exact method agrees on the picture. */
    ASSERT_OK(sl__tsne_run_ref(&cfg, x, n, d, y));
    ASSERT_OK(sl_map_purity(y, n, 2, lab, 10, &pur));
    ASSERT_TRUE(pur > 0.99);
    free(x), free(y);
}

TEST(barnes_hut_and_exact_reach_similar_kl) {
    size_t n = 300, d = 10;
    float *x = clusters(3, 100, d, 4, 1, 21, NULL);
    float *y0 = malloc(2 * n * sizeof *y0), *y1 = malloc(2 * n * sizeof *y1);
    sl_tsne_config cfg;
    sl_tsne_config_default(&cfg);
    cfg.perplexity = 15;
    cfg.max_iter = 400;
    ASSERT_OK(sl__tsne_run_ref(&cfg, x, n, d, y0));
    ASSERT_OK(sl_tsne_run(&cfg, x, n, d, y1));
    double k0, k1;
    ASSERT_OK(sl__tsne_kl_ref(&cfg, x, n, d, y0, &k0));
    ASSERT_OK(sl__tsne_kl_ref(&cfg, x, n, d, y1, &k1));
    /* Barnes-Hut optimises a sparse P, so it is judged by the exact KL: close to the exact method's. */
    ASSERT_TRUE(k1 < k0 * 1.25 + 0.05);
    free(x), free(y0), free(y1);
}

TEST(tsne_is_deterministic_across_thread_counts) {
    /* Enough points that the parallel loops really run in parallel. */
    size_t n = 2400, d = 8;
    float *x = clusters(3, 800, d, 3, 1, 8, NULL);
    float *a = malloc(2 * n * sizeof *a), *b = malloc(2 * n * sizeof *b);
    sl_tsne_config cfg;
    sl_tsne_config_default(&cfg);
    cfg.perplexity = 10;
    cfg.max_iter = 60;
    cfg.exaggeration_iter = 30;
    sl_threads_set(1);
    ASSERT_OK(sl_tsne_run(&cfg, x, n, d, a));
    sl_threads_set(2);
    ASSERT_OK(sl_tsne_run(&cfg, x, n, d, b));
    ASSERT_TRUE(memcmp(a, b, 2 * n * sizeof *a) == 0);
    cfg.init = SL_TSNE_INIT_RANDOM;
    sl_threads_set(1);
    ASSERT_OK(sl_tsne_run(&cfg, x, n, d, a));
    sl_threads_set(2);
    ASSERT_OK(sl_tsne_run(&cfg, x, n, d, b));
    ASSERT_TRUE(memcmp(a, b, 2 * n * sizeof *a) == 0);
    free(x), free(a), free(b);
}

TEST(tsne_rejects_bad_input) {
    float x[40 * 2];
    for (int i = 0; i < 80; i++) x[i] = (float)i;
    float y[80];
    sl_tsne_config cfg;
    sl_tsne_config_default(&cfg);
    ASSERT_FAILS(sl_tsne_run(&cfg, x, 40, 2, y), SL_ERR_ARG, "too few for perplexity 30");
    cfg.perplexity = 5;
    x[13] = NAN;
    ASSERT_FAILS(sl_tsne_run(&cfg, x, 40, 2, y), SL_ERR_NUMERIC, "row 6, column 1");
    x[13] = 1;
    cfg.perplexity = 0.5;
    ASSERT_FAILS(sl_tsne_run(&cfg, x, 40, 2, y), SL_ERR_ARG, "perplexity 0.5");
}

/* Trustworthiness by its definition with full sorted rank lists. */
static double trust_naive(const float *x, size_t n, size_t dx, const float *y, size_t dy, int k) {
    double tot = 0;
    double *ax = malloc(n * sizeof *ax), *ay = malloc(n * sizeof *ay);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            double s = 0, t = 0;
            for (size_t q = 0; q < dx; q++) s += ((double)x[i * dx + q] - x[j * dx + q]) * ((double)x[i * dx + q] - x[j * dx + q]);
            for (size_t q = 0; q < dy; q++) t += ((double)y[i * dy + q] - y[j * dy + q]) * ((double)y[i * dy + q] - y[j * dy + q]);
            ax[j] = s, ay[j] = t;
        }
        for (size_t j = 0; j < n; j++) {
            if (j == i) continue;
            size_t ry = 1, rx = 1;
            for (size_t l = 0; l < n; l++) {
                if (l == i || l == j) continue;
                ry += ay[l] < ay[j] || (ay[l] == ay[j] && l < j);
                rx += ax[l] < ax[j] || (ax[l] == ax[j] && l < j);
            }
            if (ry <= (size_t)k && rx > (size_t)k) tot += (double)(rx - (size_t)k);
        }
    }
    free(ax), free(ay);
    return 1 - 2.0 / (n * k * (2.0 * n - 3.0 * k - 1)) * tot;
}

TEST(trustworthiness_matches_naive_twin) {
    size_t n = 120, d = 5;
    float *x = clusters(2, 60, d, 1, 1, 3, NULL);
    float y[240];
    for (size_t i = 0; i < n; i++) y[2 * i] = x[i * d], y[2 * i + 1] = x[i * d + 1]; /* a poor 2-D view */
    double t, t_naive = trust_naive(x, n, d, y, 2, 7);
    ASSERT_OK(sl_map_trustworthiness(x, n, d, y, 2, 7, &t));
    ASSERT_NEAR(t, t_naive, 1e-9);
    ASSERT_TRUE(t < 0.95);
    ASSERT_OK(sl_map_trustworthiness(x, n, d, x, d, 7, &t));
    ASSERT_NEAR(t, 1, 1e-12);
    ASSERT_FAILS(sl_map_trustworthiness(x, n, d, y, 2, 60, &t), SL_ERR_ARG, "k = 60");
    free(x);
}

TEST(tsne_survives_duplicate_and_identical_points) {
    size_t n = 300, d = 4;
    float *x = clusters(3, 100, d, 5, 1, 6, NULL);
    for (size_t i = 0; i < 40; i++) memcpy(x + (100 + i) * d, x, d * sizeof *x); /* 40 copies of row 0 */
    float *y = malloc(2 * n * sizeof *y);
    sl_tsne_config cfg;
    sl_tsne_config_default(&cfg);
    cfg.perplexity = 10;
    cfg.max_iter = 200;
    ASSERT_OK(sl_tsne_run(&cfg, x, n, d, y));
    for (size_t i = 0; i < 2 * n; i++) ASSERT_TRUE(isfinite(y[i]));
    /* All rows equal: no direction to spread along, but a finite answer. */
    for (size_t i = 0; i < n * d; i++) x[i] = 1.5f;
    ASSERT_OK(sl_tsne_run(&cfg, x, n, d, y));
    for (size_t i = 0; i < 2 * n; i++) ASSERT_TRUE(isfinite(y[i]));
    free(x), free(y);
}

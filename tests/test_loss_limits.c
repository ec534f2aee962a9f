/* Known limits and edge cases of the losses: separated and collapsed batches,
 * CLIP at large scale, batches without valid triplets or positives, tiny
 * temperatures, zero vectors, diagnostics, accumulation, determinism, the
 * fast triplet kernel against a naive O(n^3) twin, the limits of Barlow
 * Twins, VICReg, SimSiam, BYOL, MoCo and the memory bank, names and bad input. */
#include "test.h"

static sl_loss_result run(const sl_loss_config *c, const float *a, const float *b, size_t nb, const int32_t *lab,
                          size_t n, size_t d, float *ga, float *gb) {
    sl_loss_batch bt = {.n = n, .d = d, .a = a, .b = b, .nb = nb, .labels = lab, .grad_a = ga, .grad_b = gb};
    sl_loss_result r;
    ASSERT_OK(sl_loss_compute(c, &bt, &r));
    return r;
}

static void all_finite(const float *g, size_t n) {
    for (size_t k = 0; k < n; k++)
        if (!isfinite(g[k])) T_FAIL("gradient entry %zu is %g", k, (double)g[k]);
}

/* Every gradient entry below tol in magnitude. */
static void all_below(const float *g, size_t n, double tol) {
    for (size_t k = 0; k < n; k++)
        if (!(fabs(g[k]) < tol)) T_FAIL("gradient entry %zu is %g, expected |g| < %g", k, (double)g[k], tol);
}

/* 2N = 8 views: twins identical, different items orthogonal (one-hot). */
static void separated(float *z, size_t N, size_t d) {
    memset(z, 0, 2 * N * d * sizeof *z);
    for (size_t i = 0; i < N; i++) z[i * d + i] = z[(i + N) * d + i] = 1.0f;
}

TEST(infonce_separated_goes_to_zero_as_tau_shrinks) {
    float z[64];
    separated(z, 4, 8);
    static const double taus[] = {1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01};
    double prev = INFINITY;
    for (int sim = 0; sim < SL_SIM_COUNT; sim++) {
        prev = INFINITY;
        for (size_t k = 0; k < sizeof taus / sizeof taus[0]; k++) {
            sl_loss_config c;
            sl_loss_config_default(&c, SL_OBJ_INFONCE);
            c.sim = (sl_similarity)sim;
            c.tau = taus[k];
            sl_loss_result r = run(&c, z, NULL, 0, NULL, 8, 8, NULL, NULL);
            /* Positive similarity 1 (cosine, dot) or 0 (l2), negatives 0 or -2:
             * the gap is 1 or 2, and the loss is log(1 + 6 exp(-gap / tau)). */
            double gap = sim == SL_SIM_L2 ? 2.0 : 1.0;
            ASSERT_CLOSE(r.loss, log1p(6 * exp(-gap / taus[k])), 1e-6, 1e-300);
            ASSERT_TRUE(r.loss < prev);
            prev = r.loss;
            ASSERT_NEAR(r.accuracy, 1.0, 0);
        }
        ASSERT_TRUE(prev < 1e-40);
    }
}

TEST(supcon_and_softmax_separated_go_to_zero) {
    /* Two classes, three identical views each, classes orthogonal. */
    float z[24] = {0}, w[8] = {1, 0, 0, 0, 0, 1, 0, 0};
    int32_t lab[6] = {0, 0, 0, 1, 1, 1};
    for (int i = 0; i < 6; i++) z[i * 4 + (i < 3 ? 0 : 1)] = 1;
    double prev_s = INFINITY, prev_x = INFINITY;
    for (double tau = 1.0; tau > 0.004; tau /= 2) {
        sl_loss_config c;
        sl_loss_config_default(&c, SL_OBJ_SUPCON);
        c.tau = tau;
        sl_loss_result r = run(&c, z, NULL, 0, lab, 6, 4, NULL, NULL);
        ASSERT_TRUE(r.loss <= prev_s);
        prev_s = r.loss;
        /* Each anchor: 2 positives at logit 1/tau, 3 negatives at 0:
         * loss = log(2 e^{1/tau} + 3) - 1/tau. */
        ASSERT_CLOSE(r.loss, log(2 + 3 * exp(-1 / tau)), 1e-6, 1e-12);
        sl_loss_config_default(&c, SL_OBJ_SOFTMAX);
        c.sim = SL_SIM_COSINE;
        c.tau = tau;
        r = run(&c, z, w, 2, lab, 6, 4, NULL, NULL);
        ASSERT_TRUE(r.loss < prev_x);
        prev_x = r.loss;
    }
    /* SupCon's floor with two positives is log 2: the positives share the mass. */
    ASSERT_NEAR(prev_s, log(2.0), 1e-12);
    ASSERT_TRUE(prev_x < 1e-40);
}

TEST(infonce_collapsed_gives_log_2n_minus_1) {
    float z[10 * 5];
    for (int k = 0; k < 50; k++) z[k] = (float)(0.3 * ((k % 5) - 2) + 0.1);
    for (int sim = 0; sim < SL_SIM_COUNT; sim++)
        for (double tau = 0.05; tau < 3; tau *= 3) {
            sl_loss_config c;
            sl_loss_config_default(&c, SL_OBJ_INFONCE);
            c.sim = (sl_similarity)sim;
            c.tau = tau;
            float g[50] = {0};
            sl_loss_result r = run(&c, z, NULL, 0, NULL, 10, 5, g, NULL);
            ASSERT_CLOSE(r.loss, log(9.0), 1e-6, 0);
            ASSERT_NEAR(r.accuracy, 0.0, 0); /* ties count as misses */
            ASSERT_NEAR(r.pos_sim, r.neg_sim, 1e-6);
            /* At a collapsed point every view pulls the same way it is pushed. */
            for (int k = 0; k < 50; k++) ASSERT_NEAR(g[k], 0.0, 1e-5);
        }
    /* All-zero embeddings with cosine: normalisation must not divide by 0. */
    float zero[50] = {0}, g[50] = {0};
    sl_loss_config c;
    sl_loss_config_default(&c, SL_OBJ_INFONCE);
    sl_loss_result r = run(&c, zero, NULL, 0, NULL, 10, 5, g, NULL);
    ASSERT_CLOSE(r.loss, log(9.0), 1e-9, 0);
    all_finite(g, 50);
}

TEST(clip_identical_pairs_large_scale_is_near_zero) {
    float a[8 * 32];
    sl_rng rng;
    sl_rng_seed(&rng, 3, 0);
    for (int k = 0; k < 8 * 32; k++) a[k] = (float)sl_rng_normal(&rng);
    sl_loss_config c;
    sl_loss_config_default(&c, SL_OBJ_CLIP);
    c.log_scale = log(100.0);
    float ga[256] = {0}, gb[256] = {0};
    sl_loss_result r = run(&c, a, a, 8, NULL, 8, 32, ga, gb);
    ASSERT_TRUE(r.loss >= 0 && r.loss < 1e-8);
    ASSERT_NEAR(r.accuracy, 1.0, 0);
    ASSERT_NEAR(r.pos_sim, 1.0, 1e-6);
    ASSERT_NEAR(r.scale, 100.0, 1e-9);
    all_finite(ga, 256);
    /* At the default scale (1/0.07) the same batch has a clearly larger loss. */
    sl_loss_config_default(&c, SL_OBJ_CLIP);
    sl_loss_result r2 = run(&c, a, a, 8, NULL, 8, 32, NULL, NULL);
    ASSERT_TRUE(r2.loss > 1e3 * r.loss);
}

TEST(no_valid_triplet_gives_zero_and_zero_grad) {
    float z[6 * 3];
    for (int k = 0; k < 18; k++) z[k] = (float)(k % 7) - 3.0f;
    int32_t same[6] = {4, 4, 4, 4, 4, 4}, distinct[6] = {0, 1, 2, 3, 4, 5};
    sl_objective objs[4] = {SL_OBJ_TRIPLET, SL_OBJ_TRIPLET_HARD, SL_OBJ_TRIPLET_SMOOTH, SL_OBJ_SUPCON};
    for (int o = 0; o < 4; o++)
        for (int sim = 0; sim < SL_SIM_COUNT; sim++)
            for (int which = 0; which < 2; which++) {
                const int32_t *lab = which ? distinct : same;
                /* supcon has positives when all labels agree; only distinct labels leave it empty. */
                if (objs[o] == SL_OBJ_SUPCON && !which) continue;
                sl_loss_config c;
                sl_loss_config_default(&c, objs[o]);
                c.sim = (sl_similarity)sim;
                float g[18] = {0};
                sl_loss_result r = run(&c, z, NULL, 0, lab, 6, 3, g, NULL);
                ASSERT_TRUE(r.loss == 0.0);
                ASSERT_EQ_SIZE(r.n_terms, 0);
                ASSERT_TRUE(r.dlog_scale == 0.0);
                for (int k = 0; k < 18; k++) ASSERT_TRUE(g[k] == 0.0f);
            }
    /* A single row: nothing to compare with. */
    sl_loss_config c;
    sl_loss_config_default(&c, SL_OBJ_TRIPLET);
    float g[3] = {0};
    sl_loss_result r = run(&c, z, NULL, 0, same, 1, 3, g, NULL);
    ASSERT_TRUE(r.loss == 0.0 && g[0] == 0.0f);
}

TEST(tiny_tau_and_huge_logits_stay_finite) {
    static const int32_t lab[8] = {0, 1, 0, 1, 2, 2, 0, 1};
    float a[8 * 4], b[8 * 4];
    sl_rng rng;
    sl_rng_seed(&rng, 11, 0);
    for (int k = 0; k < 32; k++) {
        a[k] = (float)(1e3 * sl_rng_normal(&rng));
        b[k] = (float)(1e3 * sl_rng_normal(&rng));
    }
    for (int obj = 0; obj < SL_OBJ_COUNT; obj++)
        for (int sim = 0; sim < SL_SIM_COUNT; sim++)
            for (int learn = 0; learn < 2; learn++) {
                sl_loss_config c;
                sl_loss_config_default(&c, (sl_objective)obj);
                c.sim = (sl_similarity)sim;
                c.tau = 1e-6;
                c.learnable_tau = learn;
                c.log_scale = 1e3; /* clamped to ln 100 */
                float ga[32] = {0}, gb[32] = {0};
                bool queue = obj == SL_OBJ_MOCO || obj == SL_OBJ_MEMORY_BANK;
                size_t nb = obj == SL_OBJ_SOFTMAX ? 3 : queue ? 4 : 8;
                sl_loss_result r = run(&c, a, b, nb, lab, queue ? 4 : 8, 4, ga, gb);
                if (!isfinite(r.loss) || (r.loss < 0 && obj != SL_OBJ_SIMSIAM))
                    T_FAIL("%s/%s: loss %g", sl_loss_objective_name(c.objective), sl_loss_sim_name(c.sim), r.loss);
                ASSERT_TRUE(isfinite(r.dlog_scale) && isfinite(r.accuracy) && isfinite(r.pos_sim) &&
                            isfinite(r.neg_sim));
                all_finite(ga, 32);
                all_finite(gb, 32);
                if (learn) ASSERT_TRUE(r.dlog_scale == 0.0); /* outside the clamp the loss is flat */
            }
}

TEST(learnable_scale_is_clamped) {
    sl_loss_config c;
    sl_loss_config_default(&c, SL_OBJ_CLIP);
    ASSERT_NEAR(sl_loss_scale(&c), 1 / 0.07, 1e-9);
    ASSERT_NEAR(c.log_scale, log(1 / 0.07), 1e-12);
    ASSERT_NEAR(sl_loss_clamp_log_scale(&c, 9.0), log(100.0), 1e-12);
    ASSERT_NEAR(sl_loss_clamp_log_scale(&c, -1.0), 0.0, 0);
    ASSERT_NEAR(sl_loss_clamp_log_scale(&c, 2.0), 2.0, 0);
    c.log_scale = 7;
    ASSERT_NEAR(sl_loss_scale(&c), 100.0, 1e-9);
    c.learnable_tau = false;
    c.tau = 0.25;
    ASSERT_NEAR(sl_loss_scale(&c), 4.0, 0);
}

/* The naive O(n^3) twin of the sorted triplet kernel. */
static double triplet_naive(const double *D, const int32_t *lab, size_t n, double m, double *GD) {
    double loss = 0, cnt = 0;
    for (size_t a = 0; a < n; a++)
        for (size_t p = 0; p < n; p++)
            for (size_t q = 0; q < n; q++)
                if (p != a && lab[p] == lab[a] && lab[q] != lab[a]) cnt++;
    for (size_t a = 0; a < n; a++)
        for (size_t p = 0; p < n; p++)
            for (size_t q = 0; q < n; q++) {
                if (p == a || lab[p] != lab[a] || lab[q] == lab[a]) continue;
                double x = D[a * n + p] + m - D[a * n + q];
                if (x > 0) {
                    loss += x;
                    GD[a * n + p] += 1 / cnt;
                    GD[a * n + q] -= 1 / cnt;
                }
            }
    return cnt ? loss / cnt : 0;
}

TEST(triplet_kernel_matches_naive_twin) {
    /* Integer embeddings with the dot similarity give integer distances, so
     * many hinges sit exactly at 0 with margin 1: both must leave them out. */
    enum { N = 40, Dm = 3 };
    float z[N * Dm];
    int32_t lab[N];
    sl_rng rng;
    sl_rng_seed(&rng, 21, 0);
    for (int k = 0; k < N * Dm; k++) z[k] = (float)((int)sl_rng_below(&rng, 5) - 2);
    for (int i = 0; i < N; i++) lab[i] = (int32_t)sl_rng_below(&rng, 5);
    for (int sim = 0; sim < SL_SIM_COUNT; sim++) {
        sl_loss_config c;
        sl_loss_config_default(&c, SL_OBJ_TRIPLET);
        c.sim = (sl_similarity)sim;
        c.margin = sim == SL_SIM_COSINE ? 0.25 : 1.0;
        c.exact = true;
        float g[N * Dm] = {0};
        sl_loss_result r = run(&c, z, NULL, 0, lab, N, Dm, g, NULL);
        /* The reference: distances from double similarities, then the same
         * similarity backward done by hand for the dot case. */
        double D[N * N], GD[N * N] = {0};
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double s = 0, ni = 0, nj = 0;
                for (int k = 0; k < Dm; k++) {
                    s += (double)z[i * Dm + k] * z[j * Dm + k];
                    ni += (double)z[i * Dm + k] * z[i * Dm + k];
                    nj += (double)z[j * Dm + k] * z[j * Dm + k];
                }
                if (sim == SL_SIM_COSINE) s /= fmax(sqrt(ni), 1e-8) * fmax(sqrt(nj), 1e-8);
                if (sim == SL_SIM_L2) s = i == j ? 0 : 2 * s - ni - nj;
                D[i * N + j] = sim == SL_SIM_COSINE ? 1 - s : -s;
            }
        double ref = triplet_naive(D, lab, N, c.margin, GD);
        ASSERT_CLOSE(r.loss, ref, 1e-12, 1e-15);
        ASSERT_TRUE(r.n_active > 0 && r.n_active < r.n_terms);
        if (sim == SL_SIM_DOT) {
            /* S = Z Z^T, dL/dS = -GD, so dL/dZ = -(GD + GD^T) Z. */
            for (int i = 0; i < N; i++)
                for (int k = 0; k < Dm; k++) {
                    double e = 0;
                    for (int j = 0; j < N; j++) e -= (GD[i * N + j] + GD[j * N + i]) * z[j * Dm + k];
                    ASSERT_NEAR(g[i * Dm + k], e, 1e-6 * fabs(e) + 1e-12);
                }
        }
    }
}

TEST(supcon_skips_anchors_without_positive) {
    /* Rows 4 and 5 have labels of their own: they are negatives for the
     * others but contribute no term. Reference computed here by hand. */
    int32_t lab[6] = {0, 1, 0, 1, 7, 8};
    float z[6 * 3];
    sl_rng rng;
    sl_rng_seed(&rng, 2, 0);
    for (int k = 0; k < 18; k++) z[k] = (float)sl_rng_normal(&rng);
    sl_loss_config c;
    sl_loss_config_default(&c, SL_OBJ_SUPCON);
    c.sim = SL_SIM_DOT;
    c.tau = 0.5;
    c.exact = true;
    float g[18] = {0};
    sl_loss_result r = run(&c, z, NULL, 0, lab, 6, 3, g, NULL);
    double total = 0;
    for (int i = 0; i < 4; i++) {
        double den = 0, lp = 0;
        for (int j = 0; j < 6; j++) {
            if (j == i) continue;
            double s = 0;
            for (int k = 0; k < 3; k++) s += (double)z[i * 3 + k] * z[j * 3 + k];
            den += exp(s / 0.5);
            if (lab[j] == lab[i]) lp = s / 0.5;
        }
        total += log(den) - lp;
    }
    ASSERT_CLOSE(r.loss, total / 4, 1e-12, 0);
    ASSERT_EQ_SIZE(r.n_terms, 4);
    all_finite(g, 18);
}

TEST(diagnostics_on_a_small_batch) {
    /* Items 0, 1; twins exact copies; item 0 and 1 orthogonal. */
    float z[4 * 2] = {1, 0, 0, 1, 1, 0, 0, 1};
    sl_loss_config c;
    sl_loss_config_default(&c, SL_OBJ_INFONCE);
    sl_loss_result r = run(&c, z, NULL, 0, NULL, 4, 2, NULL, NULL);
    ASSERT_NEAR(r.pos_sim, 1.0, 1e-7);
    ASSERT_NEAR(r.neg_sim, 0.0, 1e-7);
    ASSERT_NEAR(r.accuracy, 1.0, 0);
    ASSERT_EQ_SIZE(r.n_terms, 4);
    /* Swap the second view: now each view's nearest candidate is wrong. */
    float w[4 * 2] = {1, 0, 0, 1, 0, 1, 1, 0};
    r = run(&c, w, NULL, 0, NULL, 4, 2, NULL, NULL);
    ASSERT_NEAR(r.accuracy, 0.0, 0);
    ASSERT_NEAR(r.pos_sim, 0.0, 1e-7);
    ASSERT_NEAR(r.neg_sim, 0.5, 1e-7);
    /* Softmax: 1 of 2 rows classified right. */
    float zz[4] = {1, 0, 1, 0}, cls[4] = {1, 0, 0, 1};
    int32_t lab[2] = {0, 1};
    sl_loss_config_default(&c, SL_OBJ_SOFTMAX);
    r = run(&c, zz, cls, 2, lab, 2, 2, NULL, NULL);
    ASSERT_NEAR(r.accuracy, 0.5, 0);
    ASSERT_CLOSE(r.loss, log1p(exp(-1.0)) / 2 + log1p(exp(1.0)) / 2, 1e-9, 0);
}

TEST(autoencoder_value_and_gradient) {
    float rec[6], tgt[6], g[6] = {0};
    for (int k = 0; k < 6; k++) {
        tgt[k] = (float)k;
        rec[k] = (float)k + (k % 2 ? 0.5f : -0.5f);
    }
    sl_loss_config c;
    sl_loss_config_default(&c, SL_OBJ_AUTOENCODER);
    sl_loss_result r = run(&c, rec, tgt, 0, NULL, 2, 3, g, NULL);
    ASSERT_NEAR(r.loss, 0.25, 1e-12);
    for (int k = 0; k < 6; k++) ASSERT_NEAR(g[k], (k % 2 ? 1.0 : -1.0) / 6, 1e-7);
    ASSERT_EQ_SIZE(r.n_terms, 6);
}

TEST(gradients_accumulate_and_calls_are_deterministic) {
    static const int32_t lab[12] = {0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 3, 0};
    float a[12 * 5], b[12 * 5];
    sl_rng rng;
    sl_rng_seed(&rng, 8, 0);
    for (int k = 0; k < 60; k++) {
        a[k] = (float)sl_rng_normal(&rng);
        b[k] = (float)sl_rng_normal(&rng);
    }
    for (int obj = 0; obj < SL_OBJ_COUNT; obj++) {
        sl_loss_config c;
        sl_loss_config_default(&c, (sl_objective)obj);
        bool queue = obj == SL_OBJ_MOCO || obj == SL_OBJ_MEMORY_BANK;
        size_t nb = obj == SL_OBJ_SOFTMAX ? 4 : queue ? 6 : 12, n = queue ? 6 : 12;
        float g1[60] = {0}, h1[60] = {0}, g2[60] = {0}, h2[60] = {0};
        sl_loss_result r1 = run(&c, a, b, nb, lab, n, 5, g1, h1);
        sl_loss_result r2 = run(&c, a, b, nb, lab, n, 5, g2, h2);
        ASSERT_TRUE(memcmp(&r1, &r2, sizeof r1) == 0);
        ASSERT_TRUE(memcmp(g1, g2, sizeof g1) == 0 && memcmp(h1, h2, sizeof h1) == 0);
        run(&c, a, b, nb, lab, n, 5, g2, h2); /* accumulates: g2 = 2 g1 */
        for (int k = 0; k < 60; k++) {
            ASSERT_NEAR(g2[k], 2 * g1[k], 1e-6 * fabs(g1[k]));
            ASSERT_NEAR(h2[k], 2 * h1[k], 1e-6 * fabs(h1[k]));
        }
        sl_loss_result r3 = run(&c, a, b, nb, lab, n, 5, NULL, NULL); /* value only */
        ASSERT_TRUE(r3.loss == r1.loss);
    }
}

/* Barlow Twins on twins that are identical and whose columns are
 * uncorrelated: the cross-correlation is the identity up to the
 * standardisation's eps (c_jj = v / (v + 1e-5)), so the loss is D times
 * (1e-5 / (v + 1e-5))^2 and the gradient nearly 0. Halving the twin's
 * correlation on one column costs what the formula says. */
TEST(barlow_limits) {
    /* 4 items, 2 columns: (+-1, +-1) in the four combinations: mean 0,
     * variance 1, uncorrelated. */
    float z[16] = {1, 1, 1, -1, -1, 1, -1, -1, 1, 1, 1, -1, -1, 1, -1, -1}, g[16] = {0};
    sl_loss_config c;
    sl_loss_config_default(&c, SL_OBJ_BARLOW);
    c.exact = true; /* the float products would round 1 - q */
    sl_loss_result r;
    ASSERT_OK(sl_loss_barlow(&c, z, 8, 2, g, &r));
    double q = 1e-5 / (1 + 1e-5);
    ASSERT_CLOSE(r.loss, 2 * q * q, 1e-6, 0);
    all_below(g, 16, 1e-4);
    ASSERT_NEAR(r.accuracy, 1.0, 0); /* each row's twin is itself; the other rows point elsewhere */
    ASSERT_CLOSE(r.pos_sim, 1.0, 1e-6, 0);
    /* View 2's first column negated: c_00 = -(1 - q), c_11 = 1 - q, so the
     * loss is (2 - q)^2 + q^2. */
    for (int i = 4; i < 8; i++) z[2 * i] = -z[2 * i];
    ASSERT_OK(sl_loss_barlow(&c, z, 8, 2, NULL, &r));
    ASSERT_CLOSE(r.loss, (2 - q) * (2 - q) + q * q, 1e-6, 0);
    ASSERT_FAILS(sl_loss_barlow(&c, z, 2, 2, NULL, &r), SL_ERR_ARG, "even number >= 4");
    c.barlow_lambda = -1;
    ASSERT_FAILS(sl_loss_barlow(&c, z, 8, 2, NULL, &r), SL_ERR_ARG, "lambda -1 must be finite and >= 0");
}

/* VICReg on collapsed embeddings (every row the same): the invariance and
 * covariance terms are 0 and each column's deviation is sqrt(1e-4) = 0.01,
 * so the variance term is (1 - 0.01) / 2 per view: 25 * 0.99 in all. On
 * spread, uncorrelated twins with unit deviations every term is 0. */
TEST(vicreg_limits) {
    float z[24], g[24] = {0};
    for (int k = 0; k < 24; k++) z[k] = 0.25f;
    sl_loss_config c;
    sl_loss_config_default(&c, SL_OBJ_VICREG);
    sl_loss_result r;
    ASSERT_OK(sl_loss_vicreg(&c, z, 8, 3, g, &r));
    ASSERT_CLOSE(r.loss, 25 * 0.99, 1e-12, 0);
    /* Collapsed rows give no gradient to the variance term (it is X / s with X = 0). */
    for (int k = 0; k < 24; k++) ASSERT_TRUE(g[k] == 0.0f);
    /* (+-a, +-a) with a = sqrt(3/4): unbiased variance 1 over 4 rows, so the
     * deviation is sqrt(1 + 1e-4) > 1: no variance term; no covariance; twins equal. */
    float a = sqrtf(0.75f), y[16] = {a, a, a, -a, -a, a, -a, -a, a, a, a, -a, -a, a, -a, -a}, gy[16] = {0};
    ASSERT_OK(sl_loss_vicreg(&c, y, 8, 2, gy, &r));
    ASSERT_TRUE(fabs(r.loss) < 1e-12);
    all_below(gy, 16, 1e-6);
    c.vicreg_cov = NAN;
    ASSERT_FAILS(sl_loss_vicreg(&c, y, 8, 2, NULL, &r), SL_ERR_ARG, "must be finite and >= 0");
}

/* SimSiam and BYOL: a prediction along its target (any length) is the
 * minimum, -1 and 0, with no gradient; one opposite to it the maximum, +1
 * and 4, also stationary; an orthogonal one gives 0 and 2 and the gradient
 * pulls it straight to the target, -(1 / n) t / (|t| |p|) for SimSiam. A
 * zero prediction stays finite. */
TEST(predictive_limits) {
    const sl_objective objs[2] = {SL_OBJ_SIMSIAM, SL_OBJ_BYOL};
    const double along[2] = {-1, 0}, opposite[2] = {1, 4}, across[2] = {0, 2};
    float t[6] = {1, 2, 2, 0, 3, 4}; /* two targets of norms 3 and 5 */
    for (int o = 0; o < 2; o++) {
        sl_loss_config c;
        sl_loss_config_default(&c, objs[o]);
        float p[6], g[6] = {0};
        for (int k = 0; k < 6; k++) p[k] = 0.5f * t[k];
        sl_loss_result r = run(&c, p, t, 0, NULL, 2, 3, g, NULL);
        ASSERT_CLOSE(r.loss, along[o], 0, 1e-7);
        all_below(g, 6, 1e-6);
        for (int k = 0; k < 6; k++) p[k] = -4.0f * t[k], g[k] = 0;
        r = run(&c, p, t, 0, NULL, 2, 3, g, NULL);
        ASSERT_CLOSE(r.loss, opposite[o], 0, 1e-7);
        all_below(g, 6, 1e-6);
        /* Orthogonal predictions of norm 2: (2, 0, -1)/sqrt(5) * 2 and (0, 8, -6) / 5. */
        float q[6] = {4 / sqrtf(5.0f), 0, -2 / sqrtf(5.0f), 0, 1.6f, -1.2f}, gq[6] = {0};
        r = run(&c, q, t, 0, NULL, 2, 3, gq, NULL);
        ASSERT_CLOSE(r.loss, across[o], 0, 1e-7);
        double w = o == 0 ? -0.5 : -1.0; /* d loss / d cos, over the two rows */
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < 3; k++) {
                double nt = i == 0 ? 3 : 5;
                ASSERT_CLOSE(gq[i * 3 + k], w * t[i * 3 + k] / (nt * 2), 0, 1e-6);
            }
        float zero[6] = {0};
        r = run(&c, zero, t, 0, NULL, 2, 3, gq, NULL);
        ASSERT_CLOSE(r.loss, across[o], 0, 0);
        all_finite(gq, 6);
    }
}

/* MoCo and the memory bank: queries equal to their keys and orthogonal to
 * the m negatives give log(1 + m e^(-1/tau)) and every query right;
 * everything the same (a collapsed encoder) gives log(1 + m), no query right
 * and no gradient. The other queries' keys are not candidates. */
TEST(queue_limits) {
    const sl_objective objs[2] = {SL_OBJ_MOCO, SL_OBJ_MEMORY_BANK};
    for (int o = 0; o < 2; o++) {
        sl_loss_config c;
        sl_loss_config_default(&c, objs[o]);
        /* d = 4: queries e0, e1; keys e0, e1; negatives e2, e3. */
        float q[8] = {1, 0, 0, 0, 0, 1, 0, 0}, b[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, g[8] = {0};
        sl_loss_result r = run(&c, q, b, 2, NULL, 2, 4, g, NULL);
        ASSERT_CLOSE(r.loss, log1p(2 * exp(-1 / c.tau)), 1e-6, 0);
        ASSERT_NEAR(r.accuracy, 1.0, 0);
        ASSERT_CLOSE(r.pos_sim, 1.0, 0, 1e-7);
        ASSERT_CLOSE(r.neg_sim, 0.0, 0, 1e-7);
        all_finite(g, 8);
        /* q1's key turned to e0: q1's positive is now as far as its negatives
         * (log 3), and q0's term stays, as e0 among q0's candidates would
         * have raised it. */
        b[4] = 1, b[5] = 0;
        r = run(&c, q, b, 2, NULL, 2, 4, NULL, NULL);
        ASSERT_CLOSE(r.loss, (log1p(2 * exp(-1 / c.tau)) + log(3.0)) / 2, 1e-6, 0);
        float same[16], gs[8] = {0};
        for (int k = 0; k < 16; k++) same[k] = 0.5f;
        r = run(&c, same, same, 2, NULL, 2, 4, gs, NULL);
        ASSERT_CLOSE(r.loss, log(3.0), 1e-6, 0);
        ASSERT_NEAR(r.accuracy, 0.0, 0);
        all_below(gs, 8, 1e-6);
    }
}

TEST(names_round_trip) {
    const char *want = "infonce supcon triplet triplet-hard triplet-smooth clip autoencoder softmax mae barlow vicreg "
                       "simsiam byol moco memory-bank";
    char got[256] = "";
    for (int o = 0; o < SL_OBJ_COUNT; o++) {
        sl_objective p;
        ASSERT_OK(sl_loss_objective_parse(sl_loss_objective_name((sl_objective)o), &p));
        ASSERT_EQ_INT(p, o);
        if (o) strcat(got, " ");
        strcat(got, sl_loss_objective_name((sl_objective)o));
    }
    ASSERT_STREQ(got, want);
    for (int s = 0; s < SL_SIM_COUNT; s++) {
        sl_similarity p;
        ASSERT_OK(sl_loss_sim_parse(sl_loss_sim_name((sl_similarity)s), &p));
        ASSERT_EQ_INT(p, s);
    }
    sl_objective o;
    sl_similarity s;
    ASSERT_FAILS(sl_loss_objective_parse("simclr", &o), SL_ERR_ARG, "unknown objective 'simclr'");
    ASSERT_FAILS(sl_loss_objective_parse("Infonce", &o), SL_ERR_ARG, "triplet-smooth");
    ASSERT_FAILS(sl_loss_sim_parse("euclid", &s), SL_ERR_ARG, "expected dot, cosine or l2");
    ASSERT_STREQ(sl_loss_objective_name(SL_OBJ_COUNT), "?");
    ASSERT_STREQ(sl_loss_sim_name((sl_similarity)-1), "?");
}

TEST(bad_inputs_fail_clearly) {
    float z[8 * 3] = {0}, g[24] = {0};
    int32_t lab[8] = {0, 1, 0, 1, 0, 1, 0, 1};
    sl_loss_result r;
    memset(&r, 0x5a, sizeof r);
    sl_loss_result before = r;
    sl_loss_config c;
    sl_loss_config_default(&c, SL_OBJ_INFONCE);
    z[2 * 3 + 1] = NAN;
    ASSERT_FAILS(sl_loss_infonce(&c, z, 8, 3, g, &r), SL_ERR_NUMERIC, "row 2, column 1");
    z[2 * 3 + 1] = INFINITY;
    ASSERT_FAILS(sl_loss_supcon(&c, z, lab, 8, 3, g, &r), SL_ERR_NUMERIC, "row 2, column 1");
    ASSERT_FAILS(sl_loss_triplet(&c, z, lab, 8, 3, g, &r), SL_ERR_NUMERIC, "row 2, column 1");
    z[2 * 3 + 1] = 0;
    ASSERT_FAILS(sl_loss_infonce(&c, z, 7, 3, g, &r), SL_ERR_ARG, "even number");
    ASSERT_FAILS(sl_loss_infonce(&c, z, 0, 3, g, &r), SL_ERR_ARG, "empty");
    ASSERT_FAILS(sl_loss_infonce(&c, z, 8, 0, g, &r), SL_ERR_ARG, "empty");
    ASSERT_FAILS(sl_loss_infonce(&c, z, SIZE_MAX / 2, 3, g, &r), SL_ERR_ARG, "overflows");
    c.tau = 0;
    ASSERT_FAILS(sl_loss_infonce(&c, z, 8, 3, g, &r), SL_ERR_ARG, "tau 0 must be finite and > 0");
    c.tau = NAN;
    ASSERT_FAILS(sl_loss_clip(&c, z, z, 8, 3, g, g, &r), SL_ERR_ARG, "tau");
    c.tau = 1e-320; /* 1/tau overflows */
    ASSERT_FAILS(sl_loss_infonce(&c, z, 8, 3, g, &r), SL_ERR_ARG, "tau");
    sl_loss_config_default(&c, SL_OBJ_CLIP);
    c.log_scale = NAN;
    ASSERT_FAILS(sl_loss_clip(&c, z, z, 8, 3, g, g, &r), SL_ERR_ARG, "log_scale");
    sl_loss_config_default(&c, SL_OBJ_CLIP);
    c.log_scale_min = 5;
    c.log_scale_max = 1;
    ASSERT_FAILS(sl_loss_clip(&c, z, z, 8, 3, g, g, &r), SL_ERR_ARG, "min <= max");
    sl_loss_config_default(&c, SL_OBJ_TRIPLET);
    c.margin = INFINITY;
    ASSERT_FAILS(sl_loss_triplet_hard(&c, z, lab, 8, 3, g, &r), SL_ERR_ARG, "margin");
    sl_loss_config_default(&c, SL_OBJ_INFONCE);
    c.eps = 0;
    ASSERT_FAILS(sl_loss_infonce(&c, z, 8, 3, g, &r), SL_ERR_ARG, "eps");
    sl_loss_config_default(&c, SL_OBJ_SOFTMAX);
    lab[3] = 2;
    ASSERT_FAILS(sl_loss_softmax(&c, z, z, lab, 8, 2, 3, g, g, &r), SL_ERR_RANGE, "label 2 of row 3");
    lab[3] = -1;
    ASSERT_FAILS(sl_loss_softmax(&c, z, z, lab, 8, 2, 3, g, g, &r), SL_ERR_RANGE, "label -1 of row 3");
    c.sim = (sl_similarity)9;
    ASSERT_FAILS(sl_loss_softmax(&c, z, z, lab, 8, 2, 3, g, g, &r), SL_ERR_ARG, "similarity 9");
    /* The dispatcher names what the batch lacks. */
    sl_loss_batch b = {.n = 8, .d = 3, .a = z};
    sl_loss_config_default(&c, SL_OBJ_SUPCON);
    ASSERT_FAILS(sl_loss_compute(&c, &b, &r), SL_ERR_ARG, "supcon loss: the batch has no labels");
    sl_loss_config_default(&c, SL_OBJ_CLIP);
    ASSERT_FAILS(sl_loss_compute(&c, &b, &r), SL_ERR_ARG, "text embeddings");
    sl_loss_config_default(&c, SL_OBJ_AUTOENCODER);
    ASSERT_FAILS(sl_loss_compute(&c, &b, &r), SL_ERR_ARG, "reconstruction target");
    c.objective = (sl_objective)42;
    ASSERT_FAILS(sl_loss_compute(&c, &b, &r), SL_ERR_ARG, "objective 42");
    /* Nothing was written on failure. */
    ASSERT_TRUE(memcmp(&r, &before, sizeof r) == 0);
    for (int k = 0; k < 24; k++) ASSERT_TRUE(g[k] == 0.0f);
}

TEST(workspace_reuse_is_bit_identical_and_stops_growing) {
    int32_t lab2[64];
    float a[64 * 16], b[64 * 16];
    sl_rng rng;
    sl_rng_seed(&rng, 4, 0);
    for (int k = 0; k < 64 * 16; k++) {
        a[k] = (float)sl_rng_normal(&rng);
        b[k] = (float)sl_rng_normal(&rng);
    }
    for (int i = 0; i < 64; i++) lab2[i] = i % 7;
    sl_loss_workspace *ws;
    ASSERT_OK(sl_loss_workspace_create(&ws));
    ASSERT_EQ_SIZE(sl_loss_workspace_bytes(ws), 0);
    for (int obj = 0; obj < SL_OBJ_COUNT; obj++) {
        sl_loss_config c;
        sl_loss_config_default(&c, (sl_objective)obj);
        bool queue = obj == SL_OBJ_MOCO || obj == SL_OBJ_MEMORY_BANK;
        size_t nb = obj == SL_OBJ_SOFTMAX ? 7 : queue ? 32 : 64;
        float g1[1024] = {0}, g2[1024] = {0}, h1[1024] = {0}, h2[1024] = {0};
        sl_loss_batch bt = {.n = queue ? 32 : 64, .d = 16, .a = a, .b = b, .nb = nb, .labels = lab2, .grad_a = g1, .grad_b = h1};
        sl_loss_result r1, r2;
        ASSERT_OK(sl_loss_compute(&c, &bt, &r1));
        bt.ws = ws;
        bt.grad_a = g2;
        bt.grad_b = h2;
        for (int rep = 0; rep < 3; rep++) {
            memset(g2, 0, sizeof g2);
            memset(h2, 0, sizeof h2);
            size_t before = sl_loss_workspace_bytes(ws);
            ASSERT_OK(sl_loss_compute(&c, &bt, &r2));
            /* After the first call of a shape the workspace holds enough. */
            if (rep == 2) ASSERT_EQ_SIZE(sl_loss_workspace_bytes(ws), before);
            ASSERT_TRUE(memcmp(&r1, &r2, sizeof r1) == 0);
            ASSERT_TRUE(memcmp(g1, g2, sizeof g1) == 0 && memcmp(h1, h2, sizeof h1) == 0);
        }
    }
    ASSERT_TRUE(sl_loss_workspace_bytes(ws) > 0);
    sl_loss_workspace_destroy(ws);
    sl_loss_workspace_destroy(NULL);
}

TEST(supcon_with_item_labels_equals_infonce) {
    /* Two views per item, the item as label: each anchor's only positive is
     * its twin, so the two objectives are the same function. */
    float z[12 * 5];
    int32_t lab[12];
    sl_rng rng;
    sl_rng_seed(&rng, 6, 0);
    for (int k = 0; k < 60; k++) z[k] = (float)sl_rng_normal(&rng);
    for (int i = 0; i < 12; i++) lab[i] = i % 6;
    for (int sim = 0; sim < SL_SIM_COUNT; sim++) {
        sl_loss_config c;
        sl_loss_config_default(&c, SL_OBJ_INFONCE);
        c.sim = (sl_similarity)sim;
        c.tau = 0.7;
        c.exact = true;
        float g1[60] = {0}, g2[60] = {0};
        sl_loss_result r1, r2;
        ASSERT_OK(sl_loss_infonce(&c, z, 12, 5, g1, &r1));
        ASSERT_OK(sl_loss_supcon(&c, z, lab, 12, 5, g2, &r2));
        ASSERT_CLOSE(r1.loss, r2.loss, 1e-12, 0);
        ASSERT_NEAR(r1.accuracy, r2.accuracy, 0);
        for (int k = 0; k < 60; k++) ASSERT_NEAR(g1[k], g2[k], 1e-6 * fabs(g1[k]) + 1e-12);
    }
}

/* An allocator that fails from the k-th allocation on. */
typedef struct {
    long left;
} t_budget;
static void *t_malloc(size_t n, void *ctx) {
    t_budget *b = ctx;
    if (b->left-- <= 0) return NULL;
    return malloc(n);
}
static void *t_realloc(void *p, size_t n, void *ctx) {
    t_budget *b = ctx;
    if (b->left-- <= 0) return NULL;
    return realloc(p, n);
}
static void t_free(void *p, void *ctx) {
    (void)ctx;
    free(p);
}

TEST(out_of_memory_fails_cleanly_everywhere) {
    static t_budget budget;
    sl_allocator al = {t_malloc, t_realloc, t_free, &budget};
    sl_allocator_set(&al);
    int32_t lab[40];
    float a[40 * 8], b[40 * 8];
    sl_rng rng;
    sl_rng_seed(&rng, 12, 0);
    for (int k = 0; k < 320; k++) {
        a[k] = (float)sl_rng_normal(&rng);
        b[k] = (float)sl_rng_normal(&rng);
    }
    for (int i = 0; i < 40; i++) lab[i] = i % 5;
    for (int obj = 0; obj < SL_OBJ_COUNT; obj++)
        for (int use_ws = 0; use_ws < 2; use_ws++) {
            sl_loss_config c;
            sl_loss_config_default(&c, (sl_objective)obj);
            int ok = 0;
            for (long limit = 0; limit < 64 && !ok; limit++) {
                budget.left = 1 << 30;
                sl_loss_workspace *ws = NULL;
                if (use_ws) ASSERT_OK(sl_loss_workspace_create(&ws));
                budget.left = limit;
                float ga[320] = {0}, gb[320] = {0};
                bool queue = obj == SL_OBJ_MOCO || obj == SL_OBJ_MEMORY_BANK;
                sl_loss_batch bt = {.n = queue ? 20 : 40, .d = 8, .a = a, .b = b,
                                    .nb = obj == SL_OBJ_SOFTMAX ? 5 : queue ? 20 : 40,
                                    .labels = lab, .grad_a = ga, .grad_b = gb, .ws = ws};
                sl_loss_result r;
                memset(&r, 0x11, sizeof r);
                sl_loss_result before = r;
                sl_status st = sl_loss_compute(&c, &bt, &r);
                if (st == SL_OK) {
                    ok = 1;
                    ASSERT_TRUE(isfinite(r.loss));
                } else {
                    ASSERT_EQ_INT(st, SL_ERR_NOMEM);
                    ASSERT_TRUE(strlen(sl_error_message()) > 0);
                    ASSERT_TRUE(memcmp(&r, &before, sizeof r) == 0);
                }
                sl_loss_workspace_destroy(ws);
            }
            if (!ok) T_FAIL("%s never succeeded within 64 allocations", sl_loss_objective_name(c.objective));
        }
    sl_allocator_set(NULL);
}

/* Central-difference gradient checks of every loss x every similarity, in
 * double precision (exact mode), with respect to the embeddings, the second
 * matrix (CLIP texts, softmax class embeddings) and the learnable log-scale. */
#include "test.h"

typedef struct {
    sl_loss_config cfg;
    sl_loss_batch b;
} setup;

static double eval(setup *s) {
    sl_loss_batch b = s->b;
    b.grad_a = b.grad_b = NULL;
    sl_loss_result r;
    ASSERT_OK(sl_loss_compute(&s->cfg, &b, &r));
    return r.loss;
}

/* Compares the analytic gradient of every entry of x (n entries) with central
 * differences. Hinge losses have kinks: an entry whose one-sided slopes differ
 * by more than smooth curvature explains is skipped, and at most a tenth of
 * them may be. */
static void check_vec(setup *s, float *x, size_t n, const float *g, bool kinks, const char *what) {
    const double h = 1.0 / 16384;
    size_t skipped = 0;
    double f0 = eval(s);
    for (size_t k = 0; k < n; k++) {
        float x0 = x[k];
        x[k] = (float)(x0 + h);
        float xp = x[k];
        double fp = eval(s);
        x[k] = (float)(x0 - h);
        float xm = x[k];
        double fm = eval(s);
        x[k] = x0;
        if (kinks && fabs(fp - 2 * f0 + fm) / h > 2e-3) {
            skipped++;
            continue;
        }
        double fd = (fp - fm) / ((double)xp - (double)xm);
        double tol = 2e-5 * (fabs(fd) > fabs(g[k]) ? fabs(fd) : fabs(g[k])) + 2e-7;
        if (!(fabs(fd - g[k]) <= tol))
            T_FAIL("%s %s/%s: d/d%s[%zu]: analytic %.9g, central difference %.9g", sl_loss_objective_name(s->cfg.objective),
                   sl_loss_sim_name(s->cfg.sim), s->cfg.learnable_tau ? "learnable" : "fixed", what, k, (double)g[k], fd);
    }
    if (skipped * 10 > n) T_FAIL("%s: %zu of %zu entries sit on kinks", what, skipped, n);
}

static void check_log_scale(setup *s, double analytic) {
    const double h = 1e-5;
    double l0 = s->cfg.log_scale;
    s->cfg.log_scale = l0 + h;
    double fp = eval(s);
    s->cfg.log_scale = l0 - h;
    double fm = eval(s);
    s->cfg.log_scale = l0;
    double fd = (fp - fm) / (2 * h);
    if (!(fabs(fd - analytic) <= 1e-6 * fabs(fd) + 1e-8))
        T_FAIL("%s/%s: d/dlog_scale analytic %.12g, central difference %.12g", sl_loss_objective_name(s->cfg.objective),
               sl_loss_sim_name(s->cfg.sim), analytic, fd);
    ASSERT_TRUE(analytic != 0);
}

static void fill(float *x, size_t n, sl_rng *r, double sd) {
    for (size_t k = 0; k < n; k++) x[k] = (float)(sd * sl_rng_normal(r));
}

/* One objective, every similarity, fixed and (where it has one) learnable
 * temperature. */
static void check_objective(sl_objective obj) {
    static const int32_t lab[10] = {0, 1, 2, 0, 1, 2, 0, 1, 3, 2};
    bool queue = obj == SL_OBJ_MOCO || obj == SL_OBJ_MEMORY_BANK;
    bool has_tau = obj == SL_OBJ_INFONCE || obj == SL_OBJ_SUPCON || obj == SL_OBJ_TRIPLET_SMOOTH ||
                   obj == SL_OBJ_CLIP || obj == SL_OBJ_SOFTMAX || queue;
    /* Targets, keys and negatives get no gradient. */
    bool grad_b = obj == SL_OBJ_CLIP || obj == SL_OBJ_SOFTMAX;
    bool kinks = obj == SL_OBJ_TRIPLET || obj == SL_OBJ_TRIPLET_HARD;
    for (int sim = 0; sim < SL_SIM_COUNT; sim++)
        for (int learn = 0; learn <= (has_tau ? 1 : 0); learn++) {
            size_t n = 10, d = 6, nb = 0;
            if (obj == SL_OBJ_CLIP || obj == SL_OBJ_AUTOENCODER || obj == SL_OBJ_MAE || obj == SL_OBJ_SIMSIAM ||
                obj == SL_OBJ_BYOL)
                nb = n;
            if (obj == SL_OBJ_SOFTMAX) nb = 4;
            if (queue) n = 5, nb = 5; /* b: 5 keys, then 5 negatives */
            float a[60], bm[60], ga[60] = {0}, gb[60] = {0};
            sl_rng r;
            sl_rng_seed(&r, 1234, (uint64_t)(obj * 10 + sim * 2 + learn));
            double sd = sim == SL_SIM_COSINE ? 1.0 : 0.4;
            fill(a, n * d, &r, sd);
            fill(bm, (queue ? n + nb : nb) * d, &r, sd);
            setup s;
            sl_loss_config_default(&s.cfg, obj);
            s.cfg.sim = (sl_similarity)sim;
            s.cfg.exact = true;
            s.cfg.tau = 0.4;
            s.cfg.margin = obj == SL_OBJ_TRIPLET_SMOOTH ? 0.1 : 0.3;
            s.cfg.learnable_tau = learn;
            s.cfg.log_scale = log(2.7);
            s.b = (sl_loss_batch){.n = n, .d = d, .a = a, .b = nb ? bm : NULL, .nb = nb, .labels = lab,
                                  .grad_a = ga, .grad_b = nb ? gb : NULL};
            sl_loss_result res;
            ASSERT_OK(sl_loss_compute(&s.cfg, &s.b, &res));
            ASSERT_TRUE(isfinite(res.loss) && (res.loss > 0 || obj == SL_OBJ_SIMSIAM));
            ASSERT_TRUE(res.n_terms > 0);
            check_vec(&s, a, n * d, ga, kinks, "a");
            if (grad_b) check_vec(&s, bm, nb * d, gb, kinks, "b");
            if (learn) check_log_scale(&s, res.dlog_scale);
        }
}

TEST(grad_infonce) { check_objective(SL_OBJ_INFONCE); }
TEST(grad_supcon) { check_objective(SL_OBJ_SUPCON); }
TEST(grad_triplet) { check_objective(SL_OBJ_TRIPLET); }
TEST(grad_triplet_hard) { check_objective(SL_OBJ_TRIPLET_HARD); }
TEST(grad_triplet_smooth) { check_objective(SL_OBJ_TRIPLET_SMOOTH); }
TEST(grad_clip) { check_objective(SL_OBJ_CLIP); }
TEST(grad_autoencoder) { check_objective(SL_OBJ_AUTOENCODER); }
TEST(grad_softmax) { check_objective(SL_OBJ_SOFTMAX); }
TEST(grad_barlow) { check_objective(SL_OBJ_BARLOW); }
TEST(grad_simsiam) { check_objective(SL_OBJ_SIMSIAM); }
TEST(grad_byol) { check_objective(SL_OBJ_BYOL); }
TEST(grad_moco) { check_objective(SL_OBJ_MOCO); }
TEST(grad_memory_bank) { check_objective(SL_OBJ_MEMORY_BANK); }
TEST(grad_vicreg) { check_objective(SL_OBJ_VICREG); }

/* Each term of VICReg alone and Barlow Twins with a large off-diagonal
 * weight, on batches whose columns have standard deviations on both sides
 * of 1 (VICReg's variance hinge), with fewer and more columns than items. */
TEST(grad_barlow_vicreg_terms) {
    static const double coefs[5][4] = {{0.5, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}, {0, 2, 3, 0.5}};
    static const size_t dims[2] = {3, 7};
    for (int o = 0; o < 2; o++)
        for (int k = o ? 1 : 0; k < (o ? 5 : 1); k++)
            for (int w = 0; w < 2; w++) {
                size_t n = 10, d = dims[w];
                float a[70], ga[70] = {0};
                sl_rng r;
                sl_rng_seed(&r, 99, (uint64_t)(o * 100 + k * 10 + w));
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < d; j++) a[i * d + j] = (float)((0.4 + 0.3 * (double)j) * sl_rng_normal(&r));
                setup s;
                sl_loss_config_default(&s.cfg, o ? SL_OBJ_VICREG : SL_OBJ_BARLOW);
                s.cfg.exact = true;
                s.cfg.barlow_lambda = coefs[k][0];
                s.cfg.vicreg_inv = coefs[k][1], s.cfg.vicreg_var = coefs[k][2], s.cfg.vicreg_cov = coefs[k][3];
                s.b = (sl_loss_batch){.n = n, .d = d, .a = a, .grad_a = ga};
                sl_loss_result res;
                ASSERT_OK(sl_loss_compute(&s.cfg, &s.b, &res));
                ASSERT_TRUE(res.loss > 0);
                double g2 = 0;
                for (size_t q = 0; q < n * d; q++) g2 += (double)ga[q] * ga[q];
                ASSERT_TRUE(g2 > 0);
                check_vec(&s, a, n * d, ga, false, "a");
            }
}

/* Cosine below eps: the norm is clamped, the map is x / eps, and the check
 * must still hold (a zero-ish row among ordinary ones). */
TEST(grad_cosine_tiny_vector) {
    float a[48], ga[48] = {0};
    sl_rng r;
    sl_rng_seed(&r, 5, 0);
    fill(a, 48, &r, 1.0);
    for (int k = 0; k < 6; k++) a[6 + k] = (float)(1e-10 * (k + 1));
    setup s;
    sl_loss_config_default(&s.cfg, SL_OBJ_INFONCE);
    s.cfg.exact = true;
    s.cfg.eps = 1e-6; /* so the row sits below it */
    s.b = (sl_loss_batch){.n = 8, .d = 6, .a = a, .grad_a = ga};
    sl_loss_result res;
    ASSERT_OK(sl_loss_compute(&s.cfg, &s.b, &res));
    /* Rows other than the tiny one: the ordinary check. */
    check_vec(&s, a + 12, 36, ga + 12, false, "a");
    for (int k = 0; k < 48; k++) ASSERT_TRUE(isfinite(ga[k]));
    /* The tiny row (norm 9.5e-10): central differences with steps of 1e-12,
     * which keep it far below eps, where the map is x / eps. */
    for (int k = 6; k < 12; k++) {
        float x0 = a[k];
        a[k] = x0 + 1e-12f;
        float xp = a[k];
        double fp = eval(&s);
        a[k] = x0 - 1e-12f;
        float xm = a[k];
        double fm = eval(&s);
        a[k] = x0;
        double fd = (fp - fm) / ((double)xp - (double)xm);
        if (!(fabs(fd - ga[k]) <= 1e-5 * fabs(fd) + 1e-3))
            T_FAIL("tiny row, d/da[%d]: analytic %.9g, central difference %.9g", k, (double)ga[k], fd);
        ASSERT_TRUE(fabs(fd) > 1.0); /* about 1/eps times an ordinary gradient: the check is not vacuous */
    }
}

/* The fast (float sl_gemm) path gives the same gradients as the exact one to
 * float precision. */
TEST(fast_path_matches_exact) {
    static const int32_t lab[16] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 4, 4, 5, 0};
    float a[16 * 8], bm[16 * 8];
    sl_rng r;
    sl_rng_seed(&r, 77, 0);
    fill(a, 128, &r, 1.0);
    fill(bm, 128, &r, 1.0);
    for (int obj = 0; obj < SL_OBJ_COUNT; obj++)
        for (int sim = 0; sim < SL_SIM_COUNT; sim++) {
            float g1[128] = {0}, g2[128] = {0}, h1[128] = {0}, h2[128] = {0};
            sl_loss_config c;
            sl_loss_config_default(&c, (sl_objective)obj);
            c.sim = (sl_similarity)sim;
            if (sim != SL_SIM_COSINE && c.learnable_tau) c.log_scale = 0.0;
            if (sim != SL_SIM_COSINE) c.tau = 2.0;
            /* The queue objectives: 8 queries, their 8 keys and 8 negatives in b's 16 rows. */
            bool queue = obj == SL_OBJ_MOCO || obj == SL_OBJ_MEMORY_BANK;
            size_t nb = obj == SL_OBJ_SOFTMAX ? 6 : queue ? 8 : 16;
            sl_loss_batch b = {.n = queue ? 8 : 16, .d = 8, .a = a, .b = bm, .nb = nb, .labels = lab, .grad_a = g1,
                               .grad_b = h1};
            sl_loss_result r1, r2;
            ASSERT_OK(sl_loss_compute(&c, &b, &r1));
            c.exact = true;
            b.grad_a = g2;
            b.grad_b = h2;
            ASSERT_OK(sl_loss_compute(&c, &b, &r2));
            ASSERT_CLOSE(r1.loss, r2.loss, 1e-5, 1e-7);
            ASSERT_CLOSE(r1.dlog_scale, r2.dlog_scale, 1e-4, 1e-6);
            double m = 0;
            for (int k = 0; k < 128; k++) m = fmax(m, fmax(fabs(g2[k]), fabs(h2[k])));
            for (int k = 0; k < 128; k++) {
                ASSERT_NEAR(g1[k], g2[k], 1e-4 * m + 1e-7);
                ASSERT_NEAR(h1[k], h2[k], 1e-4 * m + 1e-7);
            }
        }
}

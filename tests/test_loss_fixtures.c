/* The loss module against PyTorch: tests/fixtures/loss_ref.txt holds fixed
 * inputs with the loss, gradients and d loss / d log-scale that autograd
 * computed in float64 (tests/fixtures/make_loss_fixtures.py). */
#include "test.h"

#define FIXTURE "tests/fixtures/loss_ref.txt"

typedef struct {
    char name[64], obj[32], sim[16];
    size_t n, nb, d;
    double tau, log_scale, margin;
    int learnable;
    float *a, *b;
    int32_t *labels;
    double loss, dlog;
    double coef[4]; /* barlow, vicreg: lambda, vicreg_inv, vicreg_var, vicreg_cov */
    double *ga, *gb;
} fcase;

static void read_floats(FILE *f, const char *tag, size_t count, float *fv, double *dv, int32_t *iv) {
    char word[64];
    if (fscanf(f, "%63s", word) != 1 || strcmp(word, tag) != 0) T_FAIL("%s: expected '%s', got '%s'", FIXTURE, tag, word);
    for (size_t k = 0; k < count; k++) {
        double v;
        if (fscanf(f, "%lf", &v) != 1) T_FAIL("%s: '%s' has fewer than %zu values", FIXTURE, tag, count);
        if (fv) fv[k] = (float)v;
        if (dv) dv[k] = v;
        if (iv) iv[k] = (int32_t)v;
    }
}

/* Reads the next case; returns 0 at the end of the file. */
static int read_case(FILE *f, fcase *c) {
    char word[64];
    int ch;
    while ((ch = fgetc(f)) == '#' || ch == '\n')
        if (ch == '#')
            while ((ch = fgetc(f)) != '\n' && ch != EOF) {
            }
    if (ch == EOF) return 0;
    ungetc(ch, f);
    memset(c, 0, sizeof *c);
    if (fscanf(f, "%63s %63s %31s %15s %zu %zu %zu %lf %d %lf %lf", word, c->name, c->obj, c->sim, &c->n, &c->nb,
               &c->d, &c->tau, &c->learnable, &c->log_scale, &c->margin) != 11 ||
        strcmp(word, "case") != 0)
        T_FAIL("%s: malformed case header near '%s'", FIXTURE, word);
    c->a = calloc(c->n * c->d, sizeof(float));
    c->ga = calloc(c->n * c->d, sizeof(double));
    c->b = calloc(c->nb * c->d + 1, sizeof(float));
    c->gb = calloc(c->nb * c->d + 1, sizeof(double));
    c->labels = calloc(c->n, sizeof(int32_t));
    read_floats(f, "a", c->n * c->d, c->a, NULL, NULL);
    if (c->nb) read_floats(f, "b", c->nb * c->d, c->b, NULL, NULL);
    bool has_labels = strcmp(c->obj, "supcon") == 0 || strncmp(c->obj, "triplet", 7) == 0 ||
                      strcmp(c->obj, "softmax") == 0;
    if (has_labels) read_floats(f, "labels", c->n, NULL, NULL, c->labels);
    if (strcmp(c->obj, "barlow") == 0 || strcmp(c->obj, "vicreg") == 0) read_floats(f, "coef", 4, NULL, c->coef, NULL);
    read_floats(f, "loss", 1, NULL, &c->loss, NULL);
    read_floats(f, "grad_a", c->n * c->d, NULL, c->ga, NULL);
    if (c->nb) read_floats(f, "grad_b", c->nb * c->d, NULL, c->gb, NULL);
    read_floats(f, "dlog_scale", 1, NULL, &c->dlog, NULL);
    if (fscanf(f, "%63s", word) != 1 || strcmp(word, "end") != 0) T_FAIL("%s: case %s lacks 'end'", FIXTURE, c->name);
    return 1;
}

static void free_case(fcase *c) {
    free(c->a);
    free(c->b);
    free(c->ga);
    free(c->gb);
    free(c->labels);
}

static double max_abs(const double *v, size_t n) {
    double m = 0;
    for (size_t k = 0; k < n; k++) m = fabs(v[k]) > m ? fabs(v[k]) : m;
    return m;
}

/* Runs every case in the given precision mode. rtol bounds the loss (relative)
 * and the gradients relative to the largest entry of their matrix; erel
 * bounds each gradient entry relative to itself (the float32 rounding of the
 * output when the products are exact). */
static void check_all(bool exact, double rtol, double erel) {
    FILE *f = fopen(FIXTURE, "r");
    if (!f) T_FAIL("cannot open %s (run the tests from the repository root)", FIXTURE);
    fcase c;
    int cases = 0;
    while (read_case(f, &c)) {
        sl_objective obj;
        sl_similarity sim;
        ASSERT_OK(sl_loss_objective_parse(c.obj, &obj));
        ASSERT_OK(sl_loss_sim_parse(c.sim, &sim));
        sl_loss_config cfg;
        sl_loss_config_default(&cfg, obj);
        cfg.sim = sim;
        cfg.tau = c.tau;
        cfg.learnable_tau = c.learnable != 0;
        cfg.log_scale = c.log_scale;
        cfg.margin = c.margin;
        cfg.exact = exact;
        if (obj == SL_OBJ_BARLOW || obj == SL_OBJ_VICREG) {
            cfg.barlow_lambda = c.coef[0];
            cfg.vicreg_inv = c.coef[1], cfg.vicreg_var = c.coef[2], cfg.vicreg_cov = c.coef[3];
        }
        float *ga = calloc(c.n * c.d, sizeof(float)), *gb = calloc(c.nb * c.d + 1, sizeof(float));
        /* The queue objectives' b holds the n keys, then nb - n negatives. */
        size_t nneg = obj == SL_OBJ_MOCO || obj == SL_OBJ_MEMORY_BANK ? c.nb - c.n : c.nb;
        sl_loss_batch b = {.n = c.n, .d = c.d, .a = c.a, .b = c.nb ? c.b : NULL, .nb = nneg,
                           .labels = c.labels, .grad_a = ga, .grad_b = c.nb ? gb : NULL};
        sl_loss_result r;
        ASSERT_OK(sl_loss_compute(&cfg, &b, &r));
        fprintf(stderr, "%-28s loss %.12g vs torch %.12g\n", c.name, r.loss, c.loss);
        if (!(fabs(r.loss - c.loss) <= rtol * fabs(c.loss) + 1e-12))
            T_FAIL("case %s: loss %.12g, torch %.12g", c.name, r.loss, c.loss);
        double sa = max_abs(c.ga, c.n * c.d), sb = max_abs(c.gb, c.nb * c.d);
        for (size_t k = 0; k < c.n * c.d; k++)
            if (!(fabs(ga[k] - c.ga[k]) <= rtol * sa + erel * fabs(c.ga[k])))
                T_FAIL("case %s: grad_a[%zu] %.9g, torch %.9g", c.name, k, (double)ga[k], c.ga[k]);
        if (strcmp(c.obj, "autoencoder") != 0)
            for (size_t k = 0; k < c.nb * c.d; k++)
                if (!(fabs(gb[k] - c.gb[k]) <= rtol * sb + erel * fabs(c.gb[k])))
                    T_FAIL("case %s: grad_b[%zu] %.9g, torch %.9g", c.name, k, (double)gb[k], c.gb[k]);
        if (!(fabs(r.dlog_scale - c.dlog) <= rtol * (fabs(c.dlog) + 1) ))
            T_FAIL("case %s: dlog_scale %.12g, torch %.12g", c.name, r.dlog_scale, c.dlog);
        free(ga);
        free(gb);
        free_case(&c);
        cases++;
    }
    fclose(f);
    ASSERT_EQ_INT(cases, 46);
}

/* Double-precision products: agreement to double rounding, far below 1e-5. */
TEST(fixtures_match_torch_exact) { check_all(true, 1e-10, 1.2e-7); }

/* The float32 sl_gemm path, as training runs it: the 1e-5 relative tolerance the fixtures promise. */
TEST(fixtures_match_torch_fast) { check_all(false, 1e-5, 0); }

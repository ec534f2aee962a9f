/* Tests of the geometry diagnostics: effective rank and spectrum, norms,
 * anisotropy, alignment and uniformity, class diameter and margin, and the
 * geometry and transform commands. */
#include "test.h"

static float *randn(size_t n, size_t d, uint64_t seed) {
    float *x = malloc(n * d * sizeof *x);
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n * d; i++) x[i] = (float)sl_rng_normal(&r);
    return x;
}

TEST(effective_rank_of_simple_spectra) {
    double flat[4] = {2, 2, 2, 2}, one[3] = {5, 0, 0}, zero[2] = {0, 0}, neg[3] = {1, 1, -1e-12};
    ASSERT_NEAR(sl_geom_effective_rank(flat, 4), 4, 1e-12);
    ASSERT_NEAR(sl_geom_effective_rank(one, 3), 1, 1e-12);
    ASSERT_NEAR(sl_geom_effective_rank(zero, 2), 0, 0);
    ASSERT_NEAR(sl_geom_effective_rank(neg, 3), 2, 1e-12);
}

TEST(spectrum_of_scaled_gaussian) {
    size_t n = 20000, d = 4;
    float *x = randn(n, d, 1);
    double sd[4] = {3, 2, 1, 0.5};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) x[i * d + j] = (float)(x[i * d + j] * sd[j] + 7);
    double eig[4], er;
    ASSERT_OK(sl_geom_spectrum(x, n, d, eig, &er));
    for (int j = 0; j < 4; j++) ASSERT_CLOSE(eig[j], sd[j] * sd[j], 0.05, 0);
    ASSERT_NEAR(er, sl_geom_effective_rank(eig, 4), 1e-12);
    ASSERT_TRUE(er > 2 && er < 3.5);
    free(x);
}

TEST(norm_statistics) {
    float x[8] = {3, 4, 0, 0, 0, 5, 6, 8}; /* norms 5, 0, 5, 10 */
    sl_geom_norms s;
    ASSERT_OK(sl_geom_norm_stats(x, 4, 2, &s));
    ASSERT_NEAR(s.mean, 5, 1e-12);
    ASSERT_NEAR(s.median, 5, 1e-12);
    ASSERT_NEAR(s.min, 0, 0);
    ASSERT_NEAR(s.max, 10, 1e-12);
    ASSERT_NEAR(s.std, sqrt(12.5), 1e-12);
    ASSERT_EQ_SIZE(s.zero, 1);
    ASSERT_FAILS(sl_geom_norm_stats(x, 0, 2, &s), SL_ERR_ARG, "empty");
}

TEST(anisotropy_of_a_cone_and_of_a_sphere) {
    size_t n = 2000, d = 16;
    float *x = randn(n, d, 2);
    sl_geom_aniso a;
    ASSERT_OK(sl_geom_anisotropy(x, n, d, 20000, 1, &a));
    ASSERT_NEAR(a.mean_cos, 0, 0.01);
    ASSERT_NEAR(a.std_cos, 0.25, 0.02); /* 1/sqrt(d) */
    ASSERT_EQ_SIZE(a.pairs, 20000);
    /* Shift everything far along one axis: a narrow cone. */
    for (size_t i = 0; i < n; i++) x[i * d] += 20;
    ASSERT_OK(sl_geom_anisotropy(x, n, d, 20000, 1, &a));
    ASSERT_TRUE(a.mean_cos > 0.9);
    ASSERT_TRUE(a.mean_cos_to_mean > 0.95);
    float z[4] = {0, 0, 1, 0};
    ASSERT_FAILS(sl_geom_anisotropy(z, 2, 2, 10, 1, &a), SL_ERR_ARG, "nonzero norm");
    free(x);
}

/* Uniformity over all pairs, naively in double. */
static double naive_uniformity(const float *x, size_t n, size_t d, double t) {
    double s = 0, cnt = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double ni = 0, nj = 0, dd = 0;
            for (size_t k = 0; k < d; k++) ni += (double)x[i * d + k] * x[i * d + k], nj += (double)x[j * d + k] * x[j * d + k];
            for (size_t k = 0; k < d; k++) {
                double v = x[i * d + k] / sqrt(ni) - x[j * d + k] / sqrt(nj);
                dd += v * v;
            }
            s += exp(-t * dd), cnt++;
        }
    return log(s / cnt);
}

TEST(align_uniform_matches_naive_definitions) {
    size_t n = 300, d = 8; /* more than one Gram block */
    float *a = randn(n, d, 3), *b = randn(n, d, 4);
    for (size_t i = 0; i < n * d; i++) b[i] = a[i] + 0.3f * b[i];
    double al, un;
    ASSERT_OK(sl_geom_align_uniform(a, b, n, d, 2.0, &al, &un));
    double al2 = 0;
    for (size_t i = 0; i < n; i++) {
        double na = 0, nb = 0, dd = 0;
        for (size_t k = 0; k < d; k++) na += (double)a[i * d + k] * a[i * d + k], nb += (double)b[i * d + k] * b[i * d + k];
        for (size_t k = 0; k < d; k++) {
            double v = a[i * d + k] / sqrt(na) - b[i * d + k] / sqrt(nb);
            dd += v * v;
        }
        al2 += dd;
    }
    ASSERT_NEAR(al, al2 / n, 1e-6);
    double ua = naive_uniformity(a, n, d, 2.0), ub = naive_uniformity(b, n, d, 2.0);
    ASSERT_NEAR(un, 0.5 * (ua + ub), 1e-5);
    /* Identical views: perfect alignment. Two antipodal points: log exp(-2*4). */
    ASSERT_OK(sl_geom_align_uniform(a, a, n, d, 2.0, &al, &un));
    ASSERT_NEAR(al, 0, 1e-12);
    float pm[4] = {1, 0, -3, 0};
    ASSERT_OK(sl_geom_align_uniform(pm, pm, 2, 2, 2.0, &al, &un));
    ASSERT_NEAR(un, -8, 1e-6);
    ASSERT_FAILS(sl_geom_align_uniform(a, b, 1, d, 2.0, &al, &un), SL_ERR_ARG, "at least 2 rows");
    /* Sampled uniformity approaches the exact value. */
    double us, ue;
    size_t used;
    ASSERT_OK(sl_geom_uniformity(a, n, d, 2.0, 1000000, 1, &ue, &used));
    ASSERT_EQ_SIZE(used, n * (n - 1) / 2);
    ASSERT_NEAR(ue, ua, 1e-5);
    ASSERT_OK(sl_geom_uniformity(a, n, d, 2.0, 20000, 1, &us, &used));
    ASSERT_EQ_SIZE(used, 20000);
    ASSERT_NEAR(us, ua, 0.03);
    free(a), free(b);
}

TEST(alignment_from_pairs_and_labels) {
    float x[8] = {1, 0, 2, 0, 0, 1, 0, -5}; /* unit: e1, e1, e2, -e2 */
    int64_t pairs[4] = {0, 1, 2, 3}, lab[4] = {7, 7, 9, 9};
    double al;
    ASSERT_OK(sl_geom_alignment_pairs(x, 4, 2, pairs, 2, &al));
    ASSERT_NEAR(al, (0 + 4) / 2.0, 1e-12);
    size_t used;
    ASSERT_OK(sl_geom_alignment_labels(x, 4, 2, lab, 100, 1, &al, &used));
    ASSERT_EQ_SIZE(used, 2);
    ASSERT_NEAR(al, 2.0, 1e-12);
    /* Sampled: every same-label pair has the same weight here. */
    ASSERT_OK(sl_geom_alignment_labels(x, 4, 2, lab, 1, 1, &al, &used));
    ASSERT_EQ_SIZE(used, 1);
    pairs[3] = 4;
    ASSERT_FAILS(sl_geom_alignment_pairs(x, 4, 2, pairs, 2, &al), SL_ERR_RANGE, "row 4");
    int64_t uniq[4] = {1, 2, 3, 4};
    ASSERT_FAILS(sl_geom_alignment_labels(x, 4, 2, uniq, 100, 1, &al, &used), SL_ERR_ARG, "no label occurs twice");
}

TEST(class_geometry_matches_brute_force) {
    size_t n = 400, d = 5;
    float *x = randn(n, d, 5);
    int64_t *lab = malloc(n * sizeof *lab);
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int64_t)(i % 3) * 10;
        x[i * d] += 2.0f * (float)(i % 3);
    }
    sl_geom_class *c;
    size_t k;
    ASSERT_OK(sl_geom_class_geometry(x, n, d, lab, &c, &k));
    ASSERT_EQ_SIZE(k, 3);
    for (size_t ci = 0; ci < k; ci++) {
        double diam = 0, marg = INFINITY;
        for (size_t i = 0; i < n; i++) {
            if (lab[i] != c[ci].label) continue;
            for (size_t j = 0; j < n; j++) {
                if (j == i) continue;
                double dd = 0;
                for (size_t t = 0; t < d; t++) dd += ((double)x[i * d + t] - x[j * d + t]) * ((double)x[i * d + t] - x[j * d + t]);
                dd = sqrt(dd);
                if (lab[j] == lab[i])
                    diam = fmax(diam, dd);
                else
                    marg = fmin(marg, dd);
            }
        }
        ASSERT_NEAR(c[ci].diameter, diam, 1e-4);
        ASSERT_NEAR(c[ci].margin, marg, 1e-4);
        ASSERT_EQ_SIZE(c[ci].count, n / 3 + (ci < n % 3));
        ASSERT_TRUE(!c[ci].separated);
    }
    sl_allocator_free(c);
    /* Two tight clusters far apart are separated. */
    float y[8] = {0, 0, 0.1f, 0, 10, 10, 10, 10.2f};
    int64_t yl[4] = {1, 1, 2, 2};
    ASSERT_OK(sl_geom_class_geometry(y, 4, 2, yl, &c, &k));
    ASSERT_TRUE(c[0].separated && c[1].separated);
    ASSERT_NEAR(c[0].diameter, 0.1, 1e-6);
    ASSERT_NEAR(c[1].diameter, 0.2, 1e-6);
    ASSERT_EQ_INT(c[0].nearest_label, 2);
    sl_allocator_free(c);
    int64_t same[4] = {3, 3, 3, 3};
    ASSERT_FAILS(sl_geom_class_geometry(y, 4, 2, same, &c, &k), SL_ERR_ARG, "same label");
    free(x), free(lab);
}

/* ---- commands ------------------------------------------------------------ */

TEST(cli_geometry_and_transform) {
    size_t n = 200, d = 6;
    float *x = randn(n, d, 6);
    int64_t *lab = malloc(n * sizeof *lab);
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int64_t)(i % 2);
        x[i * d] += 5.0f;
    }
    ASSERT_OK(sl_npy_write_matrix(t_path("e.npy"), x, n, d));
    ASSERT_OK(sl_npy_write_labels(t_path("l.npy"), lab, n));
    ASSERT_OK(sl_npy_write_labels(t_path("short.npy"), lab, n - 1));
    int64_t pr[4] = {0, 1, 2, 3};
    sl_array pa = {.dtype = SL_I64, .ndim = 2, .shape = {2, 2}, .data = pr};
    ASSERT_OK(sl_npy_write(t_path("p.npy"), &pa));
    char cmd[2048], *out;
    const char *s = t_simlearn();
    snprintf(cmd, sizeof cmd, "%s geometry %s --labels %s --pairs %s --threads 1 --spectrum-out %s", s,
             t_path("e.npy"), t_path("l.npy"), t_path("p.npy"), t_path("spec.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "effective rank");
    ASSERT_CONTAINS(out, "anisotropy: mean cosine");
    ASSERT_CONTAINS(out, "alignment (2 given pairs");
    ASSERT_CONTAINS(out, "separated classes (margin > diameter): 0 of 2");
    free(out);
    float *spec;
    size_t r, c;
    ASSERT_OK(sl_npy_read_matrix(t_path("spec.npy"), &spec, &r, &c));
    ASSERT_EQ_SIZE(r, d);
    ASSERT_TRUE(spec[0] >= spec[d - 1]);
    sl_allocator_free(spec);

    snprintf(cmd, sizeof cmd, "%s transform abtt %s -o %s --remove 2", s, t_path("e.npy"), t_path("t.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "removed the mean and 2 directions");
    free(out);
    float *y;
    ASSERT_OK(sl_npy_read_matrix(t_path("t.npy"), &y, &r, &c));
    ASSERT_EQ_SIZE(r, n);
    ASSERT_EQ_SIZE(c, d);
    double m0 = 0;
    for (size_t i = 0; i < n; i++) m0 += y[i * d];
    ASSERT_NEAR(m0 / n, 0, 1e-4);
    sl_allocator_free(y);

    /* Bad inputs. */
    snprintf(cmd, sizeof cmd, "%s transform abtt %s -o %s --remove 6", s, t_path("e.npy"), t_path("t2.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "must be < width");
    free(out);
    snprintf(cmd, sizeof cmd, "%s geometry %s --labels %s", s, t_path("e.npy"), t_path("short.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "has 199 labels but");
    free(out);
    x[3] = NAN;
    ASSERT_OK(sl_npy_write_matrix(t_path("nan.npy"), x, n, d));
    snprintf(cmd, sizeof cmd, "%s geometry %s", s, t_path("nan.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "row 0, column 3");
    free(out);
    ASSERT_OK(sl_npy_write_matrix(t_path("empty.npy"), x, 0, d));
    snprintf(cmd, sizeof cmd, "%s geometry %s", s, t_path("empty.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "has 0 rows");
    free(out);
    snprintf(cmd, sizeof cmd, "%s transform abtt %s -o %s", s, t_path("empty.npy"), t_path("t3.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "at least 2 rows");
    free(out);
    snprintf(cmd, sizeof cmd, "%s transform nope", s);
    ASSERT_EQ_INT(t_run(cmd, &out), 2);
    free(out);
    free(x), free(lab);
}

/* Tests of the retrieval metrics: recall@K, precision@K and mAP@R on a tiny
 * hand-checked example and against a brute-force computation, paired
 * recall, bad inputs. */
#include "test.h"

/* Points on a line: x = 0, 1, 2, 10, 11, 12 with labels a a b b b a. */
TEST(retrieval_hand_checked_example) {
    float x[6] = {0, 1, 2, 10, 11, 12};
    int64_t lab[6] = {0, 0, 1, 1, 1, 0};
    size_t Ks[2] = {1, 2};
    double rec[2], prec[2], map;
    size_t used;
    sl_retrieval_config cfg = {.metric = SL_METRIC_L2, .exclude_self = true, .Ks = Ks, .nK = 2};
    ASSERT_OK(sl_retrieval_labelled(x, 6, lab, x, 6, lab, 1, &cfg, rec, prec, &map, &used));
    ASSERT_EQ_SIZE(used, 6);
    /* Nearest (ties by id): 0->1 (a,ok) 1->0 (ok) 2->1 (b vs a, no) 3->4 (ok) 4->3 (ok) 5->4 (a vs b, no). */
    ASSERT_NEAR(rec[0], 4.0 / 6, 1e-12);
    ASSERT_NEAR(prec[0], 4.0 / 6, 1e-12);
    /* Top 2: 0:{1,2} 1 rel; 1:{0,2} 1; 2:{1,0} 0; 3:{4,2} 1; 4:{3,5} 1; 5:{4,3} 0. */
    ASSERT_NEAR(rec[1], 4.0 / 6, 1e-12);
    ASSERT_NEAR(prec[1], 4.0 / 12, 1e-12);
    /* R = 2 for every query. AP@R: 0: [1,2] -> rel at 1 -> (1/1)/2 = 0.5
     * 1: [0,2] -> 0.5; 2: [1,0] -> 0; 3: [4,2] -> 0.5; 4: [3,5] -> 0.5; 5: [4,3] -> 0. */
    ASSERT_NEAR(map, 2.0 / 6, 1e-12);
}

TEST(retrieval_matches_brute_force) {
    size_t n = 300, nq = 50, d = 6, c = 5;
    sl_rng r;
    sl_rng_seed(&r, 4, 0);
    float *x = malloc(n * d * sizeof *x), *q = malloc(nq * d * sizeof *q);
    int64_t *lab = malloc(n * sizeof *lab), *ql = malloc(nq * sizeof *ql);
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int64_t)(sl_rng_below(&r, c));
        for (size_t j = 0; j < d; j++) x[i * d + j] = (float)sl_rng_normal(&r) + (float)lab[i] * (j == 0);
    }
    for (size_t i = 0; i < nq; i++) {
        ql[i] = (int64_t)(sl_rng_below(&r, c));
        for (size_t j = 0; j < d; j++) q[i * d + j] = (float)sl_rng_normal(&r) + (float)ql[i] * (j == 0);
    }
    size_t Ks[3] = {1, 5, 20};
    double rec[3], prec[3], map;
    sl_retrieval_config cfg = {.metric = SL_METRIC_COSINE, .Ks = Ks, .nK = 3};
    ASSERT_OK(sl_retrieval_labelled(x, n, lab, q, nq, ql, d, &cfg, rec, prec, &map, NULL));
    /* Brute force with the full ranking. */
    int64_t *ids = malloc(nq * n * sizeof *ids);
    float *sc = malloc(nq * n * sizeof *sc);
    sl_flat_config fc = {.metric = SL_METRIC_COSINE, .k = n};
    ASSERT_OK(sl__flat_search_ref(x, n, d, q, nq, d, &fc, ids, sc));
    double brec[3] = {0}, bprec[3] = {0}, bmap = 0;
    for (size_t i = 0; i < nq; i++) {
        size_t R = 0;
        for (size_t j = 0; j < n; j++) R += lab[j] == ql[i];
        for (int t = 0; t < 3; t++) {
            size_t rel = 0;
            for (size_t j = 0; j < Ks[t]; j++) rel += lab[ids[i * n + j]] == ql[i];
            brec[t] += rel > 0;
            bprec[t] += (double)rel / (double)Ks[t];
        }
        double ap = 0;
        size_t rel = 0;
        for (size_t j = 0; j < R; j++)
            if (lab[ids[i * n + j]] == ql[i]) ap += (double)++rel / (double)(j + 1);
        bmap += ap / (double)R;
    }
    for (int t = 0; t < 3; t++) {
        ASSERT_NEAR(rec[t], brec[t] / nq, 1e-12);
        ASSERT_NEAR(prec[t], bprec[t] / nq, 1e-12);
    }
    ASSERT_NEAR(map, bmap / nq, 1e-12);
    free(x), free(q), free(lab), free(ql), free(ids), free(sc);
}

TEST(retrieval_paired_recall) {
    /* b is a slightly noisy copy of a, except rows 0 and 1 which are swapped. */
    size_t n = 100, d = 8;
    sl_rng r;
    sl_rng_seed(&r, 5, 0);
    float *a = malloc(n * d * sizeof *a), *b = malloc(n * d * sizeof *b);
    for (size_t i = 0; i < n * d; i++) a[i] = (float)sl_rng_normal(&r);
    for (size_t i = 0; i < n * d; i++) b[i] = a[i] + 0.01f * (float)sl_rng_normal(&r);
    for (size_t j = 0; j < d; j++) {
        float t = b[j];
        b[j] = b[d + j], b[d + j] = t;
    }
    size_t Ks[2] = {1, 2};
    double ab[2], ba[2];
    ASSERT_OK(sl_retrieval_paired(a, b, n, d, SL_METRIC_COSINE, Ks, 2, ab, ba));
    ASSERT_NEAR(ab[0], 0.98, 1e-12);
    ASSERT_NEAR(ba[0], 0.98, 1e-12);
    ASSERT_TRUE(ab[1] >= 0.98);
    free(a), free(b);
}

TEST(retrieval_bad_inputs_fail_clearly) {
    float x[4] = {0, 1, 2, 3};
    int64_t lab[4] = {0, 0, 1, 1};
    size_t K = 4;
    double rec, prec, map;
    sl_retrieval_config cfg = {.metric = SL_METRIC_L2, .exclude_self = true, .Ks = &K, .nK = 1};
    ASSERT_FAILS(sl_retrieval_labelled(x, 4, lab, x, 4, lab, 1, &cfg, &rec, &prec, &map, NULL), SL_ERR_ARG,
                 "K = 4, expected 1 .. 3");
    cfg.nK = 0;
    ASSERT_FAILS(sl_retrieval_labelled(x, 4, lab, x, 4, lab, 1, &cfg, &rec, &prec, &map, NULL), SL_ERR_ARG, "no K");
    cfg.nK = 1;
    K = 1;
    ASSERT_FAILS(sl_retrieval_labelled(x, 0, lab, x, 4, lab, 1, &cfg, &rec, &prec, &map, NULL), SL_ERR_ARG, "empty");
    x[2] = NAN;
    ASSERT_FAILS(sl_retrieval_labelled(x, 4, lab, x, 4, lab, 1, &cfg, &rec, &prec, &map, NULL), SL_ERR_NUMERIC, "row 2");
    double ab, ba;
    ASSERT_FAILS(sl_retrieval_paired(x, x, 4, 1, SL_METRIC_L2, &K, 1, &ab, &ba), SL_ERR_NUMERIC, "row 2");
    K = 9;
    ASSERT_FAILS(sl_retrieval_paired(x, x, 4, 1, SL_METRIC_L2, &K, 1, &ab, &ba), SL_ERR_ARG, "K = 9");
}

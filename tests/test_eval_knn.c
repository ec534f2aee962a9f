/* Tests of the kNN classifier: majority and weighted votes on hand-made
 * neighbour lists, tie rules, skipped ids, bad inputs, and an end-to-end run
 * on separable clusters through exact search and through HNSW. */
#include "test.h"

TEST(knn_majority_vote_and_ties) {
    /* base labels: 0..5 -> 5,5,2,2,9,7 */
    int64_t labels[6] = {5, 5, 2, 2, 9, 7};
    int64_t ids[3 * 4] = {0, 2, 1, 4,   /* 5,2,5,9 -> 5 */
                          2, 0, 3, 1,   /* 2,5,2,5 -> tie -> 2 (smaller) */
                          4, -1, 5, -1}; /* 9,7 -> tie -> 7 */
    float sc[12] = {0};
    int64_t pred[3];
    sl_knn_config cfg = {.k = 4, .vote = SL_VOTE_MAJORITY, .metric = SL_METRIC_COSINE};
    ASSERT_OK(sl_knn_classify(ids, sc, 3, 4, labels, 6, &cfg, pred));
    ASSERT_EQ_INT(pred[0], 5);
    ASSERT_EQ_INT(pred[1], 2);
    ASSERT_EQ_INT(pred[2], 7);
    /* Only the first k columns vote. */
    cfg.k = 1;
    ASSERT_OK(sl_knn_classify(ids, sc, 3, 4, labels, 6, &cfg, pred));
    ASSERT_EQ_INT(pred[0], 5);
    ASSERT_EQ_INT(pred[1], 2);
    ASSERT_EQ_INT(pred[2], 9);
}

TEST(knn_weighted_vote_follows_similarity) {
    int64_t labels[4] = {0, 1, 1, 1};
    int64_t ids[4] = {0, 1, 2, 3};
    /* One very close neighbour of class 0 against three weaker ones of class 1:
     * exp(0.9/0.07) > 3 exp(0.5/0.07), so the weighted vote says 0 while the
     * majority says 1. */
    float sc[4] = {0.9f, 0.5f, 0.5f, 0.5f};
    int64_t pred;
    sl_knn_config cfg = {.k = 4, .vote = SL_VOTE_WEIGHTED, .tau = 0.07, .metric = SL_METRIC_COSINE};
    ASSERT_OK(sl_knn_classify(ids, sc, 1, 4, labels, 4, &cfg, &pred));
    ASSERT_EQ_INT(pred, 0);
    cfg.tau = 10; /* a hot temperature is almost a majority vote */
    ASSERT_OK(sl_knn_classify(ids, sc, 1, 4, labels, 4, &cfg, &pred));
    ASSERT_EQ_INT(pred, 1);
    cfg.vote = SL_VOTE_MAJORITY;
    ASSERT_OK(sl_knn_classify(ids, sc, 1, 4, labels, 4, &cfg, &pred));
    ASSERT_EQ_INT(pred, 1);
    /* L2 scores are distances: the smallest one weighs most. */
    float d2[4] = {0.1f, 2.0f, 2.0f, 2.0f};
    sl_knn_config l2 = {.k = 4, .vote = SL_VOTE_WEIGHTED, .tau = 0.1, .metric = SL_METRIC_L2};
    ASSERT_OK(sl_knn_classify(ids, d2, 1, 4, labels, 4, &l2, &pred));
    ASSERT_EQ_INT(pred, 0);
    /* Large similarities do not overflow exp(). */
    float big[4] = {1e4f, 9e3f, 9e3f, 9e3f};
    ASSERT_OK(sl_knn_classify(ids, big, 1, 4, labels, 4, &cfg, &pred));
    cfg.vote = SL_VOTE_WEIGHTED;
    ASSERT_OK(sl_knn_classify(ids, big, 1, 4, labels, 4, &cfg, &pred));
    ASSERT_EQ_INT(pred, 0);
}

TEST(knn_bad_inputs_fail_clearly) {
    int64_t labels[2] = {0, 1}, ids[2] = {0, 7}, pred[1];
    float sc[2] = {0};
    sl_knn_config cfg = {.k = 2};
    ASSERT_FAILS(sl_knn_classify(ids, sc, 1, 2, labels, 2, &cfg, pred), SL_ERR_RANGE, "id 7 is outside");
    cfg.k = 3;
    ids[1] = 1;
    ASSERT_FAILS(sl_knn_classify(ids, sc, 1, 2, labels, 2, &cfg, pred), SL_ERR_ARG, "k = 3");
    sl_vote v;
    ASSERT_FAILS(sl_vote_parse("plurality", &v), SL_ERR_ARG, "majority or weighted");
    ASSERT_OK(sl_vote_parse("weighted", &v));
    ASSERT_EQ_INT(v, SL_VOTE_WEIGHTED);
    int64_t all_missing[2] = {-1, -1};
    cfg.k = 2;
    ASSERT_OK(sl_knn_classify(all_missing, sc, 1, 2, labels, 2, &cfg, pred));
    ASSERT_EQ_INT(pred[0], -1);
}

/* Four well separated clusters: every method must classify all test points. */
TEST(knn_end_to_end_on_clusters) {
    size_t per = 100, c = 4, d = 8, n = per * c, nq = 40, k = 5;
    sl_rng r;
    sl_rng_seed(&r, 3, 0);
    float *x = malloc(n * d * sizeof *x), *q = malloc(nq * d * sizeof *q);
    int64_t *lab = malloc(n * sizeof *lab), *qlab = malloc(nq * sizeof *qlab), *pred = malloc(nq * sizeof *pred);
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int64_t)(i % c);
        for (size_t j = 0; j < d; j++) x[i * d + j] = (float)sl_rng_normal(&r) * 0.1f + (j == (size_t)lab[i] ? 3.0f : 0.0f);
    }
    for (size_t i = 0; i < nq; i++) {
        qlab[i] = (int64_t)(i % c);
        for (size_t j = 0; j < d; j++) q[i * d + j] = (float)sl_rng_normal(&r) * 0.1f + (j == (size_t)qlab[i] ? 3.0f : 0.0f);
    }
    int64_t *ids = malloc(nq * k * sizeof *ids);
    float *sc = malloc(nq * k * sizeof *sc);
    for (int m = 0; m < 3; m++) {
        sl_flat_config fc = {.metric = (sl_metric)m, .k = k};
        ASSERT_OK(sl_flat_search(x, n, d, q, nq, d, &fc, ids, sc));
        for (int v = 0; v < 2; v++) {
            sl_knn_config cfg = {.k = k, .vote = (sl_vote)v, .metric = (sl_metric)m};
            ASSERT_OK(sl_knn_classify(ids, sc, nq, k, lab, n, &cfg, pred));
            ASSERT_NEAR(sl_knn_accuracy(pred, qlab, nq), 1.0, 1e-12);
        }
    }
    sl_hnsw_config hc = {.dim = d, .metric = SL_METRIC_COSINE};
    sl_hnsw *h;
    ASSERT_OK(sl_hnsw_create(&hc, &h));
    ASSERT_OK(sl_hnsw_add(h, x, n, lab, NULL, NULL, NULL));
    ASSERT_OK(sl_hnsw_search(h, q, nq, k, 50, NULL, ids, sc));
    sl_knn_config cfg = {.k = k, .vote = SL_VOTE_WEIGHTED, .metric = SL_METRIC_COSINE};
    ASSERT_OK(sl_knn_classify(ids, sc, nq, k, lab, n, &cfg, pred));
    ASSERT_NEAR(sl_knn_accuracy(pred, qlab, nq), 1.0, 1e-12);
    sl_hnsw_destroy(h);
    free(x), free(q), free(lab), free(qlab), free(pred), free(ids), free(sc);
}

/* Results that do not depend on the thread count: sl_gemm's tiles against
 * the naive product on odd shapes, and bit-identical results with 1, 2 and 3
 * threads for the products, the layers, the losses, exact search, PCA, the
 * probe and the geometry statistics, at sizes where the work is really split.
 * The last cases rerun these checks under each installed OpenBLAS build
 * (pthread and OpenMP) and under other sgemm kernels (OPENBLAS_CORETYPE),
 * because a thread-count dependence may show with one kernel only. */
#include "test.h"

#include "internal.h"

#include <cblas.h>
#include <limits.h>
#include <link.h>
#include <omp.h>
#include <strings.h>
#include <unistd.h>

static const int thread_counts[] = {1, 2, 3};
#define N_COUNTS 3

static float *randu(size_t n, uint64_t seed) {
    float *x = malloc(n * sizeof *x);
    sl_rng r;
    sl_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++) x[i] = sl_rng_range(&r, -1, 1);
    return x;
}

static bool same_bits(const void *a, const void *b, size_t bytes) { return memcmp(a, b, bytes) == 0; }

/* Tiles sl_gemm cuts an M x N x K product into. */
static size_t tile_count(size_t M, size_t N, size_t K) {
    size_t mt, nt;
    sl__gemm_tiles(M, N, K, &mt, &nt);
    return ((M + mt - 1) / mt) * ((N + nt - 1) / nt);
}

/* ---- sl_gemm ------------------------------------------------------------- */

TEST(gemm_tiles_depend_on_the_shape_only) {
    /* Products of the sizes simlearn makes are split, sides stay >= 256 (or
     * whole) and are multiples of 16 (or whole), and a small product is one tile. */
    const size_t shapes[][3] = {{600, 600, 784}, {512, 784, 784}, {784, 784, 512}, {559, 60000, 784},
                                {1536, 1536, 1536}, {256, 3528, 144}, {40, 9000, 400}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], mt, nt;
        sl__gemm_tiles(M, N, K, &mt, &nt);
        if (tile_count(M, N, K) < 2) T_FAIL("%zu x %zu x %zu is one tile", M, N, K);
        ASSERT_TRUE(tile_count(M, N, K) <= 32);
        ASSERT_TRUE(mt == M || (mt >= 256 && mt % 16 == 0));
        ASSERT_TRUE(nt == N || (nt >= 256 && nt % 16 == 0));
    }
    ASSERT_EQ_SIZE(tile_count(512, 128, 128), 2);
    ASSERT_EQ_SIZE(tile_count(10, 2048, 784), 2);
    ASSERT_EQ_SIZE(tile_count(256, 256, 64), 1);
    ASSERT_EQ_SIZE(tile_count(500, 500, 2000), 1);
    ASSERT_EQ_SIZE(tile_count(1, 1, 1), 1);
    /* Over a long K, a product that would be one tile is cut down to sides of
     * 128 (the weight gradient of a ViT MLP: 384 x 96 over 12,800 token
     * rows is two tiles of 192 x 96); one that is already cut keeps its tiles
     * of 256 and more, and a K under 4,096 keeps the rule above. */
    size_t mt, nt;
    sl__gemm_tiles(384, 96, 12800, &mt, &nt);
    ASSERT_TRUE(mt == 192 && nt == 96);
    ASSERT_EQ_SIZE(tile_count(288, 96, 12800), 2);
    ASSERT_EQ_SIZE(tile_count(96, 96, 12800), 1);
    ASSERT_EQ_SIZE(tile_count(384, 96, 4095), 1);
    sl__gemm_tiles(784, 784, 60000, &mt, &nt);
    ASSERT_TRUE(mt >= 256 && nt >= 256);
}

/* op(A) is M x K; lda/ldb/ldc wider than the matrices, with padding that must
 * stay untouched. */
static void check_against_ref(bool ta, bool tb, size_t M, size_t N, size_t K, float alpha, float beta) {
    size_t lda = (ta ? M : K) + 5, ldb = (tb ? K : N) + 3, ldc = N + 7;
    size_t arows = ta ? K : M, brows = tb ? N : K;
    float *A = randu(arows * lda, 1), *B = randu(brows * ldb, 2), *C1 = randu(M * ldc, 3);
    float *C2 = malloc(M * ldc * sizeof *C2), *C3 = malloc(M * ldc * sizeof *C3);
    memcpy(C2, C1, M * ldc * sizeof *C2);
    memcpy(C3, C1, M * ldc * sizeof *C3);
    sl_threads_set(2);
    sl_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc);
    sl__gemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C2, ldc);
    sl__gemm_one(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C3, ldc);
    double tol = 4e-7 * (double)K + 1e-5;
    for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < N; j++) {
            double ref = C2[i * ldc + j];
            if (fabs((double)C1[i * ldc + j] - ref) > tol || fabs((double)C3[i * ldc + j] - ref) > tol)
                T_FAIL("ta %d tb %d %zu x %zu x %zu: C[%zu][%zu] = %.9g (tiles), %.9g (one call), naive %.9g", ta,
                       tb, M, N, K, i, j, (double)C1[i * ldc + j], (double)C3[i * ldc + j], ref);
        }
        for (size_t j = N; j < ldc; j++)
            ASSERT_TRUE(C1[i * ldc + j] == C2[i * ldc + j] && C3[i * ldc + j] == C2[i * ldc + j]);
    }
    free(A), free(B), free(C1), free(C2), free(C3);
}

/* sl_gemm and its one-call form sl__gemm_one against the naive product. */
TEST(gemm_tiles_match_the_naive_product_on_odd_shapes) {
    /* 810 x 650 x 260 is 2 x 2 tiles of 416 x 336 with smaller edge tiles;
     * 40 x 9000 x 400 is a row of tiles with a short last one; 1200 x 40 x
     * 2000 a column of two. */
    size_t mt, nt;
    sl__gemm_tiles(810, 650, 260, &mt, &nt);
    ASSERT_TRUE(mt < 810 && nt < 650 && 810 % mt != 0 && 650 % nt != 0);
    sl__gemm_tiles(40, 9000, 400, &mt, &nt);
    ASSERT_TRUE(mt == 40 && nt < 9000 && 9000 % nt != 0);
    sl__gemm_tiles(1200, 40, 2000, &mt, &nt);
    ASSERT_TRUE(mt < 1200 && nt == 40);
    for (int t = 0; t < 4; t++) check_against_ref(t & 1, t & 2, 810, 650, 260, 0.7f, 0.3f);
    check_against_ref(false, true, 40, 9000, 400, -1.0f, 1.0f);
    check_against_ref(true, false, 1200, 40, 2000, 2.0f, 0.0f);
    check_against_ref(true, false, 288, 96, 5000, 1.0f, 1.0f);
}

TEST(gemm_beta_zero_ignores_nan_in_c_and_k_zero_scales_c) {
    size_t M = 700, N = 600, K = 300;
    ASSERT_TRUE(tile_count(M, N, K) > 1);
    float *A = randu(M * K, 4), *B = randu(K * N, 5), *C = malloc(M * N * sizeof *C);
    for (size_t i = 0; i < M * N; i++) C[i] = NAN;
    sl_gemm(false, false, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
    for (size_t i = 0; i < M * N; i++) ASSERT_TRUE(isfinite(C[i]));
    for (size_t i = 0; i < M * N; i++) C[i] = 2.0f;
    sl_gemm(false, false, M, N, 0, 1.0f, A, K, B, N, 0.5f, C, N);
    for (size_t i = 0; i < M * N; i++) ASSERT_TRUE(C[i] == 1.0f);
    free(A), free(B), free(C);
}

/* One product with each thread count, from outside a parallel region, and
 * from inside one (where the tiles run on the calling thread); all the same bits. */
static void gemm_all_counts(bool ta, bool tb, size_t M, size_t N, size_t K, float beta) {
    size_t arows = ta ? K : M, acols = ta ? M : K, brows = tb ? N : K, bcols = tb ? K : N;
    float *A = randu(arows * acols, 6), *B = randu(brows * bcols, 7), *C0 = randu(M * N, 8);
    float *first = malloc(M * N * sizeof *first), *C = malloc(M * N * sizeof *C);
    for (int c = 0; c <= N_COUNTS; c++) {
        memcpy(C, C0, M * N * sizeof *C);
        if (c < N_COUNTS) {
            /* As a program that also threads its own OpenBLAS calls would. */
            openblas_set_num_threads(thread_counts[c]);
            sl_threads_set(thread_counts[c]);
            sl_gemm(ta, tb, M, N, K, 0.5f, A, acols, B, bcols, beta, C, N);
        } else {
            sl_threads_set(2);
#pragma omp parallel num_threads(2)
            if (omp_get_thread_num() == 0) sl_gemm(ta, tb, M, N, K, 0.5f, A, acols, B, bcols, beta, C, N);
        }
        if (c == 0)
            memcpy(first, C, M * N * sizeof *C);
        else if (!same_bits(first, C, M * N * sizeof *C))
            T_FAIL("ta %d tb %d %zu x %zu x %zu: %s differs from 1 thread", ta, tb, M, N, K,
                   c < N_COUNTS ? "another thread count" : "a call inside a parallel region");
    }
    free(A), free(B), free(C0), free(first), free(C);
}

TEST(gemm_is_identical_across_thread_counts) {
    ASSERT_TRUE(tile_count(600, 600, 784) > 1 && tile_count(512, 784, 784) > 1 && tile_count(784, 784, 512) > 1);
    ASSERT_TRUE(tile_count(600, 784, 600) > 1 && tile_count(256, 3528, 144) > 1 && tile_count(40, 9000, 400) > 1);
    /* One tile, but large enough that a threaded OpenBLAS would split it. */
    ASSERT_EQ_SIZE(tile_count(500, 500, 2000), 1);
    gemm_all_counts(false, true, 500, 500, 2000, 0.0f);
    gemm_all_counts(false, false, 600, 600, 784, 0.0f);
    gemm_all_counts(false, true, 512, 784, 784, 0.0f);
    gemm_all_counts(true, false, 784, 784, 512, 1.0f);
    gemm_all_counts(true, true, 600, 784, 600, 0.25f);
    gemm_all_counts(false, false, 256, 3528, 144, 0.0f);
    gemm_all_counts(false, true, 40, 9000, 400, 0.0f);
}

/* sl_gemm leaves OpenBLAS's thread setting and OpenMP's count as the program
 * set them (the OpenMP build of OpenBLAS ties the two together). */
static int team_size(void) {
    int n = 0;
#pragma omp parallel
    {
#pragma omp single
        n = omp_get_num_threads();
    }
    return n;
}

TEST(gemm_leaves_the_thread_settings_as_the_program_set_them) {
    /* A program that also uses OpenBLAS, with 3 threads. */
    openblas_set_num_threads(3);
    omp_set_num_threads(3);
    float *A = randu(500 * 2000, 9), *C = malloc(600 * 600 * sizeof *C);
    ASSERT_TRUE(tile_count(600, 600, 600) > 1 && tile_count(500, 500, 2000) == 1);
    for (int n = 0; n <= 3; n++) {
        if (n) sl_threads_set(n);
        int omp = n ? n : 3;
        sl_gemm(false, false, 600, 600, 600, 1.0f, A, 600, A, 600, 0.0f, C, 600);
        sl_gemm(false, true, 500, 500, 2000, 1.0f, A, 2000, A, 2000, 0.0f, C, 500);
        ASSERT_EQ_INT(openblas_get_num_threads(), 3);
        ASSERT_EQ_INT(sl_threads_get(), omp);
        ASSERT_EQ_INT(team_size(), omp);
    }
    free(A), free(C);
}

/* ---- layers -------------------------------------------------------------- */

typedef struct {
    float *y, *din, *grads;
} model_run;

/* A fresh model (same seed) per thread count: forward in train mode, then
 * backward of a fixed d(output). */
static model_run run_model(const char *spec, const sl_shape *in, const float *x, size_t n, int threads) {
    sl_threads_set(threads);
    sl_model *m;
    ASSERT_OK(sl_model_create(spec, in, 5, &m));
    size_t din_n = sl_shape_count(in) * n, np = sl_model_param_count(m);
    const float *y;
    ASSERT_OK(sl_model_forward(m, x, n, true, &y));
    sl_shape os = sl_model_output_shape(m);
    size_t yn = sl_shape_count(&os) * n;
    model_run r = {malloc(yn * sizeof(float)), malloc(din_n * sizeof(float)), malloc(np * sizeof(float))};
    memcpy(r.y, y, yn * sizeof(float));
    float *dy = randu(yn, 10);
    sl_model_zero_grad(m);
    ASSERT_OK(sl_model_backward(m, dy, r.din));
    memcpy(r.grads, sl_model_grads(m), np * sizeof(float));
    free(dy);
    sl_model_destroy(m);
    return r;
}

/* x: n inputs (freed here). */
static void model_all_counts_x(const char *spec, const sl_shape *in, size_t n, float *x) {
    sl_model *m;
    ASSERT_OK(sl_model_create(spec, in, 5, &m));
    sl_shape os = sl_model_output_shape(m);
    size_t yn = sl_shape_count(&os) * n, dn = sl_shape_count(in) * n;
    size_t np = sl_model_param_count(m);
    sl_model_destroy(m);
    model_run first = run_model(spec, in, x, n, thread_counts[0]);
    for (int c = 1; c < N_COUNTS; c++) {
        model_run r = run_model(spec, in, x, n, thread_counts[c]);
        if (!same_bits(first.y, r.y, yn * sizeof(float)))
            T_FAIL("%s: the output with %d threads differs from 1 thread", spec, thread_counts[c]);
        if (!same_bits(first.din, r.din, dn * sizeof(float)))
            T_FAIL("%s: d(input) with %d threads differs from 1 thread", spec, thread_counts[c]);
        if (!same_bits(first.grads, r.grads, np * sizeof(float)))
            T_FAIL("%s: the parameter gradients with %d threads differ from 1 thread", spec, thread_counts[c]);
        free(r.y), free(r.din), free(r.grads);
    }
    free(first.y), free(first.din), free(first.grads), free(x);
}

static void model_all_counts(const char *spec, const sl_shape *in, size_t n) {
    model_all_counts_x(spec, in, n, randu(sl_shape_count(in) * n, 11));
}

TEST(linear_forward_backward_identical_across_thread_counts) {
    /* Batch 512, widths 784 -> 600 -> 784: products of 512 x 600 x 784 and
     * more, several tiles each. */
    ASSERT_TRUE(tile_count(512, 600, 784) > 1 && tile_count(600, 784, 512) > 1 && tile_count(512, 784, 600) > 1);
    sl_shape in = {1, {784}};
    model_all_counts("linear(600),relu,linear(784)", &in, 512);
}

TEST(conv_forward_backward_identical_across_thread_counts) {
    /* 144 examples of 16 x 14 x 14 make 8 slices of 18, which the threads
     * share; a batch of 2 has fewer slices than threads; a batch of one
     * 48 x 48 image is one slice whose products (256 x 2304 x 144) are cut
     * into tiles that the threads share. */
    ASSERT_TRUE(tile_count(256, 48 * 48, 144) > 1);
    sl_shape in = {3, {16, 14, 14}}, big = {3, {16, 48, 48}};
    const char *spec = "conv(256,3,pad=1,bias=0),bn,relu,maxpool(2),conv(32,3,stride=2,pad=1),gap,linear(10)";
    model_all_counts(spec, &in, 144);
    model_all_counts(spec, &in, 2);
    model_all_counts(spec, &big, 1);
}

TEST(vit_forward_backward_identical_across_thread_counts) {
    /* 16 images of 3 x 32 x 32 in 4 x 4 patches: 65 tokens of 64 features
     * each, 1040 rows, whose products (1040 x 192 x 64 for q, k and v, 1040 x
     * 256 x 64 into the MLP and 1040 x 64 x 256 out of it) are cut into tiles;
     * 64 (image, head) blocks of attention that the threads share, and layer
     * norms whose weight gradients are summed over all rows. One image: 4
     * blocks of attention and products of 65 rows. */
    ASSERT_TRUE(tile_count(1040, 192, 64) > 1 && tile_count(1040, 256, 64) > 1 && tile_count(1040, 64, 256) > 1);
    sl_shape in = {3, {3, 32, 32}};
    model_all_counts("vit(patch=4,dim=64,depth=2,heads=4,mlp=4),linear(10)", &in, 16);
    model_all_counts("vit(patch=4,dim=64,depth=1,heads=4,mlp=4,pool=mean)", &in, 1);
}

TEST(text_transformer_on_padded_ids_identical_across_thread_counts) {
    /* 64 captions of 32 token ids (vocabulary 50) with 1..32 words each, -1
     * padding after: 2048 token rows, products of 2048 x 192 x 64 and 2048 x
     * 256 x 64 cut into tiles; 256 (caption, head) blocks of attention under
     * the pad mask (causal in the second block); the embedding gradient summed
     * over every token. */
    ASSERT_TRUE(tile_count(2048, 192, 64) > 1 && tile_count(2048, 256, 64) > 1);
    const size_t n = 64, T = 32;
    float *ids = malloc(n * T * sizeof(float));
    sl_rng r;
    sl_rng_seed(&r, 12, 0);
    for (size_t s = 0; s < n; s++) {
        size_t len = 1 + sl_rng_below(&r, T);
        for (size_t t = 0; t < T; t++) ids[s * T + t] = t < len ? (float)sl_rng_below(&r, 50) : -1.0f;
    }
    sl_shape in = {1, {T}};
    model_all_counts_x("tokemb(50,64),pos,block(4),block(4,causal=1),ln,tokmean,linear(10)", &in, n, ids);
}

/* Masked autoencoding: a fresh encoder and decoder (same seeds) per thread
 * count, one masked forward and backward; the loss and both models'
 * gradients must be the same bits. 32 images of 3 x 32 x 32 in 4 x 4
 * patches, 16 of 64 visible: 544 encoder rows of 64 features, 2080 decoder
 * rows. */
typedef struct {
    double loss;
    float *ge, *gd;
} mae_run;

static mae_run run_mae(const float *x, const uint8_t *mask, size_t n, int threads) {
    sl_threads_set(threads);
    sl_shape in = {3, {3, 32, 32}}, din;
    sl_model *e, *d;
    sl_mae *m;
    char spec[128];
    ASSERT_OK(sl_model_create("vit(patch=4,dim=64,depth=2,heads=4,mlp=4)", &in, 5, &e));
    ASSERT_OK(sl_mae_default_decoder(e, spec, sizeof spec, &din));
    ASSERT_OK(sl_model_create(spec, &din, 6, &d));
    ASSERT_OK(sl_mae_create(e, d, &m));
    mae_run r;
    sl_model_zero_grad(e);
    sl_model_zero_grad(d);
    ASSERT_OK(sl_mae_forward(m, x, n, mask, true, true, &r.loss));
    ASSERT_OK(sl_mae_backward(m));
    size_t ne = sl_model_param_count(e), nd = sl_model_param_count(d);
    r.ge = malloc(ne * sizeof(float)), r.gd = malloc(nd * sizeof(float));
    memcpy(r.ge, sl_model_grads(e), ne * sizeof(float));
    memcpy(r.gd, sl_model_grads(d), nd * sizeof(float));
    sl_mae_destroy(m);
    sl_model_destroy(e);
    sl_model_destroy(d);
    return r;
}

TEST(mae_forward_backward_identical_across_thread_counts) {
    const size_t n = 32, L = 64;
    float *x = randu(n * 3 * 32 * 32, 12);
    uint8_t *mask = malloc(n * L);
    for (size_t i = 0; i < n; i++) sl_mae_draw_mask(mask + i * L, L, 0.75, 3, 0, i);
    sl_shape in = {3, {3, 32, 32}};
    sl_model *e;
    ASSERT_OK(sl_model_create("vit(patch=4,dim=64,depth=2,heads=4,mlp=4)", &in, 5, &e));
    size_t ne = sl_model_param_count(e);
    sl_model_destroy(e);
    mae_run first = run_mae(x, mask, n, thread_counts[0]);
    ASSERT_TRUE(first.loss > 0);
    for (int c = 1; c < N_COUNTS; c++) {
        mae_run r = run_mae(x, mask, n, thread_counts[c]);
        if (!same_bits(&first.loss, &r.loss, sizeof r.loss))
            T_FAIL("mae: the loss with %d threads differs from 1 thread", thread_counts[c]);
        if (!same_bits(first.ge, r.ge, ne * sizeof(float)))
            T_FAIL("mae: the encoder's gradients with %d threads differ from 1 thread", thread_counts[c]);
        /* the default decoder: linear(64) on 64 features, then its layers */
        sl_shape din = {2, {65, 64}};
        sl_model *d;
        ASSERT_OK(sl_model_create("linear(64),masktok,pos,block(4),block(4),ln,linear(48)", &din, 6, &d));
        size_t nd = sl_model_param_count(d);
        sl_model_destroy(d);
        if (!same_bits(first.gd, r.gd, nd * sizeof(float)))
            T_FAIL("mae: the decoder's gradients with %d threads differ from 1 thread", thread_counts[c]);
        free(r.ge), free(r.gd);
    }
    free(first.ge), free(first.gd), free(x), free(mask);
}

/* ---- losses -------------------------------------------------------------- */

typedef struct {
    sl_loss_result res;
    float *ga, *gb;
} loss_run;

static loss_run run_loss(sl_objective obj, const float *a, const float *b, const int32_t *labels, size_t n,
                         size_t nb, size_t d, int threads) {
    sl_threads_set(threads);
    sl_loss_config cfg;
    sl_loss_config_default(&cfg, obj);
    loss_run r;
    memset(&r.res, 0, sizeof r.res);
    r.ga = calloc(n * d, sizeof(float));
    r.gb = calloc((nb ? nb : n) * d, sizeof(float));
    sl_loss_batch batch = {n, d, a, b, nb, labels, r.ga, b ? r.gb : NULL, NULL};
    ASSERT_OK(sl_loss_compute(&cfg, &batch, &r.res));
    return r;
}

TEST(losses_identical_across_thread_counts) {
    /* 768 rows of width 256: the 768 x 768 similarity products and the
     * gradient products are several tiles each. */
    size_t n = 768, d = 256, nb = 1000;
    ASSERT_TRUE(tile_count(n, n, d) > 1 && tile_count(n, d, n) > 1 && tile_count(n, nb, d) > 1);
    /* b holds the second tower (n rows) or the class embeddings (nb rows). */
    float *a = randu(n * d, 12), *b = randu(SL__MAX(n, nb) * d, 13);
    int32_t *labels = malloc(n * sizeof *labels);
    for (size_t i = 0; i < n; i++) labels[i] = (int32_t)(i % 37);
    for (int o = 0; o < SL_OBJ_COUNT; o++) {
        sl_objective obj = (sl_objective)o;
        bool queue = obj == SL_OBJ_MOCO || obj == SL_OBJ_MEMORY_BANK;
        bool two = obj == SL_OBJ_CLIP || obj == SL_OBJ_SOFTMAX || obj == SL_OBJ_AUTOENCODER || obj == SL_OBJ_MAE ||
                   obj == SL_OBJ_SIMSIAM || obj == SL_OBJ_BYOL || queue;
        /* The queue objectives: n keys and nb - n negatives in b's nb rows. */
        size_t bn = obj == SL_OBJ_SOFTMAX ? nb : queue ? nb - n : 0;
        const int32_t *lab = obj == SL_OBJ_INFONCE || obj == SL_OBJ_CLIP || obj == SL_OBJ_AUTOENCODER || obj == SL_OBJ_MAE ? NULL : labels;
        if (obj == SL_OBJ_SOFTMAX)
            for (size_t i = 0; i < n; i++) labels[i] = (int32_t)(i % nb);
        loss_run first = run_loss(obj, a, two ? b : NULL, lab, n, bn, d, thread_counts[0]);
        for (int c = 1; c < N_COUNTS; c++) {
            loss_run r = run_loss(obj, a, two ? b : NULL, lab, n, bn, d, thread_counts[c]);
            if (!same_bits(&first.res, &r.res, sizeof r.res) || !same_bits(first.ga, r.ga, n * d * sizeof(float)) ||
                !same_bits(first.gb, r.gb, (bn ? bn : n) * d * sizeof(float)))
                T_FAIL("%s: %d threads differ from 1 thread", sl_loss_objective_name(obj), thread_counts[c]);
            free(r.ga), free(r.gb);
        }
        free(first.ga), free(first.gb);
    }
    free(a), free(b), free(labels);
}

/* ---- exact search -------------------------------------------------------- */

TEST(flat_search_identical_across_thread_counts) {
    size_t n = 4000, nq = 600, d = 256, k = 10;
    ASSERT_TRUE(tile_count(nq, n, d) > 1);
    float *base = randu(n * d, 14), *q = randu(nq * d, 15);
    int64_t *ids0 = malloc(nq * k * sizeof *ids0), *ids = malloc(nq * k * sizeof *ids);
    float *s0 = malloc(nq * k * sizeof *s0), *s = malloc(nq * k * sizeof *s);
    for (int m = 0; m < 3; m++) {
        sl_flat_config cfg = {.metric = (sl_metric)m, .k = k};
        for (int c = 0; c < N_COUNTS; c++) {
            sl_threads_set(thread_counts[c]);
            ASSERT_OK(sl_flat_search(base, n, d, q, nq, d, &cfg, c ? ids : ids0, c ? s : s0));
        }
        if (!same_bits(ids0, ids, nq * k * sizeof *ids) || !same_bits(s0, s, nq * k * sizeof *s))
            T_FAIL("%s: results with 3 threads differ from 1 thread", sl_metric_name((sl_metric)m));
    }
    free(base), free(q), free(ids0), free(ids), free(s0), free(s);
}

TEST(hnsw_search_identical_across_thread_counts) {
    /* The graph is built on one thread (the only deterministic build); the
     * searches run in parallel over queries. */
    size_t n = 3000, nq = 500, d = 32, k = 10;
    float *base = randu(n * d, 22), *q = randu(nq * d, 23);
    sl_hnsw_config hc = {.dim = d, .metric = SL_METRIC_L2, .M = 8, .ef_construction = 40, .seed = 1};
    sl_hnsw *h;
    ASSERT_OK(sl_hnsw_create(&hc, &h));
    sl_threads_set(1);
    ASSERT_OK(sl_hnsw_add(h, base, n, NULL, NULL, NULL, NULL));
    int64_t *ids0 = malloc(nq * k * sizeof *ids0), *ids = malloc(nq * k * sizeof *ids);
    float *s0 = malloc(nq * k * sizeof *s0), *s = malloc(nq * k * sizeof *s);
    for (int c = 0; c < N_COUNTS; c++) {
        sl_threads_set(thread_counts[c]);
        ASSERT_OK(sl_hnsw_search(h, q, nq, k, 20, NULL, c ? ids : ids0, c ? s : s0));
        if (c && (!same_bits(ids0, ids, nq * k * sizeof *ids) || !same_bits(s0, s, nq * k * sizeof *s)))
            T_FAIL("HNSW search with %d threads differs from 1 thread", thread_counts[c]);
    }
    sl_hnsw_destroy(h);
    free(base), free(q), free(ids0), free(ids), free(s0), free(s);
}

static void same_file(const char *a, const char *b);

TEST(ivfpq_identical_across_thread_counts) {
    /* Training (k-means through exact search: 4000 rows against 64
     * centroids; the means summed in column blocks), encoding and search
     * with 1, 2 and 3 threads: the same file and the same results. */
    size_t n = 4000, nq = 300, d = 64, k = 10;
    float *base = randu(n * d, 31), *q = randu(nq * d, 32);
    int64_t *ids0 = malloc(nq * k * sizeof *ids0), *ids = malloc(nq * k * sizeof *ids);
    float *s0 = malloc(nq * k * sizeof *s0), *s = malloc(nq * k * sizeof *s);
    sl_ivfpq_config cfg;
    sl_ivfpq_config_default(&cfg);
    cfg.dim = d, cfg.nlist = 64, cfg.M = 16, cfg.iters = 10, cfg.seed = 2;
    sl_ivfpq_search_config sc;
    sl_ivfpq_search_config_default(&sc);
    sc.k = k, sc.nprobe = 4;
    for (int c = 0; c < N_COUNTS; c++) {
        sl_threads_set(thread_counts[c]);
        sl_ivfpq *ix;
        ASSERT_OK(sl_ivfpq_create(&cfg, &ix));
        ASSERT_OK(sl_ivfpq_train(ix, base, n, NULL));
        ASSERT_OK(sl_ivfpq_add(ix, base, n, NULL, NULL, NULL, NULL));
        ASSERT_OK(sl_ivfpq_save(ix, t_path(c ? "b.ivfpq" : "a.ivfpq")));
        ASSERT_OK(sl_ivfpq_search(ix, q, nq, &sc, c ? ids : ids0, c ? s : s0));
        sl_ivfpq_destroy(ix);
        if (c && (!same_bits(ids0, ids, nq * k * sizeof *ids) || !same_bits(s0, s, nq * k * sizeof *s)))
            T_FAIL("IVF-PQ search with %d threads differs from 1 thread", thread_counts[c]);
        if (c) same_file(t_path("a.ivfpq"), t_path("b.ivfpq"));
    }
    free(base), free(q), free(ids0), free(ids), free(s0), free(s);
}

/* ---- PCA, probe, geometry ------------------------------------------------ */

TEST(pca_identical_across_thread_counts) {
    size_t n = 3000, d = 520, k = 40;
    ASSERT_TRUE(tile_count(d, d, 1024) > 1);
    float *x = randu(n * d, 16);
    float *p0 = malloc(n * k * sizeof *p0), *p = malloc(n * k * sizeof *p);
    sl_pca *first = NULL;
    for (int c = 0; c < N_COUNTS; c++) {
        sl_threads_set(thread_counts[c]);
        sl_pca *pc;
        ASSERT_OK(sl_pca_fit(x, n, d, k, &pc));
        sl_pca_transform(pc, x, n, c ? p : p0);
        if (!c) {
            first = pc;
            continue;
        }
        if (!same_bits(first->components, pc->components, k * d * sizeof(float)) ||
            !same_bits(first->variance, pc->variance, k * sizeof(double)) ||
            !same_bits(first->mean, pc->mean, d * sizeof(float)) || !same_bits(p0, p, n * k * sizeof *p))
            T_FAIL("PCA with %d threads differs from 1 thread", thread_counts[c]);
        sl_pca_destroy(pc);
    }
    sl_pca_destroy(first);
    free(x), free(p0), free(p);
}

TEST(probe_identical_across_thread_counts) {
    /* 700 features: the covariance of the preconditioner is 700 x 700 x 1024
     * products; 50 classes x 2048 rows x 700 for the logits. */
    size_t n = 3000, nte = 500, d = 700, k = 50;
    ASSERT_TRUE(tile_count(d, d, 1024) > 1 && tile_count(k, 2048, d) > 1);
    float *x = randu(n * d, 17), *xt = randu(nte * d, 18);
    int64_t *y = malloc(n * sizeof *y), *yt = malloc(nte * sizeof *yt);
    /* Labels from a fixed linear rule, so the fit has something to learn. */
    for (size_t i = 0; i < n + nte; i++) {
        const float *r = i < n ? x + i * d : xt + (i - n) * d;
        double s = 0;
        for (size_t j = 0; j < 8; j++) s += r[j];
        int64_t v = (int64_t)floor((s + 4.0) * 5.0);
        v = v < 0 ? 0 : v >= (int64_t)k ? (int64_t)k - 1 : v;
        if (i < n)
            y[i] = v;
        else
            yt[i - n] = v;
    }
    for (size_t c = 0; c < k; c++) y[c] = (int64_t)c; /* every class occurs */
    const double grid[] = {1e-2, 1e-3};
    sl_probe_result *first = NULL;
    for (int c = 0; c < N_COUNTS; c++) {
        sl_threads_set(thread_counts[c]);
        sl_probe_config cfg;
        sl_probe_config_default(&cfg);
        cfg.lambdas = grid, cfg.n_lambdas = 2;
        cfg.lbfgs.max_iter = 15;
        sl_probe_result *r;
        ASSERT_OK(sl_probe_run(&cfg, x, y, n, xt, yt, nte, d, &r));
        if (!c) {
            first = r;
            continue;
        }
        if (!same_bits(first->theta, r->theta, k * (d + 1) * sizeof(double)) ||
            !same_bits(&first->test_acc, &r->test_acc, sizeof r->test_acc) ||
            !same_bits(first->grid_val_acc, r->grid_val_acc, 2 * sizeof(double)) ||
            first->fit.iterations != r->fit.iterations)
            T_FAIL("probe with %d threads differs from 1 thread", thread_counts[c]);
        sl_probe_result_destroy(r);
    }
    sl_probe_result_destroy(first);
    free(x), free(xt), free(y), free(yt);
}

TEST(geometry_identical_across_thread_counts) {
    size_t n = 2000, d = 520;
    ASSERT_TRUE(tile_count(256, n, d) > 1 && tile_count(d, d, 1024) > 1);
    float *a = randu(n * d, 19), *b = randu(n * d, 20);
    int64_t *labels = malloc(n * sizeof *labels);
    for (size_t i = 0; i < n; i++) labels[i] = (int64_t)(i % 7);
    double eig0[520], eig[520], er0 = 0, er = 0, al0 = 0, al = 0, un0 = 0, un = 0;
    float *ab0 = malloc(n * d * sizeof *ab0), *ab = malloc(n * d * sizeof *ab);
    sl_geom_class *cl0 = NULL;
    size_t k0 = 0;
    for (int c = 0; c < N_COUNTS; c++) {
        sl_threads_set(thread_counts[c]);
        sl_geom_class *cl;
        size_t k;
        ASSERT_OK(sl_geom_spectrum(a, n, d, c ? eig : eig0, c ? &er : &er0));
        ASSERT_OK(sl_geom_align_uniform(a, b, n, d, 2.0, c ? &al : &al0, c ? &un : &un0));
        ASSERT_OK(sl_geom_class_geometry(a, n, d, labels, &cl, &k));
        memcpy(c ? ab : ab0, a, n * d * sizeof *a);
        ASSERT_OK(sl_geom_abtt(c ? ab : ab0, n, d, 3));
        if (!c) {
            cl0 = cl, k0 = k;
            continue;
        }
        if (!same_bits(eig0, eig, sizeof eig) || er0 != er || !same_bits(&al0, &al, sizeof al) ||
            !same_bits(&un0, &un, sizeof un) || k != k0 || !same_bits(cl0, cl, k * sizeof *cl) ||
            !same_bits(ab0, ab, n * d * sizeof *ab))
            T_FAIL("geometry with %d threads differs from 1 thread", thread_counts[c]);
        sl_allocator_free(cl);
    }
    sl_allocator_free(cl0);
    free(a), free(b), free(labels), free(ab0), free(ab);
}

TEST(trustworthiness_and_purity_identical_across_thread_counts) {
    /* n = 2400: blocks of 1024 rows x 2400 x 300 for the distances. */
    size_t n = 2400, d = 300;
    ASSERT_TRUE(tile_count(1024, n, d) > 1);
    float *x = randu(n * d, 21), *y = malloc(n * 2 * sizeof *y);
    for (size_t i = 0; i < n; i++) y[2 * i] = x[i * d] + x[i * d + 1], y[2 * i + 1] = x[i * d + 2] - x[i * d + 3];
    int64_t *labels = malloc(n * sizeof *labels);
    for (size_t i = 0; i < n; i++) labels[i] = x[i * d] > 0;
    double t[N_COUNTS], p[N_COUNTS];
    for (int c = 0; c < N_COUNTS; c++) {
        sl_threads_set(thread_counts[c]);
        ASSERT_OK(sl_map_trustworthiness(x, n, d, y, 2, 7, &t[c]));
        ASSERT_OK(sl_map_purity(y, n, 2, labels, 7, &p[c]));
        if (c && (!same_bits(&t[0], &t[c], sizeof *t) || !same_bits(&p[0], &p[c], sizeof *p)))
            T_FAIL("%d threads: trustworthiness %.17g, purity %.17g; 1 thread: %.17g, %.17g", thread_counts[c], t[c],
                   p[c], t[0], p[0]);
    }
    free(x), free(y), free(labels);
}

/* ---- the command line ---------------------------------------------------- */

static char *file_bytes(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) T_FAIL("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) T_FAIL("cannot read %s", path);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void same_file(const char *a, const char *b) {
    size_t la, lb;
    char *x = file_bytes(a, &la), *y = file_bytes(b, &lb);
    if (la != lb || memcmp(x, y, la)) T_FAIL("%s and %s differ", a, b);
    free(x), free(y);
}

/* Output lines without the ones that report times. */
static char *without_times(char *out) {
    char *w = out;
    for (char *line = out; *line;) {
        char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) + 1 : strlen(line);
        bool timed = strstr(line, "selection:") == line || strstr(line, "refit on") == line ||
                     strstr(line, "whole probe") == line;
        if (!timed) memmove(w, line, n), w += n;
        line += n;
    }
    *w = '\0';
    return out;
}

static void run_ok(const char *cmd, char **out) {
    char *o = NULL;
    int rc = t_run(cmd, &o);
    if (rc != 0) T_FAIL("`%s` failed (exit %d):\n%s", cmd, rc, o ? o : "");
    if (out)
        *out = o;
    else
        free(o);
}

TEST(cli_results_identical_across_thread_counts) {
    /* With --threads 1 and --threads 2, the same bytes from: training (batch
     * 512 through 1024 -> 512 -> 512 linear layers), embedding (512 wide),
     * a t-SNE map and exact search of 768-wide raw pixels, and geometry and a
     * probe of the embeddings. */
    /* 512 x 512 x 1024 is also the shape of the embeddings' covariance blocks. */
    ASSERT_TRUE(tile_count(512, 512, 1024) > 1 && tile_count(1024, 2500, 768) > 1);
    const char *s = t_simlearn();
    char cmd[16384], *out[2], f[2][7][512], raw[512], labels[512];
    snprintf(raw, sizeof raw, "%s", t_path("raw.npy"));
    snprintf(labels, sizeof labels, "%s", t_path("raw.labels.npy"));
    snprintf(cmd, sizeof cmd, "%s embed --raw --data shapes --size 16 --split train --count 2500 -q -o %s", s, raw);
    run_ok(cmd, NULL);
    const char *names[7] = {"m.safetensors", "e.npy", "c.npy", "map.svg", "i.npy", "s.npy", "g.npy"};
    for (int t = 0; t < 2; t++) {
        for (int k = 0; k < 7; k++) {
            char nm[64];
            snprintf(nm, sizeof nm, "%d%s", t + 1, names[k]);
            snprintf(f[t][k], sizeof f[t][k], "%s", t_path(nm));
        }
        int th = t + 1;
        snprintf(cmd, sizeof cmd,
                 "%s train --data shapes --size 16 --count 1024 --objective supcon --batch 512 --steps 3 --seed 3 "
                 "--encoder 'conv(16,3,stride=2,pad=1),bn,relu,flatten,linear(512)' --projector 'linear(512)' "
                 "--threads %d --data-threads %d -q -o %s",
                 s, th, th, f[t][0]);
        run_ok(cmd, NULL);
        snprintf(cmd, sizeof cmd, "%s embed --model %s --split train --count 2500 --threads %d -q -o %s", s, f[t][0],
                 th, f[t][1]);
        run_ok(cmd, NULL);
        snprintf(cmd, sizeof cmd, "%s map %s --labels %s --iters 60 --threads %d --coords %s -o %s -q", s, raw, labels,
                 th, f[t][2], f[t][3]);
        run_ok(cmd, NULL);
        snprintf(cmd, sizeof cmd,
                 "%s knn -b %s --self -k 5 --metric cosine --threads %d --ids-out %s --scores-out %s -q", s, raw,
                 th, f[t][4], f[t][5]);
        run_ok(cmd, NULL);
        /* The embeddings' labels are the raw rows' labels (same items). */
        snprintf(cmd, sizeof cmd, "%s geometry %s --labels %s --threads %d --spectrum-out %s -q", s, f[0][1], labels,
                 th, f[t][6]);
        run_ok(cmd, NULL);
        snprintf(cmd, sizeof cmd, "%s probe --train %s --train-labels %s --max-iter 20 --threads %d -q", s, f[0][1],
                 labels, th);
        run_ok(cmd, &out[t]);
    }
    for (int k = 0; k < 7; k++) same_file(f[0][k], f[1][k]);
    if (strcmp(without_times(out[0]), without_times(out[1])))
        T_FAIL("probe output differs:\n%s\n---\n%s", out[0], out[1]);
    free(out[0]), free(out[1]);
}

/* ---- every OpenBLAS build and kernel ------------------------------------- */

/* The directory of the OpenBLAS library this process loaded, links resolved
 * (on Debian .../openblas-pthread or .../openblas-openmp). */
static int find_blas(struct dl_phdr_info *info, size_t size, void *out) {
    (void)size;
    const char *name = info->dlpi_name;
    if (!name || !strstr(name, "libopenblas")) return 0;
    char real[PATH_MAX];
    if (!realpath(name, real)) return 0;
    *strrchr(real, '/') = '\0';
    snprintf(out, PATH_MAX, "%s", real);
    return 1;
}

static void loaded_blas_dir(char *out) {
    out[0] = '\0';
    dl_iterate_phdr(find_blas, out);
    if (!out[0]) T_FAIL("cannot find the OpenBLAS library among the loaded objects");
}

/* The library a child process was started with (SIMLEARN_TEST_BLAS, and
 * OPENBLAS_CORETYPE when set) is the one it runs: the checks below would
 * prove nothing if LD_LIBRARY_PATH or the kernel choice had no effect. */
TEST(openblas_build_and_kernel_are_the_ones_asked_for) {
    char dir[PATH_MAX];
    loaded_blas_dir(dir);
    bool openmp = strstr(openblas_get_config(), "USE_OPENMP") != NULL;
    const char *base = strrchr(dir, '/') + 1;
    if (!strncmp(base, "openblas-", 9)) ASSERT_TRUE(openmp == !strcmp(base, "openblas-openmp"));
    const char *want = getenv("SIMLEARN_TEST_BLAS"), *core = getenv("OPENBLAS_CORETYPE");
    if (want && strcmp(want, dir)) T_FAIL("asked for the OpenBLAS in %s, loaded the one in %s", want, dir);
    if (want && core && *core && strcasecmp(core, openblas_get_corename()))
        T_FAIL("asked for the %s kernels, OpenBLAS runs %s", core, openblas_get_corename());
}

/* Run `bin case` with the given OpenBLAS directory and kernel; fail with its
 * output if it fails. */
static void run_child(const char *bin, const char *name, const char *dir, const char *core) {
    const char *old = getenv("LD_LIBRARY_PATH");
    const char *fmt = "env LD_LIBRARY_PATH='%s%s%s' %s%s SIMLEARN_TEST_BLAS='%s' '%s' %s";
    char *out = NULL;
#define CHILD_ARGS \
    dir, old && *old ? ":" : "", old ? old : "", core ? "OPENBLAS_CORETYPE=" : "", core ? core : "", dir, bin, name
    int len = snprintf(NULL, 0, fmt, CHILD_ARGS);
    char *cmd = malloc((size_t)len + 1);
    snprintf(cmd, (size_t)len + 1, fmt, CHILD_ARGS);
#undef CHILD_ARGS
    int rc = t_run(cmd, &out);
    free(cmd);
    if (rc != 0)
        T_FAIL("with the OpenBLAS in %s and %s kernels, %s %s failed (exit %d):\n%s", dir, core ? core : "its own",
               strrchr(bin, '/') + 1, name, rc, out ? out : "");
    free(out);
}

TEST(results_identical_across_thread_counts_under_every_openblas_build_and_kernel) {
    char self[PATH_MAX], tsne[PATH_MAX + 32], dir[PATH_MAX], lib[PATH_MAX + 32];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    ASSERT_TRUE(len > 0);
    self[len] = '\0';
    snprintf(tsne, sizeof tsne, "%.*s/test_viz_tsne", (int)(strrchr(self, '/') - self), self);
    if (access(tsne, X_OK) != 0) T_FAIL("%s is not built (make tests-build)", tsne);
    /* Debian installs each build in its own directory beside the other. */
    char loaded[PATH_MAX];
    loaded_blas_dir(loaded);
    snprintf(dir, sizeof dir, "%s", loaded);
    *strrchr(dir, '/') = '\0';
    const char *builds[] = {"openblas-pthread", "openblas-openmp"};
    /* Besides the machine's own kernels: Haswell's (under which the t-SNE
     * maps first differed between thread counts) and Zen's; both need AVX2
     * and FMA. */
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const char *cores[] = {NULL, "Haswell", "Zen"};
    const char *cases[] = {"openblas_build_and_kernel_are_the_ones_asked_for",
                           "gemm_is_identical_across_thread_counts",
                           "gemm_leaves_the_thread_settings_as_the_program_set_them",
                           "linear_forward_backward_identical_across_thread_counts",
                           "conv_forward_backward_identical_across_thread_counts",
                           "vit_forward_backward_identical_across_thread_counts",
                           "text_transformer_on_padded_ids_identical_across_thread_counts",
                           "losses_identical_across_thread_counts",
                           "flat_search_identical_across_thread_counts",
                           "ivfpq_identical_across_thread_counts",
                           "pca_identical_across_thread_counts",
                           "cli_results_identical_across_thread_counts"};
    bool have_openmp = false;
    for (int b = 0; b < 2; b++) {
        snprintf(lib, sizeof lib, "%s/%s/libopenblas.so.0", dir, builds[b]);
        if (access(lib, R_OK) != 0) continue;
        have_openmp |= b == 1;
        snprintf(lib, sizeof lib, "%s/%s", dir, builds[b]);
        for (int c = 0; c < 3; c++) {
            if (cores[c] && !avx2) continue;
            /* The build this process loaded, with its own kernels, is the
             * one the cases above run with in `make test`. */
            if (!cores[c] && !strcmp(lib, loaded)) continue;
            /* Zen shares most of its sgemm code with Haswell: the products
             * suffice there. The command line runs once per build: with the
             * Haswell kernels under the pthread build, with the machine's own
             * under the OpenMP build. */
            size_t nc = sizeof cases / sizeof cases[0];
            if (c == 2)
                nc = 3;
            else if ((c == 1) == (b == 1))
                nc--;
            for (size_t k = 0; k < nc; k++) run_child(self, cases[k], lib, cores[c]);
            if (c < 2) run_child(tsne, "tsne_is_deterministic_across_thread_counts", lib, cores[c]);
        }
    }
    if (!have_openmp) {
        const char *ci = getenv("CI");
        if (ci && *ci && strcmp(ci, "false") && strcmp(ci, "0"))
            T_FAIL("the OpenMP build of OpenBLAS (libopenblas0-openmp, in %s/openblas-openmp) is missing: "
                   "run scripts/deps.sh test",
                   dir);
        SKIP("the OpenMP build of OpenBLAS is not installed (scripts/deps.sh test installs libopenblas0-openmp)");
    }
}

/* Tests of Poincaré embeddings: the distance against closed forms, the
 * loss's gradient against central differences, the Riemannian step and the
 * projection, a small tree reconstructed, the evaluation's ranks on fixed
 * points, the edge-list reader's errors, the held-out split, the stop flag,
 * and the `simlearn words poincare` command line. */
#include "test.h"
#include "words/words_internal.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>

static void write_text(const char *path, const char *text) { t_write_file(path, text, strlen(text)); }

TEST(poincare_distance_closed_forms) {
    /* From the origin: d(0, x) = 2 artanh|x| = log((1+r)/(1-r)). */
    float o[3] = {0, 0, 0}, x[3] = {0.6f, 0, 0}, y[3] = {-0.6f, 0, 0}, z[3] = {0, 0.3f, 0.4f};
    ASSERT_NEAR(sl_words_poincare_distance(o, x, 3), log(1.6 / 0.4), 1e-6);
    ASSERT_NEAR(sl_words_poincare_distance(o, z, 3), log(1.5 / 0.5), 1e-6);
    ASSERT_NEAR(sl_words_poincare_distance(x, o, 3), sl_words_poincare_distance(o, x, 3), 0);
    /* x and -x: arcosh(1 + 2·(2r)²/(1-r²)²), and through the origin: twice d(0, x). */
    double r = 0.6, want = acosh(1 + 2 * (4 * r * r) / ((1 - r * r) * (1 - r * r)));
    ASSERT_NEAR(sl_words_poincare_distance(x, y, 3), want, 1e-6);
    ASSERT_NEAR(sl_words_poincare_distance(x, y, 3), 2 * log(1.6 / 0.4), 1e-6);
    ASSERT_NEAR(sl_words_poincare_distance(x, x, 3), 0, 0);
    /* Close points: d ≈ 2|u-v|/(1-r²), where arcosh(1 + tiny) loses it all. */
    float a[2] = {0.5f, 0}, b[2] = {0.5f, 1e-6f};
    ASSERT_CLOSE(sl_words_poincare_distance(a, b, 2), 2 * 1e-6 / 0.75, 1e-4, 0);
    /* At and beyond the boundary the distance stays finite and large. */
    float edge[2] = {1, 0}, out[2] = {0, 2};
    double de = sl_words_poincare_distance(o, edge, 2), dout = sl_words_poincare_distance(edge, out, 2);
    ASSERT_TRUE(isfinite(de) && de > 30);
    ASSERT_TRUE(isfinite(dout) && dout > 30);
    float nearb[2] = {0.99999f, 0};
    ASSERT_CLOSE(sl_words_poincare_distance(o, nearb, 2), log((1 + 0.99999) / (1 - 0.99999)), 1e-3, 0);
}

/* The loss of rows perturbed by ±h in one coordinate. */
static double loss_at(float *const *rows, size_t n, size_t d, size_t j, size_t c, float h) {
    double scratch[64];
    float keep = rows[j][c];
    rows[j][c] = keep + h;
    double l = sl__poincare_loss((const float *const *)rows, n, d, NULL, scratch);
    rows[j][c] = keep;
    return l;
}

TEST(poincare_loss_gradient_matches_differences) {
    enum { D = 5, N = 6 }; /* u, its parent and 4 negatives */
    sl_rng r;
    sl_rng_seed(&r, 7, 0);
    float x[N][D];
    float *rows[N];
    for (size_t j = 0; j < N; j++) {
        double scale = 0.15 * (double)(j + 1); /* norms from about 0.15 to 0.9 */
        for (size_t c = 0; c < D; c++) x[j][c] = (float)(scale * (2 * sl_rng_uniform_d(&r) - 1) / sqrt((double)D) * 1.7);
        rows[j] = x[j];
    }
    double grad[N * D], scratch[2 * N];
    double l = sl__poincare_loss((const float *const *)rows, N, D, grad, scratch);
    ASSERT_TRUE(isfinite(l) && l > 0);
    size_t checked = 0;
    for (size_t j = 0; j < N; j++)
        for (size_t c = 0; c < D; c++) {
            const float h = 1e-3f;
            double num = (loss_at(rows, N, D, j, c, h) - loss_at(rows, N, D, j, c, -h)) / (2 * (double)h);
            ASSERT_CLOSE(grad[j * D + c], num, 2e-3, 2e-4);
            checked++;
        }
    ASSERT_EQ_SIZE(checked, N * D);
    /* The loss falls along minus the gradient. */
    for (size_t j = 0; j < N; j++)
        for (size_t c = 0; c < D; c++) x[j][c] -= (float)(1e-3 * grad[j * D + c]);
    ASSERT_TRUE(sl__poincare_loss((const float *const *)rows, N, D, NULL, scratch) < l);
    /* The loss of one positive and no negative is 0, with no gradient. */
    double g2[2 * D];
    ASSERT_NEAR(sl__poincare_loss((const float *const *)rows, 2, D, g2, scratch), 0, 1e-12);
    for (size_t c = 0; c < 2 * D; c++) ASSERT_NEAR(g2[c], 0, 1e-12);
}

TEST(poincare_step_scales_and_projects) {
    /* Inside: θ -= lr·(1-|θ|²)²/4·g. */
    float t[2] = {0.6f, 0};
    double g[2] = {1, -2}, k = 0.5 * (1 - 0.36) * (1 - 0.36) / 4;
    sl__poincare_step(t, g, 2, 0.5, 1e-5);
    ASSERT_NEAR(t[0], 0.6 - k * 1, 1e-6);
    ASSERT_NEAR(t[1], 0 + k * 2, 1e-6);
    /* At the origin the factor is 1/4. */
    float o[2] = {0, 0};
    sl__poincare_step(o, g, 2, 0.1, 1e-5);
    ASSERT_NEAR(o[0], -0.025, 1e-7);
    ASSERT_NEAR(o[1], 0.05, 1e-7);
    /* A step that leaves the ball is pulled back to norm 1 - eps, same direction. */
    float p[2] = {0.5f, 0.5f};
    double big[2] = {-100, -100};
    sl__poincare_step(p, big, 2, 10, 1e-3);
    ASSERT_NEAR(sqrt((double)p[0] * p[0] + (double)p[1] * p[1]), 1 - 1e-3, 1e-6);
    ASSERT_NEAR(p[0], p[1], 1e-7);
    ASSERT_TRUE(p[0] > 0);
}

/* The transitive closure of a complete binary tree of the given depth:
 * node i's children are 2i+1 and 2i+2; names "n<i>". */
static sl_words_edges *binary_tree(int depth) {
    size_t n = ((size_t)1 << (depth + 1)) - 1, m = 0;
    char **names = calloc(n, sizeof *names);
    uint32_t *c = calloc(n * (size_t)depth, sizeof *c), *p = calloc(n * (size_t)depth, sizeof *p);
    ASSERT_TRUE(depth >= 1 && depth <= 16 && names && c && p);
    for (size_t i = 0; i < n; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "n%zu", i);
        names[i] = strdup(buf);
        for (size_t a = i; a > 0;) {
            a = (a - 1) / 2;
            c[m] = (uint32_t)i;
            p[m++] = (uint32_t)a;
        }
    }
    sl_words_edges *e;
    ASSERT_OK(sl_words_edges_create((const char *const *)names, n, c, p, m, &e));
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    free(c);
    free(p);
    return e;
}

static double norm(const sl_wordvecs *w, size_t i) {
    double s = 0;
    for (size_t c = 0; c < w->dim; c++) s += (double)w->vecs[i * w->dim + c] * w->vecs[i * w->dim + c];
    return sqrt(s);
}

TEST(poincare_reconstructs_a_binary_tree) {
    sl_words_edges *e = binary_tree(3); /* 15 nodes, 34 edges */
    ASSERT_EQ_SIZE(e->nnodes, 15);
    ASSERT_EQ_SIZE(e->nedges, 2 + 4 * 2 + 8 * 3);
    sl_words_poincare_config c;
    sl_words_poincare_config_default(&c);
    c.dim = 5;
    c.negative = 4;
    c.epochs = 300;
    c.lr = 0.3;
    sl_wordvecs *w;
    sl_words_poincare_stats st;
    ASSERT_OK(sl_words_poincare_train(e, &c, &w, &st));
    ASSERT_EQ_SIZE(w->n, 15);
    ASSERT_STREQ(w->words[7], "n7");
    ASSERT_EQ_SIZE(st.updates, (size_t)34 * 310);
    ASSERT_TRUE(isfinite(st.loss) && st.loss < 1.0);
    sl_words_poincare_eval ev;
    ASSERT_OK(sl_words_poincare_evaluate(w, NULL, e, &ev));
    ASSERT_EQ_SIZE(ev.edges, 34);
    ASSERT_EQ_SIZE(ev.nodes, 14);
    ASSERT_TRUE(ev.map > 0.95);
    ASSERT_TRUE(ev.mean_rank < 1.1);
    /* Every parent nearer the origin than its children. */
    for (size_t i = 1; i < 15; i++) ASSERT_TRUE(norm(w, (i - 1) / 2) < norm(w, i));
    for (size_t i = 0; i < 15; i++) ASSERT_TRUE(norm(w, i) < 1 - c.epsilon * 0.5);
    /* One thread: the same seed gives the same vectors, another seed others. */
    sl_wordvecs *w2, *w3;
    ASSERT_OK(sl_words_poincare_train(e, &c, &w2, NULL));
    ASSERT_TRUE(memcmp(w->vecs, w2->vecs, 15 * 5 * sizeof(float)) == 0);
    c.seed = 2;
    ASSERT_OK(sl_words_poincare_train(e, &c, &w3, NULL));
    ASSERT_TRUE(memcmp(w->vecs, w3->vecs, 15 * 5 * sizeof(float)) != 0);
    sl_wordvecs_destroy(w);
    sl_wordvecs_destroy(w2);
    sl_wordvecs_destroy(w3);
    sl_words_edges_destroy(e);
}

/* Fixed points on a line: ranks and average precision by hand. */
TEST(poincare_evaluation_ranks_by_hand) {
    const char *names[] = {"a", "p", "q", "x", "y"};
    /* a at 0; its parents p (0.1) and q (0.5); x at 0.3 lies between, y at -0.7 beyond. */
    sl_wordvecs *w;
    ASSERT_OK(sl_wordvecs_create(5, 1, &w));
    const float v[] = {0, 0.1f, 0.5f, 0.3f, -0.7f};
    for (int i = 0; i < 5; i++) {
        w->words[i] = strdup(names[i]);
        w->vecs[i] = v[i];
    }
    uint32_t c[] = {0, 0, 3}, p[] = {1, 2, 4};
    sl_words_edges *e;
    ASSERT_OK(sl_words_edges_create(names, 5, c, p, 3, &e));
    sl_words_poincare_eval ev;
    ASSERT_OK(sl_words_poincare_evaluate(w, NULL, e, &ev));
    /* a: p rank 1, q rank 2 (x is nearer), AP = (1/1 + 2/3)/2; x: y among a, p, q
     * (all nearer), rank 4, AP 1/4. */
    ASSERT_EQ_SIZE(ev.nodes, 2);
    ASSERT_EQ_SIZE(ev.edges, 3);
    ASSERT_NEAR(ev.mean_rank, (1 + 2 + 4) / 3.0, 1e-12);
    ASSERT_NEAR(ev.map, ((1 + 2.0 / 3) / 2 + 0.25) / 2, 1e-12);
    /* Link prediction: x known as a's parent is no longer a candidate. */
    uint32_t kc[] = {0}, kp[] = {3};
    sl_words_edges *known;
    ASSERT_OK(sl_words_edges_create(names, 5, kc, kp, 1, &known));
    ASSERT_OK(sl_words_poincare_evaluate(w, known, e, &ev));
    ASSERT_NEAR(ev.mean_rank, (1 + 1 + 4) / 3.0, 1e-12);
    /* A node without a vector. */
    free(w->words[4]);
    w->words[4] = strdup("z");
    ASSERT_FAILS(sl_words_poincare_evaluate(w, NULL, e, &ev), SL_ERR_NOTFOUND, "'y' has no vector");
    sl_words_edges_destroy(known);
    sl_words_edges_destroy(e);
    sl_wordvecs_destroy(w);
}

TEST(poincare_edges_reader) {
    const char *f = t_path("e.tsv");
    write_text(f, "# a comment\n\ndog\tcanine\ndog canine\n  dog   mammal \r\ncanine\tmammal\n");
    sl_words_edges *e;
    ASSERT_OK(sl_words_edges_read(f, &e));
    ASSERT_EQ_SIZE(e->nnodes, 3);
    ASSERT_EQ_SIZE(e->nedges, 3); /* the repeated edge counts once */
    ASSERT_STREQ(e->name[0], "dog");
    ASSERT_STREQ(e->name[2], "mammal");
    ASSERT_EQ_SIZE(e->first[1] - e->first[0], 2); /* dog's parents */
    ASSERT_EQ_INT((int)e->count[2], 2);
    sl_words_edges_destroy(e);
}

TEST(poincare_edges_reader_rejects_bad_input) {
    const char *f = t_path("bad.tsv");
    sl_words_edges *e = NULL;
    write_text(f, "dog canine\ncat\n");
    ASSERT_FAILS(sl_words_edges_read(f, &e), SL_ERR_FORMAT, "bad.tsv: line 2: expected \"child parent\", found one name ('cat')");
    write_text(f, "dog canine mammal\n");
    ASSERT_FAILS(sl_words_edges_read(f, &e), SL_ERR_FORMAT, "line 1: expected \"child parent\", found a third column ('mammal')");
    write_text(f, "");
    ASSERT_FAILS(sl_words_edges_read(f, &e), SL_ERR_FORMAT, "bad.tsv: no edges");
    write_text(f, "# only comments\n\n   \n");
    ASSERT_FAILS(sl_words_edges_read(f, &e), SL_ERR_FORMAT, "no edges");
    write_text(f, "a b\ndog dog\n");
    ASSERT_FAILS(sl_words_edges_read(f, &e), SL_ERR_FORMAT, "line 2: 'dog' is its own parent");
    t_write_file(f, "a b\nc\0d e\n", 10);
    ASSERT_FAILS(sl_words_edges_read(f, &e), SL_ERR_FORMAT, "line 2: a NUL byte");
    char longline[400];
    memset(longline, 'x', 300);
    strcpy(longline + 300, " y\n");
    write_text(f, longline);
    ASSERT_FAILS(sl_words_edges_read(f, &e), SL_ERR_FORMAT, "line 1: a name of 300 bytes, expected at most 100");
    ASSERT_FAILS(sl_words_edges_read(t_path("missing.tsv"), &e), SL_ERR_IO, "missing.tsv");
    ASSERT_TRUE(e == NULL);
    const char *names[] = {"a", "b"};
    uint32_t c[] = {0}, p[] = {0}, q[] = {2};
    ASSERT_FAILS(sl_words_edges_create(names, 2, c, p, 1, &e), SL_ERR_ARG, "'a' is its own parent");
    ASSERT_FAILS(sl_words_edges_create(names, 2, c, q, 1, &e), SL_ERR_ARG, "beyond the 2 nodes");
    ASSERT_FAILS(sl_words_edges_create(names, 2, c, q, 0, &e), SL_ERR_ARG, "no edges");
}

TEST(poincare_split_keeps_every_node) {
    sl_words_edges *e = binary_tree(4), *tr, *te; /* 31 nodes, 98 edges */
    ASSERT_OK(sl_words_edges_split(e, 0.3, 5, &tr, &te));
    ASSERT_EQ_SIZE(tr->nedges + te->nedges, e->nedges);
    ASSERT_EQ_SIZE(te->nedges, (size_t)(0.3 * 98));
    for (size_t i = 0; i < e->nnodes; i++) {
        ASSERT_TRUE(tr->count[i] >= 1);
        ASSERT_STREQ(tr->name[i], e->name[i]);
    }
    for (size_t k = 0; k < te->nedges; k++) { /* held out: not in train */
        uint32_t c = te->child[k], p = te->parent[k];
        for (size_t j = tr->first[c]; j < tr->first[c + 1]; j++) ASSERT_TRUE(tr->parent[j] != p);
    }
    sl_words_edges_destroy(tr);
    sl_words_edges_destroy(te);
    ASSERT_FAILS(sl_words_edges_split(e, 1.0, 5, &tr, &te), SL_ERR_ARG, "test fraction 1");
    sl_words_edges_destroy(e);
}

TEST(poincare_train_checks_settings_and_stops) {
    sl_words_edges *e = binary_tree(3);
    sl_words_poincare_config c;
    sl_words_poincare_config_default(&c);
    ASSERT_EQ_INT(c.dim, 50);
    ASSERT_EQ_INT(c.negative, 10);
    ASSERT_NEAR(c.lr, 0.1, 0);
    ASSERT_EQ_INT(c.burn_in, 10);
    ASSERT_NEAR(c.burn_in_lr, 0.01, 0);
    ASSERT_NEAR(c.dampening, 0.75, 0);
    sl_wordvecs *w = NULL;
    c.negative = 0;
    ASSERT_FAILS(sl_words_poincare_train(e, &c, &w, NULL), SL_ERR_ARG, "negative 0");
    c.negative = 10;
    c.epochs = c.burn_in = 0;
    ASSERT_FAILS(sl_words_poincare_train(e, &c, &w, NULL), SL_ERR_ARG, "no epochs");
    c.epochs = 5;
    c.epsilon = 0.5;
    ASSERT_FAILS(sl_words_poincare_train(e, &c, &w, NULL), SL_ERR_ARG, "epsilon 0.5");
    sl_words_poincare_config_default(&c);
    static volatile sig_atomic_t stop = 1;
    c.stop = &stop;
    c.threads = 2;
    ASSERT_FAILS(sl_words_poincare_train(e, &c, &w, NULL), SL_ERR_INTERRUPTED, "interrupted in epoch 1");
    ASSERT_TRUE(w == NULL);
    sl_words_edges_destroy(e);
}

TEST(poincare_nearest_by_distance) {
    const char *names[] = {"a", "b", "c", "d"};
    sl_wordvecs *w;
    ASSERT_OK(sl_wordvecs_create(4, 2, &w));
    const float v[] = {0, 0, 0.9f, 0, 0.5f, 0, 0, -0.2f};
    for (int i = 0; i < 4; i++) w->words[i] = strdup(names[i]);
    memcpy(w->vecs, v, sizeof v);
    size_t idx[3], found, ex = 0;
    float dist[3];
    ASSERT_OK(sl_words_poincare_nearest(w, w->vecs, 3, &ex, 1, idx, dist, &found));
    ASSERT_EQ_SIZE(found, 3);
    ASSERT_EQ_SIZE(idx[0], 3);
    ASSERT_EQ_SIZE(idx[1], 2);
    ASSERT_EQ_SIZE(idx[2], 1);
    ASSERT_NEAR(dist[2], log(1.9 / 0.1), 1e-5);
    sl_wordvecs_destroy(w);
}

TEST(poincare_cli) {
    const char *f = t_path("tree.tsv");
    FILE *o = fopen(f, "w");
    for (int i = 1; i < 31; i++)
        for (int a = i; a > 0;) {
            a = (a - 1) / 2;
            fprintf(o, "n%d\tn%d\n", i, a);
        }
    fclose(o);
    char cmd[2048], *out = NULL, v[512], t[512];
    snprintf(v, sizeof v, "%s", t_path("tree.npy"));
    snprintf(t, sizeof t, "%s", t_path("tree.txt"));
    snprintf(cmd, sizeof cmd, "%s words poincare %s -o %s --dim 5 --epochs 200 --lr 0.3 --negative 5 --eval -q",
             t_simlearn(), f, v);
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "31 nodes, 98 edges");
    ASSERT_CONTAINS(out, "trained 210 epochs (10 burn-in)");
    ASSERT_CONTAINS(out, "reconstruction: mean rank 1.");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words poincare-eval %s --edges %s", t_simlearn(), v, f);
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "reconstruction: mean rank 1.");
    ASSERT_CONTAINS(out, "(98 edges of 30 nodes)");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words nearest %s --metric poincare n1 -k 3", t_simlearn(), v);
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "n1: norm 0.");
    ASSERT_CONTAINS(out, "  1  n");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words poincare %s -o %s --format text --dim 4 --epochs 20 --holdout 0.2 -q",
             t_simlearn(), f, t);
    ASSERT_EQ_INT(t_run(cmd, &out), 0);
    ASSERT_CONTAINS(out, "31 nodes, 79 edges for training, 19 held out");
    ASSERT_CONTAINS(out, "link prediction: mean rank");
    free(out);
    sl_wordvecs *w;
    ASSERT_OK(sl_w2v_read(t, SL_W2V_TEXT, &w));
    ASSERT_EQ_SIZE(w->n, 31);
    ASSERT_EQ_SIZE(w->dim, 4);
    sl_wordvecs_destroy(w);
    write_text(t_path("bad.tsv"), "a b\nc\n");
    snprintf(cmd, sizeof cmd, "%s words poincare %s -o %s -q", t_simlearn(), t_path("bad.tsv"), t_path("x.npy"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    ASSERT_CONTAINS(out, "simlearn: error: ");
    ASSERT_CONTAINS(out, "bad.tsv: line 2: expected \"child parent\"");
    free(out);
    snprintf(cmd, sizeof cmd, "%s words poincare-eval %s --edges %s", t_simlearn(), v, t_path("bad.tsv"));
    ASSERT_EQ_INT(t_run(cmd, &out), 1);
    free(out);
    snprintf(cmd, sizeof cmd, "%s words poincare %s -o %s --negative 0", t_simlearn(), f, v);
    ASSERT_EQ_INT(t_run(cmd, &out), 2);
    free(out);
}

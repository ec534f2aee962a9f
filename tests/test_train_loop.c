/* Tests of the training loop: every objective trains (its logged loss falls
 * over 100 steps), resume is bit-identical to a straight run and starts at its
 * own batch (at step 10,000 too), corrupt checkpoint settings are refused by
 * name, a non-finite loss stops the run naming the step and keeps the last
 * good checkpoint, the stop flag and the time limit write a checkpoint,
 * embeddings and the tokenizer. Tiny models and datasets throughout. */
#include "test.h"
#include <unistd.h>
#include "train_helpers.h"

#include "data/data_internal.h"
#include "train/train_internal.h"

/* All model tensors and optimizer moments of a and b are equal bit for bit. */
static void assert_same_tensors(const char *pa, const char *pb) {
    sl_tensors *a = load(pa), *b = load(pb);
    ASSERT_EQ_SIZE(sl_tensors_count(a), sl_tensors_count(b));
    size_t checked = 0;
    for (size_t i = 0; i < sl_tensors_count(a); i++) {
        const char *n = sl_tensors_name(a, i);
        const sl_array *x = sl_tensors_get(a, n), *y = sl_tensors_get(b, n);
        ASSERT_TRUE(y != NULL);
        ASSERT_EQ_SIZE(sl_array_count(x), sl_array_count(y));
        if (memcmp(x->data, y->data, sl_array_count(x) * sl_dtype_size(x->dtype)) != 0)
            T_FAIL("tensor %s differs between %s and %s", n, pa, pb);
        checked++;
    }
    ASSERT_TRUE(checked > 4);
    ASSERT_STREQ(sl_tensors_get_meta(a, "train.step"), sl_tensors_get_meta(b, "train.step"));
    sl_tensors_destroy(a);
    sl_tensors_destroy(b);
}

/* Go on from `from` to `steps` (stopping after stop_at if > 0), writing `from`. */
static void resume_from(const char *from, size_t steps, size_t stop_at, int data_threads) {
    sl_train_config rc;
    sl_train_result r;
    sl_train_config_default(&rc);
    rc.resume = from;
    rc.out = from;
    rc.steps = steps;
    rc.stop_at = stop_at;
    rc.threads = 1;
    rc.data_threads = data_threads;
    ASSERT_OK(train(&rc, &r));
    ASSERT_EQ_INT((int)r.step, (int)(stop_at ? stop_at : steps));
}

/* Masked autoencoding on the tiny set-up: a ViT of 16 patches (and a class
 * token), a decoder of one narrow block. */
static void mae_tiny(sl_train_config *c) {
    c->objective = SL_OBJ_MAE;
    c->encoder = "vit(patch=4,dim=32,depth=1,heads=2,mlp=2)";
    c->decoder = "linear(16),masktok,pos,block(2,mlp=2),ln,linear(48)";
    c->projector = NULL;
    c->norm_pix = true;
}

/* A run of 20 steps (6 per epoch) split three ways: at step 4 (epoch 0), then
 * at step 14 (epoch 2, third batch), then to the end; the second part makes
 * its batches on three producer threads. text: CLIP's text tower (NULL: the
 * default); encoder: NULL for tiny()'s CNN. */
static void resume_case_with(sl_objective obj, const char *aug, const char *schedule, const char *text,
                             const char *encoder, double *loss) {
    sl_train_config c;
    sl_train_result r;
    tiny(&c, t_path("straight.safetensors"));
    c.objective = obj;
    if (obj == SL_OBJ_MAE) mae_tiny(&c);
    if (encoder) c.encoder = encoder;
    c.aug = aug;
    c.schedule = schedule;
    c.text_encoder = text;
    c.warmup = 2;
    c.steps = 20;
    ASSERT_OK(train(&c, &r));
    ASSERT_EQ_INT((int)r.step, 20);
    if (loss) *loss = r.loss;
    char split[4096];
    snprintf(split, sizeof split, "%s", t_path("split.safetensors"));
    c.out = split;
    c.stop_at = 4;
    ASSERT_OK(train(&c, &r));
    ASSERT_EQ_INT((int)r.step, 4);
    resume_from(split, 20, 14, 3);
    sl_tensors *x = load(split);
    ASSERT_STREQ(sl_tensors_get_meta(x, "train.epoch"), "2");
    ASSERT_STREQ(sl_tensors_get_meta(x, "train.epoch_step"), "2");
    sl_tensors_destroy(x);
    resume_from(split, 20, 0, 1);
    assert_same_tensors(t_path("straight.safetensors"), split);
}

static void resume_case(sl_objective obj, const char *aug, const char *schedule, const char *text) {
    resume_case_with(obj, aug, schedule, text, NULL, NULL);
}

TEST(resume_infonce_is_bit_identical) { resume_case(SL_OBJ_INFONCE, "simclr", "cosine", NULL); }
TEST(resume_clip_with_learnable_tau_is_bit_identical) { resume_case(SL_OBJ_CLIP, NULL, "constant", NULL); }
TEST(resume_clip_with_a_text_transformer_is_bit_identical) {
    resume_case(SL_OBJ_CLIP, NULL, "constant", "txt(dim=8,depth=1,heads=2,mlp=2,causal=1),linear(D)");
}
TEST(resume_color_views_is_bit_identical) { resume_case(SL_OBJ_INFONCE, "color", "constant", NULL); }
TEST(resume_mae_is_bit_identical) { resume_case(SL_OBJ_MAE, NULL, "cosine", NULL); }
TEST(resume_barlow_is_bit_identical) { resume_case(SL_OBJ_BARLOW, NULL, "cosine", NULL); }
TEST(resume_vicreg_is_bit_identical) { resume_case(SL_OBJ_VICREG, "simclr", "constant", NULL); }
/* The predictor, the momentum copies (with BYOL's rising momentum), MoCo's
 * queue and the memory bank come back with the models. */
TEST(resume_simsiam_is_bit_identical) { resume_case(SL_OBJ_SIMSIAM, NULL, "cosine", NULL); }
TEST(resume_byol_is_bit_identical) { resume_case(SL_OBJ_BYOL, NULL, "cosine", NULL); }
TEST(resume_moco_is_bit_identical) { resume_case(SL_OBJ_MOCO, NULL, "constant", NULL); }
TEST(resume_memory_bank_is_bit_identical) { resume_case(SL_OBJ_MEMORY_BANK, NULL, "cosine", NULL); }

/* The six objectives without in-batch negatives on a ViT (layer norms, a
 * class token, attention; its momentum copy holds all of them) and on an
 * MLP: each trains to a finite loss, its copies hold every encoder tensor,
 * and the split run equals the straight one bit for bit. */
TEST(objectives_without_batch_negatives_train_and_resume_on_vit_and_mlp) {
    static const sl_objective objs[] = {SL_OBJ_BARLOW, SL_OBJ_VICREG, SL_OBJ_SIMSIAM,
                                        SL_OBJ_BYOL,   SL_OBJ_MOCO,   SL_OBJ_MEMORY_BANK};
    static const char *encs[] = {"vit(patch=4,dim=16,depth=1,heads=2,mlp=2)", "flatten,linear(32),relu,linear(16)"};
    for (size_t e = 0; e < 2; e++)
        for (size_t i = 0; i < 6; i++) {
            double loss = NAN;
            resume_case_with(objs[i], NULL, "cosine", NULL, encs[e], &loss);
            sl_tensors *x = load(t_path("straight.safetensors"));
            size_t enc = 0, copy = 0;
            for (size_t k = 0; k < sl_tensors_count(x); k++) {
                const char *n = sl_tensors_name(x, k);
                enc += strncmp(n, "encoder.", 8) == 0;
                copy += strncmp(n, "target_encoder.", 15) == 0;
            }
            bool has_copy = objs[i] == SL_OBJ_BYOL || objs[i] == SL_OBJ_MOCO;
            if (enc < (e == 0 ? 8u : 4u) || copy != (has_copy ? enc : 0))
                T_FAIL("%s on %s: %zu encoder tensors, %zu in the copy", sl_loss_objective_name(objs[i]), encs[e], enc,
                       copy);
            if (!isfinite(loss)) T_FAIL("%s on %s: loss %g", sl_loss_objective_name(objs[i]), encs[e], loss);
            sl_tensors_destroy(x);
        }
}

/* Resuming at step 10,000 makes the batches from step 10,000 on and no
 * others: the producer starts at the step's batch instead of drawing the
 * ones before it again. The run it finishes is the uninterrupted one. */
TEST(resume_at_step_10000_makes_no_earlier_batches) {
    sl_train_config c;
    sl_train_result r;
    tiny(&c, t_path("straight.safetensors"));
    c.image_size = 8;
    c.encoder = "flatten,linear(8)";
    c.projector = "linear(4)";
    c.steps = 10001;
    ASSERT_OK(train(&c, &r));
    char split[4096], log[4096];
    snprintf(split, sizeof split, "%s", t_path("split.safetensors"));
    snprintf(log, sizeof log, "%s", t_path("resumed.jsonl"));
    c.out = split;
    c.stop_at = 10000;
    ASSERT_OK(train(&c, &r));
    sl_train_config rc;
    sl_train_config_default(&rc);
    rc.resume = split;
    rc.out = split;
    rc.log = log;
    rc.threads = 1;
    sl_trainer *t;
    ASSERT_OK(sl_trainer_create(&rc, &t));
    ASSERT_EQ_INT((int)sl_trainer_step(t), 10000);
    ASSERT_EQ_INT((int)sl_trainer_total_steps(t), 10001); /* the checkpoint's planned end */
    ASSERT_TRUE(sl__batcher_made(sl__trainer_batcher(t)) <= 3); /* the ring's slots, at most */
    ASSERT_OK(sl_trainer_run(t, &r));
    ASSERT_EQ_INT((int)r.step, 10001);
    size_t made = sl__batcher_made(sl__trainer_batcher(t));
    if (made < 1 || made > 4) T_FAIL("the producer made %zu batches for one step", made);
    sl_trainer_destroy(t);
    assert_same_tensors(t_path("straight.safetensors"), split);
    FILE *f = fopen(log, "r");
    ASSERT_TRUE(f != NULL);
    char line[1024];
    ASSERT_TRUE(fgets(line, sizeof line, f) != NULL);
    fclose(f);
    ASSERT_CONTAINS(line, "{\"step\":10001,\"epoch\":1666,"); /* 6 batches per epoch */
}

/* The losses of a log written with log_every 1 over `steps` steps: one line
 * per step, numbered 1, 2, ..., every loss finite. Freed by the caller. */
static double *logged_losses(const char *path, size_t steps) {
    sl_jsonl *j;
    ASSERT_OK(sl_jsonl_read(path, &j));
    ASSERT_EQ_SIZE(j->n_rows, steps);
    long ls = sl_jsonl_column(j, "loss"), st = sl_jsonl_column(j, "step");
    ASSERT_TRUE(ls >= 0 && st >= 0);
    ASSERT_TRUE(sl_jsonl_column(j, "grad_norm") >= 0 && sl_jsonl_column(j, "uniformity") >= 0);
    double *loss = malloc(steps * sizeof *loss);
    for (size_t i = 0; i < steps; i++) {
        ASSERT_NEAR(j->values[i * j->n_keys + (size_t)st], (double)(i + 1), 0);
        loss[i] = j->values[i * j->n_keys + (size_t)ls];
        if (!isfinite(loss[i])) T_FAIL("%s: the loss of step %zu is %g", path, i + 1, loss[i]);
    }
    sl_jsonl_destroy(j);
    return loss;
}

/* The loss falls: the mean of the last k losses is below `ratio` times the
 * mean of the first k (losses are positive here). */
static void assert_loss_falls(const char *what, const double *loss, size_t n, size_t k, double ratio) {
    double first = 0, last = 0;
    for (size_t i = 0; i < k; i++) first += loss[i], last += loss[n - k + i];
    first /= (double)k, last /= (double)k;
    if (!(first > 0 && last < ratio * first))
        T_FAIL("%s: mean loss of the last %zu steps %.6g, of the first %zu %.6g (ratio %.3f, expected below %.2f)", what,
               k, last, k, first, last / first, ratio);
}

/* 100 steps of each objective: the mean of the last 10 logged losses must be
 * below `falls_to` times the mean of the first 10. The ratios this set-up
 * gives at seed 7 (the one used here) are infonce 0.59, supcon 0.92, triplet
 * 0.47, triplet-hard 0.51, triplet-smooth 0.74, clip 0.10, autoencoder 0.23,
 * softmax 0.49; the same bits with 1 to 4 threads and under
 * OPENBLAS_CORETYPE=Haswell. Over seeds 1 to 8 they stay below the bounds too
 * (supcon 0.69 to 0.92, triplet-smooth up to 0.85, clip up to 0.23). With the
 * model never updated the ratios are 0.88 (clip, whose temperature still
 * learns) to 1.08. */
TEST(every_objective_trains) {
    static const struct {
        sl_objective obj;
        double falls_to;
    } objs[] = {{SL_OBJ_INFONCE, 0.8},        {SL_OBJ_SUPCON, 0.95}, {SL_OBJ_TRIPLET, 0.8},
                {SL_OBJ_TRIPLET_HARD, 0.8},   {SL_OBJ_TRIPLET_SMOOTH, 0.9}, {SL_OBJ_CLIP, 0.5},
                {SL_OBJ_AUTOENCODER, 0.5},    {SL_OBJ_SOFTMAX, 0.8}};
    const size_t steps = 100;
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) {
        const sl_objective obj = objs[i].obj;
        sl_train_config c;
        sl_train_result r;
        tiny(&c, t_path("m.safetensors"));
        c.objective = obj;
        if (obj == SL_OBJ_AUTOENCODER || obj == SL_OBJ_SOFTMAX) c.projector = NULL;
        c.steps = steps;
        c.log = t_path("m.jsonl");
        c.log_every = 1;
        sl_status s = train(&c, &r);
        if (s) T_FAIL("%s: %s", sl_loss_objective_name(obj), sl_error_message());
        ASSERT_EQ_INT((int)r.step, (int)steps);
        ASSERT_TRUE(isfinite(r.loss));
        sl_tensors *t = load(c.out);
        ASSERT_TRUE(sl_tensors_get(t, "encoder.0.weight") != NULL);
        ASSERT_STREQ(sl_tensors_get_meta(t, "train.objective"), sl_loss_objective_name(obj));
        if (obj == SL_OBJ_CLIP) ASSERT_TRUE(sl_tensors_get_meta(t, "text.vocab") != NULL);
        if (obj == SL_OBJ_AUTOENCODER) ASSERT_TRUE(sl_tensors_get_meta(t, "decoder.spec") != NULL);
        if (obj == SL_OBJ_SOFTMAX) ASSERT_TRUE(sl_tensors_get(t, "classes.0.weight") != NULL);
        sl_tensors_destroy(t);
        double *loss = logged_losses(c.log, steps);
        ASSERT_NEAR(loss[steps - 1], r.loss, 1e-6 * fabs(r.loss)); /* the log and the result agree */
        assert_loss_falls(sl_loss_objective_name(obj), loss, steps, 10, objs[i].falls_to);
        free(loss);
    }
}

/* Barlow Twins and VICReg on the tiny set-up, 100 steps: the mean of the
 * last 10 logged losses falls below `falls_to` times the mean of the first
 * 10, the log has the embeddings' spread at every step, and nothing looks
 * collapsed. Ratios over seeds 1 to 8: barlow 0.08 to 0.31 (0.23 at seed 7),
 * vicreg 0.60 to 0.73 (0.72 at seed 7); with the model never updated (lr
 * 1e-12) 0.87 to 1.25 and 0.995 to 1.012. With the invariance term alone
 * (VICReg's other weights 0, lr 0.01) the embeddings collapse: the warning
 * comes at step 55 to 71 over seeds 7, 1 and 2. */
TEST(barlow_and_vicreg_train_and_log_their_spread) {
    static const struct {
        sl_objective obj;
        double falls_to;
    } objs[] = {{SL_OBJ_BARLOW, 0.5}, {SL_OBJ_VICREG, 0.85}};
    const size_t steps = 100;
    for (size_t i = 0; i < 2; i++) {
        sl_train_config c;
        sl_train_result r;
        tiny(&c, t_path("m.safetensors"));
        c.objective = objs[i].obj;
        c.steps = steps;
        c.log = t_path("m.jsonl");
        c.log_every = 1;
        sl_status s = train(&c, &r);
        if (s) T_FAIL("%s: %s", sl_loss_objective_name(c.objective), sl_error_message());
        double *loss = logged_losses(c.log, steps);
        assert_loss_falls(sl_loss_objective_name(c.objective), loss, steps, 10, objs[i].falls_to);
        free(loss);
        ASSERT_TRUE(r.collapse_step == 0);
        ASSERT_TRUE(r.emb_std > 0.1 / sqrt(8.0) && r.emb_std < 1 && r.emb_rank > 1.05 && r.emb_rank <= 8);
        sl_jsonl *j;
        ASSERT_OK(sl_jsonl_read(c.log, &j));
        long es = sl_jsonl_column(j, "emb_std"), er = sl_jsonl_column(j, "emb_rank"), ta = sl_jsonl_column(j, "tau");
        ASSERT_TRUE(es >= 0 && er >= 0 && ta >= 0);
        ASSERT_NEAR(j->values[(steps - 1) * j->n_keys + (size_t)es], r.emb_std, 1e-8);
        ASSERT_TRUE(isnan(j->values[(size_t)ta])); /* no temperature: null */
        sl_jsonl_destroy(j);
    }
    sl_train_config c;
    sl_train_result r;
    tiny(&c, t_path("m.safetensors"));
    c.objective = SL_OBJ_VICREG;
    c.vicreg_var = c.vicreg_cov = 0;
    c.lr = 0.01;
    c.steps = 200;
    c.log = t_path("m.jsonl");
    c.log_every = 1;
    ASSERT_OK(train(&c, &r));
    if (!(r.collapse_step > 0 && r.collapse_step <= 100))
        T_FAIL("invariance alone: collapse seen at step %llu (0: never), emb_std %g", (unsigned long long)r.collapse_step,
               r.emb_std);
    ASSERT_TRUE(r.emb_std < 0.1 / sqrt(8.0));
}

/* SimSiam, BYOL, MoCo and the memory bank on the tiny set-up (MoCo's queue
 * and the memory bank's negatives 32, fewer than the 96 items), 100 steps:
 * the mean of the last 10 logged losses against the mean of the first 10.
 * Over seeds 1 to 8 the ratios are byol 0.21 to 0.44, moco 0.74 to 0.88,
 * memory-bank 0.17 to 0.22, and SimSiam's loss (a negative cosine) falls
 * by 0.25 to 0.63; with the model never updated (lr 1e-12) byol 0.98 to
 * 1.05, moco 1.08 to 1.24 (its queue fills with keys of the same items),
 * memory-bank 0.32 to 0.43 (the bank still moves to the fixed embeddings),
 * simsiam -0.04 to +0.02. Seed 7 here. */
TEST(predictor_and_momentum_objectives_train) {
    static const struct {
        sl_objective obj;
        double falls_to; /* ratio bound; simsiam: the fall it must exceed */
    } objs[] = {{SL_OBJ_SIMSIAM, 0.15}, {SL_OBJ_BYOL, 0.6}, {SL_OBJ_MOCO, 0.95}, {SL_OBJ_MEMORY_BANK, 0.26}};
    const size_t steps = 100;
    for (size_t i = 0; i < 4; i++) {
        sl_train_config c;
        sl_train_result r;
        tiny(&c, t_path("m.safetensors"));
        c.objective = objs[i].obj;
        c.steps = steps;
        c.log = t_path("m.jsonl");
        c.log_every = 1;
        if (c.objective == SL_OBJ_MOCO || c.objective == SL_OBJ_MEMORY_BANK) c.queue = 32;
        sl_status s = train(&c, &r);
        if (s) T_FAIL("%s: %s", sl_loss_objective_name(c.objective), sl_error_message());
        double *loss = logged_losses(c.log, steps);
        if (c.objective == SL_OBJ_SIMSIAM) {
            double first = 0, last = 0;
            for (int k = 0; k < 10; k++) first += loss[k] / 10, last += loss[steps - 10 + k] / 10;
            if (!(last < first - objs[i].falls_to)) T_FAIL("simsiam: loss %.4f -> %.4f", first, last);
        } else {
            assert_loss_falls(sl_loss_objective_name(c.objective), loss, steps, 10, objs[i].falls_to);
        }
        free(loss);
        ASSERT_TRUE(r.collapse_step == 0);
        sl_tensors *x = load(c.out);
        bool pred = c.objective == SL_OBJ_SIMSIAM || c.objective == SL_OBJ_BYOL;
        bool copy = c.objective == SL_OBJ_BYOL || c.objective == SL_OBJ_MOCO;
        ASSERT_TRUE((sl_tensors_get(x, "predictor.0.weight") != NULL) == pred);
        ASSERT_TRUE((sl_tensors_get(x, "target_encoder.0.weight") != NULL) == copy);
        ASSERT_TRUE((sl_tensors_get(x, "target_projector.0.weight") != NULL) == copy);
        ASSERT_TRUE((sl_tensors_get(x, "queue.keys") != NULL) == (c.objective == SL_OBJ_MOCO));
        ASSERT_TRUE((sl_tensors_get(x, "bank") != NULL) == (c.objective == SL_OBJ_MEMORY_BANK));
        if (copy) {
            /* The copy trails the trained encoder: close to it, not equal. */
            const sl_array *a = sl_tensors_get(x, "encoder.0.weight"), *b = sl_tensors_get(x, "target_encoder.0.weight");
            const float *u = a->data, *v = b->data;
            double diff = 0, norm = 0;
            for (size_t k = 0; k < sl_array_count(a); k++) diff += fabs(u[k] - v[k]), norm += fabs(u[k]);
            if (!(diff > 0 && diff < 0.5 * norm)) T_FAIL("%s: |encoder - copy| %g of |encoder| %g",
                                                     sl_loss_objective_name(c.objective), diff, norm);
        }
        sl_tensors_destroy(x);
    }
}

/* The momentum schedules: BYOL's rises from its base to 1 by a cosine, MoCo's
 * stays; the update is the weighted mean parameter by parameter. */
TEST(momentum_schedule_and_update) {
    ASSERT_NEAR(sl__ema_momentum(0.996, true, 0, 100), 0.996, 1e-15);
    ASSERT_NEAR(sl__ema_momentum(0.996, true, 50, 100), 0.998, 1e-12);
    ASSERT_NEAR(sl__ema_momentum(0.996, true, 100, 100), 1.0, 1e-15);
    ASSERT_NEAR(sl__ema_momentum(0.99, false, 70, 100), 0.99, 0);
    sl_model *a, *b;
    sl_shape in = {1, {3, 0, 0}};
    ASSERT_OK(sl_model_create("linear(2)", &in, 1, &a));
    ASSERT_OK(sl_model_create("linear(2)", &in, 2, &b));
    float *pa = sl_model_params(a), *pb = sl_model_params(b), before[8];
    memcpy(before, pa, sizeof before);
    ASSERT_OK(sl__ema_update(a, b, 0.75));
    for (int k = 0; k < 8; k++) ASSERT_NEAR(pa[k], 0.75f * before[k] + 0.25f * pb[k], 1e-7);
    sl_model *c3;
    ASSERT_OK(sl_model_create("linear(3)", &in, 1, &c3));
    ASSERT_FAILS(sl__ema_update(c3, a, 0.5), SL_ERR_ARG, "momentum copy has 12 parameters, the model 8");
    sl_model_destroy(a), sl_model_destroy(b), sl_model_destroy(c3);
    /* The queue keeps the newest keys, normalised. */
    sl__keyqueue q;
    ASSERT_OK(sl__keyqueue_init(&q, 3, 2));
    float k5[10] = {3, 4, 1, 0, 0, 2, 5, 0, 0, 0};
    sl__keyqueue_push(&q, k5, 2);
    ASSERT_EQ_SIZE(q.fill, 2);
    ASSERT_NEAR(q.k[0], 0.6f, 1e-7);
    ASSERT_NEAR(q.k[1], 0.8f, 1e-7);
    sl__keyqueue_push(&q, k5 + 4, 3); /* wraps: rows 2, 0, 1 */
    ASSERT_EQ_SIZE(q.fill, 3);
    ASSERT_EQ_SIZE(q.pos, 2);
    ASSERT_NEAR(q.k[0], 1.0f, 0);
    ASSERT_NEAR(q.k[2], 0.0f, 0);
    ASSERT_NEAR(q.k[5], 1.0f, 0);
    sl__keyqueue_free(&q);
}

/* The same with a small ViT encoder (16 patch tokens of a 16x16 image and a
 * class token, one block) for the objectives that train an image encoder
 * beside a projector, class embeddings or a text tower: the mean of the last
 * 10 of 300 logged losses must fall below `falls_to` times the mean of the
 * first 10. At seed 7 the ratios are infonce 0.51, supcon 0.98, triplet 0.49,
 * softmax 0.05, clip 0.04; with the model never updated (lr 1e-12) they are
 * 0.97 to 1.04 over seeds 1 to 8 (supcon 1.00 to 1.02). SupCon's loss starts
 * near its value for equal similarities and falls little in this set-up
 * (0.96 to 0.99 over seeds 1 to 8); triplet collapses at some seeds (at seed
 * 6 every embedding is the same and the loss stays at the margin). */
TEST(vit_encoder_trains_with_the_objectives) {
    static const struct {
        sl_objective obj;
        double falls_to;
    } objs[] = {{SL_OBJ_INFONCE, 0.8}, {SL_OBJ_SUPCON, 0.99}, {SL_OBJ_TRIPLET, 0.8}, {SL_OBJ_SOFTMAX, 0.3},
                {SL_OBJ_CLIP, 0.3}};
    const size_t steps = 300;
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) {
        const sl_objective obj = objs[i].obj;
        sl_train_config c;
        sl_train_result r;
        tiny(&c, t_path("m.safetensors"));
        c.encoder = "vit(patch=4,dim=32,depth=1,heads=2,mlp=2)";
        c.objective = obj;
        if (obj == SL_OBJ_SOFTMAX) c.projector = NULL;
        c.steps = steps;
        c.log = t_path("m.jsonl");
        c.log_every = 1;
        sl_status s = train(&c, &r);
        if (s) T_FAIL("%s: %s", sl_loss_objective_name(obj), sl_error_message());
        ASSERT_EQ_INT((int)r.step, (int)steps);
        ASSERT_TRUE(isfinite(r.loss));
        sl_tensors *t = load(c.out);
        ASSERT_TRUE(sl_tensors_get(t, "encoder.3.attn.in_proj_weight") != NULL);
        ASSERT_STREQ(sl_tensors_get_meta(t, "encoder.spec"), "vit(patch=4,dim=32,depth=1,heads=2,mlp=2,pool=cls)");
        sl_tensors_destroy(t);
        double *loss = logged_losses(c.log, steps);
        assert_loss_falls(sl_loss_objective_name(obj), loss, steps, 10, objs[i].falls_to);
        free(loss);
    }
}

/* CLIP with a text transformer (the txt preset, its vocabulary filled in)
 * on the shapes captions: the mean of the last 10 of 100 logged losses must
 * fall below half the mean of the first 10. At seed 7 the ratio is 0.17; over
 * seeds 1 to 8, 0.14 to 0.39; with the model never updated (lr 1e-12) 0.95 to
 * 1.03. The checkpoint keeps the preset with the vocabulary size and the
 * blocks' tensors; embed runs the tower on lines of text and on captions. */
TEST(clip_with_a_text_transformer_trains) {
    sl_train_config c;
    sl_train_result r;
    tiny(&c, t_path("clip.safetensors"));
    c.objective = SL_OBJ_CLIP;
    c.text_encoder = "txt(dim=16,depth=1,heads=2,mlp=2),linear(D)";
    c.steps = 100;
    c.log = t_path("clip.jsonl");
    c.log_every = 1;
    ASSERT_OK(train(&c, &r));
    double *loss = logged_losses(c.log, c.steps);
    assert_loss_falls("clip with txt", loss, c.steps, 10, 0.5);
    free(loss);
    sl_tensors *t = load(c.out);
    size_t words = 1;
    for (const char *p = sl_tensors_get_meta(t, "text.vocab"); *p; p++) words += *p == '\n';
    char want[128];
    snprintf(want, sizeof want, "txt(vocab=%zu,dim=16,depth=1,heads=2,mlp=2),linear(8)", words);
    ASSERT_STREQ(sl_tensors_get_meta(t, "train.text_encoder"), want);
    snprintf(want, sizeof want, "txt(vocab=%zu,dim=16,depth=1,heads=2,mlp=2,causal=0),linear(8)", words);
    ASSERT_STREQ(sl_tensors_get_meta(t, "text.spec"), want);
    const sl_array *emb = sl_tensors_get(t, "text.0.weight");
    ASSERT_TRUE(emb != NULL && emb->shape[0] == words && emb->shape[1] == 16);
    ASSERT_TRUE(sl_tensors_get(t, "text.2.attn.in_proj_weight") != NULL);
    sl_tensors_destroy(t);
    sl_embed_config e;
    sl_embed_config_default(&e);
    e.model = c.out;
    e.split = SL_SPLIT_VAL;
    e.data_count = 40;
    e.threads = 1;
    const char *txt = "a photo of a circle\na small red star on a blue ground with more words than any caption\n";
    t_write_file(t_path("p.txt"), txt, strlen(txt));
    e.text_file = t_path("p.txt");
    sl_embedding *em;
    ASSERT_OK(sl_embed_run(&e, &em));
    ASSERT_EQ_SIZE(em->n, 2);
    ASSERT_EQ_SIZE(em->d, 8);
    for (size_t i = 0; i < 16; i++) ASSERT_TRUE(isfinite(em->x[i]));
    sl_embedding_destroy(em);
    e.text_file = NULL;
    e.captions = true;
    ASSERT_OK(sl_embed_run(&e, &em));
    ASSERT_EQ_SIZE(em->n, 40);
    ASSERT_EQ_SIZE(em->d, 8);
    sl_embedding_destroy(em);
}

TEST(nonfinite_loss_stops_and_keeps_the_last_checkpoint) {
    sl_train_config c;
    sl_train_result r;
    tiny(&c, t_path("nan.safetensors"));
    c.optim = "sgd";
    c.lr = 1e30;
    c.objective = SL_OBJ_AUTOENCODER;
    c.projector = "none";
    c.encoder = "flatten,linear(8)";
    c.steps = 50;
    c.checkpoint_every = 1;
    sl_trainer *t;
    ASSERT_OK(sl_trainer_create(&c, &t));
    sl_status s = sl_trainer_run(t, &r);
    sl_trainer_destroy(t);
    ASSERT_EQ_INT(s, SL_ERR_NUMERIC);
    ASSERT_CONTAINS(sl_error_message(), "step ");
    ASSERT_CONTAINS(sl_error_message(), "last good checkpoint");
    ASSERT_TRUE(r.step < 50);
    /* The checkpoint on disk is the last finite state and loads. */
    sl_tensors *x = load(c.out);
    uint64_t st = strtoull(sl_tensors_get_meta(x, "train.step"), NULL, 10);
    ASSERT_EQ_INT((int)st, (int)r.last_checkpoint);
    const sl_array *w = sl_tensors_get(x, "encoder.1.weight");
    ASSERT_TRUE(w != NULL);
    for (size_t i = 0; i < sl_array_count(w); i++) ASSERT_TRUE(isfinite(((float *)w->data)[i]));
    sl_tensors_destroy(x);
}

TEST(stop_flag_writes_a_checkpoint) {
    sl_train_config c;
    sl_train_result r;
    tiny(&c, t_path("stop.safetensors"));
    static volatile sig_atomic_t flag = 1;
    c.stop = &flag;
    c.steps = 20;
    ASSERT_FAILS(train(&c, &r), SL_ERR_INTERRUPTED, "checkpoint written");
    ASSERT_EQ_INT((int)r.step, 1);
    sl_tensors *x = load(c.out);
    ASSERT_STREQ(sl_tensors_get_meta(x, "train.step"), "1");
    sl_tensors_destroy(x);
}

TEST(embed_encoder_projector_and_text) {
    sl_train_config c;
    sl_train_result r;
    tiny(&c, t_path("clip.safetensors"));
    c.objective = SL_OBJ_CLIP;
    c.steps = 2;
    ASSERT_OK(train(&c, &r));
    sl_embed_config e;
    sl_embed_config_default(&e);
    e.model = c.out;
    e.split = SL_SPLIT_VAL;
    e.data_count = 40;
    e.batch = 16;
    e.threads = 1;
    sl_embedding *em;
    ASSERT_OK(sl_embed_run(&e, &em));
    ASSERT_EQ_SIZE(em->n, 40);
    ASSERT_EQ_SIZE(em->d, 16);
    ASSERT_EQ_INT(em->n_attrs, 4);
    ASSERT_STREQ(em->attr_names[1], "color");
    for (size_t i = 0; i < 40 * 4; i++) ASSERT_TRUE(em->labels[i] >= 0);
    sl_embedding_destroy(em);
    e.projector = true;
    e.normalize = true;
    ASSERT_OK(sl_embed_run(&e, &em));
    ASSERT_EQ_SIZE(em->d, 8);
    double n2 = 0;
    for (size_t j = 0; j < 8; j++) n2 += (double)em->x[j] * em->x[j];
    ASSERT_NEAR(n2, 1.0, 1e-5);
    sl_embedding_destroy(em);
    const char *txt = "a photo of a circle\na photo of a star\n\n";
    t_write_file(t_path("p.txt"), txt, strlen(txt));
    e.text_file = t_path("p.txt");
    ASSERT_OK(sl_embed_run(&e, &em));
    ASSERT_EQ_SIZE(em->n, 2);
    ASSERT_EQ_SIZE(em->d, 8);
    sl_embedding_destroy(em);
    e.text_file = NULL;
    e.captions = true;
    ASSERT_OK(sl_embed_run(&e, &em));
    ASSERT_EQ_SIZE(em->n, 40);
    ASSERT_EQ_SIZE(em->d, 8);
    sl_embedding_destroy(em);
    e.captions = false;
    /* A model for other images is refused clearly. */
    e.image_size = 20;
    ASSERT_FAILS(sl_embed_run(&e, &em), SL_ERR_ARG, "takes 768 values per item");
}

TEST(time_limit_ends_the_run_with_a_checkpoint) {
    sl_train_config c;
    sl_train_result r;
    tiny(&c, t_path("t.safetensors"));
    c.steps = 1000000;
    c.time_limit = 0.3;
    ASSERT_OK(train(&c, &r));
    ASSERT_TRUE(r.step >= 1 && r.step < 1000000);
    ASSERT_EQ_INT((int)r.last_checkpoint, (int)r.step);
    /* The checkpoint on disk is the one of the last step. */
    sl_tensors *x = load(c.out);
    ASSERT_EQ_INT((int)strtoull(sl_tensors_get_meta(x, "train.step"), NULL, 10), (int)r.step);
    sl_tensors_destroy(x);
}

TEST(raw_pixel_embedding_and_knn) {
    sl_embed_config e;
    sl_embed_config_default(&e);
    e.data = "shapes";
    e.split = SL_SPLIT_VAL;
    e.data_count = 300;
    e.image_size = 16;
    e.threads = 1;
    sl_embedding *em;
    ASSERT_OK(sl_embed_run(&e, &em));
    ASSERT_EQ_SIZE(em->d, 3 * 16 * 16);
    int64_t lab[300];
    for (size_t i = 0; i < 300; i++) lab[i] = em->labels[i * 4 + 3];
    double acc;
    sl_knn_config kc = {.k = 5, .vote = SL_VOTE_MAJORITY, .metric = SL_METRIC_COSINE};
    ASSERT_OK(sl_knn_loo_accuracy(em->x, em->n, em->d, lab, &kc, &acc));
    /* Location is plain in the pixels. */
    ASSERT_TRUE(acc > 0.6);
    sl_embedding_destroy(em);
}

TEST(tokenizer_from_shapes_captions) {
    sl_data_config dc;
    sl_data_config_default(&dc);
    dc.shapes_count = 200;
    sl_dataset *d;
    ASSERT_OK(sl_data_open(&dc, &d));
    sl__vocab *v, *w;
    ASSERT_OK(sl__vocab_build(d, 0, &v));
    ASSERT_STREQ(v->words[0], "<unk>");
    ASSERT_TRUE(v->n > 20);
    float ids[64];
    sl__vocab_encode(v, "A RED Circle, zebra!", ids);
    ASSERT_TRUE(ids[0] > 0 && ids[1] > 0 && ids[2] > 0);
    ASSERT_NEAR(ids[3], 0, 0); /* unknown word */
    for (size_t k = 4; k < v->max_tokens; k++) ASSERT_NEAR(ids[k], -1, 0);
    char *j = sl__vocab_join(v);
    ASSERT_OK(sl__vocab_parse(j, v->max_tokens, &w));
    ASSERT_EQ_SIZE(w->n, v->n);
    float ids2[64];
    sl__vocab_encode(w, "A RED Circle, zebra!", ids2);
    ASSERT_TRUE(memcmp(ids, ids2, sizeof(float) * v->max_tokens) == 0);
    ASSERT_FAILS(sl__vocab_parse("", 4, &w), SL_ERR_FORMAT, "empty");
    sl__free(j);
    sl__vocab_destroy(v);
    sl__vocab_destroy(w);
    sl_data_destroy(d);
}

TEST(bad_settings_are_named) {
    sl_train_config c;
    sl_trainer *t;
    tiny(&c, t_path("x.safetensors"));
    c.encoder = "conv(4,3),bogus";
    ASSERT_FAILS(sl_trainer_create(&c, &t), SL_ERR_FORMAT, "encoder");
    tiny(&c, t_path("x.safetensors"));
    c.objective = SL_OBJ_SUPCON;
    c.label = "weight";
    ASSERT_FAILS(sl_trainer_create(&c, &t), SL_ERR_ARG, "no attribute 'weight'");
    tiny(&c, t_path("x.safetensors"));
    c.out = NULL;
    ASSERT_FAILS(sl_trainer_create(&c, &t), SL_ERR_ARG, "output");
    tiny(&c, t_path("x.safetensors"));
    c.aug = "crop(2";
    ASSERT_FAILS(sl_trainer_create(&c, &t), SL_ERR_ARG, "--aug");
    /* A safetensors file that is not a training checkpoint. */
    sl_tensors *x;
    ASSERT_OK(sl_tensors_create(&x));
    float v = 1;
    size_t one = 1;
    ASSERT_OK(sl_tensors_add(x, "w", SL_F32, 1, &one, &v));
    ASSERT_OK(sl_safetensors_write(t_path("other.safetensors"), x));
    sl_tensors_destroy(x);
    tiny(&c, t_path("x.safetensors"));
    c.resume = t_path("other.safetensors");
    ASSERT_FAILS(sl_trainer_create(&c, &t), SL_ERR_FORMAT, "not a simlearn training checkpoint");
    c.resume = t_path("missing.safetensors");
    ASSERT_TRUE(sl_trainer_create(&c, &t) != SL_OK);
    ASSERT_CONTAINS(sl_error_message(), "missing.safetensors");
}

typedef struct {
    const char *key, *value, *expected;
} bad_meta;

/* The status of a trainer created to resume from `path` (none is left). */
static sl_status resume_status(const char *path) {
    sl_train_config c;
    sl_train_config_default(&c);
    c.resume = path;
    c.out = t_path("out.safetensors");
    c.threads = 1;
    sl_trainer *t = NULL;
    sl_error_clear();
    sl_status s = sl_trainer_create(&c, &t);
    if (s == SL_OK) sl_trainer_destroy(t);
    return s;
}

/* Resuming from src with `key` corrupted fails with SL_ERR_FORMAT and a
 * message naming the file, the key, the value and what was expected (named
 * and found: the key and value the message names, when not these). */
static void expect_refused_as(const char *src, const bad_meta *b, const char *named, const char *found) {
    char bad[4096], want[8400];
    snprintf(bad, sizeof bad, "%s", t_path("bad.safetensors"));
    rewrite_meta(src, bad, b->key, b->value);
    sl_status s = resume_status(bad);
    if (s != SL_ERR_FORMAT)
        T_FAIL("%s = '%s': got %s \"%s\", expected a format error", b->key, b->value ? b->value : "(removed)",
               sl_status_str(s), sl_error_message());
    if (found)
        snprintf(want, sizeof want, "%s: metadata '%s' is '%s', expected ", bad, named, found);
    else
        snprintf(want, sizeof want, "%s: metadata '%s' is missing (expected ", bad, named);
    ASSERT_CONTAINS(sl_error_message(), want);
    ASSERT_CONTAINS(sl_error_message(), b->expected);
}

static void expect_refused(const char *src, const bad_meta *b) { expect_refused_as(src, b, b->key, b->value); }

/* Every kind of setting, corrupted in a real checkpoint (step 3 of 5, six
 * batches per epoch). */
TEST(corrupt_checkpoint_settings_are_refused_by_name) {
    static const bad_meta cases[] = {
        {"simlearn", "train-checkpoint 2", "this is not a simlearn training checkpoint"},
        {"train.step", "-3", "an integer from 0 to 18446744073709551615"},
        {"train.step", "3x", "an integer from 0 to"},
        {"train.step", " 3", "an integer from 0 to"},
        {"train.step", "18446744073709551616", "an integer from 0 to 18446744073709551615"},
        {"train.step", "6", "at most train.steps (5)"},
        {"train.step", NULL, "an integer"},
        {"train.epoch", "1", "0: step 3 at 6 batches per epoch"},
        {"train.epoch_step", "9", "3: step 3 at 6 batches per epoch"},
        {"train.steps", "0", "an integer from 1 to"},
        {"train.seed", "18446744073709551616", "an integer from 0 to 18446744073709551615"},
        {"train.seed", "-1", "an integer from 0 to"},
        {"train.seed", NULL, "an integer from 0 to"},
        {"train.data_seed", "1e3", "an integer from 0 to"},
        {"train.data_count", "99999999999999999999", "an integer from 0 to"},
        {"train.image_size", "5000", "an integer from 0 to 4096"},
        {"train.batch", "0", "an integer from 1 to 16777216"},
        {"train.batch", "16777217", "an integer from 1 to 16777216"},
        {"train.warmup", "-1", "an integer from 0 to 9223372036854775807"},
        {"train.learn_tau", "2", "an integer from 0 to 1"},
        {"train.lr", "nan", "a finite number > 0"},
        {"train.lr", "inf", "a finite number > 0"},
        {"train.lr", "0", "a finite number > 0"},
        {"train.lr", "0x1p-9", "a finite number > 0"},
        {"train.lr", "0.002 ", "a finite number > 0"},
        {"train.lr", "1e999", "a finite number > 0"},
        {"train.tau", "-0.1", "a finite number > 0"},
        {"train.margin", "-1", "a finite number >= 0"},
        {"train.wd", "", "a finite number >= 0"},
        {"train.min_lr", "-0.5", "a finite number >= 0"},
        {"train.clip_grad", "x", "a finite number >= 0"},
        {"train.input_std", "0", "a finite number > 0"},
        {"train.input_mean", "nan", "a finite number >= -inf"},
        {"train.objective", "infonce2", "infonce, supcon, triplet, triplet-hard, triplet-smooth, clip, autoencoder, softmax, mae, barlow, vicreg, "
                                          "simsiam, byol, moco or memory-bank"},
        {"train.split", "validation", "train, val, test or all"},
        {"train.sim", "COSINE", "dot, cosine or l2"},
        {"train.optim", "sgdx", "sgd, adam, adamw or lars"},
        {"train.schedule", "step:0:0.5", "constant, cosine or step:SIZE:GAMMA"},
        {"train.aug", "crop(2", "an augmentation spec or none (augment"},
        {"train.encoder", NULL, "a model spec"},
        {"train.data", "", "a dataset source"},
        {"optim.encoder.step", "2", "3, the step of train.step"},
        {"optim.projector.step", "three", "an integer from 0 to"},
        {"optim.encoder.kind", "adamx", "sgd, adam, adamw or lars"},
        {"encoder.rng", "zz", "64 hexadecimal digits"},
        {"projector.rng", "0000000000000000000000000000000000000000000000000000000000000000", "not all zero"},
    };
    sl_train_config c;
    sl_train_result r;
    char good[4096];
    snprintf(good, sizeof good, "%s", t_path("good.safetensors"));
    tiny(&c, good);
    c.steps = 5;
    c.stop_at = 3;
    ASSERT_OK(train(&c, &r));
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) expect_refused(good, &cases[i]);
    /* A step that does not fall where the file says. */
    static const bad_meta moved = {"train.step", "4", "4: step 4 at 6 batches per epoch"};
    expect_refused_as(good, &moved, "train.epoch_step", "3");
    /* The untouched file resumes; a new end before its step is refused. */
    sl_train_config rc;
    sl_train_config_default(&rc);
    rc.resume = good;
    rc.out = t_path("out.safetensors");
    rc.threads = 1;
    rc.steps = 2;
    sl_trainer *t;
    ASSERT_FAILS(sl_trainer_create(&rc, &t), SL_ERR_ARG, "the run would end at step 2, but");
    rc.steps = 0;
    ASSERT_OK(sl_trainer_create(&rc, &t));
    ASSERT_EQ_INT((int)sl_trainer_step(t), 3);
    sl_trainer_destroy(t);
}

/* Resuming from `bad` fails with status `want_s` and a message that names the
 * file and contains `want`. */
static void expect_resume_fails(const char *bad, sl_status want_s, const char *want) {
    sl_status s = resume_status(bad);
    if (s != want_s)
        T_FAIL("%s: got %s \"%s\", expected %s", want, sl_status_str(s), sl_error_message(), sl_status_str(want_s));
    ASSERT_CONTAINS(sl_error_message(), bad);
    ASSERT_CONTAINS(sl_error_message(), want);
}

/* The settings and state of the objectives without in-batch negatives —
 * their weights, the predictor, the momentum, the queue and its position, the
 * bank — corrupted in a real checkpoint (step 3 of 5), are refused by name. */
TEST(corrupt_self_supervised_state_is_refused_by_name) {
    static const struct {
        sl_objective obj;
        bad_meta b;
    } cases[] = {
        {SL_OBJ_BARLOW, {"train.barlow_lambda", "-0.1", "a finite number >= 0"}},
        {SL_OBJ_BARLOW, {"train.barlow_lambda", NULL, "a finite number >= 0"}},
        {SL_OBJ_VICREG, {"train.vicreg_inv", "nan", "a finite number >= 0"}},
        {SL_OBJ_VICREG, {"train.vicreg_var", "1e999", "a finite number >= 0"}},
        {SL_OBJ_VICREG, {"train.vicreg_cov", NULL, "a finite number >= 0"}},
        {SL_OBJ_SIMSIAM, {"train.predictor", NULL, "a model spec"}},
        {SL_OBJ_BYOL, {"train.ema", "1.5", "a finite number >= 0 and <= 1"}},
        {SL_OBJ_BYOL, {"train.ema", NULL, "a finite number >= 0 and <= 1"}},
        {SL_OBJ_MOCO, {"train.queue", "0", "an integer from 1 to 16777216"}},
        {SL_OBJ_MOCO, {"train.queue_pos", "32", "an integer from 0 to 31"}},
        {SL_OBJ_MOCO, {"train.queue_fill", "33", "an integer from 0 to 32"}},
        {SL_OBJ_MOCO, {"train.queue_fill", NULL, "an integer from 0 to 32"}},
        {SL_OBJ_MEMORY_BANK, {"train.bank_momentum", "-1", "a finite number >= 0 and <= 1"}},
    };
    static const struct {
        sl_objective obj;
        const char *tensor;
        long nan_at;
        const char *expected;
    } tensors[] = {
        {SL_OBJ_MOCO, "queue.keys", 5, "tensor 'queue.keys': value 5 is not finite"},
        {SL_OBJ_MOCO, "queue.keys", -1, "tensor 'queue.keys' must be float32 32 x 8"},
        {SL_OBJ_MEMORY_BANK, "bank", 9, "tensor 'bank': value 9 is not finite"},
        {SL_OBJ_MEMORY_BANK, "bank", -1, "tensor 'bank' must be float32 96 x 8"},
    };
    static const sl_objective objs[] = {SL_OBJ_BARLOW, SL_OBJ_VICREG, SL_OBJ_SIMSIAM,
                                        SL_OBJ_BYOL,   SL_OBJ_MOCO,   SL_OBJ_MEMORY_BANK};
    char good[4096], bad[4096];
    snprintf(bad, sizeof bad, "%s", t_path("bad.safetensors"));
    for (size_t o = 0; o < sizeof objs / sizeof *objs; o++) {
        sl_train_config c;
        sl_train_result r;
        snprintf(good, sizeof good, "%s", t_path("ssl.safetensors"));
        tiny(&c, good);
        c.objective = objs[o];
        if (objs[o] == SL_OBJ_MOCO || objs[o] == SL_OBJ_MEMORY_BANK) c.queue = 32;
        c.steps = 5;
        c.stop_at = 3;
        ASSERT_OK(train(&c, &r));
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
            if (cases[i].obj == objs[o]) expect_refused(good, &cases[i].b);
        for (size_t i = 0; i < sizeof tensors / sizeof *tensors; i++) {
            if (tensors[i].obj != objs[o]) continue;
            rewrite_tensor(good, bad, tensors[i].tensor, tensors[i].nan_at);
            expect_resume_fails(bad, SL_ERR_FORMAT, tensors[i].expected);
        }
        /* A momentum copy without one of its weights. */
        if (objs[o] == SL_OBJ_BYOL || objs[o] == SL_OBJ_MOCO) {
            sl_tensors *x = load(good);
            const char *victim = NULL;
            for (size_t i = 0; i < sl_tensors_count(x) && !victim; i++)
                if (strncmp(sl_tensors_name(x, i), "target_encoder.", 15) == 0) victim = sl_tensors_name(x, i);
            ASSERT_TRUE(victim != NULL);
            rewrite_tensor(good, bad, victim, -1);
            expect_resume_fails(bad, SL_ERR_NOTFOUND, victim);
            sl_tensors_destroy(x);
        }
    }
}

/* The vocabulary of a CLIP checkpoint is checked like the other settings. */
TEST(corrupt_clip_vocabulary_is_refused_by_name) {
    static const bad_meta cases[] = {
        {"text.max_tokens", "0", "an integer from 1 to 4096"},
        {"text.max_tokens", "4097", "an integer from 1 to 4096"},
        {"text.vocab", NULL, "the caption vocabulary"},
        {"train.text_encoder", NULL, "a model spec"},
    };
    sl_train_config c;
    sl_train_result r;
    char good[4096];
    snprintf(good, sizeof good, "%s", t_path("clip.safetensors"));
    tiny(&c, good);
    c.objective = SL_OBJ_CLIP;
    c.steps = 2;
    ASSERT_OK(train(&c, &r));
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) expect_refused(good, &cases[i]);
    /* Word lists that the tokenizer cannot have made. */
    static const char *const lists[][2] = {
        {"red\nblue", "the first word is not <unk>"},
        {"<unk>\nred\nblue\nred", "word 3 'red' appears twice"},
        {"<unk>\nRed", "word 1 is not a lower-case word"},
        {"<unk>\n\nred", "word 1 is not a lower-case word"},
    };
    char bad[4096];
    snprintf(bad, sizeof bad, "%s", t_path("bad.safetensors"));
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
        rewrite_meta(good, bad, "text.vocab", lists[i][0]);
        sl_train_config rc;
        sl_train_config_default(&rc);
        rc.resume = bad;
        rc.out = t_path("out.safetensors");
        sl_trainer *t;
        ASSERT_FAILS(sl_trainer_create(&rc, &t), SL_ERR_FORMAT, lists[i][1]);
        ASSERT_CONTAINS(sl_error_message(), "bad.safetensors: metadata 'text.vocab'");
    }
}

/* Masked autoencoding: the logged loss falls over 200 steps (mean of the
 * last 10 below 0.7 of the first 10; at seed 7 the ratio is 0.52, over seeds
 * 1 to 8 0.43 to 0.57, and 0.98 to 1.02 with the model never updated, lr
 * 1e-12), the checkpoint carries the decoder with
 * its mask token and the MAE settings, the encoder embeds whole images, and
 * a softmax run starts from it with --init. */
TEST(mae_trains_embeds_and_fine_tunes) {
    sl_train_config c;
    sl_train_result r;
    tiny(&c, t_path("mae.safetensors"));
    mae_tiny(&c);
    const size_t steps = 200;
    c.steps = steps;
    c.log = t_path("mae.jsonl");
    c.log_every = 1;
    ASSERT_OK(train(&c, &r));
    double *loss = logged_losses(c.log, steps);
    assert_loss_falls("mae", loss, steps, 10, 0.7);
    free(loss);
    sl_tensors *t = load(c.out);
    const sl_array *mt = sl_tensors_get(t, "decoder.1.mask_token");
    ASSERT_TRUE(mt != NULL && sl_array_count(mt) == 16);
    ASSERT_TRUE(sl_tensors_get(t, "optim.decoder.1.mask_token.m") != NULL);
    ASSERT_STREQ(sl_tensors_get_meta(t, "train.objective"), "mae");
    ASSERT_STREQ(sl_tensors_get_meta(t, "train.mask_ratio"), "0.75");
    ASSERT_STREQ(sl_tensors_get_meta(t, "train.norm_pix"), "1");
    ASSERT_STREQ(sl_tensors_get_meta(t, "decoder.input"), "17x32");
    sl_tensors_destroy(t);
    sl_embed_config e;
    sl_embed_config_default(&e);
    e.model = c.out;
    e.split = SL_SPLIT_VAL;
    e.data_count = 40;
    e.batch = 16;
    e.threads = 1;
    sl_embedding *em;
    ASSERT_OK(sl_embed_run(&e, &em));
    ASSERT_EQ_SIZE(em->n, 40);
    ASSERT_EQ_SIZE(em->d, 32);
    double spread = 0;
    for (size_t j = 0; j < 32; j++) spread += fabs((double)em->x[j] - em->x[32 + j]);
    ASSERT_TRUE(spread > 1e-3); /* different images, different embeddings */
    sl_embedding_destroy(em);
    sl_train_config f;
    tiny(&f, t_path("tuned.safetensors"));
    f.encoder = NULL;
    f.projector = NULL;
    f.objective = SL_OBJ_SOFTMAX;
    f.init = c.out;
    f.steps = 3;
    sl_trainer *tr;
    ASSERT_OK(sl_trainer_create(&f, &tr));
    const sl_train_init_report *rep = sl_trainer_init_report(tr);
    ASSERT_TRUE(rep != NULL);
    ASSERT_EQ_SIZE(rep->loaded, 18); /* patch 2, cls, pos, block 12, ln 2 */
    ASSERT_EQ_SIZE(rep->unused, 20); /* the decoder: linear 2, mask token, pos, block 12, ln 2, linear 2 */
    ASSERT_TRUE(rep->input_norm);
    ASSERT_OK(sl_trainer_run(tr, &r));
    sl_trainer_destroy(tr);
    t = load(f.out);
    ASSERT_STREQ(sl_tensors_get_meta(t, "encoder.spec"), "vit(patch=4,dim=32,depth=1,heads=2,mlp=2,pool=cls)");
    sl_tensors_destroy(t);
}

/* The same MAE run on 1 and 3 threads ends with the same bits. */
TEST(mae_run_identical_across_thread_counts) {
    char first[4096];
    snprintf(first, sizeof first, "%s", t_path("t1.safetensors"));
    for (int k = 0; k < 2; k++) {
        sl_train_config c;
        sl_train_result r;
        tiny(&c, k ? t_path("t3.safetensors") : first);
        mae_tiny(&c);
        c.steps = 6;
        c.threads = k ? 3 : 1;
        ASSERT_OK(train(&c, &r));
    }
    assert_same_tensors(first, t_path("t3.safetensors"));
}

TEST(mae_settings_are_checked) {
    sl_train_config c;
    sl_train_result r;
    tiny(&c, t_path("m.safetensors"));
    mae_tiny(&c);
    c.steps = 1;
    c.mask_ratio = 0.99;
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "--mask-ratio: 0.99 masks 16 of the 16 patches");
    c.mask_ratio = -1;
    c.encoder = "conv(4,3,stride=2,pad=1),flatten,linear(16)";
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "--encoder: masked autoencoder: encoder layer 1: expected patch");
    c.encoder = "vit(patch=4,dim=32,depth=1,heads=2,mlp=2)";
    c.decoder = "linear(16),pos,block(2),linear(48)";
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "decoder layer 2: expected masktok");
    c.decoder = NULL;
    c.projector = "linear(8)";
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "masked autoencoder has a decoder instead");
}

/* Settings of another objective are refused, not ignored; an encoder that
 * ends in tokens is told how to pool them. */
TEST(settings_of_other_objectives_are_refused) {
    sl_train_config c;
    sl_train_result r;
    tiny(&c, t_path("o.safetensors"));
    c.steps = 1;
    c.mask_ratio = 0.5;
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "--mask-ratio: is for --objective mae, not infonce");
    c.mask_ratio = -1;
    c.norm_pix = true;
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "--norm-pix: is for --objective mae, not infonce");
    c.norm_pix = false;
    c.decoder = "linear(16)";
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "--decoder: is for --objective autoencoder or mae, not infonce");
    c.decoder = NULL;
    c.text_encoder = "embbag(16)";
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "--text-encoder: is for --objective clip, not infonce");
    c.text_encoder = NULL;
    c.barlow_lambda = 0.1;
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "--barlow-lambda: is for --objective barlow, not infonce");
    c.objective = SL_OBJ_BARLOW;
    c.vicreg_cov = 2;
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "--vicreg-cov: is for --objective vicreg, not barlow");
    c.objective = SL_OBJ_VICREG;
    c.barlow_lambda = -1;
    c.vicreg_cov = INFINITY;
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "--vicreg-cov: must be finite and >= 0");
    c.vicreg_inv = c.vicreg_var = c.vicreg_cov = 0;
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "needs at least one of its three weights above 0");
    c.vicreg_inv = c.vicreg_var = c.vicreg_cov = -1;
    c.objective = SL_OBJ_INFONCE;
    c.predictor = "linear(8)";
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "--predictor: is for --objective simsiam or byol, not infonce");
    c.objective = SL_OBJ_SIMSIAM;
    c.predictor = "linear(4)";
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "--predictor: must output 8 values like the projector");
    c.predictor = NULL;
    c.ema = 0.9;
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "--ema: is for --objective byol or moco, not simsiam");
    c.objective = SL_OBJ_BYOL;
    c.ema = 1.5;
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "--ema: 1.5 must be in [0, 1]");
    c.ema = -1;
    c.queue = 64;
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "--queue: is for --objective moco or memory-bank, not byol");
    c.objective = SL_OBJ_MOCO;
    c.bank_momentum = 0.3;
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "--bank-momentum: is for --objective memory-bank, not moco");
    c.queue = 0;
    c.bank_momentum = -1;
    c.objective = SL_OBJ_INFONCE;
    c.encoder = "patch(4,16),pos,block(2)";
    ASSERT_FAILS(train(&c, &r), SL_ERR_ARG, "ends in 16x16 tokens (add tokfirst or tokmean)");
    ASSERT_TRUE(access(t_path("o.safetensors"), F_OK) != 0);
}

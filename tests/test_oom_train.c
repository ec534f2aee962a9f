/* Out-of-memory walks (tests/oom.h) of training through the library API:
 * short runs (data, views, forward and backward, the loss, the optimizer
 * step, the JSONL log and the checkpoints) of a small CNN and of a ViT with
 * InfoNCE and other objectives (CLIP with its text tower, MAE with its
 * decoder), and a run resumed from its checkpoint. One
 * thread, 8 x 8 images, batches of 8, two steps. */
#include "oom.h"

#include "train_helpers.h"

typedef struct {
    sl_train_config c;
    char out[1024], log[1024];
} run;

static void run_make(run *r, sl_objective obj, const char *encoder) {
    snprintf(r->out, sizeof r->out, "%s", t_path("run.safetensors"));
    snprintf(r->log, sizeof r->log, "%s", t_path("run.jsonl"));
    tiny(&r->c, r->out);
    r->c.data_count = 32;
    r->c.image_size = 8;
    r->c.batch = 8;
    r->c.steps = 2;
    r->c.log = r->log;
    r->c.log_every = 1;
    r->c.objective = obj;
    r->c.encoder = encoder;
}

static sl_status op_train(void *arg) {
    run *r = arg;
    sl_trainer *t = NULL;
    sl_train_result res;
    sl_status s = sl_trainer_create(&r->c, &t);
    if (!s) s = sl_trainer_run(t, &res);
    sl_trainer_destroy(t);
    return s;
}

#define CNN "conv(4,3,stride=2,pad=1),bn,relu,flatten,linear(8)"
#define VIT "vit(patch=4,dim=8,depth=1,heads=2,mlp=2)"

TEST(cnn_infonce_training_survives_every_failed_allocation) {
    install();
    run r;
    run_make(&r, SL_OBJ_INFONCE, CNN);
    ASSERT_TRUE(fail_each("train cnn infonce", op_train, &r) >= 10);
    /* continue the finished run for two more steps from its checkpoint */
    char from[1024];
    snprintf(from, sizeof from, "%s", t_path("from.safetensors"));
    ASSERT_OK(rename(r.out, from) == 0 ? SL_OK : SL_ERR_IO);
    r.c.resume = from;
    r.c.steps = 4;
    ASSERT_TRUE(fail_each("train cnn infonce resume", op_train, &r) >= 10);
    ASSERT_EQ_INT(C.live, 0);
}

TEST(vit_infonce_training_survives_every_failed_allocation) {
    install();
    run r;
    run_make(&r, SL_OBJ_INFONCE, VIT);
    ASSERT_TRUE(fail_each("train vit infonce", op_train, &r) >= 10);
    ASSERT_EQ_INT(C.live, 0);
}

TEST(labelled_objectives_training_survives_every_failed_allocation) {
    install();
    static const sl_objective objs[] = {SL_OBJ_SUPCON, SL_OBJ_TRIPLET, SL_OBJ_SOFTMAX};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) {
        run r;
        run_make(&r, objs[i], CNN);
        char what[64];
        snprintf(what, sizeof what, "train cnn %s", sl_loss_objective_name(objs[i]));
        ASSERT_TRUE(fail_each(what, op_train, &r) >= 10);
    }
    ASSERT_EQ_INT(C.live, 0);
}

/* The objectives without negatives and those with a predictor, momentum
 * copies, a queue or a memory bank, each walked through a fresh run and a
 * resume of it (which reads the copies, the queue or the bank back). */
TEST(self_supervised_objectives_training_survives_every_failed_allocation) {
    install();
    static const sl_objective objs[] = {SL_OBJ_BARLOW,  SL_OBJ_VICREG, SL_OBJ_SIMSIAM,
                                        SL_OBJ_BYOL,    SL_OBJ_MOCO,   SL_OBJ_MEMORY_BANK};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) {
        run r;
        run_make(&r, objs[i], CNN);
        r.c.queue = objs[i] == SL_OBJ_MOCO || objs[i] == SL_OBJ_MEMORY_BANK ? 16 : 0;
        char what[64];
        snprintf(what, sizeof what, "train cnn %s", sl_loss_objective_name(objs[i]));
        ASSERT_TRUE(fail_each(what, op_train, &r) >= 10);
        char from[1024];
        snprintf(from, sizeof from, "%s", t_path("from.safetensors"));
        ASSERT_OK(rename(r.out, from) == 0 ? SL_OK : SL_ERR_IO);
        r.c.resume = from;
        r.c.steps = 3;
        snprintf(what, sizeof what, "train cnn %s resume", sl_loss_objective_name(objs[i]));
        ASSERT_TRUE(fail_each(what, op_train, &r) >= 10);
    }
    ASSERT_EQ_INT(C.live, 0);
}

TEST(clip_training_survives_every_failed_allocation) {
    install();
    run r;
    run_make(&r, SL_OBJ_CLIP, CNN);
    ASSERT_TRUE(fail_each("train cnn clip", op_train, &r) >= 10);
    ASSERT_EQ_INT(C.live, 0);
}

TEST(vit_mae_training_survives_every_failed_allocation) {
    install();
    run r;
    run_make(&r, SL_OBJ_MAE, VIT);
    r.c.decoder = "linear(8),masktok,pos,block(2,mlp=2),ln,linear(48)";
    r.c.projector = NULL;
    r.c.steps = 1;
    ASSERT_TRUE(fail_each("train vit mae", op_train, &r) >= 10);
    ASSERT_EQ_INT(C.live, 0);
}

/* The shapes demo: a contrastive encoder trained with colour-resampling views
 * and an autoencoder, compared with raw pixels by leave-one-out kNN accuracy
 * on every attribute of the validation split, to show which invariances each
 * representation learned. */
#include "train/train_internal.h"

#include "simlearn/eval.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A small CNN ending in global average pooling: it sees every position
 * alike, so it cannot tell instances apart by where they are alone and has to
 * look at what they are. */
#define DEMO_ENCODER                                                                                           \
    "conv(32,3,pad=1,bias=0),bn,relu,maxpool(2),conv(64,3,pad=1,bias=0),bn,relu,maxpool(2),"                   \
    "conv(64,3,pad=1,bias=0),bn,relu,gap,linear(64)"
/* The contrastive views: the colour redrawn, everything else kept, then a
 * shift of up to 3 pixels (a shape stays in its cell of the location grid). */
#define DEMO_VIEWS "keep=shape+size+location,translate(3)"
#define DEMO_VAL 2000
#define DEMO_K 10

static sl_status train_one(const sl_demo_config *c, const char *path, sl_objective obj, const char *aug,
                           size_t steps) {
    sl_train_config t;
    sl_train_config_default(&t);
    t.data = "shapes";
    t.objective = obj;
    t.aug = aug;
    t.encoder = DEMO_ENCODER;
    /* No projector: the loss acts on the embedding the table measures. A
     * low temperature weighs the hardest negatives most. */
    t.projector = "none";
    t.tau = obj == SL_OBJ_INFONCE ? 0.1 : 0;
    t.steps = steps;
    t.batch = 128;
    t.lr = 2e-3;
    t.schedule = "cosine";
    t.warmup = steps / 20;
    t.seed = c->seed;
    t.threads = c->threads;
    t.out = path;
    /* The JSONL log sits beside the model (name.jsonl) so the report can draw
     * the training curves. */
    char log[4200];
    size_t n = strlen(path);
    const char *ext = ".safetensors";
    size_t el = strlen(ext);
    if (n > el && strcmp(path + n - el, ext) == 0) n -= el;
    snprintf(log, sizeof log, "%.*s.jsonl", (int)n, path);
    t.log = log;
    t.progress_stream = c->progress_stream;
    t.progress_mode = c->progress_mode;
    t.stop = c->stop;
    sl_trainer *tr;
    SL__TRY(sl_trainer_create(&t, &tr));
    sl_status s = sl_trainer_run(tr, NULL);
    sl_trainer_destroy(tr);
    return s;
}

static sl_status embed_save(const sl_demo_config *c, const char *model, const char *npy, sl_demo_result *r, int rep) {
    sl_embed_config e;
    sl_embed_config_default(&e);
    e.model = model;
    e.data = "shapes";
    e.split = SL_SPLIT_VAL;
    e.data_count = DEMO_VAL;
    e.image_size = 32;
    e.threads = c->threads;
    e.stop = c->stop;
    sl_embedding *em;
    SL__TRY(sl_embed_run(&e, &em));
    sl_status s = sl_npy_write_matrix(npy, em->x, em->n, em->d);
    r->n_val = em->n;
    r->n_attrs = em->n_attrs > 4 ? 4 : em->n_attrs;
    int64_t *lab = sl__malloc_array(em->n, sizeof(int64_t), "labels");
    if (!lab && !s) s = sl__fail(SL_ERR_NOMEM, "demo: out of memory");
    sl_knn_config kc = {.k = DEMO_K, .vote = SL_VOTE_MAJORITY, .metric = SL_METRIC_COSINE};
    for (int k = 0; !s && k < r->n_attrs; k++) {
        for (size_t i = 0; i < em->n; i++) lab[i] = em->labels[i * (size_t)em->n_attrs + (size_t)k];
        s = sl_knn_loo_accuracy(em->x, em->n, em->d, lab, &kc, &r->acc[rep][k]);
        if (!s && isnan(r->acc[rep][k])) r->acc[rep][k] = 0; /* no labelled row */
        if (rep == 0) {
            /* Chance: always answering the most common class. */
            size_t cnt[256] = {0}, best = 0;
            for (size_t i = 0; i < em->n; i++)
                if (lab[i] >= 0 && lab[i] < 256 && ++cnt[lab[i]] > best) best = cnt[lab[i]];
            r->chance[k] = (double)best / (double)em->n;
            static const char *const names[4] = {"shape", "color", "size", "location"};
            r->attr_names[k] = names[k];
        }
    }
    sl__free(lab);
    sl_embedding_destroy(em);
    return s;
}

void sl_demo_config_default(sl_demo_config *c) {
    memset(c, 0, sizeof *c);
    c->out_dir = "demo-out";
    c->steps = 200;
    c->seed = 1;
    c->progress_mode = SL_PROGRESS_AUTO;
}

sl_status sl_demo_run(const sl_demo_config *c, sl_demo_result *r) {
    double t0 = sl_time_now();
    const char *dir = c->out_dir ? c->out_dir : "demo-out";
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return sl__fail(SL_ERR_IO, "%s: cannot create the folder", dir);
    size_t steps = c->steps ? c->steps : 200;
    char p1[4096], p2[4096], e0[4096], e1[4096], e2[4096];
    snprintf(p1, sizeof p1, "%s/contrastive-color.safetensors", dir);
    snprintf(p2, sizeof p2, "%s/autoencoder.safetensors", dir);
    snprintf(e0, sizeof e0, "%s/val-pixels.npy", dir);
    snprintf(e1, sizeof e1, "%s/val-autoencoder.npy", dir);
    snprintf(e2, sizeof e2, "%s/val-contrastive-color.npy", dir);
    sl_demo_result res;
    memset(&res, 0, sizeof res);
    res.rep_names[0] = "raw pixels";
    res.rep_names[1] = "autoencoder";
    res.rep_names[2] = "contrastive, color views";
    SL__TRY(train_one(c, p1, SL_OBJ_INFONCE, DEMO_VIEWS, steps));
    SL__TRY(train_one(c, p2, SL_OBJ_AUTOENCODER, "none", steps));
    SL__TRY(embed_save(c, NULL, e0, &res, 0));
    SL__TRY(embed_save(c, p2, e1, &res, 1));
    SL__TRY(embed_save(c, p1, e2, &res, 2));
    res.seconds = sl_time_now() - t0;
    *r = res;
    return SL_OK;
}

/* The training loop: batches from the producer thread, the encoder (and
 * projector, text tower, decoder or class matrix as the objective needs), the
 * objective's gradient back through the models, an optimizer step; JSONL
 * logging, checkpoints that resume bit-identically, and stopping on
 * interruption or on a non-finite loss or gradient. */
#include "train/train_internal.h"

#include "simlearn/geom.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The towers a run may train, then the momentum copies it does not train
 * (T_INIT: the towers --init-towers can name). */
enum { T_ENC, T_PROJ, T_DEC, T_TEXT, T_CLASSES, T_PRED, T_TENC, T_TPROJ, T_N, T_INIT = T_TENC };
static const char *const tower_prefix[T_N] = {"encoder.", "projector.", "decoder.",       "text.",
                                              "classes.", "predictor.", "target_encoder.", "target_projector."};
static const char *const tower_name[T_N] = {"encoder",      "projector", "decoder",        "text encoder",
                                            "class matrix", "predictor", "target encoder", "target projector"};

#define NSTR 20
struct sl_trainer {
    sl_train_config c;     /* resolved; strings point into own[] */
    char *own[NSTR];
    int nown;
    sl_objective obj;
    sl_loss_config lc;
    sl_optim_kind okind;
    sl_optim_config oc;
    sl_schedule sched;
    int label_attr;
    double in_mean, in_std;
    sl_dataset *data;
    sl_augment *aug;
    sl_batcher *batcher;
    sl_batch_mode mode;
    sl_model *m[T_N];
    sl_optim *o[T_N];
    sl__vocab *vocab;
    double ls_m, ls_v; /* Adam moments of the learnable log-scale */
    uint64_t step, total, steps_per_epoch;
    size_t B, item, rows_max;
    float *xin, *dz, *dh, *dzt, *tok;
    int32_t *lab;
    sl_loss_workspace *ws;
    FILE *log;
    char desc[4096];
    uint64_t last_ckpt;
    bool init_sel[T_N];    /* the towers --init takes */
    bool init_spec;        /* the encoder's spec is --init's (train.encoder) */
    sl__init_done *init;   /* what it took; NULL without --init */
    sl_mae *mae;           /* mae: the masked pass over encoder and decoder */
    uint8_t *mae_mask;     /* mae: the batch's masks, B x patches */
    /* Data-parallel runs (src/train/parallel.c): this rank of `ranks` (each
     * takes B / ranks rows of every batch), and for objectives that contrast
     * across the global batch, its gathered embeddings and their gradients
     * (zg, dzg: rows_max x dz; ztg, dztg: B x dz for CLIP's captions). */
    int rank, ranks, ckpt_ranks;
    bool dp_global;
    float *zg, *dzg, *ztg, *dztg;
    size_t dz_width; /* the embeddings' width (set at the first logged step) */
    /* simsiam, byol: the predictions' gradient and the targets (rows_max x dz);
     * moco, memory-bank: the keys, then the negatives (kb), the keys of the
     * step (keys, global in a data-parallel run), the queue or the bank, the
     * global batch's items and the drawn negatives' rows. */
    float *dp, *tg, *kb, *keys;
    sl__keyqueue queue;
    sl__bank bank;
    size_t *itemg, *negs;
    int32_t *labg;
};

void sl_train_config_default(sl_train_config *c) {
    memset(c, 0, sizeof *c);
    c->data = "shapes";
    c->split = SL_SPLIT_TRAIN;
    c->objective = SL_OBJ_INFONCE;
    c->learn_tau = -1;
    c->margin = -1;
    c->mask_ratio = -1;
    c->barlow_lambda = -1;
    c->vicreg_inv = c->vicreg_var = c->vicreg_cov = -1;
    c->ema = c->bank_momentum = -1;
    c->wd = -1;
    c->warmup = -1;
    c->val_fraction = -1;
    c->test_fraction = -1;
    c->seed = 1;
    c->progress_mode = SL_PROGRESS_AUTO;
}

/* *out = a copy of s that the trainer owns (s itself when NULL); on failure
 * *out is unchanged. */
static sl_status keep_str(sl_trainer *t, const char *s, const char **out) {
    if (!s || t->nown >= NSTR) {
        *out = s;
        return SL_OK;
    }
    char *d = sl__strdup(s);
    if (!d) return sl__fail(SL_ERR_NOMEM, "train: out of memory");
    t->own[t->nown++] = d;
    *out = d;
    return SL_OK;
}

static bool two_views(sl_objective o) {
    return o == SL_OBJ_INFONCE || o == SL_OBJ_SUPCON || o == SL_OBJ_BARLOW || o == SL_OBJ_VICREG ||
           o == SL_OBJ_SIMSIAM || o == SL_OBJ_BYOL || o == SL_OBJ_MOCO;
}
/* Reconstruction objectives: no temperature, no embedding geometry per step. */
static bool reconstructs(sl_objective o) { return o == SL_OBJ_AUTOENCODER || o == SL_OBJ_MAE; }
/* Objectives on the batch's statistics: no similarity, no temperature. */
static bool decorrelates(sl_objective o) { return o == SL_OBJ_BARLOW || o == SL_OBJ_VICREG; }
/* Objectives with a predictor on the projector and a target without gradient. */
static bool predicts(sl_objective o) { return o == SL_OBJ_SIMSIAM || o == SL_OBJ_BYOL; }
/* Objectives with momentum copies of the encoder and projector. */
static bool momentum_copy(sl_objective o) { return o == SL_OBJ_BYOL || o == SL_OBJ_MOCO; }
/* Objectives whose negatives are held outside the batch. */
static bool queues(sl_objective o) { return o == SL_OBJ_MOCO || o == SL_OBJ_MEMORY_BANK; }
static bool has_tau(sl_objective o) { return !reconstructs(o) && !decorrelates(o) && !predicts(o); }
/* Objectives without negatives, whose embeddings are watched for collapse. */
static bool watches_collapse(sl_objective o) { return decorrelates(o) || predicts(o); }
/* Objectives whose loss is not a mean of per-row terms: data-parallel runs
 * gather the global batch for them. */
static bool contrasts(sl_objective o) {
    return o != SL_OBJ_AUTOENCODER && o != SL_OBJ_SOFTMAX && o != SL_OBJ_MAE && !predicts(o);
}
static bool needs_labels(sl_objective o) {
    return o == SL_OBJ_SUPCON || o == SL_OBJ_TRIPLET || o == SL_OBJ_TRIPLET_HARD || o == SL_OBJ_TRIPLET_SMOOTH ||
           o == SL_OBJ_SOFTMAX;
}

void sl__train_input_norm(const sl_dataset *d, double *mean, double *std) {
    const char *n = sl_data_name(d);
    *mean = 0.0;
    *std = 1.0;
    /* The statistics PyTorch recipes use, so an encoder sees the same input
     * as the reference implementation. */
    if (strcmp(n, "fashion-mnist") == 0) {
        *mean = 0.2860;
        *std = 0.3530;
    } else if (strcmp(n, "mnist") == 0) {
        *mean = 0.1307;
        *std = 0.3081;
    }
}

/* The default encoder for a dataset: the R1 network on 28x28 IDX images; on
 * other images a strided CNN ending in flatten + linear, which keeps where
 * things are (global average pooling would throw location away); an MLP on
 * vectors. */
static const char *default_encoder(const sl_dataset *d, char *buf, size_t cap) {
    int c = sl_data_channels(d), h = sl_data_height(d), w = sl_data_width(d);
    (void)c;
    if (sl_data_kind_of(d) == SL_DATA_IDX)
        return "conv(32,3,pad=1,bias=0),bn,relu,maxpool(2),conv(64,3,pad=1,bias=0),bn,relu,maxpool(2),"
               "conv(128,3,pad=1,bias=0),bn,relu,gap";
    if (h >= 8 && w >= 8)
        return "conv(32,3,stride=2,pad=1,bias=0),bn,relu,conv(64,3,stride=2,pad=1,bias=0),bn,relu,"
               "conv(64,3,stride=2,pad=1,bias=0),bn,relu,flatten,linear(128)";
    snprintf(buf, cap, "flatten,linear(256),relu,linear(128)");
    return buf;
}

static sl_status fail_opt(const char *name, const char *fmt, ...) SL__PRINTF(2, 3);
static sl_status fail_opt(const char *name, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sl__fail(SL_ERR_ARG, "train: --%s: %s", name, msg);
}

/* ---- setup -----------------------------------------------------------------*/

static const char *const tower_key[T_N] = {"train.encoder", "train.projector", "train.decoder", "train.text_encoder",
                                          NULL,            "train.predictor", NULL,            NULL};

static sl_status build_model(sl_trainer *t, int k, const char *spec, const sl_shape *in, uint64_t seed) {
    sl_status s = sl_model_create(spec, in, seed, &t->m[k]);
    /* A resumed run's specs come from the checkpoint: name the key. */
    if (s && t->c.resume && tower_key[k]) return sl__fail_prefix(s, "metadata '%s'", tower_key[k]);
    if (s && k == T_ENC && t->init_spec) return sl__fail_prefix(s, "%s: metadata 'train.encoder'", t->c.init);
    if (s) return sl__fail_prefix(s, "%s", tower_name[k]);
    if (k >= T_INIT) return SL_OK; /* momentum copies are not trained */
    s = sl_optim_create(t->m[k], &t->oc, &t->o[k]);
    return s;
}

/* The dataset, its input normalisation, and the label attribute and captions
 * the objective needs. */
static sl_status resolve_data(sl_trainer *t, const sl_tensors *ckpt) {
    sl_train_config *c = &t->c;
    sl_data_config dc;
    sl__train_data_config(c, &dc);
    SL__TRY(sl_data_open(&dc, &t->data));
    c->image_size = sl_data_height(t->data);
    t->item = sl_data_item_size(t->data);
    /* A resumed run keeps the normalisation it was trained with (read by config_from). */
    if (!ckpt) sl__train_input_norm(t->data, &t->in_mean, &t->in_std);
    /* labels */
    t->label_attr = -1;
    if (needs_labels(t->obj)) {
        if (sl_data_num_attrs(t->data) == 0)
            return fail_opt("objective", "%s needs labels and %s has none", sl_loss_objective_name(t->obj),
                            sl_data_name(t->data));
        t->label_attr = c->label ? sl_data_find_attr(t->data, c->label) : 0;
        if (t->label_attr < 0) return fail_opt("label", "%s has no attribute '%s'", sl_data_name(t->data), c->label);
        c->label = sl_data_attr(t->data, t->label_attr)->name;
    }
    if (t->obj == SL_OBJ_CLIP && !sl_data_has_captions(t->data))
        return fail_opt("objective", "clip needs captions and %s has none", sl_data_name(t->data));
    return SL_OK;
}

/* The augmentation: --aug, or the objective's default for the data, with
 * --keep in front of it. */
static sl_status resolve_aug(sl_trainer *t) {
    sl_train_config *c = &t->c;
    char augbuf[1024];
    const char *aug = c->aug;
    if (!aug) {
        if (two_views(t->obj) || t->obj == SL_OBJ_MEMORY_BANK)
            aug = sl_data_kind_of(t->data) == SL_DATA_IDX ? "mono" : "simclr";
        else
            aug = "none";
    }
    if (c->keep && *c->keep) {
        if (strcmp(aug, "none") == 0 || (!c->aug && two_views(t->obj)))
            snprintf(augbuf, sizeof augbuf, "keep=%s", c->keep);
        else
            snprintf(augbuf, sizeof augbuf, "keep=%s,%s", c->keep, sl_augment_preset(aug) ? sl_augment_preset(aug) : aug);
        aug = augbuf;
    }
    SL__TRY(keep_str(t, aug, &c->aug));
    c->keep = NULL;
    if (strcmp(aug, "none") != 0) {
        sl_status s = sl_augment_create(aug, &t->aug);
        if (s) return sl__fail_prefix(s, "train: --aug: ");
    }
    return SL_OK;
}

/* The settings of the predictor, momentum-copy and queue objectives. */
static sl_status resolve_ssl(sl_trainer *t) {
    sl_train_config *c = &t->c;
    const char *obj = sl_loss_objective_name(t->obj);
    if (c->predictor && !predicts(t->obj)) return fail_opt("predictor", "is for --objective simsiam or byol, not %s", obj);
    if (c->ema >= 0 && !momentum_copy(t->obj)) return fail_opt("ema", "is for --objective byol or moco, not %s", obj);
    if (c->queue && !queues(t->obj)) return fail_opt("queue", "is for --objective moco or memory-bank, not %s", obj);
    if (c->bank_momentum >= 0 && t->obj != SL_OBJ_MEMORY_BANK)
        return fail_opt("bank-momentum", "is for --objective memory-bank, not %s", obj);
    if (momentum_copy(t->obj)) {
        if (c->ema < 0) c->ema = t->obj == SL_OBJ_BYOL ? 0.996 : 0.99;
        if (!(c->ema >= 0 && c->ema <= 1)) return fail_opt("ema", "%g must be in [0, 1]", c->ema);
    }
    if (queues(t->obj)) {
        if (!c->queue) c->queue = 4096;
        if (c->queue > (size_t)1 << 24) return fail_opt("queue", "%zu is more than 2^24", c->queue);
    }
    if (t->obj == SL_OBJ_MEMORY_BANK) {
        if (c->bank_momentum < 0) c->bank_momentum = 0.5;
        if (!(c->bank_momentum <= 1)) return fail_opt("bank-momentum", "%g must be in [0, 1]", c->bank_momentum);
    }
    return SL_OK;
}

/* The objective's settings: similarity, temperature, margin. */
static sl_status resolve_objective(sl_trainer *t) {
    sl_train_config *c = &t->c;
    sl_loss_config_default(&t->lc, t->obj);
    if (c->sim) SL__TRY(sl_loss_sim_parse(c->sim, &t->lc.sim));
    c->sim = sl_loss_sim_name(t->lc.sim);
    if (c->tau > 0) t->lc.tau = c->tau;
    if (!(t->lc.tau > 0 && isfinite(t->lc.tau))) return fail_opt("tau", "must be > 0");
    c->tau = t->lc.tau;
    if (c->learn_tau >= 0) t->lc.learnable_tau = c->learn_tau;
    c->learn_tau = t->lc.learnable_tau;
    t->lc.log_scale = sl_loss_clamp_log_scale(&t->lc, -log(t->lc.tau));
    if (c->margin >= 0) t->lc.margin = c->margin;
    c->margin = t->lc.margin;
    if (!(c->margin >= 0 && isfinite(c->margin))) return fail_opt("margin", "must be finite");
    const char *obj = sl_loss_objective_name(t->obj);
    if (c->barlow_lambda >= 0 && t->obj != SL_OBJ_BARLOW)
        return fail_opt("barlow-lambda", "is for --objective barlow, not %s", obj);
    if ((c->vicreg_inv >= 0 || c->vicreg_var >= 0 || c->vicreg_cov >= 0) && t->obj != SL_OBJ_VICREG)
        return fail_opt(c->vicreg_inv >= 0 ? "vicreg-inv" : c->vicreg_var >= 0 ? "vicreg-var" : "vicreg-cov",
                        "is for --objective vicreg, not %s", obj);
    double *const set[4] = {&c->barlow_lambda, &c->vicreg_inv, &c->vicreg_var, &c->vicreg_cov};
    double *const lcv[4] = {&t->lc.barlow_lambda, &t->lc.vicreg_inv, &t->lc.vicreg_var, &t->lc.vicreg_cov};
    static const char *const names[4] = {"barlow-lambda", "vicreg-inv", "vicreg-var", "vicreg-cov"};
    for (int k = 0; k < 4; k++) {
        if (*set[k] >= 0) *lcv[k] = *set[k];
        *set[k] = *lcv[k];
        if (!(*set[k] >= 0 && isfinite(*set[k]))) return fail_opt(names[k], "must be finite and >= 0");
    }
    if (t->obj == SL_OBJ_VICREG && !(c->vicreg_inv + c->vicreg_var + c->vicreg_cov > 0))
        return fail_opt("vicreg-inv", "VICReg needs at least one of its three weights above 0");
    return resolve_ssl(t);
}

/* The optimizer and the learning-rate schedule. */
static sl_status resolve_optim(sl_trainer *t) {
    sl_train_config *c = &t->c;
    SL__TRY(sl_optim_kind_parse(c->optim ? c->optim : "adam", &t->okind));
    sl_optim_config_default(&t->oc, t->okind);
    c->optim = t->okind == SL_OPT_SGD ? "sgd" : t->okind == SL_OPT_ADAM ? "adam" : t->okind == SL_OPT_ADAMW ? "adamw" : "lars";
    if (t->okind == SL_OPT_SGD) t->oc.momentum = 0.9f;
    if (c->wd >= 0) t->oc.weight_decay = (float)c->wd;
    c->wd = t->oc.weight_decay;
    if (!(c->wd >= 0 && isfinite(c->wd))) return fail_opt("wd", "must be finite");
    if (!(c->min_lr >= 0 && isfinite(c->min_lr))) return fail_opt("min-lr", "must be >= 0 and finite");
    if (!(c->clip_grad >= 0 && isfinite(c->clip_grad))) return fail_opt("clip-grad", "must be >= 0 (0: off) and finite");
    if (!(c->lr > 0)) c->lr = t->okind == SL_OPT_SGD ? 0.05 : t->okind == SL_OPT_LARS ? 0.3 : 2e-3;
    if (!isfinite(c->lr)) return fail_opt("lr", "must be finite");
    if (!c->schedule) c->schedule = "cosine";
    sl_status s = sl_schedule_parse(c->schedule, &t->sched);
    if (s) return sl__fail_prefix(s, "train: --schedule: ");
    return SL_OK;
}

/* The batch producer, from the run's next batch. */
static sl_status build_batcher(sl_trainer *t) {
    sl_train_config *c = &t->c;
    if (!c->batch) c->batch = 256;
    t->B = c->batch;
    t->mode = t->obj == SL_OBJ_CLIP ? SL_BATCH_CAPTION : two_views(t->obj) ? SL_BATCH_TWO_VIEWS : SL_BATCH_ONE_VIEW;
    sl_batch_config bc;
    sl_batch_config_default(&bc);
    bc.data = t->data;
    bc.aug = t->aug;
    bc.mode = t->mode;
    bc.batch_size = t->B;
    bc.seed = c->seed;
    bc.start = (size_t)t->step; /* a resumed run goes on from its next batch */
    bc.threads = c->data_threads > 0 ? c->data_threads : 1;
    if (t->ranks > 1) {
        if (t->B % (size_t)t->ranks)
            return fail_opt("batch", "%zu is not a multiple of the %d ranks (every rank takes an equal share)", t->B,
                            t->ranks);
        bc.shard = (size_t)t->rank, bc.shards = (size_t)t->ranks;
    }
    sl_status s = sl_batcher_create(&bc, &t->batcher);
    if (s) return sl__fail_prefix(s, "train: ");
    t->steps_per_epoch = sl_batcher_steps_per_epoch(t->batcher);
    return SL_OK;
}

/* The encoder and the projector (or none); *hs is the encoder's output
 * shape, *dz the embedding width the objective sees. */
static sl_status build_encoder_projector(sl_trainer *t, sl_shape *hs, size_t *dz) {
    sl_train_config *c = &t->c;
    char specbuf[256];
    sl_shape in = {3, {(size_t)sl_data_channels(t->data), (size_t)sl_data_height(t->data), (size_t)sl_data_width(t->data)}};
    const char *enc = c->encoder;
    if (!enc) enc = t->obj == SL_OBJ_MAE ? "vit" : default_encoder(t->data, specbuf, sizeof specbuf);
    SL__TRY(keep_str(t, enc, &c->encoder));
    SL__TRY(build_model(t, T_ENC, c->encoder, &in, c->seed));
    *hs = sl_model_output_shape(t->m[T_ENC]);
    if (hs->ndim == 2)
        return fail_opt("encoder", "must end in a flat vector; it ends in %zux%zu tokens (add tokfirst or tokmean)",
                        hs->dims[0], hs->dims[1]);
    if (hs->ndim != 1) return fail_opt("encoder", "must end in a flat vector (add gap or flatten), got %d dims", hs->ndim);
    if (!c->projector) {
        if (t->obj == SL_OBJ_CLIP)
            c->projector = "linear(64)";
        else if (reconstructs(t->obj) || t->obj == SL_OBJ_SOFTMAX)
            c->projector = "none";
        else if (sl_data_kind_of(t->data) == SL_DATA_IDX)
            c->projector = "linear(512),bn,relu,linear(128)";
        else
            c->projector = "linear(128),relu,linear(64)";
    }
    SL__TRY(keep_str(t, c->projector, &c->projector));
    if (strcmp(c->projector, "none") != 0) {
        if (reconstructs(t->obj))
            return fail_opt("projector", "the %s has a decoder instead; use none",
                            t->obj == SL_OBJ_MAE ? "masked autoencoder" : "autoencoder");
        SL__TRY(build_model(t, T_PROJ, c->projector, hs, c->seed + 1));
    }
    sl_shape zs = t->m[T_PROJ] ? sl_model_output_shape(t->m[T_PROJ]) : *hs;
    if (zs.ndim != 1) return fail_opt("projector", "must end in a flat vector");
    *dz = zs.dims[0];
    return SL_OK;
}

/* The autoencoder's decoder, from the encoder's output back to one value per
 * input value. */
static sl_status build_decoder(sl_trainer *t, const sl_shape *hs) {
    sl_train_config *c = &t->c;
    char specbuf[256];
    const char *dec = c->decoder;
    if (!dec) {
        snprintf(specbuf, sizeof specbuf, "linear(512),relu,linear(%zu)", t->item);
        dec = specbuf;
    }
    SL__TRY(keep_str(t, dec, &c->decoder));
    SL__TRY(build_model(t, T_DEC, c->decoder, hs, c->seed + 2));
    sl_shape ds = sl_model_output_shape(t->m[T_DEC]);
    if (sl_shape_count(&ds) != t->item)
        return fail_opt("decoder", "must output %zu values (one per input value)", t->item);
    return SL_OK;
}

/* Whether p starts a txt preset token of spec ts that does not give vocab=. */
static bool txt_needs_vocab(const char *ts, const char *p) {
    if (strncmp(p, "txt", 3) != 0 || (p > ts && p[-1] != ',') || (p[3] && p[3] != '(' && p[3] != ',')) return false;
    size_t len = p[3] == '(' ? strcspn(p, ")") : 3;
    for (size_t i = 3; i + 6 <= len; i++)
        if (strncmp(p + i, "vocab=", 6) == 0) return false;
    return true;
}

/* MAE's decoder (sl_mae_create checks its layout and the encoder's) on the
 * encoder's tokens, and the mask ratio, which must mask at least one patch
 * of each image and leave at least one visible. */
static sl_status build_mae(sl_trainer *t) {
    sl_train_config *c = &t->c;
    char specbuf[256];
    sl_shape din;
    sl_status s = sl_mae_default_decoder(t->m[T_ENC], specbuf, sizeof specbuf, &din);
    if (s) return sl__fail_prefix(s, "train: --encoder");
    SL__TRY(keep_str(t, c->decoder ? c->decoder : specbuf, &c->decoder));
    SL__TRY(build_model(t, T_DEC, c->decoder, &din, c->seed + 2));
    s = sl_mae_create(t->m[T_ENC], t->m[T_DEC], &t->mae);
    if (s) return sl__fail_prefix(s, "train");
    if (c->mask_ratio < 0) c->mask_ratio = 0.75;
    size_t L = sl_mae_patches(t->m[T_ENC]), nm = sl_mae_masked_count(L, c->mask_ratio);
    if (!(c->mask_ratio < 1) || nm < 1 || nm >= L)
        return fail_opt("mask-ratio", "%g masks %zu of the %zu patches; it must mask at least one and leave one",
                        c->mask_ratio, nm, L);
    return SL_OK;
}

/* CLIP's text tower over the caption vocabulary. In its spec "embbag(DIM)"
 * and "tokemb(DIM)" get the vocabulary size filled in, as does the preset
 * "txt(...)" without vocab= (as its first argument), and "linear(D)" the
 * width dz of the image embedding, so the defaults fit any data. */
static sl_status build_text_tower(sl_trainer *t, size_t dz) {
    sl_train_config *c = &t->c;
    if (!t->vocab) SL__TRY(sl__vocab_build(t->data, 0, &t->vocab)); /* a resumed run has the checkpoint's */
    const char *ts = c->text_encoder ? c->text_encoder : "embbag(128),linear(128),relu,linear(D)";
    char tb[512], *o = tb;
    size_t left = sizeof tb;
    for (const char *p = ts; *p && left > 32;) {
        unsigned dim;
        int used = 0;
        if (strncmp(p, "embbag(", 7) == 0 && sscanf(p, "embbag(%u)%n", &dim, &used) == 1 && used > 0) {
            int k = snprintf(o, left, "embbag(%zu,%u)", t->vocab->n, dim);
            o += k, left -= (size_t)k, p += used;
        } else if (strncmp(p, "tokemb(", 7) == 0 && sscanf(p, "tokemb(%u)%n", &dim, &used) == 1 && used > 0) {
            int k = snprintf(o, left, "tokemb(%zu,%u)", t->vocab->n, dim);
            o += k, left -= (size_t)k, p += used;
        } else if (txt_needs_vocab(ts, p)) {
            int k = snprintf(o, left, "txt(vocab=%zu%s", t->vocab->n, p[3] == '(' && p[4] != ')' ? "," : ")");
            o += k, left -= (size_t)k, p += p[3] == '(' ? 4 : 3;
            if (p[-1] == '(' && *p == ')') p++;
        } else if (strncmp(p, "linear(D)", 9) == 0) {
            int k = snprintf(o, left, "linear(%zu)", dz);
            o += k, left -= (size_t)k, p += 9;
        } else {
            *o++ = *p++, left--;
        }
    }
    *o = 0;
    SL__TRY(keep_str(t, tb, &c->text_encoder));
    sl_shape ts_in = {1, {t->vocab->max_tokens, 0, 0}};
    SL__TRY(build_model(t, T_TEXT, c->text_encoder, &ts_in, c->seed + 3));
    sl_shape tz = sl_model_output_shape(t->m[T_TEXT]);
    if (tz.ndim != 1 || tz.dims[0] != dz)
        return fail_opt("text-encoder", "must output %zu values like the image tower", dz);
    return SL_OK;
}

/* SimSiam's and BYOL's predictor (from the embedding back to its width) and
 * the momentum copies of the encoder and projector (same specs and seeds;
 * a new run copies the trained towers into them once they are set). */
static sl_status build_ssl(sl_trainer *t, const sl_shape *hs, size_t dz) {
    sl_train_config *c = &t->c;
    if (predicts(t->obj)) {
        char specbuf[256];
        size_t hid = t->obj == SL_OBJ_SIMSIAM ? SL__MAX(dz / 4, (size_t)8) : 4 * dz;
        snprintf(specbuf, sizeof specbuf, "linear(%zu),bn,relu,linear(%zu)", hid, dz);
        SL__TRY(keep_str(t, c->predictor ? c->predictor : specbuf, &c->predictor));
        sl_shape ps = {1, {dz, 0, 0}};
        SL__TRY(build_model(t, T_PRED, c->predictor, &ps, c->seed + 5));
        sl_shape po = sl_model_output_shape(t->m[T_PRED]);
        if (po.ndim != 1 || po.dims[0] != dz) return fail_opt("predictor", "must output %zu values like the projector", dz);
    }
    if (momentum_copy(t->obj)) {
        SL__TRY(build_model(t, T_TENC, c->encoder, &(sl_shape){3, {(size_t)sl_data_channels(t->data),
                                                                  (size_t)sl_data_height(t->data),
                                                                  (size_t)sl_data_width(t->data)}}, c->seed));
        if (t->m[T_PROJ]) SL__TRY(build_model(t, T_TPROJ, c->projector, hs, c->seed + 1));
    }
    if (t->obj == SL_OBJ_MOCO) SL__TRY(sl__keyqueue_init(&t->queue, c->queue, dz));
    if (t->obj == SL_OBJ_MEMORY_BANK) SL__TRY(sl__bank_init(&t->bank, sl_data_count(t->data), dz, c->seed + 6));
    return SL_OK;
}

/* The momentum copies start as the trained towers. */
static sl_status copy_to_targets(sl_trainer *t) {
    if (t->m[T_TENC]) SL__TRY(sl__ema_update(t->m[T_TENC], t->m[T_ENC], 0.0));
    if (t->m[T_TPROJ]) SL__TRY(sl__ema_update(t->m[T_TPROJ], t->m[T_PROJ], 0.0));
    return SL_OK;
}

/* Every model the objective needs; *hs and *dz as build_encoder_projector. */
static sl_status build_models(sl_trainer *t, sl_shape *hs, size_t *dz) {
    sl_train_config *c = &t->c;
    SL__TRY(build_encoder_projector(t, hs, dz));
    const char *obj = sl_loss_objective_name(t->obj);
    if (t->obj != SL_OBJ_MAE && (c->mask_ratio >= 0 || c->norm_pix))
        return fail_opt(c->norm_pix ? "norm-pix" : "mask-ratio", "is for --objective mae, not %s", obj);
    if (!reconstructs(t->obj) && c->decoder)
        return fail_opt("decoder", "is for --objective autoencoder or mae, not %s", obj);
    if (t->obj != SL_OBJ_CLIP && c->text_encoder)
        return fail_opt("text-encoder", "is for --objective clip, not %s", obj);
    if (t->obj == SL_OBJ_AUTOENCODER)
        SL__TRY(build_decoder(t, hs));
    else if (t->obj == SL_OBJ_MAE)
        SL__TRY(build_mae(t));
    if (t->obj == SL_OBJ_CLIP) SL__TRY(build_text_tower(t, *dz));
    SL__TRY(build_ssl(t, hs, *dz));
    if (t->obj == SL_OBJ_SOFTMAX) {
        char specbuf[256];
        const sl_attr *a = sl_data_attr(t->data, t->label_attr);
        snprintf(specbuf, sizeof specbuf, "linear(%d,bias=0)", a->n_classes);
        sl_shape cs = {1, {*dz, 0, 0}};
        SL__TRY(build_model(t, T_CLASSES, specbuf, &cs, c->seed + 4));
    }
    return SL_OK;
}

/* The run's length and the schedule over it. */
static sl_status resolve_steps(sl_trainer *t) {
    sl_train_config *c = &t->c;
    if (!c->steps) {
        if (!c->epochs) c->epochs = 5;
        if (c->epochs > UINT64_MAX / t->steps_per_epoch) return fail_opt("epochs", "too many");
        c->steps = c->epochs * t->steps_per_epoch;
    }
    t->total = c->steps;
    t->sched.lr = c->lr;
    if (c->warmup < 0) c->warmup = (int64_t)(c->steps / 20);
    t->sched.warmup = (uint64_t)c->warmup;
    t->sched.total = t->total;
    t->sched.min_lr = c->min_lr;
    return SL_OK;
}

/* The step's buffers, for encoder outputs of width dh and embeddings of width dz. */
static sl_status alloc_step_buffers(sl_trainer *t, size_t dh, size_t dz) {
    t->rows_max = two_views(t->obj) ? 2 * t->B : t->B;
    size_t wmax = SL__MAX(dh, dz);
    t->xin = sl__malloc_array(t->rows_max, t->item * sizeof(float), "input batch");
    t->dz = sl__malloc_array(t->rows_max, SL__MAX(wmax, t->item) * sizeof(float), "embedding gradient");
    t->dh = sl__malloc_array(t->rows_max, dh * sizeof(float), "encoder gradient");
    t->lab = sl__malloc_array(t->rows_max, sizeof(int32_t), "labels");
    if (!t->xin || !t->dz || !t->dh || !t->lab) return SL_ERR_NOMEM;
    if (t->mae && !(t->mae_mask = sl__malloc_array(t->B, sl_mae_patches(t->m[T_ENC]), "patch masks")))
        return SL_ERR_NOMEM;
    if (t->obj == SL_OBJ_CLIP) {
        t->dzt = sl__malloc_array(t->B, dz * sizeof(float), "text gradient");
        t->tok = sl__malloc_array(t->B, t->vocab->max_tokens * sizeof(float), "token ids");
        if (!t->dzt || !t->tok) return SL_ERR_NOMEM;
    }
    size_t all = t->rows_max * (size_t)t->ranks;
    if (predicts(t->obj)) {
        t->dp = sl__malloc_array(t->rows_max, dz * sizeof(float), "prediction gradient");
        t->tg = sl__malloc_array(t->rows_max, dz * sizeof(float), "targets");
        if (!t->dp || !t->tg) return SL_ERR_NOMEM;
    }
    if (queues(t->obj)) {
        t->kb = sl__malloc_array(all + t->c.queue, dz * sizeof(float), "keys and negatives");
        t->keys = sl__malloc_array(all, dz * sizeof(float), "keys");
        t->itemg = sl__malloc_array(all, sizeof(size_t), "items");
        t->negs = sl__malloc_array(t->c.queue, sizeof(size_t), "negatives");
        if (!t->kb || !t->keys || !t->itemg || !t->negs) return SL_ERR_NOMEM;
    }
    t->dp_global = t->ranks > 1 && contrasts(t->obj);
    if (t->dp_global) {
        t->zg = sl__malloc_array(t->rows_max, dz * sizeof(float), "gathered embeddings");
        t->dzg = sl__malloc_array(t->rows_max, dz * sizeof(float), "gathered gradients");
        t->labg = sl__malloc_array(t->rows_max, sizeof(int32_t), "gathered labels");
        if (!t->zg || !t->dzg || !t->labg) return SL_ERR_NOMEM;
        if (t->obj == SL_OBJ_CLIP) {
            t->ztg = sl__malloc_array(t->B, dz * sizeof(float), "gathered caption embeddings");
            t->dztg = sl__malloc_array(t->B, dz * sizeof(float), "gathered caption gradients");
            if (!t->ztg || !t->dztg) return SL_ERR_NOMEM;
        }
    }
    return sl_loss_workspace_create(&t->ws);
}

/* Resolve every option the config leaves open (the resolved values are
 * written back into t->c, for the log and checkpoints) and build the data,
 * augmentation, batcher, models and buffers. */
static sl_status resolve_and_build(sl_trainer *t, const sl_tensors *ckpt) {
    t->obj = t->c.objective;
    SL__TRY(resolve_data(t, ckpt));
    SL__TRY(resolve_aug(t));
    SL__TRY(resolve_objective(t));
    SL__TRY(resolve_optim(t));
    SL__TRY(build_batcher(t));
    sl_shape hs;
    size_t dz = 0;
    SL__TRY(build_models(t, &hs, &dz));
    for (int k = 0; k < T_N; k++)
        if (t->m[k] && t->c.sync_bn) sl_model_set_sync_bn(t->m[k], true);
    SL__TRY(resolve_steps(t));
    return alloc_step_buffers(t, hs.dims[0], dz);
}

static void describe(sl_trainer *t) {
    char *p = t->desc;
    size_t left = sizeof t->desc;
#define ADD(...)                                              \
    do {                                                      \
        int k_ = snprintf(p, left, __VA_ARGS__);              \
        if (k_ > 0 && (size_t)k_ < left) p += k_, left -= (size_t)k_; \
    } while (0)
    ADD("data       %s (%s, %zu items, %dx%dx%d), augmentation %s\n", sl_data_name(t->data), sl_split_name(t->c.split),
        sl_data_count(t->data), sl_data_channels(t->data), sl_data_height(t->data), sl_data_width(t->data), t->c.aug);
    for (int k = 0; k < T_INIT; k++)
        if (t->m[k])
            ADD("%-10s %s  (%zu parameters)\n", k == T_TEXT ? "text" : k == T_CLASSES ? "classes" : tower_name[k],
                sl_model_spec(t->m[k]), sl_model_param_count(t->m[k]));
    ADD("objective  %s", sl_loss_objective_name(t->obj));
    if (!decorrelates(t->obj) && !predicts(t->obj)) ADD(", similarity %s", t->c.sim);
    if (has_tau(t->obj)) ADD(", tau %g%s", t->c.tau, t->lc.learnable_tau ? " (learnable)" : "");
    if (t->obj == SL_OBJ_BARLOW) ADD(", lambda %g", t->c.barlow_lambda);
    if (t->obj == SL_OBJ_VICREG)
        ADD(", weights: invariance %g, variance %g, covariance %g", t->c.vicreg_inv, t->c.vicreg_var, t->c.vicreg_cov);
    if (momentum_copy(t->obj))
        ADD(", momentum copy of the encoder%s (ema %g%s)", t->m[T_TPROJ] ? " and projector" : "", t->c.ema,
            t->obj == SL_OBJ_BYOL ? ", rising to 1 by a cosine" : "");
    if (t->obj == SL_OBJ_MOCO) ADD(", queue of %zu keys", t->c.queue);
    if (t->obj == SL_OBJ_MEMORY_BANK)
        ADD(", bank of %zu items, %zu negatives a step, bank momentum %g", t->bank.n, t->c.queue, t->c.bank_momentum);
    if (t->mae) ADD(", mask ratio %g%s", t->c.mask_ratio, t->c.norm_pix ? ", normalised pixel targets" : "");
    if (t->obj == SL_OBJ_TRIPLET || t->obj == SL_OBJ_TRIPLET_HARD || t->obj == SL_OBJ_TRIPLET_SMOOTH)
        ADD(", margin %g", t->c.margin);
    if (t->label_attr >= 0) ADD(", labels '%s'", t->c.label);
    ADD("\noptimizer  %s lr %g, schedule %s, warm-up %" PRId64 ", weight decay %g\n", t->c.optim, t->c.lr,
        t->c.schedule, t->c.warmup, t->c.wd);
    ADD("steps      %" PRIu64 " of %" PRIu64 " done, %" PRIu64 " per epoch, batch %zu%s\n", t->step, t->total,
        t->steps_per_epoch, t->B, two_views(t->obj) ? " (two views each)" : "");
    if (t->init) ADD("init       %s\n", t->init->summary);
    if (t->ranks > 1)
        ADD("ranks      %d, %zu rows of each batch per rank; %s; batch norm %s\n", t->ranks, t->B / (size_t)t->ranks,
            t->dp_global ? "the loss sees the whole batch (embeddings gathered)" : "gradients averaged",
            t->c.sync_bn ? "over every rank's rows" : "per rank");
    if (t->ckpt_ranks != t->ranks)
        ADD("resumed    from a run of %d rank%s: the same global batches; each rank's share and with it "
            "batch-norm statistics change, and sums run in another order\n",
            t->ckpt_ranks, t->ckpt_ranks == 1 ? "" : "s");
#undef ADD
}

/* ---- checkpoints -------------------------------------------------------------*/

static sl_status save_to(const sl_trainer *t, sl_tensors *x) {
    const sl_train_config *c = &t->c;
    SL__TRY(sl__train_meta(x, "simlearn", "train-checkpoint 1"));
    SL__TRY(sl__train_ckpt_data_write(x, c));
    SL__TRY(sl__train_meta(x, "train.aug", "%s", c->aug));
    if (c->label) SL__TRY(sl__train_meta(x, "train.label", "%s", c->label));
    SL__TRY(sl__train_meta(x, "train.encoder", "%s", c->encoder));
    SL__TRY(sl__train_meta(x, "train.projector", "%s", c->projector));
    if (c->decoder) SL__TRY(sl__train_meta(x, "train.decoder", "%s", c->decoder));
    if (t->mae) {
        SL__TRY(sl__train_meta(x, "train.mask_ratio", "%.17g", c->mask_ratio));
        SL__TRY(sl__train_meta(x, "train.norm_pix", "%d", c->norm_pix));
    }
    if (c->text_encoder) SL__TRY(sl__train_meta(x, "train.text_encoder", "%s", c->text_encoder));
    SL__TRY(sl__train_meta(x, "train.objective", "%s", sl_loss_objective_name(t->obj)));
    SL__TRY(sl__train_meta(x, "train.sim", "%s", c->sim));
    SL__TRY(sl__train_meta(x, "train.tau", "%.17g", c->tau));
    SL__TRY(sl__train_meta(x, "train.learn_tau", "%d", c->learn_tau));
    SL__TRY(sl__train_meta(x, "train.margin", "%.17g", c->margin));
    if (t->obj == SL_OBJ_BARLOW) SL__TRY(sl__train_meta(x, "train.barlow_lambda", "%.17g", c->barlow_lambda));
    if (predicts(t->obj)) SL__TRY(sl__train_meta(x, "train.predictor", "%s", c->predictor));
    if (momentum_copy(t->obj)) SL__TRY(sl__train_meta(x, "train.ema", "%.17g", c->ema));
    if (queues(t->obj)) SL__TRY(sl__train_meta(x, "train.queue", "%zu", c->queue));
    if (t->obj == SL_OBJ_MEMORY_BANK) SL__TRY(sl__train_meta(x, "train.bank_momentum", "%.17g", c->bank_momentum));
    if (t->obj == SL_OBJ_MOCO) SL__TRY(sl__keyqueue_save(&t->queue, x));
    if (t->obj == SL_OBJ_MEMORY_BANK) SL__TRY(sl__bank_save(&t->bank, x));
    if (t->obj == SL_OBJ_VICREG) {
        SL__TRY(sl__train_meta(x, "train.vicreg_inv", "%.17g", c->vicreg_inv));
        SL__TRY(sl__train_meta(x, "train.vicreg_var", "%.17g", c->vicreg_var));
        SL__TRY(sl__train_meta(x, "train.vicreg_cov", "%.17g", c->vicreg_cov));
    }
    SL__TRY(sl__train_meta(x, "train.optim", "%s", c->optim));
    SL__TRY(sl__train_meta(x, "train.lr", "%.17g", c->lr));
    SL__TRY(sl__train_meta(x, "train.schedule", "%s", c->schedule));
    SL__TRY(sl__train_meta(x, "train.wd", "%.17g", c->wd));
    SL__TRY(sl__train_meta(x, "train.warmup", "%" PRId64, c->warmup));
    SL__TRY(sl__train_meta(x, "train.min_lr", "%.17g", c->min_lr));
    SL__TRY(sl__train_meta(x, "train.clip_grad", "%.17g", c->clip_grad));
    SL__TRY(sl__train_meta(x, "train.batch", "%zu", c->batch));
    if (t->ranks > 1) SL__TRY(sl__train_meta(x, "train.ranks", "%d", t->ranks));
    SL__TRY(sl__train_meta(x, "train.seed", "%" PRIu64, c->seed));
    SL__TRY(sl__train_meta(x, "train.steps", "%" PRIu64, t->total));
    SL__TRY(sl__train_meta(x, "train.step", "%" PRIu64, t->step));
    SL__TRY(sl__train_meta(x, "train.epoch", "%" PRIu64, t->step / t->steps_per_epoch));
    SL__TRY(sl__train_meta(x, "train.epoch_step", "%" PRIu64, t->step % t->steps_per_epoch));
    SL__TRY(sl__train_meta(x, "train.input_mean", "%.17g", t->in_mean));
    SL__TRY(sl__train_meta(x, "train.input_std", "%.17g", t->in_std));
    if (c->init) {
        SL__TRY(sl_tensors_set_meta(x, "train.init", c->init));
        SL__TRY(sl_tensors_set_meta(x, "train.init_towers", c->init_towers));
    }
    double ls[3] = {t->lc.log_scale, t->ls_m, t->ls_v};
    size_t three = 3;
    SL__TRY(sl_tensors_add(x, "train.log_scale", SL_F64, 1, &three, ls));
    for (int k = 0; k < T_N; k++)
        if (t->m[k]) SL__TRY(sl_model_export(t->m[k], t->o[k], tower_prefix[k], x));
    if (t->vocab) {
        char *j = sl__vocab_join(t->vocab);
        if (!j) return sl__fail(SL_ERR_NOMEM, "checkpoint: out of memory");
        sl_status s = sl_tensors_set_meta(x, "text.vocab", j);
        sl__free(j);
        SL__TRY(s);
        SL__TRY(sl__train_meta(x, "text.max_tokens", "%zu", t->vocab->max_tokens));
    }
    return SL_OK;
}

sl_status sl_trainer_save(const sl_trainer *t, const char *path) {
    sl_tensors *x;
    SL__TRY(sl_tensors_create(&x));
    sl_status s = save_to(t, x);
    if (!s) s = sl_safetensors_write(path, x);
    sl_tensors_destroy(x);
    return s;
}

/* Where a fine-tuning run's models came from (train.init, the checkpoint as
 * given, and train.init_towers, the towers taken), kept for its later
 * checkpoints; a resumed run does not read that file again. */
static sl_status init_from(sl_trainer *t, const sl_tensors *x) {
    sl_train_config *c = &t->c;
    bool sel[T_N];
    c->init = c->init_towers = NULL;
    SL__TRY(sl__meta_str(x, "train.init", "a checkpoint path", 0, &c->init));
    SL__TRY(sl__meta_str(x, "train.init_towers", "towers (encoder, projector, decoder, text, classes, predictor)",
                         c->init ? SL__META_REQUIRED : 0, &c->init_towers));
    if (c->init_towers && (!c->init || sl__train_init_select(c->init_towers, tower_prefix, T_INIT, sel))) {
        sl_error_clear();
        return sl__meta_fail(x, "train.init_towers", "towers (encoder, projector, decoder, text, classes, predictor) after train.init");
    }
    return SL_OK;
}

/* Names of the enums stored in a checkpoint, in enum order. */
static const char *const optim_names[] = {"sgd", "adam", "adamw", "lars"};

/* The training settings of a checkpoint, each checked (strings point into x):
 * t->c, the step done (t->step), the planned end (*ends), the input
 * normalisation and, for CLIP, the vocabulary. */
static sl_status config_from(sl_trainer *t, const sl_tensors *x, uint64_t *ends) {
    sl_train_config *c = &t->c;
    const unsigned R = SL__META_REQUIRED, POS = SL__META_REQUIRED | SL__META_ABOVE_LO;
    const char *v = sl_tensors_get_meta(x, "simlearn");
    if (!v || strcmp(v, "train-checkpoint 1") != 0)
        return sl__meta_fail(x, "simlearn", "'train-checkpoint 1'; this is not a simlearn training checkpoint");
    const char *objs[SL_OBJ_COUNT], *sims[SL_SIM_COUNT];
    for (int k = 0; k < SL_OBJ_COUNT; k++) objs[k] = sl_loss_objective_name((sl_objective)k);
    for (int k = 0; k < SL_SIM_COUNT; k++) sims[k] = sl_loss_sim_name((sl_similarity)k);
    size_t k = 0;
    uint64_t u = 0;
    SL__TRY(sl__meta_name(x, "train.objective", objs, SL_OBJ_COUNT, R, &k));
    c->objective = (sl_objective)k;
    u = 1;
    SL__TRY(sl__meta_uint(x, "train.ranks", 1, 1u << 20, 0, &u));
    t->ckpt_ranks = (int)u;
    sl_data_config dc;
    sl_data_config_default(&dc);
    SL__TRY(sl__train_ckpt_data(x, true, &dc));
    sl_train_config_set_data(c, &dc);
    SL__TRY(sl__meta_str(x, "train.aug", "an augmentation spec or none", R, &c->aug));
    c->keep = NULL;
    if (strcmp(c->aug, "none") != 0) {
        sl_augment *a = NULL;
        sl_status as = sl_augment_create(c->aug, &a);
        if (as == SL_ERR_NOMEM) return as; /* says nothing about the checkpoint */
        if (as) {
            char why[512];
            snprintf(why, sizeof why, "%s", sl_error_message());
            return sl__meta_fail(x, "train.aug", "an augmentation spec or none (%s)", why);
        }
        sl_augment_destroy(a);
    }
    c->label = c->decoder = c->text_encoder = NULL;
    SL__TRY(sl__meta_str(x, "train.label", "an attribute name", needs_labels(c->objective) ? R : 0, &c->label));
    SL__TRY(sl__meta_str(x, "train.encoder", "a model spec", R, &c->encoder));
    SL__TRY(sl__meta_str(x, "train.projector", "a model spec or none", R, &c->projector));
    if (reconstructs(c->objective)) SL__TRY(sl__meta_str(x, "train.decoder", "a model spec", R, &c->decoder));
    if (c->objective == SL_OBJ_MAE) {
        SL__TRY(sl__meta_double(x, "train.mask_ratio", 0, 1, POS, &c->mask_ratio));
        SL__TRY(sl__meta_uint(x, "train.norm_pix", 0, 1, R, &u));
        c->norm_pix = u;
    }
    if (c->objective == SL_OBJ_CLIP) {
        SL__TRY(sl__meta_str(x, "train.text_encoder", "a model spec", R, &c->text_encoder));
        SL__TRY(sl__vocab_from(x, &t->vocab));
    }
    SL__TRY(sl__meta_name(x, "train.sim", sims, SL_SIM_COUNT, R, &k));
    c->sim = sims[k];
    SL__TRY(sl__meta_double(x, "train.tau", 0, INFINITY, POS, &c->tau));
    SL__TRY(sl__meta_uint(x, "train.learn_tau", 0, 1, R, &u));
    c->learn_tau = (int)u;
    SL__TRY(sl__meta_double(x, "train.margin", 0, INFINITY, R, &c->margin));
    if (c->objective == SL_OBJ_BARLOW)
        SL__TRY(sl__meta_double(x, "train.barlow_lambda", 0, INFINITY, R, &c->barlow_lambda));
    c->predictor = NULL;
    if (predicts(c->objective)) SL__TRY(sl__meta_str(x, "train.predictor", "a model spec", R, &c->predictor));
    if (momentum_copy(c->objective)) SL__TRY(sl__meta_double(x, "train.ema", 0, 1, R, &c->ema));
    if (queues(c->objective)) {
        SL__TRY(sl__meta_uint(x, "train.queue", 1, (uint64_t)1 << 24, R, &u));
        c->queue = (size_t)u;
    }
    if (c->objective == SL_OBJ_MEMORY_BANK) SL__TRY(sl__meta_double(x, "train.bank_momentum", 0, 1, R, &c->bank_momentum));
    if (c->objective == SL_OBJ_VICREG) {
        SL__TRY(sl__meta_double(x, "train.vicreg_inv", 0, INFINITY, R, &c->vicreg_inv));
        SL__TRY(sl__meta_double(x, "train.vicreg_var", 0, INFINITY, R, &c->vicreg_var));
        SL__TRY(sl__meta_double(x, "train.vicreg_cov", 0, INFINITY, R, &c->vicreg_cov));
    }
    SL__TRY(sl__meta_name(x, "train.optim", optim_names, 4, R, &k));
    c->optim = optim_names[k];
    SL__TRY(sl__meta_double(x, "train.lr", 0, INFINITY, POS, &c->lr));
    SL__TRY(sl__meta_str(x, "train.schedule", "a schedule", R, &c->schedule));
    if (sl_schedule_parse(c->schedule, &t->sched))
        return sl__meta_fail(x, "train.schedule", "constant, cosine or step:SIZE:GAMMA (SIZE > 0, GAMMA in (0, 1])");
    SL__TRY(sl__meta_double(x, "train.wd", 0, INFINITY, R, &c->wd));
    SL__TRY(sl__meta_uint(x, "train.warmup", 0, INT64_MAX, R, &u));
    c->warmup = (int64_t)u;
    SL__TRY(sl__meta_double(x, "train.min_lr", 0, INFINITY, R, &c->min_lr));
    SL__TRY(sl__meta_double(x, "train.clip_grad", 0, INFINITY, R, &c->clip_grad));
    SL__TRY(sl__meta_uint(x, "train.batch", 1, SL_BATCH_MAX, R, &u));
    c->batch = (size_t)u;
    SL__TRY(sl__meta_uint(x, "train.seed", 0, UINT64_MAX, R, &c->seed));
    SL__TRY(sl__meta_uint(x, "train.steps", 1, UINT64_MAX, R, ends));
    SL__TRY(sl__meta_uint(x, "train.step", 0, UINT64_MAX, R, &t->step));
    if (t->step > *ends)
        return sl__meta_fail(x, "train.step", "at most train.steps (%" PRIu64 ")", *ends);
    SL__TRY(init_from(t, x));
    return sl__train_ckpt_norm(x, true, &t->in_mean, &t->in_std);
}

/* Where a checkpoint's step falls, when the file says (train.epoch and
 * train.epoch_step): it must agree with the step and the batches per epoch. */
static sl_status check_position(const sl_trainer *t, const sl_tensors *x) {
    uint64_t e = t->step / t->steps_per_epoch, p = t->step % t->steps_per_epoch, v = e;
    SL__TRY(sl__meta_uint(x, "train.epoch", 0, UINT64_MAX, 0, &v));
    if (v != e)
        return sl__meta_fail(x, "train.epoch", "%" PRIu64 ": step %" PRIu64 " at %" PRIu64 " batches per epoch", e,
                             t->step, t->steps_per_epoch);
    v = p;
    SL__TRY(sl__meta_uint(x, "train.epoch_step", 0, UINT64_MAX, 0, &v));
    if (v != p)
        return sl__meta_fail(x, "train.epoch_step", "%" PRIu64 ": step %" PRIu64 " at %" PRIu64 " batches per epoch", p,
                             t->step, t->steps_per_epoch);
    return SL_OK;
}

/* The state of the run: models, optimizer moments (their step counts must be
 * the run's), the temperature and its moments. Everything else a step needs
 * (the learning rate, the dropout stream, the batch) is a function of the
 * step, and the producer already starts at the step's batch. */
static sl_status load_state(sl_trainer *t, const sl_tensors *x, const char *path) {
    if (t->total < t->step)
        return sl__fail(SL_ERR_ARG, "train: --steps/--epochs: the run would end at step %" PRIu64 ", but %s is at step %" PRIu64,
                        t->total, path, t->step);
    SL__TRY(check_position(t, x));
    char key[64];
    for (int k = 0; k < T_N; k++) {
        if (!t->m[k]) continue;
        SL__TRY(sl_model_load_tensors(t->m[k], x, tower_prefix[k]));
        if (!t->o[k]) continue; /* a momentum copy */
        SL__TRY(sl_optim_import(t->o[k], x, tower_prefix[k]));
        snprintf(key, sizeof key, "optim.%sstep", tower_prefix[k]);
        if (sl_optim_steps(t->o[k]) != t->step)
            return sl__meta_fail(x, key, "%" PRIu64 ", the step of train.step", t->step);
    }
    const sl_array *ls = sl_tensors_get(x, "train.log_scale");
    const double *v = ls ? ls->data : NULL;
    if (!ls || ls->dtype != SL_F64 || ls->ndim != 1 || ls->shape[0] != 3 || !isfinite(v[0]) || !isfinite(v[1]) ||
        !(v[2] >= 0 && isfinite(v[2])))
        return sl__fail(SL_ERR_FORMAT,
                        "%s: tensor 'train.log_scale' must be 3 finite float64 values (log-scale, its Adam moments; "
                        "the second moment >= 0)",
                        path);
    t->lc.log_scale = v[0];
    t->ls_m = v[1];
    t->ls_v = v[2];
    if (t->obj == SL_OBJ_MOCO) SL__TRY(sl__keyqueue_load(&t->queue, x, path));
    if (t->obj == SL_OBJ_MEMORY_BANK) SL__TRY(sl__bank_load(&t->bank, x, path));
    return SL_OK;
}

void sl_trainer_destroy(sl_trainer *t) {
    if (!t) return;
    sl_batcher_destroy(t->batcher);
    for (int k = 0; k < T_N; k++) {
        sl_optim_destroy(t->o[k]);
        sl_model_destroy(t->m[k]);
    }
    sl_augment_destroy(t->aug);
    sl_data_destroy(t->data);
    sl__vocab_destroy(t->vocab);
    sl_loss_workspace_destroy(t->ws);
    sl_mae_destroy(t->mae);
    sl__free(t->mae_mask);
    sl__free(t->xin);
    sl__free(t->dz);
    sl__free(t->dh);
    sl__free(t->dzt);
    sl__free(t->tok);
    sl__free(t->lab);
    sl__free(t->zg), sl__free(t->dzg), sl__free(t->ztg), sl__free(t->dztg), sl__free(t->labg);
    sl__free(t->dp), sl__free(t->tg), sl__free(t->kb), sl__free(t->keys), sl__free(t->itemg), sl__free(t->negs);
    sl__keyqueue_free(&t->queue);
    sl__bank_free(&t->bank);
    if (t->log) fclose(t->log);
    sl__free(t->init);
    for (int i = 0; i < t->nown; i++) sl__free(t->own[i]);
    sl__free(t);
}

/* Before the models are built: the checkpoint --init names, the towers to
 * take from it, and what they bring along: the encoder's spec (when
 * --encoder is not given) and CLIP's vocabulary (with the text tower, whose
 * token ids are its words). */
static sl_status init_prepare(sl_trainer *t, sl_tensors **ck) {
    sl_train_config *c = &t->c;
    SL__TRY(sl__train_init_select(c->init_towers, tower_prefix, T_INIT, t->init_sel));
    SL__TRY(sl__train_init_open(c->init, ck));
    if (!c->encoder && t->init_sel[T_ENC]) {
        SL__TRY(sl__meta_str(*ck, "train.encoder", "a model spec", 0, &c->encoder));
        t->init_spec = c->encoder != NULL;
    }
    if (c->objective == SL_OBJ_CLIP && t->init_sel[T_TEXT] && sl_tensors_get_meta(*ck, "text.vocab"))
        SL__TRY(sl__vocab_from(*ck, &t->vocab));
    return SL_OK;
}

/* After: the tensors themselves (and the input normalisation with the encoder). */
static sl_status init_apply(sl_trainer *t, const sl_tensors *ck) {
    t->init = sl__calloc(1, sizeof *t->init);
    if (!t->init) return sl__fail(SL_ERR_NOMEM, "train: out of memory");
    sl__init_models im = {T_N, t->m, tower_prefix, t->init_sel, t->c.init_towers != NULL, t->c.init_partial};
    SL__TRY(sl__train_init_load(ck, t->c.init, &im, &t->in_mean, &t->in_std, t->init));
    t->c.init_towers = t->init->towers;
    return SL_OK;
}

static sl_status check_init_options(const sl_train_config *c) {
    if (c->init && c->resume)
        return sl__fail(SL_ERR_ARG, "train: --init and --resume do not go together: --resume continues a run, --init "
                                    "starts a new one from another run's models");
    if (!c->init && (c->init_towers || c->init_partial))
        return sl__fail(SL_ERR_ARG, "train: --%s needs --init", c->init_towers ? "init-towers" : "init-partial");
    return SL_OK;
}

sl_status sl_trainer_create(const sl_train_config *c, sl_trainer **out) {
    if (!c || !out) return sl__fail(SL_ERR_ARG, "train: no configuration");
    if (!c->out || !*c->out) return sl__fail(SL_ERR_ARG, "train: no output path (-o)");
    SL__TRY(check_init_options(c));
    sl_trainer *t = sl__calloc(1, sizeof *t);
    if (!t) return sl__fail(SL_ERR_NOMEM, "train: out of memory");
    sl_tensors *ck = NULL, *ini = NULL;
    sl_status s = SL_OK;
    t->c = *c;
    t->rank = sl_dist_rank(), t->ranks = sl_dist_size(), t->ckpt_ranks = t->ranks;
    if (t->rank != 0) t->c.progress_stream = NULL, t->c.log = NULL; /* rank 0 reports */
    if (c->resume) {
        /* Messages about the file's contents name the file themselves. */
        uint64_t ends = 0;
        s = sl_safetensors_read(c->resume, &ck);
        if (!s) s = config_from(t, ck, &ends);
        if (!s) {
            /* The new end of the run and where to write come from the caller. */
            t->c.steps = c->steps;
            t->c.epochs = c->epochs;
            if (!c->steps && !c->epochs) t->c.steps = ends;
        }
    }
    if (!s && c->init) s = init_prepare(t, &ini);
    sl_threads_set(t->c.threads);
    if (!s) {
        s = resolve_and_build(t, ck);
        if (s && ck) s = sl__fail_prefix(s, "%s: resuming", c->resume);
    }
    if (!s && ck) s = load_state(t, ck, c->resume);
    if (!s && ini) s = init_apply(t, ini);
    if (!s && !ck) s = copy_to_targets(t);
    /* Copy the strings the config still borrows (from the caller or the
     * checkpoint just freed). */
    const char **strs[] = {&t->c.data,  &t->c.labels,   &t->c.image_dir, &t->c.label, &t->c.sim,       &t->c.optim,
                           &t->c.schedule, &t->c.out, &t->c.log,       &t->c.init,  &t->c.init_towers, &t->c.predictor};
    for (size_t i = 0; !s && i < sizeof strs / sizeof *strs; i++) {
        bool owned = false;
        for (int j = 0; j < t->nown; j++) owned |= *strs[i] == t->own[j];
        if (*strs[i] && !owned) s = keep_str(t, *strs[i], strs[i]);
    }
    sl_tensors_destroy(ck);
    sl_tensors_destroy(ini);
    if (!s && t->c.log) {
        t->log = fopen(t->c.log, t->c.resume ? "a" : "w");
        if (!t->log) s = sl__fail(SL_ERR_IO, "%s: cannot open the log for writing", t->c.log);
    }
    if (s) {
        if (s == SL_ERR_NOMEM && !*sl_error_message()) sl__fail(s, "train: out of memory");
        sl_trainer_destroy(t);
        return s;
    }
    describe(t);
    *out = t;
    return SL_OK;
}

size_t sl_trainer_memory(const sl_trainer *t) {
    size_t total = 0, rows = t->rows_max;
    for (int k = 0; k < T_N; k++)
        if (t->m[k]) {
            size_t r = k == T_TEXT || k == T_CLASSES ? t->B : rows;
            total += sl_model_memory(t->m[k], r);
        }
    /* Batches in flight: the producer's ring of prefetch + 1 slots. */
    size_t views = t->mode == SL_BATCH_TWO_VIEWS ? 2 : 1;
    total += 3 * views * t->B * t->item * sizeof(float);
    /* Our input, gradient and label buffers, and a few n x n doubles of loss scratch. */
    total += rows * t->item * sizeof(float) * 2 + rows * 1024;
    total += 6 * rows * rows * sizeof(double);
    if (t->mae) {
        const size_t L = sl_mae_patches(t->m[T_ENC]);
        total += sl_mae_memory(t->mae, rows, sl_mae_masked_count(L, t->c.mask_ratio)) + t->B * L;
    }
    if (t->obj == SL_OBJ_MOCO) total += t->queue.cap * t->queue.d * sizeof(float) * 2;
    if (t->obj == SL_OBJ_MEMORY_BANK) total += (t->bank.n + t->c.queue) * t->bank.d * sizeof(float);
    /* Decoded datasets live in memory; the shapes world is rendered on demand. */
    if (sl_data_kind_of(t->data) != SL_DATA_SHAPES) total += sl_data_count(t->data) * t->item * sizeof(float);
    return total;
}

const char *sl_trainer_describe(const sl_trainer *t) { return t->desc; }
const sl_train_init_report *sl_trainer_init_report(const sl_trainer *t) { return t->init ? &t->init->rep : NULL; }
sl_batcher *sl__trainer_batcher(sl_trainer *t) { return t->batcher; }
uint64_t sl_trainer_step(const sl_trainer *t) { return t->step; }
uint64_t sl_trainer_total_steps(const sl_trainer *t) { return t->total; }

size_t sl_train_mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    size_t kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %zu kB", &kb) == 1) break;
    fclose(f);
    return kb * 1024;
}

/* ---- one step ------------------------------------------------------------------*/

typedef struct {
    double loss, acc, lr, tau, grad_norm, align, uniform, emb_std, emb_rank;
    bool has_align, has_spread;
} step_stats;

/* The spread of the embeddings z (n x d) for the log: the mean over
 * dimensions of the standard deviation of the L2-normalised rows (about
 * 1/sqrt(d) for rows spread over the sphere, 0 when every row is the same),
 * and the effective rank of their covariance. */
static sl_status spread(const float *z, size_t n, size_t d, step_stats *st) {
    if (n < 2) return SL_OK;
    float *u = sl__malloc(n * d * sizeof *u);
    double *eig = sl__malloc(d * sizeof *eig);
    double *m = sl__calloc(2 * d, sizeof *m);
    sl_status s = SL_OK;
    if (!u || !eig || !m) {
        s = sl__fail(SL_ERR_NOMEM, "train: out of memory for the embeddings' spread");
        goto done;
    }
    memcpy(u, z, n * d * sizeof *u);
    sl_rows_normalize(u, n, d);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) m[j] += u[i * d + j], m[d + j] += (double)u[i * d + j] * u[i * d + j];
    double sd = 0;
    for (size_t j = 0; j < d; j++) {
        double mu = m[j] / (double)n, v = m[d + j] / (double)n - mu * mu;
        sd += sqrt(v > 0 ? v : 0);
    }
    s = sl_geom_spectrum(u, n, d, eig, &st->emb_rank);
    if (s) goto done;
    st->emb_std = sd / (double)d;
    st->has_spread = true;
done:
    sl__free(u);
    sl__free(eig);
    sl__free(m);
    return s;
}

/* Complete collapse: the normalised rows all but the same (deviation under a
 * tenth of the sphere's 1/sqrt(d)), or all on one line (effective rank
 * under 1.05). */
static bool collapsed(const step_stats *st, size_t d) {
    return st->has_spread && (st->emb_std * sqrt((double)d) < 0.1 || st->emb_rank < 1.05);
}

/* Alignment and uniformity of the batch (Wang & Isola 2020) for the log.
 * b: the positives of a's rows, or NULL (uniformity only). Its one error
 * (n >= 2 here) is SL_ERR_NOMEM, which fails the step rather than logging a
 * made-up value. */
static sl_status align_uniform(const float *a, const float *b, size_t n, size_t d, step_stats *st) {
    double al = 0, un = 0;
    if (n < 2) return SL_OK;
    SL__TRY(sl_geom_align_uniform(a, b ? b : a, n, d, 2.0, &al, &un));
    st->uniform = un;
    if (b) {
        st->align = al;
        st->has_align = true;
    }
    return SL_OK;
}

static sl_status nonfinite(const sl_trainer *t, const char *what, double v) {
    char where[1024];
    if (t->last_ckpt)
        snprintf(where, sizeof where, "the last good checkpoint (step %" PRIu64 ") is kept in %s", t->last_ckpt, t->c.out);
    else
        snprintf(where, sizeof where, "no checkpoint had been written yet");
    return sl__fail(SL_ERR_NUMERIC,
                    "step %" PRIu64 ": the %s is not finite (%s); training stopped (%s). Try a lower --lr or --clip-grad", t->step + 1,
                    what, isnan(v) ? "nan" : "infinite", where);
}

/* The batch's inputs, normalised, and its labels into the step's buffers;
 * the models' gradients zeroed and their dropout streams keyed by the step. */
static void step_inputs(sl_trainer *t, const sl_batch *b, size_t rows) {
    size_t n = b->n, item = t->item;
    float sc = (float)(1.0 / t->in_std), sh = (float)t->in_mean;
    for (size_t i = 0; i < n * item; i++) t->xin[i] = (b->x[i] - sh) * sc;
    if (two_views(t->obj))
        for (size_t i = 0; i < n * item; i++) t->xin[n * item + i] = (b->x2[i] - sh) * sc;
    int na = sl_data_num_attrs(t->data);
    if (t->label_attr >= 0)
        for (size_t i = 0; i < rows; i++) t->lab[i] = b->labels[(i % n) * (size_t)na + (size_t)t->label_attr];
    for (int k = 0; k < T_N; k++)
        if (t->m[k]) {
            sl_model_zero_grad(t->m[k]);
            /* Dropout draws from a stream keyed by the step, so a resumed run
             * draws the same masks. */
            sl_model_set_rng(t->m[k], t->c.seed ^ (0x9e3779b97f4a7c15ull * (t->step + 1)) ^ (uint64_t)k);
        }
}

/* What the forward pass leaves for the rest of the step: the embeddings
 * (z, and zt of the captions for CLIP) and the widths of h and z. */
typedef struct step_fwd {
    const float *z, *zt;
    size_t dh, dz;
} step_fwd;

/* A data-parallel step of a contrasting objective: the loss runs on the
 * global batch, every rank's embeddings (and labels, and CLIP's caption
 * embeddings) gathered in the order one process would hold them. */
static sl_status gather_batch(sl_trainer *t, size_t n, const step_fwd *f, sl_loss_batch *lb) {
    size_t views = lb->n / n, all = lb->n * (size_t)t->ranks;
    SL__TRY(sl__dp_gather(f->z, n, f->dz, views, t->zg));
    if (lb->labels) SL__TRY(sl__dp_gather_labels(lb->labels, n, views, t->labg));
    memset(t->dzg, 0, all * f->dz * sizeof(float));
    lb->n = all, lb->a = t->zg, lb->grad_a = t->dzg;
    lb->labels = lb->labels ? t->labg : NULL;
    if (t->obj == SL_OBJ_CLIP) {
        SL__TRY(sl__dp_gather(f->zt, n, f->dz, 1, t->ztg));
        memset(t->dztg, 0, all * f->dz * sizeof(float));
        lb->b = t->ztg, lb->grad_b = t->dztg;
    }
    return SL_OK;
}

/* The momentum copy's embeddings of the step's inputs (training mode, no
 * backward). */
static sl_status target_forward(sl_trainer *t, size_t rows, const float **z) {
    const float *h;
    SL__TRY(sl_model_forward(t->m[T_TENC], t->xin, rows, true, &h));
    if (t->m[T_TPROJ]) SL__TRY(sl_model_forward(t->m[T_TPROJ], h, rows, true, &h));
    *z = h;
    return SL_OK;
}

/* simsiam, byol: the predictions of the embeddings and their targets, each
 * view's twin's embedding (simsiam) or the momentum copy's embedding of the
 * twin (byol), as the loss's inputs. */
static sl_status predict_inputs(sl_trainer *t, size_t n, size_t rows, const step_fwd *f, sl_loss_batch *lb) {
    const float *p, *src = f->z;
    SL__TRY(sl_model_forward(t->m[T_PRED], f->z, rows, true, &p));
    if (t->obj == SL_OBJ_BYOL) SL__TRY(target_forward(t, rows, &src));
    size_t half = n * f->dz;
    memcpy(t->tg, src + half, half * sizeof(float));
    memcpy(t->tg + half, src, half * sizeof(float));
    lb->a = p, lb->b = t->tg, lb->grad_a = t->dp;
    return SL_OK;
}

/* moco, memory-bank, once the queries are in lb (lb->n rows, every rank's
 * in a data-parallel run): their keys, then the negatives, into t->kb. MoCo's
 * key of a view is the momentum copy's embedding of its twin, its negatives
 * the queue; the memory bank's key of an item is its row of the bank, its
 * negatives `queue` rows drawn for the step from (seed, step). t->keys keeps
 * what goes into the queue or the bank after the step (MoCo's keys, the
 * memory bank's queries). */
static sl_status queue_inputs(sl_trainer *t, const sl_batch *b, size_t n, size_t rows, const step_fwd *f,
                              sl_loss_batch *lb) {
    size_t d = f->dz, all = lb->n;
    if (t->obj == SL_OBJ_MOCO) {
        const float *k;
        SL__TRY(target_forward(t, rows, &k));
        if (t->dp_global)
            SL__TRY(sl__dp_gather(k, n, d, 2, t->keys));
        else
            memcpy(t->keys, k, rows * d * sizeof(float));
        size_t half = all / 2 * d;
        memcpy(t->kb, t->keys + half, half * sizeof(float));
        memcpy(t->kb + half, t->keys, half * sizeof(float));
        memcpy(t->kb + all * d, t->queue.k, t->queue.fill * d * sizeof(float));
        lb->nb = t->queue.fill;
    } else {
        if (t->dp_global)
            SL__TRY(sl_dist_allgather(b->items, n * sizeof(size_t), t->itemg));
        else
            memcpy(t->itemg, b->items, n * sizeof(size_t));
        for (size_t i = 0; i < all; i++) memcpy(t->kb + i * d, t->bank.v + t->itemg[i] * d, d * sizeof(float));
        memcpy(t->keys, lb->a, all * d * sizeof(float)); /* the queries, for the bank's update after the step */
        sl_rng r;
        sl_rng_seed(&r, t->c.seed ^ 0x6d656d6f7279ull, t->step);
        for (size_t j = 0; j < t->c.queue; j++) {
            t->negs[j] = (size_t)sl_rng_below(&r, t->bank.n);
            memcpy(t->kb + (all + j) * d, t->bank.v + t->negs[j] * d, d * sizeof(float));
        }
        lb->nb = t->c.queue;
    }
    lb->b = t->kb;
    return SL_OK;
}

/* After the optimizer's step: the momentum copies move toward the trained
 * towers, MoCo's keys join the queue, the memory bank takes in the queries. */
static sl_status ssl_after_step(sl_trainer *t, size_t n) {
    size_t all = (t->obj == SL_OBJ_MEMORY_BANK ? n : 2 * n) * (size_t)t->ranks;
    if (momentum_copy(t->obj)) {
        double m = sl__ema_momentum(t->c.ema, t->obj == SL_OBJ_BYOL, t->step, t->total);
        SL__TRY(sl__ema_update(t->m[T_TENC], t->m[T_ENC], m));
        if (t->m[T_TPROJ]) SL__TRY(sl__ema_update(t->m[T_TPROJ], t->m[T_PROJ], m));
    }
    if (t->obj == SL_OBJ_MOCO) sl__keyqueue_push(&t->queue, t->keys, all);
    if (t->obj == SL_OBJ_MEMORY_BANK) sl__bank_update(&t->bank, t->itemg, t->keys, all, t->c.bank_momentum);
    return SL_OK;
}

/* Forward through the models, then the objective's loss and its gradients
 * with respect to the models' outputs (into t->dz, and t->dzt or the class
 * matrix's gradients). */
static sl_status step_forward(sl_trainer *t, const sl_batch *b, size_t rows, step_fwd *f, sl_loss_result *r) {
    size_t n = b->n;
    const float *h, *rec;
    f->zt = NULL;
    SL__TRY(sl_model_forward(t->m[T_ENC], t->xin, rows, true, &h));
    sl_shape hs = sl_model_output_shape(t->m[T_ENC]);
    f->dh = hs.dims[0], f->dz = f->dh;
    f->z = h;
    if (t->m[T_PROJ]) {
        SL__TRY(sl_model_forward(t->m[T_PROJ], h, rows, true, &f->z));
        f->dz = sl_model_output_shape(t->m[T_PROJ]).dims[0];
    }
    sl_loss_batch lb = {0};
    lb.n = rows;
    lb.d = f->dz;
    lb.a = f->z;
    lb.labels = t->label_attr >= 0 ? t->lab : NULL;
    lb.grad_a = t->dz;
    lb.ws = t->ws;
    if (t->obj == SL_OBJ_AUTOENCODER) {
        SL__TRY(sl_model_forward(t->m[T_DEC], h, rows, true, &rec));
        lb.a = rec;
        lb.b = t->xin;
        lb.d = t->item;
    } else if (t->obj == SL_OBJ_CLIP) {
        for (size_t i = 0; i < n; i++) sl__vocab_encode(t->vocab, b->captions[i], t->tok + i * t->vocab->max_tokens);
        SL__TRY(sl_model_forward(t->m[T_TEXT], t->tok, n, true, &f->zt));
        lb.b = f->zt;
        lb.grad_b = t->dzt;
        memset(t->dzt, 0, n * f->dz * sizeof(float));
    } else if (t->obj == SL_OBJ_SOFTMAX) {
        lb.b = sl_model_params(t->m[T_CLASSES]);
        lb.nb = (size_t)sl_data_attr(t->data, t->label_attr)->n_classes;
        lb.grad_b = sl_model_grads(t->m[T_CLASSES]);
    } else if (predicts(t->obj)) {
        SL__TRY(predict_inputs(t, n, rows, f, &lb));
    }
    memset(lb.grad_a, 0, rows * lb.d * sizeof(float));
    if (t->dp_global) SL__TRY(gather_batch(t, n, f, &lb));
    if (queues(t->obj)) SL__TRY(queue_inputs(t, b, n, rows, f, &lb));
    if (t->lc.learnable_tau) t->lc.log_scale = sl_loss_clamp_log_scale(&t->lc, t->lc.log_scale);
    sl_status s = sl_loss_compute(&t->lc, &lb, r);
    if (s == SL_ERR_NUMERIC) return nonfinite(t, "model output", NAN);
    if (!s && t->dp_global) {
        sl__dp_own_rows(t->dzg, n, f->dz, rows / n, t->dz);
        if (t->obj == SL_OBJ_CLIP) sl__dp_own_rows(t->dztg, n, f->dz, 1, t->dzt);
    }
    return s;
}

/* Back through the models from the loss's gradients. */
static sl_status step_backward(sl_trainer *t, size_t rows, size_t dh) {
    if (t->obj == SL_OBJ_AUTOENCODER) {
        SL__TRY(sl_model_backward(t->m[T_DEC], t->dz, t->dh));
    } else {
        if (t->obj == SL_OBJ_CLIP) SL__TRY(sl_model_backward(t->m[T_TEXT], t->dzt, NULL));
        if (t->m[T_PRED]) SL__TRY(sl_model_backward(t->m[T_PRED], t->dp, t->dz));
        if (t->m[T_PROJ])
            SL__TRY(sl_model_backward(t->m[T_PROJ], t->dz, t->dh));
        else
            memcpy(t->dh, t->dz, rows * dh * sizeof(float));
    }
    return sl_model_backward(t->m[T_ENC], t->dh, NULL);
}

/* The gradient norm (then clipping, when asked), the optimizers' step at
 * the schedule's rate, and Adam on a learnable log-scale. */
static sl_status step_update(sl_trainer *t, const sl_loss_result *r, step_stats *st) {
    double g2 = 0;
    sl_model *list[T_N];
    size_t nm = 0;
    for (int k = 0; k < T_INIT; k++)
        if (t->m[k]) {
            g2 += sl_model_grad_sqnorm(t->m[k]);
            list[nm++] = t->m[k];
        }
    if (t->lc.learnable_tau) g2 += r->dlog_scale * r->dlog_scale;
    st->grad_norm = sqrt(g2);
    if (!isfinite(st->grad_norm)) return nonfinite(t, "gradient norm", st->grad_norm);
    if (t->c.clip_grad > 0) sl_model_clip_grad_norm(list, nm, t->c.clip_grad, NULL);
    double lr = sl_schedule_lr(&t->sched, t->step);
    st->lr = lr;
    for (int k = 0; k < T_INIT; k++)
        if (t->m[k]) SL__TRY(sl_optim_step(t->o[k], (float)lr));
    if (t->lc.learnable_tau) {
        /* Adam on the log-scale, then CLIP's clamp. */
        double g = r->dlog_scale, b1 = 0.9, b2 = 0.999;
        double k1 = (double)(t->step + 1);
        t->ls_m = b1 * t->ls_m + (1 - b1) * g;
        t->ls_v = b2 * t->ls_v + (1 - b2) * g * g;
        double mh = t->ls_m / (1 - pow(b1, k1)), vh = t->ls_v / (1 - pow(b2, k1));
        t->lc.log_scale = sl_loss_clamp_log_scale(&t->lc, t->lc.log_scale - lr * mh / (sqrt(vh) + 1e-8));
    }
    return SL_OK;
}

/* MAE's step: each image's mask from (seed, step, position in the batch),
 * the masked pass and its gradients. */
static sl_status step_mae(sl_trainer *t, const sl_batch *b, sl_loss_result *r) {
    size_t L = sl_mae_patches(t->m[T_ENC]), n = b->n;
    for (size_t i = 0; i < n; i++)
        sl_mae_draw_mask(t->mae_mask + i * L, L, t->c.mask_ratio, t->c.seed, t->step, b->offset + i);
    memset(r, 0, sizeof *r);
    SL__TRY(sl_mae_forward(t->mae, t->xin, n, t->mae_mask, t->c.norm_pix, true, &r->loss));
    if (!isfinite(r->loss)) return nonfinite(t, "loss", r->loss);
    return sl_mae_backward(t->mae);
}

/* Data-parallel runs: the parameter gradients of every rank summed (the
 * loss of the global batch) or averaged with the loss and accuracy (a mean
 * of each rank's rows). */
static sl_status reduce_step(sl_trainer *t, sl_loss_result *r) {
    if (t->ranks == 1) return SL_OK;
    if (t->dp_global) return sl__dp_reduce_grads(t->m, T_INIT, 1.0f);
    SL__TRY(sl__dp_reduce_grads(t->m, T_INIT, 1.0f / (float)t->ranks));
    double v[2] = {r->loss, r->accuracy};
    SL__TRY(sl__dp_mean(v, 2));
    r->loss = v[0], r->accuracy = v[1];
    return SL_OK;
}

/* One training step on batch b; with want_geom the batch's alignment and
 * uniformity go into st too. */
static sl_status step_once(sl_trainer *t, const sl_batch *b, bool want_geom, step_stats *st) {
    size_t n = b->n;
    size_t rows = two_views(t->obj) ? 2 * n : n;
    step_inputs(t, b, rows);
    step_fwd f;
    sl_loss_result r;
    if (t->mae) {
        SL__TRY(step_mae(t, b, &r));
        SL__TRY(reduce_step(t, &r));
        st->loss = r.loss;
        SL__TRY(step_update(t, &r, st));
        t->step++;
        return SL_OK;
    }
    SL__TRY(step_forward(t, b, rows, &f, &r));
    st->tau = has_tau(t->obj) ? 1.0 / r.scale : 0;
    if (!isfinite(r.loss)) return nonfinite(t, "loss", r.loss);
    if (want_geom && t->obj != SL_OBJ_AUTOENCODER) {
        if (two_views(t->obj))
            SL__TRY(align_uniform(f.z, f.z + n * f.dz, n, f.dz, st));
        else
            SL__TRY(align_uniform(f.z, f.zt, n, f.dz, st));
        SL__TRY(spread(f.z, n, f.dz, st));
        t->dz_width = f.dz;
    }
    SL__TRY(step_backward(t, rows, f.dh));
    SL__TRY(reduce_step(t, &r));
    st->loss = r.loss;
    st->acc = r.accuracy;
    SL__TRY(step_update(t, &r, st));
    SL__TRY(ssl_after_step(t, n));
    t->step++;
    return SL_OK;
}

/* Said once per run, on the progress stream (even with -q) and in the result. */
static void collapse_warning(const sl_trainer *t, sl_progress *pg, const step_stats *st) {
    char msg[512];
    snprintf(msg, sizeof msg,
             "simlearn: warning: step %" PRIu64 ": the embeddings are collapsing (per-dimension deviation %.3g, "
             "%.3g for rows spread over the sphere; effective rank %.2f of %zu); try a lower --lr or other weights",
             t->step, st->emb_std, 1.0 / sqrt((double)t->dz_width), st->emb_rank, t->dz_width);
    sl_progress_note(pg, msg);
}

static void log_line(sl_trainer *t, const step_stats *st, size_t epoch, double img_s) {
    if (!t->log) return;
    fprintf(t->log, "{\"step\":%" PRIu64 ",\"epoch\":%zu,\"loss\":%.9g,\"lr\":%.9g,", t->step, epoch, st->loss, st->lr);
    if (!has_tau(t->obj))
        fprintf(t->log, "\"tau\":null,");
    else
        fprintf(t->log, "\"tau\":%.9g,", st->tau);
    fprintf(t->log, "\"grad_norm\":%.9g,\"accuracy\":%.6g,", st->grad_norm, st->acc);
    if (st->has_align)
        fprintf(t->log, "\"alignment\":%.9g,", st->align);
    else
        fprintf(t->log, "\"alignment\":null,");
    if (!reconstructs(t->obj))
        fprintf(t->log, "\"uniformity\":%.9g,", st->uniform);
    else
        fprintf(t->log, "\"uniformity\":null,");
    if (st->has_spread)
        fprintf(t->log, "\"emb_std\":%.9g,\"emb_rank\":%.9g,", st->emb_std, st->emb_rank);
    else
        fprintf(t->log, "\"emb_std\":null,\"emb_rank\":null,");
    fprintf(t->log, "\"images_per_s\":%.1f}\n", img_s);
    fflush(t->log);
}

/* Rank 0 writes the checkpoints of a data-parallel run (every rank holds
 * the same parameters). */
static sl_status checkpoint(sl_trainer *t) {
    if (t->rank == 0) SL__TRY(sl_trainer_save(t, t->c.out));
    t->last_ckpt = t->step;
    return SL_OK;
}

/* Whether to stop now (Ctrl-C) and whether the time limit is reached: in a
 * data-parallel run, every rank stops at the same step if any rank's flag
 * is set or any rank's clock has run out. */
static sl_status stop_flags(const sl_trainer *t, double t0, bool *stop_now, bool *time_up) {
    bool f[2] = {t->c.stop && *t->c.stop, t->c.time_limit > 0 && sl_time_now() - t0 >= t->c.time_limit};
    if (t->ranks > 1) SL__TRY(sl__dp_any(f, 2));
    *stop_now = f[0], *time_up = f[1];
    return SL_OK;
}

sl_status sl_trainer_run(sl_trainer *t, sl_train_result *res) {
    sl_train_result rr;
    memset(&rr, 0, sizeof rr);
    rr.emb_std = rr.emb_rank = -1;
    sl_progress *pg = NULL;
    if (t->c.progress_stream)
        SL__TRY(sl_progress_create(t->c.progress_stream, t->c.progress_mode, "train",
                                   (t->total > t->step ? t->total - t->step : 0) * t->B, "img", &pg));
    size_t log_every = t->c.log_every ? t->c.log_every : 10;
    double t0 = sl_time_now(), tl = t0, loss_sum = 0;
    uint64_t start = t->step, last_log = t->step, in_epoch = 0;
    sl_status s = SL_OK;
    step_stats st;
    memset(&st, 0, sizeof st);
    while (t->step < t->total) {
        const sl_batch *b;
        s = sl_batcher_next(t->batcher, &b);
        if (s) break;
        size_t epoch = (size_t)(t->step / t->steps_per_epoch);
        bool logit = (t->step + 1) % log_every == 0 || t->step + 1 == t->total || t->step == start;
        memset(&st, 0, sizeof st);
        /* The spread is measured without a log too where collapse is watched for. */
        s = step_once(t, b, logit && (t->log || watches_collapse(t->obj)), &st);
        if (s) break;
        if (t->step % t->steps_per_epoch == 1 || t->steps_per_epoch == 1) loss_sum = 0, in_epoch = 0;
        loss_sum += st.loss;
        in_epoch++;
        rr.loss = st.loss;
        if (logit) {
            double now = sl_time_now();
            double img_s = now > tl ? (double)(t->step - last_log) * (double)t->B / (now - tl) : 0;
            log_line(t, &st, epoch, img_s);
            tl = now;
            last_log = t->step;
            if (st.has_spread) rr.emb_std = st.emb_std, rr.emb_rank = st.emb_rank;
            /* A fresh network often maps everything close together: the
             * first tenth of the run, and its first 10 steps, are not judged. */
            bool judged = t->step > 10 && t->step > t->total / 10;
            if (watches_collapse(t->obj) && judged && !rr.collapse_step && collapsed(&st, t->dz_width)) {
                rr.collapse_step = t->step;
                if (t->rank == 0) collapse_warning(t, pg, &st);
            }
        }
        if (pg) {
            char f[160];
            if (!has_tau(t->obj))
                snprintf(f, sizeof f, "loss %.4f lr %.2e", st.loss, st.lr);
            else
                snprintf(f, sizeof f, "loss %.4f lr %.2e tau %.3g", st.loss, st.lr, st.tau);
            /* Counts this run's images only, so the rate and ETA stay right after a resume. */
            sl_progress_update(pg, (t->step - start) * t->B, f);
        }
        bool stop_now, time_up;
        s = stop_flags(t, t0, &stop_now, &time_up);
        if (s) break;
        bool at_stop = t->c.stop_at && t->step >= t->c.stop_at;
        if ((t->c.checkpoint_every && t->step % t->c.checkpoint_every == 0 && t->step < t->total) || stop_now ||
            at_stop) {
            s = checkpoint(t);
            if (s) break;
        }
        if (stop_now) {
            s = sl__fail(SL_ERR_INTERRUPTED, "interrupted at step %" PRIu64 "; checkpoint written to %s", t->step,
                         t->c.out);
            break;
        }
        if (at_stop) break;
        if (time_up) {
            if (t->last_ckpt != t->step) s = checkpoint(t);
            break;
        }
    }
    bool finished = !s && t->step >= t->total;
    if (finished && t->last_ckpt != t->step) s = checkpoint(t);
    rr.step = t->step;
    rr.mean_loss = in_epoch ? loss_sum / (double)in_epoch : 0;
    rr.seconds = sl_time_now() - t0;
    rr.images_per_s = rr.seconds > 0 ? (double)(t->step - start) * (double)t->B / rr.seconds : 0;
    rr.last_checkpoint = t->last_ckpt;
    if (pg) {
        char f[160];
        snprintf(f, sizeof f, "loss %.4f", rr.loss);
        sl_progress_finish(pg, f);
        sl_progress_destroy(pg);
    }
    if (res) *res = rr;
    return s;
}

/* simlearn train: learn an encoder with one of the objectives (contrastive,
 * supervised contrastive, triplets, CLIP, autoencoder, softmax,
 * masked autoencoding, Barlow Twins, VICReg, SimSiam, BYOL, MoCo, memory bank), with
 * progress, a JSONL log, checkpoints, exact resume and Ctrl-C handling. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
    CLI_OPT_DATA("shapes", "dataset: shapes, fashion-mnist, mnist, a folder, .tsv/.txt captions, .npy"),
    CLI_OPT_DATA_COUNT("shapes: items in the split (0 = 50000)"),
    CLI_DATA_OPTS("train"),
    {"aug", 0, CLI_STR, NULL, "augmentation spec or preset (color, location, shape+location, simclr, mono) or none; "
                              "default: mono on IDX, simclr otherwise, none for one-view objectives", NULL, 0, 0, false},
    {"keep", 0, CLI_STR, NULL, "shapes: attribute-resampling views keeping these attributes, e.g. shape+location", NULL, 0, 0, false},
    {"label", 0, CLI_STR, NULL, "attribute used by supervised objectives (default: the first, e.g. shape)", NULL, 0, 0, false},
    {"encoder", 0, CLI_STR, NULL, "encoder spec (default: --init's, else chosen for the dataset, see docs/training.md)", NULL, 0, 0, false},
    {"projector", 0, CLI_STR, NULL, "projector spec or none (default for contrastive objectives: "
                                    "linear(512),bn,relu,linear(128) on IDX, linear(128),relu,linear(64) otherwise; "
                                    "linear(64) for clip, none otherwise)", NULL, 0, 0, false},
    {"decoder", 0, CLI_STR, NULL, "decoder spec: autoencoder (default: linear(512),relu,linear(C*H*W)); mae "
                                  "(default: linear(64),masktok,pos,block(4),block(4),ln,linear(P*P*C))", NULL, 0, 0, false},
    {"text-encoder", 0, CLI_STR, NULL, "CLIP text tower; embbag(DIM), tokemb(DIM) and txt(...) get the vocabulary size, linear(D) the image "
                                       "embedding width", "embbag(128),linear(128),relu,linear(D)", 0, 0, false},
    {"objective", 0, CLI_CHOICE, "infonce", "training objective",
     "infonce|supcon|triplet|triplet-hard|triplet-smooth|clip|autoencoder|softmax|mae|barlow|vicreg|simsiam|byol|moco|"
     "memory-bank", 0, 0, false},
    {"mask-ratio", 0, CLI_FLOAT, "0.75", "mae: share of each image's patches masked", NULL, 0, 1, false},
    {"norm-pix", 0, CLI_FLAG, NULL, "mae: targets normalised per patch (each patch's mean and variance)", NULL, 0, 0, false},
    {"barlow-lambda", 0, CLI_FLOAT, "0.0051", "barlow: weight of the off-diagonal terms", NULL, 0, 1e6, false},
    {"vicreg-inv", 0, CLI_FLOAT, "25", "vicreg: weight of the invariance term", NULL, 0, 1e6, false},
    {"vicreg-var", 0, CLI_FLOAT, "25", "vicreg: weight of the variance term", NULL, 0, 1e6, false},
    {"vicreg-cov", 0, CLI_FLOAT, "1", "vicreg: weight of the covariance term", NULL, 0, 1e6, false},
    {"predictor", 0, CLI_STR, NULL, "simsiam, byol: predictor spec (default: linear(D/4),bn,relu,linear(D) for simsiam, "
                                    "linear(4D),bn,relu,linear(D) for byol; D the embedding width)", NULL, 0, 0, false},
    {"ema", 0, CLI_FLOAT, "-1", "byol, moco: momentum of the target copy (-1 = 0.996 rising to 1 for byol, 0.99 for moco)", NULL, -1, 1, false},
    {"queue", 0, CLI_INT, "0", "moco: keys in the queue; memory-bank: negatives drawn per step (0 = 4096)", NULL, 0, 1 << 24, false},
    {"bank-momentum", 0, CLI_FLOAT, "-1", "memory-bank: weight of a row's old value in its update (-1 = 0.5)", NULL, -1, 1, false},
    {"sim", 0, CLI_CHOICE, NULL, "similarity (default: cosine; dot for softmax)", "dot|cosine|l2", 0, 0, false},
    {"tau", 0, CLI_FLOAT, "0", "temperature (0 = the objective's default: infonce, supcon, triplet-smooth 0.1, clip 0.07, moco 0.2, memory-bank 0.07)", NULL, 0, 1e6, false},
    {"learn-tau", 0, CLI_FLAG, NULL, "learn the temperature (log-parametrised, clamped to [0.01, 1]; on for clip)", NULL, 0, 0, false},
    {"fixed-tau", 0, CLI_FLAG, NULL, "keep the temperature fixed (also for clip)", NULL, 0, 0, false},
    {"margin", 0, CLI_FLOAT, "-1", "triplet margin (-1 = default 0.2)", NULL, -1, 1e6, false},
    {"optim", 0, CLI_CHOICE, "adam", "optimizer", "sgd|adam|adamw|lars", 0, 0, false},
    {"lr", 0, CLI_FLOAT, "0", "learning rate (0 = 2e-3 for adam/adamw, 0.05 sgd, 0.3 lars)", NULL, 0, 1e30, false},
    {"schedule", 0, CLI_STR, "cosine", "learning-rate schedule: constant, cosine, step:SIZE:GAMMA", NULL, 0, 0, false},
    {"warmup", 0, CLI_INT, "-1", "linear warm-up steps (-1 = 5% of the steps)", NULL, -1, 1e12, false},
    {"min-lr", 0, CLI_FLOAT, "0", "cosine schedule floor", NULL, 0, 1e30, false},
    {"wd", 0, CLI_FLOAT, "-1", "weight decay (-1 = the optimizer's default: 0.01 adamw, 0 otherwise)", NULL, -1, 1e6, false},
    {"clip-grad", 0, CLI_FLOAT, "0", "clip the global gradient norm (0 = off)", NULL, 0, 1e30, false},
    {"epochs", 0, CLI_INT, "0", "epochs (0 = 5 unless --steps is given)", NULL, 0, 1e9, false},
    {"steps", 0, CLI_INT, "0", "optimizer steps in total (overrides --epochs)", NULL, 0, 1e15, false},
    {"batch", 0, CLI_INT, "256", "items per batch (two-view objectives see twice as many views)", NULL, 1, 1 << 24, false},
    CLI_OPT_SEED,
    CLI_OPT_THREADS,
    {"data-threads", 0, CLI_INT, "1", "batch producer threads", NULL, 1, 256, false},
    {"sync-bn", 0, CLI_FLAG, NULL, "under mpirun: batch norm with the statistics of every rank's rows (default: each rank's own)", NULL, 0, 0, false},
    {"output", 'o', CLI_STR, NULL, "checkpoint to write (safetensors)", NULL, 0, 0, true},
    {"resume", 0, CLI_STR, NULL, "continue from this checkpoint (its settings are used; --steps/--epochs set the new end)", NULL, 0, 0, false},
    {"init", 0, CLI_STR, NULL, "start a new run from the models of this training checkpoint (fine-tuning; tensors "
                               "matched by name and shape)", NULL, 0, 0, false},
    {"init-towers", 0, CLI_STR, NULL, "towers to take from --init: encoder,projector,decoder,text,classes (default: "
                                      "every one the run has)", NULL, 0, 0, false},
    {"init-partial", 0, CLI_FLAG, NULL, "skip --init tensors whose shape differs (default: an error)", NULL, 0, 0, false},
    {"log", 0, CLI_STR, NULL, "JSONL log of every logged step (default: OUTPUT with .jsonl)", NULL, 0, 0, false},
    {"log-every", 0, CLI_INT, "10", "steps between log lines", NULL, 1, 1e12, false},
    {"checkpoint-every", 0, CLI_INT, "0", "steps between checkpoints (0 = only at the end)", NULL, 0, 1e12, false},
    {"stop-at", 0, CLI_INT, "0", "write a checkpoint and stop after this step (0 = run to the end)", NULL, 0, 1e15, false},
    {"time-limit", 0, CLI_FLOAT, "0", "end the run with a checkpoint after this many seconds (0 = no limit)", NULL, 0, 1e12, false},
    {"max-memory", 0, CLI_STR, NULL, "refuse to train above this many bytes (K/M/G suffixes; default: MemAvailable)", NULL, 0, 0, false},
    CLI_OPT_QUIET,
    CLI_OPT_END,
};

static const cli_spec spec = {
    "simlearn train [options] -o MODEL.safetensors",
    "Train an encoder whose embedding space puts similar things together. Ctrl-C writes a checkpoint and "
    "exits with status 130; --resume continues it exactly.",
    opts, 0, 0,
    "examples:\n"
    "  simlearn train --data shapes --objective infonce -o m.safetensors\n"
    "  simlearn train --data shapes --aug color --steps 300 -o color.safetensors\n"
    "  simlearn train --data shapes --objective clip --steps 500 -o clip.safetensors\n"
    "  simlearn train --data fashion-mnist --epochs 8 -o r1.safetensors\n"
    "  simlearn train --resume m.safetensors --steps 2000 -o m.safetensors\n"
    "  simlearn train --init m.safetensors --objective softmax --steps 300 -o tuned.safetensors\n"
    "  simlearn train --objective mae --encoder 'vit(patch=4,dim=64,depth=4)' --steps 500 -o mae.safetensors\n"
    "  simlearn train --data fashion-mnist --objective barlow --epochs 8 -o barlow.safetensors\n"
    "  simlearn train --objective moco --queue 8192 --steps 2000 -o moco.safetensors\n"};

static bool parse_bytes(const char *s, size_t *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0)) return false;
    double mul = 1;
    if (*end == 'K' || *end == 'k') mul = 1024, end++;
    else if (*end == 'M' || *end == 'm') mul = 1024.0 * 1024, end++;
    else if (*end == 'G' || *end == 'g') mul = 1024.0 * 1024 * 1024, end++;
    if (*end == 'B' || *end == 'b') end++;
    if (*end || v * mul > 1.8e19) return false;
    *out = (size_t)(v * mul);
    return true;
}

/* The training configuration from the options; the log goes beside the
 * checkpoint (logpath, cap bytes) unless --log names it. Returns 0 or 2. */
static int train_config(const cli_args *a, sl_train_config *c, char *logpath, size_t cap) {
    sl_train_config_default(c);
    sl_data_config dc;
    int rc = cli_data_config(a, NULL, &dc);
    if (rc) return rc;
    sl_train_config_set_data(c, &dc);
    c->aug = cli_str(a, "aug");
    c->keep = cli_str(a, "keep");
    c->label = cli_str(a, "label");
    c->encoder = cli_str(a, "encoder");
    c->projector = cli_str(a, "projector");
    c->decoder = cli_str(a, "decoder");
    if (cli_given(a, "text-encoder")) c->text_encoder = cli_str(a, "text-encoder");
    if (sl_loss_objective_parse(cli_str(a, "objective"), &c->objective))
        return cli_usage_error("option --objective: %s", sl_error_message());
    c->sim = cli_str(a, "sim");
    c->tau = cli_float(a, "tau");
    if (cli_flag(a, "learn-tau") && cli_flag(a, "fixed-tau"))
        return cli_usage_error("--learn-tau and --fixed-tau contradict each other");
    c->learn_tau = cli_flag(a, "learn-tau") ? 1 : cli_flag(a, "fixed-tau") ? 0 : -1;
    c->margin = cli_float(a, "margin");
    if (cli_given(a, "mask-ratio")) c->mask_ratio = cli_float(a, "mask-ratio");
    c->norm_pix = cli_flag(a, "norm-pix");
    if (cli_given(a, "barlow-lambda")) c->barlow_lambda = cli_float(a, "barlow-lambda");
    if (cli_given(a, "vicreg-inv")) c->vicreg_inv = cli_float(a, "vicreg-inv");
    if (cli_given(a, "vicreg-var")) c->vicreg_var = cli_float(a, "vicreg-var");
    if (cli_given(a, "vicreg-cov")) c->vicreg_cov = cli_float(a, "vicreg-cov");
    c->predictor = cli_str(a, "predictor");
    c->ema = cli_float(a, "ema");
    c->queue = (size_t)cli_int(a, "queue");
    c->bank_momentum = cli_float(a, "bank-momentum");
    c->optim = cli_str(a, "optim");
    c->lr = cli_float(a, "lr");
    c->schedule = cli_str(a, "schedule");
    c->warmup = (int64_t)cli_int(a, "warmup");
    c->min_lr = cli_float(a, "min-lr");
    c->wd = cli_float(a, "wd");
    c->clip_grad = cli_float(a, "clip-grad");
    c->epochs = (size_t)cli_int(a, "epochs");
    c->steps = (size_t)cli_int(a, "steps");
    c->batch = (size_t)cli_int(a, "batch");
    c->seed = (uint64_t)cli_int(a, "seed");
    c->threads = (int)cli_int(a, "threads");
    c->data_threads = (int)cli_int(a, "data-threads");
    c->sync_bn = cli_flag(a, "sync-bn");
    c->out = cli_str(a, "output");
    c->resume = cli_str(a, "resume");
    c->init = cli_str(a, "init");
    c->init_towers = cli_str(a, "init-towers");
    c->init_partial = cli_flag(a, "init-partial");
    if (c->init && c->resume)
        return cli_usage_error("--init and --resume do not go together: --resume continues a run, --init starts a "
                               "new one from another run's models");
    if (!c->init && (c->init_towers || c->init_partial))
        return cli_usage_error("--%s needs --init", c->init_towers ? "init-towers" : "init-partial");
    c->log_every = (size_t)cli_int(a, "log-every");
    c->checkpoint_every = (size_t)cli_int(a, "checkpoint-every");
    c->stop_at = (size_t)cli_int(a, "stop-at");
    c->time_limit = cli_float(a, "time-limit");
    c->progress_stream = stderr;
    c->progress_mode = cli_progress_mode(a);
    if (cli_given(a, "log")) {
        c->log = cli_str(a, "log");
    } else {
        const char *dot = strrchr(c->out, '.'), *slash = strrchr(c->out, '/');
        int stem = dot && (!slash || dot > slash) ? (int)(dot - c->out) : (int)strlen(c->out);
        snprintf(logpath, cap, "%.*s.jsonl", stem, c->out);
        c->log = logpath;
    }
    return 0;
}

static int run(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    sl_train_config c;
    char logpath[4096];
    if ((rc = train_config(&a, &c, logpath, sizeof logpath))) return rc;
    size_t limit = sl_train_mem_available();
    if (cli_given(&a, "max-memory") && !parse_bytes(cli_str(&a, "max-memory"), &limit))
        return cli_usage_error("option --max-memory: '%s' is not a size like 512M or 2G", cli_str(&a, "max-memory"));

    c.stop = cli_stop_begin();
    sl_trainer *t;
    sl_status s = sl_trainer_create(&c, &t);
    if (s) {
        cli_stop_end();
        return cli_fail(s);
    }
    bool quiet = cli_flag(&a, "quiet") || sl_dist_rank() != 0; /* rank 0 reports */
    size_t need = sl_trainer_memory(t);
    const sl_train_init_report *ir = sl_trainer_init_report(t);
    if (quiet && ir && ir->skipped) fprintf(stderr, "simlearn: note: --init %s\n", ir->summary);
    if (!quiet) {
        fputs(sl_trainer_describe(t), stderr);
        fprintf(stderr, "memory     about %.1f MiB", (double)need / (1024.0 * 1024));
        if (limit) fprintf(stderr, " (%.1f MiB available)", (double)limit / (1024.0 * 1024));
        fputc('\n', stderr);
    }
    if (limit && need > limit) {
        fprintf(stderr,
                "simlearn: error: training needs about %.1f MiB but only %.1f MiB are available; use a smaller "
                "--batch or model\n",
                (double)need / (1024.0 * 1024), (double)limit / (1024.0 * 1024));
        sl_trainer_destroy(t);
        cli_stop_end();
        return 1;
    }
    sl_train_result r;
    s = sl_trainer_run(t, &r);
    cli_stop_end();
    sl_trainer_destroy(t);
    if (s) return cli_fail(s);
    if (!quiet)
        fprintf(stderr, "trained %llu steps (%.1f s, %.0f images/s), last loss %.4f; wrote %s and %s\n",
                (unsigned long long)r.step, r.seconds, r.images_per_s, r.loss, c.out, c.log);
    return 0;
}

const cli_command cli_cmd_train = {"train", "train an encoder (contrastive, triplet, CLIP, autoencoder, softmax, MAE and self-supervised objectives)", run,
                                   true};

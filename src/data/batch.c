/* The batch producer: worker threads fill a ring of batch slots ahead of the
 * consumer. Which items and which random views a batch holds depends only on
 * (seed, epoch, position), never on which thread made it or when, so the
 * producer can start at any batch: it builds that epoch's order and goes on
 * from there, without making the batches before it. */
#include "data_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_FREE, SLOT_FILLING, SLOT_READY };

typedef struct {
    sl_batch b;
    size_t seq;
    int state;
    sl_status err;
    char msg[512];
} slot;

typedef struct worker {
    struct sl_batcher *owner;
    pthread_t th;
    bool started;
    size_t *perm;      /* this worker's copy of the current epoch's order */
    size_t perm_epoch; /* which epoch perm holds (SIZE_MAX: none) */
    float *scratch;
} worker;

struct sl_batcher {
    sl_batch_config cfg;
    size_t n, steps, total;
    int nslots;
    slot *slots;
    int nworkers;
    worker *workers;
    pthread_mutex_t mu;
    pthread_cond_t cv_ready, cv_free;
    bool sync_ok;
    size_t next_fill, next_take;
    size_t made; /* batches the workers have filled */
    bool holding; /* the consumer holds slot (next_take-1) */
    bool stop;
};

void sl_batch_config_default(sl_batch_config *c) {
    memset(c, 0, sizeof *c);
    c->mode = SL_BATCH_TWO_VIEWS;
    c->batch_size = 256;
    c->shuffle = true;
    c->drop_last = true;
    c->threads = 1;
    c->prefetch = 2;
}

size_t sl_batcher_steps_per_epoch(const sl_batcher *b) { return b->steps; }

static void epoch_order(const sl_batcher *b, size_t epoch, size_t *perm) {
    for (size_t i = 0; i < b->n; i++) perm[i] = i;
    if (!b->cfg.shuffle) return;
    sl_rng r;
    sl_rng_seed(&r, b->cfg.seed, 0x5348554646ull ^ ((uint64_t)epoch << 40));
    sl_rng_shuffle(&r, perm, b->n, sizeof *perm);
}

static void normalize_view(const sl_batch_config *c, float *x, int ch, size_t plane) {
    for (int k = 0; k < ch; k++) {
        int q = k < 3 ? k : 2;
        float m = c->mean[q], inv = 1.0f / c->std[q];
        float *p = x + (size_t)k * plane;
        for (size_t i = 0; i < plane; i++) p[i] = (p[i] - m) * inv;
    }
}

static sl_status fill(sl_batcher *b, worker *wk, size_t seq, sl_batch *out) {
    const sl_dataset *d = b->cfg.data;
    size_t epoch = seq / b->steps, step = seq % b->steps, B = b->cfg.batch_size;
    if (wk->perm_epoch != epoch) {
        epoch_order(b, epoch, wk->perm);
        wk->perm_epoch = epoch;
    }
    size_t first = step * B, m = b->n - first < B ? b->n - first : B, n = m;
    if (b->cfg.shards > 1) {
        size_t lo;
        sl_dist_share(m, b->cfg.shard, b->cfg.shards, &lo, &n);
        first += lo;
        out->offset = lo;
    }
    size_t row = sl_data_item_size(d);
    int na = sl_data_num_attrs(d);
    out->n = n;
    out->epoch = epoch;
    out->step = step;
    const sl_augment *a1 = b->cfg.aug, *a2 = b->cfg.aug2 ? b->cfg.aug2 : b->cfg.aug;
    for (size_t j = 0; j < n; j++) {
        size_t pos = first + j, item = wk->perm[pos];
        out->items[j] = item;
        /* One RNG stream per (epoch, position, view). */
        uint64_t base = ((uint64_t)epoch << 36) ^ ((uint64_t)pos << 2);
        sl_rng r;
        sl_rng_seed(&r, b->cfg.seed, base | 0);
        SL__TRY(sl_data_get(d, item, NULL, na ? out->labels + j * (size_t)na : NULL,
                            out->captions ? out->captions[j] : NULL));
        SL__TRY(sl_augment_item(a1, d, item, &r, out->x + j * row, wk->scratch));
        size_t plane = (size_t)out->h * out->w;
        if (b->cfg.normalize) normalize_view(&b->cfg, out->x + j * row, out->c, plane);
        if (out->x2) {
            sl_rng_seed(&r, b->cfg.seed, base | 1);
            SL__TRY(sl_augment_item(a2, d, item, &r, out->x2 + j * row, wk->scratch));
            if (b->cfg.normalize) normalize_view(&b->cfg, out->x2 + j * row, out->c, plane);
        }
    }
    return SL_OK;
}

static void *worker_main(void *arg) {
    worker *wk = arg;
    sl_batcher *b = wk->owner;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->stop && (b->next_fill >= b->total || b->slots[b->next_fill % b->nslots].state != SLOT_FREE))
            pthread_cond_wait(&b->cv_free, &b->mu);
        if (b->stop) break;
        size_t seq = b->next_fill++;
        slot *s = &b->slots[seq % b->nslots];
        s->state = SLOT_FILLING;
        s->seq = seq;
        pthread_mutex_unlock(&b->mu);
        sl_status st = fill(b, wk, seq, &s->b);
        pthread_mutex_lock(&b->mu);
        s->err = st;
        if (st) snprintf(s->msg, sizeof s->msg, "%s", sl_error_message());
        s->state = SLOT_READY;
        b->made++;
        pthread_cond_broadcast(&b->cv_ready);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

sl_status sl_batcher_create(const sl_batch_config *c, sl_batcher **out) {
    if (!c || !c->data || !out) return sl__fail(SL_ERR_ARG, "batcher: no dataset");
    if (c->batch_size == 0 || c->batch_size > SL_BATCH_MAX)
        return sl__fail(SL_ERR_ARG, "batcher: batch size %zu is out of range (1..%zu)", c->batch_size, SL_BATCH_MAX);
    if (c->threads < 1 || c->threads > 256) return sl__fail(SL_ERR_ARG, "batcher: %d threads (expected 1..256)", c->threads);
    if (c->prefetch < 1 || c->prefetch > 64) return sl__fail(SL_ERR_ARG, "batcher: prefetch %d (expected 1..64)", c->prefetch);
    if (c->mode < SL_BATCH_TWO_VIEWS || c->mode > SL_BATCH_CAPTION) return sl__fail(SL_ERR_ARG, "batcher: bad mode");
    if (c->shards > 1 && c->shard >= c->shards)
        return sl__fail(SL_ERR_ARG, "batcher: shard %zu of %zu (expected 0..%zu)", c->shard, c->shards, c->shards - 1);
    const sl_dataset *d = c->data;
    if (c->normalize)
        for (int k = 0; k < 3 && k < sl_data_channels(d); k++)
            if (!isfinite(c->mean[k]) || !(c->std[k] > 0) || !isfinite(c->std[k]))
                return sl__fail(SL_ERR_ARG, "batcher: normalization of channel %d has mean %g and std %g; the std must be > 0",
                                k, (double)c->mean[k], (double)c->std[k]);
    if (c->mode == SL_BATCH_CAPTION && !sl_data_has_captions(d))
        return sl__fail(SL_ERR_ARG, "batcher: %s has no captions", sl_data_name(d));
    const sl_augment *augs[2] = {c->aug, c->aug2};
    for (int k = 0; k < 2; k++)
        if (augs[k] && sl_augment_resamples(augs[k]) && sl_data_kind_of(d) != SL_DATA_SHAPES)
            return sl__fail(SL_ERR_ARG, "batcher: keep=... (attribute resampling) works on the shapes dataset only");
    size_t n = sl_data_count(d), B = c->batch_size;
    size_t steps = c->drop_last ? n / B : (n + B - 1) / B;
    if (steps == 0)
        return sl__fail(SL_ERR_ARG, "batcher: %s has %zu items, fewer than one batch of %zu", sl_data_name(d), n, B);
    size_t total = c->epochs ? (steps > SIZE_MAX / c->epochs ? SIZE_MAX : steps * c->epochs) : SIZE_MAX;
    if (c->start > total)
        return sl__fail(SL_ERR_ARG, "batcher: start at batch %zu, but %zu epochs of %zu batches end at %zu", c->start,
                        c->epochs, steps, total);
    sl_batcher *b = sl__calloc(1, sizeof *b);
    if (!b) return sl__fail(SL_ERR_NOMEM, "out of memory");
    b->cfg = *c;
    b->n = n;
    b->steps = steps;
    b->total = total;
    b->next_fill = b->next_take = c->start;
    b->nslots = c->prefetch + 1;
    b->nworkers = c->threads;
    size_t row = sl_data_item_size(d), na = (size_t)sl_data_num_attrs(d);
    size_t xs;
    if (!sl_size_mul(B, row, &xs)) {
        sl__free(b);
        return sl__fail(SL_ERR_NOMEM, "batcher: batch of %zu x %zu floats is too large", B, row);
    }
    sl_status s = SL_OK;
    b->slots = sl__calloc((size_t)b->nslots, sizeof *b->slots);
    b->workers = sl__calloc((size_t)b->nworkers, sizeof *b->workers);
    if (!b->slots || !b->workers) s = sl__fail(SL_ERR_NOMEM, "out of memory");
    for (int k = 0; !s && k < b->nslots; k++) {
        sl_batch *bt = &b->slots[k].b;
        bt->c = sl_data_channels(d);
        bt->h = sl_data_height(d);
        bt->w = sl_data_width(d);
        bt->x = sl__malloc_array(xs, sizeof(float), "batch views");
        if (c->mode == SL_BATCH_TWO_VIEWS) bt->x2 = sl__malloc_array(xs, sizeof(float), "batch views");
        bt->labels = sl__malloc_array(B * (na ? na : 1), sizeof(int32_t), "batch labels");
        bt->items = sl__malloc_array(B, sizeof(size_t), "batch items");
        if (c->mode == SL_BATCH_CAPTION) bt->captions = sl__malloc_array(B, SL_CAPTION_MAX, "batch captions");
        if (!bt->x || (c->mode == SL_BATCH_TWO_VIEWS && !bt->x2) || !bt->labels || !bt->items ||
            (c->mode == SL_BATCH_CAPTION && !bt->captions))
            s = SL_ERR_NOMEM;
    }
    size_t scr = 0;
    for (int k = 0; k < 2; k++) {
        size_t z = sl_augment_scratch_size(augs[k], sl_data_channels(d), sl_data_height(d), sl_data_width(d));
        scr = z > scr ? z : scr;
    }
    for (int k = 0; !s && k < b->nworkers; k++) {
        b->workers[k].owner = b;
        b->workers[k].perm_epoch = SIZE_MAX;
        b->workers[k].perm = sl__malloc_array(n, sizeof(size_t), "epoch order");
        b->workers[k].scratch = sl__malloc_array(scr, sizeof(float), "augmentation scratch");
        if (!b->workers[k].perm || !b->workers[k].scratch) s = SL_ERR_NOMEM;
    }
    if (!s) {
        if (pthread_mutex_init(&b->mu, NULL) || pthread_cond_init(&b->cv_ready, NULL) ||
            pthread_cond_init(&b->cv_free, NULL))
            s = sl__fail(SL_ERR_STATE, "batcher: cannot create a mutex");
        else
            b->sync_ok = true;
    }
    for (int k = 0; !s && k < b->nworkers; k++) {
        if (pthread_create(&b->workers[k].th, NULL, worker_main, &b->workers[k]))
            s = sl__fail(SL_ERR_STATE, "batcher: cannot start a worker thread");
        else
            b->workers[k].started = true;
    }
    if (s) {
        sl_batcher_destroy(b);
        return s;
    }
    *out = b;
    return SL_OK;
}

sl_status sl_batcher_next(sl_batcher *b, const sl_batch **out) {
    pthread_mutex_lock(&b->mu);
    if (b->holding) {
        b->slots[(b->next_take - 1) % b->nslots].state = SLOT_FREE;
        b->holding = false;
        pthread_cond_broadcast(&b->cv_free);
    }
    if (b->next_take >= b->total) {
        pthread_mutex_unlock(&b->mu);
        return sl__fail(SL_ERR_NOTFOUND, "batcher: all %zu epochs are done", b->cfg.epochs);
    }
    slot *s = &b->slots[b->next_take % b->nslots];
    while (!(s->state == SLOT_READY && s->seq == b->next_take)) pthread_cond_wait(&b->cv_ready, &b->mu);
    b->next_take++;
    b->holding = true;
    sl_status st = s->err;
    char msg[512];
    if (st) memcpy(msg, s->msg, sizeof msg);
    pthread_mutex_unlock(&b->mu);
    if (st) return sl__fail(st, "%s", msg);
    *out = &s->b;
    return SL_OK;
}

size_t sl__batcher_made(sl_batcher *b) {
    pthread_mutex_lock(&b->mu);
    size_t n = b->made;
    pthread_mutex_unlock(&b->mu);
    return n;
}

void sl_batcher_destroy(sl_batcher *b) {
    if (!b) return;
    if (b->sync_ok) {
        pthread_mutex_lock(&b->mu);
        b->stop = true;
        pthread_cond_broadcast(&b->cv_free);
        pthread_mutex_unlock(&b->mu);
    }
    for (int k = 0; b->workers && k < b->nworkers; k++) {
        if (b->workers[k].started) pthread_join(b->workers[k].th, NULL);
        sl__free(b->workers[k].perm);
        sl__free(b->workers[k].scratch);
    }
    if (b->sync_ok) {
        pthread_mutex_destroy(&b->mu);
        pthread_cond_destroy(&b->cv_ready);
        pthread_cond_destroy(&b->cv_free);
    }
    for (int k = 0; b->slots && k < b->nslots; k++) {
        sl__free(b->slots[k].b.x);
        sl__free(b->slots[k].b.x2);
        sl__free(b->slots[k].b.labels);
        sl__free(b->slots[k].b.items);
        sl__free(b->slots[k].b.captions);
    }
    sl__free(b->slots);
    sl__free(b->workers);
    sl__free(b);
}

/* Data-parallel training over the ranks of a distributed run: each rank
 * runs the models on its share of every global batch. Objectives that
 * contrast a row with the others (InfoNCE, SupCon, triplets, CLIP) see the
 * whole global batch: the ranks gather every rank's embeddings, each
 * computes the loss of the global batch (the same value on every rank) and
 * its gradient, and keeps the rows it owns, which it backpropagates; the
 * parameter gradients are then summed over the ranks (each rank's part is
 * already a part of the global loss's gradient, so they add up to it, with
 * no factor of the rank count). Objectives that are a mean over rows
 * (softmax, autoencoder, MAE) compute their loss on the rank's rows and
 * average the gradients. */
#include "train/train_internal.h"

#include <string.h>

sl_status sl__dp_gather(const float *loc, size_t n, size_t d, size_t views, float *glob) {
    size_t block = n * d, ranks = (size_t)sl_dist_size();
    for (size_t v = 0; v < views; v++)
        SL__TRY(sl_dist_allgather(loc + v * block, block * sizeof(float), glob + v * ranks * block));
    return SL_OK;
}

void sl__dp_own_rows(const float *glob, size_t n, size_t d, size_t views, float *loc) {
    size_t block = n * d, ranks = (size_t)sl_dist_size(), r = (size_t)sl_dist_rank();
    for (size_t v = 0; v < views; v++) memcpy(loc + v * block, glob + (v * ranks + r) * block, block * sizeof(float));
}

sl_status sl__dp_gather_labels(const int32_t *loc, size_t n, size_t views, int32_t *glob) {
    size_t all = n * (size_t)sl_dist_size();
    SL__TRY(sl_dist_allgather(loc, n * sizeof(int32_t), glob));
    for (size_t v = 1; v < views; v++) memcpy(glob + v * all, glob, all * sizeof(int32_t));
    return SL_OK;
}

sl_status sl__dp_reduce_grads(sl_model *const *m, size_t nm, float scale) {
    for (size_t k = 0; k < nm; k++) {
        if (!m[k]) continue;
        SL__TRY(sl_dist_sum_f32(sl_model_grads(m[k]), sl_model_param_count(m[k])));
        if (scale != 1.0f) sl_model_scale_grads(m[k], scale);
    }
    return SL_OK;
}

sl_status sl__dp_mean(double *x, size_t n) {
    SL__TRY(sl_dist_sum_f64(x, n));
    for (size_t i = 0; i < n; i++) x[i] /= sl_dist_size();
    return SL_OK;
}

sl_status sl__dp_any(bool *flags, size_t n) {
    int64_t v[8];
    if (n > 8) return sl__fail(SL_ERR_ARG, "dp_any: %zu flags", n);
    for (size_t i = 0; i < n; i++) v[i] = flags[i];
    SL__TRY(sl_dist_max_i64(v, n));
    for (size_t i = 0; i < n; i++) flags[i] = v[i] != 0;
    return SL_OK;
}

/* Private pieces shared by the index module's files: the distance kernels
 * (fast and naive twins), input checks and metric helpers. Not installed. */
#ifndef SIMLEARN_INDEX_INTERNAL_H
#define SIMLEARN_INDEX_INTERNAL_H

#include "internal.h"

/* Squared L2 distance over n floats. The fast kernel requires n to be a
 * multiple of 16; rows need no particular alignment. */
float sl__l2sq(const float *a, const float *b, size_t n);
float sl__l2sq_ref(const float *a, const float *b, size_t n);
/* Inner product over n floats, any n, double accumulation (used for exact
 * re-scoring, not in hot loops). */
double sl__dot_d(const float *a, const float *b, size_t n);
/* Exact score of one pair for a metric (double accumulation). qn/xn are the
 * L2 norms, needed for cosine only. */
double sl__exact_score(sl_metric m, const float *q, const float *x, size_t d);

/* SL_ERR_NUMERIC naming the first row with a NaN/Inf value, or SL_OK. */
sl_status sl__check_finite(const float *x, size_t n, size_t d, const char *what);

#endif

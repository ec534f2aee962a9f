/* simlearn: learning representations by similarity. The umbrella header that
 * brings in every public module header, lowest module first (the order is
 * docs/design.md's). */
#ifndef SIMLEARN_H
#define SIMLEARN_H

#define SL_VERSION_MAJOR 0
#define SL_VERSION_MINOR 1
#define SL_VERSION_PATCH 0
#define SL_VERSION_STRING "0.1.0"

#include "simlearn/base.h"
#include "simlearn/io.h"
#include "simlearn/tensor.h"
#include "simlearn/nn.h"
#include "simlearn/loss.h"
#include "simlearn/data.h"
#include "simlearn/index.h"
#include "simlearn/eval.h"
#include "simlearn/geom.h"
#include "simlearn/train.h"
#include "simlearn/words.h"
#include "simlearn/viz.h"

#endif

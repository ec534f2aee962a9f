/* simlearn index module (see DESIGN.md §2). */
#ifndef SIMLEARN_INDEX_H
#define SIMLEARN_INDEX_H

#include "simlearn/base.h"
#include "simlearn/io.h"
#include "simlearn/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif

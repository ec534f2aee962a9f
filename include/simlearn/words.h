/* simlearn words module (see DESIGN.md §2). */
#ifndef SIMLEARN_WORDS_H
#define SIMLEARN_WORDS_H

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

/* What the extension's source files share: errors as exceptions, buffer
 * checks, the Ctrl-C guard of long calls (python/simlearn/_simlearn.c), and
 * the types that python/simlearn/_models.c, _ivfpq.c and _flat.c add to the module. */
#ifndef SIMLEARN_PY_SIMLEARN_H
#define SIMLEARN_PY_SIMLEARN_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <signal.h>
#include <stdbool.h>

#include "simlearn.h"

/* Raise the exception for a library status with sl_error_message() as its
 * text (MemoryError, OSError, KeyboardInterrupt, RuntimeError, else
 * ValueError); returns NULL. */
PyObject *raise_status(sl_status s);

/* A C-contiguous buffer of `want` ('f' float32, 'd' float64, 'i' int32, 'q'
 * int64) with ndim dimensions; -1 with TypeError naming `name` otherwise. */
int get_buffer(PyObject *obj, Py_buffer *view, const char *name, char want, int ndim, bool writable);
size_t rows_of(const Py_buffer *v);
size_t cols_of(const Py_buffer *v);

/* Search outputs: writable nq x k buffers of float32 (scores) and int64
 * (ids); -1 with ValueError otherwise (nothing held). */
int get_outputs(PyObject *od, PyObject *oi, Py_buffer *vd, Py_buffer *vi, size_t nq, size_t k);
/* A metric name; -1 with ValueError otherwise. */
int parse_metric(const char *name, sl_metric *m);
/* An optional int64 vector (0 and nothing held when obj is None), of n
 * values unless n is (size_t)-1; -1 with an exception otherwise. */
int get_optional_ids(PyObject *obj, Py_buffer *v, const char *name, size_t n);

/* While a long call runs without the GIL, SIGINT in the main thread sets
 * stop_flag (which the call polls); sigint_release puts Python's handler
 * back. */
typedef struct {
    bool installed;
    struct sigaction old;
} sigint_guard;
extern volatile sig_atomic_t stop_flag;
void sigint_catch(sigint_guard *g);
void sigint_release(sigint_guard *g);

/* Add _Model and _Encoder to the module; -1 on error. */
int models_add_types(PyObject *m);
/* Add _IVFPQ to the module; -1 on error. */
int ivfpq_add_type(PyObject *m);
/* Add _Flat to the module; -1 on error. */
int flat_add_type(PyObject *m);
/* A new object of class cls (simlearn.Words or a subclass) holding w (taken
 * over; destroyed on failure); the sl_wordvecs of a Words object (NULL with
 * ValueError when it holds none). */
PyObject *words_wrap(PyObject *cls, sl_wordvecs *w);
const sl_wordvecs *words_vectors(PyObject *o);
/* Poincaré embeddings (_poincare.c): train, evaluate, nearest, distance. */
PyObject *py_poincare_train(PyObject *self, PyObject *args);
PyObject *py_poincare_evaluate(PyObject *self, PyObject *args);
PyObject *py_poincare_nearest(PyObject *self, PyObject *args);
PyObject *py_poincare_distance(PyObject *self, PyObject *args);
/* read_safetensors(path) and write_safetensors(path, tensors, metadata). */
PyObject *py_read_safetensors(PyObject *self, PyObject *arg);
PyObject *py_write_safetensors(PyObject *self, PyObject *args);

#endif

/* Poincaré embeddings from Python (simlearn.Words.poincare and the Words
 * methods poincare_evaluate and poincare_nearest): training on an edge-list
 * file, reconstruction and link-prediction ranks, nearest rows by hyperbolic
 * distance, and the distance itself. Training runs without the GIL and
 * stops on Ctrl-C. */
#include "_simlearn.h"

#include <stdlib.h>

/* poincare_train(cls, edges, dim, epochs, negative, lr, burn_in, burn_in_lr, dampening, seed, threads,
 * progress) -> (Words, dict of stats) */
PyObject *py_poincare_train(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *cls, *path;
    sl_words_poincare_config c;
    sl_words_poincare_config_default(&c);
    unsigned long long seed;
    int progress;
    if (!PyArg_ParseTuple(args, "OO&iiididdKip", &cls, PyUnicode_FSConverter, &path, &c.dim, &c.epochs, &c.negative,
                          &c.lr, &c.burn_in, &c.burn_in_lr, &c.dampening, &seed, &c.threads, &progress))
        return NULL;
    c.seed = seed, c.stop = &stop_flag, c.progress = progress ? stderr : NULL;
    sl_words_edges *e = NULL;
    sl_wordvecs *w = NULL;
    sl_words_poincare_stats st = {0};
    sigint_guard g;
    sigint_catch(&g);
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_words_edges_read(PyBytes_AS_STRING(path), &e);
    if (!s) s = sl_words_poincare_train(e, &c, &w, &st);
    sl_words_edges_destroy(e);
    Py_END_ALLOW_THREADS sigint_release(&g);
    Py_DECREF(path);
    if (s) return raise_status(s);
    PyObject *o = words_wrap(cls, w);
    if (!o) return NULL;
    return Py_BuildValue("(N{s:d,s:d,s:K})", o, "seconds", st.seconds, "loss", st.loss, "updates",
                         (unsigned long long)st.updates);
}

/* poincare_evaluate(words, truth path, known path or None) -> dict */
PyObject *py_poincare_evaluate(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ow, *truth, *known = NULL;
    if (!PyArg_ParseTuple(args, "OO&O", &ow, PyUnicode_FSConverter, &truth, &known)) return NULL;
    PyObject *kpath = NULL;
    const sl_wordvecs *w = words_vectors(ow);
    if (!w || (known != Py_None && !PyUnicode_FSConverter(known, &kpath))) return Py_DECREF(truth), NULL;
    sl_words_edges *t = NULL, *k = NULL;
    sl_words_poincare_eval r = {0};
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_words_edges_read(PyBytes_AS_STRING(truth), &t);
    if (!s && kpath) s = sl_words_edges_read(PyBytes_AS_STRING(kpath), &k);
    if (!s) s = sl_words_poincare_evaluate(w, k, t, &r);
    sl_words_edges_destroy(t), sl_words_edges_destroy(k);
    Py_END_ALLOW_THREADS Py_DECREF(truth);
    Py_XDECREF(kpath);
    if (s) return raise_status(s);
    return Py_BuildValue("{s:d,s:d,s:n,s:n}", "mean_rank", r.mean_rank, "map", r.map, "nodes", (Py_ssize_t)r.nodes,
                         "edges", (Py_ssize_t)r.edges);
}

/* poincare_nearest(words, query float32 (dim), k, exclude int64) -> [(row, distance), ...] */
PyObject *py_poincare_nearest(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ow, *oq, *oe;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OOnO", &ow, &oq, &k, &oe)) return NULL;
    const sl_wordvecs *w = words_vectors(ow);
    if (!w) return NULL;
    if (k < 1) return PyErr_Format(PyExc_ValueError, "k: expected at least 1, got %zd", k);
    Py_buffer vq, ve;
    if (get_buffer(oq, &vq, "query", 'f', 1, false) < 0) return NULL;
    if (get_buffer(oe, &ve, "exclude", 'q', 1, false) < 0) return PyBuffer_Release(&vq), NULL;
    size_t nex = rows_of(&ve), found = 0, *excl = malloc((nex ? nex : 1) * sizeof *excl), *idx = malloc((size_t)k * sizeof *idx);
    float *dist = malloc((size_t)k * sizeof *dist);
    sl_status s = SL_OK;
    if (rows_of(&vq) != w->dim) {
        PyErr_Format(PyExc_ValueError, "query: expected %zu values, got %zu", w->dim, rows_of(&vq));
    } else if (!excl || !idx || !dist) {
        PyErr_NoMemory();
    } else {
        for (size_t i = 0; i < nex; i++) excl[i] = (size_t)((const int64_t *)ve.buf)[i];
        Py_BEGIN_ALLOW_THREADS s = sl_words_poincare_nearest(w, vq.buf, (size_t)k, excl, nex, idx, dist, &found);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&vq), PyBuffer_Release(&ve);
    PyObject *res = NULL;
    if (!PyErr_Occurred() && !s) {
        res = PyList_New((Py_ssize_t)found);
        for (size_t i = 0; res && i < found; i++)
            PyList_SET_ITEM(res, (Py_ssize_t)i, Py_BuildValue("(nd)", (Py_ssize_t)idx[i], (double)dist[i]));
    }
    free(excl), free(idx), free(dist);
    if (s) return raise_status(s);
    return res;
}

/* poincare_distance(u float32, v float32) -> float */
PyObject *py_poincare_distance(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ou, *ov;
    if (!PyArg_ParseTuple(args, "OO", &ou, &ov)) return NULL;
    Py_buffer vu, vv;
    if (get_buffer(ou, &vu, "u", 'f', 1, false) < 0) return NULL;
    if (get_buffer(ov, &vv, "v", 'f', 1, false) < 0) return PyBuffer_Release(&vu), NULL;
    PyObject *r = rows_of(&vu) == rows_of(&vv)
                      ? PyFloat_FromDouble(sl_words_poincare_distance(vu.buf, vv.buf, rows_of(&vu)))
                      : PyErr_Format(PyExc_ValueError, "u and v: expected the same length, got %zu and %zu",
                                     rows_of(&vu), rows_of(&vv));
    PyBuffer_Release(&vu), PyBuffer_Release(&vv);
    return r;
}

/* The IVF-PQ index type of the extension (simlearn.IVFPQIndex wraps it):
 * create, train, add, search (filters, exact re-ranking), delete,
 * reconstruct, save, load and facts. Long calls run without the GIL and
 * stop on Ctrl-C. */
#include "_simlearn.h"

#include <string.h>

typedef struct {
    PyObject_HEAD sl_ivfpq *q;
} IvfObject;

static sl_ivfpq *live(IvfObject *o) {
    if (!o->q) PyErr_SetString(PyExc_ValueError, "the index is closed");
    return o->q;
}

static size_t dim_of(const sl_ivfpq *q) {
    sl_ivfpq_info i;
    sl_ivfpq_get_info(q, &i);
    return i.dim;
}

static void ivf_dealloc(IvfObject *o) {
    sl_ivfpq_destroy(o->q);
    Py_TYPE(o)->tp_free((PyObject *)o);
}

/* __init__(dim, metric, nlist, M, iters, seed): 0 for nlist and M choose. */
static int ivf_init(IvfObject *o, PyObject *args, PyObject *kw) {
    static char *names[] = {"dim", "metric", "nlist", "M", "iters", "seed", NULL};
    Py_ssize_t dim, nlist = 0, M = 0, iters = 25;
    unsigned long long seed = 0;
    const char *metric = "l2";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "n|snnnK", names, &dim, &metric, &nlist, &M, &iters, &seed)) return -1;
    sl_ivfpq_config c;
    sl_ivfpq_config_default(&c);
    if (parse_metric(metric, &c.metric) < 0) return -1;
    if (dim < 1 || nlist < 0 || M < 0 || iters < 1) {
        PyErr_Format(PyExc_ValueError,
                     "dim >= 1, nlist >= 0, M >= 0 and iters >= 1 expected, got %zd, %zd, %zd, %zd", dim, nlist, M,
                     iters);
        return -1;
    }
    c.dim = (size_t)dim, c.nlist = (size_t)nlist, c.M = (size_t)M, c.iters = (size_t)iters, c.seed = seed;
    sl_ivfpq *q;
    sl_status s = sl_ivfpq_create(&c, &q);
    if (s) return raise_status(s), -1;
    sl_ivfpq_destroy(o->q);
    o->q = q;
    return 0;
}

/* A float32 matrix of rows of the index's dimension. */
static int get_rows(IvfObject *o, PyObject *obj, Py_buffer *v, const char *name) {
    if (get_buffer(obj, v, name, 'f', 2, false) < 0) return -1;
    size_t d = dim_of(o->q);
    if (cols_of(v) != d) {
        PyErr_Format(PyExc_ValueError, "%s: expected rows of %zu values, got %zu", name, d, cols_of(v));
        PyBuffer_Release(v);
        return -1;
    }
    return 0;
}

/* _train(x, threads) */
static PyObject *ivf_train(IvfObject *o, PyObject *args) {
    PyObject *ox;
    int threads;
    if (!PyArg_ParseTuple(args, "Oi", &ox, &threads) || !live(o)) return NULL;
    Py_buffer vx;
    if (get_rows(o, ox, &vx, "x") < 0) return NULL;
    sigint_guard g;
    sigint_catch(&g);
    sl_status s;
    Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
    s = sl_ivfpq_train(o->q, vx.buf, rows_of(&vx), &stop_flag);
    Py_END_ALLOW_THREADS sigint_release(&g);
    PyBuffer_Release(&vx);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

/* _add(x, ids, labels, threads) -> the first default id */
static PyObject *ivf_add(IvfObject *o, PyObject *args) {
    PyObject *ox, *oids, *olab;
    int threads;
    if (!PyArg_ParseTuple(args, "OOOi", &ox, &oids, &olab, &threads) || !live(o)) return NULL;
    Py_buffer vx, vk = {0}, vl = {0};
    if (get_rows(o, ox, &vx, "x") < 0) return NULL;
    size_t n = rows_of(&vx);
    if (get_optional_ids(oids, &vk, "ids", n) < 0 || get_optional_ids(olab, &vl, "labels", n) < 0) {
        PyBuffer_Release(&vx);
        if (vk.obj) PyBuffer_Release(&vk);
        return NULL;
    }
    sl_ivfpq_info i;
    sl_ivfpq_get_info(o->q, &i);
    sigint_guard g;
    sigint_catch(&g);
    sl_status s;
    Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
    s = sl_ivfpq_add(o->q, vx.buf, n, vk.obj ? vk.buf : NULL, vl.obj ? vl.buf : NULL, NULL, &stop_flag);
    Py_END_ALLOW_THREADS sigint_release(&g);
    PyBuffer_Release(&vx);
    if (vk.obj) PyBuffer_Release(&vk);
    if (vl.obj) PyBuffer_Release(&vl);
    if (s) return raise_status(s);
    return PyLong_FromSize_t(i.next_id);
}

/* _search(q, k, nprobe, rerank, base, allow, labels, threads, scores, ids) */
static PyObject *ivf_search(IvfObject *o, PyObject *args) {
    PyObject *oq, *ob, *oallow, *olab, *od, *oi;
    Py_ssize_t k, nprobe, rerank;
    int threads;
    if (!PyArg_ParseTuple(args, "OnnnOOOiOO", &oq, &k, &nprobe, &rerank, &ob, &oallow, &olab, &threads, &od, &oi) ||
        !live(o))
        return NULL;
    if (k < 1 || nprobe < 1 || rerank < 0) {
        return PyErr_Format(PyExc_ValueError, "k >= 1, nprobe >= 1 and rerank >= 0 expected, got %zd, %zd, %zd", k,
                            nprobe, rerank);
    }
    Py_buffer vq, vb = {0}, va = {0}, vl = {0}, vd, vi;
    int got = 0;
    if (get_rows(o, oq, &vq, "queries") == 0) got = 1;
    if (got == 1 && (ob == Py_None || get_rows(o, ob, &vb, "base") == 0)) got = 2;
    if (got == 2 && get_optional_ids(oallow, &va, "filter", (size_t)-1) == 0) got = 3;
    if (got == 3 && get_optional_ids(olab, &vl, "labels", (size_t)-1) == 0) got = 4;
    if (got == 4 && get_outputs(od, oi, &vd, &vi, rows_of(&vq), (size_t)k) == 0) got = 5;
    sl_status s = SL_OK;
    if (got == 5) {
        sl_hnsw_filter f = {.allow_ids = va.obj ? va.buf : NULL, .n_allow_ids = va.obj ? rows_of(&va) : 0,
                            .allow_labels = vl.obj ? vl.buf : NULL, .n_allow_labels = vl.obj ? rows_of(&vl) : 0};
        sl_ivfpq_search_config c;
        sl_ivfpq_search_config_default(&c);
        c.k = (size_t)k, c.nprobe = (size_t)nprobe, c.rerank = (size_t)rerank;
        c.base = vb.obj ? vb.buf : NULL, c.base_rows = vb.obj ? rows_of(&vb) : 0;
        c.filter = va.obj || vl.obj ? &f : NULL;
        Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
        s = sl_ivfpq_search(o->q, vq.buf, rows_of(&vq), &c, vi.buf, vd.buf);
        Py_END_ALLOW_THREADS PyBuffer_Release(&vd), PyBuffer_Release(&vi);
    }
    if (got >= 1) PyBuffer_Release(&vq);
    if (vb.obj) PyBuffer_Release(&vb);
    if (va.obj) PyBuffer_Release(&va);
    if (vl.obj) PyBuffer_Release(&vl);
    if (got < 5) return NULL;
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

/* _delete(ids) -> the count removed */
static PyObject *ivf_delete(IvfObject *o, PyObject *arg) {
    if (!live(o)) return NULL;
    Py_buffer v;
    if (get_buffer(arg, &v, "ids", 'q', 1, false) < 0) return NULL;
    size_t gone = 0;
    sl_status s = sl_ivfpq_delete(o->q, v.buf, rows_of(&v), &gone);
    PyBuffer_Release(&v);
    if (s) return raise_status(s);
    return PyLong_FromSize_t(gone);
}

/* _reconstruct(id, out float32 of dim) */
static PyObject *ivf_reconstruct(IvfObject *o, PyObject *args) {
    long long id;
    PyObject *oo;
    if (!PyArg_ParseTuple(args, "LO", &id, &oo) || !live(o)) return NULL;
    Py_buffer v;
    if (get_buffer(oo, &v, "out", 'f', 1, true) < 0) return NULL;
    sl_status s = rows_of(&v) == dim_of(o->q) ? sl_ivfpq_reconstruct(o->q, id, v.buf) : SL_ERR_ARG;
    PyBuffer_Release(&v);
    if (s == SL_ERR_NOTFOUND) return PyErr_Format(PyExc_KeyError, "no vector has the id %lld", id);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

static PyObject *ivf_save(IvfObject *o, PyObject *arg) {
    PyObject *path;
    if (!live(o) || !PyUnicode_FSConverter(arg, &path)) return NULL;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_ivfpq_save(o->q, PyBytes_AS_STRING(path));
    Py_END_ALLOW_THREADS Py_DECREF(path);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

static PyObject *ivf_load(PyObject *cls, PyObject *arg) {
    PyObject *path;
    if (!PyUnicode_FSConverter(arg, &path)) return NULL;
    sl_ivfpq *q = NULL;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_ivfpq_load(PyBytes_AS_STRING(path), &q);
    Py_END_ALLOW_THREADS Py_DECREF(path);
    if (s) return raise_status(s);
    IvfObject *o = (IvfObject *)((PyTypeObject *)cls)->tp_alloc((PyTypeObject *)cls, 0);
    if (!o) {
        sl_ivfpq_destroy(q);
        return NULL;
    }
    o->q = q;
    return (PyObject *)o;
}

static PyObject *ivf_close(IvfObject *o, PyObject *unused) {
    (void)unused;
    sl_ivfpq_destroy(o->q);
    o->q = NULL;
    Py_RETURN_NONE;
}

static PyObject *ivf_info(IvfObject *o, PyObject *unused) {
    (void)unused;
    if (!live(o)) return NULL;
    sl_ivfpq_info i;
    sl_ivfpq_get_info(o->q, &i);
    return Py_BuildValue("{s:n,s:s,s:n,s:n,s:n,s:O,s:O,s:n,s:n,s:n,s:n,s:n,s:d,s:n}", "dim", (Py_ssize_t)i.dim,
                         "metric", sl_metric_name(i.metric), "nlist", (Py_ssize_t)i.nlist, "M", (Py_ssize_t)i.M,
                         "nbits", (Py_ssize_t)i.nbits, "trained", i.trained ? Py_True : Py_False, "labelled",
                         i.labelled ? Py_True : Py_False, "size", (Py_ssize_t)i.size, "next_id",
                         (Py_ssize_t)i.next_id, "code_bytes", (Py_ssize_t)i.code_bytes, "empty_lists",
                         (Py_ssize_t)i.empty_lists, "largest_list", (Py_ssize_t)i.largest_list, "imbalance",
                         i.imbalance, "bytes", (Py_ssize_t)i.bytes);
}

static PyMethodDef ivf_methods[] = {
    {"_train", (PyCFunction)ivf_train, METH_VARARGS, "train(x, threads)"},
    {"_add", (PyCFunction)ivf_add, METH_VARARGS, "add(x, ids, labels, threads) -> first default id"},
    {"_search", (PyCFunction)ivf_search, METH_VARARGS,
     "search(q, k, nprobe, rerank, base, allow, labels, threads, scores, ids)"},
    {"_delete", (PyCFunction)ivf_delete, METH_O, "delete(ids) -> removed"},
    {"_reconstruct", (PyCFunction)ivf_reconstruct, METH_VARARGS, "reconstruct(id, out)"},
    {"_save", (PyCFunction)ivf_save, METH_O, "save(path)"},
    {"_load", (PyCFunction)ivf_load, METH_O | METH_CLASS, "load(path) -> index"},
    {"close", (PyCFunction)ivf_close, METH_NOARGS, "Free the index; later calls raise ValueError."},
    {"info", (PyCFunction)ivf_info, METH_NOARGS, "The index's settings and counts, as a dict."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject IvfType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "simlearn._simlearn._IVFPQ",
    .tp_basicsize = sizeof(IvfObject),
    .tp_dealloc = (destructor)ivf_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "IVF-PQ index (see simlearn.IVFPQIndex)",
    .tp_methods = ivf_methods,
    .tp_init = (initproc)ivf_init,
    .tp_new = PyType_GenericNew,
};

int ivfpq_add_type(PyObject *m) {
    if (PyType_Ready(&IvfType) < 0) return -1;
    Py_INCREF(&IvfType);
    if (PyModule_AddObject(m, "_IVFPQ", (PyObject *)&IvfType) < 0) {
        Py_DECREF(&IvfType);
        return -1;
    }
    return 0;
}

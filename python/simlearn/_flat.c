/* The flat (exact) index type of the extension (simlearn.FlatIndex wraps
 * it): create, add, search (filters), delete, get, save, load and facts.
 * Searches run without the GIL. */
#include "_simlearn.h"

typedef struct {
    PyObject_HEAD sl_flat_index *f;
} FlatObject;

static sl_flat_index *live(FlatObject *o) {
    if (!o->f) PyErr_SetString(PyExc_ValueError, "the index is closed");
    return o->f;
}

static sl_flat_index_info info_of(const sl_flat_index *f) {
    sl_flat_index_info i;
    sl_flat_index_get_info(f, &i);
    return i;
}

static void flat_dealloc(FlatObject *o) {
    sl_flat_index_destroy(o->f);
    Py_TYPE(o)->tp_free((PyObject *)o);
}

/* __init__(dim, metric) */
static int flat_init(FlatObject *o, PyObject *args, PyObject *kw) {
    static char *names[] = {"dim", "metric", NULL};
    Py_ssize_t dim;
    const char *metric = "l2";
    sl_metric m;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "n|s", names, &dim, &metric) || parse_metric(metric, &m) < 0) return -1;
    if (dim < 1) {
        PyErr_Format(PyExc_ValueError, "dim >= 1 expected, got %zd", dim);
        return -1;
    }
    sl_flat_index *f;
    sl_status s = sl_flat_index_create((size_t)dim, m, &f);
    if (s) return raise_status(s), -1;
    sl_flat_index_destroy(o->f);
    o->f = f;
    return 0;
}

/* A float32 matrix of rows of the index's dimension. */
static int get_rows(FlatObject *o, PyObject *obj, Py_buffer *v, const char *name) {
    if (get_buffer(obj, v, name, 'f', 2, false) < 0) return -1;
    size_t d = info_of(o->f).dim;
    if (cols_of(v) != d) {
        PyErr_Format(PyExc_ValueError, "%s: expected rows of %zu values, got %zu", name, d, cols_of(v));
        PyBuffer_Release(v);
        return -1;
    }
    return 0;
}

/* _add(x, ids, labels) -> the first default id */
static PyObject *flat_add(FlatObject *o, PyObject *args) {
    PyObject *ox, *oids, *olab;
    if (!PyArg_ParseTuple(args, "OOO", &ox, &oids, &olab) || !live(o)) return NULL;
    Py_buffer vx, vk = {0}, vl = {0};
    if (get_rows(o, ox, &vx, "x") < 0) return NULL;
    size_t n = rows_of(&vx), first = info_of(o->f).next_id;
    sl_status s = SL_OK;
    if (get_optional_ids(oids, &vk, "ids", n) == 0 && get_optional_ids(olab, &vl, "labels", n) == 0) {
        Py_BEGIN_ALLOW_THREADS s = sl_flat_index_add(o->f, vx.buf, n, vk.obj ? vk.buf : NULL, vl.obj ? vl.buf : NULL);
        Py_END_ALLOW_THREADS
    } else {
        s = SL_ERR_ARG;
    }
    PyBuffer_Release(&vx);
    if (vk.obj) PyBuffer_Release(&vk);
    if (vl.obj) PyBuffer_Release(&vl);
    if (PyErr_Occurred()) return NULL;
    if (s) return raise_status(s);
    return PyLong_FromSize_t(first);
}

/* _search(q, k, allow, labels, threads, scores, ids) */
static PyObject *flat_search(FlatObject *o, PyObject *args) {
    PyObject *oq, *oallow, *olab, *od, *oi;
    Py_ssize_t k;
    int threads;
    if (!PyArg_ParseTuple(args, "OnOOiOO", &oq, &k, &oallow, &olab, &threads, &od, &oi) || !live(o)) return NULL;
    if (k < 1) return PyErr_Format(PyExc_ValueError, "k >= 1 expected, got %zd", k);
    Py_buffer vq, va = {0}, vl = {0}, vd, vi;
    int got = 0;
    if (get_rows(o, oq, &vq, "queries") == 0) got = 1;
    if (got == 1 && get_optional_ids(oallow, &va, "filter", (size_t)-1) == 0) got = 2;
    if (got == 2 && get_optional_ids(olab, &vl, "labels", (size_t)-1) == 0) got = 3;
    if (got == 3 && get_outputs(od, oi, &vd, &vi, rows_of(&vq), (size_t)k) == 0) got = 4;
    sl_status s = SL_OK;
    if (got == 4) {
        sl_hnsw_filter flt = {.allow_ids = va.obj ? va.buf : NULL, .n_allow_ids = va.obj ? rows_of(&va) : 0,
                              .allow_labels = vl.obj ? vl.buf : NULL, .n_allow_labels = vl.obj ? rows_of(&vl) : 0};
        Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
        s = sl_flat_index_search_dist(o->f, vq.buf, rows_of(&vq), (size_t)k, &flt, vi.buf, vd.buf);
        Py_END_ALLOW_THREADS PyBuffer_Release(&vd), PyBuffer_Release(&vi);
    }
    if (got >= 1) PyBuffer_Release(&vq);
    if (va.obj) PyBuffer_Release(&va);
    if (vl.obj) PyBuffer_Release(&vl);
    if (got < 4) return NULL;
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

/* _delete(ids) -> the count removed */
static PyObject *flat_delete(FlatObject *o, PyObject *arg) {
    if (!live(o)) return NULL;
    Py_buffer v;
    if (get_buffer(arg, &v, "ids", 'q', 1, false) < 0) return NULL;
    size_t gone = 0;
    sl_status s = sl_flat_index_delete(o->f, v.buf, rows_of(&v), &gone);
    PyBuffer_Release(&v);
    if (s) return raise_status(s);
    return PyLong_FromSize_t(gone);
}

/* _get(id, out float32 of dim) */
static PyObject *flat_get(FlatObject *o, PyObject *args) {
    long long id;
    PyObject *oo;
    if (!PyArg_ParseTuple(args, "LO", &id, &oo) || !live(o)) return NULL;
    Py_buffer v;
    if (get_buffer(oo, &v, "out", 'f', 1, true) < 0) return NULL;
    sl_status s = rows_of(&v) == info_of(o->f).dim ? sl_flat_index_get_vector(o->f, id, v.buf) : SL_ERR_ARG;
    PyBuffer_Release(&v);
    if (s == SL_ERR_NOTFOUND) return PyErr_Format(PyExc_KeyError, "no vector has the id %lld", id);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

static PyObject *flat_save(FlatObject *o, PyObject *arg) {
    PyObject *path;
    if (!live(o) || !PyUnicode_FSConverter(arg, &path)) return NULL;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_flat_index_save(o->f, PyBytes_AS_STRING(path));
    Py_END_ALLOW_THREADS Py_DECREF(path);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

static PyObject *flat_load(PyObject *cls, PyObject *arg) {
    PyObject *path;
    if (!PyUnicode_FSConverter(arg, &path)) return NULL;
    sl_flat_index *f = NULL;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_flat_index_load(PyBytes_AS_STRING(path), &f);
    Py_END_ALLOW_THREADS Py_DECREF(path);
    if (s) return raise_status(s);
    FlatObject *o = (FlatObject *)((PyTypeObject *)cls)->tp_alloc((PyTypeObject *)cls, 0);
    if (!o) {
        sl_flat_index_destroy(f);
        return NULL;
    }
    o->f = f;
    return (PyObject *)o;
}

static PyObject *flat_close(FlatObject *o, PyObject *unused) {
    (void)unused;
    sl_flat_index_destroy(o->f);
    o->f = NULL;
    Py_RETURN_NONE;
}

static PyObject *flat_info(FlatObject *o, PyObject *unused) {
    (void)unused;
    if (!live(o)) return NULL;
    sl_flat_index_info i = info_of(o->f);
    return Py_BuildValue("{s:n,s:s,s:O,s:n,s:n,s:n,s:n}", "dim", (Py_ssize_t)i.dim, "metric", sl_metric_name(i.metric),
                         "labelled", i.labelled ? Py_True : Py_False, "size", (Py_ssize_t)i.size, "next_id",
                         (Py_ssize_t)i.next_id, "vector_bytes", (Py_ssize_t)i.vector_bytes, "bytes",
                         (Py_ssize_t)i.bytes);
}

static PyMethodDef flat_methods[] = {
    {"_add", (PyCFunction)flat_add, METH_VARARGS, "add(x, ids, labels) -> first default id"},
    {"_search", (PyCFunction)flat_search, METH_VARARGS, "search(q, k, allow, labels, threads, scores, ids)"},
    {"_delete", (PyCFunction)flat_delete, METH_O, "delete(ids) -> removed"},
    {"_get", (PyCFunction)flat_get, METH_VARARGS, "get(id, out)"},
    {"_save", (PyCFunction)flat_save, METH_O, "save(path)"},
    {"_load", (PyCFunction)flat_load, METH_O | METH_CLASS, "load(path) -> index"},
    {"close", (PyCFunction)flat_close, METH_NOARGS, "Free the index; later calls raise ValueError."},
    {"info", (PyCFunction)flat_info, METH_NOARGS, "The index's settings and counts, as a dict."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject FlatType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "simlearn._simlearn._Flat",
    .tp_basicsize = sizeof(FlatObject),
    .tp_dealloc = (destructor)flat_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "flat (exact) index (see simlearn.FlatIndex)",
    .tp_methods = flat_methods,
    .tp_init = (initproc)flat_init,
    .tp_new = PyType_GenericNew,
};

int flat_add_type(PyObject *m) {
    if (PyType_Ready(&FlatType) < 0) return -1;
    Py_INCREF(&FlatType);
    if (PyModule_AddObject(m, "_Flat", (PyObject *)&FlatType) < 0) {
        Py_DECREF(&FlatType);
        return -1;
    }
    return 0;
}

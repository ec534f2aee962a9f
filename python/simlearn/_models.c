/* Models, encoders and their files from Python: _Model wraps sl_model (a
 * network built from a spec, or loaded from a file or a checkpoint's tower),
 * _Encoder wraps sl_encoder (a trained checkpoint embedding arrays), and
 * read_safetensors / write_safetensors the library's safetensors reader and
 * atomic writer. The Python layer
 * (simlearn/__init__.py) shapes the arrays; here inputs are float32
 * C-contiguous n x item matrices and outputs buffers it allocated. A model
 * holds its activations, so one call at a time runs on an object: a second
 * thread calling while the first runs without the GIL gets RuntimeError. */
#include "_simlearn.h"

#include <string.h>

static PyObject *shape_tuple(sl_shape s) {
    PyObject *t = PyTuple_New(s.ndim);
    for (int i = 0; t && i < s.ndim; i++) PyTuple_SET_ITEM(t, i, PyLong_FromSize_t(s.dims[i]));
    return t;
}

/* An object's library handle, refusing closed or busy objects. */
static bool usable(const void *handle, bool busy, const char *what) {
    if (!handle) PyErr_Format(PyExc_ValueError, "the %s is closed", what);
    else if (busy) PyErr_Format(PyExc_RuntimeError, "the %s is in use by another thread", what);
    return handle && !busy;
}

/* x: n x cols float32 and out: n x ocols float32, checked. */
static int get_io(PyObject *ox, PyObject *oo, Py_buffer *vx, Py_buffer *vo, size_t cols, size_t ocols) {
    if (get_buffer(ox, vx, "x", 'f', 2, false) < 0) return -1;
    if (cols_of(vx) != cols || rows_of(vx) == 0) {
        PyErr_Format(PyExc_ValueError, "x: expected n >= 1 rows of %zu values, got %zu x %zu", cols, rows_of(vx),
                     cols_of(vx));
        PyBuffer_Release(vx);
        return -1;
    }
    if (get_buffer(oo, vo, "out", 'f', 2, true) < 0) {
        PyBuffer_Release(vx);
        return -1;
    }
    if (rows_of(vo) != rows_of(vx) || cols_of(vo) != ocols) {
        PyErr_Format(PyExc_ValueError, "out: expected %zu x %zu", rows_of(vx), ocols);
        PyBuffer_Release(vx), PyBuffer_Release(vo);
        return -1;
    }
    return 0;
}

/* ---- _Model ------------------------------------------------------------- */
typedef struct {
    PyObject_HEAD sl_model *m;
    bool busy;
} ModelObject;

static PyTypeObject ModelType;

static void model_dealloc(ModelObject *o) {
    sl_model_destroy(o->m);
    Py_TYPE(o)->tp_free((PyObject *)o);
}

static int model_init(ModelObject *o, PyObject *args, PyObject *kw) {
    static char *names[] = {"spec", "input_shape", "seed", NULL};
    const char *spec, *shape;
    unsigned long long seed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "ss|K", names, &spec, &shape, &seed)) return -1;
    sl_shape in;
    sl_model *m;
    sl_status s = sl_shape_parse(shape, &in);
    if (!s) s = sl_model_create(spec, &in, seed, &m);
    if (s) return raise_status(s), -1;
    sl_model_destroy(o->m);
    o->m = m;
    return 0;
}

/* _load(path, prefix): a model file (prefix "") or a checkpoint's tower. */
static PyObject *model_load(PyObject *cls, PyObject *args) {
    PyObject *path;
    const char *prefix;
    if (!PyArg_ParseTuple(args, "O&s", PyUnicode_FSConverter, &path, &prefix)) return NULL;
    sl_model *m = NULL;
    sl_tensors *t = NULL;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_safetensors_read(PyBytes_AS_STRING(path), &t);
    if (!s) s = sl_model_import(t, prefix, 0, &m);
    Py_END_ALLOW_THREADS sl_tensors_destroy(t);
    if (s && sl_error_message()[0] && !strstr(sl_error_message(), PyBytes_AS_STRING(path))) {
        PyObject *r = PyErr_Format(s == SL_ERR_IO ? PyExc_OSError : PyExc_ValueError, "%s: %s",
                                   PyBytes_AS_STRING(path), sl_error_message());
        Py_DECREF(path);
        return r;
    }
    Py_DECREF(path);
    if (s) return raise_status(s);
    ModelObject *o = (ModelObject *)((PyTypeObject *)cls)->tp_alloc((PyTypeObject *)cls, 0);
    if (!o) return sl_model_destroy(m), NULL;
    o->m = m;
    return (PyObject *)o;
}

/* _forward(x, train, threads, out) */
static PyObject *model_forward(ModelObject *o, PyObject *args) {
    PyObject *ox, *oo;
    int train, threads;
    if (!PyArg_ParseTuple(args, "OpiO", &ox, &train, &threads, &oo) || !usable(o->m, o->busy, "model")) return NULL;
    sl_shape in = sl_model_input_shape(o->m), os = sl_model_output_shape(o->m);
    Py_buffer vx, vo;
    if (get_io(ox, oo, &vx, &vo, sl_shape_count(&in), sl_shape_count(&os)) < 0) return NULL;
    size_t n = rows_of(&vx), d = sl_shape_count(&os);
    sl_status s;
    o->busy = true;
    Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
    const float *y;
    s = sl_model_forward(o->m, vx.buf, n, train != 0, &y);
    if (!s) memcpy(vo.buf, y, n * d * sizeof(float));
    Py_END_ALLOW_THREADS o->busy = false;
    PyBuffer_Release(&vx), PyBuffer_Release(&vo);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

static PyObject *model_info(ModelObject *o, PyObject *unused) {
    (void)unused;
    if (!usable(o->m, false, "model")) return NULL;
    return Py_BuildValue("{s:s,s:N,s:N,s:n,s:n}", "spec", sl_model_spec(o->m), "input_shape",
                         shape_tuple(sl_model_input_shape(o->m)), "output_shape",
                         shape_tuple(sl_model_output_shape(o->m)), "params", (Py_ssize_t)sl_model_param_count(o->m),
                         "layers", (Py_ssize_t)sl_model_layer_count(o->m));
}

static PyObject *model_summary(ModelObject *o, PyObject *unused) {
    (void)unused;
    if (!usable(o->m, false, "model")) return NULL;
    size_t len = sl_model_summary(o->m, NULL, 0);
    char *buf = PyMem_Malloc(len + 1);
    if (!buf) return PyErr_NoMemory();
    sl_model_summary(o->m, buf, len + 1);
    PyObject *r = PyUnicode_FromString(buf);
    PyMem_Free(buf);
    return r;
}

/* _tensors() -> [(name, shape, bytes of float32)] in checkpoint order. */
static PyObject *model_tensors(ModelObject *o, PyObject *unused) {
    (void)unused;
    if (!usable(o->m, o->busy, "model")) return NULL;
    size_t n = sl_model_tensor_count(o->m);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        sl_param_info p;
        sl_model_tensor(o->m, i, &p);
        PyObject *shape = PyTuple_New(p.ndim);
        for (int k = 0; shape && k < p.ndim; k++) PyTuple_SET_ITEM(shape, k, PyLong_FromSize_t(p.shape[k]));
        PyObject *t = shape ? Py_BuildValue("(sNy#)", p.name, shape, (const char *)p.data,
                                            (Py_ssize_t)(p.count * sizeof(float)))
                            : NULL;
        if (!t) Py_CLEAR(list);
        else PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    return list;
}

static PyObject *model_save(ModelObject *o, PyObject *arg) {
    PyObject *path;
    if (!usable(o->m, o->busy, "model") || !PyUnicode_FSConverter(arg, &path)) return NULL;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_model_save(o->m, NULL, PyBytes_AS_STRING(path), NULL);
    Py_END_ALLOW_THREADS Py_DECREF(path);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

static PyObject *model_close(ModelObject *o, PyObject *unused) {
    (void)unused;
    if (o->busy) return PyErr_Format(PyExc_RuntimeError, "the model is in use by another thread");
    sl_model_destroy(o->m);
    o->m = NULL;
    Py_RETURN_NONE;
}

static PyMethodDef model_methods[] = {
    {"_load", (PyCFunction)model_load, METH_VARARGS | METH_CLASS, "load(path, prefix) -> model"},
    {"_forward", (PyCFunction)model_forward, METH_VARARGS, "forward(x, train, threads, out)"},
    {"_info", (PyCFunction)model_info, METH_NOARGS, "spec, shapes and counts"},
    {"summary", (PyCFunction)model_summary, METH_NOARGS, "The layer table: shapes and parameter counts."},
    {"_tensors", (PyCFunction)model_tensors, METH_NOARGS, "[(name, shape, bytes)]"},
    {"_save", (PyCFunction)model_save, METH_O, "save(path)"},
    {"close", (PyCFunction)model_close, METH_NOARGS, "Free the model; later calls raise ValueError."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "simlearn._simlearn._Model",
    .tp_basicsize = sizeof(ModelObject),
    .tp_dealloc = (destructor)model_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "a network (see simlearn.Model)",
    .tp_methods = model_methods,
    .tp_init = (initproc)model_init,
    .tp_new = PyType_GenericNew,
};

/* ---- _Encoder ----------------------------------------------------------- */
typedef struct {
    PyObject_HEAD sl_encoder *e;
    bool busy;
} EncoderObject;

static void encoder_dealloc(EncoderObject *o) {
    sl_encoder_destroy(o->e);
    Py_TYPE(o)->tp_free((PyObject *)o);
}

/* _load(path, projector) */
static PyObject *encoder_load(PyObject *cls, PyObject *args) {
    PyObject *path;
    int projector;
    if (!PyArg_ParseTuple(args, "O&p", PyUnicode_FSConverter, &path, &projector)) return NULL;
    sl_encoder *e = NULL;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_encoder_load(PyBytes_AS_STRING(path), projector != 0, &e);
    Py_END_ALLOW_THREADS Py_DECREF(path);
    if (s) return raise_status(s);
    EncoderObject *o = (EncoderObject *)((PyTypeObject *)cls)->tp_alloc((PyTypeObject *)cls, 0);
    if (!o) return sl_encoder_destroy(e), NULL;
    o->e = e;
    return (PyObject *)o;
}

static PyObject *encoder_info(EncoderObject *o, PyObject *unused) {
    (void)unused;
    if (!usable(o->e, false, "encoder")) return NULL;
    return Py_BuildValue("{s:N,s:n,s:O,s:n}", "input_shape", shape_tuple(sl_encoder_input_shape(o->e)), "dim",
                         (Py_ssize_t)sl_encoder_dim(o->e), "has_text", sl_encoder_has_text(o->e) ? Py_True : Py_False,
                         "text_dim", (Py_ssize_t)sl_encoder_text_dim(o->e));
}

/* One embedding call without the GIL, Ctrl-C caught: n images x, or n
 * lines of text when lines is not NULL, into out. */
static sl_status encoder_run(EncoderObject *o, const float *x, const char *const *lines, size_t n, Py_ssize_t batch,
                             int normalize, int threads, float *out) {
    sl_encoder_config c;
    sl_encoder_config_default(&c);
    c.batch = (size_t)batch, c.normalize = normalize != 0, c.threads = threads, c.stop = &stop_flag;
    sigint_guard g;
    sigint_catch(&g);
    sl_status s;
    o->busy = true;
    Py_BEGIN_ALLOW_THREADS s = lines ? sl_encoder_embed_text(o->e, lines, n, &c, out) : sl_encoder_embed(o->e, x, n, &c, out);
    Py_END_ALLOW_THREADS o->busy = false;
    sigint_release(&g);
    return s;
}

/* _embed(x, batch, normalize, threads, out) */
static PyObject *encoder_embed(EncoderObject *o, PyObject *args) {
    PyObject *ox, *oo;
    Py_ssize_t batch;
    int normalize, threads;
    if (!PyArg_ParseTuple(args, "OnpiO", &ox, &batch, &normalize, &threads, &oo) ||
        !usable(o->e, o->busy, "encoder"))
        return NULL;
    if (batch < 1) return PyErr_Format(PyExc_ValueError, "batch: expected at least 1, got %zd", batch);
    sl_shape in = sl_encoder_input_shape(o->e);
    Py_buffer vx, vo;
    if (get_io(ox, oo, &vx, &vo, sl_shape_count(&in), sl_encoder_dim(o->e)) < 0) return NULL;
    sl_status s = encoder_run(o, vx.buf, NULL, rows_of(&vx), batch, normalize, threads, vo.buf);
    PyBuffer_Release(&vx), PyBuffer_Release(&vo);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

/* _embed_text(lines, batch, normalize, threads, out) */
static PyObject *encoder_embed_text(EncoderObject *o, PyObject *args) {
    PyObject *olines, *oo;
    Py_ssize_t batch;
    int normalize, threads;
    if (!PyArg_ParseTuple(args, "O!npiO", &PyList_Type, &olines, &batch, &normalize, &threads, &oo) ||
        !usable(o->e, o->busy, "encoder"))
        return NULL;
    if (batch < 1) return PyErr_Format(PyExc_ValueError, "batch: expected at least 1, got %zd", batch);
    size_t n = (size_t)PyList_GET_SIZE(olines), d = sl_encoder_text_dim(o->e);
    const char **lines = PyMem_Calloc(n ? n : 1, sizeof *lines);
    if (!lines) return PyErr_NoMemory();
    for (size_t i = 0; i < n; i++) {
        PyObject *it = PyList_GET_ITEM(olines, (Py_ssize_t)i);
        if (!PyUnicode_Check(it) || !(lines[i] = PyUnicode_AsUTF8(it))) {
            PyMem_Free(lines);
            if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "lines: item %zu is not a str", i);
            return NULL;
        }
    }
    Py_buffer vo;
    if (get_buffer(oo, &vo, "out", 'f', 2, true) < 0) return PyMem_Free(lines), NULL;
    if (d && (rows_of(&vo) != n || cols_of(&vo) != d)) {
        PyMem_Free(lines), PyBuffer_Release(&vo);
        return PyErr_Format(PyExc_ValueError, "out: expected %zu x %zu", n, d);
    }
    sl_status s = encoder_run(o, NULL, lines, n, batch, normalize, threads, vo.buf);
    PyMem_Free(lines), PyBuffer_Release(&vo);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

static PyObject *encoder_close(EncoderObject *o, PyObject *unused) {
    (void)unused;
    if (o->busy) return PyErr_Format(PyExc_RuntimeError, "the encoder is in use by another thread");
    sl_encoder_destroy(o->e);
    o->e = NULL;
    Py_RETURN_NONE;
}

static PyMethodDef encoder_methods[] = {
    {"_load", (PyCFunction)encoder_load, METH_VARARGS | METH_CLASS, "load(path, projector) -> encoder"},
    {"_info", (PyCFunction)encoder_info, METH_NOARGS, "shapes and widths"},
    {"_embed", (PyCFunction)encoder_embed, METH_VARARGS, "embed(x, batch, normalize, threads, out)"},
    {"_embed_text", (PyCFunction)encoder_embed_text, METH_VARARGS, "embed_text(lines, batch, normalize, threads, out)"},
    {"close", (PyCFunction)encoder_close, METH_NOARGS, "Free the encoder; later calls raise ValueError."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject EncoderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "simlearn._simlearn._Encoder",
    .tp_basicsize = sizeof(EncoderObject),
    .tp_dealloc = (destructor)encoder_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "a trained encoder (see simlearn.Encoder)",
    .tp_methods = encoder_methods,
    .tp_new = PyType_GenericNew,
};

/* ---- safetensors files ---------------------------------------------------
 * Tensors cross as (name, format, shape, bytes); format is the buffer
 * format of the dtype ('f' F32, 'd' F64, 'i' I32, 'q' I64, 'B' U8). */
static const char dtype_formats[] = {[SL_F32] = 'f', [SL_F64] = 'd', [SL_I32] = 'i', [SL_I64] = 'q', [SL_U8] = 'B'};
static const size_t dtype_sizes[] = {[SL_F32] = 4, [SL_F64] = 8, [SL_I32] = 4, [SL_I64] = 8, [SL_U8] = 1};

static PyObject *tensor_tuple(const char *name, const sl_array *a) {
    PyObject *shape = PyTuple_New(a->ndim);
    for (int k = 0; shape && k < a->ndim; k++) PyTuple_SET_ITEM(shape, k, PyLong_FromSize_t(a->shape[k]));
    if (!shape) return NULL;
    char fmt[2] = {dtype_formats[a->dtype], 0};
    return Py_BuildValue("(ssNy#)", name, fmt, shape, (const char *)a->data,
                         (Py_ssize_t)(sl_array_count(a) * dtype_sizes[a->dtype]));
}

/* read_safetensors(path) -> ([(name, format, shape, bytes)], {key: value}) */
PyObject *py_read_safetensors(PyObject *self, PyObject *arg) {
    (void)self;
    PyObject *path;
    if (!PyUnicode_FSConverter(arg, &path)) return NULL;
    sl_tensors *t = NULL;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_safetensors_read(PyBytes_AS_STRING(path), &t);
    Py_END_ALLOW_THREADS Py_DECREF(path);
    if (s) return raise_status(s);
    size_t n = sl_tensors_count(t), nm = sl_tensors_meta_count(t);
    PyObject *list = PyList_New((Py_ssize_t)n), *meta = PyDict_New();
    for (size_t i = 0; list && i < n; i++) {
        const char *name = sl_tensors_name(t, i);
        PyObject *v = tensor_tuple(name, sl_tensors_get(t, name));
        if (!v) Py_CLEAR(list);
        else PyList_SET_ITEM(list, (Py_ssize_t)i, v);
    }
    for (size_t i = 0; meta && i < nm; i++) {
        const char *key = sl_tensors_meta_key(t, i);
        PyObject *v = PyUnicode_FromString(sl_tensors_get_meta(t, key));
        if (!v || PyDict_SetItemString(meta, key, v) < 0) Py_CLEAR(meta);
        Py_XDECREF(v);
    }
    sl_tensors_destroy(t);
    if (!list || !meta) {
        Py_XDECREF(list), Py_XDECREF(meta);
        return NULL;
    }
    return Py_BuildValue("(NN)", list, meta);
}

/* One (name, format, shape, buffer) item into t; -1 with an exception. */
static int add_tensor(sl_tensors *t, PyObject *item) {
    const char *name, *fmt;
    PyObject *shape, *obj;
    if (!PyArg_ParseTuple(item, "ssO!O", &name, &fmt, &PyTuple_Type, &shape, &obj)) return -1;
    const char *at = strchr("fdiqB", fmt[0]);
    if (!fmt[0] || fmt[1] || !at) return PyErr_Format(PyExc_TypeError, "%s: unsupported dtype", name), -1;
    const sl_dtype types[] = {SL_F32, SL_F64, SL_I32, SL_I64, SL_U8};
    sl_dtype dt = types[at - "fdiqB"];
    int ndim = (int)PyTuple_GET_SIZE(shape);
    size_t dims[SL_MAX_DIMS], count = 1;
    if (ndim > SL_MAX_DIMS) return PyErr_Format(PyExc_ValueError, "%s: more than %d dimensions", name, SL_MAX_DIMS), -1;
    for (int k = 0; k < ndim; k++) {
        dims[k] = PyLong_AsSize_t(PyTuple_GET_ITEM(shape, k));
        if (PyErr_Occurred()) return -1;
        count *= dims[k];
    }
    Py_buffer v;
    if (PyObject_GetBuffer(obj, &v, PyBUF_C_CONTIGUOUS) < 0) return -1;
    int r = 0;
    if ((size_t)v.len != count * dtype_sizes[dt]) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes for %zu values", name, v.len, count);
        r = -1;
    } else {
        sl_status s = sl_tensors_add(t, name, dt, ndim, dims, v.buf);
        if (s) r = -1, raise_status(s);
    }
    PyBuffer_Release(&v);
    return r;
}

/* write_safetensors(path, [(name, format, shape, buffer)], {key: value}) */
PyObject *py_write_safetensors(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *path, *list, *meta;
    if (!PyArg_ParseTuple(args, "O&O!O!", PyUnicode_FSConverter, &path, &PyList_Type, &list, &PyDict_Type, &meta))
        return NULL;
    sl_tensors *t = NULL;
    sl_status s = sl_tensors_create(&t);
    int bad = s ? (raise_status(s), -1) : 0;
    for (Py_ssize_t i = 0; !bad && i < PyList_GET_SIZE(list); i++) bad = add_tensor(t, PyList_GET_ITEM(list, i));
    PyObject *key, *v;
    Py_ssize_t pos = 0;
    while (!bad && PyDict_Next(meta, &pos, &key, &v)) {
        const char *k = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        const char *val = PyUnicode_Check(v) ? PyUnicode_AsUTF8(v) : NULL;
        if (!k || !val) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "metadata: expected str keys and values");
            bad = -1;
        } else if ((s = sl_tensors_set_meta(t, k, val))) {
            raise_status(s), bad = -1;
        }
    }
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS s = sl_safetensors_write(PyBytes_AS_STRING(path), t);
        Py_END_ALLOW_THREADS if (s) raise_status(s), bad = -1;
    }
    sl_tensors_destroy(t);
    Py_DECREF(path);
    if (bad) return NULL;
    Py_RETURN_NONE;
}

static int add_type(PyObject *m, PyTypeObject *t, const char *name) {
    if (PyType_Ready(t) < 0) return -1;
    Py_INCREF(t);
    if (PyModule_AddObject(m, name, (PyObject *)t) < 0) {
        Py_DECREF(t);
        return -1;
    }
    return 0;
}

int models_add_types(PyObject *m) {
    if (add_type(m, &ModelType, "_Model") < 0 || add_type(m, &EncoderType, "_Encoder") < 0) return -1;
    return 0;
}

/* The CPython extension under `import simlearn`: training and embedding,
 * search, classifiers, geometry, maps and word vectors over the C library.
 * Arrays come in through the buffer protocol: a C-contiguous buffer of the
 * expected type (float32 matrices, int64 labels) is used in place, anything else is
 * refused with TypeError naming the argument (the Python layer, simlearn/
 * __init__.py, converts what it can first). Outputs are buffers the caller
 * allocated (numpy arrays the Python layer makes), so results own their
 * memory and nothing is copied back. Every call that can take long releases
 * the GIL; errors of the library become Python exceptions carrying its
 * message. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <pthread.h>
#include <stddef.h>
#include <signal.h>
#include <string.h>

#include "_simlearn.h"

PyMODINIT_FUNC PyInit__simlearn(void);

/* ---- errors ---------------------------------------------------------------
 * The status picks the exception class, the library's message is its text. */
PyObject *raise_status(sl_status s) {
    const char *msg = sl_error_message();
    if (!msg || !*msg) msg = sl_status_str(s);
    PyObject *type;
    switch (s) {
    case SL_ERR_NOMEM: type = PyExc_MemoryError; break;
    case SL_ERR_IO: type = PyExc_OSError; break;
    case SL_ERR_INTERRUPTED: PyErr_SetNone(PyExc_KeyboardInterrupt); return NULL;
    case SL_ERR_STATE: type = PyExc_RuntimeError; break;
    default: type = PyExc_ValueError; break;
    }
    PyErr_SetString(type, msg);
    return NULL;
}

/* ---- buffers --------------------------------------------------------------*/
static bool format_is(const char *fmt, char want) {
    if (!fmt) return want == 'B';
    if (*fmt == '<' || *fmt == '=' || *fmt == '@') fmt++;
    if (want == 'q' && (*fmt == 'l') && fmt[1] == 0 && sizeof(long) == 8) return true;
    return fmt[0] == want && fmt[1] == 0;
}

/* The element types the module takes: buffer format, size, name. */
static size_t elem_size(char want) { return want == 'f' || want == 'i' ? 4 : 8; }
static const char *elem_name(char want) {
    return want == 'f' ? "float32" : want == 'd' ? "float64" : want == 'i' ? "int32" : "int64";
}

/* A C-contiguous buffer of `want` ('f' float32, 'd' float64, 'i' int32, 'q'
 * int64) with ndim dimensions (1: rows_of is the length). */
int get_buffer(PyObject *obj, Py_buffer *view, const char *name, char want, int ndim, bool writable) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s: expected a C-contiguous%s %s array", name, writable ? " writable" : "",
                     elem_name(want));
        return -1;
    }
    if (!format_is(view->format, want) || (size_t)view->itemsize != elem_size(want) || view->ndim != ndim) {
        PyErr_Format(PyExc_TypeError, "%s: expected a %d-D %s array, got %d-D of format '%s'", name, ndim,
                     elem_name(want), view->ndim, view->format ? view->format : "B");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

size_t rows_of(const Py_buffer *v) { return v->ndim >= 1 ? (size_t)v->shape[0] : 1; }
size_t cols_of(const Py_buffer *v) { return v->ndim == 2 ? (size_t)v->shape[1] : 1; }

/* Outputs (nq x k of float32 and of int64). */
int get_outputs(PyObject *od, PyObject *oi, Py_buffer *vd, Py_buffer *vi, size_t nq, size_t k) {
    if (get_buffer(od, vd, "scores out", 'f', 2, true) < 0) return -1;
    if (get_buffer(oi, vi, "ids out", 'q', 2, true) < 0) {
        PyBuffer_Release(vd);
        return -1;
    }
    if (rows_of(vd) != nq || cols_of(vd) != k || rows_of(vi) != nq || cols_of(vi) != k) {
        PyErr_Format(PyExc_ValueError, "outputs: expected %zu x %zu", nq, k);
        PyBuffer_Release(vd), PyBuffer_Release(vi);
        return -1;
    }
    return 0;
}

int parse_metric(const char *name, sl_metric *m) {
    if (sl_metric_parse(name, m) == SL_OK) return 0;
    sl_error_clear();
    PyErr_Format(PyExc_ValueError, "metric: expected 'l2', 'ip' or 'cosine', got '%s'", name);
    return -1;
}

/* ---- Ctrl-C -------------------------------------------------------------
 * While a long call runs without the GIL, SIGINT (in the main thread only)
 * sets a flag the library polls, and the call returns SL_ERR_INTERRUPTED,
 * raised as KeyboardInterrupt; Python's handler is put back afterwards. */
static pthread_t main_thread;
volatile sig_atomic_t stop_flag;
static void on_sigint(int sig) {
    (void)sig;
    stop_flag = 1;
}

void sigint_catch(sigint_guard *g) {
    stop_flag = 0;
    g->installed = pthread_equal(pthread_self(), main_thread) != 0;
    if (!g->installed) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &g->old);
}

void sigint_release(sigint_guard *g) {
    if (g->installed) sigaction(SIGINT, &g->old, NULL);
}

/* ---- exact search ---------------------------------------------------------*/
static PyObject *py_knn(PyObject *self, PyObject *args, PyObject *kw) {
    (void)self;
    static char *names[] = {"base", "queries", "k", "metric", "exclude_self", "threads", "scores", "ids", "screen", NULL};
    PyObject *ob, *oq, *od, *oi;
    Py_ssize_t k;
    const char *metric, *screen = "auto";
    int exclude_self, threads;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOnspiOO|s", names, &ob, &oq, &k, &metric, &exclude_self, &threads,
                                     &od, &oi, &screen))
        return NULL;
    sl_flat_config cfg;
    sl_flat_config_default(&cfg);
    if (parse_metric(metric, &cfg.metric) < 0) return NULL;
    if (sl_flat_screen_parse(screen, &cfg.screen)) return raise_status(SL_ERR_ARG);
    if (k < 1) return PyErr_Format(PyExc_ValueError, "k: expected at least 1, got %zd", k);
    cfg.k = (size_t)k;
    cfg.exclude_self = exclude_self != 0;
    Py_buffer vb, vq, vd, vi;
    if (get_buffer(ob, &vb, "base", 'f', 2, false) < 0) return NULL;
    if (get_buffer(oq, &vq, "queries", 'f', 2, false) < 0) {
        PyBuffer_Release(&vb);
        return NULL;
    }
    size_t n = rows_of(&vb), d = cols_of(&vb), nq = rows_of(&vq);
    if (get_outputs(od, oi, &vd, &vi, nq, cfg.k) < 0) {
        PyBuffer_Release(&vb), PyBuffer_Release(&vq);
        return NULL;
    }
    sl_status s;
    /* Under mpirun each rank searches its part of the base (every rank
     * passes the same arrays) and all get the merged result. */
    size_t R = (size_t)sl_dist_size(), first, part;
    sl_dist_share(n, (size_t)sl_dist_rank(), R, &first, &part);
    Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
    if (R > 1)
        s = sl_flat_search_dist((const float *)vb.buf + first * d, part, first, n, d, vq.buf, nq,
                                cols_of(&vq), &cfg, vi.buf, vd.buf);
    else
        s = sl_flat_search(vb.buf, n, d, vq.buf, nq, cols_of(&vq), &cfg, vi.buf, vd.buf);
    Py_END_ALLOW_THREADS PyBuffer_Release(&vb);
    PyBuffer_Release(&vq), PyBuffer_Release(&vd), PyBuffer_Release(&vi);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

/* ---- the k-NN graph ------------------------------------------------------- */

/* knn_graph(x, k, metric, approximate, M, ef_construction, ef, seed, threads, lengths out, ids out) */
static PyObject *py_knn_graph(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ox, *od, *oi;
    Py_ssize_t k, M, efc, ef;
    unsigned long long seed;
    const char *metric;
    int approx, threads;
    if (!PyArg_ParseTuple(args, "OnspnnnKiOO", &ox, &k, &metric, &approx, &M, &efc, &ef, &seed, &threads, &od, &oi))
        return NULL;
    sl_knngraph_config c;
    sl_knngraph_config_default(&c);
    if (parse_metric(metric, &c.metric) < 0) return NULL;
    if (k < 1 || M < 2 || efc < 1 || ef < 1)
        return PyErr_Format(PyExc_ValueError, "k, M, ef_construction, ef: expected k >= 1, M >= 2 and the others >= 1");
    c.k = (size_t)k, c.approximate = approx != 0, c.M = (size_t)M, c.ef_construction = (size_t)efc;
    c.ef = (size_t)ef, c.seed = seed, c.stop = &stop_flag;
    Py_buffer vx, vd, vi;
    if (get_buffer(ox, &vx, "x", 'f', 2, false) < 0) return NULL;
    if (get_outputs(od, oi, &vd, &vi, rows_of(&vx), c.k) < 0) return PyBuffer_Release(&vx), NULL;
    sl_status s;
    sigint_guard g;
    sigint_catch(&g);
    Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
    s = sl_knngraph_build(vx.buf, rows_of(&vx), cols_of(&vx), &c, vi.buf, vd.buf);
    Py_END_ALLOW_THREADS sigint_release(&g);
    PyBuffer_Release(&vx), PyBuffer_Release(&vd), PyBuffer_Release(&vi);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

/* The graph's two arrays, n x k each: ids (int64) and lengths (float32, or
 * none when ol is NULL). */
static int graph_buffers(PyObject *oi, PyObject *ol, Py_buffer *vi, Py_buffer *vl) {
    if (get_buffer(oi, vi, "ids", 'q', 2, false) < 0) return -1;
    if (!ol) return 0;
    if (get_buffer(ol, vl, "lengths", 'f', 2, false) < 0) return PyBuffer_Release(vi), -1;
    if (rows_of(vl) != rows_of(vi) || cols_of(vl) != cols_of(vi)) {
        PyErr_Format(PyExc_ValueError, "lengths: expected %zu x %zu like ids", rows_of(vi), cols_of(vi));
        return PyBuffer_Release(vi), PyBuffer_Release(vl), -1;
    }
    return 0;
}

/* knn_graph_stats(ids) -> dict */
static PyObject *py_knn_graph_stats(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *oi;
    if (!PyArg_ParseTuple(args, "O", &oi)) return NULL;
    Py_buffer vi;
    if (graph_buffers(oi, NULL, &vi, NULL) < 0) return NULL;
    sl_knngraph_stats st;
    sl_status s = sl_knngraph_describe(vi.buf, rows_of(&vi), cols_of(&vi), &st);
    PyBuffer_Release(&vi);
    if (s) return raise_status(s);
    PyObject *hubs = PyList_New((Py_ssize_t)st.n_hubs);
    if (!hubs) return NULL;
    for (size_t h = 0; h < st.n_hubs; h++)
        PyList_SET_ITEM(hubs, (Py_ssize_t)h, Py_BuildValue("(Ln)", (long long)st.hubs[h], (Py_ssize_t)st.hub_indegree[h]));
    return Py_BuildValue("{s:n,s:n,s:n,s:d,s:n,s:d,s:n,s:N,s:d,s:n,s:n}", "indegree_min", (Py_ssize_t)st.indegree_min,
                         "indegree_max", (Py_ssize_t)st.indegree_max, "zero_indegree", (Py_ssize_t)st.zero_indegree,
                         "indegree_median", st.indegree_median, "n", (Py_ssize_t)st.n, "indegree_skew",
                         st.indegree_skew, "k", (Py_ssize_t)st.k, "hubs", hubs, "reciprocal", st.reciprocal,
                         "components", (Py_ssize_t)st.components, "largest_component",
                         (Py_ssize_t)st.largest_component);
}

/* knn_path(ids, lengths, from, to) -> (path bytes of int64 or None, length) */
static PyObject *py_knn_path(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *oi, *ol;
    long long from, to;
    if (!PyArg_ParseTuple(args, "OOLL", &oi, &ol, &from, &to)) return NULL;
    Py_buffer vi, vl;
    if (graph_buffers(oi, ol, &vi, &vl) < 0) return NULL;
    int64_t *path = NULL;
    size_t np = 0;
    double length;
    sl_status s = sl_knngraph_path(vi.buf, vl.buf, rows_of(&vi), cols_of(&vi), from, to, &path, &np, &length);
    PyBuffer_Release(&vi), PyBuffer_Release(&vl);
    if (s) return raise_status(s);
    PyObject *p = path ? PyBytes_FromStringAndSize((const char *)path, (Py_ssize_t)(np * sizeof *path)) : Py_None;
    if (!path) Py_INCREF(Py_None);
    sl_allocator_free(path);
    return p ? Py_BuildValue("(Nd)", p, length) : NULL;
}

/* knn_geodesics(ids, lengths, from int64, to int64, out float64) */
static PyObject *py_knn_geodesics(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *oi, *ol, *of, *ot, *oo;
    if (!PyArg_ParseTuple(args, "OOOOO", &oi, &ol, &of, &ot, &oo)) return NULL;
    Py_buffer vi, vl, vf, vt, vo;
    if (graph_buffers(oi, ol, &vi, &vl) < 0) return NULL;
    int got = 0;
    if (get_buffer(of, &vf, "pairs", 'q', 1, false) == 0) got = 1;
    if (got == 1 && get_buffer(ot, &vt, "pairs", 'q', 1, false) == 0) got = 2;
    if (got == 2 && get_buffer(oo, &vo, "out", 'd', 1, true) == 0) got = 3;
    sl_status s = SL_OK;
    if (got == 3 && (rows_of(&vt) != rows_of(&vf) || rows_of(&vo) != rows_of(&vf)))
        PyErr_SetString(PyExc_ValueError, "pairs: the ends and the output differ in length");
    else if (got == 3)
        s = sl_knngraph_geodesics(vi.buf, vl.buf, rows_of(&vi), cols_of(&vi), vf.buf, vt.buf, rows_of(&vf), vo.buf);
    PyBuffer_Release(&vi), PyBuffer_Release(&vl);
    if (got >= 1) PyBuffer_Release(&vf);
    if (got >= 2) PyBuffer_Release(&vt);
    if (got >= 3) PyBuffer_Release(&vo);
    if (PyErr_Occurred()) return NULL;
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

/* ---- the HNSW index ------------------------------------------------------ */
typedef struct {
    PyObject_HEAD sl_hnsw *h;
} IndexObject;

static sl_hnsw *live(IndexObject *o) {
    if (!o->h) PyErr_SetString(PyExc_ValueError, "the index is closed");
    return o->h;
}

static void index_dealloc(IndexObject *o) {
    sl_hnsw_destroy(o->h);
    Py_TYPE(o)->tp_free((PyObject *)o);
}

static int index_init(IndexObject *o, PyObject *args, PyObject *kw) {
    static char *names[] = {"dim", "metric", "M", "ef_construction", "seed", NULL};
    Py_ssize_t dim, M = 16, efc = 200;
    unsigned long long seed = 0;
    const char *metric = "l2";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "n|snnK", names, &dim, &metric, &M, &efc, &seed)) return -1;
    sl_hnsw_config cfg;
    sl_hnsw_config_default(&cfg);
    if (parse_metric(metric, &cfg.metric) < 0) return -1;
    if (dim < 1 || M < 1 || efc < 1) {
        PyErr_Format(PyExc_ValueError, "dim, M and ef_construction: expected at least 1, got %zd, %zd, %zd", dim, M,
                     efc);
        return -1;
    }
    cfg.dim = (size_t)dim, cfg.M = (size_t)M, cfg.ef_construction = (size_t)efc, cfg.seed = seed;
    sl_hnsw *h;
    sl_status s = sl_hnsw_create(&cfg, &h);
    if (s) return raise_status(s), -1;
    sl_hnsw_destroy(o->h);
    o->h = h;
    return 0;
}

/* An optional int64 vector of n values (ids, labels); 0 when obj is None. */
int get_optional_ids(PyObject *obj, Py_buffer *v, const char *name, size_t n) {
    if (obj == Py_None) return 0;
    if (get_buffer(obj, v, name, 'q', 1, false) < 0) return -1;
    if (n != (size_t)-1 && rows_of(v) != n) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zu values (one per row of x), got %zu", name, n, rows_of(v));
        PyBuffer_Release(v);
        return -1;
    }
    return 0;
}

/* _add(x, ids, labels, threads) -> the first node number (ids None) or None */
static PyObject *index_add(IndexObject *o, PyObject *args) {
    PyObject *ox, *oids, *olab;
    int threads;
    if (!PyArg_ParseTuple(args, "OOOi", &ox, &oids, &olab, &threads) || !live(o)) return NULL;
    Py_buffer vx, vk = {0}, vl = {0};
    if (get_buffer(ox, &vx, "x", 'f', 2, false) < 0) return NULL;
    const size_t dim = sl_hnsw_dim(o->h), n = rows_of(&vx);
    if (cols_of(&vx) != dim) {
        PyBuffer_Release(&vx);
        return PyErr_Format(PyExc_ValueError, "x: expected rows of %zu values, got %zu", dim, cols_of(&vx));
    }
    if (get_optional_ids(oids, &vk, "ids", n) < 0 || get_optional_ids(olab, &vl, "labels", n) < 0) {
        PyBuffer_Release(&vx);
        if (vk.obj) PyBuffer_Release(&vk);
        return NULL;
    }
    int64_t first = 0;
    sigint_guard g;
    sigint_catch(&g);
    sl_status s;
    Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
    if (vk.obj)
        s = sl_hnsw_add_keys(o->h, vx.buf, n, vk.buf, vl.obj ? vl.buf : NULL, NULL, &stop_flag);
    else
        s = sl_hnsw_add(o->h, vx.buf, n, vl.obj ? vl.buf : NULL, NULL, &stop_flag, &first);
    Py_END_ALLOW_THREADS sigint_release(&g);
    PyBuffer_Release(&vx);
    if (vk.obj) PyBuffer_Release(&vk);
    if (vl.obj) PyBuffer_Release(&vl);
    if (s) return raise_status(s);
    if (oids != Py_None) Py_RETURN_NONE;
    return PyLong_FromLongLong(first);
}

/* A search's arguments (queries, k, ef, allowed ids, labels, threads, scores
 * out, ids out), the queries checked against dim. */
typedef struct {
    Py_buffer q, allow, lab, d, i;
    Py_ssize_t k, ef;
    int threads;
    sl_hnsw_filter f;
} search_args;

static void search_args_release(search_args *a) {
    PyBuffer_Release(&a->q), PyBuffer_Release(&a->d), PyBuffer_Release(&a->i);
    if (a->allow.obj) PyBuffer_Release(&a->allow);
    if (a->lab.obj) PyBuffer_Release(&a->lab);
}

static int search_args_get(PyObject *args, size_t dim, search_args *a) {
    PyObject *oq, *oallow, *olab, *od, *oi;
    memset(a, 0, sizeof *a);
    if (!PyArg_ParseTuple(args, "OnnOOiOO", &oq, &a->k, &a->ef, &oallow, &olab, &a->threads, &od, &oi)) return -1;
    if (a->k < 1 || a->ef < 1) {
        PyErr_Format(PyExc_ValueError, "k and ef: expected at least 1, got %zd, %zd", a->k, a->ef);
        return -1;
    }
    if (get_buffer(oq, &a->q, "queries", 'f', 2, false) < 0) return -1;
    if (cols_of(&a->q) != dim) {
        PyErr_Format(PyExc_ValueError, "queries: expected rows of %zu values, got %zu", dim, cols_of(&a->q));
        PyBuffer_Release(&a->q);
        return -1;
    }
    if (get_optional_ids(oallow, &a->allow, "filter", (size_t)-1) < 0 ||
        get_optional_ids(olab, &a->lab, "labels", (size_t)-1) < 0 ||
        get_outputs(od, oi, &a->d, &a->i, rows_of(&a->q), (size_t)a->k) < 0) {
        PyBuffer_Release(&a->q);
        if (a->allow.obj) PyBuffer_Release(&a->allow);
        if (a->lab.obj) PyBuffer_Release(&a->lab);
        return -1;
    }
    if (a->allow.obj) a->f.allow_ids = a->allow.buf, a->f.n_allow_ids = rows_of(&a->allow);
    if (a->lab.obj) a->f.allow_labels = a->lab.buf, a->f.n_allow_labels = rows_of(&a->lab);
    return 0;
}

static PyObject *index_search(IndexObject *o, PyObject *args) {
    search_args a;
    if (!live(o) || search_args_get(args, sl_hnsw_dim(o->h), &a) < 0) return NULL;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS sl_threads_set(a.threads);
    s = sl_hnsw_search(o->h, a.q.buf, rows_of(&a.q), (size_t)a.k, (size_t)a.ef,
                       a.allow.obj || a.lab.obj ? &a.f : NULL, a.i.buf, a.d.buf);
    Py_END_ALLOW_THREADS search_args_release(&a);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

static PyObject *index_delete(IndexObject *o, PyObject *arg) {
    if (!live(o)) return NULL;
    Py_buffer v;
    if (get_buffer(arg, &v, "ids", 'q', 1, false) < 0) return NULL;
    sl_status s = sl_hnsw_delete(o->h, v.buf, rows_of(&v));
    PyBuffer_Release(&v);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

static PyObject *index_save(IndexObject *o, PyObject *arg) {
    PyObject *path;
    if (!live(o) || !PyUnicode_FSConverter(arg, &path)) return NULL;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_hnsw_save(o->h, PyBytes_AS_STRING(path));
    Py_END_ALLOW_THREADS Py_DECREF(path);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

static PyObject *index_load(PyObject *cls, PyObject *arg) {
    PyObject *path;
    if (!PyUnicode_FSConverter(arg, &path)) return NULL;
    sl_hnsw *h = NULL;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_hnsw_load(PyBytes_AS_STRING(path), &h);
    Py_END_ALLOW_THREADS Py_DECREF(path);
    if (s) return raise_status(s);
    IndexObject *o = (IndexObject *)((PyTypeObject *)cls)->tp_alloc((PyTypeObject *)cls, 0);
    if (!o) {
        sl_hnsw_destroy(h);
        return NULL;
    }
    o->h = h;
    return (PyObject *)o;
}

static PyObject *index_close(IndexObject *o, PyObject *unused) {
    (void)unused;
    sl_hnsw_destroy(o->h);
    o->h = NULL;
    Py_RETURN_NONE;
}

static PyObject *index_info(IndexObject *o, PyObject *unused) {
    (void)unused;
    if (!live(o)) return NULL;
    sl_hnsw_info i;
    sl_hnsw_get_info(o->h, &i);
    return Py_BuildValue("{s:n,s:s,s:n,s:n,s:n,s:n,s:i,s:L,s:n,s:O}", "dim", (Py_ssize_t)i.dim, "metric",
                         sl_metric_name(i.metric), "M", (Py_ssize_t)i.M, "ef_construction",
                         (Py_ssize_t)i.ef_construction, "size", (Py_ssize_t)i.size, "live", (Py_ssize_t)i.live,
                         "max_level", i.max_level, "entry_point", (long long)i.entry_point, "bytes",
                         (Py_ssize_t)i.bytes, "keyed", i.keyed ? Py_True : Py_False);
}

static PyObject *index_dim(IndexObject *o, PyObject *unused) {
    (void)unused;
    if (!live(o)) return NULL;
    return PyLong_FromSize_t(sl_hnsw_dim(o->h));
}

static PyObject *index_live(IndexObject *o, PyObject *unused) {
    (void)unused;
    if (!live(o)) return NULL;
    return PyLong_FromSize_t(sl_hnsw_live(o->h));
}

static PyObject *index_contains(IndexObject *o, PyObject *arg) {
    if (!live(o)) return NULL;
    long long id = PyLong_AsLongLong(arg);
    if (id == -1 && PyErr_Occurred()) return NULL;
    return PyBool_FromLong(sl_hnsw_contains(o->h, id));
}

static PyMethodDef index_methods[] = {
    {"_add", (PyCFunction)index_add, METH_VARARGS, "add(x, threads) -> first id"},
    {"_search", (PyCFunction)index_search, METH_VARARGS, "search(q, k, ef, allow, threads, scores, ids)"},
    {"_delete", (PyCFunction)index_delete, METH_O, "delete(ids)"},
    {"_save", (PyCFunction)index_save, METH_O, "save(path)"},
    {"_load", (PyCFunction)index_load, METH_O | METH_CLASS, "load(path) -> index"},
    {"close", (PyCFunction)index_close, METH_NOARGS, "Free the index; later calls raise ValueError."},
    {"info", (PyCFunction)index_info, METH_NOARGS, "The index's settings and counts, as a dict."},
    {"_contains", (PyCFunction)index_contains, METH_O, "whether an id is live"},
    {"_dim", (PyCFunction)index_dim, METH_NOARGS, "the vectors' dimension"},
    {"_live", (PyCFunction)index_live, METH_NOARGS, "the live count"},
    {NULL, NULL, 0, NULL}};

static PyTypeObject IndexType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "simlearn._simlearn._Index",
    .tp_basicsize = sizeof(IndexObject),
    .tp_dealloc = (destructor)index_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "HNSW index (see simlearn.Index)",
    .tp_methods = index_methods,
    .tp_init = (initproc)index_init,
    .tp_new = PyType_GenericNew,
};

/* ---- a sharded HNSW index ------------------------------------------------
 * Loaded whole in one process, or under mpirun one shard per rank, whose
 * searches are then collectives (every rank calls them alike). */
typedef struct {
    PyObject_HEAD sl_shards *s;
} ShardsObject;

static sl_shards *shards_live(ShardsObject *o) {
    if (!o->s) PyErr_SetString(PyExc_ValueError, "the index is closed");
    return o->s;
}

static void shards_dealloc(ShardsObject *o) {
    sl_shards_destroy(o->s);
    Py_TYPE(o)->tp_free((PyObject *)o);
}

static PyObject *shards_load(PyObject *cls, PyObject *arg) {
    PyObject *path;
    if (!PyUnicode_FSConverter(arg, &path)) return NULL;
    sl_shards *sh = NULL;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_shards_load_dist(PyBytes_AS_STRING(path), &sh);
    Py_END_ALLOW_THREADS Py_DECREF(path);
    if (s) return raise_status(s);
    ShardsObject *o = (ShardsObject *)((PyTypeObject *)cls)->tp_alloc((PyTypeObject *)cls, 0);
    if (!o) {
        sl_shards_destroy(sh);
        return NULL;
    }
    o->s = sh;
    return (PyObject *)o;
}

static PyObject *shards_search(ShardsObject *o, PyObject *args) {
    search_args a;
    sl_shards_info i;
    if (!shards_live(o)) return NULL;
    sl_shards_get_info(o->s, &i);
    if (search_args_get(args, i.dim, &a) < 0) return NULL;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS sl_threads_set(a.threads);
    s = sl_shards_search(o->s, a.q.buf, rows_of(&a.q), (size_t)a.k, (size_t)a.ef,
                         a.allow.obj || a.lab.obj ? &a.f : NULL, a.i.buf, a.d.buf);
    Py_END_ALLOW_THREADS search_args_release(&a);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

static PyObject *shards_close(ShardsObject *o, PyObject *unused) {
    (void)unused;
    sl_shards_destroy(o->s);
    o->s = NULL;
    Py_RETURN_NONE;
}

static PyObject *shards_info(ShardsObject *o, PyObject *unused) {
    (void)unused;
    if (!shards_live(o)) return NULL;
    sl_shards_info i;
    sl_shards_get_info(o->s, &i);
    PyObject *files = PyList_New((Py_ssize_t)i.shards);
    for (size_t t = 0; files && t < i.shards; t++) {
        sl_shards_entry e;
        sl_shards_get_entry(o->s, t, &e);
        PyList_SET_ITEM(files, (Py_ssize_t)t, PyUnicode_DecodeFSDefault(e.path));
    }
    if (!files) return NULL;
    return Py_BuildValue("{s:n,s:n,s:n,s:s,s:n,s:n,s:n,s:n,s:N}", "shards", (Py_ssize_t)i.shards, "rows",
                         (Py_ssize_t)i.rows, "dim", (Py_ssize_t)i.dim, "metric", sl_metric_name(i.metric), "M",
                         (Py_ssize_t)i.M, "ef_construction", (Py_ssize_t)i.ef_construction, "loaded",
                         (Py_ssize_t)i.loaded, "first_loaded", (Py_ssize_t)i.first_loaded, "files", files);
}

static PyMethodDef shards_methods[] = {
    {"_load", (PyCFunction)shards_load, METH_O | METH_CLASS, "load(manifest) -> sharded index"},
    {"_search", (PyCFunction)shards_search, METH_VARARGS, "search(q, k, ef, allow, labels, threads, scores, ids)"},
    {"close", (PyCFunction)shards_close, METH_NOARGS, "Free the shards; later calls raise ValueError."},
    {"info", (PyCFunction)shards_info, METH_NOARGS, "The manifest's settings and shards, as a dict."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject ShardsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "simlearn._simlearn._Shards",
    .tp_basicsize = sizeof(ShardsObject),
    .tp_dealloc = (destructor)shards_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "sharded HNSW index (see simlearn.ShardedIndex)",
    .tp_methods = shards_methods,
};

static PyObject *py_is_manifest(PyObject *self, PyObject *arg) {
    (void)self;
    PyObject *path;
    if (!PyUnicode_FSConverter(arg, &path)) return NULL;
    bool yes = sl_shards_is_manifest(PyBytes_AS_STRING(path));
    Py_DECREF(path);
    return PyBool_FromLong(yes);
}

static PyObject *py_index_kind(PyObject *self, PyObject *arg) {
    (void)self;
    PyObject *path;
    if (!PyUnicode_FSConverter(arg, &path)) return NULL;
    const char *k = sl_index_kind(PyBytes_AS_STRING(path));
    Py_DECREF(path);
    if (!k) Py_RETURN_NONE;
    return PyUnicode_FromString(k);
}

/* ---- geometry -------------------------------------------------------------
 * Each takes float32 C-contiguous matrices (the Python layer converts) and
 * returns Python floats; the exact ones are O(n^2 d) or O(n d^2) and release
 * the GIL. */
static PyObject *py_spectrum(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ox, *oeig;
    int threads;
    if (!PyArg_ParseTuple(args, "OOi", &ox, &oeig, &threads)) return NULL;
    Py_buffer vx, ve;
    if (get_buffer(ox, &vx, "x", 'f', 2, false) < 0) return NULL;
    if (get_buffer(oeig, &ve, "eigenvalues out", 'd', 1, true) < 0) return PyBuffer_Release(&vx), NULL;
    if (rows_of(&ve) != cols_of(&vx)) {
        PyBuffer_Release(&vx), PyBuffer_Release(&ve);
        return PyErr_Format(PyExc_ValueError, "eigenvalues out: expected %zu values", cols_of(&vx));
    }
    double erank = 0;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
    s = sl_geom_spectrum(vx.buf, rows_of(&vx), cols_of(&vx), ve.buf, &erank);
    Py_END_ALLOW_THREADS PyBuffer_Release(&vx);
    PyBuffer_Release(&ve);
    if (s) return raise_status(s);
    return PyFloat_FromDouble(erank);
}

static PyObject *py_align_uniform(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *oa, *ob;
    double t;
    int threads;
    if (!PyArg_ParseTuple(args, "OOdi", &oa, &ob, &t, &threads)) return NULL;
    Py_buffer va, vb;
    if (get_buffer(oa, &va, "a", 'f', 2, false) < 0) return NULL;
    if (get_buffer(ob, &vb, "b", 'f', 2, false) < 0) {
        PyBuffer_Release(&va);
        return NULL;
    }
    double align = 0, uniform = 0;
    sl_status s = SL_OK;
    if (rows_of(&va) != rows_of(&vb) || cols_of(&va) != cols_of(&vb)) {
        PyErr_Format(PyExc_ValueError, "b: expected the shape of a, %zu x %zu, got %zu x %zu", rows_of(&va),
                     cols_of(&va), rows_of(&vb), cols_of(&vb));
    } else {
        Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
        s = sl_geom_align_uniform(va.buf, vb.buf, rows_of(&va), cols_of(&va), t, &align, &uniform);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&va), PyBuffer_Release(&vb);
    if (PyErr_Occurred()) return NULL;
    if (s) return raise_status(s);
    return Py_BuildValue("(dd)", align, uniform);
}

static PyObject *py_uniformity(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ox;
    double t;
    Py_ssize_t max_pairs;
    unsigned long long seed;
    int threads;
    if (!PyArg_ParseTuple(args, "OdnKi", &ox, &t, &max_pairs, &seed, &threads)) return NULL;
    Py_buffer vx;
    if (get_buffer(ox, &vx, "x", 'f', 2, false) < 0) return NULL;
    double u = 0;
    size_t used = 0;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
    s = sl_geom_uniformity(vx.buf, rows_of(&vx), cols_of(&vx), t, (size_t)max_pairs, seed, &u, &used);
    Py_END_ALLOW_THREADS PyBuffer_Release(&vx);
    if (s) return raise_status(s);
    return Py_BuildValue("(dn)", u, (Py_ssize_t)used);
}

static PyObject *py_anisotropy(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ox;
    Py_ssize_t npairs;
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "OnK", &ox, &npairs, &seed)) return NULL;
    Py_buffer vx;
    if (get_buffer(ox, &vx, "x", 'f', 2, false) < 0) return NULL;
    sl_geom_aniso a;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_geom_anisotropy(vx.buf, rows_of(&vx), cols_of(&vx), (size_t)npairs, seed, &a);
    Py_END_ALLOW_THREADS PyBuffer_Release(&vx);
    if (s) return raise_status(s);
    return Py_BuildValue("{s:d,s:d,s:n,s:d}", "mean_cos", a.mean_cos, "std_cos", a.std_cos, "pairs",
                         (Py_ssize_t)a.pairs, "mean_cos_to_mean", a.mean_cos_to_mean);
}

/* ---- maps ---------------------------------------------------------------- */
static PyObject *py_pca(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ox, *oy;
    Py_ssize_t k;
    int threads;
    if (!PyArg_ParseTuple(args, "OnOi", &ox, &k, &oy, &threads)) return NULL;
    Py_buffer vx, vy;
    if (get_buffer(ox, &vx, "x", 'f', 2, false) < 0) return NULL;
    if (get_buffer(oy, &vy, "out", 'f', 2, true) < 0) {
        PyBuffer_Release(&vx);
        return NULL;
    }
    sl_pca *p = NULL;
    sl_status s = SL_OK;
    if (k < 1 || rows_of(&vy) != rows_of(&vx) || cols_of(&vy) != (size_t)k) {
        PyErr_Format(PyExc_ValueError, "out: expected %zu x %zd", rows_of(&vx), k);
    } else {
        Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
        s = sl_pca_fit(vx.buf, rows_of(&vx), cols_of(&vx), (size_t)k, &p);
        if (!s) sl_pca_transform(p, vx.buf, rows_of(&vx), vy.buf);
        Py_END_ALLOW_THREADS
    }
    PyObject *ratio = NULL;
    if (p) {
        double sum = 0;
        for (size_t i = 0; i < p->k; i++) sum += p->variance[i];
        ratio = PyFloat_FromDouble(p->total_variance > 0 ? sum / p->total_variance : 0.0);
    }
    sl_pca_destroy(p);
    PyBuffer_Release(&vx), PyBuffer_Release(&vy);
    if (PyErr_Occurred()) return Py_XDECREF(ratio), NULL;
    if (s) return raise_status(s);
    return ratio;
}

static PyObject *py_tsne(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ox, *oy;
    sl_tsne_config c;
    sl_tsne_config_default(&c);
    int init_random, threads;
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "OOddiKdpi", &ox, &oy, &c.perplexity, &c.theta, &c.max_iter, &seed,
                          &c.learning_rate, &init_random, &threads))
        return NULL;
    c.seed = seed;
    c.init = init_random ? SL_TSNE_INIT_RANDOM : SL_TSNE_INIT_PCA;
    c.stop = &stop_flag;
    if (c.max_iter <= c.exaggeration_iter) c.exaggeration_iter = c.max_iter / 4;
    Py_buffer vx, vy;
    if (get_buffer(ox, &vx, "x", 'f', 2, false) < 0) return NULL;
    if (get_buffer(oy, &vy, "out", 'f', 2, true) < 0) {
        PyBuffer_Release(&vx);
        return NULL;
    }
    sl_status s = SL_OK;
    if (rows_of(&vy) != rows_of(&vx) || cols_of(&vy) != 2) {
        PyErr_Format(PyExc_ValueError, "out: expected %zu x 2", rows_of(&vx));
    } else {
        sigint_guard g;
        sigint_catch(&g);
        Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
        s = sl_tsne_run(&c, vx.buf, rows_of(&vx), cols_of(&vx), vy.buf);
        Py_END_ALLOW_THREADS sigint_release(&g);
    }
    PyBuffer_Release(&vx), PyBuffer_Release(&vy);
    if (PyErr_Occurred()) return NULL;
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

/* ---- classifiers --------------------------------------------------------- */
static PyObject *array_f64(const double *x, size_t n) {
    PyObject *b = PyBytes_FromStringAndSize((const char *)x, (Py_ssize_t)(n * sizeof(double)));
    return b;
}

/* probe_fit(x, y, grid or None, val_fraction, standardize, seed, tol, max_iter, plateau, threads
 *           [, svm, loss, multi]) -> dict of bytes (the Python layer makes arrays of them) and
 * numbers; svm: the grid holds C values and loss / multi name the SVM's. */
static PyObject *probe_result_dict(const sl_probe_result *r) {
    const bool svm = r->model == SL_PROBE_SVM;
    return Py_BuildValue("{s:s,s:n,s:n,s:n,s:n,s:N,s:N,s:N,s:N,s:d,s:d,s:d,s:N,s:N}", "stop",
                         svm ? (r->svm_fit.unconverged ? "maxiter" : "converged") : sl_lbfgs_stop_str(r->fit.stop),
                         "iterations", (Py_ssize_t)(svm ? r->svm_fit.iterations : r->fit.iterations), "unconverged",
                         (Py_ssize_t)(svm ? r->svm_fit.unconverged : 0), "d",
                         (Py_ssize_t)r->d, "k",
                         (Py_ssize_t)r->k, "classes",
                         PyBytes_FromStringAndSize((const char *)r->classes, (Py_ssize_t)(r->k * sizeof(int64_t))),
                         "theta", array_f64(r->theta, r->k * (r->d + 1)), "mean",
                         PyBytes_FromStringAndSize((const char *)r->mean, (Py_ssize_t)(r->d * sizeof(float))),
                         "scale",
                         PyBytes_FromStringAndSize((const char *)r->scale, (Py_ssize_t)(r->d * sizeof(float))),
                         "lambda", r->lambda, "train_acc", r->train_acc, "val_acc", r->val_acc, "grid_lambda",
                         array_f64(r->grid_lambda, r->n_grid), "grid_val_acc", array_f64(r->grid_val_acc, r->n_grid));
}

static PyObject *py_probe_fit(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ox, *oy, *ol;
    sl_probe_config c;
    sl_probe_config_default(&c);
    int standardize, threads;
    unsigned long long seed;
    Py_ssize_t max_iter; /* 0: the protocol's default, as tol <= 0 and plateau < 0 */
    double tol, plateau;
    int svm = 0;
    const char *loss = "squared-hinge", *multi = "ovr";
    if (!PyArg_ParseTuple(args, "OOOdpKdndi|pss", &ox, &oy, &ol, &c.val_fraction, &standardize, &seed, &tol,
                          &max_iter, &plateau, &threads, &svm, &loss, &multi))
        return NULL;
    if (tol > 0) c.lbfgs.gtol = c.svm.tol = tol;
    if (plateau >= 0) c.lbfgs.delta = plateau;
    if (max_iter > 0) c.lbfgs.max_iter = c.svm.max_iter = (size_t)max_iter;
    if (svm) {
        c.model = SL_PROBE_SVM;
        if (sl_svm_loss_parse(loss, &c.svm.loss) || sl_svm_multi_parse(multi, &c.svm.multi)) {
            PyErr_SetString(PyExc_ValueError, sl_error_message());
            return NULL;
        }
        c.svm.seed = seed;
    }
    c.standardize = standardize != 0, c.seed = seed, c.stop = &stop_flag;
    Py_buffer vx, vy, vl = {0};
    if (get_buffer(ox, &vx, "X", 'f', 2, false) < 0) return NULL;
    if (get_buffer(oy, &vy, "y", 'q', 1, false) < 0) {
        PyBuffer_Release(&vx);
        return NULL;
    }
    if (ol != Py_None) {
        if (get_buffer(ol, &vl, svm ? "C" : "lambdas", 'd', 1, false) < 0)
            return PyBuffer_Release(&vx), PyBuffer_Release(&vy), NULL;
        c.lambdas = vl.buf, c.n_lambdas = rows_of(&vl);
    }
    sl_probe_result *r = NULL;
    sl_status s = SL_OK;
    if (rows_of(&vy) != rows_of(&vx)) {
        PyErr_Format(PyExc_ValueError, "y: expected %zu labels, got %zu", rows_of(&vx), rows_of(&vy));
    } else {
        sigint_guard g;
        sigint_catch(&g);
        Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
        s = sl_probe_run(&c, vx.buf, vy.buf, rows_of(&vx), NULL, NULL, 0, cols_of(&vx), &r);
        Py_END_ALLOW_THREADS sigint_release(&g);
    }
    PyBuffer_Release(&vx), PyBuffer_Release(&vy);
    if (vl.obj) PyBuffer_Release(&vl);
    if (PyErr_Occurred()) return NULL;
    if (s) return raise_status(s);
    PyObject *d = probe_result_dict(r);
    sl_probe_result_destroy(r);
    return d;
}

/* logreg_predict(x_standardised, theta (k x (d+1) float64), k, pred int32 out) */
static PyObject *py_logreg_predict(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ox, *ot, *op;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OOnO", &ox, &ot, &k, &op)) return NULL;
    Py_buffer vx, vt, vp;
    if (get_buffer(ox, &vx, "X", 'f', 2, false) < 0) return NULL;
    if (get_buffer(ot, &vt, "theta", 'd', 1, false) < 0) return PyBuffer_Release(&vx), NULL;
    if (get_buffer(op, &vp, "out", 'i', 1, true) < 0) return PyBuffer_Release(&vx), PyBuffer_Release(&vt), NULL;
    const size_t n = rows_of(&vx), d = cols_of(&vx);
    sl_status s = SL_OK;
    if (k < 1 || rows_of(&vt) != (size_t)k * (d + 1) || rows_of(&vp) != n) {
        PyErr_SetString(PyExc_ValueError, "X: expected the width the probe was fitted on");
    } else {
        Py_BEGIN_ALLOW_THREADS s = sl_logreg_predict(vx.buf, n, d, (size_t)k, vt.buf, vp.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&vx), PyBuffer_Release(&vt), PyBuffer_Release(&vp);
    if (PyErr_Occurred()) return NULL;
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

/* knn_classify(ids, scores, base_labels, k, vote, tau, metric, pred out) */
static PyObject *py_knn_classify(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *oi, *os, *ol, *op;
    Py_ssize_t k;
    const char *vote, *metric;
    double tau;
    if (!PyArg_ParseTuple(args, "OOOnsdsO", &oi, &os, &ol, &k, &vote, &tau, &metric, &op)) return NULL;
    sl_knn_config c;
    sl_knn_config_default(&c);
    if (parse_metric(metric, &c.metric) < 0) return NULL;
    if (sl_vote_parse(vote, &c.vote)) {
        sl_error_clear();
        return PyErr_Format(PyExc_ValueError, "vote: expected 'majority' or 'weighted', got '%s'", vote);
    }
    c.k = (size_t)k, c.tau = tau;
    Py_buffer vi, vs, vl, vp;
    if (get_buffer(oi, &vi, "ids", 'q', 2, false) < 0) return NULL;
    if (get_buffer(os, &vs, "scores", 'f', 2, false) < 0) return PyBuffer_Release(&vi), NULL;
    if (get_buffer(ol, &vl, "labels", 'q', 1, false) < 0) return PyBuffer_Release(&vi), PyBuffer_Release(&vs), NULL;
    if (get_buffer(op, &vp, "out", 'q', 1, true) < 0)
        return PyBuffer_Release(&vi), PyBuffer_Release(&vs), PyBuffer_Release(&vl), NULL;
    sl_status s = sl_knn_classify(vi.buf, vs.buf, rows_of(&vi), cols_of(&vi), vl.buf, rows_of(&vl), &c, vp.buf);
    PyBuffer_Release(&vi), PyBuffer_Release(&vs), PyBuffer_Release(&vl), PyBuffer_Release(&vp);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

/* ---- word vectors ----------------------------------------------------------
 * A _Words holds an sl_wordvecs (loaded, or exported from a training run)
 * and, once a nearest-word query asks for it, its unit-normalised copy. A
 * subword model's (a .slsw file, or a run with subwords) holds the model sw,
 * and w is then its vocabulary's vectors, owned by sw. */
typedef struct {
    PyObject_HEAD sl_wordvecs *w;
    float *unit;
    sl_words_subword *sw;
} WordsObject;

static PyTypeObject WordsType;

static void words_dealloc(WordsObject *o) {
    if (o->sw)
        sl_words_subword_destroy(o->sw);
    else
        sl_wordvecs_destroy(o->w);
    sl_allocator_free(o->unit);
    Py_TYPE(o)->tp_free((PyObject *)o);
}

PyObject *words_wrap(PyObject *cls, sl_wordvecs *w) {
    WordsObject *o = (WordsObject *)((PyTypeObject *)cls)->tp_alloc((PyTypeObject *)cls, 0);
    if (!o) {
        sl_wordvecs_destroy(w);
        return NULL;
    }
    o->w = w;
    return (PyObject *)o;
}

static sl_wordvecs *words_live(WordsObject *o) {
    if (!o->w) PyErr_SetString(PyExc_ValueError, "the word vectors are empty (use Words.load or Words.train)");
    return o->w;
}

const sl_wordvecs *words_vectors(PyObject *o) {
    if (!PyObject_TypeCheck(o, &WordsType)) {
        PyErr_SetString(PyExc_TypeError, "expected simlearn.Words");
        return NULL;
    }
    return words_live((WordsObject *)o);
}

/* A _Words around a subword model (taken). */
static PyObject *words_wrap_subword(PyObject *cls, sl_words_subword *sw) {
    WordsObject *o = (WordsObject *)((PyTypeObject *)cls)->tp_alloc((PyTypeObject *)cls, 0);
    if (!o) {
        sl_words_subword_destroy(sw);
        return NULL;
    }
    o->sw = sw;
    o->w = (sl_wordvecs *)sl_words_subword_vecs(sw);
    return (PyObject *)o;
}

static PyObject *words_load(PyObject *cls, PyObject *arg) {
    PyObject *path;
    if (!PyUnicode_FSConverter(arg, &path)) return NULL;
    sl_wordvecs *w = NULL;
    sl_words_subword *sw = NULL;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_words_subword_file(PyBytes_AS_STRING(path))
                                   ? sl_words_subword_load(PyBytes_AS_STRING(path), &sw)
                                   : sl_words_load(PyBytes_AS_STRING(path), &w);
    Py_END_ALLOW_THREADS Py_DECREF(path);
    if (s) return raise_status(s);
    return sw ? words_wrap_subword(cls, sw) : words_wrap(cls, w);
}

/* _train(corpus, dim, window, negative, epochs, min_count, sample, lr, arch (0 skip-gram, 1 CBOW, 2 sent2vec),
 * per_pair, seed, threads,
 * progress, ns_exponent, context_weight, minn, maxn, bucket, drop_bigrams (< 0: the default)) -> (words, dict of stats); lr <= 0 and
 * ns_exponent or context_weight < 0 keep the trainer's defaults */
static PyObject *words_train(PyObject *cls, PyObject *args) {
    PyObject *path;
    sl_words_config c;
    sl_words_config_default(&c);
    long long min_count;
    int arch, per_pair, progress;
    unsigned long long seed;
    double lr, ns_exponent, context_weight;
    unsigned long long bucket;
    int drop_bigrams;
    if (!PyArg_ParseTuple(args, "O&iiiiLddipKipddiiKi", PyUnicode_FSConverter, &path, &c.dim, &c.window, &c.negative,
                          &c.epochs, &min_count, &c.sample, &lr, &arch, &per_pair, &seed, &c.threads, &progress,
                          &ns_exponent, &context_weight, &c.minn, &c.maxn, &bucket, &drop_bigrams))
        return NULL;
    if (bucket > UINT32_MAX) return Py_DECREF(path), PyErr_Format(PyExc_ValueError, "bucket: %llu is too large", bucket);
    c.bucket = (uint32_t)bucket;
    c.vocab.min_count = min_count > 0 ? (uint64_t)min_count : 1;
    if (lr > 0) c.lr = lr;
    else if (arch == 2) c.lr = SL_WORDS_SENT2VEC_LR;
    else if (c.maxn > 0) c.lr = SL_WORDS_SUBWORD_LR;
    if (drop_bigrams >= 0) c.drop_bigrams = drop_bigrams;
    if (ns_exponent >= 0) c.ns_exponent = ns_exponent;
    if (context_weight >= 0) c.context_weight = context_weight;
    c.arch = arch == 1 ? SL_WORDS_CBOW : arch == 2 ? SL_WORDS_SENT2VEC : SL_WORDS_SKIPGRAM;
    c.negatives = per_pair ? SL_WORDS_PER_PAIR : SL_WORDS_SHARED;
    c.seed = seed, c.stop = &stop_flag;
    c.progress = progress ? stderr : NULL;
    sl_words_model *m = NULL;
    sl_words_stats st = {0};
    sl_wordvecs *w = NULL;
    sl_words_subword *sw = NULL;
    sigint_guard g;
    sigint_catch(&g);
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_words_train(PyBytes_AS_STRING(path), &c, &m, &st);
    if (!s) s = sl_words_model_bucket(m) > 0 ? sl_words_subword_from_model(m, &sw) : sl_words_model_export(m, &w);
    sl_words_model_destroy(m);
    Py_END_ALLOW_THREADS sigint_release(&g);
    Py_DECREF(path);
    if (s) return raise_status(s);
    PyObject *o = sw ? words_wrap_subword(cls, sw) : words_wrap(cls, w);
    if (!o) return NULL;
    return Py_BuildValue("(N{s:K,s:K,s:d,s:d,s:d,s:d})", o, "raw_words", (unsigned long long)st.raw_words, "trained",
                         (unsigned long long)st.trained, "seconds", st.seconds, "words_per_sec", st.words_per_sec,
                         "loss", st.loss, "exchange_seconds", st.exchange_seconds);
}

static PyObject *words_len(WordsObject *o, PyObject *unused) {
    (void)unused;
    return words_live(o) ? Py_BuildValue("(nn)", (Py_ssize_t)o->w->n, (Py_ssize_t)o->w->dim) : NULL;
}

static PyObject *words_list(WordsObject *o, PyObject *unused) {
    (void)unused;
    if (!words_live(o)) return NULL;
    PyObject *l = PyList_New((Py_ssize_t)o->w->n);
    for (size_t i = 0; l && i < o->w->n; i++) {
        PyObject *str = PyUnicode_DecodeUTF8(o->w->words[i], (Py_ssize_t)strlen(o->w->words[i]), "replace");
        if (!str) return Py_DECREF(l), NULL;
        PyList_SET_ITEM(l, (Py_ssize_t)i, str);
    }
    return l;
}

/* A copy of the vectors (rows from..to) as bytes. */
static PyObject *words_rows(WordsObject *o, PyObject *args) {
    Py_ssize_t from, to;
    if (!PyArg_ParseTuple(args, "nn", &from, &to) || !words_live(o)) return NULL;
    if (from < 0 || to < from || (size_t)to > o->w->n) return PyErr_Format(PyExc_IndexError, "rows %zd..%zd", from, to);
    const float *v = o->w->vecs + (size_t)from * o->w->dim;
    return PyBytes_FromStringAndSize((const char *)v, (Py_ssize_t)((size_t)(to - from) * o->w->dim * sizeof(float)));
}

static PyObject *words_lookup(WordsObject *o, PyObject *arg) {
    const char *word = PyUnicode_AsUTF8(arg);
    if (!word || !words_live(o)) return NULL;
    return PyLong_FromLong(sl_words_lookup(o->w, word));
}

/* _nearest(query float32 (dim), k, exclude int64 (m)) -> (ids bytes, sims bytes); the
 * query is a sum of unit rows (terms) or any vector. */
static PyObject *words_nearest(WordsObject *o, PyObject *args) {
    PyObject *oq, *oe;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OnO", &oq, &k, &oe) || !words_live(o)) return NULL;
    if (k < 1) return PyErr_Format(PyExc_ValueError, "k: expected at least 1, got %zd", k);
    sl_status s = SL_OK;
    if (!o->unit && (s = sl_words_unit(o->w, &o->unit))) return raise_status(s);
    Py_buffer vq, ve;
    if (get_buffer(oq, &vq, "query", 'f', 1, false) < 0) return NULL;
    if (get_buffer(oe, &ve, "exclude", 'q', 1, false) < 0) return PyBuffer_Release(&vq), NULL;
    size_t *excl = NULL, *idx = NULL, found = 0, nex = rows_of(&ve);
    float *sim = NULL;
    if (rows_of(&vq) != o->w->dim) {
        PyErr_Format(PyExc_ValueError, "query: expected %zu values, got %zu", o->w->dim, rows_of(&vq));
    } else if (!(excl = malloc((nex ? nex : 1) * sizeof *excl)) || !(idx = malloc((size_t)k * sizeof *idx)) ||
               !(sim = malloc((size_t)k * sizeof *sim))) {
        PyErr_NoMemory();
    } else {
        for (size_t i = 0; i < nex; i++) excl[i] = (size_t)((const int64_t *)ve.buf)[i];
        Py_BEGIN_ALLOW_THREADS s = sl_words_nearest(o->unit, o->w->n, o->w->dim, vq.buf, (size_t)k, excl, nex, idx,
                                                    sim, &found);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&vq), PyBuffer_Release(&ve);
    PyObject *res = NULL;
    if (!PyErr_Occurred() && !s) {
        res = PyList_New((Py_ssize_t)found);
        for (size_t i = 0; res && i < found; i++)
            PyList_SET_ITEM(res, (Py_ssize_t)i, Py_BuildValue("(nd)", (Py_ssize_t)idx[i], (double)sim[i]));
    }
    free(excl), free(idx), free(sim);
    if (s) return raise_status(s);
    return res;
}

static PyObject *words_unit_row(WordsObject *o, PyObject *arg) {
    Py_ssize_t row = PyLong_AsSsize_t(arg);
    if ((row == -1 && PyErr_Occurred()) || !words_live(o)) return NULL;
    sl_status s;
    if (!o->unit && (s = sl_words_unit(o->w, &o->unit))) return raise_status(s);
    if (row < 0 || (size_t)row >= o->w->n) return PyErr_Format(PyExc_IndexError, "row %zd", row);
    return PyBytes_FromStringAndSize((const char *)(o->unit + (size_t)row * o->w->dim),
                                     (Py_ssize_t)(o->w->dim * sizeof(float)));
}

static PyObject *words_analogy(WordsObject *o, PyObject *args) {
    PyObject *path;
    Py_ssize_t restrict_n;
    int mul;
    if (!PyArg_ParseTuple(args, "O&np", PyUnicode_FSConverter, &path, &restrict_n, &mul)) return NULL;
    if (!words_live(o)) return Py_DECREF(path), NULL;
    sl_analogy_result *r = malloc(sizeof *r);
    if (!r) return Py_DECREF(path), PyErr_NoMemory();
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_words_analogy(o->w, PyBytes_AS_STRING(path), restrict_n > 0 ? (size_t)restrict_n : 0,
                                                mul ? SL_ANALOGY_MUL : SL_ANALOGY_ADD, r);
    Py_END_ALLOW_THREADS Py_DECREF(path);
    if (s) return free(r), raise_status(s);
    PyObject *sections = PyDict_New();
    for (size_t i = 0; sections && i < r->nsections; i++) {
        PyObject *v = Py_BuildValue("(nnn)", (Py_ssize_t)r->section[i].correct, (Py_ssize_t)r->section[i].seen,
                                    (Py_ssize_t)r->section[i].total);
        if (!v || PyDict_SetItemString(sections, r->section[i].name, v) < 0) Py_CLEAR(sections);
        Py_XDECREF(v);
    }
    PyObject *d = sections ? Py_BuildValue("{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:N}", "correct", (Py_ssize_t)r->correct,
                                           "seen", (Py_ssize_t)r->seen, "total", (Py_ssize_t)r->total,
                                           "semantic_correct", (Py_ssize_t)r->sem_correct, "semantic_seen",
                                           (Py_ssize_t)r->sem_seen, "syntactic_correct", (Py_ssize_t)r->syn_correct,
                                           "syntactic_seen", (Py_ssize_t)r->syn_seen, "sections", sections)
                           : NULL;
    free(r);
    return d;
}

static PyObject *words_similarity(WordsObject *o, PyObject *arg) {
    PyObject *path;
    if (!PyUnicode_FSConverter(arg, &path)) return NULL;
    if (!words_live(o)) return Py_DECREF(path), NULL;
    sl_similarity_result r;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = o->sw ? sl_words_subword_similarity(o->sw, PyBytes_AS_STRING(path), &r)
                                     : sl_words_similarity(o->w, PyBytes_AS_STRING(path), &r);
    Py_END_ALLOW_THREADS Py_DECREF(path);
    if (s) return raise_status(s);
    if (!o->sw)
        return Py_BuildValue("{s:d,s:d,s:n,s:n}", "spearman", r.spearman, "pearson", r.pearson, "pairs",
                             (Py_ssize_t)r.pairs, "used", (Py_ssize_t)r.used);
    return Py_BuildValue("{s:d,s:d,s:n,s:n,s:n}", "spearman", r.spearman, "pearson", r.pearson, "pairs",
                         (Py_ssize_t)r.pairs, "used", (Py_ssize_t)r.used, "by_ngrams", (Py_ssize_t)r.by_ngrams);
}

/* _subword_vector(word, unit) -> (vector bytes, n-grams averaged) of a word
 * outside the vocabulary (unit: normalised as `words nearest` does), or
 * None without a subword model. */
static PyObject *words_subword_vector(WordsObject *o, PyObject *args) {
    const char *word;
    int unit;
    if (!PyArg_ParseTuple(args, "sp", &word, &unit) || !words_live(o)) return NULL;
    if (!o->sw) Py_RETURN_NONE;
    float *v = malloc(o->w->dim * sizeof *v);
    if (!v) return PyErr_NoMemory();
    size_t n = sl_words_subword_vector(o->sw, word, v, NULL);
    if (unit && n > 0) sl_rows_normalize(v, 1, o->w->dim);
    PyObject *r = Py_BuildValue("(y#n)", (const char *)v, (Py_ssize_t)(o->w->dim * sizeof *v), (Py_ssize_t)n);
    free(v);
    return r;
}

/* _subword_settings() -> (minn, maxn, bucket, lowercase) or None. */
static PyObject *words_subword_settings(WordsObject *o, PyObject *unused) {
    (void)unused;
    if (!words_live(o)) return NULL;
    if (!o->sw) Py_RETURN_NONE;
    int minn, maxn;
    uint32_t bucket;
    bool lower;
    sl_words_subword_settings(o->sw, &minn, &maxn, &bucket, &lower);
    return Py_BuildValue("(iiIO)", minn, maxn, (unsigned)bucket, lower ? Py_True : Py_False);
}

static PyObject *words_save_model(WordsObject *o, PyObject *arg) {
    PyObject *path;
    if (!PyUnicode_FSConverter(arg, &path)) return NULL;
    if (!words_live(o)) return Py_DECREF(path), NULL;
    if (!o->sw) {
        Py_DECREF(path);
        return PyErr_Format(PyExc_ValueError, "save_model: these vectors have no subword or sentence model (train "
                            "with maxn > 0 or arch='sent2vec', or load a .slsw file)");
    }
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_words_subword_save(o->sw, PyBytes_AS_STRING(path));
    Py_END_ALLOW_THREADS Py_DECREF(path);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

static PyObject *words_save(WordsObject *o, PyObject *args) {
    PyObject *path;
    int binary;
    if (!PyArg_ParseTuple(args, "O&p", PyUnicode_FSConverter, &path, &binary)) return NULL;
    if (!words_live(o)) return Py_DECREF(path), NULL;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_w2v_write(PyBytes_AS_STRING(path), o->w, binary ? SL_W2V_BINARY : SL_W2V_TEXT);
    Py_END_ALLOW_THREADS Py_DECREF(path);
    if (s) return raise_status(s);
    Py_RETURN_NONE;
}

/* _counts(path, of_vectors) -> (counts bytes, uint64 per row; total): a
 * "word count" file, or (of_vectors) the counts that come with the vectors
 * file at path (NAME.vocab of NAME.npy). */
static PyObject *words_counts(WordsObject *o, PyObject *args) {
    PyObject *path;
    int of_vectors;
    if (!PyArg_ParseTuple(args, "O&p", PyUnicode_FSConverter, &path, &of_vectors)) return NULL;
    if (!words_live(o)) return Py_DECREF(path), NULL;
    uint64_t *c = NULL, total = 0;
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = of_vectors ? sl_words_counts_load(o->w, PyBytes_AS_STRING(path), &c, &total)
                                          : sl_words_counts_read(o->w, PyBytes_AS_STRING(path), &c, &total);
    Py_END_ALLOW_THREADS Py_DECREF(path);
    if (s) return raise_status(s);
    PyObject *res = Py_BuildValue("(y#K)", (const char *)c, (Py_ssize_t)(o->w->n * sizeof *c), (unsigned long long)total);
    sl_allocator_free(c);
    return res;
}

/* _model_counts() -> (counts bytes, uint64 per row; their sum) of the subword
 * or sentence model, or None without one. */
static PyObject *words_model_counts(WordsObject *o, PyObject *unused) {
    (void)unused;
    if (!words_live(o)) return NULL;
    if (!o->sw) Py_RETURN_NONE;
    const uint64_t *c = sl_words_subword_counts(o->sw);
    unsigned long long total = 0;
    for (size_t i = 0; i < o->w->n; i++) total += c[i];
    return Py_BuildValue("(y#K)", (const char *)c, (Py_ssize_t)(o->w->n * sizeof *c), total);
}

/* _embed(lines (list of bytes), sif, a, counts int64 >= 0 (rows) or None, total, component float32 (dim) or None,
 * out float32 (lines x dim, writable), component_out float32 (dim, writable)) -> dict of stats */
static PyObject *words_embed(WordsObject *o, PyObject *args) {
    PyObject *ol, *oc, *ocomp, *oout, *ocout;
    int method;
    double a;
    unsigned long long total;
    if (!PyArg_ParseTuple(args, "O!idOKOOO", &PyList_Type, &ol, &method, &a, &oc, &total, &ocomp, &oout, &ocout) ||
        !words_live(o))
        return NULL;
    size_t n = (size_t)PyList_GET_SIZE(ol), d = o->w->dim;
    Py_buffer vc = {0}, vcomp = {0}, vout = {0}, vcout = {0};
    const char **lines = malloc((n ? n : 1) * sizeof *lines);
    if (!lines) return PyErr_NoMemory();
    for (size_t i = 0; i < n; i++) {
        PyObject *b = PyList_GET_ITEM(ol, (Py_ssize_t)i);
        if (!PyBytes_Check(b)) {
            free(lines);
            return PyErr_Format(PyExc_TypeError, "lines[%zu]: expected bytes", i);
        }
        lines[i] = PyBytes_AS_STRING(b);
    }
    sl_words_embed_config c;
    sl_words_embed_config_default(&c);
    c.method = method == 1 ? SL_WORDS_SIF : method == 2 ? SL_WORDS_MODEL_MEAN : SL_WORDS_AVG;
    c.model = o->sw;
    c.sif_a = a;
    c.total = total;
    sl_status s = SL_OK;
    if (oc != Py_None && get_buffer(oc, &vc, "counts", 'q', 1, false) < 0) goto done;
    if (ocomp != Py_None && get_buffer(ocomp, &vcomp, "component", 'f', 1, false) < 0) goto done;
    if (get_buffer(oout, &vout, "out", 'f', 2, true) < 0 || get_buffer(ocout, &vcout, "component out", 'f', 1, true) < 0)
        goto done;
    if ((oc != Py_None && rows_of(&vc) != o->w->n) || (ocomp != Py_None && rows_of(&vcomp) != d) ||
        rows_of(&vout) != n || (n && (size_t)vout.shape[1] != d) || rows_of(&vcout) != d) {
        PyErr_SetString(PyExc_ValueError, "embed: counts, component or output of the wrong size");
        goto done;
    }
    c.counts = oc != Py_None ? (const uint64_t *)vc.buf : NULL; /* non-negative int64: the same bits */
    c.component = ocomp != Py_None ? vcomp.buf : NULL;
    sl_words_embed_stats st = {0};
    Py_BEGIN_ALLOW_THREADS s = sl_words_embed(o->w, &c, lines, n, vout.buf, vcout.buf, &st);
    Py_END_ALLOW_THREADS
    if (!s) {
        free(lines);
        PyBuffer_Release(&vc), PyBuffer_Release(&vcomp), PyBuffer_Release(&vout), PyBuffer_Release(&vcout);
        return Py_BuildValue("{s:n,s:n,s:K,s:K}", "lines", (Py_ssize_t)st.lines, "empty", (Py_ssize_t)st.empty,
                             "words", (unsigned long long)st.words, "known", (unsigned long long)st.known);
    }
done:
    free(lines);
    if (vc.obj) PyBuffer_Release(&vc);
    if (vcomp.obj) PyBuffer_Release(&vcomp);
    if (vout.obj) PyBuffer_Release(&vout);
    if (vcout.obj) PyBuffer_Release(&vcout);
    return s ? raise_status(s) : NULL;
}

static PyMethodDef words_methods[] = {
    {"_load", (PyCFunction)words_load, METH_O | METH_CLASS, "load(path)"},
    {"_train", (PyCFunction)words_train, METH_VARARGS | METH_CLASS, "train(corpus, ...)"},
    {"_shape", (PyCFunction)words_len, METH_NOARGS, "(words, dim)"},
    {"_words", (PyCFunction)words_list, METH_NOARGS, "the words in row order"},
    {"_rows", (PyCFunction)words_rows, METH_VARARGS, "rows as bytes"},
    {"_lookup", (PyCFunction)words_lookup, METH_O, "row of a word or -1"},
    {"_nearest", (PyCFunction)words_nearest, METH_VARARGS, "nearest rows to a vector"},
    {"_unit_row", (PyCFunction)words_unit_row, METH_O, "a unit-normalised row as bytes"},
    {"_analogy", (PyCFunction)words_analogy, METH_VARARGS, "analogy questions"},
    {"_similarity", (PyCFunction)words_similarity, METH_O, "word-pair similarity"},
    {"_save", (PyCFunction)words_save, METH_VARARGS, "write word2vec text or binary"},
    {"_counts", (PyCFunction)words_counts, METH_VARARGS, "word counts per row, and their total"},
    {"_model_counts", (PyCFunction)words_model_counts, METH_NOARGS, "the model's word counts and their sum, or None"},
    {"_embed", (PyCFunction)words_embed, METH_VARARGS, "vectors of lines of text"},
    {"_subword_vector", (PyCFunction)words_subword_vector, METH_VARARGS, "n-gram vector of a word, or None"},
    {"_subword_settings", (PyCFunction)words_subword_settings, METH_NOARGS, "(minn, maxn, bucket, lowercase) or None"},
    {"_save_model", (PyCFunction)words_save_model, METH_O, "write the subword model (.slsw)"},
    {NULL, NULL, 0, NULL}};

static PyTypeObject WordsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "simlearn._simlearn._Words",
    .tp_basicsize = sizeof(WordsObject),
    .tp_dealloc = (destructor)words_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "word vectors (see simlearn.Words)",
    .tp_methods = words_methods,
    .tp_new = PyType_GenericNew,
};

/* ---- training and embedding ---------------------------------------------
 * The keyword arguments of simlearn.train / simlearn.embed set the fields of
 * sl_train_config / sl_embed_config through a table: name, type, offset.
 * Strings are borrowed from the argument dict, alive for the call. */
typedef struct {
    const char *name;
    char type; /* s string, z size_t, d double, i int, u uint64, I int64, b bool, f float */
    size_t off;
} field;

#define TF(n, t, f) {n, t, offsetof(sl_train_config, f)}
static const field train_fields[] = {
    TF("data", 's', data), TF("data_seed", 'u', data_seed), TF("count", 'z', data_count),
    TF("val_fraction", 'd', val_fraction), TF("image_size", 'i', image_size),
    TF("test_fraction", 'd', test_fraction), TF("channels", 'i', channels), TF("labels", 's', labels),
    TF("image_dir", 's', image_dir), TF("rotate", 'b', shapes_rotate), TF("noise", 'f', shapes_noise),
    TF("aug", 's', aug), TF("keep", 's', keep), TF("label", 's', label), TF("encoder", 's', encoder),
    TF("projector", 's', projector), TF("decoder", 's', decoder), TF("text_encoder", 's', text_encoder),
    TF("sim", 's', sim), TF("tau", 'd', tau), TF("learn_tau", 'i', learn_tau), TF("margin", 'd', margin),
    TF("mask_ratio", 'd', mask_ratio), TF("norm_pix", 'b', norm_pix), TF("barlow_lambda", 'd', barlow_lambda),
    TF("vicreg_inv", 'd', vicreg_inv), TF("vicreg_var", 'd', vicreg_var), TF("vicreg_cov", 'd', vicreg_cov),
    TF("predictor", 's', predictor), TF("ema", 'd', ema), TF("queue", 'z', queue), TF("bank_momentum", 'd', bank_momentum), TF("optim", 's', optim), TF("lr", 'd', lr),
    TF("schedule", 's', schedule), TF("wd", 'd', wd), TF("warmup", 'I', warmup), TF("min_lr", 'd', min_lr),
    TF("clip_grad", 'd', clip_grad), TF("epochs", 'z', epochs), TF("steps", 'z', steps), TF("batch", 'z', batch),
    TF("seed", 'u', seed), TF("threads", 'i', threads), TF("data_threads", 'i', data_threads), TF("out", 's', out),
    TF("log", 's', log), TF("log_every", 'z', log_every), TF("checkpoint_every", 'z', checkpoint_every),
    TF("stop_at", 'z', stop_at), TF("time_limit", 'd', time_limit), TF("resume", 's', resume),
    TF("init", 's', init), TF("init_towers", 's', init_towers), TF("init_partial", 'b', init_partial), TF("sync_bn", 'b', sync_bn),
    {NULL, 0, 0}};
#undef TF

#define EF(n, t, f) {n, t, offsetof(sl_embed_config, f)}
static const field embed_fields[] = {
    EF("model", 's', model), EF("data", 's', data), EF("data_seed", 'u', data_seed), EF("count", 'z', data_count),
    EF("val_fraction", 'd', val_fraction), EF("image_size", 'i', image_size),
    EF("test_fraction", 'd', test_fraction), EF("channels", 'i', channels), EF("labels", 's', labels),
    EF("image_dir", 's', image_dir), EF("rotate", 'b', shapes_rotate), EF("noise", 'f', shapes_noise),
    EF("text_file", 's', text_file), EF("captions", 'b', captions), EF("projector", 'b', projector),
    EF("normalize", 'b', normalize), EF("batch", 'z', batch), EF("threads", 'i', threads), {NULL, 0, 0}};
#undef EF

/* Set one field from a Python value; -1 with an exception naming it. */
static int set_field(void *cfg, const field *f, PyObject *v) {
    char *at = (char *)cfg + f->off;
    if (f->type == 's') {
        const char *str = PyUnicode_Check(v) ? PyUnicode_AsUTF8(v) : NULL;
        if (!str) return PyErr_Format(PyExc_TypeError, "%s: expected a str", f->name), -1;
        memcpy(at, &str, sizeof str);
    } else if (f->type == 'd' || f->type == 'f') {
        double x = PyFloat_AsDouble(v);
        if (x == -1.0 && PyErr_Occurred()) return PyErr_Format(PyExc_TypeError, "%s: expected a number", f->name), -1;
        if (f->type == 'f') {
            float y = (float)x;
            memcpy(at, &y, sizeof y);
        } else {
            memcpy(at, &x, sizeof x);
        }
    } else if (f->type == 'b') {
        bool b = PyObject_IsTrue(v) == 1;
        memcpy(at, &b, sizeof b);
    } else {
        long long x = PyLong_Check(v) && !PyBool_Check(v) ? PyLong_AsLongLong(v) : -1;
        if (PyErr_Occurred() || !PyLong_Check(v) || (f->type != 'I' && f->type != 'i' && x < 0)) {
            PyErr_Clear();
            return PyErr_Format(PyExc_ValueError, "%s: expected a%s integer", f->name,
                                f->type == 'I' || f->type == 'i' ? "n" : " non-negative"),
                   -1;
        }
        if (f->type == 'z') {
            size_t z = (size_t)x;
            memcpy(at, &z, sizeof z);
        } else if (f->type == 'u') {
            uint64_t u = (uint64_t)x;
            memcpy(at, &u, sizeof u);
        } else if (f->type == 'I') {
            int64_t i = (int64_t)x;
            memcpy(at, &i, sizeof i);
        } else {
            if (x < INT32_MIN || x > INT32_MAX) return PyErr_Format(PyExc_ValueError, "%s: out of range", f->name), -1;
            int i = (int)x;
            memcpy(at, &i, sizeof i);
        }
    }
    return 0;
}

/* Every key of kw must be a field, "objective"/"split" (parsed by the
 * library's parsers) or one of the extra names the caller handles. */
static int set_fields(void *cfg, const field *table, PyObject *kw, sl_objective *obj, sl_split *split) {
    PyObject *key, *v;
    Py_ssize_t pos = 0;
    while (kw && PyDict_Next(kw, &pos, &key, &v)) {
        const char *name = PyUnicode_AsUTF8(key);
        if (!name) return -1;
        if (v == Py_None || strcmp(name, "progress") == 0) continue;
        if ((obj && strcmp(name, "objective") == 0) || strcmp(name, "split") == 0) {
            const char *str = PyUnicode_Check(v) ? PyUnicode_AsUTF8(v) : NULL;
            sl_status s = !str ? SL_ERR_ARG
                               : strcmp(name, "split") == 0 ? sl_split_parse(str, split)
                                                            : sl_loss_objective_parse(str, obj);
            if (s) {
                sl_error_clear();
                return PyErr_Format(PyExc_ValueError, "%s: unknown value %R", name, v), -1;
            }
            continue;
        }
        const field *f = table;
        while (f->name && strcmp(f->name, name) != 0) f++;
        if (!f->name) return PyErr_Format(PyExc_TypeError, "unexpected keyword argument '%s'", name), -1;
        if (set_field(cfg, f, v) < 0) return -1;
    }
    return 0;
}

static PyObject *py_train(PyObject *self, PyObject *args, PyObject *kw) {
    (void)self, (void)args;
    sl_train_config c;
    sl_train_config_default(&c);
    if (set_fields(&c, train_fields, kw, &c.objective, &c.split) < 0) return NULL;
    PyObject *prog = kw ? PyDict_GetItemString(kw, "progress") : NULL;
    if (prog && PyObject_IsTrue(prog) == 1) c.progress_stream = stderr, c.progress_mode = SL_PROGRESS_AUTO;
    c.stop = &stop_flag;
    sl_trainer *t = NULL;
    sl_train_result r = {0};
    sigint_guard g;
    sigint_catch(&g);
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_trainer_create(&c, &t);
    if (!s && c.progress_stream) fprintf(stderr, "%s", sl_trainer_describe(t));
    if (!s) s = sl_trainer_run(t, &r);
    Py_END_ALLOW_THREADS sigint_release(&g);
    PyObject *d = NULL;
    if (!s)
        d = Py_BuildValue("{s:K,s:d,s:d,s:d,s:d,s:K,s:s,s:d,s:d,s:K}", "step", (unsigned long long)r.step, "loss", r.loss,
                          "mean_loss", r.mean_loss, "seconds", r.seconds, "images_per_s", r.images_per_s,
                          "last_checkpoint", (unsigned long long)r.last_checkpoint, "describe",
                          sl_trainer_describe(t), "emb_std", r.emb_std, "emb_rank", r.emb_rank, "collapse_step",
                          (unsigned long long)r.collapse_step);
    sl_trainer_destroy(t);
    if (s) return raise_status(s);
    return d;
}

/* embed(**kw) -> (bytes of n x d float32, n, d, {attribute: (bytes of int32 labels, classes)}) */
static PyObject *py_embed(PyObject *self, PyObject *args, PyObject *kw) {
    (void)self, (void)args;
    sl_embed_config c;
    sl_embed_config_default(&c);
    if (set_fields(&c, embed_fields, kw, NULL, &c.split) < 0) return NULL;
    c.stop = &stop_flag;
    sl_embedding *e = NULL;
    sigint_guard g;
    sigint_catch(&g);
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_embed_run(&c, &e);
    Py_END_ALLOW_THREADS sigint_release(&g);
    if (s) return raise_status(s);
    PyObject *attrs = PyDict_New();
    int32_t *col = malloc((e->n ? e->n : 1) * sizeof *col);
    for (int a = 0; attrs && col && a < e->n_attrs; a++) {
        for (size_t i = 0; i < e->n; i++) col[i] = e->labels[i * (size_t)e->n_attrs + (size_t)a];
        PyObject *v = Py_BuildValue("(y#i)", (const char *)col, (Py_ssize_t)(e->n * sizeof *col), e->attr_classes[a]);
        if (!v || PyDict_SetItemString(attrs, e->attr_names[a], v) < 0) Py_CLEAR(attrs);
        Py_XDECREF(v);
    }
    free(col);
    PyObject *res = attrs ? Py_BuildValue("(y#nnN)", (const char *)e->x, (Py_ssize_t)(e->n * e->d * sizeof(float)),
                                          (Py_ssize_t)e->n, (Py_ssize_t)e->d, attrs)
                          : NULL;
    sl_embedding_destroy(e);
    return res;
}

/* ---- more evaluation: retrieval, class geometry, ABTT, zero-shot --------- */

/* retrieval(base, base_labels, queries, query_labels, Ks int64, metric, exclude_self, threads)
 * -> (recall bytes, precision bytes (float64 per K), map_at_r, used) */
static PyObject *py_retrieval(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ob, *obl, *oq, *oql, *oks;
    const char *metric;
    int excl, threads;
    if (!PyArg_ParseTuple(args, "OOOOOspi", &ob, &obl, &oq, &oql, &oks, &metric, &excl, &threads)) return NULL;
    sl_retrieval_config c;
    sl_retrieval_config_default(&c);
    if (parse_metric(metric, &c.metric) < 0) return NULL;
    c.exclude_self = excl != 0, c.skip_unlabelled = true;
    Py_buffer b[5];
    const char *names[5] = {"base", "base_labels", "queries", "query_labels", "Ks"};
    PyObject *objs[5] = {ob, obl, oq, oql, oks};
    const char types[5] = {'f', 'q', 'f', 'q', 'q'};
    const int dims[5] = {2, 1, 2, 1, 1};
    int got = 0;
    for (; got < 5; got++)
        if (get_buffer(objs[got], &b[got], names[got], types[got], dims[got], false) < 0) break;
    double *rec = NULL, *prec = NULL, map = 0;
    size_t used = 0, nK = got == 5 ? rows_of(&b[4]) : 0, *Ks = NULL;
    sl_status s = SL_OK;
    if (got == 5) {
        if (rows_of(&b[1]) != rows_of(&b[0]) || rows_of(&b[3]) != rows_of(&b[2]) || cols_of(&b[2]) != cols_of(&b[0]))
            PyErr_SetString(PyExc_ValueError, "labels: expected one per row, and queries as wide as the base");
        else if (!(rec = malloc((nK + 1) * sizeof *rec)) || !(prec = malloc((nK + 1) * sizeof *prec)) ||
                 !(Ks = malloc((nK + 1) * sizeof *Ks)))
            PyErr_NoMemory();
        else {
            for (size_t i = 0; i < nK; i++) Ks[i] = (size_t)((const int64_t *)b[4].buf)[i];
            c.Ks = Ks, c.nK = nK;
            Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
            s = sl_retrieval_labelled(b[0].buf, rows_of(&b[0]), b[1].buf, b[2].buf, rows_of(&b[2]), b[3].buf,
                                      cols_of(&b[0]), &c, rec, prec, &map, &used);
            Py_END_ALLOW_THREADS
        }
    }
    for (int i = 0; i < got; i++) PyBuffer_Release(&b[i]);
    PyObject *res = NULL;
    if (!PyErr_Occurred() && !s)
        res = Py_BuildValue("(y#y#dn)", (const char *)rec, (Py_ssize_t)(nK * sizeof *rec), (const char *)prec,
                            (Py_ssize_t)(nK * sizeof *prec), map, (Py_ssize_t)used);
    free(rec), free(prec), free(Ks);
    if (s) return raise_status(s);
    return res;
}

static PyObject *py_class_geometry(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ox, *oy;
    int threads;
    if (!PyArg_ParseTuple(args, "OOi", &ox, &oy, &threads)) return NULL;
    Py_buffer vx, vy;
    if (get_buffer(ox, &vx, "x", 'f', 2, false) < 0) return NULL;
    if (get_buffer(oy, &vy, "labels", 'q', 1, false) < 0) return PyBuffer_Release(&vx), NULL;
    sl_geom_class *cl = NULL;
    size_t k = 0;
    sl_status s = SL_OK;
    if (rows_of(&vy) != rows_of(&vx)) {
        PyErr_Format(PyExc_ValueError, "labels: expected %zu, got %zu", rows_of(&vx), rows_of(&vy));
    } else {
        Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
        s = sl_geom_class_geometry(vx.buf, rows_of(&vx), cols_of(&vx), vy.buf, &cl, &k);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&vx), PyBuffer_Release(&vy);
    if (PyErr_Occurred()) return NULL;
    if (s) return raise_status(s);
    PyObject *l = PyList_New((Py_ssize_t)k);
    for (size_t i = 0; l && i < k; i++) {
        PyObject *d = Py_BuildValue("{s:L,s:n,s:d,s:d,s:L,s:O}", "label", (long long)cl[i].label, "count",
                                    (Py_ssize_t)cl[i].count, "diameter", cl[i].diameter, "margin", cl[i].margin,
                                    "nearest_label", (long long)cl[i].nearest_label, "separated",
                                    cl[i].separated ? Py_True : Py_False);
        if (!d) Py_CLEAR(l);
        else PyList_SET_ITEM(l, (Py_ssize_t)i, d);
    }
    sl_allocator_free(cl);
    return l;
}

/* abtt(x writable, D) in place; D 0: the default. Returns D used. */
static PyObject *py_abtt(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *ox;
    Py_ssize_t D;
    int threads;
    if (!PyArg_ParseTuple(args, "Oni", &ox, &D, &threads)) return NULL;
    Py_buffer vx;
    if (get_buffer(ox, &vx, "x", 'f', 2, true) < 0) return NULL;
    const size_t dd = D > 0 ? (size_t)D : sl_geom_abtt_default_D(cols_of(&vx));
    sl_status s;
    Py_BEGIN_ALLOW_THREADS sl_threads_set(threads);
    s = sl_geom_abtt(vx.buf, rows_of(&vx), cols_of(&vx), dd);
    Py_END_ALLOW_THREADS PyBuffer_Release(&vx);
    if (s) return raise_status(s);
    return PyLong_FromSize_t(dd);
}

static PyObject *strings_list(char **v, size_t n) {
    PyObject *l = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; l && i < n; i++) {
        PyObject *str = PyUnicode_FromString(v[i]);
        if (!str) return Py_DECREF(l), NULL;
        PyList_SET_ITEM(l, (Py_ssize_t)i, str);
    }
    return l;
}

static PyObject *zeroshot_dict(const sl_zeroshot_result *r) {
    return Py_BuildValue(
        "{s:s,s:N,s:N,s:n,s:n,s:d,s:d,s:d,s:y#,s:y#,s:y#,s:y#}", "attribute", r->attribute, "classes",
        strings_list(r->classes, r->k), "prompts", strings_list(r->prompts, r->k), "n", (Py_ssize_t)r->n, "correct",
        (Py_ssize_t)r->correct, "accuracy", r->accuracy, "chance", r->chance, "majority", r->majority, "predicted",
        (const char *)r->predicted, (Py_ssize_t)(r->n_items * sizeof(int32_t)), "labels", (const char *)r->labels,
        (Py_ssize_t)(r->n_items * sizeof(int32_t)), "class_accuracy", (const char *)r->class_accuracy,
        (Py_ssize_t)(r->k * sizeof(double)), "confusion", (const char *)r->confusion,
        (Py_ssize_t)(r->k * r->k * sizeof(size_t)));
}

/* zero_shot(attribute or None, prompt, classes list or None, **embed fields) */
static PyObject *py_zero_shot(PyObject *self, PyObject *args, PyObject *kw) {
    (void)self;
    PyObject *oattr, *oclasses;
    const char *prompt;
    if (!PyArg_ParseTuple(args, "OsO", &oattr, &prompt, &oclasses)) return NULL;
    sl_zeroshot_config c;
    sl_zeroshot_config_default(&c);
    if (set_fields(&c.embed, embed_fields, kw, NULL, &c.embed.split) < 0) return NULL;
    c.prompt = prompt;
    if (oattr != Py_None && !(c.attribute = PyUnicode_AsUTF8(oattr))) return NULL;
    const char **names = NULL;
    if (oclasses != Py_None) {
        Py_ssize_t n = PyList_Check(oclasses) ? PyList_GET_SIZE(oclasses) : -1;
        if (n < 0) return PyErr_Format(PyExc_TypeError, "classes: expected a list of str");
        if (!(names = malloc(((size_t)n + 1) * sizeof *names))) return PyErr_NoMemory();
        for (Py_ssize_t i = 0; i < n; i++)
            if (!(names[i] = PyUnicode_Check(PyList_GET_ITEM(oclasses, i)) ? PyUnicode_AsUTF8(PyList_GET_ITEM(oclasses, i))
                                                                           : NULL))
                return free(names), PyErr_Format(PyExc_TypeError, "classes: expected a list of str");
        c.classes = names, c.n_classes = (size_t)n;
    }
    c.stop = &stop_flag;
    sl_zeroshot_result *r = NULL;
    sigint_guard g;
    sigint_catch(&g);
    sl_status s;
    Py_BEGIN_ALLOW_THREADS s = sl_zeroshot_run(&c, &r);
    Py_END_ALLOW_THREADS sigint_release(&g);
    free(names);
    if (s) return raise_status(s);
    PyObject *d = zeroshot_dict(r);
    sl_zeroshot_result_destroy(r);
    return d;
}

/* ---- module ---------------------------------------------------------------*/
static PyObject *py_version(PyObject *self, PyObject *unused) {
    (void)self, (void)unused;
    return PyUnicode_FromString(sl_version());
}

static void dist_stop(void) { sl_dist_shutdown(); }

static PyObject *py_dist(PyObject *self, PyObject *unused) {
    (void)self, (void)unused;
    return Py_BuildValue("(ii)", sl_dist_rank(), sl_dist_size());
}

static PyMethodDef module_methods[] = {
    {"knn", (PyCFunction)(void (*)(void))py_knn, METH_VARARGS | METH_KEYWORDS, "exact top-k (see simlearn.knn)"},
    {"knn_graph", py_knn_graph, METH_VARARGS, "the k-NN graph (see simlearn.knn_graph)"},
    {"knn_graph_stats", py_knn_graph_stats, METH_VARARGS, "statistics of a k-NN graph"},
    {"knn_path", py_knn_path, METH_VARARGS, "shortest path in a k-NN graph"},
    {"knn_geodesics", py_knn_geodesics, METH_VARARGS, "shortest-path lengths of pairs"},
    {"version", py_version, METH_NOARGS, "the C library's version"},
    {"dist", py_dist, METH_NOARGS, "(rank, ranks) of a distributed run"},
    {"is_manifest", py_is_manifest, METH_O, "whether a file is a sharded index's manifest"},
    {"index_kind", py_index_kind, METH_O, "'hnsw', 'ivfpq', 'flat', 'shards' or None, from a file's start"},
    {"spectrum", py_spectrum, METH_VARARGS, "covariance spectrum and effective rank"},
    {"align_uniform", py_align_uniform, METH_VARARGS, "alignment and uniformity of two views"},
    {"uniformity", py_uniformity, METH_VARARGS, "uniformity of one set"},
    {"anisotropy", py_anisotropy, METH_VARARGS, "cosine over random pairs"},
    {"pca", py_pca, METH_VARARGS, "PCA projection; returns the explained share"},
    {"tsne", py_tsne, METH_VARARGS, "Barnes-Hut t-SNE to 2-D"},
    {"probe_fit", py_probe_fit, METH_VARARGS, "the linear probe protocol on a training set"},
    {"logreg_predict", py_logreg_predict, METH_VARARGS, "classes of standardised rows"},
    {"knn_classify", py_knn_classify, METH_VARARGS, "votes of neighbours"},
    {"train", (PyCFunction)(void (*)(void))py_train, METH_VARARGS | METH_KEYWORDS, "simlearn train"},
    {"retrieval", py_retrieval, METH_VARARGS, "labelled retrieval metrics"},
    {"class_geometry", py_class_geometry, METH_VARARGS, "class diameters and margins"},
    {"abtt", py_abtt, METH_VARARGS, "all-but-the-top, in place"},
    {"zero_shot", (PyCFunction)(void (*)(void))py_zero_shot, METH_VARARGS | METH_KEYWORDS, "CLIP zero-shot"},
    {"embed", (PyCFunction)(void (*)(void))py_embed, METH_VARARGS | METH_KEYWORDS, "simlearn embed"},
    {"read_safetensors", py_read_safetensors, METH_O, "tensors and metadata of a safetensors file"},
    {"poincare_train", py_poincare_train, METH_VARARGS, "Poincaré embeddings of an edge list"},
    {"poincare_evaluate", py_poincare_evaluate, METH_VARARGS, "mean rank and MAP of edges"},
    {"poincare_nearest", py_poincare_nearest, METH_VARARGS, "nearest rows by Poincaré distance"},
    {"poincare_distance", py_poincare_distance, METH_VARARGS, "Poincaré distance of two points"},
    {"write_safetensors", py_write_safetensors, METH_VARARGS, "write a safetensors file atomically"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_simlearn", "simlearn's C core", -1, module_methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__simlearn(void) {
    main_thread = pthread_self();
    /* Under mpirun the package is one rank of a distributed run (train
     * shares its batches among the ranks), as the CLI is. */
    if (sl_dist_init()) {
        PyErr_SetString(PyExc_ImportError, sl_error_message());
        return NULL;
    }
    if (sl_dist_size() > 1) Py_AtExit(dist_stop);
    if (PyType_Ready(&IndexType) < 0 || PyType_Ready(&WordsType) < 0 || PyType_Ready(&ShardsType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&IndexType);
    if (PyModule_AddObject(m, "_Index", (PyObject *)&IndexType) < 0) {
        Py_DECREF(&IndexType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&ShardsType);
    if (PyModule_AddObject(m, "_Shards", (PyObject *)&ShardsType) < 0) {
        Py_DECREF(&ShardsType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&WordsType);
    if (PyModule_AddObject(m, "_Words", (PyObject *)&WordsType) < 0) {
        Py_DECREF(&WordsType);
        Py_DECREF(m);
        return NULL;
    }
    if (models_add_types(m) < 0 || ivfpq_add_type(m) < 0 || flat_add_type(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

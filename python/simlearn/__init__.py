"""simlearn from Python: nearest-neighbour search over numpy arrays.

    >>> import numpy as np, simlearn
    >>> x = np.random.default_rng(0).standard_normal((1000, 32), dtype=np.float32)
    >>> scores, ids = simlearn.knn(x, x[:5], k=3)            # exact
    >>> index = simlearn.Index(32, metric="cosine")          # HNSW
    >>> index.add(x)
    >>> scores, ids = index.search(x[:5], k=3, ef=64)

Arrays: float32 C-contiguous input is used without a copy; other real dtypes
and layouts are converted once; anything else raises TypeError naming the
argument. Results are new numpy arrays. Scores follow the metric: squared
Euclidean distance for "l2" (smaller is better), inner product for "ip" and
cosine similarity for "cosine" (larger is better); rows are sorted best first,
ties by increasing id.

Long calls release the GIL and run on `threads` OpenMP threads (0 = all
cores); the thread count is that of the calling thread only. Errors of the
library raise ValueError (bad values, shapes, files), OSError (I/O),
MemoryError, RuntimeError (a state such as an empty index) or KeyError (an
unknown id), with the library's message. Ctrl-C during Index.add stops it
with KeyboardInterrupt, leaving the index valid with the rows added so far.
"""

import numpy as _np

from . import _simlearn

__all__ = ["Index", "knn", "__version__"]
__version__ = _simlearn.version()

_METRICS = ("l2", "ip", "cosine")


def _matrix(x, name, dim=None):
    """x as a 2-D float32 C-contiguous array (a 1-D array is one row)."""
    try:
        a = _np.asarray(x)
    except Exception as e:  # objects numpy cannot turn into an array
        raise TypeError(f"{name}: expected an array of numbers ({e})") from None
    if a.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected an array of real numbers, got dtype {a.dtype}")
    if a.ndim == 1:
        a = a.reshape(1, -1)
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (rows x dim), got {a.ndim}-D of shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name}: expected at least one row and one column, got shape {a.shape}")
    if dim is not None and a.shape[1] != dim:
        raise ValueError(f"{name}: expected rows of {dim} values, got {a.shape[1]}")
    return _np.ascontiguousarray(a, dtype=_np.float32)


def _ids(x, name):
    a = _np.asarray(x)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.dtype.kind not in "iu" and a.size:
        raise TypeError(f"{name}: expected integer ids, got dtype {a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of ids, got shape {a.shape}")
    return _np.ascontiguousarray(a, dtype=_np.int64)


def _metric(metric):
    if metric not in _METRICS:
        raise ValueError(f"metric: expected one of {', '.join(_METRICS)}, got {metric!r}")
    return metric


def _count(value, name, low=1):
    if isinstance(value, bool) or not isinstance(value, (int, _np.integer)):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name}: expected at least {low}, got {value}")
    return int(value)


def knn(base, queries, k, metric="l2", *, exclude_self=False, threads=0):
    """Exact k nearest neighbours of every query row among the base rows.

    Returns (scores, ids), each len(queries) x k (float32, int64). With
    exclude_self=True the queries must be the base itself (pass the same
    array, or None) and no row returns itself.
    """
    b = _matrix(base, "base")
    if exclude_self:
        if queries is not None and queries is not base:
            raise ValueError("queries: with exclude_self=True pass the base itself (or None)")
        q = b
    else:
        q = _matrix(queries, "queries", b.shape[1])
    k = _count(k, "k")
    scores = _np.empty((q.shape[0], k), dtype=_np.float32)
    ids = _np.empty((q.shape[0], k), dtype=_np.int64)
    _simlearn.knn(b, q, k, _metric(metric), bool(exclude_self), _count(threads, "threads", 0), scores, ids)
    return scores, ids


class Index(_simlearn._Index):
    """An HNSW graph index (Malkov & Yashunin) of dim-dimensional vectors.

    Index(dim, metric="l2", M=16, ef_construction=200, seed=0). Ids are given
    in insertion order (0, 1, 2, ...) and never reused; deleted ids stay
    deleted. An index may be searched from several Python threads at once;
    add and delete need it alone.
    """

    def __init__(self, dim, metric="l2", M=16, ef_construction=200, seed=0):
        super().__init__(_count(dim, "dim"), _metric(metric), _count(M, "M", 2),
                         _count(ef_construction, "ef_construction"), _count(seed, "seed", 0))

    @property
    def dim(self):
        return self.info()["dim"]

    @property
    def metric(self):
        return self.info()["metric"]

    def __len__(self):
        """The number of live (added and not deleted) vectors."""
        return self.info()["live"]

    def __contains__(self, id):
        return self._contains(int(id))

    def add(self, x, *, threads=0):
        """Add the rows of x; returns their ids (int64 array)."""
        a = _matrix(x, "x", self.dim)
        first = self._add(a, _count(threads, "threads", 0))
        return _np.arange(first, first + a.shape[0], dtype=_np.int64)

    def search(self, queries, k, ef=None, filter=None, *, threads=0):
        """(scores, ids) of the k best live vectors for each query row.

        ef: the candidate list (default max(k, 64)); larger is slower and
        more exact. filter: ids the results may contain (others are walked
        through but never returned). Rows with fewer than k results are
        padded with id -1 and score NaN.
        """
        q = _matrix(queries, "queries", self.dim)
        k = _count(k, "k")
        ef = max(k, 64) if ef is None else _count(ef, "ef")
        allow = None if filter is None else _ids(filter, "filter")
        scores = _np.empty((q.shape[0], k), dtype=_np.float32)
        ids = _np.empty((q.shape[0], k), dtype=_np.int64)
        self._search(q, k, ef, allow, _count(threads, "threads", 0), scores, ids)
        return scores, ids

    def delete(self, ids):
        """Delete ids (all or none: an unknown or deleted id raises)."""
        self._delete(_ids(ids, "ids"))

    def save(self, path):
        """Write the index to path (atomically: a failed write leaves any old file)."""
        self._save(path)

    @classmethod
    def load(cls, path):
        """Read an index written by save() or by `simlearn index build`."""
        return cls._load(path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        try:
            i = self.info()
        except ValueError:
            return "<simlearn.Index (closed)>"
        return f"<simlearn.Index dim={i['dim']} metric={i['metric']} M={i['M']} live={i['live']}>"

"""simlearn from Python: training and embedding with the CLI's trainer,
nearest-neighbour search, kNN and linear-probe classifiers, embedding
geometry, 2-D maps, word vectors, networks and trained encoders over numpy
arrays.

    >>> import numpy as np, simlearn
    >>> x = np.random.default_rng(0).standard_normal((1000, 32), dtype=np.float32)
    >>> scores, ids = simlearn.knn(x, x[:5], k=3)            # exact
    >>> index = simlearn.Index(32, metric="cosine")          # HNSW
    >>> ids = index.add(x)
    >>> scores, ids = index.search(x[:5], k=3, ef=64)
    >>> ivf = simlearn.IVFPQIndex(32, nlist=16, M=8)         # compressed
    >>> ivf.train(x); ids = ivf.add(x)
    >>> scores, ids = ivf.search(x[:5], k=3, nprobe=4)
    >>> flat = simlearn.FlatIndex(32)                        # exact, in a file
    >>> ids = flat.add(x); flat.save("x.flat")

Arrays: float32 C-contiguous input is used without a copy; other real dtypes
and layouts are converted once; anything else raises TypeError naming the
argument. Results are new numpy arrays. Scores follow the metric: squared
Euclidean distance for "l2" (smaller is better), inner product for "ip" and
cosine similarity for "cosine" (larger is better); rows are sorted best first,
ties by increasing id.

Long calls release the GIL and run on `threads` OpenMP threads (0 = all
cores); the thread count is that of the calling thread only. Errors of the
library raise ValueError (bad values, shapes, files), OSError (I/O),
MemoryError or RuntimeError (a state such as an empty index), with the
library's message; an unknown word raises KeyError. Ctrl-C during Index.add,
IVFPQIndex.train and add, tsne, LinearProbe.fit, LinearSVM.fit and Words.train stop them
with KeyboardInterrupt (add leaves the index valid with the rows added so far).
"""

import os as _os

import numpy as _np

from . import _simlearn
from .models import Encoder, Model, load_safetensors, save_safetensors

__all__ = ["Index", "ShardedIndex", "IVFPQIndex", "FlatIndex", "knn", "knn_graph", "knn_graph_stats", "knn_path", "knn_geodesics", "Model", "Encoder", "load_safetensors", "save_safetensors", "KNNClassifier", "LinearProbe", "LinearSVM", "spectrum", "effective_rank", "anisotropy",
           "uniformity", "alignment_uniformity", "pca", "tsne", "Words", "poincare_distance", "train", "embed", "zero_shot",
           "retrieval_metrics", "class_margins", "abtt", "rank", "__version__"]
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


def knn(base, queries, k, metric="l2", *, exclude_self=False, threads=0, screen="auto"):
    """Exact k nearest neighbours of every query row among the base rows.

    Returns (scores, ids), each len(queries) x k (float32, int64). With
    exclude_self=True the queries must be the base itself (pass the same
    array, or None) and no row returns itself. Under mpirun (simlearn.rank())
    every rank passes the same arrays, searches its share of the base rows,
    and all receive the merged result, the same as one process's.
    screen: the products' precision, "auto" (bf16 for large searches where
    the CPU has it), "fp32" or "bf16"; the results are the same to the bit.
    """
    if screen not in ("auto", "fp32", "bf16"):
        raise ValueError(f"screen: expected auto, fp32 or bf16, got {screen!r}")
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
    _simlearn.knn(b, q, k, _metric(metric), bool(exclude_self), _count(threads, "threads", 0), scores, ids, screen)
    return scores, ids


def knn_graph(x, k=10, metric="l2", *, approximate=False, M=16, ef_construction=200, ef=64, seed=0, threads=0):
    """The k-NN graph of the rows of x: each row's k nearest other rows, by
    exact search or (approximate=True) through an HNSW index of the rows.

    Returns (ids, lengths), each len(x) x k (int64, float32), nearest first;
    a length is the Euclidean distance (metric "l2") or 1 - cosine
    ("cosine"). The same as `simlearn knn graph`. Ctrl-C stops an
    approximate build with KeyboardInterrupt.
    """
    a = _matrix(x, "x")
    k = _count(k, "k")
    m = _metric(metric)
    ids = _np.empty((a.shape[0], k), dtype=_np.int64)
    lengths = _np.empty((a.shape[0], k), dtype=_np.float32)
    _simlearn.knn_graph(a, k, m, bool(approximate), _count(M, "M", 2), _count(ef_construction, "ef_construction"),
                        _count(ef, "ef"), _count(seed, "seed", 0), _count(threads, "threads", 0), lengths, ids)
    return ids, lengths


def knn_graph_stats(ids):
    """Statistics of a k-NN graph (ids as knn_graph returns them): in-degrees
    (min, median, max, skewness, rows in no list), the hubs as (row,
    in-degree) pairs, the share of reciprocal edges and the connected
    components of the symmetrised graph, as `simlearn knn graph` prints."""
    return _simlearn.knn_graph_stats(_np.ascontiguousarray(ids, dtype=_np.int64))


def knn_path(ids, lengths, start, end):
    """The shortest path from row start to row end in the symmetrised k-NN
    graph (Dijkstra on the lengths): (rows as an int64 array, its length),
    or (None, inf) when end cannot be reached. The same as `simlearn knn path`."""
    i = _np.ascontiguousarray(ids, dtype=_np.int64)
    w = _np.ascontiguousarray(lengths, dtype=_np.float32)
    path, length = _simlearn.knn_path(i, w, int(start), int(end))
    return (None if path is None else _np.frombuffer(path, dtype=_np.int64).copy()), length


def knn_geodesics(ids, lengths, pairs):
    """The graph (geodesic) distance of each pair of rows (an m x 2 array) in
    the symmetrised k-NN graph: float64, inf where unreachable."""
    p = _np.ascontiguousarray(pairs, dtype=_np.int64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"pairs: expected an m x 2 array, got shape {p.shape}")
    out = _np.empty(p.shape[0], dtype=_np.float64)
    _simlearn.knn_geodesics(_np.ascontiguousarray(ids, dtype=_np.int64),
                            _np.ascontiguousarray(lengths, dtype=_np.float32),
                            _np.ascontiguousarray(p[:, 0]), _np.ascontiguousarray(p[:, 1]), out)
    return out


def _search(index, queries, k, ef, filter, labels, threads):
    """Index.search and ShardedIndex.search: the arguments checked and converted."""
    q = _matrix(queries, "queries", index.dim)
    k = _count(k, "k")
    ef = max(k, 64) if ef is None else _count(ef, "ef")
    allow = None if filter is None else _ids(filter, "filter")
    lab = None if labels is None else _ids(labels, "labels")
    scores = _np.empty((q.shape[0], k), dtype=_np.float32)
    ids = _np.empty((q.shape[0], k), dtype=_np.int64)
    index._search(q, k, ef, allow, lab, _count(threads, "threads", 0), scores, ids)
    return scores, ids


class _Closing:
    """`with X(...) as x:` closes x at the end of the block."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Index(_Closing, _simlearn._Index):
    """An HNSW graph index (Malkov & Yashunin) of dim-dimensional vectors.

    Index(dim, metric="l2", M=16, ef_construction=200, seed=0). Ids are yours
    (add(x, ids=...): any int64 >= 0, each naming at most one live vector;
    a deleted id may be added again) or, without ids, the insertion order
    (0, 1, 2, ...). An index may be searched from several Python threads at
    once; add and delete need it alone.
    """

    def __init__(self, dim, metric="l2", M=16, ef_construction=200, seed=0):
        super().__init__(_count(dim, "dim"), _metric(metric), _count(M, "M", 2),
                         _count(ef_construction, "ef_construction"), _count(seed, "seed", 0))

    @property
    def dim(self):
        return self._dim()

    @property
    def metric(self):
        return self.info()["metric"]

    def __len__(self):
        """The number of live (added and not deleted) vectors."""
        return self._live()

    def __contains__(self, id):
        return self._contains(int(id))

    def add(self, x, ids=None, *, labels=None, threads=0):
        """Add the rows of x; returns their ids (int64 array).

        ids: one int64 >= 0 per row, none of them live in the index nor
        repeated (else ValueError naming it, and nothing is added); None:
        the rows' insertion numbers. labels: one int64 per row for
        search(labels=...) filters (default -1)."""
        a = _matrix(x, "x", self.dim)
        keys = None if ids is None else _ids(ids, "ids")
        lab = None if labels is None else _ids(labels, "labels")
        first = self._add(a, keys, lab, _count(threads, "threads", 0))
        if keys is not None:
            return keys.copy()
        return _np.arange(first, first + a.shape[0], dtype=_np.int64)

    def search(self, queries, k, ef=None, filter=None, *, labels=None, threads=0):
        """(scores, ids) of the k best live vectors for each query row.

        ef: the candidate list (default max(k, 64)); larger is slower and
        more exact. filter: ids the results may contain; labels: labels
        they may have (others are walked through but never returned). Rows
        with fewer than k results are padded with id -1 and score NaN.
        """
        return _search(self, queries, k, ef, filter, labels, threads)

    def delete(self, ids):
        """Delete ids (all or none: an unknown or deleted id raises)."""
        self._delete(_ids(ids, "ids"))

    def save(self, path):
        """Write the index to path (atomically: a failed write leaves any old file)."""
        self._save(path)

    @classmethod
    def load(cls, path):
        """Read an index written by save() or by `simlearn index build`.

        An IVF-PQ file gives an IVFPQIndex, a flat one a FlatIndex. A sharded index (the manifest `mpirun -np N simlearn index build`
        writes) gives a ShardedIndex: every shard in this process, or under
        mpirun one shard per rank."""
        if cls is Index and _simlearn.is_manifest(_os.fspath(path)):
            return ShardedIndex.load(path)
        if cls is Index and _simlearn.index_kind(_os.fspath(path)) == "ivfpq":
            return IVFPQIndex.load(path)
        if cls is Index and _simlearn.index_kind(_os.fspath(path)) == "flat":
            return FlatIndex.load(path)
        return cls._load(path)

    def __repr__(self):
        try:
            i = self.info()
        except ValueError:
            return "<simlearn.Index (closed)>"
        return f"<simlearn.Index dim={i['dim']} metric={i['metric']} M={i['M']} live={i['live']}>"


class ShardedIndex(_Closing, _simlearn._Shards):
    """A sharded HNSW index: the shard files a manifest names (written by
    `mpirun -np N simlearn index build`), searched shard by shard and merged
    by score, then id. ShardedIndex.load(manifest) (or Index.load) loads
    every shard in this process; under mpirun with as many ranks as shards,
    each rank loads its own shard, and search is then a collective: every
    rank calls it with the same arguments and gets the same result, the one
    a single process gives. Read-only: add and delete work on one shard file
    (simlearn.Index)."""

    @classmethod
    def load(cls, path):
        """Load the manifest at path and its shards (see the class)."""
        return cls._load(_os.fspath(path))

    @property
    def dim(self):
        return self.info()["dim"]

    @property
    def metric(self):
        return self.info()["metric"]

    def __len__(self):
        """The number of vectors over every shard."""
        return self.info()["rows"]

    def search(self, queries, k, ef=None, filter=None, *, labels=None, threads=0):
        """(scores, ids) of the k best vectors for each query row, as
        Index.search gives them, each shard searched with this k and ef."""
        return _search(self, queries, k, ef, filter, labels, threads)

    def __repr__(self):
        try:
            i = self.info()
        except ValueError:
            return "<simlearn.ShardedIndex (closed)>"
        return f"<simlearn.ShardedIndex shards={i['shards']} dim={i['dim']} metric={i['metric']} rows={i['rows']}>"


class _FileIndex(_Closing):
    """What the IVF-PQ and flat indexes share: dim, metric, len (vectors
    held), save and load."""

    @property
    def dim(self):
        return self.info()["dim"]

    @property
    def metric(self):
        return self.info()["metric"]

    def __len__(self):
        """The number of vectors held."""
        return self.info()["size"]

    def save(self, path):
        """Write the index to path (atomically: a failed write leaves any old file)."""
        self._save(path)

    @classmethod
    def load(cls, path):
        """Read an index written by save() or by `simlearn index build` (of this type)."""
        return cls._load(path)


class IVFPQIndex(_FileIndex, _simlearn._IVFPQ):
    """A compressed index: an inverted file over nlist k-means centroids
    whose lists hold product-quantisation codes of the residuals, M bytes per
    vector (Jegou, Douze & Schmid), as `simlearn index build --type ivfpq`.

    IVFPQIndex(dim, metric="l2", nlist=None, M=None, iters=25, seed=0):
    nlist None chooses 4 sqrt(n) of the training rows (at most n / 39); M
    None is dim // 8; the first dim % M sub-vectors are one value longer.
    train(x) learns the centroids and codebooks (k-means), add(x) encodes
    rows, search(queries, k, nprobe) scans the codes of the nprobe lists
    nearest each query by asymmetric distance tables. Scores are
    approximate unless rerank=N re-scores the N best exactly from base (the
    original vectors, id i in row i). Ids are yours (add(x, ids=...), int64
    >= 0, not checked for repeats) or the count of rows ever added. The
    index, its codes and its results do not depend on the thread count. May
    be searched from several Python threads at once; train, add and delete
    need it alone."""

    def __init__(self, dim, metric="l2", nlist=None, M=None, iters=25, seed=0):
        super().__init__(_count(dim, "dim"), _metric(metric), 0 if nlist is None else _count(nlist, "nlist"),
                         0 if M is None else _count(M, "M"), _count(iters, "iters"), _count(seed, "seed", 0))

    @property
    def is_trained(self):
        return self.info()["trained"]

    def train(self, x, *, threads=0):
        """Learn the coarse centroids (k-means on at most 256 * nlist rows)
        and the sub-space codebooks (k-means on the residuals of at most
        65536 rows) from x, which needs at least max(nlist, 256) rows."""
        self._train(_matrix(x, "x", self.dim), _count(threads, "threads", 0))

    def add(self, x, ids=None, *, labels=None, threads=0):
        """Encode and add the rows of x; returns their ids (int64 array).

        ids: one int64 >= 0 per row (else ValueError naming the row);
        None: the count of rows ever added before, onwards. labels: one
        int64 per row for search(labels=...) filters (default -1)."""
        a = _matrix(x, "x", self.dim)
        keys = None if ids is None else _ids(ids, "ids")
        lab = None if labels is None else _ids(labels, "labels")
        first = self._add(a, keys, lab, _count(threads, "threads", 0))
        if keys is not None:
            return keys.copy()
        return _np.arange(first, first + a.shape[0], dtype=_np.int64)

    def search(self, queries, k, nprobe=8, filter=None, *, labels=None, rerank=0, base=None, threads=0):
        """(scores, ids) of the k best vectors for each query row.

        nprobe: lists scanned per query (more is slower and more exact).
        rerank: 0, or at least k: re-score that many best codes exactly
        from base (a float32 matrix whose row i is the vector of id i).
        filter: ids the results may contain; labels: labels they may have.
        Rows with fewer than k results are padded with id -1 and score NaN."""
        q = _matrix(queries, "queries", self.dim)
        k = _count(k, "k")
        b = None if base is None else _matrix(base, "base", self.dim)
        allow = None if filter is None else _ids(filter, "filter")
        lab = None if labels is None else _ids(labels, "labels")
        scores = _np.empty((q.shape[0], k), dtype=_np.float32)
        ids = _np.empty((q.shape[0], k), dtype=_np.int64)
        self._search(q, k, _count(nprobe, "nprobe"), _count(rerank, "rerank", 0), b, allow, lab,
                     _count(threads, "threads", 0), scores, ids)
        return scores, ids

    def delete(self, ids):
        """Remove every vector with one of these ids (all checked first: an
        id no vector has raises ValueError and nothing is removed); returns
        the count removed."""
        return self._delete(_ids(ids, "ids"))

    def reconstruct(self, id):
        """The index's approximation of the vector with this id: its
        centroid plus its codewords (float32; KeyError when absent)."""
        out = _np.empty(self.dim, dtype=_np.float32)
        self._reconstruct(int(id), out)
        return out

    def __repr__(self):
        try:
            i = self.info()
        except ValueError:
            return "<simlearn.IVFPQIndex (closed)>"
        return (f"<simlearn.IVFPQIndex dim={i['dim']} metric={i['metric']} nlist={i['nlist']} M={i['M']} "
                f"size={i['size']}>")


class FlatIndex(_FileIndex, _simlearn._Flat):
    """An exact index kept as a file: the vectors themselves (float32) with
    their ids and labels, searched exhaustively, as `simlearn index build
    --type flat`. Its results are those of simlearn.knn over the vectors
    held (the same ids and scores, ties by increasing id), for every thread
    count; filters, delete and add work as with the other indexes.

    FlatIndex(dim, metric="l2"). Ids are yours (add(x, ids=...), int64 >= 0,
    distinct from those held) or the count of rows ever added. Under mpirun
    search is a collective: every rank calls it with the same arguments,
    searches a share of the queries, and gets every result. May be searched
    from several Python threads at once; add and delete need it alone."""

    def __init__(self, dim, metric="l2"):
        super().__init__(_count(dim, "dim"), _metric(metric))

    def add(self, x, ids=None, *, labels=None):
        """Add the rows of x; returns their ids (int64 array). ids: one
        int64 >= 0 per row, distinct and not held (else ValueError naming
        the row); None: the count of rows ever added before, onwards.
        labels: one int64 per row for search(labels=...) filters (default -1)."""
        a = _matrix(x, "x", self.dim)
        keys = None if ids is None else _ids(ids, "ids")
        lab = None if labels is None else _ids(labels, "labels")
        first = self._add(a, keys, lab)
        if keys is not None:
            return keys.copy()
        return _np.arange(first, first + a.shape[0], dtype=_np.int64)

    def search(self, queries, k, filter=None, *, labels=None, threads=0):
        """(scores, ids) of the k best vectors for each query row, exactly.
        filter: ids the results may contain; labels: labels they may have.
        Rows with fewer than k allowed vectors are padded with id -1 and
        score NaN."""
        q = _matrix(queries, "queries", self.dim)
        k = _count(k, "k")
        allow = None if filter is None else _ids(filter, "filter")
        lab = None if labels is None else _ids(labels, "labels")
        scores = _np.empty((q.shape[0], k), dtype=_np.float32)
        ids = _np.empty((q.shape[0], k), dtype=_np.int64)
        self._search(q, k, allow, lab, _count(threads, "threads", 0), scores, ids)
        return scores, ids

    def delete(self, ids):
        """Remove the vectors with these ids (all checked first: an id no
        vector has raises ValueError and nothing is removed); returns the
        count removed."""
        return self._delete(_ids(ids, "ids"))

    def get(self, id):
        """The stored vector with this id (float32; KeyError when absent)."""
        out = _np.empty(self.dim, dtype=_np.float32)
        self._get(int(id), out)
        return out

    def __repr__(self):
        try:
            i = self.info()
        except ValueError:
            return "<simlearn.FlatIndex (closed)>"
        return f"<simlearn.FlatIndex dim={i['dim']} metric={i['metric']} size={i['size']}>"


# ---- geometry (simlearn geometry) ------------------------------------------


def spectrum(x, *, threads=0):
    """(eigenvalues, effective rank) of the covariance of x's rows: the
    eigenvalues in descending order (float64), and exp of the entropy of
    their normalised values (Roy & Vetterli)."""
    a = _matrix(x, "x")
    eig = _np.empty(a.shape[1], dtype=_np.float64)
    erank = _simlearn.spectrum(a, eig, _count(threads, "threads", 0))
    return eig, erank


def effective_rank(x, *, threads=0):
    """The effective rank of x's covariance spectrum (1 .. dim)."""
    return spectrum(x, threads=threads)[1]


def anisotropy(x, pairs=100000, seed=0):
    """Cosine similarity over `pairs` random pairs of distinct rows (rows of
    norm 0 skipped): a dict with mean_cos, std_cos, pairs and
    mean_cos_to_mean (the mean cosine between a row and the mean vector)."""
    return _simlearn.anisotropy(_matrix(x, "x"), _count(pairs, "pairs"), _count(seed, "seed", 0))


def uniformity(x, t=2.0, max_pairs=100000, seed=0, *, threads=0):
    """log E exp(-t ||f(x) - f(y)||^2) over pairs of L2-normalised rows
    (Wang & Isola; lower is more uniform): exact over all pairs when there
    are at most max_pairs, else over max_pairs random ones."""
    u, _ = _simlearn.uniformity(_matrix(x, "x"), float(t), _count(max_pairs, "max_pairs"), _count(seed, "seed", 0),
                                _count(threads, "threads", 0))
    return u


def alignment_uniformity(a, b, t=2.0, *, threads=0):
    """(alignment, uniformity) of two views, row i of a and of b a positive
    pair, on L2-normalised rows: alignment = E ||a_i - b_i||^2, uniformity the
    mean of the two views' exact uniformities (what the training log
    records)."""
    x = _matrix(a, "a")
    return _simlearn.align_uniform(x, _matrix(b, "b", x.shape[1]), float(t), _count(threads, "threads", 0))


# ---- maps (simlearn map) -----------------------------------------------------


def pca(x, k=2, *, threads=0):
    """The rows of x projected on their first k principal components
    (float32, n x k)."""
    a = _matrix(x, "x")
    out = _np.empty((a.shape[0], _count(k, "k")), dtype=_np.float32)
    _simlearn.pca(a, k, out, _count(threads, "threads", 0))
    return out


def tsne(x, perplexity=30.0, *, seed=1, max_iter=1000, theta=0.5, learning_rate=None, init="pca", threads=0):
    """Barnes-Hut t-SNE of the rows of x to 2-D (float32, n x 2), the map of
    `simlearn map --method tsne`: the same input and seed give the same map
    whatever the thread count. Needs more than 3 * perplexity + 1 rows.
    Ctrl-C stops it with KeyboardInterrupt."""
    if init not in ("pca", "random"):
        raise ValueError(f"init: expected 'pca' or 'random', got {init!r}")
    a = _matrix(x, "x")
    out = _np.empty((a.shape[0], 2), dtype=_np.float32)
    lr = 0.0 if learning_rate is None else float(learning_rate)
    _simlearn.tsne(a, out, float(perplexity), float(theta), _count(max_iter, "max_iter"), _count(seed, "seed", 0), lr,
                   init == "random", _count(threads, "threads", 0))
    return out


# ---- classifiers on frozen features (simlearn knn, simlearn probe) ------------


def _labels(y, name, n):
    a = _np.asarray(y)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer labels, got dtype {a.dtype}")
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError(f"{name}: expected {n} labels in a 1-D array, got shape {a.shape}")
    return _np.ascontiguousarray(a, dtype=_np.int64)


class _Estimator:
    """get_params / set_params / score in scikit-learn's manner."""

    _params = ()

    def get_params(self, deep=True):
        return {p: getattr(self, p) for p in self._params}

    def set_params(self, **params):
        for p, v in params.items():
            if p not in self._params:
                raise ValueError(f"{type(self).__name__}: unknown parameter {p!r}")
            setattr(self, p, v)
        return self

    def score(self, X, y):
        """Accuracy of predict(X) against the integer labels y."""
        pred = self.predict(X)
        return float(_np.mean(pred == _labels(y, "y", pred.shape[0])))

    def __repr__(self):
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self._params)
        return f"{type(self).__name__}({args})"


class KNNClassifier(_Estimator):
    """The k nearest training rows vote on each row's label (exact search).

    vote="majority" (one vote each) or "weighted" (exp(s / tau), s the
    similarity; Wu et al. 2018); ties go to the smallest label."""

    _params = ("k", "vote", "tau", "metric", "threads")

    def __init__(self, k=20, vote="majority", tau=0.07, metric="cosine", threads=0):
        self.k, self.vote, self.tau, self.metric, self.threads = k, vote, tau, metric, threads

    def fit(self, X, y):
        self._X = _matrix(X, "X")
        self._y = _labels(y, "y", self._X.shape[0])
        self.classes_ = _np.unique(self._y)
        return self

    def predict(self, X):
        if not hasattr(self, "_X"):
            raise RuntimeError("KNNClassifier: call fit first")
        k = min(_count(self.k, "k"), self._X.shape[0])
        scores, ids = knn(self._X, _matrix(X, "X", self._X.shape[1]), k, self.metric, threads=self.threads)
        pred = _np.empty(ids.shape[0], dtype=_np.int64)
        _simlearn.knn_classify(ids, scores, self._y, k, self.vote, float(self.tau), self.metric, pred)
        return pred


class LinearProbe(_Estimator):
    """Multinomial logistic regression on standardised features, its L2
    strength chosen on a held-out share of the training rows (the protocol
    of `simlearn probe`), then refitted on all of them. L-BFGS stops when
    the largest gradient entry of the mean loss is at most tol (default
    1e-4), after max_iter iterations (default 100), or when the loss falls
    by less than the fraction plateau over 10 iterations (default 1e-3;
    0 turns it off): the defaults of `simlearn probe --tol --max-iter
    --plateau`, since a probe needs the accuracy of the optimum, not its
    last digits.

    After fit: classes_ (the label values), lambda_ (the chosen strength),
    coef_ (classes x dim) and intercept_ on the standardised features,
    mean_ and scale_ (x_std = (x - mean_) / scale_), train_accuracy_,
    validation_accuracy_, n_iter_ and stop_ (the final fit's L-BFGS
    iterations and why it stopped).
    Ctrl-C stops fit with KeyboardInterrupt."""

    _params = ("lambdas", "val_fraction", "standardize", "seed", "tol", "max_iter", "plateau", "threads")

    def __init__(self, lambdas=None, val_fraction=0.1, standardize=True, seed=1, tol=None, max_iter=None,
                 plateau=None, threads=0):
        self.lambdas, self.val_fraction, self.standardize = lambdas, val_fraction, standardize
        self.seed, self.tol, self.max_iter, self.plateau, self.threads = seed, tol, max_iter, plateau, threads

    def fit(self, X, y):
        x = _matrix(X, "X")
        lam = None if self.lambdas is None else _np.ascontiguousarray(self.lambdas, dtype=_np.float64).reshape(-1)
        r = _simlearn.probe_fit(x, _labels(y, "y", x.shape[0]), lam, float(self.val_fraction),
                                bool(self.standardize), _count(self.seed, "seed", 0), self._tol(),
                                0 if self.max_iter is None else _count(self.max_iter, "max_iter"),
                                self._plateau(), _count(self.threads, "threads", 0))
        self._set_fitted(r)
        self.lambda_ = r["lambda"]
        self.stop_ = r["stop"]
        return self

    def _set_fitted(self, r):
        k, d = r["k"], r["d"]
        self.classes_ = _np.frombuffer(r["classes"], dtype=_np.int64).copy()
        self._theta = _np.frombuffer(r["theta"], dtype=_np.float64).copy()
        self.coef_ = self._theta[: k * d].reshape(k, d)
        self.intercept_ = self._theta[k * d:]
        self.mean_ = _np.frombuffer(r["mean"], dtype=_np.float32).copy()
        self.scale_ = _np.frombuffer(r["scale"], dtype=_np.float32).copy()
        self.train_accuracy_, self.validation_accuracy_ = r["train_acc"], r["val_acc"]
        self.n_iter_ = r["iterations"]
        self.grid_ = dict(zip(_np.frombuffer(r["grid_lambda"]), _np.frombuffer(r["grid_val_acc"])))

    def _tol(self):
        if self.tol is None:
            return 0.0
        if not float(self.tol) > 0:
            raise ValueError(f"tol: expected a positive number, got {self.tol!r}")
        return float(self.tol)

    def _plateau(self):
        if self.plateau is None:
            return -1.0
        if not float(self.plateau) >= 0:
            raise ValueError(f"plateau: expected a number >= 0, got {self.plateau!r}")
        return float(self.plateau)

    def predict(self, X):
        if not hasattr(self, "_theta"):
            raise RuntimeError(f"{type(self).__name__}: call fit first")
        x = _matrix(X, "X", self.mean_.shape[0])
        xs = _np.ascontiguousarray((x - self.mean_) / self.scale_, dtype=_np.float32)
        ids = _np.empty(x.shape[0], dtype=_np.int32)
        _simlearn.logreg_predict(xs, self._theta, self.classes_.shape[0], ids)
        return self.classes_[ids]


class LinearSVM(LinearProbe):
    """A linear SVM on standardised features, trained by dual coordinate
    descent (liblinear's method): one-vs-rest with the squared hinge (the
    default, as scikit-learn's LinearSVC) or hinge loss, or Crammer-Singer's
    joint problem (multi_class="crammer-singer"). The bias is the weight of
    a constant feature 1, regularised like the others. C (a number or a
    list; default 1e-4, 1e-3, 1e-2, 0.1, 1) is chosen on a held-out share of
    the training rows as LinearProbe chooses its strength, then the model is
    refitted on all rows: the protocol of `simlearn probe --model svm`.
    Coordinate descent stops when the dual's projected gradient spreads less
    than tol (default 0.1, liblinear's) or after max_iter passes (default 1000).

    After fit: classes_, C_ (the chosen C), grid_ (validation accuracy per
    C), coef_, intercept_, mean_, scale_, train_accuracy_,
    validation_accuracy_, n_iter_ (the final fit's passes, the largest over
    its problems) and converged_. Ctrl-C stops fit with KeyboardInterrupt."""

    _params = ("C", "loss", "multi_class", "val_fraction", "standardize", "seed", "tol", "max_iter", "threads")

    def __init__(self, C=None, loss="squared-hinge", multi_class="ovr", val_fraction=0.1, standardize=True, seed=1,
                 tol=None, max_iter=None, threads=0):
        self.C, self.loss, self.multi_class = C, loss, multi_class
        self.val_fraction, self.standardize, self.seed = val_fraction, standardize, seed
        self.tol, self.max_iter, self.threads = tol, max_iter, threads

    def fit(self, X, y):
        x = _matrix(X, "X")
        if not isinstance(self.loss, str) or not isinstance(self.multi_class, str):
            raise ValueError("loss and multi_class: expected names")
        cs = None if self.C is None else _np.ascontiguousarray(self.C, dtype=_np.float64).reshape(-1)
        r = _simlearn.probe_fit(x, _labels(y, "y", x.shape[0]), cs, float(self.val_fraction),
                                bool(self.standardize), _count(self.seed, "seed", 0), self._tol(),
                                0 if self.max_iter is None else _count(self.max_iter, "max_iter"), -1.0,
                                _count(self.threads, "threads", 0), True, self.loss, self.multi_class)
        self._set_fitted(r)
        self.C_ = r["lambda"]
        self.converged_ = r["unconverged"] == 0
        return self


# ---- word vectors (simlearn words) --------------------------------------------


class Words(_simlearn._Words):
    """Word vectors: Words.load(path) (word2vec text or binary, fastText .vec,
    NAME.npy with NAME.vocab, or a subword model .slsw) or Words.train(corpus,
    ...). Rows are in file order, which for trained vectors is decreasing
    frequency. Lookups try the exact word first, then ignore ASCII case.
    With a subword model (a .slsw file, or training with maxn > 0), a word
    outside the vocabulary gets the mean of its character n-grams' vectors
    in vector(), nearest(), analogy() and similarity_eval(), as the CLI's
    words vector / nearest / similarity do."""

    @classmethod
    def load(cls, path):
        """Read word vectors (the format is told from the content)."""
        w = cls._load(path)
        w._source = _os.fspath(path)
        return w

    @classmethod
    def train(cls, corpus, *, dim=100, window=5, negative=5, epochs=5, min_count=5, sample=1e-4, lr=None,
              arch="skipgram", negatives="shared", ns_exponent=None, context_weight=None, seed=1, threads=0,
              progress=False, minn=3, maxn=0, bucket=2000000, drop_bigrams=None):
        """Train on a text corpus file (whitespace-separated words, one
        sentence per line) with `simlearn words train`'s trainer and defaults.

        arch "skipgram", "cbow" or "sent2vec" (Pagliardini et al. 2018: each
        word of a line predicted from the mean of the line's other words' and
        word bigrams' rows, the bigrams hashed into bucket rows; embed(...,
        method="sent2vec") then gives line vectors, save_model writes the
        sentence model .slsw; drop_bigrams: bigrams left out of each
        prediction's context at random, None for the default, 4);
        negatives "shared" (one draw per window,
        the default) or "per-pair" (word2vec's); lr None is the trainer's
        default (0.055 falling linearly; 0.5 for sent2vec; 0.045 with
        subwords, maxn > 0). ns_exponent: negatives are drawn
        ∝ count**ns_exponent (None: 0.5, fastText's; word2vec's is 0.75).
        context_weight: the vectors are input + context_weight × output
        vectors (None: 0.25; 0 = input vectors alone, as word2vec saves;
        with subwords, the mean of a word's input rows + context_weight ×
        its output row, and words outside the vocabulary the mean of their
        n-gram rows).
        progress=True prints the trainer's
        progress line to stderr. Ctrl-C stops it with KeyboardInterrupt. The
        statistics of the run are in .stats (words/s, loss, ...). maxn > 0
        turns on fastText's subwords (n-grams of minn..maxn characters hashed
        into bucket rows; memory (words + bucket) x dim floats): the vectors
        are then each word's mean of its own and its n-grams' rows (plus its
        context_weight × output row), and words
        outside the vocabulary get vectors too (save_model writes the .slsw).

        Under mpirun (simlearn.rank()) every rank calls it with the same
        corpus and settings: each trains its share of the corpus and the
        ranks exchange what they learnt as `simlearn words train` does, so
        every rank returns the same vectors (.stats counts every rank's
        words; exchange_seconds is the time spent exchanging)."""
        archs = ("skipgram", "cbow", "sent2vec")
        if arch not in archs:
            raise ValueError(f"arch: expected 'skipgram', 'cbow' or 'sent2vec', got {arch!r}")
        if negatives not in ("shared", "per-pair"):
            raise ValueError(f"negatives: expected 'shared' or 'per-pair', got {negatives!r}")
        lr = 0.0 if lr is None else float(lr)
        if lr < 0:
            raise ValueError(f"lr: expected a positive number, got {lr}")
        ns_exponent = -1.0 if ns_exponent is None else float(ns_exponent)
        if not 0 <= ns_exponent <= 2 and ns_exponent != -1.0:
            raise ValueError(f"ns_exponent: expected a number in 0..2, got {ns_exponent}")
        context_weight = -1.0 if context_weight is None else float(context_weight)
        if not 0 <= context_weight <= 10 and context_weight != -1.0:
            raise ValueError(f"context_weight: expected a number in 0..10, got {context_weight}")
        w, stats = cls._train(corpus, _count(dim, "dim"), _count(window, "window"), _count(negative, "negative"),
                              _count(epochs, "epochs"), _count(min_count, "min_count"), float(sample), lr,
                              archs.index(arch), negatives == "per-pair", _count(seed, "seed", 0),
                              _count(threads, "threads", 0), bool(progress), ns_exponent, context_weight,
                              _count(minn, "minn"), _count(maxn, "maxn", 0), _count(bucket, "bucket"),
                              -1 if drop_bigrams is None else _count(drop_bigrams, "drop_bigrams", 0))
        w.stats = stats
        return w

    @property
    def subwords(self):
        """The subword model's settings, a dict of minn, maxn, bucket and
        lowercase (a sentence model's minn and maxn are 0), or None for
        vectors without one."""
        s = self._subword_settings()
        return None if s is None else dict(zip(("minn", "maxn", "bucket", "lowercase"), s))

    def save_model(self, path):
        """Write the subword model (.slsw: settings, vocabulary, word and
        n-gram rows), what embeds any word, or the sentence model of
        arch="sent2vec" (word and bigram rows); ValueError without one."""
        self._save_model(path)

    def __len__(self):
        return self._shape()[0]

    @property
    def dim(self):
        return self._shape()[1]

    @property
    def words(self):
        """The words, in row order."""
        return self._words()

    @property
    def vectors(self):
        """A copy of the vectors, len(self) x dim float32."""
        n, d = self._shape()
        return _np.frombuffer(self._rows(0, n), dtype=_np.float32).reshape(n, d).copy()

    def __contains__(self, word):
        return self._lookup(word) >= 0

    def _row(self, word):
        if not isinstance(word, str):
            raise TypeError(f"word: expected a str, got {type(word).__name__}")
        row = self._lookup(word)
        if row < 0:
            raise KeyError(word)
        return row

    def vector(self, word):
        """The vector of a word. Outside the vocabulary: with a subword model
        the mean of its character n-grams' vectors (zeros when it has none, as
        fastText), else KeyError."""
        if isinstance(word, str) and self._lookup(word) < 0:
            got = self._subword_vector(word, False)
            if got is not None:
                return _np.frombuffer(got[0], dtype=_np.float32).copy()
        row = self._row(word)
        return _np.frombuffer(self._rows(row, row + 1), dtype=_np.float32).copy()

    def nearest(self, query, k=10):
        """[(word, cosine), ...] of the k words nearest to a word, to an
        expression of words ("paris - france + italy": the sum of their unit
        vectors, the words themselves left out of the answer), or to a
        vector."""
        k = _count(k, "k")
        if isinstance(query, str):
            q, rows, sign, terms = _np.zeros(self.dim, dtype=_np.float32), [], 1.0, 0
            for t in query.split():
                if t in ("+", "-"):
                    sign = -1.0 if t == "-" else 1.0
                    continue
                got = self._subword_vector(t, True) if self._lookup(t) < 0 else None
                if got is not None and got[1] > 0:  # outside the vocabulary: its n-grams
                    q += _np.float32(sign) * _np.frombuffer(got[0], dtype=_np.float32)
                else:
                    row = self._row(t)
                    q += _np.float32(sign) * _np.frombuffer(self._unit_row(row), dtype=_np.float32)
                    rows.append(row)
                sign, terms = 1.0, terms + 1
            if not terms:
                raise ValueError("query: expected at least one word")
        else:
            q, rows = _np.ascontiguousarray(query, dtype=_np.float32).reshape(-1), []
        found = self._nearest(q, k, _np.asarray(rows, dtype=_np.int64))
        words = self.words if found else []
        return [(words[i], s) for i, s in found]

    def analogy(self, a, b, c, k=1):
        """Words for d in a : b :: c : d by 3CosAdd (nearest to b - a + c on
        unit vectors, a, b and c left out)."""
        return self.nearest(f"{b} - {a} + {c}", k)

    def evaluate_analogies(self, path, restrict=30000, method="add"):
        """Accuracy on analogy questions ("a b c d" lines in ": section"s,
        e.g. data/questions-words.txt), over the questions whose words are
        all among the first `restrict` rows (0: all), by 3CosAdd ("add") or
        3CosMul ("mul"). A dict: accuracy, correct, seen, total, semantic and
        syntactic accuracy, and per-section (correct, seen, total)."""
        if method not in ("add", "mul"):
            raise ValueError(f"method: expected 'add' or 'mul', got {method!r}")
        r = self._analogy(path, _count(restrict, "restrict", 0), method == "mul")
        frac = lambda c, n: c / n if n else float("nan")
        r["accuracy"] = frac(r["correct"], r["seen"])
        r["semantic"] = frac(r["semantic_correct"], r["semantic_seen"])
        r["syntactic"] = frac(r["syntactic_correct"], r["syntactic_seen"])
        return r

    def similarity_eval(self, path):
        """Spearman and Pearson correlation of cosines with the scores of a
        word-pair file ("w1 w2 score" lines, e.g. data/wordsim353.tsv), over
        the pairs with both words known: a dict spearman, pearson, pairs, used
        (with a subword model, a word outside the vocabulary is known by its
        n-grams, and by_ngrams counts the pairs that used them)."""
        return self._similarity(path)

    @classmethod
    def poincare(cls, edges, *, dim=50, epochs=50, negative=10, lr=0.1, burn_in=10, burn_in_lr=0.01,
                 dampening=0.75, seed=1, threads=1, progress=False):
        """Poincaré embeddings (Nickel & Kiela) of a hierarchy, as `simlearn
        words poincare`: edges is a file of "child parent" lines (usually a
        transitive closure); the result has one row per node, in order of
        first appearance, inside the unit ball. The defaults are gensim's
        PoincareModel's (50 epochs are ours); with threads=1 a run depends on
        the seed only. Ctrl-C stops it with KeyboardInterrupt. .stats holds
        seconds, the last epoch's mean loss and the updates made. Under
        mpirun every rank calls it alike; the ranks share the edges as
        `mpirun simlearn words poincare` does and all get the same vectors."""
        lr, burn_in_lr, dampening = float(lr), float(burn_in_lr), float(dampening)
        w, stats = _simlearn.poincare_train(cls, _os.fspath(edges), _count(dim, "dim"), _count(epochs, "epochs"),
                                            _count(negative, "negative"), lr, _count(burn_in, "burn_in", 0),
                                            burn_in_lr, dampening, _count(seed, "seed", 0),
                                            _count(threads, "threads", 0), bool(progress))
        w.stats = stats
        return w

    def poincare_evaluate(self, edges, known=None):
        """Rank each edge (u, v) of the file `edges` among the rows that
        could be u's parent, by Poincaré distance, as `simlearn words
        poincare-eval` does: a dict of mean_rank, map, nodes and edges.
        Reconstruction: edges = the training edges; link prediction: edges =
        the held-out ones and known = the training file (its edges are not
        counted as mistakes)."""
        return _simlearn.poincare_evaluate(self, _os.fspath(edges), None if known is None else _os.fspath(known))

    def poincare_nearest(self, query, k=10):
        """[(word, distance), ...] of the k rows nearest to a word (itself
        left out) or to a point of the ball, by Poincaré distance."""
        k = _count(k, "k")
        if isinstance(query, str):
            row = self._row(query)
            q, rows = _np.frombuffer(self._rows(row, row + 1), dtype=_np.float32), [row]
        else:
            q, rows = _np.ascontiguousarray(query, dtype=_np.float32).reshape(-1), []
        found = _simlearn.poincare_nearest(self, q, k, _np.asarray(rows, dtype=_np.int64))
        words = self.words if found else []
        return [(words[i], d) for i, d in found]
    def embed(self, lines, method="avg", *, a=1e-3, counts=None, component=None, return_component=False):
        """One vector per line of text (a len(lines) x dim float32 array), as
        `simlearn words embed`: words split on ASCII whitespace, looked up as
        exact words, else ignoring ASCII case; unknown words left out; a line
        without a known word gets the zero vector.

        method "avg": the mean of the known words' vectors. "sif" (Arora et
        al. 2017): the mean weighted by a / (a + p(w)), p(w) = count / total,
        then the projection on one unit direction removed: `component` (dim
        floats, e.g. a base set's), or by default the first principal
        component of these lines' vectors (uncentred). SIF's counts: a
        "word count" file (path), a dict {word: count} (total: the sum of
        its values), or None for the NAME.vocab of vectors loaded from
        NAME.npy or the counts of a subword or sentence model (.slsw; total:
        their sum). return_component=True returns (vectors, component) with
        the direction removed. "sent2vec": the mean of the known words' rows
        and of the rows of the bigrams of known words that follow each other
        (unknown words left out), for a sentence model (trained with
        arch="sent2vec" or loaded from its .slsw). .embed_stats holds lines,
        empty, words, known."""
        methods = ("avg", "sif", "sent2vec")
        if method not in methods:
            raise ValueError(f"method: expected 'avg', 'sif' or 'sent2vec', got {method!r}")
        if method == "sent2vec" and (self.subwords is None or self.subwords["maxn"] != 0):
            raise ValueError("method 'sent2vec' needs a sentence model (Words.train(arch='sent2vec') or the .slsw "
                             "that words train --model sent2vec writes)")
        if isinstance(lines, (str, bytes)):
            raise TypeError("lines: expected a sequence of str, got a single string")
        enc = []
        for i, line in enumerate(lines):
            if not isinstance(line, str):
                raise TypeError(f"lines[{i}]: expected a str, got {type(line).__name__}")
            enc.append(line.replace("\0", " ").encode("utf-8", "surrogateescape"))
        n, d = self._shape()
        c, total, comp = None, 0, None
        if method == "sif":
            c, total = self._sif_counts(counts)
            if component is not None:
                comp = _np.ascontiguousarray(component, dtype=_np.float32).reshape(-1)
        elif counts is not None or component is not None:
            raise ValueError("counts and component are for method='sif'")
        out = _np.empty((len(enc), d), dtype=_np.float32)
        comp_out = _np.zeros(d, dtype=_np.float32)
        self.embed_stats = self._embed(enc, methods.index(method), float(a), c, total, comp, out, comp_out)
        return (out, comp_out) if return_component else out

    def _sif_counts(self, counts):
        own = self._model_counts() if counts is None else None  # a .slsw model's own, as the CLI takes them
        if own is not None:
            c, total = own
        elif counts is None:
            source = getattr(self, "_source", None)
            if source is None or not source.endswith(".npy"):
                what = "these vectors have none" if source is None else f"{source} holds none (not a .npy)"
                raise ValueError(f"SIF needs word counts, and {what}: give counts= (a \"word count\" file or a dict)")
            c, total = self._counts(source, True)
        elif isinstance(counts, dict):
            for word, k in counts.items():
                if not isinstance(k, (int, _np.integer)) or k < 0:
                    raise ValueError(f"counts[{word!r}]: expected a non-negative integer, got {k!r}")
            row = {wd: i for i, wd in reversed(list(enumerate(self.words)))}
            arr = _np.zeros(len(self), dtype=_np.int64)
            for word, k in counts.items():
                if word in row:
                    arr[row[word]] = k
            return arr, int(sum(counts.values()))
        else:
            c, total = self._counts(counts, False)
        return _np.frombuffer(c, dtype=_np.uint64).astype(_np.int64), total

    def save(self, path, format="text"):
        """Write word2vec text (format="text") or binary ("binary"), atomically."""
        if format not in ("text", "binary"):
            raise ValueError(f"format: expected 'text' or 'binary', got {format!r}")
        self._save(path, format == "binary")

    def __repr__(self):
        try:
            n, d = self._shape()
        except ValueError:
            return "<simlearn.Words (empty)>"
        return f"<simlearn.Words {n} words of {d}>"


def poincare_distance(u, v):
    """The Poincaré distance arcosh(1 + 2|u-v|^2 / ((1-|u|^2)(1-|v|^2))) of two
    points of the unit ball (float64 arithmetic; finite at the boundary)."""
    return _simlearn.poincare_distance(_np.ascontiguousarray(u, dtype=_np.float32).reshape(-1),
                                       _np.ascontiguousarray(v, dtype=_np.float32).reshape(-1))


# ---- training and embedding (simlearn train, simlearn embed) -------------------


def _paths(options):
    return {k: _os.fspath(v) if isinstance(v, _os.PathLike) else v for k, v in options.items() if v is not None}


def rank():
    """(rank, ranks): this process's place in a distributed run started by
    mpirun (mpirun -np 2 python3 script.py), (0, 1) otherwise. Under mpirun,
    train shares every batch among the ranks as `simlearn train` does, and
    rank 0 writes the checkpoint and the log."""
    return _simlearn.dist()


def train(out, *, progress=True, **options):
    """Train an encoder with `simlearn train`'s trainer and write its
    checkpoint to `out`; returns a dict: step, loss, mean_loss, seconds,
    images_per_s, last_checkpoint, describe (the run's summary lines),
    emb_std and emb_rank (the embeddings' spread at the last logged step,
    -1 when not measured) and collapse_step (barlow, vicreg, simsiam, byol: the first logged
    step at which the embeddings looked collapsed, 0 if none; a
    RuntimeWarning says so too).

    The options are `simlearn train`'s, with underscores: data="shapes",
    objective="infonce", encoder, projector, decoder, text_encoder, aug,
    keep, label, steps, epochs, batch, lr, optim, schedule, wd, warmup,
    tau, margin, mask_ratio, norm_pix, barlow_lambda, vicreg_inv,
    vicreg_var, vicreg_cov, predictor, ema, queue, bank_momentum, seed, threads, count, log, checkpoint_every,
    time_limit, resume, init, init_towers, ... (see docs/training.md; None
    leaves a default). progress=True prints the trainer's progress to
    stderr. Ctrl-C writes a checkpoint and raises KeyboardInterrupt; a
    non-finite loss raises ValueError naming the step.
    """
    r = _simlearn.train(out=_os.fspath(out), progress=bool(progress), **_paths(options))
    if r["collapse_step"]:
        import warnings
        warnings.warn("step %d: the embeddings are collapsing (per-dimension deviation %.3g, effective rank %.2f); "
                      "try a lower lr or other weights" % (r["collapse_step"], r["emb_std"], r["emb_rank"]),
                      RuntimeWarning, stacklevel=2)
    return r


def embed(model=None, *, split="val", **options):
    """Embeddings of a dataset by a trained encoder (`simlearn embed`):
    returns (X, labels), X float32 (items x dim) and labels a dict of the
    dataset's label attributes, each an int32 array (-1 where unknown).

    model: a checkpoint of simlearn.train (None: raw pixels). Options:
    data (default: the model's dataset), split ("train", "val", "test",
    "all"), count, projector (the projector's output), normalize, batch,
    threads, data_seed, text_file / captions (CLIP's text tower), ..."""
    x, n, d, attrs = _simlearn.embed(model=None if model is None else _os.fspath(model), split=split,
                                     **_paths(options))
    X = _np.frombuffer(x, dtype=_np.float32).reshape(n, d).copy()
    return X, {name: _np.frombuffer(v, dtype=_np.int32).copy() for name, (v, _) in attrs.items()}


# ---- more evaluation (simlearn knn --retrieval, geometry, transform, zeroshot) ----


def retrieval_metrics(base, base_labels, queries=None, query_labels=None, Ks=(1, 5, 10), metric="cosine", *,
                      threads=0):
    """Retrieval quality of labelled embeddings by exact search: an item is
    relevant when its label equals the query's. With queries None the base
    queries itself, never retrieving a row as its own neighbour. A dict:
    recall@K (share of queries with a relevant item in the top K),
    precision@K, mAP@R (Musgrave et al. 2020) and used (queries that have a
    relevant item; negative labels are unknown and left out)."""
    b = _matrix(base, "base")
    bl = _labels(base_labels, "base_labels", b.shape[0])
    self_q = queries is None
    q = b if self_q else _matrix(queries, "queries", b.shape[1])
    ql = bl if self_q else _labels(query_labels, "query_labels", q.shape[0])
    ks = _np.ascontiguousarray([_count(k, "Ks") for k in Ks], dtype=_np.int64)
    rec, prec, m, used = _simlearn.retrieval(b, bl, q, ql, ks, _metric(metric), self_q, _count(threads, "threads", 0))
    rec, prec = _np.frombuffer(rec), _np.frombuffer(prec)
    out = {f"recall@{k}": float(r) for k, r in zip(ks, rec)}
    out.update({f"precision@{k}": float(p) for k, p in zip(ks, prec)})
    out["mAP@R"], out["used"] = m, used
    return out


def class_margins(x, labels, *, threads=0):
    """Per class (ascending labels): count, diameter (largest distance
    between two members), margin (smallest distance to a non-member), the
    label of that nearest non-member, and separated (margin > diameter).
    Exact, over all pairs."""
    a = _matrix(x, "x")
    return _simlearn.class_geometry(a, _labels(labels, "labels", a.shape[0]), _count(threads, "threads", 0))


def abtt(x, n=None, *, threads=0):
    """All-but-the-top (Mu & Viswanath 2018): x minus its mean and its
    projections on the top n principal directions (n None: simlearn
    transform's default, max(1, dim // 100)). Returns a new float32 array."""
    a = _np.array(_matrix(x, "x"), dtype=_np.float32, order="C", copy=True)
    _simlearn.abtt(a, 0 if n is None else _count(n, "n"), _count(threads, "threads", 0))
    return a


def zero_shot(model, attribute=None, prompt="a photo of a {}", classes=None, *, split="val", **options):
    """Zero-shot classification with a CLIP checkpoint (`simlearn
    zeroshot`): the text tower embeds one prompt per class (the template
    with {} replaced by the class name, or by the words in `classes`), the
    image tower embeds the split's images, and each image gets the class
    of its most similar prompt. A dict: attribute, classes, prompts,
    accuracy, correct, n, chance, majority, predicted and labels (int32 per
    image), class_accuracy, confusion (classes x classes, [true][predicted]).
    Options as simlearn.embed's (data, count, batch, threads, ...)."""
    if classes is not None:
        classes = [str(c) for c in classes]
    r = _simlearn.zero_shot(attribute, str(prompt), classes, model=_os.fspath(model), split=split, **_paths(options))
    k = len(r["classes"])
    r["predicted"] = _np.frombuffer(r["predicted"], dtype=_np.int32).copy()
    r["labels"] = _np.frombuffer(r["labels"], dtype=_np.int32).copy()
    r["class_accuracy"] = _np.frombuffer(r["class_accuracy"], dtype=_np.float64).copy()
    r["confusion"] = _np.frombuffer(r["confusion"], dtype=_np.uint64).astype(_np.int64).reshape(k, k)
    return r

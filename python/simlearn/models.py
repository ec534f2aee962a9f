"""Networks and trained encoders over numpy arrays.

    >>> enc = simlearn.Encoder.load("model.safetensors")     # simlearn train's checkpoint
    >>> X = enc.embed(images)                                 # n x C x H x W in [0, 1]
    >>> net = simlearn.Model("conv(8,3,pad=1),relu,gap,linear(4)", "3x16x16", seed=1)
    >>> y = net.forward(images)

Images are channels first (C x H x W each) with values in [0, 1], as
simlearn's datasets give them; uint8 images are divided by 255. A batch is
n x C x H x W or n x (C*H*W); one image alone gives one row.
"""

import os as _os

import numpy as _np

from . import _simlearn

__all__ = ["Model", "Encoder", "load_safetensors", "save_safetensors"]


def _threads(threads):
    if isinstance(threads, bool) or not isinstance(threads, (int, _np.integer)) or threads < 0:
        raise ValueError(f"threads: expected a non-negative integer, got {threads!r}")
    return int(threads)


def _batch(batch):
    if isinstance(batch, bool) or not isinstance(batch, (int, _np.integer)) or batch < 1:
        raise ValueError(f"batch: expected a positive integer, got {batch!r}")
    return int(batch)


def _inputs(x, shape, name):
    """x as an n x prod(shape) float32 C-contiguous matrix (a view when it
    already is float32 and C-contiguous)."""
    try:
        a = _np.asarray(x)
    except Exception as e:
        raise TypeError(f"{name}: expected an array of numbers ({e})") from None
    if a.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected an array of real numbers, got dtype {a.dtype}")
    if a.dtype == _np.uint8:
        a = a.astype(_np.float32) / _np.float32(255)
    shape = tuple(shape)
    item = int(_np.prod(shape))
    if a.shape == shape:
        a = a.reshape(1, item)
    elif a.ndim == len(shape) + 1 and a.shape[1:] == shape:
        a = a.reshape(a.shape[0], item)
    elif not (a.ndim == 2 and a.shape[1] == item):
        hint = ""
        if len(shape) == 3 and a.ndim == 4 and a.shape[1:] == (shape[1], shape[2], shape[0]):
            hint = "; the images are channels last: pass x.transpose(0, 3, 1, 2)"
        dims = "x".join(map(str, shape))
        raise ValueError(f"{name}: expected n x {dims} or rows of {item} values, got shape {a.shape}{hint}")
    if a.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one row, got shape {a.shape}")
    return _np.ascontiguousarray(a, dtype=_np.float32)


class _Closing:
    """`with X(...) as x:` closes x at the end."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Model(_Closing, _simlearn._Model):
    """A network from simlearn's spec language (docs/nn.md), built and
    initialised as PyTorch initialises the equivalent torch.nn.Sequential.

    Model(spec, input_shape, seed=0): input_shape as "3x32x32" (C x H x W),
    "50x96" (T x D), "784", or a tuple. Model.load(path) reads a file that
    Model.save wrote; Model.load(checkpoint, tower="encoder") takes one tower
    ("encoder", "projector", "decoder", "text") of a simlearn.train
    checkpoint. Parameters keep PyTorch's names (state_dict()).
    """

    def __init__(self, spec, input_shape, seed=0):
        if not isinstance(spec, str):
            raise TypeError(f"spec: expected a str, got {type(spec).__name__}")
        if not isinstance(input_shape, str):
            input_shape = "x".join(str(int(v)) for v in input_shape)
        super().__init__(spec, input_shape, int(seed))

    @classmethod
    def load(cls, path, tower=None):
        """A model file of Model.save (tower None), or one tower of a
        training checkpoint."""
        if tower is not None and tower not in ("encoder", "projector", "decoder", "text"):
            raise ValueError(f"tower: expected encoder, projector, decoder or text, got {tower!r}")
        return cls._load(_os.fspath(path), "" if tower is None else tower + ".")

    @property
    def spec(self):
        """The normalised spec text."""
        return self._info()["spec"]

    @property
    def input_shape(self):
        return self._info()["input_shape"]

    @property
    def output_shape(self):
        return self._info()["output_shape"]

    @property
    def n_params(self):
        """Trainable float parameters."""
        return self._info()["params"]

    def forward(self, x, *, train=False, threads=0):
        """The outputs for a batch (n x input_shape, or rows of its size):
        n x output_shape float32. train=True uses batch statistics and
        dropout (and updates batch norm's running statistics)."""
        info = self._info()
        a = _inputs(x, info["input_shape"], "x")
        out = _np.empty((a.shape[0], int(_np.prod(info["output_shape"]))), dtype=_np.float32)
        self._forward(a, bool(train), _threads(threads), out)
        return out.reshape((a.shape[0],) + tuple(info["output_shape"]))

    __call__ = forward

    def state_dict(self):
        """Parameters and buffers by PyTorch name, as new float32 arrays (load
        them into the equivalent torch.nn.Sequential with
        load_state_dict after converting to tensors)."""
        return {name: _np.frombuffer(data, dtype=_np.float32).reshape(shape).copy()
                for name, shape, data in self._tensors()}

    def save(self, path):
        """Write the model (safetensors, PyTorch names; atomic)."""
        self._save(_os.fspath(path))

    def __repr__(self):
        try:
            i = self._info()
        except ValueError:
            return "<simlearn.Model (closed)>"
        return f"<simlearn.Model {i['spec']!r} {i['input_shape']} -> {i['output_shape']}, {i['params']} params>"


class Encoder(_Closing, _simlearn._Encoder):
    """The encoder of a simlearn.train checkpoint (simlearn embed over
    arrays). Encoder.load(path, projector=False): with projector=True
    embeddings are the projector's output. A CLIP checkpoint also embeds
    text (embed_text). The checkpoint's input normalisation is applied as in
    training, so embed(images) gives what `simlearn embed` gives for the same
    images."""

    @classmethod
    def load(cls, path, projector=False):
        return cls._load(_os.fspath(path), bool(projector))

    @property
    def input_shape(self):
        """One image's shape, e.g. (3, 32, 32)."""
        return self._info()["input_shape"]

    @property
    def dim(self):
        """The width of an image embedding."""
        return self._info()["dim"]

    @property
    def has_text(self):
        """Whether the checkpoint has a text tower (a CLIP model)."""
        return self._info()["has_text"]

    def embed(self, images, *, batch=256, normalize=False, threads=0):
        """Embeddings of images (n x C x H x W, or rows of C*H*W values, in
        [0, 1]; uint8 is divided by 255): n x dim float32. normalize: unit
        rows. Ctrl-C raises KeyboardInterrupt."""
        info = self._info()
        a = _inputs(images, info["input_shape"], "images")
        out = _np.empty((a.shape[0], info["dim"]), dtype=_np.float32)
        self._embed(a, _batch(batch), bool(normalize), _threads(threads), out)
        return out

    def embed_text(self, lines, *, batch=256, normalize=False, threads=0):
        """Embeddings of lines of text by a CLIP model's text tower (the
        checkpoint's tokenizer; unknown words count as <unk>): n x
        text_dim float32, in the space of embed(..) of a projector encoder."""
        if isinstance(lines, str):
            lines = [lines]
        lines = list(lines)
        info = self._info()
        if not info["has_text"]:
            raise ValueError("embed_text: the model has no text tower (not a CLIP model)")
        if not lines:
            raise ValueError("lines: expected at least one line")
        out = _np.empty((len(lines), info["text_dim"]), dtype=_np.float32)
        self._embed_text(lines, _batch(batch), bool(normalize), _threads(threads), out)
        return out

    def __repr__(self):
        try:
            i = self._info()
        except ValueError:
            return "<simlearn.Encoder (closed)>"
        text = ", text tower" if i["has_text"] else ""
        return f"<simlearn.Encoder {i['input_shape']} -> {i['dim']}{text}>"


_DTYPES = {"f": _np.float32, "d": _np.float64, "i": _np.int32, "q": _np.int64, "B": _np.uint8}
_FORMATS = {_np.dtype(v): k for k, v in _DTYPES.items()}


def load_safetensors(path):
    """(tensors, metadata) of a safetensors file: a dict of new numpy arrays
    by name in file order (F32, F64, I32, I64, U8) and the file's string
    metadata (a training checkpoint keeps its settings there: train.*,
    encoder.spec, ...). The header is checked strictly; a malformed file
    raises ValueError naming the file and what is wrong."""
    items, meta = _simlearn.read_safetensors(_os.fspath(path))
    return {name: _np.frombuffer(data, dtype=_DTYPES[fmt]).reshape(shape).copy()
            for name, fmt, shape, data in items}, meta


def save_safetensors(path, tensors, metadata=None):
    """Write a dict of arrays (float32, float64, int32, int64 or uint8) and
    optional string metadata as a safetensors file, atomically (a crash
    leaves the old file or the new one). Other dtypes raise TypeError; a
    0-d array is stored with shape (1,)."""
    items = []
    for name, value in tensors.items():
        a = _np.asarray(value)
        native = a.dtype.newbyteorder("=")
        if native not in _FORMATS:
            raise TypeError(f"{name}: expected float32, float64, int32, int64 or uint8, got dtype {a.dtype}")
        a = _np.ascontiguousarray(a.astype(native, copy=False))
        items.append((str(name), _FORMATS[a.dtype], tuple(int(d) for d in a.shape), a))
    meta = {} if metadata is None else {str(k): str(v) for k, v in metadata.items()}
    _simlearn.write_safetensors(_os.fspath(path), items, meta)

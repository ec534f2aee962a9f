#!/usr/bin/python3
"""Fashion-MNIST for the benchmark scripts, read straight from the IDX files of
Debian's dataset-fashion-mnist package (FMNIST_DIR overrides the folder).

As a module: images(part) -> (n, 28, 28) uint8, labels(part) -> (n,) int64,
with part 'train' (60,000) or 'test' (10,000).

As a program, writes an IDX folder that simlearn opens as a dataset, holding a
validation split carved from the training file:
    fmnist_idx.py valsplit OUTDIR NTRAIN
OUTDIR/train-*-ubyte.gz get the first NTRAIN training images and labels,
OUTDIR/t10k-*-ubyte.gz the remaining 60,000 - NTRAIN; the test file is not read."""
import gzip
import os
import sys

import numpy as np

FOLDER = os.environ.get('FMNIST_DIR', '/usr/share/datasets/fashion-mnist')
STEM = {'train': 'train', 'test': 't10k'}


def read_idx(path):
    """The array an IDX file holds (unsigned bytes only), with its shape."""
    with gzip.open(path, 'rb') if path.endswith('.gz') else open(path, 'rb') as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        sys.exit(f'{path}: not an unsigned-byte IDX file')
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    start = 4 + 4 * ndim
    if len(raw) - start != int(np.prod(shape)):
        sys.exit(f'{path}: {len(raw) - start} bytes of data, expected {int(np.prod(shape))} for shape {shape}')
    return np.frombuffer(raw, dtype=np.uint8, offset=start).reshape(shape)


def write_idx(path, a):
    """Write a uint8 array as a gzip-compressed IDX file, atomically."""
    a = np.ascontiguousarray(a, dtype=np.uint8)
    head = bytes([0, 0, 8, a.ndim]) + b''.join(int(s).to_bytes(4, 'big') for s in a.shape)
    tmp = path + '.tmp'
    with gzip.open(tmp, 'wb') as f:
        f.write(head)
        f.write(a.tobytes())
    os.replace(tmp, path)


def images(part):
    return read_idx(os.path.join(FOLDER, STEM[part] + '-images-idx3-ubyte.gz'))


def labels(part):
    return read_idx(os.path.join(FOLDER, STEM[part] + '-labels-idx1-ubyte.gz')).astype(np.int64)


def valsplit(out, ntrain):
    x, y = images('train'), labels('train')
    if not 0 < ntrain < len(x):
        sys.exit(f'fmnist_idx.py: NTRAIN must be in [1, {len(x) - 1}], got {ntrain}')
    os.makedirs(out, exist_ok=True)
    write_idx(os.path.join(out, 'train-images-idx3-ubyte.gz'), x[:ntrain])
    write_idx(os.path.join(out, 'train-labels-idx1-ubyte.gz'), y[:ntrain])
    write_idx(os.path.join(out, 't10k-images-idx3-ubyte.gz'), x[ntrain:])
    write_idx(os.path.join(out, 't10k-labels-idx1-ubyte.gz'), y[ntrain:])
    print(f'{out}: training images 0..{ntrain - 1} as train, {ntrain}..{len(x) - 1} as validation (t10k files)')


if __name__ == '__main__':
    if len(sys.argv) != 4 or sys.argv[1] != 'valsplit':
        sys.exit('usage: fmnist_idx.py valsplit OUTDIR NTRAIN')
    valsplit(sys.argv[2], int(sys.argv[3]))

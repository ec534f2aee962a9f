#!/usr/bin/python3
"""Fashion-MNIST for the benchmark scripts, read straight from the IDX files of
Debian's dataset-fashion-mnist package (FMNIST_DIR overrides the folder).

As a module: images(part) -> (n, 28, 28) uint8, labels(part) -> (n,) int64,
with part 'train' (60,000) or 'test' (10,000)."""
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


def images(part):
    return read_idx(os.path.join(FOLDER, STEM[part] + '-images-idx3-ubyte.gz'))


def labels(part):
    return read_idx(os.path.join(FOLDER, STEM[part] + '-labels-idx1-ubyte.gz')).astype(np.int64)

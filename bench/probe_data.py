#!/usr/bin/python3
"""Writes Fashion-MNIST as .npy for the probe benchmark: pixels/255 as float32
(60000 x 784 train, 10000 x 784 test) and int64 labels, read from the IDX gz files."""
import gzip, os, sys
import numpy as np

SRC = os.environ.get('FMNIST_DIR', '/usr/share/datasets/fashion-mnist')

def idx(name):
    with gzip.open(os.path.join(SRC, name), 'rb') as f:
        b = f.read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for part, pre in (('train', 'train'), ('test', 't10k')):
    x = idx(pre + '-images-idx3-ubyte.gz')
    x = x.reshape(x.shape[0], -1).astype(np.float32) / np.float32(255)
    y = idx(pre + '-labels-idx1-ubyte.gz').astype(np.int64)
    np.save(os.path.join(out, 'x_' + part + '.npy'), x)
    np.save(os.path.join(out, 'y_' + part + '.npy'), y)
print("fashion-mnist written to", out)

#!/usr/bin/python3
"""Convert the Debian Fashion-MNIST IDX files to float32 .npy (pixels/255) and
int64 labels, for the search benchmarks. usage: fmnist_npy.py OUTDIR"""
import gzip, os, sys
import numpy as np
D = '/usr/share/datasets/fashion-mnist/'
def idx(name):
    with gzip.open(D + name, 'rb') as f:
        b = f.read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for split, pre in (('train', 'train'), ('test', 't10k')):
    x = idx(pre + '-images-idx3-ubyte.gz')
    x = np.ascontiguousarray(x.reshape(x.shape[0], -1).astype(np.float32) / 255.0)
    np.save(os.path.join(out, split + '_x.npy'), x)
    np.save(os.path.join(out, split + '_y.npy'), idx(pre + '-labels-idx1-ubyte.gz').astype(np.int64))

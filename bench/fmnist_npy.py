#!/usr/bin/python3
"""Fashion-MNIST as .npy for the search and probe benchmarks: OUTDIR/{train,test}_x.npy
(float32 pixels / 255, one 784-wide row per image) and OUTDIR/{train,test}_y.npy (int64
labels). usage: fmnist_npy.py OUTDIR"""
import os
import sys

import numpy as np

import fmnist_idx

if len(sys.argv) != 2:
    sys.exit('usage: fmnist_npy.py OUTDIR')
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for part in ('train', 'test'):
    x = fmnist_idx.images(part)
    x = np.ascontiguousarray(x.reshape(len(x), -1).astype(np.float32) / np.float32(255))
    for name, a in ((part + '_x.npy', x), (part + '_y.npy', fmnist_idx.labels(part))):
        tmp = os.path.join(out, name + '.tmp.npy')
        np.save(tmp, a)
        os.replace(tmp, os.path.join(out, name))
print('fashion-mnist written to', out)

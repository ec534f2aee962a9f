#!/usr/bin/python3
"""The word-vector half of bench-hnsw: every tenth row of WORDS.npy (100-d
GCIDE vectors) is a query, the others the base, written to OUTDIR as base.npy
and queries.npy (float32).
usage: hnsw_words.py WORDS.npy OUTDIR"""
import os, sys
import numpy as np

w = np.load(sys.argv[1]).astype(np.float32)
os.makedirs(sys.argv[2], exist_ok=True)
is_query = np.arange(len(w)) % 10 == 0
np.save(os.path.join(sys.argv[2], 'base.npy'), np.ascontiguousarray(w[~is_query]))
np.save(os.path.join(sys.argv[2], 'queries.npy'), np.ascontiguousarray(w[is_query]))
print(f'word vectors: {int((~is_query).sum())} base rows, {int(is_query.sum())} queries, {w.shape[1]}-d, cosine')
